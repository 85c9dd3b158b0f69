"""Runs tokforge commands on a small file system: a tmpfs of a few hundred KB mounted in a private mount
namespace (``unshare -m`` as root, ``unshare -rm`` as another user), for tests/test_folders.py.

``run_on_small_fs(size, steps)`` returns one result per step. A step is ``{"args": [...]}`` (the tokforge
command line; ``{mnt}`` in an argument is the mount point), ``{"copy": [folder, relative path]}`` (copy a
folder into the file system) or ``{"read_only": true}`` (remount it read-only) or ``{"remove": relative path}`` (remove a folder, to free space). A result holds the exit
status, stdout and stderr of a command (run in one process inside the namespace, as
``tokforge.cli.main``; a traceback would be in stderr), and ``files``: every path under the mount point after the step
(relative path -> sha256 of a file, "/" for a folder).

As a script, inside the namespace after the mount: ``python tests/small_fs.py MOUNT STEPS.json``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MOUNT = 'mount -t tmpfs -o size="$1" tmpfs "$2" && shift 2 && exec "$@"'


def run_on_small_fs(size: str, steps: list[dict]) -> list[dict]:
    """The results of ``steps`` run on a fresh tmpfs of ``size`` (e.g. "128k")."""
    with tempfile.TemporaryDirectory() as scratch:
        mount, spec = Path(scratch) / "mnt", Path(scratch) / "steps.json"
        mount.mkdir()
        spec.write_text(json.dumps(steps))
        tried = []
        for unshare in (["unshare", "-m"], ["unshare", "-rm"]) if os.geteuid() == 0 else (["unshare", "-rm"],):
            run = subprocess.run([*unshare, "sh", "-c", MOUNT, "sh", size, str(mount),
                                  sys.executable, __file__, str(mount), str(spec)],
                                 capture_output=True, text=True, timeout=600)
            if run.returncode == 0:
                return json.loads(run.stdout)
            tried.append(f"{' '.join(unshare)}: exit {run.returncode}: {run.stderr.strip()[-2000:]}")
        raise RuntimeError("cannot run on a small tmpfs in a private mount namespace:\n" + "\n".join(tried))


def files_under(root: Path) -> dict[str, str]:
    files = {}
    for folder, subfolders, names in os.walk(root):
        for name in subfolders:
            files[os.path.relpath(os.path.join(folder, name), root)] = "/"
        for name in names:
            path = os.path.join(folder, name)
            files[os.path.relpath(path, root)] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return files


def _main(mount: Path, steps: list[dict]) -> list[dict]:
    results = []
    for step in steps:
        result: dict = {}
        if "copy" in step:
            source, relative = step["copy"]
            shutil.copytree(source, mount / relative)
        elif "remove" in step:
            shutil.rmtree(mount / step["remove"])
        elif step.get("read_only"):
            subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        else:  # in this process (the kernels load once), as the command line would run it
            from kill_driver import run_in_process
            result = run_in_process({"args": [a.replace("{mnt}", str(mount)) for a in step["args"]]})
        results.append({**result, "files": files_under(mount)})
    return results


if __name__ == "__main__":
    print(json.dumps(_main(Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text()))))
