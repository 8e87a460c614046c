"""One registry per family of formats: a format is added in one place, and the CLI's choices,
its help text and its dispatch are all read from here.

The registry holds names, help lines and where each renderer lives ("module:function"); the
renderer is imported on first use, so `nnhand --help` and shell completion stay light
(no numpy, no rich tables). In the manner of pip-audit's `VulnerabilityFormat` classes:
every member of a family takes the same arguments and returns the text (or bytes) to write.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any, NamedTuple

from nnhand.errors import UsageError


class Format(NamedTuple):
    """One output format of a family: its name, one help line, and where its renderers live.
    A NamedTuple, not a dataclass: the CLI builds every registry at start-up, where the
    dataclass machinery would cost more than the rest of the registries together."""

    name: str
    help: str
    render: str  # "module:function": the renderer of a result
    render_error: str | None = None  # "module:function": what to write when the input itself is bad
    binary: bool = False  # the renderer returns bytes (a PDF), not text
    files: bool = False  # the renderer returns a folder: {relative file name: text or bytes}

    def renderer(self) -> Callable[..., Any]:
        return _load(self.render)

    def error_renderer(self) -> Callable[..., Any] | None:
        """The renderer of an error, where this format must still be a valid file (a CI report)."""
        return _load(self.render_error) if self.render_error else None


def _load(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn


class Registry:
    """The formats of one family, in the order the help lists them."""

    def __init__(self, family: str, formats: list[Format]):
        self.family = family
        self._formats = {f.name: f for f in formats}
        if len(self._formats) != len(formats):
            raise ValueError(f"{family}: a format name is registered twice")

    def __iter__(self) -> Iterator[Format]:
        return iter(self._formats.values())

    def __contains__(self, name: object) -> bool:
        return name in self._formats

    def names(self) -> tuple[str, ...]:
        return tuple(self._formats)

    def get(self, name: str) -> Format:
        try:
            return self._formats[name]
        except KeyError:
            raise UsageError(
                f"unknown {self.family} format {name!r}", fix=f"Choose one of: {', '.join(self._formats)}"
            ) from None

    def choices(self, enum_name: str) -> type[Enum]:
        """A str Enum of the names, for Typer to offer, complete and check."""
        return choice_enum(enum_name, self.names())

    def help(self) -> str:
        """One phrase listing the choices, for an option's help: "terminal, json or junit"."""
        return choice_phrase(self.names())


def choice_enum(enum_name: str, names: tuple[str, ...]) -> type[Enum]:
    """A str Enum whose members are `names` (value = name): how Typer offers a fixed list."""
    return Enum(enum_name, {name: name for name in names}, type=str)  # type: ignore[return-value]


def choice_phrase(names: tuple[str, ...]) -> str:
    """The names as a phrase: "terminal", "terminal or json", "terminal, json or junit"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
