import os
import sys

import pytest
import torch

import course_lib as cl


def _data(n=256, size=16, seed=0):
    x, y = cl.make_box_dataset(n, image_size=size, seed=seed)
    s = cl.Standardizer().fit(y)
    return x / 255, s.transform(y)


def test_fit_learns_and_records_history():
    x, y = _data()
    model = cl.SmallCNN(image_size=16, n_outputs=2, width=8)
    calls = []
    hist = cl.fit(model, (x[:200], y[:200]), (x[200:], y[200:]), epochs=6, lr=3e-3, batch_size=32,
                  device="cpu", progress=False, on_epoch_end=lambda e, m: calls.append(e) or {"e": e})
    assert hist.epochs == 6 and len(hist.val_loss) == 6 and hist.extra["e"] == list(range(6))
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert calls == list(range(6))


def test_fit_is_reproducible():
    x, y = _data(128)
    losses = []
    for _ in range(2):
        torch.manual_seed(0)
        model = cl.SmallCNN(image_size=16, n_outputs=2, width=4)
        losses.append(cl.fit(model, (x, y), epochs=2, batch_size=32, seed=3, progress=False).train_loss)
    assert losses[0] == losses[1]


def test_fit_refuses_silent_broadcast():
    x, y = _data(64)
    model = cl.SmallCNN(image_size=16, n_outputs=1, width=4)
    with pytest.raises(ValueError, match="broadcast"):
        cl.fit(model, (x, y[:, 0]), epochs=1, progress=False)
    hist = cl.fit(model, (x, y[:, 0]), epochs=1, progress=False, check_shapes=False)
    assert hist.epochs == 1


def test_fit_with_augment_and_losses():
    x, y = _data(64)
    seen = []

    def augment(xb, gen):
        seen.append(xb.shape[0])
        return xb.flip(-1)

    for loss in ["mse", "mae", "huber", "msle", torch.nn.functional.mse_loss]:
        torch.manual_seed(0)
        model = cl.SmallCNN(image_size=16, n_outputs=2, width=4)
        first = cl.losses.get_loss(loss)(cl.predict(model, x.flip(-1)), y)
        hist = cl.fit(model, (x, y), epochs=3, batch_size=32, lr=3e-3, loss=loss, augment=augment, progress=False)
        # the loss recorded is the named one, and training lowers it
        assert hist.train_loss[0] == pytest.approx(float(first), rel=0.5)
        assert hist.train_loss[-1] < hist.train_loss[0], loss
    assert sum(seen) == 5 * 3 * 64


def test_fit_bad_arguments():
    x, y = _data(32)
    model = cl.SmallCNN(image_size=16, n_outputs=2, width=4)
    with pytest.raises(ValueError, match="epochs"):
        cl.fit(model, (x, y), epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        cl.fit(model, (x, y), batch_size=-1)
    with pytest.raises(ValueError, match="loss"):
        cl.fit(model, (x, y), loss="hinge")
    with pytest.raises(ValueError, match="optimizer"):
        cl.fit(model, (x, y), optimizer="lbfgs", progress=False)
    with pytest.raises(ValueError, match="NaN"):
        cl.fit(model, (x, y * float("nan")))
    with pytest.raises(ValueError, match="same number"):
        cl.fit(model, (x, y[:5]))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        cl.fit(model, (x[:, 0], y))
    with pytest.raises(TypeError, match="pair"):
        cl.fit(model, x)
    with pytest.raises(TypeError, match="model"):
        cl.fit("model", (x, y))
    with pytest.raises(ValueError, match="device"):
        cl.fit(model, (x, y), device="tpu")
    with pytest.raises(ValueError, match="lr"):
        cl.fit(model, (x, y), lr=-1.0)


def test_fit_optimizers_and_weight_decay():
    """Each optimizer trains, the three take different steps, and weight decay shrinks the weights."""
    x, y = _data(64)
    finals = {}
    for opt in ["adam", "adamw", "sgd"]:
        norms = []
        for decay in (0.0, 0.5):
            torch.manual_seed(0)
            model = cl.SmallCNN(image_size=16, n_outputs=2, width=4)
            hist = cl.fit(model, (x, y), epochs=3, batch_size=16, lr=1e-2, optimizer=opt, weight_decay=decay,
                          progress=False)
            norms.append(float(torch.cat([p.detach().flatten() for p in model.parameters()]).norm()))
        assert hist.epochs == 3 and norms[1] < norms[0], (opt, norms)
        finals[opt] = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert not torch.allclose(finals["adam"], finals["sgd"]) and not torch.allclose(finals["adam"], finals["adamw"])


def test_predict_and_evaluate_loss():
    x, y = _data(50)
    model = cl.SmallCNN(image_size=16, n_outputs=2, width=4)
    p = cl.predict(model, x, batch_size=7)
    assert p.shape == (50, 2) and p.device.type == "cpu" and not model.training
    assert cl.train.evaluate_loss(model, (x, y)) == pytest.approx(cl.mse(p, y), rel=1e-5)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        cl.predict(model, x[0])
    with pytest.raises(TypeError, match="model"):
        cl.predict(None, x)


def test_msle_loss_and_get_loss():
    p, y = torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0])
    assert float(cl.losses.msle_loss(p, y)) == 0.0
    assert float(cl.losses.msle_loss(torch.tensor([-5.0]), torch.tensor([0.0]))) == 0.0
    assert cl.losses.get_loss("mse") is torch.nn.functional.mse_loss
    with pytest.raises(ValueError, match="loss"):
        cl.losses.get_loss(3)


def test_fit_restarts_reproducible_and_distinct():
    x, y = _data(64)
    runs = cl.train.fit_restarts(lambda: cl.SmallCNN(16, 2, width=4), (x, y), (x, y), restarts=3, seed=2, epochs=1,
                           progress=False)
    again = cl.train.fit_restarts(lambda: cl.SmallCNN(16, 2, width=4), (x, y), (x, y), restarts=3, seed=2, epochs=1,
                            progress=False)
    losses = [h.train_loss[0] for _, h in runs]
    assert losses == [h.train_loss[0] for _, h in again]
    assert len(set(losses)) == 3 and all(h.val_loss for _, h in runs)
    with pytest.raises(ValueError, match="restarts"):
        cl.train.fit_restarts(lambda: cl.SmallCNN(16, 2), (x, y), restarts=0)
    with pytest.raises(TypeError, match="make_model"):
        cl.train.fit_restarts(cl.SmallCNN(16, 2), (x, y))


def test_fit_reads_the_loss_once_per_epoch_not_per_batch(monkeypatch):
    """fit keeps losses on the device: no .item()/float() host synchronisation per batch."""
    x, y = _data(256)
    calls = {"n": 0}
    original_float, original_item = torch.Tensor.__float__, torch.Tensor.item

    def from_fit() -> bool:  # count reads made by course_lib's loop, not by the optimiser's internals
        return sys._getframe(2).f_code.co_filename.endswith(os.path.join("course_lib", "train.py"))

    def counting_float(self):
        calls["n"] += from_fit()
        return original_float(self)

    def counting_item(self):
        calls["n"] += from_fit()
        return original_item(self)

    monkeypatch.setattr(torch.Tensor, "__float__", counting_float)
    monkeypatch.setattr(torch.Tensor, "item", counting_item)
    model = cl.SmallCNN(image_size=16, n_outputs=2, width=4)
    cl.fit(model, (x, y), epochs=3, batch_size=16, progress=False)  # 16 batches per epoch
    assert calls["n"] == 3, f"{calls['n']} host reads for 3 epochs of 16 batches (one per epoch expected)"


def test_fit_moves_the_data_to_the_device_once(monkeypatch):
    x, y = _data(128)
    moves = {"n": 0}
    original_to = torch.Tensor.to

    def counting_to(self, *args, **kwargs):
        if self.dim() == 4 and sys._getframe(1).f_code.co_filename.endswith(os.path.join("course_lib", "train.py")):
            moves["n"] += 1
        return original_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", counting_to)
    cl.fit(cl.SmallCNN(image_size=16, n_outputs=2, width=4), (x, y), epochs=2, batch_size=16, progress=False)
    assert moves["n"] == 1, "the image tensor is copied to the device once, not per batch"


def test_fit_channels_last_keeps_the_numbers_and_converts_once(monkeypatch):
    x, y = _data(128)
    histories = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        model = cl.SmallCNN(image_size=16, n_outputs=2, width=4)
        histories.append(cl.fit(model, (x, y), epochs=2, batch_size=32, progress=False,
                                speed=cl.train.Speed(channels_last=channels_last)))
    assert histories[0].train_loss == pytest.approx(histories[1].train_loss, rel=1e-4)
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    # the images are converted once, not per batch
    conversions = {"n": 0}
    original = torch.Tensor.contiguous

    def counting(self, *args, **kwargs):
        if kwargs.get("memory_format", args[0] if args else None) is torch.channels_last:
            conversions["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "contiguous", counting)
    cl.fit(cl.SmallCNN(image_size=16, n_outputs=2, width=4), (x, y), epochs=2, batch_size=16, progress=False,
           speed=cl.train.Speed(channels_last=True))
    assert conversions["n"] == 1


def test_speed_settings_are_checked():
    x, y = _data(32)
    for name in ("amp", "channels_last", "compile"):
        with pytest.raises(TypeError, match=f"Speed.{name}"):
            cl.train.Speed(**{name: "yes"})
    with pytest.raises(TypeError, match="speed"):
        cl.fit(cl.SmallCNN(16, 2, width=4), (x, y), epochs=1, speed={"compile": True}, progress=False)


def test_fit_compile_keeps_the_numbers_and_the_model():
    """torch.compile is a speed setting: the same losses and weights, and the caller keeps their
    own (uncompiled) model object."""
    x, y = _data(64)
    runs = []
    for compile in (False, True):
        torch.manual_seed(0)
        model = cl.SmallCNN(image_size=16, n_outputs=2, width=4)
        runs.append((model, cl.fit(model, (x, y), epochs=2, batch_size=32, progress=False,
                                   speed=cl.train.Speed(compile=compile))))
    (eager, h_eager), (compiled, h_compiled) = runs
    assert h_compiled.train_loss == pytest.approx(h_eager.train_loss, rel=1e-4)
    assert type(compiled) is cl.SmallCNN
    for a, b in zip(eager.parameters(), compiled.parameters(), strict=True):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-5)


def test_fit_cosine_schedule_decays_the_learning_rate_to_zero(monkeypatch):
    x, y = _data(64)
    seen = []
    original = torch.optim.Adam.step

    def recording(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording)
    cl.fit(cl.SmallCNN(16, 2, width=4), (x, y), epochs=3, batch_size=16, lr=0.01, progress=False,
           lr_schedule="cosine")
    assert len(seen) == 12
    assert seen[0] == pytest.approx(0.01)
    assert all(a > b for a, b in zip(seen, seen[1:], strict=False)), "the rate falls at every step"
    assert seen[-1] < 0.01 * 0.02 and seen[6] == pytest.approx(0.005)
    seen.clear()
    cl.fit(cl.SmallCNN(16, 2, width=4), (x, y), epochs=1, batch_size=16, lr=0.01, progress=False)
    assert seen == [0.01] * 4, "the default keeps the rate constant"
    with pytest.raises(ValueError, match="lr_schedule"):
        cl.fit(cl.SmallCNN(16, 2, width=4), (x, y), epochs=1, lr_schedule="step", progress=False)


def test_scaled_model_input_check_refuses_rescaled_inputs():
    torch.manual_seed(0)
    x = torch.rand(64, 3, 8, 8) * 255
    y = x.mean(dim=(1, 2, 3))[:, None]
    model, _ = cl.train.fit_scaled(cl.SmallCNN(8, 1, width=4), (x, y), epochs=1, batch_size=32, check_inputs=True)
    assert model.x_range.tolist() == pytest.approx([float(x.min()), float(x.max())])
    cl.predict(model, x)  # as in training: accepted
    for wrong in (x / 127, x / 255, x * 2):
        with pytest.raises(ValueError, match="rescaled"):
            cl.predict(model, wrong)
    model.check_inputs = False
    assert cl.predict(model, x / 127).shape == (64, 1)
    model.train()
    model(x / 127)  # training mode (augmented batches) is never checked
    off, _ = cl.train.fit_scaled(cl.SmallCNN(8, 1, width=4), (x, y), epochs=1, batch_size=32)
    assert not off.check_inputs and cl.predict(off, x / 127).shape == (64, 1)
    reloaded = cl.models.ScaledModel(cl.SmallCNN(8, 1, width=4), cl.Standardizer().fit(x[:2]), cl.Standardizer().fit(y[:2]),
                              check_inputs=True)
    reloaded.load_state_dict(model.state_dict())  # the range travels with the weights
    with pytest.raises(ValueError, match="rescaled"):
        cl.predict(reloaded, x / 127)
    with pytest.raises(ValueError, match="x_range"):
        cl.models.ScaledModel(cl.SmallCNN(8, 1, width=4), cl.Standardizer().fit(x), cl.Standardizer().fit(y), x_range=(1, 1))
