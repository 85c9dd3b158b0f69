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

import re
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, NamedTuple, Sequence

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


class KnownWords(NamedTuple):
    """Words and their encoding by a model, known before encoding with it (SuperBPE's stage-1 words,
    as stage 1's trainer left them: ``train_bpe(encoded=...)``): ``encode_packed(long_words=True)``
    takes a part of a long word that is one of them as its ids, without encoding it again. Word ``w``
    is ``data[bounds[w]:bounds[w + 1]]``, its encoding ``ids[id_bounds[w]:id_bounds[w + 1]]``;
    ``table`` finds it (``bpe_encode.build_word_table(data, bounds)``: ``word_table``)."""
    table: np.ndarray
    data: np.ndarray
    bounds: np.ndarray
    ids: np.ndarray
    id_bounds: np.ndarray

    @classmethod
    def of(cls, words: WordCounts, encoding: tuple[np.ndarray, np.ndarray],
           table: np.ndarray | None = None) -> KnownWords:
        """The words of ``words`` with their ``encoding`` (ids, id bounds); ``table``: their
        ``word_table`` if made before (made here otherwise)."""
        return cls(word_table(words) if table is None else table, np.frombuffer(words.arena, np.uint8),
                   words.offsets, *encoding)


def word_table(words: WordCounts) -> np.ndarray:
    """``KnownWords.table`` of the words of ``words`` (0.07 s for 600k words)."""
    return bpe_encode.build_word_table(np.frombuffer(words.arena, np.uint8), words.offsets)


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
        self._own = None
        self._results = None
        self._chars = None
        self._regular = None

    @classmethod
    def learned(cls, vocab: list[bytes], merges: list[tuple[int, int]], special_tokens: dict[str, int],
                results: np.ndarray) -> BPEModel:
        """The model a trainer learned, with ``results[rank]``: the id merge ``rank`` yields, which the
        trainer knows (``merge_results`` need not find each from the bytes again: 30 ms at 50k merges).

            >>> BPEModel.learned([b"a", b"b", b"ab"], [(0, 1)], {}, np.array([2])).merge_results().tolist()
            [2]
        """
        model = cls(vocab, merges, special_tokens)
        model._results = np.asarray(results, np.int64)
        return model

    def __getstate__(self) -> dict[str, Any]:
        """A pickle (a worker process's copy) holds the model's fields, not its lookup tables: they
        are built again when first needed."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def check(self) -> None:
        self.tables()

    def tables(self):
        """(byte -> id, merge pair keys, ranks, result ids) as arrays for the encode kernel."""
        if self._tables is None:
            self._tables = _encode_tables(self)
        return self._tables

    def merge_results(self) -> np.ndarray:
        """The id of the token each merge yields, by rank (computed once: do not change the array)."""
        if self._results is None:
            self._results = _merge_results(self, _regular_ids(self))
        return self._results

    def encode_pieces(self, pieces: Sequence[bytes]) -> list[list[int]]:
        """BPE-encode each piece (bytes) on its own."""
        return encode_each(self.encode_packed, pieces)

    def encode_packed(self, buf: bytes, bounds: np.ndarray, *, long_words: bool = False,
                      known: KnownWords | None = None) -> tuple[np.ndarray, np.ndarray]:
        """BPE-encode the pieces ``buf[bounds[j]:bounds[j+1]]``: (ids, id bounds per piece).
        ``long_words``: the same ids (as int32), faster when pieces are long runs of recurring parts,
        and faster still when many of those parts are ``known`` words (their encodings by this model)."""
        byte_ids, keys, ranks, results = self.tables()
        data = np.frombuffer(buf, np.uint8)
        whole = self.whole_tokens()
        if long_words and whole is bpe_encode.NO_WHOLE_TOKENS:
            return bpe_encode.encode_long_words(data, bounds, byte_ids, keys, ranks, results, self.joinable(),
                                                  self.own_tokens(), *(known or bpe_encode.NO_KNOWN_WORDS))
        return bpe_encode.encode_words(data, bounds, byte_ids, keys, ranks, results, whole)

    def whole_tokens(self) -> tuple[np.ndarray, ...]:
        """``ignore_merges``: the kernel's table of the tokens that a piece equal to them encodes to
        without merging -- only those the merges do not rebuild from their bytes (for the others the
        flag changes nothing); ``NO_WHOLE_TOKENS`` without the flag."""
        if self._whole is None:
            self._whole = bpe_encode.NO_WHOLE_TOKENS
            if self.ignore_merges:
                data, bounds, ids, rebuilt = self._rebuilt_tokens()
                if not rebuilt.all():
                    self._whole = _token_table(*_packed_subset(data, bounds, ids, ~rebuilt))
        return self._whole

    def own_tokens(self) -> np.ndarray:
        """The kernel's table (``bpe_encode.build_short_tokens``) of the tokens of up to 8 bytes that the
        merges rebuild from their bytes -- nearly all: a piece equal to one of them encodes to that one
        id. ``encode_long_words`` looks a word's parts up here first (most parts of SuperBPE's stage-2
        words are such tokens)."""
        if self._own is None:
            data, bounds, ids, rebuilt = self._rebuilt_tokens()
            self._own = bpe_encode.build_short_tokens(*_packed_subset(data, bounds, ids, rebuilt))
        return self._own

    def _rebuilt_tokens(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The regular tokens packed (bytes, bounds, ids: ``_packed_tokens``) and, for each, whether
        encoding its bytes gives its id alone (a bool array)."""
        regular = _regular_ids(self)
        data, bounds, token_ids = _packed_tokens(regular.keys(), regular.values())
        ids, id_bounds = bpe_encode.encode_words(data, bounds, *self.tables(), bpe_encode.NO_WHOLE_TOKENS)
        rebuilt = (np.diff(id_bounds) == 1) & (ids[np.minimum(id_bounds[:-1], len(ids) - 1)] == token_ids)
        return data, bounds, token_ids, rebuilt

    def joinable(self) -> np.ndarray:
        """``joinable[a * 256 + b]`` is 1 when bytes ``a b`` stand side by side inside some token."""
        if self._joinable is None:
            pairs = np.zeros(65536, np.uint8)
            specials = set(self.special_tokens.values())
            tokens = [t for i, t in enumerate(self.vocab) if i not in specials]
            data = np.frombuffer(b"".join(tokens), np.uint8).astype(np.int64)
            inside = np.ones(max(len(data) - 1, 0), bool)      # bigram k = data[k], data[k + 1]
            inside[offsets_from_lengths(lengths_of(tokens))[1:-1] - 1] = False  # not across two tokens
            pairs[(data[:-1] * 256 + data[1:])[inside]] = 1
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
        if trained_as == "superbpe" or pattern in ("superword", "superword-sentences"):  # trained so, or a superword split
            return "superbpe (byte-level BPE with superword tokens that cross spaces)"
        return f"{self.algorithm} ({layout.label})"

    @classmethod
    def from_native(cls, doc: dict[str, Any], specials: dict[str, int], f: ModelFile, layout: Layout) -> BPEModel:
        if layout.literal:  # an imported sentencepiece-style BPE, saved
            return FallbackBPEModel.from_strings(
                f.get(doc, "vocab", dict), f.get(doc, "merges", list), specials, f, ("vocab", "merges", "special_tokens"),
                f.get(doc, "ignore_merges", bool, default=False), doc.get("unk_token"), doc.get("fuse_unk"))
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


_BYTE_TOKEN = re.compile(r"<0x([0-9A-F]{2})>")


@dataclass
class FallbackBPEModel(BPEModel):
    """BPE over characters with byte fallback, as HF runs sentencepiece's BPE (``byte_fallback: true``;
    Llama 2, Mistral v1): a piece starts as its characters, a character that is no token as its byte
    tokens ``<0xNN>`` (``byte_tokens[b]``), then the merges. ``vocab[id]`` is the UTF-8 of a token's
    string, or the byte of a byte token; merges join token strings.

    >>> tokens = [bytes([b]) for b in range(256)] + ["▁".encode(), b"a", "▁a".encode()]
    >>> model = FallbackBPEModel(tokens, [(256, 257)], byte_tokens=list(range(256)))
    >>> model.encode_pieces(["▁aé".encode()])                      # é: its two byte tokens
    [[258, 195, 169]]
    """

    byte_tokens: list[int] = field(default_factory=list)   # the id of <0xNN> for each byte NN
    unk_token: str | None = "<unk>"                           # what the file names (never produced)
    fuse_unk: bool = True
    byte_fallback: ClassVar[bool] = True

    def token_string(self, i: int) -> str:
        byte = self.fallback_byte(i)
        return f"<0x{byte:02X}>" if byte is not None else self.vocab[i].decode("utf-8")

    def __post_init__(self) -> None:
        super().__post_init__()
        self._byte_of = {t: b for b, t in enumerate(self.byte_tokens)}

    def fallback_byte(self, i: int) -> int | None:
        return self._byte_of.get(i)

    def byte_id(self, byte: int) -> int:
        return self.byte_tokens[byte]

    def tables(self):
        """(byte token ids, merge pair keys, ranks, result ids), plus the single-character tokens."""
        if self._tables is None:
            if sorted(set(self.byte_tokens)) != sorted(self.byte_tokens) or len(self.byte_tokens) != 256:
                raise ModelFormatError("byte fallback needs the 256 byte tokens <0x00>..<0xFF> in the vocabulary")
            special_ids = set(self.special_tokens.values())
            by_string = {self.token_string(i): i for i in range(len(self.vocab)) if i not in special_ids}
            results = np.empty(len(self.merges), np.int64)
            for rank, (a, b) in enumerate(self.merges):
                merged = self.token_string(a) + self.token_string(b)
                if merged not in by_string:
                    raise ModelFormatError(f"merge #{rank} ({self.token_string(a)!r}, {self.token_string(b)!r}) "
                                           f"yields {merged!r}, which is not in the vocabulary")
                results[rank] = by_string[merged]
            regular = [(t, i) for t, i in by_string.items() if i not in self._byte_of]
            chars = [(t.encode("utf-8"), i) for t, i in regular if len(t) == 1]
            self._chars = _token_table(*_packed_tokens([t for t, _ in chars], [i for _, i in chars]))
            self._whole = bpe_encode.NO_WHOLE_TOKENS
            if self.ignore_merges:
                self._whole = _token_table(*_packed_tokens([t.encode("utf-8") for t, _ in regular],
                                                           [i for _, i in regular]))
            self._tables = (np.array(self.byte_tokens, np.int64),) + bpe_encode.build_merge_table(
                _merge_keys(self.merges), results)
        return self._tables

    def whole_tokens(self) -> tuple[np.ndarray, ...]:
        self.tables()
        return self._whole

    def encode_packed(self, buf: bytes, bounds: np.ndarray, *, long_words: bool = False,
                      known: KnownWords | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.encode_packed_dropout(buf, bounds, 0.0, np.zeros(0, np.uint64))

    def encode_packed_dropout(self, buf: bytes, bounds: np.ndarray, dropout: float,
                              word_seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        byte_ids, keys, ranks, results = self.tables()
        return bpe_encode.encode_words_chars(np.frombuffer(buf, np.uint8), np.asarray(bounds, np.int64), self._chars,
                                             byte_ids, keys, ranks, results, self._whole, float(dropout),
                                             np.asarray(word_seeds, np.uint64))

    def hf_model(self, token_text: TokenText) -> dict[str, Any]:
        return {**super().hf_model(token_text), "unk_token": self.unk_token, "fuse_unk": self.fuse_unk,
                "byte_fallback": True}

    def native_fields(self, token_text: TokenText) -> dict[str, Any]:
        return {**super().native_fields(token_text), "unk_token": self.unk_token, "fuse_unk": self.fuse_unk}

    def extended(self, words: WordCounts, n: int, min_frequency: int = 2) -> BPEModel:
        raise ConfigError("extending a byte-fallback (sentencepiece-style) BPE is not supported yet")

    def label(self, layout: Layout, pattern: str, trained_as: str | None) -> str:
        return f"bpe ({layout.label})"

    @classmethod
    def from_strings(cls, vocab: dict[str, Any], merges: list, specials: dict[str, int], f: ModelFile,
                     names: tuple[str, ...], ignore_merges: bool, unk_token: Any, fuse_unk: Any) -> FallbackBPEModel:
        """Build (and check) the model from tokenizer.json-style token strings (``<0xNN>`` byte tokens)."""
        vocab_name, merges_name, specials_name = names
        n = len(vocab)
        if sorted(v for v in vocab.values() if isinstance(v, int) and not isinstance(v, bool)) != list(range(n)):
            raise f.error((vocab_name, specials_name), f"ids must be integers 0..{n - 1} without gaps")
        tokens: list[bytes] = [b""] * n
        byte_tokens = [-1] * 256
        for text, i in vocab.items():
            m = _BYTE_TOKEN.fullmatch(text)
            if m and text not in specials:
                byte_tokens[int(m.group(1), 16)] = i
                tokens[i] = bytes([int(m.group(1), 16)])
            else:
                tokens[i] = utf8(text)
        if -1 in byte_tokens:
            raise f.error(("model.byte_fallback", vocab_name), f"byte_fallback needs the 256 byte tokens <0x00>.."
                                                               f"<0xFF>; <0x{byte_tokens.index(-1):02X}> is missing")
        pairs = []
        for rank, m in enumerate(merges):
            pair = m.split(" ") if isinstance(m, str) else m
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) and p in vocab for p in pair)):
                raise f.error(merges_name, f"merge #{rank} {m!r} is not a pair of tokens of the vocabulary")
            pairs.append((vocab[pair[0]], vocab[pair[1]]))
        model = cls(tokens, pairs, dict(specials), ignore_merges, byte_tokens,
                    unk_token if isinstance(unk_token, str) else None, fuse_unk is not False)
        with f.field((vocab_name, merges_name)):
            model.tables()
        return model


def _token_table(data: np.ndarray, bounds: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, ...]:
    """The kernels' table of the tokens packed by ``_packed_tokens`` (``bpe_encode.build_token_table``)."""
    return bpe_encode.build_token_table(data, bounds), data, bounds, ids


def _packed_tokens(tokens: Iterable[bytes], ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bytes, bounds, ids) of tokens and their ids, as the kernels' token tables take them.

    >>> data, bounds, ids = _packed_tokens([b"ab", b"c"], [7, 9])
    >>> data.tobytes(), bounds.tolist(), ids.tolist()
    (b'abc', [0, 2, 3], [7, 9])
    """
    tokens = list(tokens)
    ids = np.fromiter(ids, np.int64, len(tokens))
    return np.frombuffer(b"".join(tokens), np.uint8), offsets_from_lengths(lengths_of(tokens)), ids


def _packed_subset(data: np.ndarray, bounds: np.ndarray, ids: np.ndarray, keep: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tokens of ``_packed_tokens`` where ``keep`` (bools) is true, packed the same way.

    >>> data, bounds, ids = _packed_subset(*_packed_tokens([b"ab", b"c", b"de"], [7, 9, 4]), np.array([1, 0, 1], bool))
    >>> data.tobytes(), bounds.tolist(), ids.tolist()
    (b'abde', [0, 2, 4], [7, 4])
    """
    lengths = np.diff(bounds)
    return data[np.repeat(keep, lengths)], offsets_from_lengths(lengths[keep]), ids[keep]


def _regular_ids(model: BPEModel) -> dict[bytes, int]:
    """bytes -> id of every token that is not a special token (built once per model)."""
    if model._regular is None:
        special_ids = set(model.special_tokens.values())
        model._regular = {tok: i for i, tok in enumerate(model.vocab) if i not in special_ids}
    return model._regular


def _encode_tables(model: BPEModel):
    regular = _regular_ids(model)
    byte_ids = np.full(256, -1, np.int64)
    for b in range(256):
        byte_ids[b] = regular.get(bytes([b]), -1)
    if (byte_ids < 0).any():
        missing = [b for b in range(256) if byte_ids[b] < 0]
        raise ModelFormatError(f"the vocabulary lacks byte tokens for bytes {missing[:10]}: "
                               "a byte-level BPE needs all 256 single-byte tokens")
    return (byte_ids,) + bpe_encode.build_merge_table(_merge_keys(model.merges), model.merge_results())


def _merge_keys(merges: list[tuple[int, int]]) -> np.ndarray:
    """Each merge ``(a, b)`` as the encode kernel's pair key ``a << 32 | b``.

    >>> _merge_keys([(1, 2)]).tolist()
    [4294967298]
    """
    pairs = np.array(merges, np.int64).reshape(-1, 2)
    return (pairs[:, 0] << 32) | pairs[:, 1]


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
