"""An installed wheel ships the kernels as tokforge.kernels, never as a top-level `kernels` module."""
import os
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_kernels_under_the_tokforge_namespace(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(dist)],
                   check=True, cwd=tmp_path)
    (wheel,) = dist.glob("tokforge-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tokforge/kernels/bpe_train.py" in names
    assert {"tokforge/data/morph/tr.json", "tokforge/data/morph/tr_roots.tsv", "tokforge/data/morph/en.json",
            "tokforge/data/unicode/hf_unicode.json"} <= set(names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith("kernels/") for n in names), "a top-level kernels/ would clash with PyPI's `kernels`"

    # A new venv whose own site-packages gets the wheel; the dependencies come from this interpreter's
    # site-packages, appended to sys.path by a .pth line (system_site_packages would point at the base
    # interpreter, not at the environment running the tests; .pth files of an appended folder are not
    # read, so this environment's editable tokforge stays out).
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    child_site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                check=True, capture_output=True, text=True).stdout.strip()
    parent_sites = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
                                  *site.getsitepackages()])
    Path(child_site, "_test_dependencies.pth").write_text("".join(f"{p}\n" for p in parent_sites))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                   check=True, cwd=tmp_path)
    probe = (
        "import importlib.util, tokforge, tokforge.kernels.bpe_train as k, numpy as np\n"
        "print(tokforge.__file__)\n"
        "spec = importlib.util.find_spec('kernels')\n"
        "print(spec.origin if spec else None)\n"
        "s = k.init_state(np.array([0, 1, 0, 1], np.int32), np.array([0, 2]), np.array([2, 2]),"
        " np.array([1, 1]), np.arange(2, dtype=np.int64), np.zeros((0, 3), np.int64))\n"
        "s, done = k.merge_steps(s, 5, 3, 1, 0, 0)\n"
        "print(k.merges(s).tolist())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(py), "-c", probe], check=True, cwd=tmp_path, capture_output=True,
                         text=True, env=env).stdout.splitlines()
    assert Path(out[0]).is_relative_to(env_dir), f"tokforge was imported from {out[0]}, not the wheel"
    # the wheel installs no top-level `kernels` (PyPI's `kernels`, a dependency of transformers 5.25, may
    # be importable from the dependencies' site-packages, and must not shadow tokforge.kernels)
    assert out[1] == "None" or not Path(out[1]).is_relative_to(env_dir), "the wheel installed a top-level kernels"
    assert out[2] == "[[0, 1, 2]]"
    help_text = subprocess.run([str(env_dir / "bin" / "tokforge"), "--help"], check=True, cwd=tmp_path,
                               capture_output=True, text=True, env=env).stdout
    assert "train" in help_text and "export" in help_text
