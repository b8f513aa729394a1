#!/usr/bin/env bash
# Issue 24, part 1 on a lent GPU: `bench perf step --device cuda` (every method's `paper` recipe at its
# per-GPU batch and published precision, TFLOP/s, fraction of the GPU's measured fp16 GEMM rate).
#
#   here, once:  bash scripts/gpu_perf.sh prepare    # wheels the GPU machine lacks -> .whl/ (git-ignored)
#   device tool: run(command="bash scripts/gpu_perf.sh run", carry=[".whl"], timeout_s=480)
#
# The GPU machine (/work/.library/device/KINDS.md) runs Python 3.12 with torch, torchvision, numpy,
# OpenCV (headless), scipy, scikit-image, safetensors, pyyaml, pandas and matplotlib. Of what
# pre-training needs it lacks pycocotools (the synthetic COCO set the steps take their images from)
# and higra (hiergroup's UCM grouping). Detectron2 and mmseg are not needed for `bench perf`.
# DenseBench itself goes into a --target folder (entry points and recipe files with it), so nothing
# is written into the machine's own Python.
#
# Dry run on this CPU (checks the install and every import against the GPU machine's package set;
# scripts/gpu_dry_run/sitecustomize.py hides what that machine lacks):
#   PYVER=3.11 bash scripts/gpu_perf.sh prepare
#   PYTHON=<venv>/bin/python DEVICE=cpu STEPS=1 BATCH=2 PYTHONPATH_EXTRA=scripts/gpu_dry_run \
#     bash scripts/gpu_perf.sh run
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
case "${1:-}" in
prepare)
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
  rm -rf .whl
  "$py" -m pip download -q --no-deps --only-binary=:all: --python-version "${PYVER:-3.12}" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl pycocotools higra
  ls -l .whl
  ;;
run)
  out=${OUT:-/tmp/gpu_perf}
  site=/tmp/densebench-site
  mkdir -p "$out"
  rm -rf "$site"
  "$py" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target "$site" . .whl/*.whl
  export PYTHONPATH="${PYTHONPATH_EXTRA:+$PYTHONPATH_EXTRA:}$site" DENSEBENCH_HOME=/tmp/densebench-home PYTHONUNBUFFERED=1
  if [ "${DEVICE:-cuda}" = cuda ]; then
    nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv | tee "$out/gpu.txt"
    "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$out/gpu.txt"
  fi
  # hiergroup's `paper` recipe needs the BSDS500 structured-edges model file, which is not on that
  # machine: its gradient-edges variant (the same network and step, DenseBench's classical edges) runs
  # instead. The others: every method whose `paper` recipe trains without earlier stages (not ORL).
  methods=$("$py" -c "from harness.registry import METHODS as M; print(' '.join('--method ' + n for n in M.names()
    if n != 'hiergroup' and 'paper' in M.card(n).recipes and M.card(n).recipe('paper').train is not None
    and not M.card(n).recipe('paper').after))")
  opts="--device ${DEVICE:-cuda} ${STEPS:+--steps $STEPS} ${BATCH:+--batch $BATCH}"
  # shellcheck disable=SC2086  # word lists
  "$py" -m app.cli perf step $opts --recipe paper $methods 2>&1 | tee "$out/perf.txt"
  # shellcheck disable=SC2086
  "$py" -m app.cli perf step $opts --recipe paper_gradient_edges --method hiergroup 2>&1 | tee "$out/perf_hiergroup.txt"
  ;;
*)
  echo "usage: bash scripts/gpu_perf.sh prepare|run (see the comments at its top)" >&2
  exit 2
  ;;
esac
