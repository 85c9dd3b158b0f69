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
where it gained occurrences, and a max-heap with lazy deletion finds the best pair.

The state is a tuple of arrays (``init_state``), advanced by ``merge_steps`` in chunks so the
caller can show progress between calls. Example (bytes a=0, b=1, c=2)::

    >>> import numpy as np
    >>> syms = np.array([0, 1, 2, 0, 1], np.int32)           # words "abc" x3 and "ab" x1
    >>> state = init_state(syms, np.array([0, 3]), np.array([3, 2]), np.array([3, 1]),
    ...                    np.arange(3, dtype=np.int64))
    >>> state, done = merge_steps(state, 10, 5, 1, 0)        # grow to 5 tokens
    >>> merges(state).tolist()                               # [left, right, new id]
    [[0, 1, 3], [3, 2, 4]]
"""
import numba as nb
import numpy as np

from .hashtable import probe_int64

HASH_BASE = np.uint64(0x100000001B3)  # polynomial hash of token contents: H(xy) = H(x) * B**len(y) + H(y)
LOW32 = np.int64(0xFFFFFFFF)

# indices into the scalar array of the state
N_TOKENS, N_MERGES, HEAP_SIZE, N_NODES, STAMP, PAIRS_USED, DUP_USED = 0, 1, 2, 3, 4, 5, 6


@nb.njit(cache=True, inline="always")
def _above(hcount, hkey, i, j):
    return hcount[i] > hcount[j] or (hcount[i] == hcount[j] and hkey[i] < hkey[j])


@nb.njit(cache=True)
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


@nb.njit(cache=True)
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


@nb.njit(cache=True)
def _grown(a, n):
    out = np.empty(max(n, 2 * len(a)), a.dtype)
    out[: len(a)] = a
    return out


@nb.njit(cache=True)
def _rehash_pairs(pkey, pcount, phead, pstamp):
    cap = 2 * len(pkey)
    nkey = np.full(cap, -1, np.int64)
    ncount = np.zeros(cap, np.int64)
    nhead = np.full(cap, -1, np.int64)
    nstamp = np.zeros(cap, np.int64)
    for i in range(len(pkey)):
        if pkey[i] != -1:
            j = probe_int64(nkey, pkey[i])
            nkey[j] = pkey[i]
            ncount[j] = pcount[i]
            nhead[j] = phead[i]
            nstamp[j] = pstamp[i]
    return nkey, ncount, nhead, nstamp


@nb.njit(cache=True, inline="always")
def _add_to_pair(pkey, pcount, phead, nword, nnext, scal, key, delta, w):
    """Add ``delta`` to the count of pair ``key`` (inserting it if new); on a gain, record that
    word ``w`` holds the pair. The caller has made room (``_room_for``). Returns the pair's slot."""
    slot = probe_int64(pkey, key)
    if pkey[slot] == -1:
        pkey[slot] = key
        scal[PAIRS_USED] += 1
    pcount[slot] += delta
    if delta > 0 and (phead[slot] == -1 or nword[phead[slot]] != w):
        n = scal[N_NODES]
        nword[n] = w
        nnext[n] = phead[slot]
        phead[slot] = n
        scal[N_NODES] = n + 1
    return slot


@nb.njit(cache=True, inline="always")
def _needs_room(pkey, nword, scal, n):
    """True when fewer than ``n`` new pairs or word-list nodes would overfill the tables."""
    return 2 * (scal[PAIRS_USED] + n) > len(pkey) or scal[N_NODES] + n > len(nword)


@nb.njit(cache=True)
def _make_room(pkey, pcount, phead, pstamp, nword, nnext, scal, n):
    if 2 * (scal[PAIRS_USED] + n) > len(pkey):
        pkey, pcount, phead, pstamp = _rehash_pairs(pkey, pcount, phead, pstamp)
    if scal[N_NODES] + n > len(nword):
        nword = _grown(nword, scal[N_NODES] + n)
        nnext = _grown(nnext, scal[N_NODES] + n)
    return pkey, pcount, phead, pstamp, nword, nnext


@nb.njit(cache=True)
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


@nb.njit(cache=True)
def _find_same_token(dslots, thash, tlen, tleft, tright, tbyte, a, b, h, n):
    """Return (slot, id of the token with the bytes of a+b, or -1) in the duplicate table."""
    mask = len(dslots) - 1
    i = np.int64(h >> np.uint64(20)) & mask
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


@nb.njit(cache=True)
def init_state(syms, wstart, wlen, wcount, base_bytes):
    """Count all pairs and build the training state. ``base_bytes[i]`` is the byte of token i."""
    n_base = len(base_bytes)
    syms = syms.astype(np.int32)
    wstart = wstart.astype(np.int64)
    wlen = wlen.astype(np.int64)
    wcount = wcount.astype(np.int64)
    n_words = len(wstart)
    wstamp = np.full(n_words, -1, np.int64)
    cap = 1024
    while cap < 4 * n_base:
        cap *= 2
    tlen = np.ones(cap, np.int64)
    thash = np.zeros(cap, np.uint64)
    tpow = np.zeros(cap, np.uint64)
    tleft = np.full(cap, -1, np.int64)
    tright = np.full(cap, -1, np.int64)
    tbyte = np.zeros(cap, np.uint8)
    for t in range(n_base):
        thash[t] = np.uint64(base_bytes[t]) + np.uint64(1)
        tpow[t] = HASH_BASE
        tbyte[t] = base_bytes[t]
    dslots = np.full(2 * cap, -1, np.int64)
    merges = np.zeros((1024, 3), np.int64)
    scal = np.zeros(8, np.int64)
    scal[N_TOKENS] = n_base

    pcap = 1024
    while pcap < 2 * n_base * 4:
        pcap *= 2
    pkey = np.full(pcap, -1, np.int64)
    pcount = np.zeros(pcap, np.int64)
    phead = np.full(pcap, -1, np.int64)
    pstamp = np.zeros(pcap, np.int64)
    nword = np.zeros(max(1024, len(syms)), np.int32)
    nnext = np.zeros(max(1024, len(syms)), np.int64)
    for w in range(n_words):
        s = wstart[w]
        for i in range(s, s + wlen[w] - 1):
            key = (np.int64(syms[i]) << 32) | np.int64(syms[i + 1])
            if _needs_room(pkey, nword, scal, 1):
                pkey, pcount, phead, pstamp, nword, nnext = _make_room(
                    pkey, pcount, phead, pstamp, nword, nnext, scal, 1)
            _add_to_pair(pkey, pcount, phead, nword, nnext, scal, key, wcount[w], w)
    used = scal[PAIRS_USED]
    hcount = np.zeros(max(1024, used), np.int64)
    hkey = np.zeros(max(1024, used), np.int64)
    size = 0
    for j in range(len(pkey)):
        if pkey[j] != -1 and pcount[j] > 0:
            size = heap_push(hcount, hkey, size, pcount[j], pkey[j])
    scal[HEAP_SIZE] = size
    changed = np.zeros(1024, np.int64)
    return (syms, wstart, wlen, wcount, wstamp, pkey, pcount, phead, pstamp, nword, nnext,
            hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, dslots, merges, scal, changed)


@nb.njit(cache=True)
def merges(state):
    """The merges learned so far as an int64 array of rows [left, right, new id]."""
    return state[20][: state[21][N_MERGES]]


@nb.njit(cache=True)
def merge_steps(state, max_steps, target_tokens, min_frequency, max_token_length):
    """Do up to ``max_steps`` merges; stop early once there are ``target_tokens`` tokens,
    no pair is left, or the best count is below ``min_frequency``.
    ``max_token_length`` > 0 forbids merges whose result is longer (in bytes).
    Returns (state, done)."""
    (syms, wstart, wlen, wcount, wstamp, pkey, pcount, phead, pstamp, nword, nnext,
     hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, dslots, merges_, scal, changed) = state
    done = False
    steps = 0
    while steps < max_steps:
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
        n = tlen[a] + tlen[b]
        if max_token_length > 0 and n > max_token_length:
            continue  # never merged; dropped from the queue
        steps += 1
        # the new token, or the existing token with the same bytes
        h = thash[a] * tpow[b] + thash[b]
        if 2 * (scal[DUP_USED] + 1) > len(dslots):
            bigger = np.full(2 * len(dslots), -1, np.int64)
            for i in range(len(dslots)):
                t = dslots[i]
                if t != -1:
                    k = np.int64(thash[t] >> np.uint64(20)) & (len(bigger) - 1)
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
            tlen[new] = n
            thash[new] = h
            tpow[new] = tpow[a] * tpow[b]
            tleft[new] = a
            tright[new] = b
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
        scal[STAMP] += 1
        stamp = scal[STAMP]
        n_changed = 0
        node = phead[slot]
        while node != -1:
            w = nword[node]
            node = nnext[node]
            if wstamp[w] == stamp:
                continue
            wstamp[w] = stamp
            c = wcount[w]
            s = wstart[w]
            end = s + wlen[w]
            out = s
            j = s
            while j < end:
                if j + 1 < end and syms[j] == a and syms[j + 1] == b:
                    if _needs_room(pkey, nword, scal, 4):
                        pkey, pcount, phead, pstamp, nword, nnext = _make_room(
                            pkey, pcount, phead, pstamp, nword, nnext, scal, 4)
                    # up to four pair changes around this occurrence, as in HF's Word::merge
                    for side in range(4):
                        if side < 2:
                            if out == s:
                                continue
                            x = np.int64(syms[out - 1])
                            y = a if side == 0 else new
                        else:
                            if j + 2 >= end:
                                continue
                            x = b if side == 2 else new
                            y = np.int64(syms[j + 2])
                        delta = -c if side % 2 == 0 else c
                        pk = (x << 32) | y
                        ps = _add_to_pair(pkey, pcount, phead, nword, nnext, scal, pk, delta, w)
                        if delta > 0:
                            if pstamp[ps] != stamp:
                                pstamp[ps] = stamp
                                if n_changed == len(changed):
                                    changed = _grown(changed, 0)
                                changed[n_changed] = pk
                                n_changed += 1
                    syms[out] = new
                    out += 1
                    j += 2
                else:
                    syms[out] = syms[j]
                    out += 1
                    j += 1
            wlen[w] = out - s
        # the merged pair is gone from every word
        slot = probe_int64(pkey, key)
        pcount[slot] = 0
        phead[slot] = -1
        for i in range(n_changed):
            ps = probe_int64(pkey, changed[i])
            if pcount[ps] > 0:
                if scal[HEAP_SIZE] == len(hkey):
                    hkey = _grown(hkey, 0)
                    hcount = _grown(hcount, 0)
                scal[HEAP_SIZE] = heap_push(hcount, hkey, scal[HEAP_SIZE], pcount[ps], changed[i])
    state = (syms, wstart, wlen, wcount, wstamp, pkey, pcount, phead, pstamp, nword, nnext,
             hcount, hkey, tlen, thash, tpow, tleft, tright, tbyte, dslots, merges_, scal, changed)
    return state, done
