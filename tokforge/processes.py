"""Worker processes that never outlive tokforge, and a main process that stops cleanly on a signal.

Counting (``tokforge.counting.engines``) and shard writing (``tokforge.sampling.shards``) run their tasks in a
``worker_pool``: a ``ProcessPoolExecutor`` whose workers fork from a warm forkserver (it imports
``tokforge._preload``). The chain main process -> forkserver -> workers ends whenever the main process
ends, however it ends (SIGKILL included):

- each worker watches a pipe whose writing end only the main process holds: when the main process
  dies, the kernel closes it, the worker reads end-of-file and exits at once (on any system; also
  when the main process was gone before the worker started);
- on Linux each worker also gets the parent-death signal SIGKILL (``prctl(PR_SET_PDEATHSIG)``): it
  dies with the forkserver; the forkserver gets one from the main process and ends when the main
  process is gone (not when only the thread that started it ends, which also sends the signal);
- the forkserver ends when neither the main process nor a worker is left (multiprocessing's rule),
  and the resource tracker when no process holds its pipe any more.

Leaving ``worker_pool`` by an exception (an error, Ctrl-C, ``stop_on_signals``) closes that pipe
first, so running tasks stop at once instead of finishing. A worker never exits halfway through
sending a result: the pool's manager thread would wait forever for the rest of the message. A worker that dies under the pool (killed,
out of memory) is a one-line ``WorkerError``.

    >>> with worker_pool(2) as pool:
    ...     pool.submit(pow, 2, 10).result()
    1024
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
from multiprocessing import spawn
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator

from tqdm import tqdm

from tokforge.errors import ConfigError, WorkerError

PR_SET_PDEATHSIG = 1                 # linux/prctl.h
FORKSERVER_DEATH_SIGNAL = signal.SIGUSR1 if hasattr(signal, "SIGUSR1") else None
WORKER_EXIT_CODE = 70                # a worker whose main process is gone (EX_SOFTWARE)
SEND_GRACE_SECONDS = 60              # how long an exiting worker lets a result it is sending finish
_forkserver_pid: int | None = None   # set in the forkserver by follow_main_process; workers inherit it
_sending = threading.Lock()          # in a worker: held while it writes a result to the main process
result_pipe_guarded = False          # in a worker: its result pipe's sends hold _sending
AUTO_PARALLEL_BYTES = 32 << 20       # workers=0 (auto) does smaller inputs in this process


def check_workers(workers: Any) -> int:
    """``workers`` when it is a whole number >= 0 (0: all cores), else ConfigError."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ConfigError(f"workers must be a whole number >= 0 (0: all cores), got {workers!r}")
    return workers


def worker_count(workers: int, total_bytes: int) -> int:
    """The processes to use for ``workers`` (``check_workers``) on an input of ``total_bytes``: 0 is
    every core, or this process alone below ``AUTO_PARALLEL_BYTES``.

    >>> worker_count(3, 0), worker_count(0, 1000)
    (3, 1)
    """
    if check_workers(workers) == 0:
        return available_cores() if total_bytes >= AUTO_PARALLEL_BYTES else 1
    return workers


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Stopped(BaseException):
    """The main process was asked to stop (SIGTERM, SIGINT): raised where it is, like KeyboardInterrupt."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


@contextlib.contextmanager
def worker_pool(workers: int, initializer: Callable[..., None] | None = None,
                initargs: tuple = ()) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` processes forked from tokforge's warm forkserver that end with this
    process; ``initializer(*initargs)`` runs in each worker first. Shut down on leaving: waits for
    the tasks on success, stops the workers at once on an exception."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tokforge._preload"])
    main_alive_reader, main_alive = context.Pipe(duplex=False)  # only this process ever holds the writer
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(main_alive_reader, initializer, initargs))
    try:
        yield pool
    except BaseException as e:
        main_alive.close()                              # the workers exit now, whatever they are doing
        pool.shutdown(wait=True, cancel_futures=True)
        if isinstance(e, BrokenProcessPool):
            raise WorkerError("a worker process ended unexpectedly (killed by a signal or out of memory); run "
                              "again, with fewer --workers or a smaller --memory-budget if memory is short") from None
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        main_alive.close()
        main_alive_reader.close()


def _start_worker(main_alive: Any, initializer: Callable[..., None] | None, initargs: tuple) -> None:
    """Runs first in every worker: end with the forkserver and the main process, leave Ctrl-C to
    the main process, then the pool's own initializer."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if FORKSERVER_DEATH_SIGNAL is not None:
        signal.signal(FORKSERVER_DEATH_SIGNAL, signal.SIG_DFL)  # inherited from the forkserver
    if set_parent_death_signal(signal.SIGKILL) and _forkserver_pid not in (None, os.getppid()):
        os._exit(WORKER_EXIT_CODE)          # the forkserver ended before the signal was set
    _guard_result_pipe()
    threading.Thread(target=_exit_when_closed, args=(main_alive,), name="tokforge-main-alive",
                     daemon=True).start()
    # tqdm's default lock is a multiprocessing RLock: a named semaphore that a worker ending abruptly
    # would leave to the resource tracker (which then warns); workers draw no bars, a thread lock does
    tqdm.set_lock(threading.RLock())
    if initializer is not None:
        initializer(*initargs)


def _exit_when_closed(main_alive: Any) -> None:
    """Block until the main process closes its end of the pipe (or dies), then exit this process,
    but not halfway through sending a result (see ``_GuardedWriter``)."""
    try:
        while True:
            main_alive.recv_bytes()
    except (EOFError, OSError):
        _sending.acquire(timeout=SEND_GRACE_SECONDS)   # kept: no new send starts
        os._exit(WORKER_EXIT_CODE)


class _GuardedWriter:
    """A worker's end of the pool's result pipe whose sends hold ``_sending``.

    A message cut short by the worker's exit would leave the pool's manager thread in the main
    process reading the rest forever (the main process holds a writing end too: no end of file),
    and ``shutdown`` waiting for that thread."""

    def __init__(self, writer: Any):
        self._writer = writer

    def send_bytes(self, *args: Any, **kwargs: Any) -> None:
        with _sending:
            self._writer.send_bytes(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)


def _guard_result_pipe() -> None:
    """Wrap the result pipe of ``concurrent.futures``' worker loop (the ``result_queue`` of its
    ``_process_worker``, our caller's caller) in a ``_GuardedWriter``; left as it is if not found."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_name != "_process_worker":
        frame = frame.f_back
    global result_pipe_guarded
    queue = frame.f_locals.get("result_queue") if frame is not None else None
    if queue is not None and hasattr(queue, "_writer"):
        if not isinstance(queue._writer, _GuardedWriter):
            queue._writer = _GuardedWriter(queue._writer)
        result_pipe_guarded = True


def leave_the_users_script_alone() -> None:
    """In the forkserver (``tokforge._preload``): the workers forked from it do not run the main
    process's script. multiprocessing would import it in every new worker (as ``__mp_main__``), so a
    script that calls ``tokforge.train`` without ``if __name__ == "__main__":`` would train again
    inside each worker and fail; the workers run tokforge's own functions only, which need no part of
    the script."""
    original = spawn.prepare

    def prepare(data: dict[str, Any]) -> None:
        original({k: v for k, v in data.items() if k not in ("init_main_from_name", "init_main_from_path")})

    spawn.prepare = prepare


def follow_main_process() -> None:
    """In the forkserver (``tokforge._preload``): end when the main process that started it ends.

    The parent-death signal also comes when only the thread that started the forkserver ends, so
    the handler checks that the parent is really gone. If the main process died before the signal
    was set, multiprocessing's own check ends the forkserver: no worker holds its pipe yet."""
    global _forkserver_pid
    _forkserver_pid = os.getpid()
    if FORKSERVER_DEATH_SIGNAL is None:
        return
    main_pid = os.getppid()

    def _on_parent_death(signum: int, frame: Any) -> None:
        if os.getppid() != main_pid:
            os._exit(WORKER_EXIT_CODE)      # the workers follow: their own parent-death signal

    signal.signal(FORKSERVER_DEATH_SIGNAL, _on_parent_death)
    if set_parent_death_signal(FORKSERVER_DEATH_SIGNAL) and os.getppid() != main_pid:
        os._exit(WORKER_EXIT_CODE)


def set_parent_death_signal(signum: int) -> bool:
    """Linux: have the kernel send ``signum`` to this process when its parent ends. False elsewhere
    (the pipe watch of ``worker_pool`` still ends the workers)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def stop_on_signals(signums: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise ``Stopped`` in the main thread, so pools and
    output writers unwind (workers stop, temporary files go) before the process exits."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise Stopped(signum)

    previous = {s: signal.signal(s, _raise) for s in signums}
    try:
        yield
    except SystemError as e:  # raised during a compiled kernel's call, Python reports a SystemError
        cause: BaseException | None = e
        while isinstance(cause, SystemError):
            cause = cause.__cause__
        if isinstance(cause, Stopped):
            raise cause from None
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
