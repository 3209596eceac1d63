"""Shared test settings: no GUI for matplotlib, no progress bars, a fixed seed."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("COURSE_PROGRESS", "0")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
