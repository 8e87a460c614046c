"""check's CI formats and export through the command line."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from nnhand.cli import app

runner = CliRunner()


def answers(tmp_path: Path) -> Path:
    path = tmp_path / "a.yaml"
    assert runner.invoke(app, ["gen", "four-neurons", "--seed", "2", "--answers", str(path)]).exit_code == 0
    return path


def test_gradescope_is_valid_even_when_grading_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(answers(tmp_path)), "--format", "gradescope"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["score"] == 0 and data["tests"]
    broken = runner.invoke(app, ["check", str(tmp_path / "missing.yaml"), "--format", "gradescope"])
    assert broken.exit_code == 2
    data = json.loads(broken.stdout)
    assert data["score"] == 0 and "no such file" in data["output"]


def test_classroom_base64_and_junit(tmp_path: Path) -> None:
    path = answers(tmp_path)
    result = runner.invoke(app, ["check", str(path), "--format", "classroom", "--base64"])
    decoded = json.loads(base64.b64decode(result.stdout.strip()))
    assert decoded["version"] == 1 and decoded["status"] == "fail" and decoded["max_score"] == 9
    junit = ET.fromstring(runner.invoke(app, ["check", str(path), "--format", "junit"]).stdout.split("\n", 1)[1])
    suite = junit.find("testsuite")
    assert suite is not None and int(suite.get("tests", 0)) == len(suite.findall("testcase")) == 9


def test_export_formats(tmp_path: Path) -> None:
    moodle = runner.invoke(app, ["export", "matmul", "--count", "3", "--format", "moodle"])
    assert moodle.exit_code == 0
    root = ET.fromstring(moodle.stdout.split("\n", 1)[1])
    assert [q.get("type") for q in root.findall("question")] == ["category", "cloze", "cloze", "cloze"]
    gift = runner.invoke(app, ["export", "matmul", "--count", "2", "--format", "gift"]).stdout
    assert gift.count("::matmul@1\\#") == 16  # 2 variants x 8 cells
    assert runner.invoke(app, ["export", "matmul", "--format", "qti"]).exit_code == 2
    out = tmp_path / "qti"
    assert runner.invoke(app, ["export", "matmul", "--count", "2", "--format", "qti", "--out", str(out)]).exit_code == 0
    assert len(list(out.glob("*.xml"))) == 2
