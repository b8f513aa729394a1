"""Up-front data validation: one line per problem, naming the file and what was expected."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from harness.data import require_valid, verify
from harness.data.voc import write_synthetic_voc
from harness.errors import BenchError


@pytest.fixture(scope="module")
def tiny_voc(tmp_path_factory):
    return write_synthetic_voc(tmp_path_factory.mktemp("voc") / "VOC2012", n_train=4, n_val=3, size=(40, 48))


def _copy(src, tmp_path):
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def test_sound_sets_have_no_problems(tiny_coco, tiny_voc):
    assert verify("coco", tiny_coco, "train") == [] and verify("coco", tiny_coco, "val") == []
    assert verify("voc", tiny_voc, "trainaug") == [] and verify("voc", tiny_voc, "val") == []


def test_coco_annotations_checked_one_by_one(tiny_coco, tmp_path):
    root = _copy(tiny_coco, tmp_path)
    ann = root / "annotations" / "instances_val2017.json"
    data = json.loads(ann.read_text())
    data["annotations"][0]["bbox"][2] = -3.0                       # a negative width
    data["annotations"][1]["category_id"] = 99                     # an unknown category
    del data["annotations"][2]["bbox"]                             # no box at all
    data["annotations"][3]["image_id"] = 123456789                 # names no image
    ann.write_text(json.dumps(data))
    problems = verify("coco", root, "val")
    assert len(problems) == 4
    assert "annotations[0]: bbox" in problems[0] and "width or height <= 0" in problems[0]
    assert "annotations[1]: category_id 99 is not a category" in problems[1]
    assert "annotations[2]: bbox None" in problems[2]
    assert "annotations[3]: image_id 123456789 names no image" in problems[3]
    data["images"] = {"not": "a list"}
    ann.write_text(json.dumps(data))
    assert verify("coco", root, "val") == [f"{ann}: 'images' is not a list"]


def test_truncated_and_missing_images(tiny_coco, tmp_path):
    root = _copy(tiny_coco, tmp_path)
    files = sorted((root / "val2017").iterdir())
    files[0].write_bytes(files[0].read_bytes()[:200])            # a truncated JPEG
    files[1].unlink()
    problems = verify("coco", root, "val")
    assert any(p.startswith(f"{files[0]}: does not decode") for p in problems)
    assert f"{files[1]}: missing" in problems


def test_segmentation_labels_range_size_mode(tiny_voc, tmp_path):
    root = _copy(tiny_voc, tmp_path)
    ids = (root / "ImageSets" / "Segmentation" / "val.txt").read_text().split()
    lab = np.array(Image.open(root / "SegmentationClass" / f"{ids[0]}.png"))
    lab[0, 0] = 77
    Image.fromarray(lab, "L").save(root / "SegmentationClass" / f"{ids[0]}.png")             # out of range
    Image.new("L", (5, 5)).save(root / "SegmentationClass" / f"{ids[1]}.png")                 # wrong size
    Image.new("RGB", (48, 40)).save(root / "SegmentationClass" / f"{ids[2]}.png")             # wrong mode
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("\n".join(ids + ["2007_missing"]) + "\n")
    problems = verify("voc", root, "val")
    assert f"{root / 'SegmentationClass' / (ids[0] + '.png')}: label value 77 out of range (expected 0..20 or 255)" in problems
    assert any(p.startswith(f"{root / 'SegmentationClass' / (ids[1] + '.png')}: 5x5, expected the image's") for p in problems)
    assert f"{root / 'SegmentationClass' / (ids[2] + '.png')}: mode RGB, expected P or L" in problems
    assert f"{root / 'JPEGImages' / '2007_missing.jpg'}: missing" in problems
    with pytest.raises(BenchError, match=r"voc val data set is not sound: .* \(and 4 more: run `bench data verify"):
        require_valid("voc", root, "val")


def test_a_passed_verification_is_remembered_until_a_file_changes(tiny_voc, tmp_path):
    root = _copy(tiny_voc, tmp_path)
    calls = []

    def counting(*a):
        calls.append(a)
        return verify(*a)
    require_valid("voc", root, "val", counting)
    require_valid("voc", root, "val", counting)
    assert len(calls) == 1
    img = root / "JPEGImages" / f"{(root / 'ImageSets' / 'Segmentation' / 'val.txt').read_text().split()[0]}.jpg"
    img.write_bytes(img.read_bytes()[:100])
    with pytest.raises(BenchError, match="does not decode"):
        require_valid("voc", root, "val", counting)
