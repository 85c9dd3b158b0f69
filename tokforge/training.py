"""Training: ``feed`` (corpus I/O -> word counts) then the pure ``train_bpe(word_counts)``.

    >>> tok = train("corpora/", vocab_size=2000)          # doctest: +SKIP
    >>> tok.training["held_out"]["bytes_per_token"]        # doctest: +SKIP
    3.9
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from tokforge.bpe import train_bpe
from tokforge.config import TrainConfig
from tokforge.corpus import Corpus
from tokforge.errors import CorpusError
from tokforge.normalizers import Normalizer
from tokforge.pretokenizers import Pretokenizer
from tokforge.specials import SpecialSplitter
from tokforge.tokenizer import Tokenizer
from tokforge.words import WordCounter, WordCounts

PIECES_PER_BATCH = 1 << 18
HELD_OUT_MAX_BYTES = 2 << 20


@dataclass
class HeldOut:
    """Documents set aside (seeded, reproducible) to measure compression after training."""

    fraction: float
    seed: int
    documents: list[str] = field(default_factory=list)
    nbytes: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def take(self, doc: str) -> bool:
        """Keep ``doc`` aside (and return True) with probability ``fraction``, up to 2 MB."""
        if self.fraction <= 0 or self.nbytes >= HELD_OUT_MAX_BYTES or self._rng.random() >= self.fraction:
            return False
        self.documents.append(doc)
        self.nbytes += len(doc.encode("utf-8", errors="surrogatepass"))
        return True


def feed(corpus: Corpus, normalizer: Normalizer, pretokenizer: Pretokenizer,
         specials: SpecialSplitter, held_out: HeldOut | None = None) -> WordCounts:
    """Stream the corpus once: normalize, pretokenize and count the words of every document."""
    counter = WordCounter()
    pieces: list[str] = []
    for doc in corpus:
        if held_out is not None and held_out.take(doc):
            continue
        for part in specials.plain_parts(doc):
            pieces.extend(pretokenizer.split(normalizer.normalize(part)))
        if len(pieces) >= PIECES_PER_BATCH:
            counter.add(pieces)
            pieces = []
    counter.add(pieces)
    return counter.result()


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
    held_out = HeldOut(config.held_out, config.seed)
    counts = feed(source, normalizer, pretokenizer, specials, held_out)
    counted = time.perf_counter()
    if len(counts) == 0:
        raise CorpusError(f"the corpus has no words to train on after pretokenization "
                          f"({source.stats.documents} documents, {len(held_out.documents)} held out)")
    bar = tqdm(total=config.vocab_size, desc="merging", unit="tok", disable=not progress)
    model = train_bpe(counts, config.vocab_size, special_tokens=config.special_tokens,
                      min_frequency=config.min_frequency, max_token_length=config.max_token_length,
                      on_progress=lambda n: bar.update(n - bar.n))
    bar.close()
    trained = time.perf_counter()
    tok = Tokenizer(model, normalizer, pretokenizer)
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
    return tok


def _held_out_report(tok: Tokenizer, held_out: HeldOut) -> dict[str, Any]:
    n_tokens = sum(len(ids) for ids in tok.encode_batch(held_out.documents))
    return {
        "documents": len(held_out.documents),
        "bytes": held_out.nbytes,
        "tokens": n_tokens,
        "bytes_per_token": round(held_out.nbytes / n_tokens, 4) if n_tokens else None,
    }
