"""Print formats (Markdown, standalone HTML, PDF through typst) from one sheet model.

HTML is read back with the standard library's parser and checked for its structure; the
cell values are compared with the problem's own arrays, not with the renderer's helpers.
"""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from typing import Any

import pytest

from nnhand import api
from nnhand.core.sheet import Sheet, make_sheet
from nnhand.errors import NnhandError
from nnhand.output.printing import (
    BLANK_MD,
    Page,
    document_pages,
    html_document,
    markdown_pages,
    md_escape,
    pdf_bytes,
    typst_source,
    typst_string,
)
from nnhand.values import grid_shape

from .test_page import expected_given_texts, naive_fraction_beside, naive_number, query_words

NAUGHTY = '<Zoë & "Bob">'
TYPST_NAUGHTY = 'Ann #set $x$ *b* _i_ <l> @r [c] \\ ` ~ // no /* comment "q" =h -l +n'
PDF_TEMPLATES = ["backprop", "self-attention", "single-neuron", "lstm"]  # a few: typst takes ~0.1 s each


# ---------------------------------------------------------------------------------------
# HTML read back


class Section:
    def __init__(self, attrs: dict[str, str]):
        self.classes = attrs.get("class", "").split()
        self.variant = attrs.get("data-variant", "")
        self.student = attrs.get("data-student", "")
        self.text: list[str] = []
        self.blank_boxes = 0
        self.blank_cells = 0
        self.answers: list[str] = []
        self.cells: list[str] = []  # every <td> of the quantity tables, in document order
        self.by_name: dict[str, list[str]] = {}  # the <td>s of each quantity (figure data-name)
        self.again: dict[str, list[str]] = {}  # a given drawn a second time (beside a later layer)
        self.thead_text: list[str] = []


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.tags: list[str] = []
        self.stack: list[tuple[str, list[str]]] = []
        self.cell: list[str] | None = None
        self.cell_answer = False
        self.style = ""
        self.in_style = False
        self.title = ""
        self.in_title = False
        self.quantity: list[str] = []

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        classes = attrs.get("class", "").split()
        self.tags.append(tag)
        if tag not in {"meta", "br", "link", "img"}:
            self.stack.append((tag, classes))
        self.in_style = tag == "style"
        self.in_title = tag == "title"
        if tag == "section":
            self.sections.append(Section(attrs))
        if not self.sections:
            return
        section = self.sections[-1]
        if tag == "figure" and "quantity" in classes:
            name = attrs.get("data-name", "")
            self.quantity = section.again.setdefault(name, []) if name in section.by_name else []
            section.by_name.setdefault(name, self.quantity)
        if tag == "span" and "box" in classes:
            section.blank_boxes += 1
        if tag == "td" and self._inside("table", "q"):
            section.blank_cells += "blank" in classes
            self.cell = []
            self.cell_answer = "answer" in classes

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None and self.sections:
            text = "".join(self.cell).strip()
            self.sections[-1].cells.append(text)
            self.quantity.append(text)
            if self.cell_answer:
                self.sections[-1].answers.append(text)
            self.cell = None
        while self.stack:
            top, _ = self.stack.pop()
            if top == tag:
                break
        self.in_style = self.in_title = False

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.style += data
        if self.in_title:
            self.title += data
        if self.cell is not None:
            self.cell.append(data)
        if self.sections:
            self.sections[-1].text.append(data)
            if self._inside("thead"):
                self.sections[-1].thead_text.append(data)

    def _inside(self, tag: str, cls: str | None = None) -> bool:
        return any(t == tag and (cls is None or cls in c) for t, c in self.stack)


def parse(document: str) -> PageParser:
    parser = PageParser()
    parser.feed(document)
    parser.close()
    return parser


def sheets(template_id: str = "backprop", seeds: tuple[int, ...] = (7, 8), blanks: str | None = None) -> list[Sheet]:
    return [api.generate(template_id, seed=s, blanks=blanks) for s in seeds]


def expected_cells(sheet: Sheet, key: bool) -> dict[str, list[str]]:
    """Every table cell of a page as printed, quantity by quantity (the printed arrangement
    puts them where the layer drawing wants them, not in template order), from the problem's
    arrays and the template's YAML (a word given's words are looked up in the vocabulary the
    YAML lists), written by the naive formatter of test_page, not by the renderer's helpers."""
    problem = sheet.problem
    out: dict[str, list[str]] = {}
    for name in problem.template.givens:
        out[name] = [text for row in expected_given_texts(sheet, name) for text in row]
    for step in sheet.asked():
        if step.name in problem.template.code_steps:
            continue  # drawn in the code block, not as a table (test_code_and_counting_templates)
        mask = sheet.blanks[step.name]
        values, exact = problem.values[step.name], problem.exact[step.name]
        cells = out.setdefault(step.name, [])
        for (i, j), blank in zip(((i, j) for i in range(mask.shape[0]) for j in range(mask.shape[1])), mask.ravel()):
            if blank and not key:
                cells.append("")
                continue
            text = naive_number(values[i, j], step.decimals)
            beside = naive_fraction_beside(text, exact[i, j]) if key and step.decimals is not None else None
            cells.append(f"{text} ({beside})" if beside else text)
    return {name: [t.replace("-", "−") for t in cells] for name, cells in out.items()}


def test_word_givens_print_as_words() -> None:
    """The bug of issue 10: vector-db's query printed as vocabulary indices (4 5 6)."""
    sheet = api.generate("vector-db", seed=1)
    words = query_words(sheet)  # from the YAML's vocabulary
    parsed = parse(html_document(document_pages([(sheet, None)])))
    for section in parsed.sections:
        assert section.by_name == expected_cells(sheet, key="key" in section.classes)
        assert " ".join(words) in " ".join(section.cells)
    md = markdown_pages([Page(sheet)])
    assert "| **query** |\n| --: |\n" + "\n".join(f"| {w} |" for w in words) in md  # a bare column


# ---------------------------------------------------------------------------------------
# HTML


def test_html_has_a_section_per_student_then_the_keys() -> None:
    a, b = sheets()
    document = html_document(document_pages([(a, NAUGHTY), (b, "Ada")]), title="Week 3 <quiz>")
    parsed = parse(document)
    assert parsed.title == "Week 3 <quiz>"
    assert [s.classes for s in parsed.sections] == [
        ["page", "sheet"],
        ["page", "sheet"],
        ["page", "key"],
        ["page", "key"],
    ]
    for section, (sheet, student) in zip(parsed.sections, [(a, NAUGHTY), (b, "Ada")] * 2):
        text = "".join(section.text)
        header = "".join(section.thead_text)
        assert (section.variant, section.student) == (sheet.variant, student)
        assert sheet.variant in header and student in header, header  # the running header
        assert sheet.variant in text and student in text
    for section, sheet in zip(parsed.sections[:2], (a, b)):
        # db = dz is not asked; 38 of the 94 are y_hat and the updates
        assert section.blank_boxes == section.blank_cells == sheet.blank_count() == 94
        assert section.answers == []
        assert "ANSWER KEY" not in "".join(section.text)
    for section, sheet in zip(parsed.sections[2:], (a, b)):
        assert section.blank_boxes == section.blank_cells == 0
        assert len(section.answers) == sheet.blank_count()  # the cells to mark stand out
        assert "ANSWER KEY" in "".join(section.thead_text)


def test_html_escapes_every_text() -> None:
    (sheet,) = sheets(seeds=(7,))
    document = html_document([Page(sheet, NAUGHTY)], title="<script>alert(1)</script>")
    assert NAUGHTY not in document
    assert "<script" not in document
    assert "&lt;Zoë &amp; &quot;Bob&quot;&gt;" in document
    assert parse(document).sections[0].student == NAUGHTY


def test_html_is_self_contained_and_prints_one_student_per_page() -> None:
    (sheet,) = sheets(seeds=(7,))
    document = html_document(document_pages([(sheet, "Ada")]))
    parsed = parse(document)
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    assert not re.search(r"(src|href)\s*=", document)
    assert "url(" not in parsed.style and "@import" not in parsed.style
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", parsed.style)
    print_rules = parsed.style[parsed.style.index("@media print") :]
    assert re.search(r"section\.page\s*\{[^}]*break-after:\s*page", print_rules)
    assert "table-header-group" in print_rules  # the header repeats on every printed page


def test_html_cells_match_the_problem() -> None:
    sheet = api.generate("self-attention", seed=1)  # rounded steps: exact fractions beside them
    parsed = parse(html_document(document_pages([(sheet, None)])))
    worksheet, key = parsed.sections
    assert worksheet.by_name == expected_cells(sheet, key=False)
    assert key.by_name == expected_cells(sheet, key=True)
    assert any("(" in c for c in key.cells)  # at least one "0.63 (5/8)"
    assert f"Name: {'_' * 24}" in "".join(worksheet.thead_text)  # nobody named: a line to write on


def test_html_worksheet_shows_the_cells_that_are_not_blank() -> None:
    sheet = api.generate("mlp", seed=3, blanks="layer")
    parsed = parse(html_document([Page(sheet, "Ada")]))
    (section,) = parsed.sections
    rows_cols = [grid_shape(sheet.shape(s.name)) for s in sheet.asked()]
    asked_cells = sum(r * c for r, c in rows_cols)
    assert 0 < section.blank_boxes == sheet.blank_count() < asked_cells
    assert section.by_name == expected_cells(sheet, key=False)


def test_worked_solution_follows_the_key() -> None:
    from nnhand.core.explain import explain_problem

    (sheet,) = sheets(seeds=(7,))
    worked = explain_problem(sheet.problem)
    pages = document_pages([(sheet, "Ada")], worked=True)
    assert [p.key for p in pages] == [False, True] and pages[1].worked == worked
    document = html_document(pages)
    key_text = "".join(parse(document).sections[1].text)
    for lines in worked.values():
        for line in lines:
            assert line in key_text
    assert "Worked solution" not in "".join(parse(document).sections[0].text)
    markdown = markdown_pages(pages)
    assert all(f"- {md_escape(line)}" in markdown for lines in worked.values() for line in lines)


def test_document_pages_without_keys() -> None:
    a, b = sheets()
    pages = document_pages([(a, "A"), (b, "B")], keys=False)
    assert [(p.student, p.key) for p in pages] == [("A", False), ("B", False)]


# ---------------------------------------------------------------------------------------
# Markdown


def test_markdown_pages_tables_and_blanks() -> None:
    a, b = sheets()
    text = markdown_pages(document_pages([(a, NAUGHTY), (b, "Ada")]))
    pages = text.split("\n\n---\n\n")
    assert len(pages) == 4
    for page, (sheet, student) in zip(pages, [(a, NAUGHTY), (b, "Ada")] * 2):
        assert f"Variant {md_escape(sheet.variant)}" in page
        assert md_escape(student) in page
    assert '\\<Zoë \\& "Bob"\\>' in pages[0]
    assert pages[0].count(BLANK_MD) == a.blank_count() and pages[1].count(BLANK_MD) == b.blank_count()
    assert BLANK_MD not in pages[2] + pages[3]
    assert "ANSWER KEY" in pages[2].splitlines()[0]
    # W1 of backprop is 4 x 3: a header row (name, column labels), the alignment row, 4 rows
    w1 = next(block for block in pages[0].split("\n\n") if block.startswith("| **W1** |"))
    rows = [line.split(" | ") for line in w1.splitlines()]
    assert len(rows) == 6 and {len(r) for r in rows} == {4}
    assert rows[1] == ["| :--", "--:", "--:", "--: |"]
    assert [r[0] for r in rows[2:]] == ["| 1", "| 2", "| 3", "| 4"]
    table_lines = [line for line in pages[0].splitlines() if line.startswith("|")]
    assert all(line.endswith(" |") for line in table_lines)


def test_markdown_key_marks_the_answers() -> None:
    sheet = api.generate("mlp", seed=3, blanks="layer")
    key = markdown_pages([Page(sheet, None, key=True)])
    assert "Name: \\_\\_" in key
    step_tables = key.split("## Steps")[1]
    assert len(re.findall(r"\| \*\*-?[0-9]", step_tables)) == sheet.blank_count() > 0  # bold: the blanks


def test_md_escape() -> None:
    assert (
        md_escape("a|b *c* _d_ <e> [f] `g` #h $i$ \\")
        == "a\\|b \\*c\\* \\_d\\_ \\<e\\> \\[f\\] \\`g\\` \\#h \\$i\\$ \\\\"
    )
    assert md_escape("two\nlines") == "two lines"


# ---------------------------------------------------------------------------------------
# Every template, every format


def test_every_template_renders_in_every_format(template_id: str) -> None:
    sheet = api.generate(template_id, seed=1)
    key = make_sheet(sheet.problem, "none")
    pages = [Page(sheet, NAUGHTY), Page(sheet, NAUGHTY, key=True)]
    parsed = parse(html_document(pages))
    assert [s.blank_boxes for s in parsed.sections] == [sheet.blank_count(), 0]
    assert parsed.sections[0].by_name == expected_cells(sheet, key=False)
    assert parsed.sections[1].by_name == expected_cells(key, key=True)
    for section in parsed.sections:  # a given drawn again beside a later layer: the same cells
        assert all(section.by_name[name] == cells for name, cells in section.again.items())
        assert set(section.again) <= set(sheet.problem.template.givens)
    assert all(sheet.variant in "".join(s.thead_text) for s in parsed.sections)
    md = markdown_pages(pages).split("\n\n---\n\n")
    assert [page.count(BLANK_MD) for page in md] == [sheet.blank_count(), 0]
    source = typst_source(pages)
    code_boxes = len(re.findall(r"box\(width: [0-9.]+mm, height: [0-9.]+mm, baseline", source))
    assert len(re.findall(r"nn-blank\([0-9.]+mm, [0-9.]+mm\)", source)) + code_boxes == sheet.blank_count()
    if template_id in PDF_TEMPLATES:
        pytest.importorskip("typst")
        assert pdf_bytes(pages).startswith(b"%PDF")


# ---------------------------------------------------------------------------------------
# PDF


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def test_pdf_two_students_start_on_new_pages() -> None:
    pytest.importorskip("typst")
    a = api.generate("single-neuron", seed=1)  # short: one page each
    b = api.generate("single-neuron", seed=2)
    one = pdf_bytes([Page(a, "Ada")])
    two = pdf_bytes([Page(a, "Ada"), Page(b, NAUGHTY)])
    both = pdf_bytes(document_pages([(a, "Ada"), (b, NAUGHTY)]))
    assert one.startswith(b"%PDF") and two.startswith(b"%PDF")
    assert (pdf_pages(one), pdf_pages(two), pdf_pages(both)) == (1, 2, 4)


def test_pdf_long_sheets_span_pages() -> None:
    pytest.importorskip("typst")
    data = pdf_bytes(document_pages([(s, "Ada") for s in sheets()], worked=True), title="backprop")
    assert data.startswith(b"%PDF") and pdf_pages(data) > 4


def test_typst_text_is_escaped() -> None:
    typst = pytest.importorskip("typst")
    sheet = api.generate("matmul", seed=1)
    pages = document_pages([(sheet, TYPST_NAUGHTY), (sheet, NAUGHTY)])
    source = typst_source(pages, title=TYPST_NAUGHTY)
    found = json.loads(typst.query(source.encode(), "<nnhand-page>", field="value"))
    assert [(m["student"], m["key"]) for m in found] == [
        (TYPST_NAUGHTY, False),
        (NAUGHTY, False),
        (TYPST_NAUGHTY, True),
        (NAUGHTY, True),
    ]
    assert pdf_bytes(pages, title=TYPST_NAUGHTY).startswith(b"%PDF")


def test_typst_string() -> None:
    assert typst_string('a"b\\c\nd#$') == '"a\\"b\\\\c\\nd#$"'
    assert typst_string("a\x01\x1b[31mb") == '"ab"'  # control characters and escapes are stripped


def test_pdf_without_typst_names_the_extra(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "typst", None)  # import typst now raises ImportError
    with pytest.raises(NnhandError) as caught:
        pdf_bytes([Page(api.generate("matmul", seed=1))])
    assert "PDF output needs the typst package" in str(caught.value)
    assert "pip install 'nnhand[pdf]'" in str(caught.value)
