"""tokforge's Unicode data is HF's, and regexes match with it whatever ``regex`` release is installed.

* The shipped data equals what the installed ``tokenizers`` reports (read the same way as
  scripts/build_unicode_data.py does): when a new ``tokenizers`` changes its engine, this fails.
* ``portable_regex.compile`` matches exactly the shipped code points for every property, inside and
  outside classes, negated or not -- with the installed ``regex`` and with a simulated one that
  disagrees on some characters.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tokforge.text import portable_regex
from tokforge.text import unicode_data

ROOT = Path(__file__).resolve().parents[1]
tokenizers = pytest.importorskip("tokenizers")


def _build_script():
    spec = importlib.util.spec_from_file_location("build_unicode_data", ROOT / "scripts" / "build_unicode_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _build_script()
CPS = BUILD.all_code_points()
TEXT = CPS.tobytes().decode("utf-32-le")
ALL_TEXT = portable_regex._all_code_points()


def matched(rx) -> np.ndarray:
    found = "".join(rx.findall(ALL_TEXT))
    mask = np.zeros(0x110000, dtype=bool)
    mask[np.frombuffer(found.encode("utf-32-le"), dtype=np.uint32)] = True
    return mask


def shipped(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    out[0xD800:0xE000] = False
    return out


@pytest.mark.parametrize("name", unicode_data.general_categories())
def test_general_categories_are_hf_engines(name):
    assert np.array_equal(shipped(unicode_data.property_mask(name)),
                          shipped(BUILD.hf_mask(rf"\p{{{name}}}", CPS, TEXT)))


@pytest.mark.parametrize("script", ["Latin", "Greek", "Cyrillic", "Han", "Arabic", "Hebrew", "Devanagari", "Hangul",
                                    "Hiragana", "Katakana", "Thai", "Common", "Inherited", "Ethiopic", "Tangut"])
def test_scripts_are_hf_engines(script):
    assert np.array_equal(shipped(unicode_data.property_mask(script)),
                          shipped(BUILD.hf_mask(rf"\p{{{script}}}", CPS, TEXT)))


def test_spaces_digits_folds_and_lowercase_are_hf_engines():
    assert np.array_equal(unicode_data.white_space_mask(), BUILD.hf_mask(r"\s", CPS, TEXT))
    assert np.array_equal(unicode_data.digit_mask(), BUILD.hf_mask(r"\d", CPS, TEXT))
    for letter in BUILD.FOLDED:
        assert unicode_data.case_insensitive(letter) == tuple(np.flatnonzero(BUILD.hf_mask(f"(?i:{letter})", CPS, TEXT)))
    lower = tokenizers.normalizers.Lowercase()
    rest = CPS[1:].tolist()
    lowered = lower.normalize_str("\0".join(map(chr, rest))).split("\0")
    assert {c: low for c, low in zip(rest, lowered) if low != chr(c)} == unicode_data.lowercase_map()


# ---- regexes match with the shipped data --------------------------------------------------------
PROPERTIES = ["Lu", "Lo", "Mn", "Nd", "Cn", "L", "N", "Uppercase_Letter", "Greek", "Han", "White_Space"]


@pytest.mark.parametrize("name", PROPERTIES)
def test_properties_match_the_shipped_data(name):
    want = shipped(unicode_data.property_mask(name))
    assert np.array_equal(matched(portable_regex.compile(rf"\p{{{name}}}")), want)
    assert np.array_equal(matched(portable_regex.compile(rf"\P{{{name}}}")), shipped(~want))
    assert np.array_equal(matched(portable_regex.compile(rf"[x\p{{{name}}}]")), want | (np.arange(0x110000) == ord("x")))


@pytest.mark.parametrize("atom,build", [
    (r"\s", lambda: unicode_data.white_space_mask()),
    (r"\S", lambda: ~unicode_data.white_space_mask()),
    (r"\d", lambda: unicode_data.digit_mask()),
    (r"[^\r\n\p{L}\p{N}]", lambda: ~(unicode_data.property_mask("L") | unicode_data.property_mask("N")) & ~np.isin(np.arange(0x110000), [10, 13])),
    (r"[^\s\p{L}\p{N}]", lambda: ~(unicode_data.white_space_mask() | unicode_data.property_mask("L") | unicode_data.property_mask("N"))),
    (r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}\u0295]", lambda: unicode_data.property_mask("Lu") | unicode_data.property_mask("Lt") | unicode_data.property_mask("Lm") | unicode_data.property_mask("Lo") | unicode_data.property_mask("M") | (np.arange(0x110000) == 0x295)),
    (r"[a-f\d\U0001F600-\U0001F64F]", lambda: unicode_data.digit_mask() | ((np.arange(0x110000) >= 0x61) & (np.arange(0x110000) <= 0x66)) | ((np.arange(0x110000) >= 0x1F600) & (np.arange(0x110000) <= 0x1F64F))),
])
def test_atoms_match_the_shipped_data(atom, build):
    want = shipped(build())
    assert np.array_equal(shipped(portable_regex.code_points(atom)), want)
    assert np.array_equal(matched(portable_regex.compile(atom)), want)


def test_a_regex_release_that_disagrees_is_bridged(monkeypatch):
    """Simulate a release that reads 'é', U+0295 and U+0378 (unassigned) differently: the bridge puts
    them right for texts that hold them and leaves other texts to the pattern as written."""
    def other_release(atom, flags):   # HF's data but for three characters
        mask = shipped(portable_regex.code_points(atom))
        for c in (0xE9, 0x295, 0x378):
            mask[c] = not mask[c]
        return mask

    monkeypatch.setattr(portable_regex, "_regex_mask", other_release)
    portable_regex.compile.cache_clear()
    try:
        rx = portable_regex.compile(r"\p{L}+|[^\p{L}\s]+")
        assert isinstance(rx, portable_regex.PortableRegex)
        assert rx.differing.sum() == 3 and rx.differing[[0xE9, 0x295, 0x378]].all()
        assert rx.findall("caf\u00e9 \u0295x \u0378!") == ["caf\u00e9", "\u0295x", "\u0378!"]
        assert rx._for("plain ascii") is rx.plain and rx._for("caf\u00e9") is rx.bridged
        assert rx._for("naïve") is rx.plain   # no differing character: the pattern as written
        assert rx.sub("_", "\u00e9\u0378") == "__" and rx.split("\u00e9 x") == ["", " ", ""]
    finally:
        portable_regex.compile.cache_clear()


@pytest.mark.parametrize("pattern,word", [
    (r"\p{Emoji}", "Emoji"), (r"[[:alpha:]]", "POSIX"), (r"[a[b]]", "nested"), (r"[a-z&&[^aeiou]]", "&&"),
    (r"[\w]", r"\\w"), (r"\p{Foo", "unterminated"),
])
def test_constructs_without_hf_data_are_refused(pattern, word):
    with pytest.raises(portable_regex.PatternError, match=word):
        portable_regex.compile(pattern)
