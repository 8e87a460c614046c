"""`export`: a pool of sealed variants for a learning-management system (Moodle, GIFT, QTI).

The pool is built by output/lms.build_pool (seeds from --seed, else from the secret over the
pool's name, else at random) and rendered by one of output/sheets.POOL_FORMATS; every format
records its seeds in comments at the top of the file a platform imports.

Where it goes, the same rule for every format: `--out FILE` writes the file (whole or not at
all: safety/atomic.py) and nothing reaches standard output; without --out the file goes to
standard output. A binary format (QTI: an IMS content package, a zip) is refused on a
terminal, where it would print as noise, and goes to a pipe or a redirection; its --out must
end in .zip, so that `--out pool` (a folder, as QTI exports once were) is not silently
written as a file named pool.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nnhand.errors import UsageError


@dataclass(frozen=True)
class Export:
    """What `export_pool` made: the text or bytes for stdout (None when written to --out),
    the warnings to show first, and the closing note."""

    text: str | bytes | None
    warnings: tuple[str, ...]
    note: str


def _check_destination(fmt: str, binary: bool, out: Path | None, terminal: bool) -> None:
    """Refuse, before any work, a destination the format cannot go to."""
    from nnhand.safety.atomic import check_destination

    if out is None:
        if binary and terminal:
            raise UsageError(
                f"{fmt.upper()} is a zip file (an IMS content package), not text for a terminal",
                where="--out",
                fix="Give --out pool.zip, or redirect standard output: > pool.zip",
            )
        return
    if binary and out.suffix.lower() != ".zip":
        raise UsageError(
            f"{out}: a {fmt.upper()} package is one zip file",
            where="--out",
            fix=f"Give a file name ending in .zip, e.g. --out {out.with_suffix('.zip').name}",
        )
    check_destination(out)


def export_pool(
    template_id: str,
    fmt: str = "moodle",
    count: int = 10,
    *,
    first_seed: int | None = None,
    pool: str | None = None,
    secret_file: Path | None = None,
    blanks: str | None = None,
    out: Path | None = None,
    terminal: bool = False,
    problems_dirs: Iterable[str] = (),
) -> Export:
    """The whole `export` command but the printing: check the options and where the file
    goes (`terminal`: standard output is one), build the pool, collect the warnings the
    format needs, render it, and write it to `out` when given."""
    from nnhand import api
    from nnhand.classroom.roster import read_secret
    from nnhand.output import lms
    from nnhand.output.sheets import POOL_FORMATS
    from nnhand.safety.atomic import write_file

    chosen = POOL_FORMATS.get(fmt)
    _check_destination(fmt, chosen.binary, out, terminal)
    bank = lms.build_pool(
        api.load(template_id, problems_dirs),
        count,
        secret=read_secret(secret_file),
        first_seed=first_seed,
        name=pool,
        blanks=blanks,
    )
    warnings = tuple(lms.zero_answer_warnings(bank.sheets, fmt))
    rendered: str | bytes = chosen.renderer()(bank)
    where = "imsmanifest.xml's first comments" if chosen.binary else "the file's first comments"
    made = f"{count} sealed variants ({bank.seeding} seeds)"
    if out is None:
        return Export(rendered, warnings, f"{made}; their seeds are recorded in {where}")
    write_file(out, rendered)
    return Export(None, warnings, f"{made} written to {out}; their seeds are recorded in {where}")
