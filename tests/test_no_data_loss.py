"""Issue 40, data changed or lost: every case hashes the files around it before and after.

DenseBench never replaces its input, never writes over or removes a file it did not write, never
lets a name lead a path out of its root, checks data and arguments before any work, and leaves no
staging folder behind when it is terminated."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import runs
from harness.checkpoint import load_canonical
from app.cli import main
from harness.errors import BenchError
from harness.names import inside
from tests.test_bad_inputs import _forge


def _hashes(folder: Path) -> dict[str, str]:
    """Every path under `folder` -> sha256 of its bytes ('dir' for folders, 'link' for links)."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "link" if p.is_symlink() else "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _one_line_2(code: int, err: str, fragment: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("bench: ") and fragment in err, err


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A canonical checkpoint and its torchvision .pth, in a folder of their own."""
    d = tmp_path_factory.mktemp("good")
    shutil.copy(runs.pretrain("random", "mini", 0), d / "X.safetensors")
    assert main(["convert", "--to", "torchvision", str(d / "X.safetensors"), str(d / "X.pth")]) == 0
    return d


@pytest.fixture
def fresh_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("DENSEBENCH_HOME", str(home))
    return home


@pytest.mark.parametrize("argv", [
    ["convert", "--to", "torchvision", "{d}/X.safetensors", "{d}/X.safetensors"],
    ["convert", "--to", "torchvision", "{d}/X.safetensors", "{d}/./sub/../X.safetensors"],  # another spelling
    ["convert", "--to", "mmseg", "{d}/X.safetensors", "{d}/link.pth"],                        # a symlink to it
    ["convert", "--to", "detectron2", "{d}/X.safetensors", "{d}/hard.pkl"],                   # a hard link to it
    ["import", "--from", "torchvision", "{d}/X.pth", "{d}/X.pth"],
    ["import", "--from", "torchvision", "{d}/X.pth", "{d}/X.pth", "--force"],                 # --force does not help
], ids=["convert-same", "convert-spelling", "convert-symlink", "convert-hardlink", "import-same", "import-force"])
def test_output_that_is_the_input_is_refused(argv, good, tmp_path, capsys):
    d = tmp_path / "d"
    shutil.copytree(good, d)
    (d / "sub").mkdir()
    os.symlink(d / "X.safetensors", d / "link.pth")
    os.link(d / "X.safetensors", d / "hard.pkl")
    before = _hashes(d)
    code = main([a.format(d=d) for a in argv])
    _one_line_2(code, capsys.readouterr().err, "is the input file")
    assert _hashes(d) == before


def test_a_file_densebench_did_not_write_is_replaced_only_with_force(good, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    before = _hashes(tmp_path)
    code = main(["convert", "--to", "torchvision", str(good / "X.safetensors"), str(notes)])
    _one_line_2(code, capsys.readouterr().err, "exists and DenseBench did not write it")
    assert _hashes(tmp_path) == before
    # its own output is replaced without --force (the ledger), a user's file with it
    out = tmp_path / "mine.pth"
    assert main(["convert", "--to", "torchvision", str(good / "X.safetensors"), str(out)]) == 0
    assert main(["convert", "--to", "torchvision", str(good / "X.safetensors"), str(out)]) == 0
    out.write_bytes(out.read_bytes() + b"edited")  # edited by the user: no longer what DenseBench wrote
    _one_line_2(main(["convert", "--to", "torchvision", str(good / "X.safetensors"), str(out)]),
                capsys.readouterr().err, "DenseBench did not write it")
    assert main(["convert", "--to", "torchvision", str(good / "X.safetensors"), str(notes), "--force"]) == 0
    assert notes.read_bytes()[:2] == b"PK"  # a torch file now


def test_report_keeps_what_a_user_added(tmp_path, capsys):
    res, site = tmp_path / "res", tmp_path / "site"
    res.mkdir()
    assert main(["report", "--out", str(site), "--results-root", str(res)]) == 0
    assert main(["report", "--out", str(site), "--results-root", str(res)]) == 0  # its own report: replaced
    (site / "notes.txt").write_text("mine")
    (site / "mine").mkdir()
    (site / "mine" / "keep.txt").write_text("mine too")
    capsys.readouterr()
    before = _hashes(tmp_path)
    _one_line_2(main(["report", "--out", str(site), "--results-root", str(res)]), capsys.readouterr().err,
                "holds mine, which DenseBench did not write (3 such paths)")
    assert _hashes(tmp_path) == before
    empty = tmp_path / "empty"
    empty.mkdir()  # an existing empty folder is a fine --out
    assert main(["report", "--out", str(empty), "--results-root", str(res)]) == 0 and (empty / "index.html").is_file()


def test_synth_keeps_what_a_user_added(tmp_path, capsys):
    out = tmp_path / "voc"
    argv = ["data", "synth", "--layout", "voc", "--out", str(out), "--n-train", "2", "--n-val", "2"]
    assert main(argv) == 0 and main(argv) == 0  # its own set: replaced
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    before = _hashes(tmp_path)
    _one_line_2(main(argv), capsys.readouterr().err, "holds notes.txt, which DenseBench did not write")
    assert _hashes(tmp_path) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*argv[:5], str(empty), *argv[6:]]) == 0 and (empty / "JPEGImages").is_dir()


@pytest.mark.parametrize("bad", ["../../evil", "a/b", "a\0b", "a\nb", "..", "-x"])
def test_names_that_would_become_paths_are_refused_where_they_enter(bad, good, tmp_path, capsys):
    state, meta = load_canonical(good / "X.safetensors")
    ck = _forge(tmp_path / "evil.safetensors", state, {**meta, "method": bad})
    res = tmp_path / "res"
    res.mkdir()
    before = _hashes(tmp_path)
    _one_line_2(main(["run", "--checkpoint", str(ck), "--task", "davis_vos", "--results-root", str(res)]),
                capsys.readouterr().err, "metadata method")
    _one_line_2(main(["import", "--from", "torchvision", f"--method={bad}", str(good / "X.pth"), str(tmp_path / "o.st")]),
                capsys.readouterr().err, "not a valid name")
    assert _hashes(tmp_path) == before  # no run folder outside results/, no staging folder, no output


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "a/../../x", "a\0b", "a\nb", ""])
def test_inside_refuses_every_way_out(rel, tmp_path):
    with pytest.raises(BenchError):
        inside(tmp_path / "root", rel, "artefact")
    assert inside(tmp_path / "root", "a/b.png", "artefact") == tmp_path / "root" / "a" / "b.png"


def test_data_is_checked_before_any_work(fresh_home, good, tmp_path, capsys):
    empty = tmp_path / "EMPTY"
    empty.mkdir()
    _one_line_2(main(["run", "--method", "random", "--task", "voc_seg", "--scale", "paper", "--data-root", str(empty)]),
                capsys.readouterr().err, "VOC2012")
    assert not fresh_home.exists() or _hashes(fresh_home) == {}  # no checkpoint, no lock file


def test_orl_pairs_checks_its_baseline_before_stage_2(fresh_home, good, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    t0 = time.monotonic()
    _one_line_2(main(["inspect", "orl-pairs", "--checkpoint", str(good / "X.safetensors"), "--baseline", "nonsense"]),
                capsys.readouterr().err, "--baseline: expected 'random' or a canonical checkpoint")
    assert time.monotonic() - t0 < 20  # no stage-2 work (about a minute) before the refusal
    assert not fresh_home.exists() and not (tmp_path / "orl_pairs.png").exists()


def test_sigterm_during_synth_is_clean(tmp_path):
    out = tmp_path / "coco"
    p = subprocess.Popen([sys.executable, "-m", "app.cli", "data", "synth", "--layout", "coco", "--out", str(out),
                          "--n-train", "5000"], stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".coco.tmp@*/train2017/*.jpg")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert p.poll() is None, p.stderr.read()
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 143 and err == "bench: terminated (SIGTERM)\n", err
    assert list(tmp_path.iterdir()) == []  # no staging folder, no half a data set


def test_sweep_dry_run_and_status_write_nothing(fresh_home, capsys):
    for flag in ("--dry-run", "--status"):
        assert main(["sweep", "--table", "zhang_maire_t3", "--seeds", "0", flag]) == 0
        assert "trials recorded" in capsys.readouterr().out
    assert not fresh_home.exists()


def test_slurm_is_checked_before_anything_is_written(fresh_home, tmp_path, monkeypatch, capsys):
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("pretrain: {gpus_per_node: 8}\nevaluate: {gpus_per_node: 1}\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))  # no srun, no sbatch: not a SLURM host
    argv = ["sweep", "--table", "zhang_maire_t3", "--seeds", "0", "--scale", "paper", "--executor", "slurm"]
    _one_line_2(main([*argv, "--cluster", str(cluster)]), capsys.readouterr().err, "'sbatch' is not on PATH")
    _one_line_2(main(argv), capsys.readouterr().err, "--executor slurm needs --cluster FILE")
    for tool in ("sbatch", "srun"):
        (bin_dir / tool).write_text("#!/bin/sh\nexit 1\n")
        (bin_dir / tool).chmod(0o755)
    cluster.write_text("pretrain: {gpus_per_node: 8}\n")
    _one_line_2(main([*argv, "--cluster", str(cluster)]), capsys.readouterr().err, "lacks the section 'evaluate'")
    assert not fresh_home.exists()
