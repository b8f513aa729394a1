"""COCO-Stuff 164k as PiCIE reads it (Cho et al., CVPR 2021; janghyuncho/PiCIE
data/coco_eval_dataset.py, the layout SlotCon's Table 5 is measured on), under the data root
`cocostuff/`:
  images/{train,val}2017/<id>.jpg                       the COCO 2017 images
  annotations/{train,val}2017/<id>.png                  COCO-Stuff's stuffthingmaps: fine ids 0..181, 255 unlabelled
  curated/{train,val}2017/Coco164kFull_Stuff_Coarse_7.txt   PiCIE's curated image lists (one id per line;
                                                        49,629 train and 2,175 val ids in PiCIE's repository)
The curated lists are PiCIE's files (copy them from its repository's `curated/`); a split is the
images its list names, in the list's order. Mapping the 182 fine ids to the 27 mid-level classes is
the task's business (its protocol holds the table), not the layout's.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.data.checks import list_file
from harness.data.seg import SegLayout, semantic_map, synthetic_scenes

LIST_NAME = "Coco164kFull_Stuff_Coarse_7.txt"


class CocoStuff(SegLayout):
    name, folder, n_classes, splits = "cocostuff", "cocostuff", 182, ("train", "val")
    how_to_get = ("COCO 2017 images and stuffthingmaps_trainval2017.zip in images/ and annotations/, PiCIE's "
                  "curated/ lists; or `bench data synth --layout cocostuff`")

    def list_path(self, root: Path, split: str) -> Path:
        return Path(root) / "curated" / f"{self.check_split(split)}2017" / LIST_NAME

    def pairs(self, root: Path, split: str, problems: list[str]) -> list[tuple[Path, Path]]:
        ids = list_file(self.list_path(root, split), "PiCIE's curated image list", problems)
        return [(root / "images" / f"{split}2017" / f"{i}.jpg", root / "annotations" / f"{split}2017" / f"{i}.png")
                for i in ids]

    def write_synthetic(self, out: str | os.PathLike, **params: Any) -> Path:
        return write_synthetic_cocostuff(out, **params)


def write_synthetic_cocostuff(out: str | os.PathLike, seed: int = 0, n_train: int = 600, n_val: int = 100,
                              size: tuple[int, int] = (96, 128)) -> Path:
    """Synthetic COCO-Stuff in PiCIE's layout: jpg images, fine-id label PNGs (the synthetic classes
    on fine ids of eight different mid-level classes, harness.data.seg.SYNTH_LABELS) and curated
    lists naming every image (COCO-style 12-digit ids)."""
    import cv2
    from PIL import Image

    from harness.data.publish import publish_dir, staging_dir
    tmp, out = staging_dir(out, "cocostuff")
    for split, n, split_seed, base in (("train", n_train, 0, 0), ("val", n_val, 1, 500_000)):
        for sub in ("images", "annotations", "curated"):
            (tmp / sub / f"{split}2017").mkdir(parents=True)
        ids = []
        for i, scene in synthetic_scenes("cocostuff", seed, split_seed, n, size):
            stem = f"{base + i + 1:012d}"
            cv2.imwrite(str(tmp / "images" / f"{split}2017" / f"{stem}.jpg"), scene.image[..., ::-1],
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            Image.fromarray(semantic_map(scene, "cocostuff"), "L").save(tmp / "annotations" / f"{split}2017" / f"{stem}.png")
            ids.append(stem)
        (tmp / "curated" / f"{split}2017" / LIST_NAME).write_text("".join(f"{i}\n" for i in ids))
    return publish_dir(tmp, out, "cocostuff", {"seed": seed, "n_train": n_train, "n_val": n_val, "size": list(size)})


COCOSTUFF = CocoStuff()
