"""The ops a template expression may call, one registry: importing this package registers them all.

registry: `register` records each op with its compute function, its worked-arithmetic writer
and, where they apply, its slips and hint (written: what those writers are given and return);
arrays: the formula ops (matmul, relu, softmax, ...); network: the algorithm ops of the
network exercises (attention, routing, retrieval); lecture: the ops of the lecture topics.
"""

from nnhand.ops import activation, arrays, convolution, counting, lecture, models, network, sequences_norms, shapes  # noqa: F401  (importing registers each module's ops)
