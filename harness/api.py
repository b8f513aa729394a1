"""The interface every method and every task implements: the one shape DenseBench grows in.

A *method* is one module plus one recipe file (harness.recipe): it builds the pre-training model
from a recipe, gives the pre-training data set and says which module is the exported backbone.
The engine (harness.engine) trains it; harness.runs writes the canonical checkpoint.

A *task* is one module plus its protocol folder (harness.protocol): its `run(ctx)` receives a
`RunContext` in which the harness has already done the common prologue (protocol resolved for the
scale, overrides merged, the checkpoint read and checked once, output folder staged) and returns a
`TaskResult`. A task writes only under `ctx.out_dir`.

Both register through entry points (`densebench.methods`, `densebench.tasks`), DenseBench's own
exactly like a plugin's (README, "Adding a method", "Adding a task").
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import BenchError
from harness.schema import parse

if TYPE_CHECKING:  # torch is imported by implementations, never by listing
    import torch
    from torch.utils.data import Dataset

    from harness.checkpoint import Checkpoint
    from harness.protocol import Protocol, TaskCard
    from harness.recipe import MethodCard, Recipe


class Method(ABC):
    """A registered pre-training method. `name` and `card` (its recipe file) are set by the registry."""
    name: str = ""
    card: MethodCard | None = None
    Params: type | None = None  # dataclass of the method's own hyper-parameters (a recipe's `params`)

    @property
    def export_encoder(self) -> str:
        return self.card.export_encoder if self.card else "online"

    def params(self, recipe: Recipe) -> Any:
        """The recipe's `params`, read strictly into `Params` (unknown or missing key: one-line error)."""
        if self.Params is None:
            if recipe.params:
                raise BenchError(f"{recipe.file}: recipes.{recipe.name}.params: method '{self.name}' takes no params")
            return None
        return parse(self.Params, recipe.params, f"{recipe.file}: recipes.{recipe.name}.params")

    @abstractmethod
    def build(self, recipe: Recipe, seed: int) -> torch.nn.Module:
        """The full pre-training model: forward(batch) -> {'loss': ..., **logs}; momentum_update(m) if EMA."""

    @abstractmethod
    def dataset(self, recipe: Recipe, files: list[Path]) -> Dataset:
        """The pre-training data set over image files (labels unused)."""

    @abstractmethod
    def backbone(self, model: torch.nn.Module) -> torch.nn.Module:
        """The torchvision-named ResNet to export (fc is dropped by the canonical writer)."""

    # a harness.embedding kind when heads() is a pixel embedding the probes can run (hiergroup's
    # "hypercolumn"); written into the heads file's metadata
    embedding: str | None = None

    def heads(self, model: torch.nn.Module) -> dict[str, torch.Tensor]:
        """Extra tensors worth keeping beside the backbone (e.g. SlotCon's prototypes for inspection)."""
        return {}

    def prepare(self, recipe: Recipe, ctx: StageContext) -> dict[str, Any]:
        """Work between earlier stages (recipe `after`, already pre-trained: ctx.stages) and this
        method's training, e.g. ORL's correspondence discovery. Called once per process before
        build/dataset; may keep on `self` what `dataset` reads. Returns a summary for the checkpoint's
        metadata. Default: nothing to do."""
        return {}


@dataclass
class StageContext:
    """What Method.prepare receives (harness.runs builds it)."""
    seed: int
    files: list[Path]               # the pre-training images (sorted)
    stages: dict[str, Path]         # name in the recipe's `after` -> that stage's canonical checkpoint
    entry_dir: Path                 # this pre-training's cache entry: artefacts kept beside the checkpoint go here
    data_root: str | None = None
    progress: bool = True
    workers: int = 1                # processes a CPU-bound step may use (harness.artefacts.map_chunks)


@dataclass
class RunContext:
    """Everything a task's run needs, prepared once by the harness (harness.runs.evaluate)."""
    task: str
    protocol: Protocol
    scale: str                      # 'paper' or 'mini'
    spec: dict[str, Any]            # the protocol's settings at this scale (+ overrides), as the file spells them
    checkpoint: Checkpoint          # read and checked once: state, meta, normalization, file_sha256
    seed: int
    out_dir: Path                   # the run's (staged) folder: write only here
    data_root: str | None = None
    device: str = "cpu"
    world_size: int = 1
    # the same settings read strictly into the task card's schema (a frozen dataclass of
    # benchmarks/protocol_schemas.py): what a task reads, by attribute; framework subtrees stay dicts
    settings: Any = None

    def data(self, layout: str, synth: dict | None = None) -> Path:
        """The root of `layout`: synthetic (cached) at `mini`, the real one under the data root at `paper`."""
        from harness.data import dataset_root
        return dataset_root(layout, self.scale, self.data_root, synth)

    def require_depth(self, depth: int) -> None:
        """Refuse (before any work) a protocol whose framework builds another ResNet than the checkpoint's."""
        if self.checkpoint.depth != depth:
            raise BenchError(f"{self.checkpoint.path}: a {self.checkpoint.arch} backbone cannot run protocol "
                             f"{self.protocol.full_id} ({self.scale}), which builds ResNet-{depth}")


@dataclass
class TaskResult:
    """metrics: name -> value (None where undefined, e.g. COCOeval's NaN); config: the framework
    config exactly as the framework received it (text); artefacts: name -> file under out_dir."""
    metrics: dict[str, float | None]
    config: str
    notes: dict[str, Any] = field(default_factory=dict)
    artefacts: dict[str, str] = field(default_factory=dict)


class Task(ABC):
    """A registered downstream evaluation. `name` and `card` are set by the registry."""
    name: str = ""
    card: TaskCard | None = None

    @abstractmethod
    def run(self, ctx: RunContext) -> TaskResult:
        """Evaluate ctx.checkpoint under ctx.settings; write only under ctx.out_dir."""

    def framework_config(self, settings: Any, scale: str) -> str:
        """The config the framework receives for `settings` (the protocol at `scale`, read into the
        task's schema; paths as placeholders), as YAML text: what `bench protocol show --resolved`
        prints to diff against an official config file. Default: the settings themselves, every
        field (a task that is its own framework, e.g. label propagation, receives exactly these)."""
        import yaml

        from harness.schema import to_data
        return yaml.safe_dump(to_data(settings), sort_keys=False)
