"""The wheel ships the templates, and `import nnhand` stays light."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_every_template(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("nnhand-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"nnhand/problems/{p.name}" for p in (ROOT / "problems").glob("*.yaml")}
    assert shipped and shipped <= names
    assert "nnhand/cli.py" in names
    assert {"nnhand/output/selfcheck.js", "nnhand/output/selfcheck.css"} <= names  # the page's script and style


def test_import_nnhand_loads_nothing_heavy() -> None:
    code = "import sys, nnhand; print(','.join(m for m in ('numpy', 'yaml', 'rich', 'typer') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    assert out == ""
