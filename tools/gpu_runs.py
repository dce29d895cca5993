"""The GPU runs behind the committed results that a 2-core CPU cannot make in a working day, as one prepared script.

    python tools/gpu_runs.py --out OUT [--fer2013 DIR] [--minutes 8.5] [--lanes 12] [--only synth fer] [--tiny]

On one GPU machine (run there once: one NVIDIA H200 and 16 cores) it runs, side by side, until `--minutes` have passed:
- `fer` jobs: FER2013 training (`fer_explore.train.learner.train`) on the official Training split, scored on PublicTest
  (`valid`), the data held in memory and augmented by loader worker processes; each writes its run folder (history,
  checkpoints, valid metrics) and a ten-crop TTA score, and its checkpoint is slimmed to float16 weights for shipping;
- `synth` jobs: every model's SynthFER ablation (`fer_explore.studies.ablations.ablate`) on the `default` and `hard` presets,
  seeds 0-2, with the one shared demo recipe, one job per (model, preset, seed), and the plain ResNet-18 trained with
  each attention model's former demo recipe; the full variants trained on `default` are kept as checkpoints.
Every job has its own log; what finished is in OUT when the time is up (a job still running then is stopped and
marked `timeout` in OUT/jobs.csv). `--tiny` shrinks every job to seconds, for a check of the script on a CPU.
The jobs and their exact arguments are the list `jobs()` below; the results notebooks read the CSVs they write.
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys, time
from pathlib import Path

SEEDS = (0, 1, 2)
PRESETS = ('default', 'hard')
# the demo recipes the attention models had before one shared recipe (30_train.recipes, up to 9bba890): the plain ResNet-18 is
# trained with each, to measure how much of "attention loses" was the recipe (issue 17, item 6)
FORMER_RECIPES = {
    'former resnet18/wamf recipe (lr 1e-2, bs 64)': dict(lr=1e-2, bs=64, epochs=5),
    'former dan/dsan recipe (lr 5e-3, bs 32)': dict(lr=5e-3, bs=32, epochs=5),
    'former daf_mhsca recipe (lr 2e-3, bs 32)': dict(lr=2e-3, bs=32, epochs=5),
    'former cf_dan recipe (lr 2e-3, bs 32, 10 epochs)': dict(lr=2e-3, bs=32, epochs=10),
}
# FER2013: the shipped models (long runs) and the recipe study (runs of the epochs a 2-core CPU fits in 2 hours)
FER_BACKBONE = 'resnet18_w50_os8'
# the models whose trained checkpoints (SynthFER default, full variant, every seed) come back for the localisation study:
# the three with spatial maps per head
KEEP_CHECKPOINTS = ('dan', 'daf_mhsca', 'cf_dan')


def fer_jobs(epochs_2h: int, epochs_long: int) -> list[dict]:
    j = lambda name, model, epochs, **kw: dict(kind='fer', name=name, model=model, epochs=epochs, **kw)
    ls = dict(label_smoothing=0.1)
    return [
        j('fer2013_resnet18_long', 'resnet18', epochs_long, loss_kw=ls),
        j('fer2013_dan_long', 'dan', epochs_long),
        j('fer2013_wamf_long', 'wamf', epochs_long),
        j('fer2013_resnet18_2h', 'resnet18', epochs_2h),
        j('fer2013_resnet18_2h_ls', 'resnet18', epochs_2h, loss_kw=ls),
        j('fer2013_resnet18_2h_ls_affine', 'resnet18', epochs_2h, loss_kw=ls, augment='dan_affectnet'),
    ]


def synth_jobs() -> list[dict]:
    from fer_explore.studies.ablations import ABLATIONS
    job = lambda name, model, preset, seed, variants, csv=None, **ov: dict(
        kind='synth', name=name, model=model, preset=preset, seed=seed, variants=variants, overrides=ov,
        **({'csv': csv} if csv else {}))
    out = []
    for preset in PRESETS:   # default first: its full variants are kept for the localisation study
        for seed in SEEDS:
            for model in ('dan', 'daf_mhsca', 'cf_dan', 'wamf', 'dsan', 'resnet18'):
                out.append(job(f'ablation_{model}_{preset}_s{seed}', model, preset, seed, ABLATIONS[model]['variants']))
    former = {label: dict(recipe=ov) for label, ov in FORMER_RECIPES.items()}
    for preset in PRESETS:
        for seed in SEEDS:
            out.append(job(f'former_recipes_{preset}_s{seed}', 'resnet18', preset, seed, former, 'ablation_resnet18_former_recipes'))
    # what makes a full model leave chance on `hard`: the shared recipe changed one field at a time
    start = {'shared recipe': {}, 'lr 1e-3': dict(recipe=dict(lr=1e-3)), '10 epochs': dict(recipe=dict(epochs=10)),
             'aux warm-up over the whole run': dict(recipe=dict(aux_warmup=1.0))}
    for model in ('dan', 'wamf'):
        for seed in SEEDS:
            v = {k: x for k, x in start.items() if model == 'dan' or 'aux' not in k}
            out.append(job(f'start_{model}_hard_s{seed}', model, 'hard', seed, v, 'recipe_start'))
    return out


def jobs(only=('fer', 'synth'), epochs_2h: int = 16, epochs_long: int = 40) -> list[dict]:
    "Every job, most important first (the pool starts them in this order)."
    fer = fer_jobs(epochs_2h, epochs_long) if 'fer' in only else []
    synth = synth_jobs() if 'synth' in only else []
    ablation = [j for j in synth if j['name'].startswith('ablation_')]
    start = [j for j in synth if j['name'].startswith('start_')]
    former = [j for j in synth if j['name'].startswith('former_')]
    return fer[:3] + ablation[:18] + fer[3:] + ablation[18:] + start + former


# ---------------------------------------------------------------------------------------------------- one job
def _fer_memory(data: str, tiny: bool):
    "FER2013 train and valid splits decoded once into memory (uint8 would do; float keeps the loaders unchanged)."
    from fer_explore.data import load_fer_dataset, MemoryDataset
    ds = load_fer_dataset(data, channels=3)
    tr, va = ds.split('train'), ds.split('valid')
    if tiny: tr, va = tr.subset(list(range(0, len(tr), 97)), 'tiny'), va.subset(list(range(0, len(va), 37)), 'tiny')
    return MemoryDataset(tr), MemoryDataset(va)


def run_fer(job: dict, out: Path, data: str, tiny: bool, workers: int):
    import torch
    from fer_explore.data import fer_dataloaders, tta_predict
    from fer_explore.train.learner import train, evaluate_model
    from fer_explore.train.recipes import get_recipe
    from fer_explore.train.checkpoint import load_checkpoint, atomic_save
    run = out / 'fer' / job['name']
    ov = {k: job[k] for k in ('loss_kw', 'augment') if k in job}
    r = get_recipe('fer2013_cpu', **ov)
    epochs = 1 if tiny else job['epochs']
    tr, va = _fer_memory(data, tiny)
    dls = fer_dataloaders((tr, va), size=r['size'], bs=r['bs'], augment=r['augment'], seed=0, num_workers=workers,
                          tta=True)
    learn = train(job['model'], data=data, out=run, recipe='fer2013_cpu', config=dict(backbone=FER_BACKBONE),
                  epochs=epochs, dls=dls, quiet=True, **ov)
    plain = evaluate_model(learn.model, dls.valid, dls.classes)
    probs, y = tta_predict(learn.model, dls.tta)
    tta = float((probs.argmax(-1) == y).float().mean())
    ck = load_checkpoint(run / 'last.pt')   # float16 weights, no optimiser: the file a package can ship
    ck['model'] = {k: (v.half() if v.is_floating_point() else v) for k, v in ck['model'].items()}
    ck['optimizer'] = None
    atomic_save(ck, run / 'last_fp16.pt')
    for f in ('last.pt', 'best.pt'): (run / f).unlink(missing_ok=True)
    res = dict(valid_accuracy=plain['accuracy'], valid_balanced_accuracy=plain['balanced_accuracy'],
               valid_macro_f1=plain['macro_f1'], valid_accuracy_tta=tta, epochs=epochs, backbone=FER_BACKBONE,
               device=str(next(learn.model.parameters()).device), **ov)
    (run / 'result.json').write_text(json.dumps(res, indent=1))
    return res


def run_synth(job: dict, out: Path, tiny: bool):
    from fer_explore.studies.ablations import ablate
    csv = out / 'synth' / f"{job.get('csv', 'ablation_' + job['model'])}__{job['name']}.csv"
    ov = dict(job.get('overrides', {}))
    if tiny: ov.update(epochs=1, n_train=128, n_valid=32)
    keep = (out / 'synth_ckpt' if job['preset'] == 'default' and 'csv' not in job and job['model'] in KEEP_CHECKPOINTS
            else None)
    df = ablate(job['model'], job['variants'], seeds=(job['seed'],), presets=(job['preset'],), csv=csv,
                n_test=70 if tiny else 700, quiet=True, save_dir=keep, **ov)
    return dict(runs=len(df))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', required=True)
    p.add_argument('--fer2013', help="FER2013 image-folder root (train/, valid/)")
    p.add_argument('--minutes', type=float, default=8.5, help="stop everything after this long")
    p.add_argument('--lanes', type=int, default=12, help="jobs at a time")
    p.add_argument('--workers', type=int, default=2, help="loader processes per FER2013 job")
    p.add_argument('--only', nargs='+', default=['fer', 'synth'], choices=('fer', 'synth'))
    p.add_argument('--epochs-2h', type=int, default=16,
                   help="epochs one CPU core fits in 2 h for the FER2013 baseline (measured: 28 epochs of the stride-16 "
                        "trunk in 111 min; the stride-8 trunk has 1.71 times its multiply-adds)")
    p.add_argument('--epochs-long', type=int, default=40)
    p.add_argument('--pack', metavar='DEST', help="after the runs: float16 checkpoints and the CSVs and logs, in files of "
                                                  "at most 15 MB, into DEST")
    p.add_argument('--tiny', action='store_true')
    p.add_argument('--job', help=argparse.SUPPRESS)   # internal: run one job (JSON) in this process
    a = p.parse_args(argv)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    if a.job:
        import torch
        torch.set_num_threads(1)
        job = json.loads(a.job)
        res = run_fer(job, out, a.fer2013, a.tiny, a.workers) if job['kind'] == 'fer' else run_synth(job, out, a.tiny)
        print('RESULT ' + json.dumps(res)); return 0
    todo = jobs(a.only if a.fer2013 else [k for k in a.only if k != 'fer'], a.epochs_2h, a.epochs_long)
    deadline = time.time() + 60 * a.minutes
    (out / 'logs').mkdir(exist_ok=True)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}
    running, done = {}, []
    queue = list(todo)
    while queue or running:
        while queue and len(running) < a.lanes and time.time() < deadline - 20:
            job = queue.pop(0)
            cmd = [sys.executable, __file__, '--out', str(out), '--job', json.dumps(job), '--workers', str(a.workers)]
            if a.fer2013: cmd += ['--fer2013', a.fer2013]
            if a.tiny: cmd.append('--tiny')
            log = open(out / 'logs' / f"{job['name']}.log", 'w')
            running[job['name']] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), time.time(), log)
        for name, (proc, t0, log) in list(running.items()):
            rc = proc.poll()
            if rc is None and time.time() > deadline:
                proc.kill(); proc.wait(); rc = 'timeout'
            if rc is not None:
                log.close(); del running[name]
                done.append(dict(name=name, status='ok' if rc == 0 else rc, seconds=round(time.time() - t0, 1)))
                print(f"{time.strftime('%H:%M:%S')} {name}: {done[-1]['status']} in {done[-1]['seconds']} s", flush=True)
        if time.time() > deadline - 20 and queue:
            done += [dict(name=j['name'], status='not started', seconds=0) for j in queue]; queue = []
        time.sleep(1)
    with open(out / 'jobs.csv', 'w') as f:
        f.write('name,status,seconds\n' + ''.join(f"{d['name']},{d['status']},{d['seconds']}\n" for d in done))
    print(f"{sum(d['status'] == 'ok' for d in done)} of {len(done)} jobs finished")
    if a.pack: pack(out, Path(a.pack))
    return 0


def _half(path: Path) -> dict:
    "A checkpoint's dict with float16 weights and no optimiser state (float16 leaves the predictions as they were)."
    import torch
    ck = torch.load(path, map_location='cpu', weights_only=True)
    ck['model'] = {k: (v.half() if v.is_floating_point() else v) for k, v in ck['model'].items()}
    ck['optimizer'] = None
    return ck


def pack(out: Path, dest: Path, limit: float = 15e6):
    "The results in a few files for the trip back: results.tgz (CSVs, logs, JSON), one file per FER2013 checkpoint, SynthFER checkpoints in tars."
    import tarfile, torch, io
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest / 'results.tgz', 'w:gz') as t:
        for p in sorted(out.rglob('*')):
            if p.is_file() and p.suffix in ('.csv', '.json', '.log'): t.add(p, str(p.relative_to(out)))
    for run in sorted((out / 'fer').glob('*_long')):
        src = run / 'last_fp16.pt'
        if not src.exists() and (run / 'last.pt').exists(): torch.save(_half(run / 'last.pt'), src)   # stopped early
        if src.exists(): src.replace(dest / f'{run.name}.pt')
    part, size, k = None, 0.0, 0
    for p in sorted((out / 'synth_ckpt').glob('*.pt')):
        buf = io.BytesIO(); torch.save(_half(p), buf); data = buf.getvalue()
        if part is None or size + len(data) > limit:
            if part: part.close()
            k += 1; part, size = tarfile.open(dest / f'synth_ckpt_{k}.tar', 'w'), 0.0
        info = tarfile.TarInfo(p.name); info.size = len(data); part.addfile(info, io.BytesIO(data)); size += len(data)
    if part: part.close()
    print('packed: ' + ', '.join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(dest.iterdir())))


if __name__ == '__main__':
    sys.exit(main())
