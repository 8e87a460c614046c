"""Reading numbers and grids that people wrote: givens files and answer files.

Forgiving where the meaning is clear, strict where it is not:
- a cell: 3, -1.5, 2/3, a Unicode minus (−1), -0, a decimal comma (1,5) where it cannot
  be a list, surrounding spaces;
- a vector: a YAML list, a row written where a column is expected (or the reverse), a
  string "1 2 3" or "1, 2, 3";
- a matrix: nested lists, a list of row strings, or one bracketed string "[1 2; 3 4]" or
  "[[1,2],[3,4]]".
Every reading that is not literal is noted, so a learner can see how an answer was read
(`check --show-reading`). Errors name the cell (1-based, `H[2,3]`) and what is accepted.

Strict where a guess could change a grade, bounded where a typed answer could cost work:
- a space inside a number is not a number ("1 2" is not 12); spaces around a slash are fine;
- a decimal within 1e-9 (relative; 1e-12 near 0) of a decimal of at most 6 places is read
  as that decimal: `-1.2000000000000002` is what a spreadsheet or `0.1*12` writes for -1.2;
- an exponent beyond ±400 is refused before any arithmetic (`1e99999999` would build a
  number of 100 million digits), as are magnitudes and denominators beyond 10^12.
With `mark_unreadable`, a cell that cannot be read is kept as unreadable (the reason and
the text as written) instead of raising, so the rest of an answer file can be graded.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.errors import CellError
from nnhand.safety.safetext import one_line
from nnhand.values import Shape, cell_name, format_number, grid_shape

ACCEPTED = "write 3, -1.5 or 2/3"
MAX_MAGNITUDE = 10**12
MAX_TEXT = 64
MAX_STRING = 4000  # a whole matrix written as one string
MAX_EXPONENT = 400  # past every float (1e308, 5e-324), and 10**400 is still cheap to build
SHORT_PLACES = 6  # a float artefact is read as the nearest decimal of at most this many places
ARTEFACT = Fraction(1, 10**9)  # relative distance of a float artefact from its short decimal
ARTEFACT_NEAR_ZERO = Fraction(1, 10**12)  # ... and absolute, near 0 where relative means nothing
_MINUSES = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-", "\ufe63": "-", "\uff0d": "-"})
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE](?P<exp>[+-]?\d+))?(/[+-]?(\d+(\.\d*)?|\.\d+))?$")
_SLASH = re.compile(r"\s*/\s*")


@dataclass(frozen=True)
class Unreadable:
    """A cell that could not be read: why, and what was written (on one line, shortened)."""

    reason: str
    text: str


@dataclass
class Reading:
    """The cells of one answer as read: None where left blank; notes on anything not literal.

    With `mark_unreadable`, a cell that cannot be read is None in `cells` and listed in
    `unreadable`; `problem` says why when the whole answer has the wrong shape."""

    cells: list[list[Fraction | None]]
    raw: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    unreadable: dict[tuple[int, int], Unreadable] = field(default_factory=dict)
    problem: str | None = None


# ----------------------------------------------------------------------------- one cell


def read_number(raw: Any, where: str) -> int | Fraction:
    """One cell as an exact number. Raises CellError naming `where`."""
    value, _ = _number_and_note(raw, where)
    return value


def _number_and_note(raw: Any, where: str) -> tuple[int | Fraction, str | None]:
    if isinstance(raw, bool):
        raise CellError(f"{str(raw).lower()} is not a number ({ACCEPTED})", where=where)
    if isinstance(raw, int):
        if abs(raw) > MAX_MAGNITUDE:
            raise CellError(f"{raw} is far too large for a hand exercise", where=where)
        return raw, None
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise CellError(f"{raw} is not a finite number ({ACCEPTED})", where=where)
        if abs(raw) > MAX_MAGNITUDE:
            raise CellError(f"{raw} is far too large for a hand exercise", where=where)
        # repr is the shortest text that reads back as this float: what the writer typed, or
        # an artefact such as -1.2000000000000002; its exponent is at most ±324.
        return _decimal(Fraction(repr(raw)), repr(raw), where)
    if isinstance(raw, str):
        return _read_text(raw, where)
    if raw is None:
        raise CellError(f"is empty ({ACCEPTED})", where=where)
    raise CellError(f"{_describe(raw)} is not a number ({ACCEPTED})", where=where)


def _read_text(raw: str, where: str) -> tuple[int | Fraction, str | None]:
    stripped = raw.strip()
    shown = one_line(stripped)[:MAX_TEXT]
    if len(stripped) > MAX_TEXT:
        raise CellError(f'"{shown}..." is not a number ({ACCEPTED})', where=where)
    text = _SLASH.sub("/", stripped.translate(_MINUSES))
    note = "Unicode minus read as -" if text != _SLASH.sub("/", stripped) else None
    if any(c.isspace() for c in text):
        raise CellError(f'"{shown}" is not a number: a space inside a number ({ACCEPTED})', where=where)
    if text.count(",") == 1 and "." not in text and "/" not in text:
        text = text.replace(",", ".")  # one comma and no point: a decimal comma
        note = f'"{shown}" read as {text} (decimal comma)'
    match = _NUMBER.match(text)
    if not match:
        raise CellError(f'"{shown}" is not a number ({ACCEPTED})', where=where)
    if match["exp"] is not None and abs(int(match["exp"])) > MAX_EXPONENT:
        # Refused before Fraction() builds 10**exponent: 1e99999999 would take minutes and gigabytes.
        what = "is far too large for" if int(match["exp"]) > 0 else "has more decimals than"
        raise CellError(f'"{shown}" {what} a hand exercise (an exponent beyond ±{MAX_EXPONENT})', where=where)
    try:
        if "/" in text:
            num, _, den = text.partition("/")
            value = Fraction(Fraction(num), Fraction(den))
        else:
            return _decimal(Fraction(text), shown, where, note)
    except (ValueError, ZeroDivisionError):
        raise CellError(f'"{shown}" is not a number ({ACCEPTED})', where=where) from None
    if abs(value) > MAX_MAGNITUDE or value.denominator > MAX_MAGNITUDE:
        raise CellError(f'"{shown}" is far too large for a hand exercise', where=where)
    return _whole(value), note


def _decimal(value: Fraction, shown: str, where: str, note: str | None = None) -> tuple[int | Fraction, str | None]:
    """A decimal as read: a float artefact as its short decimal (noted), bounded in size."""
    short = short_decimal(value)
    if short is not None:
        value = short
        note = f"{shown} read as {format_number(short)} (the rounding error of a float)"
    if abs(value) > MAX_MAGNITUDE:
        raise CellError(f"{shown} is far too large for a hand exercise", where=where)
    if value.denominator > MAX_MAGNITUDE:
        raise CellError(f"{shown} has more decimals than a hand exercise needs", where=where)
    return _whole(value), note


def short_decimal(value: Fraction) -> Fraction | None:
    """The decimal of at most SHORT_PLACES places that `value` is a float artefact of, or None.

    An artefact lies within ARTEFACT (relative) of it; 0.1*12 = 1.2000000000000002 is 1.2.
    None when `value` is itself that short, or too far from every short decimal."""
    unit = 10**SHORT_PLACES
    scaled = value * unit
    if scaled.denominator == 1:
        return None
    short = Fraction(round(scaled), unit)
    if abs(value - short) <= max(abs(short) * ARTEFACT, ARTEFACT_NEAR_ZERO):
        return short
    return None


def _whole(value: Fraction) -> int | Fraction:
    return int(value) if value.denominator == 1 else value


def _describe(raw: Any) -> str:
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, dict):
        return "a mapping"
    return f"{type(raw).__name__} {str(raw)[:MAX_TEXT]!r}"


# ----------------------------------------------------------------------------- strings as rows


def _split_row(text: str, expected: int) -> list[str] | None:
    """Split a row written as text ("1 2 3", "1, 2, 3", "1,5 2,5") into `expected` cells."""
    text = text.strip().strip("[]").strip()
    if not text:
        return None
    candidates = []
    if "," in text:
        candidates.append([t for t in (p.strip() for p in text.split(",")) if t])
    candidates.append(text.split())  # whitespace: keeps decimal commas inside numbers
    for cells in candidates:
        if len(cells) == expected:
            return cells
    return None


def split_matrix(text: str) -> list[str] | None:
    """A matrix in one string: "[1 2; 3 4]", "[[1,2],[3,4]]" or "1 2; 3 4". Its rows, or None."""
    body = text.strip()
    if len(body) > MAX_STRING:
        return None
    if body.startswith("[[") and body.endswith("]]"):
        return [r.strip(" ,") for r in re.findall(r"\[([^\[\]]*)\]", body[1:-1])]
    body = body.strip("[]")
    if ";" in body or "\n" in body:
        return [r for r in re.split(r"[;\n]", body) if r.strip()]
    return None


# ----------------------------------------------------------------------------- whole values


def read_answer(raw: Any, shape: Shape, name: str, where: str, *, mark_unreadable: bool = False) -> Reading:
    """An answer in its declared shape; blank cells (null) stay None.

    A cell (or, for the wrong shape, the whole answer) that cannot be read raises CellError,
    or with `mark_unreadable` is recorded in `Reading.unreadable` and read as blank."""
    rows, cols = grid_shape(shape)
    try:
        grid, notes = _arrange(raw, shape, name, where)
    except CellError as exc:
        if not mark_unreadable:
            raise
        bad = Unreadable(_reason(exc), raw_text(raw))
        unreadable = {(i, j): bad for i in range(rows) for j in range(cols)}
        return Reading([[None] * cols for _ in range(rows)], [], [], unreadable, bad.reason)
    cells: list[list[Fraction | None]] = []
    unreadable = {}
    for i, row in enumerate(grid):
        out_row: list[Fraction | None] = []
        for j, value in enumerate(row):
            if value is None or (isinstance(value, str) and value.strip() in ("", "~", "null", "?", "_", "___")):
                out_row.append(None)
                continue
            cell = cell_name(name, shape, i, j)
            try:
                number, note = _number_and_note(value, f"{where}: {cell}")
            except CellError as exc:
                if not mark_unreadable:
                    raise
                unreadable[(i, j)] = Unreadable(_reason(exc), raw_text(value))
                out_row.append(None)
                continue
            if note:
                notes.append(f"{cell}: {note}")
            out_row.append(Fraction(number))
        cells.append(out_row)
    assert len(cells) == rows and all(len(r) == cols for r in cells)
    return Reading(cells, grid, notes, unreadable)


def _reason(exc: CellError) -> str:
    """Why a cell cannot be read, with what to write instead, as one clause."""
    if not exc.fix:
        return exc.message
    return f"{exc.message.rstrip('.')}; {exc.fix[:1].lower()}{exc.fix[1:]}"


def raw_text(value: Any) -> str:
    """What was written in a cell, on one line and shortened, safe to show anywhere."""
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, bool):
        text = str(value).lower()
    else:
        text = str(value)
    text = one_line(text[: 4 * MAX_TEXT])
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _arrange(raw: Any, shape: Shape, name: str, where: str) -> tuple[list[list[Any]], list[str]]:
    """The raw cells as rows x cols, accepting the forms in the module docstring."""
    rows, cols = grid_shape(shape)
    at = f"{where}: {name}"
    notes: list[str] = []
    if len(shape) == 0:
        if isinstance(raw, list) and len(raw) == 1 and isinstance(raw[0], list) and len(raw[0]) == 1:
            raw = raw[0]
        if isinstance(raw, list) and len(raw) == 1 and not isinstance(raw[0], (list, dict)):
            raw = raw[0]
        if isinstance(raw, str) and raw.strip().startswith("[") and raw.strip().endswith("]"):
            raw = raw.strip()[1:-1]
        if isinstance(raw, (list, dict)):
            raise CellError(f"expected one number, got {_describe(raw)}", where=at, fix=ACCEPTED.capitalize())
        return [[raw]], notes
    if isinstance(raw, str):
        matrix = split_matrix(raw)
        if matrix is not None and len(shape) == 2:
            raw = matrix
        elif len(shape) == 1 or rows == 1 or cols == 1:
            cells = _split_row(raw, rows * cols)
            if cells is None:
                raise CellError(
                    f'"{one_line(raw.strip()[:MAX_TEXT])}" does not hold {rows * cols} numbers',
                    where=at,
                    fix=f"Write {shape_words(shape)}, e.g. {example(shape)}",
                )
            notes.append(f'{name}: read from the text "{one_line(raw.strip()[:MAX_TEXT])}"')
            raw = cells
        else:
            raise CellError(f"expected {shape_words(shape)}, got text", where=at, fix=f"Write e.g. {example(shape)}")
    if not isinstance(raw, list):
        raise CellError(
            f"expected {shape_words(shape)}, got {_describe(raw) if raw is not None else 'nothing'}",
            where=at,
            fix=f"Write e.g. {example(shape)}",
        )
    if len(shape) == 1 or cols == 1 or rows == 1:
        flat = _flatten_vector(raw, rows * cols, name, notes, column=cols == 1)
        if flat is not None:
            return [[v] for v in flat] if cols == 1 else [flat], notes
        if len(shape) == 1:
            if len(raw) == rows * cols:  # the right length, but a cell that is a list or mapping
                k = next(k for k, v in enumerate(raw) if isinstance(v, (list, dict)))
                cell = cell_name(name, shape, k if cols == 1 else 0, 0 if cols == 1 else k)
                raise CellError(f"{_describe(raw[k])} is not a number ({ACCEPTED})", where=f"{where}: {cell}")
            raise CellError(
                f"expected {shape_words(shape)}, got {_count(raw)}", where=at, fix=f"Write e.g. {example(shape)}"
            )
    if len(raw) != rows:
        raise CellError(
            f"expected {shape_words(shape)} ({rows} rows), got {_count(raw)}",
            where=at,
            fix=f"Write e.g. {example(shape)}",
        )
    grid = []
    for i, row in enumerate(raw):
        if isinstance(row, str):
            cells = _split_row(row, cols)
            if cells is None:
                shown = one_line(row.strip()[:MAX_TEXT])
                raise CellError(f'row {i + 1} "{shown}" does not hold {cols} numbers', where=at)
            row = cells
        if not isinstance(row, list) or len(row) != cols or any(isinstance(v, (list, dict)) for v in row):
            raise CellError(f"row {i + 1} should hold {cols} numbers, got {_count(row)}", where=at)
        grid.append(list(row))
    return grid, notes


def _flatten_vector(raw: list[Any], size: int, name: str, notes: list[str], column: bool) -> list[Any] | None:
    """A vector written flat, as a column [[1],[2]] or as a row [[1, 2]]; None if none fits."""
    if len(raw) == size and not any(isinstance(v, (list, dict)) for v in raw):
        return raw
    if len(raw) == size and all(isinstance(v, list) and len(v) == 1 for v in raw):
        if not column:
            notes.append(f"{name}: written as a column; read as the row it stands for")
        return [v[0] for v in raw]
    if len(raw) == 1 and isinstance(raw[0], list) and len(raw[0]) == size:
        if column:
            notes.append(f"{name}: written as a row; read as the column it stands for")
        return list(raw[0])
    return None


def shape_words(shape: Shape) -> str:
    if len(shape) == 0:
        return "one number"
    if len(shape) == 1:
        return f"a list of {shape[0]} numbers"
    rows, cols = grid_shape(shape)
    return f"a {rows}x{cols} matrix"


def example(shape: Shape) -> str:
    rows, cols = grid_shape(shape)
    if len(shape) == 0:
        return "3"
    if len(shape) == 1:
        return "[" + ", ".join(str(i + 1) for i in range(rows)) + "]"
    return (
        "["
        + ", ".join("[" + ", ".join("0" for _ in range(cols)) + "]" for _ in range(min(rows, 2)))
        + (", ...]" if rows > 2 else "]")
    )


def _count(raw: Any) -> str:
    if isinstance(raw, list):
        return f"{len(raw)} entries"
    return _describe(raw)


def read_grid(raw: Any, shape: Shape, where: str, name: str | None = None) -> np.ndarray:
    """A complete value (every cell a number) as a (rows, cols) exact array."""
    if name is None:
        where, _, name = where.rpartition(": ")
    reading = read_answer(raw, shape, name, where)
    rows, cols = grid_shape(shape)
    for i, row in enumerate(reading.cells):
        for j, value in enumerate(row):
            if value is None:
                raise CellError(f"is empty ({ACCEPTED})", where=f"{where}: {cell_name(name, shape, i, j)}")
    values = [[Fraction(v or 0) for v in row] for row in reading.cells]
    if all(v.denominator == 1 for row in values for v in row):
        return np.array([[int(v) for v in row] for row in values], dtype=np.int64).reshape(rows, cols)
    out = np.empty((rows, cols), dtype=object)
    for i, exact_row in enumerate(values):
        for j, v in enumerate(exact_row):
            out[i, j] = v
    return out


def read_words(raw: Any, shape: Shape, vocabulary: tuple[str, ...], where: str, name: str) -> np.ndarray:
    """Words of the vocabulary (a sentence may be one string) as 1-based indices."""
    rows, cols = grid_shape(shape)
    accepted = f"use the words {', '.join(vocabulary)}"
    if isinstance(raw, str) and len(shape) == 2:
        raw = [part for part in re.split(r"[;\n]", raw) if part.strip()]
    if isinstance(raw, str) and len(shape) < 2:
        raw = raw.split() if len(shape) == 1 else raw.strip()
    if len(shape) == 2 and isinstance(raw, list):
        raw = [r.split() if isinstance(r, str) else r for r in raw]
    try:
        cells = _arrange(raw, shape, name, where)[0]
    except CellError as exc:
        raise CellError(exc.message.replace("numbers", "words"), where=exc.where, fix=accepted.capitalize()) from None
    out = np.zeros((rows, cols), dtype=np.int64)
    for i, row in enumerate(cells):
        for j, word in enumerate(row):
            cell = f"{where}: {cell_name(name, shape, i, j)}"
            if isinstance(word, int) and not isinstance(word, bool) and 1 <= word <= len(vocabulary):
                out[i, j] = word
            elif isinstance(word, str) and word.strip() in vocabulary:
                out[i, j] = vocabulary.index(word.strip()) + 1
            else:
                raise CellError(f"{str(word)[:MAX_TEXT]!r} is not a word of the vocabulary", where=cell, fix=accepted)
    return out
