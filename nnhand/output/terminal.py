"""Terminal rendering with rich: sheets, keys and grading reports.

Cells are built as `Text` (a string such as "[x]" would be read as markup). Blank cells
are drawn as "___" so they differ from given numbers without colour; rich drops colour
by itself for pipes and under NO_COLOR.

`console()` is the one way to the terminal (and to feedback files): its consoles read no
markup or emoji codes in strings, strip control characters and escape sequences from
every piece of text they write (the styles rich adds stay), and where the output's
encoding cannot hold a character they write an ASCII stand-in (safetext.fallback):
box lines as - | +, ✓ ✗ as * x.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text

from nnhand.safety.safetext import fallback, holds_unicode, one_line, plain
from nnhand.values import Shape, format_fraction, format_number, grid_shape

if TYPE_CHECKING:
    import numpy as np

    from nnhand.core.sheet import Sheet
    from nnhand.grading.grade import Report

BLANK = "___"
WIDTH = 80


class SafeConsole(Console):
    """A rich console that writes text as it is, whoever wrote it (see the module docstring)."""

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Any:
        if isinstance(renderable, Text):
            renderable = self._clean_text(renderable)
        for segment in super().render(renderable, options):
            if segment.control or not segment.text:
                yield segment
                continue
            text = self._clean(segment.text)
            yield Segment(text, segment.style) if text != segment.text else segment

    def _clean(self, text: str) -> str:
        text = plain(text)
        return text if holds_unicode(self.encoding) else fallback(text, self.encoding)

    def _clean_text(self, text: Text) -> Text:
        """A Text cleaned before rich lays it out, so that it wraps as what will be shown."""
        if self._clean(text.plain) == text.plain:
            return text
        cleaned = Text(justify=text.justify, overflow=text.overflow, no_wrap=text.no_wrap, end=text.end)
        for segment in text.render(self):
            cleaned.append(self._clean(segment.text), segment.style)
        return cleaned


def console(file: Any = None, width: int = WIDTH, color: bool | None = None) -> Console:
    """A console for output. The width is fixed (80), not the terminal's, so that a variant
    renders to the same text everywhere; colour follows the terminal and NO_COLOR unless
    `color` forces it off (False) or on (True)."""
    kwargs: dict[str, Any] = {
        "file": file,
        "highlight": False,
        "soft_wrap": False,
        "width": width,
        "markup": False,
        "emoji": False,
    }
    if color is False:
        kwargs["no_color"] = True
        kwargs["color_system"] = None
    elif color is True:
        kwargs["force_terminal"] = True
        kwargs["color_system"] = "standard"
    return SafeConsole(**kwargs)


class Grid:
    """One quantity as a small boxed table of short strings, drawn line by line.

    rich's Table costs about a millisecond each (it measures every cell twice) and a sheet
    has a dozen or more, so `gen` spent most of its time drawing; these are plain strings
    whose widths are known, drawn in the same box style."""

    def __init__(self, title: str, header: list[str] | None, rows: list[tuple[str | None, list[str]]]):
        # Widths are measured here, so the text is cleaned here: stripped later, a control
        # character would leave a column short.
        title = one_line(title)
        header = [one_line(h) for h in header] if header is not None else None
        rows = [(one_line(label) if label is not None else None, [one_line(c) for c in cells]) for label, cells in rows]
        self.source = (title, header, rows)
        self.title = title
        label_width = max((cell_len(label) for label, _ in rows if label is not None), default=0)
        ncols = max(len(cells) for _, cells in rows)
        widths = [
            max([cell_len(c[j]) for _, c in rows] + ([cell_len(header[j])] if header else [])) for j in range(ncols)
        ]
        if rows[0][0] is not None:
            widths = [label_width, *widths]
        self.width = max(sum(w + 3 for w in widths) + 1, cell_len(title))
        pad = self.width - (sum(w + 3 for w in widths) + 1)
        widths[-1] += pad  # a long title widens the last column
        labelled = rows[0][0] is not None

        def border(left: str, mid: str, right: str) -> list[tuple[str, str]]:
            return [(left + mid.join("─" * (w + 2) for w in widths) + right, "")]

        def line(cells: list[str], dim_first: bool) -> list[tuple[str, str]]:
            out: list[tuple[str, str]] = [("│", "")]
            for k, (text, w) in enumerate(zip(cells, widths)):
                out.append((" " + " " * (w - cell_len(text)) + text + " ", "dim" if dim_first and k == 0 else ""))
                out.append(("│", ""))
            return out

        self.lines: list[list[tuple[str, str]]] = [[(title + " " * (self.width - cell_len(title)), "")]]
        self.lines.append(border("┌", "┬", "┐"))
        if header is not None:
            self.lines.append(line(([""] if labelled else []) + header, False))
            self.lines.append(border("├", "┼", "┤"))
        for label, cells in rows:
            self.lines.append(line(([label or ""] if labelled else []) + cells, labelled))
        self.lines.append(border("└", "┴", "┘"))

    def fitted(self, console: Console) -> Grid:
        """This grid as the console's encoding can print it: redrawn from the ASCII stand-ins
        of its text (whose widths may differ), so that the columns stay aligned. The box
        lines need no redrawing: each has a one-character stand-in."""
        encoding = console.encoding
        if holds_unicode(encoding):
            return self
        title, header, rows = self.source

        def fit(text: str) -> str:
            return fallback(text, encoding)

        source = (
            fit(title),
            [fit(h) for h in header] if header is not None else None,
            [(fit(label) if label is not None else None, [fit(c) for c in cells]) for label, cells in rows],
        )
        return self if source == self.source else Grid(*source)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = self.fitted(console).width
        return Measurement(width, width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for parts in self.fitted(console).lines:
            for text, style in parts:
                yield Segment(text, console.get_style(style) if style else None)
            yield Segment.line()


class SideBySide:
    """Grids packed left to right, wrapping at the width."""

    def __init__(self, items: list[Grid], gap: int = 2):
        self.items = items
        self.gap = gap

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows: list[list[Grid]] = []
        used = 0
        for grid in (g.fitted(console) for g in self.items):
            if rows and used + self.gap + grid.width <= options.max_width:
                rows[-1].append(grid)
                used += self.gap + grid.width
            else:
                rows.append([grid])
                used = grid.width
        dim = console.get_style("dim")
        for row in rows:
            for i in range(max(len(g.lines) for g in row)):
                last = max(k for k, g in enumerate(row) if i < len(g.lines))
                segments: list[Segment] = []
                for k, grid in enumerate(row[: last + 1]):
                    if k:
                        segments.append(Segment(" " * self.gap))
                    if i < len(grid.lines):
                        segments += [Segment(text, dim if style else None) for text, style in grid.lines[i]]
                    else:
                        segments.append(Segment(" " * grid.width))
                tail = segments[-1]
                segments[-1] = Segment(tail.text.rstrip(), tail.style)  # no trailing blanks
                yield from segments
                yield Segment.line()


def labels(spec: tuple[str, ...] | str | None, count: int) -> list[str]:
    if isinstance(spec, tuple) and len(spec) == count:
        return list(spec)
    if isinstance(spec, str):
        return [f"{spec}{i + 1}" for i in range(count)]
    return [str(i + 1) for i in range(count)]


def quantity_table(
    name: str,
    shape: Shape,
    cell_text: Any,
    title: str | None = None,
    rows_spec: tuple[str, ...] | str | None = None,
    cols_spec: tuple[str, ...] | str | None = None,
) -> Grid:
    """One table for one quantity: row and column labels, right-justified cells."""
    rows, cols = grid_shape(shape)

    def text(i: int, j: int) -> str:
        value = cell_text(i, j)
        return value.plain if isinstance(value, Text) else str(value)

    if len(shape) == 0:
        return Grid(title or name, None, [(None, [text(0, 0)])])
    header = labels(cols_spec, cols) if len(shape) == 2 else None
    body: list[tuple[str | None, list[str]]] = [
        (label, [text(i, j) for j in range(cols)]) for i, label in enumerate(labels(rows_spec, rows))
    ]
    return Grid(title or name, header, body)


def _number_text(value: Any, decimals: int | None) -> Text:
    return Text(format_number(value, decimals))


def sheet_renderable(sheet: Sheet, *, key: bool = False, exact: bool = False) -> RenderableType:
    """A worksheet (blanks as ___), or with key=True every cell filled in."""
    problem = sheet.problem
    template = problem.template
    parts: list[RenderableType] = []
    heading = Text(f"{template.title}", style="bold")
    heading.append(f"   {problem.variant.instance if key else sheet.variant}", style="")
    if key:
        heading.append("   ANSWER KEY", style="bold")
    parts.append(heading)
    if template.summary:
        parts.append(Text(template.summary))
    shown = [f"{p.name} = {problem.params[p.name]}" + (f" ({p.doc})" if p.doc else "")
             for p in template.params.values() if p.show]  # fmt: skip
    if shown:
        parts.append(Text("; ".join(shown)))
    for note in template.notes:
        parts.append(Text(f"Note: {note}"))
    parts.append(Text(""))
    parts.append(Text("Given", style="bold"))
    legend = [f"{name}: {g.label}" for name, g in template.givens.items() if g.label]
    if legend:
        parts.append(Text("; ".join(legend)))
    given_tables = []
    for name, given in template.givens.items():
        arr = problem.givens[name]
        vocabulary = template.vocabulary if given.words else None
        given_tables.append(
            quantity_table(
                name,
                sheet.shape(name),
                lambda i, j, a=arr, v=vocabulary: Text(v[int(a[i, j]) - 1]) if v else _number_text(a[i, j], None),
                rows_spec=given.rows,
                cols_spec=given.cols,
            )
        )
    parts.append(SideBySide(given_tables))
    parts.append(Text(""))
    parts.append(Text("Compute" if not key else "Steps", style="bold"))
    for n, step in enumerate(sheet.asked(), start=1):
        line = Text(f"{n}. {step.label}")
        if step.decimals is not None:
            line.append(f"   (round to {_places(step.decimals)})")
        parts.append(line)
    parts.append(Text(""))
    step_tables = []
    for step in sheet.asked():
        value = problem.values[step.name]
        exact_value = problem.exact[step.name]
        mask = sheet.blanks[step.name]

        def cell(
            i: int,
            j: int,
            v: np.ndarray = value,
            e: np.ndarray = exact_value,
            m: np.ndarray = mask,
            d: int | None = step.decimals,
        ) -> Text:
            if m[i, j] and not key:
                return Text(BLANK)
            text = _number_text(v[i, j], d)
            if key and exact and d is not None:
                frac = format_fraction(e[i, j]) if e.dtype == object else None
                if frac and "/" in frac:
                    text.append(f" ({frac})")
            return text

        step_tables.append(
            quantity_table(step.name, sheet.shape(step.name), cell, rows_spec=step.rows, cols_spec=step.cols)
        )
    parts.append(SideBySide(step_tables))
    if not key:
        parts.append(Text(f"{sheet.blank_count()} blank cells ({sheet.policy}). Variant {sheet.variant}."))
    return Group(*parts)


def _places(decimals: int) -> str:
    if decimals == 0:
        return "whole numbers"
    return "1 decimal" if decimals == 1 else f"{decimals} decimals"


def worked_renderable(problem: Any, worked: dict[str, list[str]]) -> RenderableType:
    """The worked solution: every computed cell as the arithmetic a person writes."""
    parts: list[RenderableType] = [Text(""), Text("Worked solution", style="bold")]
    for step in problem.template.steps:
        if step.name in worked:
            parts.append(Text(""))
            parts.append(Text(step.label, style="bold"))
            parts.extend(Text(f"  {line}") for line in worked[step.name])
    return Group(*parts)


MARKS = {"right": "✓", "ecf": "(✓)", "wrong": "✗", "missing": "?", "unreadable": "!"}


def report_renderable(
    report: Report,
    *,
    reveal: bool = True,
    show_reading: bool = False,
    explanations: dict[str, dict[str, str]] | None = None,
) -> RenderableType:
    """Per-step ✓/✗ grids, what went wrong and why, and the score."""
    parts: list[RenderableType] = []
    title = Text(f"{report.title}", style="bold")
    title.append(f"   {report.variant}")
    parts.append(title)
    if report.source:
        who = f"   student: {report.student}" if report.student else ""
        parts.append(Text(f"answers: {report.source}{who}", no_wrap=True, overflow="ignore"))
    parts.extend(Text(f"note: {note}") for note in report.notes)
    parts.append(Text(""))
    tables = []
    for step in report.steps:
        if not step.cells:
            continue
        marks = {(c.row, c.col): c for c in step.cells}

        def cell(i: int, j: int, marks: dict[tuple[int, int], Any] = marks) -> Text:
            c = marks.get((i, j))
            return Text("·" if c is None else MARKS[c.status])

        tables.append(
            quantity_table(
                step.name,
                step.shape,
                cell,
                title=f"{step.name}  {step.right}/{len(step.cells)}",
                rows_spec=step.rows,
                cols_spec=step.cols,
            )
        )
    parts.append(SideBySide(tables))
    parts.append(Text("✓ right   (✓) right from your own earlier answers   ✗ wrong   ? blank   · given"))
    if any(c.status == "unreadable" for s in report.steps for c in s.cells):
        parts.append(Text("! unreadable: 0 for the cell, the reason below; the rest is graded"))
    for step in report.steps:
        lines = _step_feedback(step, reveal, show_reading, (explanations or {}).get(step.name, {}))
        if lines:
            parts.append(Text(""))
            header = Text(f"{step.label}", style="bold")
            header.append(f"   {step.right}/{len(step.cells)} cells, {step.score:g}/{step.points:g} points")
            parts.append(header)
            parts.extend(lines)
    parts.append(Text(""))
    if report.root_cause:
        parts.append(
            Text(
                f"First wrong step: {report.root_cause}. Later steps were checked against your own earlier "
                "answers: a step computed correctly from them earns its credit."
            )
        )
    parts.append(Text(f"Score: {report.score:g}/{report.max_score:g} ({report.scoring} scoring)", style="bold"))
    return Group(*parts)


def _step_feedback(step: Any, reveal: bool, show_reading: bool, explanations: dict[str, str]) -> list[Text]:
    lines: list[Text] = []
    for sentence in step.diagnosis:
        lines.append(Text(f"  → {sentence}"))
    if step.unreadable:
        given = next((c.given for c in step.cells if c.given), "")
        lines.append(Text(f"  ! {step.name}: cannot be read: {step.unreadable} (you wrote {given})"))
    for c in step.cells:
        if c.status == "unreadable" and not step.unreadable:
            lines.append(Text(f"  ! {c.cell}: cannot be read: {c.reason}"))
        elif c.status == "missing":
            lines.append(Text(f"  ? {c.cell}: no answer"))
        elif c.status == "ecf":
            lines.append(
                Text(f"  (✓) {c.cell}: {c.given} follows from your earlier answers (the key has {c.expected})")
                if reveal
                else Text(f"  (✓) {c.cell}: {c.given} follows from your earlier answers")
            )
        elif c.status == "wrong":
            text = f"  ✗ {c.cell}: you wrote {c.given}"
            if reveal:
                text += f", expected {c.expected} (accepted: {c.accepted})"
            lines.append(Text(text))
            if reveal and c.cell in explanations:
                lines.append(Text(f"      {explanations[c.cell]}"))
    if show_reading:
        for note in step.reading:
            lines.append(Text(f"  read: {note}"))
        read = [f"{c.cell} = {c.given}" for c in step.cells if c.given is not None and c.status != "unreadable"]
        if read:
            lines.append(Text("  read as: " + ", ".join(read)))
    return lines
