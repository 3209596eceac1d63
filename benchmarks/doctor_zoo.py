"""Validate the regression doctor on a zoo of planted problems and healthy setups.

Each planted setup trains (or builds) a model with one known pitfall; each healthy setup is a
pipeline the book recommends. For every setup and seed, ``cl.doctor.examine`` runs and we record
which checks it flagged (a problem or a warning). Detection rate: the fraction of a planted
setup's runs in which its own check is flagged. False-alarm rate: the fraction of healthy runs in
which anything is flagged. Results go to ``benchmarks/doctor_zoo.json``:

    python benchmarks/doctor_zoo.py              # seeds 0, 1, 2, and the timing
    python benchmarks/doctor_zoo.py --seeds 0-4 --zoo      # the zoo only (e.g. beside other jobs)
    python benchmarks/doctor_zoo.py --timing               # the timing only, on an idle machine
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import course_lib as cl  # noqa: E402

OUT = ROOT / "benchmarks" / "doctor_zoo.json"
SIZE, N_TRAIN, N_VAL = 16, 800, 400


def _boxes(seed: int) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    x, y = cl.make_box_dataset(N_TRAIN + N_VAL, image_size=SIZE, seed=seed, origin="centre")
    return cl.train_val_split(x, y, N_VAL)


def _dishes(seed: int, n_train: int = N_TRAIN, **kw: object):
    x, y = cl.make_dish_dataset(n_train + N_VAL, image_size=SIZE, seed=seed, **kw)
    return cl.train_val_split(x, y, N_VAL)


def _fit(model: nn.Module, train, epochs: int = 6, lr: float = 3e-3, seed: int = 0) -> nn.Module:
    cl.fit(model, train, epochs=epochs, lr=lr, batch_size=64, seed=seed, progress=False, device="cpu")
    return model


def _healthy_boxes(seed):
    (xt, yt), (xv, yv) = _boxes(seed)
    torch.manual_seed(seed)
    net, _ = cl.fit_scaled(cl.SmallCNN(SIZE, 2, width=8), (xt, yt), epochs=8, lr=3e-3, batch_size=64, seed=seed,
                           progress=False, device="cpu")
    return net, (xt, yt), (xv, yv)


def _healthy_dishes(seed):
    (xt, yt), (xv, yv) = _dishes(seed)
    torch.manual_seed(seed)
    net, _ = cl.fit_scaled(cl.SmallCNN(SIZE, 1, width=8), (xt, yt), epochs=8, lr=3e-3, batch_size=64, seed=seed,
                           progress=False, device="cpu")
    return net, (xt, yt), (xv, yv)


def _healthy_scaled_by_hand(seed):
    (xt, yt), (xv, yv) = _boxes(seed)
    scale = cl.Standardizer().fit(yt)
    torch.manual_seed(seed)
    net = _fit(cl.init_output_bias(cl.models.KerasBoxCNN(SIZE), 0.0), (xt / 255, scale.transform(yt)), epochs=10,
               lr=1e-3, seed=seed)
    return net, (xt / 255, scale.transform(yt)), (xv / 255, scale.transform(yv))


def _healthy_positions(seed):
    x, y_px = cl.data.make_position_dataset(SIZE, 3)
    y = cl.heads.pixels_to_unit(y_px, SIZE)
    test = cl.data.position_split(y_px, SIZE, "uniform", seed=seed)
    torch.manual_seed(seed)
    net = _fit(cl.models.HeatmapNet(), (x[~test], y[~test]), epochs=30, lr=5e-3, seed=seed)
    return net, (x[~test], y[~test]), (x[test], y[test])


def _healthy_gauges(seed):
    x, a = cl.data.make_gauge_dataset(N_TRAIN + N_VAL, image_size=24, seed=seed)
    y = cl.heads.angle_to_sincos(a)
    (xt, yt), (xv, yv) = cl.train_val_split(x / 255, y, N_VAL)
    torch.manual_seed(seed)
    net = _fit(cl.SmallCNN(24, 2, width=8), (xt, yt), epochs=8, seed=seed)
    return net, (xt, yt), (xv, yv)


def _standard(seed):
    """A healthy box model and its standardised data, the base most plants start from."""
    (xt, yt), (xv, yv) = _boxes(seed)
    scale = cl.Standardizer().fit(yt)
    train, val = (xt / 255, scale.transform(yt)), (xv / 255, scale.transform(yv))
    torch.manual_seed(seed)
    return _fit(cl.SmallCNN(SIZE, 2, width=8), train, seed=seed), train, val


def _broadcast(seed):
    (xt, yt), (xv, yv) = _boxes(seed)
    scale = cl.Standardizer().fit(yt)
    torch.manual_seed(seed)
    net = cl.SmallCNN(SIZE, 1, width=8)
    return net, (xt / 255, scale.transform(yt)[:, 0]), (xv / 255, scale.transform(yv)[:, 0])


def _relu_output(seed):
    net, train, val = _standard(seed)
    return nn.Sequential(net, nn.ReLU()), train, val


def _sigmoid_output(seed):
    (xt, yt), (xv, yv) = _dishes(seed)
    torch.manual_seed(seed)
    net = nn.Sequential(cl.SmallCNN(SIZE, 1, width=8), nn.Sigmoid())
    return net, (xt / 255, yt), (xv / 255, yv)


def _raw_pixels(seed):
    (xt, yt), (xv, yv) = _boxes(seed)
    scale = cl.Standardizer().fit(yt)
    torch.manual_seed(seed)
    net = _fit(cl.SmallCNN(SIZE, 2, width=8), (xt, scale.transform(yt)), seed=seed)
    return net, (xt, scale.transform(yt)), (xv, scale.transform(yv))


def _raw_targets(seed):
    (xt, yt), (xv, yv) = _dishes(seed)
    torch.manual_seed(seed)
    net = _fit(cl.SmallCNN(SIZE, 1, width=8), (xt / 255, yt), seed=seed)
    return net, (xt / 255, yt), (xv / 255, yv)


def _dead_relus(seed):
    net, train, val = _standard(seed)
    with torch.no_grad():
        net.head[-3].bias.fill_(-1e3)  # the dense layer's units never fire again
    return net, train, val


def _collapsed(seed):
    """The question's pipeline of chapter 2, from an initialisation that collapsed (searched for)."""
    (xt, yt), (xv, yv) = _boxes(seed)
    for r in range(20):
        torch.manual_seed(1000 * seed + r)
        net = _fit(cl.models.KerasBoxCNN(SIZE), (xt, yt), epochs=4, lr=0.05, seed=r)
        if cl.diagnose.spread_ratio(cl.predict(net, xv), yv) < 0.05:
            return net, (xt, yt), (xv, yv)
    raise RuntimeError("no collapsed run found in 20 initialisations")


def _overfitting(seed):
    (xt, yt), (xv, yv) = _dishes(seed, n_train=150, cue="shape")
    scale = cl.Standardizer().fit(yt)
    train, val = (xt / 255, scale.transform(yt)), (xv / 255, scale.transform(yv))
    torch.manual_seed(seed)
    return _fit(cl.models.VGGLike(SIZE, 1, width=8, dropout=0.0), train, epochs=60, lr=2e-3, seed=seed), train, val


def _value_range(seed):
    net, (xt, yt), (xv, yv) = _standard(seed)
    return net, (xt, yt), (xv * 255 / 127, yv)


def _lighting_shift(seed):
    (xt, yt), _ = _dishes(seed, lighting=(0.7, 0.9))
    _, (xv, yv) = _dishes(seed + 100, lighting=(1.2, 1.3))
    scale = cl.Standardizer().fit(yt)
    torch.manual_seed(seed)
    net = _fit(cl.SmallCNN(SIZE, 1, width=8), (xt / 255, scale.transform(yt)), seed=seed)
    return net, (xt / 255, scale.transform(yt)), (xv / 255, scale.transform(yv))


def _miscalibrated(seed):
    net, train, val = _standard(seed)
    stretch = nn.Linear(2, 2)
    with torch.no_grad():
        stretch.weight.copy_(1.6 * torch.eye(2))
        stretch.bias.zero_()
    return nn.Sequential(net, stretch), train, val


def _frozen(seed):
    net, train, val = _standard(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(0.0)
    for p in net.parameters():
        p.requires_grad_(False)
    return nn.Sequential(net, nn.Linear(2, 2)), train, val


def _held_out_quadrant(seed):
    """Chapter 7: a flatten-and-dense CNN, validated on the quadrant of positions it never saw."""
    x, y_px = cl.data.make_position_dataset(SIZE, 3)
    y = cl.heads.pixels_to_unit(y_px, SIZE)
    test = cl.data.position_split(y_px, SIZE, "quadrant")
    torch.manual_seed(seed)
    net = _fit(cl.SmallCNN(SIZE, 2, width=8, in_channels=1), (x[~test], y[~test]), epochs=30, lr=5e-3, seed=seed)
    return net, (x[~test], y[~test]), (x[test], y[test])


def deep_mlp(layers: int, width: int, gain: float, activation: type[nn.Module],
             in_features: int = 3 * SIZE * SIZE, n_outputs: int = 2) -> nn.Sequential:
    """A deep fully connected net (by default on 16x16 boxes), each hidden layer's weights drawn
    with std ``gain / sqrt(fan_in)`` and zero biases, no normalisation: the setting where
    gradients vanish or explode. Also used by ``tests/test_doctor.py``."""
    mods: list[nn.Module] = [nn.Flatten()]
    fan_in = in_features
    for _ in range(layers):
        lin = nn.Linear(fan_in, width)
        with torch.no_grad():
            lin.weight.normal_(0.0, gain / fan_in ** 0.5)
            lin.bias.zero_()
        mods += [lin, activation()]
        fan_in = width
    return nn.Sequential(*mods, nn.Linear(fan_in, n_outputs))


def _vanishing(seed):
    """Ten sigmoid layers: each passes back at most a quarter of the gradient it receives."""
    _, train, val = _standard(seed)
    torch.manual_seed(seed)
    return deep_mlp(10, 64, 1.0, nn.Sigmoid), train, val


def _exploding(seed):
    """Ten ReLU layers initialised 2.5x too large (He's gain is sqrt(2)): the signal grows layer by layer."""
    _, train, val = _standard(seed)
    torch.manual_seed(seed)
    return deep_mlp(10, 64, 2.5, nn.ReLU), train, val


def _rare_end(seed):
    """Chapter 5: 200 training dishes, most weak, strong ones rare (skew 8: two or three in the top
    tenth of the range), with some label noise; the validation dishes, like the questions asked of
    the model later, cover the whole range evenly. With 400 training dishes (five or so in the top
    tenth) the model often read the strong ones well enough: the pitfall was not always there."""
    (xt, yt), _ = _dishes(seed, n_train=200, skew=8.0, label_noise=10.0)
    _, (xv, yv) = _dishes(seed + 100, label_noise=10.0)
    torch.manual_seed(seed)
    net, _ = cl.fit_scaled(cl.SmallCNN(SIZE, 1, width=8), (xt, yt), epochs=8, lr=3e-3, batch_size=64, seed=seed,
                           progress=False, device="cpu")
    return net, (xt, yt), (xv, yv)


PLANTED: dict[str, tuple[Callable, str]] = {
    "broadcast loss (targets (N,) against outputs (N, 1))": (_broadcast, "shapes"),
    "ReLU on the output, standardised targets": (_relu_output, "output_activation"),
    "sigmoid on the output, targets 80-350": (_sigmoid_output, "output_activation"),
    "raw 0-255 pixels": (_raw_pixels, "input_scale"),
    "targets 80-350 not standardised": (_raw_targets, "target_scale"),
    "dense layer dead (bias -1000)": (_dead_relus, "dead_relus"),
    "the question's collapsed run (chapter 2)": (_collapsed, "collapse"),
    "VGG-like on 150 images (overfitting)": (_overfitting, "overfitting"),
    "validation divided by 127, training by 255": (_value_range, "value_range"),
    "validation photographed under a brighter lamp": (_lighting_shift, "input_shift"),
    "predictions stretched 1.6x (miscalibrated)": (_miscalibrated, "calibration"),
    "a model that cannot learn (frozen weights)": (_frozen, "overfit_one_batch"),
    "plain CNN validated on a held-out quadrant (chapter 7)": (_held_out_quadrant, "overfitting"),
    "ten sigmoid layers (vanishing gradients)": (_vanishing, "gradients"),
    "ten ReLU layers initialised 2.5x too large (exploding gradients)": (_exploding, "gradients"),
    "strong dishes rare in training (chapter 5's rare end)": (_rare_end, "rare_ends"),
}
# Planted problems whose detection does not yet meet the bar (at least 90%) are run and recorded
# apart, under "studied", so that their rate is known. None at present: chapter 5's rare end was
# here at 400 training dishes (4 of 5 found), because the pitfall itself was not always there
# (on some seeds the model read the rare strong dishes as well as the common weak ones).
STUDIED: dict[str, tuple[Callable, str]] = {}
HEALTHY: dict[str, Callable] = {
    "SmallCNN on boxes, fit_scaled": _healthy_boxes,
    "SmallCNN on dishes, fit_scaled": _healthy_dishes,
    "KerasBoxCNN, the fixed pipeline": _healthy_scaled_by_hand,
    "HeatmapNet on positions": _healthy_positions,
    "SmallCNN on gauge (sin, cos)": _healthy_gauges,
}


def run(seeds: list[int]) -> dict:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    planted, studied, healthy, times = {}, {}, {}, []
    for name, (make, check) in {**PLANTED, **STUDIED}.items():
        hits, also = [], {}
        for seed in seeds:
            model, train, val = make(seed)
            start = time.perf_counter()
            report = cl.doctor.examine(model, train, val, overfit_seconds=2.0)
            times.append(time.perf_counter() - start)
            hits.append(check in report.flagged)
            for other in report.flagged - {check}:
                also[other] = also.get(other, 0) + 1
            print(f"{name:<55} seed {seed}: {'found' if hits[-1] else 'MISSED'} {sorted(report.flagged)}",
                  flush=True)
        (planted if name in PLANTED else studied)[name] = {"check": check, "detected": sum(hits), "runs": len(hits),
                         "detection_rate": sum(hits) / len(hits), "also_flagged": dict(sorted(also.items()))}
    for name, make in HEALTHY.items():
        alarms = []
        for seed in seeds:
            model, train, val = make(seed)
            start = time.perf_counter()
            report = cl.doctor.examine(model, train, val, overfit_seconds=2.0)
            times.append(time.perf_counter() - start)
            alarms.append(sorted(report.flagged))
            print(f"{name:<55} seed {seed}: {alarms[-1] or 'clean'}", flush=True)
        healthy[name] = {"alarms": alarms, "runs": len(alarms),
                         "false_alarm_rate": sum(bool(a) for a in alarms) / len(alarms)}
    runs = sum(h["runs"] for h in healthy.values())
    first, last = seeds[0], seeds[-1]
    seed_arg = f"{first}-{last}" if seeds == list(range(first, last + 1)) else ",".join(map(str, seeds))
    return {
        "_about": {"command": f"python benchmarks/doctor_zoo.py --seeds {seed_arg}", "seeds": seeds,
                   "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "threads": torch.get_num_threads(),
                   "doc": "detection rate per planted problem; false-alarm rate (any problem or warning) on healthy "
                          "setups; examine() seconds with the 2 s overfit-one-batch check; examine() seconds "
                          "without it on 3,000 + 1,000 images of 32x32 and of 64x64 (SmallCNN width 16 trained "
                          "for one epoch), measured apart (--timing) on an otherwise idle machine"},
        "planted": planted,
        "studied": studied,
        "healthy": healthy,
        "false_alarm_rate": sum(sum(bool(a) for a in h["alarms"]) for h in healthy.values()) / runs,
        "examine_seconds_max": max(times),
    }


def book_size_seconds() -> dict[str, float]:
    """examine() seconds at the book's size without the checks that train: 3,000 training and 1,000
    validation images of 32x32 and of 64x64, a model trained for one epoch (so that its
    predictions are not constant)."""
    book_size_seconds = {}
    for image_size in (32, 64):
        x, y = cl.make_box_dataset(4000, image_size=image_size, seed=0)
        (xt, yt), (xv, yv) = cl.train_val_split(x / 255, y, 1000)
        torch.manual_seed(0)
        big, _ = cl.fit_scaled(cl.SmallCNN(image_size, 2, width=16), (xt, yt), epochs=1, seed=0, progress=False,
                               device="cpu")
        start = time.perf_counter()
        cl.doctor.examine(big, (xt, yt), (xv, yv))
        book_size_seconds[f"{image_size}px"] = time.perf_counter() - start
    return book_size_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0-2", help="e.g. 0-2 or 0,3,5")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--zoo", action="store_true", help="only the zoo (keep the file's timing)")
    parser.add_argument("--timing", action="store_true", help="only the book-size timing (keep the file's zoo)")
    args = parser.parse_args()
    if args.timing:
        result = json.loads(args.out.read_text())
        result["examine_seconds_book_size"] = book_size_seconds()
        result["book_size_threads"] = torch.get_num_threads()
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}: {result['examine_seconds_book_size']}")
        return 0
    seeds: list[int] = []
    for part in args.seeds.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    result = run(seeds)
    if args.zoo and args.out.exists():
        old = json.loads(args.out.read_text())
        result.update({k: old[k] for k in ("examine_seconds_book_size", "book_size_threads") if k in old})
    else:
        result["examine_seconds_book_size"] = book_size_seconds()
        result["book_size_threads"] = torch.get_num_threads()
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
