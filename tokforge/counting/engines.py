"""The counting phase at scale: a corpus cut into shards, counted in parallel, merged in order.

``count_corpus`` cuts the corpus into shards (``Corpus.shards``: files, and ranges of large text
files), counts each shard with ``feed`` in a worker -- processes on this machine
(``engine="local"``) or a Dask cluster (``engine="dask"``) -- and merges the shard tables in
shard order in this process. The result does not depend on the number of workers or the engine:

- held-out documents are chosen from their text (``HeldOut``), so every shard knows its own;
- shards are cut from the files alone, and each is counted the same way wherever it runs;
- the merge adds the shard tables in shard order, so words keep the order of their first
  occurrence in the corpus: with no pruning, the table is the very one a single ``feed`` over
  the whole corpus gives (same words, counts and order). So one worker counts every shard
  straight into the merged table (``one_table`` in the report) and skips the merging, unless the
  table has to drop words (below): it then counts shard by shard, as more workers do.

Memory budget: each word-count table -- a shard's table in a worker, the merged table here --
stays within half of ``memory_budget``, so the count tables of any one process stay within the
budget. A table that would outgrow its half drops its rarest words (``WordCounter`` explains the
rule); where that happens depends only on the corpus, the pipeline and the budget, so pruned
results are reproducible too, whatever the workers. The report says how much was dropped.

    >>> result = count_corpus("corpora/", TrainConfig(), workers=2)      # doctest: +SKIP
    >>> result.report["pruning"]["pruned"]                                # doctest: +SKIP
    False
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from tokforge.config import TrainConfig, options
from tokforge.corpus import Corpus, CorpusStats
from tokforge.counting.feed import HeldOut, feed_into, pipeline_stages, scans_blocks
from tokforge.counting.words import Pruning, WordCounter, WordCounts
from tokforge.kernels.sampling import uniform_of_documents
from tokforge.large_arrays import map_large_arrays
from tokforge.processes import available_cores, worker_count
from tokforge.tasks import TaskRunner, check_engine
from tokforge.text.pretokenizers import Pretokenizer

PIPELINE_FIELDS = tuple(o.name for o in options("pipeline"))  # the options that decide the words
SAMPLING_FIELDS = ("held_out", "seed")                          # ... and which documents are counted


def pipeline_of(config: TrainConfig, pattern: str | None = None) -> dict[str, Any]:
    """What decides the counted words of a config, as saved in a count artefact."""
    d = config.to_dict()
    return {**{k: d[k] for k in PIPELINE_FIELDS + SAMPLING_FIELDS}, **({"pattern": pattern} if pattern else {})}


@dataclass
class ShardCount:
    """What a worker sends back for one shard (``counts`` None: counted into the merged table)."""

    counts: WordCounts | None
    held_out: HeldOut
    stats: CorpusStats
    pruning: Pruning
    peak_table_bytes: int


def count_shard(part: Corpus, config: TrainConfig, pattern: str | None, table_budget: int,
                into: WordCounter | None = None) -> ShardCount:
    """Count one shard (in a worker thread or process) in a table of its own, or ``into`` the merged one."""
    held_out = HeldOut(config.held_out, config.seed)
    counter = WordCounter(budget=table_budget) if into is None else into
    normalizer, pretokenizer, specials, numbers = pipeline_stages(config, pattern)
    feed_into(counter, part, normalizer, pretokenizer, specials, held_out, numbers)
    if into is not None:
        return ShardCount(None, held_out, part.stats, Pruning(), 0)
    return ShardCount(counter.take(), held_out, part.stats, counter.pruning, counter.peak_nbytes)


@dataclass
class CountResult:
    """Word counts of a corpus and what produced them (what a count artefact holds)."""

    counts: WordCounts
    pipeline: dict[str, Any]   # PIPELINE_FIELDS and SAMPLING_FIELDS of the config
    held_out: HeldOut          # the documents kept to measure, and how many were left out
    corpus: dict[str, Any]     # files, bytes, documents, invalid UTF-8, ignored files
    report: dict[str, Any] = field(default_factory=dict)  # engine, workers, shards, seconds, memory, pruning


class Reduction:
    """Merges shard counts, in shard order, into one table within ``table_budget`` bytes."""

    def __init__(self, held_out: HeldOut, table_budget: int | None):
        self.counter = WordCounter(budget=table_budget)
        self.held_out = held_out
        self.stats = CorpusStats()
        self.shard_pruning = Pruning()
        self.peak_shard_table_bytes = 0
        self.shards = 0

    def add(self, shard: ShardCount) -> None:
        if shard.counts is not None:
            self.counter.add_counts(shard.counts)
        self.held_out.extend(shard.held_out)
        _add_stats(self.stats, shard.stats)
        self.shard_pruning.add(shard.pruning)
        self.peak_shard_table_bytes = max(self.peak_shard_table_bytes, shard.peak_table_bytes)
        self.shards += 1

    def pruning(self) -> dict[str, Any]:
        total = Pruning()
        total.add(self.shard_pruning)
        total.add(self.counter.pruning)
        return pruning_report(total, shard=self.shard_pruning.times, merge=self.counter.pruning.times)


def pruning_report(total: Pruning, **times: int) -> dict[str, Any]:
    return {"pruned": total.times > 0, "times": total.times, **{f"{k}_times": v for k, v in times.items()},
            "max_threshold": total.threshold, "words_dropped": total.words_dropped,
            "occurrences_dropped": total.occurrences_dropped}


def count_corpus(corpus: Any, config: TrainConfig | None = None, *, workers: int | None = None,
                 engine: str = "local", scheduler: Any = None, pattern: str | None = None,
                 progress: bool = False) -> CountResult:
    """Count the words of ``corpus`` (sources, or a ``Corpus``) with the pipeline of ``config``.

    ``workers``: processes (default ``config.workers``; 0 = all cores, or 1 for corpora under
    32 MB); threads of this process instead when the pipeline counts in kernels that release the GIL
    (``counts_in_kernels``). ``engine="dask"`` counts the shards on a Dask cluster: ``scheduler`` is its address,
    a ``dask.distributed.Client``, or ``"local"``/None for a LocalCluster of ``workers``
    processes on this machine. ``pattern`` replaces the config's split (SuperBPE's stage 2).
    """
    config = config or TrainConfig()
    check_engine(engine)
    map_large_arrays()  # the tables freed as they grow (in threads too) go back to the system
    started = time.perf_counter()
    source = corpus if isinstance(corpus, Corpus) else Corpus(
        corpus, text_field=config.text_field, errors=config.errors, progress=progress)
    parts = source.shards()
    threads = engine == "local" and counts_in_kernels(source, config, pattern)
    n_workers = _n_workers(config.workers if workers is None else workers, source, len(parts), threads)
    table_budget = config.memory_budget // 2
    bar = tqdm(total=source.total_bytes or None, unit="B", unit_scale=True, desc="counting",
               disable=not progress)
    try:
        one_table = engine == "local" and n_workers == 1
        reduction = _count_in_one_table(parts, config, pattern, table_budget, bar) if one_table else None
        if reduction is None:
            one_table = False
            bar.reset()
            reduction = Reduction(HeldOut(config.held_out, config.seed), table_budget)
            with TaskRunner(engine, n_workers, scheduler, threads=threads) as runner:
                n_workers = runner.workers  # a cluster has its own workers
                for shard in runner.in_order(count_shard, ((part, config, pattern, table_budget) for part in parts)):
                    reduction.add(shard)
                    bar.update(shard.stats.bytes_read)
    finally:
        bar.close()
    source.stats = reduction.stats
    source.stats.ignored_files = list(source._ignored)
    source._check_found_text()
    counts = reduction.counter.take()
    return CountResult(
        counts, pipeline_of(config, pattern), reduction.held_out, corpus_report(source.stats),
        {"engine": engine, "workers": n_workers,
         "workers_are": "dask workers" if engine == "dask" else "threads" if threads and n_workers > 1 else "processes",
         "shards": len(parts),
         "one_table": one_table,
         "seconds": round(time.perf_counter() - started, 3),
         "memory_budget": config.memory_budget,
         "peak_table_bytes": {"merged": reduction.counter.peak_nbytes, "shard": reduction.peak_shard_table_bytes},
         "pruning": reduction.pruning()})


def _count_in_one_table(parts: list[Corpus], config: TrainConfig, pattern: str | None, table_budget: int,
                        bar: tqdm) -> Reduction | None:
    """With one worker, every shard counted straight into the merged table, in order: the counts (words
    in the order first met) of counting each shard in a table of its own and merging those in order,
    without the merging (0.3 s of 1.5 on SuperBPE's stage-2 count of the benchmark corpus). None as
    soon as the table has to drop rare words to keep within its budget: what is dropped depends on the
    tables, so the shards are then counted one by one, as with more workers."""
    reduction = Reduction(HeldOut(config.held_out, config.seed), table_budget)
    for part in parts:
        reduction.add(count_shard(part, config, pattern, table_budget, into=reduction.counter))
        if reduction.counter.pruning.times:
            return None
        bar.update(part.stats.bytes_read)
    return reduction


def counts_in_kernels(source: Corpus, config: TrainConfig, pattern: str | None = None) -> bool:
    """Whether counting ``source`` spends its time in compiled kernels that release the GIL, so that
    threads count in parallel (no worker processes to start: ~1 s of a core each, and a copy of
    tokforge in each): text files (no records to parse), no normalizer, a preset split that has a
    scanner and no number stage -- ``feed``'s block path. Which runs a shard never changes the counts."""
    normalizer, pretokenizer, _, numbers = pipeline_stages(config, pattern)
    return source.text_files_only and normalizer.names == ("none",) and scans_blocks(pretokenizer, numbers)


def corpus_report(stats: CorpusStats) -> dict[str, Any]:
    return {"files": stats.files, "bytes": stats.bytes_read, "documents": stats.documents,
            "skipped_documents": stats.skipped_documents, "replaced_documents": stats.replaced_documents,
            "first_invalid_utf8": stats.first_invalid, "malformed_records": stats.malformed_records,
            "first_malformed_record": stats.first_malformed, "ignored_files": list(stats.ignored_files)}


def _add_stats(total: CorpusStats, part: CorpusStats) -> None:
    total.files += part.files
    total.bytes_read += part.bytes_read
    total.documents += part.documents
    total.skipped_documents += part.skipped_documents
    total.replaced_documents += part.replaced_documents
    total.malformed_records += part.malformed_records
    total.first_invalid = total.first_invalid or part.first_invalid
    total.first_malformed = total.first_malformed or part.first_malformed


def _n_workers(workers: int, source: Corpus, n_parts: int, threads: bool) -> int:
    """Workers for ``workers`` (0: every core; for processes, which take a second to start, one below
    32 MB), at most one per shard."""
    n = available_cores() if threads and workers == 0 else worker_count(workers, source.total_bytes)
    return max(1, min(n, n_parts))


def warm_up() -> None:
    """Load the compiled counting kernels (numba's cache) by counting a few words."""
    data = "Merhaba dünya, 12345 words!\n".encode("utf-8")
    bounds = np.array([0, len(data)], np.int64)
    counter = WordCounter(capacity=4)
    counter.add_packed(data, Pretokenizer().scan_bytes(data, bounds))
    counter.add(["a", "b"] * 5)
    counter.add_counts(counter.result())
    uniform_of_documents(np.frombuffer(data, np.uint8), bounds, np.uint64(0))
    HeldOut(0.5, 0)
