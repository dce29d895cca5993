"""The docs site: built offline from the notebooks, opened in headless Chromium.

Builds the site with tools/build_docs.py into a scratch folder, renders the home page and the
`core` page in Debian's Chromium (never a downloaded browser), checks that they render with their
figures and that every link between pages resolves, and keeps screenshots in tests/artifacts/.
This test never skips: a machine without Chromium fails it (tools/test.sh installs it).
"""
import base64, io, re, shutil, subprocess, sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse, unquote

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT/'tests'/'artifacts'
CHROME_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--hide-scrollbars']


def chromium() -> str:
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    assert exe, "Debian's chromium is not installed: `apt-get install chromium` (tools/test.sh does it)"
    return exe


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(); self.hrefs, self.imgs = [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'a' and a.get('href'): self.hrefs.append(a['href'])
        if tag == 'img' and a.get('src'): self.imgs.append(a['src'])


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('site')
    subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--out', str(out)], check=True)
    return out


def render(page: Path, tmp: Path, name: str):
    "The DOM Chromium builds for `page` (after scripts ran), and a screenshot of it."
    exe = chromium()
    common = CHROME_FLAGS + [f'--user-data-dir={tmp/"profile"}', '--virtual-time-budget=3000']
    dom = subprocess.run([exe, *common, '--dump-dom', page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS/f'{name}.png'
    shot.unlink(missing_ok=True)
    subprocess.run([exe, *common, '--window-size=1280,2400', f'--screenshot={shot}', page.as_uri()],
                   capture_output=True, timeout=120)
    return dom, shot


def figures(dom: str) -> list:
    "Decoded inline figures (notebook outputs are embedded as data: URIs)."
    p = _Links(); p.feed(dom)
    out = []
    for src in p.imgs:
        m = re.match(r'data:image/png;base64,(.*)', src, re.S)
        if m: out.append(Image.open(io.BytesIO(base64.b64decode(m.group(1)))))
    return out


def check_links(dom: str, page: Path, site: Path):
    "Every link to a page of the site resolves to a file that exists."
    p = _Links(); p.feed(dom)
    local = [h for h in p.hrefs if not urlparse(h).scheme or urlparse(h).scheme == 'file']
    assert local, 'no links between pages'
    for h in local:
        path = unquote(urlparse(h).path)
        if not path: continue  # same-page anchor
        target = (page.parent/path).resolve() if not path.startswith('/') else Path(path)
        assert target.exists(), f'{page.name}: broken link {h!r}'
        assert site.resolve() in target.parents or target == site.resolve(), f'{page.name}: link {h!r} leaves the site'
    return local


def check_screenshot(shot: Path):
    assert shot.exists(), f'Chromium wrote no screenshot {shot}'
    im = Image.open(shot).convert('L')
    lo, hi = im.getextrema()
    assert hi - lo > 100, 'the screenshot is blank'


def test_home_page_renders(site, tmp_path):
    page = site/'index.html'
    dom, shot = render(page, tmp_path, 'home')
    assert 'fer_explore' in dom and 'SynthFER' in dom
    figs = figures(dom)
    assert figs and max(f.width for f in figs) > 300, 'the home page has no figure'
    links = check_links(dom, page, site)
    assert any('core.html' in h for h in links), 'the home page does not link to the core page'
    check_screenshot(shot)


def test_core_page_renders(site, tmp_path):
    page = site/'core.html'
    dom, shot = render(page, tmp_path, 'core')
    assert 'One canonical class order' in dom and 'CANONICAL_CLASSES' in dom
    assert '<table' in dom, 'the label-order table did not render'
    assert 'fer2013' in dom and 'rafdb' in dom
    check_links(dom, page, site)
    check_screenshot(shot)


def test_api_reference_from_docstrings(site, tmp_path):
    page = site/'api'/'core.html'
    assert page.exists(), 'no API reference page for fer_explore.core'
    dom, _ = render(page, tmp_path, 'api_core')
    # the docstrings of the exported functions appear in the reference
    assert 'The canonical class names for a 7-class' in dom
    assert 'create_model' in dom and 'FEROutput' in dom
    check_links(dom, page, site)
