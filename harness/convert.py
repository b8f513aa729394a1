"""Converters: canonical checkpoint -> per-backend weights, and official releases -> canonical.

Every converter is strict about coverage: every backbone key is consumed, nothing is missing, and
what was dropped (fc, projector/predictor heads, BN counters) is reported, never silently skipped.
User files are read without executing code: safetensors, or `torch.load(weights_only=True)`.
"""
from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.backbone import IMAGENET_NORM
from harness.checkpoint import infer_arch
from harness.config import atomic_write_bytes
from harness.errors import BenchError


@dataclass
class Report:
    """What a conversion consumed and dropped (shown to the user and stored in results)."""
    converted: int = 0
    dropped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        heads = sorted({k.split(".")[0] for k in self.dropped})
        return f"{self.converted} tensors converted, {len(self.dropped)} dropped ({', '.join(heads) or 'none'})"


# ---------------------------------------------------------------- canonical -> Detectron2
def _d2_name(k: str) -> str:
    """torchvision ResNet key -> Detectron2 ResNet key (as in the papers' convert-*-to-d2 scripts)."""
    if not k.startswith("layer"):
        k = "stem." + k  # conv1, bn1
    for t in range(4):
        k = k.replace(f"layer{t + 1}", f"res{t + 2}")
    for t in range(4):
        k = k.replace(f"bn{t + 1}", f"conv{t + 1}.norm")
    k = k.replace("downsample.0", "shortcut").replace("downsample.1", "shortcut.norm")
    return k


def to_detectron2(state: dict[str, torch.Tensor]) -> tuple[dict[str, np.ndarray], Report]:
    """Canonical tensors -> Detectron2 backbone arrays (float32 numpy), with a report."""
    rep, out = Report(), {}
    for k, v in state.items():
        if k.startswith("fc.") or k.endswith("num_batches_tracked"):
            rep.dropped.append(k)
            continue
        out[_d2_name(k)] = v.detach().cpu().float().numpy()
        rep.converted += 1
    return out, rep


def write_detectron2(state: dict[str, torch.Tensor], out: str | Path) -> Report:
    """Write the Detectron2 weights pickle {"model", "__author__", "matching_heuristics": True}."""
    model, rep = to_detectron2(state)
    blob = pickle.dumps({"model": model, "__author__": "densebench", "matching_heuristics": True})
    atomic_write_bytes(out, blob)
    return rep


def write_torchvision(state: dict[str, torch.Tensor], out: str | Path) -> Report:
    """Write a plain torchvision state dict (.pth, tensors only: loads with weights_only=True)."""
    import io
    kept = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    rep = Report(converted=len(kept), dropped=sorted(set(state) - set(kept)))
    buf = io.BytesIO()
    torch.save(kept, buf)
    atomic_write_bytes(out, buf.getvalue())
    return rep


def to_mmseg(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], Report]:
    """Canonical tensors -> mmseg plain `ResNet` (style pytorch) backbone keys: torchvision's names
    exactly, fc and BN counters dropped (not ResNetV1c, whose deep stem torchvision weights cannot fill)."""
    kept = {k: v.detach().cpu().float().contiguous() for k, v in state.items()
            if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}
    return kept, Report(converted=len(kept), dropped=sorted(set(state) - set(kept)))


def write_mmseg(state: dict[str, torch.Tensor], out: str | Path) -> Report:
    """Write {"state_dict": backbone tensors, "meta": {...}} (tensors only: loads with weights_only=True)."""
    import io
    kept, rep = to_mmseg(state)
    buf = io.BytesIO()
    torch.save({"state_dict": kept, "meta": {"author": "densebench", "format": "mmseg ResNet (style pytorch)"}}, buf)
    atomic_write_bytes(out, buf.getvalue())
    return rep


BACKENDS = {"detectron2": write_detectron2, "torchvision": write_torchvision, "mmseg": write_mmseg}

# ---------------------------------------------------------------- user / official files -> canonical
# Which encoder each official release stores the exported backbone under (PROTOCOLS.md).
SOURCES: dict[str, dict[str, Any]] = {
    "torchvision": {"prefix": "", "encoder": "online"},
    "pixpro": {"prefix": "module.encoder.", "encoder": "online"},
    "pixcontrast": {"prefix": "module.encoder.", "encoder": "online"},
    "slotcon": {"prefix": "module.encoder_k.", "encoder": "ema"},
    "mocov2": {"prefix": "module.encoder_q.", "encoder": "online"},
    "orl": {"prefix": "backbone.", "encoder": "online"},
    "densecl": {"prefix": "backbone.", "encoder": "online"},
    "byol": {"prefix": "backbone.", "encoder": "online"},
}


def safe_load(path: str | Path) -> Any:
    """Read a user-supplied weights file without executing code.

    safetensors files are read as tensors; anything else goes through
    `torch.load(weights_only=True)`, which refuses pickles that would call arbitrary code.
    """
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) >= 9 and head[8:9] == b"{":  # safetensors: 8-byte header length, then JSON
        from safetensors.torch import load_file
        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BenchError(f"{path}: refused to load: the pickle holds objects other than tensors and plain "
                         f"containers, which could run code ({first[:120]})") from e
    except Exception as e:
        raise BenchError(f"{path}: cannot read as safetensors or a torch weights file ({type(e).__name__})") from e


def _find_state_dict(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "teacher"):
            if key in obj and isinstance(obj[key], dict):
                return _find_state_dict(obj[key], path)
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise BenchError(f"{path}: no state dict of tensors found (looked at the file, 'state_dict', 'model')")


def import_state(path: str | Path, source: str) -> tuple[dict[str, torch.Tensor], str, Report]:
    """Extract the ResNet backbone of an official release (or a torchvision file).

    Returns (canonical tensors, arch, report). Keys outside the source's encoder prefix and the
    encoder's fc/head keys are dropped and reported; the remaining keys must form exactly one
    torchvision ResNet backbone.
    """
    if source not in SOURCES:
        raise BenchError(f"--from '{source}' is not known (expected one of {', '.join(SOURCES)})")
    path = Path(path)
    sd = _find_state_dict(safe_load(path), path)
    prefix = SOURCES[source]["prefix"]
    rep, state = Report(), {}
    backbone = re.compile(r"^(conv1|bn1|layer[1-4])\.")
    for k, v in sd.items():
        name = k[len(prefix):] if k.startswith(prefix) else None
        if name is None and prefix.startswith("module.") and k.startswith(prefix[len("module."):]):
            name = k[len(prefix) - len("module."):]  # saved without DDP's module. prefix
        if name is None or not backbone.match(name) or name.endswith("num_batches_tracked"):
            rep.dropped.append(k)
            continue
        state[name] = v.detach().float().contiguous()
        rep.converted += 1
    if not state:
        raise BenchError(f"{path}: no backbone keys under prefix '{prefix}' (is --from {source} right?)")
    return state, infer_arch(set(state)), rep


def import_meta(source: str, arch: str, path: Path, **extra: Any) -> dict[str, Any]:
    """Metadata for an imported checkpoint; unknown facts are recorded as 'unknown', not guessed."""
    return {"method": extra.get("method") or source, "arch": arch, "pretrain_data": extra.get("pretrain_data", "unknown"),
            "epochs": extra.get("epochs", "unknown"), "recipe": "imported", "scale": None,
            "encoder": SOURCES[source]["encoder"],
            "normalization": IMAGENET_NORM, "config": {"imported_from": str(path), "source": source}}
