"""Every `mini` recipe blurs with the paper's sigma range scaled to its view size (issue 21: a 224 px
sigma on 64-96 px views erased the synthetic textures), and every `paper` recipe with the paper's own.
The blur objects are found inside the data sets the methods build, so a recipe value that does not
reach the pipeline fails here."""
import pytest

from harness.registry import METHODS
from pretrainers.augment import GaussianBlur
from tests.conftest import recipe

PAPER = (0.1, 2.0)  # px, for 224 px views (MoCo v2 main_moco.py, BYOL; PixPro / SlotCon / ORL configs)


def _blurs(obj, seen=None):
    """Every GaussianBlur reachable from obj through attributes, lists and tuples."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, (str, bytes, int, float)):
        return []
    seen.add(id(obj))
    if isinstance(obj, GaussianBlur):
        return [obj]
    kids = list(obj) if isinstance(obj, (list, tuple)) else list(vars(obj).values()) if hasattr(obj, "__dict__") else []
    return [b for k in kids for b in _blurs(k, seen)]


@pytest.mark.parametrize("method", ["mocov2", "byol", "densecl", "pixpro", "pixcontrast", "slotcon"])
@pytest.mark.parametrize("name", ["mini", "paper"])
def test_blur_is_scaled_to_the_view(method, name, tmp_path):
    r = recipe(method, name)
    crop = r.params["crop"]
    blurs = _blurs(METHODS.load(method).dataset(r, [tmp_path / "x.jpg"]).transform)
    assert blurs, "no Gaussian blur found in the pipeline"
    for b in blurs:
        assert b.sigma == pytest.approx((PAPER[0] * crop / 224, PAPER[1] * crop / 224), rel=1e-3), (crop, b.sigma)


def test_orl_blurs_views_and_patches_by_their_own_size():
    for name in ("mini", "paper"):
        p = recipe("orl", name).params
        assert tuple(p["blur_sigma"]) == pytest.approx((0.1 * p["crop"] / 224, 2.0 * p["crop"] / 224), rel=1e-3)
        assert tuple(p["patch_blur_sigma"]) == pytest.approx((0.1 * p["patch"] / 96, 2.0 * p["patch"] / 96), rel=1e-3)
