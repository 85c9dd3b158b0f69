"""Byte-level Unigram LM training: the pure trainer ``train_unigram(word_counts) -> UnigramModel``
(the model is ``tokforge.models.unigram``).

Training follows sentencepiece's ``unigram_model_trainer`` (the EM core is
``tokforge.models.unigram_em``): seed pieces are the frequent substrings of the words
(``tokforge.kernels.unigram_seed``), scored by frequency x characters; then rounds of EM (forward-backward E-step, Bayesian M-step ``digamma(count) - digamma(total)``)
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

from typing import Callable, Sequence

import numpy as np

from tokforge.counting.words import WordCounts
from tokforge.errors import ConfigError
from tokforge.models.unigram import SCORE_DECIMALS, UNK_TOKEN, UnigramModel
from tokforge.models.unigram_em import Pieces, Words, seed_pieces, train_pieces
from tokforge.text.bytelevel import BYTE_ORDER
from tokforge.text.layout import METASPACE, METASPACE_MARK, layout_of


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

    pieces = seed_pieces(word_counts, min_frequency, max_piece_chars, max_token_length or 4 * max_piece_chars,
                         seed_size)
    if len(pieces) < target:
        raise ConfigError(
            f"vocab_size {vocab_size} is larger than the corpus supports: only {len(pieces) - 256} candidate "
            f"pieces occur at least min_frequency={min_frequency} times (+ 256 bytes + {len(specials)} specials); "
            f"use a vocab_size of at most {len(pieces) + len(specials)}, a lower min_frequency or more text")
    progress = None if on_progress is None else (lambda n: on_progress(n + len(specials)))
    pieces = train_pieces(Words(word_counts), pieces, target, shrinking_factor=shrinking_factor,
                          num_sub_iterations=num_sub_iterations, on_progress=progress)
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


def _final_model(pieces: Pieces, target: int, specials: list[str]) -> UnigramModel:
    rest = np.arange(256, len(pieces))
    learned = rest[np.lexsort((rest, -pieces.scores[rest]))][: target - 256]
    scores = np.round(pieces.scores, SCORE_DECIMALS)
    vocab = [s.encode("utf-8") for s in specials] + [bytes([b]) for b in BYTE_ORDER]
    vocab += [pieces.piece(p) for p in learned.tolist()]
    piece_scores = [0.0] * len(specials) + [float(scores[b]) for b in BYTE_ORDER]
    piece_scores += [float(scores[p]) for p in learned.tolist()]
    return UnigramModel(vocab, piece_scores, {s: i for i, s in enumerate(specials)})
