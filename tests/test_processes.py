"""No orphans: `tokforge train`, `shards` and `count` with worker processes, killed or stopped while
the workers run, leave no process behind (forkserver, resource tracker, workers, Dask workers); counting
in threads stops as cleanly.

Each test starts the CLI in a subprocess on a corpus of 24 files (24 shards, so `--workers 2` runs
two workers), waits until the workers exist, signals a process and checks the whole process tree.
Output goes to files, not pipes: a leftover process holding a pipe would block the test.
The last tests check ``worker_pool`` itself: an exception stops running tasks, and the forkserver
outlives the thread that started it.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import psutil
import pytest

import tokforge
from tokforge.processes import worker_pool

from conftest import CORPORA

CLI = [sys.executable, "-c", "from tokforge.cli import main; main(prog_name='tokforge')"]
STARTUP_SECONDS = 180   # the main process and the forkserver import tokforge and load the kernels
GONE_SECONDS = 10


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("processes") / "corpus"
    folder.mkdir()
    # 50 MB: long enough that the workers still have shards once they start (this process counts
    # the first ones itself while they start)
    text = b"".join(p.read_bytes() for p in sorted((CORPORA / "en").glob("*.txt"))) * 4
    for i in range(24):
        (folder / f"part-{i:02d}.txt").write_bytes(text)
    return folder


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("processes") / "model"
    tokforge.train(str(CORPORA / "tr"), vocab_size=300).save(folder)
    return folder


@pytest.fixture
def start(tmp_path):
    """start(args) runs the CLI; whatever the test's outcome, every process seen is killed after it."""
    runs: list[Run] = []

    def _start(args: list[str]) -> Run:
        runs.append(Run(args, tmp_path))
        return runs[-1]

    yield _start
    for run in runs:
        for p in _alive([run.process, *run.tree]):
            with contextlib.suppress(psutil.Error):
                p.kill()
        run.popen.wait(timeout=60)


class Run:
    """The CLI in a subprocess (in its own session), with its output in files."""

    def __init__(self, args: list[str], folder: Path):
        self.out, self.err = folder / "stdout.txt", folder / "stderr.txt"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.popen = subprocess.Popen(CLI + args, stdout=out, stderr=err, start_new_session=True)
        self.process = psutil.Process(self.popen.pid)
        self.tree: list[psutil.Process] = []

    def wait_for(self, ready, what: str) -> list[psutil.Process]:
        """Poll the descendants until ``ready(main, descendants)``; remember them all."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.popen.poll() is None, f"ended before {what}: {self.err.read_text()[-2000:]}"
            try:
                found = self.process.children(recursive=True)
            except psutil.NoSuchProcess:
                found = []
            self.tree = list({p.pid: p for p in self.tree + found}.values())
            if ready(self.process, found):
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {what} after {STARTUP_SECONDS} s: {self.err.read_text()[-2000:]}")

    def wait_for_pool_workers(self, n: int = 2) -> list[psutil.Process]:
        """The forkserver's workers: descendants whose parent is not the main process."""
        return self.wait_for(lambda main, found: len(_grandchildren(main, found)) >= n, f"{n} pool workers")

    def finish(self) -> int:
        return self.popen.wait(timeout=120)

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def left_behind(self) -> list[str]:
        """The processes of the tree still running GONE_SECONDS after the main process ended."""
        deadline = time.monotonic() + GONE_SECONDS
        while _alive(self.tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        return [_command(p)[:120] for p in _alive(self.tree)]


def _command(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


def _grandchildren(main: psutil.Process, found: list[psutil.Process]) -> list[psutil.Process]:
    """The pool's workers: children of the forkserver, not of the main process."""
    result = []
    for p in _alive(found):
        with contextlib.suppress(psutil.Error):
            if p.ppid() != main.pid:
                result.append(p)
    return result


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.Error:
            pass
    return alive


def _train(corpus: Path, tmp_path: Path, threads: bool = False) -> list[str]:
    """`tokforge train` with two workers: processes (a normalizer written in Python makes counting hold
    the GIL), or with ``threads`` the default pipeline, which counts text in threads of this process."""
    return (["train", str(corpus), "--workers", "2", "--vocab-size", "500", "-o", str(tmp_path / "out"), "-q"]
            + ([] if threads else ["--normalizer", "nfc"]))


def _shards(corpus: Path, model: Path, tmp_path: Path) -> list[str]:
    return ["shards", str(corpus), "--model", str(model), "-o", str(tmp_path / "shards"), "--workers", "2",
            "--stochastok", "0.1", "--quiet"]


def test_train_killed_leaves_no_process(big_corpus, tmp_path, start):
    run = start(_train(big_corpus, tmp_path))
    run.wait_for_pool_workers()
    run.popen.send_signal(signal.SIGKILL)
    assert run.finish() == -signal.SIGKILL
    assert run.left_behind() == []
    assert len(run.tree) >= 4   # resource tracker, forkserver, two workers: all of them checked


def test_shards_killed_leaves_no_process(big_corpus, model, tmp_path, start):
    run = start(_shards(big_corpus, model, tmp_path))
    run.wait_for_pool_workers()
    run.popen.send_signal(signal.SIGKILL)
    assert run.finish() == -signal.SIGKILL
    assert run.left_behind() == []


@pytest.mark.parametrize("command, signum", [("train", signal.SIGTERM), ("train", signal.SIGINT),
                                             ("shards", signal.SIGTERM)])
def test_stopped_by_a_signal_exits_cleanly(big_corpus, model, tmp_path, start, command, signum):
    args = _train(big_corpus, tmp_path) if command == "train" else _shards(big_corpus, model, tmp_path)
    run = start(args)
    run.wait_for_pool_workers()
    run.popen.send_signal(signum)
    assert run.finish() == 128 + signum
    assert run.left_behind() == []
    name = signal.Signals(signum).name   # read once all are gone: the resource tracker would warn last
    assert run.stderr().strip().splitlines() == [f"Error: stopped by {name} before finishing"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopped_while_this_process_runs_kernels_exits_cleanly(big_corpus, model, tmp_path, start, signum):
    """With one worker this process does the work: a signal may land during a compiled kernel's call
    (Python then reports a SystemError caused by the handler's exception)."""
    run = start([a if a != "2" else "1" for a in _shards(big_corpus, model, tmp_path)])  # --workers 1
    deadline = time.monotonic() + STARTUP_SECONDS
    while run.process.cpu_times().user < 3.0 and time.monotonic() < deadline:  # past the imports: counting
        assert run.popen.poll() is None, run.stderr()
        time.sleep(0.05)
    run.popen.send_signal(signum)
    assert run.finish() == 128 + signum
    name = signal.Signals(signum).name
    assert run.stderr().strip().splitlines() == [f"Error: stopped by {name} before finishing"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_counting_in_threads_stopped_by_a_signal_exits_cleanly(big_corpus, tmp_path, start, signum):
    """The default pipeline counts text files in threads of the main process: a signal while they count
    (in compiled kernels) stops the run at once, with the one-line message and no process left."""
    run = start(_train(big_corpus, tmp_path, threads=True))
    run.wait_for(lambda main, found: main.num_threads() >= 4, "the counting threads")  # pool, read-ahead
    run.popen.send_signal(signum)
    assert run.finish() == 128 + signum
    assert run.left_behind() == [] and not (tmp_path / "out").exists()
    name = signal.Signals(signum).name
    assert run.stderr().strip().splitlines() == [f"Error: stopped by {name} before finishing"]


def test_a_killed_worker_is_a_clear_error(big_corpus, tmp_path, start):
    run = start(_train(big_corpus, tmp_path))
    _grandchildren(run.process, run.wait_for_pool_workers())[0].send_signal(signal.SIGKILL)
    assert run.finish() == 1
    assert run.left_behind() == []
    assert run.stderr().strip().splitlines() == [
        "Error: a worker process ended unexpectedly (killed by a signal or out of memory); run again, with "
        "fewer --workers or a smaller --memory-budget if memory is short"]


def _two_dask_workers(main: psutil.Process, found: list[psutil.Process]) -> bool:
    return sum("spawn_main" in _command(p) for p in _alive(found)) >= 2


def test_a_killed_shards_worker_is_a_clear_error_and_resume_finishes(big_corpus, model, tmp_path, start):
    run = start(_shards(big_corpus, model, tmp_path))
    _grandchildren(run.process, run.wait_for_pool_workers())[0].send_signal(signal.SIGKILL)
    assert run.finish() == 1
    assert run.left_behind() == []
    assert run.stderr().strip().splitlines()[0].startswith("Error: a worker process ended unexpectedly")
    again = start(_shards(big_corpus, model, tmp_path) + ["--resume"])
    assert again.finish() == 0, again.stderr()
    assert sorted(p.name for p in tmp_path.iterdir() if "shards" in p.name) == ["shards"]


@pytest.mark.parametrize("command", ["count", "shards"])
def test_dask_local_cluster_killed_leaves_no_process(big_corpus, model, tmp_path, start, command):
    args = (["count", str(big_corpus), "-o", str(tmp_path / "counts")] if command == "count" else
            ["shards", str(big_corpus), "--model", str(model), "-o", str(tmp_path / "shards"), "--stochastok", "0.1"])
    run = start(args + ["--engine", "dask", "--scheduler", "local", "--workers", "2", "-q"])
    run.wait_for(_two_dask_workers, "2 Dask worker processes")
    time.sleep(2)    # let them connect and take shards
    run.popen.send_signal(signal.SIGKILL)
    assert run.finish() == -signal.SIGKILL
    assert run.left_behind() == []


def _sleep_after_writing_pid(marker: str) -> None:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(60)   # a pool that waited for it would take a minute, then fail


def test_leaving_a_pool_by_an_exception_stops_its_running_tasks(tmp_path):
    marker = tmp_path / "started"
    with pytest.raises(ValueError, match="stop here"):
        with worker_pool(2) as pool:
            sleeping = pool.submit(_sleep_after_writing_pid, str(marker))
            while not marker.exists():
                time.sleep(0.05)
            raise ValueError("stop here")
    assert isinstance(sleeping.exception(), BrokenProcessPool)   # stopped, not waited for
    assert not psutil.pid_exists(int(marker.read_text()))


def _hold_the_send_guard(folder: str) -> None:
    """In a worker: what sending a long result looks like to the exit watch."""
    from tokforge import processes
    with processes._sending:
        Path(folder, "sending").write_text(str(os.getpid()))
        time.sleep(1.5)
        Path(folder, "sent").write_text("whole")


def _result_pipe_guarded() -> bool:
    from tokforge import processes
    return processes.result_pipe_guarded


def test_a_worker_does_not_exit_halfway_through_sending_a_result(tmp_path):
    """A result cut short would leave the pool's manager thread reading forever (a hang seen in CI
    when SIGTERM came while a counting worker sent its counts)."""
    with worker_pool(1) as pool:
        assert pool.submit(_result_pipe_guarded).result() is True
    with pytest.raises(ValueError, match="stop here"):
        with worker_pool(1) as pool:
            pool.submit(_hold_the_send_guard, str(tmp_path))
            while not (tmp_path / "sending").exists():
                time.sleep(0.02)
            raise ValueError("stop here")
    assert (tmp_path / "sent").read_text() == "whole"
    assert not psutil.pid_exists(int((tmp_path / "sending").read_text()))


THREAD_THEN_MAIN = """
import os, threading, time
from tokforge.processes import worker_pool

def first(found):
    with worker_pool(1) as pool:
        found.append(pool.submit(os.getppid).result())

if __name__ == "__main__":
    found = []
    thread = threading.Thread(target=first, args=(found,))
    thread.start()
    thread.join()      # the forkserver gets its parent-death signal now: this thread started it
    time.sleep(1)
    with worker_pool(1) as pool:
        found.append(pool.submit(os.getppid).result())
    print(*found)
"""


def test_the_forkserver_outlives_the_thread_that_started_it(tmp_path):
    script = tmp_path / "thread_then_main.py"
    script.write_text(THREAD_THEN_MAIN)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=STARTUP_SECONDS)
    assert run.returncode == 0, run.stderr
    first, second = run.stdout.split()
    assert first == second    # one forkserver served both pools


def test_a_script_without_a_main_guard_trains_with_workers(tmp_path):
    """multiprocessing runs the main script again in each new worker unless it is guarded by
    ``if __name__ == "__main__":``; tokforge's workers do not, so a plain script works (its top level
    runs once) and the pool's workers really count."""
    script = tmp_path / "train_me.py"
    script.write_text(
        "import os, tokforge\n"
        "print('script ran in', os.getpid(), flush=True)\n"
        f"tok = tokforge.train({str(CORPORA)!r}, vocab_size=300, workers=2, held_out=0.0)\n"
        "print('trained', tok.vocab_size, tok.training['counting']['workers'], flush=True)\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert len([x for x in lines if x.startswith("script ran in")]) == 1
    assert lines[-1] == "trained 300 2"
