"""Counting one stream of documents: ``feed`` (corpus I/O -> word counts) and ``HeldOut`` (the
documents set aside to measure compression after training).

    >>> from tokforge.config import TrainConfig
    >>> normalizer, pretokenizer, specials, numbers = pipeline_stages(TrainConfig())
    >>> held_out = HeldOut(fraction=0.1, seed=0)
    >>> counts = feed(Corpus("corpora/tr/denemeler_tokforge_tr.txt"), normalizer, pretokenizer, specials, held_out)
    >>> counts.total, len(counts), held_out.excluded_documents
    (1461, 808, 11)

Counting at scale (shards, worker processes, Dask, memory budget) is ``tokforge.counting.engines``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

import numpy as np

from tokforge.background import prefetch
from tokforge.corpus import Block, Corpus
from tokforge.counting.words import WordCounter, WordCounts
from tokforge.kernels.sampling import uniform_of_documents
from tokforge.packed import lengths_of, offsets_from_lengths
from tokforge.text.normalizers import Normalizer
from tokforge.text.numbers import TriadicSuffixStage, number_stage
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.text.specials import SpecialSplitter

if TYPE_CHECKING:
    from tokforge.config import TrainConfig

HELD_OUT_MAX_BYTES = 2 << 20


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
    """The word counts of ``corpus`` (``feed_into`` a new counter, or into ``counter``, taken)."""
    counter = WordCounter() if counter is None else counter
    feed_into(counter, corpus, normalizer, pretokenizer, specials, held_out, numbers)
    return counter.take()


def feed_into(counter: WordCounter, corpus: Corpus, normalizer: Normalizer, pretokenizer: Pretokenizer,
              specials: SpecialSplitter, held_out: HeldOut | None = None,
              numbers: TriadicSuffixStage | None = None) -> None:
    """Stream the corpus once: normalize, apply the number stage, pretokenize and count the words
    of every document (the number stage's reserved units are left out, like special tokens).

    Special-token text in the corpus (``specials``: the config's ``special_tokens``) is a boundary, not
    text: it is cut out of the document and not counted, and no word spans it -- so training learns no
    piece of it, and ``<|endoftext|>`` written between documents of a text file separates them.

    Blocks of documents go straight from bytes to word counts through numba kernels when the
    pipeline allows it (no number stage, a preset split, no special token in the block; a
    normalizer is applied to each document first, in Python); otherwise each document takes the
    exact, slower Python path. Both give the same counts.
    Reading and scanning run one block ahead in a second thread while this one counts. The words
    are added to ``counter`` (e.g. one with a memory budget, or holding the counts of other shards).
    """
    identity = normalizer.names == ("none",)

    def scanned() -> Iterator[tuple[Block, np.ndarray | None]]:
        for block in corpus.iter_blocks():
            if held_out is not None:
                block = held_out.filter(block)
            if not scans_blocks(pretokenizer, numbers) or specials.occurs_in(block.data):
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


def scans_blocks(pretokenizer: Pretokenizer, numbers: TriadicSuffixStage | None) -> bool:
    """Whether ``feed`` counts whole blocks with the kernels (a preset split with a scanner, no number
    stage), rather than each document in Python."""
    return numbers is None and pretokenizer.has_scanner


def normalized(block: Block, normalizer: Normalizer) -> Block:
    """The block with each of its documents normalized."""
    docs = [normalizer.normalize(d).encode("utf-8") for d in block.documents()]
    return Block(b"".join(docs), offsets_from_lengths(lengths_of(docs)), block.first_document)


def pipeline_stages(config: TrainConfig, pattern: str | None = None
                    ) -> tuple[Normalizer, Pretokenizer, SpecialSplitter, TriadicSuffixStage | None]:
    """The normalizer, pretokenizer (split ``pattern``, default ``config.pattern``), special
    tokens and number stage of a training config (the arguments of ``feed``)."""
    return (Normalizer(config.normalizer), Pretokenizer(pattern or config.pattern, config.digits),
            SpecialSplitter({s: i for i, s in enumerate(config.special_tokens)}), number_stage(config.numbers))
