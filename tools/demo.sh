#!/usr/bin/env bash
# The main job (README): set up .venv, then `fer-explore demo`: train the small configuration of every model
# (dan, daf_mhsca, cf_dan, dsan, wamf, resnet18) on SynthFER, evaluate each on SynthFER's test split, and write
# the report (metrics.json, a confusion matrix and training curves per model, index.html) into fer_explore_demo/.
# No data and no GPU needed; about 10 minutes on a 2-core CPU.
#   bash tools/demo.sh [--out DIR] [--docs]
# --docs also runs every notebook afresh into _proc/executed/ and builds the documentation site into _docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=fer_explore_demo; docs=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --docs) docs=1; shift ;;
    *) echo "usage: bash tools/demo.sh [--out DIR] [--docs]" >&2; exit 2 ;;
  esac
done
bash tools/setup_env.sh
export PATH="$PWD/.venv/bin:$PATH" NO_MKDOCS_2_WARNING=1 PYTHONWARNINGS="ignore::FutureWarning"
echo "== fer-explore demo (every model on SynthFER; a line per epoch of each model, then one per finished model)"
python -m fer_explore.app.cli demo --out "$out"
if [ "$docs" = 1 ]; then
  echo "== running the notebooks"
  python tools/run_notebooks.py --out _proc/executed
  echo "== building the documentation site"
  site=$(python tools/build_docs.py --out _docs --nbs _proc/executed | tail -1)
  echo "== docs: open $site in a browser"
fi
echo "== done: open $out/index.html in a browser"
