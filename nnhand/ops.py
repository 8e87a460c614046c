"""The registered operations a template expression may call.

Each op is a small pure function over arrays of shape (B, rows, cols): B candidate
instances at once (see values.py). Templates call ops by name; nothing else is callable.
Ops that are algorithms rather than formulas (routing with capacity, nearest neighbour)
live here too, so a template stays data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import EvaluationError, ValueRangeError
from .values import normalize, to_fractions

Array = np.ndarray

MAX_EXPONENT = 20  # 3**20 is already far beyond anything written by hand


@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable[..., Any]
    min_args: int
    max_args: int  # -1: any number
    keywords: frozenset[str]
    doc: str


OPS: dict[str, Op] = {}


def register(name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a function callable from template expressions under `name`."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        # Read the signature off the code object: importing `inspect` costs milliseconds at start-up.
        code = fn.__code__
        n_positional = code.co_argcount
        varargs = bool(code.co_flags & 0x04)  # CO_VARARGS
        keywords = frozenset(code.co_varnames[n_positional : n_positional + code.co_kwonlyargcount])
        required = n_positional - len(fn.__defaults__ or ())
        op_name = name or fn.__name__.rstrip("_")
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        OPS[op_name] = Op(op_name, fn, required, -1 if varargs else n_positional, keywords, doc)
        return fn

    return wrap


# ----------------------------------------------------------------------------- helpers


def _int_arg(value: Any, what: str) -> int:
    """A scalar argument (a literal or a param) as a Python int."""
    arr = np.asarray(value)
    if arr.size != 1:
        raise EvaluationError(f"{what} must be a single whole number")
    item = arr.reshape(-1)[0]
    if isinstance(item, Fraction) and item.denominator != 1:
        raise EvaluationError(f"{what} must be a whole number, not {item}")
    return int(item)


def _elementwise(arr: Array, fn: Callable[[Any], Any], dtype: Any = object) -> Array:
    out = np.empty(arr.shape, dtype=dtype)
    out.ravel()[:] = [fn(v) for v in arr.ravel().tolist()]
    return out


def grid(arr: Array) -> str:
    """'4x3' for an array of shape (B, 4, 3), for messages."""
    return "x".join(str(d) for d in arr.shape[1:]) if arr.ndim == 3 else "x".join(map(str, arr.shape))


# ----------------------------------------------------------------------------- arithmetic


def matmul(a: Array, b: Array) -> Array:
    if a.shape[-1] != b.shape[-2]:
        raise EvaluationError(
            f"cannot multiply a {grid(a)} matrix by a {grid(b)} matrix: "
            f"the first has {a.shape[-1]} columns, the second {b.shape[-2]} rows"
        )
    return normalize(a @ b) if (a.dtype == object or b.dtype == object) else a @ b


def divide(a: Array, b: Array) -> Array:
    """Exact division: integers give fractions, never floats."""
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        with np.errstate(divide="raise", invalid="raise"):
            try:
                return np.asarray(a, dtype=np.float64) / np.asarray(b, dtype=np.float64)
            except FloatingPointError as exc:
                raise ValueRangeError("division by zero") from exc
    if np.any(b == 0):
        raise ValueRangeError("division by zero")
    a_exact = to_fractions(a) if a.dtype != object else a
    return normalize(a_exact / b)


def power(base: Array, exponent: Array) -> Array:
    """base ** exponent with a bounded whole exponent; negative exponents give fractions."""
    if exponent.dtype.kind == "f" or base.dtype.kind == "f":
        return np.power(np.asarray(base, dtype=np.float64), np.asarray(exponent, dtype=np.float64))
    if exponent.dtype == object:
        if any(isinstance(v, Fraction) and v.denominator != 1 for v in exponent.ravel()):
            raise ValueRangeError("exponents must be whole numbers (round the scores first)")
        exponent = normalize(exponent)
    if exponent.size and int(np.max(np.abs(exponent))) > MAX_EXPONENT:
        raise ValueRangeError(f"exponent beyond ±{MAX_EXPONENT}: no one computes that by hand")
    if base.dtype != object and np.all(exponent >= 0):
        return np.power(base.astype(np.int64), exponent.astype(np.int64))
    b, e = np.broadcast_arrays(base, exponent)
    out = np.empty(b.shape, dtype=object)
    out.ravel()[:] = [Fraction(x) ** int(y) for x, y in zip(b.ravel().tolist(), e.ravel().tolist())]
    return normalize(out)


# ----------------------------------------------------------------------------- activations


@register()
def relu(x: Array) -> Array:
    """ReLU(x) = max(x, 0), cell by cell: cross out negatives, write 0."""
    if x.dtype == object:
        return normalize(_elementwise(x, lambda v: v if v > 0 else 0))
    return np.maximum(x, 0)


@register()
def step(x: Array) -> Array:
    """1 where x > 0, else 0: the ReLU mask (its derivative)."""
    return (x > 0).astype(np.int64)


@register()
def sigmoid(x: Array) -> Array:
    """σ(x) = 1 / (1 + e^-x); declare rounding to 2 decimals to read it off the sigmoid table."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


@register()
def tanh(x: Array) -> Array:
    """tanh(x); declare a rounding for the step."""
    return np.tanh(np.asarray(x, dtype=np.float64))


@register()
def exp(x: Array) -> Array:
    """e^x (floats; declare a rounding). Hand exercises usually use 3**x instead."""
    return np.exp(np.asarray(x, dtype=np.float64))


@register()
def sqrt(x: Array) -> Array:
    """√x: exact for perfect squares, else a float (declare a rounding)."""
    if x.dtype.kind in "iu" and np.all(x >= 0):
        roots = np.rint(np.sqrt(x)).astype(np.int64)
        if np.array_equal(roots * roots, x):
            return roots
    return np.sqrt(np.asarray(x, dtype=np.float64))


@register()
def softmax(x: Array, *, base: int = 3) -> Array:
    """Softmax down each column with base^x (3 by default, the hand shortcut for e^x)."""
    powers = power(np.full((1, 1, 1), base, dtype=np.int64), x)
    return divide(powers, colsum(powers))


# ----------------------------------------------------------------------------- reductions


@register()
def colsum(x: Array) -> Array:
    """The sum down each column: a 1 x cols row."""
    return normalize(np.sum(x, axis=-2, keepdims=True))


@register()
def rowsum(x: Array) -> Array:
    """The sum along each row: a rows x 1 column."""
    return normalize(np.sum(x, axis=-1, keepdims=True))


@register("sum")
def total(x: Array) -> Array:
    """The sum of every cell: a scalar."""
    return normalize(np.sum(x, axis=(-2, -1), keepdims=True))


@register()
def rowmean(x: Array) -> Array:
    """The mean along each row (averaging the columns: mean pooling): rows x 1, exact."""
    return divide(rowsum(x), np.full((1, 1, 1), x.shape[-1], dtype=np.int64))


@register()
def colmean(x: Array) -> Array:
    """The mean down each column: 1 x cols, exact."""
    return divide(colsum(x), np.full((1, 1, 1), x.shape[-2], dtype=np.int64))


@register()
def colmax(x: Array) -> Array:
    """The largest value in each column: 1 x cols."""
    return normalize(np.max(x, axis=-2, keepdims=True))


@register()
def argmax(x: Array) -> Array:
    """The 1-based row of the largest value in each column (1 x cols): a worksheet index."""
    return (np.argmax(x, axis=-2)[..., None, :] + 1).astype(np.int64)


@register()
def argmax_ties(x: Array) -> Array:
    """1 where a column's largest value appears more than once, else 0 (1 x cols)."""
    top = np.max(x, axis=-2, keepdims=True)
    return (np.sum(x == top, axis=-2, keepdims=True) > 1).astype(np.int64)


# ----------------------------------------------------------------------------- shapes


@register()
def dot(a: Array, b: Array) -> Array:
    """The dot product of two column vectors: a scalar."""
    if a.shape[-1] != 1 or b.shape[-1] != 1 or a.shape[-2] != b.shape[-2]:
        raise EvaluationError(f"dot needs two column vectors of one length, got {grid(a)} and {grid(b)}")
    return matmul(np.swapaxes(a, -1, -2), b)


@register()
def outer(a: Array, b: Array) -> Array:
    """a · bᵀ: the outer product of two column vectors (a gradient's shape)."""
    return matmul(a, np.swapaxes(b, -1, -2))


@register()
def aug(x: Array) -> Array:
    """[x ; 1]: append a row of ones, so that [W | b] @ [x ; 1] = W x + b."""
    ones = np.ones((*x.shape[:-2], 1, x.shape[-1]), dtype=np.int64)
    return vstack(x, ones)


@register()
def vstack(*parts: Array) -> Array:
    """Stack blocks on top of each other (same number of columns)."""
    return _stack(parts, axis=-2)


@register()
def hstack(*parts: Array) -> Array:
    """Put blocks side by side (same number of rows)."""
    return _stack(parts, axis=-1)


def _stack(parts: tuple[Array, ...], axis: int) -> Array:
    if not parts:
        raise EvaluationError("nothing to stack")
    batch = max(p.shape[0] for p in parts)
    parts = tuple(np.broadcast_to(p, (batch, *p.shape[1:])) for p in parts)
    other = -1 if axis == -2 else -2
    if len({p.shape[other] for p in parts}) != 1:
        raise EvaluationError("blocks to stack do not line up: " + ", ".join(grid(p) for p in parts))
    dtype = object if any(p.dtype == object for p in parts) else None
    return normalize(np.concatenate([p.astype(object) if dtype else p for p in parts], axis=axis))


@register()
def ones(rows: Any, cols: Any = 1) -> Array:
    """A rows x cols block of ones."""
    return np.ones((1, _int_arg(rows, "rows"), _int_arg(cols, "cols")), dtype=np.int64)


@register()
def zeros(rows: Any, cols: Any = 1) -> Array:
    """A rows x cols block of zeros."""
    return np.zeros((1, _int_arg(rows, "rows"), _int_arg(cols, "cols")), dtype=np.int64)


@register()
def where(cond: Array, a: Array, b: Array) -> Array:
    """a where cond holds, else b, cell by cell."""
    if a.dtype == object or b.dtype == object:
        a_, b_ = np.broadcast_arrays(a, b)
        return normalize(np.where(cond, a_.astype(object), b_.astype(object)))
    return np.where(cond, a, b)


# ----------------------------------------------------------------------------- checks (constraints)


@register("all")
def all_(x: Array) -> Array:
    """True where every cell holds (per candidate)."""
    return np.logical_and.reduce(x.reshape(x.shape[0], 1, -1), axis=2, keepdims=True)


@register("any")
def any_(x: Array) -> Array:
    """True where some cell holds (per candidate)."""
    return np.logical_or.reduce(x.reshape(x.shape[0], 1, -1), axis=2, keepdims=True)


@register("abs")
def abs_(x: Array) -> Array:
    """|x|, cell by cell."""
    return normalize(np.abs(x)) if x.dtype == object else np.abs(x)


@register()
def count(x: Array) -> Array:
    """How many cells hold (a scalar)."""
    return np.sum(x, axis=(-2, -1), keepdims=True).astype(np.int64)


@register("max")
def max_(x: Array) -> Array:
    """The largest cell (a scalar)."""
    return normalize(np.max(x, axis=(-2, -1), keepdims=True))


@register("min")
def min_(x: Array) -> Array:
    """The smallest cell (a scalar)."""
    return normalize(np.min(x, axis=(-2, -1), keepdims=True))


@register()
def distinct_rows(x: Array) -> Array:
    """True when no two rows are equal (no accidental duplicate neurons)."""
    rows = x.shape[-2]
    ok = np.ones((*x.shape[:-2], 1, 1), dtype=bool)
    for i in range(rows):
        for j in range(i + 1, rows):
            ok &= ~np.all(x[..., i : i + 1, :] == x[..., j : j + 1, :], axis=-1, keepdims=True)
    return ok


@register()
def distinct_cols(x: Array) -> Array:
    """True when no two columns are equal."""
    return distinct_rows(np.swapaxes(x, -1, -2))


@register()
def nonzero_rows(x: Array) -> Array:
    """True when every row has a nonzero cell (no neuron that ignores its input)."""
    return all_(np.logical_or.reduce(x != 0, axis=-1, keepdims=True))


@register()
def nonzero_cols(x: Array) -> Array:
    """True when every column has a nonzero cell."""
    return all_(np.logical_or.reduce(x != 0, axis=-2, keepdims=True))


def describe_ops() -> list[tuple[str, str]]:
    """(name, first doc line) of every registered op, for the README and errors."""
    return sorted((op.name, op.doc) for op in OPS.values())


# Ops of the network exercises (attention, routing, retrieval) and of the lecture topics
# live in their own modules; importing them here registers them with OPS.
from . import ops_lecture, ops_network  # noqa: E402,F401
