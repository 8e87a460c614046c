"""Typesetting a class on every core, each page once.

Every student's worksheet and answer key is compiled by typst exactly once; the class
documents (sheets.pdf, keys.pdf) are assembled from those PDFs by a PDF library, nothing
typeset again. typst lets go of the GIL while it compiles (a thread running typst leaves the
interpreter free), so a pool of threads keeps every core busy without the start-up, pickling
and fork-safety costs of processes (a process pool forked after typst has run can hang). The
documents come back in the order they were given, whatever the number of jobs, so the bytes
written never depend on it.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from nnhand.errors import UsageError

TYPESETTING = "typesetting PDF"  # the progress phase of the typst compilations

# Print formats typeset per student and assembled into the class document, rather than
# rendered again as a whole: what makes a page cost, typesetting, is done once.
ASSEMBLED_FORMATS = ("pdf",)
IN_FLIGHT_PER_JOB = 2  # documents queued per thread: enough to keep it busy, few enough to hold little


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_jobs(jobs: int | None) -> int:
    """`--jobs`: None means every usable core; fewer than one is refused."""
    if jobs is None:
        return usable_cores()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(
            f"{jobs} is not a number of parallel jobs",
            where="--jobs",
            fix=f"Give 1 or more (this machine has {usable_cores()} usable cores, the default)",
        )
    return jobs


def _typesetter(fmt: str) -> Callable[[Sequence[Any], str], bytes]:
    if fmt != "pdf":
        raise ValueError(f"{fmt} is not assembled from per-student documents")
    from nnhand.output.printing import compile_pdf, typst_source

    def typeset(pages: Sequence[Any], title: str) -> bytes:
        return compile_pdf(typst_source(pages, title))

    return typeset


def typeset_in_order(
    fmt: str,
    documents: Sequence[tuple[Sequence[Any], str]],
    jobs: int,
    progress: Callable[[str, int, int], None] | None = None,
) -> Iterator[bytes]:
    """Each (pages, title) typeset once, `jobs` at a time, yielded in the given order.

    Only `IN_FLIGHT_PER_JOB * jobs` documents are queued or waiting at a time: the markup of
    the class is never all in memory at once. With one job everything runs in the calling
    thread."""
    typeset = _typesetter(fmt)
    total = len(documents)

    def report(done: int) -> None:
        if progress is not None:
            progress(TYPESETTING, done, total)

    report(0)
    if jobs == 1:
        for done, (pages, title) in enumerate(documents, 1):
            document = typeset(pages, title)
            report(done)
            yield document
        return
    pending: deque[Future[bytes]] = deque()
    done = 0
    with ThreadPoolExecutor(jobs, thread_name_prefix="nnhand-typst") as pool:
        try:
            for pages, title in documents:
                pending.append(pool.submit(typeset, pages, title))
                while len(pending) >= IN_FLIGHT_PER_JOB * jobs or (pending and pending[0].done()):
                    document = pending.popleft().result()
                    done += 1
                    report(done)
                    yield document
            while pending:
                document = pending.popleft().result()
                done += 1
                report(done)
                yield document
        finally:  # an error or Ctrl-C: drop what has not started, rather than finish the class
            for future in pending:
                future.cancel()


def assembler(fmt: str, title: str) -> Any:
    """The class document, to which the students' documents are added in roster order
    (`.add(document)`, then `.finish()` gives its bytes)."""
    if fmt != "pdf":
        raise ValueError(f"{fmt} is not assembled from per-student documents")
    from nnhand.output.printing import PdfBook

    return PdfBook(title)
