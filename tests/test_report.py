"""course_lib.report: what a chapter prints (no plotting library involved)."""

import ast
from pathlib import Path

import pytest

import course_lib as cl


def test_print_table_aligns_columns_and_refuses_a_table_wider_than_the_page(capsys):
    cl.report.print_table({"plain": {"val": 0.31, "test": 0.3}, "D4 augmentation": {"val": 0.12, "test": "n/a"}})
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["                   val   test", "          plain  0.310  0.300", "D4 augmentation  0.120    n/a"]
    cl.report.print_table({"a": [1, 2]}, columns=["x", "y"], fmt="{:.1f}")
    assert capsys.readouterr().out.splitlines()[1] == "a  1.0  2.0"
    with pytest.raises(ValueError, match="characters wide"):
        cl.report.print_table({"x" * 70: [1.0, 2.0]})
    with pytest.raises(ValueError, match="2 values for 3 columns"):
        cl.report.print_table({"a": [1, 2]}, columns=["x", "y", "z"])
    with pytest.raises(TypeError, match="rows"):
        cl.report.print_table({})


def test_the_text_helpers_live_in_report_and_exercises_do_not_import_plots():
    assert cl.report.wrap_text("a b", width=20) == "a b"
    for module in ("exercises.py", "report.py"):
        tree = ast.parse((Path(cl.__file__).parent / module).read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        assert not {m for m in imported if m and ("plots" in m or "matplotlib" in m)}, module
