r"""Pretokenizers: split text into pieces exactly as Hugging Face ``tokenizers`` does.

    >>> Pretokenizer("cl100k").split("Hello world, it's 2024!")
    ['Hello', ' world', ',', ' it', "'s", ' ', '202', '4', '!']
    >>> Pretokenizer("cl100k", digits="rtl3").split("1234567")
    ['1', '234', '567']

A :class:`Pretokenizer` is a split regex (a preset of :data:`PRESETS` or your own) and a digit
policy (:data:`DIGIT_POLICIES`).  It exports itself as the ``"pre_tokenizer"`` value of a
tokenizer.json::

    Sequence[ Split(digit regex, Isolated)      # only when digits != "none"
              Split(main regex, Isolated)
              ByteLevel(add_prefix_space=false, use_regex=false) ]

and :meth:`Pretokenizer.split` returns the same pieces as HF's pre-tokenizer built from that JSON
(HF gives them as byte-level strings; :func:`tokforge.text.bytelevel.visible_to_bytes` maps them back).
"Isolated" means: every match and every unmatched stretch between matches is a piece, in order,
empty pieces dropped, so ``"".join(pieces) == text`` always.  The digit split runs first, then the
main regex runs on each of its pieces separately (a lookahead never sees past a piece).

Engines.  HF matches with Oniguruma 6.9.10 (Unicode 16.0), tokforge with the ``regex`` module,
whose Unicode version follows its release (17.0 in ``regex`` 2026.5, 18.0 later).  So that the
installed release never changes a split, tokforge ships the Unicode data of HF's engine
(:mod:`tokforge.text.unicode_data`) and compiles every pattern with :func:`tokforge.text.portable_regex.compile`,
which corrects the few code points the installed ``regex`` classifies differently; the scanners read
the same data (:mod:`tokforge.text.unicode_classes`).  Every other difference between the engines found
-- exhaustive checks of each class and construct on all 1,112,064 non-surrogate code points, and
hypothesis runs of every preset x digit policy against HF -- and how it is bridged:

* Both ``\s`` are Unicode White_Space: ``\t \n \v \f \r``, space, U+0085, U+00A0, U+1680,
  U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 -- *not* U+001C..U+001F (``str.isspace``
  accepts those) nor U+200B/U+FEFF -- so the presets need no explicit whitespace class.
* U+0295 ``ʕ`` LATIN LETTER PHARYNGEAL VOICED FRICATIVE (IPA, and the bear face ``ʕ•ᴥ•ʔ``) is
  ``Ll`` for Oniguruma and ``Lo`` since Unicode 17; tiktoken's o200k (compiled with Unicode 17 data)
  treats it as an upper-case letter.  The o200k preset adds ``\u0295`` to its two upper-case classes,
  so ``ʕ`` is in both classes and the preset splits it as tiktoken does.
* Case-insensitive groups: Oniguruma applies multi-character case folding (``(?i:ss)`` matches
  ``ß``/``ẞ``, ``(?i:st)`` matches ``ﬅ``/``ﬆ``); tokforge compiles with ``regex.FULLCASE``, which
  does the same.  ``'ſ`` and ``'K`` (Kelvin sign) match ``'(?i:s)``/``'(?i:k)`` in both engines.
  One leftover: Oniguruma's ``(?i:i̇)`` (i + U+0307) matches ``İ``, ``regex``'s does not.  Case
  folding of non-ASCII letters follows the installed ``regex`` (not bridged; the presets fold ASCII
  letters only).
* ``^`` and ``$`` are line anchors in Oniguruma: tokforge compiles with ``regex.MULTILINE``.
* Empty matches: HF walks matches with rust-onig's ``find_iter``, which drops an empty match that
  follows a non-empty one and then resumes one character further; Python's ``finditer`` keeps it
  and resumes at the same place.  The presets and digit policies never match empty.  For a custom
  pattern, tokforge uses ``finditer`` and, if that yields any empty match, redoes the text with an
  exact emulation of rust-onig's walk.
* Refused in custom patterns (ConfigError saying what to write instead), because they match
  different characters: ``\w \W \b \B`` (Oniguruma's word characters include ``²³¹¼½¾`` and exclude
  ZWJ/ZWNJ, ``regex``'s the opposite), ``\h \H`` (hex digit in Oniguruma, horizontal space in
  ``regex``), ``\Z`` (Oniguruma also matches before a final newline), POSIX classes such as
  ``[[:alpha:]]``, nested classes and ``&&`` (set operations in Oniguruma, literal text in ``regex``),
  and properties other than general categories, scripts, White_Space, Any and Assigned.

Parity is asserted by tests for the presets, the digit policies and a set of custom patterns.

Scanners.  For the presets (with any digit policy) :meth:`Pretokenizer.scan_bytes` splits UTF-8
bytes with numba scanners (:mod:`tokforge.kernels.pretokenize`) that reproduce :meth:`split`
exactly -- same Unicode data, :mod:`tokforge.text.unicode_classes` -- about 14x faster than ``regex``.
So do the other spellings of the presets in circulation (:data:`tokforge.text.presets.SPELLINGS`: Llama 3's,
tiktoken's possessive ones with ``\s++$``), through the scanners' variants.
"""
from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import regex

from tokforge.errors import ConfigError, ModelFormatError
from tokforge.kernels import pretokenize as kernels
from tokforge.text import portable_regex
from tokforge.text.layout import (BYTELEVEL, METASPACE_HF, METASPACE_MARK, METASPACE_PATTERN, METASPACE_REGEX, Layout,
                                  layout_of, metaspace_bounds)
from tokforge.text.presets import DIGIT_PATTERNS, DIGIT_POLICIES, PRESET_ALIASES, PRESETS
from tokforge.text.unicode_classes import class_table

__all__ = ["PRESETS", "check_split_pattern", "DIGIT_POLICIES", "DIGIT_PATTERNS", "Pretokenizer"]

# Escapes whose meaning differs between Oniguruma and ``regex``, with what to write instead.
_REFUSED_ESCAPES = {
    "w": r"\w (word characters differ: Oniguruma includes ²½, regex includes ZWJ); "
         r"spell the class out, e.g. [\p{L}\p{M}\p{Nd}_]",
    "W": r"\W (see \w); spell the class out, e.g. [^\p{L}\p{M}\p{Nd}_]",
    "b": r"\b (depends on \w, which differs); use lookarounds with an explicit class",
    "B": r"\B (depends on \w, which differs); use lookarounds with an explicit class",
    "h": r"\h (hex digit in Oniguruma, horizontal space in regex); use [0-9a-fA-F] or [\t\p{Zs}]",
    "H": r"\H (see \h); use an explicit class",
    "Z": r"\Z (Oniguruma also matches before a final newline); use \z or (?=\n?\z)",
}
_REFUSED_POSIX = {
    "word": r"[[:word:]] (word characters differ, see \w); spell the class out",
    "alnum": r"[[:alnum:]] (non-ASCII digits differ); use [\p{L}\p{M}\p{Nd}] or [a-zA-Z0-9]",
    "digit": r"[[:digit:]] (non-ASCII digits differ); use \p{Nd} or [0-9]",
    "punct": r"[[:punct:]] (symbols differ); use \p{P} or an explicit class",
}  # every other POSIX class is refused by tokforge.text.portable_regex


def _check_portable(pattern: str) -> None:
    for name, reason in _REFUSED_POSIX.items():
        if f"[:{name}:]" in pattern or f"[:^{name}:]" in pattern:
            raise ConfigError(f"split regex {pattern!r} uses {reason}: it would split differently in "
                              "Hugging Face tokenizers than in tokforge")
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] == "\\" and i + 1 < n:
            reason = _REFUSED_ESCAPES.get(pattern[i + 1])
            if reason is not None:
                raise ConfigError(
                    f"split regex {pattern!r} uses {reason}: it would split differently in Hugging Face "
                    "tokenizers than in tokforge")
            i += 2
        else:
            i += 1


_REGEX_SYNTAX = set("\\.^$*+?{}[]|()")


def check_split_pattern(pattern: str, option: str = "pattern", names: tuple[str, ...] = tuple(PRESETS)) -> None:
    """ConfigError when a split pattern given for training is not one of ``names`` but looks like
    one (``cl100``, ``GPT-2``, ``o200k_base``), or has no regex syntax at all: either would be taken
    as a regex that matches only that literal text, so the text would hardly be split.

    >>> check_split_pattern("cl100")
    Traceback (most recent call last):
    ...
    tokforge.errors.ConfigError: pattern 'cl100' is not a preset: did you mean 'cl100k'? ...
    >>> check_split_pattern(r" ?\\p{L}+|\\s+")  # a regex: accepted
    """
    if not isinstance(pattern, str) or pattern in names:
        return
    plain = regex.sub(r"[\s_\-.]", "", pattern.lower()).removesuffix("base")
    meant = PRESET_ALIASES.get(plain, plain)
    close = [n for n in names if n == meant] or difflib.get_close_matches(meant, names, n=1, cutoff=0.6)
    choices = ", ".join(names)
    if close and not (_REGEX_SYNTAX & set(pattern)) or meant in names:
        raise ConfigError(f"{option} {pattern!r} is not a preset: did you mean {close[0]!r}? "
                          f"(presets: {choices}; anything else is taken as a regex)")
    if not _REGEX_SYNTAX & set(pattern):
        literal = regex.escape(pattern)
        raise ConfigError(f"{option} {pattern!r} is neither a preset ({choices}) nor a regex: it has no regex "
                          f"syntax, so it would match only the literal text {pattern!r} and hardly split the "
                          f"text. Give a preset or a regex (to split at that literal text on purpose, "
                          f"write '(?:{literal})')")


#: The flags of every split regex: Oniguruma's ``^``/``$`` are line anchors, and its case folding is full.
FLAGS = regex.MULTILINE | regex.FULLCASE


def _compile(pattern: str) -> "regex.Pattern[str] | portable_regex.PortableRegex":
    try:
        return portable_regex.compile(pattern, FLAGS)
    except regex.error as e:
        raise ConfigError(f"split regex {pattern!r} is not a valid regular expression: {e}") from None
    except portable_regex.PatternError as e:
        raise ConfigError(f"split regex {pattern!r}: {e}") from None


def _onig_spans(rx: "regex.Pattern[str]", text: str) -> list[tuple[int, int]]:
    """Match spans in the order and with the empty-match rule of rust-onig's ``find_iter``."""
    spans: list[tuple[int, int]] = []
    last_end, last_match, n = 0, -1, len(text)
    search = rx.search
    while last_end <= n:
        m = search(text, last_end)
        if m is None:
            break
        s, e = m.span()
        last_end = e
        if s == e:
            last_end += 1
            if e == last_match:  # an empty match right where the previous match ended is skipped
                continue
        last_match = e
        spans.append((s, e))
    return spans


def _isolated(rx: "regex.Pattern[str]", text: str, out: list[str]) -> None:
    """Append to ``out`` the matches of ``rx`` in ``text`` and the gaps between them (non-empty)."""
    spans = [m.span() for m in rx.finditer(text)]
    if any(s == e for s, e in spans):
        spans = _onig_spans(rx, text)
    pos = 0
    for s, e in spans:
        if s > pos:
            out.append(text[pos:s])
        if e > s:
            out.append(text[s:e])
        pos = e
    if pos < len(text):
        out.append(text[pos:])


def _split_spec(pattern: str) -> dict[str, Any]:
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}


def _split_regex(step: dict[str, Any]) -> str:
    """The regex of a tokenizer.json ``Split`` step as :func:`_split_spec` writes it; ModelFormatError else."""
    kind = step.get("type")
    if kind != "Split":
        raise ModelFormatError(f"tokenizer.json pre_tokenizer step {kind!r} is not supported by tokforge; supported: "
                               "Split (Regex, Isolated) steps then ByteLevel, or a digit Split then Metaspace")
    pat = step.get("pattern")
    if not (isinstance(pat, dict) and set(pat) == {"Regex"} and isinstance(pat["Regex"], str)):
        raise ModelFormatError(f"tokenizer.json Split pattern {pat!r} is not supported; tokforge needs "
                               "{'Regex': ...}")
    if step.get("behavior") != "Isolated" or step.get("invert", False):
        raise ModelFormatError(
            f"tokenizer.json Split behavior {step.get('behavior')!r} (invert={step.get('invert', False)}) "
            "is not supported; tokforge needs behavior 'Isolated' and invert false")
    return pat["Regex"]


def _digit_policy(regexes: list[str]) -> str:
    """The digit policy of a pre-tokenizer's split regexes (the main split last); ModelFormatError
    for more than a digit split and a main split, or a first split that is no digit policy."""
    if len(regexes) > 2:
        raise ModelFormatError(f"tokenizer.json pre_tokenizer has {len(regexes)} regex splits; tokforge "
                               "supports a digit split and one main split")
    if len(regexes) < 2:
        return "none"
    by_regex = {p: name for name, p in DIGIT_PATTERNS.items()}
    if regexes[0] not in by_regex:
        raise ModelFormatError(f"tokenizer.json pre_tokenizer first Split regex {regexes[0]!r} is not one "
                               f"of tokforge's digit policies ({DIGIT_PATTERNS})")
    return by_regex[regexes[0]]


class Pretokenizer:
    r"""Split text with a digit policy then a split regex, exactly like HF's ``Split(..., "isolated")``.

    ``pattern`` is a preset name (:data:`PRESETS`) or a regex; ``digits`` one of
    :data:`DIGIT_POLICIES`.

    >>> Pretokenizer("gpt2").split("I've 12345 cats")
    ['I', "'ve", ' 12345', ' cats']
    >>> Pretokenizer("gpt2", digits="ltr3").split("I've 12345 cats")
    ['I', "'ve", ' ', '123', '45', ' cats']
    >>> Pretokenizer(r"\p{L}+").split("ab, cd")
    ['ab', ', ', 'cd']
    >>> Pretokenizer("metaspace").split("a  b\\nc \u2581d")
    ['a', ' ', ' b\\nc', ' ', ' d']
    """

    def __init__(self, pattern: str = "cl100k", digits: str = "none", *, prefix_space: bool = False) -> None:
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError(f"pattern must be a preset ({', '.join(PRESETS)}), {METASPACE_PATTERN!r} or a non-empty "
                              f"regex, got {pattern!r}")
        if digits not in DIGIT_POLICIES:
            raise ConfigError(f"digits {digits!r} is unknown; choose one of {', '.join(DIGIT_POLICIES)}")
        self._layout = layout_of(pattern)
        self._metaspace = pattern == METASPACE_PATTERN
        if prefix_space and (PRESETS.get(pattern, pattern) != PRESETS["gpt2"] or digits != "none"):
            raise ConfigError("prefix_space (HF ByteLevel's add_prefix_space) goes with the gpt2 split and no "
                              "digit policy")
        self._prefix_space = bool(prefix_space)  # a space in front of each text that does not start with one
        self._pattern = pattern
        self._saved_as = pattern  # the name a model file gives the split (``from_config``)
        self._regex = METASPACE_REGEX if self._metaspace else PRESETS.get(pattern, pattern)
        self._digits = digits
        # A preset's regex given verbatim gets the preset's fast path too.
        self._preset = self._metaspace or self._regex in PRESETS.values()
        if not self._preset:
            _check_portable(pattern)
        # a preset's regex is compiled at its first use: counting with a scanner never needs it
        self._main = portable_regex.lazy(self._regex, FLAGS) if self._preset else _compile(self._regex)
        self._digit_rx = _compile(DIGIT_PATTERNS[digits]) if digits != "none" else None
        # A capturing group around the digit regex makes .split() return gap, digits, gap, ...
        self._digit_split = _compile("(" + DIGIT_PATTERNS[digits] + ")").split if digits != "none" else None

    # ---- properties ----------------------------------------------------------------------
    @property
    def pattern(self) -> str:
        """The preset name, or the custom regex, as given.

        >>> Pretokenizer("o200k").pattern
        'o200k'
        """
        return self._pattern

    @property
    def regex(self) -> str:
        r"""The main split regex (the preset's regex for a preset).

        >>> Pretokenizer("whitespace").regex
        ' ?\\S+|\\s+(?!\\S)|\\s+'
        """
        return self._regex

    @property
    def metaspace(self) -> bool:
        """Whether this is the sentencepiece-style ``"metaspace"`` pretokenizer (no byte-level mapping).

        >>> Pretokenizer("metaspace").metaspace, Pretokenizer("whitespace").metaspace
        (True, False)
        """
        return self._metaspace

    @property
    def layout(self) -> Layout:
        """The layout of the tokens after this pretokenizer (``tokforge.text.layout``).

        >>> Pretokenizer("metaspace").layout.name, Pretokenizer("whitespace").layout.name
        ('metaspace', 'byte-level')
        """
        return self._layout

    @property
    def digits(self) -> str:
        """The digit policy.

        >>> Pretokenizer(digits="single").digits
        'single'
        """
        return self._digits

    # ---- splitting -----------------------------------------------------------------------
    @property
    def _main_findall(self):
        return self._main.findall

    @property
    def prefix_space(self) -> bool:
        """Whether a space is put in front of each text that does not start with one (HF ByteLevel's
        ``add_prefix_space``, e.g. RoBERTa's).

        >>> Pretokenizer("gpt2", prefix_space=True).split("Hi there")
        [' Hi', ' there']
        """
        return self._prefix_space

    def split(self, text: str, first: bool = True) -> list[str]:
        """The pieces of ``text``, in order; ``"".join(pieces) == text`` (with ``prefix_space``: the
        text with its space). ``first``: whether the text starts the whole text (not after a special
        token); only a sentencepiece-style split with the prefix "first" asks.

        >>> Pretokenizer("cl100k", digits="single").split(" x=42;")
        [' x', '=', '4', '2', ';']
        """
        if not text:
            return []
        if self._prefix_space and not text.startswith(" "):
            text = " " + text
        if self._metaspace:
            return [p.replace(METASPACE_MARK, " ") for p in self._split_preset(text)]
        return self._split_preset(text) if self._preset else self._split_custom(text)

    def _split_preset(self, s: str) -> list[str]:
        # Presets match every character and never match empty, so findall gives all the pieces;
        # a digit piece (1-3 \p{N}, or a single one) is always one whole match of every preset.
        if self._digit_split is None:
            return self._main_findall(s)
        out: list[str] = []
        main = self._main_findall
        for i, part in enumerate(self._digit_split(s)):
            if part:
                if i % 2:
                    out.append(part)
                else:
                    out.extend(main(part))
        return out

    def scan_bytes(self, buf: bytes, doc_bounds: np.ndarray) -> np.ndarray | None:
        """Piece boundaries of documents given as UTF-8 bytes, from a numba scanner; None if none fits.

        ``buf`` holds the documents back to back, document ``d`` is
        ``buf[doc_bounds[d]:doc_bounds[d+1]]`` and is split on its own.  The result (int64) is
        ``doc_bounds[0]`` then the end of every piece, in order: strictly increasing and including
        every document end; its pieces are exactly :meth:`split` of each document, encoded.  None
        when no scanner reproduces this pretokenizer (a custom regex, or a preset whose regex
        changed since the scanners were written): use :meth:`split` then.  ``buf`` must be valid
        UTF-8 with every bound on a character boundary (otherwise the pieces are unspecified).

        >>> import numpy as np
        >>> text = "It's 2024!\\nok".encode()
        >>> b = Pretokenizer("cl100k", digits="single").scan_bytes(text, np.array([0, 11, 13]))
        >>> [text[i:j] for i, j in zip(b[:-1], b[1:])]
        [b'It', b"'s", b' ', b'2', b'0', b'2', b'4', b'!\\n', b'ok']
        >>> Pretokenizer(r"\\p{L}+").scan_bytes(text, np.array([0, 13])) is None
        True
        """
        if self._metaspace and self._digits == "none":
            return metaspace_bounds(buf, doc_bounds)
        if self._prefix_space:
            return None
        scanner = self._scanner_id()
        if scanner is None:
            return None
        arr = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
        if arr.dtype != np.uint8 or arr.ndim != 1:
            raise TypeError(f"buf must be bytes or a 1-d uint8 array, got {arr.dtype} with shape {arr.shape}")
        if arr.flags.writeable or not arr.flags.c_contiguous:  # one compiled signature: read-only C array
            arr = np.ascontiguousarray(arr).view()
            arr.flags.writeable = False
        bounds = np.ascontiguousarray(doc_bounds, dtype=np.int64)
        if bounds.ndim != 1:
            raise ValueError(f"doc_bounds must be 1-d, got shape {bounds.shape}")
        return kernels.scan(arr, bounds, class_table(), scanner, kernels.DIGIT_IDS[self._digits])

    @property
    def has_scanner(self) -> bool:
        """Whether :meth:`scan_bytes` has a numba scanner for this pretokenizer (presets do).

        >>> Pretokenizer("o200k", "rtl3").has_scanner, Pretokenizer(r"\\S+").has_scanner
        (True, False)
        """
        if self._metaspace:  # with a digit policy: the digit split before it, split() only
            return self._digits == "none"
        return not self._prefix_space and self._scanner_id() is not None

    def _scanner_id(self) -> int | None:
        """The id of the numba scanner of this split: a preset's, or a preset's variant for another
        spelling of it (``tokforge.text.presets.SPELLINGS``); None when none reproduces it."""
        if self._digits != "none" and kernels.DIGIT_REGEXES.get(self._digits) != DIGIT_PATTERNS[self._digits]:
            return None
        name = next((n for n, p in kernels.REGEXES.items() if p == self._regex and PRESETS.get(n) == p), None)
        return kernels.PRESET_IDS[name] if name is not None else kernels.SPELLING_IDS.get(self._regex)

    def _split_custom(self, s: str) -> list[str]:
        if self._digit_rx is None:
            out: list[str] = []
            _isolated(self._main, s, out)
            return out
        first: list[str] = []
        _isolated(self._digit_rx, s, first)
        out = []
        for part in first:
            _isolated(self._main, part, out)
        return out

    # ---- tokenizer.json ------------------------------------------------------------------
    def to_hf(self) -> dict[str, Any]:
        """The ``"pre_tokenizer"`` value of a tokenizer.json.

        >>> [p["type"] for p in Pretokenizer("gpt2", digits="rtl3").to_hf()["pretokenizers"]]
        ['Split', 'Split', 'ByteLevel']
        """
        if self._prefix_space:  # HF's ByteLevel does both: it adds the space and splits with GPT-2's regex
            return {**BYTELEVEL, "add_prefix_space": True, "use_regex": True}
        digits = [_split_spec(DIGIT_PATTERNS[self._digits])] if self._digits != "none" else []
        return self._layout.hf_pre_tokenizer(digits, _split_spec(self._regex))

    @classmethod
    def from_hf(cls, obj: dict[str, Any] | None) -> "Pretokenizer":
        """Read the ``"pre_tokenizer"`` value of a tokenizer.json; ModelFormatError if unsupported.

        Accepted: what :meth:`to_hf` writes, a ``ByteLevel`` with ``use_regex`` true (GPT-2's split)
        and Sequences of ``Split`` (Regex, Isolated, not inverted) steps ending with a ``ByteLevel``
        that does not add a prefix space; ``Metaspace``, alone or after a digit ``Split``.

        >>> Pretokenizer.from_hf({"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
        ...                       "use_regex": True}).pattern
        'gpt2'
        """
        if not isinstance(obj, dict):
            raise ModelFormatError(f"tokenizer.json pre_tokenizer must be an object, got {obj!r}; tokforge "
                                   "needs a ByteLevel pre-tokenizer (optionally after Split steps)")
        steps = obj.get("pretokenizers") if obj.get("type") == "Sequence" else [obj]
        if not isinstance(steps, list) or not steps:
            raise ModelFormatError("tokenizer.json pre_tokenizer Sequence has no 'pretokenizers' list")
        for step in steps:
            if not isinstance(step, dict):
                raise ModelFormatError(f"tokenizer.json pre_tokenizer step {step!r} is not an object")
        prefix = False
        *splits, last = steps
        if last.get("type") == "Metaspace":  # alone, or after a digit split
            if {k: last.get(k, "always" if k == "prepend_scheme" else True) for k in METASPACE_HF} != METASPACE_HF:
                raise ModelFormatError(f"tokenizer.json Metaspace pre_tokenizer {last!r} is not supported; tokforge "
                                       f"reads {METASPACE_HF} (no prepended space, split)")
            if len(splits) > 1:
                raise ModelFormatError(f"tokenizer.json pre_tokenizer has {len(splits)} steps before Metaspace; "
                                       "tokforge supports a digit split there, or none")
            return cls(METASPACE_PATTERN, _digit_policy([_split_regex(s) for s in splits] + [METASPACE_REGEX]))
        if last.get("type") != "ByteLevel":
            raise ModelFormatError(
                f"tokenizer.json pre_tokenizer step {last.get('type')!r} is not supported as the last step; "
                "tokforge needs a ByteLevel pre-tokenizer last (byte-level BPE)")
        if last.get("add_prefix_space", True):
            if splits or not last.get("use_regex", True):
                raise ModelFormatError("tokenizer.json pre_tokenizer ByteLevel with add_prefix_space=true is supported "
                                       "alone with its own (GPT-2) regex; after Split steps it adds a space before "
                                       "every piece, which tokforge does not reproduce")
            prefix = True
        regexes = [_split_regex(step) for step in splits]
        if last.get("use_regex", True):  # HF's default when the field is missing
            regexes.append(PRESETS["gpt2"])
        if not regexes:
            raise ModelFormatError("tokenizer.json pre_tokenizer has a ByteLevel without its regex and no Split: "
                                   "tokforge needs a split regex")
        return cls._from_regex(regexes[-1], _digit_policy(regexes), ModelFormatError, prefix)

    @classmethod
    def _from_regex(cls, main: str, digits: str, error: type[Exception], prefix_space: bool = False) -> "Pretokenizer":
        name = next((n for n, p in PRESETS.items() if p == main), None)
        try:
            return cls(name or main, digits, prefix_space=prefix_space)
        except ConfigError as e:
            if error is ConfigError:
                raise
            raise error(str(e)) from None

    # ---- model file ----------------------------------------------------------------------
    def config(self) -> dict[str, str]:
        """A JSON-able dict for a model file (the regex is saved too, so presets may evolve).

        >>> Pretokenizer("gpt2", "single").config()["digits"]
        'single'
        """
        return {"pattern": self._saved_as, "regex": self._regex, "digits": self._digits,
                **({"prefix_space": True} if self._prefix_space else {})}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Pretokenizer":
        """Inverse of :meth:`config`; a saved regex that no longer equals its preset is kept as is
        (the split then goes by the preset that has it now, if one does, and is written back under
        the name it was saved with: a model file reads and writes back the same).

        >>> p = Pretokenizer("o200k", "rtl3"); Pretokenizer.from_config(p.config()) == p
        True
        >>> old = {"pattern": "superword", "regex": PRESETS["superword-sentences"]}  # saved before 2026-12
        >>> Pretokenizer.from_config(old).pattern, Pretokenizer.from_config(old).config()["pattern"]
        ('superword-sentences', 'superword')
        """
        if not isinstance(config, dict) or "pattern" not in config:
            raise ModelFormatError(f"pretokenizer config {config!r} has no 'pattern'")
        pattern, digits = config["pattern"], config.get("digits", "none")
        saved, prefix = config.get("regex"), config.get("prefix_space", False) is True
        try:
            if pattern == METASPACE_PATTERN:
                return cls(pattern, digits)
            if saved is not None and saved != PRESETS.get(pattern, pattern):
                kept = cls._from_regex(saved, digits, ConfigError, prefix)
                kept._saved_as = pattern
                return kept
            return cls(pattern, digits, prefix_space=prefix)
        except ConfigError as e:
            raise ModelFormatError(f"pretokenizer config {config!r} is invalid: {e}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pretokenizer):
            return NotImplemented
        return (type(self), self._regex, self._digits, self._metaspace, self._prefix_space) == \
            (type(other), other._regex, other._digits, other._metaspace, other._prefix_space)

    def __hash__(self) -> int:
        return hash(("Pretokenizer", self._regex, self._digits, self._metaspace, self._prefix_space))

    def __repr__(self) -> str:
        return f"Pretokenizer({self._pattern!r}, digits={self._digits!r})"

    def __reduce__(self):  # picklable for multiprocessing
        return (Pretokenizer.from_config, (self.config(),))
