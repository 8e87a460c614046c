"""The one page model (output/page.py) and the sheet format registries (output/sheets.py).

Expectations come from outside the code under test: the template's YAML read directly
(vocabulary, phrases, labels, notes), a naive number formatter written with `decimal`, and
hand-written literal text. Every writer (terminal, Markdown, HTML, typst, Moodle cloze,
GIFT, QTI) is checked to show vector-db's words, and each print format has golden files for
a numeric template (hidden-layer 7) and a word template (vector-db 1).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from functools import cache
from typing import Any

import pytest
import yaml

from nnhand import api
from nnhand.core.sheet import Sheet, make_sheet
from nnhand.output import lms, printing
from nnhand.output.page import Layout, build_page, rounding_phrase
from nnhand.output.sheets import KEY_FORMATS, POOL_FORMATS, PRINT_EXTENSIONS, PRINT_FORMATS, SHEET_FORMATS
from nnhand.output.terminal import sheet_renderable
from nnhand.resources import template_files

from .conftest import GOLDEN, assert_golden, render_text
from .test_terminal_width import drawn_grids

# ---------------------------------------------------------------------------------------
# Independent references


@cache
def template_yaml(template_id: str) -> dict[str, Any]:
    """The template file as YAML says it, not as the loader reads it."""
    data: dict[str, Any] = yaml.safe_load(template_files()[template_id].read_text(encoding="utf-8"))
    return data


def naive_number(value: Any, decimals: int | None = None) -> str:
    """A cell as the sheets write it, by `decimal`: halves away from zero, no trailing zeros,
    no "-0"; an exact value without declared rounding as its short decimal (up to 6 places),
    else to 2 decimals."""
    exact = Fraction(value.item() if hasattr(value, "item") else value)
    with localcontext() as context:
        context.prec = 80
        as_decimal = Decimal(exact.numerator) / Decimal(exact.denominator)
        if decimals is None:
            if exact.denominator == 1:
                return str(exact.numerator)
            text = format(as_decimal, "f")
            if Fraction(text) == exact and len(text.partition(".")[2]) <= 6:
                return text
            decimals = 2
        rounded = as_decimal.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = format(rounded, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0") else text


def naive_fraction_beside(shown: str, exact: Any) -> str | None:
    """The documented rule: a fraction beside a rounded key cell, unless it says nothing new."""
    if isinstance(exact, float):
        return None
    value = Fraction(exact.item() if hasattr(exact, "item") else exact)
    if value.denominator == 1 or value == Fraction(shown):
        return None
    return f"{value.numerator}/{value.denominator}"


def expected_given_texts(sheet: Sheet, name: str) -> list[list[str]]:
    """A given's cells: numbers, or (a word given) its words, looked up in the YAML's vocabulary."""
    raw = template_yaml(sheet.problem.template.id)
    spec = raw["givens"][name]
    values = sheet.problem.givens[name]
    rows, cols = (*values.shape, 1, 1)[:2]  # a scalar is 1 x 1, a vector a column
    grid = values.reshape(rows, cols)
    if spec.get("words"):
        vocabulary = raw["vocabulary"]
        return [[vocabulary[int(v) - 1] for v in row] for row in grid.tolist()]
    return [[naive_number(v) for v in row] for row in grid.tolist()]


def query_words(sheet: Sheet) -> list[str]:
    """vector-db's query, word by word, from the YAML's vocabulary; it must be one of the
    phrases the YAML lists (else the lookup itself is wrong)."""
    words = [row[0] for row in expected_given_texts(sheet, "query")]
    phrases = template_yaml("vector-db")["givens"]["query"]["dist"]["phrases"]
    assert " ".join(words) in phrases, words
    return words


def stored_sentences(sheet: Sheet) -> list[list[str]]:
    sentences = expected_given_texts(sheet, "stored")
    phrases = template_yaml("vector-db")["givens"]["stored"]["dist"]["phrases"]
    assert all(" ".join(s) in phrases for s in sentences), sentences
    return sentences


def test_naive_number_itself() -> None:
    assert naive_number(3) == "3"
    assert naive_number(Fraction(-1, 2)) == "-0.5"
    assert naive_number(Fraction(2, 3), 2) == "0.67"
    assert naive_number(Fraction(3, 5), 2) == "0.6"
    assert naive_number(Fraction(-1, 400), 2) == "0"
    assert naive_number(Fraction(5, 2), 0) == "3" and naive_number(Fraction(-5, 2), 0) == "-3"
    assert naive_number(Fraction(1, 3)) == "0.33"


# ---------------------------------------------------------------------------------------
# The page model


@pytest.mark.parametrize(("template", "seed", "blanks"), [("vector-db", 1, None), ("self-attention", 1, None),
                                                          ("mlp", 3, "layer"), ("hidden-layer", 7, None)])  # fmt: skip
def test_page_cells_follow_the_problem(template: str, seed: int, blanks: str | None) -> None:
    sheet = api.generate(template, seed=seed, blanks=blanks)
    problem = sheet.problem
    for key in (False, True):
        page = build_page(sheet, key=key, exact=True)
        assert [q.name for q in page.givens] == list(template_yaml(template)["givens"])
        for q in page.givens:
            assert q.given and q.texts == expected_given_texts(sheet, q.name), q.name
            assert not any(c.blank or c.answer or c.exact for row in q.cells for c in row)
        for q, step in zip(page.answers, sheet.asked(), strict=True):
            mask = sheet.blanks[step.name]
            values, exact = problem.values[step.name], problem.exact[step.name]
            for i, row in enumerate(q.cells):
                for j, cell in enumerate(row):
                    blank = bool(mask[i, j])
                    if blank and not key:
                        assert (cell.text, cell.blank, cell.answer) == ("", True, False)
                        continue
                    assert cell.text == naive_number(values[i, j], step.decimals)
                    assert cell.answer == (key and blank) and not cell.blank
                    beside = (
                        naive_fraction_beside(cell.text, exact[i, j]) if key and step.decimals is not None else None
                    )
                    assert cell.exact == beside, (step.name, i, j)
        assert page.blank_count == sum(int(m.sum()) for m in sheet.blanks.values())


def test_page_text_comes_from_the_template() -> None:
    sheet = api.generate("vector-db", seed=1)
    raw = template_yaml("vector-db")
    page = build_page(sheet)
    assert page.title == raw["title"]
    assert page.notes == tuple(raw["notes"])
    assert page.intro()[-2:] == [f"Note: {note}" for note in raw["notes"]]
    assert page.intro(summary=False)[0] == f"Note: {raw['notes'][0]}"
    for name, spec in raw["givens"].items():
        assert f"{name}: {spec['label']}" in page.legend
    labels = [s["label"] for s in raw["steps"] if s.get("asked", True)]
    assert [line.label for line in page.steps] == labels[: len(page.steps)]
    assert page.steps[1].text == "2. m1 = mean of T1's columns   (mean pooling)   (round to 2 decimals)"
    assert page.steps[1].label_rounded == "m1 = mean of T1's columns   (mean pooling) (round to 2 decimals)"
    assert page.steps[0].rounding == ""
    e = page.givens[0]
    assert e.col_labels == tuple(raw["vocabulary"]) and e.row_labels == ("1", "2", "3", "4")
    query = next(q for q in page.givens if q.name == "query")
    assert query.words and query.col_labels is None and query.compact() == "[" + ", ".join(query_words(sheet)) + "]"
    assert page.variant == sheet.variant and page.footer.endswith(f"Variant {sheet.variant}.")
    assert page.who == f"Name: {'_' * 24}" and page.kind == "Worksheet" and page.compute_heading == "Compute"
    key = build_page(make_sheet(sheet.problem, "none"), key=True, student="Ada")
    assert (key.who, key.kind, key.compute_heading, key.footer) == ("Student: Ada", "ANSWER KEY", "Steps", "")


def test_rounding_phrases() -> None:
    assert rounding_phrase(None) == ""
    assert rounding_phrase(0) == "round to whole numbers"
    assert rounding_phrase(1) == "round to 1 decimal"
    assert rounding_phrase(2) == "round to 2 decimals"


def test_page_is_frozen() -> None:
    page = build_page(api.generate("matmul", seed=1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.title = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.answers[0].cells[0][0].text = "x"  # type: ignore[misc]
    assert isinstance(page, Layout)


def test_worked_lines_only_on_a_key() -> None:
    sheet = api.generate("matmul", seed=1)
    worked = {step.name: [f"line of {step.name}"] for step in sheet.asked()}
    assert build_page(sheet, worked=worked).worked == ()
    key = build_page(sheet, key=True, worked=worked)
    assert [lines for _, lines in key.worked] == [(f"line of {s.name}",) for s in sheet.asked()]


# ---------------------------------------------------------------------------------------
# vector-db's words in every format


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_word_givens_are_words_in_every_format(seed: int) -> None:
    sheet = api.generate("vector-db", seed=seed)
    words = query_words(sheet)
    stored = stored_sentences(sheet)
    key_sheet = make_sheet(sheet.problem, "none")

    for text in (render_text(sheet_renderable(sheet)), render_text(sheet_renderable(key_sheet, key=True))):
        grids = {grid.title: grid.rows for grid in drawn_grids(text)}
        assert grids["query"] == [[word] for word in words], text  # a vector: one bare column, no index
        assert grids["stored"][1:] == [[str(i), *sentence] for i, sentence in enumerate(stored, start=1)], text

    pages = [printing.Page(sheet, "Ada"), printing.Page(key_sheet, "Ada", key=True)]
    md = printing.markdown_pages(pages)
    query_md = "| **query** |\n| --: |\n" + "\n".join(f"| {w} |" for w in words)
    assert md.count(query_md) == 2
    stored_md = "\n".join(f"| {i} | {' | '.join(s)} |" for i, s in enumerate(stored, 1))
    assert md.count(stored_md) == 2

    html = printing.html_document(pages)
    query_html = "".join(
        rf'<tr style="[^"]*"><th scope="row">{i}</th><td>{w}</td></tr>' for i, w in enumerate(words, 1)
    )
    assert (
        len(
            re.findall(
                rf'<figcaption>query</figcaption><table class="q"[^>]*><colgroup>.*?</colgroup>{query_html}</table>',
                html,
            )
        )
        == 2
    )

    typst = printing.typst_source(pages)
    query_typst = ", ".join(f'nn-label("{i}"), "{w}"' for i, w in enumerate(words, 1))
    assert len(re.findall(rf'nn-q\("query", [^"]*, {re.escape(query_typst)}\)', typst)) == 2

    moodle = lms.moodle_xml([sheet])
    query_cloze = "\n".join(f"<tr><th>{i}</th><td>{w}</td></tr>" for i, w in enumerate(words, 1))
    assert f"<caption>query</caption>\n{query_cloze}\n</table>" in moodle

    gift = lms.gift([sheet])
    question = next(line for line in gift.splitlines() if line.startswith("::"))
    assert f"query (the query sentence) \\= [{', '.join(words)}]" in question
    assert (
        "stored (the stored sentences, one per row) \\= [" + ", ".join(f"[{', '.join(s)}]" for s in stored) in question
    )

    item = ET.fromstring(lms.qti21_item(sheet).split("\n", 1)[1])
    ns = {"q": lms.QTI_NS}
    tables = {t.findtext("q:caption", namespaces=ns): t for t in item.iter(f"{{{lms.QTI_NS}}}table")}
    cells = [[td.text for td in tr.findall("q:td", ns)] for tr in tables["query"].iter(f"{{{lms.QTI_NS}}}tr")]
    assert cells == [[w] for w in words]
    cells = [[td.text for td in tr.findall("q:td", ns)] for tr in tables["stored"].iter(f"{{{lms.QTI_NS}}}tr")]
    assert cells[1:] == stored  # the first row is the column labels


# ---------------------------------------------------------------------------------------
# Golden files, one per print format, for a numeric and a word template

GOLDEN_SHEETS = {"hidden-layer-7": ("hidden-layer", 7), "vector-db-1": ("vector-db", 1)}


def golden_pages(template: str, seed: int) -> list[printing.Page]:
    sheet = api.generate(template, seed=seed)
    return [
        printing.Page(sheet, "Ada Lovelace"),
        printing.Page(make_sheet(sheet.problem, "none"), "Ada Lovelace", key=True),
    ]


@pytest.mark.parametrize("fmt", ["md", "html", "typst"])
@pytest.mark.parametrize("name", sorted(GOLDEN_SHEETS))
def test_print_formats_match_golden(name: str, fmt: str) -> None:
    text = PRINT_FORMATS.get(fmt).renderer()(golden_pages(*GOLDEN_SHEETS[name]), f"{name} worksheets")
    assert isinstance(text, str)
    assert_golden(f"print/{name}.{PRINT_EXTENSIONS[fmt]}", text)


def test_print_goldens_show_words_and_exact_fractions() -> None:
    """What the goldens must say, whatever they were regenerated from."""
    sheet = api.generate("vector-db", seed=1)
    words = query_words(sheet)
    md = (GOLDEN / "print" / "vector-db-1.md").read_text(encoding="utf-8")
    assert "| **query** |\n| --: |\n" + "\n".join(f"| {w} |" for w in words) in md
    # m1's means over three words are thirds: the key writes each beside its rounded cell
    key = md.split("ANSWER KEY", 1)[1]
    rows = []
    for value in sheet.problem.exact["m1"].ravel():
        fraction = Fraction(value)
        beside = f" ({fraction.numerator}/{fraction.denominator})" if fraction.denominator == 3 else ""
        rows.append(f"| {naive_number(fraction, 2)}{beside} |")  # a vector: one bare column
    assert "| **m1** |\n| --: |\n" + "\n".join(rows) in key
    assert "/3)" in "".join(rows)


def test_pdf_holds_the_words() -> None:
    pytest.importorskip("typst")
    sheet = api.generate("vector-db", seed=1)
    data = PRINT_FORMATS.get("pdf").renderer()([printing.Page(sheet, "Ada")], "vector-db")
    assert PRINT_FORMATS.get("pdf").binary and isinstance(data, bytes) and data.startswith(b"%PDF")
    try:
        import pypdf
    except ImportError:
        return
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert all(word in text for word in query_words(sheet))


# ---------------------------------------------------------------------------------------
# The registries


def test_registries_name_their_formats() -> None:
    assert SHEET_FORMATS.names() == ("terminal", "json", "html-check")
    assert KEY_FORMATS.names() == ("terminal", "yaml", "json")
    assert PRINT_FORMATS.names() == ("html", "md", "pdf", "typst")
    assert POOL_FORMATS.names() == ("moodle", "gift", "qti")
    assert [f.name for f in PRINT_FORMATS if f.binary] == ["pdf"]
    assert [f.name for f in POOL_FORMATS if f.binary] == ["qti"]  # a zip: IMS content package
    for registry in (SHEET_FORMATS, KEY_FORMATS, PRINT_FORMATS, POOL_FORMATS):
        assert all(callable(f.renderer()) for f in registry)
    assert set(PRINT_EXTENSIONS) == set(PRINT_FORMATS.names())


def test_the_registry_module_is_light() -> None:
    code = "import sys, nnhand.output.sheets; print(sorted(m for m in ('numpy', 'rich', 'yaml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sheet_formats() -> None:
    sheet = api.generate("hidden-layer", seed=7)
    terminal = SHEET_FORMATS.get("terminal").renderer()(sheet)
    assert terminal == (GOLDEN / "gen-hidden-layer-7.txt").read_text(encoding="utf-8")  # what `gen` printed
    batch = api.generate("batch", seed=5, blanks="one")
    text = SHEET_FORMATS.get("json").renderer()(batch)
    assert text == (GOLDEN / "gen-batch-5.json").read_text(encoding="utf-8")  # what `gen --format json` printed
    assert json.loads(text)["variant"] == batch.variant


def test_terminal_renderers_keep_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    sheet = api.generate("matmul", seed=1)
    assert "\x1b[" not in SHEET_FORMATS.get("terminal").renderer()(sheet)
    monkeypatch.setattr(sys, "stdout", Tty())
    assert "\x1b[1m" in SHEET_FORMATS.get("terminal").renderer()(sheet)  # the bold heading


def test_key_formats() -> None:
    problem = api.generate("backprop", seed=7).problem
    assert KEY_FORMATS.get("terminal").renderer()(problem) == (GOLDEN / "key-backprop-7.txt").read_text(
        encoding="utf-8"
    )
    matmul = api.generate("matmul", seed=2).problem
    yaml_text = KEY_FORMATS.get("yaml").renderer()(matmul)
    assert yaml_text == (GOLDEN / "key-matmul-2.yaml").read_text(encoding="utf-8")
    plain = json.loads(KEY_FORMATS.get("json").renderer()(matmul))
    worked = json.loads(KEY_FORMATS.get("json").renderer()(matmul, explain=True))
    assert "worked" not in plain and set(worked["worked"]) == {s.name for s in matmul.template.steps if s.asked}
    assert yaml.safe_load(yaml_text) == plain
    explained = KEY_FORMATS.get("terminal").renderer()(matmul, explain=True)
    assert "Worked solution" in explained
    exact = KEY_FORMATS.get("terminal").renderer()(api.generate("self-attention", seed=1).problem, exact=True)
    assert re.search(r"\d \(\d+/\d+\)", exact)


def test_pool_formats() -> None:
    template = api.load("matmul")
    pool = lms.build_pool(template, 2, first_seed=5)
    assert POOL_FORMATS.get("moodle").renderer()(pool) == lms.moodle_xml(pool.sheets, pool=pool)
    assert POOL_FORMATS.get("gift").renderer()(pool) == lms.gift(pool.sheets, pool=pool)
    package = POOL_FORMATS.get("qti").renderer()(pool)
    assert package == lms.qti_package(pool.sheets, pool.record_lines())
    with zipfile.ZipFile(io.BytesIO(package)) as files:
        assert files.namelist() == ["imsmanifest.xml", *(lms.item_file(s) for s in pool.sheets)]
        for sheet, item in zip(pool.sheets, lms.qti21(pool.sheets)):
            assert files.read(lms.item_file(sheet)).decode() == item
