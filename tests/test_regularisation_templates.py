"""The regularisation and clipping templates against independent references: l2 (L2
regularisation / weight decay, "L2 regularisation" in the seed lecture notes 003) and
gradient-clipping ("exploding gradients ... using gradient clipping", seed 003).

For many seeds, at the defaults and at each param's min and max, the key is recomputed by a
naive loop over lists of Fractions written from the description (the penalty summed weight by
weight, the norm found by trying whole numbers), and by PyTorch in float64:
torch.optim.SGD(lr=η, weight_decay=λ) takes one step from w with .grad = g, and
torch.nn.utils.clip_grad_norm_ / clip_grad_value_ clip a tensor whose .grad is g.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from nnhand import api
from nnhand.core.engine import Problem, generate

from .checking import close, same
from .reference import givens_of, round_half_away

SEEDS = range(30)
TORCH_SEEDS = range(0, 60, 3)
SIZES = {"l2": [{}, {"n": 2}, {"n": 6}], "gradient-clipping": [{}, {"n": 3}, {"n": 4}]}


def solved(template_id: str, seeds: range = SEEDS) -> list[Problem]:
    template = api.load(template_id)
    out = [generate(template, seed) for seed in seeds]
    for params in SIZES[template_id][1:]:
        out += [generate(template, seed, params) for seed in seeds]
    return out


def vec(m: list[list[Any]]) -> list[Any]:
    return [row[0] for row in m]


def colv(v: list[Any]) -> list[list[Any]]:
    return [[x] for x in v]


# ----------------------------------------------------------------------------- L2


def naive_l2(g: dict[str, Any]) -> dict[str, Any]:
    w, grad = vec(g["w"]), vec(g["g"])
    lam, eta = g["lam"][0][0], g["eta"][0][0]
    squares = Fraction(0)
    for x in w:
        squares += x * x
    reg = [lam * x for x in w]
    total = [gi + ri for gi, ri in zip(grad, reg)]
    new = [x - eta * t for x, t in zip(w, total)]
    return {"penalty": [[lam / 2 * squares]], "reg": colv(reg), "total": colv(total), "w_new": colv(new)}


def test_l2_naive() -> None:
    for p in solved("l2"):
        g = givens_of(p)
        want = naive_l2(g)
        same(p, want)
        same(p, want, chain="exact")
        # Weight decay form: w_new = (1 - ηλ)·w - η·g, and at most two decimals anywhere.
        lam, eta = g["lam"][0][0], g["eta"][0][0]
        assert vec(want["w_new"]) == [(1 - eta * lam) * x - eta * d for x, d in zip(vec(g["w"]), vec(g["g"]))]
        for rows in want.values():
            assert all((v * 100).denominator == 1 for row in rows for v in row), p.variant
        assert all(t != 0 for t in vec(want["total"])), p.variant


def test_l2_torch(torch: Any) -> None:
    for p in solved("l2", TORCH_SEEDS):
        g = givens_of(p)
        w = torch.tensor([float(v) for v in vec(g["w"])], dtype=torch.float64, requires_grad=True)
        w.grad = torch.tensor([float(v) for v in vec(g["g"])], dtype=torch.float64)
        lam, eta = float(g["lam"][0][0]), float(g["eta"][0][0])
        penalty = lam / 2 * (w.detach() ** 2).sum()
        close(p, "penalty", penalty)
        opt = torch.optim.SGD([w], lr=eta, weight_decay=lam)
        opt.step()
        close(p, "w_new", w)
        # the penalty's gradient by autograd is λ·w
        w2 = torch.tensor([float(v) for v in vec(g["w"])], dtype=torch.float64, requires_grad=True)
        (lam / 2 * (w2**2).sum()).backward()
        close(p, "reg", w2.grad)


# ----------------------------------------------------------------------------- clipping


def naive_clip(g: dict[str, Any]) -> dict[str, Any]:
    grad, c = vec(g["g"]), g["c"][0][0]
    sq = Fraction(0)
    for x in grad:
        sq += x * x
    norm = 0
    while norm * norm < sq:  # the whole number whose square is Σ g²
        norm += 1
    assert norm * norm == sq, f"Σg² = {sq} is not a square"
    assert norm > c, "the sheet clips"
    scale = round_half_away(Fraction(c) / norm, 2)
    clipped = [scale * x for x in grad]
    by_value = []
    for x in grad:
        by_value.append(c if x > c else -c if x < -c else x)
    return {
        "sq": [[sq]],
        "norm": [[Fraction(norm)]],
        "scale": [[scale]],
        "clipped": colv(clipped),
        "by_value": colv(by_value),
    }


def test_clipping_naive() -> None:
    for p in solved("gradient-clipping"):
        g = givens_of(p)
        want = naive_clip(g)
        same(p, want)
        c = g["c"][0][0]
        grad = vec(g["g"])
        assert any(abs(x) > c for x in grad) and any(abs(x) < c for x in grad) and c not in grad and -c not in grad, (
            p.variant
        )
        # the clipped vector has (about) the threshold's norm
        n2 = sum(x * x for x in vec(want["clipped"]))
        assert abs(float(n2) ** 0.5 - float(c)) < 0.05 * len(grad), p.variant


def test_clipping_torch(torch: Any) -> None:
    for p in solved("gradient-clipping", TORCH_SEEDS):
        g = givens_of(p)
        c = float(g["c"][0][0])
        x = torch.zeros(len(g["g"]), dtype=torch.float64, requires_grad=True)
        x.grad = torch.tensor([float(v) for v in vec(g["g"])], dtype=torch.float64)
        total = torch.nn.utils.clip_grad_norm_([x], max_norm=c)
        close(p, "norm", total)
        close(p, "scale", torch.tensor(c / float(total)), tol=1e-5)  # exact chain: c/‖g‖ unrounded
        close(p, "clipped", x.grad, chain="values", tol=0.005 * 8 + 1e-9)  # the rounded scale
        y = torch.zeros(len(g["g"]), dtype=torch.float64, requires_grad=True)
        y.grad = torch.tensor([float(v) for v in vec(g["g"])], dtype=torch.float64)
        torch.nn.utils.clip_grad_value_([y], clip_value=c)
        close(p, "by_value", y.grad)


# ----------------------------------------------------------------------------- early stopping


def naive_early_stopping(val: list[Fraction], patience: int) -> tuple[int, int]:
    """Keras' EarlyStopping(patience, restore_best_weights=True), epoch by epoch: (kept, stopped)."""
    best_loss, best_epoch, waited = None, 0, 0
    for epoch, loss in enumerate(val, start=1):
        if best_loss is None or loss < best_loss:
            best_loss, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    raise AssertionError(f"training never stops within {len(val)} epochs: {val}")


def test_early_stopping_naive() -> None:
    template = api.load("early-stopping")
    for params in ({}, {"epochs": 7}, {"epochs": 10}):
        for seed in SEEDS:
            p = generate(template, seed, params)
            g = givens_of(p)
            val, patience = vec(g["val"]), int(g["p"][0][0])
            kept, stopped = naive_early_stopping(val, patience)
            same(p, {"best": [[Fraction(kept)]], "stop": [[Fraction(stopped)]]})
            assert val.count(min(val)) == 1, p.variant  # no tie decides the kept epoch
            assert kept == val.index(min(val)) + 1, p.variant  # the scan reaches the global minimum
            # a bump before the best that does not stop training, and a dip after it that is no improvement
            assert any(val[k] >= val[k - 1] for k in range(1, kept)), p.variant
            assert any(val[k] < val[k - 1] for k in range(kept, stopped)), p.variant
