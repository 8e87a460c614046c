"""Answer keys as data: `key --format yaml|json`, manifests and exports read this shape.

template: hidden-layer
variant: hidden-layer@1#7
givens:  {name: value}          nested lists in the declared shape; scalars as numbers
answers: {name: value}          every computed quantity, rounded as the template states
exact:   {name: value}          only for rounded steps: the exact values, as fractions
rounding: {name: decimals}      only for rounded steps

Sealing: a class variant (worksheet batch, LMS export) is named by an opaque token instead
of its seed (`hidden-layer@1#sealed-k3x9…`), so the id on a student's sheet leads to no key;
the instructor's manifest or export record maps each token back to its seed.

    derive(secret, purpose, *parts)   HMAC-SHA256 of `parts` under a key derived from the
                                      secret for one purpose (seeds of a pool, tokens), so no
                                      two purposes can ever produce the same number
    sealed_token(secret, parts, taken) a token from the secret (reproducible by its holder)
                                      or from fresh randomness, unique among `taken`
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from nnhand.core.engine import TOKEN_LENGTH, Problem
from nnhand.values import format_fraction, nested, to_plain

SEED_SPACE = 10**12  # seeds stay readable (12 digits at most)
TOKEN_PURPOSE = "nnhand-token"
MAX_TOKEN_DRAWS = 1000  # 50-bit tokens: a second draw is already astronomically rare


def key_data(problem: Problem) -> dict[str, Any]:
    answers, exact, rounding = {}, {}, {}
    for step in problem.template.steps:
        shape = problem.shapes[step.name]
        answers[step.name] = nested(problem.values[step.name], shape, lambda v, s=step: _plain(problem, s, v))
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


def _plain(problem: Problem, step: Any, value: Any) -> Any:
    """A key cell as data: the word of a word step (nn.ReLU's name), else the number as rounded."""
    word = problem.template.word(step, value)
    return word if word is not None else to_plain(value, step.decimals)


def _exact_text(value: Any) -> Any:
    if isinstance(value, float):
        return float(value)  # a plain float: numpy's float64 does not serialise
    text = format_fraction(value)
    return int(text) if "/" not in text else text


def to_json(data: Any, ascii_only: bool = False) -> str:
    """JSON; `ascii_only` writes non-ASCII as \\u escapes (the same data, for a stream without Unicode)."""
    return json.dumps(data, indent=2, ensure_ascii=ascii_only) + "\n"


def to_yaml(data: Any, ascii_only: bool = False) -> str:
    """YAML; `ascii_only` writes non-ASCII text as escapes in quoted strings (the same data)."""
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, allow_unicode=not ascii_only, width=100)


# ----------------------------------------------------------------------------- sealing


def derive(secret: bytes, purpose: str, *parts: str) -> bytes:
    """HMAC-SHA256 of `parts` (JSON-encoded, so no two tuples share a message) under a key
    derived from `secret` for `purpose`: numbers drawn for one purpose say nothing about another."""
    import hashlib  # here: `gen` and `key` load this module and never seal
    import hmac

    key = hmac.new(secret, purpose.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(key, json.dumps(list(parts)).encode("utf-8"), hashlib.sha256).digest()


def seed_from(digest: bytes) -> int:
    return int.from_bytes(digest[:8], "big") % SEED_SPACE


def sealed_token(secret: bytes | None, parts: Sequence[str], taken: set[str]) -> str:
    """A token for a sealed variant, unique among `taken` (and added to it).

    With a secret it is derived from the secret and `parts`, so the secret's holder gets the
    same tokens again; without one it is fresh randomness, recorded in what nnhand writes."""
    import base64
    import secrets

    for draw in range(MAX_TOKEN_DRAWS):
        if secret is not None:
            digest = derive(secret, TOKEN_PURPOSE, *parts, str(draw))
        else:
            digest = secrets.token_bytes(32)
        token = base64.b32encode(digest).decode("ascii").lower()[:TOKEN_LENGTH]
        if token not in taken:
            taken.add(token)
            return token
    raise RuntimeError("no free sealed token")  # 2^50 tokens: unreachable


def seal(problem: Problem, token: str) -> Problem:
    """`problem` named by `token` in place of its seed (before a sheet is made from it, so
    that the blank cells of `layer` and `one` derive from the token, as `check` will)."""
    return replace(problem, variant=problem.variant.sealed(token))
