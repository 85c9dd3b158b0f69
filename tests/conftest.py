"""Shared fixtures: small tokenizers trained once per session on the shipped corpus."""
from pathlib import Path

import pytest

import tokforge

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "corpora"

# pipelines exercised by the parity tests: (name, options)
PIPELINES = {
    "default": {},
    "gpt2-nfc-rtl3": {"pattern": "gpt2", "normalizer": ("nfc",), "digits": "rtl3",
                      "special_tokens": ("<|endoftext|>", "<pad>", "<|im_start|>")},
    "o200k-lower-single": {"pattern": "o200k", "normalizer": ("lowercase",), "digits": "single"},
    "whitespace-nfkc-ltr3": {"pattern": "whitespace", "normalizer": ("nfkc",), "digits": "ltr3",
                             "special_tokens": ()},
    # sentencepiece's default normalization (lossy): NFKC, whitespace runs collapsed, ends stripped
    "cl100k-nfkc-collapse": {"normalizer": ("nfkc", "collapse_whitespace")},
    "superbpe-rtl3": {"algo": "superbpe", "transition": 900, "digits": "rtl3", "max_words": 3,
                      "special_tokens": ("<|endoftext|>", "<pad>")},
    "o200k-single-tst-marker": {"pattern": "o200k", "digits": "single", "numbers": "tst-marker"},
}


@pytest.fixture(scope="session")
def corpus_files():
    return sorted(CORPORA.rglob("*.txt"))


@pytest.fixture(scope="session", params=list(PIPELINES))
def trained(request, tmp_path_factory):
    """(tokforge tokenizer, folder with its saved files), one per pipeline."""
    tok = tokforge.train(str(CORPORA), vocab_size=1500, **PIPELINES[request.param])
    folder = tmp_path_factory.mktemp(request.param)
    tok.save(folder)
    return tok, folder


@pytest.fixture(scope="session")
def default_trained(tmp_path_factory):
    tok = tokforge.train(str(CORPORA), vocab_size=1500)
    folder = tmp_path_factory.mktemp("default")
    tok.save(folder)
    return tok, folder
