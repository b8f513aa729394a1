"""hiergroup end to end at tiny sizes: grouping -> samples -> one training step; the paper recipe
refuses to run without the structured-edge model file, loudly."""
import numpy as np
import pytest
import torch

pytest.importorskip("higra")
from harness.api import StageContext  # noqa: E402
from harness.errors import BenchError  # noqa: E402
from harness.registry import METHODS  # noqa: E402
from tests.conftest import recipe  # noqa: E402


def test_samples_and_one_step(tiny_coco, tmp_path):
    from harness.data.coco import image_files
    m = METHODS.load("hiergroup")
    r = recipe("hiergroup", overrides={"params": {"crop": 32, "width": 16}})
    files = image_files(tiny_coco, "train")[:4]
    summary = m.prepare(r, StageContext(0, files, {}, tmp_path, progress=False, workers=1))
    assert summary["grouping"]["edges"] == "gradient" and 1 < summary["grouping"]["mean_regions"] <= 40
    ds = m.dataset(r, files)
    np.random.seed(0)
    torch.manual_seed(0)
    items = [ds[i] for i in range(4)]
    v1, v2, anc, pos, neg, pos2, pos2_ok, neg2, neg2_ok, cns_off, cns_pix = items[0]
    assert v1.shape == v2.shape == (3, 32, 32) and anc.shape == (7,) and pos.shape == (7, 10) and neg.shape == (7, 5)
    assert int(pos.max()) < 64 and int(pos2.max()) < 64 and pos2_ok.dtype == torch.bool and cns_pix.shape == (7, 5)
    batch = [torch.stack([it[k] for it in items]) for k in range(11)]
    model = m.build(r, 0)
    out = model(batch)
    assert torch.isfinite(out["loss"]) and -1 <= out["loss"].item() < 0
    out["loss"].backward()
    assert model.net.backbone.layer3[0].conv1.weight.grad is not None
    assert model.net.backbone.layer4[0].conv1.weight.grad is None  # res5 is not part of the hypercolumn


def test_paper_recipe_without_the_model_file_is_refused(tmp_path):
    m = METHODS.load("hiergroup")
    with pytest.raises(BenchError, match="structured edges .* model file is missing: expected .*paper_gradient_edges"):
        m.prepare(recipe("hiergroup", "paper"), StageContext(0, [], {}, tmp_path, data_root=str(tmp_path)))


@pytest.mark.slow
def test_mini_pretraining_feeds_the_probes(tmp_path):
    """One short mini pre-training (tiny data, 1 epoch) -> its exported hypercolumn -> voc_retrieval and
    davis_vos/zhang_maire read the embedding, davis_vos/videowalk and voc_aspp_frozen the backbone."""
    from harness import runs
    from harness.checkpoint import load_heads
    tiny = {"synth": {"n_train": 24, "n_val": 4}}
    ck = runs.pretrain("hiergroup", "mini", 0, progress=False,
                       overrides={"epochs": 1, "train": {"epochs": 1, "batch_size": 8, "workers": 0},
                                  "data": {**tiny, "also": [{"layout": "voc", "split": "trainaug", **tiny}]}})
    assert load_heads(ck)[1]["embedding"] == "hypercolumn"
    small = {"dataset": {"synth": {"n_train": 6, "n_val": 3}}}
    rec = runs.evaluate(ck, "voc_retrieval", None, "mini", results_root=tmp_path, overrides=small)
    assert rec["notes"]["conversion"].startswith("exported hypercolumn embedding (32-d at stride 4")
    assert 0 <= rec["metrics"]["mIoU"] <= 100
    davis = {"dataset": {"synth": {"n_train": 1, "n_val": 1, "n_frames": 3}}}
    rec = runs.evaluate(ck, "davis_vos", "zhang_maire", "mini", results_root=tmp_path, overrides=davis)
    assert rec["notes"]["conversion"].startswith("exported hypercolumn embedding")
    rec = runs.evaluate(ck, "davis_vos", "videowalk", "mini", results_root=tmp_path, overrides=davis)
    assert "layer3 at stride 8" in rec["notes"]["conversion"]
    rec = runs.evaluate(ck, "voc_aspp_frozen", None, "mini", results_root=tmp_path,
                        overrides={**small, "schedule": {"iters": 2, "batch_size": 2, "workers": 0,
                                                         "lr": [{"type": "MultiStepLR", "by_epoch": False, "begin": 0,
                                                                 "end": 2, "milestones": [1], "gamma": 0.1}]}})
    assert rec["notes"]["backbone_unchanged_by_training"] is True
