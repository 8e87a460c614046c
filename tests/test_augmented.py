"""The augmented form [W | b]: which givens pair up (core/augment.py), reading [W | b] back
into W and b, and sheets that draw [W | b] and [x; 1] in every writer.

The pairs expected for each template were read off its YAML by hand. The split is checked
by meaning: [W | b] @ [x; 1], multiplied out by the naive reference (tests/reference.py),
must equal the template's W @ x + b solved from the split givens.
"""

from __future__ import annotations

import dataclasses
import io
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from nnhand import api
from nnhand.core.augment import Pair, pairs, split_augmented
from nnhand.core.sheet import Sheet
from nnhand.core.template import load_template
from nnhand.output.page import build_page
from nnhand.output.printing import Page, html_document, markdown_pages, typst_source
from nnhand.output.terminal import console, render_text, sheet_renderable
from tests.reference import grid, mm

# ----------------------------------------------------------------------------- pairs


@pytest.mark.parametrize(
    ("template_id", "expected"),
    [
        ("hidden-layer", [("W1", "b1", "Wb1", "x"), ("W2", "b2", "Wb2", None)]),
        ("batch", [("W1", "b1", "Wb1", "X"), ("W2", "b2", "Wb2", None)]),
        ("four-neurons", [("W", "b", "Wb", "x")]),
        # z = dot(w, x) + b: w is a vector, not a matrix whose rows are neurons.
        ("single-neuron", []),
        (
            "autoencoder",
            [("W1", "b1", "Wb1", "X"), ("W2", "b2", "Wb2", None), ("W3", "b3", "Wb3", None), ("W4", "b4", "Wb4", None)],
        ),
        # Wd1 multiplies the fakes F (a step) and the real data X (a given): its input is X.
        # Wd2 has one row, so its bias bd2 is a scalar.
        (
            "gan",
            [
                ("Wg1", "bg1", "Wbg1", "N"),
                ("Wg2", "bg2", "Wbg2", None),
                ("Wd1", "bd1", "Wbd1", "X"),
                ("Wd2", "bd2", "Wbd2", None),
            ],
        ),
        # W and w0 have no common suffix: the joined key is the bar form.
        ("perceptron", [("W", "w0", "W|w0", "X")]),
        ("mlp", []),  # no biases at all
    ],
)
def test_pairs_of_templates(template_id: str, expected: list[tuple[str, str, str, str | None]]) -> None:
    assert pairs(api.load(template_id)) == tuple(Pair(*p) for p in expected)


def test_keys_of_a_pair() -> None:
    assert Pair("W1", "b1", "Wb1", "x").keys == ("Wb1", "W1|b1")
    assert Pair("W", "w0", "W|w0", "X").keys == ("W|w0",)
    assert Pair("W1", "b1", "Wb1", "x").title == "[W1 | b1]"


def _template(tmp_path: Path, givens: str, steps: str) -> Any:
    path = tmp_path / "t.yaml"
    path.write_text(
        "id: t\nversion: 1\ntitle: T\nsummary: s\nparams:\n  n: {default: 3, min: 2, max: 4}\n"
        f"givens:\n{givens}steps:\n{steps}",
        encoding="utf-8",
    )
    return load_template(path)


def test_pairs_bias_first_and_nested_and_not_a_pair(tmp_path: Path) -> None:
    givens = (
        "  x: {shape: [n], dist: inputs}\n"
        "  E1: {shape: [2, n], dist: weights}\n"
        "  c1: {shape: [2], dist: bias}\n"
        "  V: {shape: [2, 2], dist: weights}\n"
        "  s: {shape: [], dist: bias}\n"
        "  Wb1: {shape: [2], dist: bias}\n"
    )
    steps = (
        "  - {name: h, expr: 'sigmoid(c1 + E1 @ x)', label: h}\n"
        # a scalar added to a 2-row product is a broadcast, not a bias per neuron
        "  - {name: k, expr: 'V @ h + s', label: k}\n"
        "  - {name: m, expr: 'V @ h + Wb1', label: m}\n"
    )
    template = _template(tmp_path, givens, steps)
    # E1 + c1 share the suffix "1": "Ec1". V and Wb1 share none: the bar form "V|Wb1".
    assert pairs(template) == (Pair("E1", "c1", "Ec1", "x"), Pair("V", "Wb1", "V|Wb1", None))


def test_joined_key_that_is_taken_falls_back_to_the_bar_form(tmp_path: Path) -> None:
    givens = (
        "  x: {shape: [n], dist: inputs}\n"
        "  W1: {shape: [2, n], dist: weights}\n"
        "  b1: {shape: [2], dist: bias}\n"
        "  Wb1: {shape: [2], dist: inputs}\n"
    )
    steps = "  - {name: z, expr: 'W1 @ x + b1 + Wb1', label: z}\n"
    assert pairs(_template(tmp_path, givens, steps)) == (Pair("W1", "b1", "W1|b1", "x"),)


# ----------------------------------------------------------------------------- splitting

AUGMENTED = [[1, 0, -1, 2], [0, 1, 1, -3], [-1, 1, 0, 0], [1, 1, 1, -1]]  # [W1 | b1] of hidden-layer
W1 = [[1, 0, -1], [0, 1, 1], [-1, 1, 0], [1, 1, 1]]
B1 = [2, -3, 0, -1]
X_IN = [2, 1, 3]
REST: dict[str, Any] = {"x": X_IN, "W2": [[1, 0, 1, 0], [0, 1, 0, 1]], "b2": [0, 1]}


def _shapes(template_id: str) -> dict[str, tuple[int, ...]]:
    template = api.load(template_id)
    return template.given_shapes(template.resolve_params(None))


@pytest.mark.parametrize("key", ["Wb1", "W1|b1"])
def test_split_joined_key_means_w_x_plus_b(key: str) -> None:
    template = api.load("hidden-layer")
    givens = {"x": REST["x"], key: AUGMENTED, "W2": REST["W2"], "b2": REST["b2"]}
    split, errors = split_augmented(template, givens, "givens.yaml", shapes=_shapes("hidden-layer"))
    assert errors == []
    assert split == {"x": REST["x"], "W1": W1, "b1": B1, "W2": REST["W2"], "b2": REST["b2"]}  # W1, b1 in place
    assert list(split) == ["x", "W1", "b1", "W2", "b2"]
    problem = api.solve("hidden-layer", split)
    # [W1 | b1] @ [x; 1], multiplied out by hand: the meaning of the augmented form.
    x1 = [[Fraction(v)] for v in X_IN] + [[Fraction(1)]]
    assert grid(problem.values["z1"]) == mm([[Fraction(v) for v in row] for row in AUGMENTED], x1)
    assert grid(problem.values["z1"]) == [[1], [1], [-1], [5]]  # row 1: 1·2 + 0·1 - 1·3 + 2 = 1, by hand


@pytest.mark.parametrize("shapes", [True, False])
def test_split_weights_with_one_extra_column_and_no_bias(shapes: bool) -> None:
    template = api.load("hidden-layer")
    givens = {"x": REST["x"], "W1": AUGMENTED, "W2": REST["W2"], "b2": REST["b2"]}
    split, errors = split_augmented(template, givens, "", shapes=_shapes("hidden-layer") if shapes else None)
    assert errors == []
    assert list(split) == ["x", "W1", "b1", "W2", "b2"]
    assert split["W1"] == W1 and split["b1"] == B1


def test_weights_of_the_right_shape_without_bias_are_left_alone() -> None:
    """With shapes known, a W of the right shape whose b is missing is not split (the reader
    then says that b is missing)."""
    template = api.load("hidden-layer")
    givens = {"x": REST["x"], "W1": W1, "W2": REST["W2"], "b2": REST["b2"]}
    assert split_augmented(template, givens, "g", shapes=_shapes("hidden-layer")) == (givens, [])


def test_plain_givens_pass_through() -> None:
    template = api.load("hidden-layer")
    givens = {"x": "2 1 3", "W1": "[1 0 -1; 0 1 1; -1 1 0; 1 1 1]", "b1": B1, **{k: REST[k] for k in ("W2", "b2")}}
    split, errors = split_augmented(template, givens, "g")
    assert errors == [] and split == givens


def test_split_scalar_bias_of_a_one_row_layer() -> None:
    """gan: Wd2 is 1x3 and bd2 a scalar; [Wd2 | bd2] may be written as one flat row."""
    template = api.load("gan")
    for written in ([1, 0, -1, 2], [[1, 0, -1, 2]]):
        split, errors = split_augmented(template, {"Wbd2": written}, "g", shapes=_shapes("gan"))
        assert errors == []
        assert split == {"Wd2": [[1, 0, -1]], "bd2": 2}
        split, errors = split_augmented(template, {"Wbd2": written}, "g")
        assert errors == [] and split == {"Wd2": [[1, 0, -1]], "bd2": 2}


def test_split_batch_then_solve_matches_reference() -> None:
    template = api.load("batch")
    X = [[1, 0, 2], [0, 3, 1], [2, 1, 0]]
    aug = [[1, -1, 0, 1], [0, 1, 1, 0], [1, 0, -1, -2], [0, 0, 1, 1]]
    givens = {"X": X, "Wb1": aug, "Wb2": [[1, 0, 1, 0, -1], [0, 1, 0, 1, 0]]}
    split, errors = split_augmented(template, givens, "g", shapes=_shapes("batch"))
    assert errors == []
    assert split["b2"] == [-1, 0] and split["W2"] == [[1, 0, 1, 0], [0, 1, 0, 1]]
    problem = api.solve("batch", split)
    ones = [[Fraction(v) for v in row] for row in X] + [[Fraction(1)] * 3]
    assert grid(problem.values["Z1"]) == mm([[Fraction(v) for v in row] for row in aug], ones)


def test_error_joined_and_separate_both_given() -> None:
    template = api.load("hidden-layer")
    givens = {"Wb1": AUGMENTED, "W1": W1, **REST}
    split, errors = split_augmented(template, givens, "givens.yaml")
    assert errors == [
        "givens.yaml: Wb1: [W1 | b1] is given, and W1 as well: write either Wb1 or W1 and b1",
    ]
    assert "Wb1" in split  # left for the caller, who reports the error


def test_error_both_keys() -> None:
    template = api.load("hidden-layer")
    _, errors = split_augmented(template, {"Wb1": AUGMENTED, "W1|b1": AUGMENTED, **REST}, "g")
    assert errors == ["g: Wb1: [W1 | b1] is written twice (as Wb1 and as W1|b1)"]


def test_error_wrong_column_count_says_the_expected_shape() -> None:
    template = api.load("hidden-layer")
    three = [row[:3] for row in AUGMENTED]
    _, errors = split_augmented(template, {"Wb1": three, **REST}, "g", shapes=_shapes("hidden-layer"))
    assert errors == [
        "g: Wb1: [W1 | b1] has 4 rows of 3 numbers; expected 4 rows of 4 numbers "
        "(W1 is 4x3, then b1 as the last column)"
    ]
    _, errors = split_augmented(template, {"Wb1": AUGMENTED[:3], **REST}, "g", shapes=_shapes("hidden-layer"))
    assert errors and "has 3 rows of 4 numbers; expected 4 rows of 4 numbers" in errors[0]


def test_error_without_shapes_says_rows_of_w_with_b_last() -> None:
    template = api.load("hidden-layer")
    ragged = [[1, 0, 2], [1, 2], [0, 0, 1], [1, 1, 1]]
    _, errors = split_augmented(template, {"Wb1": ragged, **REST}, "g")
    assert errors == ["g: Wb1: [W1 | b1] has 4 rows of 2/3 numbers; expected rows of W1 with b1 as the last column"]


def test_error_a_string_asks_for_rows() -> None:
    template = api.load("hidden-layer")
    split, errors = split_augmented(template, {"Wb1": "[1 0 -1 2; 0 1 1 -3]", **REST}, "g")
    assert errors == [
        "g: Wb1: write [W1 | b1] as rows (a list of lists of numbers): rows of W1 with b1 as the last column"
    ]
    assert split["Wb1"] == "[1 0 -1 2; 0 1 1 -3]"  # left alone
    split, errors = split_augmented(template, {"W1": "1 0 -1 2; 0 1 1 -3", **REST}, "")
    assert errors == [
        "W1: b1 is missing; to give it as the last column of W1, write W1 as rows "
        "(a list of lists of numbers), e.g. W1: [[1, 0, 2], [0, 1, -1]]"
    ]


def test_all_errors_are_reported_together() -> None:
    template = api.load("autoencoder")
    givens = {"Wb1": "1 2 3", "Wb2": [[1, 2], [3, 4]], "W3": [[1, 0]], "b3": [1], "Wb3": [[1, 0, 1]]}
    _, errors = split_augmented(template, givens, "g", shapes=_shapes("autoencoder"))
    assert [e.split(":")[1].strip() for e in errors] == ["Wb1", "Wb2", "Wb3"]


# ----------------------------------------------------------------------------- rendering


def _augmented(sheet: Sheet) -> Sheet:
    return dataclasses.replace(sheet, augmented=True)


def test_terminal_draws_the_bar_and_the_ones_row() -> None:
    sheet = api.generate("hidden-layer", seed=1)
    text = render_text(sheet_renderable(_augmented(sheet)), color=False)
    plain_text = render_text(sheet_renderable(sheet), color=False)
    w1, b1, x = (grid(sheet.problem.givens[n]) for n in ("W1", "b1", "x"))
    assert "[W1 | b1]" in text and "[W2 | b2]" in text and "[x; 1]" in text
    assert "[W1 | b1]" not in plain_text and "││" not in plain_text
    words = " ".join(text.split())  # the legend wraps at 80 columns
    assert "[W1 | b1], [W2 | b2]: the bias is the last column; [x; 1]: a 1 appended below the input" in words
    lines = text.splitlines()
    for i, row in enumerate(w1):
        cells = r"\s*│\s*".join(re.escape(str(v)) for v in row)
        assert any(re.search(rf"│ {i + 1} │\s*{cells} ││\s*{b1[i][0]} │", line) for line in lines), (i, text)
    # [x; 1]: the three inputs, a rule, then the 1 (a vector: a bare column, no index column;
    # its title is wider than its box, so the box widens to it)
    column = [line[:6] for line in lines]  # the first grid of the row of givens
    start = [c.rstrip() for c in column].index("[x; 1]")
    assert [line.rstrip() for line in column[start : start + 8]] == [
        "[x; 1]",
        "┌────┐",
        *(f"│ {x[i][0]!s:>2} │" for i in range(3)),
        "├────┤",
        "│  1 │",
        "└────┘",
    ]
    assert "b1" not in [line.split()[0] for line in lines if line.strip()]  # b1 is not drawn on its own


def test_terminal_ascii_keeps_the_bar() -> None:
    """Where the output cannot hold Unicode the double bar becomes ||, the rule +---+."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    console(file=out, color=False).print(sheet_renderable(_augmented(api.generate("four-neurons", seed=2))))
    out.flush()
    text = raw.getvalue().decode("ascii")  # strict: every byte is ASCII
    assert "[W | b]" in text and "[x; 1]" in text
    lines = text.splitlines()
    assert any(re.match(r"\| 1 \|[-\d |]*\|\|\s*-?\d+ \|", line) for line in lines), text
    ones = lines.index(next(x for x in lines if x.endswith("+----+") and "|" in x[:-6]))  # the rule of [x; 1]
    assert lines[ones + 1].endswith("|  1 |"), text


def test_markdown_html_typst_show_bar_and_ones_row() -> None:
    sheet = api.generate("batch", seed=1)
    aug = _augmented(sheet)
    w1, b1, X = (grid(sheet.problem.givens[n]) for n in ("W1", "b1", "X"))
    md = markdown_pages([Page(aug), Page(aug, key=True)])
    assert "| **\\[W1 \\| b1\\]** | 1 | 2 | 3 | \\| | b1 |" in md
    for i, row in enumerate(w1):
        assert f"| {i + 1} | {' | '.join(str(v) for v in row)} | \\| | {b1[i][0]} |" in md
    assert f"| 3 | {' | '.join(str(v) for v in X[2])} |\n|  | — | — | — |\n|  | 1 | 1 | 1 |" in md
    assert "\\[X; 1\\]: a 1 appended below each column" in md

    html = html_document([Page(aug)])
    bar = 'style="border-left: 2pt solid #111"'
    assert html.count(bar) == (1 + 4) + (1 + 2)  # header + rows of [W1 | b1] and [W2 | b2]
    assert f'<th scope="col" {bar}>b1</th>' in html
    rule = 'style="border-top: 2pt solid #111"'
    assert html.count(rule) == 1 + 3  # the label cell and the three 1s of [X; 1]
    assert f"<td {rule}>1</td>" in html

    typ = typst_source([Page(aug)])

    def typst_table(name: str) -> str:  # one quantity's call: from its nn-q( to the next one
        return typ.split(f'nn-q("{name}", ', 1)[1].split("nn-q(", 1)[0]

    assert "table.vline(x: 4, stroke: 1.5pt + black)" in typst_table("[W1 | b1]")  # the bar before b1
    assert "table.vline(x: 5, stroke: 1.5pt + black)" in typst_table("[W2 | b2]")
    assert "table.hline(y: 4, stroke: 1.5pt + black)" in typst_table("[X; 1]")  # the rule above the 1s
    assert typst_table("[X; 1]").count('"1"') >= 3  # the appended row of 1s under the 3 columns

    plain = markdown_pages([Page(sheet)]) + html_document([Page(sheet)]) + typst_source([Page(sheet)])
    assert "[W1 | b1]" not in plain and "\\[W1" not in plain
    assert bar not in plain and rule not in plain and "vline" not in plain and "hline" not in plain


def test_typst_compiles_augmented() -> None:
    typst = pytest.importorskip("typst")
    aug = _augmented(api.generate("gan", seed=3))
    pdf = bytes(typst.compile(typst_source([Page(aug), Page(aug, key=True)]).encode("utf-8")))
    assert pdf.startswith(b"%PDF")


def test_page_model_of_augmented_sheet() -> None:
    sheet = api.generate("gan", seed=1)
    page = build_page(_augmented(sheet))
    names = [q.name for q in page.givens]
    assert names == ["[N; 1]", "[X; 1]", "[Wg1 | bg1]", "[Wg2 | bg2]", "[Wd1 | bd1]", "[Wd2 | bd2]"]
    wd2 = page.givens[-1]
    assert wd2.shape == (1, 4) and wd2.split_col == 3 and wd2.col_labels == ("1", "2", "3", "bd2")
    expected = [*grid(sheet.problem.givens["Wd2"])[0], grid(sheet.problem.givens["bd2"])[0][0]]
    assert [Fraction(t) for t in wd2.texts[0]] == expected
    n1 = page.givens[0]
    assert n1.ones_row and n1.shape == (3, 4) and n1.texts[-1] == ["1"] * 4 and n1.row_labels == ("1", "2", "")
    # the augmented drawing, read back through split_augmented, gives the sheet's givens again
    written = {q.name.strip("[]").replace(" ", ""): [[int(t) for t in row] for row in q.texts] for q in page.givens}
    split, errors = split_augmented(sheet.problem.template, {"Wg1|bg1": written["Wg1|bg1"]}, "g")
    assert errors == []
    assert split["Wg1"] == [[int(v) for v in row] for row in grid(sheet.problem.givens["Wg1"])]
    assert split["bg1"] == [int(row[0]) for row in grid(sheet.problem.givens["bg1"])]


def test_lms_renders_augmented_sheet() -> None:
    from nnhand.output import lms

    text = lms._cloze_text(_augmented(api.generate("four-neurons", seed=1)), [])
    assert "[W | b]" in text and "[x; 1]" in text
