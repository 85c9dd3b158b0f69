"""Stochastic tokenization for training data: StochasTok, BPE-dropout and Unigram sampling, seeded per example.

Sampling lives here, in tokforge's data pipeline, never in exported files (tokenizer.json keeps
``dropout: null``: a loader would otherwise sample on every encode, unseeded).

- **StochasTok** (Sims et al. 2025), any vocabulary: after encoding, ``floor(p * n)`` attempts each
  pick a uniform position of the current sequence and split the token there into a uniformly
  chosen pair of tokens whose bytes make it (``tokforge.kernels.stochastok``). Special tokens and
  single bytes are never split, nor are the reserved tokens of a stage: a number stage's fixed
  tokens and the morph hybrid's case markers, root and affix tokens, which stay whole (an affix
  token stands for all its surface forms, a root token for its stem and altered stem); the fallback
  model's tokens around them split as any other.
- **BPE-dropout** (Provilkov et al. 2020), BPE models: each merge is skipped with probability p, with
  Hugging Face tokenizers' exact queue semantics (``tokforge.kernels.bpe_encode``).
- **Unigram sampling** (Kudo 2018), Unigram models: each piece's segmentation s is drawn with
  ``P(s) ∝ exp(alpha * score(s))`` exactly, over all segmentations (forward-filtering
  backward-sampling) or among the n best (``tokforge.kernels.unigram_sample``).

Every sampler samples what the tokenizer encodes: its units (``Tokenizer.packed_units``), where
special and stage tokens are fixed and only the model's pieces are sampled, so a morph model's
sampled ids keep its stage tokens in place and at p = 0 every sampler gives ``encode_batch``.

Reproducibility: the randomness of an example is a function of (seed, epoch, example id) only
(``tokforge.kernels.rng``), so the same triple gives the same ids in one process or many, in any
order, with any batch. ``write_shards`` uses the document's global index in the corpus as its id.

    >>> import tokforge
    >>> tok = tokforge.Tokenizer.load("out/")                                 # doctest: +SKIP
    >>> sampler = StochasticEncoder(tok, Sampling(stochastok=0.1), seed=1)    # doctest: +SKIP
    >>> ids = sampler.encode("Merhaba dünya!", epoch=0, example_id=42)       # doctest: +SKIP
    >>> tok.decode(ids) == "Merhaba dünya!"                                   # doctest: +SKIP
    True

Worked example of the contract, with a tiny model (a=97, b=98, ab=256, abab=257):

    >>> from tokforge.models.bpe import BPEModel
    >>> from tokforge.tokenizer import Tokenizer
    >>> from tokforge.text.pretokenizers import Pretokenizer
    >>> vocab = [bytes([b]) for b in range(256)] + [b"ab", b"abab"]
    >>> tok = Tokenizer(BPEModel(vocab, [(97, 98), (256, 256)]), pretokenizer=Pretokenizer("whitespace"))
    >>> tok.encode("abab abab")
    [257, 32, 257]
    >>> s = StochasticEncoder(tok, Sampling(stochastok=1.0), seed=3)
    >>> a = s.encode("abab abab", epoch=0, example_id=5)
    >>> a == s.encode("abab abab", epoch=0, example_id=5), tok.decode(a), len(a) <= 3 + 3
    (True, 'abab abab', True)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from tokforge.errors import ConfigError, InputError
from tokforge.kernels import rng, stochastok
from tokforge.kernels.units import assemble
from tokforge.models.protocol import Model
from tokforge.models.unigram import check_sampling
from tokforge.packed import lengths_of, offsets_from_lengths
from tokforge.text.specials import Allowed, SpecialPolicy

if TYPE_CHECKING:
    from tokforge.tokenizer import Tokenizer

MAX_SEED = (1 << 64) - 1


@dataclass(frozen=True)
class Sampling:
    """What to sample. ``stochastok``: StochasTok proportion p (attempts = floor(p * n); 0.1 in the
    paper), any model. ``dropout``: BPE-dropout probability in [0, 1], BPE models.
    ``unigram_alpha``/``unigram_nbest``: Unigram sampling, Unigram models: a segmentation s with
    P ∝ exp(alpha * score(s)) (alpha > 0; None: off), among all segmentations (nbest <= 0, the
    default -1), the n best (nbest > 1) or Viterbi (1). All off: the deterministic encoding, exactly."""

    stochastok: float = 0.0
    dropout: float = 0.0
    unigram_alpha: float | None = None
    unigram_nbest: int = -1

    def __post_init__(self) -> None:
        if not (isinstance(self.stochastok, (int, float)) and math.isfinite(self.stochastok)
                and 0 <= self.stochastok <= 100):
            raise ConfigError(f"stochastok must be a proportion in [0, 100] (0.1: about one split attempt per ten tokens), "
                              f"got {self.stochastok!r}")
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout <= 1):
            raise ConfigError(f"BPE-dropout must be a probability in [0, 1], got {self.dropout!r}")
        if self.unigram_alpha is not None:
            check_sampling(self.unigram_alpha, self.unigram_nbest)
        elif self.unigram_nbest != -1:
            raise ConfigError(f"unigram_nbest={self.unigram_nbest!r} needs unigram_alpha (Unigram sampling is "
                              "off without it); set unigram_alpha, e.g. 0.1")

    @property
    def samples_segmentation(self) -> bool:
        """Whether the model's own encoding is sampled (BPE-dropout, Unigram sampling)."""
        return self.dropout > 0 or self.unigram_alpha is not None

    @property
    def is_deterministic(self) -> bool:
        return self.stochastok == 0 and not self.samples_segmentation


def check_seed(value: int, what: str = "seed") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= MAX_SEED:
        raise ConfigError(f"{what} must be an integer in 0..2**64-1, got {value!r}")
    return int(value)


def example_seeds(seed: int, epoch: int, example_ids: Sequence[int] | np.ndarray, purpose: int) -> np.ndarray:
    """The random stream (uint64 seed) of each example for one purpose (``rng.STOCHASTOK``, ...)."""
    ids = np.asarray(example_ids, np.uint64)
    return rng.example_seeds(np.uint64(check_seed(seed)), np.uint64(check_seed(epoch, "epoch")), ids,
                             np.uint64(purpose))


class SplitTable:
    """Every two-piece split of every token of a vocabulary (special tokens: none), CSR arrays."""

    def __init__(self, vocab: Sequence[bytes], special_ids: Iterable[int]):
        arena = np.frombuffer(b"".join(vocab), np.uint8)
        offsets = offsets_from_lengths(lengths_of(vocab))
        usable = np.ones(len(vocab), np.bool_)
        usable[list(special_ids)] = False
        self.offsets, self.left, self.right = stochastok.build_split_table(arena, offsets, usable)

    @classmethod
    def of(cls, model: Model) -> "SplitTable":
        """The table of a model's vocabulary; byte-fallback tokens are neither split nor halves
        (their bytes are single characters' pieces or parts of characters)."""
        fixed = set(model.special_tokens.values())
        fixed.update(i for i in range(len(model.vocab)) if model.fallback_byte(i) is not None)
        return cls(model.vocab, fixed)

    def splits(self, token: int) -> list[tuple[int, int]]:
        a, b = self.offsets[token], self.offsets[token + 1]
        return list(zip(self.left[a:b].tolist(), self.right[a:b].tolist()))

    def expand(self, ids: np.ndarray, bounds: np.ndarray, p: float, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """StochasTok on each example ``ids[bounds[d]:bounds[d+1]]`` with stream ``seeds[d]``."""
        return stochastok.expand(np.ascontiguousarray(ids, np.int64), np.ascontiguousarray(bounds, np.int64),
                                 self.offsets, self.left, self.right, float(p), seeds)


class StochasticEncoder:
    """Encodes texts with ``Sampling`` for training data; each call names (epoch, example id)."""

    def __init__(self, tokenizer: Tokenizer, sampling: Sampling = Sampling(), seed: int = 0, *,
                 allowed_special: Allowed = ()):
        """``allowed_special``: the special tokens whose text in a document becomes their id (``"all"`` or a
        set); by default none -- documents are data, so ``<|endoftext|>`` inside one is encoded as text."""
        self.tokenizer = tokenizer
        self.sampling = sampling
        self.seed = check_seed(seed)
        SpecialPolicy.of(set(tokenizer.special_tokens), allowed_special)  # an unknown token: InputError now
        self.allowed_special = allowed_special
        model = tokenizer.model
        if sampling.samples_segmentation:   # fail now, not at the first text
            model.sample_packed(b"", np.zeros(1, np.int64), sampling, np.zeros(0, np.uint64))
        self._splits = SplitTable.of(model) if sampling.stochastok > 0 else None

    def encode(self, text: str, *, epoch: int = 0, example_id: int = 0) -> list[int]:
        """The sampled ids of ``text`` as example ``example_id`` of ``epoch``."""
        return self.encode_batch([text], epoch=epoch, example_ids=[example_id])[0].tolist()

    def encode_batch(self, texts: Sequence[str], *, epoch: int = 0,
                     example_ids: Sequence[int] | None = None) -> list[np.ndarray]:
        """The sampled ids of each text (default example ids: 0, 1, ...), as int64 arrays."""
        ids, bounds = self.encode_packed(texts, epoch=epoch, example_ids=example_ids)
        return [ids[bounds[k]:bounds[k + 1]] for k in range(len(bounds) - 1)]

    def encode_packed(self, texts: Sequence[str], *, epoch: int = 0,
                      example_ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Like ``encode_batch``, as (all ids, bounds per text)."""
        texts = list(texts)
        example_ids = np.arange(len(texts)) if example_ids is None else np.asarray(example_ids)
        if len(example_ids) != len(texts):
            raise InputError(f"{len(texts)} texts but {len(example_ids)} example ids")
        if len(example_ids) and example_ids.min() < 0:
            raise InputError("example ids must be >= 0")
        ids, bounds = self._segmented(texts, epoch, example_ids)
        if self._splits is not None:
            seeds = example_seeds(self.seed, epoch, example_ids, rng.STOCHASTOK)
            ids, bounds = self._splits.expand(ids, bounds, self.sampling.stochastok, seeds)
        return ids, bounds

    def _segmented(self, texts: list[str], epoch: int, example_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's encoding of each text (sampled by the model when asked), packed: the tokenizer's
        units (``Tokenizer.packed_units``: special tokens, a stage's tokens, pieces), so every tokenizer
        samples what it encodes; fixed units (special and stage tokens) are never sampled."""
        units = self.tokenizer.packed_units(texts, allowed_special=self.allowed_special)
        model = self.tokenizer.model
        if not self.sampling.samples_segmentation:
            return units.ids(model)
        purpose = rng.BPE_DROPOUT if self.sampling.unigram_alpha is None else rng.UNIGRAM_SAMPLING
        seeds = example_seeds(self.seed, epoch, example_ids, purpose)   # piece k of a text: stream k
        each = units.occurrences()
        ids, id_bounds = model.sample_packed(each.buf, each.piece_bounds, self.sampling,
                                             rng.sub_seeds(seeds, each.pieces_per_text()))
        return assemble(each.codes, each.text_units, ids, id_bounds)
