"""Special tokens safe by default where it matters: tiktoken's allowed_special/disallowed_special in
encode, documents as data in the stochastic encoder and shards, special-token text in training data."""
import pytest

import tokforge
from tokforge.counting.feed import feed, pipeline_stages
from tokforge.config import TrainConfig
from tokforge.errors import InputError
from tokforge.sampling.stochastic import Sampling, StochasticEncoder

from conftest import CORPORA

EOT = "<|endoftext|>"


@pytest.fixture(scope="module")
def tok():
    return tokforge.train(str(CORPORA / "en"), vocab_size=600, special_tokens=(EOT, "<pad>"))


def test_encode_defaults_to_transformers_and_takes_tiktoken_options(tok):
    text = f"a{EOT}b<pad>"
    eot, pad = tok.token_to_id(EOT), tok.token_to_id("<pad>")
    as_text = tok.encode(text, allowed_special=set())
    assert tok.encode(text) == tok.encode(text, allowed_special="all")
    assert eot in tok.encode(text) and pad in tok.encode(text)
    assert eot not in as_text and pad not in as_text and tok.decode(as_text) == text
    only_eot = tok.encode(text, allowed_special={EOT})
    assert eot in only_eot and pad not in only_eot and tok.decode(only_eot) == text
    with pytest.raises(InputError, match="<pad>"):
        tok.encode(text, allowed_special={EOT}, disallowed_special="all")
    with pytest.raises(InputError, match=r"'<\|endoftext\|>'"):  # tiktoken's safe default
        tok.encode(text, allowed_special=set(), disallowed_special="all")
    assert tok.encode("plain", allowed_special=set(), disallowed_special="all") == tok.encode("plain")
    with pytest.raises(InputError, match="not a special token"):
        tok.encode(text, allowed_special={"<nope>"})


def test_stochastic_encoder_reads_documents_as_text_unless_told(tok):
    texts = [f"one{EOT}two " * 50, "plain text " * 500]
    eot = tok.token_to_id(EOT)
    for sampling in (Sampling(), Sampling(stochastok=0.1), Sampling(dropout=0.1)):
        safe = StochasticEncoder(tok, sampling, seed=1).encode_batch(texts)
        assert all(eot not in ids.tolist() for ids in safe)
        assert tok.decode(safe[0]) == texts[0]
        control = StochasticEncoder(tok, sampling, seed=1, allowed_special="all").encode_batch(texts)
        assert control[0].tolist().count(eot) == 50
    plain = StochasticEncoder(tok).encode_batch(texts)
    assert [ids.tolist() for ids in plain] == [tok.encode(t, allowed_special=set()) for t in texts]


def test_training_cuts_special_token_text_out_of_the_corpus(tmp_path):
    (tmp_path / "a.txt").write_text(f"alpha{EOT}beta\n{EOT}{EOT} gamma\n" * 20)
    normalizer, pretokenizer, specials, numbers = pipeline_stages(TrainConfig(special_tokens=(EOT,)))
    counts = feed(tokforge.Corpus(str(tmp_path)), normalizer, pretokenizer, specials)
    words = {w.decode() for w, _ in counts.items()}
    assert words == {"alpha", "beta", "\n", " gamma"}
