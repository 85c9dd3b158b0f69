"""Extending a BPE vocabulary: more merges learned on new text after the old ones, every old id,
token and merge kept (``tokforge extend``, ``tokforge.extend``).

Each word of the new corpus is first encoded with the old model (all old merges applied); then, as a
BPE trainer does, the most frequent adjacent pair (ties: the smaller ids first) becomes a merge,
appended after the old ones, until ``n`` merges are learned or no pair occurs ``min_frequency`` times.
A merge whose bytes are already a token yields that token; any other gets the next free id.

    >>> from tokforge.models.bpe import BPEModel
    >>> model = BPEModel([bytes([b]) for b in range(256)] + [b"ab"], [(97, 98)])
    >>> words = [[256, 99], [256, 99, 100]]                     # "abc" x 3, "abcd" x 2, old merges applied
    >>> continue_merges(model.vocab, model.special_tokens, words, [3, 2], 2, 2)
    ([b'abc', b'abcd'], [(256, 99), (257, 100)])
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Sequence

from tokforge.errors import ConfigError


def continue_merges(vocab: Sequence[bytes], special_tokens: dict[str, int], words: list[list[int]],
                    counts: Sequence[int], n: int, min_frequency: int = 2) -> tuple[list[bytes], list[tuple[int, int]]]:
    """The new tokens (ids ``len(vocab)``, ...) and the ``n`` new merges (id pairs, ranked after the old
    ones) learned on ``words`` (each a list of ids, the old model's encoding, with its count)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"the number of merges to add must be an integer >= 1, got {n!r}")
    if min_frequency < 1:
        raise ConfigError(f"min_frequency must be >= 1, got {min_frequency}")
    specials = set(special_tokens.values())
    refused = {t.encode("utf-8") for t in special_tokens}  # a token spelled as a special token would clash
    ids = {t: i for i, t in enumerate(vocab) if i not in specials}
    tokens = list(vocab)
    words = [list(w) for w in words]
    pairs: Counter[tuple[int, int]] = Counter()
    where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)
    for w, (word, count) in enumerate(zip(words, counts)):
        for pair in zip(word, word[1:]):
            pairs[pair] += count
            where[pair].add(w)
    new_tokens: list[bytes] = []
    merges: list[tuple[int, int]] = []
    while len(merges) < n:
        best = max(((c, -a, -b) for (a, b), c in pairs.items() if c >= min_frequency
                    and tokens[a] + tokens[b] not in refused), default=None)
        if best is None:
            break
        pair = (-best[1], -best[2])
        merged = tokens[pair[0]] + tokens[pair[1]]
        new = ids.get(merged)
        if new is None:
            new = ids[merged] = len(tokens)
            tokens.append(merged)
            new_tokens.append(merged)
        merges.append(pair)
        for w in where.pop(pair, set()):
            word, count = words[w], counts[w]
            for p in zip(word, word[1:]):
                pairs[p] -= count
            out, k = [], 0
            while k < len(word):
                if k + 1 < len(word) and (word[k], word[k + 1]) == pair:
                    out.append(new)
                    k += 2
                else:
                    out.append(word[k])
                    k += 1
            words[w] = out
            for p in zip(out, out[1:]):
                pairs[p] += count
                where[p].add(w)
        pairs.pop(pair, None)
    return new_tokens, merges
