"""The model interface: what the tokenizer, the file formats and the samplers ask of a model.

A model turns pretokenized pieces (UTF-8 bytes) into token ids and ids back into bytes
(``vocab``). ``BPEModel`` and ``UnigramModel`` implement it, and the morphology hybrid uses either
as its fallback. Callers never ask which model they hold: they ask the model (its name in a file,
its tokenizer.json form, its sampler, whether it scores its encodings).

    >>> from tokforge.models.bpe import BPEModel
    >>> from tokforge.models.unigram import UnigramModel
    >>> bytes_only = [bytes([b]) for b in range(256)]
    >>> models: list[Model] = [BPEModel(bytes_only + [b"ab"], [(97, 98)]),
    ...                        UnigramModel(bytes_only + [b"ab"], [-5.0] * 256 + [-1.0])]
    >>> [(m.algorithm, m.scored, m.encode_pieces([b"abc"])) for m in models]
    [('bpe', False, [[256, 99]]), ('unigram', True, [[256, 99]])]
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

import numpy as np

from tokforge.errors import ConfigError
from tokforge.packed import lengths_of, offsets_from_lengths

if TYPE_CHECKING:
    from tokforge.counting.words import WordCounts
    from tokforge.formats.fields import ModelFile
    from tokforge.sampling.stochastic import Sampling
    from tokforge.text.layout import Layout

TokenText = Callable[[int], str]  # id -> the token's string in a model file (the tokenizer knows the layout)


class Model(Protocol):
    """A tokenizer's model (``BPEModel``, ``UnigramModel``)."""

    algorithm: str                   # its name in tokforge.json: "bpe", "unigram"
    vocab: list[bytes]               # id -> the token's bytes (a special token: its UTF-8): the decode table
    special_tokens: dict[str, int]   # special and reserved tokens, matched before the model, never by it
    byte_fallback: bool              # 256 byte tokens <0xNN> for what no piece covers (else every byte is a piece)
    scored: bool                     # its encodings have probabilities: n-best lists, Unigram sampling

    def check(self) -> None:
        """Build the encoding tables, which checks the vocabulary (ModelFormatError)."""

    def encode_pieces(self, pieces: Sequence[bytes]) -> list[list[int]]:
        """The ids of each piece, encoded on its own."""

    def encode_packed(self, buf: bytes, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ids of the pieces ``buf[bounds[j]:bounds[j+1]]``: (ids, id bounds per piece)."""

    def byte_id(self, byte: int) -> int:
        """The id of the token of the single byte ``byte`` (a number stage's marker)."""

    def fallback_byte(self, i: int) -> int | None:
        """The byte that token ``i`` stands for when it is a byte-fallback token, else None."""

    def nbest(self, piece: bytes, n: int) -> list[tuple[list[int], float]]:
        """The ``n`` most likely encodings of one piece, best first, with their log-probability
        (InputError for a model with one encoding per piece)."""

    def sample_packed(self, buf: bytes, bounds: np.ndarray, sampling: Sampling,
                      piece_seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``encode_packed`` with the model's own sampler (BPE-dropout, Unigram sampling): piece j draws
        from the random stream ``piece_seeds[j]``; ConfigError for a sampler of another model."""

    def native_fields(self, token_text: TokenText) -> dict[str, Any]:
        """Its fields of tokforge.json (``vocab``, and ``merges`` for BPE)."""

    def hf_model(self, token_text: TokenText) -> dict[str, Any]:
        """The ``"model"`` of a tokenizer.json that encodes as it does (ExportError if none does)."""

    def facts(self) -> dict[str, Any]:
        """What ``tokforge info`` shows of it beside the vocabulary size."""

    def extended(self, words: WordCounts, n: int, min_frequency: int = 2) -> Model:
        """This model with ``n`` more tokens learned on the word counts of new text, every existing id
        kept (``tokforge extend``); ConfigError for a model that cannot be extended."""

    def label(self, layout: Layout, pattern: str, trained_as: str | None) -> str:
        """The kind of model in words (``tokforge info``), given the tokens' layout, the split pattern it
        encodes after and the algorithm it was trained with."""

    @classmethod
    def from_native(cls, doc: dict[str, Any], specials: dict[str, int], f: ModelFile, layout: Layout) -> Model:
        """Read its fields of a tokforge.json document (``specials``: every special and reserved token)."""


def encode_each(encode_packed: Callable[[bytes, np.ndarray], tuple[np.ndarray, np.ndarray]],
                pieces: Sequence[bytes]) -> list[list[int]]:
    """Encode each piece (bytes) on its own with a model's ``encode_packed(buf, bounds)``, which
    returns (ids, id bounds per piece), as one list of ids per piece."""
    if not pieces:
        return []
    ids, id_bounds = encode_packed(b"".join(pieces), offsets_from_lengths(lengths_of(pieces)))
    ids = ids.tolist()
    id_bounds = id_bounds.tolist()
    return [ids[id_bounds[i]: id_bounds[i + 1]] for i in range(len(pieces))]


def check_training_args(vocab_size: int, special_tokens: Sequence[str], min_frequency: int,
                        max_token_length: int | None, reserved: tuple[int, str] = (0, "")) -> None:
    """ConfigError unless the arguments every trainer takes fit together: unique non-empty special tokens,
    a vocabulary with room for them, the ``reserved`` tokens (how many, and of what) and the 256 bytes,
    ``min_frequency >= 1`` and ``max_token_length`` None or >= 2.

    >>> check_training_args(300, ["<s>", "<s>"], 2, None)
    Traceback (most recent call last):
    ...
    tokforge.errors.ConfigError: special tokens must be unique and non-empty, got ['<s>', '<s>']
    """
    n_specials, (n_reserved, what) = len(set(special_tokens)), reserved
    n_fixed = n_specials + n_reserved + 256
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < n_fixed:
        extra = f" + {n_reserved:,} fixed number tokens ({what})" if n_reserved else ""
        raise ConfigError(f"vocab_size {vocab_size} is smaller than the {n_specials} special tokens{extra} + 256 byte "
                          f"tokens; use at least {n_fixed}")
    if vocab_size >= 2**31:
        raise ConfigError(f"vocab_size {vocab_size} is too large (max {2**31 - 1})")
    if len(set(special_tokens)) != len(special_tokens) or any(not s for s in special_tokens):
        raise ConfigError(f"special tokens must be unique and non-empty, got {list(special_tokens)}")
    if min_frequency < 1:
        raise ConfigError(f"min_frequency must be >= 1, got {min_frequency}")
    if max_token_length is not None and max_token_length < 2:
        raise ConfigError(f"max_token_length must be >= 2 bytes (or None), got {max_token_length}")
