#!/usr/bin/env bash
# The test command (README, .ci/run): set up .venv, then
#  1. the exported library must match the notebooks (fails on any difference),
#  2. the notebooks must be clean (nbdev_clean changes nothing),
#  3. every notebook runs (nbdev_test; cells flagged `slow` or `gpu` are skipped on CPU),
#  4. pytest tests/ (fixture tests, and the docs site built and opened in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash tools/setup_env.sh
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium (the docs test opens the site in it)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
export PATH="$PWD/.venv/bin:$PATH" NO_MKDOCS_2_WARNING=1 PYTHONWARNINGS="ignore::FutureWarning"

echo "== 1/4 library matches notebooks"
python tools/check_export.py

echo "== 2/4 notebooks are clean"
python tools/check_clean.py

echo "== 3/4 notebooks (nbdev_test)"
# the exploration notebooks show trained models: the model cache holds the demo's small SynthFER checkpoints
# (trains only what is missing: about the demo's time on a fresh machine, nothing when warm)
OMP_NUM_THREADS=1 python -m fer_explore.studies.zoo fill
# two notebooks at a time, one thread each: on 2 cores, torch's own threads would only fight each other
OMP_NUM_THREADS=1 nbdev_test --n_workers 2 --timing

echo "== 4/4 pytest tests/"
python -m pytest -q tests/
echo "== all checks passed in $(( $(date +%s) - start )) s"
