"""Value distributions for givens: what numbers a generated exercise may contain.

The presets follow CONVENTIONS.md (measured over published hand exercises): weights are
mostly -1/0/1, biases mostly 0 or ±1 with an occasional push below zero, inputs small and
non-negative. A template names a preset or writes its own:

    dist: weights                      # a preset
    dist: {range: [-2, 3]}             # whole numbers, uniform
    dist: {range: [0.01, 0.99]}        # decimals: every hundredth in between, exact
    dist: {set: {0: 4, 1: 4, -1: 2}}   # weighted values (relative weights); decimals allowed
    dist: {values: [1, 2, 3]}          # uniform over a list
    dist: {simplex: 10}                # each column: tenths summing to 1 (a softmax output)
    dist: onehot                       # each column: one 1, zeros elsewhere
    fixed: 0                           # not random at all
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.errors import TemplateError

# value: relative weight. CONVENTIONS.md: weights 0 ~40 %, +1 ~43 %, -1 ~14 %, ±2 ~2 %, ±3 rare;
# the preset draws 0 a little more often (43 %), since the rules that refuse an all-zero row or
# column take zeros out: the sheets then hold the published mix (bench/realism.py measures it).
PRESETS: dict[str, dict[int, float]] = {
    "weights": {0: 43, 1: 41, -1: 13, 2: 1, -2: 1, 3: 0.5, -3: 0.5},
    # a third 0, two thirds within ±1 (so ±1 a third), an occasional -2..-5 to push a
    # pre-activation below 0, and now and then a larger positive one (published: up to +10)
    "bias": {0: 33, 1: 20, -1: 16, -2: 7, -3: 5, -4: 3, -5: 2, 2: 6, 3: 3, 4: 2, 5: 1, 6: 0.5, 8: 0.3, 10: 0.2},
    # 0..7 with 88 % in 0..3; a rare -1
    "inputs": {0: 18, 1: 26, 2: 24, 3: 20, 4: 4, 5: 3, 6: 2, 7: 1, -1: 2},
    # given 0/1 attention weights: about 44 % ones
    "binary": {0: 56, 1: 44},
    "signs": {-1: 1, 1: 1},
}
STRUCTURED = ("onehot",)
MAX_VALUE = 10**6  # the largest magnitude a template may write (a literal in an expression too)
MAX_DECIMALS = 4
MAX_WEIGHT = 10**9  # relative weights; beyond this a weight is a typo
MAX_RANGE = 1000


@dataclass(frozen=True)
class Distribution:
    """Draws whole-number (or exact-fraction) arrays of shape (B, rows, cols)."""

    kind: str  # "set", "range", "fixed", "simplex", "onehot"
    values: np.ndarray | None = None
    cdf: np.ndarray | None = None
    low: int = 0
    high: int = 0
    fixed: Any = None
    parts: int = 0
    preset: str | None = None
    scale: int = 1  # a decimal range draws whole numbers of 1/scale
    phrases: np.ndarray | None = None  # kind "phrases": one row of 1-based word indices per phrase

    def from_uniform(self, uniforms: np.ndarray) -> np.ndarray:
        """A weighted-set draw from uniforms in [0, 1) (the inverse of the cumulative weights)."""
        assert self.values is not None and self.cdf is not None
        return self.values[self.cdf.searchsorted(uniforms, side="right")]

    def draw(self, rng: np.random.Generator, size: tuple[int, int, int]) -> np.ndarray:
        if self.kind == "set":
            return self.from_uniform(rng.random(size))
        if self.kind == "range":
            whole = rng.integers(self.low, self.high, size=size, endpoint=True)
            if self.scale == 1:
                return whole
            out = np.empty(size, dtype=object)
            out.ravel()[:] = [Fraction(int(k), self.scale) for k in whole.ravel()]
            return out
        if self.kind == "fixed":
            return np.broadcast_to(self.fixed, size).copy()
        if self.kind == "phrases":
            assert self.phrases is not None
            batch, rows, cols = size
            if cols == 1:  # a vector: one phrase down the column
                return self.phrases[rng.integers(len(self.phrases), size=batch)][:, :, None]
            return self.phrases[rng.integers(len(self.phrases), size=(batch, rows))]  # a phrase per row
        if self.kind == "onehot":
            batch, rows, cols = size
            hot = rng.integers(0, rows, size=(batch, cols))
            out = np.zeros(size, dtype=np.int64)
            out[np.arange(batch)[:, None], hot, np.arange(cols)[None, :]] = 1
            return out
        if self.kind == "simplex":
            batch, rows, cols = size
            counts = rng.multinomial(self.parts, [1 / rows] * rows, size=(batch, cols))
            out = np.empty(size, dtype=object)
            out[...] = np.vectorize(lambda k: Fraction(int(k), self.parts), otypes=[object])(np.swapaxes(counts, 1, 2))
            return out
        raise AssertionError(self.kind)

    def magnitude(self) -> int:
        """A bound on |every cell| it draws (whole, rounded up): what expr.static_bound starts from."""
        if self.kind == "range":
            return -(-max(abs(self.low), abs(self.high)) // self.scale)
        if self.kind in ("simplex", "onehot"):
            return 1
        cells = {"set": self.values, "fixed": self.fixed, "phrases": self.phrases}[self.kind]
        assert cells is not None
        return max((int(abs(Fraction(v)).__ceil__()) for v in np.asarray(cells).ravel().tolist()), default=0)

    def typical(self, size: tuple[int, int, int]) -> np.ndarray:
        """A deterministic stand-in value (all ones, or the fixed value) for checking shapes."""
        if self.kind == "fixed":
            return np.broadcast_to(self.fixed, size).copy()
        if self.kind == "simplex":
            out = np.empty(size, dtype=object)
            out[...] = Fraction(1, size[1])
            return out
        if self.kind == "onehot":
            out = np.zeros(size, dtype=np.int64)
            out[:, 0, :] = 1
            return out
        if self.kind == "phrases":
            assert self.phrases is not None
            first = self.phrases[0]
            return np.broadcast_to(first[:, None] if size[2] == 1 else first[None, :], size).copy()
        return np.broadcast_to(self._stand_in(), size).copy()

    def _stand_in(self) -> np.ndarray:
        """One value the distribution can give: 1 where it can (it divides safely), else the first."""
        if self.kind == "range":
            low, high = Fraction(self.low, self.scale), Fraction(self.high, self.scale)
            value = Fraction(1) if low <= 1 <= high else low
        else:
            assert self.values is not None
            value = Fraction(1) if 1 in self.values.tolist() else Fraction(self.values[0])
        if value.denominator == 1:
            return np.array(int(value), dtype=np.int64)
        out = np.empty((), dtype=object)
        out[()] = value
        return out


def _weighted(table: Mapping[Any, Any], where: str, preset: str | None = None) -> Distribution:
    values: list[Fraction] = []
    weights = []
    for value, weight in table.items():
        v = _exact_value(value, where)
        values.append(v)
        weights.append(_weight(weight, v, where))
    total = sum(weights)
    if not values or total <= 0:
        raise TemplateError("a weighted set needs at least one value with a positive weight", where=where)
    cdf = np.cumsum(np.array(weights) / total)
    cdf[-1] = 1.0 + 1e-12  # guard against rounding: every draw in [0, 1) finds a value
    array: np.ndarray
    if all(v.denominator == 1 for v in values):
        array = np.array([int(v) for v in values], dtype=np.int64)
    else:  # decimals such as a drop rate of 0.5: exact fractions, so arithmetic stays exact
        array = np.array([*values, None], dtype=object)[:-1]  # (the None keeps it one-dimensional)
    return Distribution("set", values=array, cdf=cdf, preset=preset)


def _weight(weight: Any, value: Fraction, where: str) -> float:
    """A relative weight: a finite number from 0 to MAX_WEIGHT."""
    shown = _shown(value)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise TemplateError(f"the weight of {shown} must be a number ≥ 0, got {_shown(weight)}", where=where)
    if isinstance(weight, float) and not math.isfinite(weight):
        raise TemplateError(f"the weight of {shown} is {weight}: weights are finite numbers", where=where)
    if not 0 <= weight <= MAX_WEIGHT:
        raise TemplateError(
            f"the weight of {shown} must be from 0 to {MAX_WEIGHT:.0e}, got {_shown(weight)}", where=where
        )
    return float(weight)


def _shown(value: Any) -> str:
    """A value for a message, cut short (a 4,000-digit number stays readable)."""
    text = format(value, "g") if isinstance(value, float) else str(value)
    return text if len(text) <= 24 else text[:20] + "..."


def _exact_value(value: Any, where: str) -> Fraction:
    """A whole number or a short decimal (0.25) from a template, exactly, within ±MAX_VALUE."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Fraction)):
        raise TemplateError(f"{_shown(value)} is not a number", where=where, fix="Write 1, -2 or 0.25")
    if isinstance(value, float) and not math.isfinite(value):
        raise TemplateError(f"'{value}' is not a finite number", where=where, fix="Write 1, -2 or 0.25")
    if isinstance(value, str) and len(value) > 40:
        if value.strip().lstrip("+-").isdigit():  # safeio keeps a >4,300-digit integer as its text
            raise TemplateError(f"{_shown(value)} is too large for a hand exercise", where=where)
        raise TemplateError(f"'{_shown(value)}' is not a short number", where=where)
    try:
        # repr: a float such as 0.1 means the decimal the template wrote, not its binary neighbour
        exact = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise TemplateError(f"'{_shown(value)}' is not a number", where=where) from None
    if abs(exact) > MAX_VALUE:
        raise TemplateError(f"{_shown(value)} is too large for a hand exercise (beyond ±{MAX_VALUE:,})", where=where)
    if exact.denominator > 10**MAX_DECIMALS:
        raise TemplateError(f"'{_shown(value)}' has more than {MAX_DECIMALS} decimals", where=where)
    return exact


def phrases_distribution(spec: Any, vocabulary: tuple[str, ...], where: str) -> Distribution:
    """`{phrases: ["how are you", ...]}`: each row (or a vector) of a word given is one phrase."""
    if not vocabulary:
        raise TemplateError("word givens need a top-level 'vocabulary' list", where=where)
    if not isinstance(spec, list) or len(spec) < 2 or not all(isinstance(p, str) for p in spec):
        raise TemplateError("phrases takes a list of at least two phrases, e.g. [how are you, who is it]", where=where)
    rows = []
    for phrase in spec:
        words = phrase.split()
        unknown = [w for w in words if w not in vocabulary]
        if unknown:
            raise TemplateError(f"'{unknown[0]}' in '{phrase}' is not in the vocabulary", where=where)
        rows.append([vocabulary.index(w) + 1 for w in words])
    if len({len(r) for r in rows}) != 1:
        raise TemplateError("every phrase needs the same number of words", where=where)
    return Distribution("phrases", phrases=np.array(rows, dtype=np.int64))


def parse_distribution(spec: Any, where: str) -> Distribution:
    """Read a `dist:` value from a template. Errors name `where` and the accepted forms."""
    forms = (
        "a preset (" + ", ".join([*PRESETS, *STRUCTURED]) + "), {range: [lo, hi]}, "
        "{set: {value: weight}}, {values: [...]} or {simplex: 10}"
    )
    if isinstance(spec, str):
        if spec in PRESETS:
            return _weighted(PRESETS[spec], where, preset=spec)
        if spec == "onehot":
            return Distribution("onehot", preset=spec)
        raise TemplateError(f"unknown distribution '{_shown(spec)}'", where=where, fix=f"Use {forms}")
    if isinstance(spec, Mapping) and len(spec) == 1:
        ((kind, arg),) = spec.items()
        if kind == "range":
            usage = "range takes [lo, hi], two finite numbers with lo ≤ hi"
            if not isinstance(arg, list) or len(arg) != 2:
                raise TemplateError(usage, where=where)
            for a in arg:
                if isinstance(a, bool) or not isinstance(a, (int, float)):
                    raise TemplateError(f"{usage}, not {_shown(a)}", where=where)
                if isinstance(a, float) and not math.isfinite(a):
                    raise TemplateError(f"{usage}, not {_shown(a)}", where=where)
                if abs(a) > MAX_RANGE:  # an int too large for a float (10**400) stops here too
                    raise TemplateError(f"range beyond ±{MAX_RANGE}: not a hand exercise", where=where)
            low, high = (_exact_value(a, where) for a in arg)
            if low > high:
                raise TemplateError(usage, where=where)
            scale = max(low.denominator, high.denominator)
            if scale == 1:
                return Distribution("range", low=int(low), high=int(high))
            # [0.01, 0.99]: every hundredth in between, exactly
            return Distribution("range", low=int(low * scale), high=int(high * scale), scale=scale)
        if kind == "set":
            if not isinstance(arg, Mapping):
                raise TemplateError("set takes a mapping {value: weight}", where=where)
            return _weighted(arg, where)
        if kind == "values":
            if not isinstance(arg, list) or not arg:
                raise TemplateError("values takes a non-empty list of numbers", where=where)
            exact = [_exact_value(v, where) for v in arg]
            return _weighted({v: exact.count(v) for v in dict.fromkeys(exact)}, where)
        if kind == "simplex":
            if not isinstance(arg, int) or isinstance(arg, bool) or not 1 <= arg <= 100:
                raise TemplateError("simplex takes the number of parts, e.g. 10 for tenths", where=where)
            return Distribution("simplex", parts=arg)
    raise TemplateError(f"cannot read the distribution {_shown(repr(spec))}", where=where, fix=f"Use {forms}")


def fixed_distribution(value: Any, where: str) -> Distribution:
    """`fixed: 0` (every cell), `fixed: [1, 2]` (a vector) or `fixed: [[...]]` (a matrix)."""
    usage = "fixed takes a number, a list of numbers or a list of rows of numbers"
    if isinstance(value, list):
        if not value or len(value) > 16 * 16:
            raise TemplateError(usage, where=where)
        if all(isinstance(row, list) for row in value):
            if len({len(row) for row in value}) != 1 or not value[0] or len(value) * len(value[0]) > 16 * 16:
                raise TemplateError(f"{usage} (every row as long)", where=where)
            rows = [[_exact_value(v, where) for v in row] for row in value]
        elif any(isinstance(row, (list, dict)) for row in value):
            raise TemplateError(usage, where=where)
        else:
            rows = [[_exact_value(v, where)] for v in value]  # a vector is a column
    else:
        rows = [[_exact_value(value, where)]]
    cells = [v for row in rows for v in row]
    arr: np.ndarray
    if all(v.denominator == 1 for v in cells):
        arr = np.array([[int(v) for v in row] for row in rows], dtype=np.int64)
    else:
        arr = np.empty((len(rows), len(rows[0])), dtype=object)
        arr.ravel()[:] = cells
    return Distribution("fixed", fixed=arr)
