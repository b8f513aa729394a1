#!/usr/bin/env bash
# README command 2: set up what is missing, then run the whole test suite (CI runs exactly this).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"` for the quick loop.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=$(bash "$top/scripts/bootstrap.sh")
# the report test opens the page in a real headless browser: Chromium from Debian's packages
if ! command -v chromium >/dev/null 2>&1; then
  echo "test.sh: installing chromium (Debian package) for tests/leaderboards/test_report.py" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null \
    || echo "test.sh: could not install chromium; the report test will fail" >&2
fi
cd "$top"
exec "$venv/bin/python" -m pytest "$@"
