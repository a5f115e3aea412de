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
from techcredit.features._groups import (
    INT_MAX,
    INT_MIN,
    bounds,
    day_of_month,
    expand,
    filled,
    group_count,
    month_of,
    ratio,
    slope12,
)
from techcredit.features._query import flag_thresholds, prepare, to_frame
from techcredit.features._rules import legal_terms
from techcredit.features.arrays import FirmArrays
from techcredit.features.catalogue import feature_names
from techcredit.schemas import RawTables

__all__ = ["profile_rows", "reference_month", "tax_block", "tax_features"]

WIDTH = 36


def reference_month(asof: np.ndarray) -> np.ndarray:
    """Month index (months since 1970-01) of the last month whose filing deadline passed.

    Examples
    --------
    >>> d = np.array(["2024-05-15", "2024-05-16"], dtype="datetime64[D]").astype(np.int64)
    >>> (reference_month(d) % 12 + 1).tolist()  # calendar month of the reference month
    [3, 4]
    """
    deadline = legal_terms().vat_filing_deadline_day
    return month_of(asof) - 1 - (day_of_month(asof) <= deadline)


def profile_rows(a: FirmArrays, firm_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each firm in the profile arrays and whether the firm has a profile."""
    pos = np.searchsorted(a.firms.firm, firm_ids)
    pos = np.minimum(pos, max(a.firms.firm.size - 1, 0))
    found = a.firms.firm[pos] == firm_ids if a.firms.firm.size else np.zeros(
        firm_ids.size, dtype=bool)
    return pos, found


def _longest_run(mask: np.ndarray) -> np.ndarray:
    c = np.cumsum(mask, axis=1)
    reset = np.maximum.accumulate(np.where(mask, 0, c), axis=1)
    return (c - reset).max(axis=1).astype(np.float64)


def tax_block(a: FirmArrays, firm_ids: np.ndarray, asof: np.ndarray,
              flags: FlagThresholds) -> dict[str, np.ndarray]:
    """Tax features of groups ``(firm_ids[i], asof[i])`` as named float64 arrays."""
    n = firm_ids.size
    f = a.filings
    ref = reference_month(asof)
    g, rec = expand(*bounds(f.firm, firm_ids))
    month = f.month[rec]
    known = (f.filed[rec] <= asof[g]) & (month <= ref[g])
    g, rec, month = g[known], rec[known], month[known]
    off = month - (ref[g] - (WIDTH - 1))
    inwin = off >= 0
    key = g[inwin] * WIDTH + off[inwin]
    r = rec[inwin]
    last = np.ones(key.size, dtype=bool)
    last[:-1] = key[1:] != key[:-1]  # later filing of the same month wins
    key, r = key[last], r[last]
    size = n * WIDTH
    present = np.bincount(key, minlength=size).reshape(n, WIDTH) > 0
    paid = np.bincount(key, f.paid[r], minlength=size).reshape(n, WIDTH)
    sales = np.bincount(key, f.sales[r], minlength=size).reshape(n, WIDTH)
    zero = np.bincount(key, f.zero[r], minlength=size).reshape(n, WIDTH) > 0

    pos, found = profile_rows(a, firm_ids)
    reg_month = np.where(found, month_of(a.firms.registered[pos]) if found.any()
                         else 0, INT_MIN)
    col_month = ref[:, None] - (WIDTH - 1) + np.arange(WIDTH)
    missing = (col_month >= reg_month[:, None]) & ~present

    p12 = paid[:, 24:]
    paid12 = p12.sum(axis=1)
    prev12 = paid[:, 12:24].sum(axis=1)
    mean12 = paid12 / 12.0
    dev = np.abs(p12 - mean12[:, None])
    volatile = ((dev >= flags.tax_volatility.deviation * mean12[:, None])
                & (mean12[:, None] > 0)).sum(axis=1)
    sales12 = sales[:, 24:].sum(axis=1)

    pay = f.paid[rec] > 0
    last_pay = filled(n, INT_MIN, np.int64)
    np.maximum.at(last_pay, g[pay], month[pay])
    first = filled(n, INT_MAX, np.int64)
    np.minimum.at(first, g, month)
    has_filing = group_count(g, n) > 0

    return {
        "tax_paid_sum_12m": paid12,
        "tax_paid_sum_24m": paid12 + prev12,
        "tax_paid_yoy_12m": ratio(paid12, prev12) - 1.0,
        "tax_paid_trend_12m": ratio(slope12(p12), mean12),
        "tax_paid_cv_12m": ratio(np.sqrt((dev * dev).sum(axis=1) / 12.0), mean12),
        "tax_volatile_months_12m": volatile.astype(np.float64),
        "tax_zero_filings_12m": zero[:, 24:].sum(axis=1).astype(np.float64),
        "tax_missing_months_24m": missing[:, 12:].sum(axis=1).astype(np.float64),
        "tax_missing_run_max_24m": _longest_run(missing[:, 12:]),
        "tax_paid_months_3m": (paid[:, 33:] > 0).sum(axis=1).astype(np.float64),
        "tax_months_since_payment_all": np.where(
            last_pay > INT_MIN, ref - last_pay, np.nan).astype(np.float64),
        "tax_sales_declared_12m": sales12,
        "tax_sales_yoy_12m": ratio(sales12, sales[:, 12:24].sum(axis=1)) - 1.0,
        "tax_history_months_all": np.where(has_filing, ref - first + 1, 0).astype(np.float64),
        **_grades(a, firm_ids, asof),
        "tax_arrears_now": np.where(found, a.firms.arrears_on[pos] <= asof, False)
        .astype(np.float64),
        "tax_abnormal_now": np.where(found, a.firms.abnormal_on[pos] <= asof, False)
        .astype(np.float64),
    }


def _grades(a: FirmArrays, firm_ids: np.ndarray, asof: np.ndarray) -> dict[str, np.ndarray]:
    n = firm_ids.size
    gr = a.grades
    g, rec = expand(*bounds(gr.firm, firm_ids))
    known = gr.published[rec] <= asof[g]
    g, rec = g[known], rec[known]
    year = gr.year[rec]
    grade = gr.grade[rec].astype(np.float64)
    now = filled(n, np.nan)
    if g.size:
        is_last = np.ones(g.size, dtype=bool)
        is_last[:-1] = g[1:] != g[:-1]  # sorted by (year, published): last is newest
        now[g[is_last]] = grade[is_last]
    as_of_year = asof.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    recent = year >= as_of_year[g] - 3
    worst = filled(n, np.nan)
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
    block = tax_block(arrays, ids, asof, flag_thresholds(policy))
    return to_frame(block, feature_names("tax"), ids)
