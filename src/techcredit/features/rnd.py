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
from techcredit.features._groups import (
    DAYS_PER_YEAR,
    INT_MIN,
    bounds,
    expand,
    filled,
    ratio,
)
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


def rnd_block(a: FirmArrays, ctx: Context) -> np.ndarray:
    """R&D and firm features of the context's groups as a ``(len(NAMES), n)`` array."""
    feats = _rnd(a, ctx)
    return np.array([feats[name] for name in NAMES], dtype=np.float64)


def _rnd(a: FirmArrays, ctx: Context) -> dict[str, np.ndarray]:
    n, asof = ctx.n, ctx.asof
    r = a.rnd
    g, rec = expand(*bounds(r.firm, ctx.firm_ids))
    known = r.reported[rec] <= asof[g]
    g, rec = g[known], rec[known]
    year = r.year[rec]
    last = np.ones(g.size, dtype=bool)
    last[:-1] = (g[1:] != g[:-1]) | (year[1:] != year[:-1])  # latest report of a year
    g, rec, year = g[last], rec[last], year[last]
    top = filled(n, INT_MIN, np.int64)
    np.maximum.at(top, g, year)
    col = year - (top[g] - 2)
    inwin = col >= 0
    grid = np.empty((n * 3, len(RND_COLUMNS)))
    grid.fill(np.nan)
    grid[g[inwin] * 3 + col[inwin]] = r.matrix[rec[inwin]]
    grid = grid.reshape(n, 3, len(RND_COLUMNS)).transpose(2, 1, 0)  # (column, year, group)
    sums = np.add.reduce(np.where(np.isnan(grid), 0.0, grid), axis=1)  # (column, group)
    y = grid[:, 2]  # last year, (column, group)
    years = (~np.isnan(grid[_REV])).sum(axis=0)
    rev, assets = grid[_REV], grid[_ASSETS]
    q = ratio(np.array([sums[_RND], y[_RND], sums[_RND], y[_RND], y[_ST], y[_HT], sums[_DOM],
                        sums[_CONV], rev[1], rev[2], assets[1], assets[2]]),
              np.array([sums[_REV], y[_REV], sums[_COST], y[_COST], y[_STAFF], y[_REV],
                        sums[_RND], years, rev[0], rev[1], assets[0], assets[1]]))
    growth = _growth(q[8::2], q[9::2])
    items = np.where(np.isnan(y[_ITEMS]), 0.0, y[_ITEMS])

    p = a.firms
    on, end = p.qual_on[ctx.pos].T, p.qual_end[ctx.pos].T  # (qualification, group)
    granted = (on <= asof) & ctx.found
    valid = granted & (asof < end)
    age = np.where(granted, (asof - on) / DAYS_PER_YEAR, np.nan)
    since = asof - np.array([p.registered[ctx.pos], p.legal_rep_on[ctx.pos]])
    since = np.where((since >= 0) & ctx.found, since, np.nan)
    return {
        "rnd_intensity_sales_3y": q[0],
        "rnd_intensity_sales_1y": q[1],
        "rnd_intensity_cost_3y": q[2],
        "rnd_intensity_cost_1y": q[3],
        "rnd_st_staff_share_1y": q[4],
        "rnd_staff_count_1y": y[_STAFF],
        "rnd_revenue_sum_1y": y[_REV],
        "rnd_net_assets_1y": y[_ASSETS],
        "rnd_sales_growth_3y": growth[0],
        "rnd_assets_growth_3y": growth[1],
        "rnd_hightech_share_1y": q[5],
        "rnd_domestic_share_3y": q[6],
        "rnd_conversions_avg_3y": q[7],
        "rnd_ledger_1y": items[0],
        "rnd_institution_1y": items[1],
        "rnd_incentive_1y": items[2],
        "rnd_talent_1y": items[3],
        "rnd_years_reported_3y": years,
        "rnd_hightech_valid_now": valid[0],
        "rnd_techsme_valid_now": valid[1],
        "rnd_specialized_valid_now": valid[2],
        "rnd_hightech_age_years_now": age[0],
        "rnd_techsme_age_years_now": age[1],
        "rnd_specialized_age_years_now": age[2],
        "firm_age_years_now": since[0] / DAYS_PER_YEAR,
        "firm_rep_change_months_now": since[1] / _DAYS_PER_MONTH,
    }


def rnd_features(data: RawTables | FirmArrays, as_of: object,
                 firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None,
                 ) -> pd.DataFrame:
    """R&D, qualification and firm features, one row per requested firm.

    See :func:`techcredit.features.tax.tax_features` for the parameters; the firm
    features (``firm_*``) come with this block.
    """
    arrays, ids, asof = prepare(data, as_of, firm_ids)
    return to_frame(rnd_block(arrays, make_context(arrays, ids, asof)).T, NAMES, ids)
