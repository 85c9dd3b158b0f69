"""The Unigram kernels agree with exact enumeration (tests/reference.py) on small words."""
import math

import numpy as np
from hypothesis import assume, given, settings, strategies as st

from reference import (reference_expected_counts, reference_nbest, reference_path_score, reference_removal_loss,
                       reference_segmentations, reference_substring_candidates)
from tokforge.counting.words import WordCounts
from tokforge.kernels import unigram_lattice as lattice
from tokforge.kernels import unigram_seed
from tokforge.models.unigram_em import digamma
from tokforge.packed import lengths_of, offsets_from_lengths

# a small alphabet (two bytes, one two-byte character) -> many overlapping pieces and ties
small_words = st.lists(st.sampled_from([b"a", b"b", "\u00e9".encode()]), min_size=1, max_size=7).map(b"".join)
vocabularies = st.sets(small_words.filter(lambda w: len(w) <= 4), min_size=0, max_size=12)
# integer scores: sums are exact, so equal scores are exact ties and the tie rule is tested
int_scores = st.integers(-6, -1).map(float)
any_scores = st.floats(-20.0, -0.01, allow_nan=False)


def model(vocab, scores):
    """Pieces (the bytes a, b, \\xc3, \\xa9 always included) -> (piece -> id, trie, scores array)."""
    pieces = [b"a", b"b", b"\xc3", b"\xa9"] + sorted(set(vocab) - {b"a", b"b", b"\xc3", b"\xa9"})
    ids = {p: i for i, p in enumerate(pieces)}
    arena = np.frombuffer(b"".join(pieces), np.uint8)
    trie = lattice.build_trie(arena, offsets_from_lengths(lengths_of(pieces)), np.arange(len(pieces), dtype=np.int32))
    return ids, trie, np.array(scores[:len(pieces)], np.float64), pieces


def packed(words):
    return np.frombuffer(b"".join(words), np.uint8), offsets_from_lengths(lengths_of(words))


@settings(max_examples=300, deadline=None)
@given(vocabularies, st.lists(int_scores, min_size=20, max_size=20), st.lists(small_words, min_size=1, max_size=6))
def test_viterbi_matches_enumeration_with_ties(vocab, scores, words):
    ids, trie, scores, _ = model(vocab, scores)
    out, bounds = lattice.viterbi_words(*packed(words), *trie, scores, -1)
    for j, word in enumerate(words):
        (best, _), = reference_nbest(word, ids, scores, 1)
        assert out[bounds[j]:bounds[j + 1]].tolist() == best


@settings(max_examples=300, deadline=None)
@given(vocabularies, st.lists(int_scores, min_size=20, max_size=20), small_words, st.integers(0, 8))
def test_nbest_matches_enumeration_with_ties(vocab, scores, word, n):
    ids, trie, scores, _ = model(vocab, scores)
    got_ids, got_bounds, got_scores = lattice.nbest_word(np.frombuffer(word, np.uint8), *trie, scores, -1, n)
    got = [(got_ids[got_bounds[k]:got_bounds[k + 1]].tolist(), float(got_scores[k])) for k in range(len(got_scores))]
    assert got == reference_nbest(word, ids, scores, n)


@settings(max_examples=300, deadline=None)
@given(vocabularies, st.lists(any_scores, min_size=20, max_size=20), small_words, st.integers(0, 8))
def test_nbest_scores_match_enumeration(vocab, scores, word, n):
    """With arbitrary floats two paths may tie only after rounding (their prefixes did not):
    the scores must be the n best, each path valid, distinct and scored left to right."""
    ids, trie, scores, pieces = model(vocab, scores)
    got_ids, got_bounds, got_scores = lattice.nbest_word(np.frombuffer(word, np.uint8), *trie, scores, -1, n)
    paths = [got_ids[got_bounds[k]:got_bounds[k + 1]].tolist() for k in range(len(got_scores))]
    assert got_scores.tolist() == [score for _, score in reference_nbest(word, ids, scores, n)]
    assert len({tuple(p) for p in paths}) == len(paths)
    for path, score in zip(paths, got_scores.tolist()):
        assert b"".join(pieces[p] for p in path) == word
        assert reference_path_score([(0, 0, p) for p in path], scores) == score


@settings(max_examples=300, deadline=None)
@given(vocabularies, st.lists(any_scores, min_size=20, max_size=20),
       st.dictionaries(small_words, st.integers(1, 9), min_size=1, max_size=6))
def test_forward_backward_matches_enumeration(vocab, scores, word_counts):
    ids, trie, scores, _ = model(vocab, scores)
    words = list(word_counts)
    buf, bounds = packed(words)
    counts = np.array(list(word_counts.values()))
    edges = lattice.lattice_edges(buf, bounds, *trie, np.empty(0, np.uint16))
    expected, total = lattice.forward_backward(bounds, counts, *edges, scores)
    ref_expected, ref_total = reference_expected_counts(word_counts, ids, scores)
    assert np.allclose(expected, ref_expected, rtol=1e-9, atol=1e-9)
    assert math.isclose(total, ref_total, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(vocabularies, st.lists(int_scores, min_size=20, max_size=20),
       st.dictionaries(small_words, st.integers(1, 9), min_size=1, max_size=6), st.data())
def test_filtered_lattices_are_the_lattices_of_the_smaller_vocabulary(vocab, scores, word_counts, data):
    """Training builds the lattices once and drops edges as pieces go: same as rebuilding."""
    ids, trie, scores, pieces = model(vocab, scores)
    keep = sorted(set(range(4)) | set(data.draw(st.lists(st.integers(4, len(pieces) - 1), max_size=len(pieces)))
                                        if len(pieces) > 4 else []))
    new_id = np.full(len(pieces), -1, np.int32)
    new_id[keep] = np.arange(len(keep))
    buf, bounds = packed(list(word_counts))
    edges = lattice.lattice_edges(buf, bounds, *trie, np.empty(0, np.int32))
    m = lattice.filter_edges(*edges, new_id)
    filtered = [a[:m] for a in edges[:3]] + [edges[3]]
    small_ids, small_trie, _, _ = model([pieces[k] for k in keep], [0.0] * 20)
    assert [pieces[k] for k in keep] == sorted(small_ids, key=small_ids.get)
    rebuilt = lattice.lattice_edges(buf, bounds, *small_trie, np.empty(0, np.int32))
    for a, b in zip(filtered, rebuilt):
        assert a.tolist() == b.tolist()
    # Viterbi counts over the (filtered) lattices = counts of the reference Viterbi paths
    small_scores = scores[keep]
    counts = np.array(list(word_counts.values()))
    freq, loglik = lattice.viterbi_counts(bounds, counts, *filtered, small_scores)
    expected = np.zeros(len(keep))
    for word, c in word_counts.items():
        path, score = reference_nbest(word, small_ids, small_scores, 1)[0]
        for p in path:
            expected[p] += c
    assert freq.tolist() == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(vocabularies, st.lists(int_scores, min_size=20, max_size=20))
def test_alternatives_are_the_best_segmentation_without_the_piece(vocab, scores):
    ids, trie, scores, pieces = model(vocab, scores)
    arena, offsets = packed(pieces)
    alt_ids, alt_bounds, alt_score = lattice.alternatives(arena, offsets, 0, *trie, scores)
    for p, piece in enumerate(pieces):
        without = {q: i for q, i in ids.items() if i != p}  # inside its own bytes, p only spans them all
        paths = reference_nbest(piece, without, scores, 1)
        expect = paths[0] if paths else ([], -math.inf)
        assert (alt_ids[alt_bounds[p]:alt_bounds[p + 1]].tolist(), float(alt_score[p])) == expect


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.lists(st.integers(0, 5), max_size=4)), min_size=1, max_size=6),
       st.integers(1, 100))
def test_removal_loss_matches_reference(rows, total_words):
    freq = np.array([float(f) for f, _ in rows])
    alts = [[a % len(rows) for a in alt] for _, alt in rows]
    assume(freq.sum() > 0)
    alt_ids = np.array([a for alt in alts for a in alt], np.int64)
    alt_bounds = offsets_from_lengths([len(a) for a in alts])
    got = lattice.removal_loss(freq, alt_ids, alt_bounds, float(total_words))
    assert np.allclose(got, reference_removal_loss(freq.tolist(), alts, total_words), rtol=1e-12, equal_nan=False)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(st.sampled_from("ab\u00e9\u4e2d"), min_size=1, max_size=9), st.integers(1, 5),
                       min_size=1, max_size=8),
       st.integers(1, 6), st.integers(2, 12), st.integers(1, 4))
def test_substring_candidates_match_enumeration(word_counts, max_chars, cap, min_frequency):
    wc = WordCounts.from_dict(word_counts)
    pos, length, freq = unigram_seed.substring_candidates(wc.arena, wc.offsets, wc.counts, max_chars, cap,
                                                          min_frequency)
    got = {wc.arena[p:p + n].tobytes(): f for p, n, f in zip(pos.tolist(), length.tolist(), freq.tolist())}
    assert len(got) == len(pos)  # each candidate once
    expected = reference_substring_candidates({w.encode(): c for w, c in word_counts.items()}, max_chars, cap)
    assert got == {sub: f for sub, f in expected.items() if f >= min_frequency}


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=6), st.integers(1, 5), min_size=1, max_size=8))
def test_char_counts(word_counts):
    from collections import Counter
    wc = WordCounts.from_dict(word_counts)
    pos, length, freq = unigram_seed.char_counts(wc.arena, wc.offsets, wc.counts)
    got = {wc.arena[p:p + n].tobytes(): f for p, n, f in zip(pos.tolist(), length.tolist(), freq.tolist())}
    expected = Counter()
    for w, c in word_counts.items():
        for ch in w:
            expected[ch.encode()] += c
    assert got == dict(expected)


def test_reference_enumerates_every_segmentation():
    ids = {b"a": 0, b"aa": 1}
    assert len(reference_segmentations(b"aaaa", ids)) == 5  # Fibonacci: 1111 112 121 211 22


@given(st.floats(0.001, 1e6))
def test_digamma_is_the_derivative_of_log_gamma(x):
    h = 1e-5 * x
    numeric = (math.lgamma(x + h) - math.lgamma(x - h)) / (2 * h)
    assert math.isclose(float(digamma(x)), numeric, rel_tol=1e-5, abs_tol=1e-5)
