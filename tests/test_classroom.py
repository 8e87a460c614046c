"""A whole class: rosters, per-student variants, the manifest, and grading a folder."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnhand.classroom.build import Assignment, build_assignment, make_worksheets, manifest_data, write_folder
from nnhand.classroom.gradebook import GradeBook, grade_folder, gradebook_csv
from nnhand.classroom.manifest import MANIFEST_SCHEMA, read_manifest
from nnhand.classroom.roster import Student, numbered_students, read_roster, student_seed
from nnhand.cli import app
from nnhand.core.keys import key_data
from nnhand.errors import NnhandError, RosterError
from nnhand.grading.answers import answer_file_text

runner = CliRunner()
SECRET = b"correct horse battery staple"


def roster(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "class.csv"
    path.write_text(text)
    return path


def test_roster_reads_ids_names_and_emails(tmp_path: Path) -> None:
    path = roster(tmp_path, "ID,Name,Email\ns1,Ada Lovelace,ada@example.org\n\ns2,Alan Turing,\n")
    assert read_roster(path) == [
        Student("s1", "Ada Lovelace", "ada@example.org"),
        Student("s2", "Alan Turing", ""),
    ]


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("id,name\ns1,A\ns1,B\n", ["line 3: duplicate id 's1' (first on line 2)"]),
        ("id,name\n,A\ns2,B\n", ["line 2: empty id"]),
        ("id,name\ns1\n", ["line 2: 1 fields"]),
        ("name,email\nA,a@x\n", ["no id column"]),
        ("", ["is empty"]),
        ("id\n../x\n", ["cannot name a folder"]),
        ("id,name\n,A\ns1,B\ns1,C\n", ["line 2: empty id", "line 4: duplicate id"]),
    ],
)
def test_bad_rosters_are_reported_by_line(tmp_path: Path, text: str, fragments: list[str]) -> None:
    with pytest.raises(RosterError) as caught:
        read_roster(roster(tmp_path, text))
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_seeds_are_unique_reproducible_and_need_the_secret() -> None:
    seeds = {student_seed(SECRET, "hw3", f"s{i}", "transformer") for i in range(500)}
    assert len(seeds) == 500
    assert student_seed(SECRET, "hw3", "s1", "mlp") == student_seed(SECRET, "hw3", "s1", "mlp")
    assert student_seed(SECRET, "hw3", "s1", "mlp") != student_seed(b"other", "hw3", "s1", "mlp")
    assert student_seed(SECRET, "hw3", "s1", "mlp") != student_seed(SECRET, "hw4", "s1", "mlp")
    assert student_seed(SECRET, "hw3", "s1", "mlp") != student_seed(SECRET, "hw3", "s1", "rnn")


def test_every_student_gets_a_distinct_instance() -> None:
    students = numbered_students(40)
    batch = build_assignment(["single-neuron"], students, "quiz", SECRET)
    givens = {json.dumps(key_data(batch.exercises[s.id][0].sheet.problem)["givens"]) for s in students}
    assert len(givens) == 40  # single-neuron has few distinct instances: the redraw matters


def make_class(tmp_path: Path) -> tuple[Path, Assignment]:
    students = [Student(sid, sid.title()) for sid in ("alice", "bob", "carol", "dan", "erin")]
    batch = build_assignment(["hidden-layer", "backprop"], students, "hw3", SECRET)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest_data(batch)))
    return path, batch


def answers_for(batch: Assignment, sid: str, template: str) -> dict:
    sheet = next(e.sheet for e in batch.exercises[sid] if e.template.id == template)
    data = yaml.safe_load(answer_file_text(sheet, student=sid))
    key = key_data(sheet.problem)
    data["answers"] = {k: key["answers"][k] for k in data["answers"]}
    return data


def test_grading_a_mixed_folder(tmp_path: Path) -> None:
    manifest, batch = make_class(tmp_path)
    subs = tmp_path / "subs"
    (subs / "bob").mkdir(parents=True)
    for template in ("hidden-layer", "backprop"):  # alice: everything right, student id in the file
        (subs / f"alice-{template}.yaml").write_text(yaml.safe_dump(answers_for(batch, "alice", template)))
    wrong = answers_for(batch, "bob", "hidden-layer")  # bob: found by folder name; one wrong cell
    del wrong["student"]
    wrong["answers"]["y"][0] += 1
    (subs / "bob" / "hl.yaml").write_text(yaml.safe_dump(wrong))
    tampered = answers_for(batch, "carol", "backprop")  # carol: changed a given
    tampered["givens"]["b3"][0] += 1
    (subs / "carol-backprop.yaml").write_text(yaml.safe_dump(tampered))
    swapped = answers_for(batch, "dan", "hidden-layer")  # dan: hands in alice's variant
    swapped["variant"] = answers_for(batch, "alice", "hidden-layer")["variant"]
    (subs / "dan-hidden-layer.yaml").write_text(yaml.safe_dump(swapped))
    (subs / "erin-backprop.yaml").write_text("variant: [unclosed\n")  # erin: malformed
    (subs / "notes.yaml").write_bytes(b"\x00\x01")  # neither a student nor YAML

    result = runner.invoke(app, ["grade", str(manifest), str(subs), "--csv", str(tmp_path / "g.csv"),
                                 "--feedback", str(tmp_path / "fb")])  # fmt: skip
    assert result.exit_code == 1, result.stdout + result.stderr
    out = result.stdout
    assert "TAMPERED" in out and "carol backprop: the given b3[1] was changed" in out
    assert "dan hidden-layer: variant" in out and "is not the one issued" in out
    assert "NOT GRADED" in out and "erin-backprop.yaml" in out and "notes.yaml" in out
    missing = "MISSING: 4 of 10 submissions, from 4 students:\n"
    assert missing + "  bob    backprop\n  carol  hidden-layer\n  dan    backprop\n  erin   hidden-layer\n" in out

    rows = list(csv.reader(io.StringIO((tmp_path / "g.csv").read_text(encoding="utf-8-sig"))))
    header, possible, *students = rows
    assert header == ["student_id", "name", "email", "hidden-layer", "backprop", "total", "max", "percent", "flags"]
    assert possible[:3] == ["", "Points Possible", ""]
    hl_points = float(possible[3])
    bp_points = float(possible[4])
    assert hl_points == 13 and possible[5] == possible[6] == f"{hl_points + bp_points:g}"
    by_id = {r[0]: r for r in students}
    assert set(by_id) == {"alice", "bob", "carol", "dan", "erin"}
    assert by_id["alice"][5] == f"{hl_points + bp_points:g}" and by_id["alice"][7] == "100.0"
    assert by_id["bob"][3] == f"{hl_points - 1:g}" and "backprop: missing" in by_id["bob"][8]
    assert by_id["carol"][4] == "0" and "tampered" in by_id["carol"][8]
    assert by_id["dan"][3] == "0" and "tampered" in by_id["dan"][8]
    assert by_id["erin"][4] == "0" and "not graded" in by_id["erin"][8]
    feedback = (tmp_path / "fb" / "bob.txt").read_text()
    assert "✗ y[1]" in feedback and "backprop: no submission found" in feedback


def test_grades_come_from_the_manifest_not_the_generator(tmp_path: Path) -> None:
    manifest_path, batch = make_class(tmp_path)
    data = json.loads(manifest_path.read_text())
    # Pretend the template changed on disk since: the manifest keeps its own copy.
    data["templates"]["hidden-layer"]["source"] = data["templates"]["hidden-layer"]["source"].replace(
        "title: Hidden layer", "title: Hidden layer (as issued)"
    )
    manifest_path.write_text(json.dumps(data))
    manifest = read_manifest(manifest_path)
    assert manifest.templates["hidden-layer"].title == "Hidden layer (as issued)"
    sheet = manifest.sheet("alice", "hidden-layer")
    original = next(e.sheet for e in batch.exercises["alice"] if e.template.id == "hidden-layer")
    for name, value in original.problem.values.items():
        assert (sheet.problem.values[name] == value).all()
    for name, mask in original.blanks.items():
        assert (sheet.blanks[name] == mask).all()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{}", "not an nnhand manifest"),
        ("[1, 2]", "not an nnhand manifest"),
        ("not json", "is not JSON"),
        ('{"schema": "nnhand-manifest", "schema_version": 99}', "newer than this nnhand reads"),
        ('{"schema": "nnhand-manifest", "schema_version": 1}', "incomplete"),
    ],
)
def test_bad_manifests(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content)
    result = runner.invoke(app, ["grade", str(path), str(tmp_path)])
    assert result.exit_code == 2 and fragment in result.stderr, result.stderr


def test_write_folder_is_all_or_nothing(tmp_path: Path) -> None:
    out = tmp_path / "hw"
    manifest = json.dumps({"schema": MANIFEST_SCHEMA, "students": [{"id": "a"}]})
    write_folder(out, {"manifest.json": manifest, "students/a/sheet.md": "2"}, force=False)
    assert (out / "students" / "a" / "sheet.md").read_text() == "2"
    with pytest.raises(NnhandError, match="already exists"):
        write_folder(out, {"c.txt": "3"}, force=False)
    write_folder(out, {"c.txt": "3"}, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["c.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["hw"]  # nothing left beside it


def test_worksheet_then_grade_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "class.csv").write_text("id,name\nada,Ada Lovelace\nalan,Alan Turing\n")
    (tmp_path / "secret").write_text("s3cret\n")
    out = tmp_path / "build" / "hw1"
    args = ["worksheet", "matmul", "single-neuron", "--roster", str(tmp_path / "class.csv"), "--assignment", "hw1",
            "--out", str(out), "--secret-file", str(tmp_path / "secret"),
            "--format", "html", "--format", "md"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    for name in ("sheets.html", "keys.html", "sheets.md", "keys.md", "manifest.json",
                 "students/ada/sheet.html", "students/ada/key.md", "students/alan/single-neuron.yaml"):  # fmt: skip
        assert (out / name).is_file(), name
    html = (out / "sheets.html").read_text()
    assert "Ada Lovelace" in html and "Alan Turing" in html
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already exists" in again.stderr and "--force" in again.stderr
    # the same secret and assignment give the same variants: reproducible by the instructor
    rerun = runner.invoke(app, [*args, "--force"])
    assert rerun.exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    variants = [e["variant"] for s in manifest["students"] for e in s["exercises"]]
    assert len(set(variants)) == 4
    # students fill in their answer files: ada everything right, alan leaves them blank
    subs = tmp_path / "subs"
    subs.mkdir()
    for template in ("matmul", "single-neuron"):
        data = yaml.safe_load((out / "students" / "ada" / f"{template}.yaml").read_text())
        key = next(e["key"] for s in manifest["students"] if s["id"] == "ada" for e in s["exercises"]
                   if e["template"] == template)  # fmt: skip
        data["answers"] = {k: key[k] for k in data["answers"]}
        (subs / f"ada-{template}.yaml").write_text(yaml.safe_dump(data))
        (subs / f"alan-{template}.yaml").write_text((out / "students" / "alan" / f"{template}.yaml").read_text())
    graded = runner.invoke(app, ["grade", str(out / "manifest.json"), str(subs), "--csv", str(tmp_path / "g.csv")])
    assert graded.exit_code == 1, graded.stderr
    rows = {r[0]: r for r in csv.reader(io.StringIO((tmp_path / "g.csv").read_text()))}
    assert rows["ada"][-2] == "100.0" and rows["alan"][-2] == "0.0"


def test_worksheet_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NNHAND_SECRET", raising=False)
    (tmp_path / "class.csv").write_text("id\na\nb\n")
    base = ["worksheet", "matmul", "--out", str(tmp_path / "o")]
    cases = {
        "a secret": [*base, "--roster", str(tmp_path / "class.csv"), "--assignment", "x"],
        "either --roster CSV or --count N": base,
        "unknown template": ["worksheet", "nosuch", "--count", "2", "--out", str(tmp_path / "o")],
        "named twice": ["worksheet", "matmul", "matmul", "--count", "2", "--out", str(tmp_path / "o")],
    }
    for fragment, args in cases.items():
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and fragment in result.stderr, (fragment, result.stderr)
        assert not (tmp_path / "o").exists()
    result = runner.invoke(app, ["worksheet", "matmul", "--count", "3", "--out", str(tmp_path / "o"), "--format", "md"])
    assert result.exit_code == 0, result.stderr
    ids = [s["id"] for s in json.loads((tmp_path / "o" / "manifest.json").read_text())["students"]]
    assert ids == ["v1", "v2", "v3"]


# ----------------------------------------------------------------------------- the policies the CLI hands over


def test_class_list_policy(tmp_path: Path) -> None:
    from nnhand.classroom.roster import class_list
    from nnhand.errors import UsageError

    path = roster(tmp_path, "id\ns1\ns2\n")
    with pytest.raises(UsageError, match="either --roster CSV or --count N"):
        class_list(None, None, SECRET, "hw")
    with pytest.raises(UsageError, match="either --roster CSV or --count N"):
        class_list(path, 3, SECRET, "hw")
    with pytest.raises(UsageError, match="a roster needs a secret"):
        class_list(path, None, None, "hw")
    with pytest.raises(UsageError, match="a roster needs --assignment"):
        class_list(path, None, SECRET, "")
    assert [s.id for s in class_list(path, None, SECRET, "hw")] == ["s1", "s2"]
    assert [s.id for s in class_list(None, 10, None, "")] == ["v01", "v02", "v03", "v04", "v05", "v06", "v07",
                                                                  "v08", "v09", "v10"]  # fmt: skip


def test_make_worksheets_checks_the_folder_before_the_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nnhand.classroom import build
    from nnhand.errors import NnhandError

    out = tmp_path / "ws"
    run = make_worksheets(["matmul"], out, count=2, formats=["md"])
    assert run.students == 2 and run.exercises == 1 and run.formats == ("md",)
    assert sorted(p.name for p in out.iterdir()) == ["keys.md", "manifest.json", "sheets.md", "students"]
    assert run.message.startswith(f"2 students x 1 exercises written to {out}/ (md; manifest.json) in ")

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("built an assignment for a folder that is refused")

    monkeypatch.setattr(build, "build_assignment", no_work)
    with pytest.raises(NnhandError, match="already exists"):
        make_worksheets(["matmul"], out, count=2)
    monkeypatch.delenv("NNHAND_SECRET", raising=False)
    with pytest.raises(NnhandError, match="a roster needs a secret"):
        make_worksheets(["matmul"], tmp_path / "other", roster=roster(tmp_path, "id\ns1\n"), assignment="a")
    assert not (tmp_path / "other").exists()


def _graded_book(tmp_path: Path, right: bool) -> GradeBook:
    tmp_path.mkdir(parents=True, exist_ok=True)
    manifest, batch = make_class(tmp_path)
    subs = tmp_path / ("right" if right else "partial")
    subs.mkdir()
    for sid in ("alice", "bob", "carol", "dan", "erin"):
        for template in ("hidden-layer", "backprop"):
            if right or sid != "erin":
                (subs / f"{sid}-{template}.yaml").write_text(yaml.safe_dump(answers_for(batch, sid, template)))
    if not right:
        (subs / "erin-backprop.yaml").write_text("variant: [unclosed\n")
    return grade_folder(read_manifest(manifest), subs)


def test_gradebook_exit_code(tmp_path: Path) -> None:
    assert _graded_book(tmp_path / "a", right=True).exit_code == 0
    assert _graded_book(tmp_path / "b", right=False).exit_code == 1  # erin: one file missing, one unreadable


def test_gradebook_junit_counts_an_ungraded_file_as_an_error(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from nnhand.classroom.gradebook import gradebook_junit

    book = _graded_book(tmp_path, right=False)
    root = ET.fromstring(gradebook_junit(book, per="step").split("\n", 1)[1])
    suites = root.findall("testsuite")
    assert len(suites) == 9  # 4 students x 2 files, and erin's unreadable one
    (errored,) = [s for s in suites if s.get("errors") == "1"]
    assert errored.get("file", "").endswith("erin-backprop.yaml")
    case = errored.find("testcase")
    assert case is not None and case.find("error").get("type") == "UngradedFile"  # type: ignore[union-attr]
    assert root.get("errors") == "1" and root.get("failures") == "0"
    # per step: one test case per asked step of every graded file, and the errored one
    steps = sum(len([s for s in sub.report.steps if s.cells]) for sub in book.submissions if sub.report)
    assert root.get("tests") == str(steps + 1)


def test_gradebook_outputs_render_each_named_format(tmp_path: Path) -> None:
    from nnhand.classroom.gradebook import gradebook_outputs
    from nnhand.errors import UsageError

    book = _graded_book(tmp_path, right=True)
    files = gradebook_outputs(book, {"csv": tmp_path / "g.csv", "json": None, "feedback": tmp_path / "fb"})
    assert set(files) == {tmp_path / "g.csv", *(tmp_path / "fb" / f"{s}.txt" for s in book.manifest.students)}
    assert files[tmp_path / "g.csv"] == gradebook_csv(book)
    with pytest.raises(UsageError, match="unknown grade-book format 'xlsx'"):
        gradebook_outputs(book, {"xlsx": tmp_path / "g.xlsx"})


def test_export_pool_policy(tmp_path: Path) -> None:
    from nnhand.classroom.export import export_pool
    from nnhand.errors import UsageError

    with pytest.raises(UsageError, match="not text for a terminal"):  # a zip is no terminal's output
        export_pool("matmul", "qti", 2, first_seed=5, terminal=True)
    with pytest.raises(UsageError, match=r"one zip file.*--out qti\.zip"):
        export_pool("matmul", "qti", 2, first_seed=5, out=tmp_path / "qti")
    moodle = export_pool("matmul", "moodle", 2, first_seed=5)
    assert isinstance(moodle.text, str) and moodle.text.startswith("<?xml") and moodle.warnings == ()
    assert moodle.note == "2 sealed variants (given seeds); their seeds are recorded in the file's first comments"
    out = tmp_path / "pool.zip"
    qti = export_pool("matmul", "qti", 2, first_seed=5, out=out)
    assert qti.text is None and qti.note.startswith(f"2 sealed variants (given seeds) written to {out}")
    with zipfile.ZipFile(out) as package:
        manifest = package.read("imsmanifest.xml").decode()
        assert len(package.namelist()) == 3  # the manifest and one item per variant
    assert [int(s) for s in re.findall(r"<!-- nnhand-seed \S+ (\d+) -->", manifest)] == [5, 6]
    assert list(tmp_path.iterdir()) == [out]
