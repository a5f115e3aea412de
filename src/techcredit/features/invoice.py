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
from techcredit.features._groups import (
    month_of,
    month_start_day,
    ratio,
    selection,
    slope12,
    top_ascending,
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
_TRAILING = np.arange(12)[:, None] + np.arange(12)[None, :]
_MONTHS = np.arange(WIDTH + 1)
_CODES = len(STATUS_CODES) * 24
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
    voided, else 1) and a ``(72, 2)`` table selecting normal invoices and normal
    invoices issued at night.
    """
    code = np.arange(len(STATUS_CODES) * 24)
    hour, status = code % 24, code // 24
    if night_start > night_end:
        night = (hour >= night_start) | (hour < night_end)
    else:
        night = (hour >= night_start) & (hour < night_end)
    normal = status == _NORMAL
    return (status, (status != _VOIDED).astype(np.float64),
            np.array([normal, normal & night], dtype=np.float64).T)


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
    # invoices are sorted by (firm, day): each (group, month) of the window is one slice;
    # column 0 finds the firm's first invoice, columns 1..25 the starts of 25 months
    base = ctx.firm_ids << DAY_BITS
    query = np.empty((n, WIDTH + 2), dtype=np.int64)
    query[:, 0] = base
    query[:, 1:] = (month_start_day((ref - (WIDTH - 1))[:, None] + _MONTHS)
                    + (base + DAY_OFFSET)[:, None])
    cut = v.key.searchsorted(query)
    start, months = cut[:, 0], cut[:, 1:]
    status_of, net_of, by_code = _code_tables(flags.night_invoicing.start_hour,
                                              flags.night_invoicing.end_hour)
    # net sales by (group, month) over the 24-month window
    window = selection(months[:, 0], months[:, -1])
    slot = np.repeat(np.arange(n * WIDTH), np.diff(months, axis=1).ravel())  # group*24+month
    grid = np.bincount(slot, v.amount[window] * net_of[v.code[window]], minlength=n * WIDTH)
    grid = grid.reshape(n, WIDTH)

    # the last 12 months: amounts and counts by code (status, hour), sales by buyer
    lens = months[:, -1] - months[:, 12]
    recent = selection(months[:, 12], months[:, -1])
    code, amount, buyer = v.code[recent], v.amount[recent], v.buyer[recent]
    g = np.repeat(np.arange(n), lens)
    counts = np.bincount(g * _CODES + code, minlength=n * _CODES).reshape(n, _CODES)
    count, night = (counts[:, None, :] * by_code.T).sum(axis=2).T  # exact integer sums
    # amounts by status, each summed in invoice order
    amounts = np.bincount(g * 3 + status_of[code], amount, minlength=n * 3).reshape(n, 3)
    normal_amt, voided_amt = amounts[:, _NORMAL], amounts[:, _VOIDED]
    red_amt = -amounts[:, _RED]
    width = max(int(buyer.max()) + 1 if buyer.size else 0, _TOP)
    by_buyer = np.bincount(g * width + buyer, amount * net_of[code], minlength=n * width)
    # buyers with net sales of at least half a fen, in (group, buyer) order: summing them
    # in that order gives each group's sums independent of the padding width
    pos = np.flatnonzero(by_buyer >= HALF_FEN)
    sales, row = by_buyer[pos], pos // width
    total = np.bincount(row, sales, minlength=n)
    hhi = np.bincount(row, sales * sales, minlength=n)
    buyers = np.bincount(row, minlength=n)
    top = top_ascending(by_buyer.reshape(n, width), _TOP)
    top = np.where(top >= HALF_FEN, top, 0.0)

    last12, prior12 = grid[:, 12:], grid[:, :12]
    sales12 = np.add.reduce(last12, axis=1)
    prior = np.add.reduce(prior12, axis=1)
    last3 = np.add.reduce(grid[:, 21:], axis=1)
    # a month's sales against the median of the 12 months before it
    windows = np.sort(grid[:, _TRAILING], axis=2)  # (n, 12 months, 12 months before)
    spikes = ratio(last12, 0.5 * (windows[:, :, 5] + windows[:, :, 6]))
    spike = np.where(np.isnan(spikes), -np.inf, spikes).max(axis=1)

    has = months[:, -1] > start  # any invoice on or before the end of the reference month
    first_day = (v.key[np.minimum(start, max(v.key.size - 1, 0))] & _DAY_MASK) - DAY_OFFSET \
        if v.key.size else np.zeros(n, dtype=np.int64)
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
        "inv_buyers_count_12m": buyers,
        "inv_top1_share_12m": q[6],
        "inv_top5_share_12m": q[7],
        "inv_buyer_hhi_12m": q[8],
        "inv_spike_ratio_12m": np.where(spike == -np.inf, np.nan, spike),
        "inv_night_share_12m": q[5],
        "inv_tax_gap_12m": tax_gap(sales12, declared_12m),
        "inv_history_months_all": np.where(has, ref - month_of(first_day) + 1, 0),
    }


def invoice_features(data: RawTables | FirmArrays, as_of: object,
                     firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None, *,
                     policy: PolicySpec | FlagThresholds | None = None) -> pd.DataFrame:
    """Invoice features, one row per requested firm (see :func:`tax_features`)."""
    arrays, ids, asof = prepare(data, as_of, firm_ids)
    ctx = make_context(arrays, ids, asof)
    return to_frame(invoice_block(arrays, ctx, flag_thresholds(policy)).T, NAMES, ids)
