"""The two scales of every recipe and protocol: `paper` (the published recipe, unchanged) and `mini`
(the same code on synthetic data on a CPU in minutes). A module of its own so that the command
line can offer them as choices without importing the recipe reader."""
from __future__ import annotations

SCALES = ("paper", "mini")
