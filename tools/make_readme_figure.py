"""Draw the README's and home page's overview picture into nbs/images/overview.png (run after changing SynthFER,
DAN or the demo's recipe; it needs the demo's trained DAN in the model cache: `python -m fer_explore.studies.zoo fill`).

    .venv/bin/python tools/make_readme_figure.py

Top row: one SynthFER face per expression with the regions that define it outlined. Bottom row: head3 of the trained
DAN (the demo's model, from the cache) on each face, each divided by its own maximum (the colour bar says so and
gives the maxima): the head of that model that puts the most of its mass on the regions, though less than a centred
blob does (tutorial 4 measures it over 140 faces).
"""
from pathlib import Path
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch
from fer_explore.core import canonical_classes, normalize
from fer_explore.data.synthetic import SynthFER
from fer_explore.vis import to_image, region_contours, overlay_map
from fer_explore.studies.zoo import trained_model

ROOT = Path(__file__).resolve().parents[1]
HEAD = 'head3'

def main(out=ROOT/'nbs'/'images'/'overview.png'):
    ds = SynthFER(preset='default', split='test', n=300, size=48, seed=0)
    first = {}
    for i in range(len(ds)):
        s = ds[i]
        first.setdefault(s.label, s)
        if len(first) == 7: break
    model = trained_model('dan', train=False)   # FileNotFoundError when the cache lacks it: fill the cache first
    faces = torch.stack([first[k].image for k in range(7)])
    with torch.no_grad(): maps = model(normalize(faces)).attention[HEAD]
    peaks = maps.flatten(1).max(1).values
    maps = maps / peaks.clamp_min(1e-12)[:, None, None]          # where each face's map peaks, not how high
    fig, axs = plt.subplots(2, 7, figsize=(12, 3.9), layout='constrained')
    for k, name in enumerate(canonical_classes(7)):
        s = first[k]
        axs[0, k].imshow(to_image(s.image, stats=None)); region_contours(axs[0, k], s.mask); axs[0, k].set_title(name)
        im = overlay_map(axs[1, k], s.image, maps[k], vrange=(0, 1), mask=s.mask, stats=None, alpha=0.65)
    for a in axs.flat: a.axis('off')
    fig.colorbar(im, ax=axs[1, :], shrink=0.9, label=f'each map ÷ its own maximum\n(maxima {float(peaks.min()):.3g} to {float(peaks.max()):.3g})')
    axs[0, 0].text(-6, 24, 'SynthFER + AU regions', rotation=90, va='center', ha='right', fontsize=10)
    axs[1, 0].text(-6, 24, f'trained DAN, {HEAD}', rotation=90, va='center', ha='right', fontsize=10)
    out.parent.mkdir(parents=True, exist_ok=True); fig.savefig(out, dpi=80, bbox_inches='tight')
    print(out.relative_to(ROOT))

if __name__ == '__main__': main()
