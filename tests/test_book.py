"""The book builds with warnings as errors, executing every chapter."""

from __future__ import annotations

import pytest
from notebook_utils import NOTEBOOKS


@pytest.mark.slow
def test_book_builds_every_chapter_with_figures(built_book):
    for nb in NOTEBOOKS:
        page = built_book / "notebooks" / f"{nb.stem}.html"
        assert page.exists(), f"{page} missing"
        html = page.read_text()
        assert "<img" in html, f"{nb.name} has no figure in the book"
        assert "Traceback" not in html
    assert (built_book / "book" / "references.html").exists()
