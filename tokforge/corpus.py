"""Stream the documents of a training corpus: text, JSON Lines, Parquet, .gz/.zst files and Hugging Face datasets.

A document is one line of a text file (its trailing newline included), the ``text_field`` of one JSON Lines
record, or one value of a Parquet or ``datasets`` column. Files are streamed in binary in bounded chunks, so
memory stays constant whatever the corpus size. Invalid UTF-8, binary files, corrupt archives and malformed
records raise a ``CorpusError`` that says what went wrong, where, and how to fix it. Example::

    from tokforge.corpus import Corpus

    corpus = Corpus(["data/wiki", "extra/**/*.jsonl.zst"], errors="replace", progress=True)
    for document in corpus:
        ...
    print(corpus.stats.documents, corpus.stats.replaced_documents, corpus.stats.first_invalid)

Fast consumers read ``Corpus.iter_blocks()`` instead: the same documents, UTF-8 encoded back to back in
``Block``s of about 4 MiB with their byte bounds. Text files are then validated and split a chunk at a time
(at C and numpy speed); only the lines with invalid UTF-8 take the line-by-line path of the errors policy.
"""
from __future__ import annotations

import bisect
import glob
import gzip
import io
import itertools
import json
import operator
import os
import re
import stat
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Union

import numpy as np
import zstandard
from tqdm import tqdm

from tokforge.errors import ConfigError, CorpusError

ERROR_POLICIES = ("strict", "replace", "skip")

MAX_LINE_BYTES = 64 * 1024 * 1024  # a longer line is an error: it is read into memory at once
BINARY_SNIFF_BYTES = 8 * 1024      # a NUL byte in this head of a text stream means the file is binary
READ_CHUNK_BYTES = 1024 * 1024     # raw reads from disk (and progress updates), and text chunks, are of this size
DEFAULT_BLOCK_BYTES = 1 << 22      # Corpus.iter_blocks() packs about this many bytes of documents per block
SHARD_BYTES = 16 << 20             # Corpus.shards() cuts plain text files into byte ranges of about this size
ZSTD_INPUT_BYTES = 64 * 1024       # compressed bytes decompressed per step
ZSTD_MAX_WINDOW = 1 << 31          # accept files written with `zstd --long=31`
PARQUET_BATCH_ROWS = 1024
DATASET_BATCH_ROWS = 1000

_FORMATS = {".txt": "text", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
_COMPRESSIONS = {".gz": "gz", ".zst": "zst"}
_COMPRESSION_NAMES = {"gz": "gzip", "zst": "zstd"}
_KNOWN_EXTENSIONS = ".txt, .jsonl, .json and .parquet files (text and JSON Lines optionally .gz or .zst compressed)"
_ERRORS_HINT = (
    "pass --errors replace (substitute U+FFFD) or --errors skip (drop the document), "
    "or errors='replace' / errors='skip' in Python"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class CorpusStats:
    """What one iteration over a corpus read, dropped and repaired."""

    files: int = 0              # files opened
    bytes_read: int = 0         # raw (on-disk, possibly compressed) bytes consumed
    documents: int = 0          # documents yielded
    skipped_documents: int = 0  # documents dropped by errors="skip"
    replaced_documents: int = 0  # documents in which errors="replace" substituted U+FFFD
    first_invalid: str | None = None  # "path:offset" of the first invalid UTF-8 seen (replace/skip)
    malformed_records: int = 0  # JSON Lines records dropped by errors="skip": not JSON, not an object, no text
    first_malformed: str | None = None  # "path line N" of the first of them
    ignored_files: list[str] = field(default_factory=list)  # folder files skipped: unknown extension, not regular


@dataclass(frozen=True)
class _File:
    """A corpus file and how to read it."""

    path: Path
    format: str              # "text", "jsonl" or "parquet"
    compression: str | None  # None, "gz" or "zst"
    size: int                # on-disk bytes (of the byte range, for a part of a file)
    start: int = 0           # a shard of a plain text file is its bytes [start, start + size),
    whole: bool = True       # cut at line boundaries; whole is False for such a part


@dataclass(frozen=True)
class _DatasetSource:
    """A ``datasets.Dataset`` or ``datasets.IterableDataset``, given as an object or loaded from a saved folder."""

    data: Any
    name: str                # how messages refer to it
    path: Path | None = None


_Unit = Union[_File, _DatasetSource]


class _Line(NamedTuple):
    number: int  # 1-based
    offset: int  # byte offset of the line in the (decompressed) stream
    data: bytes  # the line, newline included


class _Chunk(NamedTuple):
    data: bytes          # whole lines of a (decompressed) text stream, newlines included
    bounds: np.ndarray   # int64: line i is data[bounds[i]:bounds[i + 1]]
    number: int          # 1-based number of its first line
    offset: int          # byte offset of its first line in the stream


@dataclass(frozen=True, eq=False, repr=False)
class Block:
    """Consecutive documents of a corpus, UTF-8 encoded back to back: what ``Corpus.iter_blocks`` yields.

    Document ``i`` of the block is ``data[bounds[i]:bounds[i + 1]]`` (``bounds`` is a read-only int64 array
    with ``bounds[0] == 0`` and ``bounds[-1] == len(data)``); it is document ``first_document + i`` of the
    iteration. ``data`` is valid UTF-8 and documents never span blocks.
    """

    data: bytes
    bounds: np.ndarray
    first_document: int

    def __len__(self) -> int:
        """The number of documents."""
        return len(self.bounds) - 1

    def documents(self) -> list[str]:
        """The documents, decoded (for slow paths and tests)."""
        return _split_documents(self.data, self.bounds)

    def __repr__(self) -> str:
        return f"Block({len(self)} documents from #{self.first_document}, {len(self.data):,} bytes)"


class _Run(NamedTuple):
    """Consecutive documents known to be valid UTF-8, back to back (``bounds`` as in ``Block``)."""

    data: bytes | memoryview
    bounds: np.ndarray
    text: str | None = None  # data decoded, when already known

    def documents(self) -> list[str]:
        return _split_documents(self.data, self.bounds, self.text)


_Piece = Union[str, _Run]  # what the readers produce: one document, or a run of documents


class Corpus:
    """A re-iterable stream of documents read from files, folders, glob patterns or ``datasets`` objects.

    Sources are resolved and validated when the corpus is created; every iteration streams them again from
    the start and resets ``stats``. Folders are walked recursively in sorted order, skipping hidden entries;
    their files with unknown extensions, and FIFOs, devices and sockets (never opened), are listed in
    ``stats.ignored_files``. A file named explicitly is read as text when its extension is unknown; one that is
    not a regular file is an error. Do not iterate one Corpus concurrently: iterations share ``stats``.
    """

    Block = Block  # what iter_blocks yields

    def __init__(
        self,
        sources: Any,
        *,
        text_field: str = "text",
        errors: str = "strict",
        progress: bool = False,
        desc: str = "reading corpus",
    ) -> None:
        if errors not in ERROR_POLICIES:
            raise ConfigError(
                f"unknown errors policy {errors!r} for invalid UTF-8: choose one of {', '.join(ERROR_POLICIES)}"
            )
        if not isinstance(text_field, str) or not text_field:
            raise ConfigError(f"text_field must be a non-empty column or field name, got {text_field!r}")
        self.text_field = text_field
        self.errors = errors
        self.progress = progress
        self.desc = desc
        items = _as_source_list(sources)
        self._names = [_source_name(item) for item in items]
        self._units, self._ignored = _resolve_sources(items)
        for unit in self._units:
            if isinstance(unit, _DatasetSource):
                _check_dataset_column(unit, text_field)
        self.stats = CorpusStats(ignored_files=list(self._ignored))
        self._bar: tqdm | None = None
        self._is_part = False

    def __getstate__(self) -> dict[str, Any]:  # picklable (to send shards to worker processes)
        return {**self.__dict__, "_bar": None}

    def shards(self, shard_bytes: int = SHARD_BYTES) -> list["Corpus"]:
        """The corpus cut into parts that can be read independently, in reading order: reading the
        parts one after the other gives the documents, stats and errors of reading the corpus.

        Each file is a part, and plain (uncompressed) text files larger than ``shard_bytes`` are
        cut into byte ranges of about ``shard_bytes`` that end at a newline; a ``datasets`` source
        is one part. The cut depends only on the files and ``shard_bytes``. Parts do not show a
        progress bar, do not list ignored files and do not raise when they hold no text.
        """
        if shard_bytes < 1:
            raise ConfigError(f"shard_bytes must be a positive number of bytes, got {shard_bytes!r}")
        parts = []
        for unit in self._units:
            ranges = _byte_ranges(unit, shard_bytes) if isinstance(unit, _File) else [unit]
            for piece in ranges:
                part = Corpus.__new__(Corpus)
                part.__dict__.update(self.__getstate__())
                part._units, part._ignored, part.progress, part._is_part = [piece], [], False, True
                part.stats = CorpusStats()
                parts.append(part)
        return parts

    def __repr__(self) -> str:
        return f"Corpus({', '.join(self._names)}; {len(self._units)} source(s), errors={self.errors!r})"

    @property
    def files(self) -> list[Path]:
        """The resolved corpus files, in reading order (datasets are not files)."""
        return [unit.path for unit in self._units if isinstance(unit, _File)]

    @property
    def total_bytes(self) -> int:
        """The summed on-disk size of the corpus files."""
        return sum(unit.size for unit in self._units if isinstance(unit, _File))

    def __iter__(self) -> Iterator[str]:
        stats, bar = self._start()
        try:
            for piece in self._pieces():
                if isinstance(piece, str):
                    stats.documents += 1
                    yield piece
                else:
                    for document in piece.documents():
                        stats.documents += 1
                        yield document
        finally:
            bar.close()
        self._check_found_text()

    def iter_blocks(self, block_bytes: int = DEFAULT_BLOCK_BYTES) -> Iterator[Block]:
        """Iterate over the documents in ``Block``s of about ``block_bytes`` bytes of UTF-8.

        The blocks' documents are exactly the documents of ``iter(corpus)``, with the same stats, errors and
        progress bar; ``stats.documents`` counts the documents of the blocks yielded so far. A block holds at
        most ``block_bytes`` bytes, or a single longer document. When reading fails, the documents read before
        the failure are yielded as a last block, then the error is raised.
        """
        try:
            size = 0 if isinstance(block_bytes, bool) else operator.index(block_bytes)
        except TypeError:
            size = 0
        if size < 1:
            raise ConfigError(f"block_bytes must be a positive number of bytes, got {block_bytes!r}")
        return self._blocks(size)

    def _blocks(self, block_bytes: int) -> Iterator[Block]:
        stats, bar = self._start()
        packer = _BlockPacker(block_bytes)
        pieces = self._pieces()
        failure: Exception | None = None
        try:
            while True:
                try:
                    piece = next(pieces)
                except StopIteration:
                    break
                except Exception as exc:  # deliver the documents read before the failure first
                    failure = exc
                    break
                for block in packer.add(piece):
                    stats.documents += len(block)
                    yield block
            if packer.documents:
                block = packer.take()
                stats.documents += len(block)
                yield block
        finally:
            pieces.close()
            bar.close()
        if failure is not None:
            raise failure
        self._check_found_text()

    def _start(self) -> tuple[CorpusStats, tqdm]:
        """Reset the stats and open the progress bar of a new iteration."""
        self.stats = CorpusStats(ignored_files=list(self._ignored))
        self._bar = self._new_bar(total=self.total_bytes, unit="B", show=bool(self.files))
        return self.stats, self._bar

    def _check_found_text(self) -> None:
        if self.stats.documents == 0 and not self._is_part:
            raise CorpusError(self._no_text_message())

    def _new_bar(self, total: int | None, unit: str, show: bool = True) -> tqdm:
        return tqdm(total=total, unit=unit, unit_scale=True, desc=self.desc, disable=not (self.progress and show))

    def _pieces(self) -> Iterator[_Piece]:
        """The documents of every source in order, valid text files a run of lines at a time."""
        for unit in self._units:
            if isinstance(unit, _DatasetSource):
                yield from self._dataset_documents(unit)
            else:
                yield from self._file_pieces(unit)

    def _count_raw_bytes(self, n: int) -> None:
        self.stats.bytes_read += n
        self._advance_bar(n)

    def _advance_bar(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    # -- files ---------------------------------------------------------------------------------------------

    def _file_pieces(self, file: _File) -> Iterator[_Piece]:
        """Open one file, stream its documents, and turn I/O and decompression failures into CorpusErrors."""
        try:
            with _CountingReader(file.path, self._count_raw_bytes, file.start,
                                 None if file.whole else file.size) as raw:
                self.stats.files += file.start == 0
                if file.format == "parquet":
                    yield from self._parquet_documents(file, raw)
                else:
                    with _decompressed(raw, file.compression) as stream:
                        chunks = _iter_chunks(stream, file)
                        if file.format == "jsonl":
                            yield from self._jsonl_documents(file, _iter_lines(chunks, file))
                        else:
                            yield from self._text_pieces(file, chunks)
        except (EOFError, zlib.error, gzip.BadGzipFile, zstandard.ZstdError) as exc:
            kind = _COMPRESSION_NAMES.get(file.compression or "", "compressed")
            raise CorpusError(
                f"{file.path} is not a valid {kind} file, or is truncated or corrupt ({exc}). "
                "Re-download or re-compress it, or remove it from the sources."
            ) from exc
        except OSError as exc:
            raise CorpusError(_unreadable_message(file.path, exc)) from exc
        self._advance_bar(max(0, file.size - raw.count))  # parquet reads only some columns: finish the file

    def _text_pieces(self, file: _File, chunks: Iterator[_Chunk]) -> Iterator[_Piece]:
        """The lines of a text file: runs of valid lines, and the lines with invalid UTF-8 after the policy."""
        for chunk in chunks:
            if int(np.diff(chunk.bounds).max()) > MAX_LINE_BYTES:  # the line-by-line reader raises at that line
                yield from self._text_documents(file, _chunk_lines(chunk, file))
            elif chunk.data.isascii():
                yield _Run(chunk.data, chunk.bounds)
            else:
                try:
                    text = chunk.data.decode("utf-8")
                except UnicodeDecodeError:
                    yield from self._decoded_runs(file, chunk)
                else:
                    yield _Run(chunk.data, chunk.bounds, text)

    def _decoded_runs(self, file: _File, chunk: _Chunk) -> Iterator[_Piece]:
        """Runs of the valid lines of a chunk with invalid UTF-8; the errors policy applies to each invalid line.

        The chunk is validated in windows of lines: the whole chunk at first, then, after each error, windows
        that start at one line and double while they are valid, so that each error costs little even when most
        lines are invalid.
        """
        raw, bounds = chunk.data, chunk.bounds
        data = memoryview(raw)
        marks = bounds.tolist()
        count = len(marks) - 1
        first = checked = 0  # lines [first, checked) are valid and not yet yielded, their text is in texts
        texts: list[str] = []
        window = len(raw)  # bytes to validate at once (whole lines, at least one)
        while checked < count:
            start = marks[checked]
            stop = checked + 1 if window == 1 else min(count, bisect.bisect_left(marks, start + window))
            try:  # (slicing bytes is cheaper than a memoryview for one line)
                texts.append(str(raw[start:marks[stop]] if stop == checked + 1 else data[start:marks[stop]], "utf-8"))
            except UnicodeDecodeError as exc:
                bad = bisect.bisect_right(marks, start + exc.start, checked, stop) - 1  # the line of the error
                if bad > first:
                    text = "".join(texts) if bad == checked else None
                    yield _Run(data[marks[first]:marks[bad]], bounds[first:bad + 1] - marks[first], text)
                line = _Line(chunk.number + bad, chunk.offset + marks[bad], raw[marks[bad]:marks[bad + 1]])
                # the error is that of the line alone: a newline ends any UTF-8 sequence
                document = self._invalid_line(line, file, start + exc.start - marks[bad], start + exc.end - marks[bad])
                if document is not None:
                    yield document
                first = checked = bad + 1
                texts = []
                window = 1
            else:
                checked = stop
                window *= 2
        if first < count:
            yield _Run(data[marks[first]:], bounds[first:] - marks[first], "".join(texts))

    def _text_documents(self, file: _File, lines: Iterator[_Line]) -> Iterator[str]:
        for line in lines:
            document = self._decode(line, file)
            if document is not None:
                yield document

    def _jsonl_documents(self, file: _File, lines: Iterator[_Line]) -> Iterator[str]:
        for line in lines:
            if line.data.isspace():
                continue
            text = self._decode(line, file)
            if text is None:
                continue
            try:
                document = _json_document(text, self.text_field, file, line)
            except CorpusError as exc:
                if self.errors != "skip":
                    raise CorpusError(f"{exc} Or pass --errors skip (errors='skip' in Python) to drop such "
                                      "records; they are counted in the report.") from None
                if self.stats.first_malformed is None:
                    self.stats.first_malformed = f"{file.path} line {_line_number(file, line.number)}"
                self.stats.malformed_records += 1
                continue
            if ("\\ud" in text or "\\uD" in text) and _has_lone_surrogate(document):
                document = self._repair_surrogates(
                    document,
                    f"{file.path}:{line.offset}",
                    f"lone surrogate escape (like \\ud800) in field {self.text_field!r} at {_where(file, line)}",
                )
            if document is not None:
                yield document

    def _parquet_documents(self, file: _File, raw: BinaryIO) -> Iterator[str]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        row = 0
        try:
            parquet = pq.ParquetFile(raw)
            _check_parquet_column(parquet.schema_arrow, self.text_field, file)
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=[self.text_field]):
                for value in batch.column(0).to_pylist():
                    if value is None:
                        raise CorpusError(
                            f"row {row} of {file.path} has a null {self.text_field!r}. "
                            "Drop or fill the null rows before training."
                        )
                    yield value
                    row += 1
        except (pa.ArrowException, OSError) as exc:
            if isinstance(exc, OSError) and not isinstance(exc, pa.ArrowException) and exc.errno is not None:
                raise  # the file system's error (pyarrow's own OSErrors, e.g. on a corrupt page, have no errno)
            raise CorpusError(
                f"cannot read {file.path} as Parquet: the file is corrupt or truncated "
                f"({' '.join(str(exc).split())}). Re-download or re-export it, or remove it from the sources."
            ) from exc
        except UnicodeDecodeError as exc:
            raise CorpusError(
                f"invalid UTF-8 in the string column {self.text_field!r} of {file.path} near row {row}: the file "
                "was written without UTF-8 validation. Re-export it with valid strings."
            ) from exc

    # -- invalid text --------------------------------------------------------------------------------------

    def _decode(self, line: _Line, file: _File) -> str | None:
        """The line as text, or None when the errors policy drops it."""
        try:
            return line.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._invalid_line(line, file, exc.start, exc.end)

    def _invalid_line(self, line: _Line, file: _File, start: int, end: int) -> str | None:
        """Apply the policy to a line whose first invalid UTF-8 is ``line.data[start:end]``."""
        offset = line.offset + start
        bad = line.data[start:end].hex(" ")
        self._invalid(
            f"{file.path}:{offset}",
            f"invalid UTF-8 in {file.path} at {_offset_text(file, offset)} (line {_line_number(file, line.number)}, "
            f"bytes {bad})",
        )
        return None if self.errors == "skip" else line.data.decode("utf-8", "replace")

    def _repair_surrogates(self, document: str, where: str, problem: str, fix: str = "Fix the file") -> str | None:
        """A string with a lone surrogate (e.g. from a JSON "\\ud800") is not valid Unicode: apply the policy."""
        self._invalid(where, f"{problem}: it is not valid Unicode and cannot be encoded as UTF-8", fix)
        return None if self.errors == "skip" else _SURROGATE.sub("\ufffd", document)

    def _invalid(self, where: str, problem: str, fix: str = "Fix the file") -> None:
        """Raise on invalid text in strict mode; otherwise count the dropped or repaired document."""
        if self.errors == "strict":
            raise CorpusError(f"{problem}. {fix}, or {_ERRORS_HINT}.")
        if self.stats.first_invalid is None:
            self.stats.first_invalid = where
        if self.errors == "skip":
            self.stats.skipped_documents += 1
        else:
            self.stats.replaced_documents += 1

    # -- datasets ------------------------------------------------------------------------------------------

    def _dataset_documents(self, source: _DatasetSource) -> Iterator[str]:
        bar = self._new_bar(total=_dataset_length(source.data), unit="doc")
        try:
            row = 0
            for values in _dataset_column_batches(source, self.text_field):
                checked = _are_utf8_strings(values)
                for value in values:
                    if not checked:
                        value = self._dataset_value(value, row, source)
                    if value is not None:
                        yield value
                    row += 1
                bar.update(len(values))
        finally:
            bar.close()

    def _dataset_value(self, value: Any, row: int, source: _DatasetSource) -> str | None:
        """A dataset value that may not be a string, or may hold a lone surrogate (a Python-made IterableDataset)."""
        if not isinstance(value, str):
            raise CorpusError(
                f"row {row} of {source.name}: column {self.text_field!r} holds "
                f"{type(value).__name__} {value!r:.60}, not a string. Filter or fill such rows first."
            )
        if _has_lone_surrogate(value):
            return self._repair_surrogates(
                value,
                f"{source.name}:row {row}",
                f"lone surrogate (like \\ud800) in column {self.text_field!r} at row {row} of {source.name}",
                "Fix the dataset",
            )
        return value

    # -- messages ------------------------------------------------------------------------------------------

    def _no_text_message(self) -> str:
        stats = self.stats
        details = [f"{stats.files} file(s) read"]
        if stats.skipped_documents:
            details.append(f"{stats.skipped_documents} document(s) dropped by errors='skip' for invalid text")
        if stats.malformed_records:
            details.append(f"{stats.malformed_records} malformed JSON Lines record(s) dropped by errors='skip', "
                           f"the first at {stats.first_malformed}")
        if stats.ignored_files:
            details.append(f"{len(stats.ignored_files)} file(s) ignored (unknown extension, or not a regular file)")
        return (
            f"no text found in {_short_list(self._names)} ({'; '.join(details)}). "
            f"Check that the sources are not empty and that {self.text_field!r} is the right text field "
            "(--text-field)."
        )


def iter_documents(sources: Any, **kwargs: Any) -> Iterator[str]:
    """Iterate once over the documents of ``sources``; keyword arguments are those of ``Corpus``."""
    return iter(Corpus(sources, **kwargs))


# -- resolving sources -------------------------------------------------------------------------------------


def _as_source_list(sources: Any) -> list[Any]:
    """One source or an iterable of sources, as a non-empty list."""
    if isinstance(sources, (str, os.PathLike)) or _is_dataset(sources) or _is_dataset_dict(sources):
        return [sources]
    if isinstance(sources, Iterable) and not isinstance(sources, (bytes, dict)):
        items = list(sources)
        if items:
            return items
        raise ConfigError("no corpus sources given: pass files, folders, glob patterns or a datasets.Dataset")
    raise ConfigError(_unsupported_source_message(sources))


def _resolve_sources(items: list[Any]) -> tuple[list[_Unit], list[str]]:
    """The units to read, in order, and the folder files ignored for their extension."""
    units: list[_Unit] = []
    ignored: list[str] = []
    for item in items:
        found, skipped = _resolve_source(item)
        units += found
        ignored += skipped
    return units, ignored


def _resolve_source(source: Any) -> tuple[list[_Unit], list[str]]:
    if _is_dataset_dict(source):
        raise _dataset_dict_error(
            "the corpus is a DatasetDict", list(source), f"pass one split, e.g. Corpus(ds[{next(iter(source), 'train')!r}])"
        )
    if _is_dataset(source):
        return [_DatasetSource(source, f"the {type(source).__name__} object")], []
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
        raise CorpusError(_unreadable_message(Path(exc.filename or path), exc)) from exc
    raise CorpusError(
        f"corpus path not found: {source} (looked for {path.absolute()}). "
        "Check the spelling and the working directory, or pass a glob pattern such as 'data/**/*.txt'."
    )


def _expand_folder(folder: Path) -> tuple[list[_Unit], list[str]]:
    """A saved dataset, or the known files under a folder in sorted order and the files ignored there."""
    units: list[_Unit] = []
    ignored: list[str] = []
    visited: set[str] = set()

    def fail(error: OSError) -> None:
        raise CorpusError(_unreadable_message(Path(error.filename or folder), error))

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


def _expand_glob(pattern: str) -> tuple[list[_Unit], list[str]]:
    """What a glob pattern matches: folders are expanded, files follow the folder rules for extensions."""
    matches = sorted((Path(match) for match in glob.glob(os.path.expanduser(pattern), recursive=True)), key=_path_key)
    if not matches:
        raise CorpusError(
            f"glob pattern {pattern!r} matched no files (relative to {Path.cwd()}). "
            "Check the pattern; use '**' to match folders recursively, e.g. 'data/**/*.jsonl'."
        )
    units: list[_Unit] = []
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


def _unique_paths(units: list[_Unit]) -> list[_Unit]:
    """The units in order, each path once."""
    seen: set[Path | None] = set()
    unique = []
    for unit in units:
        if unit.path not in seen:
            seen.add(unit.path)
            unique.append(unit)
    return unique


def _nonempty(expansion: tuple[list[_Unit], list[str]], what: str) -> tuple[list[_Unit], list[str]]:
    """The expansion of a folder or glob, which must hold at least one corpus file."""
    units, ignored = expansion
    if units:
        return units, ignored
    found = (f"ignored {len(ignored)} file(s) with other extensions or that are not regular files, e.g. "
             f"{_short_list(ignored)}") if ignored else (
        "found no files outside hidden folders"
    )
    raise CorpusError(
        f"no corpus files in {what}: tokforge reads {_KNOWN_EXTENSIONS}, and {found}. "
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


def _folder_file(path: Path) -> _File | None:
    """A file found in a folder or by a glob, or None when its extension is not a corpus format or
    it is not a regular file (a FIFO, device or socket would block or never end: it is never opened)."""
    detected = _detect_format(path)
    if detected is None:
        return None
    info = path.stat()
    return _File(path, *detected, info.st_size) if stat.S_ISREG(info.st_mode) else None


def _explicit_file(path: Path) -> _File:
    """A file named explicitly: read as (possibly compressed) text when its extension is unknown."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise CorpusError(
            f"{path} is {_special_file_kind(info.st_mode)}, not a regular file: tokforge measures, seeks in and "
            "re-reads corpus files, which it cannot do here, so it does not open it. Save the text to a file "
            "and pass that file."
        )
    fmt, compression = _detect_format(path) or ("text", _COMPRESSIONS.get(path.suffix.lower()))
    return _File(path, fmt, compression, info.st_size)


def _special_file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def _source_name(source: Any) -> str:
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


def _saved_dataset(folder: Path) -> _DatasetSource | None:
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
    return _DatasetSource(data, f"the dataset saved at {folder}", folder)


def _check_dataset_column(source: _DatasetSource, text_field: str) -> None:
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


def _missing_dataset_column(source: _DatasetSource, text_field: str, columns: list[str]) -> CorpusError:
    return CorpusError(
        f"{source.name} has no column {text_field!r} (columns: {', '.join(columns) or 'none'}). "
        "Pass the text column with text_field (--text-field)."
    )


def _dataset_column_batches(source: _DatasetSource, text_field: str) -> Iterator[list[Any]]:
    """The values of one dataset column, a batch at a time."""
    batches = source.data.select_columns([text_field]).with_format(None).iter(batch_size=DATASET_BATCH_ROWS)
    try:
        for batch in batches:
            yield batch[text_field]
    except KeyError as exc:  # an IterableDataset of unknown features lacks the column
        raise _missing_dataset_column(source, text_field, []) from exc


def _dataset_length(data: Any) -> int | None:
    try:
        return len(data)
    except TypeError:  # an IterableDataset has no length
        return None


# -- reading files -----------------------------------------------------------------------------------------


class _CountingReader(io.RawIOBase):
    """A raw, unbuffered file that reports every chunk it reads from disk (for stats and progress)."""

    def __init__(self, path: Path, on_read: Callable[[int], None], start: int = 0, length: int | None = None) -> None:
        super().__init__()
        self._file = open(path, "rb", buffering=0)
        if start:
            self._file.seek(start)
        self._left = length  # bytes of the range still to read (None: to the end of the file)
        self._on_read = on_read
        self.count = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._file.seekable()

    def readinto(self, buffer: Any) -> int:
        if self._left is not None:
            if self._left <= 0:
                return 0
            buffer = memoryview(buffer)[:self._left]
        n = self._file.readinto(buffer) or 0
        if self._left is not None:
            self._left -= n
        if n:
            self.count += n
            self._on_read(n)
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


class _ZstdReader(io.RawIOBase):
    """The decompressed bytes of a (possibly multi-frame) Zstandard stream.

    zstandard's own ``stream_reader`` silently stops at a truncated frame; this reader raises EOFError.
    """

    def __init__(self, compressed: BinaryIO) -> None:
        super().__init__()
        self._compressed = compressed
        self._decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False  # some bytes of the current frame were fed
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = self._compressed.read(ZSTD_INPUT_BYTES)
            if not chunk:
                if self._in_frame:
                    raise EOFError("the data ends in the middle of a zstd frame")
                return 0
            self._pending = memoryview(self._decompress(chunk))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _decompress(self, data: bytes) -> bytes:
        output = []
        while data:
            output.append(self._frame.decompress(data))
            self._in_frame = True
            if not self._frame.eof:
                break
            data = self._frame.unused_data
            self._frame = self._decompressor.decompressobj()
            self._in_frame = False
        return b"".join(output)


def _decompressed(raw: _CountingReader, compression: str | None) -> BinaryIO:
    """A buffered binary stream of the decompressed content of ``raw``."""
    buffered = io.BufferedReader(raw, READ_CHUNK_BYTES)
    if compression == "gz":
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    if compression == "zst":
        return io.BufferedReader(_ZstdReader(buffered), READ_CHUNK_BYTES)
    return buffered


def _iter_chunks(stream: BinaryIO, file: _File) -> Iterator[_Chunk]:
    """A decompressed text stream in chunks of whole lines, once its head is known not to be binary.

    Chunks hold about READ_CHUNK_BYTES and end with a newline, except the last chunk of a stream that does
    not end with one. A line longer than MAX_LINE_BYTES ends the chunks as a chunk of its own (the reader of
    the chunks raises there), so memory stays bounded whatever the input.
    """
    read = stream.read(BINARY_SNIFF_BYTES)
    nul = read.find(b"\0") if file.start == 0 else -1  # (the head of the file, as when read whole)
    if nul >= 0:
        raise CorpusError(
            f"{file.path} looks binary (NUL byte at {_offset_text(file, nul)}): it is not a text corpus file. "
            f"tokforge reads {_KNOWN_EXTENSIONS}; remove this file or point at the right files "
            "(e.g. a glob such as 'data/**/*.txt')."
        )
    number, offset = 1, file.start  # a line number counts from the start of the byte range: see _line_number
    partial: list[bytes | memoryview] = []  # the start of a line that continues in the next read
    partial_bytes = 0
    while read:
        cut = read.rfind(b"\n") + 1
        if cut:
            data = read if cut == len(read) and not partial else b"".join([*partial, memoryview(read)[:cut]])
            bounds = _line_bounds(data)
            yield _Chunk(data, bounds, number, offset)
            number += len(bounds) - 1
            offset += len(data)
            partial = [read[cut:]] if cut < len(read) else []
            partial_bytes = len(read) - cut
        else:
            partial.append(read)
            partial_bytes += len(read)
        if partial_bytes > MAX_LINE_BYTES:
            data = b"".join(partial)
            yield _Chunk(data, _line_bounds(data), number, offset)
            return
        read = stream.read(READ_CHUNK_BYTES)
    if partial:
        data = b"".join(partial)
        yield _Chunk(data, _line_bounds(data), number, offset)


def _byte_ranges(file: _File, shard_bytes: int) -> list[_File]:
    """A plain text file cut into byte ranges of about ``shard_bytes`` that end after a newline."""
    if file.format != "text" or file.compression is not None or file.size <= shard_bytes:
        return [file]
    cuts = [0]
    with open(file.path, "rb") as f:
        while cuts[-1] + shard_bytes < file.size:
            f.seek(cuts[-1] + shard_bytes)
            ahead, newline = 0, -1
            while newline < 0 and ahead <= MAX_LINE_BYTES:
                chunk = f.read(READ_CHUNK_BYTES)
                if not chunk:
                    break
                newline = chunk.find(b"\n")
                ahead += len(chunk) if newline < 0 else newline + 1
            if newline < 0:  # no newline left (or a line too long: the reader reports it)
                break
            cut = cuts[-1] + shard_bytes + ahead
            if cut >= file.size:
                break
            cuts.append(cut)
    cuts.append(file.size)
    return [_File(file.path, file.format, None, end - start, start, len(cuts) == 2)
            for start, end in zip(cuts, cuts[1:])]


def _line_bounds(data: bytes) -> np.ndarray:
    """Where the lines of ``data`` start and end: [0, after each newline..., len(data)] without repeats."""
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    bounds = np.empty(len(ends) + 2, np.int64)
    bounds[0] = 0
    np.add(ends, 1, out=bounds[1:-1])
    bounds[-1] = len(data)
    return bounds[:-1] if data.endswith(b"\n") else bounds


def _iter_lines(chunks: Iterator[_Chunk], file: _File) -> Iterator[_Line]:
    """The lines of a text stream, newline included."""
    for chunk in chunks:
        yield from _chunk_lines(chunk, file)


def _chunk_lines(chunk: _Chunk, file: _File) -> Iterator[_Line]:
    """The lines of one chunk; a line longer than MAX_LINE_BYTES is an error."""
    marks = chunk.bounds.tolist()
    for number, start, end in zip(itertools.count(chunk.number), marks, marks[1:]):
        offset = chunk.offset + start
        if end - start > MAX_LINE_BYTES:
            raise CorpusError(
                f"line {_line_number(file, number)} of {file.path}, at {_offset_text(file, offset)}, is longer than "
                f"{MAX_LINE_BYTES:,} bytes: tokforge reads one line per document and holds it in memory. "
                "Split the file into shorter lines (e.g. at paragraph or sentence boundaries)."
            )
        yield _Line(number, offset, chunk.data[start:end])


def _json_document(text: str, text_field: str, file: _File, line: _Line) -> str:
    """The text field of one JSON Lines record."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorpusError(
            f"malformed JSON at {_where(file, line)}, column {exc.colno}: {exc.msg}. Each line of a .jsonl/.json "
            "file must be one complete JSON object (JSON Lines); convert pretty-printed or array JSON first."
        ) from exc
    if not isinstance(record, dict):
        raise CorpusError(
            f"{_where(file, line)} is a JSON {_json_type(record)}, not an object. Each line of a .jsonl/.json "
            f"file must be one JSON object holding the text in field {text_field!r}."
        )
    if text_field not in record:
        raise CorpusError(
            f"{_where(file, line)} has no field {text_field!r} (available keys: {', '.join(record) or 'none'}). "
            "Pass the text field with --text-field (text_field= in Python), or fix the record."
        )
    value = record[text_field]
    if not isinstance(value, str):
        raise CorpusError(
            f"field {text_field!r} at {_where(file, line)} is a JSON {_json_type(value)}, not a string. "
            "Fix the record, or pick a string field with --text-field."
        )
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), type(value).__name__)


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _are_utf8_strings(values: list[Any]) -> bool:
    """Whether all values are strings that UTF-8 can encode (no lone surrogate), checked at C speed."""
    try:
        "".join(values).encode("utf-8")
    except (TypeError, UnicodeEncodeError):
        return False
    return True


# -- blocks ------------------------------------------------------------------------------------------------


def _split_documents(data: bytes | memoryview, bounds: np.ndarray, text: str | None = None) -> list[str]:
    """The documents ``data[bounds[i]:bounds[i + 1]]`` of valid UTF-8 ``data`` (decoded as ``text``), as str."""
    if text is None:
        text = str(data, "utf-8")
    if len(text) == len(data):  # ASCII: characters are bytes
        marks = bounds.tolist()
    else:  # a character offset is the byte offset less the continuation bytes before it
        continuations = np.flatnonzero((np.frombuffer(data, np.uint8) & 0xC0) == 0x80)
        marks = (bounds - np.searchsorted(continuations, bounds)).tolist()
    return [text[begin:end] for begin, end in zip(marks, marks[1:])]


class _BlockPacker:
    """Packs documents and runs of documents into blocks of at most ``block_bytes`` (or a single document)."""

    def __init__(self, block_bytes: int) -> None:
        self.block_bytes = block_bytes
        self.documents = 0            # in the block being packed
        self._bytes = 0
        self._parts: list[bytes | memoryview] = []
        self._sizes: list[np.ndarray] = []  # document sizes of the parts, in order
        self._loose: list[int] = []   # sizes of documents added one by one, not yet in _sizes
        self._first_document = 0      # of the block being packed

    def add(self, piece: _Piece) -> list[Block]:
        """Add a document or a run of documents; return the blocks completed."""
        if isinstance(piece, str):
            return self._add_document(piece.encode("utf-8"))
        return self._add_run(piece.data, piece.bounds)

    def _add_document(self, data: bytes) -> list[Block]:
        blocks = []
        if self.documents and self._bytes + len(data) > self.block_bytes:
            blocks.append(self.take())
        self._parts.append(data)
        self._loose.append(len(data))
        self._bytes += len(data)
        self.documents += 1
        return blocks

    def _add_run(self, data: bytes | memoryview, bounds: np.ndarray) -> list[Block]:
        blocks = []
        view = memoryview(data)
        first, count = 0, len(bounds) - 1  # documents [first, count) are left
        while first < count:
            start = int(bounds[first])
            stop = int(np.searchsorted(bounds, start + self.block_bytes - self._bytes, side="right")) - 1
            if stop <= first:  # the next document does not fit
                if self.documents:
                    blocks.append(self.take())
                    continue
                stop = first + 1  # a document longer than block_bytes is a block of its own
            self._flush_loose()
            self._parts.append(view[start:int(bounds[stop])])
            self._sizes.append(np.diff(bounds[first:stop + 1]))
            self._bytes += int(bounds[stop]) - start
            self.documents += stop - first
            first = stop
            if first < count:  # the block cannot take the next document
                blocks.append(self.take())
        return blocks

    def _flush_loose(self) -> None:
        if self._loose:
            self._sizes.append(np.array(self._loose, np.int64))
            self._loose = []

    def take(self) -> Block:
        """The block packed so far; packing starts a new block."""
        self._flush_loose()
        sizes = self._sizes[0] if len(self._sizes) == 1 else np.concatenate(self._sizes)
        bounds = np.zeros(len(sizes) + 1, np.int64)
        np.cumsum(sizes, out=bounds[1:])
        bounds.flags.writeable = False
        block = Block(b"".join(self._parts), bounds, self._first_document)
        self._first_document += self.documents
        self.documents = self._bytes = 0
        self._parts, self._sizes = [], []
        return block


def _check_parquet_column(schema: Any, text_field: str, file: _File) -> None:
    """Fail when a Parquet schema lacks a string column ``text_field``."""
    import pyarrow as pa

    if text_field not in schema.names:
        raise CorpusError(
            f"{file.path} has no column {text_field!r} (columns: {', '.join(schema.names) or 'none'}). "
            "Pass the text column with --text-field (text_field= in Python)."
        )
    column_type = schema.field(text_field).type
    if not (pa.types.is_string(column_type) or pa.types.is_large_string(column_type)):
        raise CorpusError(
            f"column {text_field!r} of {file.path} has type {column_type}, not string. "
            "Pick a string column with --text-field, or cast the column to string."
        )


# -- message helpers ---------------------------------------------------------------------------------------


def _offset_text(file: _File, offset: int) -> str:
    """'byte offset N', saying when N counts decompressed bytes."""
    if file.compression is None:
        return f"byte offset {offset}"
    return f"byte offset {offset} of the decompressed data ({_COMPRESSION_NAMES[file.compression]})"


def _where(file: _File, line: _Line) -> str:
    return f"{file.path} line {_line_number(file, line.number)} ({_offset_text(file, line.offset)})"


def _line_number(file: _File, number: int) -> int:
    """The line number in the file of line ``number`` of a byte range (counted once, on an error)."""
    if file.start == 0:
        return number
    newlines = 0
    with open(file.path, "rb") as f:
        left = file.start
        while left > 0:
            chunk = f.read(min(left, READ_CHUNK_BYTES))
            if not chunk:
                break
            newlines += chunk.count(b"\n")
            left -= len(chunk)
    return newlines + number


def _unreadable_message(path: Path, exc: OSError) -> str:
    return (
        f"cannot read {path}: {exc.strerror or exc}. Check that it exists and that you may read it "
        "(file permissions), or remove it from the sources."
    )


def _short_list(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"
