"""Terminal rendering with rich: sheets, keys and grading reports.

Cells are built as `Text` (a string such as "[x]" would be read as markup). Blank cells
are drawn as "___" so they differ from given numbers without colour; rich drops colour
by itself for pipes and under NO_COLOR.

`console()` is the one way to the terminal (and to feedback files): its consoles read no
markup or emoji codes in strings, strip control characters and escape sequences from
every piece of text they write (the styles rich adds stay), and where the output's
encoding cannot hold a character they write an ASCII stand-in (safetext.fallback):
box lines as - | +, ✓ ✗ as * x.

Width: what is written to stdout is laid out for `output_width()` (COLUMNS when set, in a
pipe too; else the terminal's width; else 80, so that a pipe or a file is the same
everywhere). Grids are packed side by side as many as fit, like words on a line, and never
broken inside a row; a grid wider than the whole width is split by columns into grids that
each repeat the row labels, carry their column headers and say which columns they hold
("W1  columns 1-6 of 12"). A vector numbered 1..n is drawn as a bare column, with no
index column that could be read as data (a matrix has a header row; a vector has neither).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text

from nnhand.output.page import CodeLine, Layout, Quantity, build_page, labels
from nnhand.safety.safetext import fallback, holds_unicode, one_line, plain
from nnhand.values import Shape, grid_shape

if TYPE_CHECKING:
    from nnhand.core.engine import Problem
    from nnhand.core.sheet import Sheet
    from nnhand.grading.grade import Report

BLANK = "___"
WIDTH = 80  # a pipe or a file without COLUMNS, feedback files, golden tests
MIN_WIDTH = 20  # narrower than this, nothing reads; lay out for 20 and let the terminal wrap


def output_width(stream: Any = None) -> int:
    """The width to lay out stdout (or `stream`) for: COLUMNS when it is set, as in
    `COLUMNS=120 nnhand gen mlp | less` (rich and Python's shutil read it first too); else the
    terminal's own width when the stream is a terminal; else 80, so that a pipe or a file
    gets the same text on every machine. Never below MIN_WIDTH."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), MIN_WIDTH)
    stream = sys.stdout if stream is None else stream
    try:
        if stream is not None and stream.isatty():
            return max(os.get_terminal_size(stream.fileno()).columns, MIN_WIDTH)
    except (AttributeError, OSError, ValueError):  # no file descriptor (a StringIO), or a closed one
        pass
    return WIDTH


def plain_column(shape: Shape, row_labels: Sequence[str | None] | None, ones_row: bool = False) -> bool:
    """Whether a vector's row labels say nothing but 1..n, so that it is drawn as a bare column:
    beside a column of numbers, an index column of numbers reads as data (x = [6, 3, 2] as a
    3 x 2 matrix). Declared names (f1, f2; the tokens) stay. The appended 1 of [x; 1] has
    the label "". printing._markdown_table draws Markdown by the same rule."""
    if len(shape) != 1 or row_labels is None:
        return False
    numbered = list(row_labels[:-1] if ones_row else row_labels)
    return numbered == labels(None, len(numbered)) and (not ones_row or row_labels[-1] == "")


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
    """A console for output, `width` columns wide (80 unless told: feedback files and tests
    are the same everywhere; render_text passes output_width() for stdout); colour follows
    the terminal and NO_COLOR unless `color` forces it off (False) or on (True)."""
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

    def __init__(
        self,
        title: str,
        header: list[str] | None,
        rows: list[tuple[str | None, list[str]]],
        split_col: int | None = None,
        ones_row: bool = False,
    ):
        # Widths are measured here, so the text is cleaned here: stripped later, a control
        # character would leave a column short.
        title = one_line(title)
        header = [one_line(h) for h in header] if header is not None else None
        rows = [(one_line(label) if label is not None else None, [one_line(c) for c in cells]) for label, cells in rows]
        self.source = (title, header, rows)
        self.split = (split_col, ones_row)  # [W | b]: a double bar before column split_col; [x; 1]: a line above the 1s
        self.title = title
        label_width = max((cell_len(label) for label, _ in rows if label is not None), default=0)
        ncols = max(len(cells) for _, cells in rows)
        widths = [
            max([cell_len(c[j]) for _, c in rows] + ([cell_len(header[j])] if header else [])) for j in range(ncols)
        ]
        labelled = rows[0][0] is not None
        self.column_widths = tuple(widths)  # each data column's text, for split_to
        self.label_width = label_width + 3 if labelled else 0  # the row labels' column, bars and padding
        if labelled:
            widths = [label_width, *widths]
        # The bar of [W | b] is doubled (││, in ASCII ||): drawn after the cell before b's column.
        bar = split_col - 1 + int(labelled) if split_col is not None and split_col > 0 else None
        extra = 1 if bar is not None else 0
        self.width = max(sum(w + 3 for w in widths) + 1 + extra, cell_len(title))
        pad = self.width - (sum(w + 3 for w in widths) + 1 + extra)
        widths[-1] += pad  # a long title widens the last column

        def border(left: str, mid: str, right: str) -> list[tuple[str, str]]:
            joints = [(mid * 2 if k == bar else mid) for k in range(len(widths) - 1)]
            parts = [left] + [p for k, w in enumerate(widths) for p in ("─" * (w + 2), *joints[k : k + 1])]
            return [("".join(parts) + right, "")]

        def line(cells: list[str], dim_first: bool) -> list[tuple[str, str]]:
            out: list[tuple[str, str]] = [("│", "")]
            for k, (text, w) in enumerate(zip(cells, widths)):
                out.append((" " + " " * (w - cell_len(text)) + text + " ", "dim" if dim_first and k == 0 else ""))
                out.append(("││" if k == bar else "│", ""))
            return out

        self.lines: list[list[tuple[str, str]]] = [[(title + " " * (self.width - cell_len(title)), "")]]
        self.lines.append(border("┌", "┬", "┐"))
        if header is not None:
            self.lines.append(line(([""] if labelled else []) + header, False))
            self.lines.append(border("├", "┼", "┤"))
        for i, (label, cells) in enumerate(rows):
            if ones_row and i == len(rows) - 1 and i > 0:  # [x; 1]: a line above the appended 1s
                self.lines.append(border("├", "┼", "┤"))
            self.lines.append(line(([label or ""] if labelled else []) + cells, labelled))
        self.lines.append(border("└", "┴", "┘"))

    def box_width(self, start: int, stop: int) -> int:
        """The width of this grid's box cut down to data columns start..stop-1, labels included."""
        split_col = self.split[0]
        bar = 1 if split_col is not None and start < split_col < stop else 0
        return self.label_width + sum(w + 3 for w in self.column_widths[start:stop]) + 1 + bar

    def split_to(self, max_width: int) -> list[Grid]:
        """This grid as grids of at most `max_width` columns: itself when it fits, else cut
        between its data columns into as few pieces as fit, as even as they can be, each
        repeating the row labels, with its own column headers and a title that says which
        columns it holds. A piece that is one column and still too wide is left as it is:
        a cell is never broken."""
        ncols = len(self.column_widths)
        if self.width <= max_width or ncols < 2:
            return [self]
        spans = _even_spans(ncols, self.box_width, max_width)
        if len(spans) < 2:  # only the title is too wide: the box fits
            return [self]
        title, header, rows = self.source
        split_col, ones_row = self.split
        # One way of naming the columns for every piece: the longest that fits over every
        # piece's box (a longer title would widen the box's last column), else, piece by
        # piece, the longest that fits the width.
        named = [_piece_titles(title, a, b, ncols) for a, b in spans]
        fits_all = [all(cell_len(t[k]) <= self.box_width(*ab) for t, ab in zip(named, spans)) for k in range(3)]
        form = fits_all.index(True) if True in fits_all else None
        pieces = []
        for (start, stop), titles in zip(spans, named):
            if form is not None:
                piece_title = titles[form]
            else:
                piece_title = next((t for t in titles if cell_len(t) <= max_width), title)
            bar = split_col - start if split_col is not None and start < split_col < stop else None
            pieces.append(
                Grid(
                    piece_title,
                    header[start:stop] if header is not None else None,
                    [(label, cells[start:stop]) for label, cells in rows],
                    bar,
                    ones_row,
                )
            )
        return pieces

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
        return self if source == self.source else Grid(*source, *self.split)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = self.fitted(console).width
        return Measurement(width, width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for parts in self.fitted(console).lines:
            for text, style in parts:
                yield Segment(text, console.get_style(style) if style else None)
            yield Segment.line()


def _piece_titles(title: str, start: int, stop: int, count: int) -> tuple[str, str, str]:
    """A piece's title, long to short: "W1  columns 4-6 of 12", "W1  cols 4-6 of 12", "W1 4-6/12"."""
    which = f"{start + 1}" if stop == start + 1 else f"{start + 1}-{stop}"
    long = f"{title}  column {which} of {count}" if stop == start + 1 else f"{title}  columns {which} of {count}"
    return long, f"{title}  cols {which} of {count}", f"{title} {which}/{count}"


def _even_spans(count: int, width_of: Any, max_width: int) -> list[tuple[int, int]]:
    """Columns 0..count-1 cut into the fewest runs (start, stop) whose width_of(start, stop)
    fits max_width (a run of one column always counts as fitting), as even in length as
    that allows: 12 columns of which 7 fit become 6 + 6, not 7 + 5."""
    greedy: list[tuple[int, int]] = []
    start = 0
    while start < count:
        stop = start + 1
        while stop < count and width_of(start, stop + 1) <= max_width:
            stop += 1
        greedy.append((start, stop))
        start = stop
    pieces = len(greedy)
    sizes = [count // pieces + (1 if k < count % pieces else 0) for k in range(pieces)]
    bounds = [sum(sizes[:k]) for k in range(pieces + 1)]
    even = list(pairwise(bounds))
    fits = all(stop - start == 1 or width_of(start, stop) <= max_width for start, stop in even)
    return even if fits else greedy


class SideBySide:
    """Grids packed left to right as many as fit the width, like words on a line; a grid
    wider than the whole width is split by columns first (Grid.split_to)."""

    def __init__(self, items: list[Grid], gap: int = 2):
        self.items = items
        self.gap = gap

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows: list[list[Grid]] = []
        used = 0
        pieces = (piece for g in self.items for piece in g.fitted(console).split_to(options.max_width))
        for grid in pieces:
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


class Hanging:
    """A line of text wrapped to the width with a hanging indent: the first line indented
    `first` columns, the lines it wraps onto `rest`, so that a wrapped line of worked
    arithmetic or feedback still reads as one item."""

    def __init__(self, text: str, first: int = 2, rest: int = 4):
        self.text = Text(text)
        self.first = first
        self.rest = rest

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width - self.rest, 8)
        lines = console.render_lines(self.text, options.update_width(width), pad=False)
        for k, line in enumerate(lines):
            if line:
                yield Segment(" " * (self.first if k == 0 else self.rest))
                *head, last = line
                yield from head
                yield Segment(last.text.rstrip(), last.style)  # the space the line was wrapped at
            yield Segment.line()


class Phrases:
    """Short phrases on a line, three spaces apart, wrapped between phrases and never inside
    one (unless a phrase alone is wider than the line): a legend that stays readable."""

    def __init__(self, phrases: list[str], gap: int = 3):
        self.phrases = phrases
        self.gap = gap

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines: list[list[str]] = []
        used = 0
        for phrase in self.phrases:
            if lines and used + self.gap + cell_len(phrase) <= options.max_width:
                lines[-1].append(phrase)
                used += self.gap + cell_len(phrase)
            else:
                lines.append([phrase])
                used = cell_len(phrase)
        for line in lines:
            yield Text((" " * self.gap).join(line))


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
    row_labels: list[str | None] = list(labels(rows_spec, rows))
    if plain_column(shape, row_labels):
        row_labels = [None] * rows
    body = [(label, [text(i, j) for j in range(cols)]) for i, label in enumerate(row_labels)]
    return Grid(title or name, header, body)


def page_grid(quantity: Quantity) -> Grid:
    """One quantity of the page model as a Grid: blanks as ___, exact fractions beside."""
    rows = [[BLANK if c.blank else c.shown for c in row] for row in quantity.cells]
    if quantity.row_labels is None:
        return Grid(quantity.name, None, [(None, rows[0])])
    header = list(quantity.col_labels) if quantity.col_labels is not None else None
    row_labels: Sequence[str | None] = quantity.row_labels
    if plain_column(quantity.shape, row_labels, quantity.ones_row):
        row_labels = [None] * len(rows)
    body = list(zip(row_labels, rows))
    return Grid(quantity.name, header, body, quantity.split_col, quantity.ones_row)


def code_renderable(code: Sequence[CodeLine]) -> RenderableType:
    """The code lines as written: a blank as __name__ (the answer file's name), on a key each
    answer in bold; a line wider than the terminal wraps at a space (a long word folds)."""
    lines = []
    for line in code:
        text = Text(overflow="fold")
        for part in line:
            if isinstance(part, str):
                text.append(part)
            else:
                text.append(part.plain, style="bold" if part.cell.answer or part.cell.blank else "")
        lines.append(text)
    return Group(*lines)


def sheet_renderable(sheet: Sheet, *, key: bool = False, exact: bool = False) -> RenderableType:
    """A worksheet (blanks as ___), or with key=True every cell filled in."""
    return page_renderable(build_page(sheet, key=key, exact=exact))


def page_renderable(page: Layout) -> RenderableType:
    """The page model as the terminal shows it."""
    parts: list[RenderableType] = []
    heading = Text(f"{page.title}", style="bold")
    heading.append(f"   {page.variant}", style="")
    if page.key:
        heading.append("   ANSWER KEY", style="bold")
    parts.append(heading)
    parts += [Text(line) for line in page.intro()]
    parts.append(Text(""))
    parts.append(Text("Given", style="bold"))
    if page.legend:
        parts.append(Text(page.legend))
    parts.append(SideBySide([page_grid(q) for q in page.givens]))
    parts.append(Text(""))
    parts.append(Text(page.compute_heading, style="bold"))
    parts += [Text(line.text) for line in page.steps]
    parts.append(Text(""))
    if page.code:
        parts.append(code_renderable(page.code))
        parts.append(Text(""))
    if page.tables:
        parts.append(SideBySide([page_grid(q) for q in page.tables]))
    if page.footer:
        parts.append(Text(page.footer))
    return Group(*parts)


def render_text(renderable: RenderableType, color: bool | None = None, width: int | None = None) -> str:
    """What console() would write for `renderable` to stdout, as a string: laid out for
    `width` (by default output_width()); colour where stdout is a terminal that takes it (as
    console() decides), plain otherwise or with color=False. Never cropped: a grid column
    wider than a very narrow terminal runs over (the terminal wraps it) rather than losing
    its end."""
    out = console(width=width or output_width(), color=color)
    with out.capture() as captured:
        out.print(renderable, crop=False)
    return captured.get()


def sheet_text(sheet: Sheet) -> str:
    """`gen --format terminal`: the worksheet as the terminal shows it."""
    return render_text(sheet_renderable(sheet))


def key_text(problem: Problem, *, exact: bool = False, explain: bool = False, blanks: str | None = None) -> str:
    """`key --format terminal`: the answer key table, then (explain) the worked solution;
    `blanks` marks the answers of that pattern's sheet (inverse: the given solved for)."""
    from nnhand.core.sheet import make_sheet

    sheet = make_sheet(problem, blanks or "none")
    parts = [sheet_renderable(sheet, key=True, exact=exact)]
    if explain:
        from nnhand.core.explain import explain_sheet

        worked = explain_sheet(sheet)
        if worked:
            parts.append(worked_renderable(problem, worked))
    return "".join(render_text(part) for part in parts)


def worked_renderable(problem: Any, worked: dict[str, list[str]]) -> RenderableType:
    """The worked solution: every computed cell as the arithmetic a person writes."""
    from nnhand.core.explain import sections

    parts: list[RenderableType] = [Text(""), Text("Worked solution", style="bold")]
    for heading, lines in sections(problem.template, worked):
        parts.append(Text(""))
        parts.append(Text(heading, style="bold"))
        parts.extend(Hanging(line) for line in lines)
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
    parts.append(Phrases(["✓ right", "(✓) right from your own earlier answers", "✗ wrong", "? blank", "· given"]))
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
    root_cause = report.root_cause_sentence()
    if root_cause:
        parts.append(Text(root_cause))
    parts.append(Text(f"Score: {report.score:g}/{report.max_score:g} ({report.scoring} scoring)", style="bold"))
    return Group(*parts)


def _step_feedback(step: Any, reveal: bool, show_reading: bool, explanations: dict[str, str]) -> list[Hanging]:
    lines: list[Hanging] = []
    for sentence in step.diagnosis:
        lines.append(Hanging(f"→ {sentence}"))
    if step.unreadable:
        given = next((c.given for c in step.cells if c.given), "")
        lines.append(Hanging(f"! {step.name}: cannot be read: {step.unreadable} (you wrote {given})"))
    for c in step.cells:
        if c.status == "unreadable" and not step.unreadable:
            lines.append(Hanging(f"! {c.cell}: cannot be read: {c.reason}"))
        elif c.status == "missing":
            lines.append(Hanging(f"? {c.cell}: no answer"))
        elif c.status == "ecf":
            lines.append(
                Hanging(f"(✓) {c.cell}: {c.given} follows from your earlier answers (the key has {c.expected})")
                if reveal
                else Hanging(f"(✓) {c.cell}: {c.given} follows from your earlier answers")
            )
        elif c.status == "wrong":
            text = f"✗ {c.cell}: you wrote {c.given}"
            if reveal:
                text += f", expected {c.expected} (accepted: {c.accepted})"
            lines.append(Hanging(text))
            if reveal and c.cell in explanations:
                lines.append(Hanging(explanations[c.cell], 6, 8))
    if show_reading:
        for note in step.reading:
            lines.append(Hanging(f"read: {note}"))
        read = [f"{c.cell} = {c.given}" for c in step.cells if c.given is not None and c.status != "unreadable"]
        if read:
            lines.append(Hanging("read as: " + ", ".join(read)))
    return lines
