"""Dry run of scripts/gpu_perf.sh on a CPU machine: with this folder on PYTHONPATH, the packages of
requirements.txt that the GPU machine's image lacks (/work/.library/device/KINDS.md, read 2026-12-02)
import only from the folder gpu_perf.sh installs into (its carried wheels), as they would there."""
import sys
from importlib.machinery import PathFinder

SITE = "/tmp/densebench-site"  # scripts/gpu_perf.sh's --target folder
MISSING = {"zlib_ng", "pycocotools", "faster_coco_eval", "submitit", "fvcore", "iopath", "yacs", "termcolor",
           "omegaconf", "hydra", "pydot", "addict", "yapf", "prettytable", "ftfy", "faiss", "higra",
           "detectron2", "mmseg", "mmengine", "mmcv"}


class _OnlyFromSite:
    def find_spec(self, name, path=None, target=None):
        if "." in name or name not in MISSING:
            return None
        spec = PathFinder.find_spec(name, [SITE])
        if spec is None:
            raise ModuleNotFoundError(f"No module named '{name}' (not on the GPU machine; carry its wheel)", name=name)
        return spec


sys.meta_path.insert(0, _OnlyFromSite())
