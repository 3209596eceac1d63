"""Benchmark of the course's cost: run with ``make benchmark`` (or ``.venv/bin/python benchmarks/run.py``).

Measures, on this machine, and writes ``benchmarks/results-<device>.json``:

* dataset generation throughput (images/s) for each synthetic dataset at 64x64;
* ``course_lib.fit`` throughput against a minimal hand-written PyTorch loop doing the same work
  (same model, data, batch size, optimiser), as a ratio measured in the same process;
* what ``fit(..., speed=Speed(compile=True))`` costs (seconds of compiling) and gains (images/s);
* each chapter's execution time and peak memory in fast and in full mode (``--fast-only`` skips
  the full size; on a CPU a full-size chapter is stopped after 300 s unless ``--full-timeout``
  says otherwise, because the full size is meant for a GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

import course_lib as cl

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    dev = cl.config.get_device()
    info = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": dev.type}
    if dev.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def dataset_throughput(n: int = 20_000, size: int = 64) -> dict[str, float]:
    """Images per second for each dataset generator (best of 3)."""
    out = {}
    for name in cl.data.DATASETS:
        best = float("inf")
        for rep in range(3):
            t = time.perf_counter()
            cl.data.make_dataset(name, n, image_size=size, seed=rep)
            best = min(best, time.perf_counter() - t)
        out[name] = n / best
    return out


def _hand_loop(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int,
               device: torch.device) -> None:
    """The minimal training loop fit is compared with: data on the device, Adam, MSE."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(x.shape[0], generator=gen).to(device)
        for start in range(0, x.shape[0], batch_size):
            idx = order[start:start + batch_size]
            loss = torch.nn.functional.mse_loss(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _boxes_on(device: torch.device, n: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The benchmark's training data: boxes in [0, 1] with standardised targets, on ``device``."""
    x, y = cl.make_box_dataset(n, image_size=size, seed=0)
    return (x / 255).to(device), cl.Standardizer().fit(y).transform(y).to(device)


def _new_model(device: torch.device, size: int) -> torch.nn.Module:
    """The benchmark's CNN, freshly initialised with the same seed every time."""
    torch.manual_seed(0)
    return cl.SmallCNN(size, 2, width=16).to(device)


def _seconds(device: torch.device, train: Callable[..., object], /, *args: object, **kwargs: object) -> float:
    """Wall time of ``train(*args, **kwargs)``, with the device's queue drained before and after."""
    _sync(device)
    t = time.perf_counter()
    train(*args, **kwargs)
    _sync(device)
    return time.perf_counter() - t


def fit_overhead(device: torch.device, n: int = 4096, size: int = 32, epochs: int = 3, batch_size: int = 128,
                 repeats: int = 3) -> dict[str, float]:
    """Training images per second of cl.fit and of the hand-written loop, interleaved, best of ``repeats``."""
    x, y = _boxes_on(device, n, size)
    times = {"fit": float("inf"), "hand": float("inf")}
    for _ in range(repeats):
        times["hand"] = min(times["hand"], _seconds(device, _hand_loop, _new_model(device, size), x, y, epochs,
                                                    batch_size, device))
        # the same memory order as the hand-written loop: the same work
        times["fit"] = min(times["fit"], _seconds(device, cl.fit, _new_model(device, size), (x, y), epochs=epochs,
                                                  batch_size=batch_size, device=device, progress=False))
    imgs = n * epochs
    return {"fit_images_per_s": imgs / times["fit"], "hand_images_per_s": imgs / times["hand"],
            "fit_over_hand_time": times["fit"] / times["hand"]}


def fit_settings(device: torch.device, n: int = 4096, size: int = 32, epochs: int = 3,
                 repeats: int = 3) -> dict[str, float]:
    """Training images per second of ``cl.fit`` with the settings that can make a small CNN faster:
    channels-last memory order everywhere; on CUDA also bfloat16 autocast and a larger batch.
    Best of ``repeats``; the same model and data as :func:`fit_overhead`."""
    x, y = _boxes_on(device, n, size)
    speed = cl.train.Speed
    settings: dict[str, tuple[object, int]] = {"channels first (batch 128)": (speed(), 128),
                                               "channels_last": (speed(channels_last=True), 128)}
    if device.type == "cuda":
        settings.update({"amp (bf16)": (speed(amp=True), 128),
                         "amp + channels_last": (speed(amp=True, channels_last=True), 128),
                         "amp + channels_last, batch 512": (speed(amp=True, channels_last=True), 512)})
    out = {}
    for name, (setting, batch_size) in settings.items():
        best = min(_seconds(device, cl.fit, _new_model(device, size), (x, y), epochs=epochs, device=device,
                            progress=False, batch_size=batch_size, speed=setting) for _ in range(repeats))
        out[name] = round(n * epochs / best)
    return out


def compile_cost(device: torch.device, n: int = 4096, size: int = 32, epochs: int = 3) -> dict[str, object]:
    """What ``fit(..., speed=Speed(compile=True))`` costs and gains for the benchmark's CNN: the seconds the first
    epoch waits for the compiler, and training images per second once compiled, against eager
    mode in the same process (the same model and data as :func:`fit_overhead`; best of 2)."""
    x, y = _boxes_on(device, n, size)

    def timed(model: torch.nn.Module, n_epochs: int, compile: bool) -> float:
        return _seconds(device, cl.fit, model, (x, y), epochs=n_epochs, device=device, progress=False,
                        batch_size=128, speed=cl.train.Speed(compile=compile))

    eager = min(timed(_new_model(device, size), epochs, False) for _ in range(2))
    torch._dynamo.reset()
    model = _new_model(device, size)
    try:
        first = timed(model, 1, True)  # compiles the forward and backward passes
    except Exception as err:  # no C++ compiler, unsupported platform: say so in the results
        return {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"}
    steady = min(timed(model, epochs, True) for _ in range(2))  # reuses the compiled code
    return {"eager_images_per_s": round(n * epochs / eager), "compiled_images_per_s": round(n * epochs / steady),
            "compile_seconds": round(first - eager / epochs, 1)}


def chapter_times(size: str, timeout: float | None = None, names: list[str] | None = None
                  ) -> dict[str, dict[str, float | None]]:
    """Wall time and peak resident memory of executing each chapter (or the chapters ``names``),
    one fresh kernel each.

    A chapter still running after ``timeout`` seconds is stopped (with its kernel) and recorded
    as ``{"seconds": None, "stopped_after_s": timeout}``: the full size is meant for a GPU, and
    on a CPU some chapters would take hours.
    """
    runner = (
        "import resource, sys, nbformat\n"
        "sys.path.insert(0, '.')\n"
        "from tools.kernel_client import execute_notebook\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "seconds, _ = execute_notebook(nb, 'notebooks', timeout=None)\n"
        "print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = dict(os.environ, COURSE_SIZE=size, COURSE_PROGRESS="0", MPLBACKEND="Agg")
    out: dict[str, dict[str, float | None]] = {}
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if names is not None:
        unknown = set(names) - {nb.stem for nb in notebooks}
        if unknown:
            raise SystemExit(f"unknown chapter(s) {sorted(unknown)}; chapters: {[nb.stem for nb in notebooks]}")
        notebooks = [nb for nb in notebooks if nb.stem in names]
    for nb in notebooks:
        proc = subprocess.Popen([sys.executable, "-c", runner, str(nb)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT, start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the runner and its kernel
            proc.communicate()
            out[nb.stem] = {"seconds": None, "stopped_after_s": timeout}
            print(f"  {nb.stem}: stopped after {timeout} s", flush=True)
            continue
        if proc.returncode != 0:  # record it and go on: the other measurements still count
            error = next((line for line in reversed(stderr.splitlines()) if "Error" in line), "failed")
            out[nb.stem] = {"seconds": None, "error": error[-300:]}
            print(f"  {nb.stem}: FAILED in {size} mode: {error[-300:]}", flush=True)
            continue
        seconds, maxrss_kb = stdout.strip().splitlines()[-1].split()
        out[nb.stem] = {"seconds": round(float(seconds), 1), "peak_memory_mb": round(int(maxrss_kb) / 1024)}
        print(f"  {nb.stem}: {out[nb.stem]}", flush=True)
    return out


def measure_training_and_data(results: dict[str, object], dev: torch.device) -> None:
    """Dataset generation, fit against a hand-written loop, fit per speed setting and
    torch.compile, on the CPU and on ``dev`` when it is an accelerator; written into ``results``."""
    results["dataset_images_per_s_64px"] = {k: round(v) for k, v in dataset_throughput().items()}
    print("datasets:", results["dataset_images_per_s_64px"], flush=True)
    devices = [torch.device("cpu")] + ([dev] if dev.type != "cpu" else [])
    results["fit_vs_hand_loop"] = {d.type: {k: round(v, 3) for k, v in fit_overhead(d).items()} for d in devices}
    print("fit vs hand loop:", results["fit_vs_hand_loop"], flush=True)
    results["fit_images_per_s_by_setting"] = {d.type: fit_settings(d) for d in devices}
    print("fit by setting:", results["fit_images_per_s_by_setting"], flush=True)
    results["torch_compile"] = {d.type: compile_cost(d) for d in devices}
    print("torch.compile:", results["torch_compile"], flush=True)


def main() -> int:
    """Run every measurement and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fast-only", action="store_true", help="time the chapters in fast size only")
    parser.add_argument("--full-timeout", type=float, default=None,
                        help="stop a full-size chapter after this many seconds (default: 300 on a CPU, "
                             "no limit on a GPU; the full size is meant for a GPU)")
    parser.add_argument("--no-chapters", action="store_true", help="skip the chapter timings (minutes)")
    parser.add_argument("--chapters", nargs="+", metavar="NAME",
                        help="re-time only these chapters (e.g. 04_augmentation_invariance) and update them "
                             "in the existing results file, keeping its other measurements")
    parser.add_argument("--out", type=Path, default=None, help="results file (default benchmarks/results-<device>.json)")
    args = parser.parse_args()
    dev = cl.config.get_device()
    out = args.out or ROOT / "benchmarks" / f"results-{dev.type}.json"
    limit = args.full_timeout if args.full_timeout is not None else (300.0 if dev.type == "cpu" else None)
    sizes = ("fast",) if args.fast_only else ("fast", "full")
    if args.chapters:
        if not out.exists():
            parser.error(f"--chapters updates an existing results file, and {out} does not exist: run the "
                         "whole benchmark first")
        results = json.loads(out.read_text())
        for size in sizes:
            timings = chapter_times(size, limit if size == "full" else None, args.chapters)
            results.setdefault(f"chapters_{size}", {}).update(timings)
        results["chapters_retimed"] = {"date": time.strftime("%Y-%m-%d"), "chapters": args.chapters}
    else:
        results = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
        measure_training_and_data(results, dev)
        if not args.no_chapters:
            for size in sizes:
                results[f"chapters_{size}"] = chapter_times(size, limit if size == "full" else None)
                print(f"chapters ({size}):", results[f"chapters_{size}"], flush=True)
    measured = [(f"{name} ({size})", timing["peak_memory_mb"]) for size in ("fast", "full")
                for name, timing in results.get(f"chapters_{size}", {}).items() if "peak_memory_mb" in timing]
    if measured:
        chapter, mb = max(measured, key=lambda item: item[1])
        results["largest_chapter_peak_memory"] = {"chapter": chapter, "mb": mb}
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    failed = [name for size in ("fast", "full") for name, timing in results.get(f"chapters_{size}", {}).items()
              if "error" in timing]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
