"""Stochastic tokenization: kernels against references, exact distributions, the reproducibility
contract (seed, epoch, example id), shards and the CLI."""
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from reference import (ReferenceStream, enumerate_bpe_dropout, enumerate_stochastok, reference_bpe_dropout,
                       reference_example_seed, reference_split_table, reference_stochastok)
from tokforge.cli import main
from tokforge.corpus import Corpus
from tokforge.counting.words import WordCounts
from tokforge.errors import ConfigError
from tokforge.kernels import rng
from tokforge.models.bpe import BPEModel
from tokforge.models.bpe_trainer import train_bpe
from tokforge.sampling.shards import write_shards
from tokforge.sampling.stochastic import Sampling, SplitTable, StochasticEncoder, example_seeds
from tokforge.tokenizer import Tokenizer

CORPORA = Path(__file__).resolve().parents[1] / "corpora"
seeds64 = st.integers(0, (1 << 64) - 1)


# ---- the random streams ------------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(seeds64, st.integers(0, 1000), st.lists(st.integers(0, 1 << 40), max_size=20), st.integers(1, 3))
def test_example_seeds_match_reference(seed, epoch, ids, purpose):
    got = example_seeds(seed, epoch, ids, purpose).tolist()
    assert got == [reference_example_seed(seed, epoch, i, purpose) for i in ids]


def test_streams_differ_by_every_coordinate():
    base = example_seeds(1, 2, [3], rng.STOCHASTOK)[0]
    assert base == example_seeds(1, 2, [3], rng.STOCHASTOK)[0]
    assert base != example_seeds(0, 2, [3], rng.STOCHASTOK)[0]
    assert base != example_seeds(1, 3, [3], rng.STOCHASTOK)[0]
    assert base != example_seeds(1, 2, [4], rng.STOCHASTOK)[0]
    assert base != example_seeds(1, 2, [3], rng.BPE_DROPOUT)[0]


# ---- StochasTok kernels ----------------------------------------------------------------------------
letters = st.binary(min_size=1, max_size=6).map(lambda b: bytes(x % 3 + 97 for x in b))


@st.composite
def vocabularies(draw):
    """Bytes, then tokens over a, b, c (repeats allowed); a few of them special."""
    extra = draw(st.lists(letters, max_size=25))
    vocab = [bytes([b]) for b in range(256)] + extra
    specials = set(draw(st.lists(st.integers(0, len(vocab) - 1), max_size=4)))
    return vocab, specials


@settings(max_examples=150, deadline=None)
@given(vocabularies())
def test_split_table_matches_reference(vocab_specials):
    vocab, specials = vocab_specials
    table = SplitTable(vocab, specials)
    assert [table.splits(t) for t in range(len(vocab))] == reference_split_table(vocab, specials)


@settings(max_examples=150, deadline=None)
@given(vocabularies(), st.data(), st.floats(0, 2), seeds64)
def test_expansion_matches_reference(vocab_specials, data, p, seed):
    vocab, specials = vocab_specials
    ids = data.draw(st.lists(st.integers(0, len(vocab) - 1), max_size=40))
    table = SplitTable(vocab, specials)
    out, bounds = table.expand(np.array(ids, np.int64), np.array([0, len(ids)]), p, np.array([seed], np.uint64))
    expected = reference_stochastok(ids, reference_split_table(vocab, specials), p, seed)
    assert out.tolist() == expected
    assert bounds.tolist() == [0, len(expected)]
    assert b"".join(vocab[i] for i in expected) == b"".join(vocab[i] for i in ids)   # decoding unchanged
    assert len(expected) - len(ids) <= math.floor(p * len(ids))
    assert Counter(i for i in expected if i in specials) == Counter(i for i in ids if i in specials)


@settings(max_examples=50, deadline=None)
@given(vocabularies(), st.data(), seeds64)
def test_batch_expansion_is_per_example(vocab_specials, data, seed):
    """Examples expanded together give what each gives alone: a batch changes nothing."""
    vocab, specials = vocab_specials
    docs = data.draw(st.lists(st.lists(st.integers(0, len(vocab) - 1), max_size=15), min_size=1, max_size=5))
    table = SplitTable(vocab, specials)
    seeds = example_seeds(seed, 0, range(len(docs)), rng.STOCHASTOK)
    flat = np.array([i for d in docs for i in d], np.int64)
    bounds = np.cumsum([0] + [len(d) for d in docs])
    out, out_bounds = table.expand(flat, bounds, 0.5, seeds)
    for k, doc in enumerate(docs):
        alone, _ = table.expand(np.array(doc, np.int64), np.array([0, len(doc)]), 0.5, seeds[k:k + 1])
        assert out[out_bounds[k]:out_bounds[k + 1]].tolist() == alone.tolist()


def _frequencies_match(samples: list[tuple], exact: dict[tuple, float]) -> None:
    """Every outcome's frequency within 5 standard deviations of its exact probability (and none
    outside the support); with a fixed seed, so the test is deterministic."""
    n = len(samples)
    counts = Counter(samples)
    assert set(counts) <= {k for k, v in exact.items() if v > 0}, set(counts) - set(exact)
    for outcome, prob in exact.items():
        sd = math.sqrt(prob * (1 - prob) / n)
        assert abs(counts[outcome] / n - prob) <= 5 * sd + 1e-9, (outcome, counts[outcome] / n, prob)


@pytest.mark.parametrize("ids,p", [([5, 4, 2], 0.34), ([5, 4, 2, 4], 0.5), ([5, 5], 1.5)])
def test_expansion_frequencies_match_exact_enumeration(ids, p):
    """Positions are uniform over the growing sequence, splits uniform, pieces split again."""
    vocab = [b"a", b"b", b"c", b"bc", b"ab", b"abc"]          # abc = a+bc = ab+c; ab = a+b; bc = b+c
    table = SplitTable(vocab, set())
    n_samples = 20_000
    seeds = example_seeds(11, 0, range(n_samples), rng.STOCHASTOK)
    flat = np.tile(np.array(ids, np.int64), n_samples)
    bounds = np.arange(n_samples + 1) * len(ids)
    out, out_bounds = table.expand(flat, bounds, p, seeds)
    samples = [tuple(out[out_bounds[k]:out_bounds[k + 1]].tolist()) for k in range(n_samples)]
    exact = enumerate_stochastok(ids, reference_split_table(vocab, set()), math.floor(p * len(ids)))
    assert len(exact) > 3
    _frequencies_match(samples, exact)


# ---- BPE-dropout -----------------------------------------------------------------------------------
small_words = st.binary(min_size=1, max_size=10).map(lambda b: bytes(x % 3 + 97 for x in b))
corpora_ = st.dictionaries(small_words, st.integers(1, 6), min_size=1, max_size=20)


def _merge_map(model: BPEModel) -> dict[tuple[int, int], tuple[int, int]]:
    ids = {t: i for i, t in enumerate(model.vocab) if i not in model.special_tokens.values()}
    out = {}
    for rank, (a, b) in enumerate(model.merges):
        out.setdefault((a, b), (rank, ids[model.vocab[a] + model.vocab[b]]))
    return out


def _start(model: BPEModel, word: bytes) -> list[int]:
    byte_ids = model.tables()[0]
    return [int(byte_ids[c]) for c in word]


@settings(max_examples=150, deadline=None)
@given(corpora_, st.lists(small_words, min_size=1, max_size=8), st.floats(0, 1), seeds64)
def test_dropout_kernel_matches_reference(counts, words, p, seed):
    model = train_bpe(WordCounts.from_dict(counts), 290, min_frequency=1)
    seeds = rng.sub_seeds(np.array([seed], np.uint64), np.array([len(words)]))
    ids, bounds = model.encode_packed_dropout(b"".join(words), np.cumsum([0] + [len(w) for w in words]), p, seeds)
    merges = _merge_map(model)
    for j, word in enumerate(words):
        stream = ReferenceStream(int(seeds[j]))
        expected = reference_bpe_dropout(_start(model, word), merges, lambda: p > 0 and stream.uniform() < p)
        assert ids[bounds[j]:bounds[j + 1]].tolist() == expected
    if p == 0:
        assert [ids[bounds[j]:bounds[j + 1]].tolist() for j in range(len(words))] == model.encode_pieces(words)


def _toy_model() -> BPEModel:
    """Merges where skipping matters: abcd can end as abcd, ab|cd, a|bcd, a|bc|d, ..."""
    vocab = [bytes([b]) for b in range(256)]
    merges = []
    for left, right in [(b"b", b"c"), (b"a", b"b"), (b"c", b"d"), (b"a", b"bc"), (b"ab", b"cd"), (b"bc", b"d"),
                        (b"a", b"bcd"), (b"ab", b"c"), (b"abc", b"d")]:
        if left + right not in vocab:
            vocab.append(left + right)
        merges.append((vocab.index(left), vocab.index(right)))
    return BPEModel(vocab, merges)


@pytest.mark.parametrize("word,p", [(b"abcd", 0.3), (b"abcbcd", 0.3), (b"abcab", 0.5)])
def test_dropout_frequencies_match_exact_enumeration(word, p):
    model = _toy_model()
    exact = enumerate_bpe_dropout(_start(model, word), _merge_map(model), p)
    assert abs(sum(exact.values()) - 1) < 1e-9 and len(exact) >= 4
    n_samples = 20_000
    seeds = example_seeds(5, 0, range(n_samples), rng.BPE_DROPOUT)
    ids, bounds = model.encode_packed_dropout(word * n_samples, np.arange(n_samples + 1) * len(word), p, seeds)
    _frequencies_match([tuple(ids[bounds[k]:bounds[k + 1]].tolist()) for k in range(n_samples)], exact)


@pytest.mark.parametrize("word,p", [(b"abcbcd", 0.3), (b"abcd", 0.7)])
def test_hf_dropout_has_the_same_distribution(word, p):
    """Hugging Face tokenizers' BPE(dropout=p) (unseeded): its empirical distribution matches our
    exact one. Discriminating: putting skipped merges back only after the next *successful* merge
    (instead of the next kept pop) moves an outcome of abcbcd by 0.059, about 17 sd here."""
    from tokenizers import Tokenizer as HFTokenizer, models
    model = _toy_model()
    letters_used = sorted(set(word) | set(b"abcd"))
    hf_vocab = {bytes([b]).decode(): i for i, b in enumerate(letters_used)}
    extra = [t.decode() for t in model.vocab[256:]]
    for t in extra:
        hf_vocab[t] = len(hf_vocab)
    hf_merges = [(model.vocab[a].decode(), model.vocab[b].decode()) for a, b in model.merges]
    hf = HFTokenizer(models.BPE(hf_vocab, hf_merges, dropout=p))
    ours = {bytes([b]).decode(): b for b in letters_used} | {t: 256 + k for k, t in enumerate(extra)}
    exact = enumerate_bpe_dropout(_start(model, word), _merge_map(model), p)
    samples = [tuple(ours[t] for t in hf.encode(word.decode()).tokens) for _ in range(20_000)]
    n = len(samples)
    counts = Counter(samples)
    assert set(counts) <= set(exact)
    for outcome, prob in exact.items():   # HF is unseeded: a wider band (6 sd)
        assert abs(counts[outcome] / n - prob) <= 6 * math.sqrt(prob * (1 - prob) / n) + 1e-9, outcome


# ---- the tokenizer pipeline ------------------------------------------------------------------------
texts = st.lists(st.sampled_from(["a", "b", "cd", " ", "é", "<|endoftext|>", "\n", "12", "  "]), max_size=20).map("".join)


@pytest.fixture(scope="module")
def tok(default_trained):
    return default_trained[0]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80) | texts, st.floats(0, 1), st.floats(0, 1), seeds64, st.integers(0, 5), st.integers(0, 1000))
def test_sampled_encoding_decodes_to_the_text(tok, text, stochastok, dropout, seed, epoch, example_id):
    enc = StochasticEncoder(tok, Sampling(stochastok=stochastok, dropout=dropout), seed, allowed_special="all")
    ids = enc.encode(text, epoch=epoch, example_id=example_id)
    plain = tok.encode(text)
    assert tok.decode_bytes(ids) == tok.decode_bytes(plain)
    assert tok.decode(ids) == tok.decode(plain)
    assert ids == enc.encode(text, epoch=epoch, example_id=example_id)
    specials = set(tok.special_tokens.values())
    assert [i for i in ids if i in specials] == [i for i in plain if i in specials]   # never split, in order
    if dropout == 0:
        assert len(ids) - len(plain) <= math.floor(stochastok * len(plain))


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=80) | texts, seeds64)
def test_zero_probabilities_are_the_deterministic_encoding(tok, text, seed):
    assert StochasticEncoder(tok, Sampling(stochastok=0.5, dropout=0.5)).encode_batch([]) == []
    # special tokens in the text as control, as encode has them (the encoder's default: text, test_special_policy.py)
    assert StochasticEncoder(tok, Sampling(), seed, allowed_special="all").encode(text, example_id=3) == tok.encode(text)
    assert StochasticEncoder(tok, Sampling(stochastok=0.0, dropout=0.0), seed,
                             allowed_special="all").encode(text) == tok.encode(text)


def test_every_pipeline_samples_its_own_encoding(trained, corpus_files):
    """BPE and SuperBPE, with normalizers, digit policies, several special tokens and the number stage."""
    tok, _ = trained
    lines = [line for f in corpus_files for line in f.read_text(encoding="utf-8").splitlines(keepends=True)[:4]]
    lines += ["a<|endoftext|>b <pad>1,234,567.891 x86<|im_start|>", ""]
    plain = [tok.encode(line) for line in lines]
    fixed = set(tok.model.special_tokens.values())
    for sampling in (Sampling(stochastok=0.5), Sampling(dropout=0.3), Sampling(stochastok=0.2, dropout=0.1)):
        got = StochasticEncoder(tok, sampling, seed=2, allowed_special="all").encode_batch(
            lines, epoch=1, example_ids=range(7, 7 + len(lines)))
        assert [x.tolist() for x in got] != plain
        for ids, expected in zip(got, plain):
            assert tok.decode_bytes(ids.tolist()) == tok.decode_bytes(expected)
            assert [i for i in ids.tolist() if i in fixed] == [i for i in expected if i in fixed]
    assert [x.tolist() for x in StochasticEncoder(tok, Sampling(), 2, allowed_special="all").encode_batch(lines)] == plain


def test_special_tokens_have_no_splits(tok):
    table = SplitTable.of(tok.model)
    assert all(table.splits(i) == [] for i in tok.special_tokens.values())
    assert sum(len(table.splits(i)) for i in range(tok.vocab_size)) > tok.vocab_size // 2


def test_order_and_batching_do_not_change_an_example(tok, corpus_files):
    docs = [line for f in corpus_files[::2] for line in f.read_text(encoding="utf-8").splitlines(keepends=True)[:5]]
    docs.append("a special token <|endoftext|> sends its whole batch down the slow path\n")
    n = len(docs)
    assert n > 30
    enc = StochasticEncoder(tok, Sampling(stochastok=0.3, dropout=0.1), seed=9)
    together = enc.encode_batch(docs, epoch=2, example_ids=range(100, 100 + n))
    order = list(reversed(range(n)))
    shuffled = enc.encode_batch([docs[k] for k in order], epoch=2, example_ids=[100 + k for k in order])
    for k, ids in zip(order, shuffled):
        assert ids.tolist() == together[k].tolist() == enc.encode(docs[k], epoch=2, example_id=100 + k)
    other_epoch = enc.encode_batch(docs, epoch=3, example_ids=range(100, 100 + n))
    assert any(a.tolist() != b.tolist() for a, b in zip(together, other_epoch))


def test_unigram_sampling_needs_a_unigram_model(tok):
    with pytest.raises(ConfigError, match="Unigram model"):
        StochasticEncoder(tok, Sampling(unigram_alpha=0.5))
    with pytest.raises(ConfigError):
        Sampling(dropout=1.5)
    with pytest.raises(ConfigError):
        Sampling(stochastok=-0.1)
    with pytest.raises(ConfigError):
        StochasticEncoder(tok, Sampling(stochastok=0.1), seed=-1)


def test_exported_tokenizer_json_stays_deterministic(default_trained):
    _, folder = default_trained
    assert json.loads((folder / "tokenizer.json").read_text())["model"]["dropout"] is None


# ---- shards ---------------------------------------------------------------------------------------
def _read(folder, manifest, k):
    entry = manifest["folders"][k]
    ids = np.concatenate([np.load(folder / s["ids"]) for s in entry["shards"]])
    lengths = np.concatenate([np.diff(np.load(folder / s["bounds"])) for s in entry["shards"]])
    return np.split(ids, np.cumsum(lengths)[:-1])


@pytest.mark.parametrize("sampling", [Sampling(stochastok=0.1), Sampling(stochastok=0.2, dropout=0.1)])
def test_shards_do_not_depend_on_workers(tok, tmp_path, sampling):
    source = Corpus(str(CORPORA / "de"))
    one = write_shards(source, tok, tmp_path / "one", sampling=sampling, seed=4, epochs=2, workers=1,
                       shard_tokens=20_000, batch_bytes=16_000)
    two = write_shards(source, tok, tmp_path / "two", sampling=sampling, seed=4, epochs=2, workers=2,
                       shard_tokens=20_000, batch_bytes=20_000)
    assert one["folders"] == two["folders"]
    assert len(one["folders"]) == 2 and len(one["folders"][0]["shards"]) > 1
    for shard in one["folders"][0]["shards"][:-1]:   # each shard closes at the first document past 20,000 ids
        lengths = np.diff(np.load(tmp_path / "one" / shard["bounds"]))
        assert lengths.sum() >= 20_000 > lengths[:-1].sum()
    docs = list(source)
    enc = StochasticEncoder(tok, sampling, seed=4)
    for epoch in range(2):
        a, b = _read(tmp_path / "one", one, epoch), _read(tmp_path / "two", two, epoch)
        assert len(a) == len(docs) == one["documents"]
        assert all(x.tolist() == y.tolist() for x, y in zip(a, b))
        for k in (0, len(docs) // 2, len(docs) - 1):   # document k is example k
            assert a[k].tolist() == enc.encode(docs[k], epoch=epoch, example_id=k)
        assert all(tok.decode(x.tolist()) == d for x, d in zip(a[:200], docs[:200]))
    assert [x.tolist() for x in _read(tmp_path / "one", one, 0)] != [x.tolist() for x in _read(tmp_path / "one", one, 1)]


def test_static_and_deterministic_shards(tok, tmp_path):
    source = Corpus(str(CORPORA / "en"))
    static = write_shards(source, tok, tmp_path / "s", sampling=Sampling(stochastok=0.1), epochs=3, static=True)
    assert static["static"] and [f["name"] for f in static["folders"]] == ["epoch-0000"]
    plain = write_shards(source, tok, tmp_path / "p", epochs=2)
    docs = list(source)
    got = _read(tmp_path / "p", plain, 0)
    assert got[0].dtype == np.uint16
    assert [x.tolist() for x in got] == tok.encode_batch(docs)


# ---- CLI ------------------------------------------------------------------------------------------
def test_cli_encode_and_shards(default_trained, tmp_path):
    _, folder = default_trained
    runner = CliRunner()
    args = ["encode", str(folder), "Kitaplarımızı okuduktan sonra", "--stochastok", "0.5", "--bpe-dropout", "0.2",
            "--seed", "3", "--epoch", "1", "--example-id", "7"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert first.output == runner.invoke(main, args).output
    ids = [int(x) for x in first.output.split()]
    tok = default_trained[0]
    assert tok.decode(ids) == "Kitaplarımızı okuduktan sonra"
    enc = StochasticEncoder(tok, Sampling(stochastok=0.5, dropout=0.2), seed=3)
    assert ids == enc.encode("Kitaplarımızı okuduktan sonra", epoch=1, example_id=7)
    bad = runner.invoke(main, ["encode", str(folder), "x", "--bpe-dropout", "2"])
    assert bad.exit_code == 1 and "probability" in bad.output
    out = tmp_path / "sh"
    result = runner.invoke(main, ["shards", str(CORPORA / "tr"), "--model", str(folder), "-o", str(out), "--epochs", "2",
                                  "--stochastok", "0.1", "-q"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["name"] for f in manifest["folders"]] == ["epoch-0000", "epoch-0001"]
    assert (out / manifest["folders"][1]["shards"][0]["ids"]).is_file()


def test_sampling_a_morph_model_keeps_its_stage():
    """The morph hybrid's units go to the sampler as they go to encode: stage tokens stay, the fallback
    model's pieces are sampled (before the model interface, the sampler skipped the stage)."""
    tok = Tokenizer.load(Path(__file__).parent / "data" / "models" / "morph-bpe.json")
    text = "Kitaplarımızdan birini İstanbul'da okuduk; EVLERDE 1234 kalem"
    ids = tok.encode(text)
    assert StochasticEncoder(tok, Sampling()).encode(text) == ids
    stage_ids = {tok.model.special_tokens[t] for t in tok.stage.reserved_tokens()} & set(ids)
    assert stage_ids
    for sampling in (Sampling(dropout=0.5), Sampling(stochastok=0.5)):
        sampled = StochasticEncoder(tok, sampling, seed=3).encode(text, example_id=1)
        assert tok.decode(sampled) == text and stage_ids <= set(sampled) and sampled != ids
