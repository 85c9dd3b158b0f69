"""Where numba keeps the compiled kernels, chosen before the first kernel is defined, so that tokforge
runs from a read-only install.

numba's ``cache=True`` writes beside the source (``kernels/__pycache__``) or into a user-wide folder,
and when it can write to neither it fails on import (``cannot cache function 'mix64': no locator
available``). Every kernel module passes ``cache=CACHE`` from here to ``nb.njit``; importing this
module picks the first writable folder of

1. ``NUMBA_CACHE_DIR``, when set (numba's own setting);
2. ``__pycache__`` beside the kernels (numba's default);
3. ``$XDG_CACHE_HOME/tokforge/numba`` (by default ``~/.cache/tokforge/numba``);
4. ``tokforge-numba-<uid>`` in the temporary folder, if this user owns it and no one else may write it
   (the cache holds pickles: a folder that others can write is never used);

and points ``numba.config.CACHE_DIR`` at 3 or 4 when it comes to them. With no writable folder the
kernels are compiled anew in each process (``CACHE`` is False), after a one-line notice on stderr.

    >>> isinstance(CACHE, bool), CACHE_FOLDER is None or CACHE_FOLDER.is_dir()
    (True, True)
"""
from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

import numba


def _writable(folder: Path) -> bool:
    """Whether ``folder`` exists or can be made, and takes a file (numba's own test)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
        return True
    except OSError:
        return False


def _user_cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path("~/.cache").expanduser()) / "tokforge" / "numba"


def _private_temp_folder() -> Path | None:
    """``tokforge-numba-<uid>`` in the temporary folder, made private; None if it is not (someone
    else made it, or may write to it) or there is no temporary folder."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        folder = Path(tempfile.gettempdir()) / ("tokforge-numba" + (f"-{uid}" if uid is not None else ""))
        folder.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:  # FileNotFoundError from gettempdir included
        return None
    private = stat.S_ISDIR(info.st_mode) and (uid is None or (info.st_uid == uid and not info.st_mode & 0o022))
    return folder if private else None


def _choose() -> tuple[bool, Path | None]:
    """(cache or not, the folder) -- and point numba at the folder when it is not numba's own choice."""
    in_tree = Path(__file__).resolve().parent / "__pycache__"
    user_given = Path(numba.config.CACHE_DIR) if numba.config.CACHE_DIR else None
    for folder in (user_given, in_tree):
        if folder is not None and _writable(folder):
            return True, folder              # numba tries NUMBA_CACHE_DIR, then the in-tree folder, itself
    tried = [str(f) for f in (user_given, in_tree) if f is not None]
    for folder in (_user_cache_folder(), _private_temp_folder()):
        if folder is not None and _writable(folder):
            numba.config.CACHE_DIR = str(folder)
            return True, folder
        tried.append(str(folder) if folder is not None else "a private folder in the temporary folder")
    print(f"tokforge: notice: no writable folder for numba's compile cache (tried {', '.join(tried)}): the kernels "
          "are compiled anew in each process; set NUMBA_CACHE_DIR to a writable folder to keep them",
          file=sys.stderr)
    return False, None


CACHE, CACHE_FOLDER = _choose()
