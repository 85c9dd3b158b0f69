"""SuperBPE: the superword split, the word cap, the boundaries, and T = N being plain BPE."""
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tokforge
from tokforge.errors import ConfigError
from tokforge.text.pretokenizers import Pretokenizer

from conftest import CORPORA
from reference import reference_words

SENTENCE_END = ".!?;:\u3002\uff01\uff1f\uff1b\uff1a"
texts = st.lists(st.sampled_from(list("ab Z\t\n\r.!?;:,'-\u3002\uff01\u00a0\u2028é雨") + ["12", "345", "by the"]),
                 max_size=40).map("".join)


def superword_piece_ok(piece: str) -> bool:
    """The boundary rules of the superword preset, written independently of its regex."""
    if re.fullmatch(r"[\r\n]+", piece) or re.fullmatch(r"\d{1,3}", piece):
        return True
    if any(c in "\r\n" or c.isdigit() for c in piece):
        return False
    # sentence punctuation followed by whitespace may only end a piece
    return not any(c in SENTENCE_END and piece[i + 1].isspace() for i, c in enumerate(piece[:-1]))


@settings(max_examples=500, deadline=None)
@given(texts)
def test_superword_split_keeps_the_boundaries(text):
    pieces = Pretokenizer("superword").split(text)
    assert "".join(pieces) == text
    assert all(superword_piece_ok(p) for p in pieces), pieces
    # maximal: two neighbours could not be one piece under the same rules
    for left, right in zip(pieces, pieces[1:]):
        joined_ok = superword_piece_ok(left + right) and not re.fullmatch(r"\d+", left + right)
        assert not joined_ok or (left[-1] in SENTENCE_END and right[0].isspace()), (left, right)


@pytest.fixture(scope="module")
def superbpe():
    return tokforge.train(str(CORPORA), vocab_size=2000, algo="superbpe", transition=1200, max_words=3,
                          held_out=0.0)


def test_superwords_are_learned_and_capped(superbpe):
    learned = superbpe.model.vocab[1200:]
    multiword = [t for t in learned if reference_words(t) >= 2]
    assert len(multiword) > 20
    assert max(reference_words(t) for t in superbpe.model.vocab) <= 3
    assert superbpe.model.vocab[:1200] == tokforge.train(str(CORPORA), vocab_size=1200, held_out=0.0).model.vocab


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts)
def test_tokens_respect_the_boundaries_and_round_trip(superbpe, text):
    ids = superbpe.encode(text)
    assert superbpe.decode(ids) == text
    for i in ids:
        token = superbpe.model.vocab[i].decode("utf-8", errors="replace")
        assert reference_words(superbpe.model.vocab[i]) <= 3
        assert ("\n" not in token and "\r" not in token) or not token.strip("\r\n")
        assert not any(c in SENTENCE_END and token[k + 1].isspace() for k, c in enumerate(token[:-1]))


def test_transition_equal_to_vocab_size_is_plain_bpe(corpus_files):
    plain = tokforge.train(str(CORPORA), vocab_size=1000)
    same = tokforge.train(str(CORPORA), vocab_size=1000, algo="superbpe", transition=1000)
    assert same.model.vocab == plain.model.vocab and same.model.merges == plain.model.merges
    assert same.pretokenizer == plain.pretokenizer
    text = corpus_files[0].read_text(encoding="utf-8")[:5000]
    assert same.encode(text) == plain.encode(text)


def test_transition_errors():
    with pytest.raises(ConfigError, match="transition"):
        tokforge.train(str(CORPORA), vocab_size=1000, algo="superbpe", transition=5000)
    with pytest.raises(ConfigError, match="max_words"):
        tokforge.train(str(CORPORA), vocab_size=1000, algo="superbpe", max_words=0)


@pytest.mark.parametrize("workers, expected", [(0, 6), (3, 3), (9, 6)])
def test_the_second_count_takes_the_cores_stage_one_leaves(monkeypatch, workers, expected):
    """With 8 cores and stage 1 on 2, the stage-2 count gets at most the 6 left, and at most
    ``workers`` (0 = every core it may take); the first count keeps the config's ``workers``."""
    from tokforge import training
    from tokforge.models import superbpe
    seen = []
    real = training.count_corpus

    def spy(source, config, **options):
        seen.append((options.get("pattern"), options.get("workers")))
        return real(source, config, **options)
    monkeypatch.setattr(training, "count_corpus", spy)
    monkeypatch.setattr(superbpe, "available_cores", lambda: 8)
    monkeypatch.setattr(superbpe, "training_threads", lambda: 2)
    tokforge.train(str(CORPORA / "en"), vocab_size=600, algo="superbpe", transition=500, workers=workers)
    assert seen[0][1] is None and seen[1] == (Pretokenizer("superword").pattern, expected)
