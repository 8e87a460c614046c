"""The grader that teaches: reading, tolerances, scoring, error carried forward, slips,
worked solutions, and practice at the prompt. Expected values come from the seeds, from
hand-made cases, or from naive re-computation — never from the grader itself."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.core.engine import generate
from nnhand.core.explain import explain_problem
from nnhand.core.keys import key_data
from nnhand.core.reading import read_answer
from nnhand.core.sheet import make_sheet
from nnhand.errors import CellError, NnhandError
from nnhand.grading.answers import answer_file_data
from nnhand.grading.grade import grade_data

from .reference import round_half_away, softmax_cols

runner = CliRunner()


# ----------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (3, 3), (-1.5, Fraction(-3, 2)), ("2/3", Fraction(2, 3)), ("−4", -4), ("-0", 0), (" 7 ", 7),
        ("1,5", Fraction(3, 2)), (".5", Fraction(1, 2)), ("+2", 2), ("-1/3", Fraction(-1, 3)),
        ("0.10", Fraction(1, 10)),
    ],
)  # fmt: skip
def test_cells_are_read_forgivingly(raw: Any, value: Fraction) -> None:
    assert read_answer(raw, (), "b", "f").cells == [[value]]


@pytest.mark.parametrize("raw", ["abc", "1..2", "1/0", "nan", "inf", True, {"a": 1}, "1e999", 10**20, float("nan")])
def test_unreadable_cells_name_the_cell_and_what_is_accepted(raw: Any) -> None:
    with pytest.raises(CellError) as caught:
        read_answer([1, raw, 3], (3,), "z1", "answers.yaml")
    assert "z1[2]" in str(caught.value) or "z1" in str(caught.value)
    assert "3, -1.5 or 2/3" in str(caught.value) or "too large" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "shape", "cells"),
    [
        ("1 2 3", (3,), [[1], [2], [3]]),
        ("1, 2, 3", (3,), [[1], [2], [3]]),
        ("1,5 2,5", (2,), [[Fraction(3, 2)], [Fraction(5, 2)]]),
        ([[1, 2, 3]], (3,), [[1], [2], [3]]),
        ([[1], [2], [3]], (3,), [[1], [2], [3]]),
        ("[1 2; 3 4]", (2, 2), [[1, 2], [3, 4]]),
        ("[[1,2],[3,4]]", (2, 2), [[1, 2], [3, 4]]),
        (["1 2", "3 −4"], (2, 2), [[1, 2], [3, -4]]),
        ([[1, None], ["2/3", 4]], (2, 2), [[1, None], [Fraction(2, 3), 4]]),
        ([1, 2, 3], (1, 3), [[1, 2, 3]]),
        ("1 2 3", (1, 3), [[1, 2, 3]]),
    ],
)
def test_vectors_and_matrices_in_many_forms(raw: Any, shape: tuple[int, ...], cells: list) -> None:
    assert read_answer(raw, shape, "H", "f").cells == cells


def test_row_for_column_is_read_and_noted() -> None:
    reading = read_answer([[1, 2, 3]], (3,), "z1", "f")
    assert any("written as a row" in note for note in reading.notes)
    assert any("decimal comma" in n for n in read_answer("1,5", (), "b", "f").notes)


@pytest.mark.parametrize("raw", [[1, 2], [[1, 2], [3, 4]], "1 2", {"x": 1}, 5])
def test_wrong_shapes_are_refused_with_the_expected_shape(raw: Any) -> None:
    with pytest.raises(CellError, match=r"expected|does not hold|should hold"):
        read_answer(raw, (3,), "z1", "f")


# ----------------------------------------------------------------------------- helpers


def key_answers(template_id: str, seed: int, blanks: str = "all", **params: int) -> tuple[dict[str, Any], dict]:
    sheet = make_sheet(generate(api.load(template_id), seed, params or None), blanks)
    data = answer_file_data(sheet)
    key = key_data(sheet.problem)
    data["answers"] = {name: key["answers"][name] for name in data["answers"]}
    return data, key


def grade(data: dict[str, Any], **options: Any):  # type: ignore[no-untyped-def]
    return grade_data(data, "answers.yaml", **options)[0]


def step(report, name: str):  # type: ignore[no-untyped-def]
    return next(s for s in report.steps if s.name == name)


def mm(a: list, b: list) -> list:
    return [[sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]


def col(v: list) -> list:
    return [[x] for x in v]


# ----------------------------------------------------------------------------- tolerances


SOFTMAX = """\
id: soft
version: 1
title: Softmax
givens:
  S: {shape: [3, 2], dist: {range: [-1, 2]}}
steps:
  - {name: A, expr: "softmax(S)", round: 2, label: "A = softmax(S) with 3^x"}
  - {name: Z, expr: "colsum(A * S)", round: 1}
realism: {relu_zeroes_some: false}
"""


def soft_problem(tmp_path: Path) -> tuple[list[str], Any]:
    (tmp_path / "soft.yaml").write_text(SOFTMAX)
    dirs = [str(tmp_path)]
    return dirs, api.solve("soft", {"S": [[0, 1], [1, 1], [2, -1]]}, problems_dirs=dirs)


def test_rounded_steps_accept_half_a_unit_and_the_exact_fraction(tmp_path: Path) -> None:
    dirs, problem = soft_problem(tmp_path)
    # column 1: 3^0, 3^1, 3^2 = 1, 3, 9 over 13 -> 1/13, 3/13, 9/13 = 0.077, 0.231, 0.692
    assert [Fraction(v) for v in problem.exact["A"][:, 0]] == [Fraction(1, 13), Fraction(3, 13), Fraction(9, 13)]
    sheet = make_sheet(problem, "all")
    data = answer_file_data(sheet)
    # column 2: 3^1, 3^1, 3^-1 over 19/3 -> 9/19, 9/19, 1/19 = 0.474, 0.474, 0.053
    answers = [[0.08, 0.47], ["3/13", "9/19"], ["0.70", 0.06]]
    data["answers"] = {"A": answers, "Z": None}
    report = grade_data(data, "a.yaml", dirs)[0]
    statuses = {c.cell: c.status for c in step(report, "A").cells}
    assert statuses["A[1,1]"] == "right"  # 0.08 vs 1/13 = 0.0769: within 0.005
    assert statuses["A[2,1]"] == "right"  # the exact fraction
    assert statuses["A[2,2]"] == "right"  # the exact fraction
    assert statuses["A[1,2]"] == "right"  # 0.47
    assert statuses["A[3,1]"] == "wrong"  # 0.70 vs 9/13 = 0.6923: more than 0.005 away
    assert statuses["A[3,2]"] == "wrong"  # 0.06 vs 1/19 = 0.0526 (key 0.05): beyond 0.0576
    wrong = next(c for c in step(report, "A").cells if c.cell == "A[3,1]")
    assert wrong.accepted == "0.685 to 0.6973"  # from 0.69 - 0.005 (the rounded key) to 9/13 + 0.005, stated
    assert step(report, "Z").cells[0].status == "missing"


def test_integer_steps_compare_exactly() -> None:
    data, key = key_answers("hidden-layer", 7)
    data["answers"]["z1"] = [v + 0.001 if i == 0 else v for i, v in enumerate(key["answers"]["z1"])]
    report = grade(data)
    assert step(report, "z1").cells[0].status == "wrong"


# ----------------------------------------------------------------------------- scoring


def test_scoring_modes() -> None:
    data, key = key_answers("hidden-layer", 7)
    data["answers"]["z1"] = [key["answers"]["z1"][0] + 5, *key["answers"]["z1"][1:]]
    cell = grade(data, ecf=False)
    assert (cell.score, cell.max_score) == (12, 13)
    per_step = grade(data, scoring="step", ecf=False)
    assert (per_step.score, per_step.max_score) == (4, 5)  # z1 loses its whole point
    weighted = grade(data, scoring="weighted", ecf=False)
    assert weighted.max_score == 5 and weighted.score == pytest.approx(4.75)  # 3/4 of z1's point


# ----------------------------------------------------------------------------- error carried forward


def test_correct_backward_pass_on_a_wrong_forward_pass_earns_credit() -> None:
    data, key = key_answers("backprop", 7)
    g, a = key["givens"], data["answers"]
    a2 = [a["a2"][0] + 1, a["a2"][1]]  # a slip in the forward pass
    a["a2"] = a2
    # Everything downstream of a2, recomputed naively from the learner's own a2.
    z3 = [row[0] + b for row, b in zip(mm(g["W3"], col(a2)), g["b3"])]
    # y_hat: the 3^x softmax of the learner's z3, rounded to tenths (as the sheet says).
    y_hat = [round_half_away(row[0], 1) for row in softmax_cols(col(z3), base=3)]
    dz3 = [p - t for p, t in zip(y_hat, g["y_target"])]
    a["z3"], a["y_hat"], a["dz3"] = z3, [str(v) for v in y_hat], [str(v) for v in dz3]
    a["dW3"] = [[str(d * x) for x in a2] for d in dz3]
    report = grade(data)
    assert step(report, "a2").status == "wrong"
    assert report.root_cause == "a2"
    assert step(report, "z3").status == "ecf" and step(report, "z3").score == 3
    dW3 = step(report, "dW3")
    changed = [c for c in dW3.cells if c.expected != c.given]
    assert changed and all(c.status == "ecf" for c in changed)
    assert dW3.score == len(dW3.cells)
    without = grade(data, ecf=False)
    assert step(without, "dW3").score < len(dW3.cells)
    assert report.exit_code == 1  # credit is not correctness


# ----------------------------------------------------------------------------- slips


def wrong_step(template_id: str, seed: int, name: str, values: Any, **params: int) -> list[str]:
    data, _ = key_answers(template_id, seed, **params)
    data["answers"][name] = values
    return step(grade(data), name).diagnosis


def find_seed(template_id: str, condition, **params: int) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    for seed in range(200):
        _, key = key_answers(template_id, seed, **params)
        if condition(key):
            return seed, key
    raise AssertionError("no seed found")


def test_slip_forgot_the_relu() -> None:
    seed, key = find_seed("hidden-layer", lambda k: any(v < 0 for v in k["answers"]["z1"]))
    assert "forgot the ReLU" in " ".join(wrong_step("hidden-layer", seed, "h", key["answers"]["z1"]))


def test_slip_relu_that_is_not_there() -> None:
    seed, key = find_seed("backprop", lambda k: any(v < 0 for v in k["answers"]["z3"]))
    relu_z3 = [max(v, 0) for v in key["answers"]["z3"]]
    assert "ReLU that is not there" in " ".join(wrong_step("backprop", seed, "z3", relu_z3))


def test_slip_forgot_the_bias() -> None:
    seed, key = find_seed("four-neurons", lambda k: any(k["givens"]["b"]))
    no_bias = [row[0] for row in mm(key["givens"]["W"], col(key["givens"]["x"]))]
    assert "forgot to add the bias b" in " ".join(wrong_step("four-neurons", seed, "z", no_bias))


def test_slip_transposed_weights() -> None:
    def transposed(k: dict) -> list:
        at = [list(r) for r in zip(*k["givens"]["A"])]
        return mm(at, k["givens"]["B"])

    seed, key = find_seed("matmul", lambda k: transposed(k) != k["answers"]["C"], m=3, k=3)
    assert "Aᵀ instead of A" in " ".join(wrong_step("matmul", seed, "C", transposed(key), m=3, k=3))


def test_slip_sign_error() -> None:
    seed, key = find_seed("four-neurons", lambda k: all(v != 0 for v in k["answers"]["z"]))
    flipped = [-v for v in key["answers"]["z"]]
    assert "Sign error" in " ".join(wrong_step("four-neurons", seed, "z", flipped))


def test_slip_activation_for_pre_activation() -> None:
    seed, key = find_seed("backprop", lambda k: k["answers"]["a1"] != k["answers"]["z1"])
    # wrote a1 (the activation) where z1 was asked: a ReLU applied too early
    assert "ReLU that is not there" in " ".join(wrong_step("backprop", seed, "z1", key["answers"]["a1"]))
    # wrote z2 where a2 was asked: the pre-activation for the activation
    seed, key = find_seed("backprop", lambda k: k["answers"]["a2"] != k["answers"]["z2"])
    assert "forgot the ReLU" in " ".join(wrong_step("backprop", seed, "a2", key["answers"]["z2"]))
    # wrote a1 into da1's place: another step's values, named
    seed, key = find_seed("backprop", lambda k: k["answers"]["da1"] != k["answers"]["a1"])
    assert "values of a1" in " ".join(wrong_step("backprop", seed, "da1", key["answers"]["a1"]))


def test_slip_swapped_rows_and_columns() -> None:
    def swapped(k: dict) -> list:
        return [list(r) for r in zip(*k["answers"]["Z1"])]

    seed, key = find_seed("batch", lambda k: swapped(k) != k["answers"]["Z1"], n_hidden=3)
    assert "swapped rows and columns" in " ".join(wrong_step("batch", seed, "Z1", swapped(key), n_hidden=3))


def test_slip_one_term_of_a_dot_product() -> None:
    def missing_term(k: dict) -> tuple[list, int] | None:
        w, x = k["givens"]["W"][0], k["givens"]["x"]
        z = list(k["answers"]["z"])
        term = w[2] * x[2]
        if term == 0 or z[0] - term == -z[0]:  # (a missing term that looks like a sign flip is ambiguous)
            return None
        z[0] -= term
        return z, term

    seed, key = find_seed("four-neurons", lambda k: missing_term(k) is not None)
    values, _ = missing_term(key)  # type: ignore[misc]
    message = " ".join(wrong_step("four-neurons", seed, "z", values))
    assert "z[1]: one term is missing from the sum" in message


# ----------------------------------------------------------------------------- worked solutions


def test_worked_solution_reads_like_the_seed() -> None:
    givens = {"W": [[1, -1, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], "b": [-5, 0, 1, -2], "x": [2, 1, 3]}
    worked = explain_problem(api.solve("four-neurons", givens))
    assert worked["z"][0] == "z[1] = (1)(2) + (−1)(1) + (1)(3) + (−5) = −1"
    assert worked["a"][0] == "a[1] = ReLU(−1) = 0"
    assert worked["params"] == ["params = ((3) + (1))(4) = (4)(4) = 16"]


def test_worked_softmax(tmp_path: Path) -> None:
    _, problem = soft_problem(tmp_path)
    lines = explain_problem(problem)["A"]
    assert lines[4] == "A[3,1] = 3^2 / (3^0 + 3^1 + 3^2) = 9 / (1 + 3 + 9) = 9/13 ≈ 0.69"


def test_check_explain_shows_the_worked_cell(tmp_path: Path) -> None:
    data, key = key_answers("four-neurons", 2)
    data["answers"]["z"] = [key["answers"]["z"][0] + 1, *key["answers"]["z"][1:]]
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["check", str(path), "--explain", "--show-reading"])
    assert result.exit_code == 1
    assert "z[1] = (" in result.stdout and "read as:" in result.stdout
    explained = runner.invoke(app, ["key", "four-neurons", "--seed", "2", "--explain"])
    assert "Worked solution" in explained.stdout and "a[1] = ReLU(" in explained.stdout


# ----------------------------------------------------------------------------- practice


def test_practice_through_piped_input() -> None:
    _, key = key_answers("four-neurons", 2)
    z, a = key["answers"]["z"], key["answers"]["a"]
    typed = ["?", "?", z[0], z[1] + 1, z[1], z[2] + 7, z[2] + 7, z[3], "s", "oops", "q"]
    result = runner.invoke(app, ["practice", "four-neurons", "--seed", "2"], input="\n".join(map(str, typed)) + "\n")
    assert result.exit_code == 1, result.stdout
    out = " ".join(result.stdout.split())  # the lines are wrapped to the width
    assert "Hint: Multiply row 1 of W by x" in out
    assert "Hint: z[1] = (" in out and "= ?" in out
    assert f"✓ z[1] = {z[0]}" in out
    assert f"✗ z[2]: not {z[1] + 1}." in out and "Try again." in out  # the first wrong answer keeps the key back
    assert f"it is {z[1]}" not in out and f"✓ z[2] = {z[1]}" in out  # and the second try finds it
    assert f"✗ z[3]: not {z[2] + 7}; it is {z[2]}" in out  # the last try shows the key
    assert "[2/10, 1 right] z[2] =" in out and "[2/10, 1 right, try 2 of 2] z[2] =" in out
    assert "Skipped a[1]" in out and '"oops" is not a number' in out
    assert "3/10 right (1 at the first try), 1 wrong, 1 skipped, 5 not reached" in out
    everything = [" ".join(map(str, z)), " ".join(map(str, a)), "4", "16"]  # per neuron 3 + 1, then 4 of them
    result = runner.invoke(app, ["practice", "four-neurons", "--seed", "2"], input="\n".join(everything) + "\n")
    assert result.exit_code == 0 and "10/10 right (10 at the first try)" in result.stdout


def test_practice_tries_one_reveals_at_once() -> None:
    _, key = key_answers("four-neurons", 2)
    z = key["answers"]["z"]
    result = runner.invoke(app, ["practice", "four-neurons", "--seed", "2", "--tries", "1"], input=f"{z[0] + 1}\n")
    out = " ".join(result.stdout.split())
    assert f"✗ z[1]: not {z[0] + 1}; it is {z[0]}" in out and "Try again" not in out
    refused = runner.invoke(app, ["practice", "four-neurons", "--tries", "0"], input="q\n")
    assert refused.exit_code == 2 and "--tries" in refused.output


def test_practice_ends_cleanly_at_end_of_input() -> None:
    result = runner.invoke(app, ["practice", "matmul", "--seed", "1"], input="")
    assert result.exit_code == 1 and "0/10 right" in result.stdout


def test_unreadable_answer_file_cell_is_that_cell_only() -> None:
    data, key = key_answers("hidden-layer", 7)
    data["answers"]["h"] = [key["answers"]["h"][0], "two", *key["answers"]["h"][2:]]
    report = grade(data)
    bad = next(c for c in step(report, "h").cells if c.cell == "h[2]")
    assert bad.status == "unreadable" and "3, -1.5 or 2/3" in (bad.reason or "")
    assert report.score == report.max_score - 1 and report.exit_code == 1


# ----------------------------------------------------------------------------- the practice loop (library)

FOUR = {"W": [[1, -1, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], "b": [-5, 0, 1, -2], "x": [2, 1, 3]}
# z = W·x + b = [2 - 1 + 3 - 5, 2 + 1 + 0 + 0, 0 + 1 + 3 + 1, 2 + 0 + 3 - 2] = [-1, 3, 5, 3]; a = [0, 3, 5, 3]


def _session():  # type: ignore[no-untyped-def]
    from nnhand.grading.practice import PracticeSession

    return PracticeSession(make_sheet(api.solve("four-neurons", FOUR), "all"))


def _reader(lines: list[Any]):  # type: ignore[no-untyped-def]
    """`input` stand-in: each item a line, or an exception to raise; EOFError once they are used up."""
    prompts: list[str] = []

    def read(prompt: str) -> str:
        prompts.append(prompt)
        if not lines:
            raise EOFError
        item = lines.pop(0)
        if isinstance(item, BaseException):
            raise item
        return str(item)

    return read, prompts


def test_run_practice_transcript_and_exit_code() -> None:
    from nnhand.errors import ExitCode
    from nnhand.grading.practice import run_practice

    session = _session()
    # FOUR: z = [-1, 3, 5, 3]; z[1] without its bias (−5) is 4, the slip the retry names
    read, prompts = _reader(["4", "-1", "7", "7", "2/3 1", "?"])
    out: list[str] = []
    assert run_practice(session, read, out.append, True, width=200) == ExitCode.WRONG
    assert prompts == [
        "[1/10, 0 right] z[1] = ",
        "[1/10, 0 right, try 2 of 2] z[1] = ",
        "[2/10, 1 right] z[2] = ",
        "[2/10, 1 right, try 2 of 2] z[2] = ",
        "[3/10, 1 right] z[3] = ",
        "[3/10, 1 right, try 2 of 2] z[3] = ",
        "[3/10, 1 right, try 2 of 2] z[3] = ",
    ]
    assert out[:-1] == [
        "Type each answer (a number, or several for a row); ? for a hint, s to skip, q to quit.",
        "",
        session.sheet.problem.template.step("z").label,
        "4",
        "  ✗ z[1]: not 4. You forgot to add the bias b. Try again.",
        "-1",
        "  ✓ z[1] = -1",  # right at the second try
        "7",
        "  ✗ z[2]: not 7. Multiply row 2 of W by x cell by cell and add up, then add b (row 2). Try again.",
        "7",
        "  ✗ z[2]: not 7; it is 3. z[2] = (1)(2) + (1)(1) + (0)(3) + (0) = 3",
        "2/3 1",
        "  ✗ z[3]: not 2/3. Multiply row 3 of W by x cell by cell and add up, then add b (row 3). Try again.",
        "  The number after it was not checked: type it again after this one.",
        "?",  # the retry gave the first hint: this is the second
        "  Hint: z[3] = (0)(2) + (1)(1) + (1)(3) + (1) = ?",
        "",  # end of input: a new line, then the summary
        "",
    ]
    assert out[-1].startswith("1/10 right (0 at the first try), 1 wrong, 0 skipped, 8 not reached. Variant four-")
    assert [(a.cell, a.right, a.tries, a.slip) for a in session.answered] == [
        ("z[1]", True, 2, "You forgot to add the bias b."),
        ("z[2]", False, 2, None),
    ]


def test_run_practice_all_right_is_ok_and_unechoed() -> None:
    from nnhand.errors import ExitCode
    from nnhand.grading.practice import run_practice

    read, _ = _reader(["-1 3 5 3", "0 3 5 3", "4", "16"])
    out: list[str] = []
    recorded: list[Any] = []
    assert run_practice(_session(), read, out.append, False, record=recorded.append) == ExitCode.OK
    assert "-1 3 5 3" not in out and " ".join(out).count("10/10 right (10 at the first try), 0 wrong") == 1
    assert len(recorded) == 10 and all(a.right and a.tries == 1 for a in recorded)


def test_practice_row_input_extra_numbers_are_an_error() -> None:
    session = _session()
    assert [r.kind for r in session.respond("-1 3 5")] == ["right"] * 3
    replies = session.respond("3 0")  # one blank left in z: the 0 would have been lost
    assert [r.kind for r in replies] == ["invalid"] and session.position == 3
    assert "2 numbers and z has 1 blank left (z[4])" in replies[0].message
    assert session.respond("3")[0].kind == "right"


def test_practice_echoes_numbers_as_typed() -> None:
    session = _session()
    assert session.respond("-2/2")[0].message == "✓ z[1] = -2/2"
    assert session.respond("3.0")[0].message == "✓ z[2] = 3.0"
    assert session.respond("1e1")[0].message.startswith("✗ z[3]: not 1e1.")


def test_practice_lines_fit_the_width() -> None:
    from nnhand.grading.practice import run_practice

    read, prompts = _reader(["4", "4", "?", "?", "s"])
    out: list[str] = []
    run_practice(_session(), read, out.append, True, width=40)
    assert max(len(line) for line in out) <= 40 and len(out) > 12
    assert all(len(p) <= 40 for p in prompts)


def test_practice_steps_asks_only_those() -> None:
    from nnhand.grading.practice import PracticeSession

    sheet = make_sheet(api.solve("four-neurons", FOUR), "all")
    session = PracticeSession(sheet, steps=("a",))
    assert [p.cell for p in session.prompts] == ["a[1]", "a[2]", "a[3]", "a[4]"]
    assert not session.sheet.blanks["z"].any()  # z is shown filled in
    with pytest.raises(NnhandError, match="asks no step 'nope'"):
        PracticeSession(sheet, steps=("nope",))


def test_run_practice_interrupt_and_undecodable_bytes() -> None:
    from nnhand.errors import ExitCode
    from nnhand.grading.practice import run_practice

    bad = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    read, _ = _reader([bad, KeyboardInterrupt()])
    out: list[str] = []
    assert run_practice(_session(), read, out.append, True, width=200) == ExitCode.INTERRUPTED == 130
    assert "\ufffd" in out[3] and "is not a number" in out[4]  # the line of bytes, answered as unreadable
    assert out[-2] == "" and out[-1].startswith("0/10 right (0 at the first try), 0 wrong, 0 skipped, 10 not")
