"""Ops that ask for a shape rather than a value (the seed's first point of matrix multiplication).

    product_shape(A, B)   the row [rows, columns] of C = A·B: A's rows, B's columns

Like every op it takes arrays of shape (batch, rows, cols); the shape is the same for every
candidate, so the answer is broadcast over the batch.
"""

from __future__ import annotations

import numpy as np

from nnhand.errors import EvaluationError
from nnhand.ops.registry import register
from nnhand.ops.written import Node, Part, Site, Slip, Work

Array = np.ndarray


def _dims(work: Work, node: Node) -> tuple[int, int, int, int]:
    A, B = (work.value(arg) for arg in node.args)
    return A.shape[-2], A.shape[-1], B.shape[-2], B.shape[-1]


def _worked_product_shape(work: Work, node: Node, i: int, j: int) -> Part:
    m, k, k2, n = _dims(work, node)
    value = work.at(work.value(node), i, j)
    what = "the rows of A" if j == 0 else "the columns of B"
    return Part(f"{what} (A is {m}×{k}, B is {k2}×{n} → C = A·B is {m}×{n})", value)


def _product_shape_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []

    def swapped() -> Array | None:
        value = site.value(node)
        return None if value[0, 0] == value[0, 1] else value[:, ::-1].copy()

    return [(swapped, "You swapped the two: C = A·B has A's rows and B's columns (rows first, then columns).")]


@register(worked=_worked_product_shape, slips=_product_shape_slips)
def product_shape(A: Array, B: Array) -> Array:
    """The row [rows, columns] of A·B: A's rows and B's columns (A's columns must equal B's rows)."""
    if A.shape[-1] != B.shape[-2]:
        raise EvaluationError(f"A·B needs A's columns ({A.shape[-1]}) to equal B's rows ({B.shape[-2]})")
    batch = max(A.shape[0], B.shape[0])
    shape = np.array([[[A.shape[-2], B.shape[-1]]]], dtype=np.int64)
    return np.broadcast_to(shape, (batch, 1, 2)).copy()
