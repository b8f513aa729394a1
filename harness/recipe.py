"""Pre-training recipes as versioned data: `<package>/recipes/<method>.yaml` beside each method.

A recipe file holds the method's card and its named recipes:

    method: mocov2                 # must equal the file name
    description: ...               # what `bench ls` shows
    export_encoder: online         # which encoder the authors export: online | ema
    source: ...                    # where the method's facts come from
    recipes:
      paper:                       # the published recipe, unchanged
        version: 1                 # bump when any value changes: part of the pre-training cache key
        scale: paper               # the evaluation scale its checkpoints belong to: paper | mini
        source: ...                # repository and file of the official recipe
        arch: resnet50
        data: {layout: coco, split: train}            # synth: {...} = synthetic data (mini)
        params: {...}              # the method's own hyper-parameters (checked against its Params)
        after: {stage1: byol/mini} # earlier stages: name -> method/recipe, pre-trained first (ORL)
        train: {epochs, batch_size, optimizer, schedule, ema, workers, ckpt_every, amp}
      paper_in1k_100ep: {extends: paper, ...}         # deep-merged over another recipe

A *recipe* is how a method pre-trains; a *scale* (`paper` or `mini`) is the size of the world a
checkpoint is evaluated in. Every unknown or missing key is a one-line error naming file and key.

A recipe's pre-training epochs (`Recipe.epochs`, recorded in the checkpoint) are `train.epochs`, 0
for a recipe that does not train (random init): one value, so an override of `train.epochs` cannot
leave a checkpoint claiming another count. A top-level `epochs:` (recipe files written before
2026-12-02, plugins) is accepted only when it agrees.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import BenchError, did_you_mean
from harness.scales import SCALES  # re-exported: harness.recipe.SCALES
from harness.schema import deep_merge, parse, read_yaml, to_data


@dataclass(frozen=True)
class DataSource:
    """Another layout's split pre-trained on together with the recipe's main one (`data.also`)."""
    layout: str
    split: str
    synth: dict | None = None


@dataclass(frozen=True)
class DataSpec:
    """The pre-training images: a layout's split; `synth` (generator parameters) = synthetic data;
    `also`: more sources whose images join the set (Zhang & Maire: VOC train_aug + COCO train)."""
    layout: str
    split: str
    synth: dict | None = None
    also: tuple[DataSource, ...] = ()

    def label(self) -> str:
        return " + ".join(f"{d.layout}:{d.split}" + (" (synthetic)" if d.synth is not None else "")
                          for d in (self, *self.also))


@dataclass(frozen=True)
class OptimizerSpec:
    """SGD, LARS or Adam (harness.engine.optim). lr_scaling 'linear': lr x global batch / 256.
    Adam: torch's Adam with L2 weight decay, betas (0.9, 0.999) (momentum unused)."""
    name: Literal["sgd", "lars", "adam"]
    lr: float
    weight_decay: float
    momentum: float = 0.9
    lr_scaling: Literal["none", "linear"] = "none"
    exclude_1d: bool = False  # 1-D parameters (biases, norms): no weight decay, no LARS adaptation
    eta: float = 0.001        # LARS trust coefficient


@dataclass(frozen=True)
class ScheduleSpec:
    """Linear warm-up from warmup_from x lr, then cosine to final_lr, evaluated per iteration or epoch;
    'step': lr x gamma at each epoch in milestones (Zhang & Maire: x0.1 at 25, 45, 60).
    warmup_style 'restart': the cosine starts where the warm-up ends (PixPro, SlotCon); 'mmcv': the
    cosine runs over the whole schedule from iteration 0 and the warm-up scales its value, as mmcv
    1.x's LrUpdaterHook does (OpenSelfSup: ORL, its BYOL stage)."""
    name: Literal["cosine", "constant", "step"] = "cosine"
    per: Literal["iter", "epoch"] = "iter"
    warmup_epochs: float = 0
    warmup_from: float = 0.0
    final_lr: float = 0.0
    milestones: tuple[int, ...] = ()  # epochs, for 'step'
    gamma: float = 0.1
    warmup_style: Literal["restart", "mmcv"] = "restart"

    def __post_init__(self) -> None:
        if self.warmup_style == "mmcv" and self.name != "cosine":
            raise BenchError(f"schedule.warmup_style mmcv: only with name cosine (got {self.name})")


@dataclass(frozen=True)
class EMASpec:
    """Momentum of an EMA (target) encoder: fixed, or cosine from base to 1."""
    base: float
    schedule: Literal["fixed", "cosine"] = "fixed"


@dataclass(frozen=True)
class TrainSpec:
    """epochs; batch_size is global (split over processes). sync_bn: harness.engine.syncbn.
    precision: the official run's arithmetic
    on CUDA (fp16: autocast + gradient scaler, as apex O1 / torch.cuda.amp / OpenSelfSup's use_fp16;
    bf16: autocast, a named option; fp32: none); CPU runs are always fp32."""
    epochs: int
    batch_size: int
    optimizer: OptimizerSpec
    schedule: ScheduleSpec = ScheduleSpec()
    ema: EMASpec | None = None
    workers: int = 2
    ckpt_every: int = 200
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"
    sync_bn: tuple[str, ...] = ()  # submodules whose BN spans all processes (where the official code converts)
    # GPUs of the official run (its per-GPU batch is batch_size / published_gpus): documentation of
    # the published setting, compared with the run's world size in its summary; not in the cache key
    published_gpus: int | None = None
    # activations and conv weights in NHWC (torch.channels_last): the same arithmetic in another
    # summation order (weights equal to ~1e-6, not bit for bit), 1.17-1.26x faster steps for ResNet-50
    # on this CPU (docs/measured-speed.md, "Speed against the official code"); in the cache key when not contiguous
    memory_format: Literal["contiguous", "channels_last"] = "contiguous"


@dataclass(frozen=True)
class Recipe:
    version: int
    scale: Literal["paper", "mini"]
    source: str
    arch: str
    data: DataSpec | None = None
    train: TrainSpec | None = None
    params: dict = field(default_factory=dict)
    # earlier stages this recipe builds on: name -> 'method/recipe', pre-trained first (same seed and
    # data root, each its own cache entry) and handed to Method.prepare (ORL's stage 1)
    after: dict = field(default_factory=dict)
    # filled in by the reader, not written in the file
    method: str = ""
    name: str = ""
    file: str = ""

    @property
    def epochs(self) -> int:
        """Pre-training epochs: train.epochs, 0 where the recipe does not train."""
        return self.train.epochs if self.train is not None else 0

    def identity(self) -> dict[str, Any]:
        """What determines the pre-trained weights (the cache key's part): every value, not the file's
        path nor the `source` text (documentation: correcting it must not retrain anything)."""
        d = to_data(self)
        d["epochs"] = self.epochs  # a field until 2026-12-02: keeps every cache key
        d.pop("file")
        d.pop("source")
        if not d["after"]:  # absent from single-stage recipes: their cache keys predate the field
            d.pop("after")
        if d.get("data") and not d["data"]["also"]:  # the same for single-source data
            d["data"].pop("also")
        if d.get("train"):
            d["train"].pop("published_gpus")  # what the paper ran on, not what determines the weights
            if d["train"]["memory_format"] == "contiguous":  # keys that predate the field
                d["train"].pop("memory_format")
        sched = (d.get("train") or {}).get("schedule")
        if sched is not None and sched["name"] != "step":  # keys that predate the step schedule
            sched.pop("milestones")
            sched.pop("gamma")
        if sched is not None and sched["warmup_style"] == "restart":  # keys that predate the field
            sched.pop("warmup_style")
        return d

    def stages(self) -> dict[str, tuple[str, str]]:
        """`after` as name -> (method, recipe)."""
        return {k: tuple(v.split("/", 1)) for k, v in self.after.items()}  # type: ignore[misc]


@dataclass(frozen=True)
class MethodCard:
    """A method's recipe file: what listing needs, read without importing the method."""
    method: str
    description: str
    export_encoder: Literal["online", "ema"]
    source: str
    recipes: dict[str, Recipe]
    file: str

    def recipe(self, name: str) -> Recipe:
        if name not in self.recipes:
            raise BenchError(f"method '{self.method}' has no recipe '{name}'{did_you_mean(name, self.recipes)} "
                             f"(has: {', '.join(self.recipes)})")
        return self.recipes[name]


_FILLED = ("method", "name", "file")


def _resolve_extends(raw: dict[str, Any], name: str, file: Path, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """A recipe section with its `extends` chain merged in: `extends: other` names a recipe of the same
    file, `extends: method/other` one of the recipe file beside it (recipes/<method>.yaml: PixContrast's
    recipes are PixPro's plus tau)."""
    section = raw[name]
    if not isinstance(section, dict):
        raise BenchError(f"{file}: recipes.{name}: expected a mapping")
    base = section.get("extends")
    if base is None:
        return section
    body = {k: v for k, v in section.items() if k != "extends"}
    here = f"{file.stem}/{name}"
    if not isinstance(base, str):
        raise BenchError(f"{file}: recipes.{name}.extends: {base!r}: expected a recipe name or method/recipe")
    other_file, other_raw, other = file, raw, base
    if "/" in base:
        method, _, other = base.partition("/")
        other_file = file.parent / f"{method}.yaml"
        d = read_yaml(other_file, "a recipe file") if other_file.is_file() else None
        other_raw = d.get("recipes") if isinstance(d, dict) else None
        if not isinstance(other_raw, dict):
            raise BenchError(f"{file}: recipes.{name}.extends: '{base}': no recipe file {other_file} beside this one")
    qualified = f"{other_file.stem}/{other}"
    if other not in other_raw or qualified in seen or qualified == here:
        raise BenchError(f"{file}: recipes.{name}.extends: '{base}' is not another recipe of "
                         f"{'this file' if other_file == file else other_file}")
    return deep_merge(_resolve_extends(other_raw, other, other_file, seen + (here,)), body)


def parse_recipe(data: dict[str, Any], method: str, name: str, file: str | Path,
                 overrides: dict[str, Any] | None = None) -> Recipe:
    """A Recipe from its resolved section (+ overrides deep-merged, Python API / tests)."""
    where = f"{file}: recipes.{name}"
    for k in _FILLED:
        if k in data:
            raise BenchError(f"{where}.{k}: unknown key (set by the reader, not the file)")
    if overrides:
        data = deep_merge(data, overrides)
    given = data.get("epochs")
    r = parse(Recipe, {k: v for k, v in data.items() if k != "epochs"}, where)
    if given is not None and given != r.epochs:
        raise BenchError(f"{where}.epochs: {given!r} differs from train.epochs ({r.epochs}; 0 without train): "
                         f"the epochs are train.epochs, drop the top-level key")
    for k, v in r.after.items():
        if not isinstance(v, str) or v.count("/") != 1 or not all(v.split("/")):
            raise BenchError(f"{where}.after.{k}: {v!r}: expected 'method/recipe' (e.g. byol/mini)")
    gpus = r.train.published_gpus if r.train is not None else None
    if gpus is not None and (gpus < 1 or r.train.batch_size % gpus):
        raise BenchError(f"{where}.train.published_gpus: {gpus} does not divide batch_size {r.train.batch_size}")
    if r.train is not None and r.data is None:
        raise BenchError(f"{where}.data: missing (a recipe that trains needs pre-training data)")
    return dataclasses.replace(r, method=method, name=name, file=str(file))


def with_overrides(recipe: Recipe, overrides: dict[str, Any] | None) -> Recipe:
    """The recipe with `overrides` deep-merged (Python API, tests), re-read strictly."""
    if not overrides:
        return recipe
    data = {k: v for k, v in to_data(recipe).items() if k not in _FILLED}
    return parse_recipe(data, recipe.method, recipe.name, recipe.file, overrides)


def load_card(file: str | Path, method: str) -> MethodCard:
    """Read and check a method's recipe file (every recipe parsed strictly)."""
    file = Path(file)
    if not file.is_file():
        raise BenchError(f"{file}: missing (the recipe file of method '{method}')")
    d = read_yaml(file, "a recipe file (method, description, export_encoder, source, recipes)")
    if not isinstance(d, dict):
        raise BenchError(f"{file}: expected a mapping with method, description, export_encoder, source, recipes")
    known = ("method", "description", "export_encoder", "source", "recipes")
    for k in d:
        if k not in known:
            raise BenchError(f"{file}: {k}: unknown key (expected one of {', '.join(known)})")
    for k in known:
        if k not in d:
            raise BenchError(f"{file}: {k}: missing (required)")
    if d["method"] != method:
        raise BenchError(f"{file}: method '{d['method']}' differs from the registered name '{method}'")
    raw = d["recipes"]
    if not isinstance(raw, dict) or not raw:
        raise BenchError(f"{file}: recipes: expected a mapping of named recipes")
    from harness.names import check_name
    for n in raw:  # recipe names become parts of cache folders' names
        check_name(n, f"{file}: recipes:")
    recipes = {n: parse_recipe(_resolve_extends(raw, n, file), method, n, file) for n in raw}
    card = parse(MethodCard, {**d, "recipes": {}, "file": str(file)}, str(file))
    return dataclasses.replace(card, recipes=recipes)
