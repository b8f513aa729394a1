import json
import os
import pickle

import numpy as np
import pytest
import torch
import torchvision

from harness.backbone import IMAGENET_NORM
from harness.checkpoint import backbone_state, load_canonical, read_meta, save_canonical, weights_sha256
from harness.convert import to_detectron2, write_detectron2
from harness.official import import_state, safe_load
from harness.errors import BenchError

META = {"method": "test", "arch": "resnet18", "pretrain_data": "none", "epochs": 0, "recipe": "mini", "scale": "mini",
        "encoder": "online", "normalization": IMAGENET_NORM, "config": {}}


def _randomised(arch):
    """A torchvision ResNet with non-trivial BN statistics (so a wrong BN mapping shows)."""
    torch.manual_seed(0)
    net = getattr(torchvision.models, arch)(weights=None)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


def _d2_backbone(depth):
    from detectron2.config import get_cfg
    from detectron2.layers import ShapeSpec
    from detectron2.modeling.backbone import build_resnet_backbone
    cfg = get_cfg()
    cfg.MODEL.RESNETS.DEPTH = depth
    cfg.MODEL.RESNETS.RES2_OUT_CHANNELS = 64 if depth < 50 else 256
    cfg.MODEL.RESNETS.STRIDE_IN_1X1 = False  # torchvision puts the stride in the 3x3 conv
    cfg.MODEL.RESNETS.NORM = "BN"
    cfg.MODEL.RESNETS.OUT_FEATURES = ["res2", "res3", "res4", "res5"]
    cfg.MODEL.BACKBONE.FREEZE_AT = 0
    return build_resnet_backbone(cfg, ShapeSpec(channels=3))


@pytest.mark.parametrize("arch,depth", [("resnet18", 18), ("resnet50", 50)])
def test_detectron2_features_equal_torchvision(arch, depth):
    tv = _randomised(arch)
    arrays, rep = to_detectron2(backbone_state(tv))
    assert rep.dropped == []  # backbone_state already dropped fc and BN counters
    d2 = _d2_backbone(depth)
    res = d2.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()}, strict=False)
    assert res.unexpected_keys == []
    assert all(k.endswith("num_batches_tracked") for k in res.missing_keys)
    d2.eval()
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        out = d2(x)
        h = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
        for i, name in enumerate(["res2", "res3", "res4", "res5"]):
            h = getattr(tv, f"layer{i + 1}")(h)
            torch.testing.assert_close(out[name], h, atol=1e-4, rtol=1e-4)


def test_detectron2_pickle_format_and_report(tmp_path):
    tv = torchvision.models.resnet18(weights=None)
    rep = write_detectron2(tv.state_dict(), tmp_path / "w.pkl")
    with open(tmp_path / "w.pkl", "rb") as f:
        blob = pickle.load(f)
    assert blob["matching_heuristics"] is True and "__author__" in blob
    assert "stem.conv1.weight" in blob["model"] and "res2.0.conv1.norm.running_var" in blob["model"]
    assert "res3.0.shortcut.norm.weight" in blob["model"]
    assert all(isinstance(v, np.ndarray) for v in blob["model"].values())
    assert set(rep.dropped) == {"fc.weight", "fc.bias"} | {k for k in tv.state_dict() if "num_batches" in k}


def test_strict_load_into_mask_rcnn_and_refusal_of_renamed_key(tmp_path):
    from detectron2.modeling import build_model
    from benchmarks.detectron2_det import build_cfg, check_strict_load
    from harness.registry import TASKS
    spec = TASKS.protocol("coco_det", "r50_fpn_4conv1fc_syncbn_1x").settings("mini")
    cfg = build_cfg(spec, "none_train", "none_test", "", tmp_path, 0, "cpu")
    model = build_model(cfg)
    state = backbone_state(_randomised("resnet18"))
    write_detectron2(state, tmp_path / "ok.pkl")
    info = check_strict_load(model, str(tmp_path / "ok.pkl"))
    assert "roi_heads.box_head" in info["initialised_from_scratch"]
    torch.testing.assert_close(model.backbone.bottom_up.res5[1].conv2.weight, state["layer4.1.conv2.weight"])
    bad = dict(state)
    bad["layer4.1.conv9.weight"] = bad.pop("layer4.1.conv2.weight")
    write_detectron2(bad, tmp_path / "bad.pkl")
    with pytest.raises(BenchError, match=r"not exact: missing \['backbone.bottom_up.res5.1.conv2.weight'\]"):
        check_strict_load(build_model(cfg), str(tmp_path / "bad.pkl"))


def test_canonical_roundtrip_and_tamper_detection(tmp_path):
    state = backbone_state(_randomised("resnet18"))
    meta = save_canonical(tmp_path / "c.safetensors", state, META)
    loaded, meta2 = load_canonical(tmp_path / "c.safetensors")
    assert meta2["weights_sha256"] == meta["weights_sha256"] and meta2["arch"] == "resnet18"
    for k in state:
        assert torch.equal(loaded[k], state[k])
    raw = bytearray((tmp_path / "c.safetensors").read_bytes())
    raw[-3] ^= 0xFF  # flip bits inside the last tensor
    (tmp_path / "t.safetensors").write_bytes(bytes(raw))
    with pytest.raises(BenchError, match="do not match the weights_sha256"):
        load_canonical(tmp_path / "t.safetensors")


def test_a_channels_last_model_saves_as_its_contiguous_twin(tmp_path):
    """A `paper` recipe trains in channels_last: its 1x1 conv weights keep NHWC strides that count as
    contiguous, and the save must neither fail on them nor change a byte of the checkpoint."""
    model = _randomised("resnet50")
    flat = save_canonical(tmp_path / "a.safetensors", backbone_state(model), dict(META, arch="resnet50"))
    nhwc = {k: (v.to(memory_format=torch.channels_last) if v.dim() == 4 else v) for k, v in model.state_dict().items()
            if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}
    assert nhwc["layer1.0.conv1.weight"].stride(-1) != 1  # the case .view(torch.uint8) refused
    assert backbone_state(model.to(memory_format=torch.channels_last))["layer1.0.conv1.weight"].stride(-1) == 1
    meta = save_canonical(tmp_path / "b.safetensors", nhwc, dict(META, arch="resnet50"))
    assert meta["weights_sha256"] == flat["weights_sha256"] == weights_sha256(nhwc)
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()


def test_canonical_refuses_incomplete_backbone(tmp_path):
    state = backbone_state(_randomised("resnet18"))
    state.pop("layer2.0.downsample.0.weight")
    with pytest.raises(BenchError, match=r"keys do not match a resnet18 backbone \(missing \['layer2.0.downsample.0.weight'\]"):
        save_canonical(tmp_path / "c.safetensors", state, META)
    assert not (tmp_path / "c.safetensors").exists()


def test_canonical_refuses_wrong_shapes_and_non_finite_tensors(tmp_path):
    """A tensor of the right name but the wrong shape, or holding NaN/Inf, is refused at the writer,
    the importer and the reader (before conversion or evaluation), naming the tensors."""
    good = backbone_state(_randomised("resnet18"))
    shaped = {**good, "layer1.0.conv1.weight": torch.zeros(64, 64, 1, 1)}
    with pytest.raises(BenchError, match=r"1 tensors have the wrong shape for resnet18: layer1.0.conv1.weight "
                                         r"\(64, 64, 1, 1\) \(expected \(64, 64, 3, 3\)\)"):
        save_canonical(tmp_path / "s.safetensors", shaped, META)
    nan = {**good, "layer3.0.conv1.weight": good["layer3.0.conv1.weight"] * float("nan"),
           "layer3.0.bn1.running_var": good["layer3.0.bn1.running_var"] + float("inf")}
    with pytest.raises(BenchError, match=r"2 tensors hold NaN or Inf values: layer3.0.bn1.running_var, layer3.0.conv1.weight"):
        save_canonical(tmp_path / "n.safetensors", nan, META)
    torch.save(nan, tmp_path / "nan.pth")
    with pytest.raises(BenchError, match=r"nan.pth: 2 tensors hold NaN or Inf values"):
        import_state(tmp_path / "nan.pth", "torchvision")
    # a file written around the checks (tensors and hash consistent) is refused when read
    from safetensors.torch import save_file
    from harness.checkpoint import weights_sha256
    meta = {**META, "weights_sha256": weights_sha256(nan)}
    save_file(nan, str(tmp_path / "forged.safetensors"), metadata={"densebench": json.dumps(meta)})
    with pytest.raises(BenchError, match=r"forged.safetensors: 2 tensors hold NaN or Inf values"):
        load_canonical(tmp_path / "forged.safetensors")
    assert not list(tmp_path.glob(".*tmp*"))


def test_not_a_canonical_file(tmp_path):
    (tmp_path / "x.safetensors").write_bytes(b"garbage")
    with pytest.raises(BenchError, match="not a safetensors file"):
        read_meta(tmp_path / "x.safetensors")


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_code_payload_is_refused_never_run(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"state_dict": {"conv1.weight": torch.zeros(1)}, "x": _Payload(marker)}, tmp_path / "evil.pth")
    with pytest.raises(BenchError, match="refused to load"):
        safe_load(tmp_path / "evil.pth")
    assert not marker.exists()


def test_import_official_release_prefix_and_report(tmp_path):
    tv = _randomised("resnet18")
    sd = {f"module.encoder.{k}": v for k, v in tv.state_dict().items()}
    sd.update({f"module.encoder_k.{k}": v for k, v in tv.state_dict().items()})
    sd["module.projector.linear1.weight"] = torch.zeros(4, 4)
    torch.save({"model": sd, "epoch": 100}, tmp_path / "pixpro.pth")
    state, arch, rep, _ = import_state(tmp_path / "pixpro.pth", "pixpro")
    assert arch == "resnet18"
    assert torch.equal(state["layer3.1.bn2.running_var"], tv.state_dict()["layer3.1.bn2.running_var"])
    assert "module.projector.linear1.weight" in rep.dropped and "module.encoder.fc.weight" in rep.dropped
    assert any(k.startswith("module.encoder_k.") for k in rep.dropped)
    with pytest.raises(BenchError, match="no backbone keys under prefix 'module.encoder_q.'"):
        import_state(tmp_path / "pixpro.pth", "mocov2")


def test_cli_import_then_convert(tmp_path, capsys):
    from app.cli import main
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path / "tv.pth")
    assert main(["import", "--from", "torchvision", str(tmp_path / "tv.pth"), str(tmp_path / "c.safetensors")]) == 0
    assert main(["convert", "--to", "detectron2", str(tmp_path / "c.safetensors"), str(tmp_path / "d2.pkl")]) == 0
    out = capsys.readouterr().out
    assert "resnet18" in out and "dropped" in out
    meta = read_meta(tmp_path / "c.safetensors")
    assert meta["recipe"] == "imported" and meta["scale"] is None


def _tv_keys(prefix: str, tv) -> dict:
    return {f"{prefix}{k}": v for k, v in tv.state_dict().items()}


def test_release_layouts_import_and_auto_says_which(tmp_path, capsys):
    """One synthetic file of exactly each release layout: DenseCL/ORL backbone-only files (prefix
    stripped by OpenSelfSup's extract_backbone_weights), SlotCon's full checkpoint with an
    argparse.Namespace `args`, PixPro's, MoCo's, OpenSelfSup's full checkpoint, plain torchvision."""
    import argparse
    from app.cli import main
    tv = _randomised("resnet18")
    files = {
        "densecl_release.pth": ({"state_dict": dict(tv.state_dict()), "author": "DenseCL"}, "densecl", "backbone-only release"),
        "slotcon_full.pth": ({"args": argparse.Namespace(arch="resnet50", dim_out=256, fp16=True, lr=1.0),
                              "model": {**_tv_keys("module.encoder.", tv), **_tv_keys("module.encoder_k.", tv),
                                        "module.prototypes_k.weight": torch.zeros(4, 4)},
                              "optimizer": {"state": {}, "param_groups": []}, "epoch": 800}, "slotcon", "SlotCon checkpoint"),
        "pixpro.pth": ({"model": {**_tv_keys("module.encoder.", tv), **_tv_keys("module.encoder_k.", tv)}, "epoch": 400},
                       "pixpro", "PixPro checkpoint"),
        "moco.pth": ({"state_dict": {**_tv_keys("module.encoder_q.", tv), **_tv_keys("module.encoder_k.", tv)}}, "mocov2",
                     "MoCo checkpoint"),
        "openselfsup.pth": ({"state_dict": {**_tv_keys("backbone.", tv), "neck.mlp.0.weight": torch.zeros(2, 2)}}, "densecl",
                            "OpenSelfSup checkpoint"),
        "torchvision.pth": (dict(tv.state_dict()), "torchvision", "torchvision ResNet state dict"),
    }
    want = tv.state_dict()
    for name, (obj, source, found) in files.items():
        torch.save(obj, tmp_path / name)
        for src in (source, "auto"):
            state, arch, rep, used = import_state(tmp_path / name, src)
            assert arch == "resnet18" and used == source, (name, src)
            assert all(torch.equal(state[k], want[k]) for k in state)
            assert (rep.found.startswith(found) if src == "auto" else rep.found == "")
    # orl/densecl releases by name too
    assert import_state(tmp_path / "densecl_release.pth", "orl")[3] == "orl"
    assert main(["import", "--from", "auto", str(tmp_path / "slotcon_full.pth"), str(tmp_path / "s.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "found SlotCon checkpoint" in out and "imported as --from slotcon" in out
    assert read_meta(tmp_path / "s.safetensors")["encoder"] == "ema"


def test_namespace_allowed_but_not_what_it_carries(tmp_path):
    """argparse.Namespace is the one class allowed (SlotCon's args); an object inside it is refused."""
    import argparse
    marker = tmp_path / "pwned"
    torch.save({"args": argparse.Namespace(x=_Payload(marker)), "model": {}}, tmp_path / "evil_args.pth")
    with pytest.raises(BenchError, match="refused to load"):
        safe_load(tmp_path / "evil_args.pth")
    assert not marker.exists()


def test_outside_backbone_layouts_import_and_auto_names_them(tmp_path, capsys):
    """One synthetic file per outside layout people have on disk (issue 44): timm, mmpretrain /
    mmselfsup, VISSL, solo-learn. Each imports (by name and by auto) to exactly the torchvision
    tensors it was built from, so the features are numerically equal; the CLI says what it found."""
    import argparse
    from app.cli import main
    tv = _randomised("resnet18")
    want = tv.state_dict()
    vissl_trunk = {f"_feature_blocks.{k}": v for k, v in want.items() if not k.startswith("fc.")}
    files = {
        "timm.pth": ({"epoch": 99, "arch": "resnet18", "state_dict": dict(want),
                      "state_dict_ema": {k: v + 1 for k, v in want.items()}, "args": argparse.Namespace(lr=0.1)},
                     "timm", "timm training checkpoint"),
        "mmpretrain.pth": ({"meta": {"mmengine_version": "0.10.7", "epoch": 100},
                            "state_dict": {**_tv_keys("backbone.", tv), "neck.fc.weight": torch.zeros(2, 2),
                                           "head.fc.weight": torch.zeros(2, 2)}}, "mmpretrain", "OpenMMLab 1.x checkpoint"),
        "vissl.torch": ({"phase_idx": 199, "iteration": 5,
                         "classy_state_dict": {"base_model": {"model": {"trunk": vissl_trunk,
                                                                         "heads": {"0.clf.0.weight": torch.zeros(2, 2)}}}}},
                        "vissl", "VISSL checkpoint"),
        "solo.ckpt": ({"epoch": 399, "global_step": 10, "pytorch-lightning_version": "2.1.0",
                       "state_dict": {**_tv_keys("backbone.", tv), **_tv_keys("momentum_backbone.", tv),
                                      "projector.0.weight": torch.zeros(2, 2)}},
                      "solo-learn", "solo-learn (PyTorch Lightning) checkpoint"),
    }
    for name, (obj, source, found) in files.items():
        torch.save(obj, tmp_path / name)
        for src in (source, "auto"):
            state, arch, rep, used = import_state(tmp_path / name, src)
            assert arch == "resnet18" and used == source, (name, src)
            assert set(state) == {k for k in want if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}
            assert all(torch.equal(state[k], want[k]) for k in state), name
            assert (rep.found.startswith(found) if src == "auto" else rep.found == ""), (name, rep.found)
    net = torchvision.models.resnet18(weights=None).eval()
    net.load_state_dict(import_state(tmp_path / "vissl.torch", "auto")[0], strict=False)
    x = torch.randn(1, 3, 64, 64)
    f_new = torch.nn.Sequential(*list(net.children())[:-1])(x)   # the pooled features (fc is not imported)
    f_ref = torch.nn.Sequential(*list(tv.eval().children())[:-1])(x)
    assert torch.equal(f_new, f_ref)
    assert main(["import", "--from", "auto", str(tmp_path / "solo.ckpt"), str(tmp_path / "s.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "found solo-learn (PyTorch Lightning) checkpoint" in out and "imported as --from solo-learn" in out
    assert read_meta(tmp_path / "s.safetensors")["method"] == "solo-learn"


def test_outside_layouts_of_another_architecture_are_one_line(tmp_path):
    tv = _randomised("resnet18")
    stem = {"backbone.stem.0.weight": torch.zeros(32, 3, 3, 3),
            **{k: v for k, v in _tv_keys("backbone.", tv).items() if "layer" in k}}
    torch.save({"meta": {"mmengine_version": "0.10.7"}, "state_dict": stem}, tmp_path / "v1c.pth")
    with pytest.raises(BenchError, match=r"v1c.pth: a deep-stem ResNet \(ResNetV1c/V1d: backbone.stem.\*\)"):
        import_state(tmp_path / "v1c.pth", "auto")
    cifar = dict(_tv_keys("backbone.", tv), **{"backbone.conv1.weight": torch.zeros(64, 3, 3, 3)})
    torch.save({"pytorch-lightning_version": "2.1.0", "state_dict": cifar}, tmp_path / "cifar.ckpt")
    with pytest.raises(BenchError, match=r"cifar.ckpt: 1 tensors have the wrong shape for resnet18: conv1.weight \(64, 3, 3, 3\)"):
        import_state(tmp_path / "cifar.ckpt", "auto")
    vit = {"cls_token": torch.zeros(1, 1, 8), "blocks.0.attn.qkv.weight": torch.zeros(24, 8)}
    torch.save({"arch": "vit_small", "state_dict": vit}, tmp_path / "vit.pth")
    with pytest.raises(BenchError, match="no known release layout"):
        import_state(tmp_path / "vit.pth", "auto")
    with pytest.raises(BenchError, match="no backbone keys under prefix ''"):
        import_state(tmp_path / "vit.pth", "timm")
