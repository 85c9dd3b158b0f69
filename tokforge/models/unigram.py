"""The byte-level Unigram LM model: every piece (a byte string) has a score, its log probability; a
word is encoded as the segmentation with the highest total score (Viterbi; ties as in
``tokforge.kernels.unigram_lattice``), or sampled (``encode_packed_sampled``). The 256 single
bytes are always pieces, so no input is ever unknown. Trained by ``tokforge.models.unigram_trainer``.

Byte fallback (``byte_fallback=True``, the sentencepiece-style layout made by
``with_byte_fallback`` for the ``"metaspace"`` pretokenizer): pieces are whole characters, the
256 byte tokens (``<0x00>``..``<0xFF>``, ids right after the specials, in byte order) are not
pieces, and a character that no piece covers alone is encoded as its UTF-8 bytes' tokens -- Hugging
Face's Unigram with ``byte_fallback`` and an ``<unk>`` token (a special token here), exactly.

    >>> vocab = [bytes([b]) for b in range(256)] + [b"hug", b"pug", b"ug"]
    >>> model = UnigramModel(vocab, [-8.0] * 256 + [-2.0, -2.5, -3.0])
    >>> [[model.vocab[i] for i in ids] for ids in model.encode_pieces([b"hugs", b"bug"])]
    [[b'hug', b's'], [b'b', b'ug']]
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from tokforge.errors import ConfigError, InputError, ModelFormatError
from tokforge.kernels import unigram_lattice as lattice
from tokforge.kernels import unigram_sample
from tokforge.kernels.spans import utf8_length
from tokforge.models.protocol import TokenText, encode_each
from tokforge.models.unigram_extend import extend_pieces
from tokforge.packed import lengths_of, offsets_from_lengths
from tokforge.text.layout import BYTE_LEVEL, METASPACE, Layout, sentencepiece_layout

if TYPE_CHECKING:
    from tokforge.counting.words import WordCounts
    from tokforge.formats.fields import ModelFile
    from tokforge.sampling.stochastic import Sampling

SCORE_DECIMALS = 6       # scores are rounded so that every JSON reader parses them to the same double
UNK_PENALTY = 10.0       # byte fallback: an unknown character scores the lowest token score minus this (HF)
UNK_TOKEN = METASPACE.unk_token  # byte fallback: HF's Unigram needs an unknown token (never produced by encoding)


@dataclass
class UnigramModel:
    """A Unigram vocabulary: ``vocab[id]`` is the piece's bytes and ``scores[id]`` its log probability.

    ``special_tokens`` maps each special token's text to its id; its entry in ``vocab`` is its
    UTF-8 and its score is ignored (special tokens are matched in the text, never by the lattice).
    """

    vocab: list[bytes]
    scores: list[float]
    special_tokens: dict[str, int] = field(default_factory=dict)
    byte_fallback: bool = False  # the metaspace layout's byte tokens (tokforge.text.layout)
    algorithm: ClassVar[str] = "unigram"
    scored: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self._tables = None
        self._special_text = {i: t for t, i in self.special_tokens.items()}  # id -> text (token_text)

    @property
    def layout(self) -> Layout:
        """How its token strings spell its pieces."""
        return METASPACE if self.byte_fallback else BYTE_LEVEL

    @property
    def byte_base(self) -> int:
        """Byte fallback: the id of byte token ``<0x00>`` (byte b has id ``byte_base + b``)."""
        return len(self.special_tokens)

    def _byte_token(self, i: int) -> bool:
        return self.byte_fallback and self.byte_base <= i < self.byte_base + 256

    def token_text(self, i: int) -> str:
        """Byte fallback: token ``i``'s string in tokenizer.json (a piece's spaces as "▁", byte tokens
        as ``<0xNN>``, specials as they are).

        >>> m = UnigramModel([b"<unk>"] + [bytes([b]) for b in range(256)] + [b" a"], [0.0] * 257 + [-0.5],
        ...                  {"<unk>": 0}, byte_fallback=True)
        >>> [m.token_text(i) for i in (0, 1 + 0x41, 257)]
        ['<unk>', '<0x41>', '▁a']
        """
        if i in self._special_text:
            return self._special_text[i]
        if self._byte_token(i):
            return METASPACE.byte_token(i - self.byte_base)
        return METASPACE.spell(self.vocab[i])

    def _export_scores(self) -> list[float]:
        """Every token's score as tokenizer.json holds it: special tokens (and byte-fallback tokens)
        get one so low that HF's lattice prefers any path of pieces to theirs (HF's lattice holds
        every token string; tokforge's holds the same ones, see ``_encode_tables``)."""
        fixed = set(self.special_tokens.values()) | {i for i in range(len(self.vocab)) if self._byte_token(i)}
        regular = [s for i, s in enumerate(self.scores) if i not in fixed]
        longest = max([len(self.vocab[i]) for i in self.special_tokens.values()] + [6 * self.byte_fallback])
        low = float(math.floor((longest + 1) * min(regular + [0.0]))) - 1.0
        return [low if i in fixed else s for i, s in enumerate(self.scores)]

    def tables(self):
        """(the trie: slots, near, longest; scores by id; the unknown character's id, -1 without
        byte fallback) for the lattice kernels."""
        if self._tables is None:
            self._tables = _encode_tables(self)
        return self._tables[:5]

    def _with_bytes(self, buf: np.ndarray, ids: np.ndarray, id_bounds: np.ndarray,
                    starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Check the kernels' result; byte fallback: the unknown characters become byte tokens."""
        if (id_bounds < 0).any():  # cannot happen with all 256 byte pieces / byte fallback (checked by tables())
            raise InputError("a piece has no segmentation over this vocabulary")
        if not self.byte_fallback:
            return ids, id_bounds
        *_, unk, lengths = self._tables
        return lattice.expand_unknown(ids, id_bounds, buf, np.asarray(starts, np.int64), lengths, unk, self.byte_base)

    def encode_pieces(self, pieces: Sequence[bytes]) -> list[list[int]]:
        """Viterbi-encode each piece (bytes) on its own."""
        return encode_each(self.encode_packed, pieces)

    def encode_packed(self, buf: bytes, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Viterbi-encode the pieces ``buf[bounds[j]:bounds[j+1]]``: (ids, id bounds per piece)."""
        arr, bounds = np.frombuffer(buf, np.uint8), np.asarray(bounds, np.int64)
        ids, id_bounds = lattice.viterbi_words(arr, bounds, *self.tables())
        return self._with_bytes(arr, ids, id_bounds, bounds[:-1])

    def encode_packed_sampled(self, buf: bytes, bounds: np.ndarray, alpha: float, nbest: int,
                              piece_seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``encode_packed`` with Unigram sampling (subword regularization): piece j's segmentation
        is drawn with P ∝ exp(alpha * its total score), exactly, from the random stream
        ``piece_seeds[j]`` (see ``tokforge.sampling.stochastic``); among the ``nbest`` best segmentations
        when ``nbest > 1``, Viterbi when 1, all of them when <= 0 (``tokforge.kernels.unigram_sample``).
        With byte fallback an unknown character is one lattice edge (then its byte tokens)."""
        check_sampling(alpha, nbest)
        arr, bounds = np.frombuffer(buf, np.uint8), np.asarray(bounds, np.int64)
        piece_seeds = np.asarray(piece_seeds, np.uint64)
        if len(piece_seeds) != len(bounds) - 1:
            raise InputError(f"{len(bounds) - 1} pieces but {len(piece_seeds)} random streams")
        ids, id_bounds = unigram_sample.sample_words(arr, bounds, *self.tables(), float(alpha), int(nbest),
                                                     piece_seeds)
        return self._with_bytes(arr, ids, id_bounds, bounds[:-1])

    def nbest(self, piece: bytes, n: int) -> list[tuple[list[int], float]]:
        """The ``n`` best segmentations of one piece (bytes), best first: (ids, total score).
        The first is the Viterbi segmentation."""
        if n < 0:
            raise InputError(f"n must be >= 0, got {n}")
        arr = np.frombuffer(piece, np.uint8)
        ids, bounds, scores = lattice.nbest_word(arr, *self.tables(), n)
        ids, bounds = self._with_bytes(arr, ids, bounds, np.zeros(len(scores), np.int64))
        ids = ids.tolist()
        return [(ids[bounds[k]:bounds[k + 1]], float(scores[k])) for k in range(len(scores))]

    # ---- serialization (token text as in tokenizer.json: byte-level characters, specials as they are)
    def to_vocab_list(self, token_text: TokenText) -> list[list]:
        """``[[token, score], ...]`` in id order; special tokens have score None."""
        specials = set(self.special_tokens.values())
        return [[token_text(i), None if i in specials or self._byte_token(i) else self.scores[i]]
                for i in range(len(self.vocab))]

    @classmethod
    def from_vocab_list(cls, entries: list, specials: dict[str, int], source: str,
                        byte_fallback: bool = False) -> "UnigramModel":
        """Inverse of :meth:`to_vocab_list` (also reads tokenizer.json's Unigram ``vocab``); with
        ``byte_fallback``, token strings as :meth:`token_text` writes them."""
        vocab: list[bytes] = []
        scores: list[float] = []
        special_ids = set(specials.values())
        byte_base = len(specials)
        for i, entry in enumerate(entries):
            if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)):
                raise ModelFormatError(f"{source}: Unigram vocab entry #{i} {entry!r} is not [token, score]")
            text, score = entry
            if i in special_ids:
                if specials.get(text) != i:
                    raise ModelFormatError(f"{source}: id {i} is {text!r} in the vocabulary but a different "
                                           "special token in special_tokens")
                vocab.append(text.encode("utf-8"))
                scores.append(0.0)
                continue
            if byte_fallback and byte_base <= i < byte_base + 256:
                if text != METASPACE.byte_token(i - byte_base):
                    raise ModelFormatError(f"{source}: id {i} should be the byte token {METASPACE.byte_token(i - byte_base)} "
                                           f"(byte tokens follow the {byte_base} special tokens), got {text!r}")
                vocab.append(bytes([i - byte_base]))
                scores.append(0.0)
                continue
            if not isinstance(score, (int, float)) or isinstance(score, bool):
                raise ModelFormatError(f"{source}: Unigram vocab entry #{i} {entry!r} has no numeric score")
            vocab.append((METASPACE if byte_fallback else BYTE_LEVEL).read(text))
            scores.append(float(score))
        for text, i in specials.items():
            if not 0 <= i < len(vocab):
                raise ModelFormatError(f"{source}: special token {text!r} has id {i}, outside the vocabulary")
        if byte_fallback and (UNK_TOKEN not in specials or sorted(special_ids) != list(range(byte_base))):
            raise ModelFormatError(f"{source}: a byte-fallback Unigram model needs the special token {UNK_TOKEN!r} "
                                   "and its special tokens first, then the 256 byte tokens")
        model = cls(vocab, scores, dict(specials), byte_fallback)
        model.tables()  # validate now
        return model

    def hf_model(self, token_text: TokenText) -> dict[str, Any]:
        """The ``"model"`` value of tokenizer.json (HF ``Unigram``), scores from ``_export_scores``."""
        vocab = [[token_text(i), s] for i, s in enumerate(self._export_scores())]
        unk = self.special_tokens[UNK_TOKEN] if self.byte_fallback else None
        return {"type": "Unigram", "unk_id": unk, "vocab": vocab, "byte_fallback": self.byte_fallback}

    # ---- the model interface (tokforge.models.protocol) -------------------------------------
    def check(self) -> None:
        self.tables()

    def byte_id(self, byte: int) -> int:
        if self.byte_fallback:
            return self.byte_base + byte
        specials = set(self.special_tokens.values())
        return next(i for i, piece in enumerate(self.vocab) if piece == bytes([byte]) and i not in specials)

    def fallback_byte(self, i: int) -> int | None:
        return i - self.byte_base if self._byte_token(i) else None

    def sample_packed(self, buf: bytes, bounds: np.ndarray, sampling: Sampling,
                      piece_seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unigram sampling (``sampling.unigram_alpha``, ``unigram_nbest``); BPE-dropout is a ConfigError."""
        if sampling.dropout > 0:
            raise ConfigError("BPE-dropout needs a BPE model, and this tokenizer's model is Unigram; "
                              "use Unigram sampling (unigram_alpha, --unigram-alpha) or stochastok instead")
        if sampling.unigram_alpha is None:
            raise ConfigError("nothing to sample: set unigram_alpha (Unigram sampling)")
        return self.encode_packed_sampled(buf, bounds, sampling.unigram_alpha, sampling.unigram_nbest, piece_seeds)

    def native_fields(self, token_text: TokenText) -> dict[str, Any]:
        return {"vocab": self.to_vocab_list(token_text)}  # [[token, score], ...] in id order

    def extended(self, words: WordCounts, n: int, min_frequency: int = 2) -> UnigramModel:
        """This model with up to ``n`` more pieces learned on ``words`` (``extend_pieces``: candidates
        from the Unigram trainer, scored by EM on the new text with the old scores fixed), after the
        last id: every id, token and score kept. A byte-fallback model's new pieces are whole characters."""
        strings = _lattice_strings(self)
        scores = self.tables()[3]  # the lattice's scores (byte fallback: the unknown character's last)
        old = {key: float(scores[i]) for key, i in strings.items()}
        unknown = float(scores[-1]) if self.byte_fallback else None
        pieces, new_scores = extend_pieces(words, old, unknown, n, min_frequency,
                                           frozenset(t.encode("utf-8") for t in self.special_tokens))
        model = replace(self, vocab=self.vocab + pieces,
                        scores=self.scores + [round(s, SCORE_DECIMALS) for s in new_scores])
        model.check()
        return model

    def facts(self) -> dict[str, Any]:
        return {}

    def label(self, layout: Layout, pattern: str, trained_as: str | None) -> str:
        return f"{self.algorithm} ({layout.label})"

    @classmethod
    def from_native(cls, doc: dict[str, Any], specials: dict[str, int], f: ModelFile, layout: Layout) -> UnigramModel:
        entries = f.get(doc, "vocab", list)
        if layout.literal:  # an imported sentencepiece Unigram, saved
            with f.field(("vocab", "unk_id", "special_tokens")):
                return SentencepieceUnigramModel.from_entries(entries, specials, doc.get("unk_id"), f.source)
        with f.field(("vocab", "special_tokens", "pretokenizer")):  # the pretokenizer decides the layout
            return cls.from_vocab_list(entries, specials, f.source, layout.byte_fallback)


@dataclass
class SentencepieceUnigramModel(UnigramModel):
    """A sentencepiece Unigram imported from a tokenizer.json (transformers' SpmConverter): token strings
    are the text itself (``▁`` written by the normalizer or the Metaspace split, ``sentencepiece_layout``),
    every token keeps the file's score (``<unk>``, ``<s>``, byte tokens too: HF's lattice holds them all),
    ``unk_id`` as the file says, byte tokens ``<0x00>``..``<0xFF>`` in a row from ``first_byte``."""

    unk_id: int = 0
    first_byte: int = 0

    @property
    def layout(self) -> Layout:
        return sentencepiece_layout(None)

    @property
    def byte_base(self) -> int:
        return self.first_byte

    def token_text(self, i: int) -> str:
        if i in self._special_text:
            return self._special_text[i]
        return METASPACE.byte_token(i - self.first_byte) if self._byte_token(i) else self.vocab[i].decode("utf-8")

    def _export_scores(self) -> list[float]:
        return list(self.scores)

    def _with_bytes(self, buf: np.ndarray, ids: np.ndarray, id_bounds: np.ndarray,
                    starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """HF's Unigram after Viterbi: a run of unknown characters and ``<unk>`` pieces is one string
        (``fuse_unk``), which is its token if it is one, else its byte tokens."""
        if (id_bounds < 0).any():
            raise InputError("a piece has no segmentation over this vocabulary")
        *_, unk, lengths = self._tables
        if not ((ids == unk) | (ids == self.unk_id)).any():
            return ids, id_bounds
        strings = {self.token_text(i).encode("utf-8"): i for i in range(len(self.vocab))}
        ids_l, bounds_l, data = ids.tolist(), id_bounds.tolist(), bytes(buf)
        out: list[int] = []
        out_bounds = [0]
        for j in range(len(bounds_l) - 1):
            pos, k, end = int(starts[j]), bounds_l[j], bounds_l[j + 1]
            while k < end:
                if ids_l[k] not in (unk, self.unk_id):
                    out.append(ids_l[k])
                    pos += int(lengths[ids_l[k]])
                    k += 1
                    continue
                a = pos
                while k < end and ids_l[k] in (unk, self.unk_id):
                    pos += utf8_length(data[pos]) if ids_l[k] == unk else int(lengths[ids_l[k]])
                    k += 1
                fused = data[a:pos]
                hit = strings.get(fused)
                out.extend([hit] if hit is not None else [self.first_byte + b for b in fused])
            out_bounds.append(len(out))
        return np.array(out, np.int64), np.array(out_bounds, np.int64)

    def to_vocab_list(self, token_text: TokenText) -> list[list]:
        return [[token_text(i), s] for i, s in enumerate(self.scores)]

    def hf_model(self, token_text: TokenText) -> dict[str, Any]:
        return {"type": "Unigram", "unk_id": self.unk_id, "vocab": self.to_vocab_list(token_text), "byte_fallback": True}

    def native_fields(self, token_text: TokenText) -> dict[str, Any]:
        return {"vocab": self.to_vocab_list(token_text), "unk_id": self.unk_id}

    def label(self, layout: Layout, pattern: str, trained_as: str | None) -> str:
        return "unigram (sentencepiece-style: '▁' in the text, byte fallback)"

    @classmethod
    def from_entries(cls, entries: list, specials: dict[str, int], unk_id: Any, source: str) -> "SentencepieceUnigramModel":
        """From tokenizer.json's ``[[token, score], ...]``; ModelFormatError for anything it cannot be."""
        vocab: list[bytes] = []
        scores: list[float] = []
        first_byte = next((i for i, e in enumerate(entries) if isinstance(e, (list, tuple)) and e[:1] == ["<0x00>"]), -1)
        for i, entry in enumerate(entries):
            if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)
                    and isinstance(entry[1], (int, float)) and not isinstance(entry[1], bool)):
                raise ModelFormatError(f"{source}: Unigram vocab entry #{i} {entry!r} is not [token, score]")
            text, score = entry
            is_byte = first_byte >= 0 and first_byte <= i < first_byte + 256
            if is_byte and text != METASPACE.byte_token(i - first_byte):
                raise ModelFormatError(f"{source}: id {i} should be the byte token "
                                       f"{METASPACE.byte_token(i - first_byte)} (the 256 byte tokens in a row), got {text!r}")
            vocab.append(bytes([i - first_byte]) if is_byte else text.encode("utf-8"))
            scores.append(float(score))
        if first_byte < 0 or first_byte + 256 > len(entries):
            raise ModelFormatError(f"{source}: byte_fallback needs the 256 byte tokens <0x00>..<0xFF> in a row")
        if isinstance(unk_id, bool) or not isinstance(unk_id, int) or not 0 <= unk_id < len(vocab):
            raise ModelFormatError(f"{source}: model.unk_id {unk_id!r} is not a token of the vocabulary")
        for text, i in specials.items():
            if not 0 <= i < len(vocab) or (vocab[i] != text.encode("utf-8")):
                raise ModelFormatError(f"{source}: added token {text!r} has id {i}, which the vocabulary does not give it")
        model = cls(vocab, scores, dict(specials), True, unk_id, first_byte)
        model.tables()
        return model


def check_sampling(alpha: float, nbest: int) -> None:
    """ConfigError unless ``alpha`` is a finite number > 0 and ``nbest`` an integer."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not (math.isfinite(alpha) and alpha > 0):
        raise ConfigError(f"Unigram sampling's alpha must be a finite number > 0 (0.1 to 1 is usual: smaller "
                          f"flattens the distribution, larger approaches the Viterbi encoding), got {alpha!r}")
    if isinstance(nbest, bool) or not isinstance(nbest, (int, np.integer)):
        raise ConfigError(f"Unigram sampling's nbest must be an integer (-1: all segmentations, 1: Viterbi, "
                          f"n > 1: the n best), got {nbest!r}")


def combine_nbest(options: list[list[tuple[list[int], float]]], n: int) -> list[tuple[list[int], float]]:
    """The ``n`` best concatenations choosing one (ids, score) from each list (each sorted best
    first): scores add; ties go to the earlier choices, first part first.

    >>> combine_nbest([[([1], -1.0), ([2, 3], -2.0)], [([4], -0.5), ([5], -3.0)]], 3)
    [([1, 4], -1.5), ([2, 3, 4], -2.5), ([1, 5], -4.0)]
    """
    best: list[tuple[float, tuple[int, ...], list[int]]] = [(0.0, (), [])]
    for choices in options:
        merged = [(score + s, ranks + (r,), ids + more)
                  for score, ranks, ids in best for r, (more, s) in enumerate(choices)]
        merged.sort(key=lambda x: (-x[0], x[1]))
        best = merged[:n]
    return [(ids, score) for score, _, ids in best] if n > 0 else []


def _encode_tables(model: UnigramModel):
    if model.byte_fallback:
        return _fallback_tables(model)
    special_ids = set(model.special_tokens.values())
    seen = _lattice_strings(model)
    missing = [b for b in range(256) if bytes([b]) not in seen]
    if missing:
        raise ModelFormatError(f"the vocabulary lacks byte pieces for bytes {missing[:10]}: "
                               "a byte-level Unigram model needs all 256 single-byte pieces")
    pieces, regular = list(seen), list(seen.values())
    arena = np.frombuffer(b"".join(pieces), np.uint8)
    trie = lattice.build_trie(arena, offsets_from_lengths(lengths_of(pieces)), np.array(regular, np.int32))
    scores = np.array([0.0 if i in special_ids else s for i, s in enumerate(model.scores)], np.float64)
    return trie + (scores, -1, None)


def _lattice_strings(model: UnigramModel) -> dict[bytes, int]:
    """The strings the lattice matches, as the model sees the text, and their ids: the pieces (not the
    specials); byte fallback: every token string of the tokenizer.json, as HF's lattice holds them
    (spaces for "▁"; an imported sentencepiece model: the strings themselves), but special tokens
    with a real space, which can never match there. ModelFormatError for an empty or repeated one."""
    if len(model.scores) != len(model.vocab):
        raise ModelFormatError(f"{len(model.vocab)} pieces but {len(model.scores)} scores")
    strings: dict[bytes, int] = {}
    special_ids = set(model.special_tokens.values())
    layout = model.layout
    for i in range(len(model.vocab)):
        if not model.byte_fallback:
            if i in special_ids:
                continue
            key = text = model.vocab[i]
            if not math.isfinite(model.scores[i]):
                raise ModelFormatError(f"piece {i} ({key!r}) has score {model.scores[i]!r}; scores must be finite")
        else:
            text = model.token_text(i)
            if " " in text and i in special_ids and not layout.literal:
                continue
            try:
                key = layout.read(text)
            except UnicodeEncodeError:
                raise ModelFormatError(f"token {i} {text!r} is not valid text") from None
        if not key:
            raise ModelFormatError(f"token {i} is empty")
        if key in strings:
            raise ModelFormatError(f"tokens {strings[key]} and {i} are both {text!r}; token strings must be unique")
        strings[key] = i
    return strings


def _fallback_tables(model: UnigramModel):
    """The lattice of a byte-fallback model holds what HF's does (``_lattice_strings``), with the
    exported scores."""
    if UNK_TOKEN not in model.special_tokens and not isinstance(model, SentencepieceUnigramModel):
        raise ModelFormatError(f"a byte-fallback Unigram model needs the special token {UNK_TOKEN!r}")
    strings = _lattice_strings(model)
    scores = np.array(model._export_scores(), np.float64)
    if not np.isfinite(scores).all():
        raise ModelFormatError("scores must be finite")
    keys = list(strings)
    arena = np.frombuffer(b"".join(keys), np.uint8)
    trie = lattice.build_trie(arena, offsets_from_lengths(lengths_of(keys)), np.array(list(strings.values()), np.int32))
    unk = len(model.vocab)  # a pseudo-piece: the unknown character, scored as HF's Unigram scores it
    lengths = np.zeros(unk + 1, np.int64)
    lengths[list(strings.values())] = lengths_of(keys)
    return trie + (np.append(scores, scores.min() - UNK_PENALTY), unk, lengths)
