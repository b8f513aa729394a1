#!/usr/bin/env bash
# README command 1: set up, then run the main job on the embedded mini default:
# MoCo v2 pre-training -> canonical checkpoint -> Detectron2 Mask R-CNN on synthetic COCO.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=$(bash "$top/scripts/bootstrap.sh")
cd "$top"
exec "$venv/bin/bench" run --method mocov2 --task coco_det --scale mini "$@"
