"""Every machine-readable output against a published or documented schema.

- JUnit XML (check --format junit, grade --junit) against the Jenkins junit XSD that the
  xunit plugin validates with (tests/schemas/junit-10.xsd, see tests/schemas/README.md);
- every JSON output of nnhand's own (list, show, gen, key, check, and check's error
  document) against its JSON Schema in nnhand/schemas/ (the files the README points to),
  and none of them writes a number as a string.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
import yaml
from referencing import Registry, Resource
from typer.testing import CliRunner

from nnhand.cli import app
from nnhand.core.keys import key_data
from nnhand.resources import template_files

from .test_classroom import answers_for, make_class

SCHEMAS = Path(__file__).resolve().parent.parent / "nnhand" / "schemas"
XSD = Path(__file__).resolve().parent / "schemas"
TEMPLATES = sorted(template_files())
runner = CliRunner()
# A JSON number written as text: what no nnhand output may contain ("4", "-0.5", "1e-3").
NUMBER_TEXT = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")


# ----------------------------------------------------------------------------- JUnit


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD / "junit-10.xsd"), allow="local")


def junit_errors(schema: xmlschema.XMLSchema, text: str) -> list[str]:
    return [str(e.reason or e) for e in schema.iter_errors(text, use_location_hints=False)]


def test_a_class_report_validates_and_keeps_students_apart(tmp_path: Path, junit_schema: xmlschema.XMLSchema) -> None:
    manifest, batch = make_class(tmp_path)
    subs = tmp_path / "subs"
    subs.mkdir()
    for sid in ("alice", "bob", "carol", "dan"):
        for template in ("hidden-layer", "backprop"):
            data = answers_for(batch, sid, template)
            if sid == "bob" and template == "hidden-layer":
                data["answers"]["y"][0] += 1  # one wrong cell
            (subs / f"{sid}-{template}.yaml").write_text(yaml.safe_dump(data))
    (subs / "erin-backprop.yaml").write_text("variant: [unclosed\n")  # not gradable: an <error>
    for per in ("cell", "step"):
        out = tmp_path / f"junit-{per}.xml"
        result = runner.invoke(app, ["grade", str(manifest), str(subs), "--junit", str(out), "--per", per])
        assert result.exit_code == 1, result.output
        text = out.read_text(encoding="utf-8")
        assert junit_errors(junit_schema, text) == []
        cases = ET.fromstring(text).iter("testcase")
        keys = [(c.get("classname", ""), c.get("name", "")) for c in cases]
        # Report viewers merge test cases of one classname and name: no two may share both.
        assert len(set(keys)) == len(keys), per
        by_student: dict[str, set[str]] = {}
        for classname, _ in keys:
            by_student.setdefault(classname.split(".")[0], set()).add(classname)
        assert set(by_student) == {"alice", "bob", "carol", "dan", "erin"}
        for sid in ("alice", "bob", "carol", "dan"):  # the same sheets, a class of their own each
            assert {c.split(".", 1)[1] for c in by_student[sid]} == {c.split(".", 1)[1] for c in by_student["alice"]}


def test_per_file_reports_validate(tmp_path: Path, junit_schema: xmlschema.XMLSchema) -> None:
    right = _answer_file(tmp_path / "right.yaml", "four-neurons", 2, lambda v, k: v)
    mixed = _answer_file(tmp_path / "mixed.yaml", "four-neurons", 2, _mixed)
    broken = tmp_path / "broken.yaml"
    broken.write_text("variant: [\n")
    for path, code in ((right, 0), (mixed, 1), (broken, 2), (tmp_path / "none.yaml", 2)):
        for per in ((), ("--scoring", "step")):
            result = runner.invoke(app, ["check", str(path), "--format", "junit", *per])
            assert result.exit_code == code, result.output
            assert junit_errors(junit_schema, result.stdout) == [], path.name


def test_the_xsd_rejects_what_the_issue_reported(tmp_path: Path, junit_schema: xmlschema.XMLSchema) -> None:
    """`skipped` on <testsuites> (nnhand's old output) is what the Jenkins XSD refuses."""
    path = tmp_path / "a.yaml"
    assert runner.invoke(app, ["gen", "matmul", "--seed", "1", "--answers", str(path)]).exit_code == 0
    text = runner.invoke(app, ["check", str(path), "--format", "junit"]).stdout
    assert junit_errors(junit_schema, text) == []
    assert junit_errors(junit_schema, text.replace("<testsuites ", '<testsuites skipped="0" ', 1))


# ----------------------------------------------------------------------------- JSON


@pytest.fixture(scope="module")
def registry() -> Registry:
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def validate(registry: Registry, name: str, document: Any) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert problems == [], problems[:5]
    assert document["schema"] == f"nnhand-{name}" and document["schema_version"] == 1
    assert not list(numbers_as_text(document)), list(numbers_as_text(document))[:5]


def numbers_as_text(value: Any, where: str = "") -> Iterator[str]:
    """Every place in a JSON document where a string holds a number."""
    if isinstance(value, str):
        if NUMBER_TEXT.match(value):
            yield f"{where} = {value!r}"
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from numbers_as_text(v, f"{where}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from numbers_as_text(v, f"{where}/{i}")


def run_json(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_the_number_check_finds_numbers_written_as_text() -> None:
    assert list(numbers_as_text({"a": [1, "x", {"b": "4"}], "c": "-0.5", "d": "2/3", "e": "1e-3"})) == [
        "/a/2/b = '4'",
        "/c = '-0.5'",
        "/e = '1e-3'",
    ]


def test_list_and_show(registry: Registry) -> None:
    validate(registry, "catalogue", run_json("list", "--format", "json"))
    listed = run_json("list", "--params", "--format", "json")
    validate(registry, "catalogue", listed)
    assert sorted(t["id"] for t in listed["templates"]) == sorted(TEMPLATES)
    for template in TEMPLATES:
        shown = run_json("show", template, "--format", "json")
        validate(registry, "catalogue", shown)
        assert shown["templates"] == [t for t in listed["templates"] if t["id"] == template]


@pytest.mark.parametrize("template", TEMPLATES)
def test_gen_and_key(registry: Registry, template: str) -> None:
    for blanks in ("all", "one"):
        validate(registry, "answers", run_json("gen", template, "--seed", "1", "--blanks", blanks, "--format", "json"))
    key = run_json("key", template, "--seed", "1", "--format", "json", "--explain")
    validate(registry, "key", key)
    plain = run_json("key", template, "--seed", "1", "--format", "json")
    validate(registry, "key", plain)
    assert {k: v for k, v in key.items() if k != "worked"} == plain


def test_gen_json_is_an_answer_file_check_reads(tmp_path: Path, registry: Registry) -> None:
    sheet = run_json("gen", "hidden-layer", "--seed", "7", "--format", "json")
    key = run_json("key", "hidden-layer", "--seed", "7", "--format", "json")
    sheet["answers"] = {name: key["answers"][name] for name in sheet["answers"]}
    path = tmp_path / "filled.json"
    path.write_text(json.dumps(sheet))
    report = run_json("check", str(path), "--format", "json")
    validate(registry, "report", report)
    assert report["score"] == report["max_score"] > 0


def _answer_file(path: Path, template: str, seed: int, fill: Any) -> Path:
    """An answer file of `template` with every blank filled by fill(key value, k), k counting cells."""
    from nnhand import api
    from nnhand.grading.answers import answer_file_data

    sheet = api.generate(template, seed, blanks="all")
    data = answer_file_data(sheet)
    key = key_data(sheet.problem)["answers"]
    counter = iter(range(10**6))

    def filled(value: Any) -> Any:
        return [filled(v) for v in value] if isinstance(value, list) else fill(value, next(counter))

    data["answers"] = {name: filled(key[name]) for name in data["answers"]}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _mixed(value: Any, k: int) -> Any:
    """Right, wrong, blank, a fraction and text that cannot be read, in turn."""
    return [value, 99, None, "2/3", "abc"][k % 5]


CHECKED = [("four-neurons", 2), ("bce-loss", 1), ("self-attention", 1), ("backprop", 7)]


@pytest.mark.parametrize(("template", "seed"), CHECKED)
def test_check_reports(tmp_path: Path, registry: Registry, template: str, seed: int) -> None:
    right = _answer_file(tmp_path / "right.yaml", template, seed, lambda v, k: v)
    report = run_json("check", str(right), "--format", "json")
    validate(registry, "report", report)
    assert report["score"] == report["max_score"] > 0
    mixed = _answer_file(tmp_path / "mixed.yaml", template, seed, _mixed)
    for options in ((), ("--no-reveal",), ("--explain",), ("--scoring", "step"), ("--scoring", "weighted")):
        report = run_json("check", str(mixed), "--format", "json", *options, code=1)
        validate(registry, "report", report)
        statuses = {c["status"] for s in report["steps"] for c in s["cells"]}
        assert {"wrong", "missing", "unreadable"} <= statuses


def test_check_json_numbers_are_the_keys(tmp_path: Path) -> None:
    """`expected` is the key's number (key --format json); `given` what was written, read as a number."""
    path = _answer_file(tmp_path / "mixed.yaml", "bce-loss", 1, _mixed)
    report = run_json("check", str(path), "--format", "json", code=1)
    key = run_json("key", "bce-loss", "--seed", "1", "--format", "json")["answers"]
    cells = [(step["name"], cell) for step in report["steps"] for cell in step["cells"]]
    for k, (name, cell) in enumerate(cells):  # in the order _answer_file filled them
        value = key[name]
        for index in re.findall(r"\d+", cell["cell"][len(name) :]):  # z[2] / W[1,3]: 1-based
            value = value[int(index) - 1]
        assert cell["expected"] == value and isinstance(cell["expected"], (int, float)), cell
        wrote = _mixed("key", k)
        if wrote == "key":
            assert cell["given"] == value and cell["status"] == "right"
        elif wrote == 99:
            assert cell["given"] == 99
        elif wrote == "2/3":
            assert cell["given"] == 2 / 3 and cell["given_exact"] == "2/3"
        else:
            assert cell["given"] is None and cell["status"] == ("missing" if wrote is None else "unreadable")
            assert wrote is None or cell["written"] == wrote
        assert cell["accepted"]["low"] <= cell["expected"] <= cell["accepted"]["high"]


def test_check_errors(tmp_path: Path, registry: Registry) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("variant: [\n")
    changed = tmp_path / "changed.yaml"
    assert runner.invoke(app, ["gen", "four-neurons", "--seed", "2", "--answers", str(changed)]).exit_code == 0
    changed.write_text(changed.read_text().replace("b: [0, 2, 0, 0]", "b: [0, 2, 0, 9]"))
    for path in (tmp_path / "none.yaml", broken, changed):
        result = runner.invoke(app, ["check", str(path), "--format", "json"])
        assert result.exit_code == 2, result.output
        document = json.loads(result.stdout)
        validate(registry, "error", document)
        assert document["source"] == str(path) and document["error"] in result.stderr
