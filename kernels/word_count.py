"""Word counting: intern byte strings into a growing table of unique words with counts.

The table is plain arrays owned by the caller (see ``tokforge.counting.words.WordCounter``):

- ``slots``   int64[cap, 2] per hash slot: (31 bits of the word's hash << 32 | word id, or -1 =
  empty; count); cap is a power of two. Hash, id and count share 16 bytes of a cache line, so a
  repeated word costs one random access plus the byte comparison.
- ``offsets`` int64[W+1]  word ``i`` is ``arena[offsets[i]:offsets[i+1]]``
- ``arena``   uint8[B]    the bytes of all unique words, back to back

``intern_words`` stops early when an array is full and returns how far it got; the caller grows
the arrays and calls again from there. Example::

    >>> import numpy as np
    >>> buf = np.frombuffer(b"abab", np.uint8)
    >>> bounds = np.array([0, 2, 4])            # two pieces: b"ab", b"ab"
    >>> slots = new_slots(8)
    >>> offsets = np.zeros(5, np.int64); arena = np.zeros(16, np.uint8)
    >>> intern_words(buf, bounds, 0, slots, offsets, arena, 0)
    (2, 1)
    >>> counts_by_word(slots, 1).tolist(), bytes(arena[offsets[0]:offsets[1]])
    ([2], b'ab')
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE
from .hashtable import fnv1a, prefetch, slot_of

MAX_LOAD = 0.5  # the caller grows ``slots`` before more than half of it is used
KEY, COUNT = 0, 1
SLOT_BYTES = 16
PREFETCH_BATCH = 16  # pieces hashed, and their slots asked for, before the first of them is looked up
WORD_BITS = np.int64(0xFFFFFFFF)


def new_slots(capacity: int) -> np.ndarray:
    """An empty slot table of ``capacity`` (a power of two) slots."""
    slots = np.zeros((capacity, 2), np.int64)
    slots[:, KEY] = -1
    return slots


@nb.njit(cache=CACHE, inline="always")
def _hash31(buf, start, end):
    """31 bits of the FNV-1a hash of ``buf[start:end]``: a slot's key is this << 32 | word id."""
    h = fnv1a(buf, start, end)
    return np.int64((h ^ (h >> np.uint64(31))) & np.uint64(0x7FFFFFFF))


@nb.njit(cache=CACHE, inline="always")
def _same(arena, offsets, w, buf, start, n):
    if offsets[w + 1] - offsets[w] != n:
        return False
    base = offsets[w]
    for k in range(n):
        if arena[base + k] != buf[start + k]:
            return False
    return True


@nb.njit(cache=CACHE, nogil=True)
def intern_words(buf, bounds, first, slots, offsets, arena, n_words):
    """Count pieces ``buf[bounds[j]:bounds[j+1]]`` for j >= first; returns (next j, n_words).

    next j < len(bounds) - 1 means an array is full: grow it and call again from next j.
    """
    return _add_words(buf, bounds, np.zeros(0, np.int64), first, slots, offsets, arena, n_words)


@nb.njit(cache=CACHE)
def _add_words(buf, bounds, counts, first, slots, offsets, arena, n_words):
    """Add the pieces ``buf[bounds[j]:bounds[j+1]]``, j >= first, ``counts[j]`` times each (empty
    ``counts``: once each, and empty pieces are skipped); returns (next j, n_words) as
    ``intern_words``. The pieces go in batches: a batch is hashed and its slots asked for
    (``prefetch``) before any is looked up, so the cache misses of a batch overlap."""
    max_used = np.int64(len(slots) * MAX_LOAD)
    mask = len(slots) - 1
    n_pieces = len(bounds) - 1
    hashes = np.empty(PREFETCH_BATCH, np.int64)
    for b0 in range(first, n_pieces, PREFETCH_BATCH):
        b1 = min(b0 + PREFETCH_BATCH, n_pieces)
        for j in range(b0, b1):
            h = _hash31(buf, bounds[j], bounds[j + 1])
            hashes[j - b0] = h
            prefetch(slots, 2 * slot_of(h, mask))
        for j in range(b0, b1):
            start = bounds[j]
            n = bounds[j + 1] - start
            if n == 0 and len(counts) == 0:
                continue
            c = counts[j] if len(counts) > 0 else 1
            h = hashes[j - b0]
            i = slot_of(h, mask)
            while True:
                key = slots[i, KEY]
                if key == -1 or ((key >> 32) == h and _same(arena, offsets, key & WORD_BITS, buf, start, n)):
                    break
                i = (i + 1) & mask
            if key != -1:
                slots[i, COUNT] += c
                continue
            if n_words + 1 >= len(offsets) or n_words >= max_used or offsets[n_words] + n > len(arena):
                return j, n_words
            base = offsets[n_words]
            for k in range(n):
                arena[base + k] = buf[start + k]
            offsets[n_words + 1] = base + n
            slots[i, KEY] = (h << 32) | n_words
            slots[i, COUNT] = c
            n_words += 1
    return n_pieces, n_words


@nb.njit(cache=CACHE)
def rehash_words(old, slots):
    """Move every used slot of ``old`` into the empty, larger table ``slots``."""
    mask = len(slots) - 1
    for s in range(len(old)):
        if old[s, KEY] != -1:
            i = slot_of(old[s, KEY] >> 32, mask)
            while slots[i, KEY] != -1:
                i = (i + 1) & mask
            slots[i, :] = old[s, :]


@nb.njit(cache=CACHE)
def counts_by_word(slots, n_words):
    """The count of each word id 0..n_words-1."""
    counts = np.zeros(n_words, np.int64)
    for s in range(len(slots)):
        if slots[s, KEY] != -1:
            counts[slots[s, KEY] & WORD_BITS] = slots[s, COUNT]
    return counts


@nb.njit(cache=CACHE, nogil=True)
def merge_words(src_arena, src_offsets, src_counts, first, slots, offsets, arena, n_words):
    """Add the counted words ``src_arena[src_offsets[j]:src_offsets[j+1]]`` (``src_counts[j]``
    times each), j >= first, to the table; returns (next j, n_words) like ``intern_words``.

    New words get the next ids in the order of ``src``, so merging count tables in a fixed
    order gives the same table as counting their pieces in that order. Example::

        >>> src = np.frombuffer(b"abcab", np.uint8); src_offsets = np.array([0, 2, 3, 5])
        >>> slots = new_slots(8); offsets = np.zeros(5, np.int64); arena = np.zeros(16, np.uint8)
        >>> merge_words(src, src_offsets, np.array([3, 1, 2]), 0, slots, offsets, arena, 0)
        (3, 2)
        >>> counts_by_word(slots, 2).tolist(), bytes(arena[:offsets[2]])
        ([5, 1], b'abc')
    """
    return _add_words(src_arena, src_offsets, src_counts, first, slots, offsets, arena, n_words)
