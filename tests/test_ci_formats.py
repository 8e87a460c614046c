"""Gradescope, GitHub Classroom and JUnit output, checked against the shapes FORMATS.md
describes: parsed back, keys and types asserted, counts recomputed from the parsed output."""

from __future__ import annotations

import base64
import dataclasses
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from nnhand import api
from nnhand.core.keys import key_data
from nnhand.grading.answers import answer_file_data
from nnhand.grading.grade import Report, grade_data
from nnhand.output.reports import (
    Ungraded,
    classroom_error,
    classroom_json,
    classroom_result,
    gradescope_error_json,
    gradescope_json,
    junit_xml,
)

STUDENT = "Ann <&\"> O'Neil"
GRADESCOPE_TOP = {"score", "output", "output_format", "visibility", "stdout_visibility", "extra_data", "tests"}
GRADESCOPE_TEST = {"name", "number", "score", "max_score", "status", "output", "tags", "visibility"}


def graded(
    template: str = "backprop",
    seed: int = 2,  # backprop@3#2: z1 = [5, 1, -3, 6], so z1[2] - 1 leaves a1[2] to carry forward
    student: str | None = STUDENT,
    scoring: str | None = None,
    perfect: bool = False,
) -> Report:
    """A real report. Unless perfect: z1[2] is wrong (the key minus 1), z1[4] is blank, a1[2]
    is carried forward from the wrong z1[2], everything else in z1..a1 right, the rest blank."""
    sheet = api.generate(template, seed)
    data = answer_file_data(sheet, student)
    key = key_data(sheet.problem)["answers"]
    if perfect:
        data["answers"] = {name: key[name] for name in data["answers"]}
    else:
        z1 = list(key["z1"])
        z1[1] -= 1
        z1[3] = None
        a1 = [max(v, 0) if v is not None else None for v in z1]
        a1[3] = key["a1"][3]
        data["answers"] = {"z1": z1, "a1": a1, "dz3": key["dz3"]}
    return grade_data(data, "answers/ann.yaml", scoring=scoring)[0]


def cells(report: Report) -> list[Any]:
    return [c for s in report.steps for c in s.cells]


def test_the_example_report_has_every_status() -> None:
    statuses = {c.cell: c.status for c in cells(graded())}
    assert statuses["z1[1]"] == "right"
    assert statuses["z1[2]"] == "wrong"
    assert statuses["z1[4]"] == "missing"
    assert statuses["a1[2]"] == "ecf"


# ----------------------------------------------------------------------------- Gradescope


def test_gradescope_results_have_the_documented_shape() -> None:
    report = graded()
    data = json.loads(gradescope_json(report, execution_time=1.5))
    assert set(data) >= GRADESCOPE_TOP
    assert data["score"] == pytest.approx(report.score)
    assert data["execution_time"] == 1.5
    assert data["output_format"] == "md"
    assert data["visibility"] == "visible" and data["stdout_visibility"] == "hidden"
    assert isinstance(data["output"], str) and report.variant in data["output"]
    assert "z1" in data["output"]  # the root cause is named
    assert data["extra_data"]["template"] == "backprop"
    assert data["extra_data"]["variant"] == report.variant
    assert isinstance(data["extra_data"]["nnhand_version"], str)
    steps = [s for s in report.steps if s.cells]
    assert len(data["tests"]) == len(steps)
    for number, (test, step) in enumerate(zip(data["tests"], steps), start=1):
        assert set(test) >= GRADESCOPE_TEST
        assert test["number"] == str(number)
        assert test["name"] == step.label
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert test["tags"] == ["backprop"]
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert test["score"] == pytest.approx(step.score)
        assert test["max_score"] == pytest.approx(step.points)
        assert test["status"] == ("passed" if all(c.credited for c in step.cells) else "failed")
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(report.max_score)
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(report.score)


def test_gradescope_test_output_lists_wrong_cells_with_expected_values_and_diagnoses() -> None:
    report = graded()
    z1 = next(s for s in report.steps if s.name == "z1")
    wrong = next(c for c in z1.cells if c.status == "wrong")
    test = json.loads(gradescope_json(report))["tests"][0]
    assert wrong.cell in test["output"] and f"expected {wrong.expected}" in test["output"]
    assert "z1[4]: no answer" in test["output"]
    for sentence in z1.diagnosis:
        assert sentence in test["output"]
    hidden = json.loads(gradescope_json(report, reveal=False))["tests"][0]
    assert wrong.cell in hidden["output"] and "expected" not in hidden["output"]


def test_gradescope_score_is_the_report_score_under_every_scoring() -> None:
    for scoring in ("cell", "step", "weighted"):
        report = graded(scoring=scoring)
        data = json.loads(gradescope_json(report))
        assert data["score"] == pytest.approx(report.score)
        assert data["extra_data"]["max_score"] == pytest.approx(report.max_score)


def test_gradescope_scores_can_be_scaled_to_the_assignment_points() -> None:
    report = graded()
    data = json.loads(gradescope_json(report, scale_to=10))
    assert data["score"] == pytest.approx(report.score / report.max_score * 10, abs=1e-6)
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(10, abs=1e-4)
    assert data["extra_data"]["score"] == pytest.approx(report.score)  # the sheet's own numbers stay


def test_gradescope_refuses_an_unknown_visibility() -> None:
    with pytest.raises(ValueError, match="visibility"):
        gradescope_json(graded(), visibility="public")


@pytest.mark.parametrize("message", ["answers.yaml: 'variant' is missing", 'bad "quotes"\nand\x00 {braces} ünïcode'])
def test_the_gradescope_error_file_is_valid_with_score_zero(message: str) -> None:
    data = json.loads(gradescope_error_json(message))
    assert data["score"] == 0
    assert data["visibility"] == "visible"
    assert message.replace("\x00", "") in data["output"]  # control characters are stripped, the rest kept
    assert data["tests"] == []
    assert data["output_format"] in ("text", "md", "html", "simple_format", "ansi")


def test_the_gradescope_error_file_survives_whatever_it_is_given() -> None:
    text = gradescope_error_json("file \udcff.yaml", execution_time=float("nan"), visibility="sometimes")
    text.encode("utf-8")  # a lone surrogate (an undecodable file name) cannot break the file
    data = json.loads(text)
    assert data["score"] == 0 and data["visibility"] == "visible" and "execution_time" not in data


def test_the_gradescope_error_file_clips_a_huge_message() -> None:
    data = json.loads(gradescope_error_json("x" * 100_000))
    assert len(data["output"]) < 5000


# ----------------------------------------------------------------------------- GitHub Classroom


@pytest.mark.parametrize("scoring", ["cell", "step", "weighted"])
def test_classroom_cell_scores_sum_to_the_report_score(scoring: str) -> None:
    report = graded(scoring=scoring)
    result = classroom_result(report)
    assert result["version"] == 1
    assert result["status"] == "fail"
    assert result["max_score"] == pytest.approx(report.max_score)
    assert [t["name"] for t in result["tests"]] == [c.cell for c in cells(report)]
    for test, cell in zip(result["tests"], cells(report)):
        assert {"name", "status", "score", "message"} <= set(test)
        assert test["status"] == ("pass" if cell.credited else "fail")
        assert test["score"] >= 0
        if not cell.credited:
            assert test["score"] == 0
    assert sum(t["score"] for t in result["tests"]) == pytest.approx(report.score, abs=1e-9)


def test_classroom_cell_scoring_gives_one_point_a_right_cell() -> None:
    result = classroom_result(graded())
    scores = {t["name"]: t["score"] for t in result["tests"]}
    assert scores["z1[1]"] == 1 and scores["z1[2]"] == 0 and scores["z1[4]"] == 0 and scores["a1[2]"] == 1


def test_classroom_messages_name_the_expected_value_unless_hidden() -> None:
    report = graded()
    wrong = next(c for c in cells(report) if c.status == "wrong")
    shown = {t["name"]: t["message"] for t in classroom_result(report)["tests"]}
    hidden = {t["name"]: t["message"] for t in classroom_result(report, reveal=False)["tests"]}
    assert f"expected {wrong.expected}" in shown[wrong.cell]
    assert "expected" not in hidden[wrong.cell]


def test_classroom_json_round_trips_through_base64() -> None:
    report = graded()
    encoded = classroom_json(report, True)
    assert encoded.isascii() and "\n" not in encoded
    assert json.loads(base64.b64decode(encoded).decode("utf-8")) == classroom_result(report)
    assert json.loads(classroom_json(report, False)) == classroom_result(report)


def test_classroom_status_passes_when_every_cell_is_right() -> None:
    report = graded(template="matmul", seed=1, perfect=True)
    result = classroom_result(report)
    assert result["status"] == "pass"
    assert all(t["status"] == "pass" for t in result["tests"])
    assert sum(t["score"] for t in result["tests"]) == result["max_score"]


def test_classroom_error_has_status_error() -> None:
    for encode in (True, False):
        text = classroom_error("answers.yaml: not YAML", encode, max_score=8)
        data = json.loads(base64.b64decode(text) if encode else text)
        assert data["version"] == 1 and data["status"] == "error" and data["max_score"] == 8
        assert data["tests"][0]["status"] == "error" and data["tests"][0]["score"] == 0
        assert "not YAML" in data["tests"][0]["message"]


# ----------------------------------------------------------------------------- JUnit XML


def suites_of(text: str) -> list[ET.Element]:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    return root.findall("testsuite")


def assert_counts_match(text: str) -> None:
    root = ET.fromstring(text)
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        counted = {
            "tests": len(cases),
            "failures": sum(c.find("failure") is not None for c in cases),
            "errors": sum(c.find("error") is not None for c in cases),
            "skipped": sum(c.find("skipped") is not None for c in cases),
        }
        for key, value in counted.items():
            assert int(suite.get(key, "-1")) == value, key
            totals[key] += value
        assert suite.get("name") and suite.get("time") is not None
    for key, value in totals.items():
        if key == "skipped":  # the Jenkins junit XSD allows `skipped` on <testsuite> only
            assert root.get(key) is None
        else:
            assert int(root.get(key, "-1")) == value, key


def properties(suite: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in suite.findall("properties/property")}


@pytest.mark.parametrize("per", ["cell", "step"])
def test_junit_counts_properties_and_escaping(per: str) -> None:
    reports = [graded(), graded(template="matmul", seed=2, student="bob", perfect=True)]
    text = junit_xml(reports, per=per)
    assert_counts_match(text)
    suites = suites_of(text)
    assert len(suites) == 2
    props = properties(suites[0])
    assert props["nnhand.template"] == "backprop"
    assert props["nnhand.variant"] == "backprop@3#2"
    assert float(props["nnhand.score"]) == pytest.approx(reports[0].score)
    assert float(props["nnhand.max_score"]) == pytest.approx(reports[0].max_score)
    assert props["nnhand.student"] == STUDENT  # <&"> escaped on the way out, intact on the way in
    assert STUDENT in (suites[0].get("name") or "")
    expected = len(cells(reports[0])) if per == "cell" else sum(1 for s in reports[0].steps if s.cells)
    assert int(suites[0].get("tests", "0")) == expected
    assert int(suites[1].get("failures", "1")) == 0


def test_junit_failures_say_what_was_expected() -> None:
    report = graded()
    suite = suites_of(junit_xml([report], per="cell"))[0]
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {c.cell for c in cells(report)}
    wrong = next(c for c in cells(report) if c.status == "wrong")
    failure = cases[wrong.cell].find("failure")
    assert failure is not None and failure.get("type") == "WrongValue"
    assert failure.get("message") == f"expected {wrong.expected}, got {wrong.given}"
    missing = cases["z1[4]"].find("failure")
    assert missing is not None and missing.get("type") == "Missing"
    assert cases["z1[1]"].find("failure") is None
    assert cases["a1[2]"].find("failure") is None  # right from the learner's own answers
    # student.template.step: report viewers merge test cases by classname and name, so each
    # student's cases have a class of their own
    assert all(c.get("classname", "").startswith(f"{STUDENT}.backprop.") for c in cases.values())
    anonymous = suites_of(junit_xml([dataclasses.replace(report, student=None)], per="cell"))[0]
    assert all(c.get("classname", "").startswith("backprop.") for c in anonymous.findall("testcase"))


def test_junit_represents_a_file_that_could_not_be_graded() -> None:
    bad = Ungraded("answers/<eve>.yaml", "not YAML: line 3 \x01 has a tab", student="eve")
    text = junit_xml([graded(), bad], per="step")
    assert_counts_match(text)
    suite = suites_of(text)[1]
    assert suite.get("errors") == "1" and suite.get("tests") == "1"
    error = suite.find("testcase/error")
    assert error is not None and "not YAML" in (error.get("message") or "")
    assert properties(suite)["nnhand.student"] == "eve"
    assert ET.fromstring(text).get("errors") == "1"


def test_junit_uses_durations_and_refuses_an_unknown_grouping() -> None:
    report = graded()
    root = ET.fromstring(junit_xml([report], durations={report.source: 0.25}))
    assert root.get("time") == "0.250" and root.find("testsuite").get("time") == "0.250"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="per"):
        junit_xml([report], per="file")


def test_junit_of_nothing_is_still_a_document() -> None:
    root = ET.fromstring(junit_xml([]))
    assert root.get("tests") == "0" and root.findall("testsuite") == []
