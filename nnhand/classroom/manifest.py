"""The manifest: what `worksheet` wrote down for every student and exercise (the variant id,
the givens, the key, the blank mask, and the text of each template used), and its strict
reader. Grading reads the manifest and never re-runs the generator: a later NumPy or
template change cannot alter a grade.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnhand._version import __version__
from nnhand.choices import BLANK_POLICIES
from nnhand.classroom.roster import id_problem
from nnhand.core.engine import Problem, Variant, solve, with_texts
from nnhand.core.engine import shapes as shapes_of
from nnhand.core.givens import read_given
from nnhand.core.reading import read_grid, read_words
from nnhand.core.sheet import Sheet
from nnhand.core.template import Template, template_from_text
from nnhand.errors import CellError, ManifestError, NnhandError, VariantError, kind_of
from nnhand.safety.safeio import decode_text, read_capped
from nnhand.safety.safetext import one_line
from nnhand.values import grid_shape

MANIFEST_SCHEMA = "nnhand-manifest"
MANIFEST_VERSION = 1
# A class of 1,000 students x 10 exercises writes a manifest of about 50 MB: the cap leaves
# four times that. Parsed, a manifest takes about 2.5 times its size in memory.
MANIFEST_MAX_BYTES = 200_000_000


@dataclass
class Manifest:
    path: Path
    data: dict[str, Any]
    templates: dict[str, Template]
    students: dict[str, dict[str, Any]]  # id -> the manifest's student entry
    entries: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)  # -> (JSON path, entry)
    _sheets: dict[tuple[str, str], Sheet] = field(default_factory=dict, repr=False)

    @property
    def template_ids(self) -> list[str]:
        return list(self.templates)

    def sheet(self, student_id: str, template_id: str) -> Sheet:
        """The student's exercise as the manifest froze it: givens, key, blank mask."""
        cache_key = (student_id, template_id)
        if cache_key not in self._sheets:
            self._sheets[cache_key] = _frozen_sheet(self, student_id, template_id)
        return self._sheets[cache_key]

    def masks(self, student_id: str, template_id: str) -> dict[str, list[list[int]]]:
        """The blank masks as written (validated when read): what is asked, without reading numbers."""
        return dict(self.entries[(student_id, template_id)][1]["blank_mask"])


_MANIFEST_FIX = (
    "Give the manifest.json nnhand worksheet wrote, unchanged (worksheet with the same roster, "
    "assignment and secret writes it again)"
)


def read_manifest(path: Path) -> Manifest:
    """Read and validate a manifest (schema `nnhand-manifest`, version 1) before any use.

    Every fault is a ManifestError naming the JSON path (`students[3].exercises[1].key`).
    The structure is checked at once (types, names of givens, steps and masks, mask shapes,
    ids that are safe as file names, one exercise per template and student); the numbers of
    an entry are read when its sheet is first needed, with errors naming their path too."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    where = str(path)
    raw = read_capped(path, MANIFEST_MAX_BYTES, ManifestError, "manifest", fix=_MANIFEST_FIX)
    data = parse_json(decode_text(raw, where, ManifestError), where)
    return _Schema(path).manifest(data)


def manifest_from_data(data: Any, path: Path) -> Manifest:
    """A manifest already parsed (`nnhand merge` joins the shards' ones), validated as
    read_manifest validates a file; `path` is what its errors name."""
    return _Schema(Path(path)).manifest(data)


def parse_json(text: str, where: str) -> Any:
    def refuse_constant(name: str) -> Any:
        raise ManifestError(f"holds {name}, which is not a number JSON allows", where=where, fix=_MANIFEST_FIX)

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: set[str] = set()
            twice = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            raise ManifestError(f"has the key '{one_line(twice)[:60]}' twice in one object", where=where)
        return out

    try:
        return json.loads(text, parse_constant=refuse_constant, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"is not JSON ({exc.msg}, line {exc.lineno})", where=where, fix=_MANIFEST_FIX) from None
    except ValueError:  # an integer beyond Python's 4,300-digit limit
        raise ManifestError("holds a number with more than 4,300 digits", where=where, fix=_MANIFEST_FIX) from None
    except RecursionError:
        raise ManifestError("is nested far too deeply to be a manifest", where=where, fix=_MANIFEST_FIX) from None


def _at(base: str, key: str | int) -> str:
    """A JSON path: students[3].exercises[1].key"""
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


_KIND_WORDS = {str: "text", int: "a whole number", dict: "a mapping", list: "a list"}


# The keys of schema version 1, at each level. A key that is not here is refused: a manifest
# that gains a field is a new schema version, so an older nnhand never half-reads one.
MANIFEST_KEYS = {
    "": ("schema", "schema_version", "nnhand_version", "assignment", "seeding", "blanks", "templates", "students"),
    "template": ("version", "title", "source"),
    "student": ("id", "name", "email", "exercises"),
    "exercise": ("template", "version", "variant", "token", "seed", "blanks", "params", "givens", "key", "exact",
                 "blank_mask"),
}  # fmt: skip


class _Schema:
    """The manifest schema, version 1: every key, type and name checked, each fault at its JSON path."""

    def __init__(self, path: Path):
        self.path = path
        self.file = str(path)

    def fail(self, at: str, message: str, fix: str = _MANIFEST_FIX) -> ManifestError:
        return ManifestError(message, where=f"{self.file}: {at}" if at else self.file, fix=fix)

    def get(self, obj: Mapping[str, Any], key: str, kind: type, at: str, optional: bool = False) -> Any:
        if key not in obj:
            if optional:
                return None
            raise self.fail(at, f"is incomplete: no '{key}'")
        value = obj[key]
        if value is None and optional:
            return None
        wrong = isinstance(value, bool) or not isinstance(value, kind)
        if wrong:
            raise self.fail(_at(at, key), f"should be {_KIND_WORDS[kind]}, not {kind_of(value)}")
        return value

    def known(self, obj: Mapping[str, Any], level: str, at: str) -> None:
        for key in obj:
            if key not in MANIFEST_KEYS[level]:
                raise self.fail(
                    at,
                    f"has the key '{one_line(key)[:40]}', which schema version {MANIFEST_VERSION} does not have",
                    fix=f"Remove it (the keys here: {', '.join(MANIFEST_KEYS[level])})",
                )

    def manifest(self, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.get("schema") != MANIFEST_SCHEMA:
            raise ManifestError(
                "is not an nnhand manifest", where=self.file, fix="Give the manifest.json nnhand worksheet wrote"
            )
        version = data.get("schema_version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise self.fail("schema_version", f"should be a whole number, not {kind_of(version)}")
        if version > MANIFEST_VERSION:
            raise ManifestError(
                f"has schema version {version}, newer than this nnhand reads ({MANIFEST_VERSION})",
                where=self.file,
                fix=f"Upgrade nnhand (this is {__version__}; the manifest was written by "
                f"{one_line(data.get('nnhand_version'))[:40]})",
            )
        if version < 1:
            raise self.fail("schema_version", f"{version} is not a version nnhand ever wrote")
        self.known(data, "", "")
        templates = self.templates(self.get(data, "templates", dict, ""))
        students_raw = self.get(data, "students", list, "")
        for key in ("assignment", "nnhand_version"):
            self.get(data, key, str, "")
        for key in ("seeding", "blanks"):
            self.get(data, key, str, "", optional=True)
        if not students_raw:
            raise self.fail("students", "lists no students")
        students: dict[str, dict[str, Any]] = {}
        first_at: dict[str, str] = {}
        entries: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        for i, student in enumerate(students_raw):
            at = _at("students", i)
            if not isinstance(student, dict):
                raise self.fail(at, f"should be a mapping, not {kind_of(student)}")
            self.known(student, "student", at)
            raw_id = student.get("id") if "id" in student else self.get(student, "id", str, at)
            problem = id_problem(raw_id)
            if problem:
                raise self.fail(_at(at, "id"), f"the student id {ascii(raw_id)[:80]} {problem}")
            sid = str(raw_id)
            if sid in first_at:
                raise self.fail(_at(at, "id"), f"the student '{sid}' appears twice (first at {first_at[sid]})")
            first_at[sid] = _at(at, "id")
            for key in ("name", "email"):
                self.get(student, key, str, at, optional=True)
            exercises = self.get(student, "exercises", list, at)
            seen: dict[str, str] = {}
            for j, entry in enumerate(exercises):
                entry_at = _at(_at(at, "exercises"), j)
                tid = self.exercise(entry, entry_at, templates)
                if tid in seen:
                    raise self.fail(entry_at, f"'{tid}' appears twice for '{sid}' (first at {seen[tid]})")
                seen[tid] = entry_at
                entries[(sid, tid)] = (entry_at, entry)
            for tid in templates:
                if tid not in seen:
                    raise self.fail(_at(at, "exercises"), f"is incomplete: no exercise for '{tid}' (student '{sid}')")
            students[sid] = student
        return Manifest(self.path, data, templates, students, entries)

    def templates(self, raw: dict[str, Any]) -> dict[str, Template]:
        if not raw:
            raise self.fail("templates", "names no templates")
        out = {}
        for tid, entry in raw.items():
            at = _at("templates", tid)
            if not _TEMPLATE_ID.match(tid):
                raise self.fail("templates", f"{ascii(tid)[:60]} is not a template id")
            if not isinstance(entry, dict):
                raise self.fail(at, f"should be a mapping, not {kind_of(entry)}")
            self.known(entry, "template", at)
            source = self.get(entry, "source", str, at)
            version = self.get(entry, "version", int, at)
            self.get(entry, "title", str, at, optional=True)
            try:
                template = template_from_text(source, Path(f"{self.path}#templates/{tid}.yaml"))
            except NnhandError as exc:
                raise self.fail(_at(at, "source"), f"does not load: {exc.message}") from None
            if template.id != tid or template.version != version:
                raise self.fail(at, f"holds {template.id}@{template.version}, not {tid}@{version}")
            out[tid] = template
        return out

    def exercise(self, entry: Any, at: str, templates: Mapping[str, Template]) -> str:
        if not isinstance(entry, dict):
            raise self.fail(at, f"should be a mapping, not {kind_of(entry)}")
        self.known(entry, "exercise", at)
        tid: str = self.get(entry, "template", str, at)
        if tid not in templates:
            raise self.fail(
                _at(at, "template"),
                f"names {ascii(tid)[:60]}, which is not in 'templates' ({', '.join(templates)})",
            )
        template = templates[tid]
        version = self.get(entry, "version", int, at)
        variant_text = self.get(entry, "variant", str, at)
        try:
            variant = Variant.parse(variant_text, where=_at(at, "variant"))
        except VariantError as exc:
            raise self.fail(_at(at, "variant"), exc.message) from None
        if variant.template != tid or variant.version != version or version != template.version:
            raise self.fail(
                _at(at, "variant"),
                f"is a variant of {variant.template}@{variant.version}, not of {tid}@{template.version}",
            )
        policy = self.get(entry, "blanks", str, at)
        if policy not in BLANK_POLICIES:
            raise self.fail(
                _at(at, "blanks"), f"{ascii(policy)[:40]} is not a blank pattern ({', '.join(BLANK_POLICIES)})"
            )
        for key, kind in (("seed", int), ("token", str)):
            self.get(entry, key, kind, at, optional=True)  # a sealed variant's, where the manifest keeps them
        params = self.get(entry, "params", dict, at)
        for name, value in params.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(_at(_at(at, "params"), name), f"should be a whole number, not {kind_of(value)}")
        try:
            resolved = template.resolve_params(params, where=_at(at, "params"))
            shapes = shapes_of(template, resolved)
            template = template.for_params(resolved)
        except NnhandError as exc:
            raise self.fail(_at(at, "params"), exc.message) from None
        givens = self.get(entry, "givens", dict, at)
        own_words = ["vocabulary"] if "vocabulary" in givens and template.vocabulary else []  # worksheet --givens
        self.names(givens, [*own_words, *template.givens], _at(at, "givens"), f"given of {tid}")
        self.names(self.get(entry, "key", dict, at), [s.name for s in template.steps], _at(at, "key"), f"step of {tid}")
        exact = self.get(entry, "exact", dict, at, optional=True) or {}
        steps = {s.name for s in template.steps}
        for name in exact:
            if name not in steps:
                raise self.fail(_at(at, "exact"), f"'{one_line(name)[:40]}' is not a step of {tid}")
        asked = [s.name for s in template.steps if s.asked]
        masks = self.get(entry, "blank_mask", dict, at)
        # The inverse pattern asks a given too (core/sheet.py): its mask sits beside the steps'.
        blank_givens = [n for n in masks if n in template.givens] if policy == "inverse" else []
        self.names(masks, [*blank_givens, *asked], _at(at, "blank_mask"), f"asked step of {tid}")
        for name in [*blank_givens, *asked]:
            rows, cols = grid_shape(shapes[name])
            mask = masks[name]
            if not _is_mask(mask, rows, cols):
                raise self.fail(_at(_at(at, "blank_mask"), name), f"should be {rows} rows of {cols} cells, each 0 or 1")
        return tid

    def names(self, mapping: Mapping[str, Any], expected: list[str], at: str, what: str) -> None:
        for name in expected:
            if name not in mapping:
                raise self.fail(at, f"is incomplete: no '{name}' (one for every {what}: {', '.join(expected)})")
        for name in mapping:
            if name not in expected:
                raise self.fail(at, f"'{one_line(name)[:40]}' is not a {what} ({', '.join(expected)})")


_TEMPLATE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _is_mask(mask: Any, rows: int, cols: int) -> bool:
    """Nested lists of `rows` x `cols` cells, each 0 or 1 (as JSON writes them; true/false too)."""
    if not isinstance(mask, list) or len(mask) != rows:
        return False
    return all(
        isinstance(r, list) and len(r) == cols and all(type(v) in (int, bool) and v in (0, 1) for v in r) for r in mask
    )


def _frozen_sheet(manifest: Manifest, student_id: str, template_id: str) -> Sheet:
    at, entry = manifest.entries[(student_id, template_id)]
    params = manifest.templates[template_id].resolve_params(entry["params"])
    template = manifest.templates[template_id].for_params(params)
    where = f"{manifest.path}: {at}"
    if entry.get("seed") is None:  # the instructor's own numbers (worksheet --givens): solved again
        try:
            solved = solve(template, entry["givens"], params, f"{where}.givens", Variant.parse(entry["variant"]))
        except NnhandError as exc:
            raise ManifestError(
                f"the entry is damaged: {exc.message}", where=exc.where or where, fix=_MANIFEST_FIX
            ) from None
        masks = {n: np.array(m, dtype=bool) for n, m in entry["blank_mask"].items()}
        return Sheet(solved, entry["blanks"], masks)
    shapes = shapes_of(template, params)
    try:
        givens = {n: read_given(template, n, v, shapes[n], f"{where}.givens") for n, v in entry["givens"].items()}
        values = {n: _key_grid(template, n, v, shapes[n], f"{where}.key") for n, v in entry["key"].items()}
        exact = dict(values)
        exact.update({n: _exact_grid(v, shapes[n], f"{where}.exact", n) for n, v in (entry.get("exact") or {}).items()})
    except NnhandError as exc:
        raise ManifestError(
            f"the entry is damaged: {exc.message}", where=exc.where or where, fix=_MANIFEST_FIX
        ) from None
    masks = {n: np.array(m, dtype=bool) for n, m in entry["blank_mask"].items()}
    variant = Variant.parse(entry["variant"])
    problem = Problem(with_texts(template, params, givens), variant, params, givens, values, exact, shapes)
    return Sheet(problem, entry["blanks"], masks)


def _key_grid(template: Template, name: str, raw: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
    """A step's key as the manifest keeps it: numbers, or a word step's word (nn.ReLU's name),
    read back as its index in the vocabulary (the template's, or the one the givens bring)."""
    step = next((s for s in template.steps if s.name == name), None)
    if step is None or not step.words:
        return read_grid(raw, shape, where, name)
    return read_words(raw, shape, template.vocabulary, where, name)


def _exact_grid(raw: Any, shape: tuple[int, ...], where: str, name: str) -> np.ndarray:
    """A step's exact values as the manifest keeps them: integers and fractions ("9/13") are
    read as any grid is; a float template's exact values are the floats it computed, bit for
    bit (17 digits, which no hand-written answer has), so they are taken as floats."""
    rows, cols = grid_shape(shape)
    if len(shape) == 0:
        cells = [raw]
    elif len(shape) == 1:
        cells = raw if isinstance(raw, list) else []
    else:
        rows_ok = isinstance(raw, list) and all(isinstance(r, list) for r in raw)
        cells = [v for row in raw for v in row] if rows_ok else []
    if not any(isinstance(v, float) for v in cells):
        return read_grid(raw, shape, where, name)
    if len(cells) != rows * cols or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in cells
    ):
        raise CellError(f"expected {rows}x{cols} finite numbers", where=f"{where}: {name}")
    return np.array(cells, dtype=np.float64).reshape(rows, cols)
