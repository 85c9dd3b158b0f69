"""The sources of a corpus resolved to what is read: files (with their format and compression, or a
byte range of a large text file) and ``datasets`` objects; files found in folders and globs, and
the ones ignored there.

    >>> units, ignored = resolve_sources(["corpora/tr"])
    >>> [u.path.name for u in units], ignored
    (['debian_handbook_tr.txt', 'denemeler_tokforge_tr.txt', 'gnu_manpages_tr.txt'], [])
    >>> units[0].format, units[0].compression
    ('text', None)

Folders are walked recursively in sorted order, skipping hidden entries; a file there is read when
its extension names a format (``.txt``, ``.jsonl``/``.json``, ``.parquet``, text and JSON Lines
optionally ``.gz``/``.zst``); FIFOs, devices and sockets are never opened. A file named explicitly
is read as text when its extension is unknown.
"""
from __future__ import annotations

import glob
import json
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from tokforge.corpus import limits
from tokforge.corpus.compression import COMPRESSION_NAMES
from tokforge.errors import ConfigError, CorpusError

_FORMATS = {".txt": "text", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
_COMPRESSIONS = {".gz": "gz", ".zst": "zst"}
KNOWN_EXTENSIONS = ".txt, .jsonl, .json and .parquet files (text and JSON Lines optionally .gz or .zst compressed)"


@dataclass(frozen=True)
class SourceFile:
    """A corpus file and how to read it."""

    path: Path
    format: str              # "text", "jsonl" or "parquet"
    compression: str | None  # None, "gz" or "zst"
    size: int                # on-disk bytes (of the byte range, for a part of a file)
    start: int = 0           # a shard of a plain text file is its bytes [start, start + size),
    whole: bool = True       # cut at line boundaries; whole is False for such a part


@dataclass(frozen=True)
class DatasetSource:
    """A ``datasets.Dataset`` or ``datasets.IterableDataset``, given as an object or loaded from a saved folder."""

    data: Any
    name: str                # how messages refer to it
    path: Path | None = None


Unit = Union[SourceFile, DatasetSource]


# -- resolving sources ----------------------------------------------------------------------------------


def as_source_list(sources: Any) -> list[Any]:
    """One source or an iterable of sources, as a non-empty list."""
    if isinstance(sources, (str, os.PathLike)) or _is_dataset(sources) or _is_dataset_dict(sources):
        return [sources]
    if isinstance(sources, Iterable) and not isinstance(sources, (bytes, dict)):
        items = list(sources)
        if items:
            return items
        raise ConfigError("no corpus sources given: pass files, folders, glob patterns or a datasets.Dataset")
    raise ConfigError(_unsupported_source_message(sources))


def resolve_sources(items: list[Any]) -> tuple[list[Unit], list[str]]:
    """The units to read, in order, and the folder files ignored for their extension."""
    units: list[Unit] = []
    ignored: list[str] = []
    for item in items:
        found, skipped = _resolve_source(item)
        units += found
        ignored += skipped
    return units, ignored


def _resolve_source(source: Any) -> tuple[list[Unit], list[str]]:
    if _is_dataset_dict(source):
        raise _dataset_dict_error(
            "the corpus is a DatasetDict", list(source), f"pass one split, e.g. Corpus(ds[{next(iter(source), 'train')!r}])"
        )
    if _is_dataset(source):
        return [DatasetSource(source, f"the {type(source).__name__} object")], []
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(_unsupported_source_message(source))
    path = Path(source).expanduser()
    try:
        if path.is_dir():
            return _nonempty(_expand_folder(path), f"folder {path}")
        if path.exists():
            return [_explicit_file(path)], []
        if any(char in str(source) for char in "*?["):
            return _nonempty(_expand_glob(str(source)), f"the files matched by {str(source)!r}")
    except OSError as exc:
        raise CorpusError(unreadable_message(Path(exc.filename or path), exc)) from exc
    raise CorpusError(
        f"corpus path not found: {source} (looked for {path.absolute()}). "
        "Check the spelling and the working directory, or pass a glob pattern such as 'data/**/*.txt'."
    )


def _expand_folder(folder: Path) -> tuple[list[Unit], list[str]]:
    """A saved dataset, or the known files under a folder in sorted order and the files ignored there."""
    units: list[Unit] = []
    ignored: list[str] = []
    visited: set[str] = set()

    def fail(error: OSError) -> None:
        raise CorpusError(unreadable_message(Path(error.filename or folder), error))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=fail, followlinks=True):
        here = Path(dirpath)
        real = os.path.realpath(here)
        if real in visited:  # a symlink loop, or a folder already read through another link
            dirnames.clear()
            continue
        visited.add(real)
        saved = _saved_dataset(here)
        if saved is not None:  # the folder's own files are the dataset's, not corpus files
            units.append(saved)
            dirnames.clear()
            continue
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        for name in filenames:
            if not name.startswith("."):
                path = here / name
                file = _folder_file(path)
                if file is None:
                    ignored.append(str(path))
                else:
                    units.append(file)
    units.sort(key=lambda unit: _path_key(unit.path))
    ignored.sort(key=lambda name: _path_key(Path(name)))
    return units, ignored


def _expand_glob(pattern: str) -> tuple[list[Unit], list[str]]:
    """What a glob pattern matches: folders are expanded, files follow the folder rules for extensions."""
    matches = sorted((Path(match) for match in glob.glob(os.path.expanduser(pattern), recursive=True)), key=_path_key)
    if not matches:
        raise CorpusError(
            f"glob pattern {pattern!r} matched no files (relative to {Path.cwd()}). "
            "Check the pattern; use '**' to match folders recursively, e.g. 'data/**/*.jsonl'."
        )
    units: list[Unit] = []
    ignored: list[str] = []
    for match in matches:
        if match.is_dir():
            found, skipped = _expand_folder(match)
        else:
            file = _folder_file(match)
            found, skipped = ([file], []) if file is not None else ([], [str(match)])
        units += found
        ignored += skipped
    return _unique_paths(units), list(dict.fromkeys(ignored))  # "data/**" matches folders and their files


def _unique_paths(units: list[Unit]) -> list[Unit]:
    """The units in order, each path once."""
    seen: set[Path | None] = set()
    unique = []
    for unit in units:
        if unit.path not in seen:
            seen.add(unit.path)
            unique.append(unit)
    return unique


def _nonempty(expansion: tuple[list[Unit], list[str]], what: str) -> tuple[list[Unit], list[str]]:
    """The expansion of a folder or glob, which must hold at least one corpus file."""
    units, ignored = expansion
    if units:
        return units, ignored
    found = (f"ignored {len(ignored)} file(s) with other extensions or that are not regular files, e.g. "
             f"{short_list(ignored)}") if ignored else (
        "found no files outside hidden folders"
    )
    raise CorpusError(
        f"no corpus files in {what}: tokforge reads {KNOWN_EXTENSIONS}, and {found}. "
        "Point at the right folder, or name a file explicitly to read it as plain text."
    )


def _path_key(path: Path) -> tuple[str, ...]:
    return path.parts


def _detect_format(path: Path) -> tuple[str, str | None] | None:
    """(format, compression) from a file name's extensions, or None when they name no corpus format."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if not suffixes:
        return None
    compression = _COMPRESSIONS.get(suffixes[-1])
    if compression is None:
        fmt = _FORMATS.get(suffixes[-1])
        return (fmt, None) if fmt is not None else None
    if len(suffixes) == 1:  # plain "c.gz" holds text
        return "text", compression
    fmt = _FORMATS.get(suffixes[-2])
    return (fmt, compression) if fmt in ("text", "jsonl") else None


def _folder_file(path: Path) -> SourceFile | None:
    """A file found in a folder or by a glob, or None when its extension is not a corpus format or
    it is not a regular file (a FIFO, device or socket would block or never end: it is never opened)."""
    detected = _detect_format(path)
    if detected is None:
        return None
    info = path.stat()
    return SourceFile(path, *detected, info.st_size) if stat.S_ISREG(info.st_mode) else None


def _explicit_file(path: Path) -> SourceFile:
    """A file named explicitly: read as (possibly compressed) text when its extension is unknown."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise CorpusError(
            f"{path} is {_special_file_kind(info.st_mode)}, not a regular file: tokforge measures, seeks in and "
            "re-reads corpus files, which it cannot do here, so it does not open it. Save the text to a file "
            "and pass that file."
        )
    fmt, compression = _detect_format(path) or ("text", _COMPRESSIONS.get(path.suffix.lower()))
    return SourceFile(path, fmt, compression, info.st_size)


def _special_file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def source_name(source: Any) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else f"a {type(source).__name__}"


def _unsupported_source_message(source: Any) -> str:
    return (
        f"unsupported corpus source {source!r:.80} ({type(source).__name__}): pass a path, folder or glob pattern "
        "(str or pathlib.Path), a list of them, or a datasets.Dataset / datasets.IterableDataset"
    )


# -- datasets ----------------------------------------------------------------------------------------------
# `datasets` is slow to import: objects are recognised only if the caller already imported it.


def _is_dataset(obj: Any) -> bool:
    datasets = sys.modules.get("datasets")
    return datasets is not None and isinstance(obj, (datasets.Dataset, datasets.IterableDataset))


def _is_dataset_dict(obj: Any) -> bool:
    datasets = sys.modules.get("datasets")
    return datasets is not None and isinstance(obj, (datasets.DatasetDict, datasets.IterableDatasetDict))


def _dataset_dict_error(what: str, splits: list[str], fix: str) -> CorpusError:
    return CorpusError(f"{what} with splits {', '.join(map(repr, splits))}; a corpus is one split: {fix}.")


def _saved_dataset(folder: Path) -> DatasetSource | None:
    """The dataset saved in a folder by ``save_to_disk``, or None if the folder is not one."""
    splits_file = folder / "dataset_dict.json"
    if splits_file.is_file():
        splits = json.loads(splits_file.read_text(encoding="utf-8")).get("splits", [])
        example = folder / (splits[0] if splits else "train")
        raise _dataset_dict_error(f"{folder} holds a saved DatasetDict", splits, f"pass one split folder, e.g. {example}")
    if not ((folder / "state.json").is_file() or (folder / "dataset_info.json").is_file()):
        return None
    import datasets

    try:
        data = datasets.load_from_disk(str(folder))
    except Exception as exc:  # datasets raises many kinds of errors for a damaged folder
        raise CorpusError(
            f"cannot load the dataset saved at {folder} ({type(exc).__name__}: {exc}). "
            "Save it again with Dataset.save_to_disk, or remove it from the sources."
        ) from exc
    return DatasetSource(data, f"the dataset saved at {folder}", folder)


def check_dataset_column(source: DatasetSource, text_field: str) -> None:
    """Fail early when a dataset's known features lack a string column ``text_field``."""
    features = source.data.features
    if features is None:  # an IterableDataset of unknown features: checked while reading
        return
    if text_field not in features:
        raise _missing_dataset_column(source, text_field, list(features))
    dtype = getattr(features[text_field], "dtype", None)
    if dtype not in ("string", "large_string"):
        raise CorpusError(
            f"column {text_field!r} of {source.name} holds {features[text_field]}, not strings. "
            "Pick a string column with text_field (--text-field), or convert the column first."
        )


def _missing_dataset_column(source: DatasetSource, text_field: str, columns: list[str]) -> CorpusError:
    return CorpusError(
        f"{source.name} has no column {text_field!r} (columns: {', '.join(columns) or 'none'}). "
        "Pass the text column with text_field (--text-field)."
    )


def dataset_column_batches(source: DatasetSource, text_field: str) -> Iterator[list[Any]]:
    """The values of one dataset column, a batch at a time."""
    batches = source.data.select_columns([text_field]).with_format(None).iter(batch_size=limits.DATASET_BATCH_ROWS)
    try:
        for batch in batches:
            yield batch[text_field]
    except KeyError as exc:  # an IterableDataset of unknown features lacks the column
        raise _missing_dataset_column(source, text_field, []) from exc


def dataset_length(data: Any) -> int | None:
    try:
        return len(data)
    except TypeError:  # an IterableDataset has no length
        return None


# -- messages -------------------------------------------------------------------------------------------


def offset_text(file: SourceFile, offset: int) -> str:
    """'byte offset N', saying when N counts decompressed bytes."""
    if file.compression is None:
        return f"byte offset {offset}"
    return f"byte offset {offset} of the decompressed data ({COMPRESSION_NAMES[file.compression]})"


def line_number(file: SourceFile, number: int) -> int:
    """The line number in the file of line ``number`` of a byte range (counted once, on an error)."""
    if file.start == 0:
        return number
    newlines = 0
    with open(file.path, "rb") as f:
        left = file.start
        while left > 0:
            chunk = f.read(min(left, limits.READ_CHUNK_BYTES))
            if not chunk:
                break
            newlines += chunk.count(b"\n")
            left -= len(chunk)
    return newlines + number


def unreadable_message(path: Path, exc: OSError) -> str:
    return (
        f"cannot read {path}: {exc.strerror or exc}. Check that it exists and that you may read it "
        "(file permissions), or remove it from the sources."
    )


def short_list(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"
