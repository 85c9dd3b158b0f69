"""Token-id shards for training (``tokforge shards``): every document of a corpus encoded, sampled per
epoch (``tokforge.sampling.stochastic``) or once, into ``epoch-NNNN/shard-NNNNN.*`` files (the layouts
of ``tokforge.sampling.shard_formats``) with ``manifest.json``, written as a whole and resumable; the
output never depends on the workers or the engine that encoded it.

    >>> shard_dtype(50_000), shard_dtype(100_000)
    (dtype('uint16'), dtype('uint32'))
"""
from __future__ import annotations

import os
import re
import time
from collections import deque
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
from tqdm.auto import tqdm

from tokforge.errors import ConfigError
from tokforge.io.folders import (FINGERPRINTS, FolderKind, OutputFolder, fingerprint, json_text, read_index,
                                 read_journal, staging_folder)
from tokforge.kernels import rng
from tokforge.processes import worker_count
from tokforge.sampling.shard_formats import FOLDER_FILES, SHARD_FILES, ShardFormat, shard_format
from tokforge.sampling.stochastic import Sampling, StochasticEncoder, check_seed, example_seeds
from tokforge.tasks import TaskRunner, check_engine
from tokforge.text.specials import Allowed

if TYPE_CHECKING:
    from tokforge.corpus import Block, Corpus
    from tokforge.tokenizer import Tokenizer

MANIFEST = "manifest.json"
JOURNAL = "finished-shards.jsonl"   # in the staging folder while writing: the shards finished so far
SHARD_FORMAT = "tokforge-shards"
SHARD_VERSION = 1
_EPOCH_FILE = rf"epoch-\d{{4}}/({SHARD_FILES}|{FOLDER_FILES})"
SHARD_FOLDER = FolderKind("shards folder", files=rf"{re.escape(MANIFEST)}|{re.escape(JOURNAL)}|{_EPOCH_FILE}",
                          folders=r"epoch-\d{4}", index=MANIFEST, fingerprinted=_EPOCH_FILE, format=SHARD_FORMAT,
                          journal=JOURNAL)
DEFAULT_SHARD_TOKENS = 50_000_000   # a shard closes at the first document boundary past this many ids
BATCH_BYTES = 1 << 20               # documents per task of write_shards, about this much text
OPTION_NAMES = {                    # what --resume compares, as the command line names it
    "version": "the shards version", "tokenizer": "--model (another tokenizer)",
    "sampling": "--stochastok/--bpe-dropout/--unigram-alpha/--unigram-nbest", "seed": "--seed",
    "epochs": "--epochs", "static": "--static", "shard_tokens": "--shard-tokens", "layout": "--format/--separator",
    "corpus": "the corpus (its files, or their sizes or times)", "reading": "--text-field/--errors",
    "allowed_special": "--allow-special"}


def shard_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)


class _ShardWriter:
    """Collects one epoch's documents in corpus order; writes a shard into the output folder (in
    ``layout``) each time it holds ``shard_tokens`` ids, at a document boundary, and records it in the
    folder's journal. ``finished``: the shards of this epoch an interrupted run wrote (a resumed run
    goes on after them)."""

    def __init__(self, out: OutputFolder, epoch: int, dtype: np.dtype, shard_tokens: int, layout: ShardFormat,
                 finished: list[dict[str, Any]]):
        self.out, self.epoch, self.name, self.dtype = out, epoch, f"epoch-{epoch:04d}", dtype
        self.shard_tokens, self.layout = shard_tokens, layout
        self.shards = [{k: v for k, v in s.items() if k != "epoch"} for s in finished]
        self.documents = sum(s["documents"] for s in finished)  # in the shards written
        self.tokens = sum(s["tokens"] for s in finished)
        self.resumed_documents = self.documents                 # documents an interrupted run had finished
        self.written_tokens = 0                                  # by this run
        self._ids: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self._tokens = 0
        self._documents = 0                                      # waiting for the next shard

    def add(self, ids: np.ndarray, bounds: np.ndarray, first_document: int) -> None:
        """Take documents ``first_document, ...`` (``ids[bounds[d]:bounds[d+1]]``) in order; those
        already taken are skipped."""
        start = self.documents + self._documents - first_document
        lengths = np.diff(bounds)
        ends = np.cumsum(lengths)
        while start < len(lengths):
            # the documents up to the first one that brings the shard to shard_tokens ids
            need = self.shard_tokens - self._tokens + (ends[start - 1] if start else 0)
            stop = min(int(np.searchsorted(ends, need)) + 1, len(lengths))
            first, last = bounds[start] - bounds[0], bounds[stop] - bounds[0]
            self._ids.append(ids[first:last].astype(self.dtype))
            self._lengths.append(lengths[start:stop])
            self._tokens += last - first
            self._documents += stop - start
            if self._tokens >= self.shard_tokens:
                self.flush()
            start = stop

    def flush(self) -> None:
        if not self._ids:
            return
        ids, lengths = np.concatenate(self._ids), np.concatenate(self._lengths)
        names = self.layout.write(self.out, f"{self.name}/shard-{len(self.shards):05d}", ids, lengths)
        shard = {**self.layout.shard_entry(names), "first_document": self.documents, "documents": len(lengths),
                 "tokens": len(ids)}
        self.out.record({"epoch": self.epoch, **shard}, names)
        self.shards.append(shard)
        self.documents += len(lengths)
        self.tokens += len(ids)
        self.written_tokens += len(ids)
        self._ids, self._lengths, self._tokens, self._documents = [], [], 0, 0


def _encode_block(encoder: StochasticEncoder, block: Block, epochs: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(ids, bounds) of the documents of ``block`` (example ids: their index in the corpus) for each
    epoch of ``epochs``."""
    texts = block.documents()
    example_ids = np.arange(block.first_document, block.first_document + len(texts))
    if encoder.sampling.samples_segmentation:  # the segmentation itself is sampled: once per epoch
        return [encoder.encode_packed(texts, epoch=e, example_ids=example_ids) for e in epochs]
    ids, bounds = encoder._segmented(texts, 0, example_ids)  # deterministic: encode once
    if encoder._splits is None:
        return [(ids, bounds)] * len(epochs)
    return [encoder._splits.expand(ids, bounds, encoder.sampling.stochastok,
                                   example_seeds(encoder.seed, e, example_ids, rng.STOCHASTOK)) for e in epochs]


def run_options(corpus: Corpus, tokenizer: Tokenizer, sampling: Sampling, seed: int, epochs: int, static: bool,
                shard_tokens: int, layout: ShardFormat, allowed_special: Allowed = ()) -> dict[str, Any]:
    """What decides the bytes of a shards folder (the journal's header: ``--resume`` compares it)."""
    files = []
    for path in corpus.files:
        st = os.stat(path)
        files.append([str(path), st.st_size, st.st_mtime_ns])
    return {"version": SHARD_VERSION, "tokenizer": fingerprint(json_text(tokenizer.to_native()).encode()),
            "sampling": asdict(sampling), "seed": seed, "epochs": epochs, "static": static,
            "shard_tokens": shard_tokens, "layout": layout.describe(),
            "corpus": files or repr(corpus), "reading": [corpus.text_field, corpus.errors],
            "allowed_special": _allowed_list(allowed_special)}


def _allowed_list(allowed_special: Allowed) -> str | list[str]:
    return "all" if allowed_special == "all" else sorted(allowed_special)


def _differences(then: dict[str, Any], now: dict[str, Any]) -> list[str]:
    shown = []
    for key, name in OPTION_NAMES.items():
        if then.get(key) != now.get(key):
            plain = isinstance(now.get(key), (int, str, list)) and key not in ("tokenizer", "corpus")
            shown.append(f"{name} {then.get(key)!r} then, {now.get(key)!r} now" if plain else name)
    return shown


def finished_shards(output: str | os.PathLike) -> int:
    """How many shards an interrupted ``write_shards`` into ``output`` left for ``resume`` (0: none)."""
    found = read_journal(staging_folder(output), SHARD_FOLDER)
    return len(found[1]) if found else 0


def write_shards(corpus: Corpus, tokenizer: Tokenizer, output: str | os.PathLike, *, sampling: Sampling = Sampling(),
                 seed: int = 0, epochs: int = 1, static: bool = False, workers: int = 0,
                 shard_tokens: int = DEFAULT_SHARD_TOKENS, tokenizer_source: str | None = None,
                 batch_bytes: int = BATCH_BYTES, engine: str = "local", scheduler: Any = None,
                 format: str = "npy", separator: str | None = None, resume: bool = False,
                 progress: bool = False, allowed_special: Allowed = ()) -> dict[str, Any]:
    """Encode every document of ``corpus`` (a ``tokforge.Corpus``) into token-id shards in ``output``:
    ``epoch-NNNN/shard-NNNNN.*`` in the layout ``format`` (``tokforge.sampling.shard_formats``: "npy",
    the default, ``.ids.npy`` and ``.bounds.npy``; "bin", a token stream with ``separator`` after each
    document; "hf", a ``datasets`` folder per epoch); uint16 when the vocabulary fits, else uint32;
    and ``manifest.json`` last. Documents keep corpus order, and document k (0-based, over the whole
    corpus) is example id k; a shard closes at the first document boundary past ``shard_tokens`` ids.
    Per-epoch sampling writes ``epochs`` folders (epoch e sampled with epoch e); ``static`` writes one
    folder, sampled once (epoch 0), for every epoch.

    The output does not depend on how it is computed: ``engine="local"`` encodes on ``workers``
    processes (0: all cores, or this process alone for corpora under 32 MB, as ``tokforge count``);
    ``engine="dask"`` on a Dask cluster (``scheduler``: its address, a ``Client``, or "local"/None for
    a LocalCluster of ``workers`` processes). Documents are read here and sent to the workers in tasks
    of about ``batch_bytes`` of text; the shards are written here. A special token's text inside a
    document is text (documents are data), unless it is in ``allowed_special`` (``"all"`` or a set).

    The folder is written as a whole (``tokforge.io.folders``): shards go into a staging folder beside
    ``output``, each recorded with its fingerprint as it is finished; the complete folder replaces
    ``output`` (absent, empty or a shards folder) in one step. An interrupted run (an error, a signal,
    a kill) leaves the staging folder; with ``resume`` the same call keeps its shards (those whose
    files are intact) and writes only the missing ones: the same bytes as an uninterrupted run. A
    ``resume`` with other options is refused, naming them. ``progress``: a bar of the bytes read.

    Returns the manifest (what ``manifest.json`` holds, which ``read_shards_manifest`` checks), with
    this run's ``report`` added (engine, workers, seconds, bytes and tokens per second, resumed shards;
    not written: the folder does not depend on how it was written)."""
    started = time.perf_counter()
    seed = check_seed(seed)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"epochs must be an integer >= 1, got {epochs!r}")
    workers = worker_count(workers, getattr(corpus, "total_bytes", 0))
    if isinstance(shard_tokens, bool) or not isinstance(shard_tokens, int) or shard_tokens < 1:
        raise ConfigError(f"shard_tokens must be an integer >= 1, got {shard_tokens!r}")
    check_engine(engine)
    layout = shard_format(format, tokenizer, separator)
    encoder = StochasticEncoder(tokenizer, sampling, seed, allowed_special=allowed_special)
    static = bool(static or sampling.is_deterministic)
    sampled = [0] if static else list(range(epochs))
    dtype = shard_dtype(tokenizer.vocab_size)
    options = run_options(corpus, tokenizer, sampling, seed, epochs, static, shard_tokens, layout, allowed_special)
    with OutputFolder(output, SHARD_FOLDER, resume=resume) as out:
        finished = _resumable_shards(out, options)
        writers = [_ShardWriter(out, e, dtype, shard_tokens, layout, [s for s in finished if s["epoch"] == e])
                   for e in sampled]
        report = _encode_corpus(corpus, encoder, writers, engine, workers, scheduler, batch_bytes, progress)
        for writer in writers:
            writer.flush()
        manifest = {
            "format": SHARD_FORMAT,
            "version": SHARD_VERSION,
            "tokenizer": {"source": tokenizer_source, "vocab_size": tokenizer.vocab_size,
                          "special_tokens": tokenizer.special_tokens,
                          # the special tokens whose text in a document became their id (the others: text)
                          "allowed_special": _allowed_list(allowed_special)},
            "sampling": asdict(sampling),
            "seed": seed,
            "epochs": epochs,
            "static": static,
            "dtype": dtype.name,
            "layout": layout.describe(),
            "documents": writers[0].documents,
            "example_ids": "document index in the corpus, from 0",
            "folders": [{"epoch": w.epoch, "name": w.name, "tokens": w.tokens, "shards": w.shards,
                         "files": layout.finish_folder(out, w.name, w.shards, dtype)} for w in writers],
        }
        manifest[FINGERPRINTS] = SHARD_FOLDER.recorded(out.digests)
        out.write_json(MANIFEST, manifest)
    seconds = time.perf_counter() - started
    tokens = sum(w.written_tokens for w in writers)
    report.update(seconds=round(seconds, 3), resumed_shards=len(finished), tokens=tokens,
                  mb_per_second=round(report["bytes"] / 1e6 / seconds, 3), tokens_per_second=round(tokens / seconds))
    return {**manifest, "report": report}


def _resumable_shards(out: OutputFolder, options: dict[str, Any]) -> list[dict[str, Any]]:
    """The shards an interrupted run left for ``out`` (with ``resume``), in the order it finished
    them; ConfigError if it ran with other options. Starts the journal."""
    found = out.interrupted()
    if found is None:
        out.start_journal(options)
        return []
    then, shards = found
    differences = _differences(then, options)
    if differences:
        raise ConfigError(f"cannot resume {out.shown}: the interrupted run used other options ({'; '.join(differences)}); "
                          "run it again with the same options, or without --resume to start over")
    out.start_journal(options, keep=len(shards))
    return shards


def _encode_corpus(corpus: Corpus, encoder: StochasticEncoder, writers: list[_ShardWriter], engine: str,
                   workers: int, scheduler: Any, batch_bytes: int, progress: bool) -> dict[str, Any]:
    """Encode the documents of ``corpus`` for each writer's epoch, in corpus order, into ``writers``
    (those after their ``resumed_documents`` only); a progress bar of the bytes read, for the run."""
    read = tqdm(total=corpus.total_bytes or None, unit="B", unit_scale=True, desc="encoding", disable=not progress)
    done: deque = deque()   # (writers, first document, bytes read) of each task, in order
    counted = {"bytes": 0, "read": 0}

    def tasks() -> Iterator[tuple]:
        for block in corpus.iter_blocks(batch_bytes):
            end = block.first_document + len(block)
            needed = [w for w in writers if w.resumed_documents < end]
            read_so_far = corpus.stats.bytes_read if corpus.total_bytes else counted["read"] + len(block.data)
            counted["read"] = read_so_far
            if not needed:   # finished by the interrupted run
                read.update(read_so_far - read.n)
                continue
            counted["bytes"] += len(block.data)
            done.append((needed, block.first_document, read_so_far))
            yield block, [w.epoch for w in needed]

    try:
        with TaskRunner(engine, workers, scheduler, shared=encoder) as runner:
            for parts in runner.in_order(_encode_block, tasks()):
                needed, first, read_so_far = done.popleft()
                for writer, (ids, bounds) in zip(needed, parts):
                    writer.add(ids, bounds, first)
                read.update(read_so_far - read.n)
    finally:
        read.close()
    return {"engine": engine, "workers": runner.workers, "bytes": counted["bytes"]}


def read_shards_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a shards folder written by ``write_shards``, once every shard file is found
    to be the one written with it (ModelFormatError otherwise: a folder mixing two writes)."""
    return read_index(folder, SHARD_FOLDER, "write the shards again with `tokforge shards`")
