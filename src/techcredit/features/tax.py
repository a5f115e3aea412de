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
from techcredit.features._groups import INT_MAX, INT_MIN
from techcredit.features._jit import kernel, output_rows, pairwise_sum, safe_ratio, slope12
from techcredit.features._query import flag_thresholds, prepare, to_frame
from techcredit.features.arrays import FirmArrays
from techcredit.features.catalogue import feature_names
from techcredit.schemas import RawTables

__all__ = ["NAMES", "reference_month", "tax_block", "tax_features"]

NAMES = feature_names("tax")
WIDTH = 36


# kernel outputs, in the order :func:`_tax_kernel` writes them
_OUT = ("tax_paid_sum_12m", "tax_paid_sum_24m", "tax_paid_yoy_12m", "tax_paid_trend_12m",
        "tax_paid_cv_12m", "tax_volatile_months_12m", "tax_zero_filings_12m",
        "tax_missing_months_24m", "tax_missing_run_max_24m", "tax_paid_months_3m",
        "tax_months_since_payment_all", "tax_sales_declared_12m", "tax_sales_yoy_12m",
        "tax_history_months_all", "tax_arrears_now", "tax_abnormal_now", "tax_grade_now",
        "tax_grade_worst_3y")
_ROWS = output_rows(_OUT, NAMES)


def tax_block(a: FirmArrays, ctx: Context, flags: FlagThresholds) -> np.ndarray:
    """Tax features of the context's groups as a ``(len(NAMES), n)`` float64 array."""
    out = np.empty((len(NAMES), ctx.n))
    f, p, gr = a.filings, a.firms, a.grades
    as_of_year = ctx.asof.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
    _tax_kernel(ctx.firm_ids, ctx.asof, ctx.ref, ctx.pos, ctx.found, as_of_year + 1970,
                f.firm, f.month, f.filed, f.vals, p.reg_month, p.arrears_on, p.abnormal_on,
                gr.firm, gr.year, gr.grade, gr.published,
                float(flags.tax_volatility.deviation), _ROWS, out)
    return out


@kernel
def _tax_kernel(firm_ids: np.ndarray, asof: np.ndarray, ref: np.ndarray,
                pos: np.ndarray, found: np.ndarray, as_of_year: np.ndarray,
                f_firm: np.ndarray, f_month: np.ndarray, f_filed: np.ndarray,
                f_vals: np.ndarray, reg_month: np.ndarray, arrears_on: np.ndarray,
                abnormal_on: np.ndarray, g_firm: np.ndarray, g_year: np.ndarray,
                g_grade: np.ndarray, g_published: np.ndarray, deviation: float,
                rows: np.ndarray, out: np.ndarray) -> None:
    """Every tax feature of each group ``(firm_ids[i], asof[i])`` into ``out[rows[k], i]``.

    The filings of a firm are sorted by (period, filed), so among the filings of a month
    known by ``as_of`` the last one seen is the latest; grades are sorted by (year,
    published), so the last known one is the newest.
    """
    grid = np.empty((WIDTH, 4))  # paid, sales, zero, present of the last 36 months
    paid = np.empty(12)
    work = np.empty(12)
    res = np.empty(rows.size)
    for i in range(firm_ids.size):
        fid, day, lo = firm_ids[i], asof[i], ref[i] - (WIDTH - 1)
        grid[:] = 0.0
        first, last_pay = INT_MAX, INT_MIN
        for r in range(np.searchsorted(f_firm, fid, "left"),
                       np.searchsorted(f_firm, fid, "right")):
            month = f_month[r]
            off = month - lo
            if f_filed[r] > day or off >= WIDTH:  # filed after as_of, or after ref month
                continue
            first = min(first, month)
            if f_vals[r, 0] > 0:
                last_pay = max(last_pay, month)
            if off >= 0:
                grid[off, :] = f_vals[r, :]
        s12 = np.zeros(4)
        p12 = np.zeros(4)
        for m in range(12):  # numpy sums these (n, 12, 4) windows month by month
            s12 += grid[24 + m]
            p12 += grid[12 + m]
        mean = s12[0] / 12.0
        volatile = 0
        for m in range(12):
            paid[m] = grid[24 + m, 0]
            dev = abs(paid[m] - mean)
            volatile += mean > 0 and dev >= deviation * mean
            work[m] = dev * dev
        cv = safe_ratio(np.sqrt(pairwise_sum(work) / 12.0), mean)
        trend = safe_ratio(slope12(paid), mean)
        # missing months count only from the month of registration
        reg = reg_month[pos[i]] if found[i] else INT_MIN
        missing = run = longest = 0
        for m in range(24):
            if lo + 12 + m >= reg and grid[12 + m, 3] == 0:
                missing += 1
                run += 1
                longest = max(longest, run)
            else:
                run = 0
        paid3 = 0
        for m in range(33, WIDTH):
            paid3 += grid[m, 0] > 0
        now, worst = np.nan, np.nan
        for r in range(np.searchsorted(g_firm, fid, "left"),
                       np.searchsorted(g_firm, fid, "right")):
            if g_published[r] <= day:
                now = float(g_grade[r])
                if g_year[r] >= as_of_year[i] - 3:
                    worst = now if np.isnan(worst) else max(worst, now)
        res[0], res[1] = s12[0], s12[0] + p12[0]
        res[2], res[3], res[4] = safe_ratio(s12[0], p12[0]) - 1.0, trend, cv
        res[5], res[6], res[7], res[8], res[9] = volatile, s12[2], missing, longest, paid3
        res[10] = ref[i] - last_pay if last_pay > INT_MIN else np.nan
        res[11], res[12] = s12[1], safe_ratio(s12[1], p12[1]) - 1.0
        res[13] = ref[i] - first + 1 if first < INT_MAX else 0
        res[14] = found[i] and arrears_on[pos[i]] <= day
        res[15] = found[i] and abnormal_on[pos[i]] <= day
        res[16], res[17] = now, worst
        for k in range(rows.size):
            out[rows[k], i] = res[k]


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
