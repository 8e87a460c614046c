"""The learner's record: practice appends each answered cell to a history file, `nnhand
progress` reads it into accuracy per topic and step, and `practice --weakest` serves the
steps missed most, with spaced repetition (a step right k sessions in a row waits 2^k − 1
sessions before it comes back).

The expected choices are worked out by hand from the attempts each test writes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.grading import history
from nnhand.grading.history import Attempt, summarise, weakest
from nnhand.grading.practice import PracticeSession

SCHEMAS = Path(__file__).resolve().parent.parent / "nnhand" / "schemas"
runner = CliRunner()


def attempt(session: str, step: str, right: bool, template: str = "hidden-layer", **extra: Any) -> Attempt:
    fields: dict[str, Any] = {"tries": 1, "slip": None, "hints": 0, **extra}
    time = f"2026-12-0{1 + int(session[1:]) % 9}T10:00:00Z"
    return Attempt(time, session, template, "networks", f"{template}@2#1", step, f"{step}[1]", right, **fields)


# ----------------------------------------------------------------------------- the file


def test_data_dir_follows_the_platform_and_the_override(monkeypatch: pytest.MonkeyPatch) -> None:
    assert history.data_dir({"NNHAND_DATA_DIR": "/tmp/mine"}) == Path("/tmp/mine")
    monkeypatch.setattr(history.sys, "platform", "linux")
    assert history.data_dir({"XDG_DATA_HOME": "/x/share"}) == Path("/x/share/nnhand")
    assert history.data_dir({}) == Path.home() / ".local" / "share" / "nnhand"
    monkeypatch.setattr(history.sys, "platform", "darwin")
    assert history.data_dir({}) == Path.home() / "Library" / "Application Support" / "nnhand"
    monkeypatch.setattr(history.sys, "platform", "win32")
    assert history.data_dir({"APPDATA": "C:/Users/a/AppData/Roaming"}) == Path("C:/Users/a/AppData/Roaming/nnhand")


def test_the_record_reads_back_and_skips_what_does_not_read(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "history.jsonl"
    written = [attempt("s1", "h", True), attempt("s1", "y", False, tries=2, slip="You forgot the ReLU.")]
    history.append(path, written)
    with open(path, "a", encoding="utf-8") as out:
        out.write('{"not": "an attempt"}\nnot json at all\n[1, 2]\n')
        out.write(json.dumps({**json.loads(path.read_text().splitlines()[0]), "tries": 0}) + "\n")  # no try at all
        out.write(json.dumps({**json.loads(path.read_text().splitlines()[0]), "right": "yes"}) + "\n")
        out.write(json.dumps({**json.loads(path.read_text().splitlines()[0]), "step": "\x1b[2Jy"}) + "\n")
        out.write(json.dumps({**json.loads(path.read_text().splitlines()[0]), "slip": "x" * 5000}) + "\n")
    history.append(path, [attempt("s2", "h", True, hints=1)])
    read, skipped = history.read(path)
    assert read == [*written, attempt("s2", "h", True, hints=1)] and skipped == 7  # escapes, a novel: not read
    assert history.read(tmp_path / "none.jsonl") == ([], 0)


def test_a_long_record_is_read_from_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.jsonl"
    history.append(path, [attempt(f"s{n}", "h", n % 2 == 0) for n in range(200)])
    line = len(path.read_bytes()) // 200
    monkeypatch.setattr(history, "MAX_READ", 10 * line + line // 2)  # ten lines and a half
    read, skipped = history.read(path)
    assert [a.session for a in read] == [f"s{n}" for n in range(190, 200)] and skipped == 0


# ----------------------------------------------------------------------------- what the record says


def test_accuracy_streak_and_the_weakest_step() -> None:
    # h: right at the first try in all three sessions; y: wrong, wrong, then right at the
    # second try (not a first-try right); z1: right after a hint (not a first-try right either)
    attempts = [
        attempt("s1", "h", True),
        attempt("s1", "y", False, tries=2),
        attempt("s2", "h", True),
        attempt("s2", "y", False, tries=2),
        attempt("s3", "h", True),
        attempt("s3", "y", True, tries=2),
        attempt("s3", "z1", True, hints=1),
    ]
    found = summarise(attempts)
    by_step = {r.step: r for r in found.steps}
    assert [r.step for r in found.steps] == ["h", "y", "z1"] and found.sessions == ["s1", "s2", "s3"]
    assert by_step["h"].accuracy == 1 and by_step["h"].streak == 3
    assert by_step["y"].accuracy == 0 and by_step["y"].streak == 0 and by_step["y"].first_try == 0
    assert by_step["z1"].accuracy == 0 and by_step["z1"].answers == 1
    assert not found.due(by_step["h"])  # right 3 sessions in a row: back after 7 more
    choice = weakest(found)
    assert choice is not None and choice.template == "hidden-layer"
    # y and z1 are both at 0 %: y was last practised at the same time, so by name, y first; h is learnt
    assert choice.steps == ("y", "z1") and choice.reason == "hidden-layer › y, 0 % right at the first try (last 3)"


def test_a_step_right_in_a_row_comes_back_less_often() -> None:
    """Leitner boxes by hand: right in 1 session → due after 1 other, in 2 → after 3."""
    base = [attempt("s1", "h", True), attempt("s1", "y", False)]
    found = summarise(base)
    assert not found.due(found.steps[0]) and found.due(found.steps[1])  # h waits 2^1 − 1 = 1 session
    later = summarise([*base, attempt("s2", "y", False)])
    assert later.due(later.steps[0])  # one session has passed: h is due again
    twice = [attempt("s1", "h", True), attempt("s2", "h", True)] + [attempt(f"s{n}", "y", False) for n in (3, 4, 5)]
    waiting = summarise(twice[:-1])
    assert not waiting.due(waiting.steps[0])  # h right in 2 sessions in a row: after s3 and s4, 2 of 3, it waits
    waited = summarise(twice)
    assert waited.due(waited.steps[0])  # after s5, the 2^2 − 1 = 3 sessions have passed


def test_weakest_prefers_the_least_accurate_due_step_across_templates() -> None:
    attempts = [
        attempt("s1", "h", True, template="hidden-layer"),
        attempt("s1", "y", False, template="hidden-layer"),
        attempt("s1", "y", True, template="hidden-layer"),  # y: 1 of 2
        attempt("s2", "z", False, template="four-neurons"),  # z: 0 of 1
        attempt("s2", "a", True, template="four-neurons"),
    ]
    found = summarise(attempts)
    choice = weakest(found)
    assert choice is not None and (choice.template, choice.steps) == ("four-neurons", ("z",))
    only = weakest(found, template="hidden-layer")
    assert only is not None and only.steps == ("y",)
    assert weakest(found, known=["matmul"]) is None and weakest(summarise([])) is None


def test_with_every_step_learnt_the_oldest_comes_back() -> None:
    # h right in s1 and s2 (waits 3 sessions, 1 passed), y right in s3 (waits 1, none passed)
    attempts = [attempt("s1", "h", True), attempt("s2", "h", True), attempt("s3", "y", True)]
    found = summarise(attempts)
    assert not any(found.due(r) for r in found.steps)
    choice = weakest(found)
    assert choice is not None and choice.steps == ("h",) and "learnt" in choice.reason


# ----------------------------------------------------------------------------- end to end, piped


def practise(*args: str, typed: list[Any]) -> Any:
    return runner.invoke(app, ["practice", *args], input="\n".join(map(str, typed)) + "\n")


def test_sessions_progress_and_weakest_end_to_end(_own_history: Path) -> None:
    sheet = api.generate("hidden-layer", 7)
    values = sheet.problem.values
    cells = [(p.step.name, values[p.step.name][p.row, p.col]) for p in PracticeSession(sheet).prompts]
    y = [v for step, v in cells if step == "y"]
    typed = [w for step, v in cells for w in ([v + 5, v + 5] if step == "y" else [v])]
    for _ in range(2):  # two sessions: every step right but y, wrong twice (the key shown)
        result = practise("hidden-layer", "--seed", "7", typed=typed)
        assert result.exit_code == 1, result.output
    path = _own_history / "history.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 2 * len(cells)
    assert {r["step"] for r in records if not r["right"]} == {"y"} and all(
        r["tries"] == 2 for r in records if not r["right"]
    )
    shown = runner.invoke(app, ["progress"])
    assert shown.exit_code == 0, shown.output
    said = " ".join(shown.output.split())
    assert (
        "Practice on record: 2 sessions" in said
        and "Weakest: hidden-layer › y, 0 % right at the first try (last 4)." in said
    )
    assert "Practise it: nnhand practice --weakest" in said
    assert max(len(line) for line in shown.output.splitlines()) <= 80
    data = json.loads(runner.invoke(app, ["progress", "--format", "json"]).output)
    jsonschema.validate(data, json.loads((SCHEMAS / "progress.schema.json").read_text()))
    assert data["weakest"]["template"] == "hidden-layer" and data["weakest"]["steps"] == ["y"]
    served = practise("--weakest", "--seed", "7", typed=[*y])
    assert served.exit_code == 0, served.output
    assert "your weakest: hidden-layer › y" in served.stderr
    said = " ".join(served.output.split())
    assert f"{len(y)}/{len(y)} right ({len(y)} at the first try)" in said and "--steps y" in said
    after = json.loads(runner.invoke(app, ["progress", "--format", "json"]).output)
    y_record = next(s for s in after["steps"] if s["step"] == "y")
    assert y_record["streak"] == 1 and not y_record["due"]  # right once: it waits a session


def test_no_history_keeps_nothing_and_weakest_needs_a_record(_own_history: Path) -> None:
    result = practise("four-neurons", "--seed", "2", "--no-history", typed=["1", "q"])
    assert result.exit_code == 1 and not (_own_history / "history.jsonl").exists()
    refused = practise("--weakest", typed=["q"])
    assert refused.exit_code == 2 and "no practice on record yet" in refused.output
    assert runner.invoke(app, ["progress"]).output.startswith("No practice on record yet")
    missing = practise(typed=["q"])
    assert missing.exit_code == 2 and "practice needs a TEMPLATE" in missing.output
    both = practise("--weakest", "--steps", "y", typed=["q"])
    assert both.exit_code == 2 and "--weakest chooses the steps itself" in both.output


def test_a_history_that_cannot_be_written_is_noted_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NNHAND_DATA_DIR", str(blocker))
    result = practise("four-neurons", "--seed", "2", typed=["1", "1", "q"])
    assert result.exit_code == 1 and "cannot write the practice history" in result.stderr
    assert "Traceback" not in result.output


def test_a_history_that_cannot_be_read_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "history.jsonl").mkdir()  # a folder where the file should be
    monkeypatch.setenv("NNHAND_DATA_DIR", str(tmp_path))
    for args in (["progress"], ["practice", "--weakest"]):
        result = runner.invoke(app, args, input="q\n")
        assert result.exit_code == 2 and "cannot read the practice history" in result.output, result.output
        assert "Traceback" not in result.output


def test_a_damaged_history_is_read_around(_own_history: Path) -> None:
    (_own_history / "history.jsonl").write_text(
        "garbage\n" + json.dumps(dataclasses.asdict(attempt("s1", "y", False))) + "\n"
    )
    shown = runner.invoke(app, ["progress"])
    assert shown.exit_code == 0 and "1 line that did not read, left out" in shown.stderr
    assert "Weakest: hidden-layer › y, 0 %" in " ".join(shown.output.split())
