"""Word counting: intern byte strings into a growing table of unique words with counts.

The table is plain arrays owned by the caller (see ``tokforge.words.WordCounter``):

- ``slots``   int64[cap]  word id per hash slot, -1 = empty (cap is a power of two)
- ``hashes``  uint64[W]   FNV-1a hash of each word
- ``offsets`` int64[W+1]  word ``i`` is ``arena[offsets[i]:offsets[i+1]]``
- ``arena``   uint8[B]    the bytes of all unique words, back to back
- ``counts``  int64[W]    how often each word was seen

``intern_words`` stops early when any array is full and returns how far it got; the caller
grows the arrays and calls again from there. Example::

    >>> import numpy as np
    >>> buf = np.frombuffer(b"abab", np.uint8)
    >>> bounds = np.array([0, 2, 4])            # two pieces: b"ab", b"ab"
    >>> slots = np.full(8, -1, np.int64)
    >>> hashes = np.zeros(4, np.uint64); offsets = np.zeros(5, np.int64)
    >>> arena = np.zeros(16, np.uint8); counts = np.zeros(4, np.int64)
    >>> intern_words(buf, bounds, 0, slots, hashes, offsets, arena, counts, 0)
    (2, 1)
    >>> int(counts[0]), bytes(arena[offsets[0]:offsets[1]])
    (2, b'ab')
"""
import numba as nb
import numpy as np

from .hashtable import fnv1a

MAX_LOAD = 0.5  # the caller grows ``slots`` before more than half of it is used


@nb.njit(cache=True)
def _find_word(slots, hashes, offsets, arena, buf, start, end, h):
    mask = len(slots) - 1
    i = np.int64(h >> np.uint64(20)) & mask
    n = end - start
    while True:
        w = slots[i]
        if w == -1:
            return i, -1
        if hashes[w] == h and offsets[w + 1] - offsets[w] == n:
            base = offsets[w]
            same = True
            for k in range(n):
                if arena[base + k] != buf[start + k]:
                    same = False
                    break
            if same:
                return i, w
        i = (i + 1) & mask


@nb.njit(cache=True)
def intern_words(buf, bounds, first, slots, hashes, offsets, arena, counts, n_words):
    """Count pieces ``buf[bounds[j]:bounds[j+1]]`` for j >= first; returns (next j, n_words).

    next j < len(bounds) - 1 means an array is full: grow it and call again from next j.
    """
    max_used = np.int64(len(slots) * MAX_LOAD)
    n_pieces = len(bounds) - 1
    for j in range(first, n_pieces):
        start = bounds[j]
        end = bounds[j + 1]
        if end == start:
            continue
        h = fnv1a(buf, start, end)
        slot, w = _find_word(slots, hashes, offsets, arena, buf, start, end, h)
        if w >= 0:
            counts[w] += 1
            continue
        if n_words >= len(counts) or n_words >= max_used or offsets[n_words] + (end - start) > len(arena):
            return j, n_words
        base = offsets[n_words]
        for k in range(end - start):
            arena[base + k] = buf[start + k]
        offsets[n_words + 1] = base + (end - start)
        hashes[n_words] = h
        counts[n_words] = 1
        slots[slot] = n_words
        n_words += 1
    return n_pieces, n_words


@nb.njit(cache=True)
def rehash_words(slots, hashes, n_words):
    """Fill an empty ``slots`` table with words 0..n_words-1 (after growing it)."""
    mask = len(slots) - 1
    for w in range(n_words):
        i = np.int64(hashes[w] >> np.uint64(20)) & mask
        while slots[i] != -1:
            i = (i + 1) & mask
        slots[i] = w
