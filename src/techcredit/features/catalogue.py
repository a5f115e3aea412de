"""The feature catalogue: every feature once, with its meaning, risk direction and reason.

Each :class:`Feature` names its source, unit, window, kind (numeric / ordinal /
boolean), the direction in which credit risk moves with the value (+1 rises, -1 falls,
0 unknown), and the reason code with Chinese and English texts used when the feature
costs an applicant. The builders' output columns and this catalogue are the same set,
in the same order (a test checks it).

Run ``python -m techcredit.features --markdown`` to print ``docs/features.md``.

Examples
--------
>>> f = get("tax_paid_sum_12m")
>>> f.source, f.window, f.direction, f.reason_code
('tax', '12m', -1, 'TAX_PAID_LOW')
>>> monotonic_trends(["tax_paid_sum_12m", "tax_grade_now"])
{'tax_paid_sum_12m': 'descending', 'tax_grade_now': 'ascending'}
>>> monotone_constraints(["tax_paid_sum_12m", "tax_grade_now", "ip_acquired_count_now"])
(-1, 1, 0)
>>> len(feature_names()) >= 40
True
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from techcredit.exceptions import InvalidInputError
from techcredit.features._catalogue_rows import ROWS
from techcredit.features._rules import legal_terms

__all__ = [
    "SOURCES",
    "Feature",
    "catalogue",
    "feature_names",
    "get",
    "main",
    "monotone_constraints",
    "monotonic_trends",
    "to_markdown",
]

SOURCES: dict[str, str] = {
    "tax": "tax", "inv": "invoice", "ip": "ip", "rnd": "rnd", "firm": "firm", "flag": "flag",
}
"""Feature-name prefix -> source."""

_WINDOWS = ("3m", "12m", "24m", "1y", "3y", "all", "now")
_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
_CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")

Kind = Literal["numeric", "ordinal", "boolean"]


@dataclass(frozen=True, slots=True)
class Feature:
    """One catalogued feature.

    Attributes
    ----------
    name : str
        ``<source>_<measure>_<window>``; flags are ``flag_<rule>``.
    source : str
        ``tax``, ``invoice``, ``ip``, ``rnd``, ``firm`` or ``flag``.
    unit : str
    window : str
        ``3m``, ``12m``, ``24m``, ``1y``, ``3y``, ``all`` (whole history), ``now``
        (state at ``as_of``) or ``rule`` (flags).
    kind : {"numeric", "ordinal", "boolean"}
    direction : {-1, 0, 1}
        +1: risk rises with the value; -1: risk falls; 0: unknown / not monotonic.
    reason_code : str
        Stable UPPER_SNAKE code; for flags, the rule id.
    reason_zh, reason_en : str
        Reason text shown when this feature costs an applicant.
    description : str
    """

    name: str
    source: str
    unit: str
    window: str
    kind: Kind
    direction: int
    reason_code: str
    reason_zh: str
    reason_en: str
    description: str


def _feature(row: tuple[str, str, str, int, str, str, str, str]) -> Feature:
    name, unit, kind, direction, code, zh, en, desc = row
    prefix = name.split("_", 1)[0]
    window = "rule" if prefix == "flag" else name.rsplit("_", 1)[1]
    problems = []
    if prefix not in SOURCES or not _NAME.match(name):
        problems.append("name must be <source>_<measure>_<window> in snake_case")
    if window not in (*_WINDOWS, "rule"):
        problems.append(f"window {window!r} not one of {_WINDOWS}")
    if kind not in ("numeric", "ordinal", "boolean") or direction not in (-1, 0, 1):
        problems.append("bad kind or direction")
    if not _CODE.match(code) or not (zh and en and desc):
        problems.append("reason code must be UPPER_SNAKE with zh, en and description")
    if problems:
        raise InvalidInputError([("catalogue", name, None, p) for p in problems])
    return Feature(name, SOURCES[prefix], unit, window, kind, direction,  # type: ignore[arg-type]
                   code, zh, en, desc)


@lru_cache(maxsize=1)
def catalogue() -> tuple[Feature, ...]:
    """Return every feature, in the builders' column order."""
    feats = tuple(_feature(r) for r in ROWS)
    for attr in ("name", "reason_code"):
        seen: set[str] = set()
        dup = [v for f in feats if (v := getattr(f, attr)) in seen or seen.add(v)]
        if dup:
            raise InvalidInputError([("catalogue", d, attr, "duplicate") for d in dup])
    return feats


@lru_cache(maxsize=1)
def _by_name() -> dict[str, Feature]:
    return {f.name: f for f in catalogue()}


@lru_cache(maxsize=16)
def feature_names(source: str | None = None) -> tuple[str, ...]:
    """Return feature names in column order, optionally of one source only."""
    return tuple(f.name for f in catalogue() if source is None or f.source == source)


def get(name: str) -> Feature:
    """Return the catalogue entry of one feature.

    Raises
    ------
    InvalidInputError
        If the feature is not catalogued.
    """
    try:
        return _by_name()[name]
    except KeyError:
        raise InvalidInputError([("catalogue", name, None, "unknown feature")]) from None


def _entries(names: Iterable[str] | None) -> list[Feature]:
    return list(catalogue()) if names is None else [get(n) for n in names]


def monotonic_trends(names: Iterable[str] | None = None) -> dict[str, str]:
    """Return optbinning ``monotonic_trend`` per feature from its direction.

    ``"ascending"`` (event rate rises with the value) for +1, ``"descending"`` for -1,
    ``"auto"`` for 0.
    """
    word = {1: "ascending", -1: "descending", 0: "auto"}
    return {f.name: word[f.direction] for f in _entries(names)}


def monotone_constraints(names: Sequence[str] | None = None) -> tuple[int, ...]:
    """Return XGBoost ``monotone_constraints`` (+1 / -1 / 0) for the given column order."""
    return tuple(f.direction for f in _entries(names))


def to_markdown() -> str:
    """Render the catalogue as the Markdown of ``docs/features.md``."""
    lines = [
        "# Feature catalogue",
        "",
        "Generated by `python -m techcredit.features --markdown > docs/features.md`; do not edit.",
        "",
        f"{len(catalogue())} features, built by `techcredit.features.build_features(tables, "
        "as_of=..., firm_ids=...)`.",
        "",
        "## Rules",
        "",
        "- **Point in time.** A record counts only if the date it became known is on or "
        "before `as_of`: filings by `filed_on`, grades by `published_on`, invoices by issue "
        "day, patents by filing / grant / event day, annual reports by `reported_on`, "
        "registry statuses and qualifications by their dates.",
        "- **Windows** (`3m`, `12m`, `24m`) are calendar months ending at the *reference "
        "month*, the last month whose VAT filing deadline (day "
        f"{legal_terms().vat_filing_deadline_day} of the next month) has "
        "passed by `as_of`; `1y` / `3y` are the last one / three reported financial years; "
        "`now` is the state at `as_of`; `all` is the whole history up to `as_of`.",
        "- **Missing sources** give counts and sums of 0, ratios NaN (denominator not "
        "positive), ages NaN, booleans false; a NaN input never raises a flag.",
        "- **Direction**: +1 risk rises with the value, -1 risk falls, 0 unknown. It gives "
        "the scorecard's monotonic trend and XGBoost's monotone constraint.",
        "- **Numbers**: statutory terms (patent terms, certificate validity, filing "
        "deadline) live in `src/techcredit/features/legal_terms.yaml`; flag thresholds in "
        "`models/policy.yaml` (`flags`).",
    ]
    for source in dict.fromkeys(SOURCES.values()):
        lines += ["", f"## {source}", "",
                  "| name | unit | window | kind | dir | reason code | reason (zh) "
                  "| reason (en) | description |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for f in catalogue():
            if f.source == source:
                cells = (f"`{f.name}`", f.unit, f.window, f.kind, f"{f.direction:+d}",
                         f"`{f.reason_code}`", f.reason_zh, f.reason_en,
                         f.description.replace("|", "\\|"))
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--markdown`` prints the catalogue as Markdown."""
    parser = argparse.ArgumentParser(prog="python -m techcredit.features")
    parser.add_argument("--markdown", action="store_true", help="print docs/features.md")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(to_markdown())
    else:
        sys.stdout.write("\n".join(feature_names()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
