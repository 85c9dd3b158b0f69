"""Work in a background thread whose exceptions reach the caller: ``prefetch`` (an iterator produced
ahead, e.g. reading and scanning the next block of a corpus while this thread counts).

    >>> list(prefetch(iter(range(5))))
    [0, 1, 2, 3, 4]
"""
from __future__ import annotations

import threading
from queue import Full, Queue
from typing import Iterator, TypeVar

T = TypeVar("T")


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` produced by a background thread up to ``depth`` ahead; its exceptions are
    raised here, and stopping early stops it."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put((item, None), timeout=0.1)
                        break
                    except Full:
                        pass
                if stop.is_set():
                    return
            queue.put((done, None))
        except BaseException as e:  # handed to the consumer
            queue.put((done, e))

    worker = threading.Thread(target=produce, name="tokforge-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = queue.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)
