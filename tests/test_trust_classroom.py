"""Grades a course can trust: identity, every template from a manifest, a validated manifest,
bounded reading and safe outputs of `worksheet` and `grade` (issue 9)."""

from __future__ import annotations

import copy
import csv
import errno
import io
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from nnhand.classroom.build import Assignment, build_assignment, manifest_data, write_folder
from nnhand.classroom.gradebook import feedback_files, grade_folder, gradebook_csv, grades_json, summary_text
from nnhand.classroom.manifest import MANIFEST_MAX_BYTES, read_manifest
from nnhand.classroom.roster import ROSTER_MAX_BYTES, Student, read_roster
from nnhand.cli import app
from nnhand.core.keys import key_data
from nnhand.errors import ManifestError, NnhandError, RosterError
from nnhand.grading.answers import answer_file_text
from nnhand.safety.atomic import write_files

runner = CliRunner()
SECRET = b"a secret for the tests"
TEMPLATES = ["hidden-layer", "single-neuron"]
CONTROL = "\x1b[2J\x1b]0;pwned\x07\x00\x9b"


# ----------------------------------------------------------------------------- helpers


def make_class(tmp_path: Path, ids: list[str], templates: list[str] = TEMPLATES) -> tuple[Path, Assignment]:
    students = [Student(sid, f"Name of {sid}") for sid in ids]
    batch = build_assignment(templates, students, "hw", SECRET)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest_data(batch)))
    return path, batch


def sheet_of(batch: Assignment, sid: str, template: str) -> Any:
    return next(e.sheet for e in batch.exercises[sid] if e.template.id == template)


def answer_file(batch: Assignment, sid: str, template: str, wrong: int = 0) -> dict[str, Any]:
    """The answer file handed to `sid`, filled in from the generator's key; `wrong` cells changed."""
    sheet = sheet_of(batch, sid, template)
    data = yaml.safe_load(answer_file_text(sheet, student=sid))
    key = key_data(sheet.problem)["answers"]
    data["answers"] = {name: copy.deepcopy(key[name]) for name in data["answers"]}
    for name in data["answers"]:
        mask = sheet.blanks[name]
        for flat in range(mask.size):
            if wrong and mask.reshape(-1)[flat]:
                data["answers"][name] = _bump(data["answers"][name], flat)
                wrong -= 1
    assert wrong == 0, "not enough blank cells to make wrong"
    return data


def _bump(value: Any, flat: int) -> Any:
    """`value` with its flat-th cell moved by 7: wrong under any tolerance a template states."""
    if not isinstance(value, list):
        return value + 7
    cells = [c for row in value for c in row] if isinstance(value[0], list) else list(value)
    cells[flat] = cells[flat] + 7
    if isinstance(value[0], list):
        width = len(value[0])
        return [cells[i : i + width] for i in range(0, len(cells), width)]
    return cells


def put(path: Path, data: dict[str, Any] | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def grade(manifest: Path, subs: Path, *extra: str) -> Any:
    return runner.invoke(app, ["grade", str(manifest), str(subs), *extra])


def csv_rows(path: Path) -> dict[str, list[str]]:
    return {row[0]: row for row in csv.reader(io.StringIO(path.read_text()))}


def full_marks(batch: Assignment, sid: str, template: str) -> int:
    return sheet_of(batch, sid, template).blank_count()  # cell scoring: one point a blank cell


# ----------------------------------------------------------------------------- 1. identity


def test_a_student_line_never_moves_a_file_onto_another_student(tmp_path: Path) -> None:
    manifest, batch = make_class(tmp_path, ["s001", "s027"], ["hidden-layer"])
    subs = tmp_path / "subs"
    put(subs / "s001" / "hidden-layer.yaml", answer_file(batch, "s001", "hidden-layer"))
    weaker = answer_file(batch, "s001", "hidden-layer", wrong=3)  # s001's own file, three cells spoiled
    assert weaker["student"] == "s001"
    put(subs / "s027" / "hidden-layer.yaml", weaker)

    result = grade(manifest, subs, "--csv", str(tmp_path / "g.csv"), "--json", str(tmp_path / "g.json"))
    assert result.exit_code == 1, result.stdout + result.stderr
    rows = csv_rows(tmp_path / "g.csv")
    assert rows["s001"][3] == str(full_marks(batch, "s001", "hidden-layer"))  # untouched
    assert rows["s027"][3] == "0"  # s001's variant handed in as s027's: not s027's exercise
    assert "missing" not in rows["s027"][-1]
    assert "student: s001" in rows["s027"][-1] and "s027" in rows["s027"][-1]
    assert "student: s001" not in rows["s001"][-1]
    assert "s027/hidden-layer.yaml" in result.stdout and "student: s001" in result.stdout
    report = json.loads((tmp_path / "g.json").read_text())
    [identity] = report["flags"]["identity"]
    assert identity["student"] == "s027" and identity["exercise"] == "hidden-layer"
    assert identity["file"].endswith("s027/hidden-layer.yaml") and "s001" in identity["message"]
    students = {s["id"]: s for s in report["students"]}
    assert students["s001"]["exercises"]["hidden-layer"]["flags"] == []
    assert students["s001"]["exercises"]["hidden-layer"]["status"] == "graded"
    assert [f["kind"] for f in students["s027"]["exercises"]["hidden-layer"]["flags"]] == ["identity", "tampered"]


def test_a_disagreeing_student_line_on_a_students_own_work_is_graded_for_them_and_flagged(tmp_path: Path) -> None:
    manifest, batch = make_class(tmp_path, ["ann", "bob"], ["hidden-layer"])
    own = answer_file(batch, "bob", "hidden-layer", wrong=1)
    own["student"] = "ann"
    put(tmp_path / "subs" / "bob-hidden-layer.yaml", own)
    put(tmp_path / "subs" / "ann-hidden-layer.yaml", answer_file(batch, "ann", "hidden-layer"))
    book = grade_folder(read_manifest(manifest), tmp_path / "subs")
    bob = book.cell("bob", "hidden-layer")
    assert bob is not None and bob.report is not None
    assert bob.report.score == full_marks(batch, "bob", "hidden-layer") - 1
    assert [f.kind for f in book.flags() if f.student == "bob"] == ["identity"]
    ann = book.cell("ann", "hidden-layer")
    assert ann is not None and ann.report is not None
    assert ann.report.score == full_marks(batch, "ann", "hidden-layer")
    assert not [f for f in book.flags() if f.student == "ann"]


def test_two_files_for_one_exercise_are_both_flagged_and_the_lower_score_counts(tmp_path: Path) -> None:
    manifest, batch = make_class(tmp_path, ["ann", "bob"], ["hidden-layer"])
    subs = tmp_path / "subs"
    put(subs / "ann" / "draft.yaml", answer_file(batch, "ann", "hidden-layer", wrong=2))
    put(subs / "ann" / "final.yaml", answer_file(batch, "ann", "hidden-layer"))
    result = grade(manifest, subs, "--csv", str(tmp_path / "g.csv"), "--json", str(tmp_path / "g.json"))
    assert result.exit_code == 1
    best = full_marks(batch, "ann", "hidden-layer")
    assert csv_rows(tmp_path / "g.csv")["ann"][3] == str(best - 2)
    assert "duplicate" in csv_rows(tmp_path / "g.csv")["ann"][-1]
    report = json.loads((tmp_path / "g.json").read_text())
    duplicates = report["flags"]["duplicate"]
    assert sorted(Path(f["file"]).name for f in duplicates) == ["draft.yaml", "final.yaml"]
    assert all(f["student"] == "ann" and f["exercise"] == "hidden-layer" for f in duplicates)
    ann = next(s for s in report["students"] if s["id"] == "ann")["exercises"]["hidden-layer"]
    assert ann["score"] == best - 2 and Path(ann["file"]).name == "draft.yaml"
    flagged = sorted(Path(f["file"]).name for f in ann["flags"] if f["kind"] == "duplicate")
    assert flagged == ["draft.yaml", "final.yaml"]
    assert "DUPLICATE" in result.stdout and "draft.yaml" in result.stdout and "final.yaml" in result.stdout


def test_a_file_whose_location_names_no_student_is_unmatched_whatever_its_student_line(tmp_path: Path) -> None:
    manifest, batch = make_class(tmp_path, ["s001", "s002"], ["hidden-layer"])
    subs = tmp_path / "subs"
    put(subs / "s001" / "hidden-layer.yaml", answer_file(batch, "s001", "hidden-layer"))
    put(subs / "upload.yaml", answer_file(batch, "s001", "hidden-layer", wrong=4))  # says student: s001
    result = grade(manifest, subs, "--csv", str(tmp_path / "g.csv"), "--json", str(tmp_path / "g.json"))
    assert result.exit_code == 1
    assert csv_rows(tmp_path / "g.csv")["s001"][3] == str(full_marks(batch, "s001", "hidden-layer"))
    assert csv_rows(tmp_path / "g.csv")["s002"][-1] == "hidden-layer: missing"
    report = json.loads((tmp_path / "g.json").read_text())
    [unmatched] = report["flags"]["unmatched"]
    assert unmatched["file"].endswith("upload.yaml") and unmatched["student"] is None
    assert report["flags"]["duplicate"] == [] and report["flags"]["identity"] == []
    assert "UNMATCHED" in result.stdout and "upload.yaml" in result.stdout


def test_the_folder_a_course_system_made_wins_over_a_file_name(tmp_path: Path) -> None:
    manifest, batch = make_class(tmp_path, ["s001", "s027"], ["hidden-layer"])
    subs = tmp_path / "subs"
    own = answer_file(batch, "s027", "hidden-layer")
    del own["student"]
    put(subs / "s027" / "s001-hidden-layer.yaml", own)
    book = grade_folder(read_manifest(manifest), subs)
    assert book.cell("s001", "hidden-layer") is None
    s027 = book.cell("s027", "hidden-layer")
    assert s027 is not None and s027.report is not None
    assert s027.report.score == full_marks(batch, "s027", "hidden-layer")
    [flag] = book.flags_of("s027")
    assert flag.kind == "identity" and "s001" in flag.message


def test_grade_json_lists_every_student_and_exercise(tmp_path: Path) -> None:
    manifest, batch = make_class(tmp_path, ["ann", "bob", "cy"])
    subs = tmp_path / "subs"
    put(subs / "ann-hidden-layer.yaml", answer_file(batch, "ann", "hidden-layer", wrong=1))
    put(subs / "ann-single-neuron.yaml", answer_file(batch, "ann", "single-neuron"))
    tampered = answer_file(batch, "bob", "hidden-layer")
    tampered["givens"]["x"][0] = tampered["givens"]["x"][0] + 1
    put(subs / "bob-hidden-layer.yaml", tampered)
    put(subs / "bob-single-neuron.yaml", "variant: [unclosed\n")
    result = grade(manifest, subs, "--json", str(tmp_path / "g.json"))
    assert result.exit_code == 1, result.stderr
    report = json.loads((tmp_path / "g.json").read_text())
    assert report["schema"] == "nnhand-grades" and report["schema_version"] == 1
    students = {s["id"]: s for s in report["students"]}
    assert list(students) == ["ann", "bob", "cy"]
    hl = full_marks(batch, "ann", "hidden-layer")
    sn = full_marks(batch, "ann", "single-neuron")
    ann = students["ann"]
    assert ann["exercises"]["hidden-layer"] == {
        "score": hl - 1, "max": hl, "status": "graded", "file": str(subs / "ann-hidden-layer.yaml"), "flags": []
    }  # fmt: skip
    assert ann["total"] == hl - 1 + sn and ann["max"] == hl + sn
    bob = students["bob"]["exercises"]
    assert bob["hidden-layer"]["status"] == "tampered" and bob["hidden-layer"]["score"] == 0
    assert bob["single-neuron"]["status"] == "not graded" and bob["single-neuron"]["score"] == 0
    assert students["cy"]["exercises"]["single-neuron"] == {
        "score": 0, "max": full_marks(batch, "cy", "single-neuron"), "status": "missing", "file": None,
        "flags": [{"kind": "missing", "file": None, "message": "no submission found"}],
    }  # fmt: skip
    flags = report["flags"]
    assert [(f["student"], f["exercise"]) for f in flags["tampered"]] == [("bob", "hidden-layer")]
    assert [(f["student"], f["exercise"]) for f in flags["not_graded"]] == [("bob", "single-neuron")]
    assert sorted((f["student"], f["exercise"]) for f in flags["missing"]) == [
        ("cy", "hidden-layer"), ("cy", "single-neuron")
    ]  # fmt: skip


# ----------------------------------------------------------------------------- 2. every template


def test_every_template_grades_a_right_and_a_wrong_submission_from_a_manifest(tmp_path: Path, template_id: str) -> None:
    manifest, batch = make_class(tmp_path, ["right", "wrong"], [template_id])
    subs = tmp_path / "subs"
    put(subs / "right" / "a.yaml", answer_file(batch, "right", template_id))
    put(subs / "wrong" / "a.yaml", answer_file(batch, "wrong", template_id, wrong=1))
    book = grade_folder(read_manifest(manifest), subs)
    right, wrong = book.cell("right", template_id), book.cell("wrong", template_id)
    assert right is not None and right.report is not None, right and right.problem
    assert wrong is not None and wrong.report is not None, wrong and wrong.problem
    assert right.report.score == right.report.max_score == full_marks(batch, "right", template_id) > 0
    assert wrong.report.max_score == full_marks(batch, "wrong", template_id)
    assert wrong.report.score < wrong.report.max_score
    assert [c.cell for s in wrong.report.steps for c in s.cells if not c.credited]  # the spoiled cell is named


def test_float_templates_grade_through_worksheet_and_grade_on_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "hw"
    made = runner.invoke(app, ["worksheet", "perceptron", "bce-loss", "--count", "2", "--out", str(out),
                               "--format", "md"])  # fmt: skip
    assert made.exit_code == 0, made.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    subs = tmp_path / "subs"
    for student in manifest["students"]:
        for entry in student["exercises"]:
            data = yaml.safe_load((out / "students" / student["id"] / f"{entry['template']}.yaml").read_text())
            if student["id"] == "v1":
                data["answers"] = {k: entry["key"][k] for k in data["answers"]}
            put(subs / student["id"] / f"{entry['template']}.yaml", data)
    result = grade(out / "manifest.json", subs, "--csv", str(tmp_path / "g.csv"))
    assert result.exit_code == 1, result.stdout + result.stderr  # v2 handed in blank sheets
    rows = csv_rows(tmp_path / "g.csv")
    assert rows["v1"][-2] == "100.0" and rows["v2"][-2] == "0.0"
    assert rows["v1"][-1] == "" and "not graded" not in result.stdout


# ----------------------------------------------------------------------------- 3. the manifest


@pytest.fixture(scope="module")
def good_manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path, _ = make_class(tmp_path_factory.mktemp("m"), ["ann", "bob"])
    return dict(json.loads(path.read_text()))


def _drop(data: dict[str, Any], *keys: Any) -> None:
    target: Any = data
    for k in keys[:-1]:
        target = target[k]
    del target[keys[-1]]


def _set(data: dict[str, Any], value: Any, *keys: Any) -> None:
    target: Any = data
    for k in keys[:-1]:
        target = target[k]
    target[keys[-1]] = value


MUTATIONS: list[tuple[str, Any, list[str]]] = [
    ("a missing step", lambda d: _drop(d, "students", 0, "exercises", 0, "key", "y"),
     ["students[0].exercises[0].key", "'y'"]),
    ("a missing exercise", lambda d: _drop(d, "students", 1, "exercises", 1),
     ["students[1].exercises", "single-neuron"]),
    ("a missing key", lambda d: _drop(d, "students", 0, "exercises", 1, "givens"),
     ["students[0].exercises[1]", "'givens'"]),
    ("a missing mask", lambda d: _drop(d, "students", 0, "exercises", 0, "blank_mask", "y"),
     ["students[0].exercises[0].blank_mask", "'y'"]),
    ("no students", lambda d: _drop(d, "students"), ["'students'"]),
    ("no templates", lambda d: _drop(d, "templates"), ["'templates'"]),
    ("students not a list", lambda d: _set(d, {"ann": 1}, "students"), ["students", "a list"]),
    ("an exercise not a mapping", lambda d: _set(d, 3, "students", 0, "exercises", 0),
     ["students[0].exercises[0]", "a mapping"]),
    ("a key not a mapping", lambda d: _set(d, [1, 2], "students", 0, "exercises", 0, "key"),
     ["students[0].exercises[0].key", "a mapping"]),
    ("a variant not text", lambda d: _set(d, 12, "students", 0, "exercises", 0, "variant"),
     ["students[0].exercises[0].variant"]),
    ("another template's variant", lambda d: _set(d, "matmul@3#3", "students", 0, "exercises", 0, "variant"),
     ["students[0].exercises[0].variant", "matmul"]),
    ("a mask of the wrong shape", lambda d: _set(d, [[1]], "students", 0, "exercises", 0, "blank_mask", "y"),
     ["students[0].exercises[0].blank_mask.y"]),
    ("a mask of text", lambda d: _set(d, "all", "students", 0, "exercises", 0, "blank_mask", "y"),
     ["students[0].exercises[0].blank_mask.y"]),
    ("params of text", lambda d: _set(d, {"n": "three"}, "students", 0, "exercises", 0, "params"),
     ["students[0].exercises[0].params"]),
    ("an unknown template", lambda d: _set(d, "nosuch", "students", 0, "exercises", 0, "template"),
     ["students[0].exercises[0].template", "nosuch"]),
    ("a template source not text", lambda d: _set(d, 5, "templates", "hidden-layer", "source"),
     ["templates.hidden-layer.source"]),
    ("a broken template source", lambda d: _set(d, "id: [", "templates", "hidden-layer", "source"),
     ["templates.hidden-layer.source"]),
    ("a student twice", lambda d: _set(d, "ann", "students", 1, "id"), ["students[1].id", "'ann'", "twice"]),
    ("an exercise twice", lambda d: d["students"][0]["exercises"].append(d["students"][0]["exercises"][0]),
     ["students[0].exercises[2]", "hidden-layer", "twice"]),
    ("a version of text", lambda d: _set(d, "1", "schema_version"), ["schema_version"]),
    ("an old schema version", lambda d: _set(d, 0, "schema_version"), ["schema_version"]),
    ("a name not text", lambda d: _set(d, ["x"], "students", 0, "name"), ["students[0].name"]),
    ("an unknown key", lambda d: _set(d, "x" * 1000, "x-padding"), ["'x-padding'", "schema version 1"]),
    ("an unknown key in an exercise", lambda d: _set(d, 1, "students", 0, "exercises", 1, "comment"),
     ["students[0].exercises[1]", "'comment'"]),
    ("a seed of text", lambda d: _set(d, "42", "students", 0, "exercises", 0, "seed"),
     ["students[0].exercises[0].seed"]),
]  # fmt: skip


@pytest.mark.parametrize(("label", "mutate", "fragments"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_a_damaged_manifest_is_refused_naming_the_json_path(
    tmp_path: Path, good_manifest: dict[str, Any], label: str, mutate: Any, fragments: list[str]
) -> None:
    data = copy.deepcopy(good_manifest)
    mutate(data)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    message = str(caught.value)
    assert str(path) in message and caught.value.fix, message
    for fragment in fragments:
        assert fragment in message, (label, message)
    result = grade(path, tmp_path)  # and on the command line: exit 2, one paragraph
    assert result.exit_code == 2 and result.stderr.startswith("nnhand: error: "), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("bad", ["../x", "/abs", "a/b", "a\\b", ".", "..", "c:x", "a\x1bb", "a\x00b", "", " ", 7, None])
def test_a_manifest_student_id_that_could_name_a_path_is_refused(
    tmp_path: Path, good_manifest: dict[str, Any], bad: Any
) -> None:
    data = copy.deepcopy(good_manifest)
    data["students"][1]["id"] = bad
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=r"students\[1\]\.id"):
        read_manifest(path)
    result = grade(path, tmp_path, "--feedback", str(tmp_path / "fb"))
    assert result.exit_code == 2 and not (tmp_path / "fb").exists() and not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1" * 5000])
def test_non_finite_and_giant_numbers_in_a_manifest_are_refused(
    tmp_path: Path, good_manifest: dict[str, Any], number: str
) -> None:
    text = json.dumps(good_manifest).replace('"schema_version": 1', f'"schema_version": 1, "x": {number}', 1)
    path = tmp_path / "manifest.json"
    path.write_text(text)
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    assert str(path) in str(caught.value)


def test_duplicate_keys_and_deep_nesting_in_a_manifest_are_refused(
    tmp_path: Path, good_manifest: dict[str, Any]
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(good_manifest)[:-1] + ', "students": []}')
    with pytest.raises(ManifestError, match="'students' twice"):
        read_manifest(path)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ManifestError):
        read_manifest(path)


def test_the_sealing_fields_are_accepted(tmp_path: Path, good_manifest: dict[str, Any]) -> None:
    data = copy.deepcopy(good_manifest)
    for student in data["students"]:
        for entry in student["exercises"]:
            entry["seed"] = 123456789
            entry["token"] = "abcdefgh23"
            entry["variant"] = entry["variant"].split("#")[0] + "#sealed-abcdefgh23"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    manifest = read_manifest(path)
    assert str(manifest.sheet("ann", "hidden-layer").variant).endswith("#sealed-abcdefgh23")


def test_a_manifest_over_the_cap_or_not_a_regular_file_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "manifest.json"
    with huge.open("wb") as handle:
        handle.truncate(MANIFEST_MAX_BYTES + 1)  # sparse: nothing is really on disk
    with pytest.raises(ManifestError, match="over the 200 MB limit"):
        read_manifest(huge)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(ManifestError, match="not a regular file"):
        read_manifest(fifo)


# ----------------------------------------------------------------------------- rosters


def test_a_roster_over_its_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "class.csv"
    with path.open("wb") as handle:
        handle.truncate(ROSTER_MAX_BYTES + 1)
    with pytest.raises(RosterError, match="over the 10 MB limit"):
        read_roster(path)
    os.mkfifo(tmp_path / "fifo.csv")
    with pytest.raises(RosterError, match="not a regular file"):
        read_roster(tmp_path / "fifo.csv")


def test_roster_ids_with_control_characters_are_refused_by_line(tmp_path: Path) -> None:
    path = tmp_path / "class.csv"
    path.write_text("id,name\nok,A\nbad\x1b[31m,B\ntab\tid,C\nc:x,D\n", encoding="utf-8")
    with pytest.raises(RosterError) as caught:
        read_roster(path)
    message = str(caught.value)
    assert "line 3" in message and "line 4" in message and "line 5" in message and "line 2" not in message
    assert "\x1b" not in message


def test_formula_looking_names_and_ids_are_kept_but_neutralised_in_the_grade_book(tmp_path: Path) -> None:
    path = tmp_path / "class.csv"
    path.write_text('id,name\n=1+2,"=HYPERLINK(""http://x"",""y"")"\n@sum,+cmd|\' /C calc\'!A0\n-x,\tTab\n')
    students = read_roster(path)
    assert [s.id for s in students] == ["=1+2", "@sum", "-x"]
    assert students[0].name == '=HYPERLINK("http://x","y")'
    batch = build_assignment(["single-neuron"], students, "hw", SECRET)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(manifest_data(batch)))
    subs = tmp_path / "subs"
    put(subs / "=1+2" / "a.yaml", answer_file(batch, "=1+2", "single-neuron"))
    put(subs / "@sum" / "a.yaml", "variant: '=cmd|x'\n")
    result = grade(manifest, subs, "--csv", str(tmp_path / "g.csv"))
    assert result.exit_code == 1, result.stderr
    rows = list(csv.reader(io.StringIO((tmp_path / "g.csv").read_text())))
    cells = [cell for row in rows for cell in row]
    assert "'=1+2" in cells and "'@sum" in cells and "'-x" in cells and """'=HYPERLINK("http://x","y")""" in cells
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


# ----------------------------------------------------------------------------- 4. bounded work


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak from /proc")
def test_a_huge_submission_is_refused_without_being_read(tmp_path: Path) -> None:
    manifest, batch = make_class(tmp_path, ["ann"], ["single-neuron"])
    subs = tmp_path / "subs"
    put(subs / "ann" / "single-neuron.yaml", answer_file(batch, "ann", "single-neuron"))
    huge = subs / "ann" / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(600_000_000)  # sparse: 600 MB of NULs that cost no disk
    # VmHWM is the peak of this process alone (ru_maxrss would carry the parent's over exec).
    script = (
        "import sys\n"
        "from nnhand.cli import run\n"
        "sys.argv = ['nnhand', 'grade', sys.argv[1], sys.argv[2]]\n"
        "try:\n    run()\n"
        "except SystemExit:\n"
        "    peak = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "    print('PEAK', peak.split()[1], file=sys.stderr)\n"
        "    raise\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(manifest), str(subs)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "huge.yaml" in done.stdout and "over the 1 MB limit" in done.stdout
    peak_kb = int(done.stderr.split("PEAK")[1].split()[0])
    assert peak_kb < 250_000, f"peak {peak_kb} kB: the submission was read"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifos_devices_and_links_to_them_are_reported_never_opened(tmp_path: Path) -> None:
    manifest, batch = make_class(tmp_path, ["ann"], ["single-neuron"])
    subs = tmp_path / "subs"
    put(subs / "ann" / "single-neuron.yaml", answer_file(batch, "ann", "single-neuron"))
    os.mkfifo(subs / "ann" / "pipe.yaml")
    os.symlink(subs / "ann" / "pipe.yaml", subs / "ann" / "link-to-pipe.yaml")
    os.symlink("/dev/zero", subs / "ann" / "zero.yaml")
    os.symlink(subs / "nowhere", subs / "ann" / "dangling.yaml")

    def hang(signum: int, frame: Any) -> None:
        raise AssertionError("grading blocked on a FIFO or device")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(30)
    try:
        book = grade_folder(read_manifest(manifest), subs)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    problems = {s.path.name: s.problem for s in book.submissions if s.problem}
    assert set(problems) == {"pipe.yaml", "link-to-pipe.yaml", "zero.yaml", "dangling.yaml"}, problems
    for name in ("pipe.yaml", "link-to-pipe.yaml", "zero.yaml"):
        assert "not a regular file" in str(problems[name]), problems[name]
    graded = book.cell("ann", "single-neuron")
    assert graded is not None and graded.report is not None  # the real submission still counts
    assert "NOT GRADED" in summary_text(book)


# ----------------------------------------------------------------------------- 5. safe outputs


def test_the_summary_and_feedback_hold_no_control_characters_and_no_markup(tmp_path: Path) -> None:
    manifest, _ = make_class(tmp_path, ["ann", "bob"], ["hidden-layer"])
    subs = tmp_path / "subs"
    put(subs / "ann" / "hidden-layer.yaml", 'variant: "[/] [bold]x\\e[2J\\a\\x9b"\n')  # YAML escapes: ESC, BEL, CSI
    strange = subs / "bob" / f"hidden-layer{CONTROL[:-2]}.yaml"
    put(strange, "[1, 2]\n")
    result = grade(manifest, subs, "--feedback", str(tmp_path / "fb"), "--csv", str(tmp_path / "g.csv"))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\x9b" not in result.stdout
    assert "[/]" in result.stdout  # shown as written, not read as markup
    for name in ("ann.txt", "bob.txt"):
        text = (tmp_path / "fb" / name).read_text()
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text, text
    assert "[/] [bold]x" in (tmp_path / "fb" / "ann.txt").read_text()
    assert "\x1b" not in (tmp_path / "g.csv").read_text()


def test_feedback_files_are_named_only_from_validated_ids(tmp_path: Path) -> None:
    manifest, _ = make_class(tmp_path, ["ann"], ["single-neuron"])
    (tmp_path / "subs").mkdir()
    book = grade_folder(read_manifest(manifest), tmp_path / "subs")
    book.manifest.students["../escape"] = book.manifest.students["ann"]  # as if validation were bypassed
    with pytest.raises(NnhandError, match="escape"):
        feedback_files(book)


def test_force_replaces_only_a_folder_nnhand_wrote(tmp_path: Path) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "thesis.tex").write_text("three years of work")
    args = ["worksheet", "matmul", "--count", "2", "--out", str(out), "--format", "md", "--force"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "thesis.tex" in result.stderr, result.stderr
    assert (out / "thesis.tex").read_text() == "three years of work"
    (out / "manifest.json").write_text("{}")  # a manifest.json that is not nnhand's
    assert runner.invoke(app, args).exit_code == 2 and (out / "thesis.tex").exists()

    made = tmp_path / "hw"
    assert runner.invoke(app, [*args[:5], str(made), "--format", "md"]).exit_code == 0
    assert runner.invoke(app, [*args[:5], str(made), "--format", "md", "--force"]).exit_code == 0
    (made / "notes.txt").write_text("mine")  # nnhand's folder, plus a file someone added
    again = runner.invoke(app, [*args[:5], str(made), "--format", "md", "--force"])
    assert again.exit_code == 2 and "notes.txt" in again.stderr and (made / "notes.txt").exists()
    (made / "notes.txt").unlink()
    assert runner.invoke(app, [*args[:5], str(made), "--format", "md", "--force"]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hw", "thesis"]  # nothing left beside them


def test_force_refuses_a_file_or_a_link_in_place_of_the_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "keep.txt").write_text("x")
    os.symlink(tmp_path / "target", tmp_path / "link")
    for name in ("file", "link"):
        with pytest.raises(NnhandError):
            write_folder(tmp_path / name, {"a.txt": "1"}, force=True)
    assert (tmp_path / "file").read_text() == "x" and (tmp_path / "target" / "keep.txt").exists()


@pytest.mark.parametrize("relative", ["../out.txt", "/tmp/abs.txt", "a/../../b.txt", ""])
def test_write_folder_refuses_paths_outside_it(tmp_path: Path, relative: str) -> None:
    with pytest.raises(NnhandError):
        write_folder(tmp_path / "o", {"ok.txt": "1", relative: "2"}, force=False)
    assert list(tmp_path.iterdir()) == []


def _enospc_at(call: int, real: Any) -> Any:
    """`real`, except that its call number `call` (from 1) fails as a full disk does."""
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == call:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, **kwargs)

    return failing


@pytest.mark.parametrize("call", [1, 2, 3])
def test_a_failed_rename_leaves_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: int) -> None:
    (tmp_path / "out").mkdir()
    files = {tmp_path / "out" / "g.csv": "a", tmp_path / "out" / "fb" / "x.txt": "b", tmp_path / "j.xml": "c"}
    monkeypatch.setattr(os, "replace", _enospc_at(call, os.replace))
    with pytest.raises(NnhandError, match="No space left"):
        write_files(files)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == ["out"]  # every file or none: no temp file, no output written before the fault


def test_a_failed_folder_write_leaves_nothing_and_keeps_the_old_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "hw"
    write_folder(out, {"manifest.json": json.dumps({"schema": "nnhand-manifest"})}, force=False)
    before = sorted(tmp_path.rglob("*"))
    monkeypatch.setattr(os, "replace", _enospc_at(2, os.replace))  # the old folder moves aside, the new one fails
    with pytest.raises(NnhandError, match="No space left"):
        write_folder(out, {"manifest.json": "{}", "sheets.md": "x"}, force=True)
    assert sorted(tmp_path.rglob("*")) == before


def _run_with_file_size_limit(args: list[str], limit: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    def limit_writes() -> None:  # a real failed write: EFBIG past `limit` bytes in any one file
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "nnhand", *args], capture_output=True, text=True, timeout=120,
                          preexec_fn=limit_writes, cwd=cwd)  # fmt: skip


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_a_write_that_fails_midway_leaves_no_partial_or_temp_files(tmp_path: Path) -> None:
    done = _run_with_file_size_limit(["worksheet", "matmul", "--count", "30", "--out", "hw", "--format", "md"],
                                     20_000, tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "cannot write" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []

    manifest, batch = make_class(tmp_path, [f"s{i:03d}" for i in range(60)], ["single-neuron"])
    subs = tmp_path / "subs"
    for sid in list(batch.exercises)[:2]:
        put(subs / sid / "a.yaml", answer_file(batch, sid, "single-neuron"))
    book = grade_folder(read_manifest(manifest), subs)
    limit = 6_000  # the grade book fits, its JSON does not: the fault comes mid-way
    assert len(gradebook_csv(book)) < limit < len(grades_json(book))
    before = sorted(tmp_path.rglob("*"))
    done = _run_with_file_size_limit(["grade", str(manifest), str(subs), "--csv", "g.csv", "--json", "g.json",
                                      "--feedback", "fb"], limit, tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot write" in done.stderr and "Traceback" not in done.stderr
    assert sorted(tmp_path.rglob("*")) == before
