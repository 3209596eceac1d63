"""cl.experiments.train_and_score: a recipe trained and scored in units of Var(y) (chapter 9)."""

import pytest
import torch

import course_lib as cl

X = torch.rand(64, 3, 8, 8)
Y = X.mean(dim=(1, 2, 3))[:, None] * 10


def recipe():
    return cl.Recipe(lambda width=4: cl.SmallCNN(8, 1, width=width), dict(epochs=2, lr=1e-2, batch_size=16,
                                                                       device="cpu", progress=False),
                     scaled=True, seed=3)


def test_scores_are_fit_and_scores():
    """The same run and the same numbers as cl.train.fit_and_score with the recipe's seed and options."""
    got = cl.experiments.train_and_score(recipe(), (X[:48], Y[:48]), (X[48:], Y[48:]), model={"width": 4})
    model, history, scores = cl.train.fit_and_score(lambda: cl.SmallCNN(8, 1, width=4), (X[:48], Y[:48]),
                                                    (X[48:], Y[48:]), seed=3, epochs=2, lr=1e-2, batch_size=16,
                                                    device="cpu", progress=False)
    assert (got.train, got.val) == (scores["train"], scores["val"])
    assert got.history.val_loss == history.val_loss
    assert torch.equal(cl.predict(got.model, X, device="cpu"), cl.predict(model, X, device="cpu"))


def test_changes_reach_fit_and_the_recipe():
    """Fit's options and make_model change for one run; the recipe itself is unchanged."""
    r = recipe()
    wide = cl.experiments.train_and_score(r, (X, Y), (X, Y), make_model=lambda: cl.SmallCNN(8, 1, width=6),
                                          epochs=1)
    assert wide.history.epochs == 1 and cl.count_parameters(wide.model) > cl.count_parameters(r.make_model())
    assert r.options["epochs"] == 2
    mean = cl.experiments.train_and_score(r, (X, Y), (X, Y), lr=0.0)
    assert 0.5 < mean.train < 5  # an untrained network: about the mean predictor or worse, not a fit


def test_bad_inputs_name_the_argument():
    with pytest.raises(TypeError, match="recipe"):
        cl.experiments.train_and_score(lambda: None, (X, Y), (X, Y))
    with pytest.raises(ValueError, match="val"):
        cl.experiments.train_and_score(recipe(), (X, Y), None)
    with pytest.raises(TypeError, match="val"):
        cl.experiments.train_and_score(recipe(), (X, Y), X)


def test_gap_and_print_scores(capsys):
    """The gap is (val - train) / val; the table shows both scores, the gap, parameters and a floor row."""
    run = cl.experiments.train_and_score(recipe(), (X[:48], Y[:48]), (X[48:], Y[48:]))
    assert run.gap == pytest.approx((run.val - run.train) / run.val)
    cl.experiments.print_scores({"small": run}, floor=0.25, fmt="{:.2f}")
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["train", "validation", "gap", "/", "validation", "parameters"]
    assert out[1].split()[:3] == ["small", f"{run.train:.2f}", f"{run.val:.2f}"]
    assert out[1].split()[-1] == f"{cl.count_parameters(run.model):,}"
    assert out[2].split() == ["noise", "floor", "0.25", "0.25"]
    with pytest.raises(TypeError, match="runs"):
        cl.experiments.print_scores({"small": (1.0, 2.0)})
