"""Value distributions and template loading when stand-in values cannot compute."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from nnhand import api
from nnhand.core import engine
from nnhand.core.distributions import PRESETS, parse_distribution
from nnhand.core.template import template_from_text
from nnhand.errors import TemplateError


def test_weight_preset_matches_conventions() -> None:
    draws = parse_distribution("weights", "t").draw(np.random.default_rng(0), (1, 200, 100)).ravel()
    share = Counter(draws.tolist())
    n = draws.size
    # CONVENTIONS.md: 0 ~40 %, +1 ~43 %, -1 ~14 % on the sheets; the preset draws 0 a little more
    # (the rules against zero rows take some out), so 0 is 40-46 % here, +1 and -1 as published.
    assert 0.40 <= share[0] / n <= 0.46 and abs(share[1] / n - 0.43) < 0.03 and abs(share[-1] / n - 0.14) < 0.02
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
    """Ones and zeros break 3 ** (z / T) (a half, a division by zero): the shapes come from
    values drawn from the distributions, without the sampler."""
    (tmp_path / "halves.yaml").write_text(VALUE_DEPENDENT.replace('"3 ** s"', '"3 ** (s * 2) / 3 ** s"'))
    template = api.load("halves", [str(tmp_path)])
    stand_ins = template.stand_in_shapes(template.resolve_params())
    assert stand_ins is not None and stand_ins["E"] == (3,)
    assert engine.shapes(template)["E"] == (3,)
    assert engine.shapes(template, {}) is engine.shapes(template)  # worked out once, then remembered


def test_shape_errors_are_reported_at_load(tmp_path: Path) -> None:
    """Ones and zeros trip over 3 ** s before the bad product: a drawn stand-in reaches it."""
    (tmp_path / "halves.yaml").write_text(VALUE_DEPENDENT.replace('"3 ** s"', '"3 ** s @ z"'))
    with pytest.raises(TemplateError, match="cannot multiply"):
        api.load("halves", [str(tmp_path)])


def test_a_template_no_stand_in_computes_gets_its_shapes_from_the_sampler(tmp_path: Path) -> None:
    """(z + 1) / 7 is whole only where z = 6: all five cells for one draw in 6^5 = 7,776.
    Ones, zeros and the dry run's draws all trip: it gives up (no error), and engine.shapes
    reads the shapes off the instance the sampler's many more draws find."""
    text = VALUE_DEPENDENT.replace("{range: [0, 6]}", "{range: [1, 6]}").replace("values: [2, 3]", "values: [7]")
    text = text.replace("multiple_of(z, T)", "multiple_of(z + 1, T)").replace('"z / T"', '"(z + 1) / T"')
    template = template_from_text(text.replace("shape: [3]", "shape: [5]"), tmp_path / "halves.yaml")
    assert template.stand_in_shapes(template.resolve_params()) is None
    assert engine.shapes(template) == {"z": (5,), "T": (), "s": (5,), "E": (5,)}


def test_shape_errors_before_a_value_dependent_step_are_reported_by_the_template_alone(tmp_path: Path) -> None:
    (tmp_path / "halves.yaml").write_text(VALUE_DEPENDENT.replace('"z / T"', '"z @ z"'))
    with pytest.raises(TemplateError, match="cannot multiply"):
        template_from_text((tmp_path / "halves.yaml").read_text(), tmp_path / "halves.yaml")


@pytest.mark.parametrize("bound", [10**400, -(10**400), 1e308, float("inf")])
def test_a_range_bound_too_large_for_a_float_is_a_message(bound: float) -> None:
    """Found by the template fuzzer: 10**400 reached math.isfinite, which overflowed."""
    from nnhand.errors import TemplateError

    with pytest.raises(TemplateError) as error:
        parse_distribution({"range": [bound, 4]}, "givens.x.dist")
    assert "givens.x.dist" in error.value.render()
