"""Training: resume equality, checkpoint refusals through the command line, the NaN stop, two processes.

The command line runs in subprocesses (`python -m fer_explore.app.cli`, what the `fer-explore` console script
calls), with one torch thread each so that two runs of the same seed compute bit-identical weights.
"""
import json, os, subprocess, sys, textwrap
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore', 'FER_EXPLORE_DEBUG': ''}
SMALL = ['--set', 'n_train=192', 'n_valid=64', 'bs=32', '--threads', '1']


def cli(*args, cwd, timeout=300):
    "Run `fer-explore ARGS` in a subprocess; returns (exit status, stdout, stderr)."
    r = subprocess.run([sys.executable, '-m', 'fer_explore.app.cli', *map(str, args)], cwd=cwd, env=ENV,
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


RUNNER = """
import sys, io, json, contextlib, traceback
from fer_explore.app.cli import main
res = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: rc = main(argv)
        except SystemExit as e: rc = e.code
        except BaseException: traceback.print_exc(); rc = 1   # what the console script would show
    res.append((rc, out.getvalue(), err.getvalue()))
print(json.dumps(res))
"""


def cli_many(*argvs, cwd, timeout=300):
    "Run several `fer-explore` command lines through `fer_explore.app.cli.main` in one subprocess (saves the start-up per call)."
    r = subprocess.run([sys.executable, '-c', RUNNER, json.dumps([[str(a) for a in argv] for argv in argvs])], cwd=cwd,
                       env=ENV, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def one_line_error(rc, err, *needles):
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert rc == 2, (rc, err)
    assert len(lines) == 1 and lines[0].startswith('fer-explore: error: '), err
    assert 'Traceback' not in err
    for n in needles: assert n in lines[0], (n, lines[0])
    return lines[0]


def weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)['model']


def test_help_does_not_import_torch():
    code = ("import sys, io, contextlib\nfrom fer_explore.app.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try: main(['--help'])\n    except SystemExit: pass\n"
            "    for c in ('train', 'evaluate', 'predict', 'demo'):\n"
            "        try: main([c, '--help'])\n        except SystemExit: pass\n"
            "assert 'demo' in out.getvalue() and '--resume' in out.getvalue()\n"
            "print(sorted(m for m in ('torch', 'fastai', 'cv2', 'matplotlib') if m in sys.modules))")
    r = subprocess.run([sys.executable, '-c', code], env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '[]', r.stdout


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "An uninterrupted 2-epoch run, and a run stopped after epoch 1 (its last.pt kept for the refusal tests)."
    d = tmp_path_factory.mktemp('runs')
    rc, out, err = cli('train', '--model', 'resnet18', '--data', 'default', '--epochs', '2', '--seed', '3', *SMALL,
                       '--out', 'full', cwd=d)
    assert rc == 0, err
    rc, out, err = cli('train', '--model', 'resnet18', '--data', 'default', '--epochs', '2', '--seed', '3', *SMALL,
                       '--stop-after', '1', '--out', 'part', cwd=d)
    assert rc == 0, err
    return d


def test_resume_ends_with_the_weights_of_an_uninterrupted_run(runs):
    d = runs
    ck = torch.load(d / 'part' / 'last.pt', map_location='cpu', weights_only=True)
    assert ck['epoch'] == 1 and ck['recipe']['epochs'] == 2 and ck['optimizer'] is not None
    before = weights(d / 'part' / 'last.pt')
    full = weights(d / 'full' / 'last.pt')
    assert any(not torch.equal(before[k], full[k]) for k in full)   # epoch 1 is not the end
    rc, out, err = cli('train', '--resume', 'part', '--threads', '1', cwd=d)
    assert rc == 0, err
    resumed = weights(d / 'part' / 'last.pt')
    assert resumed.keys() == full.keys()
    assert all(torch.equal(resumed[k], full[k]) for k in full), 'resumed weights differ from the uninterrupted run'
    hist = (d / 'part' / 'history.csv').read_text().splitlines()
    assert [l.split(',')[0] for l in hist] == ['epoch', '0', '1']   # one row per epoch, none for the skipped one


def test_checkpoint_refusals_and_bad_arguments_are_one_line(runs, tmp_path):
    d = runs
    good = d / 'part' / 'best.pt'
    data = good.read_bytes()
    (tmp_path / 'truncated.pt').write_bytes(data[: len(data) // 3])
    (tmp_path / 'notes.pt').write_text('not a checkpoint\n')
    torch.save({'weight': torch.zeros(3)}, tmp_path / 'state_dict.pt')
    from PIL import Image
    import numpy as np
    for c in ('neutral', 'happy', 'sad', 'surprise', 'fear', 'disgust', 'anger', 'contempt'):   # an 8-class data set
        (tmp_path / 'eight' / 'test' / c).mkdir(parents=True)
        Image.fromarray(np.full((48, 48), 128, np.uint8)).save(tmp_path / 'eight' / 'test' / c / 'a.png')
    ev = ['--data', 'default', '--out', tmp_path / 'ev']
    cases = [(['evaluate', tmp_path / 'truncated.pt', *ev], ['truncated or corrupt', 'truncated.pt']),
             (['evaluate', tmp_path / 'notes.pt', *ev], ['not a PyTorch checkpoint', 'notes.pt']),
             (['evaluate', tmp_path / 'state_dict.pt', *ev], ['not a fer_explore checkpoint', 'state_dict.pt']),
             (['evaluate', tmp_path / 'missing.pt', *ev], ['no such file', 'missing.pt']),
             (['train', '--resume', d / 'part', '--model', 'dan'], ["'resnet18', not 'dan'", 'last.pt']),   # another model
             (['evaluate', good, '--data', tmp_path / 'eight', '--out', tmp_path / 'ev'], ['contempt']),       # another class count
             (['train', '--model', 'danx', '--out', 'x'], ['danx']),
             (['train', '--model', 'dan', '--data', tmp_path / 'no_such_folder', '--out', 'x'], ['no such file or folder']),
             (['train', '--model', 'daf_mhsca', '--config', 'input_size=64', '--size', '48', '--out', 'x'],
              ['cannot take 48-px images']),
             (['train', '--model', 'daf_mhsca', '--config', 'use_mhsca=off', '--out', 'x'],     # a switch is True or False
              ['option use_mhsca must be True or False', "'off'"])]
    results = cli_many(*[argv for argv, _ in cases], cwd=tmp_path)
    for (argv, needles), (rc, out, err) in zip(cases, results):
        one_line_error(rc, err, *needles)
    from fer_explore.train.checkpoint import load_checkpoint, CheckpointError
    with pytest.raises(CheckpointError, match='7 classes'): load_checkpoint(good, n_classes=8)
    # and the real console entry (a process of its own) exits with status 2 and one line too
    rc, out, err = cli('evaluate', tmp_path / 'truncated.pt', *ev, cwd=tmp_path)
    one_line_error(rc, err, 'truncated or corrupt')


def test_evaluate_matches_classes_by_name(runs, tmp_path):
    "The same model stored with its classes in another order evaluates to the same per-class numbers."
    ck = torch.load(runs / 'full' / 'last.pt', map_location='cpu', weights_only=True)
    perm = [6, 5, 4, 3, 2, 1, 0]                                  # reversed class order
    ck['classes'] = [ck['classes'][i] for i in perm]
    for k in ('fc.weight', 'fc.bias'): ck['model'][k] = ck['model'][k][perm]
    torch.save(ck, tmp_path / 'reordered.pt')
    res = {}
    for name, path in [('orig', runs / 'full' / 'last.pt'), ('reordered', tmp_path / 'reordered.pt')]:
        rc, out, err = cli('evaluate', path, '--data', 'default', '--n', '140', '--out', tmp_path / name, cwd=tmp_path)
        assert rc == 0, err
        res[name] = json.loads((tmp_path / name / 'metrics.json').read_text())
    a, b = res['orig'], res['reordered']
    assert a['classes'] == b['classes'] and a['confusion'] == b['confusion'] and a['per_class'] == b['per_class']
    assert {'accuracy', 'balanced_accuracy', 'macro_f1', 'per_class'} <= set(a) and a['n'] == 140
    assert (tmp_path / 'orig' / 'confusion.png').exists() and (tmp_path / 'orig' / 'per_class.csv').exists()


def test_nan_stop_keeps_the_last_good_checkpoint(tmp_path):
    from fastai.callback.core import Callback
    from fer_explore.train.learner import train
    from fer_explore.data import fer_dataloaders
    torch.set_num_threads(1)

    class PoisonLogits(Callback):
        "Make the logits NaN at epoch 1, batch 2 (after FEROutputCallback, before the loss)."
        order = -15
        def after_pred(self):
            if self.training and self.epoch == 1 and self.iter == 2:
                self.learn.fer_out.logits = self.learn.pred = self.pred * float('nan')

    dls = fer_dataloaders('default', size=48, bs=32, n_train=192, n_valid=64, seed=0, device='cpu')
    learn = train('resnet18', out=tmp_path / 'run', epochs=3, seed=0, quiet=True, dls=dls, cbs=[PoisonLogits()])
    r = learn.nan_report
    assert (r['epoch'], r['batch']) == (1, 2) and list(r['bad_parts']) == ['ce']
    ck = torch.load(tmp_path / 'run' / 'last.pt', map_location='cpu', weights_only=True)
    assert ck['epoch'] == 1                                           # the last good checkpoint stays
    assert all(torch.isfinite(v).all() for v in ck['model'].values() if v.is_floating_point())
    assert all(torch.isfinite(p).all() for p in learn.model.parameters())   # no step was taken on the NaN loss


WORKER = textwrap.dedent('''
    import os, sys, json
    import torch
    torch.set_num_threads(1)
    import fer_explore.train.checkpoint as ckmod
    from fastai.callback.core import Callback
    from fer_explore.train.learner import train
    out, rank = sys.argv[1], int(os.environ['RANK'])
    saves = []
    _save = ckmod.atomic_save
    def spy(obj, path): saves.append(os.path.basename(str(path))); return _save(obj, path)
    ckmod.atomic_save = spy
    rec = {'world': int(os.environ['WORLD_SIZE'])}
    class Probe(Callback):
        order = 90
        def before_batch(self):
            if self.training and self.iter == 0: rec['labels'] = self.yb[0].tolist()
        def after_backward(self):
            if self.iter == 0:
                m = getattr(self.model, 'module', self.model)
                rec['grad_fc'] = m.fusion.fc.weight.grad.flatten().tolist()
                rec['grad_centres'] = self.learn.fer_loss.affinity.centres.grad.flatten().tolist()
                rec['steps'] = rec.get('steps', 0)
        def after_step(self): rec['steps'] = rec.get('steps', 0) + 1
        def after_fit(self):
            m = getattr(self.model, 'module', self.model)
            rec['params'] = [float(p.double().sum()) for p in m.parameters()]
            rec['centres'] = self.learn.fer_loss.affinity.centres.flatten().tolist()
    train('dan', data='default', out=os.path.join(out, 'run'), epochs=1, seed=0, quiet=True, n_train=256, n_valid=64,
          bs=32, cbs=[Probe()])
    rec['saves'] = saves
    json.dump(rec, open(os.path.join(out, f'rank{rank}.json'), 'w'))
''')


def test_two_processes_shard_agree_and_only_rank0_writes(tmp_path):
    pytest.importorskip('accelerate')
    (tmp_path / 'worker.py').write_text(WORKER)
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', '29531',
                        str(tmp_path / 'worker.py'), str(tmp_path)], cwd=tmp_path, env=ENV, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = (json.loads((tmp_path / f'rank{i}.json').read_text()) for i in (0, 1))
    assert a['world'] == b['world'] == 2
    assert a['labels'] != b['labels']                         # different shards of the first batch
    assert a['steps'] == b['steps'] == 4                      # 256 images / 32 per rank / 2 ranks
    assert a['grad_fc'] == b['grad_fc']                        # DDP averaged the model's gradients
    assert a['grad_centres'] == b['grad_centres']              # SyncLossGrads averaged the loss centres'
    assert a['params'] == b['params'] and a['centres'] == b['centres']
    assert a['saves'] == ['last.pt', 'best.pt'] and b['saves'] == []   # only rank 0 writes
    ck = torch.load(tmp_path / 'run' / 'last.pt', map_location='cpu', weights_only=True)
    assert ck['epoch'] == 1 and ck['model_name'] == 'dan'
