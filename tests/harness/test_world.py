"""Synthetic world 2 (harness/data/world.py): 20 classes told by shape, appearance drawn per instance
(so a class's mean colour is everyone's, unlike world 1's hue-coded classes), deterministic, its own
cache key, written for coco and voc only."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from harness.data import synthetic_path, world, write_synthetic
from harness.data import scenes as world1
from harness.errors import BenchError


def test_every_class_has_its_structure():
    rng = np.random.default_rng(0)
    for cls, name in enumerate(world.CLASSES):
        m = world.shape_mask(cls, rng, 64, 64, 24, 32, 32)
        ys, xs = np.nonzero(m)
        assert m.sum() > 150, name
        assert np.hypot(xs - 32, ys - 32).max() <= 24 * 1.25 * 1.16 + 1, name  # within the radius (aspect, jitter)
    # a ring keeps its hole; the arms of a plus are filled where they cross (not cut out by even-odd filling)
    assert not world.shape_mask(world.CLASSES.index("ring"), rng, 64, 64, 24, 32, 32)[32, 32]
    assert world.shape_mask(world.CLASSES.index("plus"), rng, 64, 64, 24, 32, 32)[32, 32]
    assert world.shape_mask(world.CLASSES.index("aitch"), rng, 64, 64, 24, 32, 32)[32, 32]


def test_instances_of_a_class_vary_and_the_scene_is_deterministic():
    masks = [world.shape_mask(world.CLASSES.index("star5"), np.random.default_rng(s), 64, 64, 24, 32, 32) for s in range(2)]
    assert (masks[0] != masks[1]).sum() > 50                       # rotation, aspect and jitter per instance
    a, b = (world.render_scene(np.random.default_rng([3, 0, 7]), 100, 120) for _ in range(2))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.instance_map, b.instance_map) and a.classes == b.classes
    assert a.image.shape == (100, 120, 3) and a.instance_map.max() == len(a.classes) >= 1


def _instance_colours(render) -> dict[int, list[np.ndarray]]:
    """Each instance's mean RGB (0-1) over 150 scenes, by class."""
    out: dict[int, list[np.ndarray]] = {}
    for i in range(150):
        s = render(np.random.default_rng([0, 0, i]))
        for k, cls in enumerate(s.classes, 1):
            out.setdefault(cls, []).append(s.image[s.instance_map == k].astype(float).mean(0) / 255)
    return out


def test_colour_tells_nothing_about_the_class_in_world_2_as_it_does_in_world_1():
    """One-way ANOVA of the instances' mean colour across classes, per channel: world 1's hue-coded
    classes differ beyond doubt, world 2's do not differ beyond chance."""
    from scipy.stats import f_oneway
    w2 = _instance_colours(lambda rng: world.render_scene(rng, 96, 96))
    w1 = _instance_colours(lambda rng: world1.render_scene(rng, 96, 96))
    assert len(w2) == 20 and len(w1) == 5
    p1 = [f_oneway(*[np.array(v)[:, c] for v in w1.values()]).pvalue for c in range(3)]
    p2 = [f_oneway(*[np.array(v)[:, c] for v in w2.values()]).pvalue for c in range(3)]
    assert max(p1) < 1e-6, p1
    assert min(p2) > 0.001, p2  # measured 0.030, 0.60, 0.89 (deterministic seeds); world 1: below 1e-130


def test_world_2_voc_labels_are_the_20_voc_classes_and_its_own_cache_entry(tmp_path):
    out = write_synthetic("voc", tmp_path / "voc", seed=0, n_train=12, n_val=2, world=2)
    ids = set()
    for f in (out / "SegmentationClass").glob("*.png"):
        ids |= set(np.unique(np.asarray(Image.open(f))).tolist())
    assert ids <= set(range(21)) | {255} and len(ids - {0, 255}) >= 10
    assert synthetic_path("voc", world=2) != synthetic_path("voc")
    assert synthetic_path("voc", world=1) == synthetic_path("voc")  # world 1 is the default: one cache entry


@pytest.mark.parametrize("layout,world_", [("cityscapes", 2), ("voc", 3), ("coco", 0)])
def test_a_world_a_layout_lacks_is_one_line_and_writes_nothing(tmp_path, layout, world_):
    with pytest.raises(BenchError, match=f"synth world {world_} of layout '{layout}'"):
        write_synthetic(layout, tmp_path / "x", world=world_)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("params,error", [
    ({"leaves": 5}, "synth leaves 5: a world-2 option"),
    ({"world": 2, "classes": 0}, "synth classes 0: expected a whole number >= 1"),
    ({"world": 2, "classes": 21}, "synth classes 21: world 2 has 20"),
    ({"world": 2, "leaves": -1}, "synth leaves -1: expected a whole number >= 0"),
    ({"world": 2, "leaves": True}, "synth leaves True"),
    ({"world": 2, "scale": 0}, "synth scale 0: expected a whole number >= 1"),
    ({"world": 2, "cue": 101}, "synth cue 101: expected a whole number >= 0 and <= 100"),
])
def test_world_2_options_are_checked_before_anything_is_written(tmp_path, params, error):
    with pytest.raises(BenchError, match=error):
        write_synthetic("voc", tmp_path / "x", **params)
    assert list(tmp_path.iterdir()) == []


def test_world_2_options_draw_fewer_classes_on_a_flat_background():
    s = world.render_scene(np.random.default_rng([0, 0, 1]), 96, 96, leaves=0, classes=3)
    assert set(s.classes) <= {0, 1, 2}
    background = s.image[s.instance_map == 0].astype(float)
    assert background.std(0).max() < 12   # one flat colour plus the sensor noise (0.02 x 255 = 5.1)
    assert synthetic_path("voc", world=2, leaves=0) != synthetic_path("voc", world=2)


def test_bench_data_synth_world_2_writes_a_world_2_set(tmp_path, capsys):
    from app.cli import main
    assert main(["data", "synth", "--layout", "coco", "--world", "2", "--out", str(tmp_path / "c"),
                 "--n-train", "3", "--n-val", "1"]) == 0
    import json
    ann = json.loads((tmp_path / "c" / "annotations" / "instances_train2017.json").read_text())
    assert [c["name"] for c in ann["categories"]] == list(world.CLASSES)


def _class_texture_spread(cue: int, cls: int = 0) -> float:
    """Mean within-instance colour std of class `cls` (disc, whose cue family is 'flat') over 60 scenes."""
    spread = []
    for i in range(60):
        s = world.render_scene(np.random.default_rng([0, 0, i]), 96, 96, leaves=0, classes=5, cue=cue)
        spread += [s.image[s.instance_map == k].astype(float).std(0).mean() for k, c in enumerate(s.classes, 1) if c == cls]
    return float(np.mean(spread))


def test_cue_dresses_a_class_in_its_own_texture_and_cue_0_draws_as_before():
    rng = lambda: np.random.default_rng([0, 0, 3])  # noqa: E731
    a, b = world.render_scene(rng(), 96, 96, leaves=0, classes=5), world.render_scene(rng(), 96, 96, leaves=0, classes=5, cue=0)
    assert np.array_equal(a.image, b.image) and a.classes == b.classes
    # with cue 100 every disc is flat (sensor noise only); with cue 0 half of them or more carry a pattern
    assert _class_texture_spread(100) < 8 < _class_texture_spread(0)
    with pytest.raises(ValueError, match="cue 101"):
        world.render_scene(rng(), 96, 96, cue=101)
    assert synthetic_path("voc", world=2, cue=50) != synthetic_path("voc", world=2)
