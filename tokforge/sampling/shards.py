"""Token-id shards for training (``tokforge shards``): every document of a corpus encoded, sampled per
epoch (``tokforge.sampling.stochastic``) or once, into ``epoch-NNNN/shard-NNNNN.ids.npy`` and
``.bounds.npy`` with ``manifest.json``, written as a whole; the output never depends on the workers.

    >>> shard_dtype(50_000), shard_dtype(100_000)
    (dtype('uint16'), dtype('uint32'))
"""
from __future__ import annotations

import os
import re
from concurrent.futures import Future
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from tokforge.errors import ConfigError
from tokforge.io.folders import FINGERPRINTS, FolderKind, OutputFolder, read_index
from tokforge.kernels import rng
from tokforge.packed import offsets_from_lengths
from tokforge.processes import worker_count, worker_pool
from tokforge.sampling.stochastic import Sampling, StochasticEncoder, check_seed, example_seeds
from tokforge.text.specials import Allowed

if TYPE_CHECKING:
    from tokforge.corpus import Corpus
    from tokforge.tokenizer import Tokenizer

MANIFEST = "manifest.json"
SHARD_FORMAT = "tokforge-shards"
SHARD_VERSION = 1
_SHARD_FILE = r"epoch-\d{4}/shard-\d{5}\.(ids|bounds)\.npy"
SHARD_FOLDER = FolderKind("shards folder", files=rf"{re.escape(MANIFEST)}|{_SHARD_FILE}", folders=r"epoch-\d{4}",
                          index=MANIFEST, fingerprinted=_SHARD_FILE, format=SHARD_FORMAT)
DEFAULT_SHARD_TOKENS = 50_000_000   # a shard closes at the first document boundary past this many ids
BATCH_BYTES = 1 << 20               # documents per task of write_shards, about this much text


def shard_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)


class _ShardWriter:
    """Collects one epoch's examples in order; writes a shard (ids .npy + bounds .npy) into the
    output folder each time it holds ``shard_tokens`` ids, at a document boundary."""

    def __init__(self, out: OutputFolder, name: str, dtype: np.dtype, shard_tokens: int):
        self.out, self.name, self.dtype, self.shard_tokens = out, name, dtype, shard_tokens
        self.shards: list[dict[str, Any]] = []
        self._ids: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self._tokens = 0
        self.documents = 0
        self.tokens = 0

    def add(self, ids: np.ndarray, bounds: np.ndarray) -> None:
        lengths = np.diff(bounds)
        ends = np.cumsum(lengths)
        start = 0
        while start < len(lengths):
            # the documents up to the first one that brings the shard to shard_tokens ids
            need = self.shard_tokens - self._tokens + (ends[start - 1] if start else 0)
            stop = min(int(np.searchsorted(ends, need)) + 1, len(lengths))
            first, last = bounds[start] - bounds[0], bounds[stop] - bounds[0]
            self._ids.append(ids[first:last].astype(self.dtype))
            self._lengths.append(lengths[start:stop])
            self._tokens += last - first
            if self._tokens >= self.shard_tokens:
                self.flush()
            start = stop

    def flush(self) -> None:
        if not self._ids:
            return
        ids = np.concatenate(self._ids)
        bounds = offsets_from_lengths(np.concatenate(self._lengths))
        stem = f"{self.name}/shard-{len(self.shards):05d}"
        for path, array in ((f"{stem}.ids.npy", ids), (f"{stem}.bounds.npy", bounds)):
            with self.out.open(path, array.nbytes) as f:
                np.save(f, array, allow_pickle=False)
        n_docs = len(bounds) - 1
        self.shards.append({"ids": f"{stem}.ids.npy", "bounds": f"{stem}.bounds.npy",
                            "first_document": self.documents, "documents": n_docs, "tokens": len(ids)})
        self.documents += n_docs
        self.tokens += len(ids)
        self._ids, self._lengths, self._tokens = [], [], 0


_worker_encoders: list[StochasticEncoder] = []


def _init_worker(encoder: StochasticEncoder) -> None:
    _worker_encoders[:] = [encoder]


def _encode_epochs(texts: list[str], first_id: int, epochs: list[int],
                   encoder: StochasticEncoder | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(ids, bounds) of the documents ``first_id, first_id + 1, ...`` for each epoch."""
    encoder = encoder or _worker_encoders[0]
    example_ids = np.arange(first_id, first_id + len(texts))
    if encoder.sampling.samples_segmentation:  # the segmentation itself is sampled: once per epoch
        return [encoder.encode_packed(texts, epoch=e, example_ids=example_ids) for e in epochs]
    ids, bounds = encoder._segmented(texts, 0, example_ids)  # deterministic: encode once
    if encoder._splits is None:
        return [(ids, bounds)] * len(epochs)
    return [encoder._splits.expand(ids, bounds, encoder.sampling.stochastok,
                                   example_seeds(encoder.seed, e, example_ids, rng.STOCHASTOK)) for e in epochs]


def _batches(corpus: Corpus, batch_bytes: int) -> Iterator[tuple[list[str], int]]:
    first = 0
    for block in corpus.iter_blocks(batch_bytes):
        docs = block.documents()
        if docs:
            yield docs, first
            first += len(docs)


def write_shards(corpus: Corpus, tokenizer: Tokenizer, output: str | os.PathLike, *, sampling: Sampling = Sampling(),
                 seed: int = 0, epochs: int = 1, static: bool = False, workers: int = 0,
                 shard_tokens: int = DEFAULT_SHARD_TOKENS, tokenizer_source: str | None = None,
                 batch_bytes: int = BATCH_BYTES, allowed_special: Allowed = ()) -> dict[str, Any]:
    """Encode every document of ``corpus`` (a ``tokforge.Corpus``) into token-id shards in ``output``:
    ``epoch-NNNN/shard-NNNNN.ids.npy`` (the ids of its documents, concatenated; uint16 when the
    vocabulary fits, else uint32) and ``.bounds.npy`` (int64, document d is
    ``ids[bounds[d]:bounds[d+1]]``), and ``manifest.json`` last. Documents keep corpus order, and
    document k (0-based, over the whole corpus) is example id k: the output does not depend on
    ``workers`` (processes; 0: all cores, or this process alone for corpora under 32 MB, as
    ``tokforge count``). Per-epoch sampling writes ``epochs`` folders (epoch e sampled with epoch e);
    ``static`` writes one folder, sampled once (epoch 0), for every epoch. Documents go to the
    workers in tasks of about ``batch_bytes`` of text. Returns the manifest. A special token's text inside a
    document is text (documents are data), unless it is in ``allowed_special`` (``"all"`` or a set).

    The folder is written as a whole (``tokforge.io.folders``): shards go into a staging folder beside
    ``output`` as they are finished (where a resumable writer could find them), then the complete
    folder replaces ``output`` (absent, empty or a shards folder) in one step; the manifest records
    each shard file's fingerprint, which ``read_shards_manifest`` checks."""
    seed = check_seed(seed)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"epochs must be an integer >= 1, got {epochs!r}")
    workers = worker_count(workers, getattr(corpus, "total_bytes", 0))
    if isinstance(shard_tokens, bool) or not isinstance(shard_tokens, int) or shard_tokens < 1:
        raise ConfigError(f"shard_tokens must be an integer >= 1, got {shard_tokens!r}")
    encoder = StochasticEncoder(tokenizer, sampling, seed, allowed_special=allowed_special)
    sampled = [0] if static or sampling.is_deterministic else list(range(epochs))
    dtype = shard_dtype(tokenizer.vocab_size)
    with OutputFolder(output, SHARD_FOLDER) as out:
        writers = [_ShardWriter(out, f"epoch-{e:04d}", dtype, shard_tokens) for e in sampled]
        _encode_corpus(corpus, encoder, sampled, writers, workers, batch_bytes)
        for writer in writers:
            writer.flush()
        manifest = {
            "format": SHARD_FORMAT,
            "version": SHARD_VERSION,
            "tokenizer": {"source": tokenizer_source, "vocab_size": tokenizer.vocab_size,
                          "special_tokens": tokenizer.special_tokens,
                          # the special tokens whose text in a document became their id (the others: text)
                          "allowed_special": "all" if allowed_special == "all" else sorted(allowed_special)},
            "sampling": asdict(sampling),
            "seed": seed,
            "epochs": epochs,
            "static": bool(static or sampling.is_deterministic),
            "dtype": dtype.name,
            "documents": writers[0].documents,
            "example_ids": "document index in the corpus, from 0",
            "folders": [{"epoch": e, "name": w.name, "tokens": w.tokens, "shards": w.shards}
                        for e, w in zip(sampled, writers)],
            FINGERPRINTS: SHARD_FOLDER.recorded(out.digests),
        }
        out.write_json(MANIFEST, manifest)
    return manifest


def _encode_corpus(corpus: Corpus, encoder: StochasticEncoder, sampled: list[int], writers: list[_ShardWriter],
                   workers: int, batch_bytes: int) -> None:
    """Encode the documents of ``corpus`` for each epoch of ``sampled``, in corpus order, into
    ``writers`` (one per epoch), on ``workers`` processes."""

    def consume(parts: list[tuple[np.ndarray, np.ndarray]]) -> None:
        for writer, (ids, bounds) in zip(writers, parts):
            writer.add(ids, bounds)

    if workers == 1:
        for texts, first in _batches(corpus, batch_bytes):
            consume(_encode_epochs(texts, first, sampled, encoder))
    else:
        # workers fork from a warm forkserver (as tokforge.counting.engines's) and end with this process
        with worker_pool(workers, initializer=_init_worker, initargs=(encoder,)) as pool:
            pending: list[Future] = []
            for texts, first in _batches(corpus, batch_bytes):
                pending.append(pool.submit(_encode_epochs, texts, first, sampled))
                while len(pending) > 2 * workers:       # bounded memory; results in corpus order
                    consume(pending.pop(0).result())
            for future in pending:
                consume(future.result())


def read_shards_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a shards folder written by ``write_shards``, once every shard file is found
    to be the one written with it (ModelFormatError otherwise: a folder mixing two writes)."""
    return read_index(folder, SHARD_FOLDER, "write the shards again with `tokforge shards`")
