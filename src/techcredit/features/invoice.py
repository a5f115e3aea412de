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

import numpy as np
import pandas as pd

from techcredit.config.policy import FlagThresholds, PolicySpec
from techcredit.features._context import Context, make_context
from techcredit.features._groups import INT_MAX, bounds, columns, expand, filled, ratio, slope12
from techcredit.features._query import flag_thresholds, prepare, to_frame
from techcredit.features.arrays import STATUS_CODES, FirmArrays
from techcredit.features.catalogue import feature_names
from techcredit.features.tax import NAMES as TAX_NAMES
from techcredit.features.tax import tax_block
from techcredit.schemas import RawTables

__all__ = ["NAMES", "invoice_block", "invoice_features", "tax_gap"]

NAMES = feature_names("invoice")
WIDTH = 24
_J = {name: j for j, name in enumerate(NAMES)}
_NORMAL = STATUS_CODES["normal"]
_VOIDED = STATUS_CODES["voided"]
_RED = STATUS_CODES["red_letter"]
_TOP = 5
_TRAILING = np.arange(12)[:, None] + np.arange(12)[None, :]
_RATIOS = ("inv_sales_growth_12m", "inv_sales_yoy_3m", "inv_sales_trend_12m",
           "inv_voided_ratio_12m", "inv_red_ratio_12m", "inv_night_share_12m",
           "inv_top1_share_12m", "inv_top5_share_12m", "inv_buyer_hhi_12m")
_RATIO_COLS = [_J[name] for name in _RATIOS]


def tax_gap(invoiced: np.ndarray, declared: np.ndarray) -> np.ndarray:
    """``|invoiced - declared| / max(|invoiced|, declared)``; NaN when both are 0.

    Examples
    --------
    >>> tax_gap(np.array([100.0, 0.0, 50.0]), np.array([60.0, 0.0, 0.0])).tolist()
    [0.4, nan, 1.0]
    """
    return ratio(np.abs(invoiced - declared), np.maximum(np.abs(invoiced), declared))


def _night(hour: np.ndarray, flags: FlagThresholds) -> np.ndarray:
    start, end = flags.night_invoicing.start_hour, flags.night_invoicing.end_hour
    if start > end:
        return (hour >= start) | (hour < end)
    return (hour >= start) & (hour < end)


def invoice_block(a: FirmArrays, ctx: Context, flags: FlagThresholds,
                  declared_12m: np.ndarray | None = None) -> np.ndarray:
    """Invoice features of the context's groups as an ``(n, len(NAMES))`` float64 matrix.

    ``declared_12m`` is the tax-declared sales of the same 12 months (computed from the
    filings when omitted), used by ``inv_tax_gap_12m``.
    """
    n, ref = ctx.n, ctx.ref
    out = np.empty((n, len(NAMES)))
    v = a.invoices
    g, rec = expand(*bounds(v.firm, ctx.firm_ids))
    month = v.month[rec]
    lo = ref - (WIDTH - 1)
    off = month - lo[g]
    known = (v.day[rec] <= ctx.asof[g]) & (off < WIDTH)
    g, rec, month, off = g[known], rec[known], month[known], off[known]
    first = filled(n, INT_MAX, np.int64)
    np.minimum.at(first, g, month.astype(np.int64))
    out[:, _J["inv_history_months_all"]] = np.where(first < INT_MAX, ref - first + 1, 0)

    inwin = off >= 0
    g, rec, off = g[inwin], rec[inwin], off[inwin]
    status = v.status[rec]
    amount = v.amount[rec]
    net = np.where(status == _VOIDED, 0.0, amount)
    grid = np.bincount(g * WIDTH + off, net, minlength=n * WIDTH).reshape(n, WIDTH)
    last12, prior12 = grid[:, 12:], grid[:, :12]
    sales12 = np.add.reduce(last12, axis=1)
    prior = np.add.reduce(prior12, axis=1)
    last3 = np.add.reduce(grid[:, 21:], axis=1)

    recent = off >= 12
    g12, st12, amt12, rec12 = g[recent], status[recent], amount[recent], rec[recent]
    normal = st12 == _NORMAL
    voided = st12 == _VOIDED
    normal_amt = np.bincount(g12, np.where(normal, amt12, 0.0), minlength=n)
    voided_amt = np.bincount(g12, np.where(voided, amt12, 0.0), minlength=n)
    red_amt = -np.bincount(g12, np.where(st12 == _RED, amt12, 0.0), minlength=n)
    count = np.bincount(g12, normal, minlength=n)
    night = np.bincount(g12, normal & _night(v.hour[rec12], flags), minlength=n)

    # net sales by buyer (floored at 0) on a (group, buyer) grid
    buyer = v.buyer[rec12]
    width = max(int(buyer.max()) + 1 if buyer.size else 0, _TOP)
    by_buyer = np.bincount(g12 * width + buyer, np.where(voided, 0.0, amt12),
                           minlength=n * width).reshape(n, width)
    by_buyer = np.maximum(by_buyer, 0.0)
    # sequential sums (cumsum) so padding a row with zeros never changes its total
    total = np.cumsum(by_buyer, axis=1)[:, -1]
    hhi = np.cumsum(by_buyer * by_buyer, axis=1)[:, -1]
    top = np.sort(by_buyer, axis=1)[:, -_TOP:]
    top5 = top[:, 4] + top[:, 3] + top[:, 2] + top[:, 1] + top[:, 0]

    # a month's sales against the median of the 12 months before it
    windows = np.sort(grid[:, _TRAILING], axis=2)  # (n, 12 months, 12 months before)
    median = 0.5 * (windows[:, :, 5] + windows[:, :, 6])
    spikes = ratio(last12, median)
    spike = np.where(np.isnan(spikes), -np.inf, spikes).max(axis=1)

    num = columns([sales12, last3, slope12(last12 - prior12), voided_amt, red_amt,
                           night, top[:, 4], top5, hhi])
    den = columns([prior, np.add.reduce(grid[:, 9:12], axis=1), prior / 12.0,
                           voided_amt + normal_amt, normal_amt, count, total, total,
                           total * total])
    q = ratio(num, den)
    q[:, :2] -= 1.0
    out[:, _RATIO_COLS] = q
    out[:, _J["inv_sales_net_3m"]] = last3
    out[:, _J["inv_sales_net_12m"]] = sales12
    out[:, _J["inv_count_12m"]] = count
    out[:, _J["inv_active_months_12m"]] = (last12 > 0).sum(axis=1)
    out[:, _J["inv_buyers_count_12m"]] = (by_buyer > 0).sum(axis=1)
    out[:, _J["inv_spike_ratio_12m"]] = np.where(spike == -np.inf, np.nan, spike)
    if declared_12m is None:
        declared_12m = tax_block(a, ctx, flags)[:, TAX_NAMES.index("tax_sales_declared_12m")]
    out[:, _J["inv_tax_gap_12m"]] = tax_gap(sales12, declared_12m)
    return out


def invoice_features(data: RawTables | FirmArrays, as_of: object,
                     firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None, *,
                     policy: PolicySpec | FlagThresholds | None = None) -> pd.DataFrame:
    """Invoice features, one row per requested firm (see :func:`tax_features`)."""
    arrays, ids, asof = prepare(data, as_of, firm_ids)
    ctx = make_context(arrays, ids, asof)
    return to_frame(invoice_block(arrays, ctx, flag_thresholds(policy)), NAMES, ids)
