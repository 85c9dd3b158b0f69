"""Byte-level Unigram LM training: the pure trainer ``train_unigram(word_counts) -> UnigramModel``
(the model is ``tokforge.models.unigram``).

Training follows sentencepiece's ``unigram_model_trainer``: seed pieces are the frequent
substrings of the words (``tokforge.kernels.unigram_seed``), scored by frequency x characters;
then rounds of EM (forward-backward E-step, Bayesian M-step ``digamma(count) - digamma(total)``)
and pruning (keep the pieces whose removal would cost the corpus log-likelihood the most, by
sentencepiece's approximation, shrinking the vocabulary by ``shrinking_factor`` a round) until
at most 1.1 x the target is left; the best-scored pieces then make exactly ``vocab_size``.
Ids: special tokens first, then the 256 byte tokens in ``BYTE_ORDER`` (as BPE), then the learned
pieces by decreasing score. :func:`with_byte_fallback` makes the sentencepiece-style layout.

    >>> from tokforge.counting.words import WordCounts
    >>> counts = WordCounts.from_dict({"hug": 10, "pug": 5, "hugs": 5, "pun": 4, "bun": 6})
    >>> model = train_unigram(counts, vocab_size=260)
    >>> sorted(model.vocab[256:])
    [b'bun', b'hug', b'pug', b'pun']
    >>> [model.vocab[i] for i in model.encode_pieces([b"hugs"])[0]]
    [b'hug', b's']
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from tokforge.counting.words import WordCounts
from tokforge.errors import ConfigError
from tokforge.kernels import unigram_lattice as lattice
from tokforge.kernels import unigram_seed
from tokforge.models.unigram import SCORE_DECIMALS, UNK_TOKEN, UnigramModel
from tokforge.packed import even_ranges, offsets_from_lengths
from tokforge.text.bytelevel import BYTE_ORDER
from tokforge.text.layout import METASPACE, METASPACE_MARK, layout_of

MIN_EXPECTED = 1e-3      # expected counts below this are raised to it in the M-step (finite scores)
DROP_EXPECTED = 0.5      # the M-step drops pieces expected fewer times (sentencepiece's threshold)
DESIRED_MARGIN = 1.1     # EM and pruning stop at this many times the target; the final cut is by score
N_CHUNKS = 8             # words (and pieces) are cut into this many chunks, summed in order: the
                         # result does not depend on the number of threads


def with_byte_fallback(model: UnigramModel, vocab_size: int) -> UnigramModel:
    """The sentencepiece-style layout of a trained byte-level model: special tokens (with
    ``<unk>`` added last if missing), the 256 byte tokens, then the pieces that are whole
    characters (learned pieces and ASCII bytes; not a byte token's or special's string) by
    decreasing score, cut to exactly ``vocab_size`` tokens. Characters left without a piece are
    encoded by their bytes.

    >>> m = UnigramModel([b"<s>"] + [bytes([b]) for b in range(256)] + ["é".encode(), b"ab"],
    ...                  [0.0] + [-9.0] * 256 + [-2.0, -1.0], {"<s>": 0})
    >>> fb = with_byte_fallback(m, 262)
    >>> [fb.token_text(i) for i in (0, 1, 2, 258, 259)], len(fb.vocab)
    (['<s>', '<unk>', '<0x00>', 'ab', 'é'], 262)
    """
    specials = dict(model.special_tokens)
    if UNK_TOKEN not in specials:
        specials[UNK_TOKEN] = len(specials)
    n_pieces = vocab_size - len(specials) - 256
    if n_pieces < 0:
        raise ConfigError(f"vocab_size {vocab_size} is smaller than the {len(specials)} special tokens "
                          f"(with {UNK_TOKEN}) + 256 byte tokens; use at least {len(specials) + 256}")
    fixed = {t.replace(METASPACE_MARK, " ") for t in specials} | {METASPACE.byte_token(b) for b in range(256)}
    candidates = []
    special_ids = set(model.special_tokens.values())
    for i, piece in enumerate(model.vocab):
        if i in special_ids or (len(piece) == 1 and piece[0] >= 0x80):
            continue
        try:
            text = piece.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if text not in fixed:
            candidates.append((-model.scores[i], i))
    chosen = [i for _, i in sorted(candidates)[:n_pieces]]
    if len(chosen) < n_pieces:
        raise ConfigError(f"vocab_size {vocab_size} is larger than the corpus supports with byte fallback: only "
                          f"{len(chosen)} pieces are whole characters; use a vocab_size of at most "
                          f"{vocab_size - n_pieces + len(chosen)}")
    ordered = sorted(specials, key=specials.get)
    vocab = [t.encode("utf-8") for t in ordered] + [bytes([b]) for b in range(256)] + [model.vocab[i] for i in chosen]
    scores = [0.0] * (len(ordered) + 256) + [model.scores[i] for i in chosen]
    return UnigramModel(vocab, scores, {t: k for k, t in enumerate(ordered)}, byte_fallback=True)


@dataclass
class _Pieces:
    """The pieces being trained: ``arena[offsets[p]:offsets[p+1]]``; pieces 0..255 are the bytes."""

    arena: np.ndarray
    offsets: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    def trie(self):
        return lattice.build_trie(self.arena, self.offsets, np.arange(len(self), dtype=np.int32))

    def subset(self, keep: np.ndarray, scores: np.ndarray) -> "_Pieces":
        """The pieces ``keep`` (indices, increasing, starting with the 256 bytes) with new scores."""
        lengths = np.diff(self.offsets)[keep]
        offsets = offsets_from_lengths(lengths)
        gather = np.repeat(self.offsets[keep] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return _Pieces(self.arena[gather], offsets, scores)

    def piece(self, p: int) -> bytes:
        return self.arena[self.offsets[p]:self.offsets[p + 1]].tobytes()


def train_unigram(word_counts: WordCounts, vocab_size: int, *, special_tokens: Sequence[str] = (),
                  min_frequency: int = 2, max_piece_chars: int = 16, max_token_length: int | None = None,
                  seed_size: int = 1_000_000, shrinking_factor: float = 0.75, num_sub_iterations: int = 2,
                  on_progress: Callable[[int], None] | None = None) -> UnigramModel:
    """Train a byte-level Unigram model of exactly ``vocab_size`` tokens (specials + 256 bytes +
    learned pieces) on word counts.

    Seeds are substrings of at most ``max_piece_chars`` characters (and ``max_token_length``
    bytes) occurring at least ``min_frequency`` times, the ``seed_size`` best by frequency x
    characters. ``on_progress`` receives the number of pieces left after each round.
    """
    specials = list(dict.fromkeys(special_tokens))
    if len(specials) != len(special_tokens):
        raise ConfigError(f"special tokens must be unique, got {list(special_tokens)}")
    target = vocab_size - len(specials)
    if target < 256:
        raise ConfigError(f"vocab_size {vocab_size} is smaller than the {len(specials)} special "
                          f"tokens + 256 byte tokens; use at least {len(specials) + 256}")
    if min_frequency < 1:
        raise ConfigError(f"min_frequency must be >= 1, got {min_frequency}")
    if max_piece_chars < 1:
        raise ConfigError(f"max_piece_chars must be >= 1, got {max_piece_chars}")
    if max_token_length is not None and max_token_length < 2:
        raise ConfigError(f"max_token_length must be >= 2 bytes (or None), got {max_token_length}")
    if not 0.0 < shrinking_factor < 1.0:
        raise ConfigError(f"shrinking_factor must be between 0 and 1, got {shrinking_factor}")
    if num_sub_iterations < 1 or seed_size < 1:
        raise ConfigError("num_sub_iterations and seed_size must be >= 1")

    words = _Words(word_counts)
    pieces = _seed_pieces(word_counts, min_frequency, max_piece_chars, max_token_length or 4 * max_piece_chars,
                          seed_size)
    if len(pieces) < target:
        raise ConfigError(
            f"vocab_size {vocab_size} is larger than the corpus supports: only {len(pieces) - 256} candidate "
            f"pieces occur at least min_frequency={min_frequency} times (+ 256 bytes + {len(specials)} specials); "
            f"use a vocab_size of at most {len(pieces) + len(specials)}, a lower min_frequency or more text")
    desired = max(target, 256 + int((target - 256) * DESIRED_MARGIN))
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        words.pool = pool
        words.build_lattices(pieces.trie())
        while True:
            for _ in range(num_sub_iterations):
                expected = words.map_sum(lattice.forward_backward, pieces.scores)
                pieces, new_id = _m_step(pieces, expected, target)
                words.drop_pieces(new_id)
            if on_progress is not None:
                on_progress(len(pieces) + len(specials))
            if len(pieces) <= desired:
                break
            pieces, new_id = _prune(pieces, words, desired, shrinking_factor)
            words.drop_pieces(new_id)
    return _final_model(pieces, target, specials)


def train_unigram_from_config(word_counts: WordCounts, config, special_tokens: Sequence[str],
                              on_progress: Callable[[int], None] | None = None,
                              report: dict | None = None) -> UnigramModel:
    """``train_unigram`` with the fields of a ``TrainConfig`` (``vocab_size``, ``min_frequency``,
    ``max_token_length``; ``pattern="metaspace"``: then ``with_byte_fallback``): the call of
    ``algo="unigram"`` and of the morph hybrid's Unigram fallback (whose ``special_tokens`` are the
    config's plus the stage tokens). ``report`` is left as it is: the model has exactly
    ``vocab_size`` tokens (a corpus too small for that is a ConfigError), as ``train_bpe_from_config``'s
    may not."""
    model = train_unigram(word_counts, config.vocab_size, special_tokens=special_tokens,
                          min_frequency=config.min_frequency, max_token_length=config.max_token_length,
                          on_progress=on_progress)
    return with_byte_fallback(model, config.vocab_size) if layout_of(config.pattern).byte_fallback else model


class _Words:
    """The training words cut into ``N_CHUNKS`` chunks of about equal bytes, each with the
    lattices of its words; kernels run on the chunks on a thread pool (they release the GIL)
    and their per-chunk results are summed in chunk order."""

    def __init__(self, wc: WordCounts):
        self.arena, self.offsets, self.counts = wc.arena, wc.offsets, wc.counts
        self.ranges = even_ranges(wc.offsets, N_CHUNKS)
        self.pool: ThreadPoolExecutor | None = None
        self.lattices: list[tuple] = []

    def _map(self, fn, items):
        return list(self.pool.map(fn, items)) if self.pool else [fn(x) for x in items]

    def build_lattices(self, trie) -> None:
        longest = int(np.diff(self.offsets).max(initial=0))
        positions = np.empty(0, np.uint16 if longest < 1 << 16 else np.int32)
        self.lattices = self._map(
            lambda r: lattice.lattice_edges(self.arena, self.offsets[r[0]:r[1] + 1], *trie, positions), self.ranges)

    def drop_pieces(self, new_id: np.ndarray) -> None:
        """Remove the lattice edges of the pieces with ``new_id < 0``, renumber the others."""
        def run(lat):
            m = lattice.filter_edges(*lat, new_id)
            return lat[0][:m], lat[1][:m], lat[2][:m], lat[3]
        self.lattices = self._map(run, self.lattices)

    def map_sum(self, kernel, scores) -> np.ndarray:
        """Sum over chunks of ``kernel(bounds, counts, *lattice, scores)[0]``."""
        def run(i):
            lo, hi = self.ranges[i]
            return kernel(self.offsets[lo:hi + 1], self.counts[lo:hi], *self.lattices[i], scores)[0]
        results = self._map(run, range(len(self.ranges)))
        total = np.zeros(len(scores))
        for r in results:
            total += r
        return total

    @property
    def total(self) -> float:
        return float(self.counts.sum())


def _seed_pieces(wc: WordCounts, min_frequency: int, max_chars: int, max_bytes: int, seed_size: int) -> _Pieces:
    """The 256 bytes, then the best multi-byte characters and substrings by frequency x characters."""
    arena = wc.arena
    byte_freq = np.bincount(arena, weights=np.repeat(wc.counts, np.diff(wc.offsets)).astype(np.float64),
                            minlength=256)
    cap = min(4 * max_chars, max_bytes)
    c_pos, c_len, c_freq = unigram_seed.char_counts(arena, wc.offsets, wc.counts)
    multi = c_len > 1
    s_pos, s_len, s_freq = unigram_seed.substring_candidates(arena, wc.offsets, wc.counts, max_chars, cap,
                                                             min_frequency)
    pos = np.concatenate([c_pos[multi], s_pos])
    length = np.concatenate([c_len[multi], s_len])
    freq = np.concatenate([c_freq[multi], s_freq])
    n_chars = _count_chars(arena, pos, length)
    keep = (freq >= min_frequency) & (length <= max_bytes) & (n_chars > 0)  # 0: stray continuation bytes
    pos, length, freq, n_chars = pos[keep], length[keep], freq[keep], n_chars[keep]
    score = freq.astype(np.float64) * n_chars
    order = np.lexsort((pos, -score))[:seed_size]  # best score first, ties by position
    pos, length, score = pos[order], length[order], score[order]
    lengths = np.concatenate([np.ones(256, np.int64), length])
    offsets = offsets_from_lengths(lengths)
    gather = np.repeat(pos - offsets[256:-1], length) + np.arange(256, offsets[-1])
    piece_arena = np.concatenate([np.arange(256, dtype=np.uint8), arena[gather]])
    all_scores = np.concatenate([np.maximum(byte_freq, 1.0), score])
    return _Pieces(piece_arena, offsets, np.log(all_scores) - np.log(all_scores.sum()))


def _count_chars(arena: np.ndarray, pos: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Characters (UTF-8 start bytes) in each ``arena[pos:pos+length]``."""
    starts = np.concatenate([[0], np.cumsum((arena & 0xC0) != 0x80)])
    return starts[pos + length] - starts[pos]


def _m_step(pieces: _Pieces, expected: np.ndarray, target: int) -> tuple[_Pieces, np.ndarray]:
    """Drop pieces expected fewer than 0.5 times (never the bytes, never below ``target`` pieces);
    score the rest ``digamma(expected) - digamma(sum)``. Returns the pieces and old -> new ids."""
    keep = expected >= DROP_EXPECTED
    keep[:256] = True
    if keep.sum() < target:  # keep the most expected of the dropped ones too
        dropped = np.flatnonzero(~keep)
        best = dropped[np.lexsort((dropped, -expected[dropped]))][: target - int(keep.sum())]
        keep[best] = True
    idx = np.flatnonzero(keep)
    kept = expected[idx]
    scores = digamma(np.maximum(kept, MIN_EXPECTED)) - digamma(max(kept.sum(), MIN_EXPECTED))
    return pieces.subset(idx, scores), _new_ids(len(pieces), idx)


def _new_ids(n: int, keep: np.ndarray) -> np.ndarray:
    """Old id -> new id (-1: dropped) when the pieces ``keep`` (increasing) are kept."""
    new_id = np.full(n, -1, np.int32)
    new_id[keep] = np.arange(len(keep), dtype=np.int32)
    return new_id


def _prune(pieces: _Pieces, words: _Words, desired: int, shrinking_factor: float) -> tuple[_Pieces, np.ndarray]:
    """Keep ``max(desired, shrinking_factor * n)`` pieces: the bytes, then the pieces whose removal
    loses the most likelihood; pieces never on a Viterbi path, or whose own Viterbi segmentation
    is not themselves, go last."""
    freq = words.map_sum(lattice.viterbi_counts, pieces.scores)
    alt_ids, alt_bounds, alt_score = _alternatives(pieces, pieces.trie(), words.pool)
    loss = lattice.removal_loss(freq, alt_ids, alt_bounds, words.total)
    removable = (freq == 0) | (alt_score > pieces.scores)
    n_keep = max(desired, int(shrinking_factor * len(pieces)))
    rest = np.arange(256, len(pieces))
    order = rest[np.lexsort((rest, -loss[rest], removable[rest]))][: n_keep - 256]
    keep = np.concatenate([np.arange(256), np.sort(order)])
    return pieces.subset(keep, pieces.scores[keep]), _new_ids(len(pieces), keep)


def _alternatives(pieces: _Pieces, trie, pool: ThreadPoolExecutor | None):
    """``lattice.alternatives`` of all pieces, computed in ``N_CHUNKS`` chunks of pieces (each piece's
    alternatives are its own: the chunks do not change them)."""
    ranges = even_ranges(pieces.offsets, N_CHUNKS)

    def run(r):
        lo, hi = r
        return lattice.alternatives(pieces.arena, pieces.offsets[lo:hi + 1], lo, *trie, pieces.scores)
    parts = list(pool.map(run, ranges)) if pool else [run(r) for r in ranges]
    alt_ids = np.concatenate([p[0] for p in parts])
    sizes = np.concatenate([np.diff(p[1]) for p in parts])
    return alt_ids, offsets_from_lengths(sizes), np.concatenate([p[2] for p in parts])


def _final_model(pieces: _Pieces, target: int, specials: list[str]) -> UnigramModel:
    rest = np.arange(256, len(pieces))
    learned = rest[np.lexsort((rest, -pieces.scores[rest]))][: target - 256]
    scores = np.round(pieces.scores, SCORE_DECIMALS)
    vocab = [s.encode("utf-8") for s in specials] + [bytes([b]) for b in BYTE_ORDER]
    vocab += [pieces.piece(p) for p in learned.tolist()]
    piece_scores = [0.0] * len(specials) + [float(scores[b]) for b in BYTE_ORDER]
    piece_scores += [float(scores[p]) for p in learned.tolist()]
    return UnigramModel(vocab, piece_scores, {s: i for i, s in enumerate(specials)})


def digamma(x: np.ndarray | float) -> np.ndarray:
    """The digamma function for x > 0 (recurrence to x >= 7, then the asymptotic series).

    >>> round(float(digamma(1.0)), 6)                      # -Euler's constant
    -0.577216
    """
    x = np.array(x, np.float64, copy=True)
    result = np.zeros_like(x)
    for _ in range(7):
        small = x < 7
        result[small] -= 1.0 / x[small]
        x[small] += 1.0
    x = x - 0.5
    xx2 = 1.0 / (x * x)
    xx4 = xx2 * xx2
    return result + np.log(x) + xx2 / 24.0 - 7.0 / 960.0 * xx4 + 31.0 / 8064.0 * xx4 * xx2 - 127.0 / 30720.0 * xx4 * xx4
