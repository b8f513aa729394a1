"""Recipes are data read strictly: every unknown or missing key is a one-line error naming file and key."""
import textwrap

import pytest

from harness.errors import BenchError
from harness.recipe import load_card, with_overrides
from harness.registry import METHODS

GOOD = """
method: toy
description: a toy
export_encoder: online
source: nowhere
recipes:
  paper:
    version: 1
    scale: paper
    source: a paper
    arch: resnet50
    epochs: 10
    data: {layout: coco, split: train}
    params: {dim: 8}
    train:
      epochs: 10
      batch_size: 64
      optimizer: {name: sgd, lr: 0.1, weight_decay: 0.0001}
  longer:
    extends: paper
    source: the paper, longer
    epochs: 20
    train: {epochs: 20}
"""


def _card(tmp_path, text):
    f = tmp_path / "toy.yaml"
    f.write_text(textwrap.dedent(text))
    return load_card(f, "toy")


def test_extends_and_typed_values(tmp_path):
    card = _card(tmp_path, GOOD)
    r = card.recipe("longer")
    assert r.train.epochs == 20 and r.train.batch_size == 64 and r.epochs == 20 and r.version == 1
    assert r.train.optimizer.momentum == 0.9 and r.train.schedule.name == "cosine" and r.train.ema is None
    assert r.method == "toy" and r.name == "longer" and r.data.label() == "coco:train"
    assert card.recipe("paper").identity() != r.identity()


@pytest.mark.parametrize("old,new,message", [
    ("optimizer: {name: sgd,", "optimzer: {name: sgd,", r"recipes.paper.train.optimzer: unknown key; did you mean 'optimizer'\?"),
    ("    arch: resnet50\n", "", r"recipes.paper.arch: missing \(required\)"),
    ("batch_size: 64", "batch_size: sixty-four", r"recipes.paper.train.batch_size: expected an integer, got 'sixty-four'"),
    ("name: sgd,", "name: adam,", r"recipes.paper.train.optimizer.name: 'adam' is not one of sgd, lars"),
    ("scale: paper", "scale: mimi", r"recipes.paper.scale: 'mimi' is not one of paper, mini"),
    ("extends: paper", "extends: papr", r"recipes.longer.extends: 'papr' is not another recipe"),
    ("source: nowhere", "source: nowhere\nowner: me", r"toy.yaml: owner: unknown key"),
])
def test_bad_recipe_is_one_line_error_naming_file_and_key(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(BenchError, match=message) as e:
        _card(tmp_path, GOOD.replace(old, new, 1))
    assert str(tmp_path / "toy.yaml") in str(e.value) and "\n" not in str(e.value)


def test_method_params_checked_against_the_method(tmp_path):
    method = METHODS.load("mocov2")
    r = method.card.recipe("mini")
    assert method.params(r).K == 256 and method.params(r).blur_sigma == pytest.approx((0.1 * 64 / 224, 2.0 * 64 / 224))
    with pytest.raises(BenchError, match=r"mocov2.yaml: recipes.mini.params.Kk: unknown key; did you mean 'K'\?"):
        method.params(with_overrides(r, {"params": {"Kk": 3}}))


@pytest.mark.parametrize("name", sorted(METHODS.names()))
def test_every_builtin_recipe_reads_and_its_params_fit_the_method(name):
    method = METHODS.load(name)
    for r in method.card.recipes.values():
        method.params(r)
        assert r.scale in ("paper", "mini") and r.source and r.version >= 1
        if r.data is not None:  # mini recipes pre-train on synthetic data, paper ones on the real data set
            assert (r.scale == "mini") == (r.data.synth is not None)
