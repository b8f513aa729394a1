"""The checks every layout's `problems` is made of: an image decodes (fully), a label map has the
image's size and only allowed ids. Each records a one-line problem naming the file and what was
expected; none raises. No layout is imported here."""
from __future__ import annotations

from pathlib import Path
from typing import Any

MAX_PROBLEMS = 1000


def open_image(path: Path, problems: list[str], modes: tuple[str, ...] | None = None) -> tuple[int, int, Any] | None:
    """Decode an image fully; (width, height, PIL image) or None with the problem recorded."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            im.load()
            if modes is not None and im.mode not in modes:
                problems.append(f"{path}: mode {im.mode}, expected {' or '.join(modes)}")
                return None
            return im.width, im.height, im.copy()
    except FileNotFoundError:
        problems.append(f"{path}: missing")
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        problems.append(f"{path}: does not decode ({str(e).splitlines()[0][:80] if str(e) else type(e).__name__})")
    return None


def check_label(path: Path, size: tuple[int, int] | None, n_classes: int, problems: list[str]) -> None:
    """A label PNG (mode P or L) of `size` (w, h) holding only ids 0..n_classes-1 and 255 (ignore)."""
    import numpy as np
    got = open_image(path, problems, ("P", "L"))
    if got is None:
        return
    w, h, im = got
    if size is not None and (w, h) != size:
        problems.append(f"{path}: {w}x{h}, expected the image's {size[0]}x{size[1]}")
    bad = np.setdiff1d(np.unique(np.asarray(im)), np.r_[np.arange(n_classes), 255])
    if bad.size:
        problems.append(f"{path}: label value {int(bad[0])} out of range (expected 0..{n_classes - 1} or 255)")


def check_image_and_label(img: Path, lab: Path, n_classes: int, problems: list[str]) -> None:
    got = open_image(img, problems)
    check_label(lab, None if got is None else got[:2], n_classes, problems)


def list_file(path: Path, what: str, problems: list[str]) -> list[str]:
    """The non-empty lines of an id list; a missing or empty list is a problem."""
    if not path.is_file():
        problems.append(f"{path}: missing ({what})")
        return []
    ids = [s.strip() for s in path.read_text().splitlines() if s.strip()]
    if not ids:
        problems.append(f"{path}: empty {what}")
    return ids
