"""Grades a course can trust (issue 9, requirement 2): what is asked comes from the variant id,
never from an editable line; a file with nothing to answer never passes; a cell that cannot
be read costs that cell, never the file; numbers are read within stated bounds.

Expected keys come from `nnhand key` (the solver, independent of the grader); expected
readings are written out as literals (Fraction("-1.2")), never rebuilt with the reader's rule.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.core.engine import generate
from nnhand.core.keys import key_data
from nnhand.core.reading import read_answer, read_number
from nnhand.core.sheet import make_sheet
from nnhand.errors import AnswerFileError, CellError, NnhandError
from nnhand.grading.answers import answer_file_data
from nnhand.grading.grade import grade_data, grade_sheet, read_answers

runner = CliRunner()

# hidden-layer seed 7 (from `nnhand key hidden-layer --seed 7`): 13 asked cells.
KEY_7 = {"z1": [2, -2, 2, 4], "h": [2, 0, 2, 4], "z2": [-3, 7], "y": [0, 7], "params": 26}
CELLS_7 = 13


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def answer_file(tmp_path: Path, *extra: str, name: str = "answers.yaml") -> Path:
    path = tmp_path / name
    result = run("gen", "hidden-layer", "--seed", "7", *extra, "--answers", str(path))
    assert result.exit_code == 0, result.stderr
    return path


def filled(path: Path, change: dict[str, Any] | None = None) -> Path:
    """The answer file with every answer the key's (then `change` applied), as YAML."""
    data = yaml.safe_load(path.read_text())
    data["answers"] = {name: KEY_7[name] for name in data["answers"]}
    data["answers"].update(change or {})
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def check_json(path: Path, *options: str) -> tuple[int, dict[str, Any], str]:
    result = run("check", str(path), "--format", "json", *options)
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, (json.loads(result.stdout) if result.stdout.strip() else {}), result.stderr


def cells(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["cell"]: c for s in report["steps"] for c in s["cells"]}


# ----------------------------------------------------------------------------- the blank mask


def test_blanks_line_set_to_none_is_refused_not_a_pass(tmp_path: Path) -> None:
    path = answer_file(tmp_path)
    path.write_text(path.read_text().replace("blanks: all", "blanks: none"))
    result = run("check", str(path))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "blanks" in result.stderr and "'all'" in result.stderr, result.stderr
    assert "Score" not in result.stdout


@pytest.mark.parametrize("line", ["one", "layer", "[all]", "most"])
def test_blanks_line_that_disagrees_with_the_variant_is_flagged(tmp_path: Path, line: str) -> None:
    path = filled(answer_file(tmp_path))
    path.write_text(path.read_text().replace("blanks: all", f"blanks: {line}"))
    result = run("check", str(path))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert f"{path}: blanks" in result.stderr and "variant" in result.stderr, result.stderr


def test_what_is_asked_comes_from_the_variant_id(tmp_path: Path) -> None:
    # The sheet asks one cell (",blanks=one" in its id); editing the line to "all" changes nothing.
    path = answer_file(tmp_path, "--blanks", "one")
    data = yaml.safe_load(path.read_text())
    assert data["variant"] == "hidden-layer@2#7,blanks=one"
    del data["blanks"]  # the line is optional: the id says what is asked
    path.write_text(yaml.safe_dump(data))
    code, report, _ = check_json(path)
    assert code == 1 and report["max_score"] == 1 and report["variant"] == "hidden-layer@2#7,blanks=one"
    data["blanks"] = "all"
    path.write_text(yaml.safe_dump(data))
    assert run("check", str(path)).exit_code == 2


def test_expect_refuses_a_file_whose_variant_id_was_edited(tmp_path: Path) -> None:
    # Editing the id itself (",blanks=one": one cell asked) would pass a CI job that checks one
    # cell; a grader that names the sheet it handed out refuses the edited id.
    path = filled(answer_file(tmp_path))
    assert run("check", str(path), "--expect", "hidden-layer@2#7").exit_code == 0
    text = path.read_text()
    edits = [("hidden-layer@2#7", "hidden-layer@2#7,blanks=one"), ("hidden-layer@2#7", "hidden-layer@2#8")]
    for old, new in edits:
        path.write_text(text.replace(old, new))
        result = run("check", str(path), "--expect", "hidden-layer@2#7")
        assert result.exit_code == 2, (new, result.stdout)
        assert "not the expected hidden-layer@2#7" in result.stderr, result.stderr
    result = run("check", str(path), "--expect", "not an id")
    assert result.exit_code == 2 and "--expect" in result.stderr


def test_a_variant_that_asks_nothing_cannot_be_checked(tmp_path: Path) -> None:
    path = answer_file(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["variant"] += ",blanks=none"
    data["blanks"] = "none"
    path.write_text(yaml.safe_dump(data))
    result = run("check", str(path))
    assert result.exit_code == 2 and "asks nothing" in result.stderr, (result.stdout, result.stderr)


def test_gen_refuses_an_answer_file_that_asks_nothing(tmp_path: Path) -> None:
    target = tmp_path / "a.yaml"
    result = run("gen", "hidden-layer", "--seed", "7", "--blanks", "none", "--answers", str(target))
    assert result.exit_code == 2 and "asks nothing" in result.stderr, (result.stdout, result.stderr)
    assert not target.exists()


def test_practice_refuses_a_sheet_that_asks_nothing() -> None:
    result = run("practice", "matmul", "--seed", "1", "--blanks", "none", input="")
    assert result.exit_code == 2 and "asks nothing" in result.stderr, (result.stdout, result.stderr)


def test_every_blank_left_null_exits_1(tmp_path: Path) -> None:
    code, report, _ = check_json(answer_file(tmp_path))
    assert code == 1 and report["score"] == 0 and report["max_score"] == CELLS_7


def test_report_with_no_cell_asked_never_exits_0() -> None:
    sheet = make_sheet(generate(api.load("hidden-layer"), 7), "none")
    assert grade_sheet(sheet, {}, "x").exit_code != 0


# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (-1.2000000000000002, Fraction("-1.2")),  # what 0.1*12 writes
        (0.1 * 12, Fraction("1.2")),
        (0.1 + 0.2, Fraction("0.3")),
        ("0.30000000000000004", Fraction("0.3")),
        ("-1.2000000000000002", Fraction("-1.2")),
        (2.9999999999999996, Fraction(3)),
        (0.6900000000000001, Fraction("0.69")),
        (1e-17, Fraction(0)),
    ],
)
def test_float_artefacts_are_read_as_the_short_decimal_and_noted(raw: Any, value: Fraction) -> None:
    reading = read_answer(raw, (), "b", "f")
    assert reading.cells == [[value]]
    assert any("read as" in note for note in reading.notes), reading.notes


@pytest.mark.parametrize(
    ("raw", "value"),
    [(1.0000001, Fraction("1.0000001")), ("0.123456789", Fraction("0.123456789")), (0.5, Fraction(1, 2))],
)
def test_numbers_that_are_no_artefact_are_read_exactly(raw: Any, value: Fraction) -> None:
    reading = read_answer(raw, (), "b", "f")
    assert reading.cells == [[value]] and reading.notes == []


@pytest.mark.parametrize("raw", [0.1234567890123, "0.1234567890123"])
def test_many_decimals_that_are_no_artefact_are_refused(raw: Any) -> None:
    with pytest.raises(CellError, match="decimals"):
        read_number(raw, "f: b")


@pytest.mark.parametrize("raw", ["1 2", "1 000", "- 3", "1, 5", "2 3/4"])
def test_a_space_inside_a_number_is_not_a_number(raw: str) -> None:
    with pytest.raises(CellError, match="not a number"):
        read_number(raw, "f: b")


def test_spaces_around_the_number_and_the_slash_are_fine() -> None:
    assert read_number(" 7 ", "f") == 7 and read_number("2 / 3", "f") == Fraction(2, 3)


HUGE = ["1e99999999", "-1e99999999", "1e-99999999", "0e99999999", "1/1e99999999", "1e99999999/1", "1E+99999999"]
TYPED = ["[/]", "1e99999999", "\x1b[2J", "a\x00b", "9" * 5000, "1e 99999999", "2/3e99999999"]
BOUNDED_SCRIPT = """
import json, sys, time
from nnhand import api
from nnhand.core.engine import generate
from nnhand.grading.practice import PracticeSession
from nnhand.core.reading import read_number
from nnhand.errors import CellError
from nnhand.core.sheet import make_sheet
cases, typed = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = {"read": [], "typed": []}
for raw in cases:
    start = time.perf_counter()
    try:
        read_number(raw, "f: b")
        outcome = "read"
    except CellError:
        outcome = "refused"
    out["read"].append([outcome, time.perf_counter() - start])
for line in typed:
    session = PracticeSession(make_sheet(generate(api.load("matmul"), 1), "all"))
    start = time.perf_counter()
    replies = session.respond(line)
    out["typed"].append([[r.kind for r in replies], " ".join(r.message for r in replies),
                         session.position, time.perf_counter() - start])
print(json.dumps(out))
"""


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))


def bounded(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """A child Python with a time and memory limit: before the fix, Fraction built
    10**99999999 in C code that no signal interrupts, so an in-process test would hang."""
    return subprocess.run(
        [sys.executable, *args], input=input, capture_output=True, text=True, timeout=60, preexec_fn=_limit_memory
    )


def bounded_nnhand(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return bounded("-m", "nnhand", *args, input=input)


def test_huge_exponents_are_refused_before_any_arithmetic() -> None:
    proc = bounded("-c", BOUNDED_SCRIPT, json.dumps(HUGE), json.dumps(TYPED))
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    for raw, (outcome, seconds) in zip(HUGE, out["read"]):
        assert outcome == "refused" and seconds < 0.5, (raw, outcome, seconds)
    for line, (kinds, message, position, seconds) in zip(TYPED, out["typed"]):
        assert kinds and kinds[0] == "invalid" and position == 0 and seconds < 0.5, (line, kinds, message)
        assert "\x1b" not in message and "\x00" not in message, (line, message)


def test_huge_exponent_does_not_hang_check(tmp_path: Path) -> None:
    path = filled(answer_file(tmp_path), {"params": "1e99999999"})
    proc = bounded_nnhand("check", str(path))
    assert proc.returncode == 1, proc.stderr
    assert "params" in proc.stdout and "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- cells, not files


def test_one_unreadable_cell_costs_that_cell_only(tmp_path: Path) -> None:
    path = filled(answer_file(tmp_path), {"z1": [2, "two", 2, 4]})
    code, report, _ = check_json(path)
    assert code == 1
    assert report["score"] == CELLS_7 - 1 and report["max_score"] == CELLS_7
    cell = cells(report)["z1[2]"]
    assert cell["status"] == "unreadable" and cell["given"] is None and cell["written"] == "two"
    assert "not a number" in cell["reason"]
    # Carried forward like a blank: h[2] is graded against the key's z1[2].
    assert cells(report)["h[2]"]["status"] == "right"
    terminal = run("check", str(path))
    assert terminal.exit_code == 1 and "z1[2]" in terminal.stdout and "two" in terminal.stdout
    assert "unreadable" in terminal.stdout


def test_space_in_a_cell_is_unreadable_not_twelve(tmp_path: Path) -> None:
    path = filled(answer_file(tmp_path), {"z2": ["1 2", 7]})
    code, report, _ = check_json(path)
    assert code == 1 and cells(report)["z2[1]"]["status"] == "unreadable"
    assert report["score"] == CELLS_7 - 1


def test_wrong_shape_for_a_step_makes_that_step_unreadable(tmp_path: Path) -> None:
    path = filled(answer_file(tmp_path), {"z1": [1, 2]})
    code, report, _ = check_json(path)
    assert code == 1
    z1 = next(s for s in report["steps"] if s["name"] == "z1")
    assert [c["status"] for c in z1["cells"]] == ["unreadable"] * 4
    assert "4 numbers" in z1["cells"][0]["reason"]
    assert report["score"] == CELLS_7 - 4  # h is right from the key's z1, as for a blank z1


def test_float_artefacts_in_a_file_grade_right_and_are_shown(tmp_path: Path) -> None:
    path = filled(answer_file(tmp_path), {"z1": [2.0000000000000004, -2, 2, 4.000000000000001]})
    code, report, _ = check_json(path)
    assert code == 0 and report["score"] == CELLS_7
    shown = run("check", str(path), "--show-reading")
    assert shown.exit_code == 0 and "2.0000000000000004 read as 2" in shown.stdout, shown.stdout


def test_unknown_answer_names_are_ignored_with_a_note(tmp_path: Path) -> None:
    path = filled(answer_file(tmp_path), {"zz": 1})
    code, report, _ = check_json(path)
    assert code == 0 and report["score"] == CELLS_7
    assert any("zz" in note for note in report["notes"])
    assert "zz" in run("check", str(path)).stdout


def test_read_answers_and_grade_sheet_never_raise_for_a_cell() -> None:
    """The two calls `grade` (classroom.py) makes: a bad cell is a cell, not an exception."""
    sheet = make_sheet(generate(api.load("hidden-layer"), 7), "all")
    answers = {**KEY_7, "z1": [2, "two", 2, 4], "z2": {"a": 1}, "params": "2 6"}
    readings = read_answers(sheet, answers, "s.yaml")
    report = grade_sheet(sheet, readings, "s.yaml")
    status = {c.cell: c.status for s in report.steps for c in s.cells}
    assert status["z1[2]"] == status["z2[1]"] == status["z2[2]"] == status["params"] == "unreadable"
    assert report.score == CELLS_7 - 4 and report.exit_code == 1


def test_grade_gives_credit_for_the_rest_of_a_file(tmp_path: Path) -> None:
    out = tmp_path / "ws"
    made = run("worksheet", "hidden-layer", "--count", "1", "--out", str(out), "--format", "md")
    assert made.exit_code == 0, made.stderr
    issued = next((out / "students").glob("*/hidden-layer.yaml"))
    key = key_data(api.solve_key("hidden-layer", None, None, issued))
    data = yaml.safe_load(issued.read_text())
    data["answers"] = {name: key["answers"][name] for name in data["answers"]}
    data["answers"]["z1"][1] = "two"
    submissions = tmp_path / "subs" / issued.parent.name
    submissions.mkdir(parents=True)
    (submissions / "hidden-layer.yaml").write_text(yaml.safe_dump(data))
    book = tmp_path / "grades.csv"
    graded = run("grade", str(out / "manifest.json"), str(tmp_path / "subs"), "--csv", str(book))
    assert graded.exit_code == 1, (graded.stdout, graded.stderr)
    rows = list(csv.DictReader(book.read_text(encoding="utf-8-sig").splitlines()))
    student = next(r for r in rows if r["student_id"] == issued.parent.name)
    assert student["hidden-layer"] == str(CELLS_7 - 1), book.read_text()


# ----------------------------------------------------------------------------- reading files


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_devices_and_fifos_are_refused_at_once(tmp_path: Path, special: str) -> None:
    if special == "fifo":
        fifo = tmp_path / "answers.yaml"
        os.mkfifo(fifo)
        special = str(fifo)
    for args in (("check", special), ("key", "single-neuron", "--givens", special)):
        start = time.perf_counter()
        proc = bounded_nnhand(*args)
        assert proc.returncode == 2 and "regular file" in proc.stderr, (args, proc.stderr[-500:])
        assert time.perf_counter() - start < 20


def test_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    path = answer_file(tmp_path)
    text = path.read_text()
    path.write_text(text + "variant: hidden-layer@2#8\n")
    lines = text.splitlines()
    first = lines.index("variant: hidden-layer@2#7") + 1
    result = run("check", str(path))
    assert result.exit_code == 2 and f"lines {first} and {len(lines) + 1}" in result.stderr, result.stderr
    givens = tmp_path / "g.yaml"
    givens.write_text("w: [1, -1, 1]\nx: [2, 1, 3]\nb: -5\nw: [0, 0, 0]\n")
    result = run("key", "single-neuron", "--givens", str(givens))
    assert result.exit_code == 2 and "lines 1 and 4" in result.stderr, result.stderr


def test_aliases_stay_refused_in_answers_and_givens(tmp_path: Path) -> None:
    givens = tmp_path / "g.yaml"
    givens.write_text("w: &w [1, -1, 1]\nx: *w\nb: -5\n")
    result = run("key", "single-neuron", "--givens", str(givens))
    assert result.exit_code == 2 and "alias" in result.stderr, result.stderr


# ----------------------------------------------------------------------------- text that reaches a terminal


def test_markup_and_escapes_in_cells_and_student_never_reach_the_terminal(tmp_path: Path) -> None:
    path = filled(answer_file(tmp_path), {"z1": [-3, "[/]", "\x1b[31mred\x1b[0m", 10], "h": "[bold]x[/bold]"})
    data = yaml.safe_load(path.read_text())
    data["student"] = "eve\x1b]0;owned\x07[/]"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    for options in ((), ("--show-reading",), ("--format", "json"), ("--format", "junit"), ("--format", "gradescope")):
        result = run("check", str(path), *options)
        output = result.stdout + result.stderr
        assert result.exit_code == 1, (options, output)
        assert "\x1b" not in output and "\x07" not in output and "Traceback" not in output, (options, output)
    terminal = run("check", str(path)).stdout
    assert "[/]" in terminal and "[bold]x[/bold]" in terminal


@pytest.mark.parametrize("variant", ["hidden-layer@2#7[/]", "[/]", "hidden-layer@2#\x1b[2J7"])
def test_markup_or_escapes_in_the_variant_are_bad_input(tmp_path: Path, variant: str) -> None:
    path = answer_file(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["variant"] = variant
    path.write_text(yaml.safe_dump(data))
    result = run("check", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.stderr, result.stderr
    assert "\x1b" not in result.stdout + result.stderr


def test_practice_transcript_has_no_escapes() -> None:
    proc = bounded_nnhand("practice", "matmul", "--seed", "1", input="\x1b[2J[/]\n1e99999999\nq\n")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "\x1b" not in proc.stdout and "[/]" in proc.stdout and "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- sealed variants


def test_sealed_answer_file_is_graded_from_its_givens_and_says_so(tmp_path: Path) -> None:
    path = filled(answer_file(tmp_path))
    path.write_text(path.read_text().replace("hidden-layer@2#7", "hidden-layer@2#sealed-abcdefghij"))
    code, report, _ = check_json(path)
    assert code == 0 and report["score"] == CELLS_7
    assert report["variant"] == "hidden-layer@2#sealed-abcdefghij"
    assert any("givens in this file" in note for note in report["notes"]), report["notes"]
    terminal = run("check", str(path))
    assert terminal.exit_code == 0
    assert sum("givens in this file" in line for line in terminal.stdout.splitlines()) == 1


def test_library_grade_data_reports_unreadable_not_an_error() -> None:
    sheet = make_sheet(generate(api.load("hidden-layer"), 7), "all")
    data = answer_file_data(sheet)
    data["answers"] = {**KEY_7, "y": [0, True]}
    report, _ = grade_data(data, "d.yaml")
    assert report.exit_code == 1 and report.score == CELLS_7 - 1
    with pytest.raises(AnswerFileError):
        grade_data({**data, "answers": [1, 2]}, "d.yaml")  # not an answer file: answers is no mapping
    with pytest.raises(NnhandError):
        grade_data({**data, "blanks": "none"}, "d.yaml")
