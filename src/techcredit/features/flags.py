"""Fraud and data-quality flags (DOMAIN.md section 4) from the other blocks' features.

Each flag is a boolean feature ``flag_*`` whose rule id is its catalogue reason code;
thresholds come from ``models/policy.yaml`` (section ``flags``). A NaN input (e.g. no
invoices, so no buyer share) never raises a flag.

Examples
--------
>>> import numpy as np
>>> from techcredit.config.policy import load_policy
>>> feats = {"inv_top1_share_12m": np.array([0.6, 0.4, np.nan])}
>>> rule_flags(feats, load_policy().flags, only=["flag_buyer_top1"])["flag_buyer_top1"]
array([1., 0., 0.])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from techcredit.config.policy import FlagThresholds
from techcredit.features.catalogue import feature_names, get

__all__ = ["RULE_IDS", "rule_flags"]

Feats = Mapping[str, np.ndarray]
_Rule = Callable[[Feats, FlagThresholds], np.ndarray]

_RULES: dict[str, _Rule] = {
    "flag_tax_volatility": lambda f, t: f["tax_volatile_months_12m"]
    >= t.tax_volatility.months_min,
    "flag_zero_filings": lambda f, t: f["tax_zero_filings_12m"] >= t.zero_filings.count_min,
    "flag_filing_gaps": lambda f, t: f["tax_missing_months_24m"] > t.filing_gaps.missing_max,
    "flag_invoice_spike": lambda f, t: f["inv_spike_ratio_12m"] >= t.invoice_spike.multiple,
    "flag_red_letter": lambda f, t: f["inv_red_ratio_12m"] > t.red_letter.ratio_max,
    "flag_buyer_top1": lambda f, t: f["inv_top1_share_12m"]
    > t.buyer_concentration.top1_max,
    "flag_buyer_top5": lambda f, t: f["inv_top5_share_12m"]
    > t.buyer_concentration.top5_max,
    "flag_invoice_tax_gap": lambda f, t: f["inv_tax_gap_12m"] > t.invoice_tax_gap.gap_max,
    "flag_night_invoicing": lambda f, t: f["inv_night_share_12m"]
    > t.night_invoicing.share_max,
    "flag_legal_rep_change": lambda f, t: f["firm_rep_change_months_now"]
    < t.legal_rep_change.months_min,
    "flag_staff_few": lambda f, t: f["rnd_staff_count_1y"] <= t.staff.staff_min,
    "flag_st_staff_implausible": lambda f, t: (
        (f["rnd_st_staff_share_1y"] >= t.staff.st_share_max)
        & (f["rnd_staff_count_1y"] >= t.staff.st_share_staff_min)),
}

RULE_IDS: dict[str, str] = {name: get(name).reason_code for name in feature_names("flag")}
"""Flag feature -> rule id (UPPER_SNAKE), e.g. ``flag_invoice_spike`` -> ``INVOICE_SPIKE``."""


def rule_flags(feats: Feats, thresholds: FlagThresholds,
               only: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Evaluate the flags (as 0.0 / 1.0 float arrays) on already built features."""
    names = feature_names("flag") if only is None else only
    # comparisons with NaN are False: a missing input never raises a flag
    return {n: np.asarray(_RULES[n](feats, thresholds), dtype=np.float64) for n in names}
