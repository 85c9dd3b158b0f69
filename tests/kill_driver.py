"""Runs ``tokforge.cli.main`` in forked children that SIGKILL themselves just before the k-th call that
changes the file system (tests/test_folders.py). tokforge has no test hooks: the calls are patched here.

Patched (each call is one step): ``open`` for writing, ``os.open`` with write or create flags,
``os.write`` to a regular file, ``os.ftruncate``, ``os.fsync``, ``os.mkdir``, ``os.rmdir``,
``os.unlink``/``os.remove``, ``os.rename``/``os.replace`` and tokforge's renameat2 exchange
(``tokforge.io.folders._exchange``; ``shutil.rmtree`` goes through ``os.unlink`` and ``os.rmdir``).

Usage: python tests/kill_driver.py LOG_FOLDER. Protocol: one JSON command a line on stdin, one JSON
answer a line on stdout.
  {"args": [...], "kill_at": k, "portable": false, "in_process": false}
  -> {"status": exit status, or -9 when killed, "steps": steps of the run (when it was not killed),
      "stdout": ..., "stderr": ...}
kill_at 0: never. portable: as on a system without renameat2 (the two-rename swap). in_process: run in
this process (to load the kernels once; every child then inherits them), never killed.
"""
import builtins
import contextlib
import io
import json
import os
import signal
import stat
import sys
import traceback

from tokforge.cli import main
import tokforge.io.folders

_state = {"steps": 0, "kill_at": 0}


def _step() -> None:
    _state["steps"] += 1
    if _state["steps"] == _state["kill_at"]:
        os.kill(os.getpid(), signal.SIGKILL)


def _counted(fn, counts=lambda *a, **k: True):
    def wrapper(*args, **kwargs):
        if counts(*args, **kwargs):
            _step()
        return fn(*args, **kwargs)
    return wrapper


def _writes(file, mode="r", *args, **kwargs) -> bool:
    return any(c in mode for c in "wax+")


def _opens_for_writing(path, flags, *args, **kwargs) -> bool:
    return bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))


def _to_regular_file(fd, *args) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)


def patch() -> None:
    builtins.open = io.open = _counted(builtins.open, _writes)
    os.open = _counted(os.open, _opens_for_writing)
    os.write = _counted(os.write, _to_regular_file)
    for name in ("ftruncate", "fsync", "mkdir", "rmdir", "unlink", "remove", "rename", "replace"):
        setattr(os, name, _counted(getattr(os, name)))
    tokforge.io.folders._exchange = _counted(tokforge.io.folders._exchange)


def _run(args: list[str]) -> int:
    try:
        main(args, prog_name="tokforge")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


def run_in_process(command: dict) -> dict:
    """Run the command line ``command["args"]`` here: its exit status, steps, stdout and stderr (with the
    traceback of an exception that escaped; status 70)."""
    out, err = io.StringIO(), io.StringIO()
    _state.update(steps=0, kill_at=0)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = _run(command["args"])
        except BaseException:
            traceback.print_exc()
            status = 70
    return {"status": status, "steps": _state["steps"], "stdout": out.getvalue(), "stderr": err.getvalue()}


def run_in_child(command: dict, logs: str) -> dict:
    read_end, write_end = os.pipe()
    out_path, err_path = os.path.join(logs, "stdout"), os.path.join(logs, "stderr")
    pid = os.fork()
    if pid == 0:  # the child: output to the log files, then count (and maybe die)
        os.close(read_end)
        for fd, path in ((1, out_path), (2, err_path)):
            log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(log, fd)
            os.close(log)
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), write_through=True)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), write_through=True)
        if command.get("portable"):
            tokforge.io.folders._exchange = lambda a, b: False
        _state.update(steps=0, kill_at=command.get("kill_at", 0))
        try:
            status = _run(command["args"])
        except BaseException:  # a traceback: shown in stderr, never back into the command loop
            traceback.print_exc()
            status = 70
        os.write(write_end, str(_state["steps"]).encode())
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        steps = pipe.read().decode()
    _, wait_status = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(wait_status)
    with open(out_path, encoding="utf-8") as f, open(err_path, encoding="utf-8") as g:
        return {"status": status, "steps": int(steps) if steps else None, "stdout": f.read(), "stderr": g.read()}


if __name__ == "__main__":
    logs = sys.argv[1]  # a folder for the children's output
    patch()
    for line in sys.stdin:
        command = json.loads(line)
        answer = run_in_process(command) if command.get("in_process") else run_in_child(command, logs)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
