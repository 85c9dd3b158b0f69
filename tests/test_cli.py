"""The command line, driven through click's CliRunner."""
import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tokforge.cli import main

from conftest import CORPORA


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def trained_dir(runner, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "out"
    result = runner.invoke(main, ["train", str(CORPORA / "tr"), str(CORPORA / "en"), "--vocab-size", "700",
                                  "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "bytes/token" in result.output and "unique" in result.output
    return out


def test_train_writes_native_and_hf_files(trained_dir):
    names = sorted(p.name for p in trained_dir.iterdir())
    assert names == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "tokforge.json"]
    native = json.loads((trained_dir / "tokforge.json").read_text(encoding="utf-8"))
    assert len(native["vocab"]) == 700 and native["training"]["config"]["vocab_size"] == 700
    assert native["training"]["held_out"]["bytes_per_token"] > 1.5


def test_encode_decode_round_trip(runner, trained_dir):
    text = "Merhaba dünya! Çok güzel. 1234567"
    ids = runner.invoke(main, ["encode", str(trained_dir), text]).output.split()
    assert ids and all(i.isdigit() for i in ids)
    out = runner.invoke(main, ["decode", str(trained_dir), *ids])
    assert out.exit_code == 0 and out.output == text
    tokens = runner.invoke(main, ["encode", str(trained_dir), "--tokens", " dünya"]).output
    assert "Ġ" in tokens


def test_encode_reads_stdin_and_file(runner, trained_dir, tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("kitaplar\n", encoding="utf-8")
    a = runner.invoke(main, ["encode", str(trained_dir), "--file", str(f)]).output
    b = runner.invoke(main, ["encode", str(trained_dir)], input="kitaplar\n").output
    assert a == b and a.strip()


def test_export_reproduces_the_hf_files(runner, trained_dir, tmp_path):
    result = runner.invoke(main, ["export", str(trained_dir / "tokforge.json"), "-o", str(tmp_path / "hf")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "hf" / "tokenizer.json").read_text() == (trained_dir / "tokenizer.json").read_text()


def test_info(runner, trained_dir):
    out = runner.invoke(main, ["info", str(trained_dir)]).output
    assert "vocab_size" in out and "700" in out
    doc = json.loads(runner.invoke(main, ["info", str(trained_dir), "--json"]).output)
    assert doc["vocab_size"] == 700 and doc["special_tokens"] == {"<|endoftext|>": 0}


def test_invalid_utf8_strict_names_file_and_offset_then_replace_works(runner, tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "good.txt").write_text("hello world\n" * 50, encoding="utf-8")
    (corpus / "bad.txt").write_bytes(b"fine line\nab\xffcd\n")
    out = tmp_path / "out"
    result = runner.invoke(main, ["train", str(corpus), "--vocab-size", "300", "-o", str(out), "-q"])
    assert result.exit_code != 0
    assert "bad.txt" in result.output and "12" in result.output  # b"fine line\n" is 10 bytes, then "ab"
    assert "Traceback" not in result.output and not out.exists()
    result = runner.invoke(main, ["train", str(corpus), "--vocab-size", "300", "-o", str(out), "-q",
                                  "--errors", "replace"])
    assert result.exit_code == 0, result.output
    assert "replaced 1" in result.output


@pytest.mark.parametrize("args, message", [
    (["--vocab-size", "100"], "at least 257"),
    (["--pattern", "(unclosed"], "regex"),
    (["--normalizer", "nfx"], "nfx"),
    (["--min-frequency", "0"], "min_frequency"),
])
def test_bad_options_fail_clearly_and_write_nothing(runner, tmp_path, args, message):
    out = tmp_path / "out"
    result = runner.invoke(main, ["train", str(CORPORA / "en"), "-o", str(out), "-q", *args])
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output and not out.exists()


def test_missing_corpus_and_model_fail_clearly(runner, tmp_path):
    result = runner.invoke(main, ["train", str(tmp_path / "nope"), "-o", str(tmp_path / "o"), "-q"])
    assert result.exit_code != 0 and "nope" in result.output and "Traceback" not in result.output
    result = runner.invoke(main, ["encode", str(tmp_path / "nomodel"), "x"])
    assert result.exit_code != 0 and "nomodel" in result.output


def test_decode_rejects_bad_ids(runner, trained_dir):
    result = runner.invoke(main, ["decode", str(trained_dir), "12", "abc"])
    assert result.exit_code != 0 and "abc" in result.output
    result = runner.invoke(main, ["decode", str(trained_dir), "999999"])
    assert result.exit_code != 0 and "999999" in result.output and "Traceback" not in result.output


def test_help_explains_every_option(runner):
    out = runner.invoke(main, ["train", "--help"]).output
    for option in ["--vocab-size", "--min-frequency", "--special-token", "--max-token-length", "--normalizer",
                   "--pattern", "--digits", "--text-field", "--errors", "--held-out", "--seed"]:
        assert option in out


def test_train_superbpe(runner, tmp_path):
    out = tmp_path / "sb"
    result = runner.invoke(main, ["train", str(CORPORA / "en"), "--algo", "superbpe", "--vocab-size", "900",
                                  "--transition", "0.6", "--max-words", "2", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "superbpe   stage 1 up to 540 tokens" in result.output
    native = json.loads((out / "tokforge.json").read_text(encoding="utf-8"))
    assert native["pretokenizer"]["pattern"] == "superword" and len(native["vocab"]) == 900
    bad = runner.invoke(main, ["train", str(CORPORA / "en"), "--algo", "superbpe", "--transition", "x", "-o",
                               str(out)])
    assert bad.exit_code != 0 and "neither a vocabulary size" in bad.output


@pytest.mark.parametrize("options, label", [
    ([], "bpe (byte-level)"),
    (["--algo", "superbpe", "--transition", "0.8"], "superbpe (byte-level BPE with superword tokens that cross spaces)"),
    (["--algo", "unigram"], "unigram (byte-level)"),
    (["--algo", "unigram", "--pattern", "metaspace"],
     "unigram (sentencepiece-style metaspace: '▁' for spaces, byte fallback)"),
    (["--algo", "morph"], "morph (root-affix stage + byte-level BPE fallback)"),
])
def test_info_names_the_kind_of_model(runner, tmp_path, options, label):
    out = tmp_path / "m"
    result = runner.invoke(main, ["train", str(CORPORA / "tr"), "--vocab-size", "600", "-o", str(out), "-q", *options])
    assert result.exit_code == 0, result.output
    for model in [out] + ([out / "tokenizer.json"] if (out / "tokenizer.json").exists() else []):
        info = json.loads(runner.invoke(main, ["info", str(model), "--json"]).output)
        assert info["algorithm"] == label  # also from the tokenizer.json alone (no training report)
    assert f"algorithm            {label}" in runner.invoke(main, ["info", str(out)]).output


def test_info_of_a_model_with_an_edited_training_report(runner, trained_dir, tmp_path):
    doc = json.loads((trained_dir / "tokforge.json").read_text(encoding="utf-8"))
    doc["training"] = {"corpus": {"bytes": "many"}}
    (tmp_path / "tokforge.json").write_text(json.dumps(doc), encoding="utf-8")
    result = runner.invoke(main, ["info", str(tmp_path)])
    assert result.exit_code == 0 and "the report in the model file is incomplete" in result.output


CLI = [sys.executable, "-c", "from tokforge.cli import main; main(prog_name='tokforge')"]


def test_train_ignores_a_fifo_in_the_corpus_folder(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPORA / "tr", corpus)
    os.mkfifo(corpus / "incoming.txt")   # opened to read, it would block until a writer comes
    run = subprocess.run(CLI + ["train", str(corpus), "--vocab-size", "400", "-o", str(tmp_path / "out"), "-q"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"ignored    1 files (unknown extension, or not a regular file): {corpus / 'incoming.txt'}" in run.stdout
    native = json.loads((tmp_path / "out" / "tokforge.json").read_text(encoding="utf-8"))
    assert native["training"]["corpus"]["ignored_files"] == [str(corpus / "incoming.txt")]


def test_train_on_a_fifo_named_explicitly_is_a_clear_error(tmp_path):
    fifo = tmp_path / "incoming.txt"
    os.mkfifo(fifo)
    run = subprocess.run(CLI + ["train", str(fifo), "-o", str(tmp_path / "out")], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 1
    assert run.stderr.strip() == (f"Error: {fifo} is a FIFO (named pipe), not a regular file: tokforge measures, "
                                  "seeks in and re-reads corpus files, which it cannot do here, so it does not open "
                                  "it. Save the text to a file and pass that file.")
    assert not (tmp_path / "out").exists()


def test_a_command_freezes_the_objects_left_out_of_the_last_collections_at_exit(trained_dir):
    # a handler registered before the command runs after the CLI's own (atexit runs them last in, first out)
    code = ("import atexit, gc, sys; atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0)); "
            "from tokforge.cli import main; main(prog_name='tokforge')")
    run = subprocess.run([sys.executable, "-c", code, "info", str(trained_dir)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.rstrip().endswith("frozen at exit: True") and "vocab" in run.stdout.lower()
