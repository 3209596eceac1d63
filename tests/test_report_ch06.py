"""Chapter 6's library pieces: per-column table formats, a diverged run, the coverage of intervals."""

import math

import pytest
import torch

import course_lib as cl
from course_lib.train import History


def test_print_table_formats_each_column_its_own_way(capsys):
    cl.report.print_table({"a": [54.61, 1.04, "21 of 2000"]}, ["mse", "bias", "n"], ["{:.1f}", "{:+.2f}", "{}"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["mse", "bias", "n"]
    assert lines[1].split() == ["a", "54.6", "+1.04", "21", "of", "2000"]
    cl.report.print_table({"a": [54.61]}, ["mse"], fmt="{:.2f}")  # control: a list of names keeps fmt
    assert capsys.readouterr().out.splitlines()[1].split() == ["a", "54.61"]


def test_print_table_names_bad_formats():
    with pytest.raises(TypeError, match="fmt"):
        cl.report.print_table({"a": [1.0, 2.0]}, ["x", "y"], ["{:.1f}"])  # one format for two columns
    with pytest.raises(TypeError, match="fmt"):
        cl.report.print_table({"a": [1.0]}, ["x"], [3])


def test_diverged_sees_a_non_finite_loss_or_prediction():
    ok = History(train_loss=[1.0, 0.5])
    assert not cl.diagnose.diverged(ok) and not cl.diagnose.diverged(ok, torch.zeros(3, 1))
    assert cl.diagnose.diverged(History(train_loss=[1.0, math.nan]))
    assert cl.diagnose.diverged(History(train_loss=[math.inf]))
    assert cl.diagnose.diverged(ok, torch.tensor([[0.0], [math.nan]]))  # only the predictions fail


def test_diverged_names_bad_input():
    with pytest.raises(TypeError, match="history"):
        cl.diagnose.diverged([1.0, 2.0])
    with pytest.raises(TypeError, match="pred"):
        cl.diagnose.diverged(History(train_loss=[1.0]), [0.0])


def test_coverage_between_counts_targets_inside_closed_intervals():
    lower, upper = torch.zeros(4, 1), torch.ones(4, 1)
    target = torch.tensor([[0.0], [0.5], [1.0], [1.5]])  # both ends count as inside
    assert cl.metrics.coverage_between(lower, upper, target) == 0.75
    assert cl.metrics.coverage_between(lower - 1, upper + 1, target) == 1.0  # widened, all inside


def test_coverage_between_names_bad_input():
    with pytest.raises(TypeError, match="upper"):
        cl.metrics.coverage_between(torch.zeros(2), [1.0, 1.0], torch.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        cl.metrics.coverage_between(torch.zeros(2, 1), torch.ones(2, 1), torch.zeros(2))


def test_plot_bin_panels_draws_one_panel_per_number_of_bins():
    import matplotlib.pyplot as plt

    logits = {3: torch.randn(5, 3), 10: torch.randn(5, 10)}
    centres = {3: torch.tensor([1.0, 2.0, 3.0]), 10: torch.arange(10.0)}
    fig = cl.plots.plot_bin_panels(logits, centres, torch.ones(5, 1), image=4, label="test dish")
    assert [ax.get_title() for ax in fig.axes] == ["3 bins, test dish 4", "10 bins, test dish 4"]
    plt.close(fig)


def test_plot_bin_panels_names_bad_input():
    logits, centres = {3: torch.randn(5, 3)}, {3: torch.tensor([1.0, 2.0, 3.0])}
    with pytest.raises(ValueError, match="same keys"):
        cl.plots.plot_bin_panels(logits, {10: torch.arange(10.0)}, torch.ones(5))
    with pytest.raises(ValueError, match="image"):
        cl.plots.plot_bin_panels(logits, centres, torch.ones(5), image=5)
