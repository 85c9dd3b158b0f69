r"""Numbers: Triadic Suffix Tokenization (TST), a text stage between the normalizer and the pretokenizer.

    >>> stage = TriadicSuffixStage("tst-marker")
    >>> [describe(u) for u, reserved in stage.units(stage.apply("Pay 1,234,567.891 now"))]
    ['Pay ', '1', '<e6>', ',', '234', '<e3>', ',', '567', '<e0>', '.', '891', '<e-3>', ' now']
    >>> stage.inverse(stage.apply("Pay 1,234,567.891 now"))
    'Pay 1,234,567.891 now'

The digits of every number are cut into triads -- from the right in the integer part
(``1234567`` -> ``1|234|567``), from the decimal point in the fraction (``.12345`` -> ``123|45``)
-- and each triad is followed by the marker of its place: ``<e0>`` units, ``<e3>`` thousands, ...
``<e15>`` quadrillions for the integer part; ``<e-3>`` the first three decimals, ``<e-6>`` the
next three, ... for the fraction.  A triad's marker depends only on its place in its number, never
on the text around the number.  Two variants (``TrainConfig.numbers``):

* ``"tst-marker"``: the triads stay ordinary text for the trainer and each is followed by a marker
  token.  Covers integer parts up to 18 digits (< 10^18) and up to 15 decimals (10^-15): 11 markers.
* ``"tst-vocab"``: each (triad, place) is one fixed reserved token, e.g. ``234<e3>``.  Triads are
  1-3 digits ("7", "07" and "007" are different text and must decode exactly), so a place needs
  10 + 100 + 1,000 = 1,110 tokens; to stay within 10,000 tokens the variant covers integer parts up
  to 18 digits and up to 9 decimals (10^-9): 9 places, 9,990 tokens, ids right after the special
  tokens.

What is a number.  On the normalized text, a number is ASCII digits ``[0-9]``:

* an integer part: up to 18 digits, or digits grouped by commas ``1,234,567`` (a head of 1-3
  digits, then 1-5 groups ",ddd"; the commas stay in the text, each after its triad's marker),
* then optionally ``.`` and 1-15 (marker) / 1-9 (vocab) decimals,
* standing alone: the character before it is not a letter, mark, digit (``\p{N}``, any script),
  ``_`` or ``.``, nor a ``,`` that follows a digit; the character after it is not a letter, mark,
  digit or ``_``, nor a ``.``/``,`` followed by a digit.

So signs (``-12``), currency and units after a space stay ordinary text around the number, and
leading zeros are digits like any other (``007`` is the triad ``007<e0>``).  Left alone, as
ordinary text for the trainer: digits inside words and identifiers (``x86``, ``v1.2.3``,
``0x1F``, ``3rd``, ``10km``, ``1e9``, ``snake_2``), dotted sequences (``1.2.3``,
``192.168.0.1``), comma runs that are not a well-formed grouping (``1,2,3``, ``12,34``,
``1,2345``), the other locale forms (``1.234.567`` is a dotted sequence; ``1 234 567`` is three
numbers), a leading-dot decimal (``.5``), non-ASCII digits, and -- the documented fallback --
numbers beyond the covered range (integer part over 18 digits or 6 groups, more decimals than
covered): such a number is left alone entirely, never cut in part.

Representation.  The stage is a text-to-text function with an exact inverse, so that it can be
expressed in a Hugging Face tokenizer.json.  Markers are the control characters U+000E..U+0018
(:data:`MARKERS`).  Text that already contains one of them, or the escape character U+001A, gets it
escaped first as U+001A + a punctuation tag (:data:`ESCAPES`), so the inverse -- remove markers,
then unescape -- restores any text exactly.  The punctuation tags keep escaping from changing which
digits are numbers.  In the tokenizer:

* ``tst-marker``: a marker is the byte-level token of its byte (always in the vocabulary; in the
  metaspace layout, the piece of its character if there is one, else its byte-fallback token).  Every
  triad and every marker is cut off as a piece of its own before pretokenization, so a triad never
  merges with the text around it and a marker is never merged (the trainer never sees markers).
  Exported to tokenizer.json as a Sequence of ``Replace`` normalizers (the escapes; one zero-width
  regex with lookarounds that inserts U+000E after every triad of every number; regexes that turn
  each U+000E into the marker of its place), a first ``Split`` isolating triads and markers, and a
  ``Replace`` decoder chain after the layout's decoder (remove markers, unescape): transformers gives
  tokforge's ids (tested with BPE, SuperBPE and Unigram in both layouts).
* ``tst-vocab``: a fixed token is the text ``triad + marker`` (e.g. ``"234\x0f"``), a reserved token
  like the special tokens (never split, never merged, excluded from training text) but matched
  only where the stage puts it.  tokenizer.json cannot express this: added tokens with
  ``normalized: true`` are themselves run through the normalizer (so their text would be escaped),
  and with ``normalized: false`` they are matched before the normalizer inserts the markers;
  making each fixed token a BPE token would need 9,990 forced merges that also change how every
  other digit is encoded.  Exporting raises :class:`~tokforge.errors.ExportError`; encode with
  tokforge instead.
"""
from __future__ import annotations

from typing import Any

import regex

from tokforge.errors import ConfigError, ExportError, ModelFormatError
from tokforge.text import portable_regex

__all__ = ["NUMBER_MODES", "MARKERS", "ESCAPE", "ESCAPES", "TriadicSuffixStage", "number_stage", "describe"]

#: The values of ``TrainConfig.numbers``.
NUMBER_MODES: tuple[str, ...] = ("none", "tst-vocab", "tst-marker")

INTEGER_TRIADS = 6  # integer parts up to 18 digits: places 10^0 .. 10^15
FRACTION_TRIADS = {"tst-marker": 5, "tst-vocab": 3}  # decimals down to 10^-15 / 10^-9

#: Marker character of each place, by exponent: integer triads 0, 3, ..., 15; fraction triads
#: -3 (first three decimals), -6, ..., -15.
MARKERS: dict[int, str] = {**{3 * k: chr(0x0E + k) for k in range(INTEGER_TRIADS)},
                           **{-3 * d: chr(0x13 + d) for d in range(1, 6)}}
ESCAPE = "\x1a"
#: How a character that would be read as a marker or an escape is written in the staged text.
ESCAPES: dict[str, str] = {c: ESCAPE + tag for c, tag in zip([*MARKERS.values(), ESCAPE], "!#$%&*+:;<=>")}

_EXPONENT = {c: e for e, c in MARKERS.items()}
_MARKER_CLASS = "[" + "".join(regex.escape(c) for c in MARKERS.values()) + "]"
_MARKER_RX = regex.compile(_MARKER_CLASS)
_RESERVED_RX = regex.compile("[" + "".join(regex.escape(c) for c in ESCAPES) + "]")
_ESCAPE_TABLE = str.maketrans(ESCAPES)
_HAS_DIGIT = regex.compile("[0-9]")
_UNESCAPES = [(esc, c) for c, esc in ESCAPES.items() if c != ESCAPE] + [(ESCAPES[ESCAPE], ESCAPE)]
_TRIAD_TEXTS = [str(i) for i in range(10)] + [f"{i:02d}" for i in range(100)] + [f"{i:03d}" for i in range(1000)]

# Context of a number (see the module docstring).
_LEFT = r"(?<![\p{L}\p{M}\p{N}_.])(?<!\p{N},)"
_RIGHT = r"(?![\p{L}\p{M}\p{N}_])(?![.,]\p{N})"


class TriadicSuffixStage:
    """The TST text stage of one variant, ``"tst-marker"`` or ``"tst-vocab"``.

    >>> TriadicSuffixStage("tst-vocab").reserved_tokens()[:3]
    ['0\\x0e', '1\\x0e', '2\\x0e']
    """

    def __init__(self, mode: str) -> None:
        if mode not in FRACTION_TRIADS:
            raise ConfigError(f"numbers {mode!r} is unknown; choose one of {', '.join(NUMBER_MODES)}")
        self.mode = mode
        self.max_integer_digits = 3 * INTEGER_TRIADS
        self.max_fraction_digits = 3 * FRACTION_TRIADS[mode]
        self._number = portable_regex.compile(
            _LEFT + rf"(?P<int>[0-9]{{1,3}}(?:,[0-9]{{3}}){{1,{INTEGER_TRIADS - 1}}}|[0-9]{{1,{self.max_integer_digits}}})"
            + rf"(?:\.(?P<frac>[0-9]{{1,{self.max_fraction_digits}}}))?" + _RIGHT)
        # a triad is the 1-3 digits before a marker (the character before them is never a digit)
        self._unit = regex.compile(f"([0-9]{{1,3}}{_MARKER_CLASS})")

    # ---- the stage and its inverse ------------------------------------------------------------
    def apply(self, text: str) -> str:
        """Escape reserved characters, then put a marker after every triad of every number.

        >>> TriadicSuffixStage("tst-marker").apply("x86 costs 1234.5")
        'x86 costs 1\\x0f234\\x0e.5\\x14'
        """
        if _RESERVED_RX.search(text):
            text = text.translate(_ESCAPE_TABLE)
        if not _HAS_DIGIT.search(text):
            return text
        out: list[str] = []
        pos = 0
        for m in self._number.finditer(text):
            out.append(text[pos:m.start()])
            out.append(_marked_integer(m["int"]))
            if m["frac"] is not None:
                out.append("." + _marked_fraction(m["frac"]))
            pos = m.end()
        out.append(text[pos:])
        return "".join(out)

    def inverse(self, text: str) -> str:
        """Remove the markers, then undo the escapes: ``inverse(apply(t)) == t`` for every text.

        >>> TriadicSuffixStage("tst-marker").inverse('1\\x0f234\\x0e and \\x1a!')
        '1234 and \\x0e'
        """
        text = _MARKER_RX.sub("", text)
        if ESCAPE in text:
            for escaped, original in _UNESCAPES:
                text = text.replace(escaped, original)
        return text

    def inverse_bytes(self, data: bytes) -> bytes:
        """:meth:`inverse` on UTF-8 bytes (markers and escapes are ASCII bytes).

        >>> TriadicSuffixStage("tst-vocab").inverse_bytes(b"7\\x0e")
        b'7'
        """
        data = data.translate(None, "".join(MARKERS.values()).encode())
        if ESCAPE.encode() in data:
            for escaped, original in _UNESCAPES:
                data = data.replace(escaped.encode(), original.encode())
        return data

    def units(self, staged: str) -> list[tuple[str, bool]]:
        """Cut staged text into ``(text, reserved)`` pieces, each pretokenized on its own: ordinary
        text and, for ``tst-marker``, each triad (``False``); reserved units (``True``): a marker
        (``tst-marker``) or a triad with its marker (``tst-vocab``).

        >>> TriadicSuffixStage("tst-vocab").units("a 1\\x0f234\\x0e")
        [('a ', False), ('1\\x0f', True), ('234\\x0e', True)]
        >>> TriadicSuffixStage("tst-marker").units("a 1\\x0f234\\x0e")
        [('a ', False), ('1', False), ('\\x0f', True), ('234', False), ('\\x0e', True)]
        """
        out: list[tuple[str, bool]] = []
        vocab = self.mode == "tst-vocab"
        for i, part in enumerate(self._unit.split(staged)):
            if not i % 2:
                if part:
                    out.append((part, False))
            elif vocab:
                out.append((part, True))
            else:
                out += [(part[:-1], False), (part[-1], True)]
        return out

    def plain_parts(self, text: str) -> list[str]:
        """The ordinary text of ``apply(text)`` (what a trainer counts), in order.

        >>> TriadicSuffixStage("tst-marker").plain_parts("n=1234")
        ['n=', '1', '234']
        """
        return [part for part, reserved in self.units(self.apply(text)) if not reserved]

    def reserved_tokens(self) -> list[str]:
        """The fixed tokens of ``tst-vocab`` (triad text + marker, place by place: integer places
        10^0..10^15, then fraction places 10^-3..10^-9); ``tst-marker`` has none (its markers are
        byte tokens)."""
        if self.mode != "tst-vocab":
            return []
        exponents = [3 * k for k in range(INTEGER_TRIADS)] + [-3 * d for d in range(1, FRACTION_TRIADS[self.mode] + 1)]
        return [t + MARKERS[e] for e in exponents for t in _TRIAD_TEXTS]

    # ---- tokenizer.json --------------------------------------------------------------------
    @property
    def in_tokenizer_json(self) -> bool:
        """Whether tokenizer.json expresses the stage (``hf_parts``); transformers loads a ``tst-vocab`` model
        through tokforge's tokenizer class instead (``tokforge.formats.hf_code``)."""
        return self.mode != "tst-vocab"

    def hf_parts(self) -> dict[str, list[dict[str, Any]]]:
        """The tokenizer.json steps of the stage: ``normalizers`` (to append to the normalizer),
        ``pre_tokenizers`` (to put first) and ``decoders`` (to put after the layout's decoder).
        ExportError for ``tst-vocab``, which tokenizer.json cannot express."""
        if self.mode == "tst-vocab":
            raise ExportError(
                "numbers='tst-vocab' cannot be exported to tokenizer.json exactly: its 9,990 fixed triad "
                "tokens would have to be added tokens, which Hugging Face either matches before the "
                "normalizer inserts the place markers (normalized: false) or runs through the normalizer "
                "itself (normalized: true, so they would be escaped and never match); as BPE tokens they "
                "would need forced merges that change how all other digits are encoded.  No approximate "
                "file is written.  Encode with tokforge (tokforge.Tokenizer.load(path).encode / "
                "encode_batch, or `tokforge encode`; the model folder loads in transformers through tokforge's "
                "tokenizer class), or train with numbers='tst-marker', which exports exactly.")
        return {"normalizers": _hf_normalizers(FRACTION_TRIADS[self.mode]),
                "pre_tokenizers": [{"type": "Split", "pattern": {"Regex": _UNIT_HF},
                                    "behavior": "Isolated", "invert": False}],
                "decoders": _hf_decoders()}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TriadicSuffixStage) and other.mode == self.mode

    def __hash__(self) -> int:
        return hash(("TriadicSuffixStage", self.mode))

    def __repr__(self) -> str:
        return f"TriadicSuffixStage({self.mode!r})"

    def __reduce__(self):
        return (TriadicSuffixStage, (self.mode,))


def number_stage(mode: str, error: type[Exception] = ConfigError) -> TriadicSuffixStage | None:
    """The stage of a ``TrainConfig.numbers`` value (None for ``"none"``).

    >>> number_stage("none") is None, number_stage("tst-marker")
    (True, TriadicSuffixStage('tst-marker'))
    """
    if mode == "none":
        return None
    if mode not in NUMBER_MODES:
        raise error(f"numbers {mode!r} is unknown; choose one of {', '.join(NUMBER_MODES)}")
    return TriadicSuffixStage(mode)


def describe(unit: str) -> str:
    """A readable form of a staged piece: markers as ``<e3>``, other text as it is.

    >>> describe("\\x0f"), describe("234\\x0f"), describe("ab")
    ('<e3>', '234<e3>', 'ab')
    """
    return _MARKER_RX.sub(lambda m: f"<e{_EXPONENT[m.group()]}>", unit)


def _marked_integer(digits: str) -> str:
    groups = digits.split(",")
    if len(groups) == 1:
        head = len(digits) % 3 or 3
        groups = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
        sep = ""
    else:
        sep = ","
    n = len(groups)
    return sep.join(g + MARKERS[3 * (n - 1 - i)] for i, g in enumerate(groups))


def _marked_fraction(digits: str) -> str:
    return "".join(digits[i:i + 3] + MARKERS[-3 * (i // 3 + 1)] for i in range(0, len(digits), 3))


# ---- the same stage as tokenizer.json steps (Oniguruma regexes) ------------------------------------
# Step 1, escapes: literal replacements, the escape character first.
# Step 2, one Replace inserts U+000E (the units marker, used as "end of a triad") at every triad end:
#   zero-width, a lookbehind back to the number's start (bounded: the number is in range) and a
#   lookahead to its end.  START is the context before a number (_LEFT as characters, or the text
#   start); a match of the whole number is unique, so "a triad end of a valid number" is exactly
#   where tokforge's regex puts a marker.
# Step 3, each U+000E becomes the marker of its place: fraction triads counted from the point
#   (deepest first, so the lookbehind still sees U+000E), integer triads by how many integer
#   triads follow (highest first).
_MARKER_CLASS_HF = r"[\x0e-\x18]"
_UNIT_HF = rf"[0-9]{{1,3}}(?={_MARKER_CLASS_HF})|{_MARKER_CLASS_HF}"  # triads and markers, each a piece
_D = "[0-9]"
_START = r"(?:\A|[^\p{L}\p{M}\p{N}_.,]|(?:\A|[^\p{N}]),)"


def _hf_char(c: str) -> str:
    return f"\\x{ord(c):02x}"


def _triad_end_regex(frac_triads: int) -> str:
    n_int, max_frac = INTEGER_TRIADS, 3 * frac_triads
    integer = rf"(?:{_D}{{1,3}}(?:,{_D}{{3}}){{1,{n_int - 1}}}|{_D}{{1,{3 * n_int}}})"
    fraction = rf"(?:\.{_D}{{1,{max_frac}}})?"
    alternatives = []
    for before in range(n_int):  # grouped integer: after the head and `before` groups
        low, high = max(0, 1 - before), n_int - 1 - before
        alternatives.append(rf"(?<={_START}{_D}{{1,3}}(?:,{_D}{{3}}){{{before}}})"
                            rf"(?=(?:,{_D}{{3}}){{{low},{high}}}{fraction}{_RIGHT})")
    for after in range(n_int):  # plain integer: `after` triads follow
        alternatives.append(rf"(?<={_START}{_D}{{1,{3 * (n_int - after)}}})(?={_D}{{{3 * after}}}{fraction}{_RIGHT})")
    for depth in range(1, frac_triads + 1):  # fraction: a full triad, or a short last one
        alternatives.append(rf"(?<={_START}{integer}\.(?:{_D}{{3}}){{{depth}}})"
                            rf"(?={_D}{{0,{max_frac - 3 * depth}}}{_RIGHT})")
        alternatives.append(rf"(?<={_START}{integer}\.(?:{_D}{{3}}){{{depth - 1}}}{_D}{{1,2}})(?={_RIGHT})")
    return "|".join(alternatives)


def _replace(pattern: str, content: str, is_regex: bool) -> dict[str, Any]:
    return {"type": "Replace", "pattern": {"Regex" if is_regex else "String": pattern}, "content": content}


def _hf_normalizers(frac_triads: int) -> list[dict[str, Any]]:
    end = _hf_char(MARKERS[0])
    steps = [_replace(c, esc, False) for c, esc in [(ESCAPE, ESCAPES[ESCAPE])] + list(ESCAPES.items())[:-1]]
    steps.append(_replace(_triad_end_regex(frac_triads), MARKERS[0], True))
    for depth in range(frac_triads, 0, -1):
        steps.append(_replace(rf"(?<=\.(?:{_D}{{3}}{end}){{{depth - 1}}}{_D}{{1,3}}){end}", MARKERS[-3 * depth], True))
    for k in range(INTEGER_TRIADS - 1, 0, -1):
        steps.append(_replace(rf"{end}(?=(?:,?{_D}{{3}}{end}){{{k}}}(?!,?{_D}{{3}}{end}))", MARKERS[3 * k], True))
    return steps


def _hf_decoders() -> list[dict[str, Any]]:
    return [_replace(_MARKER_CLASS_HF, "", True)] + [_replace(esc, c, False) for esc, c in _UNESCAPES]


def split_hf_stage(doc: dict[str, Any], source: str) -> tuple[TriadicSuffixStage | None, Any, Any, Any]:
    """Find the TST stage in a tokenizer.json document written by tokforge.

    Returns ``(stage, normalizer, pre_tokenizer, decoder)`` with the stage's steps taken out, or
    ``(None, ...)`` unchanged when the normalizer does not end with the stage's steps."""
    norm, pre, dec = doc.get("normalizer"), doc.get("pre_tokenizer"), doc.get("decoder")
    stage = TriadicSuffixStage("tst-marker")
    parts = stage.hf_parts()
    first = parts["pre_tokenizers"][0]
    marker_split = isinstance(pre, dict) and isinstance(pre.get("pretokenizers"), list) \
        and pre["pretokenizers"][:1] == [first]
    n = len(parts["normalizers"])
    if not (isinstance(norm, dict) and norm.get("type") == "Sequence" and isinstance(norm.get("normalizers"), list)
            and norm["normalizers"][-n:] == parts["normalizers"]):
        if marker_split:
            raise ModelFormatError(f"{source}: the pre_tokenizer starts with the marker Split of tokforge's TST number "
                                   "stage but the normalizer does not end with the stage's steps")
        return None, norm, pre, dec
    rest = norm["normalizers"][:-n]
    if not (isinstance(pre, dict) and pre.get("type") == "Sequence" and marker_split):
        raise ModelFormatError(f"{source}: the normalizer holds tokforge's TST number stage but the pre_tokenizer "
                               "does not start with its marker Split")
    if not (isinstance(dec, dict) and dec.get("type") == "Sequence" and isinstance(dec.get("decoders"), list)
            and len(dec["decoders"]) == 1 + len(parts["decoders"]) and dec["decoders"][1:] == parts["decoders"]):
        raise ModelFormatError(f"{source}: the normalizer holds tokforge's TST number stage but the decoder is not "
                               "Sequence[the layout's decoder, the stage's Replace steps]")
    normalizer = None if not rest else rest[0] if len(rest) == 1 else {"type": "Sequence", "normalizers": rest}
    return stage, normalizer, {**pre, "pretokenizers": pre["pretokenizers"][1:]}, dec["decoders"][0]
