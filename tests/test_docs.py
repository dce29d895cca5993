"""The docs site: built offline from the notebooks, and EVERY page opened in headless Chromium.

Builds the site with tools/build_docs.py into a scratch folder, then opens every page it holds
(the notebook pages and the API reference) from file:// in Debian's Chromium (never a
downloaded browser; driven over the DevTools protocol by the `playwright` client), at 1280 px,
and fails on:
- raw TeX in the rendered text (`$$`, `\\frac`, `$x$` ...), a formula KaTeX could not parse, or a
  page with fewer typeset formulas than its markdown holds (docstring math on the API pages too);
- a markdown table that did not render (`|---|` left in the text);
- a figure that does not decode or is blank;
- a link between pages, or an anchor, that does not resolve;
- a request to anything but the site's own files (every request is recorded), a failed request;
- a JavaScript error (console error or uncaught exception);
- saved outputs that show a machine path, a Python warning or a traceback;
- code cells or outputs clipped behind a horizontal scroll, or a content column under 900 px.
One screenshot per page (its top 1280x2000 px) goes to tests/artifacts/docs/ (git-ignored), with
report.json (timings and what each page holds). This test never skips: a machine without
Chromium or playwright fails it (tools/test.sh installs Chromium with apt; playwright is pinned
in requirements-dev.txt and uses that Chromium: `playwright install` is never run).
The checking functions are plain functions, tested first on bad inputs (they must fail there).
"""
import base64, io, json, os, re, shutil, sys, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse, unquote

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import build_docs as bd  # noqa: E402

ARTIFACTS = ROOT/'tests'/'artifacts'/'docs'
CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                  '--disable-sync', '--no-first-run', '--disable-quic']  # playwright adds --headless
VIEWPORT = {'width': 1280, 'height': 2000}  # the screenshot is this viewport (the top of each page)
MIN_COLUMN_PX = 900


# ---------------------------------------------------------------- checking functions (pure)
_fence = re.compile(r'^[ \t]*(`{3,}|~{3,}).*?^[ \t]*\1[ \t]*$', re.S | re.M)
_code_span = re.compile(r'(`+)(?!`)(.+?)(?<!`)\1(?!`)', re.S)
_display = re.compile(r'\$\$(.+?)\$\$', re.S)
_inline = re.compile(r'(?<![\\$])\$(?![\s$])([^$\n]*?[^\s\\$])\$(?![$\d])|(?<![\\$])\$([^\s$\\])\$(?![$\d])')


def count_math(md: str) -> int:
    "Formulas in markdown: `$$...$$` and `$...$` outside code (fenced blocks and code spans), `\\$` not counted."
    md = _code_span.sub(' ', _fence.sub(' ', md)).replace('\\$', ' ')
    n = len(_display.findall(md))
    return n + len(_inline.findall(_display.sub(' ', md)))


_tex = [(re.compile(r'\$\$'), 'display-math delimiter $$'),
        (re.compile(r'\\(?:[A-Za-z]{2,}|[,;!{}|])'), 'TeX command'),
        (re.compile(r'\\[\(\)\[\]]'), 'math delimiter \\( \\['),
        (_inline, 'inline math $...$')]
_md_table = re.compile(r'\|\s*:?-{3,}:?\s*\|')
_prompt = re.compile(r'\b(?:In|Out)\s*\[[\s\d]*\]:')


def unrendered(text: str) -> list:
    "Raw TeX or raw markdown-table syntax in a page's rendered prose (code, pre and typeset math removed first)."
    out = []
    for rx, what in _tex:
        for m in rx.finditer(text):
            out.append(f'raw TeX ({what}): ...{text[max(0, m.start()-40):m.end()+40]!r}...')
            break
    m = _md_table.search(text)
    if m: out.append(f'a markdown table did not render: ...{text[max(0, m.start()-60):m.end()+20]!r}...')
    m = _prompt.search(text)
    if m: out.append(f'a notebook prompt is shown: {m.group(0)!r}')
    return out


_machine_path = re.compile(r'(?:/work/|/root/|/home/[\w.-]+/|/tmp/|/var/folders/|/usr/(?:local/)?lib/python|'
                           r'site-packages|dist-packages|\.venv/|[A-Za-z]:\\(?:Users|Windows)\\)')
_warning = re.compile(r'\b[A-Z]\w*Warning: |warnings\.warn\(')
_traceback = re.compile(r'Traceback \(most recent call last\)|^\s*File "[^"]+", line \d+', re.M)


def output_problems(text: str) -> list:
    "A machine path, a Python warning or a traceback in the text of a cell's saved output."
    out = []
    for rx, what in [(_machine_path, 'a machine path'), (_warning, 'a Python warning'), (_traceback, 'a traceback')]:
        m = rx.search(text)
        if m: out.append(f'saved output shows {what}: ...{text[max(0, m.start()-60):m.end()+60]!r}...')
    return out


def figure_problem(data: bytes):
    "None if `data` decodes to a picture that is not blank, else what is wrong with it."
    try:
        im = Image.open(io.BytesIO(data)); im.load()
    except Exception as e:
        return f'does not decode ({type(e).__name__}: {e})'
    if im.width < 2 or im.height < 2: return f'is empty ({im.width}x{im.height})'
    rgba = im.convert('RGBA')
    flat = Image.new('RGBA', rgba.size, (255, 255, 255, 255)); flat.alpha_composite(rgba)
    lo, hi = flat.convert('L').getextrema()
    if hi - lo < 8: return f'is blank (one colour, grey levels {lo}..{hi})'
    return None


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__(); self.ids = set()
    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k == 'id' or (tag == 'a' and k == 'name'): self.ids.add(v)


def html_ids(text: str) -> set:
    p = _Ids(); p.feed(text); return p.ids


def link_problems(urls: list, page: Path, site: Path, ids_of) -> list:
    """Links (absolute URLs as the browser resolved them) that leave the site's files, point to a
    missing file, or to a missing anchor. `ids_of(path)` gives the ids of a page of the site."""
    out, site = [], Path(site).resolve()
    for u in urls:
        p = urlparse(u)
        if p.scheme in ('http', 'https', 'mailto', 'javascript'): continue  # external links are not requests
        if p.scheme != 'file':
            out.append(f'link with scheme {p.scheme!r}: {u}'); continue
        target = Path(unquote(p.path))
        if site not in target.parents and target != site:
            out.append(f'link leaves the site: {u}'); continue
        if target.is_dir(): target = target/'index.html'
        if not target.exists():
            out.append(f'broken link: {u}'); continue
        frag = unquote(p.fragment)
        if frag and target.suffix == '.html' and frag not in ids_of(target):
            out.append(f'missing anchor #{frag} in {target.relative_to(site)}')
    return out


def request_problems(urls: list, site: Path) -> list:
    "Requests to anything but the site's own files (data: and blob: URLs are in-page)."
    out, site = [], Path(site).resolve()
    for u in urls:
        p = urlparse(u)
        if p.scheme in ('data', 'blob', 'about'): continue
        if p.scheme == 'file':
            path = Path(unquote(p.path))
            if site in path.parents: continue
        out.append(f'request outside the local site: {u[:120]}')
    return out


# ---------------------------------------------------------------- unit tests: the checks fail on bad input
def test_count_math():
    md = ('Inline $x_1$ and $\\alpha$, display\n$$\nS = \\sum_i s_i\n$$\nprice \\$5, code `$not$`\n'
          '```python\ny = "$also not$"\n```\n$$a$$ and $b$.')
    assert count_math(md) == 5
    assert count_math('no math, one $ sign') == 0


def test_unrendered_catches_raw_tex_and_tables():
    assert unrendered('The loss $$L = \\frac{1}{N}$$ is') != []
    assert unrendered('weights \\mathrm{ReLU}(x)') != []
    assert unrendered('with $x_{F_1}$ as input') != []
    assert unrendered('with $x$ as input') != []
    assert unrendered('with \\(x\\) as input') != []
    assert unrendered('| knot | value |\n|---|---|\n| 1 | 2 |') != []
    assert unrendered('In [ ]:\nimport torch') != [] and unrendered('Out[3]: 7') != []
    assert unrendered('Costs 5 dollars; x = 3, a | b, ReLU(x) ≥ 0 and α ∈ ℝ') == []


def test_output_problems():
    assert output_problems('/root/.venv/lib/python3.11/site-packages/torch/nn/x.py:12: UserWarning: bad') != []
    assert output_problems('saved to /tmp/tmpab12/model.pth') != []
    assert output_problems('Traceback (most recent call last):\n  File "<x>", line 1') != []
    assert output_problems('FutureWarning: the default will change') != []
    assert output_problems("torch.Size([7, 7]) {'head0': (7, 4, 4)}\naccuracy 0.91") == []


def test_figure_problem():
    def png(im):
        b = io.BytesIO(); im.save(b, 'PNG'); return b.getvalue()
    assert figure_problem(b'\x89PNG\r\n\x1a\n not really') is not None
    assert figure_problem(png(Image.new('RGB', (50, 40), (255, 255, 255)))) is not None
    assert figure_problem(png(Image.new('RGBA', (50, 40), (0, 0, 0, 0)))) is not None
    im = Image.new('RGB', (50, 40), (255, 255, 255)); im.paste((20, 40, 200), (10, 10, 30, 30))
    assert figure_problem(png(im)) is None


def test_link_and_request_problems(tmp_path):
    site = tmp_path/'site'; (site/'api').mkdir(parents=True)
    (site/'core.html').write_text('<h2 id="seed">x</h2>'); (site/'api'/'core.html').write_text('<a name="top"></a>')
    ids = lambda p: html_ids(p.read_text())
    u = lambda rel: (site/rel).as_uri()
    ok = [u('core.html'), u('core.html') + '#seed', u('api/core.html') + '#top', 'https://github.com/x', u('api')]
    (site/'api'/'index.html').write_text('')
    assert link_problems(ok, site/'core.html', site, ids) == []
    bad = link_problems([u('gone.html'), u('core.html') + '#nope', (tmp_path/'x.html').as_uri()], site/'core.html', site, ids)
    assert len(bad) == 3 and 'broken' in bad[0] and 'anchor' in bad[1] and 'leaves' in bad[2]
    assert request_problems([u('core.html'), 'data:image/png;base64,AAA'], site) == []
    assert len(request_problems(['https://cdnjs.cloudflare.com/ajax/libs/mathjax/x.js', (tmp_path/'y.js').as_uri()], site)) == 2


def test_build_helpers_on_bad_pages():
    "The build's own checks: CDN loaders are removed, remote loads are found, long lines get hanging indents."
    page = ('<!-- Load mathjax --><script src="https://cdn.x/mathjax.js"></script><!-- End of mathjax configuration -->'
            '<pre><span class="k">def</span> f():\n    <span class="s">"a\nb"</span>\n</pre>')
    out = bd.postprocess_page(page, notebook=True)
    assert 'mathjax' not in out and bd.remote_loads(out) == []
    assert bd.remote_loads('<script src="https://unpkg.com/iframe-worker/shim"></script>') != []
    assert bd.remote_loads('<link rel="stylesheet" href="//fonts.example/x.css">') != []
    assert out.count('class="ln"') == 3 and '--i:8ch' in out  # 3 lines; the second is indented 4 (+4 hang)
    assert re.sub(r'<[^>]+>', '', out) == 'def f():\n    "a\nb"\n'  # the text (what a copy gives) is unchanged
    with pytest.raises(ValueError): bd.postprocess_page('<div class="jp-Mermaid"><pre class="mermaid">graph</pre></div>', True)


def test_site_pages_reading_order(tmp_path):
    "Home, tutorials, the results, then the other numbered notebooks by number in their parts; derived from the files, never a list."
    def nb(path, title, exp=None):
        cells = [{'cell_type': 'markdown', 'metadata': {}, 'source': f'# {title}\n> s'}]
        if exp: cells.insert(0, {'cell_type': 'code', 'metadata': {}, 'outputs': [], 'source': f'#| default_exp {exp}'})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({'cells': cells, 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}))
    for name, title, exp in [('index', 'pkg', None), ('00_core', 'core', 'core'), ('10_b', 'B: block', 'modules.b'),
                             ('02_readers', 'readers', 'data.readers'), ('21_dan', 'DAN: net', 'models.dan'),
                             ('29_models', 'Models', 'models.__init__'), ('30_learner', 'learner', 'learner'),
                             ('40_zoo', 'zoo', 'zoo'), ('50_studies.ablations', 'Ablations', 'studies.ablations'),
                             ('62_new', 'New part', 'new'), ('tutorial_first', 'First steps', None), ('_scratch', 'x', None)]:
        nb(tmp_path/f'{name}.ipynb', title, exp)
    nb(tmp_path/'tutorials'/'01_train.ipynb', 'Train one', None)
    pages = bd.site_pages(tmp_path)
    assert [(p['page'], p['section']) for p in pages] == [
        ('index.html', None), ('tutorial_first.html', 'Tutorials'), ('tutorials/train.html', 'Tutorials'),
        ('studies.ablations.html', 'Results'),                                        # the results right after the tutorials
        ('core.html', 'Core and data'), ('readers.html', 'Core and data'), ('b.html', 'Modules'),
        ('dan.html', 'Losses and models'), ('models.html', 'Losses and models'), ('learner.html', 'Training'),
        ('zoo.html', 'Exploration'), ('new.html', 'Notebooks 60-69')]
    assert bd.nav_title('DAN: Distract your Attention Network') == 'DAN'
    assert bd.nav_title('The `fer-explore` command') == 'The fer-explore command'
    nb(tmp_path/'12_readers.ipynb', 'clash', 'data.other')
    with pytest.raises(ValueError): bd.site_pages(tmp_path)


def test_notebook_links_become_page_links(tmp_path):
    a, b = tmp_path/'00_core.ipynb', tmp_path/'tutorials'/'01_go.ipynb'
    page_of = {a.resolve(): 'core.html', b.resolve(): 'tutorials/go.html'}
    assert bd.rewrite_links('see [core](00_core.ipynb#seed)', a, page_of) == 'see [core](core.html#seed)'
    assert bd.rewrite_links('see [core](../00_core.ipynb)', b, page_of) == 'see [core](../core.html)'
    assert bd.rewrite_links('see [x](missing.ipynb)', a, page_of) == 'see [x](missing.ipynb)'


def test_process_notebook_applies_nbdev_directives(tmp_path):
    out = {'output_type': 'display_data', 'metadata': {}, 'data': {'text/markdown': '### f\n[source](https://x/f.py){target="_blank"}'}}
    code = lambda src, outs=(): {'cell_type': 'code', 'metadata': {}, 'execution_count': None, 'outputs': list(outs), 'source': src}
    cells = [code('#| default_exp core'), code('#| hide\nsecret = 1'), code('#| export\ndef f(): pass'),
             code('show_doc(f)', [out]), code('#| echo: false\nprint(1)', [{'output_type': 'stream', 'name': 'stdout', 'text': '1\n'}]),
             code('#| output: false\nprint(2)', [{'output_type': 'stream', 'name': 'stdout', 'text': '2\n'}]),
             {'cell_type': 'markdown', 'metadata': {}, 'source': 'See [core](00_core.ipynb).'}]
    src, dst = tmp_path/'00_core.ipynb', tmp_path/'out.ipynb'
    src.write_text(json.dumps({'cells': cells, 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}))
    bd.process_notebook(src, dst, {src.resolve(): 'core.html'})
    got = json.loads(dst.read_text())['cells']
    assert [c['source'] for c in got] == ['def f(): pass', '', '', 'print(2)', 'See [core](core.html).']
    assert got[1]['outputs'][0]['data']['text/markdown'] == '### f\n[source](https://x/f.py)'  # Quarto attributes gone
    assert got[1]['metadata']['tags'] == ['hide-input'] and got[2]['metadata']['tags'] == ['hide-input']
    assert got[3]['outputs'] == []


# ---------------------------------------------------------------- the site, opened in Chromium
def _expected_pages():
    "Pages the site must have, known before building (for one test per page)."
    pages = bd.site_pages(ROOT/'nbs')
    api = [f"api/{m.removeprefix('fer_explore.').replace('.', '_')}.html" for m, _ in bd.api_modules(ROOT/'fer_explore', pages)]
    return pages, [p['page'] for p in pages] + api


NB_PAGES, ALL_PAGES = _expected_pages()
_timings, _warnings = {}, []


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    import logging
    out = tmp_path_factory.mktemp('site')
    warned = logging.Handler(logging.WARNING)
    warned.emit = lambda r: _warnings.append(f'{r.name}: {r.getMessage()}'[:300])
    logging.getLogger('mkdocs').addHandler(warned)
    t = time.time()
    try: bd.build(out)
    finally: logging.getLogger('mkdocs').removeHandler(warned)
    _timings['build_s'] = round(time.time() - t, 1)
    if ARTIFACTS.exists(): shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    yield out
    _timings['pages'] = len(_timings.get('per_page', {}))
    _timings['pages_s'] = round(sum(v['seconds'] for v in _timings.get('per_page', {}).values()), 1)  # in Chromium
    (ARTIFACTS/'report.json').write_text(json.dumps(_timings, indent=1))


def chromium() -> str:
    exe = shutil.which('chromium') or shutil.which('chromium-browser') or '/usr/bin/chromium'
    assert Path(exe).exists(), "Debian's chromium is not installed: `apt-get install chromium` (tools/test.sh does it)"
    return exe


class Tab:
    "One browser tab for all pages, recording what each page requests and every JavaScript error."
    def __init__(self, browser):
        self.ctx = browser.new_context(viewport=VIEWPORT)
        self.ctx.route(re.compile(r'^(https?|wss?|ftp)://'), lambda route: route.abort())  # nothing leaves the machine
        self.page = self.ctx.new_page()
        self.reset()
        self.page.on('request', lambda r: self.requests.append(r.url))
        self.page.on('requestfailed', lambda r: self.failed.append(f'{r.url[:120]} ({r.failure})'))
        self.page.on('console', lambda m: self.errors.append(m.text[:300]) if m.type == 'error' else None)
        self.page.on('pageerror', lambda e: self.errors.append(f'uncaught: {e}'[:300]))
    def reset(self):
        self.requests, self.failed, self.errors = [], [], []


@pytest.fixture(scope='module')
def tab():
    from playwright.sync_api import sync_playwright  # pinned in requirements-dev.txt; an ImportError fails the test
    pw = sync_playwright().start()
    t = time.time()
    b = pw.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_FLAGS)
    yield Tab(b)
    b.close(); pw.stop()
    _timings['browser_total_s'] = round(time.time() - t, 1)  # launch, every page and every check


_INSPECT = """() => {
  const main = document.querySelector('.md-content') || document.body;
  const strip = (el, sel) => { const c = el.cloneNode(true); c.querySelectorAll(sel).forEach(e => e.remove()); return c; };
  const prose = strip(document.body, 'pre, code, script, style, textarea, .katex, .clipboard-copy-txt, .md-search, svg').textContent;
  const top = [...main.querySelectorAll('.katex')].filter(e => !e.parentElement.closest('.katex'));
  const visible = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const clipped = [];
  for (const e of main.querySelectorAll('*')) {
    if (e.scrollWidth <= e.clientWidth + 1 || !visible(e) || e.closest('details:not([open])')) continue;
    const ox = getComputedStyle(e).overflowX;
    if ((ox === 'auto' || ox === 'scroll') && e.scrollWidth > e.clientWidth + 1)
      clipped.push(e.tagName.toLowerCase() + '.' + [...e.classList].join('.') + ': ' + e.textContent.trim().slice(0, 80));
  }
  const outputs = [...main.querySelectorAll('.jp-OutputArea-output')].map(e => e.innerText);
  return {
    math: document.documentElement.getAttribute('data-math'),
    katex: top.length,
    katex_errors: [...main.querySelectorAll('.katex-error')].map(e => (e.getAttribute('title') || '') + ' in ' + e.textContent.slice(0, 60)),
    arithmatex: main.querySelectorAll('.arithmatex').length,
    arithmatex_raw: [...main.querySelectorAll('.arithmatex')].filter(e => !e.querySelector('.katex')).map(e => e.textContent.slice(0, 80)),
    prose: prose,
    outputs: outputs,
    images: [...main.querySelectorAll('img')].map(e => ({src: e.currentSrc || e.src, w: e.naturalWidth, h: e.naturalHeight, complete: e.complete})),
    links: [...document.querySelectorAll('a[href]')].map(e => e.href),
    ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.getAttribute('name')),
    column: main.getBoundingClientRect().width,
    page_scroll: document.documentElement.scrollWidth > window.innerWidth + 1,
    clipped: clipped,
    height: document.documentElement.scrollHeight,
  };
}"""


def _image_bytes(src: str):
    if src.startswith('data:'):
        head, _, data = src.partition(',')
        return base64.b64decode(data) if ';base64' in head else unquote(data).encode()
    p = urlparse(src)
    return Path(unquote(p.path)).read_bytes() if p.scheme == 'file' else None


def check_page(tab: Tab, site: Path, rel: str, shots: Path = ARTIFACTS) -> tuple:
    "Open one page; every problem found, and what it holds."
    page_file = site/rel
    assert page_file.exists(), f'{rel} was not built'
    pg, problems = tab.page, []
    pg.goto('about:blank'); tab.reset()
    t = time.time()
    pg.goto(page_file.as_uri(), wait_until='load')
    try: pg.wait_for_function("document.documentElement.hasAttribute('data-math')", timeout=15000)
    except Exception: problems.append('math typesetting never finished (assets/math.js did not run)')
    info = pg.evaluate(_INSPECT)
    pg.screenshot(path=str(shots/(rel.replace('/', '__').removesuffix('.html') + '.png')))
    seconds = time.time() - t
    requests, failed, errors = tab.requests, tab.failed, tab.errors
    problems += [f'JavaScript error: {e}' for e in errors]
    problems += request_problems(requests, site)
    problems += [f'request failed: {f}' for f in failed]
    if info['math'] != 'done': problems.append(f'math typesetting state {info["math"]!r}')
    problems += [f'KaTeX could not typeset {e}' for e in info['katex_errors']]
    problems += [f'docstring math not typeset: {e!r}' for e in info['arithmatex_raw']]
    problems += unrendered(info['prose'])
    nb = next((p for p in NB_PAGES if p['page'] == rel), None)
    expected = 0
    if nb is not None:
        cells = json.loads(Path(nb['src']).read_text())['cells']
        expected = sum(count_math(bd._source(c)) for c in cells if c['cell_type'] == 'markdown')
    expected = max(expected, info['arithmatex'])
    if info['katex'] < expected:
        problems.append(f'only {info["katex"]} typeset formulas where the page source has {expected}')
    for o in info['outputs']: problems += output_problems(o)
    sizes = [0]
    for im in info['images']:
        if not im['complete'] or not im['w']: problems.append(f'figure does not decode in the browser: {im["src"][:80]}'); continue
        data = _image_bytes(im['src'])
        if data is None: problems.append(f'figure from outside the site: {im["src"][:80]}'); continue
        sizes.append(len(data))
        if im['src'].startswith('data:image/svg') or im['src'].endswith('.svg'): continue
        why = figure_problem(data)
        if why: problems.append(f'figure {why}: {im["src"][:60]}')
    ids_cache = {page_file.resolve(): set(info['ids'])}
    def ids_of(p):
        p = p.resolve()
        if p not in ids_cache: ids_cache[p] = html_ids(p.read_text())
        return ids_cache[p]
    problems += link_problems(sorted(set(info['links'])), page_file, site, ids_of)
    if info['column'] < MIN_COLUMN_PX: problems.append(f'content column {info["column"]:.0f} px at 1280 px (< {MIN_COLUMN_PX})')
    problems += [f'clipped behind a horizontal scroll at 1280 px: {c}' for c in info['clipped']]
    if info['page_scroll']: problems.append('the page itself scrolls sideways at 1280 px')
    if shots == ARTIFACTS: _timings.setdefault('per_page', {})[rel] = {'seconds': round(seconds, 2), 'formulas': info['katex'],
                                                 'expected_formulas': expected, 'figures': len(info['images']),
                                                 'largest_figure_kb': round(max(sizes) / 1024),
                                                 'problems': len(problems)}
    return problems, info


def test_build_has_no_warnings(site):
    "MkDocs, mkdocs-jupyter and mkdocstrings warn about nothing (a link in an API page to no page, ...)."
    assert not _warnings, '\n'.join(_warnings)


def test_every_page_is_checked(site):
    "The pages this test opens are exactly the pages the site holds (no page escapes the browser check)."
    built = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html'))
    assert built == sorted(ALL_PAGES)


def test_site_loads_nothing_from_another_host(site):
    for f in site.rglob('*.html'):
        assert bd.remote_loads(f.read_text()) == [], f
    assert (site/'assets'/'katex'/'katex.min.js').exists() and list((site/'assets'/'katex'/'fonts').glob('*.woff2'))
    assert (site/'assets'/'iframe-worker'/'shim.js').exists()


def test_search_works_from_file(site, tab):
    "Material's search runs from file:// (its index is inlined, its worker shim is in the site)."
    problems, _ = check_page(tab, site, 'index.html')
    pg = tab.page
    pg.keyboard.press('s')  # Material's shortcut to the search box
    pg.keyboard.type('attention')
    pg.wait_for_function("(document.querySelector('.md-search-result__meta') || {}).textContent?.includes('matching')", timeout=15000)
    assert int(re.search(r'\d+', pg.text_content('.md-search-result__meta')).group()) > 3
    assert not tab.errors, tab.errors


@pytest.mark.parametrize('rel', ALL_PAGES)
def test_page_in_chromium(site, tab, rel):
    problems, info = check_page(tab, site, rel)
    assert not problems, f'{rel}: {len(problems)} problem(s):\n- ' + '\n- '.join(problems[:25])


def test_home_page_shows_the_package(site, tab):
    "The home page: a figure, and a way into the first module page and the API reference."
    problems, info = check_page(tab, site, 'index.html')
    assert not problems
    assert info['images'] and max(im['w'] for im in info['images']) >= 300, 'the home page shows no picture'
    first_module = next(p['page'] for p in NB_PAGES if p['section'] not in (None, 'Tutorials'))
    assert any(u.endswith('/' + first_module) for u in info['links']), f'no link to {first_module}'
    assert any('/api/' in u for u in info['links']), 'no link to the API reference'


def test_nbdev_quarto_configuration_stays_valid():
    "`nbdev_docs` still works where Quarto exists: its config parses, and nbdev's sidebar lists every page."
    import contextlib, yaml
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.quarto import _nbdev_yml, nbdev_sidebar
    q = yaml.safe_load((ROOT/'nbs'/'_quarto.yml').read_text())
    assert q['project']['type'] == 'website' and 'html' in q['format']
    assert {'nbdev.yml', 'sidebar.yml'} <= set(q['metadata-files'])
    assert (ROOT/'nbs'/q['format']['html']['css']).exists()
    with working_directory(ROOT):
        cfg = get_config()
        vals = {k: cfg[k] for k in ['title', 'description', 'branch', 'git_url', 'doc_host', 'doc_baseurl']}
        assert (ROOT/'nbs'/'nbdev.yml').read_text() == _nbdev_yml.format(doc_path=cfg.doc_path.name, **vals)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf): nbdev_sidebar.__wrapped__(printit=True, force=True)
    def flat(x):
        if isinstance(x, str): yield x
        elif isinstance(x, dict): yield from flat(x.get('contents', []))
        else:
            for y in x: yield from flat(y)
    listed = set(flat(yaml.safe_load(buf.getvalue())['website']['sidebar']['contents']))
    missing = {p['src'].relative_to(ROOT/'nbs').as_posix() for p in NB_PAGES} - listed
    assert not missing, f"nbdev's sidebar leaves out {missing}"


def test_browser_check_catches_a_broken_page(site, tab, tmp_path):
    "The whole browser check, on a page broken in every way it looks for: each one is reported."
    fake = tmp_path/'site'; fake.mkdir()
    shutil.copytree(site/'assets', fake/'assets')
    blank = io.BytesIO(); Image.new('RGB', (40, 30), 'white').save(blank, 'PNG')
    blank = 'data:image/png;base64,' + base64.b64encode(blank.getvalue()).decode()
    (fake/'bad.html').write_text(f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="assets/katex/katex.min.css"><link rel="stylesheet" href="assets/fer_docs.css"></head>
<body><div class="md-content" style="width:600px"><div class="jupyter-wrapper">
<p>Math KaTeX cannot parse $$\\notacommand{{x}}$$, math left raw $$\\frac{{1}}{{2$$, a bare \\mathrm{{ReLU}}.</p>
<p>Fine inline math $x_1$.</p>
<img src="{blank}"> <a href="missing.html">gone</a> <a href="#nowhere">anchor</a>
<div class="jp-OutputArea-output"><pre>/root/.venv/lib/python3.11/site-packages/x.py:3: UserWarning: careful</pre></div>
<div style="overflow-x:auto;width:300px"><pre>{'x' * 400}</pre></div>
</div></div>
<script src="https://cdn.example.org/mermaid.js"></script>
<script>console.error('boom')</script>
<script src="assets/katex/katex.min.js"></script><script src="assets/katex/contrib/auto-render.min.js"></script>
<script src="assets/math.js"></script></body></html>""")
    problems, info = check_page(tab, fake, 'bad.html', shots=tmp_path)
    text = '\n'.join(problems)
    for expected in ['KaTeX could not typeset', 'raw TeX', 'figure is blank', 'broken link', 'missing anchor #nowhere',
                     'request outside the local site: https://cdn.example.org', 'JavaScript error: boom',
                     'a machine path', 'a Python warning', 'clipped behind a horizontal scroll', 'content column']:
        assert expected in text, f'{expected!r} not reported; got:\n{text}'
    assert info['katex'] >= 1  # the good formula was typeset


_START_HERE = """() => {
  const h = document.getElementById('start-here');
  if (!h) return null;
  const hrefs = [];
  for (let e = h.nextElementSibling; e && !/^H[1-2]$/.test(e.tagName); e = e.nextElementSibling)
    hrefs.push(...[...e.querySelectorAll('a[href]')].map(a => a.getAttribute('href')));
  return hrefs;
}"""


def test_start_here_leads_to_every_tutorial(site, tab):
    """The home page's "Start here" list links every tutorial in order, then the localisation study and the results;
    following each link (a click, as a reader would) lands on that page, whose title is the notebook's."""
    pg = tab.page
    pg.goto((site/'index.html').as_uri(), wait_until='load')
    tab.reset()   # only this walk's errors
    hrefs = pg.evaluate(_START_HERE)
    assert hrefs, 'the home page has no "Start here" section (a heading with id start-here followed by links)'
    pages = list(dict.fromkeys(h.split('#')[0] for h in hrefs))
    tutorials = [p['page'] for p in NB_PAGES if p['section'] == 'Tutorials']
    assert len(tutorials) >= 4 and [p for p in pages if p in tutorials] == tutorials, (pages, tutorials)
    assert pages[:len(tutorials)] == tutorials, f'the tutorials come first: {pages}'
    assert 'studies.localisation.html' in pages[len(tutorials):] and 'studies.ablations.html' in pages, pages
    titles = {p['page']: bd.nav_title(p['title']) for p in NB_PAGES}
    for href in pages:
        pg.goto((site/'index.html').as_uri(), wait_until='load')
        pg.click(f'#start-here ~ * a[href="{href}"] >> nth=0')
        pg.wait_for_load_state('load')
        assert urlparse(pg.url).path.endswith('/' + href), (href, pg.url)
        h1 = pg.text_content('.md-content h1') or ''
        assert titles[href] in h1, (href, titles[href], h1)
    assert not tab.errors, tab.errors
