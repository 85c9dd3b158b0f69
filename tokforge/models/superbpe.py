"""SuperBPE (Liu et al. 2025): subwords first, then superword tokens that bridge whitespace.

Stage 1 is ordinary byte-level BPE with the configured, whitespace-respecting split, up to the
transition vocabulary size ``t``. Stage 2 counts the corpus again (streamed, not held in memory;
on the cores stage 1 leaves free while it merges) with the ``superword`` split, which ends pieces
only at digits (1-3 per piece), as the paper's stage 2 does. Its words are first written with
the stage-1 merges (the replay), then merging goes on, with at most ``max_words`` words per token,
up to the final vocabulary size. The result is one BPE model whose merges are the stage-1 merges
followed by the stage-2 ones, used with the superword split: encoding applies merges by rank over
the stage-2 pieces, as the reference does, and it exports to tokenizer.json like any tokforge BPE.

With ``t`` equal to the vocabulary size there is no stage 2: the result is plain BPE, exactly.

    >>> from tokforge.counting.words import WordCounts
    >>> from tokforge.config import TrainConfig
    >>> from tokforge.text.pretokenizers import Pretokenizer
    >>> text = "by the way, I said by the way. " * 20
    >>> def count(pretokenizer, cores):
    ...     return WordCounts.from_dict(Counter(pretokenizer.split(text)))
    >>> config = TrainConfig(algo="superbpe", vocab_size=300, transition=270, special_tokens=())
    >>> model, pretokenizer, report = train_superbpe(count(Pretokenizer(config.pattern), 1), count, config)
    >>> max(model.vocab, key=len)
    b' said by the way.'
"""
from __future__ import annotations

import time
from collections import Counter  # noqa: F401  (used by the example above)
from typing import Any, Callable

import numpy as np

from tokforge.background import in_background as _in_background  # the stage-2 count runs beside stage 1
from tokforge.config import TrainConfig
from tokforge.counting.words import WordCounts
from tokforge.models.bpe import BPEModel, KnownWords, word_table
from tokforge.models.bpe_trainer import train_bpe, training_threads, warm_up as warm_up_bpe
from tokforge.processes import available_cores
from tokforge.text.pretokenizers import Pretokenizer


def train_superbpe(stage1_counts: WordCounts, recount: Callable[[Pretokenizer, int], WordCounts],
                   config: TrainConfig, on_progress: Callable[[int], None] | None = None,
                   reserved: tuple[str, ...] = (), stop_report: dict[str, Any] | None = None
                   ) -> tuple[BPEModel, Pretokenizer, dict[str, Any]]:
    """Both stages: BPE on ``stage1_counts`` up to the transition, then ``recount(superword split,
    cores)`` -- counted on at most ``cores`` cores, those stage 1 leaves free (at least one) -- and
    BPE continued from the stage-1 merges. ``reserved`` tokens (the number stage's) follow the
    special tokens. Returns (model, the pretokenizer to encode with, a report of sizes and times).
    ``stop_report`` gets ``"stopped"`` when the last stage ends short of ``vocab_size`` (``train_bpe``);
    stage 1 ending short of the transition is in the report, as ``"stage1_stopped"``."""
    transition = config.transition_size()
    options = dict(special_tokens=config.special_tokens + reserved, min_frequency=config.min_frequency,
                   max_token_length=config.max_token_length, on_progress=on_progress)
    started = time.perf_counter()
    superword = Pretokenizer(config.superword_pattern, config.digits)
    # the stage-2 count does not depend on stage 1: it runs meanwhile, on the cores stage 1 leaves,
    # and stage 1 merges on the others (threads beyond the cores slow stage 1's heavy merges, cut in
    # parts that wait for each other: on 2 cores, one thread each)
    stage1_threads = training_threads()
    if transition < config.vocab_size:
        cores = available_cores()
        spare_cores = max(1, cores - stage1_threads)
        stage1_threads = max(1, cores - spare_cores)
        stage2_counts = _in_background(_count_and_table, recount, superword, spare_cores, stage1_counts)
    else:
        stage2_counts = None
    stage1_stop: dict[str, Any] = {}
    encoded: list = []  # the stage-1 words' encodings, as stage 1's trainer leaves them
    stage1 = train_bpe(stage1_counts, transition, threads=stage1_threads, encoded=encoded if stage2_counts else None,
                       report=stage1_stop if stage2_counts else stop_report, **options)
    stage1_done = time.perf_counter()
    report: dict[str, Any] = {"transition": transition, "stage1_tokens": len(stage1.vocab),
                              "seconds": {"stage1_merge": round(stage1_done - started, 3)}}
    if "stopped" in stage1_stop:
        report["stage1_stopped"] = stage1_stop["stopped"]
    if stage2_counts is None:
        return stage1, Pretokenizer(config.pattern, config.digits), report
    counts, table = stage2_counts()
    counts = [counts]
    # the replay takes a part that is a stage-1 word as the ids stage 1 left it with, without encoding it
    known = _known_words(stage1_counts, table, encoded)
    del table
    counted = time.perf_counter()
    report["stage2_unique_words"] = len(counts[0])
    report["stage2_word_occurrences"] = counts[0].total
    # handed over (popped): train_bpe frees the counts once it has laid out its words, the known words once replayed
    model = train_bpe(counts.pop(), config.vocab_size, max_words=config.max_words, start=stage1, known=known,
                      report=stop_report, **options)
    report["seconds"].update(stage2_count_wait=round(counted - stage1_done, 3),
                             stage2_merge=round(time.perf_counter() - counted, 3))
    return model, superword, report


def _count_and_table(recount: Callable[[Pretokenizer, int], WordCounts], superword: Pretokenizer, cores: int,
                     stage1_counts: WordCounts) -> tuple[WordCounts, np.ndarray]:
    """Stage 2's word counts, then the table of the stage-1 words (``word_table``), made while stage 1
    still merges."""
    counts = recount(superword, cores)
    return counts, word_table(stage1_counts)


def _known_words(stage1_counts: WordCounts, table: np.ndarray, encoded: list) -> list[KnownWords]:
    """The stage-1 words with the encodings stage 1 left them (``encoded``: none when a merge reused a
    token), as ``train_bpe``'s ``known`` list."""
    return [KnownWords.of(stage1_counts, encoded.pop(), table)] if encoded else []


def warm_up() -> None:
    """Load the compiled kernels of both stages (numba's cache; stage 2's replay encodes, about 0.4 s
    more than BPE's) by training both on three words: ``tokforge.training`` calls it in a thread while
    the corpus is counted, so stage 2 does not wait for them."""
    warm_up_bpe()
    counts = WordCounts.from_dict({"hug a pug": 10, "pug": 5, "hugs": 5})
    encoded: list = []
    first = train_bpe(counts, 259, encoded=encoded)
    train_bpe(counts, 262, max_words=2, start=first, known=_known_words(counts, word_table(counts), encoded))
