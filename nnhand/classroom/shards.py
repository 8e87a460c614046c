"""Shards: one deterministic slice of a class, so a big course runs on many machines.

`--shard K/N` (1 <= K <= N) names the K-th of N contiguous blocks of the roster (or of the
submissions, when grading), in roster order, the block sizes differing by at most one: the
first `len(items) % N` blocks hold one item more. Every machine of a job array computes the
same split from the same list, so the shards cover the class exactly once with no
coordination; `nnhand merge` joins their outputs back into what one machine would have made.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from nnhand._version import __version__
from nnhand.errors import UsageError

if TYPE_CHECKING:
    from nnhand.classroom.roster import Student

T = TypeVar("T")

_SHARD_SYNTAX = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
SHARD_FIX = "Write --shard K/N with whole numbers 1 <= K <= N, e.g. --shard 2/8 for the second of eight"


@dataclass(frozen=True)
class Shard:
    """The `index`-th (1-based) of `count` contiguous blocks of a list."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise UsageError(f"{self.index}/{self.count} is not a shard", where="--shard", fix=SHARD_FIX)

    def bounds(self, total: int) -> tuple[int, int]:
        """[start, stop) of this block in a list of `total` items."""
        size, extra = divmod(total, self.count)
        k = self.index - 1  # 0-based block number
        start = k * size + min(k, extra)  # blocks before this one, the first `extra` one longer
        return start, start + size + (1 if k < extra else 0)

    def slice(self, items: Sequence[T]) -> list[T]:
        """This shard's block of `items`, in their order."""
        start, stop = self.bounds(len(items))
        return list(items[start:stop])

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


WHOLE_CLASS = Shard(1, 1)


def parse_shard(text: str) -> Shard:
    """Read `K/N` (the `--shard` option) as a Shard; anything else is a UsageError."""
    match = _SHARD_SYNTAX.fullmatch(text)
    if match is None:
        raise UsageError(f"{text!r} is not of the form K/N", where="--shard", fix=SHARD_FIX)
    return Shard(int(match.group(1)), int(match.group(2)))


def whole_split(shards: Sequence[tuple[Shard, str]], fix: str) -> list[int]:
    """The positions of `shards` (each with the file or folder it came from) in shard order,
    once they are checked to be the N shards of one split, each given once: else an
    NnhandError naming them (different splits, a shard twice, the shards missing)."""
    from nnhand.errors import NnhandError

    listed = ", ".join(f"{where} ({shard})" for shard, where in shards)
    counts = {shard.count for shard, _ in shards}
    if len(counts) != 1:
        raise NnhandError(f"these are shards of different splits: {listed}", where="merge", fix=fix)
    count = counts.pop()
    at: dict[int, int] = {}
    for position, (shard, where) in enumerate(shards):
        if shard.index in at:
            first = shards[at[shard.index]][1]
            raise NnhandError(f"shard {shard} is given twice: {first} and {where}", where="merge", fix=fix)
        at[shard.index] = position
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in at]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise NnhandError(f"shard {', '.join(missing)} {verb} missing (given: {listed})", where="merge", fix=fix)
    return [at[k] for k in range(1, count + 1)]


# ----------------------------------------------------------------------------- the shard record
# shard.json beside a shard's folder: which block of which class it holds, for `nnhand merge`.

SHARD_FILE = "shard.json"
SHARD_SCHEMA = "nnhand-worksheet-shard"
SHARD_VERSION = 1
SECRET_CHECK_PURPOSE = "nnhand-shard-check"


def class_digest(students: Sequence[Student]) -> str:
    """SHA-256 of the whole class in roster order: shards of different rosters differ here."""
    rows = [[s.id, s.name, s.email] for s in students]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode("utf-8")).hexdigest()


def secret_check(secret: bytes) -> str:
    """A value derived from the secret (HMAC under its own purpose): equal for equal secrets,
    and nothing about the secret or the seeds can be learnt from it."""
    from nnhand.core.keys import derive

    return derive(secret, SECRET_CHECK_PURPOSE).hex()[:32]


def shard_record(
    shard: Shard, students: Sequence[Student], secret: bytes, formats: Sequence[str], worked: bool, augmented: bool
) -> str:
    """shard.json: which block of which class this folder holds, for `nnhand merge`."""
    record = {
        "schema": SHARD_SCHEMA,
        "schema_version": SHARD_VERSION,
        "nnhand_version": __version__,
        "shard": str(shard),
        "class_size": len(students),
        "class_digest": class_digest(students),
        "secret_check": secret_check(secret),
        "formats": list(formats),
        "worked": worked,
        "augmented": augmented,
    }
    return json.dumps(record, indent=1, ensure_ascii=False) + "\n"
