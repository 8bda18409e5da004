#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian machine, idempotently:
#   1. host tools from Debian (sipp is the package sip-tester; espeak-ng; sox; ffmpeg, which
#      pydub needs to read MP3/OGG/M4A recordings; postgresql, whose server programs the tests
#      run as a private cluster: ivr/sandbox/postgres.py),
#   2. a project-local virtual environment (.venv) with the project and its test tools
#      (pytest and the linters `make test` runs first: ruff, mypy),
#   3. the sandbox Asterisk's files (Debian's sid build, unpacked under var/; no host libc change).
# Needs root for step 1 only when a package is missing. Prints the wall time of each step.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
t_all=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

t=$(date +%s.%N)
need=()
for p in sip-tester espeak-ng sox ffmpeg postgresql; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
"$PY" -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "[setup] host packages (apt)      $(elapsed "$t") s" >&2

t=$(date +%s.%N)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
if ! .venv/bin/python -c 'import ivr, cli, pytest, pytest_asyncio, hypothesis, mypy, psycopg, psycopg_pool' 2>/dev/null \
   || [ ! -x .venv/bin/ruff ] \
   || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]' 2>&1 \
    | grep -v 'is ignored: it is neither' >&2 || true
  .venv/bin/python -c 'import ivr, cli, pytest, mypy' && .venv/bin/ruff --version >/dev/null \
    && touch .venv/.installed
fi
echo "[setup] python venv + pip        $(elapsed "$t") s" >&2

t=$(date +%s.%N)
.venv/bin/ivr sandbox provision >&2
echo "[setup] sandbox Asterisk files   $(elapsed "$t") s" >&2
echo "[setup] total                    $(elapsed "$t_all") s" >&2
