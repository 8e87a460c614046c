"""Property-based: a damaged or hostile manifest never crashes `grade` (issue 9).

A real manifest (2 students x 2 templates, built in-process) is mutated — keys dropped at
every level, types changed, huge and non-finite numbers, odd student ids, lists cut short,
the JSON text truncated — and then read and used to grade a folder of real submissions.
Whatever the mutation, the library gives a result or an NnhandError, within a time and
memory bound, and writes nothing but the outputs asked for, inside their folder."""

from __future__ import annotations

import copy
import datetime
import json
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnhand.classroom.build import build_assignment, manifest_data
from nnhand.classroom.gradebook import feedback_files, grade_folder, gradebook_csv, grades_json, summary_text
from nnhand.classroom.manifest import read_manifest
from nnhand.classroom.roster import Student
from nnhand.core.keys import key_data
from nnhand.errors import NnhandError
from nnhand.grading.answers import answer_file_text
from nnhand.safety.atomic import write_files

STUDENTS = ("ann", "bob")
TEMPLATES = ["hidden-layer", "single-neuron"]
SECONDS = 5  # one example: read, grade, write the outputs
PEAK_BYTES = 100_000_000


def _base() -> tuple[dict[str, Any], dict[str, str]]:
    students = [Student(sid, sid.title()) for sid in STUDENTS]
    batch = build_assignment(TEMPLATES, students, "fuzz", b"fuzz secret")
    files = {}
    for sid in STUDENTS:
        for exercise in batch.exercises[sid]:
            data = yaml.safe_load(answer_file_text(exercise.sheet, student=sid))
            key = key_data(exercise.sheet.problem)["answers"]
            data["answers"] = {name: key[name] for name in data["answers"]}
            if sid == "bob":  # one wrong answer, so that grading has a wrong cell to report
                first = next(iter(data["answers"]))
                value = data["answers"][first]
                data["answers"][first] = [v + 1 for v in value] if isinstance(value, list) else value + 1
            files[f"{sid}/{exercise.template.id}.yaml"] = yaml.safe_dump(data)
    return json.loads(json.dumps(manifest_data(batch))), files


BASE, SUBMISSIONS = _base()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in the manifest, the template sources' text included as a leaf."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)
ODD_TEXT = ["", " ", ".", "..", "../x", "/abs", "a/b", "a\\b", "c:x", "a\x00b", "\x1b[2J", "[/]", "=1+1",
            "ann", "bob", "hidden-layer", "matmul", "hidden-layer@2#7", "matmul@3#3", "1/0", "nan", "1e400",
            "x" * 300]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=8),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                      max_leaves=12)  # fmt: skip


def _parent(data: Any, path: tuple[Any, ...]) -> tuple[Any, Any] | None:
    target = data
    for key in path[:-1]:
        try:
            target = target[key]
        except (KeyError, IndexError, TypeError):
            return None
    if isinstance(target, dict) and path[-1] in target:
        return target, path[-1]
    if isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target):
        return target, path[-1]
    return None


@st.composite
def manifests(draw: st.DrawFn) -> str:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(PATHS))
        found = _parent(data, path)
        if found is None:
            continue
        target, key = found
        op = draw(st.sampled_from(["drop", "replace", "truncate", "duplicate"]))
        if op == "drop":
            del target[key]
        elif op == "replace":
            target[key] = draw(values)
        elif op == "truncate" and isinstance(target[key], (list, str)):
            target[key] = target[key][: draw(st.integers(min_value=0, max_value=max(0, len(target[key]) - 1)))]
        elif op == "duplicate" and isinstance(target, list):
            target.append(copy.deepcopy(target[key]))
    text = json.dumps(data, allow_nan=True)
    if draw(st.integers(min_value=0, max_value=9)) == 9:  # now and then, the file itself cut short
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    return text


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@settings(
    max_examples=60,
    deadline=datetime.timedelta(seconds=SECONDS * 2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=manifests())
def test_a_mutated_manifest_gives_a_grade_book_or_an_nnhand_error(text: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="nnhand-fuzz-"))
    try:
        (root / "manifest.json").write_text(text, encoding="utf-8", errors="surrogatepass")
        for relative, content in SUBMISSIONS.items():
            (root / "subs" / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / "subs" / relative).write_text(content)
        before = _files(root)
        out = root / "out"
        tracemalloc.start()
        start = time.perf_counter()
        written: set[str] = set()
        try:
            manifest = read_manifest(root / "manifest.json")
            book = grade_folder(manifest, root / "subs")
            outputs: dict[Path, str | bytes] = {
                out / "g.csv": gradebook_csv(book),
                out / "g.json": grades_json(book),
            }
            outputs.update({out / "fb" / name: t for name, t in feedback_files(book).items()})
            summary_text(book)
            write_files(outputs)
            written = {str(p.relative_to(root)) for p in outputs}
            json.loads(outputs[out / "g.json"])  # the JSON for CI parses
        except NnhandError as exc:
            assert exc.render()
        finally:
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert elapsed < SECONDS, f"{elapsed:.1f} s"
        assert peak < PEAK_BYTES, f"peak {peak / 1e6:.0f} MB"
        folders = {str(Path(w).parent) for w in written} | {"out"} if written else set()
        assert _files(root) - before <= written | folders, "wrote outside the outputs asked for"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_unmutated_manifest_grades_both_students() -> None:
    """The fuzz base itself is sound: without a mutation every file is graded."""
    root = Path(tempfile.mkdtemp(prefix="nnhand-fuzz-"))
    try:
        (root / "manifest.json").write_text(json.dumps(BASE))
        for relative, content in SUBMISSIONS.items():
            (root / "subs" / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / "subs" / relative).write_text(content)
        book = grade_folder(read_manifest(root / "manifest.json"), root / "subs")
        assert not book.flags()
        ann = [book.cell("ann", t) for t in TEMPLATES]
        bob = [book.cell("bob", t) for t in TEMPLATES]
        assert all(s is not None and s.report is not None and s.report.score == s.report.max_score for s in ann)
        assert all(s is not None and s.report is not None and s.report.score < s.report.max_score for s in bob)
    finally:
        shutil.rmtree(root, ignore_errors=True)
