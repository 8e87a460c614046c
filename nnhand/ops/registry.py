"""The op registry: an op is registered with everything the code knows about it.

Like micrograd defining an operation together with its backward rule, `register` records an
op's compute function together with its worked-arithmetic writer and, where they apply, its
slips (diagnosis) and its hint (practice). `OPS` holds the ops a template may call by name;
`OPERATORS` the same knowledge for the operators (@ + - * / ** and unary minus), which
expressions write as symbols. explain, diagnosis and practice dispatch through `lookup`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from nnhand.ops.written import CellSlip, Hint, HintWriter, Node, Site, Slip, StepSlips, Worked


@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable[..., Any]
    min_args: int
    max_args: int  # -1: any number
    keywords: frozenset[str]
    doc: str
    worked: Worked | None = None  # one cell of the result as the arithmetic a person writes
    slips: StepSlips | None = None  # whole-step slips where this op is applied last
    cell_slip: CellSlip | None = None  # the slip that explains one wrong cell
    hint: HintWriter | None = None  # what to combine for one cell


OPS: dict[str, Op] = {}
OPERATORS: dict[str, Op] = {}


def register(
    name: str | None = None,
    *,
    worked: Worked | None = None,
    slips: StepSlips | None = None,
    cell_slip: CellSlip | None = None,
    hint: HintWriter | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a function callable from template expressions under `name`, with what it teaches."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        # Read the signature off the code object: importing `inspect` costs milliseconds at start-up.
        code = fn.__code__
        n_positional = code.co_argcount
        varargs = bool(code.co_flags & 0x04)  # CO_VARARGS
        keywords = frozenset(code.co_varnames[n_positional : n_positional + code.co_kwonlyargcount])
        required = n_positional - len(fn.__defaults__ or ())
        op_name = name or fn.__name__.rstrip("_")
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        OPS[op_name] = Op(
            op_name, fn, required, -1 if varargs else n_positional, keywords, doc, worked, slips, cell_slip, hint
        )
        return fn

    return wrap


def register_operator(
    symbol: str,
    fn: Callable[..., Any],
    *,
    worked: Worked | None = None,
    slips: StepSlips | None = None,
    cell_slip: CellSlip | None = None,
    hint: HintWriter | None = None,
) -> None:
    """Record what an operator (`@`, `+`, ..., `neg` for unary minus) teaches; expr.py compiles it."""
    arity = 1 if symbol in ("neg", "pos", "not") else 2
    OPERATORS[symbol] = Op(symbol, fn, arity, arity, frozenset(), "", worked, slips, cell_slip, hint)


def lookup(node: Node) -> Op | None:
    """The registered op or operator a node applies, if any."""
    if node.kind == "call":
        return OPS.get(node.op)
    if node.kind in ("binop", "unary"):
        return OPERATORS.get(node.op)
    return None


def slips_of(node: Node, site: Site) -> list[Slip]:
    """The whole-step slips of the op a node applies (none where it has none)."""
    op = lookup(node)
    return op.slips(node, site) if op is not None and op.slips is not None else []


def cell_slip_of(
    node: Node, site: Site, i: int, j: int, given: Fraction, want: Fraction, tolerance: Fraction
) -> str | None:
    """The slip the op a node applies finds in one wrong cell, if any."""
    op = lookup(node)
    return op.cell_slip(node, site, i, j, given, want, tolerance) if op is not None and op.cell_slip else None


def hint_of(node: Node, site: Site, i: int, j: int) -> Hint | None:
    """What to combine for one cell, from the op a node applies, if it says."""
    op = lookup(node)
    return op.hint(node, site, i, j) if op is not None and op.hint is not None else None
