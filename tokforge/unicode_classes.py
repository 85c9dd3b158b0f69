r"""Code-point class table for the numba pretokenizer scanners (:mod:`tokforge.kernels.pretokenize`).

:func:`class_table` gives one ``uint16`` of flags per code point (0..0x10FFFF).  Every class is
derived from the ``regex`` module itself, compiled with the flags the presets are compiled with
(``tokforge.pretokenizers._compile``: ``MULTILINE | FULLCASE``), by one ``findall`` over a string
of all 1,112,064 non-surrogate code points -- so the scanners see exactly the characters the
``regex``-based :meth:`Pretokenizer.split <tokforge.pretokenizers.Pretokenizer.split>` sees
(Unicode 17.0 in ``regex`` 2026.x, U+0295 ``ʕ`` as ``Lo``, ...).  Surrogates get no flag (valid
UTF-8 cannot hold them).

    >>> t = class_table()
    >>> t.dtype, t.shape
    (dtype('uint16'), (1114112,))
    >>> bool(t[ord("é")] & LETTER), bool(t[ord("٣")] & NUMBER), bool(t[0x85] & SPACE), bool(t[0x1C] & SPACE)
    (True, True, True, False)
    >>> [chr(c) for c in np.flatnonzero(t & FOLD_S)]          # the characters (?i:s) matches
    ['S', 's', 'ſ']
    >>> bool(t[ord("ʕ")] & O200K_UPPER), bool(t[ord("ʕ")] & O200K_LOWER)
    (True, True)

The o200k classes are looked up in ``PRESETS["o200k"]`` (building fails if the preset no longer
contains them).  The case-folding flags ``FOLD_*`` are the characters that the contraction groups
of the presets match for one letter, e.g. ``(?i:s)`` -> S, s, U+017F; ``FOLD_QUOTE`` is ``(?i:')``
(just the apostrophe), used by o200k, whose apostrophe is inside the case-insensitive group.
"""
from __future__ import annotations

import functools

import numpy as np

# The flag values live with the kernels that read them (a cached kernel keeps the values it was
# compiled with).
from tokforge.kernels.pretokenize import (CRLF, FOLD_D, FOLD_E, FOLD_L, FOLD_M, FOLD_QUOTE,
                                          FOLD_R, FOLD_S, FOLD_T, FOLD_V, LETTER, NUMBER, O200K_LOWER,
                                          O200K_UPPER, SPACE)

__all__ = ["class_table", "LETTER", "NUMBER", "SPACE", "CRLF", "O200K_UPPER", "O200K_LOWER",
           "FOLD_QUOTE", "FOLD_S", "FOLD_D", "FOLD_M", "FOLD_T", "FOLD_L", "FOLD_V", "FOLD_E", "FOLD_R",
           "CLASSES"]

O200K_UPPER_CLASS = r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}\u0295]"
O200K_LOWER_CLASS = r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"

#: (flag, regex matching one character of the class), in bit order.
CLASSES: tuple[tuple[int, str], ...] = (
    (LETTER, r"\p{L}"),
    (NUMBER, r"\p{N}"),
    (SPACE, r"\s"),
    (CRLF, r"[\r\n]"),
    (O200K_UPPER, O200K_UPPER_CLASS),
    (O200K_LOWER, O200K_LOWER_CLASS),
    (FOLD_QUOTE, r"(?i:')"),
    (FOLD_S, r"(?i:s)"),
    (FOLD_D, r"(?i:d)"),
    (FOLD_M, r"(?i:m)"),
    (FOLD_T, r"(?i:t)"),
    (FOLD_L, r"(?i:l)"),
    (FOLD_V, r"(?i:v)"),
    (FOLD_E, r"(?i:e)"),
    (FOLD_R, r"(?i:r)"),
)


def _all_code_points() -> str:
    cps = np.arange(0x110000, dtype=np.uint32)
    cps = cps[(cps < 0xD800) | (cps > 0xDFFF)]
    return cps.tobytes().decode("utf-32-le")


@functools.lru_cache(maxsize=None)
def class_table() -> np.ndarray:
    """uint16[0x110000] of class flags per code point (read-only; built once, ~0.2 s)."""
    from tokforge.pretokenizers import PRESETS, _compile

    for cls in (O200K_UPPER_CLASS, O200K_LOWER_CLASS):
        if cls not in PRESETS["o200k"]:
            raise AssertionError(f"the o200k preset no longer contains {cls}: update tokforge.unicode_classes")
    text = _all_code_points()
    table = np.zeros(0x110000, dtype=np.uint16)
    for flag, cls in CLASSES:
        # One findall per class; each match is one character (checked: a class matching a
        # sequence of characters, e.g. by multi-character case folding, would break the scanners).
        found = _compile(cls).findall(text)
        joined = "".join(found)
        if len(joined) != len(found):
            raise AssertionError(f"{cls} matched a sequence of characters in the code point string")
        table[np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)] |= np.uint16(flag)
    table.flags.writeable = False
    return table
