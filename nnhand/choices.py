"""The named choices of the library, in a module light enough for the CLI to offer them at
start-up (shell completion and --help import nothing heavy). One list per concept: the
library checks against these tuples and the CLI's choices are built from them."""

from __future__ import annotations

BLANK_POLICIES = ("all", "layer", "one", "none", "inverse")  # which cells of a sheet are blank (inverse: a given)
SCORING_MODES = ("cell", "step", "weighted")  # one point a cell, all-or-nothing steps, template points
JUNIT_PER = ("cell", "step")  # a JUnit test case per cell or per step

# The topics `nnhand list` groups templates by, in the order a course meets them: id -> heading.
# A template names one with `topic:`; one without is listed under "other".
TOPICS = {
    "basics": "Neurons, layers and parameters",
    "networks": "Networks",
    "losses": "Losses",
    "training": "Gradients and training",
    "optimisers": "Optimisers",
    "regularisation": "Regularisation and normalisation",
    "convolution": "Convolution and pooling",
    "sequences": "Sequences and state",
    "transformers": "Attention and transformers",
    "embeddings": "Embeddings and retrieval",
    "generative": "Generative models",
    "graphs": "Graphs",
    "alignment": "Multimodal models and alignment",
    "other": "Other",
}
