"""The printed arrangement of page.py (the "AI by Hand" drawing) and the PDFs it gives.

The layer structure a test expects is read from the template's YAML text here (the step's
expression string, split by a regular expression), not from the arrangement's own walk of
the compiled tree; page counts and page fill are read back from the PDF with pypdf.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from nnhand import api
from nnhand.output.page import BOX_H, Chain, build_page
from nnhand.output.printing import Page, layout, pdf_bytes, typst_source

LAYER = re.compile(r"^(?:relu\()?\s*(\w+)\s*@\s*(\w+)\s*(?:\+\s*(\w+))?\s*\)?$")


def expected_layers(template_id: str) -> list[tuple[str, str, str | None, str]]:
    """(W, X, b, output) of every asked step written `W @ X + b` (maybe inside relu)."""
    sheet = api.generate(template_id, seed=1)
    out = []
    for step in sheet.asked():
        match = LAYER.match(step.expr.source)
        if match:
            out.append((match[1], match[2], match[3], step.name))
    return out


@pytest.mark.parametrize("template_id", ["hidden-layer", "transformer", "batch", "mlp"])
def test_weights_left_of_the_input_output_below_it(template_id: str) -> None:
    sheet = api.generate(template_id, seed=1)
    page = build_page(sheet, arranged=True)
    assert page.arrangement is not None
    (chain,) = [b for b in page.arrangement.blocks if isinstance(b, Chain)]
    layers = expected_layers(template_id)
    assert layers, template_id
    for weights, source, bias, output in layers:
        (at,) = [i for i, band in enumerate(chain.bands) if band.outputs[0].quantity.name == output]
        band = chain.bands[at]
        assert [q.quantity.name for q in band.left] == [weights, *([bias] if bias else [])]
        above = chain.bands[at - 1]
        assert above.outputs[-1].quantity.name == source  # the input is just above the output
        out, w = band.outputs[0], band.left[0]
        # rows level: as many rows, one row height, one header height
        assert len(out.quantity.cells) == len(w.quantity.cells)
        assert {q.row_h for q in (*band.left, *band.outputs)} == {out.row_h}
        assert {q.head_h for q in (*band.left, *band.outputs)} == {out.head_h}
        # columns under columns: the input and the output share the data column's grid
        source_q = next(q for q in above.outputs if q.quantity.name == source)
        assert len(source_q.quantity.cells[0]) == len(out.quantity.cells[0])
        if source_q is above.outputs[0]:
            assert (source_q.col_w, source_q.label_w) == (out.col_w, out.label_w)
    firsts = [band.outputs[0] for band in chain.bands]
    assert len({(q.col_w, q.label_w) for q in firsts}) == 1  # one data column down the chain


def test_augmented_chain_draws_the_joined_weights_over_a_row_of_ones() -> None:
    sheet = api.generate("hidden-layer", seed=1, augmented=True)
    page = build_page(sheet, arranged=True)
    assert page.arrangement is not None
    (chain,) = [b for b in page.arrangement.blocks if isinstance(b, Chain)]
    assert chain.bands[0].outputs[0].quantity.name == "[x; 1]" and chain.bands[0].outputs[0].quantity.ones_row
    assert [q.quantity.name for q in chain.bands[1].left] == ["[W1 | b1]"]
    assert chain.bands[1].left[0].quantity.split_col == 3


def test_blanks_are_sized_for_handwriting() -> None:
    sheet = api.generate("self-attention", seed=1)  # rounded steps: wider boxes
    source = typst_source([Page(sheet)])
    boxes = [(float(w), float(h)) for w, h in re.findall(r"nn-blank\(([0-9.]+)mm, ([0-9.]+)mm\)", source)]
    assert len(boxes) == sheet.blank_count()
    # printed size, whatever scale the page is printed at: at least 10 mm tall, 13 mm wide
    assert min(h for _, h in boxes) >= 10.0 and min(w for w, _ in boxes) >= 13.0
    assert BOX_H >= 12
    decimals = {s.decimals or 0 for s in sheet.asked()}
    widths = [w for w, _ in boxes]
    assert max(decimals) > 0 and max(widths) > min(widths)  # a decimal step gets wider boxes


def test_each_row_is_unbreakable() -> None:
    source = typst_source([Page(api.generate("transformer", seed=1))])
    assert re.search(r"#let nn-row\([^)]*\) = block\(breakable: false", source)
    assert source.count("nn-band(") - 1 == 5  # A; X·A = Z; W1, b1 -> F; H; W2, b2 -> Y (and the #let)


def pdf_page_texts(data: bytes) -> list[str]:
    pypdf = pytest.importorskip("pypdf")
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages]


@pytest.mark.parametrize("template_id", ["hidden-layer", "batch", "four-neurons", "residual", "matmul"])
def test_small_sheets_fit_one_page(template_id: str) -> None:
    pytest.importorskip("typst")
    sheet = api.generate(template_id, seed=1)
    assert len(pdf_page_texts(pdf_bytes([Page(sheet, "Ada")]))) == 1
    assert len(pdf_page_texts(pdf_bytes([Page(sheet, "Ada", key=True)]))) == 1


@pytest.mark.parametrize("template_id", ["transformer", "backprop", "self-attention", "mlp"])
def test_no_trailing_page_without_work(template_id: str) -> None:
    """Every page of a worksheet holds at least one asked quantity (a caption of a step),
    not only a footer line; a step's caption and its grid are on the same page."""
    pytest.importorskip("typst")
    sheet = api.generate(template_id, seed=1)
    texts = pdf_page_texts(pdf_bytes([Page(sheet, "Ada")]))
    names = [s.name for s in sheet.asked()]
    for number, text in enumerate(texts, start=1):
        lines = {line.strip() for line in text.splitlines()}
        assert lines & set(names), f"page {number} of {template_id} holds no step"
    # W2 and Y of the transformer (the reported bug) share a page
    if template_id == "transformer":
        assert any({"W2", "Y"} <= {line.strip() for line in t.splitlines()} for t in texts)


# Pages of each template's worksheet and key at seed 1, default parameters, as the PDF writer
# printed them before the "AI by Hand" arrangement (git HEAD ad9821d of nnhand/output/page.py
# and printing.py: every given in a row, answer grids wrapped below, 16 x 8 mm boxes), counted
# with pypdf. The arrangement has bigger boxes and room for working, and may not cost paper.
PAGES_BEFORE = {
    "autoencoder": (2, 1), "backprop": (2, 1), "backprop-chain": (1, 1), "batch": (1, 1),
    "batch-norm": (1, 1), "bce-loss": (1, 1), "causal-attention": (2, 1), "cross-attention": (1, 1),
    "dropout": (1, 1), "embedding": (1, 1), "four-neurons": (1, 1), "gan": (2, 1),
    "gradient-descent": (1, 1), "hidden-layer": (1, 1), "lstm": (2, 2), "matmul": (1, 1),
    "minibatch-sgd": (1, 1), "mlp": (1, 1), "moe": (1, 1), "mse-loss": (1, 1),
    "multi-head-attention": (2, 2), "perceptron": (1, 1), "perceptron-tanh": (1, 1), "residual": (1, 1),
    "rnn": (1, 1), "rnn-tanh": (1, 1), "self-attention": (2, 2), "single-neuron": (1, 1),
    "softmax-cross-entropy": (1, 1), "softmax-temperature": (1, 1), "switch-transformer": (2, 1),
    "transformer": (2, 1), "unembedding": (1, 1), "vector-db": (2, 2),
    # Issue 14's templates, at their first printing (no earlier layout to compare with).
    "activations": (1, 1), "mlp-pytorch": (1, 1), "mnist-params": (1, 1),
    "conv1d": (1, 1), "conv2d": (1, 1), "im2col": (1, 1), "max-pool": (1, 1),
    "clip": (1, 1), "gcn": (2, 1), "mamba-step": (1, 1), "rlhf-reward": (1, 1), "vae": (2, 1),
    "bptt": (1, 1), "layer-norm": (1, 1), "positional-encoding": (1, 1), "finite-difference": (1, 1),
    "momentum": (1, 1), "adam": (1, 1), "rmsprop": (1, 1), "l2": (1, 1), "gradient-clipping": (1, 1),
    "early-stopping": (1, 1),
}  # fmt: skip
# Issue 14 completed the training steps of these exercises (the updates the seeds describe):
# the longer sheets are counted afresh.
PAGES_BEFORE.update({"dropout": (2, 2), "gan": (3, 2), "backprop": (2, 2)})
# Sheets that take a page more than recorded (a strict xfail each): none since dropout became
# the published two-layer exercise and was counted afresh.
OVER: set[tuple[str, bool]] = set()


def test_the_table_names_every_shipped_template() -> None:
    assert sorted(PAGES_BEFORE) == sorted(t["id"] for t in api.catalogue())


def _cases() -> list[object]:
    out: list[object] = []
    for template_id in sorted(PAGES_BEFORE):
        for key in (False, True):
            marks = (
                [pytest.mark.xfail(strict=True, reason="one page more than before")]
                if (template_id, key) in OVER
                else []
            )
            out.append(pytest.param(template_id, key, marks=marks, id=f"{template_id}-{'key' if key else 'sheet'}"))
    return out


@pytest.mark.parametrize(("template_id", "key"), _cases())
def test_no_more_pages_than_before_and_no_empty_page(template_id: str, key: bool) -> None:
    """The PDF has at most the pages it had before, as many as the layout model planned;
    every page holds at least one asked quantity; every page but the last is filled unless
    the next piece could not fit on it; the last page is no page for one small step."""
    pytest.importorskip("typst")
    sheet = api.generate(template_id, seed=1)
    page = Page(sheet, "Ada", key=key)
    texts = pdf_page_texts(pdf_bytes([page]))
    assert len(texts) <= PAGES_BEFORE[template_id][key]
    arrangement = layout(page).arrangement  # what pdf_bytes printed
    plan = arrangement.plan if arrangement else None
    assert plan is not None and len(plan.pages) == len(texts)  # the model's estimate is typst's count
    names = {s.name for s in sheet.asked()}
    for number, text in enumerate(texts, start=1):
        assert set(text.split()) & names, f"page {number} holds no step"  # a caption of one
    height = plan.size[1]
    for number in range(len(plan.pages) - 1):
        used = plan.used(number)
        first_next = plan.pages[number + 1][0].height * plan.scale
        assert used >= 0.6 * height or used + 3.0 + first_next > height, (
            f"page {number + 1} is {used / height:.0%} full"
        )
    if len(plan.pages) > 1:
        assert plan.used(len(plan.pages) - 1) >= 0.2 * height


def _band_of(template_id: str, output: str) -> tuple[Chain, int]:
    page = build_page(api.generate(template_id, seed=1), arranged=True)
    assert page.arrangement is not None
    for block in page.arrangement.blocks:
        if isinstance(block, Chain):
            for at, band in enumerate(block.bands):
                if band.outputs[0].quantity.name == output:
                    return block, at
    raise AssertionError(f"{template_id}: {output} is in no chain")


@pytest.mark.parametrize(
    ("template_id", "outputs"),
    [("gan", ["HR"]), ("multi-head-attention", ["Q2", "K2", "V2"]), ("dropout", ["H2", "Y"])],
)
def test_a_layer_of_weights_drawn_before_is_drawn_as_a_layer(template_id: str, outputs: list[str]) -> None:
    """gan's HR reuses the discriminator's Wd1, the second head reads the X of the first,
    dropout's H2 and Y the D1 and D2 of steps that are not layers (the masks): each is still W left of its output,
    under its input (the weights, or the shared input, drawn again)."""
    layers = {out: (w, x, b) for w, x, b, out in expected_layers(template_id)}
    for output in outputs:
        weights, source, bias = layers[output]
        chain, at = _band_of(template_id, output)
        band = chain.bands[at]
        assert [q.quantity.name for q in band.left] == [weights, *([bias] if bias else [])]
        inputs = [b.outputs[-1].quantity.name for b in chain.bands[:at] if not b.left or b.step is None]
        assert chain.bands[0].outputs[0].quantity.name == source and source in inputs
        assert len(band.outputs[0].quantity.cells) == len(band.left[0].quantity.cells)  # rows level


def test_numbered_sheets_have_a_name_line(tmp_path: Path) -> None:
    """worksheet --count: nobody's name is known, so each sheet carries its number and a line."""
    from typer.testing import CliRunner

    from nnhand.cli import app

    out = tmp_path / "ws"
    made = CliRunner().invoke(app, ["worksheet", "matmul", "--count", "2", "--out", str(out), "--format", "md"])
    assert made.exit_code == 0, made.output
    sheet = (out / "students" / "v1" / "sheet.md").read_text(encoding="utf-8")
    assert "Sheet v1 · Name: \\_\\_\\_" in sheet, sheet[:300]
    key = (out / "students" / "v1" / "key.md").read_text(encoding="utf-8")
    assert "Student: v1" in key and "Name:" not in key
