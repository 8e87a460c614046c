"""Property-based: arbitrary and malformed answer files never crash `check`.

Whatever is in the file — wrong types, shapes and nesting, huge numbers, NaN, inf, empty,
binary, deep nesting, aliases — `check` exits 1 or 2 with a message, never a traceback or
an internal error, within a bounded time."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nnhand.cli import app

runner = CliRunner()
SETTINGS = settings(
    max_examples=120,
    deadline=datetime.timedelta(seconds=10),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["1/0", "−3", "1,5", "[1 2; 3 4]", "[[1,2],[3,4]]", "nan", "1e400", "2/3", "", "?", "~"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=40,
)


def base_file() -> dict[str, Any]:
    result = runner.invoke(app, ["gen", "hidden-layer", "--seed", "7", "--format", "json"])
    import json

    return dict(json.loads(result.stdout))


BASE = base_file()


def assert_handled(path: Path) -> None:
    result = runner.invoke(app, ["check", str(path)])
    output = result.stdout + result.stderr
    assert result.exit_code in (0, 1, 2), (result.exit_code, output)
    assert "Traceback" not in output and "internal error" not in output, output
    if result.exit_code == 2:
        assert result.stderr.startswith("nnhand: error: "), output


@SETTINGS
@given(where=st.sampled_from(["variant", "blanks", "givens", "answers", "z1", "h", "x", "W1", "params"]), value=values)
def test_any_value_anywhere(tmp_path_factory: Any, where: str, value: Any) -> None:
    data = {**BASE, "givens": dict(BASE["givens"]), "answers": dict(BASE["answers"])}
    if where in data["answers"]:
        data["answers"][where] = value
    elif where in data["givens"]:
        data["givens"][where] = value
    else:
        data[where] = value
    path = tmp_path_factory.mktemp("any") / "answers.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    assert_handled(path)


@SETTINGS
@given(content=st.binary(max_size=400))
def test_any_bytes(tmp_path_factory: Any, content: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "answers.yaml"
    path.write_bytes(content)
    assert_handled(path)


@SETTINGS
@given(answers=st.dictionaries(st.sampled_from(["z1", "h", "z2", "y", "params"]), values, max_size=5))
def test_any_answers(tmp_path_factory: Any, answers: dict[str, Any]) -> None:
    path = tmp_path_factory.mktemp("answers") / "answers.yaml"
    path.write_text(yaml.safe_dump({**BASE, "answers": answers}, allow_unicode=True))
    assert_handled(path)


def test_pathological_files(tmp_path: Path) -> None:
    laughs = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    cases = {
        "deep-list": "variant: " + "[" * 5000 + "]" * 5000,
        "deep-map": "variant: " + "{a: " * 3000 + "1" + "}" * 3000,
        "laughs": laughs,
        "empty": "",
        "only-comment": "# nothing\n",
        "huge-int": yaml.safe_dump({**BASE, "answers": {"z1": [10**400, 1, 2, 3]}}),
        "tabs": "variant:\thidden-layer@1#7\n\tanswers: {}\n",
        "utf16": "variant: x".encode("utf-16"),
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        assert_handled(path)
