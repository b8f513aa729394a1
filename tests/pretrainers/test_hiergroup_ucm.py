"""hiergroup's grouping primitive: the region cap, d_T is an ultrametric, the per-image cache."""
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("higra")
from pretrainers import hiergroup_ucm  # noqa: E402
from pretrainers.hiergroup_ucm import EdgeSettings, gradient_edges, group, group_images  # noqa: E402


def _rgb(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("cap", [40, 5])
def test_regions_capped_and_distances_ultrametric(tiny_coco, cap):
    f = sorted((tiny_coco / "train2017").iterdir())[0]
    g = group(gradient_edges(_rgb(f)), cap)
    m = int(g.regions.max()) + 1
    assert 1 < m <= cap and set(np.unique(g.regions)) == set(range(m)) and g.d_T.shape == (m, m)
    d = g.d_T.astype(np.float64)
    assert np.allclose(d, d.T) and np.all(np.diag(d) == 0) and np.all(d[~np.eye(m, dtype=bool)] > 0)
    assert all(d[i, j] <= max(d[i, k], d[k, j]) + 1e-6 for i in range(m) for j in range(m) for k in range(m))
    assert g.ucm.shape == g.regions.shape


def test_grouping_is_cached_per_image_content(tiny_coco, monkeypatch):
    files = sorted((tiny_coco / "train2017").iterdir())[:3]
    first = group_images(files, EdgeSettings(), progress=False, workers=1)
    assert len(first) == 3 and all(r.shape == _rgb(f).shape[:2] for f, (r, _) in zip(files, first))
    monkeypatch.setattr(hiergroup_ucm, "group", lambda *a, **k: 1 / 0)  # a second call must read the cache
    again = group_images(files, EdgeSettings(), progress=False, workers=1)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(first, again))


def test_structured_edges_need_the_model_file():
    with pytest.raises(Exception, match="structured edges need the BSDS500 model file"):
        EdgeSettings("structured")
