"""mmcv without compiled ops: the smallest stand-in that lets mmsegmentation import.

mmcv-lite ships no `mmcv._ext`, yet `mmcv.ops` loads it at import time and a few mmseg modules
import `mmcv.ops` unconditionally. None of DenseBench's segmentation protocols calls a compiled op
(FCN, ASPP: convolutions, BN, interpolation). Where the real extension is missing, this registers a
module `mmcv._ext` whose every attribute is a function that raises when *called*, so importing works
and a protocol that would use a compiled op (DCN, CCNet, PSANet, sigmoid focal loss, ...) fails
loudly instead of silently. Where compiled mmcv is installed it is used as is.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types


class _MissingOps(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)

        def missing(*args, **kwargs):
            raise RuntimeError(f"mmcv compiled op '{name}' is not available: mmcv-lite is installed without "
                               "compiled ops (see `bench doctor`); this protocol needs full mmcv")
        return missing


def mmcv_ops_kind() -> str:
    """'compiled' if mmcv's extension is installed, else registers the stand-in and returns 'stand-in'."""
    existing = sys.modules.get("mmcv._ext")
    if isinstance(existing, _MissingOps):
        return "stand-in"
    if existing is not None:
        return "compiled"
    import mmcv
    if importlib.util.find_spec("mmcv._ext") is not None:
        return "compiled"
    stub = _MissingOps("mmcv._ext")
    stub.__spec__ = importlib.machinery.ModuleSpec("mmcv._ext", loader=None)  # mmengine inspects it
    stub.__file__ = "<densebench stand-in for mmcv._ext>"
    sys.modules["mmcv._ext"] = stub
    mmcv._ext = stub
    return "stand-in"
