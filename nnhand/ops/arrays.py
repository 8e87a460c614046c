"""The registered operations a template expression may call.

Each op is a small pure function over arrays of shape (B, rows, cols): B candidate
instances at once (see values.py). Templates call ops by name; nothing else is callable.
Ops that are algorithms rather than formulas (routing with capacity, nearest neighbour)
live here too, so a template stays data. Each op is registered (ops/registry.py) with its
worked-arithmetic writer, defined just above it, and, where they apply, its slips and hint;
the operators @ + - * / ** and unary minus are registered here the same way.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.errors import EvaluationError, ValueRangeError
from nnhand.ops.registry import cell_slip_of, hint_of, register, register_operator
from nnhand.ops.written import Hint, Node, Part, Site, Slip, Work, exact, num, paren, wrap
from nnhand.values import INT_LIMIT, MAX_DIGITS, MAX_INNER, cell_name, format_number, normalize, to_fractions

Array = np.ndarray

MAX_EXPONENT = 20  # 3**20 is already far beyond anything written by hand


# ----------------------------------------------------------------------------- helpers


def _int_arg(value: Any, what: str) -> int:
    """A scalar argument (a literal or a param) as a Python int within ±INT_LIMIT."""
    arr = np.asarray(value)
    if arr.size != 1:
        raise EvaluationError(f"{what} must be a single whole number")
    item = arr.reshape(-1).tolist()[0]
    if isinstance(item, float) and not item.is_integer():  # also NaN and ±inf
        raise EvaluationError(f"{what} must be a whole number, not {item}")
    if isinstance(item, Fraction) and item.denominator != 1:
        raise EvaluationError(f"{what} must be a whole number, not {item}")
    number = int(item)
    if not -INT_LIMIT <= number <= INT_LIMIT:
        raise EvaluationError(f"{what} is beyond ±{INT_LIMIT:,}")
    return number


def _size_arg(value: Any, what: str) -> int:
    """A count of rows or columns an op builds: 1 to MAX_INNER, checked before allocating."""
    size = _int_arg(value, what)
    if not 1 <= size <= MAX_INNER:
        raise EvaluationError(f"{what} must be 1 to {MAX_INNER}, not {size}", fix="A hand exercise has small blocks")
    return size


def _magnitude(arr: Array) -> int:
    """The largest |cell| of an exact array (0 for none), as a Python int rounded up."""
    if not arr.size:
        return 0
    if arr.dtype.kind in "iub":
        return max(int(arr.max()), -int(arr.min()))
    return max(math.ceil(abs(Fraction(v))) for v in arr.ravel().tolist())


def _elementwise(arr: Array, fn: Callable[[Any], Any], dtype: Any = object) -> Array:
    out = np.empty(arr.shape, dtype=dtype)
    out.ravel()[:] = [fn(v) for v in arr.ravel().tolist()]
    return out


def grid(arr: Array) -> str:
    """'4x3' for an array of shape (B, 4, 3), for messages."""
    return "x".join(str(d) for d in arr.shape[1:]) if arr.ndim == 3 else "x".join(map(str, arr.shape))


# ----------------------------------------------------------------------------- arithmetic


def matmul(a: Array, b: Array, bounded: bool = False) -> Array:
    """a @ b; `bounded`: its cells are known to stay within ±INT_LIMIT (expr.static_bound)."""
    if a.shape[-1] != b.shape[-2]:
        raise EvaluationError(
            f"cannot multiply a {grid(a)} matrix by a {grid(b)} matrix: "
            f"the first has {a.shape[-1]} columns, the second {b.shape[-2]} rows"
        )
    if a.shape[-1] > MAX_INNER:  # int64 cells within ±INT_LIMIT: a sum of MAX_INNER products fits
        raise EvaluationError(f"a product over {a.shape[-1]} terms: at most {MAX_INNER}")
    product = a @ b
    if bounded and product.dtype.kind == "i":
        return product
    return normalize(product)  # int64 too: a product beyond ±INT_LIMIT moves to exact Fractions


def _finite(result: Array, what: str) -> Array:
    """A float result, or ValueRangeError where it overflowed or is not a number."""
    if not np.all(np.isfinite(result)):
        raise ValueRangeError(f"{what} gives a number too large for a float, or not a number")
    return result


def divide(a: Array, b: Array) -> Array:
    """Exact division: integers give fractions, never floats."""
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        with np.errstate(divide="raise", invalid="raise", over="ignore"):
            try:
                quotient = np.asarray(a, dtype=np.float64) / np.asarray(b, dtype=np.float64)
            except FloatingPointError as exc:
                raise ValueRangeError("division by zero") from exc
        return _finite(quotient, "a division")
    if np.any(b == 0):
        raise ValueRangeError("division by zero")
    a_exact = to_fractions(a) if a.dtype != object else a
    return normalize(a_exact / b)


def power(base: Array, exponent: Array) -> Array:
    """base ** exponent with a bounded whole exponent; negative exponents give fractions.

    Every bound is checked before any work: |exponent| ≤ MAX_EXPONENT, and a result that
    could leave int64's exact range is computed with Python integers, or refused when it
    would have more than MAX_DIGITS digits."""
    if exponent.dtype.kind == "f" or base.dtype.kind == "f":
        with np.errstate(all="ignore"):
            result = np.power(np.asarray(base, dtype=np.float64), np.asarray(exponent, dtype=np.float64))
        return _finite(result, "a power (of 0 to a negative exponent, or of a negative number to a fraction)")
    if exponent.dtype == object:
        if any(isinstance(v, Fraction) and v.denominator != 1 for v in exponent.ravel()):
            raise ValueRangeError("exponents must be whole numbers (round the scores first)")
        exponent = normalize(exponent)
    top = _magnitude(exponent)
    if top > MAX_EXPONENT:
        raise ValueRangeError(f"exponent beyond ±{MAX_EXPONENT}: no one computes that by hand")
    if base.dtype != object and np.all(exponent >= 0) and _magnitude(base) ** top <= INT_LIMIT:
        return np.power(base.astype(np.int64), exponent.astype(np.int64))
    b, e = np.broadcast_arrays(base, exponent)
    cells = []
    for x, y in zip(b.ravel().tolist(), e.ravel().tolist()):
        x = Fraction(x)
        if x == 0 and y < 0:
            raise ValueRangeError("0 to a negative power (a division by zero)")
        if max(abs(x.numerator), x.denominator).bit_length() * abs(y) > MAX_DIGITS * 10 // 3 + 4:
            raise ValueRangeError(f"{x} ** {y} has more than {MAX_DIGITS} digits: beyond what nnhand computes exactly")
        cells.append(x ** int(y))
    out = np.empty(b.shape, dtype=object)
    out.ravel()[:] = cells
    return normalize(out)


# ----------------------------------------------------------------------------- worked forms: helpers


def _cell(work: Work, node: Node, i: int, j: int) -> Any:
    """Cell (i, j) of a node's value (a row or column broadcast)."""
    return work.at(work.value(node), i, j)


def _names_cells(work: Work, node: Node) -> bool:
    """True for a call whose worked form names the cell it takes (a lookup such as embed)."""
    return node.kind == "call" and work.part(node, 0, 0).ref is not None


def _name(work: Work, node: Node, i: int, j: int) -> str:
    """A name for cell (i, j) of an operand: A[1,2], or what a lookup took (E[1,who])."""
    if node.kind == "call":
        part = work.part(node, i, j)
        return part.ref or num(part.value)
    return work.name_of(node, i, j)


def _named(part: Part) -> str:
    return part.ref if part.simple and part.ref else part.text


def _values(part: Part) -> str:
    return part.middle if part.named and part.middle else part.text


def _column(work: Work, node: Node, j: int) -> list[Any]:
    arr = work.value(node)
    return arr[:, j if arr.shape[1] > 1 else 0].tolist()


def _row(work: Work, node: Node, i: int) -> list[Any]:
    arr = work.value(node)
    return arr[i if arr.shape[0] > 1 else 0, :].tolist()


# ----------------------------------------------------------------------------- worked forms: operators


def _worked_matmul(work: Work, node: Node, i: int, j: int) -> Part:
    """(a_i1)(b_1j) + (a_i2)(b_2j) + ...; a lookup operand names the cells it took."""
    left, right = node.args
    a, b = work.value(left), work.value(right)
    r, c = (i if a.shape[0] > 1 else 0), (j if b.shape[1] > 1 else 0)
    row, col = a[r], b[:, c]
    values = " + ".join(f"{paren(x)}{paren(y)}" for x, y in zip(row, col))
    # tolist: Python ints, which never overflow (a Fraction of an np.int64 keeps int64 parts)
    total = sum((Fraction(x) * Fraction(y) for x, y in zip(row.tolist(), col.tolist())), Fraction(0))
    if _names_cells(work, left) or _names_cells(work, right):
        named = " + ".join(f"({_name(work, left, r, k)})({_name(work, right, k, c)})" for k in range(len(row)))
        return Part(named, total, middle=values, named=True)
    return Part(values, total)


def _worked_sum(symbol: str) -> Callable[[Work, Node, int, int], Part]:
    written = " + " if symbol == "+" else " − "

    def worked(work: Work, node: Node, i: int, j: int) -> Part:
        left, right = (work.part(a, i, j) for a in node.args)
        value = _cell(work, node, i, j)
        if left.named or right.named:  # names first, then their values
            right_named, right_values = _named(right), _values(right)
            if symbol == "-":
                right_named, right_values = f"({right_named})", f"({right_values})"
            return Part(
                f"{_named(left)}{written}{right_named}",
                value,
                middle=f"{_values(left)}{written}{right_values}",
                named=True,
            )
        return Part(f"{left.text}{written}{right.text if symbol == '+' else wrap(right)}", value)

    return worked


def _worked_product(symbol: str) -> Callable[[Work, Node, int, int], Part]:
    written = "" if symbol == "*" else " / "

    def worked(work: Work, node: Node, i: int, j: int) -> Part:
        left, right = (work.part(a, i, j) for a in node.args)
        if symbol == "*":
            joint = "·" if right.text.startswith("[") or left.text.startswith("[") else ""
            text = f"{wrap(left)}{joint}{wrap(right)}"
        else:
            text = f"{wrap(left) if not left.simple else left.text}{written}{wrap(right)}"
        middle = None if left.simple and right.simple else f"{paren(left.value)}{written}{paren(right.value)}"
        return Part(text, _cell(work, node, i, j), middle=middle)

    return worked


def _worked_power(work: Work, node: Node, i: int, j: int) -> Part:
    base, exponent = (work.part(a, i, j) for a in node.args)
    written = num(base.value)
    if written.startswith("−") or "/" in written:
        written = f"({written})"  # (−3)^2, not −3^2
    return Part(f"{written}^{num(exponent.value)}", _cell(work, node, i, j))


def _worked_negative(work: Work, node: Node, i: int, j: int) -> Part:
    inner = work.part(node.args[0], i, j)
    return Part(f"−{wrap(inner)}", -exact(inner.value), middle=None if inner.simple else f"−{paren(inner.value)}")


def _sum_cell_slip(
    node: Node, site: Site, i: int, j: int, given: Fraction, want: Fraction, tol: Fraction
) -> str | None:
    """A slip inside `A @ B + c` is a slip inside the product: look at the left operand."""
    return cell_slip_of(node.args[0], site, i, j, given, want, tol)


def _sum_hint(node: Node, site: Site, i: int, j: int) -> Hint | None:
    """What to combine for `<product> + c`: the product's hint, then add c."""
    inner = hint_of(node.args[0], site, i, j)
    if inner is None:
        return None
    return Hint(inner.text, (*inner.added, f"{node.args[1].source} (row {i + 1})"), inner.after)


def _fmt(value: Any) -> str:
    return format_number(value).replace("-", "−")


def _matmul_cell_slip(
    node: Node, site: Site, i: int, j: int, given: Fraction, want: Fraction, tol: Fraction
) -> str | None:
    """One term of the dot product left out (the commoner slip, looked for first) or counted twice."""
    left, right = (site.value(a) for a in node.args)
    if left.shape[1] != right.shape[0]:
        return None
    terms = [(k, Fraction(left[i, k]) * Fraction(right[k, j])) for k in range(left.shape[1])]
    terms = [(k, t) for k, t in terms if t != 0]
    for k, term in terms:
        if abs(given - (want - term)) <= tol:
            return f"one term is missing from the sum: ({_fmt(left[i, k])})({_fmt(right[k, j])})"
    for k, term in terms:
        if abs(given - (want + term)) <= tol:
            return f"one term is counted twice: ({_fmt(left[i, k])})({_fmt(right[k, j])})"
    return None


def _matmul_hint(node: Node, site: Site, i: int, j: int) -> Hint:
    left, right = node.args
    column = right.source if len(site.shapes.get(right.source, (0, 0))) == 1 else f"column {j + 1} of {right.source}"
    return Hint(f"multiply row {i + 1} of {left.source} by {column} cell by cell and add up")


register_operator("@", matmul, worked=_worked_matmul, cell_slip=_matmul_cell_slip, hint=_matmul_hint)
register_operator("+", np.add, worked=_worked_sum("+"), cell_slip=_sum_cell_slip, hint=_sum_hint)
register_operator("-", np.subtract, worked=_worked_sum("-"), cell_slip=_sum_cell_slip, hint=_sum_hint)
register_operator("*", np.multiply, worked=_worked_product("*"))
register_operator("/", divide, worked=_worked_product("/"))
register_operator("**", power, worked=_worked_power)
register_operator("neg", np.negative, worked=_worked_negative)


# ----------------------------------------------------------------------------- worked forms: calls


def _wrapped(symbol: str) -> Callable[[Work, Node, int, int], Part]:
    """f(x) written as symbol(x): ReLU(−1), σ(0.5), √(9)."""

    def worked(work: Work, node: Node, i: int, j: int) -> Part:
        inner = work.part(node.args[0], i, j)
        value = _cell(work, node, i, j)
        written = f"{symbol}({inner.text.strip('()') if inner.simple else inner.text})"
        if inner.simple:
            return Part(written, value)
        if inner.named:
            last = f"{symbol}({num(inner.value)})"
            return Part(written, value, middle=f"{symbol}({inner.middle})", stages=(last,), named=True)
        return Part(written, value, middle=f"{symbol}({num(inner.value)})")

    return worked


def _relu_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    inner = node.args[0]
    return [(lambda: site.value(inner), "You forgot the ReLU: negative values become 0.")]


def _relu_cell_slip(
    node: Node, site: Site, i: int, j: int, given: Fraction, want: Fraction, tol: Fraction
) -> str | None:
    return cell_slip_of(node.args[0], site, i, j, given, want, tol) if node is site.root else None


def _relu_hint(node: Node, site: Site, i: int, j: int) -> Hint | None:
    if node is not site.root:
        return None
    arg = node.args[0]
    if arg.kind == "name":  # ReLU of a quantity on the sheet: which cell to read
        shape = site.shapes.get(arg.source)
        where = cell_name(arg.source, shape, i, j) if shape is not None else arg.source
        return Hint(f"read {where}: ReLU keeps a positive number and makes a negative one 0")
    inner = hint_of(arg, site, i, j)
    return None if inner is None else Hint(inner.text, inner.added, " Then apply ReLU (a negative becomes 0).")


# ----------------------------------------------------------------------------- activations


@register(worked=_wrapped("ReLU"), slips=_relu_slips, cell_slip=_relu_cell_slip, hint=_relu_hint)
def relu(x: Array) -> Array:
    """ReLU(x) = max(x, 0), cell by cell: cross out negatives, write 0."""
    if x.dtype == object:
        return normalize(_elementwise(x, lambda v: v if v > 0 else 0))
    return np.maximum(x, 0)


def _worked_step(work: Work, node: Node, i: int, j: int) -> Part:
    return Part(f"[{num(work.part(node.args[0], i, j).value)} > 0]", _cell(work, node, i, j))


@register(worked=_worked_step)
def step(x: Array) -> Array:
    """1 where x > 0, else 0: the ReLU mask (its derivative)."""
    return (x > 0).astype(np.int64)


@register(worked=_wrapped("σ"))
def sigmoid(x: Array) -> Array:
    """σ(x) = 1 / (1 + e^-x); declare rounding to 2 decimals to read it off the sigmoid table."""
    with np.errstate(over="ignore"):  # e^-x overflows for x below -709: σ is then 0, exactly as a float says
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


@register(worked=_wrapped("tanh"))
def tanh(x: Array) -> Array:
    """tanh(x); declare a rounding for the step."""
    return np.tanh(np.asarray(x, dtype=np.float64))


@register(worked=_wrapped("e^"))
def exp(x: Array) -> Array:
    """e^x (floats; declare a rounding). Hand exercises usually use 3**x instead."""
    with np.errstate(over="ignore"):
        return _finite(np.exp(np.asarray(x, dtype=np.float64)), "e^x")


@register(worked=_wrapped("√"))
def sqrt(x: Array) -> Array:
    """√x: exact for perfect squares, else a float (declare a rounding)."""
    if np.any(x < 0):
        raise ValueRangeError("the square root of a negative number")
    if x.dtype.kind in "iu":
        roots = np.rint(np.sqrt(x)).astype(np.int64)
        if np.array_equal(roots * roots, x):
            return roots
    return np.sqrt(np.asarray(x, dtype=np.float64))


def _worked_softmax(work: Work, node: Node, i: int, j: int) -> Part:
    """base^s_i / (base^s_1 + ... + base^s_n) down column j."""
    base = node.keywords.get("base", 3)
    column = _column(work, node.args[0], j)
    powers = [Fraction(base) ** int(v) for v in column]
    written = f"{base}^{num(column[i])} / (" + " + ".join(f"{base}^{num(v)}" for v in column) + ")"
    middle = f"{num(powers[i])} / (" + " + ".join(num(p) for p in powers) + ")"
    return Part(written, _cell(work, node, i, j), middle=middle)


@register(worked=_worked_softmax)
def softmax(x: Array, *, base: int = 3) -> Array:
    """Softmax down each column with base^x (3 by default, the hand shortcut for e^x)."""
    powers = power(np.full((1, 1, 1), base, dtype=np.int64), x)
    return divide(powers, colsum(powers))


# ----------------------------------------------------------------------------- reductions


def _worked_colsum(work: Work, node: Node, i: int, j: int) -> Part:
    return Part(" + ".join(paren(v) for v in _column(work, node.args[0], j)), _cell(work, node, i, j))


@register(worked=_worked_colsum)
def colsum(x: Array) -> Array:
    """The sum down each column: a 1 x cols row."""
    return normalize(np.sum(x, axis=-2, keepdims=True))


def _worked_rowsum(work: Work, node: Node, i: int, j: int) -> Part:
    return Part(" + ".join(paren(v) for v in _row(work, node.args[0], i)), _cell(work, node, i, j))


@register(worked=_worked_rowsum)
def rowsum(x: Array) -> Array:
    """The sum along each row: a rows x 1 column."""
    return normalize(np.sum(x, axis=-1, keepdims=True))


def _worked_total(work: Work, node: Node, i: int, j: int) -> Part:
    cells = work.value(node.args[0]).ravel().tolist()
    return Part(" + ".join(paren(v) for v in cells), _cell(work, node, i, j))


@register("sum", worked=_worked_total)
def total(x: Array) -> Array:
    """The sum of every cell: a scalar."""
    return normalize(np.sum(x, axis=(-2, -1), keepdims=True))


def _worked_rowmean(work: Work, node: Node, i: int, j: int) -> Part:
    row = _row(work, node.args[0], i)
    return Part(f"({' + '.join(paren(v) for v in row)}) / {len(row)}", _cell(work, node, i, j))


@register(worked=_worked_rowmean)
def rowmean(x: Array) -> Array:
    """The mean along each row (averaging the columns: mean pooling): rows x 1, exact."""
    return divide(rowsum(x), np.full((1, 1, 1), x.shape[-1], dtype=np.int64))


def _worked_colmean(work: Work, node: Node, i: int, j: int) -> Part:
    column = _column(work, node.args[0], j)
    return Part(f"({' + '.join(paren(v) for v in column)}) / {len(column)}", _cell(work, node, i, j))


@register(worked=_worked_colmean)
def colmean(x: Array) -> Array:
    """The mean down each column: 1 x cols, exact."""
    return divide(colsum(x), np.full((1, 1, 1), x.shape[-2], dtype=np.int64))


def _worked_colmax(work: Work, node: Node, i: int, j: int) -> Part:
    column = _column(work, node.args[0], j)
    return Part("the largest of " + ", ".join(num(v) for v in column), _cell(work, node, i, j))


@register(worked=_worked_colmax)
def colmax(x: Array) -> Array:
    """The largest value in each column: 1 x cols."""
    return normalize(np.max(x, axis=-2, keepdims=True))


def _worked_argmax(work: Work, node: Node, i: int, j: int) -> Part:
    """The values compared, and the row that wins (a nearest neighbour: the scores compared)."""
    column = _column(work, node.args[0], j)
    return Part("the row of the largest of " + ", ".join(num(v) for v in column), _cell(work, node, i, j))


@register(worked=_worked_argmax)
def argmax(x: Array) -> Array:
    """The 1-based row of the largest value in each column (1 x cols): a worksheet index."""
    return (np.argmax(x, axis=-2)[..., None, :] + 1).astype(np.int64)


# Ops whose result is a choice rather than a formula of their inputs, by what decides it: the
# row of a column's largest value, the sign of a cell (the ReLU mask, a dropout keep), the
# interval of a cumulative distribution a random number falls in. Where a step calls one, a
# tie (two largest values, an exact 0, r on a boundary) makes two answers right while the key
# names one; every template must rule that out with a margin (for a maximum: unique_max), and
# tests/test_ties.py finds the templates from this table. Routing with capacity is not here:
# given the routes, the count in token order decides, and a count cannot tie.
DECIDING_OPS = {"argmax": "maximum", "step": "sign", "sample": "threshold"}


@register()
def unique_max(x: Array, margin: Any) -> Array:
    """True for each column whose largest value beats every other by at least margin (1 x cols).

    The constraint behind every argmax that decides something: with a margin m > 0 the row
    argmax names is the only largest one, and moving each cell by less than m/2 (a rounding,
    the grader's tolerance) cannot make another row the largest. Columns are examples or
    tokens, as argmax reads them; a column of one row is always True.
    """
    gap = _positive_number(margin, "the margin of unique_max")
    lead_shape = (*x.shape[:-2], 1, x.shape[-1])
    if x.shape[-2] < 2:
        return np.ones(lead_shape, dtype=bool)
    ordered = np.sort(x, axis=-2)  # ascending down each column (Fractions sort exactly)
    lead = ordered[..., -1:, :] - ordered[..., -2:-1, :]  # largest minus runner-up
    whole = lead.dtype.kind in "iu" and gap.denominator == 1  # integer scores: stay in int64
    return np.asarray(lead >= (int(gap) if whole else gap), dtype=bool).reshape(lead_shape)


def _positive_number(value: Any, what: str) -> Fraction:
    """A scalar argument (a literal such as 0.5, or a param) as an exact positive number."""
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iufO" or (arr.dtype.kind == "f" and not np.all(np.isfinite(arr))):
        raise EvaluationError(f"{what} must be a single finite number", fix="Write a literal such as 1 or 0.5")
    number = Fraction(arr.reshape(-1).tolist()[0])
    if number <= 0:
        raise EvaluationError(
            f"{what} must be above 0, not {number}", fix="A margin of 0 lets two rows tie: write 1, or 0.5"
        )
    return number


# ----------------------------------------------------------------------------- shapes


def _worked_dot(work: Work, node: Node, i: int, j: int) -> Part:
    a, b = (_column(work, arg, 0) for arg in node.args)
    return Part(" + ".join(f"{paren(x)}{paren(y)}" for x, y in zip(a, b)), _cell(work, node, i, j))


@register(worked=_worked_dot)
def dot(a: Array, b: Array) -> Array:
    """The dot product of two column vectors: a scalar."""
    if a.shape[-1] != 1 or b.shape[-1] != 1 or a.shape[-2] != b.shape[-2]:
        raise EvaluationError(f"dot needs two column vectors of one length, got {grid(a)} and {grid(b)}")
    return matmul(np.swapaxes(a, -1, -2), b)


def _worked_outer(work: Work, node: Node, i: int, j: int) -> Part:
    a, b = (work.value(arg) for arg in node.args)
    return Part(f"{paren(a[i, 0])}{paren(b[j, 0])}", _cell(work, node, i, j))


@register(worked=_worked_outer)
def outer(a: Array, b: Array) -> Array:
    """a · bᵀ: the outer product of two column vectors (a gradient's shape)."""
    return matmul(a, np.swapaxes(b, -1, -2))


def _worked_aug(work: Work, node: Node, i: int, j: int) -> Part:
    inner = node.args[0]
    if i < work.value(inner).shape[0]:
        return _piece(work, inner, i, j)
    return Part("(1)", 1, simple=True, ref="1")  # the appended row of ones


@register(worked=_worked_aug)
def aug(x: Array) -> Array:
    """[x ; 1]: append a row of ones, so that [W | b] @ [x ; 1] = W x + b."""
    ones = np.ones((*x.shape[:-2], 1, x.shape[-1]), dtype=np.int64)
    return vstack(x, ones)


def _piece(work: Work, node: Node, i: int, j: int) -> Part:
    """Cell (i, j) of a block put into a bigger one: its value, named as the block's cell."""
    value = _cell(work, node, i, j)
    part = work.part(node, i, j)
    return Part(paren(value), value, simple=True, ref=part.ref or work.name_of(node, i, j))


def _stacked(axis: int) -> Callable[[Work, Node, int, int], Part]:
    def worked(work: Work, node: Node, i: int, j: int) -> Part:
        offset = i if axis == 0 else j
        for arg in node.args:
            size = work.value(arg).shape[axis]
            if offset < size:
                return _piece(work, arg, offset, j) if axis == 0 else _piece(work, arg, i, offset)
            offset -= size
        raise IndexError("a cell beyond the stacked blocks")

    return worked


@register(worked=_stacked(0))
def vstack(*parts: Array) -> Array:
    """Stack blocks on top of each other (same number of columns)."""
    return _stack(parts, axis=-2)


@register(worked=_stacked(1))
def hstack(*parts: Array) -> Array:
    """Put blocks side by side (same number of rows)."""
    return _stack(parts, axis=-1)


def _stack(parts: tuple[Array, ...], axis: int) -> Array:
    if not parts:
        raise EvaluationError("nothing to stack")
    if sum(p.shape[axis] for p in parts) > MAX_INNER:
        raise EvaluationError(f"stacking gives more than {MAX_INNER} {'rows' if axis == -2 else 'columns'}")
    batch = max(p.shape[0] for p in parts)
    parts = tuple(np.broadcast_to(p, (batch, *p.shape[1:])) for p in parts)
    other = -1 if axis == -2 else -2
    if len({p.shape[other] for p in parts}) != 1:
        raise EvaluationError("blocks to stack do not line up: " + ", ".join(grid(p) for p in parts))
    dtype = object if any(p.dtype == object for p in parts) else None
    return normalize(np.concatenate([p.astype(object) if dtype else p for p in parts], axis=axis))


def _worked_fill(value: int) -> Callable[[Work, Node, int, int], Part]:
    def worked(work: Work, node: Node, i: int, j: int) -> Part:
        return Part(f"({value})", value, simple=True, ref=str(value))

    return worked


@register(worked=_worked_fill(1))
def ones(rows: Any, cols: Any = 1) -> Array:
    """A rows x cols block of ones."""
    return np.ones((1, _size_arg(rows, "rows"), _size_arg(cols, "cols")), dtype=np.int64)


@register(worked=_worked_fill(0))
def zeros(rows: Any, cols: Any = 1) -> Array:
    """A rows x cols block of zeros."""
    return np.zeros((1, _size_arg(rows, "rows"), _size_arg(cols, "cols")), dtype=np.int64)


def _worked_where(work: Work, node: Node, i: int, j: int) -> Part:
    """The branch the condition picks, named."""
    cond, a, b = node.args
    holds = bool(_cell(work, cond, i, j))
    picked = work.part(a if holds else b, i, j)
    why = f"as {cond.source} {'holds' if holds else 'does not hold'}"
    return Part(picked.text, picked.value, picked.simple, picked.middle, picked.stages, f"{_named(picked)} ({why})")


@register(worked=_worked_where)
def where(cond: Array, a: Array, b: Array) -> Array:
    """a where cond holds, else b, cell by cell."""
    if a.dtype == object or b.dtype == object:
        a_, b_ = np.broadcast_arrays(a, b)
        return normalize(np.where(cond, a_.astype(object), b_.astype(object)))
    return np.where(cond, a, b)


# ----------------------------------------------------------------------------- checks (constraints)


@register("all")
def all_(x: Array) -> Array:
    """True where every cell holds (per candidate)."""
    return np.logical_and.reduce(x.reshape(x.shape[0], 1, -1), axis=2, keepdims=True)


@register("any")
def any_(x: Array) -> Array:
    """True where some cell holds (per candidate)."""
    return np.logical_or.reduce(x.reshape(x.shape[0], 1, -1), axis=2, keepdims=True)


def _worked_abs(work: Work, node: Node, i: int, j: int) -> Part:
    return Part(f"|{num(work.part(node.args[0], i, j).value)}|", _cell(work, node, i, j))


@register("abs", worked=_worked_abs)
def abs_(x: Array) -> Array:
    """|x|, cell by cell."""
    return normalize(np.abs(x)) if x.dtype == object else np.abs(x)


def _worked_count(work: Work, node: Node, i: int, j: int) -> Part:
    cells = work.value(node.args[0]).ravel().tolist()
    return Part(f"the number of true cells among {len(cells)}", _cell(work, node, i, j))


@register(worked=_worked_count)
def count(x: Array) -> Array:
    """How many cells hold (a scalar)."""
    return np.sum(x, axis=(-2, -1), keepdims=True).astype(np.int64)


def _worked_extreme(which: str) -> Callable[[Work, Node, int, int], Part]:
    def worked(work: Work, node: Node, i: int, j: int) -> Part:
        cells = work.value(node.args[0]).ravel().tolist()
        return Part(f"the {which} of " + ", ".join(num(v) for v in cells), _cell(work, node, i, j))

    return worked


@register("max", worked=_worked_extreme("largest"))
def max_(x: Array) -> Array:
    """The largest cell (a scalar)."""
    return normalize(np.max(x, axis=(-2, -1), keepdims=True))


@register("min", worked=_worked_extreme("smallest"))
def min_(x: Array) -> Array:
    """The smallest cell (a scalar)."""
    return normalize(np.min(x, axis=(-2, -1), keepdims=True))


@functools.lru_cache(maxsize=32)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The index pairs i < j of n rows (np.triu_indices, cached: it costs more than the test)."""
    upper_i, upper_j = np.triu_indices(n, k=1)
    return upper_i, upper_j


@register()
def distinct_rows(x: Array) -> Array:
    """True when no two rows are equal (no accidental duplicate neurons)."""
    rows, cols = x.shape[-2], x.shape[-1]
    if rows < 2:
        return np.ones((*x.shape[:-2], 1, 1), dtype=bool)
    if x.dtype.kind in "iu" and x.size:
        # Whole numbers (every drawn given): each row read as one number in base `span`, then
        # equal rows are equal neighbours once sorted, a few NumPy calls on (batch, rows).
        low = int(x.min())
        span = int(x.max()) - low + 1
        if span**cols < 2**62:
            digits = span ** np.arange(cols, dtype=np.int64)
            keys = np.sort((x - low).astype(np.int64) @ digits, axis=-1)
            return ~np.any(keys[..., 1:] == keys[..., :-1], axis=-1).reshape(*x.shape[:-2], 1, 1)
    # Every pair at once (one comparison of all rows against all rows, then the pairs i < j).
    same = np.all(x[..., :, None, :] == x[..., None, :, :], axis=-1)
    upper_i, upper_j = _pairs(rows)
    pairs = same[..., upper_i, upper_j]
    return ~np.any(pairs, axis=-1).reshape(*x.shape[:-2], 1, 1)


@register()
def distinct_cols(x: Array) -> Array:
    """True when no two columns are equal."""
    return distinct_rows(np.swapaxes(x, -1, -2))


def count_last(mask: Array) -> Array:
    """Per row of a (..., n) bool array, its true cells: a product with ones, which NumPy does
    several times faster than a reduction along a short last axis (the sampler's hot path)."""
    return mask.astype(np.int64) @ np.ones(mask.shape[-1], dtype=np.int64)


@register()
def nonzero_rows(x: Array) -> Array:
    """True when every row has a nonzero cell (no neuron that ignores its input)."""
    zero_rows = count_last(count_last(x != 0) == 0)
    return (zero_rows == 0).reshape(*x.shape[:-2], 1, 1)


@register()
def nonzero_cols(x: Array) -> Array:
    """True when every column has a nonzero cell."""
    return nonzero_rows(np.swapaxes(x, -1, -2))
