"""Answer files: written by `gen --answers`, filled in by a learner, read by `check`.

    # comments saying what to do
    variant: hidden-layer@1#4821
    blanks: all
    givens:   {every given, as generated; with --blanks inverse the cell to solve for is null}
    answers:  {every asked quantity; blanks are null, shown cells are filled; with --blanks
              inverse first the given to solve for (its other cells filled), then every step}

Reading goes through safeio: a regular file of at most 1 MB, strict YAML (no anchors or
aliases, no duplicate keys, bounded depth), one clear message per fault. What is asked comes
from the variant id (`,blanks=P`); the `blanks:` line only repeats it for a reader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from nnhand.core.reading import Reading, Unreadable
from nnhand.core.sheet import Sheet
from nnhand.core.template import Step
from nnhand.errors import AnswerFileError, NnhandError, OutputError
from nnhand.safety.safeio import MAX_INPUT_BYTES, decode_text, load_yaml, read_capped
from nnhand.safety.safetext import one_line
from nnhand.values import format_number, nested, to_plain


def require_blanks(
    sheet: Sheet, where: str, error: type[NnhandError] = AnswerFileError, purpose: str = "check"
) -> None:
    """Refuse a sheet with no blank cell: its answer file would pass with nothing answered."""
    if sheet.blank_count() == 0:
        raise error(
            f"asks nothing: every cell of {sheet.variant} is shown (blank pattern '{sheet.policy}'), "
            f"so there is nothing to {purpose}",
            where=where,
            fix="Use a sheet with blanks (--blanks all, layer or one); nnhand key prints the full key",
        )


def with_blank_givens(sheet: Sheet, givens: dict[str, Any]) -> dict[str, Any]:
    """Plain givens (Problem.nested_givens) with the sheet's blank given cells as null."""
    out = dict(givens)
    for name in sheet.blank_givens():
        out[name] = _nulled(out[name], sheet.blanks[name], sheet.shape(name))
    return out


def _nulled(plain: Any, mask: Any, shape: tuple[int, ...]) -> Any:
    if len(shape) == 0:
        return None if mask[0, 0] else plain
    if len(shape) == 1:
        return [None if mask[i, 0] else v for i, v in enumerate(plain)]
    return [[None if mask[i, j] else v for j, v in enumerate(row)] for i, row in enumerate(plain)]


def answer_file_data(sheet: Sheet, student: str | None = None) -> dict[str, Any]:
    problem = sheet.problem
    answers: dict[str, Any] = {}
    plain = problem.nested_givens()
    for name in sheet.blank_givens():
        answers[name] = _nulled(plain[name], sheet.blanks[name], sheet.shape(name))
    for step in sheet.asked():
        value, mask = problem.values[step.name], sheet.blanks[step.name]
        word = problem.template.word
        cells = [
            [
                None if mask[i, j] else word(step, value[i, j]) or to_plain(value[i, j], step.decimals)
                for j in range(value.shape[1])
            ]
            for i in range(value.shape[0])
        ]
        answers[step.name] = _shaped(cells, sheet.shape(step.name))
    data: dict[str, Any] = {"variant": sheet.variant, "blanks": sheet.policy}
    if student:
        data["student"] = student
    data["givens"] = with_blank_givens(sheet, plain)
    data["answers"] = answers
    return data


def _shaped(cells: list[list[Any]], shape: tuple[int, ...]) -> Any:
    if len(shape) == 0:
        return cells[0][0]
    if len(shape) == 1:
        return [row[0] for row in cells]
    return cells


WORDS_LINE = "# Where a name is asked, write it: ReLU, nn.ReLU() and relu all read as ReLU."


INVERSE_LINE = "# The given to solve for is null among the givens too: write it under answers."


def answer_file_text(sheet: Sheet, student: str | None = None) -> str:
    """The YAML a learner fills in: one line per row, blanks as null (never for a sheet that asks nothing)."""
    require_blanks(sheet, "--blanks", OutputError, purpose="answer")
    data = answer_file_data(sheet, student)
    template = sheet.problem.template
    lines = [
        f"# nnhand answer file: {one_line(template.title)} ({data['variant']})",  # a line break would add keys
        "# Replace every null with your answer: 3, -1, 0.5 or 2/3. Leave the givens as they are.",
        *([WORDS_LINE] if any(s.words for s in sheet.asked()) else []),
        *([INVERSE_LINE] if sheet.blank_givens() else []),
        "# Check it with: nnhand check {this file}",
        f"variant: {data['variant']}",
        f"blanks: {data['blanks']}",
    ]
    if student:
        lines.append(f"student: {json.dumps(student)}")
    lines.append("givens:")
    for name, value in data["givens"].items():
        lines += _yaml_value(name, value)
    lines.append("answers:")
    for name in sheet.blank_givens():
        label = template.givens[name].label or "given"
        lines += _yaml_value(name, data["answers"][name], comment=f"{label}: solve for the blank from the steps")
    for step in sheet.asked():
        label = f"{step.label} (a name: {', '.join(template.vocabulary)})" if step.words else step.label
        lines += _yaml_value(step.name, data["answers"][step.name], comment=label)
    return "\n".join(lines) + "\n"


def _yaml_value(name: str, value: Any, comment: str | None = None) -> list[str]:
    suffix = f"  # {one_line(comment)}" if comment else ""
    if isinstance(value, list) and value and isinstance(value[0], list):
        out = [f"  {name}:{suffix}"]
        out += [f"    - [{', '.join(_scalar(v) for v in row)}]" for row in value]
        return out
    if isinstance(value, list):
        return [f"  {name}: [{', '.join(_scalar(v) for v in value)}]{suffix}"]
    return [f"  {name}: {_scalar(value)}{suffix}"]


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value)
    return format_number(value)


# ----------------------------------------------------------------------------- reading

# How a learner may write a word cell (an activation module): `ReLU`, `relu`, `nn.ReLU()`,
# `torch.nn.ReLU()`, `nn.LeakyReLU(0.1)`, `leaky_relu`: case, a module prefix, the call's
# brackets and underscores do not matter.
_MODULE_PREFIX = re.compile(r"^(torch\.nn\.functional\.|torch\.nn\.|torch\.|nn\.functional\.|nn\.|F\.)")
_CALL = re.compile(r"\([^()]*\)$")
MAX_WORD = 64


def word_key(text: str) -> str:
    """A word as compared: no module prefix or call brackets, no underscores, spaces or case."""
    core = _MODULE_PREFIX.sub("", text.strip())
    core = _CALL.sub("", core.rstrip(",; ")).strip()
    return re.sub(r"[\s_]", "", core).lower()


def read_word_answer(raw: Any, step: Step, vocabulary: tuple[str, ...], where: str) -> Reading:
    """The one cell of a word step as read: the 1-based index of the vocabulary word written,
    or the cell unreadable with the reason (a number, or a name that is not among the words).
    Never raises: the rest of the answer file is still graded."""
    from nnhand.safety.safetext import one_line

    accepted = ", ".join(vocabulary)
    text = one_line(str(raw))[:MAX_WORD]
    if isinstance(raw, list) and len(raw) == 1 and not isinstance(raw[0], list):
        raw = raw[0]  # a one-item list: the cell itself
    reason = None
    if isinstance(raw, str) and len(raw) <= MAX_WORD:
        by_key = {word_key(w): k for k, w in enumerate(vocabulary, start=1)}
        index = by_key.get(word_key(raw))
        if index is not None:
            word = vocabulary[index - 1]
            notes = [] if raw.strip() == word else [f"{step.name}: {text!r} read as {word}"]
            return Reading([[Fraction(index)]], [[raw]], notes)
        reason = f"{text!r} is not one of the names {accepted}"
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        reason = f"{text} is a number: write a name, one of {accepted}"
    else:
        reason = f"{text[:40]!r} is not a name: write one of {accepted}"
    return Reading([[None]], [[raw]], unreadable={(0, 0): Unreadable(reason, text)})


def read_answer_file(path: Path) -> dict[str, Any]:
    """Parse an answer file into a mapping, or raise AnswerFileError naming the fault."""
    raw = read_capped(
        path,
        MAX_INPUT_BYTES,
        AnswerFileError,
        what="an answer file",
        fix="Check the path (make one with nnhand gen TEMPLATE --answers FILE)",
    )
    return parse_answer_text(raw, str(path))


def parse_answer_text(raw: bytes | str, where: str, require_variant: bool = True) -> dict[str, Any]:
    """An answer file's text (or bytes) as a mapping, parsed strictly (safeio.load_yaml)."""
    text = decode_text(raw, where, AnswerFileError) if isinstance(raw, bytes) else raw
    data = load_yaml(text, where, AnswerFileError)
    if not isinstance(data, Mapping):
        raise AnswerFileError(
            "is not a mapping of names to values"
            if not require_variant
            else "is not an nnhand answer file (expected a mapping with variant, givens and answers)",
            where=where,
            fix="Make one with nnhand gen TEMPLATE --answers FILE",
        )
    if require_variant and "variant" not in data:
        raise AnswerFileError("has no 'variant'", where=where, fix="Keep the variant line the sheet came with")
    return dict(data)


__all__ = [
    "answer_file_data",
    "answer_file_text",
    "nested",
    "parse_answer_text",
    "read_answer_file",
    "read_word_answer",
    "require_blanks",
    "word_key",
]
