"""The README is tested: every shell example runs as written with the exit code it states,
its examples are real output, its lists complete. So is the Examples section of every --help."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from nnhand.cli import app
from nnhand.ops.registry import OPS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})

SHELL_FENCES = ("", "console", "sh", "shell", "bash")
# Lines of shell examples that are not nnhand commands and are not run here: installing,
# the test suite, benchmarks, copying completion files into $HOME. The set-up lines are
# checked by test_set_up_lines_and_ci_run_the_same_test_line; every other line is run.
SHELL_COMMAND = re.compile(r"(nnhand|export|pip|python|cp|source|[A-Z_]+=\S*) ")
NOT_RUN = re.compile(r"(pip install |python -m pytest|python bench/|NNHAND_UPDATE_GOLDEN=|cp completions/)")


def fences() -> list[tuple[str, str]]:
    """Every fenced block of the README in order: (info string, text)."""
    found, current, info = [], None, ""
    for line in README.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, info = [], line[3:].strip()
            else:
                found.append((info, "".join(current)))
                current = None
        elif current is not None:
            current.append(line)
    return found


def blocks(language: str) -> list[str]:
    """The fenced code blocks whose info string is `language` ('' for bare fences)."""
    return [text for info, text in fences() if info == language]


def shown_files() -> dict[str, str]:
    """The files the README shows: a block whose info string names it (```csv class.csv), or
    a YAML block whose first line does (# matrices.yaml: ...)."""
    files = {}
    for info, text in fences():
        words = info.split()
        if len(words) == 2 and "." in words[1]:
            files[words[1]] = text
        elif words[:1] == ["yaml"] and (m := re.match(r"# ([\w-]+\.(?:yaml|json)):", text)):
            files[m.group(1)] = text
    return files


def readme_examples() -> list[str]:
    """Every command line of the README's shell examples and CI workflows, in reading order."""
    lines = []
    for info, text in fences():
        commands = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        if info == "console":  # a session: the commands are the $ lines, the rest is output
            lines += [line.removeprefix("$ ") for line in commands if line.startswith("$ ")]
        elif info in SHELL_FENCES and commands and SHELL_COMMAND.match(commands[0]):  # not an output shown
            lines += commands
        elif info == "yaml" and isinstance(workflow := yaml.safe_load(text), dict) and "jobs" in workflow:
            # the steps as written, with their comments (YAML drops them): a `# exit 1` is kept
            steps = re.findall(r"^\s*- run: (.+)$", text, flags=re.MULTILINE)
            lines += [step for step in steps if "${{" not in step]
    return lines


def stated_exit(line: str) -> int:
    """The exit code a line's comment states (`# exit 1 ...`, `# fails (exit 1) ...`), else 0."""
    comment = re.split(r"\s#\s", line, maxsplit=1)[1:]
    found = re.search(r"\bexit (\d+)", comment[0]) if comment else None
    return int(found.group(1)) if found else 0


def hand_in(manifest: Path, folder: Path) -> None:
    """A class's submissions, as a course system collects them (folder/<student>/<file>): each
    handed-out answer file filled in with the manifest's key, so that a class that got all
    right grades exit 0, as the README's grade lines state."""
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))  # JSON is YAML
    for student in data["students"]:
        for exercise in student["exercises"]:
            handed_out = manifest.parent / "students" / student["id"] / f"{exercise['template']}.yaml"
            answers = yaml.safe_load(handed_out.read_text(encoding="utf-8"))
            answers["answers"] = {name: exercise["key"][name] for name in answers["answers"]}
            target = folder / student["id"] / handed_out.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")


def run_examples(lines: list[str], folder: Path) -> tuple[list[str], int]:
    """Run each line with bash in `folder`, as a reader would, one after another, so that later
    lines find the files earlier ones wrote; returns the failures (each naming its line) and
    how many lines ran. `export NAME=VALUE` lines set the variable for the lines after them."""
    bin_dir = str(Path(sys.executable).parent)  # the nnhand console script of this environment
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NNHAND_", "COLUMNS"))}
    env.update(PATH=bin_dir + os.pathsep + env.get("PATH", ""), COLUMNS="80", NO_COLOR="1",
               NNHAND_SECRET="the test's own secret, as an instructor exports theirs",
               NNHAND_DATA_DIR=str(folder / "data"))  # practice's history: the test's own  # fmt: skip
    for name, text in shown_files().items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "autograder" / "results").mkdir(parents=True)  # Gradescope's folder, here under `folder`
    failures, ran = [], 0
    for line in lines:
        if NOT_RUN.match(line):
            continue
        if m := re.match(r"export (\w+)=(\S+)", line):
            env[m.group(1)] = m.group(2).strip("'\"")
            continue
        assert line.startswith(("nnhand ", "source <(nnhand ")), (
            f"a shell example that is not an nnhand command: {line}"
        )
        if (m := re.search(r"(\S+manifest\.json) (\S+)/", line)) and not (folder / m.group(2)).exists():
            hand_in(folder / m.group(1), folder / m.group(2))
        command = line.replace(" /autograder/", " autograder/")
        proc = subprocess.run(["bash", "-c", command], cwd=folder, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        ran += 1
        if proc.returncode != stated_exit(line) or "Traceback" in proc.stderr:
            failures.append(f"{line}\n  -> exit {proc.returncode} (stated {stated_exit(line)}): {proc.stderr[-600:]}")
    return failures, ran


def test_every_readme_example_runs_with_the_exit_code_it_states(tmp_path: Path) -> None:
    lines = readme_examples()
    assert any("--givens mine.yaml" in line for line in lines) and "mine.yaml" in shown_files()
    failures, ran = run_examples(lines, tmp_path)
    assert ran >= 20
    assert not failures, "README examples that fail:\n" + "\n".join(failures)


def help_examples() -> list[str]:
    """The lines of the Examples section of `nnhand --help` and of every command's --help,
    as they are shown, in the order of the commands."""
    from typer.main import get_command

    names = ["", *get_command(app).commands]  # type: ignore[attr-defined]
    lines = []
    for name in names:
        result = runner.invoke(app, [name, "--help"] if name else ["--help"])
        assert result.exit_code == 0, result.output
        section = result.stdout.split("Examples:\n", 1)
        assert len(section) == 2, f"nnhand {name} --help has no Examples section"
        shown = [line.strip() for line in section[1].splitlines() if line.strip()]
        assert shown and any("nnhand " + name in line for line in shown), (name, shown)
        lines += shown
    return lines


def test_every_help_example_runs_with_the_exit_code_it_states(tmp_path: Path) -> None:
    failures, ran = run_examples(help_examples(), tmp_path)
    assert ran >= 25
    assert not failures, "--help examples that fail:\n" + "\n".join(failures)


def test_example_sheet_and_answer_file_are_real_output(tmp_path: Path) -> None:
    sheet = next(b for b in blocks("") if "single-neuron@" in b and "Compute" in b)
    result = runner.invoke(app, ["gen", "single-neuron", "--seed", "1", "--answers", str(tmp_path / "a.yaml")])
    actual = "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"
    assert sheet == actual
    example = next(b for b in blocks("yaml") if b.startswith("variant: single-neuron@"))
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
    command = install_line.split("&&", 1)[1].split()  # what it runs once installed
    assert runner.invoke(app, command[1:]).exit_code == 0
    test_line = next(line for line in README.splitlines() if re.match(r"pip install .*&&.*pytest", line))
    assert test_line in (ROOT / ".ci" / "run").read_text()


def test_every_install_line_installs_nnhand_from_where_it_is() -> None:
    """nnhand is not on a package index: each install names a checkout (.) or a repository URL,
    as a PEP 508 direct reference whose name is the project's (pip refuses any other name)."""
    import tomllib
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    installs = [m.group(1) for m in re.finditer(r"pip install (?:-e )?('[^']+'|\"[^\"]+\"|[^\s`]+)", README)]
    assert len(installs) >= 4
    for target in (t.strip("'\"") for t in installs):
        if target.startswith("torch=="):
            continue  # the test suite's reference, from the index
        if target.startswith("."):
            assert re.fullmatch(r"\.(\[[\w,]+\])?", target), target
            continue
        requirement = Requirement(target)
        assert requirement.name == project and requirement.url, f"pip install {target}: not on PyPI"
        assert requirement.url.startswith("git+https://"), requirement.url


def test_every_builtin_template_is_in_the_catalogue_table() -> None:
    from nnhand.resources import builtin_dir

    shipped = builtin_dir()
    assert shipped is not None
    table = README.split("## Templates", 1)[1].split("##", 1)[0]
    missing = [p.stem for p in shipped.glob("*.yaml") if f"`{p.stem}`" not in table]
    assert not missing, f"README's template table lacks {missing}"
