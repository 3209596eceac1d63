"""Sphinx extension: the book's own assets, so that it works offline and without JS errors.

* MathJax 3 is served from the book itself, so maths renders with no internet. It comes from the
  pinned ``django-static-mathjax`` wheel (plain MathJax 3 files; Django is not needed). Its
  ``es5`` folder is copied to ``_static/mathjax`` and Sphinx's ``mathjax_path`` points there.
* The reference list is a plain block, not an ARIA list of non-items (accessibility audit).
* Every page's footer names the library version and commit the book was built from.
* Each page lists each script once. sphinx-thebe 0.3 registers its inline configuration script
  once through the builder and once through the registry, and the second copy raises "THEBE_JS_URL has already been declared".
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError


def _mathjax_es5() -> Path:
    import mathjax  # the package of django-static-mathjax

    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").exists():
        raise ExtensionError(f"offline_mathjax: no tex-chtml.js under {es5}")
    return es5


def _use_local_mathjax(app: Sphinx, config: Any) -> None:
    _mathjax_es5()
    config.mathjax_path = "mathjax/tex-chtml.js"


def _show_version(app: Sphinx, config: Any) -> None:
    """Every page's footer says which library (and commit) the book was built from."""
    import subprocess

    import course_lib

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=app.srcdir, check=False).stdout.strip()
    built = f"course_lib {course_lib.__version__}" + (f", commit {commit}" if commit else "")
    options = dict(config.html_theme_options or {})
    releases = f"{config.html_baseurl.rstrip('/')}/releases/" if config.html_baseurl else "releases/"
    options["extra_footer"] = (f"<p>Built from {built}. A release's notebooks pin the library they were "
                               f'run with, and <a href="{releases}">every release\'s book</a> stays at its '
                               "own address: see <em>Teaching with this book</em>.</p>")
    config.html_theme_options = options


def _plain_citation_list(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Docutils marks the reference list role="list" around role="doc-biblioentry" entries, which
    is not a list item: screen readers (and axe-core) expect listitem children. The entries keep
    their own role; the wrapper becomes a plain div."""
    if "body" in context and 'role="list" class="citation-list"' in context["body"]:
        context["body"] = context["body"].replace('<div role="list" class="citation-list">',
                                                  '<div class="citation-list">')


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copytree(_mathjax_es5(), Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def _dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    seen: set[tuple[str, tuple]] = set()
    unique = []
    for js in context.get("script_files", []):
        # Sphinx 7 registers an inline script twice, once with filename None and once with ''.
        name = getattr(js, "filename", js) or ""
        key = (str(name), tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"][:] = unique


def _add_print_style(app: Sphinx, config: Any) -> None:
    """The print style sheet (book/_ext/static/book_print.css): code wraps on paper."""
    config.html_static_path = [*config.html_static_path, str(Path(__file__).parent / "static")]


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension."""
    app.connect("config-inited", _add_print_style)
    app.add_css_file("book_print.css")
    app.connect("config-inited", _use_local_mathjax)
    app.connect("config-inited", _show_version)
    app.connect("html-page-context", _dedupe_scripts, priority=100)  # early: a later handler may end the event
    app.connect("html-page-context", _plain_citation_list)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
