"""Slip diagnosis: name the common mistake that explains a wrong step.

Each slip recomputes the step the wrong way a learner typically does it — from the
learner's own earlier answers — and a slip is named when it explains every wrong cell
of the step. The catalogue: forgot the ReLU, applied a ReLU that is not there, forgot the
bias, used the transposed weights, a sign error, wrote another step's values (the
pre-activation for the activation or the reverse), swapped rows and columns, and — cell
by cell — one term of a dot product left out.

The slips that belong to an op (forgetting the ReLU; a term of a matrix product left out)
are registered with the op (nnhand/ops) and found through the registry from the step's
compiled tree; the ones that fit any step (bias, transpose, sign, another step) are here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction

import numpy as np

from nnhand.core.expr import Expr
from nnhand.core.template import Step, Template
from nnhand.errors import EvaluationError
from nnhand.ops import arrays as ops
from nnhand.ops.registry import cell_slip_of, slips_of
from nnhand.ops.written import Node, Site

Env = Mapping[str, np.ndarray]
Cells = list[tuple[int, int, Fraction]]  # the wrong cells: row, col, what the learner wrote


def diagnose(
    template: Template,
    step: Step,
    env: Env,
    expected: np.ndarray,
    wrong: Cells,
    tolerance: Fraction,
) -> list[str]:
    """Short sentences naming the slips that explain the wrong cells of `step`."""
    if not wrong:
        return []
    for candidate, message in _evaluated(template, step, env, expected):
        if _explains(candidate, expected, wrong, tolerance):
            return [message]
    if len(wrong) > max(1, expected.size // 2):
        return []  # many cells wrong and no one slip explains them: don't guess cell by cell
    return _cell_slips(template, step, env, expected, wrong, tolerance)


def step_slips(template: Template, step: Step, env: Env, expected: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Every whole-step slip of `step`, as the values it gives and its message, in the order
    `diagnose` tries them: `env` is the learner's world (the givens and the earlier steps as
    the learner has them), `expected` the step's key. A slip that cannot be computed here,
    or gives another shape, is left out; a cell may hold the key itself (a sign flipped on 0).
    What a page that checks answers itself compares a wrong answer with (selfcheck.py)."""
    return list(_evaluated(template, step, env, expected))


def _evaluated(template: Template, step: Step, env: Env, expected: np.ndarray) -> Iterator[tuple[np.ndarray, str]]:
    """The step's slips computed one at a time (diagnose stops at the first that explains)."""
    for slip, message in _step_slips(template, step, env, expected):
        try:
            candidate = slip()
        except (EvaluationError, ValueError, IndexError):
            continue
        if candidate is not None and candidate.shape == expected.shape:
            yield candidate, message


def _explains(candidate: np.ndarray, expected: np.ndarray, wrong: Cells, tolerance: Fraction) -> bool:
    for i, j, given in wrong:
        value = Fraction(candidate[i, j])
        if abs(value - given) > tolerance or abs(value - Fraction(expected[i, j])) <= tolerance:
            return False
    return True


def _evaluate(expr: Expr, env: Env) -> np.ndarray:
    return np.asarray(expr({k: v for k, v in env.items()}))[0]


def _first(batch: np.ndarray) -> np.ndarray:
    return batch[0]


def _site(step: Step, env: Env, shapes: Mapping[str, tuple[int, ...]] | None = None) -> Site:
    """The step as its op's slips read it: its tree, and values of its nodes in `env`."""

    def value(node: Node) -> np.ndarray:
        return np.asarray(node.fn(env))[0]

    return Site(step.expr.tree, shapes or {}, value)


def _step_slips(
    template: Template, step: Step, env: Env, expected: np.ndarray
) -> list[tuple[Callable[[], np.ndarray | None], str]]:
    slips: list[tuple[Callable[[], np.ndarray | None], str]] = []
    names = step.expr.names
    site = _site(step, env)
    own = slips_of(site.root, site)  # the slips of the op applied last (relu: you forgot it)
    slips.extend(own)
    if not own:
        slips.append(
            (
                lambda: ops.relu(expected[None])[0] if np.any(expected < 0) else None,
                "You applied a ReLU that is not there: negative values stay negative in this step.",
            )
        )
    for name in sorted(names):
        given = template.givens.get(name)
        if given is not None and given.dist.preset == "bias":
            zeroed = dict(env)
            zeroed[name] = np.zeros_like(env[name])
            slips.append((functools.partial(_evaluate, step.expr, zeroed), f"You forgot to add the bias {name}."))
    for name in sorted(names):
        value = env.get(name)
        if value is not None and value.ndim == 3 and value.shape[1] == value.shape[2] > 1 and name in template.givens:
            swapped = dict(env)
            swapped[name] = np.swapaxes(value, -1, -2)
            slips.append(
                (
                    functools.partial(_evaluate, step.expr, swapped),
                    f"You used {name}ᵀ instead of {name}: take row i of {name} for output i.",
                )
            )
    slips.append((functools.partial(np.negative, expected), "Sign error: flip the signs."))
    for other in template.steps:
        # (a word step's cells are indices of words: only another word step's can be mistaken for them)
        same_kind = other.words == step.words
        if other.name != step.name and same_kind and other.name in env and env[other.name].shape[1:] == expected.shape:
            label = f"{other.name} ({other.label.split('=', 1)[-1].strip()})" if "=" in other.label else other.name
            slips.append(
                (
                    functools.partial(_first, env[other.name]),
                    f"These are the values of {label}, not of {step.name}.",
                )
            )
    if expected.shape[0] == expected.shape[1] > 1:
        slips.append((lambda: expected.T, "You swapped rows and columns (this is the transpose)."))
    return slips


def _cell_slips(
    template: Template, step: Step, env: Env, expected: np.ndarray, wrong: Cells, tolerance: Fraction
) -> list[str]:
    """Per cell: the slip the step's op finds (a term of a dot product left out or counted
    twice, through the registry), or the sign flipped."""
    site = _site(step, env)
    by_op = True  # until evaluating the step's operands fails once
    messages = []
    for i, j, given in wrong:
        want = Fraction(expected[i, j])
        found = None
        if by_op:
            try:
                found = cell_slip_of(site.root, site, i, j, given, want, tolerance)
            except (EvaluationError, ValueError):
                by_op = False
                continue
        if found is None and want != 0 and abs(given + want) <= tolerance:
            found = "the sign is flipped"
        if found:
            from nnhand.core.reading import cell_name
            from nnhand.values import declared_shape

            messages.append(f"{cell_name(step.name, declared_shape(expected.shape), i, j)}: {found}.")
    return messages
