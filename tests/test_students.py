"""Student notebooks: no solution survives, stubs are tagged, and each runs top to bottom."""

from __future__ import annotations

import importlib.util
import os

import nbformat
import pytest
from nbclient import NotebookClient
from notebook_utils import NOTEBOOKS, ROOT

spec = importlib.util.spec_from_file_location("make_students", ROOT / "tools" / "make_student_notebooks.py")
make_students = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_students)


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_student_notebook_has_no_solution_and_runs(path, tmp_path):
    teacher = nbformat.read(path, as_version=4)
    student = make_students.student_version(teacher)
    solutions = [line for c in teacher.cells if c.cell_type == "code" for line in _solution_lines(c.source)]
    assert solutions, f"{path.name} has no marked solution"
    code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    assert make_students.BEGIN not in code and make_students.END not in code
    survivors = [line for line in solutions if line in code.splitlines() or f"    {line}" in code]
    assert not survivors, f"solution code left in the student notebook: {survivors}"
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    assert code.count("cl.check(") + code.count("cl.exercises.check(") >= 3
    assert teacher.cells[2].source == student.cells[2].source  # the rest is untouched
    # Runs top to bottom: only the cells tagged raises-exception may raise.
    env_backup = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        NotebookClient(student, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    finally:
        if env_backup is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backup
    outputs = [o for c in student.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert all(o.ename == "NotImplementedError" for o in errors)
    checks = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert checks.count("✗ not yet") >= 3 and "✓ right" not in checks
