#!/usr/bin/env bash
# Run the whole test suite. Sandbox tests start the project's own Asterisk and fail
# (never skip) if it cannot be provisioned or started.
set -euo pipefail
cd "$(dirname "$0")/.."
t=$(date +%s.%N)
rc=0
.venv/bin/python -m pytest -q "$@" || rc=$?
echo "[test] wall time $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s" >&2
exit $rc
