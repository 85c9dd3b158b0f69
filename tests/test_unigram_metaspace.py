"""The sentencepiece-style Unigram layout (pattern "metaspace"): HF's Metaspace pre-tokenizer and a
Unigram model with byte fallback, exactly as transformers encodes it."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tokforge
from tokforge.errors import ConfigError, ModelFormatError
from tokforge.kernels import rng, unigram_sample
from tokforge.kernels import unigram_lattice as lattice
from tokforge.models.unigram import UNK_TOKEN, UnigramModel
from tokforge.models.unigram_trainer import with_byte_fallback
from tokforge.packed import lengths_of, offsets_from_lengths
from tokforge.sampling.stochastic import Sampling, StochasticEncoder
from tokforge.text.pretokenizers import Pretokenizer

from conftest import CORPORA
from reference import (ReferenceStream, reference_expand, reference_fallback_lattice, reference_fallback_viterbi,
                       reference_nbest, reference_sampled_path)
from test_hf_parity import texty
from test_pretokenizers import hf_pre_tokenizer

transformers = pytest.importorskip("transformers")
MARK = "\u2581"


@pytest.fixture(scope="module", params=[{}, {"normalizer": ("nfkc",), "special_tokens": ("<pad>", "<|endoftext|>")}],
                ids=["plain", "nfkc-specials"])
def metaspace_pair(request, tmp_path_factory):
    """(tokforge metaspace Unigram tokenizer, transformers tokenizer from its saved folder, folder)."""
    tok = tokforge.train(str(CORPORA), algo="unigram", vocab_size=1200, pattern="metaspace", **request.param)
    folder = tmp_path_factory.mktemp("metaspace")
    tok.save(folder)
    return tok, transformers.AutoTokenizer.from_pretrained(str(folder)), folder


def expected_text(tok, text: str) -> str:
    """What decode gives back: the normalized text, a literal '▁' read as a space (as HF does)."""
    return tok.normalizer.normalize(text).replace(MARK, " ")


# characters the corpus lacks (byte fallback), the marks and the strings of byte and unknown tokens
rare = st.sampled_from(["\U0001F600", "\u4E2D\u6587", "\U00010348", "\u0915\u094D", MARK, MARK + MARK + "x",
                        "<0x41>", "<0xF0>", UNK_TOKEN, "\uff1cpad\uff1e", " <unk> ", "\u00a0\u3000"])
metaspace_texts = st.lists(st.one_of(texty, rare), max_size=6).map("".join)


def test_layout_and_files(metaspace_pair):
    tok, _, folder = metaspace_pair
    assert tok.vocab_size == 1200 and tok.model.byte_fallback and UNK_TOKEN in tok.special_tokens
    base = tok.model.byte_base
    assert [tok.id_to_token(base + b) for b in (0, 0x41, 0xFF)] == ["<0x00>", "<0x41>", "<0xFF>"]
    doc = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    assert doc["pre_tokenizer"]["type"] == "Metaspace" and doc["model"]["byte_fallback"] is True
    assert doc["model"]["unk_id"] == tok.special_tokens[UNK_TOKEN]
    pieces = [t for t, _ in doc["model"]["vocab"][base + 256:]]
    assert any(t.startswith(MARK) for t in pieces) and not any(" " in t for t in pieces)


def test_corpus_files_encode_identically_in_transformers(metaspace_pair, corpus_files):
    tok, hf, _ = metaspace_pair
    for path in corpus_files:
        text = path.read_text(encoding="utf-8")
        ours = tok.encode(text)
        assert hf.encode(text, add_special_tokens=True) == ours, path.name
        assert tok.decode(ours) == expected_text(tok, text) == hf.decode(ours)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(metaspace_texts)
def test_generated_strings_encode_identically_in_transformers(metaspace_pair, text):
    tok, hf, _ = metaspace_pair
    ids = tok.encode(text)
    assert hf.encode(text, add_special_tokens=True) == ids
    assert hf.decode(ids) == tok.decode(ids)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=40), metaspace_texts))
def test_round_trip(metaspace_pair, text):
    tok, _, _ = metaspace_pair
    assert tok.decode(tok.encode(text)) == expected_text(tok, text)


def test_unknown_characters_become_their_byte_tokens(metaspace_pair):
    tok, _, _ = metaspace_pair
    emoji = "\U0001F600"
    assert tok.token_to_id(emoji) is None
    ids = tok.encode("x" + emoji)
    assert ids[-4:] == [tok.model.byte_base + b for b in emoji.encode()]


def test_tokenizer_json_with_another_decoder_or_unk_is_refused(metaspace_pair):
    from tokforge.formats.hf import read_hf_json
    _, _, folder = metaspace_pair
    doc = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    with pytest.raises(ModelFormatError, match="Metaspace pre-tokenizer"):
        read_hf_json({**doc, "decoder": {"type": "ByteLevel"}}, "x.json")
    with pytest.raises(ModelFormatError, match="unk_id"):
        read_hf_json({**doc, "model": {**doc["model"], "unk_id": None}}, "x.json")


def test_native_and_tokenizer_json_reload_the_same_model(metaspace_pair, corpus_files):
    tok, _, folder = metaspace_pair
    text = corpus_files[0].read_text(encoding="utf-8")[:20000] + " \U0001F600 " + MARK
    for path in (folder / "tokforge.json", folder / "tokenizer.json"):
        again = tokforge.Tokenizer.load(path)
        assert again.model.vocab == tok.model.vocab and again.model.byte_fallback
        assert again.special_tokens == tok.special_tokens and again.pretokenizer == tok.pretokenizer
        assert again.encode(text) == tok.encode(text)


def test_encode_batch_equals_encode(metaspace_pair, corpus_files):
    tok, _, _ = metaspace_pair
    lines = corpus_files[3].read_text(encoding="utf-8").splitlines(keepends=True)[:2000]
    assert tok.encode_batch(lines) == [tok.encode(t) for t in lines]


def test_nbest_and_sampling_keep_the_text_and_start_from_viterbi(metaspace_pair, corpus_files):
    tok, _, _ = metaspace_pair
    for text in ["kitaplar \U0001F600 evler", "x \u4e2d\u6587 y", "the cat"]:
        results = tok.encode_nbest(text, 4)
        assert results[0][0] == tok.encode(text) and len(results) >= 1
        assert all(tok.decode(ids) == expected_text(tok, text) for ids, _ in results)
    text = corpus_files[0].read_text(encoding="utf-8")[:3000] + " \U0001F600\U0001F600 "
    viterbi = StochasticEncoder(tok, Sampling(unigram_alpha=0.5, unigram_nbest=1), seed=1).encode(text)
    assert viterbi == tok.encode(text)
    for nbest in (-1, 5):
        encoder = StochasticEncoder(tok, Sampling(unigram_alpha=0.1, unigram_nbest=nbest), seed=1)
        sampled = encoder.encode(text, example_id=3)
        assert tok.decode(sampled) == expected_text(tok, text) and sampled != viterbi
        assert sampled == StochasticEncoder(tok, Sampling(unigram_alpha=0.1, unigram_nbest=nbest), seed=1).encode(
            text, example_id=3)


def test_stochastok_never_splits_into_byte_tokens(metaspace_pair, corpus_files):
    tok, _, _ = metaspace_pair
    text = corpus_files[0].read_text(encoding="utf-8")[:3000]
    ids = StochasticEncoder(tok, Sampling(stochastok=0.5), seed=3).encode(text)
    base = tok.model.byte_base
    assert tok.decode(ids) == expected_text(tok, text) and len(ids) > len(tok.encode(text))
    assert sum(base <= i < base + 256 for i in ids) == sum(base <= i < base + 256 for i in tok.encode(text))


# -- the kernel against enumeration ---------------------------------------------------------------

chars = st.sampled_from(["a", "b", "\u00e9", "\u4e2d", "\U0001F600"])
strings = st.lists(chars, min_size=1, max_size=6).map("".join)


def fallback_model(vocab, scores, unk_score):
    """Pieces (whole characters) -> (piece -> id, kernel tables with the unknown pseudo-piece, lengths)."""
    pieces = sorted(vocab)
    ids = {p.encode(): i for i, p in enumerate(pieces)}
    keys = list(ids)
    trie = lattice.build_trie(np.frombuffer(b"".join(keys) or b"\0", np.uint8)[:sum(map(len, keys))],
                              offsets_from_lengths(lengths_of(keys)), np.arange(len(keys), dtype=np.int32))
    scores = np.array([float(x) for x in scores[:len(pieces)]], np.float64)
    unk = len(pieces)
    lengths = np.append(lengths_of(keys), 0)
    return ids, trie + (np.append(scores, float(unk_score)), unk), scores, lengths


fallback_vocab = st.sets(strings.filter(lambda s: len(s) <= 3), max_size=10)
int_scores = st.lists(st.integers(-6, -1), min_size=10, max_size=10)


@settings(max_examples=300, deadline=None)
@given(fallback_vocab, int_scores, st.lists(strings, min_size=1, max_size=5), st.integers(-12, -7))
def test_fallback_viterbi_matches_enumeration_with_ties(vocab, scores, words, unk_score):
    ids, tables, scores, lengths = fallback_model(vocab, scores, unk_score)
    encoded = [w.encode() for w in words]
    buf, bounds = np.frombuffer(b"".join(encoded), np.uint8), offsets_from_lengths(lengths_of(encoded))
    out, out_bounds = lattice.viterbi_words(buf, bounds, *tables)
    out, out_bounds = lattice.expand_unknown(out, out_bounds, buf, bounds[:-1], lengths, tables[-1], 100)
    for j, word in enumerate(encoded):
        assert out[out_bounds[j]:out_bounds[j + 1]].tolist() == reference_fallback_viterbi(word, ids, scores,
                                                                                          unk_score, 100)


@settings(max_examples=200, deadline=None)
@given(fallback_vocab, int_scores, strings, st.integers(-12, -7), st.integers(0, 6))
def test_fallback_nbest_matches_enumeration_with_ties(vocab, scores, word, unk_score, n):
    ids, tables, scores, lengths = fallback_model(vocab, scores, unk_score)
    word = word.encode()
    extended, all_scores, unknown = reference_fallback_lattice(word, ids, scores, unk_score)
    got_ids, got_bounds, got_scores = lattice.nbest_word(np.frombuffer(word, np.uint8), *tables, n)
    got_ids, got_bounds = lattice.expand_unknown(got_ids, got_bounds, np.frombuffer(word, np.uint8),
                                                 np.zeros(len(got_scores), np.int64), lengths, tables[-1], 100)
    got = [(got_ids[got_bounds[k]:got_bounds[k + 1]].tolist(), float(got_scores[k])) for k in range(len(got_scores))]
    assert got == [(reference_expand(path, unknown, 100), score)
                   for path, score in reference_nbest(word, extended, all_scores, n)]


@settings(max_examples=150, deadline=None)
@given(fallback_vocab, int_scores, st.lists(strings, min_size=1, max_size=4), st.integers(-12, -7),
       st.sampled_from([0.5, 1.0, 2.0]), st.sampled_from([-1, 1, 3]), st.integers(0, (1 << 64) - 1))
def test_fallback_sampling_matches_the_reference_on_the_same_stream(vocab, scores, words, unk_score, alpha, nbest,
                                                                    seed):
    ids, tables, scores, lengths = fallback_model(vocab, scores, unk_score)
    encoded = [w.encode() for w in words]
    buf, bounds = np.frombuffer(b"".join(encoded), np.uint8), offsets_from_lengths(lengths_of(encoded))
    seeds = rng.sub_seeds(np.array([seed], np.uint64), np.array([len(words)]))
    out, out_bounds = unigram_sample.sample_words(buf, bounds, *tables, alpha, nbest, seeds)
    out, out_bounds = lattice.expand_unknown(out, out_bounds, buf, bounds[:-1], lengths, tables[-1], 100)
    for j, word in enumerate(encoded):
        extended, all_scores, unknown = reference_fallback_lattice(word, ids, scores, unk_score)
        path = reference_sampled_path(word, extended, all_scores, alpha, nbest, ReferenceStream(int(seeds[j])))
        assert out[out_bounds[j]:out_bounds[j + 1]].tolist() == reference_expand(path, unknown, 100)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.sampled_from(" a\nb\u00e9\u4e2d\u2581\t"), max_size=10), min_size=1, max_size=4))
def test_metaspace_byte_scan_equals_split(docs):
    pre = Pretokenizer("metaspace")
    encoded = [d.encode() for d in docs]
    buf = b"".join(encoded)
    bounds = pre.scan_bytes(buf, offsets_from_lengths(lengths_of(encoded)))
    if bounds is None:  # a literal mark: only split() can turn it into a space
        assert any(MARK in d for d in docs)
        return
    assert [buf[i:j].decode() for i, j in zip(bounds[:-1], bounds[1:])] == [p for d in docs for p in pre.split(d)]


# -- configuration and layout ------------------------------------------------------------------

def test_config_errors_and_unk():
    assert tokforge.TrainConfig(algo="unigram", pattern="metaspace").special_tokens == ("<|endoftext|>", UNK_TOKEN)
    with pytest.raises(ConfigError, match="metaspace.*unigram"):
        tokforge.TrainConfig(algo="bpe", pattern="metaspace")


@settings(max_examples=300, deadline=None)
@given(st.one_of(metaspace_texts, st.text(st.sampled_from(" 0123456789a\u0663\u00b2\u2581,."), max_size=30)),
       st.sampled_from(["single", "ltr3", "rtl3"]))
def test_digit_policy_before_metaspace_splits_as_hf(text, digits):
    """A digit policy with the metaspace layout: a digit Split before HF's Metaspace, the same pieces."""
    pre = Pretokenizer("metaspace", digits=digits)
    assert [p["type"] for p in pre.to_hf()["pretokenizers"]] == ["Split", "Metaspace"]
    pieces = [p.replace(MARK, " ") for p, _ in hf_pre_tokenizer(pre.to_hf()).pre_tokenize_str(text)]
    assert pre.split(text) == pieces
    assert Pretokenizer.from_hf(pre.to_hf()) == pre
    assert pre.scan_bytes(text.encode(), np.array([0, len(text.encode())])) is None and not pre.has_scanner


def test_with_byte_fallback_gives_exactly_the_vocab_size_and_whole_characters():
    pieces = [bytes([b]) for b in range(256)] + ["é".encode(), b" a", b"<0x41>", "中".encode()[:2]]
    model = UnigramModel(pieces, [-9.0] * 256 + [-1.0, -2.0, -0.5, -0.1])
    fb = with_byte_fallback(model, 300)
    assert len(fb.vocab) == 300 and fb.special_tokens == {UNK_TOKEN: 0}
    learned = fb.vocab[257:]
    assert learned[:2] == ["é".encode(), b" a"] and b"<0x41>" not in learned and "中".encode()[:2] not in learned
    assert all(len(p) > 1 or p[0] < 0x80 for p in learned)
    with pytest.raises(ConfigError, match="at most"):
        with_byte_fallback(UnigramModel(pieces[:256], [-1.0] * 256), 1000)
    with pytest.raises(ModelFormatError, match="byte token"):
        UnigramModel.from_vocab_list([[UNK_TOKEN, None], ["x", -1.0]] + [[f"<0x{b:02X}>", None] for b in range(256)],
                                     {UNK_TOKEN: 0}, "test", byte_fallback=True)
