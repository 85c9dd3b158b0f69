"""Training: ``feed`` (corpus I/O -> word counts) then the pure ``train_bpe(word_counts)`` or
``train_unigram(word_counts)``.

    >>> tok = train("corpora/", vocab_size=2000)          # doctest: +SKIP
    >>> tok.training["held_out"]["bytes_per_token"]        # doctest: +SKIP
    3.9

Counting at scale (shards, worker processes, Dask, memory budget) is ``tokforge.counting``.
"""
from __future__ import annotations

import threading
import time
from queue import Full, Queue
from dataclasses import dataclass, field
from typing import Any, Iterator, TypeVar

import numpy as np
from tqdm.auto import tqdm

from tokforge.bpe import train_bpe_from_config
from tokforge.config import TrainConfig
from tokforge.corpus import Block, Corpus
from tokforge.errors import ConfigError, CorpusError
from tokforge.kernels.sampling import uniform_of_documents
from tokforge.text.normalizers import Normalizer
from tokforge.text.numbers import TriadicSuffixStage
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.text.specials import SpecialSplitter
from tokforge.superbpe import train_superbpe
from tokforge.tokenizer import Tokenizer
from tokforge.unigram import train_unigram_from_config
from tokforge.words import WordCounter, WordCounts, lengths_of, offsets_from_lengths

HELD_OUT_MAX_BYTES = 2 << 20
T = TypeVar("T")


@dataclass
class HeldOut:
    """Documents set aside to measure compression after training.

    A document is held out when a seeded hash of its text falls below ``fraction``
    (``tokforge.kernels.sampling``): the choice depends on the document alone, not on its place in
    the corpus, so counting the corpus in shards, in parallel, or in parts merged later holds out
    the same documents. Every chosen document is left out of the counts; the first 2 MB of them
    (in corpus order) are kept in ``documents`` to measure bytes/token. Equal documents are held
    out together, so a held-out document never occurs verbatim in the training text.
    """

    fraction: float
    seed: int
    documents: list[str] = field(default_factory=list)
    nbytes: int = 0
    excluded_documents: int = 0  # every document left out of the counts ...
    excluded_bytes: int = 0      # ... and their bytes (``documents`` holds the first 2 MB of them)

    def filter(self, block: Block) -> Block:
        """Take the held-out documents of a block; return the block of the documents kept."""
        data, bounds = block.data, block.bounds
        if self.fraction <= 0 or len(block) == 0:
            return block
        chosen = np.flatnonzero(uniform_of_documents(np.frombuffer(data, np.uint8), bounds,
                                                     np.uint64(self.seed & (2**64 - 1))) < self.fraction)
        if len(chosen) == 0:
            return block
        lengths = np.diff(bounds)
        self.excluded_documents += len(chosen)
        self.excluded_bytes += int(lengths[chosen].sum())
        for i in chosen.tolist():
            if self.nbytes >= HELD_OUT_MAX_BYTES:
                break
            doc = data[bounds[i]:bounds[i + 1]]
            self.documents.append(doc.decode("utf-8"))
            self.nbytes += len(doc)
        keep = np.ones(len(block), bool)
        keep[chosen] = False
        kept = np.frombuffer(data, np.uint8)[np.repeat(keep, lengths)].tobytes()
        return Block(kept, offsets_from_lengths(lengths[keep]), block.first_document)

    def extend(self, other: "HeldOut") -> None:
        """Append the held-out documents of the next part of the corpus (as if read after these)."""
        for doc in other.documents:
            if self.nbytes >= HELD_OUT_MAX_BYTES:
                break
            self.documents.append(doc)
            self.nbytes += len(doc.encode("utf-8"))
        self.excluded_documents += other.excluded_documents
        self.excluded_bytes += other.excluded_bytes


def feed(corpus: Corpus, normalizer: Normalizer, pretokenizer: Pretokenizer,
         specials: SpecialSplitter, held_out: HeldOut | None = None,
         numbers: TriadicSuffixStage | None = None, counter: WordCounter | None = None) -> WordCounts:
    """Stream the corpus once: normalize, apply the number stage, pretokenize and count the words
    of every document (the number stage's reserved units are left out, like special tokens).

    Blocks of documents go straight from bytes to word counts through numba kernels when the
    pipeline allows it (no number stage, a preset split, no special token in the block; a
    normalizer is applied to each document first, in Python); otherwise each document takes the
    exact, slower Python path. Both give the same counts.
    Reading and scanning run one block ahead in a second thread while this one counts. Give a
    ``counter`` to count into it (e.g. one with a memory budget).
    """
    counter = WordCounter() if counter is None else counter
    identity = normalizer.names == ("none",)

    def scanned() -> Iterator[tuple[Block, np.ndarray | None]]:
        for block in corpus.iter_blocks():
            if held_out is not None:
                block = held_out.filter(block)
            if numbers is not None or not pretokenizer.has_scanner or specials.occurs_in(block.data):
                yield block, None
                continue
            ready = block if identity else normalized(block, normalizer)
            piece_bounds = pretokenizer.scan_bytes(ready.data, ready.bounds)
            yield (block, None) if piece_bounds is None else (ready, piece_bounds)

    for block, piece_bounds in prefetch(scanned()):
        if piece_bounds is not None:
            counter.add_packed(block.data, piece_bounds)
            continue
        pieces: list[str] = []
        for doc in block.documents():
            for part in specials.plain_parts(doc):
                text = normalizer.normalize(part)
                for plain in numbers.plain_parts(text) if numbers else [text]:
                    pieces.extend(pretokenizer.split(plain))
        counter.add(pieces)
    return counter.result()


def normalized(block: Block, normalizer: Normalizer) -> Block:
    """The block with each of its documents normalized."""
    docs = [normalizer.normalize(d).encode("utf-8") for d in block.documents()]
    return Block(b"".join(docs), offsets_from_lengths(lengths_of(docs)), block.first_document)


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` produced by a background thread up to ``depth`` ahead; its exceptions are
    raised here, and stopping early stops it."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put((item, None), timeout=0.1)
                        break
                    except Full:
                        pass
                if stop.is_set():
                    return
            queue.put((done, None))
        except BaseException as e:  # handed to the consumer
            queue.put((done, e))

    worker = threading.Thread(target=produce, name="tokforge-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = queue.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def train(corpus: Any = None, config: TrainConfig | None = None, *, progress: bool = False,
          from_counts: Any = None, **options: Any) -> Tokenizer:
    """Train a tokenizer on ``corpus`` (folder, files, globs or a datasets object), or on the word
    counts saved by ``tokforge count`` (``from_counts``: the folder, or a ``CountResult``).

    Options are the fields of ``TrainConfig`` (given as ``config`` or as keywords). The returned
    tokenizer's ``training`` dict holds the config and a report (sizes, times, held-out bytes/token).
    """
    from tokforge.counting import count_corpus, pipeline_stages
    from tokforge.saved_counts import check_pipeline, load_counts

    config = TrainConfig.from_dict({**(config.to_dict() if config else {}), **options})
    started = time.perf_counter()
    if from_counts is not None:
        if corpus is not None:
            raise ConfigError("give a corpus or saved counts (from_counts / --from-counts), not both")
        if config.algo == "superbpe":
            raise ConfigError("superbpe cannot train from saved counts: its second stage counts the corpus "
                              "again with another split. Train superbpe from the corpus (--workers and "
                              "--memory-budget apply to both of its counts)")
        counted = from_counts if hasattr(from_counts, "counts") else load_counts(from_counts)
        check_pipeline(counted.pipeline, config, where=str(from_counts) if not hasattr(from_counts, "counts") else "")
        source = None
    else:
        if corpus is None:
            raise ConfigError("no corpus given: pass files, folders or globs (or saved counts as from_counts)")
        source = corpus if isinstance(corpus, Corpus) else Corpus(
            corpus, text_field=config.text_field, errors=config.errors, progress=progress)
        counted = count_corpus(source, config, progress=progress)
    normalizer, pretokenizer, _, numbers = pipeline_stages(config)
    counts, held_out = counted.counts, counted.held_out
    counted_at = time.perf_counter()
    if len(counts) == 0:
        raise CorpusError(f"the corpus has no words to train on after pretokenization "
                          f"({counted.corpus['documents']} documents, {held_out.excluded_documents} held out)")
    reserved = tuple(numbers.reserved_tokens()) if numbers else ()  # ids right after the specials
    superbpe = morph = None
    rounds: list[int] = []  # unigram (also as the morph fallback): pieces left after each EM round
    if config.algo == "unigram" or (config.algo == "morph" and config.morph_fallback == "unigram"):
        bar = tqdm(desc="EM rounds", unit="round", disable=not progress)
        on_progress = lambda n: (rounds.append(n), bar.update(1), bar.set_postfix(pieces=n))  # noqa: E731
    else:
        bar = tqdm(total=config.vocab_size, desc="merging", unit="tok", disable=not progress)
        on_progress = lambda n: bar.update(n - bar.n)  # noqa: E731
    stop: dict[str, Any] = {}  # "stopped": why the vocabulary is smaller than asked for
    if config.algo == "unigram":
        model = train_unigram_from_config(counts, config, config.special_tokens, on_progress, stop)
    elif config.algo == "morph":
        from tokforge.morph_tokenizer import train_morph
        model, stage, morph = train_morph(counts, config, on_progress, stop)
    elif config.algo == "superbpe":
        def recount(superword: Pretokenizer) -> WordCounts:  # the held-out documents are left out again
            return count_corpus(source, config, pattern=superword.pattern).counts
        model, pretokenizer, superbpe = train_superbpe(counts, recount, config, on_progress, reserved, stop)
    else:
        model = train_bpe_from_config(counts, config, config.special_tokens + reserved, on_progress, stop)
    bar.close()
    trained = time.perf_counter()
    if morph is not None:
        from tokforge.morph_tokenizer import MorphTokenizer
        tok = MorphTokenizer(model, stage, normalizer, pretokenizer)
    else:
        tok = Tokenizer(model, normalizer, pretokenizer, numbers=numbers)
    tok.training = {
        "config": config.to_dict(),
        "corpus": {**counted.corpus, "word_occurrences": counts.total, "unique_words": len(counts)},
        "seconds": {"count": round(counted_at - started, 3), "merge": round(trained - counted_at, 3)},
        "vocab_size": tok.vocab_size,
        "vocab": {"requested": config.vocab_size, "reached": tok.vocab_size,
                  "stopped": stop.get("stopped") if tok.vocab_size < config.vocab_size else None},
        "merges": len(getattr(model, "merges", ())),
        **({"pieces_after_each_em_round": rounds} if rounds else {}),
        "held_out": _held_out_report(tok, held_out),
        "counting": {**counted.report, **({"from_counts": str(from_counts)} if source is None else {})},
    }
    if morph is not None:
        tok.training["morph"] = morph
    if superbpe is not None:
        tok.training["superbpe"] = superbpe
        # the second pass is counting too, not merging
        tok.training["seconds"]["count"] += superbpe["seconds"].get("stage2_count_wait", 0.0)
        tok.training["seconds"]["merge"] -= superbpe["seconds"].get("stage2_count_wait", 0.0)
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
