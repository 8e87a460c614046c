"""Exact numbers in NumPy arrays.

Every quantity is held as an array of shape (B, rows, cols): a leading batch axis so that
rejection sampling can test many candidate instances in one NumPy call, then the worksheet
shape (a vector is a column, a scalar is 1x1). Integer maths stays in int64; a division or
a rounding step moves to an object array of `Fraction` so that thirds stay thirds; only
transcendental ops (sigmoid, tanh, e^x) produce float64.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

Shape = tuple[int, ...]  # a declared shape: () scalar, (n,) column vector, (m, n) matrix


def grid_shape(shape: Shape) -> tuple[int, int]:
    """The (rows, cols) a declared shape occupies on a worksheet."""
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (shape[0], 1)
    return (shape[0], shape[1])


def declared_shape(grid: tuple[int, int]) -> Shape:
    """Infer the declared shape of a computed grid: 1x1 is a scalar, r x 1 a vector."""
    rows, cols = grid
    if rows == 1 and cols == 1:
        return ()
    if cols == 1:
        return (rows,)
    return (rows, cols)


def constant(value: Any) -> np.ndarray:
    """A Python number as a broadcastable (1, 1, 1) array."""
    if isinstance(value, bool):
        return np.full((1, 1, 1), value, dtype=bool)
    if isinstance(value, int):
        return np.full((1, 1, 1), value, dtype=np.int64)
    if isinstance(value, float):
        value = Fraction(repr(value))  # a literal 0.1 means one tenth, exactly
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return np.full((1, 1, 1), int(value), dtype=np.int64)
        arr = np.empty((1, 1, 1), dtype=object)
        arr[0, 0, 0] = value
        return arr
    raise TypeError(f"not a number: {value!r}")


def is_exact(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "iub" or arr.dtype == object


def normalize(arr: np.ndarray) -> np.ndarray:
    """Bring an object array back to int64 when every cell is a whole number."""
    if arr.dtype != object:
        return arr
    flat = arr.ravel()
    if all(type(v) is int or (isinstance(v, Fraction) and v.denominator == 1) for v in flat):
        return np.array([int(v) for v in flat], dtype=np.int64).reshape(arr.shape)
    if any(isinstance(v, float) for v in flat):
        return np.array([float(v) for v in flat], dtype=np.float64).reshape(arr.shape)
    out = np.empty(arr.shape, dtype=object)
    out.ravel()[:] = [v if isinstance(v, Fraction) else Fraction(int(v)) for v in flat]
    return out


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
    out = np.empty(arr.shape, dtype=object)
    out.ravel()[:] = [round_half_away(_exact(v), decimals) for v in arr.ravel().tolist()]
    return normalize(out)


def _exact(v: Any) -> Fraction:
    if isinstance(v, float):
        return Fraction(v)
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
        else:
            decimals = 2
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
    number = Fraction(text)
    return int(number) if number.denominator == 1 else float(text)


def nested(arr2d: np.ndarray, shape: Shape, cell: Any) -> Any:
    """A (rows, cols) grid as nested lists in its declared shape, each cell mapped by `cell`."""
    if len(shape) == 0:
        return cell(arr2d[0, 0])
    if len(shape) == 1:
        return [cell(arr2d[i, 0]) for i in range(arr2d.shape[0])]
    return [[cell(v) for v in row] for row in arr2d]
