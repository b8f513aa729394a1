"""COCO-Stuff in PiCIE's layout (harness/data/cocostuff.py): the synthetic writer's files verify, its
labels are COCO-Stuff fine ids of eight different mid-level classes, the curated lists drive the
split, and a missing list is one problem naming it."""
from __future__ import annotations

import numpy as np
from PIL import Image

from harness.data import LAYOUTS, verify, write_synthetic
from harness.data.cocostuff import LIST_NAME
from harness.data.scenes import synth_version
from harness.data.seg import SYNTH_LABELS


def test_synthetic_cocostuff_verifies_and_holds_the_mapped_fine_ids(tmp_path):
    root = write_synthetic("cocostuff", tmp_path / "cs", seed=0, n_train=6, n_val=3, size=(40, 48))
    assert verify("cocostuff", root, "train") == [] and verify("cocostuff", root, "val") == []
    pairs = LAYOUTS["cocostuff"].pairs(root, "val", [])
    assert [p.stem for p, _ in pairs] == (root / "curated" / "val2017" / LIST_NAME).read_text().split()
    ids = set()
    for _, lab in LAYOUTS["cocostuff"].pairs(root, "train", []):
        ids |= set(np.unique(np.asarray(Image.open(lab))).tolist())
    allowed = set(SYNTH_LABELS["cocostuff"]["shapes"]) | set(SYNTH_LABELS["cocostuff"]["stuff"])
    assert ids <= allowed and len(ids & set(SYNTH_LABELS["cocostuff"]["stuff"])) >= 2
    assert synth_version("cocostuff") == synth_version("ade20k")  # banded stuff, any-hue objects


def test_the_curated_list_is_the_split(tmp_path):
    root = write_synthetic("cocostuff", tmp_path / "cs", seed=0, n_train=4, n_val=2, size=(40, 48))
    lst = root / "curated" / "train2017" / LIST_NAME
    first = lst.read_text().split()[0]
    lst.write_text(first + "\n")               # a shorter curated list: the split is what it names
    assert [p.stem for p, _ in LAYOUTS["cocostuff"].pairs(root, "train", [])] == [first]
    lst.unlink()
    problems = verify("cocostuff", root, "train")
    assert len(problems) == 1 and problems[0].startswith(f"{lst}: missing (PiCIE's curated image list)")
