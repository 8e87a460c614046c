"""Throughput of a whole class: a 200-student worksheet and grading 1,000 answer files.

    python bench/throughput.py            # 200 students x 3 exercises; 1,000 answer files
    python bench/throughput.py --quick    # 50 students; 250 files

Prints time per item, and the ratio of `grade`'s time to the time it takes merely to read
and parse the same files with `yaml.safe_load` (target <= 2). A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from nnhand.classroom.build import Assignment, build_assignment, manifest_data, worksheet_files
from nnhand.classroom.gradebook import GradeBook, grade_folder, gradebook_csv
from nnhand.classroom.manifest import read_manifest
from nnhand.classroom.roster import numbered_students
from nnhand.core.keys import key_data
from nnhand.grading.answers import answer_file_text

TEMPLATES = ["transformer", "backprop", "hidden-layer"]
SECRET = b"benchmark secret"


def make_worksheet(students: int, render: str | None) -> tuple[float, Assignment, dict[str, str | bytes]]:
    start = time.perf_counter()
    batch = build_assignment(TEMPLATES, numbered_students(students), "bench", SECRET)
    files: dict[str, str | bytes]
    if render:
        files = worksheet_files(batch, [render])
    else:
        files = {"manifest.json": json.dumps(manifest_data(batch))}
    return time.perf_counter() - start, batch, files


def write_submissions(batch: Assignment, folder: Path, count: int) -> list[Path]:
    """`count` answer files: a mix of right, partly wrong and blank answers."""
    rng = random.Random(0)
    paths = []
    students = batch.students
    for n in range(count):
        student = students[n % len(students)]
        exercise = batch.exercises[student.id][(n // len(students)) % len(TEMPLATES)]
        data = yaml.safe_load(answer_file_text(exercise.sheet, student=student.id))
        key = key_data(exercise.sheet.problem)["answers"]
        for name in data["answers"]:
            roll = rng.random()
            if roll < 0.6:
                data["answers"][name] = key[name]
            elif roll < 0.9:
                data["answers"][name] = json.loads(json.dumps(key[name]).replace("1", "2"))
        path = folder / f"{student.id}-{exercise.template.id}-{n}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        paths.append(path)
    return paths


def parse_only(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        yaml.safe_load(path.read_text(encoding="utf-8"))
    return time.perf_counter() - start


def grade_all(manifest: Path, folder: Path) -> tuple[float, GradeBook]:
    start = time.perf_counter()
    book = grade_folder(read_manifest(manifest), folder)
    gradebook_csv(book)
    return time.perf_counter() - start, book


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the sizes")
    parser.add_argument("--render", choices=["html", "md", "pdf"], help="also render the worksheet files")
    args = parser.parse_args()
    students, files = (50, 250) if args.quick else (200, 1000)
    print(f"nnhand throughput (python {platform.python_version()}, {os.cpu_count()} cores)")

    seconds, batch, outputs = make_worksheet(students, args.render)
    items = students * len(TEMPLATES)
    print(f"worksheet: {students} students x {len(TEMPLATES)} exercises with keys"
          f"{' and ' + args.render + ' files' if args.render else ''}: {seconds:.2f} s, "
          f"{1000 * seconds / items:.2f} ms per exercise")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        manifest = root / "manifest.json"
        manifest.write_text(str(outputs["manifest.json"]))
        folder = root / "submissions"
        folder.mkdir()
        paths = write_submissions(batch, folder, files)
        parse_times, grade_times = [], []
        for _ in range(3):  # alternate, so that both see the same machine
            parse_times.append(parse_only(paths))
            seconds, book = grade_all(manifest, folder)
            grade_times.append(seconds)
        graded = sum(1 for s in book.submissions if s.report is not None)
        parse_s, grade_s = statistics.median(parse_times), statistics.median(grade_times)
        print(
            f"grading: {graded}/{len(paths)} files graded in {grade_s:.2f} s, "
            f"{1000 * grade_s / len(paths):.2f} ms per file"
        )
        print(f"yaml.safe_load of the same files: {parse_s:.2f} s, {1000 * parse_s / len(paths):.2f} ms per file")
        ratio = grade_s / parse_s
        print(f"ratio grade / parse: {ratio:.2f} (target <= 2): {'PASS' if ratio <= 2 else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
