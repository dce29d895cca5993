"""Cost of every model: parameters, MACs, forward and training-step time, peak memory.

    .venv/bin/python benchmarks/bench_models.py [--configs small small_os16 paper] [--models dan dsan ...]
                                                [--bs-small 64] [--bs-paper 16] [--reps 5] [--threads 2]

`small` is the small preset (width 0.25, layer4 dilated: output stride 8, 6x6 maps at 48 px); `small_os16` is the same
trunk with layer4 strided as before (3x3 maps at 48 px): the two side by side give the cost of the finer grid per step.
Measured on the 2-core development CPU (torch 2.14.1, one thread, batch 64, 48 px, 2026-12-04; `--configs small
small_os16 --threads 1`), training step in ms, 6x6 (output stride 8) against 3x3 (stride 16):
resnet18 224 / 155 (x1.45), dan 356 / 208 (x1.71), daf_mhsca 455 / 245 (x1.86), cf_dan 491 / 267 (x1.84),
dsan 223 / 142 (x1.57), wamf 552 / 270 (x2.04; its capsules grow from 288 to 1152). Parameters are the same except
WAMF's (its class capsules have one weight matrix per primary capsule).

Each (model, configuration) is measured in a fresh subprocess so that its peak memory (the rise of
the process's maximum resident set during forward+backward, over what the model and batch take) is
its own. Times are medians over `--reps` repetitions after one warm-up. Every figure is also given
as a ratio to the backbone alone (the `resnet18` baseline: trunk + pooling + linear) measured in
the same run, which is what an attention module adds. Prints a markdown table.
"""
import argparse, json, resource, statistics, subprocess, sys, time

MODELS = ['resnet18', 'dan', 'daf_mhsca', 'cf_dan', 'dsan', 'wamf']
SIZES = {'small': 48, 'small_os16': 48, 'paper': 224}
PRESET_CONFIG = {'small': ('small', {}), 'small_os16': ('small', dict(backbone='resnet18_w25')), 'paper': ('paper', {})}


def measure(name: str, config: str, bs: int, reps: int, threads: int) -> dict:
    import torch
    from fer_explore.core import count_params
    from fer_explore.models import create_model
    from fer_explore.models import count_macs
    torch.set_num_threads(threads)
    size = SIZES[config]
    preset, extra = PRESET_CONFIG[config]
    model = create_model(name, preset=preset, n_classes=7, **extra)
    params = count_params(model)
    macs = count_macs(model, size)
    from fer_explore.modules.backbone import feature_map_size
    grid = 'x'.join(map(str, feature_map_size(model.backbone, size)))
    x, y = torch.randn(bs, 3, size, size), torch.randint(0, 7, (bs,))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def fwd():
        with torch.no_grad(): model(x)

    def step():
        out = model(x)
        loss = torch.nn.functional.cross_entropy(out.logits, y)
        opt.zero_grad(); loss.backward(); opt.step()

    def timed(fn):
        fn()  # warm-up
        ts = []
        for _ in range(reps):
            t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
        return statistics.median(ts)

    model.eval(); t_fwd = timed(fwd)
    model.train()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t_step = timed(step)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
    return dict(model=name, config=config, bs=bs, grid=grid, params=params, gmacs=macs / 1e9, fwd_ms=1e3 * t_fwd,
                step_ms=1e3 * t_step, img_s=bs / t_step, peak_mb=peak / 1024)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--configs', nargs='+', default=['small', 'paper'], choices=list(SIZES))
    p.add_argument('--models', nargs='+', default=MODELS)
    p.add_argument('--bs-small', type=int, default=64)
    p.add_argument('--bs-paper', type=int, default=16)
    p.add_argument('--reps', type=int, default=5)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--one', help=argparse.SUPPRESS)  # internal: measure one model/config in this process
    a = p.parse_args()
    if a.one:
        name, config = a.one.split(':')
        bs = a.bs_paper if config == 'paper' else a.bs_small
        print(json.dumps(measure(name, config, bs, a.reps, a.threads))); return
    models = ['resnet18'] + [m for m in a.models if m != 'resnet18']
    rows = []
    for config in a.configs:
        for m in models:
            cmd = [sys.executable, __file__, '--one', f'{m}:{config}', '--reps', str(a.reps), '--threads', str(a.threads),
                   '--bs-small', str(a.bs_small), '--bs-paper', str(a.bs_paper)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode: sys.exit(f'{m} ({config}) failed:\n{r.stderr}')
            rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
            print(f'  measured {m} ({config})', file=sys.stderr)
    print(f'| config | model | map | params | GMACs | fwd ms | train step ms | img/s | peak MB | params x | MACs x | step x | peak x |')
    print('|' + '---|' * 13)
    for config in a.configs:
        base = next(r for r in rows if r['config'] == config and r['model'] == 'resnet18')
        for r in (r for r in rows if r['config'] == config):
            print(f"| {config} (bs {r['bs']}, {SIZES[config]} px) | {r['model']} | {r['grid']} | {r['params'] / 1e6:.2f}M | {r['gmacs']:.3f} "
                  f"| {r['fwd_ms']:.0f} | {r['step_ms']:.0f} | {r['img_s']:.0f} | {r['peak_mb']:.0f} "
                  f"| {r['params'] / base['params']:.2f} | {r['gmacs'] / base['gmacs']:.2f} "
                  f"| {r['step_ms'] / base['step_ms']:.2f} | {r['peak_mb'] / max(base['peak_mb'], 1):.2f} |")


if __name__ == '__main__':
    main()
