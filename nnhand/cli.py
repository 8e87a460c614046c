"""The command line: a thin Typer shell over the library.

Each command parses its options, calls one library function and hands the result to a
renderer. Only this module imports typer; at module level it imports nothing else that
is slow, so `nnhand --help` and shell completion never load numpy, yaml or rich.
"""

import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from nnhand._version import __version__
from nnhand.choices import BLANK_POLICIES, JUNIT_PER, SCORING_MODES, TOPICS
from nnhand.errors import ExitCode, NnhandError, UsageError
from nnhand.output.registry import choice_enum, choice_phrase
from nnhand.output.report_formats import CATALOGUE_FORMATS, GRADEBOOK_FORMATS, PROGRESS_FORMATS, REPORT_FORMATS
from nnhand.output.sheets import KEY_FORMATS, POOL_FORMATS, PRINT_FORMATS, SHEET_FORMATS


class NnhandGroup(TyperGroup):
    """The app's click group, running every invocation with standalone_mode off so that click's
    own errors (an unknown option, a missing argument, a bad choice) reach the user in the same
    style as nnhand's: `nnhand: error: ...` and a hint on stderr, exit 2."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        from typer._click import exceptions as click_errors
        from typer.exceptions import Abort

        try:
            returned = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
            code = returned if isinstance(returned, int) else 0  # an int is typer.Exit's code
        except click_errors.NoArgsIsHelpError as exc:  # bare `nnhand`: the help, as click shows it
            exc.show()
            code = exc.exit_code
        except click_errors.UsageError as exc:
            _usage_error(exc)
            code = int(ExitCode.BAD_INPUT)
        except Abort:  # Ctrl-C or end of input at a click prompt
            _error("interrupted")
            code = int(ExitCode.INTERRUPTED)
        except click_errors.ClickException as exc:
            _error(exc.format_message())
            code = exc.exit_code
        if not standalone_mode:
            return code
        sys.exit(code)


def _usage_error(exc: Any) -> None:
    """click's usage error in nnhand's words: the message, then where to read the options."""
    message = exc.format_message()
    if message[:1].isupper() and message[1:2].islower():  # "No such option" -> "no such option"
        message = message[0].lower() + message[1:]
    _error(message)
    command = exc.ctx.command_path if exc.ctx is not None else "nnhand"
    print(f"Try '{command} --help'.", file=sys.stderr)


app = typer.Typer(
    name="nnhand",
    cls=NnhandGroup,
    help="Neural networks by hand: generate pen-and-paper exercises with blanks, and grade the answers.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False, "quiet": False}  # reset by main() on every invocation
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
    """A note or warning on stderr; -q/--quiet leaves only errors and the output asked for."""
    from nnhand.safety.safetext import plain

    if not _state["quiet"]:
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
        if sys.stdout.isatty():  # a PDF on a terminal is noise and can leave it in a strange state
            raise UsageError("this format is binary and stdout is a terminal", where="--format",
                             fix="Write it to a file: -o FILE, or > FILE")  # fmt: skip
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
    ProgressFormat: TypeAlias = Any
    PrintFormat: TypeAlias = Any
    ExportFormat: TypeAlias = Any
    Shell: TypeAlias = Any
    Topic: TypeAlias = Any
else:
    Blanks = choice_enum("Blanks", BLANK_POLICIES)
    Scoring = choice_enum("Scoring", SCORING_MODES)
    Per = choice_enum("Per", JUNIT_PER)
    ListFormat = CATALOGUE_FORMATS.choices("ListFormat")
    SheetFormat = SHEET_FORMATS.choices("SheetFormat")
    KeyFormat = KEY_FORMATS.choices("KeyFormat")
    CheckFormat = REPORT_FORMATS.choices("CheckFormat")
    ProgressFormat = PROGRESS_FORMATS.choices("ProgressFormat")
    PrintFormat = PRINT_FORMATS.choices("PrintFormat")
    ExportFormat = POOL_FORMATS.choices("ExportFormat")
    Shell = choice_enum("Shell", tuple(COMPLETION_FILES))
    Topic = choice_enum("Topic", tuple(TOPICS))

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
OptionalTemplateArg = Annotated[
    str | None,
    typer.Argument(
        help="A template id (see 'nnhand list'); with --weakest, optional.",
        autocompletion=complete_template,
        metavar="[TEMPLATE]",
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


def _set_quiet(value: bool) -> bool:
    if value:
        _state["quiet"] = True
    return value


QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No notes or warnings on stderr: only errors and the output.", callback=_set_quiet
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the output to FILE (whole or not at all) instead of stdout; - is stdout.",
        metavar="FILE",
    ),
]


def _dirs(problems_dir: list[Path] | None) -> list[str]:
    """The --problems-dir folders, checked (resources adds NNHAND_PROBLEMS itself)."""
    from nnhand.resources import user_dirs

    return user_dirs(problems_dir or [])


def _params(values: list[str] | None) -> dict[str, int | str]:
    from nnhand.api import parse_params

    return parse_params(values or [])


def _output_file(output: Path | None, *inputs: tuple[str, Path | None]) -> Path | None:
    """The -o/--output file (None for stdout), checked before any work: its folder exists, and
    it is none of the command's other files (`inputs`: (what names it, path)), which it would overwrite."""
    if output is None or str(output) == "-":
        return None
    from nnhand.safety.atomic import check_destination

    check_destination(output)
    for label, other in inputs:
        if other is not None and str(other) != "-" and os.path.abspath(other) == os.path.abspath(output):
            raise UsageError(f"--output {output} is also {label}", fix="Write the output elsewhere, not over it")
    return output


def _emit(output: Path | None, render: Callable[[], str | bytes]) -> None:
    """What `render` makes, to stdout or (-o FILE) to the file, whole or not at all. For a file
    it renders as into a pipe (no colour, no \\u escapes), whatever stdout is, so that the file
    holds the bytes `> FILE` would."""
    if output is None:
        _write(render())
        return
    import contextlib
    import io

    from nnhand.safety.atomic import write_file

    with contextlib.redirect_stdout(io.StringIO()):  # what renderers ask of stdout, a file answers
        text = render()
    write_file(output, text)


def _refuse(option: str, unless: str, fix: str) -> None:
    """An option that does nothing here: refused rather than silently ignored."""
    raise UsageError(f"{option} {unless}", fix=fix)


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
    _state["quiet"] = False  # a command's -q/--quiet sets it (its callback runs after this)
    _fallback_streams()


@app.command("list")
@handled
def list_(
    problems_dir: ProblemsDir = None,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help=f"{CATALOGUE_FORMATS.help()}.")] = "terminal",
    params: Annotated[
        bool, typer.Option("--params", help="Also list each template's givens, params and ranges.")
    ] = False,
    topic: Annotated[
        Topic | None, typer.Option("--topic", "-t", help="Only the templates of this topic (the headings of the list).")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """List the templates by topic: id, title and tags (with --params: what each takes)."""
    from nnhand import api
    from nnhand.output.reports import ReportOptions
    from nnhand.safety.safetext import stdout_is_ascii

    output = _output_file(output)
    rows = api.catalogue(_dirs(problems_dir), params=params)
    if topic is not None:
        rows = [row for row in rows if row["topic"] == _name(topic)]
    render = CATALOGUE_FORMATS.get(_name(fmt)).renderer()
    _emit(output, lambda: render(rows, ReportOptions(ascii_only=stdout_is_ascii())))


@app.command()
@handled
def show(
    template: TemplateArg,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help=f"{CATALOGUE_FORMATS.help()}.")] = "terminal",
    problems_dir: ProblemsDir = None,
    output: OutputOpt = None,
) -> None:
    """Show what a template takes: its givens (shapes, labels, fixed defaults), params and ranges."""
    from nnhand import api
    from nnhand.output.reports import ReportOptions
    from nnhand.safety.safetext import stdout_is_ascii

    output = _output_file(output)
    rows = [api.describe(template, _dirs(problems_dir))]
    render = CATALOGUE_FORMATS.get(_name(fmt)).renderer()
    _emit(output, lambda: render(rows, ReportOptions(ascii_only=stdout_is_ascii())))


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
    output: OutputOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Generate an exercise sheet with blanks (a fresh variant, or your own numbers with --givens)."""
    from nnhand import api

    output = _output_file(output, ("--answers", answers), ("--givens", givens))
    if answers is not None:
        _output_file(answers, ("--givens", givens))
    sheet = api.generate(template, seed, _params(param), _name(blanks), _dirs(problems_dir), answers=answers,
                         givens=givens, augmented=augmented)  # fmt: skip
    _emit(output, lambda: SHEET_FORMATS.get(_name(fmt)).renderer()(sheet))
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
    blanks: BlanksOpt = None,
    givens: GivensOpt = None,
    fmt: Annotated[KeyFormat, typer.Option("--format", "-f", help=f"{KEY_FORMATS.help()}.")] = "terminal",
    exact: Annotated[bool, typer.Option("--exact", help="Show exact fractions beside rounded cells.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Write every cell as its worked arithmetic.")] = False,
    problems_dir: ProblemsDir = None,
    output: OutputOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Print the full answer key of a variant (or of your own givens)."""
    from nnhand import api

    output = _output_file(output, ("--givens", givens))
    problem = api.solve_key(template, seed, _params(param), givens, _dirs(problems_dir))
    render = KEY_FORMATS.get(_name(fmt)).renderer()
    _emit(output, lambda: render(problem, exact=exact, explain=explain, blanks=_name(blanks)))
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
    output: OutputOpt = None,
) -> None:
    """Grade an answer file cell by cell: exit 0 all right, 1 something wrong or missing, 2 bad input."""
    import dataclasses
    import time

    from nnhand import api
    from nnhand.output.reports import ReportOptions
    from nnhand.safety.safetext import stdout_is_ascii

    start = time.perf_counter()
    chosen = REPORT_FORMATS.get(_name(fmt))
    _refuse_unread(chosen.name, {"--base64": base64, "--show-reading": show_reading, "--explain": explain})
    output = _output_file(output, ("the answer file", answers))
    ascii_only = stdout_is_ascii() and output is None  # a file is written as UTF-8
    options = ReportOptions(reveal, show_reading, base64, source=str(answers), ascii_only=ascii_only)
    try:
        checked = api.check(answers, _dirs(problems_dir), trust_givens=trust_givens, scoring=_name(scoring), ecf=ecf,
                            expect=expect, explain=explain and reveal)  # fmt: skip
    except NnhandError as exc:  # a grader needs a valid file even when grading fails: write one, then fail
        options = dataclasses.replace(options, seconds=time.perf_counter() - start)
        _check_failed(chosen, exc, options, output, expect, _name(scoring), problems_dir)
        raise
    options = dataclasses.replace(options, explanations=checked.worked, seconds=time.perf_counter() - start)
    _emit(output, lambda: chosen.renderer()(checked.report, options))
    raise typer.Exit(int(checked.report.exit_code))


def _check_failed(
    chosen: Any, exc: NnhandError, options: Any, output: Path | None, expect: str | None, scoring: str | None,
    problems_dir: list[Path] | None,
) -> None:  # fmt: skip
    """The error result of a format that has one (Classroom, Gradescope, JUnit, JSON), worth
    what the file was worth, so that the points still count as missed."""
    import dataclasses

    from nnhand.output.reports import points_possible

    error_renderer = chosen.error_renderer()
    if error_renderer is None:
        return
    try:
        worth = points_possible(options.source, expect, scoring, _dirs(problems_dir))
    except NnhandError:  # the --problems-dir itself is what failed
        worth = None
    message, failed = exc.render(), dataclasses.replace(options, max_score=worth)
    _emit(output, lambda: error_renderer(message, failed))


# The check options a format reads; with any other format they would be silently ignored.
# (--explain with --no-reveal is not refused: --no-reveal is the safety a course's wrapper
# adds, and it wins: the worked lines show expected values, so they go.)
_CHECK_FORMATS_READING = {
    "--base64": ("classroom",),
    "--show-reading": ("terminal",),
    "--explain": ("terminal", "json"),
}


def _refuse_unread(fmt: str, asked: dict[str, bool]) -> None:
    for option, given in asked.items():
        if given and fmt not in _CHECK_FORMATS_READING[option]:
            formats = " or ".join(f"--format {name}" for name in _CHECK_FORMATS_READING[option])
            _refuse(option, f"is read only with {formats}", f"Add {formats}, or leave {option} out")


@app.command()
@handled
def practice(
    template: OptionalTemplateArg = None,
    seed: SeedOpt = None,
    param: ParamOpt = None,
    blanks: BlanksOpt = None,
    givens: Annotated[
        Path | None, typer.Option("--givens", "-g", help="Practise on your own numbers (a file).", metavar="FILE")
    ] = None,
    tries: Annotated[
        int, typer.Option("--tries", "-t", help="Answers a cell takes before its key is shown.", min=1, max=9)
    ] = 2,
    steps: Annotated[
        str | None, typer.Option("--steps", help="Ask only these steps, e.g. --steps h,y.", metavar="NAMES")
    ] = None,
    weakest: Annotated[
        bool, typer.Option("--weakest", help="Practise the template and steps your history says you miss most.")
    ] = False,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Keep no record of this session (see nnhand progress).")
    ] = False,
    problems_dir: ProblemsDir = None,
) -> None:
    """Practise at the prompt: type each blank cell (or a whole row), ? for a hint, s to skip, q to quit."""
    from nnhand import api
    from nnhand.grading.history import history_path
    from nnhand.grading.practice import run_practice
    from nnhand.output.terminal import output_width

    _need_terminal_streams(givens)
    chosen = api.practice(template, seed, _params(param), _name(blanks), _dirs(problems_dir), givens=givens,
                          tries=tries, steps=_names(steps), weakest=weakest,
                          history=None if no_history else history_path())  # fmt: skip
    if chosen.chosen:
        _note(f"your weakest: {chosen.chosen}")
    _write(SHEET_FORMATS.get("terminal").renderer()(chosen.session.sheet))
    echo = not sys.stdin.isatty()  # piped answers are echoed, so that the transcript reads like a session
    if not echo:
        _line_editing()
    code = run_practice(chosen.session, input, print, echo, output_width(), chosen.record)
    if chosen.record is not None and chosen.record.error:
        _note(chosen.record.error)
    raise typer.Exit(int(code))


def _need_terminal_streams(givens: Path | None) -> None:
    if sys.stdout is None or sys.stdin is None:
        raise UsageError(
            "practice needs standard input and output",
            fix="Run it in a terminal, or pipe answers in and read its output",
        )
    if givens is not None and str(givens) == "-":
        raise UsageError("practice reads your answers from stdin", where="--givens", fix="Give the givens as a file")


def _line_editing() -> None:
    """Arrow keys, Home/End and the up arrow's history at the prompt, where the platform has
    readline (importing it is what makes input() use it)."""
    import contextlib

    with contextlib.suppress(ImportError):  # Windows without pyreadline: plain input
        import readline  # noqa: F401


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


@app.command()
@handled
def progress(
    fmt: Annotated[ProgressFormat, typer.Option("--format", "-f", help=f"{PROGRESS_FORMATS.help()}.")] = "terminal",
    output: OutputOpt = None,
) -> None:
    """Your practice so far: accuracy per topic and step, session by session, and your weakest step."""
    from nnhand import api
    from nnhand.grading.history import history_path
    from nnhand.output.terminal import output_width

    output = _output_file(output)
    path = history_path()
    found, skipped = api.progress(path)
    if skipped:
        _note(f"{path}: {skipped} line{'s' if skipped > 1 else ''} that did not read, left out")
    render = PROGRESS_FORMATS.get(_name(fmt)).renderer()
    _emit(output, lambda: render(found, str(path), output_width() if output is None else 80))


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
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", help="PDFs typeset this many at a time (default: every usable core).", metavar="N"
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="Make only shard K of N (the K-th of N blocks of the roster), with --secret-file and "
            "--assignment; join the shards' folders with 'nnhand merge'.",
            metavar="K/N",
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Make a unique variant per student (or your numbers for all): sheets, keys, answer files and a manifest."""
    from nnhand.classroom.build import make_worksheets
    from nnhand.classroom.shards import parse_shard

    block = parse_shard(shard) if shard is not None else None
    with _progress_bar() as progress:
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
            jobs=jobs,
            shard=block,
            progress=progress,
        )
    _note(run.message)


@contextmanager
def _progress_bar() -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar on stderr where it is a terminal (and not --quiet); in a pipe, nothing."""
    if _state["quiet"] or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _book_help(name: str) -> str:
    return GRADEBOOK_FORMATS.get(name).help


# What `grade --format` prints: the summary, or one grade-book format that is a single file.
GRADE_PRINTS = ("terminal", *(f.name for f in GRADEBOOK_FORMATS if not f.files))
if TYPE_CHECKING:
    GradePrint: TypeAlias = Any
else:
    GradePrint = choice_enum("GradePrint", GRADE_PRINTS)


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
    report: Annotated[Path | None, typer.Option("--report", help=_book_help("report"), metavar="DIR")] = None,
    scoring: Annotated[Scoring | None, typer.Option("--scoring", help=f"{choice_phrase(SCORING_MODES)}.")] = None,
    ecf: Annotated[bool, typer.Option("--ecf/--no-ecf", help="Credit work carried forward.")] = True,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="Grade only the files of shard K of N (the K-th of N blocks of the manifest's students); "
            "join the shards' --json books with 'nnhand merge'.",
            metavar="K/N",
        ),
    ] = None,
    fmt: Annotated[
        GradePrint,
        typer.Option(
            "--format",
            "-f",
            help=f"What to print: {choice_phrase(GRADE_PRINTS)} (terminal: the summary and class statistics).",
        ),
    ] = "terminal",
    quiet: QuietOpt = False,
) -> None:
    """Grade a folder of answer files against a manifest: grade book (CSV, JSON), JUnit, feedback, statistics."""
    from nnhand.classroom.gradebook import GradeBookOptions, grade_class, summary_text
    from nnhand.classroom.shards import parse_shard
    from nnhand.safety.safetext import stdout_is_ascii

    block = parse_shard(shard) if shard is not None else None
    outputs = {"csv": csv_out, "json": json_out, "junit": junit, "feedback": feedback, "report": report}
    book = grade_class(manifest, submissions, outputs, scoring=_name(scoring), ecf=ecf, per=_name(per), shard=block)
    if _name(fmt) == "terminal":
        _write(summary_text(book, unicode=not stdout_is_ascii()))
    else:
        options = GradeBookOptions(per=_name(per), ascii_only=stdout_is_ascii())
        _write(GRADEBOOK_FORMATS.get(_name(fmt)).renderer()(book, options))
    raise typer.Exit(int(book.exit_code))


def _merged_book_help(name: str) -> str:
    return "Grade books: " + _book_help(name)


@app.command()
@handled
def merge(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="The shards: folders of worksheet --shard, their manifest.json files, or grade --shard --json books.",
            metavar="SHARD...",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="The merged folder, manifest or JSON grade book (as one unsharded run writes it).",
            metavar="PATH",
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output nnhand wrote.")] = False,
    csv_out: Annotated[Path | None, typer.Option("--csv", help=_merged_book_help("csv"), metavar="FILE")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help=_merged_book_help("junit"), metavar="FILE")] = None,
    feedback: Annotated[
        Path | None, typer.Option("--feedback", help=_merged_book_help("feedback"), metavar="DIR")
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help=_merged_book_help("report"), metavar="DIR")] = None,
    per: Annotated[Per, typer.Option("--per", help="Grade books: JUnit test cases per cell or per step.")] = "cell",
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="Grade books: the manifest they were graded against.", metavar="FILE"),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Join the shards of a worksheet or grade run into what one unsharded run writes, byte for byte."""
    from nnhand.classroom.merge import merge as merge_shards

    books = {"csv": csv_out, "junit": junit, "feedback": feedback, "report": report}
    outputs = {name: path for name, path in books.items() if path is not None}
    run = merge_shards(inputs, out, force=force, book_outputs=outputs, manifest=manifest, per=_name(per))
    _note(run.message)


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
        Path | None,
        typer.Option("--out", "-o", help="Write the pool to FILE (qti: a .zip) instead of stdout.", metavar="FILE"),
    ] = None,
    problems_dir: ProblemsDir = None,
    quiet: QuietOpt = False,
) -> None:
    """Export sealed variants as a question pool: Moodle XML (cloze), GIFT or QTI 2.1 (a content package)."""
    from nnhand.classroom.export import export_pool

    made = export_pool(template, _name(fmt), count, first_seed=seed, pool=pool, secret_file=secret_file,
                       blanks=_name(blanks), out=None if str(out) == "-" else out,
                       terminal=sys.stdout.isatty(), problems_dirs=_dirs(problems_dir))  # fmt: skip
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


# ----------------------------------------------------------------------------- examples
# The Examples section of each command's --help, kept here, one list, so that one test
# (tests/test_readme.py) runs every line of it in order in one folder, as a reader would:
# later lines use the files earlier ones make. `# exit N` states an exit code other than 0.

EXAMPLES: dict[str, list[str]] = {
    "": [
        "nnhand gen hidden-layer --seed 7 --answers answers.yaml",
        "nnhand check answers.yaml              # exit 1 until every blank is right",
        "nnhand key hidden-layer --seed 7",
    ],
    "list": [
        "nnhand list",
        "nnhand list --topic convolution",
        "nnhand list --params --format json -o templates.json",
    ],
    "show": [
        "nnhand show hidden-layer",
        "nnhand show self-attention --format json",
    ],
    "gen": [
        "nnhand gen single-neuron                # a fresh variant (its seed: on stderr)",
        "nnhand gen hidden-layer --seed 7 --answers answers.yaml",
        "nnhand gen hidden-layer --seed 3 --param n_hidden=5 --blanks one -q",
        "nnhand gen single-neuron --givens mine.yaml --format json -o sheet.json",
    ],
    "key": [
        "nnhand key hidden-layer --seed 7",
        "nnhand key single-neuron --givens mine.yaml --explain",
        "nnhand key hidden-layer --seed 7 --format yaml -o key.yaml",
    ],
    "check": [
        "nnhand check answers.yaml              # exit 1 until every blank is right",
        "nnhand check answers.yaml --format junit -o report.xml   # exit 1",
        "nnhand check answers.yaml --format classroom --base64    # exit 1",
    ],
    "practice": [
        "nnhand practice single-neuron           # ? hints, s skips, q quits; exit 1 unless all right",
        "nnhand practice hidden-layer --seed 7 --blanks one   # one blank cell; exit 1 unless right",
        "nnhand practice hidden-layer --tries 3 --steps y       # three tries a cell, only y; exit 1 unless right",
        "nnhand practice --weakest              # your most-missed steps; exit 2 with none on record yet",
    ],
    "progress": [
        "nnhand progress                        # accuracy per topic and step, and your weakest step",
        "nnhand progress --format json -o progress.json",
    ],
    "worksheet": [
        "nnhand worksheet hidden-layer backprop --roster class.csv --assignment hw3 --out build/hw3",
        "nnhand worksheet matmul --count 5 --format pdf --format html --out build/quiz",
        "nnhand worksheet matmul --count 6 --assignment q2 --shard 1/2 --out build/q2-part1 --jobs 2",
        "nnhand worksheet matmul --count 6 --assignment q2 --shard 2/2 --out build/q2-part2",
    ],
    "merge": [
        "nnhand merge build/q2-part1 build/q2-part2 --out build/q2",
        "nnhand merge build/q2-part1/manifest.json build/q2-part2/manifest.json --out q2-manifest.json",
    ],
    "grade": [
        "nnhand grade build/hw3/manifest.json submissions/ --csv grades.csv",
        "nnhand grade build/hw3/manifest.json submissions/ --json grades.json --feedback feedback/",
    ],
    "export": [
        "nnhand export transformer --count 20 --format moodle > pool.xml",
        "nnhand export matmul --count 50 --format gift --pool exam1 > exam1.gift",
    ],
    "completion": [
        "source <(nnhand completion bash)       # completion in this bash session",
        "nnhand completion zsh > _nnhand        # then move _nnhand to a folder on your $fpath",
    ],
}


def _examples_epilog(lines: list[str]) -> str:
    # click rewraps an epilog's paragraphs; \b before one keeps its lines as they are
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


app.info.epilog = _examples_epilog(EXAMPLES[""])
for _command in app.registered_commands:
    _name_of = _command.name or (_command.callback.__name__ if _command.callback else "")
    if _command.epilog is None and _name_of in EXAMPLES:
        _command.epilog = _examples_epilog(EXAMPLES[_name_of])


def run() -> None:
    """Console-script entry point."""
    _fallback_streams()
    app(prog_name="nnhand")
