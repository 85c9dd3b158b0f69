"""Whole-folder outputs: a folder tokforge writes (a model, word counts, shards) is either complete
and consistent or left exactly as it was, whatever happens (a kill, a full disk, a second writer).

``OutputFolder(target, kind)`` is a context manager; on entering it, before any real work:

1. it takes a lock: ``flock`` on ``.NAME.tokforge-lock`` beside the target. A second writer is refused
   with a clear message; the kernel drops the lock of a killed process, so the next run takes it;
2. it finishes or undoes what a killed run left beside the target (a staging or an old folder);
3. it checks the target: absent, empty, or holding only files of ``kind`` (anything else is refused,
   naming a few files, rather than swapped away);
4. it creates the staging folder ``.NAME.tokforge-staging`` beside the target: an output that cannot
   be written is found now, not after hours of training.

Files are then written into the staging folder (``write``, ``open``), each fsynced and fingerprinted
(sha256, in ``digests``), so that the folder's index file (``kind.index``: tokforge.json, a
manifest) can record what belongs with it. Leaving the block without an exception swaps the staging
folder in: on Linux in one step (``renameat2`` with ``RENAME_EXCHANGE``); elsewhere the target is
first renamed to ``.NAME.tokforge-old`` (a run killed between the two renames is undone by the next
run into that target). The old folder is then removed: only files of ``kind``, never others. An
exception removes the staging folder and leaves the target untouched; an ``OSError`` (no space
left, read-only, ...) becomes an ``OutputError`` that says which file, how much space it needed and
what to do.

The staging folder has one fixed name per target, so stale ones never pile up (the next run
removes them) and a resumable writer can find what a killed run had finished.

Resuming: a ``kind`` with a ``journal`` is written by a resumable writer. It starts the journal
(``start_journal``: a header naming its options) and records each piece of work as it finishes
(``record``: an entry and the fingerprints of its files, appended and fsynced). An exception then
keeps the staging folder (with the journal) instead of removing it, and a kill leaves it anyway.
``OutputFolder(target, kind, resume=True)`` keeps that folder: ``interrupted()`` gives the header
and the entries whose files are all there with their recorded fingerprints (up to the first that
is not); ``start_journal(header, keep)`` keeps the first ``keep`` of them and removes every other
file. Without ``resume`` a staging folder is removed, as above. The journal never reaches the
finished folder: it is removed just before the swap.

    >>> import tempfile
    >>> kind = FolderKind("notes folder", files=r"[a-z]+\\.txt", index="index.txt", fingerprinted=r"a\\.txt")
    >>> target = Path(tempfile.mkdtemp()) / "notes"
    >>> with OutputFolder(target, kind) as out:
    ...     _ = out.write("a.txt", "hello\\n")
    ...     _ = out.write("index.txt", json.dumps(kind.recorded(out.digests)))
    >>> sorted(p.name for p in target.iterdir()), sorted(p.name for p in target.parent.iterdir())
    (['a.txt', 'index.txt'], ['notes'])
    >>> index = json.loads((target / "index.txt").read_text())
    >>> check_fingerprints(target, kind, index)                   # a.txt is the one written with it
    >>> _ = (target / "a.txt").write_text("another\\n")
    >>> check_fingerprints(target, kind, index)
    Traceback (most recent call last):
    tokforge.errors.ModelFormatError: ...: a.txt is not the file written with index.txt (fingerprint not recorded ...
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Iterator, Mapping

from tokforge.errors import ModelFormatError, OutputError
from tokforge.io.atomic import make_folders, output_error, write_atomic

LOCK, STAGING, OLD = ".tokforge-lock", ".tokforge-staging", ".tokforge-old"
SHOWN_FILES = 5  # files named in an error message
_LEFT_BY_WRITE_ATOMIC = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")  # io.write_atomic's temporary files


FINGERPRINTS = "files_sha256"  # the key of an index file that holds the fingerprints


@dataclass(frozen=True)
class FolderKind:
    """What a folder of one kind may hold: ``files`` and ``folders``, regexes of relative paths
    (``/``-separated); ``index``: the JSON file whose ``files_sha256`` records the fingerprints of the
    ``fingerprinted`` files (None: the folder has no index and is not checked on load); ``format``:
    the index's ``format`` value, if it has one; ``journal``: the record of finished work a resumable
    writer keeps in the staging folder (one of ``files``; never in the finished folder)."""

    description: str
    files: str
    folders: str = r"(?!)"
    index: str | None = None
    fingerprinted: str = r"(?!)"
    format: str | None = None
    journal: str | None = None

    def owns(self, relative: str, is_folder: bool = False) -> bool:
        """Whether tokforge writes ``relative`` into a folder of this kind (io.write_atomic's
        temporary files of those included)."""
        if is_folder:
            return re.fullmatch(self.folders, relative) is not None
        path = PurePosixPath(relative)
        leftover = _LEFT_BY_WRITE_ATOMIC.fullmatch(path.name)
        if leftover:
            path = path.with_name(leftover["name"])
        return re.fullmatch(self.files, str(path)) is not None

    def recorded(self, fingerprints: Mapping[str, str]) -> dict[str, str]:
        """What the index records of ``fingerprints`` (relative path -> fingerprint, e.g. an
        ``OutputFolder``'s ``digests``): those of the ``fingerprinted`` files."""
        return {name: f for name, f in fingerprints.items() if re.fullmatch(self.fingerprinted, name)}


def fingerprint(data: bytes) -> str:
    """The fingerprint an index file records for a file's content: its sha256, in hex."""
    return hashlib.sha256(data).hexdigest()


def _file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_fingerprints(folder: str | os.PathLike, kind: FolderKind, recorded: Any,
                       *, complete: bool = True) -> None:
    """ModelFormatError unless every ``kind.fingerprinted`` file in ``folder`` is one its index
    recorded (``recorded``, read from the index: relative path -> fingerprint), with that content;
    with ``complete``, every recorded file must also be there."""
    folder = Path(folder)
    if not (isinstance(recorded, Mapping) and all(isinstance(v, str) for v in recorded.values())):
        raise ModelFormatError(f"{folder / str(kind.index)}: field {FINGERPRINTS!r} must map the names of the "
                               f"folder's files to their sha256 fingerprints (hex), got {recorded!r}")
    present = {name for name, is_folder in _entries(folder) if not is_folder
               and re.fullmatch(kind.fingerprinted, name)}
    foreign = sorted(present - set(recorded))
    missing = sorted(set(recorded) - present) if complete else []
    try:
        changed = sorted(n for n in present & set(recorded) if _file_fingerprint(folder / n) != recorded[n])
    except OSError as e:
        raise ModelFormatError(f"cannot read {e.filename}: {e.strerror}") from None
    wrong = changed + foreign
    if wrong:
        raise ModelFormatError(
            f"{folder}: {_listed(wrong)} {'is not the file' if len(wrong) == 1 else 'are not the files'}"
            f" written with {kind.index} (fingerprint not recorded there, or another one): the {kind.description} "
            "mixes files of different outputs, or a file was changed. Write the folder again")
    if missing:
        raise ModelFormatError(f"{folder}: {_listed(missing)} of this {kind.description} "
                               f"{'is' if len(missing) == 1 else 'are'} missing; write the folder again")


def read_index(folder: str | os.PathLike, kind: FolderKind, how_to_write: str) -> dict[str, Any]:
    """The index of a ``kind`` folder (a JSON object of ``kind.format``), once the files it fingerprints
    are found to be the ones written with it; ModelFormatError otherwise (``how_to_write``: the hint)."""
    path = Path(folder) / str(kind.index)
    if not path.is_file():
        raise ModelFormatError(f"{folder} is not a {kind.description} (no {kind.index}); {how_to_write}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelFormatError(f"cannot read {path}: {e}; {how_to_write}") from None
    if not isinstance(doc, dict) or doc.get("format") != kind.format:
        raise ModelFormatError(f"{path} is not the {kind.index} of a tokforge {kind.description} "
                               f"(format {kind.format!r})")
    if FINGERPRINTS in doc:  # written by tokforge 0.1.0 before fingerprints: not checked
        check_fingerprints(folder, kind, doc[FINGERPRINTS])
    return doc


def _listed(names: list[str]) -> str:
    more = len(names) - SHOWN_FILES
    return ", ".join(names[:SHOWN_FILES]) + (f" and {more} more" if more > 0 else "")


def _entries(folder: Path, prefix: str = "") -> Iterator[tuple[str, bool]]:
    """(relative path, is a folder) of everything under ``folder`` (symbolic links as files)."""
    with os.scandir(folder) as it:
        for entry in sorted(it, key=lambda e: e.name):
            relative = prefix + entry.name
            is_folder = entry.is_dir(follow_symlinks=False)
            yield relative, is_folder
            if is_folder:
                yield from _entries(Path(entry.path), relative + "/")


def staging_folder(target: str | os.PathLike) -> Path:
    """Where the folder ``target`` is written before it is swapped in (and where an interrupted
    resumable run left its work)."""
    target = Path(os.path.realpath(target))
    return target.parent / f".{target.name}{STAGING}"


def read_journal(staging: Path, kind: FolderKind) -> tuple[dict[str, Any], list[tuple[Any, dict[str, str]]]] | None:
    """The header and the (entry, fingerprints of its files) of the journal of ``kind`` in the
    staging folder ``staging``, as recorded (a torn last line left out); None if it has none."""
    try:
        lines = (staging / str(kind.journal)).read_text(encoding="utf-8").split("\n")
        header = json.loads(lines[0])
    except (OSError, ValueError):
        return None
    entries = []
    for line in lines[1:]:
        try:
            record = json.loads(line)
            entries.append((record["entry"], dict(record[FINGERPRINTS])))
        except (ValueError, KeyError, TypeError):
            break   # the line a kill tore (the last one)
    return (header, entries) if isinstance(header, dict) else None


class OutputFolder:
    """Writes the folder ``target`` of ``kind`` as a whole (see the module's docstring); with
    ``resume``, keeps the work of an interrupted run of a resumable writer."""

    def __init__(self, target: str | os.PathLike, kind: FolderKind, *, resume: bool = False):
        self.path = Path(target)  # as given, for messages and the paths returned
        self.shown = str(target)
        self.target = Path(os.path.realpath(target))
        self.kind = kind
        self.resume = resume
        self.resumed = False  # a staging folder of an interrupted run was kept
        self._kept_records: list[tuple[Any, dict[str, str]]] = []  # what interrupted() found intact
        self.digests: dict[str, str] = {}  # relative path -> fingerprint of each file written
        parent, name = self.target.parent, self.target.name
        self.staging = staging_folder(target)
        self._old = parent / f".{name}{OLD}"
        self._lock_path = parent / f".{name}{LOCK}"
        self._lock_fd: int | None = None
        self._made: list[Path] = []  # parent folders this run created, outermost first
        self._swapped = False  # the new folder is in place

    # ---- entering: lock, recover, check, stage -------------------------------------------------
    def __enter__(self) -> "OutputFolder":
        self._check_place()
        self._make_parents()
        try:
            self._lock()
            self._recover()
            self._check_contents(self.target)
            if not self.resumed:
                self._os(os.mkdir, self.staging)
        except BaseException:
            self._release()
            raise
        return self

    def _check_place(self) -> None:
        t = self.target
        if t == t.parent:
            raise OutputError(f"{self.shown} is the root folder; give a folder to write, e.g. ./out")
        cwd = Path(os.path.realpath(os.getcwd()))
        if cwd == t or t in cwd.parents:
            raise OutputError(f"{self.shown} is (or holds) the current folder, and tokforge replaces its output "
                              f"folder as a whole; give another folder, e.g. {self.path / 'out'}")
        if t.is_dir() and os.path.ismount(t):
            raise OutputError(f"{self.shown} is a mount point, which cannot be replaced as a whole; write into a "
                              f"folder inside it, e.g. {self.path / 'out'}")

    def _make_parents(self) -> None:
        try:
            self._made = make_folders(self.target.parent, f"cannot create the output folder {self.shown}")
        except OSError as e:
            raise self._error(e) from None

    def _lock(self) -> None:
        while True:
            fd = self._os(os.open, self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip()
                os.close(fd)
                raise OutputError(f"{self.shown} is being written by another tokforge process"
                                  f"{f' (pid {holder})' if holder.isdigit() else ''}; wait until it ends, "
                                  "or write to another folder") from None
            except OSError as e:  # a file system without locks (ENOLCK, EOPNOTSUPP): go on unlocked
                if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP):
                    os.close(fd)
                    raise self._error(e) from None
            try:  # a previous holder may have removed the file after we opened it: lock the one there now
                now, ours = os.stat(self._lock_path), os.fstat(fd)
                if (now.st_dev, now.st_ino) == (ours.st_dev, ours.st_ino):
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        self._lock_fd = fd
        self._os(os.ftruncate, fd, 0)
        self._os(os.write, fd, f"{os.getpid()}\n".encode())

    def _recover(self) -> None:
        """Undo what a killed run left beside the target (we hold the lock: no run is active)."""
        if os.path.lexists(self._old):  # killed during or after the portable swap
            if os.path.lexists(self.target):
                self._remove(self._old)
            else:
                self._os(os.rename, self._old, self.target)
        if os.path.lexists(self.staging):
            if self.resume and self.kind.journal and self.staging.is_dir():
                self._check_contents(self.staging, f"{self.staging} (left by an interrupted tokforge run into "
                                                   f"{self.shown})")
                self.resumed = True
            else:
                self._remove(self.staging)

    def _check_contents(self, folder: Path, shown: str | None = None) -> None:
        shown = shown or self.shown
        if not os.path.lexists(folder):
            return
        if not folder.is_dir():
            raise OutputError(f"{shown} exists and is not a folder; give a folder path to write")
        foreign: list[str] = []
        for name, is_folder in _entries(folder):
            inside_foreign = any(f.endswith("/") and name.startswith(f) for f in foreign)
            if not self.kind.owns(name, is_folder) and not inside_foreign:
                foreign.append(name + "/" if is_folder else name)
        if foreign:
            raise OutputError(f"{shown} holds files that tokforge does not write into a {self.kind.description} "
                              f"({_listed(foreign)}); tokforge replaces the whole folder, so give a new or "
                              "empty folder, or move those files away")

    # ---- writing ----------------------------------------------------------------------------
    @contextmanager
    def open(self, name: str, size: int | None = None) -> Iterator[BinaryIO]:
        """A new binary file ``name`` (a relative path; its folders are made) in the staging folder;
        what is written to it is fingerprinted and fsynced. ``size``: its size if known, for the
        error message when the disk is full."""
        path = self.staging / name
        digest = hashlib.sha256()
        try:
            for folder in reversed(path.relative_to(self.staging).parents[:-1]):
                if not (self.staging / folder).is_dir():
                    os.mkdir(self.staging / folder)
            with open(path, "xb") as f:
                yield _Fingerprinting(f, digest)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            with suppress(OSError):  # the staging folder goes anyway: the free space is then the room it had
                os.unlink(path)
            raise self._error(e, name, size) from None
        self.digests[name] = digest.hexdigest()

    def write(self, name: str, data: str | bytes) -> Path:
        """Write ``data`` (str as UTF-8) to the file ``name``; returns its path in the output folder."""
        data = data.encode("utf-8") if isinstance(data, str) else data
        with self.open(name, len(data)) as f:
            f.write(data)
        return self.path / name

    def write_json(self, name: str, doc: object) -> Path:
        """Write ``doc`` as indented JSON."""
        return self.write(name, json_text(doc))

    # ---- the journal of a resumable writer ------------------------------------------------------
    def interrupted(self) -> tuple[dict[str, Any], list[Any]] | None:
        """The header and the entries of the interrupted run whose staging folder was kept (``resume``):
        the entries whose files are all there with their recorded fingerprints, up to the first that is
        not; None when there is no such run."""
        found = read_journal(self.staging, self.kind) if self.resumed else None
        if found is None:
            return None
        header, records = found
        self._kept_records = []
        for entry, files in records:
            if not all(re.fullmatch(self.kind.fingerprinted, n) and (self.staging / n).is_file()
                       and _file_fingerprint(self.staging / n) == f for n, f in files.items()):
                break
            self._kept_records.append((entry, files))
        return header, [entry for entry, _ in self._kept_records]

    def start_journal(self, header: dict[str, Any], keep: int = 0) -> None:
        """Start the journal with ``header``, keeping the first ``keep`` entries ``interrupted()`` gave
        (and their files; every other file of the staging folder is removed)."""
        kept = self._kept_records[:keep]
        for _, files in kept:
            self.digests.update(files)
        journal = str(self.kind.journal)
        for name, is_folder in reversed(list(_entries(self.staging))):
            if not is_folder and name not in self.digests and name != journal:
                self._os(os.unlink, self.staging / name)
        lines = [json.dumps(header, ensure_ascii=False)] + [
            json.dumps({"entry": entry, FINGERPRINTS: files}, ensure_ascii=False) for entry, files in kept]
        write_atomic(self.staging / journal, "\n".join(lines) + "\n")

    def record(self, entry: Any, names: list[str]) -> None:
        """Record in the journal that ``entry`` is finished, with the fingerprints of its files ``names``
        (written by ``open``/``write``)."""
        line = json.dumps({"entry": entry, FINGERPRINTS: {n: self.digests[n] for n in names}}, ensure_ascii=False)
        path = self.staging / str(self.kind.journal)
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise self._error(e, str(self.kind.journal)) from None

    # ---- leaving: swap in, or discard ---------------------------------------------------------
    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._commit()
        finally:
            if not self._swapped and os.path.lexists(self.staging) and not self.keeps_work:
                shutil.rmtree(self.staging, ignore_errors=True)  # this run's own files only
            self._release()

    @property
    def keeps_work(self) -> bool:
        """Whether the staging folder holds a journal: an interrupted run leaves it for ``resume``."""
        return self.kind.journal is not None and (self.staging / self.kind.journal).is_file()

    def _commit(self) -> None:
        if self.keeps_work:
            self._os(os.unlink, self.staging / str(self.kind.journal))
        self._os(_fsync_folder, self.staging)
        self._check_contents(self.target)  # nothing foreign appeared meanwhile
        old = None
        if not os.path.lexists(self.target):
            self._os(os.rename, self.staging, self.target)
        elif self._os(_exchange, self.staging, self.target):
            old = self.staging  # it holds the old folder now
        else:  # portable: two renames; a kill in between is undone by the next run (_recover)
            self._os(os.rename, self.target, self._old)
            try:
                self._os(os.rename, self.staging, self.target)
            except OutputError:
                os.rename(self._old, self.target)
                raise
            old = self._old
        self._swapped = True
        with suppress(OSError):
            _fsync_folder(self.target.parent)
        if old is not None:
            self._remove(old, strict=False)

    def _remove(self, folder: Path, strict: bool = True) -> None:
        """Remove the files of ``kind`` in ``folder``, then its folders if empty; with ``strict``, an
        OutputError if anything else is left (then the next run complains about it)."""
        left = []
        for name, is_folder in reversed(list(_entries(folder))):
            path = folder / name
            try:
                if is_folder and self.kind.owns(name, True):
                    os.rmdir(path)
                elif not is_folder and self.kind.owns(name):
                    os.unlink(path)
                else:
                    left.append(name)
            except OSError:
                left.append(name)
        try:
            os.rmdir(folder)
        except OSError:
            if strict:
                raise OutputError(f"{folder} (left by an interrupted tokforge run into {self.shown}) holds files "
                                  f"tokforge did not write ({_listed(left) or 'unknown'}); move them away and remove "
                                  "it, then run again") from None

    def _release(self) -> None:
        if self._lock_fd is not None:
            try:
                os.unlink(self._lock_path)
            except OSError:
                pass
            os.close(self._lock_fd)
            self._lock_fd = None
        if not self._swapped:
            for folder in reversed(self._made):  # folders made for an output that was not written
                try:
                    os.rmdir(folder)
                except OSError:
                    break

    def _os(self, call, *args):
        """``call(*args)``, an OSError becoming an OutputError about the output folder."""
        try:
            return call(*args)
        except OSError as e:
            raise self._error(e) from None

    def _error(self, e: OSError, name: str | None = None, size: int | None = None) -> OutputError:
        """The OutputError for ``e`` while writing the folder (``name``: while writing that file)."""
        outcome = (f"{self.shown} was left as it was" if os.path.lexists(self.target)
                   else f"nothing was written to {self.shown}")
        writing = (f"{name} of {self.shown}" if name else
                   f"the output folder {self.shown} (it is written beside, in {self.target.parent}, then swapped in)")
        return output_error(e, writing, outcome, size,
                            self.target.parent if os.path.isdir(self.target.parent) else None)


class _Fingerprinting:
    """A binary file whose writes also go to a hash."""

    def __init__(self, f: BinaryIO, digest: "hashlib._Hash"):
        self._f, self._digest = f, digest

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        return self._f.write(data)

    def __getattr__(self, name: str):
        return getattr(self._f, name)


def json_text(doc: object) -> str:
    """The JSON text tokforge writes: UTF-8 characters as they are, indented, a final newline -- the
    text of ``json.dumps(doc, ensure_ascii=False, indent=2)``, written faster: Python's indenting
    encoder has no C speed-up, and a 32k vocabulary's files took it 0.4 s.

    >>> print(json_text({"vocab": {"a": 0}, "merges": [["a", "b"]], "x": None}), end="")
    {
      "vocab": {
        "a": 0
      },
      "merges": [
        [
          "a",
          "b"
        ]
      ],
      "x": null
    }
    """
    out: list[str] = []
    try:
        _indented(doc, "\n", out)
    except _Unusual:
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    out.append("\n")
    return "".join(out)


class _Unusual(Exception):
    """A value ``_indented`` leaves to ``json.dumps`` (keys that are not strings, types it converts)."""


_compact = json.JSONEncoder(ensure_ascii=False).encode
_string = json.encoder.encode_basestring


def _indented(value: object, newline: str, out: list[str]) -> None:
    """Append ``value`` as ``json.dumps(..., indent=2)`` writes it at the depth of ``newline``."""
    kind = type(value)
    if kind is str:
        out.append(_string(value))
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        sep = "{" + inner
        for k, v in value.items():
            if type(k) is not str:
                raise _Unusual
            if type(v) is int:  # a vocabulary's entries: the common case, inline
                out.append(sep + _string(k) + ": " + int.__repr__(v))
            else:
                out.append(sep + _string(k) + ": ")
                _indented(v, inner, out)
            sep = "," + inner
        out.append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        if all(type(v) is str for v in value):  # a merge's pair of tokens: the common case, at once
            out.append("[" + inner + ("," + inner).join(map(_string, value)) + newline + "]")
            return
        sep = "[" + inner
        for v in value:
            out.append(sep)
            _indented(v, inner, out)
            sep = "," + inner
        out.append(newline + "]")
    elif value is None or kind is bool or kind is float:
        out.append(_compact(value))
    else:
        raise _Unusual


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.EBADF):  # some file systems do not sync folders
            raise
    finally:
        os.close(fd)


AT_FDCWD, RENAME_EXCHANGE = -100, 2


@functools.lru_cache(maxsize=None)
def _renameat2():
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Exchange the folders ``a`` and ``b`` in one step (Linux's renameat2 RENAME_EXCHANGE); False
    where the system or the file system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))
