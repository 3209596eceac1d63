"""Keep every chapter's Colab badge (first cell), setup cell (third, after the title) and metadata in sync.

The repository address is read from ``_config.yml`` (``repository.url``), the one place it is
written. Run ``python tools/sync_notebooks.py`` after adding a chapter; ``--check`` only reports
notebooks that are out of date (the tests use it) and exits 1 if any is: a badge or setup cell
that differs, stored outputs computed from other code (each executed notebook records hashes of
``course_lib`` and of its own code cells), or stored execution timestamps.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
# Colab opens a notebook on a GPU runtime when its metadata asks for one.
COLAB_METADATA = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}
PIN_TABLE = "tool.course_book"  # in pyproject.toml: library-commit, the commit the setup cell installs

SETUP_TEMPLATE = '''\
# Setup: install course_lib when it is missing (e.g. on Colab), then pick device, size and seed.
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("course_lib") is None:  # the library these outputs were computed with
    source = os.environ.get("COURSE_LIB_SOURCE", "git+{url}.git@{commit}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)

import course_lib as cl

cfg = cl.setup()'''

BADGE_TEMPLATE = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/{slug}/blob/{branch}/notebooks/{name})"
    " Chapter {chapter} of *CNN Regression Pitfalls*"  # the book numbers its chapters (_toc.yml); Colab shows this
)


STUDENT_TEMPLATE = (
    "**Student version** of this chapter, with the exercises' solutions taken out: "
    "[open it in Colab](https://colab.research.google.com/github/{slug}/blob/students/{name}) or "
    "[download it]({site}student/{name}). Teachers: see [Teaching with this book](../book/teaching.md)."
)


def site_url() -> str:
    """The published book's address (``html.baseurl`` in ``_config.yml``), ending in a slash."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["html"]["baseurl"].rstrip("/") + "/"


def repository() -> tuple[str, str]:
    """The repository URL and branch from ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def library_commit() -> str:
    """The commit whose ``course_lib`` the setup cell installs (``pyproject.toml``, [tool.course_book])."""
    import re

    return re.search(r'^library-commit = "([0-9a-f]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


def project_table(pyproject: str) -> str:
    """The ``[project]`` table of a ``pyproject.toml``'s text (what ``pip install`` reads of it)."""
    import re

    return re.search(r"^\[project\]\n(.*?)(?=^\[)", pyproject, re.M | re.S).group(1)


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT)


def pin_problem(ref: str | None = None) -> str | None:
    """Why the library at ``ref`` (default: the pinned commit) is not byte for byte the working
    tree's ``course_lib/`` (and the same ``[project]`` table of ``pyproject.toml``), or None.

    The stored outputs are computed with the working tree's library, so this is the check that a
    Colab reader installs exactly the library the outputs came from.
    """
    ref = ref or library_commit()
    fix = ("commit course_lib/ (bump __version__ in course_lib/__init__.py when the API changed), then run "
           "`python tools/sync_notebooks.py --pin HEAD` and commit the re-pinned setup cells")
    if _git("cat-file", "-e", f"{ref}^{{commit}}").returncode != 0:
        return f"the pinned library commit {ref} is not in this repository: {fix}"
    diff = _git("diff", "--name-only", ref, "--", "course_lib").stdout.split()
    untracked = _git("ls-files", "--others", "--exclude-standard", "course_lib").stdout.split()
    if diff or untracked:
        return f"course_lib/ differs from the commit the setup cell installs ({ref[:12]}): {diff + untracked}; {fix}"
    shown = _git("show", f"{ref}:pyproject.toml")
    if shown.returncode != 0 or project_table(shown.stdout) != project_table((ROOT / "pyproject.toml").read_text()):
        return f"pyproject.toml's [project] table differs at the pinned commit {ref[:12]}: {fix}"
    return None


def pin(ref: str) -> str:
    """Pin the setup cell to the commit ``ref`` names, after checking its library is the working tree's."""
    import re

    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}").stdout.strip()
    if not commit:
        raise SystemExit(f"no such commit: {ref}")
    problem = pin_problem(commit)
    if problem:
        raise SystemExit(problem)
    text = (ROOT / "pyproject.toml").read_text()
    text, n = re.subn(r'^library-commit = "[0-9a-f]*"', f'library-commit = "{commit}"', text, flags=re.M)
    if n != 1:
        raise SystemExit("pyproject.toml has no library-commit line under [tool.course_book]")
    (ROOT / "pyproject.toml").write_text(text)
    return commit


def expected_head(name: str) -> list[nbformat.NotebookNode]:
    """The badge cell and setup cell that notebook ``name`` must start with."""
    url, branch = repository()
    slug = url.split("github.com/")[-1]
    badge = nbformat.v4.new_markdown_cell(BADGE_TEMPLATE.format(slug=slug, branch=branch, name=name,
                                                                chapter=int(name[:2])))
    badge.metadata["tags"] = ["colab-badge", "remove-cell"]
    setup = nbformat.v4.new_code_cell(SETUP_TEMPLATE.format(url=url, commit=library_commit()))
    setup.metadata["tags"] = ["setup", "remove-input"]  # the page shows only its one-line result
    links = nbformat.v4.new_markdown_cell(STUDENT_TEMPLATE.format(slug=slug, name=name, site=site_url()))
    links.metadata["tags"] = ["student-links"]  # the workflow publishes student/ on the site and the branch;
    # the student copy keeps the cell: the student run compares the cells before the first exercise
    return [badge, setup, links]


def sync(path: Path) -> bool:
    """Bring one notebook in line; return True if it changed.

    A chapter opens with the Colab badge (removed from the book), its title cell (the title and
    the learning goals, which the page shows first), then the setup cell (the page shows only its
    one-line result) and the links to the chapter's student version."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    badge, setup, links = expected_head(path.name)
    old = [c for c in nb.cells[:4] if {"colab-badge", "setup", "student-links"} & set(c.metadata.get("tags", []))]
    for prev in old:
        if prev.cell_type == "code" and prev.source == setup.source:
            setup.outputs, setup.execution_count = prev.outputs, prev.execution_count
    rest = [c for c in nb.cells if not any(c is o for o in old)]
    if not (rest and rest[0].cell_type == "markdown" and rest[0].source.startswith("# ")):
        raise ValueError(f"{path.name}: the first cell after the badge must be the title cell ('# N. Title')")
    nb.cells = [badge, rest[0], setup, links] + rest[1:]
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata.update(COLAB_METADATA)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: no content hashes in diffs or links
    after = nbformat.writes(nb)
    if after != before:
        path.write_text(after)
        return True
    return False


def library_hash() -> str:
    """A hash of every ``course_lib`` source file: stored outputs are valid only for this code."""
    digest = hashlib.sha256()
    for f in sorted((ROOT / "course_lib").glob("*.py")):
        digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def code_hash(nb: nbformat.NotebookNode) -> str:
    """A hash of a notebook's code cells, in order, the setup cell aside (it only names where Colab
    installs the library from; ``--check`` compares it with the expected one)."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code" and "setup" not in cell.metadata.get("tags", []):
            digest.update(cell.source.encode() + b"\0")
    return digest.hexdigest()[:16]


def outputs_stamp(nb: nbformat.NotebookNode) -> dict[str, str]:
    """What the stored outputs were computed from: the library's and the code cells' hashes."""
    return {"course_lib": library_hash(), "code": code_hash(nb)}


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """Why a notebook's stored state is out of date: stale outputs or stored timestamps."""
    found = []
    stamp = nb.metadata.get("course_outputs")
    if not stamp or any(stamp.get(k) != v for k, v in outputs_stamp(nb).items()):
        what = ("they carry no stamp" if not stamp else
                " and ".join(k for k, v in outputs_stamp(nb).items() if stamp.get(k) != v) + " changed since")
        found.append(f"stored outputs do not come from the current code ({what}): "
                     "run tools/sync_notebooks.py --execute")
    if not stamp or not isinstance(stamp.get("threads"), int):
        found.append("the stamp does not record the CPU thread count: run tools/sync_notebooks.py --execute")
    if any("execution" in cell.metadata for cell in nb.cells):
        found.append("cells store execution timestamps")
    return found


def execute(path: Path) -> None:
    """Run a notebook top to bottom in its folder and store its outputs in place, stamped with
    the hashes of the code they came from and without execution timestamps."""
    import os

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import torch

    from tools.kernel_client import execute_notebook

    threads = int(os.environ.get("OMP_NUM_THREADS") or torch.get_num_threads())  # the kernel's, as it inherits
    nb = nbformat.read(path, as_version=4)
    seconds, _ = execute_notebook(nb, path.parent, timeout=1200)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["course_outputs"] = {**outputs_stamp(nb), "threads": threads}
    path.write_text(nbformat.writes(nb))
    print(f"executed {path.name} in {seconds:.0f} s")


def main() -> int:
    """Sync (or with --check, verify) every notebook in notebooks/."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="report out-of-date notebooks, change nothing")
    parser.add_argument("--execute", nargs="*", metavar="NOTEBOOK",
                        help="also execute these notebooks (all if none named; when named, only they are synced) and store their outputs, "
                             "which nbval compares for the cells tagged nbval-check-output")
    parser.add_argument("--pin", metavar="REF", help="pin the setup cell to this commit (e.g. HEAD), whose "
                        "course_lib/ must be the working tree's, then sync every notebook")
    args = parser.parse_args()
    if args.pin:
        print(f"setup cell pinned to {pin(args.pin)}")
    # a notebook may be named by file name or by any path to it (notebooks/09_plateaus.ipynb)
    to_execute = None if args.execute is None else {Path(a).name for a in args.execute}
    unknown = (to_execute or set()) - {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    if unknown:
        parser.error(f"no such notebook in notebooks/: {', '.join(sorted(unknown))}")
    stale = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if to_execute and path.name not in to_execute:
            continue  # named notebooks: sync and execute those only (others may be open in an editor)
        if args.check:
            nb = nbformat.read(path, as_version=4)
            head = expected_head(path.name)
            if [c.source for c in (nb.cells[0], *nb.cells[2:4])] != [c.source for c in head]:
                stale.append(f"{path.name} (badge or setup cell: run tools/sync_notebooks.py)")
            if any(nb.metadata.get(k) != v for k, v in COLAB_METADATA.items()):
                stale.append(f"{path.name} (Colab's GPU-runtime metadata: run tools/sync_notebooks.py)")
            stale.extend(f"{path.name} ({why})" for why in problems(nb))
        elif sync(path):
            print(f"synced {path.name}")
        if to_execute is not None and (not to_execute or path.name in to_execute):
            execute(path)
    if args.check:
        problem = pin_problem()
        if problem:
            stale.append(problem)
    if stale:
        print("out of date:\n  " + "\n  ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
