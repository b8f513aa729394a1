#!/usr/bin/env bash
# README command 2: set up what is missing, then run the whole test suite (CI runs exactly this).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"` for the quick loop.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=$(bash "$top/scripts/bootstrap.sh")
cd "$top"
exec "$venv/bin/python" -m pytest "$@"
