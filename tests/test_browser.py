"""The built book, opened in headless Chromium as a reader would see it.

Skipped (with a clear reason) where Debian's Chromium is not installed; .ci/run installs it.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest
from notebook_utils import NOTEBOOKS, ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = ROOT / "_build" / "screenshots" / "chapter.png"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="BROWSER TEST SKIPPED: Debian's chromium is not installed "
                                        "(apt-get install chromium); .ci/run installs it")]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def site(built_book):
    """Serve the built HTML on a free localhost port; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    origin = url.split("/")[0] + "//" + url.split("/")[2]
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: errors.append(f"console {msg.text} at {msg.location.get('url')}")
            if msg.type == "error" and str(msg.location.get("url", "")).startswith(origin)
            and "favicon.ico" not in msg.text + str(msg.location.get("url")) else None)
    page.goto(url, wait_until="load")
    if page.locator("script[src*='mathjax']").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                               timeout=20000)
        page.evaluate("() => MathJax.startup.promise")
    return page, errors


def _figures_in(nb: Path) -> int:
    """Images among the notebook's stored outputs, in cells whose output the book shows."""
    import nbformat

    count = 0
    for cell in nbformat.read(nb, as_version=4).cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "remove-output" in tags or "remove-cell" in tags:
            continue
        count += sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
    return count


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_page_in_chromium(site, browser, nb):
    url = f"{site}/notebooks/{nb.stem}.html"
    page, errors = _open(browser, url)
    try:
        if nb == NOTEBOOKS[-1]:
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=False)
        # Every image has loaded.
        sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.src, e.complete, e.naturalWidth])")
        assert sizes, "the chapter page shows no image"
        broken = [src for src, complete, width in sizes if not complete or width == 0]
        assert not broken, f"images that did not load: {broken}"
        # Every figure the notebook shows is on the page.
        figures = _figures_in(nb)
        shown = page.locator(".cell_output img").count()
        assert shown >= figures, f"the notebook shows {figures} figures, the page {shown}"
        # Maths is typeset by the book's own MathJax (no internet needed).
        assert page.locator("mjx-container").count() > 0, "no maths rendered"
        assert page.locator("script[src*='_static/mathjax/tex-chtml.js']").count() == 1
        # The Colab launch button opens this chapter's notebook.
        links = page.eval_on_selector_all("a[href*='colab.research.google.com']", "els => els.map(e => e.href)")
        assert links and all(link.endswith(f"/notebooks/{nb.name}") for link in links), links
        # A solution is hidden until its toggle is clicked.
        toggle = page.locator("details.hide.above-input", has_text="BEGIN SOLUTION").first  # claim cells fold too
        solution = toggle.locator("div.cell_input, .highlight").first
        assert not solution.is_visible(), "a solution is visible before its toggle is clicked"
        toggle.locator("summary").click()
        solution.wait_for(state="visible", timeout=5000)
        assert "BEGIN SOLUTION" in solution.inner_text()
        assert not errors, errors
    finally:
        page.close()


def test_prose_pages_in_chromium(site, browser):
    for name in ("book/preface", "book/how_to_use", "book/teaching", "book/running_fast", "book/references"):
        page, errors = _open(browser, f"{site}/{name}.html")
        assert page.locator("h1").count() >= 1, name
        page.close()
        assert not errors, (name, errors)
    assert SCREENSHOT.stat().st_size > 10_000, "the chapter screenshot was not saved"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_code_cell_scrolls_sideways(site, browser, nb):
    page, _ = _open(browser, f"{site}/notebooks/{nb.stem}.html")
    try:
        wide = page.eval_on_selector_all(
            "div.cell_input pre",
            # shown code only: a folded cell's <pre> is not laid out (width 0, no rendered text)
            "els => els.filter(e => e.offsetParent !== null && e.clientWidth > 0 && e.innerText.trim()"
            " && e.scrollWidth > e.clientWidth + 1)"
            ".map(e => e.innerText.split('\\n').reduce((a, b) => a.length > b.length ? a : b))")
        assert not wide, f"code cells wider than the page: {wide[:3]}"
    finally:
        page.close()
