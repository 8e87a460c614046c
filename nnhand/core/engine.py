"""From a template to a solved instance: sampling with rejection, and the exact solver.

    Template --sample(seed)--> givens --solve--> key (every step, exact where it can be)

One explicit `numpy.random.Generator` per instance, seeded from the variant id; never the
global random state. Candidates are drawn and checked in batches (every op takes a
leading batch axis), so rejection sampling costs a few NumPy calls, not a Python loop.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from nnhand.choices import BLANK_POLICIES
from nnhand.core import realism
from nnhand.core.realism import Check
from nnhand.core.template import BoundedCache, Template, step_shape
from nnhand.errors import (
    ConstraintError,
    EvaluationError,
    GivensError,
    NnhandError,
    TemplateError,
    ValueRangeError,
    VariantError,
    WorkLimitError,
)
from nnhand.ops import arrays as ops
from nnhand.values import (
    WORK,
    Shape,
    batch_env,
    format_fraction,
    format_number,
    grid_shape,
    is_finite_decimal,
    nested,
    normalize,
    round_array,
    spend,
)

FIRST_BATCH = 8  # candidates of the first round, where no pilot has sized it (_piloted)
MIN_BATCH = 2
PILOT = 64  # candidates a pilot draws to measure a template's acceptance
PILOT_SEED = 0
PILOT_SURVIVORS = 3  # survivors a first batch should hold: about 1 in 20 rounds then finds none
EMPTIED = "\0emptied: "  # failures key prefix: candidates a check saw, when it rejected them all
MAX_BATCH = 512
CHUNK = 32  # the smallest part of a batch solved on its own (_chunks)
MAX_CANDIDATES = 20_000  # draws before a template's constraints are declared unsatisfiable
OWN_MARGIN = 1.3  # draws of a given beyond its pilot's pass rate
OWN_WORTH = 1.15  # draws per passing draw from which a given's own checks are met by redrawing it alone
OWN_DRAWS = 4 * MAX_BATCH  # draws of one given, for its own checks, before a round goes on with fewer
# Work one generate may spend, in units of about a microsecond (values.spend): an exact
# (Fraction) cell an op makes is 4 units, a NumPy call 1 per thousand cells. A shipped template
# spends at most about 100,000 to find an instance, and 5 million when no draw meets its
# constraints (bce-loss, all 20,000 draws); a template from a stranger that computes far more
# per draw is stopped, deterministically (a seed stops at the same draw on every machine),
# instead of running on for hours.
WORK_LIMIT = 10_000_000
DEFAULT_DECIMALS = 2  # a step the template does not round, made irrational by a person's numbers
MAX_SEED = 2**63 - 1
FRESH_SEED_BELOW = 1_000_000  # fresh seeds stay short enough to read out and type

TOKEN_LENGTH = 10  # a sealed variant's token: 50 bits of base32, too many to guess or enumerate
TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_VARIANT = re.compile(
    r"^(?P<id>[a-z0-9]+(?:-[a-z0-9]+)*)@(?P<version>\d+)#"
    r"(?:(?P<seed>\d+)|givens-(?P<digest>[0-9a-f]{8})|sealed-(?P<token>[a-z2-7]{" + str(TOKEN_LENGTH) + r"}))"
    r"(?P<params>(?:,[A-Za-z][A-Za-z0-9_]*=\d+)*)(?:,blanks=(?P<blanks>[a-z]+))?$"
)


@dataclass(frozen=True)
class Variant:
    """Which exercise a sheet is: `<template>@<version>#<source>[,name=value...][,blanks=P]`.

    The source is one of
    - a seed (`#4821`): anyone can rebuild the instance, and its key, from the id;
    - `givens-<digest>`: numbers a person supplied; the digest lets `check` see they are intact;
    - `sealed-<token>`: a class variant. The token is opaque (drawn from the instructor's
      secret or fresh randomness); only the instructor's manifest maps it to its seed, so
      the id on a student's sheet does not lead to anyone's key.
    Non-default params follow as `,name=value` so that the id alone rebuilds the instance, and
    a blank pattern other than the template's default as `,blanks=one`: what is asked is part
    of the id, never a separate line a student could edit.
    """

    template: str
    version: int
    seed: int | None = None
    digest: str | None = None
    params: tuple[tuple[str, int], ...] = ()
    token: str | None = None
    blanks: str | None = None  # the sheet's blank pattern, when not the template's default

    def __str__(self) -> str:
        if self.token is not None:
            source = f"sealed-{self.token}"
        else:
            source = str(self.seed) if self.seed is not None else f"givens-{self.digest}"
        extra = "".join(f",{k}={v}" for k, v in self.params)
        if self.blanks:
            extra += f",blanks={self.blanks}"
        return f"{self.template}@{self.version}#{source}{extra}"

    @property
    def instance(self) -> Variant:
        """The id of the instance alone (without the sheet's blank pattern)."""
        return replace(self, blanks=None) if self.blanks else self

    def sealed(self, token: str) -> Variant:
        """The same instance under an opaque token in place of its seed."""
        return replace(self, seed=None, digest=None, token=token)

    @classmethod
    def parse(cls, text: Any, where: str = "variant") -> Variant:
        match = _VARIANT.match(str(text).strip()) if isinstance(text, (str, int)) else None
        if not match:
            raise VariantError(
                f"'{text}' is not a variant id",
                where=where,
                fix="A variant id looks like hidden-layer@1#4821 (template@version#seed)",
            )
        params = tuple((k, int(v)) for k, v in (p.split("=") for p in match["params"].split(",") if p))
        seed = int(match["seed"]) if match["seed"] is not None else None
        if seed is not None and seed > MAX_SEED:
            raise VariantError(f"the seed in '{text}' is too large", where=where)
        if len(match["version"]) > 7 or any(v > 10**6 for _, v in params):
            raise VariantError(f"'{text}' holds a number too large for a variant id", where=where)
        blanks = match["blanks"]
        if blanks is not None and blanks not in BLANK_POLICIES:
            raise VariantError(
                f"'{blanks}' in '{text}' is not a blank pattern", where=where, fix=f"Use {', '.join(BLANK_POLICIES)}"
            )
        return cls(match["id"], int(match["version"]), seed, match["digest"], params, match["token"], blanks)


@dataclass(frozen=True)
class Problem:
    """A solved instance: the givens, every step's value, and the exact values beside them.

    Frozen: built once, with its final variant (a sealed copy is `dataclasses.replace`)."""

    template: Template
    variant: Variant
    params: dict[str, int]
    givens: dict[str, np.ndarray]  # name -> (rows, cols) grid
    values: dict[str, np.ndarray]  # step -> (rows, cols), rounded as the template declares
    exact: dict[str, np.ndarray]  # step -> (rows, cols), with no rounding anywhere upstream
    shapes: dict[str, Shape]
    own_vocabulary: tuple[str, ...] = ()  # the words, when the givens define them (not the template)

    def value(self, name: str) -> np.ndarray:
        return self.givens[name] if name in self.givens else self.values[name]

    def env(self, steps: bool = True) -> dict[str, np.ndarray]:
        """The batch-of-one evaluation environment: params as constants, the givens (and, with
        `steps`, every step's value) with a leading batch axis, as the ops take them."""
        return batch_env(self.params, self.givens, self.values if steps else {})

    def nested_givens(self) -> dict[str, Any]:
        """Givens as plain nested lists in their declared shapes (for YAML, JSON, digests)."""
        plain = {name: given_plain(self.template, name, arr, self.shapes[name]) for name, arr in self.givens.items()}
        return {"vocabulary": list(self.own_vocabulary), **plain} if self.own_vocabulary else plain


def _plain_exact(v: Any) -> Any:
    if isinstance(v, (int, np.integer)):
        return int(v)
    frac = Fraction(v)
    if frac.denominator == 1:
        return int(frac)
    return float(frac) if is_finite_decimal(frac) else format_fraction(frac)


def given_plain(template: Template, name: str, arr: np.ndarray, shape: Shape) -> Any:
    """A given as plain data: numbers, or words (a sentence as one string) for word givens."""
    if template.givens[name].words:
        words = nested(arr, shape, lambda v: template.vocabulary[int(v) - 1])
        if len(shape) == 1:
            return " ".join(words)
        return [" ".join(row) for row in words] if len(shape) == 2 else words
    return nested(arr, shape, _plain_exact)


# ----------------------------------------------------------------------------- sampling


def fresh_seed() -> int:
    import secrets

    return secrets.randbelow(FRESH_SEED_BELOW)


def generate(template: Template, seed: int | None = None, params: Mapping[str, int | str] | None = None) -> Problem:
    """Sample the instance of `template` that `seed` determines, and solve it."""
    if seed is None:
        seed = fresh_seed()
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise VariantError(f"seed {str(seed)[:30]} is out of range", where="--seed", fix=f"Use 0 to {MAX_SEED}")
    values = template.resolve_params(params)
    template = template.for_params(values)
    rng = np.random.Generator(np.random.PCG64(seed))
    sampling = _prepared(template, values)
    plan, shapes, fixed = sampling.plan, sampling.shapes, sampling.fixed
    variant = Variant(template.id, template.version, seed=seed, params=_non_default(template, values))
    failures: Counter[str] = Counter()
    drawn, size = 0, sampling.first_batch
    token = WORK.set([0, WORK_LIMIT])
    try:
        while drawn < (1 if fixed else MAX_CANDIDATES):
            for part in _parts(size):
                env: dict[str, np.ndarray] = dict(sampling.base_env)
                batch = _draw_givens(template, sampling, rng, part, env)
                drawn += batch
                spend(sampling.nodes * (1 + batch // 64))  # NumPy's share: exact cells are counted as they are made
                survivors = _run_plan(template, plan, env, batch, failures)
                chosen = None if survivors is None else _first_exact(template, values, survivors, failures)
                if chosen is not None:
                    givens, steps, exact = chosen
                    return Problem(
                        with_texts(template, values, givens),
                        variant,
                        values,
                        givens,
                        steps,
                        exact,
                        _all_shapes(template, shapes, steps),
                    )
            size = min(size * 4, MAX_BATCH)
    except WorkLimitError as exc:
        worst = _worst(failures, drawn)
        raise ConstraintError(
            f"gave up after {drawn} draws ({worst or 'no draw computed'}): {exc.message}",
            where=str(template.path),
            fix=exc.fix,
        ) from None
    finally:
        WORK.reset(token)
    worst = _worst(failures, drawn)
    if fixed:
        raise ConstraintError(
            f"every given is fixed, and the one instance they make fails ({worst or 'it does not compute'})",
            where=str(template.path),
            fix="Change the fixed values, or draw some givens from a dist",
        )
    raise ConstraintError(
        f"no instance out of {drawn} draws meets the constraints ({worst or 'every draw failed'})",
        where=str(template.path),
        fix="Relax the constraints or widen the distributions",
    )


def _parts(size: int) -> list[int]:
    """A round of `size` candidates as the batches drawn and solved in turn: a large round in
    parts of about one expected survivor each (PILOT_SURVIVORS to a round), so that the
    candidates after the first survivor are neither drawn nor solved; a small one whole, where
    a batch costs about the same however many candidates it holds."""
    part = max(CHUNK, math.ceil(size / PILOT_SURVIVORS))
    if size < 2 * part:
        return [size]
    return [part] * (size // part) + ([size % part] if size % part else [])


def _worst(failures: Counter[str], drawn: int) -> str:
    """The checks that rejected most, and first a check that rejects every candidate reaching it
    (a structural contradiction, such as a step that always copies another)."""
    blocking = [
        f"every candidate that reached '{why[len(EMPTIED) :]}' failed it"
        for why, n in failures.most_common()
        if why.startswith(EMPTIED) and n == failures[why[len(EMPTIED) :]] and n >= FIRST_BATCH * 4
    ][:1]
    rejected = [(why, n) for why, n in failures.most_common() if not why.startswith(EMPTIED)][:3]
    return ", ".join(blocking + [f"'{why}' rejected {n / drawn:.0%}" for why, n in rejected])


def _first_exact(
    template: Template, params: Mapping[str, int], survivors: Mapping[str, np.ndarray], failures: Counter[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """The first surviving candidate whose exact chain computes (it may not, behind a rounding:
    a third squared again and again grows beyond MAX_DIGITS digits): givens, steps, exact."""
    i = 0
    while True:
        givens = {name: _pick(survivors[name], i) for name in template.givens}
        steps = {s.name: _pick(survivors[s.name], i) for s in template.steps}
        try:
            return givens, steps, _exact_chain(template, params, givens, steps)
        except ValueRangeError as exc:
            failures[exc.message] += 1
        i += 1
        if i >= max(v.shape[0] for v in survivors.values()):
            return None


def _draw_givens(
    template: Template, sampling: Sampling, rng: np.random.Generator, batch: int, env: dict[str, np.ndarray]
) -> int:
    """Draw a batch of every given; the batch drawn (smaller than asked where a given's own
    checks pass rarely). Givens with checks of their own come first, each drawn until its
    draws pass them; weighted-set givens then share one block of uniforms (one call to the
    generator instead of one per given); the others draw in template order."""
    for name in sampling.own:
        env[name] = _draw_passing(template, name, sampling, rng, batch)
        batch = min(batch, env[name].shape[0])
    for name in sampling.own:
        env[name] = env[name][:batch]
    weighted = [(n, g) for n, g in template.givens.items() if g.dist.kind == "set" and n not in sampling.own]
    sizes = [batch * sampling.grids[n][0] * sampling.grids[n][1] for n, _ in weighted]
    uniforms = rng.random(sum(sizes))
    start = 0
    for (name, given), size in zip(weighted, sizes):
        env[name] = given.dist.from_uniform(uniforms[start : start + size].reshape(batch, *sampling.grids[name]))
        start += size
    for name, given in template.givens.items():
        if given.dist.kind != "set" and name not in sampling.own:
            env[name] = given.dist.draw(rng, (batch, *sampling.grids[name]))
    return batch


def _draw_passing(
    template: Template, name: str, sampling: Sampling, rng: np.random.Generator, batch: int
) -> np.ndarray:
    """Up to `batch` draws of one given that pass its own checks, in the order drawn: fewer
    when MAX_BATCH draws at a time have not found them after OWN_DRAWS (then the round goes
    on with those), none only when MAX_CANDIDATES draws found none. After a first draw of
    `batch`, each further draw is sized by the share passed so far (a function of the seed
    alone, so a seed still gives one instance)."""
    dist, grid, checks = template.givens[name].dist, sampling.grids[name], sampling.own[name]
    kept: list[np.ndarray] = []
    have = tried = 0
    # A margin over the pilot's rate: a second draw costs more than the spare candidates.
    size = min(MAX_BATCH, math.ceil(batch * sampling.oversample.get(name, 1.0) * OWN_MARGIN) + 2)
    while have < batch and not (have and tried >= OWN_DRAWS):
        if tried >= MAX_CANDIDATES:
            why = "', '".join(c.why for c in checks)
            raise ConstraintError(
                f"no draw of {name} out of {tried} meets '{why}'",
                where=str(template.path),
                fix=f"Widen {name}'s dist, or switch the rule off in the template's realism: block",
            )
        draws = dist.draw(rng, (size, *grid))
        spend(sum(c.nodes for c in checks) * (1 + size // 64))
        passed = _passes(template, checks, {**sampling.base_env, name: draws}, size)
        tried += size
        count = int(np.count_nonzero(passed))
        if count >= batch and not kept:  # the usual case: the first draw holds enough
            return draws[passed][:batch]
        kept.append(draws[passed])
        have += count
        size = min(MAX_BATCH, max(batch, -(-(batch - have) * tried // max(have, 1))))
    return np.concatenate(kept)[:batch]


def _passes(template: Template, checks: tuple[Check, ...], env: Mapping[str, np.ndarray], size: int) -> np.ndarray:
    """Per candidate, whether it passes every check; one whose values break an op fails.
    (The caller has spent the work: _apply would count it again.)"""
    passed = np.ones(size, dtype=bool)
    for check in checks:
        try:
            verdict = check.test(env)
        except ValueRangeError:
            if size == 1:
                return np.zeros(1, dtype=bool)
            singles = ({k: v[i : i + 1] if v.shape[0] == size else v for k, v in env.items()} for i in range(size))
            passed &= np.array([_passes(template, (check,), single, 1)[0] for single in singles])
            continue
        except EvaluationError as exc:  # shapes that do not fit: a bug in the template
            raise TemplateError(exc.message, where=f"{template.path}: {check.key or check.why}", fix=exc.fix) from None
        passed &= _verdict(verdict, size)
    return passed


def _all_shapes(
    template: Template, given_shapes: Mapping[str, Shape], steps: Mapping[str, np.ndarray]
) -> dict[str, Shape]:
    """Declared shapes of givens and steps; a step's comes from its value (template.step_shape)."""
    shapes = dict(given_shapes)
    for step in template.steps:
        rows, cols = steps[step.name].shape
        shapes[step.name] = step_shape(step, (rows, cols))
    return shapes


def shapes(template: Template, params: Mapping[str, int | str] | None = None) -> dict[str, Shape]:
    """The declared shape of every given and step for these params: by the template's dry run
    on stand-in values, or, where those trip over its ops, read off a sampled instance."""
    values = template.resolve_params(params)
    key = ("shapes", tuple(sorted(values.items())))
    if key not in template.cache:
        found = template.stand_in_shapes(values)
        template.cache[key] = found if found is not None else generate(template, 0, values).shapes
    result: dict[str, Shape] = template.cache[key]
    return result


def _prepared(template: Template, values: Mapping[str, int]) -> Sampling:
    """What sampling needs for these params, worked out once per template and params."""
    key = ("sampling", tuple(sorted(values.items())))
    cached: Sampling | None = template.cache.get(key)
    if cached is None:
        shapes = template.given_shapes(values)
        fixed = all(g.dist.kind == "fixed" for g in template.givens.values())
        grids = {name: grid_shape(shapes[name]) for name in template.givens}
        base_env = batch_env(values)
        every_shape = {**(template.stand_in_shapes(values) or {}), **shapes}
        every_grid = {name: grid_shape(shape) for name, shape in every_shape.items()}
        checks = _checks(template, grids=every_grid, params=base_env)
        own = {} if fixed else _own_checks(template, checks)
        oversample = _oversample(template, own, grids, base_env)
        # A given whose own checks reject few draws is cheaper checked with the others, in
        # the plan, than drawn apart (one draw of every given at once, one check each).
        own = {name: group for name, group in own.items() if oversample[name] >= OWN_WORTH}
        drawn_alone = {id(c) for group in own.values() for c in group}
        plan = _plan(template, [c for c in checks if id(c) not in drawn_alone])
        cached = Sampling(
            plan,
            shapes,
            grids,
            base_env,
            _plan_nodes(plan),
            fixed,
            own,
            oversample={name: oversample[name] for name in own},
        )
        cached = _piloted(template, cached)
        template.cache[key] = cached
    return cached


def _oversample(
    template: Template,
    own: Mapping[str, tuple[Check, ...]],
    grids: Mapping[str, tuple[int, int]],
    base_env: Mapping[str, np.ndarray],
) -> dict[str, float]:
    """Per given with checks of its own, draws per draw that passes them, by a pilot of PILOT
    draws from a fixed seed (so the batch sizes depend on the template and params alone)."""
    rng = np.random.Generator(np.random.PCG64(PILOT_SEED))
    oversample = {}
    for name, checks in own.items():
        draws = template.givens[name].dist.draw(rng, (PILOT, *grids[name]))
        passed = int(np.count_nonzero(_passes(template, checks, {**base_env, name: draws}, PILOT)))
        oversample[name] = PILOT / max(passed, 1)
    return oversample


def _piloted(template: Template, sampling: Sampling) -> Sampling:
    """The first batch that fits this template's acceptance, measured once by a pilot: PILOT
    candidates from a fixed seed, so the size, and with it every seed's instance, depends on
    the template and params alone. The first batch holds about PILOT_SURVIVORS survivors."""
    if sampling.fixed:
        return replace(sampling, first_batch=1)
    rng = np.random.Generator(np.random.PCG64(PILOT_SEED))
    env = dict(sampling.base_env)
    token = WORK.set([0, WORK_LIMIT // 10])
    try:
        drawn = _draw_givens(template, sampling, rng, PILOT, env)
        survivors = _run_plan(template, sampling.plan, env, drawn, Counter())
    except (WorkLimitError, ConstraintError):  # a template that hardly ever passes: the default sizes
        return sampling
    finally:
        WORK.reset(token)
    kept = 0 if survivors is None else max(survivors[name].shape[0] for name in template.givens)
    first = math.ceil(PILOT_SURVIVORS * drawn / max(kept, 1))
    return replace(sampling, first_batch=min(max(first, MIN_BATCH), MAX_BATCH))


@dataclass(frozen=True)
class Sampling:
    """A template's sampling for one set of params: the plan, the givens' shapes and grids,
    the params as arrays, the work of one pass of the plan, whether every given is fixed (then
    there is one instance: drawing again would only repeat the verdict), and the checks that
    read one given alone (drawn until it passes them, before the joint checks)."""

    plan: Plan
    shapes: dict[str, Shape]
    grids: dict[str, tuple[int, int]]
    base_env: dict[str, np.ndarray]
    nodes: int
    fixed: bool
    own: dict[str, tuple[Check, ...]]
    first_batch: int = FIRST_BATCH  # candidates of the first round (_piloted)
    oversample: Mapping[str, float] = field(default_factory=dict)  # draws per pass, given by given


def _own_checks(template: Template, checks: list[Check]) -> dict[str, tuple[Check, ...]]:
    """The checks that read one drawn given and nothing else (no repeated rows in W, no identity
    matrix): each given is redrawn on its own until it passes them. Givens are drawn
    independently, so this keeps the distribution of whole-candidate rejection, but a rule that
    rejects 9 of 10 weight matrices no longer throws away the other givens with them."""
    own: dict[str, list[Check]] = {}
    for check in checks:
        read = check.needs - set(template.params)
        if len(read) == 1:
            (name,) = read
            given = template.givens.get(name)
            if given is not None and given.dist.kind != "fixed":
                own.setdefault(name, []).append(check)
    return {name: tuple(group) for name, group in own.items()}


def _plan_nodes(plan: Plan) -> int:
    """The work of one pass of a plan, in syntax-tree nodes (about one NumPy call each)."""
    return sum(item.expr.nodes if kind == "step" else item.nodes for kind, item in plan)


def _pick(batch: np.ndarray, i: int) -> np.ndarray:
    """Candidate i of a batch; a value that is the same for all (a constant) has batch size 1."""
    value = batch[i if batch.shape[0] > 1 else 0]
    return normalize(value) if value.dtype == object else value


# A plan interleaves steps and checks: each check runs as soon as what it reads exists,
# and the batch shrinks to the survivors, so most candidates never reach the later steps.
Plan = list[tuple[str, Any]]


def _plan(template: Template, checks: list[Check]) -> Plan:
    plan: Plan = []
    available = set(template.params) | set(template.givens)
    pending = list(checks)

    def ready() -> None:
        for check in list(pending):
            if check.needs <= available:
                plan.append(("check", check))
                pending.remove(check)

    ready()
    for step in template.steps:
        plan.append(("step", step))
        available.add(step.name)
        ready()
    assert not pending, [c.why for c in pending]
    return plan


def _checks(
    template: Template,
    sampled: bool = True,
    grids: Mapping[str, tuple[int, int]] | None = None,
    params: Mapping[str, np.ndarray] | None = None,
) -> list[Check]:
    """Everything a candidate must satisfy: the realism rules first, then the template's own.
    `sampled`: the candidates come from the template's own distributions (whose bounds let
    constraints skip their int64 checks, Expr.fast); a person's numbers may be far larger.
    `grids`: the givens' and steps' (rows, cols) for the params at hand (rules their shapes
    make true drop); `params`: their values, as arrays (what reads them alone is decided)."""
    checks = realism.checks(template, grids=grids)
    drawn = {n for n, g in template.givens.items() if g.dist.kind != "fixed"}
    for i, c in enumerate(template.constraints, start=1):
        key = f"constraints[{i}].expr"
        if not sampled:  # a person's numbers: the constraint as written, with its int64 checks
            checks.append(Check(c.why, c.expr.names, c.expr, key, c.expr.nodes))
            continue
        written = _and_terms(c.expr.tree)
        terms = written if params is None else tuple(_terms(template, c.expr.tree, params))
        # A term that reads one drawn given is checked alone, where it costs least (redrawing
        # that given); the rest as written, or, where params decided some term, term by term.
        alone = [len(read := t.names - set(template.params)) == 1 and read <= drawn for t in terms]
        checks.extend(Check(c.why, t.names, t.fn, key, t.size) for t, one in zip(terms, alone) if one)
        rest = [t for t, one in zip(terms, alone) if not one]
        if not rest:
            continue
        if len(terms) == len(written) and all(t is w for t, w in zip(terms, written)):
            checks.append(Check(c.why, c.expr.names, c.expr.fast or c.expr, key, c.expr.nodes))
        else:
            checks.extend(Check(c.why, t.names, t.fn, key, t.size) for t in rest)
    return checks


def _and_terms(tree: Any) -> tuple[Any, ...]:
    """The operands of `a and b and ...`, or the tree itself."""
    return tree.args if tree.kind == "boolop" and tree.op == "and" else (tree,)


def _terms(template: Template, tree: Any, params: Mapping[str, np.ndarray]) -> list[Any]:
    """A constraint as the terms every candidate must pass, with what reads the params alone
    decided for these params: `... or n > 3 * k` gone where n > 3 * k, `a or k == 1` become a
    where k != 1. No terms: these params satisfy it whatever is drawn. A term of the params
    alone that fails stays (the constraint then reports as written)."""

    def fixed(node: Any) -> bool:
        return not node.names - set(template.params)

    if tree.kind == "boolop" and tree.op == "and":
        out = []
        for part in tree.args:
            if fixed(part) and bool(np.all(part.fn(params))):
                continue
            out.extend(_terms(template, part, params) if not fixed(part) else [part])
        return out
    if tree.kind == "boolop" and tree.op == "or":
        left = []
        for part in tree.args:
            if fixed(part):
                if bool(np.all(part.fn(params))):
                    return []
                continue
            left.append(part)
        return _terms(template, left[0], params) if len(left) == 1 else [tree]
    return [tree]


def _run_plan(
    template: Template, plan: Plan, env: dict[str, np.ndarray], batch: int, failures: Counter[str]
) -> dict[str, np.ndarray] | None:
    """Solve and check a batch of candidates; the surviving candidates' values, or None.
    The checks that run between two steps share one mask of the candidates alive, and the
    batch shrinks to them once, before the next step (not after every check that rejects)."""
    alive: np.ndarray | None = None  # None: every candidate of the batch
    reached = batch  # candidates alive
    for kind, item in plan:
        if kind == "step" and alive is not None:
            batch, alive = _keep(env, alive, batch), None
        try:
            result = _step_value(template, item, env, fast=True) if kind == "step" else item.test(env)
        except ValueRangeError as exc:  # some candidate's values break an op (a division by zero)
            if alive is not None:
                batch, alive = _keep(env, alive, batch), None
            if batch == 1:
                failures[_reason(kind, item, exc)] += 1
                return None
            # Find the candidates that break it, one by one for this item only, and go on with
            # the others as a batch: the survivors, in order, are those a candidate-by-candidate
            # run would keep, so a seed still gives the same instance.
            passed = _computable(template, kind, item, env, batch, failures)
            kept = int(np.count_nonzero(passed))
            if kept == 0:
                return None
            if kept == batch:  # no single candidate breaks it, only the batch: judge them singly
                return _one_by_one(template, plan, env, batch, failures)
            batch = _keep(env, passed, batch)
            result = _apply(template, kind, item, env)
        except EvaluationError as exc:  # a check whose shapes do not fit (steps raise TemplateError)
            raise TemplateError(exc.message, where=f"{template.path}: {item.key or item.why}", fix=exc.fix) from None
        if kind == "step":
            env[item.name] = result
            continue
        passed = _verdict(result, batch)
        reached = batch if alive is None else reached  # what passed the checks before this one
        if alive is not None:
            passed = passed & alive
        kept = int(np.count_nonzero(passed))
        if kept < reached:
            failures[item.why] += reached - kept
        if kept == 0:
            failures[EMPTIED + item.why] += reached  # what reached this check, all of it rejected
            return None
        alive, reached = (passed if kept < batch else None), kept
    if alive is not None:
        _keep(env, alive, batch)
    return env


def _verdict(result: np.ndarray, batch: int) -> np.ndarray:
    """A check's result as one bool per candidate of the batch."""
    if result.shape == (batch, 1, 1) and result.dtype == bool:  # the usual case: a verdict per candidate
        return result.reshape(batch)
    if result.ndim == 3 and result.shape[1:] != (1, 1):
        result = ops.all_(result)
    passed = result.reshape(-1) if result.shape[0] == batch else np.full(batch, bool(result.reshape(-1)[0]))
    if passed.dtype != bool:  # a constraint that gives numbers: read as true where nonzero
        passed = passed.astype(bool)
    return passed


def _apply(template: Template, kind: str, item: Any, env: Mapping[str, np.ndarray]) -> np.ndarray:
    """A plan item on a batch (or one candidate): a step's value, or a check's verdict."""
    spend(item.expr.nodes if kind == "step" else item.nodes)
    if kind == "step":
        return _step_value(template, item, env)
    try:
        result: np.ndarray = item.test(env)
    except ValueRangeError:
        raise
    except EvaluationError as exc:  # shapes that do not fit: a bug in the template, whatever the values
        raise TemplateError(exc.message, where=f"{template.path}: {item.key or item.why}", fix=exc.fix) from None
    return result


def _reason(kind: str, item: Any, exc: ValueRangeError) -> str:
    return exc.message if kind == "step" else f"{item.why} ({exc.message})"


def _computable(
    template: Template, kind: str, item: Any, env: Mapping[str, np.ndarray], batch: int, failures: Counter[str]
) -> np.ndarray:
    """For each candidate of a batch, whether `item` computes for it alone."""
    passed = np.ones(batch, dtype=bool)
    for i in range(batch):
        single = {k: (v[i : i + 1] if v.shape[0] == batch else v) for k, v in env.items()}
        try:
            _apply(template, kind, item, single)
        except ValueRangeError as exc:
            failures[_reason(kind, item, exc)] += 1
            passed[i] = False
    return passed


def _keep(env: dict[str, np.ndarray], passed: np.ndarray, batch: int) -> int:
    """Shrink every batch value of env to the candidates passed; the new batch size."""
    for name, value in env.items():
        if value.shape[0] == batch:
            env[name] = value[passed]
    return int(np.count_nonzero(passed))


def _one_by_one(
    template: Template, plan: Plan, env: dict[str, np.ndarray], batch: int, failures: Counter[str]
) -> dict[str, np.ndarray] | None:
    """The batch breaks an op's bound that no candidate alone breaks: judge them one at a time."""
    nodes = _plan_nodes(plan)
    for i in range(batch):
        single = {k: (v[i : i + 1] if v.shape[0] == batch else v) for k, v in env.items()}
        single = {k: v for k, v in single.items() if k in template.givens or k in template.params}
        spend(nodes)
        result = _run_plan(template, plan, single, 1, failures)
        if result is not None:
            return result
    return None


def _step_value(
    template: Template, step: Any, env: Mapping[str, np.ndarray], rounding: bool = True, fast: bool = False
) -> np.ndarray:
    """A step's value; `fast` (sampling, from the template's own distributions): without the
    int64 checks its expression has proven needless (Expr.fast)."""
    try:
        value = step.expr.fast(env) if fast and step.expr.fast is not None else step.expr(env)
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise ValueRangeError("a number too large for a float, or not a number (an overflow, 0/0)")
        if step.decimals is not None and rounding:
            return round_array(value, step.decimals)
    except ValueRangeError as exc:
        raise ValueRangeError(f"step {step.name} ({step.expr.source[:60]}): {exc.message}", fix=exc.fix) from None
    except EvaluationError as exc:  # shapes that do not fit: a bug in the template, whatever the values
        raise TemplateError(f"{exc.message}", where=f"{template.path}: steps.{step.name}.expr", fix=exc.fix) from None
    if step.decimals is not None or not rounding:
        return value  # the exact chain may carry thirds from a rounded step upstream
    if value.dtype.kind == "f":
        raise TemplateError(
            f"gives non-exact values such as {float(value.reshape(-1)[0]):.4f}",
            where=f"{template.path}: steps.{step.name}",
            fix="Declare 'round: 2' (or another number of decimals) for this step",
        )
    if value.dtype == object:
        for v in value.ravel():
            if not is_finite_decimal(Fraction(v)):
                raise TemplateError(
                    f"gives {format_fraction(v)}, which is not a whole number or a short decimal",
                    where=f"{template.path}: steps.{step.name}",
                    fix="Declare 'round: 2' (or another number of decimals); the exact fraction stays accepted",
                )
    return value


def _exact_chain(
    template: Template,
    params: Mapping[str, int],
    givens: Mapping[str, np.ndarray],
    rounded: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Every step again with no rounding anywhere, for templates that round: the exact key."""
    if not template.rounds:
        return dict(rounded)
    env = batch_env(params, givens)
    exact = {}
    for step in template.steps:
        env[step.name] = _step_value(template, step, env, rounding=False)
        exact[step.name] = env[step.name][0]
    return exact


def _non_default(template: Template, values: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((k, v) for k, v in values.items() if v != template.params[k].default))


# ----------------------------------------------------------------------------- given numbers


def solve(
    template: Template,
    givens: Mapping[str, Any],
    params: Mapping[str, int | str] | None = None,
    where: str = "givens",
    variant: Variant | None = None,
) -> Problem:
    """Solve the template for numbers a person supplies (no sampling, no constraints; sizes
    are read off the givens' shapes: core.givens).

    Any numbers get a key: a step the template does not round keeps its exact value when
    these numbers make it a fraction such as 1/3, and one they make irrational (a square
    root, a tanh) is rounded to DEFAULT_DECIMALS, with a note on the sheet. Only an undefined
    value (a division by zero, the log of 0) is an error, naming the step and the givens it
    is computed from. The instance is named `variant` when given (a sealed class variant, or
    --trust-givens), else by the digest of its givens."""
    from nnhand.core.givens import read_instance

    instance = read_instance(template, givens, params, where)
    own = instance.template.vocabulary if instance.template.vocabulary != template.vocabulary else ()
    template, values, grids = instance.template, instance.params, instance.grids
    env = batch_env(values, grids)
    steps: dict[str, np.ndarray] = {}
    by_default: list[str] = []
    for step in template.steps:
        try:
            value = _step_value(template, step, env, rounding=False)
        except (ValueRangeError, TemplateError) as exc:
            raise _undefined(template, step, exc, where) from None
        if step.decimals is not None:
            value = round_array(value, step.decimals)
        elif value.dtype.kind == "f":  # irrational for these numbers: the documented default
            value = round_array(value, DEFAULT_DECIMALS)
            by_default.append(step.name)
        env[step.name] = value
        steps[step.name] = value[0]
    if by_default:
        template = _rounded_by_default(template, by_default)
    try:
        exact = _exact_chain(template, values, grids, steps)
    except (ValueRangeError, TemplateError) as exc:
        raise GivensError(exc.message, where=where, fix=exc.fix) from None
    all_shapes = _all_shapes(template, template.given_shapes(values), steps)
    if variant is None:
        digest = _digest(template.id, values, grids, all_shapes, own)
        variant = Variant(template.id, template.version, digest=digest, params=_non_default(template, values))
    return Problem(with_texts(template, values, grids), variant, values, grids, steps, exact, all_shapes, own)


def _undefined(template: Template, step: Any, exc: NnhandError, where: str) -> GivensError:
    """A step these numbers leave undefined: which step, and the givens it is computed from."""
    sources = _given_sources(template, step.name)
    message = exc.message
    if not message.startswith("step "):
        message = f"step {step.name} ({step.expr.source[:60]}): {message}"
    return GivensError(
        f"{message}; it is computed from {', '.join(sources)}",
        where=where,
        fix=f"Change the numbers of {', '.join(sources)} so that step {step.name} is defined",
    )


def _given_sources(template: Template, name: str) -> list[str]:
    """The givens a step reads, directly or through earlier steps."""
    steps = {s.name: s for s in template.steps}
    seen: set[str] = set()
    todo = [name]
    while todo:
        for used in steps[todo.pop()].expr.names:
            if used not in seen:
                seen.add(used)
                if used in steps:
                    todo.append(used)
    return [g for g in template.givens if g in seen]


def _rounded_by_default(template: Template, names: list[str]) -> Template:
    """The template with these steps rounded to DEFAULT_DECIMALS, and a note saying so."""
    note = (
        f"{', '.join(names)}: not whole numbers or short decimals for these numbers (a square root or "
        f"the like), so {'they are' if len(names) > 1 else 'it is'} rounded to {DEFAULT_DECIMALS} decimals, "
        "halves away from 0; the exact values are accepted too."
    )
    return replace(
        template,
        steps=[replace(s, decimals=DEFAULT_DECIMALS) if s.name in names else s for s in template.steps],
        notes=(*template.notes, note),
        cache=BoundedCache(),
    )


def with_texts(template: Template, params: Mapping[str, int], givens: Mapping[str, np.ndarray]) -> Template:
    """The template with {name} placeholders in its texts filled in: params (a choice by its
    word) and one-number givens (an η, a temperature) as this instance has them."""
    if not template.placeholders:
        return template
    values = {n: template.params[n].shown(v) for n, v in params.items() if n in template.params}
    for name, grid in givens.items():
        if name in template.placeholders:
            cells = [format_number(v) for v in grid.reshape(-1)]
            values[name] = cells[0] if len(set(cells)) == 1 else "[" + ", ".join(cells) + "]"
    return template.with_values(values)


def realism_warnings(problem: Problem) -> list[str]:
    """The template's realism rules and constraints that these numbers break (a warning for
    `key --givens`: the numbers are keyed all the same)."""
    env = problem.env()
    broken = []
    for check in _checks(problem.template, sampled=False):
        if not check.needs <= env.keys():
            continue
        try:
            result = check.test(env)
        except (ValueRangeError, EvaluationError, TemplateError):
            continue
        if not bool(np.all(result)):
            broken.append(check.why)
    return broken


def givens_digest(problem: Problem) -> str:
    """A short digest of the givens: the variant id of an instance built from them."""
    return _digest(problem.template.id, problem.params, problem.givens, problem.shapes, problem.own_vocabulary)


def _digest(
    template_id: str,
    params: Mapping[str, int],
    givens: Mapping[str, np.ndarray],
    shapes: Mapping[str, Shape],
    vocabulary: tuple[str, ...] = (),
) -> str:
    import hashlib
    import json

    view = {name: nested(arr, shapes[name], format_fraction) for name, arr in givens.items()}
    content: dict[str, Any] = {"template": template_id, "params": dict(params), "givens": view}
    if vocabulary:
        content["vocabulary"] = list(vocabulary)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def rebuild(template: Template, variant: Variant, givens: Mapping[str, Any] | None = None, where: str = "") -> Problem:
    """The instance a variant id names: re-sampled from its seed, or solved from its givens."""
    if variant.template != template.id or variant.version != template.version:
        raise VariantError(
            f"made with {variant.template}@{variant.version}, but the installed template is "
            f"{template.id}@{template.version}",
            where=where or "variant",
            fix="Grade it with the nnhand version that generated it, or use --trust-givens",
        )
    params = dict(variant.params)
    if variant.seed is not None:
        return generate(template, variant.seed, params)
    if givens is None:
        raise VariantError(f"{variant} was built from givens, and none are given", where=where or "variant")
    at = f"{where}: givens" if where else "givens"
    if variant.token is not None:
        # A sealed class variant: only the instructor's manifest knows its seed, so a file is
        # solved from the givens it carries (`grade` compares them with the manifest).
        return solve(template, givens, params, where=at, variant=variant.instance)
    problem = solve(template, givens, params, where=at)
    if problem.variant.digest != variant.digest:
        raise VariantError(
            f"the givens do not match the digest in {variant}",
            where=where or "variant",
            fix="The givens were changed after the sheet was made: restore them",
        )
    return problem
