"""Is the data loader fast enough to keep a small CPU training step busy?

Prints images/s of `fer_dataloaders` (SynthFER 'default', 64 px, bs 64, num_workers 0 and 2, with and without
the 'dan_rafdb' augmentation) next to images/s of one training step (forward + backward + Adam) of the small
CPU config: `create_backbone('resnet18_w25')` + a linear head (a 3-layer CNN if the backbone module is absent).
The loader keeps up when its images/s exceeds the training step's.

    .venv/bin/python benchmarks/bench_loader.py                 # SynthFER
    .venv/bin/python benchmarks/bench_loader.py --data /path/to/fer2013   # an ImageFolder copy of FER2013
    FER2013_DIR=/path/to/fer2013 .venv/bin/python benchmarks/bench_loader.py

FER2013 is not distributed with fer_explore: get it from its Kaggle page (challenges-in-representation-learning-
facial-expression-recognition-challenge) and pass the folder or `fer2013.csv`.
"""
import argparse, os, time, warnings

import torch
from torch import nn

from fer_explore.core import set_seed
from fer_explore.data.loaders import fer_dataloaders


def loader_rate(dls, n_batches):
    "images/s of iterating the train loader (first batch excluded: worker start-up)."
    it = iter(dls.train)
    next(it)
    n, t = 0, time.perf_counter()
    for _, (x, y) in zip(range(n_batches), it): n += len(x)
    return n / (time.perf_counter() - t)


def make_model(n_classes=7):
    try:
        from fer_explore.modules.backbone import create_backbone
        bb = create_backbone('resnet18_w25')
        return nn.Sequential(bb, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(bb.out_channels, n_classes)), 'resnet18_w25 + linear'
    except Exception as e:  # backbone module absent or failing: a small CNN
        m = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1),
                          nn.BatchNorm2d(64), nn.ReLU(), nn.Conv2d(64, 128, 3, 2, 1), nn.BatchNorm2d(128), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, n_classes))
        return m, f'3-layer CNN (backbone unavailable: {type(e).__name__})'


def train_rate(x, y, n_steps):
    model, name = make_model()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    lossf = nn.CrossEntropyLoss()
    model.train()
    def step():
        opt.zero_grad(); lossf(model(x), y).backward(); opt.step()
    step()
    t = time.perf_counter()
    for _ in range(n_steps): step()
    return n_steps * len(x) / (time.perf_counter() - t), name


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default=os.environ.get('FER2013_DIR'), help='a real data set path (default: SynthFER)')
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--batches', type=int, default=10)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--workers', type=int, nargs='+', default=[0, 2])
    a = ap.parse_args()
    set_seed(0)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    src = a.data or 'default'
    n = a.bs * (a.batches + 2)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, source={src!r}, size={a.size}, bs={a.bs}")
    dls = None
    for aug in ('none', 'dan_rafdb'):
        for nw in a.workers:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                extra = dict(verify='header') if a.data else dict(n_train=n, n_valid=a.bs)
                dls = fer_dataloaders(src, size=a.size, bs=a.bs, augment=aug, num_workers=nw, **extra)
            r = loader_rate(dls, a.batches)
            print(f"loader  augment={aug:9s} num_workers={nw}: {r:8.0f} images/s")
    x, y = dls.one_batch()
    r, name = train_rate(x.cpu(), y.cpu(), a.steps)
    print(f"train step ({name}, forward+backward+Adam, {a.size} px): {r:8.0f} images/s")


if __name__ == '__main__':
    main()
