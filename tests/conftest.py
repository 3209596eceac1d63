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
HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the book once per test session (as `make book` does) and return the HTML folder."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # keep inline figures
    env["COURSE_PROGRESS"] = "0"
    jb = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jb), "build", str(ROOT), "--all", "--warningiserror", "--nitpick", "--keep-going"],
                            capture_output=True, text=True, env=env, timeout=3000)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    return HTML
