"""The network templates of the seeds (autoencoder, RNN, transformer, GAN, switch
transformer, self-attention, mixture of experts) against independent references.

Each reference is a naive loop over plain Python lists (no nnhand op, no NumPy maths),
written from the exercise's description; it is compared with what the engine generates
over many seeds. Hand-worked cases pin the rules a person applies on paper (routing with
capacity, the recurrence, the scaling rule, the sigmoid table).
"""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from nnhand import api
from nnhand.core.engine import Problem, generate, solve

from .checking import close, close_sgd_step, t64
from .reference import (
    Matrix,
    add_col,
    column,
    gan,
    givens_of,
    grid,
    mm,
    relu,
    round_half_away,
    switch_transformer,
    unique_max_cols,
)

SEEDS = range(40)


# ----------------------------------------------------------------------------- naive helpers


def assert_same(problem: Problem, expected: dict[str, Matrix], exact: bool = False) -> None:
    source = problem.exact if exact else problem.values
    for name, want in expected.items():
        got = grid(source[name])
        assert got == want, f"{problem.variant}: {name} is {got}, expected {want}"


# ----------------------------------------------------------------------------- references


def autoencoder_ref(g: dict[str, Matrix]) -> dict[str, Matrix]:
    h1 = relu(add_col(mm(g["W1"], g["X"]), g["b1"]))
    h2 = relu(add_col(mm(g["W2"], h1), g["b2"]))
    h3 = relu(add_col(mm(g["W3"], h2), g["b3"]))
    y = add_col(mm(g["W4"], h3), g["b4"])
    dy = [[2 * (y[i][j] - g["X"][i][j]) for j in range(len(y[0]))] for i in range(len(y))]
    # the training step the seed starts ("to initiate weight and bias updates"): the summed
    # squared error, the last layer's gradients (summed over the examples), one step, η = 0.01
    loss = sum((y[i][j] - g["X"][i][j]) ** 2 for i in range(len(y)) for j in range(len(y[0])))
    dw4 = [
        [sum((dy[i][n] * h3[k][n] for n in range(len(dy[0]))), Fraction(0)) for k in range(len(h3))]
        for i in range(len(dy))
    ]
    db4 = [[sum(row, Fraction(0))] for row in dy]
    eta = Fraction(1, 100)
    w4 = [[g["W4"][i][k] - eta * dw4[i][k] for k in range(len(h3))] for i in range(len(dy))]
    b4 = [[g["b4"][i][0] - eta * db4[i][0]] for i in range(len(dy))]
    return {
        "H1": h1, "H2": h2, "H3": h3, "Y": y, "dY": dy,
        "L": [[loss]], "dW4": dw4, "db4": db4, "W4_new": w4, "b4_new": b4,
    }  # fmt: skip


# The ln table the GAN sheet prints (ln p rounded to 2 decimals for the sigmoid table's p).
GAN_LN_TABLE = {
    "0.01": "-4.61", "0.02": "-3.91", "0.05": "-3", "0.12": "-2.12", "0.27": "-1.31", "0.5": "-0.69",
    "0.73": "-0.31", "0.88": "-0.13", "0.95": "-0.05", "0.98": "-0.02", "0.99": "-0.01",
}  # fmt: skip


def gan_training_ref(g: dict[str, Matrix], forward: dict[str, Matrix]) -> dict[str, Matrix]:
    """The GAN's training step by hand, after the forward pass and output gradients: both
    binary cross-entropy losses (summed, each ln from the table), dWd2 = dD·[HF HR]ᵀ, the
    generator's gradient back through the (fixed) discriminator to Wg2, and one step of
    each with η = 0.1, every step rounded to 2 decimals."""

    def ln(v: Fraction) -> Fraction:
        return Fraction(GAN_LN_TABLE[str(float(v))])

    def r2(v: Fraction) -> Fraction:
        return round_half_away(v, 2)

    pf, pr, dd, dg = forward["PF"][0], forward["PR"][0], forward["dD"][0], forward["dG"][0]
    hf, hr, fake, gen = forward["HF"], forward["HR"], forward["F"], forward["G"]
    wd1, wd2, wg2 = g["Wd1"], g["Wd2"], g["Wg2"]
    ln_f = [ln(1 - v) for v in pf]
    ln_r = [ln(v) for v in pr]
    ln_g = [ln(v) for v in pf]
    both = [row_f + row_r for row_f, row_r in zip(hf, hr)]  # [HF HR], fakes then reals
    dwd2 = [r2(sum((dd[n] * both[k][n] for n in range(len(dd))), Fraction(0))) for k in range(len(both))]
    eta = Fraction(1, 10)
    samples = len(pf)
    dhf = [[r2(wd2[0][k] * dg[n]) if hf[k][n] > 0 else Fraction(0) for n in range(samples)] for k in range(len(hf))]
    df = [
        [
            r2(sum((wd1[k][i] * dhf[k][n] for k in range(len(hf))), Fraction(0))) if fake[i][n] > 0 else Fraction(0)
            for n in range(samples)
        ]
        for i in range(len(fake))
    ]
    dwg2 = [
        [r2(sum((df[i][n] * gen[j][n] for n in range(samples)), Fraction(0))) for j in range(len(gen))]
        for i in range(len(fake))
    ]
    return {
        "lnF": [ln_f], "lnR": [ln_r], "lnG": [ln_g],
        "LD": [[-(sum(ln_f) + sum(ln_r))]], "LG": [[-sum(ln_g)]],
        "dWd2": [dwd2], "dbd2": [[r2(sum(dd, Fraction(0)))]],
        "Wd2_new": [[r2(wd2[0][k] - eta * dwd2[k]) for k in range(len(dwd2))]],
        "dHF": dhf, "dF": df, "dWg2": dwg2,
        "Wg2_new": [[r2(wg2[i][j] - eta * dwg2[i][j]) for j in range(len(gen))] for i in range(len(fake))],
    }  # fmt: skip


def rnn_ref(g: dict[str, Matrix]) -> dict[str, Matrix]:
    A, B, C, x = g["A"], g["B"], g["C"], g["x"]
    h = [row[0] for row in g["h0"]]
    states = []
    for t in range(len(x[0])):
        pre = [
            sum((A[i][k] * h[k] for k in range(len(h))), Fraction(0)) + sum(B[i][m] * x[m][t] for m in range(len(x)))
            for i in range(len(h))
        ]
        h = [v if v > 0 else Fraction(0) for v in pre]
        states.append(h)
    H = [[states[t][i] for t in range(len(states))] for i in range(len(h))]
    Y = [[sum(C[0][i] * states[t][i] for i in range(len(h))) for t in range(len(states))]]
    return {"H": H, "Y": Y}


def transformer_ref(g: dict[str, Matrix]) -> dict[str, Matrix]:
    X, A = g["X"], g["A"]
    # column j of Z sums the columns i of X that A[i][j] marks
    Z = [
        [sum((X[f][i] for i in range(len(A)) if A[i][j] == 1), Fraction(0)) for j in range(len(A[0]))]
        for f in range(len(X))
    ]
    F = add_col(mm(g["W1"], Z), g["b1"])
    H = relu(F)
    Y = add_col(mm(g["W2"], H), g["b2"])
    return {"Z": Z, "F": F, "H": H, "Y": Y}


# CONVENTIONS.md's sigmoid table, with σ(±4) = .982/.018 that the GAN sheet's table adds
SIGMOID_TABLE = {
    -5: "0.01", -4: "0.02", -3: "0.05", -2: "0.12", -1: "0.27", 0: "0.5",
    1: "0.73", 2: "0.88", 3: "0.95", 4: "0.98", 5: "0.99",
}  # fmt: skip


def moe_ref(g: dict[str, Matrix]) -> dict[str, Matrix]:
    X = g["X"]
    G = add_col(mm(g["Wg"], X), g["bg"])
    choice, columns = [], []
    for t in range(len(X[0])):
        scores = [G[k][t] for k in range(len(G))]
        k = scores.index(max(scores)) + 1
        choice.append(Fraction(k))
        out = relu(add_col(mm(g[f"E{k}"], column(X, t)), g[f"c{k}"]))
        columns.append([row[0] for row in out])
    Y = [[columns[t][i] for t in range(len(columns))] for i in range(len(columns[0]))]
    return {"G": G, "choice": [choice], "Y": Y}


def attention_ref(g: dict[str, Matrix], rounded: bool = True) -> dict[str, Matrix]:
    """Self-attention with the sheet's rules: scores / 2 rounded half away from zero, 3^x,
    softmax down each column; with rounded=True A and Z are rounded to 2 decimals as on
    paper (Z from the rounded A), else the exact chain."""
    X = g["X"]
    Q, K, V = mm(g["WQ"], X), mm(g["WK"], X), mm(g["WV"], X)
    n = len(X[0])
    S = [[sum(K[f][i] * Q[f][j] for f in range(len(K))) for j in range(n)] for i in range(n)]
    D = [[round_half_away(Fraction(s, 2), 0) for s in row] for row in S]
    E = [[Fraction(3) ** int(d) for d in row] for row in D]
    Esum = [[sum(E[i][j] for i in range(n)) for j in range(n)]]
    A = [[E[i][j] / Esum[0][j] for j in range(n)] for i in range(n)]
    if rounded:  # E and Esum written to 2 decimals (3^-1 = 0.33), A from the exact thirds
        A = [[round_half_away(a, 2) for a in row] for row in A]
        E = [[round_half_away(e, 2) for e in row] for row in E]
        Esum = [[round_half_away(e, 2) for e in row] for row in Esum]
    Z = mm(V, A)
    if rounded:
        Z = [[round_half_away(z, 2) for z in row] for row in Z]
    return {"Q": Q, "K": K, "V": V, "S": S, "D": D, "E": E, "Esum": Esum, "A": A, "Z": Z}


# ----------------------------------------------------------------------------- against the engine


def test_autoencoder_matches_reference() -> None:
    template = api.load("autoencoder")
    for seed in SEEDS:
        problem = generate(template, seed)
        assert_same(problem, autoencoder_ref(givens_of(problem)))


def test_rnn_matches_reference() -> None:
    template = api.load("rnn")
    for seed in SEEDS:
        problem = generate(template, seed)
        g = givens_of(problem)
        assert g["h0"] == [[0], [0]]
        assert_same(problem, rnn_ref(g))


def test_transformer_matches_reference() -> None:
    template = api.load("transformer")
    for seed in SEEDS:
        problem = generate(template, seed)
        assert_same(problem, transformer_ref(givens_of(problem)))


def test_gan_matches_reference_and_the_sigmoid_table() -> None:
    template = api.load("gan")
    for seed in SEEDS:
        problem = generate(template, seed)
        expected = gan(givens_of(problem))
        assert_same(problem, expected)
        assert_same(problem, gan_training_ref(givens_of(problem), expected))
        for z_name, p_name in (("ZF", "PF"), ("ZR", "PR")):
            for z, p in zip(expected[z_name][0], grid(problem.values[p_name])[0]):
                assert int(z) in SIGMOID_TABLE, f"{problem.variant}: logit {z} is not in the sigmoid table"
                assert p == Fraction(SIGMOID_TABLE[int(z)])


def test_gan_logits_may_be_negative() -> None:
    """The known slip: a ReLU before the sigmoid makes every probability at least 0.5."""
    template = api.load("gan")
    below_half = 0
    for seed in SEEDS:
        problem = generate(template, seed)
        probabilities = grid(problem.values["PF"])[0] + grid(problem.values["PR"])[0]
        below_half += any(p < Fraction(1, 2) for p in probabilities)
    assert below_half >= len(SEEDS) // 4


def test_autoencoder_training_step_against_torch(torch: Any) -> None:
    """L = Σ (Y - X)², dW4 and db4 by autograd, and W4, b4 after one torch.optim.SGD step (lr 0.01)."""
    template = api.load("autoencoder")
    for seed in range(0, 40, 4):
        problem = generate(template, seed)
        g = givens_of(problem)
        X = t64(torch, g["X"])
        h = X
        for k in (1, 2, 3):
            h = torch.relu(t64(torch, g[f"W{k}"]) @ h + t64(torch, g[f"b{k}"]))
        w4, b4 = t64(torch, g["W4"], grad=True), t64(torch, g["b4"], grad=True)
        loss = ((w4 @ h.detach() + b4 - X) ** 2).sum()
        close(problem, "L", loss)
        close_sgd_step(torch, problem, loss, {"W4": w4, "b4": b4}, lr=0.01)


def test_gan_training_step_against_torch(torch: Any) -> None:
    """Both BCE losses (summed) with e-based logs, dWd2/dbd2 and dWg2 by autograd (the
    generator's through the fixed discriminator), one torch.optim.SGD step (lr 0.1) of each,
    against the exact chain (no table rounding)."""
    template = api.load("gan")
    for seed in range(0, 40, 4):
        problem = generate(template, seed)
        g = givens_of(problem)
        wg2 = t64(torch, g["Wg2"], grad=True)
        gen = torch.relu(t64(torch, g["Wg1"]) @ t64(torch, g["N"]) + t64(torch, g["bg1"]))
        fake = torch.relu(wg2 @ gen + t64(torch, g["bg2"]))
        wd1, bd1 = t64(torch, g["Wd1"]), t64(torch, g["bd1"])
        wd2 = t64(torch, g["Wd2"], grad=True)
        bd2 = torch.tensor(float(g["bd2"][0][0]), dtype=torch.float64, requires_grad=True)

        def score(data: Any, w: Any, b: Any, wd1: Any = wd1, bd1: Any = bd1) -> Any:
            return torch.sigmoid(w @ torch.relu(wd1 @ data + bd1) + b)  # no ReLU before the sigmoid

        pf_d, pr = score(fake.detach(), wd2, bd2), score(t64(torch, g["X"]), wd2, bd2)
        loss_d = -torch.log(pr).sum() - torch.log(1 - pf_d).sum()
        loss_d.backward()
        close(problem, "LD", loss_d)
        close(problem, "dWd2", wd2.grad)
        close(problem, "dbd2", bd2.grad)
        # the generator's step holds the discriminator fixed
        loss_g = -torch.log(score(fake, wd2.detach(), bd2.detach())).sum()
        loss_g.backward()
        close(problem, "LG", loss_g)
        close(problem, "dWg2", wg2.grad)
        torch.optim.SGD([wd2, wg2], lr=0.1).step()
        close(problem, "Wd2_new", wd2)
        close(problem, "Wg2_new", wg2)


@pytest.mark.parametrize("capacity", [2, 1, 3])
def test_switch_transformer_matches_reference(capacity: int) -> None:
    template = api.load("switch-transformer")
    for seed in SEEDS:
        problem = generate(template, seed, {"capacity": capacity})
        expected = switch_transformer(givens_of(problem), capacity)
        assert all(unique_max_cols(expected["G"], Fraction(1))), "a tie decides the route"
        assert_same(problem, expected)


def test_switch_transformer_overflows_often_and_never_ties() -> None:
    template = api.load("switch-transformer")
    overflowed = 0
    seeds = range(100)
    for seed in seeds:
        problem = generate(template, seed)
        G = grid(problem.values["G"])
        for t in range(len(G[0])):
            scores = [row[t] for row in G]
            assert scores.count(max(scores)) == 1, f"{problem.variant}: token {t + 1} ties"
        counts = Counter(int(k) for k in problem.values["route"].ravel())
        if max(counts.values()) > 2:  # some expert gets more tokens than its capacity
            overflowed += 1
            Y, Z = grid(problem.values["Y"]), grid(problem.values["Z"])
            assert any(column(Y, t) == column(Z, t) for t in range(len(Z[0])))
    assert 0.3 * len(seeds) <= overflowed


def test_moe_matches_reference() -> None:
    template = api.load("moe")
    for seed in SEEDS:
        problem = generate(template, seed)
        g = givens_of(problem)
        G = grid(problem.values["G"])
        for t in range(2):
            assert G[0][t] != G[1][t], f"{problem.variant}: the gate ties"
        assert_same(problem, moe_ref(g))


def test_self_attention_matches_reference() -> None:
    template = api.load("self-attention")
    for seed in SEEDS:
        problem = generate(template, seed)
        g = givens_of(problem)
        assert_same(problem, attention_ref(g, rounded=True))
        exact = attention_ref(g, rounded=False)
        assert_same(problem, {"A": exact["A"], "Z": exact["Z"]}, exact=True)
        for row in grid(problem.values["D"]):
            assert all(-1 <= d <= 3 for d in row), "3^x stays within 1/3, 1, 3, 9, 27"


# ----------------------------------------------------------------------------- worked by hand


def test_switch_routing_worked_by_hand() -> None:
    """A = I and S = I, so Z = X and G = X. Tokens' top features: 1, 1, 2, 1, 3.
    Capacity 2: tokens 1 and 2 fill expert 1; token 4 (expert 1 again) passes through.
    Expert 1 adds 1 to every feature, expert 2 doubles, expert 3 negates."""
    identity5 = [[int(i == j) for j in range(5)] for i in range(5)]
    identity3 = [[int(i == j) for j in range(3)] for i in range(3)]
    givens = {
        "X": [[3, 2, 0, 4, 1], [1, 0, 5, 1, 0], [0, 1, 1, 2, 6]],
        "A": identity5,
        "S": identity3,
        "E1": identity3,
        "c1": [1, 1, 1],
        "E2": [[2, 0, 0], [0, 2, 0], [0, 0, 2]],
        "c2": [0, 0, 0],
        "E3": [[-1, 0, 0], [0, -1, 0], [0, 0, -1]],
        "c3": [0, 0, 0],
    }
    problem = solve(api.load("switch-transformer"), givens)
    assert problem.values["route"].tolist() == [[1, 1, 2, 1, 3]]
    assert problem.values["Y"].tolist() == [
        [4, 3, 0, 4, -1],
        [2, 1, 10, 1, 0],
        [1, 2, 2, 2, -6],
    ]
    # capacity 3: token 4 now fits in expert 1
    roomy = solve(api.load("switch-transformer"), givens, {"capacity": 3})
    assert roomy.values["Y"][:, 3].tolist() == [5, 2, 3]
    # capacity 1: token 2 already overflows expert 1
    tight = solve(api.load("switch-transformer"), givens, {"capacity": 1})
    assert tight.values["Y"][:, 1].tolist() == [2, 0, 1]


def test_rnn_worked_by_hand() -> None:
    """A = [[1, 0], [1, -1]], B = [1, -1], x = 2, 1, 0, 3, h0 = 0:
    h1 = ReLU(B·2) = ReLU([2, -2]) = [2, 0]
    h2 = ReLU([2, 2 - 0] + [1, -1]) = ReLU([3, 1]) = [3, 1]
    h3 = ReLU([3, 3 - 1] + [0, 0]) = [3, 2]
    h4 = ReLU([3, 3 - 2] + [3, -3]) = ReLU([6, -2]) = [6, 0]
    y_t = [1, 2]·h_t = 2, 5, 7, 6"""
    givens = {"x": [[2, 1, 0, 3]], "A": [[1, 0], [1, -1]], "B": [[1], [-1]], "C": [[1, 2]], "h0": [0, 0]}
    problem = solve(api.load("rnn"), givens)
    assert problem.values["H"].tolist() == [[2, 3, 3, 6], [0, 1, 2, 0]]
    assert problem.values["Y"].tolist() == [[2, 5, 7, 6]]


def test_moe_worked_by_hand() -> None:
    """Token 1 = [1, 2, 0]: gate scores [1, 2] -> expert 2; token 2 = [3, 0, 1]: [3, 0] -> expert 1."""
    givens = {
        "X": [[1, 3], [2, 0], [0, 1]],
        "Wg": [[1, 0, 0], [0, 1, 0]],
        "bg": [0, 0],
        "E1": [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]],
        "c1": [0, 0, 0, -5],
        "E2": [[1, -1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]],
        "c2": [0, 0, 1, 0],
    }
    problem = solve(api.load("moe"), givens)
    assert problem.values["G"].tolist() == [[1, 3], [2, 0]]
    assert problem.values["choice"].tolist() == [[2, 1]]
    # token 1, expert 2: [1 - 2, 2, 0 + 1, 1] = [-1, 2, 1, 1] -> [0, 2, 1, 1]
    # token 2, expert 1: [3, 0, 1, 3 + 0 + 1 - 5] = [3, 0, 1, -1] -> [3, 0, 1, 0]
    assert problem.values["Y"].tolist() == [[0, 3], [2, 0], [1, 1], [1, 0]]


def test_self_attention_scaling_rule_by_hand() -> None:
    """X = I (first four features), so Q = WQ[:, :4], K = WK[:, :4], V = WV[:, :4].
    With K = I3 padded and Q chosen, S = Kᵀ·Q has scores 0..5 and halves to round:
    1/2 -> 1, 3/2 -> 2, 5/2 -> 3 (halves away from zero)."""
    X = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    WK = [[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0]]  # K columns: e1, e2, e3, 0
    WQ = [[1, 0, 2, 0, 0, 0], [3, 0, 0, 0, 0, 0], [0, 5, 4, 0, 0, 0]]  # Q columns: [1,3,0], [0,0,5], [2,0,4], 0
    WV = [[1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]  # V row 1 = [1, 0, 0, 0]
    problem = solve(api.load("self-attention"), {"X": X, "WQ": WQ, "WK": WK, "WV": WV})
    # S[i][j] = k_i · q_j; key 4 is zero
    assert problem.values["S"].tolist() == [[1, 0, 2, 0], [3, 0, 0, 0], [0, 5, 4, 0], [0, 0, 0, 0]]
    assert problem.values["D"].tolist() == [[1, 0, 1, 0], [2, 0, 0, 0], [0, 3, 2, 0], [0, 0, 0, 0]]
    assert problem.values["E"].tolist() == [[3, 1, 3, 1], [9, 1, 1, 1], [1, 27, 9, 1], [1, 1, 1, 1]]
    assert problem.values["Esum"].tolist() == [[14, 30, 14, 4]]
    # column 1: 3/14 = 0.214 -> 0.21, 9/14 = 0.643 -> 0.64, 1/14 = 0.071 -> 0.07
    a = grid(problem.values["A"])
    assert [row[0] for row in a] == [Fraction("0.21"), Fraction("0.64"), Fraction("0.07"), Fraction("0.07")]
    assert [row[3] for row in a] == [Fraction("0.25")] * 4
    # Z row 1 = V row 1 · A = A's first row (rounded chain), exact 3/14, 1/30, 3/14, 1/4
    assert grid(problem.values["Z"])[0] == [Fraction("0.21"), Fraction("0.03"), Fraction("0.21"), Fraction("0.25")]
    assert grid(problem.exact["Z"])[0] == [Fraction(3, 14), Fraction(1, 30), Fraction(3, 14), Fraction(1, 4)]


def test_gan_sigmoid_by_hand() -> None:
    """Every layer keeps only the first feature, so each logit is that feature plus bd2 = -2;
    the probabilities are read off the sigmoid table."""
    givens = {
        "N": [[0, 1, 3, 2], [0, 0, 0, 0]],
        "X": [[5, 0, 1, 2], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        "Wg1": [[1, 0], [0, 1], [0, 0]],
        "bg1": [0, 0, 0],
        "Wg2": [[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]],
        "bg2": [0, 0, 0, 0],
        "Wd1": [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        "bd1": [0, 0, 0],
        "Wd2": [[1, 0, 0]],
        "bd2": -2,
    }
    problem = solve(api.load("gan"), givens)
    # fakes: F row 1 = N row 1 = [0, 1, 3, 2] -> ZF = [-2, -1, 1, 0]
    assert problem.values["ZF"].tolist() == [[-2, -1, 1, 0]]
    # real: ZR = [5, 0, 1, 2] - 2 = [3, -2, -1, 0]
    assert problem.values["ZR"].tolist() == [[3, -2, -1, 0]]
    assert grid(problem.values["PF"]) == [[Fraction(s) for s in ("0.12", "0.27", "0.73", "0.5")]]
    assert grid(problem.values["PR"]) == [[Fraction(s) for s in ("0.95", "0.12", "0.27", "0.5")]]
    # the discriminator's gradient: fakes minus target 0, then real data minus target 1
    dd = ("0.12", "0.27", "0.73", "0.5", "-0.05", "-0.88", "-0.73", "-0.5")
    assert grid(problem.values["dD"]) == [[Fraction(s) for s in dd]]
    assert grid(problem.values["dG"]) == [[Fraction(s) for s in ("-0.88", "-0.73", "-0.27", "-0.5")]]


# ----------------------------------------------------------------------------- the ops themselves


def test_scale_round_halves_away_from_zero() -> None:
    from nnhand.ops.registry import OPS

    scores = np.array([[[-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]]])
    expected = [-3, -2, -2, -1, -1, 0, 1, 1, 2, 2, 3]  # -5/2 -> -3, -3/2 -> -2, -1/2 -> -1
    assert OPS["scale_round"].fn(scores, np.full((1, 1, 1), 2)).tolist() == [[expected]]
    as_fractions = scores.astype(object) * Fraction(1)
    assert OPS["scale_round"].fn(as_fractions, np.full((1, 1, 1), 2)).tolist() == [[expected]]


@pytest.mark.parametrize("batch", [1, 2, 7])
def test_network_ops_treat_each_candidate_alone(batch: int) -> None:
    """A batch of candidates gives what each candidate gives on its own (any batch size)."""
    from nnhand.ops.registry import OPS

    rng = np.random.default_rng(batch)
    A = rng.integers(-1, 2, size=(batch, 2, 2))
    B = rng.integers(-1, 2, size=(batch, 2, 1))
    x = rng.integers(0, 4, size=(batch, 1, 4))
    h0 = np.zeros((1, 2, 1), dtype=np.int64)  # a fixed value: one copy for every candidate
    Z = rng.integers(0, 5, size=(batch, 3, 5))
    route = rng.integers(1, 4, size=(batch, 1, 5))
    experts = []  # E1, c1, E2, c2, E3, c3
    for _ in range(3):
        experts += [rng.integers(-1, 2, size=(batch, 3, 3)), rng.integers(-1, 2, size=(batch, 3, 1))]
    capacity = np.full((1, 1, 1), 2)
    H = OPS["rnn_relu"].fn(A, B, x, h0)
    Y = OPS["switch_experts"].fn(Z, route, capacity, *experts)
    assert H.shape == (batch, 2, 4) and Y.shape == (batch, 3, 5)
    for b in range(batch):
        one = slice(b, b + 1)
        g = {"A": grid(A[b]), "B": grid(B[b]), "C": [[Fraction(0), Fraction(0)]], "x": grid(x[b]), "h0": [[0], [0]]}
        assert grid(H[b]) == rnn_ref(g)["H"]
        single = OPS["switch_experts"].fn(Z[one], route[one], capacity, *[e[one] for e in experts])
        assert np.array_equal(single[0], Y[b])


# ----------------------------------------------------------------------------- backprop: softmax and step 11


def test_backprop_gradients_and_update_against_torch(torch: Any) -> None:
    """The default backprop sheet against PyTorch: y_hat = softmax(z3·ln 3) (3^z / Σ 3^z), the
    gradients by autograd of the cross-entropy, and step 11 (W ← W - 0.1·dW) by one
    torch.optim.SGD step from the sheet's rounded gradients."""
    ln3 = math.log(3)
    for seed in range(30):
        p = generate(api.load("backprop"), seed)
        g = givens_of(p)
        leaves = {n: t64(torch, g[n], grad=True) for n in ("W1", "b1", "W2", "b2", "W3", "b3")}
        x = t64(torch, g["x"])
        a1 = torch.relu(leaves["W1"] @ x + leaves["b1"])
        a2 = torch.relu(leaves["W2"] @ a1 + leaves["b2"])
        z3 = leaves["W3"] @ a2 + leaves["b3"]
        # 3^x in place of e^x: softmax of z·ln 3; the sheet's dz3 = y_hat - y is the gradient
        # with respect to z·ln 3, so autograd's gradients are ln 3 times the sheet's.
        y_hat = torch.softmax(z3[:, 0] * ln3, dim=0)
        close(p, "y_hat", y_hat, tol=1e-6)  # the exact chain clips gaps beyond 20 (3^-20 < 1e-9)
        target = int(np.argmax(np.array(grid(p.givens["y_target"]), dtype=float).ravel()))
        loss = torch.nn.functional.cross_entropy((z3[:, 0] * ln3)[None, :], torch.tensor([target]))
        loss.backward()
        for n, leaf in leaves.items():
            close(p, f"d{n}", leaf.grad / ln3, tol=1e-6)
        # Step 11 from the sheet's (rounded) gradients: one plain SGD step with lr = 0.1.
        params = {n: t64(torch, g[n], grad=True) for n in leaves}
        sgd = torch.optim.SGD(list(params.values()), lr=0.1)
        for n, param in params.items():
            param.grad = t64(torch, grid(p.values[f"d{n}"]))
        sgd.step()
        for n, param in params.items():
            close(p, f"{n}_new", param, chain="values")


def test_backprop_update_worked_by_hand() -> None:
    """Seed 3, z3 = [-5, 2, 0]: shifted by the largest, 3^-7, 3^0, 3^-2 over their sum
    1/2187 + 1 + 1/9 = 2431/2187 gives y_hat = [.0004, .8996, .0999...] -> [0, .9, .1] in
    tenths (summing to 1); y_target = [1, 0, 0], so dz3 = [-1, .9, .1], and b3 = [0, -3, 5]
    moves to b3 - 0.1·dz3 = [.1, -3.09, 4.99]."""
    p = generate(api.load("backprop"), 3)
    g = givens_of(p)
    z3 = [row[0] for row in grid(p.values["z3"])]
    assert z3 == [-5, 2, 0]
    # 3^(z - 2) = 3^-7, 3^0, 3^-2; the sum 1/2187 + 1 + 1/9 = 2431/2187
    assert [round_half_away(Fraction(3) ** (z - 2) / Fraction(2431, 2187), 1) for z in z3] == [
        0,
        Fraction(9, 10),
        Fraction(1, 10),
    ]
    assert [row[0] for row in grid(p.values["y_hat"])] == [0, Fraction(9, 10), Fraction(1, 10)]
    assert [row[0] for row in g["y_target"]] == [1, 0, 0] and [row[0] for row in g["b3"]] == [0, -3, 5]
    assert [row[0] for row in grid(p.values["dz3"])] == [-1, Fraction(9, 10), Fraction(1, 10)]
    expected = [[Fraction(1, 10)], [Fraction(-309, 100)], [Fraction(499, 100)]]
    assert grid(p.values["b3_new"]) == expected
