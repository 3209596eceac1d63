"""Write the student version of every chapter into ``student/`` (``make students``).

In each notebook, the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is replaced
by ``raise NotImplementedError(...)`` at the same indentation; a cell whose stub raises at top
level is tagged ``raises-exception`` so Jupyter Book and nbval accept it. Outputs are cleared,
the solution toggles removed, and the ``cl.check`` cells kept. File names stay the same as the
chapters', so links survive edits.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: replace this line with your answer")'


def strip_solutions(source: str) -> tuple[str, bool]:
    """Replace each solution block of ``source`` by a stub; return the new source and whether a
    stub raises at top level (indentation 0)."""
    out: list[str] = []
    top_level = False
    inside = False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            if inside:
                raise ValueError("nested BEGIN SOLUTION")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            top_level = top_level or indent == ""
            out.append(indent + STUB)
        elif line.strip() == END:
            if not inside:
                raise ValueError("END SOLUTION without BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out), top_level


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of a teacher notebook (a new object; the input is not changed)."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        tags = [t for t in cell.metadata.get("tags", []) if t not in ("hide-input", "remove-output")]
        if BEGIN in cell.source:
            cell.source, raises = strip_solutions(cell.source)
            if raises:
                tags.append("raises-exception")
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    nb.metadata.pop("widgets", None)
    return nb


def main() -> int:
    """Write ``student/NN_topic.ipynb`` for every chapter."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "student", help="folder to write (default: student/)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = student_version(nbformat.read(path, as_version=4))
        (args.out / path.name).write_text(nbformat.writes(nb))
        n = sum(len(re.findall(re.escape(STUB), c.source)) for c in nb.cells if c.cell_type == "code")
        print(f"{args.out.name}/{path.name}: {n} exercise stub(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
