"""Property-based: mutated templates and arbitrary `--givens` never crash the library.

(a) Start from the shipped templates, mutate their parsed YAML (a value replaced by another
type, a huge or non-finite number, text, an expression that would cost too much, nesting;
a key dropped; a key added) and dump it back: loading and sampling give a result or an
NnhandError, within a time and memory bound.
(b) Givens for several templates, arbitrary or huge: `engine.solve` and `api.solve_key`
give a result or an NnhandError, bounded; and an integer key from huge givens is exact,
checked against a recomputation with Python integers.
"""

from __future__ import annotations

import datetime
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnhand import api
from nnhand.core import engine
from nnhand.core.template import template_from_text
from nnhand.errors import NnhandError
from nnhand.resources import template_files

from .conftest import bounded
from .reference import mm

SECONDS = 15.0  # per example; the slowest shipped template rejects 20,000 draws in about 4 s
MEGABYTES = 200.0
# The suite runs the same 60 examples every time (a new random draw must not turn it red);
# NNHAND_FUZZ_EXAMPLES=2000 explores fresh ones.
EXPLORE = os.environ.get("NNHAND_FUZZ_EXAMPLES")
SETTINGS = settings(
    max_examples=int(EXPLORE or 60),
    deadline=datetime.timedelta(seconds=SECONDS),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    derandomize=EXPLORE is None,
    database=None,
)

SHIPPED = template_files()
# Templates whose rejection of every draw (a mutation often makes the constraints unsatisfiable)
# takes well under a second, so that 60 examples stay fast; the slow ones are fuzzed in (b).
QUICK = sorted(set(SHIPPED) - {"bce-loss", "lstm", "softmax-cross-entropy", "dropout", "softmax-temperature"})
SOURCES = {tid: SHIPPED[tid].read_text(encoding="utf-8") for tid in QUICK}


class _NoAliases(yaml.SafeDumper):
    """Dump a value shared twice in full: the mutation under test, not an alias, should reach nnhand."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


HOSTILE_TEXT = [
    "ones(30000, 30000)",
    "sum(ones(64, 64) @ ones(64, 64))",
    "zeros(-1, 2)",
    "3 ** (x * 1000000)",
    "x ** 4 ** 4",
    "softmax(x, base=0)",
    "x ** -1",
    "0 ** -1",
    "sqrt(-1)",
    "exp(1000)",
    "log(0)",
    "1 / 0",
    "__import__('os').system('true')",
    "x.__class__",
    "onehot(x, 1000000)",
    "hstack(" + ", ".join(["x"] * 100) + ")",
    "[1, 2]",
    "n * 1000000 * 1000000 * 1000000",
    "1e400",
    "nan",
    "-.inf",
    "9" * 400,
    "weights",
    "onehot",
    "vocabulary",
    "",
    "[/]\x1b[31m",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, -1, 2, 16, 17, 64, 65, 10**6, 10**7, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e308, 5e-324, 0.1, 0.33333, 1e-5]),
    st.text(max_size=10),
    st.sampled_from(HOSTILE_TEXT),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=20,
)
small = st.one_of(st.integers(-3, 9), st.sampled_from([0.5, 0.25, -0.5, 0.01, 1000, -1000, 1001]), scalars)
distributions = st.one_of(
    st.sampled_from(["weights", "bias", "inputs", "binary", "signs", "onehot", "gaussian"]),
    st.builds(lambda lo, hi: {"range": [lo, hi]}, small, small),
    st.builds(lambda table: {"set": table}, st.dictionaries(small.filter(lambda v: v is not None), small, max_size=4)),
    st.builds(lambda items: {"values": items}, st.lists(small, max_size=4)),
    st.builds(lambda k: {"simplex": k}, small),
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a parsed YAML tree, the root included."""
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += paths(value, (*prefix, i))
    return out


def at(tree: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


numbers = st.one_of(
    st.integers(min_value=-5, max_value=20),
    st.sampled_from([0, 1, 16, 17, 64, 10**6, 10**7, 2**63, 10**400, 0.5, 0.1, -0.25, 1e-5, 1e308]),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
)


@st.composite
def mutated_templates(draw: st.DrawFn) -> tuple[str, str]:
    """A shipped template's YAML with one to three mutations. Most keep the template's form
    (a number for a number, a distribution for a distribution), so that sampling and the
    solver see odd values, not only the validator."""
    tid = draw(st.sampled_from(QUICK))
    tree = yaml.safe_load(SOURCES[tid])
    for _ in range(draw(st.integers(1, 3))):
        places = paths(tree)[1:]
        path = places[draw(st.integers(0, len(places) - 1))]
        parent, key = at(tree, path[:-1]), path[-1]
        how = draw(st.sampled_from(["number", "number", "dist", "replace", "drop", "add"]))
        if how == "number":
            numeric = [p for p in places if isinstance(at(tree, p), (int, float)) and not isinstance(at(tree, p), bool)]
            if numeric:
                path = numeric[draw(st.integers(0, len(numeric) - 1))]
                at(tree, path[:-1])[path[-1]] = draw(numbers)
                continue
            how = "replace"
        if how == "dist" and isinstance(tree.get("givens"), dict) and tree["givens"]:
            name = draw(st.sampled_from(sorted(tree["givens"], key=str)))
            if isinstance(tree["givens"][name], dict):
                tree["givens"][name].pop("fixed", None)
                tree["givens"][name]["dist"] = draw(distributions)
                continue
        if how == "drop":
            del parent[key]
        elif how == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["dist", "fixed", "shape", "round", "bound", "extra", "words", "rows"]))] = (
                draw(values)
            )
        elif how == "add":
            parent.append(draw(values))
        else:
            parent[key] = draw(values)
        if not isinstance(tree, dict) or not tree:
            break
    return tid, yaml.dump(tree, Dumper=_NoAliases, allow_unicode=True, sort_keys=False)


def loads_and_samples(tid: str, text: str) -> None:
    """A result or an NnhandError; a result is a solved instance in the declared shapes."""
    try:
        template = template_from_text(text, Path(f"{tid}.yaml"))
        problem = engine.generate(template, 0)
    except NnhandError as exc:
        assert exc.render(), "an error without a message"
        return
    for step in template.for_params(problem.params).steps:  # the steps these params have (`when`)
        value = problem.values[step.name]
        assert value.ndim == 2 and value.shape == problem.exact[step.name].shape
        assert value.dtype != object or all(isinstance(v, Fraction) for v in value.ravel())


@SETTINGS
@given(case=mutated_templates())
def test_mutated_templates_give_a_result_or_a_message(case: tuple[str, str]) -> None:
    tid, text = case
    with bounded(SECONDS, MEGABYTES):
        loads_and_samples(tid, text)


@SETTINGS
@given(tid=st.sampled_from(QUICK), data=st.data())
def test_hostile_text_in_any_expression(tid: str, data: st.DataObject) -> None:
    """An expression, a shape or a dist replaced by one of the costly or unsafe forms."""
    tree = yaml.safe_load(SOURCES[tid])
    steps = tree["steps"]
    k = data.draw(st.integers(0, len(steps) - 1))
    hostile = data.draw(st.sampled_from(HOSTILE_TEXT))
    if isinstance(steps[k], dict) and "expr" in steps[k]:
        steps[k]["expr"] = hostile
    else:
        steps[k] = {"name": "hostile", "expr": hostile}
    given_name = data.draw(st.sampled_from(sorted(tree["givens"])))
    where = data.draw(st.sampled_from(["shape", "dist", "fixed", "none"]))
    if where == "shape":
        tree["givens"][given_name]["shape"] = [hostile]
    elif where != "none":
        tree["givens"][given_name].pop("dist", None)
        tree["givens"][given_name].pop("fixed", None)
        tree["givens"][given_name][where] = hostile
    with bounded(SECONDS, MEGABYTES):
        loads_and_samples(tid, yaml.dump(tree, Dumper=_NoAliases, allow_unicode=True, sort_keys=False))


# ----------------------------------------------------------------------------- (b) givens

GIVENS_TEMPLATES = ["matmul", "hidden-layer", "softmax-temperature", "batch-norm", "embedding", "vector-db", "lstm"]
big_ints = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.sampled_from([10**12, -(10**12), 10**9 + 7, 2**31, 10**8, 10**8 + 1, -(10**8) - 1, 0, 1, -1]),
)


@SETTINGS
@given(tid=st.sampled_from(GIVENS_TEMPLATES), data=st.data())
def test_arbitrary_givens_give_a_result_or_a_message(tid: str, data: st.DataObject) -> None:
    template = api.load(tid)
    names = sorted(template.givens)
    good = engine.generate(template, 1).nested_givens()
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    givens: dict[Any, Any] = dict(good)
    for name in chosen:
        givens[name] = data.draw(values)
    if data.draw(st.booleans()):
        givens[data.draw(st.text(max_size=5))] = data.draw(values)
    if data.draw(st.booleans()) and names:
        givens.pop(data.draw(st.sampled_from(names)), None)
    with bounded(SECONDS, MEGABYTES):
        try:
            engine.solve(template, givens)
        except NnhandError as exc:
            assert exc.render()


@SETTINGS
@given(data=st.data())
def test_arbitrary_givens_files_give_a_result_or_a_message(tmp_path_factory: Any, data: st.DataObject) -> None:
    tid = data.draw(st.sampled_from(GIVENS_TEMPLATES))
    template = api.load(tid)
    givens: Any = data.draw(st.one_of(values, st.dictionaries(st.sampled_from(sorted(template.givens)), values)))
    path = tmp_path_factory.mktemp("givens") / "givens.yaml"
    path.write_text(yaml.dump(givens, Dumper=_NoAliases, allow_unicode=True))
    with bounded(SECONDS, MEGABYTES):
        try:
            api.solve_key(tid, None, None, path)
        except NnhandError as exc:
            assert exc.render()


def as_ints(arr: np.ndarray) -> list[list[int]]:
    out = []
    for row in arr.tolist():
        assert all(Fraction(v).denominator == 1 for v in row)
        out.append([int(v) for v in row])
    return out


@st.composite
def matrices(draw: st.DrawFn, rows: int, cols: int) -> list[list[int]]:
    return [[draw(big_ints) for _ in range(cols)] for _ in range(rows)]


@SETTINGS
@given(data=st.data(), m=st.integers(1, 6), k=st.integers(1, 6), n=st.integers(1, 6))
def test_matmul_keys_from_huge_givens_are_exact(data: st.DataObject, m: int, k: int, n: int) -> None:
    a, b = data.draw(matrices(m, k)), data.draw(matrices(k, n))
    with bounded(SECONDS, MEGABYTES):
        problem = engine.solve(api.load("matmul"), {"A": a, "B": b}, {"m": m, "k": k, "n": n})
    assert as_ints(problem.values["C"]) == mm(a, b)
    assert as_ints(problem.exact["C"]) == mm(a, b)


@SETTINGS
@given(data=st.data())
def test_hidden_layer_keys_from_huge_givens_are_exact(data: st.DataObject) -> None:
    x, w1, b1 = data.draw(matrices(3, 1)), data.draw(matrices(4, 3)), data.draw(matrices(4, 1))
    w2, b2 = data.draw(matrices(2, 4)), data.draw(matrices(2, 1))
    givens = {"x": [r[0] for r in x], "W1": w1, "b1": [r[0] for r in b1], "W2": w2, "b2": [r[0] for r in b2]}
    with bounded(SECONDS, MEGABYTES):
        problem = engine.solve(api.load("hidden-layer"), givens)
    z1 = [[r[0] + c[0]] for r, c in zip(mm(w1, x), b1)]
    h = [[max(r[0], 0)] for r in z1]
    z2 = [[r[0] + c[0]] for r, c in zip(mm(w2, h), b2)]
    assert as_ints(problem.values["z1"]) == z1
    assert as_ints(problem.values["h"]) == h
    assert as_ints(problem.values["z2"]) == z2
    assert as_ints(problem.values["y"]) == [[max(r[0], 0)] for r in z2]


def test_a_step_reading_what_its_params_leave_out_is_a_message(tmp_path: Path) -> None:
    """Found by the fuzzer: rnn-tanh's a8 without its `when:` reads h7, which 3 time steps
    leave out; backprop's y_pred constraint without its `when:` reads a given of the other
    softmax_out. A message naming the step, the name and the params; never a KeyError."""
    cases = [("rnn-tanh", "steps", "a8", "h7"), ("backprop", "constraints", "dot(y_pred", "y_pred")]
    for template_id, section, which, missing in cases:
        data = yaml.safe_load(template_files()[template_id].read_text())
        for item in data[section]:
            if item.get("name") == which or str(item.get("expr", "")).startswith(which):
                item.pop("when")
        try:
            template_from_text(yaml.safe_dump(data), tmp_path / f"{template_id}.yaml")
        except NnhandError as exc:
            assert f"reads {missing}, which these params" in str(exc) and "when" in str(exc), exc
        else:
            raise AssertionError(f"{template_id}: {which} without its when: was accepted")
