#!/usr/bin/env bash
# Creates .venv with a Python 3.10 and installs the project (idempotent: re-installs only when
# pyproject.toml changed). Sourced by scripts/start and scripts/test; also runnable alone.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

is_py310() { [ -x "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; }

find_python310() {
    local c
    if [ -n "${PYTHON:-}" ]; then
        is_py310 "$PYTHON" && { echo "$PYTHON"; return 0; }
        echo "PYTHON=$PYTHON is not a Python 3.10 interpreter." >&2; return 1
    fi
    for c in python3.10 python3 python; do
        c="$(command -v "$c" 2>/dev/null)" || continue
        # pyenv shims answer for versions that are not active: check the real interpreter runs.
        is_py310 "$c" && { echo "$c"; return 0; }
    done
    for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do
        is_py310 "$c" && { echo "$c"; return 0; }
    done
    return 1
}

if ! is_py310 "$VENV/bin/python"; then
    if ! PY="$(find_python310)"; then
        cat >&2 <<'MSG'
ERROR: no Python 3.10 interpreter found.
Rasa Open Source 3.6 runs on Python 3.8-3.10 only, and this project uses 3.10.
Install one, then run this command again:
  - with pyenv:   pyenv install 3.10          (it is then found automatically)
  - on Debian:    apt-get install python3.10 python3.10-venv
  - or point to one:  PYTHON=/path/to/python3.10 <this command>
MSG
        exit 1
    fi
    echo "==> creating .venv with $PY ($("$PY" --version 2>&1))"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
fi

STAMP="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
    echo "==> installing dependencies into .venv (first run takes a few minutes)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip wheel setuptools
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[dev]"
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
    echo "==> dependencies installed"
fi
export PATH="$VENV/bin:$PATH"
