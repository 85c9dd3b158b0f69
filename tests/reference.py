"""Slow, obvious reference implementations (oracles) that the kernels must agree with."""
from __future__ import annotations

from collections import Counter

from tokforge.text.bytelevel import BYTE_ORDER


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
        _rewrite(words, best, new)

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


def reference_merge_symbols(words: list[tuple[list[int], int]], token_bytes: list[bytes], steps: int,
                            min_frequency: int = 1) -> list[tuple[int, int, int]]:
    """The merge rule on words already written in tokens (``token_bytes[id]``, ids in any order,
    segmentations of any kind): recount every pair, merge the most frequent (ties to the smallest
    (left, right)), the result being the existing token with those bytes if there is one, else the
    next id; words rewritten left to right. Returns the merges as (left, right, result)."""
    words = [(list(symbols), n) for symbols, n in words]
    tokens = list(token_bytes)
    merges = []
    for _ in range(steps):
        pairs = Counter()
        for symbols, n in words:
            for x, y in zip(symbols, symbols[1:]):
                pairs[x, y] += n
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], -p[0], -p[1]))
        if pairs[best] < min_frequency:
            break
        joined = tokens[best[0]] + tokens[best[1]]
        new = tokens.index(joined) if joined in tokens else len(tokens)
        if new == len(tokens):
            tokens.append(joined)
        merges.append((*best, new))
        _rewrite(words, best, new)
    return merges


def _rewrite(words: list, pair: tuple, new) -> None:
    """Replace ``pair`` by ``new`` in every word's symbols (the lists of ``words``' (symbols, count)
    items), left to right, non-overlapping."""
    for symbols, _ in words:
        i = 0
        while i < len(symbols) - 1:
            if (symbols[i], symbols[i + 1]) == pair:
                symbols[i: i + 2] = [new]
            i += 1


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


# ---- stochastic tokenization ---------------------------------------------------------------------
import heapq  # noqa: E402
import math  # noqa: E402

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def reference_mix64(x: int) -> int:
    """MurmurHash3's fmix64 on Python ints."""
    x &= _M64
    x = ((x ^ (x >> 33)) * 0xFF51AFD7ED558CCD) & _M64
    x = ((x ^ (x >> 33)) * 0xC4CEB9FE1A85EC53) & _M64
    return x ^ (x >> 33)


def reference_derive(a: int, b: int) -> int:
    return reference_mix64(reference_mix64(a + _GOLDEN) ^ b)


def reference_example_seed(seed: int, epoch: int, example_id: int, purpose: int) -> int:
    base = reference_derive(reference_derive(reference_derive(purpose, seed), epoch), 0)
    return reference_derive(base, example_id)


class ReferenceStream:
    """The k-th number of a stream is mix64(seed + k * golden); floats take the top 53 bits."""

    def __init__(self, seed: int):
        self.counter = seed

    def uniform(self) -> float:
        self.counter = (self.counter + _GOLDEN) & _M64
        return (reference_mix64(self.counter) >> 11) / float(1 << 53)

    def below(self, m: int) -> int:
        return min(int(self.uniform() * m), m - 1)


def reference_split_table(vocab: list[bytes], special_ids: set[int]) -> list[list[tuple[int, int]]]:
    """For each token, every (left, right) of non-special tokens with left + right == token, by the
    length of left (the lowest id among tokens with equal bytes)."""
    ids: dict[bytes, int] = {}
    for i, t in enumerate(vocab):
        if i not in special_ids:
            ids.setdefault(t, i)
    table = []
    for i, t in enumerate(vocab):
        splits = []
        if i not in special_ids:
            for k in range(1, len(t)):
                if t[:k] in ids and t[k:] in ids:
                    splits.append((ids[t[:k]], ids[t[k:]]))
        table.append(splits)
    return table


def reference_stochastok(ids: list[int], table: list[list[tuple[int, int]]], p: float, seed: int) -> list[int]:
    """StochasTok on a Python list: floor(p * n) attempts, each a uniform position of the current
    list, then (if the token has splits) a uniform split replacing it."""
    stream = ReferenceStream(seed)
    seq = list(ids)
    for _ in range(math.floor(p * len(ids))):
        i = stream.below(len(seq))
        splits = table[seq[i]]
        if splits:
            left, right = splits[stream.below(len(splits))]
            seq[i:i + 1] = [left, right]
    return seq


def enumerate_stochastok(ids: list[int], table: list[list[tuple[int, int]]], attempts: int) -> dict[tuple, float]:
    """The exact distribution of StochasTok's output after ``attempts`` attempts."""
    dist = {tuple(ids): 1.0}
    for _ in range(attempts):
        nxt: dict[tuple, float] = {}
        for seq, prob in dist.items():
            for i, token in enumerate(seq):
                splits = table[token]
                if not splits:
                    nxt[seq] = nxt.get(seq, 0.0) + prob / len(seq)
                for left, right in splits:
                    out = seq[:i] + (left, right) + seq[i + 1:]
                    nxt[out] = nxt.get(out, 0.0) + prob / len(seq) / len(splits)
        dist = nxt
    return dist


def reference_bpe_dropout(word: list[int], merges: dict[tuple[int, int], tuple[int, int]], skip) -> list[int]:
    """HF tokenizers' ``Word::merge_all`` written plainly: a heap of (rank, position, new id); each
    pop asks ``skip()``; a skipped entry waits in a list that goes back on the heap when the next
    entry is popped and not skipped (before that entry is checked). ``merges``: pair -> (rank, new)."""
    symbols = list(word)
    alive = [True] * len(symbols)
    heap = [(merges[p][0], i, merges[p][1]) for i, p in enumerate(zip(symbols, symbols[1:])) if p in merges]
    heapq.heapify(heap)
    waiting = []

    def right_of(i):
        j = i + 1
        while j < len(symbols) and not alive[j]:
            j += 1
        return j if j < len(symbols) else None

    def left_of(i):
        j = i - 1
        while j >= 0 and not alive[j]:
            j -= 1
        return j if j >= 0 else None

    while heap:
        entry = heapq.heappop(heap)
        if skip():
            waiting.append(entry)
            continue
        for w in waiting:
            heapq.heappush(heap, w)
        waiting = []
        _, i, new = entry
        j = right_of(i) if alive[i] else None
        if j is None or merges.get((symbols[i], symbols[j]), (None, None))[1] != new:
            continue
        symbols[i] = new
        alive[j] = False
        k = left_of(i)
        if k is not None and (symbols[k], new) in merges:
            heapq.heappush(heap, (merges[symbols[k], new][0], k, merges[symbols[k], new][1]))
        j = right_of(i)
        if j is not None and (new, symbols[j]) in merges:
            heapq.heappush(heap, (merges[new, symbols[j]][0], i, merges[new, symbols[j]][1]))
    return [s for s, a in zip(symbols, alive) if a]


def enumerate_bpe_dropout(word: list[int], merges: dict[tuple[int, int], tuple[int, int]],
                          p: float) -> dict[tuple, float]:
    """The exact distribution of BPE-dropout's output: every sequence of skip decisions, explored
    depth first, weighted p per skip and 1 - p per kept entry."""
    class _More(Exception):
        pass

    dist: dict[tuple, float] = {}
    stack = [()]
    while stack:
        prefix = stack.pop()
        used = iter(prefix)

        def skip():
            try:
                return next(used)
            except StopIteration:
                raise _More from None
        try:
            out = tuple(reference_bpe_dropout(word, merges, skip))
        except _More:
            stack.extend([prefix + (True,), prefix + (False,)])
            continue
        prob = math.prod(p if s else 1 - p for s in prefix)
        dist[out] = dist.get(out, 0.0) + prob
    return dist


# ---- Unigram sampling ----------------------------------------------------------------------------

def _reference_pick(weights: list[float], u: float) -> int:
    """The first index whose cumulative weight exceeds u; rounding left over: the last positive one."""
    acc, last = 0.0, -1
    for i, w in enumerate(weights):
        if w > 0:
            acc += w
            last = i
            if u < acc:
                return i
    return last


def _reference_partition(word: bytes, pieces: dict[bytes, int], scores, alpha: float) -> float:
    """Sum over the segmentations s of ``word`` of exp(alpha * score(s)) (1 for the empty word)."""
    return sum(math.exp(alpha * reference_path_score(path, scores)) for path in reference_segmentations(word, pieces))


def reference_unigram_sample(word: bytes, pieces: dict[bytes, int], scores, alpha: float, stream) -> list[int]:
    """Backward sampling by brute force: from the end e, the last piece word[s:e] (by increasing s)
    is chosen with probability exp(alpha * score) * Z(word[:s]) / Z(word[:e]), one uniform number
    a step, and e moves to s."""
    out = []
    e = len(word)
    while e > 0:
        z_e = _reference_partition(word[:e], pieces, scores, alpha)
        options, weights = [], []
        for s in range(e):
            p = pieces.get(word[s:e])
            if p is not None:
                options.append((s, p))
                weights.append(math.exp(alpha * scores[p]) * _reference_partition(word[:s], pieces, scores, alpha) / z_e)
        s, p = options[_reference_pick(weights, stream.uniform())]
        out.append(p)
        e = s
    return out[::-1]


def reference_unigram_nbest_sample(word: bytes, pieces: dict[bytes, int], scores, alpha: float, n: int,
                                   stream) -> list[int]:
    """One of the ``n`` best segmentations, chosen with probability ∝ exp(alpha * score)."""
    paths = reference_nbest(word, pieces, scores, n)
    top = max(score for _, score in paths)
    weights = [math.exp(alpha * (score - top)) for _, score in paths]
    return paths[_reference_pick([w / sum(weights) for w in weights], stream.uniform())][0]


def enumerate_unigram_sampling(word: bytes, pieces: dict[bytes, int], scores, alpha: float,
                               n: int | None = None) -> dict[tuple, float]:
    """The exact distribution: P(s) ∝ exp(alpha * score(s)) over all segmentations (n None) or the n best."""
    paths = reference_nbest(word, pieces, scores, n if n is not None else 10 ** 9)
    weights = {tuple(ids): math.exp(alpha * score) for ids, score in paths}
    total = sum(weights.values())
    return {ids: w / total for ids, w in weights.items()}


def reference_fallback_lattice(word: bytes, pieces: dict[bytes, int], scores, unk_score: float):
    """Byte fallback as plain pieces: every character of ``word`` that is not a piece by itself
    becomes a pseudo-piece scored ``unk_score`` (ids after ``scores``): (pieces, scores, pseudo id ->
    its character's bytes)."""
    extended, all_scores, unknown = dict(pieces), list(scores), {}
    for c in dict.fromkeys(word.decode("utf-8")):
        if c.encode() not in pieces:
            unknown[len(all_scores)] = c.encode()
            extended[c.encode()] = len(all_scores)
            all_scores.append(unk_score)
    return extended, all_scores, unknown


def reference_expand(path: list[int], unknown: dict[int, bytes], byte_base: int) -> list[int]:
    """A path over ``reference_fallback_lattice`` pieces with each pseudo-piece as its byte ids."""
    return [i for p in path for i in ([byte_base + b for b in unknown[p]] if p in unknown else [p])]


def reference_fallback_viterbi(word: bytes, pieces: dict[bytes, int], scores, unk_score: float,
                               byte_base: int) -> list[int]:
    """Viterbi with byte fallback, by enumeration (ties as ``reference_nbest``)."""
    extended, all_scores, unknown = reference_fallback_lattice(word, pieces, scores, unk_score)
    (best, _), = reference_nbest(word, extended, all_scores, 1)
    return reference_expand(best, unknown, byte_base)


def reference_sampled_path(word: bytes, pieces: dict[bytes, int], scores, alpha: float, nbest: int, stream):
    """The path the sampler draws for ``nbest`` (1: Viterbi, > 1: among the n best, else all)."""
    if nbest == 1:
        return reference_nbest(word, pieces, scores, 1)[0][0]
    if nbest > 1:
        return reference_unigram_nbest_sample(word, pieces, scores, alpha, nbest, stream)
    return reference_unigram_sample(word, pieces, scores, alpha, stream)

# ---- data mixture inference ---------------------------------------------------------------------

def reference_pair_counts_per_step(words: list[tuple[list[int], int]],
                                   merges: list[tuple[int, int, int]]) -> list[Counter]:
    """The pair counts before each merge step and after the last (T + 1 Counters): count every
    adjacent pair of every word (times its count), then rewrite each word left to right."""
    words = [(list(symbols), n) for symbols, n in words]
    steps = []
    for step in range(len(merges) + 1):
        pairs = Counter()
        for symbols, n in words:
            for x, y in zip(symbols, symbols[1:]):
                pairs[x, y] += n
        steps.append(+pairs)
        if step == len(merges):
            return steps
        a, b, new = merges[step]
        for k, (symbols, n) in enumerate(words):
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            words[k] = (out, n)
