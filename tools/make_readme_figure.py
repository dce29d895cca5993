"""Draw the README's overview picture into nbs/images/overview.png (run after changing SynthFER or DAN).

    .venv/bin/python tools/make_readme_figure.py
"""
from pathlib import Path
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch
from fer_explore.core import canonical_classes, set_seed, normalize
from fer_explore.models import create_model
from fer_explore.data.synthetic import SynthFER
from fer_explore.vis import to_image, region_contours, overlay_map, resolve_vrange

ROOT = Path(__file__).resolve().parents[1]

def main(out=ROOT/'nbs'/'images'/'overview.png'):
    set_seed(0)
    ds = SynthFER(preset='default', split='train', n=300, size=48, seed=0)
    first = {}
    for i in range(len(ds)):
        s = ds[i]
        first.setdefault(s.label, s)
        if len(first) == 7: break
    model = create_model('dan', preset='small', n_classes=7).eval()
    face = first[1]
    with torch.no_grad(): out_ = model(normalize(face.image[None]))
    maps = {f'DAN head {h}': out_.attention[f'head{h}'][0] for h in range(4)}
    lo, hi = resolve_vrange(list(maps.values()), 'shared')
    fig, axs = plt.subplots(2, 7, figsize=(12, 4.2))
    for k, name in enumerate(canonical_classes(7)):
        s = first[k]
        axs[0, k].imshow(to_image(s.image, stats=None)); region_contours(axs[0, k], s.mask); axs[0, k].set_title(name)
    axs[1, 0].imshow(to_image(face.image, stats=None)); axs[1, 0].set_title('happy face')
    for h, (title, m) in enumerate(maps.items()):
        im = overlay_map(axs[1, h + 1], face.image, m, vrange=(lo, hi), mask=face.mask, title=title, stats=None)
    for a in axs.flat: a.axis('off')
    cax = axs[1, 5].inset_axes([0.15, 0.05, 0.1, 0.9])
    fig.colorbar(im, cax=cax, label='map value, shared range')
    axs[1, 6].text(0, 0.5, 'untrained DAN\n(small config):\nthe four heads\nstill look alike', va='center', fontsize=9)
    axs[0, 0].text(-6, 24, 'SynthFER + AU regions', rotation=90, va='center', ha='right', fontsize=10)
    out.parent.mkdir(parents=True, exist_ok=True); fig.savefig(out, dpi=80, bbox_inches='tight')
    print(out.relative_to(ROOT))

if __name__ == '__main__': main()
