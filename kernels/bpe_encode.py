"""BPE encoding of pretokenized words with ranked merges.

Each word starts as its byte tokens; the adjacent pair with the lowest merge rank is merged,
all its occurrences left to right, until no adjacent pair has a merge. This is the result of
HF tokenizers' BPE model (with ``ignore_merges`` false) and of tiktoken.

The merge table is an open-addressing hash of pair keys ``(left << 32) | right``. Example::

    >>> import numpy as np
    >>> byte_ids = np.arange(256, dtype=np.int64)              # byte b has id b
    >>> keys = np.array([(97 << 32) | 98, (256 << 32) | 99])     # a+b -> 256, ab+c -> 257
    >>> table = build_merge_table(keys, np.array([256, 257]))
    >>> ids, bounds = encode_words(np.frombuffer(b"abcab", np.uint8), np.array([0, 3, 5]),
    ...                            byte_ids, *table)
    >>> ids.tolist(), bounds.tolist()
    ([257, 256], [0, 1, 2])
"""
import numba as nb
import numpy as np

from .hashtable import probe_int64

NO_RANK = np.int64(1 << 62)


@nb.njit(cache=True)
def build_merge_table(keys, results):
    """Hash table of merges: ``keys[r]`` is merge rank r's pair key, ``results[r]`` its token.
    Returns (slot keys, slot ranks, slot results); the first rank of a repeated pair wins."""
    cap = 8
    while cap < 2 * len(keys) + 2:
        cap *= 2
    slot_keys = np.full(cap, -1, np.int64)
    slot_ranks = np.zeros(cap, np.int64)
    slot_results = np.zeros(cap, np.int64)
    for r in range(len(keys)):
        i = probe_int64(slot_keys, keys[r])
        if slot_keys[i] == -1:
            slot_keys[i] = keys[r]
            slot_ranks[i] = r
            slot_results[i] = results[r]
    return slot_keys, slot_ranks, slot_results


@nb.njit(cache=True, inline="always")
def _rank(slot_keys, slot_ranks, a, b):
    i = probe_int64(slot_keys, (a << 32) | b)
    if slot_keys[i] == -1:
        return NO_RANK, i
    return slot_ranks[i], i


@nb.njit(cache=True, nogil=True)
def encode_words(buf, bounds, byte_ids, slot_keys, slot_ranks, slot_results):
    """Encode the words ``buf[bounds[j]:bounds[j+1]]``; returns (ids, id bounds per word)."""
    n_words = len(bounds) - 1
    ids = np.empty(len(buf), np.int64)  # BPE never produces more ids than bytes
    id_bounds = np.zeros(n_words + 1, np.int64)
    out = 0
    longest = 1
    for w in range(n_words):
        longest = max(longest, bounds[w + 1] - bounds[w])
    work = np.empty(longest, np.int64)
    for w in range(n_words):
        start = bounds[w]
        n = bounds[w + 1] - start
        for k in range(n):
            work[k] = byte_ids[buf[start + k]]
        while n > 1:
            best = NO_RANK
            best_slot = -1
            for k in range(n - 1):
                r, slot = _rank(slot_keys, slot_ranks, work[k], work[k + 1])
                if r < best:
                    best = r
                    best_slot = slot
            if best == NO_RANK:
                break
            a = slot_keys[best_slot] >> 32
            b = slot_keys[best_slot] & 0xFFFFFFFF
            new = slot_results[best_slot]
            j = 0
            k = 0
            while k < n:
                if k + 1 < n and work[k] == a and work[k + 1] == b:
                    work[j] = new
                    k += 2
                else:
                    work[j] = work[k]
                    k += 1
                j += 1
            n = j
        for k in range(n):
            ids[out + k] = work[k]
        out += n
        id_bounds[w + 1] = out
    return ids[:out], id_bounds
