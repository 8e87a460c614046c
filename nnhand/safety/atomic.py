"""Writing files so that a reader never sees half of one: the one place output reaches the disk.

Each writer stages its bytes under a temporary name beside the destination and renames it
into place; on any failure (a full disk, a read-only folder, Ctrl-C) the staged files are
removed and whatever was there before is back.

The temporary names are made private (mkstemp: 0600, mkdtemp: 0700); what is renamed into
place gets the mode the user's umask gives a new file or folder (0666 or 0777 & ~umask), and
a file that replaces another keeps the old one's mode, as an editor would."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from pathlib import Path

from nnhand.errors import NnhandError, OutputError
from nnhand.safety.safetext import one_line


def _umask() -> int:
    """The process's umask. Linux shows it in /proc; elsewhere it can only be read by setting it,
    which is set straight back."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def file_mode(path: Path) -> int:
    """The mode a file written to `path` gets: that of the file it replaces, else 0666 & ~umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def folder_mode() -> int:
    """The mode of a new folder, as mkdir would make it: 0777 & ~umask."""
    return 0o777 & ~_umask()


def check_destination(path: Path) -> Path:
    """The folder a file at `path` would be written in, or an error saying why it cannot be:
    asked before the work that makes the file, so that a bad path fails fast."""
    path = Path(path)
    if path.is_dir():
        raise OutputError("is a folder", where=str(path), fix="Give a file name, e.g. answers.yaml")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError("the folder does not exist", where=str(path), fix=f"Create {directory} first")
    return directory


def write_file(path: Path, text: str | bytes) -> None:
    """Write the whole file or nothing: a temporary file renamed into place."""
    path = Path(path)
    directory = check_destination(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as exc:
        raise OutputError(
            f"cannot write here ({exc.strerror})", where=str(path), fix="Choose a writable folder"
        ) from None
    try:
        os.fchmod(fd, file_mode(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"cannot write ({exc.strerror})", where=str(path), fix="Choose a writable path") from None


def write_files(files: Mapping[Path, str | bytes]) -> None:
    """Write every file or none: each to a temporary name first, then all renamed.

    On any failure (a full disk, a folder without write permission, Ctrl-C) every temporary
    file is removed, a file already renamed into place is taken back (the one it replaced
    restored), and the folders made for the outputs are removed again."""

    made: list[Path] = []  # folders created here, outermost first
    staged: list[tuple[str, Path]] = []
    placed: list[tuple[Path, str | None]] = []  # (output, where the file it replaced waits)
    current: Path | None = None  # the output being written: what an error names
    try:
        for path in files:
            if path.is_dir():
                raise NnhandError("is a folder", where=str(path), fix="Give a file name for this output")
        for path, content in files.items():
            current = path
            for folder in reversed([path.parent, *path.parent.parents]):
                if not folder.exists():
                    folder.mkdir()
                    made.append(folder)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            staged.append((tmp, path))
            os.fchmod(fd, file_mode(path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        for tmp, path in staged:
            current = path
            backup = None
            if os.path.lexists(path):
                fd, backup = tempfile.mkstemp(prefix=f".{path.name}.old.", dir=path.parent)
                os.close(fd)
                os.replace(path, backup)
            placed.append((path, backup))
            os.replace(tmp, path)
    except BaseException as exc:
        for path, backup in reversed(placed):
            with suppress(OSError):  # one failed clean-up step must not stop the others
                if backup is not None:
                    os.replace(backup, path)
                elif path.exists():
                    os.unlink(path)
        for tmp, _ in staged:
            with suppress(OSError):  # one failed clean-up step must not stop the others
                os.unlink(tmp)
        for folder in reversed(made):
            with suppress(OSError):  # one failed clean-up step must not stop the others
                folder.rmdir()
        if isinstance(exc, OSError):
            raise NnhandError(
                f"cannot write the outputs ({exc.strerror}); nothing was written",
                where=str(exc.filename or current or ""),
                fix="Free some space or choose a writable place, then grade again",
            ) from None
        raise
    for _, backup in placed:
        if backup is not None:
            with suppress(OSError):  # one failed clean-up step must not stop the others
                os.unlink(backup)


# ----------------------------------------------------------------------------- worksheet files


def _inside(relative: str) -> str:
    """A path inside the output folder, or an error: never absolute, never up and out."""
    parts = relative.split("/")
    if (
        not relative
        or relative.startswith("/")
        or "\\" in relative
        or ":" in relative
        or any(p in ("", ".", "..") for p in parts)
        or one_line(relative) != relative
    ):
        raise OutputError(
            f"{ascii(relative)[:80]} would be written outside the output folder",
            fix="Every output stays inside --out; check the student ids",
        )
    return relative


def write_folder_atomically(
    out: Path,
    files: Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]],
    ready: Callable[[], None] | None = None,
) -> None:
    """Write the whole folder or nothing: built beside `out`, then renamed into place.

    `files` may also be a stream of (path, content) pairs, made while the folder is being
    written (a class's PDFs as they are typeset): each file is staged as it comes, so the
    whole folder is never in memory at once; should the stream fail (an error, Ctrl-C), the
    staged files are removed as on any other failure. `ready` is called once every file is
    staged and before anything is moved: a last check that may still refuse.

    With `force`, an existing nnhand folder is moved aside first and put back should the new
    one fail to arrive; every temporary folder is removed on every path out."""

    out = Path(out)
    relatives: Iterable[tuple[str, str | bytes]]
    if isinstance(files, Mapping):  # every path checked before anything is staged
        relatives = [(_inside(relative), content) for relative, content in files.items()]
    else:
        relatives = files
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NnhandError(f"cannot create the folder it goes in ({exc.strerror})", where=str(out)) from None
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    except OSError as exc:
        raise NnhandError(f"cannot write here ({exc.strerror})", where=str(out)) from None
    retired: Path | None = None
    old_is_safe = True  # False only while the old folder waits inside `retired`
    try:
        folders = {staging}
        for relative, content in relatives:
            path = staging / _inside(relative)
            if path.parent not in folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                folders.add(path.parent)
            path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        if ready is not None:
            ready()
        os.chmod(staging, folder_mode())  # mkdtemp's 0700 was for staging; the files inside follow the umask
        if os.path.lexists(out):
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.replace(out, retired / out.name)
            old_is_safe = False
            try:
                os.replace(staging, out)
            except BaseException:
                os.replace(retired / out.name, out)
                old_is_safe = True
                raise
        else:
            os.replace(staging, out)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None and old_is_safe:
            shutil.rmtree(retired, ignore_errors=True)
        if isinstance(exc, OSError):
            kept = "" if old_is_safe else f"; the old folder is kept in {retired}"
            raise NnhandError(
                f"cannot write the folder ({exc.strerror}); nothing was written{kept}", where=str(out)
            ) from None
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
