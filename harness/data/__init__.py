"""Data sets: one documented root for real data, and a cache of synthetic data in the same layouts.

Real data lives under `--data-root` or `$DENSEBENCH_DATA` in the standard layouts:
`<root>/coco/{train2017,val2017,annotations}` (COCO 2017), `<root>/imagenet/train/<wnid>/*.JPEG`
(ILSVRC-2012, images only: pre-training reads no labels), and the segmentation layouts of
harness.data.seg under `<root>/VOCdevkit/VOC2012`, `<root>/cityscapes`, `<root>/ade/ADEChallengeData2016`, and
VOC detection (VOC2007 + VOC2012, harness.data.vocdet) under `<root>/VOCdevkit`. The `mini` scale (and a
recipe whose data declares `synth`) uses synthetic data written by `harness.data.<layout>` into
`$DENSEBENCH_HOME/data/` (created on first use).
"""
from __future__ import annotations

import os
from pathlib import Path

from harness.config import home, stable_hash
from harness.errors import BenchError

# mmsegmentation's default data roots for the segmentation layouts (see harness.data.seg)
LAYOUT_DIRS = {"coco": "coco", "imagenet": "imagenet", "voc": "VOCdevkit/VOC2012", "cityscapes": "cityscapes",
               "ade20k": "ade/ADEChallengeData2016", "davis": "DAVIS", "voc_det": "VOCdevkit"}

# VOC2012 segmentation splits -> the (image list under ImageSets/Segmentation, label folder) parts each is
# made of, in order. `train+aug` is mmseg's pascal_voc12_aug.py, as SlotCon's and DenseCL's configs
# train: train.txt labelled from SegmentationClass (VOC's own annotation, 255 on object borders)
# concatenated with aug.txt (the SBD images outside train and val, as mmseg's voc_aug.py writes it)
# labelled from SegmentationClassAug. `trainaug` is one list with every label from SegmentationClassAug
# (the DeepLab-style distribution, which also holds the VOC train images).
VOC_SPLITS = {"train": (("train", "SegmentationClass"),), "val": (("val", "SegmentationClass"),),
              "trainaug": (("trainaug", "SegmentationClassAug"),),
              "train+aug": (("train", "SegmentationClass"), ("aug", "SegmentationClassAug"))}


def voc_parts(split: str) -> tuple[tuple[str, str], ...]:
    """The (list, label folder) parts of a VOC segmentation split, or a one-line error."""
    if split not in VOC_SPLITS:
        raise BenchError(f"VOC split '{split}' is not one of {', '.join(VOC_SPLITS)}")
    return VOC_SPLITS[split]


def real_root(layout: str, data_root: str | os.PathLike | None = None) -> Path:
    """Where a real data set of `layout` is expected: <data root>/<layout dir>."""
    base = data_root or os.environ.get("DENSEBENCH_DATA")
    if not base:
        raise BenchError(f"no data root: pass --data-root or set DENSEBENCH_DATA to the folder holding "
                         f"'{LAYOUT_DIRS[layout]}/' (or use --profile mini for synthetic data)")
    return Path(base) / LAYOUT_DIRS[layout]


SYNTH_WRITERS = {"coco": "harness.data.coco:write_synthetic_coco",
                 "voc": "harness.data.seg:write_synthetic_voc",
                 "cityscapes": "harness.data.seg:write_synthetic_cityscapes",
                 "ade20k": "harness.data.seg:write_synthetic_ade20k",
                 "davis": "harness.data.davis:write_synthetic_davis",
                 "voc_det": "harness.data.vocdet:write_synthetic_voc_det"}


def write_synthetic(layout: str, out: str | os.PathLike, **params: object) -> Path:
    """Write a synthetic data set of `layout` to out (atomically). params go to the layout's writer.
    An existing `out` is replaced only if it is a DenseBench synthetic set of the same layout and
    version (harness.data.publish); a failed write leaves no staging folder behind."""
    import shutil
    if layout not in SYNTH_WRITERS:
        raise BenchError(f"--layout '{layout}' has no synthetic generator (expected one of {', '.join(SYNTH_WRITERS)})")
    for k in ("n_train", "n_val", "n_frames"):
        v = params.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise BenchError(f"--{k.replace('_', '-')} {v}: expected a whole number >= 1")
    from harness.data.publish import staging_name
    mod, fn = SYNTH_WRITERS[layout].split(":")
    try:
        return getattr(__import__(mod, fromlist=[fn]), fn)(out, **params)
    except BaseException:
        shutil.rmtree(staging_name(Path(out).resolve()), ignore_errors=True)
        raise


def synthetic_path(layout: str, seed: int = 0, **params: object) -> Path:
    """Where the cached synthetic data set of these parameters lives; nothing is written."""
    from harness.data.scenes import synth_version
    version = synth_version(layout, bool(params.get("class_hue", True)))
    # the key of layouts without later rendering changes is the one of SYNTH_VERSION alone (kept:
    # their cached data and the checkpoints trained on it stay valid)
    key = {"seed": seed, "version": version[0] if len(version) == 1 else list(version), **params}
    return home() / "data" / f"synth-{layout}-{stable_hash(key, 10)}"


def synthetic_root(layout: str, seed: int = 0, **params: object) -> Path:
    """Path of the cached synthetic data set (generated once, under a file lock)."""
    out = synthetic_path(layout, seed, **params)
    if not out.exists():
        from harness.config import exclusive_lock
        with exclusive_lock(out.parent / ".lock", f"the synthetic {layout} data set (DENSEBENCH_HOME must be writable)"):
            if not out.exists():
                write_synthetic(layout, out, seed=seed, **params)
    return out


def dataset_root(layout: str, scale: str, data_root: str | os.PathLike | None = None,
                 synth: dict | None = None) -> Path:
    """Data of an evaluation scale: synthetic for `mini`, the real layout under the data root for `paper`."""
    if scale == "mini":
        return synthetic_root(layout, **(synth or {}))
    return real_root(layout, data_root)


def recipe_data_root(data, data_root: str | os.PathLike | None = None) -> Path:  # data: harness.recipe.DataSpec
    """Pre-training data of a recipe: synthetic when it declares `synth`, else the real layout."""
    if data.synth is not None:
        return synthetic_root(data.layout, **data.synth)
    return real_root(data.layout, data_root)


def recipe_files(data, data_root: str | os.PathLike | None = None) -> list[Path]:  # data: DataSpec
    """Every pre-training image of a recipe: its main source's, then each of `also`'s."""
    return [f for d in (data, *data.also) for f in pretrain_files(d.layout, recipe_data_root(d, data_root), d.split)]


def pretrain_files(layout: str, root: Path, split: str) -> list[Path]:
    """Sorted image files a pre-trainer reads (labels unused); error naming what was expected."""
    if layout == "coco":
        from harness.data.coco import image_files
        from harness.data.verify import require_valid
        require_valid("coco", root, split)  # every image present and decoding, before any training
        return image_files(root, split)
    if layout == "voc":
        from harness.data.verify import require_valid
        require_valid("voc", root, split)
        return sorted({img for img, _ in _voc_pairs(root, split)})
    if layout == "imagenet":
        files = sorted((root / split).glob("*/*.JPEG"))
        if not files:
            raise BenchError(f"{root / split}: expected ILSVRC-2012 class folders <wnid>/*.JPEG "
                             "(extract ILSVRC2012_img_train.tar there)")
        return files
    raise BenchError(f"layout '{layout}' has no pre-training image list (expected coco, voc or imagenet)")


def _voc_pairs(root: Path, split: str) -> list[tuple[Path, Path]]:
    from harness.data.verify import _seg_pairs
    problems: list[str] = []
    pairs = _seg_pairs("voc", root, split, problems)
    if problems:
        raise BenchError(problems[0])
    return pairs
