"""The book's claims as measured comparisons, each with a control that must fail it.

A chapter states a claim in one call::

    cl.claim("conformal intervals cover 90% within 0.05", gap, "<", 0.05, control=raw_gap)

``value op bound`` must hold, and ``control`` (the same measurement on a case where the claim must
not hold: the uncalibrated intervals, the plain CNN, the worst candidate) must fail the same bound;
a claim its own control passes says nothing. :func:`claim` raises :class:`ClaimFailed` (an
``AssertionError``) with its statement when either goes wrong, and otherwise returns a
:class:`Callout`, the box the reader sees under the cell. Several claims in one cell are one call,
``cl.all_hold(cl.claim(...), cl.claim(...))``. The module keeps no state between calls.

When the environment variable ``COURSE_CLAIMS_LOG`` names a file, every claim also appends one JSON
line to it (statement, value, control, operator, bound, margins), which is how the seed sweep
(``tools/seed_sweep.py``) measures how close each claim, and each control, came to the bound.
"""

from __future__ import annotations

import html
import json
import math
import os
from dataclasses import dataclass

from ._checks import check_number

OPERATORS = ("<", "<=", ">", ">=")
LOG_VARIABLE = "COURSE_CLAIMS_LOG"


class ClaimFailed(AssertionError):
    """A claim did not hold, or its control held too (so the claim could not have failed)."""


def margin(value: float, op: str, bound: float) -> float:
    """How far ``value`` is inside the claim ``value op bound``: positive when it holds.

    The margin is absolute, in the value's units: ``bound - value`` for ``<`` and ``<=``,
    ``value - bound`` for ``>`` and ``>=``.
    """
    if op not in OPERATORS:
        raise ValueError(f"op must be one of {OPERATORS}, got {op!r}")
    value = _number(value, "value")
    bound = check_number(bound, "bound")
    return bound - value if op in ("<", "<=") else value - bound


def _number(value: object, name: str) -> float:
    """``value`` as a float: a number, a bool (1 or 0) or a one-element tensor/array."""
    if hasattr(value, "item") and not isinstance(value, (int, float)):
        value = value.item()
    if not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)  # NaN (never holds) and infinities ("beyond any size tried") pass


def _holds(m: float, op: str) -> bool:
    return not math.isnan(m) and (m > 0 or (m == 0 and op in ("<=", ">=")))


def _show(v: float) -> str:
    """A number as the callout prints it; an infinity is "beyond anything measured"."""
    return ("∞" if v > 0 else "−∞") if math.isinf(v) else f"{v:.4g}"


@dataclass(frozen=True)
class Checked:
    """One claim that held: its statement, the measured value, the control's, and the bound."""

    statement: str
    value: float
    op: str
    bound: float
    control: float

    def line_html(self) -> str:
        """The claim as one item of the callout: statement, then measured value against the bound."""
        op = html.escape(self.op)
        return (f"<li>{html.escape(self.statement)}<br><span class='course-claim-numbers'>"
                f"measured {_show(self.value)}, claimed {op} {_show(self.bound)}; "
                f"control measured {_show(self.control)}, which fails it</span></li>")


class Callout:
    """Claims that held, as the reader sees them: each statement once, in a box, with its numbers.

    Its plain text (what a terminal prints, and what the book's output check compares) is one
    ``"claim holds: <statement>"`` line per claim, the same on every machine; its HTML adds each
    measured value and its control's against the bound, which vary from seed to seed and machine
    to machine. The box inherits the page's text colour, so it reads in light and dark themes.
    """

    def __init__(self, checked: list[Checked]) -> None:
        self.checked = list(checked)

    def __repr__(self) -> str:
        return "\n".join(f"claim holds: {c.statement}" for c in self.checked)

    def _repr_html_(self) -> str:
        title = "Claim holds" if len(self.checked) == 1 else "Claims hold"
        rows = "".join(c.line_html() for c in self.checked)
        return ("<div class='course-claim' role='note' style='border-left:4px solid #2e9e5b;"
                "background:rgba(46,158,91,0.12);color:inherit;padding:0.5em 1em;margin:0.5em 0'>"
                f"<strong>✓ {title}.</strong><ul style='margin:0.3em 0 0 0'>{rows}</ul></div>")


def _log(record: dict) -> None:
    path = os.environ.get(LOG_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def claim(statement: str, value: float | bool, op: str | None = None, bound: float | None = None, *,
          control: float | bool) -> Callout:
    """Check that ``value op bound`` holds and that ``control`` fails it; return the callout.

    Args:
        statement: what the claim says, in words (shown to the reader, raised on failure, and the
            seed sweep's key: unique within its chapter).
        value: the measured number (a float, or a one-element tensor); or a ``bool`` for a yes/no
            claim, given without ``op`` and ``bound`` (compared as 1 or 0 against 0.5).
        op: one of ``"<"``, ``"<="``, ``">"``, ``">="``.
        bound: the number the claim compares against.
        control: the same measurement on a case where the claim must not hold (a bool for a yes/no
            claim). The claim only counts if its control fails the bound.

    Raises:
        ClaimFailed: the value does not hold (a NaN never holds), or the control holds as well.
    """
    if not isinstance(statement, str) or not statement.strip():
        raise TypeError(f"statement must be a non-empty string, got {statement!r}")
    if op is None and bound is None:
        if not isinstance(value, bool) or not isinstance(control, bool):
            raise TypeError("a claim without op and bound takes bool value and control, got "
                            f"{type(value).__name__} and {type(control).__name__}")
        op, bound = ">", 0.5
    elif op is None or bound is None:
        raise TypeError("give both op and bound, or neither (for a yes/no claim)")
    m = margin(value, op, bound)
    cm = margin(_number(control, "control"), op, bound)
    value, control, bound = _number(value, "value"), _number(control, "control"), float(bound)
    held, control_held = _holds(m, op), _holds(cm, op)
    _log({"name": statement, "value": value, "op": op, "bound": bound, "margin": m,
          "relative_margin": m / abs(bound) if bound else m, "held": held,
          "control": control, "control_margin": cm, "control_held": control_held})
    if not held:
        raise ClaimFailed(f"claim failed: {statement} (measured {_show(value)}, claimed {op} {_show(bound)})")
    if control_held:
        raise ClaimFailed(f"claim says nothing: its control holds too: {statement} (control measured "
                          f"{_show(control)}, claimed {op} {_show(bound)})")
    return Callout([Checked(statement, value, op, bound, control)])


def all_hold(*callouts: Callout) -> Callout:
    """Show several claims of one cell in one box: ``cl.all_hold(cl.claim(...), cl.claim(...))``."""
    if not callouts:
        raise ValueError("all_hold needs at least one claim: cl.all_hold(cl.claim(...), ...)")
    for c in callouts:
        if not isinstance(c, Callout):
            raise TypeError(f"all_hold takes what cl.claim returns, got {type(c).__name__}")
    return Callout([checked for c in callouts for checked in c.checked])
