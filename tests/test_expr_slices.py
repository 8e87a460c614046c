"""Indexes and slice bounds written over params (`G[n:2 * n]`, `X[:, t - 1]`).

The expected values are NumPy's own slicing of the plain list written here, never nnhand's ops."""

from __future__ import annotations

import numpy as np
import pytest

from nnhand.core.expr import compile_expr
from nnhand.errors import EvaluationError, ExpressionError
from nnhand.values import batch_env

G = [[r * 10 + c for c in range(3)] for r in range(8)]  # 8 x 3: cell (r, c) holds 10 r + c
KNOWN = {"G", "x", "n", "t"}
PARAMS = {"n", "t"}


def run(source: str, n: int = 2, t: int = 3) -> list[list[int]]:
    env = batch_env({"n": n, "t": t}, {"G": np.array(G, dtype=np.int64), "x": np.array([[5]], dtype=np.int64)})
    out = compile_expr(source, KNOWN, params=PARAMS)(env)
    assert out.shape[0] == 1  # the batch axis is kept
    return [[int(v) for v in row] for row in out[0]]


@pytest.mark.parametrize("n", [1, 2])
def test_slices_over_a_param_follow_its_value(n: int) -> None:
    rows = np.array(G)
    assert run("G[:n]", n) == rows[:n].tolist()
    assert run("G[n:2 * n]", n) == rows[n : 2 * n].tolist()
    assert run("G[2 * n:3 * n]", n) == rows[2 * n : 3 * n].tolist()
    assert run("G[3 * n:]", n) == rows[3 * n :].tolist()
    assert run("G[-n - 1:-1]", n) == rows[-n - 1 : -1].tolist()


@pytest.mark.parametrize("t", [1, 2, 3])
def test_an_index_over_a_param_picks_one_column_or_row(t: int) -> None:
    rows = np.array(G)
    assert run("G[:, t - 1]", t=t) == rows[:, t - 1 : t].tolist()
    assert run("G[t, t - 1]", t=t) == [[rows[t, t - 1]]]
    assert run("G[1:3, :t]", t=t) == rows[1:3, :t].tolist()


def test_an_index_of_minus_one_over_params_is_the_last() -> None:
    assert run("G[n - 3]", n=2) == [G[-1]]
    assert run("G[:, t - 4]", t=3) == [[row[-1]] for row in G]


def test_literal_indexes_are_unchanged_and_keep_their_window() -> None:
    expr = compile_expr("G[2:4, -1]", KNOWN, params=PARAMS)
    assert expr.tree.window == (slice(2, 4), slice(-1, None))
    assert run("G[2:4, -1]") == [[22], [32]]
    assert compile_expr("G[n:2 * n]", KNOWN, params=PARAMS).tree.window is None  # known only at run time


def test_the_params_of_an_index_are_names_the_expression_reads() -> None:
    assert compile_expr("G[n:2 * n, t]", KNOWN, params=PARAMS).names == {"G", "n", "t"}


@pytest.mark.parametrize("source", ["G[x]", "G[:, x - 1]", "G[n:x]", "G[G]"])
def test_a_given_or_a_step_in_an_index_is_refused_by_name(source: str) -> None:
    with pytest.raises(ExpressionError, match=r"an index may use params only, not '[xG]'"):
        compile_expr(source, KNOWN, params=PARAMS)


def test_without_params_an_index_is_a_literal_as_before() -> None:
    with pytest.raises(ExpressionError, match="indexes must be whole-number literals"):
        compile_expr("G[n]", KNOWN)
    with pytest.raises(ExpressionError, match="indexes must be whole-number literals"):
        compile_expr("G[1 + 1]", KNOWN, params=PARAMS)  # no name: a literal is asked, as before
    with pytest.raises(ExpressionError, match="slices with a step"):
        compile_expr("G[0:n:2]", KNOWN, params=PARAMS)


def test_a_size_that_is_not_a_whole_number_or_out_of_range_is_an_evaluation_error() -> None:
    with pytest.raises(EvaluationError, match="not one whole number"):
        run("G[n / 4]", n=2)
    with pytest.raises(EvaluationError, match="selects nothing"):
        run("G[4 * n:]", n=2)
    with pytest.raises(EvaluationError, match="selects nothing"):
        run("G[:, t + 5]", t=3)


def test_static_bounds_stay_sound_over_slices() -> None:
    bounds = {"G": 73, "x": 5, "n": 16, "t": 16}
    expr = compile_expr("G[n:2 * n] * 2", KNOWN, bounds, params=PARAMS)
    assert expr.bound == 146
    env = batch_env({"n": 2, "t": 1}, {"G": np.array(G, dtype=np.int64), "x": np.array([[5]], dtype=np.int64)})
    assert expr.fast is not None
    assert expr.fast(env)[0].tolist() == (np.array(G)[2:4] * 2).tolist()
