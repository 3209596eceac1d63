"""cl.data.scaled_split: the split of train_val_split with targets standardised on the training part."""

import pytest
import torch

import course_lib as cl


def test_scaled_split_uses_training_statistics_only():
    x, y = cl.make_dish_dataset(60, image_size=8, seed=1)
    train, val, scaler = cl.data.scaled_split(x / 255, y, 20)
    (xt, yt), (xv, yv) = cl.train_val_split(x / 255, y, 20)
    assert torch.equal(train[0], xt) and torch.equal(val[0], xv)
    assert torch.allclose(train[1].mean(0), torch.zeros(1), atol=1e-5)
    assert torch.allclose(scaler.inverse_transform(val[1]), yv, atol=1e-3)
    assert torch.equal(train[1], cl.Standardizer().fit(yt).transform(yt))


def test_scaled_split_names_bad_sizes():
    x, y = cl.make_dish_dataset(10, image_size=8, seed=1)
    with pytest.raises(ValueError, match="n_val"):
        cl.data.scaled_split(x, y, 10)
