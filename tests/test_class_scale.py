"""A class at scale (issue 13, requirement 3): every page typeset once, the class PDF
assembled from the students' PDFs, the same bytes whatever --jobs, a progress callback, and
`--jobs`/`--shard` refused with a message when they make no sense. Speed is measured by
bench/classbuild.py, never here."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnhand.classroom.build import DRAWING, make_worksheets
from nnhand.classroom.parallel import TYPESETTING, resolve_jobs, usable_cores
from nnhand.classroom.shards import Shard, parse_shard
from nnhand.cli import app
from nnhand.errors import UsageError

pypdf = pytest.importorskip("pypdf")
typst = pytest.importorskip("typst")

runner = CliRunner()
SECRET = "a secret for the class-scale tests\n"
TEMPLATES = ["hidden-layer", "single-neuron"]


def roster(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "class.csv"
    path.write_text("id,name,email\n" + "".join(f"s{i:02d},Student {i},s{i}@example.org\n" for i in range(n)))
    return path


def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.key"
    path.write_text(SECRET)
    return path


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def build(tmp_path: Path, out: str, n: int = 4, **options: object) -> Path:
    target = tmp_path / out
    make_worksheets(TEMPLATES, target, roster=roster(tmp_path, n), assignment="hw", formats=["pdf"],
                    secret_file=secret(tmp_path), **options)  # type: ignore[arg-type]  # fmt: skip
    return target


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


# ----------------------------------------------------------------------------- typeset once


def test_each_page_is_typeset_once_and_the_class_pdf_is_the_students_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[bytes] = []
    real_compile = typst.compile

    def counting(source: bytes, *args: object, **kwargs: object) -> object:
        compiled.append(source)
        return real_compile(source, *args, **kwargs)

    monkeypatch.setattr(typst, "compile", counting)
    out = build(tmp_path, "o", n=4, jobs=2)
    # one typst run per student's sheet and per key, and no run for the class documents
    assert len(compiled) == 2 * 4
    assert len(set(compiled)) == len(compiled)
    students = [f"s{i:02d}" for i in range(4)]
    for kind, whole in (("sheet", "sheets.pdf"), ("key", "keys.pdf")):
        own = [page_texts((out / "students" / sid / f"{kind}.pdf").read_bytes()) for sid in students]
        assert page_texts((out / whole).read_bytes()) == [text for pages in own for text in pages]
    reader = pypdf.PdfReader(out / "sheets.pdf")
    assert reader.metadata is not None and reader.metadata.title == "hw: worksheets"
    assert "Student 3" in page_texts((out / "sheets.pdf").read_bytes())[-1]


def test_the_same_class_gives_the_same_bytes_whatever_the_jobs(tmp_path: Path) -> None:
    runs = {jobs: folder_bytes(build(tmp_path, f"j{jobs}", n=5, jobs=jobs)) for jobs in (1, 2, 3)}
    assert runs[1] == runs[2] == runs[3]
    again = folder_bytes(build(tmp_path, "again", n=5, jobs=2))
    assert again == runs[1]
    for name, content in runs[1].items():
        if name.endswith(".pdf"):  # nothing in a PDF that changes from run to run
            assert b"/CreationDate" not in content and b"/ModDate" not in content, name


def test_progress_is_reported_drawing_then_typesetting(tmp_path: Path) -> None:
    events: list[tuple[str, int, int]] = []
    build(tmp_path, "o", n=3, jobs=2, progress=lambda stage, done, total: events.append((stage, done, total)))
    stages = [stage for stage, _, _ in events]
    assert stages.index(TYPESETTING) > max(i for i, s in enumerate(stages) if s == DRAWING)
    for stage, total in ((DRAWING, 3 * len(TEMPLATES)), (TYPESETTING, 2 * 3)):
        mine = [(done, t) for s, done, t in events if s == stage]
        assert {t for _, t in mine} == {total}
        assert [done for done, _ in mine] == sorted(done for done, _ in mine)  # never goes back
        assert mine[0][0] == 0 and mine[-1][0] == total


def test_a_pipe_gets_no_progress_bar_and_a_terminal_gets_one(tmp_path: Path) -> None:
    args = ["worksheet", *TEMPLATES, "--roster", str(roster(tmp_path, 3)), "--assignment", "hw",
            "--secret-file", str(secret(tmp_path)), "--format", "pdf"]  # fmt: skip
    piped = runner.invoke(app, [*args, "--out", str(tmp_path / "piped")])
    assert piped.exit_code == 0, piped.output
    assert piped.stdout == ""
    assert piped.stderr.splitlines() == [piped.stderr.strip()] and piped.stderr.startswith("nnhand: 3 students")
    # On a terminal (a pseudo-terminal as stderr), rich draws the bar there.
    import pty

    controller, terminal = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "nnhand", *args, "--out", str(tmp_path / "tty")],
                            stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL, env=env)  # fmt: skip
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the other end closed: the process has finished writing
            break
        if not chunk:
            break
        shown += chunk
    stdout, _ = proc.communicate(timeout=120)
    os.close(controller)
    assert proc.returncode == 0, shown.decode(errors="replace")
    assert stdout == b""
    assert TYPESETTING.encode() in shown and b"nnhand: 3 students" in shown


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize("value", ["0", "-2"])
def test_jobs_below_one_are_refused(tmp_path: Path, value: str) -> None:
    result = runner.invoke(app, ["worksheet", "matmul", "--count", "2", "--out", str(tmp_path / "o"), "--jobs", value])
    assert result.exit_code == 2, result.output
    assert "--jobs" in result.stderr and "1 or more" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_jobs_default_to_the_usable_cores() -> None:
    assert resolve_jobs(None) == usable_cores() == len(os.sched_getaffinity(0))
    assert resolve_jobs(3) == 3
    with pytest.raises(UsageError):
        resolve_jobs(0)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("0/3", "0/3 is not a shard"), ("4/3", "4/3 is not a shard"), ("2", "not of the form K/N"),
     ("a/b", "not of the form K/N"), ("1/0", "1/0 is not a shard"), ("", "not of the form K/N")],
)  # fmt: skip
def test_bad_shards_are_refused(tmp_path: Path, value: str, fragment: str) -> None:
    result = runner.invoke(app, ["worksheet", "matmul", "--count", "4", "--assignment", "q", "--secret-file",
                                 str(secret(tmp_path)), "--out", str(tmp_path / "o"), "--shard", value])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--shard" in result.stderr and fragment in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [(["--assignment", "q"], "needs --secret-file"), (["--secret-file", "SECRET"], "needs --assignment")],
)
def test_a_shard_needs_a_secret_and_an_assignment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str], fragment: str
) -> None:
    monkeypatch.delenv("NNHAND_SECRET", raising=False)
    extra = [str(secret(tmp_path)) if e == "SECRET" else e for e in extra]
    result = runner.invoke(app, ["worksheet", "matmul", "--count", "4", *extra, "--out", str(tmp_path / "o"),
                                 "--shard", "1/2"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("total", [0, 1, 2, 7, 10, 31])
@pytest.mark.parametrize("count", [1, 2, 3, 4, 8])
def test_shards_are_numpys_array_split_contiguous_blocks(total: int, count: int) -> None:
    items = [f"s{i}" for i in range(total)]
    blocks = [Shard(k, count).slice(items) for k in range(1, count + 1)]
    reference = [list(block) for block in np.array_split(np.array(items, dtype=object), count)]
    assert blocks == reference
    assert [s for block in blocks for s in block] == items
    assert max(map(len, blocks)) - min(map(len, blocks)) <= 1
    assert parse_shard(f" {count}/{count} ") == Shard(count, count)


def test_the_class_folder_digest_is_stable(tmp_path: Path) -> None:
    """Two runs of the CLI (fresh processes) give the same folder: nothing depends on the
    clock, the thread schedule or the process."""
    digests = []
    for name in ("a", "b"):
        args = [sys.executable, "-m", "nnhand", "worksheet", "hidden-layer", "--roster", str(roster(tmp_path, 3)),
                "--assignment", "hw", "--secret-file", str(secret(tmp_path)), "--format", "pdf", "--format", "html",
                "--out", str(tmp_path / name), "--jobs", "1" if name == "a" else "2"]  # fmt: skip
        subprocess.run(args, check=True, capture_output=True, timeout=300)
        digest = hashlib.sha256()
        for rel, content in folder_bytes(tmp_path / name).items():
            digest.update(rel.encode() + b"\0" + content)
        digests.append(digest.hexdigest())
    assert digests[0] == digests[1]
