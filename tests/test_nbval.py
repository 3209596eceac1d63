"""The teacher's check, ``python -m pytest --nbval-lax notebooks/`` (README), as a teacher runs it.

- It passes on a machine other than the one that stored the outputs: run here under a thread
  count different from the stored outputs' (CPU training is not bitwise reproducible across thread
  counts, so the claim callouts' measured values differ; nbval compares them through
  ``notebooks/nbval_sanitize.cfg``).
- A lost ``execute_reply`` does not leave nbval waiting (``kernel_client.guard_nbval``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from notebook_utils import NOTEBOOKS, ROOT

# The teacher's command is run on the chapters that execute fastest (about a minute together on
# one thread); every chapter's compared outputs are also checked against the same rules in
# tests/test_chapters.py, from make test's own execution.
TEACHER_CHAPTERS = [p for p in NOTEBOOKS if p.name[:2] in ("01", "03", "08")]


def stored_threads(path: Path) -> int:
    """The CPU thread count the stored outputs were computed with (recorded by sync_notebooks)."""
    return int(nbformat.read(path, as_version=4).metadata["course_outputs"]["threads"])


def other_threads(paths: list[Path]) -> int:
    """A thread count none of ``paths``' stored outputs used: 1, or 2 where 1 was used."""
    return 2 if any(stored_threads(p) == 1 for p in paths) else 1


def nbval(paths: list[Path], threads: int, *extra: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run the README's nbval command on ``paths`` with ``threads`` CPU threads."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "COURSE_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", *extra,
                           *map(str, paths)], capture_output=True, text=True, cwd=cwd, env=env, timeout=1800)


def test_every_chapter_records_its_thread_count():
    assert all(stored_threads(p) >= 1 for p in NOTEBOOKS)


@pytest.mark.slow
def test_the_teachers_nbval_command_passes_under_another_thread_count():
    threads = other_threads(TEACHER_CHAPTERS)
    result = nbval(TEACHER_CHAPTERS, threads)
    assert result.returncode == 0, f"OMP_NUM_THREADS={threads}\n" + result.stdout[-5000:]
    assert " passed" in result.stdout.splitlines()[-1] and "nbval guard" not in result.stderr


def _tiny(tmp_path: Path, first: str, stored: str, drop: bool, guard: bool) -> Path:
    """A two-cell notebook whose first cell's stored output is ``stored``; a conftest beside it
    drops that cell's ``execute_reply`` (``drop``) and installs the guard (``guard``)."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    cell = nbformat.v4.new_code_cell(first, metadata={"tags": ["nbval-check-output"]}, execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
    nb.cells = [cell, nbformat.v4.new_code_cell("print('after')")]
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""
        import sys
        from nbval.kernel import RunningKernel
        sys.path.insert(0, {str(ROOT)!r})
        from tools.kernel_client import guard_nbval

        raw, dropped = RunningKernel.get_message, []

        def dropping(self, stream, timeout=None):
            msg = raw(self, stream, timeout=timeout)
            if {drop!r} and stream == "shell" and msg["msg_type"] == "execute_reply" and not dropped:
                dropped.append(msg)  # lost: the client never sees it, and waits on
                return raw(self, stream, timeout=timeout)
            return msg

        RunningKernel.get_message = dropping

        def pytest_configure(config):
            if {guard!r}:
                guard_nbval(grace=1.0)
        """))
    return tmp_path / "tiny.ipynb"


@pytest.mark.slow
def test_a_lost_reply_ends_the_cell_and_nbval_goes_on(tmp_path):
    path = _tiny(tmp_path, "x = 6 * 7\nprint(x)", "42\n", drop=True, guard=True)
    start = time.monotonic()
    result = nbval([path], 1, "--nbval-cell-timeout=20", cwd=tmp_path)
    assert time.monotonic() - start < 18, "waited for the cell timeout"
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout and "nbval guard: no execute_reply" in result.stdout  # warnings summary


@pytest.mark.slow
def test_a_lost_reply_still_compares_the_cells_outputs(tmp_path):
    path = _tiny(tmp_path, "print(6 * 7)", "41\n", drop=True, guard=True)
    result = nbval([path], 1, "--nbval-cell-timeout=120", cwd=tmp_path)
    assert result.returncode != 0 and "1 failed" in result.stdout


@pytest.mark.slow
def test_without_the_guard_a_lost_reply_waits_for_the_cell_timeout(tmp_path):
    """The control: the simulated loss is real, and nbval alone waits until its cell timeout."""
    path = _tiny(tmp_path, "x = 6 * 7\nprint(x)", "42\n", drop=True, guard=False)
    start = time.monotonic()
    nbval([path], 1, "--nbval-cell-timeout=20", cwd=tmp_path)
    assert time.monotonic() - start >= 20
