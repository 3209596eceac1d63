"""Output heads and position layers: shapes, known values, gradients, read-outs, bad input."""

from __future__ import annotations

import pytest
import torch

from course_lib import heads


def test_bounded_head_stays_in_range_and_passes_gradients():
    head = heads.BoundedHead(80, 350)
    z = torch.tensor([-50.0, 0.0, 50.0], requires_grad=True)
    out = head(z)
    assert out.tolist() == pytest.approx([80.0, 215.0, 350.0])
    out.sum().backward()
    assert z.grad[1] == pytest.approx(270 * 0.25)  # slope of the sigmoid at 0 is 1/4
    with pytest.raises(ValueError, match="low"):
        heads.BoundedHead(5, 5)


def test_binned_head_bins_and_expected_value():
    head = heads.BinnedHead(heads.bin_edges(0, 10, 5))  # centres 1, 3, 5, 7, 9
    assert head.bins == 5 and head.centres.tolist() == pytest.approx([1, 3, 5, 7, 9])
    assert head.target_bins(torch.tensor([0.0, 1.9, 2.0, 9.99, 12.0, -1.0])).tolist() == [0, 0, 1, 4, 4, 0]
    certain = torch.full((1, 5), -30.0)
    certain[0, 3] = 30.0
    assert head.predict(certain).item() == pytest.approx(7.0)
    split = torch.tensor([[0.0, 0.0, -30, -30, -30]])  # half on centre 1, half on centre 3
    assert head(split).item() == pytest.approx(2.0, abs=1e-4)  # between the centres, unlike an arg-max
    logits = torch.zeros(4, 5, requires_grad=True)
    loss = head.loss(logits, torch.tensor([[1.0], [3.0], [5.0], [9.0]]))
    assert loss.item() == pytest.approx(torch.log(torch.tensor(5.0)).item())
    loss.backward()
    assert logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="columns"):
        head.predict(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="edges"):
        heads.BinnedHead([0.0, 1.0])


def test_ordinal_head_is_rank_consistent_and_learns_a_line():
    torch.manual_seed(0)
    edges = heads.bin_edges(0, 4, 4)  # centres 0.5, 1.5, 2.5, 3.5
    head = heads.OrdinalHead(1, edges)
    x = torch.rand(512, 1) * 4
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        loss = head.loss(head(x), x)
        loss.backward()
        opt.step()
    probs = torch.sigmoid(head(x))
    assert bool((probs[:, :-1] >= probs[:, 1:] - 1e-6).all())  # P(y > t_k) falls with k for every input
    pred = head.predict(head(torch.tensor([[0.2], [3.8]])))
    assert pred[0].item() < 1.0 and pred[1].item() > 3.0
    with pytest.raises(ValueError, match="dimensions"):
        head(torch.zeros(3))


def test_angles_on_the_circle():
    angles = torch.tensor([0.0, 90.0, 181.0, 359.0])
    back = heads.sincos_to_angle(3.0 * heads.angle_to_sincos(angles))  # the length does not matter
    assert back[:, 0].tolist() == pytest.approx(angles.tolist(), abs=1e-4)
    assert heads.angular_error(torch.tensor([359.0, 10.0]), torch.tensor([1.0, 200.0])).tolist() == \
        pytest.approx([2.0, 170.0])
    with pytest.raises(ValueError, match="2 columns"):
        heads.sincos_to_angle(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="same shape"):
        heads.angular_error(torch.zeros(3), torch.zeros(2))


def test_pinball_loss_is_minimised_by_the_quantile():
    torch.manual_seed(0)
    y = torch.randn(2_000)
    q = torch.tensor([0.1, 0.5, 0.9])
    pred = torch.zeros(1, 3, requires_grad=True)
    opt = torch.optim.Adam([pred], lr=0.02)
    for _ in range(400):
        opt.zero_grad()
        heads.pinball_loss(pred.expand(len(y), 3), y, q).backward()
        opt.step()
    assert pred.detach()[0].tolist() == pytest.approx(torch.quantile(y, q).tolist(), abs=0.05)
    assert heads.pinball_loss(torch.tensor([[1.0]]), torch.tensor([3.0]), [0.9]).item() == pytest.approx(1.8)
    assert heads.pinball_loss(torch.tensor([[3.0]]), torch.tensor([1.0]), [0.9]).item() == pytest.approx(0.2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        heads.pinball_loss(torch.zeros(2, 1), torch.zeros(2), [1.0])
    with pytest.raises(ValueError, match="levels"):
        heads.pinball_loss(torch.zeros(2, 2), torch.zeros(2), [0.5])


def test_coord_channels_and_soft_argmax():
    x = torch.zeros(2, 3, 4, 5)
    out = heads.CoordChannels()(x)
    assert out.shape == (2, 5, 4, 5)
    assert out[0, 3, 0].tolist() == pytest.approx([-1.0, -0.5, 0.0, 0.5, 1.0])  # x varies along a row
    assert out[0, 4, :, 0].tolist() == pytest.approx([-1.0, -1 / 3, 1 / 3, 1.0])  # y down a column
    heat = torch.full((1, 1, 9, 9), -50.0)
    heat[0, 0, 6, 2] = 50.0  # row 6, column 2
    xy = heads.SoftArgmax2d()(heat)
    assert heads.unit_to_pixels(xy, 9)[0].tolist() == pytest.approx([2.0, 6.0], abs=1e-4)
    assert heads.pixels_to_unit(torch.tensor([0.0, 4.0, 8.0]), 9).tolist() == pytest.approx([-1, 0, 1])
    flat = torch.zeros(1, 2, 9, 9, requires_grad=True)
    centre = heads.SoftArgmax2d()(flat)
    assert centre.shape == (1, 4) and centre.abs().max() < 1e-6
    centre.sum().backward()
    assert flat.grad is not None and flat.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="dimensions"):
        heads.SoftArgmax2d()(torch.zeros(9, 9))
    with pytest.raises(TypeError, match="floating"):
        heads.CoordChannels()(torch.zeros(1, 1, 3, 3, dtype=torch.long))


def test_most_probable_is_the_arg_max_bin_centre():
    head = heads.BinnedHead([0.0, 10.0, 20.0, 30.0])
    logits = torch.tensor([[5.0, 0.0, 0.0], [0.0, 0.0, 5.0], [0.0, 5.0, 0.0]])
    assert head.most_probable(logits).tolist() == [[5.0], [25.0], [15.0]]
    with pytest.raises(ValueError, match="3 columns"):
        head.most_probable(torch.zeros(2, 4))


def test_bin_offset_head_reads_the_bin_and_the_offset_inside_it():
    head = heads.BinOffsetHead([80.0, 97.0, 124.0, 151.0])
    assert head.bins == 3
    # logits pick bins 1 and 2; offsets 0.5 and 1.7 (kept inside the bin: 1.0)
    out = torch.tensor([[0.0, 9.0, 0.0, 0.0, 0.5, 0.0], [0.0, 0.0, 9.0, 0.0, 0.0, 1.7]])
    assert torch.allclose(head.predict(out), torch.tensor([[97.0 + 13.5], [151.0]]))
    # read without the offsets: the centres of the same bins
    assert torch.allclose(head.most_probable(out), torch.tensor([[110.5], [137.5]]))
    with pytest.raises(ValueError, match="6 columns"):
        head.most_probable(out[:, :3])
    # the loss is lowest when the logits pick the target's bin and its offset is where the target sits
    y = torch.tensor([[110.5], [151.0]])
    right = torch.tensor([[0.0, 20.0, 0.0, 0.0, 0.5, 0.0], [0.0, 0.0, 20.0, 0.0, 0.0, 1.0]])
    wrong_offset = right.clone()
    wrong_offset[0, 4] = 0.0
    wrong_bin = right.clone()
    wrong_bin[0, :3] = torch.tensor([20.0, 0.0, 0.0])
    assert float(head.loss(right, y)) < 1e-6
    assert float(head.loss(wrong_offset, y)) > 0.1 and float(head.loss(wrong_bin, y)) > 1.0
    assert head.loss_fn.output_shape((5, 1)) == (5, 6)
    with pytest.raises(ValueError, match="6 columns"):
        head.predict(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="out must be a torch.Tensor"):
        head.loss([[0.0] * 6], y)


def test_bin_offset_head_learns_a_target_from_a_feature():
    torch.manual_seed(0)
    x = 80 + 270 * torch.rand(2000, 1)
    head = heads.BinOffsetHead(heads.bin_edges(80, 350, 10))
    net = torch.nn.Sequential(torch.nn.Linear(1, 64), torch.nn.ReLU(), torch.nn.Linear(64, 20))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(600):
        opt.zero_grad()
        head.loss(net((x - 215) / 78), x).backward()
        opt.step()
    error = (head.predict(net((x - 215) / 78)) - x).abs().mean()
    assert error < 6.0  # a bin is 27 wide: the offset reads well inside it
