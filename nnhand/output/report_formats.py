"""The formats of results, declared in one place: what `check --format`, `list --format` and
`grade --csv/--json/--junit/--feedback/--report` offer, each with its renderer.

Light on purpose (stdlib and the registry only): the CLI reads these lists at start-up to
build its choices, and a renderer is imported only when it is used.

    REPORT_FORMATS     one graded answer file: (report, ReportOptions) -> str; each also
                       renders an error (message, ReportOptions) -> str, for when the answer
                       file itself is bad but a CI system still needs a valid file
    GRADEBOOK_FORMATS  a graded class: (book, GradeBookOptions) -> str, or a folder of
                       files {name: text} where `Format.files`
    CATALOGUE_FORMATS  the template list: (rows, ReportOptions) -> str
    PROGRESS_FORMATS   the learner's practice history: (progress, path, width) -> str

The option records live beside their renderers (ReportOptions in reports.py, GradeBookOptions
in classroom/gradebook.py), so that declaring the formats costs nothing at start-up.

Adding a format is one entry here and its renderer: the CLI's choices, help and dispatch
follow.
"""

from __future__ import annotations

from nnhand.output.registry import Format, Registry

_REPORTS = "nnhand.output.reports"
_BOOK = "nnhand.classroom.gradebook"
_PROGRESS = "nnhand.output.progress"


REPORT_FORMATS = Registry(
    "report",
    [
        Format("terminal", "per-step grids and feedback", f"{_REPORTS}:terminal_report"),
        Format("json", "the report as JSON", f"{_REPORTS}:json_report", f"{_REPORTS}:json_error_report"),
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
        Format("json", "Write the grade book as JSON: statistics, scores, flags, reports.", f"{_BOOK}:render_json"),
        Format("junit", "Write JUnit XML.", f"{_BOOK}:render_junit"),
        Format("feedback", "Write one feedback file per student here.", f"{_BOOK}:render_feedback", files=True),
        Format(
            "report",
            "Write the class statistics here: statistics.json, histogram.svg, report.md.",
            f"{_BOOK}:render_report",
            files=True,
        ),
    ],
)

CATALOGUE_FORMATS = Registry(
    "list",
    [
        Format("terminal", "a table of id, title and tags", f"{_REPORTS}:catalogue_terminal"),
        Format("json", "every field as JSON", f"{_REPORTS}:catalogue_json"),
    ],
)

PROGRESS_FORMATS = Registry(
    "progress",
    [
        Format("terminal", "accuracy per topic and step, a bar and a chart by session", f"{_PROGRESS}:terminal"),
        Format("json", "the same as JSON", f"{_PROGRESS}:json_progress"),
    ],
)
