r"""Pretokenizer scanners: the split regex presets as hand-written matchers over UTF-8 bytes (numba).

Each scanner returns the same pieces as ``Pretokenizer(preset).split(doc)`` (the ``regex`` module
with the presets' flags) for every document, as byte offsets, without building Python strings:

- ``buf``         uint8[B]      UTF-8 text of all documents, back to back
- ``doc_bounds``  int64[D+1]    document ``d`` is ``buf[doc_bounds[d]:doc_bounds[d+1]]``; each one
  is scanned on its own (a lookahead like ``(?!\S)`` sees the end of the document, not the next one)
- ``table``       uint16[0x110000]  class flags per code point, from
  ``tokforge.text.unicode_classes.class_table()`` (the Unicode data of HF's engine, shipped with tokforge)
- result          int64[P+1]    piece boundaries: ``doc_bounds[0]``, then the end of every piece;
  strictly increasing, every document end is one of them (an empty document adds nothing)

Example::

    >>> import numpy as np
    >>> from tokforge.text.unicode_classes import class_table
    >>> text = "It's  9876 km\n\nOK"
    >>> buf = np.frombuffer(text.encode(), np.uint8)
    >>> docs = np.array([0, 13, len(buf)])             # "It's  9876 km" and "\n\nOK"
    >>> bounds = scan_cl100k(buf, docs, class_table())
    >>> bounds
    array([ 0,  2,  4,  5,  6,  9, 10, 13, 15, 17])
    >>> [text[a:b] for a, b in zip(bounds[:-1], bounds[1:])]   # ASCII text: bytes = characters
    ['It', "'s", ' ', ' ', '987', '6', ' km', '\n\n', 'OK']

``scan`` takes the preset and digit policy as numbers (:data:`PRESET_IDS`, :data:`DIGIT_IDS`); the
digit split (1 per digit, 3s from the left, 3s from the right) runs first and the preset then
scans each stretch between digit pieces on its own, as ``Pretokenizer.split`` does::

    >>> b = scan(buf, docs, class_table(), PRESET_IDS["cl100k"], DIGIT_IDS["rtl3"])
    >>> [text[i:j] for i, j in zip(b[:-1], b[1:])]             # "It's  " is split on its own
    ['It', "'s", '  ', '9', '876', ' km', '\n\n', 'OK']

How the presets are matched: alternatives are tried in order and the first that matches wins;
the backtracking each one can do is resolved in closed form:

- ``\s+(?!\S)`` gives back the last whitespace character unless the run reaches the end of the
  document (a single whitespace character before a non-space is then ``\s+``);
- ``\s*[\r\n]`` (and o200k's ``\s*[\r\n]+``) ends just after the last CR/LF of the whitespace run;
- ``\p{N}{1,3}`` takes up to 3; cl100k's possessive ``?+``/``++`` never need to give anything back;
- o200k's ``P?U*W+`` (``P`` = ``[^\r\n\p{L}\p{N}]``, ``U``/``W`` its upper/lower classes, which
  share ``\p{Lm}\p{Lo}\p{M}``): ``U*`` takes the longest run, then ``W+`` starts at the run's end
  if that character is in ``W``, else at the last ``W`` character inside the run (and is one
  character long); failing that, ``P?`` gives its character back (a mark is in ``P``, ``U`` and
  ``W``), then ``P?U+W*`` is tried the same way;
- case folding of the contractions comes from the table (``(?i:s)`` is ``S``, ``s`` and ``ſ``).

Invalid UTF-8 never makes a scanner read outside ``buf`` (an undecodable byte is one character,
U+FFFD), but the pieces are then unspecified.  A document boundary inside a character likewise.

The module is long because it is one scanner: the presets share the character classes, the
digit pre-split and one compiled ``scan`` (one compilation instead of one per preset).

Speed (one core, lines as documents, the 85 MB bench corpus of docs, code and multilingual
text): cl100k ~125 MB/s (110-250 MB/s depending on the text), 14x ``regex`` ``findall``; gpt2 about
the same, o200k ~30% slower.  The first call compiles for ~20 s (then cached); a writable and a
read-only ``buf`` are two compilations, so the wrappers below pass a read-only one.
"""
import hashlib

import numba as nb
import numpy as np

from tokforge.text.presets import DIGIT_PATTERNS, PRESETS, SPELLINGS

from .numba_cache import CACHE

# Class flags of the table (tokforge.text.unicode_classes builds the table with these; they live here
# so that a cached kernel can never be compiled against other values).
LETTER = 1 << 0        # \p{L}
NUMBER = 1 << 1        # \p{N}
SPACE = 1 << 2         # \s
CRLF = 1 << 3          # [\r\n]
O200K_UPPER = 1 << 4   # [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}\u0295]
O200K_LOWER = 1 << 5   # [\p{Ll}\p{Lm}\p{Lo}\p{M}]
FOLD_QUOTE = 1 << 6    # (?i:')
FOLD_S = 1 << 7        # (?i:s)
FOLD_D = 1 << 8        # (?i:d)
FOLD_M = 1 << 9        # (?i:m)
FOLD_T = 1 << 10       # (?i:t)
FOLD_L = 1 << 11       # (?i:l)
FOLD_V = 1 << 12       # (?i:v)
FOLD_E = 1 << 13       # (?i:e)
FOLD_R = 1 << 14       # (?i:r)

_LNS = LETTER | NUMBER | SPACE     # a character in none of these is [^\s\p{L}\p{N}]

#: The split each scanner was written to reproduce: a fingerprint (the first 16 hex digits of the
#: sha256 of the regex) of the preset's regex and of each digit policy's in the one table of presets
#: (``tokforge.text.presets``, compiled with MULTILINE | FULLCASE as tokforge does). A preset edited
#: there no longer matches its fingerprint: its scanner then drops out of ``REGEXES`` and
#: ``tokforge.text.pretokenizers`` splits with ``regex`` until the scanner is rewritten (and this with it).
WRITTEN_FOR = {"gpt2": "eeb55ba74cc544ae", "cl100k": "a4bb8cc38b305a24", "o200k": "2463690414bdb8c0",
               "whitespace": "637f56542f8bdb3e", "superword-sentences": "44a28db086ad6da5",
               "superword": "d5a007b03327c72a"}
DIGITS_WRITTEN_FOR = {"single": "8e12e7a373c51572", "ltr3": "37eeaf14e325fd50", "rtl3": "5fe49985a9ec0ec9"}


def _fingerprint(regex: str) -> str:
    return hashlib.sha256(regex.encode("utf-8")).hexdigest()[:16]


#: The regex each scanner reproduces, and the digit pre-split each digit policy's scanner reproduces:
#: those of the table of presets that are still what the scanners were written for.
REGEXES = {name: PRESETS[name] for name, f in WRITTEN_FOR.items() if _fingerprint(PRESETS.get(name, "")) == f}
DIGIT_REGEXES = {name: DIGIT_PATTERNS[name] for name, f in DIGITS_WRITTEN_FOR.items()
                 if _fingerprint(DIGIT_PATTERNS.get(name, "")) == f}
PRESET_IDS = {"gpt2": 0, "cl100k": 1, "o200k": 2, "whitespace": 3, "superword-sentences": 4, "superword": 5}
DIGIT_IDS = {"none": 0, "single": 1, "ltr3": 2, "rtl3": 3}
_GPT2, _CL100K, _O200K, _WHITESPACE, _SUPERWORD_SENTENCES, _SUPERWORD = 0, 1, 2, 3, 4, 5

#: The variants of a scanner that other spellings of its preset need, as bits added to its id:
#: ``TAIL`` (gpt2, cl100k): tiktoken's ``\s++$`` before the whitespace alternatives -- a whitespace
#: run that ends the text is one piece; ``DIGIT_RUNS`` (cl100k): ``\p{N}{1,3}+``, which Oniguruma reads
#: as ``(?:\p{N}{1,3})+`` -- a run of digits is one piece.
TAIL, DIGIT_RUNS = 8, 16
VARIANT_BITS = {"tail": TAIL, "digit_runs": DIGIT_RUNS}
#: The spellings (``tokforge.text.presets.SPELLINGS``) the variants were written for, by fingerprint;
#: an edited spelling drops out of ``SPELLING_IDS`` as an edited preset drops out of ``REGEXES``.
SPELLINGS_WRITTEN_FOR = {
    "d98f9631be1e9607": ("cl100k", ()),
    "f021c3d976978e62": ("cl100k", ("tail", "digit_runs")),
    "1afba967494b1e76": ("cl100k", ("tail",)),
    "bf51d578af571878": ("gpt2", ("tail",)),
    "ce1b78ffb1073964": ("gpt2", ()),
}
SPELLING_IDS = {regex: PRESET_IDS[name] + sum(VARIANT_BITS[v] for v in variants)
                for regex, (name, variants) in SPELLINGS.items()
                if SPELLINGS_WRITTEN_FOR.get(_fingerprint(regex)) == (name, tuple(variants)) and name in REGEXES}


# ---- characters -----------------------------------------------------------------------------

@nb.njit(cache=CACHE, inline="always")
def _decode_multi(buf, i, e):
    """(code point, offset after it) of the non-ASCII UTF-8 character at ``buf[i]``, ``i < e``."""
    b0 = np.int64(buf[i])
    if b0 >= 0xF0:
        if i + 4 <= e:
            cp = (((b0 & 0x07) << 18) | ((np.int64(buf[i + 1]) & 0x3F) << 12)
                  | ((np.int64(buf[i + 2]) & 0x3F) << 6) | (np.int64(buf[i + 3]) & 0x3F))
            if cp <= 0x10FFFF:
                return cp, i + 4
        return np.int64(0xFFFD), i + 1
    if b0 >= 0xE0:
        if i + 3 <= e:
            return (((b0 & 0x0F) << 12) | ((np.int64(buf[i + 1]) & 0x3F) << 6)
                    | (np.int64(buf[i + 2]) & 0x3F)), i + 3
        return np.int64(0xFFFD), i + 1
    if b0 >= 0xC0 and i + 2 <= e:
        return ((b0 & 0x1F) << 6) | (np.int64(buf[i + 1]) & 0x3F), i + 2
    return np.int64(0xFFFD), i + 1


@nb.njit(cache=CACHE, inline="always")
def _decode(buf, i, e):
    """(code point, offset after it) of the UTF-8 character at ``buf[i]``, ``i < e``."""
    b0 = buf[i]
    if b0 < 0x80:
        return np.int64(b0), i + 1
    return _decode_multi(buf, i, e)


@nb.njit(cache=CACHE, inline="always")
def _flags(buf, i, e, table):
    """(class flags, offset after it) of the UTF-8 character at ``buf[i]``, ``i < e``."""
    b0 = buf[i]
    if b0 < 0x80:
        return table[b0], i + 1
    cp, j = _decode_multi(buf, i, e)
    return table[cp], j


@nb.njit(cache=CACHE, inline="always")
def _run(buf, i, e, table, flags):
    """End of the run of characters having one of ``flags``, from ``i``."""
    while i < e:
        f, j = _flags(buf, i, e, table)
        if (f & flags) == 0:
            break
        i = j
    return i


@nb.njit(cache=CACHE, inline="always")
def _run_none(buf, i, e, table, flags):
    """End of the run of characters having none of ``flags``, from ``i``."""
    while i < e:
        f, j = _flags(buf, i, e, table)
        if (f & flags) != 0:
            break
        i = j
    return i


@nb.njit(cache=CACHE, inline="always")
def _run_cps(buf, i, e, a, b, c):
    """End of the run of the characters ``a``, ``b``, ``c`` (ASCII) from ``i``."""
    while i < e:
        x = buf[i]
        if x != a and x != b and x != c:
            break
        i += 1
    return i


# Everything that runs per character or per piece is compiled with ``_nrt=False`` (numba's flag for
# "no reference counting"; these functions never allocate): otherwise numba increfs and decrefs
# ``buf`` and ``table`` around every call of a helper taking them, even an inlined one -- two
# atomic operations per character, which made the scanners 3-5x slower.
_HOT = {"cache": CACHE, "_nrt": False}  # CACHE: False where no folder is writable (numba_cache)


@nb.njit(cache=CACHE, inline="always")
def _numbers_1_3(buf, j, e, table):
    r"""End of ``\p{N}{1,3}`` whose first character ends at ``j``."""
    for _ in range(2):
        if j >= e:
            break
        f, k = _flags(buf, j, e, table)
        if (f & NUMBER) == 0:
            break
        j = k
    return j


@nb.njit(**_HOT)
def _spaces(buf, i, e, table, newline_alt, tail=False):
    r"""End of ``\s++$`` (if ``tail``) ``|\s*[\r\n]`` (if ``newline_alt``) ``|\s+(?!\S)|\s+`` at ``i``,
    a whitespace character."""
    q = i
    last = i          # start of the last whitespace character
    nl_end = -1       # end of the last CR/LF
    while q < e:
        f, k = _flags(buf, q, e, table)
        if (f & SPACE) == 0:
            break
        if f & CRLF:
            nl_end = k
        last = q
        q = k
    if tail and q == e:
        return q
    if newline_alt and nl_end >= 0:
        return nl_end
    if q == e or last == i:
        return q
    return last


# ---- presets: the end of the match starting at i (i < e) ---------------------------------------

@nb.njit(**_HOT)
def _match_gpt2(buf, i, e, table, tail):
    cp, j = _decode(buf, i, e)
    if cp == 0x27 and j < e:                       # 's|'t|'re|'ve|'m|'ll|'d
        b = buf[j]
        if b == 0x73 or b == 0x74 or b == 0x6D or b == 0x64:
            return j + 1
        if j + 1 < e:
            b2 = buf[j + 1]
            if (b2 == 0x65 and (b == 0x72 or b == 0x76)) or (b == 0x6C and b2 == 0x6C):
                return j + 2
    if cp == 0x20 and j < e:                       # ' ?' taken
        f2, k = _flags(buf, j, e, table)
        if f2 & LETTER:
            return _run(buf, k, e, table, LETTER)
        if f2 & NUMBER:
            return _run(buf, k, e, table, NUMBER)
        if (f2 & SPACE) == 0:
            return _run_none(buf, k, e, table, _LNS)
    f = table[cp]
    if f & LETTER:                                 # ' ?' not taken
        return _run(buf, j, e, table, LETTER)
    if f & NUMBER:
        return _run(buf, j, e, table, NUMBER)
    if (f & SPACE) == 0:
        return _run_none(buf, j, e, table, _LNS)
    return _spaces(buf, i, e, table, False, tail)  # (\s++$|)\s+(?!\S)|\s+


@nb.njit(**_HOT)
def _match_cl100k(buf, i, e, table, tail, digit_runs):
    cp, j = _decode(buf, i, e)
    if cp == 0x27 and j < e:                       # '(?i:[sdmt]|ll|ve|re)
        f2, k = _flags(buf, j, e, table)
        if f2 & (FOLD_S | FOLD_D | FOLD_M | FOLD_T):
            return k
        if k < e and (f2 & (FOLD_L | FOLD_V | FOLD_R)):
            f3, k3 = _flags(buf, k, e, table)
            if ((f2 & FOLD_L) and (f3 & FOLD_L)) or ((f2 & (FOLD_V | FOLD_R)) and (f3 & FOLD_E)):
                return k3
    f = table[cp]
    if f & LETTER:                                 # [^\r\n\p{L}\p{N}]?+\p{L}+, no prefix
        return _run(buf, j, e, table, LETTER)
    if f & NUMBER:                                 # \p{N}{1,3} (Oniguruma's \p{N}{1,3}+: \p{N}+)
        return _run(buf, j, e, table, NUMBER) if digit_runs else _numbers_1_3(buf, j, e, table)
    if (f & CRLF) == 0 and j < e:                  # [^\r\n\p{L}\p{N}]?+\p{L}+, prefix c
        f2, k = _flags(buf, j, e, table)
        if f2 & LETTER:
            return _run(buf, k, e, table, LETTER)
    if (f & SPACE) == 0:                           # [^\s\p{L}\p{N}]++[\r\n]*
        return _run_cps(buf, _run_none(buf, j, e, table, _LNS), e, 0x0D, 0x0A, 0x0A)
    if cp == 0x20 and j < e:                       # the same after ' '
        f2, k = _flags(buf, j, e, table)
        if (f2 & _LNS) == 0:
            return _run_cps(buf, _run_none(buf, k, e, table, _LNS), e, 0x0D, 0x0A, 0x0A)
    return _spaces(buf, i, e, table, True, tail)   # (\s++$|)\s*[\r\n]|\s+(?!\S)|\s+


@nb.njit(**_HOT)
def _o200k_upper_lower(buf, t, e, table):
    """End of ``U*W+`` at ``t``, or -1."""
    last_w = -1
    u = t
    while u < e:
        f, k = _flags(buf, u, e, table)
        if (f & O200K_UPPER) == 0:
            if f & O200K_LOWER:                    # W+ from the end of the U run
                return _run(buf, k, e, table, O200K_LOWER)
            break
        if f & O200K_LOWER:
            last_w = k
        u = k
    return last_w                                   # W+ = the last W character inside the U run


@nb.njit(**_HOT)
def _o200k_upper_plus(buf, t, e, table):
    """End of ``U+W*`` at ``t``, or -1."""
    if t >= e:
        return -1
    f, k = _flags(buf, t, e, table)
    if (f & O200K_UPPER) == 0:
        return -1
    return _run(buf, _run(buf, k, e, table, O200K_UPPER), e, table, O200K_LOWER)


@nb.njit(**_HOT)
def _o200k_contraction(buf, r, e, table):
    """End of ``(?i:'s|'t|'re|'ve|'m|'ll|'d)?`` at ``r``."""
    if r >= e:
        return r
    f, k = _flags(buf, r, e, table)
    if (f & FOLD_QUOTE) == 0 or k >= e:
        return r
    f2, k2 = _flags(buf, k, e, table)
    if f2 & (FOLD_S | FOLD_T):
        return k2
    if k2 < e and (f2 & (FOLD_R | FOLD_V)):
        f3, k3 = _flags(buf, k2, e, table)
        if f3 & FOLD_E:
            return k3
    if f2 & FOLD_M:
        return k2
    if k2 < e and (f2 & FOLD_L):
        f3, k3 = _flags(buf, k2, e, table)
        if f3 & FOLD_L:
            return k3
    if f2 & FOLD_D:
        return k2
    return r


@nb.njit(**_HOT)
def _match_o200k(buf, i, e, table):
    cp, j = _decode(buf, i, e)
    f = table[cp]
    if (f & (NUMBER | CRLF)) == 0:                 # the two word alternatives can match
        if f & LETTER:                             # P? matches nothing
            r = _o200k_upper_lower(buf, i, e, table)
            if r < 0:
                r = _o200k_upper_plus(buf, i, e, table)
        else:                                      # c is P: P? takes it, else gives it back
            r = _o200k_upper_lower(buf, j, e, table)
            if r < 0 and (f & (O200K_UPPER | O200K_LOWER)):
                r = _o200k_upper_lower(buf, i, e, table)
            if r < 0:
                r = _o200k_upper_plus(buf, j, e, table)
            if r < 0 and (f & O200K_UPPER):
                r = _o200k_upper_plus(buf, i, e, table)
        if r >= 0:
            return _o200k_contraction(buf, r, e, table)
    if f & NUMBER:                                 # \p{N}{1,3}
        return _numbers_1_3(buf, j, e, table)
    if (f & SPACE) == 0:                           # [^\s\p{L}\p{N}]+[\r\n/]*
        return _run_cps(buf, _run_none(buf, j, e, table, _LNS), e, 0x0D, 0x0A, 0x2F)
    if cp == 0x20 and j < e:                       # the same after ' '
        f2, k = _flags(buf, j, e, table)
        if (f2 & _LNS) == 0:
            return _run_cps(buf, _run_none(buf, k, e, table, _LNS), e, 0x0D, 0x0A, 0x2F)
    return _spaces(buf, i, e, table, True)         # \s*[\r\n]+|\s+(?!\S)|\s+


@nb.njit(**_HOT)
def _match_whitespace(buf, i, e, table):
    cp, j = _decode(buf, i, e)
    if cp == 0x20 and j < e:                       # ' ?\S+' with the space
        f2, k = _flags(buf, j, e, table)
        if (f2 & SPACE) == 0:
            return _run_none(buf, k, e, table, SPACE)
    if (table[cp] & SPACE) == 0:
        return _run_none(buf, j, e, table, SPACE)
    return _spaces(buf, i, e, table, False)        # \s+(?!\S)|\s+


@nb.njit(**_HOT)
def _match_superword(buf, i, e, table):
    cp, j = _decode(buf, i, e)
    if table[cp] & NUMBER:                         # \p{N}{1,3}
        return _numbers_1_3(buf, j, e, table)
    return _run_none(buf, j, e, table, NUMBER)     # [^\p{N}]+


@nb.njit(cache=CACHE, inline="always")
def _sentence_end(cp):
    """Is ``cp`` one of the superword-sentences preset's sentence punctuation ``. ! ? ; :`` (and CJK full-width)."""
    return (cp == 0x2E or cp == 0x21 or cp == 0x3F or cp == 0x3B or cp == 0x3A or cp == 0x3002
            or cp == 0xFF01 or cp == 0xFF1F or cp == 0xFF1B or cp == 0xFF1A)


@nb.njit(**_HOT)
def _match_superword_sentences(buf, i, e, table):
    cp, j = _decode(buf, i, e)
    if table[cp] & NUMBER:                         # \p{N}{1,3}
        return _numbers_1_3(buf, j, e, table)
    if cp == 0x0A or cp == 0x0D:                   # [\r\n]+
        return _run_cps(buf, j, e, 0x0A, 0x0D, 0x0A)
    # (?:[^\r\n\p{N}P]|P(?!\s))+P* | P+ : everything up to a newline or a digit, and up to
    # (including) sentence punctuation followed by whitespace; the greedy loop never backtracks
    # because P* after it always matches (here: the one P before the whitespace).
    q = i
    while q < e:
        cp, k = _decode(buf, q, e)
        if (table[cp] & NUMBER) or cp == 0x0A or cp == 0x0D:
            return q
        if _sentence_end(cp) and k < e:
            f2, _ = _flags(buf, k, e, table)
            if f2 & SPACE:
                return k
        q = k
    return q


# ---- driving ----------------------------------------------------------------------------------

@nb.njit(**_HOT)
def _match(buf, i, e, table, preset):
    base = preset & 7
    if base == _CL100K:
        return _match_cl100k(buf, i, e, table, (preset & TAIL) != 0, (preset & DIGIT_RUNS) != 0)
    if base == _O200K:
        return _match_o200k(buf, i, e, table)
    if base == _GPT2:
        return _match_gpt2(buf, i, e, table, (preset & TAIL) != 0)
    if preset == _SUPERWORD:
        return _match_superword(buf, i, e, table)
    if preset == _SUPERWORD_SENTENCES:
        return _match_superword_sentences(buf, i, e, table)
    return _match_whitespace(buf, i, e, table)


@nb.njit(**_HOT)
def _scan_docs(buf, doc_bounds, table, preset, digits, d, i, out, n):
    """Write piece ends from document ``d``, offset ``i`` on; stop when ``out`` is full.

    Returns ``(d, i, n)``: where to go on, and how much of ``out`` is used (``d`` = the number of
    documents when done).  Only stops at a piece end outside a run of digits, so going on from
    ``i`` gives the same pieces as not stopping.
    """
    n_docs = len(doc_bounds) - 1
    cap = len(out)
    while d < n_docs:
        e = doc_bounds[d + 1]
        if digits == 0:
            while i < e:
                if n == cap:
                    return d, i, n
                i = _match(buf, i, e, table, preset)
                out[n] = i
                n += 1
        else:
            while i < e:
                g = i                               # the stretch [i, g) before the next \p{N}
                while g < e:
                    f, k = _flags(buf, g, e, table)
                    if f & NUMBER:
                        break
                    g = k
                while i < g:
                    if n == cap:
                        return d, i, n
                    i = _match(buf, i, g, table, preset)
                    out[n] = i
                    n += 1
                if i == e:
                    break
                q = i                               # the run of \p{N} [i, q) of `count` characters
                count = 0
                while q < e:
                    f, k = _flags(buf, q, e, table)
                    if (f & NUMBER) == 0:
                        break
                    q = k
                    count += 1
                if cap - n < count:
                    return d, i, n
                if digits == 1:                     # single
                    first, size = 1, 1
                elif digits == 2:                   # ltr3: 3s from the left
                    first, size = 3, 3
                else:                               # rtl3: what follows the first piece is 3s
                    first, size = count % 3, 3
                    if first == 0:
                        first = 3
                taken = 0
                while i < q:
                    f, i = _flags(buf, i, e, table)
                    taken += 1
                    if taken == first or i == q:
                        out[n] = i
                        n += 1
                        first += size
        d += 1
        if d < n_docs:
            i = doc_bounds[d]
    return d, i, n


@nb.njit(cache=CACHE, nogil=True)
def scan(buf, doc_bounds, table, preset, digits):
    """Piece boundaries of every document for a preset id and a digit policy id (see the module).

    >>> from tokforge.text.unicode_classes import class_table
    >>> buf = np.frombuffer(b"x=12345", np.uint8)
    >>> scan(buf, np.array([0, 7]), class_table(), PRESET_IDS["gpt2"], DIGIT_IDS["ltr3"])
    array([0, 1, 2, 5, 7])
    """
    if len(doc_bounds) == 0:
        return np.zeros(0, np.int64)
    if len(table) < 0x110000:
        raise ValueError("table must have an entry for every code point")
    if preset < 0 or (preset & 7) > _SUPERWORD or preset >= 32 or digits < 0 or digits > 3:
        raise ValueError("unknown preset or digit policy id")
    if doc_bounds[0] < 0 or doc_bounds[len(doc_bounds) - 1] > len(buf):
        raise ValueError("doc_bounds outside buf")
    for d in range(len(doc_bounds) - 1):
        if doc_bounds[d + 1] < doc_bounds[d]:
            raise ValueError("doc_bounds must be non-decreasing")
    total = doc_bounds[len(doc_bounds) - 1] - doc_bounds[0]
    out = np.empty(total // 4 + 16, np.int64)
    out[0] = doc_bounds[0]
    d, i, n = 0, doc_bounds[0], 1
    while True:
        d, i, n = _scan_docs(buf, doc_bounds, table, preset, digits, d, i, out, n)
        if d == len(doc_bounds) - 1:
            return out[:n].copy()
        bigger = np.empty(2 * len(out), np.int64)
        bigger[:n] = out[:n]
        out = bigger


def _read_only(buf):
    """``buf`` as a read-only C array: the one kind of ``buf`` the scanners are compiled for."""
    if buf.flags.writeable or not buf.flags.c_contiguous:
        buf = np.ascontiguousarray(buf).view()
        buf.flags.writeable = False
    return buf


def scan_gpt2(buf, doc_bounds, table):
    r"""Piece boundaries of the ``gpt2`` preset (no digit split).

    >>> from tokforge.text.unicode_classes import class_table
    >>> text = "I've 12 cats!\n\n"
    >>> b = scan_gpt2(np.frombuffer(text.encode(), np.uint8), np.array([0, len(text)]), class_table())
    >>> [text[i:j] for i, j in zip(b[:-1], b[1:])]
    ['I', "'ve", ' 12', ' cats', '!', '\n\n']
    """
    return scan(_read_only(buf), doc_bounds, table, _GPT2, 0)


def scan_cl100k(buf, doc_bounds, table):
    r"""Piece boundaries of the ``cl100k`` preset (no digit split).

    >>> from tokforge.text.unicode_classes import class_table
    >>> text = "DON'T stop\n\n  now 1234"
    >>> b = scan_cl100k(np.frombuffer(text.encode(), np.uint8), np.array([0, len(text)]), class_table())
    >>> [text[i:j] for i, j in zip(b[:-1], b[1:])]
    ['DON', "'T", ' stop', '\n\n', ' ', ' now', ' ', '123', '4']
    """
    return scan(_read_only(buf), doc_bounds, table, _CL100K, 0)


def scan_o200k(buf, doc_bounds, table):
    r"""Piece boundaries of the ``o200k`` preset (no digit split); offsets are in bytes.

    >>> from tokforge.text.unicode_classes import class_table
    >>> text = "HTTPServer's camelCase élan"
    >>> data = text.encode()
    >>> b = scan_o200k(np.frombuffer(data, np.uint8), np.array([0, len(data)]), class_table())
    >>> [data[i:j].decode() for i, j in zip(b[:-1], b[1:])]
    ["HTTPServer's", ' camel', 'Case', ' élan']
    """
    return scan(_read_only(buf), doc_bounds, table, _O200K, 0)


def scan_whitespace(buf, doc_bounds, table):
    r"""Piece boundaries of the ``whitespace`` preset (no digit split).

    >>> from tokforge.text.unicode_classes import class_table
    >>> text = "a  b\n c"
    >>> b = scan_whitespace(np.frombuffer(text.encode(), np.uint8), np.array([0, len(text)]), class_table())
    >>> [text[i:j] for i, j in zip(b[:-1], b[1:])]
    ['a', ' ', ' b', '\n', ' c']
    """
    return scan(_read_only(buf), doc_bounds, table, _WHITESPACE, 0)


def scan_superword(buf, doc_bounds, table):
    r"""Piece boundaries of the ``superword`` preset (no digit split): SuperBPE's stage-2 pieces.

    >>> from tokforge.text.unicode_classes import class_table
    >>> text = "By the way, it works. Really?!\nYes: 12345 or ٣٤"
    >>> b = scan_superword(np.frombuffer(text.encode(), np.uint8), np.array([0, len(text.encode())]), class_table())
    >>> [text.encode()[i:j].decode() for i, j in zip(b[:-1], b[1:])]
    ['By the way, it works. Really?!\nYes: ', '123', '45', ' or ', '٣٤']
    """
    return scan(_read_only(buf), doc_bounds, table, _SUPERWORD, 0)


def scan_superword_sentences(buf, doc_bounds, table):
    r"""Piece boundaries of the ``superword-sentences`` preset (no digit split).

    >>> from tokforge.text.unicode_classes import class_table
    >>> text = "By the way, it works. Really?!\nYes: 12345"
    >>> b = scan_superword_sentences(np.frombuffer(text.encode(), np.uint8), np.array([0, len(text)]), class_table())
    >>> [text[i:j] for i, j in zip(b[:-1], b[1:])]
    ['By the way, it works.', ' Really?!', '\n', 'Yes:', ' ', '123', '45']
    """
    return scan(_read_only(buf), doc_bounds, table, _SUPERWORD_SENTENCES, 0)


#: The scanner of each preset by name (all take ``(buf, doc_bounds, table)``).  They are Python
#: functions calling the one compiled kernel ``scan`` (each njit wrapper would cost its own ~20 s
#: compilation); numba code calls ``scan`` with ``PRESET_IDS[name]`` instead.
SCANNERS = {"gpt2": scan_gpt2, "cl100k": scan_cl100k, "o200k": scan_o200k, "whitespace": scan_whitespace,
            "superword": scan_superword, "superword-sentences": scan_superword_sentences}
