"""R&D, growth and qualification features, plus the firm's registry facts.

A yearly report counts only if ``reported_on <= as_of``; when a year was reported
twice the later report known by ``as_of`` wins. "Last year" (``_1y``) is the latest
reported year Y; three-year features (``_3y``) use the reports of Y-2, Y-1 and Y that
are known. Growth follows the high-tech recognition guideline (高新技术企业认定):

``rate = 0.5 * (Y2/Y1 + Y3/Y2) - 1`` with Y3 the last year. When Y1 is missing or not
positive the two-year rate ``Y3/Y2 - 1`` is used; when Y2 is missing or not positive
the rate is NaN (it scores 0 on the official scale). Qualifications are valid from
their grant date for the years in ``legal_terms.yaml``.

Examples
--------
>>> from techcredit.schemas import RawTables, records_to_frame
>>> firms = records_to_frame("firms", [{"firm_id": 1, "registered_on": "2015-01-01",
...     "industry_code": "C39", "region_code": "310000", "employees": 40, "st_staff": 8,
...     "high_tech_cert_on": "2021-11-01"}])
>>> rnd = records_to_frame("rnd", [{"firm_id": 1, "year": y, "reported_on": f"{y + 1}-05-31",
...     "revenue_cny": rev, "high_tech_revenue_cny": rev * 0.7, "rnd_expense_cny": rev * 0.06,
...     "domestic_rnd_expense_cny": rev * 0.06, "total_cost_cny": rev * 0.8,
...     "net_assets_cny": rev / 2, "total_assets_cny": rev, "staff": 40, "st_staff": 8,
...     "conversions": 2, "has_rnd_ledger": True, "has_rnd_institution": False,
...     "has_conversion_incentive": True, "has_talent_programme": False}
...     for y, rev in ((2020, 1e7), (2021, 1.2e7), (2022, 1.5e7))])
>>> empty = {n: records_to_frame(n, []) for n in
...     ("tax_grades", "tax_filings", "invoices", "patents", "patent_events")}
>>> row = rnd_features(RawTables(firms=firms, rnd=rnd, **empty), "2023-06-30").loc[1]
>>> round(row["rnd_sales_growth_3y"], 3), round(row["rnd_intensity_sales_3y"], 3)
(np.float64(0.225), np.float64(0.06))
>>> bool(row["rnd_hightech_valid_now"]), round(float(row["firm_age_years_now"]), 1)
(True, 8.5)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from techcredit.features._context import Context, make_context
from techcredit.features._groups import DAYS_PER_YEAR, INT_MIN, ratio
from techcredit.features._jit import kernel, output_rows, safe_ratio
from techcredit.features._query import prepare, to_frame
from techcredit.features.arrays import RND_COLUMNS, FirmArrays
from techcredit.features.catalogue import feature_names
from techcredit.schemas import RawTables

__all__ = ["NAMES", "growth_rate", "rnd_block", "rnd_features"]

_DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
_C = {name: i for i, name in enumerate(RND_COLUMNS)}
_REV, _HT, _RND, _DOM = _C["revenue"], _C["high_tech_revenue"], _C["rnd"], _C["domestic_rnd"]
_COST, _ASSETS, _STAFF, _ST = _C["total_cost"], _C["net_assets"], _C["staff"], _C["st_staff"]
_CONV = _C["conversions"]
_ITEMS = [_C["ledger"], _C["institution"], _C["incentive"], _C["talent"]]
NAMES = feature_names("rnd") + feature_names("firm")


def growth_rate(y1: np.ndarray, y2: np.ndarray, y3: np.ndarray) -> np.ndarray:
    """Official three-year growth rate with the two-year fallback (see module docs).

    Examples
    --------
    >>> growth_rate(np.array([100.0, 0.0, np.nan, 100.0]), np.array([120.0, 50.0, 50.0, 0.0]),
    ...             np.array([150.0, 60.0, 40.0, 10.0])).round(3).tolist()
    [0.225, 0.2, -0.2, nan]
    """
    return _growth(ratio(y2, y1), ratio(y3, y2))


def _growth(r21: np.ndarray, r32: np.ndarray) -> np.ndarray:
    """Growth from the ratios Y2/Y1 and Y3/Y2 (NaN where the denominator is not positive)."""
    return np.where(np.isnan(r21), r32 - 1.0, 0.5 * (r21 + r32) - 1.0)


# kernel outputs, in the order :func:`_rnd_kernel` writes them
_OUT = ("rnd_intensity_sales_3y", "rnd_intensity_sales_1y", "rnd_intensity_cost_3y",
        "rnd_intensity_cost_1y", "rnd_st_staff_share_1y", "rnd_staff_count_1y",
        "rnd_revenue_sum_1y", "rnd_net_assets_1y", "rnd_sales_growth_3y",
        "rnd_assets_growth_3y", "rnd_hightech_share_1y", "rnd_domestic_share_3y",
        "rnd_conversions_avg_3y", "rnd_ledger_1y", "rnd_institution_1y", "rnd_incentive_1y",
        "rnd_talent_1y", "rnd_years_reported_3y", "rnd_hightech_valid_now",
        "rnd_techsme_valid_now", "rnd_specialized_valid_now", "rnd_hightech_age_years_now",
        "rnd_techsme_age_years_now", "rnd_specialized_age_years_now", "firm_age_years_now",
        "firm_rep_change_months_now")
_ROWS = output_rows(_OUT, NAMES)
_COLS = np.array([_REV, _HT, _RND, _DOM, _COST, _ASSETS, _STAFF, _ST, _CONV, *_ITEMS],
                 dtype=np.intp)


def rnd_block(a: FirmArrays, ctx: Context) -> np.ndarray:
    """R&D and firm features of the context's groups as a ``(len(NAMES), n)`` array."""
    out = np.empty((len(NAMES), ctx.n))
    r, p = a.rnd, a.firms
    _rnd_kernel(ctx.firm_ids, ctx.asof, ctx.pos, ctx.found, r.firm, r.year, r.reported,
                r.matrix, p.qual_on, p.qual_end, p.registered, p.legal_rep_on, _COLS,
                DAYS_PER_YEAR, _DAYS_PER_MONTH, _ROWS, out)
    return out


@kernel
def _growth1(r21: float, r32: float) -> float:
    """:func:`_growth` of one group."""
    if np.isnan(r21):
        return r32 - 1.0
    return 0.5 * (r21 + r32) - 1.0


@kernel
def _rnd_kernel(firm_ids: np.ndarray, asof: np.ndarray, pos: np.ndarray,
                found: np.ndarray, firm: np.ndarray, year: np.ndarray,
                reported: np.ndarray, matrix: np.ndarray, qual_on: np.ndarray,
                qual_end: np.ndarray, registered: np.ndarray, legal_rep_on: np.ndarray,
                cols: np.ndarray, days_per_year: float, days_per_month: float,
                rows: np.ndarray, out: np.ndarray) -> None:
    """Every R&D and firm feature of each group into ``out[rows[k], i]``.

    Reports are sorted by (year, reported), so among the reports of a year known by
    ``as_of`` the last one seen is the latest.
    """
    rev, ht, rnd, dom, cost, assets, staff, st, conv = (cols[0], cols[1], cols[2], cols[3],
                                                       cols[4], cols[5], cols[6], cols[7],
                                                       cols[8])
    grid = np.empty((3, matrix.shape[1]))  # years Y-2, Y-1, Y
    sums = np.empty(matrix.shape[1])
    res = np.empty(rows.size)
    for i in range(firm_ids.size):
        day = asof[i]
        lo = np.searchsorted(firm, firm_ids[i], "left")
        hi = np.searchsorted(firm, firm_ids[i], "right")
        top = INT_MIN
        for r in range(lo, hi):
            if reported[r] <= day:
                top = max(top, year[r])
        grid[:] = np.nan
        for r in range(lo, hi):
            if reported[r] <= day and year[r] >= top - 2:  # known, in the last 3 years
                grid[year[r] - (top - 2), :] = matrix[r, :]
        years = 0
        for c in range(matrix.shape[1]):
            total = 0.0
            for k in range(3):
                if not np.isnan(grid[k, c]):
                    total += grid[k, c]
            sums[c] = total
        for k in range(3):
            years += not np.isnan(grid[k, rev])
        y = grid[2]
        res[0] = safe_ratio(sums[rnd], sums[rev])
        res[1] = safe_ratio(y[rnd], y[rev])
        res[2] = safe_ratio(sums[rnd], sums[cost])
        res[3] = safe_ratio(y[rnd], y[cost])
        res[4] = safe_ratio(y[st], y[staff])
        res[5], res[6], res[7] = y[staff], y[rev], y[assets]
        res[8] = _growth1(safe_ratio(grid[1, rev], grid[0, rev]),
                          safe_ratio(grid[2, rev], grid[1, rev]))
        res[9] = _growth1(safe_ratio(grid[1, assets], grid[0, assets]),
                          safe_ratio(grid[2, assets], grid[1, assets]))
        res[10] = safe_ratio(y[ht], y[rev])
        res[11] = safe_ratio(sums[dom], sums[rnd])
        res[12] = safe_ratio(sums[conv], years)
        for k in range(4):
            item = y[cols[9 + k]]
            res[13 + k] = 0.0 if np.isnan(item) else item
        res[17] = years
        at = pos[i]
        for k in range(3):  # high-tech, tech-SME, 专精特新
            granted = found[i] and qual_on[at, k] <= day
            res[18 + k] = granted and day < qual_end[at, k]
            res[21 + k] = (day - qual_on[at, k]) / days_per_year if granted else np.nan
        res[24] = res[25] = np.nan
        if found[i]:
            since = day - registered[at]
            if since >= 0:
                res[24] = since / days_per_year
            since = day - legal_rep_on[at]
            if since >= 0:
                res[25] = since / days_per_month
        for k in range(rows.size):
            out[rows[k], i] = res[k]


def rnd_features(data: RawTables | FirmArrays, as_of: object,
                 firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None,
                 ) -> pd.DataFrame:
    """R&D, qualification and firm features, one row per requested firm.

    See :func:`techcredit.features.tax.tax_features` for the parameters; the firm
    features (``firm_*``) come with this block.
    """
    arrays, ids, asof = prepare(data, as_of, firm_ids)
    return to_frame(rnd_block(arrays, make_context(arrays, ids, asof)).T, NAMES, ids)
