"""A vocabulary that stops short of the size asked for is reported: requested, reached and why
(training report in tokforge.json, notice on the command line)."""
import json

import pytest
from click.testing import CliRunner

import tokforge
from tokforge.cli import main
from tokforge.counting.words import WordCounts
from tokforge.models.bpe_trainer import train_bpe

from conftest import CORPORA

SMALL = str(CORPORA / "el")  # 16 KB: runs out of pairs long before 100,000 tokens


def test_bpe_short_of_the_size_asked_for_says_why():
    tok = tokforge.train(SMALL, vocab_size=100_000, held_out=0)
    vocab = tok.training["vocab"]
    assert vocab["requested"] == 100_000 and vocab["reached"] == tok.vocab_size < 100_000
    assert "the most frequent pair left occurs 1 time, fewer than min_frequency=2" in vocab["stopped"]


def test_a_vocabulary_of_the_size_asked_for_has_no_reason():
    tok = tokforge.train(SMALL, vocab_size=400, held_out=0)
    assert tok.training["vocab"] == {"requested": 400, "reached": 400, "stopped": None}


@pytest.mark.parametrize("options, reason", [
    ({"min_frequency": 1}, "no pair of tokens is left to merge: every word of the corpus is already one token"),
    ({"min_frequency": 1, "max_token_length": 3}, "every pair left would make a token beyond max_token_length=3"),
    ({"min_frequency": 1, "max_words": 1}, "every pair left would make a token beyond max_words=1"),
    ({"min_frequency": 5}, "occurs 4 times, fewer than min_frequency=5"),
])
def test_train_bpe_names_what_stopped_it(options, reason):
    counts = WordCounts.from_dict({"abcd": 4, "ab cd": 4})
    report: dict = {}
    model = train_bpe(counts, 400, report=report, **options)
    assert len(model.vocab) < 400 and reason in report["stopped"]


def test_superbpe_and_morph_report_it_too():
    sb = tokforge.train(SMALL, algo="superbpe", vocab_size=100_000, transition=90_000, held_out=0)
    assert sb.training["vocab"]["reached"] < 100_000 and "min_frequency=2" in sb.training["vocab"]["stopped"]
    assert "min_frequency=2" in sb.training["superbpe"]["stage1_stopped"]  # stage 1 too fell short of t
    morph = tokforge.train(str(CORPORA / "tr"), algo="morph", vocab_size=100_000, held_out=0)
    assert morph.training["vocab"]["reached"] < 100_000 and "min_frequency=2" in morph.training["vocab"]["stopped"]


def test_cli_notice_and_the_saved_report(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["train", SMALL, "--vocab-size", "10000000", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    reached = json.loads((out / "tokforge.json").read_text(encoding="utf-8"))["training"]["vocab"]["reached"]
    assert f"notice: the vocabulary has {reached:,} tokens, not the 10,000,000 asked for: the most frequent " \
           "pair left occurs 1 time, fewer than min_frequency=2" in result.stderr
    assert "short of the 10,000,000 asked for" in result.stdout
    info = CliRunner().invoke(main, ["info", str(out)])
    assert "short of the 10,000,000 asked for" in info.output
    exact = CliRunner().invoke(main, ["train", SMALL, "--vocab-size", "400", "-o", str(tmp_path / "b"), "-q"])
    assert exact.exit_code == 0 and "notice" not in exact.stderr and "short of" not in exact.stdout
