"""Seed pieces for Unigram training: the frequent substrings of the words, from sorted suffixes.

The suffixes of the words that start on a UTF-8 character boundary are sorted (each compared
over at most ``cap`` bytes, a word end sorting before any byte), then the longest common prefix
(LCP) of neighbours gives the nodes of the suffix tree of the words: a node is a run of sorted
suffixes sharing a prefix, and stands for the strings of lengths ``(parent depth, depth]``,
which all occur exactly at those suffixes. Each node yields one candidate, its longest string
that ends on a character boundary and has at most ``max_chars`` characters and ``cap`` bytes
(if that is still longer than the parent's depth), with its frequency: the sum of the counts of
the words of its occurrences. So a candidate is a substring that no one-character extension
occurs as often as (it is "right-maximal", as in sentencepiece's suffix-array seeding).

Example: the words ``abc`` (x3) and ``abd`` (x1) give the candidates ``ab`` (4), ``abc`` (3),
``abd`` (1), ``bc`` (3), ``bd`` (1); single characters are counted apart::

    >>> import numpy as np
    >>> arena = np.frombuffer(b"abcabd", np.uint8)
    >>> pos, length, freq = substring_candidates(arena, np.array([0, 3, 6]), np.array([3, 1]), 16, 64)
    >>> sorted((arena[p:p + n].tobytes(), f) for p, n, f in zip(pos, length, freq.tolist()))
    [(b'ab', 4), (b'abc', 3), (b'abd', 1), (b'bc', 3), (b'bd', 1)]
    >>> pos, length, freq = char_counts(arena, np.array([0, 3, 6]), np.array([3, 1]))
    >>> sorted((arena[p:p + n].tobytes(), f) for p, n, f in zip(pos, length, freq.tolist()))
    [(b'a', 4), (b'b', 4), (b'c', 3), (b'd', 1)]
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE
from .spans import utf8_length
from .util import grown_rows


@nb.njit(cache=CACHE, inline="always")
def _is_start(byte):
    return (byte & 0xC0) != 0x80


@nb.njit(cache=CACHE)
def _suffixes(arena, offsets):
    """Character-aligned suffix starts, the end of their word, and their word."""
    n = 0
    for i in range(len(arena)):
        if _is_start(arena[i]):
            n += 1
    starts = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    words = np.empty(n, np.int64)
    j = 0
    for w in range(len(offsets) - 1):
        for i in range(offsets[w], offsets[w + 1]):
            if _is_start(arena[i]):
                starts[j] = i
                ends[j] = offsets[w + 1]
                words[j] = w
                j += 1
    return starts[:j], ends[:j], words[:j]


@nb.njit(cache=CACHE, inline="always")
def _compare(arena, starts, ends, keys, a, b, cap):
    """-1, 0, 1 as suffix a sorts before, with, after suffix b (first ``cap`` bytes; end first)."""
    if keys[a] != keys[b]:
        return -1 if keys[a] < keys[b] else 1
    sa = starts[a]
    sb = starts[b]
    la = min(ends[a] - sa, cap)
    lb = min(ends[b] - sb, cap)
    k = 0
    m = min(la, lb)
    while k < m:
        x = arena[sa + k]
        y = arena[sb + k]
        if x != y:
            return -1 if x < y else 1
        k += 1
    if la == lb:
        return 0
    return -1 if la < lb else 1


@nb.njit(cache=CACHE)
def _first_bytes(arena, starts, ends, cap):
    """The first 8 bytes of each suffix (at most ``cap``) as a big-endian uint64, zero padded:
    sorting by it orders suffixes correctly except among equal keys."""
    n = len(starts)
    keys = np.zeros(n, np.uint64)
    for i in range(n):
        k = np.uint64(0)
        length = min(ends[i] - starts[i], cap)
        for j in range(8):
            k = k << np.uint64(8)
            if j < length:
                k = k | np.uint64(arena[starts[i] + j])
        keys[i] = k
    return keys


@nb.njit(cache=CACHE)
def _refine(arena, starts, ends, keys, order, cap):
    """Sort each run of equal keys in ``order`` by the whole suffix (stable merge sort)."""
    n = len(order)
    tmp = np.empty(n, np.int64)
    lo = 0
    while lo < n:
        hi = lo + 1
        while hi < n and keys[order[hi]] == keys[order[lo]]:
            hi += 1
        width = 1
        while width < hi - lo:
            for a in range(lo, hi, 2 * width):
                mid = min(a + width, hi)
                b = min(a + 2 * width, hi)
                i, j, k = a, mid, a
                while i < mid and j < b:
                    if _compare(arena, starts, ends, keys, order[j], order[i], cap) < 0:
                        tmp[k] = order[j]
                        j += 1
                    else:
                        tmp[k] = order[i]
                        i += 1
                    k += 1
                while i < mid:
                    tmp[k] = order[i]
                    i += 1
                    k += 1
                while j < b:
                    tmp[k] = order[j]
                    j += 1
                    k += 1
            for k in range(lo, hi):
                order[k] = tmp[k]
            width *= 2
        lo = hi


def _sort_suffixes(arena, starts, ends, cap):
    """Order of the suffixes (by their first ``cap`` bytes, a word end first; ties by position)."""
    keys = _first_bytes(arena, starts, ends, cap)
    order = np.argsort(keys, kind="stable").astype(np.int64)
    _refine(arena, starts, ends, keys, order, cap)
    return order


@nb.njit(cache=CACHE, inline="always")
def _limit(arena, start, end, max_chars, cap):
    """Bytes of the first ``max_chars`` characters of ``arena[start:end]``, at most ``cap``,
    cut back to a character boundary."""
    i = start
    c = 0
    while i < end and c < max_chars:
        nxt = i + utf8_length(arena[i])
        if nxt - start > cap or nxt > end:
            break
        i = nxt
        c += 1
    return i - start


@nb.njit(cache=CACHE, inline="always")
def _aligned(arena, start, end, length):
    """The longest length <= ``length`` ending on a character boundary of ``arena[start:end]``."""
    while length > 0 and start + length < end and not _is_start(arena[start + length]):
        length -= 1
    return length


def substring_candidates(arena, offsets, counts, max_chars, cap, min_frequency=1):
    """Candidate seed pieces of at least two characters and ``min_frequency``: (start in
    ``arena``, byte length, frequency) of one occurrence of each (see the module docstring)."""
    starts, ends, words = _suffixes(arena, offsets)
    order = _sort_suffixes(arena, starts, ends, cap)
    return _nodes(arena, counts, starts, ends, words, order, max_chars, cap, min_frequency)


@nb.njit(cache=CACHE)
def _emit(out, m, pos, length, freq):
    """Append a row to ``out`` (grown by doubling when full); return it (maybe new)."""
    if m == len(out):
        out = grown_rows(out)
    out[m, 0] = pos
    out[m, 1] = length
    out[m, 2] = freq
    return out


@nb.njit(cache=CACHE)
def _nodes(arena, counts, starts, ends, words, order, max_chars, cap, min_frequency):
    """The candidates of the suffix tree given the sorted suffixes."""
    n = len(starts)
    weight = np.zeros(n + 1, np.int64)  # prefix sums of word counts in sorted order
    for i in range(n):
        weight[i + 1] = weight[i] + counts[words[order[i]]]
    lcp = np.zeros(n + 1, np.int64)  # lcp[i]: sorted suffixes i-1 and i; lcp[0] = lcp[n] = 0
    for i in range(1, n):
        a = order[i - 1]
        b = order[i]
        m = min(min(ends[a] - starts[a], ends[b] - starts[b]), cap)
        k = 0
        while k < m and arena[starts[a] + k] == arena[starts[b] + k]:
            k += 1
        lcp[i] = k
    out = np.empty((n // 8 + 16, 3), np.int64)
    m = 0
    # leaves: the strings only suffix i has
    for i in range(n):
        s = order[i]
        parent = max(lcp[i], lcp[i + 1])
        length = _aligned(arena, starts[s], ends[s], _limit(arena, starts[s], ends[s], max_chars, cap))
        if length > parent and length > utf8_length(arena[starts[s]]) and counts[words[s]] >= min_frequency:
            out = _emit(out, m, starts[s], length, counts[words[s]])
            m += 1
    # internal nodes: intervals of lcp values, bottom up with a stack of (depth, left bound)
    stack_depth = np.zeros(n + 2, np.int64)
    stack_lb = np.zeros(n + 2, np.int64)
    top = 0  # stack_depth[0] = 0: the root
    for i in range(1, n + 1):
        lb = i - 1
        while lcp[i] < stack_depth[top]:
            depth = stack_depth[top]
            lb = stack_lb[top]
            top -= 1
            parent = max(lcp[i], stack_depth[top])
            s = order[lb]
            length = _aligned(arena, starts[s], ends[s], min(depth, _limit(arena, starts[s], ends[s], max_chars, cap)))
            if length > parent and length > utf8_length(arena[starts[s]]) and weight[i] - weight[lb] >= min_frequency:
                out = _emit(out, m, starts[s], length, weight[i] - weight[lb])
                m += 1
        if lcp[i] > stack_depth[top]:
            top += 1
            stack_depth[top] = lcp[i]
            stack_lb[top] = lb
    return out[:m, 0].copy(), out[:m, 1].copy(), out[:m, 2].copy()


@nb.njit(cache=CACHE)
def char_counts(arena, offsets, counts):
    """Every distinct character of the words: (start of one occurrence, byte length, frequency),
    in order of first occurrence."""
    # one-, two-, three- and four-byte characters are keyed by their bytes in a dict
    first = dict()
    freq = dict()
    for w in range(len(offsets) - 1):
        i = offsets[w]
        while i < offsets[w + 1]:
            n = min(utf8_length(arena[i]), offsets[w + 1] - i)
            key = np.int64(n)
            for k in range(n):
                key = key * 256 + arena[i + k]
            if key in freq:
                freq[key] += counts[w]
            else:
                freq[key] = counts[w]
                first[key] = i * 8 + n
            i += n
    m = len(first)
    pos = np.empty(m, np.int64)
    length = np.empty(m, np.int64)
    out = np.empty(m, np.int64)
    j = 0
    for key, v in first.items():
        pos[j] = v // 8
        length[j] = v % 8
        out[j] = freq[key]
        j += 1
    order = np.argsort(pos)
    return pos[order], length[order], out[order]
