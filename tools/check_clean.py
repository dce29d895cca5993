"""Fail when a notebook is not clean (what `nbdev_clean` would change: execution counts,
metadata noise, cell ids). Works on scratch copies so the check never modifies nbs/."""
import shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]

def main():
    dirty = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copy(ROOT/'settings.ini', tmp/'settings.ini')
        shutil.copytree(ROOT/'nbs', tmp/'nbs')
        subprocess.run([str(Path(sys.executable).parent/'nbdev_clean')], cwd=tmp, check=True)
        for nb in sorted((ROOT/'nbs').rglob('*.ipynb')):
            rel = nb.relative_to(ROOT/'nbs')
            if nb.read_bytes() != (tmp/'nbs'/rel).read_bytes(): dirty.append(str(nb.relative_to(ROOT)))
    if dirty:
        print('These notebooks are not clean; run `nbdev_clean` (or install the hooks, see README):\n  ' + '\n  '.join(dirty))
        sys.exit(1)
    print(f'{len(list((ROOT/"nbs").rglob("*.ipynb")))} notebooks are clean')

if __name__ == '__main__': main()
