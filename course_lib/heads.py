"""Output heads and small layers for regression targets that are not plain unbounded numbers.

Each head is a plain ``nn.Module`` that maps a network's raw outputs (or feature maps) to what a
target needs, with the loss that trains it and the read-out that turns it into a prediction:

* :class:`BoundedHead`: a known target range, ``low + (high - low) * sigmoid(z)``;
* :class:`BinnedHead`: classification then regression, a distribution over bins read out as its
  expected value (not the arg-max), trained with cross-entropy on the bin of the target;
* :class:`BinOffsetHead`: a bin, then a regression of the offset inside it;
* :class:`OrdinalHead`: cumulative logits with one shared score and ordered thresholds (CORAL);
* :func:`angle_to_sincos` / :func:`sincos_to_angle`: angles as points on the circle;
* :func:`pinball_loss` and :func:`quantile_loss`: quantile regression;
* :class:`CoordChannels` and :class:`SoftArgmax2d`: coordinate channels (CoordConv) and a
  differentiable expected position of a heat map (DSNT-style soft-argmax).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ._checks import as_edges, check_number, check_positive_int


def _check_tensor(x: Any, name: str, ndim: int | tuple[int, ...]) -> torch.Tensor:
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim not in dims:
        raise ValueError(f"{name} must have {' or '.join(map(str, dims))} dimensions, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    return x


class BoundedHead(nn.Module):
    """Map raw outputs onto the open interval ``(low, high)`` with a scaled sigmoid.

    A regressor whose target is known to lie in a range (a concentration in 80..350) can never
    predict outside it. The price: near the ends the sigmoid is flat, so targets close to ``low``
    or ``high`` need large raw outputs and learn slowly.
    """

    def __init__(self, low: float, high: float) -> None:
        super().__init__()
        low, high = check_number(low, "low"), check_number(high, "high")
        if not low < high:
            raise ValueError(f"low must be below high, got low={low}, high={high}")
        self.low, self.high = low, high

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``low + (high - low) * sigmoid(z)``, element by element."""
        return self.low + (self.high - self.low) * torch.sigmoid(z)


def bin_edges(low: float, high: float, bins: int) -> torch.Tensor:
    """``bins + 1`` equally spaced edges from ``low`` to ``high``."""
    low, high = check_number(low, "low"), check_number(high, "high")
    bins = check_positive_int(bins, "bins")
    if not low < high:
        raise ValueError(f"low must be below high, got low={low}, high={high}")
    return torch.linspace(low, high, bins + 1, dtype=torch.float64)


class BinnedHead(nn.Module):
    """Classification then regression: logits over bins of the target, read out as an expectation.

    ``edges`` (K + 1 increasing numbers) cut the target range into K bins. :meth:`loss` is the
    cross-entropy of the logits against the bin each target falls in; :meth:`predict` is the
    expected value ``sum_k p_k * centre_k``, which moves smoothly between bin centres (the arg-max
    could only ever answer a centre). Too few bins quantise; too many leave few examples per bin.
    """

    def __init__(self, edges: Any) -> None:
        super().__init__()
        e = as_edges(edges, "edges")
        if e.numel() < 3:
            raise ValueError(f"edges must hold at least 3 numbers (2 bins), got {e.numel()}")
        self.register_buffer("edges", e.float())
        self.register_buffer("centres", ((e[1:] + e[:-1]) / 2).float())

    @property
    def bins(self) -> int:
        """The number of bins, K."""
        return self.centres.numel()

    def target_bins(self, y: torch.Tensor) -> torch.Tensor:
        """The bin index of each target (N,) or (N, 1); targets outside the edges go to the end bins."""
        y = _check_tensor(y, "y", (1, 2)).reshape(-1)
        inner = self.edges[1:-1].to(y.device, y.dtype)
        return torch.bucketize(y, inner, right=True)

    def _check_logits(self, logits: torch.Tensor) -> torch.Tensor:
        logits = _check_tensor(logits, "logits", 2)
        if logits.shape[1] != self.bins:
            raise ValueError(f"logits must have {self.bins} columns (one per bin), got {logits.shape[1]}")
        return logits

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of ``logits`` (N, K) against the bins of the targets ``y``."""
        logits = self._check_logits(logits)
        return nn.functional.cross_entropy(logits, self.target_bins(y).to(logits.device))

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """The expected value over bins, (N, 1)."""
        logits = self._check_logits(logits)
        return (
            logits.softmax(1)
            @ self.centres.to(logits.device, logits.dtype)[:, None]
        )

    def most_probable(self, logits: torch.Tensor) -> torch.Tensor:
        """The centre of the most probable bin (the arg-max read-out), (N, 1): it can only ever
        answer a bin centre, so it pays the bin's rounding error."""
        logits = self._check_logits(logits)
        return self.centres.to(logits.device, logits.dtype)[logits.argmax(1)][:, None]

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`predict`."""
        return self.predict(logits)

    @property
    def loss_fn(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """:meth:`loss` as a loss for :func:`course_lib.train.fit` (which then expects logits
        (N, K) for targets (N, 1) instead of refusing the shapes)."""
        return _with_output_shape(self.loss, self.bins)


class BinOffsetHead(BinnedHead):
    """Classification, then a regression inside the bin: for K bins the network outputs K logits and
    K offsets. :meth:`loss` is the cross-entropy of the logits against the target's bin plus the
    squared error of that bin's offset against where the target sits in it (0 at the bin's lower
    edge, 1 at its upper edge). :meth:`predict` takes the most probable bin and adds its offset,
    kept inside the bin: the answer's "a class, then a correction of 0 to 27".
    """

    def _split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = _check_tensor(out, "out", 2)
        if out.shape[1] != 2 * self.bins:
            raise ValueError(f"out must have {2 * self.bins} columns (logits, then offsets), got {out.shape[1]}")
        return out[:, :self.bins], out[:, self.bins:]

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on the bin of ``y`` plus the squared error of that bin's offset."""
        logits, offsets = self._split(out)
        k = self.target_bins(y).to(out.device)
        low, width = self.edges[:-1].to(out)[k], (self.edges[1:] - self.edges[:-1]).to(out)[k]
        inside = ((y.reshape(-1).to(out) - low) / width).clamp(0, 1)
        offset = offsets.gather(1, k[:, None])[:, 0]
        return nn.functional.cross_entropy(logits, k) + ((offset - inside) ** 2).mean()

    def predict(self, out: torch.Tensor) -> torch.Tensor:
        """The most probable bin's lower edge plus its offset inside the
        bin (clamped to 0..1 of its width), (N, 1)."""
        logits, offsets = self._split(out)
        k = logits.argmax(1)[:, None]  # the most probable bin
        low, high = self.edges[:-1].to(out), self.edges[1:].to(out)
        offset = offsets.gather(1, k).clamp(0, 1)
        return low[k] + (high - low)[k] * offset

    def most_probable(self, out: torch.Tensor) -> torch.Tensor:
        """The centre of the most probable bin, its offset ignored, (N, 1): the same run read as an
        arg-max (``out`` holds the K logits, then the K offsets)."""
        logits, _ = self._split(out)
        return super().most_probable(logits)

    @property
    def loss_fn(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """:meth:`loss` as a loss for :func:`course_lib.train.fit` (outputs (N, 2K) for targets (N, 1))."""
        return _with_output_shape(self.loss, 2 * self.bins)


class OrdinalHead(nn.Module):
    """Cumulative-logit ordinal regression with rank-consistent thresholds (CORAL).

    One shared score ``s = w . h`` and K - 1 biases give the logits of "the target exceeds
    threshold k", ``s + b_k``. With a single shared weight vector the predicted probabilities are
    ordered for every input (rank consistency). The prediction counts the thresholds passed:
    ``low + step * sum_k sigmoid(s + b_k)``, an expected number of steps.
    """

    def __init__(self, in_features: int, edges: Any) -> None:
        super().__init__()
        in_features = check_positive_int(in_features, "in_features")
        e = as_edges(edges, "edges")
        if e.numel() < 3:
            raise ValueError(f"edges must hold at least 3 numbers (2 levels), got {e.numel()}")
        self.register_buffer("edges", e.float())
        self.score = nn.Linear(in_features, 1, bias=False)
        self.biases = nn.Parameter(torch.linspace(1.0, -1.0, e.numel() - 2))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Threshold logits (N, K - 1) for features ``h`` (N, in_features)."""
        h = _check_tensor(h, "h", 2)
        return self.score(h) + self.biases

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy of each threshold logit against "target above this threshold"."""
        logits = _check_tensor(logits, "logits", 2)
        y = _check_tensor(y, "y", (1, 2)).reshape(-1, 1).to(logits.device, logits.dtype)
        above = (y > self.edges[1:-1].to(logits.device, logits.dtype)).to(logits.dtype)
        return nn.functional.binary_cross_entropy_with_logits(logits, above)

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """Map threshold logits to a value: the first bin's centre plus, for each threshold, the
        step to the next bin's centre times the probability of being above it, (N, 1)."""
        logits = _check_tensor(logits, "logits", 2)
        centres = (self.edges[1:] + self.edges[:-1]).to(logits.device, logits.dtype) / 2
        steps = torch.sigmoid(logits) * (centres[1:] - centres[:-1])
        return centres[0] + steps.sum(1, keepdim=True)

    @property
    def loss_fn(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """:meth:`loss` as a loss for :func:`course_lib.train.fit` (threshold logits (N, K - 1)
        for targets (N, 1))."""
        return _with_output_shape(self.loss, self.edges.numel() - 2)


def _with_output_shape(loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], columns: int
                       ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Wrap ``loss`` with the output shape :func:`course_lib.train.fit` should expect: (N, columns)."""
    def fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return loss(pred, target)

    fn.output_shape = lambda shape: (shape[0], columns)  # type: ignore[attr-defined]
    return fn


def angle_to_sincos(angle_deg: torch.Tensor) -> torch.Tensor:
    """Angles in degrees (N,) or (N, 1) as points (sin, cos) on the unit circle, (N, 2)."""
    a = torch.deg2rad(_check_tensor(angle_deg, "angle_deg", (1, 2)).reshape(-1))
    return torch.stack([torch.sin(a), torch.cos(a)], dim=1)


def sincos_to_angle(sincos: torch.Tensor) -> torch.Tensor:
    """Read (sin, cos) outputs (N, 2) back as angles in [0, 360) degrees
    with ``atan2``, (N, 1).

    The outputs need not lie on the circle: ``atan2`` uses only their
    direction.
    """
    s = _check_tensor(sincos, "sincos", 2)
    if s.shape[1] != 2:
        raise ValueError(
            f"sincos must have 2 columns (sin, cos), got {s.shape[1]}"
        )
    return torch.rad2deg(torch.atan2(s[:, :1], s[:, 1:])) % 360.0


def angular_error(pred_deg: torch.Tensor, target_deg: torch.Tensor) -> torch.Tensor:
    """The absolute difference of two angles on the circle, in [0, 180] degrees, element by element:
    359° and 1° are 2° apart, not 358°."""
    p = _check_tensor(pred_deg, "pred_deg", (1, 2))
    t = _check_tensor(target_deg, "target_deg", (1, 2))
    if p.shape != t.shape:
        raise ValueError(f"pred_deg and target_deg must have the same shape, got {tuple(p.shape)} and {tuple(t.shape)}")
    d = (p - t) % 360.0
    return torch.minimum(d, 360.0 - d)


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, quantiles: Any) -> torch.Tensor:
    """The quantile (pinball) loss, averaged over samples and quantiles.

    ``pred`` (N, Q) holds one column per quantile level in ``quantiles`` (Q numbers in (0, 1));
    ``target`` is (N,) or (N, 1). Minimised, column q predicts the q-quantile of the target given
    the input, so columns 0.1 and 0.9 bound an 80% interval.
    """
    p = _check_tensor(pred, "pred", 2)
    y = _check_tensor(target, "target", (1, 2)).reshape(-1, 1)
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"target must have {p.shape[0]} samples to match pred, got {y.shape[0]}")
    q = torch.as_tensor(quantiles, dtype=p.dtype, device=p.device).reshape(-1)
    if q.numel() != p.shape[1]:
        raise ValueError(f"quantiles must have {p.shape[1]} levels (one per column of pred), got {q.numel()}")
    if bool(((q <= 0) | (q >= 1)).any()):
        raise ValueError(f"quantiles must lie strictly between 0 and 1, got {q.tolist()}")
    diff = y.to(p) - p
    return torch.maximum(q * diff, (q - 1) * diff).mean()


def quantile_loss(quantiles: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """:func:`pinball_loss` at fixed ``quantiles``, as a loss for :func:`course_lib.train.fit`: the
    model gives one output column per level for targets (N, 1)."""
    q = torch.as_tensor(quantiles, dtype=torch.float32).reshape(-1)
    if q.numel() == 0 or bool(((q <= 0) | (q >= 1)).any()):
        raise ValueError(f"quantiles must be one or more levels strictly between 0 and 1, got {quantiles!r}")
    return _with_output_shape(lambda pred, target: pinball_loss(pred, target, q.to(pred.device)), q.numel())


def coordinate_grid(height: int, width: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Two channels (2, H, W): the x and y coordinate of every pixel, each in [-1, 1]."""
    height, width = check_positive_int(height, "height"), check_positive_int(width, "width")
    ys = torch.linspace(-1.0, 1.0, height, device=device) if height > 1 else torch.zeros(1, device=device)
    xs = torch.linspace(-1.0, 1.0, width, device=device) if width > 1 else torch.zeros(1, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy])


class CoordChannels(nn.Module):
    """Append two coordinate channels (x and y in [-1, 1]) to a batch of
    images or feature maps: the CoordConv input layer. A convolution after
    it can read *where* as well as *what*."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C + 2, H, W)."""
        x = _check_tensor(x, "x", 4)
        grid = coordinate_grid(x.shape[2], x.shape[3], device=x.device).to(
            x.dtype
        )
        return torch.cat([x, grid.expand(x.shape[0], -1, -1, -1)], dim=1)


class SoftArgmax2d(nn.Module):
    """The expected position of a heat map: softmax over all pixels, then the mean x and y.

    Input (N, K, H, W), one map per point to locate; output (N, 2 K) as (x, y) pairs in [-1, 1]
    (the image's left/top edge is -1, its right/bottom edge +1). Differentiable, with no weights:
    the network learns where to put the mass (DSNT-style coordinate regression).
    """

    def forward(self, heat: torch.Tensor) -> torch.Tensor:
        """(N, K, H, W) -> (N, 2 K)."""
        heat = _check_tensor(heat, "heat", 4)
        n, k, h, w = heat.shape
        p = heat.reshape(n, k, h * w).softmax(-1).reshape(n, k, h, w)
        grid = coordinate_grid(h, w, device=heat.device).to(heat.dtype)
        x = (p * grid[0]).sum((2, 3))
        y = (p * grid[1]).sum((2, 3))
        return torch.stack([x, y], dim=2).reshape(n, 2 * k)


def pixels_to_unit(coords: torch.Tensor, image_size: int) -> torch.Tensor:
    """Pixel coordinates (0 .. image_size - 1) to the [-1, 1] scale of :class:`SoftArgmax2d`."""
    size = check_positive_int(image_size, "image_size", minimum=2)
    return 2.0 * _check_tensor(coords, "coords", (1, 2)) / (size - 1) - 1.0


def unit_to_pixels(coords: torch.Tensor, image_size: int) -> torch.Tensor:
    """Undo :func:`pixels_to_unit`."""
    size = check_positive_int(image_size, "image_size", minimum=2)
    return (_check_tensor(coords, "coords", (1, 2)) + 1.0) * (size - 1) / 2.0


__all__ = ["BinnedHead", "BoundedHead", "CoordChannels", "OrdinalHead", "SoftArgmax2d", "angle_to_sincos",
           "angular_error", "bin_edges", "coordinate_grid", "pinball_loss", "pixels_to_unit", "sincos_to_angle",
           "unit_to_pixels"]
