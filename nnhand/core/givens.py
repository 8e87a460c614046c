"""Numbers a person supplies (`--givens FILE`): read them as an instance of a template.

A published worked example goes in as written, without naming its sizes:

- **sizes from shapes**: every size param a given's shape names is read off the value
  (a 2x2 A and a 2x3 B make matmul's m=2, k=2, n=3); a param may also be written in the
  file (`capacity: 2`, or under `params:`) or passed as `--param`; disagreements name both
  sources;
- **conditional parts**: params that decide which givens exist (`when:` in the template:
  an optional bias, the number of layers) are chosen so that the givens supplied are the
  ones the template takes;
- **fixed givens are defaults**: an h0 or an η the template fixes may be left out (its
  value is used) or supplied (validated, and used: the sheet's text follows it);
- **augmented weights**: `[W | b]` written as one matrix (core.augment);
- **a vocabulary**: an embedding table written as {word: vector}, or a `vocabulary:` list,
  defines the words of a word template;
- every unknown, missing and mis-shaped name is reported at once, each with the shape it
  needs and an example.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nnhand.core.expr import evaluate_scalar
from nnhand.core.template import VOCABULARY_SIZE, WORD_PATTERN, BoundedCache, Given, Template
from nnhand.errors import CellError, GivensError, NnhandError, TemplateError
from nnhand.values import Shape, grid_shape, normalize

PARAMS_KEY = "params"
VOCABULARY_KEY = "vocabulary"
MAX_CHOICES = 4096  # combinations of conditional params tried to match the givens supplied


@dataclass(frozen=True)
class Instance:
    """Givens as read: the template decided for their params (and vocabulary), the params,
    and every given as an exact (rows, cols) grid."""

    template: Template
    params: dict[str, int]
    grids: dict[str, np.ndarray]


def read_instance(
    template: Template,
    raw: Any,
    params: Mapping[str, int | str] | None = None,
    where: str = "givens",
) -> Instance:
    """Read a person's givens (see the module docstring); GivensError lists every problem."""
    if not isinstance(raw, Mapping):
        raise GivensError(
            f"expected a mapping of given names to values, not {type(raw).__name__}",
            where=where,
            fix=f"{template.id} takes: {', '.join(template.givens)}",
        )
    problems: list[str] = []
    values = dict(raw)
    written = _written_params(template, values, problems)
    explicit = _explicit_params(template, written, params, where)
    template = _with_vocabulary(template, values, problems)
    values = _augmented_split(template, values, explicit, where, problems)
    decided, chosen = _decide_conditions(template, values, explicit)
    inferred = _infer_sizes(decided, values, explicit, problems)
    sizes = {**chosen, **inferred, **explicit}
    if problems:
        raise _all(problems, where, template)
    try:
        resolved = template.resolve_params(sizes, where=where)
    except TemplateError as exc:
        raise GivensError(exc.message, where=where, fix=exc.fix) from None
    decided = template.for_params(resolved)
    grids = _grids(decided, values, resolved, where, problems)
    if problems:
        raise _all(problems, where, decided)
    return Instance(decided, resolved, grids)


def read_given(template: Template, name: str, raw: Any, shape: Shape, where: str) -> np.ndarray:
    """A given as a person wrote it (numbers, words, a word -> vector mapping) as a grid."""
    from nnhand.core.reading import read_grid, read_words

    given = template.givens[name]
    if given.words:
        return read_words(raw, shape, template.vocabulary, where, name)
    if isinstance(raw, Mapping) and _by_word(template, given):
        raw = _columns_by_word(raw, template.vocabulary, where, name)
    return read_grid(raw, shape, where, name)


def _by_word(template: Template, given: Given) -> bool:
    """Whether a given has a column per word of the vocabulary (an embedding table)."""
    return bool(template.vocabulary) and isinstance(given.cols, tuple) and given.cols == template.vocabulary


def _columns_by_word(raw: Mapping[str, Any], vocabulary: tuple[str, ...], where: str, name: str) -> list[Any]:
    """An embedding table written as {word: vector}: the matrix with a column per word."""
    unknown = [str(w)[:40] for w in raw if w not in vocabulary]
    missing = [w for w in vocabulary if w not in raw]
    if unknown or missing:
        problem = "; ".join(
            ([f"not in the vocabulary: {', '.join(unknown[:8])}"] if unknown else [])
            + ([f"missing: {', '.join(missing[:8])}"] if missing else [])
        )
        raise GivensError(
            f"the words of the table do not match the vocabulary ({problem})",
            where=f"{where}: {name}",
            fix=f"Give one vector per word: {', '.join(vocabulary)}; or list your own words under 'vocabulary:'",
        )
    columns = [raw[w] for w in vocabulary]
    if not all(isinstance(c, list) for c in columns) or len({len(c) for c in columns}) != 1:
        raise GivensError("every word needs a vector of the same length", where=f"{where}: {name}")
    return [list(row) for row in zip(*columns)]


STDIN = "-"  # --givens - reads standard input


def read_givens_file(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """A YAML or JSON mapping of given names to values (read through safeio: a regular file,
    or standard input for `-`, of at most 1 MB, strict YAML)."""
    from nnhand.safety.safeio import MAX_INPUT_BYTES, decode_text, load_yaml, read_capped_stream, read_yaml_file

    if str(path) == STDIN:
        text = decode_text(read_capped_stream(MAX_INPUT_BYTES, GivensError, "the givens"), "stdin", GivensError)
        data = load_yaml(text, "stdin", GivensError)
    else:
        data = read_yaml_file(path, MAX_INPUT_BYTES, GivensError, what="a givens file")
    if not isinstance(data, Mapping):
        raise GivensError(
            "is not a mapping of names to values", where=str(path), fix="Write one line per given, e.g. x: [1, 2, 3]"
        )
    if "givens" in data and isinstance(data["givens"], Mapping):
        data = data["givens"]  # an answer file or a key: take its givens
    return dict(data)


# ----------------------------------------------------------------------------- params


def _written_params(template: Template, values: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Params written in the givens file (`capacity: 2`, or a `params:` mapping), taken out."""
    written: dict[str, Any] = {}
    block = values.pop(PARAMS_KEY, None) if PARAMS_KEY not in template.givens else None
    if block is not None:
        if not isinstance(block, Mapping):
            problems.append(f"'{PARAMS_KEY}' should map param names to values, e.g. {PARAMS_KEY}: {{n: 3}}")
        else:
            written.update(block)
    for name in list(values):
        if name in template.params and name not in template.givens:
            written[name] = values.pop(name)
    return written


def _explicit_params(
    template: Template, written: Mapping[str, Any], options: Mapping[str, int | str] | None, where: str
) -> dict[str, int]:
    """The params the file and --param set, checked; a param set differently in both is an error."""
    try:
        from_file = template.resolve_params(written, where=where) if written else {}
        from_options = template.resolve_params(options, where="--param") if options else {}
    except TemplateError as exc:
        raise GivensError(exc.message, where=exc.where or where, fix=exc.fix) from None
    out = {k: from_file[k] for k in written if k in template.params}
    for name in options or {}:
        value = from_options[name]
        if name in out and out[name] != value:
            p = template.params[name]
            raise GivensError(
                f"the file sets {name} = {p.shown(out[name])} but --param sets {name} = {p.shown(value)}",
                where=where,
                fix="Keep one of them",
            )
        out[name] = value
    return out


def _decide_conditions(
    template: Template, values: Mapping[str, Any], explicit: Mapping[str, int], implied: frozenset[str] = frozenset()
) -> tuple[Template, dict[str, int]]:
    """Choose the params that `when` conditions read (and the file does not set) so that the
    givens the template then takes are the ones supplied (with `implied`: names counted as
    supplied, a b written inside [W | b]): the first match, nearest the defaults. Returns the
    decided template and the params chosen."""
    if not template.conditional:
        return template, {}
    deciding = sorted(n for n in template.deciding_params if n not in explicit)
    defaults = template.resolve_params(explicit)
    supplied = set(values) | implied

    def options(name: str) -> list[int]:
        p = template.params[name]
        return sorted(range(p.low, p.high + 1), key=lambda v: (v != p.default, abs(v - p.default), v))

    best: tuple[Template, dict[str, int]] | None = None
    for combo in itertools.islice(itertools.product(*(options(n) for n in deciding)), MAX_CHOICES):
        chosen = dict(zip(deciding, combo))
        try:
            decided = template.for_params({**defaults, **chosen})
        except TemplateError:
            continue
        required = {n for n, g in decided.givens.items() if g.dist.kind != "fixed"}
        if required <= supplied and _unknown(decided, supplied - implied) == []:
            return decided, chosen
        if best is None:
            best = (decided, chosen)
    return best if best is not None else (template.for_params(defaults), {})


def _augmented_split(
    template: Template, values: dict[str, Any], explicit: Mapping[str, int], where: str, problems: list[str]
) -> dict[str, Any]:
    """Every [W | b] written as one matrix, split (core.augment). A W written with one extra
    column and its b left out is told from a W of the right shape only where the other givens
    fix W's sizes: they are read first, without it."""
    from nnhand.core.augment import pairs

    # A b missing beside its W may be inside W ([W | b] written as one matrix) where a `when`
    # decides whether biases exist: read it so first, and as no bias where that does not fit.
    implied = frozenset(
        p.bias
        for p in pairs(template)
        if p.bias not in values and (p.weights in values or any(k in values for k in p.keys))
    )
    if implied:
        found: list[str] = []
        split = _split_for(template, values, explicit, where, found, implied)
        if all(b in split for b in implied) or not template.conditional:
            problems.extend(found)
            return split
    return _split_for(template, values, explicit, where, problems, frozenset())


def _split_for(
    template: Template,
    values: dict[str, Any],
    explicit: Mapping[str, int],
    where: str,
    problems: list[str],
    implied: frozenset[str],
) -> dict[str, Any]:
    from nnhand.core.augment import pairs, split_augmented

    decided, chosen = _decide_conditions(template, values, explicit, implied)
    ambiguous = {
        p.weights
        for p in pairs(decided)
        if p.weights in values and p.bias not in values and not any(k in values for k in p.keys)
    }
    shapes: dict[str, Shape] = {}
    if ambiguous:
        known = {**chosen, **_infer_sizes(decided, values, explicit, [], rows_only=ambiguous), **explicit}
        for name in ambiguous:
            spec = decided.givens[name].shape
            if all(isinstance(d, int) or str(d).strip() in known for d in spec):
                sizes = decided.sizes(decided.resolve_params(known))
                shapes[name] = tuple(d if isinstance(d, int) else sizes[str(d).strip()] for d in spec)
    split, messages = split_augmented(
        decided, {k: v for k, v in values.items() if k not in ambiguous - set(shapes)}, where, shapes=shapes
    )
    problems.extend(m.removeprefix(f"{where}: ") for m in messages)
    kept = {k: values[k] for k in ambiguous - set(shapes)}  # sizes unknown: read as written
    return {**split, **kept}


def _unknown(template: Template, supplied: set[str]) -> list[str]:
    return sorted(n for n in supplied if n not in template.givens)


def _with_vocabulary(template: Template, values: dict[str, Any], problems: list[str]) -> Template:
    """The template with the vocabulary the givens define: a `vocabulary:` list, or the words
    of an embedding table written as {word: vector}."""
    if not template.vocabulary:
        return template
    words: Any = values.pop(VOCABULARY_KEY, None) if VOCABULARY_KEY not in template.givens else None
    if words is None:
        tables = [values[n] for n, g in template.givens.items() if _by_word(template, g) and n in values]
        table = next((t for t in tables if isinstance(t, Mapping)), None)
        if table is None or set(table) == set(template.vocabulary):
            return template
        words = list(table)
    if isinstance(words, str):
        words = words.split()
    if (
        not isinstance(words, list)
        or not 2 <= len(words) <= 32
        or not all(isinstance(w, str) and WORD_PATTERN.match(w) for w in words)
        or len(set(words)) != len(words)
    ):
        problems.append(f"'{VOCABULARY_KEY}' should list 2 to 32 different words (letters, ' and -): [I, am, here]")
        return template
    vocabulary = tuple(words)
    givens = {n: replace(g, cols=vocabulary) if _by_word(template, g) else g for n, g in template.givens.items()}
    return replace(template, vocabulary=vocabulary, givens=givens, cache=BoundedCache())  # its own work


# ----------------------------------------------------------------------------- sizes from shapes


def _infer_sizes(
    template: Template,
    values: Mapping[str, Any],
    explicit: Mapping[str, int],
    problems: list[str],
    rows_only: frozenset[str] | set[str] = frozenset(),
) -> dict[str, int]:
    """Every size param a supplied given's shape names, read off its value; conflicts between
    two givens, or with a param set explicitly, and sizes out of range go to `problems`.
    For the givens in `rows_only` (a W that may carry its b as an extra column) only the
    rows count."""
    found: dict[str, tuple[int, str]] = {}
    deferred: list[tuple[str, int, str]] = []
    for name, given in template.givens.items():
        if name not in values:
            continue
        dims = written_dims(template, given, values[name])
        if name in rows_only:
            dims = dims[:1] + [None] * (len(dims) - 1)
        for axis, (entry, dim) in enumerate(zip(given.shape, dims)):
            if dim is None or isinstance(entry, int):
                continue
            what = _axis_words(given, axis, dim)
            source = f"{name} has {what}"
            entry = str(entry).strip()
            if entry in template.params:
                _bind(template, found, explicit, entry, dim, source, problems)
            elif entry != VOCABULARY_SIZE:
                deferred.append((entry, dim, source))
    defaults = template.resolve_params(explicit)
    for entry, dim, source in deferred:  # a size expression such as `n + 1`: solved for one unknown
        unknowns = [p for p in template.params.values() if p.name in entry and p.name not in found]
        if len(unknowns) != 1:
            continue
        p = unknowns[0]
        known = {k: v for k, (v, _) in found.items()}
        fits = [
            v
            for v in range(p.low, p.high + 1)
            if _size_or_none(entry, template.sizes({**defaults, **known, p.name: v})) == dim
        ]
        if len(fits) == 1:
            _bind(template, found, explicit, p.name, fits[0], source, problems)
    return {k: v for k, (v, _) in found.items() if k not in explicit}


def _bind(
    template: Template,
    found: dict[str, tuple[int, str]],
    explicit: Mapping[str, int],
    name: str,
    value: int,
    source: str,
    problems: list[str],
) -> None:
    p = template.params[name]
    doc = f" ({p.doc})" if p.doc else ""
    if name in explicit and explicit[name] != value:
        problems.append(f"{source}, so {name} = {value}, but {name} = {explicit[name]} is set: drop one of them")
        return
    if name in found and found[name][0] != value:
        problems.append(
            f"{found[name][1]} (so {name}{doc} = {found[name][0]}) but {source} (so {name} = {value}): "
            "their sizes must agree"
        )
        return
    if not p.low <= value <= p.high:
        problems.append(f"{source}: {name}{doc} = {value} is outside the template's range {p.low}..{p.high}")
        return
    found.setdefault(name, (value, source))


def _size_or_none(entry: str, sizes: Mapping[str, int]) -> int | None:
    try:
        return evaluate_scalar(entry, sizes)
    except NnhandError:
        return None


def _axis_words(given: Given, axis: int, dim: int) -> str:
    if len(given.shape) == 1:
        return f"{dim} {'words' if given.words else 'entries'}"
    return f"{dim} {'rows' if axis == 0 else 'columns'}"


def written_dims(template: Template, given: Given, raw: Any) -> list[int | None]:
    """The size of each axis of a given as written (None where the writing does not say)."""
    spec = given.shape
    if len(spec) == 0:
        return []
    if isinstance(raw, Mapping):
        if _by_word(template, given) and raw and all(isinstance(v, list) for v in raw.values()):
            first = next(iter(raw.values()))
            return [len(first), len(raw)] if len(spec) == 2 else [None]
        return [None] * len(spec)
    if len(spec) == 1:
        return [_length(raw, given.words)]
    if isinstance(raw, str):
        rows = _text_rows(raw)
        if rows is None:
            if spec[0] == 1:
                return [1, _length(raw, given.words)]
            return [_length(raw, given.words), 1] if spec[1] == 1 else [None, None]
        return [len(rows), _length(rows[0], given.words)]
    if not isinstance(raw, list) or not raw:
        return [None, None]
    if all(isinstance(row, (list, str)) for row in raw):
        return [len(raw), _length(raw[0], given.words)]
    if not any(isinstance(v, (list, dict)) for v in raw):  # flat numbers: a row or a column
        if spec[0] == 1:
            return [1, len(raw)]
        if spec[1] == 1:
            return [len(raw), 1]
    return [None, None]


def _text_rows(text: str) -> list[str] | None:
    from nnhand.core.reading import split_matrix

    return split_matrix(text)


def _length(raw: Any, words: bool) -> int | None:
    """How many cells one row (or a vector) holds as written."""
    if isinstance(raw, list):
        if len(raw) == 1 and isinstance(raw[0], list):
            return len(raw[0])  # [[1, 2, 3]]: a row written for a vector
        return len(raw)
    if isinstance(raw, str):
        text = raw.strip().strip("[]")
        if words:
            return len(text.split())
        parts = [p for p in text.split(",") if p.strip()] if "," in text else text.split()
        return len(parts) or None
    return None


# ----------------------------------------------------------------------------- the grids


def _grids(
    template: Template, values: Mapping[str, Any], params: Mapping[str, int], where: str, problems: list[str]
) -> dict[str, np.ndarray]:
    """Every given as an exact grid; a fixed given left out takes the template's value.
    Unknown, missing and unreadable givens go to `problems`, all of them."""
    shapes = template.given_shapes(params)
    for name in _unknown(template, set(values)):
        problems.append(f"unknown given '{name[:40]}'")
    grids: dict[str, np.ndarray] = {}
    for name, given in template.givens.items():
        shape = shapes[name]
        if name not in values:
            if given.dist.kind == "fixed":
                grids[name] = normalize(given.dist.typical((1, *grid_shape(shape)))[0])
            else:
                problems.append(f"missing given '{name}': {expected(template, name, shape)}")
            continue
        try:
            grids[name] = normalize(read_given(template, name, values[name], shape, where))
        except (CellError, GivensError) as exc:
            at = exc.where.removeprefix(f"{where}: ") if exc.where else name
            hint = "" if at != name else f" ({expected(template, name, shape)})"
            problems.append(f"{at}: {exc.message}{hint}")
    return grids


def expected(template: Template, name: str, shape: Shape) -> str:
    """What a given needs, with an example: `W1: a 4x3 matrix, e.g. W1: [[1, 0, -1], ...]`."""
    from nnhand.core.reading import example, shape_words

    given = template.givens[name]
    if given.words:
        count = grid_shape(shape)[1] if len(shape) == 2 else grid_shape(shape)[0]
        words = " ".join(template.vocabulary[: max(1, count)])
        return f"{'rows of ' if len(shape) == 2 else ''}{count} words, e.g. {name}: {words}"
    return f"{shape_words(shape)}, e.g. {name}: {example(shape)}"


def _all(problems: list[str], where: str, template: Template) -> GivensError:
    """One error listing every problem (deduplicated, at most 20)."""
    unique = list(dict.fromkeys(problems))
    sizes = ", ".join(f"{p.name} ({p.doc or 'size'}: {p.range_text()})" for p in template.params.values())
    fix = f"{template.id} takes: {', '.join(template.givens)}"
    if sizes:
        fix += f"; sizes are read from the givens' shapes, or set them with --param (params: {sizes})"
    if len(unique) == 1:
        return GivensError(unique[0], where=where, fix=fix)
    shown = unique[:20] + ([f"... and {len(unique) - 20} more"] if len(unique) > 20 else [])
    message = f"{len(unique)} problems:\n" + "\n".join(f"  - {p}" for p in shown)
    return GivensError(message, where=where, fix=fix)
