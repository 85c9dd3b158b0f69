"""BPE encoding of pretokenized words with ranked merges.

Each word starts as its byte tokens; the adjacent pair with the lowest merge rank is merged
(the leftmost one among equal ranks), one at a time, until no adjacent pair has a merge. This is
HF tokenizers' ``Word::merge_all`` (with ``ignore_merges`` false): a min-heap of (rank, position)
entries over a linked list of symbols, a stale entry skipped unless the pair now at its position
still yields the entry's token -- so O(n log n) per word, which matters for SuperBPE's long
words. (Merging every occurrence of the best pair in one sweep gives the same result except
after a merge that reuses an existing token's string; HF's order is the one followed here.)
``encode_words_dropout`` is the same loop with BPE-dropout, as HF's ``merge_all`` with a dropout.
With ``ignore_merges`` (Llama 3's and every tiktoken conversion's BPE), a word that is a whole token
is that token: ``encode_words`` first looks the word up in a table of whole tokens
(``build_token_table``; the model puts there only the tokens its merges do not rebuild).

The merge table is an open-addressing hash of pair keys ``(left << 32) | right``. Example::

    >>> import numpy as np
    >>> byte_ids = np.arange(256, dtype=np.int64)              # byte b has id b
    >>> keys = np.array([(97 << 32) | 98, (256 << 32) | 99])     # a+b -> 256, ab+c -> 257
    >>> table = build_merge_table(keys, np.array([256, 257]))
    >>> ids, bounds = encode_words(np.frombuffer(b"abcab", np.uint8), np.array([0, 3, 5]),
    ...                            byte_ids, *table, NO_WHOLE_TOKENS)
    >>> ids.tolist(), bounds.tolist()
    ([257, 256], [0, 1, 2])
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE
from .hashtable import fnv1a, prefetch, probe_int64, slot_of
from .spans import longest_span, utf8_length
from .rng import uniform
from .util import grown, same_run

NO_RANK = np.int64(1 << 62)
SHORT_WORD = 64  # words up to this many symbols are merged by a scan (``_merge_short``), longer ones with a heap
# ``encode_words``' table of whole tokens when there is none (no ``ignore_merges``)
NO_WHOLE_TOKENS = (np.full((8, 2), -1, np.int64), np.zeros(0, np.uint8), np.zeros(1, np.int64), np.zeros(0, np.int64))
# ``encode_long_words``' words of known encoding when there are none (table, data, bounds, ids, id bounds)
NO_KNOWN_WORDS = (np.full((8, 2), -1, np.int64), np.zeros(0, np.uint8), np.zeros(1, np.int64), np.zeros(0, np.int32),
                  np.zeros(1, np.int64))


@nb.njit(cache=CACHE, inline="always")
def _table_cap(n):
    """Slots for an open-addressing table of ``n`` entries: a power of two, at most half full."""
    cap = 8
    while cap < 2 * n + 2:
        cap *= 2
    return cap


@nb.njit(cache=CACHE)
def build_merge_table(keys, results):
    """Hash table of merges: ``keys[r]`` is merge rank r's pair key, ``results[r]`` its token.
    Returns (slot keys, slot ranks, slot results); the first rank of a repeated pair wins."""
    cap = _table_cap(len(keys))
    slot_keys = np.full(cap, -1, np.int64)
    slot_ranks = np.zeros(cap, np.int64)
    slot_results = np.zeros(cap, np.int64)
    for r in range(len(keys)):
        i = probe_int64(slot_keys, keys[r])
        if slot_keys[i] == -1:
            slot_keys[i] = keys[r]
            slot_ranks[i] = r
            slot_results[i] = results[r]
    return slot_keys, slot_ranks, slot_results


@nb.njit(cache=CACHE)
def build_token_table(data, bounds):
    """Hash table of the byte strings ``data[bounds[k]:bounds[k+1]]``: rows (hash, k), -1 when empty.

    >>> table = build_token_table(np.frombuffer(b"abcd", np.uint8), np.array([0, 2, 4]))
    >>> find_token(np.frombuffer(b"xcd", np.uint8), 1, 3, table, np.frombuffer(b"abcd", np.uint8), np.array([0, 2, 4]))
    1
    """
    n = len(bounds) - 1
    cap = _table_cap(n)
    slots = np.full((cap, 2), -1, np.int64)
    for k in range(n):
        h = np.int64(fnv1a(data, bounds[k], bounds[k + 1]))
        i = slot_of(h, cap - 1)
        while slots[i, 1] != -1:
            i = (i + 1) & (cap - 1)
        slots[i, 0] = h
        slots[i, 1] = k
    return slots


@nb.njit(cache=CACHE)
def build_short_tokens(data, bounds, ids):
    """Hash table of the byte strings ``data[bounds[k]:bounds[k+1]]`` of at most 8 bytes (the
    longer ones are left out) and their ``ids[k]``: rows (the bytes as one little-endian int64,
    length | id << 8), -1 when empty; ``find_short`` looks one up with one compare.

    >>> table = build_short_tokens(np.frombuffer(b"abcd", np.uint8), np.array([0, 2, 4]), np.array([7, 9]))
    >>> find_short(table, pack_bytes(np.frombuffer(b"xcd", np.uint8), 1, 3), 2)
    9
    """
    n = len(bounds) - 1
    cap = _table_cap(n)
    table = np.full((cap, 2), -1, np.int64)
    for k in range(n):
        size = bounds[k + 1] - bounds[k]
        if size <= 8:
            key = pack_bytes(data, bounds[k], bounds[k + 1])
            i = slot_of(key ^ size, cap - 1)
            while table[i, 1] != -1:
                i = (i + 1) & (cap - 1)
            table[i, 0] = key
            table[i, 1] = size | (ids[k] << 8)
    return table


@nb.njit(cache=CACHE, inline="always")
def pack_bytes(buf, a, b):
    """``buf[a:b]`` (at most 8 bytes) as one little-endian int64."""
    key = np.int64(0)
    for j in range(a, b):
        key |= np.int64(buf[j]) << (8 * (j - a))
    return key


@nb.njit(cache=CACHE, inline="always")
def find_short(table, key, size):
    """The id of the ``build_short_tokens`` row of the ``size`` bytes packed in ``key``, or -1."""
    mask = len(table) - 1
    i = slot_of(key ^ size, mask)
    while table[i, 1] != -1:
        if table[i, 0] == key and (table[i, 1] & 0xFF) == size:
            return table[i, 1] >> 8
        i = (i + 1) & mask
    return -1


@nb.njit(cache=CACHE)
def find_token(buf, a, b, slots, data, bounds):
    """The k of ``build_token_table(data, bounds)`` whose bytes are ``buf[a:b]``, or -1."""
    mask = len(slots) - 1
    h = np.int64(fnv1a(buf, a, b))
    i = slot_of(h, mask)
    while slots[i, 1] != -1:
        k = slots[i, 1]
        if slots[i, 0] == h and bounds[k + 1] - bounds[k] == b - a:
            same = True
            for j in range(b - a):
                if data[bounds[k] + j] != buf[a + j]:
                    same = False
                    break
            if same:
                return k
        i = (i + 1) & mask
    return -1


@nb.njit(cache=CACHE, inline="always")
def _rank(slot_keys, slot_ranks, a, b):
    i = probe_int64(slot_keys, (a << 32) | b)
    if slot_keys[i] == -1:
        return NO_RANK, i
    return slot_ranks[i], i


@nb.njit(cache=CACHE, inline="always")
def _heap_push(hkey, hnew, size, key, new):
    """Push (key, new) on the min-heap ``hkey``/``hnew`` of ``size`` entries; returns the new size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if hkey[parent] <= key:
            break
        hkey[i] = hkey[parent]
        hnew[i] = hnew[parent]
        i = parent
    hkey[i] = key
    hnew[i] = new
    return size + 1


@nb.njit(cache=CACHE, inline="always")
def _heap_pop(hkey, hnew, size):
    """Remove the smallest entry (the caller read it at index 0); returns the new size."""
    size -= 1
    key = hkey[size]
    new = hnew[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and hkey[child + 1] < hkey[child]:
            child += 1
        if key <= hkey[child]:
            break
        hkey[i] = hkey[child]
        hnew[i] = hnew[child]
        i = child
    hkey[i] = key
    hnew[i] = new
    return size


@nb.njit(cache=CACHE, inline="always")
def _push_pair(hkey, hnew, size, slot_keys, slot_ranks, slot_results, left, right, pos):
    r, slot = _rank(slot_keys, slot_ranks, left, right)
    if r == NO_RANK:
        return size
    return _heap_push(hkey, hnew, size, (r << 32) | pos, slot_results[slot])


@nb.njit(cache=CACHE)
def _encode_one(buf, start, n, byte_ids, slot_keys, slot_ranks, slot_results, work, ids, out, dropout):
    """BPE-encode ``buf[start:start+n]`` into ``ids[out:]``; returns the new end of ``ids``.
    ``work`` is (sym, nxt, prv, hkey, hnew, skey, snew, state) scratch arrays for words up to their size.

    With ``dropout`` > 0, each popped entry is skipped with that probability (one draw from the
    stream ``state``, ``tokforge.kernels.rng``) and kept aside; the entries kept aside go
    back on the heap when an entry is next popped and not skipped, before it is checked -- HF
    tokenizers' ``Word::merge_all`` with dropout. ``dropout`` = 0 draws nothing."""
    sym = work[0]
    for k in range(n):
        sym[k] = byte_ids[buf[start + k]]
    return _merge_symbols(n, slot_keys, slot_ranks, slot_results, work, ids, out, dropout)


@nb.njit(cache=CACHE, inline="always")
def _merge_symbols(n, slot_keys, slot_ranks, slot_results, work, ids, out, dropout):
    """Merge the ``n`` symbol ids ``work[0][:n]`` (the loop of ``_encode_one``) into ``ids[out:]``;
    returns the new end of ``ids``. Words of up to ``SHORT_WORD`` symbols without dropout take
    ``_merge_short``: the same merges, found by a scan instead of a heap."""
    if dropout == 0.0 and n <= SHORT_WORD:
        return _merge_short(n, slot_keys, slot_ranks, slot_results, work, ids, out)
    sym, nxt, prv, hkey, hnew, skey, snew, state = work
    for k in range(n):
        nxt[k] = k + 1
        prv[k] = k - 1
    size = 0
    for k in range(n - 1):
        size = _push_pair(hkey, hnew, size, slot_keys, slot_ranks, slot_results, sym[k], sym[k + 1], k)
    skipped = 0
    while size > 0:
        key = hkey[0]
        new = hnew[0]
        size = _heap_pop(hkey, hnew, size)
        if dropout > 0.0 and uniform(state) < dropout:
            skey[skipped] = key
            snew[skipped] = new
            skipped += 1
            continue
        for s in range(skipped):
            size = _heap_push(hkey, hnew, size, skey[s], snew[s])
        skipped = 0
        pos = key & 0xFFFFFFFF
        if sym[pos] < 0 or nxt[pos] >= n:
            continue                                 # merged away, or now the last symbol
        right = nxt[pos]
        r, slot = _rank(slot_keys, slot_ranks, sym[pos], sym[right])
        if r == NO_RANK or slot_results[slot] != new:
            continue                                 # stale: this pair is not there any more
        sym[pos] = new
        sym[right] = -1
        nxt[pos] = nxt[right]
        if nxt[pos] < n:
            prv[nxt[pos]] = pos
        if prv[pos] >= 0:
            size = _push_pair(hkey, hnew, size, slot_keys, slot_ranks, slot_results,
                              sym[prv[pos]], new, prv[pos])
        if nxt[pos] < n:
            size = _push_pair(hkey, hnew, size, slot_keys, slot_ranks, slot_results,
                              new, sym[nxt[pos]], pos)
    k = 0
    while k < n:
        ids[out] = sym[k]
        out += 1
        k = nxt[k]
    return out


@nb.njit(cache=CACHE, inline="always")
def _merge_short(n, slot_keys, slot_ranks, slot_results, work, ids, out):
    """``_merge_symbols`` without dropout by scanning (as tiktoken does): keep each adjacent
    pair's rank and result, merge the leftmost pair of lowest rank, update its two neighbours --
    the pair HF's heap would pop next, so the same result; for short words, faster than the heap.

    >>> table = build_merge_table(np.array([(98 << 32) | 99, (97 << 32) | 98]), np.array([256, 257]))
    >>> encode_words(np.frombuffer(b"abcab", np.uint8), np.array([0, 5]), np.arange(256), *table,
    ...              NO_WHOLE_TOKENS)[0].tolist()                       # b+c first (rank 0), then a+b
    [97, 256, 257]
    """
    sym, rank, result = work[0], work[1], work[2]
    for k in range(n - 1):
        r, slot = _rank(slot_keys, slot_ranks, sym[k], sym[k + 1])
        rank[k] = r
        result[k] = slot_results[slot]
    m = n
    while m > 1:
        best = NO_RANK
        at = -1
        for k in range(m - 1):
            if rank[k] < best:
                best = rank[k]
                at = k
        if at < 0:
            break
        sym[at] = result[at]
        for k in range(at + 1, m - 1):
            sym[k] = sym[k + 1]
            rank[k] = rank[k + 1]
            result[k] = result[k + 1]
        m -= 1
        if at > 0:
            r, slot = _rank(slot_keys, slot_ranks, sym[at - 1], sym[at])
            rank[at - 1] = r
            result[at - 1] = slot_results[slot]
        if at < m - 1:
            r, slot = _rank(slot_keys, slot_ranks, sym[at], sym[at + 1])
            rank[at] = r
            result[at] = slot_results[slot]
    for k in range(m):
        ids[out + k] = sym[k]
    return out + m


@nb.njit(cache=CACHE)
def _scratch(longest):
    hkey = np.empty(4 * longest + 4, np.int64)  # each merge pushes at most 2 entries
    return (np.empty(longest, np.int64), np.empty(longest, np.int64), np.empty(longest, np.int64),
            hkey, np.empty(len(hkey), np.int64),
            np.empty(len(hkey), np.int64), np.empty(len(hkey), np.int64),   # entries skipped by dropout
            np.zeros(1, np.uint64))                                          # the dropout's random stream


@nb.njit(cache=CACHE, nogil=True)
def encode_words(buf, bounds, byte_ids, slot_keys, slot_ranks, slot_results, whole):
    """Encode the words ``buf[bounds[j]:bounds[j+1]]``; returns (ids, id bounds per word).
    ``whole`` = (table, data, bounds, ids): a word that is one of these tokens (``build_token_table``)
    is its id without merging (``ignore_merges``); empty arrays when there is none."""
    whole_slots, whole_data, whole_bounds, whole_ids = whole
    n_words = len(bounds) - 1
    ids = np.empty(bounds[n_words] - bounds[0] if n_words > 0 else 0, np.int64)  # at most one id per byte
    id_bounds = np.zeros(n_words + 1, np.int64)
    work = _scratch(longest_span(bounds))
    out = 0
    for w in range(n_words):
        if len(whole_ids) > 0:
            k = find_token(buf, bounds[w], bounds[w + 1], whole_slots, whole_data, whole_bounds)
            if k >= 0:
                ids[out] = whole_ids[k]
                out += 1
                id_bounds[w + 1] = out
                continue
        out = _encode_one(buf, bounds[w], bounds[w + 1] - bounds[w], byte_ids, slot_keys, slot_ranks,
                          slot_results, work, ids, out, 0.0)
        id_bounds[w + 1] = out
    return ids[:out], id_bounds



@nb.njit(cache=CACHE, nogil=True)
def encode_words_dropout(buf, bounds, byte_ids, slot_keys, slot_ranks, slot_results, dropout, word_seeds):
    """``encode_words`` with BPE-dropout ``dropout``; word j draws from the stream ``word_seeds[j]``
    (``tokforge.kernels.rng``), so its result depends on nothing else. Dropout 1 keeps the bytes:

    >>> keys = np.array([(97 << 32) | 98]); table = build_merge_table(keys, np.array([256]))
    >>> args = (np.frombuffer(b"abab", np.uint8), np.array([0, 2, 4]), np.arange(256), *table)
    >>> encode_words_dropout(*args, 1.0, np.array([1, 2], np.uint64))[0].tolist()
    [97, 98, 97, 98]
    >>> encode_words_dropout(*args, 0.0, np.array([1, 2], np.uint64))[0].tolist()
    [256, 256]
    """
    n_words = len(bounds) - 1
    ids = np.empty(bounds[n_words] - bounds[0] if n_words > 0 else 0, np.int64)
    id_bounds = np.zeros(n_words + 1, np.int64)
    work = _scratch(longest_span(bounds))
    out = 0
    for w in range(n_words):
        work[7][0] = word_seeds[w]
        out = _encode_one(buf, bounds[w], bounds[w + 1] - bounds[w], byte_ids, slot_keys, slot_ranks,
                          slot_results, work, ids, out, dropout)
        id_bounds[w + 1] = out
    return ids[:out], id_bounds

@nb.njit(cache=CACHE, nogil=True)
def encode_words_chars(buf, bounds, chars, byte_ids, slot_keys, slot_ranks, slot_results, whole, dropout,
                       word_seeds):
    """``encode_words`` for BPE with byte fallback (sentencepiece's layout, HF's ``byte_fallback``): a
    word starts as its characters -- ``chars`` = (table, data, bounds, ids) of the single-character tokens
    (``build_token_table``) -- and a character that is no token as its byte tokens ``byte_ids[b]``
    (``<0xNN>``); then the merges. With ``dropout`` > 0, word j draws from ``word_seeds[j]``.

    >>> data = np.frombuffer("aé".encode(), np.uint8); cb = np.array([0, 1, 3])
    >>> chars = (build_token_table(data, cb), data, cb, np.array([3, 4]))   # "a" -> 3, "é" -> 4
    >>> table = build_merge_table(np.array([(3 << 32) | 4]), np.array([5]))  # a + é -> 5
    >>> ids, _ = encode_words_chars(np.frombuffer("aéx".encode(), np.uint8), np.array([0, 4]), chars,
    ...                             np.arange(100, 356), *table, NO_WHOLE_TOKENS, 0.0, np.zeros(1, np.uint64))
    >>> ids.tolist()                                                          # x: its byte token <0x78>
    [5, 220]
    """
    char_slots, char_data, char_bounds, char_ids = chars
    whole_slots, whole_data, whole_bounds, whole_ids = whole
    n_words = len(bounds) - 1
    ids = np.empty(bounds[n_words] - bounds[0] if n_words > 0 else 0, np.int64)
    id_bounds = np.zeros(n_words + 1, np.int64)
    work = _scratch(longest_span(bounds))
    sym = work[0]
    out = 0
    for w in range(n_words):
        a, e = bounds[w], bounds[w + 1]
        if len(whole_ids) > 0 and dropout == 0.0:
            k = find_token(buf, a, e, whole_slots, whole_data, whole_bounds)
            if k >= 0:
                ids[out] = whole_ids[k]
                out += 1
                id_bounds[w + 1] = out
                continue
        m = 0
        while a < e:
            b = min(a + utf8_length(buf[a]), e)
            c = find_token(buf, a, b, char_slots, char_data, char_bounds)
            if c >= 0:
                sym[m] = char_ids[c]
                m += 1
            else:
                for j in range(a, b):
                    sym[m] = byte_ids[buf[j]]
                    m += 1
            a = b
        if dropout > 0.0:
            work[7][0] = word_seeds[w]
        out = _merge_symbols(m, slot_keys, slot_ranks, slot_results, work, ids, out, dropout)
        id_bounds[w + 1] = out
    return ids[:out], id_bounds


@nb.njit(cache=CACHE)
def build_word_table(data, bounds):
    """Hash table of the pieces ``data[bounds[w]:bounds[w+1]]`` of two bytes or more, for
    ``encode_long_words`` to find a part among words whose encoding it is handed (its ``known``
    words): rows (FNV-1a hash >> 1, w), -1 where empty, at most 3/4 full. The first of equal pieces wins.

    >>> table = build_word_table(np.frombuffer(b"abxab", np.uint8), np.array([0, 2, 3, 5]))
    >>> sorted(table[table[:, 0] != -1, 1].tolist())        # "ab" (0) and its repeat (2); not "x"
    [0, 2]
    """
    n = len(bounds) - 1
    cap = 8
    while 3 * cap < 4 * n + 4:
        cap *= 2
    table = np.full((cap, 2), -1, np.int64)
    mask = cap - 1
    for w in range(n):
        if bounds[w + 1] - bounds[w] >= 2:
            key = np.int64(fnv1a(data, bounds[w], bounds[w + 1]) >> np.uint64(1))
            i = slot_of(key, mask)
            while table[i, 0] != -1:
                i = (i + 1) & mask
            table[i, 0] = key
            table[i, 1] = w
    return table


@nb.njit(cache=CACHE, inline="always")
def _find_known(buf, a, n, key, table, data, bounds):
    """The w of ``build_word_table(data, bounds)`` whose bytes are ``buf[a:a+n]`` (hash ``key``), or -1."""
    mask = len(table) - 1
    i = slot_of(key, mask)
    while table[i, 0] != -1:
        if table[i, 0] == key:
            w = table[i, 1]
            if bounds[w + 1] - bounds[w] == n and same_run(data, bounds[w], buf, a, n):
                return w
        i = (i + 1) & mask
    return -1


@nb.njit(cache=CACHE, inline="always")
def _find_part(buf, a, n, key, slots, arena):
    """The row of ``encode_long_words``' table of parts whose bytes are ``buf[a:a+n]`` (hash ``key``),
    or -(the empty row where it goes) - 1."""
    mask = len(slots) - 1
    i = slot_of(key, mask)
    while slots[i, 0] != -1:
        if slots[i, 0] == key and (slots[i, 2] & 0xFFFFFFFF) == n and same_run(arena, slots[i, 1], buf, a, n):
            return i
        i = (i + 1) & mask
    return -1 - i


@nb.njit(cache=CACHE, nogil=True)
def encode_long_words(buf, bounds, byte_ids, slot_keys, slot_ranks, slot_results, joinable, tokens,
                      known_table, known_data, known_bounds, known_ids, known_id_bounds):
    """``encode_words`` for long words made of recurring parts (SuperBPE's stage-2 words): each
    word is cut wherever its two bytes ``a b`` never stand side by side inside a token
    (``joinable[a * 256 + b] == 0``) -- no merge can ever join across such a cut, so the word's
    encoding is its parts' encodings in a row. A part that is one of ``tokens`` (``build_short_tokens``
    of the tokens whose bytes encode to themselves alone) is that id: 70% of the parts of SuperBPE's
    stage-2 words are, found with one compare in a table that stays in the cache. A part that is
    one of the ``known`` words (``known_data``/``known_bounds``, found in ``known_table``:
    ``build_word_table``) takes their ids (``known_ids[known_id_bounds[w]:known_id_bounds[w + 1]]``,
    which must be their encoding: SuperBPE's stage-1 words, as stage 1's trainer left them;
    ``NO_KNOWN_WORDS``: none). Each other distinct part is encoded once. The ids are int32
    (SuperBPE's stage-2 words hold some 15M). Such a part is a row of
    ``slots`` (its hash, where it starts in ``arena``, its sizes), its bytes then its ids (4 bytes
    each, little-endian) side by side in ``arena``: finding it again costs two random reads.

    >>> byte_ids = np.arange(256, dtype=np.int64)
    >>> table = build_merge_table(np.array([(97 << 32) | 98]), np.array([256]))   # a+b -> 256
    >>> joinable = np.zeros(65536, np.uint8); joinable[97 * 256 + 98] = 1
    >>> tokens = build_short_tokens(np.frombuffer(b"ab", np.uint8), np.array([0, 2]), np.array([256]))
    >>> ids, bounds = encode_long_words(np.frombuffer(b"ab ab xab", np.uint8), np.array([0, 9]),
    ...                                 byte_ids, *table, joinable, tokens, *NO_KNOWN_WORDS)
    >>> ids.tolist()
    [256, 32, 256, 32, 120, 256]
    >>> joinable[120 * 256 + 97] = 1                     # x a: "xab" is now one part, a known word
    >>> known = np.frombuffer(b"xab", np.uint8), np.array([0, 3])   # said to encode to 7, 8
    >>> encode_long_words(np.frombuffer(b"ab xab", np.uint8), np.array([0, 6]), byte_ids, *table, joinable,
    ...                   tokens, build_word_table(*known), *known, np.array([7, 8], np.int32), np.array([0, 2]))[0].tolist()
    [256, 32, 7, 8]
    """
    n_words = len(bounds) - 1
    ids = np.empty(bounds[n_words] - bounds[0] if n_words > 0 else 0, np.int32)
    id_bounds = np.zeros(n_words + 1, np.int64)
    longest = longest_span(bounds)
    work = _scratch(longest)
    fresh = np.empty(longest, np.int64)  # a new part's ids
    cuts = np.empty(longest + 1, np.int64)  # where the parts of a word start, then its end
    keys = np.empty(longest, np.int64)  # their hashes; a part that is a token: -1 - its id
    slots = np.full((1 << 16, 3), -1, np.int64)  # rows (key, start in arena, n bytes | n ids << 32)
    arena = np.empty(1 << 20, np.uint8)
    known_mask = len(known_table) - 1
    used = 0
    n_parts = 0
    out = 0
    for w in range(n_words):
        end = bounds[w + 1]
        # cut the word, find the parts that are tokens and hash the others, asking for their rows
        # meanwhile: the reads overlap
        n_cut = 0
        a = bounds[w]
        while a < end:
            b = a + 1
            while b < end and joinable[np.int64(buf[b - 1]) * 256 + buf[b]]:
                b += 1
            cuts[n_cut] = a
            k = find_short(tokens, pack_bytes(buf, a, b), b - a) if b - a <= 8 else -1
            if k >= 0:
                keys[n_cut] = -1 - k
            else:
                keys[n_cut] = np.int64(fnv1a(buf, a, b) >> np.uint64(1))
                prefetch(known_table, 2 * slot_of(keys[n_cut], known_mask))
                prefetch(slots, 3 * slot_of(keys[n_cut], len(slots) - 1))
            n_cut += 1
            a = b
        cuts[n_cut] = end
        for p in range(n_cut):
            key = keys[p]
            if key < 0:
                ids[out] = -1 - key
                out += 1
                continue
            a = cuts[p]
            n = cuts[p + 1] - a
            k = _find_known(buf, a, n, key, known_table, known_data, known_bounds)
            if k >= 0:
                for q in range(known_id_bounds[k], known_id_bounds[k + 1]):
                    ids[out] = known_ids[q]
                    out += 1
                continue
            found = _find_part(buf, a, n, key, slots, arena)
            if found < 0:  # encode the new part and remember it
                m = _encode_one(buf, a, n, byte_ids, slot_keys, slot_ranks, slot_results, work, fresh, 0, 0.0)
                if used + n + 4 * m > len(arena):
                    arena = grown(arena, used + n + 4 * m)
                arena[used:used + n] = buf[a:a + n]
                for k in range(m):
                    for j in range(4):
                        arena[used + n + 4 * k + j] = (fresh[k] >> (8 * j)) & 0xFF
                n_parts += 1
                if 2 * n_parts > len(slots):
                    slots = _grown_part_slots(slots)
                    found = _find_part(buf, a, n, key, slots, arena)  # its empty row in the grown table
                found = -1 - found
                slots[found, 0] = key
                slots[found, 1] = used
                slots[found, 2] = n | (np.int64(m) << 32)
                used += n + 4 * m
            at = slots[found, 1] + n
            m = slots[found, 2] >> 32
            for k in range(m):
                q = at + 4 * k
                ids[out + k] = (np.int32(arena[q]) | (np.int32(arena[q + 1]) << 8) | (np.int32(arena[q + 2]) << 16)
                                | (np.int32(arena[q + 3]) << 24))
            out += m
        id_bounds[w + 1] = out
    return ids[:out], id_bounds


@nb.njit(cache=CACHE)
def _grown_part_slots(slots):
    """``encode_long_words``' table of parts with twice the rows."""
    bigger = np.full((2 * len(slots), 3), -1, np.int64)
    mask = len(bigger) - 1
    for j in range(len(slots)):
        if slots[j, 0] != -1:
            q = slot_of(slots[j, 0], mask)
            while bigger[q, 0] != -1:
                q = (q + 1) & mask
            bigger[q] = slots[j]
    return bigger
