"""Unigram sampling: the kernel against a brute-force sampler fed the same random stream, sampled
frequencies against the exact distribution P(s) ∝ exp(alpha * score(s)), the pipeline contract
(decodes to the text, reproducible, nbest 1 / huge alpha = Viterbi), errors and the CLI."""
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

import tokforge
from reference import ReferenceStream, enumerate_unigram_sampling, reference_nbest, reference_sampled_path
from tokforge.cli import main
from tokforge.corpus import Corpus
from tokforge.errors import ConfigError
from tokforge.kernels import rng
from tokforge.kernels import unigram_lattice as lattice
from tokforge.kernels import unigram_sample
from tokforge.models.unigram import UnigramModel
from tokforge.packed import lengths_of, offsets_from_lengths
from tokforge.sampling.shards import write_shards
from tokforge.sampling.stochastic import Sampling, StochasticEncoder, example_seeds
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.tokenizer import Tokenizer

CORPORA = Path(__file__).resolve().parents[1] / "corpora"
seeds64 = st.integers(0, (1 << 64) - 1)

# ---- the kernel against the brute-force sampler, same stream -------------------------------------
small_words = st.lists(st.sampled_from([b"a", b"b", "\u00e9".encode()]), min_size=1, max_size=7).map(b"".join)
vocabularies = st.sets(small_words.filter(lambda w: len(w) <= 4), min_size=0, max_size=12)
half_scores = st.integers(-12, -1).map(lambda k: k / 2)   # exact sums: n-best ties are exact


def _lattice_model(vocab, scores):
    pieces = [b"a", b"b", b"\xc3", b"\xa9"] + sorted(set(vocab) - {b"a", b"b", b"\xc3", b"\xa9"})
    arena = np.frombuffer(b"".join(pieces), np.uint8)
    trie = lattice.build_trie(arena, offsets_from_lengths(lengths_of(pieces)), np.arange(len(pieces), dtype=np.int32))
    return {p: i for i, p in enumerate(pieces)}, trie, np.array(scores[:len(pieces)], np.float64)


@settings(max_examples=150, deadline=None)
@given(vocabularies, st.lists(half_scores, min_size=20, max_size=20), st.lists(small_words, min_size=1, max_size=5),
       st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.7]), st.sampled_from([-1, 0, 1, 2, 3, 6]), seeds64)
def test_sampler_matches_reference_on_the_same_stream(vocab, scores, words, alpha, nbest, seed):
    ids, trie, scores = _lattice_model(vocab, scores)
    seeds = rng.sub_seeds(np.array([seed], np.uint64), np.array([len(words)]))
    buf = np.frombuffer(b"".join(words), np.uint8)
    out, bounds = unigram_sample.sample_words(buf, offsets_from_lengths(lengths_of(words)), *trie, scores, -1,
                                              alpha, nbest, seeds)
    for j, word in enumerate(words):
        expected = reference_sampled_path(word, ids, scores, alpha, nbest, ReferenceStream(int(seeds[j])))
        assert out[bounds[j]:bounds[j + 1]].tolist() == expected


# ---- sampled frequencies against the exact distribution ------------------------------------------
EXTRA = [b"ab", b"bc", b"ca", b"abc", b"cab", b"bca", b"abca"]
EXTRA_SCORES = [-2.31, -3.07, -3.52, -4.13, -4.66, -5.21, -6.02]   # no ties among the best paths
BYTE_SCORE = -1.93


def _hand_model() -> UnigramModel:
    vocab = [bytes([b]) for b in range(256)] + EXTRA
    return UnigramModel(vocab, [BYTE_SCORE] * 256 + EXTRA_SCORES)


def _max_z(samples: list[tuple], exact: dict[tuple, float]) -> float:
    """The largest |frequency - probability| in standard errors over the outcomes; inf when an
    outcome outside the support was drawn."""
    n = len(samples)
    counts = Counter(samples)
    if not set(counts) <= {k for k, v in exact.items() if v > 0}:
        return math.inf
    return max(abs(counts[o] / n - p) / math.sqrt(max(p * (1 - p), 1e-12) / n) for o, p in exact.items())


N_SAMPLES = 20_000   # max |z| over ~20-50 outcomes under 4.5 fails by chance with probability < 1e-3


@pytest.mark.parametrize("word,alpha,nbest", [(b"abcab", 1.0, -1), (b"abcab", 0.5, -1), (b"abcab", 2.0, -1),
                                              (b"abcabca", 0.5, 0), (b"abcab", 1.0, 3), (b"abcabca", 2.0, 3)])
def test_frequencies_match_exact_enumeration(word, alpha, nbest):
    model = _hand_model()
    seeds = example_seeds(5, 0, range(N_SAMPLES), rng.UNIGRAM_SAMPLING)
    ids, bounds = model.encode_packed_sampled(word * N_SAMPLES, np.arange(N_SAMPLES + 1) * len(word), alpha, nbest,
                                              seeds)
    samples = [tuple(ids[bounds[k]:bounds[k + 1]].tolist()) for k in range(N_SAMPLES)]
    pieces = {p: i for i, p in enumerate(model.vocab)}
    exact = enumerate_unigram_sampling(word, pieces, model.scores, alpha, nbest if nbest > 1 else None)
    assert len(exact) == 3 if nbest == 3 else len(exact) >= 14
    assert _max_z(samples, exact) < 4.5
    # the check discriminates: the distribution of another alpha (HF's biased sampler's kind of
    # error) is rejected by far
    wrong = enumerate_unigram_sampling(word, pieces, model.scores, alpha * 1.5, nbest if nbest > 1 else None)
    assert _max_z(samples, wrong) > 6


def test_pipeline_frequencies_match_exact_enumeration():
    """Through StochasticEncoder: each text is an example id; its streams give the same distribution."""
    tok = Tokenizer(_hand_model(), pretokenizer=Pretokenizer("whitespace"))
    n = 10_000
    got = StochasticEncoder(tok, Sampling(unigram_alpha=0.7), seed=9).encode_batch(["abcab"] * n, epoch=2)
    exact = enumerate_unigram_sampling(b"abcab", {p: i for i, p in enumerate(tok.model.vocab)}, tok.model.scores, 0.7)
    assert _max_z([tuple(x.tolist()) for x in got], exact) < 4.5


def test_huge_alpha_and_nbest_one_are_viterbi():
    model = _hand_model()
    words = [b"abcab", b"abcabca", b"bcabc", b"x", b"cabcab"]
    buf, bounds = b"".join(words), offsets_from_lengths(lengths_of(words))
    seeds = np.arange(len(words), dtype=np.uint64)
    pieces = {p: i for i, p in enumerate(model.vocab)}
    for word in words:   # the Viterbi path is unique, by a margin
        best = reference_nbest(word, pieces, model.scores, 2)
        assert len(best) == 1 or best[0][1] - best[1][1] > 0.1
    viterbi = model.encode_packed(buf, bounds)
    for alpha, nbest in [(1e9, -1), (1e9, 4), (0.3, 1)]:
        got = model.encode_packed_sampled(buf, bounds, alpha, nbest, seeds)
        assert got[0].tolist() == viterbi[0].tolist() and got[1].tolist() == viterbi[1].tolist()


# ---- the pipeline on a trained Unigram tokenizer -------------------------------------------------
@pytest.fixture(scope="module")
def unigram_tok(tmp_path_factory):
    tok = tokforge.train(str(CORPORA / "en"), algo="unigram", vocab_size=800, special_tokens=("<|endoftext|>",))
    folder = tmp_path_factory.mktemp("unigram-sampling")
    tok.save(folder)
    return tok, folder


texts = st.lists(st.sampled_from(["the", "a", " ", "ing", "é", "<|endoftext|>", "\n", "12", "tokens"]),
                 max_size=20).map("".join)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=60) | texts, st.sampled_from([0.1, 0.5, 1.0]), st.sampled_from([-1, 1, 4]),
       st.floats(0, 0.5), seeds64, st.integers(0, 3), st.integers(0, 1000))
def test_sampled_encoding_decodes_to_the_text(unigram_tok, text, alpha, nbest, stochastok, seed, epoch, example_id):
    tok, _ = unigram_tok
    enc = StochasticEncoder(tok, Sampling(stochastok=stochastok, unigram_alpha=alpha, unigram_nbest=nbest), seed,
                            allowed_special="all")  # special tokens as control, as in encode
    ids = enc.encode(text, epoch=epoch, example_id=example_id)
    plain = tok.encode(text)
    assert tok.decode(ids) == tok.decode(plain)
    assert tok.decode_bytes(ids) == tok.decode_bytes(plain)
    assert ids == enc.encode(text, epoch=epoch, example_id=example_id)
    specials = set(tok.special_tokens.values())
    assert [i for i in ids if i in specials] == [i for i in plain if i in specials]
    if nbest == 1 and stochastok == 0:
        assert ids == plain


def test_corpus_lines_sample_reproducibly_and_differ_from_viterbi(unigram_tok, corpus_files):
    tok, _ = unigram_tok
    lines = [line for f in corpus_files for line in f.read_text(encoding="utf-8").splitlines(keepends=True)[:3]]
    plain = [tok.encode(line) for line in lines]
    enc = StochasticEncoder(tok, Sampling(unigram_alpha=0.2), seed=4)
    got = enc.encode_batch(lines, epoch=1, example_ids=range(50, 50 + len(lines)))
    assert [tok.decode(x.tolist()) for x in got] == [tok.decode(p) for p in plain]
    assert sum(x.tolist() != p for x, p in zip(got, plain)) > len(lines) // 4   # many lines have one segmentation
    order = list(reversed(range(len(lines))))
    again = enc.encode_batch([lines[k] for k in order], epoch=1, example_ids=[50 + k for k in order])
    assert all(again[i].tolist() == got[k].tolist() for i, k in enumerate(order))
    assert any(a.tolist() != b.tolist() for a, b in
               zip(got, enc.encode_batch(lines, epoch=2, example_ids=range(50, 50 + len(lines)))))
    huge = StochasticEncoder(tok, Sampling(unigram_alpha=1e9), seed=4).encode_batch(lines)
    assert [x.tolist() for x in huge] == plain


def test_wrong_model_or_parameters_are_config_errors(unigram_tok, default_trained):
    tok, _ = unigram_tok
    bpe = default_trained[0]
    with pytest.raises(ConfigError, match="needs a Unigram model"):
        StochasticEncoder(bpe, Sampling(unigram_alpha=0.5))
    with pytest.raises(ConfigError, match="BPE-dropout needs a BPE model"):
        StochasticEncoder(tok, Sampling(dropout=0.1))
    with pytest.raises(ConfigError, match="BPE-dropout needs a BPE model"):
        StochasticEncoder(tok, Sampling(dropout=0.1, unigram_alpha=0.5))
    for alpha in (0, -0.5, math.nan, math.inf, "1"):
        with pytest.raises(ConfigError, match="alpha"):
            Sampling(unigram_alpha=alpha)
    with pytest.raises(ConfigError, match="needs unigram_alpha"):
        Sampling(unigram_nbest=5)
    with pytest.raises(ConfigError, match="nbest"):
        Sampling(unigram_alpha=0.5, unigram_nbest=2.5)
    with pytest.raises(ConfigError, match="alpha"):
        tok.model.encode_packed_sampled(b"ab", np.array([0, 2]), 0.0, -1, np.zeros(1, np.uint64))


def test_shards_and_cli(unigram_tok, tmp_path):
    tok, folder = unigram_tok
    sampling = Sampling(unigram_alpha=0.3, unigram_nbest=-1)
    source = Corpus(str(CORPORA / "de"))
    manifest = write_shards(source, tok, tmp_path / "api", sampling=sampling, seed=6, epochs=2, workers=1,
                            batch_bytes=30_000)
    assert manifest["sampling"]["unigram_alpha"] == 0.3 and len(manifest["folders"]) == 2
    runner = CliRunner()
    result = runner.invoke(main, ["shards", str(CORPORA / "de"), "--model", str(folder), "-o", str(tmp_path / "cli"),
                                  "--epochs", "2", "--unigram-alpha", "0.3", "--seed", "6", "--workers", "2", "-q"])
    assert result.exit_code == 0, result.output
    docs = list(source)
    enc = StochasticEncoder(tok, sampling, seed=6)
    written = {}
    for name in ("api", "cli"):   # batches of 30 kB in this process, or one batch in a worker process
        m = json.loads((tmp_path / name / "manifest.json").read_text())
        for epoch, entry in enumerate(m["folders"]):
            ids = np.concatenate([np.load(tmp_path / name / s["ids"]) for s in entry["shards"]])
            written[name, epoch] = ids.tolist()
            bounds = np.load(tmp_path / name / entry["shards"][0]["bounds"])
            assert len(entry["shards"]) == 1 and len(bounds) == len(docs) + 1
            for k in (0, len(docs) // 2, len(docs) - 1):
                assert ids[bounds[k]:bounds[k + 1]].tolist() == enc.encode(docs[k], epoch=epoch, example_id=k)
    assert written["api", 0] == written["cli", 0] != written["api", 1] == written["cli", 1]
    args = ["encode", str(folder), "Tokenization samples", "--unigram-alpha", "0.5", "--unigram-nbest", "3",
            "--seed", "3", "--epoch", "1", "--example-id", "7"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    ids = [int(x) for x in first.output.split()]
    assert ids == StochasticEncoder(tok, Sampling(unigram_alpha=0.5, unigram_nbest=3), seed=3).encode(
        "Tokenization samples", epoch=1, example_id=7)
    bad = runner.invoke(main, ["encode", str(folder), "x", "--unigram-alpha", "0"])
    assert bad.exit_code == 1 and "alpha" in bad.output
    bad = runner.invoke(main, ["encode", str(folder), "x", "--bpe-dropout", "0.1"])
    assert bad.exit_code == 1 and "BPE model" in bad.output
