"""mmsegmentation tasks: every protocol builds, converter equivalence, strict loading, mini runs."""
import copy
import dataclasses

import pytest
import torch
import torchvision

from benchmarks.mmseg_config import build_config, check_aspp_reach, check_pipeline, syncbn_to_bn
from benchmarks.mmseg_hooks import register_once
from harness import runs
from harness.convert import to_mmseg
from harness.errors import BenchError
from harness.registry import TASKS

SEG_TASKS = ("voc_seg", "cityscapes_seg", "ade_seg", "voc_aspp_frozen")
ALL = [(t, pid, scale) for t in SEG_TASKS for pid in TASKS.protocols(t) for scale in ("paper", "mini")]


def load_protocols(task):
    return TASKS.protocols(task)


@pytest.mark.parametrize("task,pid,scale", ALL, ids=[f"{t}/{p}/{f}" for t, p, f in ALL])
def test_every_protocol_builds_and_normalises_in_0_255(task, pid, scale):
    register_once()
    from mmseg.registry import MODELS
    spec = load_protocols(task)[pid].resolved(scale)
    pre = spec["data_preprocessor"]
    # SlotCon's published VOC/Cityscapes configs apply 0-1 statistics to 0-255 pixels: reproduced at
    # paper scale and said so (stats_scale 1); everything else, and every mini section, is 0-255
    quirk = scale == "paper" and pid in ("fcn_d6_os16_513_30k", "fcn_d6_os16_769_90k")
    assert pre["stats_scale"] == (1 if quirk else 255)
    assert (max(pre["mean"]) < 1 and max(pre["std"]) < 1) if quirk else (min(pre["mean"]) > 1 and min(pre["std"]) > 1)
    settings = load_protocols(task)[pid].settings(scale)  # the same, typed
    check_pipeline(settings)  # the train crop is the protocol's crop
    cfg = build_config(settings, "/data", "/w.pth", "/out", 0, "cpu")
    assert cfg["model"]["data_preprocessor"]["mean"] == pre["mean"]
    train = cfg["train_dataloader"]["dataset"]
    for d in train.get("datasets", [train]):  # VOC's train+aug: one dataset per (list, label folder)
        assert d["pipeline"][2]["scale"] == tuple(spec["train_pipeline"][2]["scale"])
    if quirk:  # as published: no category limit on the crop, no photometric distortion
        assert spec["train_pipeline"][3]["cat_max_ratio"] == 1.0
        assert "PhotoMetricDistortion" not in [s["type"] for s in spec["train_pipeline"]]
    model = MODELS.build(syncbn_to_bn(copy.deepcopy(spec["model"])))
    bb = model.backbone
    assert type(bb).__name__ == "ResNet" and bb.depth == spec["model"]["backbone"]["depth"]
    assert not hasattr(bb, "stem")  # plain ResNet (torchvision stem), not V1c's deep stem
    assert spec["schedule"]["iters"] == spec["schedule"]["lr"][0]["end"]
    check_aspp_reach(settings)  # no ASPP branch reaches only into the padding


def test_pipeline_crop_must_match_the_protocol_crop():
    p = load_protocols("voc_seg")["fcn_d6_os16_513_30k"].settings("mini")
    steps = copy.deepcopy(list(p.train_pipeline))
    steps[3]["crop_size"] = [64, 64]
    with pytest.raises(BenchError, match=r"RandomCrop crop_size \[64, 64\]: expected the protocol's crop \[96, 96\]"):
        check_pipeline(dataclasses.replace(p, train_pipeline=tuple(steps)))


def test_aspp_dilation_past_the_feature_map_is_refused():
    """The paper's ASPP dilations on the mini crop (96 px at output stride 8: a 12x12 map) would
    turn the 12/24/36 branches into 1x1 convolutions; the protocol check names the argument."""
    p = load_protocols("voc_aspp_frozen")["aspp_frozen_384_20k"]
    assert p.settings("mini").model["decode_head"]["dilations"] == [1, 3, 6, 9]
    bad = p.settings("mini", {"model": {"decode_head": {"dilations": [1, 12, 24, 36]}}})
    with pytest.raises(BenchError, match=r"decode_head.dilations .*< 12, .*96 px crop at output stride 8"):
        check_aspp_reach(bad)
    paper = p.settings("paper")
    check_aspp_reach(paper)  # 36 < 48 = 384 / 8


@pytest.mark.parametrize("arch,depth", [("resnet18", 18), ("resnet50", 50)])
def test_mmseg_backbone_equals_torchvision(arch, depth):
    register_once()
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    tv = getattr(torchvision.models, arch)(weights=None)
    for m in tv.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    state, report = to_mmseg(tv.state_dict())
    assert report.dropped and all(k.startswith("fc.") or k.endswith("num_batches_tracked") for k in report.dropped)
    mm = MODELS.build({"type": "ResNet", "depth": depth, "out_indices": (0, 1, 2, 3), "style": "pytorch"})
    res = mm.load_state_dict(state, strict=False)
    assert not res.unexpected_keys and not [k for k in res.missing_keys if not k.endswith("num_batches_tracked")]
    tv.eval(), mm.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        outs = mm(x)
        y = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
        for i, layer in enumerate((tv.layer1, tv.layer2, tv.layer3, tv.layer4)):
            y = layer(y)
            torch.testing.assert_close(outs[i], y, atol=1e-4, rtol=1e-4)


TINY = {"schedule": {"iters": 6, "batch_size": 4, "workers": 0,
                     "lr": [{"type": "MultiStepLR", "by_epoch": False, "begin": 0, "end": 6, "milestones": [4], "gamma": 0.1}]}}


def test_renamed_key_refused_before_training(tmp_path, monkeypatch):
    import benchmarks.mmseg_seg as ms
    real = ms.write_mmseg

    def renaming(state, out):
        rep = real(state, out)
        blob = torch.load(out, weights_only=True)
        blob["state_dict"]["layer1.0.conv1.weight_renamed"] = blob["state_dict"].pop("layer1.0.conv1.weight")
        torch.save(blob, out)
        return rep
    monkeypatch.setattr(ms, "write_mmseg", renaming)
    ck = runs.pretrain("random", "mini", 0)
    with pytest.raises(BenchError, match=r"backbone load is not exact: missing \['layer1.0.conv1.weight'\]"):
        runs.evaluate(ck, "voc_seg", None, "mini", results_root=tmp_path, overrides=TINY)
