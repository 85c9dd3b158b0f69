"""SuperBPE: the superword splits, the word cap, the boundaries, and T = N being plain BPE."""
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tokforge
from tokforge.errors import ConfigError
from tokforge.text.pretokenizers import PRESETS, Pretokenizer

from conftest import CORPORA
from reference import reference_words

SENTENCE_END = ".!?;:\u3002\uff01\uff1f\uff1b\uff1a"
texts = st.lists(st.sampled_from(list("ab Z\t\n\r.!?;:,'-\u3002\uff01\u00a0\u2028é雨") + ["12", "345", "by the"]),
                 max_size=40).map("".join)


def sentences_piece_ok(piece: str) -> bool:
    """The boundary rules of the superword-sentences preset, written independently of its regex."""
    if re.fullmatch(r"[\r\n]+", piece) or re.fullmatch(r"\d{1,3}", piece):
        return True
    if any(c in "\r\n" or c.isdigit() for c in piece):
        return False
    # sentence punctuation followed by whitespace may only end a piece
    return not any(c in SENTENCE_END and piece[i + 1].isspace() for i, c in enumerate(piece[:-1]))


def superword_piece_ok(piece: str) -> bool:
    """The superword preset's (the paper's): 1-3 digits, or anything without a digit."""
    return bool(re.fullmatch(r"\d{1,3}", piece)) or not any(c.isdigit() for c in piece)


def split_checked(preset: str, text: str, piece_ok) -> list[str]:
    """The preset's pieces of ``text``, checked to cover it and to keep the preset's rules."""
    pieces = Pretokenizer(preset).split(text)
    assert "".join(pieces) == text
    assert all(piece_ok(p) for p in pieces), pieces
    return pieces


@settings(max_examples=500, deadline=None)
@given(texts)
def test_superword_sentences_split_keeps_the_boundaries(text):
    pieces = split_checked("superword-sentences", text, sentences_piece_ok)
    # maximal: two neighbours could not be one piece under the same rules
    for left, right in zip(pieces, pieces[1:]):
        joined_ok = sentences_piece_ok(left + right) and not re.fullmatch(r"\d+", left + right)
        assert not joined_ok or (left[-1] in SENTENCE_END and right[0].isspace()), (left, right)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_superword_split_ends_pieces_only_at_digits(text):
    pieces = split_checked("superword", text, superword_piece_ok)
    for left, right in zip(pieces, pieces[1:]):  # maximal: digits split 1-3 from the left, nothing else
        assert left.isdigit() or right.isdigit(), (left, right)
        assert not (left.isdigit() and right.isdigit()) or len(left) == 3, (left, right)


def test_a_model_saved_with_the_earlier_superword_split_keeps_it():
    """Models trained before 'superword' became the paper's split saved their regex: they load with
    the split they were trained with (the superword-sentences scanner), not with today's preset."""
    config = {"pattern": "superword", "regex": PRESETS["superword-sentences"], "digits": "none"}
    loaded = Pretokenizer.from_config(config)
    assert loaded == Pretokenizer("superword-sentences") and loaded.has_scanner
    assert loaded.split("It works. Really\nYes") == ["It works.", " Really", "\n", "Yes"]


@pytest.fixture(scope="module", params=["superword", "superword-sentences"])
def superbpe(request):
    tok = tokforge.train(str(CORPORA), vocab_size=2000, algo="superbpe", transition=1200, max_words=3,
                         held_out=0.0, superword_pattern=request.param)
    return request.param, tok


def test_superwords_are_learned_and_capped(superbpe):
    _, superbpe = superbpe
    learned = superbpe.model.vocab[1200:]
    multiword = [t for t in learned if reference_words(t) >= 2]
    assert len(multiword) > 20
    assert max(reference_words(t) for t in superbpe.model.vocab) <= 3
    assert superbpe.model.vocab[:1200] == tokforge.train(str(CORPORA), vocab_size=1200, held_out=0.0).model.vocab


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts)
def test_tokens_respect_the_boundaries_and_round_trip(superbpe, text):
    split, superbpe = superbpe
    ids = superbpe.encode(text)
    assert superbpe.decode(ids) == text
    for i in ids:
        token = superbpe.model.vocab[i].decode("utf-8", errors="replace")
        assert reference_words(superbpe.model.vocab[i]) <= 3
        # within one piece: 1-3 digits or no digit (the texts' only numbers are ASCII digits)
        assert re.fullmatch(rb"\d{1,3}", superbpe.model.vocab[i]) or not re.search(rb"\d", superbpe.model.vocab[i])
        if split == "superword-sentences":
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


@pytest.mark.parametrize("cores, stage1_threads", [(1, 1), (2, 1), (3, 2), (8, 2)])
def test_stage_one_merges_on_the_cores_the_second_count_leaves(monkeypatch, cores, stage1_threads):
    """Stage 1 merges on at most ``training_threads()`` (2 here) threads, and not on the cores the
    stage-2 count runs on meanwhile (at least one thread); stage 2 then merges on every thread."""
    from tokforge.models import superbpe
    seen = []
    real = superbpe.train_bpe

    def spy(counts, vocab_size, **options):
        if vocab_size in (500, 600):  # not the kernels' warm-up
            seen.append((options.get("start") is None, options.get("threads")))
        return real(counts, vocab_size, **options)
    monkeypatch.setattr(superbpe, "train_bpe", spy)
    monkeypatch.setattr(superbpe, "available_cores", lambda: cores)
    monkeypatch.setattr(superbpe, "training_threads", lambda: min(2, cores))
    tokforge.train(str(CORPORA / "en"), vocab_size=600, algo="superbpe", transition=500)
    assert seen == [(True, stage1_threads), (False, None)]


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
