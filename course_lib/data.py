"""Synthetic image-regression datasets, made on the fly and seeded (no downloads).

Every generator is vectorised (no Python loop over images), returns raw pixel values in
[0, 255] as ``float32`` tensors of shape (N, 3, H, W), and gives bit-identical output for the
same seed on the same machine. The one exception is :func:`make_position_dataset`, which draws
nothing: it lists every position of a white square once, as 0/1 pixels in one channel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._checks import (
    as_edges,
    check_args,
    check_finite,
    check_images,
    check_number,
    check_positive_int,
    number,
    one_of,
    positive_int,
)

DATASETS = ("boxes", "dishes", "gauges")
CONCENTRATION_RANGE = (80.0, 350.0)
_NOISE_STREAM = 0x6E6F697365  # "noise": names the random stream of :func:`noisy_labels`


def _generator(seed: int) -> torch.Generator:
    check_positive_int(seed, "seed", minimum=0)
    return torch.Generator().manual_seed(int(seed))


def make_box_dataset(n: int, image_size: int = 32, box_size: int | None = None, seed: int = 0,
                     background: str = "black", origin: str = "corner") -> tuple[torch.Tensor, torch.Tensor]:
    """Images with one coloured square on a plain background; target its (x, y) centre in pixels.

    This is the task of the Keras question behind chapter 2. Returns ``x`` of shape
    (n, 3, image_size, image_size) with raw pixel values in [0, 255] and ``y`` of shape (n, 2)
    holding the centre (column, row) of the square, in pixels.

    * ``background``: ``'black'`` (a bright square on black) or ``'white'`` (a dark square on
      white, like a drawing on paper).
    * ``origin``: ``'corner'`` measures the centre from the top-left pixel; ``'centre'`` measures
      it from the image centre, so the targets have mean about 0 (as in the Keras question).
    """
    n = check_positive_int(n, "n")
    image_size = check_positive_int(image_size, "image_size", minimum=4)
    box_size = max(2, image_size // 8) if box_size is None else check_positive_int(box_size, "box_size")
    if box_size >= image_size:
        raise ValueError(f"box_size must be smaller than image_size ({image_size}), got {box_size}")
    if background not in ("black", "white"):
        raise ValueError(f"background must be 'black' or 'white', got {background!r}")
    if origin not in ("corner", "centre"):
        raise ValueError(f"origin must be 'corner' or 'centre', got {origin!r}")
    g = _generator(seed)
    span = image_size - box_size + 1
    left = torch.randint(0, span, (n,), generator=g)
    top = torch.randint(0, span, (n,), generator=g)
    colour = 128.0 + 127.0 * torch.rand(n, 3, generator=g)
    pos = torch.arange(image_size)
    in_x = (pos[None, :] >= left[:, None]) & (pos[None, :] < left[:, None] + box_size)
    in_y = (pos[None, :] >= top[:, None]) & (pos[None, :] < top[:, None] + box_size)
    mask = (in_y[:, :, None] & in_x[:, None, :]).float()
    if background == "white":
        x = 255.0 - mask[:, None] * (255.0 - colour[:, :, None, None] + 128.0)
    else:
        x = mask[:, None] * colour[:, :, None, None]
    centre = (box_size - 1) / 2.0
    y = torch.stack([left + centre, top + centre], dim=1).float()
    if origin == "centre":
        y = y - (image_size - 1) / 2.0
    return x.float(), y


def _dish_colour(t: torch.Tensor) -> torch.Tensor:
    """Liquid colour (RGB in [0, 1]) for concentration fraction t in [0, 1]: straw yellow to purple."""
    low = torch.tensor([0.92, 0.82, 0.30])
    high = torch.tensor([0.45, 0.12, 0.55])
    return low + t[:, None] * (high - low)


GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma: what a grayscale conversion keeps
# Two liquid colours of equal luma: a reddish and a bluish-green one. Every mix of the two has the
# same luma, so in grayscale the liquid looks the same at every concentration (cue='hue').
_HUE_LOW = (0.80, 0.36, 0.40)
_HUE_HIGH = (0.20, 0.6268, 0.60)
DISH_CUES = ("colour", "shape", "darkness", "hue")

_RIM_RGB = (0.95, 0.95, 0.95)
_TAB_RGB = (0.15, 0.35, 0.75)
_UNIFORM_BYTE_STD = math.sqrt((256**2 - 1) / 12)  # standard deviation of a uniform random byte


class _DishCanvas:
    """Work buffers for drawing dishes a chunk at a time, allocated once per dataset.

    The dataset is generated on the fly, so every chapter pays for its speed. Drawing writes into
    these buffers with ``out=`` and in-place operations: a fresh megabyte-sized tensor per
    operation costs more in page faults than the arithmetic itself.
    """

    def __init__(self, chunk: int, size: int) -> None:
        self.size = size
        self.coords = (torch.arange(size) + 0.5) / size * 2 - 1
        plane = (chunk, size, size)
        self.cu, self.cv, self.r2 = torch.empty(plane), torch.empty(plane), torch.empty(plane)
        self.mask, self.test, self.label = torch.empty(plane), torch.empty(plane), torch.empty(plane)
        self.rows = torch.empty(plane, dtype=torch.int32)
        self.rgb = torch.empty(chunk * size * size, 3)
        self.noise_bits = torch.empty(chunk * 3 * size * size // 8 + 1, dtype=torch.int64)
        self.noise = torch.empty(chunk, 3, size, size)

    def regions(self, t: torch.Tensor, angle: torch.Tensor, flip: torch.Tensor, cx: torch.Tensor,
                cy: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
        """Label each pixel (m, S, S, float): 0 table, 1 rim, 2 label tab, 3 liquid, 4 precipitate.

        Coordinates are in units of each dish's radius, in the dish's own rotated, mirrored frame
        (u across, v down): a per-pixel coordinate is a row term plus a column term.
        """
        m = t.shape[0]
        cu, cv, r2, mask, test, label = (b[:m] for b in (self.cu, self.cv, self.r2, self.mask, self.test,
                                                          self.label))
        rad = radius[:, None, None]
        du = (self.coords[None, None, :] - cx[:, None, None]) / rad  # (m, 1, S): along a row
        dv = (self.coords[None, :, None] - cy[:, None, None]) / rad  # (m, S, 1): down a column
        cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
        f = flip[:, None, None]
        u_row, u_col = f * cos * du, f * sin * dv
        v_row, v_col = -sin * du, cos * dv
        torch.add(u_row, u_col, out=cu)
        torch.add(v_row, v_col, out=cv)
        torch.mul(cu, cu, out=r2).addcmul_(cv, cv)

        torch.lt(r2, 1.0, out=label)  # dish (rim and inside): 1
        torch.lt(r2, 0.88**2, out=mask)  # liquid: 1 + 2
        label.add_(mask, alpha=2)
        edge = 0.75 - 0.9 * t[:, None, None]  # the precipitate's edge moves in as t rises: + 1
        torch.add(u_row - edge, u_col, out=test).gt_(0).mul_(mask)
        label.add_(test.mul_(torch.gt(cv, -0.6, out=mask)))
        torch.gt(cu, 0.1, out=test).mul_(torch.lt(cu, 0.5, out=mask))  # the label tab, below the rim: 2
        test.mul_(torch.lt(cv, -1.0, out=mask))
        test.mul_(torch.add(v_row + 1 + 0.18 / rad, v_col, out=mask).gt_(0))
        return label.add_(test, alpha=2)

    def draw(self, t: torch.Tensor, liquid_rgb: torch.Tensor, angle: torch.Tensor, flip: torch.Tensor,
             cx: torch.Tensor, cy: torch.Tensor, radius: torch.Tensor, gain: torch.Tensor, tint: torch.Tensor,
             grad_dir: torch.Tensor, grad_amp: torch.Tensor, table: torch.Tensor, out: torch.Tensor
             ) -> torch.Tensor:
        """Draw dishes with the given per-image parameters into ``out`` (m, 3, S, S), in [0, ~330].

        Each region has one colour per image (a palette of 5), scaled by the exposure and white
        balance and multiplied by a linear lighting gradient. No noise, no clamping.
        """
        m, size = t.shape[0], self.size
        label = self.regions(t, angle, flip, cx, cy, radius)
        palette = torch.stack([table, torch.tensor(_RIM_RGB).expand(m, 3), torch.tensor(_TAB_RGB).expand(m, 3),
                               liquid_rgb, liquid_rgb * 0.55 + 0.25], dim=1)  # (m, 5 regions, 3)
        palette = palette * (255.0 * gain[:, None] * tint)[:, None, :]
        rows = self.rows[:m].copy_(label.add_(5 * torch.arange(m)[:, None, None]))  # each pixel's palette row
        rgb = torch.index_select(palette.reshape(-1, 3), 0, rows.view(-1), out=self.rgb[:m * size * size])
        a = grad_amp[:, None, None]  # the lighting gradient, written into the mask buffer (regions are done)
        light = torch.add(1 + a * torch.cos(grad_dir)[:, None, None] * self.coords[None, None, :],
                          a * torch.sin(grad_dir)[:, None, None] * self.coords[None, :, None], out=self.mask[:m])
        return torch.mul(rgb.view(m, size, size, 3).permute(0, 3, 1, 2), light[:, None], out=out)

    def add_noise(self, out: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
        """Add zero-mean uniform noise of standard deviation ``std`` to ``out`` in place.

        The noise is random bytes, eight per 64-bit draw of the generator: several times cheaper
        than Gaussian noise, which cost more than drawing the dish.
        """
        m = out.shape[0]
        k = out.numel()
        bits = self.noise_bits[:(k + 7) // 8].random_(-2**63, None, generator=generator)
        noise = self.noise[:m].copy_(bits.view(torch.int8)[:k].view(out.shape)).add_(0.5)  # -127.5 .. 127.5
        return out.add_(noise, alpha=std / _UNIFORM_BYTE_STD)


def make_dish_dataset(n: int, image_size: int = 32, seed: int = 0, label_noise: float = 0.0,
                      pixel_noise: float = 6.0, skew: float = 1.0,
                      lighting: tuple[float, float] = (0.65, 1.15), cue: str = "colour"
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """A round dish photographed at a random rotation and flip; target a concentration in 80..350.

    The concentration sets the colour of the liquid and the width of a crescent of precipitate on
    one side of the dish. Nuisances: the dish's rotation (any angle) and mirror flip, its position
    and size, the overall lighting and white balance, a lighting gradient, a label tab on the rim
    (so the picture is not symmetric) and pixel noise (uniform, zero mean, standard deviation
    ``pixel_noise`` grey levels: cheaper to draw than Gaussian noise). The white rim is a colour
    reference, so the concentration can be read despite the lighting, but only by a model that
    compares regions.

    ``label_noise`` (in concentration units) adds noise to the target that no image shows, which
    caps the R² any model can reach (chapter 3). ``cue='shape'`` gives the liquid a random
    colour, so the concentration must be read from the shape of the precipitate alone, a harder,
    orientation-dependent task (chapter 4). ``skew > 1`` makes high concentrations rare (the
    concentration fraction is a uniform number raised to the power ``skew``), an imbalanced
    regression target (chapter 5). ``lighting`` is the range of the overall exposure factor
    (a narrow range makes a model rely on absolute brightness, chapter 5). ``cue='darkness'``
    keeps one hue and darkens the liquid as the concentration rises (light absorbed by the
    solution), with a precipitate that carries no information, so a brighter picture looks like a
    lower concentration (chapter 5). ``cue='hue'`` mixes two liquid colours of equal luma
    (:data:`GRAY_WEIGHTS`) and gives the precipitate no information: the hue is the only cue, and a
    grayscale copy of the picture (:func:`to_grayscale`) has none (chapter 9). Returns ``x`` (n, 3, S, S) in [0, 255] and ``y`` (n, 1).
    """
    n, size, label_noise, pixel_noise, skew, cue = check_args(
        DISH_RULES, n=n, image_size=image_size, label_noise=label_noise, pixel_noise=pixel_noise,
        skew=skew, cue=cue)
    if not isinstance(lighting, (tuple, list)) or len(lighting) != 2:
        raise TypeError(f"lighting must be a pair (low, high), got {lighting!r}")
    light_lo = check_number(lighting[0], "lighting[0]", low=0.0)
    light_hi = check_number(lighting[1], "lighting[1]", low=light_lo)
    g = _generator(seed)
    t = torch.rand(n, generator=g) ** skew
    params = _dish_nuisances(n, g, light_lo, light_hi)
    liquid_rgb, shape_t = _dish_liquid(cue, t, g)
    x = _draw_dishes(size, shape_t, (liquid_rgb, *params), pixel_noise, g)
    lo, hi = CONCENTRATION_RANGE
    y = lo + (hi - lo) * t
    if label_noise > 0:
        y = y + label_noise * torch.randn(n, generator=g)
    return x, y.float()[:, None]


DISH_RULES = {"n": positive_int(), "image_size": positive_int(8), "label_noise": number(low=0.0),
              "pixel_noise": number(low=0.0), "skew": number(low=0.1, high=10.0), "cue": one_of(*DISH_CUES)}


def _dish_nuisances(n: int, g: torch.Generator, light_lo: float, light_hi: float) -> tuple[torch.Tensor, ...]:
    """What varies between photographs but not with the concentration, drawn in a fixed order."""
    def uniform(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(*(shape or (n,)), generator=g)

    angle = uniform(0.0, 2 * math.pi)
    flip = (torch.rand(n, generator=g) < 0.5).float() * 2 - 1
    cx, cy = uniform(-0.08, 0.08), uniform(-0.08, 0.08)
    radius = uniform(0.62, 0.74)
    gain = uniform(light_lo, light_hi)
    tint = uniform(0.9, 1.1, n, 3)
    grad_dir = uniform(0.0, 2 * math.pi)
    grad_amp = uniform(0.0, 0.25)
    table = uniform(0.25, 0.45, n)[:, None] * torch.tensor([1.0, 0.85, 0.7])
    return angle, flip, cx, cy, radius, gain, tint, grad_dir, grad_amp, table


def _dish_liquid(cue: str, t: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The liquid's colour (n, 3) and the fraction that sets the precipitate, for the ``cue``."""
    n = t.shape[0]
    colour_t = torch.rand(n, generator=g) if cue == "shape" else t  # shape: a colour that says nothing
    if cue == "darkness":  # one hue; the liquid absorbs more light as the concentration rises
        return torch.tensor([0.80, 0.45, 0.85]) * (1 - 0.75 * t[:, None]), torch.rand(n, generator=g)
    if cue == "hue":  # equal-luma colours: the hue is the only cue, the precipitate says nothing
        low, high = torch.tensor(_HUE_LOW), torch.tensor(_HUE_HIGH)
        return low + t[:, None] * (high - low), torch.rand(n, generator=g)
    return _dish_colour(colour_t), t


def _draw_dishes(size: int, shape_t: torch.Tensor, params: tuple[torch.Tensor, ...], pixel_noise: float,
                 g: torch.Generator) -> torch.Tensor:
    """Draw the dishes a chunk at a time, add pixel noise and clamp to [0, 255]."""
    n = shape_t.shape[0]
    chunk = 64  # draw, add noise and clamp a chunk at a time into the output, reusing work buffers
    canvas = _DishCanvas(min(chunk, n), size)
    x = torch.empty(n, 3, size, size)
    for i in range(0, n, chunk):
        out = x[i:i + chunk]
        canvas.draw(shape_t[i:i + chunk], *(p[i:i + chunk] for p in params), out=out)
        if pixel_noise > 0:
            canvas.add_noise(out, pixel_noise, g)
        out.clamp_(0.0, 255.0)
    return x


def make_gauge_dataset(n: int, image_size: int = 32, seed: int = 0, pixel_noise: float = 10.0
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """An analogue dial with one needle; target the needle's direction in degrees, in [0, 360).

    The angle is measured clockwise from 12 o'clock, like a compass heading, so 359° and 1° are
    two degrees apart on the dial but 358 apart as numbers (chapter 6). The needle is a bright
    line from the centre nearly to the rim, with a small counterweight behind the centre; the
    dial's position, size and brightness vary a little, and uniform pixel noise of standard
    deviation ``pixel_noise`` grey levels is added. Returns ``x`` (n, 3, S, S) in [0, 255] and
    ``y`` (n, 1).
    """
    n = check_positive_int(n, "n")
    size = check_positive_int(image_size, "image_size", minimum=8)
    pixel_noise = check_number(pixel_noise, "pixel_noise", low=0.0)
    g = _generator(seed)
    angle = 360.0 * torch.rand(n, generator=g)
    cx, cy = (torch.rand(2, n, generator=g) - 0.5) * 0.1
    radius = 0.75 + 0.15 * torch.rand(n, generator=g)
    face = 150.0 + 60.0 * torch.rand(n, generator=g)
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1  # pixel centres in [-1, 1]
    row, col = coords[None, :, None] - cy[:, None, None], coords[None, None, :] - cx[:, None, None]
    rad = torch.deg2rad(angle)[:, None, None]
    along = col * torch.sin(rad) - row * torch.cos(rad)  # towards the needle's tip (row 0 is the top)
    across = col * torch.cos(rad) + row * torch.sin(rad)
    r = radius[:, None, None]
    dist = (row ** 2 + col ** 2).sqrt()
    width = 1.5 / size
    needle = ((across.abs() < width) & (along > -0.25 * r) & (along < 0.85 * r)).float()
    dial = (dist < r).float()
    grey = 40.0 + dial * (face[:, None, None] - 40.0)
    grey = grey * (1 - needle) + 20.0 * needle  # a dark needle on a light face
    x = grey[:, None].expand(n, 3, size, size).clone()
    x[:, 0] += 25.0 * needle  # a reddish needle
    if pixel_noise > 0:
        x += pixel_noise * math.sqrt(3.0) * (2 * torch.rand(x.shape, generator=g) - 1)
    return x.clamp_(0.0, 255.0), angle[:, None]


def make_position_dataset(image_size: int = 32, box_size: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Every position of a white square on a black image, once: the Not-so-Clevr-like set of chapter 7.

    Returns ``x`` (P, 1, image_size, image_size) with pixel values 0 or 1 and ``y`` (P, 2), the
    square's centre (column, row) in pixels, for all P = (image_size - box_size + 1)² positions in
    row-major order. Split it by position with :func:`position_split`.
    """
    image_size = check_positive_int(image_size, "image_size", minimum=4)
    box_size = check_positive_int(box_size, "box_size")
    if box_size >= image_size:
        raise ValueError(f"box_size must be smaller than image_size ({image_size}), got {box_size}")
    span = image_size - box_size + 1
    top, left = torch.meshgrid(torch.arange(span), torch.arange(span), indexing="ij")
    top, left = top.reshape(-1), left.reshape(-1)
    pos = torch.arange(image_size)
    in_x = (pos[None, :] >= left[:, None]) & (pos[None, :] < left[:, None] + box_size)
    in_y = (pos[None, :] >= top[:, None]) & (pos[None, :] < top[:, None] + box_size)
    x = (in_y[:, :, None] & in_x[:, None, :]).float()[:, None]
    centre = (box_size - 1) / 2.0
    return x, torch.stack([left + centre, top + centre], dim=1).float()


SPLITS = ("uniform", "quadrant")


def position_split(y: torch.Tensor, image_size: int, kind: str = "uniform", test_fraction: float = 0.2,
                   seed: int = 0) -> torch.Tensor:
    """Which samples to hold out for testing, by the position ``y`` (N, 2) in pixels: a mask (N,).

    * ``'uniform'``: a random ``test_fraction`` of the samples (seeded by ``seed``), so every test
      position has training positions around it;
    * ``'quadrant'``: every sample whose centre lies in the bottom-right quadrant of the image
      (column and row both past the middle), so no training image has its square there
      (the quadrant split of Liu et al. 2018). ``test_fraction`` and ``seed`` are not used.
    """
    if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[1] != 2:
        raise ValueError(f"y must be a tensor of positions (N, 2), got {getattr(y, 'shape', type(y).__name__)}")
    check_finite(y.float(), "y")
    image_size = check_positive_int(image_size, "image_size", minimum=2)
    if kind not in SPLITS:
        raise ValueError(f"kind must be one of {SPLITS}, got {kind!r}")
    if kind == "quadrant":
        middle = (image_size - 1) / 2.0
        return (y[:, 0] > middle) & (y[:, 1] > middle)
    test_fraction = check_number(test_fraction, "test_fraction", 0.0, 1.0)
    n_test = round(test_fraction * y.shape[0])
    if not 0 < n_test < y.shape[0]:
        raise ValueError(f"test_fraction must leave some samples on each side, got {test_fraction}")
    mask = torch.zeros(y.shape[0], dtype=torch.bool)
    mask[torch.randperm(y.shape[0], generator=_generator(seed))[:n_test]] = True
    return mask


def make_dataset(name: str, n: int, image_size: int = 32, seed: int = 0, **kwargs: float
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Make a course dataset by name: ``'boxes'``, ``'dishes'`` or ``'gauges'`` (see their generators)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if name == "boxes":
        return make_box_dataset(n, image_size=image_size, seed=seed, **kwargs)
    if name == "dishes":
        return make_dish_dataset(n, image_size=image_size, seed=seed, **kwargs)
    if name == "gauges":
        return make_gauge_dataset(n, image_size=image_size, seed=seed, **kwargs)
    raise ValueError(f"name must be one of {DATASETS}, got {name!r}")


def train_val_split(x: torch.Tensor, y: torch.Tensor, n_val: int
                    ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split into ``(x_train, y_train), (x_val, y_val)``, the last ``n_val`` samples for validation.

    The generators draw samples independently, so the split needs no shuffling.
    """
    check_images(x, "x")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x and y must have the same number of samples, got {x.shape[0]} and {y.shape[0]}")
    n_val = check_positive_int(n_val, "n_val")
    if n_val >= x.shape[0]:
        raise ValueError(f"n_val must be smaller than the number of samples ({x.shape[0]}), got {n_val}")
    cut = x.shape[0] - n_val
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def noisy_labels(y: torch.Tensor, noise_std: float, seed: int = 0) -> torch.Tensor:
    """``y`` plus Gaussian noise of standard deviation ``noise_std``: labels as a careless lab reads them.

    Two calls with different seeds are two independent readings of the same samples, the way a
    label-noise floor is measured (chapter 9). The noise has its own random stream, so it is
    uncorrelated with the dataset drawn with the same ``seed``.
    """
    if not isinstance(y, torch.Tensor) or not y.is_floating_point():
        raise TypeError(f"y must be a float torch.Tensor, got {type(y).__name__}")
    check_finite(y, "y")
    noise_std = check_number(noise_std, "noise_std", low=0.0)
    seed = check_positive_int(seed, "seed", minimum=0)
    # numpy's seed sequence of (seed, "noise") is a stream independent of torch's generator seeded
    # with ``seed`` (which keeps only the low 32 bits of a seed, so an offset seed can repeat it)
    rng = np.random.default_rng([seed, _NOISE_STREAM])
    noise = torch.from_numpy(rng.standard_normal(tuple(y.shape))).to(y.dtype)
    return y + noise_std * noise


def to_grayscale(x: torch.Tensor) -> torch.Tensor:
    """Grayscale copies (N, 1, H, W) of colour images (N, 3, H, W), weighted by :data:`GRAY_WEIGHTS`."""
    check_images(x, "x")
    if x.shape[1] != 3:
        raise ValueError(f"x must have 3 colour channels, got shape {tuple(x.shape)}")
    weights = torch.tensor(GRAY_WEIGHTS, dtype=x.dtype, device=x.device)
    return (x * weights[None, :, None, None]).sum(dim=1, keepdim=True)


@dataclass
class Standardizer:
    """Subtract a mean and divide by a standard deviation, fitted on training data only.

    For images (N, C, H, W) the statistics are per channel; for targets (N,) or (N, k) per column.
    Fit it once on the training set, keep it with the model (``state_dict``), and use the same
    object for training, validation and test data.
    """

    mean: torch.Tensor | None = field(default=None)
    std: torch.Tensor | None = field(default=None)

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`load_state_dict`) has been called."""
        return self.mean is not None

    @staticmethod
    def _dims(t: torch.Tensor) -> tuple[int, ...]:
        return (0, 2, 3) if t.ndim == 4 else (0,)

    def fit(self, data: torch.Tensor) -> Standardizer:
        """Compute the mean and standard deviation of ``data``; returns ``self``."""
        if not isinstance(data, torch.Tensor) or not data.is_floating_point():
            raise TypeError("data must be a floating-point torch.Tensor")
        if data.ndim not in (1, 2, 4) or data.shape[0] < 2:
            raise ValueError(f"data must be (N,), (N, k) or (N, C, H, W) with N >= 2, got {tuple(data.shape)}")
        check_finite(data, "data")
        dims = self._dims(data)
        self.mean = data.mean(dim=dims, keepdim=True).detach()
        self.std = data.std(dim=dims, keepdim=True).clamp_min(1e-8).detach()
        return self

    def _stats(self, data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.fitted:
            raise ValueError("this Standardizer is not fitted yet: call .fit(training_data) first")
        if not isinstance(data, torch.Tensor):
            raise TypeError(f"data must be a torch.Tensor, got {type(data).__name__}")
        if data.ndim != self.mean.ndim or data.shape[1:2] != self.mean.shape[1:2]:
            raise ValueError(f"data of shape {tuple(data.shape)} does not match the fitted shape "
                             f"{tuple(self.mean.shape)}")
        return self.mean.to(data.device), self.std.to(data.device)

    def transform(self, data: torch.Tensor) -> torch.Tensor:
        """Return ``(data - mean) / std``."""
        mean, std = self._stats(data)
        return (data - mean) / std

    def inverse_transform(self, data: torch.Tensor) -> torch.Tensor:
        """Return ``data * std + mean``: undo :meth:`transform`."""
        mean, std = self._stats(data)
        return data * std + mean

    def as_module(self) -> nn.Module:
        """The fitted transform as a layer, to put in front of a model (``nn.Sequential(s.as_module(), net)``).

        Its statistics are buffers: they move with the model to a device and are saved in the
        model's ``state_dict``, so training and test data can never be preprocessed differently.
        """
        if not self.fitted:
            raise ValueError("this Standardizer is not fitted yet: call .fit(training_data) first")
        return StandardizeLayer(self.mean, self.std)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The fitted statistics, to save next to a model's weights."""
        if not self.fitted:
            raise ValueError("this Standardizer is not fitted yet: call .fit(training_data) first")
        return {"mean": self.mean.cpu(), "std": self.std.cpu()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> Standardizer:
        """Restore statistics saved by :meth:`state_dict`; returns ``self``."""
        if not isinstance(state, dict) or set(state) != {"mean", "std"}:
            raise ValueError("state must be a dict with keys 'mean' and 'std'")
        self.mean, self.std = state["mean"].clone(), state["std"].clone()
        return self


class StandardizeLayer(nn.Module):
    """``(x - mean) / std`` with fixed statistics held as buffers (made by :meth:`Standardizer.as_module`)."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean.detach().clone())
        self.register_buffer("std", std.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Standardise ``x`` with the stored statistics."""
        if x.ndim != self.mean.ndim or x.shape[1:2] != self.mean.shape[1:2]:
            raise ValueError(f"input of shape {tuple(x.shape)} does not match the fitted shape {tuple(self.mean.shape)}")
        return (x - self.mean) / self.std


def _target_vector(y: torch.Tensor, minimum: int = 1) -> torch.Tensor:
    """A finite regression target (N,) or (N, 1) as a vector (N,) with N >= ``minimum``."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] < minimum:
        raise ValueError(f"y must have shape (N,) or (N, 1) with N >= {minimum}, got {tuple(y.shape)}")
    check_finite(y.float(), "y")
    return y


def target_classes(y: torch.Tensor, edges: Sequence[float]) -> torch.Tensor:
    """Turn a regression target (N,) or (N, 1) into classes 0..len(edges): class ``i`` holds the
    targets between ``edges[i - 1]`` and ``edges[i]`` (a classification variant of a dataset)."""
    return torch.bucketize(_target_vector(y).double(), as_edges(edges), right=True)


def label_weights(y: torch.Tensor, bins: int = 20, smooth: float = 0.0) -> torch.Tensor:
    """Per-sample weights inversely proportional to how common each target value is.

    The targets (N,) or (N, 1) are histogrammed into ``bins`` equal-width bins; ``smooth > 0``
    convolves the histogram with a Gaussian kernel of that many bins (label-distribution
    smoothing, Yang et al., 2021), so that neighbouring targets share their counts. Weights are
    scaled to mean 1. Pass them to ``fit(..., sample_weight=...)``.
    """
    y = _target_vector(y, minimum=2)
    bins = check_positive_int(bins, "bins")
    smooth = check_number(smooth, "smooth", low=0.0)
    lo, hi = float(y.min()), float(y.max())
    which = ((y.double() - lo) / max(hi - lo, 1e-12) * bins).long().clamp(0, bins - 1)
    counts = torch.bincount(which, minlength=bins).double()
    if smooth > 0:
        offsets = torch.arange(-bins + 1, bins, dtype=torch.float64)
        kernel = torch.exp(-0.5 * (offsets / smooth) ** 2)
        counts = torch.stack([(counts * kernel[bins - 1 - i: 2 * bins - 1 - i]).sum() for i in range(bins)])
    w = 1.0 / counts[which].clamp_min(1e-12)
    return (w / w.mean()).float()


def simulate_best_predictor(n: int, noise_std: float, signal_std: float = 1.0, seed: int = 0
                            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets ``y = f + e`` and the best possible prediction ``E[y | x] = f`` (chapter 3).

    ``f ~ N(0, signal_std²)`` is what the input reveals, ``e ~ N(0, noise_std²)`` what it does
    not. Returns ``(best_prediction, target)``, each of shape (n,). The population R² of the
    best predictor is ``signal_std² / (signal_std² + noise_std²)``.
    """
    n = check_positive_int(n, "n")
    noise_std = check_number(noise_std, "noise_std", low=0.0)
    signal_std = check_number(signal_std, "signal_std", low=0.0)
    if signal_std == 0:
        raise ValueError("signal_std must be > 0")
    g = _generator(seed)
    f = signal_std * torch.randn(n, generator=g, dtype=torch.float64)
    e = noise_std * torch.randn(n, generator=g, dtype=torch.float64)
    return f, f + e


def save_image_folder(x: torch.Tensor, y: torch.Tensor, folder: str | Path) -> Path:
    """Write images ``x`` (N, C, H, W; values 0-255) as PNG files in ``folder`` and their targets
    ``y`` (N,) or (N, k) to ``folder/targets.csv`` (columns ``file``, ``target_0`` ...). Returns the
    CSV's path. The layout :func:`load_image_folder` reads, and the one most labelled photo sets
    come in."""
    import csv

    from PIL import Image

    x = check_images(x, "x")
    if not isinstance(y, torch.Tensor) or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be a tensor with one target row per image ({x.shape[0]})")
    y = y.reshape(y.shape[0], -1)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "targets.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file"] + [f"target_{j}" for j in range(y.shape[1])])
        for i in range(x.shape[0]):
            name = f"image_{i:05d}.png"
            pixels = x[i].clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
            Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels).save(folder / name)
            writer.writerow([name] + [f"{float(v):.6g}" for v in y[i]])
    return path


def load_image_folder(csv_path: str | Path, image_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and targets from a CSV: a ``file`` column (paths relative to the CSV's folder) and
    one or more numeric target columns. Returns ``x`` (N, C, H, W) with raw 0-255 values (RGB, or
    one channel for greyscale files) and ``y`` (N, k) as float32. ``image_size`` resizes every
    image to a square of that side; otherwise all images must share one size."""
    import csv

    from PIL import Image

    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ValueError(f"csv_path must be an existing CSV file, got {str(csv_path)!r}")
    if image_size is not None:
        image_size = check_positive_int(image_size, "image_size")
    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "file" not in rows[0]:
        raise ValueError(f"{csv_path.name} must have a header with a 'file' column and at least one data row")
    columns = [c for c in rows[0] if c != "file"]
    if not columns:
        raise ValueError(f"{csv_path.name} has no target column besides 'file'")
    images, targets = [], []
    for row in rows:
        image = Image.open(csv_path.parent / row["file"])
        image = image.convert("L" if image.mode in ("L", "1", "I;16") else "RGB")
        if image_size is not None:
            image = image.resize((image_size, image_size))
        pixels = torch.tensor(list(image.getdata()), dtype=torch.float32)
        channels = 1 if image.mode == "L" else 3
        images.append(pixels.reshape(image.size[1], image.size[0], channels).permute(2, 0, 1))
        try:
            targets.append([float(row[c]) for c in columns])
        except ValueError as err:
            raise ValueError(f"{row['file']}: the targets must be numbers ({err})") from None
    if len({tuple(t.shape) for t in images}) > 1:
        raise ValueError("the images differ in size: pass image_size to resize them to one")
    y = torch.tensor(targets, dtype=torch.float32)
    check_finite(y, "y")
    return torch.stack(images), y


def scaled_split(x: torch.Tensor, y: torch.Tensor, n_val: int
                 ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor], Standardizer]:
    """:func:`train_val_split`, then standardise both parts' targets with the training part's statistics.

    Returns ``(x_train, y_train_scaled), (x_val, y_val_scaled), scaler``; ``scaler.inverse_transform``
    brings predictions back to target units. The validation targets never inform the scaling.
    """
    (x_train, y_train), (x_val, y_val) = train_val_split(x, y, n_val)
    scaler = Standardizer().fit(y_train)
    return (x_train, scaler.transform(y_train)), (x_val, scaler.transform(y_val)), scaler
