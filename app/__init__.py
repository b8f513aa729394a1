"""The application layer: the `bench` commands (app.cli) and the sweep runners (app.sweep: child
processes on this machine; app.sweep_submit: submitit jobs), above the four packages.

The flow reads one way: app -> {harness, pretrainers' and benchmarks' own commands through entry
points, leaderboards}; leaderboards reads records and runs nothing; harness, pretrainers and
benchmarks never import app (tests/test_layering.py)."""
