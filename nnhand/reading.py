"""Reading numbers and grids that people wrote: givens files and answer files.

A cell may be a whole number, a decimal, a fraction ('2/3'), with a Unicode minus or
surrounding spaces. Errors name the cell (1-based, `H[2,3]`) and say what is accepted.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import NnhandError
from .values import Shape, grid_shape

ACCEPTED = "write 3, -1.5 or 2/3"
MAX_MAGNITUDE = 10**12
MAX_TEXT = 64
_MINUSES = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-", "\ufe63": "-", "\uff0d": "-"})


class CellError(NnhandError):
    """A cell that cannot be read as a number."""


def cell_name(name: str, shape: Shape, row: int, col: int) -> str:
    """The 1-based name a person reads: x[2], W[1,3], or just b for a scalar."""
    if len(shape) == 0:
        return name
    if len(shape) == 1:
        return f"{name}[{row + 1}]"
    return f"{name}[{row + 1},{col + 1}]"


def read_number(raw: Any, where: str) -> int | Fraction:
    """One cell as an exact number. Raises CellError naming `where`."""
    if isinstance(raw, bool):
        raise CellError(f"{str(raw).lower()} is not a number ({ACCEPTED})", where=where)
    if isinstance(raw, int):
        if abs(raw) > MAX_MAGNITUDE:
            raise CellError(f"{raw} is far too large for a hand exercise", where=where)
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise CellError(f"{raw} is not a finite number ({ACCEPTED})", where=where)
        if abs(raw) > MAX_MAGNITUDE:
            raise CellError(f"{raw} is far too large for a hand exercise", where=where)
        return _whole(Fraction(repr(raw)))
    if isinstance(raw, str):
        return _read_text(raw, where)
    if raw is None:
        raise CellError(f"is empty ({ACCEPTED})", where=where)
    raise CellError(f"{_describe(raw)} is not a number ({ACCEPTED})", where=where)


def _read_text(raw: str, where: str) -> int | Fraction:
    text = raw.strip().translate(_MINUSES).replace(" ", "")
    shown = raw.strip()[:MAX_TEXT]
    if len(text) > MAX_TEXT:
        raise CellError(f'"{shown}..." is not a number ({ACCEPTED})', where=where)
    if text.count(",") == 1 and "." not in text and "/" not in text:
        text = text.replace(",", ".")  # a decimal comma: 1,5 means 1.5
    if text.startswith("+"):
        text = text[1:]
    try:
        if "/" in text:
            num, _, den = text.partition("/")
            value = Fraction(Fraction(num), Fraction(den))
        else:
            value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise CellError(f'"{shown}" is not a number ({ACCEPTED})', where=where) from None
    if abs(value) > MAX_MAGNITUDE or value.denominator > MAX_MAGNITUDE:
        raise CellError(f'"{shown}" is far too large for a hand exercise', where=where)
    return _whole(value)


def _whole(value: Fraction) -> int | Fraction:
    return int(value) if value.denominator == 1 else value


def _describe(raw: Any) -> str:
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, dict):
        return "a mapping"
    return f"{type(raw).__name__} {str(raw)[:MAX_TEXT]!r}"


def grid_cells(raw: Any, shape: Shape, name: str, where: str) -> list[list[Any]]:
    """The raw cells of a value in its declared shape, as rows x cols; checks the nesting."""
    rows, cols = grid_shape(shape)
    what = _shape_words(shape)
    if len(shape) == 0:
        if isinstance(raw, list) and len(raw) == 1 and not isinstance(raw[0], list):
            raw = raw[0]
        if isinstance(raw, (list, dict)):
            raise CellError(f"expected one number, got {_describe(raw)}", where=f"{where}")
        return [[raw]]
    if not isinstance(raw, list):
        raise CellError(f"expected {what}, got {_describe(raw) if raw is not None else 'nothing'}", where=where)
    if len(shape) == 1:
        if len(raw) == rows and all(isinstance(v, list) and len(v) == 1 for v in raw):
            raw = [v[0] for v in raw]  # written as a column [[1], [2], [3]]
        if len(raw) == 1 and isinstance(raw[0], list) and len(raw[0]) == rows:
            raw = raw[0]  # written as a row [[1, 2, 3]]
        if len(raw) != rows or any(isinstance(v, (list, dict)) for v in raw):
            raise CellError(f"expected {what}, got {_count(raw)}", where=where)
        return [[v] for v in raw]
    if len(raw) != rows or not all(isinstance(r, list) for r in raw):
        raise CellError(f"expected {what} (a list of {rows} rows), got {_count(raw)}", where=where)
    for i, row in enumerate(raw):
        if len(row) != cols or any(isinstance(v, (list, dict)) for v in row):
            raise CellError(f"row {i + 1} should hold {cols} numbers, got {_count(row)}", where=where)
    return [list(r) for r in raw]


def _shape_words(shape: Shape) -> str:
    if len(shape) == 1:
        return f"a list of {shape[0]} numbers"
    rows, cols = grid_shape(shape)
    return f"a {rows}x{cols} matrix"


def _count(raw: Any) -> str:
    if isinstance(raw, list):
        return f"{len(raw)} entries"
    return _describe(raw)


def read_grid(raw: Any, shape: Shape, where: str) -> np.ndarray:
    """A complete value (every cell a number) as a (rows, cols) exact array."""
    name = where.rsplit(": ", 1)[-1]
    cells = grid_cells(raw, shape, name, where)
    numbers = [
        [read_number(v, f"{where.rsplit(': ', 1)[0]}: {cell_name(name, shape, i, j)}") for j, v in enumerate(row)]
        for i, row in enumerate(cells)
    ]
    if all(isinstance(v, int) for row in numbers for v in row):
        return np.array(numbers, dtype=np.int64).reshape(grid_shape(shape))
    out = np.empty(grid_shape(shape), dtype=object)
    for i, row in enumerate(numbers):
        for j, v in enumerate(row):
            out[i, j] = Fraction(v)
    return out
