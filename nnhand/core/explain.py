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

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from nnhand.core.engine import Problem
from nnhand.core.inverse import RECOMPUTE_FAILS, GivenCell, recompute, search_range, shown_steps
from nnhand.core.reading import cell_name
from nnhand.core.template import Step, Template
from nnhand.errors import EvaluationError
from nnhand.ops.registry import lookup
from nnhand.ops.written import Node, Part, num, paren, short
from nnhand.values import normalize

if TYPE_CHECKING:
    from nnhand.core.sheet import Sheet

__all__ = ["Explainer", "explain_problem", "explain_sheet", "num", "paren", "sections"]


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
        word = self.problem.template.word(step, result)
        if word is not None:  # a word step: the cell it reads, then the word (never its index)
            ref = self.part(step.expr.tree, i, j).ref
            return " = ".join(x for x in (name, ref, word) if x)
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


def explain_sheet(sheet: Sheet, steps: list[str] | None = None) -> dict[str, list[str]]:
    """Worked lines of a sheet: those of its blank givens (the inverse pattern: the given
    solved for from the shown steps, core/inverse.py) first, then every asked step's."""
    out: dict[str, list[str]] = {}
    for name in sheet.blank_givens():
        cells = zip(*np.nonzero(sheet.blanks[name]))
        out[name] = [line for i, j in cells for line in explain_given(sheet.problem, GivenCell(name, int(i), int(j)))]
    out.update(explain_problem(sheet.problem, steps))
    return out


def sections(template: Template, worked: Mapping[str, Sequence[str]]) -> list[tuple[str, list[str]]]:
    """The worked lines as a writer prints them: (heading, lines), blank givens first (headed
    by their label), then the steps in template order (headed by the step's label)."""
    out = [
        (f"{name}: {g.label or 'given'} (solved for from the shown steps)", list(worked[name]))
        for name, g in template.givens.items()
        if name in worked
    ]
    return out + [(s.label, list(worked[s.name])) for s in template.steps if s.name in worked]


# ----------------------------------------------------------------------------- a blank given (core/inverse.py)

MAX_NAME = 20  # a term named by a longer expression is written as its number


@dataclass
class _Linear:
    """A cell of a node as coefficient · blank + the sum of `terms` (text, value)."""

    coef: Fraction
    coef_text: str | None  # the coefficient's name, where it is one shown cell (x[2])
    terms: list[tuple[str, Fraction]]
    bare: bool = False  # the node is the blank itself


class _Solver:
    def __init__(self, problem: Problem, cell: GivenCell):
        self.problem = problem
        self.cell = cell
        true = Fraction(problem.givens[cell.name][cell.row, cell.col])
        self.true = true
        env = problem.env(steps=False)
        steps = recompute(problem, cell, [true, true + 1])
        self.ok = steps is not None
        self.batch: dict[str, np.ndarray] = {}
        if steps is not None:
            for name, arr in env.items():
                self.batch[name] = np.repeat(arr, 2, axis=0) if name in problem.givens else arr
            grid = self.batch[cell.name].astype(object)
            grid[1, cell.row, cell.col] = true + 1
            self.batch[cell.name] = normalize(grid)
            self.batch.update(steps)
        self.explainer = Explainer(problem)
        self.steps = {s.name: s for s in problem.template.steps}

    def pair(self, node: Any) -> np.ndarray:
        return np.asarray(node.fn(self.batch))

    @staticmethod
    def at(arr: np.ndarray, i: int, j: int) -> Any:
        return arr[..., i if arr.shape[-2] > 1 else 0, j if arr.shape[-1] > 1 else 0]

    def depends(self, node: Any, i: int, j: int) -> bool:
        pair = self.at(self.pair(node), i, j)
        return bool(Fraction(pair[0]) != Fraction(pair[-1]))  # a constant has a batch of one

    def value(self, node: Any, i: int, j: int) -> Fraction:
        return Fraction(self.at(self.pair(node), i, j)[0])

    def name(self, node: Any, i: int, j: int) -> str:
        """A shown cell's name (x[2], (W1 @ x)[1]), or its number where it has no short name."""
        value = self.value(node, i, j)
        if node.kind == "number" or (node.kind == "unary" and node.args[0].kind == "number"):
            return _num(value)
        inner = node.args[0] if node.kind == "transpose" else None
        if inner is not None and inner.kind == "name" and inner.op in self.problem.shapes:
            return cell_name(inner.op, self.problem.shapes[inner.op], j, i)  # w.T[1,2] is w[2]
        try:
            text = self.explainer.name_of(node, i, j)
        except RECOMPUTE_FAILS:
            return _num(value)
        return text if len(text) <= MAX_NAME else _num(value)

    def linear(self, node: Any, i: int, j: int) -> _Linear | None:
        """The cell (i, j) of `node` as a linear form in the blank, or None. A matrix or dot
        product is written as its products even where it does not read the blank (b = z − w·x
        reads better as z − w[1]·x[1] − w[2]·x[2])."""
        kind, op = node.kind, node.op
        product = (kind == "binop" and op == "@") or (kind == "call" and op == "dot" and len(node.args) == 2)
        if not product and not self.depends(node, i, j):
            return _Linear(Fraction(0), None, [(self.name(node, i, j), self.value(node, i, j))])
        if kind == "name":
            if op == self.cell.name:
                return _Linear(Fraction(1), None, [], bare=True)
            step = self.steps.get(op)
            if step is None or step.decimals is not None:
                return None
            rows, cols = self.pair(node).shape[-2:]
            return self.linear(step.expr.tree, i if rows > 1 else 0, j if cols > 1 else 0)
        if kind == "transpose":
            return self.linear(node.args[0], j, i)
        if kind == "index" and node.window is not None:
            inner = node.args[0]
            rows, cols = self.pair(inner).shape[-2:]
            r, c = range(rows)[node.window[0]], range(cols)[node.window[1]]
            return self.linear(inner, r[i if len(r) > 1 else 0], c[j if len(c) > 1 else 0])
        if kind == "unary" and op in ("neg", "pos"):
            inner = self.linear(node.args[0], i, j)
            return inner if inner is None or op == "pos" else _scaled(inner, Fraction(-1))
        if kind == "binop" and op in ("+", "-"):
            left, right = (self.linear(a, i, j) for a in node.args)
            if left is None or right is None:
                return None
            return _sum(left, right if op == "+" else _scaled(right, Fraction(-1)))
        if kind == "binop" and op in ("*", "/"):
            return self.product(node.args[0], (i, j), node.args[1], (i, j), op)
        if product:
            left, right = node.args
            transposed = kind == "call"  # dot(a, b) = a.T @ b
            a = self.pair(left)
            inner = a.shape[-2] if transposed else a.shape[-1]
            total = _Linear(Fraction(0), None, [])
            for k in range(inner):
                term = self.product(left, (k, i) if transposed else (i, k), right, (k, j), "*")
                if term is None:
                    return None
                total = _sum(total, term)
            return total
        return None

    def product(self, left: Any, lc: tuple[int, int], right: Any, rc: tuple[int, int], op: str) -> _Linear | None:
        a, b = self.linear(left, *lc), self.linear(right, *rc)
        if a is None or b is None:
            return None
        lv, rv = self.value(left, *lc), self.value(right, *rc)
        ln, rn = self.name(left, *lc), self.name(right, *rc)
        if op == "/":
            if b.coef != 0 or rv == 0:
                return None
            if a.coef == 0:
                return _Linear(Fraction(0), None, [(f"{ln} / {rn}", lv / rv)])
            return _Linear(a.coef / rv, None, [(f"({t}) / {rn}", v / rv) for t, v in a.terms])
        if a.coef != 0 and b.coef != 0:
            return None  # the blank times itself: not linear
        if a.coef == 0 and b.coef == 0:
            return _Linear(Fraction(0), None, [(f"{ln}·{rn}", lv * rv)])
        blank, other_value, other_name = (a, rv, rn) if a.coef != 0 else (b, lv, ln)
        coef_text = other_name if blank.bare else None
        terms = [(f"{t}·{other_name}" if blank.coef else t, v * other_value) for t, v in blank.terms]
        return _Linear(blank.coef * other_value, coef_text, terms)


def _scaled(form: _Linear, k: Fraction) -> _Linear:
    text = None if form.coef_text is None or k != -1 else f"−{form.coef_text}"
    return _Linear(form.coef * k, text, [(f"−({t})" if k == -1 else t, v * k) for t, v in form.terms])


def _sum(a: _Linear, b: _Linear) -> _Linear:
    if a.coef != 0 and b.coef != 0:
        coef_text = None
    else:
        coef_text = a.coef_text if a.coef != 0 else b.coef_text
    return _Linear(a.coef + b.coef, coef_text, a.terms + b.terms)


def _num(value: Any) -> str:
    from nnhand.ops.written import num

    return num(Fraction(value))


def _signed(sign: str, value: Fraction) -> str:
    return f" {sign} ({_num(value)})" if value < 0 else f" {sign} {_num(value)}"


def _moved(terms: list[tuple[str, Fraction]]) -> tuple[str, str]:
    """The terms moved to the other side, as names and as values: − b − w[1]·x[1] …; a
    subtracted term −(t) comes back as + t."""
    names, values = [], []
    for text, value in terms:
        if text.startswith("−(") and text.endswith(")"):
            names.append(f" + {text[2:-1]}")
            values.append(_signed("+", -value))
        else:
            names.append(f" − {text}")
            values.append(_signed("−", value))
    return "".join(names), "".join(values)


def explain_given(problem: Problem, cell: GivenCell) -> list[str]:
    """The worked lines that solve for the blank given (module docstring)."""
    solver = _Solver(problem, cell)
    label = cell.label(problem)
    answer = _num(solver.true)
    if solver.ok:
        for step, i, j in _reading_cells(problem, solver):
            line = _solved(problem, solver, step, i, j, label)
            if line is not None:
                return line
    reading = next(iter(_reading_cells(problem, solver)), None) if solver.ok else None
    shown = " every shown value"
    if reading is not None:
        step, i, j = reading
        name = cell_name(step.name, problem.shapes[step.name], i, j)
        shown = f" {name} = {_num(problem.values[step.name][i, j])} and every other shown value"
    low, high = (_num(v) for v in search_range(solver.true))
    return [
        f"{label} = {answer}: of the whole numbers {low} to {high}, {answer} is the only one that gives"
        f"{shown} when the steps are computed again with it"
    ]


def _reading_cells(problem: Problem, solver: _Solver) -> Iterator[tuple[Step, int, int]]:
    for step in shown_steps(problem.template):
        pair = solver.batch[step.name]
        for i in range(pair.shape[1]):
            for j in range(pair.shape[2]):
                if Fraction(pair[0, i, j]) != Fraction(pair[1, i, j]):
                    yield step, i, j


def _solved(problem: Problem, solver: _Solver, step: Step, i: int, j: int, label: str) -> list[str] | None:
    """`label = (out − rest) / coefficient = … = answer` from cell (i, j) of `step`, or None."""
    if step.decimals is not None:
        return None
    out_name = cell_name(step.name, problem.shapes[step.name], i, j)
    out = Fraction(problem.values[step.name][i, j])
    tree, lines = step.expr.tree, []
    if tree.kind == "call" and tree.op == "relu" and len(tree.args) == 1 and out > 0:
        tree = tree.args[0]  # ReLU passes a positive input: the sum inside is the output
        inner = tree.source if tree.kind == "name" else f"({tree.source})"
        inner = cell_name(inner, problem.shapes[step.name], i, j)
        lines.append(f"{out_name} = {_num(out)} > 0, so the ReLU passes its input: {inner} = {_num(out)}")
    try:
        form = solver.linear(tree, i, j)
    except RECOMPUTE_FAILS:
        return None
    if form is None or form.coef == 0:
        return None
    rest = sum((v for _, v in form.terms), Fraction(0))
    if (out - rest) / form.coef != solver.true:
        return None
    moved_names, moved_values = _moved(form.terms)
    names, values = f"{out_name}{moved_names}", f"{_num(out)}{moved_values}"
    if form.coef == 1:
        line = f"{label} = {names} = {values}" if form.terms else f"{label} = {out_name}"
    else:
        coef_name = form.coef_text or _num(form.coef)
        if coef_name.startswith(("−", "-")):
            coef_name = f"({coef_name})"
        coef = f"({_num(form.coef)})" if form.coef < 0 else _num(form.coef)
        if form.terms:
            line = f"{label} = ({names}) / {coef_name} = ({values}) / {coef}"
        else:
            line = f"{label} = {out_name} / {coef_name} = {_num(out)} / {coef}"
    lines.append(f"{line} = {_num(solver.true)}")
    return lines
