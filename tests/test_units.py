"""Every tokenizer's units go to encode_batch, the samplers and the shards alike (``Tokenizer.packed_units``):
for every algorithm and stage, shards at p = 0 equal encode_batch; the morph stage's root and affix tokens
are atomic under StochasTok and are never sampled by BPE-dropout or Unigram sampling."""
import numpy as np
import pytest

import tokforge
from tokforge.corpus import Corpus
from tokforge.packed import Units
from tokforge.sampling.shards import read_shards_manifest, write_shards
from tokforge.sampling.stochastic import Sampling, SplitTable, StochasticEncoder

from conftest import CORPORA

FILES = [str(CORPORA / "tr" / "denemeler_tokforge_tr.txt"), str(CORPORA / "en")]
KINDS = {
    "bpe": {"vocab_size": 800},
    "superbpe": {"algo": "superbpe", "vocab_size": 900, "transition": 700},
    "unigram": {"algo": "unigram", "vocab_size": 800},
    "metaspace": {"algo": "unigram", "pattern": "metaspace", "vocab_size": 800},
    "tst-marker": {"numbers": "tst-marker", "vocab_size": 800, "digits": "rtl3"},
    "tst-vocab": {"numbers": "tst-vocab", "vocab_size": 10500},
    "morph-bpe": {"algo": "morph", "vocab_size": 1000},
    "morph-unigram": {"algo": "morph", "morph_fallback": "unigram", "vocab_size": 1000},
    "morph-tst-vocab": {"algo": "morph", "numbers": "tst-vocab", "vocab_size": 11000, "digits": "rtl3"},
}
TEXTS = ["Kitaplarımızı İstanbul'da 1,234 kez okuduk.<|endoftext|>EVLERDE", "", "The 3rd of 12,345.5 files'",
         "ΑΘΗΝΑ'da Σ ß naïve x86"]


@pytest.fixture(scope="module", params=list(KINDS))
def tok(request):
    return tokforge.train(FILES, **KINDS[request.param])


@pytest.fixture(scope="module")
def documents():
    return list(Corpus(FILES))


def _read(folder, manifest):
    entry = manifest["folders"][0]
    ids = np.concatenate([np.load(folder / s["ids"]) for s in entry["shards"]])
    lengths = np.concatenate([np.diff(np.load(folder / s["bounds"])) for s in entry["shards"]])
    return [x.tolist() for x in np.split(ids, np.cumsum(lengths)[:-1])]


def test_shards_at_p0_equal_encode_batch(tok, documents, tmp_path):
    manifest = write_shards(Corpus(FILES), tok, tmp_path / "s", sampling=Sampling(stochastok=0.0, dropout=0.0),
                            workers=1)
    read_shards_manifest(tmp_path / "s")
    want = tok.encode_batch(documents)
    assert _read(tmp_path / "s", manifest) == want
    assert want == [tok.encode(d) for d in documents]
    assert [x.tolist() for x in StochasticEncoder(tok, Sampling(), allowed_special="all").encode_batch(TEXTS)] == \
        tok.encode_batch(TEXTS) == [tok.encode(t) for t in TEXTS]
    # by default a document's special-token text is data: encoded as text, as encode(allowed_special=set())
    assert [x.tolist() for x in StochasticEncoder(tok, Sampling()).encode_batch(TEXTS)] == \
        [tok.encode(t, allowed_special=set()) for t in TEXTS] != tok.encode_batch(TEXTS)


def test_packed_units_are_the_model_units(tok, documents):
    """The units of a batch are each text's ``model_units``: the same fixed ids, the same pieces."""
    units = tok.packed_units(documents[:200] + TEXTS)
    pieces = [units.buf[a:b] for a, b in zip(units.piece_bounds[:-1].tolist(), units.piece_bounds[1:].tolist())]
    for d, text in enumerate(documents[:200] + TEXTS):
        codes = units.codes[units.text_units[d]:units.text_units[d + 1]].tolist()
        got = [(None, c) if c >= 0 else (pieces[-1 - c], None) for c in codes]
        assert got == [(None, i) if i is not None else (p.encode(), None) for p, i in tok.model_units(text)]


def test_units_of_one_piece_per_occurrence():
    units = Units.of([[(b"ab", None), (None, 5), (b"c", None)], [(b"ab", None)]])
    each = units.occurrences()
    assert each.buf == b"abcab" and each.codes.tolist() == [-1, 5, -2, -3] and each.pieces_per_text().tolist() == [2, 1]


def _samplings(tok):
    yield Sampling(stochastok=0.5)
    yield Sampling(unigram_alpha=0.2) if tok.model.scored else Sampling(dropout=0.4)


def test_stage_tokens_stay_whole_and_in_order_when_sampling(tok, documents):
    """Special tokens, a number stage's fixed tokens and the morph stage's tokens (case markers, roots,
    affixes) are never split by StochasTok nor sampled: only the model's own tokens are."""
    fixed = set(tok.model.special_tokens.values())
    table = SplitTable.of(tok.model)
    assert all(table.splits(i) == [] for i in fixed)
    docs = documents[:300] + TEXTS
    plain = tok.encode_batch(docs)
    for sampling in _samplings(tok):
        sampled = StochasticEncoder(tok, sampling, seed=5, allowed_special="all").encode_batch(docs, epoch=1)
        assert sum(len(s) for s in sampled) > sum(map(len, plain))
        for ids, want in zip(sampled, plain):
            ids = ids.tolist()
            assert [i for i in ids if i in fixed] == [i for i in want if i in fixed]
            assert tok.decode(ids) == tok.decode(want)
