"""The worked numbers published in the seeds, as fixed cases (seed 'Deep Learning and
Neural Network Basics'), and an independent naive solver for every basic template."""

from __future__ import annotations

from fractions import Fraction

import pytest

from nnhand import api
from nnhand.core.engine import generate

from .reference import (
    add_col,
    column,
    grid,
    mm,
    relu,
    round_half_away,
    sigmoid,
    softmax_cols,
    transpose,
    unique_max_cols,
)


def test_single_neuron_seed_example() -> None:
    # w·x + b = (1)(2) + (-1)(1) + (1)(3) + (-5) = -1; ReLU: -1 -> 0
    problem = api.solve("single-neuron", {"w": [1, -1, 1], "x": [2, 1, 3], "b": -5})
    assert problem.values["z"].tolist() == [[-1]]
    assert problem.values["a"].tolist() == [[0]]


def test_four_neurons_seed_example() -> None:
    # 2 - 1 + 3 - 5 = -1;  2 + 1 = 3;  1 + 3 + 1 = 5;  2 + 3 - 2 = 3;  4 * (3 + 1) = 16
    givens = {"W": [[1, -1, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], "b": [-5, 0, 1, -2], "x": [2, 1, 3]}
    problem = api.solve("four-neurons", givens)
    assert problem.values["z"].ravel().tolist() == [-1, 3, 5, 3]
    assert problem.values["a"].ravel().tolist() == [0, 3, 5, 3]
    assert problem.values["params"].tolist() == [[16]]


def test_hidden_layer_parameter_count_seed_example() -> None:
    # 4 * (3 + 1) + 2 * (4 + 1) = 16 + 10 = 26
    assert generate(api.load("hidden-layer"), 1).values["params"].tolist() == [[26]]


def test_seven_layer_seed_example() -> None:
    """Givens built so that the five published lines hold in the first column:
    Layer 1: 0x3 + 1x4 + 1x5 = 9          Layer 2: 0x5 + 0x4 + 1x3 + 1x7 + (-1)x9 = 1
    Layer 3: 1x6 + 2x1 = 8                Layer 4: 0x7 + (-1)x5 + 1x8 = 3
    Layer 5: 1x2 + 0x3 = 2"""
    givens = {
        "X": [[3, 1], [4, 0], [5, 2]],
        "W1": [[0, 0, 1], [0, 1, 0], [1, 0, 0], [1, 1, 0], [0, 1, 1]],
        "W2": [[0, 0, -1, 0, 1], [0, 0, 1, 1, -1]],
        "W3": [[1, 1], [1, -1], [1, 2]],
        "W4": [[1, -1, 0], [0, -1, 1]],
        "W5": [[1, 0], [0, 1], [1, 1]],
        "W6": [[1, 0, 0], [0, 1, -1]],
        "W7": [[1, 1], [1, -1]],
    }
    v = api.solve("mlp", givens).values
    assert v["H1"][:, 0].tolist() == [5, 4, 3, 7, 9]
    assert v["H2"][:, 0].tolist() == [6, 1]
    assert v["H3"][:, 0].tolist() == [7, 5, 8]
    assert v["H4"][:, 0].tolist() == [2, 3]
    assert v["H5"][0, 0] == 2
    assert v["Y"][:, 0].tolist() == [2, 2]  # H5 = [2, 3, 5] -> H6 = ReLU([2, -2]) = [2, 0]


def test_backprop_seed_shortcut() -> None:
    """y_pred = [0.5, 0.5, 0], y_target = [0, 1, 0]  ->  dz3 = [0.5, -0.5, 0]."""
    template = api.load("backprop")
    problem = generate(template, 1, {"softmax_out": "given"})
    givens = problem.nested_givens()
    givens["y_pred"], givens["y_target"] = [0.5, 0.5, 0], [0, 1, 0]
    solved = api.solve("backprop", givens, {"softmax_out": "given"})
    assert grid(solved.values["dz3"]) == [[Fraction(1, 2)], [Fraction(-1, 2)], [0]]
    # step 11, gradient descent with η = 0.1: b3 ← b3 - 0.1·dz3
    b3 = [row[0] for row in givens["b3"]] if isinstance(givens["b3"][0], list) else givens["b3"]
    expected = [[Fraction(b) - Fraction(1, 10) * d] for b, d in zip(b3, [Fraction(1, 2), Fraction(-1, 2), 0])]
    assert grid(solved.values["b3_new"]) == expected


# ----------------------------------------------------------------------------- naive reference


def naive(template_id: str, g: dict) -> dict:
    if template_id == "matmul":
        # C's shape first (the seed's first point): A's rows by B's columns
        return {"C_shape": [[len(g["A"]), len(g["B"][0])]], "C": mm(g["A"], g["B"])}
    if template_id == "single-neuron":
        z = sum(w[0] * x[0] for w, x in zip(g["w"], g["x"])) + g["b"][0][0]
        return {"z": [[z]], "a": [[max(z, 0)]]}
    if template_id == "four-neurons":
        z = add_col(mm(g["W"], g["x"]), g["b"])
        per_neuron = len(g["x"]) + 1  # the seed's count: 3 weights + 1 bias
        return {"z": z, "a": relu(z), "per_neuron": [[per_neuron]], "params": [[per_neuron * len(g["W"])]]}
    if template_id in ("hidden-layer", "batch"):
        x = g.get("x") or g["X"]
        z1 = add_col(mm(g["W1"], x), g["b1"])
        h = relu(z1)
        z2 = add_col(mm(g["W2"], h), g["b2"])
        out = {"z1": z1, "h": h, "z2": z2, "y": relu(z2)}
        if template_id == "batch":
            return {"Z1": z1, "H": h, "Z2": z2, "Y": relu(z2)}
        out["params"] = [[(len(x) + 1) * len(z1) + (len(z1) + 1) * len(z2)]]
        return out
    if template_id == "mlp":
        out, h = {}, g["X"]
        for layer in range(1, 8):
            z = mm(g[f"W{layer}"], h)
            h = relu(z) if layer < 7 else z
            out[f"H{layer}" if layer < 7 else "Y"] = h
        return out
    if template_id == "backprop":
        z1 = add_col(mm(g["W1"], g["x"]), g["b1"])
        a1 = relu(z1)
        z2 = add_col(mm(g["W2"], a1), g["b2"])
        a2 = relu(z2)
        z3 = add_col(mm(g["W3"], a2), g["b3"])
        # the default: y_hat = softmax of z3 with 3^x, rounded to tenths (the sheet says so)
        top = max(z[0] for z in z3)
        y_hat = [[round_half_away(p[0], 1)] for p in softmax_cols([[max(z[0] - top, -20)] for z in z3])]
        dz3 = [[p[0] - t[0]] for p, t in zip(y_hat, g["y_target"])]
        da2 = mm(transpose(g["W3"]), dz3)
        dz2 = [[d[0] if z[0] > 0 else 0] for d, z in zip(da2, z2)]
        da1 = mm(transpose(g["W2"]), dz2)
        dz1 = [[d[0] if z[0] > 0 else 0] for d, z in zip(da1, z1)]
        grads = {
            "dW3": mm(dz3, transpose(a2)),
            "db3": dz3,
            "dW2": mm(dz2, transpose(a1)),
            "db2": dz2,
            "dW1": mm(dz1, transpose(g["x"])),
            "db1": dz1,
        }
        eta = Fraction(1, 10)  # step 11: W <- W - 0.1 dW, b <- b - 0.1 db
        new = {
            f"{p}_new": [[w - eta * d for w, d in zip(wr, dr)] for wr, dr in zip(g[p], grads[f"d{p}"])]
            for p in ("W3", "b3", "W2", "b2", "W1", "b1")
        }
        return {
            "z1": z1, "a1": a1, "z2": z2, "a2": a2, "z3": z3, "y_hat": y_hat, "dz3": dz3,
            "da2": da2, "dz2": dz2, "da1": da1, "dz1": dz1, **grads, **new,
        }  # fmt: skip
    raise AssertionError(template_id)


@pytest.mark.parametrize(
    "template_id", ["matmul", "single-neuron", "four-neurons", "hidden-layer", "batch", "mlp", "backprop"]
)
def test_solver_matches_a_naive_reference(template_id: str) -> None:
    template = api.load(template_id)
    for seed in range(40):
        problem = generate(template, seed)
        givens = {name: grid(value) for name, value in problem.givens.items()}
        expected = naive(template_id, givens)
        for name, value in expected.items():
            assert grid(problem.values[name]) == value, f"{problem.variant}: {name}"


# ----------------------------------------------------------------------------- the reference toolkit itself


def test_the_reference_toolkit_on_hand_worked_numbers() -> None:
    """tests/reference.py checked against numbers worked by hand (not against nnhand)."""
    # [[1, 2], [3, 4]] @ [[5, 6], [7, 8]] = [[1·5 + 2·7, 1·6 + 2·8], [3·5 + 4·7, 3·6 + 4·8]]
    assert mm([[1, 2], [3, 4]], [[5, 6], [7, 8]]) == [[19, 22], [43, 50]]
    assert transpose([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]]
    assert add_col([[1, 2], [3, 4]], [[10], [-10]]) == [[11, 12], [-7, -6]]
    assert relu([[-1, 0, 2]]) == [[0, 0, 2]]
    assert column([[1, 2], [3, 4]], 1) == [[2], [4]]
    # paper rounding: halves away from zero, and 2/3 to two places
    assert [round_half_away(Fraction(v), 0) for v in ("0.5", "1.5", "-0.5", "-2.5")] == [1, 2, -1, -3]
    assert round_half_away(Fraction(2, 3), 2) == Fraction("0.67")
    assert round_half_away(Fraction("0.125"), 2) == Fraction("0.13")
    # softmax with 3^x down a column: 3^0, 3^1, 3^2 over 1 + 3 + 9 = 13
    assert softmax_cols([[0], [1], [2]]) == [[Fraction(1, 13)], [Fraction(3, 13)], [Fraction(9, 13)]]
    assert softmax_cols([[0], [1]], base=2) == [[Fraction(1, 3)], [Fraction(2, 3)]]
    assert round(sigmoid(1), 2) == 0.73  # the sigmoid table on the sheets
    # column 1: 5 beats 3 by 2; column 2: 8 beats 5 by 3, but not by 4; a tie is never unique
    assert unique_max_cols([[5, 5], [3, 8]], Fraction(1)) == [True, True]
    assert unique_max_cols([[5, 5], [3, 8]], Fraction(4)) == [False, False]
    assert unique_max_cols([[4], [4]], Fraction(0)) == [True]  # margin 0 accepts a tie
    assert unique_max_cols([[4], [4]], Fraction(1, 100)) == [False]


def test_a_problems_environment_is_the_batch_of_one_the_ops_take() -> None:
    """Problem.env: every given and step with a leading batch axis of one, params as (1, 1, 1)."""
    problem = api.solve("single-neuron", {"w": [1, -1, 1], "x": [2, 1, 3], "b": -5})
    env = problem.env()
    assert env["w"].shape == env["x"].shape == (1, 3, 1)
    assert env["z"].tolist() == [[[-1]]] and env["a"].tolist() == [[[0]]]
    assert all(env[name].shape == (1, 1, 1) for name in problem.params)
    assert set(problem.env(steps=False)) == set(problem.params) | set(problem.givens)
    z = problem.template.step("z")
    assert z.expr(problem.env(steps=False)).tolist() == [[[-1]]]  # (1)(2) + (-1)(1) + (1)(3) + (-5)


def test_matmul_asks_the_shape_first_and_names_the_swap() -> None:
    """The seed's first point: A is 3×4 and B is 4×2, so C = A·B is 3×2 (A's rows, B's
    columns), asked before any cell; writing [2, 3] is the swap the grader names."""
    from nnhand.core.keys import key_data
    from nnhand.core.sheet import make_sheet
    from nnhand.grading.answers import answer_file_data
    from nnhand.grading.grade import grade_data

    problem = generate(api.load("matmul"), 0, {"m": 3, "k": 4, "n": 2})
    assert next(s.name for s in problem.template.steps) == "C_shape"
    assert grid(problem.values["C_shape"]) == [[3, 2]]
    data = answer_file_data(make_sheet(problem, "all"))
    data["answers"] = dict(key_data(problem)["answers"])
    data["answers"]["C_shape"] = [[2, 3]]
    report = grade_data(data, "answers.yaml")[0]
    shape = next(s for s in report.steps if s.name == "C_shape")
    assert shape.score == 0 and any("swapped" in d for d in shape.diagnosis)
    with pytest.raises(Exception, match="columns"):  # A·B needs A's columns = B's rows
        api.solve("matmul", {"A": [[1, 0], [0, 1]], "B": [[1], [2], [3]]})


def test_product_shape_takes_a_batch_of_candidates() -> None:
    """Three candidates of a 4×2 A against one 2×5 B: each answer is [4, 5], like a loop."""
    import numpy as np

    from nnhand.ops.shapes import product_shape

    A, B = np.zeros((3, 4, 2), dtype=np.int64), np.ones((1, 2, 5), dtype=np.int64)
    out = product_shape(A, B)
    assert out.shape == (3, 1, 2)
    for b in range(3):  # each candidate as if alone
        assert out[b].tolist() == product_shape(A[b : b + 1], B)[0].tolist() == [[4, 5]]
