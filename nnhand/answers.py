"""Answer files: written by `gen --answers`, filled in by a learner, read by `check`.

    # comments saying what to do
    variant: hidden-layer@1#4821
    blanks: all
    givens:   {every given, as generated}
    answers:  {every asked quantity; blanks are null, shown cells are filled}

Reading is defensive: size limit, no YAML anchors or aliases, one clear message per fault.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import AnswerFileError, OutputError
from .sheet import Sheet
from .values import format_number, nested, to_plain

MAX_ANSWER_BYTES = 1_000_000
MAX_DEPTH = 16  # an answer file needs four levels; anything deeper is not one


def _too_deep(data: Any) -> bool:
    """Whether lists and mappings nest deeper than MAX_DEPTH (checked without recursion)."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, Mapping):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


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
    """The YAML a learner fills in: one line per row, blanks as null."""
    data = answer_file_data(sheet, student)
    template = sheet.problem.template
    lines = [
        f"# nnhand answer file: {template.title} ({data['variant']})",
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
    suffix = f"  # {comment}" if comment else ""
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


def write_atomic(path: Path, text: str) -> None:
    """Write the whole file or nothing: a temporary file renamed into place."""
    path = Path(path)
    if path.is_dir():
        raise OutputError("is a folder", where=str(path), fix="Give a file name, e.g. answers.yaml")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError("the folder does not exist", where=str(path), fix=f"Create {directory} first")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as exc:
        raise OutputError(
            f"cannot write here ({exc.strerror})", where=str(path), fix="Choose a writable folder"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"cannot write ({exc.strerror})", where=str(path), fix="Choose a writable path") from None


# ----------------------------------------------------------------------------- reading


def read_answer_file(path: Path) -> dict[str, Any]:
    """Parse an answer file into a mapping, or raise AnswerFileError naming the fault."""
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise AnswerFileError(
            "no such file", where=where, fix="Check the path (make one with nnhand gen ... --answers FILE)"
        )
    if path.is_dir():
        raise AnswerFileError("is a folder, not an answer file", where=where)
    try:
        size = path.stat().st_size
        if size > MAX_ANSWER_BYTES:
            raise AnswerFileError(f"is {size // 1024} KiB; an answer file is at most 1 MB", where=where)
        raw = path.read_bytes()
    except OSError as exc:
        raise AnswerFileError(f"cannot read ({exc.strerror})", where=where) from None
    return parse_answer_text(raw, where)


def parse_answer_text(raw: bytes | str, where: str, require_variant: bool = True) -> dict[str, Any]:
    import yaml

    if isinstance(raw, bytes):
        if b"\x00" in raw:
            raise AnswerFileError("is a binary file, not YAML", where=where)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AnswerFileError("is not UTF-8 text", where=where) from None
    else:
        text = raw
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                raise AnswerFileError(
                    "uses a YAML anchor or alias (& or *)",
                    where=f"{where}:{mark.line + 1}" if mark else where,
                    fix="Write every value out in full",
                )
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise AnswerFileError(f"is not valid YAML: {problem}", where=loc, fix="Fix the YAML at that line") from None
    except RecursionError:
        raise AnswerFileError("is nested too deeply", where=where) from None
    if _too_deep(data):
        raise AnswerFileError(f"is nested more than {MAX_DEPTH} levels deep", where=where, fix="Write plain lists")
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


__all__ = ["answer_file_data", "answer_file_text", "nested", "parse_answer_text", "read_answer_file", "write_atomic"]
