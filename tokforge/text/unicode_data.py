r"""The Unicode character data of Hugging Face ``tokenizers``, shipped with tokforge.

tokforge must split, lowercase and normalize exactly as HF does, whatever ``regex`` (or Python)
release is installed.  Those releases follow newer Unicode versions than HF's engines, so tokforge
carries the data HF's engines use, read off ``tokenizers`` itself by
``scripts/build_unicode_data.py`` into ``tokforge/data/unicode/hf_unicode.json``:

* the general category, script, ``\s`` and ``\d`` of every code point as HF's regex engine
  (Oniguruma 6.9.10, **Unicode 16.0**) matches them, and what ``(?i:s)`` etc. match;
* HF's ``Lowercase`` (Rust's ``char::to_lowercase``, **Unicode 17.0** in tokenizers >= 0.22.2);
* the code points assigned in **Unicode 9.0**, the version of HF's NFC/NFKC tables.

A test reads the same data off the installed ``tokenizers`` and fails when it changes (then run the
script again and say so in the README).

    >>> bool(property_mask("L")[ord("é")]), bool(property_mask("Lu")[ord("é")])
    (True, False)
    >>> bool(property_mask("Greek")[ord("λ")]), bool(property_mask("Letter")[0x16EA0])  # Unicode 17: not yet
    (True, False)
    >>> [chr(c) for c in case_insensitive("s")]
    ['S', 's', 'ſ']
    >>> property_mask("Emoji")
    Traceback (most recent call last):
    KeyError: "'Emoji' is not a property of tokforge's Unicode data (general categories, scripts, White_Space, Any, Assigned)"
"""
from __future__ import annotations

import functools
import json
from importlib import resources

import numpy as np

__all__ = ["property_mask", "white_space_mask", "digit_mask", "case_insensitive", "lowercase_map",
           "assigned_in_9_0", "general_categories", "DATA_FILE"]

DATA_FILE = "hf_unicode.json"
N_CODE_POINTS = 0x110000

# General category long names and groups (Unicode's PropertyValueAliases), by normalized name.
_GC_ALIASES = {
    "uppercaseletter": "Lu", "lowercaseletter": "Ll", "titlecaseletter": "Lt", "modifierletter": "Lm",
    "otherletter": "Lo", "nonspacingmark": "Mn", "spacingmark": "Mc", "enclosingmark": "Me",
    "decimalnumber": "Nd", "letternumber": "Nl", "othernumber": "No", "connectorpunctuation": "Pc",
    "dashpunctuation": "Pd", "openpunctuation": "Ps", "closepunctuation": "Pe", "initialpunctuation": "Pi",
    "finalpunctuation": "Pf", "otherpunctuation": "Po", "mathsymbol": "Sm", "currencysymbol": "Sc",
    "modifiersymbol": "Sk", "othersymbol": "So", "spaceseparator": "Zs", "lineseparator": "Zl",
    "paragraphseparator": "Zp", "control": "Cc", "format": "Cf", "surrogate": "Cs", "privateuse": "Co",
    "unassigned": "Cn",
}
_GC_GROUPS = {
    "l": "Lu Ll Lt Lm Lo", "letter": "Lu Ll Lt Lm Lo", "lc": "Lu Ll Lt", "casedletter": "Lu Ll Lt",
    "m": "Mn Mc Me", "mark": "Mn Mc Me", "combiningmark": "Mn Mc Me",
    "n": "Nd Nl No", "number": "Nd Nl No",
    "p": "Pc Pd Ps Pe Pi Pf Po", "punctuation": "Pc Pd Ps Pe Pi Pf Po",
    "s": "Sm Sc Sk So", "symbol": "Sm Sc Sk So",
    "z": "Zs Zl Zp", "separator": "Zs Zl Zp",
    "c": "Cc Cf Cs Co Cn", "other": "Cc Cf Cs Co Cn",
}


def normalize_name(name: str) -> str:
    """Property names compare without case, spaces, ``_`` and ``-`` (as in both engines).

    >>> normalize_name("Uppercase_Letter")
    'uppercaseletter'
    """
    return "".join(c for c in name.lower() if c not in " _-")


@functools.lru_cache(maxsize=None)
def _data() -> dict:
    text = resources.files("tokforge").joinpath("data", "unicode", DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _from_runs(runs: list[list]) -> tuple[np.ndarray, list[str]]:
    names = sorted({v for _, v in runs})
    code = {v: i for i, v in enumerate(names)}
    starts = np.array([s for s, _ in runs] + [N_CODE_POINTS], dtype=np.int64)
    values = np.array([code[v] for _, v in runs], dtype=np.uint8)
    return np.repeat(values, np.diff(starts)), names


def _from_ranges(ranges: list[list[int]]) -> np.ndarray:
    mask = np.zeros(N_CODE_POINTS, dtype=bool)
    for a, b in ranges:
        mask[a:b + 1] = True
    return _frozen(mask)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@functools.lru_cache(maxsize=None)
def _categories() -> tuple[np.ndarray, list[str]]:
    return _from_runs(_data()["general_category"])


@functools.lru_cache(maxsize=None)
def _scripts() -> tuple[np.ndarray, list[str]]:
    return _from_runs(_data()["script"])


def general_categories() -> tuple[str, ...]:
    """The two-letter general categories, in the order of their codes."""
    return tuple(_categories()[1])


@functools.lru_cache(maxsize=None)
def property_mask(name: str) -> np.ndarray:
    """bool[0x110000] (read-only): the code points HF's engine matches with ``\\p{name}``.

    ``name`` is a general category (``Lu``, ``Uppercase_Letter``), a group (``L``, ``LC``, ``Letter``,
    ...), a script (``Greek``, ``Grek``), ``White_Space``/``Space``, ``Any`` or ``Assigned``.
    KeyError for any other name.
    """
    key = normalize_name(name)
    codes, names = _categories()
    gcs = None
    if key in _GC_GROUPS:
        gcs = _GC_GROUPS[key].split()
    elif key in _GC_ALIASES:
        gcs = [_GC_ALIASES[key]]
    else:
        gcs = [g for g in names if g.lower() == key] or None
    if gcs is not None:
        return _frozen(np.isin(codes, [names.index(g) for g in gcs]))
    if key in ("whitespace", "space"):
        return white_space_mask()
    if key == "any":
        return _frozen(np.ones(N_CODE_POINTS, dtype=bool))
    if key == "assigned":
        return _frozen(codes != names.index("Cn"))
    script = _data()["script_aliases"].get(key)
    if script is not None:
        scodes, snames = _scripts()
        return _frozen(scodes == snames.index(script))
    raise KeyError(f"{name!r} is not a property of tokforge's Unicode data (general categories, scripts, "
                   "White_Space, Any, Assigned)")


@functools.lru_cache(maxsize=None)
def white_space_mask() -> np.ndarray:
    """``\\s`` of HF's engine: Unicode White_Space (not U+001C..U+001F, which ``str.isspace`` takes).

    >>> [hex(c) for c in np.flatnonzero(white_space_mask())][:6]
    ['0x9', '0xa', '0xb', '0xc', '0xd', '0x20']
    """
    return _from_ranges(_data()["white_space"])


@functools.lru_cache(maxsize=None)
def digit_mask() -> np.ndarray:
    """``\\d`` of HF's engine (the decimal digits, ``\\p{Nd}``)."""
    return _from_ranges(_data()["digit"])


def case_insensitive(letter: str) -> tuple[int, ...]:
    """The code points HF's engine matches with ``(?i:letter)``, for ``'`` and ``s d m t l v e r``."""
    return tuple(_data()["case_insensitive"][letter])


@functools.lru_cache(maxsize=None)
def lowercase_map() -> dict[int, str]:
    """HF's ``Lowercase``, one character at a time: code point -> its lowercase, where it differs.

    >>> lowercase_map()[ord("İ")], lowercase_map()[ord("Σ")]
    ('i̇', 'σ')
    """
    return {int(c): low for c, low in _data()["lowercase"].items()}


@functools.lru_cache(maxsize=None)
def assigned_in_9_0() -> np.ndarray:
    """bool[0x110000]: code points assigned in Unicode 9.0 (the version of HF's NFC/NFKC tables)."""
    return _from_ranges(_data()["assigned_in_9_0"])
