"""The network templates of the seeds (autoencoder, RNN, transformer, GAN, switch
transformer, self-attention, mixture of experts) against independent references.

Each reference is a naive loop over plain Python lists (no nnhand op, no NumPy maths),
written from the exercise's description; it is compared with what the engine generates
over many seeds. Hand-worked cases pin the rules a person applies on paper (routing with
capacity, the recurrence, the scaling rule, the sigmoid table).
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from nnhand import api
from nnhand.core.engine import Problem, generate, solve

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
    return {"H1": h1, "H2": h2, "H3": h3, "Y": y, "dY": dy}


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
