"""`bench inspect slots`: which prototype each pixel joins, as SlotCon's teacher groups it.

Reads a SlotCon canonical checkpoint (the EMA teacher encoder) and the teacher's projector and
prototypes saved beside it (`<stem>.heads.safetensors`), assigns every C5 cell of an image to its
argmax prototype, and writes the image with that assignment overlaid (nearest-upsampled, one colour
per prototype). The number of distinct prototypes in an image is its number of active slots
(SlotCon reports about 7 per COCO image).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T

from harness.backbone import build_resnet
from harness.checkpoint import load_canonical, load_heads
from harness.files import atomic_write_bytes
from harness.errors import BenchError
from pretrainers.base import resnet_c5
from pretrainers.slotcon import dino_head, semantic_grouping


def _palette(k: int) -> np.ndarray:
    """k well-separated RGB colours (golden-angle hues), uint8 [k, 3]."""
    import colorsys
    return (np.array([colorsys.hsv_to_rgb((i * 0.618034) % 1, 0.85, 0.95) for i in range(k)]) * 255).astype(np.uint8)


def assign(checkpoint: str | Path, images: list[str | Path], size: int | None = None) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Prototype index per C5 cell of each image ([h, w] int arrays) and the checkpoint's metadata."""
    state, meta = load_canonical(checkpoint)
    if meta.get("method") != "slotcon":
        raise BenchError(f"{checkpoint}: a '{meta.get('method')}' checkpoint; slot inspection needs a slotcon one")
    heads, hmeta = load_heads(checkpoint)
    cfg = hmeta["config"]
    cfg = cfg.get("params", cfg)  # the recipe's params (heads written before recipes nested them: flat)
    encoder = build_resnet(meta["arch"], state).eval()
    projector = dino_head(encoder.fc.in_features, cfg["hidden"], cfg["dim"], conv=True).eval()
    projector.load_state_dict({k.removeprefix("projector."): v for k, v in heads.items() if k.startswith("projector.")})
    size = size or cfg["crop"]
    norm = meta["normalization"]
    tf = T.Compose([T.Resize((size, size)), T.ToTensor(), T.Normalize(norm["mean"], norm["std"])])
    out = []
    with torch.no_grad():
        for p in images:
            if not Path(p).is_file():
                raise BenchError(f"{p}: no such image file")
            with Image.open(p) as im:
                x = tf(im.convert("RGB"))[None]
            _, dots = semantic_grouping(projector(resnet_c5(encoder, x)), heads["prototypes"], cfg["t_teacher"])
            out.append(dots[0].argmax(0).numpy())
    return out, {**meta, "n_prototypes": int(heads["prototypes"].shape[0])}


def overlay(image: str | Path, assignment: np.ndarray, n_prototypes: int, alpha: float = 0.5) -> Image.Image:
    """The image with each pixel tinted by its cell's prototype colour."""
    with Image.open(image) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
    cells = Image.fromarray(assignment.astype(np.int32)).resize((rgb.shape[1], rgb.shape[0]), Image.NEAREST)
    tint = _palette(n_prototypes)[np.asarray(cells)]
    return Image.fromarray((rgb * (1 - alpha) + tint * alpha).astype(np.uint8))


def inspect(checkpoint: str | Path, images: list[str | Path], out: str | Path, size: int | None = None) -> list[int]:
    """Write the overlays side by side into one PNG at `out`; return active slots per image."""
    import io
    assignments, meta = assign(checkpoint, images, size)
    k = meta["n_prototypes"]
    tiles = [overlay(p, a, k) for p, a in zip(images, assignments)]
    h = max(t.height for t in tiles)
    sheet = Image.new("RGB", (sum(t.width for t in tiles), h))
    x = 0
    for t in tiles:
        sheet.paste(t, (x, 0))
        x += t.width
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    atomic_write_bytes(out, buf.getvalue())
    return [int(len(np.unique(a))) for a in assignments]
