"""Ops for the model exercises of the wider "AI by Hand" collection: GCN, CLIP, RLHF, VAE, Mamba.

    adjacency(src, dst, n)          the n x n adjacency matrix of an undirected edge list
    self_loops(A)                   A + I: every node also its own neighbour
    neighbour_sum(X, Ahat)          X·Â: column j = the features of node j and its neighbours, summed
    eye(n)                          the n x n identity (CLIP's targets: image i goes with text i)
    similarity(I, T)                Iᵀ·T: S[i,j] = image i · text j (rows images, columns texts)
    softmax_rows(S, base=3)         softmax along each row with base^x (3^x for e^x)
    diagonal(P)                     the diagonal of a square matrix, as a column
    gap(r_chosen, r_rejected)       the reward gap r_chosen − r_rejected (the preference margin)
    reparameterize(mu, sigma, eps)  z = μ + σ·ε, cell by cell (the VAE's reparameterisation trick)
    kl_normal(mu, sigma)            ½(μ² + σ² − ln σ² − 1) per latent: KL(N(μ, σ²) ‖ N(0, 1))
    ssm_scan(a, B, x, h0)           h_t = ā ⊙ h_(t−1) + B_t·x_t, column by column (a selective scan)
    coldot(C, H)                    y_t = C_t · h_t: the dot product of matching columns

Like every op, each takes arrays of shape (B, rows, cols) -- B candidate instances at once --
and broadcasts a batch of 1 (a param, a constant) against the others. Exact inputs give exact
outputs (int64, or Fractions); only kl_normal gives floats (its ln σ²), which a template rounds.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.errors import EvaluationError, ValueRangeError
from nnhand.ops.arrays import _size_arg, divide, grid, matmul, power, rowsum
from nnhand.ops.registry import register
from nnhand.ops.written import Hint, Node, Part, Site, Slip, Work, exact, num, paren
from nnhand.values import normalize, to_fractions

Array = np.ndarray


# ----------------------------------------------------------------------------- helpers


def _cell(work: Work, node: Node, i: int, j: int) -> Any:
    return work.at(work.value(node), i, j)


def _exact(x: Array) -> Array:
    """An exact array as Fractions (objects), so that products and sums stay exact."""
    return x if x.dtype == object else to_fractions(x)


def _nodes(arr: Array, n: int, what: str) -> Array:
    """A row of 1-based node numbers as integers (B, m), checked to be 1..n."""
    if arr.shape[-2] != 1:
        raise EvaluationError(f"{what} must be a row of node numbers, got {grid(arr)}")
    values = normalize(arr) if arr.dtype == object else arr
    if values.dtype.kind not in "iub":
        raise ValueRangeError(f"{what} must be whole node numbers")
    nodes = values.astype(np.int64)[:, 0, :]
    if nodes.size and (int(nodes.min()) < 1 or int(nodes.max()) > n):
        raise ValueRangeError(f"{what}: node numbers must be 1 to {n}")
    return nodes


def _square(x: Array, what: str) -> int:
    if x.shape[-1] != x.shape[-2]:
        raise EvaluationError(f"{what} must be square, got {grid(x)}")
    return int(x.shape[-1])


# ----------------------------------------------------------------------------- graphs (GCN)


def _worked_adjacency(work: Work, node: Node, i: int, j: int) -> Part:
    """Which edge of the list joins nodes i and j (or that none does)."""
    src, dst = (work.value(a)[0].tolist() for a in node.args[:2])
    value = _cell(work, node, i, j)
    if i == j:
        return Part(paren(value), value, simple=True, ref=f"no edge joins node {i + 1} to itself")
    joined = [k for k, (u, v) in enumerate(zip(src, dst)) if {int(u), int(v)} == {i + 1, j + 1}]
    if joined:
        k = joined[0]
        why = f"edge {k + 1} ({int(src[k])}–{int(dst[k])}) joins nodes {i + 1} and {j + 1}"
        return Part(paren(value), value, simple=True, ref=why)
    return Part(paren(value), value, simple=True, ref=f"no edge joins nodes {i + 1} and {j + 1}")


def _adjacency_hint(node: Node, site: Site, i: int, j: int) -> Hint:
    return Hint(f"write 1 if some edge joins node {i + 1} and node {j + 1} (in either direction), else 0")


@register(worked=_worked_adjacency, hint=_adjacency_hint)
def adjacency(src: Array, dst: Array, n: Any) -> Array:
    """The n x n adjacency matrix of an undirected graph: A[i,j] = A[j,i] = 1 for each edge i–j."""
    size = _size_arg(n, "the number of nodes")
    u, v = _nodes(src, size, "the edges' first nodes"), _nodes(dst, size, "the edges' second nodes")
    if u.shape[-1] != v.shape[-1]:
        raise EvaluationError(f"the edge list's two rows differ in length: {u.shape[-1]} and {v.shape[-1]}")
    labels = np.arange(1, size + 1)
    first = (u[..., None] == labels).astype(np.int64)  # (B, m, n): edge k's first node, one-hot
    second = (v[..., None] == labels).astype(np.int64)
    links = np.swapaxes(first, -1, -2) @ second  # (B, n, n): edges from row node to column node
    return ((links + np.swapaxes(links, -1, -2)) > 0).astype(np.int64)


def _worked_self_loops(work: Work, node: Node, i: int, j: int) -> Part:
    inner = node.args[0]
    a = _cell(work, inner, i, j)
    value = _cell(work, node, i, j)
    name = work.name_of(inner, i, j)
    if i == j:
        return Part(f"{name} + 1", value, middle=f"{num(a)} + 1 (the self-loop)", named=True)
    return Part(paren(value), value, simple=True, ref=f"{name} (off the diagonal: unchanged)")


def _self_loops_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    inner = node.args[0]
    return [(lambda: site.value(inner), "You left out the self-loops: A + I adds a 1 on every diagonal cell.")]


@register(worked=_worked_self_loops, slips=_self_loops_slips)
def self_loops(A: Array) -> Array:
    """A + I: the adjacency with a self-loop on every node (each node keeps its own features)."""
    n = _square(A, "the adjacency matrix")
    return normalize(A + np.eye(n, dtype=np.int64))


def _worked_neighbour_sum(work: Work, node: Node, i: int, j: int) -> Part:
    """X[i,j] plus X[i,k] for each neighbour k of node j (the 1s of column j of Â)."""
    X_, A_ = node.args
    X, A = work.value(X_), work.value(A_)
    terms = [k for k in range(A.shape[0]) if A[k, j] != 0]
    value = _cell(work, node, i, j)
    if not terms:
        return Part("0 (no neighbours)", value)
    names, values = [], []
    for k in terms:
        weight = A[k, j]
        names.append(work.name_of(X_, i, k) if weight == 1 else f"({num(weight)})({work.name_of(X_, i, k)})")
        values.append(paren(X[i, k]) if weight == 1 else f"({num(weight)}){paren(X[i, k])}")
    others = [str(k + 1) for k in terms if k != j]
    who = f"node {j + 1}" + (" itself" if j in terms else "")
    if others:
        who += f" and its neighbour{'s' if len(others) > 1 else ''} {', '.join(others)}"
    return Part(f"{' + '.join(names)}", value, middle=f"{' + '.join(values)} ({who})", named=True)


def _neighbour_sum_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    X_, A_ = node.args

    def without_loops() -> Array | None:
        A = site.value(A_)
        if A.shape[0] != A.shape[1] or not np.all(np.diagonal(A) == 1):
            return None
        return normalize(_exact(site.value(X_)) @ _exact(A - np.eye(A.shape[0], dtype=np.int64)))

    return [
        (
            without_loops,
            "You left out the self-loops: with Â = A + I each node adds its own features to its neighbours'.",
        )
    ]


def _neighbour_sum_cell_slip(
    node: Node, site: Site, i: int, j: int, given: Fraction, want: Fraction, tol: Fraction
) -> str | None:
    """One neighbour's feature left out (the node's own one is the self-loop slip, found first)."""
    if node is not site.root:
        return None
    X, A = (site.value(a) for a in node.args)
    if A.shape[0] <= j or X.shape[1] != A.shape[0]:
        return None
    for k in range(A.shape[0]):
        term = Fraction(A[k, j]) * Fraction(X[i, k])
        if k != j and term != 0 and abs(given - (want - term)) <= tol:
            return f"the feature of neighbour {k + 1} ({num(X[i, k])}) is missing"
    return None


def _neighbour_sum_hint(node: Node, site: Site, i: int, j: int) -> Hint:
    X_, A_ = node.args
    return Hint(
        f"add up row {i + 1} of {X_.source} over the nodes with a 1 in column {j + 1} of {A_.source} "
        f"(node {j + 1} itself and its neighbours)"
    )


@register(
    worked=_worked_neighbour_sum,
    slips=_neighbour_sum_slips,
    cell_slip=_neighbour_sum_cell_slip,
    hint=_neighbour_sum_hint,
)
def neighbour_sum(X: Array, A: Array) -> Array:
    """X·Â (features x nodes): column j sums the feature columns of the nodes Â links to node j."""
    if X.shape[-1] != _square(A, "the adjacency matrix"):
        raise EvaluationError(f"{grid(X)} features cannot take a {grid(A)} adjacency: one column per node")
    return matmul(X, A)


# ----------------------------------------------------------------------------- CLIP


def _worked_eye(work: Work, node: Node, i: int, j: int) -> Part:
    value = 1 if i == j else 0
    why = f"image {i + 1} goes with text {j + 1}" if i == j else "not a matching pair"
    return Part(f"({value})", value, simple=True, ref=f"{value} ({why})")


@register(worked=_worked_eye)
def eye(n: Any) -> Array:
    """The n x n identity: 1 on the diagonal (a matching pair), 0 elsewhere."""
    size = _size_arg(n, "the size of the identity")
    return np.eye(size, dtype=np.int64)[None]


def _worked_similarity(work: Work, node: Node, i: int, j: int) -> Part:
    """Image i (column i of I) · text j (column j of T)."""
    I_, T_ = node.args
    a, b = work.value(I_)[:, i], work.value(T_)[:, j]
    values = " + ".join(f"{paren(x)}{paren(y)}" for x, y in zip(a.tolist(), b.tolist()))
    return Part(f"image {i + 1} · text {j + 1}", _cell(work, node, i, j), middle=values, named=True)


def _similarity_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    I_, T_ = node.args
    return [
        (
            lambda: normalize(matmul(np.swapaxes(site.value(T_)[None], -1, -2), site.value(I_)[None])[0]),
            "You swapped images and texts: row i of S is image i, column j is text j (S = Iᵀ·T, not Tᵀ·I).",
        )
    ]


def _similarity_hint(node: Node, site: Site, i: int, j: int) -> Hint:
    I_, T_ = node.args
    return Hint(
        f"take the dot product of column {i + 1} of {I_.source} (image) with column {j + 1} of {T_.source} (text)"
    )


@register(worked=_worked_similarity, slips=_similarity_slips, hint=_similarity_hint)
def similarity(images: Array, texts: Array) -> Array:
    """Iᵀ·T (images x texts): S[i,j] is the dot product of image embedding i and text embedding j."""
    if images.shape[-2] != texts.shape[-2]:
        raise EvaluationError(f"image embeddings {grid(images)} and text embeddings {grid(texts)} differ in length")
    return matmul(np.swapaxes(images, -1, -2), texts)


def _worked_softmax_rows(work: Work, node: Node, i: int, j: int) -> Part:
    base = node.keywords.get("base", 3)
    row = work.value(node.args[0])[i].tolist()
    powers = [Fraction(base) ** int(v) for v in row]
    written = f"{base}^{num(row[j])} / (" + " + ".join(f"{base}^{num(v)}" for v in row) + ")"
    middle = f"{num(powers[j])} / (" + " + ".join(num(p) for p in powers) + ")"
    return Part(written, _cell(work, node, i, j), middle=middle)


def _softmax_rows_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    inner, base = node.args[0], node.keywords.get("base", 3)

    def down_columns() -> Array:
        powers = power(np.full((1, 1, 1), base, dtype=np.int64), site.value(inner)[None])
        return divide(powers, np.sum(powers, axis=-2, keepdims=True))[0]

    return [(down_columns, "You normalised down the columns: each row (one image over every text) sums to 1.")]


@register(worked=_worked_softmax_rows, slips=_softmax_rows_slips)
def softmax_rows(x: Array, *, base: int = 3) -> Array:
    """Softmax along each row with base^x (3 by default, the hand shortcut for e^x)."""
    powers = power(np.full((1, 1, 1), base, dtype=np.int64), x)
    return divide(powers, rowsum(powers))


def _worked_diagonal(work: Work, node: Node, i: int, j: int) -> Part:
    inner = node.args[0]
    value = _cell(work, inner, i, i)
    return Part(paren(value), value, simple=True, ref=work.name_of(inner, i, i))


@register(worked=_worked_diagonal)
def diagonal(x: Array) -> Array:
    """The diagonal of a square matrix as a column: row i holds x[i,i]."""
    _square(x, "diagonal()'s matrix")
    return np.diagonal(x, axis1=-2, axis2=-1)[..., None].copy()


# ----------------------------------------------------------------------------- RLHF


def _worked_gap(work: Work, node: Node, i: int, j: int) -> Part:
    chosen, rejected = node.args
    a, b = _cell(work, chosen, i, j), _cell(work, rejected, i, j)
    return Part(
        f"{work.name_of(chosen, i, j)} − {work.name_of(rejected, i, j)}",
        _cell(work, node, i, j),
        middle=f"{num(a)} − {paren(b)}",
        named=True,
    )


def _gap_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    chosen, rejected = node.args
    return [
        (
            lambda: normalize(site.value(rejected) - site.value(chosen)),
            "The gap has the wrong sign: it is r_chosen − r_rejected"
            " (positive when the model prefers the chosen answer).",
        )
    ]


@register(worked=_worked_gap, slips=_gap_slips)
def gap(chosen: Array, rejected: Array) -> Array:
    """r_chosen − r_rejected, cell by cell: the margin the reward model puts on the preferred answer."""
    return normalize(chosen - rejected)


# ----------------------------------------------------------------------------- VAE


def _worked_reparameterize(work: Work, node: Node, i: int, j: int) -> Part:
    mu, sigma, eps = node.args
    m, s, e = (_cell(work, a, i, j) for a in node.args)
    return Part(
        f"{work.name_of(mu, i, j)} + {work.name_of(sigma, i, j)}·{work.name_of(eps, i, j)}",
        _cell(work, node, i, j),
        middle=f"{num(m)} + {paren(s)}{paren(e)}",
        named=True,
    )


def _reparameterize_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    mu, sigma, eps = (_exact(site.value(a)) for a in node.args)
    return [
        (
            lambda: normalize(mu + sigma * sigma * eps),
            "You multiplied ε by σ² (the variance): z = μ + σ·ε takes the standard deviation σ.",
        ),
        (lambda: normalize(sigma + mu * eps), "You swapped μ and σ: z = μ + σ·ε (the noise is scaled by σ)."),
        (lambda: normalize(mu + eps), "You left out σ: the noise ε is scaled by σ before it is added to μ."),
    ]


@register(worked=_worked_reparameterize, slips=_reparameterize_slips)
def reparameterize(mu: Array, sigma: Array, eps: Array) -> Array:
    """z = μ + σ·ε, cell by cell: a sample of N(μ, σ²) written as a function of μ and σ."""
    return normalize(_exact(mu) + _exact(sigma) * _exact(eps))


def _worked_kl(work: Work, node: Node, i: int, j: int) -> Part:
    mu, sigma = node.args
    m, s = (_cell(work, a, i, j) for a in node.args)
    variance = exact(s) * exact(s) if not isinstance(s, float) else s * s
    log_var = np.log(float(variance))
    names = f"½({work.name_of(mu, i, j)}² + {work.name_of(sigma, i, j)}² − ln {work.name_of(sigma, i, j)}² − 1)"
    values = f"½({paren(m)}² + {paren(s)}² − ln {num(variance)} − 1)"
    last = f"½({num(exact(m) * exact(m))} + {num(variance)} − {num(round(float(log_var), 2))} − 1)"
    return Part(names, _cell(work, node, i, j), middle=values, stages=(last,), named=True)


def _kl_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    mu, sigma = (site.value(a) for a in node.args)

    def sigma_for_variance() -> Array | None:
        s = np.asarray(sigma, dtype=np.float64)
        if np.any(s <= 0):
            return None
        m = np.asarray(mu, dtype=np.float64)
        return (m * m + s - np.log(s) - 1) / 2

    def no_half() -> Array:
        return np.asarray(_kl_values(mu, sigma) * 2, dtype=np.float64)

    return [
        (
            sigma_for_variance,
            "You used σ where σ² is meant: the KL term is ½(μ² + σ² − ln σ² − 1), with the variance σ².",
        ),
        (no_half, "You left out the ½ in front: KL = ½(μ² + σ² − ln σ² − 1)."),
    ]


def _kl_values(mu: Array, sigma: Array) -> Array:
    m, s = np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    if np.any(s <= 0):
        raise ValueRangeError("σ must be above 0 (a standard deviation)")
    return (m * m + s * s - np.log(s * s) - 1) / 2


@register(worked=_worked_kl, slips=_kl_slips)
def kl_normal(mu: Array, sigma: Array) -> Array:
    """½(μ² + σ² − ln σ² − 1) per cell: KL(N(μ, σ²) ‖ N(0, 1)) of each latent (floats: round it)."""
    return _kl_values(mu, sigma)


# ----------------------------------------------------------------------------- Mamba (selective scan)


def _worked_scan(work: Work, node: Node, i: int, t: int) -> Part:
    """h_t[i] = ā[i]·h_(t−1)[i] + B_t[i]·x_t, with the previous state named."""
    a_, B_, x_, h0_ = node.args
    a, B, x, states = work.value(a_), work.value(B_), work.value(x_), work.value(node)
    before = work.value(h0_)[i, 0] if t == 0 else states[i, t - 1]
    decay = a[i, 0] if a.shape[0] > 1 else a[0, 0]
    u = x[0, t]
    names = f"({work.name_of(a_, i, 0)})(h_{t}[{i + 1}]) + ({work.name_of(B_, i, t)})(u_{t + 1})"
    values = f"{paren(decay)}{paren(before)} + {paren(B[i, t])}{paren(u)}"
    return Part(f"h_{t + 1}[{i + 1}]", _cell(work, node, i, t), middle=names, stages=(values,), named=True)


def _scan_parts(site: Site, node: Node) -> tuple[Array, Array, Array, Array]:
    a, B, x, h0 = (_exact(site.value(arg)) for arg in node.args)
    return a, B, x, h0


def _scan_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []

    def no_state() -> Array:
        _, B, x, _ = _scan_parts(site, node)
        return normalize(B * x)

    def decay_on_input() -> Array:
        a, B, x, h0 = _scan_parts(site, node)
        h, out = h0[:, 0], []
        for t in range(B.shape[1]):
            h = a[:, 0] * (h + B[:, t] * x[0, t])
            out.append(h)
        return normalize(np.stack(out, axis=1))

    return [
        (no_state, "You skipped the previous state: h_t = Ā·h_(t−1) + B̄_t·x_t carries h_(t−1) forward."),
        (decay_on_input, "Ā multiplies the previous state only: h_t = Ā·h_(t−1) + B̄_t·x_t, not Ā·(h_(t−1) + B̄_t·x_t)."),
    ]


def _scan_hint(node: Node, site: Site, i: int, t: int) -> Hint:
    a_, B_ = node.args[:2]
    before = "h0" if t == 0 else f"column {t} of the states"
    return Hint(
        f"multiply row {i + 1} of {before} by {a_.source}[{i + 1}], "
        f"then add {B_.source}[{i + 1},{t + 1}] times u_{t + 1}"
    )


@register(worked=_worked_scan, slips=_scan_slips, hint=_scan_hint)
def ssm_scan(a: Array, B: Array, x: Array, h0: Array) -> Array:
    """Selective scan: h_t = ā ⊙ h_(t−1) + B_t·x_t for each column t (ā: the diagonal of Ā)."""
    states_n = B.shape[-2]
    if a.shape[-1] != 1 or a.shape[-2] != states_n:
        raise EvaluationError(f"ā must be a column of {states_n} values (the diagonal of Ā), got {grid(a)}")
    if h0.shape[-1] != 1 or h0.shape[-2] != states_n:
        raise EvaluationError(f"h0 must be a column of {states_n} values, got {grid(h0)}")
    if x.shape[-2] != 1 or x.shape[-1] != B.shape[-1]:
        raise EvaluationError(f"x must be a row of {B.shape[-1]} inputs (one per column of B), got {grid(x)}")
    whole = all(v.dtype.kind in "iub" for v in (a, B, x, h0))
    if not whole:
        a, B, x, h0 = (_exact(v) for v in (a, B, x, h0))
    h = h0
    states = []
    for t in range(B.shape[-1]):  # one step after another: h_t needs h_(t-1)
        h = normalize(a * h + B[..., t : t + 1] * x[..., t : t + 1])
        states.append(h)
    batch = max(s.shape[0] for s in states)
    parts = [np.broadcast_to(s, (batch, *s.shape[1:])) for s in states]
    dtype = object if any(p.dtype == object for p in parts) else np.int64
    return normalize(np.concatenate([p.astype(dtype) for p in parts], axis=-1))


def _worked_coldot(work: Work, node: Node, i: int, t: int) -> Part:
    C_, H_ = node.args
    C, H = work.value(C_), work.value(H_)
    names = " + ".join(f"({work.name_of(C_, k, t)})({work.name_of(H_, k, t)})" for k in range(C.shape[0]))
    values = " + ".join(f"{paren(C[k, t])}{paren(H[k, t])}" for k in range(C.shape[0]))
    return Part(names, _cell(work, node, i, t), middle=values, named=True)


def _coldot_cell_slip(
    node: Node, site: Site, i: int, t: int, given: Fraction, want: Fraction, tol: Fraction
) -> str | None:
    C, H = (site.value(a) for a in node.args)
    if C.shape != H.shape or t >= C.shape[1]:
        return None
    for k in range(C.shape[0]):
        term = Fraction(C[k, t]) * Fraction(H[k, t])
        if term != 0 and abs(given - (want - term)) <= tol:
            return f"one term is missing from the sum: ({num(C[k, t])})({num(H[k, t])})"
    return None


def _coldot_hint(node: Node, site: Site, i: int, t: int) -> Hint:
    C_, H_ = node.args
    return Hint(f"multiply column {t + 1} of {C_.source} by column {t + 1} of {H_.source} cell by cell and add up")


@register(worked=_worked_coldot, cell_slip=_coldot_cell_slip, hint=_coldot_hint)
def coldot(C: Array, H: Array) -> Array:
    """y_t = C_t · h_t for each column t: the dot products of matching columns (1 x T)."""
    if C.shape[-2:] != H.shape[-2:]:
        raise EvaluationError(f"coldot needs two matrices of one shape, got {grid(C)} and {grid(H)}")
    if C.dtype == object or H.dtype == object:
        return normalize(np.sum(_exact(C) * _exact(H), axis=-2, keepdims=True))
    return normalize(np.sum(C * H, axis=-2, keepdims=True))
