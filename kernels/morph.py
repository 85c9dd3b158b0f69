r"""The morphology hybrid's planner over UTF-8 bytes (numba): case, root lookup, the affix-chain
automaton and the apostrophe before a proper noun's suffixes, for every pretokenized piece of a batch.

It gives, piece by piece, the units of ``MorphStage.plan`` / ``plan_group``
(``tokforge.models.morph.stage``, the slow oracle of the tests): case marker, root token, affix
tokens and text for the fallback model. The rule set arrives compiled to arrays (``Tables``, built
by ``tokforge.models.morph.compiled``):

- ``classes`` uint16[0x110000]  class flags per code point (``tokforge.text.unicode_classes``)
- ``lower`` / ``upper`` int32[0x110000]  a letter's lowercase / uppercase code point under the rule
  set's case mapping; -1 where Python's ``str.lower`` / ``str.upper`` does not map it to one code point
  on its own (``Σ``, final sigma in context; ``ß`` -> ``SS``; ``İ`` outside Turkish)
- phonology: a context (the word so far) is known to the rules by its *key*: the class of its last
  vowel (0: none, v: ``vowels[v-1]``) and of its last character (0: any other, m: ``marked[m-1]``,
  the characters the conditions name), ``key = vowel_class * (len(marked) + 1) + char_class``
- ``surf_cps`` / ``surf_bounds``  affix ``k``'s surface after a context of key ``key`` is
  ``surf_cps[surf_bounds[i]:surf_bounds[i+1]]`` with ``i = k * n_keys + key`` (empty: none)
- affixes: ``order``, ``next_state`` (index into ``state_values``), ``prev_class`` (0, or the class of an
  affix some affix ``requires``), ``requires`` (bit mask of the previous-affix classes allowed),
  ``attaches`` (bit mask of the word categories it follows) and ``makes`` (the word's category mask
  after it, -1: unchanged); the search's class of a word so far is ``prev_class * n_masks + categories``
- roots: distinct stems (roots and altered stems) in ``stem_cps`` / ``stem_bounds``, found by the hash of
  their code points in ``stem_slots``; the (root, altered) entries of stem ``s`` are
  ``entry_bounds[s]:entry_bounds[s+1]`` of ``entry_root`` / ``entry_altered``; ``root_stem`` /
  ``root_alt`` the stem of each root and of its altered form (-1: none)

A plan is written as *stage codes*: 0 = ``⟦Cap⟧``, 1 = ``⟦CAPS⟧``, ``2 + k`` = affix ``k``, ``2 + A + r`` =
root ``r``, ``2 + A + R + r`` = root ``r`` after a space (``A`` affixes, ``R`` roots). ``plan_pieces``
maps them through ``stage_codes`` (the vocabulary ids, or -1 for a root without that token, which is
then text) and writes each distinct text once:

- input   ``buf`` uint8[B], ``piece_bounds`` int64[P+1], ``doc_pieces`` int64[D+1] (document ``d`` is
  pieces ``doc_pieces[d]:doc_pieces[d+1]``: the neighbours of a piece are in its document)
- output  ``codes`` int64[U]: a unit's id (>= 0), or ``-1 - t`` for text ``t``, which is
  ``texts[text_bounds[t]:text_bounds[t+1]]`` (UTF-8); document ``d``'s units are
  ``codes[doc_units[d]:doc_units[d+1]]``; ``doc_python[d]``: a piece needs Python's case mapping
  (its units are left out: plan that document with the stage)

Each distinct piece (with its neighbours' letter flags) is planned once per call. Example (a rule
set with one affix, plural ``lAr``, and the root ``ev``)::

    >>> from tokforge.models.morph.rules import rules_from_dict
    >>> from tokforge.models.morph.compiled import compile_stage
    >>> rules = rules_from_dict({"name": "toy", "case": "turkish", "vowels": "aeıioöuü",
    ...     "symbols": {"A": [[{"last_vowel_in": "eiöü"}, "e"], [{"last_vowel_in": "aıou"}, "a"]]},
    ...     "optional": {}, "affixes": [{"id": "PL", "template": "lAr", "order": 1}], "roots": ["ev"]})
    >>> t = compile_stage(rules)
    >>> buf = np.frombuffer(" Evler kitaplar".encode(), np.uint8)
    >>> codes, bounds, texts, text_bounds, python = plan_pieces(
    ...     buf, np.array([0, 6, 15]), np.array([0, 2]), t, np.array([0, 1, 2, 3, -1]))
    >>> codes.tolist()                  # ⟦Cap⟧ " " ⟦ev⟧ ⟦PL⟧ | " kitap" ⟦PL⟧
    [0, -1, 3, 2, -2, 2]
    >>> [bytes(texts[a:b]) for a, b in zip(text_bounds[:-1], text_bounds[1:])]
    [b' ', b' kitap']
"""
from typing import NamedTuple

import numba as nb
import numpy as np

from .hashtable import FNV_OFFSET, FNV_PRIME, empty_slots, fnv1a, slot_of
from .numba_cache import CACHE
from .pretokenize import CRLF, LETTER, NUMBER, _decode
from .util import grown, same_run

NO_CHAIN = np.int64(1 << 40)   # "no affix chain spells the rest"
UNKNOWN = np.int64(-1)         # not searched yet
MAX_LETTERS = 128              # longer words are not analysed (``tokforge.models.morph.rules.MAX_LETTERS``)
CAP, CAPS = 0, 1               # stage codes of the case markers; affix k is 2 + k, root r is 2 + A + r
WHOLE, PYTHON = -1, -2         # a plan that is one text unit as written / that needs Python's case mapping
GROUP = 4                      # the flag of a group's plan (word + apostrophe + suffixes)


class Tables(NamedTuple):
    """A rule set and its roots as arrays (see the module docstring); built by
    ``tokforge.models.morph.compiled.compile_stage``."""

    classes: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    vowels: np.ndarray
    marked: np.ndarray
    apostrophes: np.ndarray
    stem_cps: np.ndarray
    stem_bounds: np.ndarray
    stem_slots: np.ndarray
    entry_bounds: np.ndarray
    entry_root: np.ndarray
    entry_altered: np.ndarray
    root_stem: np.ndarray
    root_alt: np.ndarray
    order: np.ndarray
    next_state: np.ndarray
    prev_class: np.ndarray
    requires: np.ndarray
    state_values: np.ndarray
    surf_cps: np.ndarray
    surf_bounds: np.ndarray
    key_bounds: np.ndarray   # the affixes with a surface after a context of key ``key``, sorted by
    key_affix: np.ndarray    # (first code point, affix): key_affix / key_first[key_bounds[key]:key_bounds[key+1]]
    key_first: np.ndarray
    attaches: np.ndarray     # per affix: bit mask of the word categories it follows
    makes: np.ndarray        # per affix: the category mask of the word after it, -1 unchanged
    entry_cats: np.ndarray   # per (root, altered) entry: the root's category mask
    unknown_cats: int        # the category mask of an unknown stem or a word before an apostrophe
    n_masks: int             # category masks are 0..n_masks-1
    min_root: int
    longest_stem: int
    guess_min_stem: int
    state0: int
    n_prev: int


# ---- building -----------------------------------------------------------------------------------

@nb.njit(cache=CACHE)
def build_stem_slots(stem_cps, stem_bounds):
    """Open-addressing table of the stems by the FNV-1a hash of their code points (``fnv1a``): slot ->
    stem index, -1 empty."""
    n = len(stem_bounds) - 1
    slots = empty_slots(n)
    mask = len(slots) - 1
    for s in range(n):
        i = slot_of(np.int64(fnv1a(stem_cps, stem_bounds[s], stem_bounds[s + 1])), mask)
        while slots[i] != -1:
            i = (i + 1) & mask
        slots[i] = s
    return slots


# ---- one word -----------------------------------------------------------------------------------
# These run once per distinct piece. They take the arrays they read rather than ``Tables``: passing a
# tuple of arrays updates the reference count of each array, at every call.

@nb.njit(cache=CACHE, inline="always")
def _class_in(values, cp):
    """1 + the index of ``cp`` in ``values``, or 0."""
    for i in range(len(values)):
        if values[i] == cp:
            return i + 1
    return 0


@nb.njit(cache=CACHE, inline="always")
def _keys(vowels, marked, w, a, b, keys):
    """``keys[p - a]``: the phonological key of the context ``w[a:p]``, p = a..b."""
    n_marked = len(marked) + 1
    vowel = 0
    keys[0] = 0
    for p in range(a, b):
        v = _class_in(vowels, w[p])
        if v:
            vowel = v
        keys[p - a + 1] = vowel * n_marked + _class_in(marked, w[p])


class Scratch(NamedTuple):
    """Work arrays for a piece of up to ``len(w) - 1`` code points (``new_scratch``); the search arrays
    for words of up to MAX_LETTERS."""

    w: np.ndarray          # int64: the lowercase word (then its suffix, in a group)
    original: np.ndarray   # int64: the word as written
    keys: np.ndarray       # int64[n+1]
    hashes: np.ndarray     # int64[n+1]: fnv1a of each prefix of w
    match_bounds: np.ndarray  # the affixes whose surface is at p: match_k / match_size[match_bounds[p]:...[p+1]]
    match_k: np.ndarray
    match_size: np.ndarray
    memo_len: np.ndarray   # int64[n+1, states, classes]: fewest affixes spelling w[p:] (NO_CHAIN: none)
    memo_k: np.ndarray     # ... and the first of them
    memo_stamp: np.ndarray  # ... valid where it equals stamp[0] (the search of this word)
    stamp: np.ndarray
    stack: np.ndarray      # int64[n+1, 6]: the search's frames
    chain: np.ndarray
    best_chain: np.ndarray
    cuts: np.ndarray
    best_cuts: np.ndarray
    units: np.ndarray      # int64[u, 3]: (stage code or -1 for text, text start, text end)
    text: np.ndarray       # uint8: the units' text


class Memo(NamedTuple):
    """The analyses of a batch's distinct lowercase words (``new_memo``): words in ``body`` (code points,
    ``body_bounds``) found by ``fnv1a`` in ``slots``; ``results[e]`` = (root, stem length, chain length,
    known) and the chain in ``chains[chain_bounds[e]:...]``; ``count[0]`` entries."""

    slots: np.ndarray
    hashes: np.ndarray
    body_bounds: np.ndarray
    body: np.ndarray
    results: np.ndarray
    chain_bounds: np.ndarray
    chains: np.ndarray
    count: np.ndarray


@nb.njit(cache=CACHE)
def new_memo(n_words, n_letters):
    """Room for ``n_words`` words of ``n_letters`` letters in all."""
    return Memo(empty_slots(n_words), np.empty(n_words + 1, np.int64), np.zeros(n_words + 2, np.int64),
                np.empty(n_letters + 1, np.int64), np.empty((n_words + 1, 4), np.int64),
                np.zeros(n_words + 2, np.int64), np.empty(n_letters + 1, np.int64), np.zeros(1, np.int64))


@nb.njit(cache=CACHE, inline="always")
def _memo_slot(memo, w, n, h):
    """The slot of the word ``w[:n]`` (hash ``h``) in the memo: its own, or the empty one it would take."""
    mask = len(memo.slots) - 1
    i = slot_of(h, mask)
    while True:
        e = memo.slots[i]
        if e == -1 or (memo.hashes[e] == h and memo.body_bounds[e + 1] - memo.body_bounds[e] == n
                       and same_run(memo.body, memo.body_bounds[e], w, 0, n)):
            return i
        i = (i + 1) & mask


@nb.njit(cache=CACHE)
def new_scratch(t, n):
    n_states = len(t.state_values)
    n_classes = t.n_prev * t.n_masks
    m = min(n, MAX_LETTERS) + 1
    return Scratch(np.empty(n + 1, np.int64), np.empty(n + 1, np.int64), np.empty(n + 2, np.int64),
                   np.empty(m + 1, np.int64), np.empty(m + 1, np.int64), np.empty(m * len(t.order) + 1, np.int64),
                   np.empty(m * len(t.order) + 1, np.int64), np.empty((m, n_states, n_classes), np.int64),
                   np.empty((m, n_states, n_classes), np.int64), np.zeros((m, n_states, n_classes), np.int64),
                   np.zeros(1, np.int64), np.empty((m + 1, 6), np.int64),
                   np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64),
                   np.empty((m + 8, 3), np.int64),
                   np.empty(4 * n + 32, np.uint8))


@nb.njit(cache=CACHE, inline="always")
def _matches(t, w, n, lo, keys, x):
    """The affixes whose surface, after ``w[:p]``, is at ``w[p:]``, for p = lo..n-1, in affix order."""
    n_keys = (len(t.vowels) + 1) * (len(t.marked) + 1)
    key_bounds, key_affix, key_first, surf_cps, surf_bounds = t.key_bounds, t.key_affix, t.key_first, t.surf_cps, \
        t.surf_bounds
    mb, mk, ms = x.match_bounds, x.match_k, x.match_size
    m = 0
    for p in range(lo, n):
        mb[p] = m
        key = keys[p]
        lo_, hi_ = key_bounds[key], key_bounds[key + 1]
        end = hi_
        while lo_ < hi_:
            mid = (lo_ + hi_) >> 1
            if key_first[mid] < w[p]:
                lo_ = mid + 1
            else:
                hi_ = mid
        e = lo_
        while e < end and key_first[e] == w[p]:
            k = key_affix[e]
            i = k * n_keys + key
            a, size = surf_bounds[i], surf_bounds[i + 1] - surf_bounds[i]
            if p + size <= n and same_run(surf_cps, a + 1, w, p + 1, size - 1):
                mk[m] = k
                ms[m] = size
                m += 1
            e += 1
    mb[n] = m


@nb.njit(cache=CACHE, inline="always")
def _search(order, next_state, prev_class, requires, attaches, makes, state_values, n_masks, mb, mk, ms, n, p0, s0, c0,
            memo_len, memo_k, memo_stamp, stamp, stack):
    """Fill ``memo_len[p0, s0, c0]`` (and what it needs): the fewest affixes that spell ``w[p0:n]`` from
    state ``s0`` and class ``c0`` (NO_CHAIN: none), and in ``memo_k`` the first of them -- the first in
    affix order among the shortest chains, as ``RuleSet._chain`` (a depth-first search with a memo)."""
    if p0 == n or memo_stamp[p0, s0, c0] == stamp:
        return
    top = 0
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3], stack[0, 4], stack[0, 5] = p0, s0, c0, mb[p0], NO_CHAIN, -1
    while top >= 0:
        p, s, c, i, best, best_k = stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3], stack[top, 4], \
            stack[top, 5]
        end = mb[p + 1]
        prev, cats = c // n_masks, c % n_masks
        pushed = False
        while i < end:
            k = mk[i]
            if order[k] > state_values[s] and (requires[k] >> prev) & 1 and attaches[k] & cats:
                q, ns = p + ms[i], next_state[k]
                nc = prev_class[k] * n_masks + (cats if makes[k] < 0 else makes[k])
                if q == n:
                    v = 0
                elif memo_stamp[q, ns, nc] == stamp:
                    v = memo_len[q, ns, nc]
                else:
                    stack[top, 3], stack[top, 4], stack[top, 5] = i, best, best_k
                    top += 1
                    stack[top, 0], stack[top, 1], stack[top, 2] = q, ns, nc
                    stack[top, 3], stack[top, 4], stack[top, 5] = mb[q], NO_CHAIN, -1
                    pushed = True
                    break
                if v < NO_CHAIN and v + 1 < best:
                    best, best_k = v + 1, k
            i += 1
        if not pushed:
            memo_len[p, s, c] = best
            memo_k[p, s, c] = best_k
            memo_stamp[p, s, c] = stamp
            top -= 1


@nb.njit(cache=CACHE, inline="always")
def _chain_from(state0, next_state, prev_class, makes, n_masks, surf_bounds, n_keys, n, p, c, keys, memo_k, chain):
    """Write the chain found from (p, state 0, class c) into ``chain``; returns its length."""
    s, m = state0, 0
    while p < n:
        k = memo_k[p, s, c]
        chain[m] = k
        m += 1
        i = k * n_keys + keys[p]
        p += surf_bounds[i + 1] - surf_bounds[i]
        s, c = next_state[k], prev_class[k] * n_masks + (c % n_masks if makes[k] < 0 else makes[k])
    return m


@nb.njit(cache=CACHE, inline="always")
def _chain(t, w, n, lo, keys, x, p0, cats):
    """Search the affix chains of ``w[p0:n]`` for a word of categories ``cats`` (the matches from ``lo``
    found): its length in ``x.chain``, or -1 when none spells it."""
    _search(t.order, t.next_state, t.prev_class, t.requires, t.attaches, t.makes, t.state_values, t.n_masks,
            x.match_bounds, x.match_k, x.match_size, n, p0, t.state0, cats, x.memo_len, x.memo_k, x.memo_stamp,
            x.stamp[0], x.stack)
    if p0 < n and x.memo_len[p0, t.state0, cats] >= NO_CHAIN:
        return -1
    n_keys = (len(t.vowels) + 1) * (len(t.marked) + 1)
    return _chain_from(t.state0, t.next_state, t.prev_class, t.makes, t.n_masks, t.surf_bounds, n_keys, n, p0, cats,
                       keys, x.memo_k, x.chain)


@nb.njit(cache=CACHE, inline="always")
def _start_search(t, w, n, lo, keys, x):
    """Find the affix matches of ``w[lo:n]`` and start a new memo (a new stamp)."""
    _matches(t, w, n, lo, keys, x)
    x.stamp[0] += 1


@nb.njit(cache=CACHE, inline="always")
def _find_stem(stem_slots, stem_bounds, stem_cps, w, i, h):
    """The index of the stem ``w[:i]`` (of hash ``h``), or -1."""
    mask = len(stem_slots) - 1
    j = slot_of(h, mask)
    while True:
        s = stem_slots[j]
        if s == -1:
            return -1
        if stem_bounds[s + 1] - stem_bounds[s] == i and same_run(stem_cps, stem_bounds[s], w, 0, i):
            return s
        j = (j + 1) & mask


@nb.njit(cache=CACHE, inline="always")
def _renders(t, r, chain, m, w, n, keys):
    """Whether root ``r`` + the affixes ``chain[:m]``, written by the rules (``RuleSet.render``), is
    ``w[:n]``: the altered stem when the first affix, written after it, starts with a vowel."""
    stem_cps, stem_bounds, surf_cps, surf_bounds, vowels = t.stem_cps, t.stem_bounds, t.surf_cps, t.surf_bounds, \
        t.vowels
    n_marked = len(t.marked) + 1
    n_keys = (len(vowels) + 1) * n_marked
    stem = t.root_stem[r]
    alt = t.root_alt[r]
    if alt >= 0 and m > 0:
        vowel, last = 0, 0
        for q in range(stem_bounds[alt], stem_bounds[alt + 1]):
            v = _class_in(vowels, stem_cps[q])
            if v:
                vowel = v
            last = _class_in(t.marked, stem_cps[q])
        i = chain[0] * n_keys + vowel * n_marked + last
        if surf_bounds[i + 1] > surf_bounds[i] and _class_in(vowels, surf_cps[surf_bounds[i]]):
            stem = alt
    a, b = stem_bounds[stem], stem_bounds[stem + 1]
    pos = b - a
    if pos > n:
        return False
    for q in range(pos):
        if stem_cps[a + q] != w[q]:
            return False
    for c in range(m):
        i = chain[c] * n_keys + keys[pos]
        a, b = surf_bounds[i], surf_bounds[i + 1]
        if b == a or pos + b - a > n:
            return False
        for q in range(b - a):
            if surf_cps[a + q] != w[pos + q]:
                return False
        pos += b - a
    return pos == n


@nb.njit(cache=CACHE, inline="always")
def _cuts(surf_bounds, n_keys, keys, stem, chain, m, out):
    """Where the stem (``stem`` letters) + ``chain[:m]`` cuts the word: ``out[:m]``, ascending."""
    pos = stem
    for q in range(m):
        out[q] = pos
        i = chain[q] * n_keys + keys[pos]
        pos += surf_bounds[i + 1] - surf_bounds[i]


@nb.njit(cache=CACHE, inline="always")
def _finer(cuts, m, than, m_than):
    """Whether the ascending cuts ``cuts[:m]`` hold every one of ``than[:m_than]`` and more."""
    if m <= m_than:
        return False
    j = 0
    for q in range(m):
        if j < m_than and cuts[q] == than[j]:
            j += 1
    return j == m_than


@nb.njit(cache=CACHE)
def _analyze(t, n, x, refine):
    """``RuleSet.analyze`` then ``RuleSet.guess`` of the lowercase letters ``x.w[:n]`` (keys in
    ``x.keys``): (root or -1, stem length, chain length, known), the chain in ``x.best_chain``. Root -1
    with a stem length > 0: a guessed unknown stem; stem length 0: no analysis."""
    w, keys = x.w, x.keys
    lo = max(1, min(t.min_root, t.guess_min_stem))
    if n < lo:
        return -1, 0, 0, False
    _start_search(t, w, n, lo, keys, x)
    hashes = x.hashes
    h = FNV_OFFSET
    hashes[0] = np.int64(h)
    for i in range(n):
        h = (h ^ np.uint64(w[i])) * FNV_PRIME
        hashes[i + 1] = np.int64(h)
    stem_slots, stem_bounds, stem_cps = t.stem_slots, t.stem_bounds, t.stem_cps
    entry_bounds, entry_root, entry_altered = t.entry_bounds, t.entry_root, t.entry_altered
    best_r, best_alt, best_i, best_m = -1, False, 0, 0
    n_keys = (len(t.vowels) + 1) * (len(t.marked) + 1)
    if n >= t.min_root:
        for i in range(min(n, t.longest_stem), t.min_root - 1, -1):
            refining = best_r >= 0 and not best_alt  # then only a finer analysis (RuleSet.analyze)
            if refining and not refine:
                break
            s = _find_stem(stem_slots, stem_bounds, stem_cps, w, i, hashes[i])
            if s >= 0:
                for e in range(entry_bounds[s], entry_bounds[s + 1]):
                    r, altered = entry_root[e], entry_altered[e]
                    if not refining and best_r >= 0 and (altered or not best_alt):
                        continue
                    m = _chain(t, w, n, lo, keys, x, i, t.entry_cats[e])
                    if m < 0 or (altered and m == 0) or not _renders(t, r, x.chain, m, w, n, keys):
                        continue
                    _cuts(t.surf_bounds, n_keys, keys, i, x.chain, m, x.cuts)
                    if refining and not _finer(x.cuts, m, x.best_cuts, best_m):
                        continue
                    best_r, best_alt, best_i, best_m = r, altered, i, m
                    x.best_chain[:m] = x.chain[:m]
                    x.best_cuts[:m] = x.cuts[:m]
    if best_r >= 0:
        return best_r, best_i, best_m, True
    n_marked = len(t.marked) + 1
    for i in range(t.guess_min_stem, n - 1):
        if keys[i] // n_marked == 0:
            continue  # no vowel in the stem
        m = _chain(t, w, n, lo, keys, x, i, t.unknown_cats)
        if m >= 0:
            x.best_chain[:m] = x.chain[:m]
            return -1, i, m, False
    return -1, 0, 0, False


# ---- one piece ----------------------------------------------------------------------------------

@nb.njit(cache=CACHE, inline="always")
def _put_utf8(out, pos, cp):
    if cp < 0x80:
        out[pos] = cp
        return pos + 1
    if cp < 0x800:
        out[pos] = 0xC0 | (cp >> 6)
        out[pos + 1] = 0x80 | (cp & 0x3F)
        return pos + 2
    if cp < 0x10000:
        out[pos] = 0xE0 | (cp >> 12)
        out[pos + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[pos + 2] = 0x80 | (cp & 0x3F)
        return pos + 3
    out[pos] = 0xF0 | (cp >> 18)
    out[pos + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[pos + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[pos + 3] = 0x80 | (cp & 0x3F)
    return pos + 4


@nb.njit(cache=CACHE, inline="always")
def _word(classes, lower, upper, buf, a, b, w, original):
    """Parse ``buf[a:b]`` as WORD_PIECE (one optional non-letter other than CR/LF/number, then letters):
    (end of the prefix, letters n, case mode 0 lower / 1 cap / 2 caps / -1 none, complex); the letters
    in ``original``, lowercased in ``w``."""
    cp, j = _decode(buf, a, b)
    f = classes[cp]
    body = a
    if not f & LETTER:
        if f & (NUMBER | CRLF) or j >= b:
            return a, 0, -1, False
        body = j
    n = 0
    i = body
    while i < b:
        cp, i = _decode(buf, i, b)
        if not classes[cp] & LETTER:
            return a, 0, -1, False
        low = lower[cp]
        if low < 0:
            return body, 0, -1, True
        original[n] = cp
        w[n] = low
        n += 1
    lowercase = cap = caps = True
    for q in range(n):
        if w[q] != original[q]:
            lowercase = False
            if q > 0:
                cap = False
        if upper[w[q]] != original[q]:
            caps = False
    if upper[w[0]] != original[0]:
        cap = False
    if lowercase:
        return body, n, 0, False
    if cap:
        return body, n, 1, False
    if caps and n > 1:
        return body, n, 2, False
    return body, n, -1, False


@nb.njit(cache=CACHE, inline="always")
def _add_unit(units, u, code, start, end):
    units[u, 0] = code
    units[u, 1] = start
    units[u, 2] = end
    return u + 1


@nb.njit(cache=CACHE, inline="always")
def _text(text, pos, buf, a, b, w, lo, hi):
    """Write ``buf[a:b]`` then the code points ``w[lo:hi]`` into ``text`` at ``pos``; returns the end."""
    for i in range(a, b):
        text[pos] = buf[i]
        pos += 1
    for q in range(lo, hi):
        pos = _put_utf8(text, pos, w[q])
    return pos


@nb.njit(cache=CACHE)
def _plan_piece(t, buf, a, b, prev_letter, next_letter, has_root, has_spaced, refine, x, memo):
    """``MorphStage.plan`` of the piece ``buf[a:b]`` into ``x.units`` / ``x.text``: (units, end of the
    text written, letters of the word), or (WHOLE: the piece is one text unit as written, or PYTHON: a
    letter needs Python's case mapping, 0, 0)."""
    body, n, mode, complex_case = _word(t.classes, t.lower, t.upper, buf, a, b, x.w, x.original)
    if complex_case:
        return PYTHON, 0, 0
    if n == 0 or (body == a and prev_letter) or mode < 0 or (mode == 2 and next_letter):
        return WHOLE, 0, 0
    units, text, w = x.units, x.text, x.w
    u = 0
    if mode > 0:
        u = _add_unit(units, u, CAP if mode == 1 else CAPS, 0, 0)
    r, stem, m, known = -1, 0, 0, False
    if n <= MAX_LETTERS:
        letters = True
        for q in range(n):
            if not t.classes[w[q]] & LETTER:
                letters = False
        if letters:  # each distinct word is analysed once (the memo)
            h = np.int64(fnv1a(w, 0, n))
            i = _memo_slot(memo, w, n, h)
            e = memo.slots[i]
            if e >= 0:
                r, stem, m, known = memo.results[e, 0], memo.results[e, 1], memo.results[e, 2], memo.results[e, 3] != 0
                x.best_chain[:m] = memo.chains[memo.chain_bounds[e]:memo.chain_bounds[e] + m]
            else:
                _keys(t.vowels, t.marked, w, 0, n, x.keys)
                r, stem, m, known = _analyze(t, n, x, refine)
                e = memo.count[0]
                memo.count[0] += 1
                memo.slots[i] = e
                memo.hashes[e] = h
                b0 = memo.body_bounds[e]
                memo.body[b0:b0 + n] = w[:n]
                memo.body_bounds[e + 1] = b0 + n
                memo.results[e, 0], memo.results[e, 1], memo.results[e, 2], memo.results[e, 3] = r, stem, m, known
                c0 = memo.chain_bounds[e]
                memo.chains[c0:c0 + m] = x.best_chain[:m]
                memo.chain_bounds[e + 1] = c0 + m
    if stem == 0:
        end = _text(text, 0, buf, a, body, w, 0, n)
        return _add_unit(units, u, -1, 0, end), end, n
    end = 0
    if known and body == a + 1 and buf[a] == 0x20 and has_spaced[r]:
        u = _add_unit(units, u, 2 + len(t.order) + len(t.root_stem) + r, 0, 0)
    elif known and has_root[r]:
        if body > a:
            end = _text(text, 0, buf, a, body, w, 0, 0)
            u = _add_unit(units, u, -1, 0, end)
        u = _add_unit(units, u, 2 + len(t.order) + r, 0, 0)
    else:
        end = _text(text, 0, buf, a, body, w, 0, stem)
        u = _add_unit(units, u, -1, 0, end)
    for i in range(m):
        u = _add_unit(units, u, 2 + x.best_chain[i], 0, 0)
    return u, end, n


@nb.njit(cache=CACHE)
def _plan_group(t, buf, a, apostrophe, end, prev_letter, has_root, has_spaced, refine, x, memo):
    """``MorphStage.plan_group`` of ``buf[a:end]`` (a word, an apostrophe at ``apostrophe``, letters):
    the word's units, the apostrophe as text, and the affix tokens that spell the letters after it,
    which must be lowercase: (units, end of the text written), or (WHOLE: no such plan, or PYTHON, 0)."""
    u, text_end, n_word = _plan_piece(t, buf, a, apostrophe, prev_letter, False, has_root, has_spaced, refine, x,
                                      memo)
    if u < 0:
        return u, 0
    cp, start = _decode(buf, apostrophe, end)
    w = x.w
    n = n_word
    i = start
    while i < end:
        cp, i = _decode(buf, i, end)
        low = t.lower[cp]
        if low < 0:
            return PYTHON, 0
        if low != cp:
            return WHOLE, 0
        w[n] = cp
        n += 1
    if n > MAX_LETTERS:
        return WHOLE, 0
    _keys(t.vowels, t.marked, w, 0, n, x.keys)
    _start_search(t, w, n, n_word, x.keys, x)
    m = _chain(t, w, n, n_word, x.keys, x, n_word, t.unknown_cats)
    if m < 0:
        return WHOLE, 0
    text_start = text_end
    text_end = _text(x.text, text_end, buf, apostrophe, start, w, 0, 0)
    u = _add_unit(x.units, u, -1, text_start, text_end)
    for q in range(m):
        u = _add_unit(x.units, u, 2 + x.chain[q], 0, 0)
    return u, text_end


# ---- a batch --------------------------------------------------------------------------------------

@nb.njit(cache=CACHE)
def _group_end(classes, apostrophes, buf, a, doc_end):
    r"""``[^\r\n\p{L}\p{N}]?\p{L}+['’]\p{L}+`` at ``buf[a:]`` with maximal letter runs: (its end, where
    its apostrophe starts), or (-1, -1)."""
    cp, i = _decode(buf, a, doc_end)
    f = classes[cp]
    if not f & LETTER:
        if f & (NUMBER | CRLF) or i >= doc_end:
            return -1, -1
        cp, i = _decode(buf, i, doc_end)
        if not classes[cp] & LETTER:
            return -1, -1
    while i < doc_end:
        apostrophe = i
        cp, i = _decode(buf, i, doc_end)
        if classes[cp] & LETTER:
            continue
        if not _class_in(apostrophes, cp) or i >= doc_end:
            return -1, -1
        end = i
        while end < doc_end:
            cp, k = _decode(buf, end, doc_end)
            if not classes[cp] & LETTER:
                break
            end = k
        return (end, apostrophe) if end > i else (-1, -1)
    return -1, -1


@nb.njit(cache=CACHE, inline="always")
def _last_is_letter(classes, buf, a, b):
    """Whether the last character of ``buf[a:b]`` (non-empty) is a letter."""
    i = b - 1
    while i > a and (buf[i] & 0xC0) == 0x80:
        i -= 1
    cp, _ = _decode(buf, i, b)
    return (classes[cp] & LETTER) != 0


@nb.njit(cache=CACHE, inline="always")
def _first_is_letter(classes, buf, a, b):
    cp, _ = _decode(buf, a, b)
    return (classes[cp] & LETTER) != 0


@nb.njit(cache=CACHE)
def _rehashed(hashes, n, size):
    """A slot table of ``size`` slots holding items 0..n-1 by their ``hashes``."""
    slots = np.full(size, -1, np.int64)
    mask = size - 1
    for s in range(n):
        i = slot_of(hashes[s], mask)
        while slots[i] != -1:
            i = (i + 1) & mask
        slots[i] = s
    return slots


@nb.njit(cache=CACHE, nogil=True)
def _key_pieces(buf, piece_bounds, doc_pieces, classes, apostrophes, groups):
    """Step 1: the distinct keys (bytes + flags) of the pieces and groups. Returns the key of each piece
    (``piece_key``), of the group that starts there or -1 (``group_key``) and the piece after that group
    (``group_next``), and per key: (hash, start, end, flags, apostrophe) rows."""
    n_pieces = len(piece_bounds) - 1
    piece_key = np.empty(n_pieces, np.int64)
    group_key = np.full(n_pieces, -1, np.int64)
    group_next = np.zeros(n_pieces, np.int64)
    keys = np.empty((1024, 5), np.int64)
    slots = np.full(4096, -1, np.int64)
    n_keys = 0
    for d in range(len(doc_pieces) - 1):
        first, last = doc_pieces[d], doc_pieces[d + 1]
        doc_end = piece_bounds[last]
        for j in range(first, last):
            a, b = piece_bounds[j], piece_bounds[j + 1]
            prev_letter = j > first and _last_is_letter(classes, buf, piece_bounds[j - 1], a)
            next_letter = j + 1 < last and _first_is_letter(classes, buf, b, piece_bounds[j + 2])
            span_end, apostrophe = -1, -1
            maybe = groups and b < doc_end and (buf[b] == 0x27 or buf[b] == 0xE2)
            for i in range(a, b if groups else a):
                if buf[i] == 0x27 or buf[i] == 0xE2:
                    maybe = True
            if maybe:
                end, apostrophe = _group_end(classes, apostrophes, buf, a, doc_end)
                if end > 0 and apostrophe <= b:
                    k = j
                    while k < last and piece_bounds[k + 1] < end:
                        k += 1
                    if k < last and piece_bounds[k + 1] == end:
                        span_end = end
                        group_next[j] = k + 1
            for attempt in range(2):
                if attempt == 0:
                    if span_end < 0:
                        continue
                    e, flags = span_end, GROUP + np.int64(prev_letter)
                else:
                    e, flags = b, np.int64(prev_letter) + 2 * np.int64(next_letter)
                h = np.int64(fnv1a(buf, a, e) ^ np.uint64(flags * 0x9E3779B1))
                mask = len(slots) - 1
                i = slot_of(h, mask)
                while True:
                    p = slots[i]
                    if p == -1:
                        break
                    if keys[p, 0] == h and keys[p, 3] == flags and keys[p, 2] - keys[p, 1] == e - a \
                            and same_run(buf, a, buf, keys[p, 1], e - a):
                        break
                    i = (i + 1) & mask
                if p == -1:
                    if n_keys == len(keys):
                        keys = np.concatenate((keys, np.empty_like(keys)))
                    if 2 * (n_keys + 1) > len(slots):
                        slots = _rehashed(keys[:, 0], n_keys, 2 * len(slots))
                        mask = len(slots) - 1
                        i = slot_of(h, mask)
                        while slots[i] != -1:
                            i = (i + 1) & mask
                    p = n_keys
                    n_keys += 1
                    slots[i] = p
                    keys[p, 0], keys[p, 1], keys[p, 2], keys[p, 3], keys[p, 4] = h, a, e, flags, apostrophe
                if attempt == 0:
                    group_key[j] = p
                else:
                    piece_key[j] = p
    return piece_key, group_key, group_next, keys[:n_keys]


@nb.njit(cache=CACHE, inline="always")
def _find_text(texts, text_bounds, text_hash, slots, h, src, a, b):
    """The slot of the text ``src[a:b]`` (hash ``h``) in ``slots``: its index there, or an empty slot."""
    mask = len(slots) - 1
    i = slot_of(h, mask)
    n = b - a
    while True:
        s = slots[i]
        if s == -1:
            return i
        if text_hash[s] == h and text_bounds[s + 1] - text_bounds[s] == n \
                and same_run(texts, text_bounds[s], src, a, n):
            return i
        i = (i + 1) & mask


@nb.njit(cache=CACHE, nogil=True)
def _plan_keys(buf, keys, t, stage_codes, refine):
    """Step 2: plan each distinct key: its codes ``plan_codes[plan_bounds[p]:plan_bounds[p+1]]`` (ids, or
    -1 - text), its status (0, WHOLE: a group that is none, PYTHON), and the distinct texts."""
    n_affixes = len(t.order)
    n_roots = len(t.root_stem)
    has_root = np.empty(n_roots, np.bool_)
    has_spaced = np.empty(n_roots, np.bool_)
    for r in range(n_roots):
        has_root[r] = stage_codes[2 + n_affixes + r] >= 0
        has_spaced[r] = stage_codes[2 + n_affixes + n_roots + r] >= 0
    n_plans = len(keys)
    plan_bounds = np.zeros(n_plans + 1, np.int64)
    plan_status = np.zeros(n_plans, np.int64)
    plan_codes = np.empty(2 * n_plans + 16, np.int64)
    texts = np.empty(4096, np.uint8)
    text_bounds = np.zeros(n_plans + 2, np.int64)
    text_hash = np.empty(n_plans + 2, np.int64)
    text_slots = empty_slots(n_plans + 1)
    n_texts = 0
    longest, total = 64, 0
    for p in range(n_plans):
        longest = max(longest, keys[p, 2] - keys[p, 1])
        total += keys[p, 2] - keys[p, 1]
    x = new_scratch(t, longest)
    memo = new_memo(n_plans, total)
    for p in range(n_plans):
        a, b, flags = keys[p, 1], keys[p, 2], keys[p, 3]
        if flags >= GROUP:
            u, _ = _plan_group(t, buf, a, keys[p, 4], b, (flags & 1) != 0, has_root, has_spaced, refine, x, memo)
        else:
            u, _, _ = _plan_piece(t, buf, a, b, (flags & 1) != 0, (flags & 2) != 0, has_root, has_spaced, refine, x,
                                  memo)
            if u == WHOLE:
                x.text[:b - a] = buf[a:b]
                u = _add_unit(x.units, 0, -1, 0, b - a)
        plan_status[p] = min(u, 0)
        start = plan_bounds[p]
        n_units = max(u, 0)
        if start + n_units > len(plan_codes):
            plan_codes = grown(plan_codes, start + n_units)
        for q in range(n_units):
            code = x.units[q, 0]
            if code >= 0:
                plan_codes[start + q] = stage_codes[code]
                continue
            ta, tb = x.units[q, 1], x.units[q, 2]
            th = np.int64(fnv1a(x.text, ta, tb))
            s = _find_text(texts, text_bounds, text_hash, text_slots, th, x.text, ta, tb)
            if text_slots[s] == -1:
                if n_texts + 2 > len(text_bounds):
                    text_bounds = grown(text_bounds, 2 * len(text_bounds))
                    text_hash = grown(text_hash, len(text_bounds))
                if 2 * (n_texts + 1) > len(text_slots):
                    text_slots = _rehashed(text_hash, n_texts, 2 * len(text_slots))
                    s = _find_text(texts, text_bounds, text_hash, text_slots, th, x.text, ta, tb)
                base = text_bounds[n_texts]
                if base + tb - ta > len(texts):
                    texts = grown(texts, base + tb - ta)
                texts[base:base + tb - ta] = x.text[ta:tb]
                text_bounds[n_texts + 1] = base + tb - ta
                text_hash[n_texts] = th
                text_slots[s] = n_texts
                n_texts += 1
            plan_codes[start + q] = -1 - text_slots[s]
        plan_bounds[p + 1] = start + n_units
    return plan_bounds, plan_codes, plan_status, texts[:text_bounds[n_texts]], text_bounds[:n_texts + 1]


@nb.njit(cache=CACHE, nogil=True)
def _emit(piece_key, group_key, group_next, doc_pieces, plan_bounds, plan_codes, plan_status):
    """Step 3: each document's codes, piece by piece (a group's where it is one); documents with a
    PYTHON plan are left empty and flagged."""
    n_docs = len(doc_pieces) - 1
    codes = np.empty(max(64, 2 * len(piece_key)), np.int64)
    n = 0
    doc_units = np.zeros(n_docs + 1, np.int64)
    doc_python = np.zeros(n_docs, np.bool_)
    for d in range(n_docs):
        start = n
        j, last = doc_pieces[d], doc_pieces[d + 1]
        while j < last:
            p = group_key[j]
            nxt = group_next[j]
            if p < 0 or plan_status[p] == WHOLE:
                p = piece_key[j]
                nxt = j + 1
            if plan_status[p] == PYTHON:
                doc_python[d] = True
                n = start
                break
            a, b = plan_bounds[p], plan_bounds[p + 1]
            if n + b - a > len(codes):
                codes = grown(codes, n + b - a)
            for q in range(b - a):
                codes[n + q] = plan_codes[a + q]
            n += b - a
            j = nxt
        doc_units[d + 1] = n
    return codes[:n], doc_units, doc_python


def plan_pieces(buf, piece_bounds, doc_pieces, t, stage_codes, version=2):
    """Plan every piece of every document (see the module docstring): (codes, doc_units, texts,
    text_bounds, doc_python). Three kernels: the distinct pieces, their plans, each document's codes.
    ``version``: the stage's (``MorphStage.version``): 1 plans as tokforge did before apostrophe groups
    and finer analyses (model files that name no version)."""
    piece_key, group_key, group_next, keys = _key_pieces(buf, piece_bounds, doc_pieces, t.classes, t.apostrophes,
                                                         version >= 2)
    plan_bounds, plan_codes, plan_status, texts, text_bounds = _plan_keys(buf, keys, t, stage_codes, version >= 2)
    codes, doc_units, doc_python = _emit(piece_key, group_key, group_next, doc_pieces, plan_bounds, plan_codes,
                                         plan_status)
    return codes, doc_units, texts, text_bounds, doc_python
