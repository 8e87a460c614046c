"""Code blanks and counting (issue 14, requirement 2): mlp-pytorch, mnist-params, activations.

mlp-pytorch prints a drawn network (input size x, the neurons n of each layer, the activation
f after each) and the PyTorch code that builds it with blanks: nn.Linear(__in__, __out__),
nn.__act__(), and the number `sum(p.numel() ...)` prints. Its key is recomputed here by a
naive reference written from the exercise (layer k reads x or the neurons of layer k - 1 and
makes n[k]; (in + 1)·out parameters a layer), and by PyTorch itself: the model is built from
the key's sizes and names with torch.nn, its modules and parameter count compared, and the
key's code as printed is executed and must build that model.

mnist-params counts the weights and biases of an MNIST network layer by layer: a naive loop,
and torch.nn.Linear's parameters; the published 784-16-16-10 network of "But what is a neural
network?" (3Blue1Brown, https://www.3blue1brown.com/lessons/neural-networks, quoted by the
seed lecture notes "Deep Learning", Chapter 1) must count 13,002 through `--givens`.

activations applies ReLU, leaky ReLU (slope α), σ and tanh to a column of pre-activations:
a naive loop with the printed σ and tanh tables (the sheet's own tables, typed here from the
notes' text, not computed), and torch.nn.functional (relu, leaky_relu, sigmoid, tanh) against
the exact chain.

Grading: an answer file with ReLU, nn.ReLU() and relu is right, Softmax wrong, a number or an
unknown name unreadable (the rest graded), in/out swapped diagnosed; practice, LMS exports and
every printed format carry the words, escaped.
"""

from __future__ import annotations

import itertools
import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.core.engine import Problem, generate
from nnhand.core.keys import key_data
from nnhand.core.sheet import make_sheet
from nnhand.core.template import template_from_text
from nnhand.errors import TemplateError
from nnhand.grading.answers import answer_file_data, answer_file_text, word_key
from nnhand.grading.grade import grade_data
from nnhand.grading.practice import PracticeSession
from nnhand.output.page import build_page, code_plain

from .checking import problems

SEEDS = range(30)
ACTIVATIONS = ("Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh")
runner = CliRunner()


def half_away(value: Fraction, places: int) -> Fraction:
    """Paper rounding: half away from zero."""
    scale = 10**places
    scaled = abs(value) * scale
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole, scale) * (1 if value >= 0 else -1)


# ----------------------------------------------------------------------------- mlp-pytorch


def mlp_reference(x: int, n: list[int], f: list[str]) -> dict[str, Any]:
    """The key as the exercise describes it: layer k reads x (k = 1) or the neurons of layer
    k - 1 and makes n[k] outputs; each layer has (in + 1)·out weights and biases."""
    sizes = [x, *n]
    out: dict[str, Any] = {}
    total = 0
    for k in range(1, len(n) + 1):
        fan_in, fan_out = sizes[k - 1], sizes[k]
        out[f"in{k}"], out[f"out{k}"], out[f"act{k}"] = fan_in, fan_out, f[k - 1]
        total += (fan_in + 1) * fan_out
    out["P"] = total
    return out


def drawn(problem: Problem) -> tuple[int, list[int], list[str]]:
    givens = key_data(problem)["givens"]
    return int(givens["x"]), [int(v) for v in givens["n"][0]], givens["f"][0].split()


@pytest.mark.parametrize("layers", [2, 3, 4])
def test_mlp_pytorch_key_matches_a_naive_reference(layers: int) -> None:
    template = api.load("mlp-pytorch")
    for seed in SEEDS:
        problem = generate(template, seed, {"layers": layers})
        x, n, f = drawn(problem)
        assert len(n) == len(f) == layers
        assert key_data(problem)["answers"] == mlp_reference(x, n, f), problem.variant


def build_model(torch: Any, answers: dict[str, Any], layers: int) -> Any:
    """nn.Sequential from the key's sizes and activation names, as the code on the sheet does."""
    modules = []
    for k in range(1, layers + 1):
        modules.append(torch.nn.Linear(answers[f"in{k}"], answers[f"out{k}"]))
        modules.append(getattr(torch.nn, answers[f"act{k}"])())
    return torch.nn.Sequential(*modules)


@pytest.mark.parametrize("layers", [2, 3, 4])
def test_mlp_pytorch_key_builds_the_drawn_network_in_pytorch(torch: Any, layers: int) -> None:
    for problem in (
        problems("mlp-pytorch", range(15))
        if layers == 3
        else [generate(api.load("mlp-pytorch"), seed, {"layers": layers}) for seed in range(15)]
    ):
        answers = key_data(problem)["answers"]
        x, n, f = drawn(problem)
        model = build_model(torch, answers, layers)
        assert sum(p.numel() for p in model.parameters()) == answers["P"], problem.variant
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        activations = [m for m in model if not isinstance(m, torch.nn.Linear)]
        assert [tuple(m.weight.shape) for m in linears] == list(zip(n, [x, *n[:-1]]))  # out × in
        assert [type(m).__name__ for m in activations] == f
        # the chain fits together: one example of x features goes through to n[-1] outputs
        assert tuple(model(torch.zeros(1, x)).shape) == (1, n[-1])
        assert "Linear(in_features=" in str(model)


def test_the_printed_key_code_runs_and_builds_the_model(torch: Any) -> None:
    """The code block of the key, as printed, is Python that builds the drawn network."""
    for problem in problems("mlp-pytorch", range(10)):
        page = build_page(make_sheet(problem, "none"), key=True)
        code = "\n".join(code_plain(line) for line in page.code)
        assert "__" not in code
        namespace: dict[str, Any] = {}
        printed: list[Any] = []
        exec(code, {"print": printed.append}, namespace)  # our own template's code
        model = namespace["model"]
        answers = key_data(problem)["answers"]
        assert printed == [answers["P"]]
        assert str(model) == str(build_model(torch, answers, problem.params["layers"]))


def test_the_worksheet_prints_the_code_with_named_blanks() -> None:
    sheet = api.generate("mlp-pytorch", seed=3)
    page = build_page(sheet)
    text = "\n".join(code_plain(line) for line in page.code)
    assert "nn.Linear(__in1__, __out1__)," in text
    assert "nn.__act1__()," in text
    assert "# prints __P__" in text
    assert not page.code_names & {q.name for q in page.tables}  # drawn in the code, not as tables
    assert page.code_names == {s.name for s in sheet.asked()}
    result = runner.invoke(app, ["gen", "mlp-pytorch", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "nn.Linear(__in1__, __out1__)," in result.output
    key = runner.invoke(app, ["key", "mlp-pytorch", "--seed", "3"])
    answers = key_data(sheet.problem)["answers"]
    assert f"nn.Linear({answers['in1']}, {answers['out1']})," in key.output
    assert f"nn.{answers['act1']}()," in key.output


def test_one_blank_pattern_shows_every_other_cell_in_the_code() -> None:
    for seed in range(5):
        sheet = api.generate("mlp-pytorch", seed=seed, blanks="one")
        page = build_page(sheet)
        answers = key_data(sheet.problem)["answers"]
        slots = [p for line in page.code for p in line if not isinstance(p, str)]
        assert sum(p.cell.blank for p in slots) == sheet.blank_count() == 1
        for slot in slots:
            if not slot.cell.blank:
                assert slot.cell.text == str(answers[slot.name])


# ----------------------------------------------------------------------------- grading words


def filled(sheet: Any, values: dict[str, Any]) -> dict[str, Any]:
    data = answer_file_data(sheet)
    data["answers"].update(values)
    return data


def key_answers(sheet: Any) -> dict[str, Any]:
    return dict(key_data(sheet.problem)["answers"])


def test_activation_names_are_read_in_any_usual_spelling() -> None:
    sheet = api.generate("mlp-pytorch", seed=1)
    answers = key_answers(sheet)
    word = answers["act1"]
    for spelling in (word, word.lower(), word.upper(), f"nn.{word}()", f"torch.nn.{word}()", f" {word} ", f"nn.{word}"):
        report = grade_data(filled(sheet, {**answers, "act1": spelling}), "a.yaml")[0]
        assert report.score == report.max_score, spelling
    assert word_key("leaky_relu") == word_key("LeakyReLU") == word_key("nn.LeakyReLU(0.1)")


def test_a_wrong_name_is_wrong_and_a_number_or_unknown_name_is_unreadable() -> None:
    sheet = api.generate("mlp-pytorch", seed=1)
    answers = key_answers(sheet)
    wrong = "Softmax" if answers["act1"] != "Softmax" else "ReLU"
    report = grade_data(filled(sheet, {**answers, "act1": wrong, "act2": 2, "act3": "Softplus"}), "a.yaml")[0]
    cells = {c.cell: c for s in report.steps for c in s.cells}
    assert cells["act1"].status == "wrong" and cells["act1"].given == wrong
    assert cells["act1"].expected == answers["act1"]
    assert cells["act2"].status == "unreadable" and "is a number" in (cells["act2"].reason or "")
    assert cells["act3"].status == "unreadable" and "'Softplus' is not one of the names" in (cells["act3"].reason or "")
    assert report.score == report.max_score - 3  # the rest is graded
    # a word step's slip is never "the values of" a number step (their cells are indices)
    assert not [d for s in report.steps for d in s.diagnosis if "values of" in d]


def test_in_and_out_swapped_is_diagnosed() -> None:
    sheet = api.generate("mlp-pytorch", seed=2)
    answers = key_answers(sheet)
    swapped = {**answers, "in2": answers["out2"], "out2": answers["in2"]}
    report = grade_data(filled(sheet, swapped), "a.yaml")[0]
    by_step = {s.name: s for s in report.steps}
    for name in ("in2", "out2"):
        assert by_step[name].status == "wrong"
        assert any("swapped in and out" in d for d in by_step[name].diagnosis), by_step[name].diagnosis


def test_the_parameter_count_slips_are_diagnosed() -> None:
    sheet = api.generate("mnist-params", seed=4)
    answers = key_answers(sheet)
    x, h = 784, key_data(sheet.problem)["givens"]["h"][0]
    no_bias = {**answers, "p1": x * h[0]}
    per_input = {**answers, "p1": x * (h[0] + 1)}
    for data, phrase in ((no_bias, "left out the biases"), (per_input, "gave each input a bias")):
        report = grade_data(filled(sheet, data), "a.yaml")[0]
        step = next(s for s in report.steps if s.name == "p1")
        assert any(phrase in d for d in step.diagnosis), step.diagnosis


def test_answer_file_round_trip_and_check_cli(tmp_path: Path) -> None:
    sheet = api.generate("mlp-pytorch", seed=7)
    text = answer_file_text(sheet)
    assert "a name: Identity, ReLU" in text
    answers = key_answers(sheet)
    for name, value in answers.items():
        written = f'"nn.{value}()"' if isinstance(value, str) else str(value)
        text = re.sub(rf"^  {name}: null", f"  {name}: {written}", text, flags=re.M)
    path = tmp_path / "a.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["check", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["score"] == report["max_score"] == len(answers)


def test_practice_reads_names() -> None:
    sheet = api.generate("mlp-pytorch", seed=1, blanks="all")
    session = PracticeSession(sheet)
    answers = key_answers(sheet)
    replies = []
    for step in sheet.asked():
        value = answers[step.name]
        replies += session.respond(value.lower() if isinstance(value, str) else str(value))
    assert session.right == len(answers), [r.message for r in replies]
    again = PracticeSession(sheet)
    again.respond(str(answers["in1"]))
    again.respond(str(answers["out1"]))
    assert again.respond("7")[0].kind == "invalid"  # a number where a name is asked
    other = "Softmax" if answers["act1"] != "Softmax" else "ReLU"
    retry = again.respond(other)  # the first wrong answer: a hint and another try, the key kept back
    assert retry[0].kind == "retry" and f"it is {answers['act1']}" not in retry[0].message
    wrong = again.respond(other)
    assert wrong[0].kind == "wrong" and f"it is {answers['act1']}" in wrong[0].message


def test_exports_ask_a_name_as_short_text() -> None:
    from nnhand.output.lms import gift, moodle_xml, qti21_item

    sheet = api.generate("mlp-pytorch", seed=1)
    word = key_answers(sheet)["act1"]
    assert f"{{1:SHORTANSWER:={word}#" in moodle_xml([sheet])
    assert f"={word} =nn.{word}()" in gift([sheet])
    qti = qti21_item(sheet)
    assert '<stringMatch caseSensitive="false">' in qti and f"<value>{word}</value>" in qti
    assert "nn.Linear(__in1__, __out1__)" in qti


def test_a_word_is_escaped_in_every_printed_format() -> None:
    """Your own vocabulary (a givens file may bring one): a word with an apostrophe."""
    from nnhand.output.lms import moodle_xml
    from nnhand.output.printing import Page, html_document, markdown_pages, typst_source

    words = ["Identity", "ReLU", "O'Neil", "Sigmoid", "Tanh", "Softmax"]
    problem = api.solve("mlp-pytorch", {"vocabulary": words, "x": 3, "n": [[4, 2]], "f": "O'Neil Sigmoid"})
    sheet = make_sheet(problem, "all")
    key = [Page(sheet, None, key=True)]
    html = html_document(key)
    assert "O&#x27;Neil" in html or "O&#39;Neil" in html
    assert "O'Neil" not in html.split("<body>")[1]
    assert 'raw("O\'Neil")' in typst_source(key)
    assert "nn.O'Neil()," in markdown_pages(key)
    cloze = moodle_xml([sheet])
    assert "O&#39;Neil" in cloze and "=O'Neil" not in cloze


def test_word_steps_and_code_lines_are_checked_at_load(tmp_path: Path) -> None:
    base = """
id: t
version: 1
title: t
vocabulary: [ReLU, Tanh]
givens:
  f: {shape: [1, 2], words: true, dist: {set: {ReLU: 1, Tanh: 1}}}
steps:
  - {name: a, expr: "f[0, 0]", words: true}
"""
    template_from_text(base + "code:\n  - 'nn.{a}()'\n", tmp_path / "t.yaml")
    faults = {
        "code:\n  - 'nn.{b}()'\n": "{b} is not an asked step",
        "  - {name: c, expr: 'f', words: true}\n": "a word step is one cell",
        "  - {name: c, expr: 'f[0, 1]', words: true, round: 2}\n": "has nothing to round",
    }
    for extra, message in faults.items():
        with pytest.raises(TemplateError, match=re.escape(message)):
            template_from_text(base + extra, tmp_path / "t.yaml")
    with pytest.raises(TemplateError, match="not in the vocabulary"):
        template_from_text(base.replace("{ReLU: 1, Tanh: 1}", "{ReLU: 1, GELU: 1}"), tmp_path / "t.yaml")


# ----------------------------------------------------------------------------- mnist-params


def count_reference(sizes: list[int]) -> dict[str, int]:
    """Per layer a·b weights and (a + 1)·b weights and biases, by plain loops."""
    out: dict[str, int] = {}
    layers = len(sizes) - 1
    total = 0
    for k in range(1, layers + 1):
        a, b = sizes[k - 1], sizes[k]
        weights = sum(1 for _ in range(b) for _ in range(a))
        params = weights + sum(1 for _ in range(b))
        name = "out" if k == layers else str(k)
        out[f"w{'_' if name == 'out' else ''}{name}"] = weights
        out[f"p{'_' if name == 'out' else ''}{name}"] = params
        total += params
    out["total"] = total
    return out


@pytest.mark.parametrize("hidden", [1, 2, 3])
def test_mnist_params_key_matches_a_naive_count_and_pytorch(torch: Any, hidden: int) -> None:
    template = api.load("mnist-params")
    for seed in SEEDS:
        problem = generate(template, seed, {"hidden": hidden})
        givens = key_data(problem)["givens"]
        sizes = [givens["x"], *givens["h"][0], givens["y"]]
        answers = key_data(problem)["answers"]
        assert answers == count_reference(sizes), problem.variant
        layers = [torch.nn.Linear(a, b) for a, b in itertools.pairwise(sizes)]
        assert [m.weight.numel() for m in layers] == [answers[k] for k in answers if k.startswith("w")]
        assert [m.weight.numel() + m.bias.numel() for m in layers] == [answers[k] for k in answers if k.startswith("p")]
        model = torch.nn.Sequential(*[m for layer in layers for m in (layer, torch.nn.ReLU())])
        assert sum(p.numel() for p in model.parameters()) == answers["total"]


def test_the_3blue1brown_network_has_13002_parameters(tmp_path: Path) -> None:
    """784-16-16-10, "But what is a neural network?" (3Blue1Brown): 13,002 weights and biases."""
    path = tmp_path / "g.yaml"
    path.write_text("x: 784\nh: [[16, 16]]\ny: 10\n", encoding="utf-8")
    result = runner.invoke(app, ["key", "mnist-params", "--givens", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    answers = json.loads(result.stdout)["answers"]
    assert answers == {"w1": 12544, "p1": 12560, "w2": 256, "p2": 272, "w_out": 160, "p_out": 170, "total": 13002}


# ----------------------------------------------------------------------------- activations

# The sheet's tables (its notes), as printed: σ and tanh at the points z is drawn from.
SIGMOID_TABLE = {-5: ".01", -3: ".05", -2: ".12", -1: ".27", 0: ".5", 1: ".73", 2: ".88", 3: ".95", 5: ".99"}
TANH_TABLE = {-5: "-1", -3: "-1", -2: "-.96", -1: "-.76", 0: "0", 1: ".76", 2: ".96", 3: "1", 5: "1"}


def test_the_printed_tables_are_the_tables_of_the_notes() -> None:
    notes = " ".join(api.load("activations").notes).replace("−", "-")
    assert "σ(-5, -3, -2, -1, 0, 1, 2, 3, 5) ≈ .01, .05, .12, .27, .5, .73, .88, .95, .99" in notes
    assert "tanh(-5, -3, -2, -1, 0, 1, 2, 3, 5) ≈ -1.00, -1.00, -.96, -.76, 0, .76, .96, 1.00, 1.00" in notes


@pytest.mark.parametrize("n", [4, 6, 8])
def test_activations_key_matches_the_tables_and_loops(n: int) -> None:
    template = api.load("activations")
    slope = Fraction(1, 10)
    for seed in SEEDS:
        problem = generate(template, seed, {"n": n})
        z = [int(v) for v in key_data(problem)["givens"]["z"]]
        want = {
            "r": [v if v > 0 else 0 for v in z],
            "l": [Fraction(v) if v > 0 else slope * v for v in z],
            "s": [Fraction(SIGMOID_TABLE[v]) for v in z],
            "t": [Fraction(TANH_TABLE[v]) for v in z],
        }
        got = {name: [Fraction(str(c)) for c in problem.values[name].reshape(-1)] for name in want}
        assert got == want, problem.variant
        assert any(v < 0 for v in z) and any(v > 0 for v in z)


def test_activations_agree_with_torch_functional(torch: Any) -> None:
    functional = torch.nn.functional
    for problem in problems("activations"):
        z = torch.tensor([float(v) for v in problem.givens["z"].reshape(-1)], dtype=torch.float64)
        outputs = {
            "r": functional.relu(z),
            "l": functional.leaky_relu(z, negative_slope=0.1),
            "s": torch.sigmoid(z),
            "t": torch.tanh(z),
        }
        for name, tensor in outputs.items():
            exact = np.array([float(v) for v in problem.exact[name].reshape(-1)])
            assert np.allclose(exact, tensor.numpy(), rtol=0, atol=1e-12), (problem.variant, name)
            if name in ("s", "t"):  # the key: paper rounding of the exact value to 2 decimals
                rounded = [half_away(Fraction(float(v)), 2) for v in tensor.numpy()]
                assert [Fraction(str(v)) for v in problem.values[name].reshape(-1)] == rounded


def test_leaky_relu_slips_are_diagnosed() -> None:
    sheet = api.generate("activations", seed=2)
    answers = key_answers(sheet)
    z = [Fraction(int(v)) for v in key_data(sheet.problem)["givens"]["z"]]
    cases = {
        "slope to positives": ([float(v / 10) for v in z], "positive values by the slope too"),
        "plain relu": ([int(max(v, 0)) for v in z], "That is plain ReLU"),
        "sign": ([int(v) if v > 0 else float(-v / 10) for v in z], "sign of the negative side"),
    }
    for name, (written, phrase) in cases.items():
        report = grade_data(filled(sheet, {**answers, "l": written}), "a.yaml")[0]
        step = next(s for s in report.steps if s.name == "l")
        assert any(phrase in d for d in step.diagnosis), (name, step.diagnosis)


def test_the_slope_of_a_givens_file_is_the_one_printed(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("z: [-2, 3, -1, 2]\nalpha: 0.01\n", encoding="utf-8")
    result = runner.invoke(app, ["key", "activations", "--givens", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["answers"]["l"] == [-0.02, 3, -0.01, 2]
    sheet = runner.invoke(app, ["gen", "activations", "--givens", str(path)])
    assert "α = 0.01" in sheet.output


# ----------------------------------------------------------------------------- ops on a batch


def test_counting_ops_work_on_a_batch_like_a_loop() -> None:
    from nnhand.ops.activation import leaky_relu
    from nnhand.ops.counting import layer_params, linear_in, linear_out

    rng = np.random.default_rng(0)
    x = rng.integers(2, 7, size=(5, 1, 1))
    n = rng.integers(2, 7, size=(5, 1, 4))
    for k in range(1, 5):
        layer = np.array([[[k]]])
        got_in, got_out = linear_in(x, n, layer), linear_out(x, n, layer)
        for b in range(5):
            sizes = [int(x[b, 0, 0]), *(int(v) for v in n[b, 0])]
            assert got_in[b, 0, 0] == sizes[k - 1] and got_out[b, 0, 0] == sizes[k]
    params = layer_params(x, n)
    for b in range(5):
        assert [int(v) for v in params[b, 0]] == [(int(x[b, 0, 0]) + 1) * int(v) for v in n[b, 0]]
    z = rng.integers(-5, 6, size=(4, 3, 1))
    slope = np.array([[[Fraction(1, 10)]]], dtype=object)
    leaky = leaky_relu(z, slope)
    for b in range(4):
        for i in range(3):
            v = int(z[b, i, 0])
            assert Fraction(leaky[b, i, 0]) == (v if v > 0 else Fraction(v, 10))


def test_the_json_report_of_word_cells_follows_its_schema(tmp_path: Path) -> None:
    import jsonschema
    from referencing import Registry, Resource

    schemas = Path(__file__).resolve().parent.parent / "nnhand" / "schemas"
    resources = [
        (s["$id"], Resource.from_contents(s)) for s in (json.loads(p.read_text()) for p in schemas.glob("*.json"))
    ]
    schema = json.loads((schemas / "report.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, registry=Registry().with_resources(resources))
    sheet = api.generate("mlp-pytorch", seed=6)
    answers = key_answers(sheet)
    wrong = "Softmax" if answers["act1"] != "Softmax" else "ReLU"
    data = filled(sheet, {**answers, "act1": wrong, "act2": "Softplus", "act3": None})
    path = tmp_path / "a.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["check", str(path), "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert [f"{e.json_path}: {e.message}" for e in validator.iter_errors(report)] == []
    cells = {c["cell"]: c for s in report["steps"] for c in s["cells"]}
    expected = {"expected": answers["act1"], "accepted": {"word": answers["act1"]}}
    assert cells["act1"] == {"cell": "act1", "status": "wrong", "given": wrong, **expected}
    assert cells["act2"]["status"] == "unreadable" and cells["act2"]["written"] == "Softplus"
    assert cells["act3"]["status"] == "missing" and cells["act3"]["given"] is None
    assert cells["in1"]["given"] == answers["in1"]


def test_a_class_is_graded_from_the_manifest_with_names_in_its_key(tmp_path: Path) -> None:
    """worksheet → answer files with names → grade: the manifest keeps the key's words."""
    out = tmp_path / "ws"
    made = runner.invoke(app, ["worksheet", "mlp-pytorch", "--count", "2", "--out", str(out)])
    assert made.exit_code == 0, made.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    folder = tmp_path / "in"
    folder.mkdir()
    for student in manifest["students"]:
        (exercise,) = student["exercises"]
        assert isinstance(exercise["key"]["act1"], str) and exercise["key"]["act1"] in ACTIVATIONS
        text = (out / "students" / student["id"] / "mlp-pytorch.yaml").read_text(encoding="utf-8")
        for name, value in exercise["key"].items():
            if student["id"] == "v2" and name == "act1":
                value = "Softmax"
            written = f'"nn.{value}()"' if isinstance(value, str) else str(value)
            text = re.sub(rf"^  {name}: null", f"  {name}: {written}", text, flags=re.M)
        (folder / f"{student['id']}.yaml").write_text(text, encoding="utf-8")
    book = tmp_path / "grades.csv"
    result = runner.invoke(app, ["grade", str(out / "manifest.json"), str(folder), "--csv", str(book)])
    assert result.exit_code in (0, 1), result.output
    rows = {
        line.split(",")[0].lstrip("\ufeff"): line.split(",") for line in book.read_text(encoding="utf-8").splitlines()
    }
    assert rows["v1"][4:6] == ["10", "10"] and rows["v2"][4:6] == ["9", "10"]
