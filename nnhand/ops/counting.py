"""Ops for the exercises that count: the sizes each `nn.Linear(in, out)` of a drawn network
takes, and the parameters of a dense layer.

Like every op, each takes arrays of shape (B, rows, cols) -- B candidate instances at once --
and broadcasts a batch of 1 (a literal such as the layer number) against the others.

    linear_in(x, n, k)    in_features of layer k: the input size x for layer 1, else the
                          neurons of layer k - 1 (n is a row: the neurons of each layer)
    linear_out(x, n, k)   out_features of layer k: its neurons, n[k]
    layer_params(a, b)    weights and biases of a dense layer from a inputs to b neurons:
                          (a + 1)·b, a weight per input and one bias per neuron
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from nnhand.errors import EvaluationError
from nnhand.ops.registry import register
from nnhand.ops.written import Node, Part, Site, Slip, StepSlips, Work, Worked, num

Array = np.ndarray


def _layer(k: Array, n: Array) -> int:
    """The layer number k (a literal, 1-based), checked against the layers n has."""
    values = np.unique(np.asarray(k))
    if values.size != 1 or values[0] != int(values[0]):
        raise EvaluationError("the layer number must be one whole number, such as 2")
    layer = int(values[0])
    if not 1 <= layer <= n.shape[-1]:
        raise EvaluationError(f"layer {layer} is not among the {n.shape[-1]} layers of n")
    return layer


def _sizes(x: Array, n: Array) -> Array:
    """(B, 1, L + 1): the input size, then the neurons of each layer."""
    if n.ndim != 3 or n.shape[1] != 1:
        raise EvaluationError("n must be a row: the neurons of each layer")
    if x.shape[1:] != (1, 1):
        raise EvaluationError("the input size must be one number")
    batch = max(x.shape[0], n.shape[0])
    return np.concatenate([np.broadcast_to(x, (batch, 1, 1)), np.broadcast_to(n, (batch, 1, n.shape[2]))], axis=2)


# ----------------------------------------------------------------------------- nn.Linear sizes


def _size_name(work: Work, node: Node, column: int) -> str:
    """The drawn cell a size is read from: the input size, or n's cell for a layer."""
    x, n = node.args[0], node.args[1]
    return work.name_of(x, 0, 0) if column == 0 else work.name_of(n, 0, column - 1)


def _worked_size(out: bool) -> Worked:
    def worked(work: Work, node: Node, i: int, j: int) -> Part:
        k = int(np.asarray(work.value(node.args[2])).reshape(-1)[0])
        value = work.at(work.value(node), i, j)
        column = k if out else k - 1
        if out:
            why = f"layer {k} makes one output per neuron"
        elif k == 1:
            why = "layer 1 reads the input"
        else:
            why = f"layer {k} reads the outputs of layer {k - 1}"
        return Part(num(value), value, simple=True, ref=f"{_size_name(work, node, column)} ({why})")

    return worked


def _swap_slips(out: bool) -> StepSlips:
    def slips(node: Node, site: Site) -> list[Slip]:
        if node is not site.root:
            return []
        x, n, k = (site.value(a) for a in node.args)
        sizes = _sizes(x[None], n[None])[0]
        layer = int(np.asarray(k).reshape(-1)[0])
        other = sizes[:, layer - 1 : layer] if out else sizes[:, layer : layer + 1]
        text = (
            "You swapped in and out: nn.Linear(in_features, out_features) takes the size the layer "
            "reads first, then the number of its neurons (its weight matrix is out × in)."
        )
        return [(lambda: other, text)]

    return slips


@register(worked=_worked_size(False), slips=_swap_slips(False))
def linear_in(x: Array, n: Array, k: Array) -> Array:
    """in_features of nn.Linear number k: x for the first layer, else the neurons of layer k - 1."""
    layer = _layer(k, n)
    return _sizes(x, n)[:, :, layer - 1 : layer].copy()


@register(worked=_worked_size(True), slips=_swap_slips(True))
def linear_out(x: Array, n: Array, k: Array) -> Array:
    """out_features of nn.Linear number k: the neurons of layer k."""
    layer = _layer(k, n)
    return _sizes(x, n)[:, :, layer : layer + 1].copy()


# ----------------------------------------------------------------------------- parameter counts


def _worked_params(work: Work, node: Node, i: int, j: int) -> Part:
    a, b = (work.at(work.value(arg), i, j) for arg in node.args)
    names = [work.name_of(arg, i, j) for arg in node.args]
    value = work.at(work.value(node), i, j)
    return Part(
        f"({names[0]} + 1)·{names[1]}",
        value,
        middle=f"({num(a)} + 1)·{num(b)}",
        stages=(f"{num(Fraction(a) + 1)}·{num(b)}",),
        named=True,
    )


def _params_slips(node: Node, site: Site) -> list[Slip]:
    if node is not site.root:
        return []
    a, b = (site.value(arg) for arg in node.args)
    return [
        (lambda: a * b, "You left out the biases: a dense layer has one bias per neuron, (inputs + 1)·neurons."),
        (
            lambda: a * (b + 1),
            "You gave each input a bias: the bias belongs to each neuron, "
            "so (inputs + 1)·neurons, not inputs·(neurons + 1).",
        ),
    ]


@register(worked=_worked_params, slips=_params_slips)
def layer_params(a: Array, b: Array) -> Array:
    """(a + 1)·b: the weights (a per neuron) and biases (one per neuron) of a dense layer from a inputs to b neurons."""
    if a.dtype == object or b.dtype == object:
        return (a + 1) * b
    return (np.asarray(a, dtype=np.int64) + 1) * np.asarray(b, dtype=np.int64)
