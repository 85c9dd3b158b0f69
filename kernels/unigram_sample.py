"""Unigram sampling (subword regularization, Kudo 2018): a random segmentation of each word, seeded.

With weights ``exp(alpha * score)`` per piece, a segmentation s of a word is drawn with
``P(s) ∝ exp(alpha * sum of its pieces' scores)``:

- ``nbest <= 0``: over ALL segmentations, exactly, by forward-filtering backward-sampling: forward
  log-sums ``F[e] = log sum over edges (s, e) of exp(F[s] + alpha * score)``, then from the end
  ``e = n`` back to 0, one uniform number picks the incoming edge (s, e) with probability
  ``exp(F[s] + alpha * score - F[e])`` (edges in order of increasing start), and e moves to s.
- ``nbest > 1``: among the ``nbest`` best segmentations (``unigram_lattice.nbest_word``), one
  uniform number picks path r with probability ∝ ``exp(alpha * score_r)`` (sentencepiece's
  ``SampleEncode`` with ``nbest_size > 1``).
- ``nbest == 1``: the Viterbi segmentation (no randomness).

Word j draws only from the stream ``piece_seeds[j]`` (``tokforge.kernels.rng``): its sample
depends on nothing else (not on the other words, threads or order). Example (pieces a, b, ab;
P(ab) = .6 / (.6 + .2 * .2) = .9375 at alpha 1, .6**2 / (.6**2 + .2**4) = .9956 at alpha 2)::

    >>> from tokforge.kernels.unigram_lattice import build_trie
    >>> pieces = [b"a", b"b", b"ab"]
    >>> trie = build_trie(np.frombuffer(b"abab", np.uint8), np.array([0, 1, 2, 4]), np.arange(3, dtype=np.int32))
    >>> scores = np.log(np.array([0.2, 0.2, 0.6]))
    >>> words, bounds = np.frombuffer(b"ab" * 4000, np.uint8), np.arange(0, 8001, 2)
    >>> seeds = np.arange(4000, dtype=np.uint64) * np.uint64(7919)
    >>> ids, id_bounds = sample_words(words, bounds, *trie, scores, -1, 1.0, -1, seeds)
    >>> bool(abs((np.diff(id_bounds) == 1).mean() - 0.9375) < 0.02)     # 4000 draws: sd 0.004
    True
    >>> [pieces[i] for i in ids[id_bounds[0]:id_bounds[3]]] == [pieces[i] for i in
    ...     sample_words(words[:6], bounds[:4], *trie, scores, -1, 1.0, -1, seeds[:3])[0]]   # reproducible
    True
    >>> sample_words(words[:2], bounds[:2], *trie, scores, -1, 1.0, 1, seeds[:1])[0].tolist()   # Viterbi
    [2]
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE
from .rng import uniform
from .spans import longest_span
from .unigram_lattice import NEG_INF, _edges, _viterbi_word, edge_buffers, nbest_word


@nb.njit(cache=CACHE)
def _pick(weights, k, u):
    """The first index i < k whose cumulative weight exceeds ``u`` (weights sum to ~1); rounding
    left over goes to the last index with a positive weight."""
    acc = 0.0
    last = -1
    for i in range(k):
        if weights[i] > 0.0:
            acc += weights[i]
            last = i
            if u < acc:
                return i
    return last


@nb.njit(cache=CACHE)
def _ffbs_word(buf, start, end, slots, near, scores, unk, alpha, state,
               e_start, e_end, e_id, in_count, in_offsets, in_edges, fwd, weights, out, out_pos):
    """One word by forward-filtering backward-sampling; returns the number of pieces written to
    ``out[out_pos:]`` (-1: the word has no segmentation)."""
    n = end - start
    if n == 0:
        return 0
    m = _edges(buf, start, end, slots, near, e_start, e_end, e_id, 0, unk)
    # incoming edges of each end position, by increasing start (edges come by start: stable bucketing)
    for i in range(n + 2):
        in_count[i] = 0
    for k in range(m):
        in_count[e_end[k] + 1] += 1
    in_offsets[0] = 0
    for i in range(1, n + 2):
        in_offsets[i] = in_offsets[i - 1] + in_count[i]
    for i in range(n + 1):
        in_count[i] = in_offsets[i]
    for k in range(m):
        e = e_end[k]
        in_edges[in_count[e]] = k
        in_count[e] += 1
    # forward: F[e] = log sum over incoming (s, e) of exp(F[s] + alpha * score)
    fwd[0] = 0.0
    for e in range(1, n + 1):
        top = NEG_INF
        for q in range(in_offsets[e], in_offsets[e + 1]):
            k = in_edges[q]
            x = fwd[e_start[k]] + alpha * scores[e_id[k]]
            if x > top:
                top = x
        if top == NEG_INF:
            fwd[e] = NEG_INF
            continue
        total = 0.0
        for q in range(in_offsets[e], in_offsets[e + 1]):
            k = in_edges[q]
            total += np.exp(fwd[e_start[k]] + alpha * scores[e_id[k]] - top)
        fwd[e] = top + np.log(total)
    if fwd[n] == NEG_INF:
        return -1
    # backward sampling: from the end, pick an incoming edge ∝ exp(F[s] + alpha * score)
    count = 0
    e = n
    while e > 0:
        lo = in_offsets[e]
        k_in = in_offsets[e + 1] - lo
        for q in range(k_in):
            k = in_edges[lo + q]
            weights[q] = np.exp(fwd[e_start[k]] + alpha * scores[e_id[k]] - fwd[e])
        k = in_edges[lo + _pick(weights, k_in, uniform(state))]
        out[out_pos + count] = e_id[k]   # reversed below
        count += 1
        e = e_start[k]
    i, j = out_pos, out_pos + count - 1
    while i < j:
        out[i], out[j] = out[j], out[i]
        i += 1
        j -= 1
    return count


@nb.njit(cache=CACHE)
def _nbest_sample_word(buf, start, end, slots, near, longest_piece, scores, unk, alpha, nbest, state, out,
                       out_pos):
    """One word: a path among its ``nbest`` best, drawn ∝ exp(alpha * path score); returns the
    number of pieces written (-1: no segmentation)."""
    ids, bounds, path_scores = nbest_word(buf[start:end], slots, near, longest_piece, scores, unk, nbest)
    k = len(path_scores)
    if k == 0:
        return -1
    weights = np.empty(k, np.float64)
    top = path_scores[0]
    for r in range(k):
        top = max(top, path_scores[r])
    total = 0.0
    for r in range(k):
        weights[r] = np.exp(alpha * (path_scores[r] - top))
        total += weights[r]
    for r in range(k):
        weights[r] /= total
    r = _pick(weights, k, uniform(state))
    count = bounds[r + 1] - bounds[r]
    for i in range(count):
        out[out_pos + i] = ids[bounds[r] + i]
    return count


@nb.njit(cache=CACHE, nogil=True)
def sample_words(buf, bounds, slots, near, longest_piece, scores, unk, alpha, nbest, piece_seeds):
    """A sampled segmentation of each word ``buf[bounds[j]:bounds[j+1]]`` (see the module): (piece
    ids, id bounds per word). A word without any segmentation gets no ids and id bound -1 (the
    caller reports it). ``alpha`` > 0; ``nbest`` <= 0: all segmentations, 1: Viterbi, > 1: the n best.
    ``unk`` >= 0: byte fallback, as ``unigram_lattice.viterbi_words``."""
    n_words = len(bounds) - 1
    ids = np.empty(max(1, bounds[-1] - bounds[0]), np.int64)
    id_bounds = np.zeros(n_words + 1, np.int64)
    longest = longest_span(bounds)
    e_start, e_end, e_id = edge_buffers(longest, longest_piece)
    cap = len(e_start)
    in_count = np.empty(longest + 2, np.int64)
    in_offsets = np.empty(longest + 2, np.int64)
    in_edges = np.empty(cap, np.int64)
    fwd = np.empty(longest + 1, np.float64)
    weights = np.empty(longest + 1, np.float64)
    back_start = np.empty(longest + 1, np.int64)
    back_id = np.empty(longest + 1, np.int64)
    state = np.zeros(1, np.uint64)
    out = 0
    for w in range(n_words):
        state[0] = piece_seeds[w]
        if nbest == 1:
            count, _ = _viterbi_word(buf, bounds[w], bounds[w + 1], slots, near, scores, unk, -1,
                                     e_start, e_end, e_id, fwd, back_start, back_id, ids, out)
        elif nbest > 1:
            count = _nbest_sample_word(buf, bounds[w], bounds[w + 1], slots, near, longest_piece, scores,
                                       unk, alpha, nbest, state, ids, out)
        else:
            count = _ffbs_word(buf, bounds[w], bounds[w + 1], slots, near, scores, unk, alpha, state,
                               e_start, e_end, e_id, in_count, in_offsets, in_edges, fwd, weights, ids, out)
        if count < 0:
            id_bounds[w + 1] = -1
            return ids[:out], id_bounds
        out += count
        id_bounds[w + 1] = out
    return ids[:out], id_bounds
