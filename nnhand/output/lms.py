"""Question banks for learning platforms: Moodle XML, GIFT and QTI 2.1 (FORMATS.md).

    moodle_xml(sheets)   one `category` question per template ($course$/nnhand/<template>),
                         then one `cloze` question per variant: the givens as tables, the
                         asked quantities as tables of {1:NUMERICAL:=answer:tolerance} fields,
                         so each cell is graded on its own
    gift(sheets)         one question per blank cell (GIFT has one answer block a question)
    qti21(sheets)        one QTI 2.1 assessmentItem document per variant (a list of strings),
                         a textEntryInteraction and a response declaration per blank cell
    qti_manifest(sheets) the imsmanifest.xml of an IMS content package: one resource of type
                         imsqti_item_xmlv2p1 per item
    qti_package(sheets)  the content package itself (zip bytes): imsmanifest.xml and the items
    zero_answer_warnings(sheets, fmt)   answers a platform is known to grade wrongly
    build_pool(template, count, ...)    the sealed variants of an export, and their seeds
    moodle_pool, gift_pool, qti_pool    a pool in one format (sheets.POOL_FORMATS)

What a question shows (title, intro, legend, the givens' cells and words, labels, rounding
phrases, the key's exact fractions) is the page model of page.py, as on every other sheet;
this module adds only what a platform checks: the fields, their answers and tolerances.

Pools are sealed: each question names its variant by an opaque token
(`matmul@1#sealed-k3x9…`), never by its seed, so a student who sees a question cannot look
its key up with `nnhand key`. The seeds come from the instructor's secret (HMAC-SHA256 over
the pool name, the template and a counter, under a key of its own), else from fresh
randomness, else (`first_seed`) from first_seed, first_seed + 1, …; either way every export
records token -> seed for the instructor, as comments at the top of the file a platform
reads (which every importer drops: Moodle keeps only [id:] and [tag:] from GIFT comments,
hence no brackets in them): the Moodle XML, the GIFT file, the QTI package's
imsmanifest.xml. The export file itself holds every answer: it is the instructor's, never
the students'.

Answers and tolerances follow the grader (grading.py): the key as the sheet rounds it,
± half a unit of the step's last decimal (`tolerance`), exactly for exact steps. Where
working without intermediate rounding gives a different rounded answer, that answer is
accepted as well (a second answer with the same tolerance; nnhand's own grader accepts
the whole span between the two). An exact step computed from rounded ones (vector-db's
`index`) is accepted at the key only: the grader also takes the exact fraction and values
between, which a numerical field cannot express (nor can it take "2/3"). Every blank cell
is worth one mark, as under the default per-cell scoring.

QTI 2.1 choice: an assessmentItem must be the root of its own file, so `qti21` returns one
complete XML document per sheet (`qti21_item` builds one), and what platforms import is an
IMS Content Packaging 1.1 zip of them (`qti_package`): imsmanifest.xml at its root listing
each item as a resource of type imsqti_item_xmlv2p1 with its one file, as the QTI 2.1
integration guide lays a package out. The zip is byte-for-byte reproducible (fixed entry
times and modes, entries in order), so the same export gives the same file.

Answers of 0 — what `zero_answer_warnings` flags, and why:
- Canvas (fmt "qti", "qti12", "canvas"): FORMATS.md: Canvas mishandles numerical answers of
  magnitude below 1e-4, including 0. One warning per export names the variants and cells
  concerned (a pool of 100 variants gets one line, not 100). QTI 2.1 ("qti21") gets the
  same warning: its `equal` check handles 0 per the standard, but such packages are
  commonly imported into Canvas.
- Moodle (fmt "moodle", "gift"): no warning, from reading Moodle's qtype_numerical. An
  absolute ("nominal") tolerance interval is answer ± (tolerance + 10^-precision ·
  max(1, |answer|)), so tolerance 0 on answer 0 accepts 0 (and -0, 0.0) and nothing else;
  `is_gradable_response` accepts a response of "0" explicitly (PHP's empty("0") is true,
  which is why it is spelled out). Two traps are avoided rather than warned about: the
  GIFT importer drops an answer written as a bare `{#0}` (empty("0") again) and then
  rejects the question for having no numerical answer — so `gift` always writes the
  tolerance (`{#0:0}`); and a relative tolerance collapses to nothing at 0 — cloze fields
  only use absolute ones. One cosmetic quirk remains: `classify_response` uses empty(), so
  Moodle's response-analysis report lists a student's 0 as "no response"; grades are right.
"""

from __future__ import annotations

import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from nnhand._version import __version__
from nnhand.core.engine import generate, givens_digest
from nnhand.core.keys import SEED_SPACE, derive, seal, sealed_token, seed_from
from nnhand.core.reading import cell_name
from nnhand.core.sheet import Sheet, make_sheet
from nnhand.core.template import Step, Template
from nnhand.errors import NnhandError
from nnhand.grading.grade import tolerance
from nnhand.output.page import Layout, Quantity, StepLine, build_page, code_plain, exact_beside
from nnhand.safety.safetext import clean_tree, html_text, one_line, plain
from nnhand.values import format_number

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI_SCHEMA = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CANVAS_FORMATS = ("qti", "qti12", "canvas", "qti21")
SMALLEST_SAFE = Fraction(1, 10**4)  # Canvas mishandles numerical answers below this (FORMATS.md)


@dataclass(frozen=True)
class BlankAnswer:
    """One blank cell as a platform checks it: `answer` ± `tolerance` (and `alternative`)."""

    step: Step
    row: int
    col: int
    cell: str  # "z1[2]"
    answer: str  # the key as the sheet rounds it: "0.69"
    tolerance: str  # "0.005"; "0" for exact steps
    alternative: str | None  # the exact value rounded the same way, when it differs
    exact: str | None  # the exact value as a fraction ("9/13") when it is not a short decimal
    value: Fraction  # the key, exactly (a word step: the word's index)
    word: str | None = None  # a word step's answer (nn.ReLU's name): asked as short text, any case


def blank_answers(sheet: Sheet) -> list[BlankAnswer]:
    """Every blank cell of a sheet, step by step and row by row, with what to accept."""
    from nnhand.core.inverse import given_step

    problem = sheet.problem
    out = []
    for name in sheet.blank_givens():  # the inverse pattern: a given to solve for, a whole number
        step, shape, values = given_step(problem.template, name), sheet.shape(name), problem.givens[name]
        for i, j in zip(*np.nonzero(sheet.blanks[name])):
            i, j = int(i), int(j)
            answer = format_number(values[i, j])
            out.append(BlankAnswer(step, i, j, cell_name(name, shape, i, j), answer, "0", None, None, Fraction(answer)))
    for step in sheet.asked():
        mask = sheet.blanks[step.name]
        shape = sheet.shape(step.name)
        values, exact = problem.values[step.name], problem.exact[step.name]
        tol = format_number(tolerance(step.decimals))
        for i, j in zip(*np.nonzero(mask)):
            i, j = int(i), int(j)
            word = problem.template.word(step, values[i, j])
            if word is not None:
                index = Fraction(values[i, j])
                cell = cell_name(step.name, shape, i, j)
                out.append(BlankAnswer(step, i, j, cell, word, "0", None, None, index, word))
                continue
            answer = format_number(values[i, j], step.decimals)
            alternative = None
            exact_text = None
            if step.decimals is not None:
                rounded = format_number(exact[i, j], step.decimals)
                alternative = rounded if rounded != answer else None
                exact_text = exact_beside(answer, exact[i, j])  # the rule the key pages follow
            out.append(
                BlankAnswer(
                    step,
                    i,
                    j,
                    cell_name(step.name, shape, i, j),
                    answer,
                    tol,
                    alternative,
                    exact_text,
                    Fraction(answer),
                )
            )
    return out


def _answers_of(sheet: Sheet) -> list[BlankAnswer]:
    answers = blank_answers(sheet)
    if not answers:
        raise NnhandError(
            f"{sheet.variant} has no blank cells to ask",
            where="--blanks",
            fix="Export sheets made with the blank pattern all, layer or one",
        )
    return answers


def _by_template(sheets: Iterable[Sheet]) -> list[tuple[str, list[Sheet]]]:
    groups: dict[str, list[Sheet]] = {}
    for sheet in sheets:
        groups.setdefault(sheet.problem.template.id, []).append(sheet)
    return list(groups.items())


# ----------------------------------------------------------------------------- text of a sheet


def _steps_by_name(page: Layout) -> dict[str, tuple[StepLine, Quantity]]:
    return {line.name: (line, q) for line, q in zip(page.steps, page.answers)}


# ----------------------------------------------------------------------------- Moodle XML

_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})
_CLOZE = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&#34;",
        "'": "&#39;",
        "{": "&#123;",
        "}": "&#125;",
        "#": "&#35;",
        "~": "&#126;",
        "/": "&#47;",
        "\\": "&#92;",
    }
)


def _html(text: str) -> str:
    """Text for HTML question text; braces as character references, so that nothing outside
    the fields can look like a cloze field to Moodle's parser."""
    return html_text(text).translate(_BRACES)


def cloze_escape(text: str) -> str:
    """Text for inside a cloze field (answer feedback).

    The characters that end or split a field (} # ~) and the others the Moodle docs list
    (/ " \\) are written as numeric character references: Moodle's field parser never sees
    them (its answer pattern deliberately skips the '#' of '&#'), and the importer's
    html_entity_decode restores them. The docs' backslash escapes are only undone for } and
    # by the importer, which would leave a visible backslash before the others. One line:
    a field's text ends with the field."""
    return one_line(text).translate(_CLOZE)


# The ways text enters the hand-written Moodle XML; each cleans it first, so that what is
# left is valid XML 1.0 (safetext.plain) whatever a template or a student wrote.


def _cdata(text: str) -> str:
    return "<![CDATA[" + plain(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml(text: str) -> str:
    return plain(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_comment(text: str) -> str:
    """A comment on one line that cannot end early: no "--" inside, no "-" before the close."""
    return "<!-- " + re.sub(r"-{2,}", "-", one_line(text)) + " -->"


def _cloze_field(blank: BlankAnswer) -> str:
    if blank.word is not None:  # short answer, case-insensitive; the module call accepted too
        right = cloze_escape(f"{blank.cell} = {blank.word}")
        word = cloze_escape(blank.word)
        return f"{{1:SHORTANSWER:={word}#{right}~=nn.{word}()#{right}~=torch.nn.{word}()#{right}}}"
    feedback = f"{blank.cell} = {blank.answer}"
    if blank.exact:
        feedback += f" (exactly {blank.exact})"
    field = f"{{1:NUMERICAL:={blank.answer}:{blank.tolerance}#{cloze_escape(feedback)}"
    if blank.alternative is not None:
        note = f"{blank.cell} = {blank.alternative}, worked without rounding on the way (the sheet has {blank.answer})"
        field += f"~={blank.alternative}:{blank.tolerance}#{cloze_escape(note)}"
    return field + "}"


_TABLE = '<table border="1" cellpadding="4" style="border-collapse: collapse; margin-bottom: 1em">'


def _html_table(q: Quantity, cells: list[list[str]]) -> str:
    """One quantity of the page as an HTML table; `cells` are HTML already (text or cloze fields)."""
    out = [_TABLE, f"<caption>{_html(q.name)}</caption>"]
    if q.row_labels is None:
        out.append(f"<tr><td>{cells[0][0]}</td></tr>")
    else:
        if q.col_labels is not None:
            out.append("<tr><th></th>" + "".join(f"<th>{_html(h)}</th>" for h in q.col_labels) + "</tr>")
        for i, label in enumerate(q.row_labels):
            out.append(f"<tr><th>{_html(label)}</th>" + "".join(f"<td>{c}</td>" for c in cells[i]) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _shown_html(q: Quantity) -> list[list[str]]:
    return [[_html(c.shown) for c in row] for row in q.cells]


def _cloze_text(sheet: Sheet, answers: Sequence[BlankAnswer]) -> str:
    page = build_page(sheet)
    parts = [f"<p><strong>{_html(page.title)}</strong> ({_html(page.variant)})</p>"]
    parts += [f"<p>{_html(line)}</p>" for line in page.intro()]
    parts.append("<p><strong>Given</strong></p>")
    if page.legend:
        parts.append(f"<p>{_html(page.legend)}</p>")
    fields = {(b.step.name, b.row, b.col): _cloze_field(b) for b in answers}
    parts += [_html_table(q, _with_fields(q, fields)) for q in page.givens]  # inverse: a given's field
    parts.append("<p><strong>Compute</strong> (fill in every empty box)</p>")
    if page.code:
        parts.append(f"<pre>{_html(_code_text(page))}</pre>")
    for line, q in zip(page.steps, page.answers):
        cells = [
            [fields.get((q.name, i, j)) or _html(c.shown) for j, c in enumerate(row)] for i, row in enumerate(q.cells)
        ]
        parts.append(f"<p>{line.number}. {_html(line.label_rounded)}</p>")
        parts.append(_html_table(q, cells))
    return "\n".join(parts)


def _with_fields(q: Quantity, fields: Mapping[tuple[str, int, int], str]) -> list[list[str]]:
    return [[fields.get((q.name, i, j)) or _html(c.shown) for j, c in enumerate(row)] for i, row in enumerate(q.cells)]


def _code_text(page: Layout) -> str:
    """The code lines as plain text, each blank as __name__ (the field of that name below)."""
    return "\n".join(code_plain(line) for line in page.code)


def _key_html(sheet: Sheet) -> str:
    """The answer key as tables, exact fractions beside rounded cells."""
    page = build_page(sheet, key=True, exact=True)
    parts = [f"<p><strong>Answer key</strong> ({_html(sheet.variant)})</p>"]
    for line, q in zip(page.steps, page.answers):
        parts.append(f"<p>{_html(line.label_rounded)}</p>")
        parts.append(_html_table(q, _shown_html(q)))
    return "\n".join(parts)


def moodle_xml(sheets: Iterable[Sheet], penalty: float = 0.0, pool: Pool | None = None) -> str:
    """A Moodle XML quiz: per template a category question, then a cloze question per variant.

    `penalty` is the fraction lost per extra try in adaptive mode; `pool` adds its record
    (how the seeds were drawn, token -> seed) as comments. Raises NnhandError for a sheet
    with no blank cells (a cloze question needs at least one field)."""
    if not 0 <= penalty <= 1:
        raise ValueError(f"penalty must be between 0 and 1, not {penalty!r}")
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    if pool is not None:
        out += ["  " + _xml_comment(line) for line in pool.record_lines()]
    for template_id, group in _by_template(sheets):
        title = group[0].problem.template.title
        out += [
            "  " + _xml_comment(f"nnhand: {title} ({template_id}), {len(group)} variant(s)"),
            '  <question type="category">',
            f"    <category><text>$course$/nnhand/{_xml(template_id)}</text></category>",
            f'    <info format="html"><text>{_cdata(f"<p>nnhand: {_html(title)}</p>")}</text></info>',
            "  </question>",
        ]
        for sheet in group:
            answers = _answers_of(sheet)
            out += [
                '  <question type="cloze">',
                f"    <name><text>{_xml(sheet.variant)}</text></name>",
                f'    <questiontext format="html"><text>{_cdata(_cloze_text(sheet, answers))}</text></questiontext>',
                f'    <generalfeedback format="html"><text>{_cdata(_key_html(sheet))}</text></generalfeedback>',
                f"    <penalty>{penalty:g}</penalty>",
                "    <hidden>0</hidden>",
                "  </question>",
            ]
    out.append("</quiz>")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- GIFT

_GIFT_SPECIAL = re.compile(r"([~=#{}:])")


def gift_escape(text: str) -> str:
    """Text for GIFT: a backslash before ~ = # { } : (and before a backslash); newlines as \\n,
    so that no text can end a question (a blank line does) or begin a comment line."""
    text = plain(text).replace("\\", "\\\\")
    text = _GIFT_SPECIAL.sub(r"\\\1", text)
    return text.replace("\n", "\\n")


def _gift_comment(text: str) -> str:
    """A comment line. Moodle reads [id:...] and [tag:...] in comments: brackets become parentheses."""
    return "// " + one_line(text).replace("[", "(").replace("]", ")")


def _gift_given(q: Quantity) -> str:
    """A given on one line, with its label and any named rows or columns: E (…; columns how, are) = [[…]]."""
    notes = [q.label] if q.label else []
    for what, names in (("rows", q.named_rows), ("columns", q.named_cols)):
        if names is not None:
            notes.append(f"{what} {', '.join(names)}")
    about = f" ({'; '.join(notes)})" if notes else ""
    if any(c.blank for row in q.cells for c in row):  # inverse: the given asked, written as ?
        q = replace(q, cells=tuple(tuple(replace(c, text="?") if c.blank else c for c in row) for row in q.cells))
    return f"{q.name}{about} = {q.compact()}"


def _gift_answer(blank: BlankAnswer) -> str:
    if blank.word is not None:  # a short-answer question (Moodle compares it in any case)
        return " ".join(f"={gift_escape(w)}" for w in (blank.word, f"nn.{blank.word}()", f"torch.nn.{blank.word}()"))
    # Always with a tolerance: Moodle's GIFT importer drops a bare {#0} (see the docstring).
    if blank.alternative is None:
        return f"#{blank.answer}:{blank.tolerance}"
    return f"#={blank.answer}:{blank.tolerance} ={blank.alternative}:{blank.tolerance}"


def gift(sheets: Iterable[Sheet], pool: Pool | None = None) -> str:
    """GIFT: per template a $CATEGORY line, then one numerical question per blank cell;
    `pool` adds its record as a block of comment lines first."""
    out: list[str] = []
    if pool is not None:
        out += [*(_gift_comment(line) for line in pool.record_lines()), ""]
    for template_id, group in _by_template(sheets):
        title = group[0].problem.template.title
        out += [
            _gift_comment(f"nnhand: {title} ({template_id}), {len(group)} variant(s)"),
            f"$CATEGORY: $course$/nnhand/{one_line(template_id)}",
            "",
        ]
        for sheet in group:
            answers = _answers_of(sheet)
            page = build_page(sheet)
            steps = _steps_by_name(page)
            givens = "; ".join(_gift_given(q) for q in page.givens)
            intro = " ".join([f"{page.title} ({page.variant}).", *page.intro(summary=False), f"Given: {givens}."])
            if page.code:
                intro += f"\nThe code, each blank named __like_this__:\n{_code_text(page)}\n"
            for blank in answers:
                if blank.step.name in sheet.problem.givens:  # inverse: every step shown, the given asked
                    shown = "; ".join(_gift_given(q) for q in page.answers)
                    text = f"{intro} Computed: {shown}. Which whole number is the blank given {blank.cell}?"
                else:
                    text = f"{intro} Compute {steps[blank.step.name][0].label_rounded}. What is {blank.cell}?"
                feedback = f"{blank.cell} = {blank.answer}"
                if blank.exact:
                    feedback += f" (exactly {blank.exact})"
                if blank.alternative is not None:
                    feedback += f"; {blank.alternative} when worked without rounding on the way"
                out.append(
                    f"::{gift_escape(f'{sheet.variant} {blank.cell}')}::{gift_escape(text)}"
                    f"{{{_gift_answer(blank)}####{gift_escape(feedback)}}}"
                )
                out.append("")
    return "\n".join(out)


# ----------------------------------------------------------------------------- QTI 2.1


def _q(tag: str) -> str:
    # Tags stay unqualified; the root declares QTI as the default namespace (xmlns) itself,
    # which leaves ElementTree's global prefix registry alone.
    return tag


def _ncname(text: str) -> str:
    """An identifier QTI accepts (an XML NCName)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", text)
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def _qti_cells(q: Quantity, ids: Mapping[tuple[str, int, int], str]) -> list[list[Any]]:
    """A quantity's cells for QTI: shown text, or a text entry where a blank is asked."""
    cells: list[list[Any]] = []
    for i, cells_row in enumerate(q.cells):
        row: list[Any] = []
        for j, c in enumerate(cells_row):
            response = ids.get((q.name, i, j))
            if response is None:
                row.append(c.shown)
            else:
                row.append(ET.Element(_q("textEntryInteraction"), responseIdentifier=response, expectedLength="6"))
        cells.append(row)
    return cells


def _qti_table(parent: ET.Element, q: Quantity, cells: list[list[Any]]) -> None:
    """A quantity of the page as an XHTML table inside itemBody; a cell is text or an element."""
    table = ET.SubElement(parent, _q("table"))
    ET.SubElement(table, _q("caption")).text = q.name
    body = ET.SubElement(table, _q("tbody"))
    if q.col_labels is not None:
        head = ET.SubElement(body, _q("tr"))
        ET.SubElement(head, _q("th"))
        for label in q.col_labels:
            ET.SubElement(head, _q("th")).text = label
    for i, row in enumerate(cells):
        tr = ET.SubElement(body, _q("tr"))
        if q.row_labels is not None:
            ET.SubElement(tr, _q("th")).text = q.row_labels[i]
        for cell in row:
            td = ET.SubElement(tr, _q("td"))
            if isinstance(cell, ET.Element):
                td.append(cell)
            else:
                td.text = str(cell)


def _equal(tol: str, *operands: ET.Element) -> ET.Element:
    equal = ET.Element(
        _q("equal"),
        toleranceMode="absolute",
        tolerance=f"{tol} {tol}",
        includeLowerBound="true",
        includeUpperBound="true",
    )
    equal.extend(operands)
    return equal


def qti21_item(sheet: Sheet) -> str:
    """One QTI 2.1 assessmentItem (a complete XML document) for one sheet."""
    answers = _answers_of(sheet)
    page = build_page(sheet)
    item = ET.Element(
        _q("assessmentItem"),
        {
            "xmlns": QTI_NS,
            "xmlns:xsi": XSI_NS,
            "xsi:schemaLocation": f"{QTI_NS} {QTI_SCHEMA}",
            "identifier": _ncname(f"nnhand_{sheet.variant}"),
            "title": f"{page.title} {sheet.variant}",
            "adaptive": "false",
            "timeDependent": "false",
        },
    )
    ids = {(b.step.name, b.row, b.col): f"R{k}_{b.step.name}" for k, b in enumerate(answers, start=1)}
    for b in answers:
        decl = ET.SubElement(
            item,
            _q("responseDeclaration"),
            identifier=ids[(b.step.name, b.row, b.col)],
            cardinality="single",
            baseType="float" if b.word is None else "string",
        )
        ET.SubElement(ET.SubElement(decl, _q("correctResponse")), _q("value")).text = b.answer
    for ident, default in (("SCORE", "0"), ("MAXSCORE", str(len(answers)))):
        decl = ET.SubElement(item, _q("outcomeDeclaration"), identifier=ident, cardinality="single", baseType="float")
        ET.SubElement(ET.SubElement(decl, _q("defaultValue")), _q("value")).text = default

    body = ET.SubElement(item, _q("itemBody"))
    ET.SubElement(ET.SubElement(body, _q("p")), _q("strong")).text = f"{page.title} ({page.variant})"
    for text in page.intro():
        ET.SubElement(body, _q("p")).text = text
    ET.SubElement(ET.SubElement(body, _q("p")), _q("strong")).text = "Given"
    if page.legend:
        ET.SubElement(body, _q("p")).text = page.legend
    for q in page.givens:  # inverse: the given to solve for is an entry
        _qti_table(body, q, _qti_cells(q, ids))
    ET.SubElement(ET.SubElement(body, _q("p")), _q("strong")).text = "Compute (fill in every empty box)"
    if page.code:
        ET.SubElement(body, _q("pre")).text = _code_text(page)
    for line, q in zip(page.steps, page.answers):
        ET.SubElement(body, _q("p")).text = f"{line.number}. {line.label_rounded}"
        _qti_table(body, q, _qti_cells(q, ids))

    processing = ET.SubElement(item, _q("responseProcessing"))
    for b in answers:
        ident = ids[(b.step.name, b.row, b.col)]
        check = _equal(
            b.tolerance, ET.Element(_q("variable"), identifier=ident), ET.Element(_q("correct"), identifier=ident)
        )
        if b.word is not None:  # a name: matched as text, in any case
            check = ET.Element(_q("stringMatch"), caseSensitive="false")
            check.extend([ET.Element(_q("variable"), identifier=ident), ET.Element(_q("correct"), identifier=ident)])
        if b.alternative is not None:
            other = ET.Element(_q("baseValue"), baseType="float")
            other.text = b.alternative
            either = ET.Element(_q("or"))
            either.extend([check, _equal(b.tolerance, ET.Element(_q("variable"), identifier=ident), other)])
            check = either
        condition = ET.SubElement(ET.SubElement(processing, _q("responseCondition")), _q("responseIf"))
        condition.append(check)
        add = ET.SubElement(ET.SubElement(condition, _q("setOutcomeValue"), identifier="SCORE"), _q("sum"))
        ET.SubElement(add, _q("variable"), identifier="SCORE")
        ET.SubElement(add, _q("baseValue"), baseType="float").text = "1"
    clean_tree(item)
    ET.indent(item)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(item, encoding="unicode") + "\n"


def qti21(sheets: Iterable[Sheet]) -> list[str]:
    """One QTI 2.1 assessmentItem document per sheet, in order (see the module docstring)."""
    return [qti21_item(sheet) for sheet in sheets]


# ----------------------------------------------------------------------------- sealed pools

SEEDINGS = ("secret", "random", "given")
DRAWS_PER_VARIANT = 100  # redraws before a pool accepts a repeated instance (a template with few)


@dataclass
class Pool:
    """The sealed variants of one export and where their seeds came from (see the module docstring)."""

    template: Template
    name: str  # part of every seed drawn from a secret
    seeding: str  # one of SEEDINGS
    sheets: list[Sheet] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)

    def record_lines(self) -> list[str]:
        """The record, as lines for comments: how, then one `nnhand-seed <id> <seed>` per variant."""
        tid = self.template.id
        how = {
            "secret": f"seeds from HMAC-SHA256 of your secret over (pool '{self.name}', {tid}, k): the same "
            "export with the same secret and pool rebuilds this file",
            "random": "seeds drawn at random: this record is the only way back to them, keep it",
            "given": f"seeds {self.seeds[0]} to {self.seeds[-1]}, from the seed option" if self.seeds else "",
        }[self.seeding]
        return [
            f"nnhand {__version__} export of {tid}@{self.template.version}, {len(self.sheets)} variant(s); {how}.",
            "Questions name sealed variant ids; the key of one: nnhand key " + tid + " -s SEED.",
            "This file holds every answer: keep it from students.",
            *(f"nnhand-seed {sheet.variant} {seed}" for sheet, seed in zip(self.sheets, self.seeds)),
        ]


def build_pool(
    template: Template,
    count: int,
    *,
    secret: bytes | None = None,
    first_seed: int | None = None,
    name: str | None = None,
    blanks: str | None = None,
) -> Pool:
    """`count` sealed variants of `template`: seeds first_seed, first_seed + 1, ... when given
    (reproducible, as before sealing), else drawn from `secret` over (name, template, k), else
    at random; a seed whose instance repeats an earlier one is redrawn (not for given seeds).
    Tokens come from the secret when there is one (the whole file is then reproducible)."""
    name = name or template.id
    seeding = "given" if first_seed is not None else ("secret" if secret is not None else "random")
    pool = Pool(template, name, seeding)
    seen: set[str] = set()
    tokens: set[str] = set()
    k = 0
    for _ in range(count):
        for attempt in range(DRAWS_PER_VARIANT):
            if first_seed is not None:
                seed = first_seed + k
            elif secret is not None:
                seed = seed_from(derive(secret, "nnhand-export", name, template.id, str(k)))
            else:
                seed = secrets.randbelow(SEED_SPACE)
            k += 1
            problem = generate(template, seed)
            digest = givens_digest(problem)
            if first_seed is not None or digest not in seen or attempt == DRAWS_PER_VARIANT - 1:
                seen.add(digest)
                break
        token = sealed_token(secret, ["export", name, template.id, str(seed)], tokens)
        pool.sheets.append(make_sheet(seal(problem, token), blanks))
        pool.seeds.append(seed)
    return pool


def item_file(sheet: Sheet) -> str:
    """The file name of a QTI item: its variant id with # and @ as hyphens."""
    return sheet.variant.replace("#", "-").replace("@", "-") + ".xml"


# ----------------------------------------------------------------------------- QTI content package

CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
CP_SCHEMA = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
QTI_ITEM_RESOURCE = "imsqti_item_xmlv2p1"  # the resource type of a QTI 2.1 item (QTI 2.1 integration guide)
MANIFEST = "imsmanifest.xml"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry holds: no clock in the file


def _item_identifier(sheet: Sheet) -> str:
    return _ncname(f"nnhand_{sheet.variant}")


def qti_manifest(sheets: Sequence[Sheet], comments: Sequence[str] = ()) -> str:
    """The imsmanifest.xml of a content package of QTI 2.1 items: one resource of type
    imsqti_item_xmlv2p1 per sheet, its href and its one <file> the item's name (item_file).

    `comments` go first, one XML comment a line (the pool's seed record: importers drop
    comments). The manifest's identifier is derived from the items', so that two different
    pools never share one while the same pool always gets the same."""
    import hashlib

    digest = hashlib.sha256("\n".join(s.variant for s in sheets).encode("utf-8")).hexdigest()[:16]
    root = ET.Element(
        "manifest",
        {
            "xmlns": CP_NS,
            "xmlns:xsi": XSI_NS,
            "xsi:schemaLocation": f"{CP_NS} {CP_SCHEMA}",
            "identifier": f"nnhand_manifest_{digest}",
        },
    )
    metadata = ET.SubElement(root, "metadata")
    ET.SubElement(metadata, "schema").text = "QTIv2.1 Package"
    ET.SubElement(metadata, "schemaversion").text = "1.0.0"
    ET.SubElement(root, "organizations")
    resources = ET.SubElement(root, "resources")
    for sheet in sheets:
        href = item_file(sheet)
        resource = ET.SubElement(
            resources,
            "resource",
            identifier=f"res_{_item_identifier(sheet)}",
            type=QTI_ITEM_RESOURCE,
            href=href,
        )
        ET.SubElement(resource, "file", href=href)
    clean_tree(root)
    ET.indent(root)
    head = ['<?xml version="1.0" encoding="UTF-8"?>', *(_xml_comment(line) for line in comments)]
    return "\n".join(head) + "\n" + ET.tostring(root, encoding="unicode") + "\n"


def qti_package(sheets: Sequence[Sheet], comments: Sequence[str] = ()) -> bytes:
    """An IMS content package (zip) of QTI 2.1 items: imsmanifest.xml first, then one item
    file per sheet. Raises NnhandError for a sheet with no blank cells (as qti21_item).

    Reproducible: every entry has the same fixed time and mode, in the same order."""
    import io
    import zipfile

    files = {item_file(sheet): item for sheet, item in zip(sheets, qti21(sheets))}
    if len(files) != len(sheets):
        raise ValueError("two sheets of a package have the same variant id")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in [(MANIFEST, qti_manifest(sheets, comments)), *files.items()]:
            entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16  # a plain file, rw-r--r--, on every unzip
            package.writestr(entry, text.encode("utf-8"))
    return buffer.getvalue()


def moodle_pool(pool: Pool) -> str:
    """`export --format moodle`: the pool as Moodle XML, its record as comments."""
    return moodle_xml(pool.sheets, pool=pool)


def gift_pool(pool: Pool) -> str:
    """`export --format gift`: the pool as GIFT, its record as comment lines."""
    return gift(pool.sheets, pool=pool)


def qti_pool(pool: Pool) -> bytes:
    """`export --format qti`: the pool as a QTI 2.1 content package (zip), its record as
    comments at the top of imsmanifest.xml."""
    return qti_package(pool.sheets, pool.record_lines())


# ----------------------------------------------------------------------------- zero answers


def zero_answer_warnings(sheets: Iterable[Sheet], fmt: str) -> list[str]:
    """Warnings for answers that `fmt` is known to grade wrongly (see the module docstring).

    fmt: "qti", "qti12", "canvas", "qti21" (answers of magnitude below 1e-4, including 0,
    are flagged: one warning for the whole export, naming the variants and cells); any other
    format has nothing to flag (Moodle and GIFT keep small answers exact)."""
    if fmt not in CANVAS_FORMATS:
        return []
    sheets = list(sheets)
    flagged: list[tuple[Sheet, list[BlankAnswer]]] = []
    for sheet in sheets:
        small = [b for b in blank_answers(sheet) if b.word is None and abs(b.value) < SMALLEST_SAFE]
        if small:
            flagged.append((sheet, small))
    if not flagged:
        return []
    answers = [b for _, small in flagged for b in small]
    detail = "of 0" if all(b.value == 0 for b in answers) else "of 0 or below 1e-4 in magnitude"
    where = _some([f"{sheet.variant}: {_some([b.cell for b in small], 6)}" for sheet, small in flagged], 3, "; ")
    variants = f" in {len(flagged)} of {len(sheets)} variants" if len(sheets) > 1 else ""
    return [
        f"{len(answers)} answer{'s' if len(answers) > 1 else ''} {detail}{variants} ({where}); Canvas mishandles "
        "numerical answers below 1e-4, including 0: check these questions after import or grade them by hand"
    ]


def _some(items: Sequence[str], limit: int, sep: str = ", ") -> str:
    """The first `limit` items joined, with how many more there are."""
    more = len(items) - limit
    return sep.join(items[:limit]) + (f"{sep}… ({more} more)" if more > 0 else "")


__all__ = [
    "BlankAnswer",
    "Pool",
    "blank_answers",
    "build_pool",
    "cloze_escape",
    "gift",
    "gift_escape",
    "gift_pool",
    "item_file",
    "moodle_pool",
    "moodle_xml",
    "qti21",
    "qti21_item",
    "qti_manifest",
    "qti_package",
    "qti_pool",
    "zero_answer_warnings",
]
