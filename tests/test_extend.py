"""`tokforge extend`: new merges (BPE) or scored pieces (Unigram) learned on new text after the old ones,
every old id kept, transformers parity of the result, and the report (bytes/token before and after, old
text changed)."""
import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

import tokforge
from tokforge.cli import main
from tokforge.errors import ConfigError

from conftest import CORPORA

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("base")
    tok = tokforge.train(str(CORPORA / "en"), vocab_size=800, special_tokens=("<|endoftext|>",))
    tok.save(folder)
    return tok, folder


def turkish_texts():
    return [p.read_text(encoding="utf-8")[:20000] for p in sorted((CORPORA / "tr").glob("*.txt"))]


def test_extend_keeps_every_old_id_and_learns_turkish(base, tmp_path):
    tok, folder = base
    result = CliRunner().invoke(main, ["extend", str(folder), "-o", str(tmp_path / "tr"), "--corpus",
                                       str(CORPORA / "tr"), "--add", "300", "--old-text", str(CORPORA / "en"), "-q"])
    assert result.exit_code == 0, result.output
    assert "bytes/token" in result.output and "documents encode differently" in result.output
    ext = tokforge.Tokenizer.load(tmp_path / "tr")
    assert ext.model.vocab[:tok.vocab_size] == tok.model.vocab
    assert ext.model.merges[:len(tok.model.merges)] == tok.model.merges
    assert len(ext.model.merges) == len(tok.model.merges) + 300
    assert [ext.id_to_token(i) for i in range(tok.vocab_size)] == [tok.id_to_token(i) for i in range(tok.vocab_size)]
    report = json.loads((tmp_path / "tr" / "tokforge.json").read_text())["training"]["extended"]
    bpt = report["new_text"]["bytes_per_token"]
    assert bpt["after"] > bpt["before"] * 1.2
    old = report["old_text"]
    assert old["measured"] and 0 <= old["changed_documents"] <= old["documents"] and old["documents"] > 100
    hf = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "tr"))
    for text in turkish_texts() + ["<|endoftext|>Merhaba dünya!"]:
        ids = ext.encode(text)
        assert hf.encode(text, add_special_tokens=False) == ids
        assert hf.decode(ids) == text


def test_extend_an_imported_tiktoken_conversion(tmp_path):
    from test_import_bytelevel import LLAMA3, pair, tiktoken_file
    en = tokforge.train(str(CORPORA / "en"), vocab_size=700, special_tokens=())
    ours, _ = pair(tiktoken_file(en, tmp_path, LLAMA3))
    ext = tokforge.extend(ours, str(CORPORA / "tr"), add=200, old_text=str(CORPORA / "en"))
    assert ext.model.ignore_merges and ext.added == ours.added
    assert ext.model.vocab[:ours.vocab_size] == ours.model.vocab
    ext.save(tmp_path / "ext")
    hf = transformers.PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / "ext" / "tokenizer.json"))
    for text in turkish_texts():
        assert hf.encode(text, add_special_tokens=False) == ext.encode(text)
    assert ext.training["extended"]["old_text"]["measured"]


def test_without_old_text_the_report_says_it_was_not_measured(base):
    tok, _ = base
    ext = tokforge.extend(tok, str(CORPORA / "tr" / "denemeler_tokforge_tr.txt"), add=20)
    assert ext.training["extended"]["old_text"]["measured"] is False
    assert ext.training["extended"]["tokens_added"] <= 20


@pytest.fixture(scope="module")
def unigram_base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unigram-base")
    tok = tokforge.train(str(CORPORA / "en"), vocab_size=1000, algo="unigram", special_tokens=("<|endoftext|>",))
    tok.save(folder)
    return tok, folder


@pytest.fixture(scope="module")
def unigram_extended(unigram_base, tmp_path_factory):
    tok, folder = unigram_base
    out = tmp_path_factory.mktemp("unigram-ext") / "tr"
    result = CliRunner().invoke(main, ["extend", str(folder), "-o", str(out), "--corpus", str(CORPORA / "tr"),
                                       "--add", "400", "--old-text", str(CORPORA / "en"), "-q"])
    assert result.exit_code == 0, result.output
    return result.output, out


def test_unigram_extension_keeps_every_old_piece_and_score_and_learns_turkish(unigram_base, unigram_extended):
    tok, _ = unigram_base
    output, out = unigram_extended
    assert "bytes/token" in output and "documents encode differently" in output
    ext = tokforge.Tokenizer.load(out)
    assert ext.model.vocab[:tok.vocab_size] == tok.model.vocab and ext.model.scores[:tok.vocab_size] == tok.model.scores
    assert ext.vocab_size == tok.vocab_size + 400 and len(set(ext.model.vocab)) == ext.vocab_size
    assert [ext.id_to_token(i) for i in range(tok.vocab_size)] == [tok.id_to_token(i) for i in range(tok.vocab_size)]
    new_scores = ext.model.scores[tok.vocab_size:]
    assert new_scores == sorted(new_scores, reverse=True)
    old_scores = tok.model.scores[1:]  # the pieces' (not the special token's)
    assert min(old_scores) <= min(new_scores) and max(new_scores) <= max(old_scores)  # the same scale
    report = json.loads((out / "tokforge.json").read_text())["training"]["extended"]
    bpt = report["new_text"]["bytes_per_token"]
    assert bpt["after"] > bpt["before"] * 1.5
    assert report["old_text"]["measured"] and report["old_text"]["documents"] > 100


def test_unigram_extension_encodes_as_transformers(unigram_extended):
    _, out = unigram_extended
    ext = tokforge.Tokenizer.load(out)
    hf = transformers.AutoTokenizer.from_pretrained(str(out))
    texts = turkish_texts() + [p.read_text(encoding="utf-8")[:20000] for p in sorted((CORPORA / "en").glob("*.txt"))]
    for text in texts + ["<|endoftext|>Merhaba dünya! İstanbul'da ağaçlar çiçekleniyor."]:
        ids = ext.encode(text)
        assert any(i >= 1000 for i in ids) or text in texts[len(turkish_texts()):]
        assert hf.encode(text, add_special_tokens=False) == ids
        assert hf.decode(ids) == text

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(
        ["lar", "ler", " bir", "ğı", "ş", " ve", "<|endoftext|>", "  "]), max_size=40).map("".join))
    def same(text):
        assert hf.encode(text, add_special_tokens=False) == ext.encode(text)
    same()


def test_metaspace_unigram_extension_adds_whole_characters(tmp_path):
    tok = tokforge.train(str(CORPORA / "en" / "essays_tokforge_en.txt"), vocab_size=500, algo="unigram",
                         pattern="metaspace")
    ext = tokforge.extend(tok, str(CORPORA / "tr"), add=200)
    assert ext.model.vocab[:500] == tok.model.vocab and ext.model.scores[:500] == tok.model.scores
    assert ext.vocab_size == 700 and all(p.decode("utf-8") for p in ext.model.vocab[500:])
    bpt = ext.training["extended"]["new_text"]["bytes_per_token"]
    assert bpt["after"] > bpt["before"]
    ext.save(tmp_path / "m")
    hf = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "m"))
    for text in turkish_texts() + ["Merhaba  dünya ▁ 😀 ğ"]:
        assert hf.encode(text, add_special_tokens=False) == ext.encode(text)


def test_imported_sentencepiece_unigram_extension(tmp_path):
    from test_import_sentencepiece import pair, spm_unigram_file, trained_spm
    ours, _ = pair(spm_unigram_file(trained_spm(tmp_path, "unigram", 0.9995), True))
    ext = tokforge.extend(ours, str(CORPORA / "tr"), add=200)
    n = ours.vocab_size
    assert ext.model.vocab[:n] == ours.model.vocab and ext.model.scores[:n] == ours.model.scores
    assert (ext.model.unk_id, ext.model.first_byte) == (ours.model.unk_id, ours.model.first_byte)
    bpt = ext.training["extended"]["new_text"]["bytes_per_token"]
    assert ext.vocab_size > n and bpt["after"] > bpt["before"]
    ext.save(tmp_path / "ext")
    again = tokforge.Tokenizer.load(tmp_path / "ext")
    hf = transformers.PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / "ext" / "tokenizer.json"))
    for text in turkish_texts() + ["  Merhaba  dünya 😀 <s>"]:
        ids = ext.encode(text)
        assert again.encode(text) == ids == hf.encode(text, add_special_tokens=False)


def test_models_that_cannot_be_extended_are_refused(tmp_path):
    from test_import_sentencepiece import pair, converted, trained_spm
    morph = tokforge.train([str(CORPORA / "tr" / "denemeler_tokforge_tr.txt")], algo="morph", vocab_size=700)
    with pytest.raises(ConfigError, match="stage"):
        tokforge.extend(morph, str(CORPORA / "tr" / "denemeler_tokforge_tr.txt"), add=10)
    fallback_bpe, _ = pair(converted(trained_spm(tmp_path, "bpe", 1.0), True))
    with pytest.raises(ConfigError, match="byte-fallback"):
        tokforge.extend(fallback_bpe, str(CORPORA / "tr" / "denemeler_tokforge_tr.txt"), add=10)
