"""A whole class: rosters, per-student variants, the manifest, and batch grading.

Per-student seeds come from HMAC-SHA256 over (assignment, student id, template) with an
instructor's secret: unique per student, unpredictable without the secret, reproducible
by the instructor. The manifest stores, for every student and exercise, the variant id,
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
import os
import signal
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .answers import parse_answer_text
from .engine import Problem, Variant, generate, givens_digest, read_given
from .errors import AnswerFileError, GivensError, NnhandError
from .grading import Report, givens_difference, grade_sheet, read_answers
from .keys import key_data
from .reading import CellError, read_grid
from .resources import find_template
from .sheet import Sheet, make_sheet
from .template import Template, load_template, template_from_text

MANIFEST_SCHEMA = "nnhand-manifest"
MANIFEST_VERSION = 1
SEED_SPACE = 10**12  # seeds stay readable (12 digits at most)
ANSWER_SUFFIXES = (".yaml", ".yml", ".json")
FILE_SECONDS = 5  # a submission that takes longer than this to grade is reported, not waited for


class RosterError(NnhandError):
    """A roster that cannot be used."""


class ManifestError(NnhandError):
    """A manifest that cannot be read."""


# ----------------------------------------------------------------------------- roster


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    email: str = ""


def read_roster(path: Path) -> list[Student]:
    """A CSV with an `id` column (and optionally `name`, `email`); every bad row reported."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RosterError("no such file", where=where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"cannot read ({getattr(exc, 'strerror', None) or exc})", where=where) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise RosterError("is empty", where=where, fix="The first line names the columns: id,name,email")
    header = [h.strip().lower() for h in rows[0]]
    id_column = next((header.index(h) for h in ("id", "student_id", "student id", "sid") if h in header), None)
    if id_column is None:
        raise RosterError(
            f"has no id column (its columns: {', '.join(header) or 'none'})",
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
        if any(ch in sid for ch in "/\\\0") or sid in (".", ".."):
            problems.append(f"line {line}: id '{sid}' cannot name a folder")
            continue
        if sid in seen:
            problems.append(f"line {line}: duplicate id '{sid}' (first on line {seen[sid]})")
            continue
        seen[sid] = line
        students.append(
            Student(
                sid,
                row[name_col].strip() if name_col is not None else "",
                row[email_col].strip() if email_col is not None else "",
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
        try:
            secret = Path(secret_file).read_bytes().strip()
        except OSError as exc:
            raise NnhandError(f"cannot read the secret ({exc.strerror})", where=str(secret_file)) from None
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
    sheet: Sheet


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
    """A unique variant per student and template (no two students share an instance)."""
    if not template_ids:
        raise NnhandError("name at least one template", fix="e.g. nnhand worksheet transformer backprop ...")
    if len(set(template_ids)) != len(template_ids):
        raise NnhandError("a template is named twice", fix="Name each template once")
    templates = [load_template(find_template(t, problems_dirs)) for t in template_ids]
    exercises: dict[str, list[Exercise]] = {s.id: [] for s in students}
    rng = np.random.default_rng() if secret is None else None
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
            exercises[student.id].append(Exercise(template, make_sheet(problem, blanks)))
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

    @property
    def template_ids(self) -> list[str]:
        return list(self.templates)

    def sheet(self, student_id: str, template_id: str) -> Sheet:
        """The student's exercise as the manifest froze it: givens, key, blank mask."""
        cache = self.data.setdefault("_sheets", {})
        cache_key = (student_id, template_id)
        if cache_key not in cache:
            cache[cache_key] = _frozen_sheet(self, student_id, template_id)
        return cache[cache_key]


def read_manifest(path: Path) -> Manifest:
    where = str(path)
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
        where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            "no such file", where=where, fix="Give the manifest.json that nnhand worksheet wrote"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read ({getattr(exc, 'strerror', None) or exc})", where=where) from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"is not JSON ({exc.msg}, line {exc.lineno})", where=where) from None
    if not isinstance(data, dict) or data.get("schema") != MANIFEST_SCHEMA:
        raise ManifestError(
            "is not an nnhand manifest", where=where, fix="Give the manifest.json nnhand worksheet wrote"
        )
    version = data.get("schema_version")
    if not isinstance(version, int) or version > MANIFEST_VERSION:
        raise ManifestError(
            f"has schema version {version}, newer than this nnhand reads ({MANIFEST_VERSION})",
            where=where,
            fix=f"Upgrade nnhand (this is {__version__}; the manifest was written by {data.get('nnhand_version')})",
        )
    templates = {}
    try:
        for tid, entry in data["templates"].items():
            templates[tid] = template_from_text(entry["source"], Path(f"{path}#templates/{tid}.yaml"))
        students = {s["id"]: s for s in data["students"]}
    except (KeyError, TypeError, AttributeError) as exc:
        raise ManifestError(f"is incomplete ({exc})", where=where) from None
    return Manifest(path, data, templates, students)


def _frozen_sheet(manifest: Manifest, student_id: str, template_id: str) -> Sheet:
    entry = next(e for e in manifest.students[student_id]["exercises"] if e["template"] == template_id)
    template = manifest.templates[template_id]
    params = template.resolve_params(entry.get("params") or {})
    shapes = template.shapes(params)
    where = f"{manifest.path}: {student_id}: {template_id}"
    try:
        givens = {n: read_given(template, n, v, shapes[n], f"{where}: givens") for n, v in entry["givens"].items()}
        values = {n: read_grid(v, shapes[n], f"{where}: key", n) for n, v in entry["key"].items()}
        exact = dict(values)
        exact.update({n: read_grid(v, shapes[n], f"{where}: exact", n) for n, v in entry.get("exact", {}).items()})
        masks = {n: np.array(m, dtype=bool) for n, m in entry["blank_mask"].items()}
    except (CellError, GivensError, KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"the entry is damaged ({exc})", where=where) from None
    problem = Problem(template, Variant.parse(entry["variant"]), params, givens, values, exact, shapes)
    return Sheet(problem, entry["blanks"], masks)


# ----------------------------------------------------------------------------- grading a folder


@dataclass
class Submission:
    path: Path
    student: str | None = None
    template: str | None = None
    report: Report | None = None
    problem: str | None = None  # why it could not be graded (malformed, unmatched)
    tampered: str | None = None  # why it earned 0 (givens or variant differ)


@dataclass
class GradeBook:
    manifest: Manifest
    submissions: list[Submission] = field(default_factory=list)

    def cell(self, student: str, template: str) -> Submission | None:
        found = [s for s in self.submissions if s.student == student and s.template == template]
        graded = [s for s in found if s.report is not None or s.tampered]
        chosen = graded or found
        return chosen[-1] if chosen else None

    def points_possible(self, template: str) -> float:
        first = next(iter(self.manifest.students))
        sheet = self.manifest.sheet(first, template)
        scoring = sheet.problem.template.scoring
        if scoring == "cell":
            return float(sheet.blank_count())
        if scoring == "step":
            return float(sum(1 for m in sheet.blanks.values() if m.any()))
        return float(sum(s.points for s in sheet.asked() if sheet.blanks[s.name].any()))

    def missing(self) -> list[tuple[str, str]]:
        return [
            (sid, tid)
            for sid in self.manifest.students
            for tid in self.manifest.template_ids
            if self.cell(sid, tid) is None
        ]


def answer_files(folder: Path) -> list[Path]:
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise NnhandError("no such folder", where=str(folder), fix="Name the folder that holds the submissions")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in ANSWER_SUFFIXES)


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Stop a file that takes too long (where the platform has SIGALRM)."""
    if not hasattr(signal, "SIGALRM"):
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
    book = GradeBook(manifest)
    for path in answer_files(folder):
        submission = Submission(path)
        book.submissions.append(submission)
        try:
            with _time_limit(FILE_SECONDS):
                _grade_submission(manifest, submission, folder, scoring, ecf)
        except NnhandError as exc:
            submission.problem = exc.render()
        except TimeoutError:
            submission.problem = f"{path}: took longer than {FILE_SECONDS} s to grade; skipped"
        except (RecursionError, MemoryError, OverflowError, ValueError) as exc:
            submission.problem = f"{path}: cannot be graded ({type(exc).__name__})"
        if submission.problem and submission.student is None:
            # Unreadable: still place it by its name, so the grade book says "not graded", not "missing".
            submission.student = _match_student(manifest, {}, path, folder)
            names = [t for t in manifest.template_ids if t in path.stem]
            submission.template = max(names, key=len) if names else None
    return book


def _grade_submission(manifest: Manifest, submission: Submission, folder: Path, scoring: str | None, ecf: bool) -> None:
    path = submission.path
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AnswerFileError(f"cannot read ({exc.strerror})", where=str(path)) from None
    if len(raw) > 1_000_000:
        raise AnswerFileError("is over 1 MB", where=str(path))
    data = parse_answer_text(raw, str(path))
    variant_text = str(data.get("variant", ""))
    template_id = variant_text.split("@", 1)[0]
    submission.student = _match_student(manifest, data, path, folder)
    if submission.student is None:
        raise AnswerFileError(
            "matches no student of the manifest",
            where=str(path),
            fix="Put the student id in the file (student: ID) or in its name",
        )
    if template_id not in manifest.templates:
        raise AnswerFileError(
            f"is for '{template_id}', which is not in this assignment ({', '.join(manifest.template_ids)})",
            where=str(path),
        )
    submission.template = template_id
    sheet = manifest.sheet(submission.student, template_id)
    tampering = _tampering(sheet, data, str(path))
    if tampering:
        submission.tampered = tampering
        return
    answers = data.get("answers") or {}
    if not isinstance(answers, Mapping):
        raise AnswerFileError("'answers' should be a mapping of names to values", where=str(path))
    readings = read_answers(sheet, answers, str(path))
    report = grade_sheet(sheet, readings, str(path), scoring, ecf)
    report.student = submission.student
    submission.report = report


def _match_student(manifest: Manifest, data: Mapping[str, Any], path: Path, folder: Path) -> str | None:
    declared = data.get("student")
    if declared is not None and str(declared) in manifest.students:
        return str(declared)
    try:
        parts = path.relative_to(folder).parts
    except ValueError:
        parts = path.parts
    names = [path.stem, *parts[:-1]]
    for name in names:
        if name in manifest.students:
            return name
    for name in names:  # "alice-transformer.yaml", "alice_hw3.yaml"
        for sid in sorted(manifest.students, key=len, reverse=True):
            if name.startswith((f"{sid}-", f"{sid}_", f"{sid}.")):
                return sid
    return None


def _tampering(sheet: Sheet, data: Mapping[str, Any], where: str) -> str | None:
    """Why a submission does not belong to its sheet (variant or givens changed), or None."""
    if str(data.get("variant")) != sheet.variant:
        return f"variant {data.get('variant')} is not the one issued ({sheet.variant})"
    givens = data.get("givens")
    if not isinstance(givens, Mapping):
        return "the givens were removed"
    return givens_difference(sheet.problem, givens, where)


# ----------------------------------------------------------------------------- outputs


def gradebook_csv(book: GradeBook) -> str:
    """One row per student, one column per exercise, total, max, percent; points first."""
    templates = book.manifest.template_ids
    possible = {t: book.points_possible(t) for t in templates}
    total_possible = sum(possible.values())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_id", "name", *templates, "total", "max", "percent", "flags"])
    writer.writerow(["points possible", "", *(_num(possible[t]) for t in templates), _num(total_possible),
                     _num(total_possible), "100", ""])  # fmt: skip
    for sid, entry in book.manifest.students.items():
        scores, flags = [], []
        for tid in templates:
            sub = book.cell(sid, tid)
            if sub is None:
                scores.append(0.0)
                flags.append(f"{tid}: missing")
            elif sub.tampered:
                scores.append(0.0)
                flags.append(f"{tid}: tampered ({sub.tampered})")
            elif sub.report is None:
                scores.append(0.0)
                flags.append(f"{tid}: not graded ({sub.problem})")
            else:
                scores.append(sub.report.score)
        total = sum(scores)
        percent = 100 * total / total_possible if total_possible else 0.0
        writer.writerow([sid, entry.get("name", ""), *(_num(s) for s in scores), _num(total),
                         _num(total_possible), f"{percent:.1f}", "; ".join(flags)])  # fmt: skip
    return out.getvalue()


def _num(value: float) -> str:
    return f"{value:g}"


def write_outputs_atomically(files: Mapping[Path, str | bytes]) -> None:
    """Write every file or none: each to a temporary name first, then all renamed."""
    import tempfile

    staged: list[tuple[str, Path]] = []
    try:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            staged.append((tmp, path))
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError as exc:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise NnhandError(f"cannot write the outputs ({exc.strerror})", where=str(exc.filename or "")) from None


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


# ----------------------------------------------------------------------------- worksheet files

PRINT_FORMATS = ("html", "md", "pdf")


def worksheet_files(assignment: Assignment, formats: Iterable[str], worked: bool = False) -> dict[str, str | bytes]:
    """Every file of a worksheet batch, by path relative to the output folder."""
    from .answers import answer_file_text
    from .explain import explain_problem
    from .printing import Page

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
    from . import printing

    if fmt == "md":
        return printing.markdown_pages(pages)
    if fmt == "html":
        return printing.html_document(pages, title)
    if fmt == "pdf":
        return printing.pdf_bytes(pages, title)
    raise NnhandError(f"unknown format '{fmt}'", where="--format", fix=f"Use {', '.join(PRINT_FORMATS)}")


def write_folder(out: Path, files: Mapping[str, str | bytes], force: bool) -> None:
    """Write the whole folder or nothing: built beside `out`, then renamed into place."""
    import shutil
    import tempfile

    out = Path(out)
    if out.exists() and not force:
        raise NnhandError("already exists", where=str(out), fix="Choose another --out, or pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise NnhandError("exists and is not a folder", where=str(out))
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NnhandError(f"cannot create the folder it goes in ({exc.strerror})", where=str(out)) from None
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    except OSError as exc:
        raise NnhandError(f"cannot write here ({exc.strerror})", where=str(out)) from None
    try:
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.replace(out, retired / out.name)
            os.replace(staging, out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise NnhandError(f"cannot write the folder ({exc.strerror})", where=str(out)) from None


def feedback_files(book: GradeBook) -> dict[str, str]:
    """One plain-text feedback file per student: every exercise's report, and what is missing."""
    from .render import console, report_renderable

    out = {}
    for sid in book.manifest.students:
        buffer = io.StringIO()
        terminal = console(file=buffer, color=False)
        for tid in book.manifest.template_ids:
            sub = book.cell(sid, tid)
            if sub is None:
                terminal.print(f"{tid}: no submission found.\n")
            elif sub.tampered:
                terminal.print(f"{tid}: 0 points. The submission was altered: {sub.tampered}.\n")
            elif sub.report is None:
                terminal.print(f"{tid}: could not be graded: {sub.problem}\n")
            else:
                terminal.print(report_renderable(sub.report, reveal=True))
                terminal.print("")
        out[f"{sid}.txt"] = buffer.getvalue()
    return out


def summary_text(book: GradeBook) -> str:
    graded = [s for s in book.submissions if s.report is not None]
    lines = [f"{len(graded)} submissions graded out of {len(book.submissions)} files."]
    for s in book.submissions:
        if s.tampered:
            lines.append(f"TAMPERED {s.path}: {s.student} {s.template}: {s.tampered} (0 points)")
    for s in book.submissions:
        if s.report is None and not s.tampered:
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
    return "\n".join(lines) + "\n"
