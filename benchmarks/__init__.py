"""Downstream tasks: one module per task family plus its protocol folders (protocols/<task>/).

Tasks are registered through the `densebench.tasks` entry points (pyproject.toml); importing this
package imports nothing else, so listing tasks or scoring DAVIS never loads a framework.
"""
