"""Answer files: written by `gen --answers`, filled in by a learner, read by `check`.

    # comments saying what to do
    variant: hidden-layer@1#4821
    blanks: all
    givens:   {every given, as generated}
    answers:  {every asked quantity; blanks are null, shown cells are filled}

Reading goes through safeio: a regular file of at most 1 MB, strict YAML (no anchors or
aliases, no duplicate keys, bounded depth), one clear message per fault. What is asked comes
from the variant id (`,blanks=P`); the `blanks:` line only repeats it for a reader.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nnhand.core.sheet import Sheet
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


def answer_file_data(sheet: Sheet, student: str | None = None) -> dict[str, Any]:
    problem = sheet.problem
    answers: dict[str, Any] = {}
    for step in sheet.asked():
        value, mask = problem.values[step.name], sheet.blanks[step.name]
        cells = [
            [None if mask[i, j] else to_plain(value[i, j], step.decimals) for j in range(value.shape[1])]
            for i in range(value.shape[0])
        ]
        answers[step.name] = _shaped(cells, sheet.shape(step.name))
    data: dict[str, Any] = {"variant": sheet.variant, "blanks": sheet.policy}
    if student:
        data["student"] = student
    data["givens"] = problem.nested_givens()
    data["answers"] = answers
    return data


def _shaped(cells: list[list[Any]], shape: tuple[int, ...]) -> Any:
    if len(shape) == 0:
        return cells[0][0]
    if len(shape) == 1:
        return [row[0] for row in cells]
    return cells


def answer_file_text(sheet: Sheet, student: str | None = None) -> str:
    """The YAML a learner fills in: one line per row, blanks as null (never for a sheet that asks nothing)."""
    require_blanks(sheet, "--blanks", OutputError, purpose="answer")
    data = answer_file_data(sheet, student)
    template = sheet.problem.template
    lines = [
        f"# nnhand answer file: {one_line(template.title)} ({data['variant']})",  # a line break would add keys
        "# Replace every null with your answer: 3, -1, 0.5 or 2/3. Leave the givens as they are.",
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
    for step in sheet.asked():
        lines += _yaml_value(step.name, data["answers"][step.name], comment=step.label)
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
    "require_blanks",
]
