"""The inverse blank pattern (issue 14, requirement 1): one given cell is blank, every step is
shown, and the learner solves for the given ("what weight makes z = 7?", the inverse problems
of the "AI by Hand" workbook's dot-product and linear-layer chapters).

References, independent of core/inverse.py:
- every template: the given replaced by each whole number of a range and the instance solved
  again through the public `engine.solve` (the template's own forward pass, but not the
  inverse module's batch), counting the numbers that reproduce every shown output;
- single-neuron, hidden-layer and matmul: forward passes written here with plain Python loops
  over Fractions from the exercises' descriptions (no nnhand op, no NumPy maths), searched over
  a wider range, and nudged by a non-whole amount to see that the outputs move;
- the worked line of a fixed single-neuron seed, written out by hand from its numbers.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.core.engine import Problem, Variant, generate, rebuild, solve
from nnhand.core.explain import explain_sheet
from nnhand.core.keys import key_data
from nnhand.core.sheet import Sheet, make_sheet
from nnhand.errors import NnhandError
from nnhand.grading.answers import answer_file_data, answer_file_text, parse_answer_text
from nnhand.grading.grade import grade_data
from nnhand.grading.practice import PracticeSession
from nnhand.output.lms import blank_answers, gift, moodle_xml, qti21

runner = CliRunner()
SEEDS = range(10)  # per template, for the every-template reference (each seed solves ~40 instances)
NAIVE_SEEDS = range(30)
SPAN = 20  # whole numbers -SPAN..SPAN, and within SPAN of the key, tried by the every-template reference
WIDE = 100  # the hand-written references try -WIDE..WIDE


def inverse_sheet(template_id: str, seed: int, params: dict[str, Any] | None = None) -> Sheet | None:
    """The inverse sheet of a seed, or None where the template refuses it (a clear NnhandError)."""
    template = api.load(template_id)
    if "inverse" not in template.blanks_allowed:
        return None
    problem = generate(template, seed, params)
    try:
        return make_sheet(problem, "inverse")
    except NnhandError as exc:
        assert "inverse" in exc.message and exc.fix, exc.message
        return None


def blank_cell(sheet: Sheet) -> tuple[str, int, int]:
    (name,) = sheet.blank_givens()
    cells = list(zip(*np.nonzero(sheet.blanks[name])))
    assert len(cells) == 1 and sheet.blank_count() == 1
    i, j = cells[0]
    return name, int(i), int(j)


def with_cell(plain: Any, shape: tuple[int, ...], i: int, j: int, value: Any) -> Any:
    """A given's plain value (nested lists) with cell (i, j) replaced."""
    if len(shape) == 0:
        return value
    if len(shape) == 1:
        return [value if k == i else v for k, v in enumerate(plain)]
    return [[value if (r, c) == (i, j) else v for c, v in enumerate(row)] for r, row in enumerate(plain)]


def shown(problem: Problem) -> dict[str, list[Fraction]]:
    return {
        s.name: [Fraction(v) for v in problem.values[s.name].reshape(-1).tolist()]
        for s in problem.template.steps
        if s.asked
    }


# ----------------------------------------------------------------------------- every template


def test_every_inverse_sheet_has_one_whole_number_answer(template_id: str) -> None:
    """Solved again for each whole number in place of the blank, only the key reproduces the
    shown outputs, and the key's value is a whole number of the given."""
    offered = 0
    for seed in SEEDS:
        sheet = inverse_sheet(template_id, seed)
        if sheet is None:
            continue
        offered += 1
        problem = sheet.problem
        name, i, j = blank_cell(sheet)
        answer = Fraction(problem.givens[name][i, j])
        assert answer.denominator == 1
        assert not problem.template.givens[name].words
        want, plain = shown(problem), problem.nested_givens()
        hits = []
        for v in range(min(-SPAN, int(answer) - SPAN), max(SPAN, int(answer) + SPAN) + 1):
            givens = {**plain, name: with_cell(plain[name], problem.shapes[name], i, j, v)}
            try:
                again = solve(problem.template, givens, problem.params)
            except NnhandError:
                continue
            if shown(again) == want:
                hits.append(v)
        assert hits == [int(answer)], f"{sheet.variant}: {name}[{i},{j}] is reproduced by {hits}"
    if offered == 0:
        pytest.skip(f"{template_id} offers no inverse sheet for these seeds")


def test_inverse_key_grades_full_marks_and_a_wrong_given_zero(template_id: str) -> None:
    for seed in (1, 2):
        sheet = inverse_sheet(template_id, seed)
        if sheet is None:
            pytest.skip(f"{template_id} refuses inverse")
        name, i, j = blank_cell(sheet)
        data = answer_file_data(sheet)
        value = int(sheet.problem.givens[name][i, j])
        assert data["answers"][name] == with_cell(data["givens"][name], sheet.shape(name), i, j, None)
        data["answers"][name] = with_cell(data["answers"][name], sheet.shape(name), i, j, value)
        report, _ = grade_data(data, "self")
        assert (report.score, report.max_score) == (1, 1) and report.exit_code == 0
        data["answers"][name] = with_cell(data["answers"][name], sheet.shape(name), i, j, value + 1)
        report, _ = grade_data(data, "self")
        assert (report.score, report.max_score) == (0, 1) and report.exit_code == 1
        assert report.root_cause == name
        assert explain_sheet(sheet)[name], "the worked solution explains the given"


def test_inverse_answer_file_hides_the_answer(template_id: str) -> None:
    sheet = inverse_sheet(template_id, 3)
    if sheet is None:
        pytest.skip(f"{template_id} refuses inverse")
    name, i, j = blank_cell(sheet)
    data = parse_answer_text(answer_file_text(sheet), "answers.yaml")
    assert data["variant"] == sheet.variant and data["variant"].endswith(",blanks=inverse")
    for part in ("givens", "answers"):
        assert with_cell(data[part][name], sheet.shape(name), i, j, "?") != data[part][name], part
    # every computed step is shown, filled in
    assert all(None not in np.array(data["answers"][s.name], dtype=object).reshape(-1).tolist() for s in sheet.asked())
    report, _ = grade_data(data, "answers.yaml")
    assert report.score == 0 and report.max_score == 1
    assert [c.status for s in report.steps for c in s.cells] == ["missing"]


# ----------------------------------------------------------------------------- independent passes


def naive_single_neuron(w: list[Fraction], x: list[Fraction], b: Fraction) -> tuple[Fraction, Fraction]:
    """z = Σ w_k x_k + b, a = max(z, 0) (the default single-neuron sheet: ReLU, with bias)."""
    z = sum((wk * xk for wk, xk in zip(w, x)), Fraction(0)) + b
    return z, max(z, Fraction(0))


def naive_layer(W: list[list[Fraction]], x: list[Fraction], b: list[Fraction] | None) -> list[Fraction]:
    out = []
    for r, row in enumerate(W):
        total = Fraction(0)
        for k, weight in enumerate(row):
            total += weight * x[k]
        out.append(total + (b[r] if b is not None else 0))
    return out


def naive_hidden_layer(g: dict[str, Any]) -> dict[str, Any]:
    """z1 = W1 x + b1, h = ReLU(z1), z2 = W2 h + b2, y = ReLU(z2), params (the default sheet)."""
    z1 = naive_layer(g["W1"], g["x"], g["b1"])
    h = [max(v, Fraction(0)) for v in z1]
    z2 = naive_layer(g["W2"], h, g["b2"])
    y = [max(v, Fraction(0)) for v in z2]
    n_in, n_hidden, n_out = len(g["x"]), len(g["W1"]), len(g["W2"])
    return {"z1": z1, "h": h, "z2": z2, "y": y, "params": Fraction((n_in + 1) * n_hidden + (n_hidden + 1) * n_out)}


def naive_matmul(g: dict[str, Any]) -> dict[str, Any]:
    A, B = g["A"], g["B"]
    C = [
        [sum((A[r][k] * B[k][c] for k in range(len(B))), Fraction(0)) for c in range(len(B[0]))] for r in range(len(A))
    ]
    return {"C": C}


def fractions(value: Any) -> Any:
    return [fractions(v) for v in value] if isinstance(value, list) else Fraction(value)


def flat(value: Any) -> list[Fraction]:
    return [v for item in value for v in flat(item)] if isinstance(value, list) else [value]


def set_cell(g: dict[str, Any], name: str, i: int, j: int, value: Fraction) -> dict[str, Any]:
    out = {k: [list(r) if isinstance(r, list) else r for r in v] if isinstance(v, list) else v for k, v in g.items()}
    if not isinstance(out[name], list):
        out[name] = value
    elif isinstance(out[name][0], list):
        out[name][i][j] = value
    else:
        out[name][i] = value
    return out


NAIVE = {
    "single-neuron": lambda g: dict(zip("za", naive_single_neuron(g["w"], g["x"], g["b"]))),
    "hidden-layer": naive_hidden_layer,
    "matmul": naive_matmul,
}


@pytest.mark.parametrize("template_id", sorted(NAIVE))
def test_a_hand_written_forward_pass_pins_the_blank_to_the_key(template_id: str) -> None:
    forward = NAIVE[template_id]
    for seed in NAIVE_SEEDS:
        sheet = inverse_sheet(template_id, seed)
        assert sheet is not None, f"{template_id} refused seed {seed}: a linear sheet always has a solvable cell"
        problem = sheet.problem
        name, i, j = blank_cell(sheet)
        givens = {k: fractions(v) for k, v in problem.nested_givens().items()}
        # the steps the hand-written pass computes (a sheet may show more, such as C's shape)
        shown_here = {n: v for n, v in shown(problem).items() if n in forward(givens)}
        assert {n: flat(v) for n, v in forward(givens).items()} == shown_here, "the hand-written pass is the sheet's"

        def reproduces(v: Fraction, g: dict[str, Any] = givens, at: tuple[Any, ...] = (name, i, j, shown_here)) -> bool:
            return {n: flat(x) for n, x in forward(set_cell(g, *at[:3], v)).items()} == at[3]

        hits = [v for v in range(-WIDE, WIDE + 1) if reproduces(Fraction(v))]
        key = key_data(problem)["givens"][name]
        key_value = key if not isinstance(key, list) else key[i] if not isinstance(key[i], list) else key[i][j]
        assert hits == [key_value], f"{sheet.variant}: {hits}"
        for nudge in (Fraction(1, 10), Fraction(-1, 2)):
            assert not reproduces(key_value + nudge), f"{sheet.variant}: a nudge of {nudge} changes no output"


def test_the_worked_line_of_single_neuron_seed_1() -> None:
    # single-neuron@3#1: w = [1, -1, 0], x = [1, 3, 1], b = 3, so z = 1 - 3 + 0 + 3 = 1, a = 1;
    # the inverse sheet leaves x[2] blank. Isolating it: z = w1 x1 + w2 x2 + w3 x3 + b, so
    # x2 = (z - w1 x1 - w3 x3 - b) / w2 = (1 - 1 - 0 - 3) / (-1) = 3.
    sheet = make_sheet(generate(api.load("single-neuron"), 1), "inverse")
    assert sheet.problem.nested_givens() == {"w": [1, -1, 0], "x": [1, 3, 1], "b": 3}
    assert blank_cell(sheet) == ("x", 1, 0)
    expected = "x[2] = (z − w[1]·x[1] − w[3]·x[3] − b) / w[2] = (1 − 1 − 0 − 3) / (−1) = 3"
    assert explain_sheet(sheet)["x"] == [expected]
    result = runner.invoke(app, ["key", "single-neuron", "--seed", "1", "--blanks", "inverse", "--explain"])
    assert result.exit_code == 0, result.output
    assert expected in result.stdout and "solved for from the shown steps" in result.stdout


def test_a_relu_that_passes_its_input_is_written_out() -> None:
    """mlp@#1 asks W1[5,2] through H1 = ReLU(W1 @ X): the line says the ReLU passes its input."""
    sheet = make_sheet(generate(api.load("mlp"), 1), "inverse")
    name, i, j = blank_cell(sheet)
    lines = explain_sheet(sheet)[name]
    assert len(lines) == 2 and "> 0, so the ReLU passes its input" in lines[0], lines
    assert lines[1].endswith(f"= {int(sheet.problem.givens[name][i, j])}".replace("-", "−"))


# ----------------------------------------------------------------------------- determinism, refusals


def test_the_same_variant_id_blanks_the_same_given() -> None:
    template = api.load("hidden-layer")
    for seed in range(8):
        first = make_sheet(generate(template, seed), "inverse")
        again = make_sheet(rebuild(template, Variant.parse(first.variant)), "inverse")
        assert again.variant == first.variant and blank_cell(again) == blank_cell(first)
    chosen = {blank_cell(make_sheet(generate(template, seed), "inverse")) for seed in range(12)}
    assert len(chosen) > 3, "the cell varies with the variant"


def write_template(folder: Path, tid: str, **top: Any) -> None:
    data = {"id": tid, "version": 1, "title": tid.title(), **top}
    (folder / f"{tid}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_a_template_that_opts_out_or_cannot_be_inverted_is_refused(tmp_path: Path) -> None:
    write_template(
        tmp_path,
        "closed",
        blanks={"allowed": ["all", "one"]},
        givens={"a": {"shape": [3], "dist": "weights"}},
        steps=[{"name": "y", "expr": "a + 1"}],
    )
    # a comparison: nudging a given moves no shown output, and every positive number gives the same
    write_template(
        tmp_path,
        "flat",
        givens={"a": {"shape": [3], "dist": {"set": {1: 1, 2: 1, 3: 1}}}},
        steps=[{"name": "y", "expr": "a > 0"}],
    )
    for tid, fragment in (("closed", "does not offer the blank pattern 'inverse'"), ("flat", "cannot be asked back")):
        result = runner.invoke(app, ["gen", tid, "--seed", "1", "--blanks", "inverse", "--problems-dir", str(tmp_path)])
        assert result.exit_code == 2, result.output
        assert tid in result.stderr and fragment in result.stderr and "Traceback" not in result.output
    assert (
        "--blanks one"
        in runner.invoke(
            app, ["gen", "flat", "--seed", "1", "--blanks", "inverse", "--problems-dir", str(tmp_path)]
        ).stderr
    )


# ----------------------------------------------------------------------------- the commands


def test_check_exit_codes_for_a_right_and_a_wrong_given(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    result = runner.invoke(app, ["gen", "single-neuron", "--seed", "1", "--blanks", "inverse", "-a", str(path), "-q"])
    assert result.exit_code == 0, result.output
    assert "___" in result.stdout and "x[2] is blank" in result.stdout.replace("\n", " ")
    text = path.read_text(encoding="utf-8")
    assert "  x: [1, null, 1]\n" in text  # the given, as printed, hides its cell
    for written, code, mark in (("3", 0, "Score: 1/1"), ("2", 1, "expected 3")):
        path.write_text(text.replace("  x: [1, null, 1]  #", f"  x: [1, {written}, 1]  #"), encoding="utf-8")
        result = runner.invoke(app, ["check", str(path)])
        assert result.exit_code == code, result.output
        assert mark in result.stdout
    result = runner.invoke(app, ["check", str(path), "--explain", "--format", "json"])  # still the wrong 2
    assert "(1 − 1 − 0 − 3) / (−1) = 3" in json.loads(result.stdout)["steps"][0]["cells"][0]["worked"]
    # the answer written among the givens instead: not a changed given, but not an answer either
    path.write_text(text.replace("  x: [1, null, 1]\n", "  x: [1, 3, 1]\n", 1), encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1 and "no answer" in result.stdout, result.output


def test_an_inverse_sheet_of_your_own_numbers_is_graded_from_the_shown_steps(tmp_path: Path) -> None:
    """No seed: the null given is recovered from the file's shown steps, then its digest checked."""
    mine = tmp_path / "mine.yaml"
    mine.write_text("w: [1, 2, -1]\nx: [2, 1, 3]\nb: 1\n", encoding="utf-8")
    path = tmp_path / "a.yaml"
    args = ["gen", "single-neuron", "--givens", str(mine), "--blanks", "inverse", "-a", str(path), "-q"]
    assert runner.invoke(app, args).exit_code == 0
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    (name,) = [n for n, v in data["givens"].items() if v is None or (isinstance(v, list) and None in v)]
    truth = {"w": [1, 2, -1], "x": [2, 1, 3], "b": 1}[name]
    data["answers"][name] = truth
    report, _ = grade_data(data, "a.yaml")
    assert report.score == report.max_score == 1
    data["answers"]["z"] = data["answers"]["z"] + 1  # a shown step edited: no instance of this digest
    with pytest.raises(NnhandError):
        grade_data(data, "a.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    blank = data["givens"][name]
    data["givens"][name] = data["answers"][name] = [7 if v is None else v for v in blank] if blank else 7
    with pytest.raises(NnhandError, match="do not give the shown steps"):  # a wrong number among the givens
        grade_data(data, "a.yaml")


def test_practice_asks_the_given_and_json_and_lms_carry_it() -> None:
    sheet = make_sheet(generate(api.load("single-neuron"), 1), "inverse")
    session = PracticeSession(sheet)
    assert [p.cell for p in session.prompts] == ["x[2]"]
    assert session.respond("?")[0].kind == "hint"
    assert session.respond("?")[0].message.endswith("= (1 − 1 − 0 − 3) / (−1) = ?")
    assert session.respond("3")[0].kind == "right"
    result = runner.invoke(app, ["gen", "single-neuron", "--seed", "1", "--blanks", "inverse", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"blanks": "inverse"' in result.stdout and "null" in result.stdout
    (answer,) = blank_answers(sheet)
    assert (answer.cell, answer.answer, answer.tolerance) == ("x[2]", "3", "0")
    assert ":=3:0#x[2] = 3" in moodle_xml([sheet])
    assert "x (input) \\= [1, ?, 1]" in gift([sheet])
    (item,) = qti21([sheet])
    assert item.count("<textEntryInteraction") == 1


def test_worksheets_print_the_blank_given_as_a_box(tmp_path: Path) -> None:
    out = tmp_path / "ws"
    args = ["worksheet", "single-neuron", "--count", "2", "--blanks", "inverse", "--format", "html", "--format", "md"]
    result = runner.invoke(app, [*args, "--out", str(out), "--worked"])
    assert result.exit_code == 0, result.output
    html = (out / "students" / "v1" / "sheet.html").read_text(encoding="utf-8")
    assert '<td class="blank"><span class="box" aria-label="blank">' in html
    assert "solved for from the shown steps" in (out / "students" / "v1" / "key.html").read_text(encoding="utf-8")
    submitted = tmp_path / "in"
    submitted.mkdir()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for student in manifest["students"]:
        (entry,) = student["exercises"]
        (name,) = [n for n in entry["blank_mask"] if n in entry["givens"]]  # the given to solve for
        data = yaml.safe_load((out / "students" / student["id"] / "single-neuron.yaml").read_text(encoding="utf-8"))
        if student["id"] == "v1":  # v1 answers right (the manifest keeps the given), v2 leaves it blank
            data["answers"][name] = entry["givens"][name]
        (submitted / f"{student['id']}-single-neuron.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    result = runner.invoke(app, ["grade", str(out / "manifest.json"), str(submitted), "--format", "json"])
    assert result.exit_code == 1, result.output
    graded = json.loads(result.stdout)
    assert graded["graded"] == 2 and graded["statistics"]["points_possible"] == 1.0
    assert (graded["statistics"]["totals"]["min"], graded["statistics"]["totals"]["max"]) == (0.0, 1.0)


def test_the_json_of_an_inverse_sheet_and_key_meets_the_schemas() -> None:
    from referencing import Registry, Resource

    from .test_schemas import SCHEMAS, validate

    resources = [
        (s["$id"], Resource.from_contents(s))
        for s in (json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMAS.glob("*.schema.json")))
    ]
    registry = Registry().with_resources(resources)
    for args, name in (
        (["gen", "hidden-layer", "--seed", "4", "--blanks", "inverse", "--format", "json"], "answers"),
        (["key", "hidden-layer", "--seed", "4", "--blanks", "inverse", "--format", "json", "--explain"], "key"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        validate(registry, name, document)
    assert document["worked"]["W1"][0].startswith("W1[3,1] = ")  # hidden-layer@2#4 asks W1[3,1]


def test_the_report_of_a_wrong_given_names_it_without_the_carried_forward_rule() -> None:
    # Only the given is asked: no later step exists to be checked against the learner's answer.
    sheet = inverse_sheet("single-neuron", 1)
    assert sheet is not None
    name, i, j = blank_cell(sheet)
    data = answer_file_data(sheet)
    wrong = int(sheet.problem.givens[name][i, j]) + 1
    data["answers"][name] = with_cell(data["answers"][name], sheet.shape(name), i, j, wrong)
    report, _ = grade_data(data, "self")
    assert report.root_cause_sentence() == f"First wrong step: {name}."
    # A sheet with every step asked keeps the rule where a wrong step has graded steps after it.
    full = make_sheet(generate(api.load("hidden-layer"), 7), "all")
    data = answer_file_data(full)
    data["answers"] = {s.name: key_data(full.problem)["answers"][s.name] for s in full.asked()}
    data["answers"]["z1"] = [v + 1 for v in data["answers"]["z1"]]  # a vector: one list
    report, _ = grade_data(data, "self")
    assert report.root_cause == "z1"
    assert "Later steps were checked against your own earlier answers" in (report.root_cause_sentence() or "")
