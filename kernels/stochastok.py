"""StochasTok (Sims et al. 2025): split tokens into two in-vocabulary pieces at random.

``build_split_table`` lists, for every token, each (left, right) pair of tokens whose bytes
concatenate to the token's bytes, as CSR arrays: the splits of token t are
``left[offsets[t]:offsets[t+1]]`` / ``right[...]``. Tokens marked unusable (special tokens) are
neither split nor used as pieces; single bytes have no split.

``expand`` makes ``floor(p * n)`` attempts on a sequence of n ids: each picks a uniform position
in the current sequence and, if the token there has splits, replaces it by one chosen uniformly
(the sequence grows by one; pieces may be split again). A token is kept at the byte offset where it
starts in the example's text, with a Fenwick tree over the offsets that hold a token, so the k-th
token of the current sequence is found in O(log bytes): O(bytes + attempts * log bytes) per example,
never quadratic. Example (``a``=0, ``b``=1, ``ab``=2, ``abb``=3)::

    >>> import numpy as np
    >>> arena = np.frombuffer(b"a" b"b" b"ab" b"abb", np.uint8)
    >>> offsets = np.array([0, 1, 2, 4, 7]); usable = np.ones(4, np.bool_)
    >>> split_offsets, left, right = build_split_table(arena, offsets, usable)
    >>> split_offsets.tolist(), left.tolist(), right.tolist()     # ab = a+b, abb = ab+b
    ([0, 0, 0, 1, 2], [0, 2], [1, 1])
    >>> ids, bounds = expand(np.array([3, 3]), np.array([0, 2]), np.diff(offsets),
    ...                      split_offsets, left, right, 1.0, np.array([5], np.uint64))
    >>> b"".join([b"a", b"b", b"ab", b"abb"][i] for i in ids.tolist())  # the bytes never change
    b'abbabb'
    >>> len(ids) <= 2 + 2, bounds.tolist() == [0, len(ids)]
    (True, True)
"""
import numba as nb
import numpy as np

from .hashtable import fnv1a, mix64
from .rng import below


@nb.njit(cache=True)
def _find(arena, offsets, slots, mask, start, end, h):
    """Id of the token whose bytes are ``arena[start:end]`` (hash ``h``), or -1."""
    i = np.int64(mix64(h) & np.uint64(mask))
    n = end - start
    while True:
        t = slots[i]
        if t == -1:
            return -1
        if offsets[t + 1] - offsets[t] == n:
            s = offsets[t]
            same = True
            for k in range(n):
                if arena[s + k] != arena[start + k]:
                    same = False
                    break
            if same:
                return t
        i = (i + 1) & mask


@nb.njit(cache=True)
def _token_table(arena, offsets, usable):
    """Open-addressing table of the usable tokens by their bytes (the lowest id of equal tokens)."""
    n = len(offsets) - 1
    cap = 8
    while cap < 2 * n + 2:
        cap *= 2
    slots = np.full(cap, -1, np.int64)
    mask = cap - 1
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


@nb.njit(cache=True)
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
                    left = _grown(left, cap)
                    right = _grown(right, cap)
                left[m] = a
                right[m] = b
                m += 1
        split_offsets[t + 1] = m
    return split_offsets, left[:m].copy(), right[:m].copy()


@nb.njit(cache=True)
def _grown(a, cap):
    out = np.empty(cap, a.dtype)
    out[:len(a)] = a
    return out


@nb.njit(cache=True, inline="always")
def _fenwick_add(tree, i, delta):
    i += 1
    while i < len(tree):
        tree[i] += delta
        i += i & (-i)


@nb.njit(cache=True, inline="always")
def _fenwick_kth(tree, k, top):
    """The index of the (k+1)-th one (k from 0) in the 0/1 array summed by ``tree``;
    ``top``: the largest power of two <= len(tree) - 1."""
    pos = 0
    step = top
    while step > 0:
        nxt = pos + step
        if nxt < len(tree) and tree[nxt] <= k:
            pos = nxt
            k -= tree[nxt]
        step >>= 1
    return pos


@nb.njit(cache=True, nogil=True)
def expand(ids, bounds, token_len, split_offsets, split_left, split_right, p, seeds):
    """StochasTok on each example ``ids[bounds[d]:bounds[d+1]]`` with random stream ``seeds[d]``;
    returns (ids, bounds) of the expanded examples. ``token_len[t]`` >= 1: token t's bytes."""
    n_docs = len(bounds) - 1
    total = 0
    longest = 1
    for d in range(n_docs):
        n = bounds[d + 1] - bounds[d]
        total += n + np.int64(np.floor(p * n))
        width = 0
        for j in range(bounds[d], bounds[d + 1]):
            width += token_len[ids[j]]
        longest = max(longest, width)
    out = np.empty(total, ids.dtype)
    out_bounds = np.zeros(n_docs + 1, np.int64)
    at = np.full(longest, -1, np.int64)      # at[offset]: the token starting at that byte offset
    tree = np.zeros(longest + 1, np.int64)
    state = np.zeros(1, np.uint64)
    o = 0
    for d in range(n_docs):
        n = bounds[d + 1] - bounds[d]
        attempts = np.int64(np.floor(p * n))
        if attempts == 0:
            out[o:o + n] = ids[bounds[d]:bounds[d + 1]]
            o += n
            out_bounds[d + 1] = o
            continue
        width = 0
        for j in range(bounds[d], bounds[d + 1]):
            at[width] = ids[j]
            width += token_len[ids[j]]
        tree[:width + 1] = 0
        for i in range(1, width + 1):                # O(width) build of the tree over `at >= 0`
            tree[i] += 1 if at[i - 1] >= 0 else 0
            parent = i + (i & (-i))
            if parent <= width:
                tree[parent] += tree[i]
        top = 1
        while top * 2 <= width:
            top *= 2
        view = tree[:width + 1]
        state[0] = seeds[d]
        m = n
        for _ in range(attempts):
            pos = _fenwick_kth(view, below(state, m), top)
            t = at[pos]
            first = split_offsets[t]
            count = split_offsets[t + 1] - first
            if count == 0:
                continue
            j = first + below(state, count)
            a = split_left[j]
            at[pos] = a
            at[pos + token_len[a]] = split_right[j]
            _fenwick_add(view, pos + token_len[a], 1)
            m += 1
        for i in range(width):
            if at[i] >= 0:
                out[o] = at[i]
                o += 1
                at[i] = -1
        out_bounds[d + 1] = o
    return out[:o], out_bounds
