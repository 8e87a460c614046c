"""`export`: a pool of sealed variants for a learning-management system (Moodle, GIFT, QTI).

The pool is built by output/lms.build_pool (seeds from --seed, else from the secret over the
pool's name, else at random) and rendered by one of output/sheets.POOL_FORMATS. A format
whose result is a folder of files (QTI: one item per variant and nnhand-export.json) is
written to --out at once; any other is text for standard output, its seeds in its comments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nnhand.errors import UsageError


@dataclass(frozen=True)
class Export:
    """What `export_pool` made: the text for stdout (None when written to a folder), the
    warnings to show first, and the closing note."""

    text: str | None
    warnings: tuple[str, ...]
    note: str


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
    problems_dirs: Iterable[str] = (),
) -> Export:
    """The whole `export` command but the printing: check the options, build the pool,
    collect the warnings the format needs, render it, and write a folder format to `out`."""
    from nnhand import api
    from nnhand.classroom.build import write_folder
    from nnhand.classroom.roster import read_secret
    from nnhand.output import lms
    from nnhand.output.sheets import POOL_FORMATS

    chosen = POOL_FORMATS.get(fmt)
    if chosen.files and out is None:
        raise UsageError(
            f"{fmt.upper()} items are one file each", where="--out", fix="Give --out DIR for the item files"
        )
    bank = lms.build_pool(
        api.load(template_id, problems_dirs),
        count,
        secret=read_secret(secret_file),
        first_seed=first_seed,
        name=pool,
        blanks=blanks,
    )
    warnings = tuple(lms.zero_answer_warnings(bank.sheets, fmt))
    rendered = chosen.renderer()(bank)
    text: str | None = None
    if chosen.files:
        assert out is not None
        write_folder(out, rendered, force=False)
        where = f"{out}/nnhand-export.json"
    else:
        text = rendered
        where = "the file's first comments"
    return Export(
        text, warnings, f"{count} sealed variants ({bank.seeding} seeds); their seeds are recorded in {where}"
    )
