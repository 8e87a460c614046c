"""Slip diagnosis: name the common mistake that explains a wrong step.

Each slip recomputes the step the wrong way a learner typically does it — from the
learner's own earlier answers — and a slip is named when it explains every wrong cell
of the step. The catalogue: forgot the ReLU, applied a ReLU that is not there, forgot the
bias, used the transposed weights, a sign error, wrote another step's values (the
pre-activation for the activation or the reverse), swapped rows and columns, and — cell
by cell — one term of a dot product left out.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.core.expr import Expr, compile_expr
from nnhand.core.template import Step, Template
from nnhand.errors import EvaluationError
from nnhand.ops import arrays as ops
from nnhand.values import format_number

Env = Mapping[str, np.ndarray]
Cells = list[tuple[int, int, Fraction]]  # the wrong cells: row, col, what the learner wrote


def _fmt(value: Any) -> str:
    return format_number(value).replace("-", "−")


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
    for slip, message in _step_slips(template, step, env, expected):
        try:
            candidate = slip()
        except (EvaluationError, ValueError, IndexError):
            continue
        if candidate is None or candidate.shape != expected.shape:
            continue
        if _explains(candidate, expected, wrong, tolerance):
            return [message]
    if len(wrong) > max(1, expected.size // 2):
        return []  # many cells wrong and no one slip explains them: don't guess cell by cell
    return _cell_slips(template, step, env, expected, wrong, tolerance)


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


def _step_slips(
    template: Template, step: Step, env: Env, expected: np.ndarray
) -> list[tuple[Callable[[], np.ndarray | None], str]]:
    slips: list[tuple[Callable[[], np.ndarray | None], str]] = []
    names = step.expr.names
    if step.relu_input is not None:
        relu_input = step.relu_input
        slips.append((lambda: _evaluate(relu_input, env), "You forgot the ReLU: negative values become 0."))
    else:
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
        if other.name != step.name and other.name in env and env[other.name].shape[1:] == expected.shape:
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
    """Per cell: one term of the dot product left out (or counted twice), or the sign flipped."""
    operands = _matmul_operands(template, step)
    messages = []
    for i, j, given in wrong:
        want = Fraction(expected[i, j])
        found = None
        if operands is not None:
            try:
                left, right = (_evaluate(e, env) for e in operands)
            except (EvaluationError, ValueError):
                operands = None
                continue
            if left.shape[1] == right.shape[0]:
                terms = [(k, Fraction(left[i, k]) * Fraction(right[k, j])) for k in range(left.shape[1])]
                terms = [(k, t) for k, t in terms if t != 0]
                # A term left out is the commoner slip, so it is looked for first.
                for k, term in terms:
                    if abs(given - (want - term)) <= tolerance:
                        found = f"one term is missing from the sum: ({_fmt(left[i, k])})({_fmt(right[k, j])})"
                        break
                for k, term in terms if found is None else []:
                    if abs(given - (want + term)) <= tolerance:
                        found = f"one term is counted twice: ({_fmt(left[i, k])})({_fmt(right[k, j])})"
                        break
        if found is None and want != 0 and abs(given + want) <= tolerance:
            found = "the sign is flipped"
        if found:
            from nnhand.core.reading import cell_name
            from nnhand.values import declared_shape

            messages.append(f"{cell_name(step.name, declared_shape(expected.shape), i, j)}: {found}.")
    return messages


def _matmul_operands(template: Template, step: Step) -> tuple[Expr, Expr] | None:
    """The operands of the product inside `A @ B (+ c)` or `relu(A @ B + c)`, compiled."""
    key = ("matmul-operands", step.name)
    if key in template.cache:
        return template.cache[key]
    source = step.expr.source
    tree = ast.parse(source, mode="eval").body
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "relu" and tree.args:
        tree = tree.args[0]
    while isinstance(tree, ast.BinOp) and isinstance(tree.op, (ast.Add, ast.Sub)):
        tree = tree.left
    result = None
    if isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.MatMult):
        known = set(template.params) | set(template.givens) | {s.name for s in template.steps}
        left = ast.get_source_segment(source, tree.left)
        right = ast.get_source_segment(source, tree.right)
        if left and right:
            result = (compile_expr(left, known), compile_expr(right, known))
    template.cache[key] = result
    return result
