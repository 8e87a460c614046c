"""The realism rules: what makes a generated instance one a teacher would hand out.

Every rule is one definition, used twice: sampling rejects a candidate that breaks it
(engine.py, on whole batches), and `realism_warnings` names the rules a person's own numbers
break. bench/realism.py measures the same rules over many seeds, beside the published mix of
CONVENTIONS.md. A template switches a rule off by name where it makes no sense for it:

    realism: {relu_zeroes_some: false}           # a single neuron: nothing to zero
    realism: {by_design: {weights: "single neurons, so ..."}}   # a figure the report excuses

The rules (CONVENTIONS.md, "a generator should reject ..."):

  distinct_rows     no two equal rows and no all-zero row in a weight matrix (per given)
  bound             every asked value within the template's bound (per step)
  relu_zeroes_some  some ReLU zeroes a cell: the crossing-out is the point of the exercise
  relu_not_dead     no ReLU output has an all-zero column (an example dead from there on)
  relu_mix          at most half of a ReLU layer's pre-activations negative, and at most 6 %
                    of them (at least one allowed) exactly 0 (published: 16 % negative, 3.9 %
                    zero; a 0 before a ReLU also leaves its derivative to convention)
  dead_steps        no asked value is zero in every cell (a dead output: Y = 0, logits 0)
  copies            no asked value (of two or more cells) repeats a given or an earlier asked
                    value cell for cell (db = dz, dPF = PF - 0): a blank that is a copy
  identity          no weight matrix whose every row is a ±unit vector (each neuron copies
                    one input) and no input matrix whose every column is one (each example
                    picks one weight column): identity and permutation matrices
  zero_inputs       no input column that is zero in every cell (a word with a zero embedding)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from nnhand.ops import arrays as ops

if TYPE_CHECKING:
    from nnhand.core.template import Step, Template

RULES = (
    "distinct_rows",
    "bound",
    "relu_zeroes_some",
    "relu_not_dead",
    "relu_mix",
    "dead_steps",
    "copies",
    "identity",
    "zero_inputs",
)
# What a given is, for the rules and the report: a weight matrix has neurons as rows, an input
# matrix has examples (tokens, time steps) as columns. A preset of the same name implies it.
ROLES = ("weights", "bias", "inputs")
MAX_NEGATIVE_SHARE = 0.5  # relu_mix: of a layer's pre-activations
# relu_mix: exact zeros per layer, a share of its cells (published 3.9 %) but always one allowed
MAX_ZERO_SHARE = 0.06


@dataclass(frozen=True)
class Check:
    """One test every candidate must pass: a realism rule or a template's constraint."""

    why: str
    needs: frozenset[str]  # the givens and steps it reads
    test: Callable[[Mapping[str, np.ndarray]], np.ndarray]
    key: str = ""  # where a template wrote it (constraints[2].expr), for errors
    nodes: int = 3  # the work of one evaluation, as Expr.nodes
    rule: str = ""  # the realism rule it applies ("" for a template's own constraint)
    subject: str = ""  # the given or step the rule judges


PRE_ACTIVATION = "\0pre-activation of "  # env key of a ReLU step's input (not a name a template can use)


def checks(
    template: Template, rules: tuple[str, ...] | None = None, grids: Mapping[str, tuple[int, int]] | None = None
) -> list[Check]:
    """The realism rules that apply to `template` (or these `rules`, whether or not it
    switched them off: the report measures them all), as checks over batches of candidates.
    For sampling (no `rules`) a check that another implies is left out, and with the givens'
    and steps' `grids` (rows, cols) for the params at hand, one that their shapes make always true."""
    lean = rules is None
    on = [rule for rule in RULES if rule not in template.realism_off] if rules is None else list(rules)
    out: list[Check] = []

    def add(rule: str, why: str, subject: str, test: Callable[..., np.ndarray], *needs: str) -> None:
        if rule in on:
            out.append(Check(why, frozenset({subject, *needs}), test, rule=rule, subject=subject))

    asked = [s for s in template.steps if s.asked]
    if lean:  # a step of the params alone (a count) is the same on every candidate: nothing to sample
        asked = [s for s in asked if s.expr.names - set(template.params)]
    relu_steps = [s for s in template.steps if s.relu_input is not None]
    for name, given in template.givens.items():
        if given.distinct_rows:
            add("distinct_rows", f"{name}: no two equal rows and no all-zero row", name, partial(_distinct_rows, name))
    bounded = {s.name: s.bound for s in asked if s.bound is not None and "bound" in on}
    for step in asked:
        if step.bound is not None and not (lean and _bounded_by_input(step, bounded)):
            add("bound", f"{step.name} within ±{step.bound}", step.name, partial(_within, step.name, step.bound))
    if relu_steps:
        needs = set().union(*(s.relu_input.names for s in relu_steps if s.relu_input))
        test = partial(_some_relu_zeroes, tuple(relu_steps))
        add("relu_zeroes_some", "a ReLU zeroes at least one cell", relu_steps[0].name, test, *needs)
    for step in relu_steps:
        assert step.relu_input is not None
        # A column of zeros after a ReLU is an example that is dead from there on: boring.
        why = f"{step.name} has a positive cell in every column"
        add("relu_not_dead", why, step.name, partial(_alive_columns, step.name))
        why = f"{step.name}: at most half its pre-activations negative and at most 6 % (or one) 0"
        add("relu_mix", why, step.name, partial(_relu_mix, step), *step.relu_input.names)
    # A ReLU step with a positive cell in every column is not zero in every cell, nor is its input.
    alive = {s.name for s in relu_steps} | {
        n for s in relu_steps if s.relu_input and s.relu_input.tree.kind == "name" for n in s.relu_input.names
    }
    for step in asked:
        if lean and step.name in alive and "relu_not_dead" in on:
            continue
        add("dead_steps", f"{step.name} is not zero in every cell", step.name, partial(_not_all_zero, step.name))
    shown = [n for n, g in template.givens.items() if g.dist.kind != "fixed"]
    for i, step in enumerate(asked):
        others = tuple(
            n
            for n in [*shown, *(s.name for s in asked[:i])]
            if n not in _copied_on_purpose(step) and _may_match(grids, step.name, n)
        )
        if others:
            why = f"{step.name} is not a copy of a given or an earlier answer"
            add("copies", why, step.name, partial(_copies_none, step.name, others), *others)
    for name, given in template.givens.items():
        if given.dist.kind in ("fixed", "onehot") or given.words:
            continue
        rows, cols = grids[name] if grids and name in grids else (2, 2)
        if given.role in ("weights", "inputs") and rows >= 2 and cols >= 2:  # a vector is no identity
            axis = "row" if given.role == "weights" else "column"
            why = f"{name} is not an identity or permutation matrix (every {axis} a unit vector)"
            add("identity", why, name, partial(_not_identity_like, name, given.role == "weights"))
        if given.role == "inputs" and rows >= 2:  # in one row, a zero cell is a zero input, not a zero vector
            add("zero_inputs", f"{name} has no all-zero column", name, partial(_no_zero_columns, name))
    return out


def _may_match(grids: Mapping[str, tuple[int, int]] | None, a: str, b: str) -> bool:
    """Whether a and b may have the same shape (unknown shapes may)."""
    return not grids or a not in grids or b not in grids or grids[a] == grids[b]


def _bounded_by_input(step: Step, bounded: Mapping[str, int]) -> bool:
    """Whether a ReLU step's bound is already kept by its input's (|relu(z)| <= |z|): the
    check would only cost time, sampling every candidate."""
    relu_input = step.relu_input
    if relu_input is None or relu_input.tree.kind != "name" or step.bound is None:
        return False
    (name,) = relu_input.names
    return name in bounded and bounded[name] <= step.bound


def _copied_on_purpose(step: Step) -> set[str]:
    """Names a step may equal by design: the pre-activation of a ReLU (a layer that zeroes
    nothing is the relu_zeroes_some rule's concern, not a copy)."""
    return set(step.relu_input.names) if step.relu_input is not None and step.relu_input.tree.kind == "name" else set()


# ----------------------------------------------------------------------------- the tests
# Each takes a batch environment (arrays of shape (B, rows, cols); B may be 1 for a value
# shared by the batch) and answers per candidate, shape (B, 1, 1) or (1, 1, 1).


def _distinct_rows(name: str, env: Mapping[str, np.ndarray]) -> np.ndarray:
    return ops.distinct_rows(env[name]) & ops.nonzero_rows(env[name])


def _within(name: str, bound: int, env: Mapping[str, np.ndarray]) -> np.ndarray:
    return ops.all_(ops.abs_(env[name]) <= bound)


def _pre_activation(step: Step, env: Mapping[str, np.ndarray]) -> np.ndarray:
    """A ReLU step's input, computed once per batch: kept in the batch's env (a dict while
    sampling, whose batch values shrink together) beside the step, for the next rule."""
    assert step.relu_input is not None
    key = PRE_ACTIVATION + step.name
    pre = env.get(key)
    if pre is None:
        pre = step.relu_input(env)
        if isinstance(env, dict) and step.name in env and pre.shape[0] == env[step.name].shape[0]:
            env[key] = pre
    return pre


def _some_relu_zeroes(steps: tuple[Step, ...], env: Mapping[str, np.ndarray]) -> np.ndarray:
    result = np.zeros((1, 1, 1), dtype=bool)
    for step in steps:
        result = result | ops.any_(_pre_activation(step, env) < 0)
    return result


def _alive_columns(name: str, env: Mapping[str, np.ndarray]) -> np.ndarray:
    return ops.all_(np.logical_or.reduce(env[name] > 0, axis=-2, keepdims=True))


def _relu_mix(step: Step, env: Mapping[str, np.ndarray]) -> np.ndarray:
    pre = _pre_activation(step, env)
    flat = pre.reshape(pre.shape[0], -1)
    negative = np.count_nonzero(flat < 0, axis=1)
    zero = np.count_nonzero(flat == 0, axis=1)
    ok = (negative <= MAX_NEGATIVE_SHARE * flat.shape[1]) & (zero <= max(1, int(MAX_ZERO_SHARE * flat.shape[1])))
    return ok.reshape(-1, 1, 1)


def _not_all_zero(name: str, env: Mapping[str, np.ndarray]) -> np.ndarray:
    return ops.any_(env[name] != 0)


def _copies_none(name: str, others: tuple[str, ...], env: Mapping[str, np.ndarray]) -> np.ndarray:
    value = env[name]
    ok = np.ones((1, 1, 1), dtype=bool)
    if value.shape[1] * value.shape[2] < 2:  # one number equal to another is a coincidence, not a copy
        return ok
    for other in others:
        if env[other].shape[1:] == value.shape[1:]:
            ok = ok & ~ops.all_(value == env[other])
    return ok


def unit_vectors(x: np.ndarray, along_rows: bool) -> np.ndarray:
    """Per candidate: every row (or every column) of x is a ±unit vector, x being at least 2x2."""
    batch, rows, cols = x.shape
    if rows < 2 or cols < 2:
        return np.zeros((batch, 1, 1), dtype=bool)
    axis = 2 if along_rows else 1
    if x.dtype != object:  # whole numbers: a ±unit vector is one whose squares sum to 1
        return ((x * x).sum(axis=axis) == 1).all(axis=1).reshape(-1, 1, 1)
    one_each = (np.count_nonzero(x, axis=axis) == 1).all(axis=1)
    small = (ops.abs_(x) <= 1).reshape(batch, -1).all(axis=1)
    return (one_each & small).reshape(-1, 1, 1)


def _not_identity_like(name: str, along_rows: bool, env: Mapping[str, np.ndarray]) -> np.ndarray:
    return ~unit_vectors(env[name], along_rows)


def _no_zero_columns(name: str, env: Mapping[str, np.ndarray]) -> np.ndarray:
    x = env[name]
    if x.shape[1] < 2:  # a single row: a zero cell is a zero input, not a zero vector
        return np.ones((1, 1, 1), dtype=bool)
    return ops.nonzero_cols(x)
