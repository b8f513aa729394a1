"""The torchvision ResNet every method exports and every probe reads: one place for its pieces.

- `ARCH_DEPTH`, `depth_of`: torchvision arch name <-> ResNet depth (what framework configs build);
- `build_resnet`: a torchvision ResNet with canonical weights loaded strictly;
- `stem`, `forward_to`, `stage_outputs`: the stage-wise forward (conv1-bn1-relu-maxpool, then
  layer1..layer4 = C2..C5), used by pre-trainers, label propagation, retrieval and inspect tools;
- `set_output_stride`: keep a stage's resolution (its first block's strides set to 1, no dilation:
  videowalk's res4 at stride 8);
- `IMAGENET_NORM`, `normalize`: input normalisation, read from a checkpoint's metadata.
"""
from __future__ import annotations

from typing import Any

import torch
import torchvision

from harness.errors import BenchError

IMAGENET_NORM = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}  # RGB, on 0-1 pixels
ARCH_DEPTH = {"resnet18": 18, "resnet34": 34, "resnet50": 50, "resnet101": 101}
STAGES = ("layer1", "layer2", "layer3", "layer4")


def depth_of(arch: str) -> int:
    if arch not in ARCH_DEPTH:
        raise BenchError(f"arch '{arch}' is not supported (expected one of {', '.join(ARCH_DEPTH)})")
    return ARCH_DEPTH[arch]


def build_resnet(arch: str, state: dict[str, torch.Tensor] | None = None) -> torch.nn.Module:
    """A torchvision ResNet (fc kept as built) with `state` loaded strictly on the backbone keys."""
    depth_of(arch)
    model = getattr(torchvision.models, arch)(weights=None)
    if state is not None:
        res = model.load_state_dict(state, strict=False)
        missing = [k for k in res.missing_keys if not k.startswith("fc.")]
        if missing or res.unexpected_keys:
            raise BenchError(f"weights do not fit {arch}: missing {missing[:3]}, unexpected {res.unexpected_keys[:3]}")
    return model


def stem(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """conv1-bn1-relu-maxpool: [N, 3, H, W] -> [N, C1, H/4, W/4]."""
    return net.maxpool(net.relu(net.bn1(net.conv1(x))))


def forward_to(net: torch.nn.Module, x: torch.Tensor, stage: str = "layer4") -> torch.Tensor:
    """The output of `stage` (layer1..layer4) for images x [N, 3, H, W] (C5 map before pooling for layer4)."""
    if stage not in STAGES:
        raise BenchError(f"feature stage '{stage}' is not one of {', '.join(STAGES)}")
    h = stem(net, x)
    for name in STAGES[:STAGES.index(stage) + 1]:
        h = getattr(net, name)(h)
    return h


def stage_outputs(net: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """[C2, C3, C4, C5] for images x [N, 3, H, W]."""
    h, out = stem(net, x), []
    for name in STAGES:
        h = getattr(net, name)(h)
        out.append(h)
    return out


def stage_stride(stage: str) -> int:
    """Output stride of a stage of a plain ResNet: layer1 4, layer2 8, layer3 16, layer4 32."""
    if stage not in STAGES:
        raise BenchError(f"feature stage '{stage}' is not one of {', '.join(STAGES)}")
    return 4 * 2 ** STAGES.index(stage)


def set_output_stride(net: torch.nn.Module, stage: str, stride: int) -> torch.nn.Module:
    """Make `stage` output at `stride` by setting the strides of the first block of every stage from
    the one that would pass `stride` up to `stage` to 1 (no dilation: videowalk's res4 at stride 8)."""
    if stride not in (4, 8, 16, 32) or stride > stage_stride(stage):
        raise BenchError(f"features: output stride {stride} is not possible for {stage} "
                         f"(expected 4, 8, 16 or 32, at most {stage_stride(stage)})")
    for name in STAGES[1:STAGES.index(stage) + 1]:
        if stage_stride(name) > stride:
            block = getattr(net, name)[0]
            for conv in (block.conv1, block.conv2):
                conv.stride = (1, 1)
            if block.downsample is not None:
                block.downsample[0].stride = (1, 1)
    return net


def normalize(x: torch.Tensor, norm: dict[str, Any]) -> torch.Tensor:
    """(x - mean) / std per RGB channel; x: [..., 3, H, W] on the 0-1 scale, norm: a checkpoint's
    `normalization` metadata ({"mean": [3], "std": [3]}, 0-1 scale)."""
    mean = torch.tensor(norm["mean"], dtype=x.dtype, device=x.device).view(3, 1, 1)
    std = torch.tensor(norm["std"], dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x - mean) / std


def feature_net(arch: str, state: dict[str, torch.Tensor], stage: str, output_stride: int) -> torch.nn.Module:
    """An eval-mode ResNet with canonical weights whose `stage` outputs at `output_stride`."""
    return set_output_stride(build_resnet(arch, state), stage, output_stride).eval()


@torch.no_grad()
def embed(net: torch.nn.Module, image: Any, norm: dict[str, Any], stage: str | None, device: Any) -> torch.Tensor:
    """L2-normalised (over channels) features of `stage` for one RGB PIL image -> [C, h, w]
    (stage None: the net's own output, e.g. an exported embedding, harness.embedding)."""
    import numpy as np
    x = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)
    x = normalize(x, norm)[None].to(device)
    out = net(x) if stage is None else forward_to(net, x, stage)
    return torch.nn.functional.normalize(out[0], dim=0)
