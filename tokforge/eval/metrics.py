"""Tokenizer metrics: pure functions over token ids, token byte spans and text.

A tokenization of a text is given as arrays: the token ``ids`` and each token's byte span
``[starts[i], ends[i])`` in the text's UTF-8. Spans are non-decreasing; they may leave gaps
(tokenizers that drop whitespace) or overlap (byte tokens of one character, whose offsets some
tokenizers report as the whole character). Every metric is computed from these arrays alone, so
it is the same for tokforge models and Hugging Face tokenizers.

    >>> text = TextIndex.of("the cats sat")
    >>> starts, ends = np.array([0, 3, 4, 7, 8]), np.array([3, 4, 7, 8, 12])   # the| |cat|s| sat
    >>> words = word_spans(text)
    >>> words
    (array([0, 4, 9]), array([ 3,  8, 12]))
    >>> tokens_per_span(starts, ends, *words).tolist()
    [1, 2, 1]

Definitions (the usual ones; each function's docstring has a worked example):

- bytes/token and characters/token: UTF-8 bytes (characters) of the text per token.
- fertility: tokens per whitespace-delimited word, ``tokens / words`` (Rust et al. 2021).
- continued-word rate: the share of words covered by more than one token (Rust et al. 2021's
  "proportion of continued words").
- token premium: tokens of a language over tokens of the reference language on the same
  parallel text (Petrov et al. 2023), as a corpus-level ratio.
- vocabulary utilisation: the share of the vocabulary's ids used at least once.
- Rényi efficiency: ``H_alpha(p) / log |V|``, the Rényi entropy of the unigram distribution of
  tokens over the log of the vocabulary size (Zouhar et al. 2023, alpha = 2.5).
- valid-word tokens: the share of distinct letter-bearing tokens whose text is a word of a list.
- pure tokens: the share of tokens inside one gold morpheme; boundary precision/recall/F1 of
  token boundaries against gold morpheme boundaries (micro-averaged, as in Morpho Challenge).
- non-unique encodings: the share of distinct words for which the vocabulary admits another
  segmentation into at most as many tokens as the tokenizer's own.
- number splitting: pieces per digit run, and the share of runs cut exactly into right-to-left
  groups of three (``1|234|567``).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Collection, Iterable, Sequence

import numpy as np

from tokforge.errors import InputError
from tokforge.text.casing import fold_case

DEFAULT_RENYI_ALPHA = 2.5


# ---- text geometry ------------------------------------------------------------------------------

@functools.cache
def _whitespace_codepoints() -> np.ndarray:
    """The code points that Python's ``str.isspace`` accepts (what ``str.split()`` splits on)."""
    return np.array([c for c in range(0x3100) if chr(c).isspace()], np.uint32)


@dataclass(frozen=True)
class TextIndex:
    """A text, its UTF-8 and the byte offset of each character (``char_offsets[i]``, and the
    length in bytes at the end), to turn character offsets into byte offsets.

        >>> t = TextIndex.of("aé€")
        >>> t.char_offsets.tolist()
        [0, 1, 3, 6]
        >>> t.to_bytes(np.array([2])).tolist()
        [3]
    """

    text: str
    data: bytes
    codepoints: np.ndarray    # uint32, one per character
    char_offsets: np.ndarray  # int64, len(text) + 1

    @classmethod
    def of(cls, text: str, data: bytes | None = None) -> "TextIndex":
        try:
            cps = np.frombuffer(text.encode("utf-32-le"), np.uint32)
            data = text.encode("utf-8") if data is None else data
        except UnicodeEncodeError as e:
            raise InputError(f"text holds a lone surrogate {text[e.start]!r} that has no UTF-8 form; "
                             "decode your input with errors='replace' or remove it") from None
        sizes = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
        offsets = np.zeros(len(cps) + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return cls(text, data, cps, offsets)

    def to_bytes(self, char_positions: np.ndarray) -> np.ndarray:
        """Byte offsets of character offsets."""
        return self.char_offsets[char_positions]

    def to_chars(self, byte_positions: np.ndarray) -> np.ndarray:
        """Character offsets of byte offsets that fall on character starts."""
        return np.searchsorted(self.char_offsets, byte_positions)


def _runs(mask: np.ndarray, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) indexes of the maximal runs of True in ``mask``; a run also ends before each
    index in ``breaks`` (and a new one starts there)."""
    m = np.asarray(mask, bool)
    n = len(m)
    cut = np.zeros(n + 1, bool)
    b = np.asarray(breaks, np.int64)
    cut[b[(b >= 0) & (b <= n)]] = True
    cut[0] = cut[n] = True
    prev = np.concatenate([[False], m[:-1]])
    nxt = np.concatenate([m[1:], [False]])
    starts = np.flatnonzero(m & (~prev | cut[:n]))
    ends = np.flatnonzero(m & (~nxt | cut[1:])) + 1
    return starts, ends


def word_spans(text: TextIndex, breaks: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Byte spans ``(starts, ends)`` of the whitespace-delimited words (what ``str.split()`` gives).

    ``breaks`` are byte offsets where a word must end even without whitespace (document bounds).

        >>> [a.tolist() for a in word_spans(TextIndex.of("çay  iç\\n"))]
        [[0, 6], [4, 9]]
        >>> word_spans(TextIndex.of("abcd"), breaks=[2])
        (array([0, 2]), array([2, 4]))
    """
    nonspace = ~np.isin(text.codepoints, _whitespace_codepoints())
    char_breaks = text.to_chars(np.asarray(breaks, np.int64))
    s, e = _runs(nonspace, char_breaks)
    return text.to_bytes(s), text.to_bytes(e)


def digit_runs(text: TextIndex, breaks: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Byte spans of the maximal runs of ASCII digits 0-9 (numbers, as digit runs).

        >>> digit_runs(TextIndex.of("a1234, 5 x60"))
        (array([ 1,  7, 10]), array([ 5,  8, 12]))
    """
    cps = text.codepoints
    s, e = _runs((cps >= 48) & (cps <= 57), text.to_chars(np.asarray(breaks, np.int64)))
    return text.to_bytes(s), text.to_bytes(e)


# ---- compression --------------------------------------------------------------------------------

def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or None when there is nothing to divide by: bytes/token is
    ``ratio(bytes, tokens)``, characters/token ``ratio(chars, tokens)``, fertility
    ``ratio(tokens, words)``, the token premium ``ratio(tokens, reference_tokens)``.

        >>> ratio(12, 5), ratio(3, 0)
        (2.4, None)
    """
    return numerator / denominator if denominator else None


def covered_bytes(starts: np.ndarray, ends: np.ndarray) -> int:
    """Bytes covered by byte spans ``[starts, ends)`` (starts non-decreasing), overlaps counted once:
    with the spans of the unknown tokens, the text a lossy tokenizer lost.

        >>> covered_bytes(np.array([0, 2, 8]), np.array([4, 5, 9]))
        6
    """
    if len(starts) == 0:
        return 0
    reached = np.maximum.accumulate(ends)  # the end of the spans so far; each adds what lies beyond it
    before = np.concatenate([[starts[0]], reached[:-1]])
    return int(np.maximum(0, reached - np.maximum(starts, before)).sum())


def tokens_per_span(starts: np.ndarray, ends: np.ndarray, span_starts: np.ndarray,
                    span_ends: np.ndarray) -> np.ndarray:
    """For each span (a word), the number of tokens whose byte span overlaps it.

    A token overlaps ``[s, e)`` when it starts before ``e`` and ends after ``s`` (zero-width
    tokens overlap nothing). Token spans must be non-decreasing.

        >>> tokens_per_span(np.array([0, 3, 4]), np.array([3, 4, 9]), np.array([0, 4]), np.array([3, 9])).tolist()
        [1, 1]
    """
    lo, hi = token_ranges(starts, ends, span_starts, span_ends)
    return hi - lo


def token_ranges(starts: np.ndarray, ends: np.ndarray, span_starts: np.ndarray,
                 span_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each span, the index range ``[lo, hi)`` of the tokens that overlap it.

        >>> lo, hi = token_ranges(np.array([0, 3, 4]), np.array([3, 4, 9]), np.array([1, 4]), np.array([5, 9]))
        >>> lo.tolist(), hi.tolist()
        ([0, 2], [3, 3])
    """
    lo = np.searchsorted(ends, span_starts, side="right")
    hi = np.searchsorted(starts, span_ends, side="left")
    return lo, np.maximum(hi, lo)


def continued_words(tokens_in_word: np.ndarray) -> int:
    """The number of words covered by more than one token (the continued-word rate is this over
    the number of words).

        >>> continued_words(np.array([1, 2, 1, 3]))
        2
    """
    return int(np.count_nonzero(tokens_in_word > 1))


# ---- the vocabulary ---------------------------------------------------------------------------

def vocab_utilisation(id_counts: np.ndarray) -> float | None:
    """The share of the vocabulary used: ids with a count > 0 over the vocabulary size
    (``len(id_counts)``).

        >>> vocab_utilisation(np.array([3, 0, 1, 0]))
        0.5
    """
    return ratio(int(np.count_nonzero(id_counts)), len(id_counts))


def renyi_efficiency(id_counts: np.ndarray, alpha: float = DEFAULT_RENYI_ALPHA) -> float | None:
    """Rényi efficiency of the token distribution (Zouhar et al. 2023, "Tokenization and the
    Noiseless Channel"): ``H_alpha(p) / log |V|`` with ``H_alpha(p) = log(sum p_i^alpha) / (1 - alpha)``,
    ``p`` the unigram distribution of the tokens and ``|V| = len(id_counts)`` the vocabulary size.
    1.0 means every id is used equally often; alpha = 1 is Shannon efficiency.

        >>> renyi_efficiency(np.array([1, 1, 1, 1]))
        1.0
        >>> round(renyi_efficiency(np.array([2, 1, 1, 0]), alpha=2.0), 4)   # log(8/3) / log(4)
        0.7075
    """
    counts = np.asarray(id_counts, np.float64)
    total = counts.sum()
    if total == 0 or len(counts) < 2:
        return None
    p = counts[counts > 0] / total
    if alpha == 1.0:
        entropy = float(-(p * np.log(p)).sum())
    else:
        entropy = float(np.log((p ** alpha).sum()) / (1.0 - alpha))
    return entropy / math.log(len(counts))


def is_word_token(surface: str) -> bool:
    """Whether a token's text counts for the valid-word share: it has a letter.

        >>> is_word_token(" kitap"), is_word_token("123"), is_word_token(", ")
        (True, False, False)
    """
    return any(ch.isalpha() for ch in surface)


def is_valid_word(surface: str, words: Collection[str], language: str | None = None) -> bool:
    """Whether a token's text, without surrounding whitespace and case-folded for ``language``
    (``tokforge.text.casing.fold_case``: Unicode casefold by default, the I pairs for tr/az), is in
    ``words`` (folded the same way, see ``tokforge.eval.gold.read_wordlist``).

        >>> is_valid_word(" ISPARTA", {"ısparta"}, "tr"), is_valid_word(" ISPARTA", {"ısparta"})
        (True, False)
    """
    return fold_case(surface.strip(), language) in words


def valid_word_tokens(surfaces: Iterable[str], words: Collection[str],
                      language: str | None = None) -> tuple[int, int]:
    """(valid, counted) over distinct token texts: a token counts when it has a letter
    (``is_word_token``), and is valid when ``is_valid_word``. The share is ``valid / counted``
    (per vocabulary item; the paper's %TR counts token occurrences instead).

        >>> valid_word_tokens([" kitap", "lar", "ı", " ev", "42"], {"kitap", "ev", "ı"})
        (3, 4)
    """
    valid = counted = 0
    for s in set(surfaces):
        if is_word_token(s):
            counted += 1
            valid += is_valid_word(s, words, language)
    return valid, counted


# ---- morphology -------------------------------------------------------------------------------

def inner_boundaries(starts: Sequence[int], ends: Sequence[int], lo: int, hi: int) -> set[int]:
    """Token boundaries strictly inside ``[lo, hi)`` (a word's byte span): where the tokenizer
    cuts the word.

        >>> sorted(inner_boundaries([0, 4, 6], [4, 6, 11], 1, 11))   # " kit|ap|ları" of " kitapları"
        [4, 6]
    """
    return {p for p in (*starts, *ends) if lo < p < hi}


def boundary_counts(predicted: set[int], gold: set[int]) -> tuple[int, int, int]:
    """(true positives, predicted, gold) boundary counts of one word; sum them over words and
    give them to ``precision_recall_f1`` (micro-averaging).

        >>> boundary_counts({4, 6}, {6, 9})
        (1, 2, 2)
    """
    return len(predicted & gold), len(predicted), len(gold)


def precision_recall_f1(true_positives: int, predicted: int, gold: int) -> tuple[float | None, float | None, float | None]:
    """Boundary precision ``tp / predicted``, recall ``tp / gold`` and their harmonic mean.

        >>> precision_recall_f1(1, 2, 4)
        (0.5, 0.25, 0.3333333333333333)
    """
    p, r = ratio(true_positives, predicted), ratio(true_positives, gold)
    if p is None or r is None:
        return p, r, None
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def pure_tokens(starts: Sequence[int], ends: Sequence[int], lo: int, hi: int, gold: set[int]) -> tuple[int, int]:
    """(pure, total) tokens of one word ``[lo, hi)``: each token overlapping the word is clipped to
    it, and is pure when no gold morpheme boundary lies strictly inside its clipped span (it is
    inside one morpheme: the %Pure of Bayram et al. 2025).

        >>> pure_tokens([0, 4, 6], [4, 6, 11], 1, 11, gold={6, 9})     # kit|ap|ları vs kitap|lar|ı
        (2, 3)
    """
    pure = total = 0
    for s, e in zip(starts, ends):
        s, e = max(s, lo), min(e, hi)
        if s < e:
            total += 1
            pure += not any(s < g < e for g in gold)
    return pure, total


# ---- ambiguity ----------------------------------------------------------------------------------

def segmentation_counts(text: bytes, vocab: Collection[bytes], max_tokens: int,
                        max_token_bytes: int | None = None) -> list[int]:
    """``ways[j]``: the number of ways to cut ``text`` into exactly ``j`` tokens of ``vocab``,
    for ``j = 0..max_tokens``.

        >>> segmentation_counts(b"abc", {b"a", b"b", b"c", b"ab", b"bc"}, 3)
        [0, 0, 2, 1]
    """
    n = len(text)
    longest = min(n, max_token_bytes or n)
    ways = [[0] * (max_tokens + 1) for _ in range(n + 1)]  # ways[pos][j]: prefixes of j tokens
    ways[0][0] = 1
    for pos in range(n):
        row = ways[pos]
        if not any(row):
            continue
        for end in range(pos + 1, min(n, pos + longest) + 1):
            if text[pos:end] in vocab:
                nxt = ways[end]
                for j in range(max_tokens):
                    if row[j]:
                        nxt[j + 1] += row[j]
    return ways[n]


def has_alternative(text: bytes, n_tokens: int, vocab: Collection[bytes],
                    max_token_bytes: int | None = None) -> tuple[bool, bool]:
    """(non-unique, not shortest) for a string that the tokenizer encodes in ``n_tokens`` tokens:
    non-unique when the vocabulary admits another segmentation into at most ``n_tokens`` tokens
    (the string has several equally short id sequences), not shortest when one with fewer tokens
    exists.

        >>> vocab = {b"a", b"b", b"c", b"ab", b"bc"}
        >>> has_alternative(b"abc", 2, vocab)      # ab|c, and a|bc as short
        (True, False)
        >>> has_alternative(b"abc", 3, vocab)      # a|b|c, but ab|c is shorter
        (True, True)
        >>> has_alternative(b"ab", 1, vocab)
        (False, False)
    """
    ways = segmentation_counts(text, vocab, n_tokens, max_token_bytes)
    return sum(ways[1:]) > 1, any(ways[1:n_tokens])


# ---- numbers ------------------------------------------------------------------------------------

def number_pieces(starts: np.ndarray, ends: np.ndarray, run_starts: np.ndarray,
                  run_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each digit run, (pieces, triad-aligned): the number of pieces the token boundaries cut
    it into, and whether those pieces are exactly its right-to-left groups of three digits
    (``1234567 -> 1|234|567``; a run of up to 3 digits is aligned when it is one piece).

        >>> starts, ends = np.array([0, 1, 4, 8, 10]), np.array([1, 4, 7, 10, 12])   # 1|234|567 ,|12|34
        >>> pieces, aligned = number_pieces(starts, ends, np.array([0, 8]), np.array([7, 12]))
        >>> pieces.tolist(), aligned.tolist()
        ([3, 2], [True, False])
    """
    n = len(run_starts)
    cuts = np.unique(np.concatenate([_inside_runs(starts, run_starts, run_ends),
                                     _inside_runs(ends, run_starts, run_ends)]))
    owner = np.searchsorted(run_starts, cuts, side="right") - 1
    inside = np.bincount(owner, minlength=n)
    on_triad = np.bincount(owner[(run_ends[owner] - cuts) % 3 == 0], minlength=n)
    triads = (run_ends - run_starts - 1) // 3
    return inside + 1, (on_triad == inside) & (inside == triads)


def _inside_runs(positions: np.ndarray, run_starts: np.ndarray, run_ends: np.ndarray) -> np.ndarray:
    """The positions that lie strictly inside one of the (sorted, disjoint) runs."""
    owner = np.searchsorted(run_starts, positions, side="right") - 1
    ok = owner >= 0
    ok[ok] = (positions[ok] > run_starts[owner[ok]]) & (positions[ok] < run_ends[owner[ok]])
    return positions[ok]
