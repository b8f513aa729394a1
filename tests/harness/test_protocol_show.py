"""`bench protocol show`: a protocol's settings, and the framework config as the framework receives it."""
import yaml

from app.cli import main


def test_show_settings_of_a_scale(capsys):
    assert main(["protocol", "show", "voc_seg/fcn_d6_os16_513_30k@3", "--scale", "mini"]) == 0
    out = capsys.readouterr().out
    spec = yaml.safe_load(out)
    assert spec["crop"] == [96, 96] and spec["train_pipeline"][3] == {"type": "RandomCrop", "crop_size": [96, 96],
                                                                      "cat_max_ratio": 0.75}
    assert spec["data_preprocessor"]["stats_scale"] == 255 and "expected" not in spec
    assert "# voc_seg/fcn_d6_os16_513_30k@3 (mini)" in out


def test_show_resolved_mmseg_config(capsys):
    assert main(["protocol", "show", "voc_seg", "--resolved"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    # SlotCon's published config: 0-1 statistics on 0-255 pixels (reproduced as published, named)
    assert cfg["model"]["data_preprocessor"] == {"type": "SegDataPreProcessor", "mean": [0.485, 0.456, 0.406],
                                                 "std": [0.229, 0.224, 0.225], "bgr_to_rgb": True, "pad_val": 0,
                                                 "seg_pad_val": 255, "size": [513, 513]}
    assert cfg["model"]["backbone"]["norm_cfg"]["type"] == "SyncBN"  # as on a GPU, published
    train, aug = cfg["train_dataloader"]["dataset"]["datasets"]  # mmseg's pascal_voc12_aug.py: train.txt + aug.txt
    assert cfg["train_dataloader"]["dataset"]["type"] == "ConcatDataset" and train["pipeline"] == aug["pipeline"]
    assert (train["ann_file"], aug["data_prefix"]["seg_map_path"]) == ("ImageSets/Segmentation/train.txt", "SegmentationClassAug")
    assert train["pipeline"][2] == {"type": "RandomResize", "scale": [2049, 513], "ratio_range": [0.5, 2.0], "keep_ratio": True}
    assert [s["type"] for s in train["pipeline"]] == [
        "LoadImageFromFile", "LoadAnnotations", "RandomResize", "RandomCrop", "RandomFlip", "PackSegInputs"]
    assert cfg["train_cfg"]["max_iters"] == 30000


def test_show_resolved_detectron2_config(capsys):
    assert main(["protocol", "show", "coco_det", "--resolved"]) == 0
    out = capsys.readouterr().out
    cfg = yaml.safe_load(out.split("\n", 1)[1])
    assert cfg["MODEL"]["PIXEL_MEAN"] == [123.675, 116.28, 103.53] and cfg["INPUT"]["FORMAT"] == "RGB"
    assert cfg["MODEL"]["RESNETS"]["STRIDE_IN_1X1"] is False and cfg["MODEL"]["BACKBONE"]["FREEZE_AT"] == 0
    assert cfg["MODEL"]["ROI_HEADS"]["NUM_CLASSES"] == 80 and cfg["SOLVER"]["MAX_ITER"] == 90000


def test_show_refuses_unknown_version(capsys):
    assert main(["protocol", "show", "davis_vos/videowalk@7"]) == 2
    assert "version 7 is not the current one" in capsys.readouterr().err
