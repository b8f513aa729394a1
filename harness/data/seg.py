"""Semantic-segmentation layouts: Pascal VOC 2012 (+ SBD aug), Cityscapes, ADE20K; synthetic writers.

Real layouts (as mmsegmentation reads them; roots under the data root, see harness.data.LAYOUT_DIRS):
- VOC:        VOCdevkit/VOC2012/{JPEGImages/<id>.jpg, SegmentationClass/<id>.png,
              SegmentationClassAug/<id>.png, ImageSets/Segmentation/{train,val,trainaug}.txt};
              labels 0 (background) .. 20, 255 = ignore (object borders).
- Cityscapes: cityscapes/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png and
              gtFine/<split>/<city>/<name>_gtFine_labelTrainIds.png; train ids 0..18, 255 = ignore.
- ADE20K:     ade/ADEChallengeData2016/{images,annotations}/{training,validation}/ADE_*_<n>.{jpg,png};
              0 = other (ignored after reduce_zero_label), 1..150 the classes.
Synthetic versions use the scenes of synthetic COCO, except that object instances take any hue
(scenes.FREE_HUE_LAYOUTS: a class is told by shape and texture, not colour): the five shape
classes and the three background "stuff" textures are mapped onto label ids of each data set
(SYNTH_LABELS), so the files are valid for the real class lists while only those ids occur.
VOC scenes have one background texture (all VOC background); Cityscapes and ADE20K scenes, whose
classes are mostly stuff, have 2-3 stuff bands per image, each stuff class in its own texture and
any hue (scenes.stuff_bands, STUFF_VERSION 2), so the stuff classes are learnable without a colour
shortcut and share the image as road, sidewalk and building do.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from harness.data.publish import publish_dir, staging_dir
from harness.data.scenes import FREE_HUE_LAYOUTS, STUFF_LAYOUTS, Scene, render_scene
from harness.errors import BenchError

# where the synthetic scene classes land: shapes (disc, square, triangle, ring, cross) and the
# background families 5, 6, 7 (None: background is the data set's own background / ignore label)
SYNTH_LABELS = {
    "voc": {"shapes": [15, 7, 3, 5, 9], "stuff": [0, 0, 0]},          # person, car, bird, bottle, chair; bg 0
    "cityscapes": {"shapes": [11, 13, 12, 17, 18], "stuff": [0, 1, 2]},  # person, car, rider, motorcycle, bicycle; road, sidewalk, building
    "ade20k": {"shapes": [13, 21, 20, 24, 37], "stuff": [1, 2, 3]},    # person, car, chair, ... ; wall, building, sky
}


def voc_palette() -> list[int]:
    """The Pascal VOC colour map (256 x RGB, flattened), as VOC's devkit defines it (bit interleaving)."""
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


def save_palette_png(path: str | os.PathLike, labels: np.ndarray) -> None:
    """Write uint8 label ids as an indexed PNG with the VOC/DAVIS colour map."""
    im = Image.fromarray(labels.astype(np.uint8), "P")
    im.putpalette(voc_palette())
    im.save(path, format="PNG")


def semantic_map(scene: Scene, layout: str, border: int = 0) -> np.ndarray:
    """uint8 label map of a scene in `layout`'s ids; `border` px around objects set to 255 (VOC style).
    The background is labelled per pixel from scene.stuff_map (banded scenes), else scene.background."""
    ids = SYNTH_LABELS[layout]
    if scene.stuff_map is None:
        lab = np.full(scene.instance_map.shape, ids["stuff"][scene.background - 5], np.uint8)
    else:
        lab = np.asarray(ids["stuff"], np.uint8)[scene.stuff_map - 5]
    instance_map = scene.instance_map
    for k, cls in enumerate(scene.classes, 1):
        lab[instance_map == k] = ids["shapes"][cls]
    if border:
        kernel = np.ones((2 * border + 1, 2 * border + 1), np.uint8)
        inst = instance_map.astype(np.float32)
        edge = cv2.dilate(inst, kernel) != cv2.erode(inst, kernel)
        lab[edge] = 255
    return lab


def _scenes(layout: str, seed: int, split_seed: int, n: int, size: tuple[int, int]):
    # the layout's rendering follows the constants its cache key is made of (scenes.synth_version):
    # banded stuff for STUFF_LAYOUTS, object instances in any hue for FREE_HUE_LAYOUTS
    stuff, class_hue = layout in STUFF_LAYOUTS, layout not in FREE_HUE_LAYOUTS
    for i in range(n):
        rng = np.random.default_rng([seed, split_seed, i])
        h, w = (int(v) for v in rng.integers(size[0], size[1] + 1, 2))
        yield i, render_scene(rng, h, w, stuff=stuff, class_hue=class_hue)


# VOC2012's share of train_aug: 1464 of the 10582 train_aug images are VOC's own train.txt
VOC_TRAIN_SHARE = 1464 / 10582


def write_synthetic_voc(out: str | os.PathLike, seed: int = 0, n_train: int = 600, n_val: int = 100,
                        size: tuple[int, int] = (96, 128)) -> Path:
    """Synthetic VOC2012 + aug as mmseg's voc_aug.py leaves it: trainaug.txt lists every train image;
    train.txt its first VOC_TRAIN_SHARE (at least one, and one less than all when there are two or
    more) and aug.txt the rest, in the same order, so that `train+aug` and `trainaug` are the same
    images in the same order. Labels are written to both SegmentationClass and SegmentationClassAug
    (the same maps: the synthetic world has one annotation), palette PNGs with 255 on a 1-px object
    border band."""
    tmp, out = staging_dir(out, "voc")
    for d in ("JPEGImages", "SegmentationClass", "SegmentationClassAug", "ImageSets/Segmentation"):
        (tmp / d).mkdir(parents=True)
    lists: dict[str, list[str]] = {"train": [], "val": []}
    for split, n, split_seed in (("train", n_train, 0), ("val", n_val, 1)):
        for i, scene in _scenes("voc", seed, split_seed, n, size):
            name = f"2007_{split_seed}{i:05d}"
            cv2.imwrite(str(tmp / "JPEGImages" / f"{name}.jpg"), scene.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            lab = semantic_map(scene, "voc", border=1)
            save_palette_png(tmp / "SegmentationClass" / f"{name}.png", lab)
            save_palette_png(tmp / "SegmentationClassAug" / f"{name}.png", lab)
            lists[split].append(name)
    seg = tmp / "ImageSets" / "Segmentation"
    k = max(1, min(round(n_train * VOC_TRAIN_SHARE), n_train - 1))
    (seg / "train.txt").write_text("".join(f"{i}\n" for i in lists["train"][:k]))
    (seg / "aug.txt").write_text("".join(f"{i}\n" for i in lists["train"][k:]))
    (seg / "trainaug.txt").write_text("\n".join(lists["train"]) + "\n")
    (seg / "val.txt").write_text("\n".join(lists["val"]) + "\n")
    return publish_dir(tmp, out, "voc", {"seed": seed, "n_train": n_train, "n_val": n_val, "size": size})


def write_synthetic_cityscapes(out: str | os.PathLike, seed: int = 0, n_train: int = 600, n_val: int = 100,
                               size: tuple[int, int] = (96, 128)) -> Path:
    """Synthetic Cityscapes: leftImg8bit PNGs and gtFine labelTrainIds PNGs, one city per split."""
    tmp, out = staging_dir(out, "cityscapes")
    for split, n, split_seed, city in (("train", n_train, 0, "synthtown"), ("val", n_val, 1, "synthville")):
        (tmp / "leftImg8bit" / split / city).mkdir(parents=True)
        (tmp / "gtFine" / split / city).mkdir(parents=True)
        for i, scene in _scenes("cityscapes", seed, split_seed, n, size):
            stem = f"{city}_{i:06d}_000019"
            cv2.imwrite(str(tmp / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"), scene.image[..., ::-1])
            lab = semantic_map(scene, "cityscapes")
            Image.fromarray(lab, "L").save(tmp / "gtFine" / split / city / f"{stem}_gtFine_labelTrainIds.png")
    return publish_dir(tmp, out, "cityscapes", {"seed": seed, "n_train": n_train, "n_val": n_val, "size": size})


def write_synthetic_ade20k(out: str | os.PathLike, seed: int = 0, n_train: int = 600, n_val: int = 100,
                           size: tuple[int, int] = (96, 128)) -> Path:
    """Synthetic ADEChallengeData2016: jpg images and 0..150 label PNGs (0 = other)."""
    tmp, out = staging_dir(out, "ade20k")
    for split, n, split_seed, folder, prefix in (("train", n_train, 0, "training", "ADE_train"),
                                                 ("val", n_val, 1, "validation", "ADE_val")):
        (tmp / "images" / folder).mkdir(parents=True)
        (tmp / "annotations" / folder).mkdir(parents=True)
        for i, scene in _scenes("ade20k", seed, split_seed, n, size):
            stem = f"{prefix}_{i + 1:08d}"
            cv2.imwrite(str(tmp / "images" / folder / f"{stem}.jpg"), scene.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            lab = semantic_map(scene, "ade20k")
            Image.fromarray(lab, "L").save(tmp / "annotations" / folder / f"{stem}.png")
    return publish_dir(tmp, out, "ade20k", {"seed": seed, "n_train": n_train, "n_val": n_val, "size": size})


# ----------------------------------------------------------------------------- validation of real layouts
def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise BenchError(f"{path}: missing ({what})")
    return path


def validate_seg(layout: str, root: str | os.PathLike, split: str) -> tuple[int, Path]:
    """Check the files `layout`'s `split` needs exist; return (number of images, the first label file).
    split: VOC train|val|trainaug|train+aug (harness.data.VOC_SPLITS); Cityscapes and ADE20K train|val."""
    root = Path(root)
    if layout == "voc":
        from harness.data import voc_parts
        n, first = 0, None
        for name, labels in voc_parts(split):
            ids_file = _need(root / "ImageSets" / "Segmentation" / f"{name}.txt", f"VOC2012 {name} image list")
            ids = [line.strip() for line in ids_file.read_text().splitlines() if line.strip()]
            if not ids:
                raise BenchError(f"{ids_file}: empty image list")
            _need(root / "JPEGImages" / f"{ids[0]}.jpg", "VOC2012 JPEG image listed in " + ids_file.name)
            label = _need(root / labels / f"{ids[0]}.png", f"VOC label PNG listed in {ids_file.name}")
            n, first = n + len(ids), first or label
        return n, first
    if layout == "cityscapes":
        imgs = sorted(_need(root / "leftImg8bit" / split, "Cityscapes leftImg8bit split").glob("*/*_leftImg8bit.png"))
        if not imgs:
            raise BenchError(f"{root / 'leftImg8bit' / split}: no <city>/*_leftImg8bit.png images")
        first = imgs[0]
        lab = root / "gtFine" / split / first.parent.name / first.name.replace("_leftImg8bit.png", "_gtFine_labelTrainIds.png")
        return len(imgs), _need(lab, "Cityscapes labelTrainIds PNG (run cityscapesscripts' createTrainIdLabelImgs)")
    if layout == "ade20k":
        folder = {"train": "training", "val": "validation"}[split]
        imgs = sorted(_need(root / "images" / folder, "ADE20K images folder").glob("*.jpg"))
        if not imgs:
            raise BenchError(f"{root / 'images' / folder}: no ADE_*.jpg images")
        return len(imgs), _need(root / "annotations" / folder / f"{imgs[0].stem}.png", "ADE20K annotation PNG")
    raise BenchError(f"layout '{layout}' is not a segmentation layout (voc, cityscapes, ade20k)")
