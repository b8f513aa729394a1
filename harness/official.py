"""Official releases and user files -> canonical backbone tensors (`bench import`).

Each release stores the exported backbone under its own prefix (../shared/PROTOCOLS.md): PixPro
`module.encoder.` (online), SlotCon `module.encoder_k.` (EMA teacher), MoCo `module.encoder_q.`,
OpenSelfSup full checkpoints (DenseCL, ORL, BYOL) `backbone.`; DenseCL's and ORL's published files
are backbone-only (`{"state_dict": torchvision keys, "author": ...}`: OpenSelfSup's
tools/extract_backbone_weights.py strips `backbone.`). `--from auto` recognises the layout and says
which it found.

Outside backbones people have on disk (issue 44), each a local file, never a download:
- timm: torchvision's key names; a training checkpoint holds them under `state_dict` (its EMA copy,
  `state_dict_ema`, is left alone) beside `arch`, `epoch`, `args`;
- mmpretrain / mmselfsup (OpenMMLab 1.x): `state_dict` with `backbone.` (and `neck.`, `head.`,
  mmselfsup's `target_net.`), `meta` naming mmengine's version; the plain `ResNet` (style pytorch)
  only: ResNetV1c/V1d's deep stem (`backbone.stem.`) has no torchvision counterpart and is refused;
- VISSL: `classy_state_dict` -> `base_model` -> `model` -> `trunk`, keys `_feature_blocks.conv1...`;
- solo-learn (PyTorch Lightning): `state_dict` with `backbone.` (and `momentum_backbone.`,
  `projector.`, `classifier.`), `pytorch-lightning_version`; a CIFAR variant (3x3 conv1) is refused
  by the shape check, like any ResNet that is not torchvision's.

User files are read without executing code: safetensors, or `torch.load(weights_only=True)` with
exactly one class allowed besides tensors and containers: `argparse.Namespace`, which SlotCon's
checkpoints carry as `args` (its fields must themselves be plain values, or the load is refused).
"""
from __future__ import annotations

import argparse
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from harness.backbone import IMAGENET_NORM
from harness.checkpoint import check_tensors, infer_arch
from harness.convert import Report
from harness.errors import BenchError

SOURCES: dict[str, dict[str, Any]] = {
    "torchvision": {"prefix": "", "encoder": "online"},
    "pixpro": {"prefix": "module.encoder.", "encoder": "online"},
    "pixcontrast": {"prefix": "module.encoder.", "encoder": "online"},
    "slotcon": {"prefix": "module.encoder_k.", "encoder": "ema"},
    "mocov2": {"prefix": "module.encoder_q.", "encoder": "online"},
    "orl": {"prefix": "backbone.", "encoder": "online"},
    "densecl": {"prefix": "backbone.", "encoder": "online"},
    "byol": {"prefix": "backbone.", "encoder": "online"},
    "timm": {"prefix": "", "encoder": "online"},
    "mmpretrain": {"prefix": "backbone.", "encoder": "online"},
    "vissl": {"prefix": "_feature_blocks.", "encoder": "online"},
    "solo-learn": {"prefix": "backbone.", "encoder": "online"},
}
_BACKBONE = re.compile(r"^(conv1|bn1|layer[1-4])\.")


def safe_load(path: str | Path) -> Any:
    """Read a user-supplied weights file without executing code (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) >= 9 and head[8:9] == b"{":  # safetensors: 8-byte header length, then JSON
        from safetensors.torch import load_file
        try:
            return load_file(str(path))
        except Exception as e:  # safetensors' own error types
            raise BenchError(f"{path}: not a readable safetensors file ({type(e).__name__})") from e
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):  # torch's zip archive, or a legacy pickle
        kind = ("a JSON file" if head.lstrip()[:1] in (b"{", b"[") else "an empty file" if not head else
                "a text file" if head.isascii() else "an unknown binary file")
        raise BenchError(f"{path}: {kind}, not a weights file (expected safetensors or a torch .pth/.pt)")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):  # SlotCon's `args`, nothing else
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BenchError(f"{path}: refused to load: the pickle holds objects other than tensors and plain "
                         f"containers, which could run code ({first[:120]})") from e
    except Exception as e:
        raise BenchError(f"{path}: cannot read as safetensors or a torch weights file ({type(e).__name__})") from e


def _find_state_dict(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        if isinstance(obj.get("classy_state_dict"), dict):  # VISSL
            try:
                return _find_state_dict(obj["classy_state_dict"]["base_model"]["model"]["trunk"], path)
            except (KeyError, TypeError):
                raise BenchError(f"{path}: a VISSL checkpoint without classy_state_dict.base_model.model.trunk") from None
        for key in ("state_dict", "model", "teacher"):
            if key in obj and isinstance(obj[key], dict):
                return _find_state_dict(obj[key], path)
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise BenchError(f"{path}: no state dict of tensors found (looked at the file, 'state_dict', 'model', 'teacher', "
                     "VISSL's classy_state_dict)")


def detect(obj: Any, sd: dict[str, torch.Tensor]) -> tuple[str, str]:
    """(source, what was found) of a loaded release, from its container and key prefixes."""
    keys = list(sd)

    def has(prefix: str) -> bool:
        return any(k.startswith(prefix) for k in keys)
    top = obj if isinstance(obj, dict) else {}
    if "classy_state_dict" in top:
        return "vissl", "VISSL checkpoint (classy_state_dict: base_model.model.trunk, _feature_blocks.)"
    if "pytorch-lightning_version" in top and has("backbone."):
        return "solo-learn", "solo-learn (PyTorch Lightning) checkpoint (state_dict: backbone.; momentum_backbone. left)"
    meta = top.get("meta")
    if has("backbone.") and isinstance(meta, dict) and any(k.startswith(("mmengine", "mmpretrain", "mmcls", "mmselfsup"))
                                                          for k in meta):
        return "mmpretrain", "OpenMMLab 1.x checkpoint (mmpretrain / mmselfsup; state_dict: backbone.)"
    if "arch" in top and any(_BACKBONE.match(k) for k in keys):
        return "timm", f"timm training checkpoint (arch {top['arch']!r}; state_dict, torchvision names)"
    if has("module.encoder_k.") and isinstance(obj, dict) and "args" in obj:
        return "slotcon", "SlotCon checkpoint (args, model: module.encoder_k. = EMA teacher)"
    if has("module.encoder_q."):
        return "mocov2", "MoCo checkpoint (state_dict: module.encoder_q. = query encoder)"
    if has("module.encoder.") and has("module.encoder_k."):
        return "pixpro", "PixPro checkpoint (model: module.encoder. = online encoder; PixContrast's looks the same)"
    if has("backbone."):
        return "densecl", "OpenSelfSup checkpoint (state_dict: backbone.; DenseCL, ORL and BYOL look the same)"
    if any(_BACKBONE.match(k) for k in keys):
        if isinstance(obj, dict) and "author" in obj:
            return "densecl", f"backbone-only release (state_dict, author {obj['author']!r}: OpenSelfSup's extraction)"
        return "torchvision", "torchvision ResNet state dict"
    raise BenchError("--from auto: no known release layout (expected module.encoder(_q|_k)., backbone. or "
                     "torchvision keys)")


def import_state(path: str | Path, source: str) -> tuple[dict[str, torch.Tensor], str, Report, str]:
    """Extract the ResNet backbone of an official release (or a torchvision file).

    Returns (canonical tensors, arch, report, source used); report.found says which layout `auto` found. Keys outside the source's encoder prefix
    and the encoder's fc/head keys are dropped and reported; the remaining keys must form exactly one
    torchvision ResNet backbone (keys, shapes, finite values).
    """
    if source != "auto" and source not in SOURCES:
        raise BenchError(f"--from '{source}' is not known (expected auto or one of {', '.join(SOURCES)})")
    path = Path(path)
    obj = safe_load(path)
    sd = _find_state_dict(obj, path)
    found = ""
    if source == "auto":
        source, found = detect(obj, sd)
    prefix = SOURCES[source]["prefix"]
    if prefix == "backbone." and not any(k.startswith(prefix) for k in sd) and any(_BACKBONE.match(k) for k in sd):
        prefix = ""  # a backbone-only release: OpenSelfSup's extraction already stripped `backbone.`
    if any(k.startswith(f"{prefix}stem.") for k in sd):
        raise BenchError(f"{path}: a deep-stem ResNet (ResNetV1c/V1d: {prefix}stem.*), not a torchvision ResNet "
                         "(expected conv1, bn1, layer1-4)")
    rep, state = Report(found=found), {}
    for k, v in sd.items():
        name = k[len(prefix):] if k.startswith(prefix) else None
        if name is None and prefix.startswith("module.") and k.startswith(prefix[len("module."):]):
            name = k[len(prefix) - len("module."):]  # saved without DDP's module. prefix
        if name is None or not _BACKBONE.match(name) or name.endswith("num_batches_tracked"):
            rep.dropped.append(k)
            continue
        state[name] = v.detach().float().contiguous()
        rep.converted += 1
    if not state:
        raise BenchError(f"{path}: no backbone keys under prefix '{prefix}' (is --from {source} right?)")
    arch = infer_arch(set(state))
    check_tensors(state, arch, path)
    return state, arch, rep, source


def import_meta(source: str, arch: str, path: Path, **extra: Any) -> dict[str, Any]:
    """Metadata for an imported checkpoint; unknown facts are recorded as 'unknown', not guessed."""
    return {"method": extra.get("method") or source, "arch": arch, "pretrain_data": extra.get("pretrain_data", "unknown"),
            "epochs": extra.get("epochs", "unknown"), "recipe": "imported", "scale": None,
            "encoder": SOURCES[source]["encoder"], "normalization": IMAGENET_NORM,
            "config": {"imported_from": str(path), "source": source}}
