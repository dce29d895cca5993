"""Build the documentation site offline from the notebooks, with MkDocs (Material theme).

Usage: .venv/bin/python tools/build_docs.py [--out _docs]

Why not `nbdev_docs`: it needs Quarto, whose installer downloads a binary, which this project's
machines cannot do. nbdev's own configuration (settings.ini, nbs/_quarto.yml) stays valid, so
`nbdev_docs` works wherever Quarto is installed. This script builds an equivalent site from the
same notebooks with well-kept PyPI packages:
- every notebook in nbs/ becomes a page (mkdocs-jupyter), with its saved outputs (figures,
  tables, `show_doc` cards). Pages are named as nbdev names them (`00_core.ipynb` -> `core.html`),
  so links between notebooks work on both sites. nbdev directives are honoured: `#| hide` cells
  are dropped, `#| echo: false` hides the source, `#| output: false` drops the outputs, and the
  directive lines themselves are removed;
- an API reference page per exported module, generated from its docstrings (mkdocstrings).
"""
import argparse, copy, json, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_dir_re = re.compile(r'^\s*#\s*\|\s*(.+?)\s*$')
_quarto_attrs = re.compile(r'\]\(([^)]*)\)\{[^}]*\}')


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


def process_notebook(src: Path, dst: Path):
    "Copy a notebook for the docs, applying nbdev's display directives."
    nb = json.loads(src.read_text())
    cells = []
    for cell in nb['cells']:
        text = ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']
        if cell['cell_type'] == 'code':
            d = directives(text)
            if 'hide' in d or 'default_exp' in d: continue
            cell = copy.deepcopy(cell)
            if d.get('output', [''])[0].lower() == 'false': cell['outputs'] = []
            body = strip_directives(text)
            if d.get('echo', [''])[0].lower() == 'false':
                if not cell.get('outputs'): continue
                cell.setdefault('metadata', {})['jupyter'] = {'source_hidden': True}
                cell['metadata']['tags'] = ['hide-input']
                body = ''
            cell['source'] = body
            if not body.strip() and not cell.get('outputs'): continue
            for out in cell.get('outputs', []):  # show_doc cards carry Quarto link attributes MkDocs would print
                md = out.get('data', {}).get('text/markdown')
                if md is not None:
                    text = ''.join(md) if isinstance(md, list) else md
                    out['data']['text/markdown'] = _quarto_attrs.sub(r'](\1)', text)
        cells.append(cell)
    nb['cells'] = cells
    dst.write_text(json.dumps(nb))


def module_names():
    "Exported modules of the library, from nbdev's index."
    sys.path.insert(0, str(ROOT))
    from fer_explore._modidx import d
    return sorted(m for m in d['syms'] if m.startswith('fer_explore.'))


def build(out: Path, strict: bool = False, nbs_dir: Path = ROOT/'nbs') -> Path:
    src = ROOT/'_docs_src'
    if src.exists(): shutil.rmtree(src)
    (src/'docs'/'api').mkdir(parents=True)
    nbs = sorted(nbs_dir.glob('[0-9]*.ipynb'))
    nav = [{'Home': 'index.ipynb'}]
    process_notebook(nbs_dir/'index.ipynb', src/'docs'/'index.ipynb')
    if (nbs_dir/'images').exists(): shutil.copytree(nbs_dir/'images', src/'docs'/'images')
    for nb in nbs:
        name = doc_name(nb)
        process_notebook(nb, src/'docs'/f'{name}.ipynb')
        nav.append({nb.stem: f'{name}.ipynb'})
    api = []
    for mod in module_names():
        page = f"api/{mod.removeprefix('fer_explore.').replace('.', '_')}.md"
        (src/'docs'/page).write_text(f'# `{mod}`\n\n::: {mod}\n    options:\n      show_root_heading: false\n'
                                     f'      show_source: true\n      members_order: source\n')
        api.append({mod: page})
    nav.append({'API reference': api})
    cfg = {
        'site_name': 'fer_explore',
        'site_description': 'Teach, train and look inside attention-based facial expression recognition models',
        'docs_dir': 'docs', 'site_dir': str(out.resolve()),
        'use_directory_urls': False,  # pages are plain .html files: the site works from file:// too
        'theme': {'name': 'material', 'font': False,  # no web fonts: the site must work offline
                  'features': ['navigation.sections', 'content.code.copy']},
        'plugins': ['search',
                    {'mkdocs-jupyter': {'execute': False, 'include_source': True, 'ignore_h1_titles': False,
                                        'remove_tag_config': {'remove_input_tags': ['hide-input']}}},
                    {'mkdocstrings': {'handlers': {'python': {'paths': [str(ROOT)],
                                                              'options': {'docstring_style': None}}}}}],
        'nav': nav,
        'markdown_extensions': ['tables', 'admonition', 'pymdownx.arithmatex'],
    }
    (src/'mkdocs.yml').write_text(json.dumps(cfg, indent=1))  # JSON is valid YAML
    cmd = [str(Path(sys.executable).parent/'mkdocs'), 'build', '-q', '-f', str(src/'mkdocs.yml')]
    if strict: cmd.append('--strict')
    subprocess.run(cmd, check=True, cwd=src)
    return out


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=str(ROOT/'_docs'), help='folder to build the site into')
    p.add_argument('--strict', action='store_true', help='fail on MkDocs warnings')
    p.add_argument('--nbs', default=str(ROOT/'nbs'), help='folder of (executed) notebooks to build from')
    a = p.parse_args()
    print(build(Path(a.out), a.strict, Path(a.nbs))/'index.html')
