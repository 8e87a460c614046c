"""bptt and finite-difference against independent references.

bptt is the "Recurrent Neural Network (RNN)" exercise of Tom Yeh's AI by Hand collection run
backwards through time, as the seed lecture notes "Introduction to deep learning" (Lecture 2,
4. Backpropagation Through Time) describe it: the gradient picks up one factor of the recurrent
weight per step back, exploding for |w| > 1 and vanishing for |w| < 1. finite-difference is the
numerical gradient check of the AI by Hand collection (nudge a weight by ±h, compare with the
chain-rule derivative, through a ReLU), after the seeds "Introduction to deep learning"
(Lecture 1, 5.4.1: how a small change of one weight changes the loss) and "Deep Learning"
(Chapter 4, Backpropagation Calculus).

For 30 seeds at each param's min and max, the key is recomputed by a plain loop over exact
Fractions written from the exercise's description, and by PyTorch in float64: autograd through
the unrolled recurrence (and torch.nn.RNN with a ReLU where every state is positive, so that the
ReLU is the identity the linear sheet uses), autograd for the derivative the finite difference
is compared with, and torch's own loss at w ± h for the central difference.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest

from nnhand import api
from nnhand.core.engine import Problem

from .reference import grid

SEEDS = range(30)


def solved(template_id: str, **params: int | str) -> list[Problem]:
    return [api.generate(template_id, seed, params=params).problem for seed in SEEDS]


def one(problem: Problem, name: str, chain: str = "values") -> Fraction:
    """The single cell of a scalar step (chain "values") or given (chain "givens")."""
    ((value,),) = grid(getattr(problem, chain)[name])
    return Fraction(value)


def sequence(problem: Problem, name: str) -> list[Fraction]:
    return [Fraction(row[0]) for row in grid(problem.givens[name])]


# ----------------------------------------------------------------------------------- bptt


def unrolled(x: list[Fraction], w: Fraction, u: Fraction, y: Fraction) -> dict[str, Fraction]:
    """h_t = w·h_(t-1) + u·x_t from h_0 = 0, L = ½(h_T - y)², then back through time."""
    T = len(x)
    h = [Fraction(0)] * (T + 1)
    for t in range(1, T + 1):
        h[t] = w * h[t - 1] + u * x[t - 1]
    dh = [Fraction(0)] * (T + 1)
    dh[T] = h[T] - y
    for t in range(T - 1, 0, -1):
        dh[t] = w * dh[t + 1]
    dw = Fraction(0)
    du = Fraction(0)
    for t in range(1, T + 1):
        dw += dh[t] * h[t - 1]
        du += dh[t] * x[t - 1]
    factor = Fraction(1)
    for _ in range(T - 1):
        factor *= w
    out = {f"h{t}": h[t] for t in range(1, T + 1)} | {f"dh{t}": dh[t] for t in range(1, T + 1)}
    return out | {"L": (h[T] - y) ** 2 / 2, "dw": dw, "du": du, "factor": factor}


@pytest.mark.parametrize("length", [3, 4])
def test_bptt_matches_a_loop_through_time(length: int) -> None:
    for p in solved("bptt", length=length):
        x = sequence(p, "x")
        assert len(x) == length and one(p, "h0", "givens") == 0
        want = unrolled(x, one(p, "w", "givens"), one(p, "u", "givens"), one(p, "y", "givens"))
        assert set(want) <= set(p.values), p.variant
        for name, value in want.items():
            assert one(p, name) == value == one(p, name, "exact"), f"{p.variant}: {name}"
            # the notes promise whole numbers or one decimal (the factor 0.5² = 0.25 aside), within ±49
            places = 100 if name == "factor" else 10
            assert (value * places).denominator == 1 and abs(value) <= 49, f"{p.variant}: {name} = {value}"


@pytest.mark.parametrize("length", [3, 4])
def test_bptt_matches_torch_autograd_through_time(torch: Any, length: int) -> None:
    f64 = torch.float64
    for p in solved("bptt", length=length):
        x = [float(v) for v in sequence(p, "x")]
        w = torch.tensor(float(one(p, "w", "givens")), dtype=f64, requires_grad=True)
        u = torch.tensor(float(one(p, "u", "givens")), dtype=f64, requires_grad=True)
        states = [torch.zeros((), dtype=f64)]
        for xt in x:
            states.append(w * states[-1] + u * xt)
        for s in states[1:]:
            s.retain_grad()
        loss = 0.5 * (states[-1] - float(one(p, "y", "givens"))) ** 2
        loss.backward(retain_graph=True)
        assert math.isclose(loss.item(), float(one(p, "L", "exact")), abs_tol=1e-9), p.variant
        assert math.isclose(w.grad.item(), float(one(p, "dw", "exact")), abs_tol=1e-9), p.variant
        assert math.isclose(u.grad.item(), float(one(p, "du", "exact")), abs_tol=1e-9), p.variant
        for t, s in enumerate(states[1:], start=1):
            assert math.isclose(s.grad.item(), float(one(p, f"dh{t}", "exact")), abs_tol=1e-9), f"{p.variant}: dh{t}"
        # the factor is how much h_T moves per unit of h_1: d h_T / d h_1 = w^(T-1)
        (through,) = torch.autograd.grad(states[-1], states[1])
        assert math.isclose(through.item(), float(one(p, "factor", "exact")), abs_tol=1e-12), p.variant


def test_bptt_states_match_torch_rnn_where_the_relu_is_the_identity(torch: Any) -> None:
    """torch.nn.RNN has no linear cell; with a ReLU and every state positive it is the linear RNN."""
    compared = 0
    for length in (3, 4):
        for p in solved("bptt", length=length):
            x = [float(v) for v in sequence(p, "x")]
            states = [float(one(p, f"h{t}")) for t in range(1, length + 1)]
            if min(states) <= 0:
                continue
            rnn = torch.nn.RNN(1, 1, nonlinearity="relu", bias=False, dtype=torch.float64)
            with torch.no_grad():
                rnn.weight_hh_l0.fill_(float(one(p, "w", "givens")))
                rnn.weight_ih_l0.fill_(float(one(p, "u", "givens")))
            out, last = rnn(torch.tensor(x, dtype=torch.float64).reshape(length, 1, 1))
            assert out.flatten().tolist() == pytest.approx(states, abs=1e-12), p.variant
            loss = 0.5 * (last.flatten()[0] - float(one(p, "y", "givens"))) ** 2
            loss.backward()
            assert rnn.weight_hh_l0.grad.item() == pytest.approx(float(one(p, "dw")), abs=1e-9), p.variant
            assert rnn.weight_ih_l0.grad.item() == pytest.approx(float(one(p, "du")), abs=1e-9), p.variant
            compared += 1
    assert compared >= 10, compared


def test_bptt_explodes_and_vanishes() -> None:
    short = solved("bptt", length=3)
    factors = {one(p, "factor") for p in short}
    assert {f for f in factors if abs(f) > 1} and {f for f in factors if abs(f) < 1}, factors
    for p in short:  # the gradient at h_1 is the last one times the factor
        assert one(p, "dh1") == one(p, "factor") * one(p, "dh3"), p.variant
    # over four steps only |w| = 2 (0.5³ would need three decimals): the factor is ±8
    assert {abs(one(p, "factor")) for p in solved("bptt", length=4)} == {8}


# ------------------------------------------------------------------------ finite difference


def relu_loss(w: Fraction, x: Fraction, b: Fraction, t: Fraction) -> Fraction:
    z = w * x + b
    y = z if z > 0 else Fraction(0)
    return (y - t) ** 2


@pytest.mark.parametrize("case", ["smooth", "kink"])
def test_finite_difference_matches_a_loop(case: str) -> None:
    for p in solved("finite-difference", case=case):
        x, w, b, t, h = (one(p, n, "givens") for n in ("x", "w", "b", "t", "h"))
        z = w * x + b
        y = z if z > 0 else Fraction(0)
        z_up = (w + h) * x + b
        z_down = (w - h) * x + b
        up = relu_loss(w + h, x, b, t)
        down = relu_loss(w - h, x, b, t)
        fd = (up - down) / (2 * h)
        grad = 2 * (y - t) * (1 if z > 0 else 0) * x
        want = {"z": z, "y": y, "L": (y - t) ** 2, "z_up": z_up, "L_up": up, "z_down": z_down, "L_down": down}
        want |= {"fd": fd, "grad": grad}
        for name, value in want.items():
            assert one(p, name) == value, f"{p.variant}: {name}"
            assert abs(value) <= 49, f"{p.variant}: {name} = {value}"
        assert y != t and up != down, p.variant
        if case == "smooth":  # one parabola in w over [w - h, w + h]: exact agreement
            assert min(z, z_up, z_down) > 0 and fd == grad and fd.denominator == 1, p.variant
        else:  # the nudges straddle the kink and the check fails
            assert (z_up > 0) != (z_down > 0) and z != 0 and fd != grad, p.variant
            assert (fd * 2).denominator == 1, p.variant


@pytest.mark.parametrize("case", ["smooth", "kink"])
def test_finite_difference_matches_torch(torch: Any, case: str) -> None:
    f64 = torch.float64
    for p in solved("finite-difference", case=case):
        x, b, t, h = (float(one(p, n, "givens")) for n in ("x", "b", "t", "h"))
        w = torch.tensor(float(one(p, "w", "givens")), dtype=f64, requires_grad=True)

        def loss(weight: Any, x: float = x, b: float = b, t: float = t) -> Any:
            return (torch.relu(weight * x + b) - t) ** 2

        value = loss(w)
        value.backward()
        assert math.isclose(value.item(), float(one(p, "L")), abs_tol=1e-9), p.variant
        assert math.isclose(w.grad.item(), float(one(p, "grad")), abs_tol=1e-9), p.variant
        with torch.no_grad():
            up, down = loss(w + h).item(), loss(w - h).item()
        assert math.isclose(up, float(one(p, "L_up")), abs_tol=1e-9), p.variant
        assert math.isclose(down, float(one(p, "L_down")), abs_tol=1e-9), p.variant
        central = (up - down) / (2 * h)
        assert math.isclose(central, float(one(p, "fd")), abs_tol=1e-9), p.variant
        # a parabola's central difference is its derivative; across the kink it is not
        assert math.isclose(central, w.grad.item(), abs_tol=1e-9) == (case == "smooth"), p.variant
