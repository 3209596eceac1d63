"""The pieces chapter 6 adds: the gauge dataset, heads' losses for fit, the quantile loss,
split-conformal intervals and the angle-error plot."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

import course_lib as cl
from course_lib import heads


def test_gauge_dataset_shapes_range_and_reproducibility():
    x, y = cl.data.make_gauge_dataset(64, image_size=24, seed=3)
    assert x.shape == (64, 3, 24, 24) and y.shape == (64, 1)
    assert float(x.min()) >= 0 and float(x.max()) <= 255
    assert float(y.min()) >= 0 and float(y.max()) < 360
    x2, y2 = cl.data.make_gauge_dataset(64, image_size=24, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(y, cl.data.make_gauge_dataset(64, image_size=24, seed=4)[1])
    assert torch.equal(cl.data.make_dataset("gauges", 8, image_size=16, seed=1)[1],
                       cl.data.make_gauge_dataset(8, image_size=16, seed=1)[1])
    with pytest.raises(ValueError, match="n"):
        cl.data.make_gauge_dataset(-1)
    with pytest.raises(ValueError, match="pixel_noise"):
        cl.data.make_gauge_dataset(4, pixel_noise=-1.0)


def test_gauge_needle_points_where_the_target_says():
    """The dark needle's pixels lie on the side of the centre the angle names (clockwise from 12)."""
    x, y = cl.data.make_gauge_dataset(200, image_size=32, seed=0, pixel_noise=0.0)
    coords = torch.arange(32) + 0.5 - 16
    for img, angle in zip(x, y[:, 0], strict=True):
        needle = img[0] - img[1] > 10  # the needle alone is reddish
        rows, cols = torch.nonzero(needle, as_tuple=True)
        direction = torch.stack([coords[cols], -coords[rows]]).float().mean(1)  # (right, up)
        rad = torch.deg2rad(angle)
        assert float(direction @ torch.stack([torch.sin(rad), torch.cos(rad)])) > 0


def test_binned_and_ordinal_heads_train_through_fit():
    torch.manual_seed(0)
    x = torch.randn(64, 3, 8, 8)
    y = 80 + 270 * torch.rand(64, 1)
    binned = heads.BinnedHead(heads.bin_edges(80, 350, 5))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 5))
    hist = cl.fit(model, (x, y), epochs=30, lr=1e-2, batch_size=64, loss=binned.loss_fn, progress=False)
    assert hist.train_loss[-1] < hist.train_loss[0]
    ordinal = heads.OrdinalHead(192, heads.bin_edges(80, 350, 5))
    model = torch.nn.Sequential(torch.nn.Flatten(), ordinal)
    hist = cl.fit(model, (x, y), epochs=30, lr=1e-2, batch_size=64, loss=ordinal.loss_fn, progress=False)
    assert hist.train_loss[-1] < hist.train_loss[0]
    with pytest.raises(ValueError, match="shape"):  # a loss without the head's shape is still refused
        cl.fit(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 5)), (x, y), epochs=1,
               loss=binned.loss, progress=False)


def test_quantile_loss_for_fit_learns_the_quantiles():
    torch.manual_seed(0)
    x = torch.zeros(4000, 1, 8, 8)
    y = torch.randn(4000, 1)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    cl.fit(model, (x, y), epochs=40, lr=5e-2, batch_size=500, loss=heads.quantile_loss([0.1, 0.5, 0.9]),
           progress=False)
    got = cl.predict(model, x[:1])[0]
    assert got.tolist() == pytest.approx([-1.2816, 0.0, 1.2816], abs=0.12)
    for bad in ([0.0, 0.5], [], [1.2]):
        with pytest.raises(ValueError, match="quantiles"):
            heads.quantile_loss(bad)


def test_conformal_offset_reaches_the_level_and_checks_input():
    gen = torch.Generator().manual_seed(1)
    y = torch.randn(2000, 1, generator=gen)
    lower, upper = torch.full_like(y, -1.0), torch.full_like(y, 1.0)  # a 68% interval
    q = cl.calibration.conformal_interval_offset(lower[:1000], upper[:1000], y[:1000], 0.9)
    assert q == pytest.approx(1.645 - 1.0, abs=0.1)
    inside = ((y[1000:] >= lower[1000:] - q) & (y[1000:] <= upper[1000:] + q)).float().mean()
    assert float(inside) == pytest.approx(0.9, abs=0.03)
    wide = cl.calibration.conformal_interval_offset(lower * 5, upper * 5, y, 0.9)
    assert wide < 0  # intervals too wide are narrowed
    with pytest.raises(ValueError, match="level"):
        cl.calibration.conformal_interval_offset(lower, upper, y, 1.0)
    with pytest.raises(ValueError, match="too few"):
        cl.calibration.conformal_interval_offset(lower[:5], upper[:5], y[:5], 0.9)
    with pytest.raises(ValueError, match="shape"):
        cl.calibration.conformal_interval_offset(lower[:5], upper[:6], y[:5], 0.9)


def test_plot_angle_errors_labels_and_checks():
    t = torch.tensor([5.0, 100.0, 200.0, 355.0])
    ax = cl.plots.plot_angle_errors(t, {"a": torch.tensor([1.0, 2.0, 3.0, 4.0])}, bins=4)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert ax.lines[0].get_ydata().tolist() == [1.0, 2.0, 3.0, 4.0]
    plt.close("all")
    with pytest.raises(ValueError, match="target_deg"):
        cl.plots.plot_angle_errors(torch.tensor([5.0, 400.0]), {"a": torch.zeros(2)})
    with pytest.raises(ValueError, match="one error per target"):
        cl.plots.plot_angle_errors(t, {"a": torch.zeros(3)})
    with pytest.raises(ValueError, match="bins"):
        cl.plots.plot_angle_errors(t, {"a": torch.zeros(4)}, bins=1)
    with pytest.raises(ValueError, match="errors"):
        cl.plots.plot_angle_errors(t, {})
