"""`tokforge eval` and `tokforge compare` end to end: tables, CSV, JSON, PNG plots, HF tokenizer.json input."""
import csv
import io
import json
import sys

import pytest
from click.testing import CliRunner

from tokforge.cli import main
from tokforge.eval.adapters import load_tokenizer
from tokforge.eval.evaluate import Options, evaluate

from handmade import hand_tokenizer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A two-domain corpus, a tokforge model folder, a WordPiece tokenizer.json and a gold file."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    root = tmp_path_factory.mktemp("eval")
    (root / "corpus" / "tr").mkdir(parents=True)
    (root / "corpus" / "en").mkdir()
    (root / "corpus" / "tr" / "a.txt").write_text("evler ev kitaplar 1234567\n" * 20, encoding="utf-8")
    (root / "corpus" / "en" / "a.txt").write_text("the houses and 42 books\n" * 20, encoding="utf-8")
    hand_tokenizer([("e", "v"), ("l", "e"), ("le", "r")]).tok.save(root / "hand")
    vocab = {"[UNK]": 0, "ev": 1, "##ler": 2, "kitap": 3, "##lar": 4, "the": 5, "houses": 6, "and": 7}
    wp = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    wp.pre_tokenizer = pre_tokenizers.Whitespace()
    wp.save(str(root / "wordpiece.json"))
    (root / "gold.tsv").write_text("evler\tev ler\nkitaplar\tkitap lar\n", encoding="utf-8")
    return root


def test_eval_prints_tables_and_writes_csv_json_and_plots(runner, files, tmp_path):
    result = runner.invoke(main, ["eval", str(files / "hand"), str(files / "wordpiece.json"), "--name", "hand",
                                  "--name", "wp", "--corpus", str(files / "corpus"), "--gold", str(files / "gold.tsv"),
                                  "--csv", str(tmp_path / "r.csv"), "--json", str(tmp_path / "r.json"),
                                  "--plots", str(tmp_path / "plots"), "-q"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Per domain" in out and "Morphology" in out and "bytes/tok" in out
    table = out.split("Per domain\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[:2] for line in table[1:]] == [["en", "hand"], ["en", "wp"], ["tr", "hand"], ["tr", "wp"],
                                                        ["ALL", "hand"], ["ALL", "wp"]]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8"))))
    assert sum(r["table"] == "domains" for r in rows) == 6 and sum(r["table"] == "morphology" for r in rows) == 2
    tr_wp = next(r for r in rows if r["table"] == "domains" and r["domain"] == "tr" and r["tokenizer"] == "wp")
    # "evler ev kitaplar 1234567": ev ##ler | ev | kitap ##lar | [UNK]: 6 tokens, 4 words, 2 continued
    assert (tr_wp["tokens"], tr_wp["words"], float(tr_wp["continued_words"])) == ("120", "80", 0.5)
    assert tr_wp["non_unique"] == ""  # WordPiece tokens have no byte spelling: not measured
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [t["name"] for t in report["tokenizers"]] == ["hand", "wp"]
    assert report["tokenizers"][1]["kind"] == "hf" and report["tokenizers"][1]["vocab_size"] == 8
    morph = {m["tokenizer"]: m for m in report["morphology"]}
    assert morph["wp"]["boundary_f1"] == 1.0 and morph["wp"]["pure_tokens"] == 1.0
    for name in ("bytes_per_token.png", "fertility.png"):
        assert (tmp_path / "plots" / name).read_bytes().startswith(PNG_MAGIC)
    assert not list((tmp_path / "plots").glob(".*.tmp"))


def test_text_lost_to_unknown_tokens_is_reported_and_lossy_rows_marked(runner, files, tmp_path):
    result = runner.invoke(main, ["eval", str(files / "hand"), str(files / "wordpiece.json"), "--name", "hand",
                                  "--name", "wp", "--corpus", str(files / "corpus"), "--csv", str(tmp_path / "r.csv"),
                                  "--json", str(tmp_path / "r.json"), "--plots", str(tmp_path / "p"), "-q"])
    assert result.exit_code == 0, result.output
    # tr "evler ev kitaplar 1234567\n": [UNK] for 1234567 (7 of 26 bytes); en "the houses and 42 books\n":
    # [UNK] for 42 and books (7 of 24 bytes); the hand-made byte-level model loses nothing
    lost = {"tr": 7 / 26, "en": 7 / 24, "ALL": 14 / 50}
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    for row in report["domains"]:
        expected = lost[row["domain"]] if row["tokenizer"] == "wp" else 0.0
        assert row["unknown_share"] == pytest.approx(expected) and row["lossy"] == (row["tokenizer"] == "wp")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8"))))
    assert {(r["tokenizer"], r["lossy"]) for r in rows if r["table"] == "domains"} == {("hand", "False"), ("wp", "True")}
    table = result.output.split("Per domain\n")[1].split("\n\n")[0].splitlines()
    assert "lost (unk)" in table[0]
    for line in table[1:]:
        cells = line.split()
        assert cells[2] == ("26.9%" if cells[:2] == ["tr", "wp"] else "29.2%" if cells[:2] == ["en", "wp"] else
                            "28.0%" if cells[:2] == ["ALL", "wp"] else "0.0%")
        assert cells[3].endswith("!") == (cells[1] == "wp") and cells[4].endswith("!") == (cells[1] == "wp")
    assert "! marks such lossy rows" in result.output
    alone = runner.invoke(main, ["eval", str(files / "hand"), "--corpus", str(files / "corpus"), "-q"])
    assert "lost (unk)" not in alone.output and "!" not in alone.output  # nothing lost: nothing shown


def test_hf_tokenizer_json_of_a_tokforge_model_measures_the_same(files):
    native = load_tokenizer(files / "hand")
    via_hf = load_tokenizer(files / "hand" / "tokenizer.json", name="hf")
    assert (native.kind, via_hf.kind) == ("tokforge", "hf")
    report = evaluate([native, via_hf], [files / "corpus"], Options())
    by_tok = {}
    for r in report.rows:
        by_tok.setdefault(r.pop("tokenizer"), []).append(r)
    assert by_tok["hand"] == by_tok["hf"]


def test_sweep_trains_and_plots_compression_against_vocab_size(runner, files, tmp_path):
    result = runner.invoke(main, ["eval", "--corpus", str(files / "corpus"), "--sweep", "280,270,1000",
                                  "--json", str(tmp_path / "r.json"), "--plots", str(tmp_path / "p"), "-q"])
    assert result.exit_code == 0, result.output
    assert "Vocabulary sweep" in result.output
    sweep = json.loads((tmp_path / "r.json").read_text())["sweep"]
    assert sorted({(r["requested_vocab_size"], r["domain"]) for r in sweep}) == [
        (270, "ALL"), (270, "en"), (270, "tr"), (280, "ALL"), (280, "en"), (280, "tr"),
        (1000, "ALL"), (1000, "en"), (1000, "tr")]
    reached = {r["requested_vocab_size"]: r["vocab_size"] for r in sweep}
    assert reached[270] == 270 and reached[280] == 280 and reached[1000] < 1000  # the tiny corpus runs out of pairs
    bpt = {(r["vocab_size"], r["domain"]): r["bytes_per_token"] for r in sweep}
    assert bpt[(280, "ALL")] > bpt[(270, "ALL")]
    assert (tmp_path / "p" / "sweep.png").read_bytes().startswith(PNG_MAGIC)


def test_premium_and_wordlist_from_the_cli(runner, files, tmp_path):
    (tmp_path / "par").mkdir()
    (tmp_path / "par" / "en.txt").write_text("ab\nc\n", encoding="utf-8")
    (tmp_path / "par" / "tr.txt").write_text("abcd\nef\n", encoding="utf-8")
    (tmp_path / "words.txt").write_text("ev\n", encoding="utf-8")
    result = runner.invoke(main, ["eval", str(files / "hand"), "--parallel", str(tmp_path / "par"),
                                  "--corpus", str(files / "corpus" / "tr"), "--wordlist", str(tmp_path / "words.txt"),
                                  "--json", str(tmp_path / "r.json"), "-q"])
    assert result.exit_code == 0, result.output
    assert "Token premium on parallel text (relative to en)" in result.output and "valid words" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert {r["language"]: r["premium"] for r in report["premium"]} == {"en": 1.0, "tr": 2.0}
    # distinct letter tokens of "evler ev kitaplar 1234567": ev, ler, k, i, t, a, p, l, r; only "ev" is listed
    assert report["domains"][0]["valid_word_tokens"] == pytest.approx(1 / 9)


def test_wordlist_language_folds_the_dotted_capital_i(runner, files, tmp_path):
    # the token "i" of "kitaplar" is the listed "İ" only with Turkish folding (casefold gives "i̇")
    (tmp_path / "words.txt").write_text("İ\n", encoding="utf-8")
    shares = {}
    for language in ([], ["--wordlist-language", "tr"], ["--language", "tr"]):
        result = runner.invoke(main, ["eval", str(files / "hand"), "--corpus", str(files / "corpus" / "tr"),
                                      "--wordlist", str(tmp_path / "words.txt"), *language,
                                      "--json", str(tmp_path / "r.json"), "-q"])
        assert result.exit_code == 0, result.output
        report = json.loads((tmp_path / "r.json").read_text())
        shares[tuple(language)] = report["domains"][0]["valid_word_tokens"]
        assert report["options"]["wordlist_language"] == (language[1] if language else None)
    assert shares[()] == 0.0 and shares[("--wordlist-language", "tr")] == pytest.approx(1 / 9)
    assert shares[("--language", "tr")] == shares[("--wordlist-language", "tr")]
    bad = runner.invoke(main, ["eval", str(files / "hand"), "--corpus", str(files / "corpus" / "tr"),
                               "--wordlist", str(tmp_path / "words.txt"), "--wordlist-language", "de"])
    assert bad.exit_code == 2 and "'tr', 'az'" in bad.output


def test_compare_shows_the_words_cut_differently(runner, files):
    result = runner.invoke(main, ["compare", str(files / "hand"), str(files / "wordpiece.json"),
                                  "--text", "evler ev kitaplar"])
    assert result.exit_code == 0, result.output
    out = result.output
    # hand: ev|ler, ev, k|i|t|a|p|l|a|r; wordpiece: ev|ler, ev, kitap|lar -> one word differs
    assert "words cut differently: 1 (33.3%)" in out
    assert "k|i|t|a|p|l|a|r" in out and "kitap|lar" in out and "ev|ler" not in out


def test_compare_reads_a_file(runner, files, tmp_path):
    (tmp_path / "t.txt").write_text("evler\n", encoding="utf-8")
    result = runner.invoke(main, ["compare", str(files / "hand"), str(files / "hand"), "--text", str(tmp_path / "t.txt")])
    assert result.exit_code == 0, result.output
    assert "text: 6 bytes, 1 words" in result.output and "words cut differently: 0" in result.output
    long_text = "kitap " * 100  # not a file name (too long for one): the text itself
    result = runner.invoke(main, ["compare", str(files / "hand"), str(files / "hand"), "--text", long_text])
    assert result.exit_code == 0 and "100 words" in result.output


def test_clear_errors(runner, files, tmp_path, monkeypatch):
    result = runner.invoke(main, ["eval", str(files / "hand")])
    assert result.exit_code != 0 and "give --corpus, --gold or --parallel" in result.output
    result = runner.invoke(main, ["eval", str(tmp_path / "nothing"), "--corpus", str(files / "corpus")])
    assert result.exit_code != 0 and "no tokforge.json or tokenizer.json" in result.output
    result = runner.invoke(main, ["eval", "--corpus", str(files / "corpus"), "--sweep", "2k"])
    assert result.exit_code != 0 and "separated by commas" in result.output
    assert "Traceback" not in result.output
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    result = runner.invoke(main, ["eval", str(files / "hand"), "--corpus", str(files / "corpus"),
                                  "--plots", str(tmp_path / "p"), "-q"])
    assert result.exit_code != 0 and 'pip install "tokforge[plot]"' in result.output
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    result = runner.invoke(main, ["eval", str(files / "wordpiece.json"), "--corpus", str(files / "corpus"), "-q"])
    assert result.exit_code != 0 and 'pip install "tokforge[hf]"' in result.output
