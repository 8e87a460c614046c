"""The self-checking page (`gen --format html-check`): one offline file whose blanks check
themselves as they are typed, accepting what `check` accepts, with no answer in its source.

The Python half checks the page and its data (what it holds, what it accepts, against the
grader's accepted_range); the browser half opens the page in headless Chromium through
WebDriver (selenium), types right, wrong and slipped answers, and reads the marks and the
bar. Without Chromium and its driver the browser tests skip, except where CI is set: there
they fail, since CI installs both (.ci/run).
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.core.reading import cell_name, read_number
from nnhand.core.sheet import Sheet
from nnhand.errors import CellError
from nnhand.grading.answers import word_key
from nnhand.grading.grade import accepted_range
from nnhand.grading.practice import PracticeSession
from nnhand.output import selfcheck
from nnhand.output.sheets import SHEET_FORMATS
from nnhand.values import exact_fraction, format_number

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def page_of(template: str, seed: int, blanks: str = "all", **options: Any) -> str:
    return str(SHEET_FORMATS.get("html-check").renderer()(api.generate(template, seed, blanks=blanks, **options)))


class _Scripts(html.parser.HTMLParser):
    """Every <script> element of a page: its attributes and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._open = dict(attrs)
            self.scripts.append((self._open, ""))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None


def scripts_of(page: str) -> list[tuple[dict[str, str | None], str]]:
    parser = _Scripts()
    parser.feed(page)
    return parser.scripts


def data_block(page: str) -> tuple[str, dict[str, Any]]:
    """The text of the page's JSON block, and its data."""
    (text,) = [text for attrs, text in scripts_of(page) if attrs.get("type") == "application/json"]
    return text, json.loads(text)


def blank_cells(sheet: Sheet) -> Iterator[tuple[str, str, int, int]]:
    """(step or given, cell name, row, col) of every blank of a sheet."""
    for name, mask in sheet.blanks.items():
        for i, j in zip(*np.nonzero(mask)):
            yield name, cell_name(name, sheet.shape(name), int(i), int(j)), int(i), int(j)


def grader_accepts(sheet: Sheet, name: str, i: int, j: int, value: Fraction) -> bool:
    """What `check` credits in a cell (grade._grade_step, grade._grade_given)."""
    problem = sheet.problem
    if name in problem.givens:
        return value == exact_fraction(problem.givens[name][i, j])
    step = problem.template.step(name)
    exact = exact_fraction(problem.exact[name][i, j])
    low, high, _ = accepted_range([exact_fraction(problem.values[name][i, j]), exact], step.decimals)
    return low <= value <= high or value == exact


# ----------------------------------------------------------------------------- the page itself


def test_the_page_is_one_offline_file() -> None:
    page = page_of("hidden-layer", 3)
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert not re.search(r"https?://", page)
    assert "<link" not in page and "<iframe" not in page and "<img" not in page
    scripts = scripts_of(page)
    assert [attrs for attrs, _ in scripts] == [{"type": "application/json", "id": "nnhand-check"}, {}]
    assert len(re.findall(r"<script", page)) == 2  # nothing the parser missed
    # The browser itself keeps it offline: nothing may be fetched, only this script runs.
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert policy is not None and "default-src 'none'" in policy[1] and "script-src 'sha256-" in policy[1]
    assert len(re.findall(r'<input class="nn-answer"', page)) == 13  # every blank of hidden-layer@2#3
    assert 'data-cell="z1[2]" aria-label="z1[2]"' in page


def test_the_same_variant_gives_the_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    for path in (first, second):
        result = runner.invoke(app, ["gen", "hidden-layer", "--seed", "3", "--format", "html-check", "-o", str(path)])
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text(encoding="utf-8") == page_of("hidden-layer", 3)
    assert page_of("hidden-layer", 4) != page_of("hidden-layer", 3)


def test_the_printed_page_is_the_html_page_with_inputs() -> None:
    """One layout: the self-checking page is html_document's page, a box made an input."""
    from nnhand.output.printing import Page, html_document

    sheet = api.generate("hidden-layer", 3)
    printed = html_document([Page(sheet)], "x")
    section = re.search(r"<section.*</section>", printed, re.S)
    checked = re.search(r"<section.*</section>", page_of("hidden-layer", 3), re.S)
    assert section is not None and checked is not None
    box = '<span class="box" aria-label="blank"></span>'
    assert re.sub(r'<span class="box check">.*?</span></span>', box, checked[0]) == section[0]


def test_no_key_is_in_the_data() -> None:
    """The keys of batch-norm@1#1 are decimals (0.66, -3.34, 0.33): none is in the data, and
    neither are the exact values, the accepted ranges or the hints; hashes and seals only."""
    page = page_of("batch-norm", 1)
    text, data = data_block(page)
    sheet = api.generate("batch-norm", 1)
    problem = sheet.problem
    written = set()
    for name, _, i, j in blank_cells(sheet):
        step = problem.template.step(name)
        value, exact = problem.values[name][i, j], problem.exact[name][i, j]
        written |= {format_number(value, step.decimals), format_number(exact), format_number(exact, 4)}
        written.add(accepted_range([exact_fraction(value), exact_fraction(exact)], step.decimals)[2])
    decimals = {w for w in written if "." in w}  # "-3" could be a grid's exponent: these cannot
    assert {"0.66", "-3.34", "0.33", "-1.67"} <= decimals
    for shown in decimals:
        assert shown not in text, shown
    assert "Multiply" not in text and "Hint" not in text and "accepted" not in text
    assert set(data) == {"schema", "version", "variant", "cells"} and data["variant"] == sheet.variant
    for cell, entry in data["cells"].items():
        assert set(entry) == {"step", "decimals", "words", "grid", "ok", "edges", "slips", "hints", "key"}
        assert cell.startswith(entry["step"]) and entry["decimals"] in (None, 2)
        assert entry["grid"] == (-3 if entry["decimals"] == 2 else None)  # a tenth of 0.01; an exact value
        assert all(re.fullmatch(r"[0-9a-f]{12}", h) for h in (*entry["ok"], *entry["edges"], *entry["slips"]))
        sealed = [*entry["edges"].values(), *entry["slips"].values(), *entry["hints"], entry["key"]]
        assert all(re.fullmatch(r"[A-Za-z0-9+/]+=*", s) for s in sealed)  # 2/3 only as it is sealed


def test_a_label_cannot_break_out_of_the_page(tmp_path: Path) -> None:
    source = (ROOT / "problems" / "hidden-layer.yaml").read_text(encoding="utf-8")
    evil = '</script><script>alert(1)</script><!-- & "'
    for written, changed in [("id: hidden-layer", "id: evil"), ("title: Hidden layer", f"title: '{evil}'"),
                             ('label: "z1 = W1·x + b1"', f"label: '{evil}'"),
                             ('hint: "row i of W1 times x, plus b1[i]"', f"hint: '{evil}'")]:  # fmt: skip
        assert written in source
        source = source.replace(written, changed)
    (tmp_path / "evil.yaml").write_text(source, encoding="utf-8")
    sheet = api.generate("evil", 3, problems_dirs=[str(tmp_path)])
    page = str(selfcheck.selfcheck_page(sheet))
    assert "alert(1)</script>" not in page and len(re.findall(r"<script", page)) == 2
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page  # the title and the step, escaped
    _, data = data_block(page)
    assert data == selfcheck.check_data(sheet)
    escaped = selfcheck.json_script({"a": evil})
    assert not re.search("[<>&]", escaped) and escaped.startswith('{"a":"\\u003c/script\\u003e')
    assert json.loads(selfcheck.json_script({"a": evil})) == {"a": evil}


def test_the_hints_and_the_key_are_practices_and_the_terminal_keys() -> None:
    sheet = api.generate("hidden-layer", 3)
    data = selfcheck.check_data(sheet)
    session = PracticeSession(sheet)
    for prompt in session.prompts:
        entry = data["cells"][prompt.cell]
        salt = selfcheck.cell_salt(data["variant"], prompt.cell)
        hints = [selfcheck.unseal(salt, f"hint{n}", sealed) for n, sealed in enumerate(entry["hints"], start=1)]
        assert hints == [session.hint(prompt).message, session.hint(prompt).message]
        value = sheet.problem.values[prompt.step.name][prompt.row, prompt.col]
        assert selfcheck.unseal(salt, "key", entry["key"]) == f"{prompt.cell} = {format_number(value)}"
    salt = selfcheck.cell_salt(data["variant"], "z1[2]")
    assert selfcheck.unseal(salt, "hint1", data["cells"]["z1[2]"]["hints"][0]).startswith("Hint: Multiply row 2 of W1")


def test_a_blank_accepts_what_check_accepts() -> None:
    """Around every end of every accepted range (an end between two grid points too: dropout's
    s2 = 1.5 with exact value 100/67 accepts from 100/67 − 0.05 = 1.44253...)."""
    tiny = [Fraction(0), Fraction(1, 10**9), Fraction(1, 10**4), Fraction(1, 3000), Fraction(1, 100)]
    for template, seed, blanks in [("batch-norm", 1, "all"), ("dropout", 1, "all"), ("vae", 1, "all"),
                                   ("hidden-layer", 3, "inverse"), ("self-attention", 2, "all")]:  # fmt: skip
        sheet = api.generate(template, seed, blanks=blanks)
        data = selfcheck.check_data(sheet)
        problem = sheet.problem
        for name, cell, i, j in blank_cells(sheet):
            entry = data["cells"][cell]
            if name in problem.givens:
                ends = [exact_fraction(problem.givens[name][i, j])]
            else:
                decimals = problem.template.step(name).decimals
                exact = exact_fraction(problem.exact[name][i, j])
                ends = [*accepted_range([exact_fraction(problem.values[name][i, j]), exact], decimals)[:2], exact]
            for end in ends:
                for value in {end + d for d in tiny} | {end - d for d in tiny}:
                    expected = grader_accepts(sheet, name, i, j, value)
                    assert selfcheck.accepts(entry, data["variant"], cell, value) == expected, (template, cell, value)
    data = selfcheck.check_data(api.generate("dropout", 1))
    s2 = data["cells"]["s2"]
    assert s2["edges"]  # the range ends off the grid: the end is sealed
    assert selfcheck.accepts(s2, data["variant"], "s2", Fraction("1.4426"))
    assert not selfcheck.accepts(s2, data["variant"], "s2", Fraction("1.4425"))


def test_a_slip_is_named_and_the_right_value_never_is() -> None:
    sheet = api.generate("hidden-layer", 3)
    data = selfcheck.check_data(sheet)
    z1 = data["cells"]["z1[4]"]  # W1·x = 4, b1[4] = -1: the key is 3
    assert selfcheck.slip_message(z1, data["variant"], "z1[4]", Fraction(4)) == "You forgot to add the bias b1."
    assert selfcheck.slip_message(z1, data["variant"], "z1[4]", Fraction(-3)) == "Sign error: flip the signs."
    assert selfcheck.slip_message(z1, data["variant"], "z1[4]", Fraction(7)) is None
    for name, cell, i, j in blank_cells(sheet):
        right = exact_fraction(sheet.problem.values[name][i, j])
        assert selfcheck.slip_message(data["cells"][cell], data["variant"], cell, right) is None


def test_word_cells_hash_the_word() -> None:
    sheet = api.generate("mlp-pytorch", 1)
    data = selfcheck.check_data(sheet)
    assert data["vocabulary"] == list(sheet.problem.template.vocabulary)
    act1 = data["cells"]["act1"]
    salt = selfcheck.cell_salt(data["variant"], "act1")
    assert act1["words"] and act1["ok"] == [selfcheck.digest(salt, "ok", word_key("nn.LeakyReLU()"))]
    assert selfcheck.unseal(salt, "key", act1["key"]) == "act1 = LeakyReLU"


def test_the_format_is_offered_and_refused_where_it_does_not_fit(tmp_path: Path) -> None:
    assert "html-check" in SHEET_FORMATS.names()
    assert "html-check" in runner.invoke(app, ["gen", "--help"]).output
    result = runner.invoke(app, ["gen", "hidden-layer", "--seed", "3", "--blanks", "none", "--format", "html-check"])
    assert result.exit_code == 2 and "asks nothing" in result.output and "Traceback" not in result.output
    # a class's worksheets are printed pages: the self-checking page is one learner's, from gen
    args = ["worksheet", "hidden-layer", "--count", "2", "--format", "html-check", "--out", str(tmp_path / "w")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "html-check" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "w").exists()


def test_the_page_files_are_package_data() -> None:
    from importlib import resources

    for name in ("selfcheck.js", "selfcheck.css"):
        assert resources.files("nnhand.output").joinpath(name).is_file()


# ----------------------------------------------------------------------------- in a browser


def _browser_paths() -> tuple[str, str] | None:
    """Chromium and its WebDriver, where Debian installs them (chromium, chromium-driver)."""

    def found(*names: str) -> str | None:
        return next((p for p in (shutil.which(n) or f"/usr/bin/{n}" for n in names) if os.path.exists(p)), None)

    browser, driver = found("chromium", "chromium-browser"), found("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    paths = _browser_paths()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        paths = None
    if paths is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: install chromium, chromium-driver and selenium")
        pytest.skip("no Chromium, chromedriver or selenium here")
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--lang=en"):  # fmt: skip
        options.add_argument(argument)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # selenium-manager: never download a browser or driver
        driver = webdriver.Chrome(service=Service(paths[1]), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """file:// addresses of the pages the browser tests open."""
    folder = tmp_path_factory.mktemp("pages")
    out = {}
    for name, template, seed, blanks in [("hidden", "hidden-layer", 3, "all"), ("norm", "batch-norm", 1, "all"),
                                         ("dropout", "dropout", 1, "all"), ("inverse", "hidden-layer", 3, "inverse"),
                                         ("words", "mlp-pytorch", 1, "all")]:  # fmt: skip
        path = folder / f"{name}.html"
        path.write_text(page_of(template, seed, blanks), encoding="utf-8")
        out[name] = path.as_uri()
    return out


def open_page(driver: Any, address: str) -> None:
    driver.get(address)
    assert driver.execute_script("return typeof window.nnhandCheck") == "object"  # the script ran


def type_in(driver: Any, cell: str, text: str) -> str:
    """Type into a blank as a learner does (click, select all, type); its state after."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, f'input[data-cell="{cell}"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)  # not under the bar
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    if text:
        box.send_keys(text)
    classes = box.find_element(By.XPATH, "..").get_attribute("class").split()
    mark = box.find_element(By.XPATH, "../span[@class='mark']").text
    status = next((c[3:] for c in classes if c.startswith("nn-") and c != "nn-revealed"), "empty")
    assert mark == {"right": "✓", "wrong": "✗", "unreadable": "?", "empty": ""}[status]
    return str(status)


def bar_text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, ".nn-says").text)


def click(driver: Any, button: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f".nn-bar .nn-{button}").click()


def test_the_pages_sha256_is_hashlibs(browser: Any, pages: dict[str, str]) -> None:
    import hashlib

    open_page(browser, pages["hidden"])
    texts = ["", "abc", "nnhand-selfcheck|hidden-layer@2#3|z1[2]", "x" * 55, "y" * 56, "z" * 64, "Σ−✓ 3/4", "q" * 1000]
    hashes = browser.execute_script("return arguments[0].map(t => window.nnhandCheck.sha256hex(t))", texts)
    assert hashes == [hashlib.sha256(t.encode()).hexdigest() for t in texts]


READINGS = ["3", "-1.5", "2/3", "−2/3", " +4 ", "1,5", "1 / 2", "1 2", "1e3", "1E-2", "1e401", "1e-401", "1/0",
            "abc", "1.", ".5", "0.1e1/4", "2/3e1", "３", "١٢", "٣.٥", "1.2000000000000002", "500.0000005",
            "0.30000000000000004", "1e12", "1000000000001", "1/1000000000001", "0.0000000000001", "-0", "1_000",
            "1,000.5", "1,5/2", "++1", "x1", "1e2/3", "1/-2", "6" * 65, "\u00a01\u00a0", "1\u20091", "1e400",
            "-.5e-3", "7/14", "0x10", "inf", "NaN", "½", "1\u22122"]  # fmt: skip


def test_the_pages_reader_reads_as_read_number(browser: Any, pages: dict[str, str]) -> None:
    open_page(browser, pages["hidden"])
    read = browser.execute_script("return arguments[0].map(t => window.nnhandCheck.readNumber(t))", READINGS)
    for text, got in zip(READINGS, read):
        try:
            want: str | None = selfcheck.canonical(Fraction(read_number(text, "x")))
        except CellError:
            want = None
        assert got.get("value") == want, (text, got)
    words = ["ReLU", "nn.ReLU()", "torch.nn.ReLU()", "  relu ", "leaky_relu", "nn.LeakyReLU(0.1)", "F.relu",
             "Tanh,", "nn.Tanh();", "SIGMOID", "nn.functional.softmax(x, dim=1)", "Re LU", "nn.Identity()"]  # fmt: skip
    keys = browser.execute_script("return arguments[0].map(t => window.nnhandCheck.wordKey(t))", words)
    assert keys == [word_key(w) for w in words]


def test_typing_right_wrong_and_a_slip(browser: Any, pages: dict[str, str], tmp_path: Path) -> None:
    sheet = api.generate("hidden-layer", 3)
    z1 = sheet.problem.values["z1"]
    open_page(browser, pages["hidden"])
    assert "Click a blank" in bar_text(browser)
    assert type_in(browser, "z1[1]", format_number(z1[0, 0])) == "right"
    assert bar_text(browser).startswith("✓")
    assert type_in(browser, "z1[2]", "5") == "wrong"
    assert bar_text(browser).startswith("✗ — not right yet")
    assert type_in(browser, "z1[4]", "4") == "wrong"  # W1·x without b1[4] = -1
    assert bar_text(browser) == "✗ — You forgot to add the bias b1."
    assert type_in(browser, "z1[4]", "3 4") == "unreadable"
    assert type_in(browser, "z1[4]", "3") == "right"
    assert type_in(browser, "h[1]", "abc") == "unreadable"
    assert bar_text(browser) == '? "abc" is not a number (write 3, -1.5 or 2/3).'
    assert type_in(browser, "h[1]", "") == "empty"
    # the hints and the key of z1[2], as practice gives them and as the terminal key shows it
    session = PracticeSession(sheet)
    prompt = next(p for p in session.prompts if p.cell == "z1[2]")
    first, second = session.hint(prompt).message, session.hint(prompt).message
    type_in(browser, "z1[2]", "5")
    click(browser, "hint")
    assert bar_text(browser).splitlines()[1:] == [first]
    click(browser, "hint")
    assert bar_text(browser).splitlines()[1:] == [first, second]
    assert not browser.find_element("css selector", ".nn-hint").is_enabled()
    click(browser, "reveal")
    assert bar_text(browser).splitlines()[-1] == f"Key: z1[2] = {format_number(z1[1, 0])}"
    assert browser.find_element("css selector", ".nn-tally").text == "2 of 13 right"
    screenshot = Path(os.environ.get("NNHAND_SCREENSHOT", tmp_path / "selfcheck.png"))
    browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG")


def test_a_rounded_step_takes_its_tolerance(browser: Any, pages: dict[str, str]) -> None:
    """batch-norm@1#1: Y[3,1] = 0.66, exactly 2/3, so 0.655 to 2/3 + 0.005 = 0.67166..."""
    open_page(browser, pages["norm"])
    for typed, status in [("2/3", "right"), ("0.66", "right"), ("0.67", "right"), ("0.6716", "right"),
                          ("0,6716", "right"), ("0.655", "right"), ("0.6717", "wrong"), ("0.6549", "wrong"),
                          ("4/6", "right"), ("0.68", "wrong")]:  # fmt: skip
        assert type_in(browser, "Y[3,1]", typed) == status, typed
    open_page(browser, pages["dropout"])  # s2 = 1.5, exactly 100/67: from 1.44253... (off the grid) to 1.55
    for typed, status in [("1.4426", "right"), ("1.4425", "wrong"), ("1.55", "right"), ("1.5501", "wrong")]:
        assert type_in(browser, "s2", typed) == status, typed


def test_the_pages_checks_are_the_graders(browser: Any, pages: dict[str, str]) -> None:
    """Many typed values at once, through the page's own check, against `check`'s rule."""
    cases = [("norm", "batch-norm", 1, "all", "Y[3,2]"), ("dropout", "dropout", 1, "all", "s2"),
             ("inverse", "hidden-layer", 3, "inverse", "b1[1]")]  # fmt: skip
    for page, template, seed, blanks, cell in cases:
        sheet = api.generate(template, seed, blanks=blanks)
        ((name, _, i, j),) = [b for b in blank_cells(sheet) if b[1] == cell]
        if name in sheet.problem.givens:
            centre = exact_fraction(sheet.problem.givens[name][i, j])
        else:
            centre = exact_fraction(sheet.problem.exact[name][i, j])
        values = [centre + Fraction(k, 2000) for k in range(-130, 131)]
        texts = [f"{v.numerator}/{v.denominator}" for v in values] + [format_number(v, 4) for v in values]
        open_page(browser, pages[page])
        got = browser.execute_script(
            "return arguments[0].map(t => window.nnhandCheck.check(arguments[1], t).status)", texts, cell
        )
        for text, status in zip(texts, got):
            want = grader_accepts(sheet, name, i, j, Fraction(read_number(text, "x")))
            assert (status == "right") == want, (cell, text, status)


def test_an_inverse_sheet_and_word_cells(browser: Any, pages: dict[str, str]) -> None:
    open_page(browser, pages["inverse"])
    assert type_in(browser, "b1[1]", "0") == "right"
    assert type_in(browser, "b1[1]", "1") == "wrong"
    assert type_in(browser, "b1[1]", "0.0") == "right"
    open_page(browser, pages["words"])  # act1 = LeakyReLU, act2 = Tanh
    assert type_in(browser, "act1", "nn.LeakyReLU()") == "right"
    assert type_in(browser, "act1", "leaky_relu") == "right"
    assert type_in(browser, "act1", "ReLU") == "wrong"
    assert type_in(browser, "act1", "Swish") == "unreadable"
    assert "is not one of the names Identity, ReLU" in bar_text(browser)
    assert type_in(browser, "act2", "TANH") == "right"
    assert type_in(browser, "in1", "4") == "right"
