"""The normalisation and position templates against independent references: layer-norm
("Layer Norm", Add & Norm) and positional-encoding ("Positional Encoding"), after Tom Yeh's
AI by Hand exercises (bptt and finite-difference: tests/test_sequence_templates.py).

For every template and 30 seeds (at each param's min and max) the key is recomputed by a naive
loop over exact Fractions written from the exercise's description, and by PyTorch in float64:
torch.nn.functional.layer_norm (eps = 0, as the sheet states) and torch.sin/cos against the
printed 2-decimal table.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest

from nnhand import api
from nnhand.core.engine import Problem

from .reference import grid, round_half_away

SEEDS = range(30)


def solved(template_id: str, **params: int | str) -> list[Problem]:
    return [api.generate(template_id, seed, params=params).problem for seed in SEEDS]


def given(problem: Problem, name: str) -> list[list[Fraction]]:
    return grid(problem.givens[name])


# ----------------------------------------------------------------------------- layer-norm


@pytest.mark.parametrize("tokens", [1, 2, 3])
def test_layer_norm_matches_a_loop_per_token(tokens: int) -> None:
    for p in solved("layer-norm", tokens=tokens):
        X, F = given(p, "X"), given(p, "F")
        gamma, beta = given(p, "gamma")[0], given(p, "beta")[0]
        for i in range(tokens):
            s = [X[i][k] + F[i][k] for k in range(4)]
            mu = sum(s, Fraction(0)) / 4
            var = sum(((v - mu) ** 2 for v in s), Fraction(0)) / 4
            sd = Fraction(math.isqrt(int(var)))
            assert sd * sd == var, f"{p.variant}: σ not whole"
            assert grid(p.values["mu"])[i][0] == mu and grid(p.values["sd"])[i][0] == sd
            for k in range(4):
                xhat = round_half_away((s[k] - mu) / sd, 2)
                assert grid(p.values["S_hat"])[i][k] == xhat, p.variant
                assert grid(p.values["Y"])[i][k] == round_half_away(gamma[k] * xhat + beta[k], 2), p.variant


@pytest.mark.parametrize("tokens", [1, 3])
def test_layer_norm_matches_torch(torch: Any, tokens: int) -> None:
    for p in solved("layer-norm", tokens=tokens):
        s = torch.tensor([[float(v) for v in row] for row in grid(p.values["S"])], dtype=torch.float64)
        gamma = torch.tensor([float(v) for v in given(p, "gamma")[0]], dtype=torch.float64)
        beta = torch.tensor([float(v) for v in given(p, "beta")[0]], dtype=torch.float64)
        normed = torch.nn.functional.layer_norm(s, (4,), eps=0.0)
        got = [[float(v) for v in row] for row in grid(p.exact["S_hat"])]
        assert normed.flatten().tolist() == pytest.approx([v for row in got for v in row], abs=1e-9), p.variant
        # the key rounds x̂ first and carries it on: within a rounding of γ·x̂ + β
        full = torch.nn.functional.layer_norm(s, (4,), weight=gamma, bias=beta, eps=0.0)
        key = [[float(v) for v in row] for row in grid(p.values["Y"])]
        assert full.flatten().tolist() == pytest.approx(
            [v for row in key for v in row], abs=0.005 * 3 + 0.005 + 1e-9
        ), p.variant
        # batch norm would normalise each column instead: a different answer (the slip)
        if tokens > 1:
            across = torch.nn.functional.batch_norm(s, None, None, training=True, eps=1e-12)
            assert not torch.allclose(across, normed)


# ----------------------------------------------------------------------------- positional encoding

TABLE = {1: (0.84, 0.54), 2: (0.91, -0.42), 3: (0.14, -0.99), 4: (-0.76, -0.65)}


@pytest.mark.parametrize("tokens", [2, 3, 4])
def test_positional_encoding_matches_the_formula(torch: Any, tokens: int) -> None:
    for p in solved("positional-encoding", tokens=tokens):
        E = given(p, "E")
        for pos in range(1, tokens + 1):
            angles = [pos / 10000 ** (2 * i / 4) for i in range(2)]
            t = torch.tensor(angles, dtype=torch.float64)
            pe = [v for a_sin, a_cos in zip(torch.sin(t).tolist(), torch.cos(t).tolist()) for v in (a_sin, a_cos)]
            want = [round_half_away(Fraction(v), 2) for v in pe]
            assert grid(p.values["PE"])[pos - 1] == want, p.variant
            assert tuple(float(v) for v in want[:2]) == TABLE[pos]  # the printed table
            assert grid(p.values["X"])[pos - 1] == [E[pos - 1][k] + want[k] for k in range(4)], p.variant
    table = [[float(v) for v in row] for row in grid(p.givens["table"])]
    assert table == [[TABLE[a][0] for a in range(1, 5)], [TABLE[a][1] for a in range(1, 5)]]
