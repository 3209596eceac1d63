"""Unit tests of the calibration, shift and imbalance pieces of course_lib: classifier metrics,
temperature scaling, Gaussian heads and interval coverage, the shift check, label weights,
weighted fitting, and the darkness / skew / lighting options of the dishes."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

import course_lib as cl
from course_lib import calibration, diagnose, losses, metrics


def _probs(n=400, k=3, seed=0, sharpen=1.0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g) * 2
    labels = torch.distributions.Categorical(logits=logits).sample()
    return (logits * sharpen).softmax(1), labels, logits


def test_classifier_metrics_known_values():
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.9, 0.1]])
    labels = torch.tensor([0, 1, 0, 1])
    assert metrics.accuracy(probs, labels) == pytest.approx(0.75)  # the tie goes to class 0
    assert metrics.log_loss(probs, labels) == pytest.approx((math.log(2) + math.log(10)) / 4)
    assert metrics.brier_score(probs, labels) == pytest.approx((0 + 0 + 0.5 + 2 * 0.81) / 4)


def test_ece_is_small_for_calibrated_and_large_for_overconfident_probabilities():
    calibrated, labels, _ = _probs(20000)
    over, _, _ = _probs(20000, sharpen=4.0)
    assert metrics.expected_calibration_error(calibrated, labels) < 0.02
    assert metrics.expected_calibration_error(over, labels) > 0.1
    conf, acc, counts = metrics.reliability_bins(over, labels, bins=10)
    assert int(counts.sum()) == 20000 and conf.shape == acc.shape == (10,)


def test_probability_inputs_are_checked():
    probs, labels, _ = _probs(10)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.log_loss(probs * 3 - 1, labels)
    with pytest.raises(ValueError, match="sum to 1"):
        metrics.brier_score(probs * 0.5, labels)
    with pytest.raises(ValueError, match="labels must have shape"):
        metrics.accuracy(probs, labels[:5])
    with pytest.raises(ValueError, match="integers in 0..2"):
        metrics.accuracy(probs, labels + 5)
    with pytest.raises(ValueError, match="probs must have shape"):
        metrics.accuracy(probs[:, 0], labels)
    with pytest.raises(ValueError, match="bins"):
        metrics.reliability_bins(probs, labels, bins=0)


def test_temperature_scaling_recovers_the_sharpening_and_keeps_accuracy():
    _, labels, logits = _probs(20000)
    t = calibration.fit_temperature(logits * 3.0, labels)
    assert t == pytest.approx(3.0, rel=0.1)
    fixed = (logits * 3.0 / t).softmax(1)
    assert metrics.accuracy(fixed, labels) == metrics.accuracy((logits * 3).softmax(1), labels)
    assert metrics.log_loss(fixed, labels) < metrics.log_loss((logits * 3).softmax(1), labels)
    with pytest.raises(ValueError, match="labels"):
        calibration.fit_temperature(logits, labels.float())
    with pytest.raises(ValueError, match="logits"):
        calibration.fit_temperature(logits[:, 0], labels)


def test_interval_coverage_and_scale():
    g = torch.Generator().manual_seed(1)
    y = torch.randn(50000, generator=g) * 2.0
    mean, std = torch.zeros_like(y), torch.ones_like(y)
    for level in (0.5, 0.8, 0.95):
        assert metrics.interval_coverage(mean, 2 * std, y, level) == pytest.approx(level, abs=0.01)
    assert metrics.interval_coverage(mean, std, y, 0.95) < 0.75  # intervals too narrow
    s = calibration.fit_interval_scale(mean, std, y)
    assert s == pytest.approx(2.0, rel=0.02)
    assert metrics.gaussian_quantile(0.975) == pytest.approx(1.959964, abs=1e-5)
    with pytest.raises(ValueError, match="level"):
        metrics.interval_coverage(mean, std, y, 1.5)
    with pytest.raises(ValueError, match="std must be positive"):
        metrics.interval_coverage(mean, -std, y)
    with pytest.raises(ValueError, match="same shape"):
        metrics.interval_coverage(mean[:10], std[:10], y)


def test_gaussian_nll_loss_trains_a_mean_and_a_variance():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(512, 1, 4, 4, generator=g)
    y = x.mean(dim=(1, 2, 3))[:, None] * 4 + 0.3 * torch.randn(512, 1, generator=g)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 2))
    cl.fit(model, (x, y), epochs=150, lr=1e-2, batch_size=128, loss="gaussian_nll", progress=False)
    mean, std = losses.split_gaussian(cl.predict(model, x))
    assert mean.shape == std.shape == (512, 1)
    assert float(std.median()) == pytest.approx(0.3, rel=0.35)
    with pytest.raises(ValueError, match="expected"):
        cl.fit(nn.Sequential(nn.Flatten(), nn.Linear(16, 1)), (x, y), loss="gaussian_nll", progress=False)
    with pytest.raises(ValueError, match="2k"):
        losses.split_gaussian(torch.zeros(3, 3))


def test_cross_entropy_loss_with_one_hot_targets():
    x = torch.rand(64, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    labels = (x.mean(dim=(1, 2, 3)) > 0.5).long()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    cl.fit(model, (x, nn.functional.one_hot(labels, 2).float()), epochs=200, lr=0.05, batch_size=64,
           loss="cross_entropy", progress=False)
    assert metrics.accuracy(cl.predict(model, x).softmax(1), labels) > 0.9


def test_sample_weights_weight_the_loss():
    x = torch.zeros(4, 1, 2, 2)
    y = torch.tensor([[0.0], [0.0], [0.0], [10.0]])
    weights = torch.tensor([1.0, 1.0, 1.0, 100.0])
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    weighted = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    weighted.load_state_dict(plain.state_dict())
    cl.fit(plain, (x, y), epochs=300, lr=0.1, batch_size=4, progress=False)
    cl.fit(weighted, (x, y), epochs=300, lr=0.1, batch_size=4, sample_weight=weights, progress=False)
    assert float(cl.predict(plain, x)[0]) == pytest.approx(2.5, abs=0.2)  # the mean
    assert float(cl.predict(weighted, x)[0]) == pytest.approx(1000 / 103, abs=0.3)  # the weighted mean
    with pytest.raises(ValueError, match="sample_weight works"):
        cl.fit(plain, (x, y), loss="msle", sample_weight=weights, progress=False)
    with pytest.raises(ValueError, match="one weight per sample"):
        cl.fit(plain, (x, y), sample_weight=weights[:2], progress=False)
    with pytest.raises(ValueError, match=">= 0"):
        cl.fit(plain, (x, y), sample_weight=-weights, progress=False)


def test_label_weights_up_weight_rare_targets():
    y = torch.rand(5000, generator=torch.Generator().manual_seed(0)) ** 3
    w = cl.data.label_weights(y, bins=10)
    assert float(w.mean()) == pytest.approx(1.0) and float(w[y > 0.9].mean()) > 5 * float(w[y < 0.1].mean())
    smooth = cl.data.label_weights(y[:, None], bins=10, smooth=2.0)
    assert smooth.shape == (5000,) and float(smooth.max() / smooth.min()) < float(w.max() / w.min())
    with pytest.raises(ValueError, match="shape"):
        cl.data.label_weights(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="NaN"):
        cl.data.label_weights(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="bins"):
        cl.data.label_weights(y, bins=0)


def test_shift_check_flags_a_shift_but_not_a_fresh_sample():
    x, _ = cl.make_dish_dataset(600, 16, seed=0)
    fresh, _ = cl.make_dish_dataset(600, 16, seed=1)
    same = diagnose.shift_check(x, fresh)
    darker = diagnose.shift_check(x, 0.8 * fresh)
    assert not same["shifted"] and darker["shifted"]
    assert len(same["p_values"]) == len(same["statistics"]) == 6
    assert darker["incoming_means"][0] < darker["reference_means"][0]
    with pytest.raises(ValueError, match="same shape"):
        diagnose.shift_check(x, fresh[:, :1])
    with pytest.raises(TypeError, match="incoming"):
        diagnose.shift_check(x, [1, 2])


def test_ks_two_sample():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2000, generator=g), torch.randn(2000, generator=g)
    assert diagnose.ks_two_sample(a, b)[1] > 0.01
    gap, p = diagnose.ks_two_sample(a, b + 0.5)
    assert gap > 0.1 and p < 1e-6
    with pytest.raises(ValueError, match="at least 2"):
        diagnose.ks_two_sample([1.0], [1.0, 2.0])


def test_dish_options_darkness_skew_lighting():
    x, y = cl.make_dish_dataset(2000, 16, seed=0, cue="darkness", lighting=(1.0, 1.0))
    centre = x[:, :, 6:10, 6:10].mean(dim=(1, 2, 3))
    assert torch.corrcoef(torch.stack([centre, y[:, 0]]))[0, 1] < -0.5  # darker liquid, higher concentration
    _, skewed = cl.make_dish_dataset(2000, 16, seed=0, skew=3.0)
    assert float((skewed > 260).float().mean()) < 0.15 and float(skewed.min()) >= 80
    a, _ = cl.make_dish_dataset(200, 16, seed=0, lighting=(0.5, 0.5))
    b, _ = cl.make_dish_dataset(200, 16, seed=0, lighting=(1.0, 1.0))
    assert float(a.mean()) < 0.6 * float(b.mean())
    with pytest.raises(ValueError, match="cue"):
        cl.make_dish_dataset(2, 16, cue="smell")
    with pytest.raises(ValueError, match="lighting"):
        cl.make_dish_dataset(2, 16, lighting=(1.0, 0.5))
    with pytest.raises(ValueError, match="skew"):
        cl.make_dish_dataset(2, 16, skew=0.0)


def test_normalize_brightness_removes_a_global_gain():
    x = torch.rand(4, 3, 8, 8) + 0.1
    layer = cl.models.NormalizeBrightness()
    assert torch.allclose(layer(2.5 * x), layer(x), atol=1e-6)
    with pytest.raises(ValueError, match="N, C, H, W"):
        layer(torch.rand(3, 8, 8))


def test_reliability_and_coverage_plots():
    probs, labels, _ = _probs(500, sharpen=3.0)
    ax = cl.plots.plot_reliability(probs, labels)
    assert ax.get_xlabel().startswith("confidence") and "ECE" in ax.get_title()
    ax = cl.plots.plot_coverage([0.5, 0.8], {"raw": [0.3, 0.6], "recalibrated": [0.5, 0.79]})
    assert len(ax.lines) == 3 and ax.get_ylabel().startswith("observed")
    plt.close("all")
    with pytest.raises(ValueError, match="levels"):
        cl.plots.plot_coverage([1.5], {"a": [0.5]})
    with pytest.raises(ValueError, match="one value per level"):
        cl.plots.plot_coverage([0.5, 0.8], {"a": [0.5]})


def test_fit_scaled_gaussian_head_predicts_mean_and_std_in_target_units():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(400, 3, 4, 4, generator=g)
    y = 200 + 50 * x[:, :1].mean(dim=(2, 3)) + 10 * torch.randn(400, 1, generator=g)
    net = nn.Sequential(nn.Flatten(), nn.Linear(48, 2))
    model, _ = cl.train.fit_scaled(net, (x, y), epochs=60, lr=1e-2, batch_size=100, loss="gaussian_nll", progress=False)
    mean, std = cl.losses.split_gaussian(cl.predict(model, x))
    assert abs(float(mean.mean()) - float(y.mean())) < 2.0
    assert 7.0 < float(std.median()) < 14.0  # the label noise is 10 target units
    # the same numbers from the core network by hand: mean * y_std + y_mean, std * y_std
    core_mean, core_std = cl.losses.split_gaussian(cl.predict(model.core, x))
    assert torch.allclose(mean, core_mean * model.y_std + model.y_mean, atol=1e-3)
    assert torch.allclose(std, core_std * model.y_std, rtol=1e-4)


def test_error_by_range_splits_on_the_target():
    target = torch.tensor([[1.0], [2.0], [5.0], [6.0], [9.0]])
    pred = target + torch.tensor([[1.0], [-1.0], [2.0], [2.0], [-3.0]])
    out = cl.metrics.error_by_range(pred, target, edges=[4.0, 8.0])
    assert out["count"] == [2.0, 2.0, 1.0]
    assert out["mae"] == [1.0, 2.0, 3.0] and out["bias"] == [0.0, 2.0, -3.0]
    empty = cl.metrics.error_by_range(pred, target, edges=[4.0, 8.0, 100.0])
    assert empty["count"][-1] == 0 and math.isnan(empty["mae"][-1])
    for bad in ([], [5.0, 4.0], "abc", [float("nan")]):
        with pytest.raises(ValueError, match="edges"):
            cl.metrics.error_by_range(pred, target, edges=bad)
    with pytest.raises(ValueError):
        cl.metrics.error_by_range(pred[:3], target, edges=[4.0])


def test_target_classes_bins_a_regression_target():
    y = torch.tensor([[80.0], [147.4], [147.5], [300.0]])
    assert cl.data.target_classes(y, [147.5, 215.0]).tolist() == [0, 0, 1, 2]
    assert cl.data.target_classes(y[:, 0], [100.0]).tolist() == [0, 1, 1, 1]
    with pytest.raises(TypeError, match="y"):
        cl.data.target_classes([1.0, 2.0], [1.5])
    with pytest.raises(ValueError, match="y"):
        cl.data.target_classes(torch.tensor([[1.0, float("nan")]]).T, [1.5])
    with pytest.raises(ValueError, match="edges"):
        cl.data.target_classes(y, [2.0, 1.0])


def test_plot_error_by_range():
    ax = cl.plots.plot_error_by_range([100.0, 200.0], {"plain": [1, 2, 3], "weighted": [1.5, 2, 2.5]})
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["< 100", "100–200", "≥ 200"]
    plt.close("all")
    with pytest.raises(ValueError, match="errors"):
        cl.plots.plot_error_by_range([100.0], {"plain": [1, 2, 3]})
    with pytest.raises(ValueError, match="edges"):
        cl.plots.plot_error_by_range([200.0, 100.0], {"plain": [1, 2, 3]})


def test_mean_bias_is_the_signed_mean_error():
    assert cl.metrics.mean_bias(torch.tensor([[1.0], [3.0]]), torch.tensor([[2.0], [5.0]])) == -1.5
    with pytest.raises(ValueError):
        cl.metrics.mean_bias(torch.zeros(3, 1), torch.zeros(4, 1))
    with pytest.raises(ValueError):
        cl.metrics.mean_bias(torch.tensor([[float("nan")]]), torch.zeros(1, 1))


def test_classification_report_collects_the_four_scores():
    probs, labels, _ = _probs(n=300, k=4, seed=3)
    report = cl.metrics.classification_report(probs, labels)
    assert report == {"accuracy": cl.metrics.accuracy(probs, labels), "ece": cl.metrics.expected_calibration_error(probs, labels),
                      "log_loss": cl.metrics.log_loss(probs, labels), "brier": cl.metrics.brier_score(probs, labels)}
    with pytest.raises(ValueError, match="probs"):
        cl.metrics.classification_report(probs * 2, labels)


def test_per_class_recall_and_balanced_accuracy():
    labels = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 2, 2])
    majority = torch.nn.functional.one_hot(torch.zeros(10, dtype=torch.long), 4).float()
    assert cl.metrics.accuracy(majority, labels) == pytest.approx(0.6)
    recall = cl.metrics.per_class_recall(majority, labels)
    assert recall[:3] == [1.0, 0.0, 0.0] and math.isnan(recall[3])  # class 3 has no sample
    assert cl.metrics.balanced_accuracy(majority, labels) == pytest.approx(1 / 3)
    perfect = torch.nn.functional.one_hot(labels, 4).float()
    assert cl.metrics.balanced_accuracy(perfect, labels) == 1.0
    with pytest.raises(ValueError, match="labels"):
        cl.metrics.balanced_accuracy(perfect, labels[:5])


def test_weighted_cross_entropy_counts_a_sample_by_its_weight():
    torch.manual_seed(0)
    x = torch.randn(40, 3, 8, 8)
    onehot = torch.nn.functional.one_hot(torch.arange(40) % 2, 2).float()
    w = torch.ones(40)
    w[::2] = 3.0
    losses = {}
    for name, weight in (("even", None), ("weighted", w)):
        torch.manual_seed(1)
        model = cl.SmallCNN(8, 2, width=4, batch_norm=False)
        hist = cl.fit(model, (x, onehot), epochs=1, batch_size=40, lr=0.0, loss="cross_entropy",
                      sample_weight=weight, progress=False)
        losses[name] = hist.train_loss[0]
    with torch.no_grad():
        torch.manual_seed(1)
        per_sample = -(onehot * cl.SmallCNN(8, 2, width=4, batch_norm=False).eval()(x).log_softmax(1)).sum(1)
    assert losses["weighted"] == pytest.approx(float((per_sample * w).sum() / w.sum()), rel=1e-4)
    assert losses["weighted"] != pytest.approx(losses["even"], rel=1e-6)
