"""Architecture variety in the layer templates (issue 11, requirement 4).

single-neuron, four-neurons, hidden-layer and batch take an optional bias (`bias` 0/1) and
an output activation (none, ReLU or sigmoid); backprop takes a batch of examples as columns
(gradients summed over the batch) and a softmax output that is given or computed from z3.

For every choice (two seeds each) the key is recomputed by a naive reference written here
from the exercise's description (plain loops over exact fractions, tests/reference.py
helpers; sigmoid through math.exp and paper rounding to 2 decimals; softmax with 3^x rounded
to tenths), never with nnhand's ops. Then the same instance's givens go through
`nnhand key ID --givens FILE` WITHOUT --param: bias, batch and the softmax choice must be
read off which givens are present (and their shapes); an activation, which no given
reveals, is written in the file (`act: sigmoid`). That key must equal the sampled one.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.core.engine import Problem, generate

from .reference import Matrix, add_col, givens_of, grid, mm, relu, round_half_away, sigmoid, softmax_cols, transpose

SEEDS = (1, 2)
ACTS = ("none", "relu", "sigmoid")


def activate(m: Matrix, act: str) -> Matrix:
    if act == "relu":
        return relu(m)
    if act == "sigmoid":
        return [[round_half_away(sigmoid(v), 2) for v in row] for row in m]
    return m


def affine(w: Matrix, x: Matrix, g: dict[str, Matrix], b: str) -> Matrix:
    """w·x, plus the bias column b when the instance has one."""
    return add_col(mm(w, x), g[b]) if b in g else mm(w, x)


def sub(a: Matrix, b: Matrix) -> Matrix:
    return [[u - v for u, v in zip(ra, rb)] for ra, rb in zip(a, b)]


def hadamard_mask(a: Matrix, z: Matrix) -> Matrix:
    return [[u if w > 0 else Fraction(0) for u, w in zip(ra, rz)] for ra, rz in zip(a, z)]


def rowsums(m: Matrix) -> Matrix:
    return [[sum(row, Fraction(0))] for row in m]


# ----------------------------------------------------------------------------- references


def ref_single_neuron(g: dict[str, Matrix], p: dict[str, Any]) -> dict[str, Matrix]:
    z = sum((g["w"][i][0] * g["x"][i][0] for i in range(len(g["w"]))), Fraction(0))
    if p["bias"]:
        z += g["b"][0][0]
    out = {"z": [[z]]}
    if p["act"] != "none":  # with no activation z is the output: no step a = z (a copy)
        out["a"] = activate([[z]], p["act"])
    return out


def ref_four_neurons(g: dict[str, Matrix], p: dict[str, Any]) -> dict[str, Matrix]:
    n_out, n_in = len(g["W"]), len(g["W"][0])
    z = affine(g["W"], g["x"], g, "b")
    out = {"z": z, "params": [[Fraction((n_in + p["bias"]) * n_out)]]}
    if p["bias"]:  # the seed counts one neuron first: its inputs' weights and its bias
        out["per_neuron"] = [[Fraction(n_in + 1)]]
    if p["act"] != "none":  # with no activation z is the output: no step a = z (a copy)
        out["a"] = activate(z, p["act"])
    return out


def ref_hidden_layer(g: dict[str, Matrix], p: dict[str, Any]) -> dict[str, Matrix]:
    n_hidden, n_in, n_out = len(g["W1"]), len(g["W1"][0]), len(g["W2"])
    z1 = affine(g["W1"], g["x"], g, "b1")
    z2 = affine(g["W2"], relu(z1), g, "b2")
    count = n_in * n_hidden + n_hidden * n_out + (n_hidden + n_out if p["bias"] else 0)
    out = {"z1": z1, "h": relu(z1), "z2": z2, "params": [[Fraction(count)]]}
    if p["out_act"] != "none":  # with no activation z2 is the output: no step y = z2 (a copy)
        out["y"] = activate(z2, p["out_act"])
    return out


def ref_batch(g: dict[str, Matrix], p: dict[str, Any]) -> dict[str, Matrix]:
    z1 = affine(g["W1"], g["X"], g, "b1")
    z2 = affine(g["W2"], relu(z1), g, "b2")
    out = {"Z1": z1, "H": relu(z1), "Z2": z2}
    if p["out_act"] != "none":  # with no activation Z2 is the output: no step Y = Z2 (a copy)
        out["Y"] = activate(z2, p["out_act"])
    return out


def ref_backprop(g: dict[str, Matrix], p: dict[str, Any]) -> dict[str, Matrix]:
    """Forward, then backward with every weight and bias gradient summed over the columns."""
    one = p["batch"] == 1
    x = g["x"] if one else g["X"]
    target = g["y_target"] if one else g["Y_target"]
    z1 = add_col(mm(g["W1"], x), g["b1"])
    a1 = relu(z1)
    z2 = add_col(mm(g["W2"], a1), g["b2"])
    a2 = relu(z2)
    z3 = add_col(mm(g["W3"], a2), g["b3"])
    out: dict[str, Matrix] = {}
    if p["softmax_out"] == "computed":
        pred = [[round_half_away(v, 1) for v in row] for row in softmax_cols(z3, base=3)]
        out["y_hat" if one else "Y_hat"] = pred
    else:
        pred = g["y_pred"] if one else g["Y_pred"]
    dz3 = sub(pred, target)
    da2 = mm(transpose(g["W3"]), dz3)
    dz2 = hadamard_mask(da2, z2)
    da1 = mm(transpose(g["W2"]), dz2)
    dz1 = hadamard_mask(da1, z1)
    # Summed over the batch, written as an explicit loop over the examples (columns).
    batch = len(x[0])

    def summed_outer(dz: Matrix, a: Matrix) -> Matrix:
        return [
            [sum((dz[i][k] * a[j][k] for k in range(batch)), Fraction(0)) for j in range(len(a))]
            for i in range(len(dz))
        ]

    names = ["z1", "a1", "z2", "a2", "z3", "dz3", "da2", "dz2", "da1", "dz1"]
    values = [z1, a1, z2, a2, z3, dz3, da2, dz2, da1, dz1]
    for name, value in zip(names, values):
        out[name if one else name[:-2] + name[-2].upper() + name[-1]] = value
    out["dW3"], out["db3"] = summed_outer(dz3, a2), rowsums(dz3)
    out["dW2"], out["db2"] = summed_outer(dz2, a1), rowsums(dz2)
    out["dW1"], out["db1"] = summed_outer(dz1, x), rowsums(dz1)
    # Step 11, gradient descent with eta = 1/10: W_new = W - eta * dW, cell by cell.
    eta = Fraction(1, 10)
    for layer in "321":
        for kind in "Wb":
            param, grad = g[f"{kind}{layer}"], out[f"d{kind}{layer}"]
            out[f"{kind}{layer}_new"] = [[w - eta * d for w, d in zip(rw, rd)] for rw, rd in zip(param, grad)]
    return out


def _layer_cases(template_id: str, act_name: str) -> list[tuple[str, dict[str, Any], int]]:
    return [
        (template_id, {"bias": bias, act_name: act}, seed) for bias, act, seed in itertools.product((0, 1), ACTS, SEEDS)
    ]


CASES = [
    *_layer_cases("single-neuron", "act"),
    *_layer_cases("four-neurons", "act"),
    *_layer_cases("hidden-layer", "out_act"),
    *_layer_cases("batch", "out_act"),
    *[
        ("backprop", {"batch": batch, "softmax_out": soft}, seed)
        for batch, soft, seed in itertools.product((1, 2, 3, 4), ("given", "computed"), SEEDS)
    ],
]
REFS = {
    "single-neuron": ref_single_neuron,
    "four-neurons": ref_four_neurons,
    "hidden-layer": ref_hidden_layer,
    "batch": ref_batch,
    "backprop": ref_backprop,
}
# Choices that no given reveals: they go in the givens file.
NOT_INFERABLE = {"act", "out_act"}


def _same(got: Any, want: Any) -> bool:
    return abs(float(got) - float(want)) < 1e-9 if isinstance(got, float) else Fraction(got) == Fraction(want)


def check(problem: Problem, expected: dict[str, Matrix]) -> None:
    assert set(problem.values) == set(expected), f"{problem.variant}: steps {sorted(problem.values)}"
    for name, want in expected.items():
        got = grid(problem.values[name])
        assert (len(got), len(got[0])) == (len(want), len(want[0])), f"{problem.variant}: shape of {name}"
        for i, j in itertools.product(range(len(want)), range(len(want[0]))):
            assert _same(got[i][j], want[i][j]), f"{problem.variant}: {name}[{i + 1},{j + 1}] is {got[i][j]}"


def _flat(v: Any) -> list[Any]:
    return [c for item in v for c in _flat(item)] if isinstance(v, list) else [v]


def _key_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["key", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize(
    "template_id, params, seed",
    CASES,
    ids=lambda v: ",".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else str(v),
)
def test_key_matches_the_reference_and_the_givens_alone(
    template_id: str, params: dict[str, Any], seed: int, tmp_path: Path
) -> None:
    template = api.load(template_id)
    problem = generate(template, seed, params)
    check(problem, REFS[template_id](givens_of(problem), params))
    # The conditional givens exist exactly where their choice says.
    if "bias" in params:
        assert any(name.startswith("b") for name in problem.givens) == bool(params["bias"])
    if template_id == "backprop":
        assert ("y_pred" in problem.givens or "Y_pred" in problem.givens) == (params["softmax_out"] == "given")
        assert ("x" in problem.givens) == (params["batch"] == 1)

    options = [x for k, v in params.items() for x in ("--param", f"{k}={v}")]
    sampled = _key_json(template_id, "--seed", str(seed), *options)
    givens = dict(sampled["givens"])
    givens.update({k: v for k, v in params.items() if k in NOT_INFERABLE})
    path = tmp_path / "givens.yaml"
    path.write_text(json.dumps(givens), encoding="utf-8")
    solved = _key_json(template_id, "--givens", str(path))
    assert {k: solved["params"][k] for k in params} == {k: sampled["params"][k] for k in params}, (
        "the choices read off the givens differ"
    )
    assert set(solved["answers"]) == set(sampled["answers"])
    for name, want in sampled["answers"].items():
        got = solved["answers"][name]
        assert len(_flat(got)) == len(_flat(want)) and all(
            abs(float(a) - float(b)) < 1e-9 for a, b in zip(_flat(got), _flat(want))
        ), f"{template_id} {params} seed {seed}: {name} from the givens is {got}, sampled {want}"


def test_batch_one_keeps_the_vector_shapes() -> None:
    """At batch = 1 the backprop givens and steps stay vectors (as in the published sheet)."""
    problem = generate(api.load("backprop"), 0, {})
    assert "x" in problem.givens and "X" not in problem.givens
    assert problem.shapes["x"] == (3,) and problem.shapes["dW1"] == (4, 3) and problem.shapes["db1"] == (4,)


def _plain(m: Matrix) -> list[list[Any]]:
    """Exact cells as a person writes them: whole numbers, or decimals such as 0.3."""
    return [[int(v) if Fraction(v).denominator == 1 else str(float(v)) for v in row] for row in m]


def test_a_batch_sums_the_gradients_of_its_examples() -> None:
    """db1 of a batch is the sum of the single-example db1 of its columns: each column of X
    (with its targets and predictions) solved alone as a batch of 1."""
    problem = generate(api.load("backprop"), 5, {"batch": 3, "softmax_out": "given"})
    g = givens_of(problem)
    total = [[Fraction(0)] for _ in g["b1"]]
    total_w = [[Fraction(0)] * len(g["W1"][0]) for _ in g["W1"]]
    for j in range(3):
        one = {k: v for k, v in problem.givens.items() if k not in ("X", "Y_pred", "Y_target")}
        one["x"] = problem.givens["X"][:, j : j + 1]
        one["y_pred"] = problem.givens["Y_pred"][:, j : j + 1]
        one["y_target"] = problem.givens["Y_target"][:, j : j + 1]
        alone = api.solve("backprop", {k: _plain(grid(v)) for k, v in one.items()})
        total = [[a[0] + b[0]] for a, b in zip(total, grid(alone.values["db1"]))]
        total_w = [[a + b for a, b in zip(ra, rb)] for ra, rb in zip(total_w, grid(alone.values["dW1"]))]
    assert grid(problem.values["db1"]) == total
    assert grid(problem.values["dW1"]) == total_w


OUTPUT_STEP = {"single-neuron": "a", "four-neurons": "a", "hidden-layer": "y", "batch": "Y"}
# With no activation the pre-activation is the output (no step that copies it).
LINEAR_OUTPUT = {"single-neuron": "z", "four-neurons": "z", "hidden-layer": "z2", "batch": "Z2"}
SAYS = {"none": "linear", "relu": "ReLU(", "sigmoid": "σ("}


@pytest.mark.parametrize("template_id", sorted(OUTPUT_STEP))
def test_the_labels_say_what_each_choice_computes(template_id: str) -> None:
    act_name = "act" if "act" in api.load(template_id).params else "out_act"
    for act, bias in itertools.product(ACTS, (0, 1)):
        template = generate(api.load(template_id), 1, {act_name: act, "bias": bias}).template
        labels = {s.name: s.label for s in template.steps}
        output = LINEAR_OUTPUT[template_id] if act == "none" else OUTPUT_STEP[template_id]
        assert SAYS[act] in labels[output], (template_id, act, labels)
        assert act != "none" or OUTPUT_STEP[template_id] not in labels, (template_id, labels)
        with_b = [label for label in labels.values() if "+ b" in label]
        assert bool(with_b) == bool(bias), (template_id, bias, labels)


def test_the_backprop_labels_say_the_gradients_are_summed_over_a_batch() -> None:
    for batch in (1, 2, 4):
        labels = [s.label for s in generate(api.load("backprop"), 1, {"batch": batch}).template.steps]
        summed = [label for label in labels if "summed over the batch" in label]
        assert len(summed) == (6 if batch > 1 else 0), (batch, labels)
