"""The VOC detection layout: the synthetic writer's files read back; bad files give one-line errors."""
import shutil

import pytest

from harness.data import vocdet
from harness.data import verify
from harness.errors import BenchError


@pytest.fixture(scope="module")
def voc(tmp_path_factory):
    return vocdet.write_synthetic_voc_det(tmp_path_factory.mktemp("vd") / "VOCdevkit", seed=1, n_train=8, n_val=4)


def test_synthetic_layout_is_sound_and_complete(voc):
    assert verify("voc_det", voc, "trainval") == [] and verify("voc_det", voc, "test") == []
    ids07 = (voc / "VOC2007/ImageSets/Main/trainval.txt").read_text().split()
    ids12 = (voc / "VOC2012/ImageSets/Main/trainval.txt").read_text().split()
    assert len(ids07) == 4 and len(ids12) == 4 and len((voc / "VOC2007/ImageSets/Main/test.txt").read_text().split()) == 4
    w, h, objs = vocdet.parse_annotation(voc / "VOC2007/Annotations" / f"{ids07[0]}.xml", vocdet.VOC_CLASSES)
    assert objs and all(o[0] in vocdet.SYNTH_CLASSES and o[1] in (0, 1) for o in objs)
    assert all(1 <= b[0] <= b[2] <= w and 1 <= b[1] <= b[3] <= h for _, _, b in objs)


def test_detectron2_reads_the_layout(voc):
    from detectron2.data.datasets.pascal_voc import load_voc_instances
    dicts = load_voc_instances(str(voc / "VOC2007"), "test", list(vocdet.SYNTH_CLASSES))
    assert len(dicts) == 4 and all(d["annotations"] for d in dicts)


def _copy(voc, tmp_path):
    dst = tmp_path / "VOCdevkit"
    shutil.copytree(voc, dst)
    return dst


def test_malformed_xml_is_one_line_naming_the_file(voc, tmp_path):
    root = _copy(voc, tmp_path)
    fid = (root / "VOC2007/ImageSets/Main/test.txt").read_text().split()[0]
    bad = root / "VOC2007/Annotations" / f"{fid}.xml"
    bad.write_text("<annotation><size><width>10</width>")
    problems = verify("voc_det", root, "test")
    assert len(problems) == 1 and problems[0].startswith(f"{bad}: not well-formed XML")
    bad.write_text("<annotation><size><width>10</width><height>10</height></size><object><name>person</name>"
                   "<difficult>0</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax>"
                   "</bndbox></object></annotation>")  # no pose / truncated: Detectron2's evaluator needs them
    assert verify("voc_det", root, "test")[0].startswith(f"{bad}: expected size/width, size/height")
    bad.write_text("<annotation><size><width>10</width><height>10</height></size><object><name>zebra</name>"
                   "<pose>Left</pose><truncated>0</truncated><difficult>0</difficult><bndbox><xmin>1</xmin>"
                   "<ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>")
    assert verify("voc_det", root, "test")[0] == f"{bad}: object class 'zebra' is not one of the protocol's classes"


def test_missing_image_and_list(voc, tmp_path):
    root = _copy(voc, tmp_path)
    fid = (root / "VOC2012/ImageSets/Main/trainval.txt").read_text().split()[1]
    (root / "VOC2012/JPEGImages" / f"{fid}.jpg").unlink()
    assert verify("voc_det", root, "trainval") == [f"{root / 'VOC2012/JPEGImages' / f'{fid}.jpg'}: missing"]
    (root / "VOC2007/ImageSets/Main/test.txt").unlink()
    assert verify("voc_det", root, "test") == [f"{root / 'VOC2007/ImageSets/Main/test.txt'}: missing (VOC image-set list)"]
    with pytest.raises(BenchError, match="split 'val' is not one of trainval, test"):
        vocdet.split_parts(root, "val")
