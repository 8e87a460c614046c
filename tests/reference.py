"""The naive reference toolkit the tests check nnhand against: plain Python loops over lists
of exact numbers, written from the exercises' descriptions, with no nnhand op and no NumPy
maths (NumPy arrays only come in, as the engine's output, through `grid`).

A matrix is a list of rows; a column vector is an n x 1 matrix. Numbers are Fractions
(ints compare equal to them), or floats where a template computes with floats (sigmoid,
tanh). Rounding is paper rounding, half away from zero, done by the `decimal` module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any

import numpy as np

Matrix = list[list[Any]]


# ----------------------------------------------------------------------------- from the engine


def grid(arr: np.ndarray) -> Matrix:
    """A (rows, cols) array as lists: Fractions for exact cells, floats for float cells."""
    if arr.dtype.kind == "f":
        return [[float(v) for v in row] for row in arr.tolist()]
    return [[Fraction(v) for v in row] for row in arr.tolist()]


def givens_of(problem: Any) -> dict[str, Matrix]:
    """The givens of a solved instance (engine.Problem) as matrices."""
    return {name: grid(value) for name, value in problem.givens.items()}


# ----------------------------------------------------------------------------- cells


def cells(m: Matrix, f: Callable[[Any], Any]) -> Matrix:
    return [[f(v) for v in row] for row in m]


def zipcells(f: Callable[..., Any], *ms: Matrix) -> Matrix:
    return [[f(*vs) for vs in zip(*rows)] for rows in zip(*ms)]


def round_half_away(value: Any, places: int) -> Fraction:
    """Paper rounding through the decimal module (ROUND_HALF_UP rounds halves away from 0), exact."""
    exact = Fraction(value)
    with localcontext() as ctx:
        ctx.prec = 60
        dec = Decimal(exact.numerator) / Decimal(exact.denominator)
        return Fraction(dec.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def round_cells(m: Matrix, places: int = 2) -> Matrix:
    return cells(m, lambda v: round_half_away(v, places))


def relu(m: Matrix) -> Matrix:
    return [[v if v > 0 else Fraction(0) for v in row] for row in m]


def sigmoid(v: Any) -> float:
    return 1 / (1 + math.exp(-float(v)))


# ----------------------------------------------------------------------------- matrices


def mm(a: Matrix, b: Matrix) -> Matrix:
    """The matrix product, as the sum of products of row i and column j."""
    assert len(a[0]) == len(b), "the inner sizes differ"
    return [
        [sum((a[i][k] * b[k][j] for k in range(len(b))), Fraction(0)) for j in range(len(b[0]))] for i in range(len(a))
    ]


def transpose(m: Matrix) -> Matrix:
    return [list(r) for r in zip(*m)]


def column(m: Matrix, j: int) -> Matrix:
    """Column j as an n x 1 matrix."""
    return [[row[j]] for row in m]


def add_col(m: Matrix, bias: Matrix) -> Matrix:
    """m + bias with the column vector (n x 1) added to every column of m."""
    return [[v + bias[i][0] for v in row] for i, row in enumerate(m)]


def softmax_cols(s: Matrix, base: int = 3) -> Matrix:
    """Exact softmax down each column with base^x in place of e^x (whole exponents)."""
    powers = cells(s, lambda v: Fraction(base) ** int(v))
    sums = [sum(c) for c in zip(*powers)]
    return [[v / sums[j] for j, v in enumerate(row)] for row in powers]


def unique_max_cols(m: Matrix, margin: Fraction) -> list[bool]:
    """Per column: does the largest value beat every other by at least `margin`?"""
    flags = []
    for j in range(len(m[0])):
        col = [Fraction(m[i][j]) for i in range(len(m))]
        best = max(range(len(col)), key=lambda i: col[i])
        flags.append(all(col[best] - col[i] >= margin for i in range(len(col)) if i != best))
    return flags


def argmax_cols(m: Matrix) -> Matrix:
    """The 1-based row of each column's largest value (the first one on a tie, as NumPy's argmax)."""
    out = []
    for j in range(len(m[0])):
        column_j = [m[i][j] for i in range(len(m))]
        out.append(column_j.index(max(column_j)) + 1)
    return [out]


def switch_transformer(g: dict[str, Matrix], capacity: int) -> dict[str, Matrix]:
    """Switch routing by hand: Z = X·A, gates G = S·Z, each token to its top expert in token
    order; an expert that is full lets the token pass through unchanged."""
    z = mm(g["X"], g["A"])
    gates = mm(g["S"], z)
    route = argmax_cols(gates)
    taken: dict[int, int] = {}
    columns = []
    for t, k in enumerate(route[0]):
        zt = column(z, t)
        if taken.get(k, 0) < capacity:  # the expert still has room: it computes E z + c
            taken[k] = taken.get(k, 0) + 1
            zt = add_col(mm(g[f"E{k}"], zt), g[f"c{k}"])
        columns.append([row[0] for row in zt])
    return {"Z": z, "G": gates, "route": route, "Y": transpose(columns)}


def gan(g: dict[str, Matrix]) -> dict[str, Matrix]:
    """The GAN exercise by hand: generator G, F; discriminator HF/HR on fakes and reals,
    logits (no ReLU before the sigmoid), σ rounded to 2 decimals, and the gradients."""
    gen = relu(add_col(mm(g["Wg1"], g["N"]), g["bg1"]))
    fake = relu(add_col(mm(g["Wg2"], gen), g["bg2"]))
    hf = relu(add_col(mm(g["Wd1"], fake), g["bd1"]))
    hr = relu(add_col(mm(g["Wd1"], g["X"]), g["bd1"]))
    zf = cells(mm(g["Wd2"], hf), lambda v: v + g["bd2"][0][0])
    zr = cells(mm(g["Wd2"], hr), lambda v: v + g["bd2"][0][0])
    pf = cells(zf, lambda z: round_half_away(Fraction(sigmoid(z)), 2))
    pr = cells(zr, lambda z: round_half_away(Fraction(sigmoid(z)), 2))
    return {
        "G": gen, "F": fake, "HF": hf, "HR": hr, "ZF": zf, "ZR": zr, "PF": pf, "PR": pr,
        # the discriminator's gradient over fakes then reals: targets 0 ... 0 1 ... 1
        "dD": [pf[0] + [v - 1 for v in pr[0]]], "dG": cells(pf, lambda v: v - 1),
    }  # fmt: skip
