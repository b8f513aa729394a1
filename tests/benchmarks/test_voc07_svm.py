"""voc07_svm: the SVM benchmark against ORL's official svm_tools on the same inputs
(tests/fixtures/svm_official.json, made by tests/fixtures/make_svm_official.py), the VOC labels on a
worked example, the low-shot draw, bad settings, and the task end to end on a tiny synthetic set."""
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.svm import SvmSettings, cost_list, full_svm, low_shot_sample, low_shot_svm, voc_ap
from harness import runs
from harness.errors import BenchError

OFFICIAL = json.loads((Path(__file__).parents[1] / "fixtures" / "svm_official.json").read_text())
# train_svm_kfold_parallel.py / train_svm_low_shot.py's LinearSVC
SVM = SvmSettings(positive_weight=2, intercept_scaling=1.0, penalty="l2", loss="squared_hinge", tol=1e-4, dual=True,
                  max_iter=2000)


def _arrays():
    o = OFFICIAL
    return (np.array(o["train_x"], np.float32), np.array(o["train_t"], np.int32),
            np.array(o["test_x"], np.float32), np.array(o["test_t"], np.int32))


def test_cost_grid_is_the_official_nineteen():
    costs = cost_list((1.0, 10.0, 100.0), (4, 19))
    assert len(costs) == 19 and costs[:4] == [1.0, 10.0, 100.0, 0.0625] and costs[-1] == 0.5 ** 19


@pytest.mark.parametrize("ex", OFFICIAL["ap_examples"], ids=lambda e: str(e["labels"]))
def test_voc_ap_matches_the_official_function(ex):
    assert voc_ap(np.array(ex["labels"]), np.array(ex["scores"])) == pytest.approx(ex["ap"], abs=1e-12)


def test_voc_ap_worked_example_by_hand():
    # ranks: +, -, +  -> precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> AP = 1/2 * 1 + 1/2 * 2/3
    assert voc_ap(np.array([1, -1, 1]), np.array([0.9, 0.5, 0.1])) == pytest.approx(0.5 + 1 / 3)
    assert np.isnan(voc_ap(np.array([-1, -1]), np.array([0.2, 0.1])))


def test_full_svm_equals_the_official_scripts():
    tx, tt, vx, vt = _arrays()
    got = full_svm(tx, tt, vx, vt, cost_list((1.0, 10.0, 100.0), (4, 19)), SVM, folds=3, seed=0, n_jobs=1)
    assert got["cost"] == OFFICIAL["full"]["cost"]
    np.testing.assert_allclose(got["ap"], OFFICIAL["full"]["ap"], atol=1e-9)


def test_low_shot_svm_equals_the_official_scripts():
    tx, tt, vx, vt = _arrays()
    samples = {int(k): [np.array(t, np.int32) for t in v] for k, v in OFFICIAL["samples"].items()}
    got = low_shot_svm(tx, samples, vx, vt, cost_list((1.0, 10.0, 100.0), (4, 19)), SVM, seed=0, n_jobs=2)
    for k, ref in OFFICIAL["low_shot"].items():
        assert got[int(k)]["cost"] == ref["cost"], k
        assert got[int(k)]["mean"] == pytest.approx(ref["mean"], abs=1e-9), k
        assert got[int(k)]["std"] == pytest.approx(ref["std"], abs=1e-9), k


def test_low_shot_sample_takes_k_positives_and_c_minus_one_k_negatives():
    t = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, -1], [1, 1], [0, 0], [-1, 0]], np.int32)
    s = low_shot_sample(t, 2, np.random.default_rng(0), ("a", "b"))
    for c in range(2):
        assert (s[:, c] == 1).sum() == 2 and (s[:, c] == 0).sum() == 2      # C - 1 = 1: k negatives
        assert np.all(t[s[:, c] == 1, c] == 1) and np.all(t[s[:, c] == 0, c] == 0)
    with pytest.raises(ValueError, match="class 'b' has 3 positive images, the 4-shot sample needs 4"):
        low_shot_sample(t[:, ::-1].copy(), 4, np.random.default_rng(0), ("b", "a"))


def test_classification_targets_follow_the_devkit_lists(tmp_path):
    from harness.data.vocdet import _xml, classification_targets
    base = tmp_path / "VOC2007"
    (base / "ImageSets" / "Main").mkdir(parents=True)
    (base / "Annotations").mkdir()
    objs = {"000002": [("car", 1, (1, 1, 5, 5)), ("bird", 0, (1, 1, 4, 4))],   # car difficult only -> ignore
            "000001": [("car", 1, (1, 1, 5, 5)), ("car", 0, (2, 2, 6, 6))]}    # one car not difficult -> present
    for fid, o in objs.items():
        (base / "Annotations" / f"{fid}.xml").write_text(_xml(fid, 8, 8, o))
    (base / "ImageSets" / "Main" / "trainval.txt").write_text("000002\n000001\n")
    paths, t = classification_targets(tmp_path, "trainval07", ("bird", "car", "dog"))
    assert [p.stem for p in paths] == ["000001", "000002"]                      # sorted by id, as the official lists
    assert t.tolist() == [[0, 1, 0], [1, -1, 0]]


def test_an_empty_cost_grid_is_one_line_before_any_work():
    from benchmarks.voc07_svm import check_settings
    from harness.registry import TASKS
    p = TASKS.protocol("voc07_svm", "svm_res5_lowshot")
    s = p.settings("mini", {"costs": [], "halvings": [5, 4]})
    with pytest.raises(BenchError, match=r"f\.yaml: costs / halvings: the SVM cost grid is empty"):
        check_settings(s, "f.yaml")
    with pytest.raises(BenchError, match="folds: 1"):
        check_settings(p.settings("mini", {"folds": 1}), "f.yaml")


@pytest.mark.slow
def test_voc07_svm_mini_end_to_end(tmp_path):
    ck = runs.pretrain("random", "mini", 0)
    small = {"dataset": {"synth": {"n_train": 120, "n_val": 40}}, "halvings": [4, 6],
             "low_shot": {"shots": [1, 4], "samples": 2}}
    rec = runs.evaluate(ck, "voc07_svm", None, "mini", results_root=tmp_path, overrides=small)
    m = rec["metrics"]
    assert 0 < m["mAP"] <= 100 and set(m) >= {"lowshot_1", "lowshot_4", "lowshot_4_std", "AP.person"}
    assert "lowshot_96" not in m and rec["notes"]["images"] == {"train": 60, "test": 40}
    too_many = {**small, "low_shot": {"shots": [40], "samples": 1}}
    with pytest.raises(BenchError, match=r"split 'trainval07': class '\w+' has \d+ (positive|negative) images, "
                                         r"the 40-shot sample needs \d+"):
        runs.evaluate(ck, "voc07_svm", None, "mini", results_root=tmp_path / "b", overrides=too_many)
    assert not (tmp_path / "b").exists() or not list((tmp_path / "b").rglob("record.json"))
