import hashlib
import json

import numpy as np
import pytest
from pycocotools.coco import COCO
import pycocotools.mask as mask_util

from harness.data import coco as coco_layout
from harness.data.coco import validate_coco, write_synthetic_coco
from harness.errors import BenchError


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_deterministic_from_seed(tmp_path):
    a = write_synthetic_coco(tmp_path / "a", seed=5, n_train=6, n_val=2, size=(64, 72))
    b = write_synthetic_coco(tmp_path / "b", seed=5, n_train=6, n_val=2, size=(64, 72))
    c = write_synthetic_coco(tmp_path / "c", seed=6, n_train=6, n_val=2, size=(64, 72))
    assert _digest(a) == _digest(b) != _digest(c)


def test_layout_loads_in_pycocotools(tiny_coco):
    for split, n in (("train", 24), ("val", 8)):
        c = COCO(str(tiny_coco / "annotations" / f"instances_{split}2017.json"))
        assert len(c.imgs) == n and len(c.cats) == 5
        assert len(c.anns) >= 2 * n  # several instances per image
        for ann in c.anns.values():
            img = c.imgs[ann["image_id"]]
            assert ann["iscrowd"] == 0 and ann["area"] > 0
            x, y, w, h = ann["bbox"]
            assert 0 <= x and 0 <= y and x + w <= img["width"] and y + h <= img["height"]
            m = c.annToMask(ann)
            assert m.shape == (img["height"], img["width"])
            assert abs(int(m.sum()) - ann["area"]) <= 0.02 * ann["area"] + 1
            assert (tiny_coco / f"{split}2017" / img["file_name"]).is_file()


def test_occlusion_and_scale_vary(tiny_coco):
    c = COCO(str(tiny_coco / "annotations" / "instances_train2017.json"))
    areas = np.array([a["area"] for a in c.anns.values()])
    assert areas.max() > 4 * areas.min()  # varied scale
    # occlusion: some instance's visible mask is smaller than its shape's bounding box fill would suggest
    overlaps = 0
    for img_id in c.imgs:
        boxes = [a["bbox"] for a in c.imgToAnns[img_id]]
        if len(boxes) > 1:
            ious = mask_util.iou(boxes, boxes, [0] * len(boxes))
            overlaps += int((np.triu(ious, 1) > 0).sum())
    assert overlaps > 0


def test_missing_and_malformed_layout_errors(tmp_path, tiny_coco):
    with pytest.raises(BenchError, match=r"expected .*instances_val2017\.json"):
        validate_coco(tmp_path / "nothing", "val")
    bad = tmp_path / "bad"
    (bad / "annotations").mkdir(parents=True)
    (bad / "val2017").mkdir()
    (bad / "annotations" / "instances_val2017.json").write_text("{not json")
    with pytest.raises(BenchError, match=r"instances_val2017\.json: not valid JSON"):
        validate_coco(bad, "val")
    (bad / "annotations" / "instances_val2017.json").write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(BenchError, match="'categories' is missing"):
        validate_coco(bad, "val")
    data = json.loads((tiny_coco / "annotations" / "instances_val2017.json").read_text())
    data["images"][0]["file_name"] = "missing.jpg"
    (bad / "annotations" / "instances_val2017.json").write_text(json.dumps(data))
    with pytest.raises(BenchError, match=r"val2017/missing\.jpg: missing"):
        validate_coco(bad, "val")


def test_cli_synth(tmp_path, capsys):
    from app.cli import main
    assert main(["data", "synth", "--layout", "coco", "--out", str(tmp_path / "s"), "--n-train", "3", "--n-val", "2"]) == 0
    assert (tmp_path / "s" / "annotations" / "instances_train2017.json").is_file()
    assert not list(tmp_path.glob(".s.tmp*"))  # nothing half-written left behind
    assert main(["data", "synth", "--layout", "kitti", "--out", str(tmp_path / "v")]) == 2
    assert "--layout 'kitti' has no synthetic generator" in capsys.readouterr().err and not (tmp_path / "v").exists()


def test_synth_never_replaces_what_densebench_did_not_write(tmp_path, capsys):
    """`bench data synth --out DIR` used to rmtree DIR. Now: a folder without DenseBench's marker, or
    holding another layout or version, is refused and left untouched; our own set of the same layout
    and version is replaced atomically."""
    from app.cli import main
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    assert main(["data", "synth", "--layout", "coco", "--out", str(mine), "--n-train", "2", "--n-val", "1"]) == 2
    assert "is not a DenseBench synthetic data set" in capsys.readouterr().err
    assert (mine / "thesis.tex").read_text() == "precious" and sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    ours = tmp_path / "ours"
    assert main(["data", "synth", "--layout", "coco", "--out", str(ours), "--n-train", "2", "--n-val", "1"]) == 0
    assert main(["data", "synth", "--layout", "coco", "--out", str(ours), "--n-train", "3", "--n-val", "1"]) == 0
    assert len(list((ours / "train2017").iterdir())) == 3 and not list(tmp_path.glob(".ours.*"))
    assert main(["data", "synth", "--layout", "voc", "--out", str(ours)]) == 2
    assert "holds a synthetic coco data set" in capsys.readouterr().err and (ours / "train2017").is_dir()
    (tmp_path / "afile").write_text("x")
    assert main(["data", "synth", "--layout", "coco", "--out", str(tmp_path / "afile")]) == 2
    assert "exists and is a file" in capsys.readouterr().err and (tmp_path / "afile").read_text() == "x"


def test_real_root_error_names_what_to_set(monkeypatch):
    from harness.data import real_root
    monkeypatch.delenv("DENSEBENCH_DATA", raising=False)
    with pytest.raises(BenchError, match="DENSEBENCH_DATA"):
        real_root("coco")
    assert coco_layout.HOW_TO_GET.startswith("download")


def test_imagenet_pretrain_listing(tmp_path):
    from PIL import Image
    from harness.data import pretrain_files
    with pytest.raises(BenchError, match=r"expected ILSVRC-2012 class folders <wnid>/\*\.JPEG"):
        pretrain_files("imagenet", tmp_path, "train")
    for wnid in ("n01", "n02"):
        (tmp_path / "train" / wnid).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "train" / wnid / f"{wnid}_1.JPEG", format="JPEG")
    assert [p.parent.name for p in pretrain_files("imagenet", tmp_path, "train")] == ["n01", "n02"]
    with pytest.raises(BenchError, match="no pre-training image list"):
        pretrain_files("cityscapes", tmp_path, "train")
    with pytest.raises(BenchError, match=r"ImageSets/Segmentation/trainaug.txt: missing"):
        pretrain_files("voc", tmp_path, "trainaug")  # VOC train_aug is a pre-training source (hiergroup)


def _class_hue_spread(root):
    """Per class, the circular spread (1 - mean resultant length, 0..1) of its instances' mean hue."""
    import cv2
    c = COCO(str(root / "annotations" / "instances_train2017.json"))
    angles = {k: [] for k in c.getCatIds()}
    for img in c.loadImgs(c.getImgIds()):
        hsv = cv2.cvtColor(cv2.imread(str(root / "train2017" / img["file_name"])), cv2.COLOR_BGR2HSV_FULL)
        for a in c.loadAnns(c.getAnnIds(imgIds=img["id"])):
            m = c.annToMask(a).astype(bool)
            if m.sum() >= 40:
                ang = hsv[..., 0][m].astype(float) / 256 * 2 * np.pi
                angles[a["category_id"]].append(np.angle(np.exp(1j * ang).mean()))
    return {k: 1 - abs(np.exp(1j * np.array(v)).mean()) for k, v in angles.items() if len(v) >= 5}


def test_any_hue_coco_keeps_the_scenes_and_frees_the_colour(tmp_path):
    kw = dict(seed=2, n_train=40, n_val=2, size=(64, 72))
    hue = write_synthetic_coco(tmp_path / "hue", **kw)
    free = write_synthetic_coco(tmp_path / "free", class_hue=False, **kw)
    for split in ("train", "val"):  # same objects, boxes and masks: only their colours differ
        a, b = (json.loads((r / "annotations" / f"instances_{split}2017.json").read_text()) for r in (hue, free))
        assert a["annotations"] == b["annotations"] and a["images"] == b["images"]
    assert _digest(hue / "train2017") != _digest(free / "train2017")
    spread_hue, spread_free = _class_hue_spread(hue), _class_hue_spread(free)
    assert len(spread_hue) == 5 and max(spread_hue.values()) < 0.2 < min(spread_free.values())
    marker = json.loads((free / ".densebench-synthetic.json").read_text())
    assert marker["params"]["class_hue"] is False and "class_hue" not in json.loads((hue / ".densebench-synthetic.json").read_text())["params"]
