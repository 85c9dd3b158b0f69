"""The bytes of a corpus file: raw reads counted as they come from disk (for the stats and the
progress bar), and gzip or Zstandard decompression that fails loudly on a truncated stream.

    >>> import gzip, io
    >>> seen = []
    >>> raw = CountingReader("corpora/README.md", seen.append, length=100)
    >>> len(decompressed(raw, None).read()), sum(seen)
    (100, 100)
"""
from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from tokforge.corpus import limits

COMPRESSION_NAMES = {"gz": "gzip", "zst": "zstd"}


class CountingReader(io.RawIOBase):
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
        self._decompressor = zstandard.ZstdDecompressor(max_window_size=limits.ZSTD_MAX_WINDOW)
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False  # some bytes of the current frame were fed
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = self._compressed.read(limits.ZSTD_INPUT_BYTES)
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


def decompressed(raw: CountingReader, compression: str | None) -> BinaryIO:
    """A buffered binary stream of the decompressed content of ``raw``."""
    buffered = io.BufferedReader(raw, limits.READ_CHUNK_BYTES)
    if compression == "gz":
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    if compression == "zst":
        return io.BufferedReader(_ZstdReader(buffered), limits.READ_CHUNK_BYTES)
    return buffered
