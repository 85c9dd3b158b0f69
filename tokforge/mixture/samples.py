"""What mixture inference reads: the BPE tokenizer (a tokforge model or any byte-level BPE
tokenizer.json) and a sample of text per category, counted into words by the tokenizer's own
pipeline (special tokens, normalizer, number stage, pretokenizer).

    >>> parse_category("code=samples/python/")
    Category(name='code', sources='samples/python/')
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
from tqdm.auto import tqdm

from tokforge.corpus import Block, Corpus
from tokforge.counting.feed import feed
from tokforge.counting.words import WordCounts
from tokforge.errors import ConfigError, CorpusError
from tokforge.formats.folder import read_model_file
from tokforge.models.bpe import BPEModel
from tokforge.text.bytelevel import BYTE_TO_CHAR
from tokforge.text.specials import SpecialSplitter
from tokforge.tokenizer import Tokenizer

DEFAULT_SAMPLE_BYTES = 100 << 20    # text read per category when not told
MIN_SAMPLE_BYTES = 1000             # a smaller category sample is refused


@dataclass(frozen=True)
class Category:
    """A category of text and where its sample is (files, folders or globs, as for ``Corpus``)."""

    name: str
    sources: Any


def parse_category(spec: str) -> Category:
    """``NAME=PATH`` (the CLI's ``--category``)."""
    name, sep, path = str(spec).partition("=")
    if not sep or not name.strip() or not path.strip():
        raise ConfigError(f"category {spec!r} is not NAME=PATH; give e.g. --category en=samples/en.txt")
    return Category(name.strip(), path.strip())


def categories_of(categories: Mapping[str, Any] | Sequence[Any]) -> list[Category]:
    """Categories from ``{name: sources}``, or a sequence of ``Category``, ``(name, sources)`` or
    ``"NAME=PATH"``; names must be unique and there must be at least two."""
    if isinstance(categories, Mapping):
        items = [Category(str(k), v) for k, v in categories.items()]
    else:
        items = [c if isinstance(c, Category) else parse_category(c) if isinstance(c, str) else Category(*c)
                 for c in categories]
    names = [c.name for c in items]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"category {repeated[0]!r} is given more than once; give each category once "
                          "(a category may have several paths: --category NAME=PATH for each)")
    if len(items) < 2:
        raise ConfigError(f"give at least two categories to tell apart, got {len(items)} ({', '.join(names)})")
    return items


def load_bpe(tokenizer: Tokenizer | str | Path) -> tuple[Tokenizer, frozenset[int]]:
    """The BPE tokenizer (a loaded one, a tokforge model or any byte-level BPE tokenizer.json), and
    the bytes its vocabulary lacks (stand-in byte tokens, never merged, are added for them)."""
    absent: frozenset[int] = frozenset()
    if isinstance(tokenizer, Tokenizer):
        tok = tokenizer
    else:
        doc, source, is_native = read_model_file(tokenizer)
        if is_native:
            tok = Tokenizer.from_native(doc, source)
        else:
            doc, absent = _with_every_byte(doc)
            tok = Tokenizer.from_hf(doc, source)
    if tok.stage is not None or not isinstance(tok.model, BPEModel):
        raise ConfigError(f"{tokenizer}: a {tok.algorithm} tokenizer has no merge list of its own; mixture "
                          "inference reads the order of BPE merges: give a byte-level BPE tokenizer")
    return tok, absent


def _with_every_byte(doc: Any) -> tuple[Any, frozenset[int]]:
    """A BPE tokenizer.json document with a token for each byte its vocabulary lacks (HF's
    ``BpeTrainer`` keeps only the bytes it saw; new ids after the last), and those bytes; other
    documents as they are."""
    model = doc.get("model") if isinstance(doc, dict) else None
    if not isinstance(model, dict) or model.get("type", "BPE") != "BPE" or not isinstance(model.get("vocab"), dict):
        return doc, frozenset()
    vocab = model["vocab"]
    missing = [b for b in range(256) if BYTE_TO_CHAR[b] not in vocab]
    if not missing:
        return doc, frozenset()
    ids = [int(i) for i in vocab.values()] + [int(t.get("id", -1)) for t in doc.get("added_tokens", [])]
    first = max(ids, default=-1) + 1
    added = {BYTE_TO_CHAR[b]: first + k for k, b in enumerate(missing)}
    return {**doc, "model": {**model, "vocab": {**vocab, **added}}}, frozenset(missing)


@dataclass(frozen=True)
class Sample:
    """A category's sample: its word counts under the tokenizer's pipeline and the text read."""

    name: str
    counts: WordCounts
    nbytes: int
    documents: int


class _Head:
    """The first ``limit`` bytes of a corpus (whole documents), read as ``feed`` reads a corpus."""

    def __init__(self, corpus: Corpus, limit: int, bar: tqdm):
        self.corpus, self.limit, self.bar = corpus, limit, bar
        self.nbytes = self.documents = 0

    def iter_blocks(self) -> Iterator[Block]:
        for block in self.corpus.iter_blocks():
            room = self.limit - self.nbytes
            full = len(block.data) > room
            if full:
                fit = int(np.searchsorted(block.bounds, room, side="right")) - 1  # documents that fit
                block = Block(block.data[: block.bounds[fit]], block.bounds[: fit + 1], block.first_document)
            self.nbytes += len(block.data)
            self.documents += len(block)
            self.bar.update(len(block.data))
            if len(block):
                yield block
            if full:
                return


def read_sample(tok: Tokenizer, category: Category, limit: int = DEFAULT_SAMPLE_BYTES, *,
                absent: frozenset[int] = frozenset(), text_field: str = "text", errors: str = "strict",
                progress: bool = False) -> Sample:
    """Count the words of the first ``limit`` bytes of a category's text with the tokenizer's pipeline."""
    corpus = Corpus(category.sources, text_field=text_field, errors=errors)
    where = f"category {category.name!r} ({category.sources})"
    total = min(limit, corpus.total_bytes) if corpus.total_bytes else None
    with tqdm(total=total, unit="B", unit_scale=True, desc=f"counting {category.name}",
              disable=not progress) as bar:
        head = _Head(corpus, limit, bar)
        counts = feed(head, tok.normalizer, tok.pretokenizer, SpecialSplitter(tok.special_tokens),
                      numbers=tok.numbers)
    if head.nbytes < MIN_SAMPLE_BYTES or counts.total == 0 or not (np.diff(counts.offsets) > 1).any():
        raise CorpusError(f"{where}: the sample holds {head.nbytes:,} bytes of text; give at least "
                          f"{MIN_SAMPLE_BYTES:,} bytes with words of two or more bytes (the more text, "
                          "the closer the estimate: megabytes per category)")
    if absent:
        seen = np.bincount(counts.arena, minlength=256)
        uncovered = [b for b in sorted(absent) if seen[b]]
        if uncovered:
            word = next(w for w, _ in counts.items() if uncovered[0] in w)
            raise CorpusError(f"{where}: the text holds bytes the tokenizer's alphabet lacks "
                              f"({', '.join(f'0x{b:02X}' for b in uncovered[:5])}, e.g. in {word!r}), so the "
                              "tokenizer never saw such text; drop the documents that hold them or this category")
    return Sample(category.name, counts, head.nbytes, head.documents)
