"""The lessons redesign's measurable limits (tools/lesson_stats.py), those the book meets so far."""

from __future__ import annotations

from notebook_utils import ROOT

from tools import lesson_stats  # noqa: E402


def test_no_course_lib_function_is_longer_than_60_lines():
    stats = lesson_stats.book_stats(sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    assert not stats["library_functions_over_limit"], stats["library_functions_over_limit"]


def test_the_measure_counts_what_it_says():
    """Control: a long function and a claim cell are seen as such."""
    long = "def f():\n" + "    x = 1\n" * 12
    assert lesson_stats.long_functions(long, 10) == [("f", 13)]
    assert lesson_stats.lines("a\n\n  \nb\n") == 2
    nb = {"cells": [{"cell_type": "code", "source": "cl.setup()", "metadata": {"tags": ["setup"]}},
                    {"cell_type": "code", "source": "### BEGIN SOLUTION\nx = 1", "metadata": {}},
                    {"cell_type": "code", "source": "y = 2\nz = 3", "metadata": {}}]}
    assert lesson_stats.shown_code(nb) == ["y = 2\nz = 3"]
