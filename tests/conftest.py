"""Shared fixtures: every template on the search path, a pinned console, golden files."""

from __future__ import annotations

import io
import os
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from nnhand.output.terminal import console
from nnhand.resources import template_files

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("NNHAND_UPDATE_GOLDEN") == "1"
TEMPLATE_IDS = sorted(template_files())


def render_text(renderable: object, width: int = 80) -> str:
    """Render through a pinned console: fixed width, no colour, no terminal."""
    buffer = io.StringIO()
    console(file=buffer, width=width, color=False).print(renderable)
    return buffer.getvalue()


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/golden/<name>; NNHAND_UPDATE_GOLDEN=1 rewrites it instead."""
    path = GOLDEN / name
    if UPDATE_GOLDEN or not path.exists():
        if not UPDATE_GOLDEN and os.environ.get("CI"):
            pytest.fail(f"golden file {path} is missing; run NNHAND_UPDATE_GOLDEN=1 pytest")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} drifted; NNHAND_UPDATE_GOLDEN=1 pytest regenerates it"


@pytest.fixture(autouse=True)
def _no_shell_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Terminal output follows COLUMNS; a developer's exported COLUMNS must not change a test."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(autouse=True)
def _own_history(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Practice keeps a history in the user's data directory: a test keeps its own, empty."""
    folder = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("NNHAND_DATA_DIR", str(folder))
    return folder


@pytest.fixture(params=TEMPLATE_IDS)
def template_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def bounded(seconds: float = 5.0, megabytes: float = 100.0) -> Iterator[None]:
    """Fail unless the block finishes within `seconds` and allocates at most `megabytes` (peak)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert peak < megabytes * 1e6, f"peaked at {peak / 1e6:.0f} MB"


@pytest.fixture
def torch() -> Any:
    """PyTorch, the independent reference. CI installs it (.ci/run), so there a missing torch
    is a failure, not a skip; locally the reference tests skip without it."""
    if os.environ.get("CI"):
        import torch as installed

        return installed
    return pytest.importorskip("torch")
