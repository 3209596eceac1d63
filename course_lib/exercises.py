"""Exercise checks: ``check(exercise_id, answer)`` says right, or wrong with a hint.

A check never lets a student's mistake end in a bare traceback: an answer that raises, has the wrong type or is
missing gets a sentence and a hint. Exercises are data: ``EXERCISES`` holds each one as a kind (:class:`Function`,
:class:`Number`, :class:`Choice`, :class:`PredictThenRun`, :class:`TrainAndScore`) or an :class:`Exercise` with a
checker of its own, with its hint.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from . import data, diagnose, doctor, heads, metrics, models, train
from .report import wrap_text

Checker = Callable[[Any], tuple[bool, str]]
Case = tuple[str, tuple[Any, ...]]  # how a message names a test case, and the arguments


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


def check(exercise_id: str, answer: Any, verbose: bool = True) -> CheckResult:
    """Check ``answer`` to exercise ``exercise_id`` (e.g. ``"01.1"``), print and return the verdict."""
    chapter, _, number = exercise_id.partition(".") if isinstance(exercise_id, str) else ("", "", "")
    if exercise_id not in EXERCISES and chapter.isdigit() and number:  # "3.1", as the page numbers it
        exercise_id = f"{int(chapter):02d}.{number}"
    if exercise_id not in EXERCISES:
        raise ValueError(f"exercise_id must be one of {sorted(EXERCISES)} (or written as the page numbers them, "
                         f"e.g. '3.1'), got {exercise_id!r}")
    ex = EXERCISES[exercise_id]
    if answer is None or answer is Ellipsis:
        result = CheckResult(exercise_id, False, f"No answer yet. Hint: {ex.hint}")
    else:
        try:
            ok, message = ex.check(answer)
        except Exception as exc:  # a student's code may fail in any way: turn it into a hint
            ok, message = False, f"Your answer raised {type(exc).__name__}: {exc}."
        result = CheckResult(exercise_id, ok, message if ok else f"{message} Hint: {ex.hint}")
    if verbose:
        print(wrap_text(str(result)))  # as the page shows it: no horizontal scroll bar
    return result


def _close(a: Any, b: float, tol: float) -> bool:
    return isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a) and abs(a - b) <= tol


def _equal(got: Any, want: Any, rtol: float = 1e-5, atol: float = 1e-5) -> bool:
    if not torch.is_tensor(want):
        return _close(got, float(want), atol + rtol * abs(float(want)))
    return torch.is_tensor(got) and got.shape == want.shape and torch.allclose(got.double(), want.double(), rtol, atol)


def _gives(mistake: Callable[..., Any], rtol: float = 1e-5, atol: float = 1e-5) -> Callable[..., bool]:
    """The test of a known mistake: the answer gives what ``mistake(*args)`` gives."""
    return lambda got, want, *args: _equal(got, mistake(*args), rtol, atol)


def _pick(answer: Any, options: Any) -> Any:
    """``answer`` as one of ``options`` (a string in either case, stripped, or a bool), or None."""
    if isinstance(answer, str):
        return next((a for a in (answer.strip().upper(), answer.strip().lower()) if a in options), None)
    return answer if isinstance(answer, bool) and answer in options else None


# ----- the kinds of exercise ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exercise:
    """An exercise: the hint a wrong answer gets, and ``check(answer) -> (ok, message)`` (here: its ``checker``)."""

    hint: str
    checker: Checker | None = field(default=None, kw_only=True)

    def check(self, answer: Any) -> tuple[bool, str]:
        """``(ok, message)`` for ``answer``."""
        return self.checker(answer)


@dataclass(frozen=True)
class Function(Exercise):
    """A function that gives what ``reference`` gives on each case of ``cases(generator seeded with seed)``, within
    ``tol`` (relative, absolute). On a case where it does not, the first mistake of ``wrong`` whose ``test(got, want,
    *args)`` holds gives its message ("{case}": the case's name); else the message shows the two values."""

    signature: str
    reference: Callable[..., Any]
    cases: Callable[[torch.Generator], list[Case]]
    seed: int = 0
    right: str = "Your function matches the reference on every test case."
    wrong: tuple[tuple[Callable[..., bool], str], ...] = ()
    tol: tuple[float, float] = (1e-5, 1e-5)
    flat: bool = False  # a tensor result may have any shape that holds the right number of values
    same: Callable[[float, float], bool] | None = None  # numbers compared otherwise than on the line

    def check(self, fn: Any) -> tuple[bool, str]:
        """``(ok, message)`` for the function ``fn``."""
        if not callable(fn):
            return False, f"Expected a function {self.signature}, got {type(fn).__name__}."
        for case, args in self.cases(torch.Generator().manual_seed(self.seed)):
            want, answer = self.reference(*args), fn(*(a.clone() if torch.is_tensor(a) else a for a in args))
            tensor = torch.is_tensor(want)
            try:
                got = torch.as_tensor(answer, dtype=torch.float64, device="cpu").detach() if tensor else float(answer)
            except (TypeError, ValueError, RuntimeError):
                shape = f"a tensor of shape {tuple(want.shape)}" if tensor else "one number"
                return False, f"{case} expected {shape}, got {type(answer).__name__}."
            got = got.reshape(want.shape) if tensor and self.flat and got.numel() == want.numel() else got
            if tensor and got.shape != want.shape:
                return False, f"{case} expected a result of shape {tuple(want.shape)}, got {tuple(got.shape)}."
            if not (self.same(got, want) if self.same and math.isfinite(got) else _equal(got, want, *self.tol)):
                if known := next((m.format(case=case) for test, m in self.wrong if test(got, want, *args)), None):
                    return False, known
                if tensor:  # show the value that is furthest off
                    i = int((got - want).abs().flatten().nan_to_num(math.inf).argmax())
                    got, want = got.flatten()[i], want.flatten()[i]
                return False, f"{case} your function gives {float(got):.5g}, where the right value is {float(want):.5g}."
        return True, self.right


@dataclass(frozen=True)
class Number(Exercise):
    """A number within ``tol`` of ``value``; ``wrong`` maps known wrong values to their messages."""

    value: float
    tol: float
    right: str
    what: str  # any other number "is not {what}"
    wrong: dict[float, str] = field(default_factory=dict)

    def check(self, answer: Any) -> tuple[bool, str]:
        """``(ok, message)`` for the number ``answer``."""
        if _close(answer, self.value, self.tol):
            return True, self.right
        return False, next((m for v, m in self.wrong.items() if _close(answer, v, self.tol)),
                           f"{answer!r} is not {self.what}.")


@dataclass(frozen=True)
class Choice(Exercise):
    """One option: ``right``, or a key of ``wrong`` with its message; a letter in either case or, with
    ``letters=False``, any string as written (one not in ``wrong`` "is not {other}")."""

    right: str
    said: str  # the message for the right option
    wrong: dict[str, str]
    letters: bool = True
    other: str = "the answer"
    expected: str = ""  # the message for an answer that is no option ({type}: its type)

    def check(self, answer: Any) -> tuple[bool, str]:
        """``(ok, message)`` for the option ``answer``."""
        options = (self.right, *self.wrong)
        key = _pick(answer, options) if self.letters else answer if isinstance(answer, str) else None
        if key is None:
            expected = self.expected or f"Expected one letter of {sorted(options)}."
            return False, expected.format(type=type(answer).__name__)
        return (True, self.said) if key == self.right else (False, self.wrong.get(key, f"'{key}' is not {self.other}."))


@dataclass(frozen=True)
class PredictThenRun(Exercise):
    """A prediction written before a run: right when it is ``truth(measured)``. The answer is the pair (prediction,
    measured number) that the cell passes, named ``names``; or, with ``run``, the prediction alone, and the check
    runs the measurement. ``options`` are the allowed predictions (a dict: with the words a message says each in);
    ``right`` and ``reading`` are formatted with ``m``, the measurement, and ``outcome``: ``outcomes[truth]``."""

    options: dict[Any, str] | tuple[str, ...]
    truth: Callable[[float], Any]
    right: str
    reading: str  # what the run measured
    names: tuple[str, str] = ("The prediction", "")
    minimum: float = -math.inf  # of the measured number
    run: Callable[[], float] | None = None
    outcomes: dict[Any, str] = field(default_factory=dict)

    def check(self, answer: Any) -> tuple[bool, str]:
        """``(ok, message)`` for the prediction (and the measurement, where the cell passes it) ``answer``."""
        if self.run is None:
            if not isinstance(answer, (tuple, list)) or len(answer) != 2:
                return False, f"Expected the pair ({', '.join(self.names)}) that the cell passes."
            answer, m = answer
            if not _close(m, 0.0, math.inf) or m < self.minimum:  # a finite number, at least the minimum
                at_least = f" >= {self.minimum:g}" if self.minimum > -math.inf else ""
                return False, f"{self.names[1]} must be the number the run measured (finite{at_least})."
        if (said := _pick(answer, self.options)) is None:
            return False, f"{self.names[0]} must be one of {list(self.options)}, written before running the cell."
        truth = self.truth(m := self.run() if self.run else float(m))
        words = {"m": m, "outcome": self.outcomes.get(truth, truth)}
        if said == truth:
            return True, self.right.format(**words)
        said = self.options[said] if isinstance(self.options, dict) else said
        return False, f"You predicted {said}; the run measures {self.reading.format(**words)}."


@dataclass(frozen=True)
class TrainAndScore(Exercise):
    """A design put to work the chapter's way and measured: ``measure(answer) -> (ok, what it measured)``. With
    ``seed``, the answer is ``make_model``, and the model it returns, built under ``seed``, is measured; else
    ``accepts(answer)`` says whether the answer has the right form (else ``expected``; {type}: its type)."""

    measure: Checker
    seed: int | None = None
    accepts: Callable[[Any], bool] = callable
    expected: str = "Expected a function make_model() that returns a new, untrained model."

    def check(self, answer: Any) -> tuple[bool, str]:
        """``(ok, message)`` for the design ``answer``."""
        if not self.accepts(answer) or (self.seed is not None and isinstance(answer, nn.Module)):
            return False, self.expected.format(type=type(answer).__name__)
        if self.seed is not None:
            torch.manual_seed(self.seed)
            if not isinstance(answer := answer(), nn.Module):
                return False, f"make_model() must return a torch.nn.Module, got {type(answer).__name__}."
        return self.measure(answer)


# ----- test cases, measurements and the checks with logic of their own --------------------------------------------

def _pairs(g: torch.Generator) -> list[Case]:
    cases = []
    for i in range(3):
        y = 10 * torch.rand(50 + 10 * i, generator=g) + 3
        cases.append(("On a test case", (y + torch.randn(y.shape, generator=g) * (i + 1) + i, y)))
    return cases


def _tiny_reader() -> tuple[nn.Module, data.Standardizer, torch.Tensor, torch.Tensor]:
    """A fixed linear model on 8×8 images, a target scaler, and raw images and targets."""
    g = torch.Generator().manual_seed(15)
    x, y = 255 * torch.rand(40, 3, 8, 8, generator=g), 100 + 30 * torch.randn(40, 2, generator=g)
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 2))
    with torch.no_grad():
        model[1].weight.copy_(0.05 * torch.randn(2, 192, generator=g))
        model[1].bias.zero_()
    return model.eval(), data.Standardizer().fit(y), x, y


def _probs(n: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (2 * torch.randn(n, k, generator=g)).softmax(1), torch.randint(0, k, (n,), generator=g)


def _coverage_cases(g: torch.Generator) -> list[Case]:
    mean, std = torch.randn(400, 1, generator=g), 0.5 + torch.rand(400, 1, generator=g)
    target = mean + 0.8 * std * torch.randn(400, 1, generator=g)
    return [(f"At level {level}", (mean, std, target, level)) for level in (0.5, 0.8, 0.95)]


def _c4_cases(g: torch.Generator) -> list[Case]:
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(1))
    model(x := torch.rand(6, 3, 8, 8, generator=g))  # materialises the lazy layer
    return [("For 6 images", (model, x)), ("For the same images turned by 90°", (model, x.rot90(1, (-2, -1))))]


def _c4_mean(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        want = torch.stack([model.eval()(torch.rot90(x, k, dims=(-2, -1))) for k in range(4)]).mean(0)
    model.train()  # as the student's function gets the model
    return want


def _angle_cases(g: torch.Generator) -> list[Case]:
    angles = [torch.tensor([359.0, 1.0]), torch.tensor([90.0, 180.0]), torch.tensor([350.0, 10.0, 20.0])]
    angles += [(c + 30 * torch.randn(200, generator=g)) % 360 for c in 360 * torch.rand(3, generator=g)]
    return [(f"For {len(a)} angles", (a,)) for a in angles]


def _pinball_cases(g: torch.Generator) -> list[Case]:
    pred, target = torch.randn(100, generator=g), torch.randn(100, generator=g)
    return [(f"For pred {p}, target {t} at level {q}", (torch.tensor([p]), torch.tensor([t]), q))
            for p, t, q in ((1.0, 3.0, 0.9), (3.0, 1.0, 0.9), (2.0, 2.0, 0.3))] + [
        (f"On 100 random pairs at level {q}", (pred, target, q)) for q in (0.1, 0.5, 0.95)]


def _readings(g: torch.Generator) -> list[Case]:
    cases = []
    for k, s in enumerate((5.0, 20.0, 60.0)):
        y = 80 + 270 * torch.rand(400 + 100 * k, generator=g)
        first, second = (y + s * torch.randn(y.shape, generator=g) for _ in "12")
        cases.append((f"For readings with error {s:g}", (first, second, y)))
    return cases


def _fit(model: nn.Module, train_set: Any, fit: Callable[..., Any] = train.fit, **kwargs: Any) -> Any:
    return fit(model, train_set, batch_size=64, device="cpu", progress=False, **kwargs)


def _nearest(values: dict[str, float], x: float) -> str:
    return min(values, key=lambda k: abs(values[k] - x))


def _r2_of_noisy_predictions() -> float:
    g = torch.Generator().manual_seed(14)
    y = 80 + 270 * torch.rand(20_000, 1, generator=g, dtype=torch.float64)
    return metrics.r2(y + y.std() * torch.randn(y.shape, generator=g, dtype=torch.float64), y)


def _log_gradient_at_zero() -> float:
    pred = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    ((math.log(0.5 + 1e-3) - torch.log(pred + 1e-3)) ** 2).sum().backward()
    return abs(float(pred.grad))


def _shrunk_predictor(answer: Any) -> tuple[bool, str]:
    if not isinstance(answer, dict) or not {"slope", "r2"} <= set(answer):
        return False, "Expected a dict with keys 'slope' and 'r2'."
    if wrong := [k for k, v in (("slope", 0.5), ("r2", 0.75)) if not _close(answer[k], v, 0.01)]:
        return False, f"Your {' and '.join(wrong)} is off."
    return True, "Slope 0.5 and R² 0.75: a shrunk predictor keeps a high R² with a slope far from 1."


def _slopes_under_noise(answer: Any) -> tuple[bool, str]:
    said = tuple(_pick(a, ("A", "B", "C")) for a in answer) if isinstance(answer, (tuple, list)) else ()
    if len(said) != 2 or None in said:
        return False, "Expected two letters, e.g. (\"A\", \"C\"): one for each slope."
    before, after = (metrics.slope_report(*data.simulate_best_predictor(100_000, noise_std=s, seed=34))
                     for s in (0.5, 1.0))
    keys = ("pred_on_target_slope", "target_on_pred_slope")
    truth = tuple("A" if after[k] - before[k] > 0.05 else "B" if after[k] - before[k] < -0.05 else "C" for k in keys)
    numbers = (f"prediction on target {before[keys[0]]:.2f} -> {after[keys[0]]:.2f}, "
               f"calibration {before[keys[1]]:.2f} -> {after[keys[1]]:.2f}")
    if said == truth:
        return True, f"Measured: {numbers}. The shrinkage follows R² down; the best predictor stays calibrated."
    return False, f"Not both right: the run measures {numbers}."


def _table(answers: dict[str, Any], right: str) -> Checker:
    """The check of a table: a dict with exactly the keys of ``answers``, each with its answer."""

    def check_table(answer: Any) -> tuple[bool, str]:
        if not isinstance(answer, dict) or set(answer) != set(answers):
            return False, f"Expected a dict with exactly the keys {sorted(answers)}."
        wrong = [k for k, v in answers.items() if type(answer[k]) is not type(v) or answer[k] != v]
        return (False, f"Not right for: {', '.join(sorted(wrong))}.") if wrong else (True, right)

    return check_table


def _linear_output(answer: Any) -> tuple[bool, str]:
    pred, target = (torch.as_tensor(a, dtype=torch.float64) for a in answer)
    if pred.shape != target.shape:
        return False, f"pred and target shapes differ: {tuple(pred.shape)} and {tuple(target.shape)}."
    if float(pred.min()) >= 0.0 and float(target.min()) < 0.0:
        return False, "No prediction is negative although targets are: is there still a ReLU on the output?"
    if (score := metrics.r2(pred, target)) <= 0.9:
        return False, f"Validation R² is {score:.3f}; it should exceed 0.9."
    return True, f"Validation R² {score:.3f} with predictions on both sides of 0."


def _recalibrate(fn: Callable[..., Any]) -> tuple[bool, str]:
    f, y = data.simulate_best_predictor(20_000, noise_std=0.7, seed=35)
    pred, cal, new = 1.2 * f + 0.3, slice(0, 10_000), slice(10_000, None)  # over-confident and shifted
    line = metrics.linear_fit(pred[cal], y[cal])
    best, before = metrics.mse(line["intercept"] + line["slope"] * pred[new], y[new]), metrics.mse(pred[new], y[new])
    got = torch.as_tensor(fn(pred[cal], y[cal], pred[new]), dtype=torch.float64).reshape(-1)
    if got.shape != y[new].shape:
        return False, f"Expected {len(y[new])} recalibrated predictions, got shape {tuple(got.shape)}."
    if (score := metrics.mse(got, y[new])) > 1.01 * best:
        return False, (f"Recalibrated MSE {score:.3f} on new data, where the calibration line reaches {best:.3f} "
                       f"(unrecalibrated: {before:.3f}).")
    return True, f"MSE on new data {score:.3f}, down from {before:.3f}: the calibration line."


def _row_augmentation(augment: Callable[..., Any]) -> tuple[bool, str]:
    x, y = data.make_box_dataset(1500, image_size=16, box_size=3, seed=45)
    if torch.equal(augment(x[:64] / 255, torch.Generator().manual_seed(45)), x[:64] / 255):
        return False, "Your augmentation leaves every image as it was: it adds no views of the data."
    (xt, yt), (xv, yv) = data.train_val_split(x / 255, y[:, 1:], 500)
    torch.manual_seed(45)
    model, _ = _fit(models.SmallCNN(16, 1, width=8), (xt, yt), train.fit_scaled, epochs=6, lr=3e-3, augment=augment,
                    seed=45)
    if (score := metrics.r2(models.predict(model, xv), yv)) <= 0.9:
        return False, f"Trained with your augmentation, the row is read with validation R² {score:.2f} (need > 0.9)."
    return True, f"Validation R² {score:.3f} for the row: your augmentation adds views and keeps the target true."


DESIGN_GAUGE_SIZE, DESIGN_GAUGE_TRAIN = 24, 1500
DESIGN_IMAGE_SIZE, DESIGN_BOX = 32, 5


def _gauge_design(design: tuple[Callable[..., Any], Callable[..., Any]]) -> tuple[bool, str]:
    """Train a SmallCNN briefly on ``encode(angles)``; measure the test needles' mean error and seam ratio."""
    (encode, decode), n = design, DESIGN_GAUGE_TRAIN
    x, y = data.make_gauge_dataset(n + 500, image_size=DESIGN_GAUGE_SIZE, seed=66)
    x, y = x / 255, y.reshape(-1)
    targets = torch.as_tensor(encode(y[:n].clone()), dtype=torch.float32)
    targets = targets[:, None] if targets.dim() == 1 else targets
    if targets.dim() != 2 or len(targets) != n or not torch.isfinite(targets).all():
        raise ValueError(f"encode(angles) must give finite numbers of shape (N,) or (N, k), got {tuple(targets.shape)}")
    torch.manual_seed(66)
    model = models.SmallCNN(DESIGN_GAUGE_SIZE, targets.shape[1], width=8)
    _fit(model, (x[:n], targets), epochs=8, lr=2e-3, lr_schedule="cosine", seed=66)
    pred = torch.as_tensor(decode(models.predict(model, x[n:], device="cpu")), dtype=torch.float32)
    error = heads.angular_error(pred.reshape(-1) % 360, y[n:])
    near_top = heads.angular_error(y[n:], torch.zeros_like(y[n:])) < 30
    mean, seam = float(error.mean()), float(error[near_top].mean() / error[~near_top].mean())
    said = (f"Trained briefly with MSE on your targets: mean error {mean:.1f}°, and the error near 12 o'clock is "
            f"{seam:.2f}× the error elsewhere.")
    return (True, said) if mean < 8 and seam < 1.5 else (False, said + " A design passes below 8° and 1.5×.")


def _quadrant_design(model: nn.Module) -> tuple[bool, str]:
    x, y_px = data.make_position_dataset(DESIGN_IMAGE_SIZE, DESIGN_BOX)
    test = data.position_split(y_px, DESIGN_IMAGE_SIZE, "quadrant")
    _fit(model, (x[~test], 2 * y_px[~test] / (DESIGN_IMAGE_SIZE - 1) - 1), epochs=30, lr=5e-3, lr_schedule="cosine",
         seed=7)
    pred = heads.unit_to_pixels(models.predict(model, x[test], device="cpu"), DESIGN_IMAGE_SIZE)
    error = float((pred - y_px[test]).norm(dim=1).mean())
    return error < 1.0, f"Trained the chapter's way, your model is off by {error:.2f} pixels on the held-out quadrant."


def _fixed_model(model: nn.Module) -> tuple[bool, str]:
    x, y = data.make_dish_dataset(1300, image_size=16, seed=8)
    (xt, yt), (xv, yv) = data.train_val_split(x / 255, y, 300)
    scale = data.Standardizer().fit(yt)
    fit_set, val = (xt, scale.transform(yt)), (xv, scale.transform(yv))
    _fit(model, fit_set, epochs=6, lr=3e-3, seed=8)
    flagged = doctor.examine(model, fit_set, val).flagged
    score = metrics.r2(models.predict(model, val[0], device="cpu"), val[1])
    ok = not flagged and score >= 0.8
    return ok, (f"Trained briefly, your model {'reaches' if ok else 'has'} validation R² {score:.2f} and the doctor "
                f"flags {sorted(flagged) or 'nothing'}.")


INVARIANCE_ANSWERS = {"dish concentration": True, "box x-centre": False, "box y-centre": True,
                      "clock hand angle": False, "number of cells in a dish": True}
REMEDY_ANSWERS = {"trained on x / 255, served x / 127": "A", "test photos taken under a brighter lamp": "B",
                  "90%-confident classes right 70% of the time": "C", "95% intervals hold 60% of test targets": "D",
                  "rare high concentrations predicted too low": "E"}
FIX_CHOICES = {"A": "train for more epochs", "B": "feed the served images through the training preprocessing",
               "C": "add dropout", "D": "stretch the predictions to slope 1"}
PLATEAU_READINGS = {"A": (0.12, 0.31, 0.05), "B": (0.30, 0.31, 0.29), "C": (0.30, 0.31, 0.04)}


def _any(*_: Any) -> bool:
    """The test of a mistake that is any mismatch, for a message that fits them all."""
    return True


EXERCISES: dict[str, Exercise] = {
    "01.1": Function("R² = 1 - sum((y - pred)**2) / sum((y - mean(y))**2): the mean is the target's.",
                     "my_r2(pred, target)", metrics.r2, _pairs, 1234, tol=(1e-6, 1e-6)),
    "01.2": Function("The best constant is the mean of y; its MSE is the mean of (y - mean(y))**2, i.e. Var(y).",
                     "mean_predictor_mse(y)", metrics.baseline_mse, lambda g: [(c, a[1:]) for c, a in _pairs(g)], 1234,
                     tol=(1e-6, 1e-6)),
    "01.3": Exercise("Write pred - mean(y) in terms of y - mean(y); the residual pred - y follows, and with it the MSE "
                     "and R². cl.metrics.slope_summary gives both numbers.", checker=_shrunk_predictor),
    "01.4": PredictThenRun(
        "What is the MSE of these predictions? Compare it with Var(y), then use R² = 1 - MSE / Var(y).", ("A", "B", "C"),
        lambda m: _nearest({"A": 0.5, "B": 0.0, "C": -1.0}, m), "Measured R² {m:.2f}. The noise adds its whole "
        "variance, Var(y), to the MSE: predictions that follow the targets on average can still score no better than "
        "the mean.", "R² {m:.2f}", run=_r2_of_noisy_predictions),
    "01.5": Function(
        "The model was trained on standardised targets. In which units are its outputs, and in which are the targets "
        "you compare them with?", "validation_mse(model, scaler, x, y)",
        lambda m, s, x, y: metrics.mse(s.inverse_transform(models.predict(m, x / 255)), y),
        lambda g: [("On a test model", _tiny_reader())], tol=(1e-4, 0),
        right="The predictions are mapped back to the targets' units before they are compared.",
        wrong=((_gives(lambda m, s, x, y: metrics.mse(models.predict(m, x / 255), y), 1e-4, 0),
                "That is still the buggy number: the outputs and the targets are in different units."),)),
    "02.1": Number("Expand mean((y - c)**2) = Var(y) + (mean(y) - c)**2: the second term vanishes at c = mean(y).",
                   4.0, 1e-6, "c = mean(y) = 4, and the loss there is Var(y) = 12.5.",
                   "the constant that minimises the squared error",
                   {2.5: "2.5 is the median, the best constant for the absolute error (MAE), not for MSE."}),
    "02.2": Function("The spread ratio is std(pred) / std(target); near 0 means the model has collapsed.",
                     "spread(pred, target)", diagnose.spread_ratio, _pairs, 1234, tol=(1e-4, 1e-4)),
    "02.3": TrainAndScore("Keep the output layer linear (no ReLU after the last nn.Linear) and train as in the fix.",
                          _linear_output, accepts=lambda a: isinstance(a, (tuple, list)) and len(a) == 2,
                          expected="Expected a pair (pred, target) of validation predictions and targets."),
    "02.4": PredictThenRun(
        "Standardised targets are negative about half the time. What can a ReLU output for those?",
        {True: "a pass", False: "a failure"}, lambda m: m < 0.1, "Measured loss / Var {m:.2f} after 100 steps: "
        "{outcome}.", "loss / Var {m:.2f}", ("prediction_24", "ratio_24"), 0, outcomes={
            True: "it passes",
            False: "it fails, before any real training: no weight can make a ReLU output a negative target"}),
    "03.1": Number("Write the slope as Cov(pred, y) / Var(y) and use y = pred + e, with the error e uncorrelated with "
                   "the best prediction.", 0.64, 0.005, "Slope = R² = 0.64: an honest predictor is flatter than y = x.",
                   "the slope", {1.0: "1 is the slope of target on prediction, not of prediction on target."}),
    "03.2": Function("Regress the target on the prediction: slope = cov(pred, y) / var(pred).",
                     "calibration_slope(pred, target)", lambda p, y: metrics.linear_fit(p, y)["slope"], _pairs, 1234,
                     wrong=((_gives(lambda p, y: metrics.linear_fit(y, p)["slope"]),
                             "You regressed the prediction on the target: swap the roles."),)),
    "03.3": Number("Stretched: p' - mean = f / R², so p' - y = f (1/R² - 1) - e; square and average.", 2.0, 0.05,
                   "MSE' = Var(y)(1 - R²)/R², twice the MSE Var(y)(1 - R²) when R² = 0.5.", "the factor"),
    "03.4": Exercise("Try it: cl.data.simulate_best_predictor at both noise levels, and cl.slope_report for both "
                     "slopes.", checker=_slopes_under_noise),
    "03.5": TrainAndScore(
        "Which line maps a prediction to the expected target: the one fitted with the target on the y-axis, or the "
        "inverse of the one fitted with the prediction on the y-axis?", _recalibrate,
        expected="Expected a function recalibrate_line(pred_cal, y_cal, pred_new), got {type}."),
    "04.1": Function(
        "A mirror maps the column x to image_size - 1 - x; the row y does not move.", "flip_target(y, image_size)",
        lambda y, size: torch.stack([size - 1 - y[:, 0], y[:, 1]], dim=1),
        lambda g: [(f"For {s}×{s} images", (data.make_box_dataset(20, image_size=s, seed=s)[1], s)) for s in (16, 24)],
        tol=(1e-5, 1e-4), right="Your targets follow the box into the mirrored image, for any image size.",
        wrong=((lambda got, want, *_: _equal(got[:, 1], want[:, 1], 1e-5, 1e-4),
                "The row is right but the column is not where the box is in the mirrored image."),)),
    "04.2": Exercise("Ask: if I mirror the picture left-right, does the true answer change?", checker=_table(
        INVARIANCE_ANSWERS, "Only targets that a mirror leaves unchanged may be augmented with mirrors as they are.")),
    "04.3": Function(
        "Average model(torch.rot90(x, k, dims=(-2, -1))) over k = 0, 1, 2, 3, in eval mode.", "c4_tta(model, x)",
        _c4_mean, _c4_cases, 5, "Your TTA prediction is the same for an image and its quarter turns.",
        ((_any, "Your average differs from the mean prediction over the 4 rotations (is the model in eval mode?)."),)),
    "04.4": PredictThenRun(
        "Write the TTA prediction for a transformed image g·x as a mean over h of f(h·g·x). As h runs over the 8 "
        "elements, which elements does h·g run over?", ("A", "B"), lambda m: "A" if m < 1e-3 else "B",
        "Measured {m:.1e}: averaging over the whole group makes any model exactly invariant, at 8 forward passes per "
        "image.", "an invariance error of {m:.1e}", ("prediction_44", "change_44")),
    "04.5": TrainAndScore(
        "Which transforms leave a square's row where it was? Try your choice with cl.plots.show_augmentations on a "
        "few boxes first.", _row_augmentation, expected="Expected an augmentation function (x, generator) -> x, got "
        "{type}."),
    "05.1": Function(
        "For each sample, sum over the classes (p_k - onehot_k)², then average over the samples.",
        "brier(probs, labels)", metrics.brier_score, lambda g: [(f"For {n} samples and {k} classes", _probs(n, k, s))
                                                                for n, k, s in ((50, 3, 1), (80, 5, 2))],
        right="Your Brier score matches for 3 and 5 classes.", tol=(1e-4, 1e-6),
        wrong=((_gives(lambda p, y: metrics.brier_score(p, y) / p.shape[1], 1e-4),
                "Your value is the score divided by the number of classes: sum over classes, do not average."),)),
    "05.2": Function(
        "A central interval of probability level reaches from the (1 - level)/2 to the (1 + level)/2 quantile: "
        "z = cl.metrics.gaussian_quantile(0.5 + level / 2).", "coverage(mean, std, target, level)",
        metrics.interval_coverage, _coverage_cases, 3, "Your coverage matches at the 50%, 80% and 95% levels.",
        tol=(0, 1e-6)),
    "05.3": Exercise("Ask which step of the pipeline the symptom comes from: preprocessing, the data the model saw, "
                     "or the size of its probabilities and intervals.", checker=_table(
                         REMEDY_ANSWERS, "Each symptom has its remedy: only the first is fixed by the preprocessing "
                                         "alone.")),
    "05.4": PredictThenRun(
        "A division by 200 is a gain of 255 / 200 on every input, the same kind of change as a brighter lamp. What "
        "did this model learn darker liquid means?", ("too low", "too high", "no bias"),
        lambda m: "too low" if m < -0.05 else "too high" if m > 0.05 else "no bias",
        "Measured mean residual {m:+.2f} target std: {outcome}, as the first-order arithmetic of a gain predicts for a "
        "modest gain.", "a mean residual of {m:+.2f} target std", ("prediction_54", "shift_54")),
    "05.5": Function(
        "What range of values did the model see in training, and what range do camera images have?",
        "serve(model, images)", lambda m, images: models.predict(m, images / 255),
        lambda g: [("On camera images (uint8, 0-255)", (r[0], r[2].round().to(torch.uint8))) for r in [_tiny_reader()]],
        right="The serving path now applies the training preprocessing.", tol=(1e-5, 1e-4),
        wrong=((_any, "On camera images (uint8, 0-255) your serve() does not give the model what it was trained on."),)),
    "06.1": Function(
        "The numbers 359 and 1 average to 180. Where does the chapter put an angle so that 0° and 360° meet, and how "
        "does it read an angle back? See 'Angles: the number line is not a circle'.", "circular_mean(angles_deg)",
        lambda a: round(math.degrees(math.atan2(*(f(torch.deg2rad(a.double())).mean() for f in (torch.sin, torch.cos)))),
                        9) % 360, _angle_cases, 6, "Your circular mean is right, across 0°/360° too.",
        ((lambda got, want, a: len(a) == 2 and abs(got - 180) < 1e-3,
          "The mean of 359° and 1° came out as 180°: that is the arithmetic mean of the numbers."),),
        same=lambda got, want: float(heads.angular_error(torch.tensor([got]), torch.tensor([want]))) <= 1e-3),
    "06.2": Function(
        "Logits are not yet probabilities. Once they are, which read-out does 'Classification, then regression' "
        "recommend, and why not the most probable bin? One number per image.", "expected_value(logits, centres)",
        lambda logits, c: logits.softmax(1) @ c[:, None],
        lambda g: [(f"With {k} bins", (2 * torch.randn(n, k, generator=g), torch.linspace(80, 350, k)))
                   for n, k in ((5, 3), (40, 10))], 7, "Your read-out is the expected value over the bins.",
        ((_gives(lambda logits, c: c[logits.argmax(1)][:, None]),
          "That is the centre of the most probable bin (the arg-max), not the expected value."),),
        tol=(1e-4, 1e-3), flat=True),
    "06.3": Function(
        "Work back from the exercise's two costs, 1.8 and 0.2: what multiplies the error of 2 in each case, and which "
        "side of the target is each prediction on?", "pinball(pred, target, level)",
        lambda p, t, q: float(heads.pinball_loss(p[:, None], t, [q])), _pinball_cases, 8,
        "Your pinball loss matches, for low, middle and high levels.",
        ((_gives(lambda p, t, q: float((t - p).abs().mean() / 2)),
          "{case} you gave half the absolute error: the level must weigh the two sides differently."),),
        tol=(1e-4, 1e-5)),
    "06.4": PredictThenRun(
        "Differentiate (log(y + ε) - log(p + ε))² with respect to p and put in p = 0: the factor 1 / (p + ε) is what "
        "ε controls.", ("A", "B", "C"), lambda m: _nearest({"A": 1.0, "B": 4.0, "C": 7.0}, math.log10(m)),
        "Measured |gradient| {m:.3g}: ε = 1e-3 caps 1 / (p + ε) at 1000, so the push near 0 is far gentler than with "
        "ε = 1e-9, yet still thousands of times an MSE gradient.", "|gradient| {m:.3g}", run=_log_gradient_at_zero),
    "06.5": Function(
        "Angles live on a circle: a difference of 358° is a difference of 2°.", "angle_error(pred_deg, true_deg)",
        heads.angular_error, lambda g: [("For 200 pairs of angles", (360 * torch.rand(200, generator=g),
                                                                     360 * torch.rand(200, generator=g)))],
        65, "Errors measured on the circle, never above 180°.", tol=(1e-5, 1e-3), flat=True),
    "06.6": TrainAndScore(
        "Two needles 2° apart on either side of 12 o'clock: how far apart are their targets in your encoding, and "
        "what does the MSE loss charge for that? Targets that are close wherever the needles are close have no seam.",
        _gauge_design, accepts=lambda a: isinstance(a, tuple) and len(a) == 2 and all(callable(f) for f in a),
        expected="Expected a pair of functions (encode, decode): encode(angles_deg) gives the training targets, "
                 "decode(outputs) gives angles in degrees back."),
    "07.1": Function(
        "Each new channel holds, at every pixel, that pixel's own column (or row) position. Does it depend on the "
        "image? Then think of the shapes it needs to sit beside the image's channels.", "add_coords(x)",
        heads.CoordChannels(), lambda g: [(f"For images {s}", (torch.rand(*s, generator=g),))
                                          for s in ((2, 1, 5, 7), (3, 4, 8, 8))],
        71, "Your coordinate channels match course_lib's CoordChannels.", (
            (lambda got, want, x: not _equal(got[:, :x.shape[1]], x),
             "The image's own channels must come first, unchanged."),
            (lambda got, want, x: _equal(got[:, -2:], want[:, [-1, -2]]),
             "Your two channels are in the order (y, x): put the column coordinate x first."),
            (lambda got, want, x: _equal(got[:, -2:], (want[:, -2:] + 1) / 2),
             "Your coordinates run from 0 to 1: CoordConv's (and this book's) run from -1 to 1."))),
    "07.2": Function(
        "One probability distribution per map, over all of its pixels; then the mean position under it, as 'A heat "
        "map and a soft-argmax' defines it. Exercise 7.1 gives every pixel its (x, y).", "soft_argmax(heat)",
        heads.SoftArgmax2d(), lambda g: [(f"For {h}x{w} maps", (3 * torch.randn(4, 1, h, w, generator=g),))
                                         for h, w in ((6, 6), (5, 9))],
        72, "Your soft-argmax matches course_lib's SoftArgmax2d, and it is differentiable.",
        ((_gives(lambda heat: heads.coordinate_grid(*heat.shape[2:]).flatten(1)[:, heat.flatten(1).argmax(1)].T),
          "That is the position of the largest value (a hard arg-max): how would a gradient flow through it?"),),
        tol=(1e-5, 1e-4)),
    "07.3": TrainAndScore("What must a design do so that a rule learnt in three quadrants also holds in the fourth? "
                          "See 'Explain: convolutions know what, the dense layer knows where'.", _quadrant_design, 7),
    "08.1": Choice(
        "Several findings can follow from one cause. Which finding names something you could change in the model's "
        "definition, and would make the others go away?", "output_activation",
        "The sigmoid cannot reach 80-350: its outputs saturate, so the predictions collapse and score like the mean. "
        "Remove it (or rescale the targets to 0-1) and the symptoms go.",
        {**{s: f"'{s}' is a symptom here: it would be there whatever made the outputs unable to move."
            for s in ("collapse", "mean_predictor", "overfit_one_batch", "gradients", "dead_relus")},
         "target_scale": "'target_scale' is true of the data (raw 80-350 targets), but the question asks for a change "
                         "to the model's definition: which part of the model limits the values it can output?"},
        False, "the cause of this report", "Expected the name of a check as a string (e.g. 'collapse'), got {type}."),
    "08.2": Choice("The model was not changed between training and serving; what reached it was.", "B",
                   "The served images were divided by 127: one preprocessing object, saved with the model, fixes it.",
                   {k: f"'{v}' does not touch the cause: the served images' value range."
                    for k, v in FIX_CHOICES.items() if k != "B"}),
    "08.3": TrainAndScore(
        "Can the broken model output every value a standardised target takes? Chapter 2's 'Other roads to the same "
        "symptom' met it. cl.doctor.examine before training tells you if your fix holds.", _fixed_model, 8),
    "09.1": Function(
        "Write each reading as the truth plus its own independent error: what is left in their difference? See 'How "
        "low can the error go? Label some images twice'.", "noise_floor(first, second, y)",
        lambda a, b, y: float((a.double() - b.double()).var() / 2 / y.double().var()), _readings, 91,
        "Your function matches the reference: half the variance of the difference, over Var(y).", tol=(1e-4, 1e-4)),
    "09.2": PredictThenRun(
        "Lab B's plateau is far above its floor, and its learning rate is fifteen times smaller than lab A's.",
        {True: "below half", False: "not below half"}, lambda m: m < 0.5, "Measured {m:.2f} of the plateau: {outcome}",
        "{m:.2f}", ("prediction_92", "ratio_92"), 0, outcomes={
            True: "the plateau was the optimiser's, and a larger step removes most of it.",
            False: "it did not fall below half."}),
    "09.3": Choice("Compare the gap between training and validation, then the validation error with the floor.", "B",
                   "Team B has no gap and its validation error is within 10% of the floor: better labels, not a better "
                   "model, would help.",
                   {"A": "Team A's training error is far below its validation error: that is overfitting.",
                    "C": "Team C has no gap but is far above its floor: it underfits (train longer, a larger step)."}),
    "10.1": Function(
        "Standardising divided every target by its standard deviation, and an MSE is in squared units: undo both.",
        "rmse_in_units(mse_std, y)", lambda m, y: float((m * y.double().var()) ** 0.5),
        lambda g: [(f"For MSE {m} on targets of spread {s}", (m, 80 + s * torch.rand(300, generator=g)))
                   for m, s in ((0.3, 270.0), (0.05, 100.0))], 101, "The same MSE in the target's own units.",
        ((_gives(lambda m, y: float(m * y.double().std()), 1e-2, 1e-2),
          "{case} you scaled the MSE by the standard deviation: an MSE scales with Var(y), then take the root."),),
        tol=(1e-2, 1e-2)),  # Var(y) with or without Bessel's correction
    "10.2": PredictThenRun(
        "Which angles resample the image, and which only move whole pixels?", {True: "at least 3×", False: "under 3×"},
        lambda m: m >= 3, "Measured {m:.2f}: {outcome}", "{m:.2f}", ("prediction_102", "ratio_102"), 0, outcomes={
            True: "the half turn raises the error as much as 45° does.",
            False: "a half turn moves every pixel centre onto a pixel centre: nothing is interpolated."}),
    "10.3": Choice("The training dishes already come at every angle. What is new in the turned test photographs?", "B",
                   "The turned photographs are resampled; a model that never saw resampled images is thrown by the "
                   "blur, not the angle. Train on the same resampling, then compare.",
                   {"A": "The training data already shows every angle: what the model has not seen is the "
                         "interpolation, which an equivariant network would not remove either, by this reasoning.",
                    "C": "Longer training on sharp images does not show the model a resampled one."}),
}
