"""The ops a template expression may call, one registry: importing this package registers them all.

arrays: the formula ops (matmul, relu, softmax, ...); network: the algorithm ops of the
network exercises (attention, routing, retrieval); lecture: the ops of the lecture topics.
"""

from nnhand.ops import arrays, lecture, network  # noqa: F401  (importing registers each module's ops)
