"""The expression language: safe by construction, exact arithmetic, batch-aware."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from nnhand.core.expr import compile_expr, evaluate_scalar
from nnhand.errors import EvaluationError, ExpressionError
from nnhand.values import constant


def env(**arrays: list) -> dict[str, np.ndarray]:
    return {k: np.array(v, dtype=np.int64)[None] if not isinstance(v, int) else constant(v) for k, v in arrays.items()}


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "x.__class__",
        "x.shape",
        "open('f')",
        "eval('1')",
        "getattr(x, 'T')",
        "9**9**9",
        "x ** 5",
        "x ** y",
        "[v for v in x]",
        "{1: 2}",
        "lambda: 1",
        "x if x else x",
        "x // 2",
        "x % 2",
        "x[y]",
        "(y := 1)",
        "_x",
        "f'{x}'",
        "relu",
        "relu(x, x)",
        "softmax(x, temperature=2)",
        "x @",
        "",
    ],
)
def test_unsafe_or_invalid_expressions_are_refused(source: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expr(source, {"x", "y"})


def test_unknown_names_are_named() -> None:
    with pytest.raises(ExpressionError, match="unknown name 'z'"):
        compile_expr("x + z", {"x"})


def test_integer_maths_stays_integer_and_division_is_exact() -> None:
    e = env(W=[[1, -1], [0, 2]], x=[[3], [4]])
    z = compile_expr("W @ x + 1", e.keys())(e)
    assert z.dtype == np.int64 and z[0].ravel().tolist() == [0, 9]
    third = compile_expr("x / 3", e.keys())(e)
    assert third[0].ravel().tolist() == [Fraction(1), Fraction(4, 3)]
    assert compile_expr("x / 2 * 2", e.keys())(e).dtype == np.int64  # back to whole numbers


def test_powers_of_three_and_softmax_are_exact() -> None:
    e = env(S=[[0, 1], [-1, 2], [1, 0]])
    assert compile_expr("3 ** S", e.keys())(e)[0].tolist() == [[1, 3], [Fraction(1, 3), 9], [3, 1]]
    a = compile_expr("softmax(S)", e.keys())(e)[0]
    # column 1: 1, 1/3, 3 over 13/3 -> 3/13, 1/13, 9/13
    assert a[:, 0].tolist() == [Fraction(3, 13), Fraction(1, 13), Fraction(9, 13)]
    assert sum(a[:, 1]) == 1


def test_runtime_bounds() -> None:
    e = env(S=[[30]])
    with pytest.raises(EvaluationError, match="exponent"):
        compile_expr("3 ** S", e.keys())(e)
    with pytest.raises(EvaluationError, match="division by zero"):
        compile_expr("S / (S - S)", e.keys())(e)
    with pytest.raises(EvaluationError, match="cannot multiply"):
        compile_expr("S @ ones(2, 2)", e.keys())(e)


def test_transpose_indexing_and_comparisons() -> None:
    e = env(X=[[1, 2, 3], [4, 5, 6]])
    assert compile_expr("X.T", e.keys())(e)[0].tolist() == [[1, 4], [2, 5], [3, 6]]
    assert compile_expr("X[1, 2]", e.keys())(e)[0].tolist() == [[6]]
    assert compile_expr("X[:, 0]", e.keys())(e)[0].tolist() == [[1], [4]]
    assert compile_expr("all(0 < X <= 6) and not any(X > 6)", e.keys())(e).ravel().tolist() == [True]


def test_ops_work_on_a_batch_of_candidates() -> None:
    batch = {"x": np.array([[[1], [-2]], [[-3], [4]]])}
    relu = compile_expr("relu(x)", batch.keys())(batch)
    assert relu.shape == (2, 2, 1) and relu[:, :, 0].tolist() == [[1, 0], [0, 4]]
    assert compile_expr("any(x < -2)", batch.keys())(batch).ravel().tolist() == [False, True]


def test_size_expressions() -> None:
    assert evaluate_scalar("n + 1", {"n": 3}) == 4
    with pytest.raises(ExpressionError):
        evaluate_scalar("n / 2", {"n": 3})


# ----------------------------------------------------------------------------- the compiled tree


def test_the_compiled_tree_offers_operands_arguments_and_source_segments() -> None:
    e = env(W=[[1, -1], [2, 0]], x=[[3], [4]], b=[[-5], [1]])
    expr = compile_expr("  relu(W @ x + b)  ", e.keys())
    root = expr.tree
    assert (root.kind, root.op, root.source) == ("call", "relu", "relu(W @ x + b)")
    (pre,) = root.args
    assert (pre.kind, pre.op, pre.source) == ("binop", "+", "W @ x + b")
    product, bias = pre.args
    assert (product.op, [a.source for a in product.args], bias.source) == ("@", ["W", "x"], "b")
    assert pre.names == {"W", "x", "b"} and root.calls == {"relu"} and pre.calls == frozenset()
    # Each node evaluates on its own: W @ x = [3 - 4, 6] = [-1, 6]; + b = [-6, 7]; relu: [0, 7].
    assert product(e)[0].tolist() == [[-1], [6]]
    assert pre.expr()(e)[0].tolist() == [[-6], [7]] and pre.expr().names == {"W", "x", "b"}
    assert expr(e)[0].tolist() == [[0], [7]]
    assert [n.source for n in root.walk()] == ["relu(W @ x + b)", "W @ x + b", "W @ x", "W", "x", "b"]


def test_the_tree_keeps_keywords_unary_transpose_and_index_nodes() -> None:
    e = env(S=[[0, 1], [2, 0]])
    root = compile_expr("-softmax(S.T[0:2], base=2)", e.keys()).tree
    assert (root.kind, root.op) == ("unary", "neg")
    (call,) = root.args
    assert (call.op, dict(call.keywords)) == ("softmax", {"base": 2})
    (index,) = call.args
    assert (index.kind, index.source, index.args[0].kind, index.args[0].source) == (
        "index",
        "S.T[0:2]",
        "transpose",
        "S.T",
    )
    assert not hasattr(compile_expr("S", e.keys()), "top_call")  # removed: the tree says it


def test_source_segments_across_lines() -> None:
    e = env(a=[[1]], b=[[2]], c=[[3]])
    root = compile_expr("(a +\n  (b * c))", e.keys()).tree
    assert [n.source for n in root.walk()] == ["a +\n  (b * c)", "a", "b * c", "b", "c"]
    assert root.args[1].expr()(e)[0].tolist() == [[6]]
