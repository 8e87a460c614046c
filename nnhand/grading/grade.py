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
- What is asked comes from the variant id (`,blanks=P`, else the template's default), never
  from the file's editable `blanks:` line: a line that disagrees is refused, and a sheet
  that asks nothing cannot be checked.
- Cells, not files: a cell that cannot be read is `unreadable` (0 for it, the reason shown)
  and carried forward like a blank; the rest of the file is graded. Only a file that is not
  an answer file (not YAML, wrong variant, changed givens) raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from nnhand.choices import SCORING_MODES
from nnhand.core.engine import Problem, Variant, rebuild, solve
from nnhand.core.givens import read_given
from nnhand.core.reading import Reading, cell_name, read_answer
from nnhand.core.sheet import Sheet, make_sheet
from nnhand.core.template import Step, load_template
from nnhand.errors import (
    AnswerFileError,
    CellError,
    EvaluationError,
    ExitCode,
    GivensError,
    NnhandError,
    TemplateNotFoundError,
)
from nnhand.grading.answers import read_answer_file, read_word_answer, require_blanks
from nnhand.grading.diagnosis import diagnose
from nnhand.resources import find_template
from nnhand.safety.safetext import one_line
from nnhand.values import Shape, exact_fraction, format_number, round_array


@dataclass
class CellResult:
    step: str
    cell: str  # "H[2,3]"
    row: int
    col: int
    status: str  # right | ecf (right from the learner's own earlier answers) | wrong | missing | unreadable
    expected: str
    given: str | None
    accepted: str  # "7", or "0.685 to 0.695"
    ecf_expected: str | None = None  # what the learner's own earlier answers give
    answer: Fraction | None = None  # the answer as read, exactly
    reason: str | None = None  # why an unreadable cell could not be read (given: what was written)
    word: bool = False  # a name (a word step): given, expected and ecf_expected are words, not numbers

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
    unreadable: str | None = None  # why the whole answer could not be read (the wrong shape)

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
    notes: list[str] = field(default_factory=list)  # what a reader should know: ignored names, sealed

    @property
    def score(self) -> float:
        return round(sum(s.score for s in self.steps), 6)

    @property
    def max_score(self) -> float:
        return round(sum(s.points for s in self.steps), 6)

    def root_cause_sentence(self, name: str | None = None) -> str | None:
        """The first wrong step, as the reports say it (`name`: how the format writes the
        step's name), with the carried-forward rule when a graded step follows it."""
        if self.root_cause is None:
            return None
        names = [s.name for s in self.steps if s.cells]
        later = self.root_cause in names and names.index(self.root_cause) < len(names) - 1
        sentence = f"First wrong step: {name or self.root_cause}."
        if later:
            sentence += (
                " Later steps were checked against your own earlier answers:"
                " a step computed correctly from them earns its credit."
            )
        return sentence

    @property
    def exit_code(self) -> ExitCode:
        asked = [c for s in self.steps for c in s.cells]
        # A report that asks nothing proves nothing: it must never pass a CI job.
        return ExitCode.OK if asked and all(c.status == "right" for c in asked) else ExitCode.WRONG

    def to_dict(self, reveal: bool = True) -> dict[str, Any]:
        def cell(c: CellResult) -> dict[str, Any]:
            out: dict[str, Any] = {"cell": c.cell, "status": c.status, "given": c.given}
            if c.reason is not None:
                out["reason"] = c.reason
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
            "notes": self.notes,
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
                    "unreadable": s.unreadable,
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
    expect: str | None = None,
) -> tuple[Report, Sheet]:
    """Grade one answer file. Raises NnhandError (exit 2) on bad input.

    `expect` is the variant id the file must carry (the sheet that was handed out): the id
    decides what is asked, so a grader that knows it refuses a file whose id was edited."""
    data = read_answer_file(path)
    if expect is not None:
        require_variant(data, str(path), expect)
    return grade_data(data, str(path), problems_dirs, trust_givens, scoring, ecf)


def require_variant(data: Mapping[str, Any], where: str, expect: str) -> None:
    """Refuse a file whose variant id is not `expect` (same instance, params and blank pattern)."""
    wanted = Variant.parse(expect, where="--expect")
    written = Variant.parse(data.get("variant"), where=f"{where}: variant")
    if written != wanted:
        raise AnswerFileError(
            f"is for {written}, not the expected {wanted}",
            where=f"{where}: variant",
            fix="Restore the variant line of the sheet you were given",
        )


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
    if variant.blanks == "inverse" and givens is not None and (trust_givens or variant.seed is None):
        # The given to solve for is null in the file: the one whole number that reproduces the
        # file's shown steps (a digest, or the instructor's manifest, then checks the instance).
        from nnhand.core.inverse import recover

        givens = recover(template, givens, data.get("answers"), dict(variant.params), where)
    if trust_givens or variant.seed is None:
        if givens is None:
            raise AnswerFileError("has no 'givens' to grade against", where=where)
        if trust_givens:
            return solve(template, givens, dict(variant.params), where=f"{where}: givens", variant=variant.instance)
        return rebuild(template, variant, givens, where=where)
    problem = rebuild(template, variant, where=where)
    if givens is not None:
        blanks = make_sheet(problem, "inverse").blanks if variant.blanks == "inverse" else None
        _compare_givens(problem, givens, where, blanks)
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
    variant = Variant.parse(data.get("variant"), where=f"{where}: variant")
    sheet = make_sheet(problem, asked_pattern(data, variant, template.blanks_default, template.blanks_allowed, where))
    require_blanks(sheet, f"{where}: variant")
    answers = data.get("answers")
    if answers is None:
        answers = {}
    if not isinstance(answers, Mapping):
        raise AnswerFileError("'answers' should be a mapping of names to values", where=where)
    readings = read_answers(sheet, answers, where)
    report = grade_sheet(sheet, readings, where, scoring, ecf)
    # A name that is not asked is ignored, as `grade` ignores it: it cannot earn or cost a
    # cell (what is asked comes from the variant), and a renamed step shows as blank cells.
    known = {s.name for s in template.steps if s.asked} | set(sheet.blank_givens())
    ignored = [one_line(str(name))[:40] for name in answers if name not in known]
    if ignored:
        report.notes.append(
            f"ignored: {', '.join(repr(n) for n in ignored[:5])}{' ...' if len(ignored) > 5 else ''} "
            f"{'is' if len(ignored) == 1 else 'are'} not asked in {template.id} (asked: {', '.join(sorted(known))})"
        )
    if trust_givens:
        report.notes.append("graded against the givens in this file (--trust-givens)")
    elif variant.token is not None:
        # One line in an 80-column report; the instructor's `grade` compares the givens with the manifest.
        report.notes.append("sealed variant: graded against the givens in this file (grade checks them)")
    student = data.get("student")
    report.student = one_line(str(student))[:200] if student is not None else None
    return report, sheet


def asked_pattern(data: Mapping[str, Any], variant: Variant, default: str, allowed: Iterable[str], where: str) -> str:
    """The blank pattern the variant id asks; an editable `blanks:` line that disagrees is refused."""
    policy = variant.blanks or default
    if policy not in allowed:
        raise AnswerFileError(
            f"{variant.template} does not offer the blank pattern '{policy}'",
            where=f"{where}: variant",
            fix="Keep the variant line the sheet came with",
        )
    if "blanks" in data and data["blanks"] != policy:
        line = one_line(str(data["blanks"]))[:40]
        raise AnswerFileError(
            f"the line 'blanks: {line}' disagrees with the variant {variant}, which asks '{policy}'",
            where=f"{where}: blanks",
            fix=f"Restore 'blanks: {policy}' as the sheet was issued: what is asked comes from the variant id",
        )
    return policy


def read_answers(sheet: Sheet, answers: Mapping[str, Any], where: str) -> dict[str, Reading]:
    """Every asked quantity with blanks, as read. A cell (or an answer of the wrong shape)
    that cannot be read is marked in its Reading, never raised: the rest is still graded."""
    readings = {}
    for name in sheet.blank_givens():  # the inverse pattern: the given to solve for
        if answers.get(name) is not None:
            raw, shape = answers[name], sheet.shape(name)
            readings[name] = read_answer(raw, shape, name, f"{where}: answers", mark_unreadable=True)
    for step in sheet.asked():
        if not sheet.blanks[step.name].any() or answers.get(step.name) is None:
            continue
        if step.words:  # a name (nn.ReLU), read by the word reader
            vocabulary = sheet.problem.template.vocabulary
            readings[step.name] = read_word_answer(answers[step.name], step, vocabulary, f"{where}: answers")
            continue
        readings[step.name] = read_answer(
            answers[step.name], sheet.shape(step.name), step.name, f"{where}: answers", mark_unreadable=True
        )
    return readings


def givens_difference(
    problem: Problem, givens: Mapping[str, Any], where: str, blanks: Mapping[str, np.ndarray] | None = None
) -> str | None:
    """How the givens a file carries differ from the instance's (the first difference), or None.
    A given cell blank on the sheet (`blanks`, the inverse pattern) may be left null."""
    for name, expected in problem.givens.items():
        if name not in givens:
            return f"the given {name} was removed"
        try:
            raw = givens[name]
            if blanks is not None and name in blanks:
                raw = _blank_filled(raw, blanks[name], expected, problem.shapes[name])
            written = read_given(problem.template, name, raw, problem.shapes[name], f"{where}: givens")
        except (CellError, GivensError) as exc:
            return f"the given {name} was changed ({exc.message})"
        if not np.array_equal(written.astype(object), expected.astype(object)):
            i, j = (int(v) for v in np.argwhere(written.astype(object) != expected.astype(object))[0])
            return (
                f"the given {cell_name(name, problem.shapes[name], i, j)} was changed "
                f"({format_number(expected[i, j])} → {format_number(written[i, j])})"
            )
    if problem.own_vocabulary and givens.get("vocabulary") != list(problem.own_vocabulary):
        return "the vocabulary was changed"
    extra = [k for k in givens if k not in problem.givens and not (k == "vocabulary" and problem.own_vocabulary)]
    return f"an unknown given {extra[0]} was added" if extra else None


def _blank_filled(raw: Any, mask: np.ndarray, expected: np.ndarray, shape: Shape) -> Any:
    """A given as written, with each blank cell taken as the instance's: the file leaves it null
    (what a learner writes there instead of under answers is no change of the givens)."""

    def cell(v: Any, i: int, j: int) -> Any:
        return int(expected[i, j]) if mask[i, j] else v

    if len(shape) == 0:
        return cell(raw, 0, 0)
    if len(shape) == 1 and isinstance(raw, list):
        return [cell(v, i, 0) for i, v in enumerate(raw)]
    if len(shape) == 2 and isinstance(raw, list) and all(isinstance(r, list) for r in raw):
        return [[cell(v, i, j) for j, v in enumerate(row)] for i, row in enumerate(raw)]
    return raw


def _compare_givens(
    problem: Problem, givens: Mapping[str, Any], where: str, blanks: Mapping[str, np.ndarray] | None = None
) -> None:
    difference = givens_difference(problem, givens, where, blanks)
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
    env = problem.env(steps=False)
    results: list[StepResult] = []
    root_cause: str | None = None
    for name in sheet.blank_givens():  # the inverse pattern: the given to solve for comes first
        results.append(_grade_given(sheet, name, readings.get(name)))
        if root_cause is None and any(c.status == "wrong" for c in results[-1].cells):
            root_cause = name
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
        _score(result, mode, points_of(template, result.name))
    return Report(sheet.variant, template.id, template.title, one_line(where), results, mode, root_cause)


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
    from nnhand.values import normalize

    return normalize(out)


def _grade_step(sheet: Sheet, step: Step, reading: Reading | None, own: np.ndarray | None, where: str) -> StepResult:
    problem = sheet.problem
    shape = sheet.shape(step.name)
    result = StepResult(step.name, step.label, shape, rows=step.rows, cols=step.cols)
    if reading is not None:
        result.reading = list(reading.notes)
        result.unreadable = reading.problem
    mask = sheet.blanks[step.name]
    value, exact = problem.values[step.name], problem.exact[step.name]
    tol = tolerance(step.decimals)
    for i, j in zip(*np.nonzero(mask)):
        i, j = int(i), int(j)
        name = cell_name(step.name, shape, i, j)
        expected = format_number(value[i, j], step.decimals)
        low, high, accepted = accepted_range([exact_fraction(value[i, j]), exact_fraction(exact[i, j])], step.decimals)
        word = problem.template.word(step, value[i, j])
        if word is not None:  # a name: graded by the word it is, whatever its case or module prefix
            expected, accepted = word, f"{word} (any case; nn.{word}() too)"
        bad = reading.unreadable.get((i, j)) if reading is not None else None
        if bad is not None:
            result.cells.append(
                CellResult(
                    step.name,
                    name,
                    i,
                    j,
                    "unreadable",
                    expected,
                    bad.text,
                    accepted,
                    reason=bad.reason,
                    word=bool(word),
                )
            )
            continue
        given = reading.cells[i][j] if reading is not None else None
        if given is None:
            result.cells.append(CellResult(step.name, name, i, j, "missing", expected, None, accepted, word=bool(word)))
            continue
        shown = problem.template.word(step, given) or format_number(given, 6)
        if low <= given <= high or given == exact_fraction(exact[i, j]):
            status, ecf_text = "right", None
        elif own is not None and own.shape == value.shape and abs(given - Fraction(own[i, j])) <= tol:
            status, ecf_text = "ecf", problem.template.word(step, own[i, j]) or format_number(own[i, j], step.decimals)
        else:
            status, ecf_text = "wrong", None
        result.cells.append(
            CellResult(step.name, name, i, j, status, expected, shown, accepted, ecf_text, given, word=word is not None)
        )
    return result


def points_of(template: Any, name: str) -> int:
    """An asked quantity's weight when scoring is "weighted": a step's points; a blank given 1."""
    return 1 if name in template.givens else int(template.step(name).points)


def _grade_given(sheet: Sheet, name: str, reading: Reading | None) -> StepResult:
    """The blank cell of a given (the inverse pattern): a whole number, compared exactly."""
    given = sheet.problem.template.givens[name]
    shape = sheet.shape(name)
    from nnhand.core.inverse import given_label

    result = StepResult(name, given_label(sheet.problem.template, name), shape, rows=given.rows, cols=given.cols)
    if reading is not None:
        result.reading = list(reading.notes)
        result.unreadable = reading.problem
    value = sheet.problem.givens[name]
    for i, j in zip(*np.nonzero(sheet.blanks[name])):
        i, j = int(i), int(j)
        cell = cell_name(name, shape, i, j)
        expected = format_number(value[i, j])
        bad = reading.unreadable.get((i, j)) if reading is not None else None
        answer = reading.cells[i][j] if reading is not None else None
        if bad is not None:
            found = CellResult(name, cell, i, j, "unreadable", expected, bad.text, expected, reason=bad.reason)
        elif answer is None:
            found = CellResult(name, cell, i, j, "missing", expected, None, expected)
        else:
            status = "right" if answer == exact_fraction(value[i, j]) else "wrong"
            found = CellResult(name, cell, i, j, status, expected, format_number(answer, 6), expected, None, answer)
        result.cells.append(found)
    return result


def _score(result: StepResult, mode: str, points: int) -> None:
    n = len(result.cells)
    if n == 0:
        return
    credited = result.right
    if mode == "cell":
        result.points, result.score = float(n), float(credited)
    elif mode == "step":
        result.points, result.score = 1.0, float(credited == n)
    else:
        result.points = float(points)
        result.score = round(points * credited / n, 6)


__all__ = ["NnhandError", "Report", "check_file", "grade_data", "grade_sheet", "load_problem", "read_answers"]
