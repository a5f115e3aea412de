"""``build_features``: every block joined, one row per requested firm and ``as_of``.

This is the only feature code training and serving use. Training passes one
``as_of`` per application (``applied_on``); serving passes one firm. Both run the
same kernels: the groups are processed in chunks, and one firm is one chunk of one
group.

Examples
--------
>>> from techcredit.schemas import RawTables, records_to_frame
>>> firms = records_to_frame("firms", [{"firm_id": 3, "registered_on": "2022-01-01",
...     "industry_code": "C39", "region_code": "310000", "employees": 4, "st_staff": 0}])
>>> empty = {n: records_to_frame(n, []) for n in ("tax_grades", "tax_filings",
...     "invoices", "patents", "patent_events", "rnd")}
>>> frame = build_features(RawTables(firms=firms, **empty), as_of="2024-03-31")
>>> frame.shape == (1, len(feature_names()))
True
>>> row = frame.loc[3]
>>> float(row["tax_paid_sum_12m"]), float(row["ip_inforce_count_now"])
(0.0, 0.0)
>>> bool(row["flag_filing_gaps"]), bool(row["flag_staff_few"])  # 24 months unfiled; no report
(True, False)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from techcredit.config.policy import FlagThresholds, PolicySpec
from techcredit.features import flags, invoice, ip, rnd, tax
from techcredit.features._context import make_context
from techcredit.features._query import flag_thresholds, prepare, to_frame
from techcredit.features.arrays import FirmArrays
from techcredit.features.catalogue import feature_names
from techcredit.schemas import RawTables

__all__ = ["FeatureMatrix", "build_blocks", "build_features", "build_matrix"]

logger = logging.getLogger(__name__)

CHUNK = 16_384
"""Groups per chunk: bounds memory for 100,000 firms; one firm is one chunk."""


@dataclass(frozen=True, slots=True)
class FeatureMatrix:
    """Features as one float64 matrix (booleans as 0.0 / 1.0), rows = requested groups."""

    names: tuple[str, ...]
    firm_ids: np.ndarray
    as_of: np.ndarray
    """int64 days since 1970-01-01, one per row."""
    values: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Frame indexed by ``firm_id``; boolean features as ``bool``."""
        return to_frame(self.values, self.names, self.firm_ids)


_INPUT = tax.NAMES + invoice.NAMES + ip.NAMES + rnd.NAMES
_GAP_INPUT = tax.NAMES.index("tax_sales_declared_12m")


def build_blocks(arrays: FirmArrays, firm_ids: np.ndarray, asof: np.ndarray,
                 thresholds: FlagThresholds) -> dict[str, np.ndarray]:
    """Every feature of groups ``(firm_ids[i], asof[i])`` by name (float64 arrays)."""
    rows = _build(arrays, firm_ids, asof, thresholds)
    return {name: rows[j] for j, name in enumerate(feature_names())}


def _build(arrays: FirmArrays, firm_ids: np.ndarray, asof: np.ndarray,
           thresholds: FlagThresholds) -> np.ndarray:
    """Every feature as a ``(features, groups)`` array (rows in catalogue order)."""
    ctx = make_context(arrays, firm_ids, asof)
    tax_part = tax.tax_block(arrays, ctx, thresholds)
    parts = np.concatenate([
        tax_part,
        invoice.invoice_block(arrays, ctx, thresholds, declared_12m=tax_part[_GAP_INPUT]),
        ip.ip_rows(arrays, ctx),
        rnd.rnd_block(arrays, ctx),
    ])
    return np.concatenate([parts, flags.flag_block(parts, _INPUT, thresholds)])


def build_matrix(arrays: FirmArrays, firm_ids: np.ndarray, asof: np.ndarray,
                 thresholds: FlagThresholds, *, chunk_size: int = CHUNK) -> FeatureMatrix:
    """Fast path: features of prepared groups as a :class:`FeatureMatrix`.

    Parameters
    ----------
    arrays : FirmArrays
    firm_ids : int64 array
    asof : int64 array of days since 1970-01-01, same length as ``firm_ids``
    thresholds : FlagThresholds
    chunk_size : int
        Groups per chunk (memory bound); results do not depend on it.
    """
    names = feature_names()
    n = firm_ids.size
    if n <= chunk_size:  # serving: one chunk
        rows = _build(arrays, firm_ids, asof, thresholds)
        return FeatureMatrix(names, firm_ids, asof, rows.T)
    rows = np.empty((len(names), n))
    for lo in range(0, n, chunk_size):
        hi = min(lo + chunk_size, n)
        rows[:, lo:hi] = _build(arrays, firm_ids[lo:hi], asof[lo:hi], thresholds)
    logger.debug("built %d features for %d groups in %d chunks", len(names), n,
                 -(-n // chunk_size))
    return FeatureMatrix(names, firm_ids, asof, rows.T)


def build_features(data: RawTables | FirmArrays, as_of: object,
                   firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None, *,
                   policy: PolicySpec | FlagThresholds | None = None) -> pd.DataFrame:
    """Build every catalogued feature, one row per requested firm.

    Parameters
    ----------
    data : RawTables or FirmArrays
        Raw records; convert to :class:`FirmArrays` once and pass that when building
        repeatedly (serving).
    as_of : date-like, or one date per requested firm (e.g. ``applications.applied_on``)
        Nothing dated after it influences any feature.
    firm_ids : sequence of int, optional
        Firms in the order wanted, repeats allowed; default every firm in ``firms``.
        A firm with no records of a source gets defined values (counts 0, ratios NaN).
    policy : PolicySpec or FlagThresholds, optional
        Flag thresholds; ``models/policy.yaml`` when omitted.

    Returns
    -------
    pandas.DataFrame
        Index ``firm_id`` in request order, columns in catalogue order; boolean
        features as ``bool``, the rest ``float64``.
    """
    arrays, ids, asof = prepare(data, as_of, firm_ids)
    return build_matrix(arrays, ids, asof, flag_thresholds(policy)).to_frame()
