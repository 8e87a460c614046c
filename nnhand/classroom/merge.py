"""`nnhand merge`: the shards of a class joined into what one unsharded run writes.

`worksheet --shard K/N` writes its block of the class (classroom/shards.py) as a worksheet
folder of its own plus shard.json, which records the split and what every shard must share:
the whole class (a digest of its ids, names and emails), the secret (a check value derived
from it, which tells nothing of it), the formats and options. Merging checks that the shards
agree and cover the class exactly once, then writes, byte for byte, what `worksheet` would
have written for the whole class:

- manifest.json: the shards' student entries joined in shard order (the header is shared);
- students/: every shard's files, as they are;
- sheets.pdf, keys.pdf: assembled from the students' PDFs, nothing typeset again;
- the class documents of text formats (HTML, Markdown, typst): rendered from the sheets the
  merged manifest rebuilds (each seed drawn again, checked against the givens recorded).

Manifests alone (`merge shard1/manifest.json ... --out manifest.json`) give the merged
manifest only; grade books (schema "nnhand-grades") go to gradebook.merge_grade_books.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nnhand._version import __version__
from nnhand.classroom.manifest import MANIFEST_MAX_BYTES, MANIFEST_SCHEMA, parse_json
from nnhand.classroom.roster import Student
from nnhand.classroom.shards import (
    SHARD_FILE,
    SHARD_SCHEMA,
    SHARD_VERSION,
    Shard,
    parse_shard,
    whole_split,
)
from nnhand.errors import ManifestError, NnhandError, UsageError
from nnhand.safety.safeio import decode_text, read_capped

SHARD_MAX_BYTES = 100_000
GRADES_SCHEMA = "nnhand-grades"
_SHARED = ("class_size", "class_digest", "secret_check", "formats", "worked", "augmented")  # every shard's the same
_FIX = "Merge the shards of one run: `worksheet --shard K/N` for K = 1..N with the same roster, options and secret"


@dataclass
class _ShardPart:
    folder: Path
    shard: Shard
    record: dict[str, Any]
    manifest: dict[str, Any]
    manifest_path: Path


def _read_json(path: Path, limit: int, what: str) -> Any:
    raw = read_capped(path, limit, ManifestError, what)
    return parse_json(decode_text(raw, str(path), ManifestError), str(path))


def _read_part(folder: Path, manifest_path: Path) -> _ShardPart:
    record_path = folder / SHARD_FILE
    if not record_path.is_file():
        raise UsageError(
            f"has no {SHARD_FILE}, so it is not a shard",
            where=str(folder),
            fix="Give the folders `worksheet --shard K/N` wrote",
        )
    record = _read_json(record_path, SHARD_MAX_BYTES, "shard record")
    where = str(record_path)
    if not isinstance(record, dict) or record.get("schema") != SHARD_SCHEMA:
        raise ManifestError("is not an nnhand shard record", where=where, fix=_FIX)
    if record.get("schema_version") != SHARD_VERSION:
        raise ManifestError(
            f"has schema version {record.get('schema_version')!r}; this nnhand reads {SHARD_VERSION}",
            where=where,
            fix=f"Merge with the nnhand that made the shards (this is {__version__})",
        )
    kinds = {"class_size": int, "class_digest": str, "secret_check": str, "formats": list, "worked": bool,
             "augmented": bool, "shard": str}  # fmt: skip
    for key, kind in kinds.items():
        if not isinstance(record.get(key), kind) or (kind is int and isinstance(record.get(key), bool)):
            raise ManifestError(f"'{key}' is missing or not {kind.__name__}", where=where, fix=_FIX)
    try:
        shard = parse_shard(record["shard"])
    except NnhandError as exc:
        raise ManifestError(f"'shard': {exc.message}", where=where, fix=_FIX) from None
    manifest = _read_json(manifest_path, MANIFEST_MAX_BYTES, "manifest")
    if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA:
        raise ManifestError("is not an nnhand manifest", where=str(manifest_path), fix=_FIX)
    if not isinstance(manifest.get("students"), list):
        raise ManifestError("has no list of students", where=str(manifest_path), fix=_FIX)
    return _ShardPart(folder, shard, record, manifest, manifest_path)


def _check_parts(parts: list[_ShardPart]) -> list[_ShardPart]:
    """The shards in order, once each, of one run: else an error naming the folders."""
    first = parts[0]
    for part in parts[1:]:
        for key in _SHARED:
            if part.record[key] != first.record[key]:
                what = {"class_digest": "rosters", "secret_check": "secrets", "class_size": "class sizes"}.get(
                    key, f"'{key}' options"
                )
                raise NnhandError(
                    f"{first.folder} and {part.folder} are shards of different runs (different {what})",
                    where="merge",
                    fix=_FIX,
                )
        header = {k: v for k, v in part.manifest.items() if k != "students"}
        first_header = {k: v for k, v in first.manifest.items() if k != "students"}
        if header != first_header:
            differing = sorted(k for k in header.keys() | first_header.keys() if header.get(k) != first_header.get(k))
            raise NnhandError(
                f"{first.manifest_path} and {part.manifest_path} are manifests of different runs "
                f"(they differ in {', '.join(differing)})",
                where="merge",
                fix=_FIX,
            )
    ordered = [parts[i] for i in whole_split([(p.shard, str(p.folder)) for p in parts], _FIX)]
    size = first.record["class_size"]
    for part in ordered:
        start, stop = part.shard.bounds(size)
        if len(part.manifest["students"]) != stop - start:
            raise ManifestError(
                f"lists {len(part.manifest['students'])} students; shard {part.shard} of {size} holds {stop - start}",
                where=str(part.manifest_path),
                fix=_FIX,
            )
    return ordered


def _merged_manifest(parts: Sequence[_ShardPart]) -> dict[str, Any]:
    merged = dict(parts[0].manifest)  # the header, in its order; the students after it as written
    merged["students"] = [student for part in parts for student in part.manifest["students"]]
    return merged


def _manifest_text(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"  # as build.manifest_text writes it


@dataclass(frozen=True)
class MergeRun:
    """What `merge` wrote: for the one line it prints."""

    out: Path
    shards: int
    students: int
    what: str

    @property
    def message(self) -> str:
        return f"{self.shards} shards ({self.students} students) merged into {self.out} ({self.what})"


def merge(
    inputs: Sequence[Path],
    out: Path,
    *,
    force: bool = False,
    book_outputs: Mapping[str, Path] | None = None,
    manifest: Path | None = None,
    per: str = "cell",
) -> MergeRun:
    """Merge shard folders (into a worksheet folder), shard manifests (into one manifest) or
    shard grade books (gradebook.merge_grade_books: the JSON book to `out`, the other
    `book_outputs` as `grade` writes them), by what the inputs are."""
    if not inputs:
        raise UsageError("nothing to merge", fix="Name the shards' folders, e.g. nnhand merge part-*/ --out class")
    paths = [Path(p) for p in inputs]  # a list: a shard named twice is refused, not silently dropped
    kinds = [_kind(p) for p in paths]
    if len(set(kinds)) > 1:
        listed = ", ".join(f"{p} ({k})" for p, k in zip(paths, kinds))
        raise UsageError(f"the inputs are of different kinds: {listed}", where="merge", fix="Merge one kind at a time")
    kind = kinds[0]
    if kind == "grade book":
        from nnhand.classroom import gradebook

        merge_books = getattr(gradebook, "merge_grade_books", None)
        if merge_books is None:
            raise UsageError("this nnhand cannot merge grade books yet", where="merge")
        book = merge_books(paths, {"json": out, **(book_outputs or {})}, manifest=manifest, per=per)
        written = ", ".join(["json", *(book_outputs or {})])
        return MergeRun(out, len(paths), len(book.students), f"grade book: {written}")
    if book_outputs or manifest is not None:
        raise UsageError(
            "--csv, --junit, --feedback, --report and --manifest are for merging grade books",
            where="merge",
            fix="Leave them out when merging worksheet shards",
        )
    if kind == "manifest":
        return merge_manifests(paths, out, force=force)
    return merge_worksheets(paths, out, force=force)


def _kind(path: Path) -> str:
    if path.is_dir():
        return "shard folder"
    if not path.is_file():
        raise UsageError("does not exist", where=str(path), fix="Name the shards' folders, manifests or grade books")
    data = _read_json(path, MANIFEST_MAX_BYTES, "input")
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema == MANIFEST_SCHEMA:
        return "manifest"
    if schema == GRADES_SCHEMA:
        return "grade book"
    raise UsageError(
        "is neither a shard folder, a manifest nor a grade book",
        where=str(path),
        fix="Give the folders of worksheet --shard, their manifest.json, or the --json books of grade --shard",
    )


def merge_manifests(paths: Sequence[Path], out: Path, *, force: bool = False) -> MergeRun:
    """The shards' manifest.json files (each with its shard.json beside it) as one manifest."""
    from nnhand.safety.atomic import write_file

    parts = _check_parts([_read_part(p.parent, p) for p in paths])
    if os.path.lexists(out) and not force:
        raise UsageError("already exists", where=str(out), fix="Choose another --out, or pass --force to replace it")
    merged = _merged_manifest(parts)
    write_file(out, _manifest_text(merged))
    return MergeRun(out, len(parts), len(merged["students"]), "manifest.json")


def merge_worksheets(folders: Sequence[Path], out: Path, *, force: bool = False) -> MergeRun:
    """The shards' worksheet folders as the one folder an unsharded `worksheet` writes."""
    from nnhand.classroom.build import _not_nnhand_output, check_output_folder, write_folder
    from nnhand.classroom.parallel import ASSEMBLED_FORMATS, assembler
    from nnhand.output.sheets import PRINT_EXTENSIONS

    parts = _check_parts([_read_part(f, f / "manifest.json") for f in folders])
    for part in parts:
        foreign = _not_nnhand_output(part.folder)
        if foreign:
            raise NnhandError(f"is not a folder nnhand wrote ({foreign})", where=str(part.folder), fix=_FIX)
    check_output_folder(out, force)
    merged = _merged_manifest(parts)
    formats = [str(f) for f in parts[0].record["formats"]]
    files: dict[str, str | bytes] = {}
    for part in parts:
        students = part.folder / "students"
        for root, _, names in os.walk(students):
            for name in sorted(names):
                path = Path(root, name)
                files["/".join(path.relative_to(part.folder).parts)] = path.read_bytes()
    ids = [str(s["id"]) for s in merged["students"]]
    title = str(merged["assignment"])
    text_formats = [f for f in formats if f not in ASSEMBLED_FORMATS]
    for fmt in formats:
        if fmt in ASSEMBLED_FORMATS:
            ext = PRINT_EXTENSIONS.get(fmt, fmt)
            for kind, name in (("sheet", "sheets"), ("key", "keys")):
                missing = [sid for sid in ids if f"students/{sid}/{kind}.{ext}" not in files]
                if missing:
                    raise NnhandError(f"has no students/{missing[0]}/{kind}.{ext}", where="merge", fix=_FIX)
                what = "worksheets" if kind == "sheet" else "answer keys"
                book = assembler(fmt, f"{title}: {what}")
                for sid in ids:
                    document = files[f"students/{sid}/{kind}.{ext}"]
                    book.add(document if isinstance(document, bytes) else document.encode("utf-8"))
                files[f"{name}.{ext}"] = book.finish()
    if text_formats:
        files.update(_text_documents(merged, text_formats, parts[0].record, files))
    files["manifest.json"] = _manifest_text(merged)
    write_folder(out, files, force)
    return MergeRun(out, len(parts), len(ids), ", ".join(formats) + "; manifest.json")


def _text_documents(
    merged: dict[str, Any], formats: Sequence[str], record: Mapping[str, Any], shard_files: Mapping[str, str | bytes]
) -> dict[str, str | bytes]:
    """The class documents of text formats, rendered from the sheets the merged manifest
    rebuilds; the students' own files rendered too, and checked against the shards' ones."""
    from nnhand.classroom.build import worksheet_files

    assignment = rebuild_assignment(merged, bool(record["augmented"]))
    rendered = worksheet_files(assignment, formats, bool(record["worked"]))
    for path, content in rendered.items():
        if path.startswith("students/"):
            theirs = shard_files.get(path)
            mine = content.encode("utf-8") if isinstance(content, str) else content
            if theirs != mine:
                raise NnhandError(
                    f"{path} is not what its manifest entry gives",
                    where="merge",
                    fix="Merge with the nnhand (and NumPy) that made the shards, on the shards as they were written",
                )
    return {path: content for path, content in rendered.items() if not path.startswith("students/")}


def rebuild_assignment(data: dict[str, Any], augmented: bool) -> Any:
    """The class's sealed sheets again, from a manifest: each seed drawn again (and checked
    against the givens recorded), the instructor's own numbers (no seed) read as recorded."""
    from nnhand.classroom.build import Assignment, Exercise
    from nnhand.classroom.manifest import manifest_from_data
    from nnhand.core.engine import generate
    from nnhand.core.keys import key_data, seal
    from nnhand.core.sheet import make_sheet

    manifest = manifest_from_data(data, Path("manifest.json"))
    students, exercises = [], {}
    for i, student in enumerate(data["students"]):
        sid = str(student["id"])
        students.append(Student(sid, student.get("name"), student.get("email")))
        own = []
        for j, entry in enumerate(student["exercises"]):
            template = manifest.templates[entry["template"]]
            if entry.get("seed") is None:
                sheet = replace(manifest.sheet(sid, template.id), augmented=augmented)
            else:
                problem = generate(template, entry["seed"])
                if json.loads(json.dumps(key_data(problem)["givens"])) != entry["givens"]:
                    raise ManifestError(
                        f"seed {entry['seed']} no longer gives the givens recorded",
                        where=f"students[{i}].exercises[{j}]",
                        fix="Merge with the nnhand and NumPy that made the shards",
                    )
                sheet = make_sheet(seal(problem, entry["token"]), entry["blanks"], augmented)
            own.append(Exercise(template, sheet, entry.get("seed")))
        exercises[sid] = own
    return Assignment(
        str(data["assignment"]),
        students,
        exercises,
        list(manifest.templates.values()),
        data.get("blanks"),
        str(data.get("seeding")),
        augmented,
    )
