"""Benchmark of the course's cost: run with ``make benchmark`` (or ``.venv/bin/python benchmarks/run.py``).

Measures, on this machine, and writes ``benchmarks/results-<device>.json``:

* dataset generation throughput (images/s) for each synthetic dataset at 64x64;
* ``course_lib.fit`` throughput against a minimal hand-written PyTorch loop doing the same work
  (same model, data, batch size, optimiser), as a ratio measured in the same process;
* each chapter's execution time in fast mode (``--full`` adds full mode) and its peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

import course_lib as cl

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    dev = cl.get_device()
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
            cl.make_dataset(name, n, image_size=size, seed=rep)
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


def fit_overhead(device: torch.device, n: int = 4096, size: int = 32, epochs: int = 3, batch_size: int = 128,
                 repeats: int = 3) -> dict[str, float]:
    """Training images per second of cl.fit and of the hand-written loop, interleaved, best of ``repeats``."""
    x, y = _boxes_on(device, n, size)
    times = {"fit": float("inf"), "hand": float("inf")}
    for _ in range(repeats):
        for kind in ("hand", "fit"):
            torch.manual_seed(0)
            model = cl.SmallCNN(size, 2, width=16).to(device)
            _sync(device)
            t = time.perf_counter()
            if kind == "fit":
                cl.fit(model, (x, y), epochs=epochs, batch_size=batch_size, device=device, progress=False,
                       channels_last=False)  # the same memory order as the hand-written loop: the same work
            else:
                _hand_loop(model, x, y, epochs, batch_size, device)
            _sync(device)
            times[kind] = min(times[kind], time.perf_counter() - t)
    imgs = n * epochs
    return {"fit_images_per_s": imgs / times["fit"], "hand_images_per_s": imgs / times["hand"],
            "fit_over_hand_time": times["fit"] / times["hand"]}


def fit_settings(device: torch.device, n: int = 4096, size: int = 32, epochs: int = 3,
                 repeats: int = 3) -> dict[str, float]:
    """Training images per second of ``cl.fit`` with the settings that can make a small CNN faster:
    channels-last memory order everywhere; on CUDA also bfloat16 autocast and a larger batch.
    Best of ``repeats``; the same model and data as :func:`fit_overhead`."""
    x, y = _boxes_on(device, n, size)
    settings: dict[str, dict[str, object]] = {"channels first (batch 128)": {"channels_last": False},
                                              "channels_last": {"channels_last": True}}
    if device.type == "cuda":
        settings.update({"amp (bf16)": {"amp": True}, "amp + channels_last": {"amp": True, "channels_last": True},
                         "amp + channels_last, batch 512": {"amp": True, "channels_last": True, "batch_size": 512}})
    out = {}
    for name, kwargs in settings.items():
        best = float("inf")
        for _ in range(repeats):
            torch.manual_seed(0)
            model = cl.SmallCNN(size, 2, width=16).to(device)
            _sync(device)
            t = time.perf_counter()
            cl.fit(model, (x, y), epochs=epochs, device=device, progress=False, **{"batch_size": 128, **kwargs})
            _sync(device)
            best = min(best, time.perf_counter() - t)
        out[name] = round(n * epochs / best)
    return out


def chapter_times(size: str) -> dict[str, dict[str, float]]:
    """Wall time and peak resident memory of executing each chapter, one fresh kernel each."""
    runner = (
        "import resource, sys, time, nbformat\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "t = time.perf_counter()\n"
        "NotebookClient(nb, timeout=1800, kernel_name='python3', resources={'metadata': {'path': 'notebooks'}}).execute()\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = dict(os.environ, COURSE_SIZE=size, COURSE_PROGRESS="0", MPLBACKEND="Agg")
    out = {}
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        res = subprocess.run([sys.executable, "-c", runner, str(nb)], capture_output=True, text=True, env=env,
                             cwd=ROOT, check=True)
        seconds, maxrss_kb = res.stdout.strip().splitlines()[-1].split()
        out[nb.stem] = {"seconds": round(float(seconds), 1), "peak_memory_mb": round(int(maxrss_kb) / 1024)}
    return out


def main() -> int:
    """Run every measurement and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="also time the chapters in full size")
    parser.add_argument("--no-chapters", action="store_true", help="skip the chapter timings (minutes)")
    parser.add_argument("--out", type=Path, default=None, help="results file (default benchmarks/results-<device>.json)")
    args = parser.parse_args()
    dev = cl.get_device()
    results: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    results["dataset_images_per_s_64px"] = {k: round(v) for k, v in dataset_throughput().items()}
    print("datasets:", results["dataset_images_per_s_64px"], flush=True)
    results["fit_vs_hand_loop"] = {"cpu": {k: round(v, 3) for k, v in fit_overhead(torch.device("cpu")).items()}}
    if dev.type != "cpu":
        results["fit_vs_hand_loop"][dev.type] = {k: round(v, 3) for k, v in fit_overhead(dev).items()}
    print("fit vs hand loop:", results["fit_vs_hand_loop"], flush=True)
    results["fit_images_per_s_by_setting"] = {"cpu": fit_settings(torch.device("cpu"))}
    if dev.type != "cpu":
        results["fit_images_per_s_by_setting"][dev.type] = fit_settings(dev)
    print("fit by setting:", results["fit_images_per_s_by_setting"], flush=True)
    if not args.no_chapters:
        results["chapters_fast"] = chapter_times("fast")
        print("chapters (fast):", results["chapters_fast"], flush=True)
        if args.full:
            results["chapters_full"] = chapter_times("full")
            print("chapters (full):", results["chapters_full"], flush=True)
        peak = max(results["chapters_fast"].items(), key=lambda kv: kv[1]["peak_memory_mb"])
        results["largest_chapter_peak_memory"] = {"chapter": peak[0], "mb": peak[1]["peak_memory_mb"]}
    out = args.out or ROOT / "benchmarks" / f"results-{dev.type}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
