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

from tokforge.errors import ConfigError
from tokforge.kernels.word_count import (MAX_LOAD, SLOT_BYTES, counts_by_word, intern_words, merge_words,
                                         new_slots, rehash_words)
from tokforge.packed import lengths_of, offsets_from_lengths

MIN_TABLE_BUDGET = 64 * 1024  # bytes: the smallest memory budget a WordCounter accepts


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


@dataclass
class Pruning:
    """What a memory-budgeted ``WordCounter`` dropped: its words with count below ``threshold``,
    each time the table would have outgrown the budget."""

    times: int = 0
    threshold: int = 0             # the highest threshold used
    words_dropped: int = 0         # unique words dropped (a word dropped twice counts twice)
    occurrences_dropped: int = 0   # the counts they had

    def add(self, other: "Pruning") -> None:
        self.times += other.times
        self.threshold = max(self.threshold, other.threshold)
        self.words_dropped += other.words_dropped
        self.occurrences_dropped += other.occurrences_dropped


class WordCounter:
    """Streams pieces into a growing hash table of unique words (a numba kernel does the work).

    With a ``budget`` (bytes), the table's arrays never take more than that: when growing would
    pass it, the words counted fewer than ``t`` times so far are dropped, for the smallest
    ``t`` in 2, 4, 8, ... that leaves the table at most half full of the budget. Which words
    are dropped depends only on the sequence of pieces and counts added, so the same input gives
    the same table. ``pruning`` reports what was dropped. Example::

        >>> counter = WordCounter(capacity=4, budget=MIN_TABLE_BUDGET)
        >>> counter.add(["a", "a", "b"]); counter.add_counts(counter.result())
        >>> sorted(counter.result().items()), counter.pruning.times
        ([(b'a', 4), (b'b', 2)], 0)
    """

    def __init__(self, capacity: int = 1 << 16, budget: int | None = None):
        if budget is not None and budget < MIN_TABLE_BUDGET:
            raise ConfigError(f"the memory budget of a word-count table is {budget:,} bytes; "
                              f"give at least {MIN_TABLE_BUDGET:,} bytes")
        self.budget = budget
        self.pruning = Pruning()
        if budget is not None:
            capacity = min(capacity, max(16, budget // 256))
        self._allocate(capacity, capacity * 8)
        self.peak_nbytes = self.nbytes

    def _allocate(self, n_words: int, n_bytes: int) -> None:
        self._slots = new_slots(_pow2(int(n_words / MAX_LOAD) + 1))
        self._offsets = np.zeros(n_words + 1, np.int64)
        self._arena = np.zeros(max(n_bytes, 16), np.uint8)
        self._n = 0

    @property
    def nbytes(self) -> int:
        """Bytes taken by the table's arrays."""
        return self._slots.nbytes + self._offsets.nbytes + self._arena.nbytes

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

    def add_counts(self, counts: "WordCounts") -> None:
        """Add another table's words with their counts (new words come in its order)."""
        first = 0
        while True:
            first, self._n = merge_words(counts.arena, counts.offsets, counts.counts, first,
                                         self._slots, self._offsets, self._arena, self._n)
            if first >= len(counts):
                return
            self._grow(int(counts.offsets[first + 1] - counts.offsets[first]))

    def _grow(self, need_bytes: int) -> None:
        n = self._n
        grow_offsets = n + 1 >= len(self._offsets)
        grow_arena = self._offsets[n] + need_bytes > len(self._arena)
        grow_slots = n >= len(self._slots) * MAX_LOAD
        new_offsets = 2 * len(self._offsets) if grow_offsets else len(self._offsets)
        new_arena = max(2 * len(self._arena), int(self._offsets[n]) + need_bytes) if grow_arena else len(self._arena)
        new_slots_n = 2 * len(self._slots) if grow_slots else len(self._slots)
        after = new_offsets * 8 + new_arena + new_slots_n * SLOT_BYTES
        if self.budget is not None and after > self.budget:
            self._prune(need_bytes)
            return
        if grow_offsets:
            self._offsets = _resized(self._offsets, new_offsets)
        if grow_arena:
            self._arena = _resized(self._arena, new_arena)
        if grow_slots:
            bigger = new_slots(new_slots_n)
            rehash_words(self._slots, bigger)
            self._slots = bigger
        self.peak_nbytes = max(self.peak_nbytes, self.nbytes)

    def _prune(self, need_bytes: int) -> None:
        """Drop the rarest words so that the kept ones, with room for as many again, fill at
        most half of the budget."""
        counts = self.result()
        lengths = np.diff(counts.offsets)
        threshold = 1
        while True:
            threshold *= 2
            keep = counts.counts >= threshold
            n_keep, bytes_keep = int(keep.sum()), int(lengths[keep].sum())
            room_words, room_bytes = 2 * n_keep + 16, 2 * bytes_keep + need_bytes + 64
            if _table_nbytes(room_words, room_bytes) <= self.budget // 2 or n_keep == 0:
                break
        if _table_nbytes(room_words, room_bytes) > self.budget:
            raise ConfigError(f"a single word of {need_bytes:,} bytes does not fit in the word-count memory "
                              f"budget of {self.budget:,} bytes; raise the budget (--memory-budget)")
        self.pruning.add(Pruning(1, threshold, len(counts) - n_keep, int(counts.counts[~keep].sum())))
        kept = WordCounts(counts.arena[np.repeat(keep, lengths)], offsets_from_lengths(lengths[keep]),
                          counts.counts[keep])
        del counts
        self._allocate(room_words, room_bytes)
        self.add_counts(kept)

    def __len__(self) -> int:
        return self._n

    def result(self) -> WordCounts:
        """The counts so far (copies: the counter goes on counting)."""
        n = self._n
        offsets = self._offsets[: n + 1].copy()
        return WordCounts(self._arena[: offsets[-1]].copy(), offsets, counts_by_word(self._slots, n))

    def take(self) -> WordCounts:
        """The counts, as ``result()``, leaving the counter empty: the hash table is freed first and
        the words are trimmed in place, not copied, so taking needs no memory beyond the counts.

            >>> counter = WordCounter(); counter.add(["ab", "c", "ab"])
            >>> counts = counter.take()
            >>> list(counts.items()), len(counter), len(counts.arena)
            ([(b'ab', 2), (b'c', 1)], 0, 3)
        """
        n = self._n
        counts = counts_by_word(self._slots, n)
        offsets, arena = self._offsets, self._arena
        self._allocate(16, 16)  # the table's slots are freed here
        offsets = _trimmed(offsets, n + 1)
        return WordCounts(_trimmed(arena, int(offsets[-1])), offsets, counts)


def _table_nbytes(n_words: int, n_bytes: int) -> int:
    """Bytes of the arrays of a table allocated for ``n_words`` words of ``n_bytes`` bytes."""
    return _pow2(int(n_words / MAX_LOAD) + 1) * SLOT_BYTES + (n_words + 1) * 8 + max(n_bytes, 16)


def _pow2(n: int) -> int:
    return 1 << max(3, (n - 1).bit_length())


def _trimmed(a: np.ndarray, n: int) -> np.ndarray:
    """``a[:n]`` holding only its own ``n`` items: a counter's array (nothing else refers to it) is
    shrunk in place (``realloc``: no copy, the rest goes back to the system); a view is copied."""
    if not a.flags.owndata:
        return a[:n].copy()
    a.resize(n, refcheck=False)
    return a


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
