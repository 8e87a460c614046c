"""ruff and mypy are part of the test suite, so the README's one test line runs them too."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_is_clean() -> None:
    if shutil.which("ruff") is None and run_tool("ruff", "--version").returncode != 0:
        pytest.skip("ruff is not installed (pip install '.[test]')")
    folders = [name for name in ("nnhand", "tests", "bench") if (ROOT / name).is_dir()]
    result = run_tool("ruff", "check", *folders)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    if run_tool("mypy", "--version").returncode != 0:
        pytest.skip("mypy is not installed (pip install '.[test]')")
    result = run_tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
