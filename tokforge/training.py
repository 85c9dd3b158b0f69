"""Training: ``feed`` (corpus I/O -> word counts) then the pure ``train_bpe(word_counts)``.

    >>> tok = train("corpora/", vocab_size=2000)          # doctest: +SKIP
    >>> tok.training["held_out"]["bytes_per_token"]        # doctest: +SKIP
    3.9
"""
from __future__ import annotations

import threading
import time
from queue import Full, Queue
from dataclasses import dataclass, field
from typing import Any, Iterator, TypeVar

import numpy as np
from tqdm.auto import tqdm

from tokforge.bpe import train_bpe
from tokforge.config import TrainConfig
from tokforge.corpus import Block, Corpus
from tokforge.errors import CorpusError
from tokforge.normalizers import Normalizer
from tokforge.numbers import TriadicSuffixStage, number_stage
from tokforge.pretokenizers import Pretokenizer
from tokforge.specials import SpecialSplitter
from tokforge.superbpe import train_superbpe
from tokforge.tokenizer import Tokenizer
from tokforge.words import WordCounter, WordCounts, offsets_from_lengths

HELD_OUT_MAX_BYTES = 2 << 20
T = TypeVar("T")


@dataclass
class HeldOut:
    """Documents set aside to measure compression after training: document ``i`` is held out
    when a hash of (seed, i) falls below ``fraction`` (so the choice does not depend on how the
    corpus is cut into blocks), until 2 MB are held out."""

    fraction: float
    seed: int
    documents: list[str] = field(default_factory=list)
    nbytes: int = 0

    def filter(self, block: Block) -> Block:
        """Take the held-out documents of a block; return the block of the documents kept."""
        data, bounds = block.data, block.bounds
        if self.fraction <= 0 or self.nbytes >= HELD_OUT_MAX_BYTES or len(block) == 0:
            return block
        n = len(block)
        chosen = np.flatnonzero(_uniform(self.seed, block.first_document + np.arange(n)) < self.fraction)
        keep = np.ones(n, bool)
        for i in chosen.tolist():
            if self.nbytes >= HELD_OUT_MAX_BYTES:
                break
            doc = data[bounds[i]:bounds[i + 1]]
            self.documents.append(doc.decode("utf-8"))
            self.nbytes += len(doc)
            keep[i] = False
        if keep.all():
            return block
        lengths = np.diff(bounds)
        kept = np.frombuffer(data, np.uint8)[np.repeat(keep, lengths)].tobytes()
        return Block(kept, offsets_from_lengths(lengths[keep]), block.first_document)


def _uniform(seed: int, index: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) for each document index: splitmix64 of (seed, index)."""
    with np.errstate(over="ignore"):
        z = index.astype(np.uint64) + np.uint64(seed & (2**64 - 1)) * np.uint64(0x9E3779B97F4A7C15)
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def feed(corpus: Corpus, normalizer: Normalizer, pretokenizer: Pretokenizer,
         specials: SpecialSplitter, held_out: HeldOut | None = None,
         numbers: TriadicSuffixStage | None = None) -> WordCounts:
    """Stream the corpus once: normalize, apply the number stage, pretokenize and count the words
    of every document (the number stage's reserved units are left out, like special tokens).

    Blocks of documents go straight from bytes to word counts through numba kernels when the
    pipeline allows it (no normalizer, no number stage, a preset split, no special token in the
    block); otherwise each document takes the exact, slower Python path. Both give the same counts.
    Reading and scanning run one block ahead in a second thread while this one counts.
    """
    counter = WordCounter()
    identity = normalizer.names == ("none",)

    def scanned() -> Iterator[tuple[Block, np.ndarray | None]]:
        for block in corpus.iter_blocks():
            if held_out is not None:
                block = held_out.filter(block)
            fast = identity and numbers is None and not specials.occurs_in(block.data)
            yield block, pretokenizer.scan_bytes(block.data, block.bounds) if fast else None

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


def train(corpus: Any, config: TrainConfig | None = None, *, progress: bool = False, **options: Any) -> Tokenizer:
    """Train a tokenizer on ``corpus`` (folder, files, globs or a datasets object).

    Options are the fields of ``TrainConfig`` (given as ``config`` or as keywords). The returned
    tokenizer's ``training`` dict holds the config and a report (sizes, times, held-out bytes/token).
    """
    config = TrainConfig.from_dict({**(config.to_dict() if config else {}), **options})
    started = time.perf_counter()
    source = corpus if isinstance(corpus, Corpus) else Corpus(
        corpus, text_field=config.text_field, errors=config.errors, progress=progress)
    normalizer = Normalizer(config.normalizer)
    pretokenizer = Pretokenizer(config.pattern, config.digits)
    specials = SpecialSplitter({s: i for i, s in enumerate(config.special_tokens)})
    numbers = number_stage(config.numbers)
    held_out = HeldOut(config.held_out, config.seed)
    counts = feed(source, normalizer, pretokenizer, specials, held_out, numbers)
    counted = time.perf_counter()
    if len(counts) == 0:
        raise CorpusError(f"the corpus has no words to train on after pretokenization "
                          f"({source.stats.documents} documents, {len(held_out.documents)} held out)")
    bar = tqdm(total=config.vocab_size, desc="merging", unit="tok", disable=not progress)
    on_progress = lambda n: bar.update(n - bar.n)  # noqa: E731
    reserved = tuple(numbers.reserved_tokens()) if numbers else ()  # ids right after the specials
    superbpe = morph = None
    if config.algo == "morph":
        from tokforge.morph_tokenizer import train_morph
        model, stage, morph = train_morph(counts, config, on_progress)
    elif config.algo == "superbpe":
        def recount(superword: Pretokenizer) -> WordCounts:  # the held-out documents are left out again
            return feed(source, normalizer, superword, specials, HeldOut(config.held_out, config.seed), numbers)
        model, pretokenizer, superbpe = train_superbpe(counts, recount, config, on_progress, reserved)
    else:
        model = train_bpe(counts, config.vocab_size, special_tokens=config.special_tokens + reserved,
                          min_frequency=config.min_frequency, max_token_length=config.max_token_length,
                          on_progress=on_progress)
    bar.close()
    trained = time.perf_counter()
    if morph is not None:
        from tokforge.morph_tokenizer import MorphTokenizer
        tok = MorphTokenizer(model, stage, normalizer, pretokenizer, fallback=config.morph_fallback)
    else:
        tok = Tokenizer(model, normalizer, pretokenizer, numbers=numbers)
    stats = source.stats
    tok.training = {
        "config": config.to_dict(),
        "corpus": {
            "files": stats.files, "bytes": stats.bytes_read, "documents": stats.documents,
            "skipped_documents": stats.skipped_documents, "replaced_documents": stats.replaced_documents,
            "first_invalid_utf8": stats.first_invalid, "ignored_files": list(stats.ignored_files),
            "word_occurrences": counts.total, "unique_words": len(counts),
        },
        "seconds": {"count": round(counted - started, 3), "merge": round(trained - counted, 3)},
        "vocab_size": tok.vocab_size,
        "merges": len(model.merges),
        "held_out": _held_out_report(tok, held_out),
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
        "tokens": n_tokens,
        "bytes_per_token": round(held_out.nbytes / n_tokens, 4) if n_tokens else None,
    }
