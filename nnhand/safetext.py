"""Text from strangers, made safe for where it is written.

Anything a student or a template author wrote (an answer, a student id, a name, a title,
a label) may reach a terminal, a feedback file, a spreadsheet, XML, GIFT, HTML, typst or
Markdown. Every writer passes such text through one of these first:

- `plain(text)`: control characters removed (terminal escape sequences, NUL, bell, the C1
  range, bidirectional overrides), newlines and tabs kept where `keep_newlines`;
- `one_line(text)`: the same, with every line break and tab made a space (names, ids, cells);
- `csv_cell(text)`: a spreadsheet cell that cannot start a formula (OWASP's advice for CSV
  injection: a leading = + - @, tab or CR gets a leading apostrophe), and that holds no
  control characters. Numbers written by nnhand itself are passed as numbers, not text.

Standard library only.
"""

from __future__ import annotations

import re

# C0 controls but \t \n, DEL, C1 controls, and the Unicode bidi controls that reorder what a
# reader sees (U+202A..U+202E, U+2066..U+2069), plus line/paragraph separators.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain(text: object, keep_newlines: bool = True) -> str:
    """`text` without escape sequences or control characters (newlines kept if asked)."""
    s = str(text)
    if "\r\n" in s:
        s = s.replace("\r\n", "\n")
    s = _ANSI.sub("", s)
    s = _CONTROLS.sub("", s.replace("\r", "\n"))
    if not keep_newlines:
        s = s.replace("\n", " ").replace("\t", " ")
    return s


def one_line(text: object) -> str:
    """`text` as one line: control characters removed, line breaks and tabs made spaces."""
    return plain(text, keep_newlines=False)


def csv_cell(value: object) -> object:
    """A value for a CSV cell: numbers as they are; text on one line that cannot be a formula."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = one_line(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text
