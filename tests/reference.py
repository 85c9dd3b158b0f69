"""Slow, obvious reference implementations (oracles) that the kernels must agree with."""
from __future__ import annotations

from collections import Counter

from tokforge.bytelevel import BYTE_ORDER


def reference_train_bpe(word_counts: dict[bytes, int], vocab_size: int, min_frequency: int = 1,
                        n_specials: int = 0, max_token_length: int | None = None) -> list[tuple[bytes, bytes]]:
    """Recount every pair after every merge; merge the most frequent pair, ties to the smallest
    (left id, right id); a merge yielding an existing string reuses that token."""
    ids = {bytes([b]): n_specials + i for i, b in enumerate(BYTE_ORDER)}
    words = [([bytes([c]) for c in w], n) for w, n in word_counts.items()]
    n_tokens = n_specials + 256
    merges = []
    while n_tokens < vocab_size:
        pairs = Counter()
        for symbols, n in words:
            for x, y in zip(symbols, symbols[1:]):
                if max_token_length is None or len(x) + len(y) <= max_token_length:
                    pairs[x, y] += n
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], -ids[p[0]], -ids[p[1]]))
        if pairs[best] < min_frequency:
            break
        merges.append(best)
        new = best[0] + best[1]
        if new not in ids:
            ids[new] = n_tokens
            n_tokens += 1
        for symbols, _ in words:
            i = 0
            while i < len(symbols) - 1:
                if (symbols[i], symbols[i + 1]) == best:
                    symbols[i: i + 2] = [new]
                i += 1
    return merges


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


# ---- Unigram ------------------------------------------------------------------------------------

def reference_segmentations(word: bytes, pieces: dict[bytes, int]) -> list[list[tuple[int, int, int]]]:
    """Every segmentation of ``word`` into pieces, as lists of (start, end, piece id)."""
    if not word:
        return [[]]
    out = []

    def walk(start: int, path: list) -> None:
        if start == len(word):
            out.append(list(path))
            return
        for end in range(start + 1, len(word) + 1):
            p = pieces.get(word[start:end])
            if p is not None:
                path.append((start, end, p))
                walk(end, path)
                path.pop()

    walk(0, [])
    return out


def reference_path_score(path, scores) -> float:
    total = 0.0
    for _, _, p in path:  # left to right, as the kernels add
        total = total + scores[p]
    return total


def reference_nbest(word: bytes, pieces: dict[bytes, int], scores, n: int):
    """All segmentations sorted by score (best first); equal scores: the one whose last piece
    starts earliest first, then the one before it, and so on (Viterbi's tie rule)."""
    paths = reference_segmentations(word, pieces)
    paths.sort(key=lambda path: (-reference_path_score(path, scores), [s for s, _, _ in reversed(path)]))
    return [([p for _, _, p in path], reference_path_score(path, scores)) for path in paths[:n]]


def reference_expected_counts(word_counts: dict[bytes, int], pieces: dict[bytes, int], scores):
    """Expected count of every piece: sum over words of count x posterior over all segmentations."""
    import math
    expected = [0.0] * len(scores)
    total = 0.0
    for word, count in word_counts.items():
        paths = reference_segmentations(word, pieces)
        if not paths:
            continue
        logs = [reference_path_score(path, scores) for path in paths]
        top = max(logs)
        z = top + math.log(sum(math.exp(v - top) for v in logs))
        total += count * z
        for path, v in zip(paths, logs):
            for _, _, p in path:
                expected[p] += count * math.exp(v - z)
    return expected, total


def reference_removal_loss(freq, alternatives, total_words):
    """sentencepiece's loss of removing each piece (inf: no alternative, 0: never used)."""
    import math
    total = sum(freq)
    out = []
    for p, alt in enumerate(alternatives):
        if not alt:
            out.append(math.inf)
            continue
        if freq[p] <= 0:
            out.append(0.0)
            continue
        f = freq[p]
        logprob = math.log(f) - math.log(total)
        logsum_alt = math.log(total + f * (len(alt) - 1))
        alt_logprob = sum(math.log(freq[a] + f) - logsum_alt for a in alt)
        out.append(f / total_words * (logprob - alt_logprob))
    return out


def reference_substring_candidates(word_counts: dict[bytes, int], max_chars: int, cap: int) -> dict[bytes, int]:
    """Substrings of >= 2 characters (at most ``max_chars`` characters and ``cap`` bytes) that no
    one-character extension within those limits occurs as often as; with their frequency
    (occurrences x word count)."""
    from collections import Counter
    freq: Counter = Counter()
    for word, count in word_counts.items():
        text = word.decode("utf-8")
        for i in range(len(text)):
            for j in range(i + 1, min(len(text), i + max_chars) + 1):
                sub = text[i:j].encode("utf-8")
                if len(sub) > cap:
                    break
                freq[sub] += count
    out = {}
    for sub, f in freq.items():
        text = sub.decode("utf-8")
        if len(text) < 2:
            continue
        extended = [e for e in freq if len(e) > len(sub) and e.startswith(sub)
                    and len(e.decode("utf-8")) == len(text) + 1]
        if all(freq[e] < f for e in extended):
            out[sub] = f
    return out
