"""COCO-2017 layout: find and validate a real or synthetic COCO root, and write the synthetic one.

Layout (as distributed by cocodataset.org):
    <root>/train2017/*.jpg  <root>/val2017/*.jpg
    <root>/annotations/instances_train2017.json  <root>/annotations/instances_val2017.json
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from harness.files import atomic_write_text
from harness.data.checks import MAX_PROBLEMS, open_image
from harness.data.layout import Layout
from harness.errors import BenchError

HOW_TO_GET = "download train2017.zip, val2017.zip and annotations_trainval2017.zip from cocodataset.org"


def coco_paths(root: str | os.PathLike, split: str) -> tuple[Path, Path]:
    """(image dir, annotation json) of `split` ('train' or 'val') under a COCO root; error if missing."""
    root = Path(root)
    images, ann = root / f"{split}2017", root / "annotations" / f"instances_{split}2017.json"
    for p in (ann, images):
        if not p.exists():
            raise BenchError(f"COCO {split}2017: expected {p} ({HOW_TO_GET}, or `bench data synth --layout coco`)")
    return images, ann


def validate_coco(root: str | os.PathLike, split: str) -> dict:
    """Check a COCO split up front (every annotation well formed, every image present and decoding:
    harness.data.verifier) and return its instances json."""
    from harness.data.verifier import require_valid
    require_valid(COCO, root, split)
    return json.loads(coco_paths(root, split)[1].read_text())


def image_files(root: str | os.PathLike, split: str) -> list[Path]:
    """Sorted image paths of a split (what self-supervised pre-training reads; labels unused)."""
    images, _ = coco_paths(root, split)
    files = sorted(p for p in images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise BenchError(f"{images}: no images found")
    return files


def _polygons(mask: Any) -> list[list[float]]:
    """Outer contours of a boolean mask as COCO polygons (x0,y0,x1,y1,...), at least 3 points each."""
    import cv2
    import numpy as np
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]


def write_synthetic_coco(out: str | os.PathLike, seed: int = 0, n_train: int = 600, n_val: int = 100,
                         size: tuple[int, int] = (96, 128), class_hue: bool = True, world: int = 1,
                         **world_options: int) -> Path:
    """Write a synthetic data set in the COCO-2017 layout; deterministic in (seed, sizes, class_hue, world).

    world=2: harness.data.world's scenes (20 shape classes, appearance per instance, dead-leaves
    clutter; class_hue does not apply; world_options: its render_scene's knobs, world.OPTIONS). As in world 1, an instance's polygons are its outer contours,
    so a ring's annotation covers its hole (COCO polygons hold no holes).

    class_hue=False: object instances in any hue (harness.data.scenes), the same scenes otherwise
    (same shapes, places and textures: one random stream); a protocol asks for it with
    `dataset.synth: {class_hue: false}`, which also gives the set its own cache folder.

    Written into a temporary sibling directory and renamed at the end, so an interrupted run
    leaves nothing half-written under `out`; an existing `out` is replaced only if it is a DenseBench
    synthetic COCO of the same version (harness.data.publish).
    """
    import cv2
    import pycocotools.mask as mask_util

    import harness.data.world as world2
    import harness.data.scenes as scenes
    from harness.data.publish import publish_dir, staging_dir
    from harness.data.seg import synthetic_scenes
    tmp, out = staging_dir(out, "coco")
    (tmp / "annotations").mkdir(parents=True)
    cats = [{"id": i + 1, "name": n, "supercategory": "shape"}
            for i, n in enumerate(world2.CLASSES if world == 2 else scenes.CLASSES)]
    ann_id = 1
    for split, n, split_seed in (("train", n_train, 0), ("val", n_val, 1)):
        (tmp / f"{split}2017").mkdir()
        images, anns = [], []
        for i, scene in synthetic_scenes("coco", seed, split_seed, n, size, world, class_hue, **world_options):
            h, w = scene.image.shape[:2]
            name = f"{split_seed:02d}{i:010d}.jpg"
            cv2.imwrite(str(tmp / f"{split}2017" / name), scene.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            images.append({"id": split_seed * 10**7 + i, "file_name": name, "height": h, "width": w})
            for k, cls in enumerate(scene.classes, 1):
                polys = _polygons(scene.instance_map == k)
                if not polys:
                    continue
                rle = mask_util.merge(mask_util.frPyObjects(polys, h, w))
                anns.append({"id": ann_id, "image_id": images[-1]["id"], "category_id": cls + 1,
                             "segmentation": polys, "area": float(mask_util.area(rle)),
                             "bbox": [float(v) for v in mask_util.toBbox(rle)], "iscrowd": 0})
                ann_id += 1
        atomic_write_text(tmp / "annotations" / f"instances_{split}2017.json",
                          json.dumps({"info": {"description": f"DenseBench synthetic COCO, seed {seed}"},
                                      "licenses": [], "images": images, "annotations": anns, "categories": cats}))
    params = {"seed": seed, "n_train": n_train, "n_val": n_val, "size": size}
    if not class_hue:  # absent by default: the marker of hue-coded sets stays as it was
        params["class_hue"] = False
    if world != 1:
        params.update(world=world, **world_options)
    return publish_dir(tmp, out, "coco", params)


def problems(root: Path, split: str) -> list[str]:
    """Structure of instances_<split>2017.json and every annotation, then every image it lists decoding."""
    out: list[str] = []
    for f in _annotation_problems(root, split, out):
        if len(out) >= MAX_PROBLEMS:
            break
        open_image(f, out)
    return out


def _annotation_problems(root: Path, split: str, problems: list[str]) -> list[Path]:
    """Structure of instances_<split>2017.json, every annotation; returns the image files it lists."""
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


class Coco(Layout):
    name, folder, splits, how_to_get = "coco", "coco", ("train", "val"), HOW_TO_GET

    def missing(self, root: Path, split: str) -> str:
        try:  # COCO's own message names the files it expected
            coco_paths(root, split)
        except BenchError as e:
            return str(e)
        return super().missing(root, split)

    def problems(self, root: Path, split: str) -> list[str]:
        return problems(root, split)

    def present(self, root: Path, split: str) -> str:
        return f"found: {coco_paths(root, split)[1]}"

    def images(self, root: Path, split: str) -> list[Path]:
        from harness.data.verifier import require_valid
        require_valid(self, root, split)  # every image present and decoding, before any training
        return image_files(root, split)

    def write_synthetic(self, out: str | os.PathLike, **params: Any) -> Path:
        return write_synthetic_coco(out, **params)


COCO = Coco()
