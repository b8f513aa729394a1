"""ImageNet (ILSVRC-2012) layout, images only (pre-training reads no labels): under the data root,
imagenet/<split>/<wnid>/*.JPEG, as ILSVRC2012_img_train.tar's class archives extract."""
from __future__ import annotations

from pathlib import Path

from harness.data.layout import Layout
from harness.errors import BenchError


class ImageNet(Layout):
    name, folder, splits = "imagenet", "imagenet", ("train", "val")
    default_splits = ("train",)
    how_to_get = "extract ILSVRC2012_img_train.tar and its class archives there"

    def images(self, root: Path, split: str) -> list[Path]:
        files = sorted((root / split).glob("*/*.JPEG"))
        if not files:
            raise BenchError(f"{root / split}: expected ILSVRC-2012 class folders <wnid>/*.JPEG ({self.how_to_get})")
        return files

    def problems(self, root: Path, split: str) -> list[str]:
        """The class folders and their images exist (1.28 M images are not decoded up front)."""
        try:
            self.images(root, split)
        except BenchError as e:
            return [str(e)]
        return []

    def present(self, root: Path, split: str) -> str:
        """The class folders (not the 1.28 M images) counted."""
        folder = root / split
        classes = [d for d in folder.iterdir() if d.is_dir()] if folder.is_dir() else []
        if not classes:
            raise BenchError(f"{folder}: expected ILSVRC-2012 class folders <wnid>/*.JPEG ({self.how_to_get})")
        return f"found: {len(classes)} class folders"


IMAGENET = ImageNet()
