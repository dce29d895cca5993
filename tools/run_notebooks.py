"""Execute notebooks in place (saving their outputs for the docs), then clean them.

Usage: .venv/bin/python tools/run_notebooks.py [--out DIR] [nbs/NN_name.ipynb ...]   (default: every notebook)

With `--out DIR` the executed notebooks are written to DIR and nbs/ is left untouched.

Cells flagged with one of settings.ini's `tst_flags` (`#| slow`, `#| gpu`) and cells marked
`#| eval: false` are skipped, exactly as `nbdev_test` skips them; the first error stops the
notebook and is printed with its cell. Outputs are kept (that is how nbdev's docs get their
figures); execution counts and metadata noise are removed by `nbdev_clean`.

The kernel gets the environment `tools/demo.sh` sets (`PYTHONWARNINGS=ignore::FutureWarning`,
`NO_MKDOCS_2_WARNING=1`) and the same warning filter inside the shell, so that saved outputs carry no
such warnings (they print the machine's paths). Figures are saved as plain PNG at matplotlib's default
dpi (execnb's default, 'retina', doubles every dimension and roughly quadruples the file).
"""
import os, re, sys, time, subprocess
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from nbdev.config import get_config
from fastcore.xtras import working_directory

from build_docs import directives as _directives  # the same reading of `#| ...` lines as the docs build

KERNEL_ENV = {'PYTHONWARNINGS': 'ignore::FutureWarning', 'NO_MKDOCS_2_WARNING': '1'}  # what tools/demo.sh exports
KERNEL_SETUP = "__import__('warnings').filterwarnings('ignore', category=FutureWarning)"

def kernel_env(env=None) -> dict:
    "`env` (default os.environ) with demo.sh's settings added; an existing PYTHONWARNINGS keeps its own filters too."
    env = dict(os.environ if env is None else env)
    pw = [w for w in env.get('PYTHONWARNINGS', '').split(',') if w]
    if KERNEL_ENV['PYTHONWARNINGS'] not in pw: pw.append(KERNEL_ENV['PYTHONWARNINGS'])
    env['PYTHONWARNINGS'] = ','.join(pw)
    env['NO_MKDOCS_2_WARNING'] = KERNEL_ENV['NO_MKDOCS_2_WARNING']
    return env

def run(fn, flags, dest=None):
    fn = Path(fn).resolve()
    nb = read_nb(fn)
    def _skip(cell):
        if cell.cell_type != 'code': return True
        d = _directives(cell.source)
        if 'nbdev_export(' in cell.source: return True
        if d.get('eval', [''])[0].lower() == 'false': return True
        if flags & set(d):
            cell.outputs = []  # do not keep stale outputs of cells we did not run
            return True
        return False
    os.environ.update(kernel_env())  # before the shell exists: the kernel and its subprocesses see it
    shell = CaptureShell(fn, mpl_format='png')
    shell.run_cell(KERNEL_SETUP)     # not a notebook cell: nothing of it is saved
    t = time.time()
    with working_directory(fn.parent):
        shell.run_all(nb, exc_stop=True, preproc=_skip)
    write_nb(nb, dest or fn)
    return time.time() - t

if __name__ == '__main__':
    cfg = get_config()
    flags = set(cfg.get('tst_flags', '').split())
    args, out = sys.argv[1:], None
    if args[:1] == ['--out']:
        out, args = Path(args[1]), args[2:]
        out.mkdir(parents=True, exist_ok=True)
        import shutil
        for extra in Path(cfg.config_path/cfg.nbs_path).iterdir():  # images, styles next to the notebooks
            if extra.suffix != '.ipynb' and not extra.name.startswith('.'):
                (shutil.copytree if extra.is_dir() else shutil.copy)(extra, out/extra.name, **({'dirs_exist_ok': True} if extra.is_dir() else {}))
    fns = args or sorted(str(p) for p in Path(cfg.config_path/cfg.nbs_path).glob('[0-9]*.ipynb')) + [str(cfg.config_path/cfg.nbs_path/'index.ipynb')] + sorted(str(p) for p in Path(cfg.config_path/cfg.nbs_path).glob('tutorial*.ipynb'))
    for f in fns:
        dest = out/Path(f).name if out else None
        try: dt = run(f, flags, dest)
        except Exception as e:
            print(f'FAILED {f}: {e}', file=sys.stderr); sys.exit(1)
        print(f'{dt:6.1f}s  {f}')
        if not out: subprocess.run([str(Path(sys.executable).parent/'nbdev_clean'), '--fname', f], check=True)
