"""The learner's record: every practice attempt, kept in a local file, and what it says.

`nnhand practice` appends one JSON line per answered cell (template, variant, step, cell,
right or wrong, at which try, the slip named, the hints taken, the time) to
`history.jsonl` in the user's data directory. `nnhand progress` reads it back into
accuracy per topic, template and step, session by session; `practice --weakest` asks
`weakest()` which template and steps to serve next.

The next steps are chosen the way spaced repetition does it (a Leitner box per step): a
step answered right at the first try in k sessions in a row waits 2^k − 1 sessions before
it is due again, so a step that is learnt comes back less and less often and a missed one
comes back at once. Among the steps due, the least accurate goes first.

The file is the learner's own and may be edited, cut short or written by two sessions at
once: a line that does not read is skipped and counted, never fatal, and only the last
MAX_READ bytes are read, so a file that grew for years still loads at once.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nnhand.errors import UsageError
from nnhand.safety.safetext import one_line

HISTORY_ENV = "NNHAND_DATA_DIR"  # where the record is kept, overriding the platform's data directory
HISTORY_FILE = "history.jsonl"
MAX_READ = 32 * 2**20  # bytes read from the end of the file: some hundred thousand attempts
RECENT = 20  # a step's accuracy is over its last RECENT first tries
MAX_BOX = 5  # a step right in 5 sessions in a row waits 31 sessions: learnt
MAX_FIELD = 300  # characters of one field: a slip's sentence is the longest


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's data directory for nnhand: $NNHAND_DATA_DIR, else the platform's own
    ($XDG_DATA_HOME or ~/.local/share on Linux, ~/Library/Application Support on macOS,
    %APPDATA% on Windows)."""
    env = os.environ if environ is None else environ
    if env.get(HISTORY_ENV):
        return Path(env[HISTORY_ENV]).expanduser()
    if sys.platform == "win32" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / "nnhand"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "nnhand"
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "nnhand"


def history_path(environ: Mapping[str, str] | None = None) -> Path:
    return data_dir(environ) / HISTORY_FILE


@dataclass(frozen=True)
class Attempt:
    """One answered cell: right or wrong at the last try it took (a skip is not an attempt)."""

    time: str  # ISO 8601, UTC, to the second
    session: str  # one practice run
    template: str
    topic: str
    variant: str
    step: str
    cell: str
    right: bool
    tries: int  # 1: at the first try
    slip: str | None = None
    hints: int = 0

    @property
    def first_try(self) -> bool:
        return self.right and self.tries == 1 and self.hints == 0


_FIELDS = {
    "time": str,
    "session": str,
    "template": str,
    "topic": str,
    "variant": str,
    "step": str,
    "cell": str,
    "right": bool,
    "tries": int,
}


def append(path: Path, attempts: Iterable[Attempt]) -> None:
    """Add attempts to the record, one line each (a line is one write: two sessions at
    once interleave whole lines)."""
    lines = "".join(json.dumps(asdict(a), ensure_ascii=False, sort_keys=True) + "\n" for a in attempts)
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as out:
        out.write(lines)


def read(path: Path) -> tuple[list[Attempt], int]:
    """The attempts on record, oldest first, and how many lines did not read. A missing
    file is an empty record."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - MAX_READ))
            data = handle.read()
    except FileNotFoundError:
        return [], 0
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot read the practice history ({exc.strerror or exc})",
            fix=f"Point {HISTORY_ENV} at a folder you can read, or move the file away",
        ) from None
    lines = data.split(b"\n")
    if size > MAX_READ:
        lines = lines[1:]  # the first line read is cut
    attempts, skipped = [], 0
    for line in lines:
        if not line.strip():
            continue
        attempt = _attempt(line)
        if attempt is None:
            skipped += 1
        else:
            attempts.append(attempt)
    return attempts, skipped


def _attempt(line: bytes) -> Attempt | None:
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    for name, kind in _FIELDS.items():
        value = data.get(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return None
    slip, hints = data.get("slip"), data.get("hints", 0)
    texts = [data[name] for name, kind in _FIELDS.items() if kind is str] + ([slip] if isinstance(slip, str) else [])
    joined = " ".join(texts)
    if max(map(len, texts)) > MAX_FIELD or one_line(joined) != joined:
        return None  # a hand-edited line with escapes or a novel in it: not shown on a terminal
    if not (slip is None or isinstance(slip, str)) or not isinstance(hints, int) or isinstance(hints, bool):
        return None
    if data["tries"] < 1 or hints < 0:
        return None
    return Attempt(**{name: data[name] for name in _FIELDS}, slip=slip, hints=hints)


# ----------------------------------------------------------------------------- what the record says


@dataclass
class StepRecord:
    """One step of one template: its answers, and session by session."""

    template: str
    step: str
    topic: str
    answers: int = 0
    first_try: int = 0
    recent: list[bool] = field(default_factory=list)  # first try right, over the last RECENT answers
    sessions: list[tuple[str, int, int]] = field(default_factory=list)  # (session, first-try rights, answers)
    slips: dict[str, int] = field(default_factory=dict)
    last_time: str = ""

    @property
    def accuracy(self) -> float:
        """First-try rights over the last RECENT answers."""
        return sum(self.recent) / len(self.recent) if self.recent else 0.0

    @property
    def streak(self) -> int:
        """Sessions in a row, ending with the latest, in which every cell was right at the first try."""
        count = 0
        for _, right, answers in reversed(self.sessions):
            if right != answers:
                break
            count += 1
        return count


@dataclass
class Progress:
    steps: list[StepRecord]  # in the order first met
    sessions: list[str]  # every session, oldest first
    answers: int
    first: str = ""
    last: str = ""

    def of_template(self, template: str) -> list[StepRecord]:
        return [s for s in self.steps if s.template == template]

    def due(self, record: StepRecord) -> bool:
        """Whether a step is due: 2^streak − 1 other sessions have passed since it was last practised."""
        waited = len(self.sessions) - 1 - self.sessions.index(record.sessions[-1][0])
        return waited >= 2 ** min(record.streak, MAX_BOX) - 1


def summarise(attempts: Sequence[Attempt]) -> Progress:
    records: dict[tuple[str, str], StepRecord] = {}
    sessions: dict[str, None] = {}
    for a in attempts:
        sessions.setdefault(a.session, None)
        record = records.get((a.template, a.step))
        if record is None:
            record = records[(a.template, a.step)] = StepRecord(a.template, a.step, a.topic)
        record.answers += 1
        record.first_try += a.first_try
        record.recent = [*record.recent[-(RECENT - 1) :], a.first_try]
        if record.sessions and record.sessions[-1][0] == a.session:
            name, right, answers = record.sessions[-1]
            record.sessions[-1] = (name, right + a.first_try, answers + 1)
        else:
            record.sessions.append((a.session, int(a.first_try), 1))
        if a.slip:
            record.slips[a.slip] = record.slips.get(a.slip, 0) + 1
        record.last_time = a.time
    times = [a.time for a in attempts]
    return Progress(
        list(records.values()), list(sessions), len(attempts), min(times, default=""), max(times, default="")
    )


@dataclass(frozen=True)
class Choice:
    template: str
    steps: tuple[str, ...]
    reason: str  # why these: for the line practice shows first


def weakest(progress: Progress, template: str | None = None, known: Iterable[str] | None = None) -> Choice | None:
    """The template and steps to practise next, or None with nothing on record.

    The steps due (spaced repetition, Progress.due) come first, the least accurate first
    (ties: the one practised longest ago, then by name); with none due, the one practised
    longest ago. The template is that step's; its steps served are the due ones that are
    not yet learnt (accuracy under 1), the weakest first, at most three."""
    candidates = [s for s in progress.steps if (template is None or s.template == template)]
    if known is not None:
        names = set(known)
        candidates = [s for s in candidates if s.template in names]
    if not candidates:
        return None
    due = [s for s in candidates if progress.due(s)]
    if due:
        order = sorted(due, key=lambda s: (s.accuracy, s.last_time, s.template, s.step))
    else:
        order = sorted(candidates, key=lambda s: (s.last_time, s.template, s.step))
    first = order[0]
    same = [s for s in order if s.template == first.template and (s is first or s.accuracy < 1)][:3]
    percent = round(100 * first.accuracy)
    why = f"{first.template} › {first.step}, {percent} % right at the first try (last {len(first.recent)})"
    if not due:
        why += "; every step is learnt: this one was practised longest ago"
    return Choice(first.template, tuple(s.step for s in same), why)
