"""A class of 300 as PDF: `worksheet` against typst alone, measured side by side in one run.

    python bench/classbuild.py              # 300 students x 3 exercises (a few minutes on 2 cores)
    python bench/classbuild.py --quick      # 40 students
    python bench/classbuild.py --students 100 --rounds 2

The target (issue 13, requirement 3): `worksheet` of a 300-student class x 3 exercises
(transformer, backprop, hidden-layer, seeded from a secret) as PDF takes at most 1.3 x the
time typst alone needs to compile the same pages once, on one core, and scales with cores.

Rows, each a fresh process, taken in turns round after round (A B C A B C ...):
- typst alone, 1 core: the very typst sources worksheet compiles (every student's sheet and
  key), made before the clock starts, then compiled once each, serially, in-process;
- worksheet --jobs 1, 1 core: the whole command (start-up, drawing the variants, markup,
  typesetting, assembling sheets.pdf/keys.pdf, answer files, manifest, writing the folder);
- worksheet --jobs 2, 2 cores: the same, on every core.
"1 core" is enforced: the process is pinned to one CPU (sched_setaffinity) before it starts.
Times are medians of wall time; CPU time and peak memory come from the process's rusage.
The two worksheet folders are compared byte for byte. Exits 0 whenever it could measure:
a MISS is a finding to report, not a failed build.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATES = ("transformer", "backprop", "hidden-layer")
TARGET = 1.3
SECRET = "the benchmark's secret"

# Compiles, in a fresh process, exactly the per-student typst sources worksheet would: the
# sources are made first (not timed), then each is compiled once, serially.
TYPST_ALONE = """
import sys, time
from pathlib import Path
from nnhand.classroom.build import build_assignment, student_pages
from nnhand.classroom.roster import read_roster
from nnhand.output.printing import compile_pdf, typst_source
roster, assignment = Path(sys.argv[1]), sys.argv[2]
students = read_roster(roster)
batch = build_assignment(list({templates!r}), students, assignment, Path(sys.argv[3]).read_bytes().strip())
sources = []
for sid, (sheets, keys) in student_pages(batch).items():
    sources.append(typst_source(sheets, f"{{assignment}}: {{sid}}"))
    sources.append(typst_source(keys, f"{{assignment}}: {{sid}} (key)"))
start = time.perf_counter()
for source in sources:
    compile_pdf(source)
print(f"COMPILED={{len(sources)}} SECONDS={{time.perf_counter() - start}}")
"""


@dataclass
class Row:
    name: str
    cores: int
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def run_pinned(command: list[str], cores: int, cwd: Path) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds and peak RSS (MB) of `command` on `cores` CPUs, and its stdout."""
    allowed = sorted(os.sched_getaffinity(0))[:cores]

    def pin() -> None:
        os.sched_setaffinity(0, allowed)

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, preexec_fn=pin)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own CPU time and peak memory
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(command)}\n{err.read().decode()[-2000:]}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode()


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="40 students")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of all rows, taken in turns")
    args = parser.parse_args()
    students = 40 if args.quick else args.students
    usable = len(os.sched_getaffinity(0))
    if usable < 2:
        print("note: one usable core: the --jobs 2 row runs on one core too")
    work = Path(tempfile.mkdtemp(prefix="nnhand-classbuild-"))
    try:
        roster = work / "class.csv"
        roster.write_text(
            "id,name,email\n" + "".join(f"s{i:04d},Student {i},s{i}@example.org\n" for i in range(students)),
            encoding="utf-8",
        )
        secret = work / "secret.key"
        secret.write_text(SECRET + "\n", encoding="utf-8")
        nnhand = [sys.executable, "-m", "nnhand", "worksheet", *TEMPLATES, "--roster", str(roster),
                  "--assignment", "bench", "--secret-file", str(secret), "--format", "pdf"]  # fmt: skip
        alone = Row("typst alone (same sources, once each)", 1)
        jobs1 = Row("worksheet --jobs 1", 1)
        jobs2 = Row("worksheet --jobs 2", min(2, usable))
        digests: dict[str, str] = {}
        script = TYPST_ALONE.format(templates=TEMPLATES)
        for round_number in range(args.rounds):
            _, cpu, peak, out = run_pinned([sys.executable, "-c", script, str(roster), "bench", str(secret)], 1, work)
            fields = dict(item.split("=") for item in out.split())
            alone.seconds.append(float(fields["SECONDS"]))  # the compilations only, not start-up
            alone.cpu.append(cpu)
            alone.note = f"{fields['COMPILED']} typst compilations"
            for row, jobs in ((jobs1, 1), (jobs2, 2)):
                target = work / f"out-{jobs}"
                shutil.rmtree(target, ignore_errors=True)
                wall, cpu, peak, _ = run_pinned([*nnhand, "--jobs", str(jobs), "--out", str(target)], row.cores, work)
                row.seconds.append(wall)
                row.cpu.append(cpu)
                row.peak_mb = max(row.peak_mb, peak)
                digests[row.name] = folder_digest(target)
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
        pages = _pages(work / "out-1" / "sheets.pdf") + _pages(work / "out-1" / "keys.pdf")
        same = len(set(digests.values())) == 1
        print(f"\nworksheet {' '.join(TEMPLATES)}: {students} students x {len(TEMPLATES)} exercises as PDF")
        print(f"({pages} pages in sheets.pdf + keys.pdf; median of {args.rounds} round(s); {usable} usable cores)\n")
        print(f"{'':42} {'cores':>5} {'wall s':>8} {'cpu s':>8} {'ratio':>7}  note")
        for row in (alone, jobs1, jobs2):
            ratio = row.median / alone.median
            print(f"{row.name:42} {row.cores:>5} {row.median:>8.1f} {statistics.median(row.cpu):>8.1f} "
                  f"{ratio:>7.2f}  {row.note or f'peak RSS {row.peak_mb:.0f} MB'}")  # fmt: skip
        ratio1 = jobs1.median / alone.median
        verdict = "ok" if ratio1 <= TARGET else "MISS"
        print(f"\nworksheet --jobs 1 / typst alone, one core: {ratio1:.2f} (target <= {TARGET}): {verdict}")
        print(f"speed-up of --jobs 2 over --jobs 1: {jobs1.median / jobs2.median:.2f} x")
        print(f"--jobs 1 and --jobs 2 folders byte-identical: {'yes' if same else 'NO'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pages(pdf: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(pdf).pages)


if __name__ == "__main__":
    main()
