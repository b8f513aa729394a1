"""Issue 40's general rules, walked command by command: every `bench` command (the parser's own list,
plugins' commands included: a new command without rows here fails) refuses bad arguments before any
work, with one line and exit status 2, and writes nothing: not in a fresh DENSEBENCH_HOME, not in the
working folder, not beside its inputs. Rows cover ranges and types, names, files that are not what
they claim, paths that should exist, flags that cannot go together, and protocol versions."""
from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import pytest

from harness import runs
from app.cli import main, parser

# (command, argv with {W} for the fixture folder and {G} for a good checkpoint, fragment of the error)
ROWS = [
    ("ls", ["ls", "--bogus"], "unrecognized arguments: --bogus"),
    ("run", ["run", "--checkpoint", "{W}/absent.safetensors", "--task", "davis_vos"], "no such checkpoint file"),
    ("run", ["run", "--method", "random", "--task", "davis_vos", "--seed", "0", "--seeds", "0-1"], "not allowed with argument --seed"),
    ("run", ["run", "--method", "random", "--task", "davis_vos", "--protocol", "videowalk@0"], "version 0 is not the current one"),
    ("run", ["run", "--method", "random", "--task", "voc_seg", "--scale", "paper", "--data-root", "{W}/empty"], "VOC2012"),
    ("run", ["run", "--checkpoint", "{W}/text.png", "--task", "davis_vos"], "not a safetensors file"),
    ("pretrain", ["pretrain", "--method", "nonexist"], "unknown method 'nonexist'"),
    ("pretrain", ["pretrain", "--method", "random", "--seed", "-1"], "out of range"),
    ("convert", ["convert", "--to", "mmseg", "{W}/absent.safetensors", "{W}/o.pth"], "no such checkpoint file"),
    ("convert", ["convert", "--to", "mmseg", "{G}", "{G}"], "is the input file"),
    ("import", ["import", "--from", "torchvision", "{W}/absent.pth", "{W}/o.safetensors"], "no such file"),
    ("import", ["import", "--from", "torchvision", "--method", "a/b", "{W}/text.png", "{W}/o.safetensors"], "not a valid name"),
    ("data synth", ["data", "synth", "--layout", "voc", "--out", "{W}/s", "--n-train", "0"], "expected a whole number >= 1"),
    ("data synth", ["data", "synth", "--layout", "klingon", "--out", "{W}/s"], "has no synthetic generator (expected one of coco"),
    ("data synth", ["data", "synth", "--layout", "cityscapes", "--world", "2", "--out", "{W}/s"], "world 2 is written for coco, voc only"),
    ("data synth", ["data", "synth", "--layout", "voc", "--world", "3", "--out", "{W}/s"], "invalid choice: 3"),
    ("data verify", ["data", "verify", "--layout", "voc", "--root", "{W}/absent"], "problems in"),
    ("results", ["results", "--results-root", "{W}/absent"], "no such folder"),
    ("leaderboard", ["leaderboard", "--task", "coco_det", "--protocol", "voc_seg/fcn_r50_d8_512_20k@2"], "belongs to task 'voc_seg'"),
    ("leaderboard", ["leaderboard", "--task", "coco_det", "--results-root", "{W}/absent"], "no such folder"),
    ("perf step", ["perf", "step", "--steps", "0"], "expected a whole number >= 1"),
    ("perf step", ["perf", "step", "--method", "pixpr"], "did you mean 'pixpro'"),
    ("perf contention", ["perf", "contention", "--method", "nonexist"], "unknown method 'nonexist'"),
    ("perf official", ["perf", "official", "{W}/absent", "--method", "hiergroup"], "no official adapter"),
    ("perf official", ["perf", "official", "{W}/absent", "--method", "pixpro"], "absent: not a folder (expected a checkout of pixpro's official repository)"),
    ("perf davis", ["perf", "davis", "--official", "{W}/absent"], "expected a checkout of davisvideochallenge"),
    ("perf davis", ["perf", "davis", "--frames", "2"], "--frames must be >= 3"),
    ("perf coco-eval", ["perf", "coco-eval", "--images", "0"], "expected a whole number >= 1"),
    ("inspect rank", ["inspect", "rank", "--checkpoint", "{W}/absent.safetensors"], "no such checkpoint file"),
    ("inspect rank", ["inspect", "rank", "--checkpoint", "{G}", "--images", "{W}/absent"], "not a directory"),
    ("inspect embedding", ["inspect", "embedding", "--checkpoint", "{G}", "--image", "{W}/text.png", "--out", "{W}/e.png"], "no exported embedding"),
    ("inspect orl-pairs", ["inspect", "orl-pairs", "--checkpoint", "{G}", "--baseline", "nonsense", "--out", "{W}/p.png"], "--baseline"),
    ("inspect slots", ["inspect", "slots", "--checkpoint", "{G}", "--image", "{W}/text.png", "--out", "{W}/s.png"], "slot inspection needs a slotcon one"),
    ("inspect ucm", ["inspect", "ucm", "--image", "{W}/text.png", "--out", "{W}/u.png"], "cannot read it as an image"),
    ("inspect ucm", ["inspect", "ucm", "--image", "{W}/text.png", "--out", "{W}/text.png"], "is the input file"),
    ("doctor", ["doctor", "--data-root", "{W}/absent"], "no such folder"),
    ("protocol show", ["protocol", "show", "voc_seg/fcn_r50_d8_512_20k@7"], "version 7 is not the current one"),
    ("table", ["table", "nonexist"], "unknown paper table 'nonexist'"),
    ("table", ["table", "pixpro_t1", "--results-root", "{W}/absent"], "no such folder"),
    ("compare", ["compare", "pixpro", "mocov2"], "one of the arguments --table --task is required"),
    ("compare", ["compare", "pixpro", "mocov2", "--table", "pixpro_t1", "--results-root", "{W}/absent"], "no such folder"),
    ("compare", ["compare", "pixpro", "mocov2", "--table", "pixpro_t1", "--task", "voc_seg"], "not allowed with argument --table"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--jobs", "0"], "expected a whole number >= 1"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--seeds", "3-1"], "runs backwards"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--cluster", "{W}/text.png"], "applies to the submitit executors"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--verify", "0"], "expected a whole number >= 1"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--verify", "--status"], "--verify runs here"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--label", "x"], "--label: only with --checkpoint"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--recipe", "mini"], "--recipe: only with --method"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--method", "random", "--checkpoint", "{G}"], "not allowed with argument --method"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--method", "random", "--executor", "slurm"], "a row of your own runs here"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--checkpoint", "{W}/absent.safetensors"], "no such checkpoint file"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--checkpoint", "{G}", "--label", "other"], "names itself"),
    ("sweep", ["sweep", "--table", "pixpro_t1", "--method", "nonexist"], "unknown method 'nonexist'"),
    ("ship", ["ship", "--table", "nonexist"], "unknown"),
    ("ship", ["ship", "--table", "pixpro_t1", "--results-root", "{W}/absent"], "no such folder"),
    ("docs", ["docs", "--bogus"], "unrecognized arguments: --bogus"),
    ("report", ["report", "--images", "{W}/text.png", "--out", "{W}/site"], "not a PNG file"),
    ("report", ["report", "--results-root", "{W}/absent", "--out", "{W}/site"], "no such folder"),
    ("davis-score", ["davis-score", "--davis-root", "{W}/absent", "--results", "{W}/absent"], "no such results directory"),
]


def _commands(p: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[str]:
    out = []
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sp in a.choices.items():
                nested = _commands(sp, (*prefix, name))
                out += nested or [" ".join((*prefix, name))]
    return out


def test_every_command_has_rows():
    assert sorted(set(_commands(parser()))) == sorted({r[0] for r in ROWS})


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, Path]:
    W = tmp_path_factory.mktemp("rules")
    (W / "empty").mkdir()
    (W / "text.png").write_text("not a picture\n")  # a file that is not what its name claims
    G = W / "good.safetensors"
    shutil.copy(runs.pretrain("random", "mini", 0), G)
    return W, G


@pytest.mark.parametrize("command,argv,fragment", ROWS, ids=[f"{r[0]}:{i}" for i, r in enumerate(ROWS)])
def test_bad_arguments_are_refused_before_any_work(command, argv, fragment, world, tmp_path, monkeypatch, capsys):
    W, G = world
    home = tmp_path / "home"
    monkeypatch.setenv("DENSEBENCH_HOME", str(home))
    monkeypatch.delenv("DENSEBENCH_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    before = _hashes(W)
    code = main([a.format(W=W, G=G) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("bench: ") and fragment in err, err
    assert _hashes(W) == before and not home.exists() and sorted(p.name for p in tmp_path.iterdir()) == []
