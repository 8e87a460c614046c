"""The CLI's formats: every choice list is its registry's, every report format on both paths
(graded, and a file that cannot be graded), every exit code, and a thin CLI."""

from __future__ import annotations

import ast
import base64
import inspect
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from nnhand import choices, cli
from nnhand.cli import app
from nnhand.output.report_formats import CATALOGUE_FORMATS, GRADEBOOK_FORMATS, REPORT_FORMATS
from nnhand.output.sheets import KEY_FORMATS, POOL_FORMATS, PRINT_FORMATS, SHEET_FORMATS

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
    assert decoded["version"] == 1 and decoded["status"] == "fail" and decoded["max_score"] == 10
    junit = ET.fromstring(runner.invoke(app, ["check", str(path), "--format", "junit"]).stdout.split("\n", 1)[1])
    suite = junit.find("testsuite")
    assert suite is not None and int(suite.get("tests", 0)) == len(suite.findall("testcase")) == 10


def test_a_classroom_error_keeps_the_points_the_file_was_worth(tmp_path: Path) -> None:
    """The reporter sums max_score: an error result of 0 would drop the points missed."""
    path = answers(tmp_path)  # four-neurons@3#2: 10 blank cells, 10 points
    changed = tmp_path / "changed.yaml"
    changed.write_text(path.read_text().replace("b: [0, 2, 0, 0]", "b: [0, 2, 0, 9]"))
    broken = tmp_path / "broken.yaml"
    broken.write_text(path.read_text().replace("answers:", "answers: [", 1))  # not YAML; its variant line is
    for bad in (changed, broken):
        result = runner.invoke(app, ["check", str(bad), "--format", "classroom"])
        assert result.exit_code == 2, result.output
        data = json.loads(result.stdout)
        assert data["status"] == "error" and data["max_score"] == 10 and data["tests"][0]["score"] == 0
    nothing = runner.invoke(app, ["check", str(tmp_path / "none.yaml"), "--format", "classroom"])
    assert json.loads(nothing.stdout)["max_score"] == 0  # no file, no variant: nothing to count


def test_export_formats(tmp_path: Path) -> None:
    moodle = runner.invoke(app, ["export", "matmul", "--count", "3", "--format", "moodle"])
    assert moodle.exit_code == 0
    root = ET.fromstring(moodle.stdout.split("\n", 1)[1])
    assert [q.get("type") for q in root.findall("question")] == ["category", "cloze", "cloze", "cloze"]
    gift = runner.invoke(app, ["export", "matmul", "--count", "2", "--format", "gift"]).stdout
    assert gift.count("::matmul@3\\#") == 20  # 2 variants x 10 cells (C's 8 and its shape's 2)
    # QTI is one zip (an IMS content package, see test_qti_package.py): to a pipe, or to --out
    # FILE.zip; a folder (what --out once took) is refused, not written as a file.
    piped = runner.invoke(app, ["export", "matmul", "--count", "2", "--format", "qti"])
    assert piped.exit_code == 0 and piped.stdout_bytes.startswith(b"PK\x03\x04")
    assert runner.invoke(app, ["export", "matmul", "--format", "qti", "--out", str(tmp_path / "qti")]).exit_code == 2
    out = tmp_path / "pool.zip"
    assert runner.invoke(app, ["export", "matmul", "--count", "2", "--format", "qti", "--out", str(out)]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool.zip"]


# ----------------------------------------------------------------------------- one list per concept

CLI_COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]


def option_choices(command: str, option: str) -> tuple[str, ...]:
    """The choices the CLI offers for `option` of `command`, read off the built Click command."""
    (param,) = [p for p in CLI_COMMANDS[command].params if option in p.opts]
    return tuple(param.type.choices)


@pytest.mark.parametrize(
    ("command", "option", "registry"),
    [
        ("list", "--format", CATALOGUE_FORMATS),
        ("gen", "--format", SHEET_FORMATS),
        ("key", "--format", KEY_FORMATS),
        ("check", "--format", REPORT_FORMATS),
        ("worksheet", "--format", PRINT_FORMATS),
        ("export", "--format", POOL_FORMATS),
    ],
)
def test_every_format_choice_list_is_its_registrys(command: str, option: str, registry: object) -> None:
    assert option_choices(command, option) == registry.names()  # type: ignore[attr-defined]


def test_every_policy_choice_list_is_the_librarys() -> None:
    for command in ("gen", "key", "practice", "worksheet", "export"):
        policies = ("all", "layer", "one", "none", "inverse")
        assert option_choices(command, "--blanks") == policies == choices.BLANK_POLICIES
    for command in ("check", "grade"):
        assert option_choices(command, "--scoring") == ("cell", "step", "weighted") == choices.SCORING_MODES
    assert option_choices("grade", "--per") == ("cell", "step") == choices.JUNIT_PER


def test_the_library_checks_against_the_same_lists() -> None:
    from nnhand.core import template
    from nnhand.output import reports

    assert template.BLANK_POLICIES is choices.BLANK_POLICIES  # one list, imported, not a copy
    assert template.SCORING_MODES is choices.SCORING_MODES
    assert reports.JUNIT_PER is choices.JUNIT_PER


def test_grade_writes_one_option_per_gradebook_format() -> None:
    options = {o.lstrip("-") for p in CLI_COMMANDS["grade"].params for o in p.opts if p.metavar in ("FILE", "DIR")}
    assert options == set(GRADEBOOK_FORMATS.names()) == {"csv", "json", "junit", "feedback", "report"}


def test_every_command_terminal_not_table() -> None:
    """One name for the same thing: every command that draws for a terminal calls it `terminal`."""
    for command in ("list", "gen", "key", "check"):
        assert option_choices(command, "--format")[0] == "terminal"
    assert "table" not in KEY_FORMATS


def _command_functions() -> list[ast.FunctionDef]:
    tree = ast.parse(inspect.getsource(cli))
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if isinstance(target, ast.Attribute) and target.attr in ("command", "callback"):
                    out.append(node)
    return out


def test_no_command_is_longer_than_25_lines() -> None:
    commands = _command_functions()
    assert {c.name for c in commands} >= {"list_", "gen", "key", "check", "practice", "worksheet", "grade", "export"}
    for fn in commands:
        body = fn.body[1:] if isinstance(fn.body[0], ast.Expr) else fn.body  # the docstring is help text
        length = body[-1].end_lineno - body[0].lineno + 1  # type: ignore[operator]
        assert length <= 25, f"cli.{fn.name} has {length} lines of body"


# ----------------------------------------------------------------------------- check: every format, both paths


@pytest.mark.parametrize("fmt", REPORT_FORMATS.names())
def test_every_report_format_on_a_graded_and_an_ungradable_file(tmp_path: Path, fmt: str) -> None:
    path = answers(tmp_path)  # every cell blank: graded, exit 1
    graded = runner.invoke(app, ["check", str(path), "--format", fmt])
    assert graded.exit_code == 1, graded.output
    assert graded.stdout.strip()
    path.write_text("variant: nonsense\n")
    broken = runner.invoke(app, ["check", str(path), "--format", fmt])
    assert broken.exit_code == 2, broken.output
    assert broken.stderr.startswith("nnhand: error: ")
    if fmt == "terminal":
        assert broken.stdout == ""  # nothing but the message on stderr
    elif fmt == "json":  # a program reading stdout learns why there is no report (nnhand-error)
        data = json.loads(broken.stdout)
        assert data["schema"] == "nnhand-error" and data["exit_code"] == 2 and data["error"] in broken.stderr
    elif fmt == "gradescope":
        data = json.loads(broken.stdout)
        assert data["score"] == 0 and data["tests"] == [] and "nonsense" in data["output"]
    elif fmt == "classroom":
        data = json.loads(broken.stdout)
        assert data["status"] == "error" and data["tests"][0]["status"] == "error"
    else:
        root = ET.fromstring(broken.stdout.split("\n", 1)[1])
        assert root.get("errors") == "1" and root.find("testsuite").get("file") == str(path)  # type: ignore[union-attr]


def test_check_json_carries_worked_lines_of_wrong_cells_only(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    assert (
        runner.invoke(app, ["gen", "matmul", "--seed", "1", "--blanks", "all", "--answers", str(path)]).exit_code == 0
    )
    key = yaml.safe_load(runner.invoke(app, ["key", "matmul", "--seed", "1", "--format", "yaml"]).stdout)
    data = yaml.safe_load(path.read_text())
    step = next(iter(data["answers"]))
    answers_key = key["answers"][step]
    data["answers"][step] = answers_key
    wrong = json.loads(json.dumps(answers_key))
    first_row = wrong[0] if isinstance(wrong[0], list) else wrong
    first_row[0] = (first_row[0] if isinstance(first_row[0], int) else 0) + 1000
    data["answers"][step] = wrong
    path.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["check", str(path), "--format", "json", "--explain"])
    assert result.exit_code == 1, result.output
    cells = [c for s in json.loads(result.stdout)["steps"] for c in s["cells"]]
    worked = [c for c in cells if "worked" in c]
    assert [c["status"] for c in worked] == ["wrong"]
    assert all(c["status"] != "wrong" or "worked" in c for c in cells)
    hidden = runner.invoke(app, ["check", str(path), "--format", "json", "--explain", "--no-reveal"])
    assert all("worked" not in c for s in json.loads(hidden.stdout)["steps"] for c in s["cells"])


def test_key_terminal_is_the_default_and_table_is_refused() -> None:
    default = runner.invoke(app, ["key", "matmul", "--seed", "1"])
    named = runner.invoke(app, ["key", "matmul", "--seed", "1", "--format", "terminal"])
    assert default.exit_code == named.exit_code == 0 and default.stdout == named.stdout
    assert "ANSWER KEY" in named.stdout
    old = runner.invoke(app, ["key", "matmul", "--seed", "1", "--format", "table"])
    assert old.exit_code == 2 and "table" in old.stderr


# ----------------------------------------------------------------------------- every exit code


def test_exit_codes_ok_wrong_bad_input(tmp_path: Path) -> None:
    assert runner.invoke(app, ["list"]).exit_code == 0
    assert runner.invoke(app, ["check", str(answers(tmp_path))]).exit_code == 1
    assert runner.invoke(app, ["check", str(tmp_path / "nothing.yaml")]).exit_code == 2
    assert runner.invoke(app, ["gen", "matmul", "--param", "x"]).exit_code == 2


def test_exit_code_internal_error_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from nnhand import api

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(api, "catalogue", broken)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 3, result.output
    assert "internal error: ZeroDivisionError: boom" in result.stderr and "Traceback" not in result.stderr


def test_exit_code_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    from nnhand import api

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "catalogue", interrupted)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 130 and "interrupted" in result.stderr


def test_grade_exit_codes_follow_the_gradebook(tmp_path: Path) -> None:
    out = tmp_path / "ws"
    made = runner.invoke(app, ["worksheet", "matmul", "--count", "1", "--out", str(out), "--format", "md"])
    assert made.exit_code == 0, made.output
    subs = tmp_path / "subs"
    subs.mkdir()
    key = json.loads((out / "manifest.json").read_text())["students"][0]["exercises"][0]["key"]
    sheet = yaml_load((out / "students" / "v1" / "matmul.yaml").read_text())
    sheet["answers"] = {name: key[name] for name in sheet["answers"]}
    (subs / "v1-matmul.yaml").write_text(yaml_dump(sheet))
    right = runner.invoke(app, ["grade", str(out / "manifest.json"), str(subs)])
    assert right.exit_code == 0, right.output
    (subs / "v1-matmul.yaml").write_text(yaml_dump({**sheet, "answers": {}}))
    wrong = runner.invoke(app, ["grade", str(out / "manifest.json"), str(subs)])
    assert wrong.exit_code == 1, wrong.output
    bad = runner.invoke(app, ["grade", str(tmp_path / "nope.json"), str(subs)])
    assert bad.exit_code == 2


def yaml_load(text: str) -> dict:  # type: ignore[type-arg]
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def yaml_dump(data: object) -> str:
    return yaml.safe_dump(data)


def test_problems_dir_env_is_read_by_resources_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nnhand.resources import search_path, user_dirs

    monkeypatch.setenv("NNHAND_PROBLEMS", str(tmp_path))
    assert user_dirs([]) == []  # the variable is not turned into an option
    assert search_path(user_dirs([]))[0] == tmp_path  # but is searched, once
    assert [d for d in search_path([]) if d == tmp_path] == [tmp_path]
    param = next(p for p in CLI_COMMANDS["gen"].params if "--problems-dir" in p.opts)
    assert param.envvar is None
