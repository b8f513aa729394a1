"""Pascal VOC detection layout: VOC2007 + VOC2012 as Detectron2's `pascal_voc` loader reads them.

Real layout (under the data root, `VOCdevkit/`, as the devkits unpack):
    VOC2007/{Annotations/<id>.xml, ImageSets/Main/{trainval,test}.txt, JPEGImages/<id>.jpg}
    VOC2012/{Annotations/<id>.xml, ImageSets/Main/trainval.txt, JPEGImages/<id>.jpg}
DenseBench's splits: `trainval` = VOC2007 trainval + VOC2012 trainval (the papers' "07+12"),
`test` = VOC2007 test, `trainval07` = VOC2007 trainval alone (the VOC07 classification benchmark's
training set, voc07_svm). Each annotation has <size><width/><height/></size> and per object <name>,
<pose>, <truncated>, <difficult> (0/1) and <bndbox> with 1-based inclusive xmin, ymin, xmax, ymax
(Detectron2's VOC evaluator reads all of them).
The synthetic writer renders the scenes of the segmentation layouts (any hue: harness.data.scenes)
and names the five shape classes with the VOC classes the synthetic VOC segmentation set uses
(person, car, bird, bottle, chair); an object whose visible area is under DIFFICULT_AREA pixels
is marked difficult (excluded from the evaluation as VOC's own difficult objects are).
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.data.checks import open_image
from harness.data.layout import Layout
from harness.errors import BenchError

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
               "train", "tvmonitor")
SYNTH_CLASSES = ("person", "car", "bird", "bottle", "chair")  # scenes.CLASSES -> VOC names (as harness.data.seg)
SPLITS = {"trainval": (("VOC2007", "trainval"), ("VOC2012", "trainval")), "test": (("VOC2007", "test"),),
          "trainval07": (("VOC2007", "trainval"),)}
DIFFICULT_AREA = 120  # px; synthetic objects this small are marked difficult


def split_parts(root: str | os.PathLike, split: str) -> list[tuple[Path, str, int]]:
    """(year folder, image-set name, year) of a DenseBench split."""
    if split not in SPLITS:
        raise BenchError(f"voc_det split '{split}' is not one of {', '.join(SPLITS)}")
    return [(Path(root) / d, s, int(d[3:])) for d, s in SPLITS[split]]


def _xml(name: str, w: int, h: int, objects: list[tuple[str, int, tuple[int, int, int, int]]]) -> str:
    objs = "".join(f"<object><name>{c}</name><pose>Unspecified</pose><truncated>0</truncated>"
                   f"<difficult>{d}</difficult><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}"
                   f"</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>" for c, d, b in objects)
    return (f"<annotation><folder>VOC</folder><filename>{name}.jpg</filename><size><width>{w}</width>"
            f"<height>{h}</height><depth>3</depth></size>{objs}</annotation>\n")


def write_synthetic_voc_det(out: str | os.PathLike, seed: int = 0, n_train: int = 600, n_val: int = 100,
                            size: tuple[int, int] = (96, 128)) -> Path:
    """Synthetic VOC2007 + VOC2012 detection sets: n_train trainval images (half per year), n_val
    VOC2007 test images. Deterministic in (seed, sizes); written to a staging folder, then renamed."""
    import cv2
    import numpy as np

    from harness.data.publish import publish_dir, staging_dir
    from harness.data.seg import synthetic_scenes
    tmp, out = staging_dir(out, "voc_det")
    n07 = n_train // 2
    plan = (("VOC2007", "trainval", 0, n07), ("VOC2012", "trainval", 2, n_train - n07), ("VOC2007", "test", 1, n_val))
    for year, image_set, split_seed, n in plan:
        base = tmp / year
        for d in ("Annotations", "ImageSets/Main", "JPEGImages"):
            (base / d).mkdir(parents=True, exist_ok=True)
        ids = []
        for i, scene in synthetic_scenes("voc_det", seed, split_seed, n, size):
            name = f"{year[3:]}_{split_seed}{i:05d}"
            cv2.imwrite(str(base / "JPEGImages" / f"{name}.jpg"), scene.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            objects = []
            for k, cls in enumerate(scene.classes, 1):
                ys, xs = np.nonzero(scene.instance_map == k)
                box = (int(xs.min()) + 1, int(ys.min()) + 1, int(xs.max()) + 1, int(ys.max()) + 1)  # 1-based, inclusive
                objects.append((SYNTH_CLASSES[cls], int(len(xs) < DIFFICULT_AREA), box))
            h, w = scene.instance_map.shape
            (base / "Annotations" / f"{name}.xml").write_text(_xml(name, w, h, objects))
            ids.append(name)
        (base / "ImageSets" / "Main" / f"{image_set}.txt").write_text("\n".join(ids) + "\n")
    return publish_dir(tmp, out, "voc_det", {"seed": seed, "n_train": n_train, "n_val": n_val, "size": size})


def parse_annotation(path: Path, classes: tuple[str, ...]) -> tuple[int, int, list[tuple[str, int, list[float]]]]:
    """(width, height, [(class, difficult, [xmin, ymin, xmax, ymax])]) of one VOC XML; BenchError
    naming the file and what was expected otherwise."""
    try:
        tree = ET.parse(path)
    except FileNotFoundError:
        raise BenchError(f"{path}: missing (VOC annotation)") from None
    except ET.ParseError as e:
        raise BenchError(f"{path}: not well-formed XML ({e})") from None
    try:
        w, h = int(tree.findtext("size/width")), int(tree.findtext("size/height"))
        objs = []
        for o in tree.findall("object"):
            name = o.findtext("name")
            if name not in classes:
                raise BenchError(f"{path}: object class '{name}' is not one of the protocol's classes")
            box = [float(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
            int(o.findtext("truncated"))
            if o.findtext("pose") is None:
                raise TypeError("pose")
            if not (1 <= box[0] <= box[2] <= w and 1 <= box[1] <= box[3] <= h):
                raise BenchError(f"{path}: box {box} outside the {w}x{h} image (expected 1 <= min <= max <= size)")
            objs.append((name, int(o.findtext("difficult")), box))
    except (TypeError, ValueError):
        raise BenchError(f"{path}: expected size/width, size/height and, per object, name, pose, truncated, "
                         "difficult and bndbox/{xmin,ymin,xmax,ymax} (numbers where numeric)") from None
    return w, h, objs


def problems(root: str | os.PathLike, split: str, classes: tuple[str, ...] = VOC_CLASSES) -> list[str]:
    """Every problem of a split (missing list, image or annotation; malformed XML; bad box); [] if sound."""
    out: list[str] = []
    for base, image_set, _ in split_parts(root, split):
        lst = base / "ImageSets" / "Main" / f"{image_set}.txt"
        if not lst.is_file():
            out.append(f"{lst}: missing (VOC image-set list)")
            continue
        for fid in (s.strip() for s in lst.read_text().splitlines() if s.strip()):
            try:
                w, h, _ = parse_annotation(base / "Annotations" / f"{fid}.xml", classes)
            except BenchError as e:
                out.append(str(e))
                continue
            got = open_image(base / "JPEGImages" / f"{fid}.jpg", out)
            if got is not None and got[:2] != (w, h):
                out.append(f"{base / 'JPEGImages' / f'{fid}.jpg'}: {got[0]}x{got[1]}, the annotation says {w}x{h}")
    return out


def classification_targets(root: str | os.PathLike, split: str, classes: tuple[str, ...]) -> tuple[list[Path], "np.ndarray"]:
    """Image-level labels of a split, as the VOC devkit's per-class lists (<class>_<set>.txt) hold them
    and ORL's tools/prepare_data/create_voc_data_files.py encodes them: ([image paths, sorted by
    image id], targets [N, len(classes)] int32) with 1 = the image holds a non-difficult object of
    the class, -1 = only difficult ones (ignored when testing), 0 = none. Objects of classes outside
    `classes` are an error (the annotation names the file)."""
    import numpy as np
    rows: dict[str, tuple[Path, list[int]]] = {}
    for base, image_set, _ in split_parts(root, split):
        lst = base / "ImageSets" / "Main" / f"{image_set}.txt"
        if not lst.is_file():
            raise BenchError(f"{lst}: missing (VOC image-set list)")
        for fid in (s.strip() for s in lst.read_text().splitlines() if s.strip()):
            _, _, objs = parse_annotation(base / "Annotations" / f"{fid}.xml", classes)
            label = [0] * len(classes)
            for name, difficult, _ in objs:
                c = classes.index(name)
                label[c] = 1 if not difficult else (label[c] or -1)
            rows[fid] = (base / "JPEGImages" / f"{fid}.jpg", label)
    ids = sorted(rows)
    return [rows[i][0] for i in ids], np.array([rows[i][1] for i in ids], dtype=np.int32).reshape(len(ids), len(classes))


class VocDet(Layout):
    name, folder, splits = "voc_det", "VOCdevkit", tuple(SPLITS)
    how_to_get = "extract VOCtrainval_06-Nov-2007.tar, VOCtest_06-Nov-2007.tar and VOCtrainval_11-May-2012.tar"
    default_splits = ("trainval", "test")  # trainval07 is a part of trainval

    def problems(self, root: Path, split: str) -> list[str]:
        return problems(root, split)

    def present(self, root: Path, split: str) -> str:
        n = 0
        for base, image_set, _ in split_parts(root, split):
            lst = base / "ImageSets" / "Main" / f"{image_set}.txt"
            if not lst.is_file():
                raise BenchError(f"{lst}: missing (VOC image-set list; {self.how_to_get})")
            n += sum(1 for s in lst.read_text().splitlines() if s.strip())
        return f"found: {n} images"

    def write_synthetic(self, out: str | os.PathLike, **params: Any) -> Path:
        return write_synthetic_voc_det(out, **params)


VOC_DET = VocDet()
