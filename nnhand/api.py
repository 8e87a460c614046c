"""The library behind the commands and the public Python API. Never prints."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnhand.choices import TOPICS
from nnhand.core.engine import Problem
from nnhand.core.engine import generate as _generate
from nnhand.core.engine import solve as _solve
from nnhand.core.givens import STDIN, read_givens_file
from nnhand.core.sheet import Sheet, make_sheet
from nnhand.core.template import Template, load_template
from nnhand.errors import UsageError
from nnhand.resources import find_template, template_files

if TYPE_CHECKING:
    from nnhand.grading.grade import Report
    from nnhand.grading.history import Progress
    from nnhand.grading.practice import Answered, PracticeSession


def parse_params(values: Iterable[str]) -> dict[str, int | str]:
    """`--param name=N` options as a mapping of sizes (each a whole number), or of a choice
    param to its word (`--param act=sigmoid`; the template checks it)."""
    params: dict[str, int | str] = {}
    for item in values:
        name, sep, value = (part.strip() for part in item.partition("="))
        if len(value) > 6 and value.lstrip("-").isdigit():
            raise UsageError(f"'{item[:40]}' is far out of range", where="--param", fix="Sizes are at most 16")
        word = value.replace("_", "").isalnum() and value[:1].isalpha()
        if not sep or not name or not (value.lstrip("-").isdigit() or word):
            raise UsageError(
                f"'{item[:40]}' is not name=value", where="--param", fix="Write e.g. --param n_hidden=5 or act=relu"
            )
        params[name] = value if word else int(value)
    return params


def load(template_id: str, problems_dirs: Iterable[str] = ()) -> Template:
    """Load and validate a template by id (or by the path of a .yaml file)."""
    return load_template(find_template(template_id, problems_dirs))


def catalogue(problems_dirs: Iterable[str] = (), params: bool = False) -> list[dict[str, Any]]:
    """Every template on the search path, in the order of the topics (choices.TOPICS) and by id
    within one: id, title, topic, tags, summary, version and file; with `params`, also its givens
    (name, shape, label, fixed) and params (default, range, doc)."""
    rows = [_row(load_template(path), params) for _, path in sorted(template_files(problems_dirs).items())]
    order = {topic: i for i, topic in enumerate(TOPICS)}
    return sorted(rows, key=lambda row: (order[row["topic"]], row["id"]))


def describe(template_id: str, problems_dirs: Iterable[str] = ()) -> dict[str, Any]:
    """`nnhand show`: one template's catalogue row with what it takes (template_interface)."""
    return _row(load(template_id, problems_dirs), True)


def _row(template: Template, interface: bool) -> dict[str, Any]:
    defaults = template.resolve_params()
    template = template.with_values({n: template.params[n].shown(v) for n, v in defaults.items()})
    row: dict[str, Any] = {
        "id": template.id,
        "title": template.title,
        "topic": template.topic,
        "tags": list(template.tags),
        "version": template.version,
        "summary": template.summary,
        "path": str(template.path),
    }
    return {**row, **template_interface(template)} if interface else row


def _readable(template: Template, condition: str) -> str:
    """A `when` condition as a person reads it: a choice param by its word (act == sigmoid)."""
    import re

    def word(m: re.Match[str]) -> str:
        p = template.params.get(m[1])
        return f"{m[1]} == {p.shown(int(m[2]))}" if p is not None and p.choices else m[0]

    return re.sub(r"\b([A-Za-z]\w*) == (\d+)", word, condition)


def template_interface(template: Template) -> dict[str, Any]:
    """What a template takes: its params (default, range or choices, doc) and its givens
    (shape in params, label, whether fixed and to what, whether it exists only for some params)."""
    from nnhand.core.augment import pairs

    params = {
        p.name: {
            "default": p.shown(p.default),
            "range": p.range_text(),
            **({"choices": list(p.choices)} if p.choices else {"min": p.low, "max": p.high}),
            "doc": p.doc,
        }
        for p in template.params.values()
    }
    givens = {}
    for name, g in template.givens.items():
        entry: dict[str, Any] = {"shape": [str(d) for d in g.shape], "label": g.label}
        if g.dist.kind == "fixed":
            entry["fixed"] = "optional (a default value)"
        if g.words:
            entry["words"] = True
        if g.when is not None:
            entry["when"] = _readable(template, g.when.source)
        givens[name] = entry
    joined = {p.joined: f"[{p.weights} | {p.bias}]" for p in pairs(template)}
    out: dict[str, Any] = {"params": params, "givens": givens}
    if joined:
        out["augmented"] = joined
    if template.vocabulary:
        out["vocabulary"] = list(template.vocabulary)
    return out


def generate(
    template_id: str,
    seed: int | None = None,
    params: Mapping[str, int | str] | None = None,
    blanks: str | None = None,
    problems_dirs: Iterable[str] = (),
    answers: Path | None = None,
    givens: Path | None = None,
    augmented: bool = False,
) -> Sheet:
    """A fresh (or seeded) instance of a template, or the template solved for a givens file
    (the instructor's own numbers), with its blank pattern; `answers` also writes the answer
    file to fill in there (atomically)."""
    sheet = make_sheet(solve_key(template_id, seed, params, givens, problems_dirs), blanks, augmented)
    if answers is not None:
        from nnhand.grading.answers import answer_file_text
        from nnhand.safety.atomic import write_file

        write_file(answers, answer_file_text(sheet))
    return sheet


def solve(
    template_id: str,
    givens: Mapping[str, Any],
    params: Mapping[str, int | str] | None = None,
    problems_dirs: Iterable[str] = (),
) -> Problem:
    """Solve a template for numbers you supply (a mapping of given names to values)."""
    return _solve(load(template_id, problems_dirs), givens, params)


def solve_key(
    template_id: str,
    seed: int | None,
    params: Mapping[str, int | str] | None,
    givens_path: Path | None,
    problems_dirs: Iterable[str] = (),
) -> Problem:
    """`nnhand key`: a seeded (or fresh) variant, or the template solved for a givens file."""
    if givens_path is not None and seed is not None:
        raise UsageError("--givens and --seed exclude each other", fix="Use one of them")
    template = load(template_id, problems_dirs)
    if givens_path is None:
        return _generate(template, seed, params)
    where = "stdin" if str(givens_path) == STDIN else str(givens_path)
    return _solve(template, read_givens_file(givens_path), params, where=where)


def givens_warnings(problem: Problem) -> list[str]:
    """The realism rules a person's numbers break (they are keyed all the same)."""
    from nnhand.core.engine import realism_warnings

    return realism_warnings(problem)


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
    from nnhand.core.explain import Explainer, explain_given
    from nnhand.core.inverse import GivenCell

    explainer = Explainer(problem)
    out: dict[str, dict[str, str]] = {}
    for step in report.steps:
        for cell in step.cells:
            if cell.status == "wrong" and step.name in problem.givens:  # inverse: the given solved for
                line = " ".join(explain_given(problem, GivenCell(step.name, cell.row, cell.col)))
                out.setdefault(step.name, {})[cell.cell] = line
            elif cell.status == "wrong":
                line = explainer.cell(problem.template.step(step.name), cell.row, cell.col)
                out.setdefault(step.name, {})[cell.cell] = line
    return out


# ----------------------------------------------------------------------------- practice and its record


@dataclass
class Practice:
    """A practice session ready to run: the session, why it was chosen (--weakest), and the
    recorder that keeps each answered cell in the learner's history (None: --no-history)."""

    session: PracticeSession
    chosen: str | None = None
    record: HistoryRecorder | None = None


@dataclass
class HistoryRecorder:
    """Appends each answered cell to the history file as it is answered; a file that cannot
    be written is noted once (`error`) and practice goes on without it."""

    path: Path
    template: str
    topic: str
    variant: str
    session: str
    error: str | None = None

    def __call__(self, answered: Answered) -> None:
        from datetime import datetime, timezone

        from nnhand.grading.history import Attempt, append

        if self.error is not None:
            return
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        attempt = Attempt(now, self.session, self.template, self.topic, self.variant, answered.step, answered.cell,
                          answered.right, answered.tries, answered.slip, answered.hints)  # fmt: skip
        try:
            append(self.path, [attempt])
        except OSError as exc:
            self.error = f"{self.path}: cannot write the practice history ({exc.strerror or exc})"


def practice(
    template_id: str | None,
    seed: int | None = None,
    params: Mapping[str, int | str] | None = None,
    blanks: str | None = None,
    problems_dirs: Iterable[str] = (),
    *,
    givens: Path | None = None,
    tries: int = 2,
    steps: Iterable[str] = (),
    weakest: bool = False,
    history: Path | None = None,
) -> Practice:
    """`nnhand practice`: the session for a template (or, `weakest`, for the template and
    steps the history says are missed most), recorded in `history` unless it is None."""
    import secrets

    from nnhand.grading.practice import PracticeSession

    steps, chosen = tuple(steps), None
    if weakest:
        template_id, steps, chosen = _weakest(template_id, steps, problems_dirs)
    if template_id is None:
        raise UsageError("practice needs a TEMPLATE", fix="Name one (nnhand list shows them), or use --weakest")
    template = load(template_id, problems_dirs)
    if steps and blanks is None and "all" in template.blanks_allowed:
        blanks = "all"  # the steps asked, every cell of them
    sheet = generate(template_id, seed, params, blanks, problems_dirs, givens=givens)
    session = PracticeSession(sheet, tries=tries, steps=steps)
    record = None
    if history is not None:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        record = HistoryRecorder(history, template.id, template.topic or "other", session.sheet.variant,
                                 f"{stamp}-{secrets.token_hex(3)}")  # fmt: skip
    return Practice(session, chosen, record)


def _weakest(
    template_id: str | None, steps: tuple[str, ...], problems_dirs: Iterable[str]
) -> tuple[str, tuple[str, ...], str]:
    from nnhand.grading.history import history_path, weakest

    if steps:
        raise UsageError("--weakest chooses the steps itself", where="--steps", fix="Leave out --steps or --weakest")
    path = history_path()
    found, _ = progress(path)
    known = template_files(problems_dirs)
    choice = weakest(found, template_id, known=known)
    if choice is None:
        about = f" of {template_id}" if template_id else ""
        raise UsageError(f"no practice{about} on record yet in {path}",
                         fix=f"Practise first: nnhand practice {template_id or 'hidden-layer'}")  # fmt: skip
    asked = {s.name for s in load(choice.template, problems_dirs).steps if s.asked}
    return choice.template, tuple(s for s in choice.steps if s in asked), choice.reason


def progress(path: Path) -> tuple[Progress, int]:
    """`nnhand progress`: what the practice history at `path` says, and how many of its
    lines did not read."""
    from nnhand.grading.history import read, summarise

    attempts, skipped = read(path)
    return summarise(attempts), skipped
