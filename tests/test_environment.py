"""The environments the book runs in: the full lock used by make and CI, and the lower bounds of
pyproject.toml, installed as on Colab (older NumPy, Matplotlib and ipywidgets already present)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import venv

import pytest
import tomllib
from notebook_utils import NOTEBOOKS, ROOT, nbval_workspace, pinned_commit, setup_script

LIBRARY_TESTS = ["test_augment.py", "test_calibration_and_shift.py", "test_chapter4_pieces.py", "test_config.py",
                 "test_data.py", "test_diagnose.py", "test_exercises.py", "test_heads.py", "test_metrics.py", "test_models.py",
                 "test_plots.py", "test_train.py"]


def _pins(path):
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_lock_pins_everything_and_agrees_with_the_direct_pins():
    lock_lines = [x for x in (ROOT / "requirements.lock").read_text().splitlines() if x and not x.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^\s=]+", x) for x in lock_lines), "a lock line is not name==version"
    lock, direct = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements.txt")
    assert len(lock) > 3 * len(direct), "the lock holds few more packages than the direct pins: not a full lock"
    for name, version in direct.items():
        assert lock.get(name) == version, f"{name}: requirements.txt pins {version}, the lock {lock.get(name)}"
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet -r requirements.lock" in makefile


def test_make_test_runs_the_fast_size():
    recipe = (ROOT / "Makefile").read_text().split("\ntest:")[1].split("\n\n")[0]
    assert "COURSE_SIZE=fast $(BIN)/python -m pytest" in recipe


def test_the_lower_bounds_have_their_own_command():
    """It builds a second environment (minutes): `make lowerbounds`, not part of `make test`."""
    makefile = (ROOT / "Makefile").read_text()
    assert '-m "not lowerbounds"' in makefile.split("\ntest:")[1].split("\n\n")[0]
    assert "-m lowerbounds" in makefile.split("\nlowerbounds:")[1].split("\n\n")[0]


def test_lower_bounds_are_the_colab_like_versions_tested_below():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = dict(re.fullmatch(r"([a-z]+)>=([\d.]+)", d).groups() for d in deps)
    assert {k: bounds[k] for k in ("numpy", "matplotlib", "ipywidgets")} == \
        {"numpy": "1.26", "matplotlib": "3.8", "ipywidgets": "7.7"}


@pytest.mark.lowerbounds
def test_library_and_a_chapter_on_the_lower_bounds(tmp_path):
    """numpy 1.26, matplotlib 3.8, ipywidgets 7.7 installed first (as Colab ships them); every
    chapter's setup cell installs the library from the commit it names and the chapter's imports run,
    replacing none of them; then the library's unit tests and chapter 1 (the README's nbval command) pass."""
    env_dir = tmp_path / "lower"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = str(env_dir / "bin" / "python")
    lock = _pins(ROOT / "requirements.lock")
    # Matplotlib 3.8 imports IPython's backend2gui, gone from IPython 8.24 on (Colab pairs it with IPython 7.34).
    colab = ["numpy==1.26.4", "matplotlib==3.8.4", "ipywidgets==7.7.1", "tqdm==4.66.1", "ipython<8.24",
             f"torch=={lock['torch']}"]
    tools = [f"{n}=={lock[n]}" for n in ("pytest", "nbval", "nbclient", "nbformat")] + ["ipykernel"]

    def pip(*args):
        out = subprocess.run([py, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True,
                             text=True, timeout=1200)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return out.stdout

    # Everything else at the lock's versions (IPython, the kernel, ...), so that only the bounds differ.
    exempt = {"numpy", "matplotlib", "ipywidgets", "widgetsnbextension", "jupyterlab-widgets", "tqdm", "ipython",
              "ipykernel", "matplotlib-inline", "ipython-pygments-lexers", "comm", "jedi", "parso"}
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in lock.items() if n not in exempt))
    pip("install", "--quiet", "-c", str(constraints), *colab, *tools)
    before = {p["name"].lower(): p["version"] for p in json.loads(pip("list", "--format=json"))}
    # The library as on Colab: every chapter's setup cell (the first installs it, from this repository at
    # the commit the cell names, not from the working tree), then the chapter's imports.
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "MPLBACKEND": "Agg",
           "COURSE_PROGRESS": "0", "COURSE_SIZE": "fast", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "COURSE_LIB_SOURCE": f"git+file://{ROOT}@{pinned_commit(NOTEBOOKS[0])}"}
    for path in NOTEBOOKS:
        ran = subprocess.run([py, str(setup_script(path, tmp_path))], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
        assert ran.returncode == 0 and str(env_dir) in ran.stdout, path.name + ran.stdout + ran.stderr
    after = {p["name"].lower(): p["version"] for p in json.loads(pip("list", "--format=json"))}
    changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
    assert not changed, f"installing course_lib replaced {changed}"
    assert after["numpy"] == "1.26.4" and after["ipywidgets"] == "7.7.1"

    for folder in ("tests", "notebooks", "tools"):  # test_plots reads the chapters and tools/wrap_code.py
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    unit = subprocess.run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *LIBRARY_TESTS], capture_output=True,
                          text=True, cwd=tmp_path / "tests", env=env, timeout=1200)
    assert unit.returncode == 0, unit.stdout[-5000:]
    folder = nbval_workspace(tmp_path / "work", NOTEBOOKS[:1])
    nb = subprocess.run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "."],
                        capture_output=True, text=True, cwd=folder, env=env, timeout=1200)
    assert nb.returncode == 0, nb.stdout[-5000:]
