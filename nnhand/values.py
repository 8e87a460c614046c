"""Exact numbers in NumPy arrays.

Every quantity is held as an array of shape (B, rows, cols): a leading batch axis so that
rejection sampling can test many candidate instances in one NumPy call, then the worksheet
shape (a vector is a column, a scalar is 1x1). Integer maths stays in int64; a division or
a rounding step moves to an object array of `Fraction` so that thirds stay thirds; only
transcendental ops (sigmoid, tanh, e^x) produce float64.

Exact, never wrapped around: an int64 cell stays within ±INT_LIMIT (10^8). Then one product
of two cells, or a sum of up to MAX_INNER (64) such products, is below 10^18 and cannot
overflow int64 (about 9.2 x 10^18); `normalize` re-establishes the bound after each op
that can grow its numbers, by moving a result beyond it to exact Fractions. Exact numbers
are bounded too: a numerator or denominator of more than MAX_DIGITS digits is refused
(ValueRangeError), so no chain of squarings can run away with time or memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.errors import ValueRangeError, WorkLimitError

Shape = tuple[int, ...]  # a declared shape: () scalar, (n,) column vector, (m, n) matrix

INT_LIMIT = 10**8  # int64 cells stay within ±INT_LIMIT (see the module docstring)
MAX_INNER = 64  # rows or columns of any value, intermediate ones included: bounds sums and products
MAX_DIGITS = 60  # digits of an exact number's numerator or denominator
_EXACT_LIMIT = 10**MAX_DIGITS
_largest, _smallest = np.maximum.reduce, np.minimum.reduce
# Work spent on exact (object) cells, and its limit, while a sampler has set one (engine.generate):
# normalize sees every object array an op makes, so the limit interrupts even one huge expression.
WORK: ContextVar[list[int] | None] = ContextVar("nnhand_work", default=None)


def spend(units: int) -> None:
    """Count `units` of work against the budget in force, if any (WorkLimitError beyond it)."""
    budget = WORK.get()
    if budget is not None:
        budget[0] += units
        if budget[0] > budget[1]:
            raise WorkLimitError(
                f"sampling needs more than {budget[1]:,} units of work (a unit is about a microsecond)",
                fix="Use fewer or smaller steps, or constraints that more draws meet",
            )


def grid_shape(shape: Shape) -> tuple[int, int]:
    """The (rows, cols) a declared shape occupies on a worksheet."""
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (shape[0], 1)
    return (shape[0], shape[1])


def declared_shape(grid: tuple[int, int], dims: int | None = None) -> Shape:
    """The declared shape of a computed grid, the one rule for every quantity: with `dims` (a
    step's `shape:` has that many entries) that many dimensions where the grid has them,
    else the fewest: 1x1 is a scalar, r x 1 a vector."""
    rows, cols = grid
    if dims is not None:
        shaped = (rows, cols)[:dims]
        if grid_shape(shaped) == (rows, cols):
            return shaped
    if rows == 1 and cols == 1:
        return ()
    if cols == 1:
        return (rows,)
    return (rows, cols)


def constant(value: Any) -> np.ndarray:
    """A Python number as a broadcastable (1, 1, 1) array."""
    if isinstance(value, bool):
        return np.full((1, 1, 1), value, dtype=bool)
    if isinstance(value, int) and -INT_LIMIT <= value <= INT_LIMIT:
        return np.full((1, 1, 1), value, dtype=np.int64)
    if isinstance(value, float):
        value = Fraction(repr(value))  # a literal 0.1 means one tenth, exactly
    if isinstance(value, (int, Fraction)):
        arr = np.empty((1, 1, 1), dtype=object)
        arr[0, 0, 0] = Fraction(value)
        return normalize(arr)
    raise TypeError(f"not a number: {value!r}")


def batch_env(params: Mapping[str, int], *layers: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The evaluation environment of one instance, the one builder of it: the params as
    constants, then each layer of (rows, cols) values (givens, then steps) with a leading
    batch axis of one, as the ops take them."""
    env: dict[str, np.ndarray] = {name: constant(value) for name, value in params.items()}
    for layer in layers:
        env.update({name: value[None] for name, value in layer.items()})
    return env


def normalize(arr: np.ndarray) -> np.ndarray:
    """The canonical form of an op's result: int64 when every cell is a whole number within
    ±INT_LIMIT, else exact Fractions (float64 stays float64). ValueRangeError for an exact
    number beyond MAX_DIGITS digits."""
    if arr.dtype.kind == "i":
        # The ufuncs' own reductions over the flat cells: the cheapest exact test on small arrays.
        flat = arr.reshape(-1)
        if flat.size and (_largest(flat) > INT_LIMIT or _smallest(flat) < -INT_LIMIT):
            return _fractions_of_ints(arr)
        return arr
    if arr.dtype != object:
        return arr
    flat = arr.ravel().tolist()
    spend(4 * len(flat))  # a Fraction cell costs a few microseconds: gcd, allocation
    whole = True
    for v in flat:
        if type(v) is int:
            if not -INT_LIMIT <= v <= INT_LIMIT:
                whole = False
                if not -_EXACT_LIMIT < v < _EXACT_LIMIT:
                    raise _too_many_digits()
        elif isinstance(v, Fraction):
            num, den = v.numerator, v.denominator
            if den != 1 or not -INT_LIMIT <= num <= INT_LIMIT:
                whole = False
                if den >= _EXACT_LIMIT or not -_EXACT_LIMIT < num < _EXACT_LIMIT:
                    raise _too_many_digits()
        elif isinstance(v, float):
            return np.array([float(x) for x in flat], dtype=np.float64).reshape(arr.shape)
        else:  # a NumPy scalar or a bool: judged by its value
            return normalize(_objects([exact_fraction(x) for x in flat], arr.shape))
    if whole:
        return np.array([int(v) for v in flat], dtype=np.int64).reshape(arr.shape)
    return _objects([v if type(v) is Fraction else Fraction(v) for v in flat], arr.shape)


def _objects(cells: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    out.ravel()[:] = cells
    return out


def _fractions_of_ints(arr: np.ndarray) -> np.ndarray:
    """An int64 array beyond ±INT_LIMIT as exact Fractions, so that later ops cannot wrap."""
    return _objects([Fraction(v) for v in arr.ravel().tolist()], arr.shape)


def _not_finite() -> ValueRangeError:
    return ValueRangeError("a number too large to write, or not a number at all (an overflow, 0/0)")


def _too_many_digits() -> ValueRangeError:
    return ValueRangeError(
        f"a number with more than {MAX_DIGITS} digits: beyond what nnhand computes exactly",
        fix="No hand exercise needs it: use smaller numbers or fewer repeated products",
    )


def to_fractions(arr: np.ndarray) -> np.ndarray:
    """An exact array as an object array of Fractions."""
    out = np.empty(arr.shape, dtype=object)
    if arr.dtype.kind == "f":
        out.ravel()[:] = [Fraction(float(v)) for v in arr.ravel()]
    else:
        out.ravel()[:] = [Fraction(v) for v in arr.ravel().tolist()]
    return out


def round_half_away(value: Fraction, decimals: int) -> Fraction:
    """Round as a person does on paper: halves away from zero (2.5 -> 3, -0.25 -> -0.3)."""
    scale = 10**decimals
    scaled = abs(value) * scale
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole if value >= 0 else -whole, scale)


def round_array(arr: np.ndarray, decimals: int) -> np.ndarray:
    """Round every cell to `decimals` places, keeping the result exact."""
    if arr.dtype.kind in "iub":
        return arr
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise _not_finite()
    out = np.empty(arr.shape, dtype=object)
    out.ravel()[:] = [round_half_away(exact_fraction(v), decimals) for v in arr.ravel().tolist()]
    return normalize(out)


def exact_fraction(v: Any) -> Fraction:
    """A cell as a Fraction of Python ints (a NumPy int64 inside a Fraction would wrap around)."""
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            raise _not_finite()
        if abs(v) >= _EXACT_LIMIT:
            raise _too_many_digits()  # before Fraction(1e300) spells out its 300 digits
        return Fraction(float(v))
    if isinstance(v, (bool, np.bool_, np.integer)):
        return Fraction(int(v))
    return Fraction(v)


def is_finite_decimal(value: Fraction, max_places: int = 6) -> bool:
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1 and decimal_places(value) <= max_places


def decimal_places(value: Fraction) -> int:
    places, den = 0, value.denominator
    while den != 1 and places < 30:
        value *= 10
        den = value.denominator
        places += 1
    return places


def format_number(value: Any, decimals: int | None = None) -> str:
    """A cell as a person writes it: 3, -1, 0.5, 0.69; never 0.30000000000000004 or -0."""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, str):
        return value
    exact = Fraction(value) if not isinstance(value, Fraction) else value
    if decimals is None:
        if exact.denominator == 1:
            return str(int(exact))
        if is_finite_decimal(exact):
            decimals = decimal_places(exact)
        elif isinstance(value, Fraction):  # a value kept exact (3^-1 = 1/3): written as its fraction
            return format_fraction(exact)
        else:
            decimals = 2  # a float (a table's σ, a simplex cell): as printed
    return _fixed(round_half_away(exact, decimals), decimals)


def _fixed(value: Fraction, decimals: int) -> str:
    sign = "-" if value < 0 else ""
    scaled = abs(value) * 10**decimals
    whole = int(scaled)
    if decimals == 0:
        return f"{sign}{whole}" if whole else "0"
    int_part, frac_part = divmod(whole, 10**decimals)
    text = f"{int_part}.{frac_part:0{decimals}d}".rstrip("0").rstrip(".")
    if text == "0":
        return "0"
    return sign + text


def format_fraction(value: Any) -> str:
    """An exact value as a fraction string ('9/13', '-1/3', '2')."""
    exact = Fraction(value) if not isinstance(value, Fraction) else value
    if exact.denominator == 1:
        return str(exact.numerator)
    return f"{exact.numerator}/{exact.denominator}"


def to_plain(value: Any, decimals: int | None = None) -> Any:
    """A cell as a plain YAML/JSON scalar: int, or a float rounded for display."""
    if isinstance(value, (bool, np.bool_)):
        return int(bool(value))
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        return value
    text = format_number(value, decimals)
    if "/" in text:
        return text  # an exact fraction stays one ("1/3"): no float holds it
    number = Fraction(text)
    return int(number) if number.denominator == 1 else float(text)


def nested(arr2d: np.ndarray, shape: Shape, cell: Any) -> Any:
    """A (rows, cols) grid as nested lists in its declared shape, each cell mapped by `cell`."""
    if len(shape) == 0:
        return cell(arr2d[0, 0])
    if len(shape) == 1:
        return [cell(arr2d[i, 0]) for i in range(arr2d.shape[0])]
    return [[cell(v) for v in row] for row in arr2d]


def cell_name(name: str, shape: Shape, row: int, col: int) -> str:
    """The 1-based name a person reads: x[2], W[1,3], or just b for a scalar."""
    if len(shape) == 0:
        return name
    if len(shape) == 1:
        return f"{name}[{row + 1}]"
    return f"{name}[{row + 1},{col + 1}]"
