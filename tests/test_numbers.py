"""Numbers: digit policies against a reference, and Triadic Suffix Tokenization (tokforge/text/numbers.py):
the stage against a character-by-character reference and against arithmetic, its inverse, the
tokenizer round trip, transformers parity of the exported tst-marker, the tst-vocab export error,
the CLI."""
from __future__ import annotations

import json
import re
import unicodedata
from decimal import Decimal

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings, strategies as st

import tokforge
from tokforge.cli import main
from tokforge.errors import ConfigError, ExportError, ModelFormatError
from tokforge.text.numbers import MARKERS, NUMBER_MODES, TriadicSuffixStage
from tokforge.text.pretokenizers import DIGIT_POLICIES, PRESETS, Pretokenizer

from conftest import CORPORA
from reference import reference_digit_groups, reference_tst

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
STAGES = {mode: TriadicSuffixStage(mode) for mode in NUMBER_MODES if mode != "none"}
EXPONENT = {c: e for e, c in MARKERS.items()}
TRIAD = re.compile("([0-9]{1,3})([\x0e-\x18])")


def _known(c: str) -> bool:
    # assigned in Python 3.11's Unicode 14 (the reference's categories) and so known to HF's Oniguruma
    return unicodedata.category(c) not in ("Cn", "Cs")


# ---- strategies -------------------------------------------------------------------------------
digit_runs = st.text("0123456789", min_size=1, max_size=22)
integers = st.integers(0, 10**20).map(str)
grouped = st.integers(0, 10**21).map(lambda n: f"{n:,}")
decimals = st.tuples(st.one_of(integers, grouped), st.text("0123456789", min_size=1, max_size=17)).map(".".join)
numbers = st.one_of(digit_runs, integers, grouped, decimals)
GLUE = [" ", "", ",", ".", "-", "+", "$", "%", "x", "v", "_", "e", "E", "\n", "٣", "²", "½", "\u0301", "é", "中",
        "\x0e", "\x13", "\x18", "\x1a", "\x1a!", "!", "1", ",5", ".5", ",123", ".000", "..", ",,", "(", ")", "/", ":",
        " 1 234", "1.2.3", "0x1F", "'", "\t", "\u00a0"]
number_text = st.lists(st.one_of(numbers, st.sampled_from(GLUE),
                                 st.text(st.characters(codec="utf-8").filter(_known), max_size=3)),
                       max_size=14).map("".join)


# ---- digit policies ---------------------------------------------------------------------------
digit_policy_text = st.lists(st.one_of(st.text("0123456789", min_size=1, max_size=12),
                                       st.sampled_from(["٣٤٥", "²", "①", " ", "a", "x", ",", ".", "-", "\n", "é", "_"])),
                             max_size=12).map("".join)


def _numeric_runs(text: str) -> list[str]:
    runs, current = [], ""
    for c in text:
        if unicodedata.category(c)[0] == "N":
            current += c
        elif current:
            runs.append(current)
            current = ""
    return runs + ([current] if current else [])


@pytest.mark.parametrize("pattern", list(PRESETS))
@pytest.mark.parametrize("digits", [d for d in DIGIT_POLICIES if d != "none"])
@EXAMPLES
@given(text=digit_policy_text)
@example(text="1234567 x 12,345.6789")
def test_digit_pieces_are_the_reference_groups_of_each_digit_run(pattern, digits, text):
    """Every piece holding a digit is a whole group of the reference cut of its run: digit splits
    depend on the run only, never on the text around it."""
    pieces = Pretokenizer(pattern, digits).split(text)
    with_digits = [p for p in pieces if any(unicodedata.category(c)[0] == "N" for c in p)]
    assert with_digits == [g for run in _numeric_runs(text) for g in reference_digit_groups(run, digits)]


@pytest.mark.parametrize("digits", ["single", "ltr3", "rtl3"])
@EXAMPLES
@given(run=digit_runs, before=st.sampled_from(["", " ", "x", "$", "(", "-", "a b ", "\n"]),
       after=st.sampled_from(["", " ", "x", "%", ")", ".", "km", "\n"]))
def test_digit_split_of_a_run_ignores_its_surroundings(digits, run, before, after):
    alone = Pretokenizer("cl100k", digits).split(run)
    around = Pretokenizer("cl100k", digits).split(before + run + after)
    assert [p for p in around if p.isdigit()] == alone == reference_digit_groups(run, digits)


# ---- the TST stage ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", list(STAGES))
@settings(max_examples=600, deadline=None)
@given(text=number_text)
@example(text="Pay 1,234,567.891 now, x86 v1.2.3 0x1F 1e9 007 .5 1,2,3 ١5 \x0e\x1a!")
def test_stage_equals_reference_and_inverts(mode, text):
    stage = STAGES[mode]
    staged = stage.apply(text)
    assert staged == reference_tst(text, stage.max_fraction_digits)
    assert stage.inverse(staged) == text
    assert stage.inverse_bytes(staged.encode()) == text.encode()


@given(st.text())
def test_inverse_undoes_apply_on_any_text(text):
    stage = STAGES["tst-marker"]
    assert stage.inverse(stage.apply(text)) == text


def _value(staged: str) -> Decimal:
    """The value of one staged number from its triads and markers alone (commas and point ignored)."""
    total = Decimal(0)
    for triad, marker in TRIAD.findall(staged):
        e = EXPONENT[marker]
        # an integer triad ends at 10^e; a fraction triad starts right after 10^(e+3)
        total += Decimal(int(triad)).scaleb(e if e >= 0 else e + 3 - len(triad))
    return total


@pytest.mark.parametrize("mode", list(STAGES))
@EXAMPLES
@given(number=st.one_of(st.integers(0, 10**18 - 1).map(str), st.integers(0, 10**18 - 1).map(lambda n: f"{n:,}"),
                        st.tuples(st.integers(0, 10**18 - 1).map(str), st.text("0123456789", min_size=1, max_size=9)
                                  ).map(".".join), digit_runs.filter(lambda r: len(r) <= 18)))
def test_every_number_in_range_gets_triads_of_its_value_with_the_right_markers(mode, number):
    staged = STAGES[mode].apply(number)
    triads = TRIAD.findall(staged)
    assert _value(staged) == Decimal(number.replace(",", ""))
    assert "".join(t for t, _ in triads) == number.replace(",", "").replace(".", "")
    integer, _, fraction = number.replace(",", "").partition(".")
    want = [3 * k for k in reversed(range((len(integer) + 2) // 3))] + [-3 * (d + 1) for d in range((len(fraction) + 2) // 3)]
    assert [EXPONENT[m] for _, m in triads] == want
    n_integer = (len(integer) + 2) // 3  # only the head of the integer part and the end of the fraction may be short
    assert all(len(t) == 3 for t, _ in triads[1:n_integer]) and all(len(t) == 3 for t, _ in triads[n_integer:-1])


NEUTRAL_BEFORE = ["", " ", "$", "-", "+", "(", "=", ":", "\n", "ab ", "x86 ", "1.2.3 ", "\x0e"]
NEUTRAL_AFTER = ["", " ", "%", ")", ";", "!", "\n", " km", ". ", ", ", " 42"]


@pytest.mark.parametrize("mode", list(STAGES))
@EXAMPLES
@given(number=numbers, before=st.sampled_from(NEUTRAL_BEFORE), after=st.sampled_from(NEUTRAL_AFTER))
def test_a_numbers_triads_and_markers_do_not_depend_on_the_text_around_it(mode, number, before, after):
    stage = STAGES[mode]
    assert stage.apply(before + number + after) == stage.apply(before) + stage.apply(number) + stage.apply(after)


@pytest.mark.parametrize("text", ["x86", "v1.2.3", "0x1F", "3rd", "10km", "1e9", "snake_2", "1.2.3", "192.168.0.1",
                                  "1,2,3", "12,34", "1,2345", "1.234.567", ".5", "١٢٣", "5\u0301",
                                  "1234567890123456789", "1,234,567,890,123,456,789", "0.1234567890123456"])
def test_identifiers_dotted_sequences_and_out_of_range_numbers_are_left_alone(text):
    assert STAGES["tst-marker"].apply(text) == text


def test_examples_of_the_documented_choices():
    stage = STAGES["tst-marker"]
    show = lambda t: re.sub("[\x0e-\x18]", lambda m: f"<{EXPONENT[m.group()]}>", stage.apply(t))
    assert show("1234567") == "1<6>234<3>567<0>"
    assert show("-1,234.5") == "-1<3>,234<0>.5<-3>"
    assert show("1 234 567") == "1<0> 234<0> 567<0>"
    assert show("0012") == "0<3>012<0>"
    assert show("0.123456789012345") == "0<0>.123<-3>456<-6>789<-9>012<-12>345<-15>"
    assert show("2024-01-15") == "2<3>024<0>-01<0>-15<0>"
    assert STAGES["tst-vocab"].apply("0.1234567891") == "0.1234567891"  # tst-vocab covers 9 decimals
    assert len(STAGES["tst-vocab"].reserved_tokens()) == 9990 <= 10_000
    assert len(set(STAGES["tst-vocab"].reserved_tokens())) == 9990
    assert STAGES["tst-marker"].reserved_tokens() == []


@settings(max_examples=400, deadline=None)
@given(text=number_text)
def test_exported_normalizer_is_the_stage_in_hf(text):
    """The Replace chain of tokenizer.json, run by HF's normalizer, gives exactly the staged text."""
    assert _hf_normalizer().normalize_str(text) == STAGES["tst-marker"].apply(text)


_HF = {}


def _hf_normalizer():
    if "n" not in _HF:
        doc = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "pre_tokenizer": None,
               "normalizer": {"type": "Sequence", "normalizers": STAGES["tst-marker"].hf_parts()["normalizers"]},
               "post_processor": None, "decoder": None,
               "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                         "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                         "ignore_merges": False, "vocab": {}, "merges": []}}
        _HF["n"] = tokenizers.Tokenizer.from_str(json.dumps(doc)).normalizer
    return _HF["n"]


# ---- tokenizers with a number stage ---------------------------------------------------------------
@pytest.fixture(scope="module")
def marker_tok(tmp_path_factory):
    tok = tokforge.train(str(CORPORA), vocab_size=1500, numbers="tst-marker", pattern="gpt2", digits="rtl3",
                         normalizer=("nfkc",), special_tokens=("<|endoftext|>", "<pad>"))
    folder = tmp_path_factory.mktemp("tst-marker")
    tok.save(folder)
    return tok, folder, transformers.AutoTokenizer.from_pretrained(str(folder))


@pytest.fixture(scope="module")
def vocab_tok(tmp_path_factory):
    tok = tokforge.train(str(CORPORA), vocab_size=10_800, numbers="tst-vocab")
    folder = tmp_path_factory.mktemp("tst-vocab")
    tok.save(folder, hf=False)
    return tok, folder


@EXAMPLES
@given(text=number_text)
def test_round_trip_with_tst_vocab(vocab_tok, text):
    tok, _ = vocab_tok
    assert tok.decode(tok.encode(text)) == text


@EXAMPLES
@given(text=number_text)
def test_round_trip_and_hf_parity_with_tst_marker(marker_tok, text):
    tok, _, hf = marker_tok
    ids = tok.encode(text)
    assert tok.decode(ids) == tok.normalizer.normalize(text)
    assert hf.encode(text) == ids
    assert hf.decode(ids) == tok.decode(ids)


def test_hf_parity_on_the_corpus(marker_tok, corpus_files):
    tok, _, hf = marker_tok
    for path in corpus_files:
        text = path.read_text(encoding="utf-8")
        ids = tok.encode(text)
        assert hf.encode(text) == ids, path.name
        assert hf.decode(ids) == tok.decode(ids) == tok.normalizer.normalize(text)


@pytest.mark.parametrize("number", ["7", "1234567", "-1,234.5", "0012", "999999999999999999.123456789",
                                    "3.14159", "1,000,000"])
def test_every_triad_is_one_fixed_token_in_tst_vocab(vocab_tok, number):
    tok, _ = vocab_tok
    ids = tok.encode(number)
    staged = STAGES["tst-vocab"].apply(number)
    fixed = [tok.model.vocab[i].decode() for i in ids if i in tok.model.special_tokens.values()]
    assert fixed == ["".join(u) for u in TRIAD.findall(staged)]
    assert all(tok.token_to_id(t) is not None for t in fixed)
    assert tok.decode(ids) == tok.decode(ids, skip_special_tokens=True) == number  # fixed tokens are not specials


@pytest.mark.parametrize("number", ["1234567", "-1,234.5", "0012", "3.14159"])
def test_every_triad_is_followed_by_its_marker_in_tst_marker(marker_tok, number):
    tok, _, _ = marker_tok
    tokens = [tok.model.vocab[i] for i in tok.encode(number)]
    markers = [t.decode() for t in tokens if len(t) == 1 and t.decode() in EXPONENT]
    assert markers == [m for _, m in TRIAD.findall(STAGES["tst-marker"].apply(number))]
    # a marker is a whole token and no learned token holds a marker byte
    learned = tok.model.vocab[len(tok.special_tokens) + 256:]
    assert not any(set(t) & {ord(c) for c in MARKERS.values()} for t in learned)


def test_markers_and_fixed_tokens_are_never_learned_from_the_text(vocab_tok):
    tok, _ = vocab_tok
    reserved = set(STAGES["tst-vocab"].reserved_tokens())
    assert {t for t in tok.model.special_tokens if t in reserved} == reserved
    assert tok.special_tokens == {"<|endoftext|>": 0}
    assert tok.model.special_tokens[STAGES["tst-vocab"].reserved_tokens()[0]] == 1  # right after the specials
    learned = tok.model.vocab[1 + 9990 + 256:]
    assert not any(set(t) & {ord(c) for c in MARKERS.values()} for t in learned)


def test_native_save_load_keeps_the_stage(vocab_tok, marker_tok):
    for tok, folder in [vocab_tok, marker_tok[:2]]:
        again = tokforge.Tokenizer.load(folder / "tokforge.json")
        assert again.numbers == tok.numbers and again.special_tokens == tok.special_tokens
        text = "Total: 1,234,567.25 EUR (x86, v1.2)"
        assert again.encode(text) == tok.encode(text)


def test_reimported_tokenizer_json_keeps_the_stage(marker_tok):
    tok, folder, _ = marker_tok
    again = tokforge.Tokenizer.load(folder / "tokenizer.json")
    assert again.numbers == tok.numbers and again.normalizer == tok.normalizer and again.pretokenizer == tok.pretokenizer
    text = (CORPORA / "en" / "python_tutorial_en.txt").read_text(encoding="utf-8")[:30000]
    assert again.encode(text) == tok.encode(text)


def test_tst_vocab_has_no_tokenizer_json_and_loads_through_tokforges_class(vocab_tok, tmp_path):
    """tokenizer.json cannot express tst-vocab (a clear ExportError, no approximate file); the model folder
    holds the files that load it in transformers through tokforge's class (tests/test_transformers.py)."""
    from tokforge.formats.hf import hf_files
    tok, _ = vocab_tok
    with pytest.raises(ExportError, match="tst-vocab.*cannot be exported.*(?s:transformers).*tst-marker"):
        hf_files(tok)
    tok.save(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "special_tokens_map.json", "tokenizer_config.json", "tokforge.json", "tokforge_tokenizer.py"]


def test_config_errors():
    with pytest.raises(ConfigError, match="numbers 'tst' is unknown"):
        tokforge.TrainConfig(numbers="tst")
    with pytest.raises(ConfigError, match="9,990 fixed number tokens.*at least 10247"):
        tokforge.TrainConfig(numbers="tst-vocab", vocab_size=8000)


def test_model_file_errors(vocab_tok, tmp_path):
    tok, folder = vocab_tok
    doc = json.loads((folder / "tokforge.json").read_text(encoding="utf-8"))
    del doc["vocab"][STAGES["tst-vocab"].reserved_tokens()[5]]
    bad = tmp_path / "tokforge.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ModelFormatError, match="fixed token"):
        tokforge.Tokenizer.load(bad)
    doc["numbers"] = "tst-nope"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ModelFormatError, match="tst-nope"):
        tokforge.Tokenizer.load(bad)


# ---- CLI -------------------------------------------------------------------------------------------
def test_cli_explain():
    out = CliRunner().invoke(main, ["numbers", "explain", "Pay 1234567.891 or 1,234.5 (x86)"])
    assert out.exit_code == 0, out.output
    rows = {line.split()[0]: line for line in out.output.splitlines()}
    assert "'1' '234' '567' '.' '891'" in rows["digits=rtl3"] and "'123' '456' '7'" in rows["digits=ltr3"]
    assert "'1' <e6> '234' <e3> '567' <e0> '.' '891' <e-3>" in rows["tst-marker"]
    assert "'1' <e3> ',' '234' <e0> '.' '5' <e-3>" in rows["tst-marker"]
    assert "[1 e6] [234 e3] [567 e0] '.' [891 e-3]" in rows["tst-vocab"]
    assert "'x' '86'" in rows["tst-marker"] and "'x' '86'" in rows["tst-vocab"]


def test_cli_train_with_numbers(tmp_path):
    runner = CliRunner()
    assert "--numbers" in runner.invoke(main, ["train", "--help"]).output
    corpus = [str(CORPORA / "en")]
    out = tmp_path / "vocab"
    result = runner.invoke(main, ["train", *corpus, "--vocab-size", "10300", "--numbers", "tst-vocab", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["special_tokens_map.json", "tokenizer_config.json",
                                                     "tokforge.json", "tokforge_tokenizer.py"]
    assert "tokenizer.json cannot express" in result.stderr and "trust_remote_code=True" in result.stderr
    result = runner.invoke(main, ["export", str(out), "-o", str(tmp_path / "hf")])
    assert result.exit_code != 0 and "cannot be exported" in result.output and "Traceback" not in result.output
    out = tmp_path / "marker"
    result = runner.invoke(main, ["train", *corpus, "--vocab-size", "600", "--numbers", "tst-marker", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "tokenizer.json").is_file()
    text = "Pay 1,234,567.891 now"
    ids = runner.invoke(main, ["encode", str(out), text]).output.split()
    assert runner.invoke(main, ["decode", str(out), *ids]).output == text
    shown = runner.invoke(main, ["encode", str(out), "--tokens", text]).output
    assert "<e6> ," in shown and "<e0> ." in shown and "<e-3>" in shown
    assert "numbers" in runner.invoke(main, ["info", str(out)]).output
