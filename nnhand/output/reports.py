"""Grading results in the shapes that graders and CI systems read (FORMATS.md).

    gradescope_json(report)      Gradescope `results.json`: one test per step
    gradescope_error_json(msg)   a valid `results.json` (score 0, visible message) for a
                                 submission that could not be graded at all
    classroom_json(report)       a GitHub Classroom runner result (base64 for the reporter):
                                 one test per cell, whose scores sum to the report's score
    classroom_error(msg)         the same shape with status "error", keeping the max_score
                                 the file was worth (points_possible) so that it counts
    junit_xml(reports, per)      JUnit XML: one <testsuite> per answer file, one <testcase>
                                 per cell or per step; `Ungraded` files become <error>s
    json_report, json_error_report, catalogue_json   nnhand's own JSON documents: each
                                 json_document(schema, ...) with "schema_version", numbers
                                 as numbers, described by nnhand/schemas/<name>.schema.json

Library functions: they return strings (or a dict) and never print. Decisions:
- Gradescope: the top-level `score` is the report's score (it overrides the sum of the
  tests, so weighted scoring is never re-added). Gradescope takes the assignment's total
  points from its own settings, not from the file, so there is no top-level max_score;
  the report's maximum goes to `extra_data`, and `scale_to` rescales every score when the
  assignment is worth, say, 10 points while the sheet has 65 cells.
- Classroom: the reporter sums `score` over the tests, so each cell carries its share of
  its step's score (1 or 0 under cell scoring; under step or weighted scoring the step's
  points are split among its credited cells, the last one taking the rounding remainder).
  A test's status says whether the cell itself is right, so a right cell in a step scored
  all-or-nothing can pass with score 0.
- JUnit: valid against the Jenkins junit XSD (xunit-plugin's junit-10.xsd, vendored in
  tests/schemas/): `skipped` on <testsuite> only, never on <testsuites>. A test case's
  classname is student.template.step, because report viewers merge the cases that share a
  classname and name: in a class report each student needs a class of their own.
- `reveal=False` leaves the expected values out of everything a student reads.
- JSON is written ASCII-only (non-ASCII as \\u escapes), so that no name or file name can
  make the file unwritable or undecodable; every string in it, and every text of the
  JUnit XML, is cleaned of control characters first (safetext.plain): what a student wrote
  reaches a grader's page as text, never as terminal escapes or unparsable XML.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from nnhand._version import __version__
from nnhand.choices import JUNIT_PER
from nnhand.grading.grade import CellResult, Report, StepResult
from nnhand.safety.safetext import md_text, one_line, plain
from nnhand.values import format_fraction, is_finite_decimal


@dataclass(frozen=True)
class ReportOptions:
    """How one report is rendered; every format reads what applies to it."""

    reveal: bool = True  # expected values of wrong cells shown
    show_reading: bool = False  # terminal: how each answer was read
    base64: bool = False  # classroom: the base64 a Classroom reporter reads
    explanations: Mapping[str, Mapping[str, str]] | None = None  # step -> cell -> worked line
    seconds: float | None = None  # how long grading took (gradescope's execution_time)
    source: str = ""  # the answer file, for an error report that names it
    ascii_only: bool = False  # JSON for an output that cannot hold Unicode: \u escapes
    # classroom, for a file that could not be graded: the points it was worth (points_possible),
    # so that the reporter still counts them as missed; None: worked out from `source`
    max_score: float | None = None


GRADESCOPE_VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")
_JUNIT_TYPE = {"wrong": "WrongValue", "missing": "Missing", "unreadable": "Unreadable"}  # failed cells
MAX_MESSAGE = 4000  # characters of an error message that reach a student
_SCORING_TEXT = {
    "cell": "one point a cell",
    "step": "one point a step, all or nothing",
    "weighted": "the template's points per step, shared among its cells",
}


@dataclass(frozen=True)
class Ungraded:
    """An answer file that could not be graded (unreadable, unmatched, changed givens).

    `junit_xml` shows it as a test suite with one errored test case, so a CI view counts it
    instead of silently dropping it."""

    source: str
    message: str
    student: str | None = None
    template: str | None = None


# ----------------------------------------------------------------------------- shared


def _num(value: float) -> str:
    """A score as people write it: 3, 2.5, 0.333333 (never 3.0 or 1e-07)."""
    text = f"{round(float(value), 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _plain(value: float) -> float | int:
    """A score for JSON: an int when whole, else a float rounded to 6 places."""
    value = round(float(value), 6)
    return int(value) if value == int(value) else value


def _asked_steps(report: Report) -> list[StepResult]:
    return [s for s in report.steps if s.cells]


def _cell_line(c: CellResult, reveal: bool) -> str:
    """One cell as a sentence: what was written and, when revealed, what was expected."""
    if c.status == "right":
        return f"{c.cell}: {c.given} is right"
    if c.status == "ecf":
        text = f"{c.cell}: {c.given} follows from your own earlier answers"
        return f"{text} (the key has {c.expected})" if reveal else text
    if c.status == "missing":
        return f"{c.cell}: no answer" + (f" (expected {c.expected})" if reveal else "")
    if c.status == "unreadable":
        return f"{c.cell}: cannot be read ({c.reason})" + (f" (expected {c.expected})" if reveal else "")
    text = f"{c.cell}: you wrote {c.given}"
    if reveal:
        text += f", expected {c.expected}"
        if c.accepted != c.expected:
            text += f" (accepted: {c.accepted})"
    return text


def _cell_scores(step: StepResult) -> list[float]:
    """Each cell's share of the step's score: the credited cells share it equally."""
    scores = [0.0] * len(step.cells)
    credited = [i for i, c in enumerate(step.cells) if c.credited]
    if not credited or step.score == 0:
        return scores
    share = round(step.score / len(credited), 6)
    for i in credited[:-1]:
        scores[i] = share
    scores[credited[-1]] = round(step.score - share * (len(credited) - 1), 6)
    return scores


def _clip(message: str) -> str:
    message = str(message)
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


# ----------------------------------------------------------------------------- Gradescope


def _md(text: str) -> str:
    """Free text for Markdown: punctuation that would format is backslash-escaped."""
    return md_text(text)


def _code(text: str) -> str:
    """Inline code for names and ids: the fence is one backtick longer than any run inside."""
    text = one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    if not longest:
        return f"`{text}`"
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


def _dumps(data: Any) -> str:
    return json.dumps(_clean(data), indent=2, ensure_ascii=True, allow_nan=False) + "\n"


def _clean(value: Any) -> Any:
    """Every string of a JSON document without control characters (newlines kept)."""
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _check_visibility(value: str, what: str) -> None:
    if value not in GRADESCOPE_VISIBILITY:
        raise ValueError(f"{what} must be one of {', '.join(GRADESCOPE_VISIBILITY)}, not {value!r}")


def gradescope_json(
    report: Report,
    execution_time: float | None = None,
    visibility: str = "visible",
    stdout_visibility: str = "hidden",
    reveal: bool = True,
    scale_to: float | None = None,
) -> str:
    """A Gradescope results.json for one graded answer file: one test per asked step.

    `scale_to` rescales the scores to the assignment's points (score/max_score*scale_to)."""
    _check_visibility(visibility, "visibility")
    _check_visibility(stdout_visibility, "stdout_visibility")
    if scale_to is not None and not scale_to >= 0:
        raise ValueError(f"scale_to must be a number of points >= 0, not {scale_to!r}")
    factor = 1.0
    if scale_to is not None:
        factor = scale_to / report.max_score if report.max_score else 0.0
    tests = []
    for number, step in enumerate(_asked_steps(report), start=1):
        passed = all(c.credited for c in step.cells)
        lines = [f"{step.right}/{len(step.cells)} cells right, {_num(step.score)}/{_num(step.points)} points"]
        lines += [f"→ {sentence}" for sentence in step.diagnosis]
        lines += [_cell_line(c, reveal) for c in step.cells if c.status != "right"]
        tests.append(
            {
                "name": step.label or step.name,
                "number": str(number),
                "score": _plain(step.score * factor),
                "max_score": _plain(step.points * factor),
                "status": "passed" if passed else "failed",
                "output": "\n".join(lines),
                "tags": [report.template],
                "visibility": visibility,
            }
        )
    data: dict[str, Any] = {"score": _plain(report.score * factor)}
    if execution_time is not None:
        data["execution_time"] = round(float(execution_time), 3)
    data.update(
        {
            "output": _gradescope_summary(report, factor, scale_to is not None),
            "output_format": "md",
            "visibility": visibility,
            "stdout_visibility": stdout_visibility,
            "extra_data": {
                "nnhand_version": __version__,
                "template": report.template,
                "variant": report.variant,
                "scoring": report.scoring,
                "score": _plain(report.score),
                "max_score": _plain(report.max_score),
                "student": report.student,
            },
            "tests": tests,
        }
    )
    return _dumps(data)


def _gradescope_summary(report: Report, factor: float, scaled: bool) -> str:
    lines = [f"**{_md(report.title or report.template)}** — variant {_code(report.variant)}", ""]
    if report.student:
        lines += [f"Student: {_md(report.student)}", ""]
    score = f"**Score: {_num(report.score * factor)}/{_num(report.max_score * factor)}**"
    if scaled:
        score += f" ({_num(report.score)} of {_num(report.max_score)} on the sheet)"
    lines.append(f"{score} — {report.scoring} scoring: {_SCORING_TEXT.get(report.scoring, report.scoring)}")
    steps = _asked_steps(report)
    cells = [c for s in steps for c in s.cells]
    wrong = sum(c.status == "wrong" for c in cells)
    missing = sum(c.status == "missing" for c in cells)
    ecf = sum(c.status == "ecf" for c in cells)
    unreadable = sum(c.status == "unreadable" for c in cells)
    counts = f"{len(cells) - wrong - missing - ecf - unreadable} of {len(cells)} cells right"
    if ecf:
        counts += f", {ecf} right from your own earlier answers"
    if wrong:
        counts += f", {wrong} wrong"
    if missing:
        counts += f", {missing} blank"
    if unreadable:
        counts += f", {unreadable} unreadable"
    lines += ["", counts + "."]
    root_cause = report.root_cause_sentence(_code(report.root_cause or ""))
    if root_cause:
        lines += ["", root_cause]
    diagnoses = [(s.name, sentence) for s in steps for sentence in s.diagnosis]
    if diagnoses:
        lines += ["", "What went wrong:", ""]
        lines += [f"- {_code(name)}: {_md(sentence)}" for name, sentence in diagnoses]
    return "\n".join(lines)


def gradescope_error_json(message: str, execution_time: float | None = None, visibility: str = "visible") -> str:
    """A valid results.json for a submission nnhand could not grade: score 0, the reason shown.

    It never raises for what it is given (an unknown visibility becomes "visible", an
    unusable execution time is left out): this is the file of last resort."""
    if visibility not in GRADESCOPE_VISIBILITY:
        visibility = "visible"
    data: dict[str, Any] = {"score": 0}
    if isinstance(execution_time, (int, float)) and math.isfinite(execution_time):
        data["execution_time"] = round(float(execution_time), 3)
    data.update(
        {
            "output": "nnhand could not grade this submission:\n\n" + _clip(message),
            "output_format": "text",
            "visibility": visibility,
            "stdout_visibility": "hidden",
            "extra_data": {"nnhand_version": __version__, "error": _clip(message)},
            "tests": [],
        }
    )
    return _dumps(data)


# ----------------------------------------------------------------------------- GitHub Classroom


def classroom_result(report: Report, reveal: bool = True) -> dict[str, Any]:
    """The runner result the Classroom reporter reads: one test per asked cell."""
    tests: list[dict[str, Any]] = []
    for step in _asked_steps(report):
        for c, score in zip(step.cells, _cell_scores(step)):
            message = _cell_line(c, reveal)
            if c.status == "wrong" and step.diagnosis:
                message += " — " + " ".join(step.diagnosis)
            test: dict[str, Any] = {
                "name": c.cell,
                "status": "pass" if c.credited else "fail",
                "score": _plain(score),
                "message": message,
            }
            if report.source:
                test["test_code"] = f"nnhand check {shlex.quote(report.source)}"
                test["filename"] = report.source
            tests.append(test)
    return {
        "version": 1,
        "status": "pass" if report.exit_code == 0 else "fail",
        "max_score": _plain(report.max_score),
        "tests": tests,
    }


def _encode(data: Mapping[str, Any], base64_encode: bool) -> str:
    text = json.dumps(_clean(data), ensure_ascii=True, allow_nan=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii") if base64_encode else text


def classroom_json(report: Report, base64_encode: bool = True, reveal: bool = True) -> str:
    """`classroom_result` as JSON, base64-encoded (what the reporter's `*_RESULTS` holds) by default."""
    return _encode(classroom_result(report, reveal), base64_encode)


def classroom_error(message: str, base64_encode: bool = True, max_score: float = 0) -> str:
    """A runner result with status "error" for a submission that could not be graded.

    Give `max_score` so that the reporter still counts the points missed (0/max)."""
    data = {
        "version": 1,
        "status": "error",
        "max_score": _plain(max_score),
        "tests": [{"name": "nnhand check", "status": "error", "score": 0, "message": _clip(message)}],
    }
    return _encode(data, base64_encode)


def points_possible(
    source: str, expect: str | None = None, scoring: str | None = None, problems_dirs: Iterable[str] = ()
) -> float | None:
    """What an answer file that could not be graded was worth, for an error result that must
    still count its points as missed: the maximum of the sheet it names (`expect`, the sheet
    handed out, else the file's own variant line), graded as if every cell were blank.
    None when neither names a sheet that can be rebuilt (no file, no variant line)."""
    from nnhand.errors import NnhandError
    from nnhand.grading.answers import read_answer_file
    from nnhand.grading.grade import grade_data
    from nnhand.safety.safeio import MAX_INPUT_BYTES

    data: dict[str, Any] = {}
    path = Path(source)
    if source and path.is_file():  # never a FIFO or a device: the grader opens none
        try:
            data = dict(read_answer_file(path))
        except NnhandError:  # broken YAML, most often: its variant line may still say which sheet
            with contextlib.suppress(OSError):
                with path.open("rb") as handle:
                    line = re.search(rb"^variant:[ \t]*[\"']?([^\s\"']+)", handle.read(MAX_INPUT_BYTES), re.M)
                data = {"variant": line[1].decode("utf-8", "replace")} if line else {}
    if expect is not None and data.get("variant") != expect:
        data = {"variant": expect, "givens": data.get("givens")}
    if "variant" not in data:
        return None
    data["answers"] = {}  # what was written cannot change the maximum; it may be what failed
    for trust_givens in (False, True):  # givens changed by hand still have the sheet's shapes
        try:
            return float(grade_data(data, source or "answers", problems_dirs, trust_givens, scoring)[0].max_score)
        except NnhandError:
            continue
    return None


# ----------------------------------------------------------------------------- JUnit XML


def _x(text: Any) -> str:
    """Text XML 1.0 can hold (ElementTree escapes <&"> but passes control characters through)."""
    return plain(text)


def junit_xml(
    reports: Iterable[Report | Ungraded],
    per: str = "cell",
    durations: Mapping[str, float] | None = None,
    name: str = "nnhand",
) -> str:
    """JUnit XML: one <testsuite> per answer file, one <testcase> per cell or per step.

    Wrong cells fail with type WrongValue, blank ones with type Missing; an `Ungraded` file
    is one <testcase> with an <error>. Scores go in each suite's <properties>. `durations`
    maps an answer file's source to the seconds its grading took (else 0)."""
    if per not in JUNIT_PER:
        raise ValueError(f"per must be 'cell' or 'step', not {per!r}")
    durations = durations or {}
    root = ET.Element("testsuites", name=_x(name))
    # No `skipped` here: the Jenkins junit XSD (xunit-plugin's junit-10.xsd) allows it on a
    # <testsuite> only, and nnhand skips nothing.
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for item in reports:
        seconds = float(durations.get(item.source, 0.0))
        if isinstance(item, Ungraded):
            suite = _ungraded_suite(item)
        else:
            suite = _report_suite(item, per)
        suite.set("time", f"{seconds:.3f}")
        root.append(suite)
        total_time += seconds
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _properties(suite: ET.Element, values: Sequence[tuple[str, Any]]) -> None:
    props = ET.SubElement(suite, "properties")
    for key, value in values:
        if value is not None:
            ET.SubElement(props, "property", name=key, value=_x(value))


def _classname(student: str | None, template: str | None, step: str) -> str:
    """A test case's class: [student.]template.step. Report viewers (Jenkins, GitLab) group and
    merge test cases by classname and name, so in a class report each student's cases need
    a class of their own; a file graded alone (`check`) has no student to name."""
    return _x(".".join(part for part in (student, template or "nnhand", step) if part))


def _report_suite(report: Report, per: str) -> ET.Element:
    label = f"{report.variant} ({report.student})" if report.student else report.variant
    suite = ET.Element("testsuite", name=_x(label))
    if report.source:
        suite.set("file", _x(report.source))
    _properties(
        suite,
        [
            ("nnhand.template", report.template),
            ("nnhand.variant", report.variant),
            ("nnhand.student", report.student),
            ("nnhand.source", report.source or None),
            ("nnhand.scoring", report.scoring),
            ("nnhand.score", _num(report.score)),
            ("nnhand.max_score", _num(report.max_score)),
            ("nnhand.root_cause", report.root_cause),
        ],
    )
    failures = 0
    count = 0
    for step in _asked_steps(report):
        classname = _classname(report.student, report.template, step.name)
        if per == "step":
            count += 1
            case = ET.SubElement(suite, "testcase", classname=classname, name=_x(step.label or step.name), time="0")
            failed = [c for c in step.cells if not c.credited]
            if failed:
                failures += 1
                statuses = {c.status for c in failed}
                kind = next((_JUNIT_TYPE[s] for s in ("wrong", "unreadable") if s in statuses), "Missing")
                message = f"{len(failed)} of {len(step.cells)} cells wrong or blank"
                body = [_cell_line(c, True) for c in failed] + [f"→ {s}" for s in step.diagnosis]
                failure = ET.SubElement(case, "failure", message=_x(message), type=kind)
                failure.text = _x("\n".join(body))
            notes = [_cell_line(c, True) for c in step.cells if c.status == "ecf"]
            out = ET.SubElement(case, "system-out")
            out.text = _x("\n".join([f"{step.right}/{len(step.cells)} cells right", *notes]))
            continue
        for c in step.cells:
            count += 1
            case = ET.SubElement(suite, "testcase", classname=classname, name=_x(c.cell), time="0")
            if c.status in _JUNIT_TYPE:
                failures += 1
                got = "nothing" if c.given is None else c.given
                if c.status == "unreadable":
                    got = f"{got!r}, which cannot be read ({c.reason})"
                failure = ET.SubElement(
                    case, "failure", message=_x(f"expected {c.expected}, got {got}"), type=_JUNIT_TYPE[c.status]
                )
                body = [f"cell {c.cell}: expected {c.expected} (accepted: {c.accepted}), got {got}"]
                if c.status == "wrong":
                    body += [f"→ {s}" for s in step.diagnosis]
                failure.text = _x("\n".join(body))
            elif c.status == "ecf":
                out = ET.SubElement(case, "system-out")
                out.text = _x(_cell_line(c, True))
    for key, value in (("tests", count), ("failures", failures), ("errors", 0), ("skipped", 0)):
        suite.set(key, str(value))
    return suite


def _ungraded_suite(item: Ungraded) -> ET.Element:
    label = f"{item.source} ({item.student})" if item.student else item.source
    suite = ET.Element("testsuite", name=_x(label), file=_x(item.source))
    _properties(
        suite,
        [
            ("nnhand.template", item.template),
            ("nnhand.student", item.student),
            ("nnhand.source", item.source),
            ("nnhand.score", "0"),
        ],
    )
    case = ET.SubElement(suite, "testcase", classname=_classname(item.student, item.template, "ungraded"),
                         name=_x(item.source), time="0")  # fmt: skip
    error = ET.SubElement(case, "error", message=_x(_clip(item.message)), type="UngradedFile")
    error.text = _x(item.message)
    for key, value in (("tests", 1), ("failures", 0), ("errors", 1), ("skipped", 0)):
        suite.set(key, str(value))
    return suite


# ----------------------------------------------------------------------------- the REPORT_FORMATS renderers
# (report_formats.py declares them; each takes the report and a ReportOptions and returns
# exactly the text to write.)


def _terminal_text(renderable: Any) -> str:
    from nnhand.output.terminal import render_text

    return render_text(renderable)


def terminal_report(report: Report, options: ReportOptions) -> str:
    from nnhand.output.terminal import report_renderable

    explanations = {k: dict(v) for k, v in (options.explanations or {}).items()}
    return _terminal_text(
        report_renderable(
            report, reveal=options.reveal, show_reading=options.show_reading, explanations=explanations or None
        )
    )


SCHEMA_VERSION = 1  # of every JSON document nnhand writes itself; nnhand/schemas/<name>.schema.json each


def json_document(schema: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON output of nnhand's own: `schema` (its name, nnhand-<what>) and `schema_version`
    first, then the data. A change that could break a reader bumps SCHEMA_VERSION; adding a
    key does not (readers ignore keys they do not know)."""
    return {"schema": schema, "schema_version": SCHEMA_VERSION, **data}


def json_number(value: Any) -> int | float:
    """A value as a JSON number: an int when whole, else the nearest float (0.69, 0.333…)."""
    exact = Fraction(value)
    return int(exact) if exact.denominator == 1 else float(exact)


def _with_exact(out: dict[str, Any], key: str, value: Fraction) -> None:
    """out[key] = the value as a JSON number, and out[key + "_exact"] = "1/3" where no decimal
    writes it (the float is then only the nearest number)."""
    out[key] = json_number(value)
    if not is_finite_decimal(value):
        out[f"{key}_exact"] = format_fraction(value)


def _json_cell(c: CellResult, shown: Mapping[str, Any], worked: str | None) -> dict[str, Any]:
    """A cell of the JSON report, numbers as numbers. `shown` is the cell as Report.to_dict
    gives it (what --no-reveal keeps); `given` is the answer as read (null when blank or
    unreadable, `written` then holding the text), `expected` the key as the sheet rounds it,
    `accepted` the span the grader takes."""
    out: dict[str, Any] = {"cell": c.cell, "status": c.status}
    out["given"] = None
    if c.word:  # a name (nn.ReLU): the words as they are
        out["given"] = c.given if c.answer is not None else None
        if c.status == "unreadable":
            out["written"] = c.given
        if c.reason is not None:
            out["reason"] = c.reason
        if "expected" in shown:
            out["expected"], out["accepted"] = c.expected, {"word": c.expected}
            if c.ecf_expected is not None:
                out["from_your_answers"] = c.ecf_expected
        if worked:
            out["worked"] = worked
        return out
    if c.answer is not None:
        _with_exact(out, "given", c.answer)
    if c.status == "unreadable":
        out["written"] = c.given
    if c.reason is not None:
        out["reason"] = c.reason
    if "expected" in shown:  # left out for a wrong cell under --no-reveal
        _with_exact(out, "expected", Fraction(c.expected))
        low, _, high = c.accepted.partition(" to ")
        out["accepted"] = {"low": json_number(Fraction(low)), "high": json_number(Fraction(high or low))}
        if c.ecf_expected is not None:
            out["from_your_answers"] = json_number(Fraction(c.ecf_expected))
    if worked:
        out["worked"] = worked
    return out


def json_report(report: Report, options: ReportOptions) -> str:
    """`check --format json` (schema nnhand-report): Report.to_dict with every score and every
    cell's value a JSON number, each wrong cell with its worked line when given."""
    data = report.to_dict(reveal=options.reveal)
    explanations = options.explanations or {}
    for step, result in zip(data["steps"], _asked_steps(report)):
        step["score"], step["max_score"] = _plain(result.score), _plain(result.points)
        worked = explanations.get(step["name"], {})
        step["cells"] = [_json_cell(c, shown, worked.get(c.cell)) for c, shown in zip(result.cells, step["cells"])]
    data["score"], data["max_score"] = _plain(report.score), _plain(report.max_score)
    document = json_document("nnhand-report", {"nnhand_version": __version__, **data})
    return json.dumps(document, indent=2, ensure_ascii=options.ascii_only) + "\n"


def json_error_report(message: str, options: ReportOptions) -> str:
    """`check --format json` for a file that could not be graded (schema nnhand-error): the
    message that also goes to stderr, and the exit code, so that a program reading stdout
    learns why there is no report."""
    data = {"nnhand_version": __version__, "source": options.source or None, "error": _clip(message), "exit_code": 2}
    return json.dumps(_clean(json_document("nnhand-error", data)), indent=2, ensure_ascii=options.ascii_only) + "\n"


def gradescope_report(report: Report, options: ReportOptions) -> str:
    return gradescope_json(report, options.seconds, reveal=options.reveal) + "\n"


def gradescope_error_report(message: str, options: ReportOptions) -> str:
    return gradescope_error_json(message, options.seconds) + "\n"


def classroom_report(report: Report, options: ReportOptions) -> str:
    return classroom_json(report, options.base64, reveal=options.reveal) + "\n"


def classroom_error_report(message: str, options: ReportOptions) -> str:
    worth = options.max_score if options.max_score is not None else points_possible(options.source)
    return classroom_error(message, options.base64, max_score=worth or 0) + "\n"


def junit_report(report: Report, options: ReportOptions) -> str:
    return junit_xml([report])


def junit_error_report(message: str, options: ReportOptions) -> str:
    return junit_xml([Ungraded(options.source or "answers", message)])


# ----------------------------------------------------------------------------- the CATALOGUE_FORMATS renderers


def catalogue_terminal(rows: Sequence[Mapping[str, Any]], options: ReportOptions) -> str:
    if any("givens" in row for row in rows):  # list --params, show: what each template takes
        return "\n".join(_interface_text(row) for row in rows)
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from nnhand.choices import TOPICS
    from nnhand.output.terminal import output_width

    # One table per topic under its heading, every table with the same column widths, so that
    # ids and titles line up through the whole list; titles take at most half of what is left.
    id_width = 2 + max((len(row["id"]) for row in rows), default=2)
    spare = max(output_width() - id_width - 4, 20)
    title_width = min(max((len(row["title"]) for row in rows), default=5), spare // 2)
    parts: list[Any] = []
    for topic, heading in TOPICS.items():
        group = [row for row in rows if row["topic"] == topic]
        if not group:
            continue
        table = Table(box=None, show_edge=False, pad_edge=False, show_header=not parts)
        table.add_column(Text("  id"), overflow="fold", width=id_width)
        table.add_column("title", overflow="fold", width=title_width)
        table.add_column("tags", overflow="fold", width=spare - title_width)
        for row in group:
            table.add_row(Text("  " + row["id"]), Text(row["title"]), Text(", ".join(row["tags"])))
        parts += [Text(heading, style="bold"), table]
    return _terminal_text(Group(*parts))


def _interface_text(row: Mapping[str, Any]) -> str:
    """A template's givens, params and ranges, as `show` prints them."""

    def aligned(entries: list[list[str]]) -> list[str]:
        widths = [max(len(e[i]) for e in entries) for i in range(len(entries[0]))]
        return ["    " + "  ".join(c.ljust(w) for c, w in zip(e, widths)).rstrip() for e in entries]

    lines = [f"{row['id']}: {row['title']} (version {row['version']})"]
    givens = [
        [name, "[" + ", ".join(g["shape"]) + "]", g.get("label", "")
         + ("  (optional: the template's value if left out)" if "fixed" in g else "")
         + (f"  (only when {g['when']})" if "when" in g else "")]
        for name, g in row["givens"].items()
    ]  # fmt: skip
    lines += ["  givens (name, shape, meaning):", *aligned(givens)]
    if row["params"]:
        params = [[name, f"default {p['default']}", p["range"], p["doc"]] for name, p in row["params"].items()]
        lines += ["  params (read from the givens' shapes, or --param NAME=VALUE):", *aligned(params)]
    else:
        lines.append("  params: none (fixed sizes)")
    if row.get("augmented"):
        joined = ", ".join(f"{k} = {v}" for k, v in row["augmented"].items())
        lines.append(f"  augmented form: {joined} (or W with b as one extra column)")
    if row.get("vocabulary"):
        lines.append(f"  vocabulary: {' '.join(row['vocabulary'])} (or your own: 'vocabulary: [...]')")
    return plain("\n".join(lines)) + "\n"


def catalogue_json(rows: Sequence[Mapping[str, Any]], options: ReportOptions) -> str:
    """`list` and `show --format json` (schema nnhand-catalogue): the rows under "templates",
    a param's default and a shape's fixed sizes as numbers (the terminal shows them as text)."""
    templates = []
    for row in rows:
        row = dict(row)
        if "params" in row:
            row["params"] = {
                name: {**p, "default": int(p["default"])} if "min" in p else dict(p)
                for name, p in row["params"].items()
            }
        if "givens" in row:
            row["givens"] = {
                name: {**g, "shape": [int(d) if str(d).isdigit() else d for d in g["shape"]]}
                for name, g in row["givens"].items()
            }
        templates.append(row)
    document = json_document("nnhand-catalogue", {"nnhand_version": __version__, "templates": templates})
    return json.dumps(document, indent=2, ensure_ascii=options.ascii_only) + "\n"


__all__ = [
    "Ungraded",
    "catalogue_json",
    "catalogue_terminal",
    "classroom_error",
    "classroom_error_report",
    "classroom_json",
    "classroom_report",
    "classroom_result",
    "gradescope_error_json",
    "gradescope_error_report",
    "gradescope_json",
    "gradescope_report",
    "json_document",
    "json_error_report",
    "json_number",
    "json_report",
    "junit_error_report",
    "junit_report",
    "junit_xml",
    "points_possible",
    "terminal_report",
]
