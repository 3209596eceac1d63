"""cl.experiments.average_runs: several runs' measurements, averaged key by key (chapter 5)."""

from __future__ import annotations

import math

import pytest

import course_lib as cl


def test_average_runs_means_each_position_of_each_key():
    runs = [{"mae": [1.0, 2.0], "bias": [-1.0, 0.5]}, {"mae": [3.0, 6.0], "bias": [1.0, 0.5]}]
    assert cl.experiments.average_runs(runs) == {"mae": [2.0, 4.0], "bias": [0.0, 0.5]}


def test_average_runs_equals_the_hand_written_mean_bit_for_bit():
    """The chapter's old code averaged two runs as (a + b) / 2: the same floats come out."""
    a, b = [0.1, 1 / 3, 7.7], [0.2, 2 / 3, 1e-9]
    out = cl.experiments.average_runs([{"mae": a}, {"mae": b}])
    assert out["mae"] == [(x + y) / 2 for x, y in zip(a, b)]


def test_average_runs_of_one_run_is_that_run_and_keeps_nan():
    out = cl.experiments.average_runs([{"mae": [1.5, math.nan]}])
    assert out["mae"][0] == 1.5 and math.isnan(out["mae"][1])


def test_average_runs_works_on_error_by_range():
    import torch

    y = torch.linspace(0, 10, 50)[:, None]
    runs = [cl.metrics.error_by_range(y + s, y, [5.0]) for s in (1.0, 3.0)]
    out = cl.experiments.average_runs(runs)
    assert out["mae"] == pytest.approx([2.0, 2.0]) and out["count"] == runs[0]["count"]


@pytest.mark.parametrize("bad, error", [
    ([], TypeError),
    ({"mae": [1.0]}, TypeError),
    ([[1.0, 2.0]], TypeError),
    ([{"mae": [1.0]}, {"bias": [1.0]}], ValueError),
    ([{"mae": [1.0]}, {"mae": [1.0, 2.0]}], ValueError),
])
def test_average_runs_refuses_bad_input(bad, error):
    with pytest.raises(error, match="runs|run"):
        cl.experiments.average_runs(bad)
