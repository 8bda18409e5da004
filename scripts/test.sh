#!/usr/bin/env bash
# Run the linters, then the whole test suite. ruff and mypy (configured in pyproject.toml)
# take a few seconds; a finding fails the run before the long suite starts. Sandbox tests
# start the project's own Asterisk and fail (never skip) if it cannot be provisioned or started.
set -euo pipefail
cd "$(dirname "$0")/.."
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
t=$(date +%s.%N)
rc=0
.venv/bin/ruff check --quiet . || rc=$?
.venv/bin/mypy --no-error-summary || rc=$?
echo "[test] ruff + mypy $(elapsed "$t") s" >&2
if [ $rc -ne 0 ]; then
  echo "[test] the linters found problems (above): fix them, then run the tests" >&2
  exit $rc
fi
t=$(date +%s.%N)
.venv/bin/python -m pytest -q "$@" || rc=$?
echo "[test] wall time $(elapsed "$t") s" >&2
exit $rc
