"""Terminal output at any width: grids packed to the width and never torn, a grid too wide
split by columns with its labels repeated, COLUMNS honoured in a pipe, and vectors that
cannot be read as a two-column matrix, in the terminal and in Markdown.

The rendered text is read back by a small parser of the box drawing written here (it knows
only the characters on the page, not the renderer), and the grids it finds, put back
together across their column pieces, are compared with the page model they were drawn from.
"""

from __future__ import annotations

import dataclasses
import fcntl
import io
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
import yaml
from rich.cells import cell_len
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.core.sheet import make_sheet
from nnhand.output.page import Layout, Quantity, build_page
from nnhand.output.printing import Page, markdown_pages
from nnhand.output.terminal import MIN_WIDTH, WIDTH, output_width, page_renderable, render_text

from .conftest import ROOT

WIDTHS = [40, 60, 80, 120, 200]


def rendered(page: Layout, width: int) -> str:
    return render_text(page_renderable(page), color=False, width=width)


def key_page(template_id: str, seed: int = 1) -> Layout:
    return build_page(make_sheet(api.solve_key(template_id, seed, None, None, []), "none"), key=True, exact=True)


# ----------------------------------------------------------------------------- reading the boxes back


@dataclasses.dataclass
class Drawn:
    title: str
    rows: list[list[str]]  # every line between │ bars, stripped; the double bar of [W | b] dropped


def drawn_grids(text: str) -> list[Drawn]:
    """Every boxed grid in `text`, in reading order (rows of grids top to bottom, left to right):
    a box starts at ┌ and ends at its ┐ on the same line, its title is the line above it over
    the box's columns, its rows run down to └."""
    lines = text.splitlines()
    grids = []
    for i, line in enumerate(lines):
        for top in re.finditer(r"┌[─┬]*┐", line):
            left, right = top.start(), top.end()
            title = lines[i - 1][left:right].strip() if i else ""
            rows = []
            k = i + 1
            while lines[k][left] != "└":
                segment = lines[k][left:right]
                assert segment[0] in "│├", (title, segment)
                if segment[0] == "│":
                    cells = segment[1:-1].split("│")
                    rows.append([c.strip() for c in cells if c != ""])  # "" only between the bars of ││
                k += 1
            grids.append(Drawn(title, rows))
    return grids


PIECE = re.compile(
    r"^(?P<name>.+?)(?:  columns? (?P<a>\d+)(?:-(?P<b>\d+))? of (?P<n>\d+)"
    r"|  cols (?P<a2>\d+)(?:-(?P<b2>\d+))? of (?P<n2>\d+)| (?P<a3>\d+)(?:-(?P<b3>\d+))?/(?P<n3>\d+))$"
)


def joined(grids: list[Drawn]) -> dict[str, tuple[list[list[str]], int]]:
    """The grids by name with the column pieces of a split grid put back side by side (each
    piece repeats the row labels: they must agree), and how many pieces each was drawn in."""
    out: dict[str, tuple[list[list[str]], int]] = {}
    expected_next: dict[str, int] = {}
    for grid in grids:
        match = PIECE.match(grid.title)
        if match is None:
            assert grid.title not in out, f"{grid.title} drawn twice"
            out[grid.title] = (grid.rows, 1)
            continue
        name = match["name"]
        first = int(match["a"] or match["a2"] or match["a3"])
        last = int(match["b"] or match["b2"] or match["b3"] or first)
        count = int(match["n"] or match["n2"] or match["n3"])
        assert first == expected_next.get(name, 1), f"{name}: the pieces skip or repeat columns ({grid.title})"
        expected_next[name] = last + 1
        if name not in out:
            out[name] = (grid.rows, 1)
        else:
            rows, pieces = out[name]
            assert len(rows) == len(grid.rows), name
            labelled = len(rows[0]) > 0 and rows[0][0] == ""  # the header's empty corner: a label column
            if labelled:
                assert [r[0] for r in rows] == [r[0] for r in grid.rows], f"{name}: row labels differ between pieces"
            out[name] = ([a + b[1 if labelled else 0 :] for a, b in zip(rows, grid.rows)], pieces + 1)
        assert last <= count, grid.title
    for name, next_column in expected_next.items():
        rows, _ = out[name]
        assert next_column - 1 == len(rows[-1]) - (1 if rows[0][0] == "" else 0), f"{name}: columns missing"
    return out


def expected_rows(q: Quantity, blank: str = "___") -> list[list[str]]:
    """The lines of q's box as the page model says they must read: the column header (an
    empty corner first), then each row's label and cells; a vector numbered 1..n has no label."""
    texts = [[blank if c.blank else c.shown for c in row] for row in q.cells]
    if q.row_labels is None:
        return texts
    numbered = [str(i + 1) for i in range(len(q.cells) - int(q.ones_row))]
    bare = len(q.shape) == 1 and list(q.row_labels[: len(numbered)]) == numbered
    if bare:
        return texts
    head = [["", *q.col_labels]] if q.col_labels is not None else []
    return head + [[label, *row] for label, row in zip(q.row_labels, texts)]


def assert_every_cell(page: Layout, text: str) -> dict[str, int]:
    """Every given and answer of the page is drawn, each cell in its row and column; returns
    how many pieces each grid was drawn in."""
    found = joined(drawn_grids(text))
    quantities = [*page.givens, *page.tables]  # the code lines draw the others (mlp-pytorch)
    for line in page.code:  # each slot of a code line: its name (a blank) or its text
        for part in line:
            if not isinstance(part, str):
                shown = f"__{part.name}__" if part.cell.blank else part.cell.text
                assert shown in text.replace("\n", ""), part
    assert sorted(found) == sorted(q.name for q in quantities), (sorted(found), text)
    for q in quantities:
        assert found[q.name][0] == expected_rows(q), (q.name, text)
    return {name: pieces for name, (_, pieces) in found.items()}


def widest(text: str) -> int:
    return max((cell_len(line) for line in text.splitlines()), default=0)


# ----------------------------------------------------------------------------- width


@pytest.mark.parametrize("width", WIDTHS)
def test_no_line_is_wider_than_the_terminal(template_id: str, width: int) -> None:
    sheet = api.generate(template_id, seed=1)
    for page in (build_page(sheet), key_page(template_id)):
        text = rendered(page, width)
        assert widest(text) <= width, text
        assert_every_cell(page, text)


@pytest.mark.parametrize("width", [MIN_WIDTH, 24, 32])
def test_a_very_narrow_terminal_still_shows_every_cell(template_id: str, width: int) -> None:
    """Too narrow for some single columns: those overflow, but nothing is lost or torn."""
    page = key_page(template_id)
    assert_every_cell(page, rendered(page, width))


def test_a_grid_too_wide_is_split_by_columns_with_its_labels() -> None:
    page = key_page("transformer")
    whole = assert_every_cell(page, rendered(page, 200))
    split = assert_every_cell(page, rendered(page, 24))
    assert set(whole.values()) == {1}
    assert split["X"] >= 2 and split["A"] >= 2, split  # 5 positions do not fit 24 columns
    text = rendered(page, 40)
    assert "X" in [g.title for g in drawn_grids(text)]  # fits whole at 40: no piece titles
    # a split [W | b] keeps its bar in the piece that holds it
    aug = build_page(dataclasses.replace(api.generate("gan", seed=1), augmented=True))
    text = rendered(aug, 30)
    assert_every_cell(aug, text)
    assert widest(text) <= 30 and "││" in text


def test_pieces_are_even() -> None:
    """12 columns of which 7 fit are drawn 6 + 6, not 7 + 5."""
    from nnhand.output.terminal import Grid

    grid = Grid("W", [str(j + 1) for j in range(12)], [("1", ["0"] * 12), ("2", ["-1"] * 12)])
    pieces = grid.split_to(grid.box_width(0, 7))
    assert [p.title for p in pieces] == ["W  columns 1-6 of 12", "W  columns 7-12 of 12"]
    assert all(p.width <= grid.box_width(0, 7) for p in pieces)


def rows_of_grids(text: str) -> int:
    return sum(1 for line in text.splitlines() if "┌" in line)


def test_wider_terminals_put_more_grids_on_a_row(template_id: str) -> None:
    page = key_page(template_id)
    counts = [rows_of_grids(rendered(page, width)) for width in WIDTHS]
    assert counts == sorted(counts, reverse=True), counts


def test_backprop_uses_a_wide_terminal() -> None:
    page = key_page("backprop")
    counts = [rows_of_grids(rendered(page, width)) for width in (40, 80, 200)]
    assert counts[0] > counts[1] > counts[2], counts


# ----------------------------------------------------------------------------- the CLI: COLUMNS, a terminal, a pipe


def cli(args: list[str], columns: str | None, stdin: str | None = None) -> str:
    env = {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": columns}
    result = CliRunner(env=env).invoke(app, args, input=stdin)
    assert result.exit_code in (0, 1), (result.stderr, result.exception)
    return result.stdout


def ones_like(value: object) -> object:
    return [ones_like(v) for v in value] if isinstance(value, list) else 1


@pytest.mark.parametrize("width", [20, 40, 60, 120])
def test_gen_key_and_check_follow_columns(tmp_path: Path, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 20 a single column can be wider than the terminal: it may overflow, but it runs."""
    fits = (lambda text: widest(text) <= width) if width > MIN_WIDTH else (lambda text: True)
    assert fits(cli(["gen", "transformer", "--seed", "1"], str(width)))
    key = cli(["key", "mlp", "--seed", "1", "--exact", "--explain"], str(width))
    assert "Worked solution" in key and fits(key)
    monkeypatch.chdir(tmp_path)
    cli(["gen", "backprop", "--seed", "2", "--answers", "a.yaml"], None)
    data = yaml.safe_load(Path("a.yaml").read_text())
    data["answers"] = {name: ones_like(value) for name, value in data["answers"].items()}  # wrong and ecf cells
    Path("a.yaml").write_text(yaml.safe_dump(data))
    report = cli(["check", "a.yaml"], str(width))
    assert "Score:" in report and "expected" in report and fits(report), report


def test_practice_shows_the_sheet_at_the_width() -> None:
    sheet = cli(["gen", "hidden-layer", "--seed", "3"], "40")
    practice = cli(["practice", "hidden-layer", "--seed", "3"], "40", stdin="q\n")
    assert practice.startswith(sheet)


def subprocess_gen(columns: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    proc = subprocess.run(
        [sys.executable, "-m", "nnhand", "gen", "transformer", "--seed", "1"],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_columns_is_honoured_in_a_pipe() -> None:
    narrow, default = subprocess_gen("60"), subprocess_gen(None)
    assert widest(narrow) <= 60 < widest(default) <= 80
    page = key_page("transformer")  # the same grids, whatever the width
    assert (
        sorted(joined(drawn_grids(narrow)))
        == sorted(joined(drawn_grids(default)))
        == sorted(q.name for q in (*page.givens, *page.answers))
    )
    assert subprocess_gen("not-a-number") == default  # a COLUMNS that is no width is ignored


def test_output_width_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert output_width(io.StringIO()) == WIDTH  # not a terminal: 80, the same everywhere
    for columns, width in (("120", 120), ("5", MIN_WIDTH), ("0", WIDTH), ("-3", WIDTH), ("wide", WIDTH)):
        monkeypatch.setenv("COLUMNS", columns)
        assert output_width(io.StringIO()) == width, columns


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_is_laid_out_for_its_own_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    leader, follower = os.openpty()
    try:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 97, 0, 0))
        with os.fdopen(follower, "w", closefd=False) as tty:
            assert output_width(tty) == 97
            monkeypatch.setenv("COLUMNS", "61")  # set by hand: it wins, as in rich and shutil
            assert output_width(tty) == 61
    finally:
        os.close(leader)
        os.close(follower)


# ----------------------------------------------------------------------------- vectors


def test_a_vector_is_a_bare_column_in_the_terminal() -> None:
    sheet = api.generate("hidden-layer", seed=7)
    text = rendered(build_page(sheet), 80)
    found = joined(drawn_grids(text))
    x = [str(v) for v in sheet.problem.givens["x"][:, 0]]
    assert found["x"][0] == [[v] for v in x]  # one cell a row: no index column to read as data
    assert all(len(row) == 1 for row in found["z1"][0])
    # a matrix keeps its header row and row labels
    assert found["W1"][0][0] == ["", "1", "2", "3"] and [r[0] for r in found["W1"][0][1:]] == ["1", "2", "3", "4"]
    # declared row names stay: batch-norm's per-feature vectors are labelled f1, f2, ...
    gamma = joined(drawn_grids(rendered(build_page(api.generate("batch-norm", seed=1)), 80)))["gamma"][0]
    assert [row[0] for row in gamma] == ["f1", "f2", "f3"] and all(len(row) == 2 for row in gamma)


def markdown_tables(md: str) -> dict[str, list[list[str]]]:
    """Each pipe table by the name in its first header cell: header, then body rows (the
    alignment row dropped)."""
    tables = {}
    for block in md.split("\n\n"):
        lines = block.splitlines()
        if not lines or not lines[0].startswith("| **"):
            continue
        rows = [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]
        tables[rows[0][0].strip("*")] = [rows[0], *rows[2:]]
    return tables


def test_a_vector_is_one_column_in_markdown() -> None:
    sheet = api.generate("hidden-layer", seed=7)
    tables = markdown_tables(markdown_pages([Page(sheet, key=True)]))
    x = [str(v) for v in sheet.problem.givens["x"][:, 0]]
    assert tables["x"] == [["**x**"], *([v] for v in x)]  # not | 1 | 6 |: one column under its name
    assert all(len(row) == 1 for row in tables["z1"])
    assert tables["W1"][0] == ["**W1**", "1", "2", "3"] and len(tables["W1"][1]) == 4
    gamma = markdown_tables(markdown_pages([Page(api.generate("batch-norm", seed=1))]))["gamma"]
    assert [row[0] for row in gamma[1:]] == ["f1", "f2", "f3"]


def test_markdown_vector_with_ones_row() -> None:
    aug = dataclasses.replace(api.generate("four-neurons", seed=2), augmented=True)
    x = [str(v) for v in aug.problem.givens["x"][:, 0]]
    tables = markdown_tables(markdown_pages([Page(aug)]))
    assert tables["\\[x; 1\\]"] == [["**\\[x; 1\\]**"], *([v] for v in x), ["—"], ["1"]]
