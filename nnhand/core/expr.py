"""The template expression language: a whitelisted subset of Python expressions.

An expression is parsed with `ast`, checked against a whitelist, and compiled once into a
tree of `Node`s, each holding its closure; nothing is ever passed to `eval`. Later stages
(worked solutions, slips, hints, the ReLU input of a step) read that tree: this is the one
module that parses expression text. Allowed: names of givens, params and
earlier steps; numeric literals; + - * / @ and bounded **; comparisons; and / or / not;
`.T`; indexing with whole numbers and slices (0-based, like NumPy), whose bounds may be
size expressions over params (`G[n:2 * n]`, `X[:, t - 1]`); and calls to the
registered ops of `ops.py`. No other attribute, no dunder, no import, no arbitrary call:
a template from a stranger is safe to load.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnhand.errors import EvaluationError, ExpressionError
from nnhand.ops import arrays as ops
from nnhand.ops.registry import OPS
from nnhand.values import INT_LIMIT, MAX_INNER, constant, normalize

Env = Mapping[str, np.ndarray]
Fn = Callable[[Env], np.ndarray]

MAX_SOURCE = 2000  # characters in one expression
MAX_DEPTH = 40  # nesting of the syntax tree
MAX_LITERAL_EXPONENT = 4  # x ** 4 at most; a literal base (3 ** S) may take an array exponent
MAX_LITERAL = 10**6
MAX_BASE = 10  # the largest literal base of a power with a computed exponent (3 ** S), and of softmax
# Ranges of the ops' keyword options: a base as for 3 ** S, a fill value as for a literal.
OPTION_RANGES = {"base": (2, MAX_BASE)}


@dataclass(frozen=True, eq=False)
class Node:
    """One node of a compiled expression: what it is, its own text, its operands, its closure.

    kind: name | number | binop | unary | compare | boolop | call | transpose | index;
    op: a binop's symbol (@ + - * / **), a unary's (neg, pos, not), a call's op, a name;
    args: the operands (left, right), a call's positional arguments, the value indexed."""

    kind: str
    op: str
    source: str
    fn: Fn
    args: tuple[Node, ...] = ()
    keywords: Mapping[str, int] = field(default_factory=dict)
    names: frozenset[str] = frozenset()  # every name read in this subtree
    calls: frozenset[str] = frozenset()  # every op called in this subtree
    size: int = 1  # nodes in this subtree
    window: tuple[slice, slice] | None = None  # an index node's rows and columns (0-based slices)

    def __call__(self, env: Env) -> np.ndarray:
        return self.fn(env)

    def expr(self) -> Expr:
        """This subtree as an expression of its own (e.g. the pre-activation inside a relu)."""
        return Expr(self.source, self.names, self.calls, self.fn, self.size, root=self)

    def walk(self) -> Iterable[Node]:
        """This node and every node below it, parents first."""
        yield self
        for arg in self.args:
            yield from arg.walk()


@dataclass(frozen=True)
class Expr:
    """A compiled expression: call it with the environment of named arrays."""

    source: str
    names: frozenset[str]  # every name it reads
    calls: frozenset[str]  # every op it calls
    fn: Fn
    nodes: int = 1  # the size of its syntax tree: the number of NumPy calls one evaluation makes, roughly
    bound: int | None = None  # a proven bound on |every value| it computes, given bounds of its names
    fast: Fn | None = None  # fn without int64 bound checks: only where `bound` proves them needless
    root: Node | None = field(default=None, compare=False, repr=False)  # the compiled tree

    def __call__(self, env: Env) -> np.ndarray:
        return self.fn(env)

    @property
    def tree(self) -> Node:
        """The compiled tree (every Expr from compile_expr or Node.expr has one)."""
        if self.root is None:
            raise ValueError("an expression without its compiled tree")
        return self.root


def _checked(symbol: str, fn: Callable[[Any, Any], Any], bounded: bool = False) -> Callable[[Any, Any], Any]:
    """The operator `fn` with friendly errors; `bounded`: its int64 results are known to stay
    within ±INT_LIMIT (static_bound proved it), so the check in normalize is skipped."""

    def apply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        try:
            if a.dtype.kind == "f" or b.dtype.kind == "f":
                with np.errstate(all="ignore"):  # an overflow gives inf, which rounding refuses by name
                    result = fn(a, b)
            else:
                result = fn(a, b)
        except ValueError as exc:
            raise EvaluationError(
                f"cannot combine a {ops.grid(a)} and a {ops.grid(b)} with '{symbol}' "
                "(shapes must match, or one must be a scalar, a row or a column)"
            ) from exc
        except TypeError as exc:  # NumPy has no '-' for true/false values
            raise EvaluationError(
                f"'{symbol}' does not apply to true/false values", fix="Use where(cond, 1, 0) to turn them into numbers"
            ) from exc
        if not isinstance(result, np.ndarray) or (bounded and result.dtype.kind == "i"):
            return result
        return normalize(result)  # keeps every int64 result within ±INT_LIMIT: the next op cannot wrap

    return apply


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: _checked("+", operator.add),
    ast.Sub: _checked("-", operator.sub),
    ast.Mult: _checked("*", operator.mul),
    ast.Div: ops.divide,
    ast.MatMult: ops.matmul,
    ast.Pow: ops.power,
}
_BOUNDED_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    **_BINOPS,
    ast.Add: _checked("+", operator.add, bounded=True),
    ast.Sub: _checked("-", operator.sub, bounded=True),
    ast.Mult: _checked("*", operator.mul, bounded=True),
    ast.MatMult: lambda a, b: ops.matmul(a, b, bounded=True),
}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@", ast.Pow: "**"}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: _checked("<", operator.lt),
    ast.LtE: _checked("<=", operator.le),
    ast.Gt: _checked(">", operator.gt),
    ast.GtE: _checked(">=", operator.ge),
    ast.Eq: _checked("==", operator.eq),
    ast.NotEq: _checked("!=", operator.ne),
}
_FRIENDLY = {
    ast.Attribute: "attribute access (only .T, the transpose, is allowed)",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.Dict: "dict literals",
    ast.Set: "set literals",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "':=' assignments",
    ast.IfExp: "'x if c else y' (use where(c, x, y))",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.Starred: "'*' unpacking",
    ast.FloorDiv: "'//' (use '/', which is exact)",
    ast.Mod: "'%'",
    ast.BitAnd: "'&' (use 'and')",
    ast.BitOr: "'|' (use 'or')",
    ast.BitXor: "'^' (use '**' for powers)",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
    ast.Invert: "'~' (use 'not')",
    ast.Is: "'is'",
    ast.IsNot: "'is not'",
    ast.In: "'in'",
    ast.NotIn: "'not in'",
}


def compile_expr(
    source: str,
    known: Iterable[str],
    bounds: Mapping[str, int | None] | None = None,
    params: Iterable[str] = (),
) -> Expr:
    """Parse and check `source`; names must be in `known`. Raises ExpressionError.

    `params`: the names among `known` that are params (one whole number for every instance):
    the only names an index or a slice bound may use (`G[n:2 * n]`, `X[:, t - 1]`).
    With `bounds` (a bound on |value| of each name, None where unknown), also prove a bound on
    every value the expression computes; where every int64 value provably stays within
    ±INT_LIMIT, `fast` evaluates it without checking that at run time (sampling's hot path)."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("empty expression", fix="Write a formula such as 'relu(W1 @ x + b1)'")
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"expression longer than {MAX_SOURCE} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"'{source}' is not a valid expression ({exc.msg} at column {exc.offset})") from None
    known, params = frozenset(known), frozenset(params)
    compiler = _Compiler(source, known, params=params)
    root = compiler.compile(tree.body, 0)
    nodes = sum(1 for _ in ast.walk(tree.body))
    bound = static_bound(tree.body, bounds) if bounds is not None else None
    fast = _Compiler(source, known, True, params).compile(tree.body, 0).fn if bound is not None else None
    return Expr(source.strip(), frozenset(compiler.names), frozenset(compiler.calls), root.fn, nodes, bound, fast, root)


# Ops whose result is bounded by their first argument's bound (times a factor), or by a constant
# (true/false, an index, a count): enough to prove the common steps of a template int64-safe.
_SAME_BOUND = {"relu", "abs", "max", "min", "colmax", "causal_mask", "scale_round"}
_SUM_BOUND = {"colsum": MAX_INNER, "rowsum": MAX_INNER, "cumsum": MAX_INNER, "sum": MAX_INNER * MAX_INNER}
_SMALL_RESULT = {
    "step": 1, "argmax": MAX_INNER, "argmax_ties": 1, "all": 1, "any": 1, "count": MAX_INNER * MAX_INNER,
    "distinct_rows": 1, "distinct_cols": 1, "nonzero_rows": 1, "nonzero_cols": 1, "isin": 1,
    "multiple_of": 1, "unique_max": 1, "ones": 1, "zeros": 1, "onehot": 1, "switch_kept": 1,
    "sample": MAX_INNER, "whole_stats": 1,
}  # fmt: skip


def static_bound(node: ast.AST, bounds: Mapping[str, int | None]) -> int | None:
    """A bound on |every value| `node` computes, from bounds on its names; None where no bound
    is known or one exceeds INT_LIMIT (then the run-time checks stay on)."""
    bound = _bound(node, bounds)
    return bound if bound is not None and bound <= INT_LIMIT else None


def _bound(node: ast.AST, bounds: Mapping[str, int | None]) -> int | None:
    def within(value: int | None) -> int | None:
        return value if value is not None and value <= INT_LIMIT else None

    if isinstance(node, ast.Constant):
        value = node.value
        return math.ceil(abs(value)) if isinstance(value, (int, float)) and math.isfinite(value) else None
    if isinstance(node, ast.Name):
        return bounds.get(node.id)
    if isinstance(node, (ast.Compare, ast.BoolOp)) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
        parts = [node.left, *node.comparators] if isinstance(node, ast.Compare) else []
        parts += node.values if isinstance(node, ast.BoolOp) else []
        parts += [node.operand] if isinstance(node, ast.UnaryOp) else []
        return 1 if all(_bound(p, bounds) is not None for p in parts) else None
    if isinstance(node, ast.UnaryOp):
        return _bound(node.operand, bounds)
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return _bound(node.value, bounds)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.MatMult)):
        left, right = _bound(node.left, bounds), _bound(node.right, bounds)
        if left is None or right is None:
            return None
        if isinstance(node.op, (ast.Add, ast.Sub)):
            return within(left + right)
        return within(left * right * (MAX_INNER if isinstance(node.op, ast.MatMult) else 1))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
        name = node.func.id
        args = [_bound(a, bounds) for a in node.args]
        if any(a is None for a in args):
            return None
        if name in _SMALL_RESULT:
            return _SMALL_RESULT[name]
        if name in _SAME_BOUND:
            return args[0]
        if name in _SUM_BOUND:
            return within(_SUM_BOUND[name] * (args[0] or 0))
        if name in ("where", "vstack", "hstack"):
            return max(args[1:] if name == "where" else args, default=0)  # type: ignore[type-var]
        if name == "aug":
            return max(args[0] or 0, 1)
    return None


class _Compiler:
    def __init__(self, source: str, known: frozenset[str], bounded: bool = False, params: frozenset[str] = frozenset()):
        self.source = source
        self.text = source.strip()  # what was parsed: node offsets are into this
        self.data = self.text.encode("utf-8")  # ast's column offsets count UTF-8 bytes
        self.line_starts = [0] + [m.end() for m in re.finditer(rb"\r\n|\r|\n", self.data)]
        self.known = known
        self.params = params & known  # the names an index may use
        self.names: set[str] = set()
        self.calls: set[str] = set()
        self.binops = _BOUNDED_BINOPS if bounded else _BINOPS

    def fail(self, what: str, fix: str | None = None) -> ExpressionError:
        return ExpressionError(f"'{self.source}': {what}", fix=fix)

    def compile(self, node: ast.AST, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH} levels")
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            what = _FRIENDLY.get(type(node), f"'{type(node).__name__}' syntax")
            raise self.fail(f"{what} is not allowed in templates")
        compiled: Node = method(node, depth + 1)
        return compiled

    def segment(self, at: ast.AST) -> str:
        """The source text of a node (ast.get_source_segment, without re-splitting the text per node)."""
        end_line, end_col = getattr(at, "end_lineno", None), getattr(at, "end_col_offset", None)
        if end_line is None or end_col is None:
            return ""
        start = self.line_starts[at.lineno - 1] + at.col_offset  # type: ignore[attr-defined]
        return self.data[start : self.line_starts[end_line - 1] + end_col].decode("utf-8")

    def node(
        self,
        kind: str,
        op: str,
        at: ast.AST,
        fn: Fn,
        args: tuple[Node, ...] = (),
        keywords: Mapping[str, int] | None = None,
        window: tuple[slice, slice] | None = None,
    ) -> Node:
        """A compiled node: its text is cut from the parsed source, its names and calls gathered."""
        names = frozenset({op} if kind == "name" else ()).union(*(a.names for a in args))
        calls = frozenset({op} if kind == "call" else ()).union(*(a.calls for a in args))
        source = self.segment(at)
        size = 1 + sum(a.size for a in args)
        return Node(kind, op, source, fn, args, dict(keywords or {}), names, calls, size, window)

    # --- leaves

    def _Constant(self, node: ast.Constant, depth: int) -> Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"the literal {str(value)[:40]!r} is not a number")
        if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > MAX_LITERAL:
            raise self.fail(f"the literal {str(value)[:40]} is beyond ±{MAX_LITERAL}")
        arr = constant(value)
        return self.node("number", "", node, lambda env: arr)

    def _Name(self, node: ast.Name, depth: int) -> Node:
        name = node.id
        if name.startswith("_"):
            raise self.fail(f"the name '{name}' is not allowed (no leading underscores)")
        if name in OPS:
            raise self.fail(f"'{name}' is an op: call it, e.g. {name}(...)")
        if name not in self.known:
            known = ", ".join(sorted(self.known)) or "none"
            raise self.fail(
                f"unknown name '{name}'",
                fix=f"Use a given, a param or an earlier step (known here: {known})",
            )
        self.names.add(name)
        return self.node("name", name, node, lambda env: env[name])

    # --- operators

    def _BinOp(self, node: ast.BinOp, depth: int) -> Node:
        op = self.binops.get(type(node.op))
        if op is None:
            raise self.fail(f"{_FRIENDLY.get(type(node.op), type(node.op).__name__)} is not allowed")
        if isinstance(node.op, ast.Pow):
            self._check_power(node)
        left = self.compile(node.left, depth)
        right = self.compile(node.right, depth)
        lfn, rfn = left.fn, right.fn
        return self.node("binop", _SYMBOLS[type(node.op)], node, lambda env: op(lfn(env), rfn(env)), (left, right))

    def _check_power(self, node: ast.BinOp) -> None:
        exponent, base = node.right, node.left
        if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, ast.USub):
            exponent = exponent.operand
        if isinstance(exponent, ast.Constant) and isinstance(exponent.value, int):
            if exponent.value > MAX_LITERAL_EXPONENT:
                raise self.fail(
                    f"the power {exponent.value} is too large",
                    fix=f"Powers are bounded: x ** {MAX_LITERAL_EXPONENT} at most",
                )
            return
        if isinstance(base, ast.Constant) and isinstance(base.value, int) and 2 <= base.value <= 10:
            if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) for n in ast.walk(node.right)):
                raise self.fail("a power inside an exponent is not allowed (bounded powers)")
            return  # 3 ** S: the exponent's values are bounded at run time
        raise self.fail(
            "powers are bounded: use a whole-number exponent up to "
            f"{MAX_LITERAL_EXPONENT} (x ** 2) or a small literal base (3 ** S)"
        )

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> Node:
        inner = self.compile(node.operand, depth)
        operand = inner.fn
        if isinstance(node.op, ast.USub):
            return self.node("unary", "neg", node, lambda env: _negative(operand(env)), (inner,))
        if isinstance(node.op, ast.UAdd):
            return self.node("unary", "pos", node, operand, (inner,))
        if isinstance(node.op, ast.Not):
            return self.node("unary", "not", node, lambda env: np.logical_not(operand(env)), (inner,))
        raise self.fail(f"{_FRIENDLY.get(type(node.op), type(node.op).__name__)} is not allowed")

    def _Compare(self, node: ast.Compare, depth: int) -> Node:
        operands = (self.compile(node.left, depth), *(self.compile(c, depth) for c in node.comparators))
        parts = [o.fn for o in operands]
        funcs = []
        for op in node.ops:
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise self.fail(f"{_FRIENDLY.get(type(op), type(op).__name__)} is not allowed")
            funcs.append(fn)

        def compare(env: Env) -> np.ndarray:
            values = [p(env) for p in parts]
            result = funcs[0](values[0], values[1])
            for i in range(1, len(funcs)):  # a < b <= c chains like Python
                result = np.logical_and(result, funcs[i](values[i], values[i + 1]))
            return result

        return self.node("compare", "compare", node, compare, operands)

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> Node:
        operands = tuple(self.compile(v, depth) for v in node.values)
        values = [o.fn for o in operands]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def boolop(env: Env) -> np.ndarray:
            result = values[0](env)
            for v in values[1:]:
                result = combine(result, v(env))
            return result

        return self.node("boolop", "and" if isinstance(node.op, ast.And) else "or", node, boolop, operands)

    # --- calls, transpose, indexing

    def _Call(self, node: ast.Call, depth: int) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self.fail("only registered ops may be called, by name (e.g. relu(x))")
        name = node.func.id
        op = OPS.get(name)
        if op is None:
            import difflib

            close = difflib.get_close_matches(name, OPS, n=3)
            hint = f"Did you mean {', '.join(close)}?" if close else "See the op list in the README"
            raise self.fail(f"'{name}' is not a registered op", fix=hint)
        nargs = len(node.args)
        if nargs < op.min_args or (op.max_args >= 0 and nargs > op.max_args):
            want = f"{op.min_args}" if op.min_args == op.max_args else f"{op.min_args} or more"
            if op.max_args > op.min_args:
                want = f"{op.min_args} to {op.max_args}"
            raise self.fail(f"{name}() takes {want} argument(s), got {nargs}")
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None or kw.arg not in op.keywords:
                allowed = ", ".join(sorted(op.keywords)) or "none"
                raise self.fail(f"{name}() has no option '{kw.arg}' (options: {allowed})")
            kwargs[kw.arg] = self._option(name, kw.arg, kw.value)
        self.calls.add(name)
        operands = tuple(self.compile(a, depth) for a in node.args)
        args = [a.fn for a in operands]
        fn = op.fn
        return self.node("call", name, node, lambda env: fn(*[a(env) for a in args], **kwargs), operands, kwargs)

    def _option(self, op: str, option: str, node: ast.AST) -> int:
        """An op's keyword option: a whole-number literal within its range, checked at load."""
        low, high = OPTION_RANGES.get(option, (-MAX_LITERAL, MAX_LITERAL))
        try:
            value = self._literal_int(node)
        except ExpressionError:
            raise self.fail(f"{op}({option}=...) takes a whole-number literal from {low} to {high}") from None
        if not low <= value <= high:
            raise self.fail(f"{op}({option}={value}) is out of range", fix=f"Use {low} to {high}")
        return value

    def _Attribute(self, node: ast.Attribute, depth: int) -> Node:
        if node.attr != "T":
            raise self.fail(f"attribute '.{node.attr}' is not allowed (only .T, the transpose)")
        operand = self.compile(node.value, depth)
        inner = operand.fn
        return self.node("transpose", ".T", node, lambda env: np.swapaxes(inner(env), -1, -2), (operand,))

    def _Subscript(self, node: ast.Subscript, depth: int) -> Node:
        operand = self.compile(node.value, depth)
        value = operand.fn
        index = node.slice
        parts = list(index.elts) if isinstance(index, ast.Tuple) else [index]
        if len(parts) > 2:
            raise self.fail("index with at most two positions: X[row, col]")
        keys = [self._index_part(p, depth) for p in parts]
        if len(keys) == 1:
            keys.append(slice(None))
        names = operand.names.union(*(k.names for k in keys if isinstance(k, _Sized)))
        static = [k for k in keys if isinstance(k, slice)]
        if len(static) == 2:  # literals only: the key is built once
            window: tuple[slice, slice] | None = (static[0], static[1])
            key: tuple[Any, ...] = (Ellipsis, *static)

            def subscript(env: Env) -> np.ndarray:
                return _select(value(env), key)

        else:  # bounds over params: evaluated from the params in the environment
            window = None
            sized = tuple(keys)

            def subscript(env: Env) -> np.ndarray:
                return _select(value(env), (Ellipsis, *(k if isinstance(k, slice) else k.resolve(env) for k in sized)))

        size = 1 + operand.size + sum(k.size for k in keys if isinstance(k, _Sized))
        return Node("index", "[]", self.segment(node), subscript, (operand,), {}, names, operand.calls, size, window)

    def _index_part(self, node: ast.AST, depth: int = 0) -> slice | _Sized:
        """Whole-number indexes become one-wide slices, so results stay 2-D. A literal gives a
        slice at once; a size expression over params (`n`, `t - 1`, `2 * n`) one at run time."""
        if isinstance(node, ast.Slice):
            if node.step is not None:
                raise self.fail("slices with a step are not allowed")
            lower = self._bound_part(node.lower, depth) if node.lower else None
            upper = self._bound_part(node.upper, depth) if node.upper else None
            if not isinstance(lower, _Size) and not isinstance(upper, _Size):
                return slice(lower, upper)
            return _Sized(lower, upper, False)
        i = self._bound_part(node, depth)
        if isinstance(i, _Size):
            return _Sized(i, None, True)
        return slice(i, i + 1 if i != -1 else None)

    def _bound_part(self, node: ast.AST, depth: int) -> int | _Size:
        """One index or slice bound: a whole-number literal, or a size expression over params."""
        try:
            return self._literal_int(node)
        except ExpressionError:
            if not self.params or not any(isinstance(n, ast.Name) for n in ast.walk(node)):
                raise
        compiled = self.compile(node, depth)
        others = sorted(n for n in compiled.names if n not in self.params)
        if others:
            raise self.fail(
                f"an index may use params only, not '{others[0]}' (a given or a step)",
                fix=f"Index with whole numbers or sizes over params ({', '.join(sorted(self.params))})",
            )
        return _Size(compiled.source or self.segment(node), compiled.fn, compiled.names, compiled.size)

    def _literal_int(self, node: ast.AST) -> int:
        sign = 1
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            sign, node = -1, node.operand
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            if node.value > MAX_LITERAL:
                raise self.fail(f"the literal {str(node.value)[:40]} is beyond ±{MAX_LITERAL}")
            return sign * node.value
        raise self.fail("indexes must be whole-number literals (0-based)")


@dataclass(frozen=True)
class _Size:
    """An index or slice bound written over params: one whole number for the whole batch."""

    source: str
    fn: Fn
    names: frozenset[str]
    size: int

    def __call__(self, env: Env) -> int:
        arr = self.fn(env)
        item = arr.reshape(-1)[0] if arr.size == 1 else None
        if item is None or (arr.dtype.kind not in "iu" and getattr(item, "denominator", None) != 1):
            raise EvaluationError(f"the index '{self.source}' is not one whole number")
        return int(item)


@dataclass(frozen=True)
class _Sized:
    """An index part with a bound over params: a slice (lower:upper) or one position (lower)."""

    lower: int | _Size | None
    upper: int | _Size | None
    single: bool

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*(b.names for b in (self.lower, self.upper) if isinstance(b, _Size)))

    @property
    def size(self) -> int:
        return sum(b.size for b in (self.lower, self.upper) if isinstance(b, _Size))

    def resolve(self, env: Env) -> slice:
        lower = self.lower(env) if isinstance(self.lower, _Size) else self.lower
        if self.single:
            assert lower is not None
            return slice(lower, lower + 1 if lower != -1 else None)
        return slice(lower, self.upper(env) if isinstance(self.upper, _Size) else self.upper)


def _select(arr: np.ndarray, key: tuple[Any, ...]) -> np.ndarray:
    try:
        out: np.ndarray = arr[key]
    except IndexError as exc:
        raise EvaluationError(f"index out of range for a {ops.grid(arr)} value") from exc
    if out.shape[-1] == 0 or out.shape[-2] == 0:
        raise EvaluationError(f"index selects nothing of a {ops.grid(arr)} value")
    return out


def _negative(value: np.ndarray) -> np.ndarray:
    if value.dtype.kind == "b":
        raise EvaluationError("'-' does not apply to true/false values", fix="Use where(cond, -1, 0)")
    return normalize(-value)


def evaluate_scalar(source: str, params: Mapping[str, int]) -> int:
    """Evaluate a size expression over params (e.g. 'n + 1') to a whole number."""
    expr = compile_expr(str(source), params.keys(), params=params.keys())
    env = {k: constant(int(v)) for k, v in params.items()}
    value = expr(env)
    item = value.reshape(-1)[0] if value.size == 1 else None
    if value.dtype == object and item is not None and getattr(item, "denominator", None) == 1:
        return int(item)  # a whole number beyond int64's fast range: the caller judges the size
    if item is None or value.dtype.kind not in "iu":
        raise ExpressionError(f"'{str(source)[:60]}' is not a whole number")
    return int(item)
