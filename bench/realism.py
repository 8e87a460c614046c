"""The realism report: what the instances of every template look like, against CONVENTIONS.md.

    python bench/realism.py                       # 1,000 seeds at default params, 200 at each extreme size
    python bench/realism.py --quick --strict      # 100 and 20 seeds; exit 1 on a miss (what CI runs)
    python bench/realism.py --template mlp --template rnn      # some templates only
    python bench/realism.py --baseline HEAD~3     # also time generation against an older commit
    python bench/realism.py --markdown            # Markdown tables (for a closing note)
    python bench/realism.py --json                # the numbers, for scripts

A report, not a test (STYLE.md rule 15): it prints the figures of every template beside the
thresholds that published hand exercises set, and marks each figure outside one with "!".
Each template is measured at its default params and at the extreme sizes of every param
(each at its min and max, the others at their defaults; a choice param at every choice).

The figures, per template and params (the thresholds, at default sizes / at the extremes):

  weights     cells of weights givens (role weights): share in {-1, 0, 1} (≥ 95 % / ≥ 90 %)
              and share 0 (35-45 % / 30-50 %)
  bias        cells of bias givens: share 0 (25-42 % / 20-50 %), share within ±1
              (55-80 % / 50-85 %), and the largest positive one (an occasional +2 or more)
  inputs      cells of input givens: share in 0..3 (≥ 80 % / ≥ 75 %), share negative (≤ 5 %)
  max         the largest |forward answer| (basics ≤ 9; others ≤ 49 / within the template's bound);
              -99, the causal mask's stand-in for -∞, is not an answer, nor a count (bound: null)
  1-digit     share of forward-answer cells below 10 in magnitude (≥ 85 % / ≥ 70 %)
  pre<0 pre=0 ReLU pre-activations (read off the worked arithmetic, so a recurrence's count
              too): negative 10-25 % / 5-35 %, exactly 0 ≤ 6 % / ≤ 10 %
  zeroes      share of ReLU layers (sheet x ReLU step) that zero a cell (≥ 60 % / ≥ 50 %)
  dead        sheets with an asked value zero in every cell (0)
  ident       sheets with an identity-like weights or inputs matrix (≤ 2 %)
  copies      share of blank cells that repeat a given or an earlier answer (0)
  distinct    distinct instances (≥ 990 of 1,000, pro rata, wherever the space allows:
              the entropy of the givens' distributions says how many instances there are)
  ties        sheets where an argmax reads a tied maximum (0)
  blanks      median blank cells per sheet, and mults: median multiplications per sheet (the
              products in the worked arithmetic); at default sizes no more than the largest
              published sheet (the seven-layer MLP and the transformer block: see WORKLOAD)
  ms          median time of one `engine.generate`; with --baseline also the baseline's
              and the ratio (≤ 2.0), timed in alternating fresh processes

The definitions of dead, ident, copies and the ReLU mix are nnhand/core/realism.py's rules:
the same code rejects such candidates when sampling, so these columns measure whether a
template switched a rule off. A template may excuse a figure with `realism: {by_design:
{figure: why}}`; the report prints the reason and does not count it as a miss.
Exits 1 with --strict when a figure misses: every figure at default sizes and at extreme
sizes measured over 100 seeds or more (the looser bands), only the hard ones (fail, max,
dead, ident, copies, ties) at extremes measured over fewer (--quick); 2 on bad options.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from nnhand.core import realism
from nnhand.core.distributions import Distribution
from nnhand.core.engine import Problem, generate
from nnhand.core.explain import Explainer
from nnhand.core.template import Template, load_template
from nnhand.resources import template_files
from nnhand.values import grid_shape

ROOT = Path(__file__).resolve().parent.parent
MASK = Fraction(-99)  # CONVENTIONS.md: -99 stands in for -∞ in a causal mask
RELU_WORKED = re.compile(r"ReLU\((−?\d+(?:\.\d+)?(?:/\d+)?)\)")
GRADIENT_LAYERS = ("backward", "gradient")
GRADIENT_NAME = re.compile(r"^d[A-Za-z0-9_]")  # dz, dW3, dC_da3, dPF: a derivative
BASICS = "basics"  # the tag of the first exercises, whose published answers never exceed 9
# The largest published sheets (the seven-layer MLP, the transformer block, self-attention),
# at their published (default) sizes: a default sheet with more blanks or more
# multiplications than all of these is more tedious than anything published.
WORKLOAD = ("mlp", "transformer", "self-attention")
HARD = ("fail", "max", "dead", "ident", "copies", "ties")
JUDGED_EXTREME_SAMPLES = 100  # fewer seeds at an extreme size: shares too coarse, judged on HARD only


# ----------------------------------------------------------------------------- measuring


@dataclass
class Stats:
    """Counts over the seeds of one template at one set of params."""

    template: str
    params: dict[str, int]
    label: str  # "default", "n=8", "act=sigmoid"
    extreme: bool
    tags: tuple[str, ...] = ()
    bound: int | None = None
    by_design: dict[str, str] = field(default_factory=dict)
    seeds: int = 0
    samples: int = 0
    failed: list[int] = field(default_factory=list)
    error: str = ""
    weights: Counter[str] = field(default_factory=Counter)  # cells, unit, zero
    bias: Counter[str] = field(default_factory=Counter)  # cells, zero, unit, and the largest in "max"
    inputs: Counter[str] = field(default_factory=Counter)  # cells, small (0..3), negative
    max_forward: str = ""
    max_forward_value: float = 0.0
    max_step: str = ""
    max_gradient: float = 0.0
    forward_cells: int = 0
    single_digit: int = 0
    pre: Counter[str] = field(default_factory=Counter)  # cells, negative, zero
    relu_layers: int = 0
    relu_zeroing: int = 0
    rules: Counter[str] = field(default_factory=Counter)  # sheets breaking each realism rule
    copy_cells: int = 0
    blank_cells: int = 0
    ties: int = 0
    distinct: int = 0
    log10_space: float = 0.0
    blanks: list[int] = field(default_factory=list)
    mults: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


def exact(value: Any) -> Fraction:
    """A cell as an exact Fraction; a float by its shortest decimal (0.1 -> 1/10)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (float, np.floating)):
        return Fraction(repr(float(value)))
    return Fraction(int(value))


def measure(template_id: str, path: str, params: dict[str, int], label: str, extreme: bool, seeds: int) -> Stats:
    base = load_template(Path(path))
    stats = Stats(template_id, params, label, extreme, base.tags, None, dict(base.by_design), seeds)
    seen: set[str] = set()
    for seed in range(seeds):
        start = time.perf_counter()
        try:
            problem = generate(base, seed, params)
        except Exception as exc:  # a report: every failure is a finding, counted and shown
            stats.failed.append(seed)
            stats.error = stats.error or f"seed {seed}: {_describe(exc)}"
            continue
        stats.times.append(time.perf_counter() - start)
        stats.samples += 1
        seen.add(json.dumps(problem.nested_givens(), sort_keys=True, default=str))
        if stats.samples == 1:
            stats.bound = problem.template.steps[-1].bound
            stats.log10_space = log10_space(problem)
        _count_givens(stats, problem)
        _count_answers(stats, problem)
        _count_rules(stats, problem)
        _count_worked(stats, problem)
    stats.distinct = len(seen)
    return stats


def _count_givens(stats: Stats, problem: Problem) -> None:
    for name, given in problem.template.givens.items():
        if given.dist.kind == "fixed" or not given.role:
            continue
        cells = [exact(v) for v in problem.givens[name].ravel().tolist()]
        counter = getattr(stats, given.role)
        counter["cells"] += len(cells)
        if given.role == "weights":
            counter["unit"] += sum(abs(c) <= 1 and c.denominator == 1 for c in cells)
            counter["zero"] += sum(c == 0 for c in cells)
        elif given.role == "bias":
            counter["zero"] += sum(c == 0 for c in cells)
            counter["unit"] += sum(abs(c) <= 1 for c in cells)
            counter["max"] = max(counter["max"], int(max(cells)))
        else:
            counter["small"] += sum(0 <= c <= 3 for c in cells)
            counter["negative"] += sum(c < 0 for c in cells)


def is_gradient(step: Any) -> bool:
    return step.layer.startswith(GRADIENT_LAYERS) or bool(GRADIENT_NAME.match(step.name))


def _count_answers(stats: Stats, problem: Problem) -> None:
    for step in problem.template.steps:
        if not step.asked:
            continue
        cells = [exact(v) for v in problem.values[step.name].ravel().tolist()]
        stats.blank_cells += len(cells)
        if step.bound is None:  # a count (parameters of a layer), not an answer of the network
            continue
        if is_gradient(step):
            stats.max_gradient = max(stats.max_gradient, float(max(abs(c) for c in cells)))
            continue
        cells = [c for c in cells if c != MASK]
        stats.forward_cells += len(cells)
        stats.single_digit += sum(abs(c) < 10 for c in cells)
        for c in cells:
            if abs(c) > stats.max_forward_value:
                stats.max_forward_value, stats.max_step = float(abs(c)), step.name
                stats.max_forward = _show(abs(c))


def _count_rules(stats: Stats, problem: Problem) -> None:
    """Which realism rules the instance breaks, whether or not the template switched them off."""
    env = problem.env()
    for check in realism.checks(problem.template, rules=realism.RULES):
        if check.rule in ("bound", "distinct_rows") or not check.needs <= env.keys():
            continue
        broken = not bool(np.all(check.test(env)))
        stats.rules[check.rule] += broken
        if broken and check.rule == "copies":
            stats.copy_cells += int(problem.values[check.subject].size)


def _count_worked(stats: Stats, problem: Problem) -> None:
    """Pre-activations, ties and multiplications, from the arithmetic a person writes."""
    explainer = Explainer(problem)
    blanks = mults = 0
    for step in problem.template.steps:
        lines = explainer.step(step)
        pre = [Fraction(m.replace("−", "-")) for line in lines for m in RELU_WORKED.findall(line)]
        if pre:
            stats.relu_layers += 1
            stats.relu_zeroing += any(p < 0 for p in pre)
            stats.pre["cells"] += len(pre)
            stats.pre["negative"] += sum(p < 0 for p in pre)
            stats.pre["zero"] += sum(p == 0 for p in pre)
        if step.asked:
            blanks += len(lines)
            mults += sum(max(stage.count(")(") for stage in line.split(" = ")) for line in lines)
        for node in _argmax_nodes(step.expr.tree):
            read = np.asarray(explainer.value(node.args[0]))
            if read.ndim == 2 and _tied_column(read):
                stats.ties += 1
                break
    stats.blanks.append(blanks)
    stats.mults.append(mults)


def _argmax_nodes(node: Any) -> Iterator[Any]:
    if node.kind == "call" and node.op == "argmax" and node.args:
        yield node
    for arg in node.args:
        yield from _argmax_nodes(arg)


def _tied_column(read: np.ndarray) -> bool:
    for j in range(read.shape[1]):
        column = [exact(v) for v in read[:, j].tolist()]
        if column.count(max(column)) > 1:
            return True
    return False


def log10_space(problem: Problem) -> float:
    """log10 of the number of instances the givens' distributions make, by entropy (a skewed
    distribution makes fewer distinct instances than its values' count suggests)."""
    bits = 0.0
    for name, given in problem.template.givens.items():
        cells = problem.givens[name].size
        bits += _entropy(given.dist, problem.givens[name].shape) * (
            1 if given.dist.kind in ("onehot", "simplex", "phrases") else cells
        )
    return bits / math.log(10)


def _entropy(dist: Distribution, shape: tuple[int, ...]) -> float:
    """Natural-log entropy of one cell (of the whole grid, for the structured kinds)."""
    rows, cols = grid_shape(shape)
    if dist.kind == "set":
        assert dist.cdf is not None
        p = np.diff(np.concatenate([[0.0], np.minimum(dist.cdf, 1.0)]))
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())
    if dist.kind == "range":
        return math.log(dist.high - dist.low + 1)
    if dist.kind == "onehot":
        return cols * math.log(rows)
    if dist.kind == "simplex":
        return cols * math.log(math.comb(dist.parts + rows - 1, rows - 1))
    if dist.kind == "phrases":
        assert dist.phrases is not None
        return (rows if cols > 1 else 1) * math.log(len(dist.phrases))
    return 0.0


def _describe(exc: Exception) -> str:
    text = exc.render() if hasattr(exc, "render") else str(exc)
    return f"{type(exc).__name__}: {text}".splitlines()[0][:240]


def _show(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}"


# ----------------------------------------------------------------------------- judging


@dataclass
class Figure:
    text: str
    miss: bool = False
    excused: str = ""  # by design: the template's reason


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def band(value: float | None, low: float, high: float) -> bool:
    """A miss when a measured share lies outside [low, high] (nothing measured: no miss)."""
    return value is not None and not low <= value <= high


def figures(s: Stats, workload: dict[str, int]) -> dict[str, Figure]:
    x = s.extreme
    f: dict[str, Figure] = {}
    f["fail"] = Figure(f"{len(s.failed)}" if s.failed else "0", bool(s.failed))
    w_unit, w_zero = share(s.weights["unit"], s.weights["cells"]), share(s.weights["zero"], s.weights["cells"])
    f["weights"] = Figure(
        "-" if w_unit is None else f"{pct(w_unit)} 0:{pct(w_zero)}",
        band(w_unit, 0.90 if x else 0.95, 1) or band(w_zero, *((0.30, 0.50) if x else (0.35, 0.45))),
    )
    b_zero, b_unit = share(s.bias["zero"], s.bias["cells"]), share(s.bias["unit"], s.bias["cells"])
    f["bias"] = Figure(
        "-" if b_zero is None else f"0:{pct(b_zero)} ±1:{pct(b_unit)} ≤{s.bias['max']}",
        band(b_zero, *((0.20, 0.50) if x else (0.25, 0.42))) or band(b_unit, *((0.50, 0.85) if x else (0.55, 0.80))),
    )
    i_small, i_neg = share(s.inputs["small"], s.inputs["cells"]), share(s.inputs["negative"], s.inputs["cells"])
    f["inputs"] = Figure(
        "-" if i_small is None else f"0-3:{pct(i_small)} <0:{pct(i_neg)}",
        band(i_small, 0.75 if x else 0.80, 1) or band(i_neg, 0, 0.05),
    )
    limit = 9 if BASICS in s.tags and not x else (s.bound or 49) if x else 49
    f["max"] = Figure(f"{s.max_forward or '-'} ({s.max_step})" if s.max_step else "-", s.max_forward_value > limit)
    digit = share(s.single_digit, s.forward_cells)
    f["1-digit"] = Figure(pct(digit), band(digit, 0.70 if x else 0.85, 1))
    neg, zero = share(s.pre["negative"], s.pre["cells"]), share(s.pre["zero"], s.pre["cells"])
    f["pre<0"] = Figure(pct(neg), band(neg, *((0.05, 0.35) if x else (0.10, 0.25))))
    f["pre=0"] = Figure(pct(zero), band(zero, 0, 0.10 if x else 0.06))
    zeroing = share(s.relu_zeroing, s.relu_layers)
    f["zeroes"] = Figure(pct(zeroing), band(zeroing, 0.50 if x else 0.60, 1))
    f["dead"] = Figure(str(s.rules["dead_steps"]), s.rules["dead_steps"] > 0)
    ident = share(s.rules["identity"], s.samples)
    f["ident"] = Figure(pct(ident), band(ident, 0, 0.02))
    copies = share(s.copy_cells, s.blank_cells)
    f["copies"] = Figure(pct(copies) if s.copy_cells else "0", s.copy_cells > 0)
    wanted = expected_distinct(s.samples, s.log10_space)
    f["distinct"] = Figure(f"{s.distinct}/{s.samples}", s.distinct < wanted)
    f["ties"] = Figure(str(s.ties), s.ties > 0)
    blanks = int(statistics.median(s.blanks)) if s.blanks else 0
    mults = int(statistics.median(s.mults)) if s.mults else 0
    over = not x and workload and (blanks > workload["blanks"] or mults > workload["mults"])
    f["blanks"] = Figure(str(blanks), bool(over) and blanks > workload.get("blanks", 0))
    f["mults"] = Figure(str(mults), bool(over) and mults > workload.get("mults", 0))
    f["ms"] = Figure(f"{statistics.median(s.times) * 1e3:.2f}" if s.times else "-")
    for name, why in s.by_design.items():
        if name in f and f[name].miss:
            f[name].excused = why
    return f


def expected_distinct(samples: int, log10_space: float) -> int:
    """The distinct instances to expect: ≥ 99 % of the samples where the space allows it, else
    what drawing that many from a space of that size gives, less a tenth for the constraints."""
    if log10_space >= 5:
        return math.ceil(0.99 * samples)
    space = 10**log10_space
    return math.floor(0.9 * space * (1 - (1 - 1 / space) ** samples)) if space > 1 else 1


def misses(s: Stats, f: dict[str, Figure]) -> list[str]:
    judged = HARD if s.extreme and s.seeds < JUDGED_EXTREME_SAMPLES else tuple(f)
    return [name for name in judged if f[name].miss and not f[name].excused]


# ----------------------------------------------------------------------------- timing against a baseline

TIMER = """
import json, statistics, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from nnhand.core.engine import generate
from nnhand.core.template import load_template
seeds = int(sys.argv[2])
out = {}
for path in sys.argv[3:]:
    template = load_template(Path(path))
    generate(template, 0)
    times = []
    for seed in range(seeds):
        start = time.perf_counter()
        generate(template, seed)
        times.append(time.perf_counter() - start)
    out[template.id] = statistics.median(times)
print(json.dumps(out))
"""


def baseline_times(ref: str, ids: list[str], seeds: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Median generate time per template at `ref` and in this checkout, in alternating fresh
    processes (A B A B ...), the median over rounds: (baseline, now)."""
    with tempfile.TemporaryDirectory(prefix="nnhand-baseline-") as tmp:
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=False)
        if archive.returncode != 0:
            raise SystemExit(f"error: --baseline {ref}: {archive.stderr.decode(errors='replace').strip()}")
        tar_path = Path(tmp) / "ref.tar"
        tar_path.write_bytes(archive.stdout)
        with tarfile.open(tar_path) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.10.12+: refuse links and paths out of the tree
                tar.extractall(Path(tmp) / "ref", filter="data")
            else:
                tar.extractall(Path(tmp) / "ref")
        trees = {"baseline": Path(tmp) / "ref", "now": ROOT}
        runs: dict[str, list[dict[str, float]]] = {"baseline": [], "now": []}
        for _ in range(rounds):
            for side, tree in trees.items():
                paths = [
                    str(tree / "problems" / f"{i}.yaml") for i in ids if (tree / "problems" / f"{i}.yaml").exists()
                ]
                env = {**os.environ, "PYTHONPATH": str(tree)}
                done = subprocess.run(
                    [sys.executable, "-c", TIMER, str(tree), str(seeds), *paths],
                    capture_output=True, text=True, env=env, check=False,
                )  # fmt: skip
                if done.returncode != 0:
                    raise SystemExit(f"error: timing {side}: {done.stderr.strip()[-400:]}")
                runs[side].append(json.loads(done.stdout))
    out = {}
    for i in ids:
        base = [r[i] for r in runs["baseline"] if i in r]
        now = [r[i] for r in runs["now"] if i in r]
        if base and now:
            out[i] = (statistics.median(base), statistics.median(now))
    return out


# ----------------------------------------------------------------------------- configurations


def configurations(template: Template) -> Iterator[tuple[dict[str, int], str, bool]]:
    """Default params, then each param at its extremes (a choice param at every choice)."""
    yield {}, "default", False
    for name, param in template.params.items():
        values = range(param.low, param.high + 1) if param.choices else (param.low, param.high)
        for value in dict.fromkeys(values):
            if value == param.default:
                continue
            shown = param.choices[value] if param.choices else value
            yield {name: value}, f"{name}={shown}", True


# ----------------------------------------------------------------------------- output

COLUMNS = (
    "fail", "weights", "bias", "inputs", "max", "1-digit", "pre<0", "pre=0", "zeroes",
    "dead", "ident", "copies", "distinct", "ties", "blanks", "mults", "ms",
)  # fmt: skip


def cell(fig: Figure) -> str:
    return fig.text + (" (d)" if fig.excused else " !" if fig.miss else "")


def table(rows: list[tuple[Stats, dict[str, Figure]]], markdown: bool, extra: list[str]) -> str:
    header = ["template", "params", *COLUMNS, *extra]
    body = []
    for s, f in rows:
        line = [s.template + (" *" if misses(s, f) else ""), s.label, *(cell(f[c]) for c in COLUMNS)]
        line += [cell(f[c]) for c in extra]
        body.append(line)
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "|".join([":---", ":---"] + ["---:"] * (len(header) - 2)) + "|"]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in body]
        return "\n".join(out)
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    out = []
    for n, line in enumerate([header, *body]):
        out.append(
            "  ".join(
                [line[0].ljust(widths[0]), line[1].ljust(widths[1])]
                + [c.rjust(w) for c, w in zip(line[2:], widths[2:])]
            ).rstrip()
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--markdown", action="store_true", help="print Markdown tables")
    shape.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--seeds", type=int, default=None, metavar="N", help="seeds at default params (1000; --quick 100)"
    )
    parser.add_argument(
        "--extreme-seeds", type=int, default=None, metavar="N", help="seeds at each extreme size (200; --quick 20)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer seeds: what CI runs")
    parser.add_argument("--defaults-only", action="store_true", help="only the default params")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a figure misses its threshold")
    parser.add_argument("--template", action="append", default=[], metavar="ID", help="only this template; repeatable")
    parser.add_argument(
        "--problems-dir", action="append", default=[], metavar="DIR", help="also these templates; repeatable"
    )
    parser.add_argument("--baseline", metavar="REF", help="also time generation at this git commit, side by side")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N", help="worker processes")
    args = parser.parse_args(argv)
    seeds = args.seeds or (100 if args.quick else 1000)
    extreme_seeds = args.extreme_seeds or (20 if args.quick else 200)
    if seeds < 1 or extreme_seeds < 1 or args.jobs < 1:
        parser.error("--seeds, --extreme-seeds and --jobs must be at least 1")

    started = time.perf_counter()
    files = template_files(args.problems_dir)
    unknown = [t for t in args.template if t not in files]
    if unknown:
        parser.error(f"no template {unknown[0]!r} (see nnhand list)")
    chosen = sorted(t for t in files if not args.template or t in args.template)
    jobs: list[tuple[str, str, dict[str, int], str, bool, int]] = []
    load_errors = []
    for tid in chosen:
        try:
            template = load_template(files[tid])
        except Exception as exc:  # a report: a template that does not load is a finding
            load_errors.append(f"{tid}: {_describe(exc)}")
            continue
        for params, label, extreme in configurations(template):
            if extreme and args.defaults_only:
                continue
            jobs.append((tid, str(files[tid]), params, label, extreme, extreme_seeds if extreme else seeds))
    # The largest published sheets set the workload ceiling: measured even when not chosen.
    hidden = [
        (t, str(files[t]), {}, "default", False, min(seeds, 50)) for t in WORKLOAD if t in files and t not in chosen
    ]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(measure, *job) for job in jobs + hidden]
        results = [future.result() for future in futures]
    workload = published_workload(results)
    results = results[: len(jobs)]
    rows = [(s, figures(s, workload)) for s in results]

    extra: list[str] = []
    if args.baseline:
        timed = baseline_times(args.baseline, chosen, 200 if not args.quick else 50, 3)
        extra = ["base ms", "ratio"]
        for s, f in rows:
            if s.extreme or s.template not in timed:
                f["base ms"], f["ratio"] = Figure("-"), Figure("-")
                continue
            base, now = timed[s.template]
            f["base ms"] = Figure(f"{base * 1e3:.2f}")
            f["ratio"] = Figure(f"{now / base:.2f}", now / base > 2.0)

    failing = [(s, misses(s, f)) for s, f in rows if misses(s, f)]
    if args.json:
        report = [
            {**asdict(s), "figures": {k: asdict(v) for k, v in f.items()}, "misses": misses(s, f)} for s, f in rows
        ]
        print(json.dumps({
            "python": platform.python_version(), "numpy": np.__version__, "workload": workload,
            "rows": report, "load_errors": load_errors,
        }, indent=2, default=str))  # fmt: skip
    else:
        print(
            f"nnhand realism report: {len(chosen)} templates, {seeds} seeds at default params, {extreme_seeds} at each "
            f"extreme size (python {platform.python_version()}, numpy {np.__version__})\n"
            f'"!" a figure outside its threshold (see bench/realism.py), "(d)" outside by design, '
            f'"*" a template with a miss; extreme rows are judged on {", ".join(HARD)} only\n'
        )
        defaults = [r for r in rows if not r[0].extreme]
        extremes = [r for r in rows if r[0].extreme]
        print("default params\n\n" + table(defaults, args.markdown, extra))
        if extremes:
            print("\nextreme sizes\n\n" + table(extremes, args.markdown, []))
        excused: dict[tuple[str, str, str], list[str]] = {}
        for s, f in rows:
            for name in f:
                if f[name].excused:
                    excused.setdefault((s.template, name, f[name].excused), []).append(s.label)
        if excused:
            print("\nby design:")
            for (template_id, name, why), labels in excused.items():
                where = "every size" if len(labels) > 1 else labels[0]
                print(f"  {template_id} {name} ({where}): {why}")
        if failing or load_errors:
            print("\nmisses:")
            for error in load_errors:
                print(f"  {error}")
            for s, names in failing:
                detail = f" ({s.error})" if "fail" in names and s.error else ""
                print(f"  {s.template} ({s.label}): {', '.join(names)}{detail}")
        print(f"\n{time.perf_counter() - started:.1f} s")
    return 1 if args.strict and (failing or load_errors) else 0


def published_workload(results: list[Stats]) -> dict[str, int]:
    """The most blanks and multiplications on one of the largest published sheets (WORKLOAD)."""
    sheets = [s for s in results if s.template in WORKLOAD and not s.extreme and s.blanks]
    if not sheets:
        return {}
    return {
        "blanks": max(int(statistics.median(s.blanks)) for s in sheets),
        "mults": max(int(statistics.median(s.mults)) for s in sheets),
    }


if __name__ == "__main__":
    sys.exit(main())
