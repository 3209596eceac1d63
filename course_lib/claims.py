"""The book's claims as measured comparisons, with the margin by which each held.

A chapter states a claim in an assertion cell::

    assert cl.claim("collapsed spread", ratio, "<", 0.05), "a collapsed run predicts a constant"

:func:`claim` returns whether ``value op bound`` is true, so the ``assert`` fails exactly when the
claim does. When the environment variable ``COURSE_CLAIMS_LOG`` names a file, every call also
appends one JSON line to it (name, value, operator, bound, margin), which is how the seed sweep
(``tools/seed_sweep.py``) measures how close each claim came to failing over many seeds.
"""

from __future__ import annotations

import json
import math
import os

from ._checks import check_number

OPERATORS = ("<", "<=", ">", ">=")
_RECENT: list[tuple[str, float, str, float, bool]] = []  # claims checked since the last :func:`holds`
LOG_VARIABLE = "COURSE_CLAIMS_LOG"


def margin(value: float, op: str, bound: float) -> float:
    """How far ``value`` is inside the claim ``value op bound``: positive when it holds.

    The margin is absolute, in the value's units: ``bound - value`` for ``<`` and ``<=``,
    ``value - bound`` for ``>`` and ``>=``.
    """
    if op not in OPERATORS:
        raise ValueError(f"op must be one of {OPERATORS}, got {op!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise TypeError(f"value must be a number, got {type(value).__name__}")
    value = float(value)  # NaN (never holds) and infinities (e.g. "more than any size tried") pass
    bound = check_number(bound, "bound")
    return bound - value if op in ("<", "<=") else value - bound


def claim(name: str, value: float | bool, op: str | None = None, bound: float | None = None) -> bool:
    """Return whether ``value op bound`` holds, and log the margin when ``COURSE_CLAIMS_LOG`` is set.

    Args:
        name: a short name for the claim, unique within its chapter (the seed sweep's key).
        value: the measured number (a float, or a one-element tensor); or a ``bool`` for a yes/no
            claim, given without ``op`` and ``bound`` (logged as the value 1 or 0 against the bound 0.5).
        op: one of ``"<"``, ``"<="``, ``">"``, ``">="``.
        bound: the number the claim compares against.

    A NaN value never holds. Returns a plain ``bool`` for an ``assert``.
    """
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    if op is None and bound is None:
        if not isinstance(value, bool):
            raise TypeError(f"a claim without op and bound takes a bool value, got {type(value).__name__}")
        value, op, bound = float(value), ">", 0.5
    elif op is None or bound is None:
        raise TypeError("give both op and bound, or neither (for a bool claim)")
    if hasattr(value, "item"):
        value = value.item()
    m = margin(value, op, bound)
    held = bool(m > 0 or (m == 0 and op in ("<=", ">="))) and not math.isnan(m)
    if _RECENT and not _RECENT[-1][4]:  # the claim before failed, so its cell stopped there: start afresh
        _RECENT.clear()
    _RECENT.append((name, float(value), op, float(bound), held))
    path = os.environ.get(LOG_VARIABLE)
    if path:
        record = {"name": name, "value": float(value), "op": op, "bound": float(bound),
                  "margin": m, "relative_margin": m / abs(bound) if bound else m, "held": held}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    return held


class Callout:
    """A claim as the reader sees it: the statement in a box, with the measured numbers.

    Its plain text (what a terminal prints, and what the book's output check compares) is only
    ``"claim holds: <statement>"``, the same on every machine; its HTML adds each checked value
    against its bound, which vary from seed to seed and machine to machine.
    """

    def __init__(self, statement: str, checked: list[tuple[str, float, str, float, bool]]) -> None:
        self.statement = statement
        self.checked = checked

    def __repr__(self) -> str:
        return f"claim holds: {self.statement}"

    def _repr_html_(self) -> str:
        import html

        def number(v: float) -> str:  # an infinity means "beyond anything measured" (e.g. a size never reached)
            return ("∞" if v > 0 else "−∞") if math.isinf(v) else f"{v:.4g}"

        rows = "".join(
            f"<li><code>{html.escape(name)}</code>: measured {number(value)}, claimed {html.escape(op)} "
            f"{number(bound)}</li>" for name, value, op, bound, _ in self.checked)
        return ("<div class='course-claim' style='border-left:4px solid #1e8449;background:#eafaf1;"
                "padding:0.5em 1em;margin:0.5em 0'>"
                f"<strong>✓ Claim holds.</strong> {html.escape(self.statement)}"
                f"<ul style='margin:0.3em 0 0 0;font-size:90%'>{rows}</ul></div>")


def holds(statement: str) -> Callout:
    """Show that the claims just asserted hold: ``statement`` (what they mean, in words) in a box,
    with each measured value against its bound. Call it as a claim cell's last line, after the
    ``assert cl.claim(...)`` lines; it refuses to speak for a claim that did not hold.
    """
    if not isinstance(statement, str) or not statement.strip():
        raise TypeError(f"statement must be a non-empty string, got {statement!r}")
    checked = list(_RECENT)
    _RECENT.clear()
    if not checked:
        raise ValueError("no claim was checked since the last holds(): assert cl.claim(...) first")
    failed = [c[0] for c in checked if not c[4]]
    if failed:
        raise ValueError(f"claims did not hold: {failed}")
    return Callout(statement, checked)
