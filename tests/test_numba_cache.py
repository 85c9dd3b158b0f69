"""numba's compile cache on a read-only install (tokforge.kernels.numba_cache).

The installed kernels folder is made read-only for one subprocess with a read-only bind mount in a
private mount namespace (``unshare -m`` as root, ``unshare -rm`` otherwise): permission bits would not
stop root, a read-only mount stops everyone.
"""
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tokforge
from tokforge.kernels import numba_cache

from conftest import CORPORA

KERNELS = Path(numba_cache.__file__).resolve().parent
CLI = [sys.executable, "-c", "from tokforge.cli import main; main(prog_name='tokforge')"]
NOTICE = "no writable folder for numba's compile cache"


def run_read_only(read_only: list[Path], commands: list[list[str]], env: dict[str, str], cwd: Path
                  ) -> subprocess.CompletedProcess:
    """Run ``commands`` one after the other (stopping at the first failure) in a private mount
    namespace where the folders ``read_only`` are read-only bind mounts; the first command checks
    that the kernels folder really refuses a new file."""
    mounts = [f"mount --bind {shlex.quote(str(p))} {shlex.quote(str(p))} && "
              f"mount -o remount,bind,ro {shlex.quote(str(p))}" for p in read_only]
    probe = f"if touch {shlex.quote(str(KERNELS / 'probe'))} 2>/dev/null; then echo kernels-writable >&2; exit 99; fi"
    script = " && ".join(mounts + [probe] + [shlex.join(c) for c in commands])
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    return subprocess.run([*unshare, "sh", "-c", script], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tok = tokforge.train(str(CORPORA / "tr"), vocab_size=300)
    folder = tmp_path_factory.mktemp("numba-cache") / "model"
    tok.save(folder)
    return tok, folder


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "TMP", "TEMP", "XDG_"))}
    return {**env, **extra}


TEXT = "Merhaba dünya! 12345"


def test_read_only_kernels_cache_in_the_user_cache_folder(tmp_path):
    home, cache = tmp_path / "home", tmp_path / "xdg-cache"
    home.mkdir()
    probe = ("from tokforge.kernels.hashtable import probe_int64; import numpy as np; "
             "print(probe_int64(np.full(8, -1, np.int64), 42))")
    run = run_read_only([KERNELS], [CLI + ["--version"], [sys.executable, "-c", probe]],
                        _env(HOME=str(home), XDG_CACHE_HOME=str(cache)), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    from tokforge.kernels.hashtable import probe_int64

    assert run.stdout.split("\n")[:2] == [f"tokforge, version {tokforge.__version__}",
                                          str(probe_int64(np.full(8, -1, np.int64), 42))]
    assert NOTICE not in run.stderr and "Traceback" not in run.stderr
    assert any((cache / "tokforge" / "numba").rglob("*probe_int64*.nbi")), "compiled into the user cache"


def test_nothing_writable_compiles_uncached_with_a_notice(model, tmp_path):
    tok, folder = model
    home = tmp_path / "home"
    (home / ".cache").mkdir(parents=True)
    temp_folders = [Path(p) for p in ("/tmp", "/var/tmp", "/usr/tmp") if Path(p).is_dir()]
    run = run_read_only([KERNELS, home, *temp_folders],
                        [CLI + ["--version"], CLI + ["encode", str(folder), TEXT]],
                        _env(HOME=str(home), TMPDIR=str(home)), cwd=home)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"tokforge, version {tokforge.__version__}"
    assert [int(i) for i in lines[1].split()] == tok.encode(TEXT)
    notices = [line for line in run.stderr.splitlines() if NOTICE in line]
    assert len(notices) == 2 and "NUMBA_CACHE_DIR" in notices[0], run.stderr   # one line per process
    assert "Traceback" not in run.stderr
    assert not any(home.rglob("*.nbi"))


def test_private_temp_folder_is_the_last_fallback(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    temp = tmp_path / "temp"
    temp.mkdir()
    probe = ("from tokforge.kernels import numba_cache as c; import numba; "
             "print(c.CACHE, c.CACHE_FOLDER, numba.config.CACHE_DIR)")
    run = run_read_only([KERNELS, home], [[sys.executable, "-c", probe]],
                        _env(HOME=str(home), TMPDIR=str(temp)), cwd=home)
    assert run.returncode == 0, run.stderr
    private = temp / f"tokforge-numba-{os.getuid()}"
    assert run.stdout.split() == ["True", str(private), str(private)]
    assert private.stat().st_mode & 0o777 == 0o700


def test_a_temp_folder_others_may_write_is_never_used(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    shared = tmp_path / f"tokforge-numba-{os.getuid()}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    assert numba_cache._private_temp_folder() is None
    shared.chmod(0o700)
    assert numba_cache._private_temp_folder() == shared
