"""BPE training: pair counting and the merge loop with incremental pair-count updates.

The rule (the same as Hugging Face's BpeTrainer): the pair with the highest count is merged,
where a pair's count is the number of adjacent occurrences weighted by word counts
(overlapping occurrences included, so ``aaa`` counts ``(a, a)`` twice); ties go to the smallest
``(left id, right id)``. Merging rewrites a word left to right, non-overlapping. A merge whose
result has the same bytes as an existing token reuses that token's id (so a vocabulary never
holds one string twice) and adds no token. Symbols are internal token ids: ``0 .. n_base-1`` are
the base tokens (bytes), new tokens get the next ids.

Array layout of the state (a tuple, see ``S_*``):

- ``words``  int32: every word as a header of 4 then its symbols; a word is named by the
  offset of its header (its *ref*): ``[length, count low 32 bits, count high 32 bits, stamp]``.
  The header and the symbols share a cache line, so visiting a word costs one random access.
  A word that shrinks leaves ``-(slots freed)`` after its last symbol, so the array stays walkable.
- ``pool``   int32: the words where each pair occurs, as blocks ``[next block, n, ref * n]``
  chained per pair (newest first, so a chain only points to older, lower blocks). A merge
  appends one block per pair it gave new occurrences; refs of words that lost the pair since
  are skipped when met. Full pools are compacted in place.
- pair table ``pkey`` / ``pcount`` / ``phead``: open addressing on ``left << 32 | right``, with
  each pair's exact count and first block; a max-heap (``hcount``, ``hkey``; lazy deletion)
  finds the best pair.
- a *part* ``(ltab, lrows, glog, lscal)``: the changes of one merge over some of the words,
  summed per pair in a small table before they touch the large one (``ltab`` rows: ``L_*``),
  with the words that gained each pair (``glog``: row, ref). The merge loop keeps one part in
  the state; ``merge_part`` fills parts for a merge cut by word ref (the caller may run them
  on threads: each part writes only its own words), and ``apply_part`` applies them in order,
  so the result is the same whatever the cut.

Pairs rarer than the state's floor (``min_count``: ``min_frequency``, or higher to keep the table
small, see ``refill``) are left out of the table: without a merge that reuses an existing token,
a pair of existing tokens never gains occurrences, so such a pair can never be merged while
the best pair is counted at least the floor. A merge that does reuse one (rare) recounts every pair it gave occurrences that is not
in the table by a pass over all words; such pairs are ``UNLISTED`` (merged by a pass over all
words too), so counts and merges stay exact.

The state is advanced by ``merge_steps`` in chunks so the caller can show progress between
calls. Example (bytes a=0, b=1, c=2)::

    >>> import numpy as np
    >>> syms = np.array([0, 1, 2, 0, 1], np.int32)           # words "abc" x3 and "ab" x1
    >>> state = init_state(syms, np.array([0, 3]), np.array([3, 2]), np.array([3, 1]),
    ...                    np.arange(3, dtype=np.int64))
    >>> state, status = merge_steps(state, 10, 5, 1, 0, 0)   # grow to 5 tokens
    >>> status == DONE, merges(state).tolist()               # [left, right, new id]
    (True, [[0, 1, 3], [3, 2, 4]])

A merge cut in two (``heavy``: merges whose pair is listed for at least that many words stop
the loop with ``PENDING``; the two halves could run on two threads)::

    >>> state = init_state(syms, np.array([0, 3]), np.array([3, 2]), np.array([3, 1]),
    ...                    np.arange(3, dtype=np.int64))
    >>> state, status = merge_steps(state, 10, 5, 1, 0, 0, heavy=2)
    >>> status == PENDING, merges(state).tolist()            # (a, b) chosen, words not yet rewritten
    (True, [[0, 1, 3]])
    >>> first = merge_part(state, own_part(state), 0, 7)     # word "abc" is at ref 0, "ab" at 7
    >>> second = merge_part(state, new_part(), 7, words_end(state))
    >>> state = end_merge(apply_part(apply_part(state, first), second), first)
    >>> state, status = merge_steps(state, 10, 5, 1, 0, 0, heavy=2)
    >>> merges(state).tolist()
    [[0, 1, 3], [3, 2, 4]]
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE
from .hashtable import mix64, prefetch, probe_int64, slot_of
from .util import grown, grown_rows

HASH_BASE = np.uint64(0x100000001B3)  # polynomial hash of token contents: H(xy) = H(x) * B**len(y) + H(y)
LOW32 = np.int64(0xFFFFFFFF)

# what merge_steps returns besides the state
MORE, DONE, PENDING = 0, 1, 2
# the state tuple; the merge loop's own part is its last four entries
(S_SCAL, S_MERGES, S_WORDS, S_POOL, S_PKEY, S_PCOUNT, S_PHEAD, S_HCOUNT, S_HKEY, S_TLEN, S_THASH, S_TPOW,
 S_TLEFT, S_TRIGHT, S_TBYTE, S_TWORDS, S_DSLOTS, S_RECOUNT, S_LTAB, S_LROWS, S_GLOG, S_LSCAL) = range(22)
# indices into the scalar array of the state (``state[S_SCAL]``)
(N_TOKENS, N_MERGES, HEAP_SIZE, POOL_USED, STAMP, PAIRS_USED, DUP_USED, WORDS_END, PENDING_SLOT,
 PENDING_A, PENDING_B, PENDING_NEW, PENDING_REUSES, MIN_COUNT, DROPPED, N_RECOUNT, PARTS_APPLIED, ONE_PART) = range(18)
# a word's header in ``words``
H_LEN, H_COUNT_LO, H_COUNT_HI, H_STAMP, HEADER = 0, 1, 2, 3, 4
# ``phead`` of a pair whose word list is incomplete: a merge of it visits every word
UNLISTED = -2
# columns of a part's table of pair changes (``ltab``); ``lscal``: rows used, glog entries used, stamp
L_KEY, L_DELTA, L_STAMP, L_LAST, L_GAINS, L_CURSOR = range(6)
ROWS_USED, GLOG_USED, PART_STAMP = 0, 1, 2
# the word summary of a token (``twords``): words << WORD_SHIFT | STARTS_WORD | ENDS_WORD, where a
# word is a run of bytes other than ASCII whitespace (SuperBPE's cap on words per token)
WORD_SHIFT, WORD_ONE, STARTS_WORD, ENDS_WORD = 2, 4, 2, 1
MAX_INT32 = 2**31 - 1
MAX_UINT32 = 2**32 - 1
# the first count's sketch of pair counts (``init_pairs``, ``sketch_pairs``): at most this many buckets
# (4 MB: it stays in the cache; SuperBPE's stage 2, 3.0M pairs: the same floor as 4M buckets, and the
# sketch takes 0.1 s instead of 0.23)
SKETCH_BUCKETS = 1 << 20
# the pair table is rebuilt (without the pairs rarer than min_frequency) when more than 3/4 full,
# to a size that leaves it at most 5/8 full
FULL_PAIRS, REBUILT_PAIRS = 0.75, 0.625
PREFETCH_AHEAD = 8  # list entries: a word's header is asked for this many entries before it is visited


# ---- the heap ---------------------------------------------------------------------------------------

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
def _sift_down(hcount, hkey, size, i):
    while True:
        left = 2 * i + 1
        if left >= size:
            return
        best = left
        if left + 1 < size and _above(hcount, hkey, left + 1, left):
            best = left + 1
        if not _above(hcount, hkey, best, i):
            return
        hcount[i], hcount[best] = hcount[best], hcount[i]
        hkey[i], hkey[best] = hkey[best], hkey[i]
        i = best


@nb.njit(cache=CACHE)
def heap_pop(hcount, hkey, size):
    """Pop the top entry; returns (count, key, new size)."""
    count = hcount[0]
    key = hkey[0]
    size -= 1
    hcount[0] = hcount[size]
    hkey[0] = hkey[size]
    _sift_down(hcount, hkey, size, 0)
    return count, key, size


@nb.njit(cache=CACHE)
def _requeue(pkey, pcount, hcount, hkey, room):
    """The heap rebuilt with one entry per pair in the table (its count), dropping the stale
    ones, with room for ``room`` more; returns (hcount, hkey, size)."""
    size = 0
    for g in range(len(pkey)):
        if pkey[g] != -1 and pcount[g] > 0:
            size += 1
    if 2 * (size + room) > len(hkey):  # at least half free after it, or it would run again soon
        hcount = np.empty(max(2 * (size + room), 1024), np.int64)
        hkey = np.empty(len(hcount), np.int64)
    size = 0
    for g in range(len(pkey)):
        if pkey[g] != -1 and pcount[g] > 0:
            hcount[size] = pcount[g]
            hkey[size] = pkey[g]
            size += 1
    for i in range(size // 2 - 1, -1, -1):
        _sift_down(hcount, hkey, size, i)
    return hcount, hkey, size


# ---- the pair table and the pool ---------------------------------------------------------------------

@nb.njit(cache=CACHE)
def _table_size(n):
    cap = 1024
    while n > REBUILT_PAIRS * cap:
        cap *= 2
    return cap


@nb.njit(cache=CACHE)
def _rehash_pairs(pkey, pcount, phead, room, min_count):
    """The pair table rebuilt with the pairs counted ``min_count`` times or more (the others and
    their word lists are dropped) and room for ``room`` more; returns (pkey, pcount, phead,
    pairs kept, whether a pair that occurs was dropped)."""
    kept = 0
    dropped = False
    for i in range(len(pkey)):
        if pkey[i] != -1:
            if pcount[i] >= min_count and pcount[i] > 0:
                kept += 1
            elif pcount[i] > 0:
                dropped = True
    cap = _table_size(kept + room)
    nkey = np.full(cap, -1, np.int64)
    ncount = np.zeros(cap, np.int64)
    nhead = np.full(cap, -1, np.int32)
    for i in range(len(pkey)):
        if pkey[i] != -1 and pcount[i] >= min_count and pcount[i] > 0:
            j = probe_int64(nkey, pkey[i])
            nkey[j] = pkey[i]
            ncount[j] = pcount[i]
            nhead[j] = phead[i]
    return nkey, ncount, nhead, kept, dropped


@nb.njit(cache=CACHE)
def _compact_pool(pool, used, pkey, pcount, phead, min_count):
    """Slide the blocks of the pairs still counted ``min_count`` times or more to the front of the
    pool; the lists of the others are dropped (``UNLISTED`` if they still occur). Returns the
    pool's new used size. Blocks tile the pool and a chain only points to lower blocks, so one
    pass in address order finds the live ones (marked by flipping their length) already sorted,
    and nothing is overwritten before it moves."""
    n_live = 0
    for g in range(len(pkey)):
        if pkey[g] == -1 or pcount[g] <= 0:
            phead[g] = -1
        elif pcount[g] < min_count:
            phead[g] = UNLISTED
        b = phead[g]
        while b >= 0:
            pool[b + 1] = ~pool[b + 1]
            n_live += 1
            b = pool[b]
    starts = np.empty(n_live, np.int32)
    moved = np.empty(n_live, np.int32)
    k = 0
    to = 0
    b = 0
    while b < used:
        n = pool[b + 1]
        if n < 0:
            n = ~n
            pool[b + 1] = n
            starts[k] = b
            moved[k] = to
            k += 1
            to += 2 + n
        b += 2 + n
    for g in range(len(pkey)):
        if phead[g] >= 0:
            phead[g] = moved[np.searchsorted(starts, phead[g])]
    for k in range(n_live):  # chain links, while the blocks are still in place
        if pool[starts[k]] != -1:
            pool[starts[k]] = moved[np.searchsorted(starts, pool[starts[k]])]
    for k in range(n_live):
        src, dst = starts[k], moved[k]
        if src != dst:
            for q in range(2 + pool[src + 1]):
                pool[dst + q] = pool[src + q]
    return to


# ---- words --------------------------------------------------------------------------------------------

@nb.njit(cache=CACHE, nogil=True)
def layout_words(values, table, wstart, wlen, wcount):
    """The ``words`` array: each word's header (length, count, stamp -1) then its symbols, where
    word ``w`` is ``table[values[wstart[w]:wstart[w] + wlen[w]]]`` (``table`` maps bytes or
    outside ids to symbols, so no symbol array is made in between)."""
    words = np.empty(words_size(len(wlen), wlen.sum()), np.int32)
    layout_words_at(words, 0, values, table, wstart, wlen, wcount)
    return words


@nb.njit(cache=CACHE)
def words_size(n_words, n_symbols):
    """The length of the ``words`` array of ``n_words`` words of ``n_symbols`` symbols in all (an
    error past 32-bit refs)."""
    total = HEADER * n_words + n_symbols
    if total > MAX_INT32:
        raise ValueError("too many symbols for 32-bit word refs: train on fewer unique words")
    return total


@nb.njit(cache=CACHE, nogil=True)
def layout_words_at(words, at, values, table, wstart, wlen, wcount):
    """``layout_words`` written into ``words`` from ``at`` on (runs of words laid out in threads).

    >>> words = np.zeros(11, np.int32)
    >>> layout_words_at(words, 5, np.array([7, 8], np.int32), np.arange(9, dtype=np.int32),
    ...                 np.array([0]), np.array([2]), np.array([3]))
    >>> words[5:].tolist()
    [2, 3, 0, -1, 7, 8]
    """
    o = at
    for w in range(len(wstart)):
        n = wlen[w]
        words[o + H_LEN] = n
        words[o + H_COUNT_LO] = np.int32(wcount[w] & LOW32)
        words[o + H_COUNT_HI] = np.int32(wcount[w] >> 32)
        words[o + H_STAMP] = -1
        s = wstart[w]
        for k in range(n):
            words[o + HEADER + k] = table[values[s + k]]
        o += HEADER + n


@nb.njit(cache=CACHE, inline="always")
def _count_of(words, ref):
    return (np.int64(words[ref + H_COUNT_HI]) << 32) | (np.int64(words[ref + H_COUNT_LO]) & LOW32)


@nb.njit(cache=CACHE)
def _next_ref(words, p):
    """The first word ref at or after ``p``, a word's end (skips what shrunk words freed)."""
    while p < len(words) and words[p] < 0:
        p -= words[p]
    return p


@nb.njit(cache=CACHE)
def word_refs(words, lo, hi, a):
    """The refs of the words in [lo, hi) holding symbol ``a``, as one pool block ``[-1, n, refs]``:
    the word list of an ``UNLISTED`` pair. ``lo`` is a word ref."""
    n = 0
    ref = lo
    while ref < hi:
        n += _holds(words, ref, a)
        ref = _next_ref(words, ref + HEADER + words[ref + H_LEN])
    block = np.empty(2 + n, np.int32)
    block[0] = -1
    block[1] = n
    k = 2
    ref = lo
    while ref < hi:
        if _holds(words, ref, a):
            block[k] = ref
            k += 1
        ref = _next_ref(words, ref + HEADER + words[ref + H_LEN])
    return block


@nb.njit(cache=CACHE, inline="always")
def _holds(words, ref, a):
    """Whether the word at ``ref`` holds symbol ``a``."""
    for j in range(ref + HEADER, ref + HEADER + words[ref + H_LEN]):
        if words[j] == a:
            return True
    return False


def word_cuts(words, parts: int) -> list[int]:
    """Refs cutting ``words`` into ``parts`` runs of whole words of about the same size (taken
    before any merge, or on the words of a state: what shrunk words freed is skipped)."""
    cuts = [0] + [int(_word_at(words, len(words) * k // parts)) for k in range(1, parts)] + [len(words)]
    return sorted(set(cuts))


@nb.njit(cache=CACHE)
def _word_at(words, at):
    """The first word ref at or after ``at``."""
    ref = _next_ref(words, 0)
    while ref < at:
        ref = _next_ref(words, ref + HEADER + words[ref + H_LEN])
    return min(ref, len(words))


# ---- parts: the changes of one merge over some of the words ------------------------------------------

def new_part(rows: int = 1 << 12, glog: int = 1 << 12):
    """An empty part: (ltab, lrows, glog, lscal)."""
    ltab = np.full((rows, 6), -1, np.int64)
    ltab[:, L_STAMP] = 0
    return ltab, np.zeros(rows, np.int32), np.zeros((glog, 2), np.int32), np.zeros(4, np.int64)


@nb.njit(cache=CACHE, inline="always")
def _row_of(ltab, key, stamp):
    """Row of ``key`` in a part's table (rows of another stamp are empty); (row, found)."""
    mask = len(ltab) - 1
    i = slot_of(key, mask)
    while True:
        if ltab[i, L_STAMP] != stamp:
            return i, False
        if ltab[i, L_KEY] == key:
            return i, True
        i = (i + 1) & mask


@nb.njit(cache=CACHE)
def _grown_part(ltab, lrows, glog, lscal, need_rows, need_glog):
    """The part with room for ``need_rows`` more rows and ``need_glog`` more log entries."""
    if 2 * (lscal[ROWS_USED] + need_rows) > len(ltab):
        cap = len(ltab)
        while 2 * (lscal[ROWS_USED] + need_rows) > cap:
            cap *= 2
        bigger = np.full((cap, 6), -1, np.int64)
        bigger[:, L_STAMP] = 0
        stamp = lscal[PART_STAMP]
        remap = np.empty(len(ltab), np.int32)
        for k in range(lscal[ROWS_USED]):
            i = lrows[k]
            j, _ = _row_of(bigger, ltab[i, L_KEY], stamp)
            bigger[j, :] = ltab[i, :]
            remap[i] = j
        rows = np.zeros(cap, np.int32)
        for k in range(lscal[ROWS_USED]):
            rows[k] = remap[lrows[k]]
        for g in range(lscal[GLOG_USED]):
            glog[g, 0] = remap[glog[g, 0]]
        ltab, lrows = bigger, rows
    while lscal[GLOG_USED] + need_glog > len(glog):
        glog = grown_rows(glog)
    return ltab, lrows, glog, lscal


@nb.njit(cache=CACHE, nogil=True)
def _rewrite_words(words, pool, block, entry, lo, hi, a, b, new, ltab, lrows, glog, lscal):
    """Rewrite the words listed from ``pool[block]``'s entry ``entry`` on whose ref is in
    [lo, hi), replacing ``a b`` by ``new`` left to right, and record the pair changes as HF's
    Word::merge does: summed per pair in ``ltab``, each gain logged once per word in ``glog``.
    Stops before a word the part has no room for: returns (block, entry) to go on from, block
    -1 when the list is done. (No helper taking arrays is called in the loop: numba would count
    references to them on every call.)"""
    stamp = lscal[PART_STAMP]
    mask = len(ltab) - 1
    keys = np.empty(4, np.int64)    # the changes of one replacement
    deltas = np.empty(4, np.int64)
    while block != -1:
        n = pool[block + 1]
        while entry < n:
            if entry + PREFETCH_AHEAD < n:
                ahead = pool[block + 2 + entry + PREFETCH_AHEAD]
                if lo <= ahead and ahead < hi:
                    prefetch(words, ahead)
            ref = pool[block + 2 + entry]
            if ref < lo or ref >= hi or words[ref + H_STAMP] == stamp:
                entry += 1
                continue
            length = words[ref + H_LEN]
            # a word of n symbols makes at most n/2 replacements of 4 changes each
            if 2 * (lscal[ROWS_USED] + 2 * length) > len(ltab) or lscal[GLOG_USED] + length > len(glog):
                return block, entry
            words[ref + H_STAMP] = stamp
            entry += 1
            s = ref + HEADER
            end = s + length
            j = s
            while j < end - 1 and not (words[j] == a and words[j + 1] == b):
                j += 1
            if j >= end - 1:
                continue  # the word lost the pair since it was listed
            c = (np.int64(words[ref + H_COUNT_HI]) << 32) | (np.int64(words[ref + H_COUNT_LO]) & LOW32)
            out = j
            while j < end:
                if not (j + 1 < end and words[j] == a and words[j + 1] == b):
                    words[out] = words[j]
                    out += 1
                    j += 1
                    continue
                n_changes = 0
                if out > s:
                    prev = np.int64(words[out - 1])
                    keys[0], deltas[0] = (prev << 32) | a, -c
                    keys[1], deltas[1] = (prev << 32) | new, c
                    n_changes = 2
                if j + 2 < end:
                    nxt = np.int64(words[j + 2])
                    keys[n_changes], deltas[n_changes] = (b << 32) | nxt, -c
                    keys[n_changes + 1], deltas[n_changes + 1] = (new << 32) | nxt, c
                    n_changes += 2
                for q in range(n_changes):
                    key = keys[q]
                    i = slot_of(key, mask)
                    while ltab[i, L_STAMP] == stamp and ltab[i, L_KEY] != key:
                        i = (i + 1) & mask
                    if ltab[i, L_STAMP] != stamp:
                        ltab[i, L_KEY] = key
                        ltab[i, L_DELTA] = 0
                        ltab[i, L_STAMP] = stamp
                        ltab[i, L_LAST] = -1
                        ltab[i, L_GAINS] = 0
                        lrows[lscal[ROWS_USED]] = i
                        lscal[ROWS_USED] += 1
                    ltab[i, L_DELTA] += deltas[q]
                    if deltas[q] > 0 and ltab[i, L_LAST] != ref:
                        ltab[i, L_LAST] = ref
                        ltab[i, L_GAINS] += 1
                        g = lscal[GLOG_USED]
                        glog[g, 0] = i
                        glog[g, 1] = ref
                        lscal[GLOG_USED] = g + 1
                words[out] = new
                out += 1
                j += 2
            if out < end:
                words[out] = out - end  # the slots freed, skipped by walks over all words
            words[ref + H_LEN] = out - s
        block = pool[block]
        entry = 0
    return block, entry


@nb.njit(cache=CACHE, nogil=True)
def merge_part(state, part, lo, hi):
    """Rewrite the words with ref in [lo, hi) of the pending merge into ``part`` (emptied
    first); returns the part (its arrays may have grown). ``lo`` is a word ref. Parts of
    disjoint ranges touch disjoint words, so they may run at the same time."""
    scal, words, pool, phead = state[S_SCAL], state[S_WORDS], state[S_POOL], state[S_PHEAD]
    ltab, lrows, glog, lscal = part
    lscal[ROWS_USED] = 0
    lscal[GLOG_USED] = 0
    lscal[PART_STAMP] = scal[STAMP]
    a, b, new = scal[PENDING_A], scal[PENDING_B], scal[PENDING_NEW]
    block, entry = np.int64(phead[scal[PENDING_SLOT]]), np.int64(0)
    if block == UNLISTED:
        pool = word_refs(words, lo, hi, a)
        block = 0
    while True:
        block, entry = _rewrite_words(words, pool, block, entry, lo, hi, a, b, new, ltab, lrows, glog, lscal)
        if block == -1:
            return ltab, lrows, glog, lscal
        ltab, lrows, glog, lscal = _grown_part(ltab, lrows, glog, lscal, 2 * words[pool[block + 2 + entry]],
                                               words[pool[block + 2 + entry]])


@nb.njit(cache=CACHE)
def apply_part(state, part):
    """Add a part's sums to the pair table, chain one new block per listed pair that gained
    words, and queue every pair whose count went up. A pair not in the table is added if it
    gained (a new pair; one this merge recounts if it reuses a token).

    Before the table or the pool would grow, they drop the pairs (or the word lists) counted
    less than the floor -- before the merge's first part only: after it, a new pair holds only
    the occurrences of the parts applied so far, and dropping it would lose those (its count
    would restart from the next part's). When the part is the whole merge (``merge_steps``' own),
    a new pair counted less than the floor is left out as at the start (it never gains but through
    a merge reusing a token, which recounts it)."""
    (scal, merges_, words, pool, pkey, pcount, phead, hcount, hkey, tlen, thash, tpow,
     tleft, tright, tbyte, twords, dslots, recount, own_ltab, own_lrows, own_glog, own_lscal) = state
    ltab, lrows, glog, lscal = part
    n_rows = lscal[ROWS_USED]
    floor = scal[MIN_COUNT] if scal[PARTS_APPLIED] == 0 else 1  # mid-merge: drop only what is gone
    scal[PARTS_APPLIED] += 1
    if scal[PAIRS_USED] + n_rows > FULL_PAIRS * len(pkey):
        pkey, pcount, phead, scal[PAIRS_USED], dropped = _rehash_pairs(pkey, pcount, phead, n_rows, floor)
        if dropped:
            scal[DROPPED] = 1
    if scal[HEAP_SIZE] + n_rows > len(hkey):
        hcount, hkey, scal[HEAP_SIZE] = _requeue(pkey, pcount, hcount, hkey, n_rows)
    if scal[PENDING_REUSES] and scal[N_RECOUNT] + n_rows > len(recount):
        recount = grown(recount, scal[N_RECOUNT] + n_rows)
    need = lscal[GLOG_USED] + 2 * n_rows
    used = scal[POOL_USED]
    if used + need > len(pool):
        used = _compact_pool(pool, used, pkey, pcount, phead, floor)
        if 4 * (used + need) > 3 * len(pool):  # less than a quarter free: grow
            if 4 * (used + need) // 3 > MAX_INT32:
                raise ValueError("too many word lists for 32-bit offsets: train on fewer unique words")
            bigger = np.empty(4 * (used + need) // 3, np.int32)
            bigger[:used] = pool[:used]
            pool = bigger
    for k in range(n_rows):
        i = lrows[k]
        key = ltab[i, L_KEY]
        delta = ltab[i, L_DELTA]
        ltab[i, L_CURSOR] = -1
        g = probe_int64(pkey, key)
        if pkey[g] == -1:
            if delta <= 0:
                continue  # not counted: rarer than min_frequency, and fewer now
            if delta < scal[MIN_COUNT] and scal[ONE_PART] and not scal[PENDING_REUSES]:
                scal[DROPPED] = 1
                continue  # a new pair rarer than the floor
            pkey[g] = key
            scal[PAIRS_USED] += 1
            if scal[PENDING_REUSES]:  # it may have occurred before: recounted in end_merge
                phead[g] = UNLISTED
                recount[scal[N_RECOUNT]] = key
                scal[N_RECOUNT] += 1
        pcount[g] += delta
        if ltab[i, L_GAINS] > 0 and phead[g] != UNLISTED:
            pool[used] = phead[g]
            pool[used + 1] = ltab[i, L_GAINS]
            phead[g] = used
            ltab[i, L_CURSOR] = used + 2
            used += 2 + ltab[i, L_GAINS]
        if delta > 0 and pcount[g] > 0:
            scal[HEAP_SIZE] = heap_push(hcount, hkey, scal[HEAP_SIZE], pcount[g], key)
    for e in range(lscal[GLOG_USED]):
        i = glog[e, 0]
        if ltab[i, L_CURSOR] >= 0:
            pool[ltab[i, L_CURSOR]] = glog[e, 1]
            ltab[i, L_CURSOR] += 1
    scal[POOL_USED] = used
    lscal[ROWS_USED] = 0
    lscal[GLOG_USED] = 0
    return (scal, merges_, words, pool, pkey, pcount, phead, hcount, hkey, tlen, thash, tpow,
            tleft, tright, tbyte, twords, dslots, recount, own_ltab, own_lrows, own_glog, own_lscal)


@nb.njit(cache=CACHE)
def _recount(words, keys, n):
    """The exact counts of pairs ``keys[:n]`` over all words, by one pass."""
    cap = 16
    while cap < 2 * n:
        cap *= 2
    slots = np.full(cap, -1, np.int64)
    index = np.zeros(cap, np.int64)
    for k in range(n):
        s = probe_int64(slots, keys[k])
        slots[s] = keys[k]
        index[s] = k
    counts = np.zeros(n, np.int64)
    ref = 0
    while ref < len(words):
        length = words[ref + H_LEN]
        c = _count_of(words, ref)
        for j in range(ref + HEADER, ref + HEADER + length - 1):
            s = probe_int64(slots, (np.int64(words[j]) << 32) | np.int64(words[j + 1]))
            if slots[s] != -1:
                counts[index[s]] += c
        ref = _next_ref(words, ref + HEADER + length)
    return counts


@nb.njit(cache=CACHE)
def end_merge(state, own):
    """Close the pending merge once its parts are applied (``apply_part``, in the order of
    their ranges): the merged pair is gone from every word, and pairs that a merge reusing a
    token added are recounted. ``own`` becomes the state's part."""
    scal = state[S_SCAL]
    slot = probe_int64(state[S_PKEY], (scal[PENDING_A] << 32) | scal[PENDING_B])  # the table may have grown
    state[S_PCOUNT][slot] = 0
    state[S_PHEAD][slot] = -1
    scal[PENDING_SLOT] = -1
    if scal[N_RECOUNT] > 0:
        pkey, pcount, hcount, hkey, recount = state[S_PKEY], state[S_PCOUNT], state[S_HCOUNT], state[S_HKEY], state[S_RECOUNT]
        counts = _recount(state[S_WORDS], recount, scal[N_RECOUNT])
        if scal[HEAP_SIZE] + scal[N_RECOUNT] > len(hkey):
            hcount, hkey, scal[HEAP_SIZE] = _requeue(pkey, pcount, hcount, hkey, scal[N_RECOUNT])
        for k in range(scal[N_RECOUNT]):
            g = probe_int64(pkey, recount[k])
            pcount[g] = counts[k]
            if counts[k] > 0:
                scal[HEAP_SIZE] = heap_push(hcount, hkey, scal[HEAP_SIZE], counts[k], recount[k])
        scal[N_RECOUNT] = 0
        state = state[:S_HCOUNT] + (hcount, hkey) + state[S_TLEN:]
    return state[:S_LTAB] + own


def own_part(state):
    """The part the merge loop uses (give it back through ``end_merge``)."""
    return state[S_LTAB:]


def words_end(state) -> int:
    """One past the last word ref (refs of a cut are taken in [0, words_end))."""
    return int(state[S_SCAL][WORDS_END])


# ---- tokens -------------------------------------------------------------------------------------------

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


@nb.njit(cache=CACHE)
def _token_for(state, a, b):
    """The id of the token with the bytes of ``a`` + ``b`` (an existing one, or a new one),
    recorded as the next merge."""
    (scal, merges_, words, pool, pkey, pcount, phead, hcount, hkey, tlen, thash, tpow,
     tleft, tright, tbyte, twords, dslots, recount, ltab, lrows, glog, lscal) = state
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
    if scal[N_TOKENS] == len(tlen):
        tlen = grown(tlen, 0)
        thash = grown(thash, 0)
        tpow = grown(tpow, 0)
        tleft = grown(tleft, 0)
        tright = grown(tright, 0)
        tbyte = grown(tbyte, 0)
        twords = grown(twords, 0)
    if scal[N_MERGES] == len(merges_):
        merges_ = grown_rows(merges_)
    new = _record_token(scal, merges_, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, a, b)
    state = (scal, merges_, words, pool, pkey, pcount, phead, hcount, hkey, tlen, thash, tpow,
             tleft, tright, tbyte, twords, dslots, recount, ltab, lrows, glog, lscal)
    return state, new


@nb.njit(cache=CACHE, inline="always")
def _record_token(scal, merges_, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots, a, b):
    """``_token_for`` in tables with room for one more token, duplicate slot and merge: returns the
    id of the token ``a`` + ``b`` (a new one unless the duplicate table holds its bytes)."""
    n = tlen[a] + tlen[b]
    h = thash[a] * tpow[b] + thash[b]
    dslot, new = _find_same_token(dslots, thash, tlen, tleft, tright, tbyte, a, b, h, n)
    if new == -1:
        new = scal[N_TOKENS]
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
    merges_[m, 0] = a
    merges_[m, 1] = b
    merges_[m, 2] = new
    scal[N_MERGES] = m + 1
    return new


# ---- the first count ----------------------------------------------------------------------------------

# a counting table's row (``count_pairs``): the pair's key (-1: empty), its count, and the last word
# counted into it << 32 | the number of words holding it -- one cache line per pair occurrence
C_KEY, C_COUNT, C_WORDS = 0, 1, 2


@nb.njit(cache=CACHE)
def _count_words(words, ref, hi, rows, limit, passing):
    """Count the pairs of the words from ``ref`` on, up to ref ``hi``, into the table ``rows`` (see
    ``C_KEY``), but for those whose sketch bucket is not set in ``passing`` (``passing_buckets``;
    empty: count every pair); stops before a word that could fill the table past ``limit`` pairs.
    Returns (ref to go on from, pairs in the table, whether a pair was skipped)."""
    mask = np.uint64(len(rows) - 1)
    smask = np.uint64(max(64 * len(passing), 1) - 1)
    skipped = False
    used = 0
    for g in range(len(rows)):
        if rows[g, C_KEY] != -1:
            used += 1
    ref = _next_ref(words, ref)
    while ref < hi:
        length = words[ref + H_LEN]
        if used + length > limit:
            return ref, used, skipped
        c = _count_of(words, ref)
        last = np.int64(ref) << 32
        for j in range(ref + HEADER, ref + HEADER + length - 1):
            key = (np.int64(words[j]) << 32) | np.int64(words[j + 1])
            h = mix64(key)
            if len(passing) > 0:
                b = h & smask
                if (passing[b >> np.uint64(6)] >> (b & np.uint64(63))) & np.uint64(1) == 0:
                    skipped = True
                    continue
            g = h & mask
            while rows[g, C_KEY] != -1 and rows[g, C_KEY] != key:
                g = (g + np.uint64(1)) & mask
            if rows[g, C_KEY] == -1:
                rows[g, C_KEY] = key
                used += 1
            rows[g, C_COUNT] += c
            if rows[g, C_WORDS] & ~LOW32 != last:
                rows[g, C_WORDS] = last | ((rows[g, C_WORDS] & LOW32) + 1)
        ref = _next_ref(words, ref + HEADER + length)
    return ref, used, skipped


@nb.njit(cache=CACHE)
def _count_table(cap, old):
    """A counting table (``C_KEY``) of ``cap`` rows holding the rows of ``old``."""
    rows = np.zeros((cap, 3), np.int64)
    rows[:, C_KEY] = -1
    rows[:, C_WORDS] = np.int64(-1) << 32
    for i in range(len(old)):
        if old[i, C_KEY] != -1:
            rows[probe_int64(rows[:, C_KEY], old[i, C_KEY])] = old[i]
    return rows


@nb.njit(cache=CACHE, nogil=True)
def count_pairs(words, lo, hi, passing):
    """Every pair of the words at refs [``lo``, ``hi``) counted: (keys, counts, words holding each,
    whether a pair was skipped) as an open-addressing table, -1 for an empty key. Tables of runs of
    words add up (``add_counted``), so threads can count one run each. Given the ``passing`` buckets
    of a sketch of the words (``passing_buckets``; empty: count every pair), the pairs of the other
    buckets -- which sum fewer occurrences than the floor, so each pair of them is counted fewer --
    are skipped.

    >>> words = layout_words(np.array([0, 1, 0, 1, 2], np.int32), np.arange(3, dtype=np.int32),
    ...                      np.array([0, 2]), np.array([2, 3]), np.array([5, 1]))    # "ab" x5, "abc" x1
    >>> pkey, pcount, plisted, skipped = count_pairs(words, 0, len(words), np.zeros(0, np.uint64))
    >>> sorted((int(k >> 32), int(k & 0xFFFFFFFF), int(c), int(n)) for k, c, n in zip(pkey, pcount, plisted) if k != -1)
    [(0, 1, 6, 2), (1, 2, 1, 1)]
    >>> passing = passing_buckets(sketch_pairs(words, 0, len(words), 1024), 2)
    >>> pkey, pcount, plisted, skipped = count_pairs(words, 0, len(words), passing)
    >>> [int(c) for k, c in zip(pkey, pcount) if k != -1], skipped
    ([6], True)
    """
    rows = _count_table(1024, np.zeros((0, 3), np.int64))
    ref = lo
    skipped = False
    while True:  # the table may fill to FULL_PAIRS while counting
        ref, used, skipped_here = _count_words(words, ref, hi, rows, np.int64(FULL_PAIRS * len(rows)), passing)
        skipped |= skipped_here
        if ref >= hi:
            return rows[:, C_KEY].copy(), rows[:, C_COUNT].copy(), (rows[:, C_WORDS] & LOW32).astype(np.int32), skipped
        rows = _count_table(2 * len(rows), rows)


@nb.njit(cache=CACHE, nogil=True)
def passing_buckets(sketch, at_least):
    """The buckets of a ``sketch`` (``sketch_pairs``) that sum ``at_least`` or more, as a bitset
    (bucket b: bit b % 64 of word b // 64; at least 64 bits): 1M buckets take 128 KB, which
    ``count_pairs`` reads for each pair occurrence in place of the 4 MB sketch. ``at_least`` 0: an
    empty bitset (every pair).

    >>> sketch = np.zeros(128, np.uint32)
    >>> sketch[[1, 3, 70]] = 5
    >>> passing_buckets(sketch, 2)      # buckets 1 and 3: 0b1010 in word 0; 70 = 64 + 6: 0b1000000 in word 1
    array([10, 64], dtype=uint64)
    """
    if at_least <= 0:
        return np.zeros(0, np.uint64)
    bits = np.zeros(max(len(sketch) // 64, 1), np.uint64)
    for b in range(64 * len(bits)):  # a sketch of fewer than 64 buckets repeats in the first word
        if sketch[b & (len(sketch) - 1)] >= at_least:
            bits[b >> 6] |= np.uint64(1) << np.uint64(b & 63)
    return bits


def add_counted(tables):
    """``count_pairs`` tables of runs of words (a list) summed into one: counts and words holding
    each pair added (each word is in one run). Returns (keys, counts, words holding each)."""
    cap = _table_size(sum(int((key != -1).sum()) for key, _, _, _ in tables))
    pkey, pcount, plisted = np.full(cap, -1, np.int64), np.zeros(cap, np.int64), np.zeros(cap, np.int32)
    for key, count, listed, _ in tables:
        _add_into(pkey, pcount, plisted, key, count, listed)
    return pkey, pcount, plisted


@nb.njit(cache=CACHE)
def _add_into(pkey, pcount, plisted, key, count, listed):
    """Add one counting table's pairs (``key``, ``count``, ``listed``) into a larger table."""
    for g in range(len(key)):
        if key[g] != -1:
            i = probe_int64(pkey, key[g])
            pkey[i] = key[g]
            pcount[i] += count[g]
            plisted[i] += listed[g]


@nb.njit(cache=CACHE, nogil=True)
def sketch_pairs(words, lo, hi, n_buckets):
    """The occurrences of the pairs of the words at refs [``lo``, ``hi``) summed by bucket (the low
    bits of the pair's hash; ``n_buckets`` a power of two; capped at 2**32 - 1): a bucket holds at
    least the count of each pair in it, so a pair whose bucket sums less than ``t`` is counted less
    than ``t`` -- ``init_pairs`` skips such pairs without a table entry for each. Sketches of runs
    of words add up (``add_sketch``) to the sketch of all of them.

    >>> words = layout_words(np.array([0, 1, 0, 1, 2], np.int32), np.arange(3, dtype=np.int32),
    ...                      np.array([0, 2]), np.array([2, 3]), np.array([5, 1]))    # "ab" x5, "abc" x1
    >>> sketch = sketch_pairs(words, 0, len(words), 1024)
    >>> sorted(sketch[sketch > 0].tolist())          # (a, b) 6 times, (b, c) once
    [1, 6]
    """
    sketch = np.zeros(n_buckets, np.uint32)
    mask = np.uint64(n_buckets - 1)
    ref = _next_ref(words, lo)
    while ref < hi:
        length = words[ref + H_LEN]
        c = _count_of(words, ref)
        for j in range(ref + HEADER, ref + HEADER + length - 1):
            b = mix64((np.int64(words[j]) << 32) | np.int64(words[j + 1])) & mask
            sketch[b] = min(np.int64(sketch[b]) + c, MAX_UINT32)
        ref = _next_ref(words, ref + HEADER + length)
    return sketch


@nb.njit(cache=CACHE, nogil=True)
def add_sketch(total, other):
    """Add ``other`` into ``total`` (sketches of the same size), capped at 2**32 - 1 as one sketch is."""
    for b in range(len(total)):
        total[b] = min(np.int64(total[b]) + np.int64(other[b]), MAX_UINT32)


@nb.njit(cache=CACHE)
def _n_kept(pcount, min_count):
    """How many pairs of a counting table are counted ``min_count`` times or more."""
    kept = 0
    for c in pcount:
        if c >= min_count:
            kept += 1
    return kept


@nb.njit(cache=CACHE)
def _keep(key, count, listed, pkey, pcount, plisted, min_count):
    """Put the pairs of a counting table counted ``min_count`` times or more in the pair table
    (``key``, ``count``, ``listed``: the number of words to list); returns whether any was left out."""
    dropped = False
    for g in range(len(pkey)):
        if pkey[g] != -1:
            if pcount[g] >= min_count:
                k = probe_int64(key, pkey[g])
                key[k] = pkey[g]
                count[k] = pcount[g]
                listed[k] = plisted[g]
            else:
                dropped = True
    return dropped


@nb.njit(cache=CACHE)
def _lay_out_pool(pkey, pcount, plisted, kept):
    """One empty pool block per pair with room for its words, and the heap of the pairs:
    (head, pool, blocks' size, hcount, hkey, heap size)."""
    cap = len(pkey)
    head = np.full(cap, -1, np.int32)
    used = np.int64(0)
    for g in range(cap):
        if pkey[g] != -1:
            head[g] = used
            used += 2 + plisted[g]
    if used > MAX_INT32:
        raise ValueError("too many word lists for 32-bit offsets: train on fewer unique words")
    pool = np.empty(max(1024, used + used // 4), np.int32)
    hcount = np.zeros(max(1024, 2 * kept), np.int64)
    hkey = np.zeros(len(hcount), np.int64)
    heap_size = 0
    for g in range(cap):
        if pkey[g] != -1:
            pool[head[g]] = -1
            pool[head[g] + 1] = plisted[g]  # the words listed (``list_run`` writes them)
            hcount[heap_size] = pcount[g]
            hkey[heap_size] = pkey[g]
            heap_size += 1
    for i in range(heap_size // 2 - 1, -1, -1):
        _sift_down(hcount, hkey, heap_size, i)
    return head, pool, used, hcount, hkey, heap_size


@nb.njit(cache=CACHE, nogil=True)
def list_run(words, lo, hi, pkey, at, pool):
    """Write the refs of the words at refs [``lo``, ``hi``) into the pool blocks of the pairs of the
    table ``pkey`` they hold, once each: pair ``g``'s from ``pool[at[g]]`` on (``at`` advances). Given
    each run of words its own stretch of every block, after the earlier runs' (``_listed_in``), runs
    list on threads of their own and the blocks come out in word order, as one pass writes them."""
    mask = np.uint64(len(pkey) - 1)
    last = np.full(len(pkey), -1, np.int32)  # the last word listed for each pair
    ref = _next_ref(words, lo)
    while ref < hi:
        length = words[ref + H_LEN]
        for j in range(ref + HEADER, ref + HEADER + length - 1):
            k = (np.int64(words[j]) << 32) | np.int64(words[j + 1])
            g = mix64(k) & mask
            while pkey[g] != -1 and pkey[g] != k:
                g = (g + np.uint64(1)) & mask
            if pkey[g] != -1 and last[g] != ref:
                last[g] = ref
                pool[at[g]] = ref
                at[g] += 1
        ref = _next_ref(words, ref + HEADER + length)


@nb.njit(cache=CACHE)
def _listed_in(pkey, key, listed):
    """For each pair of the table ``pkey``, the words holding it in one run's counting table
    (``key``, ``listed``: ``count_pairs``), 0 where the run does not hold it."""
    out = np.zeros(len(pkey), np.int64)
    for g in range(len(pkey)):
        if pkey[g] != -1:
            i = probe_int64(key, pkey[g])
            if key[i] != -1:
                out[g] = listed[i]
    return out


@nb.njit(cache=CACHE)
def _start_state(words, base_bytes, inherited, min_count, own, pkey, pcount, head, pool, used, hcount, hkey,
                 heap_size, dropped):
    """The training state from the pair table, the pool and the heap: the base tokens, then the
    ``inherited`` merges replayed as tokens."""
    n_base = len(base_bytes)
    tcap = 1024
    while tcap < 4 * (n_base + len(inherited)):
        tcap *= 2
    tlen = np.ones(tcap, np.int64)
    thash = np.zeros(tcap, np.uint64)
    tpow = np.zeros(tcap, np.uint64)
    tleft = np.full(tcap, -1, np.int64)
    tright = np.full(tcap, -1, np.int64)
    tbyte = np.zeros(tcap, np.uint8)
    twords = np.zeros(tcap, np.int64)
    for t in range(n_base):
        thash[t] = np.uint64(base_bytes[t]) + np.uint64(1)
        tpow[t] = HASH_BASE
        tbyte[t] = base_bytes[t]
        twords[t] = _byte_words(base_bytes[t])
    dslots = np.full(2 * tcap, -1, np.int64)
    merges_ = np.zeros((max(1024, len(inherited)), 3), np.int64)
    scal = np.zeros(18, np.int64)
    scal[N_TOKENS] = n_base
    scal[STAMP] = 1
    scal[WORDS_END] = len(words)
    scal[PENDING_SLOT] = -1
    scal[PAIRS_USED] = heap_size
    scal[HEAP_SIZE] = heap_size
    scal[POOL_USED] = used
    scal[MIN_COUNT] = min_count
    scal[DROPPED] = dropped
    ltab, lrows, glog, lscal = own
    state = (scal, merges_, words, pool, pkey, pcount, head, hcount, hkey, tlen, thash, tpow,
             tleft, tright, tbyte, twords, dslots, np.zeros(16, np.int64), ltab, lrows, glog, lscal)
    for k in range(len(inherited)):  # the tables have room for them all (no growth: no new state)
        new = _record_token(scal, merges_, tlen, thash, tpow, tleft, tright, tbyte, twords, dslots,
                            inherited[k, 0], inherited[k, 1])
        if new != inherited[k, 2]:
            raise ValueError("inherited merges must be given in the order learned, with their ids")
    return state


def init_pairs(words, base_bytes, inherited, min_count, own, n_parts=1, map_parts=map, keep_at_most=0):
    """The training state: every pair of ``words`` counted, those counted ``min_count`` times or
    more kept with a pool block listing their words, queued by count. ``inherited`` merges are
    replayed as tokens (see ``init_state``); ``own`` (an empty part) becomes the merge loop's.

    ``keep_at_most`` > 0 raises ``min_count`` (the state's floor, ``floor_of``) to the count of
    the ``keep_at_most``-th most frequent pair, so that only about that many are kept (see
    ``refill``). A first pass then sums the pairs' occurrences in at most ``SKETCH_BUCKETS`` buckets
    (``sketch_pairs``), and the count skips the pairs whose bucket sums less than the
    (2 * ``keep_at_most``)-th fullest one: its tables hold some 2 * ``keep_at_most`` pairs, not
    every pair (SuperBPE's stage 2 has millions). Every pair counted at least that sum is
    counted, so the floor is the same as with every pair counted whenever the ``keep_at_most``-th
    count reaches that sum, and that sum (a higher floor: ``refill`` comes sooner) when it does not.
    The words may come from a state (``refill``): what shrunk words freed is skipped.

    The passes over the words (sketch, count, list) are split into ``n_parts`` runs of words that
    ``map_parts`` (``map``, or a thread pool's ``map``: the passes release the GIL) runs.
    The state is the same for any ``n_parts`` but for where pairs sit in the table."""
    cuts = word_cuts(words, n_parts)
    passing = np.zeros(0, np.uint64)
    at_least = 0
    if keep_at_most > 0:
        sketch = _sketch(words, cuts, map_parts)
        at_least = _count_of_rank([sketch], 2 * keep_at_most)
        at_least = at_least if at_least > min_count else 0  # 0: count every pair
        passing = passing_buckets(sketch, at_least)
        del sketch
    counted = _each_run(count_pairs, words, cuts, map_parts, passing)
    dropped = any(skipped for _, _, _, skipped in counted)
    table_key, table_count, table_listed = counted[0][:3] if len(counted) == 1 else add_counted(counted)
    runs = [(key, listed) for key, _, listed, _ in counted]  # each run's words holding each pair
    del counted
    min_count = max(min_count, at_least)
    if keep_at_most > 0:
        min_count = max(min_count, _count_of_rank([table_count], keep_at_most))
    kept = _n_kept(table_count, min_count)
    cap = _table_size(kept)
    pkey, pcount, plisted = np.full(cap, -1, np.int64), np.zeros(cap, np.int64), np.zeros(cap, np.int32)
    dropped |= _keep(pkey, pcount, plisted, table_key, table_count, table_listed, min_count)
    del table_key, table_count, table_listed
    run_listed = [_listed_in(pkey, key, listed) for key, listed in runs]
    del runs
    head, pool, used, hcount, hkey, heap_size = _lay_out_pool(pkey, pcount, plisted, kept)
    del plisted
    at = head.astype(np.int64) + 2  # where each run's refs of each pair go: after the earlier runs'
    cursors = []
    for listed in run_listed:
        cursors.append(at.copy())
        at += listed
    del run_listed, at
    list(map_parts(lambda k: list_run(words, cuts[k], cuts[k + 1], pkey, cursors[k], pool), range(len(cuts) - 1)))
    return _start_state(words, np.asarray(base_bytes, np.int64), inherited, min_count, own, pkey, pcount, head,
                        pool, used, hcount, hkey, heap_size, dropped)


def _each_run(f, words, cuts, map_parts, *args):
    """``f(words, lo, hi, *args)`` for each run of words [lo, hi) between ``cuts`` (``map_parts`` runs them)."""
    return list(map_parts(lambda k: f(words, cuts[k], cuts[k + 1], *args), range(len(cuts) - 1)))


def _sketch(words, cuts, map_parts):
    """``sketch_pairs`` of all the words, summed from one run of words between ``cuts`` each
    (``map_parts``: the same sketch for any cuts), with about one bucket per two pairs the words
    can hold (``len(words)`` int32 at most), at least 1024 and at most ``SKETCH_BUCKETS`` (a power
    of two).

    >>> words = layout_words(np.array([0, 1, 0, 1, 2], np.int32), np.arange(3, dtype=np.int32),
    ...                      np.array([0, 2]), np.array([2, 3]), np.array([5, 1]))
    >>> bool((_sketch(words, word_cuts(words, 2), map) == sketch_pairs(words, 0, len(words), 1024)).all())
    True
    """
    n_buckets = min(max(1024, len(words) // 2), SKETCH_BUCKETS)
    n_buckets = 1 << (n_buckets.bit_length() - 1)
    sketches = _each_run(sketch_pairs, words, cuts, map_parts, n_buckets)
    for other in sketches[1:]:
        add_sketch(sketches[0], other)
    return sketches[0]


def _count_of_rank(counts, k):
    """The ``k``-th highest of the counts (arrays; 0 in an empty slot), or 1 if there are fewer.

    >>> _count_of_rank([np.array([5, 0, 2]), np.array([9, 2])], 3)
    2
    """
    every = np.concatenate([c[c > 0] for c in counts])
    if len(every) < k:
        return 1
    return int(np.partition(every, len(every) - k)[len(every) - k])


def refill(state, base_bytes, min_count, own, n_parts=1, map_parts=map, keep_at_most=0):
    """The state again from its own words, the pairs counted ``min_count`` times or more kept:
    for a state built with a floor above ``min_frequency`` (``init_pairs``' ``keep_at_most``)
    whose merging stopped at that floor (``merge_steps`` returns ``DONE``) short of the target.

    A floor leaves out the rarer pairs, which is exact while every merge chosen is counted at
    least the floor (a pair left out was counted less and never gains occurrences but through a
    merge reusing a token, which recounts; see the module's docstring). When the best pair left
    is under the floor, the rarer pairs are needed: counted again here, as at the start, from
    the words as merged so far; the merges so far stay the first merges, and training goes on.
    ``own`` (the state's own part, ``own_part``) becomes the new state's. ``keep_at_most`` > 0 raises
    the new floor as in ``init_pairs`` (about that many pairs kept; merging may reach it again)."""
    stamp = state[S_SCAL][STAMP]
    state = init_pairs(state[S_WORDS], base_bytes, merges(state), min_count, own, n_parts, map_parts, keep_at_most)
    state[S_SCAL][STAMP] = stamp  # the words keep the stamps of the merges so far
    return state


def floor_of(state) -> int:
    """The count under which pairs are left out of the state's table (``init_pairs``'s
    ``min_count``): ``merge_steps`` merges no pair counted less."""
    return int(state[S_SCAL][MIN_COUNT])


def init_state(syms, wstart, wlen, wcount, base_bytes, inherited=None, min_count=1):
    """Count all pairs and build the training state. ``base_bytes[i]`` is the byte of token i.

    ``inherited`` (int64 rows [left, right, new id], possibly none) are merges learned before,
    replayed as tokens only: ``syms`` must already be written with them (SuperBPE's stage 2 starts
    from the stage-1 encoding of its words); they stay the first merges of the state.
    ``min_count``: the ``min_frequency`` that ``merge_steps`` will be given.
    """
    syms = np.ascontiguousarray(syms, np.int32)
    words = layout_words(syms, np.arange(syms.max(initial=0) + 1, dtype=np.int32),
                         np.ascontiguousarray(wstart, np.int64), np.ascontiguousarray(wlen, np.int64),
                         np.ascontiguousarray(wcount, np.int64))
    inherited = np.zeros((0, 3), np.int64) if inherited is None else np.ascontiguousarray(inherited, np.int64)
    return init_pairs(words, np.asarray(base_bytes, np.int64), inherited, max(1, min_count), new_part())


@nb.njit(cache=CACHE)
def merges(state):
    """The merges learned so far as an int64 array of rows [left, right, new id]."""
    return state[S_MERGES][: state[S_SCAL][N_MERGES]]


@nb.njit(cache=CACHE, nogil=True)
def word_symbols(state, n_words):
    """The ``n_words`` words of the state (all of them) as their symbols now, in the order laid out:
    (symbols, bounds) -- once merging is done, the words written with every merge (see ``merges_reuse``).
    One pass over the words: the symbols are a view of an array sized for the words as laid out.

    >>> state = init_state(np.array([0, 1, 2, 0, 1], np.int32), np.array([0, 3]), np.array([3, 2]),
    ...                    np.array([3, 1]), np.arange(3, dtype=np.int64))
    >>> state, _ = merge_steps(state, 1, 4, 1, 0, 0)             # a + b -> 3
    >>> [s.tolist() for s in word_symbols(state, 2)]
    [[3, 2, 3], [0, 2, 3]]
    """
    words = state[S_WORDS]
    symbols = np.empty(max(state[S_SCAL][WORDS_END] - HEADER * n_words, 0), np.int32)
    bounds = np.zeros(n_words + 1, np.int64)
    ref = _next_ref(words, 0)
    at = 0
    for w in range(n_words):
        n = words[ref + H_LEN]
        for k in range(ref + HEADER, ref + HEADER + n):
            symbols[at] = words[k]
            at += 1
        bounds[w + 1] = at
        ref = _next_ref(words, ref + HEADER + n)
    return symbols[:at], bounds


@nb.njit(cache=CACHE)
def merges_reuse(state):
    """Whether a merge so far yielded a token that was there before (the string of an existing
    token). Without such a merge, the words as merging wrote them (``word_symbols``) are their
    encoding by the merges in rank order, as ``bpe_encode`` applies them: every pair a merge forms
    holds its new token, whose merges all rank later."""
    rows = merges(state)
    for r in range(1, len(rows)):
        if rows[r, 2] <= rows[r - 1, 2]:
            return True
    return False


def n_tokens(state) -> int:
    """How many tokens (base + learned) there are so far."""
    return int(state[S_SCAL][N_TOKENS])


@nb.njit(cache=CACHE)
def best_count_left(state):
    """The highest count of a pair left (0 if none); exact even with pairs left out of the
    table (then by a pass over all words)."""
    best = 0
    for c in state[S_PCOUNT]:
        best = max(best, c)
    if state[S_SCAL][DROPPED]:
        for c in count_pairs(state[S_WORDS], 0, len(state[S_WORDS]), np.zeros(0, np.uint64))[1]:
            best = max(best, c)
    return best


@nb.njit(cache=CACHE)
def _lists_at_least(pool, block, n):
    """Whether a pair's chain lists ``n`` word refs or more (duplicates and stale refs included;
    an ``UNLISTED`` pair lists every word)."""
    if block == UNLISTED:
        return True
    while block != -1 and n > 0:
        n -= pool[block + 1]
        block = pool[block]
    return n <= 0


@nb.njit(cache=CACHE, nogil=True)
def merge_steps(state, max_steps, target_tokens, min_frequency, max_token_length, max_words, heavy=0):
    """Do up to ``max_steps`` merges; stop early once there are ``target_tokens`` tokens,
    no pair is left, or the best count is below ``min_frequency`` (at least the ``min_count``
    the state was built with).
    ``max_token_length`` > 0 forbids merges whose result is longer (in bytes), ``max_words`` > 0
    those whose result holds more words (runs of bytes other than ASCII whitespace).
    ``heavy`` > 0: a merge whose pair lists at least that many words is chosen and recorded but
    left pending (its words not rewritten): finish it with ``merge_part``, ``apply_part`` and
    ``end_merge``. Returns (state, MORE | DONE | PENDING)."""
    if min_frequency < state[S_SCAL][MIN_COUNT]:
        raise ValueError("min_frequency is below the min_count the state was built with")
    steps = 0
    while steps < max_steps:
        scal = state[S_SCAL]
        pkey, pcount, hcount, hkey, tlen = state[S_PKEY], state[S_PCOUNT], state[S_HCOUNT], state[S_HKEY], state[S_TLEN]
        if scal[N_TOKENS] >= target_tokens or scal[HEAP_SIZE] == 0:
            return state, DONE
        count, key, scal[HEAP_SIZE] = heap_pop(hcount, hkey, scal[HEAP_SIZE])
        slot = probe_int64(pkey, key)
        current = pcount[slot]
        if count != current:  # stale entry: re-queue with the true count
            if current > 0:
                scal[HEAP_SIZE] = heap_push(hcount, hkey, scal[HEAP_SIZE], current, key)
            continue
        if current < 1 or current < min_frequency:
            return state, DONE
        a = key >> 32
        b = key & LOW32
        if max_token_length > 0 and tlen[a] + tlen[b] > max_token_length:
            continue  # never merged; dropped from the queue
        if max_words > 0 and (_joined_words(state[S_TWORDS], a, b) >> WORD_SHIFT) > max_words:
            continue
        steps += 1
        tokens_before = scal[N_TOKENS]
        state, new = _token_for(state, a, b)
        scal[STAMP] += 1
        scal[PENDING_SLOT] = slot
        scal[PENDING_A] = a
        scal[PENDING_B] = b
        scal[PENDING_NEW] = new
        scal[PENDING_REUSES] = scal[N_TOKENS] == tokens_before
        scal[PARTS_APPLIED] = 0
        scal[ONE_PART] = 0
        if heavy > 0 and _lists_at_least(state[S_POOL], state[S_PHEAD][slot], heavy):
            return state, PENDING
        scal[ONE_PART] = 1
        part = merge_part(state, state[S_LTAB:], 0, scal[WORDS_END])
        state = end_merge(apply_part(state[:S_LTAB] + part, part), part)
    return state, MORE
