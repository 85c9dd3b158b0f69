"""Pretokenizer parity with Hugging Face tokenizers (the pre_tokenizer built from our to_hf() JSON).

The hypothesis alphabets draw from every code point except surrogates (which a Rust string cannot
hold), weighted towards hard cases, among them the code points that the installed ``regex`` reads
differently from HF's Oniguruma (Unicode 16.0): tokforge matches with HF's data whatever ``regex``
release is installed (tokforge.text.portable_regex), so nothing is excluded.
"""
from __future__ import annotations

import itertools
import json
import os
import pickle

import numpy as np
import pytest
import regex
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tokforge.errors import ConfigError, ModelFormatError
from tokforge.text import portable_regex
from tokforge.text.bytelevel import (BYTE_ORDER, BYTE_TO_CHAR, CHAR_TO_BYTE, bytes_to_visible,
                                visible_to_bytes)
from tokforge.text.pretokenizers import DIGIT_PATTERNS, DIGIT_POLICIES, FLAGS, PRESETS, Pretokenizer
from tokforge.text.unicode_data import property_mask
from unicode_cases import DIFFERING

tokenizers = pytest.importorskip("tokenizers")

# ---------------------------------------------------------------------------------------------
# HF side


def hf_tokenizer_json(pre_tokenizer: dict | None) -> str:
    return json.dumps({
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
        "pre_tokenizer": pre_tokenizer, "post_processor": None, "decoder": None,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": {}, "merges": []},
    })


_HF_CACHE: dict[str, object] = {}


def hf_pre_tokenizer(obj: dict):
    key = json.dumps(obj, sort_keys=True)
    if key not in _HF_CACHE:
        _HF_CACHE[key] = tokenizers.Tokenizer.from_str(hf_tokenizer_json(obj)).pre_tokenizer
    return _HF_CACHE[key]


def hf_split(obj: dict, text: str) -> list[str]:
    """HF's pieces for ``text``, mapped back from byte-level strings."""
    return [visible_to_bytes(piece).decode("utf-8") for piece, _ in hf_pre_tokenizer(obj).pre_tokenize_str(text)]


# ---------------------------------------------------------------------------------------------
# strategies

WHITESPACE = "\t\n\v\f\r \x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2005\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩۴०१२३४५६७८९০১৩๐๑๒０１２３²³¹½¼ⅫⅯ①⑳〇𝟘𝟙𝟡𑁦𐒠"
LETTERS = ("abcxyzABCXYZéÉàñçßẞſKkİıǅǄǆΣσςΑΩαωДжЖъЯאבשعربيةमहिंदी中文字日本語カタカナ한국어ภาษาไทย"
           "ʕĸªºˆˇ\U0001171e\U0001171d")
MARKS = "\u0300\u0301\u0308\u0327\u0345\u093f\u0944\u0e31\u302a\u20dd\u200c\u200d\U0001171e"
SYMBOLS = "'’‘\"`.,;:!?-_/\\()[]{}<>@#$%^&*+=|~€£¥©®™°§¶…–—«»¿¡"
EMOJI = ["👍", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🤖", "☺"]
# Assigned in Unicode 15-16: unassigned for Python 3.11, known to both regex engines.
NEWER = ["\u0897", "\u1c89", "\U00031350", "\U00010d50", "\U00010d70", "\U00011f04", "\U00011f50", "\U00011f41", "\u0cf3",
          "\U0001e4f0", "\ua7cb", "\U000116d0", "\U0001e5f1"]
FRAGMENTS = ["'s", "'S", "'t", "'T", "'re", "'RE", "'ve", "'Ve", "'m", "'M", "'ll", "'LL", "'d", "'D",
             "'ſ", "'K", "'st", "'ﬅ", "'ǆ", " 's", "n't", "’s", "'", "''", "\r\n", "\n\n", "  ", "   ",
             " \n ", "\t\t", " 1234567", "1234567890", "12 345", "CamelCase", "HTTPServer", "camelCase",
             "iPhone", " x", "//", "/\n", "...", "!!!\n", "a\u0301", "Ａ", "１２３４"]

single_char = st.one_of(
    st.sampled_from(WHITESPACE),
    st.sampled_from(DIGITS),
    st.sampled_from(LETTERS),
    st.sampled_from(MARKS),
    st.sampled_from(SYMBOLS),
    st.sampled_from(EMOJI),
    st.sampled_from(NEWER),
    st.sampled_from(DIFFERING),
    st.characters(exclude_categories=("Cs",)),
)
texts = st.lists(st.one_of(single_char, st.sampled_from(FRAGMENTS)), max_size=40).map("".join)

COMBOS = [(p, d) for p in PRESETS for d in DIGIT_POLICIES]
EXAMPLES = int(os.environ.get("TOKFORGE_PARITY_EXAMPLES", "300"))  # raise it for a long soak


# ---------------------------------------------------------------------------------------------
# parity with HF


@pytest.mark.parametrize("pattern,digits", COMBOS)
def test_split_equals_hf(pattern, digits):
    pre = Pretokenizer(pattern, digits)
    spec = pre.to_hf()

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(texts)
    @example("Hello world, it's 2024! I'M here; we'LL see 'ſ 'K \r\n\r\n  x  1234567 ½²³")
    @example("\x1c\x1d\x1e\x1f \x85a\xa0b\u2028c\u3000 d\n")
    @example("ʕa ʕA ʕAb Aʕ ʕ•ᴥ•ʔ \U0001171e\U00031350\U00010d50x 𱍐𱍑 १२३४५ ٠١٢٣٤")
    @example("ab\u0558cd a\U00016ea0b \U0001266d4 x\U000323b0y")
    def check(text):
        assert pre.split(text) == hf_split(spec, text)

    check()


def hf_ends(obj: dict, text: str) -> list[int]:
    """Where HF's pieces end (offsets in characters), cheaper than decoding them."""
    return [end for _, (_, end) in hf_pre_tokenizer(obj).pre_tokenize_str(text)]


def test_split_equals_hf_on_every_code_point():
    """Every code point assigned for HF or for the installed regex (and every 64th other one) in contexts
    exercising the preset classes."""
    assigned = property_mask("Assigned") | portable_regex._regex_mask(r"\P{Cn}", 0)
    assigned[::64] = True
    cps = [chr(c) for c in np.flatnonzero(assigned) if not 0xD800 <= c < 0xE000]
    for pattern, digits, template in [("o200k", "rtl3", "a{0}A {0}Ab1'{0}"), ("cl100k", "none", "'{0}1 {0}\n")]:
        pre = Pretokenizer(pattern, digits)
        spec = pre.to_hf()
        step = 1 << 15
        for i in range(0, len(cps), step):
            chunk = cps[i:i + step]
            text = "".join(template.format(c) for c in chunk)
            ours = list(itertools.accumulate(map(len, pre.split(text))))
            if ours != hf_ends(spec, text):  # find the culprit for a readable failure
                for c in chunk:
                    t = template.format(c)
                    assert pre.split(t) == hf_split(spec, t), (pattern, digits, hex(ord(c)))
                pytest.fail("pieces differ only in context")


@pytest.mark.parametrize("pattern", [
    r"\p{L}+", r"[^\s]+", r"a*|bc", r"x*", r"(?=a)", r"a|(?=n)", r"\s*", r"^a|a$", r"(a)|(b)", r"\d+",
    r"(?i:ss)|[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+",
])
def test_custom_patterns_equal_hf(pattern):
    pre = Pretokenizer(pattern, "rtl3")
    spec = pre.to_hf()

    @settings(max_examples=60, deadline=None)
    @given(texts)
    @example("abc banana\na\naa")
    @example("aßb ẞA ﬆc STRASSE")
    @example("CamelCaseiPhone")  # an empty match far from the previous match is kept (rust-onig's rule)
    def check(text):
        assert pre.split(text) == hf_split(spec, text)

    check()


@pytest.mark.parametrize("pattern", [r"[\p{Lo}]+", r"\p{Ll}+", r"[^\p{L}\s]+|\p{Greek}+", r"\P{Cn}+", r"[\p{Han}\d]+"])
def test_custom_patterns_use_hf_data_on_differing_code_points(pattern):
    """U+0295 is Ll for Oniguruma, Lo for regex >= 2025; Unicode 17+ letters are unassigned for HF."""
    pre = Pretokenizer(pattern, "none")
    for text in ["a\u0295", "ab\u0558cd", "x\U00016ea0\u03bb\u4e00\U000323b0 12", "".join(DIFFERING)]:
        assert pre.split(text) == hf_split(pre.to_hf(), text), (pattern, text)


def test_plain_bytelevel_is_gpt2():
    spec = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    pre = Pretokenizer.from_hf(spec)
    assert pre == Pretokenizer("gpt2") and pre.pattern == "gpt2"
    text = "Hello world, it's 2024!  I'M here \r\n\x85 ½ 'ſ"
    assert pre.split(text) == hf_split(spec, text)


# ---------------------------------------------------------------------------------------------
# behaviour


@pytest.mark.parametrize("pattern,digits", COMBOS + [(r"\p{L}+|(?=1)", "rtl3"), (r"[a-z]+", "none")])
@settings(max_examples=100, deadline=None)
@given(text=texts)
def test_join_is_lossless(pattern, digits, text):
    pieces = Pretokenizer(pattern, digits).split(text)
    assert "".join(pieces) == text
    assert all(pieces)


def test_digit_policies_on_examples():
    cases = {
        "none": ["1234567"],
        "single": ["1", "2", "3", "4", "5", "6", "7"],
        "ltr3": ["123", "456", "7"],
        "rtl3": ["1", "234", "567"],
    }
    for digits, want in cases.items():
        assert Pretokenizer("gpt2", digits).split("1234567") == want
    assert Pretokenizer("whitespace", "rtl3").split("x 12345 ab1234") == ["x", " ", "12", "345", " ab", "1", "234"]
    assert Pretokenizer("cl100k", "rtl3").split("1234") == ["1", "234"]
    assert Pretokenizer("cl100k", "none").split("1234") == ["123", "4"]
    assert Pretokenizer("cl100k", "ltr3").split("١٢٣٤٥") == ["١٢٣", "٤٥"]
    assert Pretokenizer("o200k", "rtl3").split("12,345,678") == ["12", ",", "345", ",", "678"]
    assert Pretokenizer("gpt2", "single").split("x²³") == ["x", "²", "³"]
    for d in ("single", "ltr3", "rtl3"):  # no zero-width matches: fast path is exact
        assert not regex.search(DIGIT_PATTERNS[d], "a") and regex.fullmatch(DIGIT_PATTERNS[d], "1")


def test_presets_on_examples():
    assert Pretokenizer("gpt2").split("I'm  fine") == ["I", "'m", " ", " fine"]
    assert Pretokenizer("cl100k").split("DON'T stop\n\n  now") == ["DON", "'T", " stop", "\n\n", " ", " now"]
    assert Pretokenizer("o200k").split("HTTPServer's camelCase") == ["HTTPServer's", " camel", "Case"]
    assert Pretokenizer("whitespace").split("a  b\n c") == ["a", " ", " b", "\n", " c"]


def test_o200k_pharyngeal_rewrite():
    """ʕ is Ll for Oniguruma, Lo for regex: the o200k preset lists it explicitly so both agree."""
    text = "ʕAb ʕa Aʕb ʕ•ᴥ•ʔ"
    assert Pretokenizer("o200k").split(text) == hf_split(Pretokenizer("o200k").to_hf(), text)
    assert Pretokenizer("o200k").split("ʕAb") == ["ʕAb"]


def test_presets_never_match_empty_and_cover_text():
    for name, pat in PRESETS.items():
        rx = regex.compile(pat)
        for text in ["", " ", "a", "\n", "'", "\u0301", "\x00", "\ufdd0"]:
            assert all(m.end() > m.start() for m in rx.finditer(text)), name
        assert "".join(rx.findall("a\u0301 '\x00\ufdd0\n")) == "a\u0301 '\x00\ufdd0\n"

    @settings(max_examples=200, deadline=None)
    @given(st.lists(single_char, max_size=40).map("".join))
    def covers(text):
        for pat in PRESETS.values():
            assert "".join(portable_regex.compile(pat, FLAGS).findall(text)) == text

    covers()


def test_empty_text():
    assert Pretokenizer().split("") == []


# ---------------------------------------------------------------------------------------------
# errors, round trips


def test_bad_pattern_and_policy():
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        Pretokenizer("(unclosed")
    with pytest.raises(ConfigError, match="rtl3"):
        Pretokenizer("cl100k", "rtl4")
    with pytest.raises(ConfigError):
        Pretokenizer("")
    for bad in [r"\w+", r"\b\p{L}+", r"[\W]", r"\h", r"a\Z", r"[[:punct:]]+", r"[[:^digit:]]"]:
        with pytest.raises(ConfigError, match="differently in Hugging Face"):
            Pretokenizer(bad)
    Pretokenizer(r"\\w+")  # an escaped backslash followed by w is fine


@pytest.mark.parametrize("pattern,digits", COMBOS + [(r"\p{L}+|\p{N}", "single")])
def test_round_trips(pattern, digits):
    pre = Pretokenizer(pattern, digits)
    back = Pretokenizer.from_hf(json.loads(json.dumps(pre.to_hf())))
    assert back == pre and back.pattern == pattern and back.digits == digits
    assert Pretokenizer.from_config(json.loads(json.dumps(pre.config()))) == pre
    assert pickle.loads(pickle.dumps(pre)) == pre
    assert hash(back) == hash(pre)
    # HF accepts what we write
    hf_pre_tokenizer(pre.to_hf())


def test_from_config_keeps_saved_regex():
    old = {"pattern": "gpt2", "regex": r"\p{L}+", "digits": "none"}
    assert Pretokenizer.from_config(old).regex == r"\p{L}+"
    with pytest.raises(ModelFormatError):
        Pretokenizer.from_config({"digits": "none"})
    with pytest.raises(ModelFormatError):
        Pretokenizer.from_config({"pattern": "cl100k", "digits": "nope"})


def test_from_hf_accepts_and_rejects():
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
    split = {"type": "Split", "pattern": {"Regex": PRESETS["cl100k"]}, "behavior": "Isolated", "invert": False}
    digit = {"type": "Split", "pattern": {"Regex": DIGIT_PATTERNS["single"]}, "behavior": "Isolated",
             "invert": False}
    assert Pretokenizer.from_hf({"type": "Sequence", "pretokenizers": [split, bl]}) == Pretokenizer("cl100k")
    assert Pretokenizer.from_hf({"type": "Sequence", "pretokenizers": [digit, {**bl, "use_regex": True}]}) == \
        Pretokenizer("gpt2", "single")
    assert Pretokenizer.from_hf({"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False}) == \
        Pretokenizer("gpt2")

    def rejects(obj, word):
        with pytest.raises(ModelFormatError, match=word):
            Pretokenizer.from_hf(obj)

    rejects(None, "pre_tokenizer")
    rejects({"type": "Whitespace"}, "Whitespace")
    rejects({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, bl]}, "Digits")
    rejects({"type": "Sequence", "pretokenizers": [split]}, "Split")
    rejects({**bl, "add_prefix_space": True}, "add_prefix_space")
    rejects(bl, "regex")
    rejects({"type": "Sequence", "pretokenizers": [{**split, "behavior": "Removed"}, bl]}, "Removed")
    rejects({"type": "Sequence", "pretokenizers": [{**split, "invert": True}, bl]}, "invert")
    rejects({"type": "Sequence", "pretokenizers": [{**split, "pattern": {"String": " "}}, bl]}, "String")
    rejects({"type": "Sequence", "pretokenizers": [split, split, bl]}, "digit")
    rejects({"type": "Sequence", "pretokenizers": [digit, digit, split, bl]}, "3 regex splits")
    rejects({"type": "Sequence", "pretokenizers": [{**split, "pattern": {"Regex": r"\w+"}}, bl]}, r"\\w")


# ---------------------------------------------------------------------------------------------
# the byte-level table (tokforge.text.bytelevel)


def test_bytelevel_table_matches_hf():
    assert len(set(BYTE_TO_CHAR)) == 256 and all(CHAR_TO_BYTE[c] == b for b, c in enumerate(BYTE_TO_CHAR))
    assert set(BYTE_TO_CHAR) == set(tokenizers.pre_tokenizers.ByteLevel.alphabet())
    data = bytes(range(256)) + "héllo wörld 👍".encode()
    hf = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    assert bytes_to_visible(data[256:]) == "".join(p for p, _ in hf.pre_tokenize_str(data[256:].decode()))
    assert visible_to_bytes(bytes_to_visible(data)) == data
    with pytest.raises(ModelFormatError, match="U\\+0041|byte-level"):
        visible_to_bytes("\u0100\u4e00")


def test_byte_order_is_hf_trainer_order():
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = tokenizers.trainers.BpeTrainer(vocab_size=256, show_progress=False,
                                             initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["a"], trainer)
    vocab = tok.get_vocab()
    assert [vocab[BYTE_TO_CHAR[b]] for b in BYTE_ORDER] == list(range(256))
