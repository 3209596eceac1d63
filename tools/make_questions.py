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
import math
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "book" / "questions.template"
PAGE = ROOT / "book" / "questions.md"
RECORD = ROOT / "benchmarks" / "seed_sweep.json"
THIN_SD = 3.0  # a worst margin under this many seed-to-seed standard deviations is thin
# the share of seeds a claim held by 3 sd of a normal spread fails on: a count claim whose estimated
# failure rate is larger is thin
THIN_RATE = 0.5 * math.erfc(THIN_SD / math.sqrt(2))
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
    counts = record.get(chapter, {}).get("count_claims", {})
    if c is None:
        raise ValueError(f"the seed sweep has no record of {chapter} | '{statement}' (run tools/seed_sweep.py)")
    if c["failed_seeds"]:
        raise ValueError(f"{chapter} | '{statement}' failed on seeds {c['failed_seeds']}")
    if "control_values" not in c or c.get("control_held_seeds"):
        raise ValueError(f"{chapter} | '{statement}': no control recorded, or its control held")
    shown = statement.replace("|", "\\|")  # the page's tables split cells at a bare |
    return (f"**Asserted**: {shown} ({c['seeds']} seeds; worst {_show(c['worst_value'])} against "
            f"{c['op']} {_show(c['bound'])}{_margin(c, tests.get(statement), counts.get(statement, False))}; control "
            f"nearest the bound "
            f"{_show(c['control_best_value'])})")


def count_failure_rate(values: list[float], op: str, bound: float, trials: int | None) -> tuple[float, str]:
    """The estimated share of fresh seeds on which a count claim (``value >= bound`` or ``value > bound``)
    fails, and the model it comes from, fitted by moments to the recorded ``values``: of ``trials``
    runs per seed, a binomial, or a beta-binomial where the counts vary more from seed to seed than a
    binomial's (the runs of one seed share its data); with no fixed number of trials, a Poisson, or a
    negative binomial where they vary more. A standard deviation says little about a count whose worst
    value sits on its bound (one collapse of twelve is enough), its failure rate does."""
    if op not in (">=", ">") or len(values) < 2:
        raise ValueError(f"a count claim is 'value >= bound' over at least 2 seeds, got {op!r} over {len(values)}")
    below = math.floor(bound) + (op == ">") if bound == int(bound) else math.ceil(bound)  # fails below this count
    mean, var = statistics.fmean(values), statistics.variance(values)
    if trials:
        p = mean / trials
        spread = trials * p * (1 - p)
        if var <= spread or p in (0.0, 1.0):
            return sum(math.comb(trials, k) * p**k * (1 - p) ** (trials - k) for k in range(below)), "binomial"
        rho = (var / spread - 1) / (trials - 1)  # the runs' correlation within a seed
        if rho >= 1:
            raise ValueError("the counts vary more than a beta-binomial allows: record more seeds")
        a, b = p * (1 / rho - 1), (1 - p) * (1 / rho - 1)
        lbeta = lambda u, v: math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)  # noqa: E731
        return sum(math.exp(math.log(math.comb(trials, k)) + lbeta(k + a, trials - k + b) - lbeta(a, b))
                   for k in range(below)), "beta-binomial"
    if var <= mean:
        return sum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(below)), "Poisson"
    r = mean * mean / (var - mean)
    q = r / (r + mean)
    return sum(math.exp(math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1) + r * math.log(q)
                        + k * math.log(1 - q)) for k in range(below)), "negative binomial"


def _margin(claim: dict, level: float | None = None, trials: int | None | bool = False) -> str:
    """How far the worst value sits inside the bound, in seed-to-seed standard deviations of the
    claim's value: ", margin 4.3 sd", with "thin" below 3 (a claim that may fail on a seed not yet
    tried). Empty where the record holds no spread: one seed, or a value that never varies.

    A claim that a statistical test does not fire on data that has no effect (a p-value above the
    test's cut) fails on a fresh seed with the probability ``level`` the test was built for, whatever
    the spread of its p-values: the record lists such claims under ``calibrated_tests`` with that
    level, and the page says so instead.

    A count that must reach a bound (some of 12 runs collapse) is listed under ``count_claims`` with
    its number of runs per seed (null: no fixed number), and the page gives its estimated failure
    rate (:func:`count_failure_rate`), thin above the rate a 3 sd margin allows."""
    if level is not None:
        return f", a test at level {level:g}: by construction it fails on at most {level:.1%} of seeds"
    if trials is not False:
        values = list(claim["values"].values())
        rate, model = count_failure_rate(values, claim["op"], claim["bound"], trials)
        of = f" of {trials} runs" if trials else ""
        shown = "under 0.01%" if rate < 1e-4 else f"about {100 * rate:.2g}%"
        return (f", a count{of}: fails on {shown} of seeds ({model} fit to the {len(values)} counts)"
                + (" (thin)" if rate > THIN_RATE else ""))
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
