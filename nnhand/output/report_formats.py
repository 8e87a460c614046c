"""The formats of results, declared in one place: what `check --format`, `list --format` and
`grade --csv/--json/--junit/--feedback` offer, each with its renderer.

Light on purpose (stdlib and the registry only): the CLI reads these lists at start-up to
build its choices, and a renderer is imported only when it is used.

    REPORT_FORMATS     one graded answer file: (report, ReportOptions) -> str; each also
                       renders an error (message, ReportOptions) -> str, for when the answer
                       file itself is bad but a CI system still needs a valid file
    GRADEBOOK_FORMATS  a graded class: (book, GradeBookOptions) -> str, or a folder of
                       files {name: text} where `Format.files`
    CATALOGUE_FORMATS  the template list: (rows, ReportOptions) -> str

Adding a format is one entry here and its renderer: the CLI's choices, help and dispatch
follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nnhand.output.registry import Format, Registry

_REPORTS = "nnhand.output.reports"
_BOOK = "nnhand.classroom.gradebook"


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


@dataclass(frozen=True)
class GradeBookOptions:
    per: str = "cell"  # JUnit test cases per cell or per step


REPORT_FORMATS = Registry(
    "report",
    [
        Format("terminal", "per-step grids and feedback", f"{_REPORTS}:terminal_report", f"{_REPORTS}:no_error_file"),
        Format("json", "the report as JSON", f"{_REPORTS}:json_report", f"{_REPORTS}:no_error_file"),
        Format(
            "gradescope",
            "a Gradescope results.json",
            f"{_REPORTS}:gradescope_report",
            f"{_REPORTS}:gradescope_error_report",
        ),
        Format(
            "classroom",
            "a GitHub Classroom runner result",
            f"{_REPORTS}:classroom_report",
            f"{_REPORTS}:classroom_error_report",
        ),
        Format("junit", "JUnit XML", f"{_REPORTS}:junit_report", f"{_REPORTS}:junit_error_report"),
    ],
)

GRADEBOOK_FORMATS = Registry(
    "grade-book",
    [
        Format("csv", "Write the grade book (CSV).", f"{_BOOK}:render_csv"),
        Format("json", "Write the grade book as JSON: scores, statuses and flags.", f"{_BOOK}:render_json"),
        Format("junit", "Write JUnit XML.", f"{_BOOK}:render_junit"),
        Format("feedback", "Write one feedback file per student here.", f"{_BOOK}:render_feedback", files=True),
    ],
)

CATALOGUE_FORMATS = Registry(
    "list",
    [
        Format("terminal", "a table of id, title and tags", f"{_REPORTS}:catalogue_terminal"),
        Format("json", "every field as JSON", f"{_REPORTS}:catalogue_json"),
    ],
)
