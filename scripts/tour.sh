#!/usr/bin/env bash
# The main job: set up (first run only) and write the lecture tour to ./tour-output (open index.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/microgradx tour --out "${1:-tour-output}"
