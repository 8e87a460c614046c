"""Checks the reference tests share: solved instances of a template, and comparisons of a key
with a naive reference (exact) or with PyTorch (float64, against the exact chain)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from nnhand import api
from nnhand.core.engine import Problem, generate

from .reference import Matrix, grid

SEEDS = range(30)


def problems(template_id: str, seeds: Iterable[int] = SEEDS) -> list[Problem]:
    template = api.load(template_id)
    return [generate(template, seed) for seed in seeds]


def same(problem: Problem, expected: dict[str, Matrix], chain: str = "values") -> None:
    got = getattr(problem, chain)
    for name, value in expected.items():
        assert grid(got[name]) == value, f"{problem.variant}: {chain}[{name}]"


def t64(torch: Any, m: Matrix, grad: bool = False) -> Any:
    return torch.tensor([[float(v) for v in row] for row in m], dtype=torch.float64, requires_grad=grad)


def close(problem: Problem, name: str, tensor: Any, chain: str = "exact", tol: float = 1e-9) -> None:
    got = np.array(grid(getattr(problem, chain)[name]), dtype=np.float64)
    want = tensor.detach().numpy().reshape(got.shape)
    assert np.allclose(got, want, rtol=0, atol=tol), f"{problem.variant}: {chain}[{name}]\n{got}\n!=\n{want}"


def close_sgd_step(torch: Any, problem: Problem, loss: Any, params: dict[str, Any], lr: float) -> None:
    """The loss's gradients by autograd and one torch.optim.SGD step, against the template's
    steps d<name> and <name>_new for each parameter tensor (created with grad=True)."""
    loss.backward()
    for name, tensor in params.items():
        close(problem, f"d{name}", tensor.grad)
    torch.optim.SGD(list(params.values()), lr=lr).step()
    for name, tensor in params.items():
        close(problem, f"{name}_new", tensor)
