"""Unigram lattice kernels: a byte trie of the pieces, forward-backward, Viterbi, n-best and
the loss of removing a piece (numba, arrays only).

A word's lattice has one node per byte position 0..n and one edge ``(s, e, piece)`` for every
piece equal to ``word[s:e]``. A segmentation is a path 0 -> n; its score is the sum of its
pieces' scores (log probabilities), added left to right.

Edges are visited by increasing start, then increasing length (the trie walk order). Viterbi
keeps, for each end position, the first edge whose path score is strictly larger than the
best so far: among equal scores the path whose last piece starts earliest wins, recursively.
This is Hugging Face tokenizers' Unigram ``encode_optimized`` (same order, same float sums).
The module is long because it is one concept: every Unigram computation walks this lattice
through the same trie and edge helpers.

The trie is an open-addressing hash of ``parent_node * 256 + byte`` -> (child node, piece
ending there); the nodes of the first two bytes are also in a direct table, and the longest
piece's length is kept: these three are "the trie" the other kernels take. Example::

    >>> import numpy as np
    >>> pieces = [b"a", b"b", b"ab"]
    >>> arena = np.frombuffer(b"".join(pieces), np.uint8)
    >>> trie = build_trie(arena, np.array([0, 1, 2, 4]), np.arange(3, dtype=np.int32))
    >>> scores = np.log(np.array([0.2, 0.2, 0.6]))
    >>> ids, bounds = viterbi_words(np.frombuffer(b"abba", np.uint8), np.array([0, 4]), *trie, scores, -1)
    >>> [pieces[i] for i in ids]
    [b'ab', b'b', b'a']
    >>> edges = lattice_edges(np.frombuffer(b"ab", np.uint8), np.array([0, 2]), *trie, np.empty(0, np.int32))
    >>> expected, logz = forward_backward(np.array([0, 2]), np.array([1]), *edges, scores)
    >>> expected.round(3).tolist()                 # P(a b) = .04 / (.04 + .6)
    [0.062, 0.062, 0.938]
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE
from .hashtable import mix64
from .spans import longest_span, utf8_length
from .util import grown

NEG_INF = -np.inf


@nb.njit(cache=CACHE, inline="always")
def _find(slots, key):
    """Row of ``key`` in ``slots`` or of the empty row where it would go (linear probing)."""
    mask = len(slots) - 1
    i = np.int64(mix64(key) & np.uint64(mask))
    while True:
        k = slots[i, 0]
        if k == key or k == -1:
            return i
        i = (i + 1) & mask


@nb.njit(cache=CACHE)
def _rehashed(slots, cap):
    out = np.full((cap, 2), -1, np.int64)
    for i in range(len(slots)):
        if slots[i, 0] != -1:
            row = _find(out, slots[i, 0])
            out[row, 0] = slots[i, 0]
            out[row, 1] = slots[i, 1]
    return out


@nb.njit(cache=CACHE)
def build_trie(arena, offsets, piece_ids):
    """Trie of the pieces ``arena[offsets[p]:offsets[p+1]]``: (slots, near, longest).

    ``slots[i] = (parent * 256 + byte, child node << 32 | piece + 1)`` (key -1: empty; piece + 1
    = 0: no piece ends at the child), so one probe gives both the child and its piece;
    ``near`` holds the same payload for the nodes of the first one and two bytes (-1: none).
    A node ending piece ``p`` stores ``piece_ids[p]``; empty pieces are ignored and the first of
    two equal pieces wins.
    """
    cap = 64
    while cap < (offsets[-1] - offsets[0]) // 2:  # pieces share prefixes: nodes are often ~1/3 of the bytes
        cap *= 2
    slots = np.full((cap, 2), -1, np.int64)
    n_nodes = 1
    for p in range(len(offsets) - 1):
        node = 0
        row = -1
        if 2 * (n_nodes + offsets[p + 1] - offsets[p]) > len(slots):  # keep the load under 1/2
            slots = _rehashed(slots, 2 * len(slots))
        for k in range(offsets[p], offsets[p + 1]):
            key = np.int64(node) * 256 + arena[k]
            row = _find(slots, key)
            if slots[row, 0] == -1:
                slots[row, 0] = key
                slots[row, 1] = np.int64(n_nodes) << 32
                node = n_nodes
                n_nodes += 1
            else:
                node = slots[row, 1] >> 32
        if row >= 0 and (slots[row, 1] & 0xFFFFFFFF) == 0:
            slots[row, 1] |= np.int64(piece_ids[p]) + 1
    near = np.full(256 + 65536, -1, np.int64)
    longest = 0
    for p in range(len(offsets) - 1):
        n = offsets[p + 1] - offsets[p]
        longest = max(longest, n)
        if n >= 1:
            b0 = arena[offsets[p]]
            row = _find(slots, np.int64(b0))
            near[b0] = slots[row, 1]
            if n >= 2:
                b1 = arena[offsets[p] + 1]
                row = _find(slots, (slots[row, 1] >> 32) * 256 + b1)
                near[256 + 256 * np.int64(b0) + b1] = slots[row, 1]
    return slots, near, np.int64(longest)


@nb.njit(cache=CACHE)
def _edges(buf, start, end, slots, near, e_start, e_end, e_id, m, unk):
    """Write the edges of the lattice of ``buf[start:end]`` (positions relative to ``start``),
    ordered by start then length, from index ``m`` on; return the index after the last.

    ``unk`` >= 0 (byte fallback; ``buf`` valid UTF-8): at each character start that no piece
    covers alone, an edge over the character with piece ``unk``, after that start's other edges:
    Hugging Face's Unigram lattice with an unknown token."""
    n = end - start
    for s in range(n):
        width = 0
        if unk >= 0:
            if (buf[start + s] & 0xC0) == 0x80:
                continue  # inside a character: whole-character pieces never start here
            width = min(utf8_length(buf[start + s]), n - s)
        payload = np.int64(0)
        for k in range(start + s, end):
            if k == start + s:
                payload = near[buf[k]]
            elif k == start + s + 1:
                payload = near[256 + 256 * np.int64(buf[k - 1]) + buf[k]]
            else:
                row = _find(slots, (payload >> 32) * 256 + buf[k])
                payload = slots[row, 1]
            if payload < 0:
                break
            p = (payload & 0xFFFFFFFF) - 1
            if p >= 0:
                e_start[m] = s
                e_end[m] = k - start + 1
                e_id[m] = p
                m += 1
                if k - start - s + 1 == width:
                    width = 0  # a piece covers the character alone
        if width > 0:
            e_start[m] = s
            e_end[m] = s + width
            e_id[m] = unk
            m += 1
    return m


@nb.njit(cache=CACHE, nogil=True)
def lattice_edges(buf, bounds, slots, near, longest_piece, positions):
    """The lattices of the words ``buf[bounds[j]:bounds[j+1]]``: (e_start, e_end, e_id,
    e_offsets); word j's edges are ``e_offsets[j]:e_offsets[j+1]``, ordered by start then
    length, with positions relative to the word of the dtype of ``positions`` (an empty array:
    uint16 saves memory when no word is longer than 65535 bytes). Training builds them once
    and then only removes the edges of dropped pieces (``filter_edges``): the vocabulary only
    shrinks."""
    n_words = len(bounds) - 1
    cap = max(16, 3 * (bounds[-1] - bounds[0]))
    e_start = np.empty(cap, positions.dtype)
    e_end = np.empty(cap, positions.dtype)
    e_id = np.empty(cap, np.int32)
    e_offsets = np.zeros(n_words + 1, np.int64)
    m = 0
    for w in range(n_words):
        n = bounds[w + 1] - bounds[w]
        need = m + n * min(max(1, longest_piece), n)
        if need > cap:
            cap = max(2 * cap, need)
            e_start = grown(e_start, cap)
            e_end = grown(e_end, cap)
            e_id = grown(e_id, cap)
        m = _edges(buf, bounds[w], bounds[w + 1], slots, near, e_start, e_end, e_id, m, -1)
        e_offsets[w + 1] = m
    return e_start[:m].copy(), e_end[:m].copy(), e_id[:m].copy(), e_offsets


@nb.njit(cache=CACHE, nogil=True)
def filter_edges(e_start, e_end, e_id, e_offsets, new_id):
    """Drop (in place) the edges of pieces with ``new_id[p] < 0`` and renumber the others;
    return the number of edges left (the arrays' valid prefix; ``e_offsets`` is updated)."""
    m = 0
    for w in range(len(e_offsets) - 1):
        lo = e_offsets[w]
        hi = e_offsets[w + 1]
        e_offsets[w] = m
        for k in range(lo, hi):
            q = new_id[e_id[k]]
            if q >= 0:
                e_start[m] = e_start[k]
                e_end[m] = e_end[k]
                e_id[m] = q
                m += 1
    e_offsets[len(e_offsets) - 1] = m
    return m


@nb.njit(cache=CACHE, inline="always")
def _lse_add(m, acc, e, x):
    """Add exp(x) to the running log-sum-exp of position e kept as max ``m[e]`` and ``acc[e]`` =
    sum of exp(. - m[e]): one exp per term, one log when the position is read."""
    if x > m[e]:
        acc[e] = acc[e] * np.exp(m[e] - x) + 1.0
        m[e] = x
    else:
        acc[e] += np.exp(x - m[e])


@nb.njit(cache=CACHE, nogil=True)
def forward_backward(bounds, counts, e_start, e_end, e_id, e_offsets, scores):
    """Expected piece counts over the words of lengths ``bounds[j+1] - bounds[j]`` with the
    lattices ``e_*`` (from ``lattice_edges``), word j weighted by ``counts[j]``, under the unigram
    model ``scores``: (expected[len(scores)], sum of ``counts[j] * log Z_j``). A word with no
    segmentation contributes nothing."""
    expected = np.zeros(len(scores), np.float64)
    total = 0.0
    longest = longest_span(bounds)
    alpha = np.empty(longest + 1, np.float64)
    beta = np.empty(longest + 1, np.float64)
    acc = np.empty(longest + 1, np.float64)
    for w in range(len(bounds) - 1):
        n = bounds[w + 1] - bounds[w]
        lo = e_offsets[w]
        hi = e_offsets[w + 1]
        # forward: alpha[e] = log sum over edges (s, e) of exp(alpha[s] + score); edges come by
        # start, so alpha[s] is complete when its first outgoing edge is reached
        for i in range(n + 1):
            alpha[i] = NEG_INF
            acc[i] = 0.0
        alpha[0] = 0.0
        acc[0] = 1.0
        last = -1
        for k in range(lo, hi):
            s = e_start[k]
            if s != last:
                alpha[s] = alpha[s] + np.log(acc[s]) if acc[s] > 0.0 else NEG_INF
                last = s
            if alpha[s] != NEG_INF:
                _lse_add(alpha, acc, e_end[k], alpha[s] + scores[e_id[k]])
        z = alpha[n] + np.log(acc[n]) if acc[n] > 0.0 else NEG_INF
        if z == NEG_INF:
            continue
        # backward: beta[s] = log sum over edges (s, e) of exp(score + beta[e]); the edges of one
        # start are consecutive, and later starts are done first
        for i in range(n + 1):
            beta[i] = NEG_INF
        beta[n] = 0.0
        k = hi - 1
        while k >= lo:
            s = e_start[k]
            j = k
            top = NEG_INF
            while j >= lo and e_start[j] == s:
                x = scores[e_id[j]] + beta[e_end[j]]
                if x > top:
                    top = x
                j -= 1
            if top != NEG_INF:
                sum_ = 0.0
                for i in range(j + 1, k + 1):
                    sum_ += np.exp(scores[e_id[i]] + beta[e_end[i]] - top)
                beta[s] = top + np.log(sum_)
            k = j
        c = counts[w]
        total += c * z
        for k in range(lo, hi):
            a = alpha[e_start[k]]
            b = beta[e_end[k]]
            if a != NEG_INF and b != NEG_INF:
                expected[e_id[k]] += c * np.exp(a + scores[e_id[k]] + b - z)
    return expected, total


@nb.njit(cache=CACHE)
def _viterbi_dp(n, e_start, e_end, e_id, lo, hi, scores, skip_piece, best, back_start, back_id):
    """Viterbi over the edges ``lo:hi`` of a word of ``n`` bytes, leaving out the edge covering
    the whole word with piece ``skip_piece`` (-1: none); False when no path exists."""
    for i in range(n + 1):
        best[i] = NEG_INF
        back_start[i] = -1
    best[0] = 0.0
    back_start[0] = 0
    for k in range(lo, hi):
        s = e_start[k]
        e = e_end[k]
        p = e_id[k]
        if back_start[s] < 0 or (s == 0 and e == n and p == skip_piece):
            continue
        cand = best[s] + scores[p]
        if back_start[e] < 0 or cand > best[e]:
            best[e] = cand
            back_start[e] = s
            back_id[e] = p
    return n == 0 or back_start[n] >= 0


@nb.njit(cache=CACHE)
def _viterbi_word(buf, start, end, slots, near, scores, unk, skip_piece,
                  e_start, e_end, e_id, best, back_start, back_id, out, out_pos):
    """Viterbi path of ``buf[start:end]`` written to ``out[out_pos:]``; returns (number of pieces,
    path score), or (-1, -inf) when no path exists. The edge covering the whole word with piece
    ``skip_piece`` is left out (-1: none); ``unk``: see ``_edges``."""
    n = end - start
    m = _edges(buf, start, end, slots, near, e_start, e_end, e_id, 0, unk)
    if not _viterbi_dp(n, e_start, e_end, e_id, 0, m, scores, skip_piece, best, back_start, back_id):
        return -1, NEG_INF
    count = 0
    e = n
    while e > 0:
        count += 1
        e = back_start[e]
    e = n
    j = out_pos + count - 1
    while e > 0:
        out[j] = back_id[e]
        j -= 1
        e = back_start[e]
    return count, best[n]


@nb.njit(cache=CACHE)
def edge_buffers(longest, longest_piece):
    """(start, end, piece id) scratch arrays for the lattice of one word of up to ``longest`` bytes,
    whose edges are at most ``longest_piece`` bytes long."""
    cap = longest * min(max(1, longest_piece), longest)
    return np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64)


@nb.njit(cache=CACHE)
def _viterbi_buffers(bounds, longest_piece):
    """Scratch for Viterbi over the words ``bounds``: ids (at most one per byte), id bounds, edges,
    best score, back pointers."""
    ids = np.empty(max(1, bounds[-1] - bounds[0]), np.int64)
    id_bounds = np.zeros(len(bounds), np.int64)
    longest = longest_span(bounds)
    e_start, e_end, e_id = edge_buffers(longest, longest_piece)
    best = np.empty(longest + 1, np.float64)
    return (ids, id_bounds, e_start, e_end, e_id, best, np.empty(longest + 1, np.int64),
            np.empty(longest + 1, np.int64))


@nb.njit(cache=CACHE, nogil=True)
def viterbi_words(buf, bounds, slots, near, longest_piece, scores, unk):
    """Best segmentation of each word ``buf[bounds[j]:bounds[j+1]]``: (piece ids, id bounds per
    word). A word without any segmentation gets no ids and id bound -1 (the caller reports it).
    ``unk`` >= 0: byte fallback (see ``_edges``; ``scores[unk]`` is the unknown character's score,
    and ``expand_unknown`` turns the ``unk`` ids into byte tokens)."""
    n_words = len(bounds) - 1
    ids, id_bounds, e_start, e_end, e_id, best, back_start, back_id = _viterbi_buffers(bounds, longest_piece)
    out = 0
    for w in range(n_words):
        count, _ = _viterbi_word(buf, bounds[w], bounds[w + 1], slots, near, scores,
                                 unk, -1, e_start, e_end, e_id, best, back_start, back_id, ids, out)
        if count < 0:
            id_bounds[w + 1] = -1
            return ids[:out], id_bounds
        out += count
        id_bounds[w + 1] = out
    return ids[:out], id_bounds


@nb.njit(cache=CACHE, nogil=True)
def expand_unknown(ids, id_bounds, buf, starts, lengths, unk, byte_base):
    """Byte fallback: segment j (``ids[id_bounds[j]:id_bounds[j+1]]``, the pieces of the text from
    ``buf[starts[j]]`` on, piece p ``lengths[p]`` bytes long) with each ``unk`` id replaced by the
    ids ``byte_base + b`` of its character's bytes. Example (piece 0 = "a", unk 9, é unknown)::

        >>> ids, bounds = expand_unknown(np.array([0, 9, 0]), np.array([0, 3]), np.frombuffer("aéa".encode(), np.uint8),
        ...                              np.array([0]), np.array([1]), 9, 100)
        >>> ids.tolist(), bounds.tolist()                   # a, 100 + 0xC3, 100 + 0xA9, a
        ([0, 295, 269, 0], [0, 4])
    """
    out = np.empty(4 * len(ids), np.int64)  # a character has at most 4 bytes
    out_bounds = np.zeros(len(id_bounds), np.int64)
    k = 0
    for j in range(len(id_bounds) - 1):
        pos = starts[j]
        for q in range(id_bounds[j], id_bounds[j + 1]):
            if ids[q] == unk:
                width = utf8_length(buf[pos])
                for b in range(width):
                    out[k] = byte_base + buf[pos + b]
                    k += 1
                pos += width
            else:
                out[k] = ids[q]
                k += 1
                pos += lengths[ids[q]]
        out_bounds[j + 1] = k
    out = out[:k].copy()
    return out, out_bounds


@nb.njit(cache=CACHE, nogil=True)
def viterbi_counts(bounds, counts, e_start, e_end, e_id, e_offsets, scores):
    """How often each piece is on the Viterbi path of the words (lattices from
    ``lattice_edges``), weighted by ``counts``: (piece counts, sum of ``counts[j] *`` path score)."""
    freq = np.zeros(len(scores), np.float64)
    loglik = 0.0
    longest = longest_span(bounds)
    best = np.empty(longest + 1, np.float64)
    back_start = np.empty(longest + 1, np.int64)
    back_id = np.empty(longest + 1, np.int64)
    for w in range(len(bounds) - 1):
        n = bounds[w + 1] - bounds[w]
        if not _viterbi_dp(n, e_start, e_end, e_id, e_offsets[w], e_offsets[w + 1], scores, -1,
                           best, back_start, back_id):
            continue
        c = counts[w]
        loglik += c * best[n]
        e = n
        while e > 0:
            freq[back_id[e]] += c
            e = back_start[e]
    return freq, loglik


@nb.njit(cache=CACHE, nogil=True)
def alternatives(arena, offsets, first_id, slots, near, longest_piece, scores):
    """For each piece ``arena[offsets[p]:offsets[p+1]]``, which has id ``first_id + p`` in the trie:
    the best segmentation of its bytes that does not use that piece itself.

    Returns (alt ids, alt bounds, alt score per piece); piece p's alternative is
    ``alt_ids[alt_bounds[p]:alt_bounds[p+1]]``, empty with score -inf when there is none.
    """
    n_pieces = len(offsets) - 1
    longest = longest_span(offsets)
    cap = longest * longest
    e_start = np.empty(cap, np.int64)
    e_end = np.empty(cap, np.int64)
    e_id = np.empty(cap, np.int64)
    best = np.empty(longest + 1, np.float64)
    back_start = np.empty(longest + 1, np.int64)
    back_id = np.empty(longest + 1, np.int64)
    alt_ids = np.empty(max(1, offsets[-1] - offsets[0]), np.int64)
    alt_bounds = np.zeros(n_pieces + 1, np.int64)
    alt_score = np.empty(n_pieces, np.float64)
    out = 0
    for p in range(n_pieces):
        count, score = _viterbi_word(arena, offsets[p], offsets[p + 1], slots, near,
                                     scores, -1, first_id + p, e_start, e_end, e_id, best, back_start, back_id,
                                     alt_ids, out)
        if count < 0:
            count = 0
        out += count
        alt_bounds[p + 1] = out
        alt_score[p] = score
    return alt_ids[:out], alt_bounds, alt_score


@nb.njit(cache=CACHE)
def removal_loss(freq, alt_ids, alt_bounds, total_words):
    """sentencepiece's approximate loss of the corpus log-likelihood when piece p is removed and
    its Viterbi occurrences ``freq[p]`` are replaced by its alternative pieces:
    ``F * (log P(p) - sum log P'(alt))`` with ``F = freq[p] / total_words``, ``P`` the Viterbi
    frequencies normalized and ``P'`` the same after moving ``freq[p]`` onto the alternatives.
    Pieces with no occurrence or no alternative get loss 0 and +inf respectively.

    >>> removal_loss(np.array([2.0, 2.0, 4.0]), np.array([0, 1]), np.array([0, 0, 0, 2]), 8.0).round(4).tolist()
    [inf, inf, 0.3466]
    """
    n = len(freq)
    total = 0.0
    for p in range(n):
        total += freq[p]
    loss = np.zeros(n, np.float64)
    if total <= 0:
        return loss
    logsum = np.log(total)
    for p in range(n):
        k = alt_bounds[p + 1] - alt_bounds[p]
        if k == 0:
            loss[p] = np.inf
            continue
        f = freq[p]
        if f <= 0:
            continue
        logprob_sp = np.log(f) - logsum
        logsum_alt = np.log(total + f * (k - 1))
        logprob_alt = 0.0
        for j in range(alt_bounds[p], alt_bounds[p + 1]):
            logprob_alt += np.log(freq[alt_ids[j]] + f) - logsum_alt
        loss[p] = f / total_words * (logprob_sp - logprob_alt)
    return loss


@nb.njit(cache=CACHE)
def nbest_word(buf, slots, near, longest_piece, scores, unk, n_best):
    """The ``n_best`` best segmentations of ``buf`` (uint8), best first: (piece ids, bounds per
    path, path scores). Equal scores are ordered as Viterbi breaks ties (the path whose last
    piece starts earliest first, recursively), so the first path is the Viterbi path.

    >>> trie = build_trie(np.frombuffer(b"abab", np.uint8), np.array([0, 1, 2, 4]),
    ...                   np.arange(3, dtype=np.int32))
    >>> ids, bounds, sc = nbest_word(np.frombuffer(b"ab", np.uint8), *trie, np.array([-1.0, -1.0, -3.0]), -1, 5)
    >>> ids.tolist(), bounds.tolist(), sc.tolist()
    ([0, 1, 2], [0, 2, 3], [-2.0, -3.0])
    """
    n = len(buf)
    cap = max(1, n * min(max(1, longest_piece), n))
    e_start = np.empty(cap, np.int64)
    e_end = np.empty(cap, np.int64)
    e_id = np.empty(cap, np.int64)
    m = _edges(buf, 0, n, slots, near, e_start, e_end, e_id, 0, unk)
    k_max = max(1, n_best)
    score = np.full((n + 1, k_max), NEG_INF)
    from_pos = np.full((n + 1, k_max), -1, np.int64)
    from_rank = np.zeros((n + 1, k_max), np.int64)
    piece = np.zeros((n + 1, k_max), np.int64)
    filled = np.zeros(n + 1, np.int64)
    score[0, 0] = 0.0
    filled[0] = 1
    for k in range(m):
        s = e_start[k]
        e = e_end[k]
        p = e_id[k]
        for r in range(filled[s]):
            cand = score[s, r] + scores[p]
            f = filled[e]
            # insert after every entry with a score >= cand (earlier candidates win ties)
            pos = f
            while pos > 0 and score[e, pos - 1] < cand:
                pos -= 1
            if pos >= k_max:
                break  # the next ranks at s are no better
            last = min(f, k_max - 1)
            for q in range(last, pos, -1):
                score[e, q] = score[e, q - 1]
                from_pos[e, q] = from_pos[e, q - 1]
                from_rank[e, q] = from_rank[e, q - 1]
                piece[e, q] = piece[e, q - 1]
            score[e, pos] = cand
            from_pos[e, pos] = s
            from_rank[e, pos] = r
            piece[e, pos] = p
            filled[e] = min(f + 1, k_max)
    n_paths = filled[n] if n_best > 0 else 0
    if n == 0:
        n_paths = min(1, n_best)
    lengths = np.zeros(n_paths, np.int64)
    for r in range(n_paths):
        e, q = n, r
        while e > 0:
            lengths[r] += 1
            e, q = from_pos[e, q], from_rank[e, q]
    bounds = np.zeros(n_paths + 1, np.int64)
    for r in range(n_paths):
        bounds[r + 1] = bounds[r] + lengths[r]
    ids = np.empty(bounds[n_paths], np.int64)
    path_scores = np.empty(n_paths, np.float64)
    for r in range(n_paths):
        path_scores[r] = score[n, r]
        j = bounds[r + 1] - 1
        e, q = n, r
        while e > 0:
            ids[j] = piece[e, q]
            j -= 1
            e, q = from_pos[e, q], from_rank[e, q]
    return ids, bounds, path_scores
