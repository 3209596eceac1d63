"""make pdf: the whole book as one PDF (the single-page HTML printed by the system Chromium).

Skipped, saying why, where Chromium is not installed (.ci/run installs it) or the book is not built.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata

import pytest
from notebook_utils import NOTEBOOKS, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = shutil.which("chromium") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def book_pdf(built_book):
    if CHROMIUM is None:
        pytest.skip("no Chromium here (apt-get install chromium): the PDF test is skipped, not passed")
    pytest.importorskip("pypdf", reason="pypdf is pinned in requirements.lock: run make setup")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    jb = os.path.join(os.path.dirname(sys.executable), "jupyter-book")
    built = subprocess.run([jb, "build", str(ROOT), "--builder", "singlehtml", "--warningiserror", "--nitpick",
                            "--keep-going"], capture_output=True, text=True, env=env, timeout=1800)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-2000:]
    assert "Executing notebook" not in built.stdout + built.stderr, "the PDF build executed a chapter again"
    out = ROOT / "_build" / "pdf" / "book.pdf"
    printed = subprocess.run([sys.executable, str(ROOT / "tools" / "make_pdf.py"), "--out", str(out)],
                             capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stdout + printed.stderr
    from pypdf import PdfReader

    reader = PdfReader(str(out))
    return reader, "\n".join(page.extract_text() or "" for page in reader.pages)


def _plain(text: str) -> str:
    """Text as compared: ligatures unfolded (NFKC), straight quotes, single spaces."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.replace("\u201c", '"').replace("\u201d", '"').split())


def _titles_and_captions() -> tuple[list[str], list[str]]:
    titles, captions = [], []
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text())["cells"]
        title = next("".join(c["source"]) for c in cells if "".join(c["source"]).startswith("# "))
        titles.append(title.splitlines()[0][2:].split(":")[0].strip())
        for c in cells:
            cap = c.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("caption")
            if cap:
                captions.append(" ".join(cap.split()[:4]))
    return titles, captions


def test_the_pdf_holds_every_chapter_figure_and_caption_and_no_solution(book_pdf):
    reader, text = book_pdf
    flat = _plain(text)  # the PDF's text has ligatures (ﬁ) and typographic quotes (’)
    titles, captions = _titles_and_captions()
    assert len(reader.pages) >= 100, len(reader.pages)
    assert sum(len(page.images) for page in reader.pages) >= len(captions)
    missing = [t for t in titles if _plain(t) not in flat]
    assert not missing, f"chapter titles not in the PDF: {missing}"
    missing = [c for c in captions if _plain(c) not in flat]
    assert not missing, f"figure captions not in the PDF: {missing[:5]}"
    printed = [line for line in _solution_lines() if _plain(line) in flat]
    assert not printed, f"solutions are printed: {printed[:3]}"


def _solution_lines() -> list[str]:
    """Lines of the reference solutions (30+ characters) that appear nowhere else in the chapters."""
    import re

    solution, elsewhere = [], []
    for nb in NOTEBOOKS:
        for c in json.loads(nb.read_text())["cells"]:
            src = "".join(c["source"])
            blocks = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", src, re.S)
            solution += [ln.strip() for b in blocks for ln in b.splitlines() if len(ln.strip()) >= 30]
            elsewhere.append(re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", src, flags=re.S))
    rest = "\n".join(elsewhere)
    return [ln for ln in solution if ln not in rest]
