"""A plugin package outside DenseBench (tests/plugin_example: method `rotnet`, task `toy_rank`) is
installed with pip into a separate folder and runs through `bench` end to end, exactly as DenseBench's
own methods and tasks do (README: "Adding a method", "Adding a task")."""
import json
import os
import subprocess
import sys

import pytest


def bench(env, *args):
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_plugin_is_listed_without_being_imported(plugin_env):
    r = bench(plugin_env, "ls")
    assert r.returncode == 0, r.stderr
    assert "rotnet       [mini, requeue (mini)]  RotNet: predict which of four rotations" in r.stdout
    assert "toy_rank/layer4_erank@1" in r.stdout


def test_plugin_method_and_task_run_end_to_end(plugin_env, tmp_path):
    r = bench(plugin_env, "run", "--method", "rotnet", "--task", "toy_rank", "--scale", "mini", "--json",
              "--results-root", str(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    rec = json.loads(r.stdout)
    assert rec["method"] == "rotnet" and rec["protocol_full"] == "toy_rank/layer4_erank@1" and rec["scale"] == "mini"
    assert 1.0 < rec["metrics"]["erank"] <= 512 and 0 <= rec["metrics"]["dead_fraction"] <= 1
    assert rec["higher_is_better"] == {"erank": True, "dead_fraction": False}
    assert rec["pretrain"]["recipe"] == "mini" and rec["notes"]["images"] == 8
    run_dir = next(tmp_path.rglob("record.json")).parent
    assert (run_dir / rec["artefacts"]["channel_std"]).stat().st_size > 0
    # the random reference on the same task: the leaderboard compares them, lower dead_fraction marked best
    assert bench(plugin_env, "run", "--method", "random", "--task", "toy_rank", "--results-root", str(tmp_path)).returncode == 0
    board = bench(plugin_env, "leaderboard", "--task", "toy_rank", "--results-root", str(tmp_path)).stdout
    assert "| rotnet |" in board and "| random |" in board
    shown = bench(plugin_env, "protocol", "show", "toy_rank", "--scale", "mini").stdout
    assert "stage: layer4" in shown and "images: 8" in shown
