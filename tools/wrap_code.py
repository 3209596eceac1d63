"""Wrap the chapters' code cells to the width the book's page shows without scrolling.

The book's theme shows about 77 characters of code at a 1280-pixel-wide window (measured in
headless Chromium), so every code cell a reader sees is kept to ``WIDTH`` (76) characters:

    python tools/wrap_code.py notebooks/*.ipynb          # rewrite in place
    python tools/wrap_code.py --check notebooks/*.ipynb  # list lines that are too wide

Each cell is formatted with ``ruff format --line-length 76``; what ruff leaves too wide (long string
literals, comments, docstrings) is split at a space: adjacent string literals inside brackets,
comment lines continued as comments, docstring lines continued inside the docstring. The cell's
syntax tree is compared before and after (docstrings by their words), so the rewrite cannot change
what a cell does. The setup cell is skipped: it is a template written by tools/sync_notebooks.py and
its input is hidden in the book. A claim cell that fits the width keeps the layout it was written
with (``keep_layout``). Rewritten notebooks need their outputs stored again
(tools/sync_notebooks.py --execute).
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
import subprocess
import sys
import tokenize
from pathlib import Path

WIDTH = 76
ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


def shown_code_cells(nb: dict) -> list[dict]:
    """The code cells whose input a reader sees (not the setup cell, not hidden inputs)."""
    cells = []
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or "setup" in tags:
            continue
        if "remove-input" in tags or "remove-cell" in tags:
            continue
        cells.append(cell)
    return cells


def too_wide(source: str, width: int = WIDTH) -> list[str]:
    """The lines of ``source`` longer than ``width`` characters."""
    return [line for line in source.splitlines() if len(line) > width]


def _ruff_format(source: str, width: int) -> str:
    """``source`` formatted by ruff as a notebook cell (so a final ``;`` that hides a value stays)."""
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": source}],
          "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    result = subprocess.run(
        [str(RUFF), "format", "--line-length", str(width), "--stdin-filename", "cell.ipynb", "-"],
        input=json.dumps(nb), capture_output=True, text=True, check=False)
    if result.returncode:
        raise ValueError(f"ruff could not format a cell: {result.stderr.strip()}")
    return "".join(json.loads(result.stdout)["cells"][0]["source"])


def _comments_above(source: str, width: int) -> str:
    """Move the trailing comment of every too-wide line onto its own line above it."""
    lines = source.split("\n")
    moves = []
    for t in tokenize.generate_tokens(io.StringIO(source).readline):
        if t.type != tokenize.COMMENT:
            continue
        row, col = t.start[0] - 1, t.start[1]
        line = lines[row]
        indent = line[: len(line) - len(line.lstrip())]
        if len(line) > width and col > len(indent):
            moves.append((row, col, indent, t.string))
    for row, col, indent, comment in reversed(moves):
        lines[row: row + 1] = [indent + comment, lines[row][:col].rstrip()]
    return "\n".join(lines)


_STRING_LINE = re.compile(r"^(\s*)([A-Za-z]{0,2})(\"|')(.*)$")


def _reflow_strings(source: str, width: int) -> str:
    """Re-split every run of adjacent one-line string literals (one per line) to fill ``width``."""
    lines = source.split("\n")
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    alone: dict[int, tokenize.TokenInfo] = {}
    for t in tokens:
        if t.type == tokenize.STRING and t.start[0] == t.end[0]:
            row = t.start[0] - 1
            if lines[row].strip().startswith(t.string) and not lines[row][: t.start[1]].strip():
                alone[row] = t
    out, row = [], 0
    while row < len(lines):
        if row not in alone:
            out.append(lines[row])
            row += 1
            continue
        first = alone[row]
        prefix = re.match(r"[A-Za-z]*", first.string).group(0)
        quote = first.string[len(prefix)]
        if first.string[len(prefix):].startswith(quote * 3):
            out.append(lines[row])
            row += 1
            continue
        run = [row]
        # the run continues while each line holds only one literal of the same kind
        while lines[run[-1]].rstrip() == lines[run[-1]][: alone[run[-1]].end[1]] and run[-1] + 1 in alone:
            nxt = alone[run[-1] + 1]
            if nxt.start[1] != first.start[1] or re.match(r"[A-Za-z]*", nxt.string).group(0) != prefix \
                    or nxt.string[len(prefix)] != quote or nxt.string[len(prefix):].startswith(quote * 3):
                break
            run.append(run[-1] + 1)
        if len(run) == 1:
            out.append(lines[row])
            row += 1
            continue
        indent = lines[row][: first.start[1]]
        tail = lines[run[-1]][alone[run[-1]].end[1]:]
        body = "".join(alone[r].string[len(prefix) + 1: -1] for r in run)
        pieces = []
        while body:
            room = width - len(indent) - len(prefix) - 2
            if len(body) <= room - len(tail):
                pieces.append(body)
                break
            cut = _split_point(body, room, "f" in prefix.lower())
            if cut is None:
                pieces.append(body)
                break
            pieces.append(body[:cut])
            body = body[cut:]
        new = [indent + prefix + quote + piece + quote for piece in pieces]
        new[-1] += tail
        out.extend(new)
        row = run[-1] + 1
    return "\n".join(out)


def _split_point(text: str, limit: int, fstring: bool) -> int | None:
    """Index just after the last space in ``text[:limit]`` outside f-string braces, or None."""
    depth, best = 0, None
    for i, ch in enumerate(text[:limit]):
        if fstring and ch == "{":
            depth += 1
        elif fstring and ch == "}":
            depth -= 1
        elif ch == " " and depth == 0 and i > 0:
            best = i + 1
    return best


def _string_tokens(line_no: int, source: str) -> list[tokenize.TokenInfo]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [t for t in tokens if t.type == tokenize.STRING and t.start[0] == line_no]


def _depth_before(source: str, line_no: int, col: int) -> int:
    depth = 0
    for t in tokenize.generate_tokens(io.StringIO(source).readline):
        if (t.start[0], t.start[1]) >= (line_no, col):
            break
        if t.type == tokenize.OP and t.string in "([{":
            depth += 1
        elif t.type == tokenize.OP and t.string in ")]}":
            depth -= 1
    return depth


def _wrap_line(source: str, index: int, width: int) -> str | None:
    """Rewrite the too-wide line ``index`` of ``source``; None if no safe split was found."""
    lines = source.split("\n")
    line = lines[index]
    indent = line[: len(line) - len(line.lstrip())]
    stripped = line.lstrip()
    # A comment line: continue it on the next line.
    if stripped.startswith("#"):
        cut = _split_point(line, width, fstring=False)
        if cut is None or cut <= len(indent) + 2:
            return None
        rest = line[cut:].lstrip()
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if following.startswith(indent + "# ") and following[len(indent) + 2:].strip():
            # keep the comment flowing into its next line (split again if too wide)
            lines[index: index + 2] = [line[:cut].rstrip(), indent + "# " + rest + " " + following[len(indent) + 2:]]
        else:
            lines[index: index + 1] = [line[:cut].rstrip(), indent + "# " + rest]
        return "\n".join(lines)
    # A trailing comment: move it above the line.
    for t in tokenize.generate_tokens(io.StringIO(source).readline):
        if t.type == tokenize.COMMENT and t.start[0] == index + 1 and t.start[1] > len(indent):
            code = line[: t.start[1]].rstrip()
            lines[index: index + 1] = [indent + t.string, code]
            return "\n".join(lines)
    # A string literal on the line: split it at a space.
    for t in _string_tokens(index + 1, source):
        if t.start[0] != t.end[0]:
            continue  # a multi-line string (docstring): handled below
        text = t.string
        prefix = re.match(r"[A-Za-z]*", text).group(0)
        quote = text[len(prefix):len(prefix) + 3] if text[len(prefix):].startswith(('"""', "'''")) \
            else text[len(prefix)]
        if len(quote) == 3:
            # a one-line docstring-like literal: break inside it
            body_start = t.start[1] + len(prefix) + 3
            cut = _split_point(line[body_start:], width - body_start, "f" in prefix.lower())
            if cut is None:
                return None
            at = body_start + cut
            lines[index: index + 1] = [line[:at].rstrip(), indent + line[at:]]
            return "\n".join(lines)
        body_start = t.start[1] + len(prefix) + 1
        room = width - body_start - 1
        cut = _split_point(text[len(prefix) + 1: -1], room, "f" in prefix.lower())
        if cut is None or cut < 10:
            return None
        first = text[: len(prefix) + 1 + cut] + quote
        second = prefix + quote + text[len(prefix) + 1 + cut:]
        inside = _depth_before(source, index + 1, t.start[1]) > 0
        before, after = line[: t.start[1]], line[t.end[1]:]
        if inside:
            if before.strip():
                new = [before.rstrip(), indent + "    " + first, indent + "    " + second + after]
            else:
                new = [before + first, indent + second + after]
        else:
            new = [before + "(", indent + "    " + first, indent + "    " + second, indent + ")" + after]
        lines[index: index + 1] = new
        return "\n".join(lines)
    # A line inside a multi-line string (a docstring): break it at a space.
    cut = _split_point(line, width, fstring=False)
    if cut is None or cut <= len(indent):
        return None
    rest = line[cut:].lstrip()
    following = lines[index + 1] if index + 1 < len(lines) else ""
    continues = (following.strip() and following.startswith(indent)
                 and not following[len(indent):].startswith((" ", '"""', "'''", "-", "*", ":")))
    if continues and not rest.endswith(('"""', "'''")):
        # keep the paragraph flowing: the remainder joins the next line (split again if too wide)
        lines[index: index + 2] = [line[:cut].rstrip(), indent + rest + " " + following.lstrip()]
    else:
        lines[index: index + 1] = [line[:cut].rstrip(), indent + rest]
    return "\n".join(lines)


class _Docstrings(ast.NodeTransformer):
    """Docstrings reduced to their words, so re-wrapping them compares equal."""

    def _clean(self, node: ast.AST) -> ast.AST:
        self.generic_visit(node)
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body[0].value.value = " ".join(body[0].value.value.split())
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Module = _clean


def same_program(a: str, b: str) -> bool:
    """Whether two sources parse to the same tree (docstrings compared by their words)."""
    def tree(src: str) -> str:
        return ast.dump(_Docstrings().visit(ast.parse(src)))
    return tree(a) == tree(b)


def wrap_source(source: str, width: int = WIDTH) -> str:
    """``source`` formatted and split so that no line is over ``width``; same syntax tree."""
    original = source
    source = _ruff_format(_comments_above(source, width), width)
    for _ in range(200):
        lines = source.split("\n")
        index = next((i for i, line in enumerate(lines) if len(line) > width), None)
        if index is None:
            break
        new = _wrap_line(source, index, width)
        if new is None:
            break
        new = _ruff_format(_reflow_strings(_ruff_format(new, width), width), width)
        if not same_program(original, new) or new == source:
            break
        source = new
    source = source.rstrip("\n")
    if not same_program(original, source):
        raise ValueError("wrapping changed the program")
    return source


def keep_layout(cell: dict, source: str, width: int = WIDTH) -> bool:
    """A claim cell (tagged ``nbval-check-output``) that fits the page keeps its own layout.

    The formatter would put each argument of a claim on its own line (seven lines for one claim
    whose statement is long); written by hand, a claim reads in two or three lines.
    """
    return "nbval-check-output" in cell.get("metadata", {}).get("tags", []) and not too_wide(source, width)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only list lines over the width")
    parser.add_argument("--width", type=int, default=WIDTH)
    args = parser.parse_args()
    wide = 0
    for path in args.notebooks:
        nb = json.loads(path.read_text())
        changed = False
        for cell in shown_code_cells(nb):
            source = "".join(cell["source"])
            if not args.check and not keep_layout(cell, source, args.width):
                new = wrap_source(source, args.width)
                if new != source:
                    cell["source"] = new.splitlines(keepends=True)
                    source, changed = new, True
            for line in too_wide(source, args.width):
                wide += 1
                print(f"{path.name}: {len(line)} columns: {line}")
        if changed:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False))
    return 1 if wide else 0


if __name__ == "__main__":
    sys.exit(main())
