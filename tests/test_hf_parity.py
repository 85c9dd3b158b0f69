"""Exported tokenizer.json gives exactly tokforge's ids in transformers (offline)."""
import json
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import pre_tokenizers, trainers, Regex, models

import tokforge
from tokforge.text.bytelevel import bytes_to_visible
from tokforge.text.pretokenizers import PRESETS

transformers = pytest.importorskip("transformers")


def _assigned(c: str) -> bool:
    # Python 3.11 knows Unicode 14; characters it does not know may be letters to a newer engine
    return unicodedata.category(c) not in ("Cn", "Cs")


texty = st.lists(
    st.one_of(
        st.characters(codec="utf-8").filter(_assigned),
        st.sampled_from(list(" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000'’sdtSDT0123456789٣१,.!?-_ſK")),
        st.sampled_from(["<|endoftext|>", "<pad>", "<|im_start|>", "<|endoftext", "  ", "\r\n", "'s", "'LL"]),
    ),
    max_size=40,
).map("".join)


@pytest.fixture(scope="module")
def hf_pair(trained):
    tok, folder = trained
    return tok, transformers.AutoTokenizer.from_pretrained(str(folder))


def test_corpus_files_encode_identically(hf_pair, corpus_files):
    tok, hf = hf_pair
    for path in corpus_files:
        text = path.read_text(encoding="utf-8")
        ours = tok.encode(text)
        assert hf.encode(text, add_special_tokens=True) == ours, path.name
        assert tok.decode(ours) == tok.normalizer.normalize(text)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texty)
def test_generated_strings_encode_identically(hf_pair, text):
    tok, hf = hf_pair
    ids = tok.encode(text)
    assert hf.encode(text, add_special_tokens=True) == ids
    assert hf.decode(ids) == tok.decode(ids)


def test_reimported_tokenizer_json_is_the_same_tokenizer(trained, corpus_files):
    tok, folder = trained
    again = tokforge.Tokenizer.load(folder / "tokenizer.json")
    assert again.model.vocab == tok.model.vocab and again.model.merges == tok.model.merges
    text = corpus_files[0].read_text(encoding="utf-8")[:20000]
    assert again.encode(text) == tok.encode(text)


def test_merges_equal_hf_bpe_trainer(corpus_files):
    """HF's BpeTrainer as an oracle: same pretokenization, same lines -> same merges and vocab."""
    lines = [line for p in corpus_files for line in p.read_text(encoding="utf-8").splitlines(keepends=True)]
    tok = tokforge.train(lines_corpus(lines), vocab_size=3000, held_out=0.0)
    hf = HFTokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRESETS["cl100k"]), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    hf.train_from_iterator(lines, trainers.BpeTrainer(
        vocab_size=3000, min_frequency=2, show_progress=False, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    model = json.loads(hf.to_str())["model"]
    ours = [[bytes_to_visible(tok.model.vocab[a]), bytes_to_visible(tok.model.vocab[b])] for a, b in tok.model.merges]
    assert [list(m) for m in model["merges"]] == ours
    assert model["vocab"] == {tok.id_to_token(i): i for i in range(tok.vocab_size)}


def lines_corpus(lines):
    from datasets import Dataset
    return Dataset.from_dict({"text": lines})
