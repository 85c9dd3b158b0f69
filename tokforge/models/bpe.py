"""The byte-level BPE model: a vocabulary of byte strings and ranked merges, and its encoding
(``tokforge.kernels.bpe_encode``); trained by ``tokforge.models.bpe_trainer``.

Ids: special tokens first, then the 256 byte tokens in the order of their byte-level characters
(``BYTE_ORDER``, as HF's BpeTrainer), then one id per learned token in the order learned.

    >>> vocab = [bytes([b]) for b in range(256)] + [b"ug", b"hug"]
    >>> model = BPEModel(vocab, [(117, 103), (104, 256)])
    >>> model.encode_pieces([b"hugs", b"pug"])
    [[257, 115], [112, 256]]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from tokforge.counting.words import encode_each
from tokforge.errors import ModelFormatError
from tokforge.kernels import bpe_encode


@dataclass
class BPEModel:
    """A BPE vocabulary: ``vocab[id]`` is the token's bytes, ``merges`` are ranked id pairs.

    ``special_tokens`` maps each special token's text to its id; its entry in ``vocab`` is
    its UTF-8. Every merge ``(a, b)`` yields the token with bytes ``vocab[a] + vocab[b]``.
    """

    vocab: list[bytes]
    merges: list[tuple[int, int]]
    special_tokens: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tables = None
        self._joinable = None

    def tables(self):
        """(byte -> id, merge pair keys, ranks, result ids) as arrays for the encode kernel."""
        if self._tables is None:
            self._tables = _encode_tables(self)
        return self._tables

    def encode_pieces(self, pieces: Sequence[bytes]) -> list[list[int]]:
        """BPE-encode each piece (bytes) on its own."""
        return encode_each(self.encode_packed, pieces)

    def encode_packed(self, buf: bytes, bounds: np.ndarray, *, long_words: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
        """BPE-encode the pieces ``buf[bounds[j]:bounds[j+1]]``: (ids, id bounds per piece).
        ``long_words``: the same result, faster when pieces are long runs of recurring parts."""
        byte_ids, keys, ranks, results = self.tables()
        data = np.frombuffer(buf, np.uint8)
        if long_words:
            return bpe_encode.encode_long_words(data, bounds, byte_ids, keys, ranks, results, self.joinable())
        return bpe_encode.encode_words(data, bounds, byte_ids, keys, ranks, results)

    def joinable(self) -> np.ndarray:
        """``joinable[a * 256 + b]`` is 1 when bytes ``a b`` stand side by side inside some token."""
        if self._joinable is None:
            pairs = np.zeros(65536, np.uint8)
            specials = set(self.special_tokens.values())
            for i, token in enumerate(self.vocab):
                if i not in specials and len(token) > 1:
                    t = np.frombuffer(token, np.uint8).astype(np.int64)
                    pairs[t[:-1] * 256 + t[1:]] = 1
            self._joinable = pairs
        return self._joinable

    def encode_packed_dropout(self, buf: bytes, bounds: np.ndarray, dropout: float,
                              word_seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``encode_packed`` with BPE-dropout (Hugging Face tokenizers' semantics): piece j draws
        from the random stream ``word_seeds[j]`` (see ``tokforge.sampling.stochastic``)."""
        byte_ids, keys, ranks, results = self.tables()
        return bpe_encode.encode_words_dropout(np.frombuffer(buf, np.uint8), bounds, byte_ids, keys, ranks,
                                               results, float(dropout), word_seeds)


def _regular_ids(model: BPEModel) -> dict[bytes, int]:
    """bytes -> id of every token that is not a special token."""
    special_ids = set(model.special_tokens.values())
    return {tok: i for i, tok in enumerate(model.vocab) if i not in special_ids}


def _encode_tables(model: BPEModel):
    regular = _regular_ids(model)
    byte_ids = np.full(256, -1, np.int64)
    for b in range(256):
        byte_ids[b] = regular.get(bytes([b]), -1)
    if (byte_ids < 0).any():
        missing = [b for b in range(256) if byte_ids[b] < 0]
        raise ModelFormatError(f"the vocabulary lacks byte tokens for bytes {missing[:10]}: "
                               "a byte-level BPE needs all 256 single-byte tokens")
    keys = np.array([(a << 32) | b for a, b in model.merges], np.int64)
    return (byte_ids,) + bpe_encode.build_merge_table(keys, _merge_results(model, regular))


def _merge_results(model: BPEModel, regular: dict[bytes, int]) -> np.ndarray:
    """The id of the token each merge yields, by rank (``regular``: bytes -> id, no specials)."""
    results = np.empty(len(model.merges), np.int64)
    for rank, (a, b) in enumerate(model.merges):
        merged = model.vocab[a] + model.vocab[b]
        if merged not in regular:
            raise ModelFormatError(f"merge #{rank} ({model.vocab[a]!r}, {model.vocab[b]!r}) "
                                   f"yields {merged!r}, which is not in the vocabulary")
        results[rank] = regular[merged]
    return results
