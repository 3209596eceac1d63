"""Every number a chapter's prose quotes is one its own outputs show, or is declared with its source.

A sentence such as "the bias is about 20" beside an output that prints +24.1 is the defect this test
catches: each decimal number in a chapter's text (outside formulas, links and citations) must occur in
that chapter's stored outputs or code, or be listed in the markdown cell's ``prose_numbers`` metadata
with where it comes from (a theory's value, a benchmark file, a threshold of the library). A declared
number must still be in its cell, so the declarations cannot go stale.
"""

from __future__ import annotations

import re

import pytest
from notebook_utils import NOTEBOOKS, cells

DECIMAL = re.compile(r"(?<![\w.^{])(\d+\.\d+)(?![\w])")
NOT_PROSE = [re.compile(r"\$[^$]*\$"), re.compile(r"\{cite[^}]*\}`[^`]*`"), re.compile(r"\]\([^)]*\)")]


def prose(text: str) -> str:
    """The text of a markdown cell without formulas, citations and link targets."""
    for pattern in NOT_PROSE:
        text = pattern.sub("", text)
    return text


def shown(chapter: list[dict]) -> str:
    """Everything a chapter's code cells contain and print: source, text outputs and text/* data."""
    parts = []
    for cell in chapter:
        if cell["cell_type"] != "code":
            continue
        parts.append(cell["source"])
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            parts += ["".join(v) for k, v in out.get("data", {}).items() if k.startswith("text/")]
    return "\n".join(parts)


def test_prose_parser_finds_decimals_outside_formulas() -> None:
    text = "a bias of about 20.5 ($\\sigma^2/2 = 0.125$), see [ch 2](x_2.1.html) {cite}`a2.5`"
    assert DECIMAL.findall(prose(text)) == ["20.5"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_prose_numbers_come_from_the_outputs_or_are_declared(path) -> None:
    chapter = cells(path)
    blob = shown(chapter)
    unexplained, stale = [], []
    for i, cell in enumerate(chapter):
        if cell["cell_type"] != "markdown":
            continue
        declared = cell.get("metadata", {}).get("prose_numbers", {})
        text = prose(cell["source"])
        stale += [f"cell {i}: {n}" for n in declared if n not in cell["source"]]
        for match in DECIMAL.finditer(text):
            number = match.group(1)
            if number not in blob and number not in declared:
                unexplained.append(f"cell {i}: {number} in '…{text[max(0, match.start() - 60):match.end() + 15]}…'")
    assert not unexplained, ("numbers in the prose that no output of the chapter shows; quote the output, print "
                             "the sentence from the code, or declare the source in the cell's metadata "
                             "'prose_numbers':\n" + "\n".join(unexplained))
    assert not stale, "declared prose numbers no longer in their cell:\n" + "\n".join(stale)
