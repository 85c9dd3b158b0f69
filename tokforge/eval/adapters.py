"""One interface over the tokenizers that ``tokforge eval`` measures: tokforge models, and any
Hugging Face ``tokenizer.json`` (BPE, WordPiece, Unigram, ...) through the ``tokenizers`` library.

Both give, for a batch of texts, the token ids and each token's byte span in the texts' UTF-8
(``Encoded``), so every metric is computed the same way for both:

    >>> tok = load_tokenizer("out/")                         # doctest: +SKIP
    >>> enc = tok.encode(TextBatch.of(["Merhaba dünya!"]))   # doctest: +SKIP
    >>> enc.ids, enc.starts, enc.ends                        # doctest: +SKIP

tokforge models without a normalizer are encoded by tokforge (its spans are the tokens' bytes
back to back); a model with a normalizer goes through its own exported tokenizer.json in the
``tokenizers`` library, whose offsets map the normalized text back to the original (the ids are
the same: export is exact). A ``tokenizer.json`` file, or a folder with one and no
``tokforge.json``, is read by the ``tokenizers`` library, the reference implementation.
"""
from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tokforge.errors import ConfigError, ModelFormatError, TokforgeError
from tokforge.eval.metrics import TextIndex
from tokforge.formats.hf import to_hf_json
from tokforge.formats.native import NATIVE_FILE
from tokforge.text.bytelevel import visible_to_bytes
from tokforge.tokenizer import Tokenizer

HF_INSTALL_HINT = 'pip install "tokforge[hf]"'


@dataclass(frozen=True)
class TextBatch:
    """Texts to encode, their concatenation indexed (``index``), and each text's byte bounds in it."""

    texts: list[str]
    index: TextIndex
    bounds: np.ndarray  # int64, len(texts) + 1

    @classmethod
    def of(cls, texts: list[str]) -> "TextBatch":
        index = TextIndex.of("".join(texts))
        lengths = np.fromiter((len(t) for t in texts), np.int64, len(texts))
        char_bounds = np.zeros(len(texts) + 1, np.int64)
        np.cumsum(lengths, out=char_bounds[1:])
        return cls(list(texts), index, index.to_bytes(char_bounds))

    @classmethod
    def from_block(cls, data: bytes, bounds: np.ndarray, texts: list[str]) -> "TextBatch":
        """The documents of a corpus ``Block``: ``data`` (valid UTF-8), their byte bounds and texts."""
        return cls(texts, TextIndex.of(data.decode("utf-8"), data), np.asarray(bounds, np.int64))


class Encoded(NamedTuple):
    """The tokens of a ``TextBatch``: ids, byte spans ``[starts, ends)`` in the batch's UTF-8
    (non-decreasing), and ``bounds``: the tokens of text ``i`` are ``bounds[i]:bounds[i + 1]``."""

    ids: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    bounds: np.ndarray


class EvalTokenizer:
    """A tokenizer under evaluation: a name, its vocabulary size, ``encode`` and the vocabulary
    as bytes (for the segmentation lattice of the non-unique-encoding measure)."""

    name: str
    source: str
    kind: str
    vocab_size: int

    def encode(self, batch: TextBatch) -> Encoded:
        raise NotImplementedError

    def token_bytes(self) -> list[bytes | None] | None:
        """The bytes of each id (None for special and added tokens), or None when tokens have no
        defined bytes (e.g. WordPiece's ``##`` continuation tokens)."""
        raise NotImplementedError

    def knows_root(self, root: str) -> bool | None:
        """Whether ``root`` is in the tokenizer's root dictionary; None when it has none (only the morph
        hybrid has one)."""
        return None

    def unknown_ids(self) -> list[int]:
        """The ids that stand for text the tokenizer could not encode (its unknown token, e.g.
        WordPiece's ``[UNK]``): the text under them is lost. tokforge's models have none (byte-level,
        or byte fallback)."""
        return []

    def describe(self) -> dict:
        return {"name": self.name, "source": self.source, "kind": self.kind, "vocab_size": self.vocab_size}


class TokforgeTokenizer(EvalTokenizer):
    """A tokforge model without a normalizer: tokens are the text's bytes back to back."""

    def __init__(self, tok: Tokenizer, name: str, source: str):
        self.tok, self.name, self.source = tok, name, source
        self.kind = "tokforge"
        self.vocab_size = tok.vocab_size
        self._sizes = np.fromiter((len(t) for t in tok.model.vocab), np.int64, tok.vocab_size)

    def encode(self, batch: TextBatch) -> Encoded:
        lists = self.tok.encode_batch(batch.texts)
        lengths = np.fromiter((len(x) for x in lists), np.int64, len(lists))
        ids = np.fromiter(itertools.chain.from_iterable(lists), np.int64, int(lengths.sum()))
        sizes = self._sizes[ids]
        ends = np.cumsum(sizes)
        if (ends[-1] if len(ends) else 0) != len(batch.index.data):
            raise TokforgeError(f"{self.name}: the tokens do not spell the text back "
                                f"({int(ends[-1]) if len(ends) else 0} bytes for {len(batch.index.data)})")
        return Encoded(ids, ends - sizes, ends, _bounds(lengths))

    def token_bytes(self) -> list[bytes | None]:
        specials = set(self.tok.special_tokens.values())
        return [None if i in specials else t for i, t in enumerate(self.tok.model.vocab)]


class OffsetEvalTokenizer(EvalTokenizer):
    """A tokforge model whose tokens do not spell the text (``Tokenizer.spells_text`` false: the morph
    hybrid, whose affix tokens stand for several surface forms and case markers for none), so the spans
    come from its ``encode_with_offsets``: for the morph stage, a root token spans its stem, an affix
    token its surface form, a case marker is empty, at the start of its piece."""

    def __init__(self, tok, name: str, source: str):
        if tok.normalizer.names != ("none",):
            raise ConfigError(f"{name}: evaluating a {tok.algorithm} model trained with a normalizer is not "
                              "supported (its spans are in the normalized text); train it with --normalizer none")
        self.tok, self.name, self.source = tok, name, source
        self.kind = f"tokforge ({tok.algorithm})"
        self.vocab_size = tok.vocab_size

    def encode(self, batch: TextBatch) -> Encoded:
        ids: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        lengths = np.zeros(len(batch.texts), np.int64)
        shift = 0
        for k, text in enumerate(batch.texts):
            i, s, e = self.tok.encode_with_offsets(text)
            ids += i
            starts += [shift + x for x in s]
            ends += [shift + x for x in e]
            lengths[k] = len(i)
            shift += len(text)
        to_bytes = batch.index.to_bytes
        return Encoded(np.array(ids, np.int64), to_bytes(np.array(starts, np.int64)),
                       to_bytes(np.array(ends, np.int64)), _bounds(lengths))

    def knows_root(self, root: str) -> bool | None:
        return self.tok.stage.knows_root(root) if self.tok.stage is not None else None

    def token_bytes(self) -> list[bytes | None]:
        specials = set(self.tok.model.special_tokens.values())  # stage tokens have no fixed bytes
        return [None if i in specials else t for i, t in enumerate(self.tok.model.vocab)]


class HFTokenizer(EvalTokenizer):
    """A ``tokenizers.Tokenizer``: ids and character offsets, turned into byte spans."""

    def __init__(self, hf, name: str, source: str, kind: str = "hf"):
        hf.no_truncation()
        hf.no_padding()
        self.hf, self.name, self.source, self.kind = hf, name, source, kind
        self.vocab_size = hf.get_vocab_size(with_added_tokens=True)

    def encode(self, batch: TextBatch) -> Encoded:
        encodings = self.hf.encode_batch(batch.texts, add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encodings), np.int64, len(encodings))
        n = int(lengths.sum())
        ids = np.fromiter(itertools.chain.from_iterable(e.ids for e in encodings), np.int64, n)
        offsets = np.fromiter(itertools.chain.from_iterable(
            itertools.chain.from_iterable(e.offsets for e in encodings)), np.int64, 2 * n).reshape(n, 2)
        shift = np.repeat(batch.index.to_chars(batch.bounds[:-1]), lengths)
        chars = np.minimum(offsets + shift[:, None], len(batch.index.text))
        # offsets are non-decreasing in practice; force it so that span searches stay exact
        starts = np.maximum.accumulate(batch.index.to_bytes(chars[:, 0])) if n else np.zeros(0, np.int64)
        ends = np.maximum.accumulate(batch.index.to_bytes(chars[:, 1])) if n else np.zeros(0, np.int64)
        return Encoded(ids, starts, ends, _bounds(lengths))

    def unknown_ids(self) -> list[int]:
        model = json.loads(self.hf.to_str()).get("model") or {}
        unk = model.get("unk_id") if model.get("type") == "Unigram" else self.hf.token_to_id(model.get("unk_token") or "")
        return [] if unk is None else [int(unk)]

    def token_bytes(self) -> list[bytes | None] | None:
        if not _uses_byte_level(json.loads(self.hf.to_str())):
            return None
        out: list[bytes | None] = [None] * self.vocab_size
        for token, i in self.hf.get_vocab(with_added_tokens=False).items():
            try:
                out[i] = visible_to_bytes(token)
            except ModelFormatError:  # not in the byte-level alphabet
                pass
        for i in self.hf.get_added_tokens_decoder():
            if i < len(out):
                out[i] = None
        return out


def _uses_byte_level(doc: dict) -> bool:
    """Whether a tokenizer.json maps bytes to visible characters (GPT-2's ByteLevel)."""
    def walk(node) -> bool:
        if isinstance(node, dict):
            return node.get("type") == "ByteLevel" or any(walk(v) for v in node.values())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False
    return walk(doc.get("decoder")) or walk(doc.get("pre_tokenizer"))


def _bounds(lengths: np.ndarray) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _tokenizers_module():
    try:
        import tokenizers
    except ImportError:
        raise ConfigError("reading a Hugging Face tokenizer (or a tokforge model with a normalizer) needs the "
                          f"`tokenizers` library: {HF_INSTALL_HINT}") from None
    return tokenizers


def from_tokforge(tok: Tokenizer, name: str, source: str = "<memory>") -> EvalTokenizer:
    """Wrap a tokforge ``Tokenizer`` (a model with a normalizer goes through its tokenizer.json)."""
    if not tok.spells_text:
        return OffsetEvalTokenizer(tok, name, source)
    if tok.normalizer.names == ("none",):
        return TokforgeTokenizer(tok, name, source)
    hf = _tokenizers_module().Tokenizer.from_str(json.dumps(to_hf_json(tok), ensure_ascii=False))
    return HFTokenizer(hf, name, source, kind="tokforge (normalizer: via tokenizers)")


def load_tokenizer(path: str | os.PathLike, name: str | None = None) -> EvalTokenizer:
    """Load a tokforge model (a folder with ``tokforge.json``, or the file) or a Hugging Face
    tokenizer (a ``tokenizer.json``, or a folder with one)."""
    p = Path(path)
    native = p / NATIVE_FILE if p.is_dir() else p
    hf_file = p / "tokenizer.json" if p.is_dir() else p
    label = name or _default_name(p)
    if native.is_file() and (native.name == NATIVE_FILE or _is_native(native)):
        return from_tokforge(Tokenizer.load(native), label, str(p))
    if not hf_file.is_file():
        raise ModelFormatError(f"{p}: no {NATIVE_FILE} or tokenizer.json here; give a folder written by "
                               "`tokforge train -o`, a tokforge.json, a tokenizer.json or a folder with one")
    tokenizers = _tokenizers_module()
    try:
        hf = tokenizers.Tokenizer.from_file(str(hf_file))
    except Exception as e:  # the library raises plain Exceptions for malformed files
        raise ModelFormatError(f"{hf_file}: the tokenizers library cannot load it ({e})") from None
    return HFTokenizer(hf, label, str(p))


def _is_native(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return '"format_version"' in head and '"tokforge_version"' in head


def _default_name(p: Path) -> str:
    if p.is_file() and p.name in (NATIVE_FILE, "tokenizer.json"):
        return p.resolve().parent.name
    return p.name if p.is_dir() else p.stem


def unique_names(tokenizers: list[EvalTokenizer]) -> None:
    """Make the names distinct (``name``, ``name-2``, ...), in place."""
    seen: dict[str, int] = {}
    for t in tokenizers:
        n = seen.get(t.name, 0) + 1
        seen[t.name] = n
        if n > 1:
            t.name = f"{t.name}-{n}"
