"""BPE training: pair counting and the merge loop with incremental pair-count updates.

Words are symbol sequences packed in one int32 array (``syms``; word ``w`` is
``syms[wstart[w] : wstart[w] + wlen[w]]``) with a count each. Symbols are internal token ids:
``0 .. n_base-1`` are the base tokens (bytes), new tokens get the next ids.

The rule (the same as Hugging Face's BpeTrainer): the pair with the highest count is merged,
where a pair's count is the number of adjacent occurrences weighted by word counts
(overlapping occurrences included, so ``aaa`` counts ``(a, a)`` twice); ties go to the smallest
``(left id, right id)``. Merging rewrites a word left to right, non-overlapping. A merge whose
result has the same bytes as an existing token reuses that token's id (so a vocabulary never
holds one string twice) and adds no token.

Each merge touches only the words that contain the pair: every pair keeps a list of the words
where it gained occurrences, and a max-heap with lazy deletion finds the best pair. The pair
changes of one merge are first summed in a small per-merge table (cache-resident), then applied
to the large global pair table once per distinct pair.

The state is a tuple of arrays (``init_state``), advanced by ``merge_steps`` in chunks so the
caller can show progress between calls. Example (bytes a=0, b=1, c=2)::

    >>> import numpy as np
    >>> syms = np.array([0, 1, 2, 0, 1], np.int32)           # words "abc" x3 and "ab" x1
    >>> state = init_state(syms, np.array([0, 3]), np.array([3, 2]), np.array([3, 1]),
    ...                    np.arange(3, dtype=np.int64))
    >>> state, done = merge_steps(state, 10, 5, 1, 0, 0)     # grow to 5 tokens
    >>> merges(state).tolist()                               # [left, right, new id]
    [[0, 1, 3], [3, 2, 4]]
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE
from .hashtable import probe_int64, slot_of

HASH_BASE = np.uint64(0x100000001B3)  # polynomial hash of token contents: H(xy) = H(x) * B**len(y) + H(y)
LOW32 = np.int64(0xFFFFFFFF)

# indices into the scalar array of the state (``state[0]``)
N_TOKENS, N_MERGES, HEAP_SIZE, N_NODES, STAMP, PAIRS_USED, DUP_USED, LOCAL_USED = 0, 1, 2, 3, 4, 5, 6, 7
# columns of the per-merge table of pair changes
L_KEY, L_DELTA, L_HEAD, L_TAIL, L_LAST_WORD, L_STAMP = 0, 1, 2, 3, 4, 5
# the word summary of a token (``twords``): words << WORD_SHIFT | STARTS_WORD | ENDS_WORD, where a
# word is a run of bytes other than ASCII whitespace (SuperBPE's cap on words per token)
WORD_SHIFT, WORD_ONE, STARTS_WORD, ENDS_WORD = 2, 4, 2, 1
# columns of the per-word table
W_START, W_LEN, W_COUNT, W_STAMP = 0, 1, 2, 3


@nb.njit(cache=CACHE, inline="always")
def _above(hcount, hkey, i, j):
    return hcount[i] > hcount[j] or (hcount[i] == hcount[j] and hkey[i] < hkey[j])


@nb.njit(cache=CACHE)
def heap_push(hcount, hkey, size, count, key):
    """Push (count, key) on a max-heap (ties: smaller key first); returns the new size."""
    i = size
    hcount[i] = count
    hkey[i] = key
    while i > 0:
        parent = (i - 1) >> 1
        if not _above(hcount, hkey, i, parent):
            break
        hcount[i], hcount[parent] = hcount[parent], hcount[i]
        hkey[i], hkey[parent] = hkey[parent], hkey[i]
        i = parent
    return size + 1


@nb.njit(cache=CACHE)
def heap_pop(hcount, hkey, size):
    """Pop the top entry; returns (count, key, new size)."""
    count = hcount[0]
    key = hkey[0]
    size -= 1
    hcount[0] = hcount[size]
    hkey[0] = hkey[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        best = left
        if left + 1 < size and _above(hcount, hkey, left + 1, left):
            best = left + 1
        if not _above(hcount, hkey, best, i):
            break
        hcount[i], hcount[best] = hcount[best], hcount[i]
        hkey[i], hkey[best] = hkey[best], hkey[i]
        i = best
    return count, key, size


@nb.njit(cache=CACHE)
def _grown(a, n):
    out = np.empty(max(n, 2 * len(a)), a.dtype)
    out[: len(a)] = a
    return out


@nb.njit(cache=CACHE)
def _grown_rows(a):
    out = np.empty((2 * len(a), a.shape[1]), a.dtype)
    out[: len(a)] = a
    return out


@nb.njit(cache=CACHE)
def _rehash_pairs(pkey, pcount, phead):
    cap = 2 * len(pkey)
    nkey = np.full(cap, -1, np.int64)
    ncount = np.zeros(cap, np.int64)
    nhead = np.full(cap, -1, np.int64)
    for i in range(len(pkey)):
        if pkey[i] != -1:
            j = probe_int64(nkey, pkey[i])
            nkey[j] = pkey[i]
            ncount[j] = pcount[i]
            nhead[j] = phead[i]
    return nkey, ncount, nhead


@nb.njit(cache=CACHE, inline="always")
def _local_slot(ltab, key, stamp):
    """Slot of ``key`` in the per-merge table (rows of another stamp are empty); (slot, found)."""
    mask = len(ltab) - 1
    i = slot_of(key, mask)
    while True:
        if ltab[i, L_STAMP] != stamp:
            return i, False
        if ltab[i, L_KEY] == key:
            return i, True
        i = (i + 1) & mask


@nb.njit(cache=CACHE, inline="always")
def _record_change(ltab, lkeys, nodes, scal, key, delta, w):
    """Add ``delta`` to pair ``key`` in the per-merge table; on a gain, chain word ``w`` to it."""
    stamp = scal[STAMP]
    i, found = _local_slot(ltab, key, stamp)
    if not found:
        ltab[i, L_KEY] = key
        ltab[i, L_DELTA] = 0
        ltab[i, L_HEAD] = -1
        ltab[i, L_TAIL] = -1
        ltab[i, L_LAST_WORD] = -1
        ltab[i, L_STAMP] = stamp
        lkeys[scal[LOCAL_USED]] = key
        scal[LOCAL_USED] += 1
    ltab[i, L_DELTA] += delta
    if delta > 0 and ltab[i, L_LAST_WORD] != w:
        node = scal[N_NODES]
        nodes[node, 0] = w
        nodes[node, 1] = ltab[i, L_HEAD]
        if ltab[i, L_HEAD] == -1:
            ltab[i, L_TAIL] = node
        ltab[i, L_HEAD] = node
        ltab[i, L_LAST_WORD] = w
        scal[N_NODES] = node + 1


@nb.njit(cache=CACHE)
def _grow_local(ltab, lkeys, scal):
    """Double the per-merge table, keeping this merge's rows."""
    stamp = scal[STAMP]
    bigger = np.full((2 * len(ltab), ltab.shape[1]), -1, np.int64)
    for k in range(scal[LOCAL_USED]):
        i, _ = _local_slot(ltab, lkeys[k], stamp)
        j, _ = _local_slot(bigger, lkeys[k], stamp)
        bigger[j, :] = ltab[i, :]
    return bigger, _grown(lkeys, len(bigger))


@nb.njit(cache=CACHE)
def _write_bytes(tleft, tright, tbyte, token, out, pos):
    """Write the bytes of ``token`` into ``out`` from ``pos``; returns the end position."""
    stack = [token]
    while len(stack) > 0:
        t = stack.pop()
        if tright[t] < 0:
            out[pos] = tbyte[t]
            pos += 1
        else:
            stack.append(tright[t])
            stack.append(tleft[t])
    return pos


@nb.njit(cache=CACHE)
def _find_same_token(dslots, thash, tlen, tleft, tright, tbyte, a, b, h, n):
    """Return (slot, id of the token with the bytes of a+b, or -1) in the duplicate table."""
    mask = len(dslots) - 1
    i = slot_of(h, mask)
    want = np.empty(n, np.uint8)
    have = np.empty(n, np.uint8)
    filled = False
    while True:
        t = dslots[i]
        if t == -1:
            return i, -1
        if thash[t] == h and tlen[t] == n:
            if not filled:
                _write_bytes(tleft, tright, tbyte, b, want, _write_bytes(tleft, tright, tbyte, a, want, 0))
                filled = True
            _write_bytes(tleft, tright, tbyte, t, have, 0)
            if np.all(want == have):
                return i, t
        i = (i + 1) & mask


@nb.njit(cache=CACHE, inline="always")
def _byte_words(b):
    """Word summary of a one-byte token: 0 for ASCII whitespace, else one word touching both ends."""
    if b == 0x20 or (0x09 <= b and b <= 0x0D):
        return np.int64(0)
    return np.int64(WORD_ONE | STARTS_WORD | ENDS_WORD)


@nb.njit(cache=CACHE, inline="always")
def _joined_words(twords, a, b):
    """Word summary of the token ``a + b`` (a word running across the seam counts once)."""
    n = (twords[a] >> WORD_SHIFT) + (twords[b] >> WORD_SHIFT)
    if (twords[a] & ENDS_WORD) and (twords[b] & STARTS_WORD):
        n -= 1
    return (n << WORD_SHIFT) | (twords[a] & STARTS_WORD) | (twords[b] & ENDS_WORD)


def init_state(syms, wstart, wlen, wcount, base_bytes, inherited=None, threads=1):
    """Count all pairs and build the training state. ``base_bytes[i]`` is the byte of token i.

    ``inherited`` (int64 rows [left, right, new id], possibly none) are merges learned before,
    replayed as tokens only: ``syms`` must already be written with them (SuperBPE's stage 2 starts
    from the stage-1 encoding of its words); they stay the first merges of the state. With
    ``threads`` = 2 the pairs of each half of the words are counted on their own thread (the
    state, and so the merges, are the same).
    """
    syms = np.array(syms, np.int32)  # a copy: merging rewrites it
    wstart = np.ascontiguousarray(wstart, np.int64)
    wlen = np.ascontiguousarray(wlen, np.int64)
    wcount = np.ascontiguousarray(wcount, np.int64)
    inherited = np.zeros((0, 3), np.int64) if inherited is None else np.ascontiguousarray(inherited, np.int64)
    n = len(wstart)
    cut = n
    if threads > 1 and n >= 50_000:  # halves of about the same number of symbols
        cut = int(np.searchsorted(np.cumsum(wlen), wlen.sum() // 2))
    if cut < n:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(lambda r: count_pairs(syms, wstart, wlen, wcount, *r), [(0, cut), (cut, n)])
    else:
        first, second = count_pairs(syms, wstart, wlen, wcount, 0, n), count_pairs(syms, wstart, wlen, wcount, n, n)
    return _init_from_parts(syms, wstart, wlen, wcount, np.asarray(base_bytes, np.int64), inherited, first, second)


@nb.njit(cache=CACHE, nogil=True)
def count_pairs(syms, wstart, wlen, wcount, w0, w1):
    """The pairs of words ``w0 .. w1-1`` summed in a per-merge table (stamp 1) with their word
    chains: (ltab, lkeys, nodes, scal) where ``scal`` holds LOCAL_USED and N_NODES."""
    scal = np.zeros(8, np.int64)
    scal[STAMP] = 1
    ltab = np.full((1 << 12, 6), -1, np.int64)
    lkeys = np.zeros(len(ltab), np.int64)
    n_pairs = 0
    for w in range(w0, w1):
        n_pairs += max(wlen[w] - 1, 0)
    nodes = np.zeros((max(1024, n_pairs), 2), np.int32)  # word-list nodes: word, next node
    for w in range(w0, w1):
        s = wstart[w]
        for i in range(s, s + wlen[w] - 1):
            if 2 * (scal[LOCAL_USED] + 1) > len(ltab):
                ltab, lkeys = _grow_local(ltab, lkeys, scal)
            key = (np.int64(syms[i]) << 32) | np.int64(syms[i + 1])
            _record_change(ltab, lkeys, nodes, scal, key, wcount[w], w)
    return ltab, lkeys, nodes, scal


@nb.njit(cache=CACHE, nogil=True)
def _init_from_parts(syms, wstart, wlen, wcount, base_bytes, inherited, first, second):
    n_base = len(base_bytes)
    n_words = len(wstart)
    wmeta = np.empty((n_words, 4), np.int64)  # one cache line per word: start, length, count, stamp
    for w in range(n_words):
        wmeta[w, W_START] = wstart[w]
        wmeta[w, W_LEN] = wlen[w]
        wmeta[w, W_COUNT] = wcount[w]
        wmeta[w, W_STAMP] = -1
    cap = 1024
    while cap < 4 * (n_base + len(inherited)):
        cap *= 2
    tlen = np.ones(cap, np.int64)
    thash = np.zeros(cap, np.uint64)
    tpow = np.zeros(cap, np.uint64)
    tleft = np.full(cap, -1, np.int64)
    tright = np.full(cap, -1, np.int64)
    tbyte = np.zeros(cap, np.uint8)
    twords = np.zeros(cap, np.int64)
    for t in range(n_base):
        thash[t] = np.uint64(base_bytes[t]) + np.uint64(1)
        tpow[t] = HASH_BASE
        tbyte[t] = base_bytes[t]
        twords[t] = _byte_words(base_bytes[t])
    dslots = np.full(2 * cap, -1, np.int64)
    merges_ = np.zeros((max(1024, len(inherited)), 3), np.int64)
    scal = np.zeros(8, np.int64)
    scal[N_TOKENS] = n_base
    ltab, lkeys, nodes_a, scal_a = first
    ltab_b, lkeys_b, nodes_b, scal_b = second
    # one node array: the second part's nodes follow the first's
    n_a = scal_a[N_NODES]
    n_b = scal_b[N_NODES]
    nodes = np.zeros((max(1024, len(syms), n_a + n_b), 2), np.int32)
    nodes[:n_a] = nodes_a[:n_a]
    for k in range(n_b):
        nodes[n_a + k, 0] = nodes_b[k, 0]
        nodes[n_a + k, 1] = nodes_b[k, 1] + n_a if nodes_b[k, 1] != -1 else -1
    for k in range(scal_b[LOCAL_USED]):
        i, _ = _local_slot(ltab_b, lkeys_b[k], 1)
        if ltab_b[i, L_HEAD] != -1:
            ltab_b[i, L_HEAD] += n_a
            ltab_b[i, L_TAIL] += n_a
    scal[N_NODES] = n_a + n_b
    none = np.zeros(1, np.int64)
    state = (scal, merges_, syms, wmeta, none, none, none, nodes,
             none, none, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, ltab, lkeys)
    for k in range(len(inherited)):
        state, new = _token_for(state, inherited[k, 0], inherited[k, 1])
        if new != inherited[k, 2]:
            raise ValueError("inherited merges must be given in the order learned, with their ids")
    (scal, merges_, syms, wmeta, _, _, _, nodes,
     _, _, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, ltab, lkeys) = state

    # the initial pairs, summed like the changes of a merge and applied once per part
    pcap = 1024
    while pcap < 4 * (scal_a[LOCAL_USED] + scal_b[LOCAL_USED]):
        pcap *= 2
    pkey = np.full(pcap, -1, np.int64)
    pcount = np.zeros(len(pkey), np.int64)
    phead = np.full(len(pkey), -1, np.int64)
    hcount = np.zeros(max(1024, scal_a[LOCAL_USED] + scal_b[LOCAL_USED]), np.int64)
    hkey = np.zeros(len(hcount), np.int64)
    scal[STAMP] = 1
    scal[LOCAL_USED] = scal_a[LOCAL_USED]
    state = _apply_changes((scal, merges_, syms, wmeta, pkey, pcount, phead, nodes,
                            hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, ltab, lkeys))
    (scal, merges_, syms, wmeta, pkey, pcount, phead, nodes,
     hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, ltab, lkeys) = state
    scal[LOCAL_USED] = scal_b[LOCAL_USED]
    state = _apply_changes((scal, merges_, syms, wmeta, pkey, pcount, phead, nodes,
                            hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, ltab_b, lkeys_b))
    # go on with the first part's (larger) table for the per-merge changes
    return state[:18] + (ltab, lkeys)


@nb.njit(cache=CACHE)
def _apply_changes(state):
    """Add the per-merge table's sums to the global pair table, hand over the new word chains,
    and queue every pair that gained occurrences."""
    (scal, merges_, syms, wmeta, pkey, pcount, phead, nodes,
     hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, ltab, lkeys) = state
    stamp = scal[STAMP]
    n_local = scal[LOCAL_USED]
    while 2 * (scal[PAIRS_USED] + n_local) > len(pkey):
        pkey, pcount, phead = _rehash_pairs(pkey, pcount, phead)
    if scal[HEAP_SIZE] + n_local > len(hkey):
        hkey = _grown(hkey, scal[HEAP_SIZE] + n_local)
        hcount = _grown(hcount, scal[HEAP_SIZE] + n_local)
    for k in range(n_local):
        key = lkeys[k]
        i, _ = _local_slot(ltab, key, stamp)
        g = probe_int64(pkey, key)
        if pkey[g] == -1:
            pkey[g] = key
            scal[PAIRS_USED] += 1
        pcount[g] += ltab[i, L_DELTA]
        if ltab[i, L_HEAD] != -1:
            nodes[ltab[i, L_TAIL], 1] = phead[g]
            phead[g] = ltab[i, L_HEAD]
            if pcount[g] > 0:
                scal[HEAP_SIZE] = heap_push(hcount, hkey, scal[HEAP_SIZE], pcount[g], key)
    scal[LOCAL_USED] = 0
    return (scal, merges_, syms, wmeta, pkey, pcount, phead, nodes,
            hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, ltab, lkeys)


@nb.njit(cache=CACHE)
def merges(state):
    """The merges learned so far as an int64 array of rows [left, right, new id]."""
    return state[1][: state[0][N_MERGES]]


@nb.njit(cache=CACHE)
def n_tokens(state):
    """How many tokens (base + learned) there are so far."""
    return state[0][N_TOKENS]


@nb.njit(cache=CACHE)
def _merge_in_words(state, a, b, new, head):
    """Rewrite every word on the chain from node ``head`` (a pair's word list), replacing
    ``a b`` by ``new`` left to right, and record the pair changes as HF's Word::merge does."""
    (scal, merges_, syms, wmeta, pkey, pcount, phead, nodes,
     hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, ltab, lkeys) = state
    stamp = scal[STAMP]
    node = head
    while node != -1:
        w = nodes[node, 0]
        node = nodes[node, 1]
        if wmeta[w, W_STAMP] == stamp:
            continue
        wmeta[w, W_STAMP] = stamp
        c = wmeta[w, W_COUNT]
        s = wmeta[w, W_START]
        end = s + wmeta[w, W_LEN]
        out = s
        j = s
        while j < end:
            if j + 1 < end and syms[j] == a and syms[j + 1] == b:
                if 2 * (scal[LOCAL_USED] + 4) > len(ltab):
                    ltab, lkeys = _grow_local(ltab, lkeys, scal)
                if scal[N_NODES] + 4 > len(nodes):
                    nodes = _grown_rows(nodes)
                if out > s:
                    prev = np.int64(syms[out - 1])
                    _record_change(ltab, lkeys, nodes, scal, (prev << 32) | a, -c, w)
                    _record_change(ltab, lkeys, nodes, scal, (prev << 32) | new, c, w)
                if j + 2 < end:
                    nxt = np.int64(syms[j + 2])
                    _record_change(ltab, lkeys, nodes, scal, (b << 32) | nxt, -c, w)
                    _record_change(ltab, lkeys, nodes, scal, (new << 32) | nxt, c, w)
                syms[out] = new
                out += 1
                j += 2
            else:
                syms[out] = syms[j]
                out += 1
                j += 1
        wmeta[w, W_LEN] = out - s
    return (scal, merges_, syms, wmeta, pkey, pcount, phead, nodes,
            hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, ltab, lkeys)


@nb.njit(cache=CACHE)
def _token_for(state, a, b):
    """The id of the token with the bytes of ``a`` + ``b``: an existing one, or a new one."""
    (scal, merges_, syms, wmeta, pkey, pcount, phead, nodes,
     hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, ltab, lkeys) = state
    n = tlen[a] + tlen[b]
    h = thash[a] * tpow[b] + thash[b]
    if 2 * (scal[DUP_USED] + 1) > len(dslots):
        bigger = np.full(2 * len(dslots), -1, np.int64)
        for i in range(len(dslots)):
            t = dslots[i]
            if t != -1:
                k = slot_of(thash[t], len(bigger) - 1)
                while bigger[k] != -1:
                    k = (k + 1) & (len(bigger) - 1)
                bigger[k] = t
        dslots = bigger
    dslot, new = _find_same_token(dslots, thash, tlen, tleft, tright, tbyte, a, b, h, n)
    if new == -1:
        new = scal[N_TOKENS]
        if new == len(tlen):
            tlen = _grown(tlen, 0)
            thash = _grown(thash, 0)
            tpow = _grown(tpow, 0)
            tleft = _grown(tleft, 0)
            tright = _grown(tright, 0)
            tbyte = _grown(tbyte, 0)
            twords = _grown(twords, 0)
        tlen[new] = n
        thash[new] = h
        tpow[new] = tpow[a] * tpow[b]
        tleft[new] = a
        tright[new] = b
        twords[new] = _joined_words(twords, a, b)
        dslots[dslot] = new
        scal[DUP_USED] += 1
        scal[N_TOKENS] += 1
    m = scal[N_MERGES]
    if m == len(merges_):
        bigger_m = np.zeros((2 * m, 3), np.int64)
        bigger_m[:m] = merges_
        merges_ = bigger_m
    merges_[m, 0] = a
    merges_[m, 1] = b
    merges_[m, 2] = new
    scal[N_MERGES] = m + 1
    state = (scal, merges_, syms, wmeta, pkey, pcount, phead, nodes,
             hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, ltab, lkeys)
    return state, new


@nb.njit(cache=CACHE, nogil=True)
def merge_steps(state, max_steps, target_tokens, min_frequency, max_token_length, max_words):
    """Do up to ``max_steps`` merges; stop early once there are ``target_tokens`` tokens,
    no pair is left, or the best count is below ``min_frequency``.
    ``max_token_length`` > 0 forbids merges whose result is longer (in bytes), ``max_words`` > 0
    those whose result holds more words (runs of bytes other than ASCII whitespace).
    Returns (state, done)."""
    done = False
    steps = 0
    while steps < max_steps:
        scal = state[0]
        pkey, pcount, hcount, hkey, tlen = state[4], state[5], state[8], state[9], state[10]
        if scal[N_TOKENS] >= target_tokens or scal[HEAP_SIZE] == 0:
            done = True
            break
        count, key, scal[HEAP_SIZE] = heap_pop(hcount, hkey, scal[HEAP_SIZE])
        slot = probe_int64(pkey, key)
        current = pcount[slot]
        if count != current:  # stale entry: re-queue with the true count
            if current > 0:
                scal[HEAP_SIZE] = heap_push(hcount, hkey, scal[HEAP_SIZE], current, key)
            continue
        if current < 1 or current < min_frequency:
            done = True
            break
        a = key >> 32
        b = key & LOW32
        if max_token_length > 0 and tlen[a] + tlen[b] > max_token_length:
            continue  # never merged; dropped from the queue
        if max_words > 0 and (_joined_words(state[16], a, b) >> WORD_SHIFT) > max_words:
            continue
        steps += 1
        state, new = _token_for(state, a, b)
        scal[STAMP] += 1
        head = state[6][slot]
        state = _merge_in_words(state, a, b, new, head)
        # the merged pair is gone from every word
        state[5][slot] = 0
        state[6][slot] = -1
        state = _apply_changes(state)
    return state, done
