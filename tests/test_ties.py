"""No ties where a choice decides (issue 9, requirement 4).

A step that picks something -- the row of a column's largest value (argmax), the sign of
a cell (the ReLU mask, a dropout keep), the interval a random number falls in (sampling),
a comparison -- must pick it clearly: if two rows tie for the largest value, the key names
one of them and a learner who names the other is marked wrong.

The templates under test are derived, not listed: every step that calls an op of
`ops.DECIDING_OPS`, or compares two quantities. For each, seeds are generated in-process
(2,000 where a maximum decides, the issue's bar; 500 as a guard for the signs, thresholds
and comparisons, which their templates already keep clear) and a plain-Python check runs
over the solved values. What it asks is what the grader needs:
a learner may hold any value the grader accepts for the quantity the choice reads (the key
computed from rounded intermediate values, the exact one, everything between, and half a
unit of the last decimal either side where the step rounds). Whatever values they hold
from those ranges, they must make the same choice as the key: the largest row's whole
range lies above every other row's range; a sign's range does not contain 0; a random
number lies in no cumulative value's range.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from nnhand import api
from nnhand.core.engine import Problem, _checks, generate, solve
from nnhand.core.expr import compile_expr
from nnhand.core.template import Step, Template
from nnhand.ops import arrays as ops
from nnhand.ops.registry import OPS
from nnhand.values import constant

from .conftest import TEMPLATE_IDS
from .reference import unique_max_cols

SEEDS = range(2000)  # where a maximum decides
GUARD_SEEDS = range(500)  # the other choices
Ranges = list[list[tuple[Fraction, Fraction]]]  # (lowest, highest) accepted value of each cell


@dataclass(frozen=True)
class Decision:
    step: Step
    kind: str  # "maximum", "sign", "threshold" (from ops.DECIDING_OPS) or "comparison"
    args: tuple[str, ...]  # the source of what the choice reads
    whole: bool  # the step's value is the choice itself (not a choice inside a formula)


def decisions(template: Template) -> list[Decision]:
    """Every choice a step makes: calls of deciding ops, and comparisons, found in the syntax tree."""
    found = []
    for step in template.steps:
        tree = ast.parse(step.expr.source, mode="eval").body
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ops.DECIDING_OPS:
                args = tuple(ast.unparse(a) for a in node.args)
                found.append(Decision(step, ops.DECIDING_OPS[node.func.id], args, node is tree))
            elif isinstance(node, ast.Compare):
                assert len(node.ops) == 1, f"{template.id}: {step.name}: split the chained comparison"
                sides = (ast.unparse(node.left), ast.unparse(node.comparators[0]))
                found.append(Decision(step, "comparison", sides, False))
    return found


TEMPLATES = {tid: api.load(tid) for tid in TEMPLATE_IDS}
DECIDING = {tid: found for tid, t in TEMPLATES.items() if (found := decisions(t))}
BY_MAXIMUM = sorted(tid for tid, found in DECIDING.items() if any(d.kind == "maximum" for d in found))


# ----------------------------------------------------------------------------- the helper


def naive_unique_max(x: np.ndarray, margin: Fraction) -> list[list[list[bool]]]:
    """Per candidate and column: does the largest value beat every other by `margin`? Loops only."""
    return [[unique_max_cols(candidate, margin)] for candidate in x.tolist()]


def test_unique_max_matches_a_naive_loop() -> None:
    rng = np.random.default_rng(9)
    for trial in range(300):
        batch, rows, cols = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 4))
        ints = rng.integers(-3, 4, size=(batch, rows, cols))
        if trial % 3 == 0:
            x = ints.astype(np.int64)
        elif trial % 3 == 1:  # exact thirds and hundredths, as the rounded steps hold them
            x = np.empty(ints.shape, dtype=object)
            x.ravel()[:] = [Fraction(int(v), int(rng.choice([1, 3, 100]))) for v in ints.ravel()]
        else:
            x = ints / 4.0
        margin = [Fraction(1), Fraction(1, 2), Fraction(1, 100), Fraction(2)][trial % 4]
        got = OPS["unique_max"].fn(x, constant(margin))
        assert got.dtype == bool and got.shape == (batch, 1, cols)
        assert got.tolist() == naive_unique_max(x, margin), (x.tolist(), margin)


def test_unique_max_on_hand_picked_columns() -> None:
    scores = np.array([[[0], [8]], [[5], [5]], [[3], [2]]], dtype=np.int64).reshape(3, 2, 1)
    assert ops.unique_max(scores, constant(1)).ravel().tolist() == [True, False, True]
    assert ops.unique_max(scores, constant(2)).ravel().tolist() == [True, False, False]
    thirds = np.array([[[Fraction(0)], [Fraction(8, 9)], [Fraction(8, 9)]]], dtype=object)  # issue 9
    assert ops.unique_max(thirds, constant(0.5)).tolist() == [[[False]]]
    one_row = np.array([[[4, -1]]], dtype=np.int64)
    assert ops.unique_max(one_row, constant(1)).tolist() == [[[True, True]]]


@pytest.mark.parametrize("margin", [0, -1])
def test_unique_max_refuses_a_margin_that_lets_rows_tie(margin: int) -> None:
    with pytest.raises(ops.EvaluationError, match="above 0"):
        ops.unique_max(np.zeros((1, 2, 1), dtype=np.int64), constant(margin))


# ----------------------------------------------------------------------------- which templates decide


PICKS = re.compile(r"\bnp\.arg(max|min|sort|partition)\b|\b(" + "|".join(ops.DECIDING_OPS) + r")\(")


def picks_a_row(op_name: str) -> bool:
    """Does the op's code take the position of an extreme, or call a deciding op?"""
    body = inspect.getsource(OPS[op_name].fn).split("\n", 2)[-1]  # without the decorator and def lines
    return bool(PICKS.search(body))


def test_every_op_that_picks_a_row_is_a_deciding_op() -> None:
    """The table is what the templates are found by: an op that picks a row must be in it."""
    assert picks_a_row("argmax")  # the scan sees what it looks for
    for name in OPS:
        if name not in ops.DECIDING_OPS:
            assert not picks_a_row(name), f"{name} picks a row or calls a deciding op: add it to DECIDING_OPS"


def test_templates_that_are_not_tested_here_choose_nothing() -> None:
    assert {"vector-db", "moe", "switch-transformer", "unembedding"} <= set(BY_MAXIMUM)
    for tid, template in TEMPLATES.items():
        if tid not in DECIDING:
            called = set().union(*(s.expr.calls for s in template.steps))
            assert not [op for op in called if op in ops.DECIDING_OPS or picks_a_row(op)], tid


@pytest.mark.parametrize("template_id", BY_MAXIMUM)
def test_every_argmax_template_uses_the_shared_constraint(template_id: str) -> None:
    template = TEMPLATES[template_id]
    assert any("unique_max" in c.expr.calls for c in template.constraints), (
        f"{template_id} decides by a maximum: rule out ties with a unique_max(x, margin) constraint"
    )


# ----------------------------------------------------------------------------- 2,000 seeds each


def cells(arr: np.ndarray) -> list[list[Fraction]]:
    return [[Fraction(v) for v in row] for row in np.asarray(arr).tolist()]


def accepted_ranges(template: Template, problem: Problem, source: str) -> Ranges:
    """What the grader accepts for each cell of `source`: key and exact, the span, ± half a unit."""
    names = set(template.givens) | set(template.params) | {s.name for s in template.steps}
    expr = compile_expr(source, names)
    if source in template.givens or source in template.params:
        half = Fraction(0)
    elif any(s.name == source for s in template.steps):
        decimals = template.step(source).decimals
        half = Fraction(0) if decimals is None else Fraction(1, 2 * 10**decimals)
    else:  # a formula: only of numbers printed as given, so that its value is exactly known
        assert expr.names <= set(template.givens) | set(template.params), (
            f"{template.id}: a choice reads '{source}', a formula of computed steps: name it as a step"
        )
        half = Fraction(0)
    base: dict[str, np.ndarray] = {k: constant(v) for k, v in problem.params.items()}
    base.update({k: v[None] for k, v in problem.givens.items()})
    key = cells(expr({**base, **{k: v[None] for k, v in problem.values.items()}})[0])
    exact = cells(expr({**base, **{k: v[None] for k, v in problem.exact.items()}})[0])
    return [[(min(a, b) - half, max(a, b) + half) for a, b in zip(r, s)] for r, s in zip(key, exact)]


def at(ranges: Ranges, i: int, j: int) -> tuple[Fraction, Fraction]:
    """Cell [i, j], a single row or column standing for every one (NumPy broadcasting)."""
    row = ranges[i if len(ranges) > 1 else 0]
    return row[j if len(row) > 1 else 0]


def unclear(decision: Decision, template: Template, problem: Problem) -> str | None:
    """Why this instance's choice is not clear, or None."""
    ranges = [accepted_ranges(template, problem, a) for a in decision.args]
    chosen = [cells(problem.values[decision.step.name]), cells(problem.exact[decision.step.name])]
    if decision.kind == "maximum":
        (x,) = ranges
        for j in range(len(x[0])):
            best = max(range(len(x)), key=lambda i: x[i][j][0])
            lowest = x[best][j][0]
            for i in range(len(x)):
                if i != best and x[i][j][1] >= lowest:
                    return f"column {j + 1}: row {i + 1} (up to {x[i][j][1]}) reaches row {best + 1} ({lowest})"
            if decision.whole and any(c[0][j] != best + 1 for c in chosen):
                return f"column {j + 1}: the key says {chosen[0][0][j]}, the largest is row {best + 1}"
    elif decision.kind == "sign":
        for i, row in enumerate(ranges[0]):
            for j, (low, high) in enumerate(row):
                if low <= 0 <= high:
                    return f"cell [{i + 1},{j + 1}] of {decision.args[0]} may be 0 ({low} to {high})"
    elif decision.kind in ("threshold", "comparison"):
        a, b = ranges  # sample(c, r): c against r; a comparison: one side against the other
        for i in range(max(len(a), len(b))):
            for j in range(max(len(a[0]), len(b[0]))):
                (a_low, a_high), (b_low, b_high) = at(a, i, j), at(b, i, j)
                if a_low <= b_high and b_low <= a_high:
                    return f"{decision.args[0]} ({a_low} to {a_high}) meets {decision.args[1]} ({b_low} to {b_high})"
        for j in range(len(a[0]) if decision.kind == "threshold" else 0):
            first = next(i for i in range(len(a)) if at(b, i, j)[1] < a[i][j][0])
            if decision.whole and any(p[0][j] != first + 1 for p in chosen):
                return f"column {j + 1}: the key says {chosen[0][0][j]}, r falls in row {first + 1}"
    else:
        raise AssertionError(f"no naive check for a '{decision.kind}' decision: write one")
    return None


def ties(template: Template, seeds: range) -> Iterator[tuple[int, str]]:
    for seed in seeds:
        problem = generate(template, seed)
        for decision in decisions(problem.template):  # the steps that exist for these params
            why = unclear(decision, problem.template, problem)
            if why:
                yield seed, f"{problem.variant}: {decision.step.name}: {why}"


@pytest.mark.parametrize("template_id", sorted(DECIDING))
def test_no_choice_ties_over_many_seeds(template_id: str) -> None:
    seeds = SEEDS if template_id in BY_MAXIMUM else GUARD_SEEDS
    failures = list(ties(TEMPLATES[template_id], seeds))
    assert not failures, f"{len(failures)} of {len(seeds)} seeds: " + "; ".join(why for _, why in failures[:3])


# ----------------------------------------------------------------------------- the instance of the issue

ISSUE_927 = {  # vector-db@1#927: scores 0, 8/9, 8/9 (0, 0.9, 0.9 rounded), and the key said 2
    "E": [
        [1, 2, 0, 2, 1, 1, 1, 1, 2],
        [1, 1, 0, 0, 0, 1, 0, 1, 1],
        [2, 0, 0, 0, 1, 0, 1, 0, 1],
        [1, 0, 0, 1, 1, 1, 0, 0, 0],
    ],
    "W": [[0, 0, -1, 1], [0, 1, 1, 0], [1, 1, 1, 1], [-1, 0, 0, 0]],
    "b": [0, 0, 0, 1],
    "P": [[-1, 1, 0, 1], [-1, 1, 0, -1]],
    "stored": ["who is it", "where are you", "where is it"],
    "query": "what is it",
}


def test_the_tied_instance_of_the_issue_is_refused() -> None:
    template = TEMPLATES["vector-db"]
    problem = solve(template, ISSUE_927)
    assert [Fraction(v) for v in problem.exact["scores"].ravel()] == [0, Fraction(8, 9), Fraction(8, 9)]
    env: dict[str, Any] = problem.env()  # params as constants, givens and steps with a batch axis
    names = set(env)
    old_rule = compile_expr("max(scores) - max(where(scores == max(scores), -99, scores)) >= 0.5", names)
    assert np.all(old_rule(env)), "version 1 masked both tied scores and accepted the instance"
    tie_rules = [c for c in template.constraints if "unique_max" in c.expr.calls]
    assert tie_rules and not any(np.all(c.expr(env)) for c in tie_rules)
    assert [c.why for c in _checks(template) if not np.all(c.test(env))]


def test_seed_927_of_vector_db_no_longer_ties() -> None:
    template = TEMPLATES["vector-db"]
    assert list(ties(template, range(927, 928))) == []
    problem = generate(template, 927)
    scores = [Fraction(v) for v in problem.exact["scores"].ravel()]
    assert sorted(scores)[-1] > sorted(scores)[-2]


def test_a_template_that_picks_by_argmax_without_the_constraint_is_refused(tmp_path: Any) -> None:
    from nnhand.core.template import template_from_text
    from nnhand.errors import TemplateError

    text = """
id: pick
version: 1
title: Pick
givens:
  s: {shape: [3], dist: {range: [0, 4]}}
steps:
  - {name: top, expr: "argmax(s)"}
"""
    with pytest.raises(TemplateError, match=r"steps\.top\.expr: picks by argmax"):
        template_from_text(text, tmp_path / "pick.yaml")
    fixed = text.replace("steps:", 'constraints:\n  - "unique_max(s, 1)"\nsteps:')
    template = template_from_text(fixed, tmp_path / "pick.yaml")
    for seed in range(50):
        values = generate(template, seed).givens["s"].ravel().tolist()
        assert values.count(max(values)) == 1, (seed, values)  # a plain count: the top is unique
