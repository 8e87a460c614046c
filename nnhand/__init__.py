"""nnhand: neural networks by hand — exercise generator and grader.

The Python API, for notebooks and scripts (nothing heavy is imported until used):

    import nnhand
    template = nnhand.load("hidden-layer")
    sheet = nnhand.generate("hidden-layer", seed=7)          # a Sheet: problem + blanks
    problem = nnhand.solve("single-neuron", {"w": [1, -1, 1], "x": [2, 1, 3], "b": -5})
    report = nnhand.grade("answers.yaml")                     # a Report: score, cells
"""

from __future__ import annotations

from typing import Any

from nnhand._version import __version__

__all__ = ["__version__", "catalogue", "generate", "grade", "load", "solve"]


def __getattr__(name: str) -> Any:
    if name in {"load", "generate", "solve", "grade", "catalogue"}:
        from nnhand import api

        return getattr(api, name)
    raise AttributeError(f"module 'nnhand' has no attribute {name!r}")
