"""Tax features: monthly filings, tax-credit grades and the tax office's status.

Monthly windows end at the *reference month*: the last month whose VAT filing deadline
(the 15th of the next month, ``legal_terms.yaml``) has passed by ``as_of``. A filing
counts only if it was filed on or before ``as_of``; when a month was filed twice the
later filing known by ``as_of`` wins. Missing months are counted from the month of
registration, so a young firm is not charged for months before it existed.

Examples
--------
>>> from techcredit.schemas import RawTables, records_to_frame
>>> firms = records_to_frame("firms", [{"firm_id": 1, "registered_on": "2023-01-01",
...     "industry_code": "C39", "region_code": "310000", "employees": 9, "st_staff": 2}])
>>> filings = records_to_frame("tax_filings", [
...     {"firm_id": 1, "period": f"2023-{m:02d}-01", "filed_on": f"2023-{m + 1:02d}-10",
...      "declared_sales_cny": 1e5, "vat_paid_cny": 1e3, "cit_paid_cny": 0.0,
...      "zero_filing": False} for m in range(1, 12)])
>>> empty = {n: records_to_frame(n, []) for n in
...     ("tax_grades", "invoices", "patents", "patent_events", "rnd")}
>>> tables = RawTables(firms=firms, tax_filings=filings, **empty)
>>> row = tax_features(tables, "2024-01-20").loc[1]
>>> row["tax_paid_sum_12m"], row["tax_missing_months_24m"], row["tax_history_months_all"]
(np.float64(11000.0), np.float64(1.0), np.float64(12.0))
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from techcredit.config.policy import FlagThresholds, PolicySpec
from techcredit.features._context import Context, make_context, reference_month
from techcredit.features._groups import (
    INT_MAX,
    INT_MIN,
    bounds,
    expand,
    filled,
    ratio,
    slope12,
)
from techcredit.features._query import flag_thresholds, prepare, to_frame
from techcredit.features.arrays import FirmArrays
from techcredit.features.catalogue import feature_names
from techcredit.schemas import RawTables

__all__ = ["NAMES", "reference_month", "tax_block", "tax_features"]

NAMES = feature_names("tax")
WIDTH = 36
_COLS24 = np.arange(24)


def _longest_run(mask: np.ndarray) -> np.ndarray:
    c = np.cumsum(mask, axis=1)
    reset = np.maximum.accumulate(np.where(mask, 0, c), axis=1)
    return (c - reset).max(axis=1)


def tax_block(a: FirmArrays, ctx: Context, flags: FlagThresholds) -> np.ndarray:
    """Tax features of the context's groups as a ``(len(NAMES), n)`` float64 array."""
    feats = _tax(a, ctx, flags)
    feats.update(_grades(a, ctx))
    return np.array([feats[name] for name in NAMES], dtype=np.float64)


def _tax(a: FirmArrays, ctx: Context, flags: FlagThresholds) -> dict[str, np.ndarray]:
    n, asof, ref = ctx.n, ctx.asof, ctx.ref
    f = a.filings
    g, rec = expand(*bounds(f.firm, ctx.firm_ids))
    month = f.month[rec]
    lo = ref - (WIDTH - 1)
    off = month - lo[g]
    known = (f.filed[rec] <= asof[g]) & (off < WIDTH)  # filed by as_of, up to ref month
    g, rec, month, off = g[known], rec[known], month[known], off[known]
    vals = f.vals[rec]

    # whole history: first month filed, last month with a payment
    first = filled(n, INT_MAX, np.int64)
    np.minimum.at(first, g, month)
    last_pay = filled(n, INT_MIN, np.int64)
    pay = vals[:, 0] > 0
    np.maximum.at(last_pay, g[pay], month[pay])

    # (group, month) grid of the last 36 months; the later filing of a month wins
    inwin = off >= 0
    key = g[inwin] * WIDTH + off[inwin]
    vals = vals[inwin]
    last = np.ones(key.size, dtype=bool)
    last[:-1] = key[1:] != key[:-1]
    grid = np.zeros((n * WIDTH, 4))
    grid[key[last]] = vals[last]
    grid = grid.reshape(n, WIDTH, 4)  # paid, sales, zero, present
    s12 = np.add.reduce(grid[:, 24:], axis=1)
    p12 = np.add.reduce(grid[:, 12:24], axis=1)
    paid = grid[:, 24:, 0]
    mean = s12[:, 0] / 12.0
    dev = np.abs(paid - mean[:, None])
    volatile = (dev >= (flags.tax_volatility.deviation * mean)[:, None]) & (mean > 0)[:, None]
    q = ratio(np.array([s12[:, 0], slope12(paid), np.sqrt(np.add.reduce(dev * dev, axis=1) / 12.0),
                        s12[:, 1]]),
              np.array([p12[:, 0], mean, mean, p12[:, 1]]))

    # missing months count only from the month of registration
    reg = np.where(ctx.found, a.firms.reg_month[ctx.pos] if a.firms.firm.size else 0, INT_MIN)
    missing = ((lo + 12)[:, None] + _COLS24 >= reg[:, None]) & (grid[:, 12:, 3] == 0)
    p = a.firms
    status = (np.array([p.arrears_on[ctx.pos], p.abnormal_on[ctx.pos]]) <= asof) & ctx.found
    return {
        "tax_paid_sum_12m": s12[:, 0],
        "tax_paid_sum_24m": s12[:, 0] + p12[:, 0],
        "tax_paid_yoy_12m": q[0] - 1.0,
        "tax_paid_trend_12m": q[1],
        "tax_paid_cv_12m": q[2],
        "tax_volatile_months_12m": volatile.sum(axis=1),
        "tax_zero_filings_12m": s12[:, 2],
        "tax_missing_months_24m": missing.sum(axis=1),
        "tax_missing_run_max_24m": _longest_run(missing),
        "tax_paid_months_3m": (grid[:, 33:, 0] > 0).sum(axis=1),
        "tax_months_since_payment_all": np.where(last_pay > INT_MIN, ref - last_pay, np.nan),
        "tax_sales_declared_12m": s12[:, 1],
        "tax_sales_yoy_12m": q[3] - 1.0,
        "tax_history_months_all": np.where(first < INT_MAX, ref - first + 1, 0),
        "tax_arrears_now": status[0],
        "tax_abnormal_now": status[1],
    }


def _grades(a: FirmArrays, ctx: Context) -> dict[str, np.ndarray]:
    gr = a.grades
    g, rec = expand(*bounds(gr.firm, ctx.firm_ids))
    known = gr.published[rec] <= ctx.asof[g]
    g, rec = g[known], rec[known]
    grade = gr.grade[rec].astype(np.float64)
    now = filled(ctx.n, np.nan)
    is_last = np.ones(g.size, dtype=bool)
    is_last[:-1] = g[1:] != g[:-1]  # sorted by (year, published): the last is the newest
    now[g[is_last]] = grade[is_last]
    as_of_year = ctx.asof.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
    recent = gr.year[rec] >= as_of_year[g] + (1970 - 3)
    worst = filled(ctx.n, np.nan)
    np.fmax.at(worst, g[recent], grade[recent])
    return {"tax_grade_now": now, "tax_grade_worst_3y": worst}


def tax_features(data: RawTables | FirmArrays, as_of: object,
                 firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None, *,
                 policy: PolicySpec | FlagThresholds | None = None) -> pd.DataFrame:
    """Tax features, one row per requested firm (index ``firm_id``, in request order).

    Parameters
    ----------
    data : RawTables or FirmArrays
    as_of : date-like, or one date per requested firm
        Nothing dated after it (filing date, grade publication, status date) is used.
    firm_ids : sequence of int, optional
        Firms to build, repeats allowed (one row each); default every firm in ``firms``.
    policy : PolicySpec or FlagThresholds, optional
        Thresholds (``models/policy.yaml`` by default).
    """
    arrays, ids, asof = prepare(data, as_of, firm_ids)
    ctx = make_context(arrays, ids, asof)
    return to_frame(tax_block(arrays, ctx, flag_thresholds(policy)).T, NAMES, ids)
