"""The self-checking HTML page (`gen --format html-check`): the printed sheet with an input in
each blank, checked in the browser as it is typed; one file, offline, no answer in it as text.

The page is html_document's page (printing.py, laid out by page.py) with an input drawn in
each blank, a bar at the foot of the window (what the blank being filled says, its hint and
reveal buttons, the tally), and inlined: selfcheck.css and selfcheck.js (files of this
package) and a <script type="application/json"> block of what the script checks against.
A Content-Security-Policy lets the page load nothing and run only its own script.

What a blank accepts is what `check` accepts (grade.accepted_range): a step that rounds to d
decimals [min(key, exact) − u/2, max(key, exact) + u/2] with u = 10^−d, an exact step its
value (its key and exact value, and between them, where they differ), a blank given of the
inverse pattern its whole number, a word step its word however written (answers.word_key).
The page holds none of them, only, per cell:

- `ok`: salted hashes (SHA-256 of salt|ok|v, DIGEST hex digits) of every point v of a grid
  of u/10 in that range (an exact value: the value alone), each written exactly as a
  reduced fraction ("3", "-2/3", "137/200"); a word: its word_key. The salt is SHA-256 of
  the variant id and the cell name: the same variant gives the same page, byte for byte,
  and no two cells share a hash;
- `edges`: where the range ends between two grid points, the accepted part of that stretch,
  sealed with a key that only the grid point below it gives; so a value typed between two
  points is decided exactly, the ends too (`accepts`);
- `slips`: the hash of each common slip's rounded value (diagnosis.step_slips on the sheet's
  own numbers: a forgotten bias, the transpose, a sign), with its message sealed by that
  value: it opens only for someone who typed it;
- `hints`: what `nnhand practice` says to `?` for the cell, then to a second `?`
  (PracticeSession.hint), and `key`: the cell's key as `nnhand key` prints it, both sealed.

Sealed is XOR with a SHA-256 keystream of the salt and a purpose, then base64 (`seal`).
The script reads typed text exactly as reading.read_number does (fractions of BigInts,
never floats), hashes it and looks it up; `accepts` and `slip_message` are the same checks
in Python. Hashes keep the answers out of the page source, not out of reach of a search:
every point of a grid can be tried. The page is a way to practise, not a test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Any

import numpy as np

from nnhand.core.reading import cell_name
from nnhand.core.sheet import Sheet
from nnhand.core.template import Step
from nnhand.errors import NnhandError
from nnhand.grading.answers import require_blanks, word_key
from nnhand.grading.diagnosis import step_slips
from nnhand.grading.grade import accepted_range
from nnhand.grading.practice import PracticeSession
from nnhand.output.page import SCALES, Cell
from nnhand.output.printing import Page, html_file, html_section
from nnhand.safety.safetext import html_text
from nnhand.values import exact_fraction, format_number, round_half_away

SCHEMA = "nnhand-selfcheck"
DIGEST = 12  # hex digits of a hash kept: 48 bits, no two values of a cell alike by chance
SALT = 16  # hex digits of a cell's salt
MAX_POINTS = 2000  # grid points of one cell's range at most: a coarser grid beyond (the ends stay exact)
MAX_TYPED = 10**12  # a value the reader refuses (reading.MAX_MAGNITUDE) is never typed: no slip of it is kept


# ----------------------------------------------------------------------------- hashes and seals


def canonical(value: Fraction) -> str:
    """A value as the page hashes it: the reduced fraction, "3", "-2/3", "137/200"."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def cell_salt(variant: str, cell: str) -> str:
    """A cell's salt: from the variant id and the cell's name (the script derives the same)."""
    return hashlib.sha256(f"nnhand-selfcheck|{variant}|{cell}".encode()).hexdigest()[:SALT]


def digest(salt: str, kind: str, text: str) -> str:
    """The salted hash of `text` as a `kind` (ok, edge, slip) of one cell."""
    return hashlib.sha256(f"{salt}|{kind}|{text}".encode()).hexdigest()[:DIGEST]


def _keystream(salt: str, purpose: str, length: int) -> bytes:
    blocks = (hashlib.sha256(f"{salt}|{purpose}|{n}".encode()).digest() for n in range(-(-length // 32)))
    return b"".join(blocks)[:length]


def seal(salt: str, purpose: str, text: str) -> str:
    """`text` XORed with a SHA-256 keystream of the salt and `purpose`, in base64."""
    data = text.encode()
    return base64.b64encode(bytes(a ^ b for a, b in zip(data, _keystream(salt, purpose, len(data))))).decode()


def unseal(salt: str, purpose: str, sealed: str) -> str:
    data = base64.b64decode(sealed)
    return bytes(a ^ b for a, b in zip(data, _keystream(salt, purpose, len(data)))).decode()


# ----------------------------------------------------------------------------- what a cell accepts


@dataclass(frozen=True)
class Accepted:
    """A number cell's accepted range, [low, high] (one value where they are equal), and the
    grid its points are hashed on: steps of 10**exponent (None: one value, no grid)."""

    low: Fraction
    high: Fraction
    exponent: int | None

    @property
    def step(self) -> Fraction:
        assert self.exponent is not None
        return Fraction(10) ** self.exponent

    def points(self) -> list[Fraction]:
        """The grid points in the range (the value itself where there is no grid)."""
        if self.exponent is None:
            return [self.low]
        g = self.step
        return [k * g for k in range(math.ceil(self.low / g), math.floor(self.high / g) + 1)]

    def edges(self) -> dict[Fraction, tuple[Fraction, Fraction]]:
        """Each stretch between two grid points where the range ends inside it: the grid point
        below it -> the part of the stretch accepted."""
        out: dict[Fraction, tuple[Fraction, Fraction]] = {}
        if self.exponent is None:
            return out
        g = self.step
        for end in (self.low, self.high):
            below = math.floor(end / g) * g
            if below != end:
                out[below] = (max(self.low, below), min(self.high, below + g))
        return out


def accepted_of(low: Fraction, high: Fraction, decimals: int | None) -> Accepted:
    """The grid of a range: a tenth of the step's unit (10**-(d+1)); for an exact step whose key,
    computed from rounded earlier steps, differs from its exact value, a tenth of the order of
    the range between them. Coarser where the range would hold more than MAX_POINTS."""
    if low == high:
        return Accepted(low, high, None)
    exponent = -(decimals + 1) if decimals is not None else _order(high - low) - 1
    while (high - low) / Fraction(10) ** exponent > MAX_POINTS:
        exponent += 1
    return Accepted(low, high, exponent)


def _order(x: Fraction) -> int:
    """The largest p with 10**p <= x (x > 0)."""
    p = 0
    while Fraction(10) ** p > x:
        p -= 1
    while Fraction(10) ** (p + 1) <= x:
        p += 1
    return p


def accepts(check: Mapping[str, Any], variant: str, cell: str, value: Fraction) -> bool:
    """Whether the page accepts `value` in a number cell (`check`: the cell's entry of the
    data block), as the script decides it: its hash listed; else, between two grid points,
    both listed; else the sealed part of the stretch it is in holds it."""
    salt = cell_salt(variant, cell)
    ok = set(check["ok"])
    if digest(salt, "ok", canonical(value)) in ok:
        return True
    if check["grid"] is None:
        return False
    g = Fraction(10) ** int(check["grid"])
    below = math.floor(value / g) * g
    if below == value:
        return False  # a grid point: its hash decided
    if digest(salt, "ok", canonical(below)) in ok and digest(salt, "ok", canonical(below + g)) in ok:
        return True
    sealed = check["edges"].get(digest(salt, "edge", canonical(below)))
    if sealed is None:
        return False
    low, high = (Fraction(part) for part in unseal(salt, f"edge|{canonical(below)}", sealed).split())
    return low <= value <= high


def slip_message(check: Mapping[str, Any], variant: str, cell: str, answer: Fraction | str) -> str | None:
    """The slip message the page shows for a wrong answer (a number, or a word's word_key),
    as the script finds it: the answer rounded as the step rounds, hashed and looked up."""
    salt = cell_salt(variant, cell)
    if isinstance(answer, str):
        text = answer
    else:
        decimals = check["decimals"]
        text = canonical(answer if decimals is None else round_half_away(answer, decimals))
    sealed = check["slips"].get(digest(salt, "slip", text))
    return None if sealed is None else unseal(salt, f"slip|{text}", sealed)


# ----------------------------------------------------------------------------- the data block


def check_data(sheet: Sheet) -> dict[str, Any]:
    """What the page's script checks against: per blank cell, hashes and sealed texts only."""
    require_blanks(sheet, "--blanks", NnhandError, purpose="check")
    problem = sheet.problem
    template = problem.template
    variant = sheet.variant
    slips = _slips(sheet)
    session = PracticeSession(sheet)
    cells: dict[str, Any] = {}
    for prompt in session.prompts:
        step, cell = prompt.step, prompt.cell
        salt = cell_salt(variant, cell)
        hints = [seal(salt, f"hint{n}", session.hint(prompt).message) for n in (1, 2)]
        entry: dict[str, Any] = {"step": step.name, "decimals": None, "words": bool(step.words), "grid": None}
        if step.name in problem.givens:  # the inverse pattern: a whole number, exactly
            value = exact_fraction(problem.givens[step.name][prompt.row, prompt.col])
            entry.update(_number_entry(salt, Accepted(value, value, None), []))
            key = f"{cell} = {format_number(value)}"
        elif step.words:
            word = template.word(step, problem.values[step.name][prompt.row, prompt.col])
            assert word is not None  # a word step's key is a word of the vocabulary
            entry.update(_word_entry(salt, word, slips.get(step.name, []), step, prompt.row, prompt.col, template))
            key = f"{cell} = {word}"
        else:
            entry["decimals"] = step.decimals
            value = problem.values[step.name][prompt.row, prompt.col]
            targets = [exact_fraction(value), exact_fraction(problem.exact[step.name][prompt.row, prompt.col])]
            low, high, accepted = accepted_range(targets, step.decimals)
            near = [(c[prompt.row, prompt.col], message) for c, message in slips.get(step.name, [])]
            entry.update(_number_entry(salt, accepted_of(low, high, step.decimals), near, step.decimals))
            key = f"{cell} = {format_number(value, step.decimals)}"
            if step.decimals is not None:
                key += f" (accepted: {accepted})"
        entry["hints"] = hints
        entry["key"] = seal(salt, "key", key)
        assert cell == cell_name(step.name, sheet.shape(step.name), prompt.row, prompt.col)
        cells[cell] = entry
    data: dict[str, Any] = {"schema": SCHEMA, "version": 1, "variant": variant, "cells": cells}
    if any(entry["words"] for entry in cells.values()):
        data["vocabulary"] = list(template.vocabulary)
    return data


def _number_entry(
    salt: str, accepted: Accepted, slips: list[tuple[Any, str]], decimals: int | None = None
) -> dict[str, Any]:
    ok = sorted({digest(salt, "ok", canonical(v)) for v in accepted.points()})
    edges = {}
    for below, (lo, hi) in accepted.edges().items():
        at = canonical(below)
        edges[digest(salt, "edge", at)] = seal(salt, f"edge|{at}", f"{canonical(lo)} {canonical(hi)}")
    found: dict[str, str] = {}
    for candidate, message in slips:
        try:
            value = exact_fraction(candidate)
        except (NnhandError, ValueError, TypeError, OverflowError):
            continue  # not a finite number (a slip through a division by zero)
        rounded = value if decimals is None else round_half_away(value, decimals)
        if accepted.low <= rounded <= accepted.high or rounded.denominator > MAX_TYPED or abs(rounded) > MAX_TYPED:
            continue  # the right value (a sign flipped on 0), or nothing the reader takes
        text = canonical(rounded)
        found.setdefault(digest(salt, "slip", text), seal(salt, f"slip|{text}", message))  # the first slip that fits
    return {"grid": accepted.exponent, "ok": ok, "edges": edges, "slips": dict(sorted(found.items()))}


def _word_entry(
    salt: str, word: str, slips: list[tuple[np.ndarray, str]], step: Step, row: int, col: int, template: Any
) -> dict[str, Any]:
    right = word_key(word)
    found: dict[str, str] = {}
    for candidate, message in slips:
        other = template.word(step, candidate[row, col])
        if other is None or word_key(other) == right:
            continue  # not a word (a slip of numbers), or the word itself
        found.setdefault(digest(salt, "slip", word_key(other)), seal(salt, f"slip|{word_key(other)}", message))
    return {"ok": [digest(salt, "ok", right)], "edges": {}, "slips": dict(sorted(found.items()))}


def _slips(sheet: Sheet) -> dict[str, list[tuple[np.ndarray, str]]]:
    """Each blank step's slips, computed as `check` computes them for a learner whose earlier
    answers are all right: the givens and the earlier steps' keys (grade.grade_sheet)."""
    problem = sheet.problem
    env = problem.env(steps=False)
    out = {}
    for step in problem.template.steps:
        if step.asked and bool(sheet.blanks[step.name].any()):
            out[step.name] = step_slips(problem.template, step, env, problem.values[step.name])
        env[step.name] = problem.values[step.name][None]
    return out


# ----------------------------------------------------------------------------- the page


def _resource(name: str) -> str:
    return resources.files("nnhand.output").joinpath(name).read_text(encoding="utf-8")


def json_script(data: Any) -> str:
    """Data as the text of a <script type="application/json">: JSON with <, > and & escaped,
    so that no text in it (a label holding </script>) can end the element or open a comment."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _blank(cell: Cell, width: float | None) -> str:
    """An input where the printed page has a box (width: in a line of code, the box's)."""
    name = html_text(cell.name or "")
    style = "" if width is None else f' style="width: {width:.1f}mm"'
    classes = "box check" if width is None else "slot box check"
    return (
        f'<span class="{classes}"{style}><input class="nn-answer" type="text" data-cell="{name}" '
        f'aria-label="{name}" autocomplete="off" autocapitalize="off" spellcheck="false">'
        '<span class="mark" aria-hidden="true"></span></span>'
    )


def _screen_widths() -> str:
    """The page as wide on screen as its tables: html_document's page is A4 portrait wide on
    screen, but one printed landscape or smaller (zoom) lays its tables out wider than that.
    Here, where the page is filled in on screen, it takes the width they need."""
    rules = ["section.page.wide { width: 297mm; }"]
    for scale in SCALES:
        if scale != 1:
            zoom = f'[style="zoom: {scale:g}"]'
            rules += [f"section.page{zoom} {{ width: {210 / scale:.1f}mm; }}",
                      f"section.page.wide{zoom} {{ width: {297 / scale:.1f}mm; }}"]  # fmt: skip
    return "@media screen {\n  " + "\n  ".join(rules) + "\n}\n"


_BAR = (
    '<div class="nn-bar" id="nn-bar" role="region" aria-label="Checking">'
    '<span class="nn-where"></span>'
    '<div class="nn-says" role="status" aria-live="polite"><p>Checking the answers needs JavaScript.</p></div>'
    '<button type="button" class="nn-hint" disabled>Hint</button>'
    '<button type="button" class="nn-reveal" disabled>Reveal</button>'
    '<span class="nn-tally"></span>'
    "</div>\n"
)


def selfcheck_page(sheet: Sheet) -> str:
    """`gen --format html-check`: the sheet as one standalone HTML file that checks its blanks."""
    data = check_data(sheet)
    script = _resource("selfcheck.js")
    if "</script" in script.lower() or "<!--" in script:
        raise RuntimeError("selfcheck.js holds text that would end its <script> element")
    source = f"\n{script}"
    allowed = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{allowed}'; base-uri 'none'; form-action 'none'"
    )
    head = f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
    tail = (
        _BAR
        + f'<script type="application/json" id="nnhand-check">{json_script(data)}</script>\n'
        + f"<script>{source}</script>\n"
    )
    title = f"{sheet.problem.template.title} ({sheet.variant}): check your answers"
    section = html_section(Page(sheet), _blank)
    style = _resource("selfcheck.css") + _screen_widths()
    return html_file([section], title, head=head, style=style, tail=tail)


__all__ = [
    "accepts",
    "canonical",
    "cell_salt",
    "check_data",
    "digest",
    "seal",
    "selfcheck_page",
    "slip_message",
    "unseal",
]
