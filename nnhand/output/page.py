"""The one page model: what a sheet or an answer key shows, built once, laid out by every writer.

`build_page(sheet, key=..., exact=..., worked=..., student=...)` turns a sheet into plain
strings and flags: the title and variant, the intro (summary, shown parameters, notes), the
legend of the givens, each given and asked quantity as a grid of cells (numbers, or the
words of a word given; blanks marked; the exact fraction beside a rounded key cell), the
numbered step lines with their rounding phrase, the worked arithmetic and the footer.

The writers only lay this out and escape it for their own syntax: the terminal tables
(terminal.py), Markdown, HTML and typst/PDF (printing.py), Moodle cloze, GIFT and QTI
(lms.py). A rule about what a sheet shows is therefore written here and nowhere else.

A template with `code:` lines (mlp-pytorch: the PyTorch code that builds a drawn network) has
them in `Layout.code`: each line its text and a `CodeSlot` for every {step} it names, that
step's one cell (a blank to fill in, or on a key its answer, a number or a word such as ReLU).
Those steps are drawn in the code, not as tables (`Layout.tables`); `answers` holds them all.
The terminal and Markdown write a blank as __name__ (the answer file's name), HTML and typst
as a box with the name in its corner.

An augmented sheet (`sheet.augmented`) draws each weight-and-bias pair of core/augment.py
as one quantity `[W1 | b1]` (W's cells, then b's column; `split_col` says where the bar
goes) and the given each pair multiplies as `[x; 1]` (a last row of 1s; `ones_row`), and
says so in the legend. Writers draw the bar and the line above the 1s.

The printed arrangement (`build_page(..., arranged=True)`, the HTML and typst writers): the
"AI by Hand" drawing of the published sheets. For a layer step `Y = f(W @ X + b)` the input X
sits above, W (and b, or the one quantity [W | b]) to its left, and Y below X and right of W,
so that each cell of Y is level with the row of W and under the column of X that produce it.
A chain of layers flows down: a layer's output is the input of the next, whose weights sit to
the left of the next output below it; an element-wise step (ReLU of the layer's output, a
residual sum) sits below what it is computed from, column under column; several layers of
one input (Q, K and V of X) sit one below the other under it. Which given is the weight and
which the input is read from the compiled expression tree, never from names. Every other
step (softmax, losses, gradients, attention scores) is drawn in a flow of tables that wraps
across the page, as are the givens no chain draws.

Sizes are decided here, in millimetres, once for both writers (`Sized`): a blank is a box for
handwriting (BOX_H tall, wider for each decimal asked), printed cells are sized to their
text, and within a chain every table of a band shares one row height and every table of the
data column one column width, which is what keeps rows level and columns under each other.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from nnhand.core.reading import cell_name
from nnhand.values import Shape, exact_fraction, format_fraction, format_number, grid_shape

if TYPE_CHECKING:
    from nnhand.core.sheet import Sheet

NAME_LINE = "_" * 24  # where a student writes their name on an unnamed sheet

LabelSpec = tuple[str, ...] | str | None


@dataclass(frozen=True)
class Cell:
    """One cell as shown. `text` is empty for a blank on a worksheet."""

    text: str
    blank: bool = False  # worksheet: an empty box to write in
    answer: bool = False  # key: a cell the worksheet leaves blank
    exact: str | None = None  # key with exact=True: the exact fraction beside the rounded text ("9/13")
    # A worksheet's blank: the answer file's name of the cell (h[2], W1[1,3]), for a writer
    # whose blanks are filled in on the page (the self-checking HTML page, selfcheck.py).
    name: str | None = None

    @property
    def shown(self) -> str:
        """The text with its exact fraction beside it: "0.69 (9/13)"."""
        return f"{self.text} ({self.exact})" if self.exact else self.text


@dataclass(frozen=True)
class Quantity:
    """One given or asked step as a table: a scalar is one cell, a vector a labelled column."""

    name: str
    label: str  # the given's legend entry or the step's formula; "" when none
    shape: Shape
    given: bool  # a given (shown) rather than a step (asked)
    words: bool  # a word given: cells are words of the vocabulary
    col_labels: tuple[str, ...] | None  # None for scalars and vectors
    row_labels: tuple[str, ...] | None  # None for scalars
    named_rows: tuple[str, ...] | None  # the row names the template declares, if any
    named_cols: tuple[str, ...] | None
    cells: tuple[tuple[Cell, ...], ...]
    split_col: int | None = None  # [W | b]: the bar goes before this column (b's); None: no bar
    ones_row: bool = False  # [x; 1]: the last row is the appended row of 1s, a line above it
    decimals: int | None = None  # an asked step's rounding: its blanks are wider per decimal

    @property
    def texts(self) -> list[list[str]]:
        """The cells' shown text, row by row."""
        return [[c.shown for c in row] for row in self.cells]

    def compact(self) -> str:
        """The quantity on one line: 5, [3, 3, 2], [[1, 2], [3, 4]]."""
        texts = self.texts
        if len(self.shape) == 0:
            return texts[0][0]
        if len(self.shape) == 1:
            return "[" + ", ".join(row[0] for row in texts) + "]"
        return "[" + ", ".join("[" + ", ".join(row) + "]" for row in texts) + "]"


@dataclass(frozen=True)
class CodeSlot:
    """The one cell of an asked step written into a line of code: a blank (the step's name
    says which answer it is) or, on a key or where shown, its value."""

    name: str
    cell: Cell
    chars: int = 3  # what the blank must hold: a number's digits, or the longest word it may be

    @property
    def width(self) -> float:
        """The blank's width in a printed code line, in mm."""
        return max(CODE_BOX_W, CODE_CHAR_W * self.chars + 4.0)

    @property
    def plain(self) -> str:
        """The slot as plain text (terminal, Markdown): __in1__ for a blank, else its text."""
        return f"__{self.name}__" if self.cell.blank else self.cell.text


CodeLine = tuple[str | CodeSlot, ...]


def code_plain(line: CodeLine) -> str:
    """A code line as plain text: blanks as __name__."""
    return "".join(part if isinstance(part, str) else part.plain for part in line)


@dataclass(frozen=True)
class StepLine:
    number: int
    name: str
    label: str  # "z1 = W1·x + b1"
    rounding: str  # "round to 2 decimals", or ""

    @property
    def text(self) -> str:
        """ "1. z1 = W1·x + b1   (round to 2 decimals)" """
        return f"{self.number}. {self.label}" + (f"   ({self.rounding})" if self.rounding else "")

    @property
    def label_rounded(self) -> str:
        """ "z1 = W1·x + b1 (round to 2 decimals)": the label with its rounding, one space apart."""
        return self.label + (f" ({self.rounding})" if self.rounding else "")


# Sizes on paper, in mm (see the module docstring). A blank is sized for handwriting: tall
# enough for a digit written at the size people write, wide enough for "−14" (whole numbers)
# or "−14.25" (two decimals), with the cell's padding around it.
BOX_H = 12.0
BOX_W = 16.0
BOX_W_PER_DECIMAL = 3.0
BOX_PAD = 1.2  # between a box and its cell's border
ROW_H = 6.0  # a row of printed numbers (10 pt)
HEAD_H = 5.0  # the row of column labels (8 pt)
CAPTION_H = 5.5  # a quantity's name above its table
CHAR_W = 1.95  # an average character of a printed cell at 10 pt
LABEL_CHAR_W = 1.55  # a character of a row or column label at 8 pt
CELL_PAD = 3.6  # left and right padding of a printed cell, together
GAP = 4.0  # between tables side by side
ROW_GAP = 3.0  # between the pieces of a column read down (bands, rows of tables), and between rows
COLUMN_GAP = 8.0  # between the columns of a row (a chain and the flow beside it)
# The text area of an A4 page at the printed margins (15 mm each side, 20 mm above for the
# running head, 16 mm below for the foot), portrait and landscape: width, height.
PORTRAIT = (180.0, 261.0)
LANDSCAPE = (267.0, 174.0)
PORTRAIT_WIDTH = PORTRAIT[0]
# A whole page is printed smaller, text and boxes alike, when that saves a page: 0.84 keeps a
# box 10 mm tall, the least a handwritten digit takes.
SCALES = (1.0, 0.92, 0.84)
WORKING_H = 30.0  # the working area a worksheet's last page keeps free, at least
TINY_LAST = 0.25  # a last page filled less than this (of its height) is a page for one small step


@dataclass(frozen=True)
class Sized:
    """A quantity as drawn: its label column, cell and header sizes in mm (0: not drawn)."""

    quantity: Quantity
    label_w: float  # the row-label column; 0 for a scalar
    col_w: float  # every data column
    head_h: float  # the column-label row; 0 when the table has none
    row_h: float  # every data row

    @cached_property
    def width(self) -> float:
        return self.label_w + self.col_w * len(self.quantity.cells[0])

    @cached_property
    def height(self) -> float:
        return CAPTION_H + self.head_h + self.row_h * len(self.quantity.cells)


@dataclass(frozen=True)
class Band:
    """One row of a chain, rows level: the quantities left of the data column (W and b; none
    for the chain's input or an element-wise step) and those in it (the layer's output, then
    any element-wise step of it drawn beside it, ReLU(z) right of z); `step` numbers the
    band's first step (None for the chain's input). `left_w` and `right_w` are the chain's:
    every band of a chain has them, which keeps the data column aligned down the chain, also
    across columns and pages."""

    left: tuple[Sized, ...]
    outputs: tuple[Sized, ...]
    step: int | None
    left_w: float = 0.0
    right_w: float = 0.0

    @cached_property
    def left_width(self) -> float:
        return _side_by_side(self.left)

    @cached_property
    def right_width(self) -> float:
        return _side_by_side(self.outputs)

    @cached_property
    def width(self) -> float:
        return self.left_w + (GAP if self.left_w else 0) + self.right_w

    @cached_property
    def height(self) -> float:
        return max(q.height for q in (*self.left, *self.outputs))


def _side_by_side(items: Sequence[Sized]) -> float:
    return sum(q.width for q in items) + GAP * max(len(items) - 1, 0)


@dataclass(frozen=True)
class Chain:
    """Layers in the "AI by Hand" arrangement: bands read down, the data column aligned."""

    bands: tuple[Band, ...]

    @cached_property
    def left_width(self) -> float:
        return max(band.left_width for band in self.bands)

    @cached_property
    def right_width(self) -> float:
        return max(band.right_width for band in self.bands)

    @cached_property
    def width(self) -> float:
        left = self.left_width
        return left + (GAP if left else 0) + self.right_width


@dataclass(frozen=True)
class Flow:
    """Tables side by side, wrapping across the page like words (in a plan: one row of them)."""

    items: tuple[Sized, ...]

    @cached_property
    def width(self) -> float:
        return _side_by_side(self.items)

    @cached_property
    def height(self) -> float:
        return max((q.height for q in self.items), default=0.0)


Block = Chain | Flow
Piece = Band | Flow  # what a column of a plan stacks: a band of a chain, or a row of tables


@dataclass(frozen=True)
class Column:
    """Pieces read down, ROW_GAP apart, in a column `width` wide."""

    width: float
    pieces: tuple[Piece, ...]

    @cached_property
    def height(self) -> float:
        return sum(p.height for p in self.pieces) + ROW_GAP * max(len(self.pieces) - 1, 0)


@dataclass(frozen=True)
class Row:
    """Columns side by side, COLUMN_GAP apart, tops level: printed as one unbreakable block."""

    columns: tuple[Column, ...]

    @cached_property
    def height(self) -> float:
        return max(c.height for c in self.columns)


@dataclass(frozen=True)
class Plan:
    """How the printed page is paginated (see `_plan_pages`): the paper's orientation, the scale
    every size is printed at, the rows of the givens under "Given", and each page's rows of
    steps (the first page's after its header). Sizes in the rows are at scale 1."""

    landscape: bool
    scale: float
    given_rows: tuple[Flow, ...]
    pages: tuple[tuple[Row, ...], ...]
    header_h: float  # the first page's text above the steps' rows, estimated, mm as printed
    working: bool  # the last page keeps WORKING_H free for working (a worksheet)

    @property
    def size(self) -> tuple[float, float]:
        """The text area, mm as printed."""
        return LANDSCAPE if self.landscape else PORTRAIT

    def used(self, page: int) -> float:
        """How much of a page's height (0-based) its content takes, mm as printed."""
        rows = self.pages[page]
        body = sum(r.height for r in rows) + ROW_GAP * max(len(rows) - 1, 0)
        return (self.header_h if page == 0 else 0.0) + body * self.scale


@dataclass(frozen=True)
class Arrangement:
    """Where the printed page puts each quantity (see the module docstring)."""

    loose: Flow  # the givens no chain draws, under "Given"
    blocks: tuple[Block, ...]  # below the step list, in step order
    width: float  # the widest block, in mm (a flow wraps: its widest table)
    plan: Plan | None = None  # the pages (None until build_page paginates)


@dataclass(frozen=True)
class Layout:
    """What one page holds, as plain text (see the module docstring)."""

    title: str
    variant: str  # the sheet's id; for a key, the instance's id
    student: str | None
    key: bool
    summary: str
    params: str  # "n = 3 (neurons); k = 2"; "" when no parameter is shown
    notes: tuple[str, ...]
    legend: str  # "E: word embeddings; W: encoder weights"; "" when no given has a label
    givens: tuple[Quantity, ...]
    steps: tuple[StepLine, ...]
    answers: tuple[Quantity, ...]
    worked: tuple[tuple[str, tuple[str, ...]], ...] = ()
    footer: str = ""  # worksheet: "12 blank cells (all). Variant …"; key: ""
    blank_count: int = 0
    arrangement: Arrangement | None = None  # build_page(arranged=True): the printed arrangement
    named: bool = True  # False: `student` is only a number (worksheet --count): a name line too
    # The template's `code:` lines: text, and a slot for each cell of a step they draw. Those
    # steps are drawn in the code, not as tables (`tables`), while `answers` holds every step.
    code: tuple[CodeLine, ...] = ()

    @property
    def code_names(self) -> frozenset[str]:
        return frozenset(p.name for line in self.code for p in line if isinstance(p, CodeSlot))

    @property
    def tables(self) -> tuple[Quantity, ...]:
        """The asked quantities drawn as tables: those the code lines do not draw."""
        names = self.code_names
        return tuple(q for q in self.answers if q.name not in names)

    @property
    def who(self) -> str:
        if not self.student:
            return f"Name: {NAME_LINE}"
        return f"Student: {self.student}" if self.named else f"Sheet {self.student} · Name: {NAME_LINE}"

    @property
    def kind(self) -> str:
        return "ANSWER KEY" if self.key else "Worksheet"

    @property
    def compute_heading(self) -> str:
        return "Steps" if self.key else "Compute"

    @property
    def two_column_steps(self) -> bool:
        """Whether the printed step list reads better (and prints shorter) in two columns:
        a long list of short lines."""
        texts = [line.text for line in self.steps]
        return len(texts) > 6 and max(len(t) for t in texts) <= 60

    def intro(self, summary: bool = True) -> list[str]:
        """Summary, shown parameters and notes: what a learner needs beyond the numbers."""
        lines = [self.summary] if self.summary and summary else []
        if self.params:
            lines.append(self.params)
        return lines + [f"Note: {note}" for note in self.notes]


def labels(spec: LabelSpec, count: int) -> list[str]:
    """Row or column labels: the declared names, a prefix numbered from 1, or 1, 2, …"""
    if isinstance(spec, tuple) and len(spec) == count:
        return [str(s) for s in spec]
    if isinstance(spec, str):
        return [f"{spec}{i + 1}" for i in range(count)]
    return [str(i + 1) for i in range(count)]


def places(decimals: int) -> str:
    if decimals == 0:
        return "whole numbers"
    return "1 decimal" if decimals == 1 else f"{decimals} decimals"


def rounding_phrase(decimals: int | None) -> str:
    """ "round to 2 decimals", "round to whole numbers", or "" for an exact step."""
    return "" if decimals is None else f"round to {places(decimals)}"


def exact_beside(shown: str, exact: Any) -> str | None:
    """The exact fraction to write beside a rounded cell, when it says something the
    rounded text does not: "9/13" beside "0.69"; None beside "0.5" for 1/2, or for a float."""
    if exact is None or isinstance(exact, float) or getattr(getattr(exact, "dtype", None), "kind", "") == "f":
        return None
    fraction = format_fraction(exact)
    if "/" not in fraction:
        return None
    try:
        if exact_fraction(shown) == exact_fraction(exact):
            return None
    except (ValueError, TypeError):
        pass
    return fraction


def build_page(
    sheet: Sheet,
    *,
    key: bool = False,
    exact: bool = False,
    worked: Mapping[str, Sequence[str]] | None = None,
    student: str | None = None,
    arranged: bool = False,
    named: bool = True,
) -> Layout:
    """The page of a sheet: a worksheet (blanks marked) or, key=True, its answer key
    (every cell filled in, the worksheet's blanks marked as answers; exact=True adds the
    exact fraction beside rounded cells, `worked` the arithmetic of every cell; arranged=True
    the printed arrangement of the module docstring)."""
    problem = sheet.problem
    template = problem.template
    params = "; ".join(
        f"{p.name} = {problem.params[p.name]}" + (f" ({p.doc})" if p.doc else "")
        for p in template.params.values()
        if p.show
    )
    vocabulary = tuple(template.vocabulary or ())
    givens: list[Quantity] = []
    for name, given in template.givens.items():
        arr = problem.givens[name]
        words = bool(given.words and vocabulary)

        def given_cell(i: int, j: int, a: Any = arr, w: bool = words, n: str = name) -> Cell:
            blank = sheet.given_blank(n, i, j)  # the inverse pattern: a given to solve for
            if blank and not key:
                return Cell("", blank=True, name=cell_name(n, sheet.shape(n), i, j))
            return Cell(str(vocabulary[int(a[i, j]) - 1]) if w else format_number(a[i, j]), answer=key and blank)

        givens.append(
            _quantity(name, given.label or "", sheet.shape(name), given_cell, given.rows, given.cols, True, words)
        )
    legend = "; ".join(f"{name}: {g.label}" for name, g in template.givens.items() if g.label)
    drawn_as = {q.name: q for q in givens}  # a given's name -> the quantity that draws it
    if sheet.augmented:
        givens, legend, drawn_as = _augmented(sheet, givens, legend)
    steps = []
    answers = []
    for n, step in enumerate(sheet.asked(), start=1):
        steps.append(StepLine(n, step.name, step.label, rounding_phrase(step.decimals)))
        values, exacts, mask = problem.values[step.name], problem.exact[step.name], sheet.blanks[step.name]

        def step_cell(
            i: int,
            j: int,
            v: Any = values,
            e: Any = exacts,
            m: Any = mask,
            d: int | None = step.decimals,
            s: Any = step,
        ) -> Cell:
            blank = bool(m[i, j])
            if blank and not key:
                return Cell("", blank=True, name=cell_name(s.name, sheet.shape(s.name), i, j))
            text = template.word(s, v[i, j]) or format_number(v[i, j], d)
            beside = exact_beside(text, e[i, j]) if key and exact and d is not None and e.dtype == object else None
            return Cell(text, answer=key and blank, exact=beside)

        answer = _quantity(step.name, step.label, sheet.shape(step.name), step_cell, step.rows, step.cols)
        answers.append(replace(answer, decimals=step.decimals))
    shown_worked: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if key and worked:
        from nnhand.core.explain import sections

        shown_worked = tuple((heading, tuple(lines)) for heading, lines in sections(template, worked))
    count = sheet.blank_count()
    page = Layout(
        title=template.title,
        variant=str(problem.variant.instance) if key else sheet.variant,
        student=student,
        named=named,
        key=key,
        summary=template.summary or "",
        params=params,
        notes=(*template.notes, *_inverse_notes(sheet, key)),
        legend=legend,
        givens=tuple(givens),
        steps=tuple(steps),
        answers=tuple(answers),
        worked=shown_worked,
        footer="" if key else f"{count} blank cells ({sheet.policy}). Variant {sheet.variant}.",
        blank_count=count,
        code=_code_lines(template, {q.name: q for q in answers}),
    )
    if not arranged:
        return page
    arrangement = _arrange(sheet, givens, page.tables, drawn_as)
    return replace(page, arrangement=replace(arrangement, plan=_paginate(page, arrangement)))


def _inverse_notes(sheet: Sheet, key: bool) -> tuple[str, ...]:
    """What an inverse sheet asks: the blank given, solved for from the shown steps."""
    blanks = [(n, int(i), int(j)) for n in sheet.blank_givens() for i, j in zip(*sheet.blanks[n].nonzero())]
    if not blanks:
        return ()
    what = " and ".join(cell_name(n, sheet.shape(n), i, j) for n, i, j in blanks)
    if key:
        return (f"The worksheet leaves the given {what} blank, to be solved for from the computed steps.",)
    return (
        f"Every step is computed for you and the given {what} is blank: find the whole number that gives these values.",
    )


def _code_lines(template: Any, answers: Mapping[str, Quantity]) -> tuple[CodeLine, ...]:
    """The template's code lines with each {step} a slot holding that step's one cell."""
    from nnhand.core.template import PLACEHOLDER

    longest = max((len(w) for w in template.vocabulary), default=3)
    out = []
    for line in template.code:
        parts: list[str | CodeSlot] = []
        for k, piece in enumerate(PLACEHOLDER.split(line)):  # text, name, text, name, ...
            if k % 2:
                chars = longest if template.step(piece).words else 3
                parts.append(CodeSlot(piece, answers[piece].cells[0][0], chars))
            elif piece:
                parts.append(piece)
        out.append(tuple(parts))
    return tuple(out)


def _quantity(
    name: str,
    label: str,
    shape: Shape,
    cell: Any,
    rows_spec: LabelSpec,
    cols_spec: LabelSpec,
    given: bool = False,
    words: bool = False,
) -> Quantity:
    rows, cols = grid_shape(shape)
    cells = tuple(tuple(cell(i, j) for j in range(cols)) for i in range(rows))
    row_labels = tuple(labels(rows_spec, rows)) if len(shape) else None
    col_labels = tuple(labels(cols_spec, cols)) if len(shape) == 2 else None
    return Quantity(
        name=name,
        label=label,
        shape=tuple(shape),
        given=given,
        words=words,
        col_labels=col_labels,
        row_labels=row_labels,
        named_rows=tuple(str(s) for s in rows_spec) if isinstance(rows_spec, tuple) else None,
        named_cols=tuple(str(s) for s in cols_spec) if isinstance(cols_spec, tuple) else None,
        cells=cells,
    )


def _augmented(sheet: Sheet, givens: list[Quantity], legend: str) -> tuple[list[Quantity], str, dict[str, Quantity]]:
    """The givens with each (W, b) pair drawn as [W | b] and each pair's input as [x; 1],
    the legend with what the bar and the 1s mean (see the module docstring), and which
    quantity draws each given (W's and b's: [W | b])."""
    from nnhand.core.augment import input_title, pairs

    by_name = {q.name: q for q in givens}
    joined: dict[str, Quantity] = {}  # W's name -> [W | b]
    skipped: set[str] = set()  # the b of every pair drawn
    inputs: dict[str, Quantity] = {}
    for pair in pairs(sheet.problem.template):
        w, b = by_name.get(pair.weights), by_name.get(pair.bias)
        if w is None or b is None or pair.weights in joined or {pair.weights, pair.bias} & (skipped | set(inputs)):
            continue
        rows, cols = grid_shape(w.shape)
        if len(w.shape) != 2 or grid_shape(b.shape) != (rows, 1):
            continue
        joined[pair.weights] = replace(
            w,
            name=pair.title,
            label="; ".join(x for x in (w.label, b.label) if x),
            shape=(rows, cols + 1),
            col_labels=(*(w.col_labels or labels(None, cols)), pair.bias),
            named_cols=(*w.named_cols, pair.bias) if w.named_cols is not None else None,
            cells=tuple((*wr, br[0]) for wr, br in zip(w.cells, b.cells)),
            split_col=cols,
        )
        skipped.add(pair.bias)
        x = by_name.get(pair.input or "")
        if x is None or x.name in joined or x.name in skipped or x.words or len(x.shape) == 0:
            continue
        if x.name not in inputs and grid_shape(x.shape)[0] == cols:
            x_cols = grid_shape(x.shape)[1]
            inputs[x.name] = replace(
                x,
                name=input_title(x.name),
                shape=(x.shape[0] + 1, *x.shape[1:]),
                row_labels=(*(x.row_labels or ()), ""),
                named_rows=(*x.named_rows, "") if x.named_rows is not None else None,
                cells=(*x.cells, tuple(Cell("1") for _ in range(x_cols))),
                ones_row=True,
            )
    drawn_as = {q.name: joined.get(q.name) or inputs.get(q.name) or q for q in givens}
    for pair in pairs(sheet.problem.template):
        if pair.weights in joined and pair.bias in skipped:
            drawn_as[pair.bias] = joined[pair.weights]
    if not joined:
        return givens, legend, drawn_as
    drawn = [joined.get(q.name) or inputs.get(q.name) or q for q in givens if q.name not in skipped]
    said = [f"{', '.join(q.name for q in joined.values())}: the bias is the last column"]
    for below in ("below the input", "below each column"):
        names = [q.name for q in inputs.values() if (len(q.shape) == 1) == (below == "below the input")]
        if names:
            said.append(f"{', '.join(names)}: a 1 appended {below}")
    return drawn, "; ".join([legend, *said] if legend else said), drawn_as


# ---------------------------------------------------------------------------------------
# The printed arrangement (module docstring)

# Ops applied cell by cell: the layer inside relu(W @ X + b) is still a layer, drawn where
# its output goes (the activation is written in the same cells, as on the published sheets).
ELEMENTWISE = frozenset({"relu", "sigmoid", "tanh"})


def _arrange(
    sheet: Sheet, givens: Sequence[Quantity], answers: Sequence[Quantity], drawn_as: Mapping[str, Quantity]
) -> Arrangement:
    """Chains of layers and flows of the other steps, in step order (module docstring)."""
    problem = sheet.problem
    shown = {q.name: q for q in answers}
    placed: set[int] = set()  # id() of every quantity a block draws
    blocks: list[Chain | list[Quantity]] = []  # a list: a flow still growing
    chain: list[tuple[tuple[Quantity, ...], list[Quantity], int | None]] = []
    last_input: str | None = None  # the input of the chain's last layer band (Q, K, V of one X)
    chain_names: set[str] = set()

    def close() -> None:
        nonlocal last_input
        if chain:
            blocks.append(_sized_chain(chain))
            chain.clear()
            chain_names.clear()
        last_input = None

    def flow(q: Quantity) -> None:
        close()
        if not blocks or not isinstance(blocks[-1], list):
            blocks.append([])
        last = blocks[-1]
        assert isinstance(last, list)
        last.append(q)
        placed.add(id(q))

    for number, step in enumerate(sheet.asked(), start=1):
        if step.name not in shown:
            continue  # drawn in the code lines (Layout.code), not as a table
        out = shown[step.name]
        layer = _layer(step.expr.tree)
        if layer is not None:
            weights, source, bias = layer
            w, b = drawn_as.get(weights), drawn_as.get(bias) if bias else None
            x = drawn_as.get(source) or shown.get(source)
            # A given already drawn (gan's Wd1, the X of a second head) is drawn again beside
            # the new layer; an asked quantity is written once.
            fits = (
                w is not None
                and x is not None
                and (w.given or id(w) not in placed)
                and (b is None or b is w or b.given or id(b) not in placed)
                and (bias is None or b is not None)
                and not w.words
                and len(w.shape) == 2
                and grid_shape(w.shape)[0] == grid_shape(out.shape)[0]
                and grid_shape(x.shape)[1] == grid_shape(out.shape)[1]
            )
            if fits and w is not None and x is not None:
                continues = bool(chain) and (chain[-1][1][-1] is x or (last_input == source and chain[-1][0] != ()))
                if not continues:
                    growing = blocks[-1] if not chain and blocks and isinstance(blocks[-1], list) else None
                    if growing and growing[-1] is x:  # the flow's last table heads the chain instead
                        growing.pop()
                        if not growing:
                            blocks.pop()
                    elif (id(x) in placed and not x.given) or x.words:
                        flow(out)
                        continue
                    close()
                    chain.append(((), [x], None))
                    placed.add(id(x))
                weights_drawn: tuple[Quantity, ...] = (w,) if b is None or b is w else (w, b)
                chain.append((weights_drawn, [out], number))
                placed.update(id(q) for q in (*weights_drawn, out))
                chain_names.update((weights, source, step.name, *((bias,) if bias else ())))
                last_input = source
                continue
        names = step.expr.tree.names - set(problem.params)
        if chain and chain[-1][1][-1].shape == out.shape and chain[-1][1][-1].name in names and names <= chain_names:
            left, outputs, at = chain[-1]
            if at is not None and _sized_chain([*chain[:-1], (left, [*outputs, out], at)]).width <= PORTRAIT[0]:
                outputs.append(out)  # beside what it is computed from, rows level
            else:
                chain.append(((), [out], number))
            placed.add(id(out))
            chain_names.add(step.name)
            last_input = None
            continue
        flow(out)
    close()
    loose = Flow(tuple(_sized(q) for q in givens if id(q) not in placed))
    done = tuple(b if isinstance(b, Chain) else Flow(tuple(_sized(q) for q in b)) for b in blocks)
    widths = [b.width if isinstance(b, Chain) else max((s.width for s in b.items), default=0.0) for b in done]
    widths += [s.width for s in loose.items]
    return Arrangement(loose=loose, blocks=done, width=max(widths, default=0.0))


def _layer(node: Any) -> tuple[str, str, str | None] | None:
    """(W, X, b) when a step is `f(W @ X + b)`, `f(b + W @ X)` or `f(W @ X)` with names W,
    X and b and f element-wise or absent; None otherwise."""
    while node.kind == "call" and node.op in ELEMENTWISE and len(node.args) == 1:
        node = node.args[0]
    bias = None
    if node.kind == "binop" and node.op == "+" and len(node.args) == 2:
        for product, added in (node.args, node.args[::-1]):
            if product.kind == "binop" and product.op == "@" and added.kind == "name":
                node, bias = product, added.op
                break
        else:
            return None
    if node.kind != "binop" or node.op != "@" or len(node.args) != 2:
        return None
    weights, source = node.args
    if weights.kind != "name" or source.kind != "name":
        return None
    return weights.op, source.op, bias


def _has_blank(q: Quantity) -> bool:
    return any(c.blank for row in q.cells for c in row)


def _natural_col_w(q: Quantity) -> float:
    """A data column wide enough for its widest cell: a box, or the printed text."""
    if _has_blank(q):
        return BOX_W + BOX_W_PER_DECIMAL * (q.decimals or 0) + 2 * BOX_PAD
    widest = max((len(c.shown) for row in q.cells for c in row), default=1)
    heads = max((len(c) for c in q.col_labels or ()), default=0)
    return max(7.0, widest * CHAR_W + CELL_PAD, heads * LABEL_CHAR_W + CELL_PAD)


def _natural_row_h(q: Quantity) -> float:
    return BOX_H + 2 * BOX_PAD if _has_blank(q) else ROW_H


def _label_w(q: Quantity) -> float:
    if q.row_labels is None:
        return 0.0
    return max(5.0, max((len(r) for r in q.row_labels), default=1) * LABEL_CHAR_W + CELL_PAD)


def _sized(q: Quantity, col_w: float | None = None, row_h: float | None = None, header: bool = False) -> Sized:
    """The quantity's own sizes; a chain passes the shared column width and row height, and
    header=True gives a vector or scalar an (empty) header row so that its rows stay level."""
    head = HEAD_H if q.col_labels is not None or header else 0.0
    return Sized(q, _label_w(q), col_w or _natural_col_w(q), head, row_h or _natural_row_h(q))


def _sized_chain(bands: Sequence[tuple[tuple[Quantity, ...], Sequence[Quantity], int | None]]) -> Chain:
    """A chain with one column width down the data column (the first output of each band,
    which is under the input that produces it) and one row height per band."""
    col_w = max(_natural_col_w(outputs[0]) for _, outputs, _ in bands)
    label_w = max(_label_w(outputs[0]) for _, outputs, _ in bands)
    out = []
    for left, outputs, step in bands:
        row_h = max(_natural_row_h(q) for q in (*left, *outputs))
        first = replace(_sized(outputs[0], col_w, row_h, header=True), label_w=label_w)
        beside = tuple(_sized(q, row_h=row_h, header=True) for q in outputs[1:])
        out.append(Band(tuple(_sized(q, row_h=row_h, header=True) for q in left), (first, *beside), step))
    chain = Chain(tuple(out))
    return Chain(tuple(replace(b, left_w=chain.left_width, right_w=chain.right_width) for b in out))


# ---------------------------------------------------------------------------------------
# Pagination: the fewest pages, every piece whole (module docstring)

# Widths of the printed text at 10 pt, mm per character (Libertinus Serif, typst's own font):
# enough to tell how many lines a paragraph takes. A page's text is estimated, its tables
# are known to the tenth of a millimetre.
_NARROW = frozenset("fijlrtI.,:;'!|()[]{}·")
_WIDE = frozenset("mwMW@%&⊙")
LINE_CAP = 2.32  # the height of a 10 pt line (typst measures cap height to baseline)
LINE_PITCH = 4.26  # baseline to baseline, 10 pt with 0.55 em leading
PAR_GAP = 4.23  # between paragraphs and blocks: typst's 1.2 em at 10 pt


def _char_width(ch: str) -> float:
    if ch == " ":
        return 0.88
    if ch in _NARROW:
        return 0.97
    if ch in _WIDE:
        return 2.85
    return 2.3 if ch.isupper() else 1.72


# Every page of a template measures the same title, summary and step lines at the same few
# widths (a class of 300 measures them 300 times): both functions are pure, so remembered.
@lru_cache(maxsize=8192)
def _text_width(text: str, size: float = 10.0) -> float:
    return sum(_char_width(ch) for ch in text) * size / 10.0


@lru_cache(maxsize=8192)
def _lines(text: str, width: float, size: float = 10.0) -> int:
    """How many lines `text` wraps to in `width` mm at `size` pt (greedy, at spaces)."""
    count, line = 1, 0.0
    space = _text_width(" ", size)
    for word in text.split():
        w = _text_width(word, size)
        if line and line + space + w > width:
            count, line = count + 1, w
        else:
            line += (space if line else 0.0) + w
    return count


def _par(lines: int, size: float = 10.0) -> float:
    return (LINE_CAP + (lines - 1) * LINE_PITCH) * size / 10.0


def _header_height(page: Layout, width: float, given_rows: Sequence[Flow]) -> float:
    """The first page's text above the steps' rows, at scale 1 in a text area `width` wide:
    the typst writer's title, summary, parameters, notes, "Given" with its legend and rows of
    tables, "Compute" with the step list, and the footer line (printing._typst_page)."""
    # (space above, height, space below); the space between two is the larger of the two
    parts: list[tuple[float, float, float]] = [(0.0, 3.41 * _lines(page.title, width / 1.6), 2.82)]
    if page.summary:
        parts.append((PAR_GAP, _par(_lines(page.summary, width)), PAR_GAP))
    if page.params:
        parts.append((PAR_GAP, _par(_lines(page.params, width)), PAR_GAP))
    for note in page.notes:
        parts.append((PAR_GAP, _par(_lines("Note: " + note, width - 2.2, 9), 9), PAR_GAP))
    heading = (3.53, 3.2, 1.76)
    parts.append(heading)
    if page.legend:
        parts.append((PAR_GAP, _par(_lines(page.legend, width, 9), 9), PAR_GAP))
    parts += [(ROW_GAP, row.height, ROW_GAP) for row in given_rows]
    parts.append(heading)
    if page.two_column_steps:
        half = (len(page.steps) + 1) // 2
        column = (width - 8.0) / 2
        heights = [sum(_lines(s.text, column) for s in part) for part in (page.steps[:half], page.steps[half:])]
        parts.append((PAR_GAP, max(heights) * (LINE_CAP + 1.06) - 1.06, PAR_GAP))
    else:
        lines = sum(_lines(s.text, width) for s in page.steps)
        parts.append((1.06, lines * (LINE_CAP + 1.06) - 1.06, 1.06))
    if page.code:
        parts.append((PAR_GAP, code_height(page.code), PAR_GAP))
    if page.footer:
        parts.append((1.76, _par(1, 9), PAR_GAP))
    total = 0.0
    for n, (above, height, _) in enumerate(parts):
        total += height + (max(above, parts[n - 1][2]) if n else 0.0)
    return total + parts[-1][2]


# A code block (printing: a monospace block at 9 pt): a line of text, and a line that holds a
# blank, whose box is CODE_BOX_H tall (smaller than a table's: it sits in a line of code)
# and CODE_BOX_W wide, or wider for a word (CODE_CHAR_W a letter).
CODE_LINE_H = 5.3
CODE_BOX_H = 8.0
CODE_BOX_W = 14.0
CODE_CHAR_W = 2.2
CODE_PAD = 2.5  # the block's padding, above and below


def code_height(code: Sequence[CodeLine]) -> float:
    """The code block's height in mm as the printed writers draw it."""
    lines = sum(
        CODE_BOX_H + 1.0 if any(isinstance(p, CodeSlot) and p.cell.blank for p in line) else CODE_LINE_H
        for line in code
    )
    return lines + 2 * CODE_PAD


def _rows(items: Sequence[Sized], width: float) -> list[Flow]:
    """Tables side by side, GAP apart, wrapped into rows no wider than `width` mm."""
    rows: list[list[Sized]] = []
    for q in items:
        if rows and _side_by_side([*rows[-1], q]) <= width:
            rows[-1].append(q)
        else:
            rows.append([q])
    return [Flow(tuple(row)) for row in rows]


def _first_row(items: Sequence[Sized], width: float) -> Flow:
    """`_rows(items, width)[0]` without wrapping the rest: the longest run of tables from the
    first that fits (a row, once another table starts the next, never changes)."""
    row = [items[0]]
    for q in items[1:]:
        if _side_by_side([*row, q]) > width:
            break
        row.append(q)
    return Flow(tuple(row))


@dataclass
class _Stream:
    """What a column of a region prints down: the bands of a chain, or tables that wrap."""

    bands: list[Band]
    tables: list[Sized]

    def __bool__(self) -> bool:
        return bool(self.bands or self.tables)

    def take(self, width: float, height: float) -> list[Piece]:
        """The pieces that fit in a column `width` wide, `height` high (mm at scale 1)."""
        out: list[Piece] = []
        used = 0.0
        while self:
            piece: Piece
            if self.bands:
                piece = self.bands[0]
            else:
                piece = _first_row(self.tables, width)
            if used + (ROW_GAP if out else 0.0) + piece.height > height:
                break
            used += (ROW_GAP if out else 0.0) + piece.height
            out.append(piece)
            if isinstance(piece, Band):
                self.bands.pop(0)
            else:
                del self.tables[: len(piece.items)]
        return out


@dataclass(frozen=True)
class _Region:
    """Columns of a stretch of the page (at scale 1): `snake` columns continue one stream
    (a long chain read down, then in the next column); otherwise each column has its own
    (a chain, and the flow beside it)."""

    widths: tuple[float, ...]
    streams: tuple[_Stream, ...]
    snake: bool


def _regions(blocks: Sequence[Block], width: float, beside: bool, snake: bool) -> list[_Region]:
    """The blocks as regions of a text area `width` mm wide (scale 1): a chain with the flow
    or chain after it beside it (beside=True, where both fit), a chain in as many columns as
    fit (snake=True), a flow across the whole width."""
    regions = []
    at = 0
    while at < len(blocks):
        block = blocks[at]
        at += 1
        if isinstance(block, Flow):
            regions.append(_Region((width,), (_Stream([], list(block.items)),), True))
            continue
        rest = width - block.width - COLUMN_GAP
        after = blocks[at] if at < len(blocks) else None
        if beside and after is not None:
            if isinstance(after, Flow) and max(q.width for q in after.items) <= rest:
                right = _Stream([], list(after.items))
            elif isinstance(after, Chain) and after.width <= rest:
                right = _Stream(list(after.bands), [])  # two chains side by side (X's and Y's)
            else:
                right = None
            if right is not None:
                at += 1
                regions.append(_Region((block.width, rest), (_Stream(list(block.bands), []), right), False))
                continue
        columns = max(1, int((width + COLUMN_GAP) // (block.width + COLUMN_GAP))) if snake else 1
        regions.append(_Region((block.width,) * columns, (_Stream(list(block.bands), []),), True))
    return regions


def _place(
    regions: Sequence[_Region], size: tuple[float, float], scale: float, header_h: float
) -> tuple[list[list[Row]], float]:
    """The regions' rows page by page, each row as high as fits what is left of its page;
    and the height the last page's content takes (mm as printed)."""
    width, height = size[0] / scale, size[1] / scale  # the text area in mm at scale 1
    pages: list[list[Row]] = [[]]
    y = header_h / scale
    for region in regions:
        streams = list(region.streams)
        widths = list(region.widths)
        while any(streams):
            if not region.snake:  # a column whose stream has ended gives its width to the rest
                kept = [(w, s) for w, s in zip(widths, streams) if s]
                if len(kept) < len(streams):
                    widths, streams = [width] if len(kept) == 1 else [w for w, _ in kept], [s for _, s in kept]
            room = height - y - (ROW_GAP if pages[-1] or y else 0.0)
            columns = []
            for n, w in enumerate(widths):
                stream = streams[0] if region.snake else streams[n]
                pieces = stream.take(w, room)
                if pieces:
                    columns.append(Column(w, tuple(pieces)))
            if not columns:
                if not pages[-1] and y <= header_h / scale:  # too high for a page of its own
                    if y == 0:
                        stream = next(s for s in streams if s)
                        columns = [Column(widths[0], tuple(stream.take(widths[0], float("inf"))[:1]))]
                    else:
                        pages.append([])
                        y = 0.0
                        continue
                else:
                    pages.append([])
                    y = 0.0
                    continue
            row = Row(tuple(columns))
            y += (ROW_GAP if pages[-1] or y else 0.0) + row.height
            pages[-1].append(row)
            if any(streams):
                pages.append([])
                y = 0.0
    return pages, y * scale


def _plan_pages(page: Layout, arrangement: Arrangement) -> Plan:
    """The plan that prints the page on the fewest sheets of paper, every band and row of
    tables whole: portrait or landscape, at scale 1 or a little smaller, a chain alone or with
    the flow after it beside it, a long chain in one column or several. Of plans with as few
    pages it takes the one whose last page is not a page for one small step, that leaves a
    worksheet room for working, then the largest print, portrait before landscape, the
    simplest arrangement."""
    best: tuple[tuple[Any, ...], Plan] | None = None
    for landscape in (False, True):
        size = LANDSCAPE if landscape else PORTRAIT
        for scale in SCALES:
            width = size[0] / scale
            if max(arrangement.width, *(q.width for q in arrangement.loose.items), 0.0) > width:
                continue  # a table wider than the paper: never at this scale
            given_rows = _rows(arrangement.loose.items, width)
            header_h = _header_height(page, width, given_rows) * scale
            for beside in (False, True):
                for snake in (False, True):
                    regions = _regions(arrangement.blocks, width, beside, snake)
                    pages, last = _place(regions, size, scale, header_h)
                    working = not page.key and size[1] - last >= WORKING_H
                    plan = Plan(landscape, scale, tuple(given_rows), tuple(tuple(p) for p in pages), header_h, working)
                    tiny = len(pages) > 1 and plan.used(len(pages) - 1) < TINY_LAST * size[1]
                    rank = (len(pages), tiny, not working and not page.key, -scale, landscape, beside, snake)
                    if best is None or rank < best[0]:
                        best = (rank, plan)
    if best is None:  # wider than landscape paper at the smallest scale: landscape, and let it run over
        given_rows = _rows(arrangement.loose.items, LANDSCAPE[0])
        header_h = _header_height(page, LANDSCAPE[0], given_rows)
        pages, _ = _place(_regions(arrangement.blocks, LANDSCAPE[0], False, False), LANDSCAPE, 1.0, header_h)
        return Plan(True, 1.0, tuple(given_rows), tuple(tuple(p) for p in pages), header_h, False)
    return best[1]


# ---------------------------------------------------------------------------------------
# Plans remembered: a class of 300 lays out the same template 300 times
#
# `_plan_pages` reads, of a page, only the texts its header estimate measures (title,
# summary, parameters, notes, legend, step lines, whether there is a footer) and whether it
# is a key; of the arrangement, only sizes: each table's label column, column width, header
# and row height and its number of rows and columns, the chain bands' shared widths, and
# which block each table is in. Two pages equal in all of that get the same plan, piece for
# piece, whatever the numbers in their cells; so the plan is remembered under that key as
# a shape (which block's band or run of tables each piece is) and dressed again with the
# new page's own tables. Keys in the same template differ where a student's numbers are
# wider (a "-14" where another has "3"), so a class needs a few plans per template.

PLAN_MEMORY = 1024  # plans remembered (a few per template and blank pattern in a class)

Ref = tuple[int, int, int]  # a band: (block, band, -1); a run of tables: (block, first, stop)


@dataclass(frozen=True)
class _PlanShape:
    """A Plan with every piece named by where it is in the arrangement (see above)."""

    landscape: bool
    scale: float
    given_rows: tuple[tuple[int, int], ...]  # runs of the loose givens
    pages: tuple[tuple[tuple[tuple[float, tuple[Ref, ...]], ...], ...], ...]  # page, row, column
    header_h: float
    working: bool


_plans: dict[tuple[Any, ...], _PlanShape] = {}
_plans_lock = threading.Lock()  # typst_source runs on several threads (classroom/parallel.py)


def _size_key(q: Sized) -> tuple[float, float, float, float, int, int]:
    return (q.label_w, q.col_w, q.head_h, q.row_h, len(q.quantity.cells[0]), len(q.quantity.cells))


def _plan_key(page: Layout, arrangement: Arrangement) -> tuple[Any, ...]:
    """Everything `_plan_pages` reads of the page and the arrangement (see above)."""
    header = (page.key, page.title, page.summary, page.params, page.notes, page.legend,
              tuple(line.text for line in page.steps), bool(page.footer),
              tuple(map(code_plain, page.code)))  # fmt: skip
    blocks: list[tuple[Any, ...]] = []
    for block in arrangement.blocks:
        if isinstance(block, Chain):
            bands = tuple(
                (tuple(map(_size_key, b.left)), tuple(map(_size_key, b.outputs)), b.left_w, b.right_w)
                for b in block.bands
            )
            blocks.append(("chain", bands))
        else:
            blocks.append(("flow", tuple(map(_size_key, block.items))))
    loose = tuple(map(_size_key, arrangement.loose.items))
    return (header, arrangement.width, loose, tuple(blocks))


def _shape_of(plan: Plan, arrangement: Arrangement) -> _PlanShape:
    where: dict[int, tuple[int, int]] = {}  # id() of a band or table -> (block, index)
    for b, block in enumerate(arrangement.blocks):
        for i, item in enumerate(block.bands if isinstance(block, Chain) else block.items):
            where[id(item)] = (b, i)
    loose = {id(q): i for i, q in enumerate(arrangement.loose.items)}

    def ref(piece: Piece) -> Ref:
        if isinstance(piece, Band):
            return (*where[id(piece)], -1)
        b, first = where[id(piece.items[0])]
        return (b, first, first + len(piece.items))

    def run(row: Flow) -> tuple[int, int]:
        return (loose[id(row.items[0])], loose[id(row.items[0])] + len(row.items))

    pages = tuple(
        tuple(tuple((c.width, tuple(ref(p) for p in c.pieces)) for c in row.columns) for row in rows)
        for rows in plan.pages
    )
    return _PlanShape(plan.landscape, plan.scale, tuple(run(r) for r in plan.given_rows), pages,
                      plan.header_h, plan.working)  # fmt: skip


def _dressed(shape: _PlanShape, arrangement: Arrangement) -> Plan:
    blocks = arrangement.blocks

    def piece(ref: Ref) -> Piece:
        block = blocks[ref[0]]
        if isinstance(block, Chain):
            return block.bands[ref[1]]
        return Flow(block.items[ref[1] : ref[2]])

    loose = arrangement.loose.items
    pages = tuple(
        tuple(Row(tuple(Column(w, tuple(piece(r) for r in refs)) for w, refs in row)) for row in rows)
        for rows in shape.pages
    )
    given_rows = tuple(Flow(loose[first:stop]) for first, stop in shape.given_rows)
    return Plan(shape.landscape, shape.scale, given_rows, pages, shape.header_h, shape.working)


def _paginate(page: Layout, arrangement: Arrangement) -> Plan:
    """`_plan_pages`, remembered under everything it reads (see above)."""
    key = _plan_key(page, arrangement)
    with _plans_lock:
        shape = _plans.get(key)
    if shape is not None:
        return _dressed(shape, arrangement)
    plan = _plan_pages(page, arrangement)
    with _plans_lock:
        if len(_plans) >= PLAN_MEMORY:
            del _plans[next(iter(_plans))]  # the oldest
        _plans[key] = _shape_of(plan, arrangement)
    return plan
