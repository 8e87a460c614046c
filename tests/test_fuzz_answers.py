"""Property-based, at the library level (fast): what a stranger types or writes into an answer
file or a givens file gives a result or an NnhandError, within a time bound, and never
changes a grade by guessing.

- reading: any text or float is a number or a CellError, quickly; a float artefact of a
  short decimal reads as exactly that decimal (the decimal built from integers here, not by
  the reader), and no reading moves a number by more than the stated 1e-9 (relative);
- grading: with the variant and givens intact, any answers give a report (cells, not files),
  whose exit code is 0 only when every asked cell equals the key;
- practice: any typed line gives replies with no control characters;
- givens files: any bytes give a mapping or a GivensError, and solving any mapping gives a
  problem or an NnhandError.
"""

from __future__ import annotations

import datetime
import math
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnhand import api
from nnhand.core.engine import generate
from nnhand.core.keys import key_data
from nnhand.core.reading import read_number
from nnhand.core.sheet import make_sheet
from nnhand.errors import CellError, GivensError, NnhandError
from nnhand.grading.answers import answer_file_data
from nnhand.grading.grade import grade_data
from nnhand.grading.practice import PracticeSession

SETTINGS = settings(
    max_examples=150,
    deadline=datetime.timedelta(seconds=2),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SECONDS = 0.5  # any one reading, grading or reply; all are far faster

number_like = st.text(alphabet="0123456789+-−.,/eE _ \t9", max_size=24)
texts = st.one_of(
    number_like,
    st.text(max_size=40),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-999, 999), st.integers(-(10**12), 10**12)),
    st.sampled_from(["1e99999999", "0e99999999", "1/1e99999999", "[/]", "\x1b[2J", "1 2", "2 / 3", "-0"]),
)
floats = st.floats(allow_nan=True, allow_infinity=True)


def timed(function: Any, *args: Any) -> Any:
    start = time.perf_counter()
    try:
        return function(*args)
    finally:
        assert time.perf_counter() - start < SECONDS, (function.__name__, args)


def read_or_refuse(raw: Any) -> Fraction | None:
    try:
        return Fraction(timed(read_number, raw, "f: b"))
    except CellError:
        return None


# ----------------------------------------------------------------------------- reading


@SETTINGS
@given(raw=st.one_of(texts, floats, st.integers(), st.booleans(), st.none()))
def test_any_cell_is_a_number_or_a_cell_error_quickly(raw: Any) -> None:
    value = read_or_refuse(raw)
    if value is not None:
        assert abs(value) <= 10**12 and value.denominator <= 10**12


@SETTINGS
@given(
    numerator=st.integers(-(10**12), 10**12),
    places=st.integers(0, 6),
    ulps=st.integers(-4, 4),
)
def test_float_artefacts_read_as_their_short_decimal(numerator: int, places: int, ulps: int) -> None:
    decimal = Fraction(numerator, 10**places)
    if abs(decimal) > 10**6:
        decimal = Fraction(numerator % 10**6, 10**places)  # the magnitudes of a hand exercise
    x = float(decimal)
    for _ in range(abs(ulps)):  # a few units in the last place off: what arithmetic leaves
        x = math.nextafter(x, math.inf if ulps > 0 else -math.inf)
    assert read_or_refuse(x) == decimal, (x, decimal)
    assert read_or_refuse(repr(x)) == decimal, (repr(x), decimal)


@SETTINGS
@given(x=st.floats(min_value=-(10**12), max_value=10**12, allow_nan=False))
def test_no_reading_moves_a_float_beyond_the_stated_bound(x: float) -> None:
    value = read_or_refuse(x)
    if value is not None:
        written = Fraction(repr(x))
        assert abs(value - written) <= max(abs(value) / 10**9, Fraction(1, 10**12)), (x, value)


# ----------------------------------------------------------------------------- grading

SHEET = make_sheet(generate(api.load("hidden-layer"), 7), "all")
BASE = answer_file_data(SHEET)
KEY = {name: key_data(SHEET.problem)["answers"][name] for name in BASE["answers"]}
cells = st.one_of(
    st.none(), st.integers(-30, 30), floats, texts, st.booleans(), st.lists(st.integers(-3, 3), max_size=3)
)
answer_values = st.one_of(cells, st.lists(cells, max_size=6), st.lists(st.lists(cells, max_size=3), max_size=3))


@SETTINGS
@given(
    answers=st.dictionaries(st.sampled_from([*KEY, "zz", "W1"]), answer_values, max_size=6),
    keep_key=st.sets(st.sampled_from(list(KEY))),
)
def test_any_answers_give_a_report_that_passes_only_when_right(answers: dict[str, Any], keep_key: set[str]) -> None:
    filled = {**answers, **{name: KEY[name] for name in keep_key}}
    report, _ = timed(grade_data, {**BASE, "answers": filled}, "fuzz.yaml")  # never raises: cells, not files
    asked = [c for s in report.steps for c in s.cells]
    assert len(asked) == SHEET.blank_count()
    assert 0 <= report.score <= report.max_score == len(asked)
    if report.exit_code == 0:
        assert all(c.status == "right" and c.answer is not None for c in asked)
        assert all(filled.get(name) is not None for name in KEY)


# ----------------------------------------------------------------------------- practice


@SETTINGS
@given(line=st.one_of(texts, st.text(max_size=200)))
def test_any_typed_line_gives_clean_replies(line: str) -> None:
    session = PracticeSession(make_sheet(generate(api.load("matmul"), 1), "all"))
    for reply in timed(session.respond, line):
        assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in reply.message), repr(reply.message)


# ----------------------------------------------------------------------------- givens files


@SETTINGS
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_givens_file_is_a_mapping_or_a_givens_error(tmp_path_factory: Any, content: bytes) -> None:
    path: Path = tmp_path_factory.mktemp("givens") / "g.yaml"
    path.write_bytes(content)
    try:
        data = timed(api.read_givens_file, path)
    except GivensError:
        return
    assert isinstance(data, dict)


@SETTINGS
@given(
    givens=st.fixed_dictionaries(
        {"w": answer_values, "x": answer_values, "b": answer_values},
        optional={"extra": cells},
    )
)
def test_solving_any_givens_is_a_problem_or_an_error(givens: dict[str, Any]) -> None:
    try:
        problem = timed(api.solve, "single-neuron", givens)
    except NnhandError:
        return
    assert set(problem.values) >= {"z", "a"}
