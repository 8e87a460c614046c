"""Text from strangers, made safe for where it is written.

Anything a student or a template author wrote (an answer, a student id, a name, a title,
a label) may reach a terminal, a feedback file, a spreadsheet, XML, GIFT, HTML, typst or
Markdown. Every writer passes such text through one of these first:

- `plain(text)`: control characters removed (terminal escape sequences, NUL, bell, the C1
  range, bidirectional overrides), newlines and tabs kept where `keep_newlines`;
- `one_line(text)`: the same, with every line break and tab made a space (names, ids, cells);
- `wrapped(text, width)`: one line of text as lines within a terminal's width;
- `clean_tree(root)`: `plain` for every text and attribute of an ElementTree (XML);
- `html_text(text)`: `plain` text for HTML, `< > & " '` as references;
- `md_text(text)`: one line for Markdown (a table cell, a paragraph), every character that
  could format, link or start a block backslash-escaped;
- `fallback(text, encoding)`: text a terminal in `encoding` can print (ASCII box lines, `-`
  for the minus, `*`/`x` for the check marks, Greek letters by name, `?` for the rest);
- `csv_cell(text)`: a spreadsheet cell that cannot start a formula (OWASP's advice for CSV
  injection: a leading = + - @, tab or CR gets a leading apostrophe), and that holds no
  control characters. Numbers written by nnhand itself are passed as numbers, not text.

Standard library only.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls but \t \n, DEL, C1 controls, and the Unicode bidi controls that reorder what a
# reader sees (U+202A..U+202E, U+2066..U+2069), plus line/paragraph separators; and what is
# not text at all: lone surrogates (no encoder can write them) and U+FFFE/U+FFFF (XML 1.0
# refuses them). What is left is valid in every writer's output, XML included.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff\ufffe\uffff]")
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


def clean_tree(root: Any) -> None:
    """An ElementTree element and everything under it made valid XML 1.0, in place: every
    text, tail and attribute value through `plain` (ElementTree escapes < & > " itself, but
    writes control characters as they are, which no XML parser reads back)."""
    for element in root.iter():
        if element.text:
            element.text = plain(element.text)
        if element.tail:
            element.tail = plain(element.tail)
        for name, value in element.attrib.items():
            element.set(name, plain(value))


def html_text(text: object) -> str:
    """`plain(text)` for HTML text or attribute values (quotes escaped too)."""
    import html  # here, not at the top: start-up imports this module for its stream helpers

    return html.escape(plain(text), quote=True)


# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the
# ones that format (* _ ` ~), link or embed ([ ] ! < >), end a table cell (|), or are
# entities, math or attribute syntax (& $ { } #). With [ escaped no ( ) can make a link.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~&$])")
# What starts a block only at the start of a line: a list number ("1." "2)") or a list
# bullet, rule or setext underline ("- ", "+ ", "---", "==="); "-1" and "0.5" stay as they are.
_MD_BLOCK_START = re.compile(r"^(?:(\d{1,9})([.)])(?=\s|$)|([-+=])(?=[\s\-+=]|$))")


def md_text(text: object) -> str:
    """Text that Markdown shows as written, on one line (so that it cannot end a table row or
    start a heading, list, quote, rule or code block)."""
    out = _MD_SPECIAL.sub(r"\\\1", " ".join(one_line(text).split()))
    return _MD_BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", out)


_FALLBACK = {
    "─": "-", "│": "|", "┌": "+", "┬": "+", "┐": "+", "├": "+", "┼": "+", "┤": "+", "└": "+", "┴": "+",
    "┘": "+", "−": "-", "–": "-", "—": "--", "✓": "*", "✗": "x", "·": ".", "…": "...", "→": "->", "←": "<-",
    "☐": "[ ]", "≈": "~", "≤": "<=", "≥": ">=", "≠": "!=", "±": "+/-", "×": "x", "÷": "/", "∂": "d", "√": "sqrt",
    "∞": "inf", "⊙": "(.)", "∇": "grad", "∑": "sum", "ℓ": "l", "ᵀ": "^T", "ŷ": "y^", "‘": "'", "’": "'", "“": '"',
    "”": '"', "•": "*", "°": "deg", "µ": "mu",
}  # fmt: skip


def holds_unicode(encoding: str | None) -> bool:
    """Whether an output in `encoding` can hold any character (UTF-8, UTF-16, ...)."""
    return (encoding or "utf-8").lower().replace("_", "-").startswith("utf")


def stdout_is_ascii() -> bool:
    """Whether standard output cannot hold Unicode (PYTHONIOENCODING=ascii, a Latin-1
    terminal): JSON and YAML then write \\u escapes, the same data."""
    import sys

    return not holds_unicode(getattr(sys.stdout, "encoding", None))


def fallback(text: str, encoding: str) -> str:
    """`text` as a terminal in `encoding` can print it, each character it cannot print
    replaced by an ASCII stand-in: box lines, minus, marks, arrows and math symbols from a
    table, Greek letters by name (σ sigma), accents dropped (é e), else '?'."""
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    except LookupError:
        encoding = "ascii"
    out = []
    for char in text:
        try:
            char.encode(encoding)
            out.append(char)
        except UnicodeEncodeError:
            out.append(ascii_stand_in(char))
    return "".join(out)


def ascii_stand_in(char: str) -> str:
    """An ASCII stand-in for one character (see `fallback`)."""
    if char in _FALLBACK:
        return _FALLBACK[char]
    import unicodedata

    name = unicodedata.name(char, "")
    if name.startswith("GREEK ") and " LETTER " in name:
        letter = name.rsplit(" ", 1)[-1].lower()
        return letter.title() if " CAPITAL " in name else letter
    decomposed = unicodedata.normalize("NFKD", char)
    ascii_part = "".join(c for c in decomposed if c.isascii() and c.isprintable())
    return ascii_part or ("" if unicodedata.combining(char) else "?")


def wrapped(text: str, width: int, indent: str = "") -> list[str]:
    """`text` in lines of at most `width` columns (the first indented by `indent`, the rest
    two further), words kept whole where they fit."""
    import textwrap

    if not text:
        return [""]
    return textwrap.wrap(
        text,
        width=max(width, 20),
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
        drop_whitespace=True,
    ) or [""]
