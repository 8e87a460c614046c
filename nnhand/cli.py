"""The command line: a thin Typer shell over the library.

Each command parses its options, calls one library function and hands the result to a
renderer. Only this module imports typer; at module level it imports nothing else that
is slow, so `nnhand --help` and shell completion never load numpy, yaml or rich.
"""

import functools
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from nnhand._version import __version__
from nnhand.errors import ExitCode, NnhandError

app = typer.Typer(
    name="nnhand",
    help="Neural networks by hand: generate pen-and-paper exercises with blanks, and grade the answers.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])


def handled(command: F) -> F:
    """The one place an error becomes a message on stderr and an exit code."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return command(*args, **kwargs)
            finally:
                if sys.stdout is not None:
                    sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        except NnhandError as exc:
            if _state["debug"]:
                raise
            _error(exc.render())
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            _error("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except BrokenPipeError:
            _discard_stdout()
            sys.stderr.close()  # the reader went away (| head): nothing left to say
            raise typer.Exit(int(ExitCode.OK)) from None
        except typer.Exit:
            raise
        except OSError as exc:  # writing the output failed (a full disk, /dev/full, a closed stdout)
            if _state["debug"]:
                raise
            _discard_stdout()
            where = exc.filename or "standard output"
            _error(f"{where}: cannot write ({exc.strerror or exc}). Free some space or write elsewhere")
            raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
        except Exception as exc:  # a bug: say so plainly, without a traceback
            if _state["debug"]:
                raise
            _error(f"internal error: {type(exc).__name__}: {exc}. Please report it; --debug shows the traceback.")
            raise typer.Exit(int(ExitCode.INTERNAL)) from None

    return run  # type: ignore[return-value]


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that what is still buffered cannot fail again at exit."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def _error(message: str) -> None:
    from nnhand.safety.safetext import plain

    print(f"nnhand: error: {plain(message)}", file=sys.stderr)  # it may quote a file name or a cell


def _note(message: str) -> None:
    from nnhand.safety.safetext import plain

    print(f"nnhand: {plain(message)}", file=sys.stderr)


def _fallback_streams() -> None:
    """Where stdout or stderr cannot hold Unicode (PYTHONIOENCODING=ascii, a Latin-1
    terminal), write an ASCII stand-in for each character they lack instead of failing."""
    import codecs

    from nnhand.safety.safetext import holds_unicode

    for stream in (sys.stdout, sys.stderr):
        if holds_unicode(getattr(stream, "encoding", None)) or not hasattr(stream, "reconfigure"):
            continue
        try:
            codecs.lookup_error("nnhand-fallback")
        except LookupError:
            codecs.register_error("nnhand-fallback", _stand_in)
        stream.reconfigure(errors="nnhand-fallback")


def _stand_in(error: UnicodeError) -> tuple[str, int]:
    from nnhand.safety.safetext import ascii_stand_in

    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(ascii_stand_in(c) for c in error.object[error.start : error.end]), error.end


def _ascii_stdout() -> bool:
    from nnhand.safety.safetext import holds_unicode

    return not holds_unicode(getattr(sys.stdout, "encoding", None))


def _json(data: Any) -> str:
    """JSON for stdout: the same data in any encoding (\\u escapes where stdout lacks Unicode)."""
    import json

    return json.dumps(data, indent=2, ensure_ascii=_ascii_stdout())


# ----------------------------------------------------------------------------- completion


def complete_template(ctx: typer.Context, incomplete: str) -> list[str]:
    """Template ids from file names only: completion never parses YAML."""
    from nnhand.resources import template_files

    dirs = ctx.params.get("problems_dir") or []
    try:
        ids = template_files(dirs)
    except OSError:
        return []
    return [i for i in ids if i.startswith(incomplete)]


# ----------------------------------------------------------------------------- shared options


class Blanks(str, Enum):
    all = "all"
    layer = "layer"
    one = "one"
    none = "none"


class SheetFormat(str, Enum):
    terminal = "terminal"
    json = "json"


class KeyFormat(str, Enum):
    table = "table"
    yaml = "yaml"
    json = "json"


class ReportFormat(str, Enum):
    terminal = "terminal"
    json = "json"


class CheckFormat(str, Enum):
    terminal = "terminal"
    json = "json"
    gradescope = "gradescope"
    classroom = "classroom"
    junit = "junit"


ProblemsDir = Annotated[
    list[Path] | None,
    typer.Option(
        "--problems-dir",
        envvar="NNHAND_PROBLEMS",
        help="A folder of your own templates (<id>.yaml); repeatable. Also NNHAND_PROBLEMS.",
        show_envvar=False,
        metavar="DIR",
    ),
]
TemplateArg = Annotated[
    str,
    typer.Argument(
        help="A template id (see 'nnhand list').",
        autocompletion=complete_template,
        metavar="TEMPLATE",
        show_default=False,
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option("--seed", "-s", help="Seed of the variant; omitted: a fresh one, printed.", min=0, metavar="N"),
]
BlanksOpt = Annotated[
    Blanks | None,
    typer.Option("--blanks", "-b", help="Which cells are blank: all, layer, one or none (default: the template's)."),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Change a size, e.g. --param n_hidden=5; repeatable.", metavar="NAME=N"),
]


def _dirs(problems_dir: list[Path] | None) -> list[str]:
    from nnhand.resources import check_dirs

    dirs = [str(d) for d in problems_dir or []]
    env = os.environ.get("NNHAND_PROBLEMS")
    if env and dirs == [d for d in env.split(os.pathsep) if d]:
        dirs = []  # Typer filled the option from the variable; resources reads it itself
    check_dirs(dirs)
    return dirs


def _params(values: list[str] | None) -> dict[str, int]:
    params: dict[str, int] = {}
    for item in values or []:
        name, sep, number = item.partition("=")
        if len(number.strip()) > 6 and number.strip().lstrip("-").isdigit():
            raise NnhandError(f"'{item[:40]}' is far out of range", where="--param", fix="Sizes are at most 16")
        if not sep or not name.strip() or not number.strip().lstrip("-").isdigit():
            raise NnhandError(f"'{item}' is not name=value", where="--param", fix="Write e.g. --param n_hidden=5")
        params[name.strip()] = int(number)
    return params


# ----------------------------------------------------------------------------- commands


def _version(value: bool) -> None:
    if value:
        print(f"nnhand {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", "-V", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """Neural networks by hand: generate pen-and-paper exercises with blanks, and grade the answers."""
    _state["debug"] = debug
    _fallback_streams()


@app.command("list")
@handled
def list_(
    problems_dir: ProblemsDir = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="terminal or json.")] = ReportFormat.terminal,
) -> None:
    """List the templates: id, title and tags."""
    from nnhand import api

    rows = api.catalogue(_dirs(problems_dir))
    if fmt is ReportFormat.json:
        print(_json(rows))
        return
    from rich.table import Table
    from rich.text import Text

    from nnhand.output.terminal import console

    table = Table(box=None, show_edge=False, pad_edge=False)
    for column in ("id", "title", "tags"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(Text(row["id"]), Text(row["title"]), Text(", ".join(row["tags"])))
    console().print(table)


@app.command()
@handled
def gen(
    template: TemplateArg,
    seed: SeedOpt = None,
    param: ParamOpt = None,
    blanks: BlanksOpt = None,
    answers: Annotated[
        Path | None, typer.Option("--answers", "-a", help="Also write an answer file to fill in.", metavar="FILE")
    ] = None,
    fmt: Annotated[SheetFormat, typer.Option("--format", "-f", help="terminal or json.")] = SheetFormat.terminal,
    problems_dir: ProblemsDir = None,
) -> None:
    """Generate an exercise sheet with blanks."""
    from nnhand import api

    fresh = seed is None
    sheet = api.generate(template, seed, _params(param), blanks.value if blanks else None, _dirs(problems_dir))
    if answers is not None:
        from nnhand.grading.answers import answer_file_text
        from nnhand.safety.atomic import write_file

        write_file(answers, answer_file_text(sheet))
    if fmt is SheetFormat.json:
        from nnhand.grading.answers import answer_file_data

        print(_json(answer_file_data(sheet)))
    else:
        from nnhand.output.terminal import console, sheet_renderable

        console().print(sheet_renderable(sheet))
    if fresh:
        _note(f"fresh seed {sheet.problem.variant.seed}: repeat this sheet with --seed {sheet.problem.variant.seed}")
    if answers is not None:
        _note(f"answer file written to {answers}; check it with: nnhand check {answers}")


@app.command()
@handled
def key(
    template: TemplateArg,
    seed: SeedOpt = None,
    param: ParamOpt = None,
    givens: Annotated[
        Path | None,
        typer.Option("--givens", "-g", help="Solve for your own numbers (YAML or JSON mapping).", metavar="FILE"),
    ] = None,
    fmt: Annotated[KeyFormat, typer.Option("--format", "-f", help="table, yaml or json.")] = KeyFormat.table,
    exact: Annotated[bool, typer.Option("--exact", help="Show exact fractions beside rounded cells.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Write every cell as its worked arithmetic.")] = False,
    problems_dir: ProblemsDir = None,
) -> None:
    """Print the full answer key of a variant (or of your own givens)."""
    from nnhand import api

    if givens is not None and seed is not None:
        raise NnhandError("--givens and --seed exclude each other", fix="Use one of them")
    fresh = seed is None and givens is None
    problem = api.solve_key(template, seed, _params(param), givens, _dirs(problems_dir))
    worked = None
    if explain:
        from nnhand.core.explain import explain_problem

        worked = explain_problem(problem)
    if fmt is KeyFormat.table:
        from nnhand.core.sheet import make_sheet
        from nnhand.output.terminal import console, sheet_renderable, worked_renderable

        out = console()
        out.print(sheet_renderable(make_sheet(problem, "none"), key=True, exact=exact))
        if worked:
            out.print(worked_renderable(problem, worked))
    else:
        from nnhand.core.keys import key_data, to_json, to_yaml

        data = key_data(problem)
        if worked:
            data["worked"] = worked
        ascii_only = _ascii_stdout()
        print(to_json(data, ascii_only) if fmt is KeyFormat.json else to_yaml(data, ascii_only), end="")
    if fresh:
        _note(f"fresh seed {problem.variant.seed}: repeat this key with --seed {problem.variant.seed}")


class Scoring(str, Enum):
    cell = "cell"
    step = "step"
    weighted = "weighted"


@app.command()
@handled
def check(
    answers: Annotated[
        Path, typer.Argument(help="An answer file (made by nnhand gen --answers).", metavar="FILE", show_default=False)
    ],
    trust_givens: Annotated[
        bool, typer.Option("--trust-givens", help="Grade against the givens in the file even if they differ.")
    ] = False,
    reveal: Annotated[bool, typer.Option("--reveal/--no-reveal", help="Show expected values of wrong cells.")] = True,
    scoring: Annotated[
        Scoring | None,
        typer.Option("--scoring", help="cell (one point a cell), step (all or nothing) or weighted (template points)."),
    ] = None,
    ecf: Annotated[
        bool, typer.Option("--ecf/--no-ecf", help="Credit steps computed right from your own earlier answers.")
    ] = True,
    show_reading: Annotated[bool, typer.Option("--show-reading", help="Show how each answer was read.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Show the worked arithmetic of wrong cells.")] = False,
    fmt: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="terminal, json, gradescope, classroom or junit.")
    ] = CheckFormat.terminal,
    base64: Annotated[bool, typer.Option("--base64", help="classroom: the base64 a Classroom reporter reads.")] = False,
    expect: Annotated[
        str | None,
        typer.Option(
            "--expect", help="The variant id the file must carry (CI: the sheet handed out).", metavar="VARIANT"
        ),
    ] = None,
    problems_dir: ProblemsDir = None,
) -> None:
    """Grade an answer file cell by cell: exit 0 all right, 1 something wrong or missing, 2 bad input."""
    import time

    from nnhand.grading.grade import check_file

    start = time.perf_counter()
    try:
        report, sheet = check_file(
            answers, _dirs(problems_dir), trust_givens, scoring.value if scoring else None, ecf, expect
        )
    except NnhandError as exc:
        # Graders need a valid file even when grading fails: write one, then fail as usual.
        from nnhand.output import reports as ci_formats

        if fmt is CheckFormat.gradescope:
            print(ci_formats.gradescope_error_json(exc.render(), time.perf_counter() - start))
        elif fmt is CheckFormat.classroom:
            print(ci_formats.classroom_error(exc.render(), base64))
        elif fmt is CheckFormat.junit:
            print(ci_formats.junit_xml([ci_formats.Ungraded(str(answers), exc.render())]), end="")
        raise
    if fmt in (CheckFormat.gradescope, CheckFormat.classroom, CheckFormat.junit):
        from nnhand.output import reports as ci_formats

        if fmt is CheckFormat.gradescope:
            print(ci_formats.gradescope_json(report, time.perf_counter() - start, reveal=reveal))
        elif fmt is CheckFormat.classroom:
            print(ci_formats.classroom_json(report, base64, reveal=reveal))
        else:
            print(ci_formats.junit_xml([report]), end="")
        raise typer.Exit(int(report.exit_code))
    explanations = _explanations(report, sheet) if explain and reveal else None
    if fmt is CheckFormat.json:
        data = report.to_dict(reveal=reveal)
        if explanations:
            for step in data["steps"]:
                for cell in step["cells"]:
                    if cell["cell"] in explanations.get(step["name"], {}):
                        cell["worked"] = explanations[step["name"]][cell["cell"]]
        print(_json(data))
    else:
        from nnhand.output.terminal import console, report_renderable

        console().print(report_renderable(report, reveal=reveal, show_reading=show_reading, explanations=explanations))
    raise typer.Exit(int(report.exit_code))


def _explanations(report: Any, sheet: Any) -> dict[str, dict[str, str]]:
    from nnhand.core.explain import Explainer

    explainer = Explainer(sheet.problem)
    out: dict[str, dict[str, str]] = {}
    for step in report.steps:
        for cell in step.cells:
            if cell.status == "wrong":
                line = explainer.cell(sheet.problem.template.step(step.name), cell.row, cell.col)
                out.setdefault(step.name, {})[cell.cell] = line
    return out


@app.command()
@handled
def practice(
    template: TemplateArg,
    seed: SeedOpt = None,
    param: ParamOpt = None,
    blanks: BlanksOpt = None,
    problems_dir: ProblemsDir = None,
) -> None:
    """Practise at the prompt: type each blank cell (or a whole row), ? for a hint, s to skip, q to quit."""
    from nnhand import api
    from nnhand.grading.practice import PracticeSession
    from nnhand.output.terminal import console, sheet_renderable
    from nnhand.safety.safetext import one_line

    if sys.stdout is None or sys.stdin is None:
        raise NnhandError(
            "practice needs standard input and output",
            fix="Run it in a terminal, or pipe answers in and read its output",
        )
    sheet = api.generate(template, seed, _params(param), blanks.value if blanks else None, _dirs(problems_dir))
    session = PracticeSession(sheet)  # refuses a sheet that asks nothing before anything is shown
    out = console()
    out.print(sheet_renderable(sheet))
    print("Type each answer (a number, or several for a row); ? for a hint, s to skip, q to quit.")
    current_step = None
    try:
        while not session.done:
            prompt = session.current
            assert prompt is not None
            if prompt.step.name != current_step:
                current_step = prompt.step.name
                print(f"\n{prompt.step.label}")
            try:
                line = input(f"{prompt.cell} = ")
            except EOFError:
                print()
                break
            except UnicodeDecodeError:
                line = "\ufffd"  # bytes that are not text: answered as an unreadable line
            if not sys.stdin.isatty():
                print(one_line(line[:200]))  # piped answers: echoed so the transcript reads like a session
            for reply in session.respond(line):
                print(f"  {one_line(reply.message)}")
    except KeyboardInterrupt:
        print()
        _print_summary(session, sheet)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    _print_summary(session, sheet)
    summary = session.summary()
    raise typer.Exit(int(ExitCode.OK if summary["right"] == summary["total"] else ExitCode.WRONG))


def _print_summary(session: Any, sheet: Any) -> None:
    s = session.summary()
    print(
        f"\n{s['right']}/{s['total']} right, {s['wrong']} wrong, {s['skipped']} skipped, "
        f"{s['unanswered']} not reached. Variant {sheet.variant}"
        f" (again: nnhand practice {sheet.problem.template.id} --seed {sheet.problem.variant.seed})."
    )


class PrintFormat(str, Enum):
    html = "html"
    md = "md"
    pdf = "pdf"


@app.command()
@handled
def worksheet(
    templates: Annotated[
        list[str],
        typer.Argument(
            help="Template ids, one exercise each.", autocompletion=complete_template, metavar="TEMPLATE..."
        ),
    ],
    roster: Annotated[
        Path | None, typer.Option("--roster", "-r", help="CSV with an id column (name, email optional).", metavar="CSV")
    ] = None,
    count: Annotated[
        int | None,
        typer.Option("--count", "-n", help="Without a roster: this many numbered variants.", min=1, max=5000),
    ] = None,
    assignment: Annotated[str, typer.Option("--assignment", help="Name of the assignment (part of every seed).")] = "",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (must not exist, unless --force).")] = Path(
        "worksheets"
    ),
    fmt: Annotated[
        list[PrintFormat] | None, typer.Option("--format", "-f", help="html, md or pdf; repeatable (default html).")
    ] = None,
    blanks: BlanksOpt = None,
    secret_file: Annotated[
        Path | None, typer.Option("--secret-file", help="File holding the secret (else NNHAND_SECRET).", metavar="FILE")
    ] = None,
    worked: Annotated[bool, typer.Option("--worked", help="Answer keys show the worked arithmetic.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output folder.")] = False,
    problems_dir: ProblemsDir = None,
) -> None:
    """Make a unique variant per student: sheets, answer keys, answer files and a manifest."""
    import time

    from nnhand.classroom import assignment as classroom

    start = time.perf_counter()
    if (roster is None) == (count is None):
        raise NnhandError("give either --roster CSV or --count N", fix="e.g. --roster class.csv, or --count 30")
    secret = classroom.read_secret(secret_file)
    if roster is not None:
        if secret is None:
            raise NnhandError(
                "a roster needs a secret, so that students cannot predict each other's variants",
                fix="Set NNHAND_SECRET or pass --secret-file FILE (keep it to recompute the variants later)",
            )
        if not assignment:
            raise NnhandError("a roster needs --assignment NAME (part of every student's seed)")
        students = classroom.read_roster(roster)
    else:
        assert count is not None
        students = classroom.numbered_students(count)
    classroom.check_output_folder(out, force)  # before the work: --force replaces only nnhand's own folder
    batch = classroom.build_assignment(
        templates, students, assignment or out.name, secret, blanks.value if blanks else None, _dirs(problems_dir)
    )
    formats = [f.value for f in fmt] if fmt else ["html"]
    files = classroom.worksheet_files(batch, formats, worked)
    classroom.write_folder(out, files, force)
    _note(
        f"{len(students)} students x {len(templates)} exercises written to {out}/ "
        f"({', '.join(formats)}; manifest.json) in {time.perf_counter() - start:.1f} s"
    )


class Per(str, Enum):
    cell = "cell"
    step = "step"


@app.command()
@handled
def grade(
    manifest: Annotated[Path, typer.Argument(help="The manifest.json nnhand worksheet wrote.", metavar="MANIFEST")],
    submissions: Annotated[Path, typer.Argument(help="A folder of answer files.", metavar="FOLDER")],
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write the grade book (CSV).", metavar="FILE")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML.", metavar="FILE")] = None,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the grade book as JSON: scores, statuses and flags.", metavar="FILE"),
    ] = None,
    per: Annotated[Per, typer.Option("--per", help="JUnit test cases per cell or per step.")] = Per.cell,
    feedback: Annotated[
        Path | None, typer.Option("--feedback", help="Write one feedback file per student here.", metavar="DIR")
    ] = None,
    scoring: Annotated[Scoring | None, typer.Option("--scoring", help="cell, step or weighted.")] = None,
    ecf: Annotated[bool, typer.Option("--ecf/--no-ecf", help="Credit work carried forward.")] = True,
) -> None:
    """Grade a folder of answer files against a manifest: grade book (CSV, JSON), JUnit, feedback."""
    from nnhand.classroom import assignment as classroom

    book = classroom.grade_folder(
        classroom.read_manifest(manifest), submissions, scoring.value if scoring else None, ecf
    )
    files: dict[Path, str | bytes] = {}
    if csv_out is not None:
        files[csv_out] = classroom.gradebook_csv(book)
    if json_out is not None:
        files[json_out] = classroom.grades_json(book)
    if junit is not None:
        from nnhand.output.reports import Ungraded, junit_xml

        items: list[Any] = [
            s.report
            if s.report is not None
            else Ungraded(str(s.path), s.tampered or s.problem or "not graded", s.student, s.template)
            for s in book.submissions
        ]
        files[junit] = junit_xml(items, per=per.value)
    if feedback is not None:
        files.update({feedback / name: text for name, text in classroom.feedback_files(book).items()})
    from nnhand.safety.atomic import write_files

    write_files(files)
    print(classroom.summary_text(book), end="")
    raise typer.Exit(int(ExitCode.OK if book.all_right else ExitCode.WRONG))


class ExportFormat(str, Enum):
    moodle = "moodle"
    gift = "gift"
    qti = "qti"


@app.command()
@handled
def export(
    template: TemplateArg,
    count: Annotated[int, typer.Option("--count", "-n", help="How many variants.", min=1, max=1000)] = 10,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="moodle, gift or qti.")] = ExportFormat.moodle,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", "-s", help="Seeds N, N+1, ... (reproducible); omitted: from the secret, else random.", min=0
        ),
    ] = None,
    pool: Annotated[
        str | None, typer.Option("--pool", help="Name of the pool, part of every seed drawn from the secret.")
    ] = None,
    secret_file: Annotated[
        Path | None, typer.Option("--secret-file", help="File holding the secret (else NNHAND_SECRET).", metavar="FILE")
    ] = None,
    blanks: BlanksOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="qti: the folder for one item file per variant.")
    ] = None,
    problems_dir: ProblemsDir = None,
) -> None:
    """Export sealed variants as a question pool: Moodle XML (cloze), GIFT or QTI 2.1."""
    from nnhand import api
    from nnhand.classroom.assignment import read_secret
    from nnhand.output import lms

    if fmt is ExportFormat.qti and out is None:
        raise NnhandError("QTI items are one file each", where="--out", fix="Give --out DIR for the item files")
    bank = lms.build_pool(
        api.load(template, _dirs(problems_dir)),
        count,
        secret=read_secret(secret_file),
        first_seed=seed,
        name=pool,
        blanks=blanks.value if blanks else None,
    )
    for warning in lms.zero_answer_warnings(bank.sheets, fmt.value):
        _note(f"warning: {warning}")
    if fmt is ExportFormat.moodle:
        print(lms.moodle_xml(bank.sheets, pool=bank), end="")
    elif fmt is ExportFormat.gift:
        print(lms.gift(bank.sheets, pool=bank), end="")
    else:
        assert out is not None
        from nnhand.classroom.assignment import write_folder

        files = {lms.item_file(s): item for s, item in zip(bank.sheets, lms.qti21(bank.sheets))}
        files["nnhand-export.json"] = lms.pool_record(bank)
        write_folder(out, files, force=False)
    where = f"{out}/nnhand-export.json" if out is not None else "the file's first comments"
    _note(f"{count} sealed variants ({bank.seeding} seeds); their seeds are recorded in {where}")


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


COMPLETION_FILES = {"bash": "nnhand.bash", "zsh": "_nnhand", "fish": "nnhand.fish"}


@app.command()
@handled
def completion(shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")]) -> None:
    """Print the shell completion script (the files in completions/ are this output)."""
    print(completion_script(shell.value), end="")


def completion_script(shell: str) -> str:
    from typer._completion_shared import get_completion_script

    script = get_completion_script(prog_name="nnhand", complete_var="_NNHAND_COMPLETE", shell=shell)
    return script.rstrip("\n") + "\n"


def run() -> None:
    """Console-script entry point."""
    _fallback_streams()
    app(prog_name="nnhand")
