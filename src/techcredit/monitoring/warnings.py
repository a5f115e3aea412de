"""Post-loan early warnings: the loan's firm now against the same firm at booking.

The state of each firm is built twice with the point-in-time feature builders
(:func:`techcredit.features.build_features`): at the monitoring date and at the loan's
booking date. Each rule of ``models/monitoring.yaml`` (``early_warnings``) compares
them through conditions on ``now``, ``booking``, ``ratio`` (now / booking) or
``change`` (now - booking) values; a condition on a missing value never holds.

Monitoring fields besides catalogue features:

* ``rep_changed_on_book``: 1 when the firm's legal representative changed after
  booking and by the monitoring date (``firms.legal_rep_changed_on``), else 0.

Examples
--------
>>> from techcredit.data import generate
>>> from techcredit.monitoring.portfolio import Portfolio
>>> tables = generate(30, seed=5)
>>> app = tables.applications.iloc[0]
>>> book = Portfolio.from_records([{"loan_id": 1, "firm_id": int(app.firm_id),
...     "booked_on": app.applied_on.date(), "term_months": 12, "limit_cny": 5e5,
...     "rate_annual": 0.05}])
>>> early_warnings(tables, book, app.applied_on).empty   # nothing happened since booking
True
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from techcredit.config._base import compare
from techcredit.config.monitoring import MonitoringSpec, WarningCondition, load_monitoring_spec
from techcredit.exceptions import ConfigError
from techcredit.features import FirmArrays, build_features
from techcredit.monitoring.alerts import alert_frame, alert_row
from techcredit.monitoring.portfolio import Portfolio
from techcredit.schemas import RawTables

__all__ = ["MONITORING_FIELDS", "early_warnings", "firm_states"]

logger = logging.getLogger(__name__)

MONITORING_FIELDS: tuple[str, ...] = ("rep_changed_on_book",)
"""Names a warning condition may read besides catalogue features."""


def firm_states(tables: RawTables, loans: pd.DataFrame, as_of: object
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features of each loan's firm ``(now, at booking)``, one row per loan, float64.

    Both frames carry the monitoring fields and are indexed like ``loans``.
    """
    arrays = FirmArrays.from_tables(tables)
    firm_ids = loans["firm_id"].to_numpy(dtype=np.int64)
    now = build_features(arrays, as_of=pd.Timestamp(as_of), firm_ids=firm_ids)
    booking = build_features(arrays, as_of=loans["booked_on"].to_numpy(), firm_ids=firm_ids)
    now = now.astype("float64").set_axis(loans.index)
    booking = booking.astype("float64").set_axis(loans.index)
    changed = loans["firm_id"].map(tables.firms.set_index("firm_id")["legal_rep_changed_on"])
    now["rep_changed_on_book"] = ((changed > loans["booked_on"])
                                  & (changed <= pd.Timestamp(as_of))).astype("float64")
    booking["rep_changed_on_book"] = 0.0
    return now, booking


def _values(cond: WarningCondition, now: pd.DataFrame, booking: pd.DataFrame) -> np.ndarray:
    if cond.feature not in now.columns:
        raise ConfigError(f"early-warning condition reads unknown feature {cond.feature!r}; "
                       f"expected a catalogue feature or one of {list(MONITORING_FIELDS)}")
    a = now[cond.feature].to_numpy(dtype=np.float64)
    b = booking[cond.feature].to_numpy(dtype=np.float64)
    if cond.at == "now":
        return a
    if cond.at == "booking":
        return b
    if cond.at == "change":
        return a - b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def early_warnings(tables: RawTables, portfolio: Portfolio, as_of: object, *,
                   spec: MonitoringSpec | None = None) -> pd.DataFrame:
    """Early-warning alerts of the loans active at ``as_of``.

    Parameters
    ----------
    tables : RawTables
        Raw records up to (at least) ``as_of``; nothing later is used.
    portfolio : Portfolio
        Loans (and pledges, unused here); loans not active at ``as_of`` are skipped.
    as_of : date-like
        The monitoring date.
    spec : MonitoringSpec, optional
        Rules; ``models/monitoring.yaml`` when omitted.

    Returns
    -------
    pandas.DataFrame
        Alerts (see :mod:`techcredit.monitoring.alerts`), ``patent_id`` missing.

    Raises
    ------
    InvalidInputError
        If a loan's firm is not in ``tables``.
    """
    spec = spec or load_monitoring_spec()
    live = portfolio.active(as_of)
    live.check_against(tables)
    logger.info("early warnings of %d active loans at %s", len(live.loans), as_of)
    if live.loans.empty:
        return alert_frame([])
    now, booking = firm_states(tables, live.loans, as_of)
    rows = []
    for rule in spec.early_warnings:
        fires = np.ones(len(live.loans), dtype=bool)
        for cond in rule.when:
            with np.errstate(invalid="ignore"):
                fires &= compare(_values(cond, now, booking), cond.op, cond.value)
        first = rule.when[0]
        observed = _values(first, now, booking)
        for i in np.flatnonzero(fires):
            loan = live.loans.iloc[i]
            rows.append(alert_row(rule, spec, as_of=as_of, loan_id=loan.loan_id,
                                  firm_id=loan.firm_id, observed=observed[i],
                                  threshold=first.value))
    return alert_frame(rows)
