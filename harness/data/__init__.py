"""Data sets: one documented root for real data, and a cache of synthetic data in the same layouts.

Every layout is one object (harness.data.layout.Layout) in a module of its own, collected in the
plain dict LAYOUTS: coco (COCO 2017), voc (VOC2012 segmentation + SBD aug), cityscapes, ade20k,
davis (DAVIS-2017), voc_det (VOC2007 + 2012 detection), imagenet (ILSVRC-2012 images), cocostuff
(COCO-Stuff 164k in PiCIE's layout). Real data
lives under `--data-root` or `$DENSEBENCH_DATA`, each layout in its folder there (`Layout.folder`:
`coco/`, `VOCdevkit/VOC2012/`, `cityscapes/`, `ade/ADEChallengeData2016/`, `DAVIS/`, `VOCdevkit/`,
`imagenet/`, `cocostuff/`). The `mini` scale (and a recipe whose data declares `synth`) uses synthetic data each
layout writes (`Layout.write_synthetic`) into `$DENSEBENCH_HOME/data/` (created on first use).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.files import home

from harness.schema import stable_hash
from harness.data.ade20k import ADE20K
from harness.data.cityscapes import CITYSCAPES
from harness.data.cocostuff import COCOSTUFF
from harness.data.coco import COCO
from harness.data.davis import DAVIS
from harness.data.imagenet import IMAGENET
from harness.data.layout import Layout
from harness.data.voc import VOC
from harness.data.vocdet import VOC_DET
from harness.errors import BenchError

LAYOUTS: dict[str, Layout] = {lay.name: lay for lay in (COCO, VOC, CITYSCAPES, ADE20K, DAVIS, VOC_DET, IMAGENET, COCOSTUFF)}
LAYOUT_DIRS = {name: lay.folder for name, lay in LAYOUTS.items()}  # mmsegmentation's and Detectron2's default roots


def layout(name: str | Layout) -> Layout:
    """The layout called `name` (a Layout is returned as it is), or a one-line error listing them."""
    if isinstance(name, Layout):
        return name
    if name not in LAYOUTS:
        raise BenchError(f"--layout '{name}' is not one of {', '.join(LAYOUTS)}")
    return LAYOUTS[name]


def verify(name: str | Layout, root: str | os.PathLike, split: str) -> list[str]:
    """Every problem of a split on disk (harness.data.verifier)."""
    from harness.data import verifier as v
    return v.verify(layout(name), root, split)


def require_valid(name: str | Layout, root: str | os.PathLike, split: str, check: Any = None) -> None:
    """One BenchError unless the split is sound, before any work (harness.data.verifier; `check`
    replaces its verify, as tests count the calls)."""
    from harness.data import verifier as v
    v.require_valid(layout(name), root, split, *(() if check is None else (check,)))


def real_root(name: str, data_root: str | os.PathLike | None = None) -> Path:
    """Where a real data set of layout `name` is expected: <data root>/<its folder>."""
    base = data_root or os.environ.get("DENSEBENCH_DATA")
    if not base:
        raise BenchError(f"no data root: pass --data-root or set DENSEBENCH_DATA to the folder holding "
                         f"'{layout(name).folder}/' (or use --scale mini for synthetic data)")
    return Path(base) / layout(name).folder


def write_synthetic(name: str, out: str | os.PathLike, **params: object) -> Path:
    """Write a synthetic data set of layout `name` to out (atomically). params go to the layout's writer.
    An existing `out` is replaced only if it is a DenseBench synthetic set of the same layout and
    version (harness.data.publish); a failed write leaves no staging folder behind."""
    import shutil
    with_writer = [n for n, x in LAYOUTS.items() if x.has_synthetic]
    if name not in with_writer:
        raise BenchError(f"--layout '{name}' has no synthetic generator (expected one of {', '.join(with_writer)})")
    for k in ("n_train", "n_val", "n_frames"):
        v = params.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise BenchError(f"--{k.replace('_', '-')} {v}: expected a whole number >= 1")
    world = params.get("world", 1)
    from harness.data.world import LAYOUTS as WORLD2_LAYOUTS
    if world != 1 and (world != 2 or name not in WORLD2_LAYOUTS):
        raise BenchError(f"synth world {world!r} of layout '{name}': expected 1" + (
            " or 2" if name in WORLD2_LAYOUTS else f" (world 2 is written for {', '.join(WORLD2_LAYOUTS)} only, so far)"))
    from harness.data.world import OPTIONS as WORLD2_OPTIONS
    for k in WORLD2_OPTIONS:
        v = params.get(k)
        low, high = (0, 100) if k == "cue" else (0 if k == "leaves" else 1, None)
        if v is not None and (world != 2 or isinstance(v, bool) or not isinstance(v, int) or v < low
                              or (high is not None and v > high)):
            raise BenchError(f"synth {k} {v!r}: " + ("a world-2 option (set world: 2)" if world != 2 else
                                                    f"expected a whole number >= {low}" + (f" and <= {high}" if high else "")))
    from harness.data.world import CLASSES as WORLD2_CLASSES
    if params.get("classes", 0) > len(WORLD2_CLASSES):
        raise BenchError(f"synth classes {params['classes']}: world 2 has {len(WORLD2_CLASSES)}")
    from harness.data.publish import staging_name
    try:
        return LAYOUTS[name].write_synthetic(out, **params)
    except BaseException:
        shutil.rmtree(staging_name(Path(out).resolve()), ignore_errors=True)
        raise


def synthetic_path(name: str, seed: int = 0, **params: object) -> Path:
    """Where the cached synthetic data set of these parameters lives; nothing is written."""
    from harness.data.scenes import synth_version
    if params.get("world") == 1:  # world 1 is the default: one name, one cache entry
        params = {k: v for k, v in params.items() if k != "world"}
    version = synth_version(name, bool(params.get("class_hue", True)))
    if params.get("world", 1) != 1:  # world 2's rendering version (harness.data.world.VERSION)
        import harness.data.world as world
        version += (f"world-{params['world']}-{world.VERSION}",)
    # the key of layouts without later rendering changes is the one of SYNTH_VERSION alone (kept:
    # their cached data and the checkpoints trained on it stay valid)
    key = {"seed": seed, "version": version[0] if len(version) == 1 else list(version), **params}
    return home() / "data" / f"synth-{name}-{stable_hash(key, 10)}"


def synthetic_root(name: str, seed: int = 0, **params: object) -> Path:
    """Path of the cached synthetic data set (generated once, under a file lock)."""
    out = synthetic_path(name, seed, **params)
    if not out.exists():
        from harness.files import exclusive_lock
        with exclusive_lock(out.parent / ".lock", f"the synthetic {name} data set (DENSEBENCH_HOME must be writable)"):
            if not out.exists():
                write_synthetic(name, out, seed=seed, **params)
    return out


def dataset_root(name: str, scale: str, data_root: str | os.PathLike | None = None,
                 synth: dict | None = None) -> Path:
    """Data of an evaluation scale: synthetic for `mini`, the real layout under the data root for `paper`."""
    if scale == "mini":
        return synthetic_root(name, **(synth or {}))
    return real_root(name, data_root)


def recipe_data_root(data, data_root: str | os.PathLike | None = None) -> Path:  # data: harness.recipe.DataSpec
    """Pre-training data of a recipe: synthetic when it declares `synth`, else the real layout."""
    if data.synth is not None:
        return synthetic_root(data.layout, **data.synth)
    return real_root(data.layout, data_root)


def recipe_files(data, data_root: str | os.PathLike | None = None) -> list[Path]:  # data: DataSpec
    """Every pre-training image of a recipe: its main source's, then each of `also`'s."""
    return [f for d in (data, *data.also) for f in pretrain_files(d.layout, recipe_data_root(d, data_root), d.split)]


def pretrain_files(name: str, root: Path, split: str) -> list[Path]:
    """Sorted image files a pre-trainer reads (labels unused; the split checked first where the
    layout's images can be); error naming what was expected."""
    return layout(name).images(Path(root), split)
