"""The command line: every exit code, and every kind of bad input the foundation issue lists.

Bad input must give a one-paragraph message on stderr naming the file or cell and the fix,
exit code 2, no traceback, and nothing written half-way.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnhand.cli import app

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env=env)


def assert_bad_input(result, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.startswith("nnhand: error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def write_answers(tmp_path: Path, template: str = "hidden-layer", seed: int = 7, blanks: str = "all") -> Path:
    path = tmp_path / "answers.yaml"
    result = run("gen", template, "--seed", str(seed), "--blanks", blanks, "--answers", str(path))
    assert result.exit_code == 0, result.stderr
    return path


def fill_with_key(path: Path, template: str, seed: int, change: dict[str, object] | None = None) -> None:
    """Fill an answer file with the key (optionally changing some answers)."""
    key = yaml.safe_load(run("key", template, "--seed", str(seed), "--format", "yaml").stdout)
    data = yaml.safe_load(path.read_text())
    for name in data["answers"]:
        data["answers"][name] = key["answers"][name]
    data["answers"].update(change or {})
    path.write_text(yaml.safe_dump(data))


# ----------------------------------------------------------------------------- success paths


def test_version_and_module_entry_point() -> None:
    from nnhand import __version__

    assert run("--version").stdout.strip() == f"nnhand {__version__}"
    proc = subprocess.run([sys.executable, "-m", "nnhand", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"nnhand {__version__}"


def test_list_shows_the_seven_basic_templates() -> None:
    result = run("list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    ids = {row["id"] for row in json.loads(result.stdout)["templates"]}
    assert {"matmul", "single-neuron", "four-neurons", "hidden-layer", "batch", "mlp", "backprop"} <= ids
    table = run("list").stdout
    assert "hidden-layer" in table and "Hidden layer" in table


def test_list_groups_the_templates_under_their_topics_in_course_order() -> None:
    from nnhand.choices import TOPICS

    # Each template's topic read straight from its YAML file, not through nnhand.
    problems = Path(__file__).resolve().parent.parent / "problems"
    topic_of = {p.stem: yaml.safe_load(p.read_text()).get("topic", "other") for p in problems.glob("*.yaml")}
    table = run("list", env={"COLUMNS": "200"}).stdout
    headings = {heading: topic for topic, heading in TOPICS.items()}
    seen: list[str] = []
    under: dict[str, str] = {}
    for line in map(str.rstrip, table.splitlines()):
        if line in headings:
            seen.append(headings[line])
        elif line.startswith("  ") and line.split()[0] in topic_of:
            under[line.split()[0]] = seen[-1]
    assert under == topic_of
    assert seen == [t for t in TOPICS if t in set(topic_of.values())]  # each once, in TOPICS order
    listed = json.loads(run("list", "--format", "json").stdout)["templates"]
    assert [row["topic"] for row in listed] == sorted((row["topic"] for row in listed), key=list(TOPICS).index)


def test_gen_prints_variant_steps_and_blanks() -> None:
    result = run("gen", "hidden-layer", "--seed", "7")
    assert result.exit_code == 0, result.stderr
    assert "hidden-layer@2#7" in result.stdout
    assert "h = ReLU(z1)" in result.stdout and "z2 = W2·h + b2" in result.stdout
    assert "___" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: clean text


def test_gen_without_seed_prints_the_fresh_seed() -> None:
    result = run("gen", "matmul")
    assert result.exit_code == 0
    seed = result.stderr.split("fresh seed ")[1].split(":")[0]
    assert f"matmul@3#{seed}" in result.stdout
    again = run("gen", "matmul", "--seed", seed)
    assert again.stdout == result.stdout


def test_gen_params_change_sizes_and_the_variant_id() -> None:
    result = run("gen", "matmul", "--seed", "3", "--param", "m=2", "--param", "n=3", "--format", "json")
    data = json.loads(result.stdout)
    assert data["variant"] == "matmul@3#3,m=2,n=3"
    assert len(data["givens"]["A"]) == 2 and len(data["givens"]["B"][0]) == 3
    assert_bad_input(run("gen", "matmul", "--param", "m=99"), "--param", "m=99", "1 to 8")
    assert_bad_input(run("gen", "matmul", "--param", "zz=2"), "no param 'zz'")
    assert_bad_input(run("gen", "matmul", "--param", "m"), "name=value")


def test_check_exit_codes_right_wrong_missing(tmp_path: Path) -> None:
    path = write_answers(tmp_path, "hidden-layer", 7)
    missing = run("check", str(path))
    assert missing.exit_code == 1 and "Score: 0/13" in missing.stdout
    fill_with_key(path, "hidden-layer", 7)
    right = run("check", str(path))
    assert right.exit_code == 0, right.stdout + right.stderr
    assert "Score: 13/13" in right.stdout
    key = yaml.safe_load(run("key", "hidden-layer", "--seed", "7", "--format", "yaml").stdout)
    wrong_y = [key["answers"]["y"][0] + 1, key["answers"]["y"][1]]
    fill_with_key(path, "hidden-layer", 7, {"y": wrong_y})
    wrong = run("check", str(path))
    assert wrong.exit_code == 1
    assert "Score: 12/13" in wrong.stdout and "✗ y[1]" in wrong.stdout
    report = json.loads(run("check", str(path), "--format", "json").stdout)
    assert report["score"] == 12 and report["max_score"] == 13
    hidden = json.loads(run("check", str(path), "--format", "json", "--no-reveal").stdout)
    cell = next(c for s in hidden["steps"] for c in s["cells"] if c["status"] == "wrong")
    assert "expected" not in cell


def test_check_accepts_within_declared_rounding_only(tmp_path: Path) -> None:
    """backprop gradients are exact tenths: 0.3 is right, 0.31 is wrong."""
    path = write_answers(tmp_path, "backprop", 3)
    fill_with_key(path, "backprop", 3)
    assert run("check", str(path)).exit_code == 0
    data = yaml.safe_load(path.read_text())
    data["answers"]["dz3"][0] = data["answers"]["dz3"][0] + 0.01
    path.write_text(yaml.safe_dump(data))
    result = run("check", str(path))
    assert result.exit_code == 1 and "dz3[1]" in result.stdout


def test_key_formats_and_givens(tmp_path: Path) -> None:
    as_yaml = yaml.safe_load(run("key", "backprop", "--seed", "7", "--format", "yaml").stdout)
    as_json = json.loads(run("key", "backprop", "--seed", "7", "--format", "json").stdout)
    assert as_yaml == as_json
    assert set(as_yaml) >= {"template", "variant", "givens", "answers"}
    assert as_yaml["variant"] == "backprop@3#7"
    assert len(as_yaml["answers"]["dW1"]) == 4 and len(as_yaml["answers"]["dW1"][0]) == 3
    table = run("key", "backprop", "--seed", "7")
    assert table.exit_code == 0 and "ANSWER KEY" in table.stdout and "___" not in table.stdout
    givens = tmp_path / "mine.yaml"
    givens.write_text("w: [1, -1, 1]\nx: [2, 1, 3]\nb: -5\n")
    mine = yaml.safe_load(run("key", "single-neuron", "--givens", str(givens), "--format", "yaml").stdout)
    assert mine["answers"] == {"z": -1, "a": 0}
    assert mine["variant"].startswith("single-neuron@") and "#givens-" in mine["variant"]
    as_json_file = tmp_path / "mine.json"
    as_json_file.write_text(json.dumps({"w": [1, -1, 1], "x": [2, 1, 3], "b": -5}))
    again = yaml.safe_load(run("key", "single-neuron", "--givens", str(as_json_file), "--format", "yaml").stdout)
    assert again["variant"] == mine["variant"]


def test_givens_variant_round_trip_and_tamper_detection(tmp_path: Path) -> None:
    givens = tmp_path / "mine.yaml"
    givens.write_text("w: [1, -1, 1]\nx: [2, 1, 3]\nb: -5\n")
    key = yaml.safe_load(run("key", "single-neuron", "--givens", str(givens), "--format", "yaml").stdout)
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        yaml.safe_dump({"variant": key["variant"], "givens": key["givens"], "answers": {"z": -1, "a": 0}})
    )
    assert run("check", str(answers)).exit_code == 0
    key["givens"]["b"] = -4
    answers.write_text(
        yaml.safe_dump({"variant": key["variant"], "givens": key["givens"], "answers": {"z": 0, "a": 0}})
    )
    assert_bad_input(run("check", str(answers)), "do not match the digest")


# ----------------------------------------------------------------------------- bad input


def test_unknown_template_suggests_the_closest() -> None:
    assert_bad_input(run("gen", "hiden-layer"), "unknown template 'hiden-layer'", "hidden-layer")
    assert_bad_input(run("key", "no-such-template"), "unknown template")


def make_template(tmp_path: Path, body: str, name: str = "mine") -> Path:
    folder = tmp_path / "problems"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(body)
    return folder


GOOD = """\
id: mine
version: 1
title: Mine
givens:
  W: {shape: [2, 2], dist: weights}
  x: {shape: [2], dist: inputs}
steps:
  - {name: z, expr: "W @ x"}
"""


def test_instructor_templates_from_problems_dir_and_env(tmp_path: Path) -> None:
    folder = make_template(tmp_path, GOOD)
    result = run("gen", "mine", "--seed", "1", "--problems-dir", str(folder))
    assert result.exit_code == 0, result.stderr
    assert "mine@1#1" in result.stdout
    result = run("gen", "mine", "--seed", "1", env={"NNHAND_PROBLEMS": str(folder)})
    assert result.exit_code == 0, result.stderr
    assert "mine" in run("list", "--problems-dir", str(folder)).stdout
    assert_bad_input(run("list", "--problems-dir", str(tmp_path / "nope")), "no such folder")


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("id: mine\nversion: 1\ntitle: [unclosed\n", ["mine.yaml:", "not valid YAML"]),
        (GOOD.replace("version: 1", "version: one"), ["version", "whole number"]),
        (GOOD.replace("title: Mine", "title: Mine\ncolour: red"), ["colour", "unknown key"]),
        (GOOD.replace("dist: inputs", "dist: gaussian"), ["givens.x.dist", "unknown distribution"]),
        (GOOD.replace("id: mine", "id: other"), ["differs from the file name"]),
        (GOOD.replace('steps:\n  - {name: z, expr: "W @ x"}\n', "steps: []\n"), ["steps"]),
        (GOOD.replace('"W @ x"', '"W @ y"'), ["steps.z.expr", "unknown name 'y'"]),
        (GOOD.replace('"W @ x"', '"x @ W"'), ["steps.z.expr", "cannot multiply"]),
        (GOOD.replace('"W @ x"', "\"__import__('os')\""), ["steps.z.expr", "__import__"]),
        (GOOD.replace('"W @ x"', '"W.__class__"'), ["steps.z.expr", "attribute"]),
        (GOOD.replace('"W @ x"', '"x.shape"'), ["steps.z.expr", "attribute"]),
        (GOOD.replace('"W @ x"', '"open(x)"'), ["steps.z.expr", "not a registered op"]),
        (GOOD.replace('"W @ x"', '"9**9**9"'), ["steps.z.expr", "power"]),
        (GOOD.replace('"W @ x"', '"x ** 99"'), ["steps.z.expr", "too large"]),
        (GOOD.replace('"W @ x"', '"[c for c in x]"'), ["steps.z.expr", "comprehensions"]),
        (GOOD.replace('"W @ x"', '"lambda: 1"'), ["steps.z.expr", "lambda"]),
        (GOOD.replace('"W @ x"', '"relu(x, x)"'), ["relu() takes 1"]),
        (GOOD.replace('"W @ x"', '"x / 3"'), ["steps.z", "round"]),
        (GOOD + "constraints:\n  - expr: all(z > 1000)\n    why: impossible\n", ["no instance", "impossible"]),
    ],
)
def test_bad_templates(tmp_path: Path, body: str, fragments: list[str]) -> None:
    folder = make_template(tmp_path, body)
    assert_bad_input(run("gen", "mine", "--seed", "1", "--problems-dir", str(folder)), *fragments)


def test_bad_givens_files(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    cases = {
        "w: [1, -1, 1]\nx: [2, 1, 3]\nb: -5\nq: 1\n": "unknown given 'q'",
        "w: [1, -1, 1]\nb: -5\n": "missing given 'x'",  # (b may be left out: a neuron without a bias)
        "w: [1, -1]\nx: [2, 1, 3]\nb: -5\n": "w",
        "w: [1, -1, one]\nx: [2, 1, 3]\nb: -5\n": "w[3]",
        "w: [1, -1, 1]\nx: [2, 1, 3]\nb: [[1, 2]]\n": "b",
        "- 1\n- 2\n": "mapping",
        "w: [1, -1, 1\n": "YAML",
    }
    for text, fragment in cases.items():
        path.write_text(text)
        assert_bad_input(run("key", "single-neuron", "--givens", str(path)), str(path), fragment)
    assert_bad_input(run("key", "single-neuron", "--givens", str(tmp_path / "none.yaml")), "no such file")


def test_bad_answer_files(tmp_path: Path) -> None:
    good = write_answers(tmp_path, "hidden-layer", 7)
    text = good.read_text()
    cases: dict[str, tuple[bytes | str, str]] = {
        "not-yaml": ("variant: [unclosed\n", "not valid YAML"),
        "list": ("- 1\n- 2\n", "not an nnhand answer file"),
        "no-variant": ("answers: {}\n", "no 'variant'"),
        "bad-variant": ("variant: nonsense\n", "not a variant id"),
        "other-template": (text.replace("hidden-layer@2#7", "matmul@3#7"), "givens"),
        "other-version": (text.replace("hidden-layer@2#7", "hidden-layer@9#7"), "hidden-layer@9"),
        "unknown-template": (text.replace("hidden-layer@2#7", "nosuch@1#7"), "unknown template"),
        "changed-givens": (text.replace("x: [", "x: [9, ", 1).replace(", ", ",", 0), "x"),
        "aliases": ("variant: &v hidden-layer@2#7\nother: *v\n", "anchor or alias"),
        "binary": (b"\x00\x01\x02variant", "binary"),
        "bad-blanks": (text.replace("blanks: all", "blanks: most"), "blanks: most"),
    }
    for name, (content, fragment) in cases.items():
        path = tmp_path / f"{name}.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        assert_bad_input(run("check", str(path)), str(path), fragment)
    # Cells, not files (issue 9): these are graded, the cell or step named (exit 1).
    graded = {
        "wrong-shape": (text.replace("  z1: [null, null, null, null]", "  z1: [1, 2]"), "z1: cannot be read"),
        "non-numeric": (text.replace("  z1: [null, null, null, null]", "  z1: [1, abc, 2, 3]"), "z1[2]"),
        "unknown-answer": (text + "  zz: 1\n", "'zz' is not asked"),
    }
    for name, (content, fragment) in graded.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(content)
        result = run("check", str(path))
        assert result.exit_code == 1 and fragment in result.stdout, (name, result.stdout, result.stderr)
    huge = tmp_path / "huge.yaml"
    huge.write_text("variant: x\n" + "#" * 1_100_000)
    assert_bad_input(run("check", str(huge)), "1 MB limit")
    assert_bad_input(run("check", str(tmp_path / "absent.yaml")), "no such file")
    assert_bad_input(run("check", str(tmp_path)), "folder")


def test_changed_givens_refused_unless_trusted(tmp_path: Path) -> None:
    path = write_answers(tmp_path, "single-neuron", 4)
    data = yaml.safe_load(path.read_text())
    data["givens"]["b"] = data["givens"]["b"] + 1
    path.write_text(yaml.safe_dump(data))
    assert_bad_input(run("check", str(path)), "givens differ", "--trust-givens")
    trusted = run("check", str(path), "--trust-givens")
    assert trusted.exit_code == 1  # graded (blank answers: missing), not refused


def test_unwritable_answers_path_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "a.yaml"
    result = run("gen", "matmul", "--seed", "1", "--answers", str(target))
    assert_bad_input(result, "does not exist")
    assert result.stdout == "" and not target.exists()
    if os.geteuid() != 0:  # root can write anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        assert_bad_input(run("gen", "matmul", "--answers", str(locked / "a.yaml")), "cannot write")
    assert_bad_input(run("gen", "matmul", "--answers", str(tmp_path)), "folder")
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_exit_2() -> None:
    assert run("gen").exit_code == 2
    assert run("gen", "matmul", "--blanks", "most").exit_code == 2
    assert run("gen", "matmul", "--seed", "-3").exit_code == 2
    assert run("frobnicate").exit_code == 2
    assert_bad_input(run("key", "matmul", "--seed", "1", "--givens", "x.yaml"), "exclude")


@pytest.mark.parametrize(
    ("args", "fragments", "command"),
    [
        (["gen", "matmul", "--seeds", "3"], ["no such option: --seeds", "--seed"], "nnhand gen"),
        (["gen"], ["missing argument 'TEMPLATE'"], "nnhand gen"),
        (["key", "matmul", "--format", "pdf"], ["'--format'", "'pdf' is not one of", "'yaml'"], "nnhand key"),
        (["check", "a.yaml", "--scoring", "most"], ["'--scoring'", "'most'"], "nnhand check"),
        (["worksheet", "matmul", "--count", "many"], ["'--count'", "'many' is not a valid int"], "nnhand worksheet"),
        (["export", "matmul", "--count", "0"], ["'--count'", "0"], "nnhand export"),
        (["grade", "manifest.json"], ["missing argument 'FOLDER'"], "nnhand grade"),
        (["completion", "tcsh"], ["'tcsh' is not one of"], "nnhand completion"),
        (["frobnicate"], ["no such command 'frobnicate'"], "nnhand"),
    ],
)
def test_click_usage_errors_speak_in_nnhands_style(args: list[str], fragments: list[str], command: str) -> None:
    """One error style: click's own usage errors are `nnhand: error: ...` plus where to read the
    options, exit 2, with none of click's `Usage: ... Error:` block."""
    result = run(*args)
    assert_bad_input(result, *fragments)
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"Try '{command} --help'.", result.stderr
    assert "Usage:" not in result.stderr and "Error:" not in result.stderr


def test_usage_errors_of_the_installed_command_and_what_still_works() -> None:
    """Through the real entry point (not the test runner): usage errors in nnhand's style, and
    --help, --version, bare `nnhand` and a command's own exit code as before."""

    def nnhand(*args: str) -> subprocess.CompletedProcess[str]:
        code = "from nnhand.cli import run; run()"
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)

    bad = nnhand("gen", "matmul", "--blanks", "most")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("nnhand: error: invalid value for '--blanks'"), bad.stderr
    assert bad.stderr.endswith("Try 'nnhand gen --help'.\n") and "Traceback" not in bad.stderr
    helped = nnhand("gen", "--help")
    assert helped.returncode == 0 and "Usage: nnhand gen" in helped.stdout and helped.stderr == ""
    assert nnhand("--version").stdout.startswith("nnhand ")
    bare = nnhand()
    assert bare.returncode == 2 and "Commands:" in bare.stderr  # the help, as before, exit 2
    assert nnhand("check", "no-such.yaml").returncode == 2
    assert nnhand("gen", "matmul", "--seed", "1").returncode == 0


# ----------------------------------------------------------------------------- -q, -o, refusals


def run_nnhand(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """nnhand in a subprocess, stdout a pipe: the bytes a user's `> FILE` gets."""
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "nnhand", *args], cwd=cwd, capture_output=True, env=env, timeout=120)


def test_quiet_leaves_only_the_output_and_errors(tmp_path: Path) -> None:
    noted = run("gen", "single-neuron", "--answers", str(tmp_path / "a.yaml"))
    assert noted.exit_code == 0 and "fresh seed" in noted.stderr and "answer file written" in noted.stderr
    seed = noted.stderr.split("fresh seed ", 1)[1].split(":")[0]
    quiet = run("gen", "single-neuron", "--seed", seed, "-q", "--answers", str(tmp_path / "b.yaml"))
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert quiet.stdout == noted.stdout  # the same sheet: only the notes went
    assert run("key", "single-neuron", "--quiet").stderr == ""
    assert "fresh seed" in run("key", "single-neuron").stderr
    mine = tmp_path / "mine.yaml"
    mine.write_text("w: [9, 9, 9]\nx: [9, 9, 9]\nb: 9\n")  # keyed, with a realism warning
    assert "warning:" in run("key", "single-neuron", "--givens", str(mine)).stderr
    assert run("key", "single-neuron", "--givens", str(mine), "-q").stderr == ""
    assert_bad_input(run("gen", "no-such-template", "-q"), "unknown template")  # errors still shown


@pytest.mark.parametrize(
    "args",
    [
        ["gen", "hidden-layer", "--seed", "7"],
        ["gen", "backprop", "--seed", "2", "--format", "json"],
        ["key", "backprop", "--seed", "7", "--explain"],
        ["key", "transformer", "--seed", "3", "--format", "yaml"],
        ["key", "transformer", "--seed", "3", "--format", "json"],
        ["list"],
        ["list", "--params", "--format", "json"],
        ["show", "lstm"],
        ["check", "answers.yaml"],
        ["check", "answers.yaml", "--format", "junit"],
        ["check", "answers.yaml", "--format", "gradescope"],
        ["check", "answers.yaml", "--format", "classroom", "--base64"],
        ["check", "missing.yaml", "--format", "gradescope"],  # the error report a grader still needs
    ],
)
def test_output_file_holds_the_bytes_stdout_gets(tmp_path: Path, args: list[str]) -> None:
    fill_target = tmp_path / "answers.yaml"
    assert run("gen", "hidden-layer", "--seed", "7", "--answers", str(fill_target)).exit_code == 0
    fill_with_key(fill_target, "hidden-layer", 7, {"h": [[1], [0], [0], [0]]})  # some right, some wrong
    piped = run_nnhand(*args, cwd=tmp_path)
    to_file = run_nnhand(*args, "-o", "out.txt", cwd=tmp_path)
    dash = run_nnhand(*args, "--output", "-", cwd=tmp_path)
    assert piped.returncode == to_file.returncode == dash.returncode, (piped.stderr, to_file.stderr)
    if "fresh seed" not in piped.stderr.decode():
        assert to_file.stderr == piped.stderr
    assert to_file.stdout == b""
    written, piped_out, dash_out = (tmp_path / "out.txt").read_bytes(), piped.stdout, dash.stdout
    if "gradescope" in args:  # its execution_time is each run's own; all else must be the same bytes
        written, piped_out, dash_out = (
            re.sub(rb'"execution_time": [\d.e-]+', b"", b) for b in (written, piped_out, dash_out)
        )
    assert written == piped_out == dash_out
    assert piped.stdout and b"\x1b[" not in piped.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_output_to_a_missing_folder_fails_before_any_work(tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    result = run("gen", "matmul", "--answers", str(answers), "-o", str(tmp_path / "no" / "sheet.txt"))
    assert_bad_input(result, "no/sheet.txt", "does not exist")
    assert not answers.exists()  # the answer file was not written either


def test_options_that_would_be_ignored_are_refused(tmp_path: Path) -> None:
    path = write_answers(tmp_path)
    before = path.read_bytes()
    refused = [
        (["check", str(path), "--base64"], ["--base64", "--format classroom"]),
        (["check", str(path), "--base64", "--format", "gradescope"], ["--base64", "--format classroom"]),
        (["check", str(path), "--show-reading", "--format", "json"], ["--show-reading", "--format terminal"]),
        (["check", str(path), "--explain", "--format", "junit"], ["--explain", "--format json"]),
        (["check", str(path), "-o", str(path)], ["--output", "answer file"]),
        (["gen", "matmul", "--answers", str(path), "-o", str(path)], ["--output", "--answers"]),
        (["key", "matmul", "--givens", str(path), "-o", str(path)], ["--output", "--givens"]),
    ]
    for args, fragments in refused:
        result = run(*args)
        assert_bad_input(result, *fragments)
        assert result.stdout == "", args
        assert path.read_bytes() == before, args  # nothing overwritten
    # what these options are for still works
    assert run("check", str(path), "--base64", "--format", "classroom").exit_code == 1
    assert run("check", str(path), "--show-reading").exit_code == 1
    assert run("check", str(path), "--explain", "--format", "json").exit_code == 1


def test_binary_output_is_not_written_to_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from nnhand import cli
    from nnhand.errors import UsageError

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    with pytest.raises(UsageError, match="-o FILE"):
        cli._write(b"%PDF-1.7")


UMASK_PROBE = """
import os, subprocess, sys
os.umask(int(sys.argv[1], 8))
from nnhand.cli import run
sys.argv = ["nnhand", *sys.argv[2:]]
run()
"""


@pytest.mark.parametrize(("umask", "folder", "file"), [("027", 0o750, 0o640), ("002", 0o775, 0o664)])
def test_outputs_follow_the_users_umask(tmp_path: Path, umask: str, folder: int, file: int) -> None:
    def nnhand(*args: str, exit_code: int = 0) -> None:
        env = {**os.environ, "NNHAND_SECRET": "s"}
        proc = subprocess.run([sys.executable, "-c", UMASK_PROBE, umask, *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == exit_code, proc.stderr

    def mode(path: Path) -> int:
        return path.stat().st_mode & 0o777

    nnhand("worksheet", "matmul", "--count", "2", "--out", "w")
    made = [tmp_path / "w", *(tmp_path / "w").rglob("*")]
    assert {mode(p) for p in made if p.is_dir()} == {folder}
    assert {mode(p) for p in made if p.is_file()} == {file}
    nnhand("gen", "matmul", "--seed", "1", "--answers", "a.yaml", "-o", "sheet.txt")
    nnhand("grade", "w/manifest.json", "w/students", "--csv", "grades.csv", "--json", "grades.json", exit_code=1)
    for name in ("a.yaml", "sheet.txt", "grades.csv", "grades.json"):
        assert mode(tmp_path / name) == file, name
    (tmp_path / "sheet.txt").chmod(0o600)  # a file you made private stays so when replaced
    nnhand("gen", "matmul", "--seed", "2", "-o", "sheet.txt")
    assert mode(tmp_path / "sheet.txt") == 0o600


def test_every_help_shows_examples_of_real_options() -> None:
    """Each --help ends with examples (tests/test_readme.py runs them); here: each option
    they use is one the command has."""
    from typer.main import get_command

    from nnhand.cli import EXAMPLES

    commands = get_command(app).commands  # type: ignore[attr-defined]
    assert set(commands) <= set(EXAMPLES) | {name for name, command in commands.items() if command.epilog}
    for name in commands:
        shown = run(name, "--help").stdout.split("Examples:\n", 1)
        assert len(shown) == 2 and "nnhand " + name in shown[1], name
        for line in filter(None, (line.split("#")[0].split() for line in shown[1].splitlines())):
            at = next(i for i, word in enumerate(line) if word.endswith("nnhand"))  # `source <(nnhand ...)` too
            command = commands[line[at + 1].rstrip(")")]  # the command the line runs
            options = {opt for param in command.params for opt in param.opts + param.secondary_opts}
            used = {word.split("=")[0] for word in line if word.startswith("-") and word != "-"}
            assert used <= options, (name, line, used - options)


# ----------------------------------------------------------------------------- output faults


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["gen", "hidden-layer", "--seed", "3"], ["list"], ["key", "backprop", "--seed", "7"]])
def test_a_full_stdout_is_an_output_error_not_a_crash(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "nnhand", *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60
        )
    assert result.returncode == 2, result.stderr
    assert "standard output: cannot write" in result.stderr and "Traceback" not in result.stderr


def test_practice_with_stdout_closed_says_so() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nnhand", "practice", "single-neuron", "--seed", "3"],
        input="q\n", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "needs standard input and output" in result.stderr


def test_a_param_with_thousands_of_digits_is_out_of_range() -> None:
    result = runner.invoke(app, ["gen", "matmul", "--param", "m=" + "9" * 5000])
    assert result.exit_code == 2, result.output
    assert "--param" in result.stderr and "out of range" in result.stderr


# ----------------------------------------------------------------------------- the library behind the commands


def test_parse_params_is_library_policy() -> None:
    from nnhand.api import parse_params
    from nnhand.errors import UsageError

    assert parse_params(["n_hidden=5", " k = 2"]) == {"n_hidden": 5, "k": 2}
    assert parse_params(["act=sigmoid"]) == {"act": "sigmoid"}  # a choice param's word: the template checks it
    for bad, fragment in (("n_hidden", "is not name=value"), ("=3", "is not name=value"), ("k=x-1", "not name=value"),
                          ("k=2.5", "not name=value"), ("k=" + "9" * 50, "far out of range")):  # fmt: skip
        with pytest.raises(UsageError, match=fragment):
            parse_params([bad])


def test_solve_key_refuses_givens_with_a_seed(tmp_path: Path) -> None:
    from nnhand.api import solve_key
    from nnhand.errors import UsageError

    with pytest.raises(UsageError, match="--givens and --seed exclude each other"):
        solve_key("matmul", 3, None, tmp_path / "g.yaml")


def test_api_check_explains_wrong_cells_only(tmp_path: Path) -> None:
    from nnhand import api

    path = write_answers(tmp_path, "hidden-layer", 7)
    fill_with_key(path, "hidden-layer", 7)
    data = yaml.safe_load(path.read_text())
    first = data["answers"]["z1"]
    first[0] = first[0] + 100 if isinstance(first[0], int) else 100
    path.write_text(yaml.safe_dump(data))
    checked = api.check(path, explain=True)
    wrong = {(s.name, c.cell) for s in checked.report.steps for c in s.cells if c.status == "wrong"}
    assert wrong == {("z1", "z1[1]")}
    assert set(checked.worked) == {"z1"} and set(checked.worked["z1"]) == {"z1[1]"}
    assert checked.worked["z1"]["z1[1]"].startswith("z1[1] = ")
    assert api.check(path).worked == {}
