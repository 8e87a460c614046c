"""Worked solutions: each computed cell written as the arithmetic a person would write.

    z[1] = (1)(2) + (−1)(1) + (1)(3) + (−5) = −1
    h[1] = ReLU(−1) = 0
    A[3,2] = 3^2 / (3^0 + 3^1 + 3^2) = 9 / 13 ≈ 0.69

The step's compiled expression tree is walked cell by cell; each op and operator writes its
own part through the worked writer registered with it (nnhand/ops): a matrix product its
sum of products, ReLU its written form, the recurrence of an RNN its names and values. A
name shows its value; a step that copies a cell names the cell it copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.core.engine import Problem
from nnhand.core.reading import cell_name
from nnhand.core.template import Step
from nnhand.errors import EvaluationError
from nnhand.ops.registry import lookup
from nnhand.ops.written import Node, Part, num, paren, short

__all__ = ["Explainer", "explain_problem", "num", "paren"]


class Explainer:
    """The `Work` the ops' worked writers read: values of nodes in one instance, parts of nodes."""

    def __init__(self, problem: Problem, env: Mapping[str, np.ndarray] | None = None):
        self.problem = problem
        self.env = problem.env() if env is None else env
        self._cache: dict[str, np.ndarray] = {}
        self._parts: dict[tuple[str, int, int], Part] = {}

    # --- the Work protocol

    def value(self, node: Node) -> np.ndarray:
        if node.source not in self._cache:
            self._cache[node.source] = np.asarray(node.fn(self.env))[0]
        return self._cache[node.source]

    def at(self, arr: np.ndarray, i: int, j: int) -> Any:
        return arr[i if arr.shape[0] > 1 else 0, j if arr.shape[1] > 1 else 0]

    def part(self, node: Node, i: int, j: int) -> Part:
        key = (node.source, i, j)
        if key not in self._parts:
            op = lookup(node)
            self._parts[key] = op.worked(self, node, i, j) if op is not None and op.worked else self._leaf(node, i, j)
        return self._parts[key]

    def name_of(self, node: Node, i: int, j: int) -> str:
        """A name for cell (i, j) of a node's value: W[1,2] for a name, else its text indexed."""
        arr = self.value(node)
        r, c = (i if arr.shape[0] > 1 else 0), (j if arr.shape[1] > 1 else 0)
        if node.kind == "name" and node.op in self.problem.shapes:
            return cell_name(node.op, self.problem.shapes[node.op], r, c)
        if node.kind == "name":
            return node.op  # a param: a number
        inner = node.args[0] if node.kind == "index" and node.window is not None else None
        if inner is not None and inner.kind == "name" and inner.op in self.problem.shapes and node.window:
            rows, cols = self.value(inner).shape  # X[:, 1] is column 2 of X: name the cell of X it is
            return cell_name(
                inner.op, self.problem.shapes[inner.op], range(rows)[node.window[0]][r], range(cols)[node.window[1]][c]
            )
        text = node.source if node.kind in ("index", "transpose", "call") else f"({node.source})"
        return f"{text}[{r + 1},{c + 1}]" if arr.shape[0] > 1 and arr.shape[1] > 1 else f"{text}[{max(r, c) + 1}]"

    def word(self, index: int) -> str | None:
        vocabulary = self.problem.template.vocabulary
        return vocabulary[index - 1] if 1 <= index <= len(vocabulary) else None

    # --- lines

    def _leaf(self, node: Node, i: int, j: int) -> Part:
        value = self.at(self.value(node), i, j)
        ref = self.name_of(node, i, j) if node.kind in ("name", "index", "transpose") else None
        return Part(paren(value), value, simple=True, ref=ref)

    def cell(self, step: Step, i: int, j: int) -> str:
        """The worked line for one cell of a step."""
        name = cell_name(step.name, self.problem.shapes[step.name], i, j)
        result = self.problem.values[step.name][i, j]
        try:
            part = self.part(step.expr.tree, i, j)
        except (EvaluationError, ValueError, IndexError, KeyError):
            return f"{name} = {num(result, step.decimals)}"
        if part.simple:
            lines = [name, part.ref] if part.ref else [name]
        else:
            lines = [name]
            for stage in (part.text, part.middle, *part.stages):
                if stage and stage != lines[-1]:
                    lines.append(stage)
        cell = self.problem.exact[step.name][i, j]
        exact = Fraction(cell) if not isinstance(cell, float) else None
        if step.decimals is None and exact is not None and exact != Fraction(result):
            exact = None  # computed from rounded cells upstream: the key's value is the one from them
        final = num(exact) if exact is not None else num(result, step.decimals)
        if step.decimals is not None and (exact is None or not short(exact) or final != num(result, step.decimals)):
            final = (
                f"{final} ≈ {num(result, step.decimals)}" if exact is not None else f"≈ {num(result, step.decimals)}"
            )
        lines.append(final)
        text = " = ".join(lines)
        return text.replace("= ≈", "≈")

    def step(self, step: Step) -> list[str]:
        values = self.problem.values[step.name]
        return [self.cell(step, i, j) for i in range(values.shape[0]) for j in range(values.shape[1])]


def explain_problem(problem: Problem, steps: list[str] | None = None) -> dict[str, list[str]]:
    """Worked lines for every cell of every asked step (or of the steps named)."""
    explainer = Explainer(problem)
    out = {}
    for step in problem.template.steps:
        if step.asked and (steps is None or step.name in steps):
            out[step.name] = explainer.step(step)
    return out
