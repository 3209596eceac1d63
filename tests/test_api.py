"""The public API stays lean: the top level holds what most chapters use, modules hold the rest,
and the modules import each other without a cycle."""

from __future__ import annotations

import ast
import re
import types

import nbformat
from notebook_utils import NOTEBOOKS, ROOT

import course_lib as cl


def _chapter_uses() -> dict[str, set[str]]:
    uses: dict[str, set[str]] = {}
    for path in NOTEBOOKS:
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        for name in re.findall(r"\bcl\.([A-Za-z_]\w*)", code):
            uses.setdefault(name, set()).add(path.stem)
    return uses


def test_top_level_names_are_the_ones_most_chapters_use():
    names = [n for n in cl.__all__ if not isinstance(getattr(cl, n), types.ModuleType)]
    assert 15 <= len(names) <= 25, names
    uses = _chapter_uses()
    rarely = [n for n in names if len(uses.get(n, ())) < 2]
    assert not rarely, f"top-level names used by fewer than two chapters: {rarely}"


def test_chapters_reach_only_public_names():
    public = set(cl.__all__)
    assert not {n for n in _chapter_uses() if n not in public}, "a chapter uses a name missing from __all__"
    for name in cl.__all__:
        assert hasattr(cl, name), name


def test_modules_import_each_other_without_a_cycle():
    graph = {}
    for path in sorted((ROOT / "course_lib").glob("*.py")):
        tree = ast.parse(path.read_text())
        deps = set()
        for node in tree.body:  # module-level imports only: those run at import time
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                deps.add(node.module.split(".")[0])
        graph[path.stem] = deps - {"__init__"}
    graph.pop("__init__")
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 1:
            raise AssertionError(f"import cycle: {' -> '.join(trail + [node])}")
        if state.get(node) == 2:
            return
        state[node] = 1
        for dep in graph.get(node, ()):
            visit(dep, trail + [node])
        state[node] = 2

    for module in graph:
        visit(module, [])
    assert "augment" in graph["train"] and "train" not in graph["augment"]  # the cycle this replaced
