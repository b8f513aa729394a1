"""`bench perf official`: DenseBench's step beside an official implementation's. The official
repositories are not part of DenseBench; here a stand-in checkout (a `moco.builder.MoCo` with the
official constructor and forward signature, which calls `.cuda()` as the official one does and
records what it was given) checks the mechanics: both sides get the same tensors, the CUDA call is
stood in for, the recipe alignment is reported, and bad input is one line."""
import json
import textwrap

import pytest

from app.cli import main
from harness.errors import BenchError
from app.perf.official import compare, compare_in_subprocess

STAND_IN = textwrap.dedent('''
    import json, os
    import torch
    from torch import nn

    class MoCo(nn.Module):
        def __init__(self, base_encoder, dim=128, K=65536, m=0.999, T=0.07, mlp=False):
            super().__init__()
            self.encoder_q = base_encoder(num_classes=dim)
            self.args = [dim, K, m, T, mlp]

        def forward(self, im_q, im_k):
            with open(os.path.join(os.path.dirname(__file__), "seen.json"), "w") as f:
                json.dump({"shape": list(im_q.shape), "sums": [im_q.double().sum().item(), im_k.double().sum().item()],
                           "args": self.args}, f)
            logits = self.encoder_q(im_q)
            return logits, torch.zeros(len(logits), dtype=torch.long).cuda()  # as the official forward
''')


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    repo = tmp_path_factory.mktemp("moco_checkout")
    (repo / "moco").mkdir()
    (repo / "moco" / "__init__.py").write_text("")
    (repo / "moco" / "builder.py").write_text(STAND_IN)
    return repo


def test_both_steps_get_the_same_batch(stand_in):
    r = compare_in_subprocess("mocov2", str(stand_in), steps=1, batch=2)
    seen = json.loads((stand_in / "moco" / "seen.json").read_text())
    assert seen["shape"] == [2, 3, 224, 224] and r["size"] == [224, 224] and r["arch"] == "resnet50"
    assert seen["sums"] == pytest.approx(r["input_sums"], abs=1e-2)
    assert seen["args"] == [128, 65536, 0.999, 0.2, True]  # the paper recipe's dim, K, momentum, T; v2's MLP
    assert r["aligned"] == {"params": {"bn_splits": 1}}
    assert r["densebench_s"] > 0 and r["official_s"] > 0 and r["ratio"] == pytest.approx(r["official_s"] / r["densebench_s"], rel=0.01)


def test_bad_official_inputs_are_one_line(tmp_path, capsys):
    with pytest.raises(BenchError, match="not a folder"):
        compare("mocov2", tmp_path / "nowhere", steps=1, batch=2)
    with pytest.raises(BenchError, match=r"cannot import MoCo from moco.builder"):
        compare("mocov2", tmp_path, steps=1, batch=2)
    with pytest.raises(BenchError, match="no official-code adapter"):
        compare("hiergroup", tmp_path, steps=1, batch=2)
    assert main(["perf", "official", str(tmp_path), "--method", "hiergroup"]) == 2
    err = capsys.readouterr().err
    assert "--method hiergroup: no official adapter" in err and len(err.strip().splitlines()) == 1
