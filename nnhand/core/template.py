"""Templates: YAML files that describe an exercise as data, validated and compiled once.

See the README ("Writing a template") for the format. Every error names the file and
the key at fault and says how to fix it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from nnhand.choices import BLANK_POLICIES, SCORING_MODES, TOPICS
from nnhand.core.distributions import Distribution, fixed_distribution, parse_distribution, phrases_distribution
from nnhand.core.expr import Expr, compile_expr, evaluate_scalar
from nnhand.core.realism import ROLES, RULES
from nnhand.errors import EvaluationError, ExpressionError, TemplateError, ValueRangeError, kind_of
from nnhand.values import Shape, batch_env, declared_shape, grid_shape

ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_DIM = 16  # rows or columns of any quantity
MAX_CELLS = 256  # cells of any quantity: beyond this no one computes it by hand
# Counts that bound the work of one draw (the largest shipped template has 10 givens, 17
# steps and 8 constraints): with MAX_CANDIDATES draws at most, sampling always ends.
MAX_PARAMS = 16
MAX_GIVENS = 32
MAX_STEPS = 64
MAX_CONSTRAINTS = 64
DRAWN_STAND_INS = 500  # draws the dry run tries when typical values and zeros trip over values
DEFAULT_BOUND = 49  # CONVENTIONS.md: the largest forward answer in published exercises

TOP_KEYS = {
    "id", "version", "title", "summary", "topic", "tags", "credits", "params", "givens", "steps",
    "constraints", "blanks", "bound", "notes", "realism", "scoring", "vocabulary", "code",
}  # fmt: skip
PARAM_KEYS = {"default", "min", "max", "doc", "show", "choices"}
GIVEN_KEYS = {"shape", "dist", "fixed", "label", "rows", "cols", "distinct_rows", "words", "when", "role"}
WORD_PATTERN = re.compile(r"^[A-Za-z][A-Za-z'-]*$")
STEP_KEYS = {
    "name", "expr", "label", "round", "asked", "layer", "bound", "rows", "cols", "hint", "shape", "points", "when",
    "words",
}  # fmt: skip
CONSTRAINT_KEYS = {"expr", "why", "when"}
VOCABULARY_SIZE = "vocabulary"  # in a shape: the number of words of the template's vocabulary
PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")
REALISM_KEYS = {*RULES, "by_design"}


@dataclass(frozen=True)
class Param:
    name: str
    default: int
    low: int
    high: int
    doc: str = ""
    show: bool = False  # printed among the givens (a capacity, not a size the tables already show)
    choices: tuple[str, ...] = ()  # a choice param: value i means choices[i] (an activation, say)

    def shown(self, value: int) -> str:
        """A value as a person reads it: the choice's word, or the number."""
        return self.choices[value] if self.choices and 0 <= value < len(self.choices) else str(value)

    def range_text(self) -> str:
        if self.choices:
            return " | ".join(self.choices)
        return f"{self.low}..{self.high}"

    def checked(self, value: Any, where: str) -> int:
        """A value for this param (a whole number in range, or one of its choices by word)."""
        if self.choices and isinstance(value, str) and value.strip() in self.choices:
            return self.choices.index(value.strip())
        if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) <= 7:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            fix = f"Choose one of {', '.join(self.choices)}" if self.choices else f"Choose {self.low} to {self.high}"
            raise TemplateError(f"{self.name}={str(value)[:30]} is not a whole number", where=where, fix=fix)
        if not self.low <= value <= self.high:
            fix = f"Choose one of {', '.join(self.choices)}" if self.choices else f"Choose {self.low} to {self.high}"
            raise TemplateError(f"{self.name}={value} is out of range", where=where, fix=fix)
        return value


@dataclass(frozen=True)
class Given:
    name: str
    shape: tuple[Any, ...]  # each entry a whole number or a size expression over params
    dist: Distribution
    label: str = ""
    rows: tuple[str, ...] | str | None = None  # row labels, or a prefix such as "x"
    cols: tuple[str, ...] | str | None = None
    distinct_rows: bool = False
    words: bool = False  # cells are words of the vocabulary (held as 1-based indices)
    when: Expr | None = None  # over params: the given exists only where it holds (an optional bias)
    role: str = ""  # weights, bias or inputs (realism.ROLES): what the realism rules and report read


@dataclass(frozen=True)
class Step:
    name: str
    expr: Expr
    label: str
    decimals: int | None = None  # declared rounding; None: exact (whole numbers, or exact decimals)
    asked: bool = True
    layer: str = ""
    bound: int | None = None  # forward answers must stay within ±bound
    relu_input: Expr | None = None  # for `relu(...)` steps: the pre-activation, for realism checks
    rows: tuple[str, ...] | str | None = None
    cols: tuple[str, ...] | str | None = None
    hint: str = ""
    shape: tuple[Any, ...] | None = None
    points: int = 1  # the step's weight when scoring is "weighted"
    when: Expr | None = None  # over params: the step exists only where it holds (a layer of a deeper net)
    words: bool = False  # one cell holding a word of the vocabulary (a 1-based index): nn.ReLU's name


@dataclass(frozen=True)
class Constraint:
    expr: Expr
    why: str
    when: Expr | None = None


class BoundedCache(dict[Any, Any]):
    """A dict that forgets its oldest entry once it holds `maxsize`: a cache that cannot grow
    without bound however many params or files a long-running process sees."""

    def __init__(self, maxsize: int = 64):
        super().__init__()
        self.maxsize = maxsize

    def __setitem__(self, key: Any, value: Any) -> None:
        if key not in self and len(self) >= self.maxsize:
            del self[next(iter(self))]
        super().__setitem__(key, value)


@dataclass(frozen=True, eq=False)
class Template:
    """A compiled template; frozen (identity is equality: a template is one loaded file)."""

    id: str
    version: int
    title: str
    summary: str
    tags: tuple[str, ...]
    credits: str
    path: Path
    params: dict[str, Param]
    givens: dict[str, Given]
    steps: list[Step]
    constraints: list[Constraint]
    blanks_default: str
    blanks_allowed: tuple[str, ...]
    notes: tuple[str, ...]
    realism_off: frozenset[str] = frozenset()  # realism rules (realism.RULES) switched off
    by_design: tuple[tuple[str, str], ...] = ()  # report figures that differ on purpose: (figure, why)
    scoring: str = "cell"
    topic: str = "other"  # choices.TOPICS: the heading `nnhand list` shows it under
    vocabulary: tuple[str, ...] = ()  # the words that word givens and `cols: vocabulary` use
    source: str = ""  # the YAML text it was built from (manifests keep it, so grades never drift)
    # Set on the template for_params derives: the params its `when` conditions were decided for.
    decided: tuple[tuple[str, int], ...] | None = None
    # The summary's alternatives and the notes, each with the `when` it needs (None: always);
    # `summary` and `notes` hold those for the defaults, for_params those for its params.
    texts_when: tuple[tuple[tuple[str, Expr | None], ...], ...] = ((), ())
    # `code:` lines printed as a code block, {step} marking the cell of an asked step (a blank
    # on a worksheet): those for the defaults (for_params: its params), and each with its `when`.
    code: tuple[str, ...] = ()
    code_when: tuple[tuple[str, Expr | None], ...] = ()
    # Per-params work of this and other modules (shapes, sampling plans, slips), bounded.
    cache: BoundedCache = field(default_factory=BoundedCache, repr=False)

    @functools.cached_property
    def rounds(self) -> bool:
        """Whether any step declares a rounding (then the exact chain differs from the key)."""
        return any(s.decimals is not None for s in self.steps)

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def resolve_params(
        self, overrides: Mapping[str, int | str] | None = None, where: str = "--param"
    ) -> dict[str, int]:
        """Defaults with overrides applied, each checked against its allowed range (a choice
        param takes its word or its number)."""
        values = {name: p.default for name, p in self.params.items()}
        if overrides is not None and not isinstance(overrides, Mapping):
            raise TemplateError("params are a mapping of names to whole numbers", where=where)
        for name, value in (overrides or {}).items():
            if name not in self.params:
                known = ", ".join(self.params) or "none"
                raise TemplateError(f"{self.id} has no param '{name}'", where=where, fix=f"Its params: {known}")
            values[name] = self.params[name].checked(value, where)
        return values

    @functools.cached_property
    def conditional(self) -> bool:
        """Whether some given, step or constraint exists only for some params (`when`)."""
        items: list[Any] = [*self.givens.values(), *self.steps, *self.constraints]
        texts = [when for options in (*self.texts_when, self.code_when) for _, when in options]
        return self.decided is None and (any(item.when is not None for item in items) or any(texts))

    @functools.cached_property
    def deciding_params(self) -> frozenset[str]:
        """The params that `when` conditions read (which givens and steps exist)."""
        items: list[Any] = [*self.givens.values(), *self.steps, *self.constraints]
        whens = [item.when for item in items if item.when is not None]
        whens += [when for options in (*self.texts_when, self.code_when) for _, when in options if when is not None]
        return frozenset(n for when in whens for n in when.names if n in self.params)

    def for_params(self, params: Mapping[str, int]) -> Template:
        """The template with its `when` conditions decided for these params: the givens, steps
        and constraints that exist for them (itself when nothing is conditional)."""
        if not self.conditional:
            return self
        key = ("for params", tuple(sorted(params.items())))
        if key not in self.cache:
            self.cache[key] = _decide(self, params)
        decided: Template = self.cache[key]
        return decided

    @functools.cached_property
    def placeholders(self) -> frozenset[str]:
        """The names written as {name} in the title, summary, notes and labels (filled per sheet)."""
        texts = [
            self.title,
            self.summary,
            *self.notes,
            *(g.label for g in self.givens.values()),
            *(s.label for s in self.steps),
        ]
        return frozenset(m for text in texts for m in PLACEHOLDER.findall(text))

    def with_values(self, values: Mapping[str, str]) -> Template:
        """The template with every {name} placeholder in its texts replaced by `values[name]`:
        the sheet says the values actually used (an η or h0 the instructor supplied)."""
        known = {k: v for k, v in values.items() if k in self.placeholders}
        if not known:
            return self
        key = ("texts", tuple(sorted(known.items())))
        if key not in self.cache:

            def fill(text: str) -> str:
                return PLACEHOLDER.sub(lambda m: known.get(m[1], m[0]), text)

            self.cache[key] = replace(
                self,
                title=fill(self.title),
                summary=fill(self.summary),
                notes=tuple(fill(n) for n in self.notes),
                givens={n: replace(g, label=fill(g.label)) for n, g in self.givens.items()},
                steps=[replace(s, label=fill(s.label)) for s in self.steps],
            )
        filled: Template = self.cache[key]
        return filled

    def word(self, step: Step, value: Any) -> str | None:
        """The word a cell of a word step holds (None for a number step, or an index that is
        not a word of the vocabulary)."""
        if not step.words:
            return None
        try:
            index = int(value)
        except (TypeError, ValueError, OverflowError):
            return None
        return self.vocabulary[index - 1] if index == value and 1 <= index <= len(self.vocabulary) else None

    @functools.cached_property
    def code_steps(self) -> frozenset[str]:
        """The steps the code lines draw (their cells sit in the code, not in a table)."""
        return frozenset(m for line in self.code for m in PLACEHOLDER.findall(line))

    def sizes(self, params: Mapping[str, int]) -> dict[str, int]:
        """What a shape may name: the params, and `vocabulary` (the number of words)."""
        return {**params, VOCABULARY_SIZE: len(self.vocabulary)} if self.vocabulary else dict(params)

    def given_shapes(self, params: Mapping[str, int]) -> dict[str, Shape]:
        """The declared shapes of the givens alone (no step is evaluated)."""
        r = _Reader(self.path)
        decided, sizes = self.for_params(params), self.sizes(params)
        return {n: _shape_of(r, f"givens.{n}.shape", g.shape, sizes) for n, g in decided.givens.items()}

    def stand_in_shapes(self, params: Mapping[str, int]) -> dict[str, Shape] | None:
        """The declared shape of every given and step for these params, by a dry run on
        stand-in values; None when every stand-in trips over a value-dependent op (then
        engine.shapes reads them off a sampled instance). TemplateError for an error in
        names or shapes."""
        key = ("stand-in shapes", tuple(sorted(params.items())))
        if key not in self.cache:
            self.cache[key] = _infer_shapes(self.for_params(params), dict(params))
        found: dict[str, Shape] | None = self.cache[key]
        return found


# ----------------------------------------------------------------------------- loading

_CACHE = BoundedCache(256)  # (path, mtime, size) -> Template


def load_template(path: Path) -> Template:
    """Read, validate and compile a template file (cached per file, size and modification time).

    Read like every file a stranger may write (safeio): a regular file only, never a device
    or a FIFO, at most safeio.MAX_INPUT_BYTES, strict YAML."""
    from nnhand.safety.safeio import MAX_INPUT_BYTES, decode_text, read_capped

    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise TemplateError(f"cannot read the template ({exc.strerror})", where=str(path)) from None
    key = (str(path.resolve()), stat.st_mtime, stat.st_size)
    if key in _CACHE:
        cached: Template = _CACHE[key]
        return cached
    raw = read_capped(path, MAX_INPUT_BYTES, TemplateError, "a template", fix="Give the path of a <id>.yaml template")
    template = template_from_text(decode_text(raw, str(path), TemplateError), path)
    _CACHE[key] = template
    return template


def template_from_text(text: str, path: Path) -> Template:
    """Validate and compile template YAML; `path` names it in errors (its stem is the id)."""
    from nnhand.safety.safeio import MAX_INPUT_BYTES

    if len(text) > MAX_INPUT_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_INPUT_BYTES:
        raise TemplateError(f"is over the {MAX_INPUT_BYTES // 1_000_000} MB limit (a template)", where=str(path))
    template = _build(_parse_yaml(text, path), Path(path), text)
    # A dry run on stand-in values catches errors in names and shapes at load time (when the
    # stand-ins trip over values, the first sampled instance checks the rest: engine.shapes).
    template.stand_in_shapes(template.resolve_params())
    return template


def _parse_yaml(text: str, path: Path) -> Any:
    """Strict YAML (safeio): no anchors or aliases, no duplicate keys, bounded depth and digits."""
    from nnhand.safety.safeio import load_yaml

    return load_yaml(text, str(path), TemplateError)


class _Reader:
    """Validation helpers that know which file and key they are reading."""

    def __init__(self, path: Path):
        self.path = path

    def where(self, key: str) -> str:
        return f"{self.path}: {key}" if key else str(self.path)

    def fail(self, key: str, message: str, fix: str | None = None) -> TemplateError:
        return TemplateError(message, where=self.where(key), fix=fix)

    def mapping(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping, got {kind_of(value)}")
        return value

    def keys(self, value: Mapping[str, Any], allowed: set[str], key: str) -> None:
        for k in value:
            if k not in allowed:
                import difflib

                close = difflib.get_close_matches(str(k), allowed, n=1)
                fix = f"Did you mean '{close[0]}'?" if close else f"Allowed: {', '.join(sorted(allowed))}"
                raise self.fail(f"{key}.{k}" if key else str(k), "unknown key", fix=fix)

    def integer(self, value: Any, key: str, low: int | None = None, high: int | None = None) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(key, f"expected a whole number, got {kind_of(value)}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.fail(key, f"{value} is out of range", fix=f"Use {low} to {high}")
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected text, got {kind_of(value)}")
        return value

    def optional_text(self, spec: Mapping[str, Any], name: str, key: str, default: str = "") -> str:
        """An optional text entry of `spec`; a number (a label such as 1) reads as its digits."""
        value = spec.get(name)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(value, f"{key}.{name}")

    def flag(self, spec: Mapping[str, Any], name: str, key: str, default: bool) -> bool:
        value = spec.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(f"{key}.{name}" if key else name, f"expected true or false, got {kind_of(value)}")
        return value

    def words(self, value: Any, key: str, what: str) -> tuple[str, ...]:
        """An optional list of text entries (tags, notes)."""
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of {what}, got {kind_of(value)}")
        return tuple(value)

    def count(self, value: Any, key: str, limit: int, what: str) -> None:
        if len(value) > limit:
            raise self.fail(key, f"{len(value)} {what}: at most {limit}", fix="A hand exercise needs far fewer")

    def labels(self, value: Any, key: str) -> tuple[str, ...] | str | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
            return tuple(str(v) for v in value)
        raise self.fail(key, "labels are a prefix ('x' gives x1, x2, ...) or a list of names")


def _build(data: Any, path: Path, source: str = "") -> Template:
    r = _Reader(path)
    if data is None:
        raise r.fail("", "the file is empty", fix="A template needs id, version, title, givens and steps")
    top = r.mapping(data, "")
    r.keys(top, TOP_KEYS, "")
    for required in ("id", "version", "title", "givens", "steps"):
        if required not in top:
            raise r.fail(required, "missing", fix="A template needs id, version, title, givens and steps")
    tid = r.text(top["id"], "id")
    if not ID_PATTERN.match(tid):
        raise r.fail("id", f"'{tid}' is not kebab-case", fix="Use lowercase words joined by '-'")
    if tid != path.stem:
        raise r.fail("id", f"'{tid}' differs from the file name '{path.stem}'", fix=f"Name the file {tid}.yaml")
    version = r.integer(top["version"], "version", 1, 10**6)
    tags = r.words(top.get("tags"), "tags", "words")
    topic = r.text(top.get("topic", "other"), "topic")
    if topic not in TOPICS:
        raise r.fail("topic", f"unknown topic '{topic[:40]}'", fix=f"Use one of {', '.join(TOPICS)}")

    params = _params(r, {} if top.get("params") is None else top["params"])
    vocabulary = _vocabulary(r, top.get("vocabulary"))
    param_values = {n: p.default for n, p in params.items()}
    if vocabulary:
        param_values[VOCABULARY_SIZE] = len(vocabulary)
    givens = _givens(r, top["givens"], params, vocabulary)
    for name, given in givens.items():  # shapes must evaluate for the defaults
        if given.when is None or _holds(given.when, param_values):
            _shape_of(r, f"givens.{name}.shape", given.shape, param_values)

    bound = top.get("bound", DEFAULT_BOUND)
    if bound is not None:
        bound = r.integer(bound, "bound", 1, 10**6)
    known = set(params) | set(givens)
    # Bounds on |value| of every name, from which expressions prove their int64 arithmetic safe.
    bounds: dict[str, int | None] = {name: MAX_DIM for name in params}
    bounds.update({name: g.dist.magnitude() for name, g in givens.items()})
    steps = _steps(r, top["steps"], known, bound, bounds, params)
    known |= {s.name for s in steps}
    raw_constraints = [] if top.get("constraints") is None else top["constraints"]
    constraints = _constraints(r, raw_constraints, known, bounds, params)
    _require_unique_maxima(r, steps, constraints)

    default, allowed = _blanks(r, top.get("blanks"))
    code_when = _code(r, top.get("code"), steps, params, vocabulary)
    summaries = _conditional_texts(r, top.get("summary", ""), "summary", params, one=True)
    notes_when = _conditional_texts(r, top.get("notes"), "notes", params)
    realism_off, by_design = _realism(r, top.get("realism"))
    scoring = r.text(top.get("scoring", "cell"), "scoring")
    if scoring not in SCORING_MODES:
        raise r.fail("scoring", f"unknown scoring '{scoring[:40]}'", fix=f"Use {', '.join(SCORING_MODES)}")
    if not any(s.asked for s in steps):
        raise r.fail("steps", "no step is asked", fix="Leave 'asked' at its default (true) for at least one step")

    return Template(
        id=tid,
        version=version,
        title=r.text(top["title"], "title"),
        summary=_chosen(summaries, param_values)[0] if summaries else "",
        tags=tags,
        topic=topic,
        credits=r.text(top.get("credits", ""), "credits"),
        path=path,
        params=params,
        givens=givens,
        steps=steps,
        constraints=constraints,
        blanks_default=default,
        blanks_allowed=allowed,
        notes=_chosen(notes_when, param_values),
        texts_when=(summaries, notes_when),
        realism_off=realism_off,
        by_design=by_design,
        scoring=scoring,
        vocabulary=vocabulary,
        source=source,
        code=_chosen(code_when, param_values),
        code_when=code_when,
    )


def _code(
    r: _Reader, raw: Any, steps: list[Step], params: Mapping[str, Param], vocabulary: tuple[str, ...]
) -> tuple[tuple[str, Expr | None], ...]:
    """`code:` lines (each may be {text: ..., when: ...}) in which {name} is the one cell of
    an asked step: the code that builds the network, with its numbers and names as blanks."""
    for step in steps:
        if step.words and not vocabulary:
            raise r.fail(f"steps.{step.name}.words", "a word step needs a top-level vocabulary list")
    lines = _conditional_texts(r, raw, "code", params)
    r.count(lines, "code", MAX_STEPS, "lines")
    asked = {s.name for s in steps if s.asked}
    for i, (line, _) in enumerate(lines):
        for name in PLACEHOLDER.findall(line):
            if name not in asked:
                raise r.fail(
                    f"code[{i + 1}]", f"{{{name}}} is not an asked step", fix="Name an asked step of one cell: {in1}"
                )
    return lines


def _blanks(r: _Reader, raw: Any) -> tuple[str, tuple[str, ...]]:
    """`blanks: {default: P, allowed: [P, ...]}`: the default pattern and the allowed ones."""
    blanks = r.mapping({} if raw is None else raw, "blanks")
    r.keys(blanks, {"default", "allowed"}, "blanks")
    use = f"Use {', '.join(BLANK_POLICIES)}"
    listed = blanks.get("allowed")
    if listed is None:
        allowed = BLANK_POLICIES
    elif not isinstance(listed, list) or not listed or not all(isinstance(p, str) for p in listed):
        raise r.fail("blanks.allowed", "expected a list of blank patterns such as [all, one]", fix=use)
    else:
        allowed = tuple(dict.fromkeys(listed))
    for policy in allowed:
        if policy not in BLANK_POLICIES:
            raise r.fail("blanks.allowed", f"unknown blank pattern '{policy[:40]}'", fix=use)
    default = r.text(blanks.get("default", "all"), "blanks.default")
    if default not in allowed:
        raise r.fail("blanks.default", f"'{default[:40]}' is not among the allowed patterns {list(allowed)}")
    return default, allowed


def _name(r: _Reader, name: Any, key: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise r.fail(key, f"'{name}' is not a valid name", fix="Use letters, digits and '_', starting with a letter")
    from nnhand.ops.registry import OPS

    if name in OPS:
        raise r.fail(key, f"'{name}' is the name of an op", fix="Choose another name")
    return name


def _params(r: _Reader, raw: Any) -> dict[str, Param]:
    params: dict[str, Param] = {}
    r.count(r.mapping(raw, "params"), "params", MAX_PARAMS, "params")
    for name, spec in r.mapping(raw, "params").items():
        key = f"params.{name}"
        _name(r, name, key)
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec = {"default": spec, "min": spec, "max": spec}
        spec = r.mapping(spec, key)
        if "choices" in spec:
            params[name] = _choice_param(r, name, spec, key)
            continue
        r.keys(spec, PARAM_KEYS - {"choices"}, key)
        if "default" not in spec:
            raise r.fail(f"{key}.default", "missing")
        default = r.integer(spec["default"], f"{key}.default", 1, MAX_DIM)
        low = r.integer(spec.get("min", default), f"{key}.min", 0, MAX_DIM)
        high = r.integer(spec.get("max", default), f"{key}.max", low, MAX_DIM)
        if not low <= default <= high:
            raise r.fail(f"{key}.default", f"{default} is outside min..max ({low}..{high})")
        show = r.flag(spec, "show", key, False)
        params[name] = Param(name, default, low, high, r.optional_text(spec, "doc", key), show)
    return params


def _choice_param(r: _Reader, name: str, spec: Mapping[str, Any], key: str) -> Param:
    """`act: {choices: [none, relu, sigmoid], default: relu}`: value i means choices[i]."""
    r.keys(spec, PARAM_KEYS - {"min", "max"}, key)
    choices = r.words(spec["choices"], f"{key}.choices", "words")
    if not 2 <= len(choices) <= 16 or len(set(choices)) != len(choices):
        raise r.fail(f"{key}.choices", "expected 2 to 16 different words")
    for word in choices:
        if not NAME_PATTERN.match(word):
            raise r.fail(f"{key}.choices", f"'{word[:40]}' is not a word (letters, digits and '_')")
    default = spec.get("default", choices[0])
    if default not in choices:
        raise r.fail(f"{key}.default", f"'{str(default)[:40]}' is not one of the choices {list(choices)}")
    doc = r.optional_text(spec, "doc", key)
    return Param(name, choices.index(default), 0, len(choices) - 1, doc, r.flag(spec, "show", key, False), choices)


def _when(r: _Reader, spec: Mapping[str, Any], key: str, params: Mapping[str, Param]) -> Expr | None:
    """`when:` an expression over params (`layers >= 5`), or a mapping of a param to the
    value or values it must have (`{act: sigmoid}`, `{act: [relu, sigmoid]}`, `{bias: 1}`)."""
    raw = spec.get("when")
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        terms = []
        for name, wanted in raw.items():
            if name not in params:
                raise r.fail(f"{key}.when", f"'{str(name)[:40]}' is not a param", fix=f"Params: {', '.join(params)}")
            listed = wanted if isinstance(wanted, list) else [wanted]
            values = [params[name].checked(v, r.where(f"{key}.when")) for v in listed]
            terms.append("(" + " or ".join(f"{name} == {v}" for v in values) + ")")
        source = " and ".join(terms) or "True"
    else:
        source = r.text(raw, f"{key}.when")
    try:
        return compile_expr(source, params.keys(), params=params.keys())
    except ExpressionError as exc:
        raise r.fail(f"{key}.when", exc.message, fix="Write a condition over params, e.g. layers >= 5") from None


def _conditional_texts(
    r: _Reader, raw: Any, key: str, params: Mapping[str, Param], one: bool = False
) -> tuple[tuple[str, Expr | None], ...]:
    """Texts (the summary's alternatives, or the notes), each a sentence or `{text: ..., when:
    ...}`: a note that holds only for some params (`when: {softmax_out: computed}`). With
    `one`, a plain string is the one summary."""
    if raw is None:
        return ()
    if one and isinstance(raw, str):
        return ((raw, None),)
    if not isinstance(raw, list):
        raise r.fail(key, "expected a list of sentences (each may be {text: ..., when: ...})")
    out = []
    for i, item in enumerate(raw):
        at = f"{key}[{i + 1}]"
        if isinstance(item, Mapping):
            r.keys(item, {"text", "when"}, at)
            out.append((r.text(item.get("text"), f"{at}.text"), _when(r, item, at, params)))
        else:
            out.append((r.text(item, at), None))
    if one and not any(when is None for _, when in out):
        raise r.fail(key, "one of the summaries needs no 'when' (the one for every other case)")
    return tuple(out)


def _chosen(texts: tuple[tuple[str, Expr | None], ...], params: Mapping[str, int]) -> tuple[str, ...]:
    """The texts whose `when` holds; for a summary the first of them is the one shown."""
    return tuple(text for text, when in texts if when is None or _holds(when, params))


def _holds(when: Expr, params: Mapping[str, int]) -> bool:
    """Whether a `when` condition holds for these params."""
    try:
        value = when(batch_env(params))
    except (EvaluationError, ValueRangeError) as exc:
        raise TemplateError(f"a 'when' condition cannot be decided: {exc.message}") from None
    return bool(np.all(value))


def _decide(template: Template, params: Mapping[str, int]) -> Template:
    """The givens, steps and constraints whose `when` holds for these params."""
    givens = {n: g for n, g in template.givens.items() if g.when is None or _holds(g.when, params)}
    steps = [s for s in template.steps if s.when is None or _holds(s.when, params)]
    names = [s.name for s in steps]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TemplateError(
            f"for {', '.join(f'{k}={v}' for k, v in sorted(params.items()))} two steps named '{twice[0]}' both apply",
            where=f"{template.path}: steps.{twice[0]}.when",
            fix="Make the 'when' conditions of steps that share a name exclude each other",
        )
    constraints = [c for c in template.constraints if c.when is None or _holds(c.when, params)]
    summaries, notes = template.texts_when
    return replace(
        template,
        code=_chosen(template.code_when, params),
        givens=givens,
        steps=steps,
        constraints=constraints,
        summary=_chosen(summaries, params)[0] if summaries else template.summary,
        notes=_chosen(notes, params),
        decided=tuple(sorted(params.items())),
        cache=BoundedCache(),
    )


def _vocabulary(r: _Reader, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not 2 <= len(raw) <= 32:
        raise r.fail("vocabulary", "expected a list of 2 to 32 words")
    for word in raw:
        if not isinstance(word, str) or not WORD_PATTERN.match(word):
            raise r.fail("vocabulary", f"'{word}' is not a word (letters, ' and - only)")
    if len(set(raw)) != len(raw):
        raise r.fail("vocabulary", "lists a word twice")
    return tuple(raw)


def _givens(r: _Reader, raw: Any, params: Mapping[str, Param], vocabulary: tuple[str, ...] = ()) -> dict[str, Given]:
    givens: dict[str, Given] = {}
    r.count(r.mapping(raw, "givens"), "givens", MAX_GIVENS, "givens")
    for name, spec in r.mapping(raw, "givens").items():
        key = f"givens.{name}"
        _name(r, name, key)
        if name in params:
            raise r.fail(key, f"'{name}' is already a param")
        spec = r.mapping(spec, key)
        r.keys(spec, GIVEN_KEYS, key)
        shape = _shape_spec(r, spec.get("shape", []), f"{key}.shape")
        if "fixed" in spec and "dist" in spec:
            raise r.fail(key, "give either 'dist' or 'fixed', not both")
        words = r.flag(spec, "words", key, False)
        if words:
            dist_spec = spec.get("dist")
            if isinstance(dist_spec, Mapping) and set(dist_spec) == {"set"} and isinstance(dist_spec["set"], Mapping):
                dist = _word_set(r, dist_spec["set"], vocabulary, f"{key}.dist")
            elif not isinstance(dist_spec, Mapping) or set(dist_spec) != {"phrases"}:
                raise r.fail(f"{key}.dist", "a word given draws {phrases: [how are you, ...]} or {set: {word: weight}}")
            else:
                dist = phrases_distribution(dist_spec["phrases"], vocabulary, r.where(f"{key}.dist"))
        elif "fixed" in spec:
            dist = fixed_distribution(spec["fixed"], r.where(f"{key}.fixed"))
        elif "dist" in spec:
            dist = parse_distribution(spec["dist"], r.where(f"{key}.dist"))
        else:
            raise r.fail(key, "needs a 'dist' (e.g. dist: weights) or a 'fixed' value")
        role = r.text(spec.get("role", dist.preset if dist.preset in ROLES else ""), f"{key}.role")
        if role and role not in ROLES:
            raise r.fail(f"{key}.role", f"unknown role '{role[:40]}'", fix=f"Use {', '.join(ROLES)}")
        # Duplicate rows are duplicate neurons: only a weight matrix has rows that are neurons.
        distinct = r.flag(spec, "distinct_rows", key, (role == "weights" or words) and len(shape) == 2)
        givens[name] = Given(
            name=name,
            shape=shape,
            dist=dist,
            label=r.optional_text(spec, "label", key),
            rows=_labels_or_vocabulary(r, spec.get("rows"), f"{key}.rows", vocabulary),
            cols=_labels_or_vocabulary(r, spec.get("cols"), f"{key}.cols", vocabulary),
            distinct_rows=distinct,
            words=words,
            when=_when(r, spec, key, params),
            role=role,
        )
    if not givens:
        raise r.fail("givens", "a template needs at least one given")
    return givens


def _word_set(r: _Reader, table: Mapping[Any, Any], vocabulary: tuple[str, ...], key: str) -> Distribution:
    """`{set: {ReLU: 5, Tanh: 2}}` on a word given: each cell a word drawn by weight (held as its index)."""
    unknown = [str(w)[:40] for w in table if w not in vocabulary]
    if not vocabulary or unknown:
        word = unknown[0] if unknown else ""
        raise r.fail(key, f"'{word}' is not in the vocabulary", fix="List it under vocabulary:")
    return parse_distribution({"set": {vocabulary.index(w) + 1: n for w, n in table.items()}}, r.where(key))


def _realism(r: _Reader, raw: Any) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    """`realism: {rule: false, ..., by_design: {figure: why}}`: rules off, figures excused."""
    realism = r.mapping({} if raw is None else raw, "realism")
    r.keys(realism, REALISM_KEYS, "realism")
    off = frozenset(k for k in realism if k != "by_design" and not r.flag(realism, k, "realism", True))
    excused = r.mapping(realism.get("by_design") or {}, "realism.by_design")
    by_design = tuple((str(k), r.text(v, f"realism.by_design.{k}")) for k, v in excused.items())
    return off, by_design


def _labels_or_vocabulary(r: _Reader, raw: Any, key: str, vocabulary: tuple[str, ...]) -> tuple[str, ...] | str | None:
    """Labels; `vocabulary` names the words (an embedding matrix has a column per word)."""
    if raw == "vocabulary":
        if not vocabulary:
            raise r.fail(key, "'vocabulary' labels need a top-level vocabulary list")
        return vocabulary
    return r.labels(raw, key)


def _shape_spec(r: _Reader, raw: Any, key: str) -> tuple[Any, ...]:
    if not isinstance(raw, list) or len(raw) > 2:
        raise r.fail(key, "a shape is [] (a number), [n] (a column vector) or [rows, cols]")
    for entry in raw:
        if not isinstance(entry, (int, str)) or isinstance(entry, bool):
            raise r.fail(key, f"'{entry}' is not a size: use a whole number or a param name")
    return tuple(raw)


def _shape_of(r: _Reader, key: str, spec: tuple[Any, ...], params: Mapping[str, int]) -> Shape:
    dims = []
    for entry in spec:
        if isinstance(entry, int):
            dims.append(entry)
        else:
            try:
                dims.append(evaluate_scalar(entry, params))
            except TemplateError as exc:  # an ill-formed size, or one an op refuses (ones(30000, 30000))
                raise r.fail(key, exc.message, fix="Sizes are whole numbers or expressions over params") from None
    shape = tuple(dims)
    rows, cols = grid_shape(shape)
    if not (1 <= rows <= MAX_DIM and 1 <= cols <= MAX_DIM) or rows * cols > MAX_CELLS:
        raise r.fail(key, f"shape {list(shape)} is too large or empty", fix=f"Keep each size within 1..{MAX_DIM}")
    return shape


def _steps(
    r: _Reader,
    raw: Any,
    known: set[str],
    bound: int | None,
    bounds: dict[str, int | None] | None = None,
    params: Mapping[str, Param] | None = None,
) -> list[Step]:
    if not isinstance(raw, list) or not raw:
        raise r.fail("steps", "expected a list of steps, each with a name and an expr")
    r.count(raw, "steps", MAX_STEPS, "steps")
    steps: list[Step] = []
    seen = set(known)
    conditional: set[str] = set()  # step names whose every definition has a `when`
    for i, spec in enumerate(raw):
        key = f"steps[{i + 1}]"
        if isinstance(spec, Mapping) and len(spec) == 1 and "name" not in spec:
            ((short_name, short_expr),) = spec.items()  # the short form  - h: relu(W @ x + b)
            spec = {"name": short_name, "expr": short_expr}
        spec = r.mapping(spec, key)
        r.keys(spec, STEP_KEYS, key)
        if "name" not in spec or "expr" not in spec:
            raise r.fail(key, "a step needs a 'name' and an 'expr'")
        name = _name(r, spec["name"], f"{key}.name")
        key = f"steps.{name}"
        when = _when(r, spec, key, params or {})
        # Steps may share a name when each has a `when` (the output of a net with a chosen
        # activation): for any params at most one of them exists (checked by for_params).
        if name in seen and not (when is not None and name in conditional):
            raise r.fail(key, f"'{name}' is already defined", fix="Give every given, param and step its own name")
        if when is not None and name not in seen:
            conditional.add(name)
        elif when is None:
            conditional.discard(name)
        source = r.text(spec["expr"], f"{key}.expr")
        try:
            expr = compile_expr(source, seen, bounds, params or {})
        except ExpressionError as exc:
            raise r.fail(f"{key}.expr", exc.message, fix=exc.fix) from None
        decimals = spec.get("round")
        if decimals is not None:
            decimals = r.integer(decimals, f"{key}.round", 0, 6)
        if bounds is not None:  # rounding half away from zero may add one unit: |round(v)| ≤ bound + 1
            found = None if expr.bound is None else expr.bound + (decimals is not None)
            if name in seen and name in bounds:  # another definition (a `when`): the larger bound
                earlier = bounds[name]
                found = None if found is None or earlier is None else max(found, earlier)
            bounds[name] = found
        asked = r.flag(spec, "asked", key, True)
        step_bound = spec.get("bound", bound)
        if step_bound is not None:
            step_bound = r.integer(step_bound, f"{key}.bound", 1, 10**6)
        shape = _shape_spec(r, spec["shape"], f"{key}.shape") if "shape" in spec else None
        points = r.integer(spec.get("points", 1), f"{key}.points", 0, 1000)
        words = r.flag(spec, "words", key, False)
        if words and decimals is not None:
            raise r.fail(f"{key}.round", "a word step holds a word: it has nothing to round", fix="Remove 'round'")
        steps.append(
            Step(
                name=name,
                expr=expr,
                label=r.optional_text(spec, "label", key) or f"{name} = {source}",
                decimals=decimals,
                asked=asked,
                layer=r.optional_text(spec, "layer", key, name),
                bound=step_bound,
                relu_input=_relu_input(source, seen, params or {}),
                rows=r.labels(spec.get("rows"), f"{key}.rows"),
                cols=r.labels(spec.get("cols"), f"{key}.cols"),
                hint=r.optional_text(spec, "hint", key),
                shape=shape,
                points=points,
                when=when,
                words=words,
            )
        )
        seen.add(name)
    return steps


def _relu_input(source: str, known: set[str], params: Mapping[str, Param]) -> Expr | None:
    """For `relu(<pre-activation>)`, the pre-activation: a subtree of the compiled expression."""
    root = compile_expr(source, known, params=params).tree
    if root.kind == "call" and root.op == "relu" and root.args:
        return root.args[0].expr()
    return None


def _require_unique_maxima(r: _Reader, steps: list[Step], constraints: list[Constraint]) -> None:
    """A step that picks by argmax needs a constraint that keeps the maximum unique: with a tie
    the key would name one row and a learner who names the other tied row be marked wrong."""
    if any("unique_max" in c.expr.calls for c in constraints):
        return
    for step in steps:
        if "argmax" in step.expr.calls:
            raise r.fail(
                f"steps.{step.name}.expr",
                "picks by argmax, but no constraint keeps the maximum unique",
                fix="Add a constraint such as unique_max(X, 1), X being what argmax reads",
            )


def _constraints(
    r: _Reader,
    raw: Any,
    known: set[str],
    bounds: dict[str, int | None] | None = None,
    params: Mapping[str, Param] | None = None,
) -> list[Constraint]:
    if not isinstance(raw, list):
        raise r.fail("constraints", "expected a list of expressions (each may have a 'why')")
    r.count(raw, "constraints", MAX_CONSTRAINTS, "constraints")
    out = []
    for i, spec in enumerate(raw):
        key = f"constraints[{i + 1}]"
        if isinstance(spec, str):
            spec = {"expr": spec}
        spec = r.mapping(spec, key)
        r.keys(spec, CONSTRAINT_KEYS, key)
        source = r.text(spec.get("expr"), f"{key}.expr")
        try:
            expr = compile_expr(source, known, bounds, params or {})
        except ExpressionError as exc:
            raise r.fail(f"{key}.expr", exc.message, fix=exc.fix) from None
        out.append(Constraint(expr, r.optional_text(spec, "why", key) or source, _when(r, spec, key, params or {})))
    return out


def _infer_shapes(template: Template, params: dict[str, int]) -> dict[str, Shape] | None:
    """Declared shapes of givens, and of steps by evaluating them on stand-in values.

    The stand-ins are typical values (ones where the distribution has them), then zeros,
    then up to DRAWN_STAND_INS draws from the givens' distributions (one seeded generator:
    the same draws every time), until one computes every step: a step that only fails on
    some values (3 ** (z / T) with z / T not whole, a division by zero) still gets its shape,
    while an error in shapes or names is reported at once. None when no stand-in computes
    (engine.shapes then reads the shapes off an instance the sampler finds)."""
    for stand_in in ("typical", "zeros"):
        try:
            return _shapes_with(template, params, stand_in)
        except _ValueOnly:
            pass
    rng = np.random.Generator(np.random.PCG64(0))
    for _ in range(DRAWN_STAND_INS):
        try:
            return _shapes_with(template, params, "drawn", rng)
        except _ValueOnly:
            pass
    return None


class _ValueOnly(Exception):
    """A stand-in value broke a value-dependent op; the shapes may be fine."""


def _shapes_with(
    template: Template, params: dict[str, int], stand_in: str, rng: np.random.Generator | None = None
) -> dict[str, Shape]:
    r = _Reader(template.path)
    shapes: dict[str, Shape] = {}
    env = batch_env(params)
    sizes = template.sizes(params)
    for name, given in template.givens.items():
        shape = _shape_of(r, f"givens.{name}.shape", given.shape, sizes)
        shapes[name] = shape
        size = (1, *grid_shape(shape))
        try:
            value = given.dist.typical(size)
        except ValueError:
            value = np.zeros(0)
        if value.shape != size:
            if given.dist.kind == "phrases":
                raise r.fail(f"givens.{name}.dist", f"the phrases do not fit the shape {list(shape)}")
            raise r.fail(f"givens.{name}.fixed", f"the fixed value does not have the shape {list(shape)}")
        if stand_in == "zeros" and given.dist.kind != "fixed":
            value = np.zeros_like(value)
        elif stand_in == "drawn" and rng is not None:
            value = given.dist.draw(rng, size)
        env[name] = value
    for step in template.steps:
        _require_present(r, f"steps.{step.name}", step.expr, env, params)
        try:
            value = step.expr(env)
        except ValueRangeError:
            raise _ValueOnly from None
        except EvaluationError as exc:
            raise r.fail(f"steps.{step.name}.expr", exc.message, fix=exc.fix) from None
        if value.ndim != 3 or value.shape[0] != 1:
            raise r.fail(f"steps.{step.name}.expr", "does not give a single value per instance")
        grid = (value.shape[1], value.shape[2])
        if step.words and grid != (1, 1):
            raise r.fail(f"steps.{step.name}.words", f"a word step is one cell, not {grid[0]}x{grid[1]}")
        if step.shape is not None:
            declared = _shape_of(r, f"steps.{step.name}.shape", step.shape, sizes)
            if grid_shape(declared) != grid:
                raise r.fail(
                    f"steps.{step.name}.shape",
                    f"declared {list(declared)} but the expression gives {grid[0]}x{grid[1]}",
                )
        shapes[step.name] = step_shape(step, grid)
        rows, cols = grid
        if rows > MAX_DIM or cols > MAX_DIM or rows * cols > MAX_CELLS:
            raise r.fail(f"steps.{step.name}", f"gives a {rows}x{cols} value: too large to compute by hand")
        env[step.name] = value
    for name in sorted(template.code_steps):  # a code blank is one cell of a step these params have
        if name not in shapes or grid_shape(shapes[name]) != (1, 1):
            found = "absent for these params" if name not in shapes else f"{list(shapes[name])}, not one cell"
            raise r.fail("code", f"{{{name}}} is {found}", fix="Give the code line a `when:` like its step's")
    for i, constraint in enumerate(template.constraints, start=1):  # names and shapes, as for steps
        _require_present(r, f"constraints[{i}]", constraint.expr, env, params)
        try:
            constraint.expr(env)
        except ValueRangeError:
            pass  # a division by zero for these stand-ins: sampling rejects such candidates
        except EvaluationError as exc:
            raise r.fail(f"constraints[{i}].expr", exc.message, fix=exc.fix) from None
    return shapes


def step_shape(step: Step, grid: tuple[int, int]) -> Shape:
    """A step's declared shape from the grid its value fills (values.declared_shape, with as
    many dimensions as its `shape:` has): the one rule, for the dry run and for the engine."""
    return declared_shape(grid, None if step.shape is None else len(step.shape))


def _require_present(r: _Reader, where: str, expr: Expr, env: Mapping[str, Any], params: Mapping[str, int]) -> None:
    """An expression reads only what these params define: a step or given whose `when`
    leaves it out is a message naming both, not a KeyError."""
    absent = sorted(expr.names - env.keys())
    if absent:
        values = ", ".join(f"{k} = {v}" for k, v in sorted(params.items())) or "none"
        raise r.fail(
            f"{where}.expr",
            f"reads {', '.join(absent)}, which these params ({values}) leave out",
            fix=f"Give {where} a `when:` that excludes these params too",
        )
