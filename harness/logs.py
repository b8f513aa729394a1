"""Third-party warnings go into the run's own log, not onto the console.

Frameworks warn about things a DenseBench user cannot act on (torch.jit.script's deprecation inside
Detectron2, torch.meshgrid's indexing argument, mmcv's notices). Inside `warnings_into(path)` every
Python warning (C++ TORCH_WARN arrives as one) is appended to `path`, once per place it is raised,
and nothing of it reaches the terminal; the file stays beside the run's record or checkpoint, where a
developer who needs it finds it.
"""
from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def warnings_into(path: str | os.PathLike) -> Iterator[Path]:
    """Within the block, warnings are appended to `path` (its folder must exist) instead of stderr."""
    path = Path(path)

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001 - warnings' signature
        try:
            with open(path, "a") as f:
                f.write(warnings.formatwarning(message, category, filename, lineno, line))
        except OSError:
            pass  # a log that cannot be written loses the warning, never the run

    with warnings.catch_warnings():
        warnings.simplefilter("default")  # once per location, as Python's default for most categories
        warnings.showwarning = show
        yield path
