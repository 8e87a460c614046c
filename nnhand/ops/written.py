"""What an op's worked-arithmetic writer, slips and hint are given, and what they give back.

An op's worked writer turns one cell of its result into the arithmetic a person writes
(`Part`), reading the values of its arguments through a `Work` (the explainer); its slips
and its hint read the step through a `Site`. Nodes are the compiled expression tree of
core/expr.py, seen here through the `Node` protocol, so that ops never import core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

import numpy as np

from nnhand.values import format_fraction, format_number

Env = Mapping[str, np.ndarray]


class Node(Protocol):
    """One node of a compiled expression (core/expr.py `Node`)."""

    @property
    def kind(self) -> str: ...  # name | number | binop | unary | compare | boolop | call | transpose | index

    @property
    def op(self) -> str: ...  # a binop's symbol (@ + - * / **), a unary's (neg, pos, not), a call's op, a name

    @property
    def source(self) -> str: ...  # the node's own text in the expression

    @property
    def args(self) -> tuple[Node, ...]: ...  # operands, a call's positional arguments

    @property
    def keywords(self) -> Mapping[str, int]: ...  # a call's keyword options (whole-number literals)

    @property
    def fn(self) -> Callable[[Env], np.ndarray]: ...

    @property
    def window(self) -> tuple[slice, slice] | None: ...  # an index node's rows and columns


@dataclass
class Part:
    """A sub-expression at one cell: its written form, a partly evaluated form, its value.

    A cell's worked line is `name = text = middle = *stages = value` (repeats dropped);
    `ref` names the cell of a plain value (`dz3[1]`), written where a step only copies it."""

    text: str
    value: Any
    simple: bool = False  # a plain number: no intermediate line needed
    middle: str | None = None
    stages: tuple[str, ...] = ()
    ref: str | None = None
    named: bool = False  # `text` names the cells (A[1,2]), `middle` writes their values


class Work(Protocol):
    """What a worked writer reads: values of nodes for this instance, the parts of its arguments."""

    def value(self, node: Node) -> np.ndarray: ...  # the node's value: a (rows, cols) grid

    def part(self, node: Node, i: int, j: int) -> Part: ...  # the worked form of cell (i, j) of a node

    def at(self, arr: np.ndarray, i: int, j: int) -> Any: ...  # cell (i, j), broadcasting a row or column

    def name_of(self, node: Node, i: int, j: int) -> str: ...  # a name for cell (i, j): A[1,2], x[3]

    def word(self, index: int) -> str | None: ...  # the vocabulary word of a 1-based index


Worked = Callable[[Work, Node, int, int], Part]


@dataclass(frozen=True)
class Site:
    """The step a slip or hint reads: its root node, the declared shapes, values of nodes."""

    root: Node
    shapes: Mapping[str, tuple[int, ...]]
    value: Callable[[Node], np.ndarray]


Slip = tuple[Callable[[], "np.ndarray | None"], str]  # recompute the step the wrong way; what to say
StepSlips = Callable[[Node, Site], list[Slip]]
# Cell (i, j) was written as `given` where `want` is right: the slip that explains it, or None.
CellSlip = Callable[[Node, Site, int, int, Fraction, Fraction, Fraction], "str | None"]


@dataclass(frozen=True)
class Hint:
    """What to combine for one cell: `text`, then the terms `added`, then `after` (a sentence)."""

    text: str
    added: tuple[str, ...] = ()
    after: str = ""

    def sentence(self) -> str:
        text = self.text + (", then add " + " and ".join(self.added) if self.added else "")
        return text[0].upper() + text[1:] + "." + self.after


HintWriter = Callable[[Node, Site, int, int], "Hint | None"]


# ----------------------------------------------------------------------------- writing numbers


def num(value: Any, decimals: int | None = None) -> str:
    """A number as written in a worked solution: Unicode minus, exact where short."""
    if isinstance(value, Fraction) and value.denominator != 1 and decimals is None:
        text = format_number(value) if short(value) else format_fraction(value)
    else:
        text = format_number(value, decimals)
    return text.replace("-", "−")


def short(value: Fraction) -> bool:
    """True where a fraction has a finite decimal form (its denominator has only 2s and 5s)."""
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def paren(value: Any) -> str:
    return f"({num(value)})"


def wrap(part: Part) -> str:
    """A part's text ready to be a factor: in brackets unless it is one already."""
    if part.text.startswith("[") and part.text.endswith("]"):
        return part.text
    if part.simple or (part.text.startswith("(") and part.text.endswith(")") and part.text.count("(") == 1):
        return part.text
    return f"({part.text})"


def exact(value: Any) -> Any:
    """A cell as an exact Fraction where it is exact (a Python int or Fraction), else the float."""
    return value if isinstance(value, float) else Fraction(value)
