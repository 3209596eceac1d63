"""Smoke tests of the benchmark script's pieces at a tiny size (its numbers are not checked:
performance claims live in its results file, not in timed tests)."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch

import course_lib as cl

spec = importlib.util.spec_from_file_location("bench", Path(__file__).resolve().parents[1] / "benchmarks" / "run.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
CPU = torch.device("cpu")


def test_dataset_throughput_covers_every_dataset():
    rates = bench.dataset_throughput(n=32, size=16)
    assert set(rates) == set(cl.data.DATASETS)
    assert all(math.isfinite(r) and r > 0 for r in rates.values())


def test_fit_overhead_and_settings_report_rates():
    out = bench.fit_overhead(CPU, n=128, size=16, epochs=1, repeats=1)
    assert out["fit_over_hand_time"] == pytest.approx(out["hand_images_per_s"] / out["fit_images_per_s"])
    settings = bench.fit_settings(CPU, n=128, size=16, epochs=1, repeats=1)
    assert set(settings) == {"channels first (batch 128)", "channels_last"}


@pytest.mark.slow
def test_compile_cost_reports_numbers_where_a_compiler_exists():
    """With a C++ compiler torch.compile must work and be measured; without one the result says why."""
    import shutil

    out = bench.compile_cost(CPU, n=128, size=16, epochs=1)
    if shutil.which("g++") or shutil.which("c++"):
        assert set(out) == {"eager_images_per_s", "compiled_images_per_s", "compile_seconds"}, out
        assert out["eager_images_per_s"] > 0 and out["compiled_images_per_s"] > 0 and out["compile_seconds"] >= 0
    else:
        assert set(out) == {"error"} and out["error"]


def test_chapter_times_refuses_an_unknown_chapter_before_running_any():
    with pytest.raises(SystemExit, match="unknown chapter"):
        bench.chapter_times("fast", names=["99_no_such_chapter"])


def test_make_test_ran_once_per_chapter_within_its_budget():
    """benchmarks/time_make_test.py timed make test in a fresh clone: it passed, every chapter was
    executed (once: the book build then executes nothing, tests/conftest.py asserts it), and it took
    at most the chapters' own times plus six minutes (benchmarks/time_make_test.py's REST)."""
    import json
    import os

    from notebook_utils import NOTEBOOKS, ROOT

    if os.environ.get("COURSE_TIMING_RUN") == "1":
        pytest.skip("this run is the one that makes benchmarks/make_test_time.json")
    record = json.loads((ROOT / "benchmarks" / "make_test_time.json").read_text())
    assert record["passed"]
    assert set(record["chapter_seconds"]) == {p.stem for p in NOTEBOOKS}
    rates = record["host_fit_images_per_s"]
    assert len(rates) == 2 and min(rates) > 0
    assert record["slowdown"] == round(max(1.0, record["reference_fit_images_per_s"] / (sum(rates) / 2)), 2)
    rest = 360  # benchmarks/time_make_test.py's REST
    assert record["budget_seconds"] == round(sum(record["chapter_seconds"].values()) + rest * record["slowdown"])
    assert record["make_test_seconds"] <= record["budget_seconds"], record
