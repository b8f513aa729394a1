"""ADE20K (SceneParsing, ADEChallengeData2016) layout, as mmsegmentation reads it (under the data root,
ade/ADEChallengeData2016/): {images,annotations}/{training,validation}/ADE_*_<n>.{jpg,png};
0 = other (ignored after reduce_zero_label), 1..150 the classes."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.data.seg import SegLayout, semantic_map, synthetic_scenes

FOLDERS = {"train": "training", "val": "validation"}


class Ade20k(SegLayout):
    name, folder, n_classes, splits = "ade20k", "ade/ADEChallengeData2016", 151, ("train", "val")
    how_to_get = "extract ADEChallengeData2016.zip, or `bench data synth --layout ade20k`"

    def pairs(self, root: Path, split: str, problems: list[str]) -> list[tuple[Path, Path]]:
        folder = root / "images" / FOLDERS[self.check_split(split)]
        if not folder.is_dir():
            problems.append(f"{folder}: missing (ADE20K images folder)")
            return []
        imgs = sorted(folder.glob("*.jpg"))
        if not imgs:
            problems.append(f"{folder}: no ADE_*.jpg images")
        return [(p, root / "annotations" / FOLDERS[split] / f"{p.stem}.png") for p in imgs]

    def write_synthetic(self, out: str | os.PathLike, **params: Any) -> Path:
        return write_synthetic_ade20k(out, **params)


def write_synthetic_ade20k(out: str | os.PathLike, seed: int = 0, n_train: int = 600, n_val: int = 100,
                           size: tuple[int, int] = (96, 128)) -> Path:
    """Synthetic ADEChallengeData2016: jpg images and 0..150 label PNGs (0 = other)."""
    import cv2
    from PIL import Image

    from harness.data.publish import publish_dir, staging_dir
    tmp, out = staging_dir(out, "ade20k")
    for split, n, split_seed, prefix in (("train", n_train, 0, "ADE_train"), ("val", n_val, 1, "ADE_val")):
        folder = FOLDERS[split]
        (tmp / "images" / folder).mkdir(parents=True)
        (tmp / "annotations" / folder).mkdir(parents=True)
        for i, scene in synthetic_scenes("ade20k", seed, split_seed, n, size):
            stem = f"{prefix}_{i + 1:08d}"
            cv2.imwrite(str(tmp / "images" / folder / f"{stem}.jpg"), scene.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            lab = semantic_map(scene, "ade20k")
            Image.fromarray(lab, "L").save(tmp / "annotations" / folder / f"{stem}.png")
    return publish_dir(tmp, out, "ade20k", {"seed": seed, "n_train": n_train, "n_val": n_val, "size": size})


ADE20K = Ade20k()
