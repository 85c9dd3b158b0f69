"""The numba BPE kernels agree with the slow references in tests/reference.py."""
import pytest
from hypothesis import given, settings, strategies as st

from reference import reference_bpe_encode, reference_merge_symbols, reference_train_bpe, reference_words
from tokforge.counting.words import WordCounter, WordCounts
from tokforge.errors import ConfigError
from tokforge.models.bpe import BPEModel
from tokforge.models.bpe_trainer import train_bpe
from tokforge.kernels.bpe_train import refill
from tokforge.packed import offsets_from_lengths

# few distinct bytes -> many ties, overlapping pairs ("aaa") and merges yielding the same string
small_words = st.binary(min_size=1, max_size=12).map(lambda b: bytes(x % 4 + 97 for x in b))
long_small_words = st.binary(min_size=60, max_size=160).map(lambda b: bytes(x % 4 + 97 for x in b))
corpora = st.dictionaries(small_words, st.integers(1, 6), min_size=1, max_size=25)
any_words = st.dictionaries(st.binary(min_size=1, max_size=10), st.integers(1, 50), min_size=1, max_size=40)


def learned(model):
    return [(model.vocab[a], model.vocab[b]) for a, b in model.merges]


@settings(max_examples=300, deadline=None)
@given(corpora, st.integers(256, 300), st.integers(1, 3), st.integers(0, 2))
def test_training_matches_reference_with_ties(counts, vocab_size, min_frequency, n_specials):
    specials = [f"<s{i}>" for i in range(n_specials)]
    model = train_bpe(WordCounts.from_dict(counts), vocab_size + n_specials,
                      special_tokens=specials, min_frequency=min_frequency)
    assert learned(model) == reference_train_bpe(counts, vocab_size + n_specials, min_frequency, n_specials)


@settings(max_examples=200, deadline=None)
@given(corpora, st.integers(256, 300), st.integers(1, 3), st.sampled_from([0.05, 0.5, 1]), st.integers(0, 1))
def test_pairs_left_out_under_a_floor_change_no_merge(counts, vocab_size, min_frequency, per_merge, stage2):
    """The first pair table keeps about ``PAIRS_KEPT_PER_MERGE`` pairs per merge to do; when merging
    reaches that floor short of the target, the rarer pairs are counted again (``refill``).
    Tiny ratios make that happen often; the merges are still the reference's (also for stage 2)."""
    from unittest import mock
    from tokforge.models import bpe_trainer
    first = train_bpe(WordCounts.from_dict(counts), 262, min_frequency=1) if stage2 else None
    with mock.patch.object(bpe_trainer, "PAIRS_KEPT_PER_MERGE", per_merge):
        model = train_bpe(WordCounts.from_dict(counts), vocab_size + 6 * stage2, min_frequency=min_frequency,
                          start=first)
    assert learned(model) == reference_train_bpe(counts, vocab_size + 6 * stage2, min_frequency,
                                                 start=learned(first) if stage2 else ())


@settings(max_examples=100, deadline=None)
@given(corpora, st.integers(256, 300), st.sampled_from([0.05, 0.5]), st.sampled_from([4, 16]), st.integers(0, 1))
def test_a_coarse_sketch_of_pair_counts_changes_no_merge(counts, vocab_size, per_merge, buckets, stage2):
    """With a sketch of 4 or 16 buckets many pairs share one, so the first count's floor is often the
    bucket sum, above the floor of the exact counts: merging reaches it sooner, the rarer pairs are
    counted again, and the merges are still the reference's."""
    from unittest import mock
    from tokforge.kernels import bpe_train
    from tokforge.models import bpe_trainer
    first = train_bpe(WordCounts.from_dict(counts), 262, min_frequency=1) if stage2 else None
    with mock.patch.object(bpe_trainer, "PAIRS_KEPT_PER_MERGE", per_merge), \
            mock.patch.object(bpe_train, "SKETCH_BUCKETS", buckets):
        model = train_bpe(WordCounts.from_dict(counts), vocab_size + 6 * stage2, min_frequency=1, start=first)
    assert learned(model) == reference_train_bpe(counts, vocab_size + 6 * stage2, 1,
                                                 start=learned(first) if stage2 else ())


def test_the_first_table_holds_exactly_the_pairs_at_or_above_its_floor():
    """``init_pairs`` with ``keep_at_most``: the table holds every pair counted at least the floor and
    no other, each with its exact count; with buckets to spare the floor is the exact count of the
    ``keep_at_most``-th pair; with 256 buckets for some 1,600 pairs it is higher (a bucket's sum), never
    lower."""
    from collections import Counter
    import numpy as np
    from tokforge.kernels import bpe_train
    syms, starts, lengths, counts = _random_words(2, n_words=20_000, alphabet=40)
    exact = Counter()
    for s, n, c in zip(starts, lengths, counts):
        for a, b in zip(syms[s:s + n - 1], syms[s + 1:s + n]):
            exact[(int(a) << 32) | int(b)] += int(c)
    keep = 100
    kth = sorted(exact.values(), reverse=True)[keep - 1]
    floors = []
    for buckets in (bpe_train.SKETCH_BUCKETS, 256):
        for n_parts in (1, 2):
            words = bpe_train.layout_words(syms, np.arange(40, dtype=np.int32), starts, lengths, counts)
            with mock_sketch(buckets):
                state = bpe_train.init_pairs(words, np.arange(40, dtype=np.int64), np.zeros((0, 3), np.int64), 1,
                                             bpe_train.new_part(), n_parts, keep_at_most=keep)
            floor = bpe_train.floor_of(state)
            table = {int(k): int(c) for k, c in zip(state[bpe_train.S_PKEY], state[bpe_train.S_PCOUNT]) if k != -1}
            assert table == {k: c for k, c in exact.items() if c >= floor}
            assert floor >= kth and state[bpe_train.S_SCAL][bpe_train.DROPPED] == 1
            floors.append(floor)
    assert floors[0] == floors[1] == kth and floors[2] == floors[3] > kth


def mock_sketch(buckets):
    from unittest import mock
    from tokforge.kernels import bpe_train
    return mock.patch.object(bpe_train, "SKETCH_BUCKETS", buckets)


@settings(max_examples=100, deadline=None)
@given(corpora, st.integers(2, 3), st.sampled_from([0.05, 0.5]))
def test_refills_under_a_length_limit_end_and_match_reference(counts, max_len, per_merge):
    """A refill keeps about as many pairs as merges left; pairs beyond ``max_token_length`` may fill
    them all, so merging stops at the new floor without a merge: the next refill then counts every
    pair (no endless refills), and the merges are the reference's."""
    from unittest import mock
    from tokforge.kernels import bpe_train
    from tokforge.models import bpe_trainer
    kept = []
    with mock.patch.object(bpe_trainer, "PAIRS_KEPT_PER_MERGE", per_merge), \
            mock.patch.object(bpe_train, "refill", lambda *args: kept.append(args[-1]) or refill(*args)):
        model = train_bpe(WordCounts.from_dict(counts), 320, min_frequency=1, max_token_length=max_len)
    assert learned(model) == reference_train_bpe(counts, 320, max_token_length=max_len)
    # the first refill is capped; one that counts every pair (0) leaves the floor at min_frequency: the last
    assert not kept or (kept[0] > 0 and kept.count(0) <= 1 and (0 not in kept or kept[-1] == 0))


def test_merging_past_the_floor_counts_the_rarer_pairs_again():
    """7 pairs of one word counted 10 times, 3 rarer ones: with 5 pairs kept for 10 merges, the floor is
    10; the word's 7 merges reach it, then the rarer pairs are counted again, half a pair kept per merge
    left as at the start: 1 for the 3 merges left, the floor 2 (x y, z w), then again: 1 (u v)."""
    from unittest import mock
    from tokforge.kernels import bpe_train
    from tokforge.models import bpe_trainer
    counts = {b"abcdefgh": 10, b"xy": 2, b"zw": 2, b"uv": 1}
    refills = []
    with mock.patch.object(bpe_trainer, "PAIRS_KEPT_PER_MERGE", 0.5), \
            mock.patch.object(bpe_train, "refill", lambda *args: refills.append(1) or refill(*args)):
        model = train_bpe(WordCounts.from_dict(counts), 266, min_frequency=1)
    assert refills == [1, 1]
    assert learned(model) == reference_train_bpe(counts, 266)
    assert learned(model)[-3:] == [(b"x", b"y"), (b"z", b"w"), (b"u", b"v")]


@settings(max_examples=150, deadline=None)
@given(any_words, st.integers(256, 400))
def test_training_matches_reference_on_arbitrary_bytes(counts, vocab_size):
    model = train_bpe(WordCounts.from_dict(counts), vocab_size, min_frequency=1)
    assert learned(model) == reference_train_bpe(counts, vocab_size)


@settings(max_examples=100, deadline=None)
@given(corpora, st.integers(2, 5))
def test_max_token_length_matches_reference(counts, max_len):
    model = train_bpe(WordCounts.from_dict(counts), 320, min_frequency=1, max_token_length=max_len)
    assert learned(model) == reference_train_bpe(counts, 320, max_token_length=max_len)
    assert all(len(t) <= max_len for t in model.vocab)


@settings(max_examples=200, deadline=None)
@given(corpora, st.lists(small_words | long_small_words, min_size=1, max_size=10))
def test_encoding_matches_reference(counts, words):
    """Short words (merged by a scan) and words beyond ``SHORT_WORD`` symbols (merged with a heap)."""
    model = train_bpe(WordCounts.from_dict(counts), 300, min_frequency=1)
    merges = learned(model)
    encoded = model.encode_pieces(words)
    for word, ids in zip(words, encoded):
        assert [model.vocab[i] for i in ids] == reference_bpe_encode(word, merges)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.text(max_size=8), max_size=30), max_size=5))
def test_word_counter_matches_counter(batches):
    from collections import Counter
    counter = WordCounter(capacity=2)  # tiny, so the growth path runs
    expected = Counter()
    for pieces in batches:
        counter.add(pieces)
        expected.update(p.encode("utf-8") for p in pieces if p)
    assert dict(counter.result().items()) == dict(expected)


# words over a few letters and ASCII whitespace: multi-word tokens, seams inside words
spaced_words = st.binary(min_size=1, max_size=14).map(lambda b: bytes(b" \tab\nc "[x % 7] for x in b))
spaced_corpora = st.dictionaries(spaced_words, st.integers(1, 6), min_size=1, max_size=25)


@settings(max_examples=150, deadline=None)
@given(spaced_corpora, st.integers(1, 3))
def test_max_words_matches_reference(counts, max_words):
    model = train_bpe(WordCounts.from_dict(counts), 330, min_frequency=1, max_words=max_words)
    assert learned(model) == reference_train_bpe(counts, 330, max_words=max_words)
    assert all(reference_words(model.vocab[a] + model.vocab[b]) <= max_words for a, b in model.merges)


@settings(max_examples=150, deadline=None)
@given(spaced_corpora, spaced_corpora, st.integers(256, 290), st.integers(0, 40), st.integers(0, 2), st.booleans())
def test_continuing_from_a_model_matches_reference(first, second, size1, extra, n_specials, with_known):
    """Stage two of SuperBPE: other words, the first model's merges replayed (``with_known``: taking
    the parts that are first words as the first training left them), then more merges."""
    from tokforge.models.bpe import KnownWords
    specials = [f"<s{i}>" for i in range(n_specials)]
    first_counts, encoded = WordCounts.from_dict(first), []
    stage1 = train_bpe(first_counts, size1 + n_specials, special_tokens=specials, min_frequency=1, encoded=encoded)
    known = [KnownWords.of(first_counts, encoded[0])] if with_known and encoded else None
    second = {**second, **{w + b" " + v: 2 for w in list(first)[:4] for v in list(first)[:4]}}  # parts: first words
    model = train_bpe(WordCounts.from_dict(second), size1 + n_specials + extra, special_tokens=specials,
                      min_frequency=1, max_words=2, start=stage1, known=known)
    assert model.merges[:len(stage1.merges)] == stage1.merges
    assert model.vocab[:len(stage1.vocab)] == stage1.vocab
    assert learned(model) == reference_train_bpe(second, size1 + n_specials + extra, n_specials=n_specials,
                                                 max_words=2, start=learned(stage1))
    for trained in (stage1, model):  # the ids the trainer says its merges yield: those of their bytes
        found = BPEModel(trained.vocab, trained.merges, trained.special_tokens).merge_results()
        assert trained.merge_results().tolist() == found.tolist()


@settings(max_examples=150, deadline=None)
@given(spaced_corpora, st.lists(spaced_words.map(lambda w: w * 3), min_size=1, max_size=10))
def test_long_word_encoding_equals_plain_encoding(counts, words):
    """Cutting words where no token can span and encoding each distinct part once changes nothing."""
    model = train_bpe(WordCounts.from_dict(counts), 330, min_frequency=1)
    buf = b"".join(words)
    bounds = offsets_from_lengths([len(w) for w in words])
    plain = model.encode_packed(buf, bounds)
    fast = model.encode_packed(buf, bounds, long_words=True)
    assert plain[0].tolist() == fast[0].tolist() and plain[1].tolist() == fast[1].tolist()


@settings(max_examples=150, deadline=None)
@given(corpora | any_words, st.integers(256, 330), st.integers(1, 2), st.integers(0, 2))
def test_the_words_as_training_left_them_are_their_encoding(counts, vocab_size, min_frequency, n_specials):
    """``train_bpe(encoded=...)``: each training word as merging left it is the word's encoding by the
    merges in rank order (the reference encoder's), unless a merge reused a token's string."""
    specials = [f"<s{i}>" for i in range(n_specials)]
    encoded = []
    model = train_bpe(WordCounts.from_dict(counts), vocab_size + n_specials, special_tokens=specials,
                      min_frequency=min_frequency, encoded=encoded)
    results = model.merge_results().tolist()
    assert (not encoded) == (len(set(results)) < len(results))
    if encoded:
        ids, bounds = encoded[0]
        merges = learned(model)
        assert len(bounds) == len(counts) + 1
        for w, word in enumerate(counts):
            assert [model.vocab[i] for i in ids[bounds[w]:bounds[w + 1]]] == reference_bpe_encode(word, merges)


@settings(max_examples=100, deadline=None)
@given(any_words)
def test_the_word_table_holds_each_word_of_two_bytes_or_more_once(counts):
    """``build_word_table``: one row per word of 2 bytes or more, keyed by the hash of its bytes."""
    import numpy as np
    from tokforge.kernels.bpe_encode import build_word_table
    from tokforge.kernels.hashtable import fnv1a
    words = WordCounts.from_dict(counts)
    data = np.frombuffer(words.arena, np.uint8)
    table = build_word_table(data, words.offsets)
    rows = sorted(table[table[:, 0] != -1].tolist(), key=lambda r: r[1])
    expected = [[int(fnv1a(data, a, b)) >> 1, w] for w, (a, b) in enumerate(zip(words.offsets[:-1], words.offsets[1:]))
                if b - a >= 2]
    assert rows == expected and 4 * len(rows) <= 3 * len(table)


def test_no_words_are_handed_out_when_a_merge_reused_a_string():
    """A model to continue from whose merges make "abc" twice (ab + c, a + bc): the words as merging
    leaves them need not be their encoding, so ``encoded`` stays empty; without the reuse it is filled."""
    from tokforge.text.bytelevel import BYTE_ORDER
    vocab = [bytes([b]) for b in BYTE_ORDER]
    ids = {bytes([b]): i for i, b in enumerate(BYTE_ORDER)}
    a, b, c = ids[b"a"], ids[b"b"], ids[b"c"]
    vocab += [b"ab", b"bc", b"abc"]
    counts = WordCounts.from_dict({b"abcabc": 3, b"cab": 2})
    for merges, reuse in (([(a, b), (b, c), (256, c), (a, 257)], True), ([(a, b), (b, c), (256, c)], False)):
        encoded = []
        train_bpe(counts, 262, min_frequency=1, start=BPEModel(vocab, merges), encoded=encoded)
        assert (not encoded) == reuse


def test_known_words_are_taken_as_handed_and_give_the_same_ids_as_encoding():
    """``encode_packed(long_words=True, known=...)``: a part of a word that is a known word takes the ids
    handed with it (wrong ids on purpose show they are used), and the words as training left them give
    exactly the plain encoding."""
    import numpy as np
    from tokforge.models.bpe import KnownWords
    rng = np.random.default_rng(5)
    parts = [bytes(rng.integers(97, 101, int(rng.integers(2, 9)))) for _ in range(300)]
    counts = WordCounts.from_dict({p: int(rng.integers(1, 4)) for p in parts})
    encoded = []
    model = train_bpe(counts, 300, min_frequency=1, encoded=encoded)
    words = [b" " + b" ".join(parts[k:k + 5]) for k in range(0, len(parts), 5)]
    buf, bounds = b"".join(words), offsets_from_lengths([len(w) for w in words])
    known = KnownWords.of(counts, encoded[0])
    plain, fast = model.encode_packed(buf, bounds), model.encode_packed(buf, bounds, long_words=True, known=known)
    assert plain[0].tolist() == fast[0].tolist() and plain[1].tolist() == fast[1].tolist()
    wrong = known._replace(ids=np.full(len(known.ids), 7, np.int32))
    marked = model.encode_packed(buf, bounds, long_words=True, known=wrong)
    assert (marked[0] == 7).sum() > (plain[0] == 7).sum()


def test_a_part_equal_to_a_token_the_merges_do_not_rebuild_is_still_merged():
    """The long-word path looks parts up among the tokens first: only among those whose bytes encode to
    themselves. Here b+c (rank 0) comes before a+b (rank 1), so "abc" (= ab + c) encodes to a, bc."""
    import numpy as np
    from tokforge.models.bpe import BPEModel
    vocab = [bytes([b]) for b in range(256)] + [b"bc", b"ab", b"abc"]
    model = BPEModel(vocab, [(98, 99), (97, 98), (257, 99)])
    own = model.own_tokens()
    assert sorted((own[own[:, 1] != -1, 1] >> 8).tolist()) == list(range(258))   # every token but "abc"
    buf = b"abc abc xabc"
    bounds = np.array([0, len(buf)])
    plain, fast = model.encode_packed(buf, bounds), model.encode_packed(buf, bounds, long_words=True)
    assert plain[0].tolist() == fast[0].tolist() == [97, 256, 32, 97, 256, 32, 120, 97, 256]


def test_long_word_encoding_with_many_distinct_parts():
    """Enough distinct parts (40,000, 1.3 MB with their ids) that the kernel's table and arena grow."""
    import numpy as np
    rng = np.random.default_rng(3)
    parts = [bytes(rng.integers(97, 123, int(rng.integers(3, 12)))) for _ in range(40_000)]
    model = train_bpe(WordCounts.from_dict({p: 2 for p in parts[:3000]}), 600, min_frequency=1)
    words = [b" ".join(parts[k:k + 7]) for k in range(0, len(parts), 7)] * 2
    buf, bounds = b"".join(words), offsets_from_lengths([len(w) for w in words])
    plain, fast = model.encode_packed(buf, bounds), model.encode_packed(buf, bounds, long_words=True)
    assert plain[0].tolist() == fast[0].tolist() and plain[1].tolist() == fast[1].tolist()


def _random_words(seed, n_words=60_000, alphabet=6):
    import numpy as np
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 12, n_words)
    syms = rng.integers(0, alphabet, int(lengths.sum())).astype(np.int32)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return syms, starts, lengths, rng.integers(1, 5, n_words)


def _merges_in_parts(syms, starts, lengths, counts, n_parts, n_tokens, heavy, min_count=1, keep_at_most=0,
                     after_merge=lambda state: None):
    """Train with every merge listing at least ``heavy`` words cut into ``n_parts`` runs of words
    (parts run one after the other here), the first table built with ``min_count`` and
    ``keep_at_most`` (``init_pairs``; merging stops at its floor), ``after_merge(state)`` called
    after each merge done in parts."""
    import numpy as np
    from tokforge.kernels import bpe_train
    words = bpe_train.layout_words(syms, np.arange(syms.max() + 1, dtype=np.int32), starts, lengths, counts)
    state = bpe_train.init_pairs(words, np.arange(syms.max() + 1, dtype=np.int64), np.zeros((0, 3), np.int64),
                                 min_count, bpe_train.new_part(), n_parts, keep_at_most=keep_at_most)
    cuts = bpe_train.word_cuts(words, n_parts)
    spare = [bpe_train.new_part() for _ in range(n_parts - 1)]
    pending = 0
    while True:
        state, status = bpe_train.merge_steps(state, 100, n_tokens, bpe_train.floor_of(state), 0, 0, heavy)
        if status == bpe_train.PENDING:
            pending += 1
            done = [bpe_train.merge_part(state, p, cuts[k], cuts[k + 1])
                    for k, p in enumerate([bpe_train.own_part(state)] + spare)]
            for part in done:
                state = bpe_train.apply_part(state, part)
            state, spare = bpe_train.end_merge(state, done[0]), done[1:]
            after_merge(state)
        elif status == bpe_train.DONE:
            return bpe_train.merges(state).tolist(), pending


def test_words_cut_into_parts_give_the_same_merges():
    """Rewriting each merge's words in parts (as tokforge.models.bpe_trainer does on threads) changes nothing,
    whatever the number of parts."""
    import numpy as np
    from tokforge.kernels import bpe_train
    syms, starts, lengths, counts = _random_words(0)
    state = bpe_train.init_state(syms, starts, lengths, counts, np.arange(6))
    state, status = bpe_train.merge_steps(state, 1000, 200, 1, 0, 0)
    serial = bpe_train.merges(state).tolist()
    assert status == bpe_train.DONE and len(serial) == 194
    for n_parts, heavy in ((1, 1), (2, 1), (3, 1), (2, 5_000)):
        merges, pending = _merges_in_parts(syms, starts, lengths, counts, n_parts, 200, heavy)
        assert merges == serial, (n_parts, heavy)
        assert pending > 0 and (heavy > 1) == (pending < len(serial))


def test_pairs_counted_in_parts_give_the_same_table():
    """The first count and the word lists split by pair (one part per thread in train_bpe) hold the same
    pairs, counts and words for any number of parts; rare pairs are left out alike."""
    import numpy as np
    from tokforge.kernels import bpe_train

    def table(n_parts, min_count):
        syms, starts, lengths, counts = _random_words(1, n_words=20_000, alphabet=40)
        words = bpe_train.layout_words(syms, np.arange(40, dtype=np.int32), starts, lengths, counts)
        state = bpe_train.init_pairs(words, np.arange(40, dtype=np.int64), np.zeros((0, 3), np.int64), min_count,
                                     bpe_train.new_part(), n_parts)
        pool, pairs = state[bpe_train.S_POOL], {}
        for key, count, block in zip(state[bpe_train.S_PKEY], state[bpe_train.S_PCOUNT], state[bpe_train.S_PHEAD]):
            if key != -1:
                assert pool[block] == -1  # one block per pair at first
                pairs[int(key)] = (int(count), pool[block + 2:block + 2 + pool[block + 1]].tolist())
        return pairs, int(state[bpe_train.S_SCAL][bpe_train.DROPPED])

    every, _ = table(1, 1)
    median = int(np.median([count for count, _ in every.values()]))
    for min_count in (1, median):
        one, dropped = table(1, min_count)
        assert len(one) > 500 and dropped == (min_count > 1) and (len(one) < len(every)) == (min_count > 1)
        assert all(refs == sorted(set(refs)) for _, refs in one.values())
        for n_parts in (2, 3):
            assert table(n_parts, min_count) == (one, dropped), (n_parts, min_count)


@settings(max_examples=100, deadline=None)
@given(corpora, st.integers(256, 300), st.integers(1, 3))
def test_merges_on_threads_match_reference(counts, vocab_size, min_frequency):
    """train_bpe with every merge cut into one part per thread: on the default threads (2 here)
    and on the number given as ``threads``."""
    import unittest.mock
    import tokforge.models.bpe_trainer as bpe_module
    expected = reference_train_bpe(counts, vocab_size, min_frequency)
    with unittest.mock.patch.object(bpe_module, "HEAVY_MERGE_WORDS", 1), \
            unittest.mock.patch.object(bpe_module.os, "cpu_count", lambda: 2):
        for threads in (None, 1, 3):
            model = train_bpe(WordCounts.from_dict(counts), vocab_size, min_frequency=min_frequency, threads=threads)
            assert learned(model) == expected, threads


@pytest.mark.parametrize("threads", [0, -1])
def test_fewer_than_one_thread_is_refused(threads):
    with pytest.raises(ConfigError, match=f"threads must be >= 1 \\(or None\\), got {threads}"):
        train_bpe(WordCounts.from_dict({"hug": 3}), 258, threads=threads)


@st.composite
def segmented_words(draw):
    """Tokens over bytes a, b, c (some built twice over, as "ab"+"c" and "a"+"bc") and words
    written in them in any segmentation: merges that yield an existing token are frequent, and
    pairs rarer than min_frequency that such a merge gives new occurrences are recounted."""
    tokens = [b"a", b"b", b"c"]
    merges = []
    for _ in range(draw(st.integers(0, 8))):
        x, y = draw(st.integers(0, len(tokens) - 1)), draw(st.integers(0, len(tokens) - 1))
        if tokens[x] + tokens[y] not in tokens and len(tokens[x] + tokens[y]) <= 4:
            merges.append((x, y, len(tokens)))
            tokens.append(tokens[x] + tokens[y])
    words = draw(st.lists(st.tuples(st.lists(st.integers(0, len(tokens) - 1), min_size=1, max_size=10),
                                    st.integers(1, 4)), min_size=1, max_size=12))
    return tokens, merges, words


@settings(max_examples=300, deadline=None)
@given(segmented_words(), st.integers(1, 3), st.integers(1, 30), st.sampled_from([0, 1, 3]))
def test_merges_of_segmented_words_match_reference(case, min_frequency, steps, heavy):
    """The kernel on words in any segmentation into inherited tokens (as SuperBPE's stage 2 gets
    them): the same merges as recounting every pair at every step, merges cut into parts too."""
    import numpy as np
    from tokforge.kernels import bpe_train
    tokens, merges, words = case
    syms = np.array([t for w, _ in words for t in w], np.int32)
    lengths = np.array([len(w) for w, _ in words])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    state = bpe_train.init_state(syms, starts, lengths, np.array([n for _, n in words]), np.frombuffer(b"abc", np.uint8),
                                 np.array(merges, np.int64).reshape(-1, 3), min_count=min_frequency)
    cut = int(bpe_train.word_cuts(state[bpe_train.S_WORDS], 2)[1])
    learned = []
    while len(learned) < steps:
        state, status = bpe_train.merge_steps(state, 1, 10**9, min_frequency, 0, 0, heavy)
        if status == bpe_train.PENDING:
            first = bpe_train.merge_part(state, bpe_train.own_part(state), 0, cut)
            second = bpe_train.merge_part(state, bpe_train.new_part(), cut, bpe_train.words_end(state))
            state = bpe_train.end_merge(bpe_train.apply_part(bpe_train.apply_part(state, first), second), first)
        elif status == bpe_train.DONE:
            break
        learned = bpe_train.merges(state).tolist()[len(merges):]
    assert [tuple(m) for m in learned] == reference_merge_symbols(words, tokens, steps, min_frequency)


def test_tables_that_grow_drop_and_compact_match_reference():
    """Enough distinct pairs that the pair table is rebuilt (dropping pairs rarer than
    min_frequency), the heap requeued and the word lists compacted, against the oracle."""
    import numpy as np
    from tokforge.kernels import bpe_train
    syms, starts, lengths, counts = _random_words(1, n_words=3000, alphabet=40)
    state = bpe_train.init_state(syms, starts, lengths, counts, np.arange(40), min_count=3)
    pool_size, table_size = len(state[bpe_train.S_POOL]), len(state[bpe_train.S_PKEY])
    state, _ = bpe_train.merge_steps(state, 150, 10**9, 3, 0, 0)
    assert len(state[bpe_train.S_PKEY]) != table_size and len(state[bpe_train.S_POOL]) != pool_size
    words = [(syms[s:s + n].tolist(), int(c)) for s, n, c in zip(starts, lengths, counts)]
    expected = reference_merge_symbols(words, [bytes([i]) for i in range(40)], 150, 3)
    assert [tuple(m) for m in bpe_train.merges(state).tolist()] == expected


def _exact_pair_counts(words):
    """Every adjacent pair of a state's words (``bpe_train``'s layout: a header of 4, the symbols,
    then ``-(slots freed)`` after a word that shrank) with its count: the slow oracle of the table."""
    from collections import Counter
    from tokforge.kernels import bpe_train
    counts, ref = Counter(), 0
    while ref < len(words):
        if words[ref] < 0:          # the slots a shrunk word freed
            ref -= int(words[ref])
            continue
        n = int(words[ref + bpe_train.H_LEN])
        c = int(words[ref + bpe_train.H_COUNT_LO]) & 0xFFFFFFFF | int(words[ref + bpe_train.H_COUNT_HI]) << 32
        syms = words[ref + bpe_train.HEADER:ref + bpe_train.HEADER + n].tolist()
        for a, b in zip(syms, syms[1:]):
            counts[a << 32 | b] += c
        ref += bpe_train.HEADER + n
    return counts


def test_merges_cut_into_parts_keep_every_count_exact_when_the_table_is_rebuilt_between_parts():
    """A merge cut into parts (threads) applies them one after the other; a new pair holds only the
    occurrences of the parts applied so far. When the pair table fills up between two parts, the
    rebuild must not drop such a pair as rarer than the floor (its count would restart from the next
    part's): after every merge each pair of the table has its exact count, and every pair counted at
    least the floor is there. 60 symbols, a floor from keeping 150 pairs: the table is rebuilt often."""
    from tokforge.kernels import bpe_train
    for seed in range(3):
        syms, starts, lengths, counts = _random_words(seed, n_words=3000, alphabet=60)
        floors = []

        def check(state):
            exact = _exact_pair_counts(state[bpe_train.S_WORDS])
            table = {int(k): int(c) for k, c in zip(state[bpe_train.S_PKEY], state[bpe_train.S_PCOUNT])
                     if k != -1 and c > 0}
            floor = bpe_train.floor_of(state)
            assert {k: exact[k] for k in table} == table, (seed, bpe_train.n_tokens(state))
            assert {k for k, c in exact.items() if c >= floor} <= set(table), (seed, bpe_train.n_tokens(state))
            floors.append(floor)

        _merges_in_parts(syms, starts, lengths, counts, 2, 400, 1, min_count=2, keep_at_most=150, after_merge=check)
        assert len(floors) > 50 and min(floors) > 2
