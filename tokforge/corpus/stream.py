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

import operator
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from tokforge.corpus import limits
from tokforge.corpus.blocks import Block, BlockPacker, Piece, byte_ranges
from tokforge.corpus.readers import Reader
from tokforge.corpus.sources import (DatasetSource, SourceFile, as_source_list, check_dataset_column, resolve_sources,
                                     short_list, source_name)
from tokforge.corpus.stats import CorpusStats
from tokforge.corpus.utf8 import Utf8Policy, check_errors_policy
from tokforge.errors import ConfigError, CorpusError


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
        check_errors_policy(errors)
        if not isinstance(text_field, str) or not text_field:
            raise ConfigError(f"text_field must be a non-empty column or field name, got {text_field!r}")
        self.text_field = text_field
        self.errors = errors
        self.progress = progress
        self.desc = desc
        items = as_source_list(sources)
        self._names = [source_name(item) for item in items]
        self._units, self._ignored = resolve_sources(items)
        for unit in self._units:
            if isinstance(unit, DatasetSource):
                check_dataset_column(unit, text_field)
        self.stats = CorpusStats(ignored_files=list(self._ignored))
        self._bar: tqdm | None = None
        self._is_part = False

    def __getstate__(self) -> dict[str, Any]:  # picklable (to send shards to worker processes)
        return {**self.__dict__, "_bar": None}

    def shards(self, shard_bytes: int = limits.SHARD_BYTES) -> list["Corpus"]:
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
            ranges = byte_ranges(unit, shard_bytes) if isinstance(unit, SourceFile) else [unit]
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
        return [unit.path for unit in self._units if isinstance(unit, SourceFile)]

    @property
    def total_bytes(self) -> int:
        """The summed on-disk size of the corpus files."""
        return sum(unit.size for unit in self._units if isinstance(unit, SourceFile))

    @property
    def text_files_only(self) -> bool:
        """Whether every source is a text file (read as bytes, without parsing records)."""
        return all(isinstance(unit, SourceFile) and unit.format == "text" for unit in self._units)

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

    def iter_blocks(self, block_bytes: int = limits.DEFAULT_BLOCK_BYTES) -> Iterator[Block]:
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
        packer = BlockPacker(block_bytes)
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

    def _pieces(self) -> Iterator[Piece]:
        """The documents of every source in order, valid text files a run of lines at a time."""
        policy = Utf8Policy(self.errors, self.stats)
        return Reader(self.text_field, policy, self.stats, self._bar, self._new_bar).pieces(self._units)

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
            f"no text found in {short_list(self._names)} ({'; '.join(details)}). "
            f"Check that the sources are not empty and that {self.text_field!r} is the right text field "
            "(--text-field)."
        )


def iter_documents(sources: Any, **kwargs: Any) -> Iterator[str]:
    """Iterate once over the documents of ``sources``; keyword arguments are those of ``Corpus``."""
    return iter(Corpus(sources, **kwargs))


# -- resolving sources -------------------------------------------------------------------------------------
