"""Speed of nnhand, measured side by side in one run (STYLE.md rule 15: benchmarks are not tests).

    python bench/bench.py              # everything, about a minute on a 2-core machine
    python bench/bench.py --quick      # fewer repetitions, for a quick look
    python bench/bench.py --only help  # one benchmark: help, gen, complete, inproc, imports

Every subprocess benchmark runs the command and its baseline interleaved (A B A B ...), so
a noisy neighbour or a CPU frequency change hits both alike, and compares medians of wall
time. The in-process benchmark takes turns in chunks and compares CPU time. Ratios,
not absolute times, carry the targets: they hold on a slow laptop and a fast CI runner.
Always exits 0 when it could measure; a MISS is a finding to report, not a failed build.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

NAMES = ("imports", "help", "gen", "complete", "inproc")
HEAVY = ("numpy", "yaml", "rich")  # STYLE.md rule 2: none of these before a command needs them
ALSO_REPORTED = ("pydantic",)  # typer >= 0.2x coerces parameters through pydantic: shown, not judged
COMPLETE_ENV = {"_NNHAND_COMPLETE": "complete_bash", "COMP_WORDS": "nnhand gen ", "COMP_CWORD": "2"}
PY = sys.executable

# A subprocess that runs the app in-process and reports which heavy modules got imported.
PROBE = """
import sys
from nnhand.cli import app
try:
    app(prog_name="nnhand")
except SystemExit:
    pass
print("HEAVY=" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


@dataclass
class Row:
    name: str
    subject: float  # median seconds (per run, or per instance in-process)
    baseline: float
    target: float | None
    unit: str  # "ms" or "us"
    note: str = ""
    info: bool = False  # informational: reported, not held to the target

    @property
    def ratio(self) -> float:
        return self.subject / self.baseline

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "-"
        word = "PASS" if self.ratio <= self.target else "MISS"
        return f"{word} (info)" if self.info else word


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- helpers


# Every subprocess, nnhand and baseline alike, reads bytecode from one private cache that the
# warm-up round fills. Otherwise PYTHONDONTWRITEBYTECODE=1 (set in some dev shells and CI images)
# makes an editable checkout recompile nnhand on every run while the baseline's site-packages
# ship .pyc files: a handicap no installed user sees. --env-as-is measures the shell as it is.
BYTECODE: dict[str, str] = {}


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without anything that would switch nnhand into completion."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_NNHAND_COMPLETE", "COMP_"))}
    if BYTECODE:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(BYTECODE)
    env.update(extra or {})
    return env


def wall(cmd: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - start


def interleaved(commands: dict[str, tuple[Sequence[str], dict[str, str]]], runs: int) -> dict[str, list[float]]:
    """Run every command once per round, round after round (A B C A B C ...); one warm-up round
    first (not counted) so .pyc files and the page cache are warm for everyone."""
    for cmd, env in commands.values():
        wall(cmd, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (cmd, env) in commands.items():
            times[name].append(wall(cmd, env))
    return times


def check_exit(cmd: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run once with output captured: a benchmark of a command that fails measures nothing."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.strip()[-2000:]}")
    return proc


def spread(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=4) if len(samples) >= 2 else [samples[0]] * 3
    return f"n={len(samples)} median {statistics.median(samples) * 1e3:.1f} ms, IQR {q[0] * 1e3:.1f}-{q[2] * 1e3:.1f}"


def console_scripts() -> tuple[Path | None, Path | None, bool]:
    """The `nnhand` script installed beside this interpreter, the one found on PATH, and
    whether the PATH one is a wrapper (a pyenv or asdf shim) rather than a Python script."""
    beside = Path(PY).parent / ("nnhand.exe" if os.name == "nt" else "nnhand")
    beside_path = beside if beside.is_file() else None
    found = shutil.which("nnhand")
    on_path = Path(found) if found else None
    wrapper = False
    if on_path is not None:
        if beside_path is not None and on_path.resolve() == beside_path.resolve():
            on_path = None  # the same file: measured once
        else:
            try:
                first = on_path.read_bytes()[:200].split(b"\n", 1)[0]
            except OSError:
                first = b""
            wrapper = not (first.startswith(b"#!") and b"python" in first)
    return beside_path, on_path, wrapper


def path_python_is_ours() -> str | None:
    """`python` on PATH, when it is the interpreter running this script (maybe via a shim)."""
    found = shutil.which("python") or shutil.which("python3")
    if not found:
        return None
    proc = subprocess.run(
        [found, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=False
    )
    same = proc.returncode == 0 and Path(proc.stdout.strip()).resolve() == Path(PY).resolve()
    return found if same else None


# ----------------------------------------------------------------------------- benchmarks


def bench_imports(results: Results, runs: int) -> None:
    """Which heavy modules `nnhand --help` and a completion request import (should be none)."""
    env = clean_env()
    proc = subprocess.run([PY, "-X", "importtime", "-m", "nnhand", "--help"], capture_output=True, text=True, env=env)
    numpy_lines = [ln for ln in proc.stderr.splitlines() if ln.rstrip().split("|")[-1].strip().startswith("numpy")]
    verdict = "PASS" if not numpy_lines and proc.returncode == 0 else "MISS"
    results.notes.append(
        f"[{verdict}] -X importtime -m nnhand --help: "
        + ("numpy not imported" if not numpy_lines else f"numpy imported ({len(numpy_lines)} numpy modules)")
    )
    for label, args, extra in (
        ("nnhand --help", ["--help"], {}),
        ("completion request", [], COMPLETE_ENV),
    ):
        p = subprocess.run(
            [PY, "-c", PROBE.format(heavy=HEAVY + ALSO_REPORTED), *args],
            capture_output=True,
            text=True,
            env=clean_env(extra),
        )
        if "HEAVY=" not in p.stderr:
            results.notes.append(f"[MISS] {label}: the probe failed: {p.stderr.strip()[-300:]}")
            continue
        loaded = [m for m in p.stderr.split("HEAVY=")[-1].strip().split(",") if m]
        heavy = [m for m in loaded if m in HEAVY]
        others = [m for m in loaded if m not in HEAVY]
        shown = f"imports {', '.join(heavy)}" if heavy else "imports none of numpy, yaml, rich"
        if others:
            shown += f" (but imports {', '.join(others)}, via typer)"
        results.notes.append(f"[{'MISS' if heavy else 'PASS'}] {label} (sys.modules probe): {shown}")


def bench_help(results: Results, runs: int) -> None:
    env = clean_env()
    beside, on_path, wrapper = console_scripts()
    commands: dict[str, tuple[Sequence[str], dict[str, str]]] = {
        "base": ([PY, "-c", "import typer"], env),
        "-m": ([PY, "-m", "nnhand", "--help"], env),
    }
    if beside is not None:
        commands["script"] = ([str(beside), "--help"], env)
    path_python = path_python_is_ours() if on_path is not None and wrapper else None
    if on_path is not None:
        commands["path"] = ([str(on_path), "--help"], env)
        if path_python is not None:
            commands["path-base"] = ([path_python, "-c", "import typer"], env)
    for cmd, cmd_env in commands.values():
        check_exit(cmd, cmd_env)
    t = interleaved(commands, runs)
    base = statistics.median(t["base"])
    results.rows.append(
        Row("python -m nnhand --help  vs  python -c 'import typer'", statistics.median(t["-m"]), base, 1.15, "ms")
    )
    if beside is not None:
        results.rows.append(
            Row(f"{beside} --help  vs  python -c 'import typer'", statistics.median(t["script"]), base, 1.15, "ms")
        )
    else:
        results.notes.append(f"no nnhand console script beside {PY}: pip install -e . installs it")
    if on_path is not None:
        if "path-base" in t:
            results.rows.append(
                Row(
                    f"{on_path} --help  vs  {path_python} -c 'import typer'",
                    statistics.median(t["path"]),
                    statistics.median(t["path-base"]),
                    1.15,
                    "ms",
                    note="both through the same PATH wrapper (shim)",
                )
            )
        else:
            results.rows.append(
                Row(
                    f"{on_path} --help  vs  python -c 'import typer'",
                    statistics.median(t["path"]),
                    base,
                    1.15,
                    "ms",
                    note="a wrapper on PATH; the ratio includes its overhead" if wrapper else "another nnhand on PATH",
                    info=wrapper,
                )
            )
    elif beside is not None:
        results.notes.append(f"nnhand on PATH is {beside} (measured above)")
    else:
        results.notes.append("no nnhand on PATH")
    for name, samples in t.items():
        results.notes.append(f"help/{name}: {' '.join(commands[name][0])}: {spread(samples)}")
    results.notes.append(extra_imports("help", ["-m", "nnhand", "--help"], env, ["-c", "import typer"]))


def bench_gen(results: Results, runs: int) -> None:
    env = clean_env()
    beside, _, _ = console_scripts()
    args = ["gen", "hidden-layer", "--seed", "1"]
    commands: dict[str, tuple[Sequence[str], dict[str, str]]] = {
        "base": ([PY, "-c", "import typer, numpy, yaml, rich.table"], env),
        "-m": ([PY, "-m", "nnhand", *args], env),
    }
    if beside is not None:
        commands["script"] = ([str(beside), *args], env)
    for cmd, cmd_env in commands.values():
        check_exit(cmd, cmd_env)
    t = interleaved(commands, runs)
    base = statistics.median(t["base"])
    label = "python -c 'import typer, numpy, yaml, rich.table'"
    results.rows.append(
        Row(f"python -m nnhand {' '.join(args)}  vs  {label}", statistics.median(t["-m"]), base, 1.2, "ms")
    )
    if beside is not None:
        results.rows.append(
            Row(f"nnhand {' '.join(args)}  vs  {label}", statistics.median(t["script"]), base, 1.2, "ms")
        )
    for name, samples in t.items():
        results.notes.append(f"gen/{name}: {' '.join(commands[name][0])}: {spread(samples)}")
    results.notes.append(
        extra_imports("gen", ["-m", "nnhand", *args], env, ["-c", "import typer, numpy, yaml, rich.table"])
    )


def import_self_times(args: Sequence[str], env: dict[str, str]) -> dict[str, int]:
    """Module -> self import time in microseconds, from one `python -X importtime` run."""
    proc = subprocess.run([PY, "-X", "importtime", *args], capture_output=True, text=True, env=env, check=False)
    times: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _cumulative, name = line[len("import time:") :].split("|")
        if own.strip().isdigit():
            times[name.strip()] = int(own)
    return times


def extra_imports(label: str, args: Sequence[str], env: dict[str, str], base_args: Sequence[str]) -> str:
    """What a command imports beyond its baseline, self time summed per top-level package:
    where the gap between the two medians starts (one run, so read it as a rough split)."""
    ours = import_self_times(args, env)
    theirs = import_self_times(base_args, clean_env())
    totals: dict[str, int] = {}
    for name, own in ours.items():
        if name not in theirs:
            root = name.split(".")[0]
            totals[root] = totals.get(root, 0) + own
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{k} {v / 1e3:.1f}" for k, v in ranked[:8]) or "nothing"
    total = sum(totals.values()) / 1e3
    return f"{label}: imports beyond the baseline, self ms (one -X importtime run): total {total:.0f}; {shown}"


def bench_complete(results: Results, runs: int) -> None:
    env = clean_env()
    cenv = clean_env(COMPLETE_ENV)
    beside, _, _ = console_scripts()
    commands: dict[str, tuple[Sequence[str], dict[str, str]]] = {
        "base": ([PY, "-c", "import typer"], env),
        "-m": ([PY, "-m", "nnhand"], cenv),
    }
    if beside is not None:
        commands["script"] = ([str(beside)], cenv)
    proc = check_exit(commands["-m"][0], cenv)
    ids = proc.stdout.split()
    results.notes.append(f"completion of 'nnhand gen ' offers {len(ids)} ids: {' '.join(ids)}")
    if not ids:
        results.notes.append("completion offered nothing: the timing below measures a broken request")
    t = interleaved(commands, runs)
    base = statistics.median(t["base"])
    results.rows.append(
        Row(
            "completion (python -m nnhand)  vs  python -c 'import typer'",
            statistics.median(t["-m"]),
            base,
            1.15,
            "ms",
            info=True,
        )
    )
    if beside is not None:
        results.rows.append(
            Row(
                "completion (nnhand script)  vs  python -c 'import typer'",
                statistics.median(t["script"]),
                base,
                1.15,
                "ms",
                info=True,
            )
        )
    for name, samples in t.items():
        results.notes.append(f"complete/{name}: {' '.join(commands[name][0])}: {spread(samples)}")
    results.notes.append(extra_imports("completion", ["-m", "nnhand"], cenv, ["-c", "import typer"]))


def bench_inproc(results: Results, rounds: int, count: int = 2000) -> None:
    """2,000 solved matmul instances vs 2,000 mathgenerator matrix_multiplication problems."""
    try:
        from mathgenerator import algebra
    except ImportError:
        results.notes.append(
            "inproc skipped: mathgenerator is not installed. For this benchmark only (never a project "
            "dependency): pip install mathgenerator"
        )
        return
    from nnhand.core.engine import generate
    from nnhand.core.keys import key_data
    from nnhand.core.template import load_template
    from nnhand.resources import find_template

    template = load_template(find_template("matmul"))

    # Each round hands out the 2,000 instances in chunks, the contenders taking turns chunk by
    # chunk (first mover alternating), so a burst of load elsewhere on the machine lands on
    # all of them rather than on whoever was running: a round is still 2,000 of each.
    chunk = 100

    def ours(seeds: range) -> None:
        for seed in seeds:
            generate(template, seed)

    def ours_with_key_data(seeds: range) -> None:
        for seed in seeds:
            key_data(generate(template, seed))

    def theirs(seeds: range) -> None:
        for _ in seeds:
            algebra.matrix_multiplication()

    contenders: dict[str, Callable[[range], None]] = {
        "nnhand": ours,
        "nnhand+key_data": ours_with_key_data,
        "mathgen": theirs,
    }
    random.seed(0)  # mathgenerator draws from the global random module
    for fn in contenders.values():  # warm-up: the template's sampling plan, caches, branch predictors
        fn(range(count))
    # CPU time of this process is the measure: on a shared machine, wall time also counts the
    # moments the scheduler hands the core to someone else (wall time is reported in the notes).
    per: dict[str, list[float]] = {name: [] for name in contenders}
    per_wall: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders)
    for _ in range(rounds):
        random.seed(0)
        gc.collect()
        cpu = dict.fromkeys(contenders, 0.0)
        wall_spent = dict.fromkeys(contenders, 0.0)
        for n, first in enumerate(range(0, count, chunk)):
            seeds = range(first, min(first + chunk, count))
            for name in order if n % 2 == 0 else order[::-1]:
                start, start_cpu = time.perf_counter(), time.process_time()
                contenders[name](seeds)
                cpu[name] += time.process_time() - start_cpu
                wall_spent[name] += time.perf_counter() - start
        for name in contenders:
            per[name].append(cpu[name] / count)
            per_wall[name].append(wall_spent[name] / count)
    base = statistics.median(per["mathgen"])
    results.rows.append(
        Row(
            f"{count} x engine.generate(matmul, seed)  vs  {count} x mathgenerator matrix_multiplication() [CPU]",
            statistics.median(per["nnhand"]),
            base,
            1.0,
            "us",
        )
    )
    results.rows.append(
        Row(
            "  the same plus keys.key_data (the key as data)  vs  mathgenerator",
            statistics.median(per["nnhand+key_data"]),
            base,
            1.0,
            "us",
            info=True,
        )
    )
    for name, samples in per.items():
        shown = ", ".join(f"{s * 1e6:.1f}" for s in samples)
        walls = ", ".join(f"{s * 1e6:.1f}" for s in per_wall[name])
        results.notes.append(f"inproc/{name}: CPU µs per instance by round ({chunk}-instance turns): {shown}")
        results.notes.append(f"inproc/{name}: wall µs per instance by round: {walls}")
    wall_ratio = statistics.median(per_wall["nnhand"]) / statistics.median(per_wall["mathgen"])
    results.notes.append(f"inproc: the same comparison in wall time: ratio {wall_ratio:.2f} (target <= 1.00)")
    results.notes.append(
        "mathgenerator's defaults draw 2-10 x 2-10 matrices with entries to ±100 (pure Python) and return LaTeX; "
        "matmul is 4x3 @ 3x2 with constraints checked and an exact key"
    )


# ----------------------------------------------------------------------------- report


def header() -> list[str]:
    import numpy

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    try:
        from importlib.metadata import version

        versions = ", ".join(f"{p} {version(p)}" for p in ("nnhand", "typer", "rich", "PyYAML"))
        try:
            versions += f", mathgenerator {version('mathgenerator')}"
        except Exception:
            versions += ", mathgenerator not installed"
    except Exception:
        versions = "?"
    return [
        f"python {platform.python_version()} ({PY}), numpy {numpy.__version__}",
        f"{platform.platform()}, {platform.machine()}, {cores} cores usable ({os.cpu_count()} online), {load()}",
        versions,
    ]


def load() -> str:
    """Other work on the machine widens the spread; the ratios are meant to survive it."""
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "load average unknown"


def fmt_time(seconds: float, unit: str) -> str:
    return f"{seconds * 1e3:.1f} ms" if unit == "ms" else f"{seconds * 1e6:.1f} µs"


def render(results: Results) -> str:
    table = [("benchmark", "median", "baseline", "ratio", "target", "verdict")]
    for r in results.rows:
        name = r.name + (f"  [{r.note}]" if r.note else "")
        target = f"<= {r.target:.2f}" if r.target is not None else "-"
        table.append(
            (name, fmt_time(r.subject, r.unit), fmt_time(r.baseline, r.unit), f"{r.ratio:.2f}", target, r.verdict)
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for n, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:-1], widths[1:-1])] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 runs per command and 3 in-process rounds")
    parser.add_argument(
        "--only", action="append", choices=NAMES, metavar="NAME", help=f"one of {', '.join(NAMES)}; repeatable"
    )
    parser.add_argument(
        "--env-as-is",
        action="store_true",
        help="run the subprocesses in this shell's environment, bytecode settings included",
    )
    args = parser.parse_args(argv)
    runs = 10 if args.quick else 30
    rounds = 3 if args.quick else 5
    chosen = args.only or list(NAMES)

    started = time.perf_counter()
    cache_dir = None
    if not args.env_as_is:
        cache_dir = tempfile.mkdtemp(prefix="nnhand-bench-pyc-")
        BYTECODE["PYTHONPYCACHEPREFIX"] = cache_dir
    try:
        return run(args, chosen, runs, rounds, started, cache_dir)
    finally:
        if cache_dir is not None:
            shutil.rmtree(cache_dir, ignore_errors=True)


def run(
    args: argparse.Namespace, chosen: Sequence[str], runs: int, rounds: int, started: float, cache_dir: str | None
) -> int:
    print("nnhand benchmark: side-by-side medians, ratio = nnhand / baseline (lower is better)")
    for line in header():
        print("  " + line)
    if cache_dir is not None:
        dropped = " (PYTHONDONTWRITEBYTECODE dropped)" if "PYTHONDONTWRITEBYTECODE" in os.environ else ""
        print(f"  subprocesses share a private bytecode cache{dropped}; --env-as-is to measure this shell as it is")
    else:
        flags = {k: os.environ.get(k) for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
        print(f"  environment as is ({', '.join(f'{k}={v!r}' for k, v in flags.items())})")
    print(f"  {runs} interleaved runs per command, {rounds} alternating in-process rounds\n", flush=True)

    results = Results()
    steps: dict[str, Callable[[], None]] = {
        "imports": lambda: bench_imports(results, runs),
        "help": lambda: bench_help(results, runs),
        "gen": lambda: bench_gen(results, runs),
        "complete": lambda: bench_complete(results, runs),
        "inproc": lambda: bench_inproc(results, rounds),
    }
    for name in NAMES:
        if name in chosen:
            t0 = time.perf_counter()
            steps[name]()
            print(f"  ... {name} measured in {time.perf_counter() - t0:.1f} s", flush=True)
    print()

    if results.rows:
        print(render(results))
    if results.notes:
        print("\nnotes:")
        for note in results.notes:
            print("  " + note)
    print(f"\ntotal {time.perf_counter() - started:.1f} s, {load()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
