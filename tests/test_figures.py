"""Every figure a chapter shows is numbered, captioned and described (myst-nb cell metadata).

The book renders a code cell's ``mystnb.figure`` (caption, name) as a numbered figure and its
``mystnb.image.alt`` as the image's alt text, which a screen reader reads instead of the file name.
"""

from __future__ import annotations

import json
import re

import pytest
from notebook_utils import NOTEBOOKS

CHAPTERS = [p for p in NOTEBOOKS if re.match(r"\d\d_", p.name)]


def figure_cells(path) -> list[dict]:
    """The code cells of a notebook whose stored outputs include an image the page shows."""
    out = []
    for cell in json.loads(path.read_text())["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or "remove-output" in tags or "remove-cell" in tags:
            continue
        if any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            out.append(cell)
    return out


def problems(cell: dict, chapter: str) -> list[str]:
    """What a figure cell lacks: a caption, a name of the form fig-NN-..., alt text that describes it."""
    meta = cell.get("metadata", {}).get("mystnb", {})
    figure, image = meta.get("figure", {}), meta.get("image", {})
    found = []
    if len(figure.get("caption", "")) < 20:
        found.append("no caption")
    if not re.fullmatch(rf"fig-{chapter}-[a-z0-9-]+", figure.get("name", "")):
        found.append(f"name {figure.get('name')!r} is not fig-{chapter}-...")
    alt = image.get("alt", "")
    if len(alt) < 40 or re.search(r"\.(png|jpe?g|svg)\b", alt) or alt.lower().startswith("image of"):
        found.append(f"alt text {alt!r} does not say what the figure shows")
    return found


def test_a_bare_figure_cell_is_refused():
    """Control: a figure cell without metadata, or with a file name for alt text, fails."""
    bare = {"cell_type": "code", "metadata": {}, "outputs": []}
    assert len(problems(bare, "01")) == 3
    named = {"metadata": {"mystnb": {"figure": {"caption": "Predicted against target for the boxes.",
                                                "name": "fig-01-fit"},
                                     "image": {"alt": "../_images/03c7a1b2d3e4f5a6b7c8d9e0f1a2b3c4.png"}}}}
    assert problems(named, "01") == [f"alt text {named['metadata']['mystnb']['image']['alt']!r} "
                                      "does not say what the figure shows"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_is_numbered_captioned_and_described(path):
    chapter = path.name[:2]
    found = {i: problems(c, chapter) for i, c in enumerate(figure_cells(path))}
    found = {i: p for i, p in found.items() if p}
    assert not found, f"figures without caption, name or alt text: {found}"


def test_figure_names_are_unique_and_referenced_names_exist():
    names, refs = [], []
    for path in CHAPTERS:
        nb = json.loads(path.read_text())
        names += [c["metadata"]["mystnb"]["figure"]["name"] for c in figure_cells(path)
                  if "name" in c.get("metadata", {}).get("mystnb", {}).get("figure", {})]
        refs += re.findall(r"\{numref\}`(?:[^<`]*<)?(fig-[a-z0-9-]+)>?`",
                           "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"))
    assert len(names) == len(set(names)), "two figures share a name"
    assert set(refs) <= set(names), f"prose refers to figures that do not exist: {set(refs) - set(names)}"
