"""Reading a corpus's sources, one pass: each file in its format (text, JSON Lines, Parquet; gzip
and zstd decompressed) and ``datasets`` columns, as documents and runs of documents.

A text file is read in chunks of whole lines (``READ_CHUNK_BYTES``, ``tokforge.corpus.limits``)
and validated a chunk at a time; only the lines with invalid UTF-8 go through the policy one by
one (``tokforge.corpus.utf8``). A JSON Lines file is read line by line, a Parquet file by
batches of its text column, a dataset by batches of rows. I/O and decompression failures,
binary files, overlong lines and malformed records are ``CorpusError``s that name the file and
the place. Example (what ``Corpus`` does for each pass)::

    >>> from tokforge.corpus.sources import resolve_sources
    >>> units, _ = resolve_sources(["corpora/tr/denemeler_tokforge_tr.txt"])
    >>> stats = CorpusStats()
    >>> runs = list(Reader("text", Utf8Policy("strict", stats), stats).pieces(units))
    >>> [len(run.documents()) for run in runs], stats.files, stats.bytes_read   # the 8 KB head, then the rest
    ([136, 10], 1, 8915)
"""
from __future__ import annotations

import bisect
import gzip
import itertools
import json
import zlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, NamedTuple

import numpy as np
import zstandard
from tqdm import tqdm

from tokforge.corpus import limits
from tokforge.corpus.blocks import Piece, Run
from tokforge.corpus.compression import COMPRESSION_NAMES, CountingReader, decompressed
from tokforge.corpus.sources import (KNOWN_EXTENSIONS, DatasetSource, SourceFile, Unit, dataset_column_batches,
                                     dataset_length, line_number, offset_text, unreadable_message)
from tokforge.corpus.stats import CorpusStats
from tokforge.corpus.utf8 import Utf8Policy, are_utf8_strings, has_lone_surrogate
from tokforge.errors import CorpusError


class Line(NamedTuple):
    number: int  # 1-based
    offset: int  # byte offset of the line in the (decompressed) stream
    data: bytes  # the line, newline included


class Chunk(NamedTuple):
    data: bytes          # whole lines of a (decompressed) text stream, newlines included
    bounds: np.ndarray   # int64: line i is data[bounds[i]:bounds[i + 1]]
    number: int          # 1-based number of its first line
    offset: int          # byte offset of its first line in the stream


class Reader:
    """One pass over the units of a corpus: their documents in order, valid text a run of lines at a
    time, with the UTF-8 ``policy`` applied; counts into ``stats`` and advances ``bar`` (raw bytes);
    ``new_bar`` makes the progress bar of a dataset."""

    def __init__(self, text_field: str, policy: Utf8Policy, stats: CorpusStats, bar: tqdm | None = None,
                 new_bar: Callable[..., tqdm] | None = None) -> None:
        self.text_field = text_field
        self.policy = policy
        self.stats = stats
        self._bar = bar
        self._new_bar = new_bar or (lambda total, unit: tqdm(total=total, unit=unit, disable=True))

    def pieces(self, units: list[Unit]) -> Iterator[Piece]:
        """The documents of ``units`` in order: str documents and ``Run``s of documents."""
        for unit in units:
            if isinstance(unit, DatasetSource):
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

    def _file_pieces(self, file: SourceFile) -> Iterator[Piece]:
        """Open one file, stream its documents, and turn I/O and decompression failures into CorpusErrors."""
        try:
            with CountingReader(file.path, self._count_raw_bytes, file.start,
                                 None if file.whole else file.size) as raw:
                self.stats.files += file.start == 0
                if file.format == "parquet":
                    yield from self._parquet_documents(file, raw)
                else:
                    with decompressed(raw, file.compression) as stream:
                        chunks = _iter_chunks(stream, file)
                        if file.format == "jsonl":
                            yield from self._jsonl_documents(file, _iter_lines(chunks, file))
                        else:
                            yield from self._text_pieces(file, chunks)
        except (EOFError, zlib.error, gzip.BadGzipFile, zstandard.ZstdError) as exc:
            kind = COMPRESSION_NAMES.get(file.compression or "", "compressed")
            raise CorpusError(
                f"{file.path} is not a valid {kind} file, or is truncated or corrupt ({exc}). "
                "Re-download or re-compress it, or remove it from the sources."
            ) from exc
        except OSError as exc:
            raise CorpusError(unreadable_message(file.path, exc)) from exc
        self._advance_bar(max(0, file.size - raw.count))  # parquet reads only some columns: finish the file

    def _text_pieces(self, file: SourceFile, chunks: Iterator[Chunk]) -> Iterator[Piece]:
        """The lines of a text file: runs of valid lines, and the lines with invalid UTF-8 after the policy."""
        for chunk in chunks:
            if int(np.diff(chunk.bounds).max()) > limits.MAX_LINE_BYTES:  # the line-by-line reader raises at that line
                yield from self._text_documents(file, _chunk_lines(chunk, file))
            elif chunk.data.isascii():
                yield Run(chunk.data, chunk.bounds)
            else:
                try:
                    text = chunk.data.decode("utf-8")
                except UnicodeDecodeError:
                    yield from self._decoded_runs(file, chunk)
                else:
                    yield Run(chunk.data, chunk.bounds, text)

    def _decoded_runs(self, file: SourceFile, chunk: Chunk) -> Iterator[Piece]:
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
                    yield Run(data[marks[first]:marks[bad]], bounds[first:bad + 1] - marks[first], text)
                line = Line(chunk.number + bad, chunk.offset + marks[bad], raw[marks[bad]:marks[bad + 1]])
                # the error is that of the line alone: a newline ends any UTF-8 sequence
                document = self.policy.invalid_line(line, file, start + exc.start - marks[bad], start + exc.end - marks[bad])
                if document is not None:
                    yield document
                first = checked = bad + 1
                texts = []
                window = 1
            else:
                checked = stop
                window *= 2
        if first < count:
            yield Run(data[marks[first]:], bounds[first:] - marks[first], "".join(texts))

    def _text_documents(self, file: SourceFile, lines: Iterator[Line]) -> Iterator[str]:
        for line in lines:
            document = self.policy.decode(line, file)
            if document is not None:
                yield document

    def _jsonl_documents(self, file: SourceFile, lines: Iterator[Line]) -> Iterator[str]:
        for line in lines:
            if line.data.isspace():
                continue
            text = self.policy.decode(line, file)
            if text is None:
                continue
            try:
                document = _json_document(text, self.text_field, file, line)
            except CorpusError as exc:
                if self.policy.errors != "skip":
                    raise CorpusError(f"{exc} Or pass --errors skip (errors='skip' in Python) to drop such "
                                      "records; they are counted in the report.") from None
                if self.stats.first_malformed is None:
                    self.stats.first_malformed = f"{file.path} line {line_number(file, line.number)}"
                self.stats.malformed_records += 1
                continue
            if ("\\ud" in text or "\\uD" in text) and has_lone_surrogate(document):
                document = self.policy.repair_surrogates(
                    document,
                    f"{file.path}:{line.offset}",
                    f"lone surrogate escape (like \\ud800) in field {self.text_field!r} at {_where(file, line)}",
                )
            if document is not None:
                yield document

    def _parquet_documents(self, file: SourceFile, raw: BinaryIO) -> Iterator[str]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        row = 0
        try:
            parquet = pq.ParquetFile(raw)
            _check_parquet_column(parquet.schema_arrow, self.text_field, file)
            for batch in parquet.iter_batches(batch_size=limits.PARQUET_BATCH_ROWS, columns=[self.text_field]):
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

    # -- datasets ------------------------------------------------------------------------------------------

    def _dataset_documents(self, source: DatasetSource) -> Iterator[str]:
        bar = self._new_bar(total=dataset_length(source.data), unit="doc")
        try:
            row = 0
            for values in dataset_column_batches(source, self.text_field):
                checked = are_utf8_strings(values)
                for value in values:
                    if not checked:
                        value = self._dataset_value(value, row, source)
                    if value is not None:
                        yield value
                    row += 1
                bar.update(len(values))
        finally:
            bar.close()

    def _dataset_value(self, value: Any, row: int, source: DatasetSource) -> str | None:
        """A dataset value that may not be a string, or may hold a lone surrogate (a Python-made IterableDataset)."""
        if not isinstance(value, str):
            raise CorpusError(
                f"row {row} of {source.name}: column {self.text_field!r} holds "
                f"{type(value).__name__} {value!r:.60}, not a string. Filter or fill such rows first."
            )
        if has_lone_surrogate(value):
            return self.policy.repair_surrogates(
                value,
                f"{source.name}:row {row}",
                f"lone surrogate (like \\ud800) in column {self.text_field!r} at row {row} of {source.name}",
                "Fix the dataset",
            )
        return value


def _iter_chunks(stream: BinaryIO, file: SourceFile) -> Iterator[Chunk]:
    """A decompressed text stream in chunks of whole lines, once its head is known not to be binary.

    Chunks hold about READ_CHUNK_BYTES and end with a newline, except the last chunk of a stream that does
    not end with one. A line longer than MAX_LINE_BYTES ends the chunks as a chunk of its own (the reader of
    the chunks raises there), so memory stays bounded whatever the input.
    """
    read = stream.read(limits.BINARY_SNIFF_BYTES)
    nul = read.find(b"\0") if file.start == 0 else -1  # (the head of the file, as when read whole)
    if nul >= 0:
        raise CorpusError(
            f"{file.path} looks binary (NUL byte at {offset_text(file, nul)}): it is not a text corpus file. "
            f"tokforge reads {KNOWN_EXTENSIONS}; remove this file or point at the right files "
            "(e.g. a glob such as 'data/**/*.txt')."
        )
    number, offset = 1, file.start  # a line number counts from the start of the byte range: see line_number
    partial: list[bytes | memoryview] = []  # the start of a line that continues in the next read
    partial_bytes = 0
    while read:
        cut = read.rfind(b"\n") + 1
        if cut:
            data = read if cut == len(read) and not partial else b"".join([*partial, memoryview(read)[:cut]])
            bounds = _line_bounds(data)
            yield Chunk(data, bounds, number, offset)
            number += len(bounds) - 1
            offset += len(data)
            partial = [read[cut:]] if cut < len(read) else []
            partial_bytes = len(read) - cut
        else:
            partial.append(read)
            partial_bytes += len(read)
        if partial_bytes > limits.MAX_LINE_BYTES:
            data = b"".join(partial)
            yield Chunk(data, _line_bounds(data), number, offset)
            return
        read = stream.read(limits.READ_CHUNK_BYTES)
    if partial:
        data = b"".join(partial)
        yield Chunk(data, _line_bounds(data), number, offset)


def _line_bounds(data: bytes) -> np.ndarray:
    """Where the lines of ``data`` start and end: [0, after each newline..., len(data)] without repeats."""
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    bounds = np.empty(len(ends) + 2, np.int64)
    bounds[0] = 0
    np.add(ends, 1, out=bounds[1:-1])
    bounds[-1] = len(data)
    return bounds[:-1] if data.endswith(b"\n") else bounds


def _iter_lines(chunks: Iterator[Chunk], file: SourceFile) -> Iterator[Line]:
    """The lines of a text stream, newline included."""
    for chunk in chunks:
        yield from _chunk_lines(chunk, file)


def _chunk_lines(chunk: Chunk, file: SourceFile) -> Iterator[Line]:
    """The lines of one chunk; a line longer than MAX_LINE_BYTES is an error."""
    marks = chunk.bounds.tolist()
    for number, start, end in zip(itertools.count(chunk.number), marks, marks[1:]):
        offset = chunk.offset + start
        if end - start > limits.MAX_LINE_BYTES:
            raise CorpusError(
                f"line {line_number(file, number)} of {file.path}, at {offset_text(file, offset)}, is longer than "
                f"{limits.MAX_LINE_BYTES:,} bytes: tokforge reads one line per document and holds it in memory. "
                "Split the file into shorter lines (e.g. at paragraph or sentence boundaries)."
            )
        yield Line(number, offset, chunk.data[start:end])


def _json_document(text: str, text_field: str, file: SourceFile, line: Line) -> str:
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


def _check_parquet_column(schema: Any, text_field: str, file: SourceFile) -> None:
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


def _where(file: SourceFile, line: Line) -> str:
    return f"{file.path} line {line_number(file, line.number)} ({offset_text(file, line.offset)})"
