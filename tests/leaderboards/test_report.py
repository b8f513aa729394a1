"""bench report: a static site from the results store, checked in a real headless browser (Chromium
from Debian's packages, installed by scripts/test.sh): every table and image renders, no console error;
the screenshot is kept as a test artefact (test-artefacts/report.png)."""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness import store
from harness.api import TaskResult
from harness.checkpoint import Checkpoint
from harness.registry import METHODS, TASKS
from leaderboards.report import build_report

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"


def _store(tmp_path):
    """Records of three methods x two seeds on coco_det (one with a PNG artefact) and a TensorBoard log
    beside one checkpoint."""
    from torch.utils.tensorboard import SummaryWriter
    root = tmp_path / "results"
    proto = TASKS.protocol("coco_det", None)
    for method, base in (("mocov2", 25.0), ("random", 21.0), ("densecl", 23.0)):
        ck_dir = tmp_path / "ck" / method
        w = SummaryWriter(str(ck_dir / "train" / "tb"))
        for it in range(20):
            w.add_scalar("train/loss", 5.0 / (it + 1), it)
        w.close()
        for seed in (0, 1):
            sha = f"{method[0]}{seed}" * 32
            meta = {"method": method, "arch": "resnet18", "weights_sha256": sha, "seed": seed, "recipe": "mini",
                    "recipe_version": METHODS.card(method).recipe("mini").version}  # current: not superseded
            staged, final = store.stage_run_dir(root, "coco_det", proto, "mini", method, sha, seed)
            Image.fromarray((np.random.default_rng(seed).random((40, 60, 3)) * 255).astype(np.uint8)).save(staged / "grid.png")
            rec = store.make_record(checkpoint=Checkpoint(ck_dir / "backbone.safetensors", {}, meta, sha), task="coco_det",
                                    protocol=proto, scale="mini", seed=seed,
                                    result=TaskResult({"bbox/AP": base + seed, "segm/AP": base - 5}, "c", artefacts={"grid": "grid.png"}),
                                    direction=TASKS.card("coco_det").direction(), wall_s=1.0, world_size=1)
            store.write_record(staged, rec)
            store.publish_run_dir(staged, final)
    return root


def test_report_renders_in_headless_chromium(tmp_path):
    root = _store(tmp_path)
    index = build_report(tmp_path / "site", root)
    page = index.read_text()
    assert page.count("<table") >= 3 and "coco_det/r50_fpn_4conv1fc_syncbn_1x@3 (mini)" in page
    assert "orl_coco_det" in page or "ORL" in page  # the paper table whose column coco_det fills
    assert len(list((tmp_path / "site" / "assets").glob("*.png"))) >= 4  # bar chart, loss curves, pictures
    # rank agreement with slotcon_t2's published rows: random < DenseCL < MoCo v2 measured, random <
    # MoCo v2 < DenseCL published: tau-b 1/3 on box AP and on mask AP
    assert "assets/agreement_slotcon_t2_mini.png" in page and "mean Kendall tau-b +0.33" in page
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Chromium is not installed: scripts/test.sh installs it (apt-get install chromium)"
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--enable-logging=stderr"]
    dom = subprocess.run([browser, *flags, "--dump-dom", index.as_uri()], capture_output=True, text=True, timeout=120)
    assert 'data-images-ok="true"' in dom.stdout, dom.stdout[-2000:]
    n = int(dom.stdout.split('data-images="')[1].split('"')[0])
    assert n == len(list((tmp_path / "site" / "assets").glob("*.png")))
    errors = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln and ("Uncaught" in ln or ":ERROR:" in ln)]
    assert not errors, errors
    ARTEFACTS.mkdir(exist_ok=True)
    shot = subprocess.run([browser, *flags, "--window-size=1200,1800", f"--screenshot={ARTEFACTS / 'report.png'}",
                           index.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and (ARTEFACTS / "report.png").stat().st_size > 10_000


def test_report_replaces_only_a_report(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(Exception, match="is not a DenseBench report"):
        build_report(tmp_path / "mine", _store(tmp_path))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
