"""Moodle XML, GIFT and QTI 2.1 exports, parsed back and checked against the answer key
(`key_data`) and the grader's tolerances — never against the exporter's own helpers."""

from __future__ import annotations

import dataclasses
import html
import re
import xml.etree.ElementTree as ET
from fractions import Fraction

import numpy as np
import pytest

from nnhand import api
from nnhand.core.keys import key_data
from nnhand.core.reading import cell_name
from nnhand.core.sheet import Sheet
from nnhand.errors import NnhandError
from nnhand.grading.answers import answer_file_data
from nnhand.grading.grade import grade_data, tolerance
from nnhand.output.lms import cloze_escape, gift, gift_escape, moodle_xml, qti21, qti21_item, zero_answer_warnings

from .test_page import naive_number

QTI = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
# matmul: integers; backprop: many zeros; perceptron-tanh, bce-loss, lstm: `round: 2` (bce-loss
# and lstm have cells where working without intermediate rounding rounds differently);
# vector-db: word givens and thirds; mlp: the `layer` blank pattern (given cells among blanks).
CASES = [
    ("matmul", 1),
    ("matmul", 2),
    ("backprop", 7),
    ("perceptron-tanh", 3),
    ("bce-loss", 1),
    ("lstm", 1),
    ("vector-db", 1),
    ("mlp", 4),
]
NUMBER = r"-?(?:[0-9]+[.,]?[0-9]*|[.,][0-9]+)(?:[eE][-+]?[0-9]+)?"  # Moodle's NUMBER_REGEX
FIELD = re.compile(r"\{1:NUMERICAL:((?:[^}\\]|\\.)*)\}")


def sheets() -> list[Sheet]:
    return [api.generate(template, seed) for template, seed in CASES]


def expected_blanks(sheet: Sheet) -> list[tuple[str, str, Fraction, Fraction]]:
    """(step, cell, key, tolerance) for every blank cell, in sheet order, from key_data."""
    key = key_data(sheet.problem)["answers"]
    out = []
    for step in sheet.asked():
        shape = sheet.shape(step.name)
        for i, j in np.argwhere(sheet.blanks[step.name]):
            value = key[step.name]
            if len(shape) >= 1:
                value = value[i]
            if len(shape) == 2:
                value = value[j]
            cell = cell_name(step.name, shape, int(i), int(j))
            out.append((step.name, cell, Fraction(str(value)), tolerance(step.decimals)))
    return out


def accepted_by_grader(sheet: Sheet, step: str, cell: str, answer: str) -> bool:
    """Whether nnhand's grader takes `answer` for `cell` (everything else filled from the key)."""
    data = answer_file_data(sheet)
    key = key_data(sheet.problem)["answers"]
    data["answers"] = {name: key[name] for name in data["answers"]}
    shape = sheet.shape(step)
    i, j = next((int(i), int(j)) for i, j in np.argwhere(sheet.blanks[step]) if cell_name(step, shape, i, j) == cell)
    if len(shape) == 0:
        data["answers"][step] = answer
    elif len(shape) == 1:
        data["answers"][step] = [answer if k == i else v for k, v in enumerate(key[step])]
    else:
        data["answers"][step] = [
            [answer if (r, c) == (i, j) else v for c, v in enumerate(row)] for r, row in enumerate(key[step])
        ]
    report = grade_data(data, "a.yaml")[0]
    return next(c for s in report.steps for c in s.cells if c.cell == cell).credited


def alternatives(body: str) -> list[tuple[str, str]]:
    """(answer, tolerance) of each '=' alternative of a cloze NUMERICAL field."""
    out = []
    for alt in re.split(r"~", body):
        match = re.match(rf"^=({NUMBER}):({NUMBER})(#.*)?$", alt, re.S)
        assert match, f"not a NUMERICAL alternative Moodle can read: {alt!r}"
        out.append((match[1], match[2]))
    return out


# ----------------------------------------------------------------------------- Moodle XML


def test_moodle_xml_has_a_category_first_and_one_cloze_per_variant() -> None:
    all_sheets = sheets()
    root = ET.fromstring(moodle_xml(all_sheets))
    assert root.tag == "quiz"
    questions = root.findall("question")
    assert questions[0].get("type") == "category"
    categories = [q.findtext("category/text") for q in questions if q.get("type") == "category"]
    assert categories == [f"$course$/nnhand/{t}" for t in dict.fromkeys(t for t, _ in CASES)]
    cloze = [q for q in questions if q.get("type") == "cloze"]
    assert [q.findtext("name/text") for q in cloze] == [s.variant for s in all_sheets]
    current = None
    for q in questions:  # every cloze question sits under its own template's category
        if q.get("type") == "category":
            current = (q.findtext("category/text") or "").rsplit("/", 1)[1]
        else:
            assert (q.findtext("name/text") or "").startswith(f"{current}@")
    for q in cloze:
        assert q.find("defaultgrade") is None  # FORMATS.md: cloze questions carry none
        assert q.findtext("penalty") is not None and q.findtext("hidden") == "0"
        assert q.find("questiontext").get("format") == "html"  # type: ignore[union-attr]
        assert q.findtext("generalfeedback/text")


@pytest.mark.parametrize(("template", "seed"), CASES)
def test_cloze_fields_match_the_key_and_the_rounding(template: str, seed: int) -> None:
    sheet = api.generate(template, seed)
    root = ET.fromstring(moodle_xml([sheet]))
    text = root.findall("question")[1].findtext("questiontext/text") or ""
    fields = FIELD.findall(text)
    assert text.count("{1:NUMERICAL:") == sheet.blank_count() == len(fields)
    for body, (step, cell, key, tol) in zip(fields, expected_blanks(sheet)):
        answers = alternatives(body)
        answer, given_tol = answers[0]
        assert Fraction(answer) == key, cell
        assert Fraction(given_tol) == tol, cell
        for other, other_tol in answers[1:]:  # working without rounding: taken by the grader too
            assert Fraction(other_tol) == tol
            assert accepted_by_grader(sheet, step, cell, other), (cell, other)
    # Outside the fields nothing looks like cloze syntax to Moodle's parser.
    assert "{" not in FIELD.sub("", text) and "}" not in FIELD.sub("", text)


def test_cloze_offers_the_unrounded_answer_where_it_rounds_differently() -> None:
    sheet = api.generate("bce-loss", 1)
    text = ET.fromstring(moodle_xml([sheet])).findall("question")[1].findtext("questiontext/text") or ""
    assert any(len(alternatives(body)) == 2 for body in FIELD.findall(text))


def test_cloze_shows_the_given_cells_of_a_partly_blank_step_as_numbers() -> None:
    sheet = api.generate("mlp", 4)
    assert sheet.policy == "layer"
    text = ET.fromstring(moodle_xml([sheet])).findall("question")[1].findtext("questiontext/text") or ""
    key = key_data(sheet.problem)["answers"]
    shown = 0
    for step in sheet.asked():
        table = re.search(rf"<caption>{re.escape(step.name)}</caption>(.*?)</table>", text, re.S)
        assert table, step.name
        tds = re.findall(r"<td>(.*?)</td>", table[1], re.S)
        mask = sheet.blanks[step.name]
        assert len(tds) == mask.size
        values = np.array(key[step.name], dtype=object).reshape(mask.shape)
        for td, blank, value in zip(tds, mask.ravel(), values.ravel()):
            if blank:
                assert td.startswith("{1:NUMERICAL:")
            else:
                assert Fraction(td) == Fraction(str(value))
                shown += 1
    assert shown > 0


def test_a_sheet_without_blanks_cannot_become_a_question() -> None:
    sheet = api.generate("matmul", 1, blanks="none")
    with pytest.raises(NnhandError, match="no blank cells"):
        moodle_xml([sheet])
    with pytest.raises(NnhandError):
        gift([sheet])
    with pytest.raises(NnhandError):
        qti21([sheet])


def test_cloze_escape_hides_every_special_character() -> None:
    text = 'a } b # c ~ d / e " f \\ g { h & <i>'
    escaped = cloze_escape(text)
    for char in '}#~/"\\{<>':
        assert char not in escaped.replace("&#", "")
    assert html.unescape(escaped) == text


# ----------------------------------------------------------------------------- GIFT


def test_gift_escape_backslashes_the_special_characters() -> None:
    assert gift_escape("~=#{}:") == r"\~\=\#\{\}\:"
    assert gift_escape("a\\b") == "a\\\\b"
    assert gift_escape("two\nlines") == "two\\nlines"
    assert gift_escape("plain text, (1, 2) [3]") == "plain text, (1, 2) [3]"


def _moodle_gift_question(block: str) -> tuple[str, str, list[tuple[str, str]], str]:
    """Parse one GIFT question as Moodle's importer does: escapes to placeholders, the name
    between '::', the answer between the first '{' and the first '}', numerical answers."""
    placeholders = {
        "\\:": "\x01",
        "\\#": "\x02",
        "\\=": "\x03",
        "\\{": "\x04",
        "\\}": "\x05",
        "\\~": "\x06",
        "\\n": "\n",
    }
    text = block.replace("\\\\", "\x07")
    for escaped, mark in placeholders.items():
        text = text.replace(escaped, mark)
    assert text.startswith("::")
    name, text = text[2:].split("::", 1)
    start, finish = text.index("{"), text.index("}")
    assert finish == len(text) - 1, "the answer block ends the question"
    question, answer = text[:start], text[start + 1 : finish]
    assert answer.startswith("#"), "a numerical answer"
    body, _, feedback = answer[1:].partition("####")
    parts = [p.strip() for p in body.split("=")]
    if parts and parts[0] == "":
        parts = parts[1:]
    answers = []
    for part in parts:
        assert ":" in part, f"no tolerance in {part!r}: Moodle drops a bare 0"
        value, tol = part.split(":")
        answers.append((value, tol))
    assert "{" not in question and "}" not in question and "::" not in question
    restore = {mark: escaped[1] for escaped, mark in placeholders.items() if escaped != "\\n"} | {"\x07": "\\"}
    unescape = str.maketrans(restore)
    return name.translate(unescape), question.translate(unescape), answers, feedback.translate(unescape)


def test_gift_has_one_question_per_blank_cell_with_the_key() -> None:
    all_sheets = sheets()
    text = gift(all_sheets)
    blocks = [b.strip() for b in text.split("\n\n") if b.startswith("::")]
    assert len(blocks) == sum(s.blank_count() for s in all_sheets)
    categories = re.findall(r"^\$CATEGORY: (.*)$", text, re.M)
    assert categories == [f"$course$/nnhand/{t}" for t in dict.fromkeys(t for t, _ in CASES)]
    expected = [(s, *blank) for s in all_sheets for blank in expected_blanks(s)]
    for block, (sheet, step, cell, key, tol) in zip(blocks, expected):
        assert "\n" not in block
        name, question, answers, feedback = _moodle_gift_question(block)
        assert name == f"{sheet.variant} {cell}"
        assert question.endswith(f"What is {cell}?")
        assert "Given: " in question
        assert Fraction(answers[0][0]) == key and Fraction(answers[0][1]) == tol
        for other, other_tol in answers[1:]:
            assert Fraction(other_tol) == tol and accepted_by_grader(sheet, step, cell, other)
        assert cell in feedback


def test_gift_writes_a_zero_answer_with_its_tolerance() -> None:
    text = gift([api.generate("backprop", 7)])
    assert "{#0:0####" in text
    assert not re.search(r"\{#=?0\}|\{#0####", text)


# ----------------------------------------------------------------------------- QTI 2.1


@pytest.mark.parametrize(("template", "seed"), CASES)
def test_qti_item_has_one_interaction_and_check_per_blank(template: str, seed: int) -> None:
    sheet = api.generate(template, seed)
    item = ET.fromstring(qti21_item(sheet))
    assert item.tag == f"{QTI}assessmentItem"
    ncname = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
    assert ncname.match(item.get("identifier", ""))
    interactions = item.findall(f".//{QTI}textEntryInteraction")
    declarations = item.findall(f"{QTI}responseDeclaration")
    assert len(interactions) == len(declarations) == sheet.blank_count()
    ids = [d.get("identifier", "") for d in declarations]
    assert len(set(ids)) == len(ids) and all(ncname.match(i) for i in ids)
    assert sorted(i.get("responseIdentifier", "") for i in interactions) == sorted(ids)
    conditions = item.findall(f"{QTI}responseProcessing/{QTI}responseCondition")
    assert len(conditions) == len(ids)
    for declaration, condition, (_, cell, key, tol) in zip(declarations, conditions, expected_blanks(sheet)):
        assert declaration.get("baseType") == "float" and declaration.get("cardinality") == "single"
        assert Fraction(declaration.findtext(f"{QTI}correctResponse/{QTI}value") or "") == key, cell
        equals = condition.findall(f".//{QTI}equal")
        assert equals
        for equal in equals:
            assert equal.get("toleranceMode") == "absolute"
            assert [Fraction(t) for t in (equal.get("tolerance") or "").split()] == [tol, tol]
            assert equal.find(f"{QTI}variable").get("identifier") == declaration.get("identifier")  # type: ignore[union-attr]
        outcome = condition.find(f".//{QTI}setOutcomeValue")
        assert outcome is not None and outcome.get("identifier") == "SCORE"
    outcomes = {
        o.get("identifier"): o.findtext(f"{QTI}defaultValue/{QTI}value")
        for o in item.findall(f"{QTI}outcomeDeclaration")
    }
    assert outcomes == {"SCORE": "0", "MAXSCORE": str(sheet.blank_count())}


def test_qti21_returns_one_document_per_sheet() -> None:
    all_sheets = sheets()[:3]
    documents = qti21(all_sheets)
    assert len(documents) == 3
    titles = [ET.fromstring(d).get("title", "") for d in documents]
    assert all(s.variant in t for s, t in zip(all_sheets, titles))


# ----------------------------------------------------------------------------- answers of 0


def test_zero_answers_are_flagged_for_canvas() -> None:
    sheet = api.generate("backprop", 7)
    zeros = [cell for _, cell, key, _ in expected_blanks(sheet) if key == 0]
    assert zeros
    for fmt in ("qti", "canvas", "qti21"):
        warnings = zero_answer_warnings([sheet], fmt)
        assert len(warnings) == 1
        assert sheet.variant in warnings[0] and zeros[0] in warnings[0] and "Canvas" in warnings[0]
    assert zero_answer_warnings([sheet], "moodle") == []  # Moodle grades 0 right (see lms.py)
    assert zero_answer_warnings([sheet], "gift") == []


def test_tiny_answers_are_flagged_and_ordinary_ones_are_not() -> None:
    sheet = next(
        s
        for s in (api.generate("matmul", seed) for seed in range(1, 50))
        if all(k != 0 for *_, k, _ in expected_blanks(s))
    )
    assert zero_answer_warnings([sheet], "qti") == []
    values = dict(sheet.problem.values)
    tiny = values["C"].astype(object)
    tiny[0, 0] = Fraction(1, 100_000)
    values["C"] = tiny
    changed = dataclasses.replace(sheet, problem=dataclasses.replace(sheet.problem, values=values))
    warnings = zero_answer_warnings([changed], "qti")
    assert len(warnings) == 1 and "C[1,1]" in warnings[0] and "1e-4" in warnings[0]


def test_a_format_without_known_rounding_trouble_gets_no_warnings() -> None:
    """A pool format added to the registry must not break export: only Canvas-style QTI is
    known to grade answers below 1e-4 wrongly (see lms.py's docstring)."""
    sheet = api.generate("matmul", 1, None, "all")
    assert zero_answer_warnings([sheet], "moodle") == zero_answer_warnings([sheet], "blackboard") == []


# ----------------------------------------------------------------------------- the page model's text


def test_feedback_gives_the_exact_fraction_only_where_the_rounded_key_hides_it() -> None:
    """One rule with the printed key: "0.19 (exactly 3/16)", but plain "0.75" for 3/4."""
    sheet = api.generate("causal-attention", seed=1)
    moodle = moodle_xml([sheet])
    feedback = html.unescape(moodle)
    exact = sheet.problem.exact["A"]
    seen = set()
    for step, cell, key, _ in expected_blanks(sheet):
        if step != "A":
            continue
        i, j = (int(k) - 1 for k in cell[2:-1].split(","))
        value = Fraction(exact[i, j])
        fraction = f"{value.numerator}/{value.denominator}"
        hidden = value.denominator != 1 and value != key  # the rounded key is not the exact value
        shown = naive_number(key, 2)
        assert (f"#{cell} = {shown} (exactly {fraction})" in feedback) == hidden, cell
        assert f"#{cell} = {shown}" in feedback
        seen.add(hidden)
    assert seen == {True, False}  # both kinds occur in this variant


def test_questions_show_the_sheet_text() -> None:
    """Title, notes, legend, step labels and rounding phrases, from the template's YAML."""
    import yaml

    from nnhand.resources import template_files

    raw = yaml.safe_load(template_files()["self-attention"].read_text(encoding="utf-8"))
    sheet = api.generate("self-attention", seed=1)
    cloze = html.unescape(moodle_xml([sheet]))
    item = qti21_item(sheet)
    text = gift([sheet])
    params = {k: str(v) for k, v in sheet.problem.params.items()}

    def holds(entry: object) -> bool:  # `when:` at the defaults (a condition over the sizes)
        when = entry.get("when") if isinstance(entry, dict) else None
        return when is None or bool(eval(when, {}, dict(sheet.problem.params)))  # our own template's text

    for written in raw.get("notes", []):
        if not holds(written):
            continue
        written = written["text"] if isinstance(written, dict) else written
        note = re.sub(r"\{(\w+)\}", lambda m: params.get(m[1], m[0]), written)  # {dk} placeholders: the sizes
        assert f"<p>Note: {note}</p>" in cloze and f"<p>Note: {note}</p>" in html.unescape(item)
        assert gift_escape(f"Note: {note}") in text
    for n, step in enumerate((s for s in raw["steps"] if s.get("ask", True) and holds(s)), start=1):
        rounding = {None: "", 0: " (round to whole numbers)", 1: " (round to 1 decimal)"}.get(
            step.get("round"), f" (round to {step.get('round')} decimals)"
        )
        assert f"<p>{n}. {step['label']}{rounding}</p>" in cloze, step["label"]
    legend = "; ".join(f"{name}: {g['label']}" for name, g in raw["givens"].items() if "label" in g)
    assert f"<p>{legend}</p>" in cloze
