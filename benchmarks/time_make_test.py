"""Time ``make test`` in a fresh clone and record it against the chapters' own run times.

    .venv/bin/python benchmarks/time_make_test.py          # clones HEAD into a temporary folder

The budget (issue: one execution per chapter) is the sum of the chapters' fast execution times
plus 3 minutes. The clone starts with no ``.venv`` and no ``_build``: ``make setup`` (creating the
environment from the lock, once per machine) is timed first and recorded apart, then ``make test``. Results go to ``benchmarks/make_test_time.json``;
run it on an otherwise idle machine.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "make_test_time.json"
LOG = Path(tempfile.gettempdir()) / "make_test_fresh_clone.log"  # the whole output, for a failure


def main() -> int:
    """Clone HEAD, run ``make test`` there, write the timings; exit with make's status."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                            check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "VIRTUAL_ENV"))}
        env["COURSE_TIMING_RUN"] = "1"  # the check of this very record is skipped while it is being made
        start = time.perf_counter()
        setup = subprocess.run(["make", "setup"], cwd=clone, env=env, capture_output=True, text=True)
        setup_seconds = time.perf_counter() - start
        start = time.perf_counter()
        result = subprocess.run(["make", "test"], cwd=clone, env=env, capture_output=True, text=True)
        total = time.perf_counter() - start
        LOG.write_text(setup.stdout + setup.stderr + "\n----- make test -----\n" + result.stdout + result.stderr)
        chapters = {}
        for summary in sorted((clone / "_build" / "executed").glob("*.json")):
            data = json.loads(summary.read_text())
            chapters[data["chapter"]] = data["seconds"]
        tail = result.stdout[-3000:]
    budget = sum(chapters.values()) + 180
    record = {
        "commit": commit, "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "setup_seconds": round(setup_seconds), "make_test_seconds": round(total), "passed": result.returncode == 0,
        "chapter_seconds": chapters, "budget_seconds": round(budget),
        "within_budget": total <= budget,
        "doc": "in a fresh clone: make setup (the environment from the lock, once per machine), then make test, "
               "timed apart; budget for make test = sum of the chapters' fast execution times (each executed once) "
               "+ 180 s",
    }
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))
    if result.returncode != 0:
        print(tail)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
