"""The EM core of Unigram LM training, on pieces as byte strings (no model yet): the seed pieces of
word counts, EM rounds, pruning (``train_pieces``, the loop of ``tokforge.models.unigram_trainer``),
and ``fit_scores``, EM that re-estimates only some pieces' scores (``tokforge.models.unigram_extend``).

Seed pieces are the frequent substrings of the words (``tokforge.kernels.unigram_seed``), scored by
frequency x characters; the E-step is forward-backward over each word's lattice, the M-step
sentencepiece's Bayesian ``digamma(count) - digamma(total)``; pruning keeps the pieces whose removal
would cost the corpus log-likelihood the most (sentencepiece's approximation).

    >>> from tokforge.counting.words import WordCounts
    >>> counts = WordCounts.from_dict({"hug": 10, "pug": 5, "hugs": 5, "pun": 4, "bun": 6})
    >>> words = Words(counts)
    >>> pieces = train_pieces(words, seed_pieces(counts, 2, 16, 64, 1000), 260)
    >>> sorted(pieces.piece(p) for p in range(256, len(pieces)))
    [b'bun', b'hug', b'pug', b'pun']
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tokforge.counting.words import WordCounts
from tokforge.kernels import unigram_lattice as lattice
from tokforge.kernels import unigram_seed
from tokforge.packed import even_ranges, offsets_from_lengths

MIN_EXPECTED = 1e-3      # expected counts below this are raised to it in the M-step (finite scores)
DROP_EXPECTED = 0.5      # the M-step drops pieces expected fewer times (sentencepiece's threshold)
DESIRED_MARGIN = 1.1     # EM and pruning stop at this many times the target; the final cut is by score
N_CHUNKS = 8             # words (and pieces) are cut into this many chunks, summed in order: the
                         # result does not depend on the number of threads


@dataclass
class Pieces:
    """The pieces being trained: ``arena[offsets[p]:offsets[p+1]]``; pieces 0..255 are the bytes."""

    arena: np.ndarray
    offsets: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    def trie(self):
        return lattice.build_trie(self.arena, self.offsets, np.arange(len(self), dtype=np.int32))

    def subset(self, keep: np.ndarray, scores: np.ndarray) -> "Pieces":
        """The pieces ``keep`` (indices, increasing, starting with the 256 bytes) with new scores."""
        lengths = np.diff(self.offsets)[keep]
        offsets = offsets_from_lengths(lengths)
        gather = np.repeat(self.offsets[keep] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return Pieces(self.arena[gather], offsets, scores)

    def piece(self, p: int) -> bytes:
        return self.arena[self.offsets[p]:self.offsets[p + 1]].tobytes()


def train_pieces(words: Words, pieces: Pieces, target: int, *, shrinking_factor: float = 0.75,
                 num_sub_iterations: int = 2, on_progress: Callable[[int], None] | None = None) -> Pieces:
    """EM rounds and pruning from the seed ``pieces`` (at least ``target``) until at most
    ``DESIRED_MARGIN`` x ``target`` are left; ``on_progress`` receives the number left after each round."""
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
                on_progress(len(pieces))
            if len(pieces) <= desired:
                break
            pieces, new_id = _prune(pieces, words, desired, shrinking_factor)
            words.drop_pieces(new_id)
        words.pool = None
    return pieces


def fit_scores(words: Words, pieces: Pieces, free: np.ndarray, counted: np.ndarray, rounds: int) -> np.ndarray:
    """``rounds`` EM rounds over ``pieces`` in which only the pieces ``free`` (a mask) get new scores:
    ``digamma(expected) - digamma(total)``, the trainer's M-step, with ``total`` the expected count of
    the pieces ``counted`` (the tokens of the words); the others keep theirs. Returns the scores."""
    scores = pieces.scores.copy()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        words.pool = pool
        words.build_lattices(pieces.trie())
        for _ in range(rounds):
            expected = words.map_sum(lattice.forward_backward, scores)
            total = max(float(expected[counted].sum()), MIN_EXPECTED)
            scores[free] = digamma(np.maximum(expected[free], MIN_EXPECTED)) - digamma(total)
        words.pool = None
    return scores


class Words:
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


def seed_pieces(wc: WordCounts, min_frequency: int, max_chars: int, max_bytes: int, seed_size: int) -> Pieces:
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
    return Pieces(piece_arena, offsets, np.log(all_scores) - np.log(all_scores.sum()))


def _count_chars(arena: np.ndarray, pos: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Characters (UTF-8 start bytes) in each ``arena[pos:pos+length]``."""
    starts = np.concatenate([[0], np.cumsum((arena & 0xC0) != 0x80)])
    return starts[pos + length] - starts[pos]


def _m_step(pieces: Pieces, expected: np.ndarray, target: int) -> tuple[Pieces, np.ndarray]:
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


def _prune(pieces: Pieces, words: Words, desired: int, shrinking_factor: float) -> tuple[Pieces, np.ndarray]:
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


def _alternatives(pieces: Pieces, trie, pool: ThreadPoolExecutor | None):
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
