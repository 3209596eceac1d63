"""Time ``make test`` in a fresh clone and record it against the chapters' own run times.

    .venv/bin/python benchmarks/time_make_test.py          # clones HEAD into a temporary folder

The budget (issue: one execution per chapter) is the sum of the chapters' fast execution times
plus ``REST`` (6 minutes) of 2-core time for the rest of the suite. It was 3 minutes until 2026-12-03,
when a fresh clone on a host at about the reference speed measured the rest of the suite (book
build, browser and accessibility checks in both themes, PDF, nbval, the Colab path) at about 330 s:
the checks added since the 2026-11-27 record had outgrown it. The minutes are those of the machine on the day of the reference
benchmark (``benchmarks/results-cpu.json``, ``cl.fit`` at its training rate in images per second):
the same 2-core machine has run up to about 3x slower on other days, which stretches the chapters
(their own measured times, in the budget) and the rest of the suite alike. So the host's rate is
measured in the clone just before and just after ``make test`` (``benchmarks/run.py``'s
``fit_overhead``), and the minutes are scaled by the reference rate over the host's mean rate
when the host is slower (never shortened when it is faster); both rates go into the record.

The clone starts with no ``.venv`` and no ``_build``: ``make setup`` (creating the
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
REST = 360  # seconds of the reference machine for everything in make test but the chapters' executions
OUT = ROOT / "benchmarks" / "make_test_time.json"
sys.path.insert(0, str(ROOT))
from tools import seed_sweep  # noqa: E402  (the one measurement of the host's rate, and the reference's)

REFERENCE = seed_sweep.REFERENCE  # its date; its rate is seed_sweep.reference_rate()

LOG = Path(tempfile.gettempdir()) / "make_test_fresh_clone.log"  # the whole output, for a failure


def host_rate(clone: Path, env: dict[str, str]) -> float:
    """``cl.fit``'s training rate (images per second) on this host, with the clone's environment."""
    return seed_sweep.host_rate(python=clone / ".venv" / "bin" / "python", cwd=clone, env=env)


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
        rates = [host_rate(clone, env)]
        start = time.perf_counter()
        result = subprocess.run(["make", "test"], cwd=clone, env=env, capture_output=True, text=True)
        total = time.perf_counter() - start
        rates.append(host_rate(clone, env))
        rates = [round(r, 1) for r in rates]
        LOG.write_text(setup.stdout + setup.stderr + "\n----- make test -----\n" + result.stdout + result.stderr)
        chapters = {}
        for summary in sorted((clone / "_build" / "executed").glob("*.json")):
            data = json.loads(summary.read_text())
            chapters[data["chapter"]] = data["seconds"]
        tail = result.stdout[-3000:]
    reference = json.loads(REFERENCE.read_text())
    ref_rate = seed_sweep.reference_rate()
    slowdown = round(max(1.0, ref_rate / (sum(rates) / len(rates))), 2)
    budget = sum(chapters.values()) + REST * slowdown
    record = {
        "commit": commit, "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "setup_seconds": round(setup_seconds), "make_test_seconds": round(total), "passed": result.returncode == 0,
        "chapter_seconds": chapters, "budget_seconds": round(budget),
        "host_fit_images_per_s": rates, "reference_fit_images_per_s": ref_rate,
        "reference_date": reference["date"], "slowdown": slowdown,
        "within_budget": total <= budget,
        "doc": "in a fresh clone: make setup (the environment from the lock, once per machine), then make test, "
               "timed apart; budget for make test = sum of the chapters' fast execution times (each executed once) "
               f"+ {REST} s x slowdown, slowdown = max(1, reference fit rate / the host's mean fit rate before and "
               "after make test)",
    }
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))
    if result.returncode != 0:
        print(tail)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
