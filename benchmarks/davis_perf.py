"""`bench perf --davis`: J&F scoring time of benchmarks.davis_score against the per-frame reference of
the official algorithm (benchmarks.davis_reference), on synthetic 480p sequences, numbers compared;
and the whole `bench davis-score` command (a fresh interpreter: start-up, imports, scoring, CSVs)."""
from __future__ import annotations

import subprocess
import sys
import time
from typing import Any


def davis_speed(n_seq: int = 4, n_frames: int = 20, size: tuple[int, int] = (480, 854), workers: int | None = None,
                seed: int = 0) -> dict[str, Any]:
    """J&F scoring time of benchmarks.davis_score against the per-frame reference of the official
    algorithm, on synthetic 480p sequences with perturbed predictions; also checks the numbers agree."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from benchmarks import davis_reference, davis_score
    from harness.data.davis import annotation_files, read_indexed, sequences, write_indexed, write_synthetic_davis
    with tempfile.TemporaryDirectory() as d:
        root = write_synthetic_davis(Path(d) / "DAVIS", seed=seed, n_train=1, n_val=n_seq, n_frames=n_frames, size=size)
        res = Path(d) / "results"
        rng = np.random.default_rng(seed)
        for seq in sequences(root, "val"):
            for f in annotation_files(root, seq):
                write_indexed(res / seq / f"{f.stem}.png", np.roll(read_indexed(f), int(rng.integers(-6, 7)), axis=1))
        t0 = time.perf_counter()
        ref = davis_reference.evaluate(root, res, "val")
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast, _ = davis_score.evaluate(root, res, "val", workers=workers)
        t_fast = time.perf_counter() - t0
        # the whole command as a user runs it: interpreter start-up, imports, scoring, the CSVs
        cmd = [sys.executable, "-m", "harness.cli", "davis-score", "--davis-root", str(root), "--results", str(res),
               *(["--workers", str(workers)] if workers else [])]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        t_cmd = time.perf_counter() - t0
    same = all(abs(fast[k] - v) < 1e-12 for k, v in ref.items()) and f"J&F-Mean {fast['J&F-Mean']:.3f}" in out
    return {"sequences": n_seq, "frames": n_frames, "size": f"{size[1]}x{size[0]}", "reference_s": round(t_ref, 2),
            "densebench_s": round(t_fast, 2), "speedup": round(t_ref / t_fast, 1), "identical": same,
            "command_s": round(t_cmd, 2), "command_speedup": round(t_ref / t_cmd, 1),
            "J&F-Mean": round(fast["J&F-Mean"], 6)}
