"""Ops for the lecture-topic exercises (dropout, batch norm, LSTM, sampling, masking).

Like every op, each takes arrays of shape (B, rows, cols) -- B candidate instances at
once -- and broadcasts a batch of 1 (a constant, a param) against the others. Exact
inputs give exact outputs (int64, or Fractions); only ln, σ and tanh give floats, which
a template rounds by a stated rule.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.errors import EvaluationError, ValueRangeError
from nnhand.ops.arrays import _magnitude, _size_arg, _wrapped, colsum, divide, grid, power, register, sigmoid, tanh
from nnhand.ops.written import Node, Part, Work, num, paren
from nnhand.values import normalize

Array = np.ndarray

MASKED = -99  # the hand stand-in for -infinity in a causal mask
WHOLE_STATS_LIMIT = 10**6  # n·Σx² stays within int64 for up to 64 columns


# ----------------------------------------------------------------------------- helpers


def _scalars(values: tuple[Array, ...], what: str) -> list[Fraction]:
    """Literal arguments such as isin(x, -1, 0, 1) as exact numbers."""
    out = []
    for v in values:
        arr = np.asarray(v)
        if arr.size != 1:
            raise EvaluationError(f"{what} must be single numbers")
        out.append(Fraction(arr.reshape(-1)[0]))
    return out


def _as_int(x: Array, what: str) -> Array:
    """An integer view of an exact array of whole numbers, or an error."""
    if x.dtype.kind in "iub":
        return x.astype(np.int64)
    values = normalize(x) if x.dtype == object else x
    if values.dtype.kind not in "iu":
        raise ValueRangeError(f"{what} must be whole numbers")
    return values


# ----------------------------------------------------------------------------- worked forms


def _cell(work: Work, node: Node, i: int, j: int) -> Any:
    return work.at(work.value(node), i, j)


def _worked_gates(work: Work, node: Node, i: int, j: int) -> Part:
    """σ for the f, i, o blocks and tanh for g, each on its own pre-activation."""
    z = node.args[0]
    n = work.value(z).shape[0] // 4
    symbol = "tanh" if 2 * n <= i < 3 * n else "σ"
    gate = "figo"[i // n] if n else ""
    return Part(
        f"{symbol}({work.name_of(z, i, j)}) (gate {gate})",
        _cell(work, node, i, j),
        middle=f"{symbol}({num(_cell(work, z, i, j))})",
        named=True,
    )


def _worked_onehot(work: Work, node: Node, i: int, j: int) -> Part:
    """1 where the token's index is this row: [index = row]."""
    tokens = node.args[0]
    return Part(
        f"[{work.name_of(tokens, 0, j)} = {i + 1}]",
        _cell(work, node, i, j),
        middle=f"[{num(_cell(work, tokens, 0, j))} = {i + 1}]",
        named=True,
    )


def _worked_cumsum(work: Work, node: Node, i: int, j: int) -> Part:
    x = node.args[0]
    column = work.value(x)
    c = j if column.shape[1] > 1 else 0
    names = " + ".join(work.name_of(x, k, c) for k in range(i + 1))
    values = " + ".join(paren(v) for v in column[: i + 1, c].tolist())
    return Part(names, _cell(work, node, i, j), middle=values, named=True)


def _worked_sample(work: Work, node: Node, i: int, j: int) -> Part:
    """The first row whose cumulative value is above r: the values compared with r."""
    c, r = node.args
    column = work.value(c)[:, j].tolist()
    threshold = _cell(work, r, 0, j)
    compared = ", ".join(f"{num(v)} {'≤' if v <= threshold else '>'} {num(threshold)}" for v in column)
    return Part(f"the first row above r: {compared}", _cell(work, node, i, j))


def _worked_causal_mask(work: Work, node: Node, i: int, j: int) -> Part:
    """A key after the query is masked (written -99 for -∞); the others are kept."""
    scores = node.args[0]
    value = _cell(work, node, i, j)
    if i > j:
        return Part(paren(value), value, simple=True, ref=f"masked: key {i + 1} comes after query {j + 1}")
    return Part(
        paren(value), value, simple=True, ref=f"{work.name_of(scores, i, j)} (key {i + 1} ≤ query {j + 1}: kept)"
    )


def _worked_power_masked(work: Work, node: Node, i: int, j: int) -> Part:
    base, masked = node.keywords.get("base", 3), node.keywords.get("masked", MASKED)
    score = _cell(work, node.args[0], i, j)
    value = _cell(work, node, i, j)
    if score <= masked:
        return Part(f"{base}^({num(score)}), masked: written 0", value)
    return Part(f"{base}^{num(score)}" if score >= 0 else f"{base}^({num(score)})", value)


def _worked_softmax_masked(work: Work, node: Node, i: int, j: int) -> Part:
    base, masked = node.keywords.get("base", 3), node.keywords.get("masked", MASKED)
    column = work.value(node.args[0])[:, j].tolist()
    kept = [v for v in column if v > masked]
    powers = [Fraction(base) ** int(v) for v in kept]
    own = column[i]
    top = f"{base}^{num(own)}" if own > masked else "0"
    written = f"{top} / (" + " + ".join(f"{base}^{num(v)}" for v in kept) + ")"
    middle = f"{num(Fraction(base) ** int(own)) if own > masked else 0} / (" + " + ".join(num(p) for p in powers) + ")"
    return Part(written, _cell(work, node, i, j), middle=middle)


# ----------------------------------------------------------------------------- functions


@register("log", worked=_wrapped("ln"))
def log_(x: Array) -> Array:
    """ln x, the natural logarithm (floats: declare a rounding, print a table of the logs used)."""
    values = np.asarray(x, dtype=np.float64)
    if np.any(values <= 0):
        raise ValueRangeError("ln is only defined for positive numbers")
    return np.log(values)


@register(worked=_worked_gates)
def lstm_gates(z: Array) -> Array:
    """LSTM gates from stacked pre-activations [f; i; g; o]: σ for f, i, o and tanh for g."""
    rows = z.shape[-2]
    if rows % 4:
        raise EvaluationError(f"lstm_gates needs 4 equal blocks of rows (f, i, g, o), got {grid(z)}")
    n = rows // 4
    out = np.array(sigmoid(z), dtype=np.float64)
    out[..., 2 * n : 3 * n, :] = tanh(z[..., 2 * n : 3 * n, :])
    return out


# ----------------------------------------------------------------------------- tokens and sampling


@register(worked=_worked_onehot)
def onehot(index: Array, size: Any) -> Array:
    """One-hot columns: a 1 in row index[t] (1-based) of column t, zeros elsewhere (size rows)."""
    rows = _size_arg(size, "the vocabulary size")
    if index.shape[-2] != 1:
        raise EvaluationError(f"onehot takes a row of token indices, got {grid(index)}")
    idx = _as_int(index, "token indices")[:, 0, :]  # (B, T)
    if idx.size and (idx.min() < 1 or idx.max() > rows):
        raise ValueRangeError(f"token indices must be 1 to {rows}")
    return (idx[:, None, :] == np.arange(1, rows + 1)[None, :, None]).astype(np.int64)


@register(worked=_worked_cumsum)
def cumsum(x: Array) -> Array:
    """The running sum down each column: row k holds x_1 + ... + x_k (a cumulative distribution)."""
    return normalize(np.cumsum(x, axis=-2))


@register(worked=_worked_sample)
def sample(c: Array, r: Array) -> Array:
    """The 1-based row of the first cumulative value above r, per column (inverse-CDF sampling)."""
    below = np.asarray(c <= r, dtype=bool)  # rows whose interval ends at or before r
    picked = (np.sum(below, axis=-2, keepdims=True) + 1).astype(np.int64)
    if np.any(picked > c.shape[-2]):
        raise ValueRangeError("the random number is not below the last cumulative value: no token is picked")
    return picked


# ----------------------------------------------------------------------------- attention masks


@register(worked=_worked_causal_mask)
def causal_mask(s: Array, *, fill: int = MASKED) -> Array:
    """Scores with the future masked: a key after the query (below the diagonal) becomes fill (-99 for -∞)."""
    rows, cols = s.shape[-2], s.shape[-1]
    future = np.arange(rows)[:, None] > np.arange(cols)[None, :]  # (rows, cols)
    out = s.copy()
    out[..., future] = fill
    return normalize(out) if out.dtype == object else out


@register(worked=_worked_power_masked)
def power_masked(s: Array, *, base: int = 3, masked: int = MASKED) -> Array:
    """base^x cell by cell, with a masked cell (x <= masked, i.e. -99) written as exactly 0."""
    hidden = s <= masked
    exponents = np.where(hidden, 0, s)
    if s.dtype == object:
        exponents = normalize(exponents.astype(object))
    powers = power(np.full((1, 1, 1), base, dtype=np.int64), exponents)
    if powers.dtype == object:
        return normalize(np.where(hidden, 0, powers).astype(object))
    return np.where(hidden, 0, powers)


@register(worked=_worked_softmax_masked)
def softmax_masked(s: Array, *, base: int = 3, masked: int = MASKED) -> Array:
    """Softmax down each column with base^x, masked cells (-99) counting as exactly 0."""
    powers = power_masked(s, base=base, masked=masked)
    totals = colsum(powers)
    if np.any(totals == 0):
        raise EvaluationError("a column is masked entirely: nothing to attend to")
    return divide(powers, totals)


# ----------------------------------------------------------------------------- checks (constraints)


@register()
def isin(x: Array, *values: Array) -> Array:
    """True where a cell equals one of the values (e.g. the pre-activations of a lookup table)."""
    if not values:
        raise EvaluationError("isin needs at least one value to compare with")
    result = np.zeros(x.shape, dtype=bool)
    for v in _scalars(values, "the values of isin"):
        result |= np.asarray(x == (int(v) if v.denominator == 1 else v), dtype=bool)
    return result


@register()
def multiple_of(x: Array, n: Array) -> Array:
    """True where a cell is a whole multiple of n (so that dividing by n stays whole)."""
    divisor = np.asarray(n)
    if np.any(divisor == 0):
        raise ValueRangeError("multiple_of: the divisor must not be 0")
    if x.dtype.kind in "iub" and divisor.dtype.kind in "iub":
        return np.asarray(x.astype(np.int64) % divisor.astype(np.int64) == 0)
    a, b = np.broadcast_arrays(x, divisor)
    out = np.empty(a.shape, dtype=bool)
    out.ravel()[:] = [
        (Fraction(u) / Fraction(v)).denominator == 1 for u, v in zip(a.ravel().tolist(), b.ravel().tolist())
    ]
    return out


@register()
def whole_stats(x: Array) -> Array:
    """True for each row whose mean and population standard deviation are whole, the deviation > 0.

    Integer arithmetic only (a cheap check for batch-norm data): with n columns, sum s and
    sum of squares q, the variance is (n·q - s²)/n².
    """
    values = _as_int(x, "batch-norm data")
    if _magnitude(values) > WHOLE_STATS_LIMIT:
        raise ValueRangeError(f"whole_stats: values beyond ±{WHOLE_STATS_LIMIT:,}")
    n = values.shape[-1]
    s = values.sum(axis=-1, keepdims=True)
    q = (values * values).sum(axis=-1, keepdims=True)
    spread = n * q - s * s  # n² · variance
    var, rest = np.divmod(spread, n * n)
    root = np.rint(np.sqrt(np.maximum(var, 0))).astype(np.int64)
    return np.asarray((s % n == 0) & (rest == 0) & (var > 0) & (root * root == var))
