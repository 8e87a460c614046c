"""The inverse blank pattern: one given cell (an input, a weight or a bias) is blank, every
computed step is shown, and the learner solves for the given from the shown outputs
("what weight makes z = 7?", the inverse problems of the published workbook).

A given cell is well posed when the shown outputs pin it down:
- its value is a whole number of a drawn given (a set or a range: not a word, a fixed
  constant, a probability vector or a one-hot target);
- the shown outputs change when it is nudged by a non-whole amount (±1/10, ±1/2): a ReLU
  that zeroes its only path, a comparison with a random number or a rounding that hides the
  change leaves it undecided;
- of every whole number in -SEARCH..SEARCH, its own value is the only one that reproduces
  every shown output (the steps recomputed with the template's own expressions and rounding);
  the range also holds every number within SEARCH of its value (a layer size of 784).

The cell is chosen from the variant (as the `one` pattern chooses its cell): the candidate
cells in an order shuffled by the variant number, inputs, weights and biases first, and the
first well-posed one taken. None well posed: the sheet is refused.

The worked line (core/explain.py `explain_given`) solves the first shown cell that reads the blank through a linear
expression (sums, products by shown numbers, matrix products, dot products, a ReLU that
passes its input): `value = coefficient · cell + rest`, so
    w[2] = (z − b − w[1]·x[1] − w[3]·x[3]) / x[2] = (7 − 1 − 2 − 0) / 2 = 2
and otherwise a sentence saying which shown value only the answer reproduces.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from nnhand.core.reading import cell_name
from nnhand.errors import EvaluationError, NnhandError, TemplateError, ValueRangeError
from nnhand.values import normalize, round_array

if TYPE_CHECKING:
    from nnhand.core.engine import Problem
    from nnhand.core.template import Step, Template

SEARCH = 50  # whole numbers tried in place of the blank: -SEARCH..SEARCH and within SEARCH of its value
NUDGES = (Fraction(1, 10), Fraction(-1, 10), Fraction(1, 2), Fraction(-1, 2))
ROLES_FIRST = ("inputs", "weights", "bias")
_INVERSE_STREAM = 0x696E76  # "inv": the inverse choice apart from the other blank streams
RECOMPUTE_FAILS = (
    EvaluationError, ValueRangeError, TemplateError, ZeroDivisionError, OverflowError, ValueError, TypeError,
    ArithmeticError, AttributeError,
)  # fmt: skip


@dataclass(frozen=True)
class GivenCell:
    """The blank given: its name and 0-based cell."""

    name: str
    row: int
    col: int

    def label(self, problem: Problem) -> str:
        return cell_name(self.name, problem.shapes[self.name], self.row, self.col)


def refused(template_id: str, why: str) -> NnhandError:
    return NnhandError(
        f"{template_id} cannot be asked backwards ('--blanks inverse'): {why}",
        where="--blanks",
        fix="Use --blanks one (one computed cell blank), all or layer",
    )


def candidates(problem: Problem) -> list[GivenCell]:
    """Every given cell that could be the blank: whole-number cells of drawn number givens."""
    out = []
    for name, given in problem.template.givens.items():
        if name not in problem.givens or given.words or given.dist.kind not in ("set", "range"):
            continue
        arr = problem.givens[name]
        for i in range(arr.shape[0]):
            for j in range(arr.shape[1]):
                if Fraction(arr[i, j]).denominator == 1:
                    out.append(GivenCell(name, i, j))
    return out


def choose(problem: Problem, number: int) -> GivenCell:
    """The blank given of the variant `number` seeds (module docstring); refused if none."""
    template = problem.template
    pool = candidates(problem)
    if not pool:
        raise refused(template.id, "it has no given of whole numbers to solve for (its givens are words or fixed)")
    rng = np.random.default_rng([number, _INVERSE_STREAM])
    order = [pool[k] for k in rng.permutation(len(pool))]
    order.sort(key=lambda c: template.givens[c.name].role not in ROLES_FIRST)  # stable: the shuffle stays
    for cell in order:
        if well_posed(problem, cell):
            return cell
    raise refused(
        template.id,
        f"for {problem.variant.instance} no given cell is pinned down by the shown outputs "
        "(each is hidden by a ReLU, a comparison or a rounding, or another whole number gives the same outputs)",
    )


def well_posed(problem: Problem, cell: GivenCell) -> bool:
    """Whether the shown outputs determine `cell` (module docstring)."""
    true = Fraction(problem.givens[cell.name][cell.row, cell.col])
    nudged = reproduces(problem, cell, [true, *(true + d for d in NUDGES)])
    if nudged is None or not nudged[0] or any(nudged[1:]):
        return False
    return solutions(problem, cell) == [int(true)]


def search_range(value: Fraction) -> tuple[int, int]:
    """The whole numbers tried in place of a blank given of this value (module docstring)."""
    if abs(value) <= SEARCH // 2:
        return -SEARCH, SEARCH
    return min(-SEARCH, int(value) - SEARCH), max(SEARCH, int(value) + SEARCH)


def solutions(problem: Problem, cell: GivenCell) -> list[int]:
    """Every whole number of the search range that reproduces every shown output in place of `cell`."""
    low, high = search_range(Fraction(problem.givens[cell.name][cell.row, cell.col]))
    values = list(range(low, high + 1))
    hits = reproduces(problem, cell, [Fraction(v) for v in values])
    return [] if hits is None else [v for v, hit in zip(values, hits) if hit]


def shown_steps(template: Template) -> list[Step]:
    return [s for s in template.steps if s.asked]


def recompute(
    problem: Problem, cell: GivenCell, values: list[Fraction], env: Mapping[str, np.ndarray] | None = None
) -> dict[str, np.ndarray] | None:
    """Every step, as the sheet computes it (rounded as declared), with `cell` set to each of
    `values` in turn: step -> (len(values), rows, cols); None where it cannot be computed."""
    base = problem.env(steps=False) if env is None else env
    n = len(values)
    batch: dict[str, np.ndarray] = {}
    for name, arr in base.items():
        batch[name] = np.repeat(arr, n, axis=0) if name in problem.givens else arr
    column = np.empty(n, dtype=object)
    column[:] = values
    grid = batch[cell.name].astype(object)
    grid[:, cell.row, cell.col] = column
    out = {}
    try:
        batch[cell.name] = normalize(grid)
        for step in problem.template.steps:
            value = np.asarray(step.expr(batch))
            if step.decimals is not None:
                value = round_array(value, step.decimals)
            if value.shape[0] != n:
                value = np.repeat(value, n, axis=0)
            batch[step.name] = value
            out[step.name] = value
    except RECOMPUTE_FAILS:
        return None
    return out


def reproduces(problem: Problem, cell: GivenCell, values: list[Fraction]) -> list[bool] | None:
    """For each value: whether it reproduces every shown output (None: not computable; each
    value is then tried alone, one that fails counting as not reproducing)."""
    steps = recompute(problem, cell, values)
    if steps is None:
        if len(values) == 1:
            return None
        alone = [reproduces(problem, cell, [v]) for v in values]
        if alone[0] is None and all(a is None for a in alone):
            return None
        return [bool(a and a[0]) for a in alone]
    hits = np.ones(len(values), dtype=bool)
    for step in shown_steps(problem.template):
        want = problem.values[step.name]
        got = steps[step.name]
        for k in range(len(values)):
            if hits[k] and not _same(got[k], want):
                hits[k] = False
    return [bool(h) for h in hits]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    try:
        return all(Fraction(x) == Fraction(y) for x, y in zip(a.reshape(-1).tolist(), b.reshape(-1).tolist()))
    except (ValueError, TypeError, OverflowError):
        return False


# ----------------------------------------------------------------------------- answer files


def recover(
    template: Template, givens: Mapping[str, Any], answers: Any, params: Mapping[str, int], where: str
) -> dict[str, Any]:
    """The givens of an inverse answer file with its null given cell filled in: the one whole
    number in -SEARCH..SEARCH that reproduces the file's shown steps. For a file with no seed
    (a sealed class variant, a digest of a person's numbers, --trust-givens), whose key can
    only be solved from the givens it carries; the digest, or the instructor's manifest,
    then checks the instance. A file without a null cell is returned as it is."""
    from nnhand.core.engine import solve
    from nnhand.errors import AnswerFileError

    holes = [(name, path) for name, raw in givens.items() for path in _nulls(raw)]
    if not holes:  # written in: the givens must give the shown steps (never graded against themselves)
        try:
            whole = solve(template, givens, params, where=f"{where}: givens")
        except NnhandError:
            return dict(givens)  # the solver's own message follows
        if isinstance(answers, Mapping) and _shows(whole, answers):
            return dict(givens)
        raise AnswerFileError(
            "the givens do not give the shown steps (an inverse sheet's blank given is answered under answers)",
            where=f"{where}: givens",
            fix="Restore the null in the givens and write your answer under answers",
        )
    if len(holes) > 1 or not isinstance(answers, Mapping):
        raise AnswerFileError(
            "has more than one null given (an inverse sheet leaves one given cell blank)"
            if len(holes) > 1
            else "has no 'answers' to read the shown steps from",
            where=f"{where}: givens",
            fix="Restore the givens and answers the sheet was issued with; write your answer under answers",
        )
    name, path = holes[0]
    found: list[dict[str, Any]] = []
    near = [abs(v) for row in _numbers(givens[name]) for v in row]  # a layer size: search near it
    low, high = search_range(Fraction(max(near, default=0)))
    for v in range(min(low, -high), high + 1):
        filled = dict(givens)
        filled[name] = _put(givens[name], path, v)
        try:
            problem = solve(template, filled, params, where=f"{where}: givens")
        except NnhandError:
            continue
        if _shows(problem, answers):
            found.append(filled)
            if len(found) > 1:
                break
    if len(found) != 1:
        raise AnswerFileError(
            f"the shown steps do not determine the blank given {name} (the givens or the shown steps were changed)",
            where=f"{where}: answers",
            fix="Restore the givens and the shown steps the sheet was issued with",
        )
    return found[0]


def _numbers(raw: Any) -> list[list[int]]:
    """The whole numbers written in a given (a scalar, a vector or a matrix), as rows."""
    items = raw if isinstance(raw, list) else [raw]
    flat = [v for item in items for v in (item if isinstance(item, list) else [item])]
    return [[v for v in flat if isinstance(v, int) and not isinstance(v, bool)]]


def _nulls(raw: Any, path: tuple[int, ...] = ()) -> Iterator[tuple[int, ...]]:
    if raw is None:
        yield path
    elif isinstance(raw, list):
        for k, item in enumerate(raw):
            yield from _nulls(item, (*path, k))


def _put(raw: Any, path: tuple[int, ...], value: int) -> Any:
    if not path:
        return value
    out = list(raw)
    out[path[0]] = _put(raw[path[0]], path[1:], value)
    return out


def _shows(problem: Problem, answers: Mapping[str, Any]) -> bool:
    """Whether every shown (non-null) cell of the file's steps is the problem's value."""
    from nnhand.core.reading import read_answer

    for step in shown_steps(problem.template):
        if step.name not in answers:
            return False
        try:
            reading = read_answer(answers[step.name], problem.shapes[step.name], step.name, "answers")
        except NnhandError:
            return False
        want = problem.values[step.name]
        for i, row in enumerate(reading.cells):
            for j, cell in enumerate(row):
                if cell is not None and Fraction(cell) != Fraction(want[i, j]):
                    return False
    return True


def given_label(template: Template, name: str) -> str:
    """What a report or a prompt calls a blank given: "x: input (solve for the blank)"."""
    return f"{name}: {template.givens[name].label or 'given'} (solve for the blank)"


def given_step(template: Template, name: str) -> Step:
    """A blank given as the step-shaped readers (practice prompts, LMS answers) take it: its
    name, an expression that reads it, and its label; whole numbers, never rounded."""
    from nnhand.core.expr import compile_expr
    from nnhand.core.template import Step

    return Step(name, compile_expr(name, [name]), given_label(template, name))
