"""A sheet: a solved problem plus which cells the learner must fill in.

Blank patterns (CONVENTIONS.md):
    all    every computed cell is blank
    layer  one missing value per layer (the same cell through a layer's steps)
    one    exactly one blank in the whole exercise
    inverse  one GIVEN cell blank, every computed step shown: solve for it (core/inverse.py)
    none   nothing blank: the answer key
The cells chosen for `layer`, `one` and `inverse` come from a generator seeded by the
variant, so the same variant id always blanks the same cells.

`Sheet.blanks` is the one model of which cells are blank: asked steps, and (inverse) the
given whose cell is solved for; `blank_givens` names the latter, which writers draw as a
blank box in the given's table and answer files, reports and exports ask like a step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from nnhand.choices import BLANK_POLICIES
from nnhand.core.engine import Problem
from nnhand.core.template import Step
from nnhand.errors import NnhandError
from nnhand.values import Shape, grid_shape

_BLANK_STREAM = 0x626C616E6B  # "blank": keeps blank choices apart from the givens' stream


@dataclass
class Sheet:
    problem: Problem
    policy: str
    blanks: dict[str, np.ndarray]  # asked step or given -> bool (rows, cols): True where the learner writes
    # Draw weights and biases as one matrix [W | b] and inputs as [x; 1] (core.augment), as
    # many published sheets do: how the page looks, not which cells are asked.
    augmented: bool = False

    @property
    def variant(self) -> str:
        """The sheet's id: the instance's variant, with the blank pattern if not the default."""
        variant = self.problem.variant.instance
        if self.policy != self.problem.template.blanks_default:
            variant = replace(variant, blanks=self.policy)
        return str(variant)

    def asked(self) -> Iterator[Step]:
        return (s for s in self.problem.template.steps if s.asked)

    def blank_givens(self) -> list[str]:
        """The givens with a blank cell (the inverse pattern), in template order."""
        return [n for n in self.problem.givens if n in self.blanks and bool(self.blanks[n].any())]

    def given_blank(self, name: str, i: int, j: int) -> bool:
        """Whether cell (i, j) of the given `name` is blank."""
        mask = self.blanks.get(name) if name in self.problem.givens else None
        return mask is not None and bool(mask[i, j])

    def blank_count(self) -> int:
        return int(sum(int(mask.sum()) for mask in self.blanks.values()))

    def shape(self, name: str) -> Shape:
        return self.problem.shapes[name]


def make_sheet(problem: Problem, policy: str | None = None, augmented: bool = False) -> Sheet:
    template = problem.template
    policy = policy or template.blanks_default
    if policy not in BLANK_POLICIES:
        raise NnhandError(f"unknown blank pattern '{policy}'", where="--blanks", fix=f"Use {', '.join(BLANK_POLICIES)}")
    if policy not in template.blanks_allowed:
        raise NnhandError(
            f"{template.id} does not offer the blank pattern '{policy}'",
            where="--blanks",
            fix=f"It offers: {', '.join(template.blanks_allowed)}",
        )
    asked = [s for s in template.steps if s.asked]
    grids = {s.name: grid_shape(problem.shapes[s.name]) for s in asked}
    if policy == "all":
        blanks = {s.name: np.ones(grids[s.name], dtype=bool) for s in asked}
    elif policy == "none":
        blanks = {s.name: np.zeros(grids[s.name], dtype=bool) for s in asked}
    elif policy == "inverse":
        from nnhand.core.inverse import choose

        blanks = {s.name: np.zeros(grids[s.name], dtype=bool) for s in asked}
        given = choose(problem, _variant_number(problem))
        blanks[given.name] = np.zeros(problem.givens[given.name].shape, dtype=bool)
        blanks[given.name][given.row, given.col] = True
    else:
        blanks = {s.name: np.zeros(grids[s.name], dtype=bool) for s in asked}
        rng = np.random.default_rng([_variant_number(problem), _BLANK_STREAM])
        layers: dict[str, list[Step]] = {}
        for s in asked:
            layers.setdefault(s.layer, []).append(s)
        groups = list(layers.values())
        if policy == "one":
            groups = [[groups[int(rng.integers(len(groups)))][-1]]]
        for group in groups:
            rows, cols = grids[group[0].name]
            cell = (int(rng.integers(rows)), int(rng.integers(cols)))
            for s in group:
                r, c = grids[s.name]
                if (r, c) != (rows, cols):
                    cell_s = (int(rng.integers(r)), int(rng.integers(c)))
                else:
                    cell_s = cell
                blanks[s.name][cell_s] = True
    return Sheet(problem, policy, blanks, augmented)


def _variant_number(problem: Problem) -> int:
    """What the blank choices are seeded from: public in the id, so `check` finds the same cells."""
    variant = problem.variant
    if variant.seed is not None:
        return variant.seed
    if variant.token is not None:
        return int.from_bytes(variant.token.encode(), "big")
    return int(variant.digest or "0", 16)
