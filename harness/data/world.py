"""Synthetic world 2 (issue 42 part 3, opt-in with `synth: {world: 2}`; world 1 is harness.data.scenes):
scenes whose object classes are told by shape alone.

Why: in world 1 each of five classes has its own texture family (and, in COCO, hue), so a randomly
initialised network separates them from low-level cues that random filters already carry; measured:
a frozen random ResNet-18 reaches the mIoU of a fine-tuned one on synthetic VOC (20.3 against 19.9),
and 30 labelled images give what 600 give (docs/measured-paper-tables.md, 2026-12-07). Pre-training
cannot show its worth where the downstream task needs no learned features. World 2 follows what the
literature on pre-training with synthetic images found to matter:
- categories defined by shape and structure with intra-class variation, many of them (20): Kataoka
  et al., "Pre-training without Natural Images" (FractalDB, ACCV 2020) define each category by a
  generating rule and draw instances by perturbing it. Here the rules are parametric shapes (stars,
  polygons, letters, rings, ...), not iterated-function-system fractals: at the 10-35 px object sizes
  of mini images a fractal's structure would not survive (an assumption, not measured);
- appearance drawn per instance, never per class: each object's texture family and colours are
  drawn independently of its class, so colour and texture tell nothing about it;
- backgrounds with natural-image statistics: a dead-leaves model (Baradad et al., "Learning to See
  by Looking at Noise", NeurIPS 2021, section 3: occluding shapes with power-law distributed sizes,
  r^-3 between r_min and r_max), part of its leaves textured like objects, so that "textured" does
  not mean "object" and the leaves are clutter;
- several objects per scene (3-7) with occlusion and a 4x range of sizes: the object-centric premise
  of ORL and SlotCon (an image holds several things).
Rendering is deterministic given the numpy Generator; VERSION is part of the cache key.
"""
from __future__ import annotations

import colorsys

import cv2
import numpy as np

from harness.data.scenes import Scene, finish_scene, pattern

VERSION = 1  # bump when rendering changes (harness.data.synthetic_path keys on it)
LAYOUTS = ("coco", "voc")  # the synthetic layouts that can be written in world 2 so far
OPTIONS = ("leaves", "classes", "scale", "cue")  # render_scene's knobs a world-2 synthetic set may set (its cache key holds them)
CLASSES = ("disc", "ellipse", "triangle", "square", "bar", "pentagon", "hexagon", "star4", "star5", "star8",
           "ring", "plus", "tee", "ell", "crescent", "arrow", "aitch", "horseshoe", "halfdisc", "bowtie")
TEXTURES = ("flat", "stripes", "checker", "dots", "gradient", "noise")


def _poly(k: int, jitter: float, rng: np.random.Generator, inner: float | None = None) -> np.ndarray:
    """A regular k-gon (or, with `inner`, a k-pointed star) on the unit circle, vertices jittered."""
    n = 2 * k if inner else k
    ang = np.arange(n) * 2 * np.pi / n
    rad = np.ones(n) if not inner else np.where(np.arange(n) % 2 == 0, 1.0, inner)
    rad = rad * (1 + rng.uniform(-jitter, jitter, n))
    return np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)


def _rects(parts: list[tuple[float, float, float, float]]) -> list[np.ndarray]:
    """Axis-aligned rectangles (x0, y0, x1, y1) in unit coordinates as polygons."""
    return [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float) for x0, y0, x1, y1 in parts]


def _arc(r: float, a0: float, a1: float, n: int = 24) -> np.ndarray:
    a = np.linspace(a0, a1, n)
    return np.stack([r * np.cos(a), r * np.sin(a)], 1)


def shape_polygons(cls: int, rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(filled polygons, holes) of one instance of class `cls` in unit coordinates (about [-1, 1]^2),
    before rotation and scaling; each class's parameters vary within its own range (intra-class
    variation) and never into another class's."""
    j = rng.uniform(0.0, 0.08)        # vertex jitter
    a = rng.uniform(0.85, 1.15)       # aspect jitter, applied to every class by the caller
    t = rng.uniform(0.28, 0.4)        # stroke width of letter-like classes
    name = CLASSES[cls]
    holes: list[np.ndarray] = []
    if name == "disc":
        polys = [_arc(1.0, 0, 2 * np.pi, 32)]
    elif name == "ellipse":
        polys = [_arc(1.0, 0, 2 * np.pi, 32) * [1.0, rng.uniform(0.35, 0.55)]]
    elif name in ("triangle", "pentagon", "hexagon"):
        polys = [_poly({"triangle": 3, "pentagon": 5, "hexagon": 6}[name], j, rng)]
    elif name == "square":
        polys = [_poly(4, j, rng)]
    elif name == "bar":
        polys = _rects([(-1, -rng.uniform(0.2, 0.32), 1, rng.uniform(0.2, 0.32))])
    elif name.startswith("star"):
        k = int(name[4:])
        polys = [_poly(k, j, rng, inner=rng.uniform(0.35, 0.5) if k < 8 else rng.uniform(0.45, 0.6))]
    elif name == "ring":
        polys, holes = [_arc(1.0, 0, 2 * np.pi, 32)], [_arc(rng.uniform(0.45, 0.65), 0, 2 * np.pi, 32)]
    elif name == "plus":
        polys = _rects([(-1, -t, 1, t), (-t, -1, t, 1)])
    elif name == "tee":
        polys = _rects([(-1, -1, 1, -1 + 2 * t), (-t, -1, t, 1)])
    elif name == "ell":
        polys = _rects([(-1, -1, -1 + 2 * t, 1), (-1, 1 - 2 * t, 1, 1)])
    elif name == "crescent":
        polys, holes = [_arc(1.0, 0, 2 * np.pi, 32)], [_arc(rng.uniform(0.8, 0.95), 0, 2 * np.pi, 32) + [rng.uniform(0.35, 0.55), 0]]
    elif name == "arrow":
        polys = [np.array([[-1, -t / 1.5], [0.1, -t / 1.5], [0.1, -0.7], [1, 0], [0.1, 0.7], [0.1, t / 1.5], [-1, t / 1.5]])]
    elif name == "aitch":
        polys = _rects([(-1, -1, -1 + 2 * t, 1), (1 - 2 * t, -1, 1, 1), (-1, -t / 1.5, 1, t / 1.5)])
    elif name == "horseshoe":
        r_in = rng.uniform(0.45, 0.6)
        polys = [np.concatenate([_arc(1.0, 0, np.pi), _arc(r_in, np.pi, 0)]), *_rects([(-1, 0, -r_in, 0.9), (r_in, 0, 1, 0.9)])]
    elif name == "halfdisc":
        polys = [_arc(1.0, 0, np.pi, 24) - [0, 0.45]]
    else:  # bowtie: two triangles meeting at a point
        w = rng.uniform(0.6, 0.9)
        polys = [np.array([[-1, -w], [0, 0], [-1, w]]), np.array([[1, -w], [0, 0], [1, w]])]
    if name not in ("disc", "ring"):
        polys = [p * [a, 1 / a] for p in polys]
        holes = [p * [a, 1 / a] for p in holes]
    return polys, holes


def shape_mask(cls: int, rng: np.random.Generator, h: int, w: int, size: float, cx: float, cy: float) -> np.ndarray:
    """Boolean HxW mask of an instance of `cls`, radius `size` px, centred at (cx, cy), any rotation."""
    polys, holes = shape_polygons(cls, rng)
    ang = rng.uniform(0, 2 * np.pi)
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])

    def place(p: np.ndarray) -> np.ndarray:
        return np.round((p @ rot.T) * size * 8 + np.array([cx, cy]) * 8).astype(np.int32)  # 3 bits of subpixel
    m = np.zeros((h, w), np.uint8)
    for p in polys:  # one call per part: fillPoly's even-odd rule would cut their overlaps out
        cv2.fillPoly(m, [place(p)], 1, lineType=cv2.LINE_8, shift=3)
    for p in holes:
        cv2.fillPoly(m, [place(p)], 0, lineType=cv2.LINE_8, shift=3)
    return m.astype(bool)


def appearance(rng: np.random.Generator, h: int, w: int, kind: str | None = None) -> np.ndarray:
    """A float32 HxWx3 texture in [0,1]: a family of TEXTURES (`kind`, else drawn at random) and two
    colours of any hue, always drawn per call (never per class)."""
    c1 = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.2, 1.0), rng.uniform(0.35, 1.0)), np.float32)
    c2 = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.2, 1.0), rng.uniform(0.1, 0.9)), np.float32)
    drawn = TEXTURES[int(rng.integers(len(TEXTURES)))]  # drawn even when `kind` is given: same stream
    kind = kind or drawn
    x, y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    theta, period = rng.uniform(0, np.pi), rng.uniform(3, 8)
    u, v = x * np.cos(theta) + y * np.sin(theta), -x * np.sin(theta) + y * np.cos(theta)
    a = pattern(kind, u, v, period, rng)
    return c1 * a[..., None] + c2 * (1 - a[..., None])


def dead_leaves(rng: np.random.Generator, h: int, w: int, r_min: float = 4.0, r_max: float | None = None,
                textured: float = 0.25, coverage: int = 80) -> np.ndarray:
    """A float32 HxWx3 dead-leaves image (Baradad et al. 2021): discs, squares and triangles of
    radius r drawn with density r^-3 on [r_min, r_max] (inverse-CDF sampling), each of one random
    colour or, with probability `textured`, a random texture, painted over each other until
    `coverage` leaves have fallen."""
    r_max = r_max or 0.35 * min(h, w)
    img = np.zeros((h, w, 3), np.float32)
    img[:] = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0, 0.8), rng.uniform(0.1, 0.9)), np.float32)
    u = rng.uniform(0, 1, coverage)
    radii = (r_min ** -2 - u * (r_min ** -2 - r_max ** -2)) ** -0.5  # r^-3 density, inverted CDF
    for r in radii:
        cx, cy = rng.uniform(-r, w + r), rng.uniform(-r, h + r)
        k = int(rng.integers(3))
        m = np.zeros((h, w), np.uint8)
        if k == 0:
            cv2.circle(m, (int(cx), int(cy)), max(int(r), 1), 1, -1)
        else:
            pts = _poly(4 if k == 1 else 3, 0.1, rng) * r
            ang = rng.uniform(0, 2 * np.pi)
            rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
            cv2.fillPoly(m, [np.round(pts @ rot.T + [cx, cy]).astype(np.int32)], 1)
        sel = m.astype(bool)
        if not sel.any():
            continue
        if rng.uniform() < textured:
            img[sel] = appearance(rng, h, w)[sel]
        else:
            img[sel] = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0, 0.8), rng.uniform(0.1, 0.9)), np.float32)
    return img


def render_scene(rng: np.random.Generator, h: int, w: int, n_objects: tuple[int, int] = (3, 7),
                 min_visible: int = 40, leaves: int = 80, classes: int = len(CLASSES), scale: int = 100,
                 cue: int = 0) -> Scene:
    """One world-2 scene of h x w px: a dead-leaves background of `leaves` leaves (0: one flat colour;
    background family 5: one "stuff" class) and n_objects[0]..n_objects[1] objects drawn from the
    first `classes` classes, sizes 0.08-0.3 x min(h, w) (radius) x scale / 100, any rotation and appearance; later
    objects occlude earlier ones, and an instance left under `min_visible` px is dropped (as world 1).
    `cue` (percent): the chance that an object wears its class's own texture family
    (TEXTURES[class % 6]) instead of a random one, colours still per instance: a weak appearance cue
    between world 1 (class = texture and hue) and world 2's default 0 (shape alone)."""
    if not 1 <= classes <= len(CLASSES) or leaves < 0 or scale < 1 or not 0 <= cue <= 100:
        raise ValueError(f"classes {classes} (1-{len(CLASSES)}), leaves {leaves} (>= 0), scale {scale} (>= 1), "
                         f"cue {cue} (0-100)")
    img = dead_leaves(rng, h, w, coverage=leaves)
    inst = np.zeros((h, w), np.int32)
    drawn: list[int] = []
    for _ in range(int(rng.integers(n_objects[0], n_objects[1] + 1))):
        cls = int(rng.integers(classes))
        size = rng.uniform(0.08, 0.3) * min(h, w)
        if scale != 100:  # the default draws exactly what it drew before the knob existed
            size *= scale / 100
        m = shape_mask(cls, rng, h, w, size, rng.uniform(0.1 * w, 0.9 * w), rng.uniform(0.1 * h, 0.9 * h))
        if m.sum() < min_visible:
            continue
        kind = TEXTURES[cls % len(TEXTURES)] if cue and rng.uniform() * 100 < cue else None  # cue 0: no draw, as before
        img[m] = appearance(rng, h, w, kind)[m]
        drawn.append(cls)
        inst[m] = len(drawn)
    return finish_scene(rng, img, inst, drawn, min_visible)
