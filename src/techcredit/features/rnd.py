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
    columns,
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
_GROWTH = [_REV, _ASSETS]
_LAST = [_STAFF, _REV, _ASSETS]
NAMES = feature_names("rnd") + feature_names("firm")
_J = {name: j for j, name in enumerate(NAMES)}
_RATIO_COLS = [_J[f"rnd_{m}"] for m in (
    "intensity_sales_3y", "intensity_sales_1y", "intensity_cost_3y", "intensity_cost_1y",
    "st_staff_share_1y", "hightech_share_1y", "domestic_share_3y", "conversions_avg_3y")]
_GROWTH_COLS = [_J["rnd_sales_growth_3y"], _J["rnd_assets_growth_3y"]]
_LAST_COLS = [_J["rnd_staff_count_1y"], _J["rnd_revenue_sum_1y"], _J["rnd_net_assets_1y"]]
_ITEM_COLS = [_J[f"rnd_{m}_1y"] for m in ("ledger", "institution", "incentive", "talent")]
_QUAL_VALID = [_J[f"rnd_{q}_valid_now"] for q in ("hightech", "techsme", "specialized")]
_QUAL_AGE = [_J[f"rnd_{q}_age_years_now"] for q in ("hightech", "techsme", "specialized")]


def growth_rate(y1: np.ndarray, y2: np.ndarray, y3: np.ndarray) -> np.ndarray:
    """Official three-year growth rate with the two-year fallback (see module docs).

    Examples
    --------
    >>> growth_rate(np.array([100.0, 0.0, np.nan, 100.0]), np.array([120.0, 50.0, 50.0, 0.0]),
    ...             np.array([150.0, 60.0, 40.0, 10.0])).round(3).tolist()
    [0.225, 0.2, -0.2, nan]
    """
    ok1, ok2 = y1 > 0, y2 > 0
    step2 = y3 / np.where(ok2, y2, 1.0)
    three = 0.5 * (y2 / np.where(ok1, y1, 1.0) + step2) - 1.0
    return np.where(ok1 & ok2, three, np.where(ok2, step2 - 1.0, np.nan))


def rnd_block(a: FirmArrays, ctx: Context) -> np.ndarray:
    """R&D and firm features of the context's groups as a ``(len(NAMES), n)`` array."""
    n, asof = ctx.n, ctx.asof
    out = np.empty((n, len(NAMES)))
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
    grid = grid.reshape(n, 3, len(RND_COLUMNS))  # (group, year Y-2 .. Y, column)
    sums = np.add.reduce(np.where(np.isnan(grid), 0.0, grid), axis=1)  # over the three years
    y = grid[:, 2]  # last year
    years = (~np.isnan(grid[:, :, _REV])).sum(axis=1)
    q = ratio(columns([sums[:, _RND], y[:, _RND], sums[:, _RND], y[:, _RND],
                               y[:, _ST], y[:, _HT], sums[:, _DOM], sums[:, _CONV]]),
              columns([sums[:, _REV], y[:, _REV], sums[:, _COST], y[:, _COST],
                               y[:, _STAFF], y[:, _REV], sums[:, _RND], years]))
    out[:, _RATIO_COLS] = q
    growth = grid[:, :, _GROWTH]  # (group, year, [revenue, net assets])
    out[:, _GROWTH_COLS] = growth_rate(growth[:, 0], growth[:, 1], growth[:, 2])
    out[:, _LAST_COLS] = y[:, _LAST]
    out[:, _ITEM_COLS] = np.where(np.isnan(y[:, _ITEMS]), 0.0, y[:, _ITEMS])
    out[:, _J["rnd_years_reported_3y"]] = years

    p = a.firms
    on, end = p.qual_on[ctx.pos], p.qual_end[ctx.pos]
    granted = (on <= asof[:, None]) & ctx.found[:, None]
    out[:, _QUAL_VALID] = granted & (asof[:, None] < end)
    out[:, _QUAL_AGE] = np.where(granted, (asof[:, None] - on) / DAYS_PER_YEAR, np.nan)
    since = asof[:, None] - columns([p.registered[ctx.pos], p.legal_rep_on[ctx.pos]])
    since = np.where((since >= 0) & ctx.found[:, None], since, np.nan)
    out[:, _J["firm_age_years_now"]] = since[:, 0] / DAYS_PER_YEAR
    out[:, _J["firm_rep_change_months_now"]] = since[:, 1] / _DAYS_PER_MONTH
    return out.T


def rnd_features(data: RawTables | FirmArrays, as_of: object,
                 firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None,
                 ) -> pd.DataFrame:
    """R&D, qualification and firm features, one row per requested firm.

    See :func:`techcredit.features.tax.tax_features` for the parameters; the firm
    features (``firm_*``) come with this block.
    """
    arrays, ids, asof = prepare(data, as_of, firm_ids)
    return to_frame(rnd_block(arrays, make_context(arrays, ids, asof)).T, NAMES, ids)
