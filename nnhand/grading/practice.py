"""Practice at the prompt: the learner types each blank cell and hears at once if it is right.

The session is a small state machine that never prints: the CLI feeds it lines and shows
what it answers. A line may be a number, several numbers (they fill the next blanks of
the step, e.g. a whole row), `?` for a hint (first which row and column to combine, then
the products to add), `s` to skip the cell or `q` to quit.

Typed numbers go through the reader answer files use (reading.read_number), with its
bounds: a line is at most MAX_LINE characters, an exponent at most ±400, and what is
echoed back is cleaned of control characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    kind: str  # right | wrong | hint | skip | quit | invalid
    message: str
    cell: str | None = None


@dataclass
class PracticeSession:
    sheet: Sheet
    prompts: list[Prompt] = field(default_factory=list)
    position: int = 0
    right: int = 0
    wrong: int = 0
    skipped: int = 0
    hints_taken: dict[str, int] = field(default_factory=dict)
    quit: bool = False

    def __post_init__(self) -> None:
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
            self.position += 1
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
            return [self._check(prompt, index)]
        parts = [p for p in re.split(r"[\s;]+|,\s+", text) if p]
        replies: list[Reply] = []
        step_name = prompt.step.name
        for part in parts:  # several numbers fill the next blanks of this step (a whole row)
            prompt = self.current
            if prompt is None or prompt.step.name != step_name:
                break
            try:
                value = Fraction(read_number(part, prompt.cell))
            except CellError as exc:
                # The reader's message quotes the text cleaned and shortened (reading.read_number).
                replies.append(Reply("invalid", f"{exc.message}; or ? for a hint, s to skip, q to quit.", prompt.cell))
                break
            replies.append(self._check(prompt, value))
        return replies

    def _given_line(self, prompt: Prompt) -> str:
        from nnhand.core.explain import explain_given
        from nnhand.core.inverse import GivenCell

        return " ".join(explain_given(self.sheet.problem, GivenCell(prompt.step.name, prompt.row, prompt.col)))

    def _check_given(self, prompt: Prompt, value: Fraction) -> Reply:
        """A blank given (inverse): the one whole number that gives the shown steps."""
        key = self.sheet.problem.givens[prompt.step.name][prompt.row, prompt.col]
        self.position += 1
        if value == exact_fraction(key):
            self.right += 1
            return Reply("right", f"✓ {prompt.cell} = {format_number(value, 6)}", prompt.cell)
        self.wrong += 1
        message = f"✗ {prompt.cell}: not {format_number(value, 6)}; it is {format_number(key)}. "
        return Reply("wrong", message + self._given_line(prompt), prompt.cell)

    def _check(self, prompt: Prompt, value: Fraction) -> Reply:
        problem = self.sheet.problem
        step = prompt.step
        if step.name in problem.givens:
            return self._check_given(prompt, value)
        key = problem.values[step.name][prompt.row, prompt.col]
        exact = problem.exact[step.name][prompt.row, prompt.col]
        low, high, accepted = accepted_range([exact_fraction(key), exact_fraction(exact)], step.decimals)
        self.position += 1
        word = problem.template.word
        if low <= value <= high or value == exact_fraction(exact):
            self.right += 1
            return Reply("right", f"✓ {prompt.cell} = {word(step, value) or format_number(value, 6)}", prompt.cell)
        self.wrong += 1
        tol = tolerance(step.decimals)
        note = f" (accepted: {accepted})" if tol else ""
        written = word(step, value) or format_number(value, 6)
        right = word(step, key) or format_number(key, step.decimals)
        return Reply(
            "wrong",
            f"✗ {prompt.cell}: not {written}; it is {right}{note}. "
            f"{self._explainer.cell(step, prompt.row, prompt.col)}",
            prompt.cell,
        )

    def hint(self, prompt: Prompt) -> Reply:
        """First what to combine; asked again, the products to add."""
        taken = self.hints_taken.get(prompt.cell, 0) + 1
        self.hints_taken[prompt.cell] = taken
        if prompt.step.name in self.sheet.problem.givens:  # inverse: which step to solve, then the line
            if taken == 1:
                text = f"Hint: write a shown step that reads {prompt.cell} and solve it for {prompt.cell}."
                return Reply("hint", text, prompt.cell)
            line = self._given_line(prompt)
            return Reply("hint", f"Hint: {line.rsplit(' = ', 1)[0]} = ?", prompt.cell)
        worked = self._explainer.cell(prompt.step, prompt.row, prompt.col)
        steps = worked.split(" = ")
        if taken == 1:
            text = (
                _what_to_combine(prompt, self.sheet.problem.shapes)
                or prompt.step.hint
                or f"Compute {prompt.step.label}."
            )
            return Reply("hint", f"Hint: {text}", prompt.cell)
        middle = " = ".join(steps[1:-1]) if len(steps) > 2 else ""
        if middle:
            return Reply("hint", f"Hint: {prompt.cell} = {middle} = ?", prompt.cell)
        return Reply("hint", f"Hint: {prompt.step.label}", prompt.cell)

    def summary(self) -> dict[str, int]:
        return {
            "right": self.right,
            "wrong": self.wrong,
            "skipped": self.skipped,
            "unanswered": len(self.prompts) - self.position,
            "total": len(self.prompts),
        }


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
    session: PracticeSession, read: Callable[[str], str], write: Callable[[str], None], echo: bool
) -> ExitCode:
    """Run a practice session at a prompt; the exit code (an ExitCode) it ends with.

    `read(prompt)` returns one typed line (as `input` does: EOFError ends the session,
    KeyboardInterrupt stops it); `write(line)` shows one line (as `print` does); `echo`
    writes each line read back (piped answers, so the transcript reads like a session).
    Writes the instruction line first (the caller shows the sheet before), the step label
    when a step begins, each reply, and the summary. OK when every cell is right, WRONG
    otherwise, INTERRUPTED after Ctrl-C (with the summary so far)."""
    from nnhand.safety.safetext import one_line

    write(INTRO)
    current_step = None
    try:
        while not session.done:
            prompt = session.current
            assert prompt is not None
            if prompt.step.name != current_step:
                current_step = prompt.step.name
                write(f"\n{prompt.step.label}")
            try:
                line = read(f"{prompt.cell} = ")
            except EOFError:
                write("")
                break
            except UnicodeDecodeError:
                line = "\ufffd"  # bytes that are not text: answered as an unreadable line
            if echo:
                write(one_line(line[:ECHO_CHARS]))
            for reply in session.respond(line):
                write(f"  {one_line(reply.message)}")
    except KeyboardInterrupt:
        write("")
        write(summary_text(session))
        return ExitCode.INTERRUPTED
    write(summary_text(session))
    summary = session.summary()
    return ExitCode.OK if summary["right"] == summary["total"] else ExitCode.WRONG


def summary_text(session: PracticeSession) -> str:
    """The closing line: the counts, the variant, and how to practise it again."""
    s = session.summary()
    sheet = session.sheet
    variant = sheet.problem.variant
    if variant.seed is None:  # your own numbers: the same file again
        again = " --givens FILE"
    else:
        again = f" --seed {variant.seed}" + "".join(f" --param {k}={v}" for k, v in variant.params)
    if sheet.policy != sheet.problem.template.blanks_default:
        again += f" --blanks {sheet.policy}"
    return (
        f"\n{s['right']}/{s['total']} right, {s['wrong']} wrong, {s['skipped']} skipped, "
        f"{s['unanswered']} not reached. Variant {sheet.variant}"
        f" (again: nnhand practice {sheet.problem.template.id}{again})."
    )
