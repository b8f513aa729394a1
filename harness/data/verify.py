"""Up-front validation of a data set: every listed file exists and decodes, sizes and modes agree,
label values are in range, every COCO annotation is well formed; one line per problem.

`verify(layout, root, split)` returns the problems (strings naming the file and what was expected);
`require_valid` raises one BenchError that counts them and shows the first, before any training
starts. A data set that passed is remembered (a stamp under $DENSEBENCH_HOME/verified keyed by the
root and the names, sizes and times of its files), so a large real data set is decoded once, not on
every run. `bench data verify --layout L [--root R]` prints the full list.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from harness.config import atomic_write_text, home, stable_hash
from harness.errors import BenchError

MAX_PROBLEMS = 1000
# label ids a segmentation layout may hold (255 = ignore everywhere)
LABEL_RANGE = {"voc": 21, "cityscapes": 19, "ade20k": 151}
SPLITS = {"coco": ("train", "val"), "voc": ("train+aug", "trainaug", "val"), "cityscapes": ("train", "val"),
          "ade20k": ("train", "val"), "davis": ("val",), "voc_det": ("trainval", "test")}


def _open(path: Path, problems: list[str], modes: tuple[str, ...] | None = None) -> tuple[int, int, Image.Image] | None:
    """Decode an image fully; (width, height, image) or None with the problem recorded."""
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


def _label(path: Path, size: tuple[int, int] | None, n_classes: int, problems: list[str]) -> None:
    got = _open(path, problems, ("P", "L"))
    if got is None:
        return
    w, h, im = got
    if size is not None and (w, h) != size:
        problems.append(f"{path}: {w}x{h}, expected the image's {size[0]}x{size[1]}")
    bad = np.setdiff1d(np.unique(np.asarray(im)), np.r_[np.arange(n_classes), 255])
    if bad.size:
        problems.append(f"{path}: label value {int(bad[0])} out of range (expected 0..{n_classes - 1} or 255)")


def _image_and_label(img: Path, lab: Path, n_classes: int, problems: list[str]) -> None:
    got = _open(img, problems)
    _label(lab, None if got is None else got[:2], n_classes, problems)


def _seg_pairs(layout: str, root: Path, split: str, problems: list[str]) -> list[tuple[Path, Path]]:
    """(image, label) paths a segmentation split lists."""
    if layout == "voc":
        from harness.data import voc_parts
        pairs: list[tuple[Path, Path]] = []
        for name, labels in voc_parts(split):
            ids_file = root / "ImageSets" / "Segmentation" / f"{name}.txt"
            if not ids_file.is_file():
                problems.append(f"{ids_file}: missing (VOC2012 {name} image list)")
                continue
            ids = [s.strip() for s in ids_file.read_text().splitlines() if s.strip()]
            if not ids:
                problems.append(f"{ids_file}: empty image list")
            pairs += [(root / "JPEGImages" / f"{i}.jpg", root / labels / f"{i}.png") for i in ids]
        if len({img for img, _ in pairs}) != len(pairs):
            problems.append(f"{root}: VOC split {split} lists an image twice")
        return pairs
    if layout == "cityscapes":
        imgs = sorted((root / "leftImg8bit" / split).glob("*/*_leftImg8bit.png"))
        if not imgs:
            problems.append(f"{root / 'leftImg8bit' / split}: no <city>/*_leftImg8bit.png images")
        return [(p, root / "gtFine" / split / p.parent.name / p.name.replace("_leftImg8bit.png", "_gtFine_labelTrainIds.png"))
                for p in imgs]
    folder = {"train": "training", "val": "validation"}.get(split, split)
    imgs = sorted((root / "images" / folder).glob("*.jpg"))
    if not imgs:
        problems.append(f"{root / 'images' / folder}: no ADE_*.jpg images")
    return [(p, root / "annotations" / folder / f"{p.stem}.png") for p in imgs]


def _coco(root: Path, split: str, problems: list[str]) -> list[Path]:
    """Structure of instances_<split>2017.json, every annotation; returns the image files it lists."""
    from harness.data.coco import coco_paths
    try:
        images_dir, ann = coco_paths(root, split)
    except BenchError as e:
        problems.append(str(e))
        return []
    try:
        data = json.loads(ann.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        problems.append(f"{ann}: not valid JSON ({getattr(e, 'msg', type(e).__name__)})")
        return []
    if not isinstance(data, dict):
        problems.append(f"{ann}: expected a JSON object with images, annotations, categories")
        return []
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            problems.append(f"{ann}: '{key}' is {'missing' if key not in data else 'not a list'}")
    if problems:
        return []
    cats = {c.get("id") for c in data["categories"] if isinstance(c, dict)}
    files, ids = [], set()
    for k, im in enumerate(data["images"]):
        if isinstance(im, dict) and isinstance(im.get("id"), int):
            ids.add(im["id"])  # its annotations name an image, even if the entry is malformed
        if not isinstance(im, dict) or not isinstance(im.get("file_name"), str) or not isinstance(im.get("id"), int):
            problems.append(f"{ann}: images[{k}]: expected an object with integer id and file_name")
            continue
        files.append(images_dir / im["file_name"])
    for k, a in enumerate(data["annotations"]):
        where = f"{ann}: annotations[{k}]"
        if not isinstance(a, dict):
            problems.append(f"{where}: not an object")
        elif a.get("image_id") not in ids:
            problems.append(f"{where}: image_id {a.get('image_id')!r} names no image")
        elif a.get("category_id") not in cats:
            problems.append(f"{where}: category_id {a.get('category_id')!r} is not a category")
        else:
            box = a.get("bbox")
            ok = isinstance(box, list) and len(box) == 4 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in box)
            if not ok:
                problems.append(f"{where}: bbox {box!r}, expected [x, y, width, height] of finite numbers")
            elif box[2] <= 0 or box[3] <= 0:
                problems.append(f"{where}: bbox {box!r} has a width or height <= 0")
            elif a.get("iscrowd", 0) not in (0, 1):
                problems.append(f"{where}: iscrowd {a.get('iscrowd')!r}, expected 0 or 1")
        if len(problems) >= MAX_PROBLEMS:
            break
    return files


def _davis(root: Path, split: str, problems: list[str]) -> None:
    from harness.data.davis import RES
    lst = root / "ImageSets" / "2017" / f"{split}.txt"
    if not lst.is_file():
        problems.append(f"{lst}: missing (DAVIS-2017 {split} sequence list)")
        return
    for seq in [s.strip() for s in lst.read_text().splitlines() if s.strip()]:
        frames = sorted((root / "JPEGImages" / RES / seq).glob("*.jpg"))
        anns = sorted((root / "Annotations" / RES / seq).glob("*.png"))
        if not frames or not anns:
            problems.append(f"{root / ('JPEGImages' if not frames else 'Annotations') / RES / seq}: no files")
            continue
        size = None
        for f in frames:
            got = _open(f, problems)
            if got is not None:
                if size is not None and got[:2] != size:
                    problems.append(f"{f}: {got[0]}x{got[1]}, expected {size[0]}x{size[1]} like the sequence's first frame")
                size = size or got[:2]
        for a in anns:
            _label(a, size, 256, problems)  # object ids: any 0..254, 255 void


def verify(layout: str, root: str | os.PathLike, split: str) -> list[str]:
    """Every problem of `layout`'s `split` under `root` (at most MAX_PROBLEMS lines)."""
    root, problems = Path(root), []
    if layout not in SPLITS:
        raise BenchError(f"--layout '{layout}' is not one of {', '.join(SPLITS)}")
    if not root.is_dir() and layout != "coco":  # COCO's own message names the files expected
        return [f"{root}: not a directory (expected the {layout} data set root)"]
    if layout == "coco":
        for f in _coco(root, split, problems):
            if len(problems) >= MAX_PROBLEMS:
                break
            _open(f, problems)
    elif layout == "davis":
        _davis(root, split, problems)
    elif layout == "voc_det":
        from harness.data.vocdet import problems as voc_det_problems
        problems = voc_det_problems(root, split)
    else:
        for img, lab in _seg_pairs(layout, root, split, problems):
            if len(problems) >= MAX_PROBLEMS:
                break
            _image_and_label(img, lab, LABEL_RANGE[layout], problems)
    return problems[:MAX_PROBLEMS]


def _stamp(layout: str, root: Path, split: str) -> Path:
    """Where a passed verification is remembered: keyed by every file's name, size and time."""
    listing = sorted((str(p.relative_to(root)), st.st_size, st.st_mtime_ns)
                     for p in root.rglob("*") if p.is_file() for st in [p.stat()])
    key = stable_hash({"layout": layout, "root": str(root.resolve()), "split": split, "files": listing})
    return home() / "verified" / f"{layout}-{split}-{key}.json"


def require_valid(layout: str, root: str | os.PathLike, split: str, check: Callable[..., list[str]] = verify) -> None:
    """Raise one BenchError (count and first problem) unless `split` of the data set is sound."""
    root = Path(root)
    stamp = _stamp(layout, root, split) if root.is_dir() else None
    if stamp is not None and stamp.is_file():
        return
    problems = check(layout, root, split)
    if problems:
        more = f" (and {len(problems) - 1} more: run `bench data verify --layout {layout} --root {root} --split " \
               f"{split}`)" if len(problems) > 1 else ""
        raise BenchError(f"{layout} {split} data set is not sound: {problems[0]}{more}")
    atomic_write_text(stamp, json.dumps({"layout": layout, "root": str(root), "split": split, "ok": True}))


def describe(problems: list[str], layout: str, root: Any, split: str) -> str:
    """The report `bench data verify` prints: one line per problem, then the count."""
    lines = list(problems) + [f"{len(problems)}{'+' if len(problems) >= MAX_PROBLEMS else ''} problem"
                              f"{'' if len(problems) == 1 else 's'} in {layout} {split} under {root}"]
    return "\n".join(lines)
