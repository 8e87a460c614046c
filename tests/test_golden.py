"""Golden files for what people read: sheets, keys and reports, through a pinned 80-column
console with no colour. NNHAND_UPDATE_GOLDEN=1 pytest rewrites them (review the diff)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnhand.cli import app

from .conftest import assert_golden

runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"})

CASES = {
    "gen-hidden-layer-7.txt": ["gen", "hidden-layer", "--seed", "7"],
    "gen-mlp-3-layer.txt": ["gen", "mlp", "--seed", "3", "--blanks", "layer"],
    "gen-single-neuron-1.txt": ["gen", "single-neuron", "--seed", "1"],
    "key-backprop-7.txt": ["key", "backprop", "--seed", "7"],
    "key-matmul-2.yaml": ["key", "matmul", "--seed", "2", "--format", "yaml"],
    "gen-batch-5.json": ["gen", "batch", "--seed", "5", "--format", "json", "--blanks", "one"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_output_matches_golden(name: str) -> None:
    result = runner.invoke(app, CASES[name])
    assert result.exit_code == 0, result.stderr
    assert_golden(name, result.stdout)


def test_answer_file_and_report_match_golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = Path("answers.yaml")
    assert runner.invoke(app, ["gen", "four-neurons", "--seed", "2", "--answers", str(path)]).exit_code == 0
    assert_golden("answers-four-neurons-2.yaml", path.read_text())
    data = yaml.safe_load(path.read_text())
    data["answers"] = {"z": [1, 2, 3, 4], "a": [1, 2, 3, None], "params": 16}
    path.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert_golden("check-four-neurons-2.txt", result.stdout)
