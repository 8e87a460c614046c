"""The lecture-topic templates against independent references.

For every template and many seeds, the key that `nnhand.engine.generate` produces is
recomputed here by a naive Python loop over the givens (exact fractions, and rounding
done with `decimal` exactly as on paper: each declared step rounded, later steps using
the rounded values), and by PyTorch where it is installed (autograd for gradients,
`torch.nn.LSTMCell`, `torch.nn.RNN`, `torch.nn.MultiheadAttention`,
`torch.nn.functional.batch_norm`, `scaled_dot_product_attention`, ...) against the exact
chain `problem.exact`. PyTorch uses e^x: a base-3 softmax of s is the softmax of s·ln 3.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from nnhand import api
from nnhand.core.engine import generate
from nnhand.errors import EvaluationError

from .checking import close, close_sgd_step, problems, same, t64
from .reference import (
    Matrix,
    add_col,
    cells,
    column,
    givens_of,
    grid,
    mm,
    relu,
    round_cells,
    round_half_away,
    sigmoid,
    softmax_cols,
    transpose,
    zipcells,
)

SEEDS = range(30)
TORCH_SEEDS = range(0, 60, 4)
LN3 = math.log(3)

# The hand tables printed on the sheets (CONVENTIONS.md): the key must agree with them.
SIGMOID_TABLE = {-5: "0.01", -3: "0.05", -2: "0.12", -1: "0.27", 0: "0.5", 1: "0.73", 2: "0.88", 3: "0.95", 5: "0.99"}
TANH_TABLE = {-2: "-0.96", -1: "-0.76", 0: "0", 1: "0.76", 2: "0.96"}
LN_TABLE_BCE = {"0.12": "-2.12", "0.27": "-1.31", "0.5": "-0.69", "0.73": "-0.31", "0.88": "-0.13"}
LN_TABLE_CE = {"0.14": "-1.97", "0.2": "-1.61", "0.33": "-1.11", "0.43": "-0.84", "0.6": "-0.51"}


# ----------------------------------------------------------------------------- helpers


# ----------------------------------------------------------------------------- perceptron


@pytest.mark.parametrize("template_id, table", [("perceptron", SIGMOID_TABLE), ("perceptron-tanh", TANH_TABLE)])
def test_perceptron_naive_and_table(template_id: str, table: dict[int, str]) -> None:
    for p in problems(template_id):
        g = givens_of(p)
        z = add_col(mm(g["W"], g["X"]), g["w0"])
        same(p, {"z": z, "y": cells(z, lambda v: Fraction(table[int(v)]))})


@pytest.mark.parametrize("template_id, fn", [("perceptron", "sigmoid"), ("perceptron-tanh", "tanh")])
def test_perceptron_torch(torch: Any, template_id: str, fn: str) -> None:
    for p in problems(template_id, TORCH_SEEDS):
        g = givens_of(p)
        layer = torch.nn.Linear(len(g["X"]), len(g["W"]), dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(t64(torch, g["W"]))
            layer.bias.copy_(t64(torch, g["w0"]).reshape(-1))
        z = layer(t64(torch, g["X"]).T).T  # torch is row-major: examples are rows
        close(p, "z", z, chain="values")
        close(p, "y", getattr(torch, fn)(z))


def test_perceptron_params_and_batch_of_one() -> None:
    template = api.load("perceptron")
    for seed in range(10):
        for params in ({"n_out": 3, "batch": 4, "n_in": 4}, {"batch": 1}):
            p = generate(template, seed, params)
            g = givens_of(p)
            z = add_col(mm(g["W"], g["X"]), g["w0"])
            same(p, {"z": z, "y": cells(z, lambda v: Fraction(SIGMOID_TABLE[int(v)]))})


# ----------------------------------------------------------------------------- losses


def test_mse_loss_naive() -> None:
    for p in problems("mse-loss"):
        g = givens_of(p)
        n = len(g["y"][0])
        e = zipcells(lambda a, b: a - b, g["y_hat"], g["y"])
        e2 = cells(e, lambda v: v * v)
        same(
            p,
            {
                "e": e,
                "e2": e2,
                "L": [[round_half_away(sum(e2[0]) / n, 2)]],
                "dL": round_cells(cells(e, lambda v, n=n: 2 * v / n)),
            },
        )
        assert any(v > 0 for v in e[0]) and any(v < 0 for v in e[0])


def test_mse_loss_torch_autograd(torch: Any) -> None:
    for p in problems("mse-loss", TORCH_SEEDS):
        g = givens_of(p)
        y_hat = t64(torch, g["y_hat"], grad=True)
        loss = torch.nn.functional.mse_loss(y_hat, t64(torch, g["y"]))
        loss.backward()
        close(p, "L", loss)
        close(p, "dL", y_hat.grad)


def test_bce_loss_naive_with_the_tables() -> None:
    for p in problems("bce-loss"):
        g = givens_of(p)
        n = len(g["z"][0])
        prob = cells(g["z"], lambda v: Fraction(SIGMOID_TABLE[int(v)]))
        q = zipcells(lambda pp, y: pp if y == 1 else 1 - pp, prob, g["y"])
        loss = cells(q, lambda v: -Fraction(LN_TABLE_BCE[str(float(v))]))
        dp = zipcells(lambda pp, y: round_half_away(-1 / pp if y == 1 else 1 / (1 - pp), 2), prob, g["y"])
        expected = {
            "p": prob,
            "q": q,
            "l": loss,
            "L": [[round_half_away(sum(loss[0]) / n, 2)]],
            "dp": dp,
            "dz": zipcells(lambda pp, y: pp - y, prob, g["y"]),
        }
        same(p, expected)


def test_bce_loss_torch_autograd(torch: Any) -> None:
    F = torch.nn.functional
    for p in problems("bce-loss", TORCH_SEEDS):
        g = givens_of(p)
        z = t64(torch, g["z"], grad=True)
        y = t64(torch, g["y"])
        per_example = F.binary_cross_entropy_with_logits(z, y, reduction="none")
        per_example.sum().backward()
        close(p, "p", torch.sigmoid(z))
        close(p, "l", per_example)
        close(p, "L", per_example.mean())
        close(p, "dz", z.grad)  # ∂ℓ/∂z = σ(z) - y
        prob = torch.sigmoid(z).detach().requires_grad_(True)
        F.binary_cross_entropy(prob, y, reduction="sum").backward()
        close(p, "dp", prob.grad)


def test_softmax_cross_entropy_naive_with_the_ln_table() -> None:
    for p in problems("softmax-cross-entropy"):
        g = givens_of(p)
        powers = cells(g["Z"], lambda v: Fraction(3) ** int(v))
        sums = [[sum(c) for c in zip(*powers)]]
        y_pred = round_cells([[v / sums[0][j] for j, v in enumerate(row)] for row in powers])
        target = [next(i for i in range(3) if g["Y"][i][j] == 1) for j in range(len(g["Z"][0]))]
        loss = [[-Fraction(LN_TABLE_CE[str(float(y_pred[t][j]))]) for j, t in enumerate(target)]]
        expected = {
            "E": powers,
            "S": sums,
            "Y_pred": y_pred,
            "l": loss,
            "L": [[round_half_away(sum(loss[0]) / len(target), 2)]],
            "dZ": zipcells(lambda a, b: a - b, y_pred, g["Y"]),
        }
        same(p, expected)


def test_softmax_cross_entropy_torch_autograd(torch: Any) -> None:
    for p in problems("softmax-cross-entropy", TORCH_SEEDS):
        g = givens_of(p)
        # 3^z / Σ 3^z is the ordinary softmax of u = z·ln 3: the shortcut ŷ - y is ∂ℓ/∂u.
        u = (t64(torch, g["Z"]) * LN3).T.detach().requires_grad_(True)  # examples as rows
        target = t64(torch, g["Y"]).T.argmax(dim=1)
        loss = torch.nn.functional.cross_entropy(u, target, reduction="none")
        loss.sum().backward()
        close(p, "Y_pred", torch.softmax(u, dim=1).T)
        close(p, "l", loss)
        close(p, "L", loss.mean())
        close(p, "dZ", u.grad.T)


# ----------------------------------------------------------------------------- gradient descent


def test_gradient_descent_naive() -> None:
    eta = Fraction(1, 10)
    for p in problems("gradient-descent"):
        g = givens_of(p)
        x, w, b, y = [r[0] for r in g["x"]], [r[0] for r in g["w"]], g["b"][0][0], g["y"][0][0]
        y_hat = sum(wi * xi for wi, xi in zip(w, x)) + b
        dw = [2 * (y_hat - y) * xi for xi in x]
        w_new = [wi - eta * d for wi, d in zip(w, dw)]
        b_new = b - eta * 2 * (y_hat - y)
        y_new = sum(wi * xi for wi, xi in zip(w_new, x)) + b_new
        expected = {
            "y_hat": [[y_hat]],
            "L": [[(y_hat - y) ** 2]],
            "dw": [[d] for d in dw],
            "db": [[2 * (y_hat - y)]],
            "w_new": [[v] for v in w_new],
            "b_new": [[b_new]],
            "y_hat_new": [[y_new]],
            "L_new": [[(y_new - y) ** 2]],
        }
        same(p, expected)
        assert 0 < (y_new - y) ** 2 < (y_hat - y) ** 2


def test_gradient_descent_torch_autograd_and_sgd(torch: Any) -> None:
    for p in problems("gradient-descent", TORCH_SEEDS):
        g = givens_of(p)
        w = t64(torch, g["w"], grad=True)
        b = t64(torch, g["b"], grad=True)
        x, y = t64(torch, g["x"]), t64(torch, g["y"])
        loss = ((w.T @ x + b - y) ** 2).sum()
        close(p, "L", loss)
        close_sgd_step(torch, p, loss, {"w": w, "b": b}, lr=0.1)
        close(p, "L_new", ((w.T @ x + b - y) ** 2).sum())


def test_minibatch_sgd_naive() -> None:
    eta = Fraction(1, 10)
    for p in problems("minibatch-sgd"):
        g = givens_of(p)
        X, y, w, b = g["X"], g["y"][0], [r[0] for r in g["w"]], g["b"][0][0]
        n = len(y)
        y_hat = [sum(w[i] * X[i][j] for i in range(3)) + b for j in range(n)]
        e = [y_hat[j] - y[j] for j in range(n)]
        G = [[2 * e[j] * X[i][j] for j in range(n)] for i in range(3)]
        dw = [sum(row) / n for row in G]
        db = sum(2 * v for v in e) / n
        assert all(v.denominator == 1 for v in [*dw, db]), f"{p.variant}: averages are whole"
        expected = {
            "y_hat": [y_hat],
            "e": [e],
            "G": G,
            "g_b": [[2 * v for v in e]],
            "dw": [[v] for v in dw],
            "db": [[db]],
            "w_new": [[wi - eta * d] for wi, d in zip(w, dw)],
            "b_new": [[b - eta * db]],
        }
        same(p, expected)


def test_minibatch_sgd_torch_autograd(torch: Any) -> None:
    for p in problems("minibatch-sgd", TORCH_SEEDS):
        g = givens_of(p)
        w = t64(torch, g["w"], grad=True)
        b = t64(torch, g["b"], grad=True)
        X, y = t64(torch, g["X"]), t64(torch, g["y"])
        loss = torch.nn.functional.mse_loss(w.T @ X + b, y)  # the mean over the batch
        loss.backward()
        close(p, "dw", w.grad)
        close(p, "db", b.grad)
        # the mean of the per-example gradients, one autograd call per example
        per_example = []
        for j in range(X.shape[1]):
            wj = w.detach().clone().requires_grad_(True)
            ((wj.T @ X[:, j : j + 1] + b.detach() - y[:, j : j + 1]) ** 2).sum().backward()
            per_example.append(wj.grad)
        close(p, "G", torch.cat(per_example, dim=1))
        torch.optim.SGD([w, b], lr=0.1).step()
        close(p, "w_new", w)
        close(p, "b_new", b)


def test_backprop_chain_naive() -> None:
    for p in problems("backprop-chain"):
        s = {k: v[0][0] for k, v in givens_of(p).items()}
        z1 = s["w1"] * s["x"] + s["b1"]
        a1 = max(z1, 0)
        z2 = s["w2"] * a1 + s["b2"]
        a2 = max(z2, 0)
        z3 = s["w3"] * a2 + s["b3"]
        a3 = Fraction(SIGMOID_TABLE[int(z3)])
        dc_da3 = 2 * (a3 - s["y"])
        da3_dz3 = round_half_away(a3 * (1 - a3), 2)
        d3 = round_half_away(da3_dz3 * dc_da3, 2)
        dc_da2 = s["w3"] * d3
        d2 = dc_da2 if z2 > 0 else 0
        dc_da1 = s["w2"] * d2
        d1 = dc_da1 if z1 > 0 else 0
        expected = {
            "z1": z1, "a1": a1, "z2": z2, "a2": a2, "z3": z3, "a3": a3, "C": (a3 - s["y"]) ** 2,
            "dC_da3": dc_da3, "da3_dz3": da3_dz3, "d3": d3, "dC_dw3": a2 * d3, "dC_da2": dc_da2,
            "d2": d2, "dC_dw2": a1 * d2, "dC_da1": dc_da1, "d1": d1, "dC_dw1": s["x"] * d1,
        }  # fmt: skip
        same(p, {k: [[Fraction(v)]] for k, v in expected.items()})


def test_backprop_chain_torch_autograd(torch: Any) -> None:
    for p in problems("backprop-chain", TORCH_SEEDS):
        s = {k: torch.tensor(float(v[0][0]), dtype=torch.float64, requires_grad=True) for k, v in givens_of(p).items()}
        a1 = torch.relu(s["w1"] * s["x"] + s["b1"])
        a2 = torch.relu(s["w2"] * a1 + s["b2"])
        z3 = s["w3"] * a2 + s["b3"]
        a3 = torch.sigmoid(z3)
        for t in (a1, a2, z3, a3):
            t.retain_grad()
        cost = (a3 - s["y"]) ** 2
        cost.backward()
        close(p, "a3", a3)
        close(p, "C", cost)
        close(p, "dC_da3", a3.grad)
        close(p, "d3", z3.grad)
        close(p, "dC_da2", a2.grad)
        close(p, "dC_da1", a1.grad)
        for k in (1, 2, 3):
            close(p, f"dC_dw{k}", s[f"w{k}"].grad)
        close(p, "d2", s["b2"].grad)  # ∂C/∂b = δ
        close(p, "d1", s["b1"].grad)


# ----------------------------------------------------------------------------- dropout, batch norm


def test_dropout_naive() -> None:
    # Two hidden layers, each with its own rate (the published exercise): keep if r > p,
    # kept units scaled by 1/(1 - p) rounded to one decimal (2 for 0.5, 1.5 for 0.33).
    for p in problems("dropout"):
        g = givens_of(p)
        scales = {Fraction(1, 2): Fraction(2), Fraction(33, 100): Fraction(3, 2)}
        p1, p2 = g["p1"][0][0], g["p2"][0][0]
        assert p1 != p2
        h1 = relu(add_col(mm(g["W1"], g["X"]), g["b1"]))
        m1 = [[1 if r > p1 else 0 for r in row] for row in g["R1"]]
        d1 = [[round_half_away(h * m * scales[p1], 2) for h, m in zip(hr, mr)] for hr, mr in zip(h1, m1)]
        h2 = round_cells(relu(add_col(mm(g["W2"], d1), g["b2"])))
        m2 = [[1 if r > p2 else 0 for r in row] for row in g["R2"]]
        d2 = [[round_half_away(h * m * scales[p2], 2) for h, m in zip(hr, mr)] for hr, mr in zip(h2, m2)]
        y = round_cells(add_col(mm(g["W3"], d2), g["b3"]))
        h2_inf = relu(add_col(mm(g["W2"], h1), g["b2"]))
        expected = {
            "H1": h1,
            "M1": m1,
            "s1": [[scales[p1]]],
            "D1": d1,
            "H2": h2,
            "M2": m2,
            "s2": [[scales[p2]]],
            "D2": d2,
            "Y": y,
            "dY": [[2 * (a - t) for a, t in zip(yr, tr)] for yr, tr in zip(y, g["T"])],
            "H2_inf": h2_inf,
            "Y_inf": add_col(mm(g["W3"], h2_inf), g["b3"]),
        }
        same(p, expected)
        for mask in (m1, m2):
            assert 0 < sum(map(sum, mask)) < len(mask) * len(mask[0])


def test_dropout_torch(torch: Any) -> None:
    F = torch.nn.functional
    for p in problems("dropout", TORCH_SEEDS):
        g = givens_of(p)
        p1, p2 = float(g["p1"][0][0]), float(g["p2"][0][0])
        X = t64(torch, g["X"]).T  # examples as rows

        def layer(h: Any, w: str, b: str, g: dict[str, Matrix] = g) -> Any:
            return F.linear(h, t64(torch, g[w]), t64(torch, g[b]).reshape(-1))

        h1 = torch.relu(layer(X, "W1", "b1"))
        # torch's dropout keeps a unit with probability 1 - p and scales it by 1/(1 - p);
        # the printed random numbers give the mask
        r1, r2 = t64(torch, g["R1"]).t(), t64(torch, g["R2"]).t()
        d1 = h1 * (r1 > p1).to(torch.float64) / (1 - p1)
        h2 = torch.relu(layer(d1, "W2", "b2"))
        d2 = h2 * (r2 > p2).to(torch.float64) / (1 - p2)
        y = layer(d2, "W3", "b3").detach().requires_grad_(True)
        ((y - t64(torch, g["T"]).T) ** 2).sum().backward()
        for name, tensor in (("D1", d1), ("H2", h2), ("D2", d2), ("Y", y), ("dY", y.grad)):
            close(p, name, tensor.T)
        inference = F.dropout(h1, p=p1, training=False)  # no mask, no scaling
        h2_inf = F.dropout(torch.relu(layer(inference, "W2", "b2")), p=p2, training=False)
        close(p, "H2_inf", h2_inf.T, "values")
        close(p, "Y_inf", layer(h2_inf, "W3", "b3").T, "values")


def test_batch_norm_naive() -> None:
    for p in problems("batch-norm"):
        g = givens_of(p)
        X = g["X"]
        n = len(X[0])
        sums = [sum(row) for row in X]
        mu = [s / n for s in sums]
        D = [[v - mu[i] for v in row] for i, row in enumerate(X)]
        var = [sum(d * d for d in row) / n for row in D]
        sd = [Fraction(math.isqrt(int(v))) for v in var]
        assert all(m.denominator == 1 for m in mu) and all(s * s == v and s > 0 for s, v in zip(sd, var))
        x_hat = [[round_half_away(d / sd[i], 2) for d in row] for i, row in enumerate(D)]
        expected = {
            "S": [[s] for s in sums],
            "mu": [[m] for m in mu],
            "D": D,
            "D2": cells(D, lambda d: d * d),
            "var": [[v] for v in var],
            "sd": [[s] for s in sd],
            "X_hat": x_hat,
            "Y": [
                [round_half_away(g["gamma"][i][0] * v + g["beta"][i][0], 2) for v in row] for i, row in enumerate(x_hat)
            ],
        }
        same(p, expected)
        # the exact chain normalises with the exact statistics: no rounding before x̂
        exact_hat = [[d / sd[i] for d in row] for i, row in enumerate(D)]
        assert grid(p.exact["X_hat"]) == exact_hat


def test_batch_norm_torch(torch: Any) -> None:
    for p in problems("batch-norm", TORCH_SEEDS):
        g = givens_of(p)
        x = t64(torch, g["X"]).T  # (N, C): examples as rows, features as channels
        y = torch.nn.functional.batch_norm(
            x, None, None, weight=t64(torch, g["gamma"]).reshape(-1), bias=t64(torch, g["beta"]).reshape(-1),
            training=True, eps=1e-12,  # torch refuses 0; 1e-12 moves y by under 1e-11
        )  # fmt: skip
        close(p, "mu", x.mean(dim=0))
        close(p, "var", x.var(dim=0, unbiased=False))  # the population variance
        close(p, "Y", y.T)


# ----------------------------------------------------------------------------- recurrence


def test_rnn_tanh_naive() -> None:
    for p in problems("rnn-tanh"):
        g = givens_of(p)
        h: Matrix = [[Fraction(0)], [Fraction(0)]]
        expected: dict[str, Matrix] = {}
        states = []
        for t in range(3):
            a = [
                [u + v for u, v in zip(r1, r2_)] for r1, r2_ in zip(mm(g["W_hh"], h), mm(g["W_xh"], column(g["X"], t)))
            ]
            h = cells(a, lambda v: round_half_away(math.tanh(float(v)), 2))
            expected[f"a{t + 1}"], expected[f"h{t + 1}"] = round_cells(a), h
            states.append(h)
        expected["Y"] = round_cells(mm(g["W_hy"], [[s[i][0] for s in states] for i in range(2)]))
        if all(abs(v[0]) <= 2 for v in expected["a1"]):  # step 1 is on the tanh table
            assert expected["h1"] == cells(expected["a1"], lambda v: Fraction(TANH_TABLE[int(v)]))
        same(p, expected)


def test_rnn_tanh_torch(torch: Any) -> None:
    for p in problems("rnn-tanh", TORCH_SEEDS):
        g = givens_of(p)
        rnn = torch.nn.RNN(input_size=2, hidden_size=2, bias=False, nonlinearity="tanh", dtype=torch.float64)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(t64(torch, g["W_xh"]))
            rnn.weight_hh_l0.copy_(t64(torch, g["W_hh"]))
        out, _ = rnn(t64(torch, g["X"]).T)  # (T, hidden): h_1 .. h_T; h0 = 0
        for t in range(3):
            close(p, f"h{t + 1}", out[t])
        close(p, "Y", t64(torch, g["W_hy"]) @ out.T)


GATE_ROWS = {"f": slice(0, 2), "i": slice(2, 4), "g": slice(4, 6), "o": slice(6, 8)}


def test_lstm_naive() -> None:
    for p in problems("lstm"):
        g = givens_of(p)
        W = g["W"]
        h = [Fraction(0), Fraction(0)]
        c = [Fraction(0), Fraction(0)]
        expected: dict[str, Matrix] = {}
        for t in range(3):
            inp = [g["x"][0][t], *h, Fraction(1)]  # [x_t; h_(t-1); 1]
            z = [round_half_away(sum(w * v for w, v in zip(row, inp)), 2) for row in W]
            gates = [round_half_away(math.tanh(float(v)) if 4 <= k < 6 else sigmoid(v), 2) for k, v in enumerate(z)]
            f, i, gg, o = (gates[s] for s in GATE_ROWS.values())
            c = [round_half_away(f[k] * c[k] + i[k] * gg[k], 2) for k in range(2)]
            tc = [round_half_away(math.tanh(float(v)), 2) for v in c]
            h = [round_half_away(o[k] * tc[k], 2) for k in range(2)]
            step = {"Z": z, "G": gates, "c": c, "tc": tc, "h": h}
            expected.update({f"{k}{t + 1}": [[v] for v in vs] for k, vs in step.items()})
        for k, v in enumerate(expected["Z1"]):  # step 1 is on the tables
            table = TANH_TABLE if 4 <= k < 6 else SIGMOID_TABLE
            assert expected["G1"][k][0] == Fraction(table[int(v[0])])
        same(p, expected)


def test_lstm_torch_lstmcell(torch: Any) -> None:
    for p in problems("lstm", TORCH_SEEDS):
        W = t64(torch, givens_of(p)["W"])  # rows f, i, g, o; columns x, h1, h2, bias
        cell = torch.nn.LSTMCell(input_size=1, hidden_size=2, dtype=torch.float64)
        order = torch.cat([torch.arange(2, 4), torch.arange(0, 2), torch.arange(4, 8)])  # torch: i, f, g, o
        with torch.no_grad():
            cell.weight_ih.copy_(W[order, 0:1])
            cell.weight_hh.copy_(W[order, 1:3])
            cell.bias_ih.copy_(W[order, 3])
            cell.bias_hh.zero_()
        h = torch.zeros(1, 2, dtype=torch.float64)
        c = torch.zeros(1, 2, dtype=torch.float64)
        x = t64(torch, givens_of(p)["x"])
        for t in range(3):
            h, c = cell(x[:, t : t + 1], (h, c))
            close(p, f"c{t + 1}", c)
            close(p, f"h{t + 1}", h)


# ----------------------------------------------------------------------------- tokens


def test_embedding_naive() -> None:
    for p in problems("embedding"):
        g = givens_of(p)
        tokens = [int(v) for v in g["tokens"][0]]
        onehot = [[Fraction(1 if tok == k + 1 else 0) for tok in tokens] for k in range(5)]
        x_tok = [[g["E"][r][tok - 1] for tok in tokens] for r in range(3)]  # column lookup, no products
        expected = {"O": onehot, "X_tok": x_tok, "X": zipcells(lambda a, b: a + b, x_tok, g["P"])}
        same(p, expected)


def test_embedding_torch(torch: Any) -> None:
    for p in problems("embedding", TORCH_SEEDS):
        g = givens_of(p)
        tokens = torch.tensor([int(v) for v in g["tokens"][0]]) - 1  # torch indexes from 0
        close(p, "O", torch.nn.functional.one_hot(tokens, 5).T.to(torch.float64), "values")
        table = torch.nn.Embedding.from_pretrained(t64(torch, g["E"]).T)  # one row per word
        close(p, "X_tok", table(tokens).T, "values")


def test_unembedding_naive() -> None:
    for p in problems("unembedding"):
        g = givens_of(p)
        h = column(g["H"], len(g["H"][0]) - 1)
        z = mm(g["U"], h)
        powers = cells(z, lambda v: Fraction(3) ** int(v))
        total = sum(r[0] for r in powers)
        probs = cells(powers, lambda v, total=total: round_half_away(v / total, 2))
        best = max(range(5), key=lambda k: z[k][0])
        assert sum(1 for r in z if r[0] == z[best][0]) == 1
        same(p, {"z": z, "E": powers, "S": [[total]], "P": probs, "next": [[Fraction(best + 1)]]})


def test_unembedding_torch(torch: Any) -> None:
    for p in problems("unembedding", TORCH_SEEDS):
        g = givens_of(p)
        logits = t64(torch, g["U"]) @ t64(torch, g["H"])[:, -1]
        close(p, "P", torch.softmax(logits * LN3, dim=0))
        assert int(p.values["next"][0, 0]) == int(torch.argmax(logits)) + 1


def test_softmax_temperature_naive() -> None:
    for p in problems("softmax-temperature"):
        g = givens_of(p)
        temp = g["T"][0][0]
        s = cells(g["z"], lambda v, temp=temp: v / temp)
        powers = cells(s, lambda v: Fraction(3) ** int(v))
        total = sum(r[0] for r in powers)
        probs = cells(powers, lambda v, total=total: round_half_away(v / total, 2))
        cumulative, running = [], Fraction(0)
        for r in probs:
            running += r[0]
            cumulative.append([running])
        r = g["r"][0][0]
        pick = next(k + 1 for k, c in enumerate(cumulative) if r < c[0])
        expected = {"s": s, "E": powers, "S": [[total]], "P": probs, "C": cumulative, "pick": [[Fraction(pick)]]}
        same(p, expected)
        # the exact distribution picks the same token
        exact_cum = np.cumsum([float(v[0] / total) for v in powers])
        assert pick == int(np.searchsorted(exact_cum, float(r), side="right")) + 1


def test_softmax_temperature_torch(torch: Any) -> None:
    for p in problems("softmax-temperature", TORCH_SEEDS):
        g = givens_of(p)
        probs = torch.softmax(t64(torch, g["z"]).reshape(-1) / float(g["T"][0][0]) * LN3, dim=0)
        close(p, "P", probs)
        cumulative = torch.cumsum(probs, dim=0)
        close(p, "C", cumulative)
        r = torch.tensor([float(g["r"][0][0])], dtype=torch.float64)
        assert int(p.values["pick"][0, 0]) == int(torch.searchsorted(cumulative, r, right=True)) + 1


# ----------------------------------------------------------------------------- attention


def attention_naive(g: dict[str, Matrix], wq: str, wk: str, wv: str, q_src: str, kv_src: str) -> dict[str, Matrix]:
    q = mm(g[wq], g[q_src])
    k = mm(g[wk], g[kv_src])
    v = mm(g[wv], g[kv_src])
    s = mm(transpose(k), q)
    a = round_cells(softmax_cols(s))
    return {"Q": q, "K": k, "V": v, "S": s, "A": a, "Z": round_cells(mm(v, a))}


def test_causal_attention_naive() -> None:
    for p in problems("causal-attention"):
        g = givens_of(p)
        q, k, v = mm(g["W_Q"], g["X"]), mm(g["W_K"], g["X"]), mm(g["W_V"], g["X"])
        s = mm(transpose(k), q)
        n = len(s)
        masked = [[s[i][j] if i <= j else Fraction(-99) for j in range(n)] for i in range(n)]
        powers = [[Fraction(3) ** int(masked[i][j]) if i <= j else Fraction(0) for j in range(n)] for i in range(n)]
        sums = [sum(c) for c in zip(*powers)]
        a = [[round_half_away(powers[i][j] / sums[j], 2) for j in range(n)] for i in range(n)]
        expected = {"Q": q, "K": k, "V": v, "S": s, "M": masked, "E": powers, "A": a, "Z": round_cells(mm(v, a))}
        same(p, expected)
        assert all(p.exact["A"][i, j] == 0 for i in range(n) for j in range(n) if i > j), "masked weights are exactly 0"


def test_causal_attention_torch_sdpa(torch: Any) -> None:
    for p in problems("causal-attention", TORCH_SEEDS):
        g = givens_of(p)
        X = t64(torch, g["X"])
        q, k, v = ((t64(torch, g[w]) @ X).T for w in ("W_Q", "W_K", "W_V"))  # tokens as rows
        z = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, scale=LN3)
        close(p, "Z", z.T)
        weights = torch.softmax((q @ k.T * LN3).masked_fill(torch.ones(4, 4).triu(1).bool(), float("-inf")), dim=1)
        close(p, "A", weights.T)


def test_cross_attention_naive() -> None:
    for p in problems("cross-attention"):
        same(p, attention_naive(givens_of(p), "W_Q", "W_K", "W_V", "Y", "X"))


def test_cross_attention_torch_sdpa(torch: Any) -> None:
    for p in problems("cross-attention", TORCH_SEEDS):
        g = givens_of(p)
        q = (t64(torch, g["W_Q"]) @ t64(torch, g["Y"])).T  # target tokens as rows
        k = (t64(torch, g["W_K"]) @ t64(torch, g["X"])).T  # source tokens as rows
        v = (t64(torch, g["W_V"]) @ t64(torch, g["X"])).T
        close(p, "Z", torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=LN3).T)
        close(p, "A", torch.softmax(q @ k.T * LN3, dim=1).T)


def test_multi_head_attention_naive() -> None:
    for p in problems("multi-head-attention"):
        g = givens_of(p)
        expected: dict[str, Matrix] = {}
        for h in (1, 2):
            head = attention_naive(g, f"W_Q{h}", f"W_K{h}", f"W_V{h}", "X", "X")
            expected.update({f"{name}{h}": value for name, value in head.items()})
        z_cat = expected["Z1"] + expected["Z2"]
        expected["Z_cat"] = z_cat
        expected["O"] = round_cells(mm(g["W_O"], z_cat))
        same(p, expected)


def test_multi_head_attention_torch_module(torch: Any) -> None:
    """nn.MultiheadAttention with 2 heads of size 2: X padded with a zero 4th feature (the
    module needs embed_dim = heads x head size), queries pre-scaled by √2·ln 3 (the module
    divides by √2 and uses e^x), W_O padded with a zero 4th output row."""
    for p in problems("multi-head-attention", TORCH_SEEDS):
        g = givens_of(p)
        zero_col = torch.zeros(2, 1, dtype=torch.float64)

        def stacked(kind: str, g: dict[str, Matrix] = g, zero_col: Any = zero_col) -> Any:
            return torch.cat([torch.cat([t64(torch, g[f"W_{kind}{h}"]), zero_col], dim=1) for h in (1, 2)])

        mha = torch.nn.MultiheadAttention(embed_dim=4, num_heads=2, bias=False, dtype=torch.float64)
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([stacked("Q") * math.sqrt(2) * LN3, stacked("K"), stacked("V")]))
            mha.out_proj.weight.copy_(torch.cat([t64(torch, g["W_O"]), torch.zeros(1, 4, dtype=torch.float64)]))
        tokens = torch.cat([t64(torch, g["X"]), torch.zeros(1, 3, dtype=torch.float64)]).T  # (L=3, E=4)
        out, weights = mha(tokens, tokens, tokens, need_weights=True, average_attn_weights=False)
        close(p, "O", out.T[:3])
        close(p, "A1", weights[0].T)
        close(p, "A2", weights[1].T)


def test_residual_naive() -> None:
    for p in problems("residual"):
        g = givens_of(p)
        z1 = add_col(mm(g["W1"], g["X"]), g["b1"])
        h = cells(z1, lambda v: max(v, 0))
        f = add_col(mm(g["W2"], h), g["b2"])
        s = zipcells(lambda a, b: a + b, g["X"], f)
        same(p, {"Z1": z1, "H": h, "F": f, "S": s, "Y": cells(s, lambda v: max(v, 0))})


def test_residual_torch(torch: Any) -> None:
    for p in problems("residual", TORCH_SEEDS):
        g = givens_of(p)
        layers = []
        for w, b in (("W1", "b1"), ("W2", "b2")):
            weight = t64(torch, g[w])
            layer = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=torch.float64)
            with torch.no_grad():
                layer.weight.copy_(weight)
                layer.bias.copy_(t64(torch, g[b]).reshape(-1))
            layers.append(layer)
        x = t64(torch, g["X"]).T
        block = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1])
        close(p, "Y", torch.relu(x + block(x)).T, "values")


# ----------------------------------------------------------------------------- ops (batched)


def test_lecture_ops_are_registered_under_their_names() -> None:
    """A later module registering the same name would silently replace an op."""
    from nnhand.ops import lecture as ops_lecture
    from nnhand.ops.registry import OPS

    names = {
        "log": "log_", "lstm_gates": "lstm_gates", "onehot": "onehot", "cumsum": "cumsum", "sample": "sample",
        "causal_mask": "causal_mask", "power_masked": "power_masked", "softmax_masked": "softmax_masked",
        "isin": "isin", "multiple_of": "multiple_of", "whole_stats": "whole_stats",
    }  # fmt: skip
    for name, fn in names.items():
        assert OPS[name].fn is getattr(ops_lecture, fn), name


def random_batch(rng: np.random.Generator, shape: tuple[int, int, int], low: int = -3, high: int = 3) -> np.ndarray:
    return rng.integers(low, high, size=shape, endpoint=True)


def test_ops_work_on_a_batch_like_a_loop() -> None:
    from nnhand.ops import lecture as L

    rng = np.random.default_rng(7)
    x = random_batch(rng, (6, 4, 4))
    for b in range(6):
        m = x[b].tolist()
        masked = L.causal_mask(x)[b].tolist()
        assert masked == [[m[i][j] if i <= j else -99 for j in range(4)] for i in range(4)]
        powers = L.power_masked(L.causal_mask(x))[b]
        want = [[Fraction(3) ** m[i][j] if i <= j else 0 for j in range(4)] for i in range(4)]
        assert [[Fraction(v) for v in row] for row in powers.tolist()] == want
        soft = L.softmax_masked(L.causal_mask(x))[b]
        sums = [sum(want[i][j] for i in range(4)) for j in range(4)]
        assert [[Fraction(v) for v in row] for row in soft.tolist()] == [
            [want[i][j] / sums[j] for j in range(4)] for i in range(4)
        ]
        running = [[sum(m[k][j] for k in range(i + 1)) for j in range(4)] for i in range(4)]
        assert L.cumsum(x)[b].tolist() == running
        assert L.isin(x, -1, 2)[b].tolist() == [[v in (-1, 2) for v in row] for row in m]
        assert L.multiple_of(x, np.full((1, 1, 1), 3))[b].tolist() == [[v % 3 == 0 for v in row] for row in m]


def test_onehot_sample_and_whole_stats_on_a_batch() -> None:
    from nnhand.ops import lecture as L

    idx = np.array([[[1, 3, 2]], [[2, 2, 1]]])
    assert L.onehot(idx, 3).tolist() == [
        [[1, 0, 0], [0, 0, 1], [0, 1, 0]],
        [[0, 0, 1], [1, 1, 0], [0, 0, 0]],
    ]
    cum = np.array([[[Fraction(1, 4)], [Fraction(1, 2)], [Fraction(1)]]] * 2, dtype=object)
    r = np.array([[[Fraction(1, 4)]], [[Fraction(3, 5)]]], dtype=object)
    assert L.sample(cum, r).ravel().tolist() == [2, 3]  # 0.25 is not below c1 = 0.25: token 2
    with pytest.raises(EvaluationError):  # r at the top of the distribution picks nothing
        L.sample(cum, np.array([[[Fraction(1)]]], dtype=object))
    data = np.array([[[1, 1, 3, 3], [0, 2, 2, 8], [0, 4, 4, 8]], [[2, 2, 2, 2], [9, 3, 3, 1], [5, 5, 5, 1]]])
    # means 2, 3, 4 / 2, 4, 4; std 1, 3, √8 / 0, 3, √3
    assert L.whole_stats(data).reshape(2, 3).tolist() == [[True, True, False], [False, True, False]]
    gates = L.lstm_gates(np.array([[[0], [1], [-1], [2], [1], [-2], [3], [0]]]))[0, :, 0]
    want = [sigmoid(0), sigmoid(1), sigmoid(-1), sigmoid(2), math.tanh(1), math.tanh(-2), sigmoid(3), sigmoid(0)]
    assert np.allclose(gates, want, rtol=0, atol=1e-12)
    assert np.allclose(L.log_(np.array([[[1.0, math.e]]])), [[[0.0, 1.0]]])
