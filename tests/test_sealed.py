"""Sealed class variants: what students see carries an opaque token, never a seed.

A worksheet batch or an LMS export names each variant `<template>@<version>#sealed-<token>`;
only the instructor's manifest (or the record an export writes for the instructor) maps a
token to its seed. The seed is checked to rebuild the frozen givens through the public
generator (`engine.generate`, the same as `nnhand key TEMPLATE --seed N`), and every file
a student may receive is searched for the seeds themselves."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from nnhand.api import load
from nnhand.classroom.build import Assignment, build_assignment, manifest_data
from nnhand.classroom.roster import Student, numbered_students
from nnhand.cli import app
from nnhand.core.engine import TOKEN_ALPHABET, TOKEN_LENGTH, Variant, generate
from nnhand.core.keys import key_data
from nnhand.output.printing import document_pages, typst_source

runner = CliRunner()
SECRET = b"correct horse battery staple"
SEALED = re.compile(rf"^[a-z0-9-]+@\d+#sealed-[{TOKEN_ALPHABET}]{{{TOKEN_LENGTH}}}(,[a-z_]+=\w+)*$")
RAW_VARIANT = re.compile(r"@\d+\\?#\d")  # template@version#<digits> (Markdown: \#): an id anyone can look up


def manifest_entries(manifest: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(s["id"], e) for s in manifest["students"] for e in s["exercises"]]


def student_facing(out: Path) -> dict[str, str]:
    """Every file of a batch that may be handed to a student (all but the manifest)."""
    return {
        str(p.relative_to(out)): p.read_text(encoding="utf-8")
        for p in out.rglob("*")
        if p.is_file() and p.name != "manifest.json" and p.suffix != ".pdf"
    }


def assert_no_seed(texts: dict[str, str], seeds: list[int]) -> None:
    for name, text in texts.items():
        assert not RAW_VARIANT.search(text), (name, RAW_VARIANT.search(text))
        for seed in seeds:
            assert str(seed) not in text, (name, seed)


# ----------------------------------------------------------------------------- worksheets


@pytest.mark.parametrize("secret", [True, False])
def test_no_student_facing_file_of_a_batch_shows_a_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret: bool
) -> None:
    monkeypatch.delenv("NNHAND_SECRET", raising=False)
    out = tmp_path / "hw"
    args = ["worksheet", "transformer", "mlp", "--out", str(out), "--format", "html", "--format", "md"]
    if secret:
        (tmp_path / "class.csv").write_text("id,name\nada,Ada\nalan,Alan\ngrace,Grace\n")
        (tmp_path / "secret").write_text("s3cret\n")
        args += [
            "--roster",
            str(tmp_path / "class.csv"),
            "--assignment",
            "hw",
            "--secret-file",
            str(tmp_path / "secret"),
        ]
    else:
        args += ["--count", "3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    entries = manifest_entries(manifest)
    assert len(entries) == 6
    seeds = [e["seed"] for _, e in entries]
    assert all(isinstance(s, int) and s >= 0 for s in seeds) and len(set(seeds)) == 6
    texts = student_facing(out)
    assert any(name.endswith(".yaml") for name in texts) and any(name.endswith(".md") for name in texts)
    assert_no_seed(texts, seeds)
    for sid, entry in entries:
        assert SEALED.match(entry["variant"]), entry["variant"]
        answer_file = yaml.safe_load((out / "students" / sid / f"{entry['template']}.yaml").read_text())
        assert answer_file["variant"] == entry["variant"]
        assert entry["variant"] in texts[f"students/{sid}/sheet.html"]
        assert entry["variant"] in texts[f"students/{sid}/key.html"]  # a key may be handed out too


def test_typst_of_a_batch_shows_no_seed() -> None:
    batch = build_assignment(["transformer"], numbered_students(2), "hw", SECRET)
    entries = manifest_entries(manifest_data(batch))
    sheets = [(e.sheet, sid) for sid, exercises in batch.exercises.items() for e in exercises]
    assert_no_seed({"typst": typst_source(document_pages(sheets))}, [e["seed"] for _, e in entries])


def test_the_manifest_maps_each_token_to_a_seed_that_rebuilds_the_givens() -> None:
    students = [Student(s) for s in ("ada", "alan", "grace", "edsger")]
    batch = build_assignment(["transformer", "mlp", "hidden-layer"], students, "hw", SECRET)
    for _, entry in manifest_entries(manifest_data(batch)):
        variant = Variant.parse(entry["variant"])
        assert variant.seed is None and variant.token == entry["token"]
        rebuilt = generate(load(entry["template"]), entry["seed"], entry["params"])
        assert key_data(rebuilt)["givens"] == entry["givens"]
        assert key_data(rebuilt)["answers"] == entry["key"]


def test_key_with_the_recorded_seed_reproduces_the_frozen_exercise() -> None:
    batch = build_assignment(["transformer"], numbered_students(2), "hw", SECRET)
    for _, entry in manifest_entries(manifest_data(batch)):
        result = runner.invoke(app, ["key", entry["template"], "--seed", str(entry["seed"]), "--format", "json"])
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["givens"] == entry["givens"] and data["answers"] == entry["key"]


def tokens(batch: Assignment) -> list[str]:
    return [e["token"] for _, e in manifest_entries(manifest_data(batch))]


def test_tokens_follow_the_secret_and_are_unique() -> None:
    students = numbered_students(30)
    first = tokens(build_assignment(["matmul", "single-neuron"], students, "hw", SECRET))
    again = tokens(build_assignment(["matmul", "single-neuron"], students, "hw", SECRET))
    other = tokens(build_assignment(["matmul", "single-neuron"], students, "hw", b"another secret"))
    assert first == again
    assert not set(first) & set(other)
    assert len(set(first)) == len(first) == 60
    assert all(len(t) == TOKEN_LENGTH and set(t) <= set(TOKEN_ALPHABET) for t in first)
    fresh = [tokens(build_assignment(["matmul"], students, "hw", None)) for _ in range(2)]
    assert not set(fresh[0]) & set(fresh[1]) and len(set(fresh[0])) == 30


# ----------------------------------------------------------------------------- check and grade


def filled(path: Path, key: dict[str, Any]) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    data["answers"] = {k: key[k] for k in data["answers"]}
    return data


def test_check_grades_a_sealed_answer_file(tmp_path: Path) -> None:
    out = tmp_path / "hw"
    result = runner.invoke(app, ["worksheet", "mlp", "hidden-layer", "--count", "2", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    for sid, entry in manifest_entries(manifest):
        path = out / "students" / sid / f"{entry['template']}.yaml"
        blank = runner.invoke(app, ["check", str(path)])  # as handed out: every blank unanswered
        assert blank.exit_code == 1, blank.stdout + blank.stderr
        right = tmp_path / f"{sid}-{entry['template']}.yaml"
        right.write_text(yaml.safe_dump(filled(path, entry["key"])))
        graded = runner.invoke(app, ["check", str(right), "--format", "json"])
        assert graded.exit_code == 0, graded.stdout + graded.stderr
        report = json.loads(graded.stdout)
        assert report["variant"] == entry["variant"]
        asked = {(s["name"], c["cell"]) for s in report["steps"] for c in s["cells"]}
        mask = {(name, i, j) for name, rows in entry["blank_mask"].items()
                for i, row in enumerate(rows) for j, v in enumerate(row) if v}  # fmt: skip
        assert len(asked) == len(mask) > 0  # check asks exactly the cells the sheet left blank


def test_grade_takes_sealed_submissions(tmp_path: Path) -> None:
    out = tmp_path / "hw"
    assert runner.invoke(app, ["worksheet", "matmul", "--count", "2", "--out", str(out)]).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    subs = tmp_path / "subs"
    subs.mkdir()
    for sid, entry in manifest_entries(manifest):
        data = filled(out / "students" / sid / "matmul.yaml", entry["key"])
        (subs / f"{sid}.yaml").write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["grade", str(out / "manifest.json"), str(subs)])
    assert result.exit_code == 0, result.stdout + result.stderr


# ----------------------------------------------------------------------------- exports

QTI = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
FIELD = re.compile(r"\{1:NUMERICAL:=(-?[0-9.]+):")
RECORD = re.compile(r"nnhand-seed (\S+) (\d+)")


def export(args: list[str], env: dict[str, str] | None = None) -> str:
    result = CliRunner(env=env).invoke(app, ["export", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def moodle_questions(document: str) -> list[ET.Element]:
    return [q for q in ET.fromstring(document.encode()).findall("question") if q.get("type") == "cloze"]


def question_text(q: ET.Element) -> str:
    return "".join(q.itertext())  # the name, question text and feedback: all that is imported


def test_moodle_export_names_sealed_ids_and_records_the_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NNHAND_SECRET", raising=False)
    document = export(["matmul", "--count", "4", "--format", "moodle", "--blanks", "all"])
    records = dict(RECORD.findall(document))
    questions = moodle_questions(document)
    assert len(questions) == len(records) == 4
    seeds = [int(s) for s in records.values()]
    assert sorted(seeds) != [1, 2, 3, 4] and len(set(seeds)) == 4
    template = load("matmul")
    for q in questions:
        name = q.findtext("name/text") or ""
        assert SEALED.match(name), name
        assert_no_seed({name: question_text(q)}, seeds)
        # The recorded seed rebuilds this question: its fields are that variant's key, cell by cell.
        key = key_data(generate(template, int(records[name])))["answers"]
        expected = [Fraction(str(v)) for step in key.values() for row in step for v in row]
        assert [Fraction(a) for a in FIELD.findall(q.findtext("questiontext/text") or "")] == expected
    again = export(["matmul", "--count", "4", "--format", "moodle"])
    assert not set(RECORD.findall(again)) & set(records.items())  # fresh randomness each time


def test_export_seeds_from_the_secret_are_reproducible_and_per_secret(tmp_path: Path) -> None:
    env = {"NNHAND_SECRET": "s3cret"}
    first = export(["matmul", "--count", "3", "--format", "gift"], env)
    assert first == export(["matmul", "--count", "3", "--format", "gift"], env)
    other = export(["matmul", "--count", "3", "--format", "gift"], {"NNHAND_SECRET": "another"})
    pool = export(["matmul", "--count", "3", "--format", "gift", "--pool", "midterm"], env)
    seeds = {s for _, s in RECORD.findall(first)}
    assert len(seeds) == 3
    assert not seeds & {s for _, s in RECORD.findall(other)}
    assert not seeds & {s for _, s in RECORD.findall(pool)}
    questions = [line for line in first.splitlines() if line and not line.startswith(("//", "$CATEGORY"))]
    assert len(questions) == 3 * 10  # 3 variants x 10 cells (C_shape 2, C 8)
    assert_no_seed({"gift": "\n".join(questions)}, [int(s) for s in seeds])
    names = {re.match(r"::(.*?) \S+::", q.replace("\\#", "#")).group(1) for q in questions}  # type: ignore[union-attr]
    assert names == {v for v, _ in RECORD.findall(first)} and all(SEALED.match(n) for n in names)


def test_export_with_an_explicit_seed_is_reproducible_and_still_sealed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NNHAND_SECRET", raising=False)
    document = export(["matmul", "--count", "3", "--seed", "40", "--format", "moodle"])
    records = RECORD.findall(document)
    assert [int(s) for _, s in records] == [40, 41, 42]
    for q in moodle_questions(document):
        assert SEALED.match(q.findtext("name/text") or "")
        assert not RAW_VARIANT.search(question_text(q))
    with_secret = {"NNHAND_SECRET": "s3cret"}
    assert export(["matmul", "--count", "3", "--seed", "40"], with_secret) == export(
        ["matmul", "--count", "3", "--seed", "40"], with_secret
    )


def test_qti_export_keeps_its_record_in_the_manifest_comments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NNHAND_SECRET", raising=False)
    out = tmp_path / "pool.zip"
    result = runner.invoke(app, ["export", "matmul", "--count", "3", "--format", "qti", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    with zipfile.ZipFile(out) as package:
        files = {name: package.read(name).decode("utf-8") for name in package.namelist()}
    manifest = files.pop("imsmanifest.xml")
    assert "seeds drawn at random" in manifest
    records = RECORD.findall(manifest)
    assert len(files) == len(records) == 3
    seeds = [int(seed) for _, seed in records]
    assert_no_seed({name: name + text for name, text in files.items()}, seeds)
    assert_no_seed({"manifest": ET.tostring(ET.fromstring(manifest), encoding="unicode")}, seeds)  # comments only
    template = load("matmul")
    items = [ET.fromstring(text) for text in files.values()]
    for variant, seed in records:
        (item,) = [i for i in items if variant in (i.get("title") or "")]
        assert SEALED.match(variant)
        # The recorded seed rebuilds the item: its correct responses are that variant's key.
        key = key_data(generate(template, int(seed)))["answers"]
        cells = [Fraction(str(v)) for name in ("C_shape", "C") for row in key[name] for v in row]
        responses = [Fraction(v.text or "") for v in item.iter(f"{QTI}value") if v.text and v.text[-1].isdigit()]
        assert responses[: len(cells)] == cells
