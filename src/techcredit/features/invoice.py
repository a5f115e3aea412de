"""Invoice features: net valid sales, growth, concentration, spikes, night-time issuing.

Valid sales are normal invoices plus red-letter invoices (negative amounts, 红冲);
voided invoices (作废) are excluded. Monthly windows end at the same reference month as
the tax windows (:func:`techcredit.features._context.reference_month`), so invoiced and
declared sales cover the same months; an invoice counts only if issued on or before
``as_of``. Buyer shares use each buyer's net sales, floored at 0.

Examples
--------
>>> from techcredit.schemas import RawTables, records_to_frame
>>> firms = records_to_frame("firms", [{"firm_id": 1, "registered_on": "2020-01-01",
...     "industry_code": "C39", "region_code": "310000", "employees": 9, "st_staff": 2}])
>>> invoices = records_to_frame("invoices", [
...     {"invoice_id": i, "firm_id": 1, "issued_at": f"2023-{1 + i % 12:02d}-05T10:00",
...      "buyer_id": i % 3, "amount_cny": 100.0, "tax_cny": 13.0, "status": "normal"}
...     for i in range(24)])
>>> empty = {n: records_to_frame(n, []) for n in
...     ("tax_grades", "tax_filings", "patents", "patent_events", "rnd")}
>>> row = invoice_features(RawTables(firms=firms, invoices=invoices, **empty),
...                        "2024-01-20").loc[1]
>>> row["inv_sales_net_12m"], row["inv_buyers_count_12m"], round(row["inv_top1_share_12m"], 3)
(np.float64(2400.0), np.float64(3.0), np.float64(0.333))
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import pandas as pd

from techcredit.config.policy import FlagThresholds, PolicySpec
from techcredit.features._context import Context, make_context
from techcredit.features._groups import ratio
from techcredit.features._jit import (
    kernel,
    month_of_day,
    month_start_day,
    output_rows,
    pairwise_sum,
    safe_ratio,
    slope12,
)
from techcredit.features._query import flag_thresholds, prepare, to_frame
from techcredit.features.arrays import DAY_BITS, DAY_OFFSET, STATUS_CODES, FirmArrays
from techcredit.features.catalogue import feature_names
from techcredit.features.tax import NAMES as TAX_NAMES
from techcredit.features.tax import tax_block
from techcredit.schemas import RawTables

__all__ = ["HALF_FEN", "NAMES", "invoice_block", "invoice_features", "tax_gap"]

NAMES = feature_names("invoice")
WIDTH = 24
_NORMAL = STATUS_CODES["normal"]
_VOIDED = STATUS_CODES["voided"]
_RED = STATUS_CODES["red_letter"]
_TOP = 5
HALF_FEN = 0.005
"""Net sales below half a fen (0.005 CNY) count as zero: a red-letter invoice that reverses
an invoice leaves float residue of about 1e-12, which must not count as a sale."""
_DAY_MASK = (1 << DAY_BITS) - 1


def tax_gap(invoiced: np.ndarray, declared: np.ndarray) -> np.ndarray:
    """``|invoiced - declared| / max(|invoiced|, declared)``; NaN when both are 0.

    Examples
    --------
    >>> tax_gap(np.array([100.0, 0.0, 50.0]), np.array([60.0, 0.0, 0.0])).tolist()
    [0.4, nan, 1.0]
    """
    return ratio(np.abs(invoiced - declared), np.maximum(np.abs(invoiced), declared))


@lru_cache(maxsize=8)
def _code_tables(night_start: int, night_end: int) -> tuple[np.ndarray, ...]:
    """Lookups by ``InvoiceArrays.code`` (status * 24 + hour).

    Returns the status of each code, the weight of its amount in net sales (0 if
    voided, else 1), and 1.0 where the code is a normal invoice and where it is a
    normal invoice issued at night.
    """
    code = np.arange(len(STATUS_CODES) * 24)
    hour, status = code % 24, code // 24
    if night_start > night_end:
        night = (hour >= night_start) | (hour < night_end)
    else:
        night = (hour >= night_start) & (hour < night_end)
    normal = status == _NORMAL
    return (status, (status != _VOIDED).astype(np.float64), normal.astype(np.float64),
            (normal & night).astype(np.float64))


# kernel outputs, in the order :func:`_invoice_kernel` writes them
_OUT = ("inv_sales_net_3m", "inv_sales_net_12m", "inv_sales_growth_12m", "inv_sales_yoy_3m",
        "inv_sales_trend_12m", "inv_voided_ratio_12m", "inv_red_ratio_12m", "inv_count_12m",
        "inv_active_months_12m", "inv_buyers_count_12m", "inv_top1_share_12m",
        "inv_top5_share_12m", "inv_buyer_hhi_12m", "inv_spike_ratio_12m",
        "inv_night_share_12m", "inv_tax_gap_12m", "inv_history_months_all")
_ROWS = output_rows(_OUT, NAMES)


def invoice_block(a: FirmArrays, ctx: Context, flags: FlagThresholds,
                  declared_12m: np.ndarray | None = None) -> np.ndarray:
    """Invoice features of the context's groups as a ``(len(NAMES), n)`` float64 array.

    ``declared_12m`` is the tax-declared sales of the same 12 months (computed from the
    filings when omitted), used by ``inv_tax_gap_12m``.
    """
    if declared_12m is None:
        declared_12m = tax_block(a, ctx, flags)[TAX_NAMES.index("tax_sales_declared_12m")]
    status_of, net_of, normal, night = _code_tables(flags.night_invoicing.start_hour,
                                                    flags.night_invoicing.end_hour)
    out = np.empty((len(NAMES), ctx.n))
    v = a.invoices
    _invoice_kernel(ctx.firm_ids, ctx.ref, np.ascontiguousarray(declared_12m, np.float64),
                    v.key, v.amount, v.code, v.buyer, status_of, net_of, normal, night,
                    _ROWS, out)
    return out


@kernel
def _invoice_kernel(firm_ids: np.ndarray, ref: np.ndarray, declared_12m: np.ndarray,
                    key: np.ndarray, amount: np.ndarray, code: np.ndarray,
                    buyer: np.ndarray, status_of: np.ndarray, net_of: np.ndarray,
                    normal: np.ndarray, night: np.ndarray, rows: np.ndarray,
                    out: np.ndarray) -> None:
    """Every invoice feature of each group into ``out[rows[k], i]``.

    A firm's invoices are sorted by (day, invoice id), so each month of a group's
    window is one slice found by binary search on ``key``. Every sum adds its invoices
    in that order, starting from 0.
    """
    cut = np.empty(WIDTH + 1, dtype=np.int64)  # first invoice of each window month, + end
    grid = np.empty(WIDTH)  # net sales by month, oldest first
    work = np.empty(12)
    trailing = np.empty(12)
    top = np.zeros(_TOP)
    by_buyer = np.zeros(64)
    res = np.empty(rows.size)
    for i in range(firm_ids.size):
        base = firm_ids[i] << DAY_BITS
        lo = ref[i] - (WIDTH - 1)
        first = np.searchsorted(key, base)
        for j in range(WIDTH + 1):
            cut[j] = np.searchsorted(key, month_start_day(lo + j) + DAY_OFFSET + base)
        for j in range(WIDTH):
            total = 0.0
            for r in range(cut[j], cut[j + 1]):
                total += amount[r] * net_of[code[r]]
            grid[j] = total
        # the last 12 months: counts and amounts by status, net sales by buyer
        count = at_night = 0.0
        amounts = np.zeros(3)
        width = 0
        for r in range(cut[12], cut[WIDTH]):
            width = max(width, buyer[r] + 1)
        if width > by_buyer.size:
            by_buyer = np.zeros(2 * width)
        by_buyer[:width] = 0.0
        for r in range(cut[12], cut[WIDTH]):
            c = code[r]
            count += normal[c]
            at_night += night[c]
            amounts[status_of[c]] += amount[r]
            by_buyer[buyer[r]] += amount[r] * net_of[c]
        # buyers with net sales of at least half a fen, in buyer order
        total = hhi = 0.0
        buyers = 0
        top[:] = 0.0  # the 5 largest sales, ascending
        for b in range(width):
            sales = by_buyer[b]
            if sales >= HALF_FEN:
                total += sales
                hhi += sales * sales
                buyers += 1
                if sales > top[0]:
                    k = 0
                    while k + 1 < _TOP and top[k + 1] < sales:
                        top[k] = top[k + 1]
                        k += 1
                    top[k] = sales
        top5 = 0.0
        for k in range(_TOP):
            top5 += top[k]
        sales12 = pairwise_sum(grid[12:])
        prior = pairwise_sum(grid[:12])
        last3 = pairwise_sum(grid[21:])
        # a month's sales against the median of the 12 months before it
        spike = -np.inf
        active = 0
        for m in range(12):
            trailing[:] = np.sort(grid[m:m + 12])
            ratio = safe_ratio(grid[12 + m], 0.5 * (trailing[5] + trailing[6]))
            if ratio > spike:  # NaN never is
                spike = ratio
            active += grid[12 + m] >= HALF_FEN
            work[m] = grid[12 + m] - grid[m]
        normal_amt, voided_amt = amounts[_NORMAL], amounts[_VOIDED]
        red_amt = -amounts[_RED]
        gap = abs(sales12 - declared_12m[i])
        history = 0
        if cut[WIDTH] > first:  # an invoice by the end of the reference month
            first_day = (key[first] & _DAY_MASK) - DAY_OFFSET
            history = ref[i] - month_of_day(first_day) + 1
        res[0], res[1] = last3, sales12
        res[2] = safe_ratio(sales12, prior) - 1.0
        res[3] = safe_ratio(last3, pairwise_sum(grid[9:12])) - 1.0
        res[4] = safe_ratio(slope12(work), prior / 12.0)
        res[5] = safe_ratio(voided_amt, voided_amt + normal_amt)
        res[6] = safe_ratio(red_amt, normal_amt)
        res[7], res[8], res[9] = count, active, buyers
        res[10] = safe_ratio(top[_TOP - 1], total)
        res[11] = safe_ratio(top5, total)
        res[12] = safe_ratio(hhi, total * total)
        res[13] = np.nan if spike == -np.inf else spike
        res[14] = safe_ratio(at_night, count)
        res[15] = safe_ratio(gap, max(abs(sales12), declared_12m[i]))
        res[16] = history
        for k in range(rows.size):
            out[rows[k], i] = res[k]


def invoice_features(data: RawTables | FirmArrays, as_of: object,
                     firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None, *,
                     policy: PolicySpec | FlagThresholds | None = None) -> pd.DataFrame:
    """Invoice features, one row per requested firm (see :func:`tax_features`)."""
    arrays, ids, asof = prepare(data, as_of, firm_ids)
    ctx = make_context(arrays, ids, asof)
    return to_frame(invoice_block(arrays, ctx, flag_thresholds(policy)).T, NAMES, ids)
