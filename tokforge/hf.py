"""Hugging Face export and import: ``tokenizer.json`` (+ ``tokenizer_config.json`` and
``special_tokens_map.json``) that ``transformers.AutoTokenizer`` loads offline and that
encodes exactly as tokforge does.

    >>> files = hf_files(tok)                       # doctest: +SKIP
    >>> sorted(files)                               # doctest: +SKIP
    ['special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']

Only what the HF pipeline can express exactly is exported; anything else raises
``ExportError`` rather than writing an approximate file.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tokforge.errors import ExportError, ModelFormatError
from tokforge.folders import FolderKind
from tokforge.normalizers import Normalizer
from tokforge.pretokenizers import METASPACE_MARK, Pretokenizer

if TYPE_CHECKING:
    from tokforge.tokenizer import Tokenizer

HF_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")  # what hf_files writes
# a folder of those files alone (`tokforge export`)
HF_FOLDER = FolderKind("Hugging Face tokenizer folder", files="|".join(map(re.escape, HF_FILES)))
MODEL_MAX_LENGTH = 1_000_000_000  # no truncation limit of its own: the model decides
BYTELEVEL_DECODER = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
# the metaspace layout (byte-fallback Unigram): "▁" back to spaces, runs of <0xNN> tokens back to text
METASPACE_DECODER = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": METASPACE_MARK}, "content": " "},
    {"type": "ByteFallback"}, {"type": "Fuse"}]}


def to_hf_json(tok: "Tokenizer") -> dict[str, Any]:
    """The ``tokenizer.json`` document of a byte-level BPE or Unigram tokenizer."""
    if getattr(tok, "algorithm", "bpe") == "morph":
        from tokforge.morph_tokenizer import export_error
        raise export_error()  # the root-affix stage has no tokenizer.json equivalent
    numbers = tok.numbers.hf_parts() if tok.numbers else None  # ExportError if it cannot be expressed
    vocab = {}
    for i in range(tok.vocab_size):
        text = tok.id_to_token(i)
        if text in vocab:
            raise ExportError(
                f"token {text!r} appears twice in the vocabulary (ids {vocab[text]} and {i}); "
                "tokenizer.json needs unique strings — rename the special token that collides")
        vocab[text] = i
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": text, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for text, i in sorted(tok.special_tokens.items(), key=lambda kv: kv[1])
        ],
        "normalizer": tok.normalizer.to_hf(),
        "pre_tokenizer": tok.pretokenizer.to_hf(),
        "post_processor": None,
        "decoder": METASPACE_DECODER if tok.pretokenizer.metaspace else BYTELEVEL_DECODER,
        "model": tok.model.hf_model(tok.id_to_token) if tok.algorithm == "unigram" else {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [[tok.id_to_token(a), tok.id_to_token(b)] for a, b in tok.model.merges],
        },
    }
    if numbers is not None:
        _add_number_stage(doc, numbers)
    return doc


def _add_number_stage(doc: dict[str, Any], parts: dict[str, list[dict[str, Any]]]) -> None:
    """Put the number stage's steps into a tokenizer.json document: its normalizers after the
    normalizer, its split first in the pre-tokenizer, its decoders after ByteLevel."""
    norm = doc["normalizer"]
    before = [] if norm is None else norm["normalizers"] if norm["type"] == "Sequence" else [norm]
    doc["normalizer"] = {"type": "Sequence", "normalizers": before + parts["normalizers"]}
    pre = doc["pre_tokenizer"]
    doc["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": parts["pre_tokenizers"] + pre["pretokenizers"]}
    doc["decoder"] = {"type": "Sequence", "decoders": [doc["decoder"]] + parts["decoders"]}


def hf_files(tok: "Tokenizer") -> dict[str, Any]:
    """All files of a Hugging Face tokenizer folder, as JSON documents by file name."""
    specials = [t for t, _ in sorted(tok.special_tokens.items(), key=lambda kv: kv[1])]
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MODEL_MAX_LENGTH,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": {
            str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                     "single_word": False, "special": True}
            for t, i in tok.special_tokens.items()
        },
    }
    if specials:
        config["additional_special_tokens"] = specials
    special_tokens_map = {"additional_special_tokens": specials} if specials else {}
    return dict(zip(HF_FILES, (to_hf_json(tok), config, special_tokens_map)))


def from_hf_json(doc: dict[str, Any], source: str = "<tokenizer.json>") -> "Tokenizer":
    """Import a byte-level BPE or Unigram ``tokenizer.json`` (as written by tokforge, GPT-2 or similar)."""
    from tokforge.tokenizer import Tokenizer, _model_from_vocab_merges

    if not isinstance(doc, dict) or not isinstance(doc.get("model"), dict):
        raise ModelFormatError(f"{source}: not a tokenizer.json (no 'model' object)")
    from tokforge.numbers import split_hf_stage
    numbers, normalizer, pre_tokenizer, decoder = split_hf_stage(doc, source)
    model = doc["model"]
    if model.get("type") == "Unigram":
        if numbers is not None:
            raise ModelFormatError(f"{source}: a number stage with a Unigram model is not supported")
        return _from_hf_unigram(doc, source, normalizer, pre_tokenizer, decoder)
    if model.get("type", "BPE") != "BPE" or "merges" not in model:
        raise ModelFormatError(f"{source}: model type {model.get('type')!r} is not supported; "
                               "tokforge imports byte-level BPE and Unigram tokenizers")
    for key, ok in (("dropout", (None, 0.0)), ("continuing_subword_prefix", (None, "")),
                    ("end_of_word_suffix", (None, "")), ("byte_fallback", (None, False)),
                    ("ignore_merges", (None, False))):
        if model.get(key) not in ok:
            raise ModelFormatError(f"{source}: BPE option {key}={model.get(key)!r} is not supported")
    specials = _check_pipeline(doc, decoder, source)
    vocab = dict(model["vocab"])
    for text, i in specials.items():
        vocab.setdefault(text, i)
    bpe = _model_from_vocab_merges(vocab, model["merges"], specials, source)
    return Tokenizer(bpe, Normalizer.from_hf(normalizer), Pretokenizer.from_hf(pre_tokenizer),
                     {"imported_from": source}, numbers)


def _from_hf_unigram(doc: dict[str, Any], source: str, normalizer, pre_tokenizer, decoder) -> "Tokenizer":
    """A byte-level Unigram tokenizer.json (as tokforge writes it: no unk, no byte fallback)."""
    from tokforge.tokenizer import Tokenizer
    from tokforge.unigram import UnigramModel

    model = doc["model"]
    pretokenizer = Pretokenizer.from_hf(pre_tokenizer)
    fallback = pretokenizer.metaspace
    specials = _check_pipeline(doc, decoder, source, metaspace=fallback)
    from tokforge.unigram import UNK_TOKEN
    unk = specials.get(UNK_TOKEN) if fallback else None
    if model.get("unk_id") != unk or bool(model.get("byte_fallback")) != fallback:
        raise ModelFormatError(f"{source}: Unigram with unk_id={model.get('unk_id')!r} / byte_fallback="
                               f"{model.get('byte_fallback')!r} is not supported; tokforge imports byte-level "
                               "Unigram models (every byte a piece, no unknown token) and, with a Metaspace "
                               f"pre-tokenizer, byte_fallback true with the special token {UNK_TOKEN!r} as unk_id")
    unigram = UnigramModel.from_vocab_list(model.get("vocab") or [], specials, source, fallback)
    return Tokenizer(unigram, Normalizer.from_hf(normalizer), pretokenizer, {"imported_from": source})


def _check_pipeline(doc: dict[str, Any], decoder: dict[str, Any] | None, source: str,
                    metaspace: bool = False) -> dict[str, int]:
    """Check the decoder (``metaspace``: the one tokforge writes for that layout), post-processor
    and added tokens tokforge supports; return the specials."""
    decoder = decoder or {}
    if metaspace and decoder != METASPACE_DECODER:
        raise ModelFormatError(f"{source}: decoder {decoder!r} is not supported with a Metaspace pre-tokenizer; "
                               f"tokforge reads {METASPACE_DECODER}")
    if not metaspace and decoder.get("type") != "ByteLevel":
        raise ModelFormatError(f"{source}: decoder {decoder.get('type')!r} is not ByteLevel; "
                               "tokforge imports byte-level tokenizers (and Metaspace Unigram ones)")
    post = doc.get("post_processor")
    if post is not None and post.get("type") != "ByteLevel":
        raise ModelFormatError(f"{source}: post_processor {post.get('type')!r} "
                               "(added BOS/EOS or templates) is not supported")
    specials = {}
    for t in doc.get("added_tokens", []):
        if t.get("lstrip") or t.get("rstrip") or t.get("single_word") or t.get("normalized"):
            raise ModelFormatError(f"{source}: added token {t['content']!r} uses lstrip/rstrip/"
                                   "single_word/normalized, which tokforge does not support")
        specials[t["content"]] = int(t["id"])
    return specials
