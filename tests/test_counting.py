"""Scale-out counting: shards, worker processes, the memory budget, saved and merged counts."""
import random

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

import tokforge
import tokforge.counting.engines
import tokforge.tasks
from tokforge.cli import main
from tokforge.config import TrainConfig
from tokforge.corpus import Corpus
from tokforge.counting.engines import count_corpus, pipeline_stages
from tokforge.counting.feed import HeldOut, feed
from tokforge.counting.saved import load_counts, merge_saved, save_counts
from tokforge.counting.words import MIN_TABLE_BUDGET, WordCounter, WordCounts
from tokforge.errors import ConfigError, CorpusError, ModelFormatError
from tokforge.kernels.sampling import uniform_of_documents
from tokforge.models.bpe_trainer import train_bpe
from tokforge.packed import offsets_from_lengths

from conftest import CORPORA
from reference import reference_merge_counts, reference_uniform_of_document

CONFIG = TrainConfig(held_out=0.05, seed=3)


def same_counts(a: WordCounts, b: WordCounts) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("arena", "offsets", "counts"))


def merges(counts: WordCounts, vocab_size: int = 700):
    return train_bpe(counts, vocab_size, special_tokens=CONFIG.special_tokens).merges


@pytest.fixture(scope="module")
def single():
    """Counts of corpora/ by one plain feed over the whole corpus, and its held-out documents."""
    held_out = HeldOut(CONFIG.held_out, CONFIG.seed)
    normalizer, pretokenizer, specials, numbers = pipeline_stages(CONFIG)
    return feed(Corpus(str(CORPORA)), normalizer, pretokenizer, specials, held_out, numbers), held_out


# -- kernels -------------------------------------------------------------------------------------------------

words = st.lists(st.tuples(st.binary(min_size=1, max_size=6), st.integers(1, 1000)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.lists(words, min_size=1, max_size=4), st.integers(1, 64))
def test_merging_tables_sums_counts_in_first_appearance_order(tables, capacity):
    tables = [list(dict(t).items()) for t in tables]  # a table holds each word once
    counter = WordCounter(capacity=capacity)
    for t in tables:
        counter.add_counts(WordCounts.from_dict(dict(t)))
    assert list(counter.result().items()) == reference_merge_counts(tables)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.text(max_size=5), max_size=60), min_size=1, max_size=3), st.integers(1, 64))
def test_counting_pieces_sums_them_in_first_appearance_order(batches, capacity):
    """``intern_words`` (pieces hashed in batches ahead of their lookups) against the reference: with
    tiny tables the arrays fill in the middle of a batch and counting goes on from that piece."""
    counter = WordCounter(capacity=capacity)
    for pieces in batches:
        counter.add(pieces)
    assert list(counter.result().items()) == reference_merge_counts(
        [[(p.encode("utf-8"), 1) for p in pieces if p] for pieces in batches])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=20), min_size=1, max_size=30), st.integers(0, 2**63 - 1))
def test_document_uniforms_match_the_reference(docs, seed):
    data = np.frombuffer(b"".join(docs), np.uint8)
    got = uniform_of_documents(data, offsets_from_lengths([len(d) for d in docs]), np.uint64(seed))
    assert got.tolist() == [reference_uniform_of_document(d, seed) for d in docs]


# -- order, shards, processes --------------------------------------------------------------------------------

def test_word_order_does_not_change_the_merges(single):
    counts, _ = single
    items = list(counts.items())
    random.Random(0).shuffle(items)
    assert merges(WordCounts.from_dict(dict(items))) == merges(counts)


def test_shards_read_like_the_whole_corpus():
    corpus = Corpus(str(CORPORA))
    whole = list(corpus)
    parts = corpus.shards(100_000)
    assert len(parts) > len(corpus.files)  # large files were cut into ranges
    docs, files, nbytes = [], 0, 0
    for part in parts:
        docs += [d for block in part.iter_blocks() for d in block.documents()]
        files += part.stats.files
        nbytes += part.stats.bytes_read
    assert docs == whole and files == corpus.stats.files and nbytes == corpus.stats.bytes_read


def test_an_error_in_a_byte_range_names_the_line_of_the_file(tmp_path):
    lines = [f"line {i} with some words\n".encode() for i in range(5000)]
    lines[4321] = b"bad \xff byte\n"
    (tmp_path / "a.txt").write_bytes(b"".join(lines))
    parts = Corpus(str(tmp_path)).shards(20_000)
    assert len(parts) > 3
    with pytest.raises(CorpusError, match="line 4322"):
        for part in parts:
            list(part)


@pytest.mark.parametrize("workers, workers_are, head_start", [(1, "processes", True), (2, "processes", True),
                                                             (2, "processes", False), (2, "threads", False)])
def test_processes_and_threads_count_what_one_feed_counts(single, workers, workers_are, head_start, monkeypatch):
    counts, held_out = single
    if not head_start:  # every shard in a worker: none counted here while the workers start
        monkeypatch.setattr(tokforge.tasks._WorkersStarting, "running", lambda self: False)
    if workers_are == "processes":  # as for a pipeline that holds the GIL (e.g. a normalizer)
        monkeypatch.setattr(tokforge.counting.engines, "counts_in_kernels", lambda *args: False)
    result = count_corpus(str(CORPORA), CONFIG, workers=workers)
    assert result.report["workers"] == workers and result.report["shards"] > 2
    assert result.report["workers_are"] == workers_are
    assert result.report["one_table"] == (workers == 1)  # one worker counts into the merged table
    assert same_counts(result.counts, counts)
    assert result.held_out.documents == held_out.documents and len(held_out.documents) > 100
    assert result.held_out.excluded_documents == held_out.excluded_documents
    assert not result.report["pruning"]["pruned"]


def test_which_pipelines_count_in_threads(tmp_path):
    """Threads for text files counted by the kernels alone; processes when Python does part of the work."""
    from tokforge.counting.engines import counts_in_kernels
    text = Corpus(str(CORPORA))
    (tmp_path / "a.jsonl").write_text('{"text": "a b"}\n')
    assert counts_in_kernels(text, TrainConfig())
    assert counts_in_kernels(text, TrainConfig(pattern="gpt2", digits="single"))
    assert not counts_in_kernels(Corpus(str(tmp_path / "a.jsonl")), TrainConfig())
    assert not counts_in_kernels(text, TrainConfig(normalizer="nfkc"))
    assert not counts_in_kernels(text, TrainConfig(numbers="tst-marker"))
    assert not counts_in_kernels(text, TrainConfig(pattern=r"\S+|\s+"))


def test_train_with_workers_gives_the_same_tokenizer():
    one = tokforge.train(str(CORPORA), vocab_size=700, workers=1)
    two = tokforge.train(str(CORPORA), vocab_size=700, workers=2)
    assert one.model.merges == two.model.merges and one.training["counting"]["workers"] == 1
    assert two.training["counting"]["workers"] == 2


# -- memory budget -----------------------------------------------------------------------------------------

def synthetic_corpus(folder, files=4, lines=4000):
    """Text with many unique words (a table of several MB) and a few frequent ones."""
    rng = random.Random(5)
    folder.mkdir()
    for f in range(files):
        with open(folder / f"part{f}.txt", "w") as out:
            for _ in range(lines):
                rare = " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(9)) for _ in range(8))
                out.write(f"the cat and the dog {rare}\n")
    return folder


def test_pieces_in_any_batches_give_the_same_pruned_table():
    rng = random.Random(1)
    pieces = [str(rng.randrange(30_000 if i % 3 else 50)) for i in range(60_000)]
    results = []
    for batch in (1_000, 7_777, 60_000):
        counter = WordCounter(budget=MIN_TABLE_BUDGET * 4)
        for i in range(0, len(pieces), batch):
            counter.add(pieces[i:i + batch])
        assert counter.pruning.times > 0 and counter.peak_nbytes <= MIN_TABLE_BUDGET * 4
        results.append(counter.result())
    assert same_counts(results[0], results[1]) and same_counts(results[0], results[2])
    assert dict(results[0].items())[b"7"] > 300  # frequent words survive


def test_counting_stays_within_the_memory_budget_whatever_the_workers(tmp_path):
    corpus = synthetic_corpus(tmp_path / "c")
    budget = 2 << 20
    config = TrainConfig(held_out=0.01, memory_budget="2MB")
    unbounded = count_corpus(str(corpus), TrainConfig(held_out=0.01), workers=1)
    assert unbounded.report["peak_table_bytes"]["merged"] > budget  # the budget matters
    results = [count_corpus(str(corpus), config, workers=w) for w in (1, 2)]
    for r in results:
        peaks = r.report["peak_table_bytes"]
        assert peaks["merged"] <= budget // 2 and peaks["shard"] <= budget // 2
        pruning = r.report["pruning"]
        assert pruning["pruned"] and pruning["words_dropped"] > 0 and pruning["occurrences_dropped"] > 0
    # one worker tried the merged table alone, had to prune, and counted shard by shard again
    assert not results[0].report["one_table"] and unbounded.report["one_table"]
    assert same_counts(results[0].counts, results[1].counts)
    assert results[0].report["pruning"] == results[1].report["pruning"]
    kept = dict(results[0].counts.items())
    assert kept[b" the"] == dict(unbounded.counts.items())[b" the"]  # frequent words keep exact counts


# -- saved counts ------------------------------------------------------------------------------------------

def test_saved_counts_round_trip_and_train(tmp_path, single):
    result = count_corpus(str(CORPORA), CONFIG, workers=1)
    folder = save_counts(result, tmp_path / "counts")
    loaded = load_counts(folder)
    assert same_counts(loaded.counts, single[0]) and loaded.held_out.documents == single[1].documents
    assert loaded.corpus == result.corpus and loaded.pipeline == result.pipeline
    save_counts(result, folder)  # replaces a count folder atomically
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts"]
    direct = tokforge.train(str(CORPORA), CONFIG, vocab_size=700)
    saved = tokforge.train(from_counts=folder, config=CONFIG, vocab_size=700)
    assert saved.model.merges == direct.model.merges
    assert saved.training["held_out"] == direct.training["held_out"]


def test_merging_saved_shards_equals_counting_their_union(tmp_path):
    parts = [str(CORPORA / "en"), str(CORPORA / "tr"), str(CORPORA / "code")]
    folders = [save_counts(count_corpus(p, CONFIG, workers=1), tmp_path / f"c{i}") for i, p in enumerate(parts)]
    merged = merge_saved([load_counts(f) for f in folders])
    union = count_corpus(parts, CONFIG, workers=1)
    assert same_counts(merged.counts, union.counts)
    assert merged.held_out.documents == union.held_out.documents
    assert {k: merged.corpus[k] for k in ("files", "bytes", "documents")} == \
        {k: union.corpus[k] for k in ("files", "bytes", "documents")}


def test_counts_of_another_pipeline_are_refused(tmp_path):
    folder = save_counts(count_corpus(str(CORPORA / "tr"), CONFIG, workers=1), tmp_path / "tr")
    other = save_counts(count_corpus(str(CORPORA / "en"), TrainConfig(held_out=0.05, seed=3, digits="rtl3"),
                                     workers=1), tmp_path / "en")
    with pytest.raises(ConfigError, match="pattern: counts 'cl100k', config 'gpt2'"):
        tokforge.train(from_counts=folder, config=CONFIG, pattern="gpt2", vocab_size=300)
    with pytest.raises(ConfigError, match="seed"):
        tokforge.train(from_counts=folder, config=CONFIG, seed=4, vocab_size=300)
    with pytest.raises(ConfigError, match="superbpe cannot train from saved counts"):
        tokforge.train(from_counts=folder, config=CONFIG, algo="superbpe", vocab_size=400)
    with pytest.raises(ConfigError, match="digits"):
        merge_saved([load_counts(folder), load_counts(other)])
    with pytest.raises(ModelFormatError, match="not a count folder"):
        load_counts(tmp_path)
    (folder / "counts.npy").write_bytes(b"junk")
    with pytest.raises(ModelFormatError, match="counts.npy"):
        load_counts(folder)


def test_cli_count_merge_and_train_from_counts(tmp_path):
    run = CliRunner().invoke
    for name in ("en", "tr"):
        r = run(main, ["count", str(CORPORA / name), "-o", str(tmp_path / name), "-q", "--workers", "1"])
        assert r.exit_code == 0, r.output
    r = run(main, ["count", "--merge", str(tmp_path / "en"), str(tmp_path / "tr"), "-o", str(tmp_path / "all")])
    assert r.exit_code == 0 and "unique" in r.output, r.output
    r = run(main, ["train", "--from-counts", str(tmp_path / "all"), "--vocab-size", "400", "-o", str(tmp_path / "m"), "-q"])
    assert r.exit_code == 0, r.output
    direct = tokforge.train([str(CORPORA / "en"), str(CORPORA / "tr")], vocab_size=400)
    assert tokforge.Tokenizer.load(tmp_path / "m").model.merges == direct.model.merges
    r = run(main, ["train", "--from-counts", str(tmp_path / "all"), "--pattern", "gpt2", "-o", str(tmp_path / "x")])
    assert r.exit_code == 1 and "another pipeline" in r.output
    r = run(main, ["count", str(CORPORA / "tr"), "-o", str(tmp_path / "y"), "--memory-budget", "lots"])
    assert r.exit_code == 1 and "not a size" in r.output
