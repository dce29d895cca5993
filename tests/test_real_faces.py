"""Shipped real-face models without FER2013: a tiny SynthFER run shipped by `ship_checkpoint` into a temporary weights
folder stands in for the FER2013 models (the code reads whatever cards are present). Half precision keeps the
predictions; the files load with `weights_only=True`; the cards say what they must; the default is chosen as
documented; `fer-explore predict` without a checkpoint classifies the face of a real photo (scikit-image's astronaut)
and gives one-line errors; a built wheel carries the weights."""
import contextlib, io, json, subprocess, sys, zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fer_explore.train.checkpoint import load_checkpoint, model_from_checkpoint
from fer_explore.core import normalize
from fer_explore.explore.interpret import synthfer_faces
from fer_explore.studies.zoo import (ship_checkpoint, real_face_models, real_face_model, real_face_cards, default_real_face,
                             real_face_checkpoint, REAL_FACE_DEFAULT)
from fer_explore.app.cli import main
from fer_explore.studies.predict import face_inputs, MIN_FACE_PX

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A `train` run as the FER2013 ones are made (best.pt, last.pt, recipe.json, valid_metrics.json), on SynthFER, in seconds."
    from fer_explore.train.learner import train
    out = tmp_path_factory.mktemp('run')
    n = torch.get_num_threads(); torch.set_num_threads(1)
    try: train('resnet18', data='default', out=out, epochs=2, n_train=480, n_valid=140, quiet=True)
    finally: torch.set_num_threads(n)
    return out


@pytest.fixture(scope='module')
def weights(run, tmp_path_factory):
    w = tmp_path_factory.mktemp('weights')
    ship_checkpoint(run / 'best.pt', w, 'tiny_resnet18', card=dict(command='fer-explore train --model resnet18 --out RUN'))
    ship_checkpoint(run / 'best.pt', w, 'tiny_grey', grey=True, data='default', split='test')
    return w


@pytest.fixture(scope='module')
def photo(tmp_path_factory):
    skimage_data = pytest.importorskip('skimage.data')
    d = tmp_path_factory.mktemp('photos')
    a = skimage_data.astronaut()                        # NASA's photo of Eileen Collins (public domain), in the wheel
    Image.fromarray(a).save(d / 'astronaut.png')
    Image.fromarray(a).resize((160, 160)).save(d / 'small.png')   # her face shrinks to about 31 px
    Image.fromarray((np.random.default_rng(0).random((200, 300, 3)) * 255).astype('uint8')).save(d / 'noise.png')
    (d / 'notes.jpg').write_text('not a picture')
    return d


def test_shipped_file_is_half_precision_and_loads_weights_only(run, weights):
    path = weights / 'tiny_resnet18.pt'
    ck = torch.load(path, map_location='cpu', weights_only=True)     # no pickled objects
    assert ck['optimizer'] is None and ck['grey'] is False and ck['weights_dtype'] == 'float16'
    floats = [v for v in ck['model'].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    src = torch.load(run / 'best.pt', map_location='cpu', weights_only=True)
    buf = io.BytesIO(); torch.save(src['model'], buf)                # the float32 weights alone
    assert path.stat().st_size < 0.6 * buf.tell() < 0.6 * (run / 'best.pt').stat().st_size
    model = real_face_model('tiny_resnet18', weights)
    assert all(p.dtype == torch.float32 for p in model.parameters()) and not model.training
    assert model.classes == src['classes'] and model.input_px == 48 and model.grey is False


def test_half_precision_keeps_predictions(run, weights):
    full, half = model_from_checkpoint(run / 'best.pt'), real_face_model('tiny_resnet18', weights)
    x = normalize(synthfer_faces(256).images)
    with torch.no_grad(): a, b = full(x).logits, half(x).logits
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() >= 0.99
    assert torch.allclose(a, b, atol=1e-2 * float(a.max() - a.min()))
    assert not torch.equal(a, b)                                     # the weights were rounded: the check can see it
    h = json.loads((weights / 'tiny_resnet18.json').read_text())['half_precision']
    assert h['argmax_agreement'] >= 0.99 and h['max_abs_logit_change'] < 1e-2 * h['logit_range']


def test_model_card_says_accuracy_recall_command_and_terms(run, weights):
    c = json.loads((weights / 'tiny_resnet18.json').read_text())
    vm = json.loads((run / 'valid_metrics.json').read_text())
    assert c['format'] == 'fer_explore.model_card' and c['model'] == 'resnet18' and c['file'] == 'tiny_resnet18.pt'
    assert c['command'] == 'fer-explore train --model resnet18 --out RUN'          # the card= entry wins
    assert c['valid']['accuracy'] == pytest.approx(vm['accuracy'])                  # best.pt is last.pt here
    assert set(c['valid']['per_class_recall']) == set(c['classes']) and len(c['classes']) == 7
    assert c['input'] == {**c['input'], 'size': 48, 'grey': False} and c['licence']
    md = (weights / 'tiny_resnet18.md').read_text()
    assert f"{100 * c['valid']['accuracy']:.1f} %" in md and c['command'] in md and c['sha256'] in md
    # with data: evaluated (float16 and float32) on that split, recall per class from that pass
    g = json.loads((weights / 'tiny_grey.json').read_text())
    assert g['valid']['split'] == 'test' and g['valid']['n'] == g['half_precision']['n'] > 0
    assert g['half_precision']['accuracy_float16'] == pytest.approx(g['valid']['accuracy'])
    assert abs(g['half_precision']['accuracy_change_points']) <= 1.0
    assert g['command'].startswith('fer-explore train --model resnet18 --data $FER2013_DIR')   # reconstructed


def test_fer2013_terms_in_a_fer2013_card(run, tmp_path):
    ck = load_checkpoint(run / 'best.pt'); ck['data'] = 'somewhere/fer2013'
    torch.save(ck, tmp_path / 'best.pt')
    p = ship_checkpoint(tmp_path / 'best.pt', tmp_path / 'w')                      # default name from the data
    c = json.loads(p.with_suffix('.json').read_text())
    assert p.name == 'fer2013_resnet18.pt' and c['data']['name'] == 'FER2013' and c['input']['grey'] is True
    assert 'Google image search' in c['licence'] and 'research' in c['licence']


def test_discovery_and_default(weights, tmp_path):
    import shutil
    tab = real_face_models(weights)
    assert list(tab.index) == ['tiny_grey', 'tiny_resnet18'] and tab['default'].sum() == 1
    assert default_real_face(weights) == 'tiny_grey'                                 # none marked, no fer2013_resnet18: first by name
    w = tmp_path / 'w'; shutil.copytree(weights, w)
    c = json.loads((w / 'tiny_resnet18.json').read_text()); c['default'] = True
    (w / 'tiny_resnet18.json').write_text(json.dumps(c))
    assert default_real_face(w) == 'tiny_resnet18' and list(real_face_models(w).index)[0] == 'tiny_resnet18'
    c['default'] = False; (w / 'tiny_resnet18.json').write_text(json.dumps(c))
    for ext in ('pt', 'json', 'md'): shutil.copy(w / f'tiny_resnet18.{ext}', w / f'{REAL_FACE_DEFAULT}.{ext}')
    assert default_real_face(w) == REAL_FACE_DEFAULT and real_face_checkpoint(None, w).name == f'{REAL_FACE_DEFAULT}.pt'
    (w / 'notes.json').write_text('{"something": "else"}')                            # not a card: ignored
    (w / 'orphan.json').write_text((w / 'tiny_grey.json').read_text())                # a card without weights: skipped, said
    with pytest.warns(UserWarning, match='orphan.pt are missing'): names = list(real_face_cards(w))
    assert 'orphan' not in names and 'notes' not in names
    (w / 'orphan.json').unlink()
    with pytest.raises(KeyError, match='no shipped real-face model .nope.'): real_face_model('nope', w)
    with pytest.raises(FileNotFoundError, match='no shipped real-face model') as e: real_face_model(None, tmp_path / 'empty')
    assert '\n' not in str(e.value)


def cli(*argv):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try: rc = main([str(a) for a in argv])
        except SystemExit as e: rc = e.code
    return rc, out.getvalue(), err.getvalue()


def test_predict_without_checkpoint_uses_the_shipped_model(weights, photo, monkeypatch):
    monkeypatch.setenv('FER_EXPLORE_WEIGHTS', str(weights))
    rc, out, err = cli('predict', photo / 'astronaut.png')
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith('model: tiny_grey (shipped: resnet18') and len(lines) == 3
    row = lines[2].split()
    assert row[:2] == ['astronaut.png', '0'] and row[2] in json.loads((weights / 'tiny_grey.json').read_text())['classes']
    assert abs(sum(map(float, row[3:])) - 1) < 0.01
    rc, out, err = cli('predict', 'tiny_resnet18', photo / 'astronaut.png', '--out', photo / 'pred')   # a shipped name
    assert rc == 0 and out.startswith('model: tiny_resnet18') and (photo / 'pred' / 'astronaut_pred.png').exists()


def test_predict_errors_are_one_line(weights, photo, monkeypatch, tmp_path):
    monkeypatch.setenv('FER_EXPLORE_WEIGHTS', str(weights))
    cases = {(photo / 'noise.png',): 'no face found', (photo / 'small.png',): 'face too small',
             (photo / 'notes.jpg',): 'not an image file', (photo / 'missing.jpg',): 'no such file',
             ('tiny_resnett18', photo / 'astronaut.png'): 'neither a checkpoint file nor a shipped real-face model',
             (photo / 'astronaut.png', '--min-face', '200'): 'is 200 px wide'}
    for argv, says in cases.items():
        rc, out, err = cli('predict', *argv)
        assert rc == 2 and says in err and len(err.strip().splitlines()) == 1 and 'Traceback' not in err, (argv, err)
    rc, out, err = cli('predict', photo / 'small.png')
    assert f'is {MIN_FACE_PX} px wide' in err and '31x31 px' in err                  # it states the minimum and the face
    monkeypatch.setenv('FER_EXPLORE_WEIGHTS', str(tmp_path / 'none'))                  # an install without weights
    rc, out, err = cli('predict', photo / 'astronaut.png')
    assert rc == 2 and 'no shipped real-face model' in err and len(err.strip().splitlines()) == 1


def test_grey_models_get_grey_crops(photo):
    from fer_explore.studies.predict import read_photo
    a = read_photo(photo / 'astronaut.png')
    boxes, x, small = face_inputs(a, 48, grey=True)
    assert len(boxes) == 1 and not small and x.shape == (1, 3, 48, 48)
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
    _, xc, _ = face_inputs(a, 48, grey=False)
    assert not torch.equal(xc[:, 0], xc[:, 2])                                         # a colour photo stays colour otherwise


def test_wheel_carries_the_weights(weights, tmp_path):
    "setup.py's package data (settings.ini `package_data`): a wheel built with model files in fer_explore/weights holds them."
    import shutil
    src = tmp_path / 'src'; src.mkdir()
    for f in ('setup.py', 'settings.ini', 'pyproject.toml', 'README.md'): shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / 'fer_explore', src / 'fer_explore', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.rmtree(src / 'fer_explore' / 'weights', ignore_errors=True)
    shutil.copytree(weights, src / 'fer_explore' / 'weights')
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w', str(tmp_path / 'dist'), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    names = zipfile.ZipFile(next((tmp_path / 'dist').glob('*.whl'))).namelist()
    for n in ('tiny_resnet18', 'tiny_grey'):
        assert {f'fer_explore/weights/{n}.{e}' for e in ('pt', 'json', 'md')} <= set(names)


def test_readme_real_face_snippet_runs(tmp_path, monkeypatch):
    "README's Python example on the astronaut photo runs as written, with a stand-in for the shipped DAN."
    pytest.importorskip('skimage')
    import re
    from fer_explore.train.checkpoint import save_checkpoint
    from fer_explore.core import canonical_classes
    from fer_explore.models import create_model
    torch.manual_seed(0)
    ck = save_checkpoint(tmp_path / 'dan.pt', create_model('dan', preset='small', input_size=48), canonical_classes(7),
                         recipe={'size': 48, 'data': 'FER2013'}, epoch=1)
    ship_checkpoint(ck, tmp_path / 'w', 'fer2013_dan')
    monkeypatch.setenv('FER_EXPLORE_WEIGHTS', str(tmp_path / 'w'))
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / 'README.md').read_text(), re.S)
    code = next(b for b in blocks if 'real_face_model' in b)
    ns = {}
    exec(compile(code, 'README.md', 'exec'), ns)
    assert ns['faces'].shape == (1, 3, 48, 48) and torch.equal(ns['faces'][0, 0], ns['faces'][0, 2])   # grey
    assert set(ns['probs']) == set(canonical_classes(7)) and abs(sum(ns['probs'].values()) - 1) < 1e-5
    assert set(ns['heads']) == {'head0', 'head1', 'head2', 'head3'} and ns['cam'].shape == ns['heads']['head0'].shape


def test_explore_takes_a_shipped_model_name(weights, monkeypatch):
    "`fer-explore explore --model NAME` / `explore NAME`: a shipped real-face model's name is read as its file; a registry name stays."
    import argparse
    from fer_explore.app.cli import _explore_args, UsageError
    monkeypatch.setenv('FER_EXPLORE_WEIGHTS', str(weights))
    a = _explore_args(argparse.Namespace(checkpoint=None, model='tiny_resnet18'))
    assert a.checkpoint == str(weights / 'tiny_resnet18.pt')
    a = _explore_args(argparse.Namespace(checkpoint='tiny_grey', model='dan'))
    assert a.checkpoint == str(weights / 'tiny_grey.pt')
    assert _explore_args(argparse.Namespace(checkpoint=None, model='dan')).checkpoint is None
    with pytest.raises(UsageError, match='neither a checkpoint file nor a shipped real-face model'):
        _explore_args(argparse.Namespace(checkpoint=None, model='fer2013_dam'))
