"""Fraud and data-quality flags (DOMAIN.md section 4) from the other blocks' features.

Each flag is a boolean feature ``flag_*`` whose rule id is its catalogue reason code;
thresholds come from ``models/policy.yaml`` (section ``flags``). A NaN input (e.g. no
invoices, so no buyer share) never raises a flag: comparisons with NaN are false.

Examples
--------
>>> import numpy as np
>>> from techcredit.config.policy import load_policy
>>> feats = {"inv_top1_share_12m": np.array([0.6, 0.4, np.nan])}
>>> rule_flags(feats, load_policy().flags, only=["flag_buyer_top1"])["flag_buyer_top1"]
array([1., 0., 0.])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from techcredit.config._base import COMPARISONS
from techcredit.config.policy import FlagThresholds
from techcredit.features._jit import holds, kernel, kernel_array
from techcredit.features.catalogue import feature_names, get

__all__ = ["NAMES", "RULES", "RULE_IDS", "flag_block", "rule_flags"]

NAMES = feature_names("flag")

RULE_IDS: dict[str, str] = {name: get(name).reason_code for name in NAMES}
"""Flag feature -> rule id (UPPER_SNAKE), e.g. ``flag_invoice_spike`` -> ``INVOICE_SPIKE``."""

RULES: dict[str, tuple[str, str, str]] = {
    "flag_tax_volatility": ("tax_volatile_months_12m", ">=", "tax_volatility.months_min"),
    "flag_zero_filings": ("tax_zero_filings_12m", ">=", "zero_filings.count_min"),
    "flag_filing_gaps": ("tax_missing_months_24m", ">", "filing_gaps.missing_max"),
    "flag_invoice_spike": ("inv_spike_ratio_12m", ">=", "invoice_spike.multiple"),
    "flag_red_letter": ("inv_red_ratio_12m", ">", "red_letter.ratio_max"),
    "flag_buyer_top1": ("inv_top1_share_12m", ">", "buyer_concentration.top1_max"),
    "flag_buyer_top5": ("inv_top5_share_12m", ">", "buyer_concentration.top5_max"),
    "flag_invoice_tax_gap": ("inv_tax_gap_12m", ">", "invoice_tax_gap.gap_max"),
    "flag_night_invoicing": ("inv_night_share_12m", ">", "night_invoicing.share_max"),
    "flag_legal_rep_change": ("firm_rep_change_months_now", "<", "legal_rep_change.months_min"),
    "flag_staff_few": ("rnd_staff_count_1y", "<=", "staff.staff_min"),
    "flag_st_staff_implausible": ("rnd_st_staff_share_1y", ">=", "staff.st_share_max"),
}
"""Flag -> (feature, comparison, threshold path in ``policy.flags``). The S&T-staff flag
also needs ``rnd_staff_count_1y >= staff.st_share_staff_min``."""



def _threshold(thresholds: FlagThresholds, path: str) -> float:
    section, field = path.split(".")
    return float(getattr(getattr(thresholds, section), field))


_Plan = tuple[np.ndarray, np.ndarray, np.ndarray, int, int, float]
_PLANS: dict[tuple[int, int], tuple[FlagThresholds, tuple[str, ...], _Plan]] = {}


def _plan(thresholds: FlagThresholds, columns: tuple[str, ...]) -> _Plan:
    """The plan for one policy object and column layout, cached by identity (cheap)."""
    key = (id(thresholds), id(columns))
    hit = _PLANS.get(key)
    if hit is not None and hit[0] is thresholds and hit[1] is columns:
        return hit[2]
    plan = _make_plan(thresholds, columns)
    if len(_PLANS) > 64:
        _PLANS.clear()
    _PLANS[key] = (thresholds, columns, plan)
    return plan


def _make_plan(thresholds: FlagThresholds, columns: tuple[str, ...]) -> _Plan:
    """Per flag (in :data:`NAMES` order): input row, comparison (its index in the YAML
    ``Comparison``, as :func:`~techcredit.features._jit.holds` reads it)
    and threshold; then the staff rule's flag row, staff row and staff minimum."""
    where = {name: j for j, name in enumerate(columns)}
    return (np.array([where[RULES[f][0]] for f in NAMES], dtype=np.intp),
            np.array([COMPARISONS.index(RULES[f][1]) for f in NAMES], dtype=np.int64),
            np.array([_threshold(thresholds, RULES[f][2]) for f in NAMES], dtype=np.float64),
            NAMES.index("flag_st_staff_implausible"), where["rnd_staff_count_1y"],
            float(thresholds.staff.st_share_staff_min))


def flag_block(features: np.ndarray, rows: tuple[str, ...],
               thresholds: FlagThresholds) -> np.ndarray:
    """Flags (0.0 / 1.0) as a ``(len(NAMES), n)`` array from a ``(features, n)`` array.

    ``rows`` names the rows of ``features``; it must hold every input of :data:`RULES`.
    A flag is never raised on a missing (NaN) input.
    """
    src, ops, limits, st_row, staff_row, staff_min = _plan(thresholds, rows)
    out = np.empty((len(NAMES), features.shape[1]))
    _flags(kernel_array(features), src, ops, limits, st_row, staff_row, staff_min, out)
    return out


@kernel
def _flags(features: np.ndarray, src: np.ndarray, ops: np.ndarray, limits: np.ndarray,
           st_row: int, staff_row: int, staff_min: float, out: np.ndarray) -> None:
    """Row ``k`` of ``out``: whether ``features[src[k]] <ops[k]> limits[k]`` holds, as
    0.0 / 1.0; the staff flag only where the staff count reaches ``staff_min``."""
    for i in range(features.shape[1]):
        for k in range(src.size):
            out[k, i] = 1.0 if holds(features[src[k], i], ops[k], limits[k]) else 0.0
        if not features[staff_row, i] >= staff_min:
            out[st_row, i] = 0.0


def rule_flags(feats: Mapping[str, np.ndarray], thresholds: FlagThresholds,
               only: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Evaluate flags (as 0.0 / 1.0 arrays) on named features; a convenience for callers
    holding features by name (the builders use :func:`flag_block`)."""
    out = {}
    ops = {">=": np.greater_equal, ">": np.greater, "<": np.less, "<=": np.less_equal}
    for name in (NAMES if only is None else only):
        feature, op, path = RULES[name]
        flag = ops[op](feats[feature], _threshold(thresholds, path))
        if name == "flag_st_staff_implausible":
            flag &= feats["rnd_staff_count_1y"] >= thresholds.staff.st_share_staff_min
        out[name] = flag.astype(np.float64)
    return out
