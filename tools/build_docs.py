"""Build the documentation site offline from the notebooks, with MkDocs (Material theme).

Usage: .venv/bin/python tools/build_docs.py [--out _docs] [--nbs nbs] [--strict]
       .venv/bin/python tools/build_docs.py --install-js   (once per machine; tools/setup_env.sh runs it)

Why not `nbdev_docs`: it needs Quarto, whose installer downloads a binary, which this project's
machines cannot do. nbdev's own configuration (settings.ini, nbs/_quarto.yml) stays valid, so
`nbdev_docs` works wherever Quarto is installed. This script builds an equivalent site from the
same notebooks with well-kept PyPI packages:
- every notebook in nbs/ becomes a page (mkdocs-jupyter), with its saved outputs (figures,
  tables, `show_doc` cards). Pages are named as nbdev names them (`00_core.ipynb` -> `core.html`),
  and markdown links to a notebook (`[core](00_core.ipynb)`) become links to its page, as on
  nbdev's site. nbdev directives are honoured: `#| hide` cells are dropped, `#| echo: false`
  hides the source, `#| output: false` drops the outputs, and the directive lines are removed;
  a cell with a `show_doc(...)` line shows only its card, as nbdev shows it;
- the pages come in reading order, derived from the files present (never a list of names):
  Home (index.ipynb); Tutorials (`tutorial*.ipynb` and nbs/tutorials/); the Results (50-59, READ_FIRST); then the
  other numbered notebooks by number, one section per ten numbers (the project's parts: 00-09 core and data,
  10-19 modules, 20-29 losses and models, 30-39 training, 40-49 exploration; see SECTIONS);
  then any other notebook; then the API reference;
- an API reference page per exported module (every `fer_explore/**.py` that nbdev generated,
  in the order of the notebooks that export them), from its docstrings (mkdocstrings);
- math ($...$, $$...$$ in markdown cells, and in docstrings) is typeset in the browser by KaTeX,
  copied into the site (`assets/katex/`), so pages work from file:// and any static host with
  no network. Nothing is loaded from a CDN: the MathJax and mermaid loaders that nbconvert's
  template adds are removed (a page with a mermaid diagram is an error, not a silent CDN call);
- code cells and text outputs wrap long lines with a hanging indent (a wrapped line continues
  four columns deeper than its own indentation, as a Python continuation line would), so nothing
  hides behind a horizontal scroll at 1280 px; no `In [ ]:` prompts;
- the table of contents is built from the ids the headings really have (see toc_tokens); the
  404 page is left out (MkDocs roots it at one host's base path, so it cannot work from file://).

Browser packages come from npm at exact versions (JS_PACKAGES), installed into .venv/docs-js/
(git-ignored; `build` installs them there itself when missing) and copied into the site:
- KaTeX, the math engine, rather than MathJax: it typesets synchronously (a page is final when
  it has loaded, and the docs test knows when to look), reports a formula it cannot read as an
  error, weighs 0.6 MB in the site (JS, CSS, woff2 fonts) and covers every command the notebooks
  use; the MathJax a registry ships ready to copy (Debian's libjs-mathjax, PyPI's
  jupyter-server-mathjax) is the end-of-life 2.7 line. Pinned because its JavaScript, CSS and
  fonts must come from one release, and the docs test counts the elements it produces;
- iframe-worker (by Material's author): Material's offline plugin inlines the search index and
  needs this shim so that search also runs from file://; the plugin loads it from a CDN, the
  build points it at the copy in the site instead.
"""
import argparse, copy, html, json, os, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT/'tools'/'docs_assets'       # the site's own CSS and JS (math typesetting call)
JS_PACKAGES = {                          # npm packages the pages load, exact versions (see the docstring)
    'katex': '0.19.1',                   # math typesetting: newest when pinned; its JS, CSS and fonts must match
    'iframe-worker': '1.0.4',            # lets Material's search run from file:// (its offline plugin's shim)
}
JS_HOME = ROOT/'.venv'/'docs-js'         # npm --prefix folder (inside the git-ignored .venv)
CACHE = ROOT/'_docs_src'/'.cache'        # mkdocs-jupyter's converted notebooks, kept between builds (git-ignored)

_dir_re = re.compile(r'^\s*#\s*\|\s*(.+?)\s*$')
_quarto_attrs = re.compile(r'\]\(([^)]*)\)\{[^}]*\}')
_num_re = re.compile(r'^(\d+)([a-z]?)_')
_re_showdoc = re.compile(r'^show_doc', re.M)  # nbdev's own test (processors.clean_show_doc)


def directives(src: str) -> dict:
    "nbdev directives (`#| name args`) at the top of a cell's source."
    out = {}
    for line in src.splitlines():
        m = _dir_re.match(line)
        if not m:
            if line.strip(): break
            continue
        parts = m.group(1).split()
        out[parts[0].rstrip(':')] = [p.rstrip(':') for p in parts[1:]]
    return out


def strip_directives(src: str) -> str:
    lines = src.splitlines()
    while lines and (_dir_re.match(lines[0]) or not lines[0].strip()): lines.pop(0)
    return '\n'.join(lines)


def doc_name(nb: Path) -> str:
    "The page name nbdev gives a notebook: numeric prefix dropped (`00_core` -> `core`)."
    return re.sub(r'^\d+[a-z]?_', '', nb.stem)


def _source(cell) -> str:
    return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']


def notebook_title(nb: Path) -> str:
    "The notebook's title: the first `# ...` line of its markdown (nbdev's title), else its page name."
    for c in json.loads(Path(nb).read_text())['cells']:
        m = re.search(r'^#\s+(.+?)\s*$', _source(c), re.M) if c['cell_type'] == 'markdown' else None
        if m: return m.group(1)
    return doc_name(nb)


def nav_title(title: str) -> str:
    """Short label for the navigation, as plain text: the part of the title before a colon
    (`DAN: Distract ...` -> `DAN`), without markdown's code and emphasis marks."""
    plain = re.sub(r'`|\*{1,2}', '', title)
    return plain.split(':')[0].strip() or plain


def _num_key(nb: Path):
    m = _num_re.match(nb.name)
    return (int(m.group(1)), m.group(2), nb.name)


# Sections of the numbered notebooks: the project numbers its notebooks by part (README, "What is in
# it"), ten numbers a part. A new part (50-59 ...) gets a section of its own, named by its numbers,
# until it is named here.
SECTIONS = {0: 'Core and data', 1: 'Modules', 2: 'Losses and models', 3: 'Training', 4: 'Exploration', 5: 'Results'}
READ_FIRST = (5,)   # parts read before the reference parts: a reader comes for what the package found (after the tutorials)


def site_pages(nbs_dir: Path) -> list:
    """Every notebook page of the site in reading order: dicts with `src` (the notebook), `page`
    (its .html path in the site), `title`, `section` (None for Home)."""
    nbs_dir = Path(nbs_dir)
    found = [p for p in sorted(nbs_dir.rglob('*.ipynb'))
             if not any(part.startswith(('_', '.')) for part in p.relative_to(nbs_dir).parts)
             and '.ipynb_checkpoints' not in p.parts]
    home = [p for p in found if p.relative_to(nbs_dir) == Path('index.ipynb')]
    rest = [p for p in found if p not in home]
    is_tut = lambda p: p.relative_to(nbs_dir).parts[0] == 'tutorials' or p.stem.startswith('tutorial')
    tutorials = sorted((p for p in rest if is_tut(p)), key=lambda p: (str(p.parent), _num_key(p) if _num_re.match(p.name) else (1e9, '', p.name)))
    numbered = sorted((p for p in rest if not is_tut(p) and p.parent == nbs_dir and _num_re.match(p.name)),
                      key=lambda p: (_num_key(p)[0] // 10 not in READ_FIRST, _num_key(p)))   # the results right after the tutorials
    other = [p for p in rest if not is_tut(p) and p not in numbered]
    def section(p): d = _num_key(p)[0] // 10; return SECTIONS.get(d, f'Notebooks {d}0-{d}9')
    ordered = ([(p, None) for p in home] + [(p, 'Tutorials') for p in tutorials]
               + [(p, section(p)) for p in numbered] + [(p, 'More') for p in other])
    pages, seen = [], {}
    for p, sec in ordered:
        rel = p.relative_to(nbs_dir)
        page = (rel.parent/f'{doc_name(p)}.html').as_posix()
        if page in seen: raise ValueError(f'{rel} and {seen[page]} would both become the page {page}: rename one')
        seen[page] = rel
        pages.append({'src': p, 'page': page, 'title': notebook_title(p), 'section': sec})
    if not home: raise FileNotFoundError(f'{nbs_dir}/index.ipynb (the home page) is missing')
    return pages


def api_modules(lib: Path = ROOT/'fer_explore', pages: list = ()) -> list:
    """(module, notebook page or None) for every module nbdev generated under `lib` (its files carry
    `AUTOGENERATED ... File to edit: ../nbs/NN_x.ipynb`), in the reading order of those notebooks."""
    order = {Path(p['src']).name: i for i, p in enumerate(pages)}
    page_of = {Path(p['src']).name: p['page'] for p in pages}
    mods = []
    for f in sorted(Path(lib).rglob('*.py')):
        m = re.search(r'File to edit: (\S+?\.ipynb)', f.read_text()[:2000])
        if not m or f.name == '_modidx.py': continue
        parts = list(f.relative_to(lib.parent).with_suffix('').parts)
        if parts[-1] == '__init__': parts.pop()
        nb = Path(m.group(1)).name
        mods.append(('.'.join(parts), page_of.get(nb), order.get(nb, 1e9)))
    return [(m, pg) for m, pg, _ in sorted(mods, key=lambda t: (t[2], t[0]))]


_link_re = re.compile(r'(\]\(|href=")(?!https?:|mailto:|#)([^)"#\s]+\.ipynb)(#[^)"\s]*)?')


def rewrite_links(text: str, src: Path, page_of: dict) -> str:
    """Links to notebooks (`](00_core.ipynb#x)`) become links to their pages (`](core.html#x)`),
    relative to the page of `src`; `page_of` maps each notebook's resolved path to its page."""
    src = Path(src).resolve()
    here = Path(page_of.get(src, src.name)).parent
    def sub(m):
        target = (src.parent/m.group(2)).resolve()
        if target not in page_of: return m.group(0)  # left as written: the docs test reports it as broken
        return f'{m.group(1)}{os.path.relpath(page_of[target], here).replace(os.sep, "/")}{m.group(3) or ""}'
    return _link_re.sub(sub, text)


def process_notebook(src: Path, dst: Path, page_of: dict = None):
    "Copy a notebook for the docs, applying nbdev's display directives and turning notebook links into page links."
    nb = json.loads(Path(src).read_text())
    fix = lambda t: rewrite_links(_quarto_attrs.sub(r'](\1)', t), src, page_of or {})
    cells = []
    for cell in nb['cells']:
        text = _source(cell)
        cell = copy.deepcopy(cell)
        if cell['cell_type'] == 'markdown':
            cell['source'] = fix(text)
        elif cell['cell_type'] == 'code':
            d = directives(text)
            if 'hide' in d or 'default_exp' in d: continue
            if d.get('output', [''])[0].lower() == 'false': cell['outputs'] = []
            body = strip_directives(text)
            if d.get('echo', [''])[0].lower() == 'false' or _re_showdoc.search(body):  # nbdev hides show_doc sources too
                if not cell.get('outputs'): continue
                cell.setdefault('metadata', {})['jupyter'] = {'source_hidden': True}
                cell['metadata']['tags'] = ['hide-input']
                body = ''
            cell['source'] = body
            if not body.strip() and not cell.get('outputs'): continue
            for out in cell.get('outputs', []):  # show_doc cards carry Quarto link attributes MkDocs would print
                md = out.get('data', {}).get('text/markdown')
                if md is not None: out['data']['text/markdown'] = fix(''.join(md) if isinstance(md, list) else md)
        cells.append(cell)
    nb['cells'] = cells
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    Path(dst).write_text(json.dumps(nb))


# ---------------------------------------------------------------- browser packages (npm, pinned, copied into the site)
def js_package(name: str, install: bool = True) -> Path:
    "The folder of npm package `name` at its JS_PACKAGES version, installed into JS_HOME (all of them) when missing."
    def version(n):
        try: return json.loads((JS_HOME/'node_modules'/n/'package.json').read_text())['version']
        except (OSError, ValueError, KeyError): return None
    stale = [n for n, v in JS_PACKAGES.items() if version(n) != v]
    if stale and install:
        npm = shutil.which('npm')
        if not npm: raise RuntimeError(f'the docs need {", ".join(stale)} from npm, and npm is not installed '
                                       '(Debian: `apt-get install npm`)')
        specs = [f'{n}@{v}' for n, v in JS_PACKAGES.items()]
        print(f'== installing {" ".join(specs)} from npm into {JS_HOME.relative_to(ROOT)}', file=sys.stderr)
        JS_HOME.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, 'install', '--silent', '--no-audit', '--no-fund', '--prefix', str(JS_HOME), *specs], check=True)
    if version(name) != JS_PACKAGES[name]:
        raise RuntimeError(f'{name} {JS_PACKAGES[name]} not found in {JS_HOME} (found {version(name)}): '
                           f'run `python tools/build_docs.py --install-js`')
    return JS_HOME/'node_modules'/name


def katex_dist(install: bool = True) -> Path:
    "KaTeX's `dist/` folder (JS_PACKAGES['katex'])."
    return js_package('katex', install)/'dist'


def copy_katex(dest: Path):
    "The parts of KaTeX the pages use (minified JS, CSS, woff2 fonts, auto-render, licence) into `dest`."
    dist = katex_dist()
    (dest/'fonts').mkdir(parents=True, exist_ok=True)
    for f in ['katex.min.js', 'katex.min.css']: shutil.copy(dist/f, dest/f)
    (dest/'contrib').mkdir(exist_ok=True)
    shutil.copy(dist/'contrib'/'auto-render.min.js', dest/'contrib'/'auto-render.min.js')
    for f in (dist/'fonts').glob('*.woff2'): shutil.copy(f, dest/'fonts'/f.name)
    # the CSS lists woff2, woff and ttf for every face; keep only the woff2 we ship (every current browser reads it)
    css = (dest/'katex.min.css').read_text()
    css = re.sub(r',\s*url\(fonts/[^)]+\.woff\) format\("woff"\)', '', css)
    css = re.sub(r',\s*url\(fonts/[^)]+\.ttf\) format\("truetype"\)', '', css)
    (dest/'katex.min.css').write_text(css)
    lic = dist.parent/'LICENSE'
    if lic.exists(): shutil.copy(lic, dest/'LICENSE')


# ---------------------------------------------------------------- HTML post-processing
_mathjax_block = re.compile(r'<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->', re.S)
_mermaid_block = re.compile(r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded".*?mermaid.*?</script>'
                            r'(\s*<!-- End of mermaid configuration -->)?', re.S)
_pre_re = re.compile(r'(<pre[^>]*>)(.*?)(</pre>)', re.S)
_tag_split = re.compile(r'(<span\b[^>]*>|</span>)')


def wrap_lines(inner: str, hang: int = 4) -> str:
    """The inner HTML of a highlighted `<pre>` with each line in a `<span class="ln">` that wraps with
    a hanging indent: its continuation starts `hang` columns deeper than the line's own indentation.
    Token spans that cross a line end are closed and reopened, so every line span is well formed."""
    if 'class="ln"' in inner: return inner
    lines, stack = [[]], []
    for part in _tag_split.split(inner):
        if not part: continue
        if part.startswith('<span'): stack.append(part); lines[-1].append(part)
        elif part == '</span>':
            if stack: stack.pop(); lines[-1].append(part)
        else:
            for k, seg in enumerate(part.split('\n')):
                if k:
                    lines[-1].append('</span>' * len(stack))
                    lines.append(list(stack))
                if seg: lines[-1].append(seg)
    trailing = not re.sub(r'<[^>]+>', '', ''.join(lines[-1]))  # the usual final newline
    if trailing: lines.pop()
    out = []
    for ln in lines:
        body = ''.join(ln)
        text = html.unescape(re.sub(r'<[^>]+>', '', body))
        ind = len(text) - len(text.lstrip(' '))
        out.append(f'<span class="ln" style="--i:{ind + hang}ch">{body}</span>')
    return '\n'.join(out) + ('\n' if trailing else '')


_iframe_worker = re.compile(r'src="https://unpkg\.com/iframe-worker/shim"')


def postprocess_page(text: str, notebook: bool, root: str = '') -> str:
    """Drop the CDN loaders nbconvert's template adds, point Material's search shim at the site's copy
    (`root`: the way from the page up to the site root), and wrap code and text outputs of notebook pages."""
    text = _mermaid_block.sub('', _mathjax_block.sub('', text))
    text = _iframe_worker.sub(f'src="{root}assets/iframe-worker/shim.js"', text)
    if 'class="jp-Mermaid' in text:
        raise ValueError('a mermaid diagram needs mermaid.js, which this site does not ship (it would come from a CDN)')
    if notebook:
        text = _pre_re.sub(lambda m: m.group(1) + wrap_lines(m.group(2)) + m.group(3), text)
    return text


_heading = re.compile(r'<h([1-6])([^>]*?)\bid="([^"]*)"([^>]*)>(.*?)</h\1>', re.S)
_anchor_link = re.compile(r'<a class="anchor-link" href="#[^"]*">.*?</a>', re.S)


def unique_heading_ids(body: str) -> str:
    "Headings with the same text get ids `x`, `x_1`, `x_2` ... (nbconvert gives them all `x`), anchor links too."
    seen = {}
    def sub(m):
        level, pre, hid, post, inner = m.groups()
        n = seen.get(hid, 0); seen[hid] = n + 1
        if n:
            hid = f'{hid}_{n}'
            inner = _anchor_link.sub(f'<a class="anchor-link" href="#{hid}">¶</a>', inner)
        return f'<h{level}{pre}id="{hid}"{post}>{inner}</h{level}>'
    return _heading.sub(sub, body)


def toc_tokens(body: str, depth: int = 3) -> list:
    """The page's table of contents from the headings of its markdown cells, with the ids those headings
    really have (mkdocs-jupyter derives the TOC from a markdown rendering whose ids differ whenever a
    heading holds code, an apostrophe or a repeated title, which leaves TOC links that go nowhere)."""
    tokens, stack = [], []
    for cell in re.split(r'(?=<div class="jp-Cell )', body):
        if not cell.startswith('<div class="jp-Cell jp-MarkdownCell'): continue
        for m in _heading.finditer(cell):
            level, hid = int(m.group(1)), m.group(3)
            if level > depth: continue
            name = html.unescape(re.sub(r'<[^>]+>', '', _anchor_link.sub('', m.group(5)))).strip()
            tok = {'level': level, 'id': hid, 'name': html.escape(name), 'children': []}
            while stack and stack[-1]['level'] >= level: stack.pop()
            (stack[-1]['children'] if stack else tokens).append(tok)
            stack.append(tok)
    return tokens


def _patch_mkdocs_jupyter():
    "Unique heading ids in every notebook page, and a TOC built from those headings (see toc_tokens)."
    import mkdocs_jupyter.convert as mjc, mkdocs_jupyter.plugin as mjp
    if getattr(mjc.nb2html, '_fer_docs', False): return
    bodies, orig = {}, mjc.nb2html
    def nb2html(path, *args, **kw):
        body = unique_heading_ids(orig(path, *args, **kw))
        bodies[str(path)] = body
        return body
    nb2html._fer_docs = True
    mjc.nb2html = nb2html
    mjp._get_nb_toc_tokens = lambda fpath, toc_depth: (toc_tokens(bodies[str(fpath)]), None)


_remote = re.compile(r'<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"', re.I)


def remote_loads(text: str) -> list:
    "Tags in a page that would load something from another host (scripts, styles, images, frames)."
    return _remote.findall(text)


# ---------------------------------------------------------------- the build
def _build_key() -> str:
    "mkdocs-jupyter's cache of converted notebooks is only valid for this version of this script."
    import hashlib
    return 'nb-' + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def build(out: Path, strict: bool = False, nbs_dir: Path = ROOT/'nbs') -> Path:
    out, nbs_dir = Path(out), Path(nbs_dir)
    import tempfile
    if CACHE.exists():  # conversions cached by earlier versions of this script are never read again
        for old in CACHE.iterdir():
            if old.name != _build_key(): shutil.rmtree(old, ignore_errors=True)
    src = Path(tempfile.mkdtemp(prefix='fer_docs_src_'))  # the MkDocs project: one per build, so builds never collide
    try: return _build(out, strict, nbs_dir, src)
    finally: shutil.rmtree(src, ignore_errors=True)


def _build(out: Path, strict: bool, nbs_dir: Path, src: Path) -> Path:
    docs = src/'docs'
    (docs/'api').mkdir(parents=True)
    pages = site_pages(nbs_dir)
    page_of = {p['src'].resolve(): p['page'] for p in pages}
    nav, sections = [], {}
    for p in pages:
        dst = docs/Path(p['page']).with_suffix('.ipynb')
        process_notebook(p['src'], dst, page_of)
        entry = {nav_title(p['title']): Path(p['page']).with_suffix('.ipynb').as_posix()}
        if p['section'] is None: nav.append({'Home': entry.popitem()[1]})
        else:
            if p['section'] not in sections:
                sections[p['section']] = []
                nav.append({p['section']: sections[p['section']]})
            sections[p['section']].append(entry)
    if (nbs_dir/'images').exists(): shutil.copytree(nbs_dir/'images', docs/'images')
    api, titles = [], {p['page']: p['title'] for p in pages}
    for mod, nbpage in api_modules(ROOT/'fer_explore', pages):
        name = mod.removeprefix('fer_explore.')
        page = f"api/{name.replace('.', '_')}.md"
        src_md = Path(nbpage).with_suffix('.ipynb').as_posix() if nbpage else None
        where = f'Explained, with its equations and figures, in [{titles[nbpage]}](../{src_md}).\n\n' if nbpage else ''
        (docs/page).write_text(f'# `{mod}`\n\n{where}::: {mod}\n    options:\n      show_root_heading: false\n'
                               f'      show_source: true\n      members_order: source\n')
        api.append({name: page})
    nav.append({'API reference': api})
    copy_katex(docs/'assets'/'katex')
    iw = js_package('iframe-worker')
    (docs/'assets'/'iframe-worker').mkdir()
    shutil.copy(iw/'shim'/'index.js', docs/'assets'/'iframe-worker'/'shim.js')
    shutil.copy(iw/'LICENSE', docs/'assets'/'iframe-worker'/'LICENSE')
    for f in ASSETS.iterdir(): shutil.copy(f, docs/'assets'/f.name)
    cfg = {
        'site_name': 'fer_explore',
        'site_description': 'Teach, train and look inside attention-based facial expression recognition models',
        'docs_dir': 'docs', 'site_dir': str(out.resolve()),
        'use_directory_urls': False,  # pages are plain .html files: the site works from file:// too
        'theme': {'name': 'material', 'font': False,  # no web fonts: the site must work offline
                  'features': ['navigation.sections', 'navigation.footer', 'toc.integrate', 'content.code.copy']},
        'plugins': ['search', 'offline',  # offline: search index inlined, search runs from file:// too
                    {'mkdocs-jupyter': {'execute': False, 'include_source': False, 'ignore_h1_titles': True,  # nav labels are ours (short)
                                        'no_prompt': True, 'cache_dir': str(CACHE/_build_key()),
                                        'remove_tag_config': {'remove_input_tags': ['hide-input']}}},
                    {'mkdocstrings': {'handlers': {'python': {'paths': [str(ROOT)],
                                                              'options': {'docstring_style': None}}}}}],
        'nav': nav,
        'extra_css': ['assets/katex/katex.min.css', 'assets/fer_docs.css'],
        'extra_javascript': ['assets/katex/katex.min.js', 'assets/katex/contrib/auto-render.min.js', 'assets/math.js'],
        'markdown_extensions': ['tables', 'admonition', {'pymdownx.arithmatex': {'generic': True}}],
    }
    (src/'mkdocs.yml').write_text(json.dumps(cfg, indent=1))  # JSON is valid YAML
    import logging
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    _patch_mkdocs_jupyter()
    logging.getLogger('mkdocs').setLevel(logging.WARNING)
    mkdocs_build(load_config(str(src/'mkdocs.yml'), strict=strict))
    # MkDocs' 404 page links its assets from the site root ('/assets/...'): it works on one host at one
    # base path only, never from file://, so the site has none (a host shows its own).
    (out/'404.html').unlink(missing_ok=True)
    nb_pages = {p['page'] for p in pages}
    for f in out.rglob('*.html'):
        rel = f.relative_to(out).as_posix()
        text = postprocess_page(f.read_text(), notebook=rel in nb_pages, root='../' * rel.count('/'))
        bad = remote_loads(text)
        if bad: raise ValueError(f'{rel} would load from another host: {bad[:3]}')
        f.write_text(text)
    return out


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=str(ROOT/'_docs'), help='folder to build the site into')
    p.add_argument('--strict', action='store_true', help='fail on MkDocs warnings')
    p.add_argument('--nbs', default=str(ROOT/'nbs'), help='folder of (executed) notebooks to build from')
    p.add_argument('--install-js', action='store_true', help='install the pinned npm packages the site ships (KaTeX ...) if missing, and stop')
    a = p.parse_args()
    if a.install_js: print(js_package('katex').parent)
    else: print(build(Path(a.out), a.strict, Path(a.nbs))/'index.html')
