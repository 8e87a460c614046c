"""Practice at the prompt: the learner types each blank cell and hears at once if it is right.

The session is a small state machine that never prints: the CLI feeds it lines and shows
what it answers. A line may be a number, several numbers (they fill the next blanks of
the step, e.g. a whole row; more than the step has left is refused, not dropped), `?` for
a hint (first which row and column to combine, then the products to add), `s` to skip the
cell or `q` to quit.

A wrong answer is not answered with the key at once: the learner hears the slip it looks
like (diagnosis: a forgotten bias, a ReLU, a sign, a term left out) or, when none fits,
the next hint, and tries again; only the last of `tries` answers shows the key and its
worked arithmetic. The summary counts the cells right at the first try (with no hint)
apart, and `answered` keeps every cell answered for the learner's record (history.py).

Typed numbers go through the reader answer files use (reading.read_number), with its
bounds: a line is at most MAX_LINE characters, an exponent at most ±400, and what is
echoed back is the learner's own text (2/3 stays 2/3), cleaned of control characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np

from nnhand.core.explain import Explainer
from nnhand.core.inverse import given_step
from nnhand.core.reading import cell_name, read_number
from nnhand.core.sheet import Sheet
from nnhand.core.template import Step
from nnhand.errors import CellError, ExitCode, NnhandError
from nnhand.grading.answers import require_blanks
from nnhand.grading.grade import accepted_range, tolerance
from nnhand.ops.registry import hint_of
from nnhand.ops.written import Node, Site
from nnhand.safety.safetext import one_line, wrapped
from nnhand.values import exact_fraction, format_number

MAX_LINE = 1000  # a row of a hand exercise is a few dozen characters


@dataclass
class Prompt:
    step: Step
    cell: str
    row: int
    col: int


@dataclass
class Reply:
    kind: str  # right | retry | wrong | hint | skip | quit | invalid
    message: str
    cell: str | None = None


@dataclass(frozen=True)
class Answered:
    """A cell answered: right, or wrong at its last try (the learner's record keeps these)."""

    step: str
    cell: str
    right: bool
    tries: int
    slip: str | None
    hints: int


@dataclass
class PracticeSession:
    """`tries`: how many answers a cell takes before its key is shown (a wrong one before
    that gets the slip it looks like, or the first hint, and another try); `steps`: ask only
    these steps (the sheet shows the others filled in)."""

    sheet: Sheet
    tries: int = 2
    steps: tuple[str, ...] = ()
    prompts: list[Prompt] = field(default_factory=list)
    position: int = 0
    right: int = 0
    first_try: int = 0  # right at the first try, with no hint
    wrong: int = 0
    skipped: int = 0
    hints_taken: dict[str, int] = field(default_factory=dict)
    quit: bool = False
    # every cell answered (right, or wrong at its last try), for the learner's record
    answered: list[Answered] = field(default_factory=list)
    _misses: int = 0  # wrong answers to the current cell so far
    _slip: str | None = None  # the slip of the current cell's last wrong answer

    def __post_init__(self) -> None:
        if self.tries < 1:
            raise NnhandError(f"--tries {self.tries} gives no try at all", where="--tries", fix="Use 1 or more")
        if self.steps:
            self.sheet = only_steps(self.sheet, self.steps)
        require_blanks(self.sheet, "--blanks", NnhandError, purpose="practise")
        shapes = self.sheet.problem.shapes
        for name in self.sheet.blank_givens():  # the inverse pattern: the given to solve for
            step = given_step(self.sheet.problem.template, name)
            for i, j in zip(*np.nonzero(self.sheet.blanks[name])):
                self.prompts.append(Prompt(step, cell_name(name, shapes[name], int(i), int(j)), int(i), int(j)))
        for step in self.sheet.asked():
            mask = self.sheet.blanks[step.name]
            for i, j in zip(*np.nonzero(mask)):
                cell = cell_name(step.name, shapes[step.name], int(i), int(j))
                self.prompts.append(Prompt(step, cell, int(i), int(j)))
        self._explainer = Explainer(self.sheet.problem)

    @property
    def current(self) -> Prompt | None:
        if self.quit or self.position >= len(self.prompts):
            return None
        return self.prompts[self.position]

    @property
    def done(self) -> bool:
        return self.current is None

    def prompt_text(self) -> str:
        """What the prompt shows: how far along, the score so far, the cell."""
        prompt = self.current
        if prompt is None:
            return ""
        attempt = f", try {self._misses + 1} of {self.tries}" if self._misses else ""
        return f"[{self.position + 1}/{len(self.prompts)}, {self.right} right{attempt}] {prompt.cell} = "

    def respond(self, line: str) -> list[Reply]:
        """What the session says to one line of input."""
        prompt = self.current
        if prompt is None:
            return []
        text = line.strip()
        if text.lower() in ("q", "quit", "exit"):
            self.quit = True
            return [Reply("quit", "Stopping here.")]
        if text.lower() in ("s", "skip"):
            self.skipped += 1
            self._advance()
            return [Reply("skip", f"Skipped {prompt.cell}.", prompt.cell)]
        if text in ("?", "h", "hint"):
            return [self.hint(prompt)]
        if not text:
            return [Reply("invalid", "Type a number, ? for a hint, s to skip or q to quit.")]
        if len(text) > MAX_LINE:
            return [Reply("invalid", f"That line is over {MAX_LINE} characters: type the numbers of one row at most.")]
        if prompt.step.words:  # a name (nn.ReLU()): one cell, read by the word reader
            from nnhand.grading.answers import read_word_answer

            vocabulary = self.sheet.problem.template.vocabulary
            reading = read_word_answer(text, prompt.step, vocabulary, prompt.cell)
            index = reading.cells[0][0]
            if index is None:
                reason = reading.unreadable[(0, 0)].reason
                message = f"{prompt.cell}: {reason}; or ? for a hint, s to skip, q to quit."
                return [Reply("invalid", message, prompt.cell)]
            return [self._check(prompt, index, "")]
        parts = [p for p in re.split(r"[\s;]+|,\s+", text) if p]
        left = self._left_in_step()
        if len(parts) > len(left):
            cells = left[0].cell if len(left) == 1 else f"{left[0].cell} to {left[-1].cell}"
            return [
                Reply(
                    "invalid",
                    f"That is {len(parts)} numbers and {prompt.step.name} has {len(left)} blank"
                    f"{'s' if len(left) > 1 else ''} left ({cells}): type at most {len(left)}.",
                    prompt.cell,
                )
            ]
        values = []
        for part, cell in zip(parts, left):  # every number read before any is checked
            try:
                values.append(Fraction(read_number(part, cell.cell)))
            except CellError as exc:
                # The reader's message quotes the text cleaned and shortened (reading.read_number).
                return [Reply("invalid", f"{exc.message}; or ? for a hint, s to skip, q to quit.", cell.cell)]
        replies: list[Reply] = []
        for n, (part, value) in enumerate(zip(parts, values)):  # several numbers fill the next blanks of the step
            reply = self._check(self.prompts[self.position], value, part)
            replies.append(reply)
            if reply.kind == "retry" and n + 1 < len(parts):
                rest = len(parts) - n - 1
                unread = (
                    f"The {rest} numbers after it were not checked: type them"
                    if rest > 1
                    else ("The number after it was not checked: type it")
                )
                replies.append(Reply("invalid", f"{unread} again after this one."))
                break
        return replies

    def _left_in_step(self) -> list[Prompt]:
        """The blanks from the current one to the end of its step."""
        name = self.prompts[self.position].step.name
        left = []
        for prompt in self.prompts[self.position :]:
            if prompt.step.name != name:
                break
            left.append(prompt)
        return left

    def _advance(self) -> None:
        self.position += 1
        self._misses = 0
        self._slip = None

    def _answered(self, prompt: Prompt, right: bool) -> None:
        hints = self.hints_taken.get(prompt.cell, 0)
        self.answered.append(Answered(prompt.step.name, prompt.cell, right, self._misses + 1, self._slip, hints))
        if right:
            self.right += 1
            self.first_try += self._misses == 0 and hints == 0
        else:
            self.wrong += 1
        self._advance()

    def _missed(self, prompt: Prompt, written: str, slip: str | None, reveal: str) -> Reply:
        """A wrong answer: another try with the slip or a hint, or, at the last try, the key."""
        self._slip = slip or self._slip
        if self._misses + 1 < self.tries:
            self._misses += 1
            advice = slip
            if advice is None:  # no slip fits: the next hint the learner has not had yet (counted as taken)
                level = min(2, self.hints_taken.get(prompt.cell, 0) + 1)
                self.hints_taken[prompt.cell] = level
                advice = self.hint_text(prompt, level)
            return Reply("retry", f"✗ {prompt.cell}: not {written}. {advice} Try again.", prompt.cell)
        self._answered(prompt, right=False)
        return Reply("wrong", f"✗ {prompt.cell}: not {written}; {reveal}", prompt.cell)

    def _given_line(self, prompt: Prompt) -> str:
        from nnhand.core.explain import explain_given
        from nnhand.core.inverse import GivenCell

        return " ".join(explain_given(self.sheet.problem, GivenCell(prompt.step.name, prompt.row, prompt.col)))

    def _check_given(self, prompt: Prompt, value: Fraction, written: str) -> Reply:
        """A blank given (inverse): the one whole number that gives the shown steps."""
        key = self.sheet.problem.givens[prompt.step.name][prompt.row, prompt.col]
        if value == exact_fraction(key):
            self._answered(prompt, right=True)
            return Reply("right", f"✓ {prompt.cell} = {written}", prompt.cell)
        return self._missed(prompt, written, None, f"it is {format_number(key)}. {self._given_line(prompt)}")

    def _check(self, prompt: Prompt, value: Fraction, typed: str) -> Reply:
        """One answer to the current cell. `typed` is the text as the learner wrote it (echoed
        back so: 2/3 stays 2/3), empty for a word answer."""
        problem = self.sheet.problem
        step = prompt.step
        word = problem.template.word
        written = word(step, value) or _as_typed(typed) or format_number(value, 6)
        if step.name in problem.givens:
            return self._check_given(prompt, value, written)
        key = problem.values[step.name][prompt.row, prompt.col]
        exact = exact_fraction(problem.exact[step.name][prompt.row, prompt.col])
        low, high, accepted = accepted_range([exact_fraction(key), exact], step.decimals)
        if low <= value <= high or value == exact:
            self._answered(prompt, right=True)
            return Reply("right", f"✓ {prompt.cell} = {written}", prompt.cell)
        tol = tolerance(step.decimals)
        slip = self._slip_of(prompt, value, tol)
        if slip is None and tol and abs(value - exact) <= 10 * tol:
            slip = f"Close: round to {step.decimals} decimal{'s' if step.decimals != 1 else ''}."
        note = f" (accepted: {accepted})" if tol else ""
        right = word(step, key) or format_number(key, step.decimals)
        reveal = f"it is {right}{note}. {self._explainer.cell(step, prompt.row, prompt.col)}"
        return self._missed(prompt, written, slip, reveal)

    def _slip_of(self, prompt: Prompt, value: Fraction, tol: Fraction) -> str | None:
        """The common slip a wrong answer looks like (diagnosis: a forgotten bias or ReLU, a
        sign, a term left out), worked out from the sheet's own numbers."""
        from nnhand.grading.diagnosis import diagnose

        problem = self.sheet.problem
        step = prompt.step
        if step.words:
            return None
        env = problem.env(steps=True)
        expected = problem.values[step.name]
        found = diagnose(problem.template, step, env, expected, [(prompt.row, prompt.col, value)], tol)
        if not found:
            return None
        message = found[0]
        prefix = f"{prompt.cell}: "
        return message[len(prefix) :].capitalize() if message.startswith(prefix) else message

    def _first_hint(self, prompt: Prompt) -> str:
        """The first hint, as a sentence (what a retry says when no slip fits)."""
        if prompt.step.name in self.sheet.problem.givens:
            return f"Write a shown step that reads {prompt.cell} and solve it for {prompt.cell}."
        combine = _what_to_combine(prompt, self.sheet.problem.shapes)
        return combine or prompt.step.hint or f"Compute {prompt.step.label}."

    def hint(self, prompt: Prompt) -> Reply:
        """First what to combine; asked again, the products to add."""
        taken = self.hints_taken.get(prompt.cell, 0) + 1
        self.hints_taken[prompt.cell] = taken
        return Reply("hint", f"Hint: {self.hint_text(prompt, taken)}", prompt.cell)

    def hint_text(self, prompt: Prompt, level: int) -> str:
        """The hint of `level` 1 (what to combine) or 2 (the products to add, the answer left out)."""
        if level == 1:
            return self._first_hint(prompt)
        if prompt.step.name in self.sheet.problem.givens:  # inverse: the line of the step to solve
            line = self._given_line(prompt)
            return f"{line.rsplit(' = ', 1)[0]} = ?"
        worked = self._explainer.cell(prompt.step, prompt.row, prompt.col)
        steps = worked.split(" = ")
        middle = " = ".join(steps[1:-1]) if len(steps) > 2 else ""
        return f"{prompt.cell} = {middle} = ?" if middle else prompt.step.label

    def summary(self) -> dict[str, int]:
        return {
            "right": self.right,
            "first_try": self.first_try,
            "wrong": self.wrong,
            "skipped": self.skipped,
            "unanswered": len(self.prompts) - self.position,
            "total": len(self.prompts),
        }


def only_steps(sheet: Sheet, steps: Sequence[str]) -> Sheet:
    """The sheet with blanks in `steps` alone: the other steps are shown filled in."""
    asked = [s.name for s in sheet.asked()]
    unknown = [name for name in steps if name not in asked]
    if unknown:
        raise NnhandError(
            f"{sheet.problem.template.id} asks no step '{one_line(unknown[0])[:40]}'",
            where="--steps",
            fix=f"Name steps it asks: {', '.join(asked)}",
        )
    blanks = {
        name: mask if name in steps else np.zeros_like(mask) for name, mask in sheet.blanks.items() if name in asked
    }
    return replace(sheet, blanks=blanks)


def _as_typed(text: str) -> str:
    """A number as the learner typed it, for the echo: cleaned, and shortened if long."""
    shown = one_line(text.strip())
    return shown if len(shown) <= ECHO_NUMBER else shown[: ECHO_NUMBER - 1] + "…"


ECHO_NUMBER = 24  # characters of a typed number echoed back


def _what_to_combine(prompt: Prompt, shapes: Mapping[str, tuple[int, ...]]) -> str | None:
    """'Multiply row 2 of W1 by column 1 of x ..., then add b1 (row 2).' from the step's op, if it says."""
    root = prompt.step.expr.tree
    site = Site(root, shapes, _no_values)  # a hint reads the tree and the shapes, no values
    hint = hint_of(root, site, prompt.row, prompt.col)
    return hint.sentence() if hint is not None else None


def _no_values(node: Node) -> np.ndarray:
    raise ValueError(f"a hint does not evaluate {node.source!r}")


# ----------------------------------------------------------------------------- the session at a prompt

INTRO = "Type each answer (a number, or several for a row); ? for a hint, s to skip, q to quit."
ECHO_CHARS = 200  # of a piped line, echoed back


def run_practice(
    session: PracticeSession,
    read: Callable[[str], str],
    write: Callable[[str], None],
    echo: bool,
    width: int = 80,
    record: Callable[[Answered], None] | None = None,
) -> ExitCode:
    """Run a practice session at a prompt; the exit code (an ExitCode) it ends with.

    `read(prompt)` returns one typed line (as `input` does: EOFError ends the session,
    KeyboardInterrupt stops it); `write(line)` shows one line (as `print` does); `echo`
    writes each line read back (piped answers, so the transcript reads like a session).
    Writes the instruction line first (the caller shows the sheet before), the step label
    when a step begins, each reply, and the summary, every line wrapped to `width`.
    `record` hears of each cell answered, as it is answered (so that Ctrl-C loses nothing).
    OK when every cell is right, WRONG otherwise, INTERRUPTED after Ctrl-C (with the
    summary so far)."""

    def show(text: str, indent: str = "") -> None:
        for line in wrapped(text, width, indent):
            write(line)

    show(INTRO)
    current_step = None
    try:
        while not session.done:
            prompt = session.current
            assert prompt is not None
            if prompt.step.name != current_step:
                current_step = prompt.step.name
                write("")
                show(prompt.step.label)
            try:
                line = read(session.prompt_text())
            except EOFError:
                write("")
                break
            except UnicodeDecodeError:
                line = "\ufffd"  # bytes that are not text: answered as an unreadable line
            if echo:
                show(one_line(line[:ECHO_CHARS]))
            before = len(session.answered)
            for reply in session.respond(line):
                show(one_line(reply.message), "  ")
            if record is not None:
                for answered in session.answered[before:]:
                    record(answered)
    except KeyboardInterrupt:
        write("")
        _close(session, show)
        return ExitCode.INTERRUPTED
    _close(session, show)
    summary = session.summary()
    return ExitCode.OK if summary["right"] == summary["total"] else ExitCode.WRONG


def _close(session: PracticeSession, show: Callable[[str], None]) -> None:
    show("")
    show(summary_text(session))


def summary_text(session: PracticeSession) -> str:
    """The closing lines: the counts, the variant, and how to practise it again."""
    s = session.summary()
    sheet = session.sheet
    variant = sheet.problem.variant
    if variant.seed is None:  # your own numbers: the same file again
        again = " --givens FILE"
    else:
        again = f" --seed {variant.seed}" + "".join(f" --param {k}={v}" for k, v in variant.params)
    if sheet.policy != sheet.problem.template.blanks_default:
        again += f" --blanks {sheet.policy}"
    if session.steps:
        again += f" --steps {','.join(session.steps)}"
    return (
        f"{s['right']}/{s['total']} right ({s['first_try']} at the first try), {s['wrong']} wrong, "
        f"{s['skipped']} skipped, {s['unanswered']} not reached. Variant {sheet.variant}"
        f" (again: nnhand practice {sheet.problem.template.id}{again})."
    )
