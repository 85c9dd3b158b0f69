"""Extending a tokenizer for new text: ``extend()`` (``tokforge extend``) adds tokens learned on a new
corpus to an existing tokenizer -- a tokforge model or an imported tokenizer.json -- keeping every old
id, token and merge (BPE) or score (Unigram), and reports what it changed. ``add`` is the number of
merges to append (BPE: ``tokforge.models.bpe_extend``) or of scored pieces (Unigram:
``tokforge.models.unigram_extend``).

    >>> tok = extend("out-en/", "corpora/tr", add=500, old_text="corpora/en")   # doctest: +SKIP
    >>> tok.training["extended"]["new_text"]["bytes_per_token"]                 # doctest: +SKIP
    {'before': 2.61, 'after': 3.42}

The new corpus is read with the base's own pipeline (normalizer, split, special tokens cut out);
a seeded tenth of its documents is held out to measure bytes/token before and after. New tokens
can change how old text is encoded (a new merge may join pieces the old merges left apart; a new
Unigram piece may make a better-scored segmentation):
``old_text`` -- a sample of the kind of text the base was made for -- measures how many of its
documents now encode differently; without it the report says that it was not measured.
"""
from __future__ import annotations

import os
import time
from typing import Any

from tokforge.corpus import Corpus
from tokforge.counting.feed import HELD_OUT_MAX_BYTES, HeldOut, feed
from tokforge.errors import ConfigError
from tokforge.text.specials import SpecialSplitter
from tokforge.tokenizer import Tokenizer

HELD_OUT_FRACTION = 0.1
OLD_TEXT_MAX_BYTES = HELD_OUT_MAX_BYTES  # the sample of old text measured (its first documents)


def extend(base: Tokenizer | str | os.PathLike, corpus: Any, *, add: int, min_frequency: int = 2,
           old_text: Any = None, seed: int = 0, progress: bool = False) -> Tokenizer:
    """``base`` (a Tokenizer, or a path ``Tokenizer.load`` reads) with ``add`` more merges (BPE) or
    pieces (Unigram) learned on ``corpus`` (sources as for ``train``) after its own; its
    ``training["extended"]`` is the report. ``min_frequency``: how often a new merge's pair (BPE) or a
    candidate piece (Unigram) must occur in the new text."""
    tok = base if isinstance(base, Tokenizer) else Tokenizer.load(base)
    if type(tok).algorithm != Tokenizer.algorithm or tok.numbers is not None:
        raise ConfigError(f"extend takes a plain BPE or Unigram tokenizer; this one has a stage in front of its "
                          f"model ({tok.algorithm_label})")
    started = time.perf_counter()
    held_out = HeldOut(HELD_OUT_FRACTION, seed)
    counts = feed(Corpus(corpus, progress=progress, desc="counting"), tok.normalizer, tok.pretokenizer,
                  SpecialSplitter(tok.special_tokens), held_out)
    model = tok.model.extended(counts, add, min_frequency)
    out = Tokenizer(model, tok.normalizer, tok.pretokenizer, dict(tok.training), None, tok.added)
    report = {
        "base_vocab_size": tok.vocab_size,
        "vocab_size": out.vocab_size,
        "tokens_added": out.vocab_size - tok.vocab_size,
        "new_text": {**_bytes_per_token(tok, out, held_out.documents), "documents": len(held_out.documents),
                     "what": f"held-out documents of the new corpus ({HELD_OUT_FRACTION:.0%}, seed {seed})"},
        "old_text": _old_text_changes(tok, out, old_text),
        "seconds": round(time.perf_counter() - started, 3),
    }
    out.training["extended"] = report
    return out


def _bytes_per_token(before: Tokenizer, after: Tokenizer, documents: list[str]) -> dict[str, Any]:
    n_bytes = sum(len(d.encode("utf-8")) for d in documents)
    counts = [sum(map(len, t.encode_batch(documents))) for t in (before, after)]
    return {"bytes": n_bytes, "tokens": {"before": counts[0], "after": counts[1]},
            "bytes_per_token": {k: round(n_bytes / c, 4) if c else None for k, c in zip(("before", "after"), counts)}}


def _old_text_changes(before: Tokenizer, after: Tokenizer, old_text: Any) -> dict[str, Any]:
    if old_text is None:
        return {"measured": False, "why": "no sample of the base's kind of text given (old_text / --old-text)"}
    documents, n_bytes = [], 0
    for doc in Corpus(old_text):
        if n_bytes >= OLD_TEXT_MAX_BYTES:
            break
        documents.append(doc)
        n_bytes += len(doc.encode("utf-8"))
    old, new = before.encode_batch(documents), after.encode_batch(documents)
    changed = sum(a != b for a, b in zip(old, new))
    return {"measured": True, "documents": len(documents), "bytes": n_bytes, "changed_documents": changed,
            **_bytes_per_token(before, after, documents)}
