"""Reading files a stranger wrote: bounded, regular files only, strict YAML.

Every file nnhand reads from a user (answer files, templates, givens, manifests, rosters,
secrets) comes through here, so that one set of rules holds everywhere:

- only regular files: a device (/dev/zero), a FIFO or a socket would block or never end;
- a size cap checked before parsing, and again while reading (a file may grow meanwhile);
- YAML without anchors or aliases (an alias bomb expands a few lines into gigabytes) and
  without duplicate keys (YAML keeps the last silently; a grader must not guess);
- structures nested beyond a depth are refused with a message, not a traceback; an integer
  beyond Python's 4,300-digit limit is kept as its text, so that only the one value holding
  it is refused (by the reader of that cell or key), never the whole file.

Standard library at import; yaml loads inside the functions that parse.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from nnhand.errors import NnhandError

# The one size limit of a file a person hands nnhand (a template, an answer file, a givens
# file): 1 MB, a hundred times the largest shipped template.
MAX_INPUT_BYTES = 1_000_000
MAX_DEPTH = 16  # nnhand's files nest four or five levels; anything deeper is not one of them


def read_capped(
    path: str | os.PathLike[str],
    limit: int,
    error: type[NnhandError],
    what: str = "file",
    fix: str | None = None,
) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or `error` naming the file."""
    where = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error("no such file", where=where, fix=fix or "Check the path") from None
    except OSError as exc:
        raise error(f"cannot read ({exc.strerror})", where=where) from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"is a folder ({what} expected)", where=where, fix=fix)
    if not stat.S_ISREG(info.st_mode):
        raise error(
            f"is not a regular file (a device, pipe or socket; {what} expected)",
            where=where,
            fix="Save the content to a file and give its path",
        )
    if info.st_size > limit:
        raise error(f"is {_size(info.st_size)}, over the {_size(limit)} limit ({what})", where=where)
    try:
        # O_NONBLOCK: should the path be swapped for a FIFO after the check, open() must not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            # read(n) allocates n bytes up front: ask for the size stat gave, not the cap (200 MB
            # for a manifest), and read on only should the file have grown since.
            data = handle.read(min(limit, info.st_size) + 1)
            if len(data) > info.st_size:
                data += handle.read(limit + 1 - len(data))
    except OSError as exc:
        raise error(f"cannot read ({exc.strerror})", where=where) from None
    if len(data) > limit:
        raise error(f"is over the {_size(limit)} limit ({what})", where=where)
    return data


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.3g} MB"
    if n >= 1000:
        return f"{n / 1000:.3g} kB"
    return f"{n} bytes"


def decode_text(raw: bytes, where: str, error: type[NnhandError]) -> str:
    """UTF-8 text (a byte-order mark is dropped); binary or other encodings are refused."""
    if b"\x00" in raw:
        raise error("is a binary file, not text", where=where)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"is not UTF-8 text (byte {exc.start + 1})", where=where, fix="Save the file as UTF-8") from None


def load_yaml(text: str, where: str, error: type[NnhandError]) -> Any:
    """Parse YAML strictly: no anchors or aliases, no duplicate keys, bounded depth and numbers.

    Errors name the line (`file:LINE`) and, for a duplicate key, both lines."""
    import yaml

    loader_class = _strict_loader_class()
    loader = loader_class(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _syntax_error(exc, where, error) from None
        except RecursionError:
            raise error(f"is nested more than {MAX_DEPTH} levels deep", where=where) from None
        if node is None:
            return None
        _check_tree(node, where, error)
        try:
            return loader.construct_document(node)
        except _DuplicateKey as dup:
            raise error(
                f"the key '{dup.key}' appears twice (lines {dup.first} and {dup.second})",
                where=f"{where}:{dup.second}",
                fix="Keep one of them",
            ) from None
        except ValueError:  # int() beyond Python's digit limit
            raise error("holds a number with more than 4,300 digits", where=where, fix="Use smaller numbers") from None
        except yaml.YAMLError as exc:
            raise _syntax_error(exc, where, error) from None
    finally:
        loader.dispose()


def _syntax_error(exc: Exception, where: str, error: type[NnhandError]) -> NnhandError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return error(f"is not valid YAML: {problem}", where=_at(where, mark), fix="Fix the YAML at that line")


def _at(where: str, mark: Any) -> str:
    return f"{where}:{mark.line + 1}:{mark.column + 1}" if mark is not None else where


class _DuplicateKey(Exception):
    def __init__(self, key: str, first: int, second: int):
        self.key, self.first, self.second = key, first, second


def _check_tree(root: Any, where: str, error: type[NnhandError]) -> None:
    """Walk the composed nodes once: an alias is a node reached twice; depth is bounded."""
    import yaml

    seen: set[int] = set()
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen or getattr(node, "anchor", None):
            raise error(
                "uses a YAML anchor or alias (& or *)",
                where=f"{where}:{node.start_mark.line + 1}",
                fix="Write every value out in full",
            )
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise error(f"is nested more than {MAX_DEPTH} levels deep", where=f"{where}:{node.start_mark.line + 1}")
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                stack.append((key_node, depth + 1))
                stack.append((value_node, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)


_LOADER: list[Any] = []


def _strict_loader_class() -> Any:
    """A safe loader (the C one where installed) whose mappings refuse duplicate keys."""
    if _LOADER:
        return _LOADER[0]
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc, valid-type]
        pass

    def construct_mapping(loader: Any, node: Any) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        lines: dict[Any, int] = {}
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a key that is a list or mapping", key_node.start_mark
                ) from None
            line = key_node.start_mark.line + 1
            if key in lines:
                raise _DuplicateKey(str(key)[:60], lines[key], line)
            lines[key] = line
            out[key] = loader.construct_object(value_node, deep=True)
        return out

    def construct_int(loader: Any, node: Any) -> Any:
        # An integer beyond Python's 4,300-digit limit stays the text it was, so that the one
        # value holding it is refused by whoever reads it (a cell, a key), not the whole file.
        try:
            return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
        except ValueError:
            return str(node.value)

    StrictLoader.add_constructor("tag:yaml.org,2002:map", construct_mapping)
    StrictLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
    _LOADER.append(StrictLoader)
    return StrictLoader


def read_capped_stream(limit: int, error: type[NnhandError], what: str = "the input") -> bytes:
    """Standard input (`--givens -`), at most `limit` bytes: more is refused, not read on."""
    import sys

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise error("standard input is not available", where="stdin", fix="Give the path of a file instead of -")
    try:
        data: bytes = stream.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read ({exc.strerror})", where="stdin") from None
    if len(data) > limit:
        raise error(f"is over the {_size(limit)} limit ({what})", where="stdin")
    return data


def read_yaml_file(
    path: str | os.PathLike[str], limit: int, error: type[NnhandError], what: str = "file", fix: str | None = None
) -> Any:
    """read_capped + decode_text + load_yaml: a user's YAML (or JSON) file, parsed strictly."""
    raw = read_capped(path, limit, error, what, fix)
    return load_yaml(decode_text(raw, str(path), error), str(path), error)
