"""DAVIS-2017 layout (semi-supervised), reading and a synthetic video writer.

Layout (davis2017-evaluation reads the same):
    <root>/JPEGImages/480p/<seq>/00000.jpg ...      frames
    <root>/Annotations/480p/<seq>/00000.png ...     indexed palette PNGs: 0 background, 1..K objects, 255 void
    <root>/ImageSets/2017/{train,val}.txt           sequence names
The number of objects of a sequence is the largest id in its first annotation (as the official
evaluator counts them). Synthetic videos: 2-4 textured shapes on a panning textured background;
objects move, grow and shrink, occlude each other (fixed depth order) and may leave the frame.
"""
from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from harness.files import atomic_write
from harness.data.layout import Layout
from harness.errors import BenchError

# Pillow, OpenCV and the scene and publishing helpers are imported where they are used (the
# Pillow fallback of read_indexed, the writers): `bench davis-score` imports this module to read
# masks and loads nothing it does not need (issue 24).

RES = "480p"


def sequences(root: str | os.PathLike, split: str) -> list[str]:
    """Sequence names of ImageSets/2017/<split>.txt (one-line error naming the file if missing)."""
    f = Path(root) / "ImageSets" / "2017" / f"{split}.txt"
    if not f.is_file():
        raise BenchError(f"{f}: missing (DAVIS-2017 {split} sequence list)")
    names = [s.strip() for s in f.read_text().splitlines() if s.strip()]
    if not names:
        raise BenchError(f"{f}: empty sequence list")
    return names


def frames(root: str | os.PathLike, seq: str) -> list[Path]:
    """Sorted frame files of a sequence."""
    d = Path(root) / "JPEGImages" / RES / seq
    files = sorted(d.glob("*.jpg"))
    if not files:
        raise BenchError(f"{d}: no frames (expected JPEGImages/{RES}/{seq}/00000.jpg ...)")
    return files


def annotation_files(root: str | os.PathLike, seq: str) -> list[Path]:
    d = Path(root) / "Annotations" / RES / seq
    files = sorted(d.glob("*.png"))
    if not files:
        raise BenchError(f"{d}: no annotations (expected Annotations/{RES}/{seq}/00000.png ...)")
    return files


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
try:  # zlib-ng inflates the long runs of a label PNG about 20x faster than zlib (docs/measured-speed.md, "DAVIS J&F scoring")
    from zlib_ng import zlib_ng as _inflate
except ImportError:  # the same stream format: plain zlib decodes it too
    _inflate = zlib


def unfiltered_png(data: bytes) -> np.ndarray | None:
    """uint8 [H, W] values (a read-only view) of an 8-bit palette or grey, non-interlaced PNG whose
    rows are all stored unfiltered (filter type 0: what Pillow writes for palette images, and the
    DAVIS annotations and official results are), inflated with zlib-ng (zlib where it is absent),
    chunk CRCs checked; None for any other or any damaged PNG, which Pillow then decodes (or
    reports). An 854x480 DAVIS mask: about 0.03 ms, against 0.66 ms with zlib and 0.9 ms with
    Pillow (docs/measured-speed.md, "DAVIS J&F scoring")."""
    if not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR" or len(data) < 33:
        return None
    w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if depth != 8 or colour not in (0, 3) or interlace:
        return None
    idat, pos = [], 8
    while True:
        if pos + 12 > len(data):
            return None                                   # cut before the end chunk
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if len(body) != n or zlib.crc32(data[pos + 4:pos + 8 + n]) != int.from_bytes(data[pos + 8 + n:pos + 12 + n], "big"):
            return None
        if kind == b"IEND":
            break
        if kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    try:
        raw = _inflate.decompress(b"".join(idat))
    except _inflate.error:
        return None
    if len(raw) != h * (w + 1):
        return None
    rows = np.frombuffer(raw, np.uint8).reshape(h, w + 1)  # each row: its filter type byte, then W values
    return None if rows[:, 0].any() else rows[:, 1:]   # a read-only view of the inflated bytes


def read_indexed(path: str | os.PathLike, writeable: bool = True) -> np.ndarray:
    """An indexed (palette or grey) PNG as uint8 label ids [H, W]; a missing, truncated or foreign
    file is a one-line error naming it. The file is read once: unfiltered 8-bit PNGs are decoded by
    unfiltered_png, the rest by Pillow from the same bytes. writeable=False may return a read-only,
    non-contiguous view (no copy: for a caller that copies it into an array of its own)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        labels = unfiltered_png(data)
        if labels is not None:
            return labels.copy() if writeable else labels
        from PIL import Image
        with Image.open(io.BytesIO(data)) as im:
            if im.mode not in ("P", "L"):
                raise BenchError(f"{path}: expected an indexed palette PNG (mode P), got mode {im.mode}")
            labels = np.array(im)
            # PIL decodes a PNG cut just before its end chunk without a word: the whole end chunk, CRC included
            if im.format == "PNG" and b"\x00\x00\x00\x00IEND\xaeB`\x82" not in data[-64:]:
                raise OSError("truncated: no IEND chunk")
            return labels
    except FileNotFoundError as e:
        raise BenchError(f"{path}: missing (expected an indexed palette PNG)") from e
    except (OSError, ValueError, SyntaxError) as e:  # PIL: truncated or not an image
        raise BenchError(f"{path}: not a readable PNG ({str(e).splitlines()[0][:80] if str(e) else type(e).__name__})") from e


def write_indexed(path: str | os.PathLike, labels: np.ndarray) -> None:
    """Write uint8 label ids as a palette PNG (the VOC/DAVIS colour map), atomically."""
    from harness.data.seg import save_palette_png
    atomic_write(path, lambda tmp: save_palette_png(tmp, labels))


class Davis(Layout):
    name, folder, splits = "davis", "DAVIS", ("val", "train")
    default_splits = ("val",)  # what the protocols read
    how_to_get = "extract DAVIS-2017-trainval-480p.zip, or `bench data synth --layout davis`"

    def problems(self, root: Path, split: str) -> list[str]:
        """Every sequence of the split: frames decode and share a size, annotations are palette or grey
        PNGs of that size (object ids 0..254, 255 void)."""
        from harness.data.checks import check_label, list_file, open_image
        out: list[str] = []
        for seq in list_file(root / "ImageSets" / "2017" / f"{split}.txt", f"DAVIS-2017 {split} sequence list", out):
            seq_frames = sorted((root / "JPEGImages" / RES / seq).glob("*.jpg"))
            anns = sorted((root / "Annotations" / RES / seq).glob("*.png"))
            if not seq_frames or not anns:
                out.append(f"{root / ('JPEGImages' if not seq_frames else 'Annotations') / RES / seq}: no files")
                continue
            size = None
            for f in seq_frames:
                got = open_image(f, out)
                if got is not None:
                    if size is not None and got[:2] != size:
                        out.append(f"{f}: {got[0]}x{got[1]}, expected {size[0]}x{size[1]} like the sequence's first frame")
                    size = size or got[:2]
            for a in anns:
                check_label(a, size, 256, out)
        return out

    def present(self, root: Path, split: str) -> str:
        return f"found: {len(sequences(root, split))} sequences"

    def write_synthetic(self, out: str | os.PathLike, **params: Any) -> Path:
        return write_synthetic_davis(out, **params)


def _visible_at_start(objs: list[dict], h: int, w: int, min_pixels: int = 20) -> list[dict]:
    """Keep objects with at least min_pixels visible in frame 0 (the first annotation defines the
    objects of a sequence, so an object hidden there would never be evaluated)."""
    from harness.data.scenes import shape_mask
    lab = np.zeros((h, w), np.int32)
    for k, o in enumerate(objs, 1):
        lab[shape_mask(np.random.default_rng(o["shape_seed"]), h, w, o["cls"], o["r"], o["c"][0], o["c"][1])] = k
    return [o for k, o in enumerate(objs, 1) if (lab == k).sum() >= min_pixels]


def write_synthetic_davis(out: str | os.PathLike, seed: int = 0, n_train: int = 8, n_val: int = 6,
                          n_frames: int = 16, size: tuple[int, int] = (96, 128)) -> Path:
    """Synthetic DAVIS-2017 (h x w = size); deterministic in the arguments; written atomically."""
    import cv2

    from harness.data.publish import publish_dir, staging_dir
    from harness.data.scenes import CLASSES, shape_mask, texture
    from harness.data.seg import save_palette_png
    tmp, out = staging_dir(out, "davis")
    (tmp / "ImageSets" / "2017").mkdir(parents=True)
    h, w = size
    for split, n, split_seed in (("train", n_train, 0), ("val", n_val, 1)):
        names = []
        for i in range(n):
            rng = np.random.default_rng([seed, split_seed, i, 7])
            name = f"synth-{split}-{i:03d}"
            names.append(name)
            bg = texture(rng, h + 32, w + 32, int(rng.integers(5, 8)))
            pan = rng.uniform(-1.0, 1.0, 2)
            objs = []
            for _ in range(int(rng.integers(2, 5))):
                cls = int(rng.integers(0, len(CLASSES)))
                objs.append({"cls": cls, "tex": texture(rng, h, w, cls), "shape_seed": int(rng.integers(1 << 30)),
                             "c": np.array([rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h]),
                             "v": rng.uniform(-3.5, 3.5, 2), "r": rng.uniform(0.12, 0.25) * min(h, w),
                             "dr": rng.uniform(-0.04, 0.04)})
            objs = _visible_at_start(objs, h, w)
            for t in range(n_frames):
                ox, oy = (16 + pan * t).round().astype(int).clip(0, 32)
                img = bg[oy:oy + h, ox:ox + w].copy()
                lab = np.zeros((h, w), np.uint8)
                for k, o in enumerate(objs, 1):  # later objects are in front
                    c = o["c"] + o["v"] * t
                    r = o["r"] * (1 + o["dr"] * t)
                    m = shape_mask(np.random.default_rng(o["shape_seed"]), h, w, o["cls"], r, c[0], c[1])
                    shift = np.roll(o["tex"], (int(round(o["v"][1] * t)), int(round(o["v"][0] * t))), (0, 1))
                    img[m] = shift[m]
                    lab[m] = k
                jpg = tmp / "JPEGImages" / RES / name / f"{t:05d}.jpg"
                jpg.parent.mkdir(parents=True, exist_ok=True)
                noise = rng.normal(0, 0.02, img.shape).astype(np.float32)
                cv2.imwrite(str(jpg), np.clip((img + noise) * 255, 0, 255).astype(np.uint8)[..., ::-1],
                            [cv2.IMWRITE_JPEG_QUALITY, 95])
                png = tmp / "Annotations" / RES / name / f"{t:05d}.png"
                png.parent.mkdir(parents=True, exist_ok=True)
                save_palette_png(png, lab)
        (tmp / "ImageSets" / "2017" / f"{split}.txt").write_text("\n".join(names) + "\n")
    return publish_dir(tmp, out, "davis", {"seed": seed, "n_train": n_train, "n_val": n_val, "n_frames": n_frames,
                                           "size": size})


DAVIS = Davis()
