"""One error hierarchy and one set of exit codes for the whole tool.

Library code raises an `NnhandError` whose message names the file, key or cell at fault
and says how to fix it; the CLI turns it into one paragraph on stderr and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0  # success; when grading: every asked cell right, nothing missing
    WRONG = 1  # grading ran and some answers are wrong or missing
    BAD_INPUT = 2  # usage error or bad input (file, template, option)
    INTERNAL = 3  # a bug in nnhand itself: please report it
    INTERRUPTED = 130  # Ctrl-C


def kind_of(value: object) -> str:
    """What a wrong value is, in the words of an error message ("expected a list, got text")."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, int):
        return "a whole number"
    kinds = {str: "text", list: "a list", dict: "a mapping"}
    return next((word for kind, word in kinds.items() if isinstance(value, kind)), type(value).__name__)


class NnhandError(Exception):
    """An error a user can fix: bad input, a bad template, a bad option."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.fix:
            text = f"{text.rstrip('.')}. {self.fix}"
        return text


class TemplateNotFoundError(NnhandError):
    """No template with that id on the search path."""


class TemplateError(NnhandError):
    """A template file that cannot be read, validated or compiled."""


class ExpressionError(TemplateError):
    """An expression that is unsafe, unknown or ill-formed."""


class EvaluationError(TemplateError):
    """An expression that failed while being evaluated (shapes, bounds)."""


class ValueRangeError(EvaluationError):
    """An expression that fails for these values only (a division by zero, an exponent
    beyond its bound), not for its shapes: another instance may well compute."""


class ConstraintError(TemplateError):
    """A template whose constraints no sampled instance satisfies."""


class GivensError(NnhandError):
    """Givens supplied by a user that do not fit the template."""


class AnswerFileError(NnhandError):
    """An answer file that cannot be read or does not match its variant."""


class VariantError(NnhandError):
    """A variant id that cannot be parsed or does not match a template."""


class OutputError(NnhandError):
    """An output path that cannot be written."""


class UsageError(NnhandError):
    """An option or argument that does not fit: a bad --format, --param or a missing input."""


class CellError(NnhandError):
    """A cell or value that cannot be read as numbers."""


class WorkLimitError(ConstraintError):
    """More work than the sampler's budget: not a value one candidate fails on (that is a
    ValueRangeError, and rejects the candidate), but the template as a whole."""


class RosterError(NnhandError):
    """A roster that cannot be used."""


class ManifestError(NnhandError):
    """A manifest that cannot be read."""
