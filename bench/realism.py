"""The realism report: what the instances of every template look like, over many seeds.

    python bench/realism.py                 # aligned text table
    python bench/realism.py --markdown      # a Markdown table (for a PR or the docs)
    python bench/realism.py --json          # the numbers, for scripts
    python bench/realism.py --seeds 50 --problems-dir my-templates/

A report, not a test (STYLE.md rule 15): it prints numbers for a person to judge. For every
template on the search path, seeds 0..N-1 with default params:

  weights -1/0/1   share of cells of the `dist: weights` givens that are -1, 0 or 1
  max |answer|     the largest magnitude of any asked step's cell (exact, via Fraction),
                   and the step where it occurs
  ReLU zeroes      share of (instance, ReLU step) pairs whose pre-activation has a negative cell
  distinct         how many of the N instances differ in their givens
  median ms        median time of one `engine.generate(template, seed)`

"-" means the template has no weights givens or no ReLU step; "*" marks a template with
problems, listed under the table. Exits 1 when a template fails
to load or a seed fails to generate (the row says how often), else 0.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from nnhand.core.engine import Problem, generate
from nnhand.core.template import Template, load_template
from nnhand.resources import template_files

COLUMNS = ("template", "weights -1/0/1", "max |answer|", "ReLU zeroes", "distinct", "median ms")


@dataclass
class Row:
    template: str
    path: str
    samples: int = 0  # seeds that generated
    weight_cells: int = 0
    weights_unit: int = 0  # cells in {-1, 0, 1}
    max_answer: Fraction | None = None
    max_answer_step: str = ""
    relu_pairs: int = 0
    relu_zeroing: int = 0
    distinct: int = 0
    median_ms: float | None = None
    failed_seeds: list[int] = field(default_factory=list)
    error: str = ""  # the first failure, load or generate

    @property
    def weights_share(self) -> float | None:
        return self.weights_unit / self.weight_cells if self.weight_cells else None

    @property
    def relu_share(self) -> float | None:
        return self.relu_zeroing / self.relu_pairs if self.relu_pairs else None


def exact(value: Any) -> Fraction:
    """A cell as an exact Fraction; a float by its shortest decimal (0.1 -> 1/10, not 3602879701896397/2**55)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (float, np.floating)):
        return Fraction(repr(float(value)))
    if isinstance(value, (bool, np.bool_)):
        return Fraction(int(value))
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    return Fraction(value)


def show_exact(value: Fraction) -> str:
    """'12', '2.25', or '7/3' when the decimal would not end."""
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:
        return f"{value.numerator}/{value.denominator}"
    with localcontext() as ctx:
        ctx.prec = 50
        return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def givens_key(problem: Problem) -> str:
    """The givens as canonical text: two instances are the same exercise when these match."""
    try:
        return json.dumps(problem.nested_givens(), sort_keys=True, default=str)
    except Exception:  # a shape the helper does not know: fall back to the raw grids
        return repr(sorted((k, [str(exact(v)) for v in a.ravel().tolist()]) for k, a in problem.givens.items()))


def relu_env(problem: Problem) -> dict[str, np.ndarray]:
    """Givens and step values with a leading batch axis, params as (1, 1, 1): what expressions read."""
    env = {k: v[None] for k, v in problem.givens.items()}
    env.update({k: v[None] for k, v in problem.values.items()})
    env.update({k: np.full((1, 1, 1), v) for k, v in problem.params.items()})
    return env


def measure(template_id: str, path: Path, seeds: int) -> Row:
    row = Row(template_id, str(path))
    try:
        template: Template = load_template(path)
    except Exception as exc:
        row.error = f"load: {_describe(exc)}"
        return row
    weight_givens = [n for n, g in template.givens.items() if getattr(g.dist, "preset", None) == "weights"]
    asked = [s.name for s in template.steps if s.asked]
    relu_steps = [s for s in template.steps if s.relu_input is not None]
    times: list[float] = []
    seen: set[str] = set()
    for seed in range(seeds):
        start = time.perf_counter()
        try:
            problem = generate(template, seed)
        except Exception as exc:
            row.failed_seeds.append(seed)
            row.error = row.error or f"seed {seed}: {_describe(exc)}"
            continue
        times.append(time.perf_counter() - start)
        row.samples += 1
        seen.add(givens_key(problem))
        for name in weight_givens:
            cells = [exact(v) for v in problem.givens[name].ravel().tolist()]
            row.weight_cells += len(cells)
            row.weights_unit += sum(c in (-1, 0, 1) for c in cells)
        for name in asked:
            for v in problem.values[name].ravel().tolist():
                magnitude = abs(exact(v))
                if row.max_answer is None or magnitude > row.max_answer:
                    row.max_answer, row.max_answer_step = magnitude, name
        if relu_steps:
            env = relu_env(problem)
            for step in relu_steps:
                assert step.relu_input is not None
                try:
                    pre = step.relu_input(env)
                except Exception as exc:
                    row.error = row.error or f"seed {seed}: {step.name} pre-activation: {_describe(exc)}"
                    continue
                row.relu_pairs += 1
                row.relu_zeroing += bool(np.any(pre < 0))
    row.distinct = len(seen)
    row.median_ms = statistics.median(times) * 1e3 if times else None
    return row


def _describe(exc: Exception) -> str:
    text = exc.render() if hasattr(exc, "render") else str(exc)
    return f"{type(exc).__name__}: {text}".splitlines()[0][:200]


# ----------------------------------------------------------------------------- output


def cells(row: Row, seeds: int) -> list[str]:
    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    name = f"{row.template} *" if row.error else row.template  # * : see "problems" below the table
    if row.error.startswith("load:"):
        return [name, "-", "-", "-", "not loaded", "-"]
    answer = "-" if row.max_answer is None else f"{show_exact(row.max_answer)} ({row.max_answer_step})"
    return [
        name,
        share(row.weights_share),
        answer,
        share(row.relu_share),
        f"{row.distinct}/{seeds}",
        "-" if row.median_ms is None else f"{row.median_ms:.2f}",
    ]


def text_table(rows: list[Row], seeds: int) -> str:
    body = [list(COLUMNS)] + [cells(r, seeds) for r in rows]
    widths = [max(len(line[i]) for line in body) for i in range(len(COLUMNS))]
    lines = []
    for n, line in enumerate(body):
        out = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:], widths[1:])]
        lines.append("  ".join(out).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[Row], seeds: int) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "| " + " | ".join(escape(c) for c in COLUMNS) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(COLUMNS) - 1)) + "|",
    ]
    for r in rows:
        line = cells(r, seeds)
        line[0] = f"`{r.template}`" + (" *" if r.error else "")
        lines.append("| " + " | ".join(escape(c) for c in line) + " |")
    return "\n".join(lines)


def json_report(rows: list[Row], seeds: int) -> str:
    out = []
    for r in rows:
        data = asdict(r)
        data["max_answer"] = None if r.max_answer is None else show_exact(r.max_answer)
        data["weights_share"] = r.weights_share
        data["relu_share"] = r.relu_share
        data["seeds"] = seeds
        out.append(data)
    return json.dumps({"python": platform.python_version(), "numpy": np.__version__, "templates": out}, indent=2)


def problems_notes(rows: list[Row], seeds: int) -> list[str]:
    notes = []
    for r in rows:
        if r.error:
            failed = f" ({len(r.failed_seeds)}/{seeds} seeds failed)" if r.failed_seeds else ""
            notes.append(f"{r.template} ({r.path}){failed}: {r.error}")
    return notes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--markdown", action="store_true", help="print a Markdown table")
    shape.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--seeds", type=int, default=200, metavar="N", help="seeds 0..N-1 per template (200)")
    parser.add_argument(
        "--problems-dir", action="append", default=[], metavar="DIR", help="also these templates; repeatable"
    )
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")

    started = time.perf_counter()
    files = template_files(args.problems_dir)
    rows = [measure(template_id, path, args.seeds) for template_id, path in sorted(files.items())]
    elapsed = time.perf_counter() - started
    notes = problems_notes(rows, args.seeds)

    if args.json:
        print(json_report(rows, args.seeds))
    else:
        intro = (
            f"nnhand realism report: {len(rows)} templates, seeds 0..{args.seeds - 1}, default params "
            f"(python {platform.python_version()}, numpy {np.__version__})"
        )
        if args.markdown:
            print(f"{intro}\n\n{markdown_table(rows, args.seeds)}")
        else:
            print(f"{intro}\n\n{text_table(rows, args.seeds)}")
        if notes:
            print("\nproblems (* in the table):")
            for note in notes:
                print(f"  {note}")
        print(f"\n{elapsed:.1f} s")
    return 1 if notes else 0


if __name__ == "__main__":
    sys.exit(main())
