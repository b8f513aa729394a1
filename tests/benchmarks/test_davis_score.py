"""J&F on worked examples and against the per-frame reference of the official algorithm."""
import math

import numpy as np
import pytest

from benchmarks import davis_reference
from benchmarks.davis_score import boundaries, evaluate, f_measure, frame_scores, j_and_f, statistics, write_csvs
from harness.data.davis import annotation_files, read_indexed, sequences, write_indexed, write_synthetic_davis
from harness.errors import BenchError


def _square(h, w, y0, x0, s):
    m = np.zeros((h, w), bool)
    m[y0:y0 + s, x0:x0 + s] = True
    return m


def test_boundary_map_of_a_square():
    b = boundaries(_square(6, 6, 1, 1, 3))
    # the official map marks the square's pixels on its right/bottom edge and the pixels before its
    # left/top edge (boundaries sit half a pixel towards the origin)
    expect = np.zeros((6, 6), bool)
    expect[0, 0:4] = True
    expect[0:4, 0] = True
    expect[3, 0:4] = True
    expect[0:4, 3] = True
    assert np.array_equal(b > 0, expect)


def test_empty_masks_on_either_side():
    e, sq = np.zeros((1, 1, 20, 20), bool), _square(20, 20, 5, 5, 6)[None, None]
    J, F = j_and_f(e, e)
    assert J[0, 0] == 1.0 and F[0, 0] == 1.0          # nothing to find, nothing found
    J, F = j_and_f(sq, e)
    assert J[0, 0] == 0.0 and F[0, 0] == 0.0          # object missed
    J, F = j_and_f(e, sq)
    assert J[0, 0] == 0.0 and F[0, 0] == 0.0          # false positive on an absent object


def test_one_pixel_shift():
    gt = _square(100, 100, 40, 40, 10)
    pred = _square(100, 100, 40, 41, 10)
    J, F = j_and_f(gt[None, None], pred[None, None])
    assert J[0, 0] == pytest.approx(90 / 110)
    assert F[0, 0] == 1.0                               # radius ceil(0.008 * 141.4) = 2 > 1 px shift
    far = _square(100, 100, 40, 45, 10)                 # 5 px: beyond the 2 px radius on two sides
    J, F = j_and_f(gt[None, None], far[None, None])
    assert J[0, 0] == pytest.approx(50 / 150) and 0 < F[0, 0] < 1
    assert F[0, 0] == pytest.approx(davis_reference.frame_f(gt, far))


def test_object_absent_in_some_frames():
    T = 4
    gt = np.zeros((1, T, 30, 30), bool)
    gt[0, :2] = _square(30, 30, 5, 5, 8)               # leaves the frame after frame 1
    pred = gt.copy()
    pred[0, 3] = _square(30, 30, 20, 20, 4)             # a false positive where the object is gone
    J, F = j_and_f(gt, pred)
    assert J[0].tolist() == [1.0, 1.0, 1.0, 0.0] and F[0].tolist() == [1.0, 1.0, 1.0, 0.0]


def test_decay_bins_short_sequences():
    # N = 3: ids = round(linspace(1, 3, 5)) - 1 = [0, 0, 1, 1, 2]; bins [0:1], [0:2], [1:2], [1:3]
    M, R, D = statistics(np.array([0.9, 0.6, 0.3]))
    assert M == pytest.approx(0.6) and R == pytest.approx(2 / 3) and D == pytest.approx(0.9 - 0.45)
    # N = 1: every bin is the single frame -> decay 0
    assert statistics(np.array([0.4])) == (pytest.approx(0.4), 0.0, 0.0)
    # N = 6: ids = [0, 1, 2, 3, 5] (2.25 -> 2, 3.5 -> 4 -> 3, 4.75 -> 5 -> 4 ... minus 1)
    v = np.arange(6) / 10
    ids = (np.round(np.linspace(1, 6, 5) + 1e-10) - 1).astype(int)
    assert statistics(v)[2] == pytest.approx(v[ids[0]:ids[1] + 1].mean() - v[ids[3]:ids[4] + 1].mean())


def test_f_measure_matches_reference_on_random_shapes():
    rng = np.random.default_rng(0)
    for _ in range(20):
        gt = np.zeros((60, 90), bool)
        pred = np.zeros((60, 90), bool)
        for m in (gt, pred):
            y, x, s = rng.integers(0, 50), rng.integers(0, 80), rng.integers(2, 30)
            m[y:y + s, x:x + s] = True
            m[rng.random((60, 90)) < 0.01] ^= True
        r = math.ceil(0.008 * math.hypot(60, 90))
        assert f_measure(boundaries(pred), boundaries(gt), r) == pytest.approx(davis_reference.frame_f(gt, pred), abs=1e-12)


@pytest.fixture(scope="module")
def davis_with_predictions(tmp_path_factory):
    """Synthetic DAVIS and perturbed predictions (shifted, eroded, one object dropped, ids swapped)."""
    base = tmp_path_factory.mktemp("davis")
    root = write_synthetic_davis(base / "DAVIS", seed=2, n_train=1, n_val=4, n_frames=9, size=(60, 90))
    res = base / "results"
    rng = np.random.default_rng(1)
    for i, seq in enumerate(sequences(root, "val")):
        for f in annotation_files(root, seq):
            a = read_indexed(f)
            a = np.roll(a, int(rng.integers(-3, 4)), axis=1)
            if i == 1:
                a[a == 1] = 0                                 # object 1 never predicted
            if i == 2 and f.stem == "00004":
                a = np.where(a == 1, 2, np.where(a == 2, 1, a))  # identities swapped in one frame
            write_indexed(res / seq / f"{f.stem}.png", a)
    return root, res


def test_identical_to_reference_and_csvs(davis_with_predictions, tmp_path):
    root, res = davis_with_predictions
    glob, rows = evaluate(root, res, "val", workers=2)
    ref = davis_reference.evaluate(root, res, "val")
    for k, v in ref.items():
        assert glob[k] == pytest.approx(v, abs=1e-12), k
    g, s = write_csvs(tmp_path, "val", glob, rows)
    assert g.read_text().splitlines()[0] == "J&F-Mean,J-Mean,J-Recall,J-Decay,F-Mean,F-Recall,F-Decay"
    assert len(s.read_text().splitlines()) == 1 + len(rows)


def test_bad_predictions_are_one_line_errors(davis_with_predictions, tmp_path):
    root, res = davis_with_predictions
    seq = sequences(root, "val")[0]
    bad = tmp_path / "bad"
    for f in annotation_files(root, seq)[1:-1]:
        a = read_indexed(f)
        a[0, 0] = 9
        write_indexed(bad / seq / f"{f.stem}.png", a)
    with pytest.raises(BenchError, match="prediction uses object id 9"):
        evaluate(root, bad, "val", workers=1)
    with pytest.raises(BenchError, match=r"00001.png: missing prediction"):
        evaluate(root, tmp_path / "bad2" if (tmp_path / "bad2").mkdir() is None else None, "val", workers=1)


def test_davis_score_cli_writes_fresh_csvs(davis_with_predictions, capsys):
    from app.cli import main
    root, res = davis_with_predictions
    stale = res / "global_results-val.csv"
    stale.write_text("J&F-Mean\n99.0\n")  # a stale cached result is never reused
    assert main(["davis-score", "--davis-root", str(root), "--results", str(res), "--workers", "1"]) == 0
    assert "J&F-Mean" in capsys.readouterr().out and "99.0" not in stale.read_text()
    assert (res / "per-sequence_results-val.csv").is_file()
    assert main(["davis-score", "--davis-root", str(root), "--results", str(res / "nope")]) == 2
    assert "no such results directory" in capsys.readouterr().err


@pytest.mark.parametrize("h, w, radius", [(240, 427, 4), (150, 200, 2), (480, 854, 8)])
def test_cropped_frame_scores_match_full_frame_reference_at_a_large_radius(h, w, radius):
    """Objects near each other and the frame edge (the crop keeps only 1 px of margin); radius 4 and
    8 (480p) run the disk as a chain of small dilations, radius 2 as the disk itself."""
    rng = np.random.default_rng(3)
    r = math.ceil(0.008 * math.hypot(h, w))
    assert r == radius
    for _ in range(10):
        gt, pred = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
        for lab in (gt, pred):
            for o in (1, 2, 3):
                y, x, s = rng.integers(-10, h), rng.integers(-10, w), rng.integers(3, 80)
                lab[max(y, 0):y + s, max(x, 0):x + s] = o
            lab[rng.random((h, w)) < 0.002] = rng.integers(0, 4)
        y, x = rng.integers(0, h - 20), rng.integers(0, w - 20)
        gt[y:y + 20, x:x + 20] = 255                  # void, kept in the ground truth: no object's id
        J, F = frame_scores(gt, pred, 3, r)
        for o in range(3):
            g, p = gt == o + 1, pred == o + 1
            assert J[o] == pytest.approx(davis_reference.frame_j(g, p), abs=1e-12)
            assert F[o] == pytest.approx(davis_reference.frame_f(g, p), abs=1e-12)


def test_frames_without_labels_score_one():
    e = np.zeros((30, 40), np.uint8)
    J, F = frame_scores(e, e, 2, 2)
    assert J.tolist() == [1.0, 1.0] and F.tolist() == [1.0, 1.0]
    v = e.copy()
    v[3:9, 5:20] = 255                                 # only void labelled: still no object
    J, F = frame_scores(v, e, 2, 2)
    assert J.tolist() == [1.0, 1.0] and F.tolist() == [1.0, 1.0]


def test_object_count_is_the_largest_id_outside_void():
    """As the official evaluator counts a sequence's objects: void (255) set to background, then the
    largest id of the first annotation (ids need not be contiguous; a void-only frame has none)."""
    from benchmarks.davis_score import _objects
    a = np.zeros((7, 9), np.uint8)
    assert _objects(a) == 0
    a[1:3, 1:3], a[4, 4] = 1, 3
    assert _objects(a) == 3
    a[5:7, 6:9] = 255
    assert _objects(a) == 3
    assert _objects(np.full((7, 9), 255, np.uint8)) == 0
    v = np.zeros((4, 6), np.uint8)
    v[0, 0], v[3, 5] = 255, 2
    assert _objects(v[:, 1:]) == 2                       # a strided view, as read_indexed returns
    assert _objects(v[:, :4]) == 0


def test_void_in_the_annotations_matches_the_reference(davis_with_predictions, tmp_path):
    """Void (255) in every annotation, the first included: it counts as no object (the object count
    is the largest other id) and as background, as the official evaluation sets it."""
    import shutil
    root, res = davis_with_predictions
    voided = tmp_path / "DAVIS"
    shutil.copytree(root, voided)
    for f in sorted((voided / "Annotations").rglob("*.png")):
        a = read_indexed(f)
        a[10:25, 30:60] = 255
        write_indexed(f, a)
    glob, _ = evaluate(voided, res, "val", workers=1)
    ref = davis_reference.evaluate(voided, res, "val")
    for k, v in ref.items():
        assert glob[k] == pytest.approx(v, abs=1e-12), k
    assert glob["J-Mean"] != pytest.approx(evaluate(root, res, "val", workers=1)[0]["J-Mean"], abs=1e-6)


def test_frames_of_another_size_are_one_line_errors(davis_with_predictions, tmp_path):
    import shutil
    root, res = davis_with_predictions
    seq = sequences(root, "val")[0]
    bad_root, bad_res = tmp_path / "DAVIS", tmp_path / "res"
    shutil.copytree(root, bad_root)
    shutil.copytree(res, bad_res)
    write_indexed(bad_res / seq / "00003.png", np.zeros((59, 90), np.uint8))
    with pytest.raises(BenchError, match=r"00003.png: size 90x59 differs from its annotation \(90x60\)"):
        evaluate(root, bad_res, "val", workers=1)
    last = annotation_files(bad_root, seq)[-1]                # not scored, but read and checked
    write_indexed(last, np.zeros((60, 91), np.uint8))
    with pytest.raises(BenchError, match=rf"{last.name}: size 91x60 differs from the sequence's first annotation"):
        evaluate(bad_root, res, "val", workers=1)


def test_davis_score_imports_only_what_scoring_needs(davis_with_predictions, tmp_path):
    """`bench davis-score` on unfiltered palette PNGs (DAVIS's and Pillow's) loads no framework, no
    Pillow, no recipe reader and no scene generator: start-up is most of its wall time (issue 24)."""
    import shutil
    import subprocess
    import sys
    import textwrap
    root, res = davis_with_predictions
    shutil.copytree(res, tmp_path / "res")
    code = textwrap.dedent(f"""
        import sys
        from app.cli import main
        assert main(["davis-score", "--davis-root", {str(root)!r}, "--results", {str(tmp_path / "res")!r}]) == 0
        print("LOADED", [m for m in ("torch", "detectron2", "mmseg", "PIL", "harness.recipe", "harness.data.scenes",
                                     "harness.registry", "benchmarks.davis_vos") if m in sys.modules])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "LOADED []" in out.stdout, out.stdout[-1000:] + out.stderr[-1000:]
