"""The numba pretokenizer scanners give exactly the pieces of ``Pretokenizer.split``.

Both sides use the Unicode data of HF's engine that tokforge ships (the scanners through the table of
tokforge.text.unicode_classes, split through tokforge.text.portable_regex), so the comparison covers every
character, those the installed ``regex`` reads differently (DIFFERING) included.
"""
from __future__ import annotations

import doctest
import importlib
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import regex
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tokforge.kernels import pretokenize as K
from tokforge.text import unicode_classes as uc
from tokforge.text.pretokenizers import DIGIT_PATTERNS, DIGIT_POLICIES, PRESETS, Pretokenizer, _compile
from tokforge.text.unicode_classes import class_table
from unicode_cases import DIFFERING

CORPORA = Path(__file__).resolve().parents[1] / "corpora"
ALL_CPS = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def scanned(pre: Pretokenizer, docs: list[str]) -> list[list[str]]:
    """The scanner's pieces of each document, after checking the shape of its boundaries."""
    enc = [d.encode() for d in docs]
    buf = b"".join(enc)
    bounds = np.zeros(len(docs) + 1, np.int64)
    np.cumsum([len(x) for x in enc], out=bounds[1:])
    b = pre.scan_bytes(buf, bounds)
    assert b is not None and b.dtype == np.int64
    assert b[0] == bounds[0] and b[-1] == bounds[-1]
    assert np.all(np.diff(b) > 0)
    assert np.isin(bounds, b).all()
    out = []
    for d in range(len(docs)):
        lo, hi = np.searchsorted(b, bounds[d:d + 2])
        out.append([buf[x:y].decode() for x, y in zip(b[lo:hi], b[lo + 1:hi + 1])])
    return out


def check(pre: Pretokenizer, docs: list[str]) -> None:
    assert scanned(pre, docs) == [pre.split(d) for d in docs]


# ---------------------------------------------------------------------------------------------
# strategies

WHITESPACE = "\t\n\v\f\r \x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2005\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩۴०१२३४५६७८९০১৩๐๑๒０１２３²³¹½¼ⅫⅯ①⑳〇𝟘𝟙𝟡𑁦𐒠"
LETTERS = ("abcxyzABCXYZsSdDmMtTlLvVeErRéÉàñçßẞſKkİıǅǄǆΣσςΑΩαωДжЖъЯאבשعربيةमहिंदी中文字日本語カタカナ한국어"
           "ภาษาไทยʕĸªºˆˇ\U0001171e\U0001171d")
MARKS = "\u0300\u0301\u0308\u0327\u0345\u093f\u0944\u0e31\u302a\u20dd\u200c\u200d\U0001171e\u0903"
SYMBOLS = "'’‘\"`.,;:!?-_/\\()[]{}<>@#$%^&*+=|~€£¥©®™°§¶…–—«»¿¡"
EMOJI = ["👍", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🤖", "☺"]
FRAGMENTS = ["'s", "'S", "'t", "'T", "'re", "'RE", "'rE", "'ve", "'Ve", "'m", "'M", "'ll", "'LL", "'lL", "'d",
             "'D", "'ſ", "'K", "'st", "'ﬅ", "'ǆ", " 's", "n't", "’s", "'", "''", "\r\n", "\n\n", "\r\r\n",
             "  ", "   ", " \n ", "\t\t", " \t", " 1234567", "1234567890", "12 345", "CamelCase", "HTTPServer",
             "camelCase", "iPhone", " x", "//", "/\n", "...", "!!!\n", "a\u0301", "A\u0301b", "\u0301\u0301",
             " \u0301", "Ａ", "１２３４", "ʕa", "ʕA", "ǅa", "İs", "ßS"]

single_char = st.one_of(
    st.sampled_from(WHITESPACE),
    st.sampled_from(DIGITS),
    st.sampled_from(LETTERS),
    st.sampled_from(MARKS),
    st.sampled_from(SYMBOLS),
    st.sampled_from(EMOJI),
    st.sampled_from(DIFFERING),
    st.characters(codec="utf-8"),
)
texts = st.lists(st.one_of(single_char, st.sampled_from(FRAGMENTS)), max_size=30).map("".join)
documents = st.lists(texts, max_size=5)

EXAMPLES = int(os.environ.get("TOKFORGE_SCANNER_EXAMPLES", "600"))  # raise it for a long soak
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------
# the scanners equal split


@pytest.mark.parametrize("preset", list(PRESETS))
def test_scanner_equals_split(preset):
    pre = Pretokenizer(preset)

    @SETTINGS
    @given(documents)
    @example(["Hello world, it's 2024! I'M here; we'LL see 'ſ 'K \r\n\r\n  x  1234567 ½²³", "", " "])
    @example(["\x1c\x1d\x1e\x1f \x85a\xa0b\u2028c\u3000 d\n", "a ", " \n", "\n \t"])
    @example(["ʕa ʕA ʕAb Aʕ ʕ•ᴥ•ʔ \U0001171e\U00031350\U00010d50x 𱍐𱍑 १२३४५ ٠١٢٣٤"])
    def run(docs):
        check(pre, docs)

    run()


@pytest.mark.parametrize("preset,digits", [(p, d) for p in PRESETS for d in DIGIT_POLICIES if d != "none"])
def test_scanner_with_digit_policy_equals_split(preset, digits):
    pre = Pretokenizer(preset, digits)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(documents)
    @example(["x 12345 ab1234", "1234567", "12,345,678 ١٢٣٤٥ x²³"])
    def run(docs):
        check(pre, docs)

    run()


TRICKY = [
    # contractions and their case folding
    "'s 'S 'ſ 'K 'k 'll 'LL 'Ll 'lL 're 'RE 've 'VE 'm 'D 'T 'st 'ﬅ 'ß 'İ", "''s", "'", "'l", "'lx", "x'",
    "don't I'M we'LL they'RE you'VE he'D it'S", "'\u0301", "a's'", "Ab'S'T", "AB'll", "ab'LLc",
    # whitespace runs: \s+(?!\S), \s*[\r\n], end of document
    "a  b", "a \t\u3000b", "a\n\n  b", "a\r\n\r\n", "\n", " ", "  ", "\t", " \n", "\n ", "\n\t x", " \x0b\x0c\x85 ",
    "x\u2028\u2029 y", "\x1c\x1d x", "\xa0\xa0a", "  \r  \n  z", "a\r \r b", "\r\n\x85\n",
    # digits in several scripts
    "1234567", "12 345", "١٢٣٤٥٦٧", "१२३४", "½¼²³¹", "Ⅻ①⑳", "x1y22z333w4444",
    "𝟘𝟙𝟡𝟘",
    # punctuation runs, slashes, newlines after punctuation
    "!!!\n\n", " !!\r\nx", "a/b//c/\n", " ...", "?!\n ", "\"'`", "'\n", "' ", " '", " 's",
    # o200k classes: camel case, marks, Lm/Lo, U+0295
    "HTTPServer's camelCase", "iPhoneX", "ABC", "AbcDef", "aBC", "\u0301", "\u0301a", ".\u0301", "A\u0301",
    "Ab\u0301C", " \u0301\u0301", "ʕAb", "ʕa", "Aʕb", "ʕ•ᴥ•ʔ", "ǅungla", "ǄǅǆX", "ªºˆ",
    "中文字", "日本語カタカナ", "ภาษาไทย", "हिंदी", "Σσς", "İstanbul", "ẞß", "\u302a中", "x\u200dy",
    "👨‍👩‍👧 👍🏽", "🇫🇷🇫🇷",
    # Unicode 17 additions (letters/digits/marks for regex)
    "\U000323b0\U000323b1 a\U000323b0", "\u088f\u0c5c\u1acf",
]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_tricky_cases(preset):
    for digits in DIGIT_POLICIES:
        pre = Pretokenizer(preset, digits)
        check(pre, TRICKY)
        for text in TRICKY:
            check(pre, [text])
            check(pre, [text, text, "", text + " "])


def test_examples():
    assert scanned(Pretokenizer("cl100k"), ["DON'T stop\n\n  now", "1234"]) == \
        [["DON", "'T", " stop", "\n\n", " ", " now"], ["123", "4"]]
    assert scanned(Pretokenizer("o200k"), ["HTTPServer's camelCase"]) == [["HTTPServer's", " camel", "Case"]]
    assert scanned(Pretokenizer("gpt2"), ["I'm  fine"]) == [["I", "'m", " ", " fine"]]
    assert scanned(Pretokenizer("whitespace"), ["a  b\n c"]) == [["a", " ", " b", "\n", " c"]]
    # each document on its own: the lookahead sees the document's end, not the next document
    assert scanned(Pretokenizer("cl100k"), ["a  ", "b"]) == [["a", "  "], ["b"]]
    assert scanned(Pretokenizer("cl100k"), ["a  b"]) == [["a", " ", " b"]]
    assert scanned(Pretokenizer("cl100k", "rtl3"), ["x 12345"]) == [["x", " ", "12", "345"]]


def test_every_code_point_in_context():
    """Every assigned code point but private use ones, and every 64th other one (one document per
    chunk), in contexts exercising every class of the presets."""
    rare = regex.compile(r"[\p{Cn}\p{Co}]")
    cps = [c for i, c in enumerate(ALL_CPS) if i % 64 == 0 or not rare.match(c)]
    templates = {"gpt2": "'{0} {0}a{0}1{0} ", "cl100k": "'{0}1 {0}\n{0}a", "o200k": "a{0}A {0}Ab'{0}\n",
                 "whitespace": " {0} "}
    for preset, template in templates.items():
        pre = Pretokenizer(preset)
        docs = ["".join(template.format(c) for c in cps[i:i + 4096]) for i in range(0, len(cps), 4096)]
        if scanned(pre, docs) != [pre.split(d) for d in docs]:  # find the culprit
            for c in cps:
                check(pre, [template.format(c)])
            pytest.fail(f"{preset}: pieces differ only in context")


def corpus_lines():
    files = sorted(p for p in CORPORA.rglob("*") if p.is_file())
    assert len(files) > 10
    return files


@pytest.mark.parametrize("preset,digits", [(p, "none") for p in PRESETS] + [("cl100k", "rtl3"), ("o200k", "single"),
                                                                              ("gpt2", "ltr3")])
def test_corpora(preset, digits):
    """Every file of corpora/, its lines as documents."""
    pre = Pretokenizer(preset, digits)
    for path in corpus_lines():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        enc = [line.encode() for line in lines]
        buf = b"".join(enc)
        bounds = np.zeros(len(lines) + 1, np.int64)
        np.cumsum([len(x) for x in enc], out=bounds[1:])
        got = pre.scan_bytes(buf, bounds)
        want = [0]
        for line in lines:  # expected boundaries: byte lengths of split's pieces, accumulated
            want.extend(len(p.encode()) for p in pre.split(line))
        assert np.array_equal(got, np.cumsum(want)), path


# ---------------------------------------------------------------------------------------------
# the class table and the scanners' assumptions about the presets


def test_scanners_implement_the_presets():
    assert K.REGEXES == PRESETS
    assert K.DIGIT_REGEXES == {d: DIGIT_PATTERNS[d] for d in DIGIT_POLICIES if d != "none"}
    assert set(K.SCANNERS) == set(PRESETS) == set(K.PRESET_IDS)
    assert set(K.DIGIT_IDS) == set(DIGIT_POLICIES)


def test_named_scanners_equal_scan():
    text = "It's 12345 km\n\n  HTTPServer 'LL \u0301x"
    buf = np.frombuffer(text.encode(), np.uint8)
    bounds = np.array([0, 7, len(buf)], np.int64)
    for name, scanner in K.SCANNERS.items():
        assert np.array_equal(scanner(buf, bounds, class_table()),
                              K.scan(buf, bounds, class_table(), K.PRESET_IDS[name], 0))


def test_class_table_is_the_split_classes():
    table = class_table()
    assert table.dtype == np.uint16 and table.shape == (0x110000,) and not table.flags.writeable
    assert class_table() is table
    assert not table[0xD800:0xE000].any()
    sample = ALL_CPS[::97] + list(WHITESPACE + DIGITS + LETTERS + MARKS + SYMBOLS) + DIFFERING
    for flag, cls in uc.CLASSES:
        rx = _compile(cls)
        for c in sample:
            assert bool(table[ord(c)] & flag) == bool(rx.fullmatch(c)), (cls, hex(ord(c)))
    # the documented whitespace: Unicode White_Space, not U+001C..U+001F
    spaces = {chr(c) for c in np.flatnonzero(table & uc.SPACE)}
    assert spaces == set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | \
        {chr(c) for c in range(0x2000, 0x200B)}
    assert [chr(c) for c in np.flatnonzero(table & uc.FOLD_S)] == ["S", "s", "ſ"]
    assert table[0x212A] == table[ord("K")]  # Kelvin sign: a letter, no contraction letter
    for flag, letter in [(uc.FOLD_D, "d"), (uc.FOLD_M, "m"), (uc.FOLD_T, "t"), (uc.FOLD_L, "l"),
                         (uc.FOLD_V, "v"), (uc.FOLD_E, "e"), (uc.FOLD_R, "r")]:
        assert {chr(c) for c in np.flatnonzero(table & flag)} == {letter, letter.upper()}
    assert [chr(c) for c in np.flatnonzero(table & uc.FOLD_QUOTE)] == ["'"]


def test_class_table_rebuilds_identically():
    assert np.array_equal(class_table.__wrapped__(), class_table())


def test_contractions_match_one_character_per_letter():
    """What the scanners assume of the case-insensitive groups under FULLCASE, over all characters:
    a letter matches one character (no multi-character folding such as ß = ss), and no single
    character matches two letters."""
    sep = "\x00".join(ALL_CPS)
    assert _compile(r"(?i:ll|ve|re)").findall(sep) == []
    assert sorted(_compile(r"(?i:[sdmt])").findall(sep)) == sorted("SsſDdMmTt")
    quoted = "\x00".join("'" + c for c in ALL_CPS)
    table = class_table()
    letters = uc.FOLD_S | uc.FOLD_D | uc.FOLD_M | uc.FOLD_T
    want = sorted("'" + chr(c) for c in np.flatnonzero(table & letters))
    cl100k_group = r"'(?i:[sdmt]|ll|ve|re)"
    assert PRESETS["cl100k"].startswith(cl100k_group + "|")
    assert sorted(_compile(cl100k_group).findall(quoted)) == want
    o200k_group = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)"
    assert o200k_group in PRESETS["o200k"]
    assert sorted(_compile(o200k_group).findall(quoted)) == want
    # two letters: each from its one-character set
    two = [(uc.FOLD_R, uc.FOLD_E), (uc.FOLD_V, uc.FOLD_E), (uc.FOLD_L, uc.FOLD_L)]
    for a, b in itertools.product("lLvVeErRsſK\u212a", repeat=2):
        want = any(table[ord(a)] & x and table[ord(b)] & y for x, y in two)
        for group in (r"'(?i:ll|ve|re)", r"(?i:'re|'ve|'ll)"):
            assert bool(_compile(group).fullmatch("'" + a + b)) == want, (group, a, b)


# ---------------------------------------------------------------------------------------------
# scan_bytes


def test_scan_bytes_falls_back_for_custom_patterns():
    bounds = np.array([0, 3])
    assert Pretokenizer(r"\p{L}+").scan_bytes(b"abc", bounds) is None
    assert Pretokenizer(r"\p{L}+", "rtl3").scan_bytes(b"abc", bounds) is None
    assert Pretokenizer(PRESETS["gpt2"]).scan_bytes(b"abc", bounds) is not None  # a preset given verbatim


def test_scan_bytes_inputs():
    pre = Pretokenizer("cl100k")
    data = "héllo wörld".encode()
    want = [0, 6, 13]
    for buf in [data, bytearray(data), memoryview(data), np.frombuffer(data, np.uint8).copy()]:
        assert pre.scan_bytes(buf, [0, len(data)]).tolist() == want
    assert pre.scan_bytes(b"", np.array([0])).tolist() == [0]
    assert pre.scan_bytes(b"", np.array([0, 0, 0])).tolist() == [0]
    assert pre.scan_bytes(b"", np.zeros(0, np.int64)).tolist() == []
    assert pre.scan_bytes(b"xab c", np.array([1, 3, 3, 5])).tolist() == [1, 3, 5]  # not from 0; empty doc
    with pytest.raises(ValueError):
        pre.scan_bytes(b"abc", np.array([0, 4]))
    with pytest.raises(ValueError):
        pre.scan_bytes(b"abc", np.array([2, 1, 3]))
    with pytest.raises(ValueError):
        pre.scan_bytes(b"abc", np.array([-1, 3]))


def test_output_grows():
    """Many pieces (more than the first guess of the output size), in one document and in many."""
    text = "a " * 5000 + "1" * 3001
    pre = Pretokenizer("gpt2", "single")
    check(pre, [text])
    check(pre, [text[:10]] * 3000)
    check(Pretokenizer("o200k"), ["! " * 4000])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40), st.lists(st.integers(0, 40), max_size=4))
def test_invalid_utf8_stays_in_bounds(data, cuts):
    """Any bytes and any bounds: no crash, boundaries strictly increasing inside each document."""
    bounds = np.array(sorted({0, len(data), *[min(c, len(data)) for c in cuts]}), np.int64)
    for preset in PRESETS:
        for digits in ("none", "rtl3"):
            b = Pretokenizer(preset, digits).scan_bytes(data, bounds)
            assert b[0] == 0 and b[-1] == len(data) and np.all(np.diff(b) > 0) and np.isin(bounds, b).all()


@pytest.mark.parametrize("name", ["tokforge.kernels.pretokenize", "tokforge.text.unicode_classes"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_scan_bytes_docstring_examples():
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    globs = {"Pretokenizer": Pretokenizer}
    for test in doctest.DocTestFinder().find(Pretokenizer.scan_bytes, "scan_bytes", globs=globs):
        runner.run(test)
    assert runner.tries > 0 and runner.failures == 0
