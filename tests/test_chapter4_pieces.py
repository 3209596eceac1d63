"""Unit tests of the pieces chapter 4 added: mirrors with and without the target, target-aware
augmentation in fit and fit_scaled, the standardising layer, invariance error, equivalent size
and the comparison plots."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

import course_lib as cl
from course_lib import augment


def _images(n=6, size=8, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_random_hflip_mirrors_about_half_and_is_seeded():
    x = _images(200)
    a = augment.random_hflip(x, torch.Generator().manual_seed(1))
    b = augment.random_hflip(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    mirrored = [bool(torch.equal(o, i.flip(-1))) for o, i in zip(a, x)]
    same = [bool(torch.equal(o, i)) for o, i in zip(a, x)]
    assert all(m or s for m, s in zip(mirrored, same))
    assert 60 < sum(mirrored) < 140


def test_hflip_with_target_moves_the_box_centre_with_the_image():
    x, y = cl.make_box_dataset(64, image_size=16, box_size=3, seed=2)
    flip = augment.random_hflip_with_target(16, column=0)
    xa, ya = flip(x, y, torch.Generator().manual_seed(0))
    cols = (xa[:, 0] > 0).any(dim=1).float()
    centre = (cols * torch.arange(16)).sum(1) / cols.sum(1)
    assert torch.allclose(ya[:, 0], centre) and torch.equal(ya[:, 1], y[:, 1])
    assert not torch.equal(ya, y) and torch.equal(y, cl.make_box_dataset(64, 16, 3, seed=2)[1])  # input untouched


def test_target_aware_bad_inputs():
    with pytest.raises(TypeError, match="fn"):
        augment.TargetAware(3)
    flip = augment.random_hflip_with_target(8)
    with pytest.raises(ValueError, match="wide"):
        flip(_images(2, 6), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="y must"):
        flip(_images(2, 8), torch.zeros(2))
    with pytest.raises(ValueError, match="image_size"):
        augment.random_hflip_with_target(0)
    with pytest.raises(TypeError, match="compose"):
        augment.compose(augment.random_d4, flip)


def test_fit_passes_targets_to_a_target_aware_augmentation():
    seen = []

    def spy(x, y, g):
        seen.append(y.clone())
        return x, y + 1000.0

    x, y = _images(16), torch.zeros(16, 1)
    hist = cl.fit(nn.Sequential(nn.Flatten(), nn.Linear(192, 1)), (x, y), epochs=1, batch_size=8,
                  augment=augment.TargetAware(spy), progress=False)
    assert len(seen) == 2 and all(torch.equal(s, torch.zeros(8, 1)) for s in seen)
    assert hist.train_loss[0] > 1e5  # the loss saw the changed targets
    with pytest.raises(TypeError, match="augment"):
        cl.fit(nn.Linear(1, 1), (x, y), augment="flip", progress=False)


def test_fit_scaled_predicts_in_target_units_and_saves_its_preprocessing():
    x, y = cl.make_dish_dataset(300, image_size=16, seed=0)
    torch.manual_seed(0)
    model, hist = cl.train.fit_scaled(cl.SmallCNN(16, 1, width=4), (x, y), (x[:50], y[:50]), epochs=3, progress=False)
    assert isinstance(model, cl.models.ScaledModel) and hist.epochs == 3 and len(hist.val_loss) == 3
    pred = cl.predict(model, x)
    assert 100 < float(pred.mean()) < 330  # concentration units, not standardised ones
    state = model.state_dict()
    assert {"y_mean", "y_std", "core.0.mean", "core.0.std"} <= set(state)
    assert torch.allclose(state["core.0.mean"].flatten(), x.mean(dim=(0, 2, 3)))
    again = cl.models.ScaledModel(cl.SmallCNN(16, 1, width=4), cl.Standardizer().fit(x[:10]), cl.Standardizer().fit(y[:10]))
    again.load_state_dict(state)
    assert torch.allclose(cl.predict(again, x), pred)
    with pytest.raises(ValueError, match="N, k"):
        cl.train.fit_scaled(cl.SmallCNN(16, 1, width=4), (x, y[:, 0]), epochs=1, progress=False)
    with pytest.raises(TypeError, match="Standardizer"):
        cl.models.ScaledModel(nn.Linear(1, 1), "mean", cl.Standardizer())
    with pytest.raises(ValueError, match="not fitted"):
        cl.models.ScaledModel(nn.Linear(1, 1), cl.Standardizer().fit(x), cl.Standardizer())


def test_fit_scaled_gives_target_aware_augmentations_targets_in_their_units():
    seen = []

    def spy(x, y, g):
        seen.append(y.clone())
        return x, y

    x, y = _images(16, 8), 200.0 + torch.arange(16.0)[:, None]
    cl.train.fit_scaled(nn.Sequential(nn.Flatten(), nn.Linear(192, 1)), (x, y), epochs=1, batch_size=16,
                  augment=augment.TargetAware(spy), progress=False, seed=0)
    assert torch.allclose(torch.sort(seen[0].flatten()).values, y.flatten(), atol=1e-3)


def test_standardize_layer_matches_the_standardizer_and_checks_shape():
    x = _images(10) * 255
    s = cl.Standardizer().fit(x)
    layer = s.as_module()
    assert torch.allclose(layer(x), s.transform(x))
    assert set(layer.state_dict()) == {"mean", "std"}
    with pytest.raises(ValueError, match="does not match"):
        layer(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="not fitted"):
        cl.Standardizer().as_module()


def test_invariance_error_is_zero_for_the_invariant_model_only():
    torch.manual_seed(0)
    base = cl.SmallCNN(8, 1, width=4)
    x = _images(32)
    invariant = augment.D4Invariant(base.features, base.head)
    assert cl.diagnose.invariance_error(invariant, x) < 1e-4
    assert cl.diagnose.invariance_error(base, x) > 1e-2
    with pytest.raises(ValueError, match="elements"):
        cl.diagnose.invariance_error(base, x, elements=(9,))
    with pytest.raises(ValueError, match="at least 2"):
        cl.diagnose.invariance_error(base, x[:1])
    constant = nn.Sequential(nn.Flatten(), nn.Linear(192, 1))
    nn.init.zeros_(constant[1].weight)
    with pytest.raises(ValueError, match="same value"):
        cl.diagnose.invariance_error(constant, x)


def test_equivalent_size_interpolates_on_log_axes():
    sizes, errors = [100, 1000, 10000], [100.0, 10.0, 1.0]
    assert math.isclose(cl.metrics.equivalent_size(sizes, errors, 10.0), 1000.0)
    assert math.isclose(cl.metrics.equivalent_size(sizes, errors, math.sqrt(10) * 1.0), math.sqrt(1000 * 10000))
    assert cl.metrics.equivalent_size(sizes, errors, 0.5) == math.inf
    assert cl.metrics.equivalent_size(sizes, errors, 500.0) == 100
    with pytest.raises(ValueError, match="same length"):
        cl.metrics.equivalent_size([1, 2], [1.0], 1.0)
    with pytest.raises(ValueError, match="increasing"):
        cl.metrics.equivalent_size([2, 1], [2.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="score"):
        cl.metrics.equivalent_size([1, 2], [2.0, 1.0], float("nan"))
    with pytest.raises(ValueError, match="sizes"):
        cl.metrics.equivalent_size([[1, 2]], [[2.0, 1.0]], 1.0)


def test_method_comparison_and_size_curves_plots():
    ax = cl.plots.plot_method_comparison({"plain": [3.0, 4.0], "aug": [1.0]}, reference="plain")
    assert ax.get_ylabel() == "test MSE" and ax.get_title() and ax.get_xlabel() == "method"
    assert len(ax.patches) == 2 and ax.get_legend() is not None
    ax = cl.plots.plot_size_curves([100, 200], {"a": [3.0, 2.0], "b": [2.0, 1.0]})
    assert ax.get_xscale() == "log" and len(ax.lines) == 2 and ax.get_xlabel() == "training images"
    plt.close("all")
    with pytest.raises(ValueError, match="results"):
        cl.plots.plot_method_comparison({})
    with pytest.raises(ValueError, match="finite"):
        cl.plots.plot_method_comparison({"a": [float("nan")]})
    with pytest.raises(ValueError, match="reference"):
        cl.plots.plot_method_comparison({"a": [1.0]}, reference="b")
    with pytest.raises(ValueError, match="one value per size"):
        cl.plots.plot_size_curves([100, 200], {"a": [1.0]})
    with pytest.raises(ValueError, match="sizes"):
        cl.plots.plot_size_curves([100], {"a": [1.0]})
