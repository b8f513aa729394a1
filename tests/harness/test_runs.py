"""Integration: pre-train -> canonical checkpoint -> Detectron2 -> record, at tiny sizes (quick loop)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness import runs, store
from harness.checkpoint import expected_keys, load_canonical
from harness.errors import BenchError

def tiny_pretrain(method: str) -> dict:
    """Overrides that shrink a method's mini pre-training to one epoch at 64 px (18 iterations)."""
    params = runs.METHODS.card(method).recipe("mini").params
    return {"params": {"crop": 64, **({"K": 64} if "K" in params else {})}, "train": {"epochs": 1, "workers": 0}}


TINY_D2 = {"detectron2": {"SOLVER": {"MAX_ITER": 2, "STEPS": [1], "WARMUP_ITERS": 1},
                          "TEST": {"PRECISE_BN": {"NUM_ITER": 1}}}}


def test_pretrain_exports_query_encoder_and_caches():
    tiny = {"params": {"K": 64, "crop": 32}, "train": {"epochs": 1, "workers": 0}}
    ck = runs.pretrain("mocov2", "mini", 0, progress=False, overrides=tiny)
    state, meta = load_canonical(ck)
    assert meta["method"] == "mocov2" and meta["encoder"] == "online" and meta["arch"] == "resnet18"
    assert meta["train_summary"]["iters"] == 18 and meta["config"]["params"]["K"] == 64
    assert meta["recipe"] == "mini" and meta["recipe_version"] == 2 and meta["scale"] == "mini"
    mtime = ck.stat().st_mtime_ns
    assert runs.pretrain("mocov2", "mini", 0, progress=False, overrides=tiny) == ck  # cached: same config hash
    assert ck.stat().st_mtime_ns == mtime
    assert runs.pretrain("mocov2", "mini", 0, progress=False, overrides={**tiny, "params": {"K": 32, "crop": 32}}) != ck


def test_a_channels_last_pretraining_ends_in_the_same_canonical_checkpoint_format():
    """The `paper` recipes train in channels_last: the run must get through its final save (it once
    failed there, on the 1x1 convs' NHWC strides, after the whole pre-training)."""
    tiny = {"params": {"K": 64, "crop": 32}, "train": {"epochs": 1, "workers": 0, "memory_format": "channels_last"}}
    ck = runs.pretrain("mocov2", "mini", 0, progress=False, overrides=tiny)
    state, meta = load_canonical(ck)  # checks the weights against weights_sha256
    assert meta["config"]["train"]["memory_format"] == "channels_last" and meta["train_summary"]["iters"] == 18
    assert all(t.is_contiguous() and (t.dim() < 4 or t.stride(-1) == 1) for t in state.values())


def test_random_reference_through_detectron2(tmp_path):
    ck = runs.pretrain("random", "mini", 0)
    rec = runs.evaluate(ck, "coco_det", None, "mini", seed=1, results_root=tmp_path, overrides=TINY_D2)
    assert rec["protocol_full"] == "coco_det/r50_fpn_4conv1fc_syncbn_1x@3+custom" and rec["overrides"] == TINY_D2
    assert {"bbox/AP", "bbox/AP50", "bbox/AP75", "segm/AP", "segm/AP50", "segm/AP75"} <= set(rec["metrics"])
    n = len(expected_keys("resnet18"))  # every backbone tensor, BN statistics included
    assert rec["notes"]["conversion"].startswith(f"{n} tensors converted, 0 dropped")
    assert rec["seed"] == 1 and rec["method"] == "random"
    assert [r["_path"] for r in store.iter_records(tmp_path)] and (tmp_path / "coco_det").is_dir()


def test_profile_mismatch_refused(tmp_path):
    ck = runs.pretrain("random", "mini", 0)
    with pytest.raises(BenchError, match="may not be mixed with scale 'paper'"):
        runs.evaluate(ck, "coco_det", None, "paper", results_root=tmp_path)


def test_arch_mismatch_refused(tmp_path):
    """A ResNet-18 checkpoint cannot run a ResNet-50 config: error before any training."""
    ck = runs.pretrain("random", "mini", 0)
    with pytest.raises(BenchError, match="resnet18 backbone cannot run protocol"):
        runs.evaluate(ck, "coco_det", None, "mini", results_root=tmp_path,
                      overrides={"detectron2": {"MODEL": {"RESNETS": {"DEPTH": 50, "RES2_OUT_CHANNELS": 256}}}})


@pytest.mark.slow
def test_orl_runs_its_three_stages_and_feeds_coco_det(tmp_path):
    """ORL mini (one epoch per training stage here): byol stage 1 -> stage 2 on the 600 synthetic
    images -> stage 3 -> canonical checkpoint -> Detectron2 Mask R-CNN."""
    tiny = tiny_pretrain("orl")
    ck = runs.pretrain("orl", "mini", 0, progress=False, overrides=tiny, stage_overrides={"stage1": tiny_pretrain("byol")})
    state, meta = load_canonical(ck)
    stage1 = runs.pretrain("byol", "mini", 0, progress=False, overrides=tiny_pretrain("byol"))  # cached, not retrained
    assert meta["after"]["stage1"] == {"checkpoint_key": load_canonical(stage1)[1]["config_hash"], "recipe": "byol/mini"}
    counts = meta["prepare_summary"]["stage2"]
    assert counts["images"] == 600 and counts["pairs"] >= 600 * 10 and (ck.parent / "correspondence.json").exists()
    assert meta["train_summary"]["iters"] == 18 and set(state) == set(expected_keys("resnet18"))
    rec = runs.evaluate(ck, "coco_det", None, "mini", results_root=tmp_path, overrides=TINY_D2)
    assert rec["method"] == "orl" and rec["notes"]["conversion"].startswith(f"{len(state)} tensors converted, 0 dropped")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["pixpro", "pixcontrast", "densecl", "byol", "slotcon"])
def test_each_method_pretrains_and_feeds_coco_det(method, tmp_path):
    """One mini pre-training per method (one epoch here) -> canonical checkpoint -> Detectron2 Mask R-CNN."""
    ck = runs.pretrain(method, "mini", 0, progress=False, overrides=tiny_pretrain(method))
    state, meta = load_canonical(ck)
    assert meta["method"] == method and meta["encoder"] == ("ema" if method == "slotcon" else "online") and set(state) == set(expected_keys("resnet18"))
    assert meta["train_summary"]["iters"] == 18 and all(torch.isfinite(v).all() for v in state.values())
    rec = runs.evaluate(ck, "coco_det", None, "mini", results_root=tmp_path, overrides=TINY_D2)
    assert rec["method"] == method and rec["notes"]["conversion"].startswith(f"{len(state)} tensors converted, 0 dropped")
    assert all(rec["metrics"][k] is None or rec["metrics"][k] >= 0 for k in ("bbox/AP", "segm/AP"))


def test_coco_det_fine_tune_is_determined_by_its_seed(tmp_path):
    """Same seed -> bit-identical fine-tuned weights; another seed -> different ones (sampler, head init)."""
    ck = runs.pretrain("random", "mini", 0)
    final = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        rec = runs.evaluate(ck, "coco_det", None, "mini", seed=seed, results_root=tmp_path / name, overrides=TINY_D2)
        assert rec["seed"] == seed
        path = next((tmp_path / name).rglob("model_final.pth"))
        final[name] = torch.load(path, map_location="cpu", weights_only=True)["model"]
    assert final["a"].keys() == final["b"].keys()
    assert all(torch.equal(final["a"][k], final["b"][k]) for k in final["a"])
    assert any(not torch.equal(final["a"][k], final["c"][k]) for k in final["a"])


def test_a_failed_run_leaves_no_folder_behind(tmp_path):
    """The run is staged and moved into place with its record: a run that fails inside the task (here
    a protocol override the schema accepts but the network cannot build: output stride 3) leaves neither a
    run nor a staging folder; an override the schema refuses (a stage that does not exist) is refused
    before any work."""
    ck = runs.pretrain("random", "mini", 0)
    tiny = {"dataset": {"synth": {"n_train": 1, "n_val": 1, "n_frames": 3}}}
    with pytest.raises(BenchError, match="features: output stride 3 is not possible for layer3"):
        runs.evaluate(ck, "davis_vos", None, "mini", results_root=tmp_path,
                      overrides={"features": {"output_stride": 3}, **tiny})
    assert [p for p in tmp_path.rglob("*") if p.name != store.STAGING] == []
    with pytest.raises(BenchError, match=r"videowalk.yaml: mini \(paper updated by mini\) \+ overrides\.features\.stage"):
        runs.evaluate(ck, "davis_vos", None, "mini", results_root=tmp_path / "b",
                      overrides={"features": {"stage": "layer9"}, **tiny})
    assert not (tmp_path / "b").exists()


def test_concurrent_pretrainings_of_one_entry_train_once(tmp_path):
    """Three processes pre-training the same recipe into one home: one trains, the others wait for its
    lock and reuse its checkpoint (one TensorBoard log, one checkpoint path)."""
    import os
    code = ("from harness import runs; print(runs.pretrain('mocov2', 'mini', 0, progress=False, overrides="
            "{'params': {'K': 64, 'crop': 32}, 'train': {'epochs': 1, 'workers': 0}}))")
    env = {**os.environ, "DENSEBENCH_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    paths = {o[0].strip().splitlines()[-1] for o in outs}
    assert len(paths) == 1
    entry = Path(paths.pop()).parent
    assert len(list((entry / "train" / "tb").iterdir())) == 1  # one trainer wrote a log


def test_staging_of_a_killed_run_is_swept_by_the_next(tmp_path):
    """kill -9 cannot be caught: the staged folder of the killed run is removed by the next run on this
    host (its pid is gone); another host's staging folder, or a live process's, is left alone."""
    import socket
    staging = tmp_path / store.STAGING
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    killed = staging / f"davis_vos-random-x-s0-t-{dead}@{socket.gethostname()}@{dead}"
    other = staging / f"davis_vos-random-x-s0-t-{dead}@another-node@{dead}"
    live = staging / f"davis_vos-random-x-s0-t-1@{socket.gethostname()}@{os.getpid()}"
    for d in (killed, other, live):
        (d / "predictions").mkdir(parents=True)
    store.sweep_staging(tmp_path)
    assert not killed.exists() and other.exists() and live.exists()


def test_seeds_run_one_trial_each_and_skip_recorded_ones(tmp_path, monkeypatch, capsys):
    """`bench run --seeds`: trials already recorded (same checkpoint file, protocol version, scale and
    seed) are reused, the others run; the summary is mean +- sample std over the trials. The task's
    run is replaced by a counter here: the orchestration, not a framework, is under test."""
    from harness.api import Task, TaskResult
    from app.cli import main
    calls = []

    class Counting(Task):
        def run(self, ctx):
            calls.append(ctx.seed)
            return TaskResult({"J&F-Mean": 10.0 + ctx.seed, "J-Mean": 1.0, "F-Mean": 2.0}, "cfg: 1")

    real_load = runs.TASKS.load

    def load(name):
        obj = real_load(name)
        stub = Counting()
        stub.name, stub.card = obj.name, obj.card
        return stub

    monkeypatch.setattr(runs.TASKS, "load", load)
    res = str(tmp_path / "res")
    assert main(["run", "--method", "random", "--task", "davis_vos", "--seeds", "0-1", "--results-root", res]) == 0
    assert calls == [0, 1]
    assert main(["run", "--method", "random", "--task", "davis_vos", "--seeds", "0-2", "--results-root", res]) == 0
    assert calls == [0, 1, 2]  # seeds 0 and 1 were recorded: only 2 ran
    out = capsys.readouterr().out
    assert "seed 1: J&F-Mean 11.0" in out and "(recorded before: not run again)" in out
    assert "3 trials (seeds 0, 1, 2): J&F-Mean 11.00 +- 1.00" in out
    assert main(["run", "--method", "random", "--task", "davis_vos", "--seed", "1", "--results-root", res]) == 0
    assert calls == [0, 1, 2, 1]  # one --seed always runs
    assert main(["run", "--method", "random", "--task", "davis_vos", "--seeds", "2-1"]) == 2
    assert "range 2-1 runs backwards" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("task", ["coco_det_c4", "voc_det"])
def test_c4_tasks_run_end_to_end(task, tmp_path):
    """One short mini run per C4 task (random init, 2 iterations): synthetic data in the real layout ->
    Detectron2 with Res5ROIHeadsExtraNorm (res5 loaded strictly, its extra norm new) -> evaluator -> record."""
    ck = runs.pretrain("random", "mini", 0)
    rec = runs.evaluate(ck, task, None, "mini", results_root=tmp_path, overrides=TINY_D2)
    assert {"bbox/AP", "bbox/AP50", "bbox/AP75"} <= set(rec["metrics"])
    assert ("segm/AP" in rec["metrics"]) == (task == "coco_det_c4")
    assert "roi_heads.res5.norm" in rec["notes"]["initialised_from_scratch"]
    assert rec["notes"]["conversion"].startswith(f"{len(expected_keys('resnet18'))} tensors converted, 0 dropped")
    assert all(v is None or 0 <= v <= 100 for v in rec["metrics"].values())


def test_cache_key_holds_the_thread_count_on_cpu_only(monkeypatch, tmp_path):
    """CPU: the intra-op thread count changes the bits, so it keys the checkpoint. CUDA: it does not,
    and an evaluation job (another node, other CPUs, torchrun's OMP_NUM_THREADS=1 in the pre-training)
    must find the checkpoint the pre-training job wrote."""
    import torch
    threads = torch.get_num_threads()
    try:
        keys = {}
        for n in (1, 2):
            torch.set_num_threads(n)
            keys[("cpu", n)] = runs.checkpoint_path("mocov2", "paper", 0, str(tmp_path))
            monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
            keys[("cuda", n)] = runs.checkpoint_path("mocov2", "paper", 0, str(tmp_path))
            monkeypatch.undo()
    finally:
        torch.set_num_threads(threads)
    assert keys[("cpu", 1)] != keys[("cpu", 2)]
    assert keys[("cuda", 1)] == keys[("cuda", 2)] != keys[("cpu", 2)]
