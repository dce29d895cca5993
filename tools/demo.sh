#!/usr/bin/env bash
# The main job (README): set up .venv, run every notebook afresh (each module built from its
# equations, tested, and shown on SynthFER faces) into _proc/executed/ (nbs/ is left untouched),
# and build the documentation site from those runs into _docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
export PATH="$PWD/.venv/bin:$PATH" NO_MKDOCS_2_WARNING=1 PYTHONWARNINGS="ignore::FutureWarning"
echo "== running the notebooks"
python tools/run_notebooks.py --out _proc/executed
echo "== building the documentation site"
site=$(python tools/build_docs.py --out _docs --nbs _proc/executed | tail -1)
echo "== done: open $site in a browser"
