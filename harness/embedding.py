"""Exported pixel embeddings: a head a method trains on top of the backbone and exports beside it,
which probes can run instead of a backbone stage.

A method that exports one sets `Method.embedding` to a kind registered here; the harness writes the
kind into the heads file's metadata (harness.runs) and probes whose protocol says
`features: {embedding: if_exported}` build it with `embedding_net` (voc_retrieval, davis_vos).

Kinds:
- "hypercolumn" (Zhang & Maire 2020, sec. 4.2): res3 and res4 outputs each through one 3x3
  Conv-BN-ReLU to `width` channels, resized to 1/4 of the input, concatenated, one 3x3 conv to `dim`
  channels. Its tensors: proj3.*, proj4.*, embed.* (the hiergroup method trains it).

The architecture lives here, not in pretrainers/, because both the method that trains it and the
probes that read it need it, and pretrainers/ and benchmarks/ never import each other.
"""
from __future__ import annotations

import hashlib
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from harness.backbone import build_resnet, forward_to
from harness.errors import BenchError

KINDS = ("hypercolumn",)


def conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def stage_channels(backbone: nn.Module) -> tuple[int, int]:
    """Output channels of res3 (layer2) and res4 (layer3) of a torchvision ResNet."""
    c3 = [m for m in backbone.layer2.modules() if isinstance(m, nn.BatchNorm2d)][-1].num_features
    c4 = [m for m in backbone.layer3.modules() if isinstance(m, nn.BatchNorm2d)][-1].num_features
    return c3, c4


class Hypercolumn(nn.Module):
    """ResNet res3 + res4 -> 3x3 Conv-BN-ReLU `width` each -> resized to H/4 x W/4 -> concat -> 3x3 conv -> dim.
    forward: [N, 3, H, W] -> [N, dim, H/4, W/4]."""

    def __init__(self, backbone: nn.Module, width: int = 256, dim: int = 32) -> None:
        super().__init__()
        c3, c4 = stage_channels(backbone)
        self.backbone = backbone
        self.proj3, self.proj4 = conv_bn_relu(c3, width), conv_bn_relu(c4, width)
        self.embed = nn.Conv2d(2 * width, dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[-2] // 4, x.shape[-1] // 4)
        c3 = forward_to(self.backbone, x, "layer2")                      # res3: stride 8
        c4 = self.backbone.layer3(c3)                                    # res4: stride 16
        up = [F.interpolate(p(c), size=size, mode="bilinear", align_corners=False)
              for p, c in ((self.proj3, c3), (self.proj4, c4))]
        return self.embed(torch.cat(up, dim=1))


def embedding_net(checkpoint: Any) -> tuple[nn.Module, dict[str, Any]] | None:
    """(eval-mode network mapping [N, 3, H, W] -> [N, D, h, w], description) of the embedding
    exported beside a canonical checkpoint (a harness.checkpoint.Checkpoint), or None when the
    checkpoint has no heads file or its heads are not an embedding. Heads that claim an embedding
    but do not load strictly are refused."""
    from harness.checkpoint import heads_path, load_heads
    if not heads_path(checkpoint.path).exists():
        return None
    tensors, meta = load_heads(checkpoint.path)
    kind = meta.get("embedding")
    if kind is None:
        return None
    if kind not in KINDS:
        raise BenchError(f"{heads_path(checkpoint.path)}: embedding kind '{kind}' is not one this DenseBench "
                         f"knows (expected one of {', '.join(KINDS)})")
    try:
        width, dim = tensors["proj3.0.weight"].shape[0], tensors["embed.weight"].shape[0]
    except KeyError as e:
        raise BenchError(f"{heads_path(checkpoint.path)}: a hypercolumn embedding without tensor {e}") from e
    net = Hypercolumn(build_resnet(checkpoint.arch, checkpoint.state), width, dim)
    head = nn.ModuleDict({"proj3": net.proj3, "proj4": net.proj4, "embed": net.embed})  # the backbone is loaded
    res = head.load_state_dict(tensors, strict=False)
    if res.missing_keys or res.unexpected_keys:
        raise BenchError(f"{heads_path(checkpoint.path)}: the {kind} embedding does not load strictly "
                         f"(missing {res.missing_keys[:3]}, unexpected {res.unexpected_keys[:3]})")
    hp = heads_path(checkpoint.path)
    desc = {"kind": kind, "dim": int(dim), "stride": 4, "heads_file": hp.name,
            "heads_sha256": hashlib.sha256(hp.read_bytes()).hexdigest()}
    return net.eval(), desc


class FeatureSettings(Protocol):
    """A probe protocol's `features` setting (benchmarks/protocol_schemas.py: Features)."""
    stage: str
    output_stride: int
    embedding: str  # 'never' or 'if_exported'


def probe_features(checkpoint: Any, features: FeatureSettings) -> tuple[nn.Module, str | None, str]:
    """The network a feature probe runs, from its protocol's `features` setting
    (stage, output_stride, embedding). Returns (eval-mode net, the stage to read with
    harness.backbone.embed, or None when the net's output is the embedding itself, a note for the record).
    With `embedding: if_exported` a checkpoint's exported embedding is used when it has one, the
    backbone stage otherwise; the note says which."""
    from harness.backbone import feature_net
    mode = features.embedding  # a Literal of the schema: 'never' or 'if_exported'
    if mode == "if_exported":
        found = embedding_net(checkpoint)
        if found is not None:
            net, d = found
            return net, None, (f"exported {d['kind']} embedding ({d['dim']}-d at stride {d['stride']}; "
                               f"{d['heads_file']} sha256 {d['heads_sha256'][:12]}) on the {len(checkpoint.state)} "
                               f"backbone tensors")
    stage, stride = features.stage, features.output_stride
    note = (f"{len(checkpoint.state)} tensors loaded into a torchvision {checkpoint.arch} ({stage} at stride "
            f"{stride}, later stages unused)" + ("; no exported embedding" if mode == "if_exported" else ""))
    return feature_net(checkpoint.arch, checkpoint.state, stage, stride), stage, note
