"""A reading after every figure: on the student's path (the tutorials) and in the exploration and results notebooks
(41-45, 50, 51), every code cell whose saved output holds a figure is followed by a markdown cell that reads it with a
number (a count, a score, a share: what the figure shows, in numbers).

A digit inside a link target, a code span or a notebook's name does not count: "see [41](41_explore.interpret.ipynb)" is a
pointer, not a reading. Each check is proven to fail on a small bad notebook below.
"""
import json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
READ_AFTER_FIGURES = sorted([*NBS.glob('tutorial_*.ipynb'), *NBS.glob('4[1-5]_*.ipynb'), *NBS.glob('5[01]_*.ipynb')])
IMAGE_MIMES = ('image/png', 'image/jpeg', 'image/svg+xml')


def _src(cell) -> str: return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']


def has_figure(cell) -> bool:
    "A code cell whose saved outputs hold an image."
    return cell['cell_type'] == 'code' and any(m in o.get('data', {}) for o in cell.get('outputs', []) for m in IMAGE_MIMES)


def reading_numbers(md: str) -> list[str]:
    """The numbers a markdown text states, leaving out link targets, code spans, inline HTML tags, headings' anchors
    and notebook names (`41_explore.interpret`, `tutorial_02`)."""
    t = re.sub(r'\]\([^)]*\)', ']', md)                       # link targets
    t = re.sub(r'`[^`]*`', ' ', t)                             # code spans
    t = re.sub(r'<[^>]+>', ' ', t)                             # html tags
    t = re.sub(r'\b(?:tutorial_)?\d+[a-z]?_\w+', ' ', t)       # notebook names
    t = re.sub(r'^#+ .*$', ' ', t, flags=re.M)                 # headings
    t = re.sub(r'\b(?:Eqs?|Fig|Figs|Table|Tables|Alg|Algorithm|Tutorial|Step)\.?\s*\d+(?:\s*[-–]\s*\d+)?', ' ', t)  # references
    return re.findall(r'(?<![\w.])\d+(?:[.,]\d+)*(?:\s?%)?', t)


def figures_without_reading(nb: dict) -> list[int]:
    "Indices of figure cells not followed by a markdown cell that states a number."
    cells, bad = nb['cells'], []
    for i, c in enumerate(cells):
        if not has_figure(c): continue
        nxt = cells[i + 1] if i + 1 < len(cells) else None
        if nxt is None or nxt['cell_type'] != 'markdown' or not reading_numbers(_src(nxt)): bad.append(i)
    return bad


def _nb(*cells): return {'cells': list(cells)}
def _md(s): return {'cell_type': 'markdown', 'source': s}
def _fig(): return {'cell_type': 'code', 'source': 'plt.plot()', 'outputs': [{'output_type': 'display_data', 'data': {'image/png': 'x'}}]}
def _code(): return {'cell_type': 'code', 'source': 'x = 1', 'outputs': []}


def test_reading_numbers_ignore_pointers():
    assert reading_numbers('See [the attention notebook](41_explore.interpret.ipynb) and `head0`.') == []
    assert reading_numbers('As 43_studies.localisation shows, <img width="300">') == []
    assert reading_numbers('## Step 3: 6x6 maps\nDAN Eq. 3-4 and Table 5, Fig. 7.') == []
    assert reading_numbers('Head 2 scores 0.62 on the pointing game, 14 points above the floor.') == ['2', '0.62', '14']
    assert reading_numbers('Accuracy 86.9 % vs 90 %.') == ['86.9 %', '90 %']


def test_check_catches_a_figure_without_reading():
    assert figures_without_reading(_nb(_fig(), _md('It shows 3 heads.'))) == []
    assert figures_without_reading(_nb(_fig())) == [0]                                # last cell
    assert figures_without_reading(_nb(_fig(), _code(), _md('3 heads'))) == [0]        # code in between
    assert figures_without_reading(_nb(_fig(), _md('The heads look alike.'))) == [0]   # no number
    assert figures_without_reading(_nb(_fig(), _fig(), _md('2 figures'))) == [0]       # one reading for two figures


@pytest.mark.parametrize('path', READ_AFTER_FIGURES, ids=lambda p: p.stem)
def test_every_figure_is_read(path):
    nb = json.loads(path.read_text())
    assert any(has_figure(c) for c in nb['cells']), f"{path.name} has no saved figure: run tools/run_notebooks.py on it"
    bad = figures_without_reading(nb)
    assert not bad, (f"{path.name}: the figures of cells {bad} (0-based) are not followed by a markdown cell that reads "
                     "them with a number")


def test_the_path_is_covered():
    names = {p.stem for p in READ_AFTER_FIGURES}
    assert {'41_explore.interpret', '42_explore.cams', '43_studies.localisation', '44_explore.embeddings', '45_app.widgets', '50_studies.ablations',
            '51_studies.results'} <= names and sum(n.startswith('tutorial_') for n in names) >= 4
