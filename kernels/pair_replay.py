"""Pair counts across a BPE merge list: replay given merges on packed word counts and record how
each pair's count changes at every step (the data of the mixture LP, ``tokforge.mixture``).

Words are packed as in ``kernels/bpe_train.py``: word ``w`` is ``syms[wstart[w] : wstart[w] +
wlen[w]]`` (int32 token ids) and occurs ``wcount[w]`` times. A pair is the key
``(left << 32) | right``; its count is its adjacent occurrences weighted by word counts
(overlaps included: ``aaa`` holds ``(a, a)`` twice). ``merges`` are int64 rows
``[left, right, result]`` (the tokenizer's ids); step ``t`` applies merge ``t`` to every word,
left to right and non-overlapping, as training does.

``c(t)`` are the pair counts before step ``t``: ``c(0)`` is ``(init_keys, init_counts)`` and
``c(t + 1) = c(t) + changes(t)``, where the changes of step ``t`` are
``keys[bounds[t]:bounds[t+1]]`` with ``deltas[...]`` (non-zero, each key once). A step touches
only the words that hold its pair: every pair keeps a list of the words where it gained
occurrences. Example (a=0, b=1; words "abab" x2 and "ab" x1; merge a+b -> 2)::

    >>> import numpy as np
    >>> syms = np.array([0, 1, 0, 1, 0, 1], np.int32)
    >>> init_keys, init_counts, bounds, keys, deltas = replay_merges(
    ...     syms, np.array([0, 4]), np.array([4, 2]), np.array([2, 1]), np.array([[0, 1, 2]]))
    >>> sorted(zip(init_keys.tolist(), init_counts.tolist()))       # (a,b) 5 times, (b,a) twice
    [(1, 5), (4294967296, 2)]
    >>> bounds.tolist(), sorted(zip(keys.tolist(), deltas.tolist()))  # then (a,b) -5, (b,a) -2, (2,2) +2
    ([0, 3], [(1, -5), (4294967296, -2), (8589934594, 2)])
"""
import numba as nb
import numpy as np

from .hashtable import slot_of
from .numba_cache import CACHE
from .util import grown, grown_rows

# columns of the pair table (one row per hash slot; KEY -1 = empty)
KEY, COUNT, HEAD, LAST_WORD, STEP, BEFORE = 0, 1, 2, 3, 4, 5
# the scalars: pairs in the table, word-list nodes used, pairs touched in this step
USED, NODES, TOUCHED = 0, 1, 2
INIT_STEP = -1  # the initial counting: its changes are not recorded as a step's


@nb.njit(cache=CACHE, inline="always")
def _slot(ptab, key):
    """Row of ``key`` in the pair table, or the empty row where it goes."""
    mask = len(ptab) - 1
    i = slot_of(key, mask)
    while ptab[i, KEY] != key and ptab[i, KEY] != -1:
        i = (i + 1) & mask
    return i


@nb.njit(cache=CACHE)
def _new_table(cap):
    ptab = np.zeros((cap, 6), np.int64)
    ptab[:, KEY] = -1
    return ptab


@nb.njit(cache=CACHE)
def _with_room(ptab, nodes, touched, scal, extra):
    """The arrays, grown when needed so that ``extra`` more pairs, nodes and touched keys fit."""
    if 2 * (scal[USED] + extra) > len(ptab):
        cap = len(ptab)
        while 2 * (scal[USED] + extra) > cap:
            cap *= 2
        bigger = _new_table(cap)
        for i in range(len(ptab)):
            if ptab[i, KEY] != -1:
                bigger[_slot(bigger, ptab[i, KEY])] = ptab[i]
        ptab = bigger
    while scal[NODES] + extra > len(nodes):
        nodes = grown_rows(nodes)
    if scal[TOUCHED] + 3 * extra > len(touched):
        touched = grown(touched, scal[TOUCHED] + 3 * extra)
    return ptab, nodes, touched


@nb.njit(cache=CACHE, inline="always")
def _change(ptab, nodes, touched, scal, key, delta, w, step):
    """Add ``delta`` to pair ``key``; remember its count before this step when first touched in it;
    on a gain, put word ``w`` on the pair's word list (once in a row)."""
    i = _slot(ptab, key)
    if ptab[i, KEY] == -1:
        ptab[i, KEY] = key
        ptab[i, COUNT] = 0
        ptab[i, HEAD] = -1
        ptab[i, LAST_WORD] = -1
        ptab[i, STEP] = INIT_STEP
        scal[USED] += 1
    if step != INIT_STEP and ptab[i, STEP] != step:
        ptab[i, STEP] = step
        ptab[i, BEFORE] = ptab[i, COUNT]
        touched[scal[TOUCHED]] = key
        scal[TOUCHED] += 1
    ptab[i, COUNT] += delta
    if delta > 0 and ptab[i, LAST_WORD] != w:
        ptab[i, HEAD] = _in_front(nodes, scal, w, ptab[i, HEAD])
        ptab[i, LAST_WORD] = w


@nb.njit(cache=CACHE, inline="always")
def _in_front(nodes, scal, w, head):
    """A new node for word ``w`` before the list that starts at node ``head``; returns it."""
    nodes[scal[NODES]] = (w, head)
    scal[NODES] += 1
    return scal[NODES] - 1


@nb.njit(cache=CACHE)
def _merge_word(ptab, nodes, touched, scal, syms, wstart, wlen, w, c, a, b, new, step):
    """Rewrite word ``w`` (count ``c``) with ``a b -> new`` left to right; record every pair change:
    each occurrence loses ``(a, b)`` and its neighbours ``(prev, a)``, ``(b, next)`` and gains
    ``(prev, new)``, ``(new, next)`` (``prev`` is already rewritten, so ``abab`` gains ``(new, new)``)."""
    merged = (a << 32) | b
    s = wstart[w]
    end = s + wlen[w]
    out = s
    j = s
    while j < end:
        if j + 1 < end and syms[j] == a and syms[j + 1] == b:
            if out > s:
                prev = np.int64(syms[out - 1])
                _change(ptab, nodes, touched, scal, (prev << 32) | a, -c, w, step)
                _change(ptab, nodes, touched, scal, (prev << 32) | new, c, w, step)
            if j + 2 < end:
                nxt = np.int64(syms[j + 2])
                _change(ptab, nodes, touched, scal, (b << 32) | nxt, -c, w, step)
                _change(ptab, nodes, touched, scal, (new << 32) | nxt, c, w, step)
            _change(ptab, nodes, touched, scal, merged, -c, w, step)
            syms[out] = new
            out += 1
            j += 2
        else:
            syms[out] = syms[j]
            out += 1
            j += 1
    wlen[w] = out - s


@nb.njit(cache=CACHE, nogil=True)
def replay_merges(syms, wstart, wlen, wcount, merges):
    """Count the pairs of the words, then apply ``merges`` in order recording each step's changes.
    Returns (init_keys, init_counts, bounds, keys, deltas) as described in the module docstring.
    The inputs are not modified."""
    syms = syms.copy()
    wlen = wlen.copy()
    n_words = len(wstart)
    scal = np.zeros(3, np.int64)
    ptab = _new_table(1 << 12)
    nodes = np.zeros((max(1024, len(syms)), 2), np.int64)  # word-list nodes: word, next node
    touched = np.zeros(1024, np.int64)
    for w in range(n_words):
        ptab, nodes, touched = _with_room(ptab, nodes, touched, scal, wlen[w])
        s = wstart[w]
        for k in range(s, s + wlen[w] - 1):
            key = (np.int64(syms[k]) << 32) | np.int64(syms[k + 1])
            _change(ptab, nodes, touched, scal, key, wcount[w], w, INIT_STEP)
    n_init = 0
    for i in range(len(ptab)):
        if ptab[i, KEY] != -1 and ptab[i, COUNT] > 0:
            n_init += 1
    init_keys = np.empty(n_init, np.int64)
    init_counts = np.empty(n_init, np.int64)
    n_init = 0
    for i in range(len(ptab)):
        if ptab[i, KEY] != -1 and ptab[i, COUNT] > 0:
            init_keys[n_init] = ptab[i, KEY]
            init_counts[n_init] = ptab[i, COUNT]
            n_init += 1

    n_steps = len(merges)
    bounds = np.zeros(n_steps + 1, np.int64)
    keys = np.empty(max(1024, n_init), np.int64)
    deltas = np.empty(len(keys), np.int64)
    n_out = 0
    visited = np.full(n_words, -1, np.int64)  # the last step that rewrote each word
    for t in range(n_steps):
        a = merges[t, 0]
        b = merges[t, 1]
        new = merges[t, 2]
        scal[TOUCHED] = 0
        i = _slot(ptab, (a << 32) | b)
        if ptab[i, KEY] != -1 and ptab[i, COUNT] > 0:
            node = ptab[i, HEAD]
            ptab[i, HEAD] = -1  # the pair is gone from every word; a later gain starts a new list
            ptab[i, LAST_WORD] = -1
            while node != -1:
                w = nodes[node, 0]
                node = nodes[node, 1]
                if visited[w] == t:
                    continue
                visited[w] = t
                ptab, nodes, touched = _with_room(ptab, nodes, touched, scal, wlen[w] + 2)
                _merge_word(ptab, nodes, touched, scal, syms, wstart, wlen, w, wcount[w], a, b, new, t)
        if n_out + scal[TOUCHED] > len(keys):
            keys = grown(keys, n_out + scal[TOUCHED])
            deltas = grown(deltas, n_out + scal[TOUCHED])
        for k in range(scal[TOUCHED]):
            j = _slot(ptab, touched[k])
            d = ptab[j, COUNT] - ptab[j, BEFORE]
            if d != 0:
                keys[n_out] = touched[k]
                deltas[n_out] = d
                n_out += 1
        bounds[t + 1] = n_out
    return init_keys, init_counts, bounds, keys[:n_out].copy(), deltas[:n_out].copy()
