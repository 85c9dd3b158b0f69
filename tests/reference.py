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


# ---- numbers -------------------------------------------------------------------------------------
import unicodedata  # noqa: E402


def reference_digit_groups(run: str, policy: str) -> list[str]:
    """The pieces of a run of digits under a digit policy: one by one, threes from the left, or
    threes from the right (cut the reversed run from the left)."""
    if policy == "single":
        return list(run)
    if policy == "ltr3":
        return [run[i:i + 3] for i in range(0, len(run), 3)]
    backwards = run[::-1]
    return [backwards[i:i + 3][::-1] for i in range(0, len(run), 3)][::-1]


# The TST constants, written out again: markers by exponent, escapes of reserved characters.
_REF_MARKERS = {0: "\x0e", 3: "\x0f", 6: "\x10", 9: "\x11", 12: "\x12", 15: "\x13",
                -3: "\x14", -6: "\x15", -9: "\x16", -12: "\x17", -15: "\x18"}
_REF_ESCAPES = {"\x0e": "\x1a!", "\x0f": "\x1a#", "\x10": "\x1a$", "\x11": "\x1a%", "\x12": "\x1a&",
                "\x13": "\x1a*", "\x14": "\x1a+", "\x15": "\x1a:", "\x16": "\x1a;", "\x17": "\x1a<",
                "\x18": "\x1a=", "\x1a": "\x1a>"}


def _ref_wordlike(c: str) -> bool:
    return unicodedata.category(c)[0] in "LMN" or c == "_"


def _ref_numeric(c: str) -> bool:
    return unicodedata.category(c)[0] == "N"


def reference_tst(text: str, max_fraction_digits: int) -> str:
    """Triadic Suffix Tokenization, character by character (no regex): escape the reserved
    characters, then read each candidate number as a whole comma/point cluster and mark its
    triads if the cluster has the shape of a number in range and stands alone."""
    s = "".join(_REF_ESCAPES.get(c, c) for c in text)
    n = len(s)
    out = []
    i = 0
    while i < n:
        if s[i] in "0123456789" and _ref_left_ok(s, i):
            found = _ref_number(s, i, max_fraction_digits)
            if found is not None:
                end, marked = found
                out.append(marked)
                i = end
                continue
        out.append(s[i])
        i += 1
    return "".join(out)


def _ref_left_ok(s: str, i: int) -> bool:
    if i == 0:
        return True
    before = s[i - 1]
    if _ref_wordlike(before) or before == ".":
        return False
    return not (before == "," and i >= 2 and _ref_numeric(s[i - 2]))


def _ref_run(s: str, j: int) -> int:
    while j < len(s) and s[j] in "0123456789":
        j += 1
    return j


def _ref_number(s: str, i: int, max_fraction_digits: int):
    n = len(s)
    groups = []
    j = i
    while True:  # digit runs joined by single commas
        k = _ref_run(s, j)
        groups.append(s[j:k])
        j = k
        if j + 1 < n and s[j] == "," and s[j + 1] in "0123456789":
            j += 1
            continue
        break
    if len(groups) == 1:
        if len(groups[0]) > 18:
            return None
    elif not (len(groups) <= 6 and len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
        return None
    fraction = None
    if j + 1 < n and s[j] == "." and s[j + 1] in "0123456789":
        k = _ref_run(s, j + 1)
        fraction = s[j + 1:k]
        if len(fraction) > max_fraction_digits:
            return None
        j = k
    if j < n and (_ref_wordlike(s[j]) or (s[j] in ".," and j + 1 < n and _ref_numeric(s[j + 1]))):
        return None
    if len(groups) == 1:
        triads = reference_digit_groups(groups[0], "rtl3")
        integer = "".join(t + _REF_MARKERS[3 * (len(triads) - 1 - k)] for k, t in enumerate(triads))
    else:
        integer = ",".join(g + _REF_MARKERS[3 * (len(groups) - 1 - k)] for k, g in enumerate(groups))
    if fraction is not None:
        triads = reference_digit_groups(fraction, "ltr3")
        integer += "." + "".join(t + _REF_MARKERS[-3 * (k + 1)] for k, t in enumerate(triads))
    return j, integer
def reference_merge_counts(tables: list[list[tuple[bytes, int]]]) -> list[tuple[bytes, int]]:
    """Sum the counts of word tables; words in the order of their first appearance."""
    total: dict[bytes, int] = {}
    for table in tables:
        for word, n in table:
            total[word] = total.get(word, 0) + n
    return list(total.items())


def reference_uniform_of_document(doc: bytes, seed: int) -> float:
    """fnv1a(doc) + (seed + 1) * golden ratio, scrambled by MurmurHash3's fmix64; top 53 bits / 2**53."""
    mask = 2**64 - 1
    h = 14695981039346656037
    for b in doc:
        h = ((h ^ b) * 1099511628211) & mask
    h = (h + ((seed + 1) * 0x9E3779B97F4A7C15)) & mask
    for mult in (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53):
        h = ((h ^ (h >> 33)) * mult) & mask
    h ^= h >> 33
    return (h >> 11) / 2**53
