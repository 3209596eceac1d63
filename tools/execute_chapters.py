"""Execute each chapter once, for every check that needs its outputs (``make test``).

One kernel per chapter runs, top to bottom:

1. the teacher notebook, exactly as ``notebooks/NN_topic.ipynb`` holds it (cells tagged
   ``raises-exception`` may raise, nothing else may);
2. then the student version of its exercise section (``tools/make_student_notebooks.py``: the
   solutions replaced by stubs), in a namespace restored to what it was just before the
   teacher's exercise section ran. Because everything before the first cell with a solution is
   the same in both versions (the tests check it), this is the student notebook run top to
   bottom, without training the chapter's models a second time.

The executed teacher notebook is written to ``OUT/NN_topic.ipynb`` and stored in the book's
execution cache (jupyter-cache, ``_build/.jupyter_cache``), so that the book build that follows
shows these very outputs instead of executing the chapter again. The executed student tail goes
to ``OUT/NN_topic.student.ipynb`` and a summary (run time, the error if any) to
``OUT/NN_topic.json``.

    python tools/execute_chapters.py                 # every chapter
    python tools/execute_chapters.py 03 05           # some chapters (name prefixes)

The kernel runs without ``MPLBACKEND`` so that figures are embedded as the book shows them.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools.kernel_client import execute_notebook  # noqa: E402
from tools.make_student_notebooks import BEGIN, student_version  # noqa: E402

OUT = ROOT / "_build" / "executed"
CACHE = ROOT / "_build" / ".jupyter_cache"
MARK = "course-execute"  # metadata key of the cells this tool adds (removed before saving)
SNAPSHOT = "_course_snapshot = dict(globals())"
RESTORE = """for _name in [n for n in globals() if not n.startswith("_") and n not in _course_snapshot]:
    del globals()[_name]
globals().update(_course_snapshot)"""


def first_solution_cell(nb: nbformat.NotebookNode) -> int:
    """Index of the first code cell holding a marked solution (the start of the exercise tail)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and BEGIN in cell.source:
            return i
    raise ValueError("the notebook has no cell with a marked solution")


def combined_notebook(teacher: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int, int]:
    """The teacher notebook with a namespace snapshot before its exercise tail, then the student
    version of that tail after a restore. Returns it, the snapshot cell's index and the index
    of the first student cell."""
    start = first_solution_cell(teacher)
    student = student_version(teacher)
    combo = copy.deepcopy(teacher)
    snap = nbformat.v4.new_code_cell(SNAPSHOT, metadata={MARK: "snapshot"})
    restore = nbformat.v4.new_code_cell(RESTORE, metadata={MARK: "restore"})
    tail = [c for c in student.cells[start:] if c.cell_type == "code"]
    for c in tail:
        c.metadata[MARK] = "student"
    combo.cells = teacher.cells[:start] + [snap] + teacher.cells[start:] + [restore] + tail
    return combo, start, len(teacher.cells) + 2


def split_executed(combo: nbformat.NotebookNode, snap: int, first_student: int
                   ) -> tuple[nbformat.NotebookNode, list[nbformat.NotebookNode]]:
    """The executed teacher notebook (the added cells removed, execution counts renumbered as
    if they had never run) and the executed student cells."""
    teacher = copy.deepcopy(combo)
    teacher.cells = combo.cells[:snap] + combo.cells[snap + 1:first_student - 1]
    count = 0
    for cell in teacher.cells:
        if cell.cell_type == "code" and cell.get("execution_count") is not None:
            count += 1
            cell.execution_count = count
            for out in cell.outputs:
                if "execution_count" in out:
                    out["execution_count"] = count
    return teacher, list(combo.cells[first_student:])


def cache_for_book(path: Path, executed: nbformat.NotebookNode, seconds: float, cache_dir: Path) -> None:
    """Store ``executed`` in the book's jupyter-cache under ``path``, as the book build would."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_dir))
    record = cache.add_nb_to_project(str(path))
    cache.cache_notebook_bundle(CacheBundleIn(executed, record.uri, data={"execution_seconds": seconds}),
                                check_validity=False, overwrite=True)


def _run(combo: nbformat.NotebookNode, path: Path, timeout: int) -> str | None:
    """Execute ``combo`` in a fresh kernel (inline figures, as in the book); return None, or the
    error of the cell that failed."""
    try:
        execute_notebook(combo, path.parent, timeout=timeout, env={"MPLBACKEND": None})
    except CellExecutionError as exc:
        return str(exc)[-4000:]
    return None


def execute_chapter(path: Path, out: Path = OUT, cache_dir: Path | None = CACHE, timeout: int = 600) -> dict:
    """Execute one chapter (teacher, then the student tail) and write the results; return the
    summary: ``{"chapter", "seconds", "error", "attempts"}`` (``error`` is None when every cell ran).

    ``timeout`` bounds each cell (a fast-size cell takes well under a minute). A kernel that stops
    answering (a cell past ``timeout``, or a dead kernel) gets one more attempt in a fresh kernel:
    on the 2-core test machine a chapter's kernel has been seen to hang, idle, in the middle of a
    run that completes on a rerun. A cell that raises is not retried. ``seconds`` is the last
    attempt's run time."""
    teacher = nbformat.read(path, as_version=4)
    out.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        combo, snap, first_student = combined_notebook(teacher)
        start = time.perf_counter()
        try:
            error = _run(combo, path, timeout)
        except (TimeoutError, DeadKernelError) as exc:  # nbclient's CellTimeoutError is a TimeoutError
            error = f"the kernel stopped answering ({type(exc).__name__}: {str(exc)[-500:]})"
            if attempt == 1:
                print(f"{path.stem}: {error}; retrying in a fresh kernel", flush=True)
                continue
        break
    seconds = time.perf_counter() - start
    executed, student_cells = split_executed(combo, snap, first_student)
    for cell in executed.cells:  # the cache matches cell metadata too: keep it as stored
        cell.metadata.pop("execution", None)
    nbformat.write(executed, out / path.name)
    student_nb = nbformat.v4.new_notebook(cells=student_cells, metadata=teacher.metadata)
    nbformat.write(student_nb, out / f"{path.stem}.student.ipynb")
    summary = {"chapter": path.stem, "seconds": round(seconds, 1), "error": error, "attempts": attempt}
    if error is None and cache_dir is not None:
        cache_for_book(path, executed, seconds, cache_dir)
    (out / f"{path.stem}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def main() -> int:
    """Execute the chapters named on the command line (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help="chapter name prefixes (default: all)")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the executed notebooks")
    parser.add_argument("--cache", type=Path, default=CACHE, help="the book's jupyter-cache folder")
    args = parser.parse_args()
    paths = [p for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
             if not args.chapters or any(p.name.startswith(c) for c in args.chapters)]
    if not paths:
        parser.error(f"no chapter matches {args.chapters}")
    failed = 0
    for path in paths:
        summary = execute_chapter(path, args.out, args.cache)
        print(f"{path.stem}: {summary['seconds']:.0f} s" + (" FAILED" if summary["error"] else ""), flush=True)
        failed += summary["error"] is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
