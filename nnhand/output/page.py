"""The one page model: what a sheet or an answer key shows, built once, laid out by every writer.

`build_page(sheet, key=..., exact=..., worked=..., student=...)` turns a sheet into plain
strings and flags: the title and variant, the intro (summary, shown parameters, notes), the
legend of the givens, each given and asked quantity as a grid of cells (numbers, or the
words of a word given; blanks marked; the exact fraction beside a rounded key cell), the
numbered step lines with their rounding phrase, the worked arithmetic and the footer.

The writers only lay this out and escape it for their own syntax: the terminal tables
(terminal.py), Markdown, HTML and typst/PDF (printing.py), Moodle cloze, GIFT and QTI
(lms.py). A rule about what a sheet shows is therefore written here and nowhere else.

An augmented sheet (`sheet.augmented`) draws each weight-and-bias pair of core/augment.py
as one quantity `[W1 | b1]` (W's cells, then b's column; `split_col` says where the bar
goes) and the given each pair multiplies as `[x; 1]` (a last row of 1s; `ones_row`), and
says so in the legend. Writers draw the bar and the line above the 1s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

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

    @property
    def who(self) -> str:
        return f"Student: {self.student}" if self.student else f"Name: {NAME_LINE}"

    @property
    def kind(self) -> str:
        return "ANSWER KEY" if self.key else "Worksheet"

    @property
    def compute_heading(self) -> str:
        return "Steps" if self.key else "Compute"

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
) -> Layout:
    """The page of a sheet: a worksheet (blanks marked) or, key=True, its answer key
    (every cell filled in, the worksheet's blanks marked as answers; exact=True adds the
    exact fraction beside rounded cells, `worked` the arithmetic of every cell)."""
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

        def given_cell(i: int, j: int, a: Any = arr, w: bool = words) -> Cell:
            return Cell(str(vocabulary[int(a[i, j]) - 1]) if w else format_number(a[i, j]))

        givens.append(
            _quantity(name, given.label or "", sheet.shape(name), given_cell, given.rows, given.cols, True, words)
        )
    legend = "; ".join(f"{name}: {g.label}" for name, g in template.givens.items() if g.label)
    if sheet.augmented:
        givens, legend = _augmented(sheet, givens, legend)
    steps = []
    answers = []
    for n, step in enumerate(sheet.asked(), start=1):
        steps.append(StepLine(n, step.name, step.label, rounding_phrase(step.decimals)))
        values, exacts, mask = problem.values[step.name], problem.exact[step.name], sheet.blanks[step.name]

        def step_cell(
            i: int, j: int, v: Any = values, e: Any = exacts, m: Any = mask, d: int | None = step.decimals
        ) -> Cell:
            blank = bool(m[i, j])
            if blank and not key:
                return Cell("", blank=True)
            text = format_number(v[i, j], d)
            beside = exact_beside(text, e[i, j]) if key and exact and d is not None and e.dtype == object else None
            return Cell(text, answer=key and blank, exact=beside)

        answers.append(_quantity(step.name, step.label, sheet.shape(step.name), step_cell, step.rows, step.cols))
    shown_worked: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if key and worked:
        shown_worked = tuple((s.label, tuple(worked[s.name])) for s in template.steps if s.name in worked)
    count = sheet.blank_count()
    return Layout(
        title=template.title,
        variant=str(problem.variant.instance) if key else sheet.variant,
        student=student,
        key=key,
        summary=template.summary or "",
        params=params,
        notes=tuple(template.notes),
        legend=legend,
        givens=tuple(givens),
        steps=tuple(steps),
        answers=tuple(answers),
        worked=shown_worked,
        footer="" if key else f"{count} blank cells ({sheet.policy}). Variant {sheet.variant}.",
        blank_count=count,
    )


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


def _augmented(sheet: Sheet, givens: list[Quantity], legend: str) -> tuple[list[Quantity], str]:
    """The givens with each (W, b) pair drawn as [W | b] and each pair's input as [x; 1],
    and the legend with what the bar and the 1s mean (see the module docstring)."""
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
    if not joined:
        return givens, legend
    drawn = [joined.get(q.name) or inputs.get(q.name) or q for q in givens if q.name not in skipped]
    said = [f"{', '.join(q.name for q in joined.values())}: the bias is the last column"]
    for below in ("below the input", "below each column"):
        names = [q.name for q in inputs.values() if (len(q.shape) == 1) == (below == "below the input")]
        if names:
            said.append(f"{', '.join(names)}: a 1 appended {below}")
    return drawn, "; ".join([legend, *said] if legend else said)
