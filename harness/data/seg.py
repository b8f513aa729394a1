"""What the semantic-segmentation layouts (harness.data.voc, .cityscapes, .ade20k, .cocostuff) share: the
`SegLayout` base (a split is (image, label) pairs; problems = each image decodes and its label has
its size and only the data set's ids), and the synthetic label maps.

Synthetic versions use the scenes of synthetic COCO, except that object instances take any hue
(scenes.FREE_HUE_LAYOUTS: a class is told by shape and texture, not colour): the five shape
classes and the three background "stuff" textures are mapped onto label ids of each data set
(SYNTH_LABELS), so the files are valid for the real class lists while only those ids occur.
VOC scenes have one background texture (all VOC background); Cityscapes, ADE20K and COCO-Stuff scenes, whose
classes are mostly stuff, have 2-3 stuff bands per image, each stuff class in its own texture and
any hue (scenes.stuff_bands, STUFF_VERSION 2), so the stuff classes are learnable without a colour
shortcut and share the image as road, sidewalk and building do.
"""
from __future__ import annotations

import os
from abc import abstractmethod
from pathlib import Path
from typing import Any, Iterator

from harness.data.checks import MAX_PROBLEMS, check_image_and_label
from harness.data.layout import Layout
from harness.errors import BenchError

# where the synthetic scene classes land: shapes (disc, square, triangle, ring, cross) and the
# background families 5, 6, 7 (None: background is the data set's own background / ignore label)
SYNTH_LABELS = {
    "voc": {"shapes": [15, 7, 3, 5, 9], "stuff": [0, 0, 0]},          # person, car, bird, bottle, chair; bg 0
    "cityscapes": {"shapes": [11, 13, 12, 17, 18], "stuff": [0, 1, 2]},  # person, car, rider, motorcycle, bicycle; road, sidewalk, building
    "ade20k": {"shapes": [13, 21, 20, 24, 37], "stuff": [1, 2, 3]},    # person, car, chair, ... ; wall, building, sky
    # COCO-Stuff fine ids (stuffthingmaps, 0-based): person, car, bird, bottle, chair (mid-level person,
    # vehicle, animal, kitchen, furniture-things); wall-other, building-other, sky-other (wall, building, sky)
    "cocostuff": {"shapes": [0, 2, 15, 43, 61], "stuff": [172, 95, 156]},
}


class SegLayout(Layout):
    """A segmentation layout: `pairs` finds a split's (image, label) files; labels hold ids
    0..n_classes-1 and 255 (ignore)."""
    n_classes: int = 0

    @abstractmethod
    def pairs(self, root: Path, split: str, problems: list[str]) -> list[tuple[Path, Path]]:
        """(image, label) paths a split lists; what is missing is recorded in `problems`."""

    def problems(self, root: Path, split: str) -> list[str]:
        out: list[str] = []
        for img, lab in self.pairs(root, split, out):
            if len(out) >= MAX_PROBLEMS:
                break
            check_image_and_label(img, lab, self.n_classes, out)
        return out

    def present(self, root: Path, split: str) -> str:
        """The split's lists and its first image and label exist (nothing decoded)."""
        missing: list[str] = []
        pairs = self.pairs(Path(root), split, missing)
        if missing:
            raise BenchError(missing[0])
        for p in pairs[0]:
            if not p.exists():
                raise BenchError(f"{p}: missing (the first file {self.name} {split} lists; {self.how_to_get})")
        return f"found: {len(pairs)} images"


def voc_palette() -> list[int]:
    """The Pascal VOC colour map (256 x RGB, flattened), as VOC's devkit defines it (bit interleaving)."""
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


def save_palette_png(path: str | os.PathLike, labels: Any) -> None:
    """Write uint8 label ids as an indexed PNG with the VOC/DAVIS colour map."""
    import numpy as np
    from PIL import Image
    im = Image.fromarray(labels.astype(np.uint8), "P")
    im.putpalette(voc_palette())
    im.save(path, format="PNG")


# world 2 (harness.data.world): its 20 shape classes are VOC's 20 object classes in order (ids 1-20),
# the dead-leaves background VOC's background; other layouts have no world-2 mapping yet
WORLD2_LABELS = {"voc": {"shapes": list(range(1, 21)), "stuff": [0, 0, 0]}}


def semantic_map(scene: Any, layout: str, border: int = 0, world: int = 1) -> Any:
    """uint8 label map of a scene (harness.data.scenes.Scene) in `layout`'s ids; `border` px around
    objects set to 255 (VOC style). The background is labelled per pixel from scene.stuff_map (banded
    scenes), else scene.background."""
    import cv2
    import numpy as np
    ids = SYNTH_LABELS[layout] if world == 1 else WORLD2_LABELS[layout]
    if scene.stuff_map is None:
        lab = np.full(scene.instance_map.shape, ids["stuff"][scene.background - 5], np.uint8)
    else:
        lab = np.asarray(ids["stuff"], np.uint8)[scene.stuff_map - 5]
    instance_map = scene.instance_map
    for k, cls in enumerate(scene.classes, 1):
        lab[instance_map == k] = ids["shapes"][cls]
    if border:
        kernel = np.ones((2 * border + 1, 2 * border + 1), np.uint8)
        inst = instance_map.astype(np.float32)
        edge = cv2.dilate(inst, kernel) != cv2.erode(inst, kernel)
        lab[edge] = 255
    return lab


def synthetic_scenes(layout: str, seed: int, split_seed: int, n: int, size: tuple[int, int],
                     world: int = 1, class_hue: bool | None = None, **world_options: int) -> Iterator[tuple[int, Any]]:
    """(index, scene) of a synthetic split: deterministic in (seed, split_seed, index), h and w drawn in
    size. The rendering follows the constants the layout's cache key is made of (scenes.synth_version):
    banded stuff for STUFF_LAYOUTS, object instances in any hue for FREE_HUE_LAYOUTS (class_hue, when
    given, overrides the layout's: synthetic COCO's any-hue sets); world=2: harness.data.world's scenes
    with world_options, for the layouts world.LAYOUTS names."""
    import numpy as np

    import harness.data.world as world2
    from harness.data.scenes import FREE_HUE_LAYOUTS, STUFF_LAYOUTS, render_scene
    if world not in (1, 2) or (world == 2 and layout not in world2.LAYOUTS):  # harness.data.write_synthetic checks first
        raise BenchError(f"synth world {world!r} of layout '{layout}': not written")
    stuff = layout in STUFF_LAYOUTS
    class_hue = layout not in FREE_HUE_LAYOUTS if class_hue is None else class_hue
    for i in range(n):
        rng = np.random.default_rng([seed, split_seed, i])
        h, w = (int(v) for v in rng.integers(size[0], size[1] + 1, 2))
        yield i, (world2.render_scene(rng, h, w, **world_options) if world == 2 else render_scene(rng, h, w, stuff=stuff, class_hue=class_hue))
