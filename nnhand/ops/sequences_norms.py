"""The ops of the sequence and normalisation exercises: positions and the sinusoidal encoding.

`positions(n)` is the column of positions 1..n; `sinusoid(A)` turns a grid of angles (one
column per frequency) into the encoding [sin, cos] per frequency, interleaved as in the
transformer paper. Like sigmoid and tanh the encoding is floats: a template declares the
rounding (2 decimals, the sheet's printed table) and later steps use the rounded values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnhand.ops.arrays import _size_arg
from nnhand.ops.registry import register
from nnhand.ops.written import Hint, Node, Part, Site, Work, num

Array = np.ndarray


def _worked_positions(work: Work, node: Node, i: int, j: int) -> Part:
    return Part(f"({i + 1})", i + 1, simple=True, ref=str(i + 1))


@register(worked=_worked_positions)
def positions(n: Any) -> Array:
    """The column of positions 1, 2, ..., n (one row per token)."""
    count = _size_arg(n, "positions")
    return np.arange(1, count + 1, dtype=np.int64).reshape(1, count, 1)


def _worked_sinusoid(work: Work, node: Node, i: int, j: int) -> Part:
    angle = work.at(work.value(node.args[0]), i, j // 2)
    value = work.at(work.value(node), i, j)
    name = "sin" if j % 2 == 0 else "cos"
    return Part(f"{name}({num(angle)})", value)


def _hint_sinusoid(node: Node, site: Site, i: int, j: int) -> Hint | None:
    name = "sin" if j % 2 == 0 else "cos"
    return Hint(
        f"feature {j + 1} is the {name} of the angle in column {j // 2 + 1} of row {i + 1}:"
        " look it up in the table (a small angle a: sin a = a, cos a = 1)"
    )


@register(worked=_worked_sinusoid, hint=_hint_sinusoid)
def sinusoid(angles: Array) -> Array:
    """[sin(a_0), cos(a_0), sin(a_1), cos(a_1), ...] of each row of angles (floats; declare a rounding)."""
    a = np.asarray(angles, dtype=np.float64)
    out = np.empty((*a.shape[:-1], 2 * a.shape[-1]), dtype=np.float64)
    out[..., 0::2] = np.sin(a)
    out[..., 1::2] = np.cos(a)
    return out
