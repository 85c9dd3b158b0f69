"""Word counts: the table of unique pretokenized words (as UTF-8 bytes) and how often each occurs.

This is what ``feed`` produces from a corpus and what every trainer consumes. Example::

    >>> counter = WordCounter()
    >>> counter.add(["the", " cat", " the", "the"])
    >>> counts = counter.result()
    >>> sorted(counts.items())
    [(b' cat', 1), (b' the', 1), (b'the', 2)]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from tokforge.kernels.word_count import MAX_LOAD, counts_by_word, intern_words, new_slots, rehash_words


@dataclass(frozen=True)
class WordCounts:
    """Unique words packed in one byte arena: word ``i`` is ``arena[offsets[i]:offsets[i+1]]``."""

    arena: np.ndarray    # uint8
    offsets: np.ndarray  # int64, len = n + 1
    counts: np.ndarray   # int64, len = n

    def __len__(self) -> int:
        return len(self.counts)

    def word(self, i: int) -> bytes:
        return self.arena[self.offsets[i]: self.offsets[i + 1]].tobytes()

    def items(self) -> Iterator[tuple[bytes, int]]:
        for i in range(len(self)):
            yield self.word(i), int(self.counts[i])

    @property
    def total(self) -> int:
        """Number of word occurrences (pieces) counted."""
        return int(self.counts.sum())

    @classmethod
    def from_dict(cls, counts: dict[bytes | str, int]) -> "WordCounts":
        """Build from ``{word: count}``; str words are UTF-8 encoded. Words are kept in the dict's order."""
        words = [w.encode("utf-8") if isinstance(w, str) else bytes(w) for w in counts]
        offsets = offsets_from_lengths(lengths_of(words))
        arena = np.frombuffer(b"".join(words), np.uint8).copy()
        return cls(arena, offsets, np.fromiter(counts.values(), np.int64, len(words)))


class WordCounter:
    """Streams pieces into a growing hash table of unique words (a numba kernel does the work)."""

    def __init__(self, capacity: int = 1 << 16):
        self._slots = new_slots(_pow2(int(capacity / MAX_LOAD) + 1))
        self._offsets = np.zeros(capacity + 1, np.int64)
        self._arena = np.zeros(capacity * 8, np.uint8)
        self._n = 0

    def add(self, pieces: Iterable[str]) -> None:
        """Count pieces (str, encoded as UTF-8)."""
        pieces = list(pieces)
        if pieces:
            buf = "".join(pieces).encode("utf-8")
            self.add_packed(buf, _byte_bounds(buf, pieces))

    def add_packed(self, buf: bytes, bounds: np.ndarray) -> None:
        """Count the pieces ``buf[bounds[j]:bounds[j+1]]`` of one UTF-8 buffer."""
        data = np.frombuffer(buf, np.uint8)
        bounds = np.ascontiguousarray(bounds, np.int64)
        first = 0
        while True:
            first, self._n = intern_words(data, bounds, first, self._slots, self._offsets, self._arena, self._n)
            if first >= len(bounds) - 1:
                return
            self._grow(int(bounds[first + 1] - bounds[first]))

    def _grow(self, need_bytes: int) -> None:
        n = self._n
        if n + 1 >= len(self._offsets):
            self._offsets = _resized(self._offsets, 2 * len(self._offsets))
        if self._offsets[n] + need_bytes > len(self._arena):
            self._arena = _resized(self._arena, max(2 * len(self._arena), int(self._offsets[n]) + need_bytes))
        if n >= len(self._slots) * MAX_LOAD:
            bigger = new_slots(2 * len(self._slots))
            rehash_words(self._slots, bigger)
            self._slots = bigger

    def __len__(self) -> int:
        return self._n

    def result(self) -> WordCounts:
        n = self._n
        offsets = self._offsets[: n + 1].copy()
        return WordCounts(self._arena[: offsets[-1]].copy(), offsets, counts_by_word(self._slots, n))


def offsets_from_lengths(lengths) -> np.ndarray:
    """int64 offsets [0, l0, l0+l1, ...] of items with the given lengths laid back to back.

    >>> offsets_from_lengths([2, 0, 3]).tolist()
    [0, 2, 2, 5]
    """
    lengths = np.asarray(lengths, np.int64)
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def lengths_of(items) -> np.ndarray:
    """The ``len`` of each item, as int64."""
    return np.fromiter(map(len, items), np.int64, len(items))


def _pow2(n: int) -> int:
    return 1 << max(3, (n - 1).bit_length())


def _resized(a: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, a.dtype)
    out[: len(a)] = a
    return out


def _byte_bounds(buf: bytes, pieces: list[str]) -> np.ndarray:
    """Byte offsets of the piece boundaries in ``buf`` = ``"".join(pieces).encode()``."""
    char_bounds = offsets_from_lengths(lengths_of(pieces))
    if len(buf) == char_bounds[-1]:  # ASCII: one byte per character
        return char_bounds
    data = np.frombuffer(buf, np.uint8)
    char_starts = np.append(np.flatnonzero((data & 0xC0) != 0x80), len(data))  # not continuation bytes
    return char_starts[char_bounds]
