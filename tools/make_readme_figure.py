"""Draw the README's overview picture into nbs/images/overview.png (run after changing SynthFER or DAN).

    .venv/bin/python tools/make_readme_figure.py
"""
from pathlib import Path
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch
from fer_explore.core import canonical_classes, create_model, set_seed
from fer_explore.data.synthetic import SynthFER

ROOT = Path(__file__).resolve().parents[1]

def main(out=ROOT/'nbs'/'images'/'overview.png'):
    set_seed(0)
    ds = SynthFER(preset='default', split='train', n=300, size=64, seed=0)
    first = {}
    for i in range(len(ds)):
        s = ds[i]
        first.setdefault(s.label, s)
        if len(first) == 7: break
    model = create_model('dan', preset='small', n_classes=7).eval()
    face = first[1].image
    with torch.no_grad(): out_ = model(((face - 0.5) / 0.25)[None])
    fig, axs = plt.subplots(3, 7, figsize=(14, 6.4))
    for k, name in enumerate(canonical_classes(7)):
        s = first[k]
        axs[0, k].imshow(s.image.permute(1, 2, 0)); axs[0, k].set_title(name)
        axs[1, k].imshow(s.image.permute(1, 2, 0)); axs[1, k].imshow(s.mask, alpha=0.5, cmap='magma')
    axs[2, 0].imshow(face.permute(1, 2, 0)); axs[2, 0].set_title('happy face')
    for h in range(4):
        m = out_.attention[f'head{h}'][0]
        axs[2, h + 1].imshow(face.permute(1, 2, 0))
        axs[2, h + 1].imshow(torch.nn.functional.interpolate(m[None, None], size=face.shape[-2:], mode='bilinear')[0, 0],
                             alpha=0.55, cmap='jet'); axs[2, h + 1].set_title(f'DAN head {h}')
    for a in axs.flat: a.axis('off')
    axs[0, 0].text(-8, 32, 'SynthFER', rotation=90, va='center', ha='right', fontsize=11)
    axs[1, 0].text(-8, 32, 'AU regions', rotation=90, va='center', ha='right', fontsize=11)
    plt.tight_layout(); out.parent.mkdir(parents=True, exist_ok=True); fig.savefig(out, dpi=80)
    print(out)

if __name__ == '__main__': main()
