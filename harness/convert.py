"""Converters: canonical checkpoint -> per-backend weights (Detectron2, mmseg, torchvision).

Every converter is strict about coverage: every backbone key is consumed, nothing is missing, and
what was dropped (fc, BN counters) is reported, never silently skipped. Official releases and user
files -> canonical: harness.official.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from harness.files import atomic_write_bytes


@dataclass
class Report:
    """What a conversion consumed and dropped (shown to the user and stored in results)."""
    converted: int = 0
    dropped: list[str] = field(default_factory=list)
    found: str = ""  # bench import --from auto: the release layout recognised

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
