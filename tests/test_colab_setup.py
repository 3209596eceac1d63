"""The notebooks' setup cell installs course_lib where it is missing (as on Colab), from the commit it
names, whose course_lib/ must be exactly the one the stored outputs were computed with.

A fresh virtual environment gets no course_lib; the packages Colab would already have (torch,
NumPy, Matplotlib...) are made visible to it through a .pth file. COURSE_LIB_SOURCE points the
setup cell at this repository (a local clone, at the commit the cell names) instead of the network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest
from notebook_utils import NOTEBOOKS, ROOT, nbval_workspace, pinned_commit, setup_script

from tools import sync_notebooks  # noqa: E402


def _setup_source() -> str:
    nb = json.loads(NOTEBOOKS[0].read_text())
    cell = nb["cells"][2]  # after the badge and the title cell
    assert "setup" in cell["metadata"]["tags"]
    return "".join(cell["source"])


def test_the_pinned_commit_carries_exactly_the_library_the_outputs_came_from():
    """The setup cell's commit has, byte for byte, the working tree's course_lib/ (which every
    stored output was computed with, tools/sync_notebooks.py --check) and [project] table."""
    import subprocess

    if subprocess.run(["git", "rev-parse", "--is-shallow-repository"], capture_output=True, text=True,
                      cwd=ROOT).stdout.strip() == "true":
        pytest.skip("a shallow clone may lack the pinned commit: clone with history to check the pin")
    assert {pinned_commit(p) for p in NOTEBOOKS} == {sync_notebooks.library_commit()}
    assert sync_notebooks.pin_problem() is None, sync_notebooks.pin_problem()


def test_a_changed_library_is_caught_with_the_command_that_fixes_it(tmp_path):
    """The control: a library that differs from the pinned commit's fails the check."""
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "course_lib", repo / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "lib"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    original = sync_notebooks.ROOT
    try:
        sync_notebooks.ROOT = repo
        assert sync_notebooks.pin_problem(commit) is None
        (repo / "course_lib" / "metrics.py").write_text((repo / "course_lib" / "metrics.py").read_text() + "# x\n")
        problem = sync_notebooks.pin_problem(commit)
        assert "course_lib/metrics.py" in problem and "--pin HEAD" in problem
        assert "not in this repository" in sync_notebooks.pin_problem("0" * 40)
    finally:
        sync_notebooks.ROOT = original


@pytest.mark.slow
def test_colab_path_installs_the_pinned_commit_and_runs_the_chapters(tmp_path):
    """As on Colab: a fresh environment that has what Colab ships but not course_lib; every
    chapter's setup cell installs course_lib from a clone of this repository at the commit the cell
    names (not from the working tree) and the chapter's imports run; then chapter 1 runs whole
    through the README's nbval command against that library."""
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

    commit = pinned_commit(NOTEBOOKS[0])
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "MPLBACKEND": "Agg",
           "COURSE_LIB_SOURCE": f"git+file://{ROOT}@{commit}", "COURSE_PROGRESS": "0", "COURSE_SIZE": "fast",
           "PIP_NO_BUILD_ISOLATION": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for i, path in enumerate(NOTEBOOKS):
        result = subprocess.run([str(python), str(setup_script(path, tmp_path))], capture_output=True, text=True, cwd=tmp_path,
                                env=env, timeout=900)
        assert result.returncode == 0, path.name + result.stdout + result.stderr
        assert "course_lib: device=" in result.stdout and 'os.environ["COURSE_SIZE"]' in result.stdout
        assert str(env_dir) in result.stdout.split("imported ")[1], "course_lib did not come from the fresh env"
        if i == 0:
            installed = Path(result.stdout.split("imported ")[1].split()[1]).parent
            for f in (ROOT / "course_lib").glob("*.py"):  # the commit's library is the working tree's
                assert (installed / f.name).read_bytes() == f.read_bytes(), f.name
    frozen = subprocess.run([str(python), "-m", "pip", "list", "--path", site], capture_output=True, text=True,
                            env=env).stdout.lower()
    assert "torch" not in frozen and "numpy" not in frozen, "the setup cell reinstalled what Colab ships"

    folder = nbval_workspace(tmp_path / "work", NOTEBOOKS[:1])
    result = subprocess.run([str(python), "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "."],
                            capture_output=True, text=True, cwd=folder, env=env, timeout=1200)
    assert result.returncode == 0, result.stdout[-5000:]


def test_setup_cell_is_the_same_in_every_notebook():
    sources = {"".join(json.loads(p.read_text())["cells"][2]["source"]) for p in NOTEBOOKS}
    assert len(sources) == 1
    (src,) = sources
    assert "find_spec(\"course_lib\") is None" in src and "torch" not in src.split("import course_lib")[0]
    assert "[sys.executable, \"-m\", \"pip\"" in src  # installs into the kernel's own interpreter


def test_every_notebook_asks_colab_for_a_gpu_runtime():
    for path in NOTEBOOKS:
        meta = json.loads(path.read_text())["metadata"]
        assert meta.get("accelerator") == "GPU" and meta.get("colab", {}).get("gpuType"), path.name
