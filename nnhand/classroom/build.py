"""The worksheet folder: a sealed variant per student and template, rendered to sheets,
keys and answer files, with the manifest beside them; written all at once or not at all.

Every variant is sealed: students' files name it by a token (from the secret too, under a
separate derived key, or fresh randomness without a secret) and only the manifest records
its seed.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnhand._version import __version__
from nnhand.classroom.manifest import MANIFEST_MAX_BYTES, MANIFEST_SCHEMA, MANIFEST_VERSION, parse_json
from nnhand.classroom.roster import Student, class_list, read_secret, student_seed
from nnhand.classroom.shards import WHOLE_CLASS, Shard
from nnhand.core.engine import Problem, generate, givens_digest
from nnhand.core.keys import SEED_SPACE, key_data, seal, sealed_token
from nnhand.core.sheet import Sheet, make_sheet
from nnhand.core.template import Template, load_template
from nnhand.errors import ManifestError, NnhandError, UsageError
from nnhand.output.sheets import PRINT_EXTENSIONS
from nnhand.output.sheets import PRINT_FORMATS as PRINT_REGISTRY
from nnhand.resources import find_template
from nnhand.safety.atomic import write_folder_atomically
from nnhand.safety.safeio import decode_text, read_capped

MAX_FOLDER_ENTRIES = 1_000_000  # more than a worksheet folder of the largest class holds

# How far a batch has come, for a progress bar: (what is being done, done, out of). The
# library never prints; the CLI draws this on a terminal and nothing in a pipe.
ProgressCallback = Callable[[str, int, int], None]
DRAWING = "drawing variants"
# TYPESETTING, the other phase, is named where the typesetting is (classroom/parallel.py).


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
    augmented: bool = False


def build_assignment(
    template_ids: list[str],
    students: list[Student],
    assignment: str,
    secret: bytes | None,
    blanks: str | None = None,
    problems_dirs: Iterable[str] = (),
    givens: Problem | None = None,
    augmented: bool = False,
    shard: Shard = WHOLE_CLASS,
    progress: ProgressCallback | None = None,
) -> Assignment:
    """A unique variant per student and template (no two students share an instance), each
    sealed under a token unique in the batch before its sheet is made. With `givens` (the
    instructor's own numbers, solved), everyone gets that one exercise, each sheet sealed
    under its own token all the same.

    A `shard` gets the sheets of its block of `students` only, and exactly the ones the whole
    class's run gives them: a student's seed is redrawn when an earlier student has the same
    numbers, and a token when an earlier one took it, so the students before the block are
    drawn too (no sheet made, nothing typeset), which needs the secret to be repeatable."""
    if not template_ids:
        raise NnhandError("name at least one template", fix="e.g. nnhand worksheet transformer backprop ...")
    if len(set(template_ids)) != len(template_ids):
        raise NnhandError("a template is named twice", fix="Name each template once")
    if givens is not None and len(template_ids) != 1:
        raise UsageError("--givens makes one exercise: name one template", where="--givens")
    if secret is None and shard != WHOLE_CLASS:
        raise _shard_needs_secret()
    templates = [load_template(find_template(t, problems_dirs)) for t in template_ids]
    first, stop = shard.bounds(len(students))
    exercises: dict[str, list[Exercise]] = {s.id: [] for s in students[first:stop]}
    rng = np.random.default_rng() if secret is None else None
    tokens: set[str] = set()
    for number, template in enumerate(templates):
        seen: set[str] = set()
        for index, student in enumerate(students[:stop]):
            if progress is not None:
                progress(DRAWING, number * stop + index, len(templates) * stop)
            own = index >= first  # the students before the shard's block are drawn, not made
            if givens is not None:
                token = sealed_token(secret, ["worksheet", assignment, student.id, template.id], tokens)
                if own:
                    sheet = make_sheet(seal(givens, token), blanks, augmented)
                    exercises[student.id].append(Exercise(template, sheet, None))
                continue
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
            if own:
                sheet = make_sheet(seal(problem, token), blanks, augmented)
                exercises[student.id].append(Exercise(template, sheet, seed))
    if progress is not None:
        progress(DRAWING, len(templates) * stop, len(templates) * stop)
    seeding = "random" if secret is None else "hmac-sha256"
    return Assignment(assignment, students[first:stop], exercises, templates, blanks, seeding, augmented)


def _shard_needs_secret() -> UsageError:
    return UsageError(
        "a shard needs --secret-file (or NNHAND_SECRET): random variants cannot be drawn again on another machine",
        where="--shard",
        fix="Give every shard the same secret",
    )


PRINT_FORMATS = PRINT_REGISTRY.names()  # worksheet --format: html, md, pdf, ...


def manifest_data(assignment: Assignment) -> dict[str, Any]:
    """The manifest worksheet writes: every student's variants, givens, key and blank mask."""
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


def worksheet_files(
    assignment: Assignment,
    formats: Iterable[str],
    worked: bool = False,
    *,
    jobs: int = 1,
    progress: ProgressCallback | None = None,
) -> dict[str, str | bytes]:
    """Every file of a worksheet batch, by path relative to the output folder (all of
    `worksheet_file_stream`, held at once)."""
    return dict(worksheet_file_stream(assignment, formats, worked, jobs=jobs, progress=progress))


def worksheet_file_stream(
    assignment: Assignment,
    formats: Iterable[str],
    worked: bool = False,
    *,
    jobs: int = 1,
    progress: ProgressCallback | None = None,
) -> Iterator[tuple[str, str | bytes]]:
    """Every file of a worksheet batch as (path relative to the output folder, content), each
    made as it is asked for: written as they come (write_folder), a class's files are never
    all in memory at once.

    Each page is typeset once: a PDF class document is assembled from its students' PDFs
    (classroom/parallel.py, `jobs` typst compilations at a time), not typeset again."""
    from nnhand.classroom.parallel import ASSEMBLED_FORMATS, assembler, typeset_in_order
    from nnhand.grading.answers import answer_file_text

    per_student = student_pages(assignment, worked)
    for student in assignment.students:
        for exercise in assignment.exercises[student.id]:
            answers = answer_file_text(exercise.sheet, student=student.id)
            yield f"students/{student.id}/{exercise.template.id}.yaml", answers
    title = assignment.name
    for fmt in formats:
        ext = PRINT_EXTENSIONS.get(fmt, fmt)
        documents = {}  # relative path -> (pages, title), every student's sheet then key
        for sid, (own_sheets, own_keys) in per_student.items():
            documents[f"students/{sid}/sheet.{ext}"] = (own_sheets, f"{title}: {sid}")
            documents[f"students/{sid}/key.{ext}"] = (own_keys, f"{title}: {sid} (key)")
        sheets_title, keys_title = f"{title}: worksheets", f"{title}: answer keys"
        if fmt in ASSEMBLED_FORMATS:
            typeset = typeset_in_order(fmt, list(documents.values()), jobs, progress)  # in this order
            sheets_book, keys_book = assembler(fmt, sheets_title), assembler(fmt, keys_title)
            for path, document in zip(documents, typeset):  # the class documents grow meanwhile
                (keys_book if path.endswith(f"/key.{ext}") else sheets_book).add(document)
                yield path, document
            yield f"sheets.{ext}", sheets_book.finish()
            yield f"keys.{ext}", keys_book.finish()
            continue
        # A text format's class document is one cheap rendering of every page.
        yield f"sheets.{ext}", render_pages(fmt, [p for own, _ in per_student.values() for p in own], sheets_title)
        yield f"keys.{ext}", render_pages(fmt, [p for _, own in per_student.values() for p in own], keys_title)
        for path, (pages, name) in documents.items():
            yield path, render_pages(fmt, pages, name)
    yield "manifest.json", manifest_text(assignment)


def manifest_text(assignment: Assignment) -> str:
    """manifest.json, as `worksheet` writes it (and `nnhand merge` writes it again)."""
    return json.dumps(manifest_data(assignment), indent=1, ensure_ascii=False) + "\n"


def student_pages(assignment: Assignment, worked: bool = False) -> dict[str, tuple[list[Any], list[Any]]]:
    """Each student's worksheet pages and answer-key pages (printing.Page), in roster order."""
    from nnhand.core.explain import explain_sheet
    from nnhand.output.printing import Page

    per_student: dict[str, tuple[list[Any], list[Any]]] = {}
    for student in assignment.students:
        label = student.name or student.id
        own_sheets, own_keys = [], []
        for exercise in assignment.exercises[student.id]:
            sheet = exercise.sheet
            explanation = explain_sheet(sheet) if worked else None
            # no name (numbered sheets, a roster row without one): the sheet has a line to write it on
            own_sheets.append(Page(sheet=sheet, student=label, key=False, worked=None, named=bool(student.name)))
            own_keys.append(Page(sheet=make_sheet(sheet.problem, "none"), student=label, key=True, worked=explanation))
        per_student[student.id] = (own_sheets, own_keys)
    return per_student


def render_pages(fmt: str, pages: list[Any], title: str) -> str | bytes:
    """The pages in one print format (output/sheets.PRINT_FORMATS)."""
    rendered: str | bytes = PRINT_REGISTRY.get(fmt).renderer()(pages, title)
    return rendered


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
        if len(entries) > MAX_FOLDER_ENTRIES:
            return "it holds too many files"
    if not entries:
        return None  # an empty folder: nothing to lose
    manifest = out / "manifest.json"
    try:
        data = parse_json(decode_text(read_capped(manifest, MANIFEST_MAX_BYTES, ManifestError), str(manifest),
                                       ManifestError), str(manifest))  # fmt: skip
    except ManifestError:
        data = None
    if not isinstance(data, dict) or data.get("schema") != MANIFEST_SCHEMA:
        first = "/".join(min(entries).relative_to(out).parts)
        return f"it holds {first} but no nnhand manifest.json"
    templates: dict[str, Any] = data["templates"] if isinstance(data.get("templates"), dict) else {}
    students: list[Any] = data["students"] if isinstance(data.get("students"), list) else []
    ids = {s.get("id") for s in students if isinstance(s, dict)}
    suffixes = "|".join(re.escape(PRINT_EXTENSIONS.get(f, f)) for f in PRINT_FORMATS)
    top = re.compile(rf"^(manifest\.json|shard\.json|(sheets|keys)\.({suffixes}))$")
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


def write_folder(out: Path, files: Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]], force: bool) -> None:
    """Write the class folder or nothing; `force` replaces only a folder nnhand wrote. `files`
    may be a stream (worksheet_file_stream), written as it comes; the folder is checked again
    before it is moved into place, since making the files may have taken minutes."""
    check_output_folder(out, force)
    write_folder_atomically(out, files, ready=lambda: check_output_folder(out, force))


@dataclass(frozen=True)
class WorksheetRun:
    """What `make_worksheets` wrote: for the one line `worksheet` prints."""

    out: Path
    students: int
    exercises: int
    formats: tuple[str, ...]
    seconds: float
    shard: Shard | None = None
    class_size: int = 0

    @property
    def message(self) -> str:
        whose = f" (shard {self.shard} of a class of {self.class_size})" if self.shard is not None else ""
        return (
            f"{self.students} students{whose} x {self.exercises} exercises written to {self.out}/ "
            f"({', '.join(self.formats)}; manifest.json) in {self.seconds:.1f} s"
        )


def make_worksheets(
    template_ids: list[str],
    out: Path,
    *,
    roster: Path | None = None,
    count: int | None = None,
    assignment: str = "",
    formats: Iterable[str] = (),
    blanks: str | None = None,
    secret_file: Path | None = None,
    worked: bool = False,
    force: bool = False,
    problems_dirs: Iterable[str] = (),
    givens: Path | None = None,
    augmented: bool = False,
    jobs: int | None = None,
    shard: Shard | None = None,
    progress: ProgressCallback | None = None,
) -> WorksheetRun:
    """The whole `worksheet` command: who is in the class (roster.class_list), a sealed variant
    each, every file rendered, and the folder written at once (--force replaces only a folder
    nnhand wrote). The output folder is checked before the work, so a refusal costs nothing.

    PDFs are typeset on `jobs` threads (default: every usable core), the bytes the same for
    any number; a `shard` makes its block of the class only, plus shard.json for `nnhand
    merge`; `progress` hears how far the work has come."""
    from nnhand.classroom.parallel import resolve_jobs

    start = time.perf_counter()
    workers = resolve_jobs(jobs)
    if shard is not None and not assignment:
        raise UsageError(
            "a shard needs --assignment NAME: without it the assignment is named after --out, "
            "which differs from shard to shard, and so would every seed",
            where="--shard",
            fix="Give every shard the same --assignment",
        )
    secret = read_secret(secret_file)
    if shard is not None and secret is None:
        raise _shard_needs_secret()
    students = class_list(roster, count, secret, assignment)
    chosen = tuple(formats) or ("html",)
    check_output_folder(out, force)
    own = None
    if givens is not None:
        from nnhand.core.engine import solve
        from nnhand.core.givens import read_givens_file

        if len(template_ids) != 1:
            raise UsageError("--givens makes one exercise: name one template", where="--givens")
        template = load_template(find_template(template_ids[0], problems_dirs))
        own = solve(template, read_givens_file(givens), where=str(givens))
    batch = build_assignment(
        list(template_ids),
        students,
        assignment or out.name,
        secret,
        blanks,
        problems_dirs,
        own,
        augmented,
        shard or WHOLE_CLASS,
        progress,
    )
    files: Iterable[tuple[str, str | bytes]] = worksheet_file_stream(
        batch, chosen, worked, jobs=workers, progress=progress
    )
    if shard is not None:
        from nnhand.classroom.shards import SHARD_FILE, shard_record

        assert secret is not None
        files = itertools.chain(files, [(SHARD_FILE, shard_record(shard, students, secret, chosen, worked, augmented))])
    write_folder(out, files, force)  # each file written as it is made
    seconds = time.perf_counter() - start
    return WorksheetRun(out, len(batch.students), len(template_ids), chosen, seconds, shard, len(students))
