"""ORL's loss against hand values, the stage-3 model and data, stage 2 on tiny synthetic data."""
import json
import math

import numpy as np
import pytest
import torch

from pretrainers.orl import ORL, ORLData, orl_loss
from pretrainers.orl_boxes import pair_count
from tests.conftest import recipe

T = torch.tensor


def test_orl_loss_hand_computed():
    # one sample per tensor; each term 2 - 2 cos(p, z) of the pair's other input, weight 1
    p = {"global": (T([[1.0, 0.0]]), T([[1.0, 1.0]])),
         "intra": (T([[1.0, 0.0]]), T([[0.0, 1.0]])),
         "inter": (T([[3.0, 4.0]]), T([[1.0, 0.0]]))}
    z = {"global": (T([[1.0, 0.0]]), T([[0.0, 1.0]])),     # p1.z2: cos 0 -> 2; p2.z1: cos 1/sqrt 2 -> 2 - sqrt 2
         "intra": (T([[0.0, -1.0]]), T([[1.0, 0.0]])),      # p1.z2: cos 1 -> 0; p2.z1: cos -1 -> 4
         "inter": (T([[-1.0, 0.0]]), T([[4.0, 3.0]]))}      # p1.z2: cos 24/25 -> 0.08; p2.z1: cos -1 -> 4
    out = orl_loss(p, z)
    assert out["loss_global"].item() == pytest.approx(2 + 2 - math.sqrt(2), abs=1e-6)
    assert out["loss_intra"].item() == pytest.approx(4.0, abs=1e-6)
    assert out["loss_inter"].item() == pytest.approx(4.08, abs=1e-6)
    assert out["loss"].item() == pytest.approx(4 - math.sqrt(2) + 4 + 4.08, abs=1e-5)
    # batch mean: rows (cos 0 -> 2) and (cos 1 -> 0) average to 1 per direction
    p2 = {"global": (T([[1.0, 0.0], [1.0, 0.0]]), T([[1.0, 0.0], [1.0, 0.0]]))}
    z2 = {"global": (T([[1.0, 0.0], [1.0, 0.0]]), T([[0.0, 1.0], [1.0, 0.0]]))}
    assert orl_loss(p2, z2)["loss"].item() == pytest.approx(1.0 + 0.0, abs=1e-6)
    assert orl_loss(p2, z2, {"global": 0.5})["loss"].item() == pytest.approx(0.5, abs=1e-6)


def test_model_shares_backbone_and_projector_has_three_predictors():
    torch.manual_seed(0)
    m = ORL("resnet18", hidden=32, dim=16)
    assert set(m.predictors) == {"global", "intra", "inter"}
    batch = [torch.randn(4, 3, 64, 64)] * 2 + [torch.randn(4, 3, 32, 32)] * 4
    out = m(batch)
    assert {"loss", "loss_global", "loss_intra", "loss_inter"} <= set(out)
    out["loss"].backward()
    for b in ("global", "intra", "inter"):
        assert m.predictors[b][0].weight.grad is not None
    assert m.backbone.conv1.weight.grad is not None and m.backbone_t.conv1.weight.grad is None
    before = m.backbone_t.conv1.weight.clone()
    with torch.no_grad():
        m.backbone.conv1.weight.add_(1.0)
    m.momentum_update(0.99)
    assert torch.allclose(m.backbone_t.conv1.weight, before + 0.01, atol=1e-6)


def _corr(files, boxes, knn, pairs):
    return {"images": [f.name for f in files], "boxes": boxes, "knn": knn, "pairs": pairs}


def test_stage3_sample_shapes_and_pairs_come_from_the_neighbour(tiny_coco):
    from harness.data.coco import image_files
    files = image_files(tiny_coco, "train")[:3]
    r = recipe("orl")
    from harness.registry import METHODS
    p = METHODS.load("orl").params(r)
    boxes = [[[2, 2, 30, 30], [10, 5, 20, 25]]] * 3
    knn = [[1, 2], [0, 2], [0, 1]]
    pairs = [[[[2, 2, 30, 30, 10, 5, 20, 25]], [[10, 5, 20, 25, 2, 2, 30, 30]]]] * 3
    ds = ORLData(list(reversed(files)), _corr(files, boxes, knn, pairs), p)  # order follows the file
    assert ds.files == files
    torch.manual_seed(0)
    sample = ds[0]
    assert [tuple(t.shape) for t in sample] == [(3, 64, 64)] * 2 + [(3, 32, 32)] * 4
    from tests.pretrainers.test_augment_blur import _blurs  # views blur by 64/224, patches by 32/96 (issue 21)
    assert {b.sigma for b in _blurs(ds.view)} == {tuple(p.blur_sigma)}
    assert {b.sigma for b in _blurs(ds.patch)} == {tuple(p.patch_blur_sigma)}
    assert p.blur_sigma[1] == pytest.approx(2.0 * 64 / 224, rel=1e-3) and p.patch_blur_sigma[1] == pytest.approx(2.0 * 32 / 96, rel=1e-3)
    with pytest.raises(Exception, match="correspondence lists 3 images"):
        ORLData(files[:2], _corr(files, boxes, knn, pairs), p)


@pytest.fixture(scope="module")
def random_ckpt(tmp_path_factory):
    from harness.checkpoint import backbone_state, save_canonical
    from harness.backbone import IMAGENET_NORM
    import torchvision
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ck") / "r18.safetensors"
    save_canonical(path, backbone_state(torchvision.models.resnet18()), {
        "method": "random", "arch": "resnet18", "pretrain_data": "none", "epochs": 0, "encoder": "online",
        "normalization": IMAGENET_NORM, "scale": "mini", "recipe": "mini"})
    return path


def test_stage2_on_tiny_synthetic_images(tiny_coco, random_ckpt):
    from harness.data.coco import image_files
    from pretrainers.orl_stage2 import Stage2Settings, discover, load_correspondence
    files = image_files(tiny_coco, "train")[:10]
    s = Stage2Settings(knn=3, knn_resize=64, knn_crop=56, min_box=12, max_ratio=3, max_iou=0.5, top_n=100,
                       roi_size=32, pair_ratio=0.3)
    path = discover(random_ckpt, files, s, progress=False, workers=2)
    doc = load_correspondence(path)
    assert doc["images"] == [f.name for f in files]
    assert doc["info"]["knn_features"].startswith("pooled C5")  # no projector beside a random checkpoint
    for i, (nbrs, boxes, pairs) in enumerate(zip(doc["knn"], doc["boxes"], doc["pairs"])):
        assert len(nbrs) == 3 and i not in nbrs and len(set(nbrs)) == 3
        assert 1 <= len(boxes) <= 100
        for x, y, w, h in boxes:
            assert (w >= 12 and h >= 12 and max(w / h, h / w) <= 3) or len(boxes) == 1
        for j, per in zip(nbrs, pairs):
            assert len(per) == min(pair_count(len(boxes), 0.3), len(boxes) * len(doc["boxes"][j]))
            for pr in per:
                assert pr[:4] in boxes and pr[4:] in doc["boxes"][j]
    counts = doc["info"]["counts"]
    assert counts["images"] == 10 and counts["pairs"] == sum(len(p) for per in doc["pairs"] for p in per)
    # the same inputs find the same artefact; the file is versioned
    assert discover(random_ckpt, files, s, progress=False) == path
    bad = path.with_name("bad.json")
    bad.write_text(json.dumps({**doc, "version": 99}))
    with pytest.raises(Exception, match="not a densebench-orl-correspondence file of version 1"):
        load_correspondence(bad)


def test_knn_excludes_the_image_itself():
    from pretrainers.orl_stage2 import knn_indices
    f = np.eye(4, dtype=np.float32)[[0, 0, 1, 2]]   # images 0 and 1 identical
    f[3] = [0.9, 0.1, 0, 0]
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    nn = knn_indices(f, 2)
    assert nn[0, 0] == 1 and nn[1, 0] == 0 and all(i not in row for i, row in enumerate(nn.tolist()))


def test_objective_equals_the_official_code_on_the_same_inputs():
    """tests/fixtures/orl_official.json: Jiahao000/ORL's own forward_train and LatentPredictHead
    (2ad64f7) on fixed features, branch weights 1 / 0.5 / 2 (how: tests/fixtures/make_orl_official.py;
    its predictor is the identity, so the online features are the predictions)."""
    from pathlib import Path
    d = json.loads((Path(__file__).parents[1] / "fixtures" / "orl_official.json").read_text())
    on = {k: torch.tensor(v) for k, v in d["inputs"]["online"].items()}
    tg = {k: torch.tensor(v) for k, v in d["inputs"]["target"].items()}
    p = {b: (on[f"{b}_v1"], on[f"{b}_v2"]) for b in ("global", "intra", "inter")}
    z = {b: (tg[f"{b}_v1"], tg[f"{b}_v2"]) for b in ("global", "intra", "inter")}
    out = orl_loss(p, z, d["settings"]["weights"])
    official = d["outputs"]
    for ours, theirs in (("loss_global", "loss_global"), ("loss_intra", "loss_local_intra"), ("loss_inter", "loss_local_inter")):
        assert out[ours].item() == pytest.approx(official[theirs], rel=1e-5), ours
    assert out["loss"].item() == pytest.approx(sum(official.values()), rel=1e-5)
