#!/usr/bin/env bash
# The test suite: set up (first run only) and run pytest. Extra arguments go to pytest.
# MICROGRADX_EXTRAS adds extras to the install (CI adds `torch` for the PyTorch oracles).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh "test${MICROGRADX_EXTRAS:+,$MICROGRADX_EXTRAS}"
exec .venv/bin/python -m pytest "$@"
