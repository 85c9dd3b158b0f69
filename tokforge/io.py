"""Atomic file writes: a reader sees the old file or the whole new one, never half of it.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> write_atomic(p, '{"x": 1}')
    >>> p.read_text()
    '{"x": 1}'
    >>> oct(p.stat().st_mode & 0o777) == oct(0o666 & ~_umask())   # not mkstemp's 0600
    True
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tokforge.errors import TokforgeError


def write_atomic(path: str | os.PathLike, text: str | bytes) -> None:
    """Write ``text`` (str as UTF-8, or bytes as they are) to ``path`` through a temporary file in
    the same folder and a rename."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise TokforgeError(f"cannot write {path}: {e.strerror}; check the folder exists and is writable") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with (os.fdopen(fd, "wb") if isinstance(text, bytes) else
              os.fdopen(fd, "w", encoding="utf-8", newline="")) as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_files(files: dict[str, Any], folder: str | os.PathLike) -> list[Path]:
    """Serialize every document first, then write each atomically into ``folder``."""
    texts = {name: json.dumps(obj, ensure_ascii=False, indent=2) + "\n" for name, obj in files.items()}
    written = []
    for name, text in texts.items():
        write_atomic(Path(folder) / name, text)
        written.append(Path(folder) / name)
    return written
