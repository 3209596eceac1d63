import pytest
import torch
from torch import nn

import course_lib as cl
from course_lib import diagnose


def test_spread_ratio_and_collapse():
    y = torch.arange(100.0)
    assert diagnose.spread_ratio(0.5 * y, y) == pytest.approx(0.5)
    const = torch.full_like(y, y.mean()) + 1e-3 * torch.randn(100)
    assert diagnose.is_collapsed(const, y)
    assert not diagnose.is_collapsed(y, y)
    rep = diagnose.collapse_report(const, y)
    assert rep["spread_ratio"] < 1e-3 and rep["mse_over_var"] == pytest.approx(1.0, abs=1e-3)
    assert rep["mean_gap_in_std"] < 1e-3
    with pytest.raises(ValueError, match="constant"):
        diagnose.spread_ratio(y, torch.ones(100))
    with pytest.raises(ValueError, match="threshold"):
        diagnose.is_collapsed(y, y, threshold=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        diagnose.spread_ratio(y[:, None], y)


def test_dead_relu_fractions_sees_a_dead_layer():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.ReLU(), nn.Linear(4, 1))
    x = torch.rand(32, 3, 2, 2)
    with torch.no_grad():
        model[1].weight.fill_(-1.0)
        model[1].bias.fill_(-1.0)
    assert diagnose.dead_relu_fractions(model, x) == {"2": 1.0}
    with torch.no_grad():
        model[1].weight.fill_(1.0)
    assert diagnose.dead_relu_fractions(model, x) == {"2": 0.0}


def test_dead_relu_fractions_conv_layers_and_errors():
    model = cl.SmallCNN(image_size=16, n_outputs=2, width=4)
    fr = diagnose.dead_relu_fractions(model, torch.rand(8, 3, 16, 16))
    assert len(fr) == 4 and all(0 <= v <= 1 for v in fr.values())
    with pytest.raises(ValueError, match="ReLU"):
        diagnose.dead_relu_fractions(nn.Sequential(nn.Flatten(), nn.Linear(3, 1)), torch.rand(2, 3, 1, 1))
    with pytest.raises(ValueError, match="batch dimension"):
        diagnose.dead_relu_fractions(model, torch.rand(3))
    with pytest.raises(TypeError, match="floating-point"):
        diagnose.dead_relu_fractions(model, torch.zeros(2, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(TypeError, match="model"):
        diagnose.dead_relu_fractions("m", torch.rand(2, 3, 16, 16))


def test_dead_relu_fractions_on_table_rows_and_a_reused_relu():
    """Not only images: rows of a table, and one ReLU module reused at two widths (ResNet style)."""

    class Reuser(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b, self.relu = nn.Linear(5, 4), nn.Linear(4, 6), nn.ReLU(inplace=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.relu(self.b(self.relu(self.a(x))))

    model = Reuser()
    with torch.no_grad():
        model.b.bias.fill_(-100.0)  # the second use is dead, the first is not
    fr = diagnose.dead_relu_fractions(model, torch.rand(64, 5))
    assert fr["relu'"] == 1.0 and fr["relu"] < 1.0


def test_grad_norms():
    model = cl.SmallCNN(image_size=16, n_outputs=2, width=4)
    x, y = torch.rand(8, 3, 16, 16), torch.randn(8, 2)
    norms = diagnose.grad_norms(model, x, y)
    assert set(norms) == {n for n, _ in model.named_parameters() if n.endswith("weight")}
    assert all(v >= 0 for v in norms.values()) and max(norms.values()) > 0
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="differs"):
        diagnose.grad_norms(model, x, y[:, :1])
    with pytest.raises(ValueError, match="NaN"):
        diagnose.grad_norms(model, x, y * float("nan"))
    with pytest.raises(ValueError, match="same number"):
        diagnose.grad_norms(model, x, y[:3])
    with pytest.raises(TypeError, match="y"):
        diagnose.grad_norms(model, x, [1.0])


def test_overfit_one_batch():
    x, y = cl.make_box_dataset(16, image_size=16, seed=0)
    y = cl.Standardizer().fit(y).transform(y)
    good = diagnose.overfit_one_batch(cl.SmallCNN(16, 2, width=8), x / 255, y, steps=150, lr=3e-3)
    assert good < 0.1
    with pytest.raises(ValueError, match="small batch"):
        diagnose.overfit_one_batch(cl.SmallCNN(16, 2), torch.rand(300, 3, 16, 16), torch.rand(300, 2))


def test_prediction_tracker_records_each_epoch():
    x, y = cl.make_box_dataset(64, image_size=16, seed=0)
    s = cl.Standardizer().fit(y)
    tracker = diagnose.PredictionTracker(x[:32] / 255, y[:32], inverse=s.inverse_transform)
    hist = cl.fit(cl.SmallCNN(16, 2, width=4), (x / 255, s.transform(y)), epochs=3, progress=False,
                  on_epoch_end=tracker)
    assert len(tracker.predictions) == 3 and tracker.predictions[0].shape == (32, 2)
    assert set(hist.extra) == {"r2", "spread_ratio", "pred_on_target_slope", "target_on_pred_slope"}
    with pytest.raises(ValueError, match="as many samples"):
        diagnose.PredictionTracker(x, y[:3])


def test_overfit_ladder_memorises_small_rungs_with_a_sane_pipeline():
    x, y = cl.make_box_dataset(8, image_size=16, seed=1)
    y = cl.Standardizer().fit(y).transform(y)
    ratios = cl.diagnose.overfit_ladder(lambda: cl.SmallCNN(16, 2, width=4), x / 255, y, sizes=(1, 2, 4), steps=60,
                                        lr=1e-2)
    assert list(ratios) == [1, 2, 4]
    assert all(r < 0.1 for r in ratios.values())


def test_overfit_ladder_flags_a_model_that_cannot_fit():
    x, y = cl.make_box_dataset(8, image_size=16, seed=1)
    y = cl.Standardizer().fit(y).transform(y)
    ratios = cl.diagnose.overfit_ladder(lambda: cl.SmallCNN(16, 2, width=4), x / 255, y, sizes=(8,), steps=20,
                                        lr=0.0)
    assert ratios[8] > 0.5  # lr 0: nothing is learnt


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(sizes=(0,)), ValueError, "sizes"), (dict(sizes=(9,)), ValueError, "sizes"),
    (dict(make_model=torch.nn.Linear(2, 2)), TypeError, "make_model"),
])
def test_overfit_ladder_refuses_bad_input(kwargs, err, match):
    x, y = cl.make_box_dataset(8, image_size=16, seed=1)
    args = dict(make_model=lambda: cl.SmallCNN(16, 2, width=4), x=x, y=y, steps=1)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        cl.diagnose.overfit_ladder(**args)


def test_late_spread_tells_a_dead_run_from_an_unsteady_one():
    dead = [0.6, 0.04, 0.0, 0.0, 0.0, 0.0]
    spiked = [0.6, 0.1, 0.03, 0.12, 0.29, 0.03]  # lost its spread in a loss spike, then regained it
    assert diagnose.late_spread(dead) == 0.0
    assert diagnose.late_spread(spiked) == pytest.approx(0.29)  # the last three of six epochs
    assert diagnose.late_spread(spiked, tail=1 / 6) == pytest.approx(0.03)  # the last epoch only
    assert diagnose.late_spread([0.5]) == 0.5
    with pytest.raises(TypeError, match="spread_history"):
        diagnose.late_spread(0.5)
    with pytest.raises(ValueError, match="spread_history"):
        diagnose.late_spread([])
    with pytest.raises(ValueError, match="spread_history"):
        diagnose.late_spread([0.1, float("nan")])
    with pytest.raises(ValueError, match="tail"):
        diagnose.late_spread([0.1], tail=0)


def test_label_noise_variance_recovers_the_reading_error():
    g = torch.Generator().manual_seed(4)
    truth = 80 + 270 * torch.rand(20_000, generator=g)
    first = truth + 30 * torch.randn(truth.shape, generator=g)
    second = truth + 30 * torch.randn(truth.shape, generator=g)
    assert abs(cl.diagnose.label_noise_variance(first, second) / 900 - 1) < 0.05
    assert cl.diagnose.label_noise_variance(truth, truth) == 0.0
    with pytest.raises(ValueError, match="same number of labels"):
        cl.diagnose.label_noise_variance(first, second[:10])
    with pytest.raises(ValueError, match="at least 2 labels"):
        cl.diagnose.label_noise_variance([1.0], [2.0])
    with pytest.raises(ValueError, match="NaN"):
        cl.diagnose.label_noise_variance([1.0, float("nan")], [2.0, 3.0])


def test_error_by_rotation_is_flat_for_an_invariant_model_and_averages_models():
    class MeanPixel(nn.Module):  # invariant to any turn, up to the border
        def forward(self, x):
            return x[:, :, 2:-2, 2:-2].mean(dim=(1, 2, 3))[:, None] * 0 + x.mean(dim=(1, 2, 3))[:, None]

    g = torch.Generator().manual_seed(0)
    x = torch.zeros(50, 1, 12, 12)
    x[:, :, 4:8, 4:8] = torch.rand(50, 1, 1, 1, generator=g)  # a centred square of random brightness
    y = x.mean(dim=(1, 2, 3))[:, None] + 0.01 * torch.randn(50, 1, generator=g)
    errors = diagnose.error_by_rotation(MeanPixel(), x, y, [0, 90, 180])
    assert len(errors) == 3 and max(errors) - min(errors) < 1e-6
    both = diagnose.error_by_rotation([MeanPixel(), MeanPixel()], x, y, [0])
    assert both[0] == pytest.approx(errors[0])
    with pytest.raises(TypeError, match="model must be"):
        diagnose.error_by_rotation("net", x, y, [0])
    with pytest.raises(ValueError, match="one target per image"):
        diagnose.error_by_rotation(MeanPixel(), x, y[:10], [0])
    with pytest.raises(ValueError, match="degrees"):
        diagnose.error_by_rotation(MeanPixel(), x, y, [])
    with pytest.raises(ValueError, match="NaN"):
        diagnose.error_by_rotation(MeanPixel(), x, y * float("nan"), [0])


def test_error_by_rotation_reads_the_model_with_the_predict_it_is_given():
    from course_lib import augment

    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(40, 1, 8, 8, generator=g), torch.rand(40, 1, generator=g)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 1))  # not invariant to quarter turns
    plain = diagnose.error_by_rotation(net, x, y, [0, 90])
    averaged = diagnose.error_by_rotation(net, x, y, [0, 90], predict=augment.tta_predict)
    assert plain[0] != pytest.approx(plain[1])  # the plain model changes under a quarter turn
    assert averaged[0] == pytest.approx(averaged[1])  # averaged over D4 it cannot
    perfect = diagnose.error_by_rotation(net, x, y, [0], predict=lambda m, xs: 0 * m(xs) + y)
    assert perfect == [0.0]
    with pytest.raises(TypeError, match="predict must be"):
        diagnose.error_by_rotation(net, x, y, [0], predict="tta")
