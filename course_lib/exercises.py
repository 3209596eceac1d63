"""Exercise checks: ``check(exercise_id, answer)`` says right, or wrong with a hint.

A check never lets a student's mistake end in a bare traceback: an answer that raises, has the
wrong type or is missing gets a sentence and a hint. Each chapter registers its exercises here
with :func:`exercise`; ``EXERCISES`` lists them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .report import wrap_text

Checker = Callable[[Any], tuple[bool, str]]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a check: ``ok`` and a message (with a hint when not ok)."""

    exercise: str
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        mark = "✓ right" if self.ok else "✗ not yet"
        chapter, _, number = self.exercise.partition(".")
        shown = f"{int(chapter)}.{number}" if chapter.isdigit() and number else self.exercise  # as the page: 7.1
        return f"Exercise {shown}: {mark}. {self.message}"


@dataclass(frozen=True)
class _Exercise:
    checker: Checker
    hint: str


EXERCISES: dict[str, _Exercise] = {}


def exercise(exercise_id: str, hint: str) -> Callable[[Checker], Checker]:
    """Register ``checker(answer) -> (ok, message)`` under ``exercise_id`` with a general hint."""

    def register(checker: Checker) -> Checker:
        EXERCISES[exercise_id] = _Exercise(checker, hint)
        return checker

    return register


def check(exercise_id: str, answer: Any, verbose: bool = True) -> CheckResult:
    """Check ``answer`` to exercise ``exercise_id`` (e.g. ``"01.1"``), print and return the verdict."""
    if isinstance(exercise_id, str) and exercise_id not in EXERCISES:  # "3.1", as the page numbers it
        chapter, _, number = exercise_id.partition(".")
        if chapter.isdigit() and number:
            exercise_id = f"{int(chapter):02d}.{number}"
    if exercise_id not in EXERCISES:
        raise ValueError(f"exercise_id must be one of {sorted(EXERCISES)} (or written as the page numbers them, "
                         f"e.g. '3.1'), got {exercise_id!r}")
    ex = EXERCISES[exercise_id]
    if answer is None or answer is Ellipsis:
        result = CheckResult(exercise_id, False, f"No answer yet. Hint: {ex.hint}")
    else:
        try:
            ok, message = ex.checker(answer)
        except Exception as exc:  # a student's code may fail in any way: turn it into a hint
            ok, message = False, f"Your answer raised {type(exc).__name__}: {exc}."
        result = CheckResult(exercise_id, ok, message if ok else f"{message} Hint: {ex.hint}")
    if verbose:
        print(wrap_text(str(result)))  # as the page shows it: no horizontal scroll bar
    return result


def _close(a: Any, b: float, tol: float) -> bool:
    return isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a) and abs(a - b) <= tol


def _random_pairs(k: int = 3) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1234)
    pairs = []
    for i in range(k):
        y = 10 * torch.rand(50 + 10 * i, generator=g) + 3
        pairs.append((y + torch.randn(y.shape, generator=g) * (i + 1) + i, y))
    return pairs


def _matches_reference(fn: Any, reference: Callable[..., float], signature: str, tol: float = 1e-6,
                       one_arg: bool = False) -> tuple[bool, str]:
    """Compare a student's function with ``reference`` on the shared test cases."""
    if not callable(fn):
        return False, f"Expected a function {signature}, got {type(fn).__name__}."
    for pred, target in _random_pairs():
        args = (target,) if one_arg else (pred, target)
        got, want = float(fn(*args)), float(reference(*args))
        if not _close(got, want, tol * max(1.0, abs(want))):
            return False, f"On a test case your function gave {got:.4f}, the right value is {want:.4f}."
    return True, "Your function matches the reference on every test case."


# ----- chapter 1 -------------------------------------------------------------------------------

@exercise("01.1", "R² = 1 - sum((y - pred)**2) / sum((y - mean(y))**2): the mean is the target's.")
def _check_r2_function(fn: Any) -> tuple[bool, str]:
    from .metrics import r2

    return _matches_reference(fn, r2, "my_r2(pred, target)")


@exercise("01.2", "The best constant is the mean of y; its MSE is the mean of (y - mean(y))**2, i.e. Var(y).")
def _check_baseline_function(fn: Any) -> tuple[bool, str]:
    from .metrics import baseline_mse

    return _matches_reference(fn, baseline_mse, "mean_predictor_mse(y)", one_arg=True)


@exercise("01.3", "Write pred - mean(y) in terms of y - mean(y); the residual pred - y follows, and with it the MSE "
                  "and R². cl.slope_report gives both numbers.")
def _check_shrunk_predictor(answer: Any) -> tuple[bool, str]:
    if not isinstance(answer, dict) or not {"slope", "r2"} <= set(answer):
        return False, "Expected a dict with keys 'slope' and 'r2'."
    ok_slope = _close(answer["slope"], 0.5, 0.01)
    ok_r2 = _close(answer["r2"], 0.75, 0.01)
    if ok_slope and ok_r2:
        return True, "Slope 0.5 and R² 0.75: a shrunk predictor keeps a high R² with a slope far from 1."
    wrong = [k for k, ok in (("slope", ok_slope), ("r2", ok_r2)) if not ok]
    return False, f"Your {' and '.join(wrong)} is off."


def _letter(answer: Any, options: str) -> str | None:
    """``answer`` as one upper-case letter among ``options``, or None."""
    if isinstance(answer, str) and answer.strip().upper() in options and len(answer.strip()) == 1:
        return answer.strip().upper()
    return None


@exercise("01.4", "What is the MSE of these predictions? Compare it with Var(y), then use R² = 1 - MSE / Var(y).")
def _check_noisy_predictions(answer: Any) -> tuple[bool, str]:
    from .metrics import r2

    letter = _letter(answer, "ABC")
    if letter is None:
        return False, "Expected one letter, \"A\", \"B\" or \"C\", written before running the cell."
    g = torch.Generator().manual_seed(14)
    y = 80 + 270 * torch.rand(20_000, 1, generator=g, dtype=torch.float64)
    measured = r2(y + y.std() * torch.randn(y.shape, generator=g, dtype=torch.float64), y)
    nearest = min({"A": 0.5, "B": 0.0, "C": -1.0}.items(), key=lambda kv: abs(kv[1] - measured))[0]
    if letter == nearest:
        return True, (f"Measured R² {measured:.2f}. The noise adds its whole variance, Var(y), to the MSE: "
                      "predictions that follow the targets on average can still score no better than the mean.")
    return False, f"You predicted {letter}; the run measures R² {measured:.2f}."


def _tiny_reader() -> tuple[Any, Any, torch.Tensor, torch.Tensor]:
    """A fixed linear model on 8×8 images, a target scaler and raw images and targets (exercises)."""
    from torch import nn

    from .data import Standardizer

    g = torch.Generator().manual_seed(15)
    x = 255 * torch.rand(40, 3, 8, 8, generator=g)
    y = 100 + 30 * torch.randn(40, 2, generator=g)
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 2))
    with torch.no_grad():
        model[1].weight.copy_(0.05 * torch.randn(2, 192, generator=g))
        model[1].bias.zero_()
    return model.eval(), Standardizer().fit(y), x, y


@exercise("01.5", "The model was trained on standardised targets. In which units are its outputs, and in which are "
                  "the targets you compare them with?")
def _check_validation_mse(fn: Any) -> tuple[bool, str]:
    from .metrics import mse
    from .models import predict

    if not callable(fn):
        return False, f"Expected a function validation_mse(model, scaler, x, y), got {type(fn).__name__}."
    model, scaler, x, y = _tiny_reader()
    want = mse(scaler.inverse_transform(predict(model, x / 255)), y)
    got = fn(model, scaler, x, y)
    if not _close(float(got), want, 1e-4 * want):
        if _close(float(got), mse(predict(model, x / 255), y), 1e-4 * want):
            return False, "That is still the buggy number: the outputs and the targets are in different units."
        return False, f"On a test model your function gave {float(got):.2f}, the validation MSE is {want:.2f}."
    return True, "The predictions are mapped back to the targets' units before they are compared."


# ----- chapter 2 -------------------------------------------------------------------------------

@exercise("02.1", "Expand mean((y - c)**2) = Var(y) + (mean(y) - c)**2: the second term vanishes at c = mean(y).")
def _check_best_constant(answer: Any) -> tuple[bool, str]:
    if _close(answer, 4.0, 1e-6):
        return True, "c = mean(y) = 4, and the loss there is Var(y) = 12.5."
    if _close(answer, 2.5, 1e-6):
        return False, "2.5 is the median, the best constant for the absolute error (MAE), not for MSE."
    return False, f"{answer!r} is not the constant that minimises the squared error."


@exercise("02.2", "The spread ratio is std(pred) / std(target); near 0 means the model has collapsed.")
def _check_spread_function(fn: Any) -> tuple[bool, str]:
    from .diagnose import spread_ratio

    return _matches_reference(fn, spread_ratio, "spread(pred, target)", tol=1e-4)


@exercise("02.3", "Keep the output layer linear (no ReLU after the last nn.Linear) and train as in the fix.")
def _check_linear_output(answer: Any) -> tuple[bool, str]:
    from .metrics import r2

    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return False, "Expected a pair (pred, target) of validation predictions and targets."
    pred, target = (torch.as_tensor(a, dtype=torch.float64) for a in answer)
    if pred.shape != target.shape:
        return False, f"pred and target shapes differ: {tuple(pred.shape)} and {tuple(target.shape)}."
    if float(pred.min()) >= 0.0 and float(target.min()) < 0.0:
        return False, "No prediction is negative although targets are: is there still a ReLU on the output?"
    score = r2(pred, target)
    if score <= 0.9:
        return False, f"Validation R² is {score:.3f}; it should exceed 0.9."
    return True, f"Validation R² {score:.3f} with predictions on both sides of 0."


def _prediction_and_measurement(answer: Any, names: tuple[str, str], measured: str,
                                nonnegative: bool = False) -> tuple[Any, float] | str:
    """Unpack a predict-then-run answer, the pair (prediction, measured number) that the cell
    passes; return it, or the message that says what is wrong with it."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return f"Expected the pair ({names[0]}, {names[1]}) that the cell passes."
    said, value = answer
    if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
            or (nonnegative and value < 0)):
        return f"{names[1]} must be {measured}."
    return said, float(value)


@exercise("02.4", "Standardised targets are negative about half the time. What can a ReLU output for those?")
def _check_relu_one_batch(answer: Any) -> tuple[bool, str]:
    pair = _prediction_and_measurement(answer, ("prediction_24", "ratio_24"),
                                       "the measured loss / Var(y) after the check (a number >= 0)", nonnegative=True)
    if isinstance(pair, str):
        return False, pair
    said, ratio = pair
    if not isinstance(said, bool):
        return False, "prediction_24 must be True (it will pass) or False (it will not), written before the run."
    passes = ratio < 0.1
    if said == passes:
        verdict = ("it fails, before any real training: no weight can make a ReLU output a negative target"
                   if not passes else "it passes")
        return True, f"Measured loss / Var {ratio:.2f} after 100 steps: {verdict}."
    return False, f"You predicted {'a pass' if said else 'a failure'}; the run measures loss / Var {ratio:.2f}."


# ----- chapter 3 -------------------------------------------------------------------------------

@exercise("03.1", "Write the slope as Cov(pred, y) / Var(y) and use y = pred + e, with the error e uncorrelated "
                  "with the best prediction.")
def _check_best_slope(answer: Any) -> tuple[bool, str]:
    if _close(answer, 0.64, 0.005):
        return True, "Slope = R² = 0.64: an honest predictor is flatter than y = x."
    if _close(answer, 1.0, 0.005):
        return False, "1 is the slope of target on prediction, not of prediction on target."
    return False, f"{answer!r} is not the slope."


@exercise("03.2", "Regress the target on the prediction: slope = cov(pred, y) / var(pred).")
def _check_calibration_slope(fn: Any) -> tuple[bool, str]:
    from .metrics import linear_fit

    ok, message = _matches_reference(fn, lambda p, y: linear_fit(p, y)["slope"], "calibration_slope(pred, target)",
                                     tol=1e-5)
    if not ok and callable(fn):
        pred, target = _random_pairs()[0]
        if _close(float(fn(pred, target)), linear_fit(target, pred)["slope"], 1e-5):
            return False, "You regressed the prediction on the target: swap the roles."
    return ok, message


@exercise("03.3", "Stretched: p' - mean = f / R², so p' - y = f (1/R² - 1) - e; square and average.")
def _check_stretch_factor(answer: Any) -> tuple[bool, str]:
    if _close(answer, 2.0, 0.05):
        return True, "MSE' = Var(y)(1 - R²)/R², twice the MSE Var(y)(1 - R²) when R² = 0.5."
    return False, f"{answer!r} is not the factor."


@exercise("03.4", "Try it: cl.data.simulate_best_predictor at both noise levels, and cl.slope_report for both slopes.")
def _check_slopes_under_noise(answer: Any) -> tuple[bool, str]:
    from .data import simulate_best_predictor
    from .metrics import slope_report

    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or any(_letter(a, "ABC") is None for a in answer):
        return False, "Expected two letters, e.g. (\"A\", \"C\"): one for each slope."
    before = slope_report(*simulate_best_predictor(100_000, noise_std=0.5, seed=34))
    after = slope_report(*simulate_best_predictor(100_000, noise_std=1.0, seed=34))

    def verdict(key: str) -> str:
        change = after[key] - before[key]
        return "A" if change > 0.05 else "B" if change < -0.05 else "C"

    truth = (verdict("pred_on_target_slope"), verdict("target_on_pred_slope"))
    numbers = (f"prediction on target {before['pred_on_target_slope']:.2f} -> {after['pred_on_target_slope']:.2f}, "
               f"calibration {before['target_on_pred_slope']:.2f} -> {after['target_on_pred_slope']:.2f}")
    if tuple(_letter(a, "ABC") for a in answer) == truth:
        return True, f"Measured: {numbers}. The shrinkage follows R² down; the best predictor stays calibrated."
    return False, f"Not both right: the run measures {numbers}."


@exercise("03.5", "Which line maps a prediction to the expected target: the one fitted with the target on the y-axis, or "
                  "the inverse of the one fitted with the prediction on the y-axis?")
def _check_recalibrate(fn: Any) -> tuple[bool, str]:
    from .data import simulate_best_predictor
    from .metrics import linear_fit, mse

    if not callable(fn):
        return False, f"Expected a function recalibrate_line(pred_cal, y_cal, pred_new), got {type(fn).__name__}."
    f, y = simulate_best_predictor(20_000, noise_std=0.7, seed=35)
    pred = 1.2 * f + 0.3  # over-confident and shifted
    cal, new = slice(0, 10_000), slice(10_000, None)
    fit = linear_fit(pred[cal], y[cal])
    best = mse(fit["intercept"] + fit["slope"] * pred[new], y[new])
    got = torch.as_tensor(fn(pred[cal], y[cal], pred[new]), dtype=torch.float64).reshape(-1)
    if got.shape != y[new].shape:
        return False, f"Expected {len(y[new])} recalibrated predictions, got shape {tuple(got.shape)}."
    score = mse(got, y[new])
    if score > 1.01 * best:
        return False, (f"Recalibrated MSE {score:.3f} on new data, where the calibration line reaches {best:.3f} "
                       f"(unrecalibrated: {mse(pred[new], y[new]):.3f}).")
    return True, f"MSE on new data {score:.3f}, down from {mse(pred[new], y[new]):.3f}: the calibration line."


# ----- chapter 4 -------------------------------------------------------------------------------

@exercise("04.1", "A mirror maps the column x to image_size - 1 - x; the row y does not move.")
def _check_flip_target(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"Expected a function flip_target(y, image_size), got {type(fn).__name__}."
    from .data import make_box_dataset

    for size in (16, 24):
        x, y = make_box_dataset(20, image_size=size, seed=size)
        got = torch.as_tensor(fn(y.clone(), size), dtype=torch.float32)
        # the right answer: the box found in the mirrored image
        mirrored = x.flip(-1)[:, 0]
        cols = (mirrored > 0).any(dim=1).float()
        centre_x = (cols * torch.arange(size)).sum(1) / cols.sum(1)
        want = torch.stack([centre_x, y[:, 1]], dim=1)
        if got.shape != want.shape:
            return False, f"Expected targets of shape {tuple(want.shape)}, got {tuple(got.shape)}."
        if not torch.allclose(got, want, atol=1e-4):
            if torch.allclose(got[:, 1], want[:, 1], atol=1e-4):
                return False, "The row is right but the column is not where the box is in the mirrored image."
            return False, "The targets do not match where the box is in the mirrored image."
    return True, "Your targets follow the box into the mirrored image, for any image size."


INVARIANCE_ANSWERS = {"dish concentration": True, "box x-centre": False, "box y-centre": True,
                      "clock hand angle": False, "number of cells in a dish": True}


@exercise("04.2", "Ask: if I mirror the picture left-right, does the true answer change?")
def _check_invariance_table(answer: Any) -> tuple[bool, str]:
    if not isinstance(answer, dict) or set(answer) != set(INVARIANCE_ANSWERS):
        return False, f"Expected a dict with exactly the keys {sorted(INVARIANCE_ANSWERS)}."
    wrong = [k for k, v in INVARIANCE_ANSWERS.items() if answer[k] is not v]
    if wrong:
        return False, f"Not right for: {', '.join(sorted(wrong))}."
    return True, "Only targets that a mirror leaves unchanged may be augmented with mirrors as they are."


@exercise("04.3", "Average model(torch.rot90(x, k, dims=(-2, -1))) over k = 0, 1, 2, 3, in eval mode.")
def _check_c4_tta(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"Expected a function c4_tta(model, x), got {type(fn).__name__}."
    from torch import nn

    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(1))
    x = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    model(x)  # materialise the lazy layer
    model.eval()
    with torch.no_grad():
        want = torch.stack([model(torch.rot90(x, k, dims=(-2, -1))) for k in range(4)]).mean(0)
    model.train()
    got = torch.as_tensor(fn(model, x)).detach().float().cpu()
    if got.shape != want.shape:
        return False, f"Expected predictions of shape {tuple(want.shape)}, got {tuple(got.shape)}."
    if not torch.allclose(got, want, atol=1e-5):
        return False, "Your average differs from the mean prediction over the 4 rotations (is the model in eval mode?)."
    rotated = torch.as_tensor(fn(model, torch.rot90(x, 1, dims=(-2, -1)))).detach().float().cpu()
    if not torch.allclose(rotated, got, atol=1e-5):
        return False, "Your prediction changes when the input is rotated by 90°: it should not."
    return True, "Your TTA prediction is the same for an image and its quarter turns."


@exercise("04.4", "Write the TTA prediction for a transformed image g·x as a mean over h of f(h·g·x). As h runs over "
                  "the 8 elements, which elements does h·g run over?")
def _check_tta_invariance(answer: Any) -> tuple[bool, str]:
    pair = _prediction_and_measurement(answer, ("prediction_44", "change_44"),
                                       "the measured invariance error (a finite number)")
    if isinstance(pair, str):
        return False, pair
    said, measured = _letter(pair[0], "AB"), pair[1]
    if said is None:
        return False, "prediction_44 must be \"A\" or \"B\", written before running the cell."
    truth = "A" if measured < 1e-3 else "B"
    if said == truth:
        return True, (f"Measured {measured:.1e}: averaging over the whole group makes any model exactly invariant, "
                      "at 8 forward passes per image.")
    return False, f"You predicted {said}; the run measures an invariance error of {measured:.1e}."


@exercise("04.5", "Which transforms leave a square's row where it was? Try your choice with cl.plots.show_augmentations "
                  "on a few boxes first.")
def _check_row_augmentation(augment: Any) -> tuple[bool, str]:
    from .data import make_box_dataset, train_val_split
    from .metrics import r2
    from .models import SmallCNN, predict
    from .train import fit_scaled

    if not callable(augment):
        return False, f"Expected an augmentation function (x, generator) -> x, got {type(augment).__name__}."
    x, y = make_box_dataset(1500, image_size=16, box_size=3, seed=45)
    if torch.equal(augment(x[:64] / 255, torch.Generator().manual_seed(45)), x[:64] / 255):
        return False, "Your augmentation leaves every image as it was: it adds no views of the data."
    (xt, yt), (xv, yv) = train_val_split(x / 255, y[:, 1:], 500)
    torch.manual_seed(45)
    model, _ = fit_scaled(SmallCNN(16, 1, width=8), (xt, yt), epochs=6, lr=3e-3, batch_size=64, augment=augment,
                          seed=45, device="cpu", progress=False)
    score = r2(predict(model, xv), yv)
    if score <= 0.9:
        return False, f"Trained with your augmentation, the row is read with validation R² {score:.2f} (need > 0.9)."
    return True, f"Validation R² {score:.3f} for the row: your augmentation adds views and keeps the target true."


# ----- chapter 5 -------------------------------------------------------------------------------

def _random_probs(n: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax probabilities (n, k) and integer labels (n,), reproducibly."""
    gen = torch.Generator().manual_seed(seed)
    probs = (2 * torch.randn(n, k, generator=gen)).softmax(1)
    return probs, torch.randint(0, k, (n,), generator=gen)


@exercise("05.1", "For each sample, sum over the classes (p_k - onehot_k)², then average over the samples.")
def _check_brier(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"Expected a function brier(probs, labels), got {type(fn).__name__}."
    from .metrics import brier_score

    for n, k, seed in ((50, 3, 1), (80, 5, 2)):
        probs, labels = _random_probs(n, k, seed)
        got = float(fn(probs.clone(), labels.clone()))
        want = brier_score(probs, labels)
        if not math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-6):
            if math.isclose(got * k, want, rel_tol=1e-4):
                return False, "Your value is the score divided by the number of classes: sum over classes, do not average."
            return False, f"For {n} samples and {k} classes your Brier score is {got:.4f}, expected {want:.4f}."
    return True, "Your Brier score matches for 3 and 5 classes."


@exercise("05.2", "A central interval of probability level reaches from the (1 - level)/2 to the (1 + level)/2 "
                  "quantile: z = cl.metrics.gaussian_quantile(0.5 + level / 2).")
def _check_coverage(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"Expected a function coverage(mean, std, target, level), got {type(fn).__name__}."
    from .metrics import interval_coverage

    gen = torch.Generator().manual_seed(3)
    mean = torch.randn(400, 1, generator=gen)
    std = 0.5 + torch.rand(400, 1, generator=gen)
    target = mean + 0.8 * std * torch.randn(400, 1, generator=gen)
    for level in (0.5, 0.8, 0.95):
        got = float(fn(mean.clone(), std.clone(), target.clone(), level))
        want = interval_coverage(mean, std, target, level)
        if not math.isclose(got, want, abs_tol=1e-6):
            return False, f"At level {level} your coverage is {got:.3f}, expected {want:.3f}."
    return True, "Your coverage matches at the 50%, 80% and 95% levels."


REMEDY_ANSWERS = {
    "trained on x / 255, served x / 127": "A",
    "test photos taken under a brighter lamp": "B",
    "90%-confident classes right 70% of the time": "C",
    "95% intervals hold 60% of test targets": "D",
    "rare high concentrations predicted too low": "E",
}


@exercise("05.3", "Ask which step of the pipeline the symptom comes from: preprocessing, the data the model saw, "
                  "or the size of its probabilities and intervals.")
def _check_remedies(answer: Any) -> tuple[bool, str]:
    if not isinstance(answer, dict) or set(answer) != set(REMEDY_ANSWERS):
        return False, f"Expected a dict with exactly the keys {sorted(REMEDY_ANSWERS)}."
    wrong = [k for k, v in REMEDY_ANSWERS.items() if answer[k] != v]
    if wrong:
        return False, f"Not right for: {', '.join(sorted(wrong))}."
    return True, "Each symptom has its remedy: only the first is fixed by the preprocessing alone."


@exercise("05.4", "A division by 200 is a gain of 255 / 200 on every input, the same kind of change as a brighter lamp. "
                  "What did this model learn darker liquid means?")
def _check_gain_direction(answer: Any) -> tuple[bool, str]:
    options = ("too low", "too high", "no bias")
    pair = _prediction_and_measurement(answer, ("prediction_54", "shift_54"),
                                       "the measured mean residual over the target std (a finite number)")
    if isinstance(pair, str):
        return False, pair
    said, measured = pair
    said = said.strip().lower() if isinstance(said, str) else said
    if said not in options:
        return False, f"prediction_54 must be one of {options}, written before running the cell."
    truth = "too low" if measured < -0.05 else "too high" if measured > 0.05 else "no bias"
    if said == truth:
        return True, (f"Measured mean residual {measured:+.2f} target std: {truth}, as the first-order "
                      "arithmetic of a gain predicts for a modest gain.")
    return False, f"You predicted {said!r}; the run measures a mean residual of {measured:+.2f} target std."


@exercise("05.5", "What range of values did the model see in training, and what range do camera images have?")
def _check_serve(fn: Any) -> tuple[bool, str]:
    from .models import predict

    if not callable(fn):
        return False, f"Expected a function serve(model, images), got {type(fn).__name__}."
    model, _, x, _ = _tiny_reader()
    want = predict(model, x / 255)
    got = torch.as_tensor(fn(model, x.round().to(torch.uint8)), dtype=torch.float32)
    if got.shape != want.shape:
        return False, f"Expected predictions of shape {tuple(want.shape)}, got {tuple(got.shape)}."
    if not torch.allclose(got, predict(model, x.round() / 255), atol=1e-4):
        return False, "On camera images (uint8, 0-255) your serve() does not give the model what it was trained on."
    return True, "The serving path now applies the training preprocessing."


# ----- chapter 6 -------------------------------------------------------------------------------


@exercise("06.1", "The numbers 359 and 1 average to 180. Where does the chapter put an angle so that 0° and 360° "
                  "meet, and how does it read an angle back? See 'Angles: the number line is not a circle'.")
def _check_circular_mean(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"Expected a function circular_mean(angles_deg), got {type(fn).__name__}."
    from .heads import angular_error

    gen = torch.Generator().manual_seed(6)
    cases = [(torch.tensor([359.0, 1.0]), 0.0), (torch.tensor([90.0, 180.0]), 135.0),
             (torch.tensor([350.0, 10.0, 20.0]), None)]
    centre = 360 * torch.rand(3, generator=gen)
    for c in centre:
        cases.append(((c + 30 * torch.randn(200, generator=gen)) % 360, None))
    for angles, want in cases:
        if want is None:
            rad = torch.deg2rad(angles)
            want = float(torch.rad2deg(torch.atan2(rad.sin().mean(), rad.cos().mean())) % 360)
        got = float(fn(angles.clone()))
        if not math.isfinite(got) or float(angular_error(torch.tensor([got]), torch.tensor([want]))) > 1e-3:
            if angles.numel() == 2 and abs(got - 180.0) < 1e-3:
                return False, "The mean of 359° and 1° came out as 180°: that is the arithmetic mean of the numbers."
            return False, f"For {angles.numel()} angles your mean is {got:.2f}°, the circular mean is {want:.2f}°."
    return True, "Your circular mean is right, across 0°/360° too."


@exercise("06.2", "Logits are not yet probabilities. Once they are, which read-out does 'Classification, then "
                  "regression' recommend, and why not the most probable bin? One number per image.")
def _check_expected_value(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"Expected a function expected_value(logits, centres), got {type(fn).__name__}."
    gen = torch.Generator().manual_seed(7)
    for n, k in ((5, 3), (40, 10)):
        logits = 2 * torch.randn(n, k, generator=gen)
        centres = torch.linspace(80, 350, k)
        want = logits.softmax(1) @ centres[:, None]
        got = torch.as_tensor(fn(logits.clone(), centres.clone()), dtype=torch.float32)
        if got.numel() != n:
            return False, f"For {n} images your answer has {got.numel()} numbers: one per image."
        if torch.allclose(got.reshape(-1), centres[logits.argmax(1)]):
            return False, "That is the centre of the most probable bin (the arg-max), not the expected value."
        if not torch.allclose(got.reshape(-1), want.reshape(-1), rtol=1e-4, atol=1e-3):
            return False, f"With {k} bins your expected values differ from the reference."
    return True, "Your read-out is the expected value over the bins."


@exercise("06.3", "Work back from the exercise's two costs, 1.8 and 0.2: what multiplies the error of 2 in each "
                  "case, and which side of the target is each prediction on?")
def _check_pinball(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"Expected a function pinball(pred, target, level), got {type(fn).__name__}."
    from .heads import pinball_loss

    known = [((1.0, 3.0, 0.9), 1.8), ((3.0, 1.0, 0.9), 0.2), ((2.0, 2.0, 0.3), 0.0)]
    for (p, t, q), want in known:
        got = float(fn(torch.tensor([p]), torch.tensor([t]), q))
        if not math.isclose(got, want, abs_tol=1e-5):
            if math.isclose(got, abs(t - p) / 2, abs_tol=1e-5):
                return False, f"For pred {p}, target {t} at level {q} you gave half the absolute error: " \
                              "the level must weigh the two sides differently."
            return False, f"For pred {p}, target {t} at level {q} your loss is {got:.3f}, expected {want:.3f}."
    gen = torch.Generator().manual_seed(8)
    pred, target = torch.randn(100, generator=gen), torch.randn(100, generator=gen)
    for q in (0.1, 0.5, 0.95):
        want = float(pinball_loss(pred[:, None], target, [q]))
        if not math.isclose(float(fn(pred.clone(), target.clone(), q)), want, rel_tol=1e-4):
            return False, f"On 100 random pairs at level {q} your mean loss differs from the reference."
    return True, "Your pinball loss matches, for low, middle and high levels."


@exercise("06.4", "Differentiate (log(y + ε) - log(p + ε))² with respect to p and put in p = 0: the factor 1 / (p + ε) "
                  "is what ε controls.")
def _check_gradient_size(answer: Any) -> tuple[bool, str]:
    letter = _letter(answer, "ABC")
    if letter is None:
        return False, "Expected one letter, \"A\", \"B\" or \"C\", written before running the cell."
    pred = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    ((math.log(0.5 + 1e-3) - torch.log(pred + 1e-3)) ** 2).sum().backward()
    size = abs(float(pred.grad))
    nearest = min({"A": 1.0, "B": 4.0, "C": 7.0}.items(), key=lambda kv: abs(kv[1] - math.log10(size)))[0]
    if letter == nearest:
        return True, (f"Measured |gradient| {size:.3g}: ε = 1e-3 caps 1 / (p + ε) at 1000, so the push near 0 is "
                      "far gentler than with ε = 1e-9, yet still thousands of times an MSE gradient.")
    return False, f"You predicted {letter}; the run measures |gradient| {size:.3g}."


@exercise("06.5", "Angles live on a circle: a difference of 358° is a difference of 2°.")
def _check_angle_error(fn: Any) -> tuple[bool, str]:
    from .heads import angular_error

    if not callable(fn):
        return False, f"Expected a function angle_error(pred_deg, true_deg), got {type(fn).__name__}."
    g = torch.Generator().manual_seed(65)
    pred, true = 360 * torch.rand(200, generator=g), 360 * torch.rand(200, generator=g)
    got = torch.as_tensor(fn(pred, true), dtype=torch.float32).reshape(-1)
    if got.shape != pred.shape:
        return False, f"Expected one error per angle ({len(pred)}), got shape {tuple(got.shape)}."
    want = angular_error(pred, true)
    if not torch.allclose(got, want, atol=1e-3):
        i = int((got - want).abs().argmax())
        return False, (f"For a prediction {float(pred[i]):.0f}° and a true {float(true[i]):.0f}° your function gives "
                       f"{float(got[i]):.0f}°, the error on the circle is {float(want[i]):.0f}°.")
    return True, "Errors measured on the circle, never above 180°."


DESIGN_GAUGE_SIZE, DESIGN_GAUGE_TRAIN = 24, 1500


def _gauge_design_errors(encode: Callable[[torch.Tensor], Any], decode: Callable[[torch.Tensor], Any]
                         ) -> tuple[float, float]:
    """Train a SmallCNN briefly on ``encode(angles)``; the test needles' mean error and seam ratio."""
    from .data import make_gauge_dataset
    from .heads import angular_error
    from .models import SmallCNN, predict
    from .train import fit

    x, y = make_gauge_dataset(DESIGN_GAUGE_TRAIN + 500, image_size=DESIGN_GAUGE_SIZE, seed=66)
    x, y = x / 255, y.reshape(-1)
    targets = torch.as_tensor(encode(y[:DESIGN_GAUGE_TRAIN].clone()), dtype=torch.float32)
    targets = targets[:, None] if targets.dim() == 1 else targets
    if targets.dim() != 2 or len(targets) != DESIGN_GAUGE_TRAIN or not torch.isfinite(targets).all():
        raise ValueError(f"encode(angles) must give finite numbers of shape (N,) or (N, k), got {tuple(targets.shape)}")
    torch.manual_seed(66)
    model = SmallCNN(DESIGN_GAUGE_SIZE, targets.shape[1], width=8)
    fit(model, (x[:DESIGN_GAUGE_TRAIN], targets), epochs=8, lr=2e-3, batch_size=64, lr_schedule="cosine",
        seed=66, device="cpu", progress=False)
    test = y[DESIGN_GAUGE_TRAIN:]
    pred = torch.as_tensor(decode(predict(model, x[DESIGN_GAUGE_TRAIN:], device="cpu")), dtype=torch.float32)
    error = angular_error(pred.reshape(-1) % 360, test)
    near_top = angular_error(test, torch.zeros_like(test)) < 30
    return float(error.mean()), float(error[near_top].mean() / error[~near_top].mean())


@exercise("06.6", "Two needles 2° apart on either side of 12 o'clock: how far apart are their targets in your "
                  "encoding, and what does the MSE loss charge for that? Targets that are close wherever the "
                  "needles are close have no seam.")
def _check_gauge_design(answer: Any) -> tuple[bool, str]:
    if not (isinstance(answer, tuple) and len(answer) == 2 and all(callable(f) for f in answer)):
        return False, "Expected a pair of functions (encode, decode): encode(angles_deg) gives the training " \
                      "targets, decode(outputs) gives angles in degrees back."
    mean_error, seam = _gauge_design_errors(*answer)
    measured = f"Trained briefly with MSE on your targets: mean error {mean_error:.1f}°, and the error near " \
               f"12 o'clock is {seam:.2f}× the error elsewhere."
    if mean_error < 8 and seam < 1.5:
        return True, measured
    return False, measured + " A design passes below 8° and 1.5×."


# ----- chapter 7 -------------------------------------------------------------------------------


@exercise("07.1", "Each new channel holds, at every pixel, that pixel's own column (or row) position. Does it "
                  "depend on the image? Then think of the shapes it needs to sit beside the image's channels.")
def _check_add_coords(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"Expected a function add_coords(x), got {type(fn).__name__}."
    from .heads import CoordChannels

    gen = torch.Generator().manual_seed(71)
    for shape in ((2, 1, 5, 7), (3, 4, 8, 8)):
        x = torch.rand(*shape, generator=gen)
        want = CoordChannels()(x)
        got = fn(x.clone())
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            return False, f"For images {tuple(shape)} expected a tensor {tuple(want.shape)}, got " \
                          f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}."
        if not torch.allclose(got[:, :shape[1]], x):
            return False, "The image's own channels must come first, unchanged."
        if torch.allclose(got[:, -2:], want[:, [-1, -2]], atol=1e-5):
            return False, "Your two channels are in the order (y, x): put the column coordinate x first."
        if torch.allclose(got[:, -2:], (want[:, -2:] + 1) / 2, atol=1e-5):
            return False, "Your coordinates run from 0 to 1: CoordConv's (and this book's) run from -1 to 1."
        if not torch.allclose(got, want, atol=1e-5):
            return False, f"For images {tuple(shape)} your coordinate channels differ from the expected ones."
    return True, "Your coordinate channels match course_lib's CoordChannels."


@exercise("07.2", "One probability distribution per map, over all of its pixels; then the mean position under it, "
                  "as 'A heat map and a soft-argmax' defines it. Exercise 7.1 gives every pixel its (x, y).")
def _check_soft_argmax(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"Expected a function soft_argmax(heat), got {type(fn).__name__}."
    from .heads import SoftArgmax2d, coordinate_grid

    gen = torch.Generator().manual_seed(72)
    for h, w in ((6, 6), (5, 9)):
        heat = 3 * torch.randn(4, 1, h, w, generator=gen)
        want = SoftArgmax2d()(heat)
        got = fn(heat.clone())
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            return False, f"For heat maps {(4, 1, h, w)} expected a tensor {tuple(want.shape)}, got " \
                          f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}."
        grid = coordinate_grid(h, w).reshape(2, -1)
        hard = grid[:, heat.reshape(4, -1).argmax(1)].T
        if torch.allclose(got, hard, atol=1e-5):
            return False, "That is the position of the largest value (a hard arg-max): how would a gradient flow " \
                          "through it?"
        if not torch.allclose(got, want, atol=1e-4):
            return False, f"For {h}x{w} maps your positions differ from the expected ones."
    return True, "Your soft-argmax matches course_lib's SoftArgmax2d, and it is differentiable."


DESIGN_IMAGE_SIZE, DESIGN_BOX = 32, 5


@exercise("07.3", "What must a design do so that a rule learnt in three quadrants also holds in the fourth? See "
                  "'Explain: convolutions know what, the dense layer knows where'.")
def _check_quadrant_design(make_model: Any) -> tuple[bool, str]:
    if not callable(make_model) or isinstance(make_model, torch.nn.Module):
        return False, "Expected a function make_model() that returns a new, untrained model."
    from .data import make_position_dataset, position_split
    from .heads import unit_to_pixels
    from .models import predict
    from .train import fit

    x, y_px = make_position_dataset(DESIGN_IMAGE_SIZE, DESIGN_BOX)
    test = position_split(y_px, DESIGN_IMAGE_SIZE, "quadrant")
    y = 2 * y_px / (DESIGN_IMAGE_SIZE - 1) - 1
    torch.manual_seed(7)
    model = make_model()
    if not isinstance(model, torch.nn.Module):
        return False, f"make_model() must return a torch.nn.Module, got {type(model).__name__}."
    fit(model, (x[~test], y[~test]), epochs=30, lr=5e-3, batch_size=64, lr_schedule="cosine", seed=7,
        device="cpu", progress=False)
    error = float((unit_to_pixels(predict(model, x[test], device="cpu"), DESIGN_IMAGE_SIZE) - y_px[test])
                  .norm(dim=1).mean())
    if not error < 1.0:
        return False, f"Trained the chapter's way, your model is off by {error:.2f} pixels on the held-out quadrant."
    return True, f"Trained the chapter's way, your model is off by {error:.2f} pixels on the held-out quadrant."


# ----- chapter 8 -------------------------------------------------------------------------------


@exercise("08.1", "Several findings can follow from one cause. Which finding names something you could change in "
                  "the model's definition, and would make the others go away?")
def _check_root_cause(answer: Any) -> tuple[bool, str]:
    if not isinstance(answer, str):
        return False, f"Expected the name of a check as a string (e.g. 'collapse'), got {type(answer).__name__}."
    if answer == "output_activation":
        return True, "The sigmoid cannot reach 80-350: its outputs saturate, so the predictions collapse and score " \
                     "like the mean. Remove it (or rescale the targets to 0-1) and the symptoms go."
    if answer in ("collapse", "mean_predictor", "overfit_one_batch", "gradients", "dead_relus"):
        return False, f"'{answer}' is a symptom here: it would be there whatever made the outputs unable to move."
    if answer == "target_scale":
        return False, "'target_scale' is true of the data (raw 80-350 targets), but the question asks for a change " \
                      "to the model's definition: which part of the model limits the values it can output?"
    return False, f"'{answer}' is not the cause of this report."


FIX_CHOICES = {"A": "train for more epochs", "B": "feed the served images through the training preprocessing",
               "C": "add dropout", "D": "stretch the predictions to slope 1"}


@exercise("08.2", "The model was not changed between training and serving; what reached it was.")
def _check_fix_choice(answer: Any) -> tuple[bool, str]:
    if not isinstance(answer, str) or answer.strip().upper() not in FIX_CHOICES:
        return False, f"Expected one letter of {sorted(FIX_CHOICES)}."
    if answer.strip().upper() == "B":
        return True, "The served images were divided by 127: one preprocessing object, saved with the model, fixes it."
    return False, f"'{FIX_CHOICES[answer.strip().upper()]}' does not touch the cause: the served images' value range."


@exercise("08.3", "Can the broken model output every value a standardised target takes? Chapter 2's 'Other roads "
                  "to the same symptom' met it. cl.doctor.examine before training tells you if your fix holds.")
def _check_fixed_model(make_model: Any) -> tuple[bool, str]:
    if not callable(make_model) or isinstance(make_model, torch.nn.Module):
        return False, "Expected a function make_model() that returns a new, untrained model."
    from .data import Standardizer, make_dish_dataset, train_val_split
    from .doctor import examine
    from .metrics import r2
    from .models import predict
    from .train import fit

    x, y = make_dish_dataset(1300, image_size=16, seed=8)
    (xt, yt), (xv, yv) = train_val_split(x / 255, y, 300)
    scale = Standardizer().fit(yt)
    train, val = (xt, scale.transform(yt)), (xv, scale.transform(yv))
    torch.manual_seed(8)
    model = make_model()
    if not isinstance(model, torch.nn.Module):
        return False, f"make_model() must return a torch.nn.Module, got {type(model).__name__}."
    fit(model, train, epochs=6, lr=3e-3, batch_size=64, seed=8, device="cpu", progress=False)
    report = examine(model, train, val)
    score = r2(predict(model, val[0], device="cpu"), val[1])
    if report.flagged or score < 0.8:
        return False, f"Trained briefly, your model has validation R² {score:.2f} and the doctor flags " \
                      f"{sorted(report.flagged) or 'nothing'}."
    return True, f"Trained briefly, your model reaches validation R² {score:.2f} and the doctor flags nothing."


# ----- chapter 9 -------------------------------------------------------------------------------

def _reference_noise_floor(first: torch.Tensor, second: torch.Tensor, y: torch.Tensor) -> float:
    return float((first.double() - second.double()).var() / 2 / y.double().var())


@exercise("09.1", "Write each reading as the truth plus its own independent error: what is left in their "
                  "difference? See 'How low can the error go? Label some images twice'.")
def _check_noise_floor(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"Expected a function noise_floor(first, second, y), got {type(fn).__name__}."
    g = torch.Generator().manual_seed(91)
    for k, std in enumerate((5.0, 20.0, 60.0)):
        y = 80 + 270 * torch.rand(400 + 100 * k, generator=g)
        first = y + std * torch.randn(y.shape, generator=g)
        second = y + std * torch.randn(y.shape, generator=g)
        got, want = float(fn(first, second, y)), _reference_noise_floor(first, second, y)
        if not _close(got, want, 1e-4 * max(1.0, abs(want))):
            return False, f"For readings with error {std:g} your function gave {got:.4f}, the right value is {want:.4f}."
    return True, "Your function matches the reference: half the variance of the difference, over Var(y)."


@exercise("09.2", "Lab B's plateau is far above its floor, and its learning rate is fifteen times smaller than lab A's.")
def _check_faster_lab_b(answer: Any) -> tuple[bool, str]:
    pair = _prediction_and_measurement(answer, ("prediction_92", "ratio_92"),
                                       "the measured ratio of validation errors (a number >= 0)", nonnegative=True)
    if isinstance(pair, str):
        return False, pair
    said, ratio = pair
    if not isinstance(said, bool):
        return False, "prediction_92 must be True (below half) or False (not), written before the run."
    below = ratio < 0.5
    if said == below:
        return True, (f"Measured {ratio:.2f} of the plateau: " + (
            "the plateau was the optimiser's, and a larger step removes most of it."
            if below else "it did not fall below half."))
    return False, f"You predicted {'below' if said else 'not below'} half; the run measures {ratio:.2f}."


PLATEAU_READINGS = {"A": (0.12, 0.31, 0.05), "B": (0.30, 0.31, 0.29), "C": (0.30, 0.31, 0.04)}


@exercise("09.3", "Compare the gap between training and validation, then the validation error with the floor.")
def _check_plateau_reading(answer: Any) -> tuple[bool, str]:
    letter = _letter(answer, "".join(PLATEAU_READINGS))
    if letter is None:
        return False, f"Expected one letter of {sorted(PLATEAU_READINGS)}."
    if letter == "B":
        return True, "Team B has no gap and its validation error is within 10% of the floor: better labels, not " \
                     "a better model, would help."
    if letter == "A":
        return False, "Team A's training error is far below its validation error: that is overfitting."
    return False, "Team C has no gap but is far above its floor: it underfits (train longer, a larger step)."
