"""Shared test settings: no GUI for matplotlib, no progress bars, a fixed seed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("COURSE_PROGRESS", "0")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def seed() -> int:
    """Every test starts from the same random state, whatever ran before it."""
    import random

    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    return 0
HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the book once per test session and return the HTML folder.

    Every chapter is executed once (tools/execute_chapters.py, shared with tests/test_chapters.py)
    and its outputs stored in the book's execution cache; the build then executes nothing itself.
    """
    from notebook_utils import NOTEBOOKS, executed_chapter

    failed = [p.name for p in NOTEBOOKS if executed_chapter(p)[0]["error"] is not None]
    if failed:
        pytest.fail(f"not building the book: {failed} failed to execute (see test_chapters)")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # keep inline figures
    env["COURSE_PROGRESS"] = "0"
    jb = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jb), "build", str(ROOT), "--all", "--warningiserror", "--nitpick", "--keep-going"],
                            capture_output=True, text=True, env=env, timeout=3000)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "Executing notebook" not in log, "the book build executed a chapter a second time"
    assert log.count("Using cached notebook") == len(NOTEBOOKS), log[-3000:]
    return HTML
