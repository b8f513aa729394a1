"""Pre-training methods: one module per method plus its recipe file (recipes/<method>.yaml).

Methods are registered through the `densebench.methods` entry points (pyproject.toml); importing
this package imports nothing else, so listing methods never loads torch or a method's code.
"""
