"""Grading an answer file against the key its variant id determines — as a teacher would.

- Tolerances are stated, never hidden: integer steps compare exactly; a step that rounds to
  d decimals accepts ± half a unit of the d-th decimal around the key computed from rounded
  intermediate values (as on paper) or exactly; the exact fraction is accepted too.
- Error carried forward: a step that is right when computed from the learner's own earlier
  answers earns its credit, marked as consistent with them, and the first wrong step is
  named as the root cause.
- Slips: a wrong step is recomputed the ways learners typically get it wrong, and the slip
  that explains it is named (see diagnosis.py).
- Scoring per cell (default), per step all-or-nothing, or weighted per step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .answers import read_answer_file
from .diagnosis import diagnose
from .engine import Problem, Variant, read_given, rebuild, solve
from .errors import AnswerFileError, EvaluationError, ExitCode, GivensError, NnhandError, TemplateNotFoundError
from .reading import CellError, Reading, cell_name, read_answer
from .resources import find_template
from .sheet import Sheet, make_sheet
from .template import BLANK_POLICIES, SCORING_MODES, Step, load_template
from .values import Shape, constant, format_number, round_array


@dataclass
class CellResult:
    step: str
    cell: str  # "H[2,3]"
    row: int
    col: int
    status: str  # right | ecf (right from the learner's own earlier answers) | wrong | missing
    expected: str
    given: str | None
    accepted: str  # "7", or "0.685 to 0.695"
    ecf_expected: str | None = None  # what the learner's own earlier answers give
    answer: Fraction | None = None  # the answer as read, exactly

    @property
    def credited(self) -> bool:
        return self.status in ("right", "ecf")


@dataclass
class StepResult:
    name: str
    label: str
    shape: Shape
    cells: list[CellResult] = field(default_factory=list)
    rows: Any = None
    cols: Any = None
    points: float = 0.0  # what the step is worth under the scoring mode
    score: float = 0.0  # what it earned
    diagnosis: list[str] = field(default_factory=list)
    reading: list[str] = field(default_factory=list)  # how answers that were not literal were read

    @property
    def right(self) -> int:
        return sum(c.credited for c in self.cells)

    @property
    def status(self) -> str:
        if not self.cells:
            return "none"
        if all(c.status == "right" for c in self.cells):
            return "right"
        if all(c.credited for c in self.cells):
            return "ecf"
        return "wrong"


@dataclass
class Report:
    variant: str
    template: str
    title: str
    source: str
    steps: list[StepResult]
    scoring: str = "cell"
    root_cause: str | None = None  # the first step with a wrong cell
    student: str | None = None

    @property
    def score(self) -> float:
        return round(sum(s.score for s in self.steps), 6)

    @property
    def max_score(self) -> float:
        return round(sum(s.points for s in self.steps), 6)

    @property
    def exit_code(self) -> ExitCode:
        every_cell = all(c.status == "right" for s in self.steps for c in s.cells)
        return ExitCode.OK if every_cell else ExitCode.WRONG

    def to_dict(self, reveal: bool = True) -> dict[str, Any]:
        def cell(c: CellResult) -> dict[str, Any]:
            out: dict[str, Any] = {"cell": c.cell, "status": c.status, "given": c.given}
            if reveal or c.credited:
                out.update(expected=c.expected, accepted=c.accepted)
                if c.ecf_expected is not None:
                    out["from_your_answers"] = c.ecf_expected
            return out

        return {
            "variant": self.variant,
            "template": self.template,
            "source": self.source,
            "student": self.student,
            "scoring": self.scoring,
            "score": self.score,
            "max_score": self.max_score,
            "root_cause": self.root_cause,
            "steps": [
                {
                    "name": s.name,
                    "label": s.label,
                    "status": s.status,
                    "right": s.right,
                    "cells_asked": len(s.cells),
                    "score": s.score,
                    "max_score": s.points,
                    "diagnosis": s.diagnosis,
                    "reading": s.reading,
                    "cells": [cell(c) for c in s.cells],
                }
                for s in self.steps
                if s.cells
            ],
        }


def check_file(
    path: Path,
    problems_dirs: Iterable[str] = (),
    trust_givens: bool = False,
    scoring: str | None = None,
    ecf: bool = True,
) -> tuple[Report, Sheet]:
    """Grade one answer file. Raises NnhandError (exit 2) on bad input."""
    data = read_answer_file(path)
    return grade_data(data, str(path), problems_dirs, trust_givens, scoring, ecf)


def load_problem(
    data: Mapping[str, Any], where: str, problems_dirs: Iterable[str] = (), trust_givens: bool = False
) -> Problem:
    """The instance an answer file names, checked against the givens it carries."""
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
            problem = solve(template, givens, dict(variant.params), where=f"{where}: givens")
            problem.variant = variant
            return problem
        return rebuild(template, variant, givens, where=where)
    problem = rebuild(template, variant, where=where)
    if givens is not None:
        _compare_givens(problem, givens, where)
    return problem


def grade_data(
    data: Mapping[str, Any],
    where: str,
    problems_dirs: Iterable[str] = (),
    trust_givens: bool = False,
    scoring: str | None = None,
    ecf: bool = True,
) -> tuple[Report, Sheet]:
    problem = load_problem(data, where, problems_dirs, trust_givens)
    template = problem.template
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
    readings = read_answers(sheet, answers, where)
    report = grade_sheet(sheet, readings, where, scoring, ecf)
    student = data.get("student")
    report.student = str(student) if student is not None else None
    return report, sheet


def read_answers(sheet: Sheet, answers: Mapping[str, Any], where: str) -> dict[str, Reading]:
    """Every asked quantity with blanks, as read; unreadable answers raise AnswerFileError."""
    readings = {}
    for step in sheet.asked():
        if not sheet.blanks[step.name].any() or answers.get(step.name) is None:
            continue
        try:
            readings[step.name] = read_answer(
                answers[step.name], sheet.shape(step.name), step.name, f"{where}: answers"
            )
        except CellError as exc:
            raise AnswerFileError(exc.message, where=exc.where, fix=exc.fix) from None
    return readings


def givens_difference(problem: Problem, givens: Mapping[str, Any], where: str) -> str | None:
    """How the givens a file carries differ from the instance's (the first difference), or None."""
    for name, expected in problem.givens.items():
        if name not in givens:
            return f"the given {name} was removed"
        try:
            written = read_given(problem.template, name, givens[name], problem.shapes[name], f"{where}: givens")
        except (CellError, GivensError) as exc:
            return f"the given {name} was changed ({exc.message})"
        if not np.array_equal(written.astype(object), expected.astype(object)):
            i, j = (int(v) for v in np.argwhere(written.astype(object) != expected.astype(object))[0])
            return (
                f"the given {cell_name(name, problem.shapes[name], i, j)} was changed "
                f"({format_number(expected[i, j])} → {format_number(written[i, j])})"
            )
    extra = [k for k in givens if k not in problem.givens]
    return f"an unknown given {extra[0]} was added" if extra else None


def _compare_givens(problem: Problem, givens: Mapping[str, Any], where: str) -> None:
    difference = givens_difference(problem, givens, where)
    if difference:
        raise AnswerFileError(
            f"the givens differ from {problem.variant}: {difference}",
            where=where,
            fix="Restore the givens the sheet printed, or pass --trust-givens to grade against the file's numbers",
        )


def tolerance(decimals: int | None) -> Fraction:
    """What a step accepts around its key: nothing for exact steps, half a unit otherwise."""
    return Fraction(0) if decimals is None else Fraction(1, 2 * 10**decimals)


def accepted_range(targets: list[Fraction], decimals: int | None) -> tuple[Fraction, Fraction, str]:
    tol = tolerance(decimals)
    low, high = min(targets) - tol, max(targets) + tol
    if low == high:
        return low, high, format_number(low)
    places = (decimals or 0) + 2
    return low, high, f"{format_number(low, places)} to {format_number(high, places)}"


def grade_sheet(
    sheet: Sheet,
    readings: Mapping[str, Reading],
    where: str,
    scoring: str | None = None,
    ecf: bool = True,
) -> Report:
    """Grade the blank cells of `sheet` given what was read for each asked quantity."""
    problem = sheet.problem
    template = problem.template
    mode = scoring or template.scoring
    if mode not in SCORING_MODES:
        raise NnhandError(f"unknown scoring '{mode}'", where="--scoring", fix=f"Use {', '.join(SCORING_MODES)}")
    # The learner's world: givens, then each step as the learner has it (their answers in
    # the blank cells they filled, the sheet's numbers elsewhere).
    env: dict[str, np.ndarray] = {k: constant(v) for k, v in problem.params.items()}
    env.update({k: v[None] for k, v in problem.givens.items()})
    results: list[StepResult] = []
    root_cause: str | None = None
    for step in template.steps:
        own = _from_own_answers(step, env) if ecf else None
        if not step.asked:
            env[step.name] = own[None] if own is not None else problem.values[step.name][None]
            continue
        result = _grade_step(sheet, step, readings.get(step.name), own, where)
        results.append(result)
        if root_cause is None and any(c.status == "wrong" for c in result.cells):
            root_cause = step.name
        if result.cells and any(c.status == "wrong" for c in result.cells):
            wrong = [(c.row, c.col, c.answer) for c in result.cells if c.status == "wrong" and c.answer is not None]
            result.diagnosis = diagnose(template, step, env, problem.values[step.name], wrong, tolerance(step.decimals))
        env[step.name] = _learner_value(sheet, step, readings.get(step.name), own)[None]
    for result in results:
        _score(result, mode, template.step(result.name))
    report = Report(str(problem.variant), template.id, template.title, where, results, mode, root_cause)
    return report


def _from_own_answers(step: Step, env: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """The step computed from the learner's own earlier answers (None if that fails)."""
    try:
        value = step.expr(env)
    except (EvaluationError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if step.decimals is not None:
        try:
            value = round_array(value, step.decimals)
        except (ValueError, OverflowError):
            return None
    return np.asarray(value)[0]


def _learner_value(sheet: Sheet, step: Step, reading: Reading | None, own: np.ndarray | None) -> np.ndarray:
    """The step as the learner carries it forward: their answers where they gave them."""
    key = sheet.problem.values[step.name]
    mask = sheet.blanks[step.name]
    base = own if own is not None and own.shape == key.shape else key
    out = np.empty(key.shape, dtype=object)
    for i in range(key.shape[0]):
        for j in range(key.shape[1]):
            if not mask[i, j]:
                out[i, j] = key[i, j]
            elif reading is not None and reading.cells[i][j] is not None:
                out[i, j] = reading.cells[i][j]
            else:
                out[i, j] = base[i, j]
    from .values import normalize

    return normalize(out)


def _grade_step(sheet: Sheet, step: Step, reading: Reading | None, own: np.ndarray | None, where: str) -> StepResult:
    problem = sheet.problem
    shape = sheet.shape(step.name)
    result = StepResult(step.name, step.label, shape, rows=step.rows, cols=step.cols)
    if reading is not None:
        result.reading = list(reading.notes)
    mask = sheet.blanks[step.name]
    value, exact = problem.values[step.name], problem.exact[step.name]
    tol = tolerance(step.decimals)
    for i, j in zip(*np.nonzero(mask)):
        i, j = int(i), int(j)
        name = cell_name(step.name, shape, i, j)
        expected = format_number(value[i, j], step.decimals)
        low, high, accepted = accepted_range([Fraction(value[i, j]), Fraction(exact[i, j])], step.decimals)
        given = reading.cells[i][j] if reading is not None else None
        if given is None:
            result.cells.append(CellResult(step.name, name, i, j, "missing", expected, None, accepted))
            continue
        shown = format_number(given, 6)
        if low <= given <= high or given == Fraction(exact[i, j]):
            status, ecf_text = "right", None
        elif own is not None and own.shape == value.shape and abs(given - Fraction(own[i, j])) <= tol:
            status, ecf_text = "ecf", format_number(own[i, j], step.decimals)
        else:
            status, ecf_text = "wrong", None
        result.cells.append(CellResult(step.name, name, i, j, status, expected, shown, accepted, ecf_text, given))
    return result


def _score(result: StepResult, mode: str, step: Step) -> None:
    n = len(result.cells)
    if n == 0:
        return
    credited = result.right
    if mode == "cell":
        result.points, result.score = float(n), float(credited)
    elif mode == "step":
        result.points, result.score = 1.0, float(credited == n)
    else:
        result.points = float(step.points)
        result.score = round(step.points * credited / n, 6)


__all__ = ["NnhandError", "Report", "check_file", "grade_data", "grade_sheet", "load_problem"]
