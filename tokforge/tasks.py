"""Where tasks run: in this process, in threads of this process, in worker processes
(``tokforge.processes.worker_pool``) or on a Dask cluster, with their results taken in the order they
were submitted. Counting (``tokforge.counting.engines``) and shard writing (``tokforge.sampling.shards``)
both run on it. Threads (``threads=True``) suit tasks that spend their time in compiled kernels that
release the GIL: they start at once and share this process's memory and loaded kernels.

``TaskRunner(engine, workers, scheduler, shared=obj)`` is a context manager: ``submit(fn, *args)``
runs ``fn(obj, *args)`` (``fn(*args)`` without ``shared``) and returns a future; ``in_order`` keeps
at most ``window`` tasks in flight and yields their results in order. ``shared`` goes to each
worker once (a pool's initializer; ``Client.scatter`` on Dask), not with every task. A worker lost
for good (a killed process; Dask's ``KilledWorker`` after its retries) is a one-line ``WorkerError``.

Worker processes take about a second to start (the forkserver loads tokforge and its kernels first):
meanwhile ``in_order`` runs the first tasks in this process, so no core waits. Which process runs a
task never changes its result.

    >>> with TaskRunner("local", workers=1, shared=10) as run:
    ...     list(run.in_order(pow, [(2,), (3,)]))
    [100, 1000]
"""
from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any, Callable, Iterable, Iterator

from tokforge.errors import ConfigError, WorkerError
from tokforge.processes import worker_pool

ENGINES = ("local", "dask")
_NOTHING = object()
_shared_in_worker: list[Any] = []


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ConfigError(f"engine {engine!r} is unknown; choose one of {', '.join(ENGINES)}")
    return engine


class _Done:
    """A finished computation, with the interface of a future."""

    def __init__(self, value: Any):
        self.value = value

    def result(self) -> Any:
        return self.value


def _keep_shared(shared: Any) -> None:
    _shared_in_worker[:] = [shared]


def _with_shared(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(_shared_in_worker[0], *args)


class TaskRunner:
    """Runs tasks with an engine (see the module's docstring). ``workers``: the processes of this
    machine (``engine="local"``; 1 is this process) or of a LocalCluster (``engine="dask"`` with
    ``scheduler`` ``"local"``/None); ``scheduler`` may also be a Dask scheduler address or a
    ``dask.distributed.Client``. ``threads``: with ``engine="local"``, ``workers`` threads of this
    process instead of processes. After entering, ``workers`` is the number of workers that run tasks
    and ``window`` how many tasks ``in_order`` keeps in flight."""

    def __init__(self, engine: str, workers: int, scheduler: Any = None, shared: Any = _NOTHING,
                 threads: bool = False):
        self.engine, self.workers, self.scheduler = check_engine(engine), workers, scheduler
        self.shared, self.threads = shared, threads
        self.window = 1
        self._submit: Callable[..., Any] = lambda fn, *args: _Done(fn(*args))
        self._lost: tuple[type[BaseException], ...] = ()
        self._stack = ExitStack()   # what to close on leaving, last opened first
        self._starting: _WorkersStarting | None = None  # a pool's workers, while they start

    def __enter__(self) -> "TaskRunner":
        try:
            self._open()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> bool:
        return self._stack.__exit__(*exc)  # a worker pool stops its workers at once on an exception

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Start ``fn`` on the next free worker; a future (``.result()``)."""
        return self._submit(fn, *args)

    def in_order(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[Any]:
        """``fn(*args)`` (with ``shared`` first) for each ``args`` of ``tasks``, at most ``window`` at a
        time, the results in the order of ``tasks``."""
        pending: deque = deque()
        for args in tasks:
            if self._starting is not None and self._starting.running():
                pending.append(_Done(self._run_here(fn, *args)))  # this process works while they start
            else:
                pending.append(self.submit(fn, *args))
            while pending and (len(pending) >= self.window or isinstance(pending[0], _Done)):
                yield self._result(pending.popleft())
        while pending:
            yield self._result(pending.popleft())

    def _run_here(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args) if self.shared is _NOTHING else fn(self.shared, *args)

    def _result(self, future: Any) -> Any:
        try:
            return future.result()
        except self._lost:
            raise WorkerError("a Dask worker was lost several times while running a task (killed, or out of "
                              "memory); check the workers' memory and run again") from None

    def _open(self) -> None:
        has_shared = self.shared is not _NOTHING
        if self.engine == "dask":
            client = self._dask_client()
            self.workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
            self.window = 2 * self.workers
            if has_shared:
                handle = client.scatter(self.shared, broadcast=True, hash=False)
                self._submit = lambda fn, *args: client.submit(fn, handle, *args, pure=False)
            else:
                self._submit = lambda fn, *args: client.submit(fn, *args, pure=False)
        elif self.workers == 1:
            if has_shared:
                self._submit = lambda fn, *args: _Done(fn(self.shared, *args))
        elif self.threads:
            threads = ThreadPoolExecutor(self.workers, thread_name_prefix="tokforge-worker")
            # leaving (also by an exception): tasks not started are dropped, running ones end first
            self._stack.callback(threads.shutdown, wait=True, cancel_futures=True)
            self.window = self.workers + 1
            self._submit = lambda fn, *args: threads.submit(self._run_here, fn, *args)
        else:
            pool = self._stack.enter_context(
                worker_pool(self.workers, *((_keep_shared, (self.shared,)) if has_shared else ())))
            self.window = self.workers + 1
            self._starting = _WorkersStarting(pool, self.workers)
            self._stack.callback(self._starting.join)  # before the pool closes (last opened, first closed)
            submit = (lambda fn, *args: pool.submit(_with_shared, fn, *args)) if has_shared else pool.submit
            self._submit = lambda fn, *args: (self._starting.wait(), submit(fn, *args))[1]

    def _dask_client(self):
        try:
            from dask.distributed import Client, KilledWorker, LocalCluster
        except ImportError:
            raise ConfigError("engine 'dask' needs dask.distributed: pip install 'tokforge[cluster]'") from None
        self._lost = (KilledWorker,)
        if isinstance(self.scheduler, Client):
            return self.scheduler
        if self.scheduler in (None, "local"):
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            self._stack.callback(cluster.close)
            client = Client(cluster)
        else:
            try:
                client = Client(self.scheduler, timeout="10s")
            except (OSError, TimeoutError) as e:
                raise ConfigError(f"cannot reach the Dask scheduler at {self.scheduler}: {e}. Check the "
                                  "address (tcp://host:8786), or use --scheduler local") from None
        self._stack.callback(client.close)
        return client


class _WorkersStarting:
    """A pool's workers, started by a thread of their own: starting one waits for the forkserver to be
    ready (about a second, once), and this process has work to do meanwhile (``TaskRunner.in_order``)."""

    def __init__(self, pool: Any, workers: int):
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, args=(pool, workers), name="tokforge-workers-starting",
                                        daemon=True)
        self._thread.start()

    def _start(self, pool: Any, workers: int) -> None:
        try:
            for _ in range(workers):
                pool.submit(int)  # each submit starts a worker, until there are ``workers``
        except BaseException as e:  # raised in the thread that waits (a pool that is broken or shut down)
            self._error = e

    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self) -> None:
        self._thread.join()

    def wait(self) -> None:
        """Return once the workers have started; raise what starting them raised."""
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
