"""Interpretation tools without the trained-model cache: localisation scores (against Quantus's stored numbers and
maps with known answers), floors and ceiling at a map's grid (by hand), the sanity checks through Quantus on toy models
whose answers are known, CAM wiring (Grad-CAM = CAM on a linear GAP model; errors surface), attention views of every
model, projections and the model cache on a tiny recipe in a temporary folder."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from fer_explore.core import FEROutput, normalize
from fer_explore.studies.localisation import (energy_share, pointing_game, rank_accuracy, localisation_scores, uniform_maps,
                                      centre_gaussian_maps, mask_at_resolution, localisation_summary, reference_maps,
                                      reference_rows, summary_text, randomisation_test, deletion_curves, sanity_checks,
                                      SCORES, SANITY)
from fer_explore.explore.cams import compute_cams
from fer_explore.explore.interpret import Faces, attention_views, model_outputs, synthfer_faces
from fer_explore.studies.zoo import ZOO_MODELS, untrained_model

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


def _bilinear(n_out, n_in):
    "The matrix of bilinear upsampling n_in -> n_out (align_corners=False), written out from its definition."
    U = np.zeros((n_out, n_in))
    for i in range(n_out):
        src = max((i + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = min(int(np.floor(src)), n_in - 1); i1 = min(i0 + 1, n_in - 1); t = src - i0
        U[i, i0] += 1 - t; U[i, i1] += t
    return U

def test_floors_pooled_to_a_grid_score_what_a_hand_computation_gives():
    M = torch.zeros(1, 48, 48); M[0, 16:24, 24:32] = 1          # the regions: cell (2, 3) of a 6x6 grid, 64 pixels
    refs = reference_maps(M, (6, 6))
    assert set(refs) == {'uniform at 6x6', 'centre Gaussian at 6x6', 'mask at 6x6'}
    g48 = centre_gaussian_maps(1, 48)[0].double().numpy()
    g6 = g48.reshape(6, 8, 6, 8).mean((1, 3))                    # area pooling by hand: the mean of each 8x8 block
    assert np.allclose(refs['centre Gaussian at 6x6'][1][0].numpy(), g6, atol=1e-7)
    U = _bilinear(48, 6)
    up = U @ g6 @ U.T
    assert abs(float(energy_share(refs['centre Gaussian at 6x6'][1], M)) - (up * M[0].numpy()).sum() / up.sum()) < 1e-6
    # the pooled Gaussian's four central cells are its maximum: upsampled, a plateau over pixels 20..27 x 20..27 (64 px),
    # of which rows 20..23 x cols 24..27 (16 px) are inside the regions -> 16/64 on the pointing game and rank accuracy
    assert abs(float(pointing_game(refs['centre Gaussian at 6x6'][1], M)) - 0.25) < 1e-6
    assert abs(float(rank_accuracy(refs['centre Gaussian at 6x6'][1], M)) - 0.25) < 1e-6
    for f in (energy_share, pointing_game, rank_accuracy):       # uniform: the regions' area fraction, 64 / 2304
        assert abs(float(f(refs['uniform at 6x6'][1], M)) - 1 / 36) < 1e-6
    # the ceiling, here one cell: upsampled, its tent spans 16 px per side with weights summing to 8, of which 6 fall on
    # its own 8 px (0.5625 + 0.6875 + 0.8125 + 0.9375, twice): energy share 0.75^2; its peak is inside
    assert abs(float(energy_share(refs['mask at 6x6'][1], M)) - 0.75 ** 2) < 1e-6
    assert float(pointing_game(refs['mask at 6x6'][1], M)) == 1

def test_the_mask_at_its_own_grid_reaches_the_ceiling(faces):
    M = faces.masks
    rows = pd.DataFrame(reference_rows(M, [(6, 6), (12, 12)]))
    assert list(rows.model) == ['floor', 'floor', 'ceiling'] * 2 and set(rows.grid) == {'6x6', '12x12'}
    ceil = rows[rows.model == 'ceiling'].set_index('grid')
    for hw in ((6, 6), (12, 12)):
        sc = localisation_scores(mask_at_resolution(M, hw), M)
        for s in SCORES: assert abs(float(sc[s].mean()) - ceil.loc[f'{hw[0]}x{hw[1]}', s]) < 1e-9
    oracle = [dict(model='m', state=st, map='oracle', kind='attention', grid='6x6', seed=0,
                   **{s: ceil.loc['6x6', s] for s in SCORES}) for st in ('untrained', 'trained')]
    s = localisation_summary(pd.concat([pd.DataFrame(oracle), rows]))
    for sc in SCORES: assert s.loc[('m', 'oracle'), (sc, 'trained')] == s.loc[('m', 'oracle'), (sc, 'ceiling')]
    assert s.loc[('m', 'oracle'), ('beats_floors', '')]          # at 6x6 knowing the regions beats both floors

def test_beats_floors_compares_at_the_same_grid():
    rows = []
    for g, fl in (('6x6', (0.1, 0.4, 0.4)), ('24x24', (0.1, 0.7, 0.5))):
        rows += [dict(model='floor', state='-', map=f'uniform at {g}', kind='floor', grid=g, energy_share=0.05, pointing_game=0.05, rank_accuracy=0.05),
                 dict(model='floor', state='-', map=f'centre Gaussian at {g}', kind='floor', grid=g, **dict(zip(SCORES, fl))),
                 dict(model='ceiling', state='-', map=f'mask at {g}', kind='ceiling', grid=g, energy_share=0.9, pointing_game=1.0, rank_accuracy=0.9)]
    for g, name in (('6x6', 'coarse'), ('24x24', 'fine')):
        for st, v in (('untrained', (0.05, 0.1, 0.1)), ('trained', (0.3, 0.6, 0.45))):
            rows.append(dict(model='m', state=st, map=name, kind='attention', grid=g, seed=0, **dict(zip(SCORES, v))))
    s = localisation_summary(pd.DataFrame(rows))
    assert s.loc[('m', 'coarse'), ('beats_floors', '')] and not s.loc[('m', 'fine'), ('beats_floors', '')]
    assert s.loc[('m', 'fine'), ('pointing_game', 'floor')] == 0.7 and s.loc[('m', 'coarse'), ('pointing_game', 'floor')] == 0.4
    assert s.loc[('m', 'fine'), ('energy_share', 'ceiling')] == 0.9

def test_summary_over_seeds_gives_mean_and_sd():
    rows = [dict(model='floor', state='-', map='uniform at 6x6', kind='floor', grid='6x6', energy_share=0.05, pointing_game=0.05, rank_accuracy=0.05),
            dict(model='floor', state='-', map='centre Gaussian at 6x6', kind='floor', grid='6x6', energy_share=0.1, pointing_game=0.5, rank_accuracy=0.4),
            dict(model='ceiling', state='-', map='mask at 6x6', kind='ceiling', grid='6x6', energy_share=0.35, pointing_game=0.8, rank_accuracy=0.6)]
    for seed, v in enumerate((0.2, 0.3, 0.4)):
        for st in ('untrained', 'trained'):
            rows.append(dict(model='m', state=st, map='h', kind='attention', grid='6x6', seed=seed, energy_share=v if st == 'trained' else 0.1,
                             pointing_game=0.6, rank_accuracy=0.5, randomisation_similarity=v if st == 'trained' else np.nan,
                             deletion_gap=-v if st == 'trained' else np.nan))
    s = localisation_summary(pd.DataFrame(rows))
    r = s.loc[('m', 'h')]
    assert abs(r[('energy_share', 'trained')] - 0.3) < 1e-12 and abs(r[('energy_share', 'trained sd')] - 0.1) < 1e-12
    assert r[('energy_share', 'untrained sd')] == 0 and r[('n_seeds', '')] == 3
    assert abs(r[('randomisation_similarity', 'trained')] - 0.3) < 1e-12 and abs(r[('deletion_gap', 'trained sd')] - 0.1) < 1e-12
    assert r[('beats_floors', '')]                                  # 0.3 > 0.1, 0.6 > 0.5, 0.5 > 0.4
    assert summary_text(s).loc[('m', 'h'), ('energy_share', 'trained')] == '0.300 ± 0.100'


class _MapToy(nn.Module):
    "Maps on a 6x6 grid: 'weights' comes from a layer's weights alone (the same for every face), 'fixed' from no weights."
    def __init__(self):
        super().__init__()
        self.config = {'name': 'toy_maps'}
        self.pos, self.fc = nn.Linear(1, 36), nn.Linear(3, 7)
        with torch.no_grad(): self.pos.weight.copy_(torch.linspace(-3, 3, 36)[:, None]); self.pos.bias.zero_()
    def forward(self, x):
        f = x.mean((2, 3))
        return FEROutput(self.fc(f), f, {'weights': torch.sigmoid(self.pos(torch.ones(len(x), 1))).view(-1, 6, 6),
                                         'fixed': centre_gaussian_maps(len(x), 6)})

def _toy_faces(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = 0.5 * torch.rand(n, 3, 48, 48, generator=g)
    return Faces(x, torch.zeros(n, dtype=torch.long), torch.zeros(n, 48, 48), ['c0'])

def test_randomisation_separates_a_weight_dependent_map_from_a_fixed_one():
    toy, f = _MapToy().eval(), _toy_faces()
    (dep, dep_flat), fixed = randomisation_test(toy, f, 'weights', flat=True), randomisation_test(toy, f, 'fixed')
    assert dep.shape == fixed.shape == dep_flat.shape == (12,) and not dep_flat.any()
    assert np.allclose(fixed, 1.0)                                    # the map does not change: the test's worst score
    assert np.allclose(dep, dep[0]) and abs(dep[0]) < 0.5             # the ramp is gone after re-initialising `pos`
    each = randomisation_test(toy, f, 'weights', layers='each')
    assert list(each) == ['fc', 'pos']                                 # top-down: the last module defined first (Quantus's order)
    assert np.allclose(each['fc'], 1.0) and np.allclose(each['pos'], dep)   # only `pos` makes the map
    assert all(p.requires_grad for p in toy.parameters()) and toy.pos.weight[0, 0] == -3   # the model itself is untouched


class _CellToy(nn.Module):
    "Class 0's score is 10 x the mean (normalised) value of one cell of a 6x6 grid on 48 px: row 1, column 4."
    def __init__(self):
        super().__init__(); self.config = {'name': 'toy_cells'}; self.unused = nn.Linear(1, 1)
    def forward(self, x):
        z = torch.zeros(len(x), 7); z[:, 0] = 10 * x[:, :, 8:16, 32:40].mean((1, 2, 3))
        return FEROutput(z, z)

def test_deletion_curve_falls_faster_for_the_cells_the_model_uses():
    f = _toy_faces(16)
    f.images[:, :, 8:16, 32:40] = 1.0                                  # the used cell is bright
    used = torch.zeros(16, 6, 6); used[:, 1, 4] = 1                    # marks the used cell
    unused = torch.ones(16, 6, 6); unused[:, 1, 4] = 0; unused[:, 5, 0] = 2   # the used cell last
    cur = deletion_curves(_CellToy().eval(), f, {'used': used, 'unused': unused}, fraction=0.25)
    assert set(cur) == {'used', 'unused', 'random 6x6'} and cur['used'].p.shape == (16, 10) and cur['used'].cells == 36
    # by hand: removing the used cell first replaces it by the image's mean value v in every channel
    v = f.images.mean((1, 2, 3))
    z = torch.zeros(16, 7); z[:, 0] = 10 * normalize(v[:, None, None, None].expand(-1, 3, 8, 8)).mean((1, 2, 3))
    assert np.allclose(cur['used'].p[:, 1], torch.softmax(z, -1)[:, 0].numpy(), atol=1e-5)
    assert np.allclose(cur['unused'].p, cur['unused'].p[:, :1])        # never reaches the used cell within a quarter
    gap = lambda k: float(np.mean(cur['random 6x6'].auc() - cur[k].auc()))
    assert gap('used') > 0.3 and gap('unused') < 0


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
    from fer_explore.explore.embeddings import project
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
    from fer_explore.studies.zoo import trained_checkpoint
    cache = tmp_path_factory.mktemp('cache')
    return cache, trained_checkpoint('resnet18', cache=cache, **TINY)


def test_model_cache_trains_once(tiny_cache):
    from fer_explore.studies.zoo import trained_checkpoint, trained_model, cache_key
    tiny, (cache, p) = TINY, tiny_cache
    assert p.name == f"resnet18-{cache_key('resnet18', **tiny)}.pt" and p.exists()
    mtime = p.stat().st_mtime_ns
    assert trained_checkpoint('resnet18', cache=cache, **tiny) == p
    m = trained_model('resnet18', cache=cache, **tiny)
    assert p.stat().st_mtime_ns == mtime and m.trained and not m.training
    assert cache_key('resnet18', **tiny) != cache_key('resnet18', **{**tiny, 'epochs': 2})


def test_sanity_checks_of_a_model(faces):
    m = untrained_model('resnet18')
    df, cur = sanity_checks(m, faces[list(range(14))], curves=True)
    assert list(df['map']) == ['gradcam', 'gradcam++', 'eigencam'] and (df.n_sanity == 14).all()
    assert df[list(SANITY)].notna().all().all() and (df.randomisation_similarity.abs() <= 1).all()
    assert df.randomised_flat.between(0, 1).all()
    assert np.allclose(df.deletion_gap, df.deletion_auc_random - df.deletion_auc)
    assert set(cur) == {'gradcam', 'gradcam++', 'eigencam', f'random {df.grid.iloc[0]}'}


def test_localisation_table_from_a_checkpoint(tiny_cache, faces):
    from fer_explore.studies.localisation import localisation_table
    p = tiny_cache[1]
    df = localisation_table(faces=faces, checkpoints={'resnet18': p}, sanity=7)
    assert set(df.model) == {'resnet18', 'floor', 'ceiling'}
    assert set(df.loc[df.model == 'resnet18', 'map']) == {'gradcam', 'gradcam++', 'eigencam'}
    assert set(df.loc[df.model == 'resnet18', 'state']) == {'untrained', 'trained'}
    grids = set(df.loc[df.model == 'resnet18', 'grid'])
    assert set(df.loc[df.model == 'floor', 'grid']) == set(df.loc[df.model == 'ceiling', 'grid']) == grids
    uni = df[(df.model == 'floor') & df['map'].str.startswith('uniform')].iloc[0]
    assert abs(uni.energy_share - float(faces.masks.mean())) < 1e-6
    trained = df[(df.model == 'resnet18') & (df.state == 'trained')]
    assert trained[list(SANITY)].notna().all().all() and (trained.n_sanity == 7).all()
    assert set(df.attrs['deletion_curves']) >= {('resnet18', 'gradcam')}


def test_localisation_seeds_writes_one_row_per_seed(tiny_cache, faces, tmp_path):
    from fer_explore.studies.localisation import localisation_seeds
    p = tiny_cache[1]
    csv = tmp_path / 'seeds.csv'
    rows = localisation_seeds({'resnet18': [p, untrained_model('resnet18', 3)]}, faces=faces[list(range(7))], sanity=7, csv=csv)
    back = pd.read_csv(csv)
    assert len(back) == len(rows) and list(back.columns) == list(rows.columns)
    m = rows[rows.model == 'resnet18']
    assert len(m) == 2 * 2 * 3 and list(m.run.unique()) == [0, 1] and set(m.seed) == {0, 1}
    assert m.checkpoint.iloc[0].endswith(p.name)
    assert (rows.model == 'ceiling').sum() == len(set(m.grid))                 # the references once per grid
    s = localisation_summary(rows)
    assert s[('n_seeds', '')].eq(2).all() and ('deletion_gap', 'trained sd') in s.columns
