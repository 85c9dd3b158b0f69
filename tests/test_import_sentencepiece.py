"""Importing sentencepiece-style tokenizer.json files (Llama 2, Mistral v1; SpmConverter's Unigram): BPE
with byte fallback, in both spellings (Replace + Prepend normalizers, or a Metaspace pre-tokenizer), with ByteFallback / Fuse /
Strip decoders -- the same ids and text as transformers. Files are built here: a sentencepiece BPE
trained on corpora/en, converted by transformers' SpmConverter, and the classic Llama 2 layout written
with the tokenizers library from that vocabulary (no hub download)."""
import json
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tokforge
from tokforge.errors import ModelFormatError

import sentencepiece as spm
import transformers
import tokenizers
from tokenizers import decoders, normalizers, pre_tokenizers, processors  # noqa: E402
from transformers.convert_slow_tokenizer import LlamaConverter, SpmConverter, import_protobuf  # noqa: E402

from conftest import CORPORA  # noqa: E402

texty = st.lists(st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cn")),
    st.sampled_from(list(" \t\n\u2581abcdeéğış0123456789,.!?")),
    st.sampled_from(["<s>", "</s>", "<unk>", "  ", " \n ", "▁▁", "the", " the", "<0x41>", "😀"]),
), max_size=40).map("".join)


def trained_spm(folder, model_type: str, coverage: float):
    """A sentencepiece model trained on corpora/en (byte fallback, identity normalization), as its proto."""
    files = sorted(str(p) for p in (CORPORA / "en").glob("*.txt"))
    spm.SentencePieceTrainer.train(input=",".join(files), model_prefix=str(folder / model_type), vocab_size=800,
                                   model_type=model_type, byte_fallback=True, character_coverage=coverage,
                                   normalization_rule_name="identity", minloglevel=2, num_threads=1)
    proto = import_protobuf().ModelProto()
    proto.ParseFromString((folder / f"{model_type}.model").read_bytes())
    return proto


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory):
    return trained_spm(tmp_path_factory.mktemp("spm"), "bpe", 1.0)


def pair(hf_tok):
    ours = tokforge.Tokenizer.from_hf(json.loads(hf_tok.to_str()))
    return ours, transformers.PreTrainedTokenizerFast(tokenizer_object=hf_tok)


def spm_converter_file(proto, vocab, legacy: bool) -> "tokenizers.Tokenizer":
    """transformers' converter of a sentencepiece model: ``SpmConverter.build_tokenizer_from_spm_proto``
    (transformers 5), or on 4.x (which lacks it) the converter of a slow Llama tokenizer reading the
    model file, which writes the same family of files (Metaspace or Prepend/Replace, byte fallback)."""
    if hasattr(SpmConverter, "build_tokenizer_from_spm_proto"):
        return SpmConverter.build_tokenizer_from_spm_proto(proto, vocab, None, legacy=legacy)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spm.model"
        path.write_bytes(proto.SerializeToString())
        pieces = [p.piece for p in proto.pieces]
        slow = SimpleNamespace(vocab_file=str(path), legacy=legacy, add_prefix_space=True,
                               convert_ids_to_tokens=pieces.__getitem__)
        return LlamaConverter(slow).converted()


def converted(proto, legacy):
    return spm_converter_file(proto, {p.piece: i for i, p in enumerate(proto.pieces)}, legacy)


def llama2_classic(proto):
    """Llama 2's own tokenizer.json layout: Prepend + Replace normalizers, no pre-tokenizer, BOS template,
    <s> </s> <unk> as added tokens."""
    hf_tok = converted(proto, True)
    hf_tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    hf_tok.pre_tokenizer = None
    hf_tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                        decoders.Strip(" ", 1, 0)])
    hf_tok.add_special_tokens([tokenizers.AddedToken(t, normalized=False, special=True) for t in ("<unk>", "<s>", "</s>")])
    hf_tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                          special_tokens=[("<s>", hf_tok.token_to_id("<s>"))])
    return hf_tok


def metaspace_first(proto):
    """The newer spelling: no normalizer, Metaspace(prepend_scheme="first", split=False)."""
    hf_tok = converted(proto, False)
    hf_tok.normalizer = None
    hf_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    hf_tok.add_special_tokens([tokenizers.AddedToken(t, normalized=False, special=True) for t in ("<s>", "</s>")])
    return hf_tok


BUILDERS = {"converter-legacy": lambda p: converted(p, True), "converter": lambda p: converted(p, False),
            "llama2-classic": llama2_classic, "metaspace-first": metaspace_first}


def spm_unigram_file(proto, legacy):
    return spm_converter_file(proto, [(p.piece, p.score) for p in proto.pieces], legacy)


@pytest.fixture(scope="module", params=[*BUILDERS, "unigram-legacy", "unigram-first"])
def spm_pair(request):
    if request.param.startswith("unigram"):
        proto = request.getfixturevalue("spm_unigram")
        return pair(spm_unigram_file(proto, request.param == "unigram-legacy"))
    return pair(BUILDERS[request.param](request.getfixturevalue("spm_model")))


def corpus_texts():
    return [p.read_text(encoding="utf-8")[:20000] for p in sorted(CORPORA.rglob("*.txt"))]


def test_corpora_encode_and_decode_as_transformers(spm_pair):
    ours, theirs = spm_pair
    assert ours.model.byte_fallback and ours.pretokenizer.layout.literal
    for text in corpus_texts() + ["", " ", "  a  b  ", "<s>Hi</s> there", "a\n\nb", "日本語 😀 ❄", "<unk>", "\x1f<unk>"]:
        ids = ours.encode(text)
        assert ids == theirs.encode(text, add_special_tokens=False), text[:60]
        assert ours.encode(text, add_special_tokens=True) == theirs.encode(text), text[:60]
        assert ours.decode(ids) == theirs.decode(ids), text[:60]
        assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texty)
def test_generated_strings(spm_pair, text):
    ours, theirs = spm_pair
    ids = ours.encode(text)
    assert ids == theirs.encode(text, add_special_tokens=False)
    assert ours.decode(ids) == theirs.decode(ids)


def test_saved_and_loaded_again(spm_model, tmp_path):
    ours, theirs = pair(llama2_classic(spm_model))
    ours.save(tmp_path / "m")
    text = "<s>Hello  wörld 😀 </s>"
    for again in (tokforge.Tokenizer.load(tmp_path / "m"), tokforge.Tokenizer.load(tmp_path / "m" / "tokenizer.json")):
        assert again.encode(text, add_special_tokens=True) == theirs.encode(text)
        assert again.decode(again.encode(text)) == theirs.decode(theirs.encode(text, add_special_tokens=False))
    reloaded = transformers.PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / "m" / "tokenizer.json"))
    assert reloaded.encode(text) == theirs.encode(text)


def test_stochastic_encoding_of_a_byte_fallback_bpe(spm_model):
    from tokforge.sampling.stochastic import Sampling, StochasticEncoder
    ours, _ = pair(metaspace_first(spm_model))
    text = "Hello world, the quick brown fox. " * 20
    for sampling in (Sampling(stochastok=0.2), Sampling(dropout=0.3)):
        ids = StochasticEncoder(ours, sampling, seed=3).encode(text)
        assert ours.decode(ids) == ours.decode(ours.encode(text))


def test_unsupported_components_are_refused_by_name(spm_model):
    doc = json.loads(converted(spm_model, True).to_str())
    precompiled = json.loads(json.dumps(doc))
    precompiled["normalizer"]["normalizers"].insert(0, {"type": "Precompiled", "precompiled_charsmap": "AAAA"})
    with pytest.raises(ModelFormatError, match="Precompiled"):
        tokforge.Tokenizer.from_hf(precompiled)
    split = json.loads(json.dumps(doc))
    split["pre_tokenizer"] = {"type": "Whitespace"}
    with pytest.raises(ModelFormatError, match="Whitespace"):
        tokforge.Tokenizer.from_hf(split)
    decoder = json.loads(json.dumps(doc))
    decoder["decoder"]["decoders"].append({"type": "CTC"})
    with pytest.raises(ModelFormatError, match="CTC"):
        tokforge.Tokenizer.from_hf(decoder)


@pytest.fixture(scope="module")
def spm_unigram(tmp_path_factory):
    return trained_spm(tmp_path_factory.mktemp("spm-unigram"), "unigram", 0.9995)


@pytest.fixture(scope="module", params=[True, False], ids=["legacy", "first"])
def unigram_pair(request, spm_unigram):
    return pair(spm_unigram_file(spm_unigram, request.param))


def test_sentencepiece_unigram_saved_and_loaded_again(unigram_pair, tmp_path):
    ours, theirs = unigram_pair
    assert ours.model.scored and ours.pretokenizer.layout.literal
    ours.save(tmp_path / "u")
    text = "  Hello  wörld 😀 ❄ <s> <unk>"
    for again in (tokforge.Tokenizer.load(tmp_path / "u"), tokforge.Tokenizer.load(tmp_path / "u" / "tokenizer.json")):
        assert again.encode(text) == theirs.encode(text, add_special_tokens=False)
