"""The test command's own guards: a hand-edited library and an unclean notebook must fail it."""
import json, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _copy_project(tmp: Path) -> Path:
    dst = tmp/'proj'
    dst.mkdir()
    for name in ('settings.ini', 'setup.py', 'pyproject.toml', 'README.md'):
        shutil.copy(ROOT/name, dst/name)
    shutil.copytree(ROOT/'nbs', dst/'nbs')
    shutil.copytree(ROOT/'fer_explore', dst/'fer_explore', ignore=shutil.ignore_patterns('__pycache__'))
    return dst


def _run(tool: str, root: Path):
    return subprocess.run([sys.executable, str(ROOT/'tools'/tool), str(root)], capture_output=True, text=True)


def test_library_matches_notebooks_and_hand_edit_fails(tmp_path):
    proj = _copy_project(tmp_path)
    ok = _run('check_export.py', proj)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    core = proj/'fer_explore'/'core.py'
    src = core.read_text()
    assert 'def canonical_classes' in src
    core.write_text(src.replace('return list(CANONICAL_CLASSES[:n_classes])', 'return list(CANONICAL_CLASSES)'))
    bad = _run('check_export.py', proj)
    assert bad.returncode != 0
    assert 'The notebooks and the library disagree' in bad.stdout
    assert 'core.py' in bad.stdout and 'CANONICAL_CLASSES[:n_classes]' in bad.stdout


def test_unexported_module_is_reported(tmp_path):
    proj = _copy_project(tmp_path)
    (proj/'fer_explore'/'handwritten.py').write_text('X = 1\n')
    bad = _run('check_export.py', proj)
    assert bad.returncode != 0 and 'handwritten.py: in fer_explore/ but no notebook exports it' in bad.stdout


def test_unclean_notebook_fails(tmp_path):
    proj = _copy_project(tmp_path)
    assert _run('check_clean.py', proj).returncode == 0
    nb_path = proj/'nbs'/'00_core.ipynb'
    nb = json.loads(nb_path.read_text())
    code = next(c for c in nb['cells'] if c['cell_type'] == 'code')
    code['execution_count'] = 7  # execution noise
    nb_path.write_text(json.dumps(nb, indent=1))
    bad = _run('check_clean.py', proj)
    assert bad.returncode != 0 and 'nbs/00_core.ipynb' in bad.stdout
