"""Chapter 7's pieces: the position dataset and its splits, the coordinate models, the error map."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import course_lib as cl  # noqa: E402


def test_position_dataset_lists_every_position_once():
    x, y = cl.data.make_position_dataset(8, 3)
    assert x.shape == (36, 1, 8, 8) and y.shape == (36, 2)
    assert len({tuple(v) for v in y.tolist()}) == 36
    assert torch.equal(x.sum((1, 2, 3)), torch.full((36,), 9.0))
    # the centre of each square is where its pixels are
    rows, cols = torch.arange(8.0)[:, None], torch.arange(8.0)[None, :]
    centre_x = (x[:, 0] * cols).sum((1, 2)) / 9
    centre_y = (x[:, 0] * rows).sum((1, 2)) / 9
    assert torch.allclose(torch.stack([centre_x, centre_y], 1), y)


def test_position_dataset_refuses_bad_sizes():
    with pytest.raises(ValueError, match="box_size"):
        cl.data.make_position_dataset(8, 8)
    with pytest.raises(ValueError, match="image_size"):
        cl.data.make_position_dataset(-3, 2)


def test_quadrant_split_holds_out_the_bottom_right():
    _, y = cl.data.make_position_dataset(16, 4)
    test = cl.data.position_split(y, 16, "quadrant")
    assert bool(((y[test] > 7.5).all(1)).all())
    assert not bool(((y[~test] > 7.5).all(1)).any())
    assert 0.2 < float(test.float().mean()) < 0.3


def test_uniform_split_is_seeded_and_sized():
    _, y = cl.data.make_position_dataset(16, 4)
    a = cl.data.position_split(y, 16, "uniform", test_fraction=0.25, seed=3)
    assert torch.equal(a, cl.data.position_split(y, 16, "uniform", test_fraction=0.25, seed=3))
    assert not torch.equal(a, cl.data.position_split(y, 16, "uniform", test_fraction=0.25, seed=4))
    assert int(a.sum()) == round(0.25 * y.shape[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="corner"), "kind"), (dict(test_fraction=1.5), "test_fraction"), (dict(test_fraction=0.0), "test_fraction"),
])
def test_position_split_refuses_bad_arguments(kwargs, match):
    _, y = cl.data.make_position_dataset(8, 3)
    with pytest.raises(ValueError, match=match):
        cl.data.position_split(y, 8, **kwargs)


def test_position_split_refuses_bad_positions():
    with pytest.raises(ValueError, match="y"):
        cl.data.position_split(torch.zeros(5, 3), 8)
    with pytest.raises(ValueError, match="y"):
        cl.data.position_split(torch.full((5, 2), float("nan")), 8)


@pytest.mark.parametrize("make", [cl.models.CoordConvNet, cl.models.HeatmapNet,
                                  lambda: cl.models.PooledCNN(padding="zeros")])
def test_coordinate_models_shapes_and_gradients(make):
    model = make()
    x = torch.rand(3, 1, 16, 16, requires_grad=True)
    out = model(x)
    assert out.shape == (3, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_heatmap_net_outputs_inside_the_image():
    out = cl.models.HeatmapNet()(torch.rand(4, 1, 12, 12))
    assert bool((out.abs() <= 1).all())


def test_circular_padding_makes_the_pooled_net_blind_to_position():
    torch.manual_seed(0)
    x, _ = cl.data.make_position_dataset(16, 3)
    out = cl.models.PooledCNN(padding="circular")(x)
    assert torch.allclose(out, out[:1].expand_as(out), atol=1e-5)
    leaky = cl.models.PooledCNN(padding="zeros")(x)
    assert not torch.allclose(leaky, leaky[:1].expand_as(leaky), atol=1e-3)


def test_per_axis_coordconv_reads_x_whatever_the_height():
    """Per axis, the x read out does not depend on the row of the square (nor y on its column), as long
    as the square does not touch the image's edge, where part of what the filters see is cut off."""
    torch.manual_seed(0)
    x, y = cl.data.make_position_dataset(12, 3)
    inner = ((y > 1) & (y < 10)).all(1)
    x, y = x[inner], y[inner]
    for per_axis, invariant in ((True, True), (False, False)):
        out = cl.models.CoordConvNet(per_axis=per_axis)(x).detach()
        for axis in (0, 1):
            line = y[:, axis] == y[0, axis]
            same = torch.allclose(out[line, axis], out[line][:1, axis].expand(int(line.sum())), atol=1e-5)
            assert same == invariant


def test_coordconv_can_implement_the_right_edge_rule():
    """Weights that compute "max x over the square" regress x at every position."""
    net = cl.models.CoordConvNet(width=1, per_axis=True)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.detect[0].weight[0, 0, 1, 1] = 1.0   # the square's own pixel
        net.locate[0][0].weight[0, 0] = 2.0      # 2 * square + x - 1: x + 1 on the square, <= 0 off it
        net.locate[0][0].weight[0, 1] = 1.0
        net.locate[0][0].bias[0] = -1.0
        net.read[0].weight[0, 0] = 1.0
    x, y = cl.data.make_position_dataset(12, 1)
    right_edge = cl.heads.pixels_to_unit(y, 12)[:, 0] + 1
    assert torch.allclose(net(x)[:, 0], right_edge, atol=1e-5)


def test_model_arguments_are_checked():
    with pytest.raises(ValueError, match="padding"):
        cl.models.PooledCNN(padding="reflect")
    with pytest.raises(ValueError, match="width"):
        cl.models.CoordConvNet(width=0)
    with pytest.raises(TypeError, match="per_axis"):
        cl.models.CoordConvNet(per_axis="yes")
    with pytest.raises(ValueError, match="in_channels"):
        cl.models.HeatmapNet(in_channels=-1)


def test_error_map_and_heatmaps_plot():
    x, y = cl.data.make_position_dataset(8, 3)
    held = cl.data.position_split(y, 8, "quadrant")
    ax = cl.plots.plot_error_map(y, torch.rand(len(y)), held_out=held)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert len(ax.images) == 1 and len(ax.patches) == 1
    fig = cl.plots.plot_heatmaps(x[:3], torch.randn(3, 1, 8, 8), targets=y[:3], predictions=y[:3])
    assert len(fig.axes) == 6 and fig._suptitle.get_text()
    plt.close("all")
    with pytest.raises(ValueError, match="errors"):
        cl.plots.plot_error_map(y, torch.rand(3))
    with pytest.raises(ValueError, match="heat"):
        cl.plots.plot_heatmaps(x[:3], torch.randn(2, 1, 8, 8))
