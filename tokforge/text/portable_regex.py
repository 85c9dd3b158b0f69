r"""Regexes that match with HF's Unicode data, whatever ``regex`` release is installed.

``regex`` follows the newest Unicode version (17.0 in 2026.x, 18.0 in later releases), Hugging
Face's Oniguruma Unicode 16.0 (:mod:`tokforge.text.unicode_data`).  :func:`compile` reads every atom of
a pattern that depends on Unicode data -- a bracket class holding a property or a shorthand, or a
``\p{..}``/``\P{..}``/``\s``/``\S``/``\d``/``\D`` outside a class -- and compares the set of code
points the installed ``regex`` matches with it against the set HF's engine matches.  Where they
differ, the atom is rewritten as ``(?:[added]|(?![removed])atom)``: the same atom, with the few
code points the installed release classifies differently put right.  The rewritten pattern is
slower (a lookahead at each character), so it is used only for texts that hold one of those code
points; every other text is matched by the pattern as written, which gives the same matches there.

    >>> rx = compile(r"\p{L}+")
    >>> rx.findall("abc \U00016EA0 déf")           # U+16EA0 (Unicode 17) is unassigned for HF
    ['abc', 'déf']
    >>> bridge(r"[^\s\p{L}]x", 0).endswith("x")
    True

Quantifiers: ``X{n,m}+`` is possessive for ``regex`` (and tiktoken's engine) but, in Oniguruma's Ruby
syntax, a repeat of a repeat, ``(?:X{n,m})+`` -- so tiktoken's ``\p{N}{1,3}+`` keeps a run of digits
whole in HF. :func:`compile` writes it so (``nested_intervals``); ``?+ *+ ++`` are possessive in both.

Not bridged: case-insensitive matching of non-ASCII letters (``(?i:ǅ)``) follows the installed
``regex``; the presets fold only ASCII letters, whose folds (``ſ``, the Kelvin sign) are stable.
Refused (:class:`PatternError`), because tokforge has no HF data for them: POSIX classes
(``[[:alpha:]]``), properties other than general categories, scripts, White_Space, Any and
Assigned (``\p{Emoji}``), and Oniguruma's nested classes and ``&&`` inside a class (which
``regex`` reads as literal characters).
"""
from __future__ import annotations

import functools

import numpy as np
import regex

from tokforge.text import unicode_data

__all__ = ["compile", "lazy", "bridge", "code_points", "PortableRegex", "PatternError"]

_SHORTHANDS = {"s": unicode_data.white_space_mask, "d": unicode_data.digit_mask}
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v", "a": "\a", "e": "\x1b"}


class PatternError(ValueError):
    """A construct whose meaning depends on Unicode data tokforge does not carry."""


@functools.lru_cache(maxsize=512)
def compile(pattern: str, flags: int = 0) -> "regex.Pattern[str] | PortableRegex":
    """``regex.compile(pattern, flags)`` matching with HF's Unicode data (see the module docstring):
    the plain compiled pattern where the installed ``regex`` agrees with HF on every atom, else a
    :class:`PortableRegex`.

    Raises :class:`PatternError` for the constructs above, ``regex.error`` for an invalid pattern.
    """
    regex.compile(pattern, flags)  # a syntax error is reported on the pattern as written
    pattern = nested_intervals(pattern)
    plain = regex.compile(pattern, flags)
    bridged, differing = _bridge(pattern, flags)
    if not differing.any():
        return plain
    return PortableRegex(plain, regex.compile(bridged, flags), differing)


_INTERVAL = regex.compile(r"\{\d+(?:,\d*)?\}\+")


def nested_intervals(pattern: str) -> str:
    r"""``pattern`` with each ``X{n,m}+`` written ``(?:X{n,m})+``, its meaning in Oniguruma.

    >>> nested_intervals(r"\p{N}{1,3}+|[ab]{2}+x|(?:ab){1,}+")
    '(?:\\p{N}{1,3})+|(?:[ab]{2})+x|(?:(?:ab){1,})+'
    """
    inserts: list[tuple[int, str]] = []
    groups: list[int] = []
    atom, i, n = -1, 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            j = i + 2
            if pattern[i + 1:i + 2] in ("p", "P", "x", "u", "N") and pattern[j:j + 1] == "{":
                j = pattern.find("}", j) + 1 or n  # unterminated: compile says what is wrong
            atom, i = i, j
        elif c == "[":
            j = i + 1 + (pattern[i + 1:i + 2] == "^")
            j += pattern[j:j + 1] == "]"
            depth = 1
            while j < n and depth:
                if pattern[j] == "\\":
                    j += 2
                    continue
                depth += {"[": 1, "]": -1}.get(pattern[j], 0)
                j += 1
            atom, i = i, j
        elif c == "(":
            groups.append(i)
            i += 1
            atom = -1
        elif c == ")":
            atom, i = (groups.pop() if groups else -1), i + 1
        elif c == "{" and atom >= 0 and (m := _INTERVAL.match(pattern, i)):
            inserts += [(atom, "(?:"), (m.end() - 1, ")")]
            atom, i = -1, m.end()
        elif c in "|*+?":
            atom, i = -1, i + 1
        else:
            atom, i = i, i + 1
    for pos, text in sorted(inserts, key=lambda t: t[0], reverse=True):
        pattern = pattern[:pos] + text + pattern[pos:]
    return pattern


class lazy:
    """A pattern compiled by :func:`compile` at its first use (for module-level patterns: importing
    tokforge reads no Unicode data).

    >>> rx = lazy(r"\\p{L}+")
    >>> rx.findall("ab 12 cd")
    ['ab', 'cd']
    """

    def __init__(self, pattern: str, flags: int = 0):
        self.pattern, self.flags = pattern, flags

    def __getattr__(self, name: str):
        return getattr(compile(self.pattern, self.flags), name)


def code_points(atom: str) -> np.ndarray:
    r"""bool[0x110000]: the code points HF's engine matches with one atom, a bracket class or a
    ``\p{..}``/``\s``/``\d`` escape (or their negations).

    >>> [hex(c) for c in np.flatnonzero(code_points(r"[\r\n\d]"))][:4]
    ['0xa', '0xd', '0x30', '0x31']
    """
    atoms = list(_data_atoms(atom)) if not atom.startswith("[") else [(0, *_bracket(atom, 0)[:2])]
    if len(atoms) != 1 or atoms[0][:2] != (0, len(atom)):
        raise PatternError(f"{atom!r} is not one class or property escape")
    return atoms[0][2]


def bridge(pattern: str, flags: int) -> str:
    """``pattern`` with each Unicode-data atom that the installed ``regex`` reads differently from
    HF's engine rewritten to match HF's code points."""
    return _bridge(pattern, flags)[0]


class PortableRegex:
    """A pattern whose atoms the installed ``regex`` reads differently from HF's engine on a few code
    points (``differing``): texts holding none of them use the pattern as written (full speed), the
    others the bridged pattern.  Offers the ``regex.Pattern`` methods tokforge uses."""

    def __init__(self, plain: "regex.Pattern[str]", bridged: "regex.Pattern[str]", differing: np.ndarray):
        self.plain, self.bridged, self.differing = plain, bridged, differing
        self.pattern, self.flags, self.groups = plain.pattern, plain.flags, plain.groups
        self._ascii_safe = not differing[:128].any()

    def _for(self, text: str) -> "regex.Pattern[str]":
        if self._ascii_safe and text.isascii():
            return self.plain
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return self.bridged if self.differing[cps].any() else self.plain

    def search(self, string, *args, **kwargs):
        return self._for(string).search(string, *args, **kwargs)

    def match(self, string, *args, **kwargs):
        return self._for(string).match(string, *args, **kwargs)

    def fullmatch(self, string, *args, **kwargs):
        return self._for(string).fullmatch(string, *args, **kwargs)

    def findall(self, string, *args, **kwargs):
        return self._for(string).findall(string, *args, **kwargs)

    def finditer(self, string, *args, **kwargs):
        return self._for(string).finditer(string, *args, **kwargs)

    def split(self, string, *args, **kwargs):
        return self._for(string).split(string, *args, **kwargs)

    def sub(self, repl, string, *args, **kwargs):
        return self._for(string).sub(repl, string, *args, **kwargs)

    def subn(self, repl, string, *args, **kwargs):
        return self._for(string).subn(repl, string, *args, **kwargs)

    def __repr__(self) -> str:
        return f"PortableRegex({self.pattern!r}, {int(self.differing.sum())} code points bridged)"


def _bridge(pattern: str, flags: int) -> tuple[str, np.ndarray]:
    out: list[str] = []
    pos = 0
    differing = np.zeros(unicode_data.N_CODE_POINTS, dtype=bool)
    for start, end, owned in _data_atoms(pattern):
        atom = pattern[start:end]
        theirs = _regex_mask(atom, flags & ~regex.IGNORECASE)
        owned = owned & ~_SURROGATES   # not characters of any str that reaches a pattern
        if np.array_equal(owned, theirs):
            continue
        added, removed = owned & ~theirs, theirs & ~owned
        differing |= added | removed
        parts = ([_char_class(added)] if added.any() else []) + [
            f"(?!{_char_class(removed)}){atom}" if removed.any() else atom]
        out += [pattern[pos:start], "(?:" + "|".join(parts) + ")"]
        pos = end
    out.append(pattern[pos:])
    return "".join(out), differing


# ---- the code points the installed regex matches ---------------------------------------------------
_SURROGATES = np.zeros(unicode_data.N_CODE_POINTS, dtype=bool)
_SURROGATES[0xD800:0xE000] = True


@functools.lru_cache(maxsize=1)
def _all_code_points() -> str:
    cps = np.arange(unicode_data.N_CODE_POINTS, dtype=np.uint32)
    return cps[(cps < 0xD800) | (cps > 0xDFFF)].tobytes().decode("utf-32-le")


@functools.lru_cache(maxsize=256)
def _regex_mask(atom: str, flags: int) -> np.ndarray:
    found = "".join(regex.compile(atom, flags).findall(_all_code_points()))
    mask = np.zeros(unicode_data.N_CODE_POINTS, dtype=bool)
    mask[np.frombuffer(found.encode("utf-32-le"), dtype=np.uint32)] = True
    return mask


def _char_class(mask: np.ndarray) -> str:
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    spans = zip(np.flatnonzero(d == 1).tolist(), (np.flatnonzero(d == -1) - 1).tolist())
    return "[" + "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in spans) + "]"


# ---- the atoms that depend on Unicode data, with the code points HF's engine matches -------------
def _data_atoms(pattern: str):
    """Yield ``(start, end, mask)`` of each atom that uses Unicode data, in order."""
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            kind = pattern[i + 1]
            if kind in "pP":
                end, mask = _property(pattern, i)
                yield i, end, mask
                i = end
            elif kind.lower() in _SHORTHANDS:
                mask = _SHORTHANDS[kind.lower()]()
                yield i, i + 2, (~mask if kind.isupper() else mask)
                i += 2
            else:
                i += 2
        elif c == "[":
            end, mask, uses_data = _bracket(pattern, i)
            if uses_data:
                yield i, end, mask
            i = end
        else:
            i += 1


def _property(pattern: str, i: int) -> tuple[int, np.ndarray]:
    """``\\p{Name}``, ``\\P{Name}``, ``\\p{^Name}`` or ``\\pL`` at ``i``: (end, mask)."""
    negate = pattern[i + 1] == "P"
    if pattern.startswith("{", i + 2):
        close = pattern.find("}", i + 3)
        if close < 0:
            raise PatternError(f"unterminated property at position {i} of {pattern!r}")
        name, end = pattern[i + 3:close], close + 1
    elif i + 2 < len(pattern):
        name, end = pattern[i + 2], i + 3
    else:
        raise PatternError(f"a property name is missing at the end of {pattern!r}")
    if name.startswith("^"):
        negate, name = not negate, name[1:]
    try:
        mask = unicode_data.property_mask(name)
    except KeyError as e:
        raise PatternError(f"{pattern[i:end]} in {pattern!r}: {e.args[0]}; its code points would depend on "
                           "the installed regex release -- spell the characters out instead") from None
    return end, (~mask if negate else mask)


def _bracket(pattern: str, i: int) -> tuple[int, np.ndarray, bool]:
    """The bracket class at ``i``: (end, mask of the code points HF matches, whether it uses data)."""
    n = len(pattern)
    j = i + 1
    negate = j < n and pattern[j] == "^"
    j += negate
    mask = np.zeros(unicode_data.N_CODE_POINTS, dtype=bool)
    uses_data = False
    first = True
    while True:
        if j >= n:
            raise PatternError(f"unterminated character class at position {i} of {pattern!r}")
        c = pattern[j]
        if c == "]" and not first:
            j += 1
            break
        first = False
        if c == "[":
            if pattern.startswith(("[:", "[="), j):
                raise PatternError(f"POSIX class {pattern[j:pattern.find(']', j) + 1]} in {pattern!r}: its "
                                   r"characters differ between engines; use \p{..} or an explicit class")
            raise PatternError(f"nested class at position {j} of {pattern!r}: Oniguruma reads it as a set "
                               "operation, Python's regex as a literal '['; escape it as \\[")
        if pattern.startswith("&&", j):
            raise PatternError(f"'&&' at position {j} of {pattern!r}: Oniguruma reads it as an intersection, "
                               "Python's regex as literal characters; write the class out")
        if c == "\\" and j + 1 < n and pattern[j + 1] in "pP":
            j, item = _property(pattern, j)
            mask |= item
            uses_data = True
            continue
        if c == "\\" and j + 1 < n and pattern[j + 1].lower() in _SHORTHANDS:
            item = _SHORTHANDS[pattern[j + 1].lower()]()
            mask |= ~item if pattern[j + 1].isupper() else item
            uses_data = True
            j += 2
            continue
        j, low = _class_char(pattern, j)
        high = low
        if j + 1 < n and pattern[j] == "-" and pattern[j + 1] != "]":
            j, high = _class_char(pattern, j + 1)
            if high < low:
                raise PatternError(f"bad range {chr(low)!r}-{chr(high)!r} in {pattern!r}")
        mask[low:high + 1] = True
    if negate:
        mask = ~mask
    return j, mask, uses_data


def _class_char(pattern: str, j: int) -> tuple[int, int]:
    """One literal character of a class at ``j`` (plain or escaped): (end, code point)."""
    c = pattern[j]
    if c != "\\":
        return j + 1, ord(c)
    if j + 1 >= len(pattern):
        raise PatternError(f"a trailing backslash in {pattern!r}")
    e = pattern[j + 1]
    if e in _SIMPLE_ESCAPES:
        return j + 2, ord(_SIMPLE_ESCAPES[e])
    for prefix, width in (("x", 2), ("u", 4), ("U", 8)):
        if e == prefix:
            if prefix == "x" and pattern.startswith("{", j + 2):
                close = pattern.index("}", j + 3)
                return close + 1, int(pattern[j + 3:close], 16)
            digits = pattern[j + 2:j + 2 + width]
            try:
                return j + 2 + width, int(digits, 16)
            except ValueError:
                raise PatternError(f"bad escape \\{e}{digits} in {pattern!r}") from None
    if e.isalnum():
        raise PatternError(f"escape \\{e} inside a class of {pattern!r} is not supported by tokforge "
                           "(its meaning differs between engines or depends on Unicode data)")
    return j + 2, ord(e)
