"""Output folders are whole or untouched: a model, count or shards folder is the complete new one or
exactly the old one after a kill at any write step, a full disk or a second writer; the output is
checked before any work; a folder whose files come from different writes is refused on load."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

import tokforge
from tokforge.cli import main
from tokforge.counting.engines import count_corpus
from tokforge.counting.saved import load_counts, save_counts
from tokforge.errors import ModelFormatError, OutputError
from tokforge.formats.folder import MODEL_FOLDER
from tokforge.io.folders import OutputFolder, json_text
from tokforge.sampling.shards import read_shards_manifest, write_shards
from tokforge.sampling.stochastic import Sampling
from tokforge.tokenizer import Tokenizer

from conftest import CORPORA
from small_fs import run_on_small_fs

TESTS = Path(__file__).resolve().parent
CLI = [sys.executable, "-c", "from tokforge.cli import main; main(prog_name='tokforge')"]
SMALL = str(CORPORA / "el")  # 12 KB
SAMPLE = "Το Debian είναι ένα ελεύθερο λειτουργικό σύστημα 2024, με <|endoftext|> μέσα."


def files_of(folder: Path) -> dict[str, str] | None:
    """Relative path -> sha256 of every file under ``folder`` ("/" for a folder); None if absent."""
    if not os.path.lexists(folder):
        return None
    out = {}
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        out[relative] = "/" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def no_traceback(text: str) -> bool:
    return "Traceback" not in text


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two different small models, saved."""
    root = tmp_path_factory.mktemp("models")
    out = {}
    for name, size in (("a", 300), ("b", 330)):
        tok = tokforge.train(SMALL, vocab_size=size, held_out=0, workers=1)
        tok.save(root / name)
        out[name] = root / name
    return out


# ---- the library: Tokenizer.save, save_counts, write_shards -------------------------------------------------

def test_save_replaces_a_model_folder_as_a_whole_and_leaves_nothing_beside_it(tmp_path, models):
    target = tmp_path / "out"
    Tokenizer.load(models["a"]).save(target)
    Tokenizer.load(models["b"]).save(target, hf=False)  # the old HF files go with the old model
    assert sorted(p.name for p in target.iterdir()) == ["tokforge.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no lock, staging or old folder left
    assert Tokenizer.load(target).vocab_size == 330
    mode = (target / "tokforge.json").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask and target.stat().st_mode & 0o777 == 0o777 & ~umask  # the usual permissions


def test_a_mixed_model_folder_is_refused_on_load(tmp_path, models):
    mixed = tmp_path / "mixed"
    shutil.copytree(models["a"], mixed)
    shutil.copy(models["b"] / "tokenizer.json", mixed / "tokenizer.json")
    for path in (mixed, mixed / "tokforge.json"):
        with pytest.raises(ModelFormatError, match=r"tokenizer.json is not the file written with tokforge.json"):
            Tokenizer.load(path)
    assert Tokenizer.load(mixed / "tokenizer.json").vocab_size == 330  # the file alone is a valid model
    # a native-only folder with a tokenizer.json beside it: not written together either
    alone = tmp_path / "alone"
    Tokenizer.load(models["a"]).save(alone, hf=False)
    shutil.copy(models["a"] / "tokenizer.json", alone)
    with pytest.raises(ModelFormatError, match="tokenizer.json is not the file written with tokforge.json"):
        Tokenizer.load(alone)
    # the config files may be edited (e.g. a chat template); the model loads
    edited = tmp_path / "edited"
    shutil.copytree(models["a"], edited)
    config = json.loads((edited / "tokenizer_config.json").read_text())
    (edited / "tokenizer_config.json").write_text(json.dumps({**config, "chat_template": "{{ messages }}"}))
    assert Tokenizer.load(edited).encode(SAMPLE) == Tokenizer.load(models["a"]).encode(SAMPLE)
    doc = json.loads((edited / "tokforge.json").read_text())
    (edited / "tokforge.json").write_text(json.dumps({**doc, "files_sha256": ["tokenizer.json"]}))
    with pytest.raises(ModelFormatError, match="files_sha256. must map the names of the folder.s files"):
        Tokenizer.load(edited)


def test_a_mixed_count_folder_and_shards_folder_are_refused(tmp_path, models):
    a = save_counts(count_corpus(SMALL, workers=1), tmp_path / "ca")
    b = save_counts(count_corpus(str(CORPORA / "de"), workers=1), tmp_path / "cb")
    shutil.copy(b / "arena.npy", a / "arena.npy")
    shutil.copy(b / "offsets.npy", a / "offsets.npy")
    with pytest.raises(ModelFormatError, match=r"arena.npy, offsets.npy are not the files written with manifest"):
        load_counts(a)
    tok = Tokenizer.load(models["a"])
    for seed in (1, 2):
        write_shards(tokforge.Corpus([SMALL]), tok, tmp_path / f"s{seed}", sampling=Sampling(stochastok=0.5),
                     seed=seed, shard_tokens=2000)
    assert len(read_shards_manifest(tmp_path / "s1")["files_sha256"]) == 8
    shutil.copy(tmp_path / "s2/epoch-0000/shard-00001.ids.npy", tmp_path / "s1/epoch-0000/shard-00001.ids.npy")
    with pytest.raises(ModelFormatError, match="epoch-0000/shard-00001.ids.npy is not the file written with"):
        read_shards_manifest(tmp_path / "s1")
    (tmp_path / "s2/epoch-0000/shard-00002.bounds.npy").unlink()
    with pytest.raises(ModelFormatError, match="epoch-0000/shard-00002.bounds.npy of this shards folder is missing"):
        read_shards_manifest(tmp_path / "s2")


def test_a_folder_holding_other_files_is_refused_and_left_as_it_was(tmp_path, models):
    tok = Tokenizer.load(models["a"])
    target = tmp_path / "my-model"
    target.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (target / name).write_text("mine")
    before = files_of(target)
    with pytest.raises(OutputError, match=r"my-model holds files that tokforge does not write into a model folder "
                                          r"\(config.json, model.safetensors\)"):
        tok.save(target)
    with pytest.raises(OutputError, match="holds files that tokforge does not write into a count folder"):
        save_counts(load_counts(save_counts(count_corpus(SMALL, workers=1), tmp_path / "c")), models["a"])
    assert files_of(target) == before and sorted(p.name for p in tmp_path.iterdir()) == ["c", "my-model"]
    # what io.write_atomic of earlier tokforge versions left after a kill belongs to a model folder
    (target / "config.json").unlink()
    (target / "model.safetensors").unlink()
    (target / ".tokenizer.json.ab12cd_9.tmp").write_text("half")
    tok.save(target)
    assert sorted(p.name for p in target.iterdir()) == ["special_tokens_map.json", "tokenizer.json",
                                                      "tokenizer_config.json", "tokforge.json"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        tok.save(tmp_path / "file")
    before = files_of(target)  # exporting into a model folder would drop its tokforge.json: refused
    result = CliRunner().invoke(main, ["export", str(models["b"]), "-o", str(target)])
    assert result.exit_code == 1 and result.output == (
        f"Error: {target} holds files that tokforge does not write into a Hugging Face tokenizer folder "
        "(tokforge.json); tokforge replaces the whole folder, so give a new or empty folder, or move those files "
        "away\n")
    assert files_of(target) == before


def test_stale_lock_and_staging_of_a_killed_run_are_taken_over_and_removed(tmp_path, models):
    tok = Tokenizer.load(models["a"])
    (tmp_path / ".out.tokforge-lock").write_text("999999999\n")  # its process is gone: no lock held
    staging = tmp_path / ".out.tokforge-staging"
    staging.mkdir()
    (staging / "tokenizer.json").write_text('{"half": ')
    tok.save(tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    # a stale staging folder holding a file tokforge does not write is left, and the run refused
    staging.mkdir()
    (staging / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"tokforge-staging \(left by an interrupted tokforge run into .*out\) "
                                          r"holds files tokforge did not write \(notes.txt\)"):
        tok.save(tmp_path / "out")
    assert (staging / "notes.txt").read_text() == "mine"


def test_a_second_writer_is_refused_and_the_folder_is_never_mixed(tmp_path, models):
    target = tmp_path / "out"
    Tokenizer.load(models["a"]).save(target)
    before = files_of(target)
    with OutputFolder(target, MODEL_FOLDER) as first:  # this process is writing out/
        busy = rf"out is being written by another tokforge process \(pid {os.getpid()}\)"
        with pytest.raises(OutputError, match=busy):
            Tokenizer.load(models["b"]).save(target)
        run = subprocess.run(CLI + ["train", SMALL, "--vocab-size", "330", "-o", str(target), "-q"],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 1 and no_traceback(run.stderr)
        assert run.stderr.strip().splitlines() == [
            f"Error: {target} is being written by another tokforge process (pid {os.getpid()}); wait until it "
            "ends, or write to another folder"]
        assert files_of(target) == before
        Tokenizer.load(models["b"]).write_files(first)
    assert Tokenizer.load(target).vocab_size == 330 and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_unwritable_output_is_refused_before_any_work(tmp_path, models, monkeypatch):
    import tokforge.cli.train
    import tokforge.sampling.shards

    def no_work(*args, **kwargs):
        raise AssertionError("the corpus was read before the output was checked")

    for module, name in ((tokforge.cli.train, "train_tokenizer"), (tokforge.cli.train, "count_corpus"),
                         (tokforge.sampling.shards, "_encode_corpus"), (tokforge.cli.train, "load_counts")):
        monkeypatch.setattr(module, name, no_work)
    (tmp_path / "file").write_text("x")
    runner = CliRunner()
    for args in (["train", SMALL], ["count", SMALL], ["count", "--merge", "a", "b"],
                 ["shards", SMALL, "--model", str(models["a"])], ["export", str(models["a"])]):
        for output in (tmp_path / "file" / "out", tmp_path / "file" / "deeper" / "out"):
            quiet = [] if args[0] == "export" else ["-q"]
            result = runner.invoke(main, args + ["-o", str(output)] + quiet)
            assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
            assert result.output.strip().splitlines() == [
                f"Error: cannot create the output folder {output}: {tmp_path / 'file'} is a file, not a folder; "
                "give another output folder"]
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        result = runner.invoke(main, ["train", SMALL, "-o", ".", "-q"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 1 and "is (or holds) the current folder" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_single_file_that_cannot_be_written_is_one_line(tmp_path):
    from tokforge.io.atomic import write_atomic

    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=rf"^cannot write .*file/report.csv: {tmp_path}/file is a file, not a "
                                          r"folder; give another output folder$"):
        write_atomic(tmp_path / "file" / "report.csv", "a,b\n")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(OutputError, match=r"^cannot write .*folder.csv: Is a directory; choose a place you can "
                                          r"write to; .*folder.csv was left as it was$"):
        write_atomic(tmp_path / "folder.csv", "a,b\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder.csv"]  # no temporary file left


# ---- a kill at every write step --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """tests/kill_driver.py: runs the CLI in forked children killed at the k-th file-system change."""
    logs = tmp_path_factory.mktemp("driver-logs")
    proc = subprocess.Popen([sys.executable, str(TESTS / "kill_driver.py"), str(logs)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)

    def run(args, kill_at=0, portable=False, in_process=False):
        proc.stdin.write(json.dumps({"args": [str(a) for a in args], "kill_at": kill_at, "portable": portable,
                                     "in_process": in_process}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        assert line, "the driver died"
        return json.loads(line)

    yield run
    proc.stdin.close()
    proc.wait(timeout=60)


def kill_at_every_step(driver, root: Path, old_args, new_args, check_new, portable=False):
    """Run ``new_args`` into ``root/out`` (holding the output of ``old_args``) once per write step k,
    killed at step k; after each kill the folder is exactly the old one or a complete new one (or,
    with the portable swap, the old one moved aside, which the next run puts back), and the next run
    completes it and leaves nothing beside it. Returns what each kill left, in order of k."""
    target, pristine = root / "out", root.parent / f"{root.name}-old"

    def reset():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        shutil.copytree(pristine, target)

    root.mkdir()
    first = driver(old_args(target), in_process=True)  # also loads the kernels once in the driver
    assert first["status"] == 0, first
    shutil.copytree(target, pristine)
    old = files_of(target)
    reset()
    clean = driver(new_args(target))
    assert clean["status"] == 0, clean
    new = files_of(target)
    assert new != old and set(new) == set(check_new(target))
    left = []
    for k in range(1, clean["steps"] + 1):
        reset()
        killed = driver(new_args(target), kill_at=k, portable=portable)
        assert killed["status"] == -9, (k, killed)  # killed at step k: the step exists
        state = files_of(target)
        if state == old:
            left.append("old")
        elif state is None:
            assert portable and files_of(root / ".out.tokforge-old") == old, k
            left.append("moved")
            failed = driver(new_args(target)[:1] + ["no-such-corpus"] + new_args(target)[2:])
            assert failed["status"] == 1 and files_of(target) == old, (k, failed)  # undone by the next run
        else:
            assert set(state) == set(new) and check_new(target) == state, k
            left.append("new")
        again = driver(new_args(target))
        assert again["status"] == 0, (k, again)
        assert check_new(target) == files_of(target) and sorted(p.name for p in root.iterdir()) == ["out"], k
    return left


def model_is_the_new_one(reference_tokenizer_json: list):
    def check(target: Path) -> dict:
        files = files_of(target)
        if not reference_tokenizer_json:
            reference_tokenizer_json.append(files["tokenizer.json"])
        assert files["tokenizer.json"] == reference_tokenizer_json[0]
        native, hf = Tokenizer.load(target), Tokenizer.load(target / "tokenizer.json")
        assert native.vocab_size == 330 and native.encode(SAMPLE) == hf.encode(SAMPLE)
        return files
    return check


@pytest.mark.parametrize("portable", [False, True], ids=["renameat2", "portable"])
def test_train_killed_at_every_write_step_leaves_the_old_or_the_new_folder(driver, tmp_path, portable):
    def args(vocab):
        return lambda target: ["train", SMALL, "--vocab-size", vocab, "--workers", "1", "-q", "-o", target]
    left = kill_at_every_step(driver, tmp_path / "t", args("300"), args("330"), model_is_the_new_one([]), portable)
    assert left[0] == "old" and left[-1] == "new" and left == sorted(left, key=["old", "moved", "new"].index)
    assert ("moved" in left) == portable
    assert len(left) >= 15  # lock, staging, 4 files written and synced, swap, old folder removed, unlock


def test_count_killed_at_every_write_step_leaves_the_old_or_the_new_folder(driver, tmp_path):
    def args(corpus):
        return lambda target: ["count", corpus, "--workers", "1", "-q", "-o", target]

    reference = {}

    def check(target: Path) -> dict:
        files = files_of(target)
        arrays = {k: v for k, v in files.items() if k.endswith(".npy")}
        assert arrays == reference.setdefault("arrays", arrays)
        assert load_counts(target).counts.total == reference.setdefault("total", load_counts(target).counts.total)
        return files

    left = kill_at_every_step(driver, tmp_path / "c", args(str(CORPORA / "de")), args(SMALL), check)
    assert left[0] == "old" and left[-1] == "new" and left == sorted(left, key=["old", "new"].index)
    assert len(left) >= 20


def test_shards_killed_at_every_write_step_leave_the_old_or_the_new_folder(driver, tmp_path, models):
    def args(seed):
        return lambda target: ["shards", SMALL, "--model", models["a"], "--epochs", "2", "--stochastok", "0.3",
                               "--seed", seed, "--shard-tokens", "5000", "--workers", "1", "-q", "-o", target]

    reference = {}

    def check(target: Path) -> dict:
        files = files_of(target)
        assert files == reference.setdefault("files", files)  # shards are deterministic: byte for byte
        manifest = read_shards_manifest(target)
        assert manifest["seed"] == 2 and len(manifest["files_sha256"]) == 8  # 2 epochs of 2 shards
        return files

    left = kill_at_every_step(driver, tmp_path / "s", args("1"), args("2"), check)
    assert left[0] == "old" and left[-1] == "new" and left == sorted(left, key=["old", "new"].index)
    assert len(left) >= 25


# ---- a full disk ------------------------------------------------------------------------------------------

def test_a_full_disk_is_one_line_and_leaves_the_output_untouched(tmp_path, models):
    big = tmp_path / "big"
    tokforge.train(str(CORPORA / "en"), vocab_size=2000, held_out=0, workers=1).save(big)
    results = run_on_small_fs("128k", [
        {"args": ["train", SMALL, "--vocab-size", "300", "--workers", "1", "-q", "-o", "{mnt}/out"]},
        {"args": ["train", str(CORPORA / "en"), "--vocab-size", "2000", "--workers", "1", "-q", "-o", "{mnt}/out"]},
        {"args": ["export", str(big), "-o", "{mnt}/hf"]},
        {"args": ["count", str(CORPORA / "en"), "--workers", "1", "-q", "-o", "{mnt}/counts"]},
    ])
    old = results[0]
    assert old["status"] == 0 and sorted(old["files"]) == ["out", "out/special_tokens_map.json",
                                                             "out/tokenizer.json", "out/tokenizer_config.json",
                                                             "out/tokforge.json"]
    for result, written, output in zip(results[1:4], ("tokforge.json", "tokenizer.json", "offsets.npy"),
                                       ("out", "hf", "counts")):
        lines = result["stderr"].strip().splitlines()
        assert result["status"] == 1 and no_traceback(result["stderr"]) and len(lines) == 1, result
        assert lines[0].startswith(f"Error: no space left on the device writing {written} of ")
        assert " kB to write, " in lines[0] and " kB free there): free some space or write elsewhere; " in lines[0]
        assert lines[0].endswith("/out was left as it was" if output == "out" else f"nothing was written to "
                                 f"{lines[0].split(' of ')[1].split(' (')[0]}") and f"/{output} " in lines[0]
        assert result["files"] == old["files"], result  # untouched; no staging, lock or empty folder left


def test_a_read_only_output_is_refused_before_any_work(tmp_path, models):
    results = run_on_small_fs("64k", [
        {"copy": [str(models["a"]), "out"]},
        {"read_only": True},
        {"args": ["train", SMALL, "--vocab-size", "330", "--workers", "1", "-o", "{mnt}/out"]},
        {"args": ["count", SMALL, "--workers", "1", "-o", "{mnt}/counts"]},
    ])
    for result in results[2:]:
        assert result["status"] == 1 and result["files"] == results[0]["files"], result
        # one line, and no progress bar: counting had not started
        assert result["stderr"].strip().splitlines() == [result["stderr"].strip()] and result["stdout"] == ""
        assert "Read-only file system" in result["stderr"] and "counting" not in result["stderr"]


# -- the JSON text of model files ------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    | st.dictionaries(st.integers(-3, 3) | st.booleans() | st.none(), inner, max_size=3),  # keys json converts
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES)
def test_json_text_is_what_json_dumps_writes(doc):
    assert json_text(doc) == json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def test_json_text_of_a_model_is_what_json_dumps_writes(tmp_path):
    tok = tokforge.train(str(CORPORA / "tr"), vocab_size=400)
    for doc in (tok.to_native(), json.loads(tok.files()["tokenizer.json"])):
        assert json_text(doc) == json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
