"""Build and install Detectron2 v0.6 from the `pb1-detectron2==0.6` sdist, pure Python.

Why: official Detectron2 is not on PyPI. `pb1-detectron2==0.6` carries the v0.6 sources
byte-identical to facebookresearch/detectron2 at tag v0.6, but without the C++ sources of
`detectron2._C`, and v0.6 predates Python 3.11, numpy 2, Pillow 10 and setuptools 82.
See ../shared/INSTALL.md. This script:

1. downloads the sdist from the package index and checks its sha256;
2. applies the small, listed compatibility patches below (each must match exactly, or the
   build stops: a silently skipped patch would hide a broken install);
3. builds a wheel without the C++ extension and installs it into the running interpreter.

What the missing `_C` costs: rotated-box ops and deformable conv raise a clear error when
called (never at import); COCO evaluation uses pycocotools (`use_fast_impl=False`).
If `detectron2` is already importable (an official build), nothing is done.

Usage: python scripts/build_detectron2.py [--force]
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

SDIST = "pb1-detectron2-0.6.tar.gz"
SHA256 = "5d2e9e51e523ec72f6a31cca04b0a515492e9514b773a3d134cedc0677170b29"
INDEX = os.environ.get("DENSEBENCH_PYPI_SIMPLE", "https://pypi.org/simple")

MISSING_C = '''"""Stand-in for the compiled `detectron2._C` (added by DenseBench's pure-Python build).

Every attribute access fails loudly, so an op that needs compiled code can never run silently."""


class _MissingCompiledOps:
    def __getattr__(self, name):
        raise RuntimeError(
            f"detectron2._C.{name} is unavailable: this Detectron2 was built without its compiled "
            "ops (pure-Python build). Install official Detectron2 to use rotated boxes or deformable conv."
        )


_C = _MissingCompiledOps()
'''

_GUARDED_IMPORT = (
    "try:\n    from detectron2 import _C\n"
    "except ImportError:  # DenseBench pure-Python build: fail when called, not at import\n"
    "    from detectron2._missing_C import _C\n"
)

# (file, old, new): literal replacements, each must occur exactly once.
PATCHES: list[tuple[str, str, str]] = [
    ("setup.py", "ext_modules=get_extensions(),", "ext_modules=[],"),
    ("setup.py", 'package_data={"detectron2.model_zoo": get_model_zoo_configs()},',
     'package_data={"detectron2.model_zoo": ["configs/**/*.yaml", "configs/**/*.py"]},'),
    ("setup.py", '        "black==21.4b2",\n', ""),  # clashes with click>=8.1; only LazyConfig.save uses it
    # Python 3.11: random.sample no longer takes a set
    ("detectron2/data/common.py", "self._rng.sample(self._fallback_candidates, k=1)[0]",
     "self._rng.sample(sorted(self._fallback_candidates), k=1)[0]"),
    # setuptools >= 82 has no pkg_resources
    ("detectron2/model_zoo/model_zoo.py", "import pkg_resources\n", ""),
    ("detectron2/model_zoo/model_zoo.py",
     'cfg_file = pkg_resources.resource_filename(\n        "detectron2.model_zoo", os.path.join("configs", config_path)\n    )',
     'cfg_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs", config_path)'),
    # Pillow >= 10 removed Image.LINEAR (it was an alias of BILINEAR)
    ("detectron2/data/transforms/transform.py", "interp=Image.LINEAR", "interp=Image.BILINEAR"),
    # numpy 2: copy=False means "never copy" now
    ("detectron2/layers/mask_ops.py", "mask = np.array(mask, copy=False)", "mask = np.asarray(mask)"),
    # modules that import the compiled ops at import time
    ("detectron2/layers/rotated_boxes.py", "from detectron2 import _C\n", _GUARDED_IMPORT),
    ("detectron2/layers/roi_align_rotated.py", "from detectron2 import _C\n", _GUARDED_IMPORT),
    ("detectron2/layers/deform_conv.py", "from detectron2 import _C\n", _GUARDED_IMPORT),
    ("detectron2/evaluation/fast_eval_api.py", "from detectron2 import _C\n", _GUARDED_IMPORT),
]

# numpy >= 1.24 removed the aliases np.int, np.float, np.bool, np.str, np.object.
NUMPY_ALIAS_FILES = [
    "detectron2/evaluation/pascal_voc_evaluation.py",
    "detectron2/evaluation/sem_seg_evaluation.py",
    "detectron2/structures/masks.py",
    "detectron2/data/datasets/pascal_voc.py",
    "detectron2/data/build.py",
    "detectron2/utils/visualizer.py",
    "detectron2/utils/video_visualizer.py",
]
_ALIAS = re.compile(r"\bnp\.(int|float|bool|str|object)\b")


def fetch_sdist(dest: Path) -> Path:
    """Download the sdist from the simple index and verify its sha256."""
    page = urllib.request.urlopen(f"{INDEX}/pb1-detectron2/", timeout=120).read().decode()
    m = re.search(r'href="([^"]*/' + re.escape(SDIST) + r')[^"]*"', page)
    if not m:
        sys.exit(f"build_detectron2: {SDIST} not listed at {INDEX}/pb1-detectron2/")
    url = m.group(1)
    if url.startswith("/"):
        url = INDEX.split("/simple")[0] + url
    path = dest / SDIST
    path.write_bytes(urllib.request.urlopen(url, timeout=300).read())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        sys.exit(f"build_detectron2: {SDIST} has sha256 {digest}, expected {SHA256}")
    return path


def apply_patches(src: Path) -> None:
    """Apply PATCHES and the numpy alias rewrite; stop if any patch does not match exactly once."""
    (src / "detectron2" / "_missing_C.py").write_text(MISSING_C)
    for rel, old, new in PATCHES:
        f = src / rel
        text = f.read_text()
        if text.count(old) != 1:
            sys.exit(f"build_detectron2: patch for {rel} matched {text.count(old)} times, expected 1: {old[:60]!r}")
        f.write_text(text.replace(old, new))
    for rel in NUMPY_ALIAS_FILES:
        f = src / rel
        text, n = _ALIAS.subn(lambda m: m.group(1), f.read_text())
        if n == 0:
            sys.exit(f"build_detectron2: expected numpy aliases in {rel}, found none")
        f.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="rebuild even if detectron2 imports")
    args = ap.parse_args()
    if importlib.util.find_spec("detectron2") is not None and not args.force:
        print("build_detectron2: detectron2 already installed; using it as is")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        with tarfile.open(fetch_sdist(tmpd)) as tar:
            tar.extractall(tmpd, filter="data")
        src = tmpd / "pb1-detectron2-0.6"
        apply_patches(src)
        env = dict(os.environ, FORCE_CUDA="0")
        pip = [sys.executable, "-m", "pip"]
        subprocess.run(pip + ["wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmpd / "wheel"), str(src)],
                       check=True, env=env)
        wheel = next((tmpd / "wheel").glob("*.whl"))
        subprocess.run(pip + ["install", "-q", "--no-deps", str(wheel)], check=True)
    print("build_detectron2: installed pure-Python Detectron2 v0.6")


if __name__ == "__main__":
    main()
