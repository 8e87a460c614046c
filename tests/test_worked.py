"""Worked solutions for every shipped template: each op writes its own arithmetic (issue 10).

For every asked cell of one seed of every shipped template, the worked line is more than
`NAME = value` and ends in the key's value (read back from the key data, not from the
explainer's own formatting). A few lines are pinned exactly, each computed by hand from the
givens written in the test (the arithmetic is in the comments).
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nnhand import api
from nnhand.core.engine import Problem
from nnhand.core.explain import explain_problem
from nnhand.core.keys import key_data
from nnhand.ops.registry import lookup
from nnhand.resources import template_files

TEMPLATES = sorted(template_files([]))
SEED = 1
NUMBER = re.compile(r"\(?[−-]?[\d.]+(/\d+)?\)?")


def test_every_template_is_found() -> None:
    assert len(TEMPLATES) >= 34


def _key_cells(problem: Problem, name: str) -> list[Any]:
    """The key's answers of one step, cell by cell in row-major order (as the key data has them)."""
    value = key_data(problem)["answers"][name]
    rows, cols = problem.values[name].shape
    return list(np.array(value, dtype=object).reshape(rows * cols))


def _as_number(text: str) -> Fraction:
    return Fraction(text.replace("−", "-").strip())


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_every_asked_cell_has_worked_arithmetic_ending_in_the_key(template_id: str) -> None:
    problem = api.generate(template_id, seed=SEED).problem
    worked = explain_problem(problem)
    asked = [s.name for s in problem.template.steps if s.asked]
    assert sorted(worked) == sorted(asked)
    for name, lines in worked.items():
        key = _key_cells(problem, name)
        assert len(lines) == len(key)
        for line, want in zip(lines, key):
            parts = re.split(r" = | ≈ ", line)
            assert len(parts) >= 3, f"a bare line: {line}"
            between = parts[1:-1]
            assert any(not NUMBER.fullmatch(p) for p in between), f"no arithmetic: {line}"
            if problem.template.step(name).words:  # a name (nn.ReLU): the line ends in the word
                assert parts[-1] == want, line
                continue
            assert _as_number(parts[-1]) == Fraction(str(want)), line


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_every_op_of_a_shipped_step_has_a_worked_writer(template_id: str) -> None:
    template = api.load(template_id)
    for step in template.steps:
        for node in step.expr.tree.walk():
            if node.kind in ("call", "binop") or (node.kind == "unary" and node.op == "neg"):
                op = lookup(node)
                assert op is not None and op.worked is not None, (template_id, step.name, node.source)


# ----------------------------------------------------------------------------- lines by hand


def test_rnn_writes_the_recurrence() -> None:
    givens = {"x": [[2, 0, 3, 2]], "A": [[1, -1], [1, 0]], "B": [[1], [-1]], "C": [[-1, 0]], "h0": [0, 0]}
    lines = explain_problem(api.solve("rnn", givens))["H"]
    # h_1 = ReLU(A·0 + B·2) = ReLU([2, -2]) = [2, 0]; h_2 = ReLU([2 - 0 + 0, 2 + 0 - 0]) = [2, 2];
    # h_3[2] = ReLU(1·2 + 0·2 + (−1)·3) = ReLU(−1) = 0. H is 2 x 4, row-major: H[2,3] is line 6.
    assert lines[0] == (
        "H[1,1] = h_1[1] = ReLU((A[1,1])(h_0[1]) + (A[1,2])(h_0[2]) + (B[1,1])(x_1))"
        " = ReLU((1)(0) + (−1)(0) + (1)(2)) = ReLU(2) = 2"
    )
    assert lines[6] == (
        "H[2,3] = h_3[2] = ReLU((A[2,1])(h_2[1]) + (A[2,2])(h_2[2]) + (B[2,1])(x_3))"
        " = ReLU((1)(2) + (0)(2) + (−1)(3)) = ReLU(−1) = 0"
    )


SWITCH = {
    "X": [[1, 0, 5, 1, 2], [2, 2, 1, 0, 2], [6, 2, 1, 2, 2]],
    "A": [[0, 0, 0, 1, 0], [0, 1, 1, 0, 0], [1, 0, 1, 1, 1], [1, 1, 1, 1, 0], [0, 0, 0, 0, 1]],
    "S": [[0, 1, 1], [1, 1, -1], [1, 1, 0]],
    "E1": [[1, -1, -1], [-1, 0, 1], [0, 1, 0]],
    "c1": [-1, 1, 0],
    "E2": [[0, -1, 1], [0, -1, 0], [1, -1, 0]],
    "c2": [-1, -1, -1],
    "E3": [[0, 0, -1], [0, -1, 0], [1, 1, 1]],
    "c3": [-1, 0, 0],
}


def test_switch_routing_writes_the_argmax_and_the_capacity_count() -> None:
    worked = explain_problem(api.solve("switch-transformer", SWITCH, {"capacity": 2}))
    # Z[:,1] = X·A[:,1] = [6, 1, 3]; G[:,1] = S·Z[:,1] = [4, 4, 7]: token 1 goes to expert 3.
    assert worked["route"][0] == "route[1,1] = the row of the largest of 4, 4, 7 = 3"
    # Z[:,3] = [6, 3, 5], G = [8, 4, 9]: expert 3 again, its 2nd token; E3[1,:]·Z[:,3] + c3[1] = −5 − 1.
    assert worked["Y"][2] == (
        "Y[1,3] = route[1,3] is 3: expert 3 takes it (2nd of capacity 2)"
        " = (E3[1,1])(Z[1,3]) + (E3[1,2])(Z[2,3]) + (E3[1,3])(Z[3,3]) + c3[1]"
        " = (0)(6) + (0)(3) + (−1)(5) + (−1) = −6"
    )
    # Z[:,5] = [7, 3, 3], G = [6, 7, 10]: expert 3, already full with tokens 1 and 3.
    assert worked["Y"][4] == (
        "Y[1,5] = route[1,5] is 3: expert 3 is full (capacity 2, taken by tokens 1 and 3),"
        " so it passes as it is = Z[1,5] = 7"
    )


def test_scaled_scores_write_the_rounding_rule() -> None:
    """The first odd positive score S[1,j] of a default sheet, recomputed here from the givens
    (S = Kᵀ·Q with K = WK·X, Q = WQ·X), is halved and rounded up (halves away from zero)."""
    for seed in range(20):
        problem = api.generate("self-attention", seed=seed).problem
        X, WQ, WK = (np.array(problem.givens[n], dtype=object) for n in ("X", "WQ", "WK"))
        s_row = [int(v) for v in (WK @ X[:, 0]) @ (WQ @ X)]  # key 1 against every query
        odd = [j for j, v in enumerate(s_row) if v > 0 and v % 2]
        if odd:
            j = odd[0]
            v = s_row[j]
            line = explain_problem(problem)["D"][j]  # row 1 of D: its cells come first
            assert line == f"D[1,{j + 1}] = round(({v}) / 2) = round({v / 2}), halves away from 0 = {(v + 1) // 2}"
            return
    raise AssertionError("no odd positive score in the first row of 20 sheets")


def test_causal_mask_names_the_masked_cells() -> None:
    worked = explain_problem(api.generate("causal-attention", seed=1).problem)
    assert worked["M"][4] == "M[2,1] = masked: key 2 comes after query 1 = −99"  # 4 x 4: line 4 is M[2,1]
    assert worked["E"][4] == "E[2,1] = 3^(−99), masked: written 0 = 0"


def test_vector_db_lookup_names_the_word_taken() -> None:
    problem = api.generate("vector-db", seed=1).problem
    g = problem.nested_givens()
    word = g["stored"][0].split()[0]
    vocabulary = ["how", "are", "you", "who", "is", "it", "what", "where", "they"]
    w, e, b = g["W"][0], [row[vocabulary.index(word)] for row in g["E"]], g["b"][0]
    total = sum(x * y for x, y in zip(w, e)) + b  # by hand, from the givens

    def num(v: int) -> str:
        return str(v).replace("-", "−")

    terms = " + ".join(f"(W[1,{i}])(E[{i},{word}])" for i in range(1, 5))
    products = " + ".join(f"({num(x)})({num(y)})" for x, y in zip(w, e))
    assert explain_problem(problem)["T1"][0] == (
        f"T1[1,1] = ReLU({terms} + b[1]) = ReLU({products} + ({num(b)})) = ReLU({num(total)}) = {max(total, 0)}"
    )
    worked = explain_problem(problem)
    first = [s.split()[0] for s in g["stored"]]
    assert f"E[1,{g['query'].split()[0]}]" in worked["Tq"][0] and f"E[1,{first[1]}]" in worked["T2"][0]
    assert worked["nearest"][0].startswith("nearest = the row of the largest of ")


def test_no_module_but_expr_parses_expression_text() -> None:
    package = Path(api.__file__).parent
    readers = [p.name for p in package.rglob("*.py") if re.search(r"\bast\.", p.read_text()) and p.name != "expr.py"]
    assert readers == []


TWICE = """\
id: twice
version: 1
title: Twice
givens:
  x: {shape: [2], dist: {range: [-3, 3]}}
steps:
  - {name: y, expr: "twice(x)", label: "y = 2x"}
realism: {relu_zeroes_some: false}
"""


def test_a_new_op_with_its_worked_form_is_one_registration(tmp_path: Path) -> None:
    from nnhand.ops.registry import OPS, register
    from nnhand.ops.written import Part, num

    def worked(work: Any, node: Any, i: int, j: int) -> Part:
        x = work.at(work.value(node.args[0]), i, j)
        return Part(f"2 × {num(x)}", work.at(work.value(node), i, j))

    @register(worked=worked)
    def twice(x: np.ndarray) -> np.ndarray:
        """2x, cell by cell."""
        return x * 2

    try:
        (tmp_path / "twice.yaml").write_text(TWICE)
        problem = api.solve("twice", {"x": [3, -2]}, problems_dirs=[str(tmp_path)])
        assert explain_problem(problem)["y"] == ["y[1] = 2 × 3 = 6", "y[2] = 2 × −2 = −4"]
    finally:
        del OPS["twice"]
