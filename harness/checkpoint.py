"""The canonical backbone checkpoint: the only thing pretrainers and benchmarks share.

A canonical checkpoint is one safetensors file:
- tensors: a torchvision ResNet backbone state dict (`conv1.weight`, `bn1.*`, `layer1.0.conv1.weight`,
  ...), fc excluded, `num_batches_tracked` excluded, float32, contiguous;
- header metadata key `densebench`: JSON with method, arch, pretrain_data, epochs, profile, encoder
  (which encoder was exported: online or ema), normalization (RGB mean/std on the 0-1 scale),
  config (the resolved pre-training config), weights_sha256 (a hash of the tensors alone, so it is
  stable whatever metadata is attached).

safetensors holds no code: checkpoints travel between labs, and pickle runs code on load.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
import torchvision
from safetensors.torch import load_file, safe_open, save_file

from harness.errors import BenchError

IMAGENET_NORM = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
REQUIRED_META = ("method", "arch", "pretrain_data", "epochs", "profile", "encoder", "normalization")
ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101")


def expected_keys(arch: str) -> set[str]:
    """torchvision's ResNet state-dict keys for `arch`, without fc and num_batches_tracked."""
    if arch not in ARCHS:
        raise BenchError(f"arch '{arch}' is not supported (expected one of {', '.join(ARCHS)})")
    model = getattr(torchvision.models, arch)(weights=None)
    return {k for k in model.state_dict() if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}


def infer_arch(keys: set[str]) -> str:
    """Name the torchvision ResNet whose backbone keys are exactly `keys` (error otherwise)."""
    for arch in ARCHS:
        if expected_keys(arch) == keys:
            return arch
    raise BenchError("state dict does not match any torchvision ResNet backbone "
                     f"({len(keys)} keys; expected the keys of one of {', '.join(ARCHS)})")


def weights_sha256(state: dict[str, torch.Tensor]) -> str:
    """Content hash of the tensors: names, dtypes, shapes and bytes, in sorted key order."""
    h = hashlib.sha256()
    for k in sorted(state):
        t = state[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def backbone_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The canonical tensors of a torchvision-named ResNet module: fc and BN counters dropped."""
    return {k: v.detach().cpu().float().contiguous().clone() for k, v in model.state_dict().items()
            if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}


def save_canonical(path: str | os.PathLike, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Validate keys against the declared arch, then write atomically. Returns the stored metadata."""
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise BenchError(f"canonical checkpoint metadata lacks {', '.join(missing)}")
    want = expected_keys(meta["arch"])
    have = set(state)
    if have != want:
        raise BenchError(f"canonical checkpoint for {meta['arch']}: missing keys {sorted(want - have)[:5]}, "
                         f"unexpected keys {sorted(have - want)[:5]}")
    state = {k: v.detach().cpu().float().contiguous() for k, v in state.items()}
    meta = dict(meta, weights_sha256=weights_sha256(state), format="densebench-canonical/1")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    save_file(state, str(tmp), metadata={"densebench": json.dumps(meta, sort_keys=True, default=str)})
    os.replace(tmp, path)
    return meta


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """Metadata of a canonical checkpoint without loading its tensors."""
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("densebench")
    except Exception as e:  # safetensors raises its own error types and OSError
        if not Path(path).exists():
            raise BenchError(f"{path}: no such checkpoint file") from e
        raise BenchError(f"{path}: not a safetensors file ({e}); canonical checkpoints are safetensors "
                         "files (use `bench import` for other formats)") from e
    if raw is None:
        raise BenchError(f"{path}: safetensors file without DenseBench metadata; "
                         "use `bench import --from torchvision` to make a canonical checkpoint of it")
    return json.loads(raw)


def load_canonical(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load (state, meta) and check the tensors against the stored hash and arch."""
    meta = read_meta(path)
    state = load_file(str(path))
    if weights_sha256(state) != meta.get("weights_sha256"):
        raise BenchError(f"{path}: tensors do not match the weights_sha256 in its metadata (file altered?)")
    want = expected_keys(meta["arch"])
    if set(state) != want:
        raise BenchError(f"{path}: keys do not match a {meta['arch']} backbone "
                         f"(missing {sorted(want - set(state))[:3]}, unexpected {sorted(set(state) - want)[:3]})")
    return state, meta


def build_resnet(arch: str, state: dict[str, torch.Tensor] | None = None) -> torch.nn.Module:
    """A torchvision ResNet (fc kept as built) with `state` loaded strictly on the backbone keys."""
    model = getattr(torchvision.models, arch)(weights=None)
    if state is not None:
        res = model.load_state_dict(state, strict=False)
        missing = [k for k in res.missing_keys if not k.startswith("fc.")]
        if missing or res.unexpected_keys:
            raise BenchError(f"weights do not fit {arch}: missing {missing[:3]}, unexpected {res.unexpected_keys[:3]}")
    return model


def heads_path(checkpoint: str | os.PathLike) -> Path:
    """Where a checkpoint's extra heads live: <stem>.heads.safetensors beside it."""
    p = Path(checkpoint)
    return p.with_name(p.name.removesuffix(".safetensors") + ".heads.safetensors")


def save_heads(checkpoint: str | os.PathLike, tensors: dict[str, torch.Tensor], backbone_sha: str,
               meta: dict[str, Any]) -> Path:
    """Write a method's extra heads (atomically) beside `checkpoint`, tied to its weights_sha256."""
    path = heads_path(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tensors = {k: v.detach().cpu().float().contiguous() for k, v in tensors.items()}
    save_file(tensors, str(tmp), metadata={"densebench_heads": json.dumps({**meta, "backbone_sha256": backbone_sha},
                                                                          sort_keys=True, default=str)})
    os.replace(tmp, path)
    return path


def load_heads(checkpoint: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, meta) of the heads saved beside a canonical checkpoint; refused if they belong to other weights."""
    path = heads_path(checkpoint)
    if not path.exists():
        raise BenchError(f"{path}: no heads file beside {checkpoint} (written by `bench pretrain` for methods "
                         "that keep heads, e.g. slotcon)")
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads((f.metadata() or {}).get("densebench_heads", "{}"))
    if meta.get("backbone_sha256") != read_meta(checkpoint).get("weights_sha256"):
        raise BenchError(f"{path}: heads belong to other weights than {checkpoint}")
    return load_file(str(path)), meta
