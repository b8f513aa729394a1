"""ImageNet (ILSVRC-2012) layout: under the data root, imagenet/{train,val}/<wnid>/*.JPEG, the class
folders ILSVRC2012_img_train.tar's class archives extract to, and the validation images sorted into
the same class folders (the layout torchvision's ImageFolder and most PyTorch code read; the official
flat val folder is put into it by the usual valprep.sh). Pre-training reads the images only; the
classification tasks read the labels from the folders: the class index is the position of the wnid
among the train split's sorted class folders, for both splits.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.data.layout import Layout
from harness.errors import BenchError

SYNTH_WNIDS = ("n90000000", "n90000001", "n90000002", "n90000003", "n90000004")  # not real synsets


class ImageNet(Layout):
    name, folder, splits = "imagenet", "imagenet", ("train", "val")
    default_splits = ("train",)
    how_to_get = ("extract ILSVRC2012_img_train.tar and its class archives there, and the validation images "
                  "into val/<wnid>/ (valprep.sh); or `bench data synth --layout imagenet`")

    def images(self, root: Path, split: str) -> list[Path]:
        files = sorted((root / self.check_split(split)).glob("*/*.JPEG"))
        if not files:
            raise BenchError(f"{root / split}: expected ILSVRC-2012 class folders <wnid>/*.JPEG ({self.how_to_get})")
        return files

    def classes(self, root: Path) -> list[str]:
        """The wnids, sorted: the train split's class folders."""
        folder = Path(root) / "train"
        names = sorted(d.name for d in folder.iterdir() if d.is_dir()) if folder.is_dir() else []
        if not names:
            raise BenchError(f"{folder}: expected ILSVRC-2012 class folders <wnid>/ ({self.how_to_get})")
        return names

    def labelled(self, root: Path, split: str) -> tuple[list[Path], list[int], list[str]]:
        """(image paths, class indices, wnids) of a split, sorted by path; refuses (one line) a split
        whose folders are not the train split's classes or hold no image."""
        problems = self.problems(root, split)
        if problems:
            raise BenchError(problems[0])
        wnids = self.classes(root)
        index = {w: i for i, w in enumerate(wnids)}
        paths = self.images(root, split)
        return paths, [index[p.parent.name] for p in paths], wnids

    def problems(self, root: Path, split: str) -> list[str]:
        """The class folders exist, each holds images, and val's are among train's (1.28 M images are
        not decoded up front: a task names an image that does not decode when it reads it)."""
        out: list[str] = []
        try:
            wnids = set(self.classes(root))
        except BenchError as e:
            return [str(e)]
        folder = Path(root) / self.check_split(split)
        found = sorted(d for d in folder.iterdir() if d.is_dir()) if folder.is_dir() else []
        if not found:
            return [f"{folder}: expected class folders <wnid>/*.JPEG ({self.how_to_get})"]
        for d in found:
            if d.name not in wnids:
                out.append(f"{d}: class folder absent from {Path(root) / 'train'} (expected the train split's classes)")
            elif not any(d.glob("*.JPEG")):
                out.append(f"{d}: no *.JPEG image in the class folder")
        return out

    def present(self, root: Path, split: str) -> str:
        """The class folders (not the 1.28 M images) counted."""
        folder = root / split
        classes = [d for d in folder.iterdir() if d.is_dir()] if folder.is_dir() else []
        if not classes:
            raise BenchError(f"{folder}: expected ILSVRC-2012 class folders <wnid>/*.JPEG ({self.how_to_get})")
        return f"found: {len(classes)} class folders"

    def write_synthetic(self, out: str | os.PathLike, **params: Any) -> Path:
        return write_synthetic_imagenet(out, **params)


def write_synthetic_imagenet(out: str | os.PathLike, seed: int = 0, n_train: int = 600, n_val: int = 200,
                             size: tuple[int, int] = (96, 128)) -> Path:
    """Synthetic ImageNet in the class-folder layout: each image one object of one of the five
    synthetic classes in any hue (told by shape and texture, harness.data.scenes) on a background
    texture, filed under its class's made-up wnid (SYNTH_WNIDS)."""
    import cv2
    import numpy as np

    from harness.data.publish import publish_dir, staging_dir
    from harness.data.scenes import render_scene
    tmp, out = staging_dir(out, "imagenet")
    for split, n, split_seed in (("train", n_train, 0), ("val", n_val, 1)):
        for i in range(n):
            for attempt in range(100):  # an object drawn too small is dropped: draw the image again
                rng = np.random.default_rng([seed, split_seed, i, attempt])
                h, w = (int(v) for v in rng.integers(size[0], size[1] + 1, 2))
                scene = render_scene(rng, h, w, n_objects=(1, 1), class_hue=False)
                if scene.classes:
                    break
            wnid = SYNTH_WNIDS[scene.classes[0]]
            name = f"{'ILSVRC2012_val' if split == 'val' else wnid}_{i + 1:08d}.JPEG"
            (tmp / split / wnid).mkdir(parents=True, exist_ok=True)  # a class no image drew has no folder
            cv2.imwrite(str(tmp / split / wnid / name), scene.image[..., ::-1],
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
    return publish_dir(tmp, out, "imagenet", {"seed": seed, "n_train": n_train, "n_val": n_val, "size": size})


IMAGENET = ImageNet()
