"""The Learner's overhead: images per second through `fer_learner(...).fit` against a bare PyTorch loop.

Usage: .venv/bin/python benchmarks/bench_learner.py [--models dan wamf ...] [--configs small paper]
                                                   [--batches 12] [--bs 32] [--threads 1]

For each model and configuration (small: ResNet-18 at width 0.25, 48 px; paper: ResNet-18 at 224 px) both loops
train the same model (same initial weights), the same paper loss and the same recipe optimiser on the same
batches (random images held in memory). The Learner is timed over its whole training phase after two warm-up
batches (its data loader, callbacks, metrics bookkeeping included), the bare loop over the same batches. Prints wall-clock images/s of each and the Learner's overhead in percent (aim: <= 10 %).
On a shared machine run it twice; the CPU-time column (process time) is the steadier figure.
"""
import argparse, copy, time
import torch
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.callback.core import Callback

from fer_explore.core import set_seed
from fer_explore.train.learner import fer_learner
from fer_explore.train.callbacks import FEROutputCallback

CONFIGS = {'small': dict(preset='small', size=48), 'paper': dict(preset='paper', size=224)}


class Timer(Callback):
    "Times the training phase from the start of batch `warm` to the end of the epoch (loading, callbacks and all)."
    order = 100
    def __init__(self, warm=2): self.warm, self.n, self.wall, self.cpu = warm, 0, 0.0, 0.0
    def before_batch(self):
        if self.training and self.iter == self.warm: self.t, self.c = time.perf_counter(), time.process_time()
    def after_batch(self):
        if self.training: self.n += 1
    def after_train(self):
        self.wall, self.cpu = time.perf_counter() - self.t, time.process_time() - self.c


def bare_loop(model, loss, opt, batches, warm=2):
    model.train(); wall = cpu = 0.0
    for i, (x, y) in enumerate(batches):
        t, c = time.perf_counter(), time.process_time()
        out = model(x); l = loss(out, y)
        opt.zero_grad(); l.backward(); opt.step()
        if i >= warm: wall += time.perf_counter() - t; cpu += time.process_time() - c
    return wall, cpu


def bench(name, cfg, n_batches, bs):
    set_seed(0)
    size = cfg['size']
    xs = torch.randn(n_batches * bs, 3, size, size); ys = torch.arange(n_batches * bs) % 7
    items = list(zip(xs, ys))
    dls = DataLoaders(DataLoader(items, bs=bs, shuffle=False, drop_last=True), DataLoader(items[:bs], bs=bs), device='cpu')
    dls.c, dls.classes = 7, [str(i) for i in range(7)]
    learn = fer_learner(name, dls, 'synthfer', preset=cfg['preset'], size=size, quiet=True, class_counts=[1] * 7)
    model0, loss0 = copy.deepcopy(learn.model), copy.deepcopy(learn.fer_loss)
    timer = Timer()
    learn.fit(1, cbs=[timer])   # one epoch = the same n_batches batches
    n_timed = (timer.n - timer.warm) * bs
    # bare loop on copies of the same initial model and loss, the same optimiser kind and settings
    from fer_explore.train.learner import param_groups, make_optimizer
    opt = make_optimizer(param_groups(model0, loss0, learn.recipe))
    batches = [(xs[i * bs:(i + 1) * bs], ys[i * bs:(i + 1) * bs]) for i in range(n_batches)]
    wall, cpu = bare_loop(model0, loss0, opt, batches)
    return n_timed / timer.wall, n_timed / timer.cpu, n_timed / wall, n_timed / cpu


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--models', nargs='+', default=['resnet18', 'dan', 'daf_mhsca', 'cf_dan', 'dsan', 'wamf'])
    ap.add_argument('--configs', nargs='+', default=['small', 'paper'], choices=list(CONFIGS))
    ap.add_argument('--batches', type=int, default=12)
    ap.add_argument('--bs', type=int, default=32)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"images/s, training, batch {a.bs}, {a.batches} batches (2 warm-up), torch threads = {a.threads}")
    print(f"{'model':10s} {'config':6s} {'Learner':>8s} {'bare':>8s} {'overhead':>9s} {'(cpu time:':>10s} {'Learner':>8s} {'bare':>8s} {'overhead)':>9s}")
    for cfg in a.configs:
        for m in a.models:
            lw, lc, bw, bc = bench(m, CONFIGS[cfg], a.batches, a.bs)
            print(f"{m:10s} {cfg:6s} {lw:8.1f} {bw:8.1f} {100 * (bw / lw - 1):8.1f}% {'':>10s} {lc:8.1f} {bc:8.1f} {100 * (bc / lc - 1):8.1f}%",
                  flush=True)
