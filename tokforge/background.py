"""Work in a background thread whose exceptions reach the caller: ``prefetch`` (an iterator produced
ahead, e.g. reading and scanning the next block of a corpus while this thread counts) and
``in_background`` (one call, e.g. SuperBPE's second count while its first stage merges).

    >>> list(prefetch(iter(range(5))))
    [0, 1, 2, 3, 4]
    >>> wait = in_background(sum, [1, 2, 3])
    >>> wait()
    6

The threads are daemons: a run stopped by an error or a signal does not wait for them. One may then
still be loading or compiling kernels (numba, in LLVM) while the interpreter tears down the objects
LLVM uses, which can abort the process; so at exit this module takes numba's compiler lock first (it
waits for the kernel being loaded, and none starts after).
"""
from __future__ import annotations

import atexit
import threading
from queue import Full, Queue
from typing import Any, Callable, Iterator, TypeVar

T = TypeVar("T")


def _no_compiling_after_exit() -> None:
    """Wait for a daemon thread's kernel being compiled or loaded, and keep the others from starting
    one (numba's lock, never released: the process is ending)."""
    from numba.core.compiler_lock import global_compiler_lock
    global_compiler_lock.acquire()


class _Producer:
    """A daemon thread putting ``items`` into a queue, at most ``depth`` ahead of ``take``."""

    _DONE = object()

    def __init__(self, items: Iterator[Any], depth: int, name: str) -> None:
        atexit.unregister(_no_compiling_after_exit)  # once per process
        atexit.register(_no_compiling_after_exit)
        self._items = items
        self._queue: Queue = Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            for item in self._items:
                while not self._stop.is_set():
                    try:
                        self._queue.put((item, None), timeout=0.1)
                        break
                    except Full:
                        pass
                if self._stop.is_set():
                    return
            self._queue.put((self._DONE, None))
        except BaseException as e:  # handed to the consumer
            self._queue.put((self._DONE, e))

    def take(self) -> tuple[bool, Any]:
        """(True, the next item), or (False, None) at the end; the producer's exception is raised here."""
        item, error = self._queue.get()
        if item is self._DONE:
            if error is not None:
                raise error
            return False, None
        return True, item

    def close(self) -> None:
        """Stop producing (the thread ends at its next item) and wait a little for it."""
        self._stop.set()
        self._thread.join(timeout=5)


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` produced by a background thread up to ``depth`` ahead; its exceptions are
    raised here, and stopping early stops it."""
    producer = _Producer(items, depth, "tokforge-prefetch")
    try:
        while True:
            more, item = producer.take()
            if not more:
                return
            yield item
    finally:
        producer.close()


def in_background(fn: Callable[..., T], *args: Any) -> Callable[[], T]:
    """Start ``fn(*args)`` in a thread; the returned function waits for its result (or raises
    its exception)."""
    producer = _Producer((fn(*args) for _ in range(1)), 1, "tokforge-background")

    def wait() -> T:
        _, result = producer.take()
        producer.close()
        return result
    return wait
