"""Cityscapes layout, as mmsegmentation reads it (under the data root, cityscapes/):
leftImg8bit/<split>/<city>/<name>_leftImg8bit.png and gtFine/<split>/<city>/<name>_gtFine_labelTrainIds.png;
train ids 0..18, 255 = ignore (cityscapesscripts' createTrainIdLabelImgs writes the labelTrainIds)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.data.seg import SegLayout, semantic_map, synthetic_scenes


class Cityscapes(SegLayout):
    name, folder, n_classes, splits = "cityscapes", "cityscapes", 19, ("train", "val")
    how_to_get = ("extract leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip, then run cityscapesscripts' "
                  "createTrainIdLabelImgs, or `bench data synth --layout cityscapes`")

    def pairs(self, root: Path, split: str, problems: list[str]) -> list[tuple[Path, Path]]:
        folder = root / "leftImg8bit" / split
        if not folder.is_dir():
            problems.append(f"{folder}: missing (Cityscapes leftImg8bit split)")
            return []
        imgs = sorted(folder.glob("*/*_leftImg8bit.png"))
        if not imgs:
            problems.append(f"{folder}: no <city>/*_leftImg8bit.png images")
        return [(p, root / "gtFine" / split / p.parent.name / p.name.replace("_leftImg8bit.png", "_gtFine_labelTrainIds.png"))
                for p in imgs]

    def write_synthetic(self, out: str | os.PathLike, **params: Any) -> Path:
        return write_synthetic_cityscapes(out, **params)


def write_synthetic_cityscapes(out: str | os.PathLike, seed: int = 0, n_train: int = 600, n_val: int = 100,
                               size: tuple[int, int] = (96, 128)) -> Path:
    """Synthetic Cityscapes: leftImg8bit PNGs and gtFine labelTrainIds PNGs, one city per split."""
    import cv2
    from PIL import Image

    from harness.data.publish import publish_dir, staging_dir
    tmp, out = staging_dir(out, "cityscapes")
    for split, n, split_seed, city in (("train", n_train, 0, "synthtown"), ("val", n_val, 1, "synthville")):
        (tmp / "leftImg8bit" / split / city).mkdir(parents=True)
        (tmp / "gtFine" / split / city).mkdir(parents=True)
        for i, scene in synthetic_scenes("cityscapes", seed, split_seed, n, size):
            stem = f"{city}_{i:06d}_000019"
            cv2.imwrite(str(tmp / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"), scene.image[..., ::-1])
            lab = semantic_map(scene, "cityscapes")
            Image.fromarray(lab, "L").save(tmp / "gtFine" / split / city / f"{stem}_gtFine_labelTrainIds.png")
    return publish_dir(tmp, out, "cityscapes", {"seed": seed, "n_train": n_train, "n_val": n_val, "size": size})


CITYSCAPES = Cityscapes()
