"""The library behind the commands and the public Python API. Never prints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnhand.core.engine import Problem
from nnhand.core.engine import generate as _generate
from nnhand.core.engine import solve as _solve
from nnhand.core.sheet import Sheet, make_sheet
from nnhand.core.template import Template, load_template
from nnhand.errors import GivensError
from nnhand.resources import find_template, template_files

if TYPE_CHECKING:
    from nnhand.grading.grade import Report

MAX_GIVENS_BYTES = 1_000_000


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
) -> Sheet:
    """A fresh (or seeded) instance of a template, solved, with its blank pattern."""
    template = load(template_id, problems_dirs)
    return make_sheet(_generate(template, seed, params), blanks)


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
    template = load(template_id, problems_dirs)
    if givens_path is None:
        return _generate(template, seed, params)
    return _solve(template, read_givens_file(givens_path), params, where=str(givens_path))


def read_givens_file(path: Path) -> Mapping[str, Any]:
    """A YAML or JSON mapping of given names to values (read through safeio: a regular file
    of at most 1 MB, strict YAML)."""
    from nnhand.safety.safeio import read_yaml_file

    data = read_yaml_file(path, MAX_GIVENS_BYTES, GivensError, what="a givens file")
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
