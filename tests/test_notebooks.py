"""Conventions every chapter follows, and proof that nbval catches a broken claim."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest
import yaml
from notebook_utils import NOTEBOOKS, ROOT, cells, tags

IDS = [p.name for p in NOTEBOOKS]


def test_there_are_chapters_and_toc_lists_them_in_order():
    assert NOTEBOOKS, "notebooks/ holds no chapter"
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    chapters = [f.split("/")[-1] for f in files if f.startswith("notebooks/")]
    assert chapters == [p.stem for p in NOTEBOOKS]
    for p in NOTEBOOKS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name), p.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_claim_cells_are_checked_by_nbval(path):
    """A claim is one ``cl.claim(...)`` (it raises its own AssertionError, with a control that must
    fail it); no chapter cell asserts anything by hand, and every claim cell's output is compared."""
    shown = [c for c in cells(path) if c["cell_type"] == "code" and "BEGIN SOLUTION" not in c["source"]
             and "setup" not in tags(c)]
    for cell in shown:
        assert not re.search(r"^\s*assert\b", cell["source"], re.M), \
            f"a hand-written assert (state claims with cl.claim): {cell['source'][:60]}"
        assert "cl.claims.holds" not in cell["source"], "the old claim API"
    claiming = [c for c in shown if "cl.claim(" in c["source"]]
    assert claiming, f"{path.name} states no claim"
    for cell in claiming:
        assert "nbval-check-output" in tags(cell), f"claim cell not compared by nbval: {cell['source'][:60]}"
        assert "control=" in cell["source"], "every claim names its control"
        assert cell.get("outputs"), "claim cell has no stored output: run tools/sync_notebooks.py --execute"
        text = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                       for o in cell["outputs"])
        assert "claim holds" in text and not re.search(r"\d\.\d{3,}", text), \
            "a claim cell shows fixed sentences (its numbers only in the callout's HTML, which is not compared)"
        html = "".join("".join(o.get("data", {}).get("text/html", "")) for o in cell["outputs"])
        assert text.count("claim holds") == cell["source"].count("cl.claim("), \
            "every claim of the cell is shown (group them with cl.all_hold)"
        assert "Claim" in html and "control measured" in html, "the callout shows measured value and control"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_layout(path):
    cs = cells(path)
    md = "\n".join(c["source"] for c in cs if c["cell_type"] == "markdown")
    code = "\n".join(c["source"] for c in cs if c["cell_type"] == "code")
    assert cs[1]["cell_type"] == "markdown" and cs[1]["source"].startswith("# "), "the page opens on the title"
    assert "**Learning goals.**" in cs[1]["source"], "the learning goals come before any code"
    assert "setup" in tags(cs[2]) and "cl.setup()" in cs[2]["source"], "the setup cell follows the title"
    assert "remove-input" in tags(cs[2]), "the page shows the setup cell's one-line result, not its code"
    assert "**Run time:**" in md and "**Learning goals.**" in md
    assert "## What to remember" in md and "## Exercises" in md
    assert md.index("## What to remember") < md.index("## Exercises")
    assert len(re.findall(r"cl\.(?:exercises\.)?check\(", code)) >= 3, "fewer than three checked exercises"
    assert not re.search(r"['\"]cuda['\"]|\.cuda\(", code), "a notebook names a device"
    for c in cs:
        assert all(o.get("output_type") != "error" for o in c.get("outputs", [])), "a stored output is an error"


def _write_notebook(path, sources, outputs=None):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}, "cells": []}
    for i, src in enumerate(sources):
        cell = {"cell_type": "code", "id": f"c{i}", "metadata": {"tags": ["nbval-check-output"]},
                "source": textwrap.dedent(src), "outputs": [], "execution_count": None}
        if outputs and outputs[i] is not None:
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": outputs[i]}]
            cell["execution_count"] = i + 1
        nb["cells"].append(cell)
    path.write_text(json.dumps(nb))


def _nbval(path):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval-lax",
                           str(path)], capture_output=True, text=True, cwd=path.parent, timeout=300)


def test_nbval_fails_on_a_false_claim(tmp_path):
    nb = tmp_path / "false_claim.ipynb"
    _write_notebook(nb, ["x = 1\n", "assert x == 2, 'claim broken'\nprint('claim holds')\n"],
                    [None, "claim holds\n"])
    result = _nbval(nb)
    assert result.returncode != 0 and "claim broken" in result.stdout


def test_nbval_fails_when_a_checked_output_changes(tmp_path):
    nb = tmp_path / "changed_output.ipynb"
    _write_notebook(nb, ["print('claim holds: B')\n"], ["claim holds: A\n"])
    result = _nbval(nb)
    assert result.returncode != 0 and "claim holds: A" in result.stdout and "claim holds: B" in result.stdout


def test_nbval_passes_a_true_claim(tmp_path):
    nb = tmp_path / "true_claim.ipynb"
    _write_notebook(nb, ["assert 1 + 1 == 2\nprint('claim holds')\n"], ["claim holds\n"])
    result = _nbval(nb)
    assert result.returncode == 0, result.stdout


# nan and inf in any case; Python warnings as Python prints them ("UserWarning: ..."), so that a
# lower-case word such as the doctor's severity "warning" is not mistaken for one
DEFECT = re.compile(r"\b(?i:nan|inf)\b|Traceback|Warning")


def output_defects(text: str) -> list[str]:
    """The words in a cell's output that a reader must never see: nan, inf, Traceback, Warning."""
    return [m.group(0) for m in DEFECT.finditer(text)]


def test_output_defects_are_found():
    assert output_defects("R² nan, loss inf") == ["nan", "inf"]
    assert output_defects("UserWarning: x\nTraceback (most recent call last)") == ["Warning", "Traceback"]
    assert output_defects("infinite, nano, information, 0.5 in 12 runs") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_outputs_show_no_defect(path):
    for i, cell in enumerate(cells(path)):
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            assert out.get("output_type") != "stream" or out.get("name") != "stderr", f"cell {i} stores stderr"
            assert not output_defects(text), f"cell {i} of {path.name} shows {output_defects(text)}: {text[:200]}"


def test_setup_cells_in_sync_with_config():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "sync_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_sync_refuses_an_unknown_notebook_before_touching_any():
    before = {p.name: p.read_bytes() for p in NOTEBOOKS}
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "sync_notebooks.py"), "--execute",
                             "notebooks/99_no_such_chapter.ipynb"], capture_output=True, text=True)
    assert result.returncode == 2 and "99_no_such_chapter.ipynb" in result.stderr
    assert {p.name: p.read_bytes() for p in NOTEBOOKS} == before


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_shown_code_fits_the_page(path):
    """The book shows about 77 columns of code at 1280 px (tools/wrap_code.py); none scrolls."""
    from tools.wrap_code import WIDTH, shown_code_cells, too_wide

    nb = json.loads(path.read_text())
    wide = [line for cell in shown_code_cells(nb) for line in too_wide("".join(cell["source"]))]
    assert not wide, f"{len(wide)} code lines over {WIDTH} columns (run tools/wrap_code.py): {wide[:3]}"


def test_wrapping_keeps_the_program_and_fits():
    from tools.wrap_code import same_program, too_wide, wrap_source

    source = textwrap.dedent('''\
        def f(a):
            """A docstring that is far too long for the page, so it has to be split somewhere."""
            return a  # a trailing comment that pushes this line past the width of the page
        print(f"a long f-string with a {f(1):>10} field that must not be split inside its braces")
        assert f(1) == 1, "a message that is long enough to need wrapping at the page's width"
        plt.plot([1, 2]);''')
    wrapped = wrap_source(source)
    assert not too_wide(wrapped), wrapped
    assert same_program(source, wrapped)
    assert wrapped.endswith(";"), "a final semicolon (which hides a value) is kept"
    assert not same_program(source, source.replace("braces", "brackets"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_widget_has_a_static_twin(path):
    """A widget needs a kernel; the built book hides it and shows a figure of the same thing
    beside it (the browser test checks that the page shows every stored figure)."""
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or "cl.widgets." not in "".join(cell["source"]):
            continue
        assert "remove-output" in cell["metadata"].get("tags", []), f"cell {i}: the widget must be hidden in the book"
        near = [c for c in nb["cells"][max(0, i - 4): i + 3] if c["cell_type"] == "code" and c is not cell]
        assert any("image/png" in out.get("data", {}) for c in near for out in c.get("outputs", [])), \
            f"cell {i}: no figure (the widget's static twin) in the cells around the widget"


def test_chapters_with_something_to_explore_have_a_widget():
    with_widget = {p.name[:2] for p in NOTEBOOKS if "cl.widgets." in p.read_text()}
    # chapter 8's lesson is a report, not a quantity to vary: it has none
    assert with_widget >= {"01", "02", "03", "04", "05", "06", "07"}, sorted(with_widget)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_outputs_hold_no_progress_bar(path):
    """A progress bar is a live widget: stored, it shows the book a frozen "0%" line."""
    for i, cell in enumerate(cells(path)):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text = "".join(out.get("text", "")) + "".join(data.get("text/plain", ""))
            if "remove-output" not in cell.get("metadata", {}).get("tags", []):  # the chapters' own widgets
                assert "application/vnd.jupyter.widget-view+json" not in data, f"cell {i} of {path.name}: a widget"
            assert not re.search(r"\d+it/s\]|it/s\]|\d+%\|", text), f"cell {i} of {path.name}: {text[:120]}"
