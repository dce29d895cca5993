"""Interpretation tools without the trained-model cache: localisation scores (against Quantus's stored numbers and
maps with known answers), CAM wiring (Grad-CAM = CAM on a linear GAP model; errors surface), attention views of every
model, projections and the model cache on a tiny recipe in a temporary folder."""
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from fer_explore.core import FEROutput, normalize
from fer_explore.localisation import (energy_share, pointing_game, rank_accuracy, localisation_scores, uniform_maps,
                                      centre_gaussian_maps, mask_at_resolution, localisation_summary)
from fer_explore.cams import compute_cams
from fer_explore.interpret import Faces, attention_views, model_outputs, synthfer_faces
from fer_explore.zoo import ZOO_MODELS, untrained_model

ARTIFACTS = Path(__file__).parent / 'artifacts'


@pytest.fixture(scope='module')
def faces():
    return synthfer_faces(21)


def test_scores_match_quantus():
    fx = np.load(Path(__file__).parent / 'fixtures' / 'quantus_localisation.npz')
    a = torch.from_numpy(fx['maps'].astype(np.float32))
    s = torch.from_numpy(np.unpackbits(fx['masks'])[:fx['maps'].size].reshape(fx['maps'].shape).astype(np.float32))
    ours = localisation_scores(a, s)
    assert len(a) >= 30
    for k, q in (('energy_share', 'relevance_mass_accuracy'), ('pointing_game', 'pointing_game'),
                 ('rank_accuracy', 'relevance_rank_accuracy')):
        np.testing.assert_allclose(ours[k].numpy(), fx[q], atol=1e-5)
    assert 0 < fx['pointing_game'].mean() < 1        # the fixture holds hits and misses


def test_scores_known_answers(faces):
    M = faces.masks
    area = M.flatten(1).mean(1)
    for f in (energy_share, pointing_game, rank_accuracy):
        assert torch.allclose(f(M, M), torch.ones(len(M)))
        assert torch.allclose(f(uniform_maps(len(M), 48), M), area, atol=1e-6)
        assert torch.allclose(f(torch.zeros_like(M), M), area, atol=1e-6)
    # a spike inside hits; a spike just outside misses and carries no energy inside
    flat = M.flatten(1)
    i_in = torch.stack([(m > 0).nonzero()[0, 0] for m in flat]); i_out = torch.stack([(m == 0).nonzero()[0, 0] for m in flat])
    spike_in = torch.zeros_like(flat).scatter(1, i_in[:, None], 1.0).view_as(M)
    spike_out = torch.zeros_like(flat).scatter(1, i_out[:, None], 1.0).view_as(M)
    assert (pointing_game(spike_in, M) == 1).all() and (energy_share(spike_in, M) == 1).all()
    assert (pointing_game(spike_out, M) == 0).all() and (energy_share(spike_out, M) == 0).all()
    # low-resolution maps are upsampled; the mask at its own grid beats a uniform map
    assert (energy_share(mask_at_resolution(M, (6, 6)), M) > area).all()
    g = centre_gaussian_maps(len(M), 48)
    assert torch.allclose(energy_share(g, M), energy_share(3 * g, M))


def test_summary_flags_only_maps_above_both_floors():
    import pandas as pd
    rows = [dict(model='floor', state='-', map='uniform', energy_share=0.06, pointing_game=0.06, rank_accuracy=0.06),
            dict(model='floor', state='-', map='centre Gaussian', energy_share=0.12, pointing_game=0.5, rank_accuracy=0.4)]
    for state, good in (('untrained', (0.05, 0.1, 0.1)), ('trained', (0.3, 0.8, 0.6))):
        rows.append(dict(model='m', state=state, map='good', **dict(zip(('energy_share', 'pointing_game', 'rank_accuracy'), good))))
        rows.append(dict(model='m', state=state, map='half', energy_share=0.3, pointing_game=0.2, rank_accuracy=0.6))
    s = localisation_summary(pd.DataFrame(rows))
    assert s.loc[('m', 'good'), ('beats_floors', '')] and not s.loc[('m', 'half'), ('beats_floors', '')]


class _Toy(nn.Module):
    def __init__(self):
        super().__init__(); self.feat = nn.Identity(); self.fc = nn.Linear(3, 4)
    def forward(self, x):
        a = self.feat(x)
        return FEROutput(self.fc(a.mean((2, 3))), a.mean((2, 3)))


def test_gradcam_is_cam_on_a_linear_gap_model_and_errors_surface():
    torch.manual_seed(0)
    toy, x, t = _Toy(), torch.rand(4, 3, 5, 5), torch.tensor([0, 1, 2, 3])
    cams = compute_cams(toy, x, t, layer=toy.feat)
    hand = torch.relu(torch.einsum('kc,bchw->bkhw', toy.fc.weight, normalize(x)))[torch.arange(4), t] / 25
    assert torch.allclose(cams['gradcam'], hand, atol=1e-6)
    with pytest.raises(IndexError):
        compute_cams(toy, x, torch.tensor([0, 1, 2, 7]), ['gradcam'], layer=toy.feat)
    assert not toy.feat._forward_hooks


@pytest.mark.parametrize('name', ZOO_MODELS)
def test_views_and_cams_of_every_model(name, faces):
    m = untrained_model(name)
    out = model_outputs(m, faces.images[:7])
    views = attention_views(out, name, faces.labels[:7])
    assert bool([v for v in views if v.kind == 'spatial']) == (name not in ('dsan', 'resnet18'))
    for v in views:
        assert v.maps.shape[0] == 7 and torch.isfinite(v.maps).all()
        if v.vrange == (0, 1): assert 0 <= v.maps.min() and v.maps.max() <= 1
    cams = compute_cams(m, faces.images[:7], faces.labels[:7])
    assert set(cams) == {'gradcam', 'gradcam++', 'eigencam'}
    assert all(c.shape[0] == 7 and c.dim() == 3 and (c >= 0).all() for c in cams.values())


def test_projection_keeps_separated_blobs():
    from fer_explore.embeddings import project
    rng = np.random.default_rng(0)
    means = np.eye(3, 8) * 10
    x = np.concatenate([m + rng.normal(size=(30, 8)) for m in means]).astype(np.float32)
    pts, cts = project(x, 'tsne', centres=means)
    near = np.linalg.norm(cts[:, None] - pts[None], axis=-1).argmin(1)
    assert (near // 30 == np.arange(3)).all()


TINY = dict(epochs=1, n_train=70, n_valid=35)


@pytest.fixture(scope='module')
def tiny_cache(tmp_path_factory):
    "A model cache holding a ResNet-18 trained for one epoch on 70 faces (trained once for this module)."
    from fer_explore.zoo import trained_checkpoint
    cache = tmp_path_factory.mktemp('cache')
    return cache, trained_checkpoint('resnet18', cache=cache, **TINY)


def test_model_cache_trains_once(tiny_cache):
    from fer_explore.zoo import trained_checkpoint, trained_model, cache_key
    tiny, (cache, p) = TINY, tiny_cache
    assert p.name == f"resnet18-{cache_key('resnet18', **tiny)}.pt" and p.exists()
    mtime = p.stat().st_mtime_ns
    assert trained_checkpoint('resnet18', cache=cache, **tiny) == p
    m = trained_model('resnet18', cache=cache, **tiny)
    assert p.stat().st_mtime_ns == mtime and m.trained and not m.training
    assert cache_key('resnet18', **tiny) != cache_key('resnet18', **{**tiny, 'epochs': 2})


def test_localisation_table_from_a_checkpoint(tiny_cache, faces):
    from fer_explore.localisation import localisation_table
    p = tiny_cache[1]
    df = localisation_table(faces=faces, checkpoints={'resnet18': p})
    assert set(df.model) == {'resnet18', 'floor', 'reference'}
    assert set(df.loc[df.model == 'resnet18', 'map']) == {'gradcam', 'gradcam++', 'eigencam'}
    assert set(df.loc[df.model == 'resnet18', 'state']) == {'untrained', 'trained'}
    uni = df[(df.model == 'floor') & (df['map'] == 'uniform')].iloc[0]
    assert abs(uni.energy_share - float(faces.masks.mean())) < 1e-6
