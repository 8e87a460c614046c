"""`export --format qti`: an IMS content package (zip) of QTI 2.1 items, checked against the
published schemas (IMS QTI 2.1 imsqti_v2p1.xsd, IMS Content Packaging 1.1 imscp_v1p1.xsd,
vendored under tests/schemas/ with what they import, so no test reaches the network), and
`--out` for every export format: honoured, or refused with a message."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from fractions import Fraction
from pathlib import Path

import pytest
import xmlschema
from typer.testing import CliRunner

from nnhand import api
from nnhand.classroom.export import export_pool
from nnhand.cli import app
from nnhand.core.engine import generate
from nnhand.core.keys import key_data
from nnhand.errors import UsageError
from nnhand.output.lms import qti_package

SCHEMAS = Path(__file__).resolve().parent / "schemas"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
QTI = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
RECORD = re.compile(r"<!-- nnhand-seed (\S+) (\d+) -->")
# Several templates: integers, zeros, rounding with a second accepted answer, words, a partly
# blank step, attention with exact fractions.
SHEETS = [
    ("matmul", 1),
    ("backprop", 7),
    ("bce-loss", 1),
    ("vector-db", 1),
    ("mlp", 4),
    ("self-attention", 1),
    ("lstm", 1),
]
runner = CliRunner()


@pytest.fixture(scope="module")
def qti_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "qtiv2p1" / "imsqti_v2p1.xsd"), allow="local")


@pytest.fixture(scope="module")
def cp_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "imscp_v1p1.xsd"), allow="local")


def errors(schema: xmlschema.XMLSchema, text: bytes | str) -> list[str]:
    """Every schema error of a document (the instance's own schemaLocation hints are not followed)."""
    source = text.decode("utf-8") if isinstance(text, bytes) else text
    return [str(e.reason or e) for e in schema.iter_errors(source, use_location_hints=False)]


def check_package(data: bytes, qti: xmlschema.XMLSchema, cp: xmlschema.XMLSchema) -> dict[str, bytes]:
    """Assert `data` is a valid content package of QTI 2.1 items; return its files."""
    package = zipfile.ZipFile(io.BytesIO(data))
    assert package.testzip() is None
    names = package.namelist()
    assert names[0] == "imsmanifest.xml" and len(set(names)) == len(names)
    files = {name: package.read(name) for name in names}
    manifest = files["imsmanifest.xml"]
    assert errors(cp, manifest) == []
    root = ET.fromstring(manifest)
    resources = root.findall(f"{CP}resources/{CP}resource")
    referenced = []
    for resource in resources:
        assert resource.get("type") == "imsqti_item_xmlv2p1"
        (file,) = resource.findall(f"{CP}file")
        assert file.get("href") == resource.get("href")
        referenced.append(resource.get("href"))
    # One resource per item, every item file listed once, nothing else in the zip.
    assert sorted(referenced) == sorted(n for n in names if n != "imsmanifest.xml")
    identifiers = [r.get("identifier") for r in resources]
    assert len(set(identifiers)) == len(identifiers)
    for name in referenced:
        assert errors(qti, files[name]) == [], name
        assert ET.fromstring(files[name]).tag == f"{QTI}assessmentItem"
    return files


def test_a_package_of_several_templates_validates(
    qti_schema: xmlschema.XMLSchema, cp_schema: xmlschema.XMLSchema
) -> None:
    sheets = [api.generate(template, seed) for template, seed in SHEETS]
    files = check_package(qti_package(sheets, ["a comment"]), qti_schema, cp_schema)
    assert len(files) == len(sheets) + 1
    titles = sorted(ET.fromstring(text).get("title", "") for name, text in files.items() if name != "imsmanifest.xml")
    assert all(any(sheet.variant in title for title in titles) for sheet in sheets)


def test_the_validators_are_not_vacuous(qti_schema: xmlschema.XMLSchema, cp_schema: xmlschema.XMLSchema) -> None:
    """The schemas reject what a platform would: a resource without an identifier, an item
    whose tolerance mode is misspelt."""
    files = zipfile.ZipFile(io.BytesIO(qti_package([api.generate("matmul", 1)])))
    manifest = files.read("imsmanifest.xml").decode()
    assert errors(cp_schema, manifest.replace(' identifier="res_', ' id="res_', 1))
    item = files.read(next(n for n in files.namelist() if n != "imsmanifest.xml")).decode()
    assert errors(qti_schema, item.replace('toleranceMode="absolute"', 'toleranceMode="loose"', 1))


def test_export_qti_out_writes_one_zip_with_its_record(
    tmp_path: Path, qti_schema: xmlschema.XMLSchema, cp_schema: xmlschema.XMLSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NNHAND_SECRET", raising=False)
    out = tmp_path / "pool.zip"
    result = runner.invoke(app, ["export", "matmul", "--count", "3", "--format", "qti", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and f"written to {out}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool.zip"]  # one file, nothing beside it
    files = check_package(out.read_bytes(), qti_schema, cp_schema)
    records = RECORD.findall(files["imsmanifest.xml"].decode())
    assert len(records) == 3
    template = api.load("matmul")
    items = {
        ET.fromstring(t).get("title", "").split()[-1]: ET.fromstring(t)
        for n, t in files.items()
        if n.endswith(".xml") and n != "imsmanifest.xml"
    }
    for variant, seed in records:
        # The recorded seed rebuilds the item: its correct responses are that variant's key.
        key = key_data(generate(template, int(seed)))["answers"]
        cells = [Fraction(str(v)) for name in ("C_shape", "C") for row in key[name] for v in row]
        responses = [Fraction(v.text or "") for v in items[variant].iter(f"{QTI}value") if v.text]
        assert responses[: len(cells)] == cells


def test_the_same_export_gives_the_same_bytes_on_stdout_and_in_the_file(tmp_path: Path) -> None:
    env = {"NNHAND_SECRET": "s3cret"}
    args = ["export", "matmul", "--count", "2", "--format", "qti", "--seed", "5"]
    piped = runner.invoke(app, args, env=env)  # stdout is not a terminal here: the zip goes to it
    assert piped.exit_code == 0, piped.stderr
    out = tmp_path / "pool.zip"
    assert runner.invoke(app, [*args, "--out", str(out)], env=env).exit_code == 0
    assert piped.stdout_bytes == out.read_bytes() == runner.invoke(app, args, env=env).stdout_bytes


def test_qti_refuses_a_terminal_and_an_out_that_is_not_a_zip(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"zip file.*--out pool\.zip"):
        export_pool("matmul", "qti", 2, first_seed=1, terminal=True)
    result = runner.invoke(app, ["export", "matmul", "--format", "qti", "--out", str(tmp_path / "pool")])
    assert result.exit_code == 2 and "--out" in result.stderr and "pool.zip" in result.stderr
    assert list(tmp_path.iterdir()) == []
    folder = tmp_path / "it.zip"
    folder.mkdir()
    result = runner.invoke(app, ["export", "matmul", "--format", "qti", "--out", str(folder)])
    assert result.exit_code == 2 and "is a folder" in result.stderr


@pytest.mark.parametrize("fmt", ["moodle", "gift"])
def test_text_formats_honour_out(tmp_path: Path, fmt: str) -> None:
    env = {"NNHAND_SECRET": "s3cret"}
    args = ["export", "matmul", "--count", "2", "--format", fmt, "--seed", "3"]
    printed = runner.invoke(app, args, env=env)
    out = tmp_path / f"pool.{fmt}"
    written = runner.invoke(app, [*args, "--out", str(out)], env=env)
    assert written.exit_code == 0, written.stderr
    assert written.stdout == "" and f"written to {out}" in written.stderr
    assert out.read_text(encoding="utf-8") == printed.stdout
    missing = runner.invoke(app, [*args, "--out", str(tmp_path / "no" / "such" / "pool.xml")], env=env)
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def test_the_canvas_warning_comes_once_per_export() -> None:
    result = runner.invoke(app, ["export", "backprop", "--count", "6", "--format", "qti", "--seed", "1"])
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "Canvas" in warnings[0] and "6 of 6 variants" in warnings[0]
    moodle = runner.invoke(app, ["export", "backprop", "--count", "6", "--seed", "1"])
    assert "warning:" not in moodle.stderr  # Moodle grades 0 right: nothing to warn about
