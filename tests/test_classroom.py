"""A whole class: rosters, per-student variants, the manifest, and grading a folder."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnhand.classroom import assignment as classroom
from nnhand.cli import app
from nnhand.core.keys import key_data
from nnhand.errors import RosterError
from nnhand.grading.answers import answer_file_text

runner = CliRunner()
SECRET = b"correct horse battery staple"


def roster(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "class.csv"
    path.write_text(text)
    return path


def test_roster_reads_ids_names_and_emails(tmp_path: Path) -> None:
    path = roster(tmp_path, "ID,Name,Email\ns1,Ada Lovelace,ada@example.org\n\ns2,Alan Turing,\n")
    assert classroom.read_roster(path) == [
        classroom.Student("s1", "Ada Lovelace", "ada@example.org"),
        classroom.Student("s2", "Alan Turing", ""),
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
        classroom.read_roster(roster(tmp_path, text))
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_seeds_are_unique_reproducible_and_need_the_secret() -> None:
    seeds = {classroom.student_seed(SECRET, "hw3", f"s{i}", "transformer") for i in range(500)}
    assert len(seeds) == 500
    assert classroom.student_seed(SECRET, "hw3", "s1", "mlp") == classroom.student_seed(SECRET, "hw3", "s1", "mlp")
    assert classroom.student_seed(SECRET, "hw3", "s1", "mlp") != classroom.student_seed(b"other", "hw3", "s1", "mlp")
    assert classroom.student_seed(SECRET, "hw3", "s1", "mlp") != classroom.student_seed(SECRET, "hw4", "s1", "mlp")
    assert classroom.student_seed(SECRET, "hw3", "s1", "mlp") != classroom.student_seed(SECRET, "hw3", "s1", "rnn")


def test_every_student_gets_a_distinct_instance() -> None:
    students = classroom.numbered_students(40)
    batch = classroom.build_assignment(["single-neuron"], students, "quiz", SECRET)
    givens = {json.dumps(key_data(batch.exercises[s.id][0].sheet.problem)["givens"]) for s in students}
    assert len(givens) == 40  # single-neuron has few distinct instances: the redraw matters


def make_class(tmp_path: Path) -> tuple[Path, classroom.Assignment]:
    students = [classroom.Student(sid, sid.title()) for sid in ("alice", "bob", "carol", "dan", "erin")]
    batch = classroom.build_assignment(["hidden-layer", "backprop"], students, "hw3", SECRET)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(classroom.manifest_data(batch)))
    return path, batch


def answers_for(batch: classroom.Assignment, sid: str, template: str) -> dict:
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
    assert "MISSING" in out and "bob backprop" in out and "erin hidden-layer" in out

    rows = list(csv.reader(io.StringIO((tmp_path / "g.csv").read_text())))
    header, possible, *students = rows
    assert header == ["student_id", "name", "hidden-layer", "backprop", "total", "max", "percent", "flags"]
    hl_points = float(possible[2])
    bp_points = float(possible[3])
    assert hl_points == 13 and possible[4] == possible[5] == f"{hl_points + bp_points:g}"
    by_id = {r[0]: r for r in students}
    assert set(by_id) == {"alice", "bob", "carol", "dan", "erin"}
    assert by_id["alice"][4] == f"{hl_points + bp_points:g}" and by_id["alice"][6] == "100.0"
    assert by_id["bob"][2] == f"{hl_points - 1:g}" and "backprop: missing" in by_id["bob"][7]
    assert by_id["carol"][3] == "0" and "tampered" in by_id["carol"][7]
    assert by_id["dan"][2] == "0" and "tampered" in by_id["dan"][7]
    assert by_id["erin"][3] == "0" and "not graded" in by_id["erin"][7]
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
    manifest = classroom.read_manifest(manifest_path)
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
    manifest = json.dumps({"schema": classroom.MANIFEST_SCHEMA, "students": [{"id": "a"}]})
    classroom.write_folder(out, {"manifest.json": manifest, "students/a/sheet.md": "2"}, force=False)
    assert (out / "students" / "a" / "sheet.md").read_text() == "2"
    with pytest.raises(classroom.NnhandError, match="already exists"):
        classroom.write_folder(out, {"c.txt": "3"}, force=False)
    classroom.write_folder(out, {"c.txt": "3"}, force=True)
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
