"""Execute chapters many times in a row and count lost ``execute_reply`` messages.

Each run uses :class:`kernel_client.ReplyTolerantClient`, which ends a cell whose reply never came
``lost_reply_grace`` seconds after the kernel went idle and counts it, so a lost reply shows up as a
count instead of a hang. The kernel is this interpreter's ipykernel (run the script with another
environment's python to try another ipykernel). Results go to a JSON file::

    .venv/bin/python tools/kernel_soak.py --runs 30 --chapters 01 03 08 --out benchmarks/kernel_soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools.kernel_client import execute_notebook  # noqa: E402


def run_once(path: Path, grace: float = 30.0, timeout: int = 1200) -> dict:
    """Execute one chapter and return its time, its lost replies and its error (or None)."""
    nb = nbformat.read(path, as_version=4)
    seconds, client = execute_notebook(nb, path.parent, timeout=timeout, allow_errors=True, grace=grace)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    error = f"{errors[0].get('ename')}: {str(errors[0].get('evalue'))[-300:]}" if errors else None
    return {"chapter": path.stem, "seconds": round(seconds, 1), "lost_replies": client.lost_replies, "error": error}


def main() -> int:
    """Run the soak and write its record."""
    import ipykernel

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30, help="chapter executions in all (default 30)")
    parser.add_argument("--chapters", nargs="+", default=["01", "03", "08"], help="chapter numbers, cycled")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds after idle before a reply counts as lost")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    paths = [next((ROOT / "notebooks").glob(f"{c}_*.ipynb")) for c in args.chapters]
    os.environ.setdefault("COURSE_PROGRESS", "0")
    runs = []
    for i in range(args.runs):
        runs.append(run_once(paths[i % len(paths)], args.grace))
        print(json.dumps(runs[-1]), flush=True)
    record = {"ipykernel": ipykernel.__version__, "python": sys.version.split()[0],
              "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "grace_seconds": args.grace,
              "runs": len(runs), "lost_replies": sum(r["lost_replies"] for r in runs),
              "errors": sum(r["error"] is not None for r in runs), "per_run": runs}
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"ipykernel {record['ipykernel']}: {record['runs']} runs, {record['lost_replies']} lost replies, "
          f"{record['errors']} errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
