"""The picture of the class `grade` gives (issue 13, requirement 5) and the grade book's
course-tool conventions (requirement 6): statistics checked against a naive computation
from the grade book's own rows and the per-cell verdicts, the SVG parsed as XML, the JSON
validated against its JSON Schema, the CSV as Excel and LMS imports read it."""

from __future__ import annotations

import copy
import csv
import io
import json
import statistics
import xml.etree.ElementTree as ET
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
from typer.testing import CliRunner

from nnhand.classroom.build import Assignment, build_assignment, manifest_data
from nnhand.classroom.gradebook import GradeBook, grade_folder, gradebook_csv, summary_text
from nnhand.classroom.manifest import read_manifest
from nnhand.classroom.plot import histogram_svg
from nnhand.classroom.roster import Student
from nnhand.classroom.statistics import Distribution, class_statistics, quantile, slip_kind, statistics_data
from nnhand.cli import app
from tests.test_trust_classroom import SECRET, answer_file, put

runner = CliRunner()
SCHEMAS = Path(__file__).resolve().parent.parent / "nnhand" / "schemas"
TEMPLATES = ["hidden-layer", "single-neuron"]
IDS = ["ann", "bob", "cy", "dee", "eve", "fay", "gus", "zoe"]


def validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator for one of nnhand's schema files, with the others resolvable by name."""
    resources = []
    for path in SCHEMAS.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        resources.append((path.name, referencing.Resource.from_contents(schema)))
        resources.append((schema["$id"], referencing.Resource.from_contents(schema)))
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry, format_checker=jsonschema.FormatChecker())


def negate_step(data: dict[str, Any], step: str) -> None:
    value = data["answers"][step]
    data["answers"][step] = [[-v for v in row] for row in value] if isinstance(value[0], list) else [-v for v in value]


def make_class(tmp_path: Path, assignment: str = "hw") -> tuple[Path, Assignment, Path]:
    """Eight students with planted work: right, wrong cells, a whole step's signs flipped
    (a slip the grader names), a step left blank, a tampered file, an unreadable one, nothing."""
    students = [Student(sid, "Zoë Ñandú" if sid == "zoe" else f"Name of {sid}", f"{sid}@example.edu") for sid in IDS]
    batch = build_assignment(TEMPLATES, students, assignment, SECRET)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(manifest_data(batch)))
    subs = tmp_path / "subs"
    for sid in ("ann", "zoe"):
        for tid in TEMPLATES:
            put(subs / sid / f"{tid}.yaml", answer_file(batch, sid, tid))
    put(subs / "bob" / "hidden-layer.yaml", answer_file(batch, "bob", "hidden-layer", wrong=2))
    put(subs / "bob" / "single-neuron.yaml", answer_file(batch, "bob", "single-neuron", wrong=1))
    flipped = answer_file(batch, "cy", "hidden-layer")
    negate_step(flipped, "y")
    put(subs / "cy" / "hidden-layer.yaml", flipped)
    blank = answer_file(batch, "dee", "hidden-layer")
    blank["answers"]["y"] = None
    put(subs / "dee" / "hidden-layer.yaml", blank)
    put(subs / "dee" / "single-neuron.yaml", answer_file(batch, "dee", "single-neuron", wrong=2))
    tampered = answer_file(batch, "eve", "hidden-layer")
    tampered["givens"]["x"][0] += 1
    put(subs / "eve" / "hidden-layer.yaml", tampered)
    put(subs / "fay" / "single-neuron.yaml", "variant: [unclosed\n")
    put(subs / "fay" / "hidden-layer.yaml", answer_file(batch, "fay", "hidden-layer", wrong=5))
    return manifest, batch, subs  # gus hands in nothing


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[GradeBook, Path]:
    tmp = tmp_path_factory.mktemp("stats")
    manifest, _, subs = make_class(tmp)
    return grade_folder(read_manifest(manifest), subs), tmp


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


# ----------------------------------------------------------------------------- the numbers


def test_quantiles_are_type_7_as_documented() -> None:
    # Hand-sorted: 1 2 3 4; type 7 puts Q1 at position 0.25*(n-1) = 0.75, between 1 and 2.
    d = Distribution.of([4.0, 1.0, 3.0, 2.0])
    assert (d.q1, d.median, d.q3) == (1.75, 2.5, 3.25)
    assert (d.minimum, d.maximum, d.mean) == (1, 4, 2.5)
    assert d.stdev == pytest.approx(statistics.pstdev([1, 2, 3, 4]), abs=1e-6)
    one = Distribution.of([7.0])
    assert (one.q1, one.median, one.q3, one.stdev) == (7, 7, 7, 0)
    assert Distribution.of([]).to_data() == {k: (0 if k == "count" else None) for k in Distribution.of([]).to_data()}
    values = [3.0, 9.0, 1.0, 12.0, 5.0, 5.0, 0.0]
    assert [quantile(sorted(values), p) for p in (0.25, 0.5, 0.75)] == pytest.approx(
        statistics.quantiles(values, n=4, method="inclusive")
    )


def test_class_totals_match_a_naive_computation_from_the_csv_rows(graded: tuple[GradeBook, Path]) -> None:
    book, _ = graded
    stats = class_statistics(book)
    _, _, *rows = csv_rows(gradebook_csv(book))
    header = csv_rows(gradebook_csv(book))[0]
    total_col, max_col = header.index("total"), header.index("max")
    totals = [float(r[total_col]) for r in rows]
    percents = [100 * float(r[total_col]) / float(r[max_col]) for r in rows]
    assert stats.students == len(IDS) == len(totals)
    for d, values in ((stats.totals, totals), (stats.percents, percents)):
        q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
        assert d.count == len(values)
        assert d.mean == pytest.approx(statistics.mean(values), abs=1e-6)
        assert d.median == pytest.approx(statistics.median(values), abs=1e-6) == pytest.approx(median, abs=1e-6)
        assert (d.q1, d.q3) == (pytest.approx(q1, abs=1e-6), pytest.approx(q3, abs=1e-6))
        assert (d.minimum, d.maximum) == (min(values), max(values))
        assert d.stdev == pytest.approx(statistics.pstdev(values), abs=1e-6)
    assert len(set(totals)) >= 5  # the planted work spreads the class out: the checks above mean something
    for e in stats.exercises:
        column = [float(r[header.index(e.template)]) for r in rows]
        assert e.scores.mean == pytest.approx(statistics.mean(column), abs=1e-6)
        assert e.scores.median == pytest.approx(statistics.median(column), abs=1e-6)
        assert e.full_marks == sum(v == e.points_possible for v in column)
    assert stats.nothing_handed_in == 1  # gus
    bins = Counter(min(int(Fraction(r[total_col]) * 10 / Fraction(r[max_col])), 9) for r in rows)
    assert [b.count for b in stats.histogram] == [bins[k] for k in range(10)]
    assert [(b.low, b.high) for b in stats.histogram] == [(10 * k, 10 * k + 10) for k in range(10)]


def test_per_step_counts_match_the_per_cell_verdicts(graded: tuple[GradeBook, Path]) -> None:
    book, _ = graded
    stats = class_statistics(book)
    for e in stats.exercises:
        counted = [s.report for sid in IDS if (s := book.cell(sid, e.template)) is not None and s.report is not None]
        assert e.graded == len(counted)
        for step in e.steps:
            results = [r for report in counted for r in report.steps if r.name == step.name]
            verdicts = Counter(c.status for r in results for c in r.cells)
            assert step.submissions == len(results)
            assert step.cells == {k: verdicts.get(k, 0) for k in ("right", "ecf", "wrong", "missing", "unreadable")}
            assert step.all_right == sum(all(c.status in ("right", "ecf") for c in r.cells) for r in results)
            assert step.first_wrong == sum(report.root_cause == step.name for report in counted)
            naive = Counter(kind for r in results for kind in {slip_kind(m, r.name) for m in r.diagnosis})
            assert {(x.slip, x.students) for x in step.slips} == set(naive.items())
    # and what was planted in hidden-layer: ann, zoe, bob, cy, dee and fay graded; cy flipped
    # the signs of y (a slip the grader names), dee left y blank; eve's file altered; gus nothing
    hl = next(e for e in stats.exercises if e.template == "hidden-layer")
    y = next(s for s in hl.steps if s.name == "y")
    n_y = sum(map(sum, book.manifest.masks("cy", "hidden-layer")["y"]))
    assert hl.graded == 6 and hl.missing == 1 and hl.not_counted == 1  # gus missing, eve tampered
    assert y.cells["missing"] == n_y  # dee's blank step
    cy_y = next(r for r in book.cell("cy", "hidden-layer").report.steps if r.name == "y")  # type: ignore[union-attr]
    assert cy_y.diagnosis and all(c.status == "wrong" for c in cy_y.cells)
    assert any(x.slip == cy_y.diagnosis[0] and x.students >= 1 for x in y.slips)
    most = stats.most_missed_step()
    assert most is not None and most[1].missed == max(s.missed for e in stats.exercises for s in e.steps)


def test_slip_kinds_drop_the_cell_and_the_terms() -> None:
    assert slip_kind("y[2]: one term is missing from the sum: (3)(−2).", "y") == "one term is missing from the sum"
    assert slip_kind("H[1,3]: the sign is flipped.", "H") == "the sign is flipped"
    assert slip_kind("You forgot to add the bias b1.", "z") == "You forgot to add the bias b1."
    assert slip_kind("Sign error: flip the signs.", "S") == "Sign error: flip the signs."


# ----------------------------------------------------------------------------- the pictures


def test_svg_histogram_parses_with_one_bar_per_bin_in_proportion(tmp_path: Path) -> None:
    manifest, _, subs = make_class(tmp_path, assignment='hw <3 & "co"')
    book = grade_folder(read_manifest(manifest), subs)
    stats = book.statistics()
    svg = histogram_svg(stats)
    root = ET.fromstring(svg.split("\n", 1)[1])
    ns = {"s": "http://www.w3.org/2000/svg"}
    bars = root.findall(".//s:rect[@class='bar']", ns)
    assert len(bars) == len(stats.histogram) == 10
    counts = [int(b.get("data-count", "-1")) for b in bars]
    assert counts == [b.count for b in stats.histogram]
    heights = [float(b.get("height", "nan")) for b in bars]
    tallest = max(heights)
    for count, height in zip(counts, heights):
        assert height == pytest.approx(tallest * count / max(counts), abs=0.01)
    bottoms = {round(float(b.get("y", "0")) + float(b.get("height", "0")), 2) for b in bars}
    assert len(bottoms) == 1  # every bar stands on the axis
    title = root.find("s:title", ns)
    assert title is not None and title.text is not None and 'hw <3 & "co"' in title.text
    assert histogram_svg(stats) == svg  # deterministic


def test_terminal_bar_chart_and_its_ascii_fallback(graded: tuple[GradeBook, Path]) -> None:
    book, _ = graded
    text = summary_text(book)
    assert "Class statistics: 8 students" in text and "median" in text and "quartiles" in text
    chart = [line for line in text.splitlines() if "%" in line and ("│" in line or "|" in line)]
    assert len(chart) == 10 and any("█" in line for line in chart)
    for line, b in zip(chart, book.statistics().histogram):
        assert line.rstrip().endswith(f" {b.count}")
    plain = summary_text(book, unicode=False)
    plain_chart = [line for line in plain.splitlines() if "%" in line and " |" in line]
    assert len(plain_chart) == 10 and any("#" in line for line in plain_chart)
    assert all(line.isascii() for line in plain_chart)
    bars = [line.split("|", 1)[1].rsplit(" ", 1)[0].count("#") for line in plain_chart]
    counts = [b.count for b in book.statistics().histogram]
    assert bars.index(max(bars)) == counts.index(max(counts))


# ----------------------------------------------------------------------------- the JSON


def test_grade_format_json_and_the_report_folder_validate_against_the_schemas(tmp_path: Path) -> None:
    manifest, _, subs = make_class(tmp_path)
    report = tmp_path / "report"
    result = runner.invoke(app, ["grade", str(manifest), str(subs), "--format", "json", "--report", str(report)])
    assert result.exit_code == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "nnhand-grades" and data["schema_version"] == 1
    errors = sorted(validator("grades.schema.json").iter_errors(data), key=str)
    assert not errors, errors[0]
    assert isinstance(data["statistics"]["totals"]["mean"], float)  # numbers as numbers
    assert isinstance(data["students"][0]["total"], (int, float))
    assert sorted(p.name for p in report.iterdir()) == ["histogram.svg", "report.md", "statistics.json"]
    stats = json.loads((report / "statistics.json").read_text())
    errors = sorted(validator("statistics.schema.json").iter_errors(stats), key=str)
    assert not errors, errors[0]
    assert stats == data["statistics"]  # one model, two renderings
    md = (report / "report.md").read_text()
    assert "![Histogram of the totals](histogram.svg)" in md and "| y |" in md
    # the schema is not a formality: it rejects what nnhand must never write
    broken = copy.deepcopy(data)
    broken["statistics"]["totals"]["mean"] = "5.5"
    assert list(validator("grades.schema.json").iter_errors(broken))
    del broken["submissions"]
    assert list(validator("grades.schema.json").iter_errors(broken))


def test_the_grade_book_json_names_every_student_with_email(graded: tuple[GradeBook, Path]) -> None:
    book, _ = graded
    from nnhand.classroom.gradebook import grades_data

    data = grades_data(book)
    assert [s["id"] for s in data["students"]] == IDS
    assert data["students"][IDS.index("zoe")]["email"] == "zoe@example.edu"
    assert data["statistics"] == statistics_data(book.statistics())


# ----------------------------------------------------------------------------- the CSV


def test_csv_has_a_bom_the_roster_columns_and_a_labelled_points_row(tmp_path: Path) -> None:
    manifest, _, subs = make_class(tmp_path)
    out = tmp_path / "grades.csv"
    result = runner.invoke(app, ["grade", str(manifest), str(subs), "--csv", str(out)])
    assert result.exit_code == 1, result.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, possible, *students = rows
    assert header[:3] == ["student_id", "name", "email"]
    assert header[3:5] == TEMPLATES and header[5:] == ["total", "max", "percent", "flags"]
    assert possible[:3] == ["", "Points Possible", ""]  # Canvas's label, where Canvas puts it
    book = grade_folder(read_manifest(manifest), subs)
    points = [book.points_possible(t) for t in TEMPLATES]
    assert [float(v) for v in possible[3:6]] == [*points, sum(points)]
    by_id = {r[0]: r for r in students}
    assert list(by_id) == IDS
    assert by_id["zoe"][1] == "Zoë Ñandú" and by_id["zoe"][2] == "zoe@example.edu"
    assert all(by_id[sid][2] == f"{sid}@example.edu" for sid in IDS)
    assert "missing" in by_id["gus"][-1]


def test_missing_work_is_a_list_one_student_a_line(graded: tuple[GradeBook, Path]) -> None:
    book, _ = graded
    lines = summary_text(book).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("MISSING:"))
    assert lines[start : start + 4] == [
        "MISSING: 4 of 16 submissions, from 3 students:",
        "  cy   single-neuron",
        "  eve  single-neuron",
        "  gus  everything",
    ]
