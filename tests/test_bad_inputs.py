"""Bad input gets one line naming the file or argument, exit status 2, and nothing written.

One row per class of input found by trying DenseBench as an adversary would (issue 23): each row is a
`bench` command line, the fragment its one-line error must contain, and the folders that must be left
exactly as they were. A second test feeds every truncated prefix of a valid checkpoint, record and PNG
to the readers and expects a clean error every time."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from harness import runs, store
from harness.checkpoint import load_canonical, open_checkpoint, weights_sha256
from app.cli import main
from harness.data.davis import read_indexed, write_synthetic_davis
from harness.data.voc import write_synthetic_voc
from harness.errors import BenchError


def _forge(path: Path, state: dict, meta: dict | str) -> Path:
    """A safetensors file written around DenseBench's writer (so its checks are not applied)."""
    raw = meta if isinstance(meta, str) else json.dumps({**meta, "weights_sha256": weights_sha256(state)})
    save_file(state, str(path), metadata={"densebench": raw})
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_coco):
    """Every bad input of the table, made once: files under W, results root R."""
    W = tmp_path_factory.mktemp("bad")
    state, meta = load_canonical(runs.pretrain("random", "mini", 0))
    nan = {**state, "layer3.0.conv1.weight": state["layer3.0.conv1.weight"] * float("nan")}
    _forge(W / "nan.safetensors", nan, meta)
    torch.save(nan, W / "nan.pth")
    _forge(W / "shape.safetensors", {**state, "layer1.0.conv1.weight": torch.zeros(64, 64, 1, 1)}, meta)
    _forge(W / "notjson.safetensors", state, "{not json")
    _forge(W / "list.safetensors", state, "[1, 2]")
    _forge(W / "noarch.safetensors", state, {k: v for k, v in meta.items() if k != "arch"})
    shutil.copy(runs.pretrain("random", "mini", 0), W / "good.safetensors")
    (W / "afile").write_text("x")
    (W / "adir").mkdir()
    (W / "userdir").mkdir()
    (W / "userdir" / "notes.txt").write_text("a user's file")
    # segmentation data with a label out of range, a label of the wrong size, a listed file missing
    voc = write_synthetic_voc(W / "voc", n_train=2, n_val=3, size=(40, 48))
    ids = (voc / "ImageSets" / "Segmentation" / "val.txt").read_text().split()
    lab = np.array(Image.open(voc / "SegmentationClass" / f"{ids[0]}.png"))
    lab[0, 0] = 77
    Image.fromarray(lab, "L").save(voc / "SegmentationClass" / f"{ids[0]}.png")
    Image.new("L", (5, 5)).save(voc / "SegmentationClass" / f"{ids[1]}.png")
    (voc / "ImageSets" / "Segmentation" / "val.txt").write_text("\n".join(ids + ["2007_gone"]) + "\n")
    # VOC2007 (voc07_svm's trainval07): an image that does not decode, a listed id without files
    from harness.data.vocdet import write_synthetic_voc_det
    vocdet = write_synthetic_voc_det(W / "vocdet", n_train=4, n_val=2, size=(32, 40))
    tv = vocdet / "VOC2007" / "ImageSets" / "Main" / "trainval.txt"
    first = tv.read_text().split()[0]
    (vocdet / "VOC2007" / "JPEGImages" / f"{first}.jpg").write_bytes(b"not a jpeg")
    tv.write_text(tv.read_text() + "07_gone\n")
    # COCO-Stuff (cocostuff_unsup): an image that does not decode, a label id above 181, a listed id without
    # files (its image and its label: 4 problems)
    from harness.data.cocostuff import LIST_NAME, write_synthetic_cocostuff
    cs = write_synthetic_cocostuff(W / "cocostuff", n_train=2, n_val=3, size=(32, 40))
    lst = cs / "curated" / "val2017" / LIST_NAME
    vids = lst.read_text().split()
    (cs / "images" / "val2017" / f"{vids[0]}.jpg").write_bytes(b"not a jpeg")
    bad_label = cs / "annotations" / "val2017" / f"{vids[1]}.png"
    lab = np.array(Image.open(bad_label))
    lab[0, 0] = 200
    Image.fromarray(lab, "L").save(bad_label)
    lst.write_text(lst.read_text() + "000000999999\n")
    # ImageNet class folders (linear_cls): a val class absent from train, a class folder without images
    from harness.data.imagenet import write_synthetic_imagenet
    inet = write_synthetic_imagenet(W / "imagenet", n_train=30, n_val=15, size=(32, 40))
    (inet / "val" / "n12345678").mkdir()
    Image.new("RGB", (8, 8)).save(inet / "val" / "n12345678" / "x.JPEG")
    for f in sorted((inet / "val").glob("n9*/*.JPEG"))[:1]:
        for g in f.parent.glob("*.JPEG"):
            g.unlink()
    # COCO: a negative box; `images` not a list; an image without file_name
    for name, change in (("negbox", lambda d: d["annotations"][0]["bbox"].__setitem__(2, -4.0)),
                         ("imagesdict", lambda d: d.__setitem__("images", {"a": 1})),
                         ("nofilename", lambda d: d["images"][0].pop("file_name"))):
        root = W / name
        shutil.copytree(tiny_coco, root)
        ann = root / "annotations" / "instances_val2017.json"
        data = json.loads(ann.read_text())
        change(data)
        ann.write_text(json.dumps(data))
    # DAVIS predictions: one truncated PNG
    davis = write_synthetic_davis(W / "davis", n_train=1, n_val=1, n_frames=4, size=(24, 32))
    pred = W / "pred"
    for f in sorted((davis / "Annotations" / "480p").rglob("*.png")):
        (pred / f.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, pred / f.parent.name / f.name)
    victim = pred / "synth-val-000" / "00001.png"  # a scored frame of the val sequence
    victim.write_bytes(victim.read_bytes()[:40])
    # results roots: one malformed record each; one whose index.sqlite is a folder
    for name, body in (("empty", "{}"), ("list", "[]"), ("metricsstr", None), ("isdir", None)):
        d = W / f"res_{name}" / "coco_det" / "r50_fpn_4conv1fc_syncbn_1x@2" / "mini" / "run"
        d.mkdir(parents=True)
        if name == "metricsstr":
            body = json.dumps({"record_version": 2, "method": "m", "task": "coco_det", "protocol": "p",
                               "protocol_version": 2, "protocol_full": "coco_det/p@2", "scale": "mini", "seed": 0,
                               "metrics": "high", "checkpoint_sha256": "ab" * 32, "created": "now"})
        if name == "isdir":
            (d / "record.json").mkdir()
        else:
            (d / "record.json").write_text(body)
    (W / "res_index" / "index.sqlite").mkdir(parents=True)
    return W


# (id, argv with {W} for the fixture folder, fragment of the one-line error, extra environment)
ROWS = [
    ("nan-convert", ["convert", "--to", "detectron2", "{W}/nan.safetensors", "{W}/out/x.pkl"], "hold NaN or Inf values: layer3.0.conv1.weight", {}),
    ("nan-import", ["import", "--from", "torchvision", "{W}/nan.pth", "{W}/out/x.safetensors"], "hold NaN or Inf values", {}),
    ("nan-run", ["run", "--checkpoint", "{W}/nan.safetensors", "--task", "davis_vos", "--results-root", "{W}/res"], "hold NaN or Inf values", {}),
    ("shape-convert", ["convert", "--to", "mmseg", "{W}/shape.safetensors", "{W}/out/x.pth"], "wrong shape for resnet18: layer1.0.conv1.weight", {}),
    ("protocol-version", ["run", "--method", "random", "--task", "davis_vos", "--protocol", "videowalk@7", "--results-root", "{W}/res"], "version 7 is not the current one", {}),
    ("label-range", ["data", "verify", "--layout", "voc", "--root", "{W}/voc", "--split", "val"], "problems in {W}/voc", {}),
    ("seed-negative", ["run", "--method", "random", "--task", "coco_det", "--seed", "-1"], "argument --seed: -1 is out of range (expected 0 <= seed < 2^31)", {}),
    ("seed-huge", ["run", "--method", "random", "--task", "coco_det", "--pretrain-seed", "2147483648"], "2147483648 is out of range", {}),
    ("synth-count", ["data", "synth", "--layout", "coco", "--out", "{W}/out/s", "--n-train", "-5"], "argument --n-train: -5: expected a whole number >= 1", {}),
    ("davis-workers", ["davis-score", "--davis-root", "{W}/davis", "--results", "{W}/pred", "--workers", "-1"], "argument --workers: -1: expected", {}),
    ("unknown-scale", ["run", "--checkpoint", "{W}/good.safetensors", "--task", "davis_vos", "--scale", "mimi"], "argument --scale: invalid choice: 'mimi'", {}),
    ("vocdet-bad-image-and-list", ["data", "verify", "--layout", "voc_det", "--root", "{W}/vocdet", "--split", "trainval07"], "2 problems in {W}/vocdet", {}),
    ("cocostuff-bad-image-label-list", ["data", "verify", "--layout", "cocostuff", "--root", "{W}/cocostuff", "--split", "val"], "4 problems in {W}/cocostuff", {}),
    ("imagenet-class-folders", ["data", "verify", "--layout", "imagenet", "--root", "{W}/imagenet", "--split", "val"], "2 problems in {W}/imagenet", {}),
    ("coco-negative-box", ["data", "verify", "--layout", "coco", "--root", "{W}/negbox", "--split", "val"], "1 problems in {W}/negbox", {}),
    ("coco-images-dict", ["data", "verify", "--layout", "coco", "--root", "{W}/imagesdict", "--split", "val"], "1 problems in {W}/imagesdict", {}),
    ("coco-no-file-name", ["data", "verify", "--layout", "coco", "--root", "{W}/nofilename", "--split", "val"], "1 problems in {W}/nofilename", {}),
    ("meta-not-json", ["convert", "--to", "torchvision", "{W}/notjson.safetensors", "{W}/out/x.pth"], "DenseBench metadata is not valid JSON", {}),
    ("meta-list", ["convert", "--to", "torchvision", "{W}/list.safetensors", "{W}/out/x.pth"], "DenseBench metadata is not a JSON object (got list)", {}),
    ("meta-no-arch", ["convert", "--to", "torchvision", "{W}/noarch.safetensors", "{W}/out/x.pth"], "DenseBench metadata lacks arch", {}),
    ("davis-truncated-png", ["davis-score", "--davis-root", "{W}/davis", "--results", "{W}/pred"], "00001.png: not a readable PNG", {}),
    ("out-parent-is-file", ["convert", "--to", "detectron2", "{W}/good.safetensors", "{W}/afile/x.pkl"], "a parent of it is a file", {}),
    ("out-is-dir", ["convert", "--to", "detectron2", "{W}/good.safetensors", "{W}/adir"], "adir: is a folder", {}),
    ("out-unwritable", ["convert", "--to", "detectron2", "{W}/good.safetensors", "/proc/densebench-test.pkl"], "densebench-test.pkl: cannot write", {}),
    ("home-is-file", ["run", "--method", "random", "--task", "davis_vos"], "DENSEBENCH_HOME {W}/afile: is a file", {"DENSEBENCH_HOME": "{W}/afile"}),
    ("index-is-dir", ["results", "--results-root", "{W}/res_index"], "index.sqlite: is a folder", {}),
    ("record-empty", ["leaderboard", "--task", "coco_det", "--results-root", "{W}/res_empty"], "record.json: corrupt result record ('method' is missing", {}),
    ("record-list", ["leaderboard", "--task", "coco_det", "--results-root", "{W}/res_list"], "record.json: corrupt result record (a JSON list", {}),
    ("record-metrics-str", ["leaderboard", "--task", "coco_det", "--results-root", "{W}/res_metricsstr"], "'metrics' is a str, expected a dict", {}),
    ("record-is-dir", ["leaderboard", "--task", "coco_det", "--results-root", "{W}/res_isdir"], "record.json: is a folder", {}),
    ("synth-out-dot", ["data", "synth", "--layout", "voc", "--out", "."], "is not a DenseBench synthetic data set", {}),
]


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): (p.stat().st_size if p.is_file() else -1) for p in folder.rglob("*")}


@pytest.mark.parametrize("name,argv,fragment,env", ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_is_one_line_exit_2_nothing_written(name, argv, fragment, env, world, capsys, monkeypatch):
    W = str(world)
    for k, v in env.items():
        monkeypatch.setenv(k, v.format(W=W))
    monkeypatch.chdir(world / "userdir")  # `--out .`: a folder DenseBench did not make must survive
    before = _snapshot(world)
    code = main([a.format(W=W) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("bench: ") and fragment.format(W=W) in err, err
    assert _snapshot(world) == before  # nothing written, nothing half-written, nothing deleted


def test_results_skips_and_reports_malformed_records(world, capsys):
    root = world / "res_mixed"
    shutil.copytree(world / "res_empty", root)
    assert main(["results", "--results-root", str(root)]) == 0
    cap = capsys.readouterr()
    assert "0 runs indexed, 1 malformed records skipped" in cap.out and "skipped " in cap.err and "corrupt" in cap.err


def test_broken_pipe_is_quiet(tmp_path):
    r = subprocess.run(f"{sys.executable} -m app.cli ls | head -1", shell=True, capture_output=True, text=True)
    assert r.returncode == 0 and "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders: not testable as root")
def test_read_only_output_folder(world, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    assert main(["convert", "--to", "detectron2", str(world / "good.safetensors"), str(ro / "x.pkl")]) == 2
    assert "cannot write" in capsys.readouterr().err and not list(ro.iterdir())


def _prefixes(data: bytes) -> list[int]:
    """Cut points: the first bytes one by one, then every 1/97th, then the last bytes."""
    n = len(data)
    return sorted({*range(0, min(n, 24)), *range(0, n, max(n // 97, 1)), *range(max(n - 8, 0), n)})


def test_truncated_prefixes_give_clean_errors(world, tmp_path):
    """Every prefix of a valid checkpoint, record and PNG: a BenchError from the reader, never another
    exception (and never a silent success)."""
    ck = (world / "good.safetensors").read_bytes()
    for cut in _prefixes(ck):
        (tmp_path / "c.safetensors").write_bytes(ck[:cut])
        with pytest.raises(BenchError):
            open_checkpoint(tmp_path / "c.safetensors")
    rec = json.dumps({"record_version": 2, "method": "m", "task": "t", "protocol": "p", "protocol_version": 1,
                      "protocol_full": "t/p@1", "scale": "mini", "seed": 0, "metrics": {"a": 1.0},
                      "checkpoint_sha256": "ab" * 32, "created": "now"}).encode()
    path = tmp_path / "record.json"
    for cut in _prefixes(rec):
        path.write_bytes(rec[:cut])
        with pytest.raises(BenchError):
            store.read_record(path)
    png = sorted((world / "davis" / "Annotations").rglob("*.png"))[0].read_bytes()
    for cut in _prefixes(png):
        (tmp_path / "p.png").write_bytes(png[:cut])
        with pytest.raises(BenchError):
            read_indexed(tmp_path / "p.png")
