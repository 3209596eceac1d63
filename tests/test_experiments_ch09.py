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


def test_scores_are_the_mse_over_the_training_targets_variance_and_reproducible():
    """Both scores recomputed by hand from the trained model; the same recipe and seed give the same run."""
    got = cl.experiments.train_and_score(recipe(), (X[:48], Y[:48]), (X[48:], Y[48:]), model={"width": 4})
    assert got.history.epochs == 2 and len(got.history.val_loss) == 2
    var = Y[:48].double().var()
    for (x, y), score in (((X[:48], Y[:48]), got.train), ((X[48:], Y[48:]), got.val)):
        want = float(((cl.predict(got.model, x, device="cpu").double() - y.double()) ** 2).mean() / var)
        assert abs(score - want) < 1e-6 * want
    again = cl.experiments.train_and_score(recipe(), (X[:48], Y[:48]), (X[48:], Y[48:]), model={"width": 4})
    assert (again.train, again.val) == (got.train, got.val)
    assert abs(got.gap - (got.val - got.train) / got.val) < 1e-12


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


def test_print_scores_shows_the_means_of_several_runs(capsys):
    """A row of several runs (one per initialisation) shows their mean scores and their mean gap."""
    runs = [cl.experiments.train_and_score(recipe(), (X[:48], Y[:48]), (X[48:], Y[48:]), seed=s) for s in (1, 2)]
    cl.experiments.print_scores({"two": runs}, fmt="{:.4f}", held_out="test")
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["train", "test", "gap", "/", "test", "parameters"]
    mean_gap = (runs[0].gap + runs[1].gap) / 2
    assert out[1].split()[1:4] == [f"{(runs[0].train + runs[1].train) / 2:.4f}",
                                   f"{(runs[0].val + runs[1].val) / 2:.4f}", f"{mean_gap:.0%}"]
    with pytest.raises(TypeError, match="runs\\['none'\\]"):
        cl.experiments.print_scores({"none": []})


def test_without_monitoring_the_same_model_is_scored_and_no_validation_curve_kept():
    """monitor=False trains the same model (validation never changes training) and scores it the same way."""
    watched = cl.experiments.train_and_score(recipe(), (X[:48], Y[:48]), (X[48:], Y[48:]))
    quiet = cl.experiments.train_and_score(recipe(), (X[:48], Y[:48]), (X[48:], Y[48:]), monitor=False)
    assert (quiet.train, quiet.val) == (watched.train, watched.val)
    assert len(quiet.history.val_loss) == 0 and len(watched.history.val_loss) == 2
    with pytest.raises(TypeError, match="monitor"):
        cl.experiments.train_and_score(recipe(), (X, Y), (X, Y), monitor="no")
