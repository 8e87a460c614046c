"""Worked solutions: each computed cell written as the arithmetic a person would write.

    z[1] = (1)(2) + (−1)(1) + (1)(3) + (−5) = −1
    h[1] = ReLU(−1) = 0
    A[3,2] = 3^2 / (3^0 + 3^1 + 3^2) = 9 / 13 ≈ 0.69

The step's expression is walked cell by cell: a matrix product becomes its sum of
products, ReLU and the other ops their written form; anything else shows its value.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.core.engine import Problem
from nnhand.core.expr import compile_expr
from nnhand.core.reading import cell_name
from nnhand.core.template import Step
from nnhand.errors import EvaluationError
from nnhand.values import constant, format_fraction, format_number


def num(value: Any, decimals: int | None = None) -> str:
    """A number as written in a worked solution: Unicode minus, exact where short."""
    if isinstance(value, (Fraction,)) and value.denominator != 1 and decimals is None:
        text = format_number(value) if _short(value) else format_fraction(value)
    else:
        text = format_number(value, decimals)
    return text.replace("-", "−")


def _short(value: Fraction) -> bool:
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def paren(value: Any) -> str:
    return f"({num(value)})"


@dataclass
class Part:
    """A sub-expression at one cell: its written form, a partly evaluated form, its value."""

    text: str
    value: Any
    simple: bool = False  # a plain number: no intermediate line needed
    middle: str | None = None


class Explainer:
    def __init__(self, problem: Problem, env: Mapping[str, np.ndarray] | None = None):
        self.problem = problem
        template = problem.template
        self.known = set(template.params) | set(template.givens) | {s.name for s in template.steps}
        if env is None:
            env = {k: constant(v) for k, v in problem.params.items()}
            env = {**env, **{k: v[None] for k, v in problem.givens.items()}}
            env.update({k: v[None] for k, v in problem.values.items()})
        self.env = env
        self._cache: dict[str, np.ndarray] = {}

    def value(self, source: str) -> np.ndarray:
        if source not in self._cache:
            self._cache[source] = np.asarray(compile_expr(source, self.known)(self.env))[0]
        return self._cache[source]

    def cell(self, step: Step, i: int, j: int) -> str:
        """The worked line for one cell of a step."""
        source = step.expr.source
        tree = ast.parse(source, mode="eval").body
        name = cell_name(step.name, self.problem.shapes[step.name], i, j)
        result = self.problem.values[step.name][i, j]
        try:
            part = self._part(tree, source, i, j)
        except (EvaluationError, ValueError, IndexError, KeyError):
            return f"{name} = {num(result, step.decimals)}"
        lines = [name, part.text]
        if part.middle and part.middle != part.text:
            lines.append(part.middle)
        exact = (
            Fraction(self.problem.exact[step.name][i, j])
            if not isinstance(self.problem.exact[step.name][i, j], float)
            else None
        )
        final = num(exact) if exact is not None else num(result, step.decimals)
        if step.decimals is not None and (exact is None or not _short(exact) or final != num(result, step.decimals)):
            final = (
                f"{final} ≈ {num(result, step.decimals)}" if exact is not None else f"≈ {num(result, step.decimals)}"
            )
        if part.simple:
            lines = [name]
        lines.append(final)
        text = " = ".join(lines)
        return text.replace("= ≈", "≈")

    def step(self, step: Step) -> list[str]:
        values = self.problem.values[step.name]
        return [self.cell(step, i, j) for i in range(values.shape[0]) for j in range(values.shape[1])]

    # --- the walk

    def _at(self, arr: np.ndarray, i: int, j: int) -> Any:
        return arr[i if arr.shape[0] > 1 else 0, j if arr.shape[1] > 1 else 0]

    def _leaf(self, node: ast.AST, source: str, i: int, j: int) -> Part:
        segment = ast.get_source_segment(source, node) or ""
        value = self._at(self.value(segment), i, j)
        return Part(paren(value), value, simple=True)

    def _part(self, node: ast.AST, source: str, i: int, j: int) -> Part:
        if isinstance(node, (ast.Name, ast.Constant, ast.Attribute, ast.Subscript)):
            return self._leaf(node, source, i, j)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            a = self.value(ast.get_source_segment(source, node.left) or "")
            b = self.value(ast.get_source_segment(source, node.right) or "")
            row = a[i if a.shape[0] > 1 else 0]
            col = b[:, j if b.shape[1] > 1 else 0]
            terms = [f"{paren(a)}{paren(b)}" for a, b in zip(row, col)]
            # tolist: Python ints, which never overflow (a Fraction of an np.int64 keeps int64 parts)
            total = sum((Fraction(a) * Fraction(b) for a, b in zip(row.tolist(), col.tolist())), Fraction(0))
            return Part(" + ".join(terms), total)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            left, right = self._part(node.left, source, i, j), self._part(node.right, source, i, j)
            symbol = {ast.Add: " + ", ast.Sub: " − ", ast.Mult: "", ast.Div: " / "}[type(node.op)]
            if isinstance(node.op, ast.Mult):
                joint = "·" if right.text.startswith("[") or left.text.startswith("[") else ""
                text = f"{_wrap(left)}{joint}{_wrap(right)}"
            else:
                text = f"{left.text}{symbol}{_wrap(right) if not isinstance(node.op, ast.Add) else right.text}"
            value = self._at(self.value(ast.get_source_segment(source, node) or ""), i, j)
            middle = None
            if isinstance(node.op, (ast.Mult, ast.Div)) and not (left.simple and right.simple):
                middle = f"{paren(left.value)}{symbol}{paren(right.value)}"
            return Part(text, value, middle=middle)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            base, exponent = self._part(node.left, source, i, j), self._part(node.right, source, i, j)
            value = self._at(self.value(ast.get_source_segment(source, node) or ""), i, j)
            return Part(f"{num(base.value)}^{num(exponent.value)}", value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self._part(node.operand, source, i, j)
            return Part(
                f"−{_wrap(inner)}", -Fraction(inner.value) if not isinstance(inner.value, float) else -inner.value
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self._call(node, node.func.id, source, i, j)
        return self._leaf(node, source, i, j)

    def _call(self, node: ast.Call, op: str, source: str, i: int, j: int) -> Part:
        value = self._at(self.value(ast.get_source_segment(source, node) or ""), i, j)
        args = node.args
        wrappers = {"relu": "ReLU", "sigmoid": "σ", "tanh": "tanh", "exp": "e^", "sqrt": "√"}
        if op in wrappers and args:
            inner = self._part(args[0], source, i, j)
            written = f"{wrappers[op]}({inner.text.strip('()') if inner.simple else inner.text})"
            middle = None if inner.simple else f"{wrappers[op]}({num(inner.value)})"
            return Part(written, value, middle=middle)
        if op == "step" and args:
            inner = self._part(args[0], source, i, j)
            return Part(f"[{num(inner.value)} > 0]", value)
        if op == "softmax" and args:
            scores = self.value(ast.get_source_segment(source, args[0]) or "")
            base = next(
                (int(k.value.value) for k in node.keywords if isinstance(k.value, ast.Constant)),  # type: ignore[arg-type]
                3,
            )
            column = scores[:, j]
            powers = [Fraction(base) ** int(v) for v in column]
            written = f"{base}^{num(column[i])} / (" + " + ".join(f"{base}^{num(v)}" for v in column) + ")"
            middle = f"{num(powers[i])} / (" + " + ".join(num(p) for p in powers) + ")"
            return Part(written, value, middle=middle)
        if op in ("outer",) and len(args) == 2:
            a = self.value(ast.get_source_segment(source, args[0]) or "")
            b = self.value(ast.get_source_segment(source, args[1]) or "")
            return Part(f"{paren(a[i, 0])}{paren(b[j, 0])}", value)
        if op == "dot" and len(args) == 2:
            a = self.value(ast.get_source_segment(source, args[0]) or "")
            b = self.value(ast.get_source_segment(source, args[1]) or "")
            return Part(" + ".join(f"{paren(x)}{paren(y)}" for x, y in zip(a[:, 0], b[:, 0])), value)
        if op in ("colsum", "colmean") and args:
            a = self.value(ast.get_source_segment(source, args[0]) or "")
            terms = " + ".join(paren(v) for v in a[:, j])
            return Part(terms if op == "colsum" else f"({terms}) / {a.shape[0]}", value)
        if op in ("rowsum", "rowmean") and args:
            a = self.value(ast.get_source_segment(source, args[0]) or "")
            terms = " + ".join(paren(v) for v in a[i, :])
            return Part(terms if op == "rowsum" else f"({terms}) / {a.shape[1]}", value)
        if op == "argmax" and args:
            a = self.value(ast.get_source_segment(source, args[0]) or "")
            return Part("the row of the largest of " + ", ".join(num(v) for v in a[:, j]), value)
        return Part(paren(value), value, simple=True)


def _wrap(part: Part) -> str:
    if part.text.startswith("[") and part.text.endswith("]"):
        return part.text
    if part.simple or (part.text.startswith("(") and part.text.endswith(")") and part.text.count("(") == 1):
        return part.text
    return f"({part.text})"


def explain_problem(problem: Problem, steps: list[str] | None = None) -> dict[str, list[str]]:
    """Worked lines for every cell of every asked step (or of the steps named)."""
    explainer = Explainer(problem)
    out = {}
    for step in problem.template.steps:
        if step.asked and (steps is None or step.name in steps):
            out[step.name] = explainer.step(step)
    return out
