"""`bench inspect embedding`: a checkpoint's exported pixel embedding shown as colour (Zhang & Maire
2020, Figure 2): the first three principal components of the per-pixel embedding, each scaled to
0-255 over the image, as R, G and B, beside the image.

Every cell of the embedding map [D, h, w] (L2-normalised, as the probes and the loss's cosine
similarity see it) is one D-dimensional sample; the components come from the
SVD of the centred [h*w, D] matrix of that image alone (so colours are comparable within an image,
not across images). A component's sign is fixed so that its largest-magnitude loading is positive,
which makes the picture deterministic.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from harness.backbone import embed
from harness.checkpoint import heads_path, open_checkpoint
from harness.files import atomic_write_bytes
from harness.embedding import embedding_net
from harness.errors import BenchError


def pca_rgb(feat: torch.Tensor) -> np.ndarray:
    """First three principal components of feat [D, h, w] as uint8 [h, w, 3] (D >= 3)."""
    d, h, w = feat.shape
    if d < 3:
        raise BenchError(f"an embedding of {d} channels has no three principal components")
    x = feat.reshape(d, -1).T.double()
    x = x - x.mean(0, keepdim=True)
    _, _, vt = torch.linalg.svd(x, full_matrices=False)
    comps = vt[:3]                                                             # [3, D]
    sign = torch.sign(comps.gather(1, comps.abs().argmax(1, keepdim=True)))   # largest loading positive
    proj = x @ (comps * sign).T                                                # [h*w, 3]
    lo, hi = proj.min(0).values, proj.max(0).values
    rgb = (proj - lo) / (hi - lo).clamp(min=1e-12)
    return (rgb.reshape(h, w, 3).numpy() * 255).round().astype(np.uint8)


def embedding_figure(checkpoint: str | Path, image: str | Path, out: str | Path, size: int | None = None) -> dict:
    """Write image | PCA colours of its embedding (PNG, atomically). size: shorter side in px the image
    is resized to first (default: as it is). Returns {'out', 'dim', 'cells'}."""
    ck = open_checkpoint(checkpoint)
    found = embedding_net(ck)
    if found is None:
        raise BenchError(f"{checkpoint}: no exported embedding (expected {heads_path(checkpoint).name} beside it "
                         "with an embedding, written by methods that train one, e.g. hiergroup)")
    net, desc = found
    try:
        with Image.open(image) as im:
            rgb = im.convert("RGB")
    except (OSError, ValueError) as e:
        raise BenchError(f"--image {image}: cannot read it as an image ({e})") from e
    if size:
        s = size / min(rgb.size)
        rgb = rgb.resize((max(1, round(rgb.width * s)), max(1, round(rgb.height * s))), Image.BICUBIC)
    feat = embed(net, rgb, ck.normalization, None, "cpu")                     # [D, H/4, W/4], unit cells
    colours = Image.fromarray(pca_rgb(feat)).resize(rgb.size, Image.NEAREST)
    canvas = Image.new("RGB", (rgb.width * 2 + 8, rgb.height), "white")
    canvas.paste(rgb, (0, 0))
    canvas.paste(colours, (rgb.width + 8, 0))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    atomic_write_bytes(out, buf.getvalue())
    return {"out": str(out), "dim": desc["dim"], "cells": int(feat.shape[1] * feat.shape[2])}
