"""`worksheet --shard K/N` and `nnhand merge` (issue 13, requirement 4): the shards of a
class, merged, are byte for byte the folder one unsharded run writes (manifest, answer
files, class and student PDFs and text documents), also when students' seeds are redrawn
because an earlier student got the same numbers; a merge refuses shards that do not make
one class, naming them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnhand.classroom.roster import student_seed
from nnhand.cli import app

runner = CliRunner()
SECRET = "a secret for the shard tests\n"


def write_roster(tmp_path: Path, n: int, who: str = "Student") -> Path:
    path = tmp_path / "class.csv"
    path.write_text("id,name,email\n" + "".join(f"s{i:02d},{who} {i},s{i}@example.org\n" for i in range(n)))
    return path


def secret_file(tmp_path: Path, text: str = SECRET, name: str = "secret.key") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# Sixteen instances in all: a class of a dozen redraws seeds, across shards too.
TINY = """\
id: tiny
version: 1
title: A tiny product
summary: Multiply A by B.
tags: [basics]
credits: A test template with few instances, so that students' seeds get redrawn.
bound: 9
givens:
  A: {shape: [1, 2], dist: {set: {1: 1, 2: 1}}, role: weights}
  B: {shape: [2, 1], dist: {set: {1: 1, 2: 1}}}
steps:
  - name: C
    expr: A @ B
    label: "C = A·B"
"""


def worksheet(tmp_path: Path, out: str, templates: list[str], formats: list[str], *extra: str, n: int = 7,
              secret: Path | None = None, assignment: str = "hw", who: str = "Student") -> Path:  # fmt: skip
    problems = tmp_path / "problems"
    problems.mkdir(exist_ok=True)
    (problems / "tiny.yaml").write_text(TINY)
    args = ["worksheet", *templates, "--roster", str(write_roster(tmp_path, n, who)), "--assignment", assignment,
            "--secret-file", str(secret or secret_file(tmp_path)), "--out", str(tmp_path / out),
            "--problems-dir", str(problems), *extra]  # fmt: skip
    for fmt in formats:
        args += ["--format", fmt]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return tmp_path / out


def merge(*args: object) -> object:
    return runner.invoke(app, ["merge", *map(str, args)])


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def shards(tmp_path: Path, count: int, templates: list[str], formats: list[str], **options: object) -> list[Path]:
    return [
        worksheet(tmp_path, f"part{k}", templates, formats, "--shard", f"{k}/{count}", "--jobs", "1", **options)  # type: ignore[arg-type]
        for k in range(1, count + 1)
    ]


def test_three_pdf_shards_merge_into_the_unsharded_folder_byte_for_byte(tmp_path: Path) -> None:
    templates, formats = ["hidden-layer", "backprop"], ["pdf", "html"]
    whole = worksheet(tmp_path, "whole", templates, formats, "--jobs", "2")
    parts = shards(tmp_path, 3, templates, formats)
    assert [len(json.loads((p / "manifest.json").read_text())["students"]) for p in parts] == [3, 2, 2]
    result = merge(*parts, "--out", tmp_path / "merged")
    assert result.exit_code == 0, result.output
    assert "3 shards (7 students) merged" in result.stderr
    merged, expected = folder_bytes(tmp_path / "merged"), folder_bytes(whole)
    assert sorted(merged) == sorted(expected)  # no shard.json, nothing missing
    for name in expected:
        assert merged[name] == expected[name], name
    assert {"sheets.pdf", "keys.pdf", "sheets.html", "manifest.json", "students/s06/key.pdf"} <= set(merged)


def test_shards_draw_the_redraws_of_the_whole_class(tmp_path: Path) -> None:
    """tiny has 16 instances: of 12 students some are redrawn because an earlier student,
    in another shard too, landed on the same numbers (and the PDFs come out the same)."""
    templates, formats = ["tiny", "hidden-layer"], ["md", "html", "typst", "pdf"]
    whole = worksheet(tmp_path, "whole", templates, formats, n=12)
    parts = shards(tmp_path, 3, templates, formats, n=12)
    manifest = json.loads((whole / "manifest.json").read_text())
    later = {s["id"] for p in parts[1:] for s in json.loads((p / "manifest.json").read_text())["students"]}
    redrawn = [
        s["id"]
        for s in manifest["students"]
        for e in s["exercises"]
        if e["seed"] != student_seed(SECRET.strip().encode(), "hw", s["id"], e["template"])
    ]
    assert set(redrawn) & later, "the test needs a redraw in shard 2 or 3 to mean anything"
    result = merge(*parts, "--out", tmp_path / "merged")
    assert result.exit_code == 0, result.output
    assert folder_bytes(tmp_path / "merged") == folder_bytes(whole)


def test_manifests_alone_merge_into_the_unsharded_manifest(tmp_path: Path) -> None:
    whole = worksheet(tmp_path, "whole", ["matmul"], ["md"], n=5)
    parts = shards(tmp_path, 2, ["matmul"], ["md"], n=5)
    result = merge(*(p / "manifest.json" for p in parts), "--out", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.json").read_bytes() == (whole / "manifest.json").read_bytes()
    again = merge(*(p / "manifest.json" for p in parts), "--out", tmp_path / "m.json")
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_a_class_of_fewer_students_than_shards_still_merges(tmp_path: Path) -> None:
    whole = worksheet(tmp_path, "whole", ["matmul"], ["md"], n=2)
    parts = shards(tmp_path, 3, ["matmul"], ["md"], n=2)  # the third shard holds no one
    result = merge(*parts, "--out", tmp_path / "merged")
    assert result.exit_code == 0, result.output
    assert folder_bytes(tmp_path / "merged") == folder_bytes(whole)


# ----------------------------------------------------------------------------- refusals


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    tmp = tmp_path_factory.mktemp("three")
    return tmp, shards(tmp, 3, ["matmul"], ["md"], n=6)


def refused(result: object, *fragments: str) -> None:
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in stderr, stderr


def test_a_missing_shard_is_named(three: tuple[Path, list[Path]]) -> None:
    tmp, parts = three
    refused(merge(parts[0], parts[2], "--out", tmp / "x"), "shard 2/3 is missing")
    assert not (tmp / "x").exists()


def test_a_shard_given_twice_is_named(three: tuple[Path, list[Path]]) -> None:
    tmp, parts = three
    refused(merge(parts[0], parts[1], parts[1], parts[2], "--out", tmp / "x"), "shard 2/3 is given twice")


def test_shards_of_another_split_are_refused(three: tuple[Path, list[Path]]) -> None:
    tmp, parts = three
    (tmp / "other").mkdir()
    other = shards(tmp / "other", 2, ["matmul"], ["md"], n=6)
    refused(merge(parts[0], other[1], "--out", tmp / "x"), "different splits")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [("secret", "different secrets"), ("size", "different class sizes"), ("names", "different rosters"),
     ("assignment", "differ in assignment"), ("template", "differ in templates"),
     ("format", "different 'formats' options")],
)  # fmt: skip
def test_shards_of_different_runs_are_refused(three: tuple[Path, list[Path]], change: str, fragment: str) -> None:
    tmp, parts = three
    alt = tmp / f"alt-{change}"
    alt.mkdir()
    options: dict[str, object] = {"n": 6}
    templates, formats = ["matmul"], ["md"]
    if change == "secret":
        options["secret"] = secret_file(alt, "another secret\n")
    elif change == "size":
        options["n"] = 7
    elif change == "names":
        options["who"] = "Pupil"
    elif change == "assignment":
        options["assignment"] = "hw-other"
    elif change == "template":
        templates = ["single-neuron"]
    else:
        formats = ["html"]
    other = shards(alt, 3, templates, formats, **options)
    refused(merge(parts[0], other[1], parts[2], "--out", tmp / "x"), fragment)


def test_a_folder_that_is_not_a_shard_is_refused(three: tuple[Path, list[Path]]) -> None:
    tmp, parts = three
    whole = worksheet(tmp, "unsharded", ["matmul"], ["md"], n=6)
    refused(merge(whole, parts[1], "--out", tmp / "x"), "has no shard.json")
    refused(merge(tmp / "nowhere", "--out", tmp / "x"), "does not exist")
    (tmp / "notes.json").write_text('{"hello": 1}')
    refused(merge(tmp / "notes.json", "--out", tmp / "x"), "neither a shard folder")
    refused(merge(parts[0], parts[1] / "manifest.json", "--out", tmp / "x"), "different kinds")


def test_a_tampered_shard_is_refused(three: tuple[Path, list[Path]]) -> None:
    tmp, parts = three
    copy = tmp / "tampered"
    shutil.copytree(parts[1], copy)
    (copy / "students" / "extra.txt").write_text("not nnhand's")
    refused(merge(parts[0], copy, parts[2], "--out", tmp / "x"), "is not a folder nnhand wrote")
    shutil.rmtree(copy)
    shutil.copytree(parts[1], copy)
    data = json.loads((copy / "manifest.json").read_text())
    data["students"] = data["students"][:1]
    (copy / "manifest.json").write_text(json.dumps(data))
    refused(merge(parts[0], copy, parts[2], "--out", tmp / "x"), "lists 1 students; shard 2/3 of 6 holds 2")


def test_grade_book_options_are_refused_for_worksheet_shards(three: tuple[Path, list[Path]]) -> None:
    tmp, parts = three
    refused(merge(*parts, "--out", tmp / "x", "--csv", tmp / "g.csv"), "for merging grade books")


# ----------------------------------------------------------------------------- grade books


def test_merge_dispatches_grade_books_and_matches_an_unsharded_grade(tmp_path: Path) -> None:
    whole = worksheet(tmp_path, "whole", ["matmul"], ["md"], n=5)
    manifest = json.loads((whole / "manifest.json").read_text())
    subs = tmp_path / "subs"
    for student in manifest["students"][:4]:  # the last student hands in nothing
        entry = student["exercises"][0]
        answers = yaml.safe_load((whole / "students" / student["id"] / "matmul.yaml").read_text())
        answers["answers"] = {name: entry["key"][name] for name in answers["answers"]}
        (subs / student["id"]).mkdir(parents=True)
        (subs / student["id"] / "matmul.yaml").write_text(yaml.safe_dump(answers))
    book = [str(whole / "manifest.json"), str(subs)]
    one = runner.invoke(app, ["grade", *book, "--json", str(tmp_path / "g.json"), "--csv", str(tmp_path / "g.csv")])
    assert one.exit_code == 1, one.output  # a submission is missing
    for k in (1, 2):
        part = runner.invoke(app, ["grade", *book, "--shard", f"{k}/2", "--json", str(tmp_path / f"g{k}.json")])
        assert part.exit_code in (0, 1), part.output
    result = merge(tmp_path / "g1.json", tmp_path / "g2.json", "--out", tmp_path / "m.json",
                   "--csv", tmp_path / "m.csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.json").read_bytes() == (tmp_path / "g.json").read_bytes()
    assert (tmp_path / "m.csv").read_bytes() == (tmp_path / "g.csv").read_bytes()


def test_your_own_numbers_worked_and_augmented_shards_merge_too(tmp_path: Path) -> None:
    """--givens (no seed: the manifest's numbers are read back), --worked and --augmented
    (recorded in shard.json) change the class documents the merge renders again."""
    (tmp_path / "mine.yaml").write_text("A: [[1, 2], [3, 4]]\nB: [[1, 0, 1], [0, 1, 1]]\n")
    options = ["--givens", str(tmp_path / "mine.yaml"), "--worked", "--augmented"]
    whole = worksheet(tmp_path, "whole", ["matmul"], ["md", "html"], *options, n=5)
    parts = [worksheet(tmp_path, f"p{k}", ["matmul"], ["md", "html"], *options, "--shard", f"{k}/2", n=5)
             for k in (1, 2)]  # fmt: skip
    result = merge(*parts, "--out", tmp_path / "merged")
    assert result.exit_code == 0, result.output
    assert folder_bytes(tmp_path / "merged") == folder_bytes(whole)
    plain = worksheet(tmp_path, "plain", ["matmul"], ["md", "html"], "--givens", str(tmp_path / "mine.yaml"), n=5)
    assert (plain / "keys.html").read_bytes() != (whole / "keys.html").read_bytes()  # merging honoured --worked


def test_augmented_shards_merge_into_augmented_sheets(tmp_path: Path) -> None:
    whole = worksheet(tmp_path, "whole", ["hidden-layer"], ["md"], "--augmented", n=4)
    parts = [worksheet(tmp_path, f"p{k}", ["hidden-layer"], ["md"], "--augmented", "--shard", f"{k}/2", n=4)
             for k in (1, 2)]  # fmt: skip
    result = merge(*parts, "--out", tmp_path / "merged")
    assert result.exit_code == 0, result.output
    assert folder_bytes(tmp_path / "merged") == folder_bytes(whole)
    plain = worksheet(tmp_path, "plain", ["hidden-layer"], ["md"], n=4)
    assert (plain / "sheets.md").read_bytes() != (whole / "sheets.md").read_bytes()  # [w | b]: it shows
