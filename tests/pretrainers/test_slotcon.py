import math
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms as T

from harness.engine.optim import momentum_at
from pretrainers.augment import OverlappingCrops
from pretrainers.slotcon import (SlotConModel, group_loss, resample_overlap, semantic_grouping,
                                 slot_contrast_loss, slot_loss, updated_center, valid_slots)
from tests.conftest import recipe


def test_grouping_hand_computed():
    # one image, D = 2, a 1 x 2 map: pixels (2, 0) and (0, 1); prototypes along x and y
    x = torch.tensor([[2.0, 0.0], [0.0, 1.0]]).view(1, 2, 1, 2)        # x[0, :, 0, p]
    protos = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    slots, dots = semantic_grouping(x, protos, temp=0.5, eps=0.0)
    assert dots[0, :, 0, :].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    a = math.exp(2) / (math.exp(2) + 1)                                # softmax over prototypes of [1, 0]/0.5
    # slot 0 weights pixels (a, 1 - a) normalised over pixels; its value is sum_p x_p w_p (unnormalised x)
    w0 = torch.tensor([a, 1 - a]) / 1.0
    torch.testing.assert_close(slots[0, 0], (2 * w0[0] * torch.tensor([1.0, 0]) + w0[1] * torch.tensor([0, 1.0])))
    torch.testing.assert_close(slots[0, 1], (2 * (1 - a) * torch.tensor([1.0, 0]) + a * torch.tensor([0, 1.0])))


def test_grouping_equals_loop():
    torch.manual_seed(0)
    x, protos, t = torch.randn(2, 5, 2, 3), torch.randn(4, 5), 0.07
    slots, dots = semantic_grouping(x, protos, t)
    for n in range(2):
        pix = x[n].flatten(1)                                          # [D, P]
        d = torch.stack([F.cosine_similarity(protos[k][:, None], pix, dim=0) for k in range(4)])   # [K, P]
        attn = torch.softmax(d / t, dim=0) + 1e-6
        for k in range(4):
            torch.testing.assert_close(slots[n, k], (pix * attn[k]).sum(1) / attn[k].sum(), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(dots[n].flatten(1), d, atol=1e-6, rtol=1e-5)


def test_resample_right_half_and_flip():
    score = torch.arange(16.0).view(1, 1, 4, 4)
    right = torch.tensor([[0.5, 0.0, 1.0, 1.0]])
    out = resample_overlap(score, right, torch.tensor([False]))
    # aligned roi_align of columns 2..3 onto 4 columns: samples at x = 2.25, 2.75, 3.25, 3.75 (pixel centres at +0.5)
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([1.75, 2.25, 2.75, 3.0]))
    flipped = resample_overlap(score.flip(-1), torch.tensor([[0.0, 0.0, 0.5, 1.0]]), torch.tensor([True]))
    torch.testing.assert_close(flipped, out)  # the same region seen through a flipped view comes back un-flipped


def test_overlap_crops_align_the_same_place():
    """Pixels encode their original coordinates; after resampling both views onto the overlap
    (un-flipped), the two views agree up to interpolation error, flips included."""
    yy, xx = np.mgrid[0:120, 0:160]
    im = Image.fromarray(np.stack([xx * 255 // 159, yy * 255 // 119, np.zeros_like(xx)], -1).astype(np.uint8))
    crops = OverlappingCrops(32, T.PILToTensor(), T.PILToTensor(), scale=(0.3, 0.6))
    random.seed(0)
    torch.manual_seed(0)
    flips, checked = set(), 0
    for _ in range(20):
        v1, v2, b1, b2, f1, f2 = crops(im)
        if (b1[2] - b1[0]) * (b1[3] - b1[1]) < 0.05:
            continue  # a sliver of overlap: too few pixels to compare
        a1 = resample_overlap(v1[None, :2].float(), b1[None], f1[None])
        a2 = resample_overlap(v2[None, :2].float(), b2[None], f2[None])
        assert (a1 - a2).abs()[..., 2:-2, 2:-2].mean() < 4.0   # of 255 grey levels over 160 px: ~2.5 px
        flips.add((bool(f1), bool(f2)))
        checked += 1
    assert checked >= 10 and len(flips) >= 3


def test_group_loss_equals_loop_and_uses_center():
    torch.manual_seed(1)
    s, t, c = torch.randn(6, 4), torch.randn(6, 4), torch.randn(1, 4)
    ref = 0.0
    for p in range(6):
        target = torch.softmax((t[p] - c[0]) / 0.07, 0)
        ref += -(target * torch.log_softmax(s[p] / 0.1, 0)).sum().item()
    assert group_loss(s, t, c, 0.1, 0.07).item() == pytest.approx(ref / 6, rel=1e-5)
    assert group_loss(s, t, torch.zeros(1, 4), 0.1, 0.07).item() != pytest.approx(ref / 6, rel=1e-3)


def test_valid_slots_and_slot_contrast_hand_checked():
    dots = torch.zeros(1, 3, 1, 2)
    dots[0, 0, 0, 0] = 1.0      # pixel 0 -> prototype 0
    dots[0, 2, 0, 1] = 1.0      # pixel 1 -> prototype 2
    assert valid_slots(dots).tolist() == [[True, False, True]]
    keys = torch.tensor([[1.0, 0.0], [5.0, 5.0], [0.0, 1.0]])       # image 0: prototypes 0, 1, 2
    valid = torch.tensor([True, False, True])
    q = torch.tensor([[1.0, 0.0]])                                  # query: prototype 0 -> key 0
    # logits [1, 0]/0.2; CE = log(1 + e^-5); scaled by 2 x 0.2
    expected = 0.4 * math.log(1 + math.exp(-5))
    assert slot_contrast_loss(q, keys, torch.tensor([0]), valid, 0.2).item() == pytest.approx(expected, rel=1e-5)
    # the query for prototype 2 has label 1 (second valid key)
    expected2 = 0.4 * math.log(1 + math.exp(-5))
    assert slot_contrast_loss(torch.tensor([[0.0, 2.0]]), keys, torch.tensor([2]), valid, 0.2).item() == pytest.approx(expected2, rel=1e-5)
    empty = slot_contrast_loss(torch.zeros(0, 2, requires_grad=True), keys, torch.zeros(0, dtype=torch.long), valid, 0.2)
    assert empty.item() == 0.0


def test_slot_contrast_equals_loop():
    torch.manual_seed(2)
    keys, q = torch.randn(12, 5), torch.randn(4, 5)
    valid = torch.tensor([1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0], dtype=torch.bool)
    qi = torch.tensor([0, 3, 6, 10])
    vidx = [i for i in range(12) if valid[i]]
    ref = 0.0
    for a, pos in zip(q, qi.tolist()):
        logits = [float(F.cosine_similarity(a, keys[j], dim=0)) / 0.2 for j in vidx]
        ref += -(logits[vidx.index(pos)] - math.log(sum(math.exp(l) for l in logits)))
    assert slot_contrast_loss(q, keys, qi, valid, 0.2).item() == pytest.approx(0.4 * ref / 4, rel=1e-5)


def test_two_processes_gather_keys_like_one_process(tmp_path):
    """torchrun, 2 gloo processes each holding half the batch: the slot loss weighted by queries
    and the updated centre equal one process holding both halves."""
    worker = Path(__file__).with_name("_slotcon_gather_worker.py")
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29541",
                        str(worker)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    got = {int(m[0]): (float(m[1]), int(m[2]), float(m[3])) for m in re.findall(r"RANK (\d) LOSS (-?\d+\.\d{8}) N (\d+) C (-?\d+\.\d{8})", r.stdout)}
    assert set(got) == {0, 1}
    sys.path.insert(0, str(worker.parent))
    from _slotcon_gather_worker import inputs  # the same seeded tensors, whole batch in one process
    q, k, dq, dk = inputs()
    single = slot_loss(q, k, dq, dk, torch.nn.Identity(), 0.2).item()
    n_total = int((valid_slots(dq) & valid_slots(dk)).sum())
    weighted = sum(l * n for l, n, _ in got.values()) / sum(n for _, n, _ in got.values())
    assert sum(n for _, n, _ in got.values()) == n_total
    assert weighted == pytest.approx(single, rel=1e-5)
    centre = updated_center(torch.zeros(1, dk.shape[1]), dk.permute(0, 2, 3, 1).flatten(0, 2), 0.9)
    assert got[0][2] == pytest.approx(centre.sum().item(), rel=1e-5) and got[1][2] == pytest.approx(got[0][2])


def test_model_step_teacher_and_center():
    torch.manual_seed(0)
    m = SlotConModel("resnet18", hidden=32, dim=16, num_prototypes=8)
    x = torch.randn(4, 3, 64, 64)
    box = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 4)
    out = m([x, x.flip(-1), box, box, torch.zeros(4, dtype=torch.bool), torch.ones(4, dtype=torch.bool)])
    assert torch.isfinite(out["loss"]) and out["active_slots"] >= 1
    assert m.center.abs().sum() > 0  # the centre moved towards the teacher's mean dots
    out["loss"].backward()
    assert m.prototypes.weight.grad is not None and m.prototypes_k.weight.grad is None
    with torch.no_grad():
        m.prototypes.weight.add_(1.0)
    before = m.prototypes_k.weight.clone()
    m.momentum_update(0.99)
    torch.testing.assert_close(m.prototypes_k.weight, 0.99 * before + 0.01 * m.prototypes.weight)


def test_paper_recipes():
    assert recipe("slotcon", "paper").params["num_prototypes"] == 256
    assert recipe("slotcon", "paper_in1k_200ep").params["num_prototypes"] == 2048
    tr = recipe("slotcon", "paper").train
    assert tr.batch_size == 512 and tr.epochs == 800 and tr.optimizer.name == "lars"
    total = 800 * (118287 // 512)
    assert momentum_at(0, total, tr.ema) == pytest.approx(0.99) and momentum_at(total, total, tr.ema) == 1.0


def test_functions_equal_the_official_code_on_the_same_inputs():
    """tests/fixtures/slotcon_official.json: CVMI-Lab/SlotCon's own functions (30ff33d) on fixed small
    inputs (how: tests/fixtures/make_slotcon_official.py). The same inputs through DenseBench's
    functions give the same grouping, overlap maps, group loss and slot contrast."""
    import json
    d = json.loads((Path(__file__).parents[1] / "fixtures" / "slotcon_official.json").read_text())
    t = {k: torch.tensor(v) for k, v in d["inputs"].items() if not k.startswith("flags")}
    f1, f2 = torch.tensor(d["inputs"]["flags1"]), torch.tensor(d["inputs"]["flags2"])
    out = {k: torch.tensor(v) if isinstance(v, list) else v for k, v in d["outputs"].items()}
    (q1, dq1), (q2, dq2) = (semantic_grouping(t[x], t["prototypes_q"], 0.07) for x in ("x1", "x2"))
    (k1, dk1), (k2, dk2) = (semantic_grouping(t[y], t["prototypes_k"], 0.07) for y in ("y1", "y2"))
    torch.testing.assert_close(q1, out["slots_q1"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(dq1, out["dots_q1"], rtol=1e-5, atol=1e-6)
    aq1, aq2 = resample_overlap(dq1, t["coords1"], f1), resample_overlap(dq2, t["coords2"], f2)
    ak1, ak2 = resample_overlap(dk1, t["coords1"], f1), resample_overlap(dk2, t["coords2"], f2)
    torch.testing.assert_close(aq1, out["aligned_q1"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ak2, out["aligned_k2"], rtol=1e-5, atol=1e-6)

    def cells(x):
        return x.permute(0, 2, 3, 1).flatten(0, 2)
    group = (group_loss(cells(aq1), cells(ak2), t["center"], 0.1, 0.07)
             + group_loss(cells(aq2), cells(ak1), t["center"], 0.1, 0.07))
    assert group.item() == pytest.approx(out["group_loss"], rel=1e-5)
    assert len((valid_slots(dq1) & valid_slots(dk2)).nonzero()) > 1  # the predictor path, as in training
    slot = slot_loss(q1, k2, dq1, dk2, torch.nn.Identity(), 0.2) + slot_loss(q2, k1, dq2, dk1, torch.nn.Identity(), 0.2)
    assert slot.item() == pytest.approx(out["slot_loss"], rel=1e-5)
