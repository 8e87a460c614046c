"""The augmented form `[W | b]`: a layer's bias written as the last column of its weights.

Many published sheets draw `[W | b] @ [X ; 1]` in place of `W @ X + b`: the bias is one
more column of W, and a row of 1s is appended below the input. Both denote the same
numbers. This module finds which givens a template lets a person write that way, and splits
the augmented form a person wrote back into the separate givens the template declares.

Pairs. `pairs(template)` walks each step's compiled expression tree for a sum of a product
and a bias, `W @ X + b` or `b + W @ X`, anywhere in the expression (inside relu, sigmoid,
...), where W is a given matrix (rows are neurons; not a word given) and b a given whose
size is W's row count: a vector of as many entries as W has rows, or a scalar when W has
exactly one row. One pair per (W, b); its `input` is the given that W multiplies (the first
such use in step order), or None when W only ever multiplies a computed step (a hidden
layer's activations) or something that is not a name.

Keys. A person may write `[W | b]` under either of two keys:
  - `joined`: when W and b have the same suffix after their first letter, the two first
    letters then the suffix: W1 + b1 -> "Wb1", W + b -> "Wb", Wg1 + bg1 -> "Wbg1",
    E1 + c1 -> "Ec1". Otherwise, or when that name is already a given, param or step of the
    template, the joined key is the bar form below;
  - the bar form `f"{W}|{b}"`: "W1|b1" (always accepted).
A person may also write W with exactly one extra column and leave b out.

Reading. `split_augmented` splits only nested lists (a list of rows, each a list of
numbers, or for a W of one row a flat list of numbers); a string or any other form of an
augmented matrix is left alone and reported, with a message that asks for rows. Messages
are returned, not raised, so that a caller can report every one at once; each starts with
`where` (when not empty) and the key it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nnhand.core.expr import Node
    from nnhand.core.template import Template

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Pair:
    """A given weight matrix W and the bias b added to W times its input."""

    weights: str  # "W1"
    bias: str  # "b1"
    joined: str  # "Wb1": the key a person may write [W1 | b1] under
    input: str | None  # the given W multiplies ("x"), or None when it multiplies a step

    @property
    def bar(self) -> str:
        """The second accepted key, "W1|b1" (the same as `joined` when no short key fits)."""
        return f"{self.weights}|{self.bias}"

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key [W | b] may be written under: the joined key, then the bar form."""
        return (self.joined,) if self.joined == self.bar else (self.joined, self.bar)

    @property
    def title(self) -> str:
        """How a sheet names the augmented quantity: "[W1 | b1]"."""
        return f"[{self.weights} | {self.bias}]"


def input_title(name: str) -> str:
    """How a sheet names an input with a row of 1s appended: "[x; 1]"."""
    return f"[{name}; 1]"


def pairs(template: Template) -> tuple[Pair, ...]:
    """Every (W, b) pair of the template's steps, in order of first use (module docstring)."""
    givens = template.givens
    found: dict[tuple[str, str], str | None] = {}
    for step in template.steps:
        for node in step.expr.tree.walk():
            match = _sum_of_product(node, template)
            if match is None:
                continue
            weights, bias, source = match
            if (weights, bias) not in found or found[(weights, bias)] is None:
                found[(weights, bias)] = source if source in givens else None
    taken = set(givens) | set(template.params) | {s.name for s in template.steps}
    return tuple(Pair(w, b, _joined(w, b, taken), source) for (w, b), source in found.items())


def _sum_of_product(node: Node, template: Template) -> tuple[str, str, str | None] | None:
    """(W, b, what W multiplies) when `node` is `W @ X + b` or `b + W @ X` with a (W, b) pair."""
    if node.kind != "binop" or node.op != "+" or len(node.args) != 2:
        return None
    for product, bias in (node.args, node.args[::-1]):
        if product.kind != "binop" or product.op != "@" or len(product.args) != 2 or bias.kind != "name":
            continue
        weights, source = product.args
        if weights.kind == "name" and _is_pair(template, weights.op, bias.op):
            return weights.op, bias.op, source.op if source.kind == "name" else None
    return None


def _is_pair(template: Template, weights: str, bias: str) -> bool:
    givens = template.givens
    w, b = givens.get(weights), givens.get(bias)
    if w is None or b is None or w.words or b.words or len(w.shape) != 2:
        return False
    if len(b.shape) == 0:
        return _same_size(w.shape[0], 1)
    if len(b.shape) == 1:
        return _same_size(w.shape[0], b.shape[0])
    return len(b.shape) == 2 and _same_size(w.shape[0], b.shape[0]) and _same_size(b.shape[1], 1)


def _same_size(a: Any, b: Any) -> bool:
    """Two entries of declared shapes that are the same size for every params: the same
    number, or the same size expression (spaces aside)."""
    return str(a).replace(" ", "") == str(b).replace(" ", "")


def _joined(weights: str, bias: str, taken: set[str]) -> str:
    if weights[1:] == bias[1:]:
        short = weights[0] + bias[0] + weights[1:]
        if short not in taken:
            return short
    return f"{weights}|{bias}"


# ---------------------------------------------------------------------------------------
# Reading the augmented form


def split_augmented(
    template: Template,
    givens: Mapping[str, Any],
    where: str,
    *,
    shapes: Mapping[str, Shape] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The givens with every augmented form split into W and b, and the problems found.

    Accepted: [W | b] under a pair's joined or bar key (W and b then left out), or W with
    exactly one extra column and b left out. `shapes` (the givens' shapes for the params
    used, Template.given_shapes) lets the messages say the expected shape and lets W with
    one extra column be told from a W of the right shape whose b was forgotten; without it
    a W whose b is missing is split whenever its rows are lists of equal length.

    Every other key and value is passed through unchanged (in its place: a split key is
    replaced by W then b). Nothing is raised: the caller reports the messages."""
    out: dict[str, Any] = dict(givens)
    errors: list[str] = []
    prefix = f"{where}: " if where else ""
    for pair in pairs(template):
        written = [k for k in pair.keys if k in givens]
        if not written:
            if pair.weights in givens and pair.bias not in givens:
                out = _split_weights(pair, givens[pair.weights], out, errors, prefix, shapes, template)
            continue
        key = written[0]
        if len(written) > 1:
            twice = " and as ".join(written)
            errors.append(f"{prefix}{key}: {pair.title} is written twice (as {twice})")
            continue
        also = [n for n in (pair.weights, pair.bias) if n in givens]
        if also:
            errors.append(
                f"{prefix}{key}: {pair.title} is given, and {' and '.join(also)} as well: "
                f"write either {key} or {pair.weights} and {pair.bias}"
            )
            continue
        split = _split(pair, key, givens[key], errors, prefix, shapes, template)
        if split is not None:
            out = _replace(out, key, {pair.weights: split[0], pair.bias: split[1]})
    return out, errors


def _split_weights(
    pair: Pair,
    raw: Any,
    out: dict[str, Any],
    errors: list[str],
    prefix: str,
    shapes: Mapping[str, Shape] | None,
    template: Template,
) -> dict[str, Any]:
    """W written with b as its last column (b left out): split when it has the extra column."""
    expected = shapes.get(pair.weights) if shapes else None
    rows = _rows(raw, expected, one_row=_one_row(template, pair))
    if rows is None:
        if isinstance(raw, str | list | tuple):
            errors.append(
                f"{prefix}{pair.weights}: {pair.bias} is missing; to give it as the last column of "
                f"{pair.weights}, write {pair.weights} as rows (a list of lists of numbers), "
                f"e.g. {pair.weights}: [[1, 0, 2], [0, 1, -1]]"
            )
        return out
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        return out  # not a matrix: the reader names the row that is short
    width = widths.pop()
    if expected is not None and len(expected) == 2 and width != expected[1] + 1:
        return out  # the right shape (b forgotten) or a wrong one: the reader says which
    if width < 2:
        return out
    w, b = _columns(rows, _bias_shape(template, pair, shapes))
    return _replace(out, pair.weights, {pair.weights: w, pair.bias: b})


def _split(
    pair: Pair,
    key: str,
    raw: Any,
    errors: list[str],
    prefix: str,
    shapes: Mapping[str, Shape] | None,
    template: Template,
) -> tuple[Any, Any] | None:
    expected = shapes.get(pair.weights) if shapes else None
    rows = _rows(raw, expected, one_row=_one_row(template, pair))
    if expected is not None and len(expected) == 2:
        want = (
            f"{expected[0]} rows of {expected[1] + 1} numbers "
            f"({pair.weights} is {expected[0]}x{expected[1]}, then {pair.bias} as the last column)"
        )
    else:
        want = f"rows of {pair.weights} with {pair.bias} as the last column"
    if rows is None:
        errors.append(f"{prefix}{key}: write {pair.title} as rows (a list of lists of numbers): {want}")
        return None
    widths = {len(row) for row in rows}
    wrong = len(widths) != 1 or min(widths) < 2
    if expected is not None and len(expected) == 2:
        wrong = wrong or len(rows) != expected[0] or widths != {expected[1] + 1}
    if wrong:
        got = f"{len(rows)} rows of {'/'.join(str(n) for n in sorted(widths))} numbers"
        errors.append(f"{prefix}{key}: {pair.title} has {got}; expected {want}")
        return None
    return _columns(rows, _bias_shape(template, pair, shapes))


def _one_row(template: Template, pair: Pair) -> bool:
    return _same_size(template.givens[pair.weights].shape[0], 1)


def _bias_shape(template: Template, pair: Pair, shapes: Mapping[str, Shape] | None) -> Shape:
    """b's shape for the params used, or as far as the template alone tells it (only its
    number of dimensions matters here)."""
    if shapes and pair.bias in shapes:
        return tuple(shapes[pair.bias])
    return tuple(1 for _ in template.givens[pair.bias].shape)


def _rows(raw: Any, expected: Shape | None, one_row: bool = False) -> list[list[Any]] | None:
    """The rows of a matrix written as nested lists; a flat list of numbers is one row when
    W has one row. None for any other form."""
    if not isinstance(raw, list | tuple) or not raw:
        return None
    if all(isinstance(row, list | tuple) for row in raw):
        if not all(row and all(_is_cell(c) for c in row) for row in raw):
            return None
        return [list(row) for row in raw]
    single = one_row or (expected is not None and len(expected) == 2 and expected[0] == 1)
    if single and all(_is_cell(c) for c in raw):
        return [list(raw)]
    return None


def _is_cell(value: Any) -> bool:
    """A number as a person writes it (the reader checks it further): not a list or mapping."""
    return not isinstance(value, list | tuple | Mapping)


def _columns(rows: list[list[Any]], bias_shape: Shape | None) -> tuple[list[list[Any]], Any]:
    """W (every column but the last) and b (the last column), b shaped as the template declares."""
    weights = [row[:-1] for row in rows]
    last = [row[-1] for row in rows]
    if bias_shape is not None and len(bias_shape) == 0 and len(last) == 1:
        return weights, last[0]
    if bias_shape is not None and len(bias_shape) == 2:
        return weights, [[v] for v in last]
    return weights, last


def _replace(givens: dict[str, Any], key: str, new: Mapping[str, Any]) -> dict[str, Any]:
    """`givens` with `key` replaced, in its place, by the entries of `new`."""
    out: dict[str, Any] = {}
    for k, v in givens.items():
        if k == key:
            out.update(new)
        elif k not in new:
            out[k] = v
    return out
