"""pytest settings for the teacher's check, ``python -m pytest --nbval-lax notebooks/``.

- The claim callouts' measured values differ from machine to machine: nbval compares them through
  ``nbval_sanitize.cfg`` (beside this file) unless ``--nbval-sanitize-with`` names another file.
- A cell whose ``execute_reply`` is lost ends 30 s after the kernel went idle instead of waiting
  for nbval's cell timeout (``tools/kernel_client.py``: ``guard_nbval``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools"))
from kernel_client import guard_nbval  # noqa: E402


def pytest_configure(config) -> None:
    """Default the sanitiser file and guard nbval's wait for a cell's reply."""
    if getattr(config.option, "nbval_sanitize_with", "absent") is None:
        config.option.nbval_sanitize_with = str(HERE / "nbval_sanitize.cfg")
    guard_nbval()
