"""The named choices of the library, in a module light enough for the CLI to offer them at
start-up (shell completion and --help import nothing heavy). One list per concept: the
library checks against these tuples and the CLI's choices are built from them."""

from __future__ import annotations

BLANK_POLICIES = ("all", "layer", "one", "none")  # which cells of a sheet are blank
SCORING_MODES = ("cell", "step", "weighted")  # one point a cell, all-or-nothing steps, template points
JUNIT_PER = ("cell", "step")  # a JUnit test case per cell or per step
