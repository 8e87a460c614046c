"""Who is in the class and how their variants are seeded: the roster, the instructor's
secret, and the policy that ties them together (a roster needs a secret and an assignment).

Per-student seeds come from HMAC-SHA256 over (assignment, student id, template) with the
secret: unique per student, unpredictable without the secret, reproducible by the instructor.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
from dataclasses import dataclass
from pathlib import Path

from nnhand.core.keys import SEED_SPACE
from nnhand.errors import NnhandError, RosterError, UsageError
from nnhand.safety.safeio import decode_text, read_capped
from nnhand.safety.safetext import one_line

ROSTER_MAX_BYTES = 10_000_000  # a class list of 100,000 students with long names fits
SECRET_MAX_BYTES = 10_000
MAX_ID_LENGTH = 200


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


def numbered_students(count: int) -> list[Student]:
    width = len(str(count))
    return [Student(f"v{i + 1:0{width}d}") for i in range(count)]


def class_list(roster: Path | None, count: int | None, secret: bytes | None, assignment: str) -> list[Student]:
    """The students of a worksheet batch: a roster's, or `count` numbered variants.

    A roster needs a secret (else students could predict each other's variants) and an
    assignment name (part of every student's seed); numbered variants need neither."""
    if (roster is None) == (count is None):
        raise UsageError("give either --roster CSV or --count N", fix="e.g. --roster class.csv, or --count 30")
    if roster is None:
        assert count is not None
        return numbered_students(count)
    if secret is None:
        raise UsageError(
            "a roster needs a secret, so that students cannot predict each other's variants",
            fix="Set NNHAND_SECRET or pass --secret-file FILE (keep it to recompute the variants later)",
        )
    if not assignment:
        raise UsageError("a roster needs --assignment NAME (part of every student's seed)")
    return read_roster(roster)
