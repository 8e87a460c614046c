"""Safe outputs: text from strangers (template titles, labels, notes, words, student names,
answers as written, error messages) reaches a terminal, feedback files, XML, GIFT, HTML,
typst and Markdown without control characters and without changing the structure of what
it lands in; and every command degrades to ASCII where the terminal cannot print Unicode.

Structure is judged by parsing the output back with an independent reader (ElementTree,
html.parser, Moodle's own GIFT splitting rules, typst itself) and comparing it with the
same output made from harmless text, never by re-running nnhand's escape functions."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.core.keys import key_data
from nnhand.core.sheet import Sheet
from nnhand.grading.answers import answer_file_data, answer_file_text
from nnhand.grading.grade import Report, grade_data
from nnhand.output.lms import gift, moodle_xml, qti21_item
from nnhand.output.printing import Page, html_document, markdown_pages, typst_source, typst_string
from nnhand.output.reports import Ungraded, classroom_json, gradescope_error_json, gradescope_json, junit_xml
from nnhand.output.terminal import console, report_renderable, sheet_renderable

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

HOSTILE = [
    "]]>",
    "--",
    "-->",
    "<!--",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x1b]8;;https://evil.example\x07",
    "\x9b2J",  # a C1 CSI: clears the screen on terminals that honour 8-bit controls
    "\ud800",
    "\udfff",
    "\ufffe",
    "\uffff",
    "\u202e",
    "[/]",
    "[bold red]",
    ":smile:",
    "\n",
    "\r",
    "\n\n::injected::What?{#1}\n\n",
    "\n// [id:x] [tag:y]\n",
    "<script>alert(1)</script>",
    "&amp;",
    "'\"",
    "{1:NUMERICAL:=9}",
    "#~=:{}\\",
    "`*_|[]<>$@",
    '#set page(paper: "a5")',
    "x]",
]
# Whatever may remain of a control character in a written file (tab and newline aside).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff\ufffe\uffff]")

hostile = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(blacklist_categories=()), max_size=4)),
    min_size=1,
    max_size=5,
).map("".join)
# Framed so that no field becomes empty once cleaned (an empty summary has no paragraph at
# all, which is a different structure for a good reason).
framed = hostile.map(lambda s: f"A{s}Z")
fuzz = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def hostile_sheet(text: str, template: str = "matmul", seed: int = 1) -> Sheet:
    """A real sheet whose every piece of template text (title, summary, notes, labels of
    givens and steps, row and column labels) is `text`."""
    sheet = api.generate(template, seed)
    tpl = sheet.problem.template
    changed = dataclasses.replace(
        tpl,
        title=text,
        summary=text,
        notes=(text, text),
        givens={n: dataclasses.replace(g, label=text, rows=text, cols=text) for n, g in tpl.givens.items()},
        steps=[dataclasses.replace(s, label=text, rows=text, cols=text) for s in tpl.steps],
    )
    return dataclasses.replace(sheet, problem=dataclasses.replace(sheet.problem, template=changed))


def hostile_report(text: str) -> Report:
    """A real report whose title, student, source, labels, diagnoses and answers-as-written are `text`."""
    sheet = api.generate("backprop", 7)
    data = answer_file_data(sheet, "s1")
    key = key_data(sheet.problem)["answers"]
    z1 = list(key["z1"])
    z1[1] -= 1
    data["answers"] = {"z1": z1}
    report = grade_data(data, "a.yaml")[0]
    report.title, report.student, report.source = text, text, text
    for step in report.steps:
        step.label = text
        step.diagnosis = [text]
        step.reading = [text]
        for c in step.cells:
            if c.status == "wrong":
                c.given = text
    return report


def assert_clean(text: str) -> None:
    found = CONTROL.search(text)
    if found is not None:
        at = found.start()
        pytest.fail(f"control character {found.group()!r} written at {at}: {text[max(0, at - 30) : at + 30]!r}")


def xml_texts(root: ET.Element) -> list[str]:
    out = []
    for element in root.iter():
        out += [element.text or "", element.tail or "", *element.attrib.values()]
    return out


def parse_xml(document: str) -> ET.Element:
    return ET.fromstring(document.encode("utf-8"))  # as the file is written: UTF-8 bytes


# ----------------------------------------------------------------------------- XML


@fuzz
@given(framed)
def test_moodle_xml_parses_and_holds_no_control_character_for_any_text(text: str) -> None:
    document = moodle_xml([hostile_sheet(text)])
    root = parse_xml(document)
    assert [q.get("type") for q in root.findall("question")] == ["category", "cloze"]
    assert_clean(document)
    plain_tags = tag_sequence(root.find("question[@type='cloze']/questiontext/text").text or "")
    assert plain_tags == tag_sequence(
        parse_xml(moodle_xml([hostile_sheet("x")])).find("question[@type='cloze']/questiontext/text").text or ""
    ), "template text changed the structure of the question's HTML"


@fuzz
@given(framed)
def test_qti_parses_and_holds_no_control_character_for_any_text(text: str) -> None:
    sheet = hostile_sheet(text)
    root = parse_xml(qti21_item(sheet))
    benign = parse_xml(qti21_item(hostile_sheet("x")))
    assert [e.tag for e in root.iter()] == [e.tag for e in benign.iter()]
    for piece in xml_texts(root):
        assert_clean(piece)


@fuzz
@given(hostile)
def test_junit_parses_for_any_text_in_reports_and_errors(text: str) -> None:
    document = junit_xml([hostile_report(text), Ungraded(text, text, text, text)])
    root = parse_xml(document)
    assert len(root.findall("testsuite")) == 2
    for piece in xml_texts(root):
        assert_clean(piece)


def test_moodle_comment_survives_every_run_of_hyphens() -> None:
    for title in ("a-", "---", "a---b", "-", "-- -->"):
        document = moodle_xml([hostile_sheet(title)])
        parse_xml(document)  # an XML comment may not hold "--" nor end with "-"


# ----------------------------------------------------------------------------- GIFT


def moodle_gift_questions(text: str) -> list[str]:
    """Questions as Moodle's importer finds them: blank lines separate questions, comment
    lines (// after trimming) are dropped, a $CATEGORY block is not a question."""
    blocks, current = [], []
    for line in text.split("\n"):
        if line.strip(" \t\n\r\0\x0b") == "":
            if current:
                blocks.append(current)
            current = []
        else:
            current.append(line)
    if current:
        blocks.append(current)
    questions = []
    for block in blocks:
        body = "\n".join(line for line in block if not line.strip().startswith("//")).strip()
        if body and not body.startswith("$CATEGORY:"):
            questions.append(body)
    return questions


def unescaped(text: str, char: str) -> int:
    return len(re.findall(r"(?<!\\)(?:\\\\)*" + re.escape(char), text))


@fuzz
@given(hostile)
def test_gift_has_one_question_per_blank_cell_for_any_text(text: str) -> None:
    sheet = hostile_sheet(text)
    document = gift([sheet])
    assert_clean(document)
    questions = moodle_gift_questions(document)
    assert len(questions) == sheet.blank_count()
    for question in questions:
        assert "\n" not in question
        assert question.startswith("::") and unescaped(question, "::") >= 2
        assert unescaped(question, "{") == 1 and unescaped(question, "}") == 1 and question.endswith("}")
    comments = [line for line in document.split("\n") if line.startswith("//")]
    assert all("[id:" not in line and "[tag:" not in line for line in comments)


# ----------------------------------------------------------------------------- answer files


@fuzz
@given(hostile)
def test_template_text_cannot_add_lines_to_an_answer_file(text: str) -> None:
    sheet = hostile_sheet(text)
    written = answer_file_text(sheet, student="s1")
    written.encode("utf-8")
    data = yaml.safe_load(written)
    assert list(data) == ["variant", "blanks", "student", "givens", "answers"]
    assert data["variant"] == sheet.variant and data["blanks"] == sheet.policy
    assert_clean(written)


# ----------------------------------------------------------------------------- HTML


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.tags.append("/" + tag)

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def tag_sequence(document: str) -> list[str]:
    parser = Tags()
    parser.feed(document)
    parser.close()
    return parser.tags


@fuzz
@given(framed)
def test_html_structure_does_not_depend_on_the_text(text: str) -> None:
    sheet = hostile_sheet(text)
    document = html_document([Page(sheet, text), Page(sheet, text, key=True)], title=text)
    # As long as the hostile text: a long label may wrap the page's rows of tables (the
    # layout measures it), which is layout, not structure that the text controls.
    plain = "x" * len(text)
    benign = html_document(
        [Page(hostile_sheet(plain), plain), Page(hostile_sheet(plain), plain, key=True)], title=plain
    )
    assert tag_sequence(document) == tag_sequence(benign)
    assert_clean(document)
    document.encode("utf-8")


def test_html_escapes_the_five_characters() -> None:
    sheet = hostile_sheet("<b>&\"'</b>")
    document = html_document([Page(sheet, "<i>'\"&</i>")])
    assert "<b>" not in document and "<i>" not in document
    parser = Tags()
    parser.feed(document)
    assert "<b>&\"'</b>" in "".join(parser.data) and "<i>'\"&</i>" in "".join(parser.data)


# ----------------------------------------------------------------------------- Markdown


STRUCTURAL = set("#->+*=|`~_[<") | {" "}


def unescaped_pipes(line: str) -> int:
    return unescaped(line, "|")


@fuzz
@given(framed)
def test_markdown_structure_does_not_depend_on_the_text(text: str) -> None:
    sheet = hostile_sheet(text)
    document = markdown_pages([Page(sheet, text), Page(sheet, text, key=True)])
    benign = markdown_pages([Page(hostile_sheet("x"), "x"), Page(hostile_sheet("x"), "x", key=True)])
    assert_clean(document)
    lines, benign_lines = document.split("\n"), benign.split("\n")
    assert len(lines) == len(benign_lines)
    for line, reference in zip(lines, benign_lines):
        assert unescaped_pipes(line) == unescaped_pipes(reference), line
        if reference[:1] in STRUCTURAL or reference[:1].isdigit():
            assert line[:1] == reference[:1], (line, reference)
        else:  # where the text starts a line, it cannot start a heading, list, quote or rule
            assert line[:1] not in STRUCTURAL and not re.match(r"\d+[.)]", line), (line, reference)
        for char in "*_`[<":
            if char not in reference:
                assert unescaped(line, char) == 0, (char, line)


@pytest.mark.parametrize(
    "start", ["- a", "+ a", "* a", "1. a", "2) a", "---", "# a", "> a", "=== a", "~~~", "    code"]
)
def test_markdown_text_cannot_start_a_block(start: str) -> None:
    blocks = markdown_pages([Page(hostile_sheet(start), "x")]).split("\n\n")
    summary, legend = blocks[2], blocks[blocks.index("## Given") + 1]
    for block in (summary, legend):
        assert not re.match(r"(\d+[.)]|[-+*>#=~_`|]| {4}|\t)", block), block


# ----------------------------------------------------------------------------- typst


typst_fuzz = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@typst_fuzz
@given(hostile)
def test_typst_strings_are_literal_text_for_any_input(text: str) -> None:
    typst = pytest.importorskip("typst")
    source = f"#metadata({typst_string(text)}) <probe>"
    found = json.loads(typst.query(source.encode("utf-8"), "<probe>", field="value"))
    assert len(found) == 1
    shown = found[0]
    assert_clean(shown)
    kept = "".join(ch for ch in text.replace("\r\n", "\n").replace("\r", "\n") if not CONTROL.match(ch))
    if "\x1b" in text:  # an escape sequence goes whole: what is shown is what is left, in order
        rest = iter(kept)
        assert all(ch in rest for ch in shown), (shown, kept)
    else:  # nothing printable is lost, nothing is added
        assert shown == kept


def test_typst_document_with_every_metacharacter_compiles() -> None:
    pytest.importorskip("typst")
    from nnhand.output.printing import pdf_bytes

    text = "#let x = 1 $a$ *b* _c_ `d` <e> @f [g] \\ ] [/] // h /* i"
    sheet = hostile_sheet(text)
    pages = [Page(sheet, text), Page(sheet, text, key=True)]
    source = typst_source(pages, title=text)
    assert_clean(source)
    assert pdf_bytes(pages, title=text).startswith(b"%PDF")


# ----------------------------------------------------------------------------- terminal


def rendered(renderable: Any) -> str:
    buffer = io.StringIO()
    console(file=buffer, width=80, color=False).print(renderable)
    return buffer.getvalue()


@fuzz
@given(hostile)
def test_terminal_sheets_and_reports_hold_no_escape_and_no_markup(text: str) -> None:
    sheet = hostile_sheet(text)
    for output in (
        rendered(sheet_renderable(sheet)),
        rendered(sheet_renderable(sheet, key=True)),
        rendered(report_renderable(hostile_report(text))),
    ):
        assert_clean(output)
        output.encode("utf-8")


def test_rich_markup_in_text_is_shown_as_written() -> None:
    sheet = hostile_sheet("[/] [bold]x[/bold] :smile:")
    output = rendered(sheet_renderable(sheet))
    assert "[/] [bold]x[/bold] :smile:" in output
    report = hostile_report("[/]")
    assert "[/]" in rendered(report_renderable(report))
    buffer = io.StringIO()
    console(file=buffer, color=False).print("a plain string [/] with [red]markup[/red]")
    assert buffer.getvalue() == "a plain string [/] with [red]markup[/red]\n"


def test_terminal_colour_survives_the_cleaning() -> None:
    """Cleaning strips what the text holds, not the styles rich adds around it."""
    from rich.text import Text

    buffer = io.StringIO()
    terminal = console(file=buffer, color=True)
    terminal.force_terminal = True  # type: ignore[misc]
    terminal.print(Text("bold\x1b[31m", style="bold"))
    out = buffer.getvalue()
    assert "\x1b[1m" in out and "bold" in out and "\x1b[31m" not in out


def test_an_error_message_reaches_the_terminal_without_escapes(tmp_path: Path) -> None:
    path = tmp_path / "a\x1b[2Jb\x07.yaml"
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    assert_clean(result.stderr.replace("\n", ""))


def test_list_shows_a_template_title_literally(tmp_path: Path) -> None:
    source = (ROOT / "problems" / "matmul.yaml").read_text(encoding="utf-8")
    title = re.search(r"^title: .*$", source, re.M)
    assert title is not None
    own = tmp_path / "own"
    own.mkdir()
    text = source.replace(title.group(), 'title: "Tricky [/] \\e[31mred \\x9b2J [bold]"').replace(
        "id: matmul", "id: tricky"
    )
    (own / "tricky.yaml").write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["list", "--problems-dir", str(own)])
    if result.exit_code == 2:  # a stricter template reader may refuse control characters: also safe
        assert_clean(result.stderr.replace("\n", ""))
        return
    assert result.exit_code == 0, result.stderr
    assert "Tricky [/] red 2J [bold]" in result.stdout
    assert_clean(result.stdout.replace("\n", ""))


def test_feedback_files_hold_no_escape_and_no_markup(tmp_path: Path) -> None:
    from nnhand.classroom.build import build_assignment, manifest_data
    from nnhand.classroom.gradebook import GradeBook, Submission, feedback_files
    from nnhand.classroom.manifest import read_manifest
    from nnhand.classroom.roster import Student

    students = [Student("s1")]
    batch = build_assignment(["hidden-layer"], students, "hw", b"secret")
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest_data(batch)))
    manifest = read_manifest(path)
    book = GradeBook(manifest)
    book.submissions.append(
        Submission(tmp_path / "x.yaml", "s1", "hidden-layer", problem="bad [/] cell \x1b[31m\x9b2J")
    )
    text = feedback_files(book)["s1.txt"]
    assert "bad [/] cell" in text
    assert_clean(text.replace("\n", ""))


# ----------------------------------------------------------------------------- JSON for graders


@fuzz
@given(hostile)
def test_grader_json_holds_no_control_character(text: str) -> None:
    report = hostile_report(text)
    for document in (
        gradescope_json(report),
        gradescope_error_json(text),
        classroom_json(report, base64_encode=False),
    ):
        data = json.loads(document)

        def walk(value: Any) -> None:
            if isinstance(value, str):
                assert_clean(value)
            elif isinstance(value, dict):
                for k, v in value.items():
                    walk(k)
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(data)


# ----------------------------------------------------------------------------- encodings


def run_nnhand(args: list[str], encoding: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "LC_ALL", "LANG", "PYTHONUTF8")}
    env.update({"PYTHONIOENCODING": encoding, "NO_COLOR": "1", "COLUMNS": "80"})
    return subprocess.run(
        [sys.executable, "-m", "nnhand", *args], cwd=cwd, env=env, capture_output=True, timeout=120, check=False
    )


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_commands_fall_back_when_the_terminal_cannot_print_unicode(encoding: str, tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    cases = [
        (["gen", "hidden-layer", "--seed", "7", "--answers", str(answers)], 0),
        (["key", "backprop", "--seed", "7"], 0),
        (["key", "softmax-cross-entropy", "--seed", "1", "--format", "yaml"], 0),
        (["key", "lstm", "--seed", "1", "--format", "json"], 0),
        (["check", str(answers)], 1),
        (["list"], 0),
        (["list", "--format", "json"], 0),
        (["check", str(tmp_path / "naïve—missing.yaml")], 2),
    ]
    for args, code in cases:
        result = run_nnhand(args, encoding, tmp_path)
        stderr = result.stderr.decode(encoding)
        assert result.returncode == code, (args, stderr)
        assert "Traceback" not in stderr and "internal error" not in stderr, (args, stderr)
        stdout = result.stdout.decode(encoding)  # strict: every byte is valid in the encoding
        if args[0] == "gen":
            assert "+-" in stdout and "|" in stdout and "─" not in stdout
        if args[0] == "check" and code == 1:
            assert "Score:" in stdout
        if "--format" in args and args[-1] == "json":
            json.loads(stdout)
        if code == 2:
            assert "no such file" in stderr
    # The data is the same as under UTF-8: JSON and YAML keys escape what they cannot print.
    utf8 = run_nnhand(["key", "lstm", "--seed", "1", "--format", "json"], "utf-8", tmp_path)
    fallback = run_nnhand(["key", "lstm", "--seed", "1", "--format", "json"], encoding, tmp_path)
    assert json.loads(fallback.stdout.decode(encoding)) == json.loads(utf8.stdout.decode("utf-8"))
