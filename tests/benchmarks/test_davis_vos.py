import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from benchmarks.davis_vos import propagate_frame
from harness import runs
from harness.backbone import forward_to, set_output_stride
from harness.data import dataset_root
from harness.data.davis import annotation_files, read_indexed, sequences, write_synthetic_davis


def _onehot(lab, k):
    return torch.nn.functional.one_hot(torch.as_tensor(lab), k).permute(2, 0, 1).float()


def test_res4_stride8():
    for arch in ("resnet18", "resnet50"):
        net = set_output_stride(getattr(torchvision.models, arch)(weights=None), "layer3", 8).eval()
        x = torch.randn(1, 3, 64, 96)
        y = net.layer3(net.layer2(net.layer1(net.maxpool(net.relu(net.bn1(net.conv1(x)))))))
        assert y.shape[-2:] == (8, 12) and forward_to(net, x, "layer3").equal(y)
        assert net.layer2[0].downsample[0].stride == (2, 2)  # only layer3 keeps its resolution (no dilation)


def test_identical_frame_copies_labels():
    torch.manual_seed(0)
    f = torch.nn.functional.normalize(torch.randn(16, 3, 4), dim=0)
    lab = _onehot(torch.randint(0, 3, (3, 4)), 3)
    out = propagate_frame(f, [f], [lab], [False], topk=1, temperature=0.07, radius=0)
    torch.testing.assert_close(out, lab)


def test_topk_softmax_weights_hand_checked():
    # one query cell, two context cells with cosines 1 and 0, labels A and B; top-2, T = 0.5
    q = torch.tensor([[[1.0]], [[0.0]]])                      # [C=2, 1, 1]
    c = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])            # [C=2, 1, 2]
    lab = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])          # [K=2, 1, 2]
    out = propagate_frame(q, [c], [lab], [False], topk=2, temperature=0.5, radius=0)
    wa = np.exp(2) / (np.exp(2) + 1)
    assert out[:, 0, 0].tolist() == pytest.approx([wa, 1 - wa], rel=1e-6)


def test_radius_restricts_context_but_not_the_first_frame():
    # the only matching context cell is far away (5 cells); with radius 2 it is excluded, unless the
    # context frame is unrestricted (the first frame)
    q = torch.zeros(2, 1, 6)
    q[0, 0, 0] = 1
    q[1, 0, 1:] = 1
    c = torch.zeros(2, 1, 6)
    c[1] = 1
    c[:, 0, 5] = torch.tensor([1.0, 0.0])
    lab = torch.zeros(2, 1, 6)
    lab[0] = 1
    lab[:, 0, 5] = torch.tensor([0.0, 1.0])
    restricted = propagate_frame(q, [c], [lab], [True], topk=1, temperature=0.07, radius=2)
    free = propagate_frame(q, [c], [lab], [False], topk=1, temperature=0.07, radius=2)
    assert restricted[1, 0, 0] == 0 and free[1, 0, 0] == 1


def test_coordinates_prefer_the_nearer_of_equal_features():
    q = torch.ones(1, 1, 5)
    c = torch.ones(1, 1, 5)
    lab = _onehot(torch.tensor([[0, 1, 2, 3, 4]]), 5)
    out = propagate_frame(q, [c], [lab], [False], topk=1, temperature=0.07, radius=0, coord_weight=1.0)
    assert out.argmax(0).tolist() == [[0, 1, 2, 3, 4]]


@pytest.mark.slow
@pytest.mark.parametrize("pid", ["videowalk", "zhang_maire"])
def test_davis_vos_mini_end_to_end(pid, tmp_path):
    ck = runs.pretrain("random", "mini", 0)
    rec = runs.evaluate(ck, "davis_vos", pid, "mini", results_root=tmp_path,
                        overrides={"dataset": {"synth": {"n_train": 1, "n_val": 3, "n_frames": 8}}})
    m = rec["metrics"]
    assert 0 <= m["J&F-Mean"] <= 100 and m["J&F-Mean"] == pytest.approx((m["J-Mean"] + m["F-Mean"]) / 2, abs=0.01)
    from pathlib import Path
    pred = Path(rec["_path"]).parent / rec["artefacts"]["predictions"]
    root = dataset_root("davis", "mini", None, {"n_train": 1, "n_val": 3, "n_frames": 8})
    seq = sequences(root, "val")[0]
    for f in annotation_files(root, seq):
        with Image.open(pred / seq / f"{f.stem}.png") as im:
            assert im.mode == "P" and im.size == Image.open(f).size
    assert np.array_equal(read_indexed(pred / seq / "00000.png"), read_indexed(annotation_files(root, seq)[0]))
