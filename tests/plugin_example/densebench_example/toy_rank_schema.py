"""The settings of toy_rank's protocols (a plugin names its own schema in its task card)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ToyRankDataset:
    layout: str
    split: str
    synth: dict | None = None


@dataclass(frozen=True)
class ToyRankProtocol:
    dataset: ToyRankDataset
    stage: str
    images: int
    size: tuple[int, ...]
