"""The book builds with warnings as errors, executing every chapter."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from notebook_utils import NOTEBOOKS
from test_notebooks import output_defects


class _OutputText(HTMLParser):
    """Collects the text inside the cell-output containers of a myst-nb page."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.chunks = 0, []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag not in ("br", "img", "hr", "input", "meta", "link")
        elif tag == "div" and "cell_output" in (dict(attrs).get("class") or ""):
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.chunks.append(data)


def page_output_text(html: str) -> str:
    """The text of every cell output on a built page."""
    parser = _OutputText()
    parser.feed(html)
    return "\n".join(parser.chunks)


def test_page_output_text_reads_only_outputs():
    html = ('<p>nan in prose</p><div class="cell_output docutils container"><div><pre>R² nan</pre>'
            '<img src="a.png"></div></div><p>after</p>')
    assert page_output_text(html).strip() == "R² nan"


@pytest.mark.slow
def test_book_builds_every_chapter_with_figures(built_book):
    for nb in NOTEBOOKS:
        page = built_book / "notebooks" / f"{nb.stem}.html"
        assert page.exists(), f"{page} missing"
        html = page.read_text()
        assert "<img" in html, f"{nb.name} has no figure in the book"
        assert "Traceback" not in html
        outputs = page_output_text(html)
        assert outputs.strip(), f"{nb.name}: no cell output found on the page"
        assert not output_defects(outputs), f"{nb.name} shows {output_defects(outputs)} in its outputs"
    assert (built_book / "book" / "references.html").exists()
