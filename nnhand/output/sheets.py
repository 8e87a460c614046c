"""The formats of sheets, keys, printed pages and question pools, declared in one place.

Light on purpose (the registry only at module level): the CLI reads these lists at start-up
to build its choices, and a renderer is imported only when it is used. Every renderer
returns the whole text to write (with its final newline), bytes where `Format.binary`, or
{relative file name: text} where `Format.files`; all of them lay out the one page model
of page.py.

    SHEET_FORMATS  gen --format:        (sheet) -> str
    KEY_FORMATS    key --format:        (problem, *, exact=False, explain=False, blanks=None) -> str
    PRINT_FORMATS  worksheet --format:  (pages: Sequence[printing.Page], title) -> str | bytes
    POOL_FORMATS   export --format:     (pool: lms.Pool) -> str, or bytes (a zip) where binary

Adding a format is one entry here and its renderer: the CLI's choices, help and dispatch
follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnhand.output.registry import Format, Registry

if TYPE_CHECKING:
    from nnhand.core.engine import Problem
    from nnhand.core.sheet import Sheet

_TERMINAL = "nnhand.output.terminal"
_SHEETS = "nnhand.output.sheets"
_PRINT = "nnhand.output.printing"
_LMS = "nnhand.output.lms"
_SELFCHECK = "nnhand.output.selfcheck"

SHEET_FORMATS = Registry(
    "sheet",
    [
        Format("terminal", "tables, blanks as ___", f"{_TERMINAL}:sheet_text"),
        Format("json", "the answer file to fill in, as JSON", f"{_SHEETS}:sheet_json"),
        Format(
            "html-check",
            "a self-checking HTML page: type in the blanks, checked as you type (offline)",
            f"{_SELFCHECK}:selfcheck_page",
        ),
    ],
)

KEY_FORMATS = Registry(
    "key",
    [
        Format("terminal", "the key as tables", f"{_TERMINAL}:key_text"),
        Format("yaml", "the key as YAML", f"{_SHEETS}:key_yaml"),
        Format("json", "the key as JSON", f"{_SHEETS}:key_json"),
    ],
)

PRINT_FORMATS = Registry(
    "print",
    [
        Format("html", "one self-contained HTML file (A4 print CSS)", f"{_PRINT}:html_document"),
        Format("md", "GitHub-flavoured Markdown", f"{_PRINT}:markdown_document"),
        Format("pdf", "PDF through typst (nnhand[pdf])", f"{_PRINT}:pdf_bytes", binary=True),
        Format("typst", "the typst source of the PDF", f"{_PRINT}:typst_source"),
    ],
)
# The file name ending of each print format, where it differs from the format's name.
PRINT_EXTENSIONS = {"html": "html", "md": "md", "pdf": "pdf", "typst": "typ"}

POOL_FORMATS = Registry(
    "export",
    [
        Format("moodle", "Moodle XML, one cloze question per variant", f"{_LMS}:moodle_pool"),
        Format("gift", "GIFT, one question per blank cell", f"{_LMS}:gift_pool"),
        Format("qti", "QTI 2.1 items in an IMS content package (zip)", f"{_LMS}:qti_pool", binary=True),
    ],
)


def sheet_json(sheet: Sheet) -> str:
    """`gen --format json` (schema nnhand-answers): the answer file of the sheet
    (answer_file_data) as JSON; `check` reads it as it reads the YAML one."""
    import json

    from nnhand.grading.answers import answer_file_data
    from nnhand.output.reports import json_document
    from nnhand.safety.safetext import stdout_is_ascii

    document = json_document("nnhand-answers", answer_file_data(sheet))
    return json.dumps(document, indent=2, ensure_ascii=stdout_is_ascii()) + "\n"


def _key_data(problem: Problem, explain: bool, blanks: str | None = None) -> dict[str, Any]:
    """`key --format json|yaml` (schema nnhand-key): key_data, with the worked lines (and,
    for the inverse pattern, which given cells its sheet leaves blank)."""
    from nnhand.core.keys import key_data
    from nnhand.core.sheet import make_sheet
    from nnhand.output.reports import json_document

    sheet = make_sheet(problem, blanks or "none")
    data = json_document("nnhand-key", key_data(problem))
    if explain:
        from nnhand.core.explain import explain_sheet

        worked = explain_sheet(sheet)
        if worked:
            data["worked"] = worked
    return data


def key_json(problem: Problem, *, exact: bool = False, explain: bool = False, blanks: str | None = None) -> str:
    """`key --format json`: key_data (exact values are always in it), with the worked lines."""
    from nnhand.core.keys import to_json
    from nnhand.safety.safetext import stdout_is_ascii

    return to_json(_key_data(problem, explain, blanks), stdout_is_ascii())


def key_yaml(problem: Problem, *, exact: bool = False, explain: bool = False, blanks: str | None = None) -> str:
    """`key --format yaml`: as key_json, in YAML."""
    from nnhand.core.keys import to_yaml
    from nnhand.safety.safetext import stdout_is_ascii

    return to_yaml(_key_data(problem, explain, blanks), stdout_is_ascii())
