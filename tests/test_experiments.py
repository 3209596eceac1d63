"""The training recipe and the runner of initialisations and variants (course_lib.experiments)."""

import pytest
import torch

import course_lib as cl

X = torch.rand(64, 1, 8, 8)
Y = X.mean(dim=(1, 2, 3))[:, None] * 10


def recipe(**kw):
    return cl.Recipe(lambda k=1: cl.SmallCNN(8, k, width=4, in_channels=1), dict(epochs=2, lr=1e-2, batch_size=16,
                                                                    device="cpu", progress=False), **kw)


def test_train_is_the_hand_written_sequence():
    """recipe.train(data, seed=s) == manual_seed(s); make_model(); fit(..., seed=s)."""
    got = recipe().train((X, Y), seed=3)
    torch.manual_seed(3)
    net = cl.SmallCNN(8, 1, width=4, in_channels=1)
    cl.fit(net, (X, Y), epochs=2, lr=1e-2, batch_size=16, device="cpu", progress=False, seed=3)
    assert got.seed == 3
    assert torch.equal(cl.predict(got.model, X, device="cpu"), cl.predict(net, X, device="cpu"))


def test_scaled_recipe_predicts_in_target_units_and_model_arguments_reach_make_model():
    trained = recipe(scaled=True).train((X, Y), model={"k": 1})
    assert isinstance(trained.model, cl.train.ScaledModel)
    two = recipe().train((X, Y.repeat(1, 2)), model={"k": 2})
    assert cl.predict(two.model, X, device="cpu").shape == (64, 2)


def test_runs_and_variants_measure_every_seed():
    seeds = cl.restart_seeds(2, 3)
    assert seeds == [2000, 2001, 2002]
    out = cl.run_variants(recipe(), (X, Y), {"as is": {}, "slow": {"lr": 1e-6}, "other data": {"data": (X, -Y)}},
                          seeds[:2], lambda t: cl.mse(cl.predict(t.model, X, device="cpu"), Y))
    assert list(out) == ["as is", "slow", "other data"] and all(len(v) == 2 for v in out.values())
    assert out["as is"] == recipe().runs((X, Y), seeds[:2], lambda t: cl.mse(cl.predict(t.model, X, device="cpu"), Y))
    assert out["slow"] != out["as is"]
    assert recipe().but(lr=1e-6).options["lr"] == 1e-6 and recipe().but(seed=5).seed == 5


@pytest.mark.parametrize("bad, error", [
    (lambda: cl.Recipe(cl.SmallCNN(8, 1)), TypeError),
    (lambda: cl.Recipe(lambda: cl.SmallCNN(8, 1), {"seed": 1}), ValueError),
    (lambda: cl.Recipe(lambda: cl.SmallCNN(8, 1), seed=-1), ValueError),
    (lambda: cl.restart_seeds(0, 0), ValueError),
    (lambda: recipe().runs((X, Y), 3), TypeError),
    (lambda: cl.run_variants(recipe(), (X, Y), {"a": 1}, [0], len), TypeError),
    (lambda: cl.Recipe(lambda: "not a model").train((X, Y)), TypeError),
])
def test_bad_input_is_named(bad, error):
    with pytest.raises(error):
        bad()


def test_mean_of_runs():
    assert cl.experiments.mean([1, 2, torch.tensor(3.0)]) == 2.0
    with pytest.raises(ValueError):
        cl.experiments.mean([])
