"""Pascal VOC 2012 segmentation layout (+ the SBD "aug" labels), as mmsegmentation reads it.

Real layout (under the data root, VOCdevkit/VOC2012): JPEGImages/<id>.jpg, SegmentationClass/<id>.png
(VOC's own annotation, 255 on object borders), SegmentationClassAug/<id>.png (SBD converted),
ImageSets/Segmentation/{train,val,aug,trainaug}.txt; labels 0 (background) .. 20, 255 = ignore.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.data.checks import list_file
from harness.data.seg import SegLayout, save_palette_png, semantic_map, synthetic_scenes
from harness.errors import BenchError

# split -> the (image list under ImageSets/Segmentation, label folder) parts it is made of, in order.
# `train+aug` is mmseg's pascal_voc12_aug.py, as SlotCon's and DenseCL's configs train: train.txt
# labelled from SegmentationClass concatenated with aug.txt (the SBD images outside train and val, as
# mmseg's voc_aug.py writes it) labelled from SegmentationClassAug. `trainaug` is one list with every
# label from SegmentationClassAug (the DeepLab-style distribution, which also holds the VOC train images).
VOC_SPLITS = {"train": (("train", "SegmentationClass"),), "val": (("val", "SegmentationClass"),),
              "trainaug": (("trainaug", "SegmentationClassAug"),),
              "train+aug": (("train", "SegmentationClass"), ("aug", "SegmentationClassAug"))}
# VOC2012's share of train_aug: 1464 of the 10582 train_aug images are VOC's own train.txt
VOC_TRAIN_SHARE = 1464 / 10582


def voc_parts(split: str) -> tuple[tuple[str, str], ...]:
    """The (list, label folder) parts of a VOC segmentation split, or a one-line error."""
    if split not in VOC_SPLITS:
        raise BenchError(f"VOC split '{split}' is not one of {', '.join(VOC_SPLITS)}")
    return VOC_SPLITS[split]


class Voc(SegLayout):
    name, folder, n_classes = "voc", "VOCdevkit/VOC2012", 21
    splits = ("train+aug", "trainaug", "val", "train")
    default_splits = ("train+aug", "trainaug", "val")  # train is part of train+aug
    how_to_get = ("extract VOCtrainval_11-May-2012.tar and the SBD aug labels (mmseg's "
                  "tools/dataset_converters/voc_aug.py), or `bench data synth --layout voc`")

    def pairs(self, root: Path, split: str, problems: list[str]) -> list[tuple[Path, Path]]:
        out: list[tuple[Path, Path]] = []
        for name, labels in voc_parts(split):
            ids = list_file(root / "ImageSets" / "Segmentation" / f"{name}.txt", f"VOC2012 {name} image list", problems)
            out += [(root / "JPEGImages" / f"{i}.jpg", root / labels / f"{i}.png") for i in ids]
        if len({img for img, _ in out}) != len(out):
            problems.append(f"{root}: VOC split {split} lists an image twice")
        return out

    def images(self, root: Path, split: str) -> list[Path]:
        from harness.data.verifier import require_valid
        require_valid(self, root, split)
        return sorted({img for img, _ in self.pairs(root, split, [])})

    def write_synthetic(self, out: str | os.PathLike, **params: Any) -> Path:
        return write_synthetic_voc(out, **params)


def write_synthetic_voc(out: str | os.PathLike, seed: int = 0, n_train: int = 600, n_val: int = 100,
                        size: tuple[int, int] = (96, 128), world: int = 1, **world_options: int) -> Path:
    """Synthetic VOC2012 + aug as mmseg's voc_aug.py leaves it: trainaug.txt lists every train image;
    train.txt its first VOC_TRAIN_SHARE (at least one, and one less than all when there are two or
    more) and aug.txt the rest, in the same order, so that `train+aug` and `trainaug` are the same
    images in the same order. Labels are written to both SegmentationClass and SegmentationClassAug
    (the same maps: the synthetic world has one annotation), palette PNGs with 255 on a 1-px object
    border band. world=2: harness.data.world's scenes, its 20 classes as VOC's 20 (seg.WORLD2_LABELS)."""
    import cv2

    from harness.data.publish import publish_dir, staging_dir
    tmp, out = staging_dir(out, "voc")
    for d in ("JPEGImages", "SegmentationClass", "SegmentationClassAug", "ImageSets/Segmentation"):
        (tmp / d).mkdir(parents=True)
    lists: dict[str, list[str]] = {"train": [], "val": []}
    for split, n, split_seed in (("train", n_train, 0), ("val", n_val, 1)):
        for i, scene in synthetic_scenes("voc", seed, split_seed, n, size, world, **world_options):
            name = f"2007_{split_seed}{i:05d}"
            cv2.imwrite(str(tmp / "JPEGImages" / f"{name}.jpg"), scene.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            lab = semantic_map(scene, "voc", border=1, world=world)
            save_palette_png(tmp / "SegmentationClass" / f"{name}.png", lab)
            save_palette_png(tmp / "SegmentationClassAug" / f"{name}.png", lab)
            lists[split].append(name)
    seg = tmp / "ImageSets" / "Segmentation"
    k = max(1, min(round(n_train * VOC_TRAIN_SHARE), n_train - 1))
    (seg / "train.txt").write_text("".join(f"{i}\n" for i in lists["train"][:k]))
    (seg / "aug.txt").write_text("".join(f"{i}\n" for i in lists["train"][k:]))
    (seg / "trainaug.txt").write_text("\n".join(lists["train"]) + "\n")
    (seg / "val.txt").write_text("\n".join(lists["val"]) + "\n")
    params: dict[str, Any] = {"seed": seed, "n_train": n_train, "n_val": n_val, "size": size}
    if world != 1:  # absent by default: world-1 sets keep their marker
        params.update(world=world, **world_options)
    return publish_dir(tmp, out, "voc", params)


VOC = Voc()
