"""The README is tested: its commands run, its examples are real output, its lists complete."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnhand.cli import app
from nnhand.ops.registry import OPS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})


def blocks(language: str) -> list[str]:
    """The fenced code blocks whose info string is `language` ('' for bare fences)."""
    found, current, info = [], None, ""
    for line in README.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, info = [], line[3:].strip()
            else:
                if info == language:
                    found.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return found


def test_quickstart_commands_run_with_the_exit_codes_stated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mine.yaml").write_text("w: [1, -1, 1]\nx: [2, 1, 3]\nb: -5\n")
    for block in blocks("yaml"):  # a YAML example that names its file (# matrices.yaml: ...) is that file
        if m := re.match(r"# ([\w-]+\.yaml):", block):
            Path(m.group(1)).write_text(block)
    lines = [line for block in blocks("console") for line in block.splitlines() if line.startswith("$ nnhand ")]
    assert len(lines) >= 5
    for line in lines:
        command, _, comment = line[2:].partition("#")
        expected = int(m.group(1)) if (m := re.search(r"exit (\d)", comment)) else 0
        words = shlex.split(command)
        stdin = Path(words[-1]).read_text() if len(words) > 2 and words[-2] == "<" else None
        words = words[:-2] if stdin is not None else words
        result = runner.invoke(app, words[1:], input=stdin)
        assert result.exit_code == expected, (line, result.stdout, result.stderr)


def test_example_sheet_and_answer_file_are_real_output(tmp_path: Path) -> None:
    sheet = next(b for b in blocks("") if "single-neuron@" in b and "Compute" in b)
    result = runner.invoke(app, ["gen", "single-neuron", "--seed", "1", "--answers", str(tmp_path / "a.yaml")])
    actual = "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"
    assert sheet == actual
    example = blocks("yaml")[0]
    written = "".join(
        line + "\n" for line in (tmp_path / "a.yaml").read_text().splitlines() if not line.startswith("#")
    )
    assert example == written


def test_every_op_is_documented() -> None:
    ops_paragraph = README.split("Ops: ", 1)[1].split("\n\n", 1)[0]
    missing = [name for name in OPS if f"`{name}" not in ops_paragraph]
    assert not missing, f"README does not list the ops {missing}"


def test_set_up_lines_and_ci_run_the_same_test_line() -> None:
    install_line = next(line for line in README.splitlines() if line.startswith("pip install . && nnhand gen"))
    assert install_line
    test_line = next(line for line in README.splitlines() if re.match(r"pip install .*&&.*pytest", line))
    assert test_line in (ROOT / ".ci" / "run").read_text()


def test_every_builtin_template_is_in_the_catalogue_table() -> None:
    from nnhand.resources import builtin_dir

    shipped = builtin_dir()
    assert shipped is not None
    table = README.split("## Templates", 1)[1].split("##", 1)[0]
    missing = [p.stem for p in shipped.glob("*.yaml") if f"`{p.stem}`" not in table]
    assert not missing, f"README's template table lacks {missing}"
