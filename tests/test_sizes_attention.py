"""Sizes of the attention / transformer family (issue 11): every size param of these
templates, at its min and at its max (the others at their defaults, then all at min and
all at max), generates an instance whose shapes follow the params and whose key agrees
with a naive reference written here from the exercise's description (plain loops over
Fractions: tests/reference.py, no nnhand op, no NumPy maths).

Beyond the sizes of the published exercises the templates switch (`when:`) to constraints
that a random draw can still meet: scores from -1 to 4 (3^-1 = 1/3, 3^4 = 81) in place of
0..3 or -1..3, tokens that may repeat, a 0/1 attention column with 2 to 4 ones. The tests
below check those windows on the numbers themselves, and that the default instances are
the ones the templates drew before the switch.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest

import nnhand
from nnhand.core.engine import Problem, generate
from nnhand.core.keys import key_data
from nnhand.core.sheet import make_sheet
from nnhand.grading.answers import answer_file_data
from nnhand.grading.grade import grade_data

from .reference import (
    Matrix,
    add_col,
    argmax_cols,
    cells,
    givens_of,
    grid,
    mm,
    relu,
    round_cells,
    softmax_cols,
    switch_transformer,
    transpose,
)

SEEDS = (1, 2)
MASKED = -99


# ----------------------------------------------------------------------------- naive helpers


def colsums(m: Matrix) -> Matrix:
    return [[sum(col, Fraction(0)) for col in zip(*m)]]


def divide_cols(m: Matrix, sums: Matrix) -> Matrix:
    return [[v / sums[0][j] for j, v in enumerate(row)] for row in m]


def round_whole(v: Any) -> Fraction:
    """Whole-number rounding, halves away from zero."""
    q = Fraction(v)
    magnitude = math.floor(abs(q) + Fraction(1, 2))
    return Fraction(magnitude if q >= 0 else -magnitude)


def sqrt_rounded(dk: int) -> int:
    """√dk rounded to the nearest whole number (no √ of a whole number is a half)."""
    return min(range(1, dk + 1), key=lambda m: abs(m - math.sqrt(dk)))


def head(x_q: Matrix, x_kv: Matrix, wq: Matrix, wk: Matrix, wv: Matrix) -> dict[str, Matrix]:
    """One unscaled 3^x attention head, A and Z rounded to 2 decimals as on paper."""
    q, k, v = mm(wq, x_q), mm(wk, x_kv), mm(wv, x_kv)
    s = mm(transpose(k), q)
    a = round_cells(softmax_cols(s))
    return {"Q": q, "K": k, "V": v, "S": s, "A": a, "Z": round_cells(mm(v, a))}


# ----------------------------------------------------------------------------- references


def self_attention_ref(g: dict[str, Matrix], p: dict[str, int]) -> dict[str, Matrix]:
    q, k, v = mm(g["WQ"], g["X"]), mm(g["WK"], g["X"]), mm(g["WV"], g["X"])
    s = mm(transpose(k), q)
    d = cells(s, lambda x: round_whole(Fraction(x) / sqrt_rounded(p["dk"])))
    e = cells(d, lambda x: Fraction(3) ** int(x))
    esum = colsums(e)
    a = round_cells(divide_cols(e, esum))
    # 3^-1 may occur at every size: E is written 0.33, the sums and weights keep the thirds exact
    e, esum = round_cells(e), round_cells(esum)
    return {"Q": q, "K": k, "V": v, "S": s, "D": d, "E": e, "Esum": esum, "A": a, "Z": round_cells(mm(v, a))}


def causal_attention_ref(g: dict[str, Matrix], p: dict[str, int]) -> dict[str, Matrix]:
    q, k, v = mm(g["W_Q"], g["X"]), mm(g["W_K"], g["X"]), mm(g["W_V"], g["X"])
    s = mm(transpose(k), q)
    m = [[s[i][j] if i <= j else Fraction(MASKED) for j in range(len(s[0]))] for i in range(len(s))]
    e = [[Fraction(3) ** int(x) if i <= j else Fraction(0) for j, x in enumerate(row)] for i, row in enumerate(m)]
    a = round_cells(divide_cols(e, colsums(e)))
    if p["n"] > 4:  # 3^-1 may occur: E is written 0.33, the weights keep the thirds exact
        e = round_cells(e)
    return {"Q": q, "K": k, "V": v, "S": s, "M": m, "E": e, "A": a, "Z": round_cells(mm(v, a))}


def cross_attention_ref(g: dict[str, Matrix], p: dict[str, int]) -> dict[str, Matrix]:
    return head(g["Y"], g["X"], g["W_Q"], g["W_K"], g["W_V"])


def multi_head_ref(g: dict[str, Matrix], p: dict[str, int]) -> dict[str, Matrix]:
    out: dict[str, Matrix] = {}
    for h in range(1, p["heads"] + 1):
        one = head(g["X"], g["X"], g[f"W_Q{h}"], g[f"W_K{h}"], g[f"W_V{h}"])
        out.update({f"{name}{h}": value for name, value in one.items()})
    if p["heads"] == 1:  # nothing to stack: the projection of the one head
        out["O"] = round_cells(mm(g["W_O"], out["Z1"]))
        return out
    out["Z_cat"] = [row for h in range(1, p["heads"] + 1) for row in out[f"Z{h}"]]  # head 1's rows first
    out["O"] = round_cells(mm(g["W_O"], out["Z_cat"]))
    return out


def transformer_ref(g: dict[str, Matrix], p: dict[str, int]) -> dict[str, Matrix]:
    z = mm(g["X"], g["A"])
    f = add_col(mm(g["W1"], z), g["b1"])
    h = relu(f)
    return {"Z": z, "F": f, "H": h, "Y": add_col(mm(g["W2"], h), g["b2"])}


def moe_ref(g: dict[str, Matrix], p: dict[str, int]) -> dict[str, Matrix]:
    gate = add_col(mm(g["Wg"], g["X"]), g["bg"])
    choice = argmax_cols(gate)
    columns = []
    for t, k in enumerate(choice[0]):
        xt = [[row[t]] for row in g["X"]]
        columns.append([r[0] for r in relu(add_col(mm(g[f"E{k}"], xt), g[f"c{k}"]))])
    return {"G": gate, "choice": choice, "Y": transpose(columns)}


def softmax_temperature_ref(g: dict[str, Matrix], p: dict[str, int]) -> dict[str, Matrix]:
    t, r = g["T"][0][0], g["r"][0][0]
    s = cells(g["z"], lambda v: Fraction(v) / t)
    e = cells(s, lambda v: Fraction(3) ** int(v))
    total = colsums(e)
    probs = round_cells(divide_cols(e, total))
    running, c = Fraction(0), []
    for row in probs:
        running += row[0]
        c.append([running])
    pick = next(k for k, row in enumerate(c, start=1) if r < row[0])
    return {"s": s, "E": e, "S": total, "P": probs, "C": round_cells(c), "pick": [[Fraction(pick)]]}


def unembedding_ref(g: dict[str, Matrix], p: dict[str, int]) -> dict[str, Matrix]:
    h = [[row[-1]] for row in g["H"]]
    z = mm(g["U"], h)
    e = cells(z, lambda v: Fraction(3) ** int(v))
    total = colsums(e)
    probs = round_cells(divide_cols(e, total))
    return {"h": h, "z": z, "E": e, "S": total, "P": probs, "next": argmax_cols(probs)}


# Each template: its reference, and the shape every given must have for params p.
Shapes = Callable[[dict[str, int]], dict[str, tuple[int, int]]]
CASES: dict[str, tuple[Callable[[dict[str, Matrix], dict[str, int]], dict[str, Matrix]], Shapes]] = {
    "self-attention": (
        self_attention_ref,
        lambda p: {
            "X": (p["d_model"], p["n"]),
            "WQ": (p["dk"], p["d_model"]),
            "WK": (p["dk"], p["d_model"]),
            "WV": (p["dv"], p["d_model"]),
        },
    ),
    "causal-attention": (
        causal_attention_ref,
        lambda p: {
            "X": (p["d_model"], p["n"]),
            "W_Q": (p["dk"], p["d_model"]),
            "W_K": (p["dk"], p["d_model"]),
            "W_V": (p["dv"], p["d_model"]),
        },
    ),
    "cross-attention": (
        cross_attention_ref,
        lambda p: {
            "X": (p["d_model"], p["n_src"]),
            "Y": (p["d_model"], p["n_tgt"]),
            "W_Q": (p["dk"], p["d_model"]),
            "W_K": (p["dk"], p["d_model"]),
            "W_V": (p["dv"], p["d_model"]),
        },
    ),
    "multi-head-attention": (
        multi_head_ref,
        lambda p: {
            "X": (p["d_model"], p["n"]),
            **{f"W_{m}{h}": (2, p["d_model"]) for m in "QKV" for h in range(1, p["heads"] + 1)},
            "W_O": (p["d_model"], 2 * p["heads"]),
        },
    ),
    "transformer": (
        transformer_ref,
        lambda p: {
            "X": (p["d_model"], p["n"]),
            "A": (p["n"], p["n"]),
            "W1": (p["d_ff"], p["d_model"]),
            "b1": (p["d_ff"], 1),
            "W2": (p["d_model"], p["d_ff"]),
            "b2": (p["d_model"], 1),
        },
    ),
    "switch-transformer": (
        lambda g, p: switch_transformer(g, p["capacity"]),
        lambda p: {
            "X": (p["d_model"], p["n"]),
            "A": (p["n"], p["n"]),
            "S": (3, p["d_model"]),
            **{f"E{k}": (p["d_model"], p["d_model"]) for k in "123"},
            **{f"c{k}": (p["d_model"], 1) for k in "123"},
        },
    ),
    "moe": (
        moe_ref,
        lambda p: {
            "X": (p["d_model"], p["n"]),
            "Wg": (2, p["d_model"]),
            "bg": (2, 1),
            **{f"E{k}": (p["d_out"], p["d_model"]) for k in "12"},
            **{f"c{k}": (p["d_out"], 1) for k in "12"},
        },
    ),
    "softmax-temperature": (softmax_temperature_ref, lambda p: {"z": (p["n"], 1), "T": (1, 1), "r": (1, 1)}),
    "unembedding": (
        unembedding_ref,
        lambda p: {"H": (p["d_model"], p["n"]), "U": (p["vocab"], p["d_model"])},
    ),
}

# The ranges this family promises (issue 11); a narrower range is a regression. Where a
# target (8 tokens, 8 features, 3 heads) is not met, a larger size makes the constraints
# (every score a small power of 3, in every one of up to n x n cells; distinct weight rows)
# too rare a draw for the sampler, with the distributions the default instances fix:
# self-attention keeps d_model <= 6 at 8 tokens, causal d_model <= 5, cross-attention
# n_tgt <= 5 and d_model <= 5, multi-head n, d_model <= 4 with 3 heads, transformer
# d_ff >= 3 (8 distinct 2-column rows of W2 are all but impossible).
PROMISED = {
    "self-attention": {"n": (2, 8), "d_model": (3, 6), "dk": (2, 4), "dv": (1, 4)},
    "causal-attention": {"n": (2, 8), "d_model": (3, 5), "dk": (1, 3), "dv": (1, 4)},
    "cross-attention": {"n_src": (2, 8), "n_tgt": (2, 5), "d_model": (3, 5), "dk": (2, 3), "dv": (1, 4)},
    "multi-head-attention": {"n": (2, 4), "d_model": (3, 4), "heads": (1, 3)},
    "transformer": {"n": (3, 8), "d_model": (3, 8), "d_ff": (3, 5)},
    "switch-transformer": {"capacity": (1, 5), "n": (3, 8), "d_model": (2, 8)},
    "moe": {"n": (2, 8), "d_model": (3, 8), "d_out": (2, 6)},
    "softmax-temperature": {"n": (2, 10)},
    "unembedding": {"n": (2, 8), "d_model": (3, 8), "vocab": (2, 10)},
}


def size_points(template_id: str) -> list[dict[str, int]]:
    """Each param at its min and at its max (the others at their defaults), all at min, all at max."""
    params = nnhand.load(template_id).params
    defaults = {name: p.default for name, p in params.items()}
    points = [{**defaults, name: getattr(p, end)} for name, p in params.items() for end in ("low", "high")]
    points.append({name: p.low for name, p in params.items()})
    points.append({name: p.high for name, p in params.items()})
    return points


POINTS = [
    pytest.param(tid, point, seed, id=f"{tid}-{'-'.join(f'{k}{v}' for k, v in point.items())}-s{seed}")
    for tid in CASES
    for point in size_points(tid)
    for seed in SEEDS
]


@pytest.mark.parametrize(("template_id", "params", "seed"), POINTS)
def test_key_matches_naive_reference_at_every_size(template_id: str, params: dict[str, int], seed: int) -> None:
    reference, shapes = CASES[template_id]
    problem: Problem = generate(nnhand.load(template_id), seed, params)
    for name, shape in shapes(params).items():
        assert problem.givens[name].shape == shape, f"{template_id} {params}: {name} is {problem.givens[name].shape}"
    expected = reference(givens_of(problem), params)
    for name, want in expected.items():
        got = grid(problem.values[name])
        assert got == want, f"{problem.variant}: {name} is {got}, expected {want}"


@pytest.mark.parametrize("template_id", sorted(PROMISED))
def test_ranges_are_as_promised(template_id: str) -> None:
    params = nnhand.load(template_id).params
    assert {name: (p.low, p.high) for name, p in params.items()} == PROMISED[template_id]


def test_scale_follows_dk() -> None:
    """√dk rounded: dk = 3 gives 2 as in the published exercise (√3 ≈ 1.7), dk = 2 gives 1, dk = 4 gives 2;
    the engine's D is S divided by that, rounded half away from zero."""
    assert [sqrt_rounded(dk) for dk in range(1, 9)] == [1, 1, 2, 2, 2, 2, 3, 3]
    template = nnhand.load("self-attention")
    for dk, divisor in ((2, 1), (3, 2), (4, 2)):
        problem = generate(template, 5, {"dk": dk})
        s, d = grid(problem.values["S"]), grid(problem.values["D"])
        assert d == [[round_whole(Fraction(x) / divisor) for x in row] for row in s]


def test_scale_note_is_true_for_every_dk() -> None:
    """The note states the divisor for every dk from 1 to 8: check each claim against √dk rounded."""
    note = next(n for n in nnhand.load("self-attention").notes if "√dk" in n)
    claims = {"1 for dk = 1 or 2": (1, 2), "2 for dk = 3 to 6": (3, 4, 5, 6), "3 for dk = 7 or 8": (7, 8)}
    for claim, dks in claims.items():
        assert claim in note
        assert {sqrt_rounded(dk) for dk in dks} == {int(claim[0])}


def test_switch_capacity_counts_in_token_order_at_six_tokens() -> None:
    """Hand-worked: six tokens (A = identity, so Z = X) all scored highest by expert 1
    (S's first row sums the features, the third subtracts them); at capacity 2 tokens 1
    and 2 get E1·z + c1 = 2z + [1, 0, 0] and tokens 3 to 6 pass through unchanged."""
    x = [[1, 0, 2, 0, 1, 3], [0, 1, 0, 2, 1, 0], [1, 1, 0, 0, 0, 1]]
    twice = [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
    givens = {
        "X": x,
        "A": [[int(i == j) for j in range(6)] for i in range(6)],
        "S": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
        **{f"E{k}": twice for k in "123"},
        **{f"c{k}": [1, 0, 0] for k in "123"},
    }
    problem = nnhand.solve("switch-transformer", givens, {"capacity": 2})
    assert grid(problem.values["route"]) == [[1, 1, 1, 1, 1, 1]]
    assert transpose(grid(problem.values["Y"])) == [[3, 0, 2], [1, 2, 2], [2, 0, 0], [0, 2, 0], [1, 1, 0], [3, 0, 1]]


# ----------------------------------------------------------------------------- windows, heads, defaults


def window(m: Matrix, cells_kept: Callable[[int, int], bool] = lambda i, j: True) -> tuple[Fraction, Fraction]:
    kept = [v for i, row in enumerate(m) for j, v in enumerate(row) if cells_kept(i, j)]
    return min(kept), max(kept)


def scaled_scores(problem: Problem, dk: int) -> Matrix:
    g = givens_of(problem)
    s = mm(transpose(mm(g["WK"], g["X"])), mm(g["WQ"], g["X"]))
    return cells(s, lambda x: round_whole(Fraction(x) / sqrt_rounded(dk)))


@pytest.mark.parametrize("n", [2, 4, 6, 8])
@pytest.mark.parametrize("seed", range(4))
def test_self_attention_scores_stay_in_the_window_of_their_size(n: int, seed: int) -> None:
    """Up to 6 tokens every scaled score is -1..3 (the published exercise has -1 and 3) and
    every column sum of E (from the exact thirds) at most 49, the largest published answer;
    with 7 or 8 (more scores to keep in the window) -1..4, 3^4 = 81 joining the table. The
    scores are recomputed here from the givens; the 3^-1 cells are written 0.33 in E."""
    problem = generate(nnhand.load("self-attention"), seed, {"n": n})
    d = scaled_scores(problem, 3)
    lo, hi = window(d)
    top = 3 if n <= 6 else 4
    assert lo >= -1 and hi <= top, (problem.variant, lo, hi)
    e = grid(problem.values["E"])
    assert {v for row in e for v in row} <= {Fraction(33, 100), *(3**k for k in range(top + 1))}
    if n <= 6:
        assert all(sum(Fraction(3) ** int(v) for v in col) <= 49 for col in zip(*d)), problem.variant


def test_self_attention_has_negative_scores_on_most_sheets() -> None:
    """The published sheet scales three scores to -1 (3^-1 = 1/3): so do most generated ones."""
    template = nnhand.load("self-attention")
    sheets = (scaled_scores(generate(template, seed), 3) for seed in range(40))
    with_third = sum(any(v < 0 for row in d for v in row) for d in sheets)
    assert with_third >= 20, with_third


@pytest.mark.parametrize(("n", "high"), [(4, 3), (8, 3)])
@pytest.mark.parametrize("seed", range(4))
def test_causal_unmasked_scores_stay_in_the_window_of_their_size(n: int, high: int, seed: int) -> None:
    problem = generate(nnhand.load("causal-attention"), seed, {"n": n})
    g = givens_of(problem)
    s = mm(transpose(mm(g["W_K"], g["X"])), mm(g["W_Q"], g["X"]))
    lo, hi = window(s, lambda i, j: i <= j)  # the keys a query may see
    assert (0 if n <= 4 else -1) <= lo and hi <= high, (problem.variant, lo, hi)
    assert any(s[i][j] > 0 for j in range(n) for i in range(j + 1, n)), "the mask hides nothing that mattered"


@pytest.mark.parametrize("heads", [1, 2, 3])
@pytest.mark.parametrize("seed", range(3))
def test_multi_head_has_exactly_the_heads_asked_for(heads: int, seed: int) -> None:
    """heads = 1, 2, 3: the givens and steps of each head and no more, W_O with two columns
    per head, every head's scores within -1..3 (two heads, the published exercise) or -1..4
    (three), and the key as the naive reference computes it."""
    params = {"n": 4, "d_model": 4, "heads": heads}
    problem = generate(nnhand.load("multi-head-attention"), seed, params)
    for h in (1, 2, 3):
        for name in (f"W_Q{h}", f"W_K{h}", f"W_V{h}"):
            assert (name in problem.givens) == (h <= heads), name
        assert (f"S{h}" in problem.values) == (h <= heads)
    assert ("Z_cat" in problem.values) == (heads >= 2)
    assert problem.givens["W_O"].shape == (4, 2 * heads)
    expected = multi_head_ref(givens_of(problem), params)
    for h in range(1, heads + 1):
        lo, hi = window(expected[f"S{h}"])
        assert lo >= -1 and hi <= (3 if heads <= 2 else 4), (problem.variant, h, lo, hi)
    for name, want in expected.items():
        assert grid(problem.values[name]) == want, f"{problem.variant}: {name}"


@pytest.mark.parametrize(("template_id", "n"), [("transformer", 8), ("switch-transformer", 8), ("transformer", 5)])
@pytest.mark.parametrize("seed", range(3))
def test_given_attention_columns_hold_two_to_four_ones(template_id: str, n: int, seed: int) -> None:
    """Each column of the given 0/1 attention marks 2 or 3 positions up to six positions
    (as published), 2 to 4 of seven or eight."""
    a = grid(generate(nnhand.load(template_id), seed, {"n": n}).givens["A"])
    ones = [sum(col) for col in zip(*a)]
    assert all(2 <= k <= (3 if n <= 6 else 4) for k in ones), ones


def test_worked_three_head_projection() -> None:
    """Hand-worked: three heads whose value rows copy feature 1 and 2 of X; with X's two
    tokens equal, every attention column averages equal columns, so Z_h = V_h and
    O = W_O·[Z1; Z2; Z3] sums what W_O picks: [1 0 0 0 0 1] picks Z1's row 1 and Z3's row 2."""
    x = [[1, 1], [2, 2], [0, 0]]
    w = [[1, 0, 0], [0, 1, 0]]
    givens = {"X": x, **{f"W_{m}{h}": w for m in "QKV" for h in "123"}}
    givens["W_O"] = [[1, 0, 0, 0, 0, 1], [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]]
    problem = nnhand.solve("multi-head-attention", givens, {"heads": 3})
    assert grid(problem.values["A3"]) == [[Fraction(1, 2)] * 2] * 2
    assert grid(problem.values["Z_cat"]) == [[1, 1], [2, 2]] * 3
    assert grid(problem.values["O"]) == [[3, 3], [1, 1], [0, 0]]


# Digests of the givens of seeds 0..4 at the default params, pinned at each template's current
# version (issue 12's realism rules and distributions bumped them): a change of what the
# defaults draw must come with a version bump and a new digest here.
DEFAULT_DIGESTS = {
    "self-attention": "72761cf82abba533",
    "causal-attention": "cf321224aa3621f1",
    "cross-attention": "d1cac49aac6a90d8",
    "multi-head-attention": "a4087009327bebd0",
    "transformer": "13ea93f26cca3f1b",
    "switch-transformer": "76e8c19fed473877",
    "moe": "6112dd15cc17b3cd",
    "softmax-temperature": "8a0c277c0b48b81c",
    "unembedding": "96dc488968a91168",
}


@pytest.mark.parametrize("template_id", sorted(DEFAULT_DIGESTS))
def test_default_instances_are_unchanged(template_id: str) -> None:
    template = nnhand.load(template_id)
    digest = hashlib.sha256()
    for seed in range(5):
        problem = generate(template, seed)
        givens = {name: [[str(v) for v in row] for row in value.tolist()] for name, value in problem.givens.items()}
        digest.update(json.dumps(givens, sort_keys=True).encode())
    assert digest.hexdigest()[:16] == DEFAULT_DIGESTS[template_id]


@pytest.mark.parametrize("template_id", sorted(CASES))
def test_key_grades_itself_at_the_largest_sizes(template_id: str) -> None:
    """At every param's max the sheet, its answer file and the grader still fit together:
    the key, written into the answer file, scores every blank (thirds, 0.33 and all)."""
    largest = size_points(template_id)[-1]
    for seed in SEEDS:
        sheet = make_sheet(generate(nnhand.load(template_id), seed, largest), "all")
        data = answer_file_data(sheet)
        key = key_data(sheet.problem)
        data["answers"] = {s.name: key["answers"][s.name] for s in sheet.asked()}
        report, _ = grade_data(data, "self")
        assert report.score == report.max_score == sheet.blank_count() > 0
