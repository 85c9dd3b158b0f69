"""Importing the byte-level BPE tokenizer.json files in circulation: tiktoken conversions (transformers'
TikTokenConverter, ``ignore_merges``), Llama-3 style files (a post-processor adding BOS), GPT-2 with
``add_prefix_space``, added tokens with their flags -- the same ids as transformers. The files are
built here from a vocabulary trained on corpora/en (no hub download)."""
import base64
import json
import inspect

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tokforge
from tokforge.errors import ModelFormatError

import tokenizers
import transformers
from tokenizers import AddedToken, processors  # noqa: E402
from transformers.convert_slow_tokenizer import TikTokenConverter  # noqa: E402

from conftest import CORPORA  # noqa: E402

# split regexes as tiktoken and transformers spell them today (possessive, \s++$ ...)
TIKTOKEN_CL100K = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
                   r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
TIKTOKEN_R50K = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
LLAMA3 = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
          r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
SPECIALS = ("<|endoftext|>", "<|begin_of_text|>")

texty = st.lists(st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cn")),
    st.sampled_from(list(" \t\n\r\x0b\x85\xa0\u3000'’sdtSDT0123456789,.!?-_")),
    st.sampled_from([*SPECIALS, "<mask>", "hello world", "  ", " \n ", "\r\n", "'s", "'LL", "the", " the"]),
), max_size=40).map("".join)


@pytest.fixture(scope="module")
def base():
    return tokforge.train(str(CORPORA / "en"), vocab_size=1200, special_tokens=())


def tiktoken_file(base, tmp_path, pattern: str) -> "tokenizers.Tokenizer":
    """transformers' converter of a tiktoken vocabulary (ranks = the base's ids)."""
    specials = set(base.special_tokens.values())
    ranks = [t for i, t in enumerate(base.model.vocab) if i not in specials]
    path = tmp_path / "ranks.tiktoken"  # tiktoken's format: base64 of the token, its rank
    path.write_text("".join(f"{base64.b64encode(t).decode()} {i}\n" for i, t in enumerate(ranks)))
    n = len(ranks)
    specials = {t: n + k for k, t in enumerate(SPECIALS)}
    if "extra_special_tokens" in inspect.signature(TikTokenConverter.__init__).parameters:  # transformers 5
        return TikTokenConverter(vocab_file=str(path), pattern=pattern, extra_special_tokens=specials).converted()
    # transformers 4.x: a list, added in order after the ranks
    return TikTokenConverter(vocab_file=str(path), pattern=pattern, additional_special_tokens=list(specials)).converted()


def pair(hf_tok):
    ours = tokforge.Tokenizer.from_hf(json.loads(hf_tok.to_str()))
    return ours, transformers.PreTrainedTokenizerFast(tokenizer_object=hf_tok)


def check_texts(ours, theirs, texts):
    for text in texts:
        ids = ours.encode(text)
        assert ids == theirs.encode(text, add_special_tokens=False), text[:80]
        assert ours.encode(text, add_special_tokens=True) == theirs.encode(text), text[:80]
        assert ours.decode(ids) == theirs.decode(ids)
    big = [t for t in texts if t]
    assert ours.encode_batch(big * 3) == [theirs.encode(t, add_special_tokens=False) for t in big * 3]


def corpus_texts():
    return [p.read_text(encoding="utf-8")[:30000] for p in sorted(CORPORA.rglob("*.txt"))]


@pytest.mark.parametrize("pattern", [TIKTOKEN_CL100K, TIKTOKEN_R50K, LLAMA3])
def test_tiktoken_conversions_encode_as_transformers(base, tmp_path, pattern):
    hf_tok = tiktoken_file(base, tmp_path, pattern)
    assert json.loads(hf_tok.to_str())["model"]["ignore_merges"] is True
    ours, theirs = pair(hf_tok)
    check_texts(ours, theirs, corpus_texts() + ["", " \n ", "a  \n\n  ", "<|endoftext|>x<|begin_of_text|>"])


@pytest.fixture(scope="module")
def llama3_style(base, tmp_path_factory):
    """ignore_merges, BOS from a TemplateProcessing post-processor, added tokens with flags."""
    hf_tok = tiktoken_file(base, tmp_path_factory.mktemp("llama3"), LLAMA3)
    hf_tok.add_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, special=True),
                       AddedToken("hello world", normalized=True, special=False)])
    hf_tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B:1",
                                      special_tokens=[("<|begin_of_text|>", hf_tok.token_to_id("<|begin_of_text|>"))])])
    return pair(hf_tok)


def test_llama3_style_file_encodes_as_transformers(llama3_style):
    ours, theirs = llama3_style
    assert ours.encode("x", add_special_tokens=True)[0] == ours.token_to_id("<|begin_of_text|>")
    check_texts(ours, theirs, corpus_texts() + ["a  <mask>  b", "<mask>", "say hello world!", " \t<mask>\n"])
    assert ours.decode(ours.encode("a <mask> b"), skip_special_tokens=True) == \
        theirs.decode(theirs.encode("a <mask> b"), skip_special_tokens=True)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texty)
def test_llama3_style_file_on_generated_strings(llama3_style, text):
    ours, theirs = llama3_style
    assert ours.encode(text, add_special_tokens=True) == theirs.encode(text)


def test_flags_and_template_survive_saving(llama3_style, tmp_path):
    ours, theirs = llama3_style
    ours.save(tmp_path / "m")
    for again in (tokforge.Tokenizer.load(tmp_path / "m"), tokforge.Tokenizer.load(tmp_path / "m" / "tokenizer.json")):
        assert again.added == ours.added
        text = "a  <mask>  hello world <|begin_of_text|>"
        assert again.encode(text, add_special_tokens=True) == theirs.encode(text)
    reloaded = transformers.PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / "m" / "tokenizer.json"))
    assert reloaded.encode("a <mask> b") == theirs.encode("a <mask> b")


def test_ignore_merges_gives_a_whole_token_the_merges_do_not_rebuild():
    # "abc" is in the vocabulary, but the merges make "a" + "bc" of it
    letters = {bytes([b]): b for b in range(256)}
    from tokforge.text.bytelevel import bytes_to_visible
    vocab = {bytes_to_visible(b): i for b, i in letters.items()}
    vocab.update({"bc": 256, "ab": 257, "abc": 258})
    hf_tok = tokenizers.Tokenizer(tokenizers.models.BPE(vocab, [("b", "c"), ("a", "b")], ignore_merges=True))
    hf_tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    hf_tok.decoder = tokenizers.decoders.ByteLevel()
    ours, theirs = pair(hf_tok)
    assert ours.encode("abc abcabc") == theirs.encode("abc abcabc") == [258, 32, 97, 256, 97, 256]
    check_texts(ours, theirs, ["abc", "xabc", "abc abc " * 600, "ab bc abcab"])


@pytest.fixture(scope="module")
def gpt2_prefix_space():
    base = tokforge.train(str(CORPORA / "en"), vocab_size=600, pattern="gpt2", special_tokens=("<|endoftext|>",))
    doc = base.hf_files()["tokenizer.json"]
    doc["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    hf_tok = tokenizers.Tokenizer.from_str(json.dumps(doc))
    ours = tokforge.Tokenizer.from_hf(json.loads(hf_tok.to_str()))
    # as a folder whose tokenizer_config.json says add_prefix_space (RoBERTa's do): transformers 4.x sets
    # the ByteLevel step from that key (False when absent), 5.x keeps tokenizer.json's
    return ours, transformers.PreTrainedTokenizerFast(tokenizer_object=hf_tok, add_prefix_space=True)


def test_add_prefix_space_encodes_as_transformers(gpt2_prefix_space):
    ours, theirs = gpt2_prefix_space
    assert ours.pretokenizer.prefix_space
    check_texts(ours, theirs, corpus_texts() + ["Hello", " Hello", "a<|endoftext|>b", "<|endoftext|> b"])


def test_add_prefix_space_survives_export_and_loads_in_transformers(gpt2_prefix_space, tmp_path):
    ours, _ = gpt2_prefix_space
    ours.save(tmp_path / "model")
    assert json.loads((tmp_path / "model" / "tokenizer_config.json").read_text())["add_prefix_space"] is True
    theirs = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "model"))
    check_texts(ours, theirs, corpus_texts()[:3] + ["Hello", " Hello", "0"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texty)
def test_add_prefix_space_on_generated_strings(gpt2_prefix_space, text):
    ours, theirs = gpt2_prefix_space
    assert ours.encode(text) == theirs.encode(text, add_special_tokens=False)


def test_unsupported_components_are_refused_by_name(base, tmp_path):
    doc = json.loads(tiktoken_file(base, tmp_path, LLAMA3).to_str())
    single = json.loads(json.dumps(doc))
    single["added_tokens"][0]["single_word"] = True
    with pytest.raises(ModelFormatError, match=r"added_tokens\[0\]\.single_word"):
        tokforge.Tokenizer.from_hf(single)
    prefixed = json.loads(json.dumps(doc))
    prefixed["pre_tokenizer"]["pretokenizers"][-1]["add_prefix_space"] = True
    with pytest.raises(ModelFormatError, match="add_prefix_space"):
        tokforge.Tokenizer.from_hf(prefixed)
    roberta = json.loads(json.dumps(doc))
    roberta["post_processor"] = {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0]}
    with pytest.raises(ModelFormatError, match="RobertaProcessing"):
        tokforge.Tokenizer.from_hf(roberta)
