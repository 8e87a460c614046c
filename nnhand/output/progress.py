"""`nnhand progress`: the learner's practice history as a terminal chart, or as JSON.

Each row is a topic, a template under it, or a step under that: the share of its answers
right at the first try as a bar and a percentage, the number of answers, and a sparkline
with one mark per session in which it was practised (oldest first, the last SPARK), so
that a step getting better reads as a rising line. A step is marked `due` when spaced
repetition brings it back now (grading.history), `learnt` after three sessions in a row
all right at the first try. The last line names the weakest step and how to practise it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from nnhand.choices import TOPICS
from nnhand.grading.history import Progress, StepRecord, weakest
from nnhand.safety.safetext import wrapped

BAR = 10  # characters of a bar: a tenth each
SPARK = 12  # sessions a sparkline shows
MARKS = "▁▂▃▄▅▆▇█"  # none right .. all right
LEARNT = 3  # sessions in a row all right at the first try


def terminal(progress: Progress, path: str, width: int = 80) -> str:
    if not progress.steps:
        return (
            f"No practice on record yet ({path}).\n"
            "Practise a template and your answers are kept here: nnhand practice hidden-layer\n"
        )
    heading = [
        f"Practice on record: {_count(len(progress.sessions), 'session')}, {_count(progress.answers, 'answer')}, "
        f"{progress.first[:10]} to {progress.last[:10]} ({path}).",
        "",
        "Right at the first try (no hint), of how many answers, and one mark a session, oldest first:",
        "",
    ]
    lines = [line for sentence in heading for line in wrapped(sentence, width)]
    columns = _columns(width)
    lines.append(_row("", "first try", "answers", "by session", columns))
    for topic, templates in _grouped(progress.steps):
        lines.append(_row(TOPICS.get(topic, "Other"), *_figures(_flat(templates)), columns))
        for template, records in templates:
            lines.append(_row(f"  {template}", *_figures(records), columns))
            for record in records:
                mark = "learnt" if record.streak >= LEARNT else "due" if progress.due(record) else ""
                lines.append(_row(f"    {record.step}", *_figures([record]), columns, mark))
    text = "".join(_fit(line, width) + "\n" for line in lines)
    choice = weakest(progress)
    if choice is not None:
        closing = [f"Weakest: {choice.reason}."]
        slips = _slips(progress, choice.template, choice.steps)
        if slips:
            closing.append(f"Missed most by: {slips}.")
        closing.append("Practise it: nnhand practice --weakest")
        text += "\n" + "".join(line + "\n" for sentence in closing for line in wrapped(sentence, width))
    return text


def json_progress(progress: Progress, path: str, width: int = 80) -> str:
    choice = weakest(progress)
    from nnhand._version import __version__

    data = {
        "schema": "nnhand-progress",
        "schema_version": 1,
        "nnhand_version": __version__,
        "history": path,
        "sessions": len(progress.sessions),
        "answers": progress.answers,
        "first": progress.first or None,
        "last": progress.last or None,
        "steps": [
            {
                "template": r.template,
                "topic": r.topic,
                "step": r.step,
                "answers": r.answers,
                "first_try": r.first_try,
                "recent_accuracy": round(r.accuracy, 4),
                "streak": r.streak,
                "due": progress.due(r),
                "sessions": [{"session": s, "first_try": right, "answers": n} for s, right, n in r.sessions],
                "slips": dict(sorted(r.slips.items())),
            }
            for r in progress.steps
        ],
        "weakest": None
        if choice is None
        else {"template": choice.template, "steps": list(choice.steps), "reason": choice.reason},
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _grouped(records: Sequence[StepRecord]) -> list[tuple[str, list[tuple[str, list[StepRecord]]]]]:
    """Topics in the course's order, templates and steps in the order first practised."""
    topics: dict[str, dict[str, list[StepRecord]]] = {}
    for record in records:
        topics.setdefault(record.topic, {}).setdefault(record.template, []).append(record)
    order = list(TOPICS)
    ranked = sorted(topics.items(), key=lambda t: order.index(t[0]) if t[0] in order else len(order))
    return [(topic, list(templates.items())) for topic, templates in ranked]


def _flat(templates: list[tuple[str, list[StepRecord]]]) -> list[StepRecord]:
    return [record for _, records in templates for record in records]


def _figures(records: Sequence[StepRecord]) -> tuple[str, str, str]:
    """The bar and percentage, the answers, and the sparkline of a group of steps."""
    answers = sum(r.answers for r in records)
    right = sum(r.first_try for r in records)
    share = right / answers if answers else 0.0
    filled = round(share * BAR)
    bar = "█" * filled + "░" * (BAR - filled)
    by_session: dict[str, list[int]] = {}
    for record in records:
        for session, good, count in record.sessions:
            tally = by_session.setdefault(session, [0, 0])
            tally[0] += good
            tally[1] += count
    spark = "".join(MARKS[round(good / count * (len(MARKS) - 1))] for good, count in list(by_session.values())[-SPARK:])
    return f"{bar} {round(100 * share):3d} %", str(answers), spark


@dataclass(frozen=True)
class Columns:
    name: int
    answers: bool
    spark: bool


def _columns(width: int) -> Columns:
    """The widest names that fit beside the figures; on a narrow terminal the sparkline
    goes first, then the count of answers."""
    share, answers, spark, mark = 17, 9, SPARK + 1, 8  # "██████████ 100 %", "  answers", "  ▁▂▃…", " learnt"
    for shown_answers, shown_spark in ((True, True), (True, False), (False, False)):
        rest = share + answers * shown_answers + spark * shown_spark + mark
        if width - rest >= 14:
            return Columns(min(30, width - rest), shown_answers, shown_spark)
    return Columns(max(8, width - share - mark), False, False)


def _row(name: str, share: str, answers: str, spark: str, columns: Columns, mark: str = "") -> str:
    if len(name) > columns.name:
        name = name[: columns.name - 1] + "…"
    line = f"{name:<{columns.name}} {share:<16}"
    if columns.answers:
        line += f"  {answers:>7}"
    if columns.spark:
        line += f"  {spark:<{SPARK}} {mark}"
    elif mark:
        line += f"  {mark}"
    return line.rstrip()


def _slips(progress: Progress, template: str, steps: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for record in progress.of_template(template):
        if record.step in steps:
            for slip, n in record.slips.items():
                kind = slip.split(":")[0].rstrip(".")  # "One term is counted twice: (1)(3)." -> its kind
                counts[kind] = counts.get(kind, 0) + n
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    return "; ".join(f"{kind} ({n}×)" for kind, n in top)


def _fit(line: str, width: int) -> str:
    """A line within the terminal's width (a long path or reason is cut, marked …)."""
    return line if len(line) <= width else line[: max(width, 20) - 1] + "…"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
