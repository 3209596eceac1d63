"""Chapter 2's figures from course_lib.plots: the evidence of a collapse and the overfitting ladder."""

import matplotlib.pyplot as plt
import pytest

import course_lib as cl
from course_lib.train import History


def _history():
    return History(train_loss=[2.0, 1.0, 1.0], val_loss=[2.1, 1.1, 1.0])


def test_collapse_evidence_draws_three_panels_with_collapsed_runs_in_red():
    spreads = [[0.5, 0.0, 0.0], [0.4, 0.6, 0.9]]
    fig = cl.plots.plot_collapse_evidence(_history(), spreads, {"features.1": 1.0, "head.2": 0.25},
                                          collapsed=[0], baseline=1.0)
    left, middle, right = fig.axes
    assert left.get_title() == "Loss stuck at Var(y)"
    assert [line.get_color() for line in middle.get_lines()] == ["C3", "C0"]
    assert list(middle.get_lines()[1].get_xdata()) == [1, 2, 3]
    assert [p.get_height() for p in right.patches] == [1.0, 0.25]
    assert right.get_ylim() == (0, 1.05)
    plt.close("all")


def test_collapse_evidence_refuses_bad_input():
    with pytest.raises(ValueError, match="spreads"):
        cl.plots.plot_collapse_evidence(_history(), [], {"a": 1.0})
    with pytest.raises(ValueError, match="spreads"):
        cl.plots.plot_collapse_evidence(_history(), [[0.1], []], {"a": 1.0})
    with pytest.raises(ValueError, match="dead"):
        cl.plots.plot_collapse_evidence(_history(), [[0.1]], {})
    with pytest.raises(ValueError, match="collapsed"):
        cl.plots.plot_collapse_evidence(_history(), [[0.1]], {"a": 1.0}, collapsed=[1])
    with pytest.raises(TypeError, match="history"):
        cl.plots.plot_collapse_evidence("history", [[0.1]], {"a": 1.0})
    plt.close("all")


def test_overfit_ladder_plots_every_pipeline_on_a_log_axis():
    ladders = {"raw": {1: 0.0, 2: 0.5, 4: 0.9}, "fixed": {1: 0.0, 2: 0.01, 4: 0.05}}
    ax = cl.plots.plot_overfit_ladder(ladders)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["raw", "fixed", "memorised below 0.1"]
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4"]
    assert list(ax.get_lines()[0].get_ydata()) == [0.0, 0.5, 0.9]
    plt.close("all")


def test_overfit_ladder_refuses_bad_input():
    with pytest.raises(ValueError, match="ladders"):
        cl.plots.plot_overfit_ladder({})
    with pytest.raises(ValueError, match="ladders"):
        cl.plots.plot_overfit_ladder({"raw": {}})
    with pytest.raises(ValueError, match="threshold"):
        cl.plots.plot_overfit_ladder({"raw": {1: 0.0}}, threshold=-1)
    plt.close("all")
