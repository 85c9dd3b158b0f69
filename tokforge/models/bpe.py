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
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from tokforge.errors import ConfigError, InputError, ModelFormatError
from tokforge.kernels import bpe_encode
from tokforge.models.bpe_extend import continue_merges
from tokforge.models.protocol import TokenText, encode_each
from tokforge.packed import lengths_of, offsets_from_lengths, utf8
from tokforge.text.bytelevel import visible_to_bytes

if TYPE_CHECKING:
    from tokforge.counting.words import WordCounts
    from tokforge.formats.fields import ModelFile
    from tokforge.sampling.stochastic import Sampling
    from tokforge.text.layout import Layout


@dataclass
class BPEModel:
    """A BPE vocabulary: ``vocab[id]`` is the token's bytes, ``merges`` are ranked id pairs.

    ``special_tokens`` maps each special token's text to its id; its entry in ``vocab`` is
    its UTF-8. Every merge ``(a, b)`` yields the token with bytes ``vocab[a] + vocab[b]``.
    """

    vocab: list[bytes]
    merges: list[tuple[int, int]]
    special_tokens: dict[str, int] = field(default_factory=dict)
    ignore_merges: bool = False  # a piece that is a whole token is that token (HF's flag; tiktoken's rule)
    algorithm: ClassVar[str] = "bpe"
    byte_fallback: ClassVar[bool] = False  # every byte is a token of its own
    scored: ClassVar[bool] = False         # one encoding per piece

    def __post_init__(self) -> None:
        self._tables = None
        self._joinable = None
        self._whole = None

    def check(self) -> None:
        self.tables()

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
        whole = self.whole_tokens()
        if long_words and whole is bpe_encode.NO_WHOLE_TOKENS:
            return bpe_encode.encode_long_words(data, bounds, byte_ids, keys, ranks, results, self.joinable())
        return bpe_encode.encode_words(data, bounds, byte_ids, keys, ranks, results, whole)

    def whole_tokens(self) -> tuple[np.ndarray, ...]:
        """``ignore_merges``: the kernel's table of the tokens that a piece equal to them encodes to
        without merging -- only those the merges do not rebuild from their bytes (for the others the
        flag changes nothing); ``NO_WHOLE_TOKENS`` without the flag."""
        if self._whole is None:
            self._whole = bpe_encode.NO_WHOLE_TOKENS
            if self.ignore_merges:
                regular = sorted(_regular_ids(self).items(), key=lambda kv: kv[1])
                tokens = [t for t, _ in regular]
                ids, id_bounds = bpe_encode.encode_words(
                    np.frombuffer(b"".join(tokens), np.uint8), offsets_from_lengths(lengths_of(tokens)),
                    *self.tables(), bpe_encode.NO_WHOLE_TOKENS)
                rebuilt = (np.diff(id_bounds) == 1) & (ids[np.minimum(id_bounds[:-1], len(ids) - 1)]
                                                      == np.array([i for _, i in regular], np.int64))
                kept = [regular[k] for k in np.flatnonzero(~rebuilt).tolist()]
                if kept:
                    data = np.frombuffer(b"".join(t for t, _ in kept), np.uint8)
                    bounds = offsets_from_lengths(lengths_of([t for t, _ in kept]))
                    self._whole = (bpe_encode.build_token_table(data, bounds), data, bounds,
                                   np.array([i for _, i in kept], np.int64))
        return self._whole

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


    # ---- the model interface (tokforge.models.protocol) -------------------------------------
    def byte_id(self, byte: int) -> int:
        return int(self.tables()[0][byte])

    def fallback_byte(self, i: int) -> int | None:
        return None

    def nbest(self, piece: bytes, n: int) -> list[tuple[list[int], float]]:
        raise InputError("encode_nbest needs a Unigram tokenizer; BPE has one encoding per text")

    def sample_packed(self, buf: bytes, bounds: np.ndarray, sampling: Sampling,
                      piece_seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """BPE-dropout (``sampling.dropout``); Unigram sampling is a ConfigError."""
        if sampling.unigram_alpha is not None:
            raise ConfigError(f"Unigram sampling (unigram_alpha) needs a Unigram model, and this tokenizer's model "
                              f"is a {type(self).__name__}; use BPE-dropout or stochastok instead")
        return self.encode_packed_dropout(buf, bounds, sampling.dropout, piece_seeds)

    def native_fields(self, token_text: TokenText) -> dict[str, Any]:
        return {"vocab": {token_text(i): i for i in range(len(self.vocab))},
                "merges": [[token_text(a), token_text(b)] for a, b in self.merges],
                **({"ignore_merges": True} if self.ignore_merges else {})}

    def hf_model(self, token_text: TokenText) -> dict[str, Any]:
        return {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": self.ignore_merges,
            "vocab": {token_text(i): i for i in range(len(self.vocab))},
            "merges": [[token_text(a), token_text(b)] for a, b in self.merges],
        }

    def facts(self) -> dict[str, Any]:
        return {"merges": len(self.merges)}

    def extended(self, words: WordCounts, n: int, min_frequency: int = 2) -> BPEModel:
        """This model with ``n`` more merges learned on ``words`` after its own (``bpe_extend``): every
        id, token and merge kept, the new tokens after the last id."""
        pieces = [w for w, _ in words.items()]
        encoded = self.encode_pieces(pieces)
        new_tokens, merges = continue_merges(self.vocab, self.special_tokens, encoded,
                                             [c for _, c in words.items()], n, min_frequency)
        model = BPEModel(self.vocab + new_tokens, self.merges + merges, dict(self.special_tokens), self.ignore_merges)
        model.check()
        return model

    def label(self, layout: Layout, pattern: str, trained_as: str | None) -> str:
        if trained_as == "superbpe" or pattern == "superword":  # trained so, or encoding with the superword split
            return "superbpe (byte-level BPE with superword tokens that cross spaces)"
        return f"{self.algorithm} ({layout.label})"

    @classmethod
    def from_native(cls, doc: dict[str, Any], specials: dict[str, int], f: ModelFile, layout: Layout) -> BPEModel:
        return cls.from_vocab_merges(f.get(doc, "vocab", dict), f.get(doc, "merges", list), specials, f,
                                     ignore_merges=f.get(doc, "ignore_merges", bool, default=False))

    @classmethod
    def from_vocab_merges(cls, vocab: dict[str, Any], merges: list, specials: dict[str, int], f: ModelFile,
                          names: tuple[str, ...] = ("vocab", "merges", "special_tokens", "numbers"),
                          ignore_merges: bool = False) -> BPEModel:
        """Build (and check) a BPEModel from visible-string vocab and merges (tokenizer.json style);
        ``names``: the fields of the vocab, the merges, then those that declare the special tokens
        (``specials``), in ``f``'s messages."""
        vocab_name, merges_name, *declaring = names
        specials_name = declaring[0]
        n = len(vocab)
        for text, i in vocab.items():
            if isinstance(i, bool) or not isinstance(i, int):
                raise f.error(vocab_name, f"gives {text!r} the id {i!r}; ids are integers")
        if sorted(vocab.values()) != list(range(n)):  # (the special tokens are in it)
            raise f.error((vocab_name, specials_name), f"ids must be exactly 0..{n - 1} without gaps")
        tokens: list[bytes] = [b""] * n
        with f.field((vocab_name, *declaring)):  # a token that is not byte-level text must be declared special
            for text, i in vocab.items():
                tokens[i] = utf8(text) if text in specials else visible_to_bytes(text)
        with f.field(specials_name):
            for text, i in specials.items():
                if vocab.get(text, i) != i or not 0 <= i < n:
                    raise f.error((specials_name, vocab_name), f"special token {text!r} has id {i} but the vocabulary "
                                                               f"says {vocab.get(text, 'nothing')}")
                tokens[i] = utf8(text)
        pairs = []
        for rank, m in enumerate(merges):
            pair = m.split(" ") if isinstance(m, str) else m
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and isinstance(pair[1], str)):
                raise f.error(merges_name, f"merge #{rank} {m!r} is neither 'left right' nor [left, right]")
            left, right = pair
            if left not in vocab or right not in vocab:
                raise f.error(merges_name, f"merge #{rank} {m!r} uses a token that is not in the vocabulary")
            pairs.append((vocab[left], vocab[right]))
        model = cls(tokens, pairs, specials, ignore_merges)
        with f.field((vocab_name, merges_name)):
            model.tables()
        return model


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
