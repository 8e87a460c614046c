"""The hostile-input sweep: about a thousand bad inputs against the installed `nnhand` command.

    python bench/hostile.py                  # every case (about 8 minutes on 2 busy cores)
    python bench/hostile.py --quick          # about a tenth of the cases
    python bench/hostile.py --only answers --only manifests --json results.json
    python bench/hostile.py --list           # the surfaces and families, without running them

A measuring instrument, not a test (STYLE.md rule 15). Every case runs `nnhand` as a
subprocess under a temporary folder (nothing outside it is read for writing or touched),
with a time limit (10 s), an address-space cap (1.5 GB, RLIMIT_AS), a file-size cap and
its own HOME and TMPDIR, two at a time, and is classified:

  OK           exit 0, 1 or 2, no traceback, and an exit 2 names the file, key or cell
  TRACEBACK    "Traceback", "internal error" or "Exception ignored" in the output, or exit 3
  HANG         killed at the time limit
  MEMORY       MemoryError, killed, or a peak RSS over 300 MB (a 50 MB manifest parsed)
  CRASH        killed by a signal, or an exit code outside 0, 1, 2 (and 130 for practice)
  LOSS         a file outside the output folder changed, vanished or appeared (a path
               escaped its folder), or a temp/partial file was left behind
  CREDIT       a tampering or impersonation case earned credit (or exit 0)
  WRAP         a key for big givens that is neither exact nor refused (int64 wrap-around)
  UNSAFE-CSV   a grade-book cell starting with = + - @ (or tab/CR)
  UNSAFE-TERM  a raw control character (ESC, BEL, CR, ...) in the output or a text file
  UNSAFE-XML   XML (Moodle, QTI, JUnit) that xml.etree cannot parse, or raw markup in HTML
  ACCEPTED     an input the issue says must be refused (duplicate keys, aliases, NaN, ...)
  WRONG        ran cleanly but not as the case demands (exit code, JSON, GIFT count, grade)
  VAGUE        exit 2 whose message names no file, key, cell or option
  SETUP        the instrument could not build or judge the case (a bug here, or nnhand's
               own baseline changed)

It prints a table (surface x outcome) and every case that is not OK with its command and
the last lines of its output, and exits 1 when any case is not OK. Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import json
import os
import random
import re
import resource
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

TIMEOUT = 10.0
MEMORY_CAP = 1536 * 2**20  # RLIMIT_AS of every nnhand process
FILE_CAP = 256 * 2**20  # RLIMIT_FSIZE: a runaway writer is stopped, never fills the disk
RSS_LIMIT_KB = 300 * 1024  # peak resident memory above this is MEMORY
WORKERS = 2

OUTCOMES = (
    "TRACEBACK",
    "HANG",
    "MEMORY",
    "CRASH",
    "LOSS",
    "CREDIT",
    "WRAP",
    "UNSAFE-CSV",
    "UNSAFE-TERM",
    "UNSAFE-XML",
    "ACCEPTED",
    "WRONG",
    "VAGUE",
    "SETUP",
)
SURFACES = ("templates", "answers", "givens", "manifests", "submissions", "rosters", "exports", "env")
TRACE_MARKS = ("Traceback (most recent call last)", "internal error", "Exception ignored", "Fatal Python error")
# C0 controls except tab and newline, DEL, and the C1 range (U+009B is a one-byte CSI).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
TEMP_NAMES = re.compile(r"(^\.|\.tmp$|\.part$|\.partial$)")
SECRET = "hostile-" + hashlib.sha256(os.urandom(16)).hexdigest()[:24]


# ----------------------------------------------------------------------------- cases


@dataclass
class Step:
    argv: list[str]
    env: dict[str, str | None] = field(default_factory=dict)  # None removes a variable
    stdin: bytes | None = None
    timeout: float = TIMEOUT
    close_stdout: bool = False
    stdout_device: str | None = None  # e.g. /dev/full: written to, never created
    pipe: bool = False  # run as `argv | head -1`: SIGPIPE is an allowed ending
    ok_codes: tuple[int, ...] = (0, 1, 2)


@dataclass
class Result:
    argv: list[str]
    rc: int | None = None
    timed_out: bool = False
    elapsed: float = 0.0
    maxrss_kb: int = 0
    stdout: bytes = b""
    stderr: bytes = b""
    stdout_size: int = 0
    error: str | None = None  # the step could not be started

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace") + "\n" + self.stderr.decode("utf-8", "replace")


@dataclass
class Finding:
    outcome: str
    detail: str


Check = Callable[["Case"], Iterable[Finding]]


@dataclass
class Case:
    id: str
    surface: str
    family: str
    name: str
    dir: Path
    steps: list[Step] = field(default_factory=list)
    outputs: tuple[str, ...] = ()  # paths (relative to dir) the case may create or change
    names: tuple[str, ...] = ()  # an exit-2 message must mention one of these
    refuse: bool = False  # exit 0 of the judged step is ACCEPTED
    credit: bool = False  # exit 0 of the judged step is CREDIT
    expect_rc: tuple[int, ...] | None = None  # else WRONG
    judge: int = -1  # the step refuse/credit/expect_rc look at
    chain: bool = False  # a step runs only when the one before exited 0 or 1
    checks: list[Check] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    before: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    note: str = ""

    @property
    def outcome(self) -> str:
        found = {f.outcome for f in self.findings}
        return next((o for o in OUTCOMES if o in found), "OK")

    def result(self, index: int = -1) -> Result | None:
        try:
            return self.results[index]
        except IndexError:
            return None

    def path(self, relative: str) -> Path:
        return self.dir / relative


# ----------------------------------------------------------------------------- small helpers


class Raw(str):
    """YAML text written as it is (a token such as .nan, or a deliberately broken value)."""


def flow(value: Any) -> str:
    """A value as one line of flow YAML (JSON where JSON and YAML agree)."""
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{flow(str(k))}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return json.dumps(str(value))


def yq(text: str) -> str:
    """A YAML double-quoted string: JSON's escapes are YAML's (control characters as \\uXXXX)."""
    return json.dumps(text)


def with_first_leaf(value: Any, leaf: Any) -> Any:
    if isinstance(value, list) and value:
        return [with_first_leaf(value[0], leaf), *value[1:]]
    return leaf


def leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for v in value:
            yield from leaves(v)
    else:
        yield value


def map_leaves(value: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(value, list):
        return [map_leaves(v, fn) for v in value]
    return fn(value)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    return path


def tail(data: bytes, lines: int = 6) -> list[str]:
    text = data.decode("utf-8", "replace").rstrip("\n")
    out = text.splitlines()[-lines:] if text else []
    return [_visible(line)[:300] for line in out]


def _visible(text: str) -> str:
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def control_chars(text: str) -> list[str]:
    return sorted({f"\\x{ord(c):02x}" for c in CONTROL.findall(text)})


def big_digits(n: int) -> str:
    return "9" * n


# ----------------------------------------------------------------------------- the file tree


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """lstat of everything under root (never opens a FIFO or device), plus a digest of small files."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            rel = os.path.relpath(full, root)
            if stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            elif stat.S_ISREG(st.st_mode):
                digest = ""
                if st.st_size <= 4 * 2**20:
                    try:
                        with open(full, "rb") as handle:
                            digest = hashlib.sha256(handle.read()).hexdigest()
                    except OSError:
                        digest = "unreadable"
                out[rel] = ("file", st.st_size, digest or st.st_mtime_ns)
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(full))
            else:
                out[rel] = ("special", stat.S_IFMT(st.st_mode))
    return out


def _inside(rel: str, outputs: Iterable[str]) -> bool:
    return any(rel == o or rel.startswith(o.rstrip("/") + "/") for o in outputs)


def _work_relative(rel: str) -> str | None:
    """A snapshot path (relative to the case's folder) relative to its work folder; None outside it."""
    return rel[len("work/") :] if rel.startswith("work/") else None


def tree_findings(case: Case, after: dict[str, tuple[Any, ...]]) -> list[Finding]:
    found = []
    before = case.before
    outputs = tuple(f"work/{o}" for o in case.outputs)
    for rel, sig in before.items():
        if _inside(rel, outputs):
            continue
        if rel not in after:
            found.append(Finding("LOSS", f"{_work_relative(rel) or rel} disappeared"))
        elif after[rel] != sig and sig[0] != "dir":
            found.append(Finding("LOSS", f"{_work_relative(rel) or rel} changed"))
    for rel in after:
        if rel in before:
            continue
        shown = _work_relative(rel)
        if shown is None:
            found.append(Finding("LOSS", f"written outside the case's folder: ../{rel}"))
        elif TEMP_NAMES.search(os.path.basename(rel)):
            found.append(Finding("LOSS", f"left behind: {shown}"))
        elif not _inside(rel, outputs) and rel != "work":
            found.append(Finding("LOSS", f"written outside the output: {shown}"))
    return found[:8]


# ----------------------------------------------------------------------------- running


def _limits(close_stdout: bool) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_CAP, FILE_CAP))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if close_stdout:
            os.close(1)

    return apply


@dataclass
class Slot:
    case: Case
    index: int
    step: Step
    pid: int
    popen: subprocess.Popen[bytes]
    start: float
    out_path: Path
    err_path: Path
    killed_at: float | None = None


class Runner:
    """At most `workers` nnhand processes at a time, each timed, capped and reaped with wait4."""

    def __init__(self, io_dir: Path, env: dict[str, str], workers: int) -> None:
        self.io_dir = io_dir
        self.env = env
        self.workers = workers
        self.serial = 0

    def run(self, cases: list[Case], done: Callable[[Case], None]) -> None:
        running: dict[int, Slot] = {}
        try:
            self._loop(deque(cases), running, done)
        finally:  # interrupted: stop and reap what this runner started, nothing else
            for slot in running.values():
                with contextlib.suppress(OSError):
                    os.killpg(slot.pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    os.waitpid(slot.pid, 0)
                slot.popen.returncode = -9

    def _loop(self, queue: deque[Case], running: dict[int, Slot], done: Callable[[Case], None]) -> None:
        while queue or running:
            while queue and len(running) < self.workers:
                case = queue.popleft()
                try:
                    if case.surface != "setup":
                        case.before = snapshot(case.dir.parent)
                except Exception as exc:
                    case.findings.append(Finding("SETUP", f"snapshot failed: {exc!r}"))
                slot = self._next(case, 0)
                if slot is None:
                    done(case)
                else:
                    running[slot.pid] = slot
            time.sleep(0.005)
            now = time.monotonic()
            for pid, slot in list(running.items()):
                try:
                    wpid, status, usage = os.wait4(pid, os.WNOHANG)
                except ChildProcessError:
                    wpid, status, usage = pid, 0, None
                if wpid == 0:
                    self._police(slot, now)
                    continue
                del running[pid]
                slot.case.results.append(self._collect(slot, status, usage, now))
                following = self._next(slot.case, slot.index + 1)
                if following is None:
                    done(slot.case)
                else:
                    running[following.pid] = following

    def _police(self, slot: Slot, now: float) -> None:
        if slot.killed_at is None and now - slot.start > slot.step.timeout:
            slot.killed_at = now
            with contextlib.suppress(OSError):
                os.killpg(slot.pid, signal.SIGKILL)  # the group is this child's own session

    def _next(self, case: Case, index: int) -> Slot | None:
        while index < len(case.steps):
            if index and case.chain:
                last = case.result()
                if last is None or last.rc not in (0, 1):
                    return None
            slot = self._start(case, index)
            if slot is not None:
                return slot
            index += 1
        return None

    def _start(self, case: Case, index: int) -> Slot | None:
        step = case.steps[index]
        self.serial += 1
        out_path = self.io_dir / f"{case.id}-{index}-{self.serial}.out"
        err_path = self.io_dir / f"{case.id}-{index}-{self.serial}.err"
        env = dict(self.env)
        for key, value in step.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        argv = step.argv
        if step.pipe:
            argv = ["bash", "-c", '"$@" | head -1; exit "${PIPESTATUS[0]}"', "bash", *argv]
        stdin: Any = subprocess.DEVNULL
        try:
            if step.stdin is not None:
                stdin_path = write(self.io_dir / f"{case.id}-{index}-{self.serial}.in", step.stdin)
                stdin = open(stdin_path, "rb")  # noqa: SIM115 (closed once the child has it)
            out = (
                os.fdopen(os.open(step.stdout_device, os.O_WRONLY), "wb")
                if step.stdout_device
                else open(out_path, "wb")  # noqa: SIM115
            )
            with out, open(err_path, "wb") as err:
                popen = subprocess.Popen(
                    argv,
                    cwd=case.dir,
                    env=env,
                    stdin=stdin,
                    stdout=out,
                    stderr=err,
                    preexec_fn=_limits(step.close_stdout),  # the runner is single-threaded
                    start_new_session=True,
                )
        except Exception as exc:
            case.results.append(Result(step.argv, error=f"could not start: {exc!r}"))
            return None
        finally:
            if stdin is not subprocess.DEVNULL:
                stdin.close()
        return Slot(case, index, step, popen.pid, popen, time.monotonic(), out_path, err_path)

    def _collect(self, slot: Slot, status: int, usage: Any, now: float) -> Result:
        slot.popen.returncode = os.waitstatus_to_exitcode(status) if usage is not None else None
        result = Result(
            slot.step.argv,
            rc=slot.popen.returncode,
            timed_out=slot.killed_at is not None,
            elapsed=now - slot.start,
            maxrss_kb=int(usage.ru_maxrss) if usage is not None else 0,
        )
        result.stdout, result.stdout_size = _read_capped(slot.out_path)
        result.stderr, _ = _read_capped(slot.err_path)
        for path in (slot.out_path, slot.err_path):
            with contextlib.suppress(OSError):
                path.unlink()
        return result


def _read_capped(path: Path, cap: int = 8 * 2**20) -> tuple[bytes, int]:
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            if size <= cap:
                return handle.read(), size
            head = handle.read(cap // 2)
            handle.seek(size - 2**20)
            return head + b"\n[... output cut ...]\n" + handle.read(), size
    except OSError:
        return b"", 0


# ----------------------------------------------------------------------------- judging


def judge_result(case: Case, step: Step, res: Result) -> list[Finding]:
    if res.error:
        return [Finding("SETUP", res.error)]
    found = []
    text = res.text
    memory = "MemoryError" in text
    if res.timed_out:
        found.append(Finding("HANG", f"killed after {step.timeout:g} s"))
    elif res.rc is not None and res.rc < 0:
        sig = -res.rc
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGKILL:
            found.append(Finding("MEMORY", "killed by SIGKILL (out of memory?)"))
        elif not (step.pipe and sig == signal.SIGPIPE):
            found.append(Finding("CRASH", f"killed by {name}"))
    if memory:
        found.append(Finding("MEMORY", "MemoryError"))
    elif any(mark in text for mark in TRACE_MARKS) or res.rc == 3:
        line = next((ln for ln in text.splitlines()[::-1] if ln.strip() and not ln.startswith(" ")), "")
        found.append(Finding("TRACEBACK", f"exit {res.rc}: {_visible(line)[:200]}"))
    elif res.rc is not None and res.rc >= 0 and res.rc not in step.ok_codes and not res.timed_out:
        allowed = step.pipe and res.rc == 141
        if not allowed:
            found.append(Finding("CRASH", f"exit {res.rc}"))
    if res.maxrss_kb > RSS_LIMIT_KB:
        found.append(Finding("MEMORY", f"peak RSS {res.maxrss_kb // 1024} MB"))
    bad = control_chars(text.replace("\r\n", "\n"))
    if bad:
        found.append(Finding("UNSAFE-TERM", f"raw control characters in the output: {' '.join(bad[:6])}"))
    if res.rc == 2 and case.names and not res.timed_out and not any(n and n in text for n in case.names):
        message = _visible(res.stderr.decode("utf-8", "replace").strip())[-200:]
        found.append(Finding("VAGUE", f"exit 2 names none of {list(case.names)[:3]}: {message!r}"))
    return found


def judge_case(case: Case) -> None:
    for index, res in enumerate(case.results):
        step = case.steps[min(index, len(case.steps) - 1)]
        case.findings.extend(judge_result(case, step, res))
    if case.judge >= 0:
        judged = case.result(case.judge)
    else:  # the last step, when every step ran
        judged = case.result() if case.results and len(case.results) == len(case.steps) else None
    if judged is not None and judged.rc is not None and not judged.timed_out:
        if case.credit and judged.rc == 0:
            case.findings.append(Finding("CREDIT", "a tampered or impersonating input exited 0"))
        elif case.refuse and judged.rc == 0:
            case.findings.append(Finding("ACCEPTED", "exit 0 for an input that must be refused"))
        if case.expect_rc is not None and judged.rc not in case.expect_rc and judged.rc in (0, 1, 2):
            case.findings.append(
                Finding("WRONG", f"exit {judged.rc}, expected {' or '.join(map(str, case.expect_rc))}")
            )
    for check in case.checks:
        try:
            case.findings.extend(check(case))
        except Exception as exc:
            case.findings.append(Finding("SETUP", f"judging failed: {exc!r}"))
    try:
        case.findings.extend(tree_findings(case, snapshot(case.dir.parent)))
    except Exception as exc:
        case.findings.append(Finding("SETUP", f"snapshot failed: {exc!r}"))


# ----------------------------------------------------------------------------- checks on outputs


def _files(case: Case, rel: str, suffixes: tuple[str, ...] = ()) -> list[Path]:
    base = case.path(rel)
    if base.is_file() and not base.is_symlink():
        return [base]
    if not base.is_dir():
        return []
    return [
        p
        for p in sorted(base.rglob("*"))
        if p.is_file() and not p.is_symlink() and (not suffixes or p.suffix.lower() in suffixes)
    ]


def check_csv(rel: str) -> Check:
    def run(case: Case) -> list[Finding]:
        found = []
        for path in _files(case, rel):
            text = path.read_text("utf-8", "replace")
            for row in csv.reader(io.StringIO(text)):
                for cell in row:
                    if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                        found.append(Finding("UNSAFE-CSV", f"{path.name}: cell {cell[:60]!r}"))
        return found[:3]

    return run


def check_text_files(*rels: str) -> Check:
    """No raw control character in a feedback, Markdown, YAML or CSV file nnhand wrote."""

    def run(case: Case) -> list[Finding]:
        found = []
        for rel in rels:
            for path in _files(case, rel, (".txt", ".md", ".yaml", ".csv", ".gift", ".json", ".typ")):
                bad = control_chars(path.read_text("utf-8", "replace").replace("\r\n", "\n"))
                if bad:
                    found.append(Finding("UNSAFE-TERM", f"{path.relative_to(case.dir)}: {' '.join(bad[:5])}"))
        return found[:3]

    return run


def check_xml_files(*rels: str) -> Check:
    def run(case: Case) -> list[Finding]:
        found = []
        for rel in rels:
            for path in _files(case, rel, (".xml",)):
                try:
                    ET.fromstring(path.read_bytes())
                except ET.ParseError as exc:
                    found.append(Finding("UNSAFE-XML", f"{path.relative_to(case.dir)}: {exc}"))
        return found[:3]

    return run


def check_html(*rels: str, needles: tuple[str, ...] = ("<script", "<img src=x")) -> Check:
    def run(case: Case) -> list[Finding]:
        found = []
        for rel in rels:
            for path in _files(case, rel, (".html", ".htm")):
                text = path.read_text("utf-8", "replace")
                bad = control_chars(text.replace("\r\n", "\n"))
                if bad:
                    found.append(Finding("UNSAFE-XML", f"{path.relative_to(case.dir)}: control {' '.join(bad[:4])}"))
                for needle in needles:
                    if needle in text:
                        found.append(Finding("UNSAFE-XML", f"{path.relative_to(case.dir)}: raw {needle!r}"))
        return found[:3]

    return run


def check_stdout_xml(step: int = -1, required: bool = True) -> Check:
    def run(case: Case) -> list[Finding]:
        res = case.result(step)
        if res is None or res.timed_out or not (res.stdout.strip() or required) or res.rc not in (0, 1, 2):
            return []
        if not res.stdout.strip() and res.rc == 2 and not required:
            return []
        try:
            ET.fromstring(res.stdout)
        except ET.ParseError as exc:
            return [Finding("UNSAFE-XML", f"stdout is not XML: {exc}")]
        return []

    return run


def check_stdout_json(step: int = -1, required: bool = True, base64: bool = False) -> Check:
    def run(case: Case) -> list[Finding]:
        res = case.result(step)
        if res is None or res.timed_out or res.rc not in (0, 1, 2):
            return []
        data = res.stdout
        if not data.strip():
            return [Finding("WRONG", "empty output where a report must always be written")] if required else []
        try:
            if base64:
                import base64 as b64

                data = b64.b64decode(data.strip(), validate=True)
            json.loads(data.decode("utf-8"))
        except Exception as exc:
            return [Finding("WRONG", f"stdout is not valid JSON: {exc}")]
        return []

    return run


def read_gradebook(case: Case, rel: str = "grades.csv") -> dict[str, dict[str, str]] | None:
    path = case.path(rel)
    if not path.is_file():
        return None
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig", "replace"))))  # grades.csv has a BOM
    book = {}
    for row in rows:
        sid = row.get("student_id") or ""
        if not sid and row.get("name") == "Points Possible":  # the labelled row, as Canvas writes it
            sid = "points possible"
        book[sid.lstrip("'")] = row
    return book


def score(book: dict[str, dict[str, str]], sid: str, template: str) -> float | None:
    try:
        return float(book[sid][template].lstrip("'"))
    except (KeyError, ValueError, AttributeError, TypeError):
        return None


def flags_of(book: dict[str, dict[str, str]], *sids: str) -> str:
    """The flags of these rows, without the plain 'missing' notes."""
    text = " ".join((book.get(s) or {}).get("flags") or "" for s in sids)
    return re.sub(r"[\w.-]+: missing;?", "", text).strip(" ;")


# ----------------------------------------------------------------------------- YAML text surgery

KEY_LINE = re.compile(r"^(?P<indent> *)(?P<dash>(?:- +)?)(?P<key>[A-Za-z_][A-Za-z0-9_-]*):(?=\s|$)(?P<rest>.*)$")
ITEM_FLOW = re.compile(r"^(?P<indent> *)- +(?=\{)")


@dataclass
class Site:
    line: int
    col: int  # the key's column (children are deeper)
    path: str
    start: int  # the value's span in the line
    end: int
    block: bool  # a block key: the value may continue on deeper lines


def _skip_quoted(line: str, i: int) -> int:
    quote = line[i]
    i += 1
    while i < len(line):
        if quote == '"' and line[i] == "\\":
            i += 2
            continue
        if line[i] == quote:
            if quote == "'" and line[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return i


def _flow_sites(line: str, start: int, prefix: str, number: int, col: int) -> list[Site]:
    items = []
    depth = 0
    i = start + 1
    item_start = i
    while i < len(line):
        c = line[i]
        if c in "\"'":
            i = _skip_quoted(line, i)
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            if depth == 0:
                items.append((item_start, i))
                break
            depth -= 1
        elif c == "," and depth == 0:
            items.append((item_start, i))
            item_start = i + 1
        i += 1
    sites = []
    for a, b in items:
        segment = line[a:b]
        m = re.match(r"\s*([^:{}\[\],\s]+)\s*:\s", segment + " ")
        if not m:
            continue
        key = m.group(1).strip("\"'")
        vstart = a + m.end()
        vend = b
        while vend > vstart and line[vend - 1] == " ":
            vend -= 1
        if vstart > vend:
            vstart = vend
        sites.append(Site(number, col, f"{prefix}.{key}" if prefix else key, vstart, vend, False))
        if line[vstart : vstart + 1] == "{":
            sites.extend(_flow_sites(line, vstart, sites[-1].path, number, col))
    return sites


def yaml_sites(text: str) -> list[Site]:
    """Every key of a YAML template, block and flow: where a mutation can put a value."""
    sites = []
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n")):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = KEY_LINE.match(line)
        if m:
            col = len(m["indent"]) + len(m["dash"])
            while stack and stack[-1][0] >= col:
                stack.pop()
            path = ".".join([k for _, k in stack] + [m["key"]])
            vstart = m.start("rest") + (len(m["rest"]) - len(m["rest"].lstrip()))
            sites.append(Site(number, col, path, vstart, len(line), True))
            stack.append((col, m["key"]))
            if line[vstart : vstart + 1] == "{":
                sites.extend(_flow_sites(line, vstart, path, number, col))
            continue
        m2 = ITEM_FLOW.match(line)
        if m2:
            col = len(m2["indent"]) + 1
            while stack and stack[-1][0] >= col:
                stack.pop()
            prefix = ".".join(k for _, k in stack)
            sites.extend(_flow_sites(line, m2.end(), prefix, number, col + 1))
    return sites


def set_site(text: str, site: Site, value: str) -> str:
    lines = text.split("\n")
    line = lines[site.line]
    lines[site.line] = line[: site.start] + value + ("" if site.block else line[site.end :])
    if site.block:
        end = site.line + 1
        while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > site.col):
            end += 1
        del lines[site.line + 1 : end]
    return "\n".join(lines)


def mutate(text: str, path: str, value: str, nth: int = 0) -> str:
    """Set the nth key at `path` (dotted, list items transparent) to a YAML value."""
    matches = [s for s in yaml_sites(text) if s.path == path]
    if len(matches) <= nth:
        raise KeyError(f"no key {path} in the template")
    return set_site(text, matches[nth], value)


# Answer files: top-level keys at column 0; the answers' entries at column 2.


def top_blocks(text: str) -> list[tuple[str, int, int]]:
    lines = text.split("\n")
    blocks: list[tuple[str, int, int]] = []
    for i, line in enumerate(lines):
        m = re.match(r"^([A-Za-z_][\w-]*):", line)
        if m:
            if blocks:
                blocks[-1] = (blocks[-1][0], blocks[-1][1], i)
            blocks.append((m.group(1), i, len(lines)))
    if blocks:  # trailing blank lines are not part of the last block
        key, start, end = blocks[-1]
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        blocks[-1] = (key, start, end)
    return blocks


def set_top(text: str, key: str, value: str | None) -> str:
    """Replace (or add, or with None remove) a top-level key; a value starting with a newline is a block."""
    lines = text.split("\n")
    for name, start, end in top_blocks(text):
        if name == key:
            new = (
                [] if value is None else (f"{key}:{value}" if value.startswith("\n") else f"{key}: {value}").split("\n")
            )
            return "\n".join(lines[:start] + new + lines[end:])
    if value is None:
        return text
    return text.rstrip("\n") + "\n" + (f"{key}:{value}" if value.startswith("\n") else f"{key}: {value}") + "\n"


def get_top(text: str, key: str) -> str | None:
    lines = text.split("\n")
    for name, start, end in top_blocks(text):
        if name == key:
            return "\n".join(lines[start:end])
    return None


def answer_entries(text: str) -> list[tuple[str, int, int]]:
    lines = text.split("\n")
    block = next(((s, e) for k, s, e in top_blocks(text) if k == "answers"), None)
    if block is None:
        return []
    entries: list[tuple[str, int, int]] = []
    for i in range(block[0] + 1, block[1]):
        m = re.match(r"^  ([^\s#:][^:]*):(\s|$)", lines[i])
        if m:
            if entries:
                entries[-1] = (entries[-1][0], entries[-1][1], i)
            entries.append((m.group(1), i, block[1]))
    return entries


def set_answer(text: str, name: str, value: str | None) -> str:
    lines = text.split("\n")
    for entry, start, end in answer_entries(text):
        if entry == name:
            new = [] if value is None else [f"  {name}: {value}"]
            return "\n".join(lines[:start] + new + lines[end:])
    raise KeyError(name)


def fill(text: str, answers: dict[str, Any]) -> str:
    for name, _, _ in answer_entries(text):
        if name in answers:
            text = set_answer(text, name, flow(answers[name]))
    return text


# ----------------------------------------------------------------------------- the sweep's context


class Sweep:
    """The temporary folder, the command, the cases built so far and the setup's products."""

    def __init__(self, root: Path, nnhand: str, workers: int, problems: Path) -> None:
        self.root = root
        self.nnhand = nnhand
        self.problems = problems
        self.cases: list[Case] = []
        self.skipped: list[str] = []
        self.mounts: list[Path] = []
        self.counter = Counter[str]()
        for sub in ("cases", "setup", "io", "home", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NNHAND_", "PYTHONIOENCODING", "FORCE_COLOR"))}
        for k in ("NO_COLOR", "COLUMNS", "LINES", "PYTHONUTF8", "PYTHONSTARTUP", "PYTHONWARNINGS"):
            env.pop(k, None)
        env.update(HOME=str(root / "home"), TMPDIR=str(root / "tmp"), XDG_CACHE_HOME=str(root / "home" / ".cache"))
        env.update(XDG_CONFIG_HOME=str(root / "home" / ".config"), PYTHONDONTWRITEBYTECODE="1")
        self.runner = Runner(root / "io", env, workers)

    def nn(self, *args: str) -> list[str]:
        return [self.nnhand, *args]

    def case(self, surface: str, family: str, name: str, steps: list[Step] | None = None, **kw: Any) -> Case:
        self.counter[surface] += 1
        cid = f"{surface[:3].upper()}{self.counter[surface]:04d}"
        # Commands run in <id>/work; the snapshot covers <id>, so a `../x` escape is caught too.
        directory = self.root / "cases" / surface / cid / "work"
        directory.mkdir(parents=True)
        case = Case(cid, surface, family, name, directory, steps or [], **kw)
        self.cases.append(case)
        return case

    def template(self, tid: str) -> str:
        return (self.problems / f"{tid}.yaml").read_text("utf-8")

    def run_setup(self, steps: dict[str, Step]) -> dict[str, Result]:
        """Run setup commands (through the same runner) and return their results by name."""
        cases = []
        for name, step in steps.items():
            directory = self.root / "setup"
            cases.append(
                Case(f"setup-{re.sub(r'[^A-Za-z0-9]+', '-', name)}", "setup", "setup", name, directory, [step])
            )
        self.runner.run(cases, lambda case: None)
        return {c.name: (c.results[0] if c.results else Result(c.steps[0].argv, error="did not run")) for c in cases}

    def mount_tmpfs(
        self, path: Path, size: str, read_only: bool = False, files: dict[str, bytes] | None = None
    ) -> bool:
        """A tiny tmpfs (a full disk, or a read-only folder); False where mount is not allowed."""
        path.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                check=True,
                capture_output=True,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        self.mounts.append(path)
        for rel, data in (files or {}).items():
            with contextlib.suppress(OSError):
                write(path / rel, data)
        if read_only:
            try:
                subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True, timeout=10)
            except (OSError, subprocess.SubprocessError):
                return False
        return True

    def unmount_all(self) -> None:
        for path in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=False)
        self.mounts.clear()


def key_answers(res: Result | None) -> dict[str, Any] | None:
    if res is None or res.rc != 0:
        return None
    try:
        data = json.loads(res.stdout)
        answers = data["answers"]
        return answers if isinstance(answers, dict) else None
    except (ValueError, KeyError, TypeError):
        return None


def setup_failure(sweep: Sweep, surface: str, what: str, res: Result | None) -> None:
    detail = "did not run" if res is None else (res.error or f"exit {res.rc}: {' | '.join(tail(res.stderr, 3))}")
    case = sweep.case(surface, "setup", what)
    case.findings.append(Finding("SETUP", f"{what}: {detail}"))
    case.note = "setup"


# ----------------------------------------------------------------------------- 1. templates

TYPE_VALUES = (
    "[1, 2]",
    "{a: 1}",
    '"text"',
    "null",
    "-1",
    "1e400",
    ".nan",
    "1000000000000000000000000000000",
    "true",
    "[]",
    "{}",
    '"[/]"',
    "3.5",
    "[[[[[[[[[[1]]]]]]]]]]",
    '"3 ** 10 ** 9"',
    "",
    "[{a: [1, {b: 2}]}]",
    big_digits(5000),
)
TYPE_TEMPLATES = (
    "single-neuron",
    "softmax-temperature",
    "vector-db",
    "perceptron",
    "residual",
    "lstm",
    "switch-transformer",
    "gradient-descent",
    "rnn",
    "unembedding",
    "four-neurons",
    "matmul",
)


def _special(kind: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "devzero":
            os.symlink("/dev/zero", path)
        elif kind == "dir":
            path.mkdir()
            write(path / "x.yaml", "id: x\n")
        elif kind == "loop":
            os.symlink(path.name, path)
        elif kind == "dangling":
            os.symlink("does-not-exist.yaml", path)

    return make


def template_cases(
    sweep: Sweep,
    family: str,
    name: str,
    tid: str,
    content: str | bytes | Callable[[Path], None],
    commands: Iterable[str] = ("gen", "key"),
    refuse: bool = False,
    args: tuple[str, ...] = (),
) -> None:
    for command in commands:
        case = sweep.case("templates", family, f"{name} [{command}]", names=(f"{tid}.yaml", tid, "problems", "--param"))
        target = case.path("probs") / f"{tid}.yaml"
        target.parent.mkdir()
        if callable(content):
            content(target)
        else:
            write(target, content)
        if command == "list":
            argv = sweep.nn("list", "--problems-dir", "probs")
        elif command == "explain":
            argv = sweep.nn("key", tid, "--seed", "1", "--explain", "--problems-dir", "probs", *args)
        elif command == "path":  # a template named by its path, not through --problems-dir
            argv = sweep.nn("gen", f"probs/{tid}.yaml", "--seed", "1", *args)
        elif command == "practice":
            argv = sweep.nn("practice", tid, "--seed", "1", "--problems-dir", "probs", *args)
        else:
            argv = sweep.nn(command, tid, "--seed", "1", "--problems-dir", "probs", *args)
        practice = command == "practice"
        case.steps.append(Step(argv, stdin=b"?\n1\ns\nq\n" if practice else None, ok_codes=(0, 1, 2, 130)))
        case.refuse = refuse and command != "list"


def alias_bomb(levels: int = 9, leaf: str = '"lol"') -> tuple[str, str]:
    """The anchors of a billion-laughs document, and the alias of its top level."""
    lines = [f"x-a: &a [{', '.join([leaf] * 9)}]"]
    names = "abcdefghijklmnop"
    for i in range(1, levels):
        lines.append(f"x-{names[i]}: &{names[i]} [{', '.join([f'*{names[i - 1]}'] * 9)}]")
    return "\n".join(lines) + "\n", f"*{names[levels - 1]}"


def _schema_key(path: str) -> str:
    parts = path.split(".")
    if parts[0] in ("givens", "params") and len(parts) > 1:
        parts[1] = "*"
    if "set" in parts[:-1]:
        parts = [*parts[: parts.index("set") + 1], "*"]
    return ".".join(parts)


def build_templates(sweep: Sweep) -> None:
    base = sweep.template("single-neuron")
    tid = "single-neuron"

    # Wrong types at every schema key of real templates (one value per key, rotating).
    covered: set[str] = set()
    for t_index, template in enumerate(TYPE_TEMPLATES):
        text = sweep.template(template)
        distinct: dict[str, Site] = {}
        for site in yaml_sites(text):
            distinct.setdefault(site.path, site)
        # Every schema key once over all templates (given and param names generalised), then
        # three more sites of this template.
        picked = [s for s in distinct.values() if _schema_key(s.path) not in covered]
        covered.update(_schema_key(s.path) for s in picked)
        rest = [s for s in distinct.values() if s not in picked]
        room = 3
        picked += [rest[round(i * (len(rest) - 1) / max(1, room - 1))] for i in range(min(room, len(rest)))]
        picked = list({id(s): s for s in picked}.values())
        commands = ("gen", "key", "list", "gen", "key")
        for s_index, site in enumerate(picked):
            value = TYPE_VALUES[(s_index * 5 + t_index * 3) % len(TYPE_VALUES)]
            command = commands[s_index % len(commands)]
            label = f"{template}: {site.path} = {value[:30]}"
            template_cases(sweep, "wrong-type", label, template, set_site(text, site, value), commands=(command,))

    def variant(path: str, value: str, nth: int = 0, text: str = base) -> str:
        return mutate(text, path, value, nth)

    # Big integers and non-finite floats in values, fixed, ranges, params, bound, round.
    huge = big_digits(5000)
    numbers = {
        "fixed 10**30": variant("givens.w.dist", "{values: [1]}").replace(
            "dist: {values: [1]}", "fixed: " + "1" + "0" * 30
        ),
        "fixed 5000 digits": variant("givens.x.dist", "{values: [1]}").replace("dist: {values: [1]}", f"fixed: {huge}"),
        "values 10**30": variant("givens.w.dist", "{values: [1, 1000000000000000000000000000000]}"),
        "range to 5000 digits": variant("givens.x.dist", f"{{range: [0, {huge}]}}"),
        "set weight 10**30": variant("givens.w.dist", "{set: {1: 1000000000000000000000000000000, 0: 1}}"),
        "param default 10**30": variant("params.n.default", "1" + "0" * 30),
        "param max 5000 digits": variant("params.n.max", huge),
        "bound 5000 digits": variant("bound", huge),
        "version 5000 digits": variant("version", huge),
        "round 10**30": variant("steps.label", '"z"\n    round: ' + "1" + "0" * 30),
    }
    for label, text in numbers.items():
        template_cases(sweep, "big-int", label, tid, text, commands=("gen", "key", "list"))
    nonfinite = {
        "values 1e400": variant("givens.w.dist", "{values: [1e400, 1]}"),
        "values .nan": variant("givens.w.dist", "{values: [.nan, 1]}"),
        "values .inf/-.inf": variant("givens.w.dist", "{values: [.inf, -.inf]}"),
        "fixed .nan": variant("givens.b.dist", "{values: [1]}").replace("dist: {values: [1]}", "fixed: .nan"),
        "fixed 1e400": variant("givens.b.dist", "{values: [1]}").replace("dist: {values: [1]}", "fixed: 1e400"),
        "fixed [1e400, 1, 1]": variant("givens.w.dist", "{values: [1]}").replace(
            "dist: {values: [1]}", "fixed: [1e400, 1, 1]"
        ),
        "range [0, 1e400]": variant("givens.x.dist", "{range: [0, 1e400]}"),
        "range [.nan, 1]": variant("givens.x.dist", "{range: [.nan, 1]}"),
        "range [-.inf, .inf]": variant("givens.x.dist", "{range: [-.inf, .inf]}"),
        "set {.nan: 1}": variant("givens.w.dist", "{set: {.nan: 1, 1: 1}}"),
        "set {1: .inf}": variant("givens.w.dist", "{set: {1: .inf, 0: 1}}"),
        "set weight .nan": variant("givens.w.dist", "{set: {1: .nan, 0: 1}}"),
        "bound .nan": variant("bound", ".nan"),
        "bound 1e400": variant("bound", "1e400"),
        "param default .inf": variant("params.n.default", ".inf"),
        "simplex .nan": variant("givens.x.dist", "{simplex: .nan}"),
    }
    for label, text in nonfinite.items():
        template_cases(sweep, "non-finite", label, tid, text, commands=("gen", "key"), refuse=True)
    shapes_ok = {
        "range reversed [5, 1]": variant("givens.x.dist", "{range: [5, 1]}"),
        "values: {a: 1}": variant("givens.w.dist", "{values: {a: 1}}"),
        "values: []": variant("givens.w.dist", "{values: []}"),
        "values: text": variant("givens.w.dist", '{values: "abc"}'),
        "range: 5": variant("givens.w.dist", "{range: 5}"),
        "range: [1, 2, 3]": variant("givens.w.dist", "{range: [1, 2, 3]}"),
        "set weight -1": variant("givens.w.dist", "{set: {1: -1, 0: 1}}"),
        "set weights all 0": variant("givens.w.dist", "{set: {1: 0, 0: 0}}"),
        "simplex 10**30": variant("givens.x.dist", "{simplex: 1000000000000000000000000000000}"),
        "simplex 0": variant("givens.x.dist", "{simplex: 0}"),
        "phrases for a number": variant("givens.w.dist", "{phrases: [how are you]}"),
        "unknown dist": variant("givens.w.dist", "nosuchdist"),
        "blanks.allowed mapping": base + "blanks: {default: all, allowed: {a: 1}}\n",
        "blanks.allowed nested": base + "blanks: {default: all, allowed: [[all]]}\n",
        "blanks.allowed text": base + "blanks: {default: all, allowed: all}\n",
        "blanks.default 5": base + "blanks: {default: 5, allowed: [all]}\n",
        "blanks.default unknown": base + "blanks: {default: zzz, allowed: [all, zzz]}\n",
        "blanks list": base + "blanks: [all]\n",
        "min > max": variant("params.n.min", "9"),
        "default outside range": variant("params.n.default", "99"),
        "negative default": variant("params.n.default", "-3").replace("min: 2", "min: -5"),
        "round -1": variant("steps.label", '"z"\n    round: -1'),
        "round 400": variant("steps.label", '"z"\n    round: 400'),
        "realism text": variant("realism", '"off"'),
        "scoring unknown": base + "scoring: telepathy\n",
        "points 1e400": variant("steps.label", '"z"\n    points: 1e400'),
        "points -5": variant("steps.label", '"z"\n    points: -5'),
        "id mismatch": variant("id", "other-id"),
        "id ../x": variant("id", '"../x"'),
        "id with ESC": variant("id", yq("single-neuron\x1b[31m")),
    }
    for label, text in shapes_ok.items():
        template_cases(sweep, "wrong-value", label, tid, text, commands=("gen",))

    # Duplicate keys anywhere: an error naming both lines (issue 9, requirement 8).
    dups = {
        "top-level title twice": base.replace("title: Single neuron", "title: Single neuron\ntitle: Other"),
        "steps twice": base + "steps:\n  - {name: q, expr: z + 1, label: q}\n",
        "flow shape twice": base.replace("w: {shape: [n],", "w: {shape: [n], shape: [2],"),
        "given twice": base.replace("  x: {shape: [n]", "  w: {shape: [n], dist: inputs}\n  x: {shape: [n]"),
        "step key twice": base.replace("    expr: dot(w, x) + b", "    expr: dot(w, x) + b\n    expr: w"),
        "param twice": base.replace("  n: {default: 3", "  n: {default: 2, min: 2, max: 3}\n  n: {default: 3"),
    }
    for label, text in dups.items():
        template_cases(sweep, "duplicate-key", label, tid, text, commands=("gen", "list"), refuse=True)

    # YAML aliases: a billion laughs in every kind of field, and a harmless one (refused too).
    anchors, top = alias_bomb()
    body = base.replace("id: single-neuron\n", "id: single-neuron\n" + anchors)
    bombs = {
        "bomb in title": mutate(body, "title", top),
        "bomb in summary": mutate(body, "summary", top),
        "bomb in tags": mutate(body, "tags", top),
        "bomb in a step label": mutate(body, "steps.label", top),
        "bomb in a step expr": mutate(body, "steps.expr", top),
        "bomb in notes": body + f"notes: {top}\n",
        "bomb in a given label": mutate(body, "givens.w.label", top),
        "bomb in params doc": mutate(body, "params.n.doc", top),
        "bomb only defined": body,
        "string bomb (a long string, aliased)": base.replace(
            "id: single-neuron\n", "id: single-neuron\n" + alias_bomb(9, yq("lol" * 3000))[0]
        ).replace("title: Single neuron", "title: *i"),
        "harmless alias": base.replace("title: Single neuron", "title: &t Single neuron\ncredits: *t").replace(
            "credits: After", "x-credits: After"
        ),
        "merge key": base.replace(
            "  x: {shape: [n], dist: inputs, label: input}",
            "  x: &g {shape: [n], dist: inputs}\n  y: {<<: *g, label: y}",
        ),
    }
    for label, text in bombs.items():
        template_cases(sweep, "alias", label, tid, text, commands=("gen", "list"), refuse=True)

    # Work that must be refused before it starts: shapes and exponents.
    mm = sweep.template("matmul")
    work = {
        "matmul 30000x30000": mm.replace("default: 4, min: 1, max: 6", "default: 30000, min: 1, max: 30000")
        .replace("{default: 3, min: 1, max: 6", "{default: 30000, min: 1, max: 30000")
        .replace("{default: 2, min: 1, max: 6", "{default: 30000, min: 1, max: 30000"),
        "shape [30000, 30000]": mutate(mm, "givens.A.shape", "[30000, 30000]"),
        "shape [10**9]": variant("givens.w.shape", "[1000000000]"),
        "shape [-1]": variant("givens.w.shape", "[-1]"),
        "shape [0]": variant("givens.w.shape", "[0]"),
        "shape 3-D": variant("givens.w.shape", "[n, n, n]"),
        "shape n ** 100": variant("givens.w.shape", "[n ** 100]"),
        "shape 10**30": variant("givens.w.shape", "[1000000000000000000000000000000]"),
        "ones(30000, 30000)": variant("steps.expr", yq("sum(ones(30000, 30000))")),
        "zeros(10**9)": variant("steps.expr", yq("sum(zeros(1000000000))")),
        "onehot 10**9": variant("steps.expr", yq("sum(onehot(x, 1000000000))")),
    }
    for label, text in work.items():
        tid_work = "matmul" if label.startswith(("matmul", "shape [30000")) else tid
        template_cases(sweep, "bounded-work", label, tid_work, text, refuse=True)
    template_cases(sweep, "bounded-work", "--param m=30000", "matmul", mm, args=("--param", "m=30000"), refuse=True)
    template_cases(
        sweep, "bounded-work", "--param m=10**30", "matmul", mm, args=("--param", "m=" + "1" + "0" * 30), refuse=True
    )
    for arg in ("n=-1", "n=abc", "n=", "=3", "zzz=1", "n=1e400", "n=3.5"):
        template_cases(
            sweep, "bad-param", f"--param {arg}", tid, base, commands=("gen",), args=("--param", arg), refuse=True
        )

    exprs = {
        "3 ** 10 ** 9": "3 ** 10 ** 9",
        "3 ** 1000000000": "3 ** 1000000000 + z",
        "x ** 1000000000": "x ** 1000000000",
        "2 ** 2 ** 2 ** 2 ** 2 ** 2": "2 ** 2 ** 2 ** 2 ** 2 ** 2",
        "9 ** 9 ** 9": "9 ** 9 ** 9",
        "10 ** 400": "10 ** 400",
        "0 ** -1": "0 ** -1",
        "w ** -1": "w ** -1",
        "softmax(x, base=0)": "softmax(x, base=0)",
        "softmax(x, base=1)": "softmax(x, base=1)",
        "softmax(x, base=-2)": "softmax(x, base=-2)",
        "softmax(x, base=10**30)": "softmax(x, base=1000000000000000000000000000000)",
        "sqrt(-1)": "sqrt(-1)",
        "sqrt(b - 10)": "sqrt(b - 10)",
        "log(0)": "log(0)",
        "log(-1)": "log(-1)",
        "1 / 0": "1 / 0",
        "x / 0": "x / 0",
        "x / (w - w)": "x / (w - w)",
        "exp(10000)": "exp(10000)",
        "exp(x * 1000)": "exp(x * 1000)",
        "(-8) ** (1 / 3)": "(-8) ** (1 / 3)",
        "scale_round(x, 0)": "scale_round(x, 0)",
        "x[10**30]": "x[1000000000000000000000000000000]",
        "x[::0]": "x[::0]",
        "sum(x) ** 99999": "sum(x) ** 99999",
    }
    for label, expr in exprs.items():
        # Refused whatever the instance; the rest may fit some draw (w without zeros, an x with a 0).
        must_refuse = label not in (
            "w ** -1",
            "softmax(x, base=0)",
            "softmax(x, base=1)",
            "softmax(x, base=-2)",
            "softmax(x, base=10**30)",
            "exp(x * 1000)",
        )
        template_cases(sweep, "expression", f"step {label}", tid, variant("steps.expr", yq(expr)), refuse=must_refuse)
    for label in ("0 ** -1", "softmax(x, base=0)", "sqrt(-1)", "3 ** 10 ** 9", "1 / 0"):
        template_cases(
            sweep,
            "expression",
            f"constraint {label}",
            tid,
            variant("constraints.expr", yq(f"all({exprs[label]} == 1)")),
            commands=("gen",),
            refuse=True,
        )
        template_cases(
            sweep,
            "expression",
            f"shape {label}",
            tid,
            variant("givens.w.shape", f"[{exprs[label]}]"),
            commands=("gen",),
            refuse=True,
        )

    unknown = {
        "unknown op": "foo(x)",
        "__import__": '__import__("os").system("touch pwned")',
        "dunder attribute": "x.__class__",
        "dunder chain": "().__class__.__bases__[0].__subclasses__()",
        "eval": 'eval("1")',
        "open": 'open("pwned", "w")',
        "getattr": 'getattr(x, "T")',
        "lambda": "(lambda: 1)()",
        "comprehension": "[v for v in x]",
        "dict literal": "{1: 2}",
        "conditional": "x if 1 else w",
        "string literal": '"abc"',
        "f-string": 'f"{x}"',
        "walrus": "(q := 1)",
        "starred": "*x",
        "statement": "import os",
        "two statements": "x; w",
        "empty": "",
        "name __builtins__": "__builtins__",
        "unknown name": "nosuchname + 1",
        "ellipsis": "x[...]",
        "long sum": " + ".join(["x"] * 20000),
        "deep parens": "(" * 5000 + "x" + ")" * 5000,
        "deep unary": "-" * 20000 + "x",
        "deep not": "not " * 5000 + "x",
        "deep index": "x" + "[0]" * 5000,
        "deep calls": "relu(" * 3000 + "x" + ")" * 3000,
    }
    for label, expr in unknown.items():
        legal = label in ("long sum", "deep parens", "deep unary", "deep not", "deep calls")  # deep, but the grammar's
        template_cases(
            sweep, "unknown-op", label, tid, variant("steps.expr", yq(expr)), commands=("gen",), refuse=not legal
        )
    names = {
        "given named __class__": base.replace("  x: {shape: [n]", "  __class__: {shape: [n]").replace(
            "dot(w, x)", "dot(w, __class__)"
        ),
        "step named __init__": variant("steps.name", "__init__"),
        "step named relu": variant("steps.name", "relu"),
        "step named like a given": variant("steps.name", "w"),
        "given named T": base.replace("  x: {shape: [n]", "  T: {shape: [n]").replace("dot(w, x)", "dot(w, T)"),
        "name with a space": variant("steps.name", '"a b"'),
        "name 1x": variant("steps.name", '"1x"'),
        "name with [/]": variant("steps.name", '"z[/]"'),
    }
    for label, text in names.items():
        template_cases(sweep, "names", label, tid, text, commands=("gen",))

    # Nesting, encodings, special files, sizes.
    deep = "[" * 20000 + "]" * 20000
    files: dict[str, tuple[str | bytes | Callable[[Path], None], bool]] = {
        "deep flow list in tags": (variant("tags", deep), True),
        "deep block nesting": (base + "x-deep:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 3000)), False),
        "deep mapping nesting": (base + "x-deep: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", False),
        "Latin-1 byte in the title": (base.encode().replace(b"title: Single neuron", b"title: Caf\xe9"), False),
        "UTF-16 with BOM": (base.encode("utf-16"), False),
        "UTF-8 BOM": (b"\xef\xbb\xbf" + base.encode(), False),
        "NUL byte": (base.encode().replace(b"title: Single", b"title: Sin\x00gle"), True),
        "lone surrogate escape": (variant("title", '"a\\ud800b"'), False),
        "empty file": ("", True),
        "only a comment": ("# nothing\n", True),
        "only ---": ("---\n", True),
        "a list": ("- 1\n- 2\n", True),
        "a number": ("5\n", True),
        "two documents": (base + "---\nid: other\n", True),
        "tabs for indentation": (base.replace("  w: {", "\tw: {"), True),
        "CR line endings": (base.replace("\n", "\r"), False),
        "CRLF line endings": (base.replace("\n", "\r\n"), False),
        "2 MB summary": (variant("summary", yq("x" * 2_100_000)), True),
        "2 MB comment": (base + "#" + "x" * 2_100_000 + "\n", True),
        "2 MB of lines": (base + "".join(f"# {i}\n" for i in range(300_000)), True),
        "20,000 steps (under 1 MB)": (
            base + "".join(f"  - {{name: s{i}, expr: z, label: s}}\n" for i in range(20_000)),
            False,
        ),
        "20,000 constraints": (base + "".join("  - {expr: z != 0, why: w}\n" for _ in range(20_000)), False),
        "FIFO as the template file": (_special("fifo"), True),
        "/dev/zero as the template file": (_special("devzero"), True),
        "a directory named like a template": (_special("dir"), True),
        "symlink loop": (_special("loop"), True),
        "dangling symlink": (_special("dangling"), True),
    }
    for label, (content, must_refuse) in files.items():
        commands = ("gen", "key", "list", "path") if callable(content) else ("gen", "key")
        template_cases(sweep, "file", label, tid, content, commands=commands, refuse=must_refuse)
    if os.getuid() != 0:
        sweep.skipped.append("templates: unreadable file (runs as root: permissions do not stop root)")

    # Rich markup and control characters in the text nnhand prints.
    texts = {
        "[/] in the title": ("title", "T [/] x"),
        "[bold red] markup": ("title", "[bold red]T[/bold red] [/] [link=https://evil]x[/link]"),
        "[/bold] alone": ("title", "T [/bold]"),
        "ESC colour in the title": ("title", "T \x1b[31mred\x1b[0m"),
        "OSC 52 clipboard in a label": ("steps.label", "z \x1b]52;c;cHduZWQ=\x07"),
        "BEL and backspace": ("title", "T\x07\x08\x08X"),
        "C1 CSI": ("title", "T \x9b31m x"),
        "CR overwrite": ("title", "Innocent\rEVIL"),
        "DEL": ("summary", "a\x7fb"),
        "newline in the title": ("title", "line one\nline two"),
        "blank line in the title": ("title", "one\n\ntwo"),
        "newline in a label": ("steps.label", "z = w\n\nb"),
        "[/] in a given label": ("givens.w.label", "weights [/]"),
        "[/] in a hint": ("steps.hint", "[/] hint"),
        "[/] in a note": ("title", "T"),
        "100k-character title": ("title", "T" * 100_000),
        "wide characters": ("title", "全角" * 2000),
        "combining marks": ("title", "T" + "\u0301" * 5000),
        "RTL override": ("title", "T \u202eevil"),
    }
    for label, (path, value) in texts.items():
        text = variant(path, yq(value))
        if label == "[/] in a note":
            text = base + 'notes: ["[/] note", "\\u001b[31m"]\n'
        extra = (
            ("list", "practice") if label in ("[/] in the title", "ESC colour in the title", "[/] in a hint") else ()
        )
        template_cases(sweep, "text", label, tid, text, commands=("gen", "explain", *extra))
    vdb = sweep.template("vector-db")
    m = re.search(r"^vocabulary: \[(.*)\]$", vdb, re.M)
    if m:
        words = vdb.replace(m.group(0), "vocabulary: [" + m.group(1) + ', "[/]", "\\u001b[31m"]')
        template_cases(sweep, "text", "markup words in the vocabulary", "vector-db", words, commands=("gen", "key"))


# ----------------------------------------------------------------------------- 2. answer files

ANSWER_TEMPLATES = (
    "single-neuron",
    "hidden-layer",
    "backprop",
    "softmax-temperature",
    "vector-db",
    "perceptron",
    "matmul",
    "lstm",
)
SEED = 5
CELL_VALUES: dict[str, str | bytes] = {
    "1e99999999": "1e99999999",
    "-1e99999999": "-1e99999999",
    "1e-99999999": "1e-99999999",
    "'1e99999999' as text": '"1e99999999"',
    "'9' * 5000 as text": yq(big_digits(5000)),
    "10**30": "1" + "0" * 30,
    "5000-digit int": big_digits(5000),
    "-5000-digit int": "-" + big_digits(5000),
    "1e400": "1e400",
    ".nan": ".nan",
    ".inf": ".inf",
    "-.inf": "-.inf",
    "'nan'": '"nan"',
    "'inf'": '"inf"',
    "'-Infinity'": '"-Infinity"',
    "'[/]'": '"[/]"',
    "'[bold]1[/bold]'": '"[bold]1[/bold]"',
    "ESC colour": '"\\e[31m1\\e[0m"',
    "OSC 52": '"\\e]52;c;cHduZWQ=\\a"',
    "C1 CSI": '"\\x9b31m1"',
    "NUL in a string": '"1\\0"',
    "raw NUL byte": b'"1\x002"',
    "CR in a string": '"1\\r2"',
    "'2/0'": '"2/0"',
    "'0/0'": '"0/0"',
    "'1/3'": '"1/3"',
    "'1e5/1e-5'": '"1e5/1e-5"',
    "huge fraction": yq(big_digits(4000) + "/7"),
    "'1,5'": '"1,5"',
    "0x10": "0x10",
    "0b11": "0b11",
    "'+1'": '"+1"',
    "unicode minus": '"\u22121"',
    "arabic digit": '"\u0663"',
    "fullwidth digit": '"\uff11"',
    "100k-character text": yq("1" * 100_000),
    "list for a scalar": "[1, 2]",
    "mapping": "{a: 1}",
    "true": "true",
    "deep list (10,000)": "[" * 10_000 + "1" + "]" * 10_000,
    "'[1 2; 3 4]'": '"[1 2; 3 4]"',
    "'[[1,2],[3,4]]'": '"[[1,2],[3,4]]"',
    "'1e-400'": '"1e-400"',
    "'2 ** 10 ** 9'": '"2 ** 10 ** 9"',
    "'3^1000000000'": '"3^1000000000"',
    "'sqrt(-1)'": '"sqrt(-1)"',
    "python tag": "!!python/object/apply:os.system ['touch pwned']",
    "binary tag": "!!binary aGk=",
    "a date": "2001-12-14",
    "set tag": "!!set {a, b}",
    "anchor and alias": "&c 1",
    "unknown tag": "!nnhand 1",
}
NOT_YAML_CELLS = (
    "raw NUL byte",
    "python tag",
    "binary tag",
    "set tag",
    "anchor and alias",
    "unknown tag",
    "deep list (10,000)",
)
PRACTICE_LINES: dict[str, bytes] = {
    "1e99999999": b"1e99999999\n",
    "-1e99999999": b"-1e99999999\n",
    "5000-digit int": big_digits(5000).encode() + b"\n",
    "nan": b"nan\n",
    "inf": b"inf\n",
    "[/]": b"[/]\n",
    "ESC": b"\x1b[31m1\n",
    "NUL": b"1\x002\n",
    "Latin-1 byte": b"1\xe9\n",
    "2 MB line": b"1" * 2_100_000 + b"\n",
    "0/0": b"0/0\n",
    "huge fraction": big_digits(4000).encode() + b"/7\n",
    "1 2 3 4 5 ... (10,000 numbers)": b" ".join([b"1"] * 10_000) + b"\n",
    "deep brackets": b"[" * 10_000 + b"1" + b"]" * 10_000 + b"\n",
    "?": b"?\n?\n?\n?\n",
    "EOF at once": b"",
    "Ctrl-D after a hint": b"?\n",
}
ANSWER_TYPES = ("[1, 2]", "{a: 1}", "5", "null", '"text"', "1e400", "1" + "0" * 30, "[[[]]]", ".nan", "true")


def answers_setup(sweep: Sweep) -> dict[str, dict[str, Any]]:
    """An unanswered and a fully answered file per template, and the keys behind them."""
    folder = sweep.root / "setup" / "answers"
    folder.mkdir(parents=True, exist_ok=True)
    steps: dict[str, Step] = {}
    for tid in ANSWER_TEMPLATES:
        steps[f"gen {tid}"] = Step(sweep.nn("gen", tid, "--seed", str(SEED), "--answers", str(folder / f"{tid}.yaml")))
        steps[f"key {tid}"] = Step(sweep.nn("key", tid, "--seed", str(SEED), "--format", "json"))
    results = sweep.run_setup(steps)
    bases: dict[str, dict[str, Any]] = {}
    checks: dict[str, Step] = {}
    for tid in ANSWER_TEMPLATES:
        answers = key_answers(results[f"key {tid}"])
        path = folder / f"{tid}.yaml"
        if results[f"gen {tid}"].rc != 0 or not path.is_file():
            setup_failure(sweep, "answers", f"gen {tid} --answers", results[f"gen {tid}"])
            continue
        if answers is None:
            setup_failure(sweep, "answers", f"key {tid} --format json", results[f"key {tid}"])
            continue
        empty = path.read_text("utf-8")
        full = fill(empty, answers)
        if not answer_entries(empty):
            setup_failure(sweep, "answers", f"{tid}: the answer file has no answers block", None)
            continue
        write(folder / f"{tid}-full.yaml", full)
        checks[tid] = Step(sweep.nn("check", str(folder / f"{tid}-full.yaml")))
        bases[tid] = {"empty": empty, "full": full, "answers": answers}
    for tid, res in sweep.run_setup(checks).items():
        if res.rc != 0:
            setup_failure(sweep, "answers", f"baseline: check of {tid}'s fully answered file exits {res.rc}", res)
    return bases


def check_case(
    sweep: Sweep,
    family: str,
    name: str,
    content: str | bytes | Callable[[Path], None],
    args: tuple[str, ...] = (),
    **kw: Any,
) -> Case:
    case = sweep.case("answers", family, name, names=("answers.yaml",), **kw)
    target = case.path("answers.yaml")
    if callable(content):
        content(target)
    else:
        write(target, content)
    case.steps.append(Step(sweep.nn("check", "answers.yaml", *args)))
    return case


def first_entry(base: dict[str, Any]) -> tuple[str, Any]:
    name = answer_entries(base["full"])[0][0]
    return name, base["answers"][name]


def build_answers(sweep: Sweep) -> None:
    bases = answers_setup(sweep)
    # One hostile cell in an otherwise right file: every value on two templates, a dozen on the rest.
    sample = (
        "1e99999999",
        "5000-digit int",
        "1e400",
        ".nan",
        "'[/]'",
        "ESC colour",
        "deep list (10,000)",
        "mapping",
        "huge fraction",
    )
    for tid, base in bases.items():
        name, value = first_entry(base)
        chosen = CELL_VALUES if tid == "hidden-layer" else {k: CELL_VALUES[k] for k in sample}
        for label, raw in chosen.items():
            if isinstance(raw, bytes):
                text = set_answer(base["full"], name, flow(with_first_leaf(value, Raw("@@CELL@@"))))
                content: str | bytes = text.encode().replace(b'"@@CELL@@"', raw).replace(b"@@CELL@@", raw)
            else:
                content = set_answer(base["full"], name, flow(with_first_leaf(value, Raw(raw))))
            args = ("--show-reading", "--explain") if tid == "backprop" else ()
            # One unreadable cell is 0 for that cell, the rest graded (exit 1); only text that is not
            # YAML at all (a raw NUL, a tag, an anchor, nesting past the parser) may void the file.
            whole_file = label in NOT_YAML_CELLS
            check_case(
                sweep, "cell", f"{tid}: {name} = {label}", content, args, expect_rc=None if whole_file else (0, 1)
            )
        for label, raw in PRACTICE_LINES.items() if tid == "single-neuron" else ():
            case = sweep.case("answers", "practice", f"{tid}: typed {label}", names=(tid,))
            case.steps.append(
                Step(sweep.nn("practice", tid, "--seed", str(SEED)), stdin=raw + b"s\nq\n", ok_codes=(0, 1, 2, 130))
            )

    # Spreadsheet artefacts are the decimal they stand for; "1 2" is not 12.
    for tid, base in bases.items():
        for name, value in base["answers"].items():
            cells = [v for v in leaves(value) if isinstance(v, float) and v != int(v)]
            if cells and any(e[0] == name for e in answer_entries(base["full"])):
                x = cells[0]
                artefact = Raw(repr(x + x * 4e-16 if x + x * 4e-16 != x else x + 2e-15))
                fixed = map_leaves(value, lambda v, x=x, a=artefact: a if v == x else v)
                check_case(
                    sweep,
                    "artefact",
                    f"{tid}: {name} = {artefact} (for {x})",
                    set_answer(base["full"], name, flow(fixed)),
                    expect_rc=(0,),
                )
                break
        for name, value in base["answers"].items():
            cells = [v for v in leaves(value) if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10]
            if cells and any(e[0] == name for e in answer_entries(base["full"])):
                v = cells[0]
                spaced = ("-" if v < 0 else "") + " ".join(str(abs(v)))
                split = map_leaves(value, lambda c, v=v, s=spaced: s if c == v else c)
                check_case(
                    sweep,
                    "artefact",
                    f"{tid}: {name} = '{spaced}' (for {v})",
                    set_answer(base["full"], name, flow(split)),
                    credit=True,
                )
                break

    # Whole files that are not answer files.
    some = bases.get("hidden-layer") or next(iter(bases.values()), None)
    if some is None:
        return
    full, empty = some["full"], some["empty"]
    rng = random.Random(9)
    files: dict[str, str | bytes | Callable[[Path], None]] = {
        "/dev/zero (symlink)": _special("devzero"),
        "FIFO": _special("fifo"),
        "directory": _special("dir"),
        "symlink loop": _special("loop"),
        "binary": bytes(rng.randrange(256) for _ in range(4096)),
        "Latin-1 bytes": full.encode().replace(b"# nnhand", b"# nnhand \xe9t\xe9", 1) + b'x-note: "caf\xe9"\n',
        "UTF-16": full.encode("utf-16"),
        "raw NUL byte": full.encode().replace(b"variant:", b"\x00variant:", 1),
        "2 MB comment": full + "#" + "x" * 2_100_000 + "\n",
        "2 MB cell": set_answer(full, first_entry(some)[0], yq("1" * 2_100_000)),
        "empty": "",
        "only a comment": "# nothing\n",
        "a list": "- 1\n- 2\n",
        "a number": "5\n",
        "two documents": full + "---\n" + full,
        "tabs": full.replace("\n  ", "\n\t"),
        "deep mapping": full + "x-deep: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "deep block nesting": full + "x-deep:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 3000)),
        "alias bomb": alias_bomb()[0] + full,
        "alias bomb used": alias_bomb()[0] + set_top(full, "x-use", alias_bomb()[1]),
    }
    must_refuse = set(files) - {"tabs", "Latin-1 bytes", "UTF-16", "deep mapping", "deep block nesting"}
    for label, content in files.items():
        check_case(sweep, "file", label, content, refuse=label in must_refuse)
    case = sweep.case("answers", "file", "check /dev/zero", names=("/dev/zero",))
    case.steps.append(Step(sweep.nn("check", "/dev/zero")))
    case.refuse = True
    for label, content in {"CRLF": full.replace("\n", "\r\n"), "UTF-8 BOM": "\ufeff" + full}.items():
        check_case(sweep, "file", f"{label} (a right file)", content, expect_rc=(0,))

    entry_name, entry_value = first_entry(some)
    dups = {
        "answers twice (second unanswered)": full + "\n" + (get_top(empty, "answers") or "answers: {}") + "\n",
        "answers twice (second right)": (
            set_top(full, "answers", None)
            + "\n"
            + (get_top(empty, "answers") or "")
            + "\n"
            + (get_top(full, "answers") or "")
        ),
        "variant twice": full.replace("variant:", "variant: x@1#1\nvariant:", 1),
        "a cell twice": set_answer(full, entry_name, flow(entry_value) + f"\n  {entry_name}: " + flow(entry_value)),
        "a given twice": full.replace("givens:\n", "givens:\n  x: [0, 0, 0]\n", 1),
        "blanks twice": full.replace("blanks:", "blanks: none\nblanks:", 1),
    }
    for label, text in dups.items():
        check_case(sweep, "duplicate-key", label, text, refuse=True)
    aliases = {
        "alias to a given": set_answer(full.replace("givens:", "givens: &g", 1), entry_name, "*g"),
        "answers aliased": set_top(full.replace("\nanswers:", "\nanswers: &ans", 1), "x-copy", "*ans"),
        "merge key in answers": full.replace("\nanswers:\n", "\nx-base: &b {}\nanswers:\n  <<: *b\n", 1),
    }
    for label, text in aliases.items():
        check_case(sweep, "alias", label, text, refuse=True)

    # Wrong types at every key.
    for key in ("variant", "blanks", "student", "givens", "answers"):
        for value in ANSWER_TYPES[:6]:
            check_case(sweep, "wrong-type", f"{key}: {value[:20]}", set_top(full, key, value))
    given_names = re.findall(r"^  ([A-Za-z_]\w*):", get_top(full, "givens") or "", re.M)
    for gname in given_names[:3]:
        for value in ANSWER_TYPES[:6]:
            text = re.sub(rf"^  {gname}:.*(\n    .*)*", f"  {gname}: {value}", full, count=1, flags=re.M)
            check_case(sweep, "wrong-type", f"givens.{gname}: {value[:20]}", text, credit=True)
    check_case(sweep, "extra-key", "extra top-level key", full + "x-extra: 1\n")
    check_case(sweep, "extra-key", "extra answer", set_answer(full, entry_name, flow(entry_value) + "\n  zz: 1"))

    # Tampering: none of these may exit 0.
    for tid, base in bases.items():
        full, empty = base["full"], base["empty"]
        variant = _variant(full) or f"{tid}@1#{SEED}"

        def retag(pattern: str, replacement: str | Callable[[re.Match[str]], str], v: str = variant) -> str:
            changed = re.sub(pattern, replacement, v, count=1)
            return yq(changed if changed != v else _other_token(v))

        other = "matmul" if tid != "matmul" else "single-neuron"
        tampered = {
            "blanks: none, nothing answered": set_top(empty, "blanks", "none"),
            "blanks: one, nothing answered": set_top(empty, "blanks", "one"),
            "blanks: none, answers removed": set_top(set_top(empty, "blanks", "none"), "answers", None),
            "blanks: none, answers: {}": set_top(set_top(empty, "blanks", "none"), "answers", "{}"),
            "blanks: [], nothing answered": set_top(empty, "blanks", "[]"),
            "blanks: null, nothing answered": set_top(empty, "blanks", "null"),
            "blanks removed, nothing answered": set_top(empty, "blanks", None),
            "answers removed": set_top(full, "answers", None),
            "one answer removed": set_answer(full, answer_entries(full)[-1][0], None),
            "every answer removed": set_top(full, "answers", "{}"),
            "variant: next seed": set_top(full, "variant", retag(r"#(\d+)", lambda m: f"#{int(m.group(1)) + 1}")),
            "variant: another template": set_top(full, "variant", retag(r"^[^@]*", other)),
            "variant: version 999": set_top(full, "variant", retag(r"@\d+", "@999")),
            "variant: seed 10**30": set_top(full, "variant", retag(r"#\d+", "#1" + "0" * 30)),
            "variant: givens digest": set_top(full, "variant", retag(r"#\d+", "#givens-deadbeef")),
            "variant removed": set_top(full, "variant", None),
            "variant: ../../x": set_top(full, "variant", yq("../../x")),
            "a given changed by 1": _bump_first_given(full),
        }
        if tid not in ("single-neuron", "hidden-layer", "backprop"):
            keep = (
                "blanks: none, nothing answered",
                "variant: next seed",
                "a given changed by 1",
                "one answer removed",
            )
            tampered = {k: v for k, v in tampered.items() if k in keep}
        for label, text in tampered.items():
            if text in (full, empty):
                unchanged(sweep, "answers", f"{tid}: {label}")
            else:
                check_case(sweep, "tamper", f"{tid}: {label}", text, credit=True)
        # check recomputes the givens from the variant: removing them is no tampering there.
        for label, text in (
            {}
            if tid not in ("single-neuron", "backprop")
            else {
                "givens removed": set_top(full, "givens", None),
                "givens: {}": set_top(full, "givens", "{}"),
                "a given added": full.replace("givens:\n", "givens:\n  zz: 1\n", 1),
            }.items()
        ):
            check_case(sweep, "tamper", f"{tid}: {label}", text)

    # Changed givens with answers that fit them (what a student who edits the numbers writes).
    own = [t for t in ("single-neuron", "hidden-layer", "matmul") if t in bases]
    givens_steps = {}
    for tid in own:
        givens = _givens_of(sweep, tid)
        if givens:
            changed = {k: map_leaves(v, lambda c: 0 if isinstance(c, int) else c) for k, v in givens.items()}
            first = next(iter(changed))
            changed[first] = map_leaves(givens[first], lambda c: 1 if isinstance(c, int) else c)
            path = write(sweep.root / "setup" / "answers" / f"{tid}-own.json", json.dumps(changed))
            givens_steps[tid] = (Step(sweep.nn("key", tid, "--givens", str(path), "--format", "json")), changed)
    results = sweep.run_setup({t: s for t, (s, _) in givens_steps.items()})
    for tid, (_, changed) in givens_steps.items():
        answers = key_answers(results[tid])
        if answers is None:
            continue  # nnhand refuses these givens (a constraint or a bound): nothing to forge
        text = fill(bases[tid]["empty"], answers)
        block = "\n" + "\n".join(f"  {k}: {flow(v)}" for k, v in changed.items())
        check_case(
            sweep,
            "tamper",
            f"{tid}: own givens with answers that fit them",
            set_top(text, "givens", block),
            credit=True,
        )

    # Report formats must stay valid documents for bad files.
    bad = {
        "binary": files["binary"],
        "alias bomb": files["alias bomb"],
        "1e99999999 cell": set_answer(some["full"], entry_name, flow(with_first_leaf(entry_value, Raw("1e99999999")))),
        "[/] cell": set_answer(some["full"], entry_name, flow(with_first_leaf(entry_value, Raw('"[/]"')))),
        "]]> and <& in a cell": set_answer(some["full"], entry_name, flow(with_first_leaf(entry_value, ']]><&"'))),
        "variant changed": set_top(some["full"], "variant", yq(_other_token(_variant(some["full"]) or ""))),
        "FIFO": _special("fifo"),
    }
    for label, content in bad.items():
        for fmt in ("json", "gradescope", "classroom", "classroom-base64", "junit"):
            args = ("--format", fmt) if fmt != "classroom-base64" else ("--format", "classroom", "--base64")
            case = check_case(sweep, "report-format", f"{label} as {fmt}", content, args)
            if fmt == "junit":
                case.checks.append(check_stdout_xml())
            else:
                case.checks.append(check_stdout_json(required=fmt != "json", base64=fmt == "classroom-base64"))


def _other_token(variant: str) -> str:
    """Another variant id of the same shape: the next seed, or a sealed token with its last character changed."""
    m = re.search(r"#(\d+)", variant)
    if m:
        return variant[: m.start(1)] + str(int(m.group(1)) + 1) + variant[m.end(1) :]
    if not variant:
        return "x"
    last = variant[-1]
    swap = "b" if last == "a" else ("1" if last == "0" else ("a" if last.isalpha() else "0"))
    return variant[:-1] + swap


def unchanged(sweep: Sweep, surface: str, label: str) -> None:
    case = sweep.case(surface, "setup", label)
    case.findings.append(Finding("SETUP", f"{label}: the mutation did not change the file (its format moved on?)"))


def _variant(text: str) -> str | None:
    m = re.search(r"^variant: *(.*?) *$", text, re.M)
    return m.group(1).strip("\"'") if m else None


def _bump_first_given(text: str) -> str:
    block = get_top(text, "givens") or ""
    m = re.search(r"-?\d+", block)
    if not m:
        return text
    bumped = block[: m.start()] + str(int(m.group()) + 1) + block[m.end() :]
    return text.replace(block, bumped, 1)


def _givens_of(sweep: Sweep, tid: str) -> dict[str, Any] | None:
    """The givens of the setup's variant, from `gen --format json`."""
    res = sweep.run_setup({"g": Step(sweep.nn("gen", tid, "--seed", str(SEED), "--format", "json"))})["g"]
    try:
        givens = json.loads(res.stdout)["givens"]
        return givens if isinstance(givens, dict) else None
    except (ValueError, KeyError, TypeError):
        return None


# ----------------------------------------------------------------------------- 3. --givens files

Matrix = list[list[int]]


def _col(v: Any) -> Matrix:
    """A given as a matrix of Python ints: a vector is a column, a number 1x1."""
    if not isinstance(v, list):
        return [[v]]
    if v and isinstance(v[0], list):
        return v
    return [[x] for x in v]


def _mm(a: Matrix, b: Matrix) -> Matrix:
    return [[sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]


def _add(a: Matrix, b: Matrix) -> Matrix:
    """a + b, a column b broadcast over a's columns."""
    return [[a[i][j] + b[i][j if len(b[0]) > 1 else 0] for j in range(len(a[0]))] for i in range(len(a))]


def _relu(a: Matrix) -> Matrix:
    return [[max(x, 0) for x in row] for row in a]


def reference_key(tid: str, g: dict[str, Any], params: dict[str, int]) -> dict[str, Matrix] | None:
    """The key in exact Python integers, for templates simple enough to recompute by hand."""
    if tid == "single-neuron":
        z = [[sum(w * x for w, x in zip(g["w"], g["x"])) + g["b"]]]
        return {"z": z, "a": _relu(z)}
    if tid == "matmul":
        return {"C": _mm(_col(g["A"]), _col(g["B"]))}
    if tid == "four-neurons":
        z = _add(_mm(_col(g["W"]), _col(g["x"])), _col(g["b"]))
        return {"z": z, "a": _relu(z), "params": [[(len(g["x"]) + 1) * len(g["b"])]]}
    if tid == "hidden-layer":
        z1 = _add(_mm(_col(g["W1"]), _col(g["x"])), _col(g["b1"]))
        z2 = _add(_mm(_col(g["W2"]), _relu(z1)), _col(g["b2"]))
        return {"z1": z1, "h": _relu(z1), "z2": z2, "y": _relu(z2)}
    if tid == "batch":
        z1 = _add(_mm(_col(g["W1"]), _col(g["X"])), _col(g["b1"]))
        z2 = _add(_mm(_col(g["W2"]), _relu(z1)), _col(g["b2"]))
        return {"Z1": z1, "H": _relu(z1), "Z2": z2, "Y": _relu(z2)}
    if tid == "residual":
        z1 = _add(_mm(_col(g["W1"]), _col(g["X"])), _col(g["b1"]))
        f = _add(_mm(_col(g["W2"]), _relu(z1)), _col(g["b2"]))
        s = _add(_col(g["X"]), f)
        return {"Z1": z1, "H": _relu(z1), "F": f, "S": s, "Y": _relu(s)}
    return None


def check_exact_key(tid: str, givens: dict[str, Any]) -> Check:
    def run(case: Case) -> list[Finding]:
        res = case.result()
        if res is None or res.rc != 0:
            return []  # refused: allowed
        expected = reference_key(tid, givens, {})
        answers = key_answers(res)
        if expected is None or answers is None:
            return [Finding("WRONG", "exit 0 but no JSON key to compare")]
        for name, want in expected.items():
            if name not in answers:
                continue
            got = _col(answers[name])
            flat_got, flat_want = list(leaves(got)), list(leaves(want))
            if len(flat_got) != len(flat_want):
                return [Finding("WRONG", f"{name}: {len(flat_got)} cells, expected {len(flat_want)}")]
            for index, (g, w) in enumerate(zip(flat_got, flat_want)):
                try:
                    exact = Fraction(g) if not isinstance(g, str) else Fraction(g.replace("−", "-"))
                except (ValueError, TypeError):
                    return [Finding("WRONG", f"{name}[{index + 1}]: {str(g)[:40]!r} is not a number")]
                if exact != w:
                    return [Finding("WRAP", f"{name}[{index + 1}] is {str(g)[:40]}, exactly {str(w)[:40]}")]
        return []

    return run


GIVENS_TEMPLATES = (
    "single-neuron",
    "matmul",
    "four-neurons",
    "hidden-layer",
    "batch",
    "residual",
    "vector-db",
    "softmax-temperature",
    "self-attention",
    "rnn",
)


def givens_case(
    sweep: Sweep,
    tid: str,
    family: str,
    name: str,
    content: str | bytes | Callable[[Path], None],
    suffix: str = ".json",
    **kw: Any,
) -> Case:
    file = f"givens{suffix}"
    case = sweep.case("givens", family, f"{tid}: {name}", names=(file, "--givens"), **kw)
    target = case.path(file)
    if callable(content):
        content(target)
    else:
        write(target, content)
    case.steps.append(Step(sweep.nn("key", tid, "--givens", file, "--format", "json")))
    return case


def build_givens(sweep: Sweep) -> None:
    steps = {t: Step(sweep.nn("gen", t, "--seed", "1", "--format", "json")) for t in GIVENS_TEMPLATES}
    results = sweep.run_setup(steps)
    for tid in GIVENS_TEMPLATES:
        try:
            givens = json.loads(results[tid].stdout)["givens"]
            assert isinstance(givens, dict) and givens
        except Exception:
            setup_failure(sweep, "givens", f"gen {tid} --format json", results[tid])
            continue
        numeric = [k for k, v in givens.items() if all(isinstance(c, (int, float)) for c in leaves(v))]
        if reference_key(tid, givens, {}) is not None:
            big = {
                "every given 10**12": lambda c, i: 10**12,
                "every given ±10**12": lambda c, i: 10**12 if i % 2 else -(10**12),
                "every given 2**62": lambda c, i: 2**62,
                "every given 10**30": lambda c, i: 10**30,
                "every given 3**40 (weights) and -1 (rest)": lambda c, i: 3**40 if i % 3 else -1,
            }
            for label, make in big.items():
                counter = iter(range(10**6))
                forged = {k: map_leaves(v, lambda c, m=make, n=counter: m(c, next(n))) for k, v in givens.items()}
                case = givens_case(sweep, tid, "big-int", label, json.dumps(forged))
                case.checks.append(check_exact_key(tid, forged))
        first = numeric[0] if numeric else next(iter(givens))
        full_list = tid in ("single-neuron", "vector-db")

        def with_given(value: str, name: str = first, g: dict[str, Any] = givens) -> str:
            """JSON text with one given's value replaced by raw text (NaN, 1e400, ...)."""
            parts = [f"{json.dumps(k)}: {value if k == name else json.dumps(v)}" for k, v in g.items()]
            return "{" + ", ".join(parts) + "}"

        def yaml_with(value: str, name: str = first, g: dict[str, Any] = givens) -> str:
            return "".join(f"{k}: {value if k == name else flow(v)}\n" for k, v in g.items())

        shape = givens[first]
        rows = shape if isinstance(shape, list) else [shape]
        cells: dict[str, str] = {
            "5000-digit int": yaml_with(big_digits(5000)),
            "0.5 everywhere": with_given(json.dumps(map_leaves(shape, lambda c: 0.5))),
            "1e-300": with_given(json.dumps(map_leaves(shape, lambda c: 1e-300))),
            "1e300": with_given(json.dumps(map_leaves(shape, lambda c: 1e300))),
            "1e400 (JSON)": with_given(flow(map_leaves(shape, lambda c: Raw("1e400")))),
            "NaN (JSON)": with_given(flow(map_leaves(shape, lambda c: Raw("NaN")))),
            "Infinity (JSON)": with_given(flow(map_leaves(shape, lambda c: Raw("Infinity")))),
            "-Infinity (JSON)": with_given(flow(map_leaves(shape, lambda c: Raw("-Infinity")))),
            ".nan (YAML)": yaml_with(flow(map_leaves(shape, lambda c: Raw(".nan")))),
            ".inf (YAML)": yaml_with(flow(map_leaves(shape, lambda c: Raw(".inf")))),
            "text 'abc'": with_given(json.dumps(map_leaves(shape, lambda c: "abc"))),
            "text '1'": with_given(json.dumps(map_leaves(shape, lambda c: "1"))),
            "text '1/3'": with_given(json.dumps(map_leaves(shape, lambda c: "1/3"))),
            "text '[/]'": with_given(json.dumps(map_leaves(shape, lambda c: "[/]"))),
            "text with ESC": with_given(json.dumps(map_leaves(shape, lambda c: "\x1b[31m1"))),
            "a word for a number": with_given(json.dumps(map_leaves(shape, lambda c: "how"))),
            "true": with_given(json.dumps(map_leaves(shape, lambda c: True))),
            "null": with_given("null"),
            "a number for a vector": with_given("1"),
            "a matrix for a vector": with_given(json.dumps([rows, rows])),
            "ragged": with_given(json.dumps([[1, 2], [3]])),
            "empty list": with_given("[]"),
            "3-D": with_given(json.dumps([[[1]]])),
            "one row more": with_given(json.dumps([*rows, rows[0]])),
            "1000 x 1000": with_given(json.dumps([[1] * 1000] * 1000)),
            "30000 cells": with_given(json.dumps([1] * 30000)),
            "a mapping": with_given('{"a": 1}'),
        }
        structure = {
            "one given missing": json.dumps({k: v for k, v in givens.items() if k != first}),
            "an extra given": json.dumps({**givens, "zz": 1}),
            "no givens ({})": "{}",
            "a list, not a mapping": "[1, 2]",
            "a number": "5",
            "empty file": "",
            "duplicate key (JSON)": with_given(json.dumps(givens[first]) + f", {json.dumps(first)}: 0"),
            "duplicate key (YAML)": yaml_with(flow(givens[first])) + f"{first}: 0\n",
            "alias bomb (YAML)": alias_bomb()[0] + yaml_with(alias_bomb()[1]),
            "alias (YAML)": yaml_with(flow(givens[first])).replace(f"{first}:", f"{first}: &g", 1) + "x-copy: *g\n",
            "deep nesting (JSON)": with_given("[" * 100_000 + "]" * 100_000),
            "2 MB": with_given(json.dumps(givens[first])) + " " * 2_100_000,
            "NUL byte": "\x00" + json.dumps(givens),
            "Latin-1 byte": json.dumps(givens)[:-1] + ', "caf\udce9": 1}',
        }
        specials: dict[str, Callable[[Path], None]] = {
            "FIFO": _special("fifo"),
            "/dev/zero": _special("devzero"),
            "a directory": _special("dir"),
        }
        sample = (
            "NaN (JSON)",
            "1e400 (JSON)",
            "5000-digit int",
            "a matrix for a vector",
        )
        for label, text in cells.items():
            if full_list or label in sample:
                suffix = ".yaml" if "(YAML)" in label or label == "5000-digit int" else ".json"
                must_refuse = any(w in label for w in ("NaN", "nan", "Infinity", "inf", "1e400"))
                givens_case(
                    sweep, tid, "value", label, text.encode("utf-8", "surrogateescape"), suffix, refuse=must_refuse
                )
        if full_list:
            for label, text in structure.items():
                suffix = ".yaml" if "(YAML)" in label else ".json"
                must_refuse = label in (
                    "one given missing",
                    "no givens ({})",
                    "a list, not a mapping",
                    "a number",
                    "empty file",
                    "alias bomb (YAML)",
                    "NUL byte",
                )
                givens_case(
                    sweep, tid, "file", label, text.encode("utf-8", "surrogateescape"), suffix, refuse=must_refuse
                )
            for label, make in specials.items():
                givens_case(sweep, tid, "file", label, make, refuse=True)


# ----------------------------------------------------------------------------- 4, 5. manifests and submissions

GRADE_OUT = ("grades.csv", "junit.xml", "fb")
FLOAT_TEMPLATES = (
    "backprop-chain",
    "bce-loss",
    "gan",
    "lstm",
    "perceptron",
    "perceptron-tanh",
    "rnn-tanh",
    "softmax-cross-entropy",
)


@dataclass
class Batch:
    folder: Path
    manifest: dict[str, Any]
    text: str
    students: list[str]
    templates: list[str]
    full: dict[tuple[str, str], str]  # (student, template) -> a right answer file
    weak: dict[tuple[str, str], str]  # the same with the first step wrong
    empty: dict[tuple[str, str], str]
    env: dict[str, str | None] = field(default_factory=dict)


_batches: dict[str, Batch | None] = {}


def batch(sweep: Sweep, name: str, surface: str) -> Batch | None:
    """A worksheet folder made once: `W` (--count 3), `WR` (a roster and a secret) or `WF` (float templates)."""
    if name in _batches:
        return _batches[name]
    out = sweep.root / "setup" / name
    env: dict[str, str | None] = {}
    if name == "W":
        args = ["worksheet", "hidden-layer", "backprop", "--count", "3"]
    elif name == "WR":
        roster = write(sweep.root / "setup" / "roster.csv", "id,name,email\ns1,Ada,a@x\ns2,Bo,b@x\ns3,Cy,c@x\n")
        args = ["worksheet", "hidden-layer", "backprop", "--roster", str(roster), "--assignment", "hw1"]
        env = {"NNHAND_SECRET": SECRET}
    else:
        args = ["worksheet", *FLOAT_TEMPLATES, "--count", "2"]
    res = sweep.run_setup({name: Step(sweep.nn(*args, "--out", str(out), "--format", "md"), env=env, timeout=60)})[name]
    made: Batch | None = None
    try:
        text = (out / "manifest.json").read_text("utf-8")
        manifest = json.loads(text)
        students = [s["id"] for s in manifest["students"]]
        templates = [e["template"] for e in manifest["students"][0]["exercises"]]
        full, weak, empty = {}, {}, {}
        for s in manifest["students"]:
            for e in s["exercises"]:
                handout = (out / "students" / s["id"] / f"{e['template']}.yaml").read_text("utf-8")
                key = e["key"]
                empty[s["id"], e["template"]] = handout
                full[s["id"], e["template"]] = fill(handout, key)
                first = answer_entries(handout)[0][0]
                wrong = map_leaves(key[first], lambda c: c + 1 if isinstance(c, (int, float)) else c)
                weak[s["id"], e["template"]] = fill(handout, {**key, first: wrong})
        made = Batch(out, manifest, text, students, templates, full, weak, empty, env)
    except Exception as exc:
        setup_failure(sweep, surface, f"worksheet {name} ({exc!r})", res)
    _batches[name] = made
    return made


def grade_case(
    sweep: Sweep,
    surface: str,
    family: str,
    name: str,
    b: Batch,
    manifest: str | bytes | Callable[[Path], None] | None = None,
    subs: dict[str, str | bytes | Callable[[Path], None]] | None = None,
    **kw: Any,
) -> Case:
    """grade manifest.json SUBS --csv grades.csv --junit junit.xml --feedback fb, every output checked."""
    case = sweep.case(surface, family, name, names=("manifest.json", "SUBS"), outputs=GRADE_OUT, **kw)
    target = case.path("manifest.json")
    if manifest is None:
        write(target, b.text)
    elif callable(manifest):
        manifest(target)
    else:
        write(target, manifest)
    case.path("SUBS").mkdir()
    if subs is None:
        subs = {f"{s}/{t}.yaml": b.full[s, t] for s in b.students for t in b.templates}
    for rel, content in subs.items():
        path = case.path("SUBS") / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        else:
            write(path, content)
    argv = sweep.nn("grade", "manifest.json", "SUBS", "--csv", "grades.csv", "--junit", "junit.xml", "--feedback", "fb")
    case.steps.append(Step(argv, env=dict(b.env), timeout=25))
    case.checks += [check_csv("grades.csv"), check_text_files(*GRADE_OUT), check_xml_files("junit.xml")]
    return case


def all_full(b: Batch, **changes: str | bytes | Callable[[Path], None] | None) -> dict[str, Any]:
    subs: dict[str, Any] = {f"{s}/{t}.yaml": b.full[s, t] for s in b.students for t in b.templates}
    for rel, content in changes.items():
        rel = rel.replace("__", "/").replace("_DOT_", ".")
        if content is None:
            subs.pop(rel, None)
        else:
            subs[rel] = content
    return subs


def subs_with(b: Batch, changes: dict[str, Any]) -> dict[str, Any]:
    subs: dict[str, Any] = {f"{s}/{t}.yaml": b.full[s, t] for s in b.students for t in b.templates}
    for rel, content in changes.items():
        if content is None:
            subs.pop(rel, None)
        else:
            subs[rel] = content
    return subs


def possible(book: dict[str, dict[str, str]], template: str) -> float | None:
    row = book.get("points possible") or next((r for k, r in book.items() if "possible" in k), None)
    try:
        return float((row or {})[template])
    except (KeyError, TypeError, ValueError):
        return None


def expect_scores(expect: Callable[[dict[str, dict[str, str]], Case], list[Finding]]) -> Check:
    def run(case: Case) -> list[Finding]:
        book = read_gradebook(case)
        if book is None:
            res = case.result()
            if res is not None and res.rc in (0, 1):
                return [Finding("WRONG", "grade exited cleanly but wrote no grades.csv")]
            return []
        return expect(book, case)

    return run


def _output_mentions(case: Case, *words: str) -> bool:
    res = case.result()
    text = res.text if res else ""
    for path in _files(case, "fb"):
        text += path.read_text("utf-8", "replace")
    return any(w.lower() in text.lower() for w in words)


def identity_check(owner: str, other: str, template: str, owner_full: bool = True) -> Check:
    """owner keeps their own score; other earns nothing from owner's variant; the case is flagged."""

    def expect(book: dict[str, dict[str, str]], case: Case) -> list[Finding]:
        found = []
        top = possible(book, template)
        mine, theirs = score(book, owner, template), score(book, other, template)
        if owner_full and top is not None and mine != top:
            found.append(Finding("CREDIT", f"{owner}'s own {template} score became {mine} (of {top})"))
        if not owner_full and mine:
            found.append(Finding("CREDIT", f"{owner} earned {mine} from a file submitted under {other}"))
        if theirs:
            found.append(Finding("CREDIT", f"{other} earned {theirs} for {owner}'s variant"))
        if not flags_of(book, owner, other):
            found.append(Finding("CREDIT", f"not flagged in the grade book ({owner}, {other})"))
        return found

    return expect_scores(expect)


def build_manifests(sweep: Sweep) -> None:
    b = batch(sweep, "W", "manifests")
    if b is None:
        return
    m = b.manifest
    tid = b.templates[0]

    def variant(change: Callable[[dict[str, Any]], None]) -> str:
        data = json.loads(b.text)
        change(data)
        return json.dumps(data, indent=1)

    def case(family: str, name: str, content: Any, **kw: Any) -> Case:
        return grade_case(sweep, "manifests", family, name, b, content, **kw)

    types: dict[str, Any] = {"null": None, '"x"': "x", "10**30": 10**30}
    for key in list(m):
        case("missing-key", f"top-level {key} removed", variant(lambda d, k=key: d.pop(k)))
        for label, value in types.items():
            case("wrong-type", f"top-level {key}: {label}", variant(lambda d, k=key, v=value: d.__setitem__(k, v)))
    for label, value in {"2": 2, "999": 999, '"1"': "1", "-1": -1}.items():
        case("wrong-type", f"schema_version {label}", variant(lambda d, v=value: d.__setitem__("schema_version", v)))
    case("wrong-type", "schema: other", variant(lambda d: d.__setitem__("schema", "other")))
    case("wrong-type", "schema_version NaN", variant(lambda d: d.__setitem__("schema_version", float("nan"))))

    # templates: entries and their fields, and hostile template sources.
    case("missing-key", f"templates.{tid} removed", variant(lambda d: d["templates"].pop(tid)))
    for label, value in {"null": None, "[]": [], '"x"': "x"}.items():
        case("wrong-type", f"templates.{tid}: {label}", variant(lambda d, v=value: d["templates"].__setitem__(tid, v)))
    for fieldname in m["templates"][tid]:
        case(
            "missing-key",
            f"templates.{tid}.{fieldname} removed",
            variant(lambda d, f=fieldname: d["templates"][tid].pop(f)),
        )
        for label, value in {"null": None, "5": 5, "[]": [], '"x"': "x"}.items():
            case(
                "wrong-type",
                f"templates.{tid}.{fieldname}: {label}",
                variant(lambda d, f=fieldname, v=value: d["templates"][tid].__setitem__(f, v)),
            )
    source = m["templates"][tid].get("source", "")
    anchors, top = alias_bomb()
    sources = {
        "duplicate key": source.replace("title:", "title: X\ntitle:", 1),
        "alias bomb": source.replace("id:", anchors + "id:", 1).replace("title: ", f"title: {top}\nx-title: ", 1),
        "3 ** 10 ** 9 step": re.sub(r"expr: .*", 'expr: "3 ** 10 ** 9"', source, count=1),
        "5000-digit version": re.sub(r"version: \d+", "version: " + big_digits(5000), source, count=1),
        "2 MB source": source + "#" + "x" * 2_100_000 + "\n",
        "empty source": "",
        "NUL in source": source.replace("title:", "title: a\x00b\nx:", 1),
        "[/] and ESC in the title": source.replace("title: ", 'title: "[/] \\e[31m"\nx-title: ', 1),
    }
    for label, text in sources.items():
        case("template-source", label, variant(lambda d, t=text: d["templates"][tid].__setitem__("source", t)))

    # students: the list, one student, its fields.
    for label, value in {"[]": [], "null": None, "{}": {}, '"x"': "x", "[null]": [None], "[5]": [5]}.items():
        case("wrong-type", f"students: {label}", variant(lambda d, v=value: d.__setitem__("students", v)))
    for fieldname in m["students"][0]:
        case("missing-key", f"students[0].{fieldname} removed", variant(lambda d, f=fieldname: d["students"][0].pop(f)))
        for label, value in {"null": None, "5": 5, "{}": {}}.items():
            case(
                "wrong-type",
                f"students[0].{fieldname}: {label}",
                variant(lambda d, f=fieldname, v=value: d["students"][0].__setitem__(f, v)),
            )
    case("structure", "a student twice", variant(lambda d: d["students"].append(dict(d["students"][0]))))
    case("structure", "a student without exercises", variant(lambda d: d["students"][0].__setitem__("exercises", [])))
    case(
        "structure",
        "an exercise twice",
        variant(lambda d: d["students"][0]["exercises"].append(d["students"][0]["exercises"][0])),
    )
    case("structure", "one exercise missing", variant(lambda d: d["students"][1]["exercises"].pop()))
    case(
        "structure",
        "an exercise for a template not listed",
        variant(lambda d: d["students"][0]["exercises"][0].__setitem__("template", "matmul")),
    )

    # one exercise's fields, and what the key and mask hold.
    exercise = m["students"][0]["exercises"][0]
    for fieldname in exercise:
        case(
            "missing-key",
            f"exercise.{fieldname} removed",
            variant(lambda d, f=fieldname: d["students"][0]["exercises"][0].pop(f)),
        )
        for label, value in {"null": None, '"x"': "x", "[]": []}.items():
            case(
                "wrong-type",
                f"exercise.{fieldname}: {label}",
                variant(lambda d, f=fieldname, v=value: d["students"][0]["exercises"][0].__setitem__(f, v)),
            )
    step = next(iter(exercise["key"]))
    given = next(iter(exercise["givens"]))

    def ex(d: dict[str, Any]) -> dict[str, Any]:
        return d["students"][0]["exercises"][0]  # type: ignore[no-any-return]

    deep = {
        "a step missing from the key": lambda d: ex(d)["key"].pop(step),
        "a key cell missing": lambda d: ex(d)["key"].__setitem__(step, list(leaves(ex(d)["key"][step]))[:-1]),
        "a key cell NaN": lambda d: ex(d)["key"].__setitem__(step, with_first_leaf(ex(d)["key"][step], float("nan"))),
        "a key cell Infinity": lambda d: ex(d)["key"].__setitem__(
            step, with_first_leaf(ex(d)["key"][step], float("inf"))
        ),
        "a key cell text": lambda d: ex(d)["key"].__setitem__(step, with_first_leaf(ex(d)["key"][step], "abc")),
        "a key cell 10**30": lambda d: ex(d)["key"].__setitem__(step, with_first_leaf(ex(d)["key"][step], 10**30)),
        "a key cell a mapping": lambda d: ex(d)["key"].__setitem__(step, with_first_leaf(ex(d)["key"][step], {"a": 1})),
        "a step missing from the mask": lambda d: ex(d)["blank_mask"].pop(step),
        "a mask of the wrong shape": lambda d: ex(d)["blank_mask"].__setitem__(step, [[1]]),
        "a mask of 5s": lambda d: ex(d)["blank_mask"].__setitem__(
            step, map_leaves(ex(d)["blank_mask"][step], lambda c: 5)
        ),
        "nothing blank": lambda d: [
            ex(d)["blank_mask"].__setitem__(k, map_leaves(v, lambda c: 0)) for k, v in list(ex(d)["blank_mask"].items())
        ],
        "a given missing": lambda d: ex(d)["givens"].pop(given),
        "a given NaN": lambda d: ex(d)["givens"].__setitem__(
            given, with_first_leaf(ex(d)["givens"][given], float("nan"))
        ),
        "a given 10**30": lambda d: ex(d)["givens"].__setitem__(given, with_first_leaf(ex(d)["givens"][given], 10**30)),
        "a param 30000": lambda d: ex(d)["params"].__setitem__(next(iter(ex(d)["params"])), 30000),
        "a param -1": lambda d: ex(d)["params"].__setitem__(next(iter(ex(d)["params"])), -1),
        "variant of another template": lambda d: ex(d).__setitem__("variant", "matmul@1#1"),
        "variant garbage": lambda d: ex(d).__setitem__("variant", "@@##"),
        "exact holds garbage": lambda d: ex(d).__setitem__("exact", {step: "x"}),
        "blanks: zzz": lambda d: ex(d).__setitem__("blanks", "zzz"),
    }
    for label, change in deep.items():
        case("deep", label, variant(change))

    # Student ids that are paths, formulas, control characters.
    ids = {
        "../evil": "../evil",
        "../../evil": "../../evil",
        "absolute path": str(sweep.root / "cases" / "manifests" / "escape"),
        "a/b": "a/b",
        ".": ".",
        "..": "..",
        "empty id": "",
        "newline": "v9\nv10",
        "ESC": "v9\x1b[31m",
        "NUL": "v9\x00",
        "=HYPERLINK": '=HYPERLINK("http://evil","x")',
        "+cmd": "+cmd|' /C calc'!A0",
        "@SUM": "@SUM(1+1)*cmd|' /C calc'!A0",
        "-2+3": "-2+3",
        "tab": "\t=1+1",
        "CR": "\r=1+1",
        "[/]": "[/]",
        "10,000 characters": "v" * 10_000,
        "manifest.json": "manifest.json",
        "name formula": None,
    }
    for label, sid in ids.items():
        if sid is None:
            change: Callable[[dict[str, Any]], None] = lambda d: d["students"][0].update(  # noqa: E731
                name='=HYPERLINK("http://evil","x")', email="+cmd|' /C calc'!A0"
            )
        else:
            change = lambda d, s=sid: d["students"][2].__setitem__("id", s)  # noqa: E731
        case("student-id", label, variant(change))

    # The file itself.
    huge = variant(lambda d: d.__setitem__("x-padding", "x" * 50_000_000))
    c = case("file", "50 MB manifest", huge, expect_rc=(2,))
    c.checks.append(
        lambda case: (
            [Finding("MEMORY", "a 50 MB manifest was parsed (no size cap)")]
            if case.result() is not None and case.result().rc in (0, 1)
            else []
        )
    )  # type: ignore[union-attr]
    rng = random.Random(4)
    files: dict[str, Any] = {
        "/dev/zero": _special("devzero"),
        "FIFO": _special("fifo"),
        "a directory": _special("dir"),
        "binary": bytes(rng.randrange(256) for _ in range(4096)),
        "empty": "",
        "YAML, not JSON": "students: []\n",
        "a JSON list": "[1, 2]",
        "deep nesting": "[" * 100_000 + "]" * 100_000,
        "Latin-1 byte": b.text.replace('"assignment"', '"x-caf\udce9": 1, "assignment"', 1).encode(
            "utf-8", "surrogateescape"
        ),
        "NUL byte": b"\x00" + b.text.encode(),
        "UTF-16": b.text.encode("utf-16"),
        "UTF-8 BOM": "\ufeff" + b.text,
        "students twice (JSON duplicate key)": b.text.replace('"students":', '"students": [], "students":', 1),
        "NaN literal": b.text.replace('"schema_version": 1', '"schema_version": NaN', 1),
        "5000-digit integer": b.text.replace('"schema_version": 1', '"schema_version": ' + big_digits(5000), 1),
    }
    for label, content in files.items():
        case("file", label, content)


def build_submissions(sweep: Sweep) -> None:
    for name in ("W", "WR"):
        b = batch(sweep, name, "submissions")
        if b is None:
            continue
        s1, s2, s3 = b.students[:3]
        t1, t2 = b.templates[:2]
        tag = f"{name}: "

        def case(family: str, label: str, subs: dict[str, Any], bb: Batch = b, tg: str = tag, **kw: Any) -> Case:
            return grade_case(sweep, "submissions", family, tg + label, bb, None, subs, **kw)

        def everyone_full(bb: Batch = b) -> Check:
            def expect(book: dict[str, dict[str, str]], c: Case) -> list[Finding]:
                out = []
                for sid in bb.students:
                    for t in bb.templates:
                        if score(book, sid, t) != possible(book, t):
                            out.append(Finding("WRONG", f"{sid} {t}: {score(book, sid, t)} of {possible(book, t)}"))
                return out[:3]

            return expect_scores(expect)

        case("baseline", "every submission right", all_full(b)).checks.append(everyone_full())
        weak_as_s1 = set_top(b.weak[s1, t1], "student", yq(s1))
        case(
            "impersonation",
            f"a weaker copy of {s1}'s file in {s2}/ says student: {s1}",
            subs_with(b, {f"{s2}/{t1}.yaml": weak_as_s1}),
        ).checks.append(identity_check(s1, s2, t1))
        case(
            "impersonation",
            f"{s1}'s right file, in {s2}/, says student: {s1}",
            subs_with(b, {f"{s2}/{t1}.yaml": set_top(b.full[s1, t1], "student", yq(s1))}),
        ).checks.append(identity_check(s1, s2, t1))
        case(
            "impersonation",
            f"{s1} submitted nothing; {s2}/ holds {s1}'s right file",
            subs_with(b, {f"{s1}/{t1}.yaml": None, f"{s2}/{t1}.yaml": set_top(b.full[s1, t1], "student", yq(s1))}),
        ).checks.append(identity_check(s1, s2, t1, owner_full=False))
        case(
            "impersonation",
            f"{s2}-{t1}.yaml (no folder) says student: {s1}",
            {**subs_with(b, {f"{s2}/{t1}.yaml": None}), f"{s2}-{t1}.yaml": weak_as_s1},
        ).checks.append(identity_check(s1, s2, t1))

        def flagged(sid: str) -> Check:
            def expect(book: dict[str, dict[str, str]], c: Case, sid: str = sid) -> list[Finding]:
                if not flags_of(book, sid):
                    return [Finding("CREDIT", f"two submissions of {sid} not flagged in the grade book")]
                return []

            return expect_scores(expect)

        case(
            "duplicate",
            f"two files for {s1} {t1} (right and weak)",
            subs_with(b, {f"{s1}/{t1}-copy.yaml": b.weak[s1, t1]}),
        ).checks.append(flagged(s1))
        case(
            "duplicate", f"{s1}/{t1}.yaml and {s1}-{t1}.yaml", {**subs_with(b, {}), f"{s1}-{t1}.yaml": b.weak[s1, t1]}
        ).checks.append(flagged(s1))

        def zero(sid: str, t: str, why: str) -> Check:
            def expect(book: dict[str, dict[str, str]], c: Case) -> list[Finding]:
                got = score(book, sid, t)
                return [Finding("CREDIT", f"{sid} {t} earned {got}: {why}")] if got else []

            return expect_scores(expect)

        case(
            "tamper",
            f"{s2}'s right file in {s1}/ (no student line)",
            subs_with(b, {f"{s1}/{t1}.yaml": set_top(b.full[s2, t1], "student", None)}),
        ).checks.append(zero(s1, t1, "another student's variant"))
        case(
            "tamper",
            "blanks: none, nothing answered",
            subs_with(b, {f"{s1}/{t1}.yaml": set_top(b.empty[s1, t1], "blanks", "none")}),
        ).checks.append(zero(s1, t1, "nothing answered"))
        case(
            "tamper", "a given changed", subs_with(b, {f"{s1}/{t1}.yaml": _bump_first_given(b.full[s1, t1])})
        ).checks.append(zero(s1, t1, "givens changed"))
        case(
            "tamper",
            "variant changed",
            subs_with(b, {f"{s1}/{t1}.yaml": set_top(b.full[s1, t1], "variant", yq(_variant(b.full[s2, t1]) or "x"))}),
        ).checks.append(zero(s1, t1, "variant changed"))

        def others_graded(bb: Batch = b) -> Check:
            def expect(book: dict[str, dict[str, str]], c: Case) -> list[Finding]:
                got = score(book, bb.students[0], bb.templates[0])
                top = possible(book, bb.templates[0])
                return [] if got == top else [Finding("WRONG", f"the other students were not graded ({got} of {top})")]

            return expect_scores(expect)

        def cells_not_files(sid: str, t: str) -> Check:
            def expect(book: dict[str, dict[str, str]], c: Case) -> list[Finding]:
                got = score(book, sid, t)
                return [] if got else [Finding("WRONG", f"one bad cell gave {sid} {got} for all of {t}")]

            return expect_scores(expect)

        def sparse(path: Path) -> None:
            with open(path, "wb") as handle:
                handle.truncate(600 * 2**20)

        rng = random.Random(5)
        hostile_files: dict[str, Any] = {
            "a 600 MB sparse file": sparse,
            "/dev/zero symlinked in": _special("devzero"),
            "a FIFO": _special("fifo"),
            "binary": bytes(rng.randrange(256) for _ in range(4096)),
            "a directory named like a file": _special("dir"),
            "a symlink loop": _special("loop"),
            "1e99999999 in a cell": set_answer(b.full[s3, t1], answer_entries(b.full[s3, t1])[0][0], "1e99999999"),
            "5000-digit int in a cell": set_answer(
                b.full[s3, t1], answer_entries(b.full[s3, t1])[0][0], big_digits(5000)
            ),
            "alias bomb": alias_bomb()[0] + b.full[s3, t1],
            "2 MB": b.full[s3, t1] + "#" + "x" * 2_100_000 + "\n",
        }
        for label, content in hostile_files.items():
            c = case("hostile-file", label, subs_with(b, {f"{s3}/{t1}.yaml": content}))
            c.checks.append(others_graded())
            if "in a cell" in label:
                c.checks.append(cells_not_files(s3, t1))
        formula = '=HYPERLINK("http://evil","x")'
        injections: dict[str, dict[str, Any]] = {
            "student: =HYPERLINK": {f"{s1}/{t1}.yaml": set_top(b.full[s1, t1], "student", yq(formula))},
            "student: +cmd": {f"{s1}/{t1}.yaml": set_top(b.full[s1, t1], "student", yq("+cmd|' /C calc'!A0"))},
            "a file named =HYPERLINK(x).yaml": {'=HYPERLINK("x").yaml': b.full[s1, t1]},
            "a file named @SUM(1).yaml": {"@SUM(1).yaml": b.full[s1, t1]},
            "a folder named -2+3": {f"-2+3/{t1}.yaml": b.full[s1, t1]},
            "formula answers": {
                f"{s1}/{t1}.yaml": set_answer(
                    b.full[s1, t1],
                    answer_entries(b.full[s1, t1])[0][0],
                    flow([formula, "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"]),
                )
            },
            "ESC in answers": {
                f"{s1}/{t1}.yaml": set_answer(
                    b.full[s1, t1],
                    answer_entries(b.full[s1, t1])[0][0],
                    flow(["\x1b[31mred", "\x1b]52;c;cHduZWQ=\x07", "\x9b1m", "1"]),
                )
            },
            "ESC in the student line": {f"{s1}/{t1}.yaml": set_top(b.full[s1, t1], "student", yq("\x1b[2J\x1b[31mX"))},
            "ESC in a file name": {f"{s1}/\x1b[31m{t1}.yaml": b.full[s1, t1]},
            "newline in a file name": {f"{s1}/x\ny-{t1}.yaml": b.full[s1, t1]},
            "[/] in answers": {
                f"{s1}/{t1}.yaml": set_answer(
                    b.full[s1, t1],
                    answer_entries(b.full[s1, t1])[0][0],
                    flow(["[/]", "[bold]1", "[link=x]2[/link]", "1"]),
                )
            },
            "[/] in a file name": {f"{s1}/[/]{t1}.yaml": b.full[s1, t1]},
        }
        for label, changes in injections.items():
            case("injection", label, subs_with(b, changes))
        for label, value in {
            "a list": "[s1]",
            "a mapping": "{a: 1}",
            "10**30": "1" + "0" * 30,
            "null": "null",
            "empty": '""',
            "../x": '"../x"',
            "unknown": '"nobody"',
            "with newline": '"s1\\n"',
        }.items():
            case(
                "student-line",
                f"student: {label}",
                subs_with(b, {f"{s1}/{t1}.yaml": set_top(b.full[s1, t1], "student", value)}),
            )
        layout = {
            "a template not in the assignment": {f"{s1}/matmul.yaml": "variant: matmul@1#1\nanswers: {C: 1}\n"},
            "__MACOSX junk": {f"__MACOSX/{s1}/._{t1}.yaml": b"\x00\x05\x16\x07" + bytes(200)},
            "a hidden file": {f"{s1}/.{t1}.yaml": b.weak[s1, t1]},
            ".yml and .json suffixes": {f"{s2}/{t2}.yml": b.full[s2, t2], f"{s2}/{t2}.json": "{}"},
            "a symlink out of the folder": {f"{s1}/{t1}-link.yaml": lambda p: os.symlink("../../manifest.json", p)},
            "200 folders deep": {"/".join(["d"] * 200) + f"/{s1}-{t1}.yaml": b.weak[s1, t1]},
            "2,000 small files": {f"junk/{i}.yaml": "x: 1\n" for i in range(2000)},
        }
        for label, changes in layout.items():
            case("layout", label, subs_with(b, changes))

    wf = batch(sweep, "WF", "submissions")
    if wf is not None:
        a, c2 = wf.students[:2]
        for t in wf.templates:
            subs = {f"{a}/{t}.yaml": wf.full[a, t], f"{c2}/{t}.yaml": wf.weak[c2, t]}

            def expect(book: dict[str, dict[str, str]], c: Case, t: str = t) -> list[Finding]:
                top = possible(book, t)
                out = []
                if score(book, a, t) != top or not top:
                    out.append(Finding("WRONG", f"a right {t} submission scored {score(book, a, t)} of {top}"))
                weak = score(book, c2, t)
                if weak is None or top is None or not weak < top:
                    out.append(Finding("WRONG", f"a wrong {t} submission scored {weak} of {top}"))
                return out

            grade_case(
                sweep, "submissions", "float-template", f"{t}: a right and a wrong submission", wf, None, subs
            ).checks.append(expect_scores(expect))


# ----------------------------------------------------------------------------- 6. rosters


def roster_text(rows: list[list[str]], header: tuple[str, ...] = ("id", "name", "email")) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def roster_case(
    sweep: Sweep,
    family: str,
    name: str,
    content: str | bytes | Callable[[Path], None],
    then_grade: bool = False,
    formats: tuple[str, ...] = ("md",),
    timeout: float = TIMEOUT,
    **kw: Any,
) -> Case:
    case = sweep.case("rosters", family, name, names=("roster.csv",), outputs=("out", "grades.csv", "fb"), **kw)
    target = case.path("roster.csv")
    if callable(content):
        content(target)
    else:
        write(target, content)
    fmt_args = [a for f in formats for a in ("--format", f)]
    env: dict[str, str | None] = {"NNHAND_SECRET": SECRET}
    argv = sweep.nn(
        "worksheet", "single-neuron", "--roster", "roster.csv", "--assignment", "hw1", "--out", "out", *fmt_args
    )
    case.steps.append(Step(argv, env=env, timeout=timeout))
    if then_grade:
        case.path("SUBS").mkdir()
        case.steps.append(
            Step(sweep.nn("grade", "out/manifest.json", "SUBS", "--csv", "grades.csv", "--feedback", "fb"), env=env)
        )
        case.chain = True
        case.judge = 0
    case.checks += [check_csv("grades.csv"), check_text_files("out", "fb"), check_html("out")]
    return case


def build_rosters(sweep: Sweep) -> None:
    ok = [["s1", "Ada", "a@x"], ["s2", "Bo", "b@x"]]
    injected = {
        "id =HYPERLINK": [['=HYPERLINK("http://evil","x")', "Ada", "a@x"]],
        "name +cmd": [["s1", "+cmd|' /C calc'!A0", "a@x"]],
        "email @SUM": [["s1", "Ada", "@SUM(1+1)*cmd|' /C calc'!A0"]],
        "id -2+3": [["-2+3", "Ada", "a@x"]],
        "name tab=": [["s1", "\t=1+1", "a@x"]],
        "name CR=": [["s1", "\r=1+1", "a@x"]],
        "id ESC": [["s1\x1b[31m", "Ada", "a@x"]],
        "name ESC": [["s1", "\x1b[2J\x1b[31mAda", "a@x"]],
        "name OSC 52": [["s1", "\x1b]52;c;cHduZWQ=\x07Ada", "a@x"]],
        "name BEL/backspace": [["s1", "Ada\x07\x08\x08", "a@x"]],
        "id with a newline (quoted)": [["s1\ns2", "Ada", "a@x"]],
        "name with a newline (quoted)": [["s1", "Ada\nLovelace", "a@x"]],
        "name [/]": [["s1", "[/] [bold]Ada", "a@x"]],
        "name <script>": [["s1", "<script>alert(1)</script>", "a@x"]],
        "name <img onerror>": [["s1", "<img src=x onerror=alert(1)>", "a@x"]],
        "name ]]> and &": [["s1", "]]> & &amp; <", "a@x"]],
        "name C1 CSI": [["s1", "\x9b31mAda", "a@x"]],
    }
    for label, rows in injected.items():
        roster_case(sweep, "injection", label, roster_text(rows + ok), then_grade=True, formats=("md", "html"))
    nul = roster_text(ok).replace("Ada", "A\x00da")
    roster_case(sweep, "injection", "NUL in a name", nul, then_grade=True)
    escape = str(sweep.root / "cases" / "rosters" / "escape-target")
    paths = {
        "../x": "../x",
        "../../x": "../../x",
        "a/b": "a/b",
        "absolute path": escape,
        ".": ".",
        "..": "..",
        "~": "~",
        "$HOME": "$HOME",
        "a space": " ",
        "students": "students",
        "manifest.json": "manifest.json",
        "-rf": "-rf",
        "CON": "CON",
        "300 characters": "s" * 300,
        "10,000 characters": "s" * 10_000,
        "backslash": "a\\b",
        "*?": "*?",
        "unicode": "名前ü",
        "NUL": "s\x00",
    }
    for label, sid in paths.items():
        roster_case(sweep, "path-id", label, roster_text([[sid, "X", "x@x"], *ok]))
    rng = random.Random(6)
    structure: dict[str, tuple[str | bytes | Callable[[Path], None], tuple[int, ...] | None]] = {
        "duplicate ids": (roster_text([*ok, ["s1", "Again", "c@x"]]), (2,)),
        "empty ids": (roster_text([["", "Nobody", ""], *ok]), (2,)),
        "empty file": ("", (2,)),
        "header only": ("id,name,email\n", (2,)),
        "no id column": ("name,email\nAda,a@x\n", (2,)),
        "extra columns": ("id,name,email,x,y\ns1,Ada,a@x,1,2\n", None),
        "short rows": ("id,name,email\ns1\ns2,Bo\n", None),
        "long rows": ("id,name,email\ns1,Ada,a@x,extra,more\n", None),
        "UTF-8 BOM": ("\ufeff" + roster_text(ok), (0,)),
        "CRLF": (roster_text(ok).replace("\n", "\r\n"), (0,)),
        "Latin-1 bytes": ("id,name,email\ns1,Ren\xe9,r@x\n".encode("latin-1"), None),
        "UTF-16": (roster_text(ok).encode("utf-16"), None),
        "binary": (bytes(rng.randrange(256) for _ in range(4096)), (2,)),
        "semicolons": ("id;name;email\ns1;Ada;a@x\n", None),
        "tabs": ("id\tname\temail\ns1\tAda\ta@x\n", None),
        "an unbalanced quote": ('id,name,email\n"s1,Ada,a@x\ns2,Bo,b@x\n', None),
        "2 MB": (roster_text(ok) + "#" * 2_100_000 + "\n", None),
        "a 1 MB field": (roster_text([["s1", "x" * 1_000_000, "a@x"]]), None),
        "/dev/zero": (_special("devzero"), (2,)),
        "FIFO": (_special("fifo"), (2,)),
        "a directory": (_special("dir"), (2,)),
    }
    for label, (content, expect) in structure.items():
        roster_case(sweep, "structure", label, content, expect_rc=expect)
    rows = [[f"s{i}", f"Student {i}", f"s{i}@x"] for i in range(10_000)]
    roster_case(sweep, "size", "10,000 rows", roster_text(rows), timeout=120)

    # --force must not delete what is not an nnhand output.
    for label, setup in {
        "a folder holding thesis.tex": lambda d: write(d / "out" / "thesis.tex", "\\documentclass{article}\n"),
        "a file": lambda d: write(d / "out", "\\documentclass{article}\n"),
        "an empty folder": lambda d: (d / "out").mkdir(),
        "a folder with a fake manifest.json": lambda d: (
            write(d / "out" / "manifest.json", "{}"),
            write(d / "out" / "thesis.tex", "x"),
        ),
    }.items():
        case = sweep.case("rosters", "force", f"--force --out X, X is {label}", names=("out",), expect_rc=(2,))
        write(case.path("roster.csv"), roster_text(ok))
        setup(case.dir)
        case.steps.append(
            Step(
                sweep.nn(
                    "worksheet",
                    "single-neuron",
                    "--roster",
                    "roster.csv",
                    "--assignment",
                    "hw1",
                    "--out",
                    "out",
                    "--force",
                    "--format",
                    "md",
                ),
                env={"NNHAND_SECRET": SECRET},
            )
        )
        if label == "an empty folder":
            case.expect_rc, case.outputs = None, ("out",)
    case = sweep.case("rosters", "force", "--force --out . (the current folder)", names=(".",), expect_rc=(2,))
    write(case.path("roster.csv"), roster_text(ok))
    write(case.path("thesis.tex"), "x")
    case.steps.append(
        Step(
            sweep.nn(
                "worksheet",
                "single-neuron",
                "--roster",
                "roster.csv",
                "--assignment",
                "hw1",
                "--out",
                ".",
                "--force",
                "--format",
                "md",
            ),
            env={"NNHAND_SECRET": SECRET},
        )
    )
    case = sweep.case("rosters", "force", "--force over nnhand's own output", outputs=("out",), expect_rc=(0,))
    write(case.path("roster.csv"), roster_text(ok))
    for _ in range(2):
        case.steps.append(
            Step(
                sweep.nn(
                    "worksheet",
                    "single-neuron",
                    "--roster",
                    "roster.csv",
                    "--assignment",
                    "hw1",
                    "--out",
                    "out",
                    "--force",
                    "--format",
                    "md",
                ),
                env={"NNHAND_SECRET": SECRET},
            )
        )
    for count in ("0", "5001", "1" + "0" * 30, "-1"):
        c = sweep.case(
            "rosters", "count", f"--count {count[:12]}", names=("--count",), outputs=("out",), expect_rc=(2,)
        )
        c.steps.append(Step(sweep.nn("worksheet", "single-neuron", "--count", count, "--out", "out", "--format", "md")))


# ----------------------------------------------------------------------------- 7. exports


def _unescaped(text: str, char: str) -> int:
    return len(re.findall(r"(?<!\\)(?:\\\\)*" + re.escape(char), text))


def gift_questions(text: str) -> list[str]:
    chunks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n"))
    questions = []
    for chunk in chunks:
        lines = [ln for ln in chunk.split("\n") if ln.strip() and not ln.lstrip().startswith(("//", "$CATEGORY"))]
        if lines:
            questions.append("\n".join(lines))
    return questions


def check_gift(expected: int) -> Check:
    def run(case: Case) -> list[Finding]:
        res = case.result()
        if res is None or res.rc != 0:
            return []
        questions = gift_questions(res.stdout.decode("utf-8", "replace"))
        found = []
        if len(questions) != expected:
            found.append(Finding("WRONG", f"GIFT has {len(questions)} questions, expected {expected}"))
        for number, q in enumerate(questions, 1):
            opened, closed = _unescaped(q, "{"), _unescaped(q, "}")
            if opened != 1 or closed != 1:
                found.append(Finding("WRONG", f"GIFT question {number} has {opened} '{{' and {closed} '}}'"))
                break
        return found

    return run


EXPORT_TEXTS = {
    "ESC": "a \x1b[31mred\x1b[0m",
    "BEL, backspace, VT, FF": "a\x07\x08\x0b\x0cb",
    "NUL (escaped)": "a\x00b",
    "C1 controls": "a\x85\x9b31mb",
    "]]>": "a ]]> b",
    "<![CDATA[": "a <![CDATA[ b",
    "< and &": "a < b & c &amp; <b>bold</b>",
    "quotes": "a \"b\" 'c'",
    "newline": "line one\nline two",
    "blank line": "one\n\n// two\n\n::three::",
    "CR": "a\rb",
    "{} and ::": "a {=b} ::c:: {#1:0}",
    "GIFT specials ~ = # \\": "a ~b =c #d \\e",
    "$CATEGORY": "$CATEGORY: $course$/evil",
    "U+FFFE U+FFFF": "a\ufffe\uffffb",
    "lone surrogate": "a\ud800b",
    "[/] markup": "a [/] [bold]b",
    "emoji and wide": "a 🙂 全角",
}


def build_exports(sweep: Sweep) -> None:
    tid = "single-neuron"
    base = sweep.template(tid)
    res = sweep.run_setup({"cells": Step(sweep.nn("gen", tid, "--seed", "1", "--format", "json"))})["cells"]
    try:
        cells = sum(1 for v in leaves(list(json.loads(res.stdout)["answers"].values())) if v is None)
    except Exception:
        setup_failure(sweep, "exports", f"gen {tid} --format json", res)
        return
    count = 3
    for index, (label, text) in enumerate(EXPORT_TEXTS.items()):
        # Title and step label always; a given's label (Moodle only) for every other text.
        for position in ("title", "steps.label", "givens.w.label")[: 3 if index % 2 == 0 else 2]:
            try:
                template = mutate(base, position, yq(text))
            except KeyError:
                continue
            formats = ("moodle", "gift", "qti") if position in ("title", "steps.label") else ("moodle",)
            for fmt in formats:
                case = sweep.case(
                    "exports", "text", f"{label} in {position} [{fmt}]", names=(f"{tid}.yaml", tid), outputs=("q",)
                )
                write(case.path("probs") / f"{tid}.yaml", template)
                args = ["export", tid, "--count", str(count), "--format", fmt, "--problems-dir", "probs"]
                if fmt == "qti":
                    args += ["--out", "q"]
                    case.checks.append(check_xml_files("q"))
                elif fmt == "moodle":
                    case.checks.append(check_stdout_xml(required=False))
                else:
                    case.checks.append(check_gift(count * cells))
                case.steps.append(Step(sweep.nn(*args)))
                case.checks.append(check_text_files("q"))
    for label, text in {"{} and ::": EXPORT_TEXTS["{} and ::"], "blank line": EXPORT_TEXTS["blank line"]}.items():
        case = sweep.case("exports", "gift-count", f"{label} in the title, --blanks one", names=(tid,))
        write(case.path("probs") / f"{tid}.yaml", mutate(base, "title", yq(text)))
        case.steps.append(
            Step(
                sweep.nn(
                    "export", tid, "--count", "4", "--format", "gift", "--blanks", "one", "--problems-dir", "probs"
                )
            )
        )
        case.checks.append(check_gift(4))
    vdb = sweep.template("vector-db")
    for fmt in ("moodle", "gift"):
        case = sweep.case("exports", "text", f"words with markup in vector-db [{fmt}]", names=("vector-db",))
        write(
            case.path("probs") / "vector-db.yaml",
            vdb.replace("vocabulary: [", 'vocabulary: ["<b>&", "]]>", "{=x}", ', 1),
        )
        case.steps.append(
            Step(sweep.nn("export", "vector-db", "--count", "2", "--format", fmt, "--problems-dir", "probs"))
        )
        case.checks.append(check_stdout_xml(required=False) if fmt == "moodle" else (lambda c: []))
    args_cases = {
        "--count 1000": (["export", "matmul", "--count", "1000", "--format", "gift"], None),
        "--seed 10**30": (["export", "matmul", "--seed", "1" + "0" * 30], None),
        "--count 0": (["export", "matmul", "--count", "0"], (2,)),
        "--blanks none": (["export", "matmul", "--format", "gift", "--blanks", "none"], None),
        "qti --out an existing file": (["export", "matmul", "--format", "qti", "--out", "thesis.tex"], (2,)),
        "qti --out a folder holding thesis.tex": (["export", "matmul", "--format", "qti", "--out", "q"], None),
    }
    for label, (args, expect) in args_cases.items():
        case = sweep.case(
            "exports",
            "arguments",
            label,
            names=("--count", "--seed", "--out", "--blanks", "thesis.tex", "q"),
            outputs=("q",),
            expect_rc=expect,
        )
        write(case.path("thesis.tex"), "x")
        if "holding" in label:
            write(case.path("q") / "thesis.tex", "x")
            case.outputs = ()
            case.checks.append(
                lambda c: [] if (c.path("q") / "thesis.tex").is_file() else [Finding("LOSS", "q/thesis.tex lost")]
            )
        case.steps.append(Step(sweep.nn(*args), timeout=30 if "1000" in label else TIMEOUT))


# ----------------------------------------------------------------------------- 8. environment faults


def build_env(sweep: Sweep) -> None:
    answers = sweep.root / "setup" / "env"
    answers.mkdir(parents=True, exist_ok=True)
    res = sweep.run_setup(
        {
            "gen": Step(sweep.nn("gen", "hidden-layer", "--seed", "3", "--answers", str(answers / "a.yaml"))),
            "key": Step(sweep.nn("key", "hidden-layer", "--seed", "3", "--format", "json")),
        }
    )
    key = key_answers(res["key"])
    if key is None or not (answers / "a.yaml").is_file():
        setup_failure(sweep, "env", "gen/key hidden-layer", res["gen"] if key else res["key"])
        return
    write(answers / "full.yaml", fill((answers / "a.yaml").read_text("utf-8"), key))
    b = batch(sweep, "W", "env")
    commands: dict[str, list[str]] = {
        "gen": ["gen", "hidden-layer", "--seed", "3"],
        "key --explain": ["key", "softmax-temperature", "--seed", "3", "--explain"],
        "check (empty)": ["check", str(answers / "a.yaml")],
        "check (right) --explain": ["check", str(answers / "full.yaml"), "--explain", "--show-reading"],
        "list": ["list"],
        "export gift": ["export", "single-neuron", "--count", "2", "--format", "gift"],
        "practice": ["practice", "single-neuron", "--seed", "3"],
    }
    if b is not None:
        commands["grade"] = ["grade", str(b.folder / "manifest.json"), str(b.folder / "students")]
    encodings: dict[str, dict[str, str | None]] = {
        "PYTHONIOENCODING=ascii": {"PYTHONIOENCODING": "ascii"},
        "PYTHONIOENCODING=latin-1": {"PYTHONIOENCODING": "latin-1"},
        "PYTHONIOENCODING=cp437": {"PYTHONIOENCODING": "cp437"},
        "LC_ALL=C, no UTF-8 mode": {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
        "NO_COLOR=1 COLUMNS=20": {"NO_COLOR": "1", "COLUMNS": "20"},
        "COLUMNS=0 LINES=0": {"COLUMNS": "0", "LINES": "0"},
        "COLUMNS=-5": {"COLUMNS": "-5"},
        "COLUMNS=abc": {"COLUMNS": "abc"},
        "COLUMNS=100000": {"COLUMNS": "100000"},
        "TERM=dumb": {"TERM": "dumb"},
    }
    for env_label, env in encodings.items():
        for cmd_label, args in commands.items():
            if (
                "ENCODING" not in env_label
                and "LC_ALL" not in env_label
                and cmd_label not in ("gen", "check (right) --explain", "grade")
            ):
                continue
            stdin = b"1\n?\ns\nq\n" if cmd_label == "practice" else None
            case = sweep.case("env", "encoding", f"{cmd_label} with {env_label}", names=("a.yaml", "full.yaml"))
            case.steps.append(Step(sweep.nn(*args), env=env, stdin=stdin, ok_codes=(0, 1, 2, 130)))
    for cmd_label, args in commands.items():
        for how in ("closed", "head", "full"):
            if how == "full" and cmd_label not in ("gen", "list", "check (right) --explain"):
                continue
            case = sweep.case("env", "stdout", f"{cmd_label}, stdout {'closed' if how == 'closed' else how}")
            step = Step(sweep.nn(*args), stdin=b"q\n" if cmd_label == "practice" else None, ok_codes=(0, 1, 2, 130))
            if how == "closed":
                step.close_stdout = True
            elif how == "head":
                step.pipe = True
            else:
                step.stdout_device = "/dev/full"
            case.steps.append(step)
    for label, stdin in {"stdin closed": None, "stdin binary": bytes(range(256)) * 4}.items():
        case = sweep.case("env", "stdin", f"practice with {label}")
        case.steps.append(
            Step(sweep.nn("practice", "hidden-layer", "--seed", "3"), stdin=stdin, ok_codes=(0, 1, 2, 130))
        )
    variables: dict[str, tuple[dict[str, str | None], list[str]]] = {
        "NNHAND_PROBLEMS is a FIFO": ({"NNHAND_PROBLEMS": "fifo"}, ["list"]),
        "NNHAND_PROBLEMS does not exist": ({"NNHAND_PROBLEMS": "nowhere"}, ["list"]),
        "NNHAND_PROBLEMS is a file": ({"NNHAND_PROBLEMS": "file.txt"}, ["gen", "matmul", "--seed", "1"]),
        "NNHAND_PROBLEMS ::::": ({"NNHAND_PROBLEMS": "::::"}, ["list"]),
        "NNHAND_PROBLEMS is /dev/zero": ({"NNHAND_PROBLEMS": "/dev/zero"}, ["list"]),
        "HOME unset": ({"HOME": None}, ["gen", "matmul", "--seed", "1"]),
        "HOME does not exist": ({"HOME": "/nonexistent-hostile"}, ["gen", "matmul", "--seed", "1"]),
        "TMPDIR does not exist": ({"TMPDIR": "nowhere"}, ["worksheet", "matmul", "--count", "2", "--out", "out"]),
        "NNHAND_SECRET empty": ({"NNHAND_SECRET": ""}, ["worksheet", "matmul", "--count", "2", "--out", "out"]),
        "NNHAND_SECRET 100 kB": (
            {"NNHAND_SECRET": "s" * 100_000},
            ["worksheet", "matmul", "--count", "2", "--out", "out"],
        ),
        "NNHAND_SECRET with ESC": (
            {"NNHAND_SECRET": "\x1b[31m"},
            ["worksheet", "matmul", "--count", "2", "--out", "out"],
        ),
    }
    for label, (env, args) in variables.items():
        case = sweep.case(
            "env",
            "variables",
            label,
            names=("NNHAND", "fifo", "nowhere", "file.txt", "/dev/zero", "out"),
            outputs=("out",),
        )
        os.mkfifo(case.path("fifo"))
        write(case.path("file.txt"), "x")
        case.steps.append(Step(sweep.nn(*args), env=env))
    arguments = {
        "--seed 5000 digits": ["gen", "matmul", "--seed", big_digits(5000)],
        "--seed -1": ["gen", "matmul", "--seed", "-1"],
        "template ../../etc/passwd": ["gen", "../../etc/passwd"],
        "template with ESC": ["gen", "mat\x1b[31mmul"],
        "template [/]": ["gen", "[/]"],
        "template 100k characters": ["gen", "m" * 100_000],
        "--param with 5000 digits": ["gen", "matmul", "--param", "m=" + big_digits(5000)],
        "--param ESC": ["gen", "matmul", "--param", "\x1b[31m=1"],
        "check a missing file": ["check", "missing.yaml"],
        "check ESC file name": ["check", "\x1b[31m.yaml"],
        "key --givens missing": ["key", "matmul", "--givens", "missing.json"],
        "grade a missing manifest": ["grade", "missing.json", "."],
        "--problems-dir a FIFO": ["list", "--problems-dir", "fifo"],
        "--problems-dir /dev/zero": ["list", "--problems-dir", "/dev/zero"],
        "--problems-dir 100 times": ["list", *(["--problems-dir", "."] * 100)],
    }
    for label, args in arguments.items():
        case = sweep.case(
            "env",
            "arguments",
            label,
            names=(
                "matmul",
                "--seed",
                "--param",
                "missing",
                "passwd",
                "fifo",
                "/dev/zero",
                "TEMPLATE",
                "template",
                ".yaml",
                "[/]",
                "m" * 20,
            ),
        )
        os.mkfifo(case.path("fifo"))
        case.steps.append(Step(sweep.nn(*args)))

    # Read-only and full output folders (tmpfs mounts; root only).
    if b is None:
        return
    outputs = {
        "gen --answers": lambda d: ["gen", "hidden-layer", "--seed", "3", "--answers", f"{d}/a.yaml"],
        "worksheet --out": lambda d: ["worksheet", "hidden-layer", "backprop", "--count", "30", "--out", f"{d}/W"],
        "grade --csv": lambda d: [
            "grade",
            str(b.folder / "manifest.json"),
            str(b.folder / "students"),
            "--csv",
            f"{d}/g.csv",
        ],
        "grade --feedback": lambda d: [
            "grade",
            str(b.folder / "manifest.json"),
            str(b.folder / "students"),
            "--feedback",
            f"{d}/fb",
        ],
        "grade --junit": lambda d: [
            "grade",
            str(b.folder / "manifest.json"),
            str(b.folder / "students"),
            "--junit",
            f"{d}/j.xml",
        ],
        "export qti --out": lambda d: ["export", "backprop", "--count", "40", "--format", "qti", "--out", f"{d}/q"],
    }
    for fault in ("read-only", "full"):
        for label, make in outputs.items():
            case = sweep.case("env", f"{fault} disk", f"{label} on a {fault} folder", names=("mnt",))
            mount = case.path("mnt")
            if fault == "read-only":
                mounted = sweep.mount_tmpfs(mount, "64k", read_only=True, files={"keep.txt": b"keep"})
            else:
                mounted = sweep.mount_tmpfs(mount, "64k")
                if mounted:
                    _fill(mount / "filler")
            if not mounted:
                sweep.cases.remove(case)
                if fault not in " ".join(sweep.skipped):
                    sweep.skipped.append(f"env: {fault} folder (mount -t tmpfs is not allowed here)")
                continue
            case.steps.append(Step(sweep.nn(*make("mnt")), timeout=30))
            case.expect_rc = (2,)
            case.checks.append(
                lambda c: [
                    Finding("LOSS", f"left in the full folder: {p.name}")
                    for p in c.path("mnt").iterdir()
                    if p.name not in ("filler", "keep.txt")
                ]
            )


def _fill(path: Path) -> None:
    """Fill a filesystem to the last byte."""
    with contextlib.suppress(OSError), open(path, "wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()


# ----------------------------------------------------------------------------- the instrument's own test


def self_test(sweep: Sweep) -> list[tuple[Case, str]]:
    """Synthetic commands with known outcomes: the classifier must name each one."""
    py = sys.executable
    programs: dict[str, tuple[str, str, dict[str, Any]]] = {
        "OK": ("print('fine')", "OK", {}),
        "a traceback": ("raise ValueError('x')", "TRACEBACK", {}),
        "exit 3": ("import sys; print('nnhand: error: internal error: X'); sys.exit(3)", "TRACEBACK", {}),
        "a hang": ("import time; time.sleep(60)", "HANG", {"timeout": 1.0}),
        "MemoryError": ("x = bytearray(3 * 2**30)", "MEMORY", {}),
        "400 MB resident": ("x = bytearray(400 * 2**20); x[::4096] = b'1' * len(x[::4096])", "MEMORY", {}),
        "SIGSEGV": ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", "CRASH", {}),
        "exit 7": ("import sys; sys.exit(7)", "CRASH", {}),
        "writes outside its output": ("open('../escaped.txt', 'w').write('x')", "LOSS", {}),
        "leaves a temp file": ("open('.partial.tmp', 'w').write('x')", "LOSS", {}),
        "deletes an input": ("import os; os.remove('input.txt')", "LOSS", {}),
        "prints ESC": ("print('\\x1b[31mred')", "UNSAFE-TERM", {}),
        "a vague exit 2": ("import sys; print('nnhand: error: bad', file=sys.stderr); sys.exit(2)", "VAGUE", {}),
        "a named exit 2": ("import sys; print('input.txt: bad', file=sys.stderr); sys.exit(2)", "OK", {}),
        "credit": ("pass", "CREDIT", {"credit": True}),
        "accepted": ("pass", "ACCEPTED", {"refuse": True}),
        "a formula in the CSV": ("open('grades.csv', 'w').write('id\\n=1+1\\n')", "UNSAFE-CSV", {}),
        "broken XML": ("open('junit.xml', 'w').write('<a><b></a>')", "UNSAFE-XML", {}),
        "a wrong exit code": ("import sys; sys.exit(1)", "WRONG", {"expect_rc": (0,)}),
    }
    expected = []
    for name, (code, outcome, kw) in programs.items():
        timeout = kw.pop("timeout", TIMEOUT)
        case = sweep.case("self-test", "self-test", name, names=("input.txt",), outputs=GRADE_OUT, **kw)
        write(case.path("input.txt"), "x")
        case.steps.append(Step([py, "-c", code], timeout=timeout))
        case.checks += [check_csv("grades.csv"), check_xml_files("junit.xml")]
        expected.append((case, outcome))
    return expected


# ----------------------------------------------------------------------------- report and main

BUILDERS: dict[str, Callable[[Sweep], None]] = {}


def command_line(case: Case, step: Step) -> str:
    env = " ".join(
        f"{k}={'***' if k == 'NNHAND_SECRET' else shlex.quote(v)}" if v is not None else f"-u {k}"
        for k, v in step.env.items()
    )
    argv = ["nnhand", *step.argv[1:]] if step.argv and step.argv[0] == case_nnhand[0] else step.argv
    text = " ".join(shlex.quote(_visible(a)[:120]) for a in argv)
    if step.pipe:
        text += " | head -1"
    if step.close_stdout:
        text += " >&-"
    if step.stdout_device:
        text += f" > {step.stdout_device}"
    if step.stdin is not None:
        text += f" < (stdin: {_visible(step.stdin[:60].decode('utf-8', 'replace'))!r})"
    return (f"env {env} " if env else "") + text


case_nnhand = [""]


def report(cases: list[Case], surfaces: list[str], elapsed: float, keep: bool, out: Any = sys.stdout) -> None:
    table: dict[str, Counter[str]] = {s: Counter() for s in surfaces}
    for case in cases:
        table.setdefault(case.surface, Counter())[case.outcome] += 1
    columns = ["OK", *[o for o in OUTCOMES if any(t[o] for t in table.values())]]
    width = max(len(s) for s in [*table, "surface", "total"]) + 2
    print(f"{'surface':<{width}}" + "".join(f"{c:>12}" for c in columns) + f"{'cases':>8}", file=out)
    total: Counter[str] = Counter()
    for surface, counts in table.items():
        total.update(counts)
        print(
            f"{surface:<{width}}" + "".join(f"{counts[c] or '.':>12}" for c in columns) + f"{sum(counts.values()):>8}",
            file=out,
        )
    print(
        f"{'total':<{width}}" + "".join(f"{total[c] or '.':>12}" for c in columns) + f"{sum(total.values()):>8}",
        file=out,
    )
    bad = [c for c in cases if c.outcome != "OK"]
    print(f"\n{len(cases)} cases in {elapsed:.0f} s; {len(bad)} not OK.", file=out)
    for case in bad:
        print(f"\n{case.id} {case.outcome} [{case.surface} / {case.family}] {case.name}", file=out)
        for finding in _unique(case.findings):
            print(f"  {finding.outcome}: {finding.detail}", file=out)
        if keep:
            print(f"  in: {case.dir}", file=out)
        for index, res in enumerate(case.results):
            step = case.steps[min(index, len(case.steps) - 1)]
            print(
                f"  $ {command_line(case, step)}    # exit {res.rc}{' (killed)' if res.timed_out else ''}, "
                f"{res.elapsed:.1f} s, {res.maxrss_kb // 1024} MB",
                file=out,
            )
            for line in tail(res.stdout, 3) + tail(res.stderr, 4):
                print(f"    | {line}", file=out)


def _unique(findings: list[Finding]) -> list[Finding]:
    seen = set()
    out = []
    for f in findings:
        if (f.outcome, f.detail) not in seen:
            seen.add((f.outcome, f.detail))
            out.append(f)
    return out


def as_json(cases: list[Case], elapsed: float, skipped: list[str]) -> dict[str, Any]:
    return {
        "elapsed_s": round(elapsed, 1),
        "cases": len(cases),
        "skipped": skipped,
        "counts": {
            s: dict(Counter(c.outcome for c in cases if c.surface == s))
            for s in dict.fromkeys(c.surface for c in cases)
        },
        "results": [
            {
                "id": c.id,
                "surface": c.surface,
                "family": c.family,
                "name": _visible(c.name),
                "outcome": c.outcome,
                "findings": [{"outcome": f.outcome, "detail": f.detail} for f in _unique(c.findings)],
                "steps": [
                    {
                        "command": command_line(c, c.steps[min(i, len(c.steps) - 1)]),
                        "exit": r.rc,
                        "timed_out": r.timed_out,
                        "seconds": round(r.elapsed, 2),
                        "peak_rss_mb": r.maxrss_kb // 1024,
                        "stdout_tail": tail(r.stdout, 8),
                        "stderr_tail": tail(r.stderr, 8),
                    }
                    for i, r in enumerate(c.results)
                ],
            }
            for c in cases
        ],
    }


def find_nnhand(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "nnhand"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("nnhand")


def quick_subset(cases: list[Case]) -> list[Case]:
    """Every tenth case of each family, and always the first one."""
    kept = []
    seen: Counter[tuple[str, str]] = Counter()
    for case in cases:
        key = (case.surface, case.family)
        if seen[key] % 10 == 0:
            kept.append(case)
        seen[key] += 1
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SURFACES,
        metavar="SURFACE",
        help=f"run one surface (repeatable): {', '.join(SURFACES)}",
    )
    parser.add_argument("--quick", action="store_true", help="about a tenth of the cases")
    parser.add_argument("--json", metavar="FILE", help="write every result as JSON")
    parser.add_argument("--list", action="store_true", help="list the families and case counts, run nothing")
    parser.add_argument("--nnhand", metavar="CMD", help="the nnhand command (default: beside this Python, else PATH)")
    parser.add_argument("--workers", type=int, default=WORKERS, help="processes at a time (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (to reproduce a case)")
    parser.add_argument(
        "--self-test", action="store_true", help="check the classifier on synthetic commands, then stop"
    )
    args = parser.parse_args(argv)
    nnhand = find_nnhand(args.nnhand)
    if nnhand is None:
        print("hostile.py: no nnhand command found: pip install -e . (or pass --nnhand)", file=sys.stderr)
        return 2
    case_nnhand[0] = nnhand
    surfaces = list(dict.fromkeys(args.only or SURFACES))
    problems = Path(__file__).resolve().parent.parent / "problems"
    root = Path(tempfile.mkdtemp(prefix="nnhand-hostile-"))
    sweep = Sweep(root, nnhand, max(1, args.workers), problems)
    start = time.monotonic()
    try:
        if args.self_test:
            expected = self_test(sweep)
            sweep.runner.run([c for c, _ in expected], judge_case)
            wrong = 0
            for case, outcome in expected:
                mark = "ok" if case.outcome == outcome else "MISMATCH"
                wrong += case.outcome != outcome
                print(f"{mark:<9} {case.name:<28} expected {outcome:<12} got {case.outcome}")
            return 1 if wrong else 0
        for surface in surfaces:
            before, built = len(sweep.cases), time.monotonic()
            try:
                BUILDERS[surface](sweep)
            except Exception as exc:  # the instrument's own bug: say so, keep the other surfaces
                case = sweep.case(surface, "setup", "building the cases")
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                where = f"{Path(frame.filename).name}:{frame.lineno}"
                case.findings.append(Finding("SETUP", f"building {surface} stopped at {where}: {exc!r}"))
            took = time.monotonic() - built
            print(f"hostile.py: {surface}: {len(sweep.cases) - before} cases (set up in {took:.0f} s)", file=sys.stderr)
        cases = quick_subset(sweep.cases) if args.quick else sweep.cases
        if args.list:
            for (surface, family), n in Counter((c.surface, c.family) for c in cases).items():
                print(f"{surface:<12} {family:<22} {n:>5}")
            print(f"{len(cases)} cases")
            return 0
        progress = {"done": 0}

        def done(case: Case) -> None:
            try:
                judge_case(case)
            except Exception as exc:
                case.findings.append(Finding("SETUP", f"judging failed: {exc!r}"))
            progress["done"] += 1
            if progress["done"] % 100 == 0:
                print(
                    f"hostile.py: {progress['done']}/{len(cases)} cases, {time.monotonic() - start:.0f} s",
                    file=sys.stderr,
                )

        sweep.runner.run(cases, done)
        sweep.unmount_all()
        cases.extend(global_findings(sweep))
        elapsed = time.monotonic() - start
        report(cases, surfaces, elapsed, args.keep)
        for note in sweep.skipped:
            print(f"skipped: {note}")
        if args.json:
            Path(args.json).write_text(json.dumps(as_json(cases, elapsed, sweep.skipped), indent=1, ensure_ascii=False))
        return 1 if any(c.outcome != "OK" for c in cases) else 0
    finally:
        sweep.unmount_all()
        if args.keep:
            print(f"hostile.py: kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def global_findings(sweep: Sweep) -> list[Case]:
    """Files left where no case may write: the shared TMPDIR and HOME, the folders above the cases."""
    found = []
    leftovers = [p for p in (sweep.root / "tmp").iterdir()]
    home = [p for p in (sweep.root / "home").rglob("*") if p.is_file()]
    stray = [p for p in (sweep.root / "cases").iterdir() if p.name not in (*SURFACES, "self-test")]
    for surface_dir in (sweep.root / "cases").iterdir():
        if surface_dir.is_dir():
            stray += [p for p in surface_dir.iterdir() if not re.fullmatch(r"[A-Z]{3}\d{4}", p.name)]
    stray += [p for p in sweep.root.iterdir() if p.name not in ("cases", "setup", "io", "home", "tmp")]
    for what, paths in (("left in TMPDIR", leftovers), ("written to HOME", home), ("written above the cases", stray)):
        if paths:
            case = Case("GLOBAL", "global", "tree", what, sweep.root)
            case.findings.append(
                Finding("LOSS", f"{what}: {', '.join(str(p.relative_to(sweep.root)) for p in paths[:5])}")
            )
            found.append(case)
    return found


BUILDERS["templates"] = build_templates
BUILDERS["answers"] = build_answers
BUILDERS["givens"] = build_givens
BUILDERS["manifests"] = build_manifests
BUILDERS["submissions"] = build_submissions
BUILDERS["rosters"] = build_rosters
BUILDERS["exports"] = build_exports
BUILDERS["env"] = build_env

if __name__ == "__main__":
    sys.exit(main())
