"""Helpers for the notebook tests: list the chapters and read their cells."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def cells(path: Path) -> list[dict]:
    """The cells of a notebook, with ``source`` joined into one string."""
    nb = json.loads(path.read_text())
    out = []
    for cell in nb["cells"]:
        cell = dict(cell)
        cell["source"] = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        out.append(cell)
    return out


def tags(cell: dict) -> list[str]:
    """The tags of a cell."""
    return cell.get("metadata", {}).get("tags", [])


_EXECUTED: dict[str, tuple] = {}


def executed_chapter(path: Path) -> tuple[dict, object, list]:
    """Execute a chapter once per test session (tools/execute_chapters.py) and return its summary,
    the executed teacher notebook and the executed student cells. Later calls reuse the run."""
    if path.stem not in _EXECUTED:

        import nbformat

        from tools import execute_chapters as module
        if not _EXECUTED:  # the first run of the session: no cached output of an earlier session survives
            import shutil

            shutil.rmtree(module.CACHE, ignore_errors=True)
        summary = module.execute_chapter(path)
        executed = nbformat.read(module.OUT / path.name, as_version=4)
        student = nbformat.read(module.OUT / f"{path.stem}.student.ipynb", as_version=4).cells
        _EXECUTED[path.stem] = (summary, executed, student)
    return _EXECUTED[path.stem]


def nbval_workspace(folder: Path, chapters: list[Path]) -> Path:
    """Copy ``chapters`` with what the README's nbval command needs beside them (``notebooks/``'s
    conftest and sanitiser, ``tools/kernel_client.py``) into ``folder``; return the chapters' folder."""
    import shutil

    shutil.copytree(ROOT / "tools", folder / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "notebooks").mkdir(parents=True)
    for path in [*chapters, ROOT / "notebooks" / "conftest.py", ROOT / "notebooks" / "nbval_sanitize.cfg"]:
        shutil.copy(path, folder / "notebooks" / path.name)
    (folder / "pytest.ini").write_text("[pytest]\n")
    return folder / "notebooks"


def pinned_commit(path: Path) -> str:
    """The commit a chapter's setup cell installs ``course_lib`` from."""
    import re

    setup = cells(path)[2]["source"]
    return re.search(r'\.git@([0-9a-f]{40})"', setup).group(1)


def setup_script(path: Path, folder: Path) -> Path:
    """Write a script of a chapter's setup cell and every import line of its code cells, ending by
    printing ``imported <version> <file>`` of course_lib (as a Colab reader's first cells would
    install and import it); return its path in ``folder``."""
    code = [c["source"] for c in cells(path) if c["cell_type"] == "code"]
    imports = [line for src in code[1:] for line in src.splitlines() if line.startswith(("import ", "from "))]
    script = folder / f"setup_{path.stem}.py"
    script.write_text(code[0] + "\n" + "\n".join(imports) + "\nprint('imported', cl.__version__, cl.__file__)\n")
    return script
