"""The native model file, ``tokforge.json``: the pipeline (special tokens, normalizer, pretokenizer,
number stage), the model's vocabulary (and merges), the training report; read field by field, each
problem a ``ModelFormatError`` that names the file and the field (``tokforge.formats.fields``).

    >>> f = ModelFile("out/tokforge.json", "tokforge model file")
    >>> doc = {"special_tokens": {"<s>": 0}, "normalizer": ["nfc"], "pretokenizer": {"pattern": "gpt2"}}
    >>> parts = native_parts(f, doc)
    >>> parts.specials, parts.normalizer, parts.pretokenizer, parts.numbers
    ({'<s>': 0}, Normalizer(['nfc']), Pretokenizer('gpt2', digits='none'), None)
"""
from __future__ import annotations

from typing import Any, NamedTuple

from tokforge.errors import ModelFormatError
from tokforge.formats.fields import ModelFile
from tokforge.models.bpe import BPEModel
from tokforge.models.unigram import UnigramModel
from tokforge.packed import utf8
from tokforge.text.bytelevel import visible_to_bytes
from tokforge.text.normalizers import Normalizer
from tokforge.text.numbers import TriadicSuffixStage, number_stage
from tokforge.text.pretokenizers import Pretokenizer

NATIVE_FILE = "tokforge.json"
FORMAT_VERSION = 1


class NativeParts(NamedTuple):
    """The pipeline of a native file, as every algorithm stores it."""

    specials: dict[str, int]
    normalizer: Normalizer
    pretokenizer: Pretokenizer
    numbers: TriadicSuffixStage | None
    training: dict[str, Any]


def native_parts(f: ModelFile, doc: dict[str, Any]) -> NativeParts:
    """Read the special tokens, normalizer, pretokenizer, number stage and training report of a
    native file (``f``: the file, for its errors)."""
    specials = f.get(doc, "special_tokens", dict)
    for text, i in specials.items():
        if isinstance(i, bool) or not isinstance(i, int) or i < 0:
            raise f.error("special_tokens", f"gives {text!r} the id {i!r}; ids are integers >= 0")
    with f.field("normalizer"):
        normalizer = Normalizer(f.get(doc, "normalizer", list))
    with f.field("pretokenizer"):
        pretokenizer = Pretokenizer.from_config(f.get(doc, "pretokenizer", dict))
    with f.field("numbers"):
        numbers = number_stage(f.get(doc, "numbers", str, default="none"), ModelFormatError)
    training = f.get(doc, "training", (dict, type(None)), default=None) or {}
    return NativeParts(dict(specials), normalizer, pretokenizer, numbers, training)


def model_from_native(algorithm: str, doc: dict[str, Any], specials: dict[str, int],
                      f: ModelFile, byte_fallback: bool = False) -> BPEModel | UnigramModel:
    """The model of a native file (``algorithm``: ``"unigram"`` for its scored pieces, else BPE's
    vocab and merges); ``specials``: every special and reserved token with its id; ``byte_fallback``:
    a Unigram model of the metaspace layout. Checked whole (its encoding tables are built)."""
    if algorithm == "unigram":
        entries = f.get(doc, "vocab", list)
        with f.field(("vocab", "special_tokens", "pretokenizer")):  # the pretokenizer decides the layout
            return UnigramModel.from_vocab_list(entries, specials, f.source, byte_fallback)
    return model_from_vocab_merges(f.get(doc, "vocab", dict), f.get(doc, "merges", list), specials, f)


def native_token_ids(vocab: dict[str, int] | list) -> dict[str, int]:
    """Token text -> id of a native file's vocabulary (BPE: a dict; Unigram: ``[[token, score], ...]``)."""
    return {str(entry[0]): i for i, entry in enumerate(vocab)} if isinstance(vocab, list) else vocab


def model_from_vocab_merges(vocab: dict[str, Any], merges: list, specials: dict[str, int], f: ModelFile,
                            names: tuple[str, ...] = ("vocab", "merges", "special_tokens", "numbers")) -> BPEModel:
    """Build (and check) a BPEModel from visible-string vocab and merges (tokenizer.json style);
    ``names``: the fields of the vocab, the merges, then those that declare the special tokens
    (``specials``), in ``f``'s messages."""
    vocab_name, merges_name, *declaring = names
    specials_name = declaring[0]
    n = len(vocab)
    for text, i in vocab.items():
        if isinstance(i, bool) or not isinstance(i, int):
            raise f.error(vocab_name, f"gives {text!r} the id {i!r}; ids are integers")
    if sorted(vocab.values()) != list(range(n)):  # (the special tokens are in it)
        raise f.error((vocab_name, specials_name), f"ids must be exactly 0..{n - 1} without gaps")
    tokens: list[bytes] = [b""] * n
    with f.field((vocab_name, *declaring)):  # a token that is not byte-level text must be declared special
        for text, i in vocab.items():
            tokens[i] = utf8(text) if text in specials else visible_to_bytes(text)
    with f.field(specials_name):
        for text, i in specials.items():
            if vocab.get(text, i) != i or not 0 <= i < n:
                raise f.error((specials_name, vocab_name), f"special token {text!r} has id {i} but the vocabulary "
                                                           f"says {vocab.get(text, 'nothing')}")
            tokens[i] = utf8(text)
    pairs = []
    for rank, m in enumerate(merges):
        pair = m.split(" ") if isinstance(m, str) else m
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and isinstance(pair[1], str)):
            raise f.error(merges_name, f"merge #{rank} {m!r} is neither 'left right' nor [left, right]")
        left, right = pair
        if left not in vocab or right not in vocab:
            raise f.error(merges_name, f"merge #{rank} {m!r} uses a token that is not in the vocabulary")
        pairs.append((vocab[left], vocab[right]))
    model = BPEModel(tokens, pairs, specials)
    with f.field((vocab_name, merges_name)):
        model.tables()
    return model
