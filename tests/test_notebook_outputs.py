"""Saved notebook outputs are what the documentation shows: no machine paths, no Python warnings, no
tracebacks, no broken, blank or heavy figures, in every notebook of nbs/ (index.ipynb included).

The checks are plain functions on a notebook's JSON; each is proven to fail on a small bad notebook
below, so a check that stops catching what it should fails this file too. The last test runs
`tools/run_notebooks.py` on a scratch notebook to prove that it filters what `tools/demo.sh` filters.
"""
import base64, io, json, os, re, subprocess, sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb')
             if not any(part.startswith(('.', '_')) for part in p.relative_to(ROOT/'nbs').parts))

MAX_PNG_BYTES = 300 * 1024
# A machine path: an absolute path under a machine's own folders (not inside a URL or a longer path), or an
# installed package's location.
MACHINE_PATH = re.compile(r"(?<![\w./~-])(?:/work/|/root/|/tmp/|/home/[^/\s'\"]+/|/Users/[^/\s'\"]+/|/usr/lib/python)"
                          r"|site-packages")
# Python prints a warning as `file:line: SomeWarning: message` (or `SomeWarning: message`).
PY_WARNING = re.compile(r"\b\w*Warning: ")
TRACEBACK = 'Traceback (most recent call last)'
TEXT_MIMES = ('text/plain', 'text/html', 'text/markdown')
IMAGE_MIMES = ('image/png', 'image/jpeg', 'image/gif')


def _text(x) -> str: return ''.join(x) if isinstance(x, list) else (x or '')

def _snippet(text: str, m: re.Match, width: int = 60) -> str:
    return text[max(0, m.start() - width):m.end() + width].replace('\n', ' ').strip()


def output_texts(out: dict) -> list[tuple[str, str]]:
    "The text parts of one saved output as (kind, text): streams, error tracebacks and the text/* data (never image data)."
    kind = out.get('output_type')
    if kind == 'stream': return [(f"{out.get('name', 'stream')} stream", _text(out.get('text')))]
    if kind == 'error':
        return [('error output', '\n'.join([f"{out.get('ename', '')}: {out.get('evalue', '')}", *out.get('traceback', [])]))]
    return [(mime, _text(v)) for mime, v in out.get('data', {}).items() if mime in TEXT_MIMES]


TOKEN = re.compile(r"[^\s'\"`()\[\]{}<>,;=]+")

def find_machine_paths(text: str) -> list[str]:
    "Each distinct path-like token of `text` that holds a machine path (in order of appearance)."
    found = [t.group() for t in TOKEN.finditer(text) if MACHINE_PATH.search(t.group())]
    return list(dict.fromkeys(found))


def find_warnings(text: str) -> list[str]:
    "Snippets of `text` around each Python warning (`UserWarning: ...`, `path:1: FutureWarning: ...`)."
    return [_snippet(text, m) for m in PY_WARNING.finditer(text)]


def check_text_output(out: dict) -> list[str]:
    "Problems of one saved output's text: machine paths, Python warnings, tracebacks, error outputs, stderr streams."
    probs = []
    if out.get('output_type') == 'error': probs.append(f"error output ({out.get('ename')}: {out.get('evalue')})"[:200])
    if out.get('output_type') == 'stream' and out.get('name') == 'stderr':
        probs.append(f"stderr stream: {_text(out.get('text'))[:160]!r}")
    for kind, text in output_texts(out):
        probs += [f"machine path in {kind}: {s!r}" for s in find_machine_paths(text)]
        probs += [f"Python warning in {kind}: {s!r}" for s in find_warnings(text)]
        if TRACEBACK in text: probs.append(f"traceback in {kind}: {text[text.index(TRACEBACK):][:160]!r}")
    return probs


def check_image(mime: str, data) -> list[str]:
    "Problems of one saved image: does not decode, is blank (a single colour), or is a PNG over MAX_PNG_BYTES."
    try:
        raw = base64.b64decode(_text(data))
        im = Image.open(io.BytesIO(raw)); im.load()
    except Exception as e: return [f"{mime} does not decode ({type(e).__name__}: {e})"[:200]]
    probs = []
    if all(lo == hi for lo, hi in im.convert('RGBA').getextrema()): probs.append(f"{mime} is blank (a single colour, {im.size[0]}x{im.size[1]})")
    if mime == 'image/png' and len(raw) > MAX_PNG_BYTES: probs.append(f"{mime} is {len(raw) / 1024:.0f} KB (> {MAX_PNG_BYTES // 1024} KB)")
    return probs


def check_source(src: str) -> list[str]:
    "Problems of one cell's source: machine paths."
    return [f"machine path in the cell source: {s!r}" for s in find_machine_paths(src)]


def check_notebook(nb: dict) -> list[tuple[int, str]]:
    "Every problem of a notebook (its JSON) as (cell index, reason)."
    probs = []
    for i, cell in enumerate(nb.get('cells', [])):
        probs += [(i, p) for p in check_source(_text(cell.get('source')))]
        for out in cell.get('outputs', []):
            probs += [(i, p) for p in check_text_output(out)]
            for mime, data in out.get('data', {}).items():
                if mime in IMAGE_MIMES: probs += [(i, p) for p in check_image(mime, data)]
    return probs


def report(name: str, probs) -> str: return '\n'.join(f"{name} cell {i}: {p}" for i, p in probs)


# ---- every notebook of the project

def test_every_notebook_is_checked():
    names = {p.name for p in NBS}
    assert 'index.ipynb' in names and len(NBS) >= 10 and any(n.startswith('00_') for n in names)


@pytest.mark.parametrize('fn', NBS, ids=[p.name for p in NBS])
def test_saved_outputs_are_clean(fn):
    probs = check_notebook(json.loads(fn.read_text()))
    assert not probs, '\n' + report(str(fn.relative_to(ROOT)), probs)


# ---- the checks, on small synthetic notebooks

def _png(img: Image.Image) -> str:
    buf = io.BytesIO(); img.save(buf, format='PNG')
    return base64.b64encode(buf.getvalue()).decode() + '\n'

def _face_png(size=32) -> str:  # a small picture that is not blank
    im = Image.new('RGB', (size, size), 'white')
    im.putpixel((3, 5), (200, 10, 10))
    return _png(im)

def _nb(*cells) -> dict: return {'cells': list(cells), 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
def _code(src='x = 1', *outs) -> dict: return {'cell_type': 'code', 'source': src, 'outputs': list(outs), 'metadata': {}}
def _md(src) -> dict: return {'cell_type': 'markdown', 'source': src, 'metadata': {}}
def _stream(text, name='stdout') -> dict: return {'output_type': 'stream', 'name': name, 'text': [text]}
def _data(mime, value) -> dict: return {'output_type': 'display_data', 'data': {mime: value}, 'metadata': {}}

GOOD = _nb(_md('# t\n> s'), _code('print(1)', _stream('1\n')),
           _code('x', _data('text/plain', ['tensor([1, 2])'])),
           _code('show_doc(f)', _data('text/markdown', ['f(x): one value per class'])),
           _code('plt.plot()', _data('image/png', _face_png())),
           _md('See [the docs](https://example.org/work/tmp/home/me/x) and `nbs/00_core.ipynb`.'),
           _code("url = 'https://github.com/x/y/blob/main/site/work/a.py'  # a URL is not a machine path"))


def test_clean_notebook_passes():
    assert check_notebook(GOOD) == []


@pytest.mark.parametrize('path', ['/work/main/nbs/x.ipynb', '/root/.cache/torch/hub', '/tmp/tmpab12/w.pth',
                                  '/home/alice/data/fer2013.csv', '/usr/lib/python3/dist-packages/a.py',
                                  'venv/lib/python3.11/site-packages/torch/jit/_script.py'])
@pytest.mark.parametrize('where', ['stream', 'stderr', 'text/plain', 'text/html', 'text/markdown', 'error', 'source'])
def test_machine_path_fails(path, where):
    text = f"weights from {path} do not fit"
    if where == 'source': nb = _nb(_code(f"load({path!r})"))
    elif where == 'stream': nb = _nb(_code('f()', _stream(text)))
    elif where == 'stderr': nb = _nb(_code('f()', _stream(text, 'stderr')))
    elif where == 'error': nb = _nb(_code('f()', {'output_type': 'error', 'ename': 'OSError', 'evalue': text, 'traceback': []}))
    else: nb = _nb(_code('f()', _data(where, [text])))
    probs = check_notebook(nb)
    frag = MACHINE_PATH.search(path).group()
    assert any(p.startswith('machine path') and frag in p for _, p in probs), probs
    assert all(i == 0 for i, _ in probs)
    assert 'cell 0: machine path' in report('nbs/x.ipynb', probs)


def test_machine_path_in_markdown_source_fails():
    probs = check_notebook(_nb(_md('# t'), _md('The weights are in /root/.cache/fer_explore/dan.pth.')))
    assert probs and probs[0][0] == 1 and '/root/.cache' in probs[0][1]


@pytest.mark.parametrize('text', [
    "/x/torch/jit/_script.py:1491: FutureWarning: `torch.jit.script` is deprecated.\n  warnings.warn(\n",
    "<ipython-input-3>:2: UserWarning: No contour levels were found within the data range.\n",
    "DeprecationWarning: this is old\n", "a.py:1: RuntimeWarning: invalid value encountered in divide\n"])
def test_python_warning_fails(text):
    for out in (_stream(text), _data('text/plain', [text])):
        probs = check_notebook(_nb(_md('# t'), _code('f()', out)))
        assert any('Python warning' in p for _, p in probs) and {i for i, _ in probs} == {1}, probs


def test_stderr_stream_fails_even_without_warning_text():
    probs = check_notebook(_nb(_code('f()', _stream('some log line\n', 'stderr'))))
    assert probs == [(0, "stderr stream: 'some log line\\n'")]


def test_traceback_fails():
    tb = 'Traceback (most recent call last):\n  File "<stdin>", line 1\nValueError: bad\n'
    assert any('traceback' in p for _, p in check_notebook(_nb(_code('f()', _stream(tb)))))
    err = {'output_type': 'error', 'ename': 'ValueError', 'evalue': 'bad', 'traceback': ['ValueError: bad']}
    assert any(p.startswith('error output (ValueError: bad)') for _, p in check_notebook(_nb(_code('f()', err))))


def test_image_data_is_not_searched_for_paths():
    # base64 uses '/', so image data can spell '/tmp/' by chance: only text outputs are searched
    out = _data('image/png', 'iVBORw0KGgo/tmp/work/site-packages/AAAA')
    assert check_text_output(out) == [] and output_texts(out) == []
    assert check_text_output({**out, 'data': {**out['data'], 'text/plain': ['/tmp/x']}}) != []


def test_undecodable_image_fails():
    good = _face_png()
    for bad in (good[:len(good) // 2], base64.b64encode(b'not an image').decode()):
        probs = check_notebook(_nb(_code('plt.plot()', _data('image/png', bad))))
        assert len(probs) == 1 and 'does not decode' in probs[0][1], probs


def test_blank_image_fails():
    for colour in ('white', (12, 34, 56)):
        probs = check_notebook(_nb(_code('plt.plot()', _data('image/png', _png(Image.new('RGB', (40, 30), colour))))))
        assert probs == [(0, 'image/png is blank (a single colour, 40x30)')]


def test_heavy_png_fails():
    import numpy as np
    noise = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)  # incompressible: ~480 KB
    probs = check_notebook(_nb(_code('plt.plot()', _data('image/png', _png(Image.fromarray(noise))))))
    assert len(probs) == 1 and 'KB (> 300 KB)' in probs[0][1], probs
    small = np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)
    assert check_notebook(_nb(_code('plt.plot()', _data('image/png', _png(Image.fromarray(small)))))) == []


# ---- tools/run_notebooks.py filters what tools/demo.sh filters

def test_run_notebooks_filters_what_demo_filters(tmp_path):
    cells = [_code("import warnings\nwarnings.warn('an old API', FutureWarning)\nprint('after')"),
             _code("import os, subprocess, sys\n"
                   "r = subprocess.run([sys.executable, '-c', \"import warnings; warnings.warn('x', FutureWarning)\"],"
                   " capture_output=True, text=True)\n"
                   "print(repr(r.stderr), os.environ.get('NO_MKDOCS_2_WARNING'))"),
             _code("import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 1.5))\nax.plot([0, 1], [0, 1]);"),
             _code("warnings.warn('a real problem', UserWarning)")]
    nb = _nb(*[{**c, 'execution_count': None, 'id': f'c{i}'} for i, c in enumerate(cells)])
    nb['metadata'] = {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}}
    (tmp_path/'t.ipynb').write_text(json.dumps(nb))
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONWARNINGS', 'NO_MKDOCS_2_WARNING')}
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'run_notebooks.py'), '--out', str(tmp_path/'out'), str(tmp_path/'t.ipynb')],
                       cwd=ROOT, env={**env, 'OMP_NUM_THREADS': '1'}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    done = json.loads((tmp_path/'out'/'t.ipynb').read_text())
    outs = [c['outputs'] for c in done['cells']]
    assert outs[0] == [_stream('after\n')]                                  # the FutureWarning is filtered in the kernel
    assert _text(outs[1][0]['text']) == "'' 1\n"                            # ... and in its subprocesses; NO_MKDOCS_2_WARNING set
    png = next(o['data']['image/png'] for o in outs[2] if 'image/png' in o.get('data', {}))
    w, h = Image.open(io.BytesIO(base64.b64decode(png))).size
    assert w <= 2 * 100 * 1.1 and h <= 1.5 * 100 * 1.1                       # default dpi (100), not 'retina' (2x)
    probs = check_notebook(done)                                              # other warnings stay visible, and fail
    assert probs and {i for i, _ in probs} == {3} and any('UserWarning' in p for _, p in probs), probs
