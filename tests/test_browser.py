"""The built book, opened in headless Chromium as a reader would see it.

Skipped (with a clear reason) where Debian's Chromium is not installed; .ci/run installs it.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path

import pytest
from notebook_utils import NOTEBOOKS, ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "_build" / "screenshots"  # a full-page picture of every page, to look at
SCREENSHOT = SCREENSHOTS / "chapter.png"
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
        # Every figure is numbered and captioned, and its alt text says what it shows (not a file name).
        alts = page.eval_on_selector_all(".cell_output img", "els => els.map(e => e.alt || '')")
        named = [a for a in alts if len(a) < 30 or re.search(r"\.(png|jpe?g|svg)$|^[0-9a-f]{16,}", a)]
        assert not named, f"images whose alt text is missing or a file name: {named[:3]}"
        captions = page.locator("figure figcaption").all_inner_texts()
        # Numbered within the chapter ("Figure 2.3"), so that the prose and a printout can cite them.
        chapter = int(nb.name[:2])
        numbers = [f"Figure {chapter}.{k}" for k in range(1, len(captions) + 1)]
        assert len(captions) >= figures, captions[:3]
        assert [c.split(" ", 2)[:2] for c in captions] == [n.split(" ") for n in numbers], captions[:3]
        # Maths is typeset by the book's own MathJax (no internet needed).
        assert page.locator("mjx-container").count() > 0, "no maths rendered"
        assert page.locator("script[src*='_static/mathjax/tex-chtml.js']").count() == 1
        # The Colab launch button opens this chapter's notebook.
        links = page.eval_on_selector_all("a[href*='colab.research.google.com']", "els => els.map(e => e.href)")
        student = [link for link in links if "/blob/students/" in link]  # the student version's link
        launch = [link for link in links if link not in student]
        assert launch and all(link.endswith(f"/notebooks/{nb.name}") for link in launch), launch
        assert student and all(link.endswith(f"/blob/students/{nb.name}") for link in student), student
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
        import course_lib as cl

        assert f"Built from course_lib {cl.__version__}" in page.content(), "the footer names no version"
        page.close()
        assert not errors, (name, errors)
    assert SCREENSHOT.stat().st_size > 10_000, "the chapter screenshot was not saved"


def _notebook_counts(nb: Path) -> dict[str, int]:
    """What the notebook asks the page to show: claim callouts, sources from course_lib, solutions."""
    import nbformat

    cells = [c for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code"]
    return {"claims": sum("cl.claim(" in c.source for c in cells),
            "sources": sum("show_source(" in c.source for c in cells),
            "solutions": sum("### BEGIN SOLUTION" in c.source for c in cells),
            "widgets": sum("cl.widgets." in c.source for c in cells)}


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_page_reads_as_a_page(site, browser, nb):
    """Issue #20, as a reader sees it: the page opens on the title and the learning goals (no code
    above them, the setup cell's code hidden); every claim shows as a callout with its code folded;
    every source shown from course_lib is on the page; a widget shows only its static twin; every
    solution is folded. A full-page screenshot of each chapter is saved for a person to look at."""
    page, _ = _open(browser, f"{site}/notebooks/{nb.stem}.html")
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{nb.stem}.png"), full_page=True)
        counts = _notebook_counts(nb)
        first = page.evaluate("""() => {
            const article = document.querySelector('article');
            const shown = e => e.offsetParent !== null && e.getClientRects().length > 0;
            const items = [...article.querySelectorAll('h1, div.cell_input, div.cell_output')].filter(shown);
            const goals = [...article.querySelectorAll('p')].find(p => p.innerText.startsWith('Learning goals'));
            const firstCode = items.find(e => !e.matches('h1'));
            return {first: items.length ? items[0].tagName : null,
                    goalsBeforeCode: !!goals && !!firstCode &&
                        !!(goals.compareDocumentPosition(firstCode) & Node.DOCUMENT_POSITION_FOLLOWING),
                    setupCodeShown: [...article.querySelectorAll('div.cell_input')].filter(shown)
                        .some(e => e.innerText.includes('find_spec'))};
        }""")
        assert first["first"] == "H1", f"the page opens on {first['first']}, not on the chapter's title"
        assert first["goalsBeforeCode"], "the learning goals do not come before the first code cell or output"
        assert not first["setupCodeShown"], "the setup cell's code is shown"
        # Claims read as claims: each callout is on the page, its assert folded until clicked.
        callouts = page.locator(".cell_output .course-claim")
        assert callouts.count() == counts["claims"], (callouts.count(), counts["claims"])
        assert all(callouts.nth(i).is_visible() for i in range(callouts.count()))
        claim_code = page.locator("div.tag_nbval-check-output div.cell_input")
        assert claim_code.count() >= counts["claims"]
        assert not any(claim_code.nth(i).is_visible() for i in range(claim_code.count())), \
            "a claim's assert code is shown unfolded"
        # Code shown where it is taught: each show_source output is a visible highlighted block.
        sources = page.locator(".cell_output div.highlight pre")
        shown_sources = sum(sources.nth(i).is_visible() for i in range(sources.count()))
        assert shown_sources >= counts["sources"], (shown_sources, counts["sources"])
        # A widget shows only its static twin: no live-widget text on the page.
        assert "interactive(children=" not in page.inner_text("article")
        # Every solution is folded.
        solutions = page.locator("details.hide.above-input", has_text="BEGIN SOLUTION")
        assert solutions.count() == counts["solutions"], (solutions.count(), counts["solutions"])
        for i in range(solutions.count()):
            assert not solutions.nth(i).locator("div.cell_input").first.is_visible(), "a solution is shown"
        exercises = page.locator("article p strong", has_text="Exercise")
        assert exercises.count() >= 3, "fewer than three exercises on the page"
    finally:
        page.close()


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_code_cell_or_output_scrolls_sideways(site, browser, nb):
    page, _ = _open(browser, f"{site}/notebooks/{nb.stem}.html")
    try:
        wide = page.eval_on_selector_all(
            "div.cell_input pre",
            # shown code only: a folded cell's <pre> is not laid out (width 0, no rendered text)
            "els => els.filter(e => e.offsetParent !== null && e.clientWidth > 0 && e.innerText.trim()"
            " && e.scrollWidth > e.clientWidth + 1)"
            ".map(e => e.innerText.split('\\n').reduce((a, b) => a.length > b.length ? a : b))")
        assert not wide, f"code cells wider than the page: {wide[:3]}"
        # So does what the cells print and the library source they show.
        wide_out = page.eval_on_selector_all(
            "div.cell_output pre",
            "els => els.filter(e => e.offsetParent !== null && e.clientWidth > 0 && e.innerText.trim()"
            " && e.scrollWidth > e.clientWidth + 1)"
            ".map(e => e.innerText.split('\\n').reduce((a, b) => a.length > b.length ? a : b))")
        assert not wide_out, f"outputs wider than the page: {wide_out[:3]}"
        # Displayed maths fits too (MathJax clips an equation wider than the column).
        clipped = page.eval_on_selector_all(
            "mjx-container[display='true']",
            "els => els.filter(e => e.offsetParent !== null && e.firstElementChild"
            " && e.firstElementChild.getBoundingClientRect().width > e.getBoundingClientRect().width + 1)"
            ".map(e => e.textContent.slice(0, 60))")
        assert not clipped, f"equations wider than the page: {clipped}"
    finally:
        page.close()


@pytest.mark.parametrize("nb", NOTEBOOKS[1:3], ids=[p.stem for p in NOTEBOOKS[1:3]])
def test_chapter_prints_with_figures_and_callouts_without_navigation(site, browser, nb, tmp_path):
    """Printed from the browser (print media, Chromium's page.pdf): the navigation is hidden, every
    figure and claim callout is there, and the folded solutions stay folded."""
    page, errors = _open(browser, f"{site}/notebooks/{nb.stem}.html")
    try:
        page.emulate_media(media="print")
        shown = ("sel => Array.from(document.querySelectorAll(sel)).filter(e => e.offsetParent !== null "
                 "&& getComputedStyle(e).display !== 'none').length")
        for chrome in (".bd-sidebar-primary", ".bd-header", ".bd-sidebar-secondary"):
            assert page.evaluate(shown, chrome) == 0, f"{chrome} is printed"
        assert page.evaluate(shown, ".cell_output img") >= _figures_in(nb)
        assert page.evaluate(shown, "figure figcaption") >= _figures_in(nb)
        assert page.evaluate(shown, "[role=note]") >= 1, "no claim callout is printed"
        assert page.evaluate("document.querySelectorAll('details.hide[open]').length") == 0
        # Paper has no scroll bar: at A4's printable width no code block or output is cut off.
        page.set_viewport_size({"width": 680, "height": 1000})
        cut = page.evaluate("() => Array.from(document.querySelectorAll('pre')).filter("
                            "e => e.scrollWidth > e.clientWidth + 2).map(e => e.innerText.slice(0, 60))")
        assert not cut, f"{len(cut)} code blocks or outputs are cut off in print, e.g. {cut[:2]}"
        pdf = tmp_path / f"{nb.stem}.pdf"
        page.pdf(path=str(pdf))
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 100_000
        assert not errors, errors
    finally:
        page.close()


PAGES = [f"notebooks/{p.stem}" for p in NOTEBOOKS] + [
    "book/preface", "book/how_to_use", "book/questions", "book/teaching", "book/running_fast", "book/references"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_passes_the_accessibility_audit_in_both_themes(site, browser, theme):
    """axe-core (axe-playwright-python): no serious or critical violation on any page, light or dark
    theme (the theme's switch is one click away from every reader; the page reads it from localStorage)."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    context = browser.new_context(color_scheme=theme, viewport={"width": 1280, "height": 900})
    context.add_init_script(f"localStorage.setItem('theme', '{theme}'); localStorage.setItem('mode', '{theme}');")
    found = {}
    try:
        page = context.new_page()
        for name in PAGES:
            page.goto(f"{site}/{name}.html", wait_until="load")
            assert page.evaluate("document.documentElement.dataset.theme") == theme, name
            violations = [v for v in axe.run(page).response["violations"] if v["impact"] in ("serious", "critical")]
            if violations:
                found[name] = {v["id"]: [n["target"] for n in v["nodes"][:2]] for v in violations}
    finally:
        context.close()
    assert not found, f"serious or critical accessibility violations in the {theme} theme: {found}"
