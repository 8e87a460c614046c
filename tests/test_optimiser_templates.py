"""The optimiser templates against independent references: momentum (SGD with momentum, the
seed lecture notes' "Gradient Descent algos", seed 003) and adam (Tom Yeh's "AI by Hand"
"Adam" exercise, the first step) and rmsprop (its first step, from s0 = 0).

For many seeds, at the defaults and at each param's min and max, the key is recomputed by a
naive loop over Fractions written from the update rules (v ← μv + g, w ← w − ηv; m, v moving
averages, bias correction, w ← w − η·m̂/√v̂), and by torch.optim.SGD(momentum=μ, dampening=0)
and torch.optim.Adam(eps=1e-30) in float64 with p.grad set by hand to the given gradients,
compared with the exact chain.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from nnhand import api
from nnhand.core.engine import Problem, generate

SEEDS = range(30)
SIZES = {"momentum": [{"n": 2}, {"n": 6}], "adam": [{"n": 2}, {"n": 6}], "rmsprop": [{"n": 2}, {"n": 6}]}


def solved(template_id: str) -> list[Problem]:
    template = api.load(template_id)
    out = [generate(template, seed) for seed in SEEDS]
    for params in SIZES[template_id]:
        out += [generate(template, seed, params) for seed in range(15)]
    return out


def vec(arr: Any) -> list[Fraction]:
    return [Fraction(v) for v in np.ravel(np.asarray(arr, dtype=object)).tolist()]


def floats(arr: Any) -> list[float]:
    return [float(v) for v in np.ravel(np.asarray(arr, dtype=object)).tolist()]


def test_momentum_matches_a_naive_loop() -> None:
    for p in solved("momentum"):
        mu, eta = Fraction(1, 10) * 9, Fraction(1, 10)
        assert vec(p.givens["mu"]) == [mu] and vec(p.givens["eta"]) == [eta]
        w = vec(p.givens["w"])
        v = [Fraction(0)] * len(w)
        history = []
        for g in (vec(p.givens["g1"]), vec(p.givens["g2"])):
            v = [mu * vi + gi for vi, gi in zip(v, g, strict=True)]
            w = [wi - eta * vi for wi, vi in zip(w, v, strict=True)]
            history.append((list(v), list(w)))
        assert vec(p.values["w1"]) == history[0][1], p.variant
        assert vec(p.values["v2"]) == history[1][0], p.variant
        assert vec(p.values["w2"]) == history[1][1], p.variant
        # exact as promised: v at most one decimal, w at most two
        assert all((x * 10).denominator == 1 for x in history[1][0])
        assert all((x * 100).denominator == 1 for _, ws in history for x in ws)


def test_momentum_matches_torch_sgd(torch: Any) -> None:
    for p in solved("momentum")[::3]:
        w = torch.tensor(floats(p.givens["w"]), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, dampening=0)
        for name, step in (("g1", "w1"), ("g2", "w2")):
            w.grad = torch.tensor(floats(p.givens[name]), dtype=torch.float64)
            opt.step()
            assert np.allclose(floats(p.exact[step]), w.detach().numpy(), rtol=0, atol=1e-9), p.variant
        buf = opt.state[w]["momentum_buffer"]
        assert np.allclose(floats(p.exact["v2"]), buf.numpy(), rtol=0, atol=1e-9), p.variant


def test_momentum_wrong_sign_would_differ() -> None:
    # The slip "w + η·v" gives another answer on every sheet (the gradient is never all zero).
    for p in solved("momentum"):
        w, g1 = vec(p.givens["w"]), vec(p.givens["g1"])
        wrong = [wi + Fraction(1, 10) * gi for wi, gi in zip(w, g1, strict=True)]
        assert wrong != vec(p.values["w1"])


def test_adam_matches_a_naive_loop() -> None:
    for p in solved("adam"):
        b1, b2, eta = Fraction(9, 10), Fraction(96, 100), Fraction(1, 10)
        assert vec(p.givens["beta1"]) == [b1] and vec(p.givens["beta2"]) == [b2]
        w, g = vec(p.givens["w"]), vec(p.givens["g"])
        m = [(1 - b1) * gi for gi in g]
        v = [(1 - b2) * gi * gi for gi in g]
        m_hat = [mi / (1 - b1) for mi in m]
        v_hat = [vi / (1 - b2) for vi in v]
        new = []
        for wi, mh, vh in zip(w, m_hat, v_hat, strict=True):
            root = Fraction(int(vh.numerator**0.5), 1)
            assert root * root == vh and vh.denominator == 1
            new.append(wi - eta * mh / root)
        assert vec(p.values["m"]) == m and vec(p.values["v"]) == v, p.variant
        assert vec(p.values["m_hat"]) == g and vec(p.values["v_hat"]) == [gi * gi for gi in g]
        assert vec(p.values["w_new"]) == new, p.variant
        # the hand observation: the first step is η against the gradient's sign
        assert new == [wi - eta * (1 if gi > 0 else -1) for wi, gi in zip(w, g, strict=True)]


def test_adam_matches_torch_adam(torch: Any) -> None:
    for p in solved("adam")[::3]:
        w = torch.tensor(floats(p.givens["w"]), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([w], lr=0.1, betas=(0.9, 0.96), eps=1e-30)
        w.grad = torch.tensor(floats(p.givens["g"]), dtype=torch.float64)
        opt.step()
        state = opt.state[w]
        assert np.allclose(floats(p.exact["m"]), state["exp_avg"].numpy(), rtol=0, atol=1e-12)
        assert np.allclose(floats(p.exact["v"]), state["exp_avg_sq"].numpy(), rtol=0, atol=1e-12)
        assert np.allclose(floats(p.exact["w_new"]), w.detach().numpy(), rtol=0, atol=1e-9), p.variant


def test_adam_without_bias_correction_is_a_different_answer() -> None:
    # Adam without bias correction moves w by η·(0.1 g)/√(0.04 g²) = 0.5·η, not η.
    for p in solved("adam"):
        w, g = floats(p.givens["w"]), floats(p.givens["g"])
        slip = [wi - 0.1 * (0.1 * gi) / (0.04 * gi * gi) ** 0.5 for wi, gi in zip(w, g, strict=True)]
        assert not np.allclose(slip, floats(p.values["w_new"]))


def test_rmsprop_matches_a_naive_loop() -> None:
    for p in solved("rmsprop"):
        rho, eta = Fraction(3, 4), Fraction(1, 10)
        assert vec(p.givens["rho"]) == [rho] and vec(p.givens["eta"]) == [eta]
        w, g = vec(p.givens["w"]), vec(p.givens["g"])
        s = [rho * 0 + (1 - rho) * gi * gi for gi in g]
        root = []
        for si in s:  # the square root by search: s is a whole square on every sheet
            r = next(Fraction(k, 2) for k in range(0, 200) if Fraction(k, 2) ** 2 == si)
            root.append(r)
        w_new = [wi - eta * gi / ri for wi, gi, ri in zip(w, g, root, strict=True)]
        assert vec(p.values["s"]) == s and vec(p.values["r"]) == root, p.variant
        assert vec(p.values["w_new"]) == w_new, p.variant
        assert vec(p.values["w_sgd"]) == [wi - eta * gi for wi, gi in zip(w, g, strict=True)]
        # the lesson of the sheet: every first step is ±2η, whatever |g|
        assert {abs(wi - wn) for wi, wn in zip(w, w_new, strict=True)} == {2 * eta}


def test_rmsprop_matches_torch_rmsprop(torch: Any) -> None:
    for p in solved("rmsprop"):
        w = torch.tensor(floats(p.givens["w"]), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.RMSprop([w], lr=0.1, alpha=0.75, eps=1e-30)
        w.grad = torch.tensor(floats(p.givens["g"]), dtype=torch.float64)
        opt.step()
        assert np.allclose(floats(p.exact["w_new"]), w.detach().numpy(), rtol=0, atol=1e-9), p.variant
        assert np.allclose(floats(p.exact["s"]), opt.state[w]["square_avg"].numpy(), rtol=0, atol=1e-9)
