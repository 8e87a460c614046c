"""Grading a folder of submissions against a manifest, and the grade book's outputs:
CSV, JSON, JUnit, one feedback file per student, the class statistics and their report
folder, the summary `grade` prints, its exit code.

Shards (`grade --shard K/N`): a shard grades the files of its block of the manifest's
students (nnhand/classroom/shards.py); a file belongs to the student whose folder or file
name placed it, so its flags (identity, duplicate, tampered) land in that student's shard,
and the files that place on no student are reported once, by shard 1. Its JSON grade book
holds every submission with its full report, so that

    merge_grade_books(paths: Sequence[Path], outputs: Mapping[str, Path | None], *,
                      manifest: Path | None = None, per: str = "cell") -> GradeBook

(what `nnhand merge` calls for inputs whose "schema" is "nnhand-grades") rebuilds the whole
class's grade book from the shards' JSON files and writes `outputs` (GRADEBOOK_FORMATS names
to destinations, as `grade` does): the same bytes as one unsharded run. It refuses books of
different manifests (by SHA-256), nnhand versions or grading options, and overlapping or
missing shards, naming the files.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnhand._version import __version__
from nnhand.choices import SCORING_MODES
from nnhand.classroom.manifest import Manifest, read_manifest
from nnhand.classroom.roster import id_problem
from nnhand.classroom.shards import Shard, whole_split
from nnhand.core.sheet import Sheet
from nnhand.errors import AnswerFileError, ExitCode, NnhandError, OutputError, UsageError
from nnhand.grading.answers import parse_answer_text
from nnhand.grading.grade import (
    CellResult,
    Report,
    StepResult,
    givens_difference,
    grade_sheet,
    points_of,
    read_answers,
)
from nnhand.output.report_formats import GRADEBOOK_FORMATS
from nnhand.safety.safeio import MAX_INPUT_BYTES, read_capped
from nnhand.safety.safetext import csv_cell, one_line, plain

if TYPE_CHECKING:
    from nnhand.classroom.statistics import ClassStatistics

ANSWER_SUFFIXES = (".yaml", ".yml", ".json")
MAX_SUBMISSION_FILES = 100_000
FILE_SECONDS = 5  # a submission that takes longer than this to grade is reported, not waited for


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
    ecf: bool = True  # whether work carried forward was credited
    shard: Shard | None = None  # the block of the manifest's students this book holds; None: all
    manifest_sha256: str | None = None  # of the manifest file's bytes: which manifest, for a merge
    _index: tuple[int, dict[tuple[str, str], list[Submission]]] = field(default=(-1, {}), repr=False)
    _statistics: tuple[int, ClassStatistics | None] = field(default=(-1, None), repr=False)

    @property
    def students(self) -> dict[str, dict[str, Any]]:
        """The students this book grades (id -> manifest entry), in manifest order: a shard's block, or all."""
        if self.shard is None:
            return self.manifest.students
        return {sid: self.manifest.students[sid] for sid in self.shard.slice(list(self.manifest.students))}

    def statistics(self) -> ClassStatistics:
        """The class statistics, computed once for the book as it stands."""
        from nnhand.classroom.statistics import class_statistics

        count, stats = self._statistics
        if stats is None or count != len(self.submissions):
            stats = class_statistics(self)
            self._statistics = (len(self.submissions), stats)
        return stats

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
        return float(sum(points_of(tmpl, name) for name, n in asked.items() if n))

    def points_possible(self, template: str) -> float:
        return self.points(next(iter(self.manifest.students)), template)

    def missing(self) -> list[tuple[str, str]]:
        templates = self.manifest.template_ids
        return [(sid, tid) for sid in self.students for tid in templates if self.cell(sid, tid) is None]

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
    def exit_code(self) -> ExitCode:
        """What `grade` exits with: OK when all is right (`all_right`), else WRONG."""
        return ExitCode.OK if self.all_right else ExitCode.WRONG

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


def grade_folder(
    manifest: Manifest, folder: Path, scoring: str | None = None, ecf: bool = True, shard: Shard | None = None
) -> GradeBook:
    """Grade every answer file under `folder` (of a shard: those its students' folders or
    names place; shard 1 also the files that place on no student); a bad file is recorded,
    never fatal."""
    if scoring is not None and scoring not in SCORING_MODES:
        raise NnhandError(f"unknown scoring '{scoring}'", where="--scoring", fix=f"Use {', '.join(SCORING_MODES)}")
    folder = Path(folder)
    book = GradeBook(manifest, scoring=scoring, ecf=ecf, shard=shard, manifest_sha256=file_sha256(manifest.path))
    in_shard = set(book.students)
    for path in answer_files(folder):
        named = _students_named(manifest, path, folder)
        if shard is not None and not (named[0] in in_shard if named else shard.index == 1):
            continue  # another shard's student's file (one placed on no one: shard 1 reports it)
        submission = Submission(path)
        book.submissions.append(submission)
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


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks (a manifest may be 200 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _grade_submission(manifest: Manifest, submission: Submission, scoring: str | None, ecf: bool) -> None:
    path = submission.path
    where = str(path)
    raw = read_capped(path, MAX_INPUT_BYTES, AnswerFileError, "answer file")
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
    return givens_difference(sheet.problem, givens, where, sheet.blanks)


# ----------------------------------------------------------------------------- outputs


def _flags_by_student(flags: list[Flag]) -> dict[str | None, list[Flag]]:
    by: dict[str | None, list[Flag]] = {}
    for f in flags:
        by.setdefault(f.student, []).append(f)
    return by


def _row_flags(flags: list[Flag]) -> str:
    """One student's flags as one cell: `backprop: missing; hl.yaml: duplicate (...)`."""
    words = {"not_graded": "not graded"}
    parts = []
    for f in flags:
        label = f.exercise or Path(f.file or "").name
        if f.kind == "missing":
            parts.append(f"{label}: missing")
        else:
            parts.append(f"{label}: {words.get(f.kind, f.kind)} ({f.message})")
    return "; ".join(parts)


CSV_BOM = "\ufeff"
# The row of points possible, labelled as Canvas labels it in its grade-book CSV: the words
# "Points Possible" in the name column, the id and email columns empty, so that an import
# that matches students on id or email can never take the row for a student.
POINTS_POSSIBLE = "Points Possible"
CSV_COLUMNS = ("student_id", "name", "email")


def gradebook_csv(book: GradeBook, bom: bool = True) -> str:
    """The grade book as a spreadsheet reads it: the roster's id, name and email; one column
    per exercise; total, max, percent, flags; the points possible as the first row.

    UTF-8 with a byte-order mark (`bom`), so that Excel on Windows reads names such as Zoë
    right (without one it guesses the ANSI code page); Canvas, Moodle, LibreOffice and
    Python's "utf-8-sig" read it as plain UTF-8. Every text cell (ids, names, emails,
    flags) is neutralised so that a spreadsheet never runs it as a formula."""
    templates = book.manifest.template_ids
    possible = {t: book.points_possible(t) for t in templates}
    total_possible = sum(possible.values())
    flags = _flags_by_student(book.flags())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in [*CSV_COLUMNS, *templates, "total", "max", "percent", "flags"]])
    writer.writerow(["", POINTS_POSSIBLE, "", *(_num(possible[t]) for t in templates), _num(total_possible),
                     _num(total_possible), "100", ""])  # fmt: skip
    for sid, entry in book.students.items():
        scores = [s.score if (s := book.cell(sid, tid)) is not None else 0.0 for tid in templates]
        total = sum(scores)
        own_max = sum(book.points(sid, tid) for tid in templates)
        percent = 100 * total / own_max if own_max else 0.0
        writer.writerow([csv_cell(sid), csv_cell(entry.get("name") or ""), csv_cell(entry.get("email") or ""),
                         *(_num(s) for s in scores), _num(total), _num(own_max), f"{percent:.1f}",
                         csv_cell(_row_flags(flags.get(sid, [])))])  # fmt: skip
    return (CSV_BOM if bom else "") + out.getvalue()


def _num(value: float) -> str:
    return f"{value:g}"


GRADES_SCHEMA = "nnhand-grades"
GRADES_VERSION = 1  # additions keep the version; a key removed or changing meaning is version 2
SCHEMA_FILE = "nnhand/schemas/grades.schema.json"


def grades_data(book: GradeBook) -> dict[str, Any]:
    """The grade book for programs (`grade --json`, `grade --format json`), schema
    nnhand-grades (nnhand/schemas/grades.schema.json): the class statistics; per student and
    exercise the score, max, status and flags; every flag of the class by kind; and every
    submission with its full per-cell report (what a merge of shard books rebuilds from)."""
    from nnhand.classroom.statistics import statistics_data

    flags = book.flags()
    by_cell: dict[tuple[str | None, str | None], list[Flag]] = {}
    for f in flags:
        by_cell.setdefault((f.student, f.exercise), []).append(f)

    def brief(f: Flag) -> dict[str, Any]:
        return {"kind": f.kind, "file": f.file, "message": f.message}

    students = []
    for sid, entry in book.students.items():
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
            "email": entry.get("email") or "",
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
        "manifest_sha256": book.manifest_sha256,
        "shard": {"index": book.shard.index, "count": book.shard.count} if book.shard is not None else None,
        "scoring": book.scoring,
        "ecf": book.ecf,
        "files": len(book.submissions),
        "graded": sum(1 for s in book.submissions if s.report is not None),
        "statistics": statistics_data(book.statistics()),
        "students": students,
        "flags": {
            kind: [
                {"student": f.student, "exercise": f.exercise, "file": f.file, "message": f.message}
                for f in flags
                if f.kind == kind
            ]
            for kind in FLAG_KINDS
        },
        "submissions": [submission_record(s) for s in book.submissions],
    }


def grades_json(book: GradeBook, ascii_only: bool = False) -> str:
    return json.dumps(grades_data(book), indent=1, ensure_ascii=ascii_only) + "\n"


# A submission and its report, written whole and read back to equal objects: a merged grade
# book renders from these exactly as the unsharded one renders from what it graded.
_TUPLE_FIELDS = ("shape", "rows", "cols")


def submission_record(s: Submission) -> dict[str, Any]:
    return {
        "file": str(s.path),
        "student": s.student,
        "exercise": s.template,
        "status": s.status,
        "score": s.score,
        "problem": s.problem,
        "tampered": s.tampered,
        "identity": s.identity,
        "report": _record(s.report) if s.report is not None else None,
    }


def _record(value: Any) -> Any:
    """A Report (or StepResult, CellResult) as JSON values: every field, Fractions as "p/q"."""
    if isinstance(value, (Report, StepResult, CellResult)):
        return {f.name: _record(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_record(v) for v in value]
    return value


def _from_record(kind: type, data: Mapping[str, Any]) -> Any:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(kind):
        value = data[f.name]
        if f.name == "steps":
            value = [_from_record(StepResult, v) for v in value]
        elif f.name == "cells" and kind is StepResult:
            value = [_from_record(CellResult, v) for v in value]
        elif f.name == "answer" and value is not None:
            value = Fraction(value)
        elif f.name in _TUPLE_FIELDS and isinstance(value, list):
            value = tuple(value)
        values[f.name] = value
    return kind(**values)


def submission_from_record(data: Mapping[str, Any]) -> Submission:
    report = data["report"]
    return Submission(
        Path(data["file"]),
        student=data["student"],
        template=data["exercise"],
        report=_from_record(Report, report) if report is not None else None,
        problem=data["problem"],
        tampered=data["tampered"],
        identity=data["identity"],
    )


def feedback_files(book: GradeBook) -> dict[str, str]:
    """One plain-text feedback file per student: every exercise's report, and what is missing.

    Text from submissions (a file's problem, a cell) is shown as written, never read as rich
    markup, and without control characters."""
    from rich.text import Text

    from nnhand.output.terminal import console, report_renderable

    out = {}
    flags = _flags_by_student(book.flags())
    for sid in book.students:
        problem = id_problem(sid)
        if problem:
            raise OutputError(f"the student id {ascii(sid)[:80]} {problem}", where="--feedback",
                              fix="Student ids name the feedback files; fix the manifest")  # fmt: skip
        own = flags.get(sid, [])
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
            for f in own:
                if f.exercise == tid and f.kind in ("identity", "duplicate"):
                    terminal.print(Text(f"{tid}: note: {plain(f.message)}\n"))
        for f in own:
            if f.exercise is None:
                terminal.print(Text(f"{Path(f.file or '').name}: could not be graded: {plain(f.message)}\n"))
        out[f"{sid}.txt"] = plain(buffer.getvalue())
    return out


def missing_lines(book: GradeBook) -> list[str]:
    """Missing work as a list to read: a heading with the counts, then one line per student
    naming their missing exercises, ids aligned."""
    missing = book.missing()
    if not missing:
        return []
    by_student: dict[str, list[str]] = {}
    for sid, tid in missing:
        by_student.setdefault(sid, []).append(tid)
    width = min(max(len(sid) for sid in by_student), 24)
    students = "student" if len(by_student) == 1 else "students"
    lines = [f"MISSING: {len(missing)} of {len(book.students) * len(book.manifest.template_ids)} submissions, "
             f"from {len(by_student)} {students}:"]  # fmt: skip
    whole = len(book.manifest.template_ids)
    for sid, tids in by_student.items():
        what = "everything" if len(tids) == whole > 1 else ", ".join(tids)
        lines.append(f"  {sid:<{width}}  {what}")
    return lines


def summary_text(book: GradeBook, statistics: bool = True, unicode: bool = True) -> str:
    """What `grade` prints: counts, every flag, the missing work, one line per student, then
    the class statistics (`unicode`: bars of block characters, else of #). Control
    characters removed."""
    graded = [s for s in book.submissions if s.report is not None]
    shard = f" (shard {book.shard} of the class: {len(book.students)} students)" if book.shard is not None else ""
    lines = [f"{len(graded)} submissions graded out of {len(book.submissions)} files{shard}."]
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
    lines += missing_lines(book)
    for sid in book.students:
        parts = []
        for tid in book.manifest.template_ids:
            sub = book.cell(sid, tid)
            score = "missing" if sub is None else ("0 (tampered)" if sub.tampered else
                     (f"{sub.report.score:g}/{sub.report.max_score:g}" if sub.report else "not graded"))  # fmt: skip
            parts.append(f"{tid} {score}")
        lines.append(f"{sid}: " + ", ".join(parts))
    text = "".join(one_line(line) + "\n" for line in lines)
    if statistics:
        from nnhand.classroom.statistics import statistics_text

        block = statistics_text(book.statistics(), unicode).splitlines()
        text += "\n" + "".join(one_line(line) + "\n" for line in block)
    return text


def gradebook_junit(book: GradeBook, per: str = "cell") -> str:
    """JUnit XML of the whole class: one suite per file, a file that could not be graded
    (or was altered) as one errored test case, so that a CI view counts it. Each report
    carries the student the file was matched to, so every student's test cases get a
    classname of their own (reports.junit_xml) and no viewer merges two students."""
    from nnhand.output.reports import Ungraded, junit_xml

    items: list[Report | Ungraded] = [
        s.report
        if s.report is not None
        else Ungraded(str(s.path), s.tampered or s.problem or "not graded", s.student, s.template)
        for s in book.submissions
    ]
    return junit_xml(items, per=per)


# ----------------------------------------------------------------------------- GRADEBOOK_FORMATS
# The renderers report_formats.GRADEBOOK_FORMATS names: (book, options) -> text, or a folder.


@dataclass(frozen=True)
class GradeBookOptions:
    per: str = "cell"  # JUnit test cases per cell or per step
    ascii_only: bool = False  # JSON for an output that cannot hold Unicode: \u escapes, the same data


def render_csv(book: GradeBook, options: GradeBookOptions) -> str:
    return gradebook_csv(book)


def render_json(book: GradeBook, options: GradeBookOptions) -> str:
    return grades_json(book, ascii_only=options.ascii_only)


def render_junit(book: GradeBook, options: GradeBookOptions) -> str:
    return gradebook_junit(book, options.per)


def render_feedback(book: GradeBook, options: GradeBookOptions) -> dict[str, str]:
    return feedback_files(book)


def render_report(book: GradeBook, options: GradeBookOptions) -> dict[str, str]:
    """The report folder: statistics.json, histogram.svg and report.md, from one statistics model."""
    from nnhand.classroom.plot import histogram_svg
    from nnhand.classroom.statistics import statistics_data, statistics_markdown

    stats = book.statistics()
    return {
        "statistics.json": json.dumps(statistics_data(stats), indent=1, ensure_ascii=False) + "\n",
        "histogram.svg": histogram_svg(stats),
        "report.md": statistics_markdown(stats, "histogram.svg"),
    }


def gradebook_outputs(
    book: GradeBook, outputs: Mapping[str, Path | None], options: GradeBookOptions | None = None
) -> dict[Path, str | bytes]:
    """Every file `grade` writes: for each GRADEBOOK_FORMATS name given a destination, its
    rendering there (a folder format: one file per entry under the destination)."""
    options = options or GradeBookOptions()
    files: dict[Path, str | bytes] = {}
    for name, dest in outputs.items():
        if dest is None:
            continue
        fmt = GRADEBOOK_FORMATS.get(name)
        rendered = fmt.renderer()(book, options)
        if fmt.files:
            files.update({Path(dest) / rel: text for rel, text in rendered.items()})
        else:
            files[Path(dest)] = rendered
    return files


def grade_class(
    manifest: Path,
    submissions: Path,
    outputs: Mapping[str, Path | None],
    *,
    scoring: str | None = None,
    ecf: bool = True,
    per: str = "cell",
    shard: Shard | None = None,
) -> GradeBook:
    """The whole `grade` command: read the manifest, grade the folder (a shard of it), write
    every output at once (all or none). The book's `summary_text` and `exit_code` are what
    `grade` shows."""
    from nnhand.safety.atomic import write_files

    book = grade_folder(read_manifest(manifest), submissions, scoring, ecf, shard)
    write_files(gradebook_outputs(book, outputs, GradeBookOptions(per=per)))
    return book


# ----------------------------------------------------------------------------- merging shards

GRADE_BOOK_MAX_BYTES = 2_000_000_000  # a shard of a very large course, with every cell's verdict
_MERGE_FIX = "Merge the --json grade books of one run of `grade --shard K/N` for K = 1..N, unchanged"


@dataclass(frozen=True)
class _ShardBook:
    path: Path
    data: dict[str, Any]
    shard: Shard


def _read_shard_book(path: Path) -> _ShardBook:
    from nnhand.classroom.manifest import parse_json
    from nnhand.errors import ManifestError
    from nnhand.safety.safeio import decode_text

    where = str(path)
    raw = read_capped(path, GRADE_BOOK_MAX_BYTES, NnhandError, "grade book", fix=_MERGE_FIX)
    try:
        data = parse_json(decode_text(raw, where, NnhandError), where)
    except ManifestError as exc:  # parse_json speaks of manifests; this is a grade book
        raise NnhandError(exc.message, where=where, fix=_MERGE_FIX) from None
    if not isinstance(data, dict) or data.get("schema") != GRADES_SCHEMA:
        raise NnhandError("is not an nnhand grade book (schema nnhand-grades)", where=where,
                          fix="Give the files `grade --json` wrote")  # fmt: skip
    if data.get("schema_version") != GRADES_VERSION:
        raise NnhandError(f"has schema version {one_line(data.get('schema_version'))[:20]}; this nnhand "
                          f"merges version {GRADES_VERSION}", where=where, fix=_MERGE_FIX)  # fmt: skip
    if "submissions" not in data or "manifest_sha256" not in data:
        raise NnhandError("holds no submissions to merge (written by an older nnhand)", where=where,
                          fix="Grade the shards again with this nnhand")  # fmt: skip
    shard = data.get("shard")
    try:
        parsed = Shard(int(shard["index"]), int(shard["count"])) if shard is not None else Shard(1, 1)
    except (TypeError, KeyError, ValueError):
        raise NnhandError("has a damaged 'shard' entry", where=where, fix=_MERGE_FIX) from None
    except NnhandError as exc:
        raise NnhandError(f"names no shard: {exc.message}", where=where, fix=_MERGE_FIX) from None
    return _ShardBook(Path(path), data, parsed)


def _same(books: Sequence[_ShardBook], key: str, what: str) -> None:
    first = books[0]
    for other in books[1:]:
        if other.data.get(key) != first.data.get(key):
            raise NnhandError(
                f"{other.path} and {first.path} come from different {what} "
                f"({one_line(other.data.get(key))[:70]} and {one_line(first.data.get(key))[:70]})",
                where="merge",
                fix=_MERGE_FIX,
            )


def merge_grade_books(
    paths: Sequence[Path],
    outputs: Mapping[str, Path | None],
    *,
    manifest: Path | None = None,
    per: str = "cell",
) -> GradeBook:
    """Join the JSON grade books of `grade --shard K/N` (K = 1..N) into the whole class's
    grade book and write `outputs` (GRADEBOOK_FORMATS name -> destination, all or none):
    the same bytes an unsharded `grade` writes.

    The manifest is the one the books name (a relative path, from the current folder, as
    `grade` was given it), or `manifest`; it must be the very file they were graded against
    (SHA-256). Refused, naming the files: books of different manifests, nnhand versions or
    options (--scoring, --ecf), of different shard counts, the same shard twice, a shard
    missing, or a book whose students are not its shard's."""
    from nnhand.safety.atomic import write_files

    if not paths:
        raise UsageError("no grade books to merge", fix="Name the shards' --json files")
    books = [_read_shard_book(Path(p)) for p in paths]
    _same(books, "manifest_sha256", "manifests")
    _same(books, "nnhand_version", "nnhand versions")
    _same(books, "scoring", "--scoring options")
    _same(books, "ecf", "--ecf options")
    books = [books[i] for i in whole_split([(b.shard, str(b.path)) for b in books], _MERGE_FIX)]
    manifest_path = Path(manifest) if manifest is not None else Path(str(books[0].data.get("manifest")))
    if not manifest_path.exists():
        raise NnhandError("the manifest the grade books were graded against is not here", where=str(manifest_path),
                          fix="Run merge from the folder grade ran in, or name the manifest (--manifest)")  # fmt: skip
    digest = file_sha256(manifest_path if not manifest_path.is_dir() else manifest_path / "manifest.json")
    if digest != books[0].data["manifest_sha256"]:
        raise NnhandError("is not the manifest the grade books were graded against (its SHA-256 differs)",
                          where=str(manifest_path), fix="Name the manifest.json the shards graded against")  # fmt: skip
    the_manifest = read_manifest(manifest_path)
    book = GradeBook(the_manifest, scoring=books[0].data["scoring"], ecf=books[0].data["ecf"],
                     manifest_sha256=digest)  # fmt: skip
    ids = list(the_manifest.students)
    for b in books:  # in shard order
        wanted = b.shard.slice(ids)
        try:
            written = [s["id"] for s in b.data["students"]]
            submissions = [submission_from_record(r) for r in b.data["submissions"]]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NnhandError(f"is damaged ({type(exc).__name__}: {one_line(exc)[:60]})", where=str(b.path),
                              fix=_MERGE_FIX) from None  # fmt: skip
        if written != wanted:
            raise NnhandError(f"does not hold the students of shard {b.shard} of this manifest", where=str(b.path),
                              fix=_MERGE_FIX)  # fmt: skip
        strangers = [s.path for s in submissions if s.student is not None and s.student not in set(wanted)]
        if strangers:
            raise NnhandError(f"holds {strangers[0]}, a file of another shard's student", where=str(b.path),
                              fix=_MERGE_FIX)  # fmt: skip
        book.submissions.extend(submissions)
    book.submissions.sort(key=lambda s: s.path)  # the order one run walks the folder in
    write_files(gradebook_outputs(book, outputs, GradeBookOptions(per=per)))
    return book
