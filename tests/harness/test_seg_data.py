"""Synthetic segmentation layouts: determinism, label ranges, VOC palette and borders, errors."""
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.data import LAYOUTS, write_synthetic
from harness.data.seg import SYNTH_LABELS, voc_palette
from harness.errors import BenchError


def _first(name, root, split):
    """(images found, the first label file) of a split, through the layout's own pairs and present()."""
    lay = LAYOUTS[name]
    found = lay.present(root, split)
    problems = []
    pairs = lay.pairs(root, split, problems)
    assert not problems and found == f"found: {len(pairs)} images"
    return len(pairs), pairs[0][1]


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    base = tmp_path_factory.mktemp("seg")
    return {l: write_synthetic(l, base / l, seed=1, n_train=5, n_val=3) for l in ("voc", "cityscapes", "ade20k")}


def test_deterministic(layouts, tmp_path):
    again = write_synthetic("voc", tmp_path / "voc", seed=1, n_train=5, n_val=3)
    assert _digest(again) == _digest(layouts["voc"])
    other = write_synthetic("voc", tmp_path / "voc2", seed=2, n_train=5, n_val=3)
    assert _digest(other) != _digest(layouts["voc"])


def test_voc_layout_palette_and_ignore_borders(layouts):
    root = layouts["voc"]
    n, label = _first("voc", root, "trainaug")
    assert n == 5 and _first("voc", root, "val")[0] == 3
    with Image.open(label) as im:
        assert im.mode == "P" and im.getpalette()[:9] == voc_palette()[:9] == [0, 0, 0, 128, 0, 0, 0, 128, 0]
        lab = np.array(im)
    assert set(np.unique(lab)) <= {0, 255, *SYNTH_LABELS["voc"]["shapes"]} and 255 in lab and 0 in lab


def test_cityscapes_and_ade_label_ranges(layouts):
    n, label = _first("cityscapes", layouts["cityscapes"], "train")
    assert n == 5 and label.name.endswith("_gtFine_labelTrainIds.png")
    assert np.array(Image.open(label)).max() <= 18
    n, label = _first("ade20k", layouts["ade20k"], "val")
    lab = np.array(Image.open(label))
    assert n == 3 and lab.min() >= 1 and lab.max() <= 150  # 0 ("other") is ignored by reduce_zero_label


def test_missing_files_name_what_was_expected(layouts, tmp_path):
    with pytest.raises(BenchError, match=r"ImageSets/Segmentation/trainaug.txt: missing \(VOC2012 trainaug image list\)"):
        LAYOUTS["voc"].present(tmp_path, "trainaug")
    broken = tmp_path / "city"
    (broken / "leftImg8bit" / "val" / "x").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(broken / "leftImg8bit" / "val" / "x" / "x_000000_000019_leftImg8bit.png")
    with pytest.raises(BenchError, match="x_000000_000019_gtFine_labelTrainIds.png: missing"):
        LAYOUTS["cityscapes"].present(broken, "val")


def test_synthetic_davis_layout_and_determinism(tmp_path):
    from app.cli import main
    from harness.data.davis import annotation_files, frames, read_indexed, sequences
    assert main(["data", "synth", "--layout", "davis", "--out", str(tmp_path / "a"), "--n-train", "1", "--n-val", "2"]) == 0
    b = write_synthetic("davis", tmp_path / "b", n_train=1, n_val=2)
    assert _digest(tmp_path / "a") == _digest(b)
    seqs = sequences(b, "val")
    assert len(seqs) == 2 and len(frames(b, seqs[0])) == len(annotation_files(b, seqs[0])) == 16
    first = [read_indexed(f) for f in annotation_files(b, seqs[0])]
    n = first[0].max()
    assert n >= 1 and all(a.max() <= n for a in first)
    assert any(not np.array_equal(first[0] == 1, a == 1) for a in first[1:])  # objects move
    with pytest.raises(BenchError, match=r"ImageSets/2017/test.txt: missing"):
        sequences(b, "test")


def test_cityscapes_and_ade_scenes_have_several_stuff_bands_in_any_hue(layouts):
    """Stuff classes share each image in bands, and a stuff id's bands take any hue (STUFF_VERSION 2:
    a stuff class is told by its texture, as an object class is by shape and texture)."""
    import cv2
    stuff_ids = SYNTH_LABELS["cityscapes"]["stuff"]
    hues: dict[int, list[float]] = {i: [] for i in stuff_ids}
    labels = sorted((layouts["cityscapes"] / "gtFine" / "train").glob("*/*_labelTrainIds.png"))
    assert len(labels) == 5
    for lab_file in labels:
        lab = np.array(Image.open(lab_file))
        img = np.array(Image.open(str(lab_file).replace("_gtFine_labelTrainIds", "_leftImg8bit").replace("/gtFine/", "/leftImg8bit/")))
        present = [i for i in stuff_ids if (lab == i).sum() >= 20]
        assert len(present) >= 2, f"{lab_file.name}: one stuff class only"
    # many scenes: each family's band hues fall in at least three of the four hue quadrants
    from harness.data.scenes import render_scene
    for seed in range(40):
        scene = render_scene(np.random.default_rng(seed), 96, 128, stuff=True)
        hsv = cv2.cvtColor(scene.image, cv2.COLOR_RGB2HSV_FULL)
        for fam, i in zip((5, 6, 7), stuff_ids):
            band = (scene.stuff_map == fam) & (scene.instance_map == 0)
            if band.sum() >= 200:
                hues[i].append(float(np.median(hsv[..., 0][band])) / 256)
    for i, h in hues.items():
        assert len(h) >= 10 and len({int(v * 4) for v in h}) >= 3, (i, h)


def test_stuff_textures_tell_the_families_apart():
    """Family 5 is smooth, 6 streaked along x (varies along y), 7 a line grid (varies both ways):
    mean absolute neighbour differences of the grey texture, normalised to its range."""
    from harness.data.scenes import stuff_texture

    def grads(fam, seed):
        g = stuff_texture(np.random.default_rng(seed), 96, 128, fam).mean(-1)
        g = (g - g.min()) / np.ptp(g)
        return np.abs(np.diff(g, axis=1)).mean(), np.abs(np.diff(g, axis=0)).mean()
    for seed in range(5):
        (x5, y5), (x6, y6), (x7, y7) = (grads(f, seed) for f in (5, 6, 7))
        assert max(x5, y5) < 0.05 and x6 < 0.05 < y6 and min(x7, y7) > 0.1, (seed, x5, y5, x6, y6, x7, y7)


def test_coco_and_davis_keep_their_data_version():
    """Stuff bands and free object hues changed only the segmentation layouts: cached COCO and DAVIS
    data (and the checkpoints pre-trained on COCO) stay valid."""
    from harness.data.scenes import SYNTH_VERSION, synth_version
    assert synth_version("coco") == synth_version("davis") == (SYNTH_VERSION,)
    assert synth_version("voc") == (SYNTH_VERSION, "free-hue-1", "lists-2")  # train.txt + aug.txt (issue 40)
    assert len({synth_version(l) for l in ("coco", "voc", "cityscapes", "ade20k")}) == 3
    assert synth_version("cityscapes") == synth_version("ade20k") == (SYNTH_VERSION, 2, "free-hue-1")
    assert synth_version("coco", class_hue=False) == (SYNTH_VERSION, "free-hue-1")  # coco_det_c4's any-hue set


def test_any_hue_coco_is_keyed_by_the_free_hue_version(monkeypatch, tmp_path):
    """A change of the free-hue rendering gives the any-hue COCO set a new folder; the hue-coded one keeps its own."""
    from harness.data import scenes, synthetic_root
    monkeypatch.setenv("DENSEBENCH_HOME", str(tmp_path))
    monkeypatch.setattr("harness.data.write_synthetic", lambda layout, out, **kw: Path(out).mkdir(parents=True))
    before = (synthetic_root("coco", class_hue=False), synthetic_root("coco"))
    monkeypatch.setattr(scenes, "FREE_HUE_VERSION", scenes.FREE_HUE_VERSION + 1)
    after = (synthetic_root("coco", class_hue=False), synthetic_root("coco"))
    assert before[0] != after[0] and before[1] == after[1]


def _instance_hues(scene):
    """(class, median hue in [0,1)) of each object instance of a scene."""
    import cv2
    hsv = cv2.cvtColor(scene.image, cv2.COLOR_RGB2HSV_FULL)
    return [(c, float(np.median(hsv[..., 0][scene.instance_map == k])) / 256) for k, c in enumerate(scene.classes, 1)]


def test_free_hue_scenes_differ_only_in_object_colours():
    """class_hue=False draws each object's hue anywhere (one draw, as the class hue takes): the
    layout of every scene is unchanged, the classes keep their hue only with class_hue=True."""
    from harness.data.scenes import CLASSES, render_scene
    typical, free = [], []
    for i in range(30):
        a = render_scene(np.random.default_rng(i), 96, 128)
        b = render_scene(np.random.default_rng(i), 96, 128, class_hue=False)
        assert a.classes == b.classes and np.array_equal(a.instance_map, b.instance_map)
        # the background is the same (up to objects that occlusion left too small and dropped)
        bg = a.instance_map == 0
        assert np.mean(np.all(a.image[bg] == b.image[bg], axis=-1)) > 0.9
        typical += _instance_hues(a)
        free += _instance_hues(b)

    def dist(h, c):  # circular distance of a hue to class c's typical hue
        d = abs(h - c / len(CLASSES))
        return min(d, 1 - d)
    # dark texture shades and noise move a median hue a little; a free hue lands anywhere
    assert max(dist(h, c) for c, h in typical) < 0.12
    assert np.mean([dist(h, c) > 0.12 for c, h in free]) > 0.5


def test_voc_train_plus_aug_is_trainaug_in_the_same_order(tmp_path):
    """The synthetic VOC as mmseg's voc_aug.py leaves it: train.txt VOC's share, aug.txt the rest;
    `train+aug` (SlotCon's and DenseCL's construction) lists trainaug's images in trainaug's order, its
    first part labelled from SegmentationClass, the rest from SegmentationClassAug."""
    from harness.data.voc import write_synthetic_voc
    root = write_synthetic_voc(tmp_path / "voc", n_train=30, n_val=2, size=(40, 48))
    lists = {n: (root / "ImageSets" / "Segmentation" / f"{n}.txt").read_text().split() for n in ("train", "aug", "trainaug")}
    assert len(lists["train"]) == 4 and lists["train"] + lists["aug"] == lists["trainaug"]  # round(30 x 1464 / 10582)
    problems: list[str] = []
    pairs = LAYOUTS["voc"].pairs(root, "train+aug", problems)
    assert not problems and [p[0].stem for p in pairs] == lists["trainaug"]
    assert {p[1].parent.name for p in pairs[:4]} == {"SegmentationClass"}
    assert {p[1].parent.name for p in pairs[4:]} == {"SegmentationClassAug"}
    (root / "ImageSets" / "Segmentation" / "aug.txt").write_text(lists["train"][0] + "\n")  # a list overlap
    LAYOUTS["voc"].pairs(root, "train+aug", problems)
    assert any("lists an image twice" in p for p in problems)
