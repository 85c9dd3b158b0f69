"""Language-aware case folding for word lists and the valid-word share.

``str.casefold`` is wrong for Turkish and Azerbaijani, where I/ı and İ/i are two pairs:
``"İSTANBUL".casefold()`` is ``"i̇stanbul"`` (an i with a combining dot above) and ``"ISPARTA"``
folds to ``"isparta"`` instead of ``"ısparta"``. With ``language="tr"`` or ``"az"`` the dotted and
dotless I are mapped first (İ -> i, I -> ı) and the rest is lowercased; without a language the fold
is ``str.casefold`` (the default everywhere, unchanged).

    >>> fold_case("İSTANBUL", "tr"), fold_case("ISPARTA", "tr"), fold_case("Straße")
    ('istanbul', 'ısparta', 'strasse')
"""
from __future__ import annotations

from tokforge.errors import ConfigError

DOTTED_I_LANGUAGES = ("tr", "az")  # Turkish, Azerbaijani: İ/i and I/ı
FOLD_LANGUAGES = DOTTED_I_LANGUAGES  # languages with their own fold; None: str.casefold


def dotted_i_lower(text: str) -> str:
    """Lowercase with the Turkish/Azerbaijani I pairs (İ -> i, I -> ı)."""
    return text.replace("I", "ı").replace("İ", "i").lower()


def fold_case(text: str, language: str | None = None) -> str:
    """``text`` case-folded for comparison with a word list of ``language`` (see the module docstring)."""
    if language is None:
        return text.casefold()
    if language in DOTTED_I_LANGUAGES:
        return dotted_i_lower(text)
    raise ConfigError(f"no case folding for language {language!r}; choose one of {', '.join(FOLD_LANGUAGES)} "
                      "(or none: Unicode casefold)")
