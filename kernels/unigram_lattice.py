"""Unigram lattice kernels: a byte trie of the pieces, forward-backward, Viterbi, n-best and
the loss of removing a piece (numba, arrays only).

A word's lattice has one node per byte position 0..n and one edge ``(s, e, piece)`` for every
piece equal to ``word[s:e]``. A segmentation is a path 0 -> n; its score is the sum of its
pieces' scores (log probabilities), added left to right.

Edges are visited by increasing start, then increasing length (the trie walk order). Viterbi
keeps, for each end position, the first edge whose path score is strictly larger than the
best so far: among equal scores the path whose last piece starts earliest wins, recursively.
This is Hugging Face tokenizers' Unigram ``encode_optimized`` (same order, same float sums).

The trie is an open-addressing hash of ``parent_node * 256 + byte`` -> child node (root 0);
``node_piece[node]`` is the piece ending there or -1. Example::

    >>> import numpy as np
    >>> pieces = [b"a", b"b", b"ab"]
    >>> arena = np.frombuffer(b"".join(pieces), np.uint8)
    >>> trie = build_trie(arena, np.array([0, 1, 2, 4]), np.arange(3, dtype=np.int32))
    >>> scores = np.log(np.array([0.2, 0.2, 0.6]))
    >>> ids, bounds = viterbi_words(np.frombuffer(b"abba", np.uint8), np.array([0, 4]), *trie, scores)
    >>> [pieces[i] for i in ids]
    [b'ab', b'b', b'a']
    >>> expected, logz = forward_backward(np.frombuffer(b"ab", np.uint8), np.array([0, 2]),
    ...                                   np.array([1]), *trie, scores)
    >>> expected.round(3).tolist()                 # P(a b) = .04 / (.04 + .6)
    [0.062, 0.062, 0.938]
"""
import numba as nb
import numpy as np

from .hashtable import probe_int64

NEG_INF = -np.inf


@nb.njit(cache=True)
def build_trie(arena, offsets, piece_ids):
    """Trie of the pieces ``arena[offsets[p]:offsets[p+1]]``: (slot keys, slot children, node
    piece). A node ending piece ``p`` stores ``piece_ids[p]``; empty pieces are ignored and the
    first of two equal pieces wins."""
    total = offsets[-1]
    cap = 8
    while cap < 2 * (total + 1):
        cap *= 2
    slot_keys = np.full(cap, -1, np.int64)
    slot_child = np.zeros(cap, np.int32)
    node_piece = np.full(total + 1, -1, np.int32)
    n_nodes = 1
    for p in range(len(offsets) - 1):
        node = 0
        for k in range(offsets[p], offsets[p + 1]):
            key = np.int64(node) * 256 + arena[k]
            i = probe_int64(slot_keys, key)
            if slot_keys[i] == -1:
                slot_keys[i] = key
                slot_child[i] = n_nodes
                node = n_nodes
                n_nodes += 1
            else:
                node = slot_child[i]
        if node != 0 and node_piece[node] == -1:
            node_piece[node] = piece_ids[p]
    return slot_keys, slot_child, node_piece[:n_nodes].copy()


@nb.njit(cache=True, inline="always")
def _child(slot_keys, slot_child, node, byte):
    key = np.int64(node) * 256 + byte
    i = probe_int64(slot_keys, key)
    if slot_keys[i] == -1:
        return -1
    return slot_child[i]


@nb.njit(cache=True)
def _edges(buf, start, end, slot_keys, slot_child, node_piece, e_start, e_end, e_id):
    """Fill the edges of the lattice of ``buf[start:end]`` (positions relative to ``start``),
    ordered by start then length; return their number."""
    m = 0
    n = end - start
    for s in range(n):
        node = 0
        for k in range(start + s, end):
            node = _child(slot_keys, slot_child, node, buf[k])
            if node < 0:
                break
            p = node_piece[node]
            if p >= 0:
                e_start[m] = s
                e_end[m] = k - start + 1
                e_id[m] = p
                m += 1
    return m


@nb.njit(cache=True)
def _max_piece_len(node_piece, slot_keys, slot_child):
    """Depth of the deepest trie node (the longest piece, in bytes)."""
    n = len(node_piece)
    depth = np.zeros(n, np.int64)
    # children always have larger ids than their parent: one pass in id order
    parent = np.zeros(n, np.int64)
    for i in range(len(slot_keys)):
        if slot_keys[i] != -1:
            parent[slot_child[i]] = slot_keys[i] // 256
    best = 0
    for v in range(1, n):
        depth[v] = depth[parent[v]] + 1
        if depth[v] > best:
            best = depth[v]
    return best


@nb.njit(cache=True, inline="always")
def _logaddexp(a, b):
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    if a > b:
        return a + np.log1p(np.exp(b - a))
    return b + np.log1p(np.exp(a - b))


@nb.njit(cache=True, nogil=True)
def forward_backward(buf, bounds, counts, slot_keys, slot_child, node_piece, scores):
    """Expected piece counts over the words ``buf[bounds[j]:bounds[j+1]]`` (word j weighted by
    ``counts[j]``) under the unigram model ``scores``: (expected[len(scores)], sum of
    ``counts[j] * log Z_j``). A word with no segmentation contributes nothing."""
    expected = np.zeros(len(scores), np.float64)
    total = 0.0
    longest = 1
    for w in range(len(bounds) - 1):
        longest = max(longest, bounds[w + 1] - bounds[w])
    depth = max(1, _max_piece_len(node_piece, slot_keys, slot_child))
    cap = longest * min(depth, longest)
    e_start = np.empty(cap, np.int64)
    e_end = np.empty(cap, np.int64)
    e_id = np.empty(cap, np.int64)
    alpha = np.empty(longest + 1, np.float64)
    beta = np.empty(longest + 1, np.float64)
    for w in range(len(bounds) - 1):
        n = bounds[w + 1] - bounds[w]
        m = _edges(buf, bounds[w], bounds[w + 1], slot_keys, slot_child, node_piece, e_start, e_end, e_id)
        for i in range(n + 1):
            alpha[i] = NEG_INF
            beta[i] = NEG_INF
        alpha[0] = 0.0
        beta[n] = 0.0
        for k in range(m):
            s = e_start[k]
            if alpha[s] != NEG_INF:
                e = e_end[k]
                alpha[e] = _logaddexp(alpha[e], alpha[s] + scores[e_id[k]])
        for k in range(m - 1, -1, -1):
            e = e_end[k]
            if beta[e] != NEG_INF:
                s = e_start[k]
                beta[s] = _logaddexp(beta[s], beta[e] + scores[e_id[k]])
        z = alpha[n]
        if z == NEG_INF:
            continue
        c = counts[w]
        total += c * z
        for k in range(m):
            a = alpha[e_start[k]]
            b = beta[e_end[k]]
            if a != NEG_INF and b != NEG_INF:
                expected[e_id[k]] += c * np.exp(a + scores[e_id[k]] + b - z)
    return expected, total


@nb.njit(cache=True)
def _viterbi_word(buf, start, end, slot_keys, slot_child, node_piece, scores, skip_piece,
                  e_start, e_end, e_id, best, back_start, back_id, out, out_pos):
    """Viterbi path of ``buf[start:end]`` written to ``out[out_pos:]``; returns (number of pieces,
    path score), or (-1, -inf) when no path exists. The edge covering the whole word with piece
    ``skip_piece`` is left out (-1: none)."""
    n = end - start
    m = _edges(buf, start, end, slot_keys, slot_child, node_piece, e_start, e_end, e_id)
    for i in range(n + 1):
        best[i] = NEG_INF
        back_start[i] = -1
    best[0] = 0.0
    back_start[0] = 0
    for k in range(m):
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
    if n > 0 and back_start[n] < 0:
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


@nb.njit(cache=True, nogil=True)
def viterbi_words(buf, bounds, slot_keys, slot_child, node_piece, scores):
    """Best segmentation of each word ``buf[bounds[j]:bounds[j+1]]``: (piece ids, id bounds per
    word). A word without any segmentation gets no ids and id bound -1 (the caller reports it)."""
    n_words = len(bounds) - 1
    ids = np.empty(len(buf) if len(buf) > 0 else 1, np.int64)
    id_bounds = np.zeros(n_words + 1, np.int64)
    longest = 1
    for w in range(n_words):
        longest = max(longest, bounds[w + 1] - bounds[w])
    depth = max(1, _max_piece_len(node_piece, slot_keys, slot_child))
    cap = longest * min(depth, longest)
    e_start = np.empty(cap, np.int64)
    e_end = np.empty(cap, np.int64)
    e_id = np.empty(cap, np.int64)
    best = np.empty(longest + 1, np.float64)
    back_start = np.empty(longest + 1, np.int64)
    back_id = np.empty(longest + 1, np.int64)
    out = 0
    for w in range(n_words):
        count, _ = _viterbi_word(buf, bounds[w], bounds[w + 1], slot_keys, slot_child, node_piece, scores, -1,
                                 e_start, e_end, e_id, best, back_start, back_id, ids, out)
        if count < 0:
            id_bounds[w + 1] = -1
            return ids[:out], id_bounds
        out += count
        id_bounds[w + 1] = out
    return ids[:out], id_bounds


@nb.njit(cache=True, nogil=True)
def viterbi_counts(buf, bounds, counts, slot_keys, slot_child, node_piece, scores):
    """How often each piece is on the Viterbi path of the words, weighted by ``counts``:
    (piece counts, number of pieces on all paths, sum of ``counts[j] *`` path score)."""
    ids, id_bounds = viterbi_words(buf, bounds, slot_keys, slot_child, node_piece, scores)
    freq = np.zeros(len(scores), np.float64)
    n_tokens = 0
    loglik = 0.0
    for w in range(len(bounds) - 1):
        if id_bounds[w + 1] < 0:
            break
        c = counts[w]
        for k in range(id_bounds[w], id_bounds[w + 1]):
            freq[ids[k]] += c
            loglik += c * scores[ids[k]]
        n_tokens += c * (id_bounds[w + 1] - id_bounds[w])
    return freq, n_tokens, loglik


@nb.njit(cache=True)
def alternatives(arena, offsets, slot_keys, slot_child, node_piece, scores):
    """For each piece ``p = arena[offsets[p]:offsets[p+1]]`` (a piece of the trie with id p): the
    best segmentation of its bytes that does not use ``p`` itself.

    Returns (alt ids, alt bounds, alt score per piece); piece p's alternative is
    ``alt_ids[alt_bounds[p]:alt_bounds[p+1]]``, empty with score -inf when there is none.
    """
    n_pieces = len(offsets) - 1
    longest = 1
    for p in range(n_pieces):
        longest = max(longest, offsets[p + 1] - offsets[p])
    cap = longest * longest
    e_start = np.empty(cap, np.int64)
    e_end = np.empty(cap, np.int64)
    e_id = np.empty(cap, np.int64)
    best = np.empty(longest + 1, np.float64)
    back_start = np.empty(longest + 1, np.int64)
    back_id = np.empty(longest + 1, np.int64)
    alt_ids = np.empty(offsets[-1], np.int64)
    alt_bounds = np.zeros(n_pieces + 1, np.int64)
    alt_score = np.empty(n_pieces, np.float64)
    out = 0
    for p in range(n_pieces):
        count, score = _viterbi_word(arena, offsets[p], offsets[p + 1], slot_keys, slot_child, node_piece,
                                     scores, p, e_start, e_end, e_id, best, back_start, back_id, alt_ids, out)
        if count < 0:
            count = 0
        out += count
        alt_bounds[p + 1] = out
        alt_score[p] = score
    return alt_ids[:out], alt_bounds, alt_score


@nb.njit(cache=True)
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


@nb.njit(cache=True)
def nbest_word(buf, slot_keys, slot_child, node_piece, scores, n_best):
    """The ``n_best`` best segmentations of ``buf`` (uint8), best first: (piece ids, bounds per
    path, path scores). Equal scores are ordered as Viterbi breaks ties (the path whose last
    piece starts earliest first, recursively), so the first path is the Viterbi path.

    >>> trie = build_trie(np.frombuffer(b"abab", np.uint8), np.array([0, 1, 2, 4]),
    ...                   np.arange(3, dtype=np.int32))
    >>> ids, bounds, sc = nbest_word(np.frombuffer(b"ab", np.uint8), *trie, np.array([-1.0, -1.0, -3.0]), 5)
    >>> ids.tolist(), bounds.tolist(), sc.tolist()
    ([0, 1, 2], [0, 2, 3], [-2.0, -3.0])
    """
    n = len(buf)
    depth = max(1, _max_piece_len(node_piece, slot_keys, slot_child))
    cap = max(1, n * min(depth, n))
    e_start = np.empty(cap, np.int64)
    e_end = np.empty(cap, np.int64)
    e_id = np.empty(cap, np.int64)
    m = _edges(buf, 0, n, slot_keys, slot_child, node_piece, e_start, e_end, e_id)
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
