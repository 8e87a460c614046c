"""Ops for the convolution exercises: 1-D and 2-D cross-correlation, max pooling, im2col.

    conv1d(x, k, pad, stride[, b])      a 1 x n row signal, a 1 x t row kernel: a 1 x L row
    conv2d(X, K, pad, stride[, b])      an image, a kh x kw kernel: the feature map
    conv_size(n, k, pad, stride)        the output length ⌊(n + 2·pad − k) / stride⌋ + 1
    maxpool2d(X, size, stride)          the largest value of each size x size window
    maxpool_grad(X, dP, size, stride)   the gradient dP routed to the largest cell of each window
    pool_unique(X, size, stride, m)     every window's largest value beats the others by m
    im2col(X, kh, kw, pad, stride)      every patch as a column (read row by row)
    kernel_row(K)                       the kernel as one row (read row by row)
    fold(y, rows, cols)                 a row of outputs laid back into rows x cols (row by row)

"Convolution" in a CNN is cross-correlation: the kernel slides over the (zero-padded) input
as it is, unflipped, as torch.nn.functional.conv1d/conv2d compute it; the flipped kernel of
the textbook convolution is the slip the diagnosis names. Patch (i, j) starts at row i·stride,
column j·stride of the padded input. Like every op, each takes arrays of shape (B, rows, cols)
-- B candidate instances at once -- and broadcasts a batch of 1 (a param, a constant).
Exact inputs give exact outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.errors import EvaluationError
from nnhand.ops.arrays import _int_arg, _size_arg, grid
from nnhand.ops.registry import register
from nnhand.ops.written import Hint, Node, Part, Site, Slip, Work, num, paren
from nnhand.values import MAX_INNER, normalize

Array = np.ndarray

MAX_PAD = 4  # zero padding beyond this is never drawn by hand


# ----------------------------------------------------------------------------- helpers


def _pad_arg(value: Any) -> int:
    pad = _int_arg(value, "the padding")
    if not 0 <= pad <= MAX_PAD:
        raise EvaluationError(f"the padding must be 0 to {MAX_PAD}, not {pad}")
    return pad


def _stride_arg(value: Any) -> int:
    stride = _int_arg(value, "the stride")
    if not 1 <= stride <= MAX_INNER:
        raise EvaluationError(f"the stride must be 1 to {MAX_INNER}, not {stride}")
    return stride


def out_size(n: int, k: int, pad: int, stride: int) -> int:
    """⌊(n + 2·pad − k) / stride⌋ + 1: how many positions the window takes (0 if it does not fit)."""
    span = n + 2 * pad - k
    return span // stride + 1 if span >= 0 else 0


def _padded(x: Array, top: int, left: int, bottom: int | None = None, right: int | None = None) -> Array:
    """x with zero rows above and below and zero columns left and right (the last two axes)."""
    bottom = top if bottom is None else bottom
    right = left if right is None else right
    if not (top or left or bottom or right):
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if x.dtype == object:
        out = np.zeros((*x.shape[:-2], x.shape[-2] + top + bottom, x.shape[-1] + left + right), dtype=object)
        out[..., top : top + x.shape[-2], left : left + x.shape[-1]] = x
        return out
    return np.pad(x, widths)


def _result_dtype(*arrays: Array) -> Any:
    """Exact objects if any operand holds Fractions, else floats if any is float, else int64."""
    if any(a.dtype == object for a in arrays):
        return object
    return np.float64 if any(a.dtype.kind == "f" for a in arrays) else np.int64


def _exact(x: Array) -> Array:
    """Object arrays stay objects (Fractions), floats floats, integers int64."""
    return x if x.dtype == object or x.dtype.kind == "f" else x.astype(np.int64)


def _correlate(x: Array, k: Array, pad: tuple[int, int, int, int], stride: int, rows: int, cols: int) -> Array:
    """Σ k ⊙ patch for every output position (rows x cols): patch (i, j) of the padded x starts
    at (i·stride, j·stride); positions that run past the padded x read zeros."""
    top, left, bottom, right = pad
    kh, kw = k.shape[-2], k.shape[-1]
    need_rows = (rows - 1) * stride + kh
    need_cols = (cols - 1) * stride + kw
    extra_bottom = max(0, need_rows - (x.shape[-2] + top + bottom))
    extra_right = max(0, need_cols - (x.shape[-1] + left + right))
    xp = _padded(_exact(x), top, left, bottom + extra_bottom, right + extra_right)
    kk = _exact(k)
    batch = max(xp.shape[0], kk.shape[0])
    out = np.zeros((batch, rows, cols), dtype=_result_dtype(xp, kk))
    for i in range(rows):
        for j in range(cols):
            patch = xp[:, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, i, j] = np.sum(patch * kk, axis=(-2, -1))
    return out


def _with_bias(out: Array, b: Array | None) -> Array:
    if b is None:
        return normalize(out)
    if b.size != b.shape[0]:
        raise EvaluationError(f"the bias of a convolution must be one number, got {grid(b)}")
    return normalize(out + _exact(b))


def _scalar(work: Work, node: Node) -> int:
    return int(work.value(node).reshape(-1).tolist()[0])


def _span(start: int, size: int) -> str:
    """The 1-based range a..b of `size` positions from the 0-based `start` (0 or below, or past
    the edge: the padding)."""
    return f"{start + 1}" if size == 1 else f"{start + 1}..{start + size}"


def _cell(work: Work, node: Node, i: int, j: int) -> Any:
    return work.at(work.value(node), i, j)


# ----------------------------------------------------------------------------- worked forms


def _patch_terms(x: Array, k: Array, r0: int, c0: int) -> tuple[list[str], Fraction]:
    """(k)(x) for each kernel cell over the patch whose top-left is (r0, c0) in unpadded
    0-based coordinates (negative or beyond the edge: padding, written 0)."""
    terms, total = [], Fraction(0)
    for a in range(k.shape[0]):
        for c in range(k.shape[1]):
            r, q = r0 + a, c0 + c
            inside = 0 <= r < x.shape[0] and 0 <= q < x.shape[1]
            pixel = x[r, q] if inside else 0
            terms.append(f"{paren(k[a, c])}{paren(pixel)}")
            total += Fraction(k[a, c]) * Fraction(pixel)
    return terms, total


def _padding_note(x: Array, r0: int, c0: int, kh: int, kw: int, one_d: bool) -> str:
    """Which indices of the patch are the zero padding: " (index 0: padding)"."""
    outside = set()
    for start, size, n in ((c0, kw, x.shape[1]),) if one_d else ((r0, kh, x.shape[0]), (c0, kw, x.shape[1])):
        outside |= {p + 1 for p in range(start, start + size) if not 0 <= p < n}
    if not outside:
        return ""
    listed = " and ".join(str(p) for p in sorted(outside))
    return f" (index {listed}: padding)"


def _worked_conv(one_d: bool) -> Callable[[Work, Node, int, int], Part]:
    def worked(work: Work, node: Node, i: int, j: int) -> Part:
        x_, k_, pad_, stride_ = node.args[:4]
        x, k = work.value(x_), work.value(k_)
        pad, stride = _scalar(work, pad_), _scalar(work, stride_)
        r0 = 0 if one_d else i * stride - pad
        c0 = j * stride - pad
        terms, total = _patch_terms(x, k, r0, c0)
        kh, kw = k.shape
        cols = _span(c0, kw)
        patch = f"{x_.source}[{cols}]" if one_d else f"{x_.source}[{_span(r0, kh)}, {cols}]"
        names = f"{k_.source}⊙{patch}{_padding_note(x, r0, c0, kh, kw, one_d)}"
        values = " + ".join(terms)
        if len(node.args) > 4:
            b_ = node.args[4]
            bias = _cell(work, b_, 0, 0)
            names += f" + {b_.source}"
            values += f" + {paren(bias)}"
            total += Fraction(bias)
        value = _cell(work, node, i, j)
        return Part(names, value, middle=values, named=True)

    return worked


def _worked_conv_size(work: Work, node: Node, i: int, j: int) -> Part:
    n, k, pad, stride = (_scalar(work, a) for a in node.args)
    span = n + 2 * pad - k
    written = f"({n} + 2·{pad} − {k}) / {stride} + 1"
    if span % stride:
        return Part(
            f"⌊({n} + 2·{pad} − {k}) / {stride}⌋ + 1",
            _cell(work, node, i, j),
            middle=f"⌊{num(Fraction(span, stride))}⌋ + 1 (the last {span % stride} position(s) left over)",
        )
    return Part(written, _cell(work, node, i, j), middle=f"{span // stride} + 1")


def _window(work: Work, node: Node, i: int, j: int) -> tuple[Array, int, int, int]:
    """The pooling window of output (i, j): its cells, and its top-left row and column."""
    x_, size_, stride_ = node.args[0], node.args[-2], node.args[-1]
    x = work.value(x_)
    size, stride = _scalar(work, size_), _scalar(work, stride_)
    r0, c0 = i * stride, j * stride
    return x[r0 : r0 + size, c0 : c0 + size], r0, c0, size


def _worked_maxpool(work: Work, node: Node, i: int, j: int) -> Part:
    cells, r0, c0, size = _window(work, node, i, j)
    name = f"{node.args[0].source}[{_span(r0, size)}, {_span(c0, size)}]"
    listed = ", ".join(num(v) for v in cells.ravel().tolist())
    return Part(f"the largest of {name}", _cell(work, node, i, j), middle=f"max({listed})", named=True)


def _windows_of(r: int, c: int, size: int, stride: int, rows: int, cols: int) -> list[tuple[int, int]]:
    """The output positions whose window holds input cell (r, c)."""
    return [
        (a, b)
        for a in range(rows)
        for b in range(cols)
        if a * stride <= r < a * stride + size and b * stride <= c < b * stride + size
    ]


def _worked_maxpool_grad(work: Work, node: Node, i: int, j: int) -> Part:
    x_, dp_, size_, stride_ = node.args
    x, dp = work.value(x_), work.value(dp_)
    size, stride = _scalar(work, size_), _scalar(work, stride_)
    value = _cell(work, node, i, j)
    here = f"{work.name_of(x_, i, j)} = {num(x[i, j])}"
    wins = _windows_of(i, j, size, stride, dp.shape[0], dp.shape[1])
    won = []
    for a, b in wins:
        window = x[a * stride : a * stride + size, b * stride : b * stride + size]
        if x[i, j] == window.max():
            won.append((a, b))
    if not wins:
        return Part(f"{here} lies in no window", value)
    its = "its window" if len(wins) == 1 else f"any of its {len(wins)} windows"
    if not won:
        largest = ", ".join(
            num(x[a * stride : a * stride + size, b * stride : b * stride + size].max()) for a, b in wins
        )
        return Part(f"{here} is not the largest of {its} (the largest: {largest})", value)
    names = " + ".join(work.name_of(dp_, a, b) for a, b in won)
    if len(won) == 1:
        which = its if len(wins) == 1 else f"one of its {len(wins)} windows"
        return Part(f"{here} is the largest of {which}: {names}", value)
    values = " + ".join(paren(dp[a, b]) for a, b in won)
    return Part(f"{here} is the largest of {len(won)} of its {len(wins)} windows: {names}", value, middle=values)


def _worked_im2col(work: Work, node: Node, i: int, j: int) -> Part:
    """Row i of column j: kernel cell i (row by row) over patch j (output positions row by row)."""
    x_, _, kw_, pad_, stride_ = node.args
    x = work.value(x_)
    kw, pad, stride = (_scalar(work, a) for a in (kw_, pad_, stride_))
    cols = out_size(x.shape[1], kw, pad, stride)
    a, b = divmod(j, cols)  # the output position of patch j
    u, v = divmod(i, kw)  # the kernel cell of row i
    r, c = a * stride - pad + u, b * stride - pad + v
    value = _cell(work, node, i, j)
    where = f"patch {j + 1} (output [{a + 1},{b + 1}]), kernel cell [{u + 1},{v + 1}]"
    if 0 <= r < x.shape[0] and 0 <= c < x.shape[1]:
        return Part(f"{work.name_of(x_, r, c)}: {where}", value)
    return Part(f"0 (padding): {where}", value)


def _worked_kernel_row(work: Work, node: Node, i: int, j: int) -> Part:
    k_ = node.args[0]
    kw = work.value(k_).shape[1]
    value = _cell(work, node, i, j)
    return Part(paren(value), value, simple=True, ref=work.name_of(k_, j // kw, j % kw))


def _worked_fold(work: Work, node: Node, i: int, j: int) -> Part:
    y_ = node.args[0]
    cols = work.value(node).shape[1]
    value = _cell(work, node, i, j)
    k = i * cols + j
    return Part(f"{work.name_of(y_, 0, k)} (patch {k + 1} is output row {i + 1}, column {j + 1})", value)


# ----------------------------------------------------------------------------- slips and hints


def _conv_parts(node: Node, site: Site) -> tuple[Array, Array, int, int, Array | None]:
    x, k = site.value(node.args[0]), site.value(node.args[1])
    pad = int(site.value(node.args[2]).reshape(-1).tolist()[0])
    stride = int(site.value(node.args[3]).reshape(-1).tolist()[0])
    b = site.value(node.args[4]) if len(node.args) > 4 else None
    return x, k, pad, stride, b


def _recompute(
    node: Node,
    site: Site,
    *,
    flip: bool = False,
    unpadded: bool = False,
    stride_one: bool = False,
    no_bias: bool = False,
) -> Array:
    """The step computed the wrong way, at the right output size: with the kernel flipped, with
    the patches starting at the image's corner instead of the padding's, or moving by 1."""
    x, k, pad, stride, b = _conv_parts(node, site)
    if node.op == "conv1d":
        rows, cols = 1, out_size(x.shape[1], k.shape[1], pad, stride)
        padding = (0, pad, 0, pad)
        if unpadded:
            padding = (0, 0, 0, 2 * pad)
    else:
        rows = out_size(x.shape[0], k.shape[0], pad, stride)
        cols = out_size(x.shape[1], k.shape[1], pad, stride)
        padding = (pad, pad, pad, pad)
        if unpadded:
            padding = (0, 0, 2 * pad, 2 * pad)
    kernel = k[::-1, ::-1] if flip else k
    out = _correlate(x[None], kernel[None], padding, 1 if stride_one else stride, rows, cols)
    return _with_bias(out, None if b is None or no_bias else b[None])[0]


def _conv_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    _, k, pad, stride, _ = _conv_parts(node, site)
    flipped = (
        "You flipped the kernel (the textbook convolution): a CNN slides the kernel as it is "
        "(cross-correlation), its top-left weight on the patch's top-left cell."
    )
    slips: list[Slip] = []
    if len(node.args) > 4 and np.any(site.value(node.args[4]) != 0):
        slips.append(
            (lambda: _recompute(node, site, no_bias=True), f"You forgot to add the bias {node.args[4].source}.")
        )
    if not np.array_equal(k, k[::-1, ::-1]):
        slips.append((lambda: _recompute(node, site, flip=True), flipped))
    if pad:
        slips.append(
            (
                lambda: _recompute(node, site, unpadded=True),
                f"You left out the zero padding: the first patch starts {pad} cell(s) outside the input "
                "(on the padding zeros), not at its first cell.",
            )
        )
    if stride > 1:
        slips.append(
            (
                lambda: _recompute(node, site, stride_one=True),
                f"The patches move by the stride ({stride}), not by 1: output j's patch starts at "
                f"{stride}·(j − 1) + 1.",
            )
        )
    return slips


def _conv_cell_slip(
    node: Node, site: Site, i: int, j: int, given: Fraction, want: Fraction, tol: Fraction
) -> str | None:
    """One cell: the kernel flipped for this patch, or one product of the patch left out."""
    if node is not site.root:
        return None
    x, k, pad, stride, _ = _conv_parts(node, site)
    one_d = node.op == "conv1d"
    r0, c0 = (0 if one_d else i * stride - pad), j * stride - pad
    _, own = _patch_terms(x, k, r0, c0)
    _, flipped = _patch_terms(x, k[::-1, ::-1], r0, c0)
    if flipped != own and abs(given - (want - own + flipped)) <= tol:
        return "the kernel is flipped (convolution in the textbook sense): slide it as it is"
    for a in range(k.shape[0]):
        for c in range(k.shape[1]):
            r, q = r0 + a, c0 + c
            pixel = x[r, q] if 0 <= r < x.shape[0] and 0 <= q < x.shape[1] else 0
            term = Fraction(k[a, c]) * Fraction(pixel)
            if term and abs(given - (want - term)) <= tol:
                return f"one product of the patch is missing: ({num(k[a, c])})({num(pixel)})"
    return None


def _start(index: int, pad: Node, stride: Node) -> str:
    """Where patch `index` (0-based) starts, 1-based: a number where pad and stride are literals,
    else the rule with their names (a hint reads the expression, not the values)."""
    if pad.kind == "number" and stride.kind == "number":
        return str(index * int(stride.source) + 1 - int(pad.source))
    return f"{index}·{stride.source} + 1 − {pad.source}"


def _conv_hint(node: Node, site: Site, i: int, j: int) -> Hint:
    x_, k_, pad_, stride_ = node.args[:4]
    column = _start(j, pad_, stride_)
    where = f"{x_.source}[{column}]" if node.op == "conv1d" else f"{x_.source}[{_start(i, pad_, stride_)}, {column}]"
    text = (
        f"lay {k_.source} as it is (not flipped) on the patch that starts at {where} "
        "(an index of 0 or less is the zero padding), multiply cell by cell and add up"
    )
    added = (node.args[4].source,) if len(node.args) > 4 else ()
    return Hint(text, added)


def _size_slips(node: Node, site: Site) -> list[Slip]:
    n, k, pad, stride = (int(site.value(a).reshape(-1).tolist()[0]) for a in node.args)

    def scalar(value: int) -> Callable[[], Array]:
        return lambda: np.full((1, 1), value, dtype=np.int64)

    slips: list[Slip] = [(scalar((n + 2 * pad - k) // stride), "You forgot the + 1 (the first position).")]
    if pad:
        slips.append((scalar(out_size(n, k, 0, stride)), "You forgot the padding: n + 2·pad, one pad on each side."))
        slips.append((scalar((n + pad - k) // stride + 1), "You padded one side only: n + 2·pad, a pad on each side."))
    if stride > 1:
        slips.append((scalar(n + 2 * pad - k + 1), "You forgot the stride: divide by it before adding 1."))
    return slips


def _pool_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    x = site.value(node.args[0])
    size = int(site.value(node.args[1]).reshape(-1).tolist()[0])
    stride = int(site.value(node.args[2]).reshape(-1).tolist()[0])

    def average() -> Array:
        rows, cols = out_size(x.shape[0], size, 0, stride), out_size(x.shape[1], size, 0, stride)
        ones = np.full((1, size, size), Fraction(1, size * size), dtype=object)
        return normalize(_correlate(x[None], ones, (0, 0, 0, 0), stride, rows, cols))[0]

    return [(average, "That is average pooling: max pooling keeps the largest value of each window.")]


def _pool_grad_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    x, dp = site.value(node.args[0]), site.value(node.args[1])
    size = int(site.value(node.args[2]).reshape(-1).tolist()[0])
    stride = int(site.value(node.args[3]).reshape(-1).tolist()[0])

    def spread(share: Fraction) -> Callable[[], Array]:
        def every() -> Array:
            out = np.zeros(x.shape, dtype=object)
            for a in range(dp.shape[0]):
                for b in range(dp.shape[1]):
                    out[a * stride : a * stride + size, b * stride : b * stride + size] += Fraction(dp[a, b]) * share
            return normalize(out)

        return every

    return [
        (
            spread(Fraction(1)),
            "You copied each gradient to every cell of its window: only the cell that was the largest "
            "(the one max pooling passed on) gets it, the others get 0.",
        ),
        (
            spread(Fraction(1, size * size)),
            "That is the backward pass of average pooling: max pooling routes the whole gradient to the "
            "largest cell of the window.",
        ),
    ]


def _pool_grad_hint(node: Node, site: Site, i: int, j: int) -> Hint:
    x_, dp_ = node.args[0], node.args[1]
    return Hint(
        f"is {x_.source}[{i + 1},{j + 1}] the largest of a window? Then it gets that window's {dp_.source} "
        "(the sum, if it is the largest of two windows); otherwise 0"
    )


# ----------------------------------------------------------------------------- the ops


@register(worked=_worked_conv(True), slips=_conv_slips, cell_slip=_conv_cell_slip, hint=_conv_hint)
def conv1d(x: Array, k: Array, pad: Any, stride: Any, b: Array | None = None) -> Array:
    """1-D cross-correlation of a row signal with a row kernel, zero-padded, strided (+ bias b)."""
    if x.shape[-2] != 1 or k.shape[-2] != 1:
        raise EvaluationError(f"conv1d takes a row signal and a row kernel, got {grid(x)} and {grid(k)}")
    p, s = _pad_arg(pad), _stride_arg(stride)
    cols = out_size(x.shape[-1], k.shape[-1], p, s)
    if cols < 1:
        raise EvaluationError(f"a kernel of {k.shape[-1]} taps does not fit a signal of {x.shape[-1]} with padding {p}")
    return _with_bias(_correlate(x, k, (0, p, 0, p), s, 1, cols), b)


@register(worked=_worked_conv(False), slips=_conv_slips, cell_slip=_conv_cell_slip, hint=_conv_hint)
def conv2d(X: Array, K: Array, pad: Any, stride: Any, b: Array | None = None) -> Array:
    """2-D cross-correlation (a CNN's convolution) of X with kernel K, zero-padded, strided (+ bias b)."""
    p, s = _pad_arg(pad), _stride_arg(stride)
    rows = out_size(X.shape[-2], K.shape[-2], p, s)
    cols = out_size(X.shape[-1], K.shape[-1], p, s)
    if rows < 1 or cols < 1:
        raise EvaluationError(f"a {grid(K)} kernel does not fit a {grid(X)} input with padding {p}")
    return _with_bias(_correlate(X, K, (p, p, p, p), s, rows, cols), b)


@register(worked=_worked_conv_size, slips=_size_slips)
def conv_size(n: Any, k: Any, pad: Any, stride: Any) -> Array:
    """The output length of a convolution or pooling: ⌊(n + 2·pad − k) / stride⌋ + 1."""
    length = out_size(
        _size_arg(n, "the input length"), _size_arg(k, "the kernel size"), _pad_arg(pad), _stride_arg(stride)
    )
    if length < 1:
        raise EvaluationError("the kernel does not fit the input")
    return np.full((1, 1, 1), length, dtype=np.int64)


def _pool_windows(x: Array, size: int, stride: int) -> tuple[Array, int, int]:
    """Every window as (B, rows, cols, size·size)."""
    rows, cols = out_size(x.shape[-2], size, 0, stride), out_size(x.shape[-1], size, 0, stride)
    if rows < 1 or cols < 1:
        raise EvaluationError(f"a {size}x{size} window does not fit a {grid(x)} input")
    windows = np.stack(
        [
            x[..., a * stride : a * stride + size, b * stride : b * stride + size].reshape(x.shape[0], -1)
            for a in range(rows)
            for b in range(cols)
        ],
        axis=1,
    )  # (B, rows·cols, size·size)
    return windows.reshape(x.shape[0], rows, cols, size * size), rows, cols


@register(worked=_worked_maxpool, slips=_pool_slips)
def maxpool2d(X: Array, size: Any, stride: Any) -> Array:
    """Max pooling: the largest value of each size x size window, the windows `stride` apart."""
    windows, _, _ = _pool_windows(X, _size_arg(size, "the window size"), _stride_arg(stride))
    return normalize(np.max(windows, axis=-1))


@register(worked=_worked_maxpool_grad, slips=_pool_grad_slips, hint=_pool_grad_hint)
def maxpool_grad(X: Array, dP: Array, size: Any, stride: Any) -> Array:
    """The backward pass of max pooling: each window's gradient dP goes to its largest cell of X
    (summed where windows overlap); every other cell gets 0. A tie would send it to every
    largest cell: templates rule ties out with pool_unique."""
    n, s = _size_arg(size, "the window size"), _stride_arg(stride)
    rows, cols = out_size(X.shape[-2], n, 0, s), out_size(X.shape[-1], n, 0, s)
    if dP.shape[-2:] != (rows, cols):
        raise EvaluationError(f"the gradient of a {rows}x{cols} pooled map must be {rows}x{cols}, got {grid(dP)}")
    x = _exact(X)
    g = _exact(dP)
    batch = max(x.shape[0], g.shape[0])
    out = np.zeros((batch, *X.shape[-2:]), dtype=_result_dtype(x, g))
    for a in range(rows):
        for b in range(cols):
            window = x[:, a * s : a * s + n, b * s : b * s + n]
            largest = np.max(window.reshape(window.shape[0], -1), axis=-1)[:, None, None]
            routed = (window == largest) * g[:, a : a + 1, b : b + 1]
            out[:, a * s : a * s + n, b * s : b * s + n] += routed
    return normalize(out)


@register()
def pool_unique(X: Array, size: Any, stride: Any, margin: Any) -> Array:
    """True per candidate when every window's largest value beats the window's others by at
    least margin: the cell a max pooling passes on (and its gradient goes to) is clear."""
    gap = Fraction(np.asarray(margin).reshape(-1).tolist()[0])
    if gap <= 0:
        raise EvaluationError("the margin of pool_unique must be above 0")
    windows, _, _ = _pool_windows(X, _size_arg(size, "the window size"), _stride_arg(stride))
    if windows.shape[-1] < 2:
        return np.ones((windows.shape[0], 1, 1), dtype=bool)
    ordered = np.sort(windows, axis=-1)
    lead = ordered[..., -1] - ordered[..., -2]
    least = int(gap) if gap.denominator == 1 and lead.dtype.kind in "iu" else gap
    return np.asarray(np.all(np.asarray(lead >= least, dtype=bool), axis=(-2, -1))).reshape(-1, 1, 1)


@register(worked=_worked_im2col)
def im2col(X: Array, kh: Any, kw: Any, pad: Any, stride: Any) -> Array:
    """Unfold X: column j is patch j (output positions row by row), read row by row (kh·kw rows)."""
    h, w = _size_arg(kh, "the kernel height"), _size_arg(kw, "the kernel width")
    p, s = _pad_arg(pad), _stride_arg(stride)
    rows, cols = out_size(X.shape[-2], h, p, s), out_size(X.shape[-1], w, p, s)
    if rows < 1 or cols < 1:
        raise EvaluationError(f"a {h}x{w} kernel does not fit a {grid(X)} input with padding {p}")
    if h * w > MAX_INNER or rows * cols > MAX_INNER:
        raise EvaluationError(f"im2col gives {h * w} x {rows * cols} cells: at most {MAX_INNER} each way")
    xp = _padded(_exact(X), p, p)
    patches = [
        xp[..., a * s : a * s + h, b * s : b * s + w].reshape(xp.shape[0], h * w)
        for a in range(rows)
        for b in range(cols)
    ]
    return normalize(np.stack(patches, axis=-1))


@register(worked=_worked_kernel_row)
def kernel_row(K: Array) -> Array:
    """The kernel as one row, read row by row (the left factor of the im2col product)."""
    return K.reshape(K.shape[0], 1, K.shape[-2] * K.shape[-1])


@register(worked=_worked_fold)
def fold(y: Array, rows: Any, cols: Any) -> Array:
    """A 1 x (rows·cols) row laid out as rows x cols, row by row (im2col's outputs as a feature map)."""
    r, c = _size_arg(rows, "rows"), _size_arg(cols, "cols")
    if y.shape[-2] != 1 or y.shape[-1] != r * c:
        raise EvaluationError(f"fold takes a row of {r * c} values, got {grid(y)}")
    return y.reshape(y.shape[0], r, c)
