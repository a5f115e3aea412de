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
from concurrent.futures import ThreadPoolExecutor
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

__all__ = ["FeatureMatrix", "build_blocks", "build_features", "build_matrix", "warm_up"]

logger = logging.getLogger(__name__)

CHUNK = 8_192
"""Groups per chunk: bounds memory for 100,000 firms; one firm is one chunk."""
THREADS = 2
"""Chunks built at once by :func:`build_matrix` (the serving machines have 2 cores)."""
_NAMES = feature_names()


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
    return {name: rows[j] for j, name in enumerate(_NAMES)}


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
                 thresholds: FlagThresholds, *, chunk_size: int = CHUNK,
                 threads: int = THREADS) -> FeatureMatrix:
    """Fast path: features of prepared groups as a :class:`FeatureMatrix`.

    Parameters
    ----------
    arrays : FirmArrays
    firm_ids : int64 array
    asof : int64 array of days since 1970-01-01, same length as ``firm_ids``
    thresholds : FlagThresholds
    chunk_size : int
        Groups per chunk (memory bound); results do not depend on it.
    threads : int
        Chunks built at once (the compiled kernels release the GIL); results do not
        depend on it. One chunk (e.g. one firm) always runs on the calling thread.

    Examples
    --------
    >>> from techcredit.data import generate
    >>> from techcredit.features._query import flag_thresholds
    >>> tables = generate(30, seed=1)
    >>> arrays = FirmArrays.from_tables(tables)
    >>> ids = tables.firms["firm_id"].to_numpy()
    >>> asof = np.full(ids.size, np.datetime64("2024-06-30", "D").astype(np.int64))
    >>> a = build_matrix(arrays, ids, asof, flag_thresholds(None))
    >>> b = build_matrix(arrays, ids, asof, flag_thresholds(None), chunk_size=7, threads=2)
    >>> a.values.shape == (30, len(a.names)), a.values.tobytes() == b.values.tobytes()
    (True, True)
    """
    n = firm_ids.size
    if n <= chunk_size:  # serving: one chunk
        rows = _build(arrays, firm_ids, asof, thresholds)
        return FeatureMatrix(_NAMES, firm_ids, asof, rows.T)
    rows = np.empty((len(_NAMES), n))

    def run(lo: int) -> None:
        hi = min(lo + chunk_size, n)
        rows[:, lo:hi] = _build(arrays, firm_ids[lo:hi], asof[lo:hi], thresholds)

    starts = range(0, n, chunk_size)
    if threads <= 1:
        for lo in starts:
            run(lo)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for done in pool.map(run, starts):
                del done  # re-raise a chunk's exception here
    logger.debug("built %d features for %d groups in %d chunks on %d threads", len(_NAMES),
                 n, len(starts), max(1, threads))
    return FeatureMatrix(_NAMES, firm_ids, asof, rows.T)


_WARM: list[bool] = []


def warm_up() -> None:
    """Compile the feature kernels now (or load them from numba's cache), once per process.

    The first build in a process otherwise pays it: about 9 s the first time on a
    machine (the machine code is then cached beside the modules), about 0.3 s to load it
    in later processes. :class:`techcredit.Decider` calls this when it is built, so a
    loan system's first ``score()`` is as fast as the others.

    Examples
    --------
    >>> warm_up()  # a second call does nothing
    >>> warm_up()
    """
    if _WARM:
        return
    firm = {"firm_id": 1, "registered_on": "2020-01-01", "industry_code": "I6513",
            "region_code": "310000", "employees": 1, "st_staff": 0}
    arrays = FirmArrays.from_records({"firms": [firm]})
    build_matrix(arrays, np.array([1], dtype=np.int64), np.array([19_000], dtype=np.int64),
                 flag_thresholds(None))
    _WARM.append(True)


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
