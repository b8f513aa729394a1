"""The canonical backbone checkpoint: the only thing pretrainers and benchmarks share.

A canonical checkpoint is one safetensors file:
- tensors: a torchvision ResNet backbone state dict (`conv1.weight`, `bn1.*`, `layer1.0.conv1.weight`,
  ...), fc excluded, `num_batches_tracked` excluded, float32, contiguous;
- header metadata key `densebench`: JSON with method, arch, pretrain_data, epochs, recipe (the
  pre-training recipe's name) and recipe_version, scale (`paper` or `mini`: where its numbers
  belong; null for an imported file), encoder (which encoder was exported: online or ema),
  normalization (RGB mean/std on the 0-1 scale), config (the resolved recipe), weights_sha256 (a
  hash of the tensors alone, so it is stable whatever metadata is attached).
Files written before the recipe/scale split (format densebench-canonical/1) carry `profile`
instead; they are read as recipe = profile and scale = mini for `mini`, paper otherwise.

safetensors holds no code: checkpoints travel between labs, and pickle runs code on load.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torchvision
from safetensors.torch import load as load_bytes
from safetensors.torch import load_file, safe_open, save_file

from harness.backbone import ARCH_DEPTH, depth_of
from harness.files import atomic_write
from harness.errors import BenchError

FORMAT = "densebench-canonical/2"
REQUIRED_META = ("method", "arch", "pretrain_data", "epochs", "encoder", "normalization")
ARCHS = tuple(ARCH_DEPTH)


@functools.lru_cache(maxsize=None)
def expected_shapes(arch: str) -> dict[str, tuple[int, ...]]:
    """torchvision's ResNet backbone tensors for `arch` (fc and num_batches_tracked excluded): key -> shape."""
    depth_of(arch)
    with torch.device("meta"):  # shapes only: nothing is allocated or initialised
        model = getattr(torchvision.models, arch)(weights=None)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()
            if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}


def expected_keys(arch: str) -> set[str]:
    """torchvision's ResNet state-dict keys for `arch`, without fc and num_batches_tracked."""
    return set(expected_shapes(arch))


def check_tensors(state: dict[str, torch.Tensor], arch: str, where: str | os.PathLike) -> None:
    """Keys, shapes and values of a backbone state: exactly arch's keys, arch's shapes, finite numbers.
    One line naming the offending tensors (a NaN layer would otherwise be evaluated and recorded)."""
    want = expected_shapes(arch)
    have = set(state)
    if have != set(want):
        raise BenchError(f"{where}: keys do not match a {arch} backbone (missing {sorted(set(want) - have)[:3]}, "
                         f"unexpected {sorted(have - set(want))[:3]})")
    wrong = [f"{k} {tuple(state[k].shape)} (expected {want[k]})" for k in sorted(want) if tuple(state[k].shape) != want[k]]
    if wrong:
        raise BenchError(f"{where}: {len(wrong)} tensors have the wrong shape for {arch}: {', '.join(wrong[:3])}")
    bad = [k for k in sorted(state) if state[k].is_floating_point() and not bool(torch.isfinite(state[k]).all())]
    if bad:
        raise BenchError(f"{where}: {len(bad)} tensors hold NaN or Inf values: {', '.join(bad[:4])}"
                         f"{' ...' if len(bad) > 4 else ''}")


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
        # reshape(-1): a channels_last 1x1 conv weight counts as contiguous but keeps stride != 1 on
        # its size-1 dims, which .view(torch.uint8) refuses; the flat view has stride 1 and the same bytes
        t = state[k].detach().cpu().contiguous().reshape(-1)
        h.update(f"{k}|{t.dtype}|{tuple(state[k].shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def backbone_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The canonical tensors of a torchvision-named ResNet module: fc and BN counters dropped."""
    return {k: v.detach().cpu().float().clone(memory_format=torch.contiguous_format)
            for k, v in model.state_dict().items()
            if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}


def check_meta(meta: Any, path: str | os.PathLike) -> dict[str, Any]:
    """Validate checkpoint metadata (a JSON object with the required fields); upgrade format 1."""
    if not isinstance(meta, dict):
        raise BenchError(f"{path}: DenseBench metadata is not a JSON object (got {type(meta).__name__})")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise BenchError(f"{path}: DenseBench metadata lacks {', '.join(missing)}")
    if meta["arch"] not in ARCH_DEPTH:
        raise BenchError(f"{path}: metadata arch '{meta['arch']}' is not one of {', '.join(ARCHS)}")
    if "scale" not in meta:  # format 1: one word 'profile' for recipe and scale
        profile = meta.get("profile")
        meta = {**meta, "recipe": profile,
                "scale": None if profile == "imported" else "mini" if profile == "mini" else "paper"}
    if meta["scale"] not in (None, "paper", "mini"):
        raise BenchError(f"{path}: metadata scale '{meta['scale']}' is not one of paper, mini (or null: imported)")
    from harness.names import check_name
    check_name(meta["method"], f"{path}: metadata method")  # it becomes part of run folders' names
    if meta.get("recipe") is not None:
        check_name(meta["recipe"], f"{path}: metadata recipe")
    return meta


def save_canonical(path: str | os.PathLike, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Validate keys against the declared arch, then write atomically. Returns the stored metadata."""
    meta = check_meta(dict(meta), path)
    check_tensors(state, meta["arch"], path)
    # a model trained in channels_last (train.memory_format) hands over NHWC-strided conv weights, and
    # a 1x1 one counts as contiguous: clone into the standard strides, not .contiguous()
    state = {k: v.detach().cpu().float().clone(memory_format=torch.contiguous_format) for k, v in state.items()}
    meta = dict(meta, weights_sha256=weights_sha256(state), format=FORMAT)
    meta.pop("profile", None)
    header = {"densebench": json.dumps(meta, sort_keys=True, default=str)}
    atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata=header))
    return meta


def _not_canonical(path: str | os.PathLike, why: str) -> BenchError:
    return BenchError(f"{path}: not a safetensors file ({why}); canonical checkpoints are safetensors "
                      "files (use `bench import` for other formats)")


def _meta_from_header(header: dict[str, Any], path: str | os.PathLike) -> dict[str, Any]:
    raw = (header.get("__metadata__") or {}).get("densebench")
    if raw is None:
        raise BenchError(f"{path}: safetensors file without DenseBench metadata; "
                         "use `bench import --from torchvision` to make a canonical checkpoint of it")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as e:
        raise BenchError(f"{path}: DenseBench metadata is not valid JSON ({e.msg})") from e
    return check_meta(meta, path)


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """Metadata of a canonical checkpoint without loading its tensors."""
    try:
        with safe_open(str(path), framework="pt") as f:
            header = {"__metadata__": f.metadata() or {}}
    except Exception as e:  # safetensors raises its own error types and OSError
        if not Path(path).exists():
            raise BenchError(f"{path}: no such checkpoint file") from e
        raise _not_canonical(path, str(e)) from e
    return _meta_from_header(header, path)


def _check_state(state: dict[str, torch.Tensor], meta: dict[str, Any], path: str | os.PathLike) -> None:
    if weights_sha256(state) != meta.get("weights_sha256"):
        raise BenchError(f"{path}: tensors do not match the weights_sha256 in its metadata (file altered?)")
    check_tensors(state, meta["arch"], path)


def load_canonical(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load (state, meta) and check the tensors against the stored hash and arch."""
    ck = open_checkpoint(path)
    return ck.state, ck.meta


@dataclass
class Checkpoint:
    """A canonical checkpoint read once: its tensors, metadata and the sha256 of the file's bytes."""
    path: Path
    state: dict[str, torch.Tensor]
    meta: dict[str, Any]
    file_sha256: str

    @property
    def arch(self) -> str:
        return self.meta["arch"]

    @property
    def depth(self) -> int:
        return depth_of(self.arch)

    @property
    def normalization(self) -> dict[str, list[float]]:
        return self.meta["normalization"]


def open_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a canonical checkpoint file once: hash its bytes, parse header and tensors, check both."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise BenchError(f"{path}: no such checkpoint file") from e
    except OSError as e:
        raise BenchError(f"{path}: cannot read the checkpoint ({e.strerror or e})") from e
    if len(data) < 8:
        raise _not_canonical(path, f"{len(data)} bytes")
    (n,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8:8 + n])
        state = load_bytes(data)
    except Exception as e:  # a truncated or foreign file: safetensors' and json's own errors
        raise _not_canonical(path, type(e).__name__) from e
    if not isinstance(header, dict):
        raise _not_canonical(path, "its header is not a JSON object")
    meta = _meta_from_header(header, path)
    _check_state(state, meta, path)
    return Checkpoint(path, state, meta, hashlib.sha256(data).hexdigest())


def heads_path(checkpoint: str | os.PathLike) -> Path:
    """Where a checkpoint's extra heads live: <stem>.heads.safetensors beside it."""
    p = Path(checkpoint)
    return p.with_name(p.name.removesuffix(".safetensors") + ".heads.safetensors")


def save_heads(checkpoint: str | os.PathLike, tensors: dict[str, torch.Tensor], backbone_sha: str,
               meta: dict[str, Any]) -> Path:
    """Write a method's extra heads (atomically) beside `checkpoint`, tied to its weights_sha256."""
    tensors = {k: v.detach().cpu().float().contiguous() for k, v in tensors.items()}
    header = {"densebench_heads": json.dumps({**meta, "backbone_sha256": backbone_sha}, sort_keys=True, default=str)}
    return atomic_write(heads_path(checkpoint), lambda tmp: save_file(tensors, str(tmp), metadata=header))


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
