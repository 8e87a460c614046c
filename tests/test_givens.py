"""Your own numbers (issue 11): sizes read from shapes, params in the file, fixed givens as
defaults, every problem reported at once, stdin, exact fractions, default rounding with a
note, undefined steps named, realism warnings, `gen --givens` and `worksheet --givens`.

Expectations are computed here by naive code (tests/reference.py) or written out by hand,
never with nnhand's own solver."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.core.augment import pairs
from nnhand.core.engine import generate
from nnhand.core.template import template_from_text
from nnhand.errors import TemplateError
from nnhand.resources import template_files
from tests.reference import mm, relu, round_half_away, transpose

runner = CliRunner()
TEMPLATES = sorted(template_files())


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin)


def key_json(*args: str, stdin: str | None = None) -> dict[str, Any]:
    result = run("key", *args, "--format", "json", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def write(tmp_path: Path, data: Any, name: str = "givens.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def bad(result: Any, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def as_fraction(v: Any) -> Fraction:
    return Fraction(v) if not isinstance(v, float) else Fraction(str(v))


# ----------------------------------------------------------------------------- sizes from shapes


def test_matmul_sizes_come_from_the_shapes(tmp_path: Path) -> None:
    path = write(tmp_path, {"A": [[1, 2], [3, 4]], "B": [[1, 0, 1], [0, 1, 1]]})
    data = key_json("matmul", "--givens", str(path))
    assert data["params"] == {"m": 2, "k": 2, "n": 3}
    a, b = [[1, 2], [3, 4]], [[1, 0, 1], [0, 1, 1]]
    assert data["answers"]["C"] == mm(a, b) == [[1, 2, 3], [3, 4, 7]]


def test_a_size_conflict_names_both_sources_and_param(tmp_path: Path) -> None:
    path = write(tmp_path, {"A": [[1, 2], [3, 4]], "B": [[1, 0, 1], [0, 1, 1], [1, 1, 1]]})
    bad(run("key", "matmul", "--givens", str(path)), "A has 2 columns", "B has 3 rows", "--param")
    path = write(tmp_path, {"A": [[1, 2], [3, 4]], "B": [[1, 0, 1], [0, 1, 1]]})
    bad(run("key", "matmul", "--givens", str(path), "--param", "m=3"), "A has 2 rows", "m = 3")
    # --param that agrees is fine
    assert run("key", "matmul", "--givens", str(path), "--param", "m=2").exit_code == 0


def test_a_size_out_of_range_says_the_range(tmp_path: Path) -> None:
    path = write(tmp_path, {"A": [[1] * 20], "B": [[1] for _ in range(20)]})
    bad(run("key", "matmul", "--givens", str(path)), "k", "outside", "1..")


def test_every_problem_is_reported_at_once_with_an_example(tmp_path: Path) -> None:
    w1 = [[1, 0, 1], [0, 1, 1], [1, 1, 0], [-1, 0, 1]]
    path = write(tmp_path, {"x": [1, 2, 3], "W1": w1, "b1": [1, 2, 3, 4], "colour": 3, "size": 2})
    result = run("key", "hidden-layer", "--givens", str(path))
    bad(result, "unknown given 'colour'", "unknown given 'size'", "missing given 'W2'", "missing given 'b2'")
    assert "e.g. W2: [[" in result.stderr  # each missing name with its shape and an example


def test_mlp_published_sizes_need_no_params(tmp_path: Path) -> None:
    """The seven-layer MLP at its published sizes 3-5-2-3-2-2-2-1 (seed 002, "Seven Layers")."""
    sizes = [3, 5, 2, 3, 2, 2, 2, 1]
    givens: dict[str, Any] = {"X": [[1, 2], [0, 1], [2, 1]]}
    for k in range(1, 8):
        givens[f"W{k}"] = [[(i + j + k) % 3 - 1 for j in range(sizes[k - 1])] for i in range(sizes[k])]
    data = key_json("mlp", "--givens", str(write(tmp_path, givens)))
    assert data["params"]["d5"] == 2 and data["params"]["d7"] == 1 and data["params"]["layers"] == 7
    h = givens["X"]
    for k in range(1, 7):
        h = relu(mm(givens[f"W{k}"], h))
        assert data["answers"][f"H{k}"] == h
    assert data["answers"]["Y"] == mm(givens["W7"], h)


def test_mlp_depth_is_read_from_the_weights_given(tmp_path: Path) -> None:
    givens = {"X": [[1], [2]], "W1": [[1, -1], [0, 1], [1, 1]], "W2": [[1, 0, -1]], "W3": [[2], [-1]]}
    data = key_json("mlp", "--givens", str(write(tmp_path, givens)))
    assert data["params"]["layers"] == 3
    h1 = relu(mm(givens["W1"], givens["X"]))
    h2 = relu(mm(givens["W2"], h1))
    flat = {name: [row[0] for row in m] for name, m in {"H1": h1, "H2": h2, "Y": mm(givens["W3"], h2)}.items()}
    assert data["answers"] == {"H1": flat["H1"], "H2": flat["H2"][0], "Y": flat["Y"]}  # one example: vectors


# ----------------------------------------------------------------------------- params, fixed givens, stdin


def test_params_may_be_written_in_the_givens_file(tmp_path: Path) -> None:
    problem = generate(api.load("switch-transformer"), 4, {"capacity": 3})
    givens = problem.nested_givens()
    with_capacity = key_json("switch-transformer", "--givens", str(write(tmp_path, {**givens, "capacity": 3})))
    assert with_capacity["params"]["capacity"] == 3
    in_block = key_json("switch-transformer", "--givens", str(write(tmp_path, {**givens, "params": {"capacity": 3}})))
    assert in_block["answers"] == with_capacity["answers"]
    seeded = key_json("switch-transformer", "--seed", "4", "--param", "capacity=3")
    assert with_capacity["answers"] == seeded["answers"]
    bad(run("key", "switch-transformer", "--givens", str(write(tmp_path, {**givens, "capacity": 3})),
            "--param", "capacity=2"), "capacity")  # fmt: skip


def test_a_fixed_given_is_a_default_and_a_supplied_one_is_used(tmp_path: Path) -> None:
    problem = generate(api.load("rnn"), 3)
    givens = problem.nested_givens()
    del givens["h0"]
    default = key_json("rnn", "--givens", str(write(tmp_path, givens)))
    assert default["givens"]["h0"] == [0] * len(default["givens"]["A"])
    h0 = [1] + [0] * (len(givens["A"]) - 1)
    own = key_json("rnn", "--givens", str(write(tmp_path, {**givens, "h0": h0})))
    # naive RNN: h_t = ReLU(A h_(t-1) + B x_t), y_t = C h_t
    a, b, c, x = givens["A"], givens["B"], givens["C"], givens["x"]
    h = [[v] for v in h0]
    columns = []
    for t in range(len(x[0])):
        pre = [[mm(a, h)[i][0] + mm(b, [[x[r][t]] for r in range(len(x))])[i][0]] for i in range(len(a))]
        h = relu(pre)
        columns.append([row[0] for row in h])
    assert own["answers"]["H"] == transpose(columns)
    assert own["answers"]["Y"] == mm(c, transpose(columns))
    sheet = run("gen", "rnn", "--givens", str(write(tmp_path, {**givens, "h0": h0})))
    assert sheet.exit_code == 0, sheet.stderr
    assert "h0 = [0, 0]" not in sheet.stdout and "h_0 = 0" not in sheet.stdout  # the text follows h0


def test_givens_from_stdin(tmp_path: Path) -> None:
    data = key_json("matmul", "--givens", "-", stdin="A: [[1, 2]]\nB: [[3], [4]]\n")
    assert data["answers"]["C"] == 11  # a 1x1 product is one number
    bad(run("key", "matmul", "--givens", "-", stdin="A: [[1, 2]\n"), "stdin")


# ----------------------------------------------------------------------------- any numbers get a key


def test_self_attention_with_negative_scores_is_keyed_exactly(tmp_path: Path) -> None:
    """Scores below 0 give 3^-1 = 1/3 and smaller: E is written rounded (0.33, as the sheet
    says), and the column sums and weights are computed from the exact thirds."""
    x = [[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 1], [0, 1, 1, 0]]
    wq = [[-1, 0, -1, 0, 0, 0], [0, -1, 0, 0, -1, 0], [1, 0, 0, 0, 0, -1]]
    wk = [[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]]
    wv = [[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0]]
    data = key_json("self-attention", "--givens", str(write(tmp_path, {"X": x, "WQ": wq, "WK": wk, "WV": wv})))
    q, k, v = mm(wq, x), mm(wk, x), mm(wv, x)
    s = mm(transpose(k), q)
    dk = len(wq)
    divisor = round(math.sqrt(dk))  # the template's stated rule: √dk rounded (√3 -> 2)
    d = [[int(round_half_away(Fraction(c, divisor), 0)) for c in row] for row in s]
    assert any(c < 0 for row in d for c in row)
    e = [[Fraction(3) ** c for c in row] for row in d]
    assert [[as_fraction(c) for c in row] for row in data["answers"]["E"]] == [
        [round_half_away(c, 2) for c in row] for row in e
    ]
    assert "0.33" in json.dumps(data["answers"]["E"]) or "0.11" in json.dumps(data["answers"]["E"])
    esum = [sum(e[i][j] for i in range(len(e))) for j in range(len(e[0]))]
    assert [as_fraction(c) for c in data["answers"]["Esum"][0]] == [round_half_away(c, 2) for c in esum]
    a = [[round_half_away(e[i][j] / esum[j], 2) for j in range(len(e[0]))] for i in range(len(e))]
    assert [[as_fraction(c) for c in row] for row in data["answers"]["A"]] == a
    z = [[round_half_away(c, 2) for c in row] for row in mm(v, a)]  # from the rounded weights, as the key
    assert [[as_fraction(c) for c in row] for row in data["answers"]["Z"]] == z
    # graded exactly: 1/3 typed as 1/3 is right
    answers = tmp_path / "a.yaml"
    made = run("gen", "self-attention", "--givens", str(tmp_path / "givens.yaml"), "--answers", str(answers))
    assert made.exit_code == 0, made.stderr
    filled = yaml.safe_load(answers.read_text())
    filled["answers"]["E"] = [[str(c) for c in row] for row in e]
    answers.write_text(yaml.safe_dump(filled))
    report = run("check", str(answers), "--format", "json")
    steps = {s["name"]: s for s in json.loads(report.stdout)["steps"]}
    assert steps["E"]["score"] == steps["E"]["max_score"]


def test_batch_norm_with_a_variance_that_is_not_a_square(tmp_path: Path) -> None:
    x = [[1, 2, 3, 4], [0, 2, 0, 2], [1, 1, 1, 5]]
    gamma, beta = [1, 2, 1], [0, 1, 0]
    result = run("key", "batch-norm", "--givens", str(write(tmp_path, {"X": x, "gamma": gamma, "beta": beta})),
                 "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    for f, row in enumerate(x):
        mu = Fraction(sum(row), len(row))
        var = sum((Fraction(v) - mu) ** 2 for v in row) / len(row)
        sd = math.sqrt(var)
        assert as_fraction(data["answers"]["mu"][f]) == mu
        assert as_fraction(data["answers"]["var"][f]) == var
        assert as_fraction(data["answers"]["sd"][f]) == round_half_away(Fraction(sd), 2)
    assert as_fraction(data["answers"]["sd"][0]) == Fraction("1.12")  # √1.25 = 1.118...
    sheet = run("gen", "batch-norm", "--givens", str(tmp_path / "givens.yaml"))
    assert "2 decimals" in sheet.stdout


def test_an_undefined_step_names_the_step_and_its_givens(tmp_path: Path) -> None:
    problem = generate(api.load("softmax-temperature"), 1)
    givens = {**problem.nested_givens(), "T": 0}
    result = run("key", "softmax-temperature", "--givens", str(write(tmp_path, givens)))
    bad(result, "step", "division by zero", "T")


def test_numbers_that_break_realism_are_keyed_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, {"A": [[0, 0], [0, 0]], "B": [[1, 2], [3, 4]]})
    result = run("key", "matmul", "--givens", str(path))
    assert result.exit_code == 0
    assert "warning" in result.stderr and "every row of A does something" in result.stderr


# ----------------------------------------------------------------------------- gen, worksheet


def test_gen_givens_prints_the_sheet_and_a_gradable_answer_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"A": [[1, 2], [3, 4]], "B": [[1, 0, 1], [0, 1, 1]]})
    answers = tmp_path / "answers.yaml"
    result = run("gen", "matmul", "--givens", str(path), "--blanks", "all", "--answers", str(answers))
    assert result.exit_code == 0, result.stderr
    assert "givens-" in result.stdout and "___" in result.stdout
    filled = yaml.safe_load(answers.read_text())
    filled["answers"]["C_shape"] = [[2, 3]]
    filled["answers"]["C"] = [[1, 2, 3], [3, 4, 7]]
    answers.write_text(yaml.safe_dump(filled))
    assert run("check", str(answers)).exit_code == 0
    filled["answers"]["C"][1][2] = 8
    answers.write_text(yaml.safe_dump(filled))
    assert run("check", str(answers)).exit_code == 1
    bad(run("gen", "matmul", "--givens", str(path), "--seed", "3"), "--seed")


def test_worksheet_givens_gives_everyone_the_same_numbers_each_sheet_sealed(tmp_path: Path) -> None:
    path = write(tmp_path, {"A": [[1, 2], [3, 4]], "B": [[1, 0, 1], [0, 1, 1]]})
    out = tmp_path / "ws"
    result = run("worksheet", "matmul", "--givens", str(path), "--count", "3", "--out", str(out), "--format", "md")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    entries = [s["exercises"][0] for s in manifest["students"]]
    assert len({e["variant"] for e in entries}) == 3  # each sheet its own sealed id
    assert all(e["givens"] == {"A": [[1, 2], [3, 4]], "B": [[1, 0, 1], [0, 1, 1]]} for e in entries)
    subs = tmp_path / "subs"
    for student in ("v1", "v2"):
        (subs / student).mkdir(parents=True)
        answer = yaml.safe_load((out / "students" / student / "matmul.yaml").read_text())
        answer["answers"]["C_shape"] = [[2, 3]] if student == "v1" else [[3, 2]]
        answer["answers"]["C"] = [[1, 2, 3], [3, 4, 7]] if student == "v1" else [[0, 0, 0], [0, 0, 0]]
        (subs / student / "matmul.yaml").write_text(yaml.safe_dump(answer))
    graded = run("grade", str(out / "manifest.json"), str(subs), "--json", str(tmp_path / "book.json"))
    book = json.loads((tmp_path / "book.json").read_text())
    scores = {row["id"]: row for row in book["students"]} if "students" in book else {}
    assert graded.exit_code == 1  # v3 missing, v2 wrong
    assert "v1: matmul 8/8" in graded.stdout and "v2: matmul 0/8" in graded.stdout, (graded.stdout, scores)


# ----------------------------------------------------------------------------- vocabulary


def test_a_vocabulary_of_your_own(tmp_path: Path) -> None:
    problem = generate(api.load("vector-db"), 2)
    g = problem.nested_givens()
    words = ["I", "am", "here", "you", "are", "there", "we", "they"]
    table = {w: [i % 2, (i // 2) % 2, (i // 4) % 2, 1] for i, w in enumerate(words)}
    own = {"E": table, "W": g["W"], "b": g["b"], "P": g["P"],
           "stored": ["I am here", "you are there", "we are here"], "query": "they are there"}  # fmt: skip
    data = key_json("vector-db", "--givens", str(write(tmp_path, own)))
    assert data["givens"]["vocabulary"] == words
    # T1 = ReLU(W·[e_I e_am e_here] + b), by hand
    e1 = [[table[w][r] for w in ["I", "am", "here"]] for r in range(4)]
    pre = mm(g["W"], e1)
    t1 = relu([[pre[i][j] + g["b"][i] for j in range(3)] for i in range(4)])
    assert data["answers"]["T1"] == t1
    # the key file made from it is itself a givens file (the vocabulary goes with it)
    again = key_json("vector-db", "--givens", str(write(tmp_path, data, "key.yaml")))
    assert again["answers"] == data["answers"] and again["variant"] == data["variant"]


# ----------------------------------------------------------------------------- the catalogue


def test_show_and_list_params_say_what_a_template_takes() -> None:
    shown = run("show", "hidden-layer")
    assert shown.exit_code == 0
    for fragment in ("W1", "n_hidden", "default", "..", "--param"):
        assert fragment in shown.stdout
    listed = run("list", "--params", "--format", "json")
    rows = {r["id"]: r for r in json.loads(listed.stdout)["templates"]}
    assert set(rows) == set(TEMPLATES)
    assert rows["matmul"]["params"]["m"]["max"] >= 8
    assert rows["rnn"]["givens"]["h0"]["fixed"]
    assert "--param" in run("key", "--help").stdout


# ----------------------------------------------------------------------------- the template language


CONDITIONAL = """
id: layer
version: 1
title: "A layer ({act})"
params:
  n: {default: 2, min: 1, max: 4}
  act: {choices: [none, relu], default: relu}
  bias: {default: 1, min: 0, max: 1, doc: 1 with a bias}
givens:
  W: {shape: [2, n], dist: weights}
  x: {shape: [n], dist: inputs}
  b: {shape: [2], dist: bias, when: {bias: 1}}
steps:
  - {name: z, expr: W @ x + b, when: bias == 1}
  - {name: z, expr: W @ x, when: bias == 0}
  - {name: y, expr: relu(z), when: {act: relu}}
  - {name: y, expr: z, when: {act: none}}
realism: {relu_zeroes_some: false, relu_not_dead: false, copies: false}  # y = z when act is none
summary:
  - {text: "A linear layer.", when: {act: none}}
  - "A ReLU layer."
notes:
  - {text: "No bias here.", when: bias == 0}
  - "Columns are examples."
"""


def test_when_and_choices_decide_the_givens_and_steps(tmp_path: Path) -> None:
    template = template_from_text(CONDITIONAL, tmp_path / "layer.yaml")
    w, x, b = [[1, -2], [-1, 1]], [3, 2], [1, -5]
    full = api.solve(str(_saved(tmp_path)), {"W": w, "x": x, "b": b})
    z = [mm(w, [[v] for v in x])[i][0] + b[i] for i in range(2)]
    assert full.params == {"n": 2, "act": 1, "bias": 1}
    assert [int(v) for v in full.values["y"].reshape(-1)] == [max(v, 0) for v in z]
    no_bias = api.solve(str(_saved(tmp_path)), {"W": w, "x": x})  # the bias left out: bias = 0 is chosen
    assert no_bias.params["bias"] == 0
    linear = api.solve(str(_saved(tmp_path)), {"W": w, "x": x, "b": b}, {"act": "none"})
    assert [int(v) for v in linear.values["y"].reshape(-1)] == z
    assert linear.template.title == "A layer (none)"
    assert (linear.template.summary, full.template.summary) == ("A linear layer.", "A ReLU layer.")
    assert no_bias.template.notes == ("No bias here.", "Columns are examples.")
    assert full.template.notes == ("Columns are examples.",)
    assert generate(template, 1, {"act": "none", "bias": 0}).variant.params == (("act", 0), ("bias", 0))
    with pytest.raises(TemplateError, match="act"):
        template.resolve_params({"act": "tanh"})


def test_steps_sharing_a_name_must_exclude_each_other(tmp_path: Path) -> None:
    clash = CONDITIONAL.replace("when: {act: none}", "when: bias == 1")
    template = template_from_text(clash.replace("default: relu", "default: none"), tmp_path / "layer.yaml")
    with pytest.raises(TemplateError, match="both apply"):
        generate(template, 1, {"act": "relu", "bias": 1})
    with pytest.raises(TemplateError, match="already defined"):
        template_from_text(CONDITIONAL.replace("  - {name: y, expr: z, when: {act: none}}", "  - {name: y, expr: z}"),
                           tmp_path / "layer.yaml")  # fmt: skip


def _saved(tmp_path: Path) -> Path:
    path = tmp_path / "layer.yaml"
    path.write_text(CONDITIONAL, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- every template round-trips


def _instances(template_id: str) -> list[tuple[int, dict[str, int]]]:
    """Seed 1 at the defaults, and each param at its min and its max (where sampling allows)."""
    template = api.load(template_id)
    out: list[tuple[int, dict[str, int]]] = [(1, {})]
    for p in template.params.values():
        for value in {p.low, p.high} - {p.default}:
            out.append((2, {p.name: value}))
    return out


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_every_template_round_trips_through_givens_without_params(template_id: str, tmp_path: Path) -> None:
    template = api.load(template_id)
    for seed, params in _instances(template_id):
        try:
            problem = generate(template, seed, params)
        except Exception as exc:  # a size sampling cannot meet: say which
            pytest.fail(f"{template_id} {params}: {exc}")
        givens = problem.nested_givens()
        # Params no shape names and no `when` reads (a capacity) go in the file, as a user writes them.
        shaped = {str(d) for g in problem.template.givens.values() for d in g.shape}
        # ... and so do choices no given reveals (an output activation): only givens' `when` tells.
        decided = {n for g in template.givens.values() if g.when is not None for n in g.when.names}
        for name, value in problem.params.items():
            if not any(name in s for s in shaped) and name not in decided:
                givens[name] = value
        seeded = key_json(template_id, "--seed", str(seed), *[f"--param={k}={v}" for k, v in params.items()])
        path = write(tmp_path, givens)
        solved = key_json(template_id, "--givens", str(path))
        assert solved["answers"] == seeded["answers"], (template_id, params)
        assert solved["params"] == seeded["params"], (template_id, params)
        for pair in pairs(problem.template):  # [W | b]: b as the last column of W, two ways
            w, b = givens[pair.weights], givens[pair.bias]
            column = b if isinstance(b, list) else [b]
            joined = [[*row, column[i]] for i, row in enumerate(w)]
            as_one = {k: v for k, v in givens.items() if k not in (pair.weights, pair.bias)}
            for form in ({**as_one, pair.joined: joined}, {**as_one, pair.weights: joined}):
                got = key_json(template_id, "--givens", str(write(tmp_path, form)))
                assert got["answers"] == seeded["answers"], (template_id, params, pair)
        fixed = [n for n, g in problem.template.givens.items() if g.dist.kind == "fixed"]
        if fixed:  # fixed givens left out: the template's values
            trimmed = {k: v for k, v in givens.items() if k not in fixed}
            assert key_json(template_id, "--givens", str(write(tmp_path, trimmed)))["answers"] == seeded["answers"]


def test_practice_on_your_own_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, {"A": [[1, 2], [3, 4]], "B": [[1, 0, 1], [0, 1, 1]]})
    result = run("practice", "matmul", "--givens", str(path), stdin="2\n3\n1\n2\n3\n3\n4\n7\n")
    assert result.exit_code == 0, result.stderr
    said = " ".join(result.stdout.split())  # the lines are wrapped to the width
    assert "8/8 right (8 at the first try)" in said and "--givens FILE" in said
    seeded = run("practice", "matmul", "--seed", "3", "--param", "m=2", stdin="q\n")
    assert "again: nnhand practice matmul --seed 3 --param m=2" in " ".join(seeded.stdout.split())
    bad(run("practice", "matmul", "--givens", "-", stdin="A: [[1]]\n"), "stdin")


def test_a_class_set_of_your_own_words_grades_and_catches_a_changed_vocabulary(tmp_path: Path) -> None:
    problem = generate(api.load("vector-db"), 2)
    g = problem.nested_givens()
    words = ["I", "am", "here", "you", "are", "there"]
    table = {w: [i % 2, (i // 2) % 2, (i // 4) % 2, 1] for i, w in enumerate(words)}
    own = {"E": table, "W": g["W"], "b": g["b"], "P": g["P"],
           "stored": ["I am here", "you are there", "you are here"], "query": "I am there"}  # fmt: skip
    out = tmp_path / "ws"
    made = run("worksheet", "vector-db", "--givens", str(write(tmp_path, own)), "--count", "2", "--out", str(out),
               "--format", "md")  # fmt: skip
    assert made.exit_code == 0, made.stderr
    subs = tmp_path / "subs"
    (subs / "v1").mkdir(parents=True)
    (subs / "v2").mkdir(parents=True)
    (subs / "v1" / "vector-db.yaml").write_text((out / "students" / "v1" / "vector-db.yaml").read_text())
    changed = yaml.safe_load((out / "students" / "v2" / "vector-db.yaml").read_text())
    changed["givens"]["vocabulary"] = ["I", "am", "here", "you", "are", "where"]
    (subs / "v2" / "vector-db.yaml").write_text(yaml.safe_dump(changed))
    graded = run("grade", str(out / "manifest.json"), str(subs))
    assert "v1: vector-db 0/76" in graded.stdout  # graded (nothing filled in), not flagged: 76 blanks
    assert "v2 vector-db: the vocabulary was changed" in graded.stdout
    assert "v2: vector-db 0 (tampered)" in graded.stdout
