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

from tokforge.errors import ExportError
from tokforge.formats.fields import ModelFile
from tokforge.io.folders import FolderKind
from tokforge.models.bpe import BPEModel, FallbackBPEModel
from tokforge.models.protocol import Model
from tokforge.models.unigram import UNK_TOKEN, SentencepieceUnigramModel, UnigramModel
from tokforge.text.layout import BYTE_LEVEL, METASPACE_HF, Layout
from tokforge.text.normalizers import Normalizer
from tokforge.text.numbers import TriadicSuffixStage, split_hf_stage
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.text.sentencepiece import SentencepieceSplit
from tokforge.text.specials import AddedTokens, template_ids

if TYPE_CHECKING:
    from tokforge.tokenizer import Tokenizer

HF_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")  # what hf_files writes
# a folder of those files alone (`tokforge export`)
HF_FOLDER = FolderKind("Hugging Face tokenizer folder", files="|".join(map(re.escape, HF_FILES)))
MODEL_MAX_LENGTH = 1_000_000_000  # no truncation limit of its own: the model decides


def to_hf_json(tok: Tokenizer) -> dict[str, Any]:
    """The ``tokenizer.json`` document of a tokenizer, each step asked of the part that does it: the
    normalizer, the number stage, a stage in front of the model, the pretokenizer (with the tokens'
    layout), the model. A part that tokenizer.json cannot express raises ExportError, saying why."""
    stages = [s.hf_parts() for s in (tok.stage, tok.numbers) if s is not None]  # ExportError if one cannot be
    token_strings(tok)  # ExportError for a token string that two ids share
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": text, **tok.added.flags(text)}
                         for text, i in sorted(tok.special_tokens.items(), key=lambda kv: kv[1])],
        "normalizer": tok.normalizer.to_hf(),
        "pre_tokenizer": tok.pretokenizer.to_hf(),
        "post_processor": tok.added.post_processor,
        "decoder": dict(tok.pretokenizer.layout.hf_decoder) or None,
        "model": tok.model.hf_model(tok.id_to_token),
    }
    for parts in stages:
        _add_stage(doc, parts)
    return doc


def token_strings(tok: Tokenizer) -> dict[str, int]:
    """Each token's string in Hugging Face files (``Tokenizer.id_to_token``) -> its id; ExportError when
    two tokens have one string."""
    vocab: dict[str, int] = {}
    for i in range(tok.vocab_size):
        text = tok.id_to_token(i)
        if text in vocab:
            raise ExportError(
                f"token {text!r} appears twice in the vocabulary (ids {vocab[text]} and {i}); "
                "Hugging Face files need unique strings — rename the special token that collides")
        vocab[text] = i
    return vocab


def _add_stage(doc: dict[str, Any], parts: dict[str, list[dict[str, Any]]]) -> None:
    """Put a stage's steps into a tokenizer.json document: its normalizers after the normalizer, its
    split first in the pre-tokenizer, its decoders after the layout's decoder."""
    norm = doc["normalizer"]
    before = [] if norm is None else norm["normalizers"] if norm["type"] == "Sequence" else [norm]
    doc["normalizer"] = {"type": "Sequence", "normalizers": before + parts["normalizers"]}
    pre = doc["pre_tokenizer"]
    steps = pre["pretokenizers"] if pre["type"] == "Sequence" else [pre]  # a Sequence, or Metaspace alone
    doc["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": parts["pre_tokenizers"] + steps}
    doc["decoder"] = {"type": "Sequence", "decoders": [doc["decoder"]] + parts["decoders"]}


def hf_files(tok: Tokenizer) -> dict[str, Any]:
    """All files of a Hugging Face tokenizer folder, as JSON documents by file name."""
    return dict(zip(HF_FILES, (to_hf_json(tok), *hf_configs(tok))))


def hf_configs(tok: Tokenizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """``tokenizer_config.json`` (for ``PreTrainedTokenizerFast``) and ``special_tokens_map.json``."""
    specials = [t for t, _ in sorted(tok.special_tokens.items(), key=lambda kv: kv[1]) if t not in tok.added.not_special]
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MODEL_MAX_LENGTH,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": {str(i): {"content": t, **tok.added.flags(t)} for t, i in tok.special_tokens.items()},
    }
    if specials:
        config["additional_special_tokens"] = specials
    if tok.pretokenizer.prefix_space:  # transformers 4.x sets ByteLevel's add_prefix_space from this key
        config["add_prefix_space"] = True
    special_tokens_map = {"additional_special_tokens": specials} if specials else {}
    return config, special_tokens_map


def read_hf_json(doc: Any, source: str = "<tokenizer.json>"
                 ) -> tuple[Model, Normalizer, Pretokenizer, TriadicSuffixStage | None, AddedTokens, ModelFile]:
    """Read a byte-level BPE or Unigram ``tokenizer.json`` (as written by tokforge, GPT-2, Llama 3, a tiktoken
    conversion or similar): its model, normalizer, pretokenizer, number stage and added tokens' flags, and the
    file (for the errors of building the tokenizer); ModelFormatError naming ``source`` and the field for
    anything malformed or unsupported."""
    f = ModelFile(source, "tokenizer.json")
    doc = f.object(doc, None)
    for part in ("normalizer", "pre_tokenizer", "decoder", "post_processor"):
        bad = _lone_surrogate(doc.get(part), part)
        if bad is not None:
            raise f.error(bad, "holds a lone surrogate, which no text can hold (a Rust string cannot)")
    model = f.get(doc, "model", dict)
    kind = f.get(model, "type", str, "model.type", default="BPE")
    if kind not in ("BPE", "Unigram"):
        raise f.error("model.type", f"is {kind!r}, which is not supported; tokforge imports byte-level BPE and "
                                    "Unigram tokenizers")
    with f.field(("normalizer", "pre_tokenizer", "decoder")):
        numbers, normalizer, pre_tokenizer, decoder = split_hf_stage(doc, source)
    # sentencepiece's BPE (Llama 2, Mistral v1), and its Unigram (SpmConverter) unless in tokforge's own layout
    fallback = model.get("byte_fallback") is True and (kind == "BPE" or not _tokforge_metaspace(pre_tokenizer))
    with f.field("pre_tokenizer"):
        pretokenizer = SentencepieceSplit.from_hf(pre_tokenizer, decoder) if fallback else \
            Pretokenizer.from_hf(pre_tokenizer)
    with f.field("normalizer"):
        normalizer = Normalizer.from_hf(normalizer)
    if kind == "Unigram":
        specials, added = _check_pipeline(doc, decoder, f, pretokenizer.layout)
        return _read_unigram(doc, f, pretokenizer, specials), normalizer, pretokenizer, numbers, added, f
    for key, ok in (("dropout", (None, 0.0)), ("continuing_subword_prefix", (None, "")),
                    ("end_of_word_suffix", (None, "")), ("byte_fallback", (None, False, True)),
                    ("ignore_merges", (None, False, True))):
        value = model.get(key)
        if value not in ok:
            raise f.error(f"model.{key}", f"is {value!r}: this BPE option is not supported")
    vocab = dict(f.get(model, "vocab", dict, "model.vocab"))
    merges = f.get(model, "merges", list, "model.merges")
    # tokforge's BPE is byte-level, or sentencepiece's with byte fallback
    specials, added = _check_pipeline(doc, decoder, f, pretokenizer.layout if fallback else BYTE_LEVEL)
    for text, i in specials.items():
        vocab.setdefault(text, i)
    names = ("model.vocab", "model.merges", "added_tokens")
    if fallback:
        if numbers is not None:
            raise f.error(("normalizer", "model.byte_fallback"), "a number stage with a byte-fallback BPE is not supported")
        bpe: BPEModel = FallbackBPEModel.from_strings(vocab, merges, specials, f, names, bool(model.get("ignore_merges")),
                                                      model.get("unk_token"), model.get("fuse_unk"))
    else:
        bpe = BPEModel.from_vocab_merges(vocab, merges, specials, f, names, ignore_merges=bool(model.get("ignore_merges")))
    return bpe, normalizer, pretokenizer, numbers, added, f


def _lone_surrogate(obj: Any, path: str) -> str | None:
    """The path of the first string in ``obj`` (JSON) that UTF-8 cannot hold, or None."""
    if isinstance(obj, str):
        return None if obj.encode("utf-8", "surrogatepass") == obj.encode("utf-8", "ignore") else path
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        bad = _lone_surrogate(value, f"{path}.{key}")
        if bad is not None:
            return bad
    return None


def _tokforge_metaspace(pre_tokenizer: Any) -> bool:
    """Whether a pre_tokenizer is the Metaspace of tokforge's own metaspace Unigram layout (alone, or
    after a digit split: ``Sequence[Split, Metaspace]``)."""
    if isinstance(pre_tokenizer, dict) and pre_tokenizer.get("type") == "Sequence":
        steps = pre_tokenizer.get("pretokenizers")
        if not (isinstance(steps, list) and steps and all(isinstance(s, dict) for s in steps)
                and all(s.get("type") == "Split" for s in steps[:-1])):
            return False
        pre_tokenizer = steps[-1]
    return isinstance(pre_tokenizer, dict) and pre_tokenizer.get("type") == "Metaspace" and \
        {k: pre_tokenizer.get(k, "always" if k == "prepend_scheme" else True) for k in METASPACE_HF} == METASPACE_HF


def _read_unigram(doc: dict[str, Any], f: ModelFile, pretokenizer: Pretokenizer, specials: dict[str, int]
                  ) -> UnigramModel:
    """The model of a Unigram tokenizer.json: byte-level (as tokforge writes it: no unk, no byte
    fallback), of the metaspace layout (byte fallback, ``<unk>``), or an imported sentencepiece one."""
    model = doc["model"]
    layout = pretokenizer.layout
    entries = f.get(model, "vocab", list, "model.vocab", default=[])
    if layout.literal:
        with f.field(("model.vocab", "model.unk_id", "added_tokens")):
            return SentencepieceUnigramModel.from_entries(entries, specials, model.get("unk_id"), f.source)
    unk = specials.get(layout.unk_token) if layout.byte_fallback else None
    unk_id, byte_fallback = model.get("unk_id"), model.get("byte_fallback")
    if isinstance(unk_id, bool) or unk_id != unk or not isinstance(byte_fallback, (bool, type(None))) \
            or bool(byte_fallback) != layout.byte_fallback:
        raise f.error(("model.unk_id", "model.byte_fallback", "added_tokens", "pre_tokenizer"),
                      f"Unigram with unk_id={unk_id!r} / byte_fallback={byte_fallback!r} is not supported; "
                      "tokforge imports byte-level Unigram models (every byte a piece, no unknown token) and, with "
                      f"a Metaspace pre-tokenizer, byte_fallback true with the special token {UNK_TOKEN!r} as unk_id")
    with f.field(("model.vocab", "added_tokens")):
        return UnigramModel.from_vocab_list(entries, specials, f.source, layout.byte_fallback)


def _check_pipeline(doc: dict[str, Any], decoder: Any, f: ModelFile, layout: Layout
                    ) -> tuple[dict[str, int], AddedTokens]:
    """Check the decoder (the one of the ``layout``), post-processor and added tokens tokforge supports;
    return the added tokens (by text) and their flags."""
    decoder = decoder or {}
    if layout.byte_fallback and decoder != layout.hf_decoder:
        raise f.error("decoder", f"is {decoder!r}, which is not supported with a Metaspace pre-tokenizer; "
                                 f"tokforge reads {layout.hf_decoder}")
    if not layout.byte_fallback and (not isinstance(decoder, dict) or decoder.get("type") != "ByteLevel"):
        shown = decoder.get("type") if isinstance(decoder, dict) else decoder
        raise f.error("decoder", f"is {shown!r}, not ByteLevel; tokforge imports byte-level tokenizers "
                                 "(and Metaspace Unigram ones)")
    specials: dict[str, int] = {}
    flags: dict[str, set[str]] = {"lstrip": set(), "rstrip": set(), "normalized": set(), "not_special": set()}
    for k, t in enumerate(f.get(doc, "added_tokens", list, default=[])):
        t = f.object(t, f"added_tokens[{k}]")
        content = f.get(t, "content", str, f"added_tokens[{k}].content")
        token_id = f.get(t, "id", int, f"added_tokens[{k}].id")
        if token_id < 0 or content in specials or not content:
            raise f.error("added_tokens", f"token {content!r} with id {token_id} is a duplicate, empty or has a "
                                          "negative id")
        if t.get("single_word"):
            raise f.error(f"added_tokens[{k}].single_word", f"is true for {content!r}: single_word added tokens are "
                                                            "not supported (tokforge does not reproduce HF's word test)")
        for flag in ("lstrip", "rstrip", "normalized"):
            if t.get(flag):
                flags[flag].add(content)
        if t.get("special") is False:
            flags["not_special"].add(content)
        specials[content] = token_id
    post = doc.get("post_processor")
    try:
        prefix, suffix = template_ids(post, specials) if post is not None else ((), ())
    except ValueError as e:
        raise f.error("post_processor", str(e)) from None
    added = AddedTokens(*(frozenset(v) for v in flags.values()), prefix, suffix,
                        post if prefix or suffix else None)
    return specials, added
