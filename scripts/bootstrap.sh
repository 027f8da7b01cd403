#!/usr/bin/env bash
# Set up a fresh machine for microgradx: Graphviz's `dot`, a virtualenv in .venv, the package (editable), and
# .link-tree/ for editors.
# Usage: bash scripts/bootstrap.sh [EXTRAS]      e.g. `bash scripts/bootstrap.sh test`
# Idempotent and quick when nothing changed. Needs Python 3.10+.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"

say() { printf '\033[1m[microgradx setup]\033[0m %s\n' "$*" >&2; }

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    say "Python 3.10 or newer is required (found: $("$python" --version 2>&1 || echo none))."
    exit 1
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
    command -v apt-get >/dev/null || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
        || { as_root apt-get update -qq >/dev/null 2>&1 && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

if ! command -v dot >/dev/null; then
    say "installing Graphviz (the 'dot' binary) ..."
    if ! apt_install graphviz; then
        say "could not install Graphviz automatically. Install it yourself to render graphs:"
        say "  Debian/Ubuntu: sudo apt-get install graphviz   macOS: brew install graphviz   conda: conda install graphviz"
        say "(everything else works without it; graphs are then saved as DOT source)"
    fi
fi

# The browser tests drive Debian's chromium (Playwright's own browser downloads are not reachable on CI).
# MICROGRADX_REQUIRE_BROWSER=1 (set by .ci/run) installs it and makes a missing browser fail those tests.
if [ "${MICROGRADX_REQUIRE_BROWSER:-0}" != 0 ] && ! command -v chromium >/dev/null; then
    say "installing Debian's chromium for the browser tests ..."
    apt_install chromium || say "could not install chromium: the browser tests will fail (MICROGRADX_REQUIRE_BROWSER=1)"
fi

if [ ! -x .venv/bin/python ]; then
    say "creating the virtualenv .venv ..."
    if ! "$python" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        apt_install python3-venv || true
        "$python" -m venv .venv
    fi
    .venv/bin/python -m pip install -q --upgrade pip
fi

spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp=".venv/.microgradx-installed"
want="$(cat setup.cfg pyproject.toml | sha1sum | cut -c1-12) $extras"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing microgradx${extras:+ with extras [$extras]} into .venv (first time takes a few minutes) ..."
    # setuptools prints an "Editable installation" notice for every flat-layout project (even one with a single
    # package and no package_dir): only a src/ layout avoids it, and kernels/ and viz/ stay top-level folders.
    # Its advice (a folder named like the package in the working directory may shadow it) cannot bite here,
    # where that folder is the installed source itself, so the notice alone is silenced.
    PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install -q -e "$spec"
    echo "$want" > "$stamp"
fi

# Editors and static tools cannot read the editable install's import hook: .link-tree/ shows them the package as
# installed, so imports of microgradx.kernels lead into kernels/ (CONTRIBUTING.md, "Editors and static tools").
.venv/bin/python scripts/link_tree.py || say "could not build .link-tree/ for editors (everything else works without it)"
