"""Printable worksheets and answer keys: Markdown, standalone HTML and PDF (through typst).

One model, three writers. `layout(page)` turns a `Page` (a sheet, the student it is for,
whether it is the key) into the page model of page.py (the same one the terminal and the
learning-platform writers lay out); each writer only lays that out and escapes it:

    markdown_pages(pages)        GitHub-flavoured Markdown, one pipe table per quantity
    html_document(pages, title)  one self-contained HTML file, A4 print CSS, no scripts
    pdf_bytes(pages, title)      typst markup (typst_source) compiled by the `typst` package

Every page carries the variant id and the student's name. Each student's sheet starts on
a new page; an answer key is a page of its own, every cell filled in, with the cells the
worksheet leaves blank highlighted and exact fractions beside rounded values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nnhand.errors import NnhandError
from nnhand.output.page import (
    BOX_H,
    BOX_PAD,
    CODE_BOX_H,
    CODE_PAD,
    COLUMN_GAP,
    GAP,
    ROW_GAP,
    Band,
    Cell,
    CodeLine,
    CodeSlot,
    Column,
    Layout,
    Quantity,
    Row,
    Sized,
    build_page,
)
from nnhand.safety.safetext import html_text, md_text, plain

if TYPE_CHECKING:
    from nnhand.core.sheet import Sheet

BLANK_MD = "☐"  # a box to write in, in Markdown
MD_BAR = "\\|"  # [W | b]: the bar before b's column, in Markdown (an escaped pipe)
MD_RULE = "—"  # [x; 1]: the line above the appended 1s, in Markdown
HTML_BAR = "border-left: 2pt solid #111"  # [W | b]: the bar before b's column
HTML_RULE = "border-top: 2pt solid #111"  # [x; 1]: the line above the appended 1s


@dataclass(frozen=True)
class Page:
    """One printed sheet: a student's worksheet, or (key=True) its answer key.

    `exact` shows exact fractions beside rounded key values ("0.69 (9/13)"); `worked`
    (from explain.explain_problem) adds the arithmetic of every cell below the key."""

    sheet: Sheet
    student: str | None = None
    key: bool = False
    exact: bool = True
    named: bool = True  # False: `student` is a sheet number (worksheet --count): print a name line
    worked: Mapping[str, list[str]] | None = None


def document_pages(
    entries: Iterable[tuple[Sheet, str | None]],
    *,
    keys: bool = True,
    worked: bool = False,
) -> list[Page]:
    """Every student's worksheet, then (keys=True) every answer key in the same order.

    Keys come after all worksheets so that an instructor can hand out the first part of
    the stack and keep the rest; `worked` adds the arithmetic of every cell to each key."""
    entries = list(entries)
    pages = [Page(sheet, student) for sheet, student in entries]
    if keys:
        explained: dict[str, dict[str, list[str]]] = {}
        for sheet, student in entries:
            lines = None
            if worked:
                if sheet.variant not in explained:
                    from nnhand.core.explain import explain_sheet

                    explained[sheet.variant] = explain_sheet(sheet)
                lines = explained[sheet.variant]
            pages.append(Page(sheet, student, key=True, worked=lines))
    return pages


# ---------------------------------------------------------------------------------------
# The model every writer lays out: page.py


def layout(page: Page) -> Layout:
    """What a printed page holds, as plain text: the page model (page.build_page)."""
    return build_page(
        page.sheet,
        key=page.key,
        exact=page.exact,
        worked=page.worked,
        student=page.student,
        arranged=True,
        named=page.named,
    )


def _minus(text: str) -> str:
    """A real minus sign: a hyphen is easy to miss on paper."""
    return text.replace("-", "−")


# ---------------------------------------------------------------------------------------
# Markdown

# One line, markup characters backslash-escaped: no text can break a table row or a
# paragraph, or start a heading or list (safetext.md_text).
md_escape = md_text


def markdown_pages(pages: Sequence[Page]) -> str:
    """Worksheets and keys as GitHub-flavoured Markdown, a horizontal rule between pages."""
    return "\n\n---\n\n".join(_markdown_page(layout(page)) for page in pages) + "\n"


def _markdown_page(lay: Layout) -> str:
    title = md_escape(lay.title) + (" — ANSWER KEY" if lay.key else "")
    who = md_escape(lay.who)
    parts = [f"# {title}", f"**Variant {md_escape(lay.variant)}** · {who}"]
    if lay.summary:
        parts.append(md_escape(lay.summary))
    if lay.params:
        parts.append(md_escape(lay.params))
    parts += [f"> Note: {md_escape(note)}" for note in lay.notes]
    parts.append("## Given")
    if lay.legend:
        parts.append(md_escape(lay.legend))
    parts += [_markdown_table(q) for q in lay.givens]
    parts.append(f"## {lay.compute_heading}")
    parts.append("\n".join(f"{line.number}. {md_escape(line.text.partition('. ')[2])}" for line in lay.steps))
    if lay.code:
        parts.append(_markdown_code(lay.code))
    parts += [_markdown_table(q) for q in lay.tables]
    if lay.worked:
        parts.append("## Worked solution")
        for label, lines in lay.worked:
            parts.append(f"**{md_escape(label)}**")
            parts.append("\n".join(f"- {md_escape(line)}" for line in lines))
    if lay.footer:
        parts.append(f"*{md_escape(lay.footer)}*")
    return "\n\n".join(parts)


def _markdown_code(code: Sequence[CodeLine]) -> str:
    """The code lines as a fenced block, a blank as ☐ and its name (☐in1), its fence longer
    than any run of backticks inside, so no line can close it; control characters cleaned."""

    def text(part: str | CodeSlot) -> str:
        if isinstance(part, str):
            return part
        return f"{BLANK_MD}{part.name}" if part.cell.blank else part.cell.text

    lines = [plain("".join(text(p) for p in line)) for line in code]
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([f"{fence}python", *lines, fence])


def _markdown_table(q: Quantity) -> str:
    def text(cell: Cell) -> str:
        if cell.blank:
            return BLANK_MD
        body = md_escape(cell.shown)
        return f"**{body}**" if cell.answer else body

    from nnhand.output.page import labels

    name = f"**{md_escape(q.name)}**"
    # A vector numbered 1..n is a bare column under its name, as a scalar is: an index column
    # beside it reads as data (x = [6, 3, 2] as a 3 x 2 table). Declared row names stay.
    # The same rule as terminal.plain_column (the appended 1 of [x; 1] has the label "").
    numbered = q.row_labels[:-1] if q.ones_row and q.row_labels else q.row_labels
    bare = q.row_labels is None or (
        len(q.shape) == 1
        and list(numbered or ()) == labels(None, len(numbered or ()))
        and (not q.ones_row or q.row_labels[-1] == "")
    )
    if bare:  # a scalar or a numbered vector: its name above its cells
        header = [name]
        body = [[text(c) for c in row] for row in q.cells]
    else:
        header = [name, *(md_escape(c) for c in (q.col_labels or [""]))]
        body = [[md_escape(label), *(text(c) for c in row)] for label, row in zip(q.row_labels or (), q.cells)]
    align = ["--:"] if bare else [":--"] + ["--:"] * (len(header) - 1)
    if q.split_col is not None and not bare:  # [W | b]: a column of bars before b
        at = q.split_col + 1
        header.insert(at, MD_BAR)
        align.insert(at, ":-:")
        for line in body:
            line.insert(at, MD_BAR)
    if q.ones_row and len(body) > 1:  # [x; 1]: a row of rules above the appended 1s
        body.insert(len(body) - 1, [MD_RULE] if bare else ["", *([MD_RULE] * (len(header) - 1))])
    lines = [header, align, *body]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


# ---------------------------------------------------------------------------------------
# HTML

_CSS = """
@page { size: A4; margin: 12mm 14mm 14mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #d9dcdf; color: #111;
  font: 10pt/1.4 "DejaVu Sans", "Segoe UI", "Helvetica Neue", Arial, sans-serif; }
section.page { background: #fff; width: 210mm; min-height: 297mm; margin: 8mm auto; padding: 12mm 14mm;
  box-shadow: 0 1px 6px rgba(0, 0, 0, .25); }
table.frame { width: 100%; border-collapse: collapse; }
table.frame > thead > tr > td, table.frame > tbody > tr > td { padding: 0; vertical-align: top; }
.running { display: flex; justify-content: space-between; align-items: baseline; gap: 6mm;
  border-bottom: 0.8pt solid #333; padding-bottom: 1.5mm; margin-bottom: 4mm; font-size: 9pt; color: #333; }
.running .variant { font-weight: bold; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.running .student { font-weight: bold; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.running .kind { letter-spacing: .04em; text-transform: uppercase; }
section.key .running { border-bottom: 2pt solid #9b1c1c; color: #9b1c1c; }
section.key .running .kind { font-weight: bold; background: #9b1c1c; color: #fff; padding: 0 2mm; }
h1 { font-size: 15pt; margin: 0 0 2mm; }
h1 .badge { font-size: 10pt; vertical-align: middle; margin-left: 3mm; padding: .5mm 2mm; border: 1.2pt solid #9b1c1c;
  color: #9b1c1c; border-radius: 1mm; }
h2 { font-size: 11.5pt; margin: 5mm 0 2mm; border-bottom: 0.5pt solid #bbb; }
h3 { font-size: 10pt; margin: 3mm 0 1mm; }
p { margin: 0 0 2mm; }
p.note { color: #333; font-size: 9.5pt; padding-left: 3mm; border-left: 2pt solid #ccc; }
p.legend { color: #444; font-size: 9pt; }
ol.steps { margin: 0 0 3mm; padding-left: 7mm; }
ol.steps li { margin: .4mm 0; break-inside: avoid; }
ol.steps.two { columns: 2; column-gap: 8mm; }
.solution.two { columns: 2; column-gap: 8mm; }
.solution h3:first-child { margin-top: 0; }
.solution h3 { break-after: avoid; }
ol.steps .round { color: #555; font-size: 9pt; margin-left: 2mm; }
.row { display: flex; gap: 8mm; align-items: flex-start; margin: 0 0 3mm; break-inside: avoid;
  page-break-inside: avoid; }
.column { display: flex; flex-direction: column; gap: 3mm; align-items: flex-start; flex: none; }
.tables { display: flex; gap: 4mm; align-items: flex-start; }
.chain { display: grid; grid-template-columns: max-content max-content; gap: 3mm 4mm; align-items: start; }
.chain .left { display: flex; gap: 4mm; justify-content: flex-end; }
.chain .alone { grid-column: 2; }
.chain .whole { grid-column: 1 / span 2; }
.chain .outputs { display: flex; gap: 4mm; }
.working { min-height: 35mm; margin-top: 4mm; border: 0.8pt dashed #bbb; border-radius: 1mm; padding: 1.5mm 2mm;
  color: #999; font-size: 8pt; break-inside: avoid; page-break-inside: avoid; }
figure.quantity { margin: 0; break-inside: avoid; page-break-inside: avoid; }
figure.quantity figcaption { font-weight: bold; height: 5.5mm; line-height: 4.5mm; overflow: hidden;
  white-space: nowrap; }
table.q { border-collapse: collapse; table-layout: fixed; font-variant-numeric: tabular-nums; }
table.q td, table.q th { border: 0.6pt solid #b5b5b5; padding: 0 1.8mm; text-align: right; overflow: hidden;
  white-space: nowrap; line-height: 1.1; }
table.q th { background: #f1f1f1; color: #555; font-weight: normal; font-size: 8pt; }
table.q td.blank { padding: 1.2mm; background: #fff; }
table.q td.blank .box { display: block; height: 12mm; border: 1.2pt solid #111; border-radius: .8mm; }
table.q td.answer { font-weight: bold; background: #fcefd2; }
ul.worked { margin: 0 0 2mm; padding-left: 5mm; list-style: none; font-size: 8.5pt; }
ul.worked li { break-inside: avoid; }
p.footer { margin-top: 4mm; color: #555; font-size: 9pt; }
@media print {
  body { background: none; }
  section.page { width: auto; min-height: 0; margin: 0; padding: 0; box-shadow: none;
    break-after: page; page-break-after: always; }
  section.page:last-child { break-after: auto; page-break-after: auto; }
  table.frame > thead { display: table-header-group; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  section.page.wide { page: wide; }
}
@page wide { size: A4 landscape; }
"""


# The code block of a template with `code:` lines (added to the style only where a page has one).
_CODE_CSS = """
pre.code { font: 9pt/1.5 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f6f6f6; margin: 0 0 3mm;
  padding: 2.5mm 3mm; border-radius: 1mm; white-space: pre; break-inside: avoid; page-break-inside: avoid; }
pre.code .slot { display: inline-block; height: 8mm; vertical-align: middle; border: 1.2pt solid #111;
  border-radius: .8mm; background: #fff; position: relative; margin: .5mm 0; }
pre.code .slot span { position: absolute; top: .2mm; left: .8mm; font-size: 5.5pt; color: #777; }
pre.code .slot-answer { font-weight: bold; background: #fcefd2; }
"""


# What a writer draws in a blank cell instead of the printed box: given the cell and, in a
# line of code, the box's width in mm (None in a table, whose cell sizes it), the HTML to
# put there, or None for the box. The self-checking page (selfcheck.py) draws an input.
BlankHtml = Callable[[Cell, float | None], str | None]


def _printed_box(cell: Cell, width: float | None) -> str | None:
    return None


def html_document(pages: Sequence[Page], title: str = "nnhand worksheets") -> str:
    """One self-contained HTML file (inline CSS, no scripts, nothing fetched): a section per
    page, each starting a new printed A4 page, its header (variant, student) repeated on
    every printed page through a table header."""
    return html_file([html_section(page) for page in pages], title)


def html_section(page: Page, blank: BlankHtml = _printed_box) -> str:
    """One page as the <section> html_document writes, `blank` drawing its blank cells."""
    return _html_page(layout(page), blank)


def html_file(sections: Sequence[str], title: str, *, head: str = "", style: str = "", tail: str = "") -> str:
    """The HTML file around the pages' sections: the print CSS (and `style` after it), `head`
    in the head before the title, `tail` (whole lines) after the sections."""
    body = "\n".join(sections)
    css = _CSS + (_CODE_CSS if '<pre class="code">' in body else "") + style
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'{head}<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n{tail}</body>\n</html>\n"
    )


def _two_columns(texts: list[str], narrow: int) -> bool:
    """Whether a long list of short lines reads better (and prints shorter) in two columns."""
    return len(texts) > 6 and max(len(t) for t in texts) <= narrow


_esc = html_text


def _html_page(lay: Layout, blank: BlankHtml = _printed_box) -> str:
    cls = "page key" if lay.key else "page sheet"
    arrangement = lay.arrangement
    assert arrangement is not None and arrangement.plan is not None  # layout() always arranges
    plan = arrangement.plan
    if plan.landscape:
        cls += " wide"
    student = lay.student or ""
    header = (
        '<div class="running">'
        f'<span class="variant">{_esc(lay.variant)}</span>'
        f'<span class="kind">{_esc(lay.kind)}</span>'
        f'<span class="student">{_esc(lay.who)}</span>'
        "</div>"
    )
    rows: list[str] = []
    badge = ' <span class="badge">ANSWER KEY</span>' if lay.key else ""
    rows.append(f"<h1>{_esc(lay.title)}{badge}</h1>")
    intro = [f"<p>{_esc(lay.summary)}</p>"] if lay.summary else []
    if lay.params:
        intro.append(f"<p>{_esc(lay.params)}</p>")
    intro += [f'<p class="note">Note: {_esc(note)}</p>' for note in lay.notes]
    if intro:
        rows.append("".join(intro))
    given = ["<h2>Given</h2>"]
    if lay.legend:
        given.append(f'<p class="legend">{_esc(lay.legend)}</p>')
    rows.append("".join(given))
    rows += [_html_row(Row((Column(row.width, (row,)),)), blank) for row in plan.given_rows]
    items = []
    for line in lay.steps:
        extra = f'<span class="round">({_esc(line.rounding)})</span>' if line.rounding else ""
        items.append(f'<li value="{line.number}">{_esc(line.label)}{extra}</li>')
    steps_class = "steps two" if lay.two_column_steps else "steps"
    rows.append(f'<h2>{lay.compute_heading}</h2><ol class="{steps_class}">{"".join(items)}</ol>')
    if lay.code:
        rows.append(_html_code(lay.code, blank))
    # the plan's rows in order; the browser breaks pages itself (its fonts are not typst's),
    # between rows, never inside one
    rows += [_html_row(row, blank) for page_rows in plan.pages for row in page_rows]
    if not lay.key:
        rows.append('<div class="working">Working</div>')
    if lay.worked:
        everything = [line for _, lines in lay.worked for line in lines]
        parts = []
        for label, lines in lay.worked:
            li = "".join(f"<li>{_esc(line)}</li>" for line in lines)
            parts.append(f'<h3>{_esc(label)}</h3><ul class="worked">{li}</ul>')
        solution = "solution two" if _two_columns(everything, 58) else "solution"
        rows.append(f'<h2>Worked solution</h2><div class="{solution}">{"".join(parts)}</div>')
    if lay.footer:
        rows.append(f'<p class="footer">{_esc(lay.footer)}</p>')
    body = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
    zoom = f' style="zoom: {plan.scale:g}"' if plan.scale != 1 else ""
    return (
        f'<section class="{cls}"{zoom} data-variant="{_esc(lay.variant)}" data-student="{_esc(student)}">\n'
        f'<table class="frame"><thead><tr><td>{header}</td></tr></thead>\n<tbody>{body}</tbody></table>\n'
        "</section>"
    )


def _html_code(code: Sequence[CodeLine], blank: BlankHtml = _printed_box) -> str:
    """The code lines as a <pre> block: a blank is a box to write in, its step's name small in
    its corner (the answer file's name); on a key each answer is marked."""

    def slot(part: CodeSlot) -> str:
        if part.cell.blank:
            drawn = blank(part.cell, part.width)
            if drawn is not None:
                return drawn
            return f'<span class="slot box" style="width: {_css_mm(part.width)}"><span>{_esc(part.name)}</span></span>'
        cls = "slot-answer" if part.cell.answer else "slot-shown"
        return f'<span class="{cls}">{_esc(_minus(part.cell.text))}</span>'

    lines = ["".join(_esc(p) if isinstance(p, str) else slot(p) for p in line) for line in code]
    return f'<pre class="code">{"<br>".join(lines)}</pre>'


def _html_row(row: Row, blank: BlankHtml = _printed_box) -> str:
    """One row of the plan: its columns side by side, each bands and rows of tables read
    down. The consecutive bands of a column are one CSS grid of two columns (weights, data),
    so that the browser itself makes every band's weights as wide as the widest and the data
    column stays aligned whatever its fonts measure."""
    columns = []
    for column in row.columns:
        parts: list[str] = []
        bands: list[str] = []

        def close(parts: list[str] = parts, bands: list[str] = bands) -> None:
            if bands:
                parts.append('<div class="chain">' + "".join(bands) + "</div>")
                bands.clear()

        for piece in column.pieces:
            if isinstance(piece, Band):
                outputs = '<div class="outputs">' + "".join(_html_quantity(q, blank) for q in piece.outputs) + "</div>"
                if piece.left_w:
                    left = "".join(_html_quantity(q, blank) for q in piece.left)
                    width = f"min-width: {_css_mm(piece.left_w)}"
                    bands.append(f'<div class="left" style="{width}">{left}</div>{outputs}')
                else:  # the chain's input, or an element-wise step: in the data column
                    place = "alone" if piece.right_w < piece.width else "whole"
                    bands.append(f'<div class="{place}">{outputs}</div>')
            else:
                close()
                parts.append('<div class="tables">' + "".join(_html_quantity(q, blank) for q in piece.items) + "</div>")
        close()
        columns.append('<div class="column">' + "".join(parts) + "</div>")
    return '<div class="row">' + "".join(columns) + "</div>"


def _css_mm(value: float) -> str:
    return f"{value:.1f}mm"


def _html_quantity(sized: Sized, blank: BlankHtml = _printed_box) -> str:
    q = sized.quantity

    def style(i: int | None, j: int) -> str:
        """[W | b] and [x; 1]: the bar before b's column, the line above the 1s (inline, so
        that a page without them is unchanged)."""
        rules = [HTML_BAR] if j == q.split_col else []
        if q.ones_row and i == len(q.cells) - 1 and i > 0:
            rules.append(HTML_RULE)
        return f' style="{"; ".join(rules)}"' if rules else ""

    def td(cell: Cell, i: int, j: int) -> str:
        if cell.blank:
            box = blank(cell, None) or '<span class="box" aria-label="blank"></span>'
            return f'<td class="blank"{style(i, j)}>{box}</td>'
        cls = ' class="answer"' if cell.answer else ""
        return f"<td{cls}{style(i, j)}>{_esc(_minus(cell.shown))}</td>"

    ncols = len(q.cells[0])
    labelled = q.row_labels is not None
    widths = ([sized.label_w] if labelled else []) + [sized.col_w] * ncols
    cols = "".join(f'<col style="width: {_css_mm(w)}">' for w in widths)
    lines = []
    if sized.head_h:
        heads = "".join(
            f'<th scope="col"{style(None, j)}>{_esc(c)}</th>' for j, c in enumerate(q.col_labels or [""] * ncols)
        )
        corner = "<th></th>" if labelled else ""
        lines.append(f'<tr style="height: {_css_mm(sized.head_h)}">{corner}{heads}</tr>')
    height = f' style="height: {_css_mm(sized.row_h)}"'
    for i, row in enumerate(q.cells):
        label = f'<th scope="row"{style(i, -1)}>{_esc(q.row_labels[i])}</th>' if q.row_labels is not None else ""
        lines.append(f"<tr{height}>{label}{''.join(td(c, i, j) for j, c in enumerate(row))}</tr>")
    return (
        f'<figure class="quantity" data-name="{_esc(q.name)}"><figcaption>{_esc(q.name)}</figcaption>'
        f'<table class="q" style="width: {_css_mm(sum(widths))}"><colgroup>{cols}</colgroup>'
        f"{''.join(lines)}</table></figure>"
    )


# ---------------------------------------------------------------------------------------
# typst and PDF

_TYPST_PRELUDE = r"""
#let nn-key-ink = rgb("#9b1c1c")
#let nn-blank(width, height) = table.cell(inset: 0.34em,
  box(width: width, height: height, stroke: 1pt + black, radius: 1pt))
#let nn-label(body) = table.cell(fill: luma(242), text(size: 0.8em, fill: luma(80), body))
#let nn-answer(body) = table.cell(fill: rgb("#fcefd2"), text(weight: "bold", body))
#let nn-q(name, columns, rows, ..cells) = align(left, stack(
  box(height: 1.56em, align(bottom + left, pad(bottom: 0.28em, text(weight: "bold", name)))),
  table(columns: columns, rows: rows, align: right + horizon, stroke: 0.5pt + luma(170),
    inset: (x: 0.51em, y: 0pt), ..cells.pos()),
))
#let nn-tables(gap, ..items) = stack(dir: ltr, spacing: gap, ..items)
#let nn-band(left-width, data-width, gap, weights, outputs) = {
  let data = stack(dir: ltr, spacing: gap, ..outputs)
  if left-width == 0mm { data } else {
    let weights = align(right, stack(dir: ltr, spacing: gap, ..weights))
    grid(columns: (left-width, data-width), column-gutter: gap, weights, data)
  }
}
#let nn-row(widths, gap, spacing, ..columns) = block(breakable: false, above: spacing, below: spacing,
  grid(columns: widths, column-gutter: gap, ..columns.pos().map(c => stack(spacing: spacing, ..c))))
#let nn-working() = block(width: 100%, height: 1fr, above: 4mm, stroke: (paint: luma(200), dash: "dashed"),
  radius: 2pt, place(top + left, dx: 2mm, dy: 1.5mm, text(size: 8pt, fill: luma(150), "Working")))
#let nn-header(variant, kind, who, key) = {
  set text(size: 8.5pt, fill: if key { nn-key-ink } else { luma(40) })
  grid(
    columns: (1fr, auto, 1fr),
    align: (left, center, right),
    text(weight: "bold", variant),
    if key { box(fill: nn-key-ink, inset: (x: 4pt, y: 2pt), text(fill: white, weight: "bold", kind)) } else { kind },
    text(weight: "bold", who),
  )
  v(-4pt)
  line(length: 100%, stroke: if key { 1.5pt + nn-key-ink } else { 0.6pt + luma(60) })
}
#let nn-footer(variant, who) = context {
  set text(size: 8pt, fill: luma(90))
  grid(columns: (1fr, auto), align: (left, right), [#variant · #who], [page #counter(page).display()])
}
#let nn-heading(body) = block(above: 1em, below: 0.5em, width: 100%, stroke: (bottom: 0.5pt + luma(170)),
  inset: (bottom: 0.2em), sticky: true, text(size: 1.1em, weight: "bold", body))
""".strip()


# Every character typst_string (or safetext.plain before it) would change or drop: control
# characters, bidirectional controls, line separators, surrogates, non-characters, \ and ".
_TYPST_SPECIAL = re.compile(r'[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff"\\]')


def typst_string(text: str) -> str:
    """A typst string literal: inside one, no markup character means anything (#, $, *, _,
    <, @, [, ] and the rest are plain text); only backslash and quotes need escaping. Every
    text reaches typst this way, cleaned of control characters first (safetext.plain)."""
    if isinstance(text, str) and not _TYPST_SPECIAL.search(text):
        return '"' + text + '"'  # nothing to clean or escape: most cells, labels and names
    out = []
    for ch in plain(text):
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def typst_source(pages: Sequence[Page], title: str = "nnhand worksheets") -> str:
    """The typst markup of a document: each page sets its own header (variant, student),
    and changing the page settings is what starts each student on a new page."""
    head = [
        f"#set document(title: {typst_string(title)})",
        '#set text(font: ("Libertinus Serif", "New Computer Modern", "DejaVu Sans"), size: 10pt, lang: "en")',
        "#set par(justify: false, leading: 0.55em)",
        _TYPST_PRELUDE,
    ]
    return "\n".join(head + [_typst_page(layout(page)) for page in pages]) + "\n"


def _typst_page(lay: Layout) -> str:
    s = typst_string
    who = s(lay.who)
    arrangement = lay.arrangement
    assert arrangement is not None and arrangement.plan is not None  # layout() always arranges
    plan = arrangement.plan
    scale = plan.scale
    out = [
        "",
        f'#set page(paper: "a4", flipped: {"true" if plan.landscape else "false"}, '
        "margin: (x: 15mm, top: 20mm, bottom: 16mm), "
        f"header: nn-header({s(lay.variant)}, {s(lay.kind)}, {who}, {'true' if lay.key else 'false'}), "
        f"footer: nn-footer({s(lay.variant)}, {who}))",
        # every size of the page in em or scaled here: the plan may print it a little smaller
        f"#set text(size: {10 * scale:.2f}pt)",
        "#counter(page).update(1)",
        f"#metadata((variant: {s(lay.variant)}, student: {s(lay.student or '')}, key: {str(lay.key).lower()})) "
        "<nnhand-page>",
    ]
    title = f'text(size: 1.5em, weight: "bold", {s(lay.title)})'
    if lay.key:
        title += (
            " + h(0.8em) + box(stroke: 1.2pt + nn-key-ink, inset: (x: 0.4em, y: 0.2em), radius: 2pt, "
            'text(fill: nn-key-ink, weight: "bold", "ANSWER KEY"))'
        )
    out.append(f"#block(below: 0.8em, {title})")
    if lay.summary:
        out.append(f"#par({s(lay.summary)})")
    if lay.params:
        out.append(f"#par({s(lay.params)})")
    for note in lay.notes:
        out.append(
            f"#block(inset: (left: 0.6em), stroke: (left: 1.5pt + luma(190)), text(size: 0.9em, {s('Note: ' + note)}))"
        )
    out.append('#nn-heading("Given")')
    if lay.legend:
        out.append(f"#block(text(size: 0.9em, fill: luma(60), {s(lay.legend)}))")
    out += [_typst_row(Row((Column(row.width, (row,)),)), scale) for row in plan.given_rows]
    out.append(f"#nn-heading({s(lay.compute_heading)})")
    steps = []
    for line in lay.steps:
        label, rounding = f"{line.number}. {line.label}", line.rounding
        extra = f" + h(0.6em) + text(size: 0.9em, fill: luma(80), {s(f'({rounding})')})" if rounding else ""
        steps.append(f"block(above: 0.3em, below: 0.3em, text({s(label)}){extra})")
    if lay.two_column_steps:  # two balanced columns, read down
        half = (len(steps) + 1) // 2
        left, right = "(" + ", ".join(steps[:half]) + ",).join()", "(" + ", ".join(steps[half:]) + ",).join()"
        out.append(f"#grid(columns: (1fr, 1fr), column-gutter: 8mm, {left}, {right})")
    else:
        out.append("#(" + ", ".join(steps) + ",).join()")
    if lay.code:
        out.append(_typst_code(lay.code, scale))
    if lay.footer:  # under the steps: at the end, a line alone would start a page of its own
        out.append(f"#block(above: 0.5em, text(size: 0.9em, fill: luma(80), {s(lay.footer)}))")
    for number, rows in enumerate(plan.pages):
        if number:
            out.append("#pagebreak(weak: true)")
        out += [_typst_row(row, scale) for row in rows]
    if lay.worked:
        out.append('#nn-heading("Worked solution")')
        blocks = []
        for label, lines in lay.worked:
            body = ", ".join(s(line) for line in lines)
            blocks.append(
                f'block(above: 0.7em, below: 0.3em, sticky: true, text(weight: "bold", {s(label)})), '
                f"block(inset: (left: 0.8em), text(size: 0.85em, ({body},).join(linebreak())))"
            )
        everything = [line for _, lines in lay.worked for line in lines] + [label for label, _ in lay.worked]
        body = "(" + ", ".join(blocks) + ",).join()"
        if _two_columns(everything, 58):  # fills the page, then the next column
            body = f"columns(2, gutter: 8mm, {body})"
        out.append(f"#{body}")
    if plan.working:  # the rest of the last page, for working (the plan keeps room for it)
        out.append("#nn-working()")
    return "\n".join(out)


def _typst_code(code: Sequence[CodeLine], scale: float) -> str:
    """The code lines as one unbreakable block of raw (monospace, spaces kept) text: a blank
    is a box to write in with its step's name small in its corner; a key marks each answer."""
    s = typst_string

    def part(p: str | CodeSlot) -> str:
        if isinstance(p, str):
            return f"raw({s(p)})"
        if p.cell.blank:
            name = f"place(top + left, dx: 0.5mm, dy: 0.3mm, text(size: 5.5pt, fill: luma(110), {s(p.name)}))"
            return (
                f"box(width: {_mm(p.width * scale)}, height: {_mm(CODE_BOX_H * scale)}, baseline: 35%, "
                f"stroke: 1.2pt + black, radius: 1pt, {name})"
            )
        body = f'text(weight: "bold", raw({s(_minus(p.cell.text))}))'
        return f'box(fill: rgb("#fcefd2"), outset: (y: 1.5pt), {body})' if p.cell.answer else f"raw({s(p.cell.text)})"

    lines = ["(" + ", ".join([part(p) for p in line] or ['raw(" ")']) + ",).join()" for line in code]
    body = "(" + ", ".join(lines) + ",).join(linebreak())"
    return (
        f"#block(breakable: false, width: 100%, fill: luma(246), radius: 1mm, inset: {_mm(CODE_PAD * scale)}, "
        f"above: 0.8em, below: 0.8em, {{ set text(size: {9 * scale:.2f}pt); set par(leading: 0.65em); {body} }})"
    )


def _mm(value: float) -> str:
    return f"{value:.1f}mm"


def _typst_row(row: Row, scale: float) -> str:
    """One row of the plan as one unbreakable block: its columns side by side, each a stack of
    bands and rows of tables (page.py sized them; here they are printed at the plan's scale)."""
    widths = "(" + "".join(_mm(c.width * scale) + ", " for c in row.columns) + ")"
    columns = []
    for column in row.columns:
        pieces = []
        for piece in column.pieces:
            if isinstance(piece, Band):
                left = "(" + "".join(_typst_quantity(q, scale) + ", " for q in piece.left) + ")"
                outputs = "(" + "".join(_typst_quantity(q, scale) + ", " for q in piece.outputs) + ")"
                pieces.append(
                    f"nn-band({_mm(piece.left_w * scale)}, {_mm(piece.right_w * scale)}, {_mm(GAP * scale)}, "
                    f"{left}, {outputs})"
                )
            else:
                tables = ", ".join(_typst_quantity(q, scale) for q in piece.items)
                pieces.append(f"nn-tables({_mm(GAP * scale)}, {tables})")
        columns.append("(" + "".join(p + ", " for p in pieces) + ")")
    return f"#nn-row({widths}, {_mm(COLUMN_GAP * scale)}, {_mm(ROW_GAP * scale)}, {', '.join(columns)})"


def _typst_quantity(sized: Sized, scale: float) -> str:
    s = typst_string
    q = sized.quantity
    blank = f"nn-blank({_mm((sized.col_w - 2 * BOX_PAD) * scale)}, {_mm(BOX_H * scale)})"

    def cell(c: Cell) -> str:
        if c.blank:
            return blank
        text = s(_minus(c.shown))
        return f"nn-answer({text})" if c.answer else text

    ncols = len(q.cells[0])
    labelled = q.row_labels is not None
    cells: list[str] = []
    if sized.head_h:
        if labelled:
            cells.append('nn-label("")')
        cells += [f"nn-label({s(c)})" for c in (q.col_labels or [""] * ncols)]
    for i, row in enumerate(q.cells):
        if q.row_labels is not None:
            cells.append(f"nn-label({s(q.row_labels[i])})")
        cells += [cell(c) for c in row]
    if q.split_col is not None:  # [W | b]: the bar before b's column
        cells.append(f"table.vline(x: {q.split_col + labelled}, stroke: 1.5pt + black)")
    if q.ones_row and len(q.cells) > 1:  # [x; 1]: the line above the appended 1s
        y = len(q.cells) - 1 + (1 if sized.head_h else 0)
        cells.append(f"table.hline(y: {y}, stroke: 1.5pt + black)")
    label_col = f"({_mm(sized.label_w * scale)},) + " if labelled else ""
    columns = label_col + f"({_mm(sized.col_w * scale)},) * {ncols}"
    head_row = f"({_mm(sized.head_h * scale)},) + " if sized.head_h else ""
    rows = head_row + f"({_mm(sized.row_h * scale)},) * {len(q.cells)}"
    return f"nn-q({s(q.name)}, {columns}, {rows}, {', '.join(cells)})"


def pdf_bytes(pages: Sequence[Page], title: str = "nnhand worksheets") -> bytes:
    """The document as PDF, compiled by the `typst` package (the extra nnhand[pdf])."""
    return compile_pdf(typst_source(pages, title))


def compile_pdf(source: str) -> bytes:
    """typst markup (typst_source) compiled to PDF, without the date typst would stamp on it,
    so that the same pages give the same bytes. typst lets go of the GIL while it compiles:
    threads typeset documents side by side (classroom/parallel.py)."""
    try:
        import typst
    except ImportError:
        raise NnhandError(
            "PDF output needs the typst package", fix="Install it with: pip install 'nnhand[pdf]'"
        ) from None
    try:
        return bytes(typst.compile(("#set document(date: none)\n" + source).encode("utf-8")))
    except Exception as error:  # typst reports its own errors; any of them is a bug here
        raise RuntimeError(f"typst could not compile the generated document: {error}") from error


def join_pdfs(documents: Iterable[bytes], title: str) -> bytes:
    """One PDF of the documents' pages in order, nothing typeset again: a class's sheets
    assembled from its students' ones (PdfBook)."""
    book = PdfBook(title)
    for document in documents:
        book.add(document)
    return book.finish()


class PdfBook:
    """A PDF assembled from whole PDFs as they come (pypdf, the extra nnhand[pdf]), so that a
    class document grows while the next students' PDFs are still being typeset. The same
    documents give the same bytes: pypdf stamps no date and no random /ID.

    The bytes are those of one pypdf PdfWriter given every page with `add_page` and written
    at the end, but the book never holds that writer's objects: each document's pages are
    cloned into a writer of their own, numbered from where the book has got to, and written
    out at once; the book keeps only those bytes. So a class of 300 holds a few MB of PDF
    rather than every student's parsed PDF (pypdf's writer keeps each reader alive), and
    Python's garbage collector has no growing heap of PDF objects to walk."""

    def __init__(self, title: str):
        try:
            from pypdf import PdfWriter
        except ImportError:
            raise NnhandError(
                "PDF output needs the pypdf package", fix="Install it with: pip install 'nnhand[pdf]'"
            ) from None
        self.title = title
        # The book's own first objects (the document information, the page tree, the
        # catalogue): the same in every PdfWriter, so they are the numbers a student's pages
        # point to (/Parent 2 0 R), in the book as in the writer each page was cloned into.
        self.structure = PdfWriter()
        self.header = self.structure.pdf_header
        self.numbered = len(self.structure._objects)  # objects numbered so far
        self.pages: list[int] = []  # every page's object number, in order
        self.chunks: list[bytes] = []  # every document's objects, as written
        self.offsets: list[int] = []  # each numbered object's offset in the chunks (-1: none)
        self.length = 0

    def add(self, document: bytes) -> None:
        """Append every page of `document`."""
        import io

        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter()
        writer.pdf_header = self.header  # add_page raises it to the document's version
        writer._objects.extend([None] * (self.numbered - len(writer._objects)))
        # strict: these are typst's own well-formed PDFs, so pypdf need not check every
        # object's offset for damage (a third of the time of reading one)
        for page in PdfReader(io.BytesIO(document), strict=True).pages:
            # cheaper than append(): no outline or named destinations to carry
            cloned = writer.add_page(page).indirect_reference
            assert cloned is not None
            self.pages.append(cloned.idnum)
        writer._resolve_links()  # what write() does first: links between this document's pages
        self.header = writer.pdf_header
        out = io.BytesIO()
        for number in range(self.numbered + 1, len(writer._objects) + 1):  # as PdfWriter.write
            obj = writer._objects[number - 1]
            if obj is None:
                self.offsets.append(-1)
                continue
            self.offsets.append(self.length + out.tell())
            out.write(f"{number} 0 obj\n".encode())
            obj.write_to_stream(out)
            out.write(b"\nendobj\n")
        self.numbered = len(writer._objects)
        chunk = out.getvalue()
        self.chunks.append(chunk)
        self.length += len(chunk)

    def finish(self) -> bytes:
        """The assembled PDF: what PdfWriter.write gives for the same pages."""
        import io

        from pypdf.generic import ArrayObject, IndirectObject, NameObject, NumberObject

        book = self.structure
        book.add_metadata({"/Title": self.title})
        tree: Any = book.root_object["/Pages"].get_object()  # the page tree: a dictionary
        tree[NameObject("/Kids")] = ArrayObject(IndirectObject(n, 0, book) for n in self.pages)
        tree[NameObject("/Count")] = NumberObject(len(self.pages))
        out = io.BytesIO()
        out.write(self.header.encode() + b"\n")
        out.write(b"%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, obj in enumerate(book._objects, start=1):
            assert obj is not None  # the structure document holds no free objects
            offsets.append(out.tell())
            out.write(f"{number} 0 obj\n".encode())
            obj.write_to_stream(out)
            out.write(b"\nendobj\n")
        start = out.tell()
        for chunk in self.chunks:
            out.write(chunk)
        offsets += [start + at if at >= 0 else -1 for at in self.offsets]
        free = [n for n, at in enumerate(offsets, start=1) if at < 0] + [0]
        book._objects.extend([None] * (len(offsets) - len(book._objects)))  # for the xref's size
        book._write_trailer(out, book._write_xref_table(out, offsets, free))
        return out.getvalue()


def markdown_document(pages: Sequence[Page], title: str = "nnhand worksheets") -> str:
    """markdown_pages with the print formats' signature (Markdown has no document title)."""
    return markdown_pages(pages)


__all__ = [
    "BLANK_MD",
    "Page",
    "document_pages",
    "html_document",
    "layout",
    "markdown_document",
    "markdown_pages",
    "md_escape",
    "pdf_bytes",
    "typst_source",
    "typst_string",
]
