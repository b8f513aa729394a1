"""DenseBench harness: registries, canonical checkpoint and converters, data layouts and the
synthetic generator, the training engine, run orchestration, the results store and the CLI."""

# Before anything imports torch (and with it libgomp): how idle OpenMP threads wait (harness/threads.py).
from harness.threads import configure_openmp as _configure_openmp  # noqa: E402

_configure_openmp()
