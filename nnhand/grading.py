"""Grading an answer file against the key its variant id determines.

Integer steps compare exactly. A step with declared rounding to d decimals accepts any
answer within half a unit of the d-th decimal of the key, computed either from rounded
intermediate values (as on paper) or exactly; the exact fraction is accepted too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .answers import read_answer_file
from .engine import Problem, Variant, rebuild, solve
from .errors import AnswerFileError, ExitCode, NnhandError, TemplateNotFoundError
from .reading import CellError, cell_name, grid_cells, read_grid, read_number
from .resources import find_template
from .sheet import Sheet, make_sheet
from .template import BLANK_POLICIES, load_template
from .values import Shape, format_number


@dataclass
class CellResult:
    step: str
    cell: str  # "H[2,3]"
    row: int
    col: int
    status: str  # right | wrong | missing
    expected: str
    given: str | None
    accepted: str  # "7", or "0.685 to 0.695"


@dataclass
class StepResult:
    name: str
    label: str
    shape: Shape
    cells: list[CellResult] = field(default_factory=list)
    rows: Any = None
    cols: Any = None

    @property
    def right(self) -> int:
        return sum(c.status == "right" for c in self.cells)


@dataclass
class Report:
    variant: str
    template: str
    title: str
    source: str
    steps: list[StepResult]

    @property
    def score(self) -> float:
        return float(sum(s.right for s in self.steps))

    @property
    def max_score(self) -> float:
        return float(sum(len(s.cells) for s in self.steps))

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.score == self.max_score else ExitCode.WRONG

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "template": self.template,
            "source": self.source,
            "score": self.score,
            "max_score": self.max_score,
            "steps": [
                {
                    "name": s.name,
                    "label": s.label,
                    "right": s.right,
                    "cells": [
                        {
                            "cell": c.cell,
                            "status": c.status,
                            "given": c.given,
                            "expected": c.expected,
                            "accepted": c.accepted,
                        }
                        for c in s.cells
                    ],
                }
                for s in self.steps
            ],
        }


def check_file(path: Path, problems_dirs: Iterable[str] = (), trust_givens: bool = False) -> tuple[Report, Sheet]:
    """Grade one answer file. Raises NnhandError (exit 2) on bad input."""
    data = read_answer_file(path)
    return grade_data(data, str(path), problems_dirs, trust_givens)


def grade_data(
    data: Mapping[str, Any], where: str, problems_dirs: Iterable[str] = (), trust_givens: bool = False
) -> tuple[Report, Sheet]:
    variant = Variant.parse(data.get("variant"), where=f"{where}: variant")
    try:
        template = load_template(find_template(variant.template, problems_dirs))
    except TemplateNotFoundError as exc:
        raise AnswerFileError(exc.message, where=f"{where}: variant", fix=exc.fix) from None
    givens = data.get("givens")
    if givens is not None and not isinstance(givens, Mapping):
        raise AnswerFileError("'givens' should be a mapping of names to values", where=where)
    if trust_givens or variant.seed is None:
        if givens is None:
            raise AnswerFileError("has no 'givens' to grade against", where=where)
        if trust_givens:
            if variant.template != template.id:
                raise AnswerFileError(f"names another template ({variant.template})", where=where)
            problem = solve(template, givens, dict(variant.params), where=f"{where}: givens")
            problem.variant = variant
        else:
            problem = rebuild(template, variant, givens, where=where)
    else:
        problem = rebuild(template, variant, where=where)
        if givens is not None:
            _compare_givens(problem, givens, where)
    policy = data.get("blanks", template.blanks_default)
    if policy not in BLANK_POLICIES:
        raise AnswerFileError(
            f"unknown blank pattern '{policy}'",
            where=f"{where}: blanks",
            fix=f"Use {', '.join(BLANK_POLICIES)}, as the sheet was made",
        )
    sheet = make_sheet(problem, policy)
    answers = data.get("answers")
    if answers is None:
        answers = {}
    if not isinstance(answers, Mapping):
        raise AnswerFileError("'answers' should be a mapping of names to values", where=where)
    known = {s.name for s in template.steps if s.asked}
    for name in answers:
        if name not in known:
            raise AnswerFileError(
                f"'{name}' is not asked in {template.id}",
                where=f"{where}: answers",
                fix=f"Asked: {', '.join(sorted(known))}",
            )
    return grade_sheet(sheet, answers, where), sheet


def _compare_givens(problem: Problem, givens: Mapping[str, Any], where: str) -> None:
    for name, expected in problem.givens.items():
        if name not in givens:
            raise AnswerFileError(
                f"the given '{name}' is missing",
                where=f"{where}: givens",
                fix="Keep the givens as the sheet printed them",
            )
        try:
            written = read_grid(givens[name], problem.shapes[name], f"{where}: givens: {name}")
        except CellError as exc:
            raise AnswerFileError(exc.message, where=exc.where) from None
        if not np.array_equal(written.astype(object), expected.astype(object)):
            diff = np.argwhere(written.astype(object) != expected.astype(object))[0]
            cell = cell_name(name, problem.shapes[name], int(diff[0]), int(diff[1]))
            raise AnswerFileError(
                f"the givens differ from {problem.variant} at {cell} "
                f"({format_number(written[tuple(diff)])} instead of {format_number(expected[tuple(diff)])})",
                where=where,
                fix="Restore the givens the sheet printed, or pass --trust-givens to grade against the file's numbers",
            )
    unknown = [k for k in givens if k not in problem.givens]
    if unknown:
        raise AnswerFileError(f"unknown given '{unknown[0]}'", where=f"{where}: givens")


def grade_sheet(sheet: Sheet, answers: Mapping[str, Any], where: str) -> Report:
    problem = sheet.problem
    results = []
    for step in sheet.asked():
        shape = sheet.shape(step.name)
        result = StepResult(step.name, step.label, shape, rows=step.rows, cols=step.cols)
        mask = sheet.blanks[step.name]
        if mask.any():
            raw = answers.get(step.name)
            cells = _answer_cells(raw, shape, step.name, where)
            for i, j in zip(*np.nonzero(mask)):
                i, j = int(i), int(j)
                name = cell_name(step.name, shape, i, j)
                result.cells.append(
                    _grade_cell(
                        step.name,
                        name,
                        i,
                        j,
                        cells[i][j] if cells else None,
                        problem.values[step.name][i, j],
                        problem.exact[step.name][i, j],
                        step.decimals,
                        f"{where}: {name}",
                    )
                )
        results.append(result)
    template = problem.template
    return Report(str(problem.variant), template.id, template.title, where, results)


def _answer_cells(raw: Any, shape: Shape, name: str, where: str) -> list[list[Any]] | None:
    if raw is None:
        return None
    try:
        return grid_cells(raw, shape, name, f"{where}: answers: {name}")
    except CellError as exc:
        raise AnswerFileError(exc.message, where=exc.where) from None


def tolerance(decimals: int | None) -> Fraction:
    return Fraction(0) if decimals is None else Fraction(1, 2 * 10**decimals)


def _grade_cell(
    step: str, name: str, i: int, j: int, raw: Any, value: Any, exact: Any, decimals: int | None, where: str
) -> CellResult:
    expected = format_number(value, decimals)
    targets = sorted({Fraction(value), Fraction(exact)})
    tol = tolerance(decimals)
    low, high = targets[0] - tol, targets[-1] + tol
    accepted = (
        expected
        if tol == 0 and low == high
        else f"{format_number(low, (decimals or 0) + 1)} to {format_number(high, (decimals or 0) + 1)}"
    )
    if raw is None:
        return CellResult(step, name, i, j, "missing", expected, None, accepted)
    try:
        number = read_number(raw, where)
    except CellError as exc:
        raise AnswerFileError(exc.message, where=exc.where) from None
    ok = low <= Fraction(number) <= high or Fraction(number) == Fraction(exact)
    return CellResult(step, name, i, j, "right" if ok else "wrong", expected, format_number(number), accepted)


__all__ = ["NnhandError", "Report", "check_file", "grade_data", "grade_sheet"]
