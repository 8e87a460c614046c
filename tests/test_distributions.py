"""Value distributions and template loading when stand-in values cannot compute."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from nnhand import api
from nnhand.core.distributions import PRESETS, parse_distribution
from nnhand.errors import TemplateError


def test_weight_preset_matches_conventions() -> None:
    draws = parse_distribution("weights", "t").draw(np.random.default_rng(0), (1, 200, 100)).ravel()
    share = Counter(draws.tolist())
    n = draws.size
    assert abs(share[0] / n - 0.40) < 0.02 and abs(share[1] / n - 0.43) < 0.02 and abs(share[-1] / n - 0.14) < 0.02
    assert set(share) <= {-3, -2, -1, 0, 1, 2, 3}
    assert sum(PRESETS["inputs"][v] for v in (0, 1, 2, 3)) == 88  # 88 % in 0..3


def test_decimal_ranges_and_sets_are_exact() -> None:
    r = parse_distribution({"range": [0.01, 0.99]}, "t").draw(np.random.default_rng(1), (1, 50, 4))
    values = {Fraction(v) for v in r.ravel()}
    assert all(v.denominator in (1, 2, 4, 5, 10, 20, 25, 50, 100) for v in values)
    assert min(values) >= Fraction(1, 100) and max(values) <= Fraction(99, 100)
    p = parse_distribution({"set": {0.5: 2, 0.33: 1}}, "t").draw(np.random.default_rng(1), (1, 1, 60))
    assert {Fraction(v) for v in p.ravel()} == {Fraction(1, 2), Fraction(33, 100)}


@pytest.mark.parametrize(
    "spec", ["gaussian", {"range": [3, 1]}, {"range": ["a", 2]}, {"set": {"x": 1}}, {"set": {1: -1}}, {"values": []},
             {"simplex": 0}, {"range": [0, 10**6]}, {"set": {0.00001: 1}}],
)  # fmt: skip
def test_bad_distributions_are_refused(spec: object) -> None:
    with pytest.raises(TemplateError):
        parse_distribution(spec, "t")


VALUE_DEPENDENT = """\
id: halves
version: 1
title: Halves
givens:
  z: {shape: [3], dist: {range: [0, 6]}}
  T: {shape: [], dist: {values: [2, 3]}}
steps:
  - {name: s, expr: "z / T"}
  - {name: E, expr: "3 ** s"}
constraints:
  - expr: all(multiple_of(z, T))
    why: z / T is whole, so 3 ** (z / T) is exact
realism: {relu_zeroes_some: false}
"""


def test_templates_whose_stand_ins_cannot_compute_still_load(tmp_path: Path) -> None:
    """Ones and zeros break 3 ** (z / T) (a half, a division by zero): the shapes come from a sample."""
    (tmp_path / "halves.yaml").write_text(VALUE_DEPENDENT.replace('"3 ** s"', '"3 ** (s * 2) / 3 ** s"'))
    template = api.load("halves", [str(tmp_path)])
    assert template.shapes(template.resolve_params())["E"] == (3,)


def test_shape_errors_are_reported_at_load(tmp_path: Path) -> None:
    (tmp_path / "halves.yaml").write_text(VALUE_DEPENDENT.replace('"3 ** s"', '"3 ** s @ z"'))
    with pytest.raises(TemplateError, match="cannot multiply"):
        api.load("halves", [str(tmp_path)])
