"""The notebooks' setup cell installs course_lib where it is missing (as on Colab).

A fresh virtual environment gets no course_lib; the packages Colab would already have (torch,
NumPy, Matplotlib...) are made visible to it through a .pth file. COURSE_LIB_SOURCE points the
setup cell at a copy of this checkout instead of the network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest
from notebook_utils import NOTEBOOKS, ROOT


def _setup_source() -> str:
    nb = json.loads(NOTEBOOKS[0].read_text())
    cell = nb["cells"][2]  # after the badge and the title cell
    assert "setup" in cell["metadata"]["tags"]
    return "".join(cell["source"])


@pytest.mark.slow
def test_setup_cell_installs_course_lib_in_a_fresh_environment(tmp_path):
    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # What Colab ships (torch, numpy, matplotlib, ipywidgets, tqdm) but not course_lib: the .pth
    # adds our site-packages as a plain path, so the editable course_lib hook is not run.
    (Path(site) / "colab_like.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    check = subprocess.run([str(python), "-c", "import torch, numpy, matplotlib\n"
                            "import importlib.util as u; print(u.find_spec('course_lib') is None)"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert check.stdout.strip() == "True", check.stderr

    source = tmp_path / "checkout"
    shutil.copytree(ROOT / "course_lib", source / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    script = tmp_path / "setup_cell.py"
    script.write_text(_setup_source() + "\nprint('imported', cl.__name__, cl.__file__)\n")
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "COURSE_LIB_SOURCE": str(source), "HOME": str(tmp_path),
           "COURSE_PROGRESS": "0", "PIP_NO_BUILD_ISOLATION": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = subprocess.run([str(python), str(script)], capture_output=True, text=True, cwd=tmp_path,
                            env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "course_lib: device=" in result.stdout  # the cell says which device it will use
    assert str(env_dir) in result.stdout.split("imported course_lib ")[1]  # installed into the fresh env
    again = subprocess.run([str(python), "-m", "pip", "list"], capture_output=True, text=True, env=env)
    assert "course_lib" in again.stdout.replace("-", "_")
    frozen = subprocess.run([str(python), "-m", "pip", "list", "--path", site], capture_output=True, text=True,
                            env=env).stdout.lower()
    assert "torch" not in frozen and "numpy" not in frozen, "the setup cell reinstalled what Colab ships"


def test_setup_cell_is_the_same_in_every_notebook():
    sources = {"".join(json.loads(p.read_text())["cells"][2]["source"]) for p in NOTEBOOKS}
    assert len(sources) == 1
    (src,) = sources
    assert "find_spec(\"course_lib\") is None" in src and "torch" not in src.split("import course_lib")[0]
    assert "[sys.executable, \"-m\", \"pip\"" in src  # installs into the kernel's own interpreter
