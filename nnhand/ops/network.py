"""Ops for the network exercises of the seeds (attention, expert routing, recurrence).

Like every op, each takes arrays of shape (B, rows, cols) -- B candidate instances at
once -- and broadcasts a batch of 1 (a constant, a param) against the others. The ones
here are algorithms rather than formulas: a recurrence over time steps, routing tokens to
experts with a capacity counted in token order, and the stated rounding rule that scales
attention scores by hand.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.errors import EvaluationError, ValueRangeError
from nnhand.ops.arrays import _int_arg, grid, hstack, matmul, register, relu, where
from nnhand.ops.written import Node, Part, Work, num, paren
from nnhand.values import MAX_INNER, normalize, round_half_away

Array = np.ndarray


# ----------------------------------------------------------------------------- helpers


def _whole(arr: Array, what: str) -> Array:
    """An integer view of an index-like array (expert numbers), or an error."""
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64)
    values = normalize(arr)
    if values.dtype.kind not in "iu":
        raise ValueRangeError(f"{what} must be whole numbers")
    return values


def _experts(pairs: tuple[Array, ...], rows: int, name: str) -> list[tuple[Array, Array]]:
    """(E1, c1, E2, c2, ...) as a list of (weights, bias) pairs, checked against the input's rows."""
    if not pairs or len(pairs) % 2:
        raise EvaluationError(f"{name}() takes the experts as pairs: E1, c1, E2, c2, ...")
    experts = list(zip(pairs[0::2], pairs[1::2]))
    for k, (weights, bias) in enumerate(experts, start=1):
        if weights.shape[-1] != rows:
            raise EvaluationError(f"expert {k}: a {grid(weights)} weight matrix cannot take inputs of {rows} rows")
        if bias.shape[-1] != 1 or bias.shape[-2] != weights.shape[-2]:
            raise EvaluationError(f"expert {k}: the bias must be a column of {weights.shape[-2]} values")
    return experts


def _choices(route: Array, tokens: int, experts: int, name: str) -> Array:
    """The 1-based expert numbers of a 1 x T routing row, as integers (B, T), checked."""
    if route.shape[-2] != 1 or route.shape[-1] != tokens:
        raise EvaluationError(f"{name}(): the routing must be a 1x{tokens} row, got {grid(route)}")
    chosen = _whole(route, "expert numbers")[:, 0, :]
    if chosen.size and (chosen.min() < 1 or chosen.max() > experts):
        raise ValueRangeError(f"{name}(): expert numbers must be 1 to {experts}")
    return chosen


# ----------------------------------------------------------------------------- worked forms


def _cell(work: Work, node: Node, i: int, j: int) -> Any:
    return work.at(work.value(node), i, j)


def _scalar(work: Work, node: Node) -> int:
    return int(work.value(node).reshape(-1).tolist()[0])


def _expert_sum(work: Work, node: Node, inputs: Node, k: int, i: int, t: int) -> tuple[str, str]:
    """E_k[i,:]·x_t + c_k[i] for the k-th (1-based) expert pair after the leading arguments: (names, values)."""
    lead = len(node.args) % 2  # route_experts(X, choice, pairs...): 0; switch_experts(Z, route, capacity, ...): 1
    weights, bias = node.args[2 + lead + 2 * k], node.args[3 + lead + 2 * k]
    E, x = work.value(weights), work.value(inputs)
    names = [f"({work.name_of(weights, i, m)})({work.name_of(inputs, m, t)})" for m in range(E.shape[1])]
    values = [f"{paren(E[i, m])}{paren(x[m, t])}" for m in range(E.shape[1])]
    b = _cell(work, bias, i, 0)
    return " + ".join([*names, work.name_of(bias, i, 0)]), " + ".join([*values, paren(b)])


def _worked_route_experts(work: Work, node: Node, i: int, t: int) -> Part:
    """Token t through the expert its choice names: the expert's weights and bias, by name."""
    k = int(_cell(work, node.args[1], 0, t))
    names, values = _expert_sum(work, node, node.args[0], k - 1, i, t)
    return Part(names, _cell(work, node, i, t), middle=values, named=True)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _worked_switch(work: Work, node: Node, i: int, t: int) -> Part:
    """The route (an argmax), the capacity count in token order, then the expert's sum or the token as it is."""
    tokens, route = node.args[0], node.args[1]
    chosen = [int(v) for v in work.value(route)[0].tolist()]
    capacity = _scalar(work, node.args[2])
    k = chosen[t]
    earlier = [str(s + 1) for s in range(t) if chosen[s] == k]
    value = _cell(work, node, i, t)
    if len(earlier) < capacity:
        place = f"{_ordinal(len(earlier) + 1)} of capacity {capacity}"
        why = f"{work.name_of(route, 0, t)} is {k}: expert {k} takes it ({place})"
        names, values = _expert_sum(work, node, tokens, k - 1, i, t)
        return Part(why, value, middle=names, stages=(values,), named=True)
    taken = " and ".join([", ".join(earlier[:-1]), earlier[-1]] if len(earlier) > 1 else earlier)
    who = f"token{'s' * (len(earlier) > 1)} {taken}"
    why = f"{work.name_of(route, 0, t)} is {k}: expert {k} is full (capacity {capacity}, taken by {who})"
    return Part(f"{why}, so it passes as it is", value, middle=work.name_of(tokens, i, t), named=True)


def _worked_scale_round(work: Work, node: Node, i: int, j: int) -> Part:
    """round(s / d), halves away from zero: the stated rule."""
    score, d = _cell(work, node.args[0], i, j), _scalar(work, node.args[1])
    quotient = Fraction(score) / d
    return Part(
        f"round({paren(score)} / {d})",
        _cell(work, node, i, j),
        middle=f"round({num(quotient)}), halves away from 0",
    )


def _worked_rnn(work: Work, node: Node, i: int, t: int) -> Part:
    """h_t[i] = ReLU(A[i,:]·h_(t-1) + B[i,:]·x_t), the names as the recurrence computes them."""
    A_, B_, x_, h0_ = node.args
    A, B, x, states = work.value(A_), work.value(B_), work.value(x_), work.value(node)
    before = work.value(h0_)[:, 0].tolist() if t == 0 else states[:, t - 1].tolist()
    names = [f"({work.name_of(A_, i, k)})(h_{t}[{k + 1}])" for k in range(A.shape[1])]
    xs = [f"x_{t + 1}" if x.shape[0] == 1 else f"x_{t + 1}[{m + 1}]" for m in range(x.shape[0])]
    names += [f"({work.name_of(B_, i, m)})({xs[m]})" for m in range(B.shape[1])]
    values = [f"{paren(A[i, k])}{paren(before[k])}" for k in range(A.shape[1])]
    values += [f"{paren(B[i, m])}{paren(x[m, t])}" for m in range(B.shape[1])]
    pre = sum(Fraction(A[i, k]) * Fraction(before[k]) for k in range(A.shape[1])) + sum(
        Fraction(B[i, m]) * Fraction(x[m, t]) for m in range(B.shape[1])
    )
    return Part(
        f"h_{t + 1}[{i + 1}]",
        _cell(work, node, i, t),
        middle=f"ReLU({' + '.join(names)})",
        stages=(f"ReLU({' + '.join(values)})", f"ReLU({num(pre)})"),
        named=True,
    )


def _worked_embed(work: Work, node: Node, i: int, j: int) -> Part:
    """Row i of the column of E for token j's word: which word's embedding is taken."""
    table, tokens = node.args
    index = int(work.value(tokens).reshape(-1).tolist()[j])
    word = work.word(index) or str(index)
    value = _cell(work, node, i, j)
    return Part(paren(value), value, simple=True, ref=f"{table.source}[{i + 1},{word}]")


# ----------------------------------------------------------------------------- attention


@register(worked=_worked_scale_round)
def scale_round(x: Array, d: Any) -> Array:
    """x / d rounded to whole numbers, halves away from zero: one stated rule for scaling scores."""
    divisor = _int_arg(d, "the divisor")
    if divisor <= 0:
        raise EvaluationError("the divisor must be a positive whole number")
    if x.dtype.kind in "iu":
        # |x| / d rounded half up, sign restored: integer maths, no floats.
        magnitude = (2 * np.abs(x) + divisor) // (2 * divisor)
        return np.where(x < 0, -magnitude, magnitude).astype(np.int64)
    if x.dtype.kind == "f":
        raise ValueRangeError("scale_round takes exact values (round the scores to whole numbers first)")
    out = np.empty(x.shape, dtype=object)
    out.ravel()[:] = [round_half_away(Fraction(v) / divisor, 0) for v in x.ravel().tolist()]
    return normalize(out)


# ----------------------------------------------------------------------------- recurrence


@register(worked=_worked_rnn)
def rnn_relu(A: Array, B: Array, x: Array, h0: Array) -> Array:
    """ReLU RNN: h_t = ReLU(A·h_(t-1) + B·x_t) for each column x_t; the h_t side by side."""
    if A.shape[-1] != A.shape[-2]:
        raise EvaluationError(f"A must be square (hidden to hidden), got {grid(A)}")
    if h0.shape[-1] != 1 or h0.shape[-2] != A.shape[-2]:
        raise EvaluationError(f"h0 must be a column of {A.shape[-2]} values, got {grid(h0)}")
    if B.shape[-2] != A.shape[-2] or B.shape[-1] != x.shape[-2]:
        raise EvaluationError(f"B must be {A.shape[-2]}x{x.shape[-2]} (hidden x input), got {grid(B)}")
    h = h0
    states = []
    for t in range(x.shape[-1]):  # one time step after another: h_t needs h_(t-1)
        h = relu(normalize(matmul(A, h) + matmul(B, x[..., t : t + 1])))
        states.append(h)
    return hstack(*states)  # hidden x T


# ----------------------------------------------------------------------------- experts


@register(worked=_worked_route_experts)
def route_experts(X: Array, choice: Array, *pairs: Array) -> Array:
    """Each column x_t through the expert choice[t] names (1-based): E_k·x_t + c_k."""
    weights_and_biases = _experts(pairs, X.shape[-2], "route_experts")
    rows = {w.shape[-2] for w, _ in weights_and_biases}
    if len(rows) != 1:
        raise EvaluationError("route_experts(): every expert must give the same number of rows")
    chosen = _choices(choice, X.shape[-1], len(weights_and_biases), "route_experts")
    out: Array | None = None
    for k, (weights, bias) in enumerate(weights_and_biases, start=1):
        candidate = normalize(matmul(weights, X) + bias)  # rows x T: expert k on every token
        picked = (chosen == k)[:, None, :]
        out = candidate if out is None else where(picked, candidate, out)
    assert out is not None
    return normalize(out) if out.dtype == object else out


@register()
def switch_kept(route: Array, capacity: Any) -> Array:
    """1 where a token's expert still has room (capacity counted in token order), 0 where it is full."""
    if route.shape[-2] != 1:
        raise EvaluationError(f"switch_kept(): the routing must be a row, got {grid(route)}")
    chosen = _whole(route, "expert numbers")[:, 0, :]  # (B, T)
    cap = np.asarray(capacity)
    if cap.size == 1:
        cap = cap.reshape(1, 1, 1)
    if cap.ndim != 3 or cap.shape[1:] != (1, 1):
        raise EvaluationError("switch_kept(): the capacity must be one whole number")
    limit = _whole(cap, "the capacity")[:, 0, 0]  # (B,) or (1,)
    kept = np.empty(np.broadcast_shapes(chosen.shape, (limit.shape[0], 1)), dtype=np.int64)
    for t in range(chosen.shape[-1]):  # greedy, in token order: earlier tokens sent to the same expert
        earlier = np.sum(chosen[:, :t] == chosen[:, t : t + 1], axis=-1)
        kept[:, t] = earlier < limit
    return kept[:, None, :]


@register(worked=_worked_switch)
def switch_experts(Z: Array, route: Array, capacity: Any, *pairs: Array) -> Array:
    """Switch layer: z_t -> E_k·z_t + c_k for k = route[t] while expert k has room, else z_t unchanged."""
    weights_and_biases = _experts(pairs, Z.shape[-2], "switch_experts")
    for k, (weights, _) in enumerate(weights_and_biases, start=1):
        if weights.shape[-2] != Z.shape[-2]:
            raise EvaluationError(
                f"switch_experts(): expert {k} must give {Z.shape[-2]} rows, "
                "so that a token that passes through lines up with the others"
            )
    _choices(route, Z.shape[-1], len(weights_and_biases), "switch_experts")
    processed = route_experts(Z, route, *pairs)
    kept = switch_kept(route, capacity).astype(bool)  # (B, 1, T): whole columns
    return where(kept, processed, Z)


@register(worked=_worked_embed)
def embed(E: Array, tokens: Array) -> Array:
    """The embeddings of a row (or column) of tokens: column k of E for word k (1-based), side by side."""
    index = _whole(tokens, "token indices").reshape(tokens.shape[0], -1)  # (B, n)
    if index.shape[1] > MAX_INNER:
        raise EvaluationError(f"embed(): more than {MAX_INNER} tokens")
    words = E.shape[-1]
    if index.size and (int(index.min()) < 1 or int(index.max()) > words):
        raise ValueRangeError(f"token indices must be 1 to {words}")
    batch = max(E.shape[0], index.shape[0])
    table = np.broadcast_to(E, (batch, *E.shape[1:]))
    picks = np.broadcast_to(index, (batch, index.shape[1])) - 1
    return np.take_along_axis(table, picks[:, None, :], axis=2)  # (B, dims, n)
