"""The lessons redesign's measurable limits (tools/lesson_stats.py), measured on the stored chapters 1-9."""

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


CHAPTERS_1_TO_9 = sorted((ROOT / "notebooks").glob("0[1-9]_*.ipynb"))


def test_chapters_read_as_lessons():
    """Median code cell <= 8 non-blank lines, none over 25, chapters 1-9 together <= 2,100 lines, claim cells
    <= 10% of the code, no notebook function over 10 lines and no claim over 3 lines."""
    stats = lesson_stats.book_stats(CHAPTERS_1_TO_9)
    assert stats["median"] <= 8, stats["median"]
    assert stats["longest"] <= 25, {k: c["longest"] for k, c in stats["chapters"].items() if c["longest"] > 25}
    assert stats["lines"] <= 2100, stats["lines"]
    assert stats["claim_share"] <= 0.10, stats["claim_share"]
    assert not stats["notebook_functions_over_limit"], stats["notebook_functions_over_limit"]
    assert not stats["claims_over_limit"], stats["claims_over_limit"]


def test_every_chapter_reads_as_a_lesson():
    """Chapters written after the redesign (10 on) keep its limits: each chapter's median code cell <= 8
    non-blank lines, none over 25, no notebook function over 10 lines, no claim over 3 lines; claim cells
    <= 10% of the whole book's code."""
    every = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in every:
        stats = lesson_stats.book_stats([path])
        assert stats["median"] <= 8 and stats["longest"] <= 25, (path.name, stats["median"], stats["longest"])
        assert not stats["notebook_functions_over_limit"] and not stats["claims_over_limit"], path.name
    assert lesson_stats.book_stats(every)["claim_share"] <= 0.10


def test_long_claims_are_seen():
    """Control: a claim spread over one argument per line is over the limit, a one-line claim is not."""
    spread = 'cl.claim(\n    "s",\n    v,\n    "<",\n    1,\n    control=c,\n)'
    assert lesson_stats.long_claims(spread, 3) == [("s", 7)]
    assert lesson_stats.long_claims('cl.claim("s", v, "<", 1, control=c)', 3) == []
