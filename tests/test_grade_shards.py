"""`grade --shard K/N` and merging shard grade books (issue 13, requirement 4): the merged
grade book is byte for byte what one unsharded run writes (CSV, JSON, JUnit, statistics),
each file's flags land in the shard of the student whose folder it was handed in, and a
merge refuses books that do not make one class."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnhand.classroom.gradebook import merge_grade_books
from nnhand.cli import app
from nnhand.errors import NnhandError
from tests.test_trust_classroom import answer_file, make_class, put

runner = CliRunner()
IDS = [f"s{i:02d}" for i in range(1, 8)]  # seven students: 2 and 3 shards are uneven
OUTPUTS = ("csv", "json", "junit")


def build(tmp_path: Path) -> tuple[Path, Path]:
    manifest, batch = make_class(tmp_path, IDS)
    subs = tmp_path / "subs"
    for k, sid in enumerate(IDS):
        for tid in ("hidden-layer", "single-neuron"):
            if (k, tid) != (6, "single-neuron"):  # s07 misses one
                put(subs / sid / f"{tid}.yaml", answer_file(batch, sid, tid, wrong=k % 3))
    put(subs / "s02" / "again.yaml", answer_file(batch, "s02", "hidden-layer", wrong=2))  # duplicate
    put(subs / "s05" / "x.yaml", answer_file(batch, "s01", "single-neuron"))  # s01's file in s05's folder
    tampered = answer_file(batch, "s04", "hidden-layer")
    tampered["givens"]["x"][0] += 1
    put(subs / "s04" / "hidden-layer.yaml", tampered)
    put(subs / "s06" / "single-neuron.yaml", "variant: [unclosed\n")  # not graded
    put(subs / "stray.yaml", answer_file(batch, "s03", "hidden-layer"))  # placed on no one
    return manifest, subs


def grade(manifest: Path, subs: Path, *extra: str) -> object:
    return runner.invoke(app, ["grade", str(manifest), str(subs), *extra])


def outputs(folder: Path) -> dict[str, Path | None]:
    return {"csv": folder / "g.csv", "json": folder / "g.json", "junit": folder / "g.xml", "report": folder / "r"}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("shards")
    manifest, subs = build(tmp)
    whole = tmp / "whole"
    whole.mkdir()
    o = outputs(whole)
    result = runner.invoke(app, ["grade", str(manifest), str(subs), "--csv", str(o["csv"]), "--json",
                                 str(o["json"]), "--junit", str(o["junit"]), "--report", str(o["report"])])  # fmt: skip
    assert result.exit_code == 1, result.stdout + result.stderr
    return tmp, manifest, subs


def shard_books(tmp: Path, manifest: Path, subs: Path, n: int) -> list[Path]:
    paths = []
    for k in range(1, n + 1):
        path = tmp / f"book-{k}-of-{n}.json"
        result = runner.invoke(app, ["grade", str(manifest), str(subs), "--shard", f"{k}/{n}", "--json", str(path)])
        assert result.exit_code in (0, 1), result.stdout + result.stderr
        paths.append(path)
    return paths


@pytest.mark.parametrize("n", [2, 3])
def test_merged_shards_are_byte_identical_to_one_run(graded_class: tuple[Path, Path, Path], n: int) -> None:
    tmp, manifest, subs = graded_class
    books = shard_books(tmp, manifest, subs, n)
    merged = tmp / f"merged-{n}"
    merged.mkdir()
    book = merge_grade_books(list(reversed(books)), outputs(merged))  # in any order
    assert len(book.submissions) == json.loads((tmp / "whole" / "g.json").read_text())["files"]
    for name in ("g.csv", "g.json", "g.xml", "r/statistics.json", "r/histogram.svg", "r/report.md"):
        assert (merged / name).read_bytes() == (tmp / "whole" / name).read_bytes(), name


def test_each_file_and_its_flags_land_in_its_students_shard(graded_class: tuple[Path, Path, Path]) -> None:
    tmp, manifest, subs = graded_class
    books = [json.loads(p.read_text()) for p in shard_books(tmp, manifest, subs, 3)]
    assert [[s["id"] for s in b["students"]] for b in books] == [IDS[0:3], IDS[3:5], IDS[5:7]]
    assert [b["shard"] for b in books] == [{"index": k, "count": 3} for k in (1, 2, 3)]
    for b in books:
        ids = {s["id"] for s in b["students"]}
        assert all(s["student"] in ids for s in b["submissions"] if s["student"] is not None)
    # s05 (shard 2) holds s01's file: the identity flag is shard 2's, not s01's shard 1
    assert [f["student"] for f in books[1]["flags"]["identity"]] == ["s05"]
    assert books[0]["flags"]["identity"] == [] and books[2]["flags"]["identity"] == []
    assert [f["student"] for f in books[1]["flags"]["tampered"]] == ["s04", "s05"]
    assert {f["student"] for f in books[0]["flags"]["duplicate"]} == {"s02"}
    # the stray file is reported once, by shard 1
    assert [len(b["flags"]["unmatched"]) for b in books] == [1, 0, 0]
    assert [f["student"] for f in books[2]["flags"]["missing"]] == ["s07"]


def test_a_merge_refuses_books_that_do_not_make_one_class(graded_class: tuple[Path, Path, Path]) -> None:
    tmp, manifest, subs = graded_class
    one, two, three = shard_books(tmp, manifest, subs, 3)
    halves = shard_books(tmp, manifest, subs, 2)
    out = tmp / "refused"
    with pytest.raises(NnhandError, match="shard 2/3 is missing"):
        merge_grade_books([one, three], {"csv": out / "g.csv"})
    with pytest.raises(NnhandError, match="shard 1/3 is given twice"):
        merge_grade_books([one, one, two, three], {"csv": out / "g.csv"})
    with pytest.raises(NnhandError, match="shards of different splits"):
        merge_grade_books([one, two, halves[1]], {"csv": out / "g.csv"})
    other_tmp = tmp / "other"
    other_tmp.mkdir()
    other_manifest, _ = make_class(other_tmp, IDS[:3])
    foreign = other_tmp / "book.json"
    grade(other_manifest, subs, "--shard", "2/3", "--json", str(foreign))
    with pytest.raises(NnhandError, match="different manifests"):
        merge_grade_books([one, foreign, three], {"csv": out / "g.csv"})
    not_a_book = tmp / "not-a-book.json"
    not_a_book.write_text('{"schema": "nnhand-manifest"}')
    with pytest.raises(NnhandError, match="is not an nnhand grade book"):
        merge_grade_books([not_a_book], {"csv": out / "g.csv"})
    with pytest.raises(NnhandError, match="not the manifest the grade books were graded against"):
        merge_grade_books([one, two, three], {"csv": out / "g.csv"}, manifest=other_manifest)
    assert not out.exists()  # nothing half-written


@pytest.mark.parametrize("text", ["4/3", "0/2", "1-2", "a/b"])
def test_a_bad_shard_is_a_usage_error(graded_class: tuple[Path, Path, Path], text: str) -> None:
    _, manifest, subs = graded_class
    result = runner.invoke(app, ["grade", str(manifest), str(subs), "--shard", text])
    assert result.exit_code == 2 and "--shard" in result.stderr and "Traceback" not in result.stderr
