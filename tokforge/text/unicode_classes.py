r"""Code-point class table for the numba pretokenizer scanners (:mod:`tokforge.kernels.pretokenize`).

:func:`class_table` gives one ``uint16`` of flags per code point (0..0x10FFFF), read from the
Unicode data of HF's engine that tokforge ships (:mod:`tokforge.text.unicode_data`), so the scanners
see exactly the characters :meth:`Pretokenizer.split <tokforge.text.pretokenizers.Pretokenizer.split>`
(and HF) see, whatever ``regex`` release is installed (U+0295 ``ʕ`` is ``Ll``, Unicode 17's new
letters are unassigned, ...).  Surrogates get no flag (valid UTF-8 cannot hold them).

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
from tokforge.text.portable_regex import code_points
from tokforge.text.presets import PRESETS
from tokforge.text.unicode_data import N_CODE_POINTS, case_insensitive

__all__ = ["class_table", "LETTER", "NUMBER", "SPACE", "CRLF", "O200K_UPPER", "O200K_LOWER",
           "FOLD_QUOTE", "FOLD_S", "FOLD_D", "FOLD_M", "FOLD_T", "FOLD_L", "FOLD_V", "FOLD_E", "FOLD_R",
           "CLASSES", "FOLDS"]

O200K_UPPER_CLASS = r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}\u0295]"
O200K_LOWER_CLASS = r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"

#: (flag, one-character class of the presets), in bit order.
CLASSES: tuple[tuple[int, str], ...] = (
    (LETTER, r"\p{L}"),
    (NUMBER, r"\p{N}"),
    (SPACE, r"\s"),
    (CRLF, r"[\r\n]"),
    (O200K_UPPER, O200K_UPPER_CLASS),
    (O200K_LOWER, O200K_LOWER_CLASS),
)

#: (flag, the letter whose case-insensitive matches it marks).
FOLDS: tuple[tuple[int, str], ...] = (
    (FOLD_QUOTE, "'"), (FOLD_S, "s"), (FOLD_D, "d"), (FOLD_M, "m"), (FOLD_T, "t"), (FOLD_L, "l"),
    (FOLD_V, "v"), (FOLD_E, "e"), (FOLD_R, "r"),
)


@functools.lru_cache(maxsize=None)
def class_table() -> np.ndarray:
    """uint16[0x110000] of class flags per code point (read-only; built once)."""
    for cls in (O200K_UPPER_CLASS, O200K_LOWER_CLASS):
        if cls not in PRESETS["o200k"]:
            raise AssertionError(f"the o200k preset no longer contains {cls}: update tokforge.text.unicode_classes")
    table = np.zeros(N_CODE_POINTS, dtype=np.uint16)
    for flag, cls in CLASSES:
        table[code_points(cls)] |= np.uint16(flag)
    for flag, letter in FOLDS:
        table[list(case_insensitive(letter))] |= np.uint16(flag)
    table[0xD800:0xE000] = 0
    table.flags.writeable = False
    return table
