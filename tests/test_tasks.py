"""TaskRunner: this process runs the first tasks while the pool's workers start, then the workers run
the rest; the results come in the order of the tasks either way."""
import os
import threading
import time

import pytest

from tokforge.errors import WorkerError
from tokforge.tasks import TaskRunner


def _where_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def _where_and_power(base: int, x: int) -> tuple[int, int]:
    return os.getpid(), base ** x


def _end_if_a_worker(main_pid: int) -> int:
    if os.getpid() != main_pid:
        os._exit(1)  # a worker that dies mid-task
    return main_pid


def test_the_first_task_runs_here_while_the_workers_start_then_the_workers_run_the_rest():
    with TaskRunner("local", workers=2) as run:
        def tasks():
            yield (0,)
            run.submit(int).result()  # returns once the workers have started
            yield from ((i,) for i in range(1, 7))
        got = list(run.in_order(_where_and_square, tasks()))
    assert [square for _, square in got] == [i * i for i in range(7)]
    assert got[0][0] == os.getpid()
    assert all(pid != os.getpid() for pid, _ in got[1:])


def test_the_shared_object_goes_to_tasks_run_here_and_in_the_workers():
    with TaskRunner("local", workers=2, shared=3) as run:
        def tasks():
            yield (2,)
            run.submit(_where_and_power, 0).result()
            yield (3,)
        got = list(run.in_order(_where_and_power, tasks()))
    assert [value for _, value in got] == [9, 27]
    assert got[0][0] == os.getpid() != got[1][0]


def test_a_worker_that_dies_is_a_worker_error_even_after_a_head_start():
    with pytest.raises(WorkerError, match="worker process ended unexpectedly"):
        with TaskRunner("local", workers=2) as run:
            def tasks():
                yield (os.getpid(),)          # run here: nothing happens
                run.submit(int).result()
                yield (os.getpid(),)          # in a worker: it dies, the pool breaks
            list(run.in_order(_end_if_a_worker, tasks()))


def _thread_and_power(shared, x):
    time.sleep(0.01 * (x % 3))  # finishing out of order: the results still come in order
    return threading.current_thread().name, shared ** x


def test_threads_run_the_tasks_in_this_process_with_the_shared_object_and_results_in_order():
    with TaskRunner("local", workers=2, shared=2, threads=True) as run:
        got = list(run.in_order(_thread_and_power, ((x,) for x in range(12))))
        assert run.window == 3
    assert [value for _, value in got] == [2 ** x for x in range(12)]
    assert {name for name, _ in got} <= {"tokforge-worker_0", "tokforge-worker_1"} and len({n for n, _ in got}) == 2


def test_leaving_threads_by_an_exception_drops_the_tasks_not_started():
    started = []

    def task(x):
        started.append(x)
        time.sleep(0.05)
        if x == 1:
            raise ValueError("task 1 failed")
        return x

    with pytest.raises(ValueError, match="task 1 failed"):
        with TaskRunner("local", workers=2, threads=True) as run:
            for future in [run.submit(task, x) for x in range(20)]:
                future.result()
    time.sleep(0.2)
    assert len(started) < 20  # the queued ones were cancelled; the pool was shut down on leaving
