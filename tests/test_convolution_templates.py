"""The convolution templates (conv1d, conv2d, max-pool, im2col) against independent references.

For every template, 30 seeds at the default params and 10 at each param's min and max, the
key is recomputed by naive Python loops over exact Fractions written from the exercises'
description (a window slid over the zero-padded input, `stride` cells at a time, for as long
as it fits: the output size is counted, not taken from the ⌊(n + 2p − k)/s⌋ + 1 formula the
sheet asks for), and by PyTorch: torch.nn.functional.conv1d / conv2d with padding and
stride (a CNN's "convolution" is cross-correlation, as torch computes it), max_pool2d with
autograd for the backward routing (dP.backward through the pooling), and unfold for im2col.
The ops are checked on a batch of candidates against the same op one candidate at a time,
and the slips the diagnosis names (a flipped kernel, padding left out, the stride ignored,
the bias forgotten, average pooling, a gradient copied to the whole window) are checked on
answer files that make them.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from nnhand import api
from nnhand.core.engine import Problem, generate
from nnhand.core.keys import key_data
from nnhand.core.sheet import make_sheet
from nnhand.errors import EvaluationError
from nnhand.grading.answers import answer_file_data
from nnhand.grading.grade import grade_data
from nnhand.ops import convolution as C

from .checking import close, t64
from .reference import Matrix, givens_of, grid, relu

SEEDS = range(30)
EXTREME_SEEDS = range(10)
TORCH_SEEDS = range(0, 30, 3)
TEMPLATES = ("conv1d", "conv2d", "max-pool", "im2col")


def instances(template_id: str, seeds: range = SEEDS) -> Iterator[Problem]:
    """The default params over `seeds`, then each param at its min and its max over fewer."""
    template = api.load(template_id)
    for seed in seeds:
        yield generate(template, seed)
    for p in template.params.values():
        for value in sorted({p.low, p.high} - {p.default}):
            for seed in EXTREME_SEEDS:
                yield generate(template, seed, {p.name: p.choices[value] if p.choices else value})


# ----------------------------------------------------------------------------- naive references


def pixel(x: Matrix, r: int, c: int) -> Fraction:
    """Cell (r, c) of x, 0-based, with zeros all around it (the padding)."""
    return Fraction(x[r][c]) if 0 <= r < len(x) and 0 <= c < len(x[0]) else Fraction(0)


def naive_xcorr(x: Matrix, k: Matrix, pad_rows: int, pad_cols: int, stride: int) -> Matrix:
    """Slide k over x padded by pad_rows / pad_cols zeros on each side: every position that
    fits, `stride` apart, from the padded top-left; Σ k[a][b] · x[r + a][c + b]."""
    kh, kw = len(k), len(k[0])
    out = []
    r = -pad_rows
    while r + kh <= len(x) + pad_rows:
        row = []
        c = -pad_cols
        while c + kw <= len(x[0]) + pad_cols:
            row.append(
                sum((Fraction(k[a][b]) * pixel(x, r + a, c + b) for a in range(kh) for b in range(kw)), Fraction(0))
            )
            c += stride
        out.append(row)
        r += stride
    return out


def plus(m: Matrix, b: Fraction) -> Matrix:
    return [[v + b for v in row] for row in m]


def naive_pool(x: Matrix, size: int, stride: int) -> tuple[Matrix, list[list[tuple[int, int]]]]:
    """The largest value of each window and where it is (asserting it is the only largest)."""
    values, where = [], []
    for r in range(0, len(x) - size + 1, stride):
        vrow, wrow = [], []
        for c in range(0, len(x[0]) - size + 1, stride):
            cells = [(x[r + a][c + b], (r + a, c + b)) for a in range(size) for b in range(size)]
            top = max(v for v, _ in cells)
            at = [pos for v, pos in cells if v == top]
            assert len(at) == 1, f"a tie in window ({r}, {c}): {cells}"
            vrow.append(top)
            wrow.append(at[0])
        values.append(vrow)
        where.append(wrow)
    return values, where


def naive_pool_grad(x: Matrix, dp: Matrix, size: int, stride: int) -> Matrix:
    _, where = naive_pool(x, size, stride)
    out = [[Fraction(0)] * len(x[0]) for _ in x]
    for i, row in enumerate(where):
        for j, (r, c) in enumerate(row):
            out[r][c] += Fraction(dp[i][j])
    return out


def naive_im2col(x: Matrix, k: int, stride: int) -> Matrix:
    """Column j: patch j (positions row by row), its pixels read row by row."""
    columns = []
    for r in range(0, len(x) - k + 1, stride):
        for c in range(0, len(x[0]) - k + 1, stride):
            columns.append([Fraction(x[r + a][c + b]) for a in range(k) for b in range(k)])
    return [list(row) for row in zip(*columns)]


def bias_of(g: dict[str, Matrix]) -> Fraction:
    return g["b"][0][0] if "b" in g else Fraction(0)


def scalar(m: Matrix) -> Fraction:
    ((value,),) = m
    return Fraction(value)


# ----------------------------------------------------------------------------- the templates, naive


def test_conv1d_naive() -> None:
    for p in instances("conv1d"):
        g, pad, stride = givens_of(p), p.params["pad"], p.params["stride"]
        y = plus(naive_xcorr(g["x"], g["k"], 0, pad, stride), bias_of(g))
        assert scalar(grid(p.values["L"])) == len(y[0]), p.variant
        assert grid(p.values["y"]) == y, p.variant
        if p.params["act"] == 1:
            assert grid(p.values["a"]) == relu(y), p.variant
            assert any(v < 0 for v in y[0]) and any(v > 0 for v in y[0]), p.variant  # the ReLU zeroes some, not all
        else:
            assert "a" not in p.values


def test_conv2d_naive() -> None:
    for p in instances("conv2d"):
        g, pad, stride = givens_of(p), p.params["pad"], p.params["stride"]
        z = plus(naive_xcorr(g["X"], g["K"], pad, pad, stride), bias_of(g))
        assert scalar(grid(p.values["size"])) == len(z) == len(z[0]), p.variant
        assert grid(p.values["Z"]) == z, p.variant
        flat = [v for row in z for v in row]
        assert max(abs(v) for v in flat) <= 20, p.variant
        if p.params["act"] == 1:
            assert grid(p.values["A"]) == relu(z), p.variant
            assert any(v < 0 for v in flat) and any(v > 0 for v in flat) and 0 not in flat, p.variant
        assert any(v != 0 for row in g["K"] for v in row), p.variant


def test_conv_size_formula_matches_the_count_at_every_size() -> None:
    """The formula the sheet asks for (⌊(n + 2p − k)/s⌋ + 1) against positions counted."""
    for n in range(1, 12):
        for k in range(1, 5):
            for pad in range(3):
                for stride in range(1, 4):
                    counted = len(naive_xcorr([[0] * n], [[1] * k], 0, pad, stride)[0]) if k <= n + 2 * pad else 0
                    if counted == 0:
                        with pytest.raises(EvaluationError):
                            C.conv_size(n, k, pad, stride)
                        continue
                    got = C.conv_size(n, k, pad, stride)
                    assert got.shape == (1, 1, 1) and int(got[0, 0, 0]) == counted, (n, k, pad, stride)


def test_max_pool_naive_and_no_ties_over_many_seeds() -> None:
    for p in instances("max-pool"):
        g, stride = givens_of(p), p.params["stride"]
        pooled, _ = naive_pool(g["X"], 2, stride)  # asserts a unique largest cell per window
        assert grid(p.values["P"]) == pooled, p.variant
        assert grid(p.values["dX"]) == naive_pool_grad(g["X"], g["dP"], 2, stride), p.variant
    template = api.load("max-pool")
    for seed in range(30, 300):  # ties (where the gradient would go to two cells) never drawn
        for params in ({}, {"stride": 1}):
            p = generate(template, seed, params)
            naive_pool(givens_of(p)["X"], 2, p.params["stride"])


def test_im2col_naive_and_equal_to_the_convolution() -> None:
    for p in instances("im2col"):
        g, k, stride = givens_of(p), p.params["k"], p.params["stride"]
        patches = naive_im2col(g["X"], k, stride)
        assert grid(p.values["P"]) == patches, p.variant
        kernel_row = [[v for row in g["K"] for v in row]]
        assert grid(p.values["Kr"]) == kernel_row, p.variant
        y = [[sum((a * b for a, b in zip(kernel_row[0], col)), Fraction(0)) for col in zip(*patches)]]
        assert grid(p.values["Y"]) == y, p.variant
        z = naive_xcorr(g["X"], g["K"], 0, 0, stride)  # the convolution, computed directly
        assert grid(p.values["Z"]) == z, p.variant
        assert [v for row in z for v in row] == y[0], p.variant


# ----------------------------------------------------------------------------- PyTorch


def test_conv1d_and_conv2d_torch(torch: Any) -> None:
    F = torch.nn.functional
    for p in instances("conv1d", TORCH_SEEDS):
        g = givens_of(p)
        bias = t64(torch, [[bias_of(g)]]).reshape(1)
        y = F.conv1d(t64(torch, g["x"])[None], t64(torch, g["k"])[None], bias, p.params["stride"], p.params["pad"])
        close(p, "y", y[0])
        if p.params["act"] == 1:
            close(p, "a", torch.relu(y[0]))
    for p in instances("conv2d", TORCH_SEEDS):
        g = givens_of(p)
        bias = t64(torch, [[bias_of(g)]]).reshape(1)
        z = F.conv2d(
            t64(torch, g["X"])[None, None], t64(torch, g["K"])[None, None], bias, p.params["stride"], p.params["pad"]
        )
        close(p, "Z", z[0, 0])
        assert p.values["size"][0, 0] == z.shape[-1] == z.shape[-2], p.variant
        if p.params["act"] == 1:
            close(p, "A", torch.relu(z[0, 0]))


def test_max_pool_torch_forward_and_autograd_routing(torch: Any) -> None:
    for p in instances("max-pool", TORCH_SEEDS):
        g = givens_of(p)
        x = t64(torch, g["X"], grad=True)
        pooled = torch.nn.functional.max_pool2d(x[None, None], kernel_size=2, stride=p.params["stride"])[0, 0]
        close(p, "P", pooled)
        pooled.backward(t64(torch, g["dP"]))  # the gradient arriving at P, routed back by autograd
        close(p, "dX", x.grad)


def test_im2col_torch_unfold(torch: Any) -> None:
    F = torch.nn.functional
    for p in instances("im2col", TORCH_SEEDS):
        g, k, stride = givens_of(p), p.params["k"], p.params["stride"]
        x = t64(torch, g["X"])[None, None]
        close(p, "P", F.unfold(x, kernel_size=k, stride=stride)[0])
        z = F.conv2d(x, t64(torch, g["K"])[None, None], stride=stride)[0, 0]
        close(p, "Z", z)
        close(p, "Y", z.reshape(1, -1))


# ----------------------------------------------------------------------------- ops on a batch


def random_batch(rng: np.random.Generator, shape: tuple[int, ...], exact: bool = False) -> np.ndarray:
    ints = rng.integers(-3, 4, size=shape)
    if not exact:
        return ints.astype(np.int64)
    out = np.empty(shape, dtype=object)
    out.ravel()[:] = [Fraction(int(v), int(d)) for v, d in zip(ints.ravel(), rng.choice([1, 2, 3], size=ints.size))]
    return out


def as_matrix(arr: np.ndarray) -> Matrix:
    return [[Fraction(v) for v in row] for row in arr.tolist()]


@pytest.mark.parametrize("exact", [False, True])
def test_ops_work_on_a_batch_like_a_loop(exact: bool) -> None:
    rng = np.random.default_rng(14)
    for pad, stride in ((0, 1), (1, 1), (1, 2), (2, 3)):
        X = random_batch(rng, (5, 5, 6), exact)
        K = random_batch(rng, (5, 3, 2), exact)
        b = random_batch(rng, (5, 1, 1), exact)
        batch = C.conv2d(X, K, pad, stride, b)
        shared = C.conv2d(X, K[:1], pad, stride)  # a kernel of batch 1 broadcasts
        x1, k1 = X[:, :1, :], K[:, :1, :]
        batch_1d = C.conv1d(x1, k1, pad, stride, b)
        for i in range(5):
            want = plus(naive_xcorr(as_matrix(X[i]), as_matrix(K[i]), pad, pad, stride), Fraction(b[i, 0, 0]))
            assert as_matrix(batch[i]) == want
            assert as_matrix(C.conv2d(X[i : i + 1], K[i : i + 1], pad, stride, b[i : i + 1])[0]) == want
            assert as_matrix(shared[i]) == naive_xcorr(as_matrix(X[i]), as_matrix(K[0]), pad, pad, stride)
            want_1d = plus(naive_xcorr(as_matrix(x1[i]), as_matrix(k1[i]), 0, pad, stride), Fraction(b[i, 0, 0]))
            assert as_matrix(batch_1d[i]) == want_1d
    for stride in (1, 2):
        X = np.stack([rng.permutation(36).reshape(6, 6) for _ in range(4)])  # distinct cells: no ties
        if exact:
            X = X.astype(object) * Fraction(1, 2)
        rows = (6 - 2) // stride + 1
        dP = random_batch(rng, (4, rows, rows), exact)
        pooled, grads = C.maxpool2d(X, 2, stride), C.maxpool_grad(X, dP, 2, stride)
        unfolded = C.im2col(X, 3, 2, 0, stride)
        assert C.pool_unique(X, 2, stride, 1 if not exact else Fraction(1, 2)).ravel().tolist() == [True] * 4
        for i in range(4):
            values, _ = naive_pool(as_matrix(X[i]), 2, stride)
            assert as_matrix(pooled[i]) == values
            assert as_matrix(grads[i]) == naive_pool_grad(as_matrix(X[i]), as_matrix(dP[i]), 2, stride)
            one = C.im2col(X[i : i + 1], 3, 2, 0, stride)[0]
            assert as_matrix(unfolded[i]) == as_matrix(one)
            assert as_matrix(C.maxpool2d(X[i : i + 1], 2, stride)[0]) == values
    K = random_batch(rng, (3, 2, 3), exact)
    assert C.kernel_row(K).shape == (3, 1, 6)
    assert [as_matrix(r)[0] for r in C.kernel_row(K)] == [[v for row in as_matrix(k) for v in row] for k in K]
    y = random_batch(rng, (3, 1, 6), exact)
    assert [as_matrix(m) for m in C.fold(y, 2, 3)] == [[as_matrix(r)[0][:3], as_matrix(r)[0][3:]] for r in y]


def test_pool_unique_finds_a_tie_and_the_margin() -> None:
    x = np.array([[[5, 5], [0, 1]], [[5, 4], [0, 1]], [[6, 4], [0, 1]]])
    assert C.pool_unique(x, 2, 2, 1).ravel().tolist() == [False, True, True]
    assert C.pool_unique(x, 2, 2, 2).ravel().tolist() == [False, False, True]
    tied = np.array([[[3, 3], [1, 0]]])
    assert C.maxpool_grad(tied, np.array([[[2]]]), 2, 2).tolist() == [[[2, 2], [0, 0]]]  # why ties are excluded


def test_im2col_times_the_kernel_row_is_the_convolution() -> None:
    rng = np.random.default_rng(3)
    for pad, stride in ((0, 1), (1, 1), (0, 2), (1, 2)):
        X, K = random_batch(rng, (4, 5, 5)), random_batch(rng, (4, 3, 3))
        rows = (5 + 2 * pad - 3) // stride + 1
        product = C.kernel_row(K) @ C.im2col(X, 3, 3, pad, stride)
        assert np.array_equal(C.fold(product, rows, rows), C.conv2d(X, K, pad, stride))


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: C.conv2d(np.zeros((1, 2, 2), dtype=np.int64), np.ones((1, 3, 3), dtype=np.int64), 0, 1),
            "does not fit",
        ),
        (lambda: C.conv1d(np.zeros((1, 2, 4), dtype=np.int64), np.ones((1, 1, 2), dtype=np.int64), 0, 1), "row"),
        (lambda: C.conv2d(np.zeros((1, 4, 4), dtype=np.int64), np.ones((1, 2, 2), dtype=np.int64), 0, 0), "stride"),
        (lambda: C.conv2d(np.zeros((1, 4, 4), dtype=np.int64), np.ones((1, 2, 2), dtype=np.int64), -1, 1), "padding"),
        (lambda: C.maxpool_grad(np.zeros((1, 4, 4), dtype=np.int64), np.ones((1, 3, 3), dtype=np.int64), 2, 2), "2x2"),
        (lambda: C.fold(np.zeros((1, 1, 5), dtype=np.int64), 2, 3), "fold"),
    ],
)
def test_ops_refuse_what_does_not_fit(call: Any, message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        call()


# ----------------------------------------------------------------------------- slips


def key_answers(template_id: str, seed: int, **params: Any) -> tuple[dict[str, Any], dict[str, Any], Problem]:
    problem = generate(api.load(template_id), seed, params or None)
    data = answer_file_data(make_sheet(problem, "all"))
    key = key_data(problem)
    data["answers"] = {name: key["answers"][name] for name in data["answers"]}
    return data, key, problem


def diagnosis(data: dict[str, Any], name: str, values: Any) -> str:
    data["answers"][name] = values
    report = grade_data(data, "answers.yaml")[0]
    found = next(s for s in report.steps if s.name == name)
    assert found.status == "wrong", found.status
    return " ".join(found.diagnosis)


def numbers(m: Matrix) -> list[list[str]]:
    return [[str(v) for v in row] for row in m]


def mostly_different(a: Matrix, b: Matrix) -> bool:
    cells = [(u, v) for ra, rb in zip(a, b) for u, v in zip(ra, rb)]
    return sum(u != v for u, v in cells) * 2 > len(cells)


def conv2d_seed(condition: Any, **params: Any) -> tuple[dict[str, Any], Problem]:
    for seed in range(300):
        data, _, p = key_answers("conv2d", seed, **params)
        if condition(p):
            return data, p
    raise AssertionError("no seed found")


def flipped(p: Problem) -> Matrix:
    g = givens_of(p)
    k = [row[::-1] for row in g["K"][::-1]]
    return plus(naive_xcorr(g["X"], k, p.params["pad"], p.params["pad"], p.params["stride"]), bias_of(g))


def unpadded(p: Problem) -> Matrix:  # patches start at X[1,1], reading zeros past the far edge
    g, pad, stride = givens_of(p), p.params["pad"], p.params["stride"]
    rows = len(grid(p.values["Z"]))
    x = [row + [0] * (2 * pad) for row in g["X"]] + [[0] * (len(g["X"]) + 2 * pad)] * (2 * pad)
    z = naive_xcorr(x, g["K"], 0, 0, stride)
    return plus([row[:rows] for row in z[:rows]], bias_of(g))


def stride_one(p: Problem) -> Matrix:
    g, pad = givens_of(p), p.params["pad"]
    rows = len(grid(p.values["Z"]))
    z = naive_xcorr(g["X"], g["K"], pad, pad, 1)
    return plus([row[:rows] for row in z[:rows]], bias_of(g))


def test_slip_flipped_kernel_is_named() -> None:
    data, p = conv2d_seed(lambda p: mostly_different(flipped(p), grid(p.values["Z"])))
    assert "flipped the kernel" in diagnosis(data, "Z", numbers(flipped(p)))

    # one cell with one product of its patch left out: named on that cell
    def dropped(p: Problem) -> tuple[Matrix, Fraction] | None:
        g, pad, stride = givens_of(p), p.params["pad"], p.params["stride"]
        z = grid(p.values["Z"])
        r0, c0 = 1 * stride - pad, 1 * stride - pad  # the patch of Z[2,2]
        terms = [g["K"][a][b] * pixel(g["X"], r0 + a, c0 + b) for a in range(3) for b in range(3)]
        others = {flipped(p)[1][1], unpadded(p)[1][1], stride_one(p)[1][1], z[1][1] - bias_of(g), -z[1][1]}
        term = next((t for t in terms if t != 0 and z[1][1] - t not in others), None)
        if term is None or terms.count(term) > 1:
            return None
        z[1][1] -= term
        return z, term

    data, p = conv2d_seed(lambda p: dropped(p) is not None)
    found = dropped(p)
    assert found is not None
    z, _ = found
    assert "Z[2,2]: one product of the patch is missing" in diagnosis(data, "Z", numbers(z))
    # conv1d: the taps reversed
    for seed in range(300):
        data, _, p = key_answers("conv1d", seed)
        g = givens_of(p)
        y = plus(naive_xcorr(g["x"], [g["k"][0][::-1]], 0, p.params["pad"], p.params["stride"]), bias_of(g))
        if mostly_different(y, grid(p.values["y"])):
            assert "flipped the kernel" in diagnosis(data, "y", numbers(y))
            break
    else:
        raise AssertionError("no seed found")


def test_slip_padding_left_out_and_stride_ignored() -> None:
    data, p = conv2d_seed(lambda p: mostly_different(unpadded(p), grid(p.values["Z"])))
    assert "left out the zero padding" in diagnosis(data, "Z", numbers(unpadded(p)))

    data, p = conv2d_seed(lambda p: mostly_different(stride_one(p), grid(p.values["Z"])))
    assert "move by the stride (2)" in diagnosis(data, "Z", numbers(stride_one(p)))


def test_slip_forgot_the_bias_and_the_size_formula() -> None:
    def no_bias(p: Problem) -> Matrix:
        g = givens_of(p)
        return naive_xcorr(g["X"], g["K"], p.params["pad"], p.params["pad"], p.params["stride"])

    data, p = conv2d_seed(lambda p: bias_of(givens_of(p)) != 0)
    assert "forgot to add the bias b" in diagnosis(data, "Z", numbers(no_bias(p)))
    data, _, p = key_answers("conv2d", 1)
    assert p.values["size"][0, 0] == 3  # (5 + 2·1 − 3)/2 + 1
    assert "forgot the + 1" in diagnosis(data, "size", 2)
    data, _, p = key_answers("conv2d", 1)
    assert "forgot the stride" in diagnosis(data, "size", 5)  # (5 + 2 − 3) + 1
    data, _, p = key_answers("conv1d", 1, n=8)
    assert p.values["L"][0, 0] == 8  # (8 + 2·1 − 3)/1 + 1
    assert "forgot the padding" in diagnosis(data, "L", 6)


def test_slips_of_max_pooling() -> None:
    for seed in range(100):
        data, _, p = key_answers("max-pool", seed)
        g = givens_of(p)
        average = [[sum(g["X"][r + a][c + b] for a in range(2) for b in range(2)) / 4 for c in (0, 2)] for r in (0, 2)]
        if mostly_different(average, grid(p.values["P"])):
            assert "average pooling" in diagnosis(data, "P", numbers(average))
            break
    else:
        raise AssertionError("no seed found")
    data, _, p = key_answers("max-pool", 3)
    g = givens_of(p)
    copied = [[g["dP"][r // 2][c // 2] for c in range(4)] for r in range(4)]
    assert "copied each gradient to every cell of its window" in diagnosis(data, "dX", numbers(copied))


# ----------------------------------------------------------------------------- sheets


def test_worked_solution_names_the_patch_and_the_padding() -> None:
    from nnhand.core.explain import explain_problem

    p = generate(api.load("conv2d"), 1)
    text = "\n".join(line for lines in explain_problem(p).values() for line in lines)
    assert "K⊙X[0..2, 0..2] (index 0: padding) + b" in text
    assert "size = (5 + 2·1 − 3) / 2 + 1 = 2 + 1 = 3" in text
    p = generate(api.load("max-pool"), 2, {"stride": 1})
    text = "\n".join(line for lines in explain_problem(p).values() for line in lines)
    assert "is the largest of" in text and "is not the largest of" in text


@pytest.mark.parametrize(
    "template_id, first, where",
    [
        ("conv1d", "7", "on the patch that starts at x[0·stride + 1 − pad]"),
        ("conv2d", "3", "on the patch that starts at X[0·stride + 1 − pad, 0·stride + 1 − pad]"),
        ("max-pool", "", "Compute P"),
        ("im2col", "", "Compute P"),
    ],
)
def test_practice_hints_name_the_patch(template_id: str, first: str, where: str) -> None:
    from typer.testing import CliRunner

    from nnhand.cli import app

    typed = (f"{first}\n" if first else "") + "?\n?\n"
    result = CliRunner().invoke(app, ["practice", template_id, "--seed", "5"], input=typed)
    assert result.exit_code == 1, result.output  # the session ends unfinished: not all right
    said = " ".join(result.output.split())  # the lines are wrapped to the width
    assert where in said and "Hint:" in said, result.output


# ----------------------------------------------------------------------------- published worked examples


def key_of_givens(tmp_path: Any, template_id: str, givens: dict[str, Any]) -> dict[str, Any]:
    import json

    import yaml
    from typer.testing import CliRunner

    from nnhand.cli import app

    path = tmp_path / "givens.yaml"
    path.write_text(yaml.safe_dump(givens), encoding="utf-8")
    result = CliRunner().invoke(app, ["key", template_id, "--givens", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_the_ufldl_convolution_example(tmp_path: Any) -> None:
    """The 5x5 binary image and 3x3 kernel of the UFLDL tutorial "Feature extraction using
    convolution" (Stanford, http://deeplearning.stanford.edu/wiki/index.php/Feature_extraction_using_convolution;
    the animation reused in Ujjwal Karn's "An Intuitive Explanation of Convolutional Neural
    Networks", 2016): valid cross-correlation, stride 1, gives [[4, 3, 4], [2, 4, 3], [2, 3, 4]]."""
    image = [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
    kernel = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    givens = {"X": image, "K": kernel, "pad": 0, "stride": 1, "act": "none"}
    key = key_of_givens(tmp_path, "conv2d", givens)
    assert key["answers"]["size"] == 3
    assert key["answers"]["Z"] == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
    key = key_of_givens(tmp_path, "im2col", {"X": image, "K": kernel, "stride": 1})
    assert key["answers"]["Z"] == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]


def test_the_cs231n_max_pooling_example(tmp_path: Any) -> None:
    """The 4x4 map of the max-pooling figure in the CS231n notes "Convolutional Neural
    Networks" (https://cs231n.github.io/convolutional-networks/): 2x2 windows, stride 2,
    give [[6, 8], [3, 4]]; the gradient goes back to where 6, 8, 3 and 4 sit."""
    feature_map = [[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]
    key = key_of_givens(tmp_path, "max-pool", {"X": feature_map, "dP": [[1, -1], [2, 3]]})
    assert key["answers"]["P"] == [[6, 8], [3, 4]]
    assert key["answers"]["dX"] == [[0, 0, 0, 0], [0, 1, 0, -1], [2, 0, 0, 0], [0, 0, 0, 3]]
