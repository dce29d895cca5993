"""Fail when the library in fer_explore/ is not what the notebooks export.

Exports the notebooks into a scratch copy of the project and compares every file of the
library, so the working tree is never modified by the check itself.
"""
import filecmp, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]

def tree(p: Path) -> dict:
    return {f.relative_to(p).as_posix(): f for f in p.rglob('*.py') if '__pycache__' not in f.parts}

def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in ('settings.ini', 'setup.py', 'pyproject.toml', 'README.md'):
            if (ROOT/name).exists(): shutil.copy(ROOT/name, tmp/name)
        shutil.copytree(ROOT/'nbs', tmp/'nbs')
        lib = tmp/'fer_explore'; lib.mkdir()
        if (ROOT/'fer_explore'/'__init__.py').exists(): shutil.copy(ROOT/'fer_explore'/'__init__.py', lib/'__init__.py')
        subprocess.run([str(Path(sys.executable).parent/'nbdev_export')], cwd=tmp, check=True)
        want, have = tree(lib), tree(ROOT/'fer_explore')
        problems = [f'  {k}: exported by the notebooks but missing from fer_explore/' for k in sorted(set(want) - set(have))]
        problems += [f'  {k}: in fer_explore/ but no notebook exports it' for k in sorted(set(have) - set(want))]
        for k in sorted(set(want) & set(have)):
            if not filecmp.cmp(want[k], have[k], shallow=False):
                diff = subprocess.run(['diff', '-u', str(have[k]), str(want[k])], capture_output=True, text=True).stdout
                problems.append(f'  {k}: differs from what the notebooks export\n' + '\n'.join('    ' + l for l in diff.splitlines()[:40]))
    if problems:
        print('The notebooks and the library disagree (never edit fer_explore/*.py by hand; '
              'edit the notebook and run nbdev_export):\n' + '\n'.join(problems))
        sys.exit(1)
    print(f'fer_explore/ matches the notebooks ({len(want)} files)')

if __name__ == '__main__': main()
