import math

import pytest
import torch

from harness import runs
from harness.checkpoint import load_canonical, save_canonical
from app.cli import main
from harness.inspect_rank import effective_rank


def test_effective_rank_worked_examples():
    e = torch.eye(5)
    # k directions of equal spread (+-e_i rows, already centred): erank exactly k
    for k in (1, 3, 5):
        rows = torch.cat([e[:k], -e[:k]])
        assert effective_rank(rows) == pytest.approx(k, abs=1e-9)
    # singular values (3, 1): p = (0.75, 0.25), erank = exp(-(0.75 ln 0.75 + 0.25 ln 0.25)) = 1.7548
    a, b = 3 / math.sqrt(2), 1 / math.sqrt(2)
    rows = torch.stack([a * e[0], -a * e[0], b * e[1], -b * e[1]])
    assert effective_rank(rows) == pytest.approx(1.754765, abs=1e-6)
    # centring: a constant offset changes nothing; constant features have no direction
    assert effective_rank(rows + 7.0) == pytest.approx(1.754765, abs=1e-6)
    assert effective_rank(torch.full((6, 4), 2.0)) == 0.0


def _table(text: str) -> dict[str, list[float]]:
    rows = {}
    for line in text.splitlines()[2:]:
        *name, l1, l2, l3, l4 = line.split()
        rows[" ".join(name)] = [float(v) for v in (l1, l2, l3, l4)]
    return rows


def test_inspect_rank_reference_and_a_dead_stage(tmp_path, tiny_coco, capsys):
    ck = runs.pretrain("random", "mini", 0)
    state, meta = load_canonical(ck)
    # a checkpoint whose C5 is dead: every layer4 BN outputs 0, so its features are constant
    dead = {k: (torch.zeros_like(v) if k.startswith("layer4.") and (".bn" in k or "downsample.1" in k) and
                k.endswith(("weight", "bias")) else v) for k, v in state.items()}
    save_canonical(tmp_path / "dead.safetensors", dead, {**meta, "method": "dead"})
    args = ["inspect", "rank", "--checkpoint", str(ck), "--checkpoint", str(tmp_path / "dead.safetensors"),
            "--images", str(tiny_coco / "val2017"), "--n", "8", "--size", "64", "80"]
    assert main(args) == 0
    rows = _table(capsys.readouterr().out)
    ref, same = rows["random"], next(v for k, v in rows.items() if k.startswith("random ("))
    assert same == ref  # the reference is the `random` method's init under the same seed
    assert 1.0 < ref[0] <= 64 and ref[1] > ref[0]  # white-ish random features: layer2 has 128 channels
    d = next(v for k, v in rows.items() if k.startswith("dead"))
    assert d[:3] == ref[:3] and d[3] == 0.0


def test_inspect_rank_errors(tmp_path, capsys):
    ck = str(runs.pretrain("random", "mini", 0))
    assert main(["inspect", "rank", "--checkpoint", ck, "--images", str(tmp_path / "nope")]) == 2
    assert "nope: not a directory" in capsys.readouterr().err
    assert main(["inspect", "rank", "--checkpoint", ck, "--images", str(tmp_path)]) == 2
    assert "no .jpg/.png images found" in capsys.readouterr().err
    assert main(["inspect", "rank", "--checkpoint", ck, "--images", str(tmp_path), "--n", "0"]) == 2
    assert "argument --n: 0: expected a whole number >= 1" in capsys.readouterr().err


def test_inspect_rank_refuses_mixed_architectures(tmp_path, tiny_coco, capsys):
    import torchvision
    ck = runs.pretrain("random", "mini", 0)
    _, meta = load_canonical(ck)
    r34 = {k: v for k, v in torchvision.models.resnet34().state_dict().items()
           if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}
    save_canonical(tmp_path / "r34.safetensors", r34, {**meta, "arch": "resnet34"})
    args = ["inspect", "rank", "--checkpoint", str(ck), "--checkpoint", str(tmp_path / "r34.safetensors"),
            "--images", str(tiny_coco / "val2017"), "--n", "2"]
    assert main(args) == 2
    assert "checkpoints of different architectures ['resnet18', 'resnet34']" in capsys.readouterr().err
