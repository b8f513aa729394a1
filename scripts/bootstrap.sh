#!/usr/bin/env bash
# Set up DenseBench's virtualenv (once) and print its path.
# The venv lives outside the checkout, keyed by a hash of the dependency files, so CI and later
# runs reuse it: $DENSEBENCH_VENV_ROOT (default ~/.cache/densebench/venvs)/py311-<hash>.
# Usage: venv=$(bash scripts/bootstrap.sh)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
py=${PYTHON:-python3}
recipe=1  # bump when the venv-building steps below change
key=$( (echo "$recipe"; cat requirements.txt requirements-mm.txt scripts/build_detectron2.py) | sha256sum | cut -c1-12)
pyver=$("$py" -c 'import sys; print("py%d%d" % sys.version_info[:2])')
root=${DENSEBENCH_VENV_ROOT:-$HOME/.cache/densebench/venvs}
venv=$root/$pyver-$key
mkdir -p "$root"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# pip install, quiet on success; on failure show its output and stop
pipq() {
  "$venv/bin/python" -m pip install -q "$@" >"$log" 2>&1 \
    || { grep -v "^WARNING: Location" "$log" >&2; echo "bootstrap: pip install $* failed" >&2; exit 1; }
}
exec 9>"$root/.lock"
flock 9  # one set-up at a time
if [ ! -f "$venv/.complete" ]; then
  echo "bootstrap: creating $venv (first time: a few minutes)" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  pipq --upgrade pip "setuptools<82" wheel
  # this machine's pip takes these two from local disk (CUDA builds; they run on the CPU too)
  pipq torch==2.14.1 torchvision==0.29.1
  pipq -r requirements.txt
  pipq --no-deps -r requirements-mm.txt
  "$venv/bin/python" scripts/build_detectron2.py >&2
  "$venv/bin/python" -c "import torch, torchvision, detectron2.evaluation, pycocotools, safetensors, faiss, skimage
from benchmarks.mm_compat import mmcv_ops_kind; mmcv_ops_kind(); import mmseg.models, mmseg.datasets
import cv2; cv2.ximgproc.segmentation.createSelectiveSearchSegmentation" \
    || { echo "bootstrap: $venv failed its import check" >&2; exit 1; }
  touch "$venv/.complete"
fi
touch "$venv/.last_used"
# venvs are 5+ GB each: remove those of older dependency files once unused for 2 days (never one
# that a running job may still use)
for old in "$root/$pyver"-*; do
  if [ "$old" != "$venv" ] && [ -d "$old" ] && [ -z "$(find "$old" -maxdepth 1 \( -name .last_used -o -name .complete \) -mtime -2)" ]; then
    echo "bootstrap: removing $old (unused for 2 days)" >&2; rm -rf "$old"
  fi
done
# (re)install this checkout editable when it moved or its pyproject.toml changed: methods and tasks
# register through entry points, which live in the installed metadata, not in the source tree
stamp="$top $(sha256sum pyproject.toml | cut -c1-16)"
if [ "$(cat "$venv/.densebench-editable" 2>/dev/null)" != "$stamp" ] || \
   [ "$(cd / && "$venv/bin/python" -c 'import harness, os; print(os.path.dirname(os.path.dirname(harness.__file__)))' 2>/dev/null)" != "$top" ]; then
  pipq --no-deps --no-build-isolation -e "$top"
  echo "$stamp" > "$venv/.densebench-editable"
fi
# byte-compile the checkout's packages (pip compiles installed packages, not an editable checkout):
# where bytecode cannot be written at run time (PYTHONDONTWRITEBYTECODE, as in this project's
# sandbox, or a read-only checkout) every `bench` call would otherwise compile them again, about
# 0.02 s of a 0.2 s `bench davis-score` (docs/measured-speed.md, "DAVIS J&F scoring"); up-to-date files are skipped,
# and a stale or missing .pyc only costs that time (Python checks each source's mtime)
"$venv/bin/python" -m compileall -q -j 0 harness benchmarks pretrainers leaderboards >&2 \
  || echo "bootstrap: byte-compiling the checkout failed (see above); continuing without" >&2
echo "$venv"
