"""Word counts saved to a folder (``tokforge count -o DIR``), to train elsewhere or merge later.

A count folder holds ``manifest.json`` and five ``.npy`` arrays:

- ``arena.npy`` (uint8), ``offsets.npy`` (int64), ``counts.npy`` (int64): the ``WordCounts``;
- ``held_out.npy`` (uint8), ``held_out_offsets.npy`` (int64): the held-out documents (UTF-8,
  back to back) kept to measure bytes/token after training.

The manifest says what the counts are of: format and version, tokforge version, the pipeline
(normalizer, pattern, digits, special tokens) and held-out sampling (fraction, seed) that decide
the words, the corpus stats, and how the counting went (engine, workers, memory, pruning).
Training from counts (``tokforge train --from-counts DIR``) refuses a config whose pipeline
differs; ``tokforge count --merge A B -o C`` merges folders of the same pipeline, in order, as if
the corpora had been counted one after the other. A count folder is written as a whole
(``tokforge.io.folders``), and its manifest records the fingerprint (sha256) of each array: loading
refuses arrays that are not the ones written with it. Example::

    >>> import tempfile
    >>> from tokforge.config import TrainConfig, parse_size
    >>> from tokforge.counting.engines import count_corpus
    >>> result = count_corpus("corpora/tr", TrainConfig(held_out=0))     # doctest: +SKIP
    >>> folder = save_counts(result, tempfile.mkdtemp() + "/tr")          # doctest: +SKIP
    >>> load_counts(folder).counts.total == result.counts.total           # doctest: +SKIP
    True
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tokforge.config import TrainConfig, parse_size
from tokforge.counting.engines import PIPELINE_FIELDS, SAMPLING_FIELDS, CountResult, Reduction, pruning_report
from tokforge.counting.feed import HeldOut
from tokforge.counting.words import Pruning, WordCounts
from tokforge.errors import ConfigError, ModelFormatError
from tokforge.io.folders import FINGERPRINTS, FolderKind, OutputFolder, read_index
from tokforge.packed import lengths_of, offsets_from_lengths
from tokforge.version import __version__

FORMAT = "tokforge-word-counts"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = {"arena": np.uint8, "offsets": np.int64, "counts": np.int64,
          "held_out": np.uint8, "held_out_offsets": np.int64}
COUNT_FOLDER = FolderKind("count folder", files="|".join(map(re.escape, [MANIFEST, *(f"{a}.npy" for a in ARRAYS)])),
                          index=MANIFEST, fingerprinted=r"[a-z_]+\.npy", format=FORMAT)


def save_counts(result: CountResult, folder: str | os.PathLike) -> Path:
    """Write ``result`` to the count folder ``folder``, as a whole (``tokforge.io.folders``: an existing
    count folder there is replaced once every new file is written)."""
    with OutputFolder(folder, COUNT_FOLDER) as out:
        write_counts(result, out)
    return Path(folder)


def write_counts(result: CountResult, out: OutputFolder) -> None:
    """Write the arrays of ``result``, then the manifest (recording their fingerprints), into ``out``,
    an open ``OutputFolder`` of ``COUNT_FOLDER``."""
    held = [doc.encode("utf-8") for doc in result.held_out.documents]
    arrays = {"arena": result.counts.arena, "offsets": result.counts.offsets, "counts": result.counts.counts,
              "held_out": np.frombuffer(b"".join(held), np.uint8), "held_out_offsets": offsets_from_lengths(lengths_of(held))}
    for name, array in arrays.items():
        array = np.ascontiguousarray(array, ARRAYS[name])
        with out.open(f"{name}.npy", array.nbytes) as f:
            np.save(f, array, allow_pickle=False)
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "tokforge_version": __version__,
        "pipeline": result.pipeline,
        "words": {"unique": len(result.counts), "occurrences": result.counts.total},
        "held_out": {"documents": len(held), "bytes": result.held_out.nbytes,
                     "excluded_documents": result.held_out.excluded_documents,
                     "excluded_bytes": result.held_out.excluded_bytes},
        "corpus": result.corpus,
        "counting": result.report,
        FINGERPRINTS: COUNT_FOLDER.recorded(out.digests),
    }
    out.write_json(MANIFEST, manifest)


def load_counts(folder: str | os.PathLike) -> CountResult:
    """Read a count folder written by ``save_counts``; ModelFormatError if it is not a valid one."""
    folder = Path(folder)
    path = folder / MANIFEST
    manifest = read_index(folder, COUNT_FOLDER, "write one with `tokforge count CORPUS -o DIR`")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(f"{folder} has count format version {manifest.get('format_version')!r}; this "
                               f"tokforge reads version {FORMAT_VERSION}: count the corpus again")
    arrays = {}
    for name, dtype in ARRAYS.items():
        try:
            arrays[name] = np.load(folder / f"{name}.npy", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ModelFormatError(f"cannot read {folder / (name + '.npy')}: {e}") from None
        if arrays[name].dtype != dtype or arrays[name].ndim != 1:
            raise ModelFormatError(f"{folder / (name + '.npy')} holds {arrays[name].dtype}"
                                   f"{list(arrays[name].shape)}, not a 1-d {np.dtype(dtype)} array")
    _check_packed(folder, arrays["arena"], arrays["offsets"], "arena/offsets")
    _check_packed(folder, arrays["held_out"], arrays["held_out_offsets"], "held_out/held_out_offsets")
    counts = WordCounts(arrays["arena"], arrays["offsets"], arrays["counts"])
    if len(counts.counts) != len(counts.offsets) - 1 or (len(counts) and counts.counts.min() < 1):
        raise ModelFormatError(f"{folder}: counts.npy does not match offsets.npy (or holds counts < 1)")
    pipeline = manifest.get("pipeline", {})
    missing = [k for k in PIPELINE_FIELDS + SAMPLING_FIELDS if k not in pipeline]
    if missing:
        raise ModelFormatError(f"{path} lacks the pipeline settings {missing}")
    held = manifest.get("held_out", {})
    held_out = HeldOut(pipeline["held_out"], pipeline["seed"],
                       excluded_documents=held.get("excluded_documents", 0),
                       excluded_bytes=held.get("excluded_bytes", 0))
    data, bounds = arrays["held_out"].tobytes(), arrays["held_out_offsets"].tolist()
    try:
        held_out.documents = [data[a:b].decode("utf-8") for a, b in zip(bounds, bounds[1:])]
    except UnicodeDecodeError:
        raise ModelFormatError(f"{folder}: held_out.npy is not UTF-8 text") from None
    held_out.nbytes = len(data)
    return CountResult(counts, pipeline, held_out, manifest.get("corpus", {}), manifest.get("counting", {}))


def _check_packed(folder: Path, data: np.ndarray, offsets: np.ndarray, what: str) -> None:
    if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(data) or (np.diff(offsets) < 0).any():
        raise ModelFormatError(f"{folder}: {what} are inconsistent (offsets must rise from 0 to the data length)")


def check_pipeline(saved: dict[str, Any], config: TrainConfig, where: str = "") -> None:
    """ConfigError unless ``config`` counts words as the saved counts were counted."""
    wanted = {k: config.to_dict()[k] for k in PIPELINE_FIELDS + SAMPLING_FIELDS}
    differ = [k for k in wanted if _plain(saved.get(k)) != _plain(wanted[k])]
    if differ:
        shown = "; ".join(f"{k}: counts {saved.get(k)!r}, config {wanted[k]!r}" for k in differ)
        flags = " ".join(f"--{k.replace('_', '-')}" for k in differ)
        raise ConfigError(f"the saved counts{' in ' + where if where else ''} were made with another pipeline "
                          f"({shown}). Train with the options of the counts ({flags}), or count the "
                          "corpus again with these options")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def merge_saved(results: Sequence[CountResult], memory_budget: int | str = "2GB") -> CountResult:
    """Merge counts of the same pipeline, in order: the counts of the corpora read one after the
    other (held-out documents included), within ``memory_budget``."""
    if len(results) < 2:
        raise ConfigError("give at least two count folders to merge")
    first = results[0].pipeline
    for i, r in enumerate(results[1:], 2):
        differ = [k for k in PIPELINE_FIELDS + SAMPLING_FIELDS if _plain(r.pipeline.get(k)) != _plain(first.get(k))]
        if differ:
            raise ConfigError(f"count folder #{i} was made with another pipeline than #1 ("
                              + "; ".join(f"{k}: {r.pipeline.get(k)!r} vs {first.get(k)!r}" for k in differ)
                              + "); only counts of the same pipeline can be merged")
    budget = parse_size(memory_budget, "memory_budget")
    reduction = Reduction(HeldOut(first["held_out"], first["seed"]), budget // 2)
    earlier = Pruning()
    corpus: dict[str, Any] = {}
    for r in results:
        reduction.counter.add_counts(r.counts)
        reduction.held_out.extend(r.held_out)
        p = r.report.get("pruning", {})
        earlier.add(Pruning(p.get("times", 0), p.get("max_threshold", 0), p.get("words_dropped", 0),
                            p.get("occurrences_dropped", 0)))
        for k, v in r.corpus.items():
            if k.startswith("first_"):  # where the first problem was: first_invalid_utf8, first_malformed_record
                corpus[k] = corpus.get(k) or v
            elif isinstance(v, list):
                corpus[k] = corpus.get(k, []) + v
            else:
                corpus[k] = corpus.get(k, 0) + v
    total = Pruning()
    total.add(earlier)
    total.add(reduction.counter.pruning)
    return CountResult(reduction.counter.take(), dict(first), reduction.held_out, corpus,
                       {"merged_from": len(results), "memory_budget": budget,
                        "peak_table_bytes": {"merged": reduction.counter.peak_nbytes},
                        "pruning": pruning_report(total, before_merge=earlier.times,
                                                  merge=reduction.counter.pruning.times)})
