"""Batched data augmentation in plain torch (any device, no torchvision), the dihedral group D4,
test-time augmentation, and a D4-invariant model (:class:`course_lib.models.RotationPooled` pools
over finer rotation groups).

An augmentation is a function ``augment(x, generator) -> x`` on a batch (N, C, H, W) of images
in [0, 1]; :func:`course_lib.fit` calls it on every training batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ._checks import check_images, check_number, check_positive_int
from .models import predict

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

#: The 8 elements of D4 as (number of 90° rotations, whether to mirror first).
D4 = tuple((k, flip) for flip in (False, True) for k in range(4))


def d4_transform(x: torch.Tensor, element: int) -> torch.Tensor:
    """Apply D4 element ``element`` (0..7): mirror left-right if ``element >= 4``, then rotate by
    ``element % 4`` quarter turns. Square images only."""
    check_images(x, "x")
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"x must hold square images for 90° rotations, got {tuple(x.shape[-2:])}")
    if isinstance(element, bool) or not isinstance(element, int) or not 0 <= element < 8:
        raise ValueError(f"element must be an int in 0..7, got {element!r}")
    k, flip = D4[element]
    if flip:
        x = x.flip(-1)
    return torch.rot90(x, k, dims=(-2, -1)) if k else x


def d4_inverse(element: int) -> int:
    """The element that undoes ``element``: rotations invert to the opposite turn, mirrors to themselves."""
    if isinstance(element, bool) or not isinstance(element, int) or not 0 <= element < 8:
        raise ValueError(f"element must be an int in 0..7, got {element!r}")
    k, flip = D4[element]
    return element if flip else (4 - k) % 4


def random_d4(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply an independent random D4 element (of 8) to each image of the batch."""
    check_images(x, "x")
    which = torch.randint(0, 8, (x.shape[0],), generator=generator, device=generator.device if generator else "cpu")
    which = which.to(x.device)
    out = torch.empty_like(x)
    for e in range(8):
        idx = torch.nonzero(which == e).flatten()
        if idx.numel():
            out[idx] = d4_transform(x[idx], e)
    return out


def _mirror_half(x: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror each image left-right with probability 1/2; return the images and which were mirrored."""
    check_images(x, "x")
    dev = generator.device if generator is not None else torch.device("cpu")
    flip = (torch.rand(x.shape[0], generator=generator, device=dev) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x), flip


def random_hflip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2. Only right when the target does not
    change under a mirror (see :func:`random_hflip_with_target` for one that does)."""
    return _mirror_half(x, generator)[0]


class TargetAware:
    """An augmentation that changes the target together with the image.

    Wraps ``fn(x, y, generator) -> (x, y)``; :func:`course_lib.fit` calls it with the batch's
    targets too. Use it when a transform moves what the target measures (a position, an angle).
    """

    def __init__(self, fn: Callable[[torch.Tensor, torch.Tensor, torch.Generator | None],
                                    tuple[torch.Tensor, torch.Tensor]]) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be a function (x, y, generator) -> (x, y), got {type(fn).__name__}")
        self.fn = fn

    def __call__(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the augmented images and their targets."""
        return self.fn(x, y, generator)


def random_hflip_with_target(image_size: int, column: int = 0) -> TargetAware:
    """Mirror each image left-right with probability 1/2 and move the horizontal coordinate in
    target ``column`` with it: ``x -> image_size - 1 - x`` (pixel coordinates from the left edge,
    as :func:`course_lib.make_box_dataset` gives with ``origin='corner'``)."""
    image_size = check_positive_int(image_size, "image_size")
    column = check_positive_int(column, "column", minimum=0)

    def flip(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        check_images(x, "x")
        if x.shape[-1] != image_size:
            raise ValueError(f"x must be {image_size} pixels wide, got {x.shape[-1]}")
        if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[1] <= column or y.shape[0] != x.shape[0]:
            raise ValueError(f"y must be a tensor (N, k) with k > column={column} and N = {x.shape[0]}")
        x, mask = _mirror_half(x, generator)
        y = y.clone()
        y[:, column] = torch.where(mask.to(y.device), image_size - 1 - y[:, column], y[:, column])
        return x, y

    return TargetAware(flip)


def random_rotation(max_degrees: float = 20.0) -> Augment:
    """An augmentation that rotates each image by a random angle in ±``max_degrees`` (bilinear,
    border pixels repeated)."""
    max_degrees = check_number(max_degrees, "max_degrees", low=0.0, high=180.0)

    def rotate_randomly(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        check_images(x, "x")
        dev = generator.device if generator is not None else torch.device("cpu")
        u = torch.rand(x.shape[0], generator=generator, device=dev).to(x.device)
        return _rotate_radians(x, (2 * u - 1) * math.radians(max_degrees))

    return rotate_randomly


def _rotate_radians(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Each image of ``x`` turned by its ``angle`` (radians, (N,)): bilinear, border pixels repeated."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(x.shape[0], 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Images ``x`` (N, C, H, W) turned by ``degrees`` about their centre,
    by bilinear interpolation (:func:`random_rotation` resamples the same
    way). At a multiple of 90 degrees every pixel centre lands on a pixel
    centre and nothing is interpolated; at any other angle each new pixel
    mixes four old ones, which blurs a small image."""
    check_images(x, "x")
    degrees = check_number(degrees, "degrees", low=-360.0, high=360.0)
    angle = torch.full((x.shape[0],), math.radians(degrees), dtype=x.dtype)
    return _rotate_radians(x, angle.to(x.device))


def photometric(brightness: float = 0.2, noise_std: float = 0.02) -> Augment:
    """An augmentation that multiplies each image by a random factor in 1 ± ``brightness`` and adds
    Gaussian pixel noise of standard deviation up to ``noise_std`` (images in [0, 1])."""
    brightness = check_number(brightness, "brightness", low=0.0, high=1.0)
    noise_std = check_number(noise_std, "noise_std", low=0.0)

    def jitter(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        check_images(x, "x")
        dev = generator.device if generator is not None else torch.device("cpu")
        n = x.shape[0]
        gain = 1 + brightness * (2 * torch.rand(n, 1, 1, 1, generator=generator, device=dev) - 1)
        sigma = noise_std * torch.rand(n, 1, 1, 1, generator=generator, device=dev)
        noise = torch.randn(x.shape, generator=generator, device=dev)
        return x * gain.to(x.device) + (sigma * noise).to(x.device)

    return jitter


def compose(*augments: Augment) -> Augment:
    """An augmentation that applies ``augments`` in order (image-only augmentations)."""
    if not augments or not all(callable(a) for a in augments):
        raise TypeError("compose needs one or more augmentation functions")
    if any(isinstance(a, TargetAware) for a in augments):
        raise TypeError("compose takes image-only augmentations; wrap a target-aware chain in TargetAware")

    def chain(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for a in augments:
            x = a(x, generator)
        return x

    return chain


@torch.no_grad()
def tta_predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024,
                device: str | torch.device | None = None) -> torch.Tensor:
    """Test-time augmentation: the average of ``model``'s predictions over the 8 D4 transforms of ``x``."""
    check_images(x, "x")
    return torch.stack([predict(model, d4_transform(x, e), batch_size, device) for e in range(8)]).mean(0)


class D4Invariant(nn.Module):
    """A D4-invariant model: one shared ``features`` network applied to the
    8 rotated and mirrored copies of the input, features averaged over the
    copies, then ``head``.

    Its output is the same (up to floating point) for an image and any of
    its 8 transforms, because the 8 copies of a transformed image are the
    same set, in another order.
    """

    def __init__(self, features: nn.Module, head: nn.Module) -> None:
        super().__init__()
        if not isinstance(features, nn.Module) or not isinstance(
            head, nn.Module
        ):
            raise TypeError(
                "features and head must be torch.nn.Module instances"
            )
        self.features, self.head = features, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, C, H, W) to outputs, pooling the features of the 8
        D4 copies."""
        n = x.shape[0]
        copies = torch.cat([d4_transform(x, e) for e in range(8)])
        feats = self.features(copies)
        return self.head(feats.reshape(8, n, *feats.shape[1:]).mean(0))
