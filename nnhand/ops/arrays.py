"""The registered operations a template expression may call.

Each op is a small pure function over arrays of shape (B, rows, cols): B candidate
instances at once (see values.py). Templates call ops by name; nothing else is callable.
Ops that are algorithms rather than formulas (routing with capacity, nearest neighbour)
live here too, so a template stays data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.errors import EvaluationError, ValueRangeError
from nnhand.values import INT_LIMIT, MAX_DIGITS, MAX_INNER, normalize, to_fractions

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
    """A scalar argument (a literal or a param) as a Python int within ±INT_LIMIT."""
    arr = np.asarray(value)
    if arr.size != 1:
        raise EvaluationError(f"{what} must be a single whole number")
    item = arr.reshape(-1).tolist()[0]
    if isinstance(item, float) and not item.is_integer():  # also NaN and ±inf
        raise EvaluationError(f"{what} must be a whole number, not {item}")
    if isinstance(item, Fraction) and item.denominator != 1:
        raise EvaluationError(f"{what} must be a whole number, not {item}")
    number = int(item)
    if not -INT_LIMIT <= number <= INT_LIMIT:
        raise EvaluationError(f"{what} is beyond ±{INT_LIMIT:,}")
    return number


def _size_arg(value: Any, what: str) -> int:
    """A count of rows or columns an op builds: 1 to MAX_INNER, checked before allocating."""
    size = _int_arg(value, what)
    if not 1 <= size <= MAX_INNER:
        raise EvaluationError(f"{what} must be 1 to {MAX_INNER}, not {size}", fix="A hand exercise has small blocks")
    return size


def _magnitude(arr: Array) -> int:
    """The largest |cell| of an exact array (0 for none), as a Python int rounded up."""
    if not arr.size:
        return 0
    if arr.dtype.kind in "iub":
        return max(int(arr.max()), -int(arr.min()))
    return max(math.ceil(abs(Fraction(v))) for v in arr.ravel().tolist())


def _elementwise(arr: Array, fn: Callable[[Any], Any], dtype: Any = object) -> Array:
    out = np.empty(arr.shape, dtype=dtype)
    out.ravel()[:] = [fn(v) for v in arr.ravel().tolist()]
    return out


def grid(arr: Array) -> str:
    """'4x3' for an array of shape (B, 4, 3), for messages."""
    return "x".join(str(d) for d in arr.shape[1:]) if arr.ndim == 3 else "x".join(map(str, arr.shape))


# ----------------------------------------------------------------------------- arithmetic


def matmul(a: Array, b: Array, bounded: bool = False) -> Array:
    """a @ b; `bounded`: its cells are known to stay within ±INT_LIMIT (expr.static_bound)."""
    if a.shape[-1] != b.shape[-2]:
        raise EvaluationError(
            f"cannot multiply a {grid(a)} matrix by a {grid(b)} matrix: "
            f"the first has {a.shape[-1]} columns, the second {b.shape[-2]} rows"
        )
    if a.shape[-1] > MAX_INNER:  # int64 cells within ±INT_LIMIT: a sum of MAX_INNER products fits
        raise EvaluationError(f"a product over {a.shape[-1]} terms: at most {MAX_INNER}")
    product = a @ b
    if bounded and product.dtype.kind == "i":
        return product
    return normalize(product)  # int64 too: a product beyond ±INT_LIMIT moves to exact Fractions


def _finite(result: Array, what: str) -> Array:
    """A float result, or ValueRangeError where it overflowed or is not a number."""
    if not np.all(np.isfinite(result)):
        raise ValueRangeError(f"{what} gives a number too large for a float, or not a number")
    return result


def divide(a: Array, b: Array) -> Array:
    """Exact division: integers give fractions, never floats."""
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        with np.errstate(divide="raise", invalid="raise", over="ignore"):
            try:
                quotient = np.asarray(a, dtype=np.float64) / np.asarray(b, dtype=np.float64)
            except FloatingPointError as exc:
                raise ValueRangeError("division by zero") from exc
        return _finite(quotient, "a division")
    if np.any(b == 0):
        raise ValueRangeError("division by zero")
    a_exact = to_fractions(a) if a.dtype != object else a
    return normalize(a_exact / b)


def power(base: Array, exponent: Array) -> Array:
    """base ** exponent with a bounded whole exponent; negative exponents give fractions.

    Every bound is checked before any work: |exponent| ≤ MAX_EXPONENT, and a result that
    could leave int64's exact range is computed with Python integers, or refused when it
    would have more than MAX_DIGITS digits."""
    if exponent.dtype.kind == "f" or base.dtype.kind == "f":
        with np.errstate(all="ignore"):
            result = np.power(np.asarray(base, dtype=np.float64), np.asarray(exponent, dtype=np.float64))
        return _finite(result, "a power (of 0 to a negative exponent, or of a negative number to a fraction)")
    if exponent.dtype == object:
        if any(isinstance(v, Fraction) and v.denominator != 1 for v in exponent.ravel()):
            raise ValueRangeError("exponents must be whole numbers (round the scores first)")
        exponent = normalize(exponent)
    top = _magnitude(exponent)
    if top > MAX_EXPONENT:
        raise ValueRangeError(f"exponent beyond ±{MAX_EXPONENT}: no one computes that by hand")
    if base.dtype != object and np.all(exponent >= 0) and _magnitude(base) ** top <= INT_LIMIT:
        return np.power(base.astype(np.int64), exponent.astype(np.int64))
    b, e = np.broadcast_arrays(base, exponent)
    cells = []
    for x, y in zip(b.ravel().tolist(), e.ravel().tolist()):
        x = Fraction(x)
        if x == 0 and y < 0:
            raise ValueRangeError("0 to a negative power (a division by zero)")
        if max(abs(x.numerator), x.denominator).bit_length() * abs(y) > MAX_DIGITS * 10 // 3 + 4:
            raise ValueRangeError(f"{x} ** {y} has more than {MAX_DIGITS} digits: beyond what nnhand computes exactly")
        cells.append(x ** int(y))
    out = np.empty(b.shape, dtype=object)
    out.ravel()[:] = cells
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
    with np.errstate(over="ignore"):  # e^-x overflows for x below -709: σ is then 0, exactly as a float says
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


@register()
def tanh(x: Array) -> Array:
    """tanh(x); declare a rounding for the step."""
    return np.tanh(np.asarray(x, dtype=np.float64))


@register()
def exp(x: Array) -> Array:
    """e^x (floats; declare a rounding). Hand exercises usually use 3**x instead."""
    with np.errstate(over="ignore"):
        return _finite(np.exp(np.asarray(x, dtype=np.float64)), "e^x")


@register()
def sqrt(x: Array) -> Array:
    """√x: exact for perfect squares, else a float (declare a rounding)."""
    if np.any(x < 0):
        raise ValueRangeError("the square root of a negative number")
    if x.dtype.kind in "iu":
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


# Ops whose result is a choice rather than a formula of their inputs, by what decides it: the
# row of a column's largest value, the sign of a cell (the ReLU mask, a dropout keep), the
# interval of a cumulative distribution a random number falls in. Where a step calls one, a
# tie (two largest values, an exact 0, r on a boundary) makes two answers right while the key
# names one; every template must rule that out with a margin (for a maximum: unique_max), and
# tests/test_ties.py finds the templates from this table. Routing with capacity is not here:
# given the routes, the count in token order decides, and a count cannot tie.
DECIDING_OPS = {"argmax": "maximum", "step": "sign", "sample": "threshold"}


@register()
def unique_max(x: Array, margin: Any) -> Array:
    """True for each column whose largest value beats every other by at least margin (1 x cols).

    The constraint behind every argmax that decides something: with a margin m > 0 the row
    argmax names is the only largest one, and moving each cell by less than m/2 (a rounding,
    the grader's tolerance) cannot make another row the largest. Columns are examples or
    tokens, as argmax reads them; a column of one row is always True.
    """
    gap = _positive_number(margin, "the margin of unique_max")
    lead_shape = (*x.shape[:-2], 1, x.shape[-1])
    if x.shape[-2] < 2:
        return np.ones(lead_shape, dtype=bool)
    ordered = np.sort(x, axis=-2)  # ascending down each column (Fractions sort exactly)
    lead = ordered[..., -1:, :] - ordered[..., -2:-1, :]  # largest minus runner-up
    whole = lead.dtype.kind in "iu" and gap.denominator == 1  # integer scores: stay in int64
    return np.asarray(lead >= (int(gap) if whole else gap), dtype=bool).reshape(lead_shape)


def _positive_number(value: Any, what: str) -> Fraction:
    """A scalar argument (a literal such as 0.5, or a param) as an exact positive number."""
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iufO" or (arr.dtype.kind == "f" and not np.all(np.isfinite(arr))):
        raise EvaluationError(f"{what} must be a single finite number", fix="Write a literal such as 1 or 0.5")
    number = Fraction(arr.reshape(-1).tolist()[0])
    if number <= 0:
        raise EvaluationError(
            f"{what} must be above 0, not {number}", fix="A margin of 0 lets two rows tie: write 1, or 0.5"
        )
    return number


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
    if sum(p.shape[axis] for p in parts) > MAX_INNER:
        raise EvaluationError(f"stacking gives more than {MAX_INNER} {'rows' if axis == -2 else 'columns'}")
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
    return np.ones((1, _size_arg(rows, "rows"), _size_arg(cols, "cols")), dtype=np.int64)


@register()
def zeros(rows: Any, cols: Any = 1) -> Array:
    """A rows x cols block of zeros."""
    return np.zeros((1, _size_arg(rows, "rows"), _size_arg(cols, "cols")), dtype=np.int64)


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
