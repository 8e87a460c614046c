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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nnhand.errors import NnhandError
from nnhand.output.page import NAME_LINE, Cell, Layout, Quantity, build_page
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
                    from nnhand.core.explain import explain_problem

                    explained[sheet.variant] = explain_problem(sheet.problem)
                lines = explained[sheet.variant]
            pages.append(Page(sheet, student, key=True, worked=lines))
    return pages


# ---------------------------------------------------------------------------------------
# The model every writer lays out: page.py


def layout(page: Page) -> Layout:
    """What a printed page holds, as plain text: the page model (page.build_page)."""
    return build_page(page.sheet, key=page.key, exact=page.exact, worked=page.worked, student=page.student)


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
    who = f"Student: {md_escape(lay.student)}" if lay.student else f"Name: {md_escape(NAME_LINE)}"
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
    parts += [_markdown_table(q) for q in lay.answers]
    if lay.worked:
        parts.append("## Worked solution")
        for label, lines in lay.worked:
            parts.append(f"**{md_escape(label)}**")
            parts.append("\n".join(f"- {md_escape(line)}" for line in lines))
    if lay.footer:
        parts.append(f"*{md_escape(lay.footer)}*")
    return "\n\n".join(parts)


def _markdown_table(q: Quantity) -> str:
    def text(cell: Cell) -> str:
        if cell.blank:
            return BLANK_MD
        body = md_escape(cell.shown)
        return f"**{body}**" if cell.answer else body

    name = f"**{md_escape(q.name)}**"
    if q.row_labels is None:  # a scalar: its name above its one cell
        header = [name]
        body = [[text(c) for c in row] for row in q.cells]
    else:
        header = [name, *(md_escape(c) for c in (q.col_labels or [""]))]
        body = [[md_escape(label), *(text(c) for c in row)] for label, row in zip(q.row_labels, q.cells)]
    align = ["--:"] if q.row_labels is None else [":--"] + ["--:"] * (len(header) - 1)
    if q.split_col is not None and q.row_labels is not None:  # [W | b]: a column of bars before b
        at = q.split_col + 1
        header.insert(at, MD_BAR)
        align.insert(at, ":-:")
        for line in body:
            line.insert(at, MD_BAR)
    if q.ones_row and len(body) > 1:  # [x; 1]: a row of rules above the appended 1s
        body.insert(len(body) - 1, ["", *([MD_RULE] * (len(header) - 1))] if q.row_labels is not None else [MD_RULE])
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
.tables { display: flex; flex-wrap: wrap; gap: 4mm 7mm; align-items: flex-start; margin: 0 0 2mm; }
figure.quantity { margin: 0; break-inside: avoid; page-break-inside: avoid; }
figure.quantity figcaption { font-weight: bold; margin-bottom: 1mm; }
table.q { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.q td, table.q th { border: 0.6pt solid #b5b5b5; padding: 1.2mm 2.2mm; text-align: right; min-width: 8mm; }
table.q th { background: #f1f1f1; color: #555; font-weight: normal; font-size: 8.5pt; }
table.q td.blank { padding: 1mm; background: #fff; }
table.q td.blank .box { display: block; width: 16mm; height: 8mm; border: 1.2pt solid #111; border-radius: .8mm; }
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
}
"""


def html_document(pages: Sequence[Page], title: str = "nnhand worksheets") -> str:
    """One self-contained HTML file (inline CSS, no scripts, nothing fetched): a section per
    page, each starting a new printed A4 page, its header (variant, student) repeated on
    every printed page through a table header."""
    body = "\n".join(_html_page(layout(page)) for page in pages)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _two_columns(texts: list[str], narrow: int) -> bool:
    """Whether a long list of short lines reads better (and prints shorter) in two columns."""
    return len(texts) > 6 and max(len(t) for t in texts) <= narrow


_esc = html_text


def _html_page(lay: Layout) -> str:
    cls = "page key" if lay.key else "page sheet"
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
    rows.append(_html_tables(lay.givens))
    items = []
    for line in lay.steps:
        extra = f'<span class="round">({_esc(line.rounding)})</span>' if line.rounding else ""
        items.append(f'<li value="{line.number}">{_esc(line.label)}{extra}</li>')
    steps_class = "steps two" if _two_columns([line.text for line in lay.steps], 60) else "steps"
    rows.append(f'<h2>{lay.compute_heading}</h2><ol class="{steps_class}">{"".join(items)}</ol>')
    rows.append(_html_tables(lay.answers))
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
    return (
        f'<section class="{cls}" data-variant="{_esc(lay.variant)}" data-student="{_esc(student)}">\n'
        f'<table class="frame"><thead><tr><td>{header}</td></tr></thead>\n<tbody>{body}</tbody></table>\n'
        "</section>"
    )


def _html_tables(quantities: Sequence[Quantity]) -> str:
    return '<div class="tables">' + "".join(_html_quantity(q) for q in quantities) + "</div>"


def _html_quantity(q: Quantity) -> str:
    def style(i: int | None, j: int) -> str:
        """[W | b] and [x; 1]: the bar before b's column, the line above the 1s (inline, so
        that a page without them is unchanged)."""
        rules = [HTML_BAR] if j == q.split_col else []
        if q.ones_row and i == len(q.cells) - 1 and i > 0:
            rules.append(HTML_RULE)
        return f' style="{"; ".join(rules)}"' if rules else ""

    def td(cell: Cell, i: int, j: int) -> str:
        if cell.blank:
            return f'<td class="blank"{style(i, j)}><span class="box" aria-label="blank"></span></td>'
        cls = ' class="answer"' if cell.answer else ""
        return f"<td{cls}{style(i, j)}>{_esc(_minus(cell.shown))}</td>"

    lines = []
    if q.col_labels is not None:
        heads = "".join(f'<th scope="col"{style(None, j)}>{_esc(c)}</th>' for j, c in enumerate(q.col_labels))
        lines.append(f"<tr><th></th>{heads}</tr>")
    for i, row in enumerate(q.cells):
        label = f'<th scope="row"{style(i, -1)}>{_esc(q.row_labels[i])}</th>' if q.row_labels is not None else ""
        lines.append(f"<tr>{label}{''.join(td(c, i, j) for j, c in enumerate(row))}</tr>")
    return (
        f'<figure class="quantity"><figcaption>{_esc(q.name)}</figcaption>'
        f'<table class="q">{"".join(lines)}</table></figure>'
    )


# ---------------------------------------------------------------------------------------
# typst and PDF

_TYPST_PRELUDE = r"""
#let nn-key-ink = rgb("#9b1c1c")
#let nn-blank = box(width: 16mm, height: 8mm, stroke: 1pt + black, radius: 1pt)
#let nn-label(body) = table.cell(fill: luma(242), text(size: 8pt, fill: luma(80), body))
#let nn-answer(body) = table.cell(fill: rgb("#fcefd2"), text(weight: "bold", body))
#let nn-box(body) = table.cell(inset: 2pt, body)
#let nn-quantity(name, columns, ..cells) = box(baseline: 100%, inset: (right: 6mm, bottom: 5mm), stack(
  spacing: 3pt,
  text(weight: "bold", name),
  table(
    columns: columns,
    align: right + horizon,
    stroke: 0.5pt + luma(170),
    inset: (x: 5pt, y: 4pt),
    ..cells.pos(),
  ),
))
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
#let nn-heading(body) = block(above: 10pt, below: 5pt, width: 100%, stroke: (bottom: 0.5pt + luma(170)),
  inset: (bottom: 2pt), text(size: 11pt, weight: "bold", body))
""".strip()


def typst_string(text: str) -> str:
    """A typst string literal: inside one, no markup character means anything (#, $, *, _,
    <, @, [, ] and the rest are plain text); only backslash and quotes need escaping. Every
    text reaches typst this way, cleaned of control characters first (safetext.plain)."""
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
        # A row of tables is a line of a paragraph: let any row end a page, so that a
        # page is filled instead of pushing a whole block of tables to the next one.
        "#set text(costs: (orphan: 0%, widow: 0%))",
        _TYPST_PRELUDE,
    ]
    return "\n".join(head + [_typst_page(layout(page)) for page in pages]) + "\n"


def _typst_page(lay: Layout) -> str:
    s = typst_string
    who = s(lay.who)
    out = [
        "",
        '#set page(paper: "a4", margin: (x: 15mm, top: 20mm, bottom: 16mm), '
        f"header: nn-header({s(lay.variant)}, {s(lay.kind)}, {who}, {'true' if lay.key else 'false'}), "
        f"footer: nn-footer({s(lay.variant)}, {who}))",
        "#counter(page).update(1)",
        f"#metadata((variant: {s(lay.variant)}, student: {s(lay.student or '')}, key: {str(lay.key).lower()})) "
        "<nnhand-page>",
    ]
    title = f'text(size: 15pt, weight: "bold", {s(lay.title)})'
    if lay.key:
        title += (
            " + h(8pt) + box(stroke: 1.2pt + nn-key-ink, inset: (x: 4pt, y: 2pt), radius: 2pt, "
            'text(fill: nn-key-ink, weight: "bold", "ANSWER KEY"))'
        )
    out.append(f"#block(below: 8pt, {title})")
    if lay.summary:
        out.append(f"#par({s(lay.summary)})")
    if lay.params:
        out.append(f"#par({s(lay.params)})")
    for note in lay.notes:
        out.append(
            f"#block(inset: (left: 6pt), stroke: (left: 1.5pt + luma(190)), text(size: 9pt, {s('Note: ' + note)}))"
        )
    out.append('#nn-heading("Given")')
    if lay.legend:
        out.append(f"#text(size: 9pt, fill: luma(60), {s(lay.legend)})")
        out.append("")
    out.append(_typst_tables(lay.givens))
    out.append(f"#nn-heading({s(lay.compute_heading)})")
    steps = []
    for line in lay.steps:
        label, rounding = f"{line.number}. {line.label}", line.rounding
        extra = f" + h(6pt) + text(size: 9pt, fill: luma(80), {s(f'({rounding})')})" if rounding else ""
        steps.append(f"block(above: 3pt, below: 3pt, text({s(label)}){extra})")
    if _two_columns([line.text for line in lay.steps], 60):  # two balanced columns, read down
        half = (len(steps) + 1) // 2
        left, right = "(" + ", ".join(steps[:half]) + ",).join()", "(" + ", ".join(steps[half:]) + ",).join()"
        out.append(f"#grid(columns: (1fr, 1fr), column-gutter: 8mm, {left}, {right})")
    else:
        out.append("#(" + ", ".join(steps) + ",).join()")
    out.append("#v(6pt)")
    out.append(_typst_tables(lay.answers))
    if lay.worked:
        out.append('#nn-heading("Worked solution")')
        blocks = []
        for label, lines in lay.worked:
            body = ", ".join(s(line) for line in lines)
            blocks.append(
                f'block(above: 7pt, below: 3pt, sticky: true, text(weight: "bold", {s(label)})), '
                f"block(inset: (left: 8pt), text(size: 8.5pt, ({body},).join(linebreak())))"
            )
        everything = [line for _, lines in lay.worked for line in lines] + [label for label, _ in lay.worked]
        body = "(" + ", ".join(blocks) + ",).join()"
        if _two_columns(everything, 58):  # fills the page, then the next column
            body = f"columns(2, gutter: 8mm, {body})"
        out.append(f"#{body}")
    if lay.footer:
        out.append(f"#v(4pt)\n#text(size: 9pt, fill: luma(80), {s(lay.footer)})")
    return "\n".join(out)


def _typst_tables(quantities: Sequence[Quantity]) -> str:
    # Boxes in one paragraph: they wrap like words, tops aligned (baseline: 100%).
    return "#par(leading: 0pt, " + " + [ ] + ".join(_typst_quantity(q) for q in quantities) + ")\n"


def _typst_quantity(q: Quantity) -> str:
    s = typst_string

    def cell(c: Cell) -> str:
        if c.blank:
            return "nn-box(nn-blank)"
        text = s(_minus(c.shown))
        return f"nn-answer({text})" if c.answer else text

    cells: list[str] = []
    ncols = len(q.cells[0]) + (1 if q.row_labels is not None else 0)
    if q.col_labels is not None:
        cells.append('nn-label("")')
        cells += [f"nn-label({s(c)})" for c in q.col_labels]
    for i, row in enumerate(q.cells):
        if q.row_labels is not None:
            cells.append(f"nn-label({s(q.row_labels[i])})")
        cells += [cell(c) for c in row]
    labelled = 1 if q.row_labels is not None else 0
    if q.split_col is not None:  # [W | b]: the bar before b's column
        cells.append(f"table.vline(x: {q.split_col + labelled}, stroke: 1.5pt + black)")
    if q.ones_row and len(q.cells) > 1:  # [x; 1]: the line above the appended 1s
        y = len(q.cells) - 1 + (1 if q.col_labels is not None else 0)
        cells.append(f"table.hline(y: {y}, stroke: 1.5pt + black)")
    return f"nn-quantity({s(q.name)}, {ncols}, {', '.join(cells)})"


def pdf_bytes(pages: Sequence[Page], title: str = "nnhand worksheets") -> bytes:
    """The document as PDF, compiled by the `typst` package (the extra nnhand[pdf])."""
    try:
        import typst
    except ImportError:
        raise NnhandError(
            "PDF output needs the typst package", fix="Install it with: pip install 'nnhand[pdf]'"
        ) from None
    source = typst_source(pages, title)
    try:
        return bytes(typst.compile(source.encode("utf-8")))
    except Exception as error:  # typst reports its own errors; any of them is a bug here
        raise RuntimeError(f"typst could not compile the generated document: {error}") from error


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
