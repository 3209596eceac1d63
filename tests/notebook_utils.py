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
