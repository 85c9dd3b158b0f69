"""Tests of tokforge.corpus: formats, folders and globs, invalid input, datasets objects, re-iteration."""
from __future__ import annotations

import gzip
import json
import os
import signal
import tempfile
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokforge.corpus import Block, Corpus, CorpusStats, compression, iter_documents
from tokforge.corpus import limits as corpus_module
from tokforge.corpus.utf8 import ERROR_POLICIES
from tokforge.errors import ConfigError, CorpusError

FILES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Any text that UTF-8 can encode (no lone surrogates).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
# One line of a text file: no "\n" inside (every other character, "\r" included, is kept as is) and no NUL,
# which would make the file look binary.
LINE_BODY = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\n\0"), max_size=40)

COMPRESS = {"": lambda data: data, ".gz": gzip.compress, ".zst": lambda data: zstandard.ZstdCompressor().compress(data)}


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(COMPRESS[path.suffix if path.suffix in (".gz", ".zst") else ""](data))
    return path


def jsonl(*records: object) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def write_parquet(path: Path, **columns: list) -> Path:
    pq.write_table(pa.table(columns), path, row_group_size=3)
    return path


def read(sources, **kwargs) -> list[str]:
    return list(Corpus(sources, **kwargs))


def text_lines(bodies: list[str], last: str) -> list[str]:
    """Lines of a text file: each ends with "\n" except perhaps a non-empty last one."""
    return [body + "\n" for body in bodies] + ([last] if last else [])


# -- round trips -------------------------------------------------------------------------------------------


@FILES
@given(bodies=st.lists(LINE_BODY, min_size=1, max_size=20), last=LINE_BODY,
       suffix=st.sampled_from([".txt", ".txt.gz", ".txt.zst", ".gz", ".log"]))
def test_text_round_trip(tmp_path, bodies, last, suffix):
    lines = text_lines(bodies, last)
    path = write(tmp_path / f"corpus{suffix}", "".join(lines).encode())
    assert read(path) == lines


@FILES
@given(docs=st.lists(TEXT, min_size=1, max_size=20), suffix=st.sampled_from([".jsonl", ".json", ".jsonl.gz", ".jsonl.zst"]),
       ascii_only=st.booleans())
def test_jsonl_round_trip(tmp_path, docs, suffix, ascii_only):
    data = b"".join(json.dumps({"id": i, "text": d}, ensure_ascii=ascii_only).encode() + b"\n" for i, d in enumerate(docs))
    path = write(tmp_path / f"corpus{suffix}", data)
    assert read(path) == docs


@FILES
@given(docs=st.lists(TEXT, min_size=1, max_size=20))
def test_parquet_round_trip(tmp_path, docs):
    path = write_parquet(tmp_path / "corpus.parquet", text=docs, other=list(range(len(docs))))
    assert read(path) == docs


def test_lines_keep_crlf_blank_lines_and_unterminated_last_line(tmp_path):
    path = write(tmp_path / "a.txt", b"one\r\n\n  two  \r\nlast")
    assert read(path) == ["one\r\n", "\n", "  two  \r\n", "last"]


def test_multi_frame_zst_is_read_entirely(tmp_path):
    compressor = zstandard.ZstdCompressor()
    (tmp_path / "a.txt.zst").write_bytes(compressor.compress(b"first\n") + compressor.compress(b"second\n"))
    assert read(tmp_path / "a.txt.zst") == ["first\n", "second\n"]


def test_jsonl_ignores_blank_lines_and_reads_another_field(tmp_path):
    path = write(tmp_path / "a.jsonl", b'{"body": "x"}\n\n   \r\n{"body": "y\\n"}\n')
    assert read(path, text_field="body") == ["x", "y\n"]


def test_stats_count_files_bytes_and_documents(tmp_path):
    plain = write(tmp_path / "a.txt", b"a\nb\n")
    packed = write(tmp_path / "b.txt.gz", b"c\n" * 1000)
    corpus = Corpus([plain, packed])
    assert len(list(corpus)) == 1002
    on_disk = plain.stat().st_size + packed.stat().st_size
    assert corpus.total_bytes == on_disk
    assert (corpus.stats.files, corpus.stats.bytes_read, corpus.stats.documents) == (2, on_disk, 1002)


def test_progress_bar_counts_raw_bytes(tmp_path, capsys):
    path = write(tmp_path / "a.txt.zst", b"hello world\n" * 5000)
    corpus = Corpus(path, progress=True, desc="testing")
    assert len(list(corpus)) == 5000
    assert corpus.stats.bytes_read == path.stat().st_size
    assert "testing" in capsys.readouterr().err


# -- folders and globs -------------------------------------------------------------------------------------


def make_tree(root: Path) -> None:
    """Files created out of order, in nested folders, with hidden and unknown-extension entries."""
    write(root / "b" / "z.txt", b"b/z\n")
    write(root / "c.jsonl", jsonl({"text": "c\n"}))
    write(root / "a" / "deep" / "y.txt.gz", b"a/deep/y\n")
    write(root / "a.txt", b"a.txt\n")
    write(root / "a" / "x.txt", b"a/x\n")
    write(root / "b" / "notes.md", b"not read\n")
    write(root / "image.png", b"\x89PNG\0\0")
    write(root / ".hidden.txt", b"hidden\n")
    write(root / ".git" / "config.txt", b"hidden folder\n")


def test_folder_is_walked_recursively_in_sorted_order(tmp_path):
    make_tree(tmp_path)
    corpus = Corpus(tmp_path)
    expected = ["a/deep/y.txt.gz", "a/x.txt", "a.txt", "b/z.txt", "c.jsonl"]
    assert [str(path.relative_to(tmp_path)) for path in corpus.files] == expected
    assert read(tmp_path) == ["a/deep/y\n", "a/x\n", "a.txt\n", "b/z\n", "c\n"]


def test_folder_reports_ignored_files_but_not_hidden_ones(tmp_path):
    make_tree(tmp_path)
    corpus = Corpus(tmp_path)
    expected = [str(tmp_path / "b" / "notes.md"), str(tmp_path / "image.png")]
    assert corpus.stats.ignored_files == expected
    list(corpus)
    assert corpus.stats.ignored_files == expected


def test_explicit_file_with_unknown_extension_is_read_as_text(tmp_path):
    make_tree(tmp_path)
    assert read(tmp_path / "b" / "notes.md") == ["not read\n"]


@contextmanager
def fails_after(seconds: int):
    """Raise TimeoutError in the block after ``seconds`` (a blocked open() of a FIFO included)."""
    def _raise(*_):
        raise TimeoutError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_fifos_devices_and_sockets_in_a_folder_are_ignored_never_opened(tmp_path):
    import socket

    (tmp_path / "a.txt").write_text("read\n", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.txt")          # opening it to read would block until a writer comes
    (tmp_path / "tty.txt").symlink_to("/dev/zero")   # a device: endless
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock.jsonl"))
    try:
        corpus = Corpus(tmp_path)
        with fails_after(10):
            assert list(corpus) == ["read\n"]
        assert corpus.stats.ignored_files == [str(tmp_path / n) for n in ("pipe.txt", "sock.jsonl", "tty.txt")]
        assert [str(p) for p in Corpus(str(tmp_path / "*.txt")).files] == [str(tmp_path / "a.txt")]
    finally:
        server.close()


def test_a_folder_of_fifos_only_holds_no_corpus_files(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    with pytest.raises(CorpusError, match=r"no corpus files in folder .*not regular files, e\.g\. .*pipe\.txt"):
        Corpus(tmp_path)


@pytest.mark.parametrize("name, kind", [("pipe.txt", "a FIFO"), ("zero", "a character device")])
def test_a_fifo_or_device_named_explicitly_is_an_error(tmp_path, name, kind):
    path = tmp_path / name
    if name == "zero":
        path = Path("/dev/zero")
    else:
        os.mkfifo(path)
    with pytest.raises(CorpusError, match=rf"^{path} is {kind}.*not a regular file.*Save the text to a file"):
        Corpus(path)


def test_glob_patterns(tmp_path):
    make_tree(tmp_path)
    assert read(str(tmp_path / "**" / "*.txt")) == ["a/x\n", "a.txt\n", "b/z\n"]
    assert read(str(tmp_path / "a" / "**")) == ["a/deep/y\n", "a/x\n"]  # folders and files matched once
    corpus = Corpus([str(tmp_path / "b" / "*"), tmp_path / "c.jsonl"])
    assert list(corpus) == ["b/z\n", "c\n"]
    assert corpus.stats.ignored_files == [str(tmp_path / "b" / "notes.md")]


def test_glob_matching_nothing_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match=r"glob pattern .*\*\.parquet.* matched no files"):
        Corpus(str(tmp_path / "*.parquet"))


def test_missing_path_is_an_error(tmp_path):
    write(tmp_path / "a.txt", b"a\n")
    with pytest.raises(CorpusError, match=r"corpus path not found: .*nope\.txt \(looked for /"):
        Corpus([tmp_path, tmp_path / "nope.txt"])


def test_folder_without_corpus_files_is_an_error(tmp_path):
    write(tmp_path / "model.bin", b"\0\1")
    write(tmp_path / ".hidden.txt", b"hidden\n")
    with pytest.raises(CorpusError, match=r"no corpus files in folder .*model\.bin.*name a file explicitly"):
        Corpus(tmp_path)


def test_invalid_options_are_config_errors(tmp_path):
    path = write(tmp_path / "a.txt", b"a\n")
    with pytest.raises(ConfigError, match="unknown errors policy 'ignore'.*strict, replace, skip"):
        Corpus(path, errors="ignore")
    with pytest.raises(ConfigError, match="no corpus sources"):
        Corpus([])
    with pytest.raises(ConfigError, match="unsupported corpus source 42"):
        Corpus([path, 42])
    assert ERROR_POLICIES == ("strict", "replace", "skip")


# -- invalid input -----------------------------------------------------------------------------------------

BAD = b"good line\nfine \xff\xfe bytes\nnext\n"
BAD_OFFSET = BAD.index(b"\xff")


@pytest.mark.parametrize("name", ["bad.txt", "bad.txt.gz", "bad.txt.zst"])
def test_strict_error_names_file_and_exact_byte_offset(tmp_path, name):
    write(tmp_path / name, BAD)
    with pytest.raises(CorpusError) as raised:
        read(tmp_path / name)
    message = str(raised.value)
    assert f"{tmp_path / name} at byte offset {BAD_OFFSET}" in message
    assert ("decompressed" in message) == (name != "bad.txt")
    assert "--errors replace" in message and "--errors skip" in message


def test_strict_error_offset_in_jsonl(tmp_path):
    data = b'{"text": "ok"}\n{"text": "caf\xe9"}\n'
    offset = data.index(b"\xe9")
    write(tmp_path / "a.jsonl", data)
    with pytest.raises(CorpusError, match=rf"a\.jsonl at byte offset {offset} \(line 2, bytes e9\)"):
        read(tmp_path / "a.jsonl")


def test_replace_substitutes_and_counts(tmp_path):
    path = write(tmp_path / "bad.txt.gz", BAD + b"\xc3\n")
    corpus = Corpus(path, errors="replace")
    assert list(corpus) == ["good line\n", "fine \ufffd\ufffd bytes\n", "next\n", "\ufffd\n"]
    assert corpus.stats.replaced_documents == 2
    assert corpus.stats.skipped_documents == 0
    assert corpus.stats.first_invalid == f"{path}:{BAD_OFFSET}"


def test_skip_drops_documents_and_counts(tmp_path):
    path = write(tmp_path / "bad.jsonl", jsonl({"text": "a"}) + b'{"text": "\xff"}\n' + jsonl({"text": "b"}))
    corpus = Corpus(path, errors="skip")
    assert list(corpus) == ["a", "b"]
    assert corpus.stats.skipped_documents == 1
    assert corpus.stats.replaced_documents == 0
    assert corpus.stats.first_invalid == f"{path}:{len(jsonl({'text': 'a'})) + 10}"


def test_lone_surrogate_escape_in_jsonl_follows_the_policy(tmp_path):
    path = write(tmp_path / "a.jsonl", b'{"text": "x\\ud800y"}\n{"text": "\\ud83d\\ude00"}\n')
    with pytest.raises(CorpusError, match="lone surrogate.*line 1"):
        read(path)
    assert read(path, errors="replace") == ["x\ufffdy", "\U0001F600"]
    assert read(path, errors="skip") == ["\U0001F600"]


def test_binary_file_is_an_error(tmp_path):
    write(tmp_path / "weights.txt.gz", b"header\n" + b"\0" * 10)
    with pytest.raises(CorpusError, match=r"weights\.txt\.gz looks binary \(NUL byte at byte offset 7 of the decompressed"):
        read(tmp_path / "weights.txt.gz")


@pytest.mark.parametrize("name, data", [
    ("a.txt.gz", gzip.compress(b"hello\n" * 1000)[:-20]),
    ("b.txt.gz", b"this is not gzip data"),
    ("c.txt.zst", zstandard.ZstdCompressor().compress(b"hello\n" * 1000)[:-5]),
    ("d.txt.zst", b"this is not zstd data"),
])
def test_corrupt_or_truncated_archive_is_an_error(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(CorpusError, match=rf"{name} is not a valid (gzip|zstd) file, or is truncated or corrupt"):
        read(tmp_path / name)


def test_corrupt_parquet_is_an_error(tmp_path):
    (tmp_path / "a.parquet").write_bytes(b"PAR1 but not really")
    with pytest.raises(CorpusError, match=r"cannot read .*a\.parquet as Parquet"):
        read(tmp_path / "a.parquet")


def test_permission_denied_message_has_the_os_reason(tmp_path, monkeypatch):
    path = write(tmp_path / "secret.txt", b"a\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(compression, "open", refuse, raising=False)
    with pytest.raises(CorpusError, match=r"cannot read .*secret\.txt: Permission denied.*permissions"):
        read(path)


def test_empty_corpus_is_an_error_at_the_end_of_iteration(tmp_path):
    write(tmp_path / "empty.txt", b"")
    write(tmp_path / "blank.jsonl", b"\n\n")
    documents = iter(Corpus(tmp_path))
    with pytest.raises(CorpusError, match=r"no text found in .*2 file\(s\) read"):
        next(documents)


def test_corpus_dropped_entirely_by_skip_is_an_error(tmp_path):
    write(tmp_path / "bad.txt", b"\xff\n")
    with pytest.raises(CorpusError, match=r"no text found.*1 document\(s\) dropped by errors='skip'"):
        read(tmp_path / "bad.txt", errors="skip")


def test_jsonl_record_errors_name_file_line_and_fix(tmp_path):
    write(tmp_path / "missing.jsonl", jsonl({"text": "a"}, {"content": "b", "id": 2}))
    with pytest.raises(CorpusError, match=r"missing\.jsonl line 2 \(byte offset 14\) has no field 'text' "
                                          r"\(available keys: content, id\).*--text-field"):
        read(tmp_path / "missing.jsonl")
    write(tmp_path / "number.jsonl", jsonl({"text": 5}))
    with pytest.raises(CorpusError, match=r"field 'text' at .*number\.jsonl line 1 .* is a JSON number"):
        read(tmp_path / "number.jsonl")
    write(tmp_path / "broken.jsonl", jsonl({"text": "a"}) + b'{"text": "b"\n')
    with pytest.raises(CorpusError, match=r"malformed JSON at .*broken\.jsonl line 2"):
        read(tmp_path / "broken.jsonl")
    write(tmp_path / "array.json", b'["a", "b"]\n')
    with pytest.raises(CorpusError, match=r"array\.json line 1 .* is a JSON array, not an object"):
        read(tmp_path / "array.json")


MALFORMED = [b'{"text": "b"\n', b'["a", "b"]\n', b'{"content": "c"}\n', b'{"text": 5}\n']


def test_skip_drops_malformed_jsonl_records_and_counts_them(tmp_path):
    path = write(tmp_path / "a.jsonl.gz", jsonl({"text": "a"}) + b"".join(MALFORMED) + jsonl({"text": "z"}))
    corpus = Corpus(path, errors="skip")
    assert list(corpus) == ["a", "z"]
    assert (corpus.stats.malformed_records, corpus.stats.first_malformed) == (4, f"{path} line 2")
    assert corpus.stats.skipped_documents == 0  # invalid UTF-8 is counted apart


@pytest.mark.parametrize("errors", ["strict", "replace"])
@pytest.mark.parametrize("record", MALFORMED)
def test_malformed_jsonl_record_stops_strict_and_replace_naming_file_and_line(tmp_path, errors, record):
    path = write(tmp_path / "a.jsonl", jsonl({"text": "a"}) + record)
    with pytest.raises(CorpusError, match=r"a\.jsonl line 2 .*--errors skip"):
        read(path, errors=errors)


def test_a_corpus_of_malformed_records_only_says_so(tmp_path):
    path = write(tmp_path / "a.jsonl", b"".join(MALFORMED))
    with pytest.raises(CorpusError, match=rf"4 malformed JSON Lines record\(s\) dropped by errors='skip', the first "
                                          rf"at {path} line 1"):
        read(path, errors="skip")


def test_malformed_records_are_in_the_training_report_whatever_the_workers(tmp_path):
    import tokforge
    from tokforge.cli.train import _summary

    good = jsonl(*({"text": f"line {i} of some text here\n"} for i in range(1000)))
    write(tmp_path / "a.jsonl", good)
    write(tmp_path / "b.jsonl", good + MALFORMED[0] + good)
    write(tmp_path / "c.jsonl", MALFORMED[1] + good)
    for workers in (1, 2):
        tok = tokforge.train(str(tmp_path), vocab_size=300, errors="skip", workers=workers, held_out=0)
        report = tok.training["corpus"]
        assert report["documents"] == 4000 and tok.training["counting"]["workers"] == workers
        assert (report["malformed_records"], report["first_malformed_record"]) == (2, f"{tmp_path / 'b.jsonl'} line 1001")
        assert "malformed  2 JSON Lines records skipped" in _summary(tok.training)


def test_corrupt_parquet_page_says_corrupt_not_permissions(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": [f"document {i} " * 20 for i in range(3000)]}), path, compression="snappy",
                   data_page_size=4096)
    data = bytearray(path.read_bytes())
    for k in range(len(data) // 2, len(data) // 2 + 16):  # inside a data page
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorpusError) as raised:
        read(path)
    message = str(raised.value)
    assert f"cannot read {path} as Parquet: the file is corrupt or truncated" in message
    assert "permission" not in message


def test_parquet_missing_column_lists_columns(tmp_path):
    path = write_parquet(tmp_path / "a.parquet", body=["x"], id=[1])
    with pytest.raises(CorpusError, match=r"a\.parquet has no column 'text' \(columns: body, id\)"):
        read(path)
    assert read(path, text_field="body") == ["x"]
    with pytest.raises(CorpusError, match=r"column 'id' .* has type int64, not string"):
        read(path, text_field="id")


def test_parquet_null_value_is_an_error(tmp_path):
    path = write_parquet(tmp_path / "a.parquet", text=["a", "b", "c", None])
    with pytest.raises(CorpusError, match=r"row 3 of .*a\.parquet has a null 'text'"):
        read(path)


@pytest.mark.parametrize("suffix", [".txt", ".txt.gz", ".jsonl"])
def test_overlong_line_is_an_error(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(corpus_module, "MAX_LINE_BYTES", 100)
    if suffix == ".jsonl":
        short, long = jsonl({"text": "s"}), jsonl({"text": "x" * 200})
    else:
        short, long = b"short\n", b"y" * 200 + b"\n"
    path = write(tmp_path / f"long{suffix}", short * 5 + long + short)
    read_before_error = []
    with pytest.raises(CorpusError, match=rf"line 6 of .*long.* at byte offset {len(short) * 5}\b.*"
                                          r"longer than 100 bytes.*Split the file"):
        for document in Corpus(path):
            read_before_error.append(document)
    assert len(read_before_error) == 5


def test_overlong_line_beyond_the_binary_sniff_head(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_module, "MAX_LINE_BYTES", 10_000)
    path = write(tmp_path / "long.txt", b"a\n" + b"z" * 20_000)
    with pytest.raises(CorpusError, match=r"line 2 .* longer than 10,000 bytes"):
        read(path)


def test_line_of_exactly_the_limit_is_accepted(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_module, "MAX_LINE_BYTES", 10_000)
    line = "é" * 4999 + "x\n"  # exactly 10,000 bytes; the head of 8 KiB ends inside an "é"
    path = write(tmp_path / "a.txt", (line * 3).encode())
    assert read(path) == [line] * 3


# -- datasets ----------------------------------------------------------------------------------------------


def small_dataset() -> datasets.Dataset:
    return datasets.Dataset.from_dict({"text": ["one", "two\n", "three"], "id": [1, 2, 3]})


def test_dataset_object():
    corpus = Corpus(small_dataset(), progress=True)
    assert list(corpus) == ["one", "two\n", "three"]
    assert corpus.files == [] and corpus.total_bytes == 0
    assert corpus.stats.documents == 3


def test_iterable_dataset_object():
    assert read(small_dataset().to_iterable_dataset()) == ["one", "two\n", "three"]


def test_iterable_dataset_without_known_features_missing_column():
    def rows():
        yield {"body": "x"}

    with pytest.raises(CorpusError, match=r"IterableDataset object has no column 'text'"):
        read(datasets.IterableDataset.from_generator(rows))


def test_dataset_missing_column_fails_early():
    with pytest.raises(CorpusError, match=r"no column 'body' \(columns: text, id\)"):
        Corpus(small_dataset(), text_field="body")
    with pytest.raises(CorpusError, match=r"column 'id' .* not strings"):
        Corpus(small_dataset(), text_field="id")


def test_dataset_null_value_is_an_error():
    with pytest.raises(CorpusError, match=r"row 1 of the Dataset object: column 'text' holds NoneType"):
        read(datasets.Dataset.from_dict({"text": ["a", None]}))


def test_saved_dataset_folder(tmp_path):
    small_dataset().save_to_disk(str(tmp_path / "saved"))
    corpus = Corpus(tmp_path / "saved")
    assert list(corpus) == ["one", "two\n", "three"]
    assert corpus.files == []


def test_saved_dataset_inside_a_folder_is_loaded_in_order(tmp_path):
    small_dataset().save_to_disk(str(tmp_path / "b_saved"))
    write(tmp_path / "a.txt", b"first\n")
    write(tmp_path / "c.txt", b"last\n")
    corpus = Corpus(tmp_path)
    assert list(corpus) == ["first\n", "one", "two\n", "three", "last\n"]
    assert corpus.stats.ignored_files == []


def test_dataset_dict_is_an_error(tmp_path):
    splits = datasets.DatasetDict({"train": small_dataset(), "test": small_dataset()})
    with pytest.raises(CorpusError, match=r"DatasetDict with splits 'train', 'test'.*ds\['train'\]"):
        Corpus(splits)
    splits.save_to_disk(str(tmp_path / "saved"))
    with pytest.raises(CorpusError, match=r"saved DatasetDict with splits 'train', 'test'.*saved/train"):
        Corpus(tmp_path / "saved")
    assert read(tmp_path / "saved" / "test") == ["one", "two\n", "three"]


# -- re-iteration and API ----------------------------------------------------------------------------------


def test_re_iteration_yields_the_same_documents_and_resets_stats(tmp_path):
    make_tree(tmp_path)
    write(tmp_path / "bad.txt", b"\xff\n")
    corpus = Corpus(tmp_path, errors="replace")
    first = list(corpus)
    first_stats = corpus.stats
    assert list(corpus) == first
    assert corpus.stats == first_stats
    assert corpus.stats is not first_stats
    assert corpus.stats.documents == 6 and corpus.stats.replaced_documents == 1


def test_iter_documents_validates_eagerly(tmp_path):
    path = write(tmp_path / "a.txt", b"a\nb")
    assert list(iter_documents(path)) == ["a\n", "b"]
    with pytest.raises(CorpusError, match="not found"):
        iter_documents(tmp_path / "missing")


def test_stats_defaults():
    stats = CorpusStats()
    assert (stats.files, stats.documents, stats.first_invalid, stats.ignored_files) == (0, 0, None, [])


# -- blocks ------------------------------------------------------------------------------------------------
# Corpus.iter_blocks() must deliver exactly the documents of iter(corpus), with the same stats and errors.

BLOCK_BYTES = st.sampled_from([1, 7, 64, 1 << 22])
POLICY = st.sampled_from(ERROR_POLICIES)
INVALID_UTF8 = st.sampled_from([b"\xff", b"\x80", b"\xc3", b"\xe2\x82", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])
# Pieces of a text file: valid text (more often), line ends, invalid UTF-8 and long runs without newline.
SEGMENT = st.one_of(LINE_BODY.map(str.encode), LINE_BODY.map(str.encode), st.sampled_from([b"\n", b"\r\n", b"\n\n", b"\r"]),
                    INVALID_UTF8, st.integers(1, 50).map(lambda n: b"long" * n))
# The content of a text file, and where to put a NUL byte (a binary file when it lands in the sniffed head).
TEXT_FILE = st.tuples(st.lists(SEGMENT, max_size=60).map(b"".join), st.none() | st.integers(0, 3000))


def outcome(corpus: Corpus, block_bytes: int | None = None) -> tuple[list[str], str | None, dict]:
    """The documents an iteration delivers, its error message (or None) and the final stats.

    With ``block_bytes``, read ``corpus.iter_blocks(block_bytes)`` and check every block's invariants.
    """
    documents: list[str] = []
    try:
        if block_bytes is None:
            for document in corpus:
                documents.append(document)
        else:
            for block in corpus.iter_blocks(block_bytes):
                check_block(block, block_bytes, first_document=len(documents))
                documents += block.documents()
                assert corpus.stats.documents == len(documents)
    except CorpusError as exc:
        return documents, str(exc), asdict(corpus.stats)
    return documents, None, asdict(corpus.stats)


def check_block(block: Block, block_bytes: int, first_document: int) -> None:
    bounds = block.bounds
    assert isinstance(block, Block) and isinstance(block.data, bytes)
    assert bounds.dtype == np.int64 and bounds.ndim == 1 and len(bounds) >= 2 and not bounds.flags.writeable
    assert bounds[0] == 0 and bounds[-1] == len(block.data) and (np.diff(bounds) >= 0).all()
    assert len(block) == len(bounds) - 1
    assert block.first_document == first_document
    assert len(block.data) <= block_bytes or len(block) == 1
    documents = block.documents()
    assert documents == [block.data[a:b].decode("utf-8") for a, b in zip(bounds[:-1], bounds[1:])]
    assert "".join(documents).encode("utf-8") == block.data


def assert_blocks_match(corpus: Corpus, block_bytes: int) -> tuple[list[str], str | None, dict]:
    expected = outcome(corpus)
    assert outcome(corpus, block_bytes) == expected
    return expected


def offset_text(suffix: str, offset: int) -> str:
    kind = {".gz": "gzip", ".zst": "zstd"}.get(suffix)
    return f"byte offset {offset}" + (f" of the decompressed data ({kind})" if kind else "")


def reference_outcome(files: list[tuple[Path, bytes]], errors: str, sniff: int, max_line: int):
    """What the corpus must yield, line by line: documents, (start of) the error message, and counters."""
    documents: list[str] = []
    counts = {"skipped_documents": 0, "replaced_documents": 0, "first_invalid": None}
    for path, data in files:
        where = offset_text(path.suffix, 0)[len("byte offset 0"):]
        nul = data[:sniff].find(b"\0")
        if nul >= 0:
            return documents, f"{path} looks binary (NUL byte at byte offset {nul}{where})", counts
        offset = 0
        *complete, last = data.split(b"\n")  # only "\n" ends a line ("\r" is kept as is)
        for number, line in enumerate([piece + b"\n" for piece in complete] + ([last] if last else []), 1):
            if len(line) > max_line:
                return documents, f"line {number} of {path}, at byte offset {offset}{where}, is longer than", counts
            try:
                documents.append(line.decode("utf-8"))
            except UnicodeDecodeError as exc:
                bad = offset + exc.start
                if errors == "strict":
                    return documents, (f"invalid UTF-8 in {path} at byte offset {bad}{where} (line {number}, bytes "
                                       f"{line[exc.start:exc.end].hex(' ')})"), counts
                counts["first_invalid"] = counts["first_invalid"] or f"{path}:{bad}"
                if errors == "skip":
                    counts["skipped_documents"] += 1
                else:
                    counts["replaced_documents"] += 1
                    documents.append(line.decode("utf-8", "replace"))
            offset += len(line)
    return documents, None if documents else "no text found", counts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.tuples(TEXT_FILE, st.sampled_from([".txt", ".txt.gz", ".txt.zst"])), min_size=1, max_size=3),
       errors=POLICY, block_bytes=BLOCK_BYTES, read_bytes=st.sampled_from([1, 7, 64, 1 << 20]),
       sniff=st.sampled_from([1, 16, 8192]), max_line=st.sampled_from([40, 200, 64 << 20]))
def test_blocks_match_documents_on_random_text_files(tmp_path, monkeypatch, files, errors, block_bytes, read_bytes,
                                                      sniff, max_line):
    """Invalid bytes anywhere, CRLF, lone CR, empty lines, long lines, no final newline, NUL bytes; small reads
    and blocks so that lines cross read chunks and blocks hold a few lines or one."""
    monkeypatch.setattr(corpus_module, "READ_CHUNK_BYTES", read_bytes)
    monkeypatch.setattr(corpus_module, "BINARY_SNIFF_BYTES", sniff)
    monkeypatch.setattr(corpus_module, "MAX_LINE_BYTES", max_line)
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    written = []
    for i, ((data, nul_at), suffix) in enumerate(files):
        if nul_at is not None:
            nul_at = min(nul_at, len(data))
            data = data[:nul_at] + b"\0" + data[nul_at:]
        written.append((write(folder / f"{i}{suffix}", data), data))
    corpus = Corpus([path for path, _ in written], errors=errors)
    documents, error, stats = assert_blocks_match(corpus, block_bytes)
    expected_documents, expected_error, counts = reference_outcome(written, errors, sniff, max_line)
    assert documents == expected_documents
    assert (error is None) == (expected_error is None)
    if error is not None:
        assert error.startswith(expected_error) if "no text" not in expected_error else expected_error in error
    assert {key: stats[key] for key in counts} == counts
    assert stats["documents"] == len(documents)
    if error is None:
        assert stats["bytes_read"] == sum(path.stat().st_size for path, _ in written)


@FILES
@given(bodies=st.lists(LINE_BODY, min_size=1, max_size=30), last=LINE_BODY, block_bytes=BLOCK_BYTES,
       suffix=st.sampled_from([".txt", ".txt.gz", ".txt.zst"]))
def test_blocks_of_valid_text_pack_greedily(tmp_path, bodies, last, block_bytes, suffix):
    lines = text_lines(bodies, last)
    path = write(tmp_path / f"corpus{suffix}", "".join(lines).encode())
    blocks = list(Corpus(path).iter_blocks(block_bytes))
    assert [document for block in blocks for document in block.documents()] == lines
    assert [block.first_document for block in blocks] == list(np.cumsum([0] + [len(b) for b in blocks[:-1]]))
    for block, following in zip(blocks, blocks[1:]):  # a block ends when the next document does not fit
        assert len(block.data) + int(following.bounds[1]) > block_bytes


def test_blocks_read_large_text_files_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_module, "READ_CHUNK_BYTES", 4096)
    lines = [f"line {i} {'é' * (i % 7)} {'x' * (i % 300)}\r\n" if i % 5 else "\n" for i in range(20_000)]
    data = "".join(lines).encode()
    data = data[:100_000] + b"\xff" + data[100_000:]  # one invalid byte inside line
    for suffix in (".txt", ".txt.gz", ".txt.zst"):
        path = write(tmp_path / f"big{suffix}", data)
        for errors in ERROR_POLICIES:
            corpus = Corpus(path, errors=errors)
            documents, error, stats = assert_blocks_match(corpus, 1 << 16)
            assert (error is not None) == (errors == "strict")
            if error is None:
                assert len(documents) == len(lines) - (errors == "skip")
                assert stats["first_invalid"] == f"{path}:100000"
    blocks = list(Corpus(tmp_path / "big.txt", errors="replace").iter_blocks())
    assert len(blocks) == 1 and len(blocks[0]) == len(lines)


@FILES
@given(records=st.lists(st.one_of(
    st.tuples(TEXT, st.booleans()).map(lambda r: json.dumps({"text": r[0]}, ensure_ascii=r[1]).encode() + b"\n"),
    st.sampled_from([b"\n", b"  \r\n", b'{"text": ""}\n', b'{"text": "x\\ud800y"}\n', b'{"text": "\\ud83d\\ude00"}\n',
                     b'{"text": "caf\xe9"}\n', b'{"text": "\xff"}']),
), max_size=20), errors=POLICY, block_bytes=BLOCK_BYTES, suffix=st.sampled_from([".jsonl", ".jsonl.gz", ".jsonl.zst"]))
def test_blocks_match_documents_on_random_jsonl(tmp_path, records, errors, block_bytes, suffix):
    path = write(Path(tempfile.mkdtemp(dir=tmp_path)) / f"a{suffix}", b"".join(records))
    assert_blocks_match(Corpus(path, errors=errors), block_bytes)


@FILES
@given(docs=st.lists(TEXT, min_size=1, max_size=20), block_bytes=BLOCK_BYTES)
def test_blocks_of_parquet_and_datasets(tmp_path, docs, block_bytes):
    path = write_parquet(Path(tempfile.mkdtemp(dir=tmp_path)) / "a.parquet", text=docs)
    dataset = datasets.Dataset.from_dict({"text": docs})
    for source in (path, dataset, dataset.to_iterable_dataset(), [path, dataset]):
        documents, error, stats = assert_blocks_match(Corpus(source), block_bytes)
        assert documents == docs * (2 if isinstance(source, list) else 1) and error is None


def test_blocks_span_sources_of_every_kind(tmp_path):
    sources = [write(tmp_path / "a.txt", b"one\ntwo\n"),
               write(tmp_path / "b.jsonl", jsonl({"text": "three"}, {"text": ""})),
               write_parquet(tmp_path / "c.parquet", text=["four", "f\u00efve"]), small_dataset()]
    corpus = Corpus(sources)
    blocks = list(corpus.iter_blocks(16))
    assert [block.documents() for block in blocks] == [["one\n", "two\n", "three", ""],  # 13 bytes, "four" is 4
                                                       ["four", "f\u00efve", "one", "two\n"], ["three"]]  # 16 bytes
    assert [block.first_document for block in blocks] == [0, 4, 8]
    assert corpus.stats.documents == 9 and corpus.stats.files == 3
    assert list(corpus) == [document for block in blocks for document in block.documents()]


def test_block_holding_a_document_longer_than_block_bytes(tmp_path):
    path = write(tmp_path / "a.txt", b"ab\n" + b"x" * 50 + b"\ncd\nef\n")
    blocks = list(Corpus(path).iter_blocks(8))
    assert [block.documents() for block in blocks] == [["ab\n"], ["x" * 50 + "\n"], ["cd\n", "ef\n"]]
    assert repr(blocks[1]) == "Block(1 documents from #1, 51 bytes)"


def make_failing_corpora(tmp_path: Path) -> dict[str, Corpus]:
    """Corpora whose iteration fails after (or before) some documents: every kind of error."""
    good = write(tmp_path / "good.txt", b"first\nsecond\n")
    long = b"short\n" * 5 + b"y" * 200 + b"\n"
    return {
        "invalid": Corpus([good, write(tmp_path / "bad.txt.zst", BAD)]),
        "binary": Corpus([good, write(tmp_path / "weights.txt.gz", b"header\n" + b"\0" * 10)]),
        "long": Corpus([good, write(tmp_path / "long.txt", long)]),
        "long jsonl": Corpus([good, write(tmp_path / "long.jsonl", jsonl({"text": "s"}, {"text": "x" * 200}))]),
        "truncated": Corpus([good, tmp_path / "cut.txt.gz"]),
        "not gzip": Corpus([good, tmp_path / "fake.txt.gz"]),
        "parquet": Corpus([good, write(tmp_path / "bad.parquet", b"PAR1 but not really")]),
        "parquet null": Corpus([good, write_parquet(tmp_path / "null.parquet", text=["a", "b", "c", None])]),
        "json": Corpus([good, write(tmp_path / "broken.jsonl", jsonl({"text": "a"}) + b'{"text": "b"\n')]),
        "surrogate": Corpus([good, write(tmp_path / "s.jsonl", b'{"text": "x\\ud800y"}\n')]),
        "dataset null": Corpus([good, datasets.Dataset.from_dict({"text": ["a", None]})]),
        "empty": Corpus([write(tmp_path / "empty.txt", b""), write(tmp_path / "blank.jsonl", b"\n\n")]),
        "skipped": Corpus(write(tmp_path / "skipped.txt", b"\xff\n"), errors="skip"),
    }


@pytest.mark.parametrize("name", ["invalid", "binary", "long", "long jsonl", "truncated", "not gzip", "parquet",
                                  "parquet null", "json", "surrogate", "dataset null", "empty", "skipped"])
@pytest.mark.parametrize("block_bytes", [1, 4, 1 << 22])
def test_blocks_raise_the_same_errors_after_the_same_documents(tmp_path, monkeypatch, name, block_bytes):
    monkeypatch.setattr(corpus_module, "MAX_LINE_BYTES", 100)
    monkeypatch.setattr(corpus_module, "READ_CHUNK_BYTES", 16 * 1024)  # the truncated archive yields documents first
    (tmp_path / "cut.txt.gz").write_bytes(gzip.compress(b"".join(b"line %d\n" % i for i in range(20_000)))[:-20])
    (tmp_path / "fake.txt.gz").write_bytes(b"this is not gzip data")
    corpus = make_failing_corpora(tmp_path)[name]
    documents, error, stats = assert_blocks_match(corpus, block_bytes)
    assert error is not None
    if name not in ("empty", "skipped"):
        assert documents[:2] == ["first\n", "second\n"]  # read before the failure, delivered in a last block
    if name == "long":
        assert documents[2:] == ["short\n"] * 5
    if name == "truncated":
        assert documents[2:1000] == [f"line {i}\n" for i in range(998)]


def test_blocks_progress_bar_and_re_iteration(tmp_path, capsys):
    path = write(tmp_path / "a.txt.zst", b"hello world\n" * 5000)
    corpus = Corpus(path, progress=True, desc="blocking")
    blocks = list(corpus.iter_blocks(1000))
    assert sum(map(len, blocks)) == 5000 and corpus.stats.bytes_read == path.stat().st_size
    assert "blocking" in capsys.readouterr().err
    first_stats = corpus.stats
    assert len(list(corpus.iter_blocks())) == 1
    assert corpus.stats == first_stats and corpus.stats is not first_stats


def test_blocks_stopped_early_count_what_was_delivered(tmp_path):
    path = write(tmp_path / "a.txt", b"abc\n" * 100)
    corpus = Corpus(path)
    blocks = corpus.iter_blocks(40)
    assert len(next(blocks)) == 10
    assert corpus.stats.documents == 10
    blocks.close()
    assert list(corpus) == ["abc\n"] * 100


@pytest.mark.parametrize("block_bytes", [0, -1, "4", 1.5, True, None])
def test_block_bytes_must_be_a_positive_integer(tmp_path, block_bytes):
    corpus = Corpus(write(tmp_path / "a.txt", b"a\n"))
    with pytest.raises(ConfigError, match="block_bytes must be a positive number of bytes"):
        corpus.iter_blocks(block_bytes)
    assert len(list(corpus.iter_blocks(np.int64(3)))) == 1


def test_lone_surrogate_in_an_iterable_dataset_follows_the_policy():
    def rows():
        yield {"text": "ok"}
        yield {"text": "a\ud800b"}

    dataset = datasets.IterableDataset.from_generator(rows)
    with pytest.raises(CorpusError, match=r"lone surrogate .* column 'text' at row 1 of the IterableDataset object.*"
                                          r"Fix the dataset, or pass --errors replace"):
        read(dataset)
    for errors, expected in (("replace", ["ok", "a\ufffdb"]), ("skip", ["ok"])):
        corpus = Corpus(dataset, errors=errors)
        documents, error, stats = assert_blocks_match(corpus, 2)
        assert documents == expected and error is None
        assert stats["first_invalid"] == "the IterableDataset object:row 1"
