"""Device, seed and size selection: the three switches every chapter reads.

A chapter calls :func:`setup` once. It reads the environment variables

* ``COURSE_DEVICE`` (``cuda``, ``mps`` or ``cpu``; default: the best available),
* ``COURSE_SIZE`` (``fast`` or ``full``; default ``fast`` on every device: ``full`` is opt-in until
  the chapters' full size has run to the end on a GPU, see :data:`FULL_VERIFIED_ON`),
* ``COURSE_SEED`` (an integer; default 0),

so that the same notebook runs unchanged on a laptop, in CI and on a Colab GPU.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

DEVICES = ("cuda", "mps", "cpu")
SIZES = ("fast", "full")
# Device types on which every chapter's full size has run to the end with all its claims; on these
# ``full`` becomes the default. Empty: no GPU run of the full size is recorded yet, so ``fast`` is
# the default everywhere.
FULL_VERIFIED_ON: tuple[str, ...] = ()
T = TypeVar("T")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(name: str | None = None) -> torch.device:
    """Return the device to compute on: CUDA, then MPS, then CPU.

    ``name`` (or the ``COURSE_DEVICE`` environment variable) overrides the choice; asking for a
    device that is not available raises ``ValueError``.
    """
    if name is None:
        name = os.environ.get("COURSE_DEVICE") or None
    if name is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if isinstance(name, torch.device):
        name = name.type
    if not isinstance(name, str):
        raise TypeError(f"device must be a string such as 'cpu', got {type(name).__name__}")
    kind = name.split(":")[0].lower()
    if kind not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {name!r}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but no CUDA GPU is available")
    if kind == "mps" and not _mps_available():
        raise ValueError("device='mps' was asked for but MPS is not available")
    return torch.device(name.lower())


def get_size(name: str | None = None, device: torch.device | str | None = None) -> str:
    """Return the run size, ``'fast'`` or ``'full'``.

    ``name`` (or ``COURSE_SIZE``) overrides; otherwise ``'full'`` on the device types listed in
    :data:`FULL_VERIFIED_ON` (none yet) and ``'fast'`` everywhere else.
    """
    if name is None:
        name = os.environ.get("COURSE_SIZE") or None
    if name is None:
        dev = get_device(device) if not isinstance(device, torch.device) else device
        return "full" if dev.type in FULL_VERIFIED_ON else "fast"
    if not isinstance(name, str):
        raise TypeError(f"size must be a string, got {type(name).__name__}")
    if name.lower() not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {name!r}")
    return name.lower()


def get_seed(seed: int | None = None) -> int:
    """Return the chapter seed: ``seed`` if given, else ``COURSE_SEED``, else 0."""
    if seed is None:
        raw = os.environ.get("COURSE_SEED", "0") or "0"
        try:
            seed = int(raw)
        except ValueError:
            raise ValueError(f"COURSE_SEED must be an integer, got {raw!r}") from None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return int(seed)


def set_seed(seed: int | None = None) -> int:
    """Seed Python's, NumPy's and PyTorch's generators in one call and return the seed used."""
    seed = get_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return seed


@dataclass(frozen=True)
class Settings:
    """What a chapter runs with: the device, the size (``fast``/``full``) and the seed."""

    device: torch.device
    size: str
    seed: int

    def pick(self, fast: T, full: T) -> T:
        """Return ``fast`` in fast mode and ``full`` in full mode (the one ``pick``: sizes follow
        what :func:`setup` chose, from its argument, ``COURSE_SIZE`` or the device's default)."""
        return fast if self.size == "fast" else full

    def __str__(self) -> str:
        return f"device={self.device.type}, size={self.size}, seed={self.seed}"


def setup(device: str | None = None, size: str | None = None, seed: int | None = None,
          verbose: bool = True) -> Settings:
    """Pick device, size and seed (arguments, then environment, then defaults) and seed everything.

    Call it at the top of every chapter; it prints what the chapter runs with and, on a second
    line, how to switch (:func:`switch_hint`).
    """
    dev = get_device(device)
    settings = Settings(device=dev, size=get_size(size, dev), seed=set_seed(seed))
    if verbose:
        print(f"course_lib: {settings}")
        for line in switch_hint(settings).splitlines():
            print(f"  {line}")
    return settings


def switch_hint(settings: Settings) -> str:
    """How to run the other size (and, on a Colab CPU runtime, how to get its GPU), in lines short
    enough for the book's page on a narrow window too (at most 64 characters, printed indented by two)."""
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be the Settings that setup() returns, got {type(settings).__name__}")
    other, what = ("full", "slower") if settings.size == "fast" else ("fast", "quicker")
    hint = f'to switch: os.environ["COURSE_SIZE"] = "{other}" ({what}), rerun'
    if settings.device.type == "cpu" and "google.colab" in sys.modules:
        hint += "\nfor a GPU: Runtime > Change runtime type > GPU, then rerun"
    return hint
