"""Leaky ReLU, for the activation-function table (ReLU, leaky ReLU, σ and tanh of one row).

    leaky_relu(x, slope)   x where x > 0, else slope·x (slope 0.1 or 0.01, stated on the sheet)

Like every op it takes arrays of shape (B, rows, cols) -- B candidate instances at once -- and
broadcasts a batch of 1 (the slope, a given) against the others. Exact inputs give exact
outputs: a decimal slope such as 0.1 is a Fraction, so -2 gives exactly -1/5 (written -0.2).
"""

from __future__ import annotations

import numpy as np

from nnhand.ops.registry import register
from nnhand.ops.written import Node, Part, Site, Slip, Work, num
from nnhand.values import normalize

Array = np.ndarray


def _worked_leaky(work: Work, node: Node, i: int, j: int) -> Part:
    """A positive value stays; a negative one (or 0) is multiplied by the slope."""
    x, slope = node.args
    value = work.at(work.value(x), i, j)
    a = work.at(work.value(slope), i, j)
    result = work.at(work.value(node), i, j)
    if value > 0:
        return Part(f"{num(value)} > 0: kept", result)
    return Part(f"{num(value)} ≤ 0: {num(a)}·({num(value)})", result)


def _leaky_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    x, slope = (site.value(a) for a in node.args)
    exact = x.astype(object) if x.dtype != object else x
    return [
        (
            lambda: normalize(exact * slope),
            "You multiplied the positive values by the slope too: leaky ReLU keeps a positive value as it is.",
        ),
        (
            lambda: np.where(x > 0, x, 0),
            "That is plain ReLU: leaky ReLU multiplies a negative value by the slope instead of writing 0.",
        ),
        (
            lambda: normalize(np.where(x > 0, exact, -(exact * slope))),
            "The sign of the negative side is flipped: slope·x of a negative x is negative.",
        ),
    ]


@register(worked=_worked_leaky, slips=_leaky_slips)
def leaky_relu(x: Array, slope: Array) -> Array:
    """Leaky ReLU: x where x > 0, else slope·x, cell by cell (slope 0.1 or 0.01, exact)."""
    values = x.astype(object)
    slopes = np.asarray(slope).astype(object)
    return normalize(np.where(values > 0, values, values * slopes))
