"""best_of: a recipe trained from several seeds, every run measured, the best by a training score."""

import pytest
import torch

import course_lib as cl

X = torch.rand(48, 1, 8, 8)
Y = X.mean(dim=(1, 2, 3))[:, None] * 10
RECIPE = cl.Recipe(lambda: cl.SmallCNN(8, 1, width=4, in_channels=1),
                   dict(epochs=2, lr=1e-2, batch_size=16, device="cpu", progress=False))


def train_mse(run):
    return {"training": cl.mse(cl.predict(run.model, X, device="cpu"), Y), "seed": run.seed}


def test_best_of_keeps_every_run_and_picks_the_lowest_training_score():
    seeds = [5, 6, 7]
    result = cl.experiments.best_of(RECIPE, (X, Y), seeds, train_mse, by="training")
    assert [m["seed"] for m in result.measures] == seeds and len(result.runs) == 3
    scores = [m["training"] for m in result.measures]
    assert result.best == scores.index(min(scores))
    assert result.best_run is result.runs[result.best] and result.best_measures is result.measures[result.best]
    assert result.mean("training") == pytest.approx(sum(scores) / 3)
    # the same runs as the recipe's own: best_of only adds the choice
    assert RECIPE.runs((X, Y), seeds, train_mse) == result.measures


def test_best_of_picks_the_first_of_equal_scores_and_passes_options():
    result = cl.experiments.best_of(RECIPE, (X, Y), [1, 2], lambda run: {"training": 0.0}, by="training",
                                    epochs=1)
    assert result.best == 0 and len(result.best_run.history.train_loss) == 1


@pytest.mark.parametrize("bad, error", [
    (lambda: cl.experiments.best_of("recipe", (X, Y), [0], train_mse, by="training"), TypeError),
    (lambda: cl.experiments.best_of(RECIPE, (X, Y), [0], None, by="training"), TypeError),
    (lambda: cl.experiments.best_of(RECIPE, (X, Y), [0], train_mse, by=0), TypeError),
    (lambda: cl.experiments.best_of(RECIPE, (X, Y), [0], train_mse, by="test"), ValueError),
    (lambda: cl.experiments.best_of(RECIPE, (X, Y), [0], lambda r: 1.0, by="training"), ValueError),
    (lambda: cl.experiments.best_of(RECIPE, (X, Y), [0], lambda r: {"training": float("nan")}, by="training"),
     ValueError),
    (lambda: cl.experiments.best_of(RECIPE, (X, Y), [0], train_mse, by="training").mean("test"), ValueError),
])
def test_bad_input_is_named(bad, error):
    with pytest.raises(error):
        bad()
