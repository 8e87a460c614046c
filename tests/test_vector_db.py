"""vector-db: words as givens, and retrieval against an independent naive reference."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnhand import api
from nnhand.cli import app
from nnhand.core.engine import generate
from nnhand.errors import GivensError

from .reference import add_col, mm, relu

runner = CliRunner()
VOCABULARY = ["how", "are", "you", "who", "is", "it", "what", "where", "they"]


def naive_sentence(g: dict, words: list[str]) -> tuple[list[list[int]], list[Fraction], list[Fraction]]:
    """Encode each word (ReLU(W e + b)), mean-pool, project: plain loops, exact thirds."""
    embedded = [[row[VOCABULARY.index(word)] for word in words] for row in g["E"]]  # a column per word
    tokens = relu(add_col(mm(g["W"], embedded), [[b] for b in g["b"]]))
    pooled = [Fraction(sum(r), len(r)) for r in tokens]
    projected = [row[0] for row in mm(g["P"], [[p] for p in pooled])]
    return tokens, pooled, projected


def test_retrieval_matches_a_naive_reference() -> None:
    template = api.load("vector-db")
    for seed in range(40):
        problem = generate(template, seed)
        g = problem.nested_givens()
        stored = [s.split() for s in g["stored"]]
        exact_index = []
        for k, sentence in enumerate(stored, start=1):
            tokens, pooled, projected = naive_sentence(g, sentence)
            assert problem.values[f"T{k}"].tolist() == tokens
            assert [Fraction(v) for v in problem.exact[f"m{k}"][:, 0]] == pooled
            assert [Fraction(v) for v in problem.exact[f"v{k}"][:, 0]] == projected
            exact_index.append(projected)
        _, _, q = naive_sentence(g, g["query"].split())
        scores = [sum(a * b for a, b in zip(v, q)) for v in exact_index]
        assert [Fraction(v) for v in problem.exact["scores"][:, 0]] == scores
        assert int(problem.values["nearest"][0, 0]) == scores.index(max(scores)) + 1
        assert g["query"] not in g["stored"]


def test_givens_take_words_sentences_and_an_embedding_table(tmp_path: Path) -> None:
    key = yaml.safe_load(runner.invoke(app, ["key", "vector-db", "--seed", "3", "--format", "yaml"]).stdout)
    g = key["givens"]
    g["E"] = {w: [row[i] for row in g["E"]] for i, w in enumerate(VOCABULARY)}  # word -> vector
    g["stored"] = [s.split() for s in g["stored"]]  # lists of words instead of strings
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(g))
    mine = yaml.safe_load(runner.invoke(app, ["key", "vector-db", "--givens", str(path), "--format", "yaml"]).stdout)
    assert mine["answers"] == key["answers"]
    assert mine["variant"].startswith("vector-db@3#givens-")


def test_unknown_words_are_named() -> None:
    problem = generate(api.load("vector-db"), 1)
    g = problem.nested_givens()
    g["query"] = "how are ewe"
    with pytest.raises(GivensError, match=r"query\[3\].*'ewe' is not a word"):
        api.solve("vector-db", g)
    # A table without 'they' defines a vocabulary without it: the sentences using it are named.
    g = problem.nested_givens()
    g["E"] = {w: [0, 0, 0, 0] for w in VOCABULARY[:-1]}
    g["stored"] = ["how are they", "who is it", "what is it"]
    with pytest.raises(GivensError, match=r"stored\[1,3\].*'they' is not a word"):
        api.solve("vector-db", g)


def test_check_round_trips_a_word_answer_file(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    assert runner.invoke(app, ["gen", "vector-db", "--seed", "5", "--answers", str(path)]).exit_code == 0
    assert "stored: [" in path.read_text() or "stored:" in path.read_text()
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1 and "Score: 0/" in result.stdout
