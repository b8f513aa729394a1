"""What a data layout is: one object per layout (COCO, VOC, Cityscapes, ADE20K, DAVIS, VOC detection,
ImageNet), each in its own module, collected in the plain dict `harness.data.LAYOUTS`.

A layout knows its folder under the data root, its splits, how a split's files are found (`images`
for pre-training), what is wrong with a split on disk (`problems`, what `bench data verify` lists and
harness.data.verifier checks before a run) and how to write a synthetic copy in the same layout
(`write_synthetic`). Adding a layout is one module with one subclass, and one line in LAYOUTS.
Layout modules import their heavy libraries (OpenCV, Pillow, pycocotools) where they use them, so
that collecting LAYOUTS costs nothing to a command that needs none of them (`bench davis-score`).
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from harness.errors import BenchError


class Layout(ABC):
    """A data set's on-disk layout. Subclasses set name, folder, splits and override the methods."""
    name: str = ""
    folder: str = ""                 # under the data root (mmsegmentation's and Detectron2's defaults)
    splits: tuple[str, ...] = ()     # every split it has
    how_to_get: str = ""             # said where the data set is missing

    @property
    def default_splits(self) -> tuple[str, ...]:
        """What `bench data verify` and `bench doctor` look at when no split is named."""
        return self.splits

    def check_split(self, split: str) -> str:
        if split not in self.splits:
            raise BenchError(f"{self.name} split '{split}' is not one of {', '.join(self.splits)}")
        return split

    def missing(self, root: Path, split: str) -> str:
        """The problem of a root that is no folder (a layout may name the files it expected there)."""
        return f"{root}: not a directory (expected the {self.name} data set root{': ' + self.how_to_get if self.how_to_get else ''})"

    @abstractmethod
    def problems(self, root: Path, split: str) -> list[str]:
        """Every problem of `split` under `root` (one line each, naming the file and what was expected)."""

    @abstractmethod
    def present(self, root: Path, split: str) -> str:
        """A cheap look (no decoding), for `bench doctor`: what was found, or a BenchError saying what is missing."""

    def images(self, root: Path, split: str) -> list[Path]:
        """Sorted image files a pre-trainer reads (labels unused)."""
        raise BenchError(f"layout '{self.name}' has no pre-training image list (expected coco, voc or imagenet)")

    def write_synthetic(self, out: str | os.PathLike, **params: Any) -> Path:
        """Write a synthetic data set in this layout to `out` (staged, marked, renamed: harness.data.publish)."""
        raise BenchError(f"--layout '{self.name}' has no synthetic generator")

    @property
    def has_synthetic(self) -> bool:
        return type(self).write_synthetic is not Layout.write_synthetic
