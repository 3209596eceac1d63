"""The book builds with warnings as errors, executing every chapter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from notebook_utils import NOTEBOOKS, ROOT

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


@pytest.mark.slow
def test_book_builds_every_chapter_with_figures(built_book):
    for nb in NOTEBOOKS:
        page = built_book / "notebooks" / f"{nb.stem}.html"
        assert page.exists(), f"{page} missing"
        html = page.read_text()
        assert "<img" in html, f"{nb.name} has no figure in the book"
        assert "Traceback" not in html
    assert (built_book / "book" / "references.html").exists()
