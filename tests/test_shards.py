"""Shards at scale: the same bytes from one process, two processes and a Dask LocalCluster; an
interrupted run (a kill, Ctrl-C, a full disk) finished with --resume gives the bytes of an
uninterrupted one; the layouts (npy, bin, hf) read back with the lines the README gives."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from dask import distributed

import tokforge
from tokforge.cli import main
from tokforge.corpus import Corpus
from tokforge.errors import ConfigError, InputError
from tokforge.sampling.shard_formats import BinShards
from tokforge.sampling.shards import JOURNAL, read_shards_manifest, write_shards
from tokforge.sampling.stochastic import Sampling
from tokforge.tokenizer import Tokenizer

from conftest import CORPORA
from small_fs import run_on_small_fs

CLI = [sys.executable, "-c", "from tokforge.cli import main; main(prog_name='tokforge')"]


def files_of(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shards") / "model"
    tokforge.train(str(CORPORA / "tr"), vocab_size=400, workers=1).save(folder)
    return folder


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster


def documents(folder: Path, manifest: dict, k: int) -> list[list[int]]:
    entry = manifest["folders"][k]
    ids = np.concatenate([np.load(folder / s["ids"]) for s in entry["shards"]])
    lengths = np.concatenate([np.diff(np.load(folder / s["bounds"])) for s in entry["shards"]])
    return [d.tolist() for d in np.split(ids, np.cumsum(lengths)[:-1])]


# ---- the same bytes whatever runs it ------------------------------------------------------------------

@pytest.mark.parametrize("stochastok", [0.0, 0.1], ids=["plain", "stochastok"])
def test_shards_are_byte_identical_on_one_process_two_processes_and_a_local_cluster(model, cluster, tmp_path,
                                                                                    stochastok):
    tok, source = Tokenizer.load(model), Corpus(str(CORPORA))
    written = {}
    with distributed.Client(cluster) as client:
        for name, engine in (("one", dict(workers=1)), ("two", dict(workers=2)),
                             ("dask", dict(engine="dask", scheduler=client))):
            result = write_shards(source, tok, tmp_path / name, sampling=Sampling(stochastok=stochastok), seed=7,
                                  epochs=2, shard_tokens=150_000, batch_bytes=100_000, tokenizer_source="m", **engine)
            assert result["report"]["workers"] == (1 if name == "one" else 2)
            written[name] = files_of(tmp_path / name)
    assert written["one"] == written["two"] == written["dask"]
    manifest = read_shards_manifest(tmp_path / "one")
    assert len(manifest["folders"]) == (2 if stochastok else 1) and len(manifest["folders"][0]["shards"]) > 5
    docs = list(source)
    assert manifest["documents"] == len(docs) and tok.decode(documents(tmp_path / "one", manifest, 0)[-1]) == docs[-1]


def test_cli_shards_on_a_scheduler_address(model, cluster, tmp_path):
    args = ["shards", str(CORPORA / "de"), "--model", str(model), "--stochastok", "0.2", "--epochs", "2", "-q",
            "--shard-tokens", "30000"]
    local = CliRunner().invoke(main, args + ["--workers", "1", "-o", str(tmp_path / "local")])
    dask = CliRunner().invoke(main, args + ["--engine", "dask", "--scheduler", cluster.scheduler_address,
                                            "-o", str(tmp_path / "dask")])
    assert local.exit_code == 0 and dask.exit_code == 0, dask.output
    assert "(2 workers, dask)" in dask.output and " MB/s, " in dask.output
    assert files_of(tmp_path / "local") == files_of(tmp_path / "dask")


# ---- resuming --------------------------------------------------------------------------------------------

def _finished(out: Path) -> int:
    journal = out.parent / f".{out.name}.tokforge-staging" / JOURNAL
    try:
        return len(journal.read_text().splitlines()) - 1
    except OSError:
        return 0


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_a_run_interrupted_midway_and_resumed_equals_an_uninterrupted_run(model, tmp_path, signum):
    args = ["shards", str(CORPORA), "--model", str(model), "--epochs", "2", "--stochastok", "0.1", "--seed", "3",
            "--shard-tokens", "20000", "--workers", "2", "-q"]
    whole = CliRunner().invoke(main, args + ["-o", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output
    total = sum(len(f["shards"]) for f in read_shards_manifest(tmp_path / "whole")["folders"])
    out = tmp_path / "out"
    with open(tmp_path / "stdout", "wb") as stdout, open(tmp_path / "stderr", "wb") as stderr:
        run = subprocess.Popen(CLI + args + ["-o", str(out)], stdout=stdout, stderr=stderr)
        deadline = time.monotonic() + 300
        while _finished(out) < 6 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        run.send_signal(signum)
        status = run.wait(timeout=120)
    assert status == (-9 if signum == signal.SIGKILL else 128 + signum), (tmp_path / "stderr").read_text()
    finished = _finished(out)
    assert 6 <= finished < total and not out.exists()   # interrupted midway; the staging folder kept
    if signum == signal.SIGINT:
        assert (tmp_path / "stderr").read_text().strip() == "Error: stopped by SIGINT before finishing"
        assert f"{finished} finished shard(s) kept beside {out}: run the same command with --resume" in \
            (tmp_path / "stdout").read_text()
    # other options are refused, naming the difference, and the finished shards stay
    other = CliRunner().invoke(main, [a if a != "3" else "4" for a in args] + ["-o", str(out), "--resume"])
    assert other.exit_code == 1 and "--seed 3 then, 4 now" in other.stderr and _finished(out) == finished
    # a finished shard damaged since: it and those after it are written again
    staging = out.parent / f".{out.name}.tokforge-staging"
    second = json.loads((staging / JOURNAL).read_text().splitlines()[2])
    damaged = staging / next(iter(second["files_sha256"]))
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\0")
    resumed = CliRunner().invoke(main, args + ["-o", str(out), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "1 shard(s) kept from the interrupted run" in resumed.output
    assert files_of(out) == files_of(tmp_path / "whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "stderr", "stdout", "whole"]  # nothing beside


def test_resume_without_an_interrupted_run_writes_everything(model, tmp_path):
    tok = Tokenizer.load(model)
    result = write_shards(Corpus(str(CORPORA / "el")), tok, tmp_path / "s", resume=True, workers=1)
    assert result["report"]["resumed_shards"] == 0 and read_shards_manifest(tmp_path / "s")["documents"] > 0


def test_a_full_disk_keeps_the_finished_shards_and_resume_finishes_them(model, tmp_path):
    args = ["shards", str(CORPORA / "el"), "--model", str(model), "--epochs", "2", "--stochastok", "0.3",
            "--shard-tokens", "1000", "--workers", "1", "-q", "-o"]
    assert CliRunner().invoke(main, args + [str(tmp_path / "whole")]).exit_code == 0
    need = sum(-(-p.stat().st_size // 4096) * 4096 for p in (tmp_path / "whole").rglob("*"))  # tmpfs pages
    filler = tmp_path / "filler"
    filler.mkdir()
    (filler / "data").write_bytes(os.urandom(need // 2 + (64 << 10)))   # about half of the shards fit
    full, freed, resumed = run_on_small_fs(f"{need // 1024 + 64}k", [
        {"copy": [str(filler), "filler"]},
        {"args": args + ["{mnt}/out"]},
        {"remove": "filler"},
        {"args": args + ["{mnt}/out", "--resume"]},
    ])[1:]
    assert full["status"] == 1 and full["stderr"].startswith("Error: no space left on the device writing epoch-")
    assert "finished shard(s) kept beside" in full["stdout"] and "Traceback" not in full["stderr"]
    assert resumed["status"] == 0, resumed
    assert "shard(s) kept from the interrupted run" in resumed["stdout"]
    whole = files_of(tmp_path / "whole")
    assert {k[len("out/"):]: v for k, v in resumed["files"].items() if k.startswith("out/") and v != "/"} == whole


# ---- layouts ---------------------------------------------------------------------------------------------

def test_bin_and_hf_layouts_hold_the_documents_of_the_npy_layout(model, tmp_path):
    import datasets

    tok, source = Tokenizer.load(model), Corpus(str(CORPORA / "de"))
    common = dict(sampling=Sampling(stochastok=0.1), seed=2, epochs=2, shard_tokens=30_000, workers=1)
    npy = write_shards(source, tok, tmp_path / "npy", **common)
    binary = write_shards(source, tok, tmp_path / "bin", format="bin", **common)
    write_shards(source, tok, tmp_path / "hf", format="hf", **common)
    for epoch in (0, 1):
        expected = documents(tmp_path / "npy", npy, epoch)
        # bin: the README's lines
        sep = binary["layout"]["separator_id"]
        got = []
        for shard in binary["folders"][epoch]["shards"]:
            ids = np.memmap(tmp_path / "bin" / shard["files"][0], dtype=binary["dtype"], mode="r")
            ends = np.flatnonzero(ids == sep)
            got += [d.tolist() for d in np.split(ids, ends + 1)[:-1]]
        assert [d[:-1] for d in got] == expected and all(d[-1] == sep for d in got)
        assert binary["layout"]["separator"] == "<|endoftext|>" == tok.id_to_token(sep)
        # hf: datasets reads the folder
        ds = datasets.load_from_disk(str(tmp_path / "hf" / f"epoch-{epoch:04d}"))
        assert ds.column_names == ["input_ids"] and ds["input_ids"] == expected
    assert read_shards_manifest(tmp_path / "hf")["layout"]["name"] == "hf"


def test_a_separator_inside_a_document_is_refused(model):
    tok = Tokenizer.load(model)
    layout = BinShards.of(tok, None)
    with pytest.raises(InputError, match="1 id\\(s\\) of the separator '<\\|endoftext\\|>' inside documents"):
        layout.write(None, "epoch-0000/shard-00000", np.array([5, layout.separator_id, 6], np.uint16),
                     np.array([3]))
    with pytest.raises(ConfigError, match="'<pad>' is not a special token of the tokenizer"):
        BinShards.of(tok, "<pad>")
