"""Answer keys as data: `key --format yaml|json`, manifests and exports read this shape.

template: hidden-layer
variant: hidden-layer@1#7
givens:  {name: value}          nested lists in the declared shape; scalars as numbers
answers: {name: value}          every computed quantity, rounded as the template states
exact:   {name: value}          only for rounded steps: the exact values, as fractions
rounding: {name: decimals}      only for rounded steps
"""

from __future__ import annotations

import json
from typing import Any

from .engine import Problem
from .values import format_fraction, nested, to_plain


def key_data(problem: Problem) -> dict[str, Any]:
    answers, exact, rounding = {}, {}, {}
    for step in problem.template.steps:
        shape = problem.shapes[step.name]
        answers[step.name] = nested(problem.values[step.name], shape, lambda v, d=step.decimals: to_plain(v, d))
        if step.decimals is not None:
            rounding[step.name] = step.decimals
            exact[step.name] = nested(problem.exact[step.name], shape, _exact_text)
    data: dict[str, Any] = {
        "template": problem.template.id,
        "version": problem.template.version,
        "variant": str(problem.variant),
        "params": dict(problem.params),
        "givens": problem.nested_givens(),
        "answers": answers,
    }
    if exact:
        data["exact"] = exact
        data["rounding"] = rounding
    return data


def _exact_text(value: Any) -> Any:
    if isinstance(value, float):
        return float(value)  # a plain float: numpy's float64 does not serialise
    text = format_fraction(value)
    return int(text) if "/" not in text else text


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100)
