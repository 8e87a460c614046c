"""Published worked examples keyed through `nnhand key <template> --givens <file>` (issue 11).

Every file in tests/published/ is a published exercise written as a user would write it:
givens only, no params (nnhand infers the sizes from the shapes of the givens), in nnhand's
orientation (examples and tokens are columns, a layer is W @ X + b). Its provenance is in the
comments at the top of the file and in PUBLISHED below.

Each key is compared with the numbers the source publishes (written out here, next to the
source) and, for every step the source gives no number for, with a naive computation from
tests/reference.py (plain loops over Fractions), never with nnhand's own code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nnhand.cli import app

from .reference import (
    Matrix,
    add_col,
    argmax_cols,
    cells,
    mm,
    relu,
    round_cells,
    round_half_away,
    sigmoid,
    switch_transformer,
    transpose,
)

HERE = Path(__file__).parent / "published"
SOLVE_BY_HAND = "https://github.com/jeremy-london/solve-by-hand/blob/main/examples/"

# file name -> (template, source). The source of the numbers; the published answers are in
# PUBLISHED_ANSWERS, and the comments at the top of each file say what was changed.
PUBLISHED: dict[str, tuple[str, str]] = {
    "matmul-2x2-2x3.yaml": (
        "matmul",
        "Tom Yeh, AI by Hand: Matrix Multiplication (https://lnkd.in/gXKnQQF3); "
        f"{SOLVE_BY_HAND}basics/matrix_multiplication.py",
    ),
    "matmul-3x4-4x2.yaml": (
        "matmul",
        "holooly.com worked solution, https://holooly.com/solutions/calculate-2-3-0-1-4-1-2-1-0-0-0-13-1-1-2-2-3-0-5",
    ),
    "single-neuron.yaml": (
        "single-neuron",
        "Tom Yeh, AI by Hand: Single Neuron Network (https://lnkd.in/gKqEGPgf); seed 002_1a508945c9fc0c64.txt; "
        f"{SOLVE_BY_HAND}basics/single_neuron_relu.py",
    ),
    "four-neurons.yaml": (
        "four-neurons",
        "Tom Yeh, AI by Hand: Four Neurons (https://lnkd.in/gc-qwJ6X); seed 002_1a508945c9fc0c64.txt; "
        f"{SOLVE_BY_HAND}basics/four_neurons_relu.py",
    ),
    "hidden-layer.yaml": (
        "hidden-layer",
        "Tom Yeh, AI by Hand: Hidden Layer (https://lnkd.in/gwDXEGsM); seed 002_1a508945c9fc0c64.txt; "
        f"{SOLVE_BY_HAND}basics/hidden_layer_relu.py",
    ),
    "batch.yaml": (
        "batch",
        "Tom Yeh, AI by Hand: Batch of Three Inputs (https://lnkd.in/eMjpAZta); seed 002_1a508945c9fc0c64.txt; "
        f"{SOLVE_BY_HAND}basics/three_input_batch_relu.py",
    ),
    "mlp-3-5-2-3-2-2-2-1.yaml": (
        "mlp",
        "Tom Yeh, AI by Hand: Seven Layers (MLP) (https://lnkd.in/gjJRxPsv); seed 002_1a508945c9fc0c64.txt; "
        f"{SOLVE_BY_HAND}basics/multi_layer_perceptron_relu.py",
    ),
    "backprop.yaml": (
        "backprop",
        "Tom Yeh, AI by Hand: Backpropagation (https://lnkd.in/gsiU2uc2); seed 002_1a508945c9fc0c64.txt; "
        f"{SOLVE_BY_HAND}basics/backpropagation.py",
    ),
    "perceptron-mit.yaml": (
        "perceptron",
        "MIT 6.S191 Introduction to Deep Learning, lecture 1, The Perceptron: Example "
        "(http://introtodeeplearning.com); seed 003_2da4c257eb5adcce.txt",
    ),
    "autoencoder.yaml": (
        "autoencoder",
        "Tom Yeh, AI by Hand: Autoencoder (https://lnkd.in/g2rM9iV2); seed 000_560440eb56d896c5.txt; "
        f"{SOLVE_BY_HAND}networks/autoencoder.py",
    ),
    "rnn.yaml": (
        "rnn",
        "Tom Yeh, AI by Hand: Recurrent Neural Network (https://lnkd.in/gDANw4iH); seed 000_560440eb56d896c5.txt; "
        f"{SOLVE_BY_HAND}networks/recurrent_neural_network.py",
    ),
    "transformer.yaml": (
        "transformer",
        "Tom Yeh, AI by Hand: Understanding the Transformer Model (https://lnkd.in/g39jcD7j); "
        f"seed 000_560440eb56d896c5.txt; {SOLVE_BY_HAND}networks/transformer.py",
    ),
    "gan.yaml": (
        "gan",
        "Tom Yeh, AI by Hand: Generative Adversarial Network (https://lnkd.in/gyKzNGDy); "
        f"seed 000_560440eb56d896c5.txt; {SOLVE_BY_HAND}networks/generative_adversarial_network.py",
    ),
    "switch-transformer.yaml": (
        "switch-transformer",
        "Tom Yeh, AI by Hand: Switch Transformer and Sparse Mixture of Experts "
        "(https://www.linkedin.com/posts/tom-yeh_gemini-transformer-deeplearning-activity-7167154366821380096-e2YQ); "
        f"seed 000_560440eb56d896c5.txt; {SOLVE_BY_HAND}networks/switch_transformer.py",
    ),
    "self-attention.yaml": (
        "self-attention",
        "Tom Yeh, AI by Hand: Self Attention (https://lnkd.in/gDW8Um4W); seed 001_f007ea61655afcea.txt; "
        f"{SOLVE_BY_HAND}advance_concepts/self_attention.py",
    ),
    "moe.yaml": (
        "moe",
        "Tom Yeh, AI by Hand: Mixture of Experts (https://lnkd.in/gPFdQdsW); seed 001_f007ea61655afcea.txt; "
        f"{SOLVE_BY_HAND}advance_concepts/mixture_of_experts.py",
    ),
    "batch-norm.yaml": (
        "batch-norm",
        "Tom Yeh, AI by Hand: Batch Normalization (https://lnkd.in/gVjknYkU); "
        f"{SOLVE_BY_HAND}normalization_and_regularization/batch_normalization.py",
    ),
}

# The numbers the sources print, cell by cell (a vector as a column, a number as [[n]]).
PUBLISHED_ANSWERS: dict[str, dict[str, Matrix]] = {
    # holooly: [9 13; 17 17; 0 5], e.g. 2(3) + 3(1) + 0(2) + 1(0) = 9
    "matmul-3x4-4x2.yaml": {"C_shape": [[3, 2]], "C": [[9, 13], [17, 17], [0, 5]]},
    # "w * x + b = (1)*(2) + (-1)*(1) + (1)*(3) + (-5) = -1", "ReLU: -1 → 0"
    "single-neuron.yaml": {"z": [[-1]], "a": [[0]]},
    # "2 - 1 + 3 - 5 = -1, 2 + 1 = 3, 1 + 3 + 1 = 5, 2 + 3 - 2 = 3", "4 * (3 + 1) = 16"
    "four-neurons.yaml": {"z": [[-1], [3], [5], [3]], "a": [[0], [3], [5], [3]], "per_neuron": [[4]], "params": [[16]]},
    # the same first layer as Four Neurons; "4 * (3 + 1) + 2 * (4 + 1) = 16 + 10 = 26"
    "hidden-layer.yaml": {"z1": [[-1], [3], [5], [3]], "h": [[0], [3], [5], [3]], "params": [[26]]},
    # "dL/dz3 = Y^Pred - Y^Target = [0.5, -0.5, 0]"
    "backprop.yaml": {"dz3": [[Fraction(1, 2)], [Fraction(-1, 2)], [0]]},
    # "g(1 + (3*-1) - (2*2)) = g(-6)"
    "perceptron-mit.yaml": {"z": [[-6]]},
    # the gate picks Expert 2 for X1 and Expert 1 for X2
    "moe.yaml": {"choice": [[2, 1]]},
}

# Single published cells (step, row, column; 0-based) of the seven-layer exercise, seed 002:
# "Layer 1: 0 x 3 + 1 x 4 + 1 x 5 = 9", "Layer 2: 0 x 5 + 0 x 4 + 1 x 3 + 1 x 7 + (-1) x 9 = 1",
# "Layer 3: 1 x 6 + 2 x 1 = 8", "Layer 4: 0 x 7 + (-1) x 5 + 1 x 8 = 3", "Layer 5: 1 x 2 + 0 x 3 = 2".
MLP_PUBLISHED_CELLS = [("H1", 4, 0, 9), ("H2", 1, 0, 1), ("H3", 2, 0, 8), ("H4", 1, 0, 3), ("H5", 1, 0, 2)]

runner = CliRunner()


# ----------------------------------------------------------------------------- reading


def as_number(v: Any) -> Any:
    """A JSON cell as an exact number: ints, decimals (0.73 is 73/100) and fractions ("1/3")."""
    if isinstance(v, bool):
        raise AssertionError(f"a boolean cell: {v!r}")
    if isinstance(v, int):
        return Fraction(v)
    if isinstance(v, float):
        return Fraction(str(v))
    if isinstance(v, str):
        return Fraction(v.replace("−", "-"))
    raise AssertionError(f"not a number: {v!r}")


def as_matrix(v: Any) -> Matrix:
    """A number as [[n]], a flat list as a column, nested lists as rows."""
    if not isinstance(v, list):
        return [[as_number(v)]]
    if v and isinstance(v[0], list):
        return [[as_number(c) for c in row] for row in v]
    return [[as_number(c)] for c in v]


def read_givens(path: Path) -> dict[str, Matrix]:
    import yaml

    return {name: as_matrix(value) for name, value in yaml.safe_load(path.read_text()).items()}


def key_of(template: str, path: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["key", template, "--givens", str(path), "--format", "json"])
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# ----------------------------------------------------------------------------- naive references


def col(values: list[Any]) -> Matrix:
    return [[v] for v in values]


def dense(w: Matrix, x: Matrix, b: Matrix) -> Matrix:
    return add_col(mm(w, x), b)


def sub(a: Matrix, b: Matrix) -> Matrix:
    return [[x - y for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]


def scale(m: Matrix, k: Any) -> Matrix:
    return cells(m, lambda v: k * v)


def naive_single_neuron(g: dict[str, Matrix]) -> dict[str, Matrix]:
    z = sum((w[0] * x[0] for w, x in zip(g["w"], g["x"])), Fraction(0)) + g["b"][0][0]
    return {"z": [[z]], "a": relu([[z]])}


def naive_four_neurons(g: dict[str, Matrix]) -> dict[str, Matrix]:
    z = dense(g["W"], g["x"], g["b"])
    per_neuron = len(g["x"]) + 1  # each neuron: one weight per input and its bias (3 + 1)
    return {"z": z, "a": relu(z), "per_neuron": [[per_neuron]], "params": [[per_neuron * len(g["W"])]]}


def naive_hidden_layer(g: dict[str, Matrix]) -> dict[str, Matrix]:
    z1 = dense(g["W1"], g["x"], g["b1"])
    z2 = dense(g["W2"], relu(z1), g["b2"])
    params = (len(g["x"]) + 1) * len(z1) + (len(z1) + 1) * len(z2)
    return {"z1": z1, "h": relu(z1), "z2": z2, "y": relu(z2), "params": [[params]]}


def naive_batch(g: dict[str, Matrix]) -> dict[str, Matrix]:
    z1 = dense(g["W1"], g["X"], g["b1"])
    z2 = dense(g["W2"], relu(z1), g["b2"])
    return {"Z1": z1, "H": relu(z1), "Z2": z2, "Y": relu(z2)}


def naive_mlp(g: dict[str, Matrix]) -> dict[str, Matrix]:
    out, h = {}, g["X"]
    for layer in range(1, 7):
        h = relu(mm(g[f"W{layer}"], h))
        out[f"H{layer}"] = h
    out["Y"] = mm(g["W7"], h)
    return out


def naive_backprop(g: dict[str, Matrix]) -> dict[str, Matrix]:
    z1 = dense(g["W1"], g["x"], g["b1"])
    a1 = relu(z1)
    z2 = dense(g["W2"], a1, g["b2"])
    a2 = relu(z2)
    z3 = dense(g["W3"], a2, g["b3"])
    dz3 = sub(g["y_pred"], g["y_target"])
    da2 = mm(transpose(g["W3"]), dz3)
    dz2 = [[d[0] if z[0] > 0 else Fraction(0)] for d, z in zip(da2, z2)]
    da1 = mm(transpose(g["W2"]), dz2)
    dz1 = [[d[0] if z[0] > 0 else Fraction(0)] for d, z in zip(da1, z1)]
    grads = {
        "dW3": mm(dz3, transpose(a2)), "db3": dz3, "dW2": mm(dz2, transpose(a1)), "db2": dz2,
        "dW1": mm(dz1, transpose(g["x"])), "db1": dz1,
    }  # fmt: skip
    # Step 11 of the seed's exercise ("Gradient Descent: Update weights and biases (typically a
    # learning rate is applied here)", seed 002_1a508945c9fc0c64.txt): W <- W - 0.1 dW, b <- b - 0.1 db.
    eta = Fraction(1, 10)
    new = {
        f"{p}_new": [[w - eta * d for w, d in zip(wr, dr)] for wr, dr in zip(g[p], grads[f"d{p}"])]
        for p in ("W3", "b3", "W2", "b2", "W1", "b1")
    }
    return {
        "z1": z1, "a1": a1, "z2": z2, "a2": a2, "z3": z3,
        "dz3": dz3, "da2": da2, "dz2": dz2, "da1": da1, "dz1": dz1, **grads, **new,
    }  # fmt: skip


def naive_perceptron(g: dict[str, Matrix]) -> dict[str, Matrix]:
    z = dense(g["W"], g["X"], g["w0"])
    return {"z": z, "y": cells(z, lambda v: round_half_away(Fraction(sigmoid(v)), 2))}


def naive_autoencoder(g: dict[str, Matrix]) -> dict[str, Matrix]:
    h1 = relu(dense(g["W1"], g["X"], g["b1"]))
    h2 = relu(dense(g["W2"], h1, g["b2"]))
    h3 = relu(dense(g["W3"], h2, g["b3"]))
    y = dense(g["W4"], h3, g["b4"])
    return {"H1": h1, "H2": h2, "H3": h3, "Y": y, "dY": scale(sub(y, g["X"]), 2)}


def naive_rnn(g: dict[str, Matrix]) -> dict[str, Matrix]:
    h = g["h0"]
    hs, ys = [], []
    for xt in g["x"][0]:
        h = relu(add_col(mm(g["A"], h), scale(g["B"], xt)))
        hs.append([r[0] for r in h])
        ys.append(mm(g["C"], h)[0][0])
    return {"H": transpose(hs), "Y": [ys]}


def naive_transformer(g: dict[str, Matrix]) -> dict[str, Matrix]:
    z = mm(g["X"], g["A"])
    f = dense(g["W1"], z, g["b1"])
    return {"Z": z, "F": f, "H": relu(f), "Y": dense(g["W2"], relu(f), g["b2"])}


def naive_gan(g: dict[str, Matrix]) -> dict[str, Matrix]:
    def sig(m: Matrix) -> Matrix:
        return cells(m, lambda v: round_half_away(Fraction(sigmoid(v)), 2))

    gen = relu(dense(g["Wg1"], g["N"], g["bg1"]))
    fake = relu(dense(g["Wg2"], gen, g["bg2"]))
    hf = relu(dense(g["Wd1"], fake, g["bd1"]))
    hr = relu(dense(g["Wd1"], g["X"], g["bd1"]))
    zf = add_col(mm(g["Wd2"], hf), g["bd2"])  # no ReLU before the sigmoid
    zr = add_col(mm(g["Wd2"], hr), g["bd2"])
    pf, pr = sig(zf), sig(zr)
    return {
        "G": gen, "F": fake, "HF": hf, "HR": hr, "ZF": zf, "ZR": zr, "PF": pf, "PR": pr,
        # the discriminator's gradient over fakes then reals: targets 0 ... 0 1 ... 1
        "dD": [pf[0] + [v - 1 for v in pr[0]]], "dG": cells(pf, lambda v: v - 1),
    }  # fmt: skip


def naive_self_attention(g: dict[str, Matrix]) -> dict[str, Matrix]:
    q, k, v = mm(g["WQ"], g["X"]), mm(g["WK"], g["X"]), mm(g["WV"], g["X"])
    s = mm(transpose(k), q)
    d = cells(s, lambda x: round_half_away(Fraction(x, 2), 0))  # one rule for every score
    e = cells(d, lambda x: Fraction(3) ** int(x))  # 3^-1 = 1/3 exactly
    esum = [[sum(c) for c in zip(*e)]]  # from the exact thirds
    a = round_cells([[x / esum[0][j] for j, x in enumerate(row)] for row in e], 2)
    z = round_cells(mm(v, a), 2)  # from the rounded A, as on paper
    # E and Esum are written to 2 decimals (1/3 as 0.33); A is computed from the exact thirds.
    e_written, esum_written = round_cells(e, 2), round_cells(esum, 2)
    return {"Q": q, "K": k, "V": v, "S": s, "D": d, "E": e_written, "Esum": esum_written, "A": a, "Z": z}


def naive_moe(g: dict[str, Matrix]) -> dict[str, Matrix]:
    gates = dense(g["Wg"], g["X"], g["bg"])
    choice = argmax_cols(gates)
    y_cols = []
    for t, expert in enumerate(choice[0]):
        xt = [[r[t]] for r in g["X"]]
        y_cols.append([r[0] for r in relu(dense(g[f"E{expert}"], xt, g[f"c{expert}"]))])
    return {"G": gates, "choice": choice, "Y": transpose(y_cols)}


def sqrt_rounded(value: Any, places: int) -> Fraction:
    """The square root to `places` decimals, halves away from zero (50 digits, then paper rounding)."""
    from decimal import Decimal, localcontext

    v = Fraction(value)
    with localcontext() as ctx:
        ctx.prec = 50
        root = (Decimal(v.numerator) / Decimal(v.denominator)).sqrt()
    return round_half_away(Fraction(root), places)


def naive_batch_norm(g: dict[str, Matrix], sd_places: int = 2) -> dict[str, Matrix]:
    x = g["X"]
    n = len(x[0])
    sums = [[sum(row)] for row in x]
    mu = [[s[0] / n] for s in sums]
    dev = [[v - mu[i][0] for v in row] for i, row in enumerate(x)]
    dev2 = cells(dev, lambda v: v * v)
    var = [[sum(row) / n] for row in dev2]
    sd = [[sqrt_rounded(v[0], sd_places)] for v in var]  # rounded, then used as on paper
    x_hat = round_cells([[v / sd[i][0] for v in row] for i, row in enumerate(dev)], 2)
    y = round_cells([[g["gamma"][i][0] * v + g["beta"][i][0] for v in row] for i, row in enumerate(x_hat)], 2)
    return {"S": sums, "mu": mu, "D": dev, "D2": dev2, "var": var, "sd": sd, "X_hat": x_hat, "Y": y}


NAIVE: dict[str, Callable[[dict[str, Matrix]], dict[str, Matrix]]] = {
    "matmul": lambda g: {"C_shape": [[len(g["A"]), len(g["B"][0])]], "C": mm(g["A"], g["B"])},
    "single-neuron": naive_single_neuron,
    "four-neurons": naive_four_neurons,
    "hidden-layer": naive_hidden_layer,
    "batch": naive_batch,
    "mlp": naive_mlp,
    "backprop": naive_backprop,
    "perceptron": naive_perceptron,
    "autoencoder": naive_autoencoder,
    "rnn": naive_rnn,
    "transformer": naive_transformer,
    "gan": naive_gan,
    "switch-transformer": lambda g: switch_transformer(g, 2),
    "self-attention": naive_self_attention,
    "moe": naive_moe,
    "batch-norm": naive_batch_norm,
}


# ----------------------------------------------------------------------------- the tests


def test_every_published_file_has_a_source_and_every_source_a_file() -> None:
    files = sorted(p.name for p in HERE.glob("*.yaml"))
    assert files == sorted(PUBLISHED)
    assert len(files) >= 12 and len({template for template, _ in PUBLISHED.values()}) >= 10
    for name in files:
        head = (HERE / name).read_text().split("\n", 1)[0]
        assert head.startswith("# Source: "), f"{name}: the provenance comment comes first"
    assert set(PUBLISHED_ANSWERS) <= set(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_a_published_example_is_keyed_from_its_givens_alone(name: str) -> None:
    template, _source = PUBLISHED[name]
    path = HERE / name
    key = key_of(template, path)
    answers = {step: as_matrix(value) for step, value in key["answers"].items()}
    expected = NAIVE[template](read_givens(path))
    assert set(expected) <= set(answers), f"{name}: steps the key lacks: {set(expected) - set(answers)}"
    for step, value in expected.items():
        assert answers[step] == value, f"{name}: {step} (naive reference)"
    for step, value in PUBLISHED_ANSWERS.get(name, {}).items():
        assert answers[step] == value, f"{name}: {step} (the published number)"
        assert expected[step] == value, f"{name}: {step}: the naive reference disagrees with the source"


def test_the_seven_layer_key_has_the_published_cells() -> None:
    key = key_of("mlp", HERE / "mlp-3-5-2-3-2-2-2-1.yaml")
    sizes = {"layers": 7, "d0": 3, "d1": 5, "d2": 2, "d3": 3, "d4": 2, "d5": 2, "d6": 2, "d7": 1, "batch": 2}
    assert {name: key["params"].get(name) for name in sizes} == sizes
    for step, row, column_j, value in MLP_PUBLISHED_CELLS:
        assert as_matrix(key["answers"][step])[row][column_j] == value, (step, row, column_j)


def test_sizes_are_inferred_from_the_shapes_of_the_givens() -> None:
    assert key_of("matmul", HERE / "matmul-2x2-2x3.yaml")["params"] == {"m": 2, "k": 2, "n": 3}
    assert key_of("matmul", HERE / "matmul-3x4-4x2.yaml")["params"] == {"m": 3, "k": 4, "n": 2}
    assert key_of("perceptron", HERE / "perceptron-mit.yaml")["params"] == {"n_in": 2, "n_out": 1, "batch": 1}


def test_self_attention_with_a_negative_scaled_score_has_exact_thirds() -> None:
    """Scores of -1 and -2 scale to -1 (halves away from zero): 3^-1 = 1/3, written 0.33 with
    the exact third beside it (and kept in the column sums)."""
    key = key_of("self-attention", HERE / "self-attention.yaml")
    d = as_matrix(key["answers"]["D"])
    e = as_matrix(key["answers"]["E"])
    assert any(v < 0 for row in d for v in row), "the published scores include negative ones"
    assert Fraction(33, 100) in [v for row in e for v in row]
    assert Fraction(1, 3) in [v for row in as_matrix(key["exact"]["E"]) for v in row]
    assert "1/3" in json.dumps(key["exact"]["E"]), "3^-1 is kept as the fraction 1/3"
    # Column 1: 9 + 9 + 1/3 + 9 = 82/3, written 27.33 (not 27.32 from 0.33)
    assert as_matrix(key["answers"]["Esum"])[0][0] == Fraction("27.33")


def test_the_perceptron_matches_the_lectures_0_002() -> None:
    """The lecture prints g(-6) ≈ 0.002; the template rounds to 2 decimals."""
    y = as_matrix(key_of("perceptron", HERE / "perceptron-mit.yaml")["answers"]["y"])[0][0]
    assert abs(y - Fraction("0.002")) <= Fraction("0.005")


def test_batch_norm_with_a_variance_that_is_not_a_perfect_square() -> None:
    key = key_of("batch-norm", HERE / "batch-norm.yaml")
    var = as_matrix(key["answers"]["var"])
    assert var == [[Fraction(11, 16)], [Fraction(27, 16)], [Fraction(67, 16)]]
    sd = as_matrix(key["answers"]["sd"])
    assert all(abs(s[0] * s[0] - v[0]) < Fraction(1, 50) for s, v in zip(sd, var))
