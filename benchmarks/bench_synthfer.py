"""SynthFER generation speed: images per second for each preset and size, one process, one thread.

Usage: .venv/bin/python benchmarks/bench_synthfer.py [--n 400] [--sizes 48 64 112] [--grey]

Prints wall-clock images/s and CPU images/s (process time; on a shared machine the CPU figure is the one that says
what one free core would do). Target: >= 500 images/s at 64 px on one core, so drawing data never holds up a
small CPU training step.
"""
import argparse, time
import torch
from fer_explore.data.synthetic import SynthFER, PRESETS

def bench(preset, size, n, rgb=True):
    ds = SynthFER(preset, n=n, size=size, rgb=rgb, seed=123)
    for i in range(20): ds[i]                      # warm-up (imports, caches)
    w, c = time.perf_counter(), time.process_time()
    for i in range(n): ds[i]
    return n / (time.perf_counter() - w), n / (time.process_time() - c)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=400); ap.add_argument('--sizes', type=int, nargs='+', default=[48, 64, 112])
    ap.add_argument('--grey', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(1)
    print(f"SynthFER generation, {'grey' if a.grey else 'RGB'}, {a.n} images per cell, torch threads = 1")
    print(f"{'preset':8s} {'size':>4s} {'wall img/s':>11s} {'cpu img/s':>10s}")
    for p in PRESETS:
        for s in a.sizes:
            wall, cpu = bench(p, s, a.n, not a.grey)
            print(f"{p:8s} {s:4d} {wall:11.0f} {cpu:10.0f}", flush=True)
