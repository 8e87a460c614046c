"""A whole class: rosters, per-student variants, the manifest, and batch grading.

Per-student seeds come from HMAC-SHA256 over (assignment, student id, template) with an
instructor's secret: unique per student, unpredictable without the secret, reproducible
by the instructor. Every variant is sealed: students' files name it by a token (from the
secret too, under a separate derived key, or fresh randomness without a secret) and only
the manifest records its seed. The manifest stores, for every student and exercise, the variant id,
the givens, the key, the blank mask — and the text of each template used — so that grading
reads the manifest and never re-runs the generator: a later NumPy or template change
cannot alter a grade.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import os
import re
import signal
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnhand._version import __version__
from nnhand.core.engine import Problem, Variant, generate, givens_digest, read_given
from nnhand.core.keys import SEED_SPACE, key_data, seal, sealed_token
from nnhand.core.reading import read_grid
from nnhand.core.sheet import Sheet, make_sheet
from nnhand.core.template import BLANK_POLICIES, SCORING_MODES, Template, load_template, template_from_text
from nnhand.errors import (
    AnswerFileError,
    CellError,
    ManifestError,
    NnhandError,
    OutputError,
    RosterError,
    VariantError,
    kind_of,
)
from nnhand.grading.answers import MAX_ANSWER_BYTES, parse_answer_text
from nnhand.grading.grade import Report, givens_difference, grade_sheet, read_answers
from nnhand.resources import find_template
from nnhand.safety.atomic import write_folder_atomically
from nnhand.safety.safeio import decode_text, read_capped
from nnhand.safety.safetext import csv_cell, one_line, plain
from nnhand.values import grid_shape

MANIFEST_SCHEMA = "nnhand-manifest"
MANIFEST_VERSION = 1
ANSWER_SUFFIXES = (".yaml", ".yml", ".json")
# A class of 1,000 students x 10 exercises writes a manifest of about 50 MB: the cap leaves
# four times that. Parsed, a manifest takes about 2.5 times its size in memory.
MANIFEST_MAX_BYTES = 200_000_000
ROSTER_MAX_BYTES = 10_000_000  # a class list of 100,000 students with long names fits
SECRET_MAX_BYTES = 10_000
MAX_ID_LENGTH = 200
MAX_SUBMISSION_FILES = 100_000
FILE_SECONDS = 5  # a submission that takes longer than this to grade is reported, not waited for


# ----------------------------------------------------------------------------- roster


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    email: str = ""


def id_problem(sid: object) -> str | None:
    """Why `sid` cannot be a student id, or None. Ids name folders and files (students/<id>/,
    feedback/<id>.txt), so an id never holds a path separator, a drive colon or a control
    character, and is never '.', '..' or blank."""
    if not isinstance(sid, str):
        return "should be text"
    if not sid.strip():
        return "is empty"
    if sid != sid.strip():
        return "begins or ends with a space"
    if sid in (".", ".."):
        return "cannot name a folder"
    if len(sid) > MAX_ID_LENGTH:
        return f"is longer than {MAX_ID_LENGTH} characters"
    if one_line(sid) != sid:
        return "holds a control character (or a tab or line break)"
    if any(ch in sid for ch in "/\\:"):
        return "holds / \\ or :, so it cannot name a folder"
    return None


def read_roster(path: Path) -> list[Student]:
    """A CSV with an `id` column (and optionally `name`, `email`); every bad row reported."""
    where = str(path)
    raw = read_capped(path, ROSTER_MAX_BYTES, RosterError, "roster", fix="Give the class list as a CSV file")
    text = decode_text(raw, where, RosterError)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise RosterError(f"is not a CSV file ({exc})", where=where, fix="Save the class list as CSV") from None
    if not rows:
        raise RosterError("is empty", where=where, fix="The first line names the columns: id,name,email")
    header = [h.strip().lower() for h in rows[0]]
    id_column = next((header.index(h) for h in ("id", "student_id", "student id", "sid") if h in header), None)
    if id_column is None:
        raise RosterError(
            f"has no id column (its columns: {one_line(', '.join(header)) or 'none'})",
            where=where,
            fix="Name one column 'id' in the first line, e.g. id,name,email",
        )
    name_col = header.index("name") if "name" in header else None
    email_col = header.index("email") if "email" in header else None
    students: list[Student] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are fine
        if len(row) != len(header):
            problems.append(f"line {line}: {len(row)} fields, the header has {len(header)}")
            continue
        sid = row[id_column].strip()
        if not sid:
            problems.append(f"line {line}: empty id")
            continue
        problem = id_problem(sid)
        if problem:
            problems.append(f"line {line}: id {ascii(sid)[:80]} {problem}")
            continue
        if sid in seen:
            problems.append(f"line {line}: duplicate id '{sid}' (first on line {seen[sid]})")
            continue
        seen[sid] = line
        # Names are kept as written (a name may well start with '='): every writer neutralises them.
        students.append(
            Student(
                sid,
                one_line(row[name_col]).strip() if name_col is not None else "",
                one_line(row[email_col]).strip() if email_col is not None else "",
            )
        )
    if problems:
        raise RosterError("bad rows: " + "; ".join(problems), where=where, fix="Fix those lines and run again")
    if not students:
        raise RosterError("lists no students", where=where)
    return students


def read_secret(secret_file: Path | None) -> bytes | None:
    """The instructor's secret: --secret-file, else NNHAND_SECRET, else None."""
    if secret_file is not None:
        secret = read_capped(secret_file, SECRET_MAX_BYTES, NnhandError, "secret file").strip()
        if not secret:
            raise NnhandError("the secret file is empty", where=str(secret_file))
        return secret
    env = os.environ.get("NNHAND_SECRET", "").strip()
    return env.encode() if env else None


def student_seed(secret: bytes, assignment: str, student: str, template: str, attempt: int = 0) -> int:
    """HMAC-SHA256 over (assignment, student, template): a seed only the secret's holder can predict."""
    message = "\0".join([assignment, student, template] + ([str(attempt)] if attempt else [])).encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % SEED_SPACE


# ----------------------------------------------------------------------------- worksheets


@dataclass
class Exercise:
    template: Template
    sheet: Sheet  # sealed: its variant names a token, not the seed
    seed: int | None = None  # what the token stands for: the manifest records it for the instructor


@dataclass
class Assignment:
    name: str
    students: list[Student]
    exercises: dict[str, list[Exercise]]  # student id -> one exercise per template
    templates: list[Template]
    blanks: str | None
    seeding: str  # "hmac-sha256" or "random"


def build_assignment(
    template_ids: list[str],
    students: list[Student],
    assignment: str,
    secret: bytes | None,
    blanks: str | None = None,
    problems_dirs: Iterable[str] = (),
) -> Assignment:
    """A unique variant per student and template (no two students share an instance), each
    sealed under a token unique in the batch before its sheet is made."""
    if not template_ids:
        raise NnhandError("name at least one template", fix="e.g. nnhand worksheet transformer backprop ...")
    if len(set(template_ids)) != len(template_ids):
        raise NnhandError("a template is named twice", fix="Name each template once")
    templates = [load_template(find_template(t, problems_dirs)) for t in template_ids]
    exercises: dict[str, list[Exercise]] = {s.id: [] for s in students}
    rng = np.random.default_rng() if secret is None else None
    tokens: set[str] = set()
    for template in templates:
        seen: set[str] = set()
        for student in students:
            for attempt in range(100):
                if secret is not None:
                    seed = student_seed(secret, assignment, student.id, template.id, attempt)
                else:
                    assert rng is not None
                    seed = int(rng.integers(SEED_SPACE))
                problem = generate(template, seed)
                digest = givens_digest(problem)
                if digest not in seen:  # a different seed can land on the same numbers: redraw
                    seen.add(digest)
                    break
            token = sealed_token(secret, ["worksheet", assignment, student.id, template.id], tokens)
            sheet = make_sheet(seal(problem, token), blanks)
            exercises[student.id].append(Exercise(template, sheet, seed))
    return Assignment(assignment, students, exercises, templates, blanks, "random" if secret is None else "hmac-sha256")


def numbered_students(count: int) -> list[Student]:
    width = len(str(count))
    return [Student(f"v{i + 1:0{width}d}") for i in range(count)]


# ----------------------------------------------------------------------------- manifest


def manifest_data(assignment: Assignment) -> dict[str, Any]:
    students = []
    for student in assignment.students:
        entries = []
        for exercise in assignment.exercises[student.id]:
            sheet = exercise.sheet
            key = key_data(sheet.problem)
            entries.append(
                {
                    "template": exercise.template.id,
                    "version": exercise.template.version,
                    "variant": sheet.variant,
                    "token": sheet.problem.variant.token,
                    "seed": exercise.seed,  # `nnhand key TEMPLATE --seed SEED` rebuilds the instance
                    "blanks": sheet.policy,
                    "params": key["params"],
                    "givens": key["givens"],
                    "key": key["answers"],
                    "exact": key.get("exact", {}),
                    "blank_mask": {name: mask.astype(int).tolist() for name, mask in sheet.blanks.items()},
                }
            )
        students.append({"id": student.id, "name": student.name, "email": student.email, "exercises": entries})
    return {
        "schema": MANIFEST_SCHEMA,
        "schema_version": MANIFEST_VERSION,
        "nnhand_version": __version__,
        "assignment": assignment.name,
        "seeding": assignment.seeding,
        "blanks": assignment.blanks,
        "templates": {t.id: {"version": t.version, "title": t.title, "source": t.source} for t in assignment.templates},
        "students": students,
    }


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
    data = _parse_json(decode_text(raw, where, ManifestError), where)
    return _Schema(path).manifest(data)


def _parse_json(text: str, where: str) -> Any:
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
        tid = self.get(entry, "template", str, at)
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
            shapes = template.shapes(template.resolve_params(params, where=_at(at, "params")))
        except NnhandError as exc:
            raise self.fail(_at(at, "params"), exc.message) from None
        self.names(self.get(entry, "givens", dict, at), list(template.givens), _at(at, "givens"), f"given of {tid}")
        self.names(self.get(entry, "key", dict, at), [s.name for s in template.steps], _at(at, "key"), f"step of {tid}")
        exact = self.get(entry, "exact", dict, at, optional=True) or {}
        steps = {s.name for s in template.steps}
        for name in exact:
            if name not in steps:
                raise self.fail(_at(at, "exact"), f"'{one_line(name)[:40]}' is not a step of {tid}")
        asked = [s.name for s in template.steps if s.asked]
        masks = self.get(entry, "blank_mask", dict, at)
        self.names(masks, asked, _at(at, "blank_mask"), f"asked step of {tid}")
        for name in asked:
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
    template = manifest.templates[template_id]
    params = template.resolve_params(entry["params"])
    shapes = template.shapes(params)
    where = f"{manifest.path}: {at}"
    try:
        givens = {n: read_given(template, n, v, shapes[n], f"{where}.givens") for n, v in entry["givens"].items()}
        values = {n: read_grid(v, shapes[n], f"{where}.key", n) for n, v in entry["key"].items()}
        exact = dict(values)
        exact.update({n: _exact_grid(v, shapes[n], f"{where}.exact", n) for n, v in (entry.get("exact") or {}).items()})
    except NnhandError as exc:
        raise ManifestError(
            f"the entry is damaged: {exc.message}", where=exc.where or where, fix=_MANIFEST_FIX
        ) from None
    masks = {n: np.array(m, dtype=bool) for n, m in entry["blank_mask"].items()}
    problem = Problem(template, Variant.parse(entry["variant"]), params, givens, values, exact, shapes)
    return Sheet(problem, entry["blanks"], masks)


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


# ----------------------------------------------------------------------------- grading a folder
#
# Who a submission belongs to is decided by where the course system put it: the folder it
# sits in, else its file name (`alice/...`, `alice-transformer.yaml`). The `student:` line
# inside is the student's own writing: when it disagrees it is flagged, never followed, so a
# file can never land on another student's row. Two files for one student and exercise are
# both flagged and the lower score counts: handing in several versions never earns more
# than the weakest of them.

FLAG_KINDS = ("identity", "duplicate", "unmatched", "tampered", "not_graded", "missing")


@dataclass
class Submission:
    path: Path
    student: str | None = None  # from the folder or file name, never from the file's content
    template: str | None = None
    report: Report | None = None
    problem: str | None = None  # why it could not be graded (malformed, unmatched)
    tampered: str | None = None  # why it earned 0 (givens or variant differ)
    identity: str | None = None  # how the file's own claims disagree with where it was handed in

    @property
    def score(self) -> float:
        return self.report.score if self.report is not None else 0.0

    @property
    def status(self) -> str:
        if self.tampered:
            return "tampered"
        return "graded" if self.report is not None else "not graded"


@dataclass(frozen=True)
class Flag:
    """Something the instructor should look at: one kind of FLAG_KINDS, where, and why."""

    kind: str
    student: str | None
    exercise: str | None
    file: str | None
    message: str


@dataclass
class GradeBook:
    manifest: Manifest
    submissions: list[Submission] = field(default_factory=list)
    scoring: str | None = None  # the --scoring override, else each template's own
    _index: tuple[int, dict[tuple[str, str], list[Submission]]] = field(default=(-1, {}), repr=False)

    def files(self, student: str, template: str) -> list[Submission]:
        """Every submission placed on this student's exercise, in path order."""
        count, index = self._index
        if count != len(self.submissions):
            index = {}
            for s in self.submissions:
                if s.student is not None and s.template is not None:
                    index.setdefault((s.student, s.template), []).append(s)
            self._index = (len(self.submissions), index)
        return index.get((student, template), [])

    def cell(self, student: str, template: str) -> Submission | None:
        """The submission that counts: the only one, or of several the lowest-scoring (first on a tie)."""
        found = self.files(student, template)
        return min(found, key=lambda s: s.score) if found else None

    def points(self, student: str, template: str) -> float:
        """What the student's exercise is worth, from the manifest's blank mask alone."""
        tmpl = self.manifest.templates[template]
        mode = self.scoring or tmpl.scoring
        asked = {n: sum(map(sum, m)) for n, m in self.manifest.masks(student, template).items()}
        if mode == "cell":
            return float(sum(asked.values()))
        if mode == "step":
            return float(sum(1 for n in asked.values() if n))
        return float(sum(tmpl.step(name).points for name, n in asked.items() if n))

    def points_possible(self, template: str) -> float:
        return self.points(next(iter(self.manifest.students)), template)

    def missing(self) -> list[tuple[str, str]]:
        return [
            (sid, tid)
            for sid in self.manifest.students
            for tid in self.manifest.template_ids
            if self.cell(sid, tid) is None
        ]

    def flags(self) -> list[Flag]:
        """Every flag, submission by submission (identity, duplicate, tampered or not graded), then missing work."""
        out: list[Flag] = []
        for s in self.submissions:
            file = str(s.path)
            if s.identity:
                out.append(Flag("identity", s.student, s.template, file, s.identity))
            if s.student is None:
                out.append(Flag("unmatched", None, s.template, file, s.problem or "matches no student"))
                continue
            if s.template is not None:
                others = self.files(s.student, s.template)
                if len(others) > 1:
                    counts = "it counts" if self.cell(s.student, s.template) is s else "it does not count"
                    out.append(Flag("duplicate", s.student, s.template, file, (
                        f"{s.path.name} is one of {len(others)} files for {s.student} {s.template} "
                        f"({', '.join(o.path.name for o in others)}); {counts} (the lowest score counts)"
                    )))  # fmt: skip
            if s.tampered:
                out.append(Flag("tampered", s.student, s.template, file, f"{s.tampered} (0 points)"))
            elif s.report is None:
                out.append(Flag("not_graded", s.student, s.template, file, s.problem or "not graded"))
        out += [Flag("missing", sid, tid, None, "no submission found") for sid, tid in self.missing()]
        return out

    def flags_of(self, student: str) -> list[Flag]:
        return [f for f in self.flags() if f.student == student]

    @property
    def all_right(self) -> bool:
        """Nothing flagged, and every counted submission right in every cell."""
        if self.flags():
            return False
        return all(s.report is not None and s.report.exit_code == 0 for s in self.submissions)


def answer_files(folder: Path) -> list[Path]:
    """The answer files under `folder`, by suffix: every entry that is not a folder, so that a
    FIFO, a device or a link to one is reported (it is never opened), not silently skipped."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise NnhandError("no such folder", where=str(folder), fix="Name the folder that holds the submissions")
    found: list[Path] = []
    for root, dirs, names in os.walk(folder, followlinks=False):  # links to folders are not followed: no loops
        dirs.sort()
        for name in sorted(names):
            if Path(name).suffix.lower() in ANSWER_SUFFIXES:
                found.append(Path(root) / name)
                if len(found) > MAX_SUBMISSION_FILES:
                    raise NnhandError(
                        f"holds more than {MAX_SUBMISSION_FILES:,} answer files",
                        where=str(folder),
                        fix="Grade one course's folder at a time",
                    )
    return sorted(found)


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Stop a file that takes too long (where the platform has SIGALRM, in the main thread)."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def grade_folder(manifest: Manifest, folder: Path, scoring: str | None = None, ecf: bool = True) -> GradeBook:
    """Grade every answer file under `folder`; a bad file is recorded, never fatal."""
    if scoring is not None and scoring not in SCORING_MODES:
        raise NnhandError(f"unknown scoring '{scoring}'", where="--scoring", fix=f"Use {', '.join(SCORING_MODES)}")
    folder = Path(folder)
    book = GradeBook(manifest, scoring=scoring)
    for path in answer_files(folder):
        submission = Submission(path)
        book.submissions.append(submission)
        named = _students_named(manifest, path, folder)
        if named:
            submission.student = named[0]
        if len(named) > 1:
            submission.identity = (
                f"its location names {' and '.join(named)}; it counts for {named[0]} (the outermost name)"
            )
        try:
            with _time_limit(FILE_SECONDS):
                _grade_submission(manifest, submission, scoring, ecf)
        except NnhandError as exc:
            submission.problem = exc.render()
        except TimeoutError:
            submission.problem = f"{path}: took longer than {FILE_SECONDS} s to grade; skipped"
        except (RecursionError, MemoryError, OverflowError, ValueError) as exc:
            submission.problem = f"{path}: cannot be graded ({type(exc).__name__})"
        if submission.problem and submission.template is None:
            # Unreadable: still place it by its name, so the grade book says "not graded", not "missing".
            names = [t for t in manifest.template_ids if t in path.stem]
            submission.template = max(names, key=len) if names else None
    return book


def _grade_submission(manifest: Manifest, submission: Submission, scoring: str | None, ecf: bool) -> None:
    path = submission.path
    where = str(path)
    raw = read_capped(path, MAX_ANSWER_BYTES, AnswerFileError, "answer file")
    data = parse_answer_text(raw, where)
    declared = data.get("student")
    claim = one_line(declared)[:80] if declared is not None else None
    if submission.student is None:
        raise AnswerFileError(
            "matches no student of the manifest by its folder or file name"
            + (f" (it says student: {claim}, which does not place it)" if claim is not None else ""),
            where=where,
            fix="Put it in a folder named after the student id, or name it <id>-<template>.yaml",
        )
    if declared is not None and str(declared) != submission.student:
        who = submission.student
        note = f"it says student: {claim}, but was handed in as {who}; graded for {who} only"
        submission.identity = f"{submission.identity}; {note}" if submission.identity else note
    variant_text = one_line(data.get("variant", ""))[:120]
    template_id = variant_text.split("@", 1)[0]
    if template_id not in manifest.templates:
        raise AnswerFileError(
            f"is for '{template_id}', which is not in this assignment ({', '.join(manifest.template_ids)})",
            where=where,
        )
    submission.template = template_id
    sheet = manifest.sheet(submission.student, template_id)
    tampering = _tampering(sheet, data, where)
    if tampering:
        submission.tampered = tampering
        return
    answers = data.get("answers") or {}
    if not isinstance(answers, Mapping):
        raise AnswerFileError("'answers' should be a mapping of names to values", where=where)
    readings = read_answers(sheet, answers, where)
    report = grade_sheet(sheet, readings, where, scoring, ecf)
    report.student = submission.student
    submission.report = report


def _students_named(manifest: Manifest, path: Path, folder: Path) -> list[str]:
    """The students the submission's location names: folders outermost first, then the file name."""
    try:
        parts = path.relative_to(folder).parts
    except ValueError:
        parts = (path.name,)
    names = [*parts[:-1], path.stem] if parts else [path.stem]
    found: list[str] = []
    for name in names:
        sid = _student_named(manifest, name)
        if sid is not None and sid not in found:
            found.append(sid)
    return found


def _student_named(manifest: Manifest, name: str) -> str | None:
    """The student a folder or file name stands for: the id itself, or the id then - _ or . ("alice-hw3")."""
    if name in manifest.students:
        return name
    for k in range(len(name) - 1, 0, -1):  # the longest id first: "ann-lee-hw3" is ann-lee's if both exist
        if name[k] in "-_." and name[:k] in manifest.students:
            return name[:k]
    return None


def _tampering(sheet: Sheet, data: Mapping[str, Any], where: str) -> str | None:
    """Why a submission does not belong to its sheet (variant or givens changed), or None."""
    if str(data.get("variant")) != sheet.variant:
        return f"variant {one_line(data.get('variant'))[:120]} is not the one issued ({sheet.variant})"
    givens = data.get("givens")
    if not isinstance(givens, Mapping):
        return "the givens were removed"
    return givens_difference(sheet.problem, givens, where)


# ----------------------------------------------------------------------------- outputs


def _row_flags(flags: list[Flag], student: str) -> str:
    words = {"not_graded": "not graded"}
    parts = []
    for f in flags:
        if f.student != student:
            continue
        label = f.exercise or Path(f.file or "").name
        if f.kind == "missing":
            parts.append(f"{label}: missing")
        else:
            parts.append(f"{label}: {words.get(f.kind, f.kind)} ({f.message})")
    return "; ".join(parts)


def gradebook_csv(book: GradeBook) -> str:
    """One row per student, one column per exercise, total, max, percent; points first.

    Every text cell (ids, names, flags) is neutralised so that a spreadsheet never runs it as a formula."""
    templates = book.manifest.template_ids
    possible = {t: book.points_possible(t) for t in templates}
    total_possible = sum(possible.values())
    flags = book.flags()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in ["student_id", "name", *templates, "total", "max", "percent", "flags"]])
    writer.writerow(["points possible", "", *(_num(possible[t]) for t in templates), _num(total_possible),
                     _num(total_possible), "100", ""])  # fmt: skip
    for sid, entry in book.manifest.students.items():
        scores = [s.score if (s := book.cell(sid, tid)) is not None else 0.0 for tid in templates]
        total = sum(scores)
        own_max = sum(book.points(sid, tid) for tid in templates)
        percent = 100 * total / own_max if own_max else 0.0
        writer.writerow([csv_cell(sid), csv_cell(entry.get("name") or ""), *(_num(s) for s in scores), _num(total),
                         _num(own_max), f"{percent:.1f}", csv_cell(_row_flags(flags, sid))])  # fmt: skip
    return out.getvalue()


def _num(value: float) -> str:
    return f"{value:g}"


GRADES_SCHEMA = "nnhand-grades"
GRADES_VERSION = 1


def grades_data(book: GradeBook) -> dict[str, Any]:
    """The grade book for programs (`grade --json`): per student and exercise the score, max,
    status and flags; then every flag of the class by kind."""
    flags = book.flags()
    by_cell: dict[tuple[str | None, str | None], list[Flag]] = {}
    for f in flags:
        by_cell.setdefault((f.student, f.exercise), []).append(f)

    def brief(f: Flag) -> dict[str, Any]:
        return {"kind": f.kind, "file": f.file, "message": f.message}

    students = []
    for sid, entry in book.manifest.students.items():
        exercises: dict[str, dict[str, Any]] = {}
        for tid in book.manifest.template_ids:
            sub = book.cell(sid, tid)
            exercises[tid] = {
                "score": sub.score if sub is not None else 0,
                "max": book.points(sid, tid),
                "status": sub.status if sub is not None else "missing",
                "file": str(sub.path) if sub is not None else None,
                "flags": [brief(f) for f in by_cell.get((sid, tid), [])],
            }
        total = sum(e["score"] for e in exercises.values())
        most = sum(e["max"] for e in exercises.values())
        students.append({
            "id": sid,
            "name": entry.get("name") or "",
            "total": total,
            "max": most,
            "percent": round(100 * total / most, 1) if most else 0.0,
            "exercises": exercises,
            "flags": [brief(f) for f in by_cell.get((sid, None), [])],  # files placed on no exercise
        })  # fmt: skip
    return {
        "schema": GRADES_SCHEMA,
        "schema_version": GRADES_VERSION,
        "nnhand_version": __version__,
        "assignment": book.manifest.data.get("assignment"),
        "manifest": str(book.manifest.path),
        "scoring": book.scoring,
        "files": len(book.submissions),
        "graded": sum(1 for s in book.submissions if s.report is not None),
        "students": students,
        "flags": {
            kind: [
                {"student": f.student, "exercise": f.exercise, "file": f.file, "message": f.message}
                for f in flags
                if f.kind == kind
            ]
            for kind in FLAG_KINDS
        },
    }


def grades_json(book: GradeBook) -> str:
    return json.dumps(grades_data(book), indent=1, ensure_ascii=False) + "\n"


PRINT_FORMATS = ("html", "md", "pdf")


def worksheet_files(assignment: Assignment, formats: Iterable[str], worked: bool = False) -> dict[str, str | bytes]:
    """Every file of a worksheet batch, by path relative to the output folder."""
    from nnhand.core.explain import explain_problem
    from nnhand.grading.answers import answer_file_text
    from nnhand.output.printing import Page

    files: dict[str, str | bytes] = {}
    sheets_pages, key_pages = [], []
    per_student: dict[str, tuple[list[Any], list[Any]]] = {}
    for student in assignment.students:
        label = student.name or student.id
        own_sheets, own_keys = [], []
        for exercise in assignment.exercises[student.id]:
            sheet = exercise.sheet
            answers = answer_file_text(sheet, student=student.id)
            files[f"students/{student.id}/{exercise.template.id}.yaml"] = answers
            explanation = explain_problem(sheet.problem) if worked else None
            own_sheets.append(Page(sheet=sheet, student=label, key=False, worked=None))
            own_keys.append(Page(sheet=make_sheet(sheet.problem, "none"), student=label, key=True, worked=explanation))
        per_student[student.id] = (own_sheets, own_keys)
        sheets_pages += own_sheets
        key_pages += own_keys
    title = assignment.name
    for fmt in formats:
        files[f"sheets.{fmt}"] = render_pages(fmt, sheets_pages, f"{title}: worksheets")
        files[f"keys.{fmt}"] = render_pages(fmt, key_pages, f"{title}: answer keys")
        for sid, (own_sheets, own_keys) in per_student.items():
            files[f"students/{sid}/sheet.{fmt}"] = render_pages(fmt, own_sheets, f"{title}: {sid}")
            files[f"students/{sid}/key.{fmt}"] = render_pages(fmt, own_keys, f"{title}: {sid} (key)")
    files["manifest.json"] = json.dumps(manifest_data(assignment), indent=1, ensure_ascii=False) + "\n"
    return files


def render_pages(fmt: str, pages: list[Any], title: str) -> str | bytes:
    from nnhand.output import printing

    if fmt == "md":
        return printing.markdown_pages(pages)
    if fmt == "html":
        return printing.html_document(pages, title)
    if fmt == "pdf":
        return printing.pdf_bytes(pages, title)
    raise NnhandError(f"unknown format '{fmt}'", where="--format", fix=f"Use {', '.join(PRINT_FORMATS)}")


def check_output_folder(out: Path, force: bool) -> None:
    """Refuse an output folder that exists, unless `force` and it is one nnhand wrote.

    `--force` replaces only a folder holding an nnhand manifest and nothing but the files
    `worksheet` writes (or an empty folder): anything else, a file someone added included,
    is refused with its name, and nothing is deleted."""
    out = Path(out)
    where = str(out)
    if not os.path.lexists(out):
        return
    if out.is_symlink():
        raise NnhandError("is a symbolic link", where=where, fix="Give the folder itself, or another --out")
    if not out.is_dir():
        raise NnhandError("exists and is not a folder", where=where, fix="Choose another --out")
    if not force:
        raise NnhandError("already exists", where=where, fix="Choose another --out, or pass --force to replace it")
    foreign = _not_nnhand_output(out)
    if foreign:
        raise NnhandError(
            f"is not a folder nnhand wrote ({foreign}), so --force does not replace it",
            where=where,
            fix="Choose another --out; nothing was deleted",
        )


def _not_nnhand_output(out: Path) -> str | None:
    """Why `out` is not a worksheet folder nnhand wrote (its first foreign file), or None."""
    entries = []
    for root, dirs, names in os.walk(out, followlinks=False):
        entries += [Path(root, n) for n in dirs + names]
        if len(entries) > 10 * MAX_SUBMISSION_FILES:
            return "it holds too many files"
    if not entries:
        return None  # an empty folder: nothing to lose
    manifest = out / "manifest.json"
    try:
        data = _parse_json(decode_text(read_capped(manifest, MANIFEST_MAX_BYTES, ManifestError), str(manifest),
                                       ManifestError), str(manifest))  # fmt: skip
    except ManifestError:
        data = None
    if not isinstance(data, dict) or data.get("schema") != MANIFEST_SCHEMA:
        first = "/".join(min(entries).relative_to(out).parts)
        return f"it holds {first} but no nnhand manifest.json"
    templates: dict[str, Any] = data["templates"] if isinstance(data.get("templates"), dict) else {}
    students: list[Any] = data["students"] if isinstance(data.get("students"), list) else []
    ids = {s.get("id") for s in students if isinstance(s, dict)}
    suffixes = "|".join(PRINT_FORMATS)
    top = re.compile(rf"^(manifest\.json|(sheets|keys)\.({suffixes}))$")
    own = re.compile(rf"^((sheet|key)\.({suffixes})|(?P<tid>[a-z0-9-]+)\.yaml)$")
    for path in sorted(entries):
        parts = path.relative_to(out).parts
        name = "/".join(parts)
        if path.is_symlink():
            return f"{name} is a link"
        if path.is_dir():
            if parts == ("students",) or (len(parts) == 2 and parts[0] == "students" and parts[1] in ids):
                continue
            return f"{name}/ is not a folder nnhand makes"
        if len(parts) == 1 and top.match(parts[0]):
            continue
        match = own.match(parts[-1]) if len(parts) == 3 and parts[0] == "students" and parts[1] in ids else None
        if match and (match["tid"] is None or match["tid"] in templates):
            continue
        return f"{name} is not a file nnhand writes"
    return None


def write_folder(out: Path, files: Mapping[str, str | bytes], force: bool) -> None:
    """Write the class folder or nothing; `force` replaces only a folder nnhand wrote."""
    check_output_folder(out, force)
    write_folder_atomically(out, files)


def feedback_files(book: GradeBook) -> dict[str, str]:
    """One plain-text feedback file per student: every exercise's report, and what is missing.

    Text from submissions (a file's problem, a cell) is shown as written, never read as rich
    markup, and without control characters."""
    from rich.text import Text

    from nnhand.output.terminal import console, report_renderable

    out = {}
    flags = book.flags()
    for sid in book.manifest.students:
        problem = id_problem(sid)
        if problem:
            raise OutputError(f"the student id {ascii(sid)[:80]} {problem}", where="--feedback",
                              fix="Student ids name the feedback files; fix the manifest")  # fmt: skip
        buffer = io.StringIO()
        terminal = console(file=buffer, color=False)
        for tid in book.manifest.template_ids:
            sub = book.cell(sid, tid)
            if sub is None:
                terminal.print(Text(f"{tid}: no submission found.\n"))
            elif sub.tampered:
                terminal.print(Text(f"{tid}: 0 points. The submission was altered: {plain(sub.tampered)}.\n"))
            elif sub.report is None:
                terminal.print(Text(f"{tid}: could not be graded: {plain(sub.problem)}\n"))
            else:
                terminal.print(report_renderable(sub.report, reveal=True))
                terminal.print("")
            for f in flags:
                if f.student == sid and f.exercise == tid and f.kind in ("identity", "duplicate"):
                    terminal.print(Text(f"{tid}: note: {plain(f.message)}\n"))
        for f in flags:
            if f.student == sid and f.exercise is None:
                terminal.print(Text(f"{Path(f.file or '').name}: could not be graded: {plain(f.message)}\n"))
        out[f"{sid}.txt"] = plain(buffer.getvalue())
    return out


def summary_text(book: GradeBook) -> str:
    """What `grade` prints: counts, every flag, then one line per student (control characters removed)."""
    graded = [s for s in book.submissions if s.report is not None]
    lines = [f"{len(graded)} submissions graded out of {len(book.submissions)} files."]
    flags = book.flags()
    for f in flags:
        if f.kind == "identity":
            lines.append(f"IDENTITY {f.file}: {f.message}")
    duplicates: dict[tuple[str | None, str | None], list[Flag]] = {}
    for f in flags:
        if f.kind == "duplicate":
            duplicates.setdefault((f.student, f.exercise), []).append(f)
    for (sid, tid), group in duplicates.items():
        counted = book.cell(sid or "", tid or "")
        lines.append(
            f"DUPLICATE {sid} {tid}: {len(group)} files ({', '.join(str(f.file) for f in group)}); "
            f"the lowest score counts ({counted.path if counted else '?'})"
        )
    for f in flags:
        if f.kind == "unmatched":
            lines.append(f"UNMATCHED {f.message}")
    for s in book.submissions:
        if s.tampered:
            lines.append(f"TAMPERED {s.path}: {s.student} {s.template}: {s.tampered} (0 points)")
    for s in book.submissions:
        if s.student is not None and s.report is None and not s.tampered:
            lines.append(f"NOT GRADED {s.problem}")
    missing = book.missing()
    if missing:
        lines.append(f"MISSING ({len(missing)}): " + ", ".join(f"{sid} {tid}" for sid, tid in missing))
    for sid in book.manifest.students:
        parts = []
        for tid in book.manifest.template_ids:
            sub = book.cell(sid, tid)
            score = "missing" if sub is None else ("0 (tampered)" if sub.tampered else
                     (f"{sub.report.score:g}/{sub.report.max_score:g}" if sub.report else "not graded"))  # fmt: skip
            parts.append(f"{tid} {score}")
        lines.append(f"{sid}: " + ", ".join(parts))
    return "".join(one_line(line) + "\n" for line in lines)


__all__ = [
    "Assignment",
    "GradeBook",
    "Manifest",
    "Student",
    "build_assignment",
    "grade_folder",
    "gradebook_csv",
    "manifest_data",
    "numbered_students",
    "read_manifest",
    "read_roster",
    "read_secret",
    "student_seed",
]  # fmt: skip
