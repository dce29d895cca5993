"""Fixture tests of the real-data readers and loaders (fer_explore.data.images / readers / loaders, nbs/02_data.images,
nbs/02_data.readers and nbs/04_data.loaders), and of the light import of fer_explore.data (nbs/04_data).

Every format is written as a tiny data set of random-noise images in a tmp dir; no real data set is needed.
Run: .venv/bin/python -m pytest tests/test_datasets.py -q
"""
import subprocess, sys, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from fer_explore.core import IMAGENET_STATS, canonical_classes, canonical_label, denormalize, normalize, to_canonical
from fer_explore.data.images import load_image
from fer_explore.data.readers import (FERDataset, detect_format, ferplus_target, load_fer_dataset, read_affectnet_csv,
                                      read_affectnet_folder, read_ckplus, read_fer2013_csv, read_ferplus,
                                      read_image_folder, read_jaffe, read_rafdb, read_sfew, split_dataset, subject_of,
                                      _FERPLUS_COLS)
from fer_explore.data.loaders import fer_dataloaders, tta_predict
from fer_explore.testing import make_fixture


def _noise(path, mode='L', size=8, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (size, size) if mode == 'L' else (size, size, 3), dtype=np.uint8)
    Image.fromarray(a, mode).save(path)


# ---------------------------------------------------------------- formats: counts, canonical labels, splits
def test_fer2013_csv(tmp_path):
    p = make_fixture('fer2013', tmp_path, n_per_class=2)
    ds = load_fer_dataset(p)
    assert isinstance(ds, FERDataset) and len(ds) == 42 and ds.classes == canonical_classes(7)
    assert {s: int((ds.splits == s).sum()) for s in ('train', 'valid', 'test')} == {'train': 14, 'valid': 14, 'test': 14}
    df = pd.read_csv(p)
    assert ds.labels.tolist() == [to_canonical('fer2013', e) for e in df.emotion]
    assert to_canonical('fer2013', 0) == canonical_label('anger') and to_canonical('fer2013', 6) == canonical_label('neutral')
    x, y = ds[5]
    assert x.shape == (3, 48, 48) and x.dtype == torch.float32 and y == ds.labels[5]
    assert torch.allclose(x[0].flatten() * 255, torch.tensor([float(v) for v in df.pixels[5].split()]), atol=1e-3)
    assert len(load_fer_dataset(p, split='test')) == 14 and len(load_fer_dataset(p, split='PublicTest')) == 14


def test_image_folder_splits_and_names(tmp_path):
    p = make_fixture('fer2013_folders', tmp_path, n_per_class=2)
    ds = load_fer_dataset(p)
    assert len(ds) == 28 and sorted(set(ds.splits)) == ['train', 'valid']
    for it, lab in zip(ds.items, ds.labels):
        assert lab == canonical_label(Path(it).parent.name)
    assert ds.labels[[Path(i).parent.name == 'angry' for i in ds.items]].tolist() == [6] * 4
    tr = load_fer_dataset(p, split='train')
    assert len(tr) == 14 and set(tr.splits) == {'train'}
    g = load_fer_dataset(p, split='val', channels=1, size=20)
    assert len(g) == 14 and g[0][0].shape == (1, 20, 20)


def test_ferplus_modes(tmp_path):
    p = make_fixture('ferplus', tmp_path, n_per_class=2)
    ds = load_fer_dataset(p)
    assert detect_format(p) == 'ferplus' and len(ds) == 48 and ds.classes == canonical_classes(8)
    df = pd.read_csv(p)
    for it, lab in zip(ds.items, ds.labels):
        row = df[df['Image name'] == Path(it).name].iloc[0]
        assert lab == to_canonical('ferplus', row[list(_FERPLUS_COLS[:8])].astype(float).idxmax())
    reasons = sorted(r for _, r in ds.skipped)
    assert reasons.count('unknown/NF-dominated') == 3 and reasons.count('no image name (not a face in FERPlus)') == 3
    dd = read_ferplus(p, mode='distribution', split='valid')
    x, t = dd[0]
    assert len(dd) == 16 and t.shape == (8,) and abs(float(t.sum()) - 1) < 1e-6 and int(t.argmax()) == dd.labels[0]
    assert len(read_ferplus(p, n_classes=7)) == 42
    v = lambda *a: list(a) + [0] * (10 - len(a))
    assert ferplus_target(v(6, 4))[0] == 0
    assert ferplus_target(v(5, 5))[0] is None and ferplus_target(v(5, 5), 'plurality')[0] is None
    assert ferplus_target(v(4, 3, 3), 'plurality')[0] == 0
    assert ferplus_target(v(3, 0, 0, 0, 0, 0, 0, 0, 3, 4), 'distribution')[0] is None


def test_ferplus_from_fer2013_pixels(tmp_path):
    fer = make_fixture('fer2013', tmp_path / 'fer', n_per_class=1)  # 21 rows
    rows = [['Training', f'fer{i:07d}.png'] + [0] * 10 for i in range(21)]
    for i, r in enumerate(rows): r[2 + (i % 8)] = 8; r[11] = 2  # column i%8 wins, 2 NF votes
    pd.DataFrame(rows, columns=['Usage', 'Image name'] + list(_FERPLUS_COLS)).to_csv(tmp_path / 'fer2013new.csv', index=False)
    ds = read_ferplus(tmp_path / 'fer2013new.csv', images=fer)
    assert len(ds) == 21 and ds.items == list(range(1, 22))  # the FER2013 rows, by order
    assert ds.labels.tolist() == [to_canonical('ferplus', _FERPLUS_COLS[i % 8]) for i in range(21)]
    assert ds[0][0].shape == (3, 48, 48)


def test_rafdb(tmp_path):
    p = make_fixture('rafdb', tmp_path, n_per_class=2)
    ds = load_fer_dataset(p)
    assert detect_format(p) == 'rafdb' and len(ds) == 28
    assert len(ds.split('train')) == 14 and len(ds.split('test')) == 14
    lines = [l for l in (p / 'EmoLabel' / 'list_patition_label.txt').read_text().splitlines() if l]
    assert ds.labels.tolist() == [to_canonical('rafdb', int(l.split()[1])) for l in lines]
    assert ds.classes[ds.labels[0]] == 'surprise'  # RAF-DB label 1


def test_affectnet_csv_and_folders(tmp_path):
    p = make_fixture('affectnet_csv', tmp_path / 'csv', n_per_class=2)
    a7, a8 = load_fer_dataset(p), load_fer_dataset(p, n_classes=8)
    assert (len(a7), len(a8)) == (14, 16) and (len(a7.skipped), len(a8.skipped)) == (8, 6)
    assert a8.labels.tolist() == [int(Path(i).parent.name) - 1 for i in a8.items]
    f = make_fixture('affectnet_folder', tmp_path / 'folders', n_per_class=2)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        f7, f8 = read_affectnet_folder(f), load_fer_dataset(f, format='affectnet8')
    assert (len(f7), len(f8)) == (28, 32) and f8.classes == canonical_classes(8)
    assert all(lab == int(Path(i).parent.name) for i, lab in zip(f8.items, f8.labels))
    assert sorted({Path(s).parent.name for s, _ in f8.skipped}) == ['10', '8', '9']


def test_ckplus_jaffe_splits(tmp_path):
    j = make_fixture('jaffe', tmp_path / 'jaffe', n_per_class=2)
    ds = load_fer_dataset(j, format='jaffe')
    assert len(ds) == 140 and set(ds.counts().values()) == {20}
    assert [int((ds.splits[ds.labels == c] == 'test').sum()) for c in range(7)] == [6] * 7
    assert ds.splits.tolist() == read_jaffe(j).splits.tolist()  # fixed seed: same split
    sw = read_jaffe(j, by_subject=True)
    subj = np.array([subject_of(i) for i in sw.items])
    assert not set(subj[sw.splits == 'train']) & set(subj[sw.splits == 'test'])
    assert 0.2 <= (sw.splits == 'test').mean() <= 0.4
    assert len(read_jaffe(j, split='test')) == 42
    c = make_fixture('ckplus', tmp_path / 'ck', n_per_class=2)
    ck = read_ckplus(c, by_subject=True)
    assert len(ck) == 42 and ck.classes == canonical_classes(8)
    subj = np.array([subject_of(i) for i in ck.items])
    assert subj[0].startswith('S') and not set(subj[ck.splits == 'train']) & set(subj[ck.splits == 'test'])
    assert subject_of('S005_001_00000011.png') == 'S005' and subject_of('KA.HA1.29.tiff') == 'KA'


def test_sfew(tmp_path):
    p = make_fixture('sfew', tmp_path, n_per_class=2)
    ds = read_sfew(p)
    assert len(ds.split('train')) == 14 and len(ds.split('valid')) == 14
    assert load_fer_dataset(p, split='Val').splits.tolist() == ['valid'] * 14


def test_split_dataset_stratified():
    ds = FERDataset([f'x{i}' for i in range(100)], [0] * 80 + [1] * 20, canonical_classes(7))
    s = split_dataset(ds, 0.3, seed=3)
    assert int((s.splits[:80] == 'test').sum()) == 24 and int((s.splits[80:] == 'test').sum()) == 6


# ---------------------------------------------------------------- bad input
def test_missing_files(tmp_path):
    for f in (tmp_path / 'nope.csv', tmp_path / 'nodir'):
        with pytest.raises(FileNotFoundError, match=f.name): load_fer_dataset(f)
    with pytest.raises(FileNotFoundError, match='list_patition_label.txt'): read_rafdb(tmp_path)
    p = make_fixture('rafdb', tmp_path / 'raf', n_per_class=1)
    (p / 'Image' / 'aligned' / 'test_00010_aligned.jpg').unlink()
    with pytest.raises(FileNotFoundError, match='test_00010_aligned.jpg'): read_rafdb(p)
    with pytest.warns(UserWarning, match=r"rafdb: skipped 1 item\(s\): \{'missing file': 1\}"):
        assert len(read_rafdb(p, missing='skip')) == 13
    with pytest.raises(FileNotFoundError, match='gone.png'): load_image(tmp_path / 'gone.png')


def test_malformed_pixel_row(tmp_path):
    p = make_fixture('fer2013', tmp_path, n_per_class=1)
    lines = p.read_text().splitlines()
    lines[4] = '2,' + ' '.join(['7'] * 2303) + ',Training'  # data row 4: one value short
    p.write_text('\n'.join(lines))
    with pytest.raises(ValueError, match=r'row 4 \(line 5\): malformed pixels'): read_fer2013_csv(p)
    lines[4] = '2,' + ' '.join(['7'] * 2303) + ' x,Training'
    p.write_text('\n'.join(lines))
    with pytest.raises(ValueError, match=r'row 4 \(line 5\): pixels are not all numbers'): read_fer2013_csv(p)


def test_unknown_label_ids(tmp_path):
    p = make_fixture('fer2013', tmp_path / 'fer', n_per_class=1)
    lines = p.read_text().splitlines(); lines[2] = '7,' + lines[2].split(',', 1)[1]
    p.write_text('\n'.join(lines))
    with pytest.raises(ValueError, match=r"fer2013.csv, row 2 \(line 3\): unknown emotion id '7'"): read_fer2013_csv(p)
    r = make_fixture('rafdb', tmp_path / 'raf', n_per_class=1)
    lf = r / 'EmoLabel' / 'list_patition_label.txt'
    ls = lf.read_text().splitlines(); ls[3] = ls[3].split()[0] + ' 0'; lf.write_text('\n'.join(ls))
    with pytest.raises(ValueError, match=r"list_patition_label.txt, line 4: unknown label '0' for train_00004.jpg"):
        read_rafdb(r)
    a = make_fixture('affectnet_csv', tmp_path / 'aff', n_per_class=1)
    df = pd.read_csv(a); df.loc[3, 'expression'] = 12; df.to_csv(a, index=False)
    with pytest.raises(ValueError, match=r"training.csv, row 4 \(line 5\): unknown expression id '12'"):
        read_affectnet_csv(a)


def test_corrupt_and_truncated_images_skipped(tmp_path):
    for c in ('happy', 'sad'):
        for i in range(3): _noise(tmp_path / c / f'{i}.png', seed=i)
    (tmp_path / 'happy' / 'corrupt.jpg').write_bytes(b'\xff\xd8 not really a jpeg')
    full = (tmp_path / 'sad' / '0.png').read_bytes()
    (tmp_path / 'sad' / 'trunc.png').write_bytes(full[:len(full) // 2])
    (tmp_path / 'sad' / 'empty.png').write_bytes(b'')
    with pytest.warns(UserWarning, match=r'skipped 3 item\(s\)'):
        ds = read_image_folder(tmp_path)
    assert len(ds) == 6 and sorted(Path(f).name for f, _ in ds.skipped) == ['corrupt.jpg', 'empty.png', 'trunc.png']
    assert ds.counts()['happy'] == 3 and ds.counts()['sad'] == 3  # nothing relabelled
    for i in range(len(ds)): ds[i]  # every remaining item loads


def test_channel_conversions(tmp_path):
    Image.new('L', (4, 4), 51).save(tmp_path / 'g.png')
    x = load_image(tmp_path / 'g.png', 3)
    assert x.shape == (3, 4, 4) and torch.allclose(x, torch.full_like(x, 0.2))
    Image.new('RGB', (4, 4), (255, 0, 0)).save(tmp_path / 'r.png')
    assert torch.allclose(load_image(tmp_path / 'r.png', 1), torch.full((1, 4, 4), 0.299))
    Image.new('RGBA', (4, 4), (100, 200, 50, 51)).save(tmp_path / 'a.png')  # alpha 0.2
    assert torch.allclose(load_image(tmp_path / 'a.png', 3)[:, 0, 0], torch.tensor([100, 200, 50]) / 255 * 0.2, atol=1e-6)
    assert torch.allclose(load_image(tmp_path / 'a.png', 3, alpha_bg=1.)[:, 0, 0],
                          torch.tensor([100, 200, 50]) / 255 * 0.2 + 0.8, atol=1e-6)
    Image.fromarray(np.array([[0, 65535], [16384, 49152]], dtype=np.uint16)).save(tmp_path / 'w.png')
    x = load_image(tmp_path / 'w.png', 3)
    assert torch.allclose(x[0], torch.tensor([[0, 1], [16384 / 65535, 49152 / 65535]]), atol=1e-6) and torch.equal(x[0], x[2])
    Image.new('CMYK', (4, 4), (0, 0, 255, 0)).save(tmp_path / 'c.jpg', quality=100)  # yellow
    assert torch.allclose(load_image(tmp_path / 'c.jpg', 3)[:, 1, 1], torch.tensor([1., 1., 0.]), atol=0.03)
    Image.new('CMYK', (4, 4), (0, 0, 0, 0)).save(tmp_path / 'c.tif')  # white
    assert torch.allclose(load_image(tmp_path / 'c.tif', 1), torch.ones(1, 4, 4))
    # a mixed-mode folder loads every file to the same shape
    (tmp_path / 'mix' / 'happy').mkdir(parents=True)
    for m, v in (('L', 10), ('RGB', (1, 2, 3)), ('RGBA', (1, 2, 3, 255)), ('I;16', 300), ('P', 1)):
        im = Image.new(m, (6, 5), v) if m != 'I;16' else Image.fromarray(np.full((5, 6), 300, np.uint16))
        im.save(tmp_path / 'mix' / 'happy' / f'{m.replace(";", "")}.png')
    ds = read_image_folder(tmp_path / 'mix', size=8)
    assert len(ds) == 5 and all(ds[i][0].shape == (3, 8, 8) for i in range(5))


def test_empty_class_folder_warns(tmp_path):
    _noise(tmp_path / 'happy' / 'a.png')
    (tmp_path / 'disgust').mkdir()
    with pytest.warns(UserWarning, match=r'empty class folder .*disgust'), \
         pytest.warns(UserWarning, match=r"skipped 1 item\(s\): \{'empty class folder': 1\}"):
        ds = read_image_folder(tmp_path)
    assert len(ds) == 1 and ds.classes == canonical_classes(7)


def test_non_expression_folder_errors(tmp_path):
    _noise(tmp_path / 'happy' / 'a.png'); _noise(tmp_path / 'cats' / 'b.png')
    with pytest.raises(ValueError, match=r"class folder 'cats' is not an expression"):
        load_fer_dataset(tmp_path)


def test_unknown_csv_and_split(tmp_path):
    (tmp_path / 'x.csv').write_text('a,b\n1,2\n')
    with pytest.raises(ValueError, match=r"columns are \['a', 'b'\]"): load_fer_dataset(tmp_path / 'x.csv')
    p = make_fixture('fer2013_folders', tmp_path / 'f', n_per_class=1)
    with pytest.raises(ValueError, match="no 'test' split"): load_fer_dataset(p, split='test')


# ---------------------------------------------------------------- loaders
def test_dataloaders_from_path(tmp_path):
    p = make_fixture('fer2013', tmp_path, n_per_class=4)
    dls = fer_dataloaders(p, size=32, bs=8, augment='dan_rafdb')
    xb, yb = dls.one_batch()
    assert xb.shape == (8, 3, 32, 32) and yb.dtype == torch.int64 and len(dls.valid.dataset) == 28
    d1 = fer_dataloaders(p, size=32, bs=8, grey_to_rgb=False, normalize=False)
    x1, _ = next(iter(d1.valid))
    assert x1.shape == (8, 1, 32, 32) and 0 <= x1.min() and x1.max() <= 1
    for preset in ('dan_affectnet', 'daf_mhsca', 'none'):
        assert fer_dataloaders(p, size=16, bs=4, augment=preset).one_batch()[0].shape == (4, 3, 16, 16)
    with pytest.raises(ValueError, match='unknown augmentation preset'): fer_dataloaders(p, augment='bogus')


def test_balanced_sampling(tmp_path):
    for c, n in (('happy', 95), ('fear', 5)):
        for i in range(n): _noise(tmp_path / c / f'{i}.png', size=4, seed=i)
    ds = read_image_folder(tmp_path)
    fear = canonical_label('fear')
    share = lambda dl: torch.cat([y for _, (x, y) in zip(range(40), dl)]).eq(fear).float().mean().item()
    bal = fer_dataloaders((ds, ds), size=4, bs=50, balanced=True)
    plain = fer_dataloaders((ds, ds), size=4, bs=50)
    s_bal = np.mean([share(bal.train) for _ in range(4)]); s_plain = np.mean([share(plain.train) for _ in range(4)])
    assert abs(s_bal - 0.5) < 0.06, s_bal
    assert abs(s_plain - 0.05) < 0.02, s_plain
    assert len(bal.train) == 2  # an epoch is len(data set) draws


def test_tta(tmp_path):
    p = make_fixture('sfew', tmp_path, n_per_class=1)
    dls = fer_dataloaders(p, size=16, bs=3, tta=True)
    xt, yt = next(iter(dls.tta))
    assert xt.shape == (3, 10, 3, 16, 16)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 7))
    probs, ys = tta_predict(model, dls.tta)
    assert probs.shape == (7, 7) and torch.allclose(probs.sum(1), torch.ones(7), atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(probs[0], model(xt[0]).softmax(-1).mean(0), atol=1e-6)


def test_synthfer_source():
    pytest.importorskip('fer_explore.data.synthetic')
    from fer_explore.data.synthetic import SynthFER
    dls = fer_dataloaders('easy', size=48, bs=16, n_train=64, n_valid=32, normalize=False)
    xb, yb = dls.one_batch()
    assert xb.shape == (16, 3, 48, 48) and yb.dtype == torch.int64 and dls.classes == canonical_classes(7)
    assert len(dls.valid.dataset) == 32
    ref = SynthFER('easy', 'valid', n=32, size=48, seed=0)
    xv, yv = next(iter(dls.valid))  # valid is not shuffled: item 0 is SynthFER's valid sample 0, unnormalised
    assert torch.allclose(xv[0].cpu(), ref[0].image) and int(yv[0]) == ref[0].label
    assert fer_dataloaders('easy', size=32, bs=8, n_train=16, n_valid=8).one_batch()[0].shape == (8, 3, 32, 32)
    bal = fer_dataloaders('easy', size=48, bs=8, n_train=16, n_valid=8, balanced=True)  # labels from SynthFER.targets
    assert bal.one_batch()[0].shape == (8, 3, 48, 48)


# ---------------------------------------------------------------- normalisation: the loaders use core.normalize
def test_loaders_normalise_with_core(tmp_path):
    p = make_fixture('fer2013', tmp_path, n_per_class=1)
    raw = fer_dataloaders(p, size=16, bs=7, normalize=False, device='cpu')
    dls = fer_dataloaders(p, size=16, bs=7, device='cpu')
    x0, _ = next(iter(raw.valid)); x1, _ = next(iter(dls.valid))  # valid is not shuffled: the same images
    assert raw.stats is None and dls.stats == IMAGENET_STATS
    assert torch.allclose(x1, normalize(x0), atol=1e-6) and torch.allclose(denormalize(x1, dls.stats), x0, atol=1e-5)
    g = fer_dataloaders(p, size=16, bs=7, grey_to_rgb=False, device='cpu')
    xg, _ = next(iter(g.valid))
    m, s = float(np.mean(IMAGENET_STATS[0])), float(np.mean(IMAGENET_STATS[1]))  # grey: the mean of the channels
    assert xg.shape == (7, 1, 16, 16) and torch.allclose(xg, (x0[:, :1] - m) / s, atol=1e-5)


# ---------------------------------------------------------------- import cost: reading data does not import fastai
def _fresh(code):
    "Run `code` in a fresh interpreter; return its stdout."
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip()


def test_import_fer_explore_data_is_light():
    out = _fresh("import sys, fer_explore.data as fd; "
                 "print(sorted(m for m in ('fastai', 'torch', 'torchvision', 'cv2', 'matplotlib', 'pandas') if m in sys.modules))")
    assert out == '[]', out
    out = _fresh("import sys, fer_explore.data as fd; fd.fer_dataloaders; fd.SynthFER; "
                 "print('fastai' in sys.modules, 'cv2' in sys.modules, fd.fer_dataloaders.__module__)")
    assert out == 'True False fer_explore.data.loaders', out   # OpenCV only when SynthFER draws a face
    out = _fresh("import sys, fer_explore.data as fd; fd.SynthFER('easy', n=1)[0]; print('cv2' in sys.modules)")
    assert out == 'True', out


def test_reading_a_csv_does_not_import_fastai(tmp_path):
    p = make_fixture('fer2013', tmp_path, n_per_class=1)
    out = _fresh(f"import sys; from fer_explore.data import load_fer_dataset; ds = load_fer_dataset({str(p)!r}); "
                 f"x, y = ds[0]; print(len(ds), tuple(x.shape), 'fastai' in sys.modules, 'cv2' in sys.modules)")
    assert out == '21 (3, 48, 48) False False', out
    out = _fresh(f"import sys; from fer_explore.data.readers import read_fer2013_csv; ds = read_fer2013_csv({str(p)!r}); "
                 f"print(len(ds), 'fastai' in sys.modules)")
    assert out == '21 False', out
