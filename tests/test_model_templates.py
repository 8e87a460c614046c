"""The model templates of the wider "AI by Hand" collection against independent references:
gcn ("Graph Convolution Network (GCN)"), clip ("CLIP"), rlhf-reward ("Reinforcement Learning
with Human Feedback (RLHF)", its reward model), vae ("Variational Autoencoder (VAE)") and
mamba-step ("Mamba's S6 Model").

For every template and many seeds (at the defaults and at each param's min and max) the key is
recomputed by a naive loop over lists of exact numbers, written from the exercise's
description (an edge list read edge by edge, neighbours summed one by one, a scan stepped one
time step after another), with the printed tables (sigmoid, ln) where the sheet uses them; and
by PyTorch in float64 against the exact chain: matrix products, F.cross_entropy on the logits
S·ln 3 (a base-3 softmax of S is the e-softmax of S·ln 3) with autograd for P − Y,
F.logsigmoid with autograd for the reward model's gradients, torch.distributions'
kl_divergence for the VAE, and a hand-written scan for Mamba. Then the slips the diagnosis
names: a self-loop left out, S transposed, the gap's sign, σ² for σ, the previous state skipped.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from nnhand import api
from nnhand.core.engine import Problem, generate
from nnhand.core.keys import key_data
from nnhand.core.sheet import make_sheet
from nnhand.errors import EvaluationError, ValueRangeError
from nnhand.grading.answers import answer_file_data
from nnhand.grading.grade import grade_data
from nnhand.ops import models as M

from .checking import close, same, t64
from .reference import Matrix, givens_of, grid, round_half_away

SEEDS = range(30)
TORCH_SEEDS = range(0, 60, 3)
LN3 = math.log(3)

# The tables the sheets print.
SIGMOID_TABLE = {-3: "0.05", -2: "0.12", -1: "0.27", 0: "0.5", 1: "0.73", 2: "0.88", 3: "0.95"}
MINUS_LN_TABLE = {
    "0.05": "3",
    "0.12": "2.12",
    "0.27": "1.31",
    "0.5": "0.69",
    "0.73": "0.31",
    "0.88": "0.13",
    "0.95": "0.05",
}
LN_VARIANCE = {1: Fraction(0), 4: Fraction("1.39")}  # the VAE's ln table: ln σ² for σ = 1, 2

# Each template at its defaults and at every param's min and max (the others at defaults).
SIZES = {
    "gcn": [{}, {"nodes": 4}, {"features": 2}, {"hidden": 3}],
    "clip": [{}, {"n": 4}, {"d": 3}, {"d": 5}],
    "rlhf-reward": [{}, {"pairs": 1}, {"pairs": 4}, {"d": 5}],
    "vae": [{}, {"inputs": 3}, {"inputs": 5}, {"latent": 3}],
    "mamba-step": [{}, {"length": 3}, {"d": 2}, {"state": 3}],
}


def solved(template_id: str, seeds: range = SEEDS) -> list[Problem]:
    """Instances at the defaults for every seed, and at each min and max size for half of them."""
    template = api.load(template_id)
    out = [generate(template, seed) for seed in seeds]
    for params in SIZES[template_id][1:]:
        out += [generate(template, seed, params) for seed in seeds[: max(len(seeds) // 2, 6)]]
    return out


# ----------------------------------------------------------------------------- naive helpers


def matmul(a: Matrix, b: Matrix) -> Matrix:
    return [
        [sum((a[i][k] * b[k][j] for k in range(len(b))), Fraction(0)) for j in range(len(b[0]))] for i in range(len(a))
    ]


def plus_col(m: Matrix, col: Matrix) -> Matrix:
    return [[v + col[i][0] for v in row] for i, row in enumerate(m)]


def argmax_1based(values: list[Any]) -> int:
    best = max(values)
    assert values.count(best) == 1, values  # the sheets never tie
    return values.index(best) + 1


def col(m: Matrix) -> list[Any]:
    return [row[0] for row in m]


# ----------------------------------------------------------------------------- GCN


def naive_gcn(g: dict[str, Matrix], nodes: int) -> dict[str, Matrix]:
    A = [[Fraction(0)] * nodes for _ in range(nodes)]
    for u, v in zip(g["edges"][0], g["edges"][1]):  # edge by edge: both directions
        A[int(u) - 1][int(v) - 1] = Fraction(1)
        A[int(v) - 1][int(u) - 1] = Fraction(1)
    Ahat = [[A[i][j] + (1 if i == j else 0) for j in range(nodes)] for i in range(nodes)]
    X = g["X"]
    neighbours = [[k for k in range(nodes) if A[k][j] == 1] for j in range(nodes)]
    Msum = [[X[i][j] + sum((X[i][k] for k in neighbours[j]), Fraction(0)) for j in range(nodes)] for i in range(len(X))]
    Z = plus_col(matmul(g["W"], Msum), g["b"])
    H = [[max(v, Fraction(0)) for v in row] for row in Z]
    return {"A": A, "Ahat": Ahat, "M": Msum, "Z": Z, "H": H}


def test_gcn_naive() -> None:
    for p in solved("gcn"):
        g, n = givens_of(p), p.params["nodes"]
        want = naive_gcn(g, n)
        same(p, want)
        A = want["A"]
        assert all(A[i][j] == A[j][i] for i in range(n) for j in range(n)) and all(A[i][i] == 0 for i in range(n))
        assert all(sum(row) > 0 for row in A), f"{p.variant}: an isolated node"
        edges = {(int(u), int(v)) for u, v in zip(g["edges"][0], g["edges"][1])}
        assert len(edges) == n and all(u < v <= n for u, v in edges), p.variant
        assert len({tuple(c) for c in zip(*want["M"])}) == n, f"{p.variant}: two nodes aggregate alike"
        Z = want["Z"]
        assert any(v < 0 for row in Z for v in row) and any(v > 0 for row in Z for v in row)


def test_gcn_torch(torch: Any) -> None:
    for p in solved("gcn", TORCH_SEEDS):
        g, n = givens_of(p), p.params["nodes"]
        edges = torch.tensor([[int(v) - 1 for v in row] for row in g["edges"]])
        A = torch.zeros(n, n, dtype=torch.float64)
        A[edges[0], edges[1]] = 1.0
        A[edges[1], edges[0]] = 1.0
        Ahat = A + torch.eye(n, dtype=torch.float64)
        Mt = t64(torch, g["X"]) @ Ahat
        Z = t64(torch, g["W"]) @ Mt + t64(torch, g["b"])
        for name, tensor in {"A": A, "Ahat": Ahat, "M": Mt, "Z": Z, "H": torch.relu(Z)}.items():
            close(p, name, tensor)


# ----------------------------------------------------------------------------- CLIP


def test_clip_naive() -> None:
    for p in solved("clip"):
        g = givens_of(p)
        img, txt = g["I"], g["T"]
        n, d = len(img[0]), len(img)
        S = [[sum((img[k][i] * txt[k][j] for k in range(d)), Fraction(0)) for j in range(n)] for i in range(n)]
        P_exact = [
            [Fraction(3) ** int(S[i][j]) / sum(Fraction(3) ** int(v) for v in S[i]) for j in range(n)] for i in range(n)
        ]
        P = [[round_half_away(v, 2) for v in row] for row in P_exact]
        best_text = [argmax_1based(S[i]) for i in range(n)]
        best_image = [argmax_1based([S[i][j] for i in range(n)]) for j in range(n)]
        same(
            p,
            {
                "S": S,
                "best_text": [best_text],
                "best_image": [best_image],
                "P": P,
                "p": [[P[i][i]] for i in range(n)],
                "dS": [[P[i][j] - (1 if i == j else 0) for j in range(n)] for i in range(n)],
            },
        )
        right = sum(best_text[i] == i + 1 for i in range(n))
        assert 1 <= right < n, f"{p.variant}: the model matches every pair, or none"
        assert all(-1 <= v <= 3 for row in S for v in row)


def test_clip_torch_cross_entropy_and_its_gradient(torch: Any) -> None:
    functional = torch.nn.functional
    for p in solved("clip", TORCH_SEEDS):
        g = givens_of(p)
        S = t64(torch, g["I"]).T @ t64(torch, g["T"])  # logits_per_image, as CLIP's code writes it
        close(p, "S", S)
        logits = (S * LN3).detach().requires_grad_(True)  # 3^S = e^(S·ln 3)
        n = S.shape[0]
        loss = functional.cross_entropy(logits, torch.arange(n), reduction="sum")
        loss.backward()
        close(p, "P", torch.softmax(logits, dim=1))
        close(p, "dS", logits.grad)  # ∂ℓ/∂logits = P − Y, exactly
        close(p, "p", torch.softmax(logits, dim=1).diagonal())
        assert torch.argmax(S, dim=1).add(1).tolist() == [int(v) for v in grid(p.values["best_text"])[0]]
        assert torch.argmax(S, dim=0).add(1).tolist() == [int(v) for v in grid(p.values["best_image"])[0]]


# ----------------------------------------------------------------------------- RLHF reward model


def reward(w: list[Any], b: Any, X: Matrix, k: int) -> Fraction:
    """The linear reward head on answer k: w·x_k + b."""
    return sum((w[i] * X[i][k] for i in range(len(w))), Fraction(0)) + b


def test_rlhf_naive_with_the_printed_tables() -> None:
    for p in solved("rlhf-reward"):
        g = givens_of(p)
        w, b = g["w"][0], g["b"][0][0]
        Xc, Xr = g["Xc"], g["Xr"]
        m = len(Xc[0])

        rc = [reward(w, b, Xc, k) for k in range(m)]
        rr = [reward(w, b, Xr, k) for k in range(m)]
        gap = [rc[k] - rr[k] for k in range(m)]
        s = [Fraction(SIGMOID_TABLE[int(v)]) for v in gap]
        loss = [Fraction(MINUS_LN_TABLE[SIGMOID_TABLE[int(v)]]) for v in gap]
        dg = [v - 1 for v in s]
        dw = [sum((dg[k] * (Xc[i][k] - Xr[i][k]) for k in range(m)), Fraction(0)) for i in range(len(w))]
        want = {"rc": [rc], "rr": [rr], "g": [gap], "s": [s], "l": [loss], "dg": [dg], "dw": [dw]}
        if m > 1:
            want["L"] = [[sum(loss, Fraction(0))]]
        same(p, want)
        assert any(v > 0 for v in gap) and (m == 1 or any(v < 0 for v in gap)), p.variant


def test_rlhf_torch_logsigmoid_and_autograd(torch: Any) -> None:
    functional = torch.nn.functional
    for p in solved("rlhf-reward", TORCH_SEEDS):
        g = givens_of(p)
        w = t64(torch, g["w"], grad=True)
        b = t64(torch, g["b"], grad=True)
        rc, rr = w @ t64(torch, g["Xc"]) + b, w @ t64(torch, g["Xr"]) + b
        gap = rc - rr
        losses = -functional.logsigmoid(gap)
        gap.retain_grad()
        losses.sum().backward()
        close(p, "rc", rc)
        close(p, "rr", rr)
        close(p, "g", gap)
        close(p, "s", torch.sigmoid(gap))
        close(p, "l", losses)
        close(p, "dg", gap.grad)  # ∂ℓ/∂gap = σ(gap) − 1
        close(p, "dw", w.grad)  # through the exact chain: Σ (σ(gap_k) − 1)(xc_k − xr_k)
        assert b.grad is not None and float(b.grad.abs().sum()) == 0.0  # the bias cancels in the gap
        if "L" in p.exact:
            close(p, "L", losses.sum())


# ----------------------------------------------------------------------------- VAE


def test_vae_naive_with_the_printed_ln_table() -> None:
    for p in solved("vae"):
        g = givens_of(p)
        x, eps = col(g["x"]), col(g["eps"])
        mu = [sum((g["Wm"][i][k] * x[k] for k in range(len(x))), Fraction(0)) + g["bm"][i][0] for i in range(len(eps))]
        sigma = [
            sum((g["Ws"][i][k] * x[k] for k in range(len(x))), Fraction(0)) + g["bs"][i][0] for i in range(len(eps))
        ]
        z = [mu[i] + sigma[i] * eps[i] for i in range(len(eps))]
        xhat = [sum((g["Wd"][i][k] * z[k] for k in range(len(z))), Fraction(0)) + g["bd"][i][0] for i in range(len(x))]
        e = [xhat[i] - x[i] for i in range(len(x))]
        rec = sum((v * v for v in e), Fraction(0))
        # the table's ln σ² (ln 4 ≈ 1.39) gives the same one-decimal KL as the exact logarithm
        kl = [round_half_away((m * m + s * s - LN_VARIANCE[int(s * s)] - 1) / 2, 1) for m, s in zip(mu, sigma)]
        exact_kl = [
            round_half_away(Fraction((float(m) ** 2 + float(s) ** 2 - math.log(float(s) ** 2) - 1) / 2), 1)
            for m, s in zip(mu, sigma)
        ]
        assert kl == exact_kl, p.variant
        KL = sum(kl, Fraction(0))
        want = {"mu": mu, "sigma": sigma, "z": z, "xhat": xhat, "e": e, "kl": kl}
        same(p, {k: [[v] for v in vs] for k, vs in want.items()})
        same(p, {"rec": [[rec]], "KL": [[KL]], "L": [[rec + KL]]})
        assert set(sigma) <= {1, 2} and 2 in sigma, p.variant


def test_vae_torch_distributions(torch: Any) -> None:
    from torch.distributions import Normal, kl_divergence

    for p in solved("vae", TORCH_SEEDS):
        g = givens_of(p)
        x = t64(torch, g["x"])
        mu = (t64(torch, g["Wm"]) @ x + t64(torch, g["bm"])).detach().requires_grad_(True)
        sigma = (t64(torch, g["Ws"]) @ x + t64(torch, g["bs"])).detach().requires_grad_(True)
        z = mu + sigma * t64(torch, g["eps"])  # the reparameterisation: a sample with gradients
        xhat = t64(torch, g["Wd"]) @ z + t64(torch, g["bd"])
        kl = kl_divergence(Normal(mu, sigma), Normal(torch.zeros_like(mu), torch.ones_like(sigma)))
        for name, tensor in {"mu": mu, "sigma": sigma, "z": z, "xhat": xhat, "e": xhat - x, "kl": kl}.items():
            close(p, name, tensor)
        close(p, "rec", ((xhat - x) ** 2).sum())
        close(p, "KL", kl.sum())
        kl.sum().backward()  # the closed form's gradients: ∂KL/∂μ = μ, ∂KL/∂σ = σ − 1/σ
        assert torch.allclose(mu.grad, mu.detach()) and torch.allclose(sigma.grad, sigma.detach() - 1 / sigma.detach())


# ----------------------------------------------------------------------------- Mamba


def naive_scan(g: dict[str, Matrix]) -> dict[str, Matrix]:
    X = g["X"]
    B = matmul(g["WB"], X)
    C = matmul(g["WC"], X)
    a, h = col(g["a"]), col(g["h0"])
    states = []
    for t in range(len(X[0])):  # one time step after another
        h = [a[i] * h[i] + B[i][t] * X[0][t] for i in range(len(h))]
        states.append(h)
    H = [[states[t][i] for t in range(len(states))] for i in range(len(a))]
    y = [sum((C[i][t] * H[i][t] for i in range(len(a))), Fraction(0)) for t in range(len(states))]
    return {"B": B, "C": C, "H": H, "y": [y]}


def test_mamba_naive() -> None:
    for p in solved("mamba-step"):
        want = naive_scan(givens_of(p))
        same(p, want)
        assert all((4 * v).denominator == 1 for row in want["H"] + want["y"] for v in row), p.variant
        skipped = [
            [want["B"][i][t] * givens_of(p)["X"][0][t] for t in range(len(want["B"][0]))] for i in range(len(want["B"]))
        ]
        assert skipped != want["H"], f"{p.variant}: the previous state never matters"


def test_mamba_torch_scan(torch: Any) -> None:
    for p in solved("mamba-step", TORCH_SEEDS):
        g = givens_of(p)
        X = t64(torch, g["X"])
        B, C = t64(torch, g["WB"]) @ X, t64(torch, g["WC"]) @ X
        Abar = torch.diag(t64(torch, g["a"]).reshape(-1))  # the discretised, diagonal Ā
        h = t64(torch, g["h0"])
        states, outputs = [], []
        for t in range(X.shape[1]):
            h = Abar @ h + B[:, t : t + 1] * X[0, t]
            states.append(h)
            outputs.append(C[:, t : t + 1].T @ h)
        for name, tensor in {"B": B, "C": C, "H": torch.cat(states, dim=1), "y": torch.cat(outputs, dim=1)}.items():
            close(p, name, tensor)


# ----------------------------------------------------------------------------- ops on a batch


def test_model_ops_work_on_a_batch_like_a_loop() -> None:
    rng = np.random.default_rng(3)
    src = np.array([[[1, 2, 3, 1]], [[1, 1, 2, 3]]])
    dst = np.array([[[2, 3, 4, 4]], [[2, 3, 4, 4]]])
    A = M.adjacency(src, dst, 4)
    for b in range(2):
        want = [[0] * 4 for _ in range(4)]
        for u, v in zip(src[b, 0].tolist(), dst[b, 0].tolist()):
            want[u - 1][v - 1] = want[v - 1][u - 1] = 1
        assert A[b].tolist() == want
    X = rng.integers(-2, 4, size=(2, 3, 4))
    sums = M.neighbour_sum(X, M.self_loops(A))
    for b in range(2):
        x, a = X[b].tolist(), A[b].tolist()
        assert sums[b].tolist() == [
            [x[i][j] + sum(x[i][k] for k in range(4) if a[k][j]) for j in range(4)] for i in range(3)
        ]
    S = rng.integers(-1, 3, size=(3, 3, 3))
    P = M.softmax_rows(S)
    for b in range(3):
        s = S[b].tolist()
        assert [[Fraction(v) for v in row] for row in P[b].tolist()] == [
            [Fraction(3) ** s[i][j] / sum(Fraction(3) ** v for v in s[i]) for j in range(3)] for i in range(3)
        ]
        assert M.diagonal(S)[b].ravel().tolist() == [s[i][i] for i in range(3)]
    img, txt = rng.integers(0, 2, size=(2, 3, 3)), rng.integers(0, 2, size=(2, 3, 3))
    for b in range(2):
        assert M.similarity(img, txt)[b].tolist() == [
            [sum(img[b][k][i] * txt[b][k][j] for k in range(3)) for j in range(3)] for i in range(3)
        ]
    a = np.array([[[Fraction(1, 2)], [Fraction(1)]]] * 2, dtype=object)
    Bt, x = rng.integers(-2, 3, size=(2, 2, 4)), rng.integers(0, 3, size=(2, 1, 4))
    H = M.ssm_scan(a, Bt, x, np.zeros((1, 2, 1), dtype=np.int64))
    for b in range(2):
        h, cols = [Fraction(0), Fraction(0)], []
        for t in range(4):
            h = [a[b][i][0] * h[i] + int(Bt[b][i][t]) * int(x[b][0][t]) for i in range(2)]
            cols.append(h)
        assert [[Fraction(v) for v in row] for row in H[b].tolist()] == [
            [cols[t][i] for t in range(4)] for i in range(2)
        ]
        y = M.coldot(Bt, H)[b].tolist()[0]
        assert [Fraction(v) for v in y] == [sum(int(Bt[b][i][t]) * cols[t][i] for i in range(2)) for t in range(4)]
    mu, sigma = np.array([[[1], [-2]], [[0], [3]]]), np.array([[[2], [1]], [[1], [2]]])
    kl = M.kl_normal(mu, sigma)
    for b in range(2):
        for i in range(2):
            m, s = int(mu[b][i][0]), int(sigma[b][i][0])
            assert math.isclose(kl[b][i][0], (m * m + s * s - math.log(s * s) - 1) / 2, abs_tol=1e-12)
    eps = np.array([[[Fraction(-1, 2)], [Fraction(1)]]], dtype=object)
    z = M.reparameterize(mu, sigma, eps)
    assert [[Fraction(v) for v in row[:, 0].tolist()] for row in z] == [[0, -1], [Fraction(-1, 2), 5]]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: M.adjacency(np.array([[[1, 5]]]), np.array([[[2, 3]]]), 4), "1 to 4"),
        (
            lambda: M.neighbour_sum(np.zeros((1, 2, 3), dtype=np.int64), np.zeros((1, 4, 4), dtype=np.int64)),
            "one column per node",
        ),
        (
            lambda: M.similarity(np.zeros((1, 2, 3), dtype=np.int64), np.zeros((1, 3, 3), dtype=np.int64)),
            "differ in length",
        ),
        (lambda: M.diagonal(np.zeros((1, 2, 3), dtype=np.int64)), "square"),
        (
            lambda: M.ssm_scan(
                np.ones((1, 3, 1), dtype=np.int64),
                np.ones((1, 2, 4), dtype=np.int64),
                np.ones((1, 1, 4), dtype=np.int64),
                np.zeros((1, 2, 1), dtype=np.int64),
            ),
            "diagonal of Ā",
        ),
        (lambda: M.coldot(np.ones((1, 2, 3), dtype=np.int64), np.ones((1, 2, 4), dtype=np.int64)), "one shape"),
    ],
)
def test_model_ops_refuse_what_does_not_fit(call: Any, message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        call()


def test_kl_refuses_a_standard_deviation_that_is_not_positive() -> None:
    with pytest.raises(ValueRangeError, match="above 0"):
        M.kl_normal(np.zeros((1, 2, 1), dtype=np.int64), np.array([[[1], [0]]]))


# ----------------------------------------------------------------------------- slips


def key_answers(template_id: str, seed: int) -> tuple[dict[str, Any], Problem]:
    problem = generate(api.load(template_id), seed)
    data = answer_file_data(make_sheet(problem, "all"))
    key = key_data(problem)
    data["answers"] = {name: key["answers"][name] for name in data["answers"]}
    return data, problem


def diagnosis(data: dict[str, Any], name: str, values: Any) -> str:
    data = {**data, "answers": {**data["answers"], name: values}}
    report = grade_data(data, "answers.yaml")[0]
    found = next(s for s in report.steps if s.name == name)
    assert found.status == "wrong", found.status
    return " ".join(found.diagnosis)


def written(m: Matrix | list[Any]) -> Any:
    def one(v: Any) -> str:
        return str(Fraction(v)) if Fraction(v).denominator == 1 else f"{float(v):g}"

    return [[one(v) for v in row] for row in m] if isinstance(m[0], list) else [one(v) for v in m]


def test_gcn_self_loop_left_out_is_named() -> None:
    data, p = key_answers("gcn", 4)
    g = givens_of(p)
    without = matmul(g["X"], naive_gcn(g, p.params["nodes"])["A"])  # X·A: no node keeps its own features
    assert "left out the self-loops" in diagnosis(data, "M", written(without))
    assert "left out the self-loops" in diagnosis(data, "Ahat", written(naive_gcn(g, p.params["nodes"])["A"]))
    A, X = naive_gcn(g, p.params["nodes"])["A"], g["X"]
    i, j, k = next(
        (i, j, k) for i in range(len(X)) for j in range(len(A)) for k in range(len(A)) if A[k][j] and X[i][k]
    )
    one = [row[:] for row in grid(p.values["M"])]
    one[i][j] -= X[i][k]  # one neighbour's feature left out of one cell
    assert f"M[{i + 1},{j + 1}]: the feature of neighbour {k + 1}" in diagnosis(data, "M", written(one))
    one[i][j] += X[i][k] - X[i][j] if X[i][j] else 0  # the node's own feature left out instead
    if X[i][j]:
        assert "left out the self-loops" in diagnosis(data, "M", written(one))


def test_clip_transposed_similarity_is_named() -> None:
    for seed in range(20):
        data, p = key_answers("clip", seed)
        S = grid(p.values["S"])
        if any(S[i][j] != S[j][i] for i in range(len(S)) for j in range(len(S))):
            break
    swapped = [list(r) for r in zip(*S)]
    assert "swapped images and texts" in diagnosis(data, "S", written(swapped))


def test_rlhf_sign_of_the_gap_is_named() -> None:
    data, p = key_answers("rlhf-reward", 1)
    flipped = [[-v for v in grid(p.values["g"])[0]]]
    assert "wrong sign" in diagnosis(data, "g", written(flipped)[0])


def test_vae_variance_for_standard_deviation_is_named() -> None:
    data, p = key_answers("vae", 0)  # every sheet has a σ of 2, where σ² differs from σ
    mu, sigma, eps = col(grid(p.values["mu"])), col(grid(p.values["sigma"])), col(givens_of(p)["eps"])
    variance = [m + s * s * e for m, s, e in zip(mu, sigma, eps)]
    assert variance != col(grid(p.values["z"]))
    assert "σ² (the variance)" in diagnosis(data, "z", written(variance))
    kl_sigma = [
        round_half_away(Fraction((float(m) ** 2 + float(s) - math.log(float(s)) - 1) / 2), 1) for m, s in zip(mu, sigma)
    ]
    assert "σ where σ² is meant" in diagnosis(data, "kl", written(kl_sigma))


def test_mamba_skipped_state_is_named() -> None:
    data, p = key_answers("mamba-step", 2)
    g, want = givens_of(p), naive_scan(givens_of(p))
    skipped = [[want["B"][i][t] * g["X"][0][t] for t in range(len(want["B"][0]))] for i in range(len(want["B"]))]
    assert "skipped the previous state" in diagnosis(data, "H", written(skipped))
    H = [row[:] for row in want["H"]]
    t = next(t for t in range(1, len(H[0])) if H[0][t] != skipped[0][t])
    H[0][t] = skipped[0][t]  # one cell without its previous state is the same slip
    assert "skipped the previous state" in diagnosis(data, "H", written(H))


def test_clip_softmax_down_the_columns_is_named() -> None:
    data, p = key_answers("clip", 3)
    S = grid(p.values["S"])
    n = len(S)
    columns = [
        [
            round_half_away(Fraction(3) ** int(S[i][j]) / sum(Fraction(3) ** int(S[k][j]) for k in range(n)), 2)
            for j in range(n)
        ]
        for i in range(n)
    ]
    assert columns != grid(p.values["P"])
    assert "normalised down the columns" in diagnosis(data, "P", written(columns))
