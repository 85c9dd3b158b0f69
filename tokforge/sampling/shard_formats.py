"""How a shard of token ids is laid out on disk (``tokforge shards --format``), for the training code that
reads it. A shard is the ids of consecutive documents (``ids``, uint16 or uint32) and their lengths.

- ``npy`` (default): ``shard-NNNNN.ids.npy`` (the ids, concatenated) and ``shard-NNNNN.bounds.npy``
  (int64; document d is ``ids[bounds[d]:bounds[d + 1]]``).
- ``bin``: ``shard-NNNNN.bin``, the raw little-endian token stream nanoGPT-style loaders memory-map,
  each document followed by the separator token (``<|endoftext|>`` by default, a special token: ids
  inside documents are never it, which the writer checks). Document bounds: the separator's positions.
- ``hf``: each epoch folder is a Hugging Face ``datasets`` folder (as ``Dataset.save_to_disk``
  writes it): ``shard-NNNNN.arrow`` (Arrow stream files, one row per document, column
  ``input_ids``), ``state.json`` and ``dataset_info.json``; ``datasets.load_from_disk`` reads it.

    >>> FORMATS["bin"].files("epoch-0000/shard-00003")
    ['epoch-0000/shard-00003.bin']
"""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import numpy as np

from tokforge.errors import ConfigError, InputError
from tokforge.io.folders import json_text
from tokforge.packed import offsets_from_lengths

if TYPE_CHECKING:
    from tokforge.io.folders import OutputFolder
    from tokforge.tokenizer import Tokenizer

SHARD_FILES = r"shard-\d{5}\.(ids\.npy|bounds\.npy|bin|arrow)"   # of every format, in an epoch folder
FOLDER_FILES = r"state\.json|dataset_info\.json"                 # an epoch folder's own files (hf)
DEFAULT_SEPARATOR = "<|endoftext|>"
HF_COLUMN = "input_ids"


class ShardFormat:
    """A layout: the files of a shard (``files``, ``write``), what the manifest says of it
    (``describe``), and the files an epoch folder needs once its shards are written (``finish_folder``)."""

    name = ""

    def files(self, stem: str) -> list[str]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def shard_entry(self, names: list[str]) -> dict[str, Any]:
        """What the manifest says of a shard's files."""
        return {"files": names}

    def write(self, out: OutputFolder, stem: str, ids: np.ndarray, lengths: np.ndarray) -> list[str]:
        raise NotImplementedError

    def finish_folder(self, out: OutputFolder, folder: str, shards: list[dict[str, Any]], dtype: np.dtype) -> list[str]:
        return []


class NpyShards(ShardFormat):
    """Two .npy files a shard: the ids, and the int64 bounds of its documents."""

    name = "npy"

    def files(self, stem: str) -> list[str]:
        return [f"{stem}.ids.npy", f"{stem}.bounds.npy"]

    def shard_entry(self, names: list[str]) -> dict[str, Any]:
        return {"ids": names[0], "bounds": names[1], "files": names}

    def write(self, out: OutputFolder, stem: str, ids: np.ndarray, lengths: np.ndarray) -> list[str]:
        names = self.files(stem)
        for name, array in zip(names, (ids, offsets_from_lengths(lengths))):
            with out.open(name, array.nbytes) as f:
                np.save(f, array, allow_pickle=False)
        return names


class BinShards(ShardFormat):
    """One raw token stream a shard, each document followed by the separator token."""

    name = "bin"

    def __init__(self, separator: str, separator_id: int):
        self.separator, self.separator_id = separator, separator_id

    @classmethod
    def of(cls, tokenizer: Tokenizer, separator: str | None) -> "BinShards":
        """The separator ``separator`` (a special token of ``tokenizer``; None: ``<|endoftext|>``,
        or the tokenizer's first special token)."""
        specials = tokenizer.special_tokens
        if separator is None:
            if not specials:
                raise ConfigError("--format bin separates documents with a special token, and this tokenizer has "
                                  "none; train it with one (--special-token '<|endoftext|>') or use --format npy")
            separator = DEFAULT_SEPARATOR if DEFAULT_SEPARATOR in specials else min(specials, key=specials.get)
        if separator not in specials:
            raise ConfigError(f"separator {separator!r} is not a special token of the tokenizer (it has "
                              f"{', '.join(map(repr, specials)) or 'none'}); name one of them")
        return cls(separator, specials[separator])

    def files(self, stem: str) -> list[str]:
        return [f"{stem}.bin"]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "separator": self.separator, "separator_id": self.separator_id,
                "layout": "each document's ids, then the separator id"}

    def write(self, out: OutputFolder, stem: str, ids: np.ndarray, lengths: np.ndarray) -> list[str]:
        inside = int(np.count_nonzero(ids == self.separator_id))
        if inside:
            raise InputError(f"{inside} id(s) of the separator {self.separator!r} inside documents of {stem}: "
                             "their text holds the special token; choose another --separator, or use --format npy")
        ends = np.cumsum(lengths)
        stream = np.insert(ids, ends, np.asarray(self.separator_id, ids.dtype))  # after each document
        name = self.files(stem)[0]
        with out.open(name, stream.nbytes) as f:
            f.write(stream.astype(stream.dtype.newbyteorder("<"), copy=False).tobytes())
        return [name]


class DatasetShards(ShardFormat):
    """An Arrow stream file a shard, one row (``input_ids``) a document; the epoch folder is a
    ``datasets`` folder once ``finish_folder`` has written its state.json and dataset_info.json."""

    name = "hf"
    MAX_SHARD_TOKENS = (1 << 31) - 1   # Arrow lists have int32 offsets

    def files(self, stem: str) -> list[str]:
        return [f"{stem}.arrow"]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "column": HF_COLUMN, "reader": "datasets.load_from_disk(epoch folder)"}

    @staticmethod
    def _info(dtype: np.dtype) -> dict[str, Any]:
        # "Sequence": the spelling datasets 2.x reads and 4.x still reads (4.x writes "List")
        return {"features": {HF_COLUMN: {"feature": {"dtype": dtype.name, "_type": "Value"}, "_type": "Sequence"}}}

    def write(self, out: OutputFolder, stem: str, ids: np.ndarray, lengths: np.ndarray) -> list[str]:
        import pyarrow as pa   # pyarrow is a dependency; imported here to keep `import tokforge` light

        offsets = offsets_from_lengths(lengths)
        if offsets[-1] > self.MAX_SHARD_TOKENS:
            raise ConfigError(f"--format hf holds at most {self.MAX_SHARD_TOKENS:,} ids a shard; "
                              "give a smaller --shard-tokens")
        column = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(ids))
        metadata = {"huggingface": json.dumps({"info": self._info(ids.dtype)})}
        schema = pa.schema([pa.field(HF_COLUMN, column.type)], metadata=metadata)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, schema) as writer:
            writer.write_table(pa.table({HF_COLUMN: column}, schema=schema))
        data = sink.getvalue().to_pybytes()
        name = self.files(stem)[0]
        out.write(name, data)
        return [name]

    def finish_folder(self, out: OutputFolder, folder: str, shards: list[dict[str, Any]], dtype: np.dtype) -> list[str]:
        names = [s["files"][0].rsplit("/", 1)[1] for s in shards]
        fingerprint = hashlib.sha256("".join(out.digests[s["files"][0]] for s in shards).encode()).hexdigest()[:16]
        state = {"_data_files": [{"filename": n} for n in names], "_fingerprint": fingerprint,
                 "_format_columns": None, "_format_kwargs": {}, "_format_type": None,
                 "_output_all_columns": False, "_split": None}
        info = {"citation": "", "description": "", **self._info(dtype), "homepage": "", "license": ""}
        out.write(f"{folder}/state.json", json_text(state))
        out.write(f"{folder}/dataset_info.json", json_text(info))
        return [f"{folder}/state.json", f"{folder}/dataset_info.json"]


FORMATS: dict[str, ShardFormat] = {"npy": NpyShards(), "bin": BinShards("", -1), "hf": DatasetShards()}


def shard_format(name: str, tokenizer: Tokenizer, separator: str | None = None) -> ShardFormat:
    """The writer of format ``name`` (``FORMATS``) for ``tokenizer``."""
    if name not in FORMATS:
        raise ConfigError(f"shard format {name!r} is unknown; choose one of {', '.join(FORMATS)}")
    if separator is not None and name != "bin":
        raise ConfigError("a separator is for --format bin only")
    return BinShards.of(tokenizer, separator) if name == "bin" else FORMATS[name]
