"""`bench inspect orl-pairs`: look at ORL's stage-2 correspondence before trusting stage 3.

Writes a PNG grid of the top retrieved RoI pairs (query RoI | neighbour RoI, cosine similarity) and,
where the images have instance annotations (COCO train2017, or the synthetic COCO of `mini`),
DenseBench's own diagnostic, the **pair precision**: the fraction of retrieved RoI pairs whose two
boxes are each dominated by objects of the same class. A box is dominated by class c when c's
instance masks cover the largest share of its pixels and at least `dominance` (0.5) of them; a box
dominated by no class (mostly background) makes its pair a miss; the object-pair precision counts
only pairs whose two boxes are both dominated by an object.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from harness.files import atomic_write
from harness.errors import BenchError

DOMINANCE = 0.5


def class_maps(instances_json: Path, names: list[str]) -> dict[str, np.ndarray]:
    """file name -> [H, W] int map of COCO category ids (0 = no object), instances painted in order."""
    import pycocotools.mask as mask_util
    coco = json.loads(Path(instances_json).read_text())
    by_name = {im["file_name"]: im for im in coco["images"] if im["file_name"] in set(names)}
    maps = {n: np.zeros((im["height"], im["width"]), np.int32) for n, im in by_name.items()}
    id_to_name = {im["id"]: n for n, im in by_name.items()}
    for a in coco["annotations"]:
        n = id_to_name.get(a["image_id"])
        if n is None or a.get("iscrowd", 0):
            continue
        h, w = maps[n].shape
        seg = a["segmentation"]
        rle = mask_util.merge(mask_util.frPyObjects(seg, h, w)) if isinstance(seg, list) else seg
        maps[n][mask_util.decode(rle).astype(bool)] = a["category_id"]
    return maps


def dominant_class(cmap: np.ndarray, box: list[int], dominance: float = DOMINANCE) -> int:
    """The category id dominating box (x, y, w, h) of a class map, or 0 (none)."""
    x, y, w, h = box
    cells = cmap[y:y + h, x:x + w].ravel()
    if cells.size == 0:
        return 0
    counts = np.bincount(cells)
    counts[0] = 0
    c = int(counts.argmax())
    return c if c and counts[c] >= dominance * cells.size else 0


def pair_precision(corr: dict[str, Any], maps: dict[str, np.ndarray], dominance: float = DOMINANCE) -> dict[str, float]:
    """Pair precision of a correspondence file, the share of pairs whose boxes are both dominated by
    an object, and the precision among those (object pairs: a stuff-stuff pair is no miss there)."""
    names, hits, both, total = corr["images"], 0, 0, 0
    for i, per in enumerate(corr["pairs"]):
        for j, pairs in zip(corr["knn"][i], per):
            for pr in pairs:
                a = dominant_class(maps[names[i]], pr[:4], dominance)
                b = dominant_class(maps[names[j]], pr[4:], dominance)
                total += 1
                both += bool(a and b)
                hits += bool(a and a == b)
    if not total:
        raise BenchError("the correspondence holds no RoI pairs")
    return {"pair_precision": hits / total, "both_dominated": both / total,
            "object_pair_precision": hits / both if both else 0.0, "pairs": total}


def top_pairs_grid(corr: dict[str, Any], files: dict[str, Path], out: Path, top: int = 16, side: int = 96,
                   maps: dict[str, np.ndarray] | None = None) -> Path:
    """PNG: one row per pair (best cosine first): query RoI | neighbour RoI, score; green/red = same
    dominating class or not (when maps are given)."""
    names = corr["images"]
    ranked = sorted(((s, i, j, k) for i, per in enumerate(corr["pair_scores"]) for j, scores in enumerate(per)
                     for k, s in enumerate(scores)), reverse=True)[:top]
    if not ranked:
        raise BenchError("the correspondence holds no RoI pairs")
    grid = Image.new("RGB", (2 * side + 90, len(ranked) * (side + 4)), "white")
    draw = ImageDraw.Draw(grid)
    for row, (score, i, j, k) in enumerate(ranked):
        nb = corr["knn"][i][j]
        pr = corr["pairs"][i][j][k]
        y0 = row * (side + 4)
        for col, (name, (x, y, w, h)) in enumerate(((names[i], pr[:4]), (names[nb], pr[4:]))):
            with Image.open(files[name]) as im:
                grid.paste(im.convert("RGB").crop((x, y, x + w, y + h)).resize((side, side)), (col * side, y0))
        colour = "black"
        if maps is not None:
            a, b = dominant_class(maps[names[i]], pr[:4]), dominant_class(maps[names[nb]], pr[4:])
            colour = "green" if a and a == b else "red"
        draw.text((2 * side + 6, y0 + side // 2 - 6), f"{score:.3f}", fill=colour)
    atomic_write(out, lambda tmp: grid.save(tmp, format="PNG"))
    return out


def inspect_pairs(checkpoint: str, out: str, top: int, recipe_name: str | None, baseline: str | None,
                  data_root: str | None) -> dict[str, Any]:
    """Stage 2 of `recipe_name` (default: the checkpoint's scale) run with `checkpoint` as the stage-1
    network (an ORL checkpoint: its own stage 1); grid written to `out`; pair precision if annotated."""
    from harness.checkpoint import read_meta
    from harness.data import pretrain_files, recipe_data_root
    from harness.registry import METHODS
    from harness.runs import pretrain
    from pretrainers.orl_stage2 import discover, load_correspondence
    meta = read_meta(checkpoint)
    if baseline is not None and baseline != "random":  # every argument checked before the minute of stage-2 work
        try:
            read_meta(baseline)
        except BenchError as e:
            raise BenchError(f"--baseline: expected 'random' or a canonical checkpoint ({e})") from e
    if meta.get("method") == "orl":  # its correspondence came from its stage-1 checkpoint
        checkpoint = str(Path(checkpoint).parent / "correspondence.json")
    recipe = METHODS.card("orl").recipe(recipe_name or meta.get("scale") or "paper")
    root = recipe_data_root(recipe.data, data_root)
    files = pretrain_files(recipe.data.layout, root, recipe.data.split)
    settings = METHODS.load("orl").params(recipe).stage2()

    def corr_of(ck: str) -> dict[str, Any]:
        return load_correspondence(ck if ck.endswith(".json") else discover(ck, files, settings))

    corr = corr_of(checkpoint)
    ann = root / "annotations" / f"instances_{recipe.data.split}2017.json"
    maps = class_maps(ann, corr["images"]) if recipe.data.layout == "coco" and ann.exists() else None
    top_pairs_grid(corr, {f.name: f for f in files}, Path(out), top, maps=maps)
    report: dict[str, Any] = {"grid": out, "counts": corr["info"]["counts"]}
    if maps is not None:
        report["precision"] = pair_precision(corr, maps)
        if baseline:
            base = str(pretrain("random", recipe.scale, 0, data_root)) if baseline == "random" else baseline
            report["baseline"] = {"checkpoint": base, **pair_precision(corr_of(base), maps)}
    return report
