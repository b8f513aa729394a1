import pytest
from PIL import Image

from harness import runs
from harness.checkpoint import heads_path
from app.cli import main
from harness.data import dataset_root, pretrain_files


def _tiny_slotcon():
    return runs.pretrain("slotcon", "mini", 0, progress=False,
                         overrides={"params": {"crop": 64}, "train": {"epochs": 1, "workers": 0}})


def test_inspect_slots_writes_overlay_and_counts(tmp_path, capsys):
    ck = _tiny_slotcon()
    assert heads_path(ck).is_file()
    images = [str(p) for p in pretrain_files("coco", dataset_root("coco", "mini", None, {}), "train")[:2]]
    out = tmp_path / "slots.png"
    assert main(["inspect", "slots", "--checkpoint", str(ck), "--image", images[0], "--image", images[1],
                 "--out", str(out), "--size", "128"]) == 0
    text = capsys.readouterr().out
    counts = [int(line.split(": ")[1].split()[0]) for line in text.splitlines() if line.endswith("active slots")]
    assert len(counts) == 2 and all(1 <= c <= 16 for c in counts)  # 4x4 cells at 128 px: at most 16 slots
    with Image.open(out) as im, Image.open(images[0]) as a, Image.open(images[1]) as b:
        assert im.size == (a.width + b.width, max(a.height, b.height))


def test_inspect_refuses_other_methods_and_missing_heads(tmp_path, capsys):
    ck = runs.pretrain("random", "mini", 0)
    img = tmp_path / "x.png"
    Image.new("RGB", (32, 32)).save(img)
    assert main(["inspect", "slots", "--checkpoint", str(ck), "--image", str(img), "--out", str(tmp_path / "o.png")]) == 2
    assert "slot inspection needs a slotcon one" in capsys.readouterr().err
    sl = _tiny_slotcon()
    copy = tmp_path / "copy.safetensors"
    copy.write_bytes(sl.read_bytes())
    assert main(["inspect", "slots", "--checkpoint", str(copy), "--image", str(img), "--out", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert "copy.heads.safetensors: no heads file" in err and not (tmp_path / "o.png").exists()
