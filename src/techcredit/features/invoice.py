"""Invoice features: net valid sales, growth, concentration, spikes, night-time issuing.

Valid sales are normal invoices plus red-letter invoices (negative amounts, 红冲);
voided invoices (作废) are excluded. Monthly windows end at the same reference month as
the tax windows (:func:`techcredit.features.tax.reference_month`), so invoiced and
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
from techcredit.features._groups import (
    INT_MAX,
    bounds,
    expand,
    filled,
    group_count,
    group_sum,
    ratio,
    slope12,
)
from techcredit.features._query import flag_thresholds, prepare, to_frame
from techcredit.features.arrays import STATUS_CODES, FirmArrays
from techcredit.features.catalogue import feature_names
from techcredit.features.tax import reference_month, tax_block
from techcredit.schemas import RawTables

__all__ = ["invoice_block", "invoice_features", "tax_gap"]

WIDTH = 24
_NORMAL = STATUS_CODES["normal"]
_VOIDED = STATUS_CODES["voided"]
_RED = STATUS_CODES["red_letter"]
_TOP = 5
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


def invoice_block(a: FirmArrays, firm_ids: np.ndarray, asof: np.ndarray,
                  flags: FlagThresholds,
                  declared_12m: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Invoice features of groups ``(firm_ids[i], asof[i])`` as named float64 arrays.

    ``declared_12m`` is the tax-declared sales of the same 12 months (computed from the
    filings when omitted), used by ``inv_tax_gap_12m``.
    """
    n = firm_ids.size
    v = a.invoices
    ref = reference_month(asof)
    g, rec = expand(*bounds(v.firm, firm_ids))
    month = v.month[rec]
    known = (v.day[rec] <= asof[g]) & (month <= ref[g])
    g, rec, month = g[known], rec[known], month[known]
    first = filled(n, INT_MAX, np.int64)
    np.minimum.at(first, g, month)
    history = np.where(group_count(g, n) > 0, ref - first + 1, 0).astype(np.float64)

    off = month - (ref[g] - (WIDTH - 1))
    inwin = off >= 0
    g, rec, off = g[inwin], rec[inwin], off[inwin]
    status = v.status[rec]
    amount = v.amount[rec]
    valid = status != _VOIDED
    grid = np.bincount(g[valid] * WIDTH + off[valid], amount[valid],
                       minlength=n * WIDTH).reshape(n, WIDTH)
    last12 = grid[:, 12:]
    prior12 = grid[:, :12]
    sales12 = last12.sum(axis=1)
    sales_prior = prior12.sum(axis=1)

    recent = off >= 12
    g12 = g[recent]
    st12 = status[recent]
    amt12 = amount[recent]
    normal = st12 == _NORMAL
    normal_amt = group_sum(g12[normal], amt12[normal], n)
    voided_amt = group_sum(g12[st12 == _VOIDED], amt12[st12 == _VOIDED], n)
    red_amt = -group_sum(g12[st12 == _RED], amt12[st12 == _RED], n)
    count12 = group_count(g12[normal], n)
    night = group_count(g12[normal & _night(v.hour[rec[recent]], flags)], n)

    # a month's sales against the median of the 12 months before it
    windows = np.sort(grid[:, _TRAILING], axis=2)  # (n, 12 months, 12 months before)
    median = 0.5 * (windows[:, :, 5] + windows[:, :, 6])
    positive = median > 0
    spikes = np.where(positive, last12 / np.where(positive, median, 1.0), -np.inf)
    spike = spikes.max(axis=1)
    spike[spike == -np.inf] = np.nan

    if declared_12m is None:
        declared_12m = tax_block(a, firm_ids, asof, flags)["tax_sales_declared_12m"]
    return {
        "inv_sales_net_3m": grid[:, 21:].sum(axis=1),
        "inv_sales_net_12m": sales12,
        "inv_sales_growth_12m": ratio(sales12, sales_prior) - 1.0,
        "inv_sales_yoy_3m": ratio(grid[:, 21:].sum(axis=1), grid[:, 9:12].sum(axis=1)) - 1.0,
        "inv_sales_trend_12m": ratio(slope12(last12 - prior12), sales_prior / 12.0),
        "inv_voided_ratio_12m": ratio(voided_amt, voided_amt + normal_amt),
        "inv_red_ratio_12m": ratio(red_amt, normal_amt),
        "inv_count_12m": count12,
        "inv_active_months_12m": (last12 > 0).sum(axis=1).astype(np.float64),
        **_buyers(v.buyer[rec[recent]][st12 != _VOIDED], g12[st12 != _VOIDED],
                  amt12[st12 != _VOIDED], n),
        "inv_spike_ratio_12m": spike,
        "inv_night_share_12m": ratio(night, count12),
        "inv_tax_gap_12m": tax_gap(sales12, declared_12m),
        "inv_history_months_all": history,
    }


def _buyers(buyer: np.ndarray, g: np.ndarray, amount: np.ndarray,
            n: int) -> dict[str, np.ndarray]:
    """Concentration of net sales by buyer; pairs are sorted by (group, buyer)."""
    if g.size == 0:
        nan = filled(n, np.nan)
        return {"inv_buyers_count_12m": np.zeros(n), "inv_top1_share_12m": nan,
                "inv_top5_share_12m": nan.copy(), "inv_buyer_hhi_12m": nan.copy()}
    new = np.ones(g.size, dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (buyer[1:] != buyer[:-1])
    starts = np.flatnonzero(new)
    net = np.maximum(np.add.reduceat(amount, starts), 0.0)
    run_g = g[starts]
    total = group_sum(run_g, net, n)
    top1 = np.zeros(n)
    np.maximum.at(top1, run_g, net)
    order = np.lexsort((-net, run_g))
    sorted_g = run_g[order]
    group_first = np.searchsorted(sorted_g, sorted_g, side="left")
    top = (np.arange(order.size) - group_first) < _TOP
    top5 = group_sum(sorted_g[top], net[order][top], n)
    return {
        "inv_buyers_count_12m": group_count(run_g[net > 0], n),
        "inv_top1_share_12m": ratio(top1, total),
        "inv_top5_share_12m": ratio(top5, total),
        "inv_buyer_hhi_12m": ratio(group_sum(run_g, net * net, n), total * total),
    }


def invoice_features(data: RawTables | FirmArrays, as_of: object,
                     firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None, *,
                     policy: PolicySpec | FlagThresholds | None = None) -> pd.DataFrame:
    """Invoice features, one row per requested firm (see :func:`tax_features`)."""
    arrays, ids, asof = prepare(data, as_of, firm_ids)
    block = invoice_block(arrays, ids, asof, flag_thresholds(policy))
    return to_frame(block, feature_names("invoice"), ids)
