"""StochasTok (Sims et al. 2025): split tokens into two in-vocabulary pieces at random.

``build_split_table`` lists, for every token, each (left, right) pair of tokens whose bytes
concatenate to the token's bytes, as CSR arrays: the splits of token t are
``left[offsets[t]:offsets[t+1]]`` / ``right[...]``. Tokens marked unusable (special tokens) are
neither split nor used as pieces; single bytes have no split.

``expand`` makes ``floor(p * n)`` attempts on a sequence of n ids: each picks a uniform position
in the current sequence and, if the token there has splits, replaces it by one chosen uniformly
(the sequence grows by one; pieces may be split again). A Fenwick tree over the original tokens
counts the pieces each one has become, so the k-th token of the current sequence is found in
O(log n) plus a walk over that token's pieces (at most its bytes): O(n + attempts * (log n +
longest token)) per example, never quadratic. Example (``a``=0, ``b``=1, ``ab``=2, ``abb``=3)::

    >>> import numpy as np
    >>> arena = np.frombuffer(b"a" b"b" b"ab" b"abb", np.uint8)
    >>> offsets = np.array([0, 1, 2, 4, 7]); usable = np.ones(4, np.bool_)
    >>> split_offsets, left, right = build_split_table(arena, offsets, usable)
    >>> split_offsets.tolist(), left.tolist(), right.tolist()     # ab = a+b, abb = ab+b
    ([0, 0, 0, 1, 2], [0, 2], [1, 1])
    >>> ids, bounds = expand(np.array([3, 3]), np.array([0, 2]), split_offsets, left, right,
    ...                      1.0, np.array([5], np.uint64))
    >>> b"".join([b"a", b"b", b"ab", b"abb"][i] for i in ids.tolist())  # the bytes never change
    b'abbabb'
    >>> len(ids) <= 2 + 2, bounds.tolist() == [0, len(ids)]
    (True, True)
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE
from .hashtable import empty_slots, fnv1a, mix64
from .rng import below
from .util import grown, same_run


@nb.njit(cache=CACHE)
def _find(arena, offsets, slots, mask, start, end, h):
    """Id of the token whose bytes are ``arena[start:end]`` (hash ``h``), or -1."""
    i = np.int64(mix64(h) & np.uint64(mask))
    n = end - start
    while True:
        t = slots[i]
        if t == -1:
            return -1
        if offsets[t + 1] - offsets[t] == n and same_run(arena, offsets[t], arena, start, n):
            return t
        i = (i + 1) & mask


@nb.njit(cache=CACHE)
def _token_table(arena, offsets, usable):
    """Open-addressing table of the usable tokens by their bytes (the lowest id of equal tokens)."""
    n = len(offsets) - 1
    slots = empty_slots(n)
    mask = len(slots) - 1
    for t in range(n):
        if not usable[t]:
            continue
        h = fnv1a(arena, offsets[t], offsets[t + 1])
        if _find(arena, offsets, slots, mask, offsets[t], offsets[t + 1], h) != -1:
            continue
        i = np.int64(mix64(h) & np.uint64(mask))
        while slots[i] != -1:
            i = (i + 1) & mask
        slots[i] = t
    return slots


@nb.njit(cache=CACHE)
def build_split_table(arena, offsets, usable):
    """Every two-piece split of every usable token: (offsets, left ids, right ids), CSR by token.

    ``arena[offsets[t]:offsets[t+1]]`` are token t's bytes. Splits are listed by increasing length
    of the left piece."""
    n = len(offsets) - 1
    slots = _token_table(arena, offsets, usable)
    mask = len(slots) - 1
    split_offsets = np.zeros(n + 1, np.int64)
    cap = 16
    left = np.empty(cap, np.int32)
    right = np.empty(cap, np.int32)
    m = 0
    for t in range(n):
        s, e = offsets[t], offsets[t + 1]
        if usable[t] and e - s >= 2:
            h = np.uint64(14695981039346656037)  # FNV-1a of the growing prefix
            for cut in range(s + 1, e):
                h = (h ^ np.uint64(arena[cut - 1])) * np.uint64(1099511628211)
                a = _find(arena, offsets, slots, mask, s, cut, h)
                if a == -1:
                    continue
                b = _find(arena, offsets, slots, mask, cut, e, fnv1a(arena, cut, e))
                if b == -1:
                    continue
                if m == cap:
                    cap *= 2
                    left = grown(left, cap)
                    right = grown(right, cap)
                left[m] = a
                right[m] = b
                m += 1
        split_offsets[t + 1] = m
    return split_offsets, left[:m].copy(), right[:m].copy()


@nb.njit(cache=CACHE, inline="always")
def _fenwick_add(tree, i, delta):
    i += 1
    while i < len(tree):
        tree[i] += delta
        i += i & (-i)


@nb.njit(cache=CACHE, inline="always")
def _fenwick_find(tree, k, top):
    """For counts summed by ``tree`` (1-based, ``top``: the largest power of two < len(tree)):
    (the 0-based index i whose range of ranks holds rank k, k minus the counts before i)."""
    pos = 0
    step = top
    while step > 0:
        nxt = pos + step
        if nxt < len(tree) and tree[nxt] <= k:
            pos = nxt
            k -= tree[nxt]
        step >>= 1
    return pos, k


@nb.njit(cache=CACHE, nogil=True)
def expand(ids, bounds, split_offsets, split_left, split_right, p, seeds):
    """StochasTok on each example ``ids[bounds[d]:bounds[d+1]]`` with random stream ``seeds[d]``;
    returns (ids, bounds) of the expanded examples.

    Each original token j holds ``count[j]`` pieces of the current sequence (a Fenwick tree sums
    them), kept in a linked list once it is split. The k-th token of the current sequence is found
    in O(log n) in the tree, then within its token's pieces (at most the token's bytes)."""
    n_docs = len(bounds) - 1
    total = 0
    longest = 1
    most = 1
    for d in range(n_docs):
        n = bounds[d + 1] - bounds[d]
        attempts = np.int64(np.floor(p * n))
        total += n + attempts
        longest = max(longest, n)
        most = max(most, attempts)
    out = np.empty(total, ids.dtype)
    out_bounds = np.zeros(n_docs + 1, np.int64)
    tree = np.zeros(longest + 1, np.int32)
    head = np.full(longest, -1, np.int64)       # first piece of a split original token, or -1
    piece = np.empty(2 * most + 2, np.int64)    # pieces of split tokens: id, next piece (-1: none)
    after = np.empty(2 * most + 2, np.int64)
    state = np.zeros(1, np.uint64)
    o = 0
    for d in range(n_docs):
        base = bounds[d]
        n = bounds[d + 1] - base
        attempts = np.int64(np.floor(p * n))
        if attempts == 0:
            out[o:o + n] = ids[base:base + n]
            o += n
            out_bounds[d + 1] = o
            continue
        for i in range(1, n + 1):
            tree[i] = i & (-i)                       # the Fenwick tree of n ones
        view = tree[:n + 1]
        top = 1
        while top * 2 <= n:
            top *= 2
        state[0] = seeds[d]
        m = n
        used = 0
        for _ in range(attempts):
            j, r = _fenwick_find(view, below(state, m), top)
            node = head[j]
            if node == -1:
                t = ids[base + j]
            else:
                for _step in range(r):
                    node = after[node]
                t = piece[node]
            first = split_offsets[t]
            count = split_offsets[t + 1] - first
            if count == 0:
                continue
            s = first + below(state, count)
            if node == -1:
                piece[used] = split_left[s]
                after[used] = used + 1
                piece[used + 1] = split_right[s]
                after[used + 1] = -1
                head[j] = used
                used += 2
            else:
                piece[used] = split_right[s]
                after[used] = after[node]
                piece[node] = split_left[s]
                after[node] = used
                used += 1
            _fenwick_add(view, j, 1)
            m += 1
        for j in range(n):
            node = head[j]
            if node == -1:
                out[o] = ids[base + j]
                o += 1
                continue
            while node != -1:
                out[o] = piece[node]
                o += 1
                node = after[node]
            head[j] = -1
        out_bounds[d + 1] = o
    return out[:o], out_bounds
