"""Start-up stays light (no numpy for --help or completion) and generated files do not drift."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnhand.cli import COMPLETION_FILES, completion_script

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from nnhand.cli import app
try:
    app(prog_name="nnhand")
except SystemExit:
    pass
heavy = sorted(m for m in ("numpy", "yaml", "rich") if m in sys.modules)
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
"""


def loaded_modules(args: list[str], extra_env: dict[str, str] | None = None) -> tuple[str, str]:
    env = {**os.environ, **(extra_env or {})}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env)
    heavy = proc.stderr.split("HEAVY=")[-1].strip()
    return heavy, proc.stdout


def test_help_does_not_import_numpy() -> None:
    heavy, out = loaded_modules(["--help"])
    assert "Usage" in out
    assert heavy == "", f"--help imported {heavy}"


def test_completion_does_not_import_numpy_and_lists_template_ids() -> None:
    heavy, out = loaded_modules(
        [], {"_NNHAND_COMPLETE": "complete_bash", "COMP_WORDS": "nnhand gen hid", "COMP_CWORD": "2"}
    )
    assert out.split() == ["hidden-layer"]
    assert heavy == "", f"completion imported {heavy}"


def test_completion_sees_instructor_templates(tmp_path: Path) -> None:
    (tmp_path / "zz-mine.yaml").write_text("not even parsed")
    _, out = loaded_modules(
        [],
        {
            "_NNHAND_COMPLETE": "complete_bash",
            "COMP_WORDS": "nnhand gen zz",
            "COMP_CWORD": "2",
            "NNHAND_PROBLEMS": str(tmp_path),
        },
    )
    assert out.split() == ["zz-mine"]


@pytest.mark.parametrize("shell", sorted(COMPLETION_FILES))
def test_completion_scripts_match_the_app(shell: str) -> None:
    path = ROOT / "completions" / COMPLETION_FILES[shell]
    expected = completion_script(shell)
    if os.environ.get("NNHAND_UPDATE_GOLDEN") == "1":
        path.write_text(expected)
    assert path.read_text() == expected, f"{path} drifted: run NNHAND_UPDATE_GOLDEN=1 pytest tests/test_startup.py"
