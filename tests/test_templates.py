"""One parametrized test over every template: a new YAML file is tested the moment it exists.

For each template and many seeds: the instance is valid, its constraints hold, it solves,
it renders, and its own key grades 100 %. Plus the realism rules of CONVENTIONS.md.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from nnhand import api
from nnhand.choices import BLANK_POLICIES
from nnhand.core.engine import _checks, generate
from nnhand.core.keys import key_data, to_json, to_yaml
from nnhand.core.sheet import make_sheet
from nnhand.errors import AnswerFileError
from nnhand.grading.answers import answer_file_data, answer_file_text, parse_answer_text
from nnhand.grading.grade import grade_data
from nnhand.output.terminal import sheet_renderable

from .conftest import render_text

SEEDS = range(0, 120, 7)


def test_every_seed_gives_a_valid_solved_instance(template_id: str) -> None:
    template = api.load(template_id)
    template = template.for_params(template.resolve_params())  # the givens and steps at the defaults
    checks = _checks(template)
    for seed in SEEDS:
        problem = generate(template, seed)
        env = {**{k: v[None] for k, v in problem.givens.items()}, **{k: v[None] for k, v in problem.values.items()}}
        env.update({k: np.full((1, 1, 1), v) for k, v in problem.params.items()})
        for check in checks:  # every constraint and realism rule holds for the chosen instance
            assert np.all(check.test(env)), f"{problem.variant}: {check.why}"
        for step in template.steps:  # every value has the declared shape
            assert problem.values[step.name].shape == problem.exact[step.name].shape
        assert str(problem.variant) == f"{template_id}@{template.version}#{seed}"


def test_the_dry_run_and_a_sampled_instance_agree_on_every_shape(template_id: str) -> None:
    """The template's dry run (stand-in values) and the engine (a real instance) declare the
    same shapes; a step with a `shape:` keeps as many dimensions as that shape has."""
    template = api.load(template_id)
    template = template.for_params(template.resolve_params())  # the givens and steps at the defaults
    dry = template.stand_in_shapes(template.resolve_params())
    assert dry is not None, "no stand-in computes: the shipped templates load without sampling"
    for seed in (0, 5):
        problem = generate(template, seed)
        assert problem.shapes == dry
        for step in template.steps:
            rows, cols = problem.values[step.name].shape
            declared = problem.shapes[step.name]
            if step.shape is not None:
                assert len(declared) == len(step.shape), step.name
            else:  # the fewest dimensions: 1x1 a number, r x 1 a column vector
                assert declared == (() if (rows, cols) == (1, 1) else (rows,) if cols == 1 else (rows, cols))


def test_same_seed_same_instance(template_id: str) -> None:
    template = api.load(template_id)
    a, b = generate(template, 11), generate(template, 11)
    assert to_json(key_data(a)) == to_json(key_data(b))
    c = generate(template, 12)
    assert to_json(key_data(a)) != to_json(key_data(c)), "two seeds gave the same instance"


@pytest.mark.parametrize("policy", BLANK_POLICIES)
def test_key_grades_itself_full_marks(template_id: str, policy: str) -> None:
    template = api.load(template_id)
    if policy not in template.blanks_allowed:
        pytest.skip(f"{template_id} does not offer {policy}")
    for seed in (1, 2, 3):
        sheet = make_sheet(generate(template, seed), policy)
        data = answer_file_data(sheet)
        key = key_data(sheet.problem)
        data["answers"] = {s.name: key["answers"][s.name] for s in sheet.asked()}
        for name in sheet.blank_givens():  # inverse: the given's grid, its blank cell filled in
            data["answers"][name] = key["givens"][name]
        if policy == "none":  # a sheet that asks nothing cannot pass a check (issue 9)
            assert sheet.blank_count() == 0
            with pytest.raises(AnswerFileError, match="asks nothing"):
                grade_data(data, "self")
            continue
        report, _ = grade_data(data, "self")
        assert report.score == report.max_score == sheet.blank_count()
        if policy in ("one", "inverse"):
            assert sheet.blank_count() == 1
        assert bool(sheet.blank_givens()) == (policy == "inverse")


def test_blank_answer_file_scores_zero_and_round_trips(template_id: str) -> None:
    sheet = make_sheet(generate(api.load(template_id), 5), "all")
    text = answer_file_text(sheet)
    data = parse_answer_text(text, "answers.yaml")
    assert data["variant"] == sheet.variant
    report, _ = grade_data(data, "answers.yaml")
    assert report.score == 0 and report.max_score == sheet.blank_count()
    assert {c.status for s in report.steps for c in s.cells} == {"missing"}


def test_renders_in_80_columns(template_id: str) -> None:
    sheet = make_sheet(generate(api.load(template_id), 9))
    for text in (render_text(sheet_renderable(sheet)), render_text(sheet_renderable(sheet, key=True, exact=True))):
        assert sheet.variant in text
        assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
        assert "\x1b[" not in text
    assert to_yaml(key_data(sheet.problem))


def test_forward_answers_look_like_published_exercises(template_id: str) -> None:
    """CONVENTIONS.md: integer forward answers within the template's bound, weights mostly -1/0/1."""
    template = api.load(template_id)
    template = template.for_params(template.resolve_params())  # the givens and steps at the defaults
    weights: list[int] = []
    for seed in SEEDS:
        problem = generate(template, seed)
        for name, given in template.givens.items():
            if given.dist.preset == "weights":
                weights += problem.givens[name].ravel().tolist()
        for step in template.steps:
            if step.bound is not None and step.asked:
                assert max(abs(Fraction(v)) for v in problem.values[step.name].ravel()) <= step.bound
    if weights:
        share = sum(w in (-1, 0, 1) for w in weights) / len(weights)
        assert share >= 0.85, f"only {share:.0%} of weights in -1/0/1"
