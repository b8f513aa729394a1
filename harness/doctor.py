"""`bench doctor`: one screen of what is installed and which data sets are found. Run it first."""
from __future__ import annotations

import importlib.util
import os
import platform
from importlib import metadata

from harness.files import home


def _version(*dists: str) -> str | None:
    for d in dists:
        try:
            return f"{metadata.version(d)} ({d})"
        except metadata.PackageNotFoundError:
            continue
    return None


def _has_module(name: str) -> bool:
    """Whether a compiled extension module is installed (found without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


OPENCV_DISTS = ("opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless")


def opencv_line() -> str:
    """Which OpenCV distributions are installed: all four write the same `cv2` package, so two of
    them overwrite each other's files; ORL's selective search needs a contrib one alone."""
    found = [d for d in OPENCV_DISTS if _version(d)]
    if len(found) > 1:
        return (f"CLASH: {', '.join(found)} are all installed and share the cv2 folder; keep only "
                "opencv-contrib-python-headless (pip uninstall the others, then reinstall it)")
    if not found:
        return "NOT INSTALLED (pip install opencv-contrib-python-headless)"
    contrib = "contrib" in found[0]
    return f"{_version(found[0])}" + ("" if contrib else "; no contrib modules: ORL's stage 2 (selective search) cannot run")


def report(data_root: str | None = None) -> str:
    import torch
    lines = [f"python       {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus"]
    cuda = torch.cuda.is_available()
    lines.append(f"torch        {torch.__version__}; CUDA {'available: ' + str(torch.cuda.device_count()) + ' GPU(s)' if cuda else 'not available (CPU)'}")
    lines.append(f"torchvision  {_version('torchvision') or 'NOT INSTALLED'}")
    from harness.threads import describe
    t = describe()
    wait = (f"OMP_WAIT_POLICY={t['OMP_WAIT_POLICY']}" if t["OMP_WAIT_POLICY"] else
            f"GOMP_SPINCOUNT={t['GOMP_SPINCOUNT']}" if t["GOMP_SPINCOUNT"] else "libgomp default")
    lines.append(f"threads      {t['torch_threads']} intra-op (of {t['cpus']} usable CPUs"
                 f"{', OMP_NUM_THREADS=' + t['OMP_NUM_THREADS'] if t['OMP_NUM_THREADS'] else ''}); idle wait: {wait}")
    d2 = _version("detectron2", "pb1-detectron2")
    if d2 and importlib.util.find_spec("detectron2") is not None:
        ops = "compiled ops present" if _has_module("detectron2._C") else \
            "pure-Python build: no compiled ops (rotated boxes, deform conv unavailable; COCO eval via pycocotools)"
        lines.append(f"detectron2   {d2}; {ops}")
    else:
        lines.append("detectron2   NOT INSTALLED (coco_det cannot run; run scripts/bootstrap.sh)")
    mmseg, mmcv = _version("mmsegmentation"), _version("mmcv", "mmcv-lite")
    ops = ""
    if mmcv and importlib.util.find_spec("mmcv") is not None:
        ops = ("; compiled ops present" if _has_module("mmcv._ext") else
               "; no compiled ops: DenseBench's stand-in is active (FCN/ASPP run; ops like DCN fail loudly)")
    lines.append(f"mmseg/mmcv   {mmseg or 'mmsegmentation not installed'}; {mmcv or 'mmcv not installed'}{ops}")
    lines.append(f"pycocotools  {_version('pycocotools') or 'NOT INSTALLED'}; safetensors {_version('safetensors') or 'NOT INSTALLED'}")
    lines.append(f"opencv       {opencv_line()}")
    lines.append(f"home         {home()}  (DENSEBENCH_HOME: caches, checkpoints, results)")
    root = data_root or os.environ.get("DENSEBENCH_DATA")
    if not root:
        lines.append("data root    not set (--data-root or DENSEBENCH_DATA); the mini profile uses synthetic data")
    else:
        from pathlib import Path

        from harness.data import LAYOUTS
        from harness.errors import BenchError
        lines.append(f"data root    {root}")
        for lay in LAYOUTS.values():
            for split in lay.default_splits:
                try:
                    lines.append(f"  {lay.name} {split:<9} {lay.present(Path(root) / lay.folder, split)}")
                except BenchError as e:
                    lines.append(f"  {lay.name} {split:<9} missing: {e}")
    synth = sorted((home() / "data").glob("synth-*")) if (home() / "data").exists() else []
    lines.append(f"synthetic    {', '.join(p.name for p in synth) or 'none cached yet (made on first mini run)'}")
    return "\n".join(lines)
