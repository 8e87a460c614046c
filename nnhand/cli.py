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
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from nnhand._version import __version__
from nnhand.choices import BLANK_POLICIES, JUNIT_PER, SCORING_MODES
from nnhand.errors import ExitCode, NnhandError, UsageError
from nnhand.output.registry import choice_enum, choice_phrase
from nnhand.output.report_formats import CATALOGUE_FORMATS, GRADEBOOK_FORMATS, REPORT_FORMATS
from nnhand.output.sheets import KEY_FORMATS, POOL_FORMATS, PRINT_FORMATS, SHEET_FORMATS

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


def _write(text: str | bytes) -> None:
    """A rendering to stdout, exactly as the format made it."""
    if isinstance(text, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(text)
    elif text:
        print(text, end="")


def _name(choice: Any) -> Any:
    """The name of a chosen Enum member (Typer's choices), or the value as it is (None, a str)."""
    return choice.value if isinstance(choice, Enum) else choice


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
# Every list of choices comes from the library: a format from its registry (output/sheets.py,
# output/report_formats.py), a policy from nnhand/choices.py. Adding one there adds it here.

COMPLETION_FILES = {"bash": "nnhand.bash", "zsh": "_nnhand", "fish": "nnhand.fish"}

if TYPE_CHECKING:
    from typing import TypeAlias

    Blanks: TypeAlias = Any  # at run time: the Enum of the choices below
    Scoring: TypeAlias = Any
    Per: TypeAlias = Any
    ListFormat: TypeAlias = Any
    SheetFormat: TypeAlias = Any
    KeyFormat: TypeAlias = Any
    CheckFormat: TypeAlias = Any
    PrintFormat: TypeAlias = Any
    ExportFormat: TypeAlias = Any
    Shell: TypeAlias = Any
else:
    Blanks = choice_enum("Blanks", BLANK_POLICIES)
    Scoring = choice_enum("Scoring", SCORING_MODES)
    Per = choice_enum("Per", JUNIT_PER)
    ListFormat = CATALOGUE_FORMATS.choices("ListFormat")
    SheetFormat = SHEET_FORMATS.choices("SheetFormat")
    KeyFormat = KEY_FORMATS.choices("KeyFormat")
    CheckFormat = REPORT_FORMATS.choices("CheckFormat")
    PrintFormat = PRINT_FORMATS.choices("PrintFormat")
    ExportFormat = POOL_FORMATS.choices("ExportFormat")
    Shell = choice_enum("Shell", tuple(COMPLETION_FILES))

ProblemsDir = Annotated[
    list[Path] | None,
    typer.Option(
        "--problems-dir",
        help="A folder of your own templates (<id>.yaml); repeatable. Also NNHAND_PROBLEMS.",
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
    typer.Option(
        "--blanks", "-b", help=f"Which cells are blank: {choice_phrase(BLANK_POLICIES)} (default: the template's)."
    ),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="Change a size or choice, e.g. --param n_hidden=5; repeatable. Its params: nnhand show TEMPLATE.",
        metavar="NAME=N",
    ),
]
GivensOpt = Annotated[
    Path | None,
    typer.Option(
        "--givens",
        "-g",
        help="Your own numbers (a YAML or JSON mapping; - reads stdin). Sizes are read from their shapes.",
        metavar="FILE",
    ),
]
AugmentedOpt = Annotated[
    bool, typer.Option("--augmented", help="Draw weights and biases as [W | b], inputs as [x; 1].")
]
SecretOpt = Annotated[
    Path | None, typer.Option("--secret-file", help="File holding the secret (else NNHAND_SECRET).", metavar="FILE")
]


def _dirs(problems_dir: list[Path] | None) -> list[str]:
    """The --problems-dir folders, checked (resources adds NNHAND_PROBLEMS itself)."""
    from nnhand.resources import user_dirs

    return user_dirs(problems_dir or [])


def _params(values: list[str] | None) -> dict[str, int | str]:
    from nnhand.api import parse_params

    return parse_params(values or [])


# ----------------------------------------------------------------------------- commands


def _warn_realism(problem: Any, givens: Path | None) -> None:
    """For your own numbers: the template's realism rules they break (a warning, not an error)."""
    if givens is None:
        return
    from nnhand import api

    for why in api.givens_warnings(problem):
        _note(f"warning: these numbers break a rule of the template's own variants: {why}")


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
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help=f"{CATALOGUE_FORMATS.help()}.")] = "terminal",
    params: Annotated[
        bool, typer.Option("--params", help="Also list each template's givens, params and ranges.")
    ] = False,
) -> None:
    """List the templates: id, title and tags (with --params: what each takes)."""
    from nnhand import api
    from nnhand.output.reports import ReportOptions
    from nnhand.safety.safetext import stdout_is_ascii

    rows = api.catalogue(_dirs(problems_dir), params=params)
    _write(CATALOGUE_FORMATS.get(_name(fmt)).renderer()(rows, ReportOptions(ascii_only=stdout_is_ascii())))


@app.command()
@handled
def show(
    template: TemplateArg,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help=f"{CATALOGUE_FORMATS.help()}.")] = "terminal",
    problems_dir: ProblemsDir = None,
) -> None:
    """Show what a template takes: its givens (shapes, labels, fixed defaults), params and ranges."""
    from nnhand import api
    from nnhand.output.reports import ReportOptions
    from nnhand.safety.safetext import stdout_is_ascii

    rows = [api.describe(template, _dirs(problems_dir))]
    _write(CATALOGUE_FORMATS.get(_name(fmt)).renderer()(rows, ReportOptions(ascii_only=stdout_is_ascii())))


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
    givens: GivensOpt = None,
    augmented: AugmentedOpt = False,
    fmt: Annotated[SheetFormat, typer.Option("--format", "-f", help=f"{SHEET_FORMATS.help()}.")] = "terminal",
    problems_dir: ProblemsDir = None,
) -> None:
    """Generate an exercise sheet with blanks (a fresh variant, or your own numbers with --givens)."""
    from nnhand import api

    sheet = api.generate(template, seed, _params(param), _name(blanks), _dirs(problems_dir), answers=answers,
                         givens=givens, augmented=augmented)  # fmt: skip
    _write(SHEET_FORMATS.get(_name(fmt)).renderer()(sheet))
    _warn_realism(sheet.problem, givens)
    if seed is None and givens is None:
        _note(f"fresh seed {sheet.problem.variant.seed}: repeat this sheet with --seed {sheet.problem.variant.seed}")
    if answers is not None:
        _note(f"answer file written to {answers}; check it with: nnhand check {answers}")


@app.command()
@handled
def key(
    template: TemplateArg,
    seed: SeedOpt = None,
    param: ParamOpt = None,
    givens: GivensOpt = None,
    fmt: Annotated[KeyFormat, typer.Option("--format", "-f", help=f"{KEY_FORMATS.help()}.")] = "terminal",
    exact: Annotated[bool, typer.Option("--exact", help="Show exact fractions beside rounded cells.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Write every cell as its worked arithmetic.")] = False,
    problems_dir: ProblemsDir = None,
) -> None:
    """Print the full answer key of a variant (or of your own givens)."""
    from nnhand import api

    problem = api.solve_key(template, seed, _params(param), givens, _dirs(problems_dir))
    _write(KEY_FORMATS.get(_name(fmt)).renderer()(problem, exact=exact, explain=explain))
    _warn_realism(problem, givens)
    if seed is None and givens is None:
        _note(f"fresh seed {problem.variant.seed}: repeat this key with --seed {problem.variant.seed}")


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
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f", help=f"{REPORT_FORMATS.help()}.")] = "terminal",
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
    import dataclasses
    import time

    from nnhand import api
    from nnhand.output.reports import ReportOptions
    from nnhand.safety.safetext import stdout_is_ascii

    start = time.perf_counter()
    chosen = REPORT_FORMATS.get(_name(fmt))
    options = ReportOptions(reveal, show_reading, base64, source=str(answers), ascii_only=stdout_is_ascii())
    try:
        checked = api.check(answers, _dirs(problems_dir), trust_givens=trust_givens, scoring=_name(scoring), ecf=ecf,
                            expect=expect, explain=explain and reveal)  # fmt: skip
    except NnhandError as exc:  # a grader needs a valid file even when grading fails: write one, then fail
        error_renderer = chosen.error_renderer()
        if error_renderer is not None:
            _write(error_renderer(exc.render(), dataclasses.replace(options, seconds=time.perf_counter() - start)))
        raise
    options = dataclasses.replace(options, explanations=checked.worked, seconds=time.perf_counter() - start)
    _write(chosen.renderer()(checked.report, options))
    raise typer.Exit(int(checked.report.exit_code))


@app.command()
@handled
def practice(
    template: TemplateArg,
    seed: SeedOpt = None,
    param: ParamOpt = None,
    blanks: BlanksOpt = None,
    givens: Annotated[
        Path | None, typer.Option("--givens", "-g", help="Practise on your own numbers (a file).", metavar="FILE")
    ] = None,
    problems_dir: ProblemsDir = None,
) -> None:
    """Practise at the prompt: type each blank cell (or a whole row), ? for a hint, s to skip, q to quit."""
    from nnhand import api
    from nnhand.grading.practice import PracticeSession, run_practice

    if sys.stdout is None or sys.stdin is None:
        raise UsageError(
            "practice needs standard input and output",
            fix="Run it in a terminal, or pipe answers in and read its output",
        )
    if givens is not None and str(givens) == "-":
        raise UsageError("practice reads your answers from stdin", where="--givens", fix="Give the givens as a file")
    sheet = api.generate(template, seed, _params(param), _name(blanks), _dirs(problems_dir), givens=givens)
    session = PracticeSession(sheet)  # refuses a sheet that asks nothing before anything is shown
    _write(SHEET_FORMATS.get("terminal").renderer()(sheet))
    echo = not sys.stdin.isatty()  # piped answers are echoed, so that the transcript reads like a session
    raise typer.Exit(int(run_practice(session, input, print, echo)))


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
        list[PrintFormat] | None,
        typer.Option("--format", "-f", help=f"{PRINT_FORMATS.help()}; repeatable (default html)."),
    ] = None,
    blanks: BlanksOpt = None,
    secret_file: SecretOpt = None,
    worked: Annotated[bool, typer.Option("--worked", help="Answer keys show the worked arithmetic.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output folder.")] = False,
    givens: Annotated[
        Path | None,
        typer.Option(
            "--givens",
            "-g",
            help="One exercise with your numbers for everyone (each sheet still sealed).",
            metavar="FILE",
        ),
    ] = None,
    augmented: AugmentedOpt = False,
    problems_dir: ProblemsDir = None,
) -> None:
    """Make a unique variant per student (or your numbers for all): sheets, keys, answer files and a manifest."""
    from nnhand.classroom.build import make_worksheets

    run = make_worksheets(
        templates,
        out,
        roster=roster,
        count=count,
        assignment=assignment,
        formats=[_name(f) for f in fmt or []],
        blanks=_name(blanks),
        secret_file=secret_file,
        worked=worked,
        force=force,
        problems_dirs=_dirs(problems_dir),
        givens=givens,
        augmented=augmented,
    )
    _note(run.message)


def _book_help(name: str) -> str:
    return GRADEBOOK_FORMATS.get(name).help


@app.command()
@handled
def grade(
    manifest: Annotated[Path, typer.Argument(help="The manifest.json nnhand worksheet wrote.", metavar="MANIFEST")],
    submissions: Annotated[Path, typer.Argument(help="A folder of answer files.", metavar="FOLDER")],
    csv_out: Annotated[Path | None, typer.Option("--csv", help=_book_help("csv"), metavar="FILE")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help=_book_help("junit"), metavar="FILE")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help=_book_help("json"), metavar="FILE")] = None,
    per: Annotated[Per, typer.Option("--per", help="JUnit test cases per cell or per step.")] = "cell",
    feedback: Annotated[Path | None, typer.Option("--feedback", help=_book_help("feedback"), metavar="DIR")] = None,
    scoring: Annotated[Scoring | None, typer.Option("--scoring", help=f"{choice_phrase(SCORING_MODES)}.")] = None,
    ecf: Annotated[bool, typer.Option("--ecf/--no-ecf", help="Credit work carried forward.")] = True,
) -> None:
    """Grade a folder of answer files against a manifest: grade book (CSV, JSON), JUnit, feedback."""
    from nnhand.classroom.gradebook import grade_class, summary_text

    outputs = {"csv": csv_out, "json": json_out, "junit": junit, "feedback": feedback}  # GRADEBOOK_FORMATS
    book = grade_class(manifest, submissions, outputs, scoring=_name(scoring), ecf=ecf, per=_name(per))
    _write(summary_text(book))
    raise typer.Exit(int(book.exit_code))


@app.command()
@handled
def export(
    template: TemplateArg,
    count: Annotated[int, typer.Option("--count", "-n", help="How many variants.", min=1, max=1000)] = 10,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help=f"{POOL_FORMATS.help()}.")] = "moodle",
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", "-s", help="Seeds N, N+1, ... (reproducible); omitted: from the secret, else random.", min=0
        ),
    ] = None,
    pool: Annotated[
        str | None, typer.Option("--pool", help="Name of the pool, part of every seed drawn from the secret.")
    ] = None,
    secret_file: SecretOpt = None,
    blanks: BlanksOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="qti: the folder for one item file per variant.")
    ] = None,
    problems_dir: ProblemsDir = None,
) -> None:
    """Export sealed variants as a question pool: Moodle XML (cloze), GIFT or QTI 2.1."""
    from nnhand.classroom.export import export_pool

    made = export_pool(template, _name(fmt), count, first_seed=seed, pool=pool, secret_file=secret_file,
                       blanks=_name(blanks), out=out, problems_dirs=_dirs(problems_dir))  # fmt: skip
    for warning in made.warnings:
        _note(f"warning: {warning}")
    if made.text is not None:
        _write(made.text)
    _note(made.note)


@app.command()
@handled
def completion(shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")]) -> None:
    """Print the shell completion script (the files in completions/ are this output)."""
    print(completion_script(_name(shell)), end="")


def completion_script(shell: str) -> str:
    from typer._completion_shared import get_completion_script

    script = get_completion_script(prog_name="nnhand", complete_var="_NNHAND_COMPLETE", shell=shell)
    return script.rstrip("\n") + "\n"


def run() -> None:
    """Console-script entry point."""
    _fallback_streams()
    app(prog_name="nnhand")
