"""Student notebooks: no solution survives and the stubs are tagged (test_chapters.py runs them)."""

from __future__ import annotations

import re

import nbformat
import pytest
from notebook_utils import NOTEBOOKS

from tools import make_student_notebooks as make_students


def _solution_lines(source: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == make_students.BEGIN:
            inside = True
        elif line.strip() == make_students.END:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


def test_strip_solutions_keeps_indentation_and_reports_top_level():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    out, top = make_students.strip_solutions(src)
    assert "return x + 1" not in out and f"    {make_students.STUB}" in out and not top
    out, top = make_students.strip_solutions("a = None\n### BEGIN SOLUTION\na = 3\n### END SOLUTION\n")
    assert out.splitlines() == ["a = None", make_students.STUB] and top
    for bad in ["### BEGIN SOLUTION\nx", "### END SOLUTION\n", "### BEGIN SOLUTION\n### BEGIN SOLUTION\n"]:
        with pytest.raises(ValueError):
            make_students.strip_solutions(bad)


def _outside_lines(source: str) -> list[str]:
    """The lines of a cell outside its solution markers."""
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == make_students.BEGIN:
            inside = True
        elif line.strip() == make_students.END:
            inside = False
        elif not inside:
            lines.append(line)
    return lines


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_student_notebook_has_no_solution(path):
    teacher = nbformat.read(path, as_version=4)
    student = make_students.student_version(teacher)
    solutions = [line for c in teacher.cells if c.cell_type == "code" for line in _solution_lines(c.source)]
    assert solutions, f"{path.name} has no marked solution"
    code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    assert make_students.BEGIN not in code and make_students.END not in code
    # lines a solution shares with the code around it (a stub "answer = {", a closing "}") prove nothing
    outside = {line.strip() for c in teacher.cells if c.cell_type == "code" for line in _outside_lines(c.source)}
    survivors = [line for line in solutions if line.strip() not in outside
                 and not re.fullmatch(r"(return )?[\w.]+\(", line.strip())  # a bare call opener, "cl.fit(", "return float("
                 and (line in code.splitlines() or f"    {line}" in code)]
    assert not survivors, f"solution code left in the student notebook: {survivors}"
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    assert code.count("cl.check(") + code.count("cl.check(") >= 3
    assert teacher.cells[2].source == student.cells[2].source  # the rest is untouched
    # That it runs top to bottom is tested in test_chapters.py, in the chapter's one execution.
