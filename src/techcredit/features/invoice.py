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
from techcredit.features._groups import expand, month_start_day, ratio, slope12
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
_TRAILING = np.arange(12)[:, None] + np.arange(12)[None, :]


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
    """Invoice features of the context's groups as a ``(len(NAMES), n)`` float64 array.

    ``declared_12m`` is the tax-declared sales of the same 12 months (computed from the
    filings when omitted), used by ``inv_tax_gap_12m``.
    """
    if declared_12m is None:
        declared_12m = tax_block(a, ctx, flags)[TAX_NAMES.index("tax_sales_declared_12m")]
    feats = _invoices(a, ctx, flags, declared_12m)
    return np.array([feats[name] for name in NAMES], dtype=np.float64)


def _invoices(a: FirmArrays, ctx: Context, flags: FlagThresholds,
              declared_12m: np.ndarray) -> dict[str, np.ndarray]:
    n, ref = ctx.n, ctx.ref
    v = a.invoices
    lo = ref - (WIDTH - 1)
    # invoices are sorted by (firm, day): the window is one slice per group
    base = ctx.firm_ids << DAY_BITS
    start = v.key.searchsorted(base)
    first_i = v.key.searchsorted(base + (month_start_day(lo) + DAY_OFFSET))
    last_i = v.key.searchsorted(base + (month_start_day(ref + 1) - 1 + DAY_OFFSET), "right")
    has = last_i > start  # any invoice on or before the end of the reference month
    first_month = v.month[np.minimum(start, max(v.month.size - 1, 0))] if v.month.size else 0
    g, rec = expand(first_i, last_i)
    off = v.month[rec] - lo[g]
    status = v.status[rec]
    amount = v.amount[rec]
    voided = status == _VOIDED
    net = np.where(voided, 0.0, amount)
    grid = np.bincount(g * WIDTH + off, net, minlength=n * WIDTH).reshape(n, WIDTH)
    last12, prior12 = grid[:, 12:], grid[:, :12]
    sales12 = np.add.reduce(last12, axis=1)
    prior = np.add.reduce(prior12, axis=1)
    last3 = np.add.reduce(grid[:, 21:], axis=1)

    recent = off >= 12
    g12, st12, amt12, net12 = g[recent], status[recent], amount[recent], net[recent]
    normal = st12 == _NORMAL
    amounts = np.bincount(g12 * 3 + st12, amt12, minlength=n * 3).reshape(n, 3)
    count = np.bincount(g12, normal, minlength=n)
    night = np.bincount(g12, normal & _night(v.hour[rec[recent]], flags), minlength=n)

    # net sales by buyer (floored at 0) on a (group, buyer) grid
    buyer = v.buyer[rec[recent]]
    width = max(int(buyer.max()) + 1 if buyer.size else 0, _TOP)
    by_buyer = np.bincount(g12 * width + buyer, net12, minlength=n * width).reshape(n, width)
    by_buyer = np.where(by_buyer >= HALF_FEN, by_buyer, 0.0)
    # sequential sums (cumsum) so padding a row with zeros never changes its total
    total = np.cumsum(by_buyer, axis=1)[:, -1]
    hhi = np.cumsum(by_buyer * by_buyer, axis=1)[:, -1]
    top = np.sort(by_buyer, axis=1)[:, -_TOP:]

    # a month's sales against the median of the 12 months before it
    windows = np.sort(grid[:, _TRAILING], axis=2)  # (n, 12 months, 12 months before)
    spikes = ratio(last12, 0.5 * (windows[:, :, 5] + windows[:, :, 6]))
    spike = np.where(np.isnan(spikes), -np.inf, spikes).max(axis=1)

    normal_amt, voided_amt = amounts[:, _NORMAL], amounts[:, _VOIDED]
    red_amt = -amounts[:, _RED]
    q = ratio(np.array([sales12, last3, slope12(last12 - prior12), voided_amt, red_amt, night,
                        top[:, -1], np.add.reduce(top, axis=1), hhi]),
              np.array([prior, np.add.reduce(grid[:, 9:12], axis=1), prior / 12.0,
                        voided_amt + normal_amt, normal_amt, count, total, total,
                        total * total]))
    return {
        "inv_sales_net_3m": last3,
        "inv_sales_net_12m": sales12,
        "inv_sales_growth_12m": q[0] - 1.0,
        "inv_sales_yoy_3m": q[1] - 1.0,
        "inv_sales_trend_12m": q[2],
        "inv_voided_ratio_12m": q[3],
        "inv_red_ratio_12m": q[4],
        "inv_count_12m": count,
        "inv_active_months_12m": (last12 >= HALF_FEN).sum(axis=1),
        "inv_buyers_count_12m": (by_buyer > 0).sum(axis=1),
        "inv_top1_share_12m": q[6],
        "inv_top5_share_12m": q[7],
        "inv_buyer_hhi_12m": q[8],
        "inv_spike_ratio_12m": np.where(spike == -np.inf, np.nan, spike),
        "inv_night_share_12m": q[5],
        "inv_tax_gap_12m": tax_gap(sales12, declared_12m),
        "inv_history_months_all": np.where(has, ref - first_month + 1, 0),
    }


def invoice_features(data: RawTables | FirmArrays, as_of: object,
                     firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None, *,
                     policy: PolicySpec | FlagThresholds | None = None) -> pd.DataFrame:
    """Invoice features, one row per requested firm (see :func:`tax_features`)."""
    arrays, ids, asof = prepare(data, as_of, firm_ids)
    ctx = make_context(arrays, ids, asof)
    return to_frame(invoice_block(arrays, ctx, flag_thresholds(policy)).T, NAMES, ids)
