import sys
from pathlib import Path

import pytest

from app.cli import main
from app.perf.step import measure


def test_measure_reports_time_and_memory():
    r = measure("pixcontrast", steps=1, warmup=0)
    assert r["step_s"] > 0 and r["peak_mem_mib"] > 100 and r["batch"] == 32 and r["images_per_s"] > 0


def test_perf_cli_rejects_unknown_method(capsys):
    assert main(["perf", "step", "--method", "pixpr"]) == 2
    assert "did you mean 'pixpro'" in capsys.readouterr().err


def test_perf_cli_method_that_fails_is_one_line(capsys):
    """The measuring subprocess's error comes back as one line naming the method, exit 2."""
    assert main(["perf", "step", "--method", "mocov2", "--batch", "100000", "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "perf of mocov2 failed: ValueError: batch 100000: the synthetic set has only" in err, err
    assert len(err.strip().splitlines()) == 1


def test_davis_speed_reports_identical_numbers():
    from app.perf.davis import davis_speed
    r = davis_speed(n_seq=2, n_frames=5, size=(60, 90), workers=1)
    assert r["identical"] and r["reference_s"] >= 0 and r["densebench_s"] >= 0 and 0 <= r["J&F-Mean"] <= 1
    assert r["command_s"] > r["densebench_s"]  # the whole command: a fresh interpreter, imports, CSVs
    assert r["command_minor_faults"] > 0


def test_timed_counts_the_page_faults_of_the_command():
    """Writing 64 MiB of fresh memory faults in at least its 16384 pages of 4 KiB (more with a smaller
    page size; none saved by huge pages, which these anonymous 64 MiB do not get by default)."""
    from app.perf.davis import timed
    _, wall, idle = timed([sys.executable, "-c", "pass"])
    r, _, busy = timed([sys.executable, "-c", "x = b'1' * (64 << 20)"], check=True)
    assert wall > 0 and idle > 0 and busy - idle >= 0.9 * (64 << 20) // 4096, (idle, busy)


STAND_IN = """import argparse, os, sys
p = argparse.ArgumentParser()
for a in ("--task", "--set", "--davis_path", "--results_path"):
    p.add_argument(a, required=True)
a = p.parse_args()
assert a.task == "semi-supervised" and a.set == "val", a
assert os.path.isfile(os.path.join(a.davis_path, "ImageSets", "2017", "val.txt"))
if os.path.exists(os.path.join(a.results_path, "global_results-val.csv")):
    sys.exit(0)  # as the official program: CSVs beside the predictions are reused, nothing is computed
from benchmarks.davis_score import evaluate, write_csvs  # the stand-in scores with DenseBench's scorer
glob, rows = evaluate(a.davis_path, a.results_path, "val", 1)
glob["F-Decay"] += float(os.environ.get("STAND_IN_OFFSET", "0"))
write_csvs(a.results_path, "val", glob, rows)
"""


def test_davis_speed_runs_the_official_program_and_compares_its_csvs(tmp_path, monkeypatch):
    """A stand-in for a davis2017-evaluation checkout: run with the official arguments on a copy of the
    predictions; its CSVs compared with `bench davis-score`'s, and a difference reported."""
    from app.perf.davis import davis_speed
    from harness.errors import BenchError
    (tmp_path / "davis2017").mkdir()
    (tmp_path / "davis2017" / "evaluation.py").write_text("")
    (tmp_path / "evaluation_method.py").write_text(STAND_IN)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parents[2]))
    r = davis_speed(n_seq=2, n_frames=4, size=(60, 90), workers=1, official=tmp_path)
    assert r["official_csvs_identical"] is True and r["official_command_s"] > 0 and r["official_speedup"] > 0
    # both commands run 3 times, interleaved (each official run on a fresh copy), medians reported
    assert len(r["command_runs_s"]) == len(r["official_runs_s"]) == 3
    assert r["official_command_s"] == sorted(r["official_runs_s"])[1] and r["command_s"] == sorted(r["command_runs_s"])[1]
    assert r["official_minor_faults"] > 0 and r["command_minor_faults"] > 0
    monkeypatch.setenv("STAND_IN_OFFSET", "0.01")
    assert davis_speed(n_seq=2, n_frames=4, size=(60, 90), workers=1, official=tmp_path)["official_csvs_identical"] is False
    (tmp_path / "evaluation_method.py").write_text("import sys; sys.exit(3)")
    with pytest.raises(BenchError, match="the official program failed .exit 3."):
        davis_speed(n_seq=1, n_frames=3, size=(60, 90), workers=1, official=tmp_path)
    with pytest.raises(BenchError, match=r"--official .*: expected a checkout of davisvideochallenge/davis2017-evaluation"):
        davis_speed(official=tmp_path / "davis2017")


def test_perf_davis_cli_takes_sequence_and_frame_counts(capsys):
    assert main(["perf", "davis", "--sequences", "1", "--frames", "4"]) == 0
    out = capsys.readouterr().out
    assert "on 1 x 4 frames at 854x480" in out and "identical numbers: True" in out
    assert "whole `bench davis-score` command" in out


def test_perf_davis_cli_rejects_too_few_frames(capsys):
    assert main(["perf", "davis", "--frames", "2"]) == 2
    assert "--frames must be >= 3" in capsys.readouterr().err


@pytest.mark.slow
def test_measure_runs_prepare_first():
    """hiergroup's step needs its grouping (prepare: 1200 synthetic COCO + VOC images, cached)."""
    r = measure("hiergroup", steps=1, warmup=0)
    assert r["step_s"] > 0 and r["batch"] == 32


@pytest.mark.slow
def test_contention_measures_each_setting_alone_and_beside_a_busy_process():
    from app.perf.step import contention
    rows = contention("mocov2", 1, settings={"one thread": {"OMP_NUM_THREADS": "1"}})
    assert [(r["setting"], r["competitor"]) for r in rows] == [("one thread", False), ("one thread", True)]
    assert all(r["threads"] == 1 and r["step_s"] > 0 for r in rows)


def test_paper_recipes_are_measured_at_their_published_per_gpu_batch():
    from app.perf.step import per_device_batch
    from harness.registry import METHODS
    assert per_device_batch(METHODS.card("pixpro").recipe("paper")) == 128  # 1024 on 8 GPUs
    assert per_device_batch(METHODS.card("mocov2").recipe("paper")) == 32   # 256 on 8 GPUs
    assert per_device_batch(METHODS.card("mocov2").recipe("mini")) == 32    # no GPU count: the whole batch


def test_flop_count_of_a_moco_step_matches_the_hand_count():
    """MoCo v2 paper step on 2 images at 224 px: ResNet-50's forward is 4.09 GMAC (8.18 GFLOP) per
    image; the query encoder runs forward + backward (3 forwards' worth), the key encoder forward
    only: 4 x 8.18 x 2 = 65.4 GFLOP; the heads and the 65536-key logits add under 1%."""
    r = measure("mocov2", steps=1, warmup=0, recipe_name="paper", device="cpu", batch=2, flops=True)
    assert r["batch"] == 2 and r["memory_format"] == "channels_last" and r["precision"] == "fp32"
    assert 0.0640 < r["tflop_per_step"] < 0.0670, r
    assert r["tflop_s"] == pytest.approx(r["tflop_per_step"] / r["step_s"], rel=0.01)


def test_perf_on_cuda_without_a_gpu_is_one_line(capsys):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is here")
    assert main(["perf", "step", "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "--device cuda: no CUDA device here" in err and len(err.strip().splitlines()) == 1


def test_peak_matmul_rate_is_measured_flops_over_time():
    import torch
    from app.perf.step import peak_matmul_tflops
    rate = peak_matmul_tflops("cpu", torch.float32, n=256, reps=2)
    assert 1e-4 < rate < 100  # TFLOP/s of a 2-core CPU, not FLOP/s or GFLOP/s
