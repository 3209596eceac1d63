"""Measure how the chapters read as lessons: code cell lengths, claim cells, functions defined inline.

Counts the code cells a reader sees (the setup cell and reference solutions aside), non-blank lines:

    python tools/lesson_stats.py            # one line per chapter and the book's totals
    python tools/lesson_stats.py --json     # the same as JSON

Also lists functions defined in notebooks longer than 10 lines, and ``course_lib`` functions longer
than 60 lines (the limits of the lessons redesign).
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_FUNCTION_LIMIT = 10
LIBRARY_FUNCTION_LIMIT = 60
CLAIM_LIMIT = 3  # lines of one cl.claim(...) call after formatting


def shown_code(nb: dict) -> list[str]:
    """The sources of the code cells a reader sees: not the setup cell, not reference solutions."""
    out = []
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "code" and "setup" not in tags and "BEGIN SOLUTION" not in source:
            out.append(source)
    return out


def lines(source: str) -> int:
    """Non-blank lines."""
    return sum(1 for line in source.splitlines() if line.strip())


def long_functions(source: str, limit: int) -> list[tuple[str, int]]:
    """``(name, lines)`` of every function in ``source`` longer than ``limit`` lines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a notebook cell with IPython magics
        return []
    return [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > limit]


def long_claims(source: str, limit: int) -> list[tuple[str, int]]:
    """``(statement, lines)`` of every ``cl.claim(...)`` call in ``source`` spanning more than ``limit`` lines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    out = []
    for n in ast.walk(tree):
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "claim"
                and n.end_lineno - n.lineno + 1 > limit):
            first = n.args[0] if n.args else None
            out.append((first.value if isinstance(first, ast.Constant) else "?", n.end_lineno - n.lineno + 1))
    return out


def chapter_stats(path: Path) -> dict:
    """One chapter's numbers."""
    cells = shown_code(json.loads(path.read_text()))
    sizes = [lines(c) for c in cells]
    claim = sum(lines(c) for c in cells if "cl.claim(" in c)
    return {"cells": len(cells), "lines": sum(sizes), "median": statistics.median(sizes) if sizes else 0,
            "longest": max(sizes, default=0), "claim_lines": claim,
            "functions_over_limit": [f for c in cells for f in long_functions(c, NOTEBOOK_FUNCTION_LIMIT)],
            "claims_over_limit": [f for c in cells for f in long_claims(c, CLAIM_LIMIT)]}


def book_stats(notebooks: list[Path]) -> dict:
    """Every chapter's numbers and the book's: all cells pooled for the median and the longest."""
    chapters = {p.stem: chapter_stats(p) for p in notebooks}
    sizes = [lines(c) for p in notebooks for c in shown_code(json.loads(p.read_text()))]
    total = sum(c["lines"] for c in chapters.values())
    claim = sum(c["claim_lines"] for c in chapters.values())
    library = [(f"{p.name}:{name}", n) for p in sorted((ROOT / "course_lib").glob("*.py"))
               for name, n in long_functions(p.read_text(), LIBRARY_FUNCTION_LIMIT)]
    return {"chapters": chapters, "cells": len(sizes), "lines": total, "median": statistics.median(sizes),
            "longest": max(sizes), "claim_share": claim / total if total else 0.0,
            "notebook_functions_over_limit": {k: c["functions_over_limit"] for k, c in chapters.items()
                                              if c["functions_over_limit"]},
            "claims_over_limit": {k: c["claims_over_limit"] for k, c in chapters.items() if c["claims_over_limit"]},
            "library_functions_over_limit": library}


def main() -> int:
    """Command line: print the table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    stats = book_stats(sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    if args.json:
        print(json.dumps(stats, indent=1))
        return 0
    for name, c in stats["chapters"].items():
        print(f"{name:<28} {c['cells']:3d} cells {c['lines']:5d} lines, median {c['median']:4.1f}, "
              f"longest {c['longest']:3d}, claim cells {c['claim_lines']:3d} lines")
    print(f"{'book':<28} {stats['cells']:3d} cells {stats['lines']:5d} lines, median {stats['median']:4.1f}, "
          f"longest {stats['longest']:3d}, claim cells {stats['claim_share']:.0%}")
    print("notebook functions over 10 lines:", stats["notebook_functions_over_limit"] or "none")
    print("claims over 3 lines:", {k: len(v) for k, v in stats["claims_over_limit"].items()} or "none")
    print("course_lib functions over 60 lines:", stats["library_functions_over_limit"] or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
