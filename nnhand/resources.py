"""Where templates live. Standard library only: shell completion imports this.

One function decides the search path: the directories a user names (`--problems-dir`,
then `NNHAND_PROBLEMS`), then the templates shipped in the installed package, then the
`problems/` folder of a source checkout. An earlier directory wins when two define an id,
so an instructor can override a built-in exercise.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

from nnhand.errors import TemplateNotFoundError

ENV_VAR = "NNHAND_PROBLEMS"
SUFFIXES = (".yaml", ".yml")
_PACKAGE_DIR = Path(__file__).resolve().parent


def builtin_dir() -> Path | None:
    """The shipped templates: package data in a wheel, or the checkout's problems/."""
    for candidate in (_PACKAGE_DIR / "problems", _PACKAGE_DIR.parent / "problems"):
        if candidate.is_dir():
            return candidate
    return None


def search_path(extra: Iterable[str | os.PathLike[str]] = ()) -> list[Path]:
    dirs = [Path(d) for d in extra]
    env = os.environ.get(ENV_VAR, "")
    dirs += [Path(d) for d in env.split(os.pathsep) if d.strip()]
    shipped = builtin_dir()
    if shipped is not None:
        dirs.append(shipped)
    return dirs


def template_files(extra: Iterable[str | os.PathLike[str]] = ()) -> dict[str, Path]:
    """Every template id on the search path and its file (without parsing any YAML)."""
    found: dict[str, Path] = {}
    for directory in search_path(extra):
        try:
            entries = sorted(directory.iterdir()) if directory.is_dir() else []
        except OSError:  # a folder that cannot be listed holds no template we can read
            continue
        for path in entries:
            if path.suffix in SUFFIXES and not path.name.startswith((".", "_")):
                found.setdefault(path.stem, path)
    return found


def check_dirs(extra: Iterable[str | os.PathLike[str]]) -> None:
    """Fail clearly on a --problems-dir (or NNHAND_PROBLEMS entry) that is not a folder."""
    env = [d for d in os.environ.get(ENV_VAR, "").split(os.pathsep) if d.strip()]
    for source, dirs in (("--problems-dir", list(extra)), (ENV_VAR, env)):
        for d in dirs:
            if not Path(d).is_dir():
                raise TemplateNotFoundError(
                    f"{source} {d}: no such folder", fix="Name a folder that holds <id>.yaml templates"
                )


def user_dirs(extra: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The folders a user named (--problems-dir), checked together with NNHAND_PROBLEMS; the
    variable itself is not among them: search_path adds it, and it is read nowhere else."""
    dirs = [str(d) for d in extra]
    check_dirs(dirs)
    return dirs


def find_template(template_id: str, extra: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """The file defining `template_id`, or a file path given directly."""
    direct = Path(template_id)
    if direct.suffix in SUFFIXES and direct.is_file():
        return direct
    files = template_files(extra)
    if template_id in files:
        return files[template_id]
    close = difflib.get_close_matches(template_id, files, n=3, cutoff=0.5)
    close += [i for i in files if template_id and template_id in i and i not in close][:3]
    hint = f"Did you mean {', '.join(close[:3])}?" if close else "Run 'nnhand list' to see them"
    raise TemplateNotFoundError(f"unknown template '{template_id}'", fix=hint)
