"""Run chapters over many seeds and record, for every claim, the margin by which it held.

Each chapter is executed top to bottom (fast size) once per seed with ``COURSE_SEED`` set and
``COURSE_CLAIMS_LOG`` pointing at a scratch file, into which every ``cl.claim(...)`` writes its
value, bound and margin. A cell that fails does not stop the run (later claims are still
measured); its error is recorded. Results are merged into a JSON file after every run, so a long
sweep can be stopped and resumed:

    python tools/seed_sweep.py --seeds 100-129                   # every chapter
    python tools/seed_sweep.py --seeds 100-129 --chapters 03 05  # some chapters
    python tools/seed_sweep.py --summary                         # print the file's table
    python tools/seed_sweep.py --seeds 0 --size full --out benchmarks/full_size_cpu.json  # full size

Seeds already recorded for a chapter are skipped (``--reset`` drops a chapter's record first).

With ``--host-rate`` (on by default for the full size) each run is bracketed by a measurement of
this host's training rate (``benchmarks/run.py``'s ``fit_overhead``, with the kernel's threads),
and the record gets, next to the run's seconds, the rates and the seconds scaled to the reference
machine of ``benchmarks/results-cpu.json`` (seconds x host rate / reference rate): the time the run
would have taken on the reference day, on a host that is slower or busier today.

For each claim the file keeps the worst (smallest) margin over the seeds, the seed that gave it,
and the seeds on which it failed. ``benchmarks/seed_sweep.json`` is the committed record.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the tools package
    sys.path.insert(0, str(ROOT))
DEFAULT_OUT = ROOT / "benchmarks" / "seed_sweep.json"
REFERENCE = ROOT / "benchmarks" / "results-cpu.json"
RATE = ("import importlib.util, torch\n"
        "spec = importlib.util.spec_from_file_location('bench', 'benchmarks/run.py')\n"
        "bench = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(bench)\n"
        "print(bench.fit_overhead(torch.device('cpu'), repeats=2)['fit_images_per_s'])\n")


def parse_seeds(text: str) -> list[int]:
    """Turn ``"100-129"`` or ``"3,5,100-102"`` into a sorted list of seeds."""
    seeds: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = (int(v) for v in part.split("-", 1))
            if hi < lo:
                raise ValueError(f"empty seed range {part!r}")
            seeds.update(range(lo, hi + 1))
        elif part:
            seeds.add(int(part))
    if not seeds or min(seeds) < 0:
        raise ValueError(f"seeds must be non-negative integers, got {text!r}")
    return sorted(seeds)


def chapter_paths(prefixes: list[str] | None) -> list[Path]:
    """The chapter notebooks whose names start with one of ``prefixes`` (all if None)."""
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        paths = [p for p in paths if any(p.name.startswith(x) for x in prefixes)]
        if not paths:
            raise SystemExit(f"no chapter matches {prefixes}")
    return paths


def host_rate(threads: int | None = None, python: str | Path = sys.executable, cwd: Path = ROOT,
              env: dict[str, str] | None = None) -> float:
    """``cl.fit``'s training rate on this host (images per second), measured by ``python`` in
    ``cwd`` (a checkout with ``benchmarks/run.py``) with ``threads`` CPU threads."""
    env = dict(os.environ if env is None else env)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    out = subprocess.run([str(python), "-c", RATE], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def reference_rate() -> float:
    """The reference machine's ``cl.fit`` training rate (``benchmarks/results-cpu.json``)."""
    return float(json.loads(REFERENCE.read_text())["fit_vs_hand_loop"]["cpu"]["fit_images_per_s"])


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc; none elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _exit_with_parent() -> None:
    """Pool initializer: when the sweep that started this worker dies, kill the worker's kernels and exit.

    Without it, killing a sweep leaves its workers and their kernels running to the end of their
    chapters, taking the CPU from whatever runs next."""
    import signal
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(2)
        for child in _children(os.getpid()):
            try:
                os.kill(child, signal.SIGKILL)
            except OSError:
                pass
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def run_once(path: Path, seed: int, timeout: int = 1800, threads: int | None = None, size: str = "fast",
             measure_host: bool = False) -> dict:
    """Execute one chapter with one seed; return its claims, errors and run time.

    ``threads`` caps the kernel's CPU threads (``OMP_NUM_THREADS``), for runs side by side.
    ``measure_host`` brackets the run by two measurements of the host's training rate."""
    rates = [host_rate(threads)] if measure_host else []
    import nbformat

    from tools.kernel_client import execute_notebook

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        log = Path(f.name)
    env = {"COURSE_SEED": str(seed), "COURSE_SIZE": size, "COURSE_CLAIMS_LOG": str(log), "MPLBACKEND": "Agg"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    nb = nbformat.read(path, as_version=4)
    seconds, _ = execute_notebook(nb, path.parent, timeout=timeout, env=env, allow_errors=True)
    errors = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors.append(f"cell {i}: {out.get('ename')}: {str(out.get('evalue'))[:300]}")
    claims = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    log.unlink()
    run = {"seconds": round(seconds, 1), "claims": claims, "errors": errors}
    if measure_host:
        rates.append(host_rate(threads))
        run["host_fit_images_per_s"] = [round(r, 1) for r in rates]
    return run


def merge(results: dict, chapter: str, seed: int, run: dict) -> None:
    """Fold one run into the results: per claim, the worst margin and the failing seeds."""
    ch = results.setdefault(chapter, {"seeds": [], "seconds": {}, "errors": {}, "claims": {}})
    if seed not in ch["seeds"]:
        ch["seeds"] = sorted(ch["seeds"] + [seed])
    ch["seconds"][str(seed)] = run["seconds"]
    if "host_fit_images_per_s" in run:
        rates = run["host_fit_images_per_s"]
        ch.setdefault("host_fit_images_per_s", {})[str(seed)] = rates
        ch.setdefault("reference_seconds", {})[str(seed)] = round(
            run["seconds"] * (sum(rates) / len(rates)) / reference_rate(), 1)
    if run["errors"]:
        ch["errors"][str(seed)] = run["errors"]
    else:
        ch["errors"].pop(str(seed), None)
    seen: dict[str, int] = {}
    for rec in run["claims"]:
        seen[rec["name"]] = seen.get(rec["name"], 0) + 1
        key = rec["name"] if seen[rec["name"]] == 1 else f"{rec['name']} #{seen[rec['name']]}"
        c = ch["claims"].setdefault(key, {"op": rec["op"], "bound": rec["bound"], "seeds": 0, "failed_seeds": [],
                                          "worst_margin": None, "worst_relative_margin": None,
                                          "worst_value": None, "worst_seed": None})
        c["seeds"] += 1
        c.setdefault("values", {})[str(seed)] = rec["value"]  # every seed's value: the claim's spread
        values = [v for v in c["values"].values() if v == v]
        if len(values) >= 2:
            mean = sum(values) / len(values)
            c["std"] = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
        if not rec["held"] and seed not in c["failed_seeds"]:
            c["failed_seeds"] = sorted(c["failed_seeds"] + [seed])
        if "control" in rec:  # the same measurement where the claim must not hold: it must fail
            c.setdefault("control_values", {})[str(seed)] = rec["control"]
            c.setdefault("control_held_seeds", [])
            if rec["control_held"] and seed not in c["control_held_seeds"]:
                c["control_held_seeds"] = sorted(c["control_held_seeds"] + [seed])
            cm = rec["control_margin"]
            if c.get("control_best_margin") is None or cm > c["control_best_margin"] or cm != cm:
                c.update(control_best_margin=cm, control_best_value=rec["control"])
        m = rec["margin"]
        if c["worst_margin"] is None or (m == m and m < c["worst_margin"]) or m != m:
            c.update(worst_margin=m, worst_relative_margin=rec["relative_margin"], worst_value=rec["value"],
                     worst_seed=seed, bound=rec["bound"], op=rec["op"])


def margin_in_sd(claim: dict) -> float | None:
    """The claim's worst margin in units of its seed-to-seed standard deviation (None where fewer
    than two seeds' values are recorded, or they do not vary)."""
    std = claim.get("std")
    if not std or claim.get("worst_margin") is None:
        return None
    return claim["worst_margin"] / std


def summary(results: dict) -> str:
    """A plain-text table: chapter, claim, seeds, failures, worst margin."""
    lines = []
    for chapter, ch in sorted(results.items()):
        if chapter.startswith("_"):
            continue
        secs = list(ch["seconds"].values())
        lines.append(f"{chapter}: {len(ch['seeds'])} seeds ({min(ch['seeds'])}-{max(ch['seeds'])}), "
                     f"{sum(secs) / len(secs):.0f} s per run, {len(ch['errors'])} runs with errors")
        for name, c in ch["claims"].items():
            status = "FAILED on " + ",".join(map(str, c["failed_seeds"])) if c["failed_seeds"] else "held"
            if c.get("control_held_seeds"):
                status += "; CONTROL HELD on " + ",".join(map(str, c["control_held_seeds"]))
            elif "control_values" not in c:
                status += "; NO CONTROL"
            else:
                status += f"; control at worst {c['control_best_value']:.4g}"
            sds = margin_in_sd(c)
            spread = f", {sds:.1f} sd" if sds is not None else ""
            lines.append(f"  {name:<44} {c['op']:>2} {c['bound']:<9.4g} worst {c['worst_value']:<10.4g} "
                         f"margin {c['worst_relative_margin']:+.3f}{spread} (seed {c['worst_seed']}, "
                         f"{c['seeds']} runs) {status}")
        for seed, errs in sorted(ch["errors"].items(), key=lambda kv: int(kv[0])):
            for e in errs:
                lines.append(f"  seed {seed}: {e[:160]}")
    return "\n".join(lines)


def main() -> int:
    """Command line: run the sweep or print the summary of the results file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", help="seeds to run, e.g. 100-129 or 3,7,200-209")
    parser.add_argument("--chapters", nargs="*", help="chapter name prefixes (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results file (merged into)")
    parser.add_argument("--summary", action="store_true", help="print the results file's table and exit")
    parser.add_argument("--reset", action="store_true", help="drop earlier results of the chapters run")
    parser.add_argument("--size", choices=("fast", "full"), default="fast", help="chapter size (default fast)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    parser.add_argument("--host-rate", action=argparse.BooleanOptionalAction, default=None,
                        help="measure the host's training rate around each run (default: on for --size full)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="chapters run side by side, each kernel with cpu_count/jobs threads (default 1)")
    args = parser.parse_args()
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.summary:
        print(summary(results))
        return 0
    if not args.seeds:
        parser.error("--seeds is required unless --summary")
    seeds = parse_seeds(args.seeds)
    paths = chapter_paths(args.chapters)
    if args.reset:
        for p in paths:
            results.pop(p.stem, None)
    # Seed by seed across the chapters, so that a sweep stopped early has covered every chapter
    # alike; seeds already in the file are kept (a stopped sweep resumes where it was).
    jobs = [(path, seed) for seed in seeds for path in paths
            if seed not in results.get(path.stem, {}).get("seeds", [])]
    threads = max(1, (os.cpu_count() or 1) // args.jobs) if args.jobs > 1 else None
    measure_host = args.size == "full" if args.host_rate is None else args.host_rate
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn"),
                             initializer=_exit_with_parent) as pool:
        futures = {pool.submit(run_once, path, seed, args.timeout, threads, args.size, measure_host): (path, seed)
                   for path, seed in jobs}
        for future in as_completed(futures):
            path, seed = futures[future]
            run = future.result()
            merge(results, path.stem, seed, run)
            failed = [r["name"] for r in run["claims"] if not r["held"]]
            print(f"{path.stem} seed {seed}: {run['seconds']:.0f} s, {len(run['claims'])} claims, "
                  f"failed {failed or 'none'}, errors {len(run['errors'])}", flush=True)
            results["_about"] = {"command": "python tools/seed_sweep.py", "size": args.size,
                                 "date": time.strftime("%Y-%m-%d"), "doc": "worst margin over seeds per claim"}
            args.out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(summary(results))
    bad = any(c["failed_seeds"] or c.get("control_held_seeds") or "control_values" not in c
              for k, ch in results.items() if not k.startswith("_") for c in ch["claims"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
