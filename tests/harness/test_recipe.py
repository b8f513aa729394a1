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
    data: {layout: coco, split: train}
    params: {dim: 8}
    train:
      epochs: 10
      batch_size: 64
      optimizer: {name: sgd, lr: 0.1, weight_decay: 0.0001}
  longer:
    extends: paper
    source: the paper, longer
    epochs: 20  # the pre-2026-12-02 top-level copy: accepted where it agrees with train.epochs
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
    ("name: sgd,", "name: adamw,", r"recipes.paper.train.optimizer.name: 'adamw' is not one of sgd, lars, adam"),
    ("scale: paper", "scale: mimi", r"recipes.paper.scale: 'mimi' is not one of paper, mini"),
    ("extends: paper", "extends: papr", r"recipes.longer.extends: 'papr' is not another recipe"),
    ("source: nowhere", "source: nowhere\nowner: me", r"toy.yaml: owner: unknown key"),
    ("batch_size: 64", "batch_size: 64\n      published_gpus: 5",
     r"recipes.paper.train.published_gpus: 5 does not divide batch_size 64"),
    ("    epochs: 20  #", "    epochs: 30  #", r"recipes.longer.epochs: 30 differs from train.epochs \(20;"),
])
def test_bad_recipe_is_one_line_error_naming_file_and_key(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(BenchError, match=message) as e:
        _card(tmp_path, GOOD.replace(old, new, 1))
    assert str(tmp_path / "toy.yaml") in str(e.value) and "\n" not in str(e.value)


def test_epochs_are_train_epochs_and_keep_the_cache_keys(tmp_path):
    """One count: an override of train.epochs is what the checkpoint records (before 2026-12-02 a
    top-level copy stayed at the file's value). The identity still holds `epochs`, so cache keys did
    not move: these two were computed at 77cfd6b, when `epochs` was a field of its own."""
    from harness.schema import stable_hash
    card = _card(tmp_path, GOOD)
    assert card.recipe("paper").epochs == 10
    r = with_overrides(METHODS.card("mocov2").recipe("mini"), {"train": {"epochs": 1}})
    assert r.epochs == 1 and r.identity()["epochs"] == 1
    assert METHODS.card("random").recipe("mini").epochs == 0
    assert stable_hash(METHODS.card("random").recipe("mini").identity()) == "a01363e562854b8a"
    # mocov2 mini@v2; a new recipe version changes this legitimately
    assert stable_hash(METHODS.card("mocov2").recipe("mini").identity()) == "688f1eb656bcd3fe"
    with pytest.raises(BenchError, match=r"recipes.mini.epochs: 3 differs from train.epochs \(15;"):
        with_overrides(METHODS.card("mocov2").recipe("mini"), {"epochs": 3})


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


def test_paper_precision_is_the_official_runs():
    """fp16 where the official code trains in mixed precision (PixPro: apex O1; SlotCon: --fp16; ORL
    stage 1 = BYOL: use_fp16), fp32 where it does not (MoCo's main_moco.py, DenseCL's config)."""
    want = {"mocov2": "fp32", "densecl": "fp32", "byol": "fp16", "pixpro": "fp16", "pixcontrast": "fp16", "slotcon": "fp16"}
    for name, prec in want.items():
        card = METHODS.card(name)
        assert {r.name: r.train.precision for r in card.recipes.values() if r.scale == "paper"} == \
            {r.name: prec for r in card.recipes.values() if r.scale == "paper"}
        assert card.recipe("mini").train.precision == "fp32"


def test_published_gpus_are_the_official_runs_and_stay_out_of_the_cache_key():
    """8 GPUs in every official script or config (sources in the recipe files); Zhang & Maire do not
    say. The field documents the published run: it does not change what a pre-training trains."""
    for name in ("mocov2", "densecl", "byol", "orl", "pixpro", "pixcontrast", "slotcon"):
        card = METHODS.card(name)
        assert {r.train.published_gpus for r in card.recipes.values() if r.scale == "paper"} == {8}
        assert card.recipe("mini").train.published_gpus is None
    assert METHODS.card("hiergroup").recipe("paper").train.published_gpus is None
    r = METHODS.card("pixpro").recipe("paper")
    assert r.train.batch_size // r.train.published_gpus == 128  # tools/pixpro_base_r50_400ep.sh --batch-size 128
    assert with_overrides(r, {"train": {"published_gpus": 4}}).identity() == r.identity()


def test_precision_applies_on_cuda_only():
    import torch
    from harness.engine.step import effective_precision, grad_scaler
    assert effective_precision("fp16", torch.device("cpu")) == "fp32"
    assert effective_precision("fp16", torch.device("cuda", 0)) == "fp16" and grad_scaler("fp32") is None


@pytest.mark.parametrize("name", ["pixpro", "slotcon", "byol"])
def test_sync_bn_names_the_models_submodules(name):
    """The official code converts these to SyncBN: they must exist (and hold BN layers) in the model."""
    import torch
    method = METHODS.load(name)
    r = method.card.recipe("mini")
    model = method.build(r, 0)
    assert r.train.sync_bn == method.card.recipe("paper").train.sync_bn and r.train.sync_bn
    for sub in r.train.sync_bn:
        assert any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in getattr(model, sub).modules()), sub


def test_a_recipe_extends_one_of_the_file_beside_it(tmp_path):
    """pixcontrast's recipes are pixpro's plus tau (extends: pixpro/paper): the same identity but for
    tau; a name that is no recipe there, or a loop across files, is one line naming the file."""
    from harness.recipe import load_card
    from harness.registry import METHODS
    pp, pc = (METHODS.card(m).recipe("paper") for m in ("pixpro", "pixcontrast"))
    a, b = pp.identity(), pc.identity()
    assert (a.pop("method"), b.pop("method")) == ("pixpro", "pixcontrast")
    assert b["params"].pop("tau") == 0.3 and "tau" not in a["params"] and a == b
    (tmp_path / "a.yaml").write_text("method: a\ndescription: d\nexport_encoder: online\nsource: s\n"
                                     "recipes:\n  x: {extends: b/y}\n")
    (tmp_path / "b.yaml").write_text("method: b\ndescription: d\nexport_encoder: online\nsource: s\n"
                                     "recipes:\n  y: {extends: a/x}\n")
    (tmp_path / "d.yaml").write_text("method: d\ndescription: d\nexport_encoder: online\nsource: s\n"
                                     "recipes:\n  z: {extends: c/q}\n")
    with pytest.raises(BenchError, match=r"recipes.y.extends: 'a/x' is not another recipe of .*a.yaml"):
        load_card(tmp_path / "a.yaml", "a")
    with pytest.raises(BenchError, match=r"recipes.z.extends: 'c/q': no recipe file .*c.yaml beside this one"):
        load_card(tmp_path / "d.yaml", "d")
