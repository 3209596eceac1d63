"""Write the questions page (``book/questions.md``) from its template and the claim record.

The page says, for each point of each question, whether the book asserts it, measures it or has not
tested it. Those verdicts must not go stale when a claim changes, so the template
(``book/questions.template``, plain markdown; Sphinx does not read the suffix) never writes
**Asserted** by hand. It names the claims behind a verdict instead::

    {{asserted 02_mean_collapse | some initialisations of the question's setup collapse}}
    {{measured}}      {{not tested}}

and this script replaces each by the verdict and, for an asserted claim, the worst value over the
seed sweep (``benchmarks/seed_sweep.json``) beside its bound and its control, e.g.
``**Asserted**: <statement> (30 seeds; worst 0.74 against > 0.3; control nearest the bound 0.12)``.
A claim that the record lacks, that failed on a seed, whose control held, or that its chapter no
longer states, stops the script with the reason, so a changed claim changes the page or the build
stops:

    python tools/make_questions.py           # rewrite book/questions.md
    python tools/make_questions.py --check   # exit 1 if the page differs from what it would write
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "book" / "questions.template"
PAGE = ROOT / "book" / "questions.md"
RECORD = ROOT / "benchmarks" / "seed_sweep.json"
THIN_SD = 3.0  # a worst margin under this many seed-to-seed standard deviations is thin
PLACEHOLDER = re.compile(r"\{\{\s*(asserted|measured|not tested)\s*(?:([0-9][0-9a-z_]*)\s*\|\s*([^}]+?))?\s*\}\}")
HEADER = ("<!-- Written by tools/make_questions.py from book/questions.template and "
          "benchmarks/seed_sweep.json: edit those, not this page. -->\n")


def _show(v: float) -> str:
    return ("∞" if v > 0 else "−∞") if v in (float("inf"), float("-inf")) else f"{v:.3g}"


def stated_claims(chapter: str) -> set[str]:
    """The statements a chapter's code passes to ``cl.claim`` (its first argument)."""
    nb = json.loads((ROOT / "notebooks" / f"{chapter}.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return set(re.findall(r'cl\.claim\(\s*"([^"]+)"', code))


def verdict(kind: str, chapter: str | None, statement: str | None, record: dict) -> str:
    """One placeholder's text: the verdict, with the record's worst value for an asserted claim."""
    if kind != "asserted":
        if chapter:
            raise ValueError(f"'{kind}' takes no claim (got {chapter} | {statement})")
        return f"**{kind.capitalize()}**"
    if not chapter:
        raise ValueError("'asserted' names its claim: {{asserted NN_chapter | statement}}")
    if statement not in stated_claims(chapter):
        raise ValueError(f"{chapter} states no claim '{statement}'")
    c = record.get(chapter, {}).get("claims", {}).get(statement)
    tests = record.get(chapter, {}).get("calibrated_tests", {})
    if c is None:
        raise ValueError(f"the seed sweep has no record of {chapter} | '{statement}' (run tools/seed_sweep.py)")
    if c["failed_seeds"]:
        raise ValueError(f"{chapter} | '{statement}' failed on seeds {c['failed_seeds']}")
    if "control_values" not in c or c.get("control_held_seeds"):
        raise ValueError(f"{chapter} | '{statement}': no control recorded, or its control held")
    shown = statement.replace("|", "\\|")  # the page's tables split cells at a bare |
    return (f"**Asserted**: {shown} ({c['seeds']} seeds; worst {_show(c['worst_value'])} against "
            f"{c['op']} {_show(c['bound'])}{_margin(c, tests.get(statement))}; control nearest the bound "
            f"{_show(c['control_best_value'])})")


def _margin(claim: dict, level: float | None = None) -> str:
    """How far the worst value sits inside the bound, in seed-to-seed standard deviations of the
    claim's value: ", margin 4.3 sd", with "thin" below 3 (a claim that may fail on a seed not yet
    tried). Empty where the record holds no spread: one seed, or a value that never varies.

    A claim that a statistical test does not fire on data that has no effect (a p-value above the
    test's cut) fails on a fresh seed with the probability ``level`` the test was built for, whatever
    the spread of its p-values: the record lists such claims under ``calibrated_tests`` with that
    level, and the page says so instead."""
    if level is not None:
        return f", a test at level {level:g}: by construction it fails on at most {level:.1%} of seeds"
    std, margin = claim.get("std"), claim.get("worst_margin")
    if not std or margin is None or margin != margin:
        return ""
    sds = margin / std
    return f", margin {sds:.1f} sd" + (" (thin)" if sds < THIN_SD else "")


def render(template: str, record: dict) -> str:
    """The page: the template with every placeholder replaced (a ValueError names a bad one)."""
    for word in ("**Asserted**", "**Measured**", "**Not tested**"):
        if word in template:
            raise ValueError(f"the template writes {word} by hand: use a {{{{...}}}} placeholder")
    return HEADER + PLACEHOLDER.sub(lambda m: verdict(m[1], m[2], m[3] and m[3].strip(), record), template)


def main() -> int:
    """Command line: rewrite the page, or with --check report whether it is current."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is not what it would write")
    args = parser.parse_args()
    page = render(TEMPLATE.read_text(), json.loads(RECORD.read_text()))
    if args.check:
        if PAGE.read_text() != page:
            print("book/questions.md is stale: run python tools/make_questions.py")
            return 1
        return 0
    PAGE.write_text(page)
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
