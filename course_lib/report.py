"""What a chapter prints: sentences wrapped to the page, tables of runs, and library source.

Nothing here draws (no matplotlib), so the exercise checks can print without importing a plotting
library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._checks import check_positive_int

PAGE_WIDTH = 76
"""Characters of code or printed text a book page shows without scrolling (at 1280 px)."""


def wrap_text(text: str, width: int = PAGE_WIDTH) -> str:
    """``text`` with each of its lines wrapped at ``width`` characters (at spaces, words kept
    whole); continuation lines are indented by two spaces. Lines that fit are left alone."""
    import textwrap

    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    width = check_positive_int(width, "width", minimum=20)
    return "\n".join(textwrap.fill(line, width=width, subsequent_indent="  ", break_long_words=False,
                                   break_on_hyphens=False) if len(line) > width else line
                     for line in text.split("\n"))


def print_wrapped(*parts: Any, width: int = PAGE_WIDTH) -> None:
    """``print(*parts)``, with lines longer than ``width`` wrapped so that the page shows them
    without a horizontal scroll bar (error messages, sentences). Tables should be printed
    narrow enough instead: wrapping breaks their columns."""
    print(wrap_text(" ".join(str(p) for p in parts), width))


def show_source(obj: Any) -> Any:
    """The source code of a ``course_lib`` function, class or method, for display in a notebook.

    Chapters call it where the lesson *is* the mechanism (the D4-invariant model, the
    preprocessing stored in a model, temperature scaling...), so the page shows the code that ran,
    never a copy that could drift from it. Returns an IPython ``Markdown`` object (a Python code
    block headed by the object's full name, its text in ``.data``); a notebook displays it.
    """
    import inspect
    import textwrap

    from IPython.display import Markdown

    target = obj.__func__ if inspect.ismethod(obj) else obj
    if not (inspect.isfunction(target) or inspect.isclass(target)):
        raise TypeError(f"obj must be a function, class or method, got {type(obj).__name__}")
    module = getattr(target, "__module__", "") or ""
    if not module.startswith("course_lib"):
        raise ValueError(f"obj must come from course_lib, got {module}.{target.__qualname__}")
    source = textwrap.dedent(inspect.getsource(target)).rstrip()
    text = f"`{module}.{target.__qualname__}`\n\n```python\n{source}\n```"
    return Markdown(text)


def print_table(rows: Mapping[str, Mapping[str, Any] | Sequence[Any]], columns: Sequence[str] | None = None,
                fmt: str | Sequence[str] = "{:.3f}", width: int = PAGE_WIDTH) -> None:
    """Print runs as a table: one row per name, one column per measurement, numbers as ``fmt``.

    ``rows`` maps a row's name to a dict of column -> value (columns from the first row unless
    ``columns`` names them) or to a sequence of values (one column per ``columns`` entry, or numbered
    when ``columns`` is None). ``fmt`` formats every number, or is a list of formats, one per
    column (``["{:.1f}", "{:.0f}"]``). Strings are printed as they are. Raises ``ValueError`` when
    the table would be wider than ``width`` (shorten the names: a wrapped table loses its columns).
    """
    if not isinstance(rows, Mapping) or not rows:
        raise TypeError("rows must be a non-empty dict of row name -> values")
    first = next(iter(rows.values()))
    if columns is None:
        columns = list(first) if isinstance(first, Mapping) else [str(i + 1) for i in range(len(first))]
    formats = [fmt] * len(columns) if isinstance(fmt, str) else list(fmt)
    if len(formats) != len(columns) or not all(isinstance(f, str) for f in formats):
        raise TypeError(f"fmt must be a format string or a list of {len(columns)} (one per column), got {fmt!r}")
    cells = {}
    for name, values in rows.items():
        if not isinstance(values, Mapping):
            if isinstance(values, str) or len(values) != len(columns):
                raise ValueError(f"row {name!r} has {len(values)} values for {len(columns)} columns")
            values = dict(zip(columns, values))
        cells[str(name)] = [v if isinstance(v, str) else f.format(v)
                            for v, f in zip((values.get(c, "") for c in columns), formats)]
    left = max(len(n) for n in cells)
    widths = [max(len(str(c)), *(len(r[i]) for r in cells.values())) for i, c in enumerate(columns)]
    lines = [" " * left + "".join(f"  {c:>{w}}" for c, w in zip(columns, widths))]
    lines += [f"{n:>{left}}" + "".join(f"  {v:>{w}}" for v, w in zip(r, widths)) for n, r in cells.items()]
    if max(len(line) for line in lines) > width:
        raise ValueError(f"the table is {max(len(line) for line in lines)} characters wide, over {width}: "
                         "shorten the row or column names")
    print("\n".join(lines))


def print_runs(runs: Mapping[str, Sequence[float]], reference: str | None = None, fmt: str = "{:.3f}",
               title: str | None = None, width: int = PAGE_WIDTH) -> dict[str, float]:
    """Print each setting's runs (one number per seed) as its mean, min and max, largest mean first.

    With ``reference`` (a key of ``runs``), a last column gives each mean over the reference's mean
    (two decimals). ``title`` is printed above the table. Returns the means in the order of ``runs``,
    so that what a chapter goes on to claim is exactly what it printed.
    """
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError("runs must be a non-empty dict of name -> list of numbers (one per run)")
    means = {}
    for name, values in runs.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"runs[{name!r}] must be a non-empty list of numbers, got {values!r}")
        values = [float(v) for v in values]
        means[name] = sum(values) / len(values)
    if reference is not None and reference not in means:
        raise ValueError(f"reference must be one of {list(means)}, got {reference!r}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    columns = ["mean", "min", "max"] + ([f"× {reference}"] if reference is not None else [])
    rows = {}
    for name in sorted(means, key=means.get, reverse=True):
        rows[name] = [means[name], min(runs[name]), max(runs[name])]
        if reference is not None:
            rows[name].append(f"{means[name] / means[reference]:.2f}")
    if title is not None:
        print(wrap_text(title, width))
    print_table(rows, columns, fmt, width)
    return means


def error_message(fn: Any, *args: Any, catch: tuple[type[Exception], ...] = (ValueError,), **kwargs: Any) -> str:
    """The message of the error that ``fn(*args, **kwargs)`` raises, or ``""`` when it returns.

    For showing what a refusal says (a model that checks its inputs, a function that checks its
    arguments) and measuring whether it comes. Only the exceptions in ``catch`` are caught.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function to call, got {type(fn).__name__}")
    if isinstance(catch, type):
        catch = (catch,)
    if not isinstance(catch, tuple) or not catch or not all(isinstance(c, type) and issubclass(c, Exception)
                                                            for c in catch):
        raise TypeError(f"catch must be a tuple of exception classes, got {catch!r}")
    try:
        fn(*args, **kwargs)
    except catch as err:
        return str(err)
    return ""
