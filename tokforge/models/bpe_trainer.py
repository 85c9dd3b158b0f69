"""Byte-level BPE training: the pure trainer ``train_bpe(word_counts) -> BPEModel`` (the model is
``tokforge.models.bpe``).

Ids: special tokens first (in the order given), then the 256 byte tokens in the order of
their byte-level characters (``BYTE_ORDER``, as HF's BpeTrainer), then one id per learned
token in the order learned. Merge rule and tie-breaking: see ``tokforge.kernels.bpe_train``.

    >>> from tokforge.counting.words import WordCounts
    >>> model = train_bpe(WordCounts.from_dict({"hug": 10, "pug": 5, "hugs": 5}), vocab_size=258)
    >>> [model.vocab[i] for i in range(256, 258)]
    [b'ug', b'hug']
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

import numpy as np

from tokforge.counting.words import WordCounts
from tokforge.errors import ConfigError
from tokforge.kernels import bpe_train
from tokforge.large_arrays import map_large_arrays
from tokforge.models.bpe import BPEModel, KnownWords
from tokforge.text.bytelevel import BYTE_ORDER

MERGES_PER_CALL = 256  # merges per kernel call, so progress can be shown between calls
HEAVY_MERGE_WORDS = 20_000  # a merge whose pair lists this many words is cut into one part per thread
# the first pair table keeps about this many pairs per merge to do, the most frequent (the rest are
# counted again if merging ever needs them: ``bpe_train.refill``); SuperBPE's stage 2 starts with
# 3.0M pairs, of which some 25,600 are kept for its 12,800 merges (4 per merge: 0.1 s more in stage
# 2 on the benchmark corpus; 1.2 per merge: a refill in SuperBPE's stage 2 on each of its domains)
PAIRS_KEPT_PER_MERGE = 2
SHARES_PER_THREAD = 4  # the words to encode in parallel are cut into this many shares per thread
MOST_THREADS = 2  # training merges on at most this many threads (more do not pay: one merge is short)


def training_threads() -> int:
    """The threads ``train_bpe`` merges on: one per core, at most ``MOST_THREADS``."""
    return min(MOST_THREADS, os.cpu_count() or 1)


def train_bpe(word_counts: WordCounts, vocab_size: int, *, special_tokens: Sequence[str] = (),
              min_frequency: int = 2, max_token_length: int | None = None, max_words: int | None = None,
              start: BPEModel | None = None, known: list[KnownWords] | None = None, threads: int | None = None,
              encoded: list[tuple[np.ndarray, np.ndarray]] | None = None,
              on_progress: Callable[[int], None] | None = None, report: dict[str, Any] | None = None) -> BPEModel:
    """Learn merges from word counts until the vocabulary (specials + 256 bytes + merges) has
    ``vocab_size`` tokens, or no pair occurs at least ``min_frequency`` times. When it stops short,
    ``report`` (if given) gets ``"stopped"``: why, in words.

    ``max_words`` caps the words (runs of non-whitespace) in a learned token. ``start`` continues
    from a model trained before (with the same special tokens): its merges are kept as the first
    merges and replayed on the words (as encoding with it does), then training goes on -- SuperBPE's
    second stage. ``known``: a list of one ``KnownWords`` of ``start`` (handed over: freed once
    replayed), the words the replay need not encode.

    ``threads``: the threads merging runs on (default ``training_threads()``); the merges are the
    same for any number.

    ``encoded`` (a list) gets the encoding of every word of ``word_counts`` by the model (ids, id
    bounds), as merging left the words -- unless a merge reused a token's string: then the words may
    differ from their encoding, and ``encoded`` stays empty. The model's encode tables are then built
    (while the words are read out): it is about to encode (SuperBPE's replay).

        >>> first = train_bpe(WordCounts.from_dict({"a b": 4, "a": 3}), 257)
        >>> [first.vocab[a] + first.vocab[b] for a, b in first.merges]
        [b'a ']
        >>> more = train_bpe(WordCounts.from_dict({"a b": 4, "a": 3}), 258, start=first)
        >>> [more.vocab[a] + more.vocab[b] for a, b in more.merges]
        [b'a ', b'a b']
    """
    specials = list(dict.fromkeys(special_tokens))
    if len(specials) != len(special_tokens):
        raise ConfigError(f"special tokens must be unique, got {list(special_tokens)}")
    n_fixed = len(specials) + 256
    if vocab_size < n_fixed:
        raise ConfigError(f"vocab_size {vocab_size} is smaller than the {len(specials)} special "
                          f"tokens + 256 byte tokens; use at least {n_fixed}")
    if min_frequency < 1:
        raise ConfigError(f"min_frequency must be >= 1, got {min_frequency}")
    if max_token_length is not None and max_token_length < 2:
        raise ConfigError(f"max_token_length must be >= 2 bytes (or None), got {max_token_length}")
    if max_words is not None and max_words < 1:
        raise ConfigError(f"max_words must be >= 1 (or None), got {max_words}")
    if threads is not None and threads < 1:
        raise ConfigError(f"threads must be >= 1 (or None), got {threads}")
    offset = len(specials)
    threads = threads or training_threads()
    map_large_arrays()
    if start is None:
        table = np.empty(256, np.int32)  # byte -> symbol
        table[list(BYTE_ORDER)] = np.arange(256, dtype=np.int32)
        bounds, n_words = word_counts.offsets, len(word_counts)
        words = bpe_train.layout_words(word_counts.arena, table, bounds[:-1], np.diff(bounds), word_counts.counts)
        del bounds, word_counts  # not needed any more: freed here unless the caller holds them
        inherited = np.zeros((0, 3), np.int64)
        n_start = 256  # tokens before training (internal ids, without the specials)
    else:
        if start.special_tokens != {s: i for i, s in enumerate(specials)}:
            raise ConfigError(f"the model to continue from has special tokens {start.special_tokens}, "
                              f"not {specials}; continue with the same special tokens")
        handed, n_words = [word_counts], len(word_counts)
        del word_counts  # handed over (SuperBPE's stage 2): its bytes, replayed into the words, are freed there
        words = _replayed_words(start, handed.pop(), threads, known.pop() if known else None)
        inherited = _internal_merges(start, offset)
        n_start = len(start.vocab) - offset
    target = vocab_size - offset
    with ThreadPoolExecutor(threads) as pool:
        keep = max(1, int(PAIRS_KEPT_PER_MERGE * (target - n_start)))
        state, cuts = _initial_state(words, inherited, min_frequency, threads, pool, keep)
        del words
        spare = [bpe_train.new_part() for _ in range(len(cuts) - 2)]
        heavy = HEAVY_MERGE_WORDS if spare else 0
        refilled_at = n_start - 1  # tokens when the pairs were last counted
        while True:
            floor = bpe_train.floor_of(state)
            state, status = bpe_train.merge_steps(state, MERGES_PER_CALL, target, floor,
                                                  max_token_length or 0, max_words or 0, heavy)
            if status == bpe_train.PENDING:
                state, spare = _merge_on_threads(pool, state, cuts, spare)
            if on_progress is not None:
                on_progress(int(bpe_train.n_tokens(state)) + offset)
            if status == bpe_train.DONE:
                n_now = bpe_train.n_tokens(state)
                if floor == min_frequency or n_now >= target:
                    break
                # merging reached the floor short of the target: the rarer pairs, counted now -- about
                # as many as at the start for the merges left, every one if the last refill gave none
                keep = max(1, int(PAIRS_KEPT_PER_MERGE * (target - n_now))) if n_now > refilled_at else 0
                refilled_at = n_now
                state = bpe_train.refill(state, np.array(BYTE_ORDER, np.int64), min_frequency,
                                         bpe_train.own_part(state), threads, pool.map, keep)
    if report is not None and int(bpe_train.n_tokens(state)) < target:
        report["stopped"] = _stop_reason(state, min_frequency, max_token_length, max_words)
    if encoded is None or bpe_train.merges_reuse(state):
        return _model_from_merges(bpe_train.merges(state), specials, start)
    with ThreadPoolExecutor(1) as pool:  # the words are read out while the model and its encode tables are built
        words_now = pool.submit(bpe_train.word_symbols, state, n_words)
        model = _model_from_merges(bpe_train.merges(state), specials, start)
        model.tables(), model.own_tokens()
        symbols, bounds = words_now.result()
    encoded.append((symbols + np.int32(offset), bounds))
    return model


def warm_up() -> None:
    """Load the compiled training kernels (numba's cache; about 0.4 s) by training on three words:
    ``tokforge.training`` calls it in a thread while the corpus is counted."""
    train_bpe(WordCounts.from_dict({"hug": 10, "pug": 5, "hugs": 5}), 259)


def _initial_state(words: np.ndarray, inherited: np.ndarray, min_frequency: int, threads: int,
                   pool: ThreadPoolExecutor, keep: int) -> tuple[tuple, list[int]]:
    """The kernel's training state over ``words`` (``bpe_train.layout_words``; its passes over the
    words cut into one run of words per thread), with about the ``keep`` most frequent pairs (see
    ``PAIRS_KEPT_PER_MERGE``), and the cut of the words into one part per thread for the heavy
    merges (word refs)."""
    state = bpe_train.init_pairs(words, np.array(BYTE_ORDER, np.int64), inherited, min_frequency,
                                 bpe_train.new_part(), threads, pool.map, keep)
    return state, bpe_train.word_cuts(words, threads)


def _merge_on_threads(pool: ThreadPoolExecutor, state: tuple, cuts: list[int], spare: list) -> tuple[tuple, list]:
    """Finish the pending merge with one part of the words per thread, applied in word order (the
    same result as one part); returns the state and the spare parts to reuse."""
    parts = [bpe_train.own_part(state)] + spare
    done = list(pool.map(lambda k: bpe_train.merge_part(state, parts[k], cuts[k], cuts[k + 1]), range(len(parts))))
    for part in done:
        state = bpe_train.apply_part(state, part)
    return bpe_train.end_merge(state, done[0]), done[1:]


def _stop_reason(state: tuple, min_frequency: int, max_token_length: int | None, max_words: int | None) -> str:
    """Why merging ended before the target: from the best count left in the pair table."""
    best = int(bpe_train.best_count_left(state))
    if best == 0:
        return "no pair of tokens is left to merge: every word of the corpus is already one token"
    if best < min_frequency:
        return (f"the most frequent pair left occurs {best:,} time{'s' * (best > 1)}, fewer than "
                f"min_frequency={min_frequency} "
                "(more text or a lower min_frequency gives more merges)")
    limits = [f"{name}={value}" for name, value in (("max_token_length", max_token_length),
                                                    ("max_words", max_words)) if value]
    return f"every pair left would make a token beyond {' or '.join(limits)}"


def train_bpe_from_config(word_counts: WordCounts, config, special_tokens: Sequence[str],
                          on_progress: Callable[[int], None] | None = None,
                          report: dict[str, Any] | None = None) -> BPEModel:
    """``train_bpe`` with the fields of a ``TrainConfig`` (``vocab_size``, ``min_frequency``,
    ``max_token_length``): the call of ``algo="bpe"`` (``special_tokens``: the config's and the number
    stage's) and of the morph hybrid's BPE fallback (the config's and the stage tokens)."""
    return train_bpe(word_counts, config.vocab_size, special_tokens=special_tokens,
                     min_frequency=config.min_frequency, max_token_length=config.max_token_length,
                     on_progress=on_progress, report=report)


def _replayed_words(model: BPEModel, word_counts: WordCounts, threads: int, known: KnownWords | None) -> np.ndarray:
    """The ``words`` array (``bpe_train.layout_words``) of ``word_counts`` encoded by ``model`` (the
    replay): the words are cut into shares, ``SHARES_PER_THREAD`` per thread, each encoded
    (``encode_packed``, long words, with the ``known`` words: the kernel releases the GIL), then each
    laid out into its place in the array, on ``threads`` threads -- the words' bytes are freed once
    encoded."""
    offset = len(model.special_tokens)
    table = np.arange(-offset, len(model.vocab) - offset, dtype=np.int32)  # id -> symbol
    bounds, counts, n_words = word_counts.offsets, word_counts.counts, len(word_counts)
    model.tables(), model.joinable(), model.own_tokens()  # built once, before the threads
    cuts = np.searchsorted(bounds, np.linspace(bounds[0], bounds[-1], SHARES_PER_THREAD * threads + 1)[1:-1])
    edges = [0, *sorted(set(cuts.tolist()) - {0, n_words}), n_words] if threads > 1 and n_words >= 10_000 \
        else [0, n_words]
    held = [word_counts, known]
    del word_counts, bounds, known

    def encode(k: int) -> tuple[np.ndarray, np.ndarray]:
        return model.encode_packed(held[0].arena, held[0].offsets[edges[k]:edges[k + 1] + 1], long_words=True,
                                   known=held[1])
    with ThreadPoolExecutor(threads) as pool:
        shares = list(pool.map(encode, range(len(edges) - 1)))
        held.clear()  # the words' bytes are freed here (the caller handed them over)
        lengths = [np.diff(share_bounds) for _, share_bounds in shares]
        starts = np.cumsum([0, *(bpe_train.HEADER * len(n) + len(ids) for n, (ids, _) in zip(lengths, shares))])
        words = np.empty(bpe_train.words_size(n_words, sum(len(ids) for ids, _ in shares)), np.int32)

        def lay_out(k: int) -> None:
            ids, share_bounds = shares[k]
            shares[k] = None  # freed once laid out
            bpe_train.layout_words_at(words, starts[k], ids, table, share_bounds[:-1], lengths[k],
                                      counts[edges[k]:edges[k + 1]])
        list(pool.map(lay_out, range(len(shares))))
    return words


def _internal_merges(model: BPEModel, offset: int) -> np.ndarray:
    """The model's merges as the kernel's rows [left, right, new id] (ids without the specials)."""
    if list(model.vocab[offset:offset + 256]) != [bytes([b]) for b in BYTE_ORDER]:
        raise ConfigError("the model to continue from was not trained by tokforge (its byte tokens are "
                          "not in tokforge's order); train both stages with tokforge")
    rows = np.empty((len(model.merges), 3), np.int64)
    rows[:, :2] = np.array(model.merges, np.int64).reshape(-1, 2) - offset
    rows[:, 2] = model.merge_results() - offset
    return rows


def _model_from_merges(merges: np.ndarray, specials: list[str], start: BPEModel | None = None) -> BPEModel:
    """Lay out ids (specials, bytes, learned tokens) from the kernel's internal merges; those of
    ``start`` (the model training went on from: its merges come first) are taken from it as they are."""
    offset = len(specials)
    if start is None:
        vocab = [s.encode("utf-8") for s in specials] + [bytes([b]) for b in BYTE_ORDER]
        pairs, results = [], np.zeros(0, np.int64)
    else:
        vocab, pairs, results = list(start.vocab), list(start.merges), start.merge_results()
    rows = merges[len(pairs):] + offset
    lefts, rights, news = rows[:, 0].tolist(), rows[:, 1].tolist(), rows[:, 2].tolist()
    for a, b, new in zip(lefts, rights, news):
        if new == len(vocab):
            vocab.append(vocab[a] + vocab[b])
    pairs.extend(zip(lefts, rights))
    return BPEModel.learned(vocab, pairs, {s: i for i, s in enumerate(specials)}, np.concatenate([results, rows[:, 2]]))
