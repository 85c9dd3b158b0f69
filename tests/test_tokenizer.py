"""Tokenizer behaviour: round trips, special tokens, saving/loading, errors, determinism."""
import json

import numpy as np
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


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"])
def test_decode_takes_numpy_integer_arrays_and_scalars(default_trained, dtype):
    tok, _ = default_trained
    ids = tok.encode("Merhaba dünya! 12 ok")
    small = [i for i in ids if i < 128]  # every id fits int8
    assert tok.decode(np.array(small, dtype)) == tok.decode(small)
    assert tok.decode([np.dtype(dtype).type(i) for i in small]) == tok.decode(small)
    assert tok.decode(np.dtype(dtype).type(small[0])) == tok.decode(small[:1])
    assert tok.id_to_token(np.dtype(dtype).type(small[0])) == tok.id_to_token(small[0])
    assert tok.decode_bytes(np.array(small, dtype)) == tok.decode_bytes(small)


def test_decode_takes_shard_slices_and_batch_outputs(default_trained, tmp_path):
    tok, _ = default_trained
    texts = ["Merhaba dünya!\n", "kitaplar\n"] * 300
    batch = tok.encode_batch(texts)
    flat = np.concatenate([np.array(ids, np.uint16) for ids in batch])
    np.save(tmp_path / "ids.npy", flat)
    shard = np.load(tmp_path / "ids.npy", mmap_mode="r")
    assert tok.decode(shard[:len(batch[0])]) == texts[0]
    assert tok.decode(np.array(batch[1])) == texts[1]


@pytest.mark.parametrize("ids, message", [
    ([True], r"got a bool \(True\) at position 0"),
    ([3, np.bool_(False)], r"got a bool \(False\) at position 1"),
    (np.array([True, False]), "numpy array of bool"),
    (True, "got a bool"),
    ([45.0], r"got float \(45.0\) at position 0"),
    (np.array([45.0, 46.0]), "numpy array of float64"),
    (np.float32(3), "got float32"),
    (["45"], r"got str \('45'\)"),
    ("45", "got str"),
    (np.array([[1, 2], [3, 4]]), r"one sequence \(a 1-d array\), got an array of shape \(2, 2\)"),
    (np.array([1, -1]), "token id -1 is not in the vocabulary"),
    (np.array([2**40], np.int64), f"token id {2**40} is not in the vocabulary"),
])
def test_decode_refuses_bools_floats_and_other_non_ids(default_trained, ids, message):
    tok, _ = default_trained
    with pytest.raises(InputError, match=message):
        tok.decode(ids)


def test_a_pickled_model_leaves_its_tables_behind_and_encodes_the_same(default_trained):
    """Worker processes get a model by pickle: its fields travel, its lookup tables are built again."""
    import pickle
    tok, _ = default_trained
    model = tok.model
    text = "Pickled models encode the same: 12345 ünïcode."
    ids = tok.encode(text)
    bare = len(pickle.dumps(type(model)(**{f: getattr(model, f) for f in ("vocab", "merges", "special_tokens")})))
    copy = pickle.loads(pickle.dumps(model))
    assert len(pickle.dumps(model)) <= bare + 64   # the tables built by encoding are not in it
    assert copy == model and tokforge.Tokenizer(copy, tok.normalizer, tok.pretokenizer,
                                               numbers=tok.numbers).encode(text) == ids
