"""Synthetic scenes: textured object classes on textured backgrounds, with occlusion and varied scale.

Each class has its own shape, its own texture family and, in the COCO and DAVIS scenes, a
characteristic hue (instances vary around it). The segmentation layouts (FREE_HUE_LAYOUTS) draw
object instances in any hue: there a thing's class is told by shape and texture only, as a person's
or a car's is not told by its colour, so colour-invariant pre-training (the papers' colour jitter)
costs nothing downstream while the colour shortcut that random init otherwise exploits is gone.
Backgrounds come from other texture families in less saturated colours of any hue. Stuff bands
(Cityscapes, ADE20K) are told by their texture (smooth, streaked, tiled: stuff_texture) and take any
hue too: with a characteristic stuff hue (STUFF_VERSION 1) the colour-preserving features of a
random init read the stuff classes off their colour and beat colour-jittered pre-training, which is
the opposite of what the real data sets show. Rendering is deterministic given the numpy Generator.
"""
from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import cv2
import numpy as np

CLASSES = ("disc", "square", "triangle", "ring", "cross")
# Bump when rendering changes: part of every synthetic data set's cache key.
SYNTH_VERSION = 2
# Bump when the banded "stuff" backgrounds (the Cityscapes and ADE20K scenes) change (version 1:
# a characteristic hue per stuff family; version 2: any hue, told by texture, see stuff_texture).
STUFF_VERSION = 2
STUFF_LAYOUTS = ("cityscapes", "ade20k", "cocostuff")
# Bump when the segmentation layouts' object colours change (version 1: any hue, see palette).
FREE_HUE_VERSION = 1
FREE_HUE_LAYOUTS = ("voc", "cityscapes", "ade20k", "voc_det", "cocostuff")
# Bump when the synthetic VOC's image lists change (version 2: train.txt is VOC's share of the
# train images and aug.txt the rest, mmseg's construction; version 1: train.txt = trainaug.txt).
VOC_LISTS_VERSION = 2


def synth_version(layout: str, class_hue: bool = True) -> tuple[int | str, ...]:
    """The rendering version a synthetic `layout` depends on (part of its cache key); class_hue=False:
    a layout whose objects are hue-coded by default asked for in any hue (the COCO set of
    `coco_det_c4`), which then follows the free-hue rendering too."""
    version: tuple[int | str, ...] = (SYNTH_VERSION,)
    if layout in STUFF_LAYOUTS:
        version += (STUFF_VERSION,)
    if layout in FREE_HUE_LAYOUTS or not class_hue:
        version += (f"free-hue-{FREE_HUE_VERSION}",)
    if layout == "voc":
        version += (f"lists-{VOC_LISTS_VERSION}",)
    return version


@dataclass
class Scene:
    """image: uint8 HxWx3 RGB. instance_map: int32 HxW, 0 = background, k = instance k (1-based,
    visible pixels only, later instances occlude earlier ones). classes: class index (0-based into
    CLASSES) of instance k at position k-1. background: texture family of the background (5-7),
    which the semantic-segmentation layouts use as a "stuff" class. stuff_map: int32 HxW family (5-7)
    of the background under every pixel, for banded scenes (None: `background` everywhere)."""
    image: np.ndarray
    instance_map: np.ndarray
    classes: list[int]
    background: int = 5
    stuff_map: np.ndarray | None = None


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))


def palette(rng: np.random.Generator, family: int, stuff: bool = False,
            class_hue: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two RGB colours in [0,1]: object class k (family < 5) around hue k/5 (+-0.04), or with
    class_hue=False any hue, saturated, its second colour a darker shade; backgrounds (family >= 5)
    two colours of any hue, saturation <= 0.6, or with stuff=True (stuff bands) one colour of any
    hue, saturation 0.25-0.6, and a darker shade of it (so the band's texture always shows)."""
    if family >= len(CLASSES) and stuff:
        c1 = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.25, 0.6), rng.uniform(0.45, 0.9)))
        c2 = c1 * rng.uniform(0.3, 0.7)
    elif family < len(CLASSES):
        z = rng.normal(0, 0.04)
        # free hue: z's normal CDF, uniform on [0, 1); the same draw as the class hue takes, so the
        # rest of the scene (shapes, placement, textures) does not depend on class_hue
        hue = (family / len(CLASSES) + z) % 1.0 if class_hue else 0.5 * (1 + math.erf(z / (0.04 * math.sqrt(2))))
        c1 = np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.55, 1.0), rng.uniform(0.6, 1.0)))
        c2 = c1 * rng.uniform(0.15, 0.55)
    else:
        c1 = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0, 0.6), rng.uniform(0.2, 0.9)))
        c2 = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0, 0.6), rng.uniform(0.2, 0.9)))
    return c1.astype(np.float32), c2.astype(np.float32)


def texture(rng: np.random.Generator, h: int, w: int, family: int, class_hue: bool = True) -> np.ndarray:
    """A float32 HxWx3 texture in [0,1]. Families 0-4 belong to object classes, 5-7 to backgrounds
    (class_hue: which colours, see palette)."""
    x, y = _grid(h, w)
    c1, c2 = palette(rng, family, False, class_hue)
    period = rng.uniform(4, 9)
    theta = rng.uniform(0, np.pi)
    u = x * np.cos(theta) + y * np.sin(theta)
    v = -x * np.sin(theta) + y * np.cos(theta)
    if family < len(CLASSES):
        a = pattern(("stripes", "checker", "dots", "gradient", "noise")[family], u, v, period, rng)
    else:              # background: low-frequency blotches of several scales
        a = np.zeros((h, w), np.float32)
        for s in (4, 8, 16)[: family - 3]:
            small = rng.uniform(0, 1, (max(h // s, 2), max(w // s, 2))).astype(np.float32)
            a += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        a = (a - a.min()) / max(float(np.ptp(a)), 1e-6)
    return c1 * a[..., None] + c2 * (1 - a[..., None])


def pattern(kind: str, u: np.ndarray, v: np.ndarray, period: float, rng: np.random.Generator) -> np.ndarray:
    """A float32 HxW mixing weight in [0,1] over rotated coordinates (u, v): flat, stripes, checker,
    dots, gradient or noise (the texture families of both synthetic worlds)."""
    if kind == "flat":
        return np.ones(u.shape, np.float32)
    if kind == "stripes":
        return (np.sin(2 * np.pi * u / period) > 0).astype(np.float32)
    if kind == "checker":
        return ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    if kind == "dots":
        return ((np.mod(u, period) - period / 2) ** 2 + (np.mod(v, period) - period / 2) ** 2
                < (period / 3) ** 2).astype(np.float32)
    if kind == "gradient":
        return (u - u.min()) / max(float(np.ptp(u)), 1.0)
    return rng.uniform(0, 1, u.shape).astype(np.float32)


def finish_scene(rng: np.random.Generator, img: np.ndarray, inst: np.ndarray, classes: list[int], min_visible: int,
                 background: int = 5, stuff_map: np.ndarray | None = None) -> Scene:
    """The Scene of a rendered float image: instances that occlusion left under `min_visible` px
    dropped and the rest renumbered 1..K, then sensor noise (sigma 0.02) and uint8 conversion."""
    keep = [k for k in range(1, len(classes) + 1) if (inst == k).sum() >= min_visible]
    remap = np.zeros(len(classes) + 1, np.int32)
    for new, k in enumerate(keep, 1):
        remap[k] = new
    noise = rng.normal(0, 0.02, img.shape).astype(np.float32)
    image = np.clip((img + noise) * 255.0, 0, 255).astype(np.uint8)
    return Scene(image=image, instance_map=remap[inst], classes=[classes[k - 1] for k in keep], background=background,
                 stuff_map=stuff_map)


def shape_mask(rng: np.random.Generator, h: int, w: int, cls: int, size: float, cx: float, cy: float) -> np.ndarray:
    """Boolean HxW mask of class `cls` with radius `size` (pixels) centred at (cx, cy)."""
    m = np.zeros((h, w), np.uint8)
    ang = rng.uniform(0, 2 * np.pi)
    c = (int(round(cx)), int(round(cy)))
    r = max(int(round(size)), 3)
    if cls == 0:
        cv2.circle(m, c, r, 1, -1)
    elif cls in (1, 2):
        k = 4 if cls == 1 else 3
        pts = [(cx + size * np.cos(ang + 2 * np.pi * i / k), cy + size * np.sin(ang + 2 * np.pi * i / k)) for i in range(k)]
        cv2.fillPoly(m, [np.round(np.array(pts)).astype(np.int32)], 1)
    elif cls == 3:
        cv2.circle(m, c, r, 1, -1)
        cv2.circle(m, c, max(r // 2, 1), 0, -1)
    else:
        t = max(int(round(size * 0.35)), 2)
        rot = cv2.getRotationMatrix2D((float(cx), float(cy)), float(np.degrees(ang)), 1.0)
        cv2.rectangle(m, (c[0] - r, c[1] - t), (c[0] + r, c[1] + t), 1, -1)
        cv2.rectangle(m, (c[0] - t, c[1] - r), (c[0] + t, c[1] + r), 1, -1)
        m = cv2.warpAffine(m, rot, (w, h), flags=cv2.INTER_NEAREST)
    return m.astype(bool)


def stuff_texture(rng: np.random.Generator, h: int, w: int, family: int) -> np.ndarray:
    """A float32 HxWx3 stuff texture in [0,1], any hue (palette with stuff=True): family 5 smooth
    coarse blotches (road- or wall-like), 6 horizontal streaks (sidewalk- or floor-like), 7 a grid
    of thin lines (facade- or tile-like). The pattern, not the colour, tells the family."""
    c1, c2 = palette(rng, family, stuff=True)
    x, y = _grid(h, w)
    if family == 5:
        small = rng.uniform(0, 1, (max(h // 16, 2), max(w // 16, 2))).astype(np.float32)
        a = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    elif family == 6:  # noise smooth along x, varied along y
        small = rng.uniform(0, 1, (max(h // 2, 2), max(w // 24, 2))).astype(np.float32)
        a = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    else:
        period, tilt = rng.uniform(6, 10), rng.uniform(-0.15, 0.15)
        u, v = x + tilt * y, y - tilt * x
        a = ((np.mod(u, period) > 1.5) & (np.mod(v, period) > 1.5)).astype(np.float32)
    a = (a - a.min()) / max(float(np.ptp(a)), 1e-6)
    return c1 * a[..., None] + c2 * (1 - a[..., None])


def stuff_bands(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A banded background (street- or room-like): 2-3 bands from top to bottom, split by tilted
    lines, each a different stuff family in its own texture (stuff_texture). Returns (float32
    HxWx3 image in [0,1], int32 HxW family map)."""
    n = int(rng.integers(2, 4))
    families = rng.permutation([5, 6, 7])[:n]
    x, y = _grid(h, w)
    band = np.zeros((h, w), np.int32)
    for cut in np.sort(rng.uniform(0.2, 0.8, n - 1)) * h:
        band += (y > cut + rng.uniform(-0.3, 0.3) * (x - w / 2)).astype(np.int32)
    stuff = families[band].astype(np.int32)
    img = np.zeros((h, w, 3), np.float32)
    for f in families:
        m = stuff == f
        img[m] = stuff_texture(rng, h, w, int(f))[m]
    return img, stuff


def render_scene(rng: np.random.Generator, h: int, w: int, n_objects: tuple[int, int] = (2, 5),
                 min_visible: int = 40, stuff: bool = False, class_hue: bool = True) -> Scene:
    """Render one scene of h x w pixels with a random number of objects in [lo, hi].
    stuff=True: a banded background of several stuff classes (stuff_bands) instead of one texture.
    class_hue=False: object instances in any hue (their class is then told by shape and texture)."""
    background = int(rng.integers(5, 8))  # drawn in both cases: one random stream for every layout
    stuff_map = None
    if stuff:
        img, stuff_map = stuff_bands(rng, h, w)
        background = int(np.bincount(stuff_map.ravel()).argmax())  # the most common stuff family
    else:
        img = texture(rng, h, w, background)
    inst = np.zeros((h, w), np.int32)
    classes: list[int] = []
    n = int(rng.integers(n_objects[0], n_objects[1] + 1))
    for _ in range(n):
        cls = int(rng.integers(0, len(CLASSES)))
        size = rng.uniform(0.1, 0.35) * min(h, w)   # varied scale
        cx, cy = rng.uniform(0.1 * w, 0.9 * w), rng.uniform(0.1 * h, 0.9 * h)
        m = shape_mask(rng, h, w, cls, size, cx, cy)
        if m.sum() < min_visible:
            continue
        tex = texture(rng, h, w, cls, class_hue=class_hue)
        img[m] = tex[m]
        classes.append(cls)
        inst[m] = len(classes)  # occludes what was there
    return finish_scene(rng, img, inst, classes, min_visible, background, stuff_map)
