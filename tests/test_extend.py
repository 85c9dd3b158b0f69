"""`tokforge extend`: new merges learned on new text after the old ones, every old id kept,
transformers parity of the result, and the report (bytes/token before and after, old text changed)."""
import json

import pytest
from click.testing import CliRunner

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


def test_unigram_extension_is_refused():
    uni = tokforge.train(str(CORPORA / "en" / "essays_tokforge_en.txt"), vocab_size=400, algo="unigram")
    with pytest.raises(ConfigError, match="Unigram"):
        tokforge.extend(uni, str(CORPORA / "tr" / "denemeler_tokforge_tr.txt"), add=10)
