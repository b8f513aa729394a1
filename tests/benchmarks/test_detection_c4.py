"""The C4 detection protocols (coco_det_c4, voc_det): files parse, `paper` models build on CPU (not
trained), the RoI head's res5 carries the extra norm and is loaded strictly from the checkpoint."""
import pytest
import torch
import torchvision

from benchmarks.detectron2_det import build_cfg, check_strict_load, from_checkpoint
from harness.checkpoint import backbone_state
from harness.convert import write_detectron2
from harness.errors import BenchError
from harness.registry import TASKS

C4 = [("coco_det_c4", "r50_c4_syncbn_1x"), ("voc_det", "r50_c4_24k")]


def _model(task, pid, scale, tmp_path):
    from detectron2.modeling import build_model
    spec = TASKS.protocol(task, pid).settings(scale)
    return build_model(build_cfg(spec, "none_train", "none_test", "", tmp_path, 0, "cpu")), spec


@pytest.mark.parametrize("task,pid", C4)
def test_paper_model_builds_with_the_extra_norm(task, pid, tmp_path):
    model, spec = _model(task, pid, "paper", tmp_path)
    res5 = model.roi_heads.res5
    assert type(model.roi_heads).__name__ == "Res5ROIHeadsExtraNorm"
    assert isinstance(res5.norm, torch.nn.SyncBatchNorm) and res5.norm.num_features == 2048
    assert len([m for m in res5 if type(m).__name__ == "BottleneckBlock"]) == 3
    assert model.roi_heads.box_predictor.cls_score.out_features == spec.dataset.num_classes + 1
    assert hasattr(model.roi_heads, "mask_head") == (task == "coco_det_c4")


@pytest.mark.parametrize("task,pid", C4)
def test_mini_res5_is_the_checkpoints_own_and_loads_strictly(task, pid, tmp_path):
    model, _ = _model(task, pid, "mini", tmp_path)
    torch.manual_seed(0)
    state = backbone_state(torchvision.models.resnet18())
    write_detectron2(state, tmp_path / "ok.pkl")
    info = check_strict_load(model, str(tmp_path / "ok.pkl"))
    assert "roi_heads.res5.norm" in info["initialised_from_scratch"]
    assert not [k for k in info["initialised_from_scratch"] if k.startswith("backbone")]
    torch.testing.assert_close(model.roi_heads.res5[1].conv2.weight, state["layer4.1.conv2.weight"])
    torch.testing.assert_close(model.backbone.res4[0].shortcut.weight, state["layer3.0.downsample.0.weight"])
    bad = dict(state)
    bad["layer4.1.conv9.weight"] = bad.pop("layer4.1.conv2.weight")
    write_detectron2(bad, tmp_path / "bad.pkl")
    model, _ = _model(task, pid, "mini", tmp_path)
    with pytest.raises(BenchError, match=r"not exact: missing \['roi_heads.res5.1.conv2.weight'\]"):
        check_strict_load(model, str(tmp_path / "bad.pkl"))


def test_which_tensors_come_from_the_checkpoint():
    assert from_checkpoint("backbone.bottom_up.res5.0.conv1.weight")        # FPN
    assert from_checkpoint("backbone.stem.conv1.norm.weight")               # C4 backbone
    assert from_checkpoint("roi_heads.res5.2.conv3.norm.running_mean")      # C4 head's res5
    assert not from_checkpoint("roi_heads.res5.norm.weight")                # the extra norm: new
    assert not from_checkpoint("backbone.fpn_lateral2.weight")
    assert not from_checkpoint("roi_heads.box_predictor.cls_score.weight")
