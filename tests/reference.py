"""Slow, obvious reference implementations (oracles) that the kernels must agree with."""
from __future__ import annotations

from collections import Counter

from tokforge.bytelevel import BYTE_ORDER


def reference_train_bpe(word_counts: dict[bytes, int], vocab_size: int, min_frequency: int = 1,
                        n_specials: int = 0, max_token_length: int | None = None,
                        max_words: int | None = None,
                        start: list[tuple[bytes, bytes]] = ()) -> list[tuple[bytes, bytes]]:
    """Recount every pair after every merge; merge the most frequent pair, ties to the smallest
    (left id, right id); a merge yielding an existing string reuses that token. The ``start``
    merges are first applied in order, whatever their counts, and kept."""
    ids = {bytes([b]): n_specials + i for i, b in enumerate(BYTE_ORDER)}
    words = [([bytes([c]) for c in w], n) for w, n in word_counts.items()]
    merges = []

    def merge(best):
        merges.append(best)
        new = best[0] + best[1]
        if new not in ids:
            ids[new] = n_specials + len(ids)
        for symbols, _ in words:
            i = 0
            while i < len(symbols) - 1:
                if (symbols[i], symbols[i + 1]) == best:
                    symbols[i: i + 2] = [new]
                i += 1

    for pair in start:
        merge(pair)
    while n_specials + len(ids) < vocab_size:
        pairs = Counter()
        for symbols, n in words:
            for x, y in zip(symbols, symbols[1:]):
                if max_token_length is not None and len(x) + len(y) > max_token_length:
                    continue
                if max_words is not None and reference_words(x + y) > max_words:
                    continue
                pairs[x, y] += n
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], -ids[p[0]], -ids[p[1]]))
        if pairs[best] < min_frequency:
            break
        merge(best)
    return merges


def reference_words(token: bytes) -> int:
    """Words in a token: maximal runs of bytes that are not ASCII whitespace."""
    return len(token.replace(b"\t", b" ").replace(b"\n", b" ").replace(b"\r", b" ")
               .replace(b"\x0b", b" ").replace(b"\x0c", b" ").split())


def reference_bpe_encode(word: bytes, merges: list[tuple[bytes, bytes]]) -> list[bytes]:
    """Apply the lowest-ranked applicable merge, leftmost first, until none applies."""
    rank = {}
    for r, pair in enumerate(merges):
        rank.setdefault(pair, r)
    symbols = [bytes([c]) for c in word]
    while True:
        candidates = [(rank[p], i) for i, p in enumerate(zip(symbols, symbols[1:])) if p in rank]
        if not candidates:
            return symbols
        _, i = min(candidates)
        symbols[i: i + 2] = [symbols[i] + symbols[i + 1]]
