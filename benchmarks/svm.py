"""Linear SVMs on frozen image features, full and low-shot: the VOC07 classification benchmark as
ORL's `benchmarks/svm_tools/` runs it (FAIR's fair_self_supervision_benchmark tools, carried into
OpenSelfSup and ORL). Pure functions of numpy arrays; scikit-learn's LinearSVC (liblinear) and
`cross_val_score` do the fitting, as in the official scripts.

Targets are the official encoding (harness.data.vocdet.classification_targets): per image and
class, 1 = present, 0 = absent, -1 = ignore (only difficult objects). Shapes: features [N, D],
targets [N, C]. AP values are fractions in [0, 1]; the task reports percent.

Official behaviours kept (each a deviation from textbook practice, none from the benchmark):
- full: the training labels map 0 to -1 and keep -1, so difficult-only images train as negatives
  (train_svm_kfold_parallel.py); they are left out only when testing (test_svm.py);
- full: each class's cost is the one with the best 3-fold cross-validated AP on trainval
  (sklearn's `average_precision`), the first on ties (np.argmax);
- low-shot: the cost is chosen per shot count on the *test* AP averaged over the samples
  (test_svm_low_shot.py, aggregate_low_shot_svm_stats.py), as published;
- AP on test: the VOC devkit's all-points interpolated AP of svm_helper.get_precision_recall, with
  its tie order (np.argsort of the scores, reversed).
DenseBench's one change: the samples are a seeded draw (the official script calls Python's
unseeded random.sample) and each LinearSVC gets random_state = the run's seed (the official fits
leave liblinear's coordinate-descent order to NumPy's global state); both are in the record.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SvmSettings:
    """LinearSVC's settings (train_svm_kfold_parallel.py / train_svm_low_shot.py)."""
    positive_weight: float      # class_weight {1: positive_weight, -1: 1}
    intercept_scaling: float
    penalty: str
    loss: str
    tol: float
    dual: bool
    max_iter: int


def cost_list(costs: tuple[float, ...], halvings: tuple[int, int]) -> list[float]:
    """The costs tried: `costs`, then 0.5**n for n in [halvings[0], halvings[1]] (svm_helper.parse_cost_list
    appends 0.5**4 .. 0.5**19 to the shell scripts' '1.0,10.0,100.0')."""
    return [float(c) for c in costs] + [0.5 ** n for n in range(halvings[0], halvings[1] + 1)]


def normalize_rows(features: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm + 1e-5 (svm_helper.normalize_features), as float64."""
    f = np.asarray(features, dtype=np.float64)
    return f / (np.linalg.norm(f, axis=1) + 1e-5)[:, None]


def voc_ap(labels: np.ndarray, scores: np.ndarray) -> float:
    """All-points interpolated AP of scores [N] against labels [N] (> 0 positive), as
    svm_helper.get_precision_recall + calculate_ap compute it (NaN when there is no positive)."""
    order = np.argsort(scores)[::-1]
    tp = (np.asarray(labels)[order] > 0).astype(np.float64)
    ctp = np.cumsum(tp)
    prec = ctp / np.arange(1, len(tp) + 1)
    npos = tp.sum()
    if npos == 0:
        return float("nan")
    rec = ctp / npos
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]       # precision envelope, right to left
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mpre[idx]))


def _svm(cost: float, s: SvmSettings, seed: int):
    from sklearn.svm import LinearSVC
    return LinearSVC(C=cost, class_weight={1: s.positive_weight, -1: 1}, intercept_scaling=s.intercept_scaling,
                     penalty=s.penalty, loss=s.loss, tol=s.tol, dual=s.dual, max_iter=s.max_iter, random_state=seed)


def _counting_unconverged(fn, *args):
    """(fn(*args), how many liblinear fits warned that they stopped at max_iter): the official fits
    stop there too (max_iter 2000); the count goes into the record instead of the log."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        out = fn(*args)
    return out, sum(issubclass(w.category, ConvergenceWarning) for w in caught)


def _parallel(jobs, n_jobs: int) -> tuple[list, int]:
    """Results of jobs [(fn, *args)] in order, and the number of unconverged fits among them."""
    from joblib import Parallel, delayed
    out = Parallel(n_jobs=n_jobs)(delayed(_counting_unconverged)(f, *a) for f, *a in jobs)
    return [o[0] for o in out], sum(o[1] for o in out)


def _cv_fit(x: np.ndarray, y: np.ndarray, cost: float, s: SvmSettings, seed: int, folds: int):
    from sklearn.model_selection import cross_val_score
    clf = _svm(cost, s, seed)
    cv = float(cross_val_score(clf, x, y, cv=folds, scoring="average_precision").mean())
    return cv, clf.fit(x, y)


def full_svm(train_x: np.ndarray, train_t: np.ndarray, test_x: np.ndarray, test_t: np.ndarray,
             costs: list[float], s: SvmSettings, folds: int, seed: int, n_jobs: int = 1) -> dict:
    """One SVM per class and cost on all of trainval; per class the cost of best cross-validated AP;
    its test AP. Returns {'ap': [C] test AP, 'cost': [C] chosen costs, 'cv_ap': [C, len(costs)],
    'unconverged': fits that stopped at max_iter, 'fits': fits in all}."""
    x, tx = normalize_rows(train_x), normalize_rows(test_x)
    C = train_t.shape[1]
    ys = [np.where(train_t[:, c] == 0, -1, train_t[:, c]).astype(np.int32) for c in range(C)]
    fits, unconverged = _parallel([(_cv_fit, x, ys[c], cost, s, seed, folds) for c in range(C) for cost in costs], n_jobs)
    cv = np.array([f[0] for f in fits]).reshape(C, len(costs))
    best = cv.argmax(axis=1)
    ap = []
    for c in range(C):
        clf = fits[c * len(costs) + best[c]][1]
        keep = test_t[:, c] != -1
        ap.append(voc_ap(test_t[keep, c], clf.decision_function(tx[keep])))
    return {"ap": ap, "cost": [costs[b] for b in best], "cv_ap": cv.tolist(), "unconverged": unconverged,
            "fits": len(fits) * (folds + 1)}


def low_shot_sample(targets: np.ndarray, k: int, rng: np.random.Generator, classes: tuple[str, ...]) -> np.ndarray:
    """One low-shot training target matrix (create_voc_low_shot_challenge_samples.py): all -1 (unused)
    except, per class independently, k images drawn among its positives set to 1 and (C - 1) * k
    among its negatives (label 0) set to 0, without replacement. ValueError naming the class when
    the split has too few."""
    C = targets.shape[1]
    out = -np.ones_like(targets)
    for c in range(C):
        for symbol, n in ((1, k), (0, (C - 1) * k)):
            pool = np.nonzero(targets[:, c] == symbol)[0]
            if len(pool) < n:
                kind = "positive" if symbol == 1 else "negative"
                raise ValueError(f"class '{classes[c]}' has {len(pool)} {kind} images, the {k}-shot sample needs {n}")
            out[rng.choice(pool, n, replace=False), c] = symbol
    return out


def _low_shot_fit_test(x, t, tx, tt, c, cost, s, seed):
    keep = t[:, c] != -1
    clf = _svm(cost, s, seed).fit(x[keep], np.where(t[keep, c] == 0, -1, t[keep, c]))
    ktest = tt[:, c] != -1
    return voc_ap(tt[ktest, c], clf.decision_function(tx[ktest]))


def low_shot_svm(train_x: np.ndarray, samples: dict[int, list[np.ndarray]], test_x: np.ndarray, test_t: np.ndarray,
                 costs: list[float], s: SvmSettings, seed: int, n_jobs: int = 1) -> dict[int, dict]:
    """Per shot count k and sample, per cost, the mean over classes of the test AP of SVMs trained on
    the sample alone; then the cost of best mean over samples (on test, as published). Returns per k
    {'mean', 'std', 'min', 'max'} over samples at that cost (fractions), 'cost', 'ap' [samples, costs],
    'unconverged' and 'fits'."""
    x, tx = normalize_rows(train_x), normalize_rows(test_x)
    C = test_t.shape[1]
    out = {}
    for k, sample_list in samples.items():
        jobs = [(_low_shot_fit_test, x, t, tx, test_t, c, cost, s, seed)
                for t in sample_list for cost in costs for c in range(C)]
        aps, unconverged = _parallel(jobs, n_jobs)
        ap = np.array(aps).reshape(len(sample_list), len(costs), C).mean(axis=2)
        best = int(ap.mean(axis=0).argmax())
        col = ap[:, best]
        out[k] = {"mean": float(col.mean()), "std": float(col.std()), "min": float(col.min()), "max": float(col.max()),
                  "cost": costs[best], "ap": ap.tolist(), "unconverged": unconverged, "fits": len(jobs)}
    return out
