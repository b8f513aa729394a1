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
