"""Unigram: the trainer, Viterbi/n-best encoding, saving/loading and exact transformers parity."""
import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

import tokforge
from tokforge.cli import main
from tokforge.counting.words import WordCounts
from tokforge.errors import ConfigError, ModelFormatError
from tokforge.models.unigram import UnigramModel
from tokforge.models.unigram_trainer import train_unigram
from tokforge.sampling.stochastic import Sampling, StochasticEncoder
from tokforge.text.numbers import MARKERS

from conftest import CORPORA, PIPELINES
from test_hf_parity import texty

transformers = pytest.importorskip("transformers")
UNIGRAM_PIPELINES = ["default", "gpt2-nfc-rtl3", "whitespace-nfkc-ltr3", "cl100k-nfkc-collapse"]


@pytest.fixture(scope="module", params=UNIGRAM_PIPELINES)
def unigram_pair(request, tmp_path_factory):
    """(tokforge Unigram tokenizer, transformers tokenizer from its saved folder, folder)."""
    tok = tokforge.train(str(CORPORA), algo="unigram", vocab_size=1500, **PIPELINES[request.param])
    folder = tmp_path_factory.mktemp("unigram-" + request.param)
    tok.save(folder)
    return tok, transformers.AutoTokenizer.from_pretrained(str(folder)), folder


@pytest.fixture(scope="module")
def small_words():
    corpus = tokforge.Corpus(str(CORPORA / "tr"))
    from tokforge.text.normalizers import Normalizer
    from tokforge.text.pretokenizers import Pretokenizer
    from tokforge.text.specials import SpecialSplitter
    return tokforge.feed(corpus, Normalizer("none"), Pretokenizer("cl100k"), SpecialSplitter({}))


def test_corpus_files_encode_identically_in_transformers(unigram_pair, corpus_files):
    tok, hf, _ = unigram_pair
    assert tok.algorithm == "unigram" and tok.vocab_size == 1500
    for path in corpus_files:
        text = path.read_text(encoding="utf-8")
        ours = tok.encode(text)
        assert hf.encode(text, add_special_tokens=True) == ours, path.name
        assert tok.decode(ours) == tok.normalizer.normalize(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texty)
def test_generated_strings_encode_identically_in_transformers(unigram_pair, text):
    tok, hf, _ = unigram_pair
    ids = tok.encode(text)
    assert hf.encode(text, add_special_tokens=True) == ids
    assert hf.decode(ids) == tok.decode(ids)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_round_trip(unigram_pair, text):
    tok, _, _ = unigram_pair
    assert tok.decode(tok.encode(text)) == tok.normalizer.normalize(text)


def test_native_and_tokenizer_json_reload_the_same_model(unigram_pair, corpus_files):
    tok, _, folder = unigram_pair
    native = json.loads((folder / "tokforge.json").read_text(encoding="utf-8"))
    assert native["algorithm"] == "unigram" and "merges" not in native
    for path in (folder / "tokforge.json", folder / "tokenizer.json"):
        again = tokforge.Tokenizer.load(path)
        assert again.model.vocab == tok.model.vocab and again.model.scores == tok.model.scores
        assert again.special_tokens == tok.special_tokens and again.pretokenizer == tok.pretokenizer
        text = corpus_files[0].read_text(encoding="utf-8")[:20000]
        assert again.encode(text) == tok.encode(text)
    assert tokforge.Tokenizer.load(folder / "tokforge.json").training == tok.training


def test_encode_batch_equals_encode(unigram_pair, corpus_files, monkeypatch):
    tok, _, _ = unigram_pair
    import tokforge.tokenizer as module
    monkeypatch.setattr(module, "FAST_PATH_MIN_CHARS", 0)
    lines = corpus_files[3].read_text(encoding="utf-8").splitlines(keepends=True)[:3000]
    assert tok.encode_batch(lines) == [tok.encode(t) for t in lines]


def test_nbest_starts_with_viterbi_and_is_sorted(unigram_pair):
    tok, _, _ = unigram_pair
    for word in [b" kitaplar", b" the", b"\xe4\xb8\xad\xe6\x96\x87", b"12"]:
        paths = tok.model.nbest(word, 6)
        assert paths[0][0] == tok.model.encode_pieces([word])[0]
        scores = [s for _, s in paths]
        assert scores == sorted(scores, reverse=True) and len({tuple(p) for p, _ in paths}) == len(paths)
        assert all(b"".join(tok.model.vocab[i] for i in p) == word for p, _ in paths)


@pytest.mark.parametrize("vocab_size", [300, 700, 2000])
def test_trainer_gives_exactly_vocab_size_and_is_deterministic(small_words, vocab_size):
    a = train_unigram(small_words, vocab_size, special_tokens=["<s>", "</s>"])
    b = train_unigram(small_words, vocab_size, special_tokens=["<s>", "</s>"])
    assert len(a.vocab) == vocab_size == len(set(a.vocab)) and a.special_tokens == {"<s>": 0, "</s>": 1}
    assert a.vocab == b.vocab and a.scores == b.scores
    assert sorted(a.vocab[2:258]) == [bytes([i]) for i in range(256)]
    learned = a.scores[258:]
    assert learned == sorted(learned, reverse=True) and max(learned) < 0


def test_max_token_length_and_characters(small_words):
    model = train_unigram(small_words, 600, max_token_length=4)
    assert max(len(p) for p in model.vocab) <= 4
    model = train_unigram(small_words, 600, max_piece_chars=3)
    assert max(len(p.decode("utf-8")) for p in model.vocab[256:]) <= 3


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(st.sampled_from("abcé中 "), min_size=1, max_size=8), st.integers(1, 30),
                       min_size=1, max_size=30), st.integers(256, 280))
def test_small_corpora_give_exactly_vocab_size_or_say_how_much_they_can(counts, vocab_size):
    wc = WordCounts.from_dict(counts)
    try:
        model = train_unigram(wc, vocab_size, min_frequency=1)
    except ConfigError as e:
        most = int(str(e).split("at most ")[1].split(",")[0])
        assert most < vocab_size
        model = train_unigram(wc, most, min_frequency=1)
        vocab_size = most
    assert len(model.vocab) == vocab_size == len(set(model.vocab))
    for word in counts:
        ids = model.encode_pieces([word.encode()])[0]
        assert b"".join(model.vocab[i] for i in ids) == word.encode()


def test_training_reduces_the_loss_of_the_words(small_words):
    """EM at work: the learned model explains the words better than bytes alone would."""
    model = train_unigram(small_words, 800)
    words = [small_words.word(i) for i in range(len(small_words))]
    counts = small_words.counts.tolist()
    pieces = model.encode_pieces(words)
    n_tokens = sum(len(p) * c for p, c in zip(pieces, counts))
    assert n_tokens < 0.5 * sum(len(w) * c for w, c in zip(words, counts))


def test_cli_train_unigram(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["train", str(CORPORA / "tr"), "--algo", "unigram", "--vocab-size", "600",
                                       "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "bytes/token" in result.output and "training" in result.output
    info = json.loads(CliRunner().invoke(main, ["info", str(out), "--json"]).output)
    assert info["algorithm"].startswith("unigram") and info["vocab_size"] == 600
    ids = CliRunner().invoke(main, ["encode", str(out), "kitaplarımızdan"]).output.split()
    assert CliRunner().invoke(main, ["decode", str(out), *ids]).output == "kitaplarımızdan"
    assert "unigram" in CliRunner().invoke(main, ["train", "--help"]).output
    result = CliRunner().invoke(main, ["export", str(out / "tokforge.json"), "-o", str(tmp_path / "hf")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "hf" / "tokenizer.json").read_text() == (out / "tokenizer.json").read_text()


def test_errors(small_words, tmp_path):
    with pytest.raises(ConfigError, match="at least 258"):
        train_unigram(small_words, 257, special_tokens=["a", "b"])
    with pytest.raises(ConfigError, match="larger than the corpus supports"):
        train_unigram(WordCounts.from_dict({"ab": 3}), 300)
    with pytest.raises(ModelFormatError, match="256 single-byte"):
        UnigramModel([b"a"], [-1.0]).tables()
    with pytest.raises(ModelFormatError, match="finite"):
        UnigramModel([bytes([i]) for i in range(256)], [float("nan")] * 256).tables()
    with pytest.raises(ConfigError, match="algo"):
        tokforge.TrainConfig(algo="wordpiece")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.sampled_from("ab çş1<|endoftext|>"), max_size=12), st.integers(1, 5))
def test_encode_nbest_of_texts(unigram_pair, text, n):
    tok, _, _ = unigram_pair
    results = tok.encode_nbest(text, n)
    assert results[0][0] == tok.encode(text)
    assert 1 <= len(results) <= n and len({tuple(ids) for ids, _ in results}) == len(results)
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)
    for ids, _ in results:
        assert tok.decode(ids) == tok.normalizer.normalize(text)


def test_results_do_not_depend_on_the_number_of_threads(small_words, monkeypatch):
    import tokforge.models.unigram_em as module
    models = []
    for threads in (1, 3):
        monkeypatch.setattr(module.os, "cpu_count", lambda: threads)
        models.append(train_unigram(small_words, 700))
    assert models[0].vocab == models[1].vocab and models[0].scores == models[1].scores


def test_special_token_made_by_the_normalizer_is_not_a_piece_in_transformers(tmp_path):
    """NFKC turns fullwidth <pad> into <pad> after special tokens are matched; with a split that
    keeps it whole, HF's lattice sees the special token's string: its score keeps it out."""
    tok = tokforge.train(str(CORPORA / "tr"), algo="unigram", vocab_size=600, pattern=r"\S+|\s+",
                         normalizer=("nfkc",), special_tokens=("<pad>", "<|endoftext|>"))
    tok.save(tmp_path)
    hf = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    for text in ["\uff1cpad\uff1e", "x\uff1c|endoftext|\uff1e y", "<pad> \uff1cpad\uff1e<pad>"]:
        assert hf.encode(text) == tok.encode(text)
        assert tok.special_tokens["<pad>"] not in tok.encode("\uff1cpad\uff1e")


def test_arbitrary_bytes_and_no_words():
    """Words need not be UTF-8 (bytes are always pieces); no words at all still gives the bytes."""
    import random
    rng = random.Random(1)
    counts = {bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12))): rng.randrange(1, 9) for _ in range(300)}
    model = train_unigram(WordCounts.from_dict(counts), 300, min_frequency=1)
    assert len(model.vocab) == 300
    for word, ids in zip(counts, model.encode_pieces(list(counts))):
        assert b"".join(model.vocab[i] for i in ids) == word
    assert len(train_unigram(WordCounts.from_dict({}), 257, special_tokens=["<s>"]).vocab) == 257


@pytest.mark.parametrize("pattern", ["cl100k", "metaspace"])
def test_number_stage_with_unigram_n_best_and_sampling_keep_the_stage(pattern, tmp_path):
    """Unigram with tst-marker (both layouts): the n-best list and Unigram sampling go through the number
    stage too (markers are their byte tokens, triads never merge with the text around them)."""
    text = "Pay 1,234,567.891 now, 42 or 2024 items.\n" * 30 + "Total 10,000 and 3.14159 with 7 cats.\n" * 30
    (tmp_path / "numbers.txt").write_text(text, encoding="utf-8")
    tok = tokforge.train(str(tmp_path / "numbers.txt"), algo="unigram", pattern=pattern, numbers="tst-marker",
                         vocab_size=300, workers=1)
    sample = "Pay 1,234,567.891 now, 10,000 cats"
    ids = tok.encode(sample)
    marker = tok._reserved_id(MARKERS[3])  # <e3>
    assert marker in ids and tok.decode([marker]) == "" and tok.decode(ids) == sample
    best = tok.encode_nbest(sample, 3)
    assert best[0][0] == ids and all(tok.decode(b) == sample for b, _ in best)
    sampled = StochasticEncoder(tok, Sampling(unigram_alpha=0.5), seed=1).encode(sample)
    assert tok.decode(sampled) == sample and sampled.count(marker) == ids.count(marker)
