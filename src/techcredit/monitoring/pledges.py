"""IP-pledge events: what happened to each pledged patent since its loan was booked.

Rules (``models/monitoring.yaml``, section ``pledges``):

* event rules: a ``lapse``, ``transfer``, ``invalidation_request`` or ``litigation``
  event on the pledged right dated after booking and by the monitoring date
  (``patent_events``; observed value: the number of such events);
* ``fee_overdue``: the right is in force, of a fee-paying kind, and the annual fees
  paid by the monitoring date cover fewer patent years (365.25 days from grant each)
  than have started (observed: days overdue);
* ``expiry_in_term``: the right is in force and its legal term ends before maturity
  plus a margin (observed: remaining life in years; threshold: years to that date);
* ``value_below_line``: the right is in force and the secured amount
  (``ltv x appraised_value_cny``) over its value now (:func:`techcredit.rating.value_patents`)
  exceeds ``ltv_max`` (observed: that current loan-to-value).

The point-in-time state of each right comes from :func:`techcredit.features.patent_state`.

Examples
--------
>>> import pandas as pd
>>> from techcredit.data import generate
>>> from techcredit.monitoring.portfolio import Portfolio
>>> tables = generate(60, seed=3)
>>> pat = tables.patents[tables.patents["kind"] == "invention"].iloc[0]
>>> booked = tables.applications.set_index("firm_id").loc[pat.firm_id, "applied_on"]
>>> book = Portfolio.from_records(
...     [{"loan_id": 1, "firm_id": int(pat.firm_id), "booked_on": booked.date(),
...       "term_months": 12, "limit_cny": 5e5, "rate_annual": 0.05}],
...     [{"loan_id": 1, "patent_id": int(pat.patent_id), "appraised_value_cny": 1e5,
...       "ltv": 0.3}])
>>> lapse = pd.DataFrame({"patent_id": [pat.patent_id], "firm_id": [pat.firm_id],
...     "event_on": [booked + pd.Timedelta(days=30)], "event": ["lapse"],
...     "amount_cny": [float("nan")]})
>>> from dataclasses import replace
>>> later = replace(tables, patent_events=pd.concat([tables.patent_events, lapse]))
>>> pledge_alerts(later, book, booked + pd.Timedelta(days=60))["rule_id"].tolist()
['PLEDGE_LAPSED']
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from techcredit.config.monitoring import MonitoringSpec, load_monitoring_spec
from techcredit.features import patent_state
from techcredit.features._groups import DAYS_PER_YEAR
from techcredit.monitoring.alerts import alert_frame, alert_row
from techcredit.monitoring.portfolio import Portfolio
from techcredit.rating import CitationCohorts, value_patents
from techcredit.schemas import RawTables

__all__ = ["pledge_alerts", "pledge_states"]

logger = logging.getLogger(__name__)



def pledge_states(tables: RawTables, portfolio: Portfolio, as_of: object, *,
                  cohorts: CitationCohorts | None = None) -> pd.DataFrame:
    """One row per pledge of an active loan with the state of its right at ``as_of``.

    Columns: the pledge and loan columns, ``kind``, ``in_force``, ``granted_on``,
    ``remaining_life_years``, ``fees_paid``, ``fee_due_on``, ``value_cny`` (revalued) and
    ``current_ltv`` (secured over value; infinite when the value is 0).
    """
    day = pd.Timestamp(as_of)
    live = portfolio.active(day)
    live.check_against(tables)
    p = live.pledges.merge(live.loans[["loan_id", "firm_id", "booked_on", "maturity_on"]],
                           on="loan_id", how="left")
    ids = p["patent_id"].unique()
    pats = tables.patents[tables.patents["patent_id"].isin(ids)]
    events = tables.patent_events[tables.patent_events["patent_id"].isin(ids)]
    state = patent_state(pats, events, day).to_frame().set_index("patent_id")
    for col in ("kind", "in_force", "remaining_life_years"):
        p[col] = p["patent_id"].map(state[col]).to_numpy()
    p["granted_on"] = p["patent_id"].map(pats.set_index("patent_id")["granted_on"])
    fees = events[(events["event"] == "annual_fee") & (events["event_on"] <= day)]
    p["fees_paid"] = p["patent_id"].map(fees.groupby("patent_id").size()).fillna(0)
    p["fee_due_on"] = p["granted_on"] + pd.to_timedelta(
        np.round(p["fees_paid"].to_numpy() * DAYS_PER_YEAR), unit="D")
    valued = value_patents(tables, day, tables.firms["firm_id"].to_numpy(), cohorts=cohorts)
    p["value_cny"] = p["patent_id"].map(valued.set_index("patent_id")["value_cny"]).fillna(0.0)
    with np.errstate(divide="ignore"):
        p["current_ltv"] = np.where(p["value_cny"] > 0,
                                    p["secured_cny"] / p["value_cny"].where(
                                        p["value_cny"] > 0, 1.0), np.inf)
    return p


def pledge_alerts(tables: RawTables, portfolio: Portfolio, as_of: object, *,
                  spec: MonitoringSpec | None = None,
                  cohorts: CitationCohorts | None = None) -> pd.DataFrame:
    """IP-pledge alerts of the loans active at ``as_of``.

    Parameters
    ----------
    tables : RawTables
        Raw records up to (at least) ``as_of``.
    portfolio : Portfolio
    as_of : date-like
    spec : MonitoringSpec, optional
        Rules; ``models/monitoring.yaml`` when omitted.
    cohorts : CitationCohorts, optional
        Citation cohorts for the revaluation; fit on every right in ``tables`` at
        ``as_of`` when omitted (appraise at booking the same way to compare like with like).

    Returns
    -------
    pandas.DataFrame
        Alerts (see :mod:`techcredit.monitoring.alerts`) with ``patent_id`` set.

    Raises
    ------
    InvalidInputError
        If a loan's firm or a pledged patent is not in ``tables``, or the patent is
        not a right of the loan's firm.
    """
    spec = spec or load_monitoring_spec()
    day = pd.Timestamp(as_of)
    if portfolio.active(day).pledges.empty:
        return alert_frame([])
    p = pledge_states(tables, portfolio, day, cohorts=cohorts)
    logger.info("pledge events of %d pledged rights at %s", len(p), day.date())
    rows: list[dict[str, Any]] = []

    def add(rule: Any, mask: np.ndarray, observed: np.ndarray, threshold: np.ndarray) -> None:
        for i in np.flatnonzero(mask):
            r = p.iloc[i]
            rows.append(alert_row(rule, spec, as_of=day, loan_id=r.loan_id, firm_id=r.firm_id,
                                  patent_id=int(r.patent_id), observed=observed[i],
                                  threshold=threshold[i]))

    ev = tables.patent_events.merge(p[["loan_id", "patent_id", "booked_on"]], on="patent_id")
    ev = ev[(ev["event_on"] > ev["booked_on"]) & (ev["event_on"] <= day)]
    n = len(p)
    for rule in spec.pledges.events:
        counts = ev[ev["event"] == rule.event].groupby(["loan_id", "patent_id"]).size()
        seen = p[["loan_id", "patent_id"]].join(counts.rename("n"), on=["loan_id", "patent_id"])
        seen = seen["n"].fillna(0).to_numpy(dtype=np.float64)
        add(rule, seen > 0, seen, np.ones(n))

    live = p["in_force"].to_numpy(dtype=bool)
    fee = spec.pledges.fee_overdue
    overdue = (day - p["fee_due_on"]).dt.days.to_numpy(dtype=np.float64)
    fee_kind = p["kind"].isin(fee.fee_kinds).to_numpy()
    with np.errstate(invalid="ignore"):
        add(fee, live & fee_kind & (overdue > fee.days_min), overdue,
            np.full(n, float(fee.days_min)))

    exp = spec.pledges.expiry_in_term
    horizon = p["maturity_on"] + pd.DateOffset(months=exp.margin_months)
    years_left = ((horizon - day).dt.days / DAYS_PER_YEAR).to_numpy(dtype=np.float64)
    remaining = p["remaining_life_years"].to_numpy(dtype=np.float64)
    add(exp, live & (remaining < years_left), remaining, years_left)

    line = spec.pledges.value_below_line
    current = p["current_ltv"].to_numpy(dtype=np.float64)
    add(line, live & (current > line.ltv_max), current, np.full(n, line.ltv_max))
    return alert_frame(rows)
