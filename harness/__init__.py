"""DenseBench harness: registries, canonical checkpoint and converters, data layouts and the
synthetic generator, the training engine, run orchestration, the results store and the CLI."""
