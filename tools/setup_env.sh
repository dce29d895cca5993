#!/usr/bin/env bash
# Create (or update) the project's environment in .venv from a machine that has only python3.
# Installs the pinned development set (requirements-dev.txt) and fer_explore itself (editable).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($PY --version)"
  $PY -m venv .venv
fi
stamp=.venv/.fer_explore_installed
if [ ! -f "$stamp" ] || ! cmp -s requirements-dev.txt "$stamp"; then
  echo "== installing requirements-dev.txt into .venv (first time: a few minutes)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt 2>&1 | grep -v "^WARNING: Location" || true
  # Quantus without its opencv-python requirement (it would shadow opencv-python-headless); its other needs are pinned above
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps quantus==0.6.0 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import fer_explore, fastai, nbdev, torch, quantus, skimage" # fail here, not later, if the install broke
  # the docs site's browser packages (KaTeX, Material's search shim), exact versions in tools/build_docs.py (JS_PACKAGES)
  .venv/bin/python tools/build_docs.py --install-js >/dev/null
  cp requirements-dev.txt "$stamp"
fi
