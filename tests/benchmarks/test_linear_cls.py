"""linear_cls: top-k accuracy and the step schedule on worked examples, the frozen backbone, and the
ImageNet class-folder layout's labels and bad inputs."""
import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.linear_cls import lr_at, topk_correct
from harness.data import LAYOUTS, verify, write_synthetic
from harness.errors import BenchError


def test_topk_correct_worked_example():
    logits = torch.tensor([[0.1, 0.9, 0.0],     # target 1: top-1 hit
                           [0.5, 0.3, 0.2],     # target 2: third, a top-5 hit only (3 classes)
                           [0.2, 0.7, 0.1]])    # target 0: second, a top-2 hit
    target = torch.tensor([1, 2, 0])
    assert topk_correct(logits, target, (1, 2, 5)) == [1, 2, 3]


def test_step_schedule_is_mmcvs_by_epoch():
    # lr_config step [60, 80], gamma 0.1: epochs 0-59 at 30, 60-79 at 3, 80-99 at 0.3 (0-based epochs)
    got = [lr_at(e, 30.0, (60, 80), 0.1) for e in (0, 59, 60, 79, 80, 99)]
    assert got == pytest.approx([30, 30, 3, 3, 0.3, 0.3])


def test_imagenet_labels_come_from_the_train_class_folders(tmp_path):
    root = write_synthetic("imagenet", tmp_path / "imagenet", seed=0, n_train=30, n_val=15, size=(40, 48))
    paths, labels, wnids = LAYOUTS["imagenet"].labelled(root, "val")
    assert wnids == sorted(wnids) and len(paths) == 15
    assert all(wnids[y] == p.parent.name for p, y in zip(paths, labels))
    assert verify("imagenet", root, "val") == []


def test_imagenet_bad_class_folders_are_one_line_each(tmp_path):
    root = write_synthetic("imagenet", tmp_path / "imagenet", seed=0, n_train=30, n_val=15, size=(40, 48))
    (root / "val" / "n12345678").mkdir()
    Image.new("RGB", (8, 8)).save(root / "val" / "n12345678" / "x.JPEG")
    empty = root / "val" / LAYOUTS["imagenet"].classes(root)[0]
    for f in empty.glob("*.JPEG"):
        f.unlink()
    problems = verify("imagenet", root, "val")
    assert any(p.startswith(f"{root / 'val' / 'n12345678'}: class folder absent from") for p in problems)
    assert any(p == f"{empty}: no *.JPEG image in the class folder" for p in problems)
    with pytest.raises(BenchError, match="class folder absent|no \\*.JPEG"):
        LAYOUTS["imagenet"].labelled(root, "val")


def test_an_image_that_does_not_decode_is_named(tmp_path):
    from benchmarks.linear_cls import ImageList
    bad = tmp_path / "x.JPEG"
    bad.write_bytes(b"not a jpeg")
    ds = ImageList([bad], [0], lambda im: im, {"mean": [0.5] * 3, "std": [0.5] * 3})
    with pytest.raises(BenchError, match=f"{bad}: does not decode"):
        ds[0]


def test_the_backbone_stays_frozen_and_in_eval_mode(tmp_path, monkeypatch):
    """A short mini run leaves every backbone tensor bit-identical (BN statistics included)."""
    import dataclasses

    from harness import runs
    from harness.api import RunContext
    from harness.checkpoint import open_checkpoint
    from harness.registry import TASKS
    import harness.backbone as hb
    ck = open_checkpoint(runs.pretrain("random", "mini", 0))
    built = []
    real = hb.build_resnet
    monkeypatch.setattr(hb, "build_resnet", lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    proto = TASKS.protocol("linear_cls", "imagenet_last")
    s = proto.settings("mini")
    s = dataclasses.replace(s, schedule=dataclasses.replace(s.schedule, epochs=2, steps=(1,), workers=0))
    monkeypatch.setenv("DENSEBENCH_DATA", str(tmp_path))
    root = write_synthetic("imagenet", tmp_path / "imagenet", seed=0, n_train=30, n_val=15, size=(40, 48))
    ctx = RunContext(task="linear_cls", protocol=proto, scale="mini", spec={}, checkpoint=ck, seed=0,
                     out_dir=tmp_path / "out", settings=s)
    monkeypatch.setattr(RunContext, "data", lambda self, layout, synth=None: root)
    res = TASKS.load("linear_cls").run(ctx)
    assert 0 <= res.metrics["top1"] <= 100 and res.metrics["best_epoch"] in (1, 2)
    after = built[0].state_dict()
    assert all(torch.equal(after[k].cpu(), v) for k, v in ck.state.items())  # weights and BN statistics
