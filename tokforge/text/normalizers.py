"""Text normalizers with exactly the behaviour of Hugging Face ``tokenizers``' NFC, NFKC and Lowercase.

    >>> Normalizer(["nfkc", "lowercase"]).normalize("Ｈｅｌｌｏ ΟΔΟΣ")
    'hello οδοσ'

A :class:`Normalizer` is a sequence of steps among ``"none"``, ``"nfc"``, ``"nfkc"``,
``"lowercase"`` and ``"collapse_whitespace"``, applied in order, and exports itself as the
``"normalizer"`` value of a ``tokenizer.json``.  Python's :mod:`unicodedata` (Unicode 13.0 to 16.0,
by Python version) and the Rust crates behind ``tokenizers`` do not use the same Unicode versions,
so a plain ``unicodedata.normalize``/``str.lower`` would differ from HF on some characters.  tokforge
reads HF's side from the data it ships (:mod:`tokforge.text.unicode_data`), so the result does not depend
on the Python version:

* **NFC/NFKC** -- ``tokenizers`` normalizes with the ``unicode-normalization-alignments`` crate,
  whose tables are Unicode **9.0**.  For HF, a character assigned later is unknown: never
  decomposed, never reordered, never composed.  :func:`hf_unknown_to_normalization` lists the
  characters that are unknown to HF but have normalization data for the installed Python (a
  decomposition, a non-zero combining class, or a part in a composition: 173 on Python 3.11, e.g.
  U+32FF SQUARE ERA NAME REIWA, U+A7F2 MODIFIER LETTER CAPITAL C, U+09FE BENGALI SANDHI MARK, the
  Dives Akuru vowel U+11938).  Such a character acts as a wall: tokforge normalizes the text
  between these characters piece by piece and keeps them as they are.
* **Lowercase** -- HF maps each character with Rust's ``char::to_lowercase`` (Unicode 17 in
  tokenizers >= 0.22.2), one character at a time, with no final-sigma rule (``"ΟΔΟΣ"`` becomes
  ``"οδοσ"`` for HF, ``"οδος"`` for ``str.lower``).  tokforge maps with HF's table
  (:func:`tokforge.text.unicode_data.lowercase_map`), never with ``str.lower`` beyond ASCII.
* **Surrogates** (U+D800..U+DFFF) cannot occur in a Rust string and are left out of every
  comparison.

The tests compare with ``tokenizers.normalizers`` on all code points one at a time and on
hypothesis strings drawn from every code point except surrogates (weighted towards combining
marks, Hangul, compatibility characters, the wall characters and Greek sigma).
"""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np
import regex

from tokforge.errors import ConfigError, ModelFormatError
from tokforge.text import portable_regex, unicode_data

__all__ = ["Normalizer", "NORMALIZER_NAMES", "hf_unknown_to_normalization"]

#: The valid step names, in the order they are documented.
NORMALIZER_NAMES: tuple[str, ...] = ("none", "nfc", "nfkc", "lowercase", "collapse_whitespace")

#: Unicode's White_Space characters: Rust's ``char::is_whitespace``, which HF's Strip uses.  (Python's
#: ``str.isspace`` and ``\s`` also take U+001C..U+001F, so they are not used.)
WHITE_SPACE: tuple[tuple[int, int], ...] = (
    (0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
    (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
)

def _char_class(ranges: Sequence[tuple[int, int]] | Sequence[int]) -> str:
    parts = []
    for item in ranges:
        a, b = (item, item) if isinstance(item, int) else item
        parts.append(chr(a) if a == b else f"{chr(a)}-{chr(b)}")
    return "[" + "".join(parts) + "]"


_WHITE_SPACE_RUN = _char_class(WHITE_SPACE) + "+"   # the same literal characters for `re` and Oniguruma
_WHITE_SPACE_RUN_RE = re.compile(_WHITE_SPACE_RUN)
_WHITE_SPACE_CHARS = "".join(chr(c) for a, b in WHITE_SPACE for c in range(a, b + 1))


def hf_unknown_to_normalization() -> tuple[int, ...]:
    """The code points that have normalization data for the installed Python but are unassigned in
    the Unicode 9.0 tables of HF's normalizers: HF leaves them alone, and they block reordering and
    composition across them.

    >>> 0x32FF in hf_unknown_to_normalization(), 0x00E9 in hf_unknown_to_normalization()
    (True, False)
    """
    return tuple(np.flatnonzero(_walls()).tolist())


@functools.lru_cache(maxsize=1)
def _walls() -> np.ndarray:
    known_to_hf = unicode_data.assigned_in_9_0()
    walls = np.zeros(unicode_data.N_CODE_POINTS, dtype=bool)
    unknown = ~known_to_hf
    unknown[0xD800:0xE000] = False
    if tuple(map(int, unicodedata.unidata_version.split("."))) <= (16, 0):
        unknown &= unicode_data.property_mask("Assigned")   # what Python knows, HF's regex engine knows
    for c in np.flatnonzero(unknown).tolist():
        ch = chr(c)
        if unicodedata.category(ch) == "Cn":
            continue
        decomposition = unicodedata.decomposition(ch)
        if decomposition or unicodedata.combining(ch):
            walls[c] = True
        if decomposition and not decomposition.startswith("<"):   # a canonical composite: its parts compose
            for part in decomposition.split():
                walls[int(part, 16)] = True
    walls &= ~known_to_hf
    walls.flags.writeable = False
    return walls


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _hf_unicode_normalize(form: str, text: str) -> str:
    if text.isascii():
        return text
    at = np.flatnonzero(_walls()[_code_points(text)]).tolist()
    if not at:
        return unicodedata.normalize(form, text)
    parts, pos = [], 0
    for i in at:   # the text between walls is normalized, each wall kept as it is
        parts += [unicodedata.normalize(form, text[pos:i]), text[i]]
        pos = i + 1
    parts.append(unicodedata.normalize(form, text[pos:]))
    return "".join(parts)


@functools.lru_cache(maxsize=1)
def _lowercase_tables() -> tuple[np.ndarray, dict[str, str]]:
    """(code point -> its lowercase where that is one character, {character: longer lowercase})."""
    table = np.arange(unicode_data.N_CODE_POINTS, dtype=np.uint32)
    longer = {}
    for c, low in unicode_data.lowercase_map().items():
        if len(low) == 1:
            table[c] = ord(low)
        else:
            longer[chr(c)] = low
    table.flags.writeable = False
    return table, longer


def _hf_lowercase(text: str) -> str:
    if text.isascii():
        return text.lower()
    table, longer = _lowercase_tables()
    for c, low in longer.items():   # İ -> i + U+0307
        if c in text:
            text = text.replace(c, low)
    return table[_code_points(text)].tobytes().decode("utf-32-le", "surrogatepass")


def _collapse_whitespace(text: str) -> str:
    """Each run of White_Space characters becomes one space, and none is left at either end (as
    sentencepiece's default ``remove_extra_whitespaces``, which also sees tabs and newlines as spaces)."""
    return _WHITE_SPACE_RUN_RE.sub(" ", text).strip(_WHITE_SPACE_CHARS)


def _drops_start(s: str) -> bool:
    return s[:1] != "" and s[:1] in _WHITE_SPACE_CHARS


_STEPS = {
    "nfc": lambda s: _hf_unicode_normalize("NFC", s),
    "nfkc": lambda s: _hf_unicode_normalize("NFKC", s),
    "lowercase": _hf_lowercase,
    "collapse_whitespace": _collapse_whitespace,
}

#: Each step as HF normalizers (a list: collapse_whitespace is a Replace and then a Strip).
_HF_STEPS: dict[str, list[dict[str, Any]]] = {
    "nfc": [{"type": "NFC"}],
    "nfkc": [{"type": "NFKC"}],
    "lowercase": [{"type": "Lowercase"}],
    "collapse_whitespace": [{"type": "Replace", "pattern": {"Regex": _WHITE_SPACE_RUN}, "content": " "},
                            {"type": "Strip", "strip_left": True, "strip_right": True}],
}


HF_STEP = "hf:"  # a step given as a tokenizer.json normalizer (Prepend, Replace, Strip): "hf:" + its JSON


def _never(s: str) -> bool:
    return False


def _hf_step(spec: dict[str, Any]):
    """(function, drops_start) of a tokenizer.json Prepend, Replace (of a string, or of a regex's matches)
    or Strip normalizer, as ``tokenizers`` applies it; ModelFormatError naming anything else.
    ``drops_start(s)``: whether the step deletes the first character of ``s`` (HF then aligns the result
    after the original start: a Metaspace ``prepend_scheme="first"`` no longer prepends)."""
    kind = spec.get("type")
    if kind == "Prepend" and isinstance(spec.get("prepend"), str):
        prefix = spec["prepend"]
        return (lambda s: prefix + s if s else s), _never
    if kind == "Strip":
        left, right = bool(spec.get("strip_left")), bool(spec.get("strip_right"))

        def strip(s: str) -> str:
            s = s.lstrip(_WHITE_SPACE_CHARS) if left else s
            return s.rstrip(_WHITE_SPACE_CHARS) if right else s
        return strip, (lambda s: left and _drops_start(s))
    pattern, content = spec.get("pattern"), spec.get("content")
    if kind == "Replace" and isinstance(pattern, dict) and isinstance(content, str) and len(pattern) == 1:
        if isinstance(pattern.get("String"), str) and pattern["String"]:
            old = pattern["String"]
            return (lambda s: s.replace(old, content)), (lambda s: not content and s.startswith(old))
        if isinstance(pattern.get("Regex"), str):
            try:  # Oniguruma's ^ $ are line anchors and its case folding full, as for the split regexes
                rx = portable_regex.compile(pattern["Regex"], regex.MULTILINE | regex.FULLCASE)
            except (regex.error, portable_regex.PatternError) as e:
                raise ModelFormatError(f"tokenizer.json Replace normalizer regex {pattern['Regex']!r}: {e}") from None
            if rx.search("") is not None:
                raise ModelFormatError(f"tokenizer.json Replace normalizer regex {pattern['Regex']!r} matches the "
                                       "empty string, which tokforge does not reproduce")
            return (lambda s: rx.sub(lambda m: content, s)), \
                (lambda s: not content and (m := rx.match(s)) is not None and m.end() > 0)
    shown = json.dumps(spec, ensure_ascii=False)[:200]
    raise ModelFormatError(f"tokenizer.json normalizer {kind!r} ({shown}) is not supported by tokforge; supported: "
                           "NFC, NFKC, Lowercase, Prepend, Replace (of a string or a regex), Strip and Sequence of "
                           "them" + (" (a Precompiled character map is sentencepiece's normalization, which tokforge "
                                     "does not reproduce)" if kind == "Precompiled" else ""))


class Normalizer:
    """A sequence of normalization steps among "none", "nfc", "nfkc", "lowercase", "collapse_whitespace",
    applied in order.  Only "none" keeps every text as it is: the others are lossy (decode gives the
    normalized text), "collapse_whitespace" the most (newlines, tabs and indentation are gone).

    >>> Normalizer("nfkc").normalize("ﬁ½")
    'fi1⁄2'
    >>> Normalizer(["nfkc", "lowercase"]).names
    ('nfkc', 'lowercase')
    >>> Normalizer("none").names
    ('none',)
    """

    def __init__(self, names: str | Sequence[str] = "none") -> None:
        items = [names] if isinstance(names, str) else list(names)
        steps: list[str] = []
        for item in items:
            if not isinstance(item, str):
                raise ConfigError(f"normalizer {item!r} is not a name; choose among {', '.join(NORMALIZER_NAMES)}")
            if item.startswith(HF_STEP):
                try:
                    spec = json.loads(item[len(HF_STEP):])
                except json.JSONDecodeError as e:
                    raise ConfigError(f"normalizer step {item!r} is not valid JSON after {HF_STEP!r}: {e}") from None
                if not isinstance(spec, dict):
                    raise ConfigError(f"normalizer step {item!r}: a tokenizer.json normalizer object after {HF_STEP!r}")
                steps.append(item)
                continue
            name = item.strip().lower()
            if name not in NORMALIZER_NAMES:
                raise ConfigError(f"normalizer {item!r} is unknown; choose among {', '.join(NORMALIZER_NAMES)} "
                                  "(several may be given, applied in order, e.g. ['nfkc', 'lowercase'])")
            if name != "none":
                steps.append(name)
        self._steps: tuple[str, ...] = tuple(steps)
        pairs = [_hf_step(json.loads(s[len(HF_STEP):])) if s.startswith(HF_STEP) else
                 (_STEPS[s], _drops_start if s == "collapse_whitespace" else _never) for s in steps]
        self._funcs = tuple(f for f, _ in pairs)
        self._drops = tuple(d for _, d in pairs)

    @property
    def names(self) -> tuple[str, ...]:
        """The steps in order, ``("none",)`` when there is none.

        >>> Normalizer(["none", "nfc"]).names
        ('nfc',)
        """
        return self._steps or ("none",)

    def normalize(self, text: str) -> str:
        """Apply the steps in order, exactly as HF's normalizer from :meth:`to_hf` would.

        >>> Normalizer("lowercase").normalize("ΟΔΟΣ İ")
        'οδοσ i̇'
        >>> Normalizer("collapse_whitespace").normalize("  def f():\\n\\t return  1\\n")
        'def f(): return 1'
        """
        for f in self._funcs:
            text = f(text)
        return text

    def normalize_from_start(self, text: str) -> tuple[str, bool]:
        """``normalize(text)``, and whether the result still starts where ``text`` did (no step deleted
        its first characters; what HF's Metaspace ``prepend_scheme="first"`` asks)."""
        at_start = True
        for f, drops in zip(self._funcs, self._drops):
            at_start = at_start and not drops(text)
            text = f(text)
        return text, at_start

    def to_hf(self) -> dict[str, Any] | None:
        """The ``"normalizer"`` value of a tokenizer.json (None when there is nothing to do).

        >>> Normalizer("nfc").to_hf()
        {'type': 'NFC'}
        >>> Normalizer(["nfkc", "lowercase"]).to_hf()
        {'type': 'Sequence', 'normalizers': [{'type': 'NFKC'}, {'type': 'Lowercase'}]}
        >>> Normalizer().to_hf() is None
        True
        """
        parts = [part for s in self._steps
                 for part in ([json.loads(s[len(HF_STEP):])] if s.startswith(HF_STEP) else _HF_STEPS[s])]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        return {"type": "Sequence", "normalizers": parts}

    @classmethod
    def from_hf(cls, obj: dict[str, Any] | None) -> "Normalizer":
        """Read the ``"normalizer"`` value of a tokenizer.json; ModelFormatError if unsupported.

        >>> Normalizer.from_hf({"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Lowercase"}]}).names
        ('nfc', 'lowercase')
        >>> Normalizer.from_hf(None).names
        ('none',)
        """
        parts: list[dict[str, Any]] = []

        def walk(o: Any) -> None:
            if o is None:
                return
            if not isinstance(o, dict):
                raise ModelFormatError(f"tokenizer.json normalizer must be an object or null, got {o!r}")
            kind = o.get("type")
            if kind == "Sequence":
                subs = o.get("normalizers")
                if not isinstance(subs, list):
                    raise ModelFormatError("tokenizer.json normalizer Sequence has no 'normalizers' list")
                for sub in subs:
                    walk(sub)
            else:
                parts.append(o)

        walk(obj)
        steps: list[str] = []
        while parts:
            name = next((n for n, hf in _HF_STEPS.items() if parts[:len(hf)] == hf), None)
            if name is None:
                _hf_step(parts[0])  # ModelFormatError naming what is not supported
                steps.append(HF_STEP + json.dumps(parts[0], ensure_ascii=False, sort_keys=True))
                del parts[0]
                continue
            steps.append(name)
            del parts[:len(_HF_STEPS[name])]
        return cls(steps)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Normalizer):
            return NotImplemented
        return self._steps == other._steps

    def __hash__(self) -> int:
        return hash(("Normalizer", self._steps))

    def __repr__(self) -> str:
        return f"Normalizer({list(self.names)!r})"

    def __reduce__(self):  # picklable for multiprocessing (the step functions are module lambdas)
        return (Normalizer, (list(self.names),))
