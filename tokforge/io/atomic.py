"""Atomic file writes: a reader sees the old file or the whole new one, never half of it (whole
output folders: ``tokforge.io.folders``), and the one-line errors of failed writes.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> write_atomic(p, '{"x": 1}')
    >>> p.read_text()
    '{"x": 1}'
    >>> oct(p.stat().st_mode & 0o777) == oct(0o666 & ~_umask())   # not mkstemp's 0600
    True
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from tokforge.errors import OutputError


def write_atomic(path: str | os.PathLike, text: str | bytes) -> None:
    """Write ``text`` (str as UTF-8, or bytes as they are) to ``path`` through a temporary file in
    the same folder and a rename."""
    path = Path(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        make_folders(path.parent, f"cannot write {path}")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise output_error(e, str(path), "nothing was written", len(data)) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise output_error(e, str(path), f"{path} was left as it was", len(data)) from None
        raise


def make_folders(folder: Path, what: str) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created, outermost first. OutputError
    (starting with ``what``) if a path on the way is a file; other failures raise OSError."""
    missing = []
    for f in [folder, *folder.parents]:
        if os.path.lexists(f):
            if not f.is_dir():
                raise OutputError(f"{what}: {f} is a file, not a folder; give another output folder")
            break
        missing.append(f)
    made: list[Path] = []
    try:
        for f in reversed(missing):
            os.mkdir(f)
            made.append(f)
    except OSError:
        for f in reversed(made):
            os.rmdir(f)
        raise
    return made


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def output_error(e: OSError, writing: str, outcome: str, size: int | None = None,
                 where: str | os.PathLike | None = None) -> OutputError:
    """The one-line error for ``e`` while writing ``writing``: why, for a full disk how much space
    it needed and was free (``where``: a path on that file system), then ``outcome`` (what became
    of the output, e.g. "out/ was left as it was")."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        free = _free_bytes(where or e.filename or writing)
        need = ", ".join(s for s in (f"{_size_text(size)} to write" if size is not None else "",
                                     f"{_size_text(free)} free there" if free is not None else "") if s)
        what = "no space left on the device" if e.errno == errno.ENOSPC else "disk quota exceeded"
        return OutputError(f"{what} writing {writing}{f' ({need})' if need else ''}: free some space or write "
                           f"elsewhere; {outcome}")
    return OutputError(f"cannot write {writing}: {e.strerror or e}; choose a place you can write to; "
                       f"{outcome}")


def _free_bytes(path: str | os.PathLike) -> int | None:
    for folder in [Path(path), *Path(path).parents]:
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


def _size_text(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:,} bytes"
