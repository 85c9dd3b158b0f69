"""Training: ``train()``, the one entry: the config, counting the corpus (``tokforge.counting``), the
algorithm's trainer on the word counts, then the tokenizer with its training report.

    >>> tok = train("corpora/", vocab_size=2000)          # doctest: +SKIP
    >>> tok.training["held_out"]["bytes_per_token"]        # doctest: +SKIP
    3.9
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from tqdm.auto import tqdm

from tokforge.background import in_background
from tokforge.config import ALGORITHMS, TrainConfig
from tokforge.corpus import Corpus
from tokforge.counting.engines import count_corpus
from tokforge.counting.feed import HeldOut, pipeline_stages
from tokforge.counting.saved import check_pipeline, load_counts
from tokforge.counting.words import WordCounts
from tokforge.errors import ConfigError, CorpusError
from tokforge.models.bpe_trainer import train_bpe_from_config, warm_up as warm_up_bpe
from tokforge.models.superbpe import train_superbpe, warm_up as warm_up_superbpe
from tokforge.text.normalizers import Normalizer
from tokforge.text.numbers import TriadicSuffixStage
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.tokenizer import Tokenizer


@dataclass
class Job:
    """What an algorithm's trainer is given: the word counts and the text pipeline of the config, where
    it reports progress and why it stopped short, and how to count the corpus again with another split."""

    config: TrainConfig
    counts: WordCounts
    normalizer: Normalizer
    pretokenizer: Pretokenizer
    numbers: TriadicSuffixStage | None
    reserved: tuple[str, ...]                       # the number stage's tokens: ids right after the specials
    on_progress: Callable[[int], Any]
    stop: dict[str, Any]                            # gets "stopped": why the vocabulary is smaller than asked for
    recount: Callable[[Pretokenizer, int], WordCounts] | None  # (split, most cores); None when training from saved counts


@dataclass(frozen=True)
class Trainer:
    """An algorithm's trainer: ``train(job)`` gives the tokenizer and the report sections of its own."""

    train: Callable[[Job], tuple[Tokenizer, dict[str, Any]]]
    from_counts_error: str | None = None  # why it cannot train from saved counts (None: it can)
    warm_up: Callable[[], None] | None = None  # loads its kernels: run in a thread while the corpus is counted


def _bpe(job: Job) -> tuple[Tokenizer, dict[str, Any]]:
    model = train_bpe_from_config(job.counts, job.config, job.config.special_tokens + job.reserved,
                                  job.on_progress, job.stop)
    return Tokenizer(model, job.normalizer, job.pretokenizer, numbers=job.numbers), {}


def _superbpe(job: Job) -> tuple[Tokenizer, dict[str, Any]]:
    model, pretokenizer, report = train_superbpe(job.counts, job.recount, job.config, job.on_progress,
                                                 job.reserved, job.stop)
    return Tokenizer(model, job.normalizer, pretokenizer, numbers=job.numbers), {"superbpe": report}


def _unigram(job: Job) -> tuple[Tokenizer, dict[str, Any]]:
    from tokforge.models.unigram_trainer import train_unigram_from_config  # imported when used: BPE does without
    model = train_unigram_from_config(job.counts, job.config, job.config.special_tokens + job.reserved,
                                      job.on_progress, job.stop)
    return Tokenizer(model, job.normalizer, job.pretokenizer, numbers=job.numbers), {}


def _morph(job: Job) -> tuple[Tokenizer, dict[str, Any]]:
    from tokforge.models.morph.tokenizer import MorphTokenizer  # imported when used: BPE does without
    from tokforge.models.morph.trainer import train_morph
    model, stage, report = train_morph(job.counts, job.config, job.on_progress, job.stop, job.reserved)
    return MorphTokenizer(model, stage, job.normalizer, job.pretokenizer, numbers=job.numbers), {"morph": report}


#: The trainer of each algorithm of ``TrainConfig.algo``.
TRAINERS: dict[str, Trainer] = {
    "bpe": Trainer(_bpe, warm_up=warm_up_bpe),
    "superbpe": Trainer(_superbpe, warm_up=warm_up_superbpe, from_counts_error=(
        "superbpe cannot train from saved counts: its second stage counts the corpus again with another split. "
        "Train superbpe from the corpus (--workers and --memory-budget apply to both of its counts)")),
    "unigram": Trainer(_unigram),
    "morph": Trainer(_morph),
}
assert tuple(TRAINERS) == ALGORITHMS, "every algorithm of TrainConfig has a trainer"


def train(corpus: Any = None, config: TrainConfig | None = None, *, progress: bool = False,
          from_counts: Any = None, **options: Any) -> Tokenizer:
    """Train a tokenizer on ``corpus`` (folder, files, globs or a datasets object), or on the word
    counts saved by ``tokforge count`` (``from_counts``: the folder, or a ``CountResult``).

    Options are the fields of ``TrainConfig`` (given as ``config`` or as keywords). The returned
    tokenizer's ``training`` dict holds the config and a report (sizes, times, held-out bytes/token).
    """
    config = TrainConfig.from_dict({**(config.to_dict() if config else {}), **options})
    trainer = TRAINERS[config.algo]
    started = time.perf_counter()
    if from_counts is not None:
        if corpus is not None:
            raise ConfigError("give a corpus or saved counts (from_counts / --from-counts), not both")
        if trainer.from_counts_error:
            raise ConfigError(trainer.from_counts_error)
        counted = from_counts if hasattr(from_counts, "counts") else load_counts(from_counts)
        check_pipeline(counted.pipeline, config, where=str(from_counts) if not hasattr(from_counts, "counts") else "")
        source = None
    else:
        if corpus is None:
            raise ConfigError("no corpus given: pass files, folders or globs (or saved counts as from_counts)")
        source = corpus if isinstance(corpus, Corpus) else Corpus(
            corpus, text_field=config.text_field, errors=config.errors, progress=progress)
        loaded = in_background(trainer.warm_up) if trainer.warm_up else None  # kernels load while counting
        counted = count_corpus(source, config, progress=progress)
        if loaded is not None:
            loaded()
    normalizer, pretokenizer, _, numbers = pipeline_stages(config)
    counts, held_out = counted.counts, counted.held_out
    counted_at = time.perf_counter()
    if len(counts) == 0:
        raise CorpusError(f"the corpus has no words to train on after pretokenization "
                          f"({counted.corpus['documents']} documents, {held_out.excluded_documents} held out)")
    rounds: list[int] = []  # a Unigram model's training (also as the morph fallback): pieces left after each EM round
    if config.model_algorithm == "unigram":
        bar = tqdm(desc="EM rounds", unit="round", disable=not progress)
        on_progress = lambda n: (rounds.append(n), bar.update(1), bar.set_postfix(pieces=n))  # noqa: E731
    else:
        bar = tqdm(total=config.vocab_size, desc="merging", unit="tok", disable=not progress)
        on_progress = lambda n: bar.update(n - bar.n)  # noqa: E731

    def recount(superword: Pretokenizer, cores: int) -> WordCounts:  # the held-out documents are left out again
        """The corpus counted again with another split, on at most ``cores`` cores (and at most the
        config's ``workers``, 0 = every core): the same counts for any number of workers."""
        workers = min(config.workers or cores, cores)
        return count_corpus(source, config, pattern=superword.pattern, workers=workers).counts

    stop: dict[str, Any] = {}
    job = Job(config, counts, normalizer, pretokenizer, numbers, tuple(numbers.reserved_tokens()) if numbers else (),
              on_progress, stop, recount if source is not None else None)
    tok, sections = trainer.train(job)
    bar.close()
    trained = time.perf_counter()
    tok.training = {
        "config": config.to_dict(),
        "corpus": {**counted.corpus, "word_occurrences": counts.total, "unique_words": len(counts)},
        "seconds": {"count": round(counted_at - started, 3), "merge": round(trained - counted_at, 3)},
        "vocab_size": tok.vocab_size,
        "vocab": {"requested": config.vocab_size, "reached": tok.vocab_size,
                  "stopped": stop.get("stopped") if tok.vocab_size < config.vocab_size else None},
        "merges": tok.model.facts().get("merges", 0),
        **({"pieces_after_each_em_round": rounds} if rounds else {}),
        "held_out": _held_out_report(tok, held_out),
        "counting": {**counted.report, **({"from_counts": str(from_counts)} if source is None else {})},
        **sections,
    }
    if "superbpe" in sections:  # the second pass is counting too, not merging
        wait = sections["superbpe"]["seconds"].get("stage2_count_wait", 0.0)
        tok.training["seconds"]["count"] += wait
        tok.training["seconds"]["merge"] -= wait
    return tok


def _held_out_report(tok: Tokenizer, held_out: HeldOut) -> dict[str, Any]:
    n_tokens = sum(len(ids) for ids in tok.encode_batch(held_out.documents))
    return {
        "documents": len(held_out.documents),
        "bytes": held_out.nbytes,
        "excluded_documents": held_out.excluded_documents,
        "excluded_bytes": held_out.excluded_bytes,
        "tokens": n_tokens,
        "bytes_per_token": round(held_out.nbytes / n_tokens, 4) if n_tokens else None,
    }
