"""Sphinx extension: serve MathJax 3 from the book itself, so maths renders with no internet.

MathJax comes from the pinned ``django-static-mathjax`` wheel (plain MathJax 3 files; Django is
not needed). Its ``es5`` folder is copied to ``_static/mathjax`` and Sphinx's ``mathjax_path``
points there, for offline classrooms and for the browser test.
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


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copytree(_mathjax_es5(), Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension."""
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
