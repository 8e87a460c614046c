"""The library behind the commands and the public Python API. Never prints."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnhand.core.engine import Problem
from nnhand.core.engine import generate as _generate
from nnhand.core.engine import solve as _solve
from nnhand.core.sheet import Sheet, make_sheet
from nnhand.core.template import Template, load_template
from nnhand.errors import GivensError, UsageError
from nnhand.resources import find_template, template_files

if TYPE_CHECKING:
    from nnhand.grading.grade import Report


def parse_params(values: Iterable[str]) -> dict[str, int]:
    """`--param name=N` options as a mapping of sizes (each a whole number)."""
    params: dict[str, int] = {}
    for item in values:
        name, sep, number = item.partition("=")
        if len(number.strip()) > 6 and number.strip().lstrip("-").isdigit():
            raise UsageError(f"'{item[:40]}' is far out of range", where="--param", fix="Sizes are at most 16")
        if not sep or not name.strip() or not number.strip().lstrip("-").isdigit():
            raise UsageError(f"'{item}' is not name=value", where="--param", fix="Write e.g. --param n_hidden=5")
        params[name.strip()] = int(number)
    return params


def load(template_id: str, problems_dirs: Iterable[str] = ()) -> Template:
    """Load and validate a template by id (or by the path of a .yaml file)."""
    return load_template(find_template(template_id, problems_dirs))


def catalogue(problems_dirs: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every template on the search path: id, title, tags, summary, version and file."""
    rows = []
    for template_id, path in sorted(template_files(problems_dirs).items()):
        template = load_template(path)
        rows.append(
            {
                "id": template_id,
                "title": template.title,
                "tags": list(template.tags),
                "version": template.version,
                "summary": template.summary,
                "path": str(path),
            }
        )
    return rows


def generate(
    template_id: str,
    seed: int | None = None,
    params: Mapping[str, int] | None = None,
    blanks: str | None = None,
    problems_dirs: Iterable[str] = (),
    answers: Path | None = None,
) -> Sheet:
    """A fresh (or seeded) instance of a template, solved, with its blank pattern; `answers`
    also writes the answer file to fill in there (atomically)."""
    template = load(template_id, problems_dirs)
    sheet = make_sheet(_generate(template, seed, params), blanks)
    if answers is not None:
        from nnhand.grading.answers import answer_file_text
        from nnhand.safety.atomic import write_file

        write_file(answers, answer_file_text(sheet))
    return sheet


def solve(
    template_id: str,
    givens: Mapping[str, Any],
    params: Mapping[str, int] | None = None,
    problems_dirs: Iterable[str] = (),
) -> Problem:
    """Solve a template for numbers you supply (a mapping of given names to values)."""
    return _solve(load(template_id, problems_dirs), givens, params)


def solve_key(
    template_id: str,
    seed: int | None,
    params: Mapping[str, int] | None,
    givens_path: Path | None,
    problems_dirs: Iterable[str] = (),
) -> Problem:
    """`nnhand key`: a seeded (or fresh) variant, or the template solved for a givens file."""
    if givens_path is not None and seed is not None:
        raise UsageError("--givens and --seed exclude each other", fix="Use one of them")
    template = load(template_id, problems_dirs)
    if givens_path is None:
        return _generate(template, seed, params)
    return _solve(template, read_givens_file(givens_path), params, where=str(givens_path))


def read_givens_file(path: Path) -> Mapping[str, Any]:
    """A YAML or JSON mapping of given names to values (read through safeio: a regular file
    of at most 1 MB, strict YAML)."""
    from nnhand.safety.safeio import MAX_INPUT_BYTES, read_yaml_file

    data = read_yaml_file(path, MAX_INPUT_BYTES, GivensError, what="a givens file")
    if not isinstance(data, Mapping):
        raise GivensError(
            "is not a mapping of names to values", where=str(path), fix="Write one line per given, e.g. x: [1, 2, 3]"
        )
    if "givens" in data and isinstance(data["givens"], Mapping):
        data = data["givens"]  # an answer file or a key: take its givens
    return dict(data)


def grade(
    answers: str | Path | Mapping[str, Any], problems_dirs: Iterable[str] = (), trust_givens: bool = False
) -> Report:
    """Grade an answer file (a path) or the same data as a mapping."""
    from nnhand.grading.grade import check_file, grade_data

    if isinstance(answers, Mapping):
        return grade_data(answers, "answers", problems_dirs, trust_givens)[0]
    return check_file(Path(answers), problems_dirs, trust_givens)[0]


@dataclass(frozen=True)
class Checked:
    """One graded answer file: the report, the sheet it was graded against, the worked
    arithmetic of its wrong cells (step -> cell -> line, when asked for), and the seconds
    grading took."""

    report: Report
    sheet: Sheet
    worked: dict[str, dict[str, str]] = field(default_factory=dict)
    seconds: float = 0.0


def check(
    answers: Path,
    problems_dirs: Iterable[str] = (),
    *,
    trust_givens: bool = False,
    scoring: str | None = None,
    ecf: bool = True,
    expect: str | None = None,
    explain: bool = False,
) -> Checked:
    """`nnhand check`: grade an answer file; `explain` adds the worked arithmetic of every
    wrong cell. Raises NnhandError when the file cannot be graded at all."""
    from nnhand.grading.grade import check_file

    start = time.perf_counter()
    report, sheet = check_file(answers, problems_dirs, trust_givens, scoring, ecf, expect)
    worked = worked_wrong_cells(report, sheet.problem) if explain else {}
    return Checked(report, sheet, worked, time.perf_counter() - start)


def worked_wrong_cells(report: Report, problem: Problem) -> dict[str, dict[str, str]]:
    """The worked arithmetic of every wrong cell of a report: step -> cell -> line."""
    from nnhand.core.explain import Explainer

    explainer = Explainer(problem)
    out: dict[str, dict[str, str]] = {}
    for step in report.steps:
        for cell in step.cells:
            if cell.status == "wrong":
                line = explainer.cell(problem.template.step(step.name), cell.row, cell.col)
                out.setdefault(step.name, {})[cell.cell] = line
    return out
