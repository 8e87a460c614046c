"""A picture of the class: one statistics model, computed once from a grade book, that the
terminal summary, the JSON (`grade --format json`, `statistics.json`) and the report folder
(`grade --report DIR`) all render.

- Totals: every student of the grade book counts, a missing exercise as 0 points (as in the
  CSV), so the numbers describe the class, not only those who handed something in.
- Quartiles and the median by linear interpolation between order statistics (Hyndman and
  Fan's type 7: numpy's default, Excel's QUARTILE.INC, `statistics.quantiles(...,
  method="inclusive")`); the spread is the population standard deviation (the class is
  the whole population, not a sample of one).
- Per exercise: the distribution of its scores over the class, and how many earned full marks.
- Per step: over the graded submissions that ask it (a missing file says nothing about a
  step), how many had every cell credited, the cells by verdict, for how many it was the
  first step with a wrong cell (the report's root cause: "which step most students
  missed"), and the slips the grader named (diagnosis.py), counted once per student.
- The histogram: ten bins of the percent of points possible, [0, 10), [10, 20), ...,
  [90, 100] (the last one closed), from exact fractions so a score on a boundary never
  falls into the bin below through rounding.

Numbers are rounded to 6 decimals: enough for any score nnhand gives (weighted scores are
rounded to 6 decimals), and the same text on every machine.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from nnhand._version import __version__

if TYPE_CHECKING:
    from nnhand.classroom.gradebook import GradeBook
    from nnhand.grading.grade import StepResult

STATISTICS_SCHEMA = "nnhand-class-statistics"
STATISTICS_VERSION = 1
QUARTILE_METHOD = "linear interpolation between order statistics (Hyndman-Fan type 7, Excel QUARTILE.INC)"
HISTOGRAM_BINS = 10
CELL_STATUSES = ("right", "ecf", "wrong", "missing", "unreadable")
PLACES = 6


def _round(value: float) -> float:
    return round(value, PLACES) + 0.0  # + 0.0: never write -0.0


def quantile(ordered: Sequence[float], p: float) -> float:
    """The p-quantile of sorted values, type 7: position p(n-1), interpolated linearly."""
    position = p * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Distribution:
    """Summary of a list of numbers; every field None when the list is empty (an empty shard)."""

    count: int
    mean: float | None
    median: float | None
    q1: float | None
    q3: float | None
    minimum: float | None
    maximum: float | None
    stdev: float | None  # population standard deviation

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        if not values:
            return cls(0, None, None, None, None, None, None, None)
        ordered = sorted(values)
        n = len(ordered)
        mean = math.fsum(ordered) / n
        variance = math.fsum((v - mean) ** 2 for v in ordered) / n
        return cls(
            n,
            _round(mean),
            _round(quantile(ordered, 0.5)),
            _round(quantile(ordered, 0.25)),
            _round(quantile(ordered, 0.75)),
            _round(ordered[0]),
            _round(ordered[-1]),
            _round(math.sqrt(variance)),
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean": self.mean,
            "median": self.median,
            "q1": self.q1,
            "q3": self.q3,
            "min": self.minimum,
            "max": self.maximum,
            "stdev": self.stdev,
        }


@dataclass(frozen=True)
class Bin:
    """Students whose percent of points possible is in [low, high) (the last bin: [low, high])."""

    low: int
    high: int
    count: int


@dataclass(frozen=True)
class SlipCount:
    slip: str
    students: int


@dataclass(frozen=True)
class StepStatistics:
    name: str
    label: str
    submissions: int  # graded submissions that ask this step
    all_right: int  # of those, with every asked cell credited (right, or right from own answers)
    cells: dict[str, int]  # asked cells by verdict, every status of CELL_STATUSES
    first_wrong: int  # submissions whose first step with a wrong cell is this one
    slips: tuple[SlipCount, ...]  # most common first

    @property
    def missed(self) -> int:
        return self.submissions - self.all_right

    @property
    def success_rate(self) -> float | None:
        return _round(self.all_right / self.submissions) if self.submissions else None

    @property
    def cell_success_rate(self) -> float | None:
        asked = sum(self.cells.values())
        return _round((self.cells["right"] + self.cells["ecf"]) / asked) if asked else None


@dataclass(frozen=True)
class ExerciseStatistics:
    template: str
    title: str
    points_possible: float
    scores: Distribution  # over every student; a missing or ungraded exercise scores 0
    full_marks: int
    graded: int  # students whose counted submission was graded
    missing: int  # students with no submission
    not_counted: int  # students whose submission was altered or could not be graded
    steps: tuple[StepStatistics, ...]

    @property
    def success_rate(self) -> float | None:
        return _round(self.full_marks / self.scores.count) if self.scores.count else None


@dataclass(frozen=True)
class ClassStatistics:
    assignment: str | None
    students: int
    points_possible: float
    totals: Distribution  # points
    percents: Distribution  # percent of each student's points possible
    histogram: tuple[Bin, ...]
    nothing_handed_in: int  # students with no submission at all
    exercises: tuple[ExerciseStatistics, ...]

    def most_missed_step(self) -> tuple[ExerciseStatistics, StepStatistics] | None:
        """The step the most graded submissions got wrong (first in sheet order on a tie)."""
        best: tuple[ExerciseStatistics, StepStatistics] | None = None
        for exercise in self.exercises:
            for step in exercise.steps:
                if step.missed and (best is None or step.missed > best[1].missed):
                    best = (exercise, step)
        return best


def class_statistics(book: GradeBook) -> ClassStatistics:
    """The statistics of the grade book's students (a shard's, or the whole class)."""
    templates = book.manifest.template_ids
    students = list(book.students)
    totals: list[float] = []
    percents: list[float] = []
    bins = [0] * HISTOGRAM_BINS
    nothing = 0
    for sid in students:
        cells = [book.cell(sid, tid) for tid in templates]
        if all(c is None for c in cells):
            nothing += 1
        total = math.fsum(c.score if c is not None else 0.0 for c in cells)
        own_max = math.fsum(book.points(sid, tid) for tid in templates)
        totals.append(total)
        share = Fraction(total) / Fraction(own_max) if own_max else Fraction(0)
        percents.append(float(100 * share))
        bins[min(math.floor(share * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    width = 100 // HISTOGRAM_BINS
    return ClassStatistics(
        assignment=book.manifest.data.get("assignment"),
        students=len(students),
        points_possible=_round(math.fsum(book.points_possible(t) for t in templates)),
        totals=Distribution.of(totals),
        percents=Distribution.of(percents),
        histogram=tuple(Bin(k * width, (k + 1) * width, n) for k, n in enumerate(bins)),
        nothing_handed_in=nothing,
        exercises=tuple(_exercise(book, tid, students) for tid in templates),
    )


def _exercise(book: GradeBook, template_id: str, students: list[str]) -> ExerciseStatistics:
    template = book.manifest.templates[template_id]
    scores: list[float] = []
    full = graded = missing = not_counted = 0
    # The steps the blank pattern asks (the manifest's masks, as points_possible reads them),
    # so that a step nobody got right, or nobody handed in, is still listed.
    first = next(iter(book.manifest.students))
    masks = book.manifest.masks(first, template_id)
    # The inverse pattern blanks a different given for each student: list every given that
    # is blank on anyone's sheet, so that none shows as handed in by nobody.
    blank_givens = {
        n for sid in book.manifest.students for n, mask in book.manifest.masks(sid, template_id).items()
        if n in template.givens and any(map(any, mask))
    }  # fmt: skip
    by_step: dict[str, list[StepResult]] = {n: [] for n in template.givens if n in blank_givens}
    by_step.update({s.name: [] for s in template.steps if s.asked and any(map(any, masks.get(s.name, [])))})
    first_wrong: Counter[str] = Counter()
    for sid in students:
        sub = book.cell(sid, template_id)
        if sub is None:
            missing += 1
            scores.append(0.0)
            continue
        scores.append(sub.score)
        if sub.report is None:
            not_counted += 1
            continue
        graded += 1
        if sub.report.max_score and sub.score == sub.report.max_score:
            full += 1
        if sub.report.root_cause is not None:
            first_wrong[sub.report.root_cause] += 1
        for step in sub.report.steps:
            if step.cells:
                by_step.setdefault(step.name, []).append(step)
    steps = tuple(_step(name, results, first_wrong[name], _label(template, name)) for name, results in by_step.items())
    return ExerciseStatistics(
        template=template_id,
        title=template.title,
        points_possible=_round(book.points_possible(template_id)),
        scores=Distribution.of(scores),
        full_marks=full,
        graded=graded,
        missing=missing,
        not_counted=not_counted,
        steps=steps,
    )


def _step(name: str, results: list[StepResult], first_wrong: int, label: str) -> StepStatistics:
    cells = dict.fromkeys(CELL_STATUSES, 0)
    slips: Counter[str] = Counter()
    all_right = 0
    for result in results:
        for cell in result.cells:
            cells[cell.status] = cells.get(cell.status, 0) + 1
        if all(c.credited for c in result.cells):
            all_right += 1
        slips.update({slip_kind(message, name) for message in result.diagnosis})  # once per student
    ranked = sorted(slips.items(), key=lambda kv: (-kv[1], kv[0]))
    return StepStatistics(
        name, label, len(results), all_right, cells, first_wrong, tuple(SlipCount(s, n) for s, n in ranked)
    )


def slip_kind(message: str, step: str) -> str:
    """A diagnosis as a kind of slip that can be counted across students.

    A whole-step slip ("You forgot to add the bias b1.") is already the same sentence for
    everyone. A cell's slip is "CELL: what: the terms" (diagnosis._cell_slips), where the cell
    and the terms differ from student to student: the kind is the middle part."""
    match = re.match(rf"{re.escape(step)}(\[[0-9,]+\])?: ", message)
    if match is None:
        return message
    return message[match.end() :].split(": ", 1)[0].rstrip(".")


# ----------------------------------------------------------------------------- JSON


def statistics_data(stats: ClassStatistics) -> dict[str, Any]:
    """The statistics for programs: `statistics.json`, and `statistics` in the grade book's
    JSON; schema nnhand-class-statistics (nnhand/schemas/grades.schema.json)."""

    def step(s: StepStatistics) -> dict[str, Any]:
        return {
            "name": s.name,
            "label": s.label,
            "submissions": s.submissions,
            "all_right": s.all_right,
            "missed": s.missed,
            "success_rate": s.success_rate,
            "cells": dict(s.cells),
            "cell_success_rate": s.cell_success_rate,
            "first_wrong": s.first_wrong,
            "slips": [{"slip": x.slip, "students": x.students} for x in s.slips],
        }

    return {
        "schema": STATISTICS_SCHEMA,
        "schema_version": STATISTICS_VERSION,
        "nnhand_version": __version__,
        "assignment": stats.assignment,
        "quartile_method": QUARTILE_METHOD,
        "students": stats.students,
        "nothing_handed_in": stats.nothing_handed_in,
        "points_possible": stats.points_possible,
        "totals": stats.totals.to_data(),
        "percents": stats.percents.to_data(),
        "histogram": {
            "of": "percent of points possible",
            "bins": [{"low": b.low, "high": b.high, "count": b.count} for b in stats.histogram],
        },
        "exercises": [
            {
                "template": e.template,
                "title": e.title,
                "points_possible": e.points_possible,
                "scores": e.scores.to_data(),
                "full_marks": e.full_marks,
                "success_rate": e.success_rate,
                "graded": e.graded,
                "missing": e.missing,
                "not_counted": e.not_counted,
                "steps": [step(s) for s in e.steps],
            }
            for e in stats.exercises
        ],
    }


# ----------------------------------------------------------------------------- text

TOP_SLIPS = 3  # slips per step in the terminal and Markdown (the JSON has them all)


def _n(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.4g}{suffix}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def distribution_line(d: Distribution, suffix: str = "") -> str:
    return (
        f"mean {_n(d.mean, suffix)}, median {_n(d.median, suffix)}, quartiles {_n(d.q1, suffix)} to "
        f"{_n(d.q3, suffix)}, range {_n(d.minimum, suffix)} to {_n(d.maximum, suffix)}, sd {_n(d.stdev, suffix)}"
    )


def statistics_text(stats: ClassStatistics, unicode: bool = True) -> str:
    """The class statistics as `grade` prints them, with a bar chart of the totals."""
    from nnhand.classroom.plot import bar_chart

    lines = [
        f"Class statistics: {stats.students} students, {stats.points_possible:g} points possible "
        f"({stats.nothing_handed_in} handed in nothing)",
        f"  total: {distribution_line(stats.totals)}",
        f"  percent: {distribution_line(stats.percents, '%')}",
        "  (quartiles by linear interpolation, Excel's QUARTILE.INC; sd over the whole class)",
        "Totals, percent of points possible (students):",
        *(f"  {line}" for line in bar_chart(stats.histogram, unicode=unicode)),
    ]
    most = stats.most_missed_step()
    if most is not None:
        exercise, step = most
        lines.append(
            f"Most missed step: {exercise.template} {step.name} ({step.missed} of {step.submissions} graded "
            f"submissions had a wrong or blank cell)"
        )
    for e in stats.exercises:
        lines.append(
            f"{e.template} ({e.points_possible:g} points): {distribution_line(e.scores)}; full marks "
            f"{e.full_marks} of {e.scores.count} ({_rate(e.success_rate)}); graded {e.graded}, missing {e.missing}, "
            f"not counted {e.not_counted}"
        )
        width = max((len(s.name) for s in e.steps), default=0)
        for s in e.steps:
            lines.append(
                f"  {s.name:<{width}}  all right {s.all_right}/{s.submissions} ({_rate(s.success_rate)}), "
                f"cells right {_rate(s.cell_success_rate)}, first wrong step for {s.first_wrong}"
            )
            for slip in s.slips[:TOP_SLIPS]:
                lines.append(f"  {'':<{width}}    {slip.students} x {slip.slip}")
    return "".join(line + "\n" for line in lines)


def statistics_markdown(stats: ClassStatistics, histogram_file: str | None = "histogram.svg") -> str:
    """The report folder's report.md: the same statistics as tables, the histogram beside it."""
    from nnhand.safety.safetext import md_text

    def row(*cells: object) -> str:
        return "| " + " | ".join(md_text(c) for c in cells) + " |"

    def rule(*aligns: str) -> str:  # not through md_text, which would escape the dashes
        return "| " + " | ".join(aligns) + " |"

    title = md_text(stats.assignment) if stats.assignment else "Grades"
    out = [
        f"# {title}: class statistics",
        "",
        f"{stats.students} students, {stats.points_possible:g} points possible; "
        f"{stats.nothing_handed_in} handed in nothing. A missing exercise counts 0 points. Quartiles by "
        f"{md_text(QUARTILE_METHOD)}; sd is the population standard deviation.",
        "",
        row("", "mean", "median", "Q1", "Q3", "min", "max", "sd"),
        rule(*["---"] * 8),
    ]
    for name, d, suffix in (("total", stats.totals, ""), ("percent", stats.percents, "%")):
        out.append(row(name, *(_n(v, suffix) for v in (d.mean, d.median, d.q1, d.q3, d.minimum, d.maximum, d.stdev))))
    out += ["", "## Totals", ""]
    if histogram_file:
        out += [f"![Histogram of the totals]({histogram_file})", ""]
    out += [row("percent", "students"), rule("---", "---:")]
    for b in stats.histogram:
        out.append(row(f"{b.low} to {b.high}{']' if b.high == 100 else ')'}", b.count))
    for e in stats.exercises:
        out += [
            "",
            f"## {md_text(e.template)}: {md_text(e.title)}",
            "",
            f"{e.points_possible:g} points; {md_text(distribution_line(e.scores))}. Full marks: {e.full_marks} of "
            f"{e.scores.count} ({_rate(e.success_rate)}); graded {e.graded}, missing {e.missing}, "
            f"not counted {e.not_counted}.",
            "",
            row("step", "all right", "cells right", "first wrong step for", "most common slips"),
            rule("---", "---:", "---:", "---:", "---"),
        ]
        for s in e.steps:
            slips = "; ".join(f"{x.students} x {x.slip}" for x in s.slips[:TOP_SLIPS]) or "-"
            out.append(row(s.name, f"{s.all_right}/{s.submissions} ({_rate(s.success_rate)})",
                           _rate(s.cell_success_rate), s.first_wrong, slips))  # fmt: skip
    return "\n".join(out) + "\n"


def _label(template: Any, name: str) -> str:
    """A step's label, or (the inverse pattern) the blank given's."""
    from nnhand.core.inverse import given_label

    return given_label(template, name) if name in template.givens else str(template.step(name).label)
