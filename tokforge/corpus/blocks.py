"""Documents packed back to back: ``Block`` (what ``Corpus.iter_blocks`` yields), the runs of
documents the readers produce, the packer that turns them into blocks of a given size, and the
byte ranges a large text file is cut into for counting in parallel (``Corpus.shards``).

    >>> packer = BlockPacker(block_bytes=8)
    >>> [b.documents() for b in packer.add(Run(b"ab\\ncd\\nefgh\\n", np.array([0, 3, 6, 11])))]
    [['ab\\n', 'cd\\n']]
    >>> packer.take()
    Block(1 documents from #2, 5 bytes)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Union

import numpy as np

from tokforge.corpus import limits
from tokforge.corpus.sources import SourceFile


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
        return split_documents(self.data, self.bounds)

    def __repr__(self) -> str:
        return f"Block({len(self)} documents from #{self.first_document}, {len(self.data):,} bytes)"


class Run(NamedTuple):
    """Consecutive documents known to be valid UTF-8, back to back (``bounds`` as in ``Block``)."""

    data: bytes | memoryview
    bounds: np.ndarray
    text: str | None = None  # data decoded, when already known

    def documents(self) -> list[str]:
        return split_documents(self.data, self.bounds, self.text)


Piece = Union[str, Run]  # what the readers produce: one document, or a run of documents


def split_documents(data: bytes | memoryview, bounds: np.ndarray, text: str | None = None) -> list[str]:
    """The documents ``data[bounds[i]:bounds[i + 1]]`` of valid UTF-8 ``data`` (decoded as ``text``), as str."""
    if text is None:
        text = str(data, "utf-8")
    if len(text) == len(data):  # ASCII: characters are bytes
        marks = bounds.tolist()
    else:  # a character offset is the byte offset less the continuation bytes before it
        continuations = np.flatnonzero((np.frombuffer(data, np.uint8) & 0xC0) == 0x80)
        marks = (bounds - np.searchsorted(continuations, bounds)).tolist()
    return [text[begin:end] for begin, end in zip(marks, marks[1:])]


class BlockPacker:
    """Packs documents and runs of documents into blocks of at most ``block_bytes`` (or a single document)."""

    def __init__(self, block_bytes: int) -> None:
        self.block_bytes = block_bytes
        self.documents = 0            # in the block being packed
        self._bytes = 0
        self._parts: list[bytes | memoryview] = []
        self._sizes: list[np.ndarray] = []  # document sizes of the parts, in order
        self._loose: list[int] = []   # sizes of documents added one by one, not yet in _sizes
        self._first_document = 0      # of the block being packed

    def add(self, piece: Piece) -> list[Block]:
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


def byte_ranges(file: SourceFile, shard_bytes: int) -> list[SourceFile]:
    """A plain text file cut into byte ranges of about ``shard_bytes`` that end after a newline."""
    if file.format != "text" or file.compression is not None or file.size <= shard_bytes:
        return [file]
    cuts = [0]
    with open(file.path, "rb") as f:
        while cuts[-1] + shard_bytes < file.size:
            f.seek(cuts[-1] + shard_bytes)
            ahead, newline = 0, -1
            while newline < 0 and ahead <= limits.MAX_LINE_BYTES:
                chunk = f.read(limits.READ_CHUNK_BYTES)
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
    return [SourceFile(file.path, file.format, None, end - start, start, len(cuts) == 2)
            for start, end in zip(cuts, cuts[1:])]
