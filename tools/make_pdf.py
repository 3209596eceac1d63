"""Print the whole book to one PDF (``make pdf``): Jupyter Book's single-page HTML, printed by Chromium.

``jupyter-book build . --builder singlehtml`` puts every page in one HTML file (the Makefile runs it
first, from the execution cache ``make book`` or ``make test`` filled); this script opens that file
in the system Chromium (Playwright) and prints it with the print style sheet: no navigation, every
figure with its number and caption, the claim callouts, and the solutions folded (omitted).

    python tools/make_pdf.py                 # _build/singlehtml/index.html -> _build/pdf/book.pdf
    python tools/make_pdf.py --html X --out Y
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("google-chrome") or "/usr/bin/chromium"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def print_pdf(html: Path, out: Path) -> int:
    """Print ``html`` to ``out`` with Chromium's print layout (A4, backgrounds kept); return the byte size."""
    from playwright.sync_api import sync_playwright

    if not html.exists():
        raise SystemExit(f"no single-page book at {html}: run jupyter-book build . --builder singlehtml")
    refresh = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', html.read_text(errors="ignore")[:500])
    if refresh:  # index.html only redirects to the page holding the book, whose links are relative to
        page_file = html.parent / "_print.html"  # the folder of index.html: print a copy placed there
        page_file.write_text((html.parent / refresh.group(1)).read_text())
        html = page_file
    out.parent.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_Quiet, directory=str(html.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # MathJax needs http, not file:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    path = html.name
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/{path}", wait_until="load")
        if page.locator("script[src*='mathjax']").count():
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=60000)
            page.evaluate("() => MathJax.startup.promise")
        # the theme loads images lazily: load every one before printing
        page.evaluate("() => document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
        page.wait_for_function("() => Array.from(document.images).filter(i => i.src.startsWith(location.origin))"
                               ".every(i => i.complete && i.naturalWidth > 0)", timeout=60000)
        page.emulate_media(media="print")
        page.pdf(path=str(out), format="A4", print_background=True,
                 margin={"top": "18mm", "bottom": "18mm", "left": "15mm", "right": "15mm"})
        browser.close()
    server.shutdown()
    return out.stat().st_size


def main() -> int:
    """Command line: print the single-page book to a PDF."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "singlehtml" / "index.html")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf" / "book.pdf")
    args = parser.parse_args()
    size = print_pdf(args.html, args.out)
    print(f"wrote {args.out} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
