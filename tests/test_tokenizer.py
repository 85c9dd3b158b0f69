"""Tokenizer behaviour: round trips, special tokens, saving/loading, errors, determinism."""
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tokforge
from tokforge.errors import ConfigError, InputError, ModelFormatError

from conftest import CORPORA


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_decode_encode_round_trip(default_trained, text):
    tok, _ = default_trained
    assert tok.decode(tok.encode(text)) == text


def test_special_tokens_are_never_split(default_trained):
    tok, _ = default_trained
    eot = tok.special_tokens["<|endoftext|>"]
    ids = tok.encode("a<|endoftext|><|endoftext|>b")
    assert ids.count(eot) == 2
    assert tok.decode(ids, skip_special_tokens=True) == "ab"


def test_native_save_load_is_identical(default_trained, tmp_path):
    tok, folder = default_trained
    again = tokforge.Tokenizer.load(folder / "tokforge.json")
    assert again.model.vocab == tok.model.vocab and again.model.merges == tok.model.merges
    assert again.pretokenizer == tok.pretokenizer and again.normalizer == tok.normalizer
    assert again.training == tok.training


def test_training_is_reproducible(tmp_path):
    a = tokforge.train(str(CORPORA / "tr"), vocab_size=600, seed=3)
    b = tokforge.train(str(CORPORA / "tr"), vocab_size=600, seed=3)
    assert a.model.merges == b.model.merges
    assert a.training["held_out"] == b.training["held_out"]


def test_vocab_size_and_ids_layout(default_trained):
    tok, _ = default_trained
    assert tok.vocab_size == 1500
    assert tok.special_tokens == {"<|endoftext|>": 0}
    assert tok.id_to_token(1) == "!" and tok.token_to_id("Ġ") is not None


def test_encode_errors(default_trained):
    tok, _ = default_trained
    with pytest.raises(InputError, match="surrogate"):
        tok.encode("a\ud800b")
    with pytest.raises(InputError, match="not in the vocabulary"):
        tok.decode([10**9])
    with pytest.raises(InputError, match="str"):
        tok.encode(b"bytes")


def test_load_errors(tmp_path):
    with pytest.raises(ModelFormatError, match="no such file"):
        tokforge.Tokenizer.load(tmp_path / "missing")
    bad = tmp_path / "tokforge.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelFormatError, match="JSON"):
        tokforge.Tokenizer.load(bad)
    bad.write_text(json.dumps({"format_version": 1, "algorithm": "bpe"}), encoding="utf-8")
    with pytest.raises(ModelFormatError, match="not a valid tokforge model"):
        tokforge.Tokenizer.load(bad)
    bad.write_text(json.dumps({"model": {"type": "WordPiece", "vocab": {}}}), encoding="utf-8")
    with pytest.raises(ModelFormatError, match="WordPiece"):
        tokforge.Tokenizer.load(bad)


def test_config_errors():
    with pytest.raises(ConfigError, match="unknown configuration keys"):
        tokforge.train(str(CORPORA / "tr"), vocab_sise=500)
    with pytest.raises(ConfigError, match="held_out"):
        tokforge.TrainConfig(held_out=0.9)


def test_max_token_length_is_respected():
    tok = tokforge.train(str(CORPORA / "tr"), vocab_size=800, max_token_length=4)
    assert max(len(t) for i, t in enumerate(tok.model.vocab) if i not in tok.special_tokens.values()) <= 4


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=40), max_size=30))
def test_encode_batch_fast_path_equals_encode(default_trained, monkeypatch, texts):
    tok, _ = default_trained
    import tokforge.tokenizer as module
    monkeypatch.setattr(module, "FAST_PATH_MIN_CHARS", 0)
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]


def test_encode_batch_on_corpus_lines(default_trained, corpus_files):
    tok, _ = default_trained
    lines = [line for p in corpus_files for line in p.read_text(encoding="utf-8").splitlines(keepends=True)]
    batch = tok.encode_batch(lines[:20000])
    assert batch == [tok.encode(t) for t in lines[:20000]]
