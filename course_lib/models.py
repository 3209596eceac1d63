"""Models used across the chapters (small, documented, built from plain PyTorch layers), the
wrapper that carries a model's preprocessing (:class:`ScaledModel`), and :func:`predict`."""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import check_images, check_number, check_positive_int
from .config import get_device
from .data import Standardizer
from .heads import CoordChannels, SoftArgmax2d

POOLS = ("flatten", "avg")


def _check_image_size(image_size: int, factor: int) -> int:
    image_size = check_positive_int(image_size, "image_size")
    if image_size % factor:
        raise ValueError(f"image_size must be a multiple of {factor}, got {image_size}")
    return image_size


class KerasBoxCNN(nn.Module):
    """The model of the Keras question (chapter 2), layer for layer.

    Conv(32, 5x5, stride 2) -> Conv(64, 5x5, stride 2) -> Conv(128, 5x5, stride 2), each with
    ReLU and 'same' padding; Flatten; Dense(hidden=100, ReLU); Dense(n_outputs, linear). Weights use
    Keras's defaults (Glorot-uniform kernels, zero biases).
    """

    def __init__(self, image_size: int = 32, n_outputs: int = 2, in_channels: int = 3, hidden: int = 100) -> None:
        super().__init__()
        image_size = _check_image_size(image_size, 8)
        hidden = check_positive_int(hidden, "hidden")
        n_outputs = check_positive_int(n_outputs, "n_outputs")
        in_channels = check_positive_int(in_channels, "in_channels")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(32, 64, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(64, 128, 5, stride=2, padding=2), nn.ReLU(),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(128 * (image_size // 8) ** 2, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs)
        )
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, C, H, W) to outputs (N, n_outputs)."""
        return self.head(self.features(x))


def _check_cnn_args(image_size: int, n_outputs: int, width: int, in_channels: int, dropout: float
                    ) -> tuple[int, int, int, int, float]:
    """Validate the constructor arguments shared by the conv-block models."""
    return (_check_image_size(image_size, 8), check_positive_int(n_outputs, "n_outputs"),
            check_positive_int(width, "width"), check_positive_int(in_channels, "in_channels"),
            check_number(dropout, "dropout", 0.0, 1.0))


def conv_block(c_in: int, c_out: int, n_convs: int = 1, batch_norm: bool = True) -> nn.Sequential:
    """``n_convs`` 3x3 convolutions (+ batch norm) + ReLU, then a 2x2 max-pool."""
    layers: list[nn.Module] = []
    for i in range(n_convs):
        layers.append(nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU())
    layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """A sane small regression CNN: three conv blocks, then a linear head.

    ``pool='flatten'`` keeps where things are in the image (needed to regress positions);
    ``pool='avg'`` is global average pooling, which throws position away (chapter 2).
    """

    def __init__(self, image_size: int = 32, n_outputs: int = 1, width: int = 16, in_channels: int = 3,
                 pool: str = "flatten", batch_norm: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        image_size, n_outputs, width, in_channels, dropout = _check_cnn_args(
            image_size, n_outputs, width, in_channels, dropout)
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        w = width
        self.features = nn.Sequential(
            conv_block(in_channels, w, batch_norm=batch_norm),
            conv_block(w, 2 * w, batch_norm=batch_norm),
            conv_block(2 * w, 4 * w, batch_norm=batch_norm),
        )
        if pool == "flatten":
            n_features = 4 * w * (image_size // 8) ** 2
            pooling: nn.Module = nn.Flatten()
        else:
            n_features = 4 * w
            pooling = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(pooling, nn.Dropout(dropout), nn.Linear(n_features, 64), nn.ReLU(),
                                  nn.Linear(64, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, C, H, W) to outputs (N, n_outputs)."""
        return self.head(self.features(x))


def output_layer(model: nn.Module) -> nn.Linear:
    """Return the last ``nn.Linear`` layer of ``model`` (its output layer)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("model has no nn.Linear layer to use as its output layer")
    return linears[-1]


def init_output_bias(model: nn.Module, value: torch.Tensor | float) -> nn.Module:
    """Set the output layer's bias to ``value`` (e.g. the training-target mean) and return ``model``.

    Karpathy's recipe: start the network where the mean predictor is, so the first steps learn
    the signal instead of the offset.
    """
    layer = output_layer(model)
    if layer.bias is None:
        raise ValueError("model's output layer has no bias")
    value = torch.as_tensor(value, dtype=layer.bias.dtype).reshape(-1)
    if value.numel() not in (1, layer.bias.numel()):
        raise ValueError(f"value must have 1 or {layer.bias.numel()} entries, got {value.numel()}")
    if not bool(torch.isfinite(value).all()):
        raise ValueError("value holds NaN or infinite values")
    with torch.no_grad():
        layer.bias.copy_(value.expand_as(layer.bias).to(layer.bias.device))
    return model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class VGGLike(nn.Module):
    """The chapter 4 question's model: three blocks of three 3x3 conv + batch norm + ReLU with
    max-pooling, then a 1x1 convolution with dropout, then a dense output.

    ``features`` maps images to a flat feature vector and ``head`` maps it to the outputs, so the
    two can be reused, e.g. by :class:`course_lib.augment.D4Invariant`.
    """

    def __init__(self, image_size: int = 32, n_outputs: int = 1, width: int = 8, in_channels: int = 3,
                 dropout: float = 0.3) -> None:
        super().__init__()
        image_size, n_outputs, w, in_channels, dropout = _check_cnn_args(
            image_size, n_outputs, width, in_channels, dropout)
        self.features = nn.Sequential(
            conv_block(in_channels, w, n_convs=3), conv_block(w, 2 * w, n_convs=3),
            conv_block(2 * w, 4 * w, n_convs=3),
            nn.Conv2d(4 * w, 2 * w, 1), nn.ReLU(), nn.Dropout(dropout), nn.Flatten(),
        )
        self.head = nn.Linear(2 * w * (image_size // 8) ** 2, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, C, H, W) to outputs (N, n_outputs)."""
        return self.head(self.features(x))


class RotationPooled(nn.Module):
    """A model pooled over ``turns`` rotations: one shared ``features`` network
    applied to copies of the input turned by 0, 360/turns, 2*360/turns, ...
    degrees (:func:`course_lib.augment.rotate`), features averaged over the
    copies, then ``head``.

    A turn that maps the copies onto each other without resampling (a quarter
    turn, for ``turns`` a multiple of 4) leaves its output unchanged. Any other
    turn of the group resamples every copy (bilinear): the copies of a turned
    image are then blurred versions of the copies of the original, so the
    invariance holds only as far as the network ignores that blur.
    """

    def __init__(self, features: nn.Module, head: nn.Module, turns: int = 8) -> None:
        super().__init__()
        if not isinstance(features, nn.Module) or not isinstance(head, nn.Module):
            raise TypeError("features and head must be torch.nn.Module instances")
        self.features, self.head = features, head
        self.turns = check_positive_int(turns, "turns", minimum=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, C, H, W) to outputs, pooling the features of the
        turned copies."""
        from .augment import rotate  # (augment imports this module)

        check_images(x, "x")
        n, step = x.shape[0], 360 / self.turns
        turned = [rotate(x, k * step) if k else x for k in range(self.turns)]
        feats = self.features(torch.cat(turned))
        return self.head(feats.reshape(self.turns, n, *feats.shape[1:]).mean(0))


class ResidualBlock(nn.Module):
    """Two 3x3 conv + batch norm layers whose output is added to the block's input (He et al.):
    ``relu(x + F(x))``. With ``stride=2`` the block halves the image and a 1x1 convolution
    matches the shortcut to the new shape."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        c_in, c_out = check_positive_int(c_in, "c_in"), check_positive_int(c_out, "c_out")
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``relu(shortcut(x) + body(x))``."""
        return torch.relu(self.shortcut(x) + self.body(x))


class SmallResNet(nn.Module):
    """A small residual network for the dish question (chapter 9): a 3x3 stem, three stages of two
    residual blocks (the last two stages halve the image), global average pooling and a linear
    output: 13 convolutions deep, about as deep as :class:`VGGLike` plus its stem."""

    def __init__(self, image_size: int = 32, n_outputs: int = 1, width: int = 8, in_channels: int = 3) -> None:
        super().__init__()
        image_size, n_outputs, w, in_channels, _ = _check_cnn_args(image_size, n_outputs, width, in_channels, 0.0)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
            ResidualBlock(w, w), ResidualBlock(w, w),
            ResidualBlock(w, 2 * w, stride=2), ResidualBlock(2 * w, 2 * w),
            ResidualBlock(2 * w, 4 * w, stride=2), ResidualBlock(4 * w, 4 * w),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(4 * w, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, C, H, W) to outputs (N, n_outputs)."""
        return self.head(self.features(x))


def _conv_bn_relu(c_in: int, c_out: int, kernel: int, dilation: int = 1) -> nn.Sequential:
    """A ``kernel`` x ``kernel`` convolution (padded to keep the size) + batch norm + ReLU."""
    pad = dilation * (kernel // 2)
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=pad, dilation=dilation, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU())


class InceptionBlock(nn.Module):
    """Four parallel branches over the same input, concatenated (Szegedy et al., 2015): a 1x1
    convolution, 1x1 then 3x3, 1x1 then 5x5, and 3x3 max-pooling then 1x1; ``width`` channels each.
    The branches see 1, 3 and 5 pixels around each position at once: several scales per layer."""

    def __init__(self, c_in: int, width: int) -> None:
        super().__init__()
        c_in, w = check_positive_int(c_in, "c_in"), check_positive_int(width, "width")
        self.branches = nn.ModuleList([
            _conv_bn_relu(c_in, w, 1),
            nn.Sequential(_conv_bn_relu(c_in, w, 1), _conv_bn_relu(w, w, 3)),
            nn.Sequential(_conv_bn_relu(c_in, w, 1), _conv_bn_relu(w, w, 5)),
            nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv_bn_relu(c_in, w, 1))])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the four branches' outputs: (N, 4 * width, H, W)."""
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class InceptionNet(nn.Module):
    """A small Inception-style network (the dish question's follow-up, chapter 10): a 3x3 stem,
    three :class:`InceptionBlock` with max-pooling between them, global average pooling and a
    linear output. At ``width=4`` it has about half the small CNN's parameters at width 8."""

    def __init__(self, image_size: int = 32, n_outputs: int = 1, width: int = 4, in_channels: int = 3) -> None:
        super().__init__()
        image_size, n_outputs, w, in_channels, _ = _check_cnn_args(image_size, n_outputs, width, in_channels, 0.0)
        self.features = nn.Sequential(
            _conv_bn_relu(in_channels, 2 * w, 3), InceptionBlock(2 * w, w), nn.MaxPool2d(2),
            InceptionBlock(4 * w, 2 * w), nn.MaxPool2d(2), InceptionBlock(8 * w, 2 * w),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(8 * w, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, C, H, W) to outputs (N, n_outputs)."""
        return self.head(self.features(x))


class MSDNet(nn.Module):
    """A mixed-scale dense network (Pelt and Sethian, 2018), for a regression of the whole image:
    ``depth`` layers of ``width`` channels each, every one a 3x3 convolution dilated by
    ``1 + i % max_dilation`` over the image and *all* earlier layers' maps, at full resolution (no
    pooling); then global average pooling of every map and a linear output. Few parameters, a
    receptive field that grows with the dilations, every scale available to the output."""

    def __init__(self, n_outputs: int = 1, width: int = 2, depth: int = 20, in_channels: int = 3,
                 max_dilation: int = 8) -> None:
        super().__init__()
        n_outputs, width = check_positive_int(n_outputs, "n_outputs"), check_positive_int(width, "width")
        depth, in_channels = check_positive_int(depth, "depth"), check_positive_int(in_channels, "in_channels")
        max_dilation = check_positive_int(max_dilation, "max_dilation")
        self.layers = nn.ModuleList(
            _conv_bn_relu(in_channels + i * width, width, 3, dilation=1 + i % max_dilation) for i in range(depth))
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(in_channels + depth * width, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, C, H, W) to outputs (N, n_outputs)."""
        maps = check_images(x, "x")
        for layer in self.layers:
            maps = torch.cat([maps, layer(maps)], dim=1)
        return self.head(self.pool(maps))


class CoordConvNet(nn.Module):
    """A CoordConv regressor of a position (chapter 7): a 3x3 convolution finds the object, the
    coordinate channels are appended to its feature maps (:class:`course_lib.heads.CoordChannels`),
    a 1x1 convolution mixes *what* with *where*, and a global max-pool and a linear layer read out
    the position (x, y). No layer has weights tied to one image position.

    ``per_axis=False`` appends both channels and reads (x, y) from one mixed set of features, as
    CoordConv is usually added. ``per_axis=True`` gives each output its own 1x1 layer that sees only
    its own coordinate channel, so the x it reads cannot depend on where the object is in y (and
    the reverse): what it learns about x from objects at any height holds at every height.
    """

    def __init__(self, in_channels: int = 1, width: int = 8, per_axis: bool = False) -> None:
        super().__init__()
        in_channels, w = check_positive_int(in_channels, "in_channels"), check_positive_int(width, "width")
        if not isinstance(per_axis, bool):
            raise TypeError(f"per_axis must be True or False, got {type(per_axis).__name__}")
        self.per_axis = per_axis
        self.detect = nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1), nn.ReLU())
        self.coords = CoordChannels()
        if per_axis:
            self.locate = nn.ModuleList([nn.Sequential(nn.Conv2d(w + 1, w, 1), nn.ReLU()) for _ in range(2)])
            self.read = nn.ModuleList([nn.Linear(w, 1) for _ in range(2)])
        else:
            self.locate = nn.ModuleList([nn.Sequential(nn.Conv2d(w + 2, w, 1), nn.ReLU())])
            self.read = nn.ModuleList([nn.Linear(w, 2)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, C, H, W) to positions (N, 2)."""
        found = self.coords(
            self.detect(x)
        )  # (N, w + 2, H, W): features, then x, then y
        w = found.shape[1] - 2
        if self.per_axis:
            outs = [
                read(
                    locate(
                        torch.cat(
                            [found[:, :w], found[:, w + a : w + a + 1]], 1
                        )
                    ).amax((2, 3))
                )
                for a, (locate, read) in enumerate(zip(self.locate, self.read))
            ]
            return torch.cat(outs, dim=1)
        return self.read[0](self.locate[0](found).amax((2, 3)))


class HeatmapNet(nn.Module):
    """A fully convolutional heat-map regressor of one point (chapter 7): three 3x3 convolutions
    at full resolution draw one map, and :class:`course_lib.heads.SoftArgmax2d` reads its expected
    position, (x, y) in [-1, 1]. Every layer is translation-equivariant: a square moved is a heat
    map moved, wherever the training squares were.
    """

    def __init__(self, in_channels: int = 1, width: int = 16) -> None:
        super().__init__()
        in_channels, w = check_positive_int(in_channels, "in_channels"), check_positive_int(width, "width")
        self.heat = nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, 1, 3, padding=1))
        self.read_out = SoftArgmax2d()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, C, H, W) to positions (N, 2) in [-1, 1]."""
        return self.read_out(self.heat(x))


PADDINGS = ("zeros", "circular")


class PooledCNN(nn.Module):
    """Four 3x3 convolutions at full resolution (dilations 1, 2, 4, 8, so the last layer sees
    31x31 pixels), global average pooling, a linear layer (chapter 7).

    With ``padding='circular'`` every layer is exactly equivariant to (circular) shifts, so the
    pooled features, and the output, are the same wherever an object sits: position is thrown
    away. With ``padding='zeros'`` the image's border is visible to the filters, and position
    leaks back in through it.
    """

    def __init__(self, in_channels: int = 1, n_outputs: int = 2, width: int = 16, padding: str = "zeros") -> None:
        super().__init__()
        in_channels, n_outputs = check_positive_int(in_channels, "in_channels"), check_positive_int(n_outputs, "n_outputs")
        w = check_positive_int(width, "width")
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        layers: list[nn.Module] = []
        for i, d in enumerate((1, 2, 4, 8)):
            layers += [nn.Conv2d(in_channels if i == 0 else w, w, 3, padding=d, dilation=d, padding_mode=padding),
                       nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, C, H, W) to outputs (N, n_outputs)."""
        return self.head(self.features(x))


class NormalizeBrightness(nn.Module):
    """Divide each image by its own mean pixel value: a global change of exposure (every pixel
    times the same factor) then leaves the output unchanged. Put it in front of a model whose
    target does not depend on the overall brightness."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x / mean(x)`` per image."""
        if x.ndim != 4:
            raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x.shape)}")
        return x / x.mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)


class ScaledModel(nn.Module):
    """``net`` with its preprocessing inside it: images standardised with the training set's
    statistics on the way in, outputs mapped back to target units on the way out.

    ``core`` (input standardisation + ``net``) is what trains, on standardised targets; calling
    the model gives predictions in target units. The statistics are buffers, saved in the
    ``state_dict`` with the weights, so training and test data cannot be preprocessed differently.

    ``x_range`` (the smallest and largest training input value, also a saved buffer) arms an input
    check when ``check_inputs`` is true: in evaluation mode a batch that leaves the training range
    by more than a tenth of its width, or whose largest value stays below the middle of the range
    (as when a serving script divides by 127 or 255 pixels the model expects raw), is refused with
    a ``ValueError`` instead of being predicted silently wrong.
    """

    def __init__(self, net: nn.Module, x_scaler: Standardizer, y_scaler: Standardizer,
                 x_range: tuple[float, float] | None = None, check_inputs: bool = False) -> None:
        super().__init__()
        if not isinstance(net, nn.Module):
            raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
        if not isinstance(x_scaler, Standardizer) or not isinstance(y_scaler, Standardizer):
            raise TypeError("x_scaler and y_scaler must be course_lib Standardizer objects")
        if not y_scaler.fitted:
            raise ValueError("y_scaler is not fitted yet: call .fit(training_targets) first")
        low, high = (-math.inf, math.inf) if x_range is None else x_range
        if not float(low) < float(high):
            raise ValueError(f"x_range must be (low, high) with low < high, got {x_range!r}")
        self.core = nn.Sequential(x_scaler.as_module(), net)
        self.register_buffer("y_mean", y_scaler.mean.detach().clone())
        self.register_buffer("y_std", y_scaler.std.detach().clone())
        self.register_buffer("x_range", torch.tensor([float(low), float(high)]))
        self.check_inputs = bool(check_inputs)

    def _check_range(self, x: torch.Tensor) -> None:
        low, high = (float(v) for v in self.x_range)
        if not (math.isfinite(low) and math.isfinite(high)) or x.numel() == 0:
            return
        span = high - low
        xmin, xmax = float(x.min()), float(x.max())
        if xmin < low - 0.1 * span or xmax > high + 0.1 * span or xmax < low + 0.5 * span:
            raise ValueError(
                f"x: inputs span [{xmin:.3g}, {xmax:.3g}] but the model was trained on inputs in "
                f"[{low:.3g}, {high:.3g}]: were they rescaled (divided by 127 or 255, say) before reaching "
                f"a model that carries its own preprocessing? Feed them as in training, or set "
                f"model.check_inputs = False to predict anyway")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions in target units. A Gaussian head (twice as many outputs
        as targets, trained with ``loss='gaussian_nll'``) gives means in target
        units, then log-variances in squared target units, so
        :func:`split_gaussian` works on its output unchanged."""
        if self.check_inputs and not self.training:
            self._check_range(x)
        out = self.core(x)
        k = self.y_mean.shape[-1]
        if out.ndim == 2 and out.shape[1] == 2 * k:
            return torch.cat(
                [
                    out[:, :k] * self.y_std + self.y_mean,
                    out[:, k:] + 2 * torch.log(self.y_std),
                ],
                dim=1,
            )
        return out * self.y_std + self.y_mean


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024,
            device: str | torch.device | None = None) -> torch.Tensor:
    """Predictions of ``model`` for images ``x``, in evaluation mode, returned as a float CPU tensor.

    The model is left in evaluation mode (so batch norm uses its running statistics).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_images(x, "x")
    batch_size = check_positive_int(batch_size, "batch_size")
    first = next(model.parameters(), None)
    dev = get_device(device) if device is not None or first is None else first.device
    model.to(dev).eval()
    outs = [model(x[i:i + batch_size].to(dev)).float() for i in range(0, x.shape[0], batch_size)]
    return torch.cat(outs).cpu()
