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

from typing import TYPE_CHECKING, Any, NamedTuple

from tokforge.errors import ModelFormatError
from tokforge.formats.fields import ModelFile
from tokforge.models.bpe import BPEModel
from tokforge.models.morph.rules import rules_from_dict
from tokforge.models.morph.stage import MorphStage
from tokforge.models.protocol import Model
from tokforge.models.unigram import UnigramModel
from tokforge.text.normalizers import Normalizer
from tokforge.text.numbers import TriadicSuffixStage, number_stage
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.text.sentencepiece import pretokenizer_from_config
from tokforge.text.specials import AddedTokens
from tokforge.version import __version__

if TYPE_CHECKING:
    from tokforge.tokenizer import Tokenizer

NATIVE_FILE = "tokforge.json"
FORMAT_VERSION = 1
MODELS: dict[str, type[Model]] = {"bpe": BPEModel, "unigram": UnigramModel}  # by the "algorithm" of the file
_VOCAB_TYPES = {"bpe": dict, "unigram": list}  # BPE: {token: id}; Unigram: [[token, score], ...] in id order
MORPH = "morph"  # the algorithm of a file with a morph stage (a "morph" section) in front of its model


class NativeParts(NamedTuple):
    """The pipeline of a native file, as every algorithm stores it."""

    specials: dict[str, int]
    normalizer: Normalizer
    pretokenizer: Pretokenizer
    numbers: TriadicSuffixStage | None
    training: dict[str, Any]
    added: AddedTokens  # flags of imported added tokens, the post-processor


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
        pretokenizer = pretokenizer_from_config(f.get(doc, "pretokenizer", dict))
    with f.field("numbers"):
        numbers = number_stage(f.get(doc, "numbers", str, default="none"), ModelFormatError)
    training = f.get(doc, "training", (dict, type(None)), default=None) or {}
    with f.field("added_tokens"):
        added = AddedTokens.from_native(f.get(doc, "added_tokens", dict, default={}), specials)
    return NativeParts(dict(specials), normalizer, pretokenizer, numbers, training, added)


def native_token_ids(vocab: dict[str, int] | list) -> dict[str, int]:
    """Token text -> id of a native file's vocabulary (BPE: a dict; Unigram: ``[[token, score], ...]``)."""
    return {str(entry[0]): i for i, entry in enumerate(vocab)} if isinstance(vocab, list) else vocab


# ---- writing ---------------------------------------------------------------------------------------
def native_document(tok: Tokenizer) -> dict[str, Any]:
    """The tokforge.json document of a tokenizer: its pipeline, its model's fields, its training report."""
    return {
        "tokforge_version": __version__,
        "format_version": FORMAT_VERSION,
        "algorithm": tok.algorithm,
        "normalizer": list(tok.normalizer.names),
        "pretokenizer": tok.pretokenizer.config(),
        "numbers": tok.numbers.mode if tok.numbers else "none",
        "special_tokens": tok.special_tokens,
        **({} if tok.added.plain else {"added_tokens": tok.added.to_native()}),
        **tok.model.native_fields(tok.id_to_token),
        "training": tok.training,
    }


def morph_section(stage: MorphStage, fallback: str) -> dict[str, Any]:
    """The ``"morph"`` field of a morph model: its fallback model's algorithm, the stage's version, root
    tokens (after a space, and elsewhere) and rule set (inline: a model file names no other file)."""
    later = {"version": stage.version} if stage.version > 1 else {}  # fields a stage of version 1 has none of
    if stage.spaced_roots:
        later["spaced_roots"] = list(stage.spaced_roots)
    return {"fallback": fallback, **later, "roots": list(stage.roots), "rules": stage.rules.to_dict()}


# ---- reading ---------------------------------------------------------------------------------------
def read_header(doc: Any, source: str, readable: tuple[str, ...]) -> tuple[ModelFile, dict[str, Any], str]:
    """The file (for its errors), the document and its algorithm, once the format version and the
    algorithm are ones this tokforge reads (``readable``)."""
    f = ModelFile(source, "tokforge model file")
    doc = f.object(doc, None)
    version, algorithm = f.get(doc, "format_version", int), f.get(doc, "algorithm", str)
    if version != FORMAT_VERSION or algorithm not in readable:
        names = ", ".join(map(repr, readable[:-1])) + f" and {readable[-1]!r}"
        raise f.error(("format_version", "algorithm"), f"are {version!r} and {algorithm!r}, which this tokforge "
                      f"cannot read (it reads format {FORMAT_VERSION}: {names})")
    return f, doc, algorithm


def read_model(algorithm: str, doc: dict[str, Any], specials: dict[str, int], f: ModelFile,
               pretokenizer: Pretokenizer) -> Model:
    """The model of a native file (``specials``: every special and reserved token with its id), checked
    whole (its encoding tables are built); the pretokenizer decides the tokens' layout."""
    return MODELS[algorithm].from_native(doc, specials, f, pretokenizer.layout)


def read_plain(f: ModelFile, doc: dict[str, Any], algorithm: str) -> tuple[Model, NativeParts]:
    """The model and pipeline of a native file of a plain model (``MODELS``), with its number stage."""
    parts = native_parts(f, doc)
    specials = dict(parts.specials)
    if parts.numbers is not None:
        with f.field("vocab"):
            token_ids = native_token_ids(f.get(doc, "vocab", _VOCAB_TYPES[algorithm]))
        specials.update(_number_tokens(f, parts.numbers, token_ids))
    return read_model(algorithm, doc, specials, f, parts.pretokenizer), parts


def _number_tokens(f: ModelFile, numbers: TriadicSuffixStage, token_ids: dict[str, int]) -> dict[str, int]:
    """The fixed tokens of a number stage with their ids in the vocabulary ``token_ids``."""
    out = {}
    for token in numbers.reserved_tokens():
        if not isinstance(token_ids.get(token), int):
            raise f.error(("numbers", "vocab"), f"numbers={numbers.mode!r} but the vocabulary lacks its fixed "
                                                f"token {token!r}")
        out[token] = token_ids[token]
    return out


def read_morph(doc: Any, source: str) -> tuple[Model, MorphStage, NativeParts, ModelFile]:
    """The fallback model, morph stage and pipeline of a morph model file, and the file (for errors)."""
    f = ModelFile(source, "tokforge morph model")
    doc = f.object(doc, None)
    if f.get(doc, "format_version", int) != FORMAT_VERSION:
        raise f.error("format_version", f"is {doc['format_version']!r}; this tokforge reads format {FORMAT_VERSION}")
    morph = f.get(doc, "morph", dict)
    fallback = f.get(morph, "fallback", str, "morph.fallback", default="bpe")
    if fallback not in MODELS:
        raise f.error("morph.fallback", f"is {fallback!r}, not one of this tokforge's fallbacks ({', '.join(MODELS)})")
    rules_doc = f.get(morph, "rules", dict, "morph.rules")
    f.get(rules_doc, "roots", list, "morph.rules.roots")  # inline: a model file names no other file
    with f.field("morph.rules"):
        rules = rules_from_dict(rules_doc, "the rule set")
    roots = f.get(morph, "roots", list, "morph.roots")
    spaced = f.get(morph, "spaced_roots", list, "morph.spaced_roots", default=[])
    version = f.get(morph, "version", int, "morph.version", default=1)  # files before versions: 1
    with f.field(("morph.roots", "morph.spaced_roots", "morph.version")):
        stage = MorphStage(rules, roots, spaced, version)
    parts = native_parts(f, doc)
    specials = dict(parts.specials)
    with f.field("vocab"):
        token_ids = native_token_ids(f.get(doc, "vocab", _VOCAB_TYPES[fallback]))
    for token in stage.reserved_tokens():
        if not isinstance(token_ids.get(token), int):
            raise f.error(("vocab", "morph.roots"), f"the vocabulary lacks the morph token {token!r}")
        specials[token] = token_ids[token]
    if parts.numbers is not None:
        specials.update(_number_tokens(f, parts.numbers, token_ids))
    return read_model(fallback, doc, specials, f, parts.pretokenizer), stage, parts, f
