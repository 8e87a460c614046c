"""Hostile templates and givens: exit 2 with a message naming the file and key (or the given
and the step), never a traceback; bounded time and memory; integer keys exact or refused.

Issue 9, requirements 6 and 8 for templates and `--givens`. Every expected number here is
computed independently with Python integers or Fractions, never by nnhand's own rules.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.core import engine, template
from nnhand.core.template import template_from_text
from nnhand.errors import ConstraintError, GivensError, NnhandError, TemplateError

from .conftest import bounded
from .reference import mm

runner = CliRunner()
HERE = Path("x.yaml")


def text_of(givens: dict[str, Any], steps: list[Any], **top: Any) -> str:
    return yaml.safe_dump({"id": "x", "version": 1, "title": "t", "givens": givens, "steps": steps, **top})


def simple(**top: Any) -> str:
    """A template of one weights vector and one step, with top-level keys replaced."""
    data: dict[str, Any] = {"givens": {"a": {"shape": [2], "dist": "weights"}}, "steps": [{"y": "a + 1"}], **top}
    return text_of(**data)


def refused(text: str, *fragments: str, error: type[NnhandError] = TemplateError) -> NnhandError:
    """Loading and sampling `text` fails with `error`, naming the file and every fragment."""
    with bounded(), pytest.raises(error) as info:
        engine.generate(template_from_text(text, HERE), 0)
    message = info.value.render()
    assert "x.yaml" in message, message
    for fragment in fragments:
        assert fragment in message, message
    return info.value


# ----------------------------------------------------------------------------- YAML itself


def test_an_alias_bomb_inside_a_template_is_refused_at_once() -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = "\n".join(lines) + "\n" + simple()
    refused(bomb, "anchor or alias")


def test_a_single_alias_is_refused_too() -> None:
    refused(simple(title="t").replace("title: t", "title: &t t\nsummary: *t"), "anchor or alias")


def test_duplicate_keys_are_an_error_naming_both_lines() -> None:
    text = "id: x\nversion: 1\ntitle: t\ngivens:\n  a: {shape: [2], dist: weights}\n  a: {shape: [3], dist: bias}\n"
    text += "steps:\n  - y: a + 1\n"
    error = refused(text, "'a' appears twice", "lines 5 and 6")
    assert error.where is not None and error.where.endswith(":6")


def test_a_template_is_read_with_a_cap_and_never_from_a_fifo(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(simple().replace("id: x", "id: big") + "notes: [" + ", ".join(["padding"] * 120_000) + "]\n")
    assert big.stat().st_size > 1_000_000
    with bounded(), pytest.raises(TemplateError, match="limit"):
        template.load_template(big)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with bounded(), pytest.raises(TemplateError, match="not a regular file"):
        template.load_template(fifo)
    with bounded(), pytest.raises(TemplateError, match="not a regular file"):
        template.load_template(Path("/dev/zero"))


def test_a_fifo_in_a_problems_dir_does_not_hang_the_cli(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "stuck.yaml")
    with bounded(10):
        result = runner.invoke(app, ["key", "stuck", "--seed", "1", "--problems-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "stuck.yaml" in result.stderr and "regular file" in result.stderr


# ----------------------------------------------------------------------------- non-finite and big numbers


@pytest.mark.parametrize(
    ("dist", "fragment"),
    [
        ({"set": {1: float("nan"), 2: 1}}, "weight"),
        ({"set": {1: float("inf"), 2: 1}}, "weight"),
        ({"set": {1: 10**400, 2: 1}}, "weight"),
        ({"set": {float("nan"): 1}}, "nan"),
        ({"set": {float("inf"): 1}}, "inf"),
        ({"set": {10**24: 1}}, "too large"),
        ({"values": [10**24]}, "too large"),
        ({"values": [1, float("-inf")]}, "inf"),
        ({"values": [[1, 2], {"a": 1}]}, "not a number"),
        ({"range": [0, float("inf")]}, "range"),
        ({"range": [float("nan"), 1]}, "range"),
        ({"simplex": 10**30}, "simplex"),
    ],
)
def test_non_finite_huge_or_nested_distribution_values_are_refused(dist: dict[str, Any], fragment: str) -> None:
    refused(text_of({"a": {"shape": [2], "dist": dist}}, [{"y": "a + 1"}]), "givens.a.dist", fragment)


@pytest.mark.parametrize(
    "fixed",
    [float("nan"), float("inf"), [1, float("nan")], 10**24, 10**400, [[1, 10**30]], "abc", True, {"a": 1}, [[1, [2]]]],
)
def test_non_finite_huge_or_wrong_fixed_values_are_refused(fixed: Any) -> None:
    refused(text_of({"a": {"shape": [2], "fixed": fixed}}, [{"y": "a + 1"}]), "givens.a.fixed")


def test_a_number_beyond_python_digit_limit_in_a_template_is_refused() -> None:
    text = simple().replace("dist: weights", "dist: {values: [" + "9" * 5000 + "]}")
    refused(text, "givens.a.dist", "too large")


@pytest.mark.parametrize(
    "source",
    ["softmax(a, base=1e400)", "softmax(a, base=" + "9" * 30 + ")", "softmax(a, base=0.5)", "softmax(a, base=True)"],
)
def test_op_options_must_be_small_whole_numbers(source: str) -> None:
    refused(simple(steps=[{"name": "y", "expr": source, "round": 2}]), "steps.y.expr")


# ----------------------------------------------------------------------------- wrong types at schema keys


@pytest.mark.parametrize(
    ("top", "key"),
    [
        ({"blanks": {"allowed": "all"}}, "blanks.allowed"),
        ({"blanks": {"allowed": {"all": 1}}}, "blanks.allowed"),
        ({"blanks": {"allowed": [["all"]]}}, "blanks.allowed"),
        ({"blanks": {"allowed": [{"a": 1}]}}, "blanks.allowed"),
        ({"blanks": {"default": ["all"]}}, "blanks.default"),
        ({"blanks": {"default": {"a": 1}}}, "blanks.default"),
        ({"blanks": ["all"]}, "blanks"),
        ({"scoring": ["cell"]}, "scoring"),
        ({"scoring": {"a": 1}}, "scoring"),
        ({"realism": ["relu_not_dead"]}, "realism"),
        ({"tags": {"a": 1}}, "tags"),
        ({"tags": "basics"}, "tags"),
        ({"notes": "a note"}, "notes"),
        ({"notes": [["a"]]}, "notes"),
        ({"vocabulary": {"a": 1}}, "vocabulary"),
        ({"vocabulary": [["a"], "b"]}, "vocabulary"),
        ({"params": [1, 2]}, "params"),
        ({"params": {"n": {"default": 2.0}}}, "params.n.default"),
        ({"params": {"n": {"default": True}}}, "params.n.default"),
        ({"params": {"n": {"default": 2, "doc": ["x"]}}}, "params.n.doc"),
        ({"params": {"n": 10**30}}, "params.n"),
        ({"params": {"n": 2.5}}, "params.n"),
        ({"bound": 1e400}, "bound"),
        ({"bound": "20"}, "bound"),
        ({"bound": [20]}, "bound"),
        ({"version": 1.5}, "version"),
        ({"version": 10**30}, "version"),
        ({"title": ["t"]}, "title"),
        ({"summary": {"a": 1}}, "summary"),
        ({"credits": 3}, "credits"),
        ({"constraints": {"a": 1}}, "constraints"),
        ({"constraints": [{"expr": "all(a > -5)", "why": [1]}]}, "constraints[1].why"),
        ({"constraints": [[1]]}, "constraints[1]"),
        ({"constraints": [{"expr": ["a"]}]}, "constraints[1].expr"),
        ({"givens": [1, 2]}, "givens"),
        ({"givens": {"a": [2]}}, "givens.a"),
        ({"givens": {"a": {"shape": 2, "dist": "weights"}}}, "givens.a.shape"),
        ({"givens": {"a": {"shape": {"n": 2}, "dist": "weights"}}}, "givens.a.shape"),
        ({"givens": {"a": {"shape": [2.0], "dist": "weights"}}}, "givens.a.shape"),
        ({"givens": {"a": {"shape": [True], "dist": "weights"}}}, "givens.a.shape"),
        ({"givens": {"a": {"shape": [[2]], "dist": "weights"}}}, "givens.a.shape"),
        ({"givens": {"a": {"shape": [10**30], "dist": "weights"}}}, "givens.a.shape"),
        ({"givens": {"a": {"shape": [2], "dist": ["weights"]}}}, "givens.a.dist"),
        ({"givens": {"a": {"shape": [2], "dist": {"set": [1, 2]}}}}, "givens.a.dist"),
        ({"givens": {"a": {"shape": [2], "dist": {"values": {"a": 1}}}}}, "givens.a.dist"),
        ({"givens": {"a": {"shape": [2], "dist": {"range": {"a": 1}}}}}, "givens.a.dist"),
        ({"givens": {"a": {"shape": [2], "dist": {"range": "0..3"}}}}, "givens.a.dist"),
        ({"givens": {"a": {"shape": [2], "dist": "weights", "label": ["in"]}}}, "givens.a.label"),
        ({"givens": {"a": {"shape": [2], "dist": "weights", "rows": {"a": 1}}}}, "givens.a.rows"),
        ({"givens": {"a": {"shape": [2], "dist": "weights", "cols": [[1]]}}}, "givens.a.cols"),
        ({"givens": {"a": {"shape": [2], "dist": "weights", "words": "yes"}}}, "givens.a.words"),
        ({"givens": {"a": {"shape": [2], "dist": "weights", "distinct_rows": 1}}}, "givens.a.distinct_rows"),
        ({"steps": {"y": "a"}}, "steps"),
        ({"steps": ["a"]}, "steps[1]"),
        ({"steps": [{"name": "y", "expr": "a", "label": ["x"]}]}, "steps.y.label"),
        ({"steps": [{"name": "y", "expr": "a", "hint": {"a": 1}}]}, "steps.y.hint"),
        ({"steps": [{"name": "y", "expr": "a", "layer": [1]}]}, "steps.y.layer"),
        ({"steps": [{"name": "y", "expr": "a", "round": True}]}, "steps.y.round"),
        ({"steps": [{"name": "y", "expr": "a", "round": 2.0}]}, "steps.y.round"),
        ({"steps": [{"name": "y", "expr": "a", "points": 10**30}]}, "steps.y.points"),
        ({"steps": [{"name": "y", "expr": "a", "asked": "no"}]}, "steps.y.asked"),
        ({"steps": [{"name": "y", "expr": "a", "shape": "2"}]}, "steps.y.shape"),
        ({"steps": [{"name": "y", "expr": 3}]}, "steps.y.expr"),
        ({"steps": [{"name": ["y"], "expr": "a"}]}, "steps[1].name"),
        ({"steps": [{"y": ["a"]}]}, "steps.y.expr"),
    ],
)
def test_wrong_types_at_schema_keys_name_the_key(top: dict[str, Any], key: str) -> None:
    refused(simple(**top), key)


def test_blanks_allowed_accepts_only_the_patterns_it_lists() -> None:
    t = template_from_text(simple(blanks={"default": "one", "allowed": ["all", "one"]}), HERE)
    assert t.blanks_allowed == ("all", "one") and t.blanks_default == "one"


def test_sizes_of_a_template_are_bounded() -> None:
    many_steps = [{"name": f"s{i}", "expr": "a + 1"} for i in range(template.MAX_STEPS + 1)]
    refused(simple(steps=many_steps), "steps", str(template.MAX_STEPS))
    many_givens = {f"g{i}": {"shape": [1], "dist": "weights"} for i in range(template.MAX_GIVENS + 1)}
    refused(simple(givens=many_givens, steps=[{"y": "g0"}]), "givens", str(template.MAX_GIVENS))
    many_constraints = ["all(a > -9)"] * (template.MAX_CONSTRAINTS + 1)
    refused(simple(constraints=many_constraints), "constraints", str(template.MAX_CONSTRAINTS))


# ----------------------------------------------------------------------------- values that fail, shapes that cost


@pytest.mark.parametrize(
    ("fixed", "expr"),
    [
        (0, "a ** -1"),
        (-4, "sqrt(a)"),
        (1000, "exp(a)"),
        (1000, "exp(a) / exp(a)"),
        (0, "log(a)"),
        (0, "a / a"),
        (-1, "softmax(a, base=0)"),
    ],
)
def test_a_step_that_cannot_be_computed_for_any_instance_is_an_error_not_a_crash(fixed: int, expr: str) -> None:
    text = text_of({"a": {"shape": [2], "fixed": fixed}}, [{"name": "y", "expr": expr, "round": 2}])
    with bounded(), pytest.raises((ConstraintError, TemplateError)) as info:
        engine.generate(template_from_text(text, HERE), 0)
    assert "x.yaml" in info.value.render()


@pytest.mark.parametrize("expr", ["a ** -1", "1 / a", "sqrt(a)", "log(a + 1)", "exp(a * 1000)"])
def test_candidates_for_which_a_step_fails_are_rejected_not_fatal(expr: str) -> None:
    """Weights are -1, 0 or 1 (mostly): some candidates fail, others compute."""
    text = text_of({"a": {"shape": [2], "dist": "weights"}}, [{"name": "y", "expr": expr, "round": 2}])
    t = template_from_text(text, HERE)
    for seed in range(5):
        y = engine.generate(t, seed).values["y"]
        assert y.dtype.kind != "f" and all(Fraction(v) == Fraction(v) for v in y.ravel())


def test_a_constraint_that_fails_for_some_values_rejects_those_candidates() -> None:
    text = simple(constraints=["all(1 / a > 0)"])
    problem = engine.generate(template_from_text(text, HERE), 3)
    assert all(v > 0 for v in problem.givens["a"].ravel())


@pytest.mark.parametrize(
    "expr",
    [
        "sum(ones(30000, 30000))",
        "sum(zeros(30000, 2))",
        "sum(ones(2, 10 ** 4))",
        "sum(onehot(a, 1000000))",
        "sum(ones(-3, 2))",
        "sum(ones(1e400, 2))",
    ],
)
def test_a_shape_beyond_the_bound_is_refused_before_allocating(expr: str) -> None:
    text = text_of({"a": {"shape": [1, 2], "fixed": [[1, 2]]}}, [{"name": "y", "expr": expr, "bound": None}])
    refused(text, "steps.y.expr")


@pytest.mark.parametrize("literal", ["9" * 400, "1e400", "10 ** 4 ** 4"])
def test_a_huge_literal_in_a_size_or_an_expression_is_refused(literal: str) -> None:
    refused(text_of({"a": {"shape": [literal], "dist": "weights"}}, [{"y": "a"}]), "givens.a.shape")
    refused(text_of({"a": {"shape": [2], "dist": "weights"}}, [{"y": f"a * {literal}"}]), "steps.y.expr")


def test_a_size_expression_cannot_allocate_either() -> None:
    text = text_of({"a": {"shape": ["sum(ones(30000, 30000))"], "dist": "weights"}}, [{"y": "a"}])
    refused(text, "givens.a.shape")


def test_stacking_cannot_build_a_huge_intermediate() -> None:
    wide = "hstack(" + ", ".join(["a"] * 200) + ")"
    text = text_of({"a": {"shape": [16], "dist": "weights"}}, [{"name": "y", "expr": f"sum({wide} @ {wide}.T)"}])
    refused(text, "steps.y.expr")


def test_exponents_beyond_the_bound_are_refused_before_any_work() -> None:
    text = text_of({"a": {"shape": [2], "fixed": 2}}, [{"name": "y", "expr": "3 ** (a * 1000000)"}])
    with bounded(), pytest.raises(ConstraintError, match="exponent"):
        engine.generate(template_from_text(text, HERE), 0)


@pytest.mark.parametrize(("first", "rounding"), [("a / 3", 2), ("a * 10", None)])
def test_exact_numbers_cannot_grow_without_bound(first: str, rounding: int | None) -> None:
    """Squaring 10 (or, in the exact chain behind rounded steps, a third) 30 times is 10^(2^30)."""
    steps: list[Any] = [{"name": "s0", "expr": first, "bound": None, "round": rounding}]
    steps += [{"name": f"s{i}", "expr": f"s{i - 1} * s{i - 1}", "bound": None, "round": rounding} for i in range(1, 31)]
    # (rounded to 2 decimals, s3 = 0.00: the dead-step rule is off so the exact chain is what fails)
    text = text_of({"a": {"shape": [], "fixed": 1}}, steps, realism={"dead_steps": False})
    with bounded(), pytest.raises(ConstraintError, match="digits"):
        engine.generate(template_from_text(text, HERE), 0)


# ----------------------------------------------------------------------------- exact integers, never wrap-around


def test_huge_givens_give_an_exact_key_or_none() -> None:
    """The issue's case: hidden-layer with entries 10**12 wrapped around in int64."""
    big = 10**12
    givens = {
        "x": [big, big, big],
        "W1": [[big, big, big], [1, 1, 1], [-big, 2, 3], [1, 0, 1]],
        "b1": [big, 0, 0, 0],
        "W2": [[big, 1, 1, 1], [1, -1, 1, big]],
        "b2": [0, 0],
    }
    problem = api.solve("hidden-layer", givens)
    x = [[v] for v in givens["x"]]
    z1 = [[r[0] + b] for r, b in zip(mm(givens["W1"], x), givens["b1"])]
    h = [[max(r[0], 0)] for r in z1]
    z2 = [[r[0] + b] for r, b in zip(mm(givens["W2"], h), givens["b2"])]
    assert [[int(v) for v in row] for row in problem.values["z1"].tolist()] == z1
    assert [[int(v) for v in row] for row in problem.values["z2"].tolist()] == z2
    assert z2[0][0] > 2**63  # beyond int64: a wrap-around would have shown here


def test_key_givens_at_the_command_line_is_exact(tmp_path: Path) -> None:
    big = 10**12
    path = tmp_path / "givens.yaml"
    givens = {"A": [[big] * 3 for _ in range(4)], "B": [[big] * 2 for _ in range(3)]}
    path.write_text(yaml.safe_dump(givens))
    result = runner.invoke(app, ["key", "matmul", "--givens", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(result.stdout)["answers"]["C"] == [[3 * big * big] * 2] * 4


@pytest.mark.parametrize("power", ["a * a * a * a", "a ** 4", "(a * a) @ (a * a).T"])
def test_template_arithmetic_beyond_int64_is_exact(power: str) -> None:
    text = text_of({"a": {"shape": [1, 1], "fixed": [[10**6]]}}, [{"name": "y", "expr": power, "bound": None}])
    y = engine.generate(template_from_text(text, HERE), 0).values["y"]
    assert Fraction(y.reshape(-1)[0]) == 10**24


def test_matrix_powers_beyond_int64_are_exact() -> None:
    n, v = 16, 10**6
    text = text_of({"a": {"shape": [n, n], "fixed": v}}, [{"name": "y", "expr": "a @ a @ a @ a", "bound": None}])
    y = engine.generate(template_from_text(text, HERE), 0).values["y"]
    assert {Fraction(c) for c in y.ravel()} == {Fraction(n**3 * v**4)}


def test_exact_integers_in_constraints_and_sums() -> None:
    """A constraint on a sum beyond int64 reads the exact sum (wrapped, it would be negative)."""
    text = text_of(
        {"a": {"shape": [4, 4], "fixed": 10**6}},
        [{"name": "s", "expr": "sum((a * a) @ (a * a))", "bound": None}],
        constraints=["all(s > 0)"],
    )
    s = engine.generate(template_from_text(text, HERE), 0).values["s"]
    assert Fraction(s.reshape(-1)[0]) == 16 * 4 * 10**24


def test_givens_beyond_every_bound_are_refused_naming_the_step() -> None:
    """Exact numbers have a stated bound too: a result beyond it is refused, naming the step."""
    text = text_of({"a": {"shape": [], "dist": "weights"}}, [{"name": "y", "expr": "a ** 4 * a ** 4", "bound": None}])
    t = template_from_text(text, HERE)
    with bounded(), pytest.raises(GivensError, match="step y") as info:
        engine.solve(t, {"a": 10**12})  # 10^96
    assert "digits" in info.value.render()
    assert Fraction(engine.solve(t, {"a": 10**6}).values["y"][0, 0]) == 10**48


def test_every_cell_of_a_key_from_huge_givens_prints(tmp_path: Path) -> None:
    path = tmp_path / "givens.yaml"
    big = 10**12
    path.write_text(yaml.safe_dump({"A": [[big] * 3 for _ in range(4)], "B": [[-big] * 2 for _ in range(3)]}))
    for options in (["--format", "terminal", "--exact"], ["--format", "yaml"], ["--format", "json", "--explain"]):
        result = runner.invoke(app, ["key", "matmul", "--givens", str(path), *options])
        assert result.exit_code == 0, result.output
        assert "-3000000000000000000000000" in result.stdout


def test_solve_numbers_stay_int64_when_small() -> None:
    """The fast path is kept: small whole numbers are int64 arrays, not Python objects."""
    problem = api.solve("matmul", {"A": [[1, 2, 3]] * 4, "B": [[1, 0], [0, 1], [2, 2]]})
    assert problem.values["C"].dtype == np.int64
    assert problem.values["C"].tolist() == [[7, 8]] * 4


def test_sampling_work_is_bounded_and_the_bound_is_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact 16x16 steps and a constraint no draw meets: without a work limit this ran for
    minutes (2 steps: 110 s; 64 steps: over an hour). It stops, at the same draw every time."""
    steps: list[Any] = [{"name": "s0", "expr": "a / 2", "bound": None}]
    steps += [{"name": f"s{i}", "expr": f"s{i - 1} / 2 + a / 3", "bound": None, "round": 2} for i in range(1, 64)]
    text = text_of({"a": {"shape": [16, 16], "dist": {"range": [1, 9]}}}, steps, constraints=["all(s63 > 1000)"])
    t = template_from_text(text, HERE)
    monkeypatch.setattr(engine, "WORK_LIMIT", 300_000)  # a thirtieth of the real one, for speed
    messages = []
    for _ in range(2):
        with bounded(), pytest.raises(ConstraintError, match="units of work") as info:
            engine.generate(t, 0)
        messages.append(info.value.render())
    assert messages[0] == messages[1] and "gave up after" in messages[0]


def test_the_shipped_templates_stay_far_below_the_work_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding an instance costs a shipped template at most a fiftieth of the limit."""
    from nnhand import values
    from nnhand.resources import template_files

    spent: list[int] = []
    real_run_plan = engine._run_plan

    def watching(*args: Any, **kwargs: Any) -> Any:
        result = real_run_plan(*args, **kwargs)
        budget = values.WORK.get()
        assert budget is not None
        spent.append(budget[0])
        return result

    monkeypatch.setattr(engine, "_run_plan", watching)
    for tid in sorted(template_files()):
        t = api.load(tid)
        for seed in range(3):
            engine.generate(t, seed)
    assert spent and max(spent) < engine.WORK_LIMIT // 50
