"""DAVIS label PNGs: the zlib-only decode of unfiltered 8-bit PNGs equals Pillow's; every other PNG goes
to Pillow (filtered rows decoded right, damaged files a one-line error)."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from harness.data.davis import read_indexed, unfiltered_png, write_indexed
from harness.errors import BenchError


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(labels: np.ndarray, filter_type: int, colour: int = 0) -> bytes:
    """An 8-bit grey (0) or palette (3) PNG written by hand, every row with `filter_type` (0 none, 1 Sub)."""
    h, w = labels.shape
    rows = []
    for r in labels.astype(np.int16):
        enc = r if filter_type == 0 else (r - np.concatenate([[0], r[:-1]])) % 256  # Sub: minus the left pixel
        rows.append(bytes([filter_type]) + enc.astype(np.uint8).tobytes())
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
    if colour == 3:
        out += _chunk(b"PLTE", bytes(range(256)) * 3)
    return out + _chunk(b"IDAT", zlib.compress(b"".join(rows))) + _chunk(b"IEND", b"")


@pytest.fixture
def labels():
    lab = np.random.default_rng(0).integers(0, 5, (37, 53)).astype(np.uint8)
    lab[3:9, 4:20] = 255  # void
    return lab


@pytest.mark.parametrize("inflate", ["zlib-ng", "zlib"])
def test_unfiltered_palette_png_decodes_like_pillow(labels, tmp_path, monkeypatch, inflate):
    if inflate == "zlib":  # the fallback where zlib-ng is not installed
        monkeypatch.setattr("harness.data.davis._inflate", zlib)
    write_indexed(tmp_path / "a.png", labels)                          # Pillow's own palette PNG
    data = (tmp_path / "a.png").read_bytes()
    fast = unfiltered_png(data)
    assert fast is not None and not fast.flags.writeable                # a view of the inflated bytes
    assert np.array_equal(fast, np.array(Image.open(tmp_path / "a.png"))) and np.array_equal(fast, labels)
    own = read_indexed(tmp_path / "a.png")                              # the default: an array of its own
    assert own.flags.writeable and own.flags.c_contiguous and np.array_equal(own, labels)
    assert np.array_equal(read_indexed(tmp_path / "a.png", writeable=False), labels)
    for colour in (0, 3):                                              # grey and palette written by hand
        assert np.array_equal(unfiltered_png(_png(labels, 0, colour)), labels)


def test_other_pngs_go_to_pillow(labels, tmp_path):
    sub = _png(labels, 1)                                              # rows stored with the Sub filter
    assert unfiltered_png(sub) is None
    (tmp_path / "sub.png").write_bytes(sub)
    assert np.array_equal(read_indexed(tmp_path / "sub.png"), labels)  # Pillow undoes the filter
    Image.fromarray(labels.astype(np.uint16) * 200).save(tmp_path / "g16.png")  # 16-bit grey
    assert unfiltered_png((tmp_path / "g16.png").read_bytes()) is None


def test_a_damaged_chunk_is_not_decoded_silently(labels, tmp_path):
    data = bytearray(_png(labels, 0, colour=3))
    assert unfiltered_png(bytes(data)) is not None
    data[data.index(b"PLTE") + 10] ^= 0xFF                             # one palette byte flipped: the labels
    assert unfiltered_png(bytes(data)) is None                         # decode, but the chunk's CRC fails
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(BenchError, match=r"bad.png: not a readable PNG"):
        read_indexed(tmp_path / "bad.png")
