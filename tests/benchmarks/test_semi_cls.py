"""semi_cls: the label subsets (seeded class-balanced draw, published list), the head's lr multiplier,
the grid with the best setting reported, and the protocol against ORL's configs (tests/fidelity)."""
import dataclasses

import numpy as np
import pytest
import torch

from benchmarks.semi_cls import SemiCls, label_subset, listed_subset
from harness.errors import BenchError


def test_label_subset_is_class_balanced_seeded_and_never_empty():
    labels = [0] * 50 + [1] * 20 + [2] * 3
    got = label_subset(labels, 0.1, seed=0)
    counts = np.bincount(np.asarray(labels)[got], minlength=3)
    assert list(counts) == [5, 2, 1]                 # round(5.0), round(2.0), at least 1 of 3
    assert got == label_subset(labels, 0.1, seed=0) != label_subset(labels, 0.1, seed=1)


def test_published_list_names_train_images(tmp_path):
    root = tmp_path / "train"
    paths = [root / "n01" / "n01_1.JPEG", root / "n01" / "n01_2.JPEG", root / "n02" / "n02_7.JPEG"]
    lst = tmp_path / "list.txt"
    lst.write_text("n02/n02_7.JPEG 1\nn01_1.JPEG\n\n")   # OpenSelfSup's <wnid>/<file> <label>, or a bare name
    assert listed_subset(lst, root, paths) == [0, 2]
    lst.write_text("n01/n01_1.JPEG 0\nn03/n03_9.JPEG 2\n")
    with pytest.raises(BenchError, match=f"{lst}:2: n03/n03_9.JPEG is not an image of"):
        listed_subset(lst, root, paths)


def test_head_lr_multiplier_and_grid_choice(monkeypatch):
    """The optimiser gets the backbone at lr and the head at lr x mult; the reported numbers are the
    best setting's (the grid's first on ties)."""
    seen = []
    real_sgd = torch.optim.SGD

    def spy(groups, **kw):
        seen.append([g["lr"] for g in groups])
        return real_sgd(groups, **kw)
    monkeypatch.setattr(torch.optim, "SGD", spy)
    from harness import runs
    from harness.checkpoint import open_checkpoint
    from harness.registry import TASKS
    ck = open_checkpoint(runs.pretrain("random", "mini", 0))
    s = TASKS.protocol("semi_cls", "imagenet_1pct").settings("mini")
    s = dataclasses.replace(s, schedule=dataclasses.replace(s.schedule, epochs=1, steps=(), workers=0),
                            grid=dataclasses.replace(s.grid, lr=(0.01,), head_lr_mult=(1.0, 100.0)))
    x = torch.zeros(4, 3, 32, 32)
    y = torch.tensor([0, 1, 0, 1])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=2,
                                         generator=torch.Generator(), shuffle=True)
    top1, top5 = SemiCls()._finetune(ck, s, 2, 0.01, 100.0, loader, loader, 0, torch.device("cpu"))
    assert seen[-1] == [0.01, pytest.approx(1.0)] and 0 <= top1 <= top5 <= 100


def test_every_grid_setting_runs_and_the_best_top1_is_reported(tmp_path, monkeypatch):
    from harness import runs
    from harness.api import RunContext
    from harness.checkpoint import open_checkpoint
    from harness.data import write_synthetic
    from harness.registry import TASKS
    scores = {(0.001, 1.0): (30.0, 90.0), (0.001, 10.0): (41.0, 80.0), (0.01, 1.0): (41.0, 99.0), (0.01, 10.0): (12.0, 50.0)}
    monkeypatch.setattr(SemiCls, "_finetune", lambda self, ck, s, n, lr, mult, *a: scores[(lr, mult)])
    root = write_synthetic("imagenet", tmp_path / "imagenet", seed=0, n_train=30, n_val=15, size=(40, 48))
    monkeypatch.setattr(RunContext, "data", lambda self, layout, synth=None: root)
    proto = TASKS.protocol("semi_cls", "imagenet_10pct")
    s = proto.settings("mini")
    s = dataclasses.replace(s, grid=dataclasses.replace(s.grid, lr=(0.001, 0.01), head_lr_mult=(1.0, 10.0)))
    ctx = RunContext(task="semi_cls", protocol=proto, scale="mini", spec={}, seed=0, out_dir=tmp_path / "o",
                     checkpoint=open_checkpoint(runs.pretrain("random", "mini", 0)), settings=s)
    res = SemiCls().run(ctx)
    assert res.metrics == {"top1": 41.0, "top5": 80.0}          # the first of the two 41.0s, in grid order
    assert len(res.notes["grid"]) == 4 and "lr 0.001, head lr x 10" in res.notes["chosen"]
    assert res.notes["labels"].startswith("5 of 30 train images: a class-balanced draw of 0.1")  # 5 classes, >= 1 each
