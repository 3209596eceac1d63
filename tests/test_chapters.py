"""Every chapter, executed once (tools/execute_chapters.py): its claims hold, the claim outputs
match the stored ones, and its student version runs with every exercise reported "not yet".

The same executions feed the book build (tests/conftest.py: ``built_book``), which then executes
nothing itself.
"""

from __future__ import annotations

import json
import textwrap

import nbformat
import pytest
from notebook_utils import NOTEBOOKS, ROOT, executed_chapter, tags

from tools import execute_chapters

IDS = [p.name for p in NOTEBOOKS]


def _text(cell: dict) -> str:
    """The text a cell printed: its streams and plain-text results, joined."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append("".join(out.get("text", "")))
        elif "text/plain" in out.get("data", {}):
            parts.append("".join(out["data"]["text/plain"]))
    return "".join(parts)


SANITIZER = ROOT / "notebooks" / "nbval_sanitize.cfg"
SKIPPED = {"image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json"}  # as nbval skips them


def compared(cell: dict, patterns: list[tuple[str, str]]) -> list[str]:
    """What nbval compares of a cell's outputs (every stream and every data type it does not skip,
    coalesced), after the sanitiser's replacements."""
    import re

    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            texts = ["".join(out.get("text", ""))]
        else:
            texts = [f"{k}: " + "".join(v) for k, v in sorted(out.get("data", {}).items())
                     if k not in SKIPPED and isinstance(v, (str, list))]
        for text in texts:
            for regex, replace in patterns:
                text = re.sub(regex, replace, text)
            parts.append(text)
    return parts


def checked_output_changes(stored: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> list[str]:
    """For every cell tagged ``nbval-check-output``, a message when the executed output differs from
    the stored one as the README's nbval command compares them (through notebooks/nbval_sanitize.cfg)."""
    from nbval.plugin import get_sanitize_patterns

    patterns = list(get_sanitize_patterns(SANITIZER.read_text()))
    if len(stored.cells) != len(executed.cells):
        return [f"{len(executed.cells)} executed cells for {len(stored.cells)} stored ones"]
    changes = []
    for i, (old, new) in enumerate(zip(stored.cells, executed.cells, strict=True)):
        if old.cell_type == "code" and "nbval-check-output" in tags(old):
            before, after = compared(old, patterns), compared(new, patterns)
            if before != after:
                changes.append(f"cell {i}: stored {before!r}, now {after!r}")
    return changes


def errors(cells: list) -> list[dict]:
    """The error outputs of some executed cells."""
    return [o for c in cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_runs_and_its_claims_hold(path):
    summary, executed, _ = executed_chapter(path)
    assert summary["error"] is None, f"{path.name} failed:\n{summary['error']}"
    stored = nbformat.read(path, as_version=4)
    assert not checked_output_changes(stored, executed), checked_output_changes(stored, executed)
    unexpected = [o for c in executed.cells if c.cell_type == "code" and "raises-exception" not in tags(c)
                  for o in c.get("outputs", []) if o.output_type == "error"]
    assert not unexpected


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_reference_solution_passes_its_check(path):
    """The teacher's version: each exercise check, run on the folded solution, says right."""
    _, executed, _ = executed_chapter(path)
    checks = [c for c in executed.cells if c.cell_type == "code" and "cl.check(" in c.source]
    assert checks, f"{path.name} has no exercise check"
    wrong = [_text(c) for c in checks if "✓" not in _text(c)]
    assert not wrong, wrong


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_version_runs_with_every_exercise_open(path):
    summary, _, student = executed_chapter(path)
    assert summary["error"] is None, f"{path.name} failed:\n{summary['error']}"
    assert all(e.ename == "NotImplementedError" for e in errors(student)), errors(student)
    checks = "".join(o.get("text", "") for c in student for o in c.get("outputs", []) if o.output_type == "stream")
    assert checks.count("✗ not yet") >= 3 and "✓ right" not in checks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercise_tail_is_only_exercises(path):
    """The student run restarts at the first solution cell; that is only sound if every code cell
    from there on is an exercise (a solution or its check) and the same in both versions before."""
    nb = nbformat.read(path, as_version=4)
    start = execute_chapters.first_solution_cell(nb)
    for cell in nb.cells[start:]:
        if cell.cell_type == "code":
            assert execute_chapters.BEGIN in cell.source or "check(" in cell.source, cell.source[:80]
    student = execute_chapters.student_version(nb)
    assert [c.source for c in student.cells[:start]] == [c.source for c in nb.cells[:start]]


def _tiny(tmp_path, claim: str, stored: str, answer: str = "return 1", last: str = "print(x)"):
    """A two-part notebook: a claim cell (stored output ``stored``) and one exercise."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    claim_cell = nbformat.v4.new_code_cell(textwrap.dedent(claim), metadata={"tags": ["nbval-check-output"]})
    claim_cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
    solution = f"def f():\n    ### BEGIN SOLUTION\n    {answer}\n    ### END SOLUTION"
    check = "try:\n    print('✓ right' if f() == 1 else '✗ wrong')\nexcept NotImplementedError:\n    print('✗ not yet')"
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), claim_cell, nbformat.v4.new_code_cell(solution),
                nbformat.v4.new_code_cell(check), nbformat.v4.new_code_cell(last)]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    summary = execute_chapters.execute_chapter(path, tmp_path / "out", cache_dir=None, timeout=120)
    executed = nbformat.read(tmp_path / "out" / "tiny.ipynb", as_version=4)
    student = nbformat.read(tmp_path / "out" / "tiny.student.ipynb", as_version=4)
    return summary, nbformat.read(path, as_version=4), executed, student


def test_executor_passes_a_true_claim_and_runs_the_student_tail(tmp_path):
    summary, stored, executed, student = _tiny(tmp_path, "assert x == 1\nprint('claim holds')", "claim holds\n")
    assert summary["error"] is None and not checked_output_changes(stored, executed)
    assert [c.execution_count for c in executed.cells] == [1, 2, 3, 4, 5]
    assert _text(executed.cells[3]) == "✓ right\n"  # the teacher's solution
    assert [_text(c) for c in student.cells] == ["", "✗ not yet\n", "1\n"]


def test_the_book_build_finds_the_executed_notebook_in_its_cache(tmp_path):
    """jupyter-cache matches code and cell metadata: the executed copy must hash as the source does."""
    from jupyter_cache import get_cache

    _tiny(tmp_path, "print('claim holds')", "claim holds\n")
    path = tmp_path / "tiny.ipynb"
    execute_chapters.execute_chapter(path, tmp_path / "out", cache_dir=tmp_path / "cache", timeout=120)
    record = get_cache(str(tmp_path / "cache")).match_cache_notebook(nbformat.read(path, as_version=4))
    assert record is not None


def test_executor_fails_on_a_false_claim(tmp_path):
    summary, *_ = _tiny(tmp_path, "assert x == 2, 'claim broken'\nprint('claim holds')", "claim holds\n")
    assert summary["error"] is not None and "claim broken" in summary["error"]
    assert json.loads((tmp_path / "out" / "tiny.json").read_text())["error"] == summary["error"]


def test_a_changed_claim_output_is_reported(tmp_path):
    summary, stored, executed, _ = _tiny(tmp_path, "print('claim holds: B')", "claim holds: A\n")
    assert summary["error"] is None
    assert checked_output_changes(stored, executed) == ["cell 1: stored ['claim holds: A\\n'], now ['claim holds: B\\n']"]


def test_measured_values_are_not_compared_but_statements_and_bounds_are():
    """A claim callout's measured value varies across machines; its statement and bound do not."""
    from nbval.plugin import get_sanitize_patterns

    patterns = list(get_sanitize_patterns(SANITIZER.read_text()))

    def cell(html: str) -> dict:
        return {"outputs": [{"output_type": "display_data", "data": {"text/html": html, "text/plain": "claim holds: S"}}]}

    row = "<li>runs<br>measured {}, claimed &gt;= {}; control measured 0.5, which fails it</li>"
    assert compared(cell(row.format(3, 1)), patterns) == compared(cell(row.format("4", 1)), patterns)
    assert compared(cell(row.format("−∞", 1)), patterns) == compared(cell(row.format("1.5e-05", 1)), patterns)
    assert compared(cell(row.format(3, 1)), patterns) != compared(cell(row.format(3, 2)), patterns)
    assert compared(cell(row.format(3, 1)), []) != compared(cell(row.format(4, 1)), [])  # the control
    other_control = row.format(3, 1).replace("control measured 0.5", "control measured 0.25")
    assert compared(cell(row.format(3, 1)), patterns) == compared(cell(other_control), patterns)


def test_the_student_run_cannot_see_the_teachers_exercise_names(tmp_path):
    """A name that only the teacher's solution defines is gone when the student tail runs."""
    summary, _, executed, student = _tiny(tmp_path, "print('claim holds')", "claim holds\n",
                                          answer="global leaked; leaked = 1; return 1",
                                          last="print('leaked' in globals())")
    assert summary["error"] is None
    assert _text(executed.cells[4]) == "True\n" and _text(student.cells[2]) == "False\n"
