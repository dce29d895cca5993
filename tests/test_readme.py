"""README's model table says what the registry says (the registry is the one place a model's data lives)."""
import re
from pathlib import Path

from fer_explore.models import list_models
from fer_explore.models import model_table

ROOT = Path(__file__).resolve().parents[1]


def _readme_rows() -> dict[str, list[str]]:
    rows = {}
    for line in (ROOT/'README.md').read_text().splitlines():
        m = re.match(r'\| `(\w+)` \|(.*)\|\s*$', line)
        if m: rows[m.group(1)] = [c.strip() for c in m.group(2).split('|')]
    return rows


def _num(cell: str):
    return None if cell == 'not reported' else int(cell.replace(',', ''))


def test_readme_model_table_matches_registry():
    rows = _readme_rows()
    assert sorted(rows) == sorted(n for n in list_models() if not n.startswith('_')), sorted(rows)
    for r in model_table(macs=False):
        paper, loss, maps, cam, params, paper_params = rows[r['model']]
        assert paper == r['paper'] and loss == f"`{r['loss']}`" and cam == f"`{r['cam_layer']}`", (r['model'], rows[r['model']])
        assert _num(params) == r['params'], (r['model'], params, r['params'])
        assert _num(paper_params) == r['paper_params'], (r['model'], paper_params, r['paper_params'])
        n_maps = len(r['attention'].split(', ')) if r['attention'] else 0
        shown = 0 if maps == 'none' else sum(4 if '-' in m else 1 for m in maps.split(', '))  # head0-head3 = 4 maps
        assert shown == n_maps, (r['model'], maps, r['attention'])
