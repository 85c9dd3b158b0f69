"""Each evaluation metric on a tiny example whose value is worked out by hand (in the comments)."""
import math

import numpy as np
import pytest

from tokforge.errors import ConfigError, InputError
from tokforge.eval import metrics
from tokforge.eval.adapters import TextBatch
from tokforge.eval.evaluate import Options, evaluate, evaluate_gold, evaluate_parallel, parallel_files
from tokforge.eval.gold import GoldSet, parse_tsv

from handmade import hand_tokenizer

# " iç" as one token, "ç" as one token: "çay iç\n" -> ç|a|y| iç|\n
CAY = [(b"\xc3", b"\xa7"), (" ", "i"), (" i", "ç")]


def corpus(tmp_path, files):
    """A corpus folder: {"domain/file.txt": text}."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def only_row(report, tokenizer=None):
    rows = [r for r in report.rows if tokenizer is None or r["tokenizer"] == tokenizer]
    assert len(rows) == 1
    return rows[0]


def test_word_spans_follow_str_split_and_document_breaks():
    text = "a\u00a0bc\u3000d  e\n"  # NBSP and ideographic space are whitespace for str.split()
    starts, ends = metrics.word_spans(metrics.TextIndex.of(text))
    data = text.encode()
    assert [data[s:e].decode() for s, e in zip(starts, ends)] == text.split() == ["a", "bc", "d", "e"]
    s, e = metrics.word_spans(metrics.TextIndex.of("abcd"), breaks=[2])
    assert (s.tolist(), e.tolist()) == ([0, 2], [2, 4])


def test_bytes_and_chars_per_token(tmp_path):
    # "çay iç\n" is 9 bytes (ç is 2) and 7 characters; tokens ç|a|y| iç|\n are 5
    report = evaluate([hand_tokenizer(CAY)], [corpus(tmp_path, {"tr/a.txt": "çay iç\n"})], Options(sample_words=0))
    row = only_row(report)
    assert (row["bytes"], row["chars"], row["tokens"]) == (9, 7, 5)
    assert row["bytes_per_token"] == 9 / 5 and row["chars_per_token"] == 7 / 5
    assert metrics.ratio(9, 5) == 1.8 and metrics.ratio(1, 0) is None


def test_fertility_and_continued_words(tmp_path):
    # words "çay" (tokens ç, a, y) and "iç" (token " iç"): 5 tokens / 2 words; 1 of 2 words continued
    row = only_row(evaluate([hand_tokenizer(CAY)], [corpus(tmp_path, {"tr/a.txt": "çay iç\n"})],
                            Options(sample_words=0)))
    assert row["words"] == 2 and row["fertility"] == 2.5 and row["continued_words"] == 0.5
    # spans: the|" "|cat|s|" sat": "the" 1 token, "cats" 2, "sat" 1 (the space of " sat" is outside the word)
    counts = metrics.tokens_per_span(np.array([0, 3, 4, 7, 8]), np.array([3, 4, 7, 8, 12]),
                                     np.array([0, 4, 9]), np.array([3, 8, 12]))
    assert counts.tolist() == [1, 2, 1] and metrics.continued_words(counts) == 1


def test_vocab_utilisation_and_renyi_efficiency(tmp_path):
    # 5 distinct ids (ç, a, y, " iç", \n) of 256 + 3 used once each
    tok = hand_tokenizer(CAY)
    row = only_row(evaluate([tok], [corpus(tmp_path, {"tr/a.txt": "çay iç\n"})], Options(sample_words=0)))
    assert tok.vocab_size == 259 and row["vocab_used"] == 5 / 259
    # uniform over 5 used ids: H_alpha = ln 5 for every alpha
    assert row["renyi_efficiency"] == pytest.approx(math.log(5) / math.log(259))
    assert metrics.vocab_utilisation(np.array([3, 0, 1, 0])) == 0.5
    # p = (1/2, 1/4, 1/4, 0), alpha 2: sum p^2 = 3/8, H_2 = ln(8/3), over ln 4
    assert metrics.renyi_efficiency(np.array([2, 1, 1, 0]), alpha=2.0) == pytest.approx(math.log(8 / 3) / math.log(4))
    # p = (3/4, 1/4), alpha 2.5, |V| = 2: ln(0.75^2.5 + 0.25^2.5) / (1 - 2.5) / ln 2 = 0.6319...
    assert metrics.renyi_efficiency(np.array([3, 1])) == pytest.approx(0.63192, abs=1e-5)
    # alpha 1 is Shannon efficiency: two equally frequent ids of two
    assert metrics.renyi_efficiency(np.array([5, 5]), alpha=1.0) == pytest.approx(1.0)
    assert metrics.renyi_efficiency(np.array([0, 0])) is None


def test_token_premium_on_parallel_text(tmp_path):
    # bytes-only tokenizer: en "ab" + "c" = 3 tokens, tr "abcd" + "ef" = 6 tokens -> premium 2
    par = corpus(tmp_path, {"en.txt": "ab\nc\n", "tr.txt": "abcd\nef\n"})
    rows = evaluate_parallel([hand_tokenizer()], parallel_files(par, Options()))
    premium = {r["language"]: (r["tokens"], r["premium"]) for r in rows}
    assert premium == {"en": (3, 1.0), "tr": (6, 2.0)}
    rows = evaluate_parallel([hand_tokenizer()], parallel_files(par, Options()), reference="tr")
    assert {r["language"]: r["premium"] for r in rows} == {"en": 0.5, "tr": 1.0}


def test_parallel_files_must_be_line_aligned(tmp_path):
    par = corpus(tmp_path, {"en.txt": "a\nb\n", "tr.txt": "a\n"})
    with pytest.raises(InputError, match="not line-aligned.*en 2, tr 1"):
        parallel_files(par, Options())


def test_valid_word_tokens(tmp_path):
    # "ev evler kitap\n": ev | " ev" ler | " " k i t a p | \n; letter-bearing distinct tokens:
    # ev, " ev", ler, k, i, t, a, p (8); in the word list {ev, kitap, a}: ev, " ev", a (3)
    tok = hand_tokenizer([("e", "v"), (" ", "ev"), ("l", "e"), ("le", "r")])
    options = Options(sample_words=0, wordlist={"ev", "kitap", "a"})
    row = only_row(evaluate([tok], [corpus(tmp_path, {"tr/a.txt": "ev evler kitap\n"})], options))
    assert row["valid_word_tokens"] == 3 / 8
    assert metrics.valid_word_tokens([" Kitap", "lar", "42", " "], {"kitap"}) == (1, 2)


@pytest.mark.parametrize("text, folded_tr", [
    ("İSTANBUL", "istanbul"), ("ISPARTA", "ısparta"), ("Işık", "ışık"), ("İzmir", "izmir"),
    ("IĞDIR", "ığdır"), ("kitap", "kitap"), ("KİTAPLIK", "kitaplık"), ("ÇĞÖŞÜ", "çğöşü"), ("Straße", "straße"),
])
def test_turkish_case_folding_by_hand(text, folded_tr):
    from tokforge.text.casing import fold_case
    assert fold_case(text, "tr") == fold_case(text, "az") == folded_tr
    assert fold_case(text) == text.casefold()  # the default is unchanged


def test_turkish_case_folding_agrees_with_the_turkish_rule_set():
    from tokforge.text.casing import fold_case
    from tokforge.models.morph.rules import load_rules
    tr = load_rules("tr")
    for word in ["İSTANBUL", "ISPARTA", "Işık", "ığdır", "ÖĞRETMENLİK", "x86"]:
        assert fold_case(word, "tr") == tr.lower(word)
        assert tr.upper(fold_case(word, "tr")) == tr.upper(word)


def test_unknown_fold_language_names_the_choices():
    from tokforge.text.casing import fold_case
    with pytest.raises(ConfigError, match="choose one of tr, az"):
        fold_case("x", "de")


def test_valid_word_tokens_with_turkish_folding():
    words = {"istanbul", "ısparta", "ev"}
    surfaces = [" İSTANBUL", " ISPARTA", "EV", " Isparta", " İstanbul", "42"]
    # every letter-bearing surface folds onto a listed word in tr; casefold misses the I forms
    assert metrics.valid_word_tokens(surfaces, words, "tr") == (5, 5)
    assert metrics.valid_word_tokens(surfaces, words) == (1, 5)  # only "EV": İ -> i̇, I -> i
    reference = sum(1 for s in set(surfaces) if any(c.isalpha() for c in s)
                    and s.strip().replace("I", "ı").replace("İ", "i").lower() in words)
    assert reference == 5


GOLD = "evler\tev ler\nkitaplar\tkitap lar\n"


def test_pure_tokens_and_boundary_scores():
    # " evler" -> " "|ev|ler: boundary 3 (ev|ler) predicted and gold; both tokens pure.
    # " kitaplar" -> " "|k|i|t|a|pl|a|r: predicted 2,3,4,5,7,8; gold 6 (kitap|lar) is inside "pl":
    # tp 1 of 7 predicted and 2 gold; pure 2 + 6 of 2 + 7 tokens.
    tok = hand_tokenizer([("e", "v"), ("l", "e"), ("le", "r"), ("p", "l")])
    row = evaluate_gold(tok, GoldSet("gold.tsv", parse_tsv(GOLD.splitlines()), 0))
    assert row["tokens"] == 9 and row["pure_tokens"] == 8 / 9
    assert row["boundary_precision"] == 1 / 7 and row["boundary_recall"] == 1 / 2
    assert row["boundary_f1"] == pytest.approx(2 / 9)
    assert metrics.pure_tokens([0, 4, 6], [4, 6, 11], 1, 11, {6, 9}) == (2, 3)
    assert metrics.boundary_counts({4, 6}, {6, 9}) == (1, 2, 2)
    assert metrics.precision_recall_f1(0, 0, 3) == (None, 0.0, None)
    assert metrics.precision_recall_f1(0, 2, 3) == (0.0, 0.0, 0.0)


def test_non_unique_encodings(tmp_path):
    # "abc ab\n" with merges ab, bc: "abc" -> ab|c, and a|bc is as short: non-unique;
    # "ab" -> ab, the only one-token spelling: unique. 1 of 2 words; none could be shorter.
    tok = hand_tokenizer([("a", "b"), ("b", "c")])
    row = only_row(evaluate([tok], [corpus(tmp_path, {"en/a.txt": "abc ab\n"})], Options()))
    assert row["lattice_words"] == 2 and row["non_unique"] == 0.5 and row["not_shortest"] == 0.0
    vocab = {b"a", b"b", b"c", b"ab", b"bc", b"abc"}
    assert metrics.segmentation_counts(b"abc", vocab, 3) == [0, 1, 2, 1]
    assert metrics.has_alternative(b"abc", 2, vocab) == (True, True)   # "abc" itself is shorter


def test_number_splitting(tmp_path):
    text = "7 42 1234567\n"
    merges = [("2", "3"), ("23", "4"), ("5", "6"), ("56", "7")]
    # cl100k cuts digits left to right in threes: 7 | 4 2 | 1 23 | 4 56 | 7 -> pieces 1, 2, 5
    ltr = hand_tokenizer(merges, name="ltr")
    # rtl3 digits: 1 | 234 | 567 -> the triads; 42 -> 4 2; 7 -> 7 -> pieces 1, 2, 3
    rtl = hand_tokenizer(merges, name="rtl", digits="rtl3")
    report = evaluate([ltr, rtl], [corpus(tmp_path, {"n/a.txt": text})], Options(sample_words=0))
    a, b = only_row(report, "ltr"), only_row(report, "rtl")
    assert a["numbers"] == 3 and a["number_pieces"] == 8 / 3 and a["numbers_rtl3"] == 1 / 3
    assert b["number_pieces"] == 2.0 and b["numbers_rtl3"] == 2 / 3
    assert b["numbers_by_length"] == {"1": {"count": 1, "pieces": 1.0, "rtl3": 1.0},
                                      "2": {"count": 1, "pieces": 2.0, "rtl3": 0.0},
                                      "7": {"count": 1, "pieces": 3.0, "rtl3": 1.0}}
    report = evaluate([rtl], [corpus(tmp_path, {"n/a.txt": text})], Options(sample_words=0, max_digits=4))
    assert set(only_row(report)["numbers_by_length"]) == {"1", "2", "4+"}
    # 1234|567: the one cut is on a triad boundary, but 1|234 is missing: not aligned
    pieces, aligned = metrics.number_pieces(np.array([0, 4]), np.array([4, 7]), np.array([0]), np.array([7]))
    assert pieces.tolist() == [2] and aligned.tolist() == [False]
    runs = metrics.digit_runs(metrics.TextIndex.of(text))
    assert [r.tolist() for r in runs] == [[0, 2, 5], [1, 4, 12]]


def test_domains_and_the_all_row(tmp_path):
    root = corpus(tmp_path, {"tr/a.txt": "çay iç\n", "tr/b.txt": "iç\n", "en/a.txt": "tea\n", "loose.txt": "x\n",
                             "README.md": "not a corpus file\n"})
    report = evaluate([hand_tokenizer(CAY)], [root], Options(sample_words=0))
    rows = {r["domain"]: r for r in report.rows}
    assert list(rows) == ["en", "loose", "tr", "ALL"]
    assert rows["tr"]["bytes"] == 9 + 4 and rows["ALL"]["bytes"] == 13 + 4 + 2
    assert rows["ALL"]["tokens"] == sum(rows[d]["tokens"] for d in ("en", "loose", "tr"))


def test_hf_offsets_become_byte_spans():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from tokforge.eval.adapters import HFTokenizer

    hf = Tokenizer(models.WordPiece({"[UNK]": 0, "ç": 1, "##ay": 2, "iç": 3}, unk_token="[UNK]"))
    hf.pre_tokenizer = pre_tokenizers.Whitespace()
    enc = HFTokenizer(hf, "wp", "<memory>").encode(TextBatch.of(["çay ", "iç"]))
    # "çay " is bytes 0..5, "iç" bytes 5..8: ç [0,2) ay [2,4) iç [5,8)
    assert enc.ids.tolist() == [1, 2, 3]
    assert enc.starts.tolist() == [0, 2, 5] and enc.ends.tolist() == [2, 4, 8] and enc.bounds.tolist() == [0, 2, 3]


def test_a_tokforge_model_with_a_normalizer_is_measured_on_the_original_text(tmp_path):
    # lowercase: "ÇAY IÇ\n" is encoded as "çay iç\n" -> ç|a|y| iç|\n, spans mapped back to the original
    from tokforge.eval.adapters import from_tokforge
    from tokforge.text.normalizers import Normalizer

    plain = hand_tokenizer(CAY).tok
    plain.normalizer = Normalizer(("lowercase",))
    tok = from_tokforge(plain, "lower")
    assert tok.kind.startswith("tokforge (normalizer")
    enc = tok.encode(TextBatch.of(["ÇAY IÇ\n"]))
    assert enc.starts.tolist() == [0, 2, 3, 4, 8] and enc.ends.tolist() == [2, 3, 4, 8, 9]
    row = only_row(evaluate([tok], [corpus(tmp_path, {"tr/a.txt": "ÇAY IÇ\n"})], Options(sample_words=0)))
    assert (row["bytes"], row["tokens"], row["words"], row["continued_words"]) == (9, 5, 2, 0.5)


from hypothesis import given, settings, strategies as st


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab ç\n\t\u00a0中1"), max_size=30), st.data())
def test_word_spans_and_overlaps_agree_with_brute_force(text, data):
    index = metrics.TextIndex.of(text)
    starts, ends = metrics.word_spans(index)
    raw = text.encode()
    assert [raw[s:e].decode() for s, e in zip(starts, ends)] == text.split()
    # random tokens: cut the bytes anywhere (also inside characters)
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(raw)), max_size=12))) | {0, len(raw)})
    ts, te = np.array(cuts[:-1], np.int64), np.array(cuts[1:], np.int64)
    brute = [sum(1 for a, b in zip(ts, te) if a < e and b > s) for s, e in zip(starts, ends)]
    assert metrics.tokens_per_span(ts, te, starts, ends).tolist() == brute
