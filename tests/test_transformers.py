"""transformers loads the folders tokenizer.json cannot express (the morph hybrid with each fallback,
numbers='tst-vocab') through tokforge's tokenizer class: the same ids as tokforge on every file of corpora/
and on generated text, decoding, special tokens, batches with padding and truncation, save_pretrained and
reload, registration without trust_remote_code, and a clear error without tokforge. Offline."""
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

import tokforge

from conftest import CORPORA

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")
AutoTokenizer = transformers.AutoTokenizer

TEXT = "Kitaplarımızı İstanbul'da okuduk.<|endoftext|> NATO'nun 1,234,567.89 liralık IŞIK"


def _documents() -> list[str]:
    return [line for path in sorted(CORPORA.rglob("*.txt")) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


@pytest.fixture(scope="module", params=["morph-bpe", "morph-unigram", "tst-vocab"])
def folder(request, tmp_path_factory):
    """A trained model saved by tokforge, and the tokenizer (the folder has no tokenizer.json)."""
    corpus = [str(CORPORA / "tr" / "denemeler_tokforge_tr.txt")]
    if request.param == "tst-vocab":
        tok = tokforge.train(corpus, vocab_size=10500, numbers="tst-vocab")
    else:
        tok = tokforge.train(corpus, algo="morph", vocab_size=700, morph_fallback=request.param.split("-")[1])
    out = tmp_path_factory.mktemp(request.param.replace("-", "_"))
    tok.save(out)
    assert not (out / "tokenizer.json").exists() and (out / "tokforge_tokenizer.py").is_file()
    return out, tok


@pytest.fixture(scope="module")
def hf(folder):
    return AutoTokenizer.from_pretrained(str(folder[0]), trust_remote_code=True)


def test_the_same_ids_on_every_file_of_the_corpora(folder, hf):
    _, tok = folder
    docs = _documents()
    assert hf(docs)["input_ids"] == tok.encode_batch(docs)
    assert hf(TEXT)["input_ids"] == tok.encode(TEXT)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["Kitaplar", "İstanbul'da", "evlerimizde", " ", "\n", "<|endoftext|>", "12,345",
                                 "IŞIK", "x86", "ΑΘΗΝΑ", "naïve", "'"]), max_size=8).map("".join)
       | st.text(max_size=30).map(lambda t: t.encode("utf-8", "replace").decode("utf-8")))
def test_the_same_ids_and_decode_on_generated_text(folder, hf, text):
    _, tok = folder
    ids = hf(text)["input_ids"]
    assert ids == tok.encode(text)
    assert hf.decode(ids) == tok.decode(ids) == text


def test_special_tokens_decode_and_skip(folder, hf):
    _, tok = folder
    eot = tok.special_tokens["<|endoftext|>"]
    assert hf.convert_tokens_to_ids("<|endoftext|>") == eot and "<|endoftext|>" in hf.all_special_tokens
    ids = hf(TEXT)["input_ids"]
    assert eot in ids
    assert hf.decode(ids, skip_special_tokens=True) == tok.decode(ids, skip_special_tokens=True) == \
        TEXT.replace("<|endoftext|>", "")
    assert hf.convert_ids_to_tokens(ids) == [tok.id_to_token(i) for i in ids]
    assert len(hf) == tok.vocab_size == len(hf.get_vocab())


def test_batches_pad_and_truncate(folder, hf):
    _, tok = folder
    hf.pad_token = "<|endoftext|>"
    texts = ["Kitaplarımızı okuduk.", "ev", "İstanbul'da 2024 yılında"]
    want = tok.encode_batch(texts)
    batch = hf(texts, padding=True)
    longest = max(map(len, want))
    pad = tok.special_tokens["<|endoftext|>"]
    assert batch["input_ids"] == [w + [pad] * (longest - len(w)) for w in want]
    assert batch["attention_mask"] == [[1] * len(w) + [0] * (longest - len(w)) for w in want]
    short = hf(texts, truncation=True, max_length=3)["input_ids"]
    assert short == [w[:3] for w in want]


def test_save_pretrained_and_reload(folder, hf, tmp_path):
    _, tok = folder
    hf.save_pretrained(str(tmp_path))
    assert (tmp_path / "tokforge.json").is_file() and (tmp_path / "tokforge_tokenizer.py").is_file()
    again = AutoTokenizer.from_pretrained(str(tmp_path), trust_remote_code=True)
    docs = _documents()[:300]
    assert again(docs)["input_ids"] == tok.encode_batch(docs)
    assert tokforge.Tokenizer.load(tmp_path).encode(TEXT) == tok.encode(TEXT)


def test_registered_class_needs_no_trust_remote_code(folder):
    out, tok = folder
    import tokforge.hf
    tokforge.hf.register()
    loaded = AutoTokenizer.from_pretrained(str(out))
    assert isinstance(loaded, tokforge.hf.TokforgeTokenizer) and loaded(TEXT)["input_ids"] == tok.encode(TEXT)
    config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["auto_map"] == {"AutoTokenizer": ["tokforge_tokenizer.TokforgeTokenizer", None]}


def test_without_tokforge_installed_the_error_says_how_to_install_it(folder, tmp_path):
    out, _ = folder
    code = f"""
import importlib.abc, sys
class NoTokforge(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "tokforge":
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, NoTokforge())
from transformers import AutoTokenizer
AutoTokenizer.from_pretrained({str(out)!r}, trust_remote_code=True)
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode != 0 and "pip install tokforge" in result.stderr, result.stderr[-2000:]
