"""Portfolios with known futures, for tests and the ``techcredit monitor --demo`` run.

:func:`build_scenario` takes raw tables (``techcredit.data.generate`` or the sample),
books a portfolio, writes stable post-booking records for every booked firm
(:mod:`techcredit.monitoring._continue`), then plants deterioration on chosen loans.
It returns both worlds and the alerts each plant must raise.

Booking: applications dated in the ``window_months`` ending ``months_on_book``
months before ``as_of`` whose firm is clean at the application date
(:func:`clean_at_booking`): no knock-out and no refer rule of the credit policy
(``models/policy.yaml``) fires on the firm's features then, and every early warning of
``models/monitoring.yaml`` could still fire after booking (its ``booking`` conditions
hold, the values its ``ratio`` conditions divide by are positive). There is no credit
model in the loop, so rules on the model's outputs (``prob_default``,
``risk_grade_rank``: ``KO_RISK_GRADE``) see a missing value and never fire: these are
the applications a lender could book, not the ones a model approved.
Each ``tech_loan`` pledges the firm's most valuable pledgeable right (value from
:func:`techcredit.rating.value_patents` at booking, ``pledge_exclusion`` empty).

Plants (:data:`PLANTS`: plant -> rule ids it must raise on its loan):

======================  ====================================================
abnormal_taxpayer       firm listed 20 days before ``as_of``
tax_arrears             arrears recorded 20 days before ``as_of``
grade_d / grade_c       a grade D / C published 15 days before ``as_of``
tax_collapse            tax paid after booking x 0.2
filing_gaps             no filings for the 4 months before ``as_of``'s month
invoice_drop            invoices after booking x 0.3
red_letter_surge        30 % of each invoice after booking reversed (红冲)
legal_rep_change        legal representative changed 40 days before ``as_of``
patent_lapse            pledged right lapses 30 days before ``as_of``
fee_overdue             pledged right's fees after booking not paid
invalidation / litigation / transfer   that event 60 days after booking
value_drop              firm revenue in reports after booking x 0.1
expiry_in_term          loan term extended past the pledged right's legal term
======================  ====================================================

Examples
--------
>>> import datetime as dt
>>> from techcredit.data import generate
>>> tables = generate(400, seed=3, first_application=dt.date(2025, 1, 1),
...                   last_application=dt.date(2025, 3, 31))
>>> s = build_scenario(tables, as_of="2026-03-31", plants=("abnormal_taxpayer",))
>>> s.expected[["rule_id", "level"]].to_dict("records")
[{'rule_id': 'ABNORMAL_TAXPAYER', 'level': 'severe'}]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from techcredit.config._base import compare
from techcredit.config.monitoring import MonitoringSpec, load_monitoring_spec
from techcredit.config.policy import DECISION_FIELDS, PolicySpec, load_policy
from techcredit.decision.policy import CompiledPolicy, fraud_flag_count
from techcredit.exceptions import InvalidInputError
from techcredit.features import build_features, patent_state
from techcredit.features._groups import DAYS_PER_YEAR
from techcredit.monitoring._continue import continue_records
from techcredit.monitoring.portfolio import Portfolio
from techcredit.monitoring.warnings import MONITORING_FIELDS
from techcredit.rating import value_patents
from techcredit.schemas import RawTables, conform_frame

__all__ = ["FIRM_PLANTS", "PLANTS", "PLEDGE_PLANTS", "Scenario", "book_portfolio",
           "build_scenario", "clean_at_booking"]

logger = logging.getLogger(__name__)

FIRM_PLANTS: dict[str, tuple[str, ...]] = {
    "abnormal_taxpayer": ("ABNORMAL_TAXPAYER",),
    "tax_arrears": ("TAX_ARREARS",),
    "grade_d": ("TAX_GRADE_D",),
    "grade_c": ("TAX_GRADE_C",),
    "tax_collapse": ("TAX_PAID_COLLAPSE",),
    "filing_gaps": ("TAX_FILING_GAPS",),
    "invoice_drop": ("INVOICE_SALES_DROP",),
    "red_letter_surge": ("RED_LETTER_SURGE",),
    "legal_rep_change": ("LEGAL_REP_CHANGE",),
}
PLEDGE_PLANTS: dict[str, tuple[str, ...]] = {
    "patent_lapse": ("PLEDGE_LAPSED",),
    "fee_overdue": ("PLEDGE_FEE_OVERDUE",),
    "invalidation": ("PLEDGE_INVALIDATION_REQUEST",),
    "litigation": ("PLEDGE_LITIGATION",),
    "transfer": ("PLEDGE_TRANSFERRED",),
    "value_drop": ("PLEDGE_VALUE_BELOW_LINE",),
    "expiry_in_term": ("PLEDGE_EXPIRES_IN_TERM",),
}
PLANTS: dict[str, tuple[str, ...]] = {**FIRM_PLANTS, **PLEDGE_PLANTS}
"""Every plant and the rule ids it must raise (and nothing else) on its loan."""

_EVENT_PLANTS = {"invalidation": "invalidation_request", "litigation": "litigation",
                 "transfer": "transfer"}
_MAX_TERM_MONTHS = 120


@dataclass(frozen=True)
class Scenario:
    """Both worlds of a scenario and what the planted one must raise.

    Attributes
    ----------
    as_of : pandas.Timestamp
        The monitoring date.
    stable_tables, stable_portfolio : RawTables, Portfolio
        Every booked firm carries on as before booking.
    tables, portfolio : RawTables, Portfolio
        The same with the plants applied.
    planted : dict
        Plant name -> loan id.
    expected : pandas.DataFrame
        ``loan_id``, ``patent_id`` (missing for firm rules), ``rule_id``, ``level``, ``plant``.
    """

    as_of: pd.Timestamp
    stable_tables: RawTables
    stable_portfolio: Portfolio
    tables: RawTables
    portfolio: Portfolio
    planted: dict[str, int]
    expected: pd.DataFrame


def clean_at_booking(tables: RawTables, apps: pd.DataFrame, *,
                     policy: PolicySpec | CompiledPolicy | None = None,
                     spec: MonitoringSpec | None = None) -> np.ndarray:
    """Which applications a lender could book: one boolean per row of ``apps``.

    Clean means, on the firm's features at ``applied_on``
    (:func:`techcredit.features.build_features`):

    * no knock-out and no refer rule of ``policy`` fires, evaluated by the decision
      layer (:meth:`CompiledPolicy.rule_hits`) with ``fraud_flag_count`` as a decision
      counts it; the model's outputs are missing, so rules reading them never fire;
    * every early warning of ``spec`` can still fire: its ``booking`` conditions hold,
      and the features its ``ratio`` conditions divide by are positive (a ratio is
      missing otherwise, so a collapse could never be seen). These are monitoring's
      own conditions, not policy: a loan whose warnings cannot fire is no test of them.

    Parameters
    ----------
    tables : RawTables
        Raw tables.
    apps : pandas.DataFrame
        ``firm_id`` and ``applied_on`` of each application.
    policy : PolicySpec or CompiledPolicy, optional
        ``models/policy.yaml`` when omitted.
    spec : MonitoringSpec, optional
        ``models/monitoring.yaml`` when omitted.

    Examples
    --------
    >>> from techcredit.data import generate
    >>> tables = generate(60, seed=3)
    >>> ok = clean_at_booking(tables, tables.applications)
    >>> ok.dtype.name, 0 < int(ok.sum()) < len(ok)
    ('bool', True)
    """
    compiled = CompiledPolicy.of(policy if policy is not None else load_policy())
    spec = spec or load_monitoring_spec()
    n = len(apps)
    f = build_features(tables, as_of=apps["applied_on"].to_numpy(),
                       firm_ids=apps["firm_id"].to_numpy()).astype("float64")
    feats = {name: f[name].to_numpy() for name in f.columns}
    # no credit model here: prob_default and risk_grade_rank are missing (never hold)
    columns = {**feats, **{name: np.full(n, np.nan) for name in DECISION_FIELDS},
               "fraud_flag_count": fraud_flag_count(compiled.spec, feats, n)}
    ok = ~compiled.rule_hits(columns, n).any(axis=0)
    # at booking nothing has happened since booking: monitoring fields are 0 (firm_states)
    booking = {**feats, **{name: np.zeros(n) for name in MONITORING_FIELDS}}
    for rule in spec.early_warnings:
        for cond in rule.when:
            if cond.at == "booking":
                ok &= cond.holds(booking)
            elif cond.at == "ratio":
                ok &= compare(booking[cond.feature], ">", 0.0)
    return ok


def book_portfolio(tables: RawTables, *, as_of: object, months_on_book: int = 12,
                   window_months: int = 3, term_months: int = 24,
                   policy: PolicySpec | CompiledPolicy | None = None,
                   spec: MonitoringSpec | None = None) -> Portfolio:
    """Book the clean applications dated in the booking window (see the module notes).

    ``policy`` and ``spec`` (``models/policy.yaml`` and ``models/monitoring.yaml`` when
    omitted) say which applications are clean (:func:`clean_at_booking`): a what-if
    policy books another portfolio.
    """
    if tables.applications is None:
        raise InvalidInputError([("applications", None, None, "needed to book a portfolio")])
    day = pd.Timestamp(as_of)
    last = day - pd.DateOffset(months=months_on_book)
    first = last - pd.DateOffset(months=window_months)
    apps = tables.applications
    apps = apps[(apps["applied_on"] > first) & (apps["applied_on"] <= last)]
    apps = apps.drop_duplicates("firm_id").reset_index(drop=True)
    apps = apps[clean_at_booking(tables, apps, policy=policy, spec=spec)].reset_index(drop=True)
    valued = value_patents(tables)
    valued = valued[(valued["pledge_exclusion"] == "") & (valued["value_cny"] > 0)]
    best = valued.sort_values(["firm_id", "value_cny", "patent_id"],
                              ascending=[True, False, True]).groupby("firm_id").head(1)
    best = best.set_index("firm_id")
    loans: list[dict[str, Any]] = []
    pledges: list[dict[str, Any]] = []
    for app in apps.itertuples():
        loans.append({"loan_id": int(app.application_id), "firm_id": int(app.firm_id),
                      "booked_on": app.applied_on.date(), "term_months": term_months,
                      "limit_cny": float(app.requested_amount_cny), "rate_annual": 0.045})
        if app.product == "tech_loan" and app.firm_id in best.index:
            right = best.loc[app.firm_id]
            pledges.append({"loan_id": int(app.application_id),
                            "patent_id": int(right["patent_id"]),
                            "appraised_value_cny": float(right["value_cny"]),
                            "ltv": float(right["ltv"])})
    logger.info("booked %d loans (%d with a pledge) from %d applications in the window",
                len(loans), len(pledges), len(apps))
    return Portfolio.from_records(loans, pledges)


def _pledge_events(tables: RawTables, portfolio: Portfolio) -> RawTables:
    p = portfolio.pledges.merge(portfolio.loans[["loan_id", "firm_id", "booked_on"]],
                                on="loan_id")
    events = pd.DataFrame({"patent_id": p["patent_id"], "firm_id": p["firm_id"],
                           "event_on": p["booked_on"], "event": "pledge",
                           "amount_cny": np.round(p["secured_cny"], -3)})
    return _append(tables, "patent_events", events)


def _append(tables: RawTables, name: str, rows: pd.DataFrame) -> RawTables:
    frame = pd.concat([getattr(tables, name), conform_frame(name, rows)], ignore_index=True)
    return replace(tables, **{name: conform_frame(name, frame)})


def _drop(tables: RawTables, name: str, mask: pd.Series) -> RawTables:
    frame = getattr(tables, name)
    return replace(tables, **{name: frame[~mask].reset_index(drop=True)})


def _edit(tables: RawTables, name: str, mask: pd.Series, **columns: Any) -> RawTables:
    frame = getattr(tables, name).copy()
    for col, value in columns.items():
        frame.loc[mask, col] = value(frame.loc[mask, col]) if callable(value) else value
    return replace(tables, **{name: conform_frame(name, frame)})


class _Planter:
    """Applies one plant to the stable world of a scenario."""

    def __init__(self, tables: RawTables, portfolio: Portfolio, as_of: pd.Timestamp,
                 term_end: pd.Series) -> None:
        self.tables, self.portfolio, self.as_of = tables, portfolio, as_of
        self.term_end = term_end

    def _after(self, name: str, firm: int, booked: pd.Timestamp, col: str) -> pd.Series:
        frame = getattr(self.tables, name)
        return (frame["firm_id"] == firm) & (frame[col] > booked)

    def plant(self, name: str, loan: pd.Series, patent: int | None) -> None:
        firm, booked, t = int(loan["firm_id"]), loan["booked_on"], self.tables
        day = self.as_of
        if name in ("abnormal_taxpayer", "tax_arrears", "legal_rep_change"):
            col = {"abnormal_taxpayer": "abnormal_taxpayer_on", "tax_arrears": "tax_arrears_on",
                   "legal_rep_change": "legal_rep_changed_on"}[name]
            back = 40 if name == "legal_rep_change" else 20
            t = _edit(t, "firms", t.firms["firm_id"] == firm, **{col: day - pd.Timedelta(
                days=back)})
        elif name in ("grade_d", "grade_c"):
            g = t.tax_grades
            year = int(g.loc[g["firm_id"] == firm, "year"].max()) + 1
            t = _drop(t, "tax_grades", (g["firm_id"] == firm) & (g["published_on"] > booked))
            t = _append(t, "tax_grades", pd.DataFrame({
                "firm_id": [firm], "year": [year], "grade": [name[-1].upper()],
                "published_on": [day - pd.Timedelta(days=15)]}))
        elif name == "tax_collapse":
            mask = self._after("tax_filings", firm, booked, "filed_on")
            t = _edit(t, "tax_filings", mask, vat_paid_cny=lambda v: v * 0.2,
                      cit_paid_cny=lambda v: v * 0.2)
        elif name == "filing_gaps":
            start = day.to_period("M").start_time - pd.DateOffset(months=4)
            t = _drop(t, "tax_filings", (t.tax_filings["firm_id"] == firm)
                      & (t.tax_filings["period"] >= start))
        elif name == "invoice_drop":
            mask = self._after("invoices", firm, booked, "issued_at")
            t = _edit(t, "invoices", mask, amount_cny=lambda v: v * 0.3,
                      tax_cny=lambda v: v * 0.3)
        elif name == "red_letter_surge":
            inv = t.invoices
            src = inv[self._after("invoices", firm, booked, "issued_at")
                      & (inv["status"] == "normal")]
            start = int(inv["invoice_id"].max()) + 1
            red = src.assign(invoice_id=np.arange(start, start + len(src)),
                             amount_cny=-0.3 * src["amount_cny"], tax_cny=-0.3 * src["tax_cny"],
                             status="red_letter", original_invoice_id=src["invoice_id"])
            t = _append(t, "invoices", red)
        else:
            t = self._plant_pledge(name, t, loan, patent)
        self.tables = t

    def _plant_pledge(self, name: str, t: RawTables, loan: pd.Series, patent: int | None
                      ) -> RawTables:
        firm, booked, day = int(loan["firm_id"]), loan["booked_on"], self.as_of
        ev = t.patent_events
        on_right = ev["patent_id"] == patent
        if name in ("patent_lapse", "fee_overdue"):
            lapse_on = day - pd.Timedelta(days=30)
            cut = booked if name == "fee_overdue" else lapse_on
            t = _drop(t, "patent_events",
                      on_right & (ev["event"] == "annual_fee") & (ev["event_on"] > cut))
            if name == "patent_lapse":
                t = _append(t, "patent_events", pd.DataFrame({
                    "patent_id": [patent], "firm_id": [firm], "event_on": [lapse_on],
                    "event": ["lapse"], "amount_cny": [np.nan]}))
        elif name in _EVENT_PLANTS:
            t = _append(t, "patent_events", pd.DataFrame({
                "patent_id": [patent], "firm_id": [firm],
                "event_on": [booked + pd.Timedelta(days=60)], "event": [_EVENT_PLANTS[name]],
                "amount_cny": [np.nan]}))
        elif name == "value_drop":
            mask = self._after("rnd", firm, booked, "reported_on")
            if not mask.any():
                raise InvalidInputError([("rnd", None, "reported_on",
                                          f"no annual report of firm {firm} after booking")])
            t = _edit(t, "rnd", mask, revenue_cny=lambda v: v * 0.1,
                      high_tech_revenue_cny=lambda v: v * 0.1)
        elif name == "expiry_in_term":
            self._extend_term(loan, patent)
        else:
            raise InvalidInputError([("plants", None, name, f"unknown plant; one of "
                                      f"{sorted(PLANTS)}")])
        return t

    def _extend_term(self, loan: pd.Series, patent: int | None) -> None:
        term_end = self.term_end[patent]
        months = (term_end.year - loan["booked_on"].year) * 12 + (
            term_end.month - loan["booked_on"].month) + 6
        if months > _MAX_TERM_MONTHS:
            raise InvalidInputError([("pledges", int(loan["loan_id"]), "patent_id",
                                      "right outlives any loan term; cannot plant expiry")])
        loans = self.portfolio.loans.copy()
        loans.loc[loans["loan_id"] == loan["loan_id"], "term_months"] = months
        self.portfolio = Portfolio.from_frames(loans, self.portfolio.pledges)


def _term_ends(tables: RawTables, portfolio: Portfolio, day: pd.Timestamp) -> pd.Series:
    """End of the legal term of each pledged right (patent_id -> Timestamp)."""
    ids = portfolio.pledges["patent_id"]
    state = patent_state(tables.patents[tables.patents["patent_id"].isin(ids)],
                         tables.patent_events[tables.patent_events["patent_id"].isin(ids)],
                         day).to_frame()
    ends = day + pd.to_timedelta(np.round(state["remaining_life_years"] * DAYS_PER_YEAR), unit="D")
    return pd.Series(ends.to_numpy(), index=state["patent_id"].to_numpy())


def _assign(portfolio: Portfolio, plants: tuple[str, ...], rng: np.random.Generator,
            term_end: pd.Series, kind_of: pd.Series, fee_kinds: list[str]) -> dict[str, int]:
    patent_of = portfolio.pledges.set_index("loan_id")["patent_id"]
    pledge_loans = list(rng.permutation(patent_of.index.to_numpy()))
    others = [i for i in rng.permutation(portfolio.loans["loan_id"].to_numpy())
              if i not in set(pledge_loans)]
    out: dict[str, int] = {}
    for name in plants:
        if name not in PLANTS:
            raise InvalidInputError([("plants", None, name,
                                      f"unknown plant; one of {sorted(PLANTS)}")])
        pool = pledge_loans if name in PLEDGE_PLANTS else (others or pledge_loans)
        if name == "expiry_in_term":
            pool.sort(key=lambda i: term_end[patent_of[i]])
        if name in ("fee_overdue", "patent_lapse"):
            pool.sort(key=lambda i: kind_of[patent_of[i]] not in fee_kinds)
        if not pool:
            raise InvalidInputError([("loans", None, None,
                                      f"no loan left for plant {name!r}: book more loans")])
        out[name] = int(pool.pop(0))
    return out


def build_scenario(tables: RawTables, *, as_of: object = None,
                   plants: tuple[str, ...] | list[str] = tuple(PLANTS), seed: int = 0,
                   months_on_book: int = 12, spec: MonitoringSpec | None = None,
                   policy: PolicySpec | CompiledPolicy | None = None) -> Scenario:
    """Book a portfolio, continue every firm stably, plant deterioration on some loans.

    Parameters
    ----------
    tables : RawTables
        Raw tables with ``applications`` (records end at each application date).
    as_of : date-like, optional
        Monitoring date; default the last application date plus ``months_on_book`` months.
    plants : sequence of str
        Names from :data:`PLANTS`, each applied to a different loan.
    seed : int
        Chooses the planted loans.
    months_on_book : int
        Months from the end of the booking window to ``as_of``.
    spec : MonitoringSpec, optional
        Gives the expected levels and, with ``policy``, who is clean at booking;
        ``models/monitoring.yaml`` when omitted.
    policy : PolicySpec or CompiledPolicy, optional
        The credit policy whose rules decide who is clean; ``models/policy.yaml``.

    Returns
    -------
    Scenario
    """
    spec = spec or load_monitoring_spec()
    if tables.applications is None:
        raise InvalidInputError([("applications", None, None, "needed to book a portfolio")])
    day = (pd.Timestamp(as_of) if as_of is not None
           else tables.applications["applied_on"].max() + pd.DateOffset(months=months_on_book))
    portfolio = book_portfolio(tables, as_of=day, months_on_book=months_on_book,
                               policy=policy, spec=spec)
    booked = portfolio.loans.set_index("firm_id")["booked_on"]
    stable = continue_records(_pledge_events(tables, portfolio), booked, day)
    term_end = _term_ends(stable, portfolio, day)
    kind_of = tables.patents.set_index("patent_id")["kind"].astype(str)
    chosen = _assign(portfolio, tuple(plants), np.random.default_rng(seed), term_end, kind_of,
                     spec.pledges.fee_overdue.fee_kinds)
    planter = _Planter(stable, portfolio, day, term_end)
    pledge_of = portfolio.pledges.set_index("loan_id")["patent_id"]
    rows = []
    for name, loan_id in chosen.items():
        loan = portfolio.loans.set_index("loan_id").loc[loan_id]
        loan = pd.concat([loan, pd.Series({"loan_id": loan_id})])
        patent = int(pledge_of[loan_id]) if name in PLEDGE_PLANTS else None
        planter.plant(name, loan, patent)
        rows += [{"loan_id": loan_id, "patent_id": patent, "rule_id": r,
                  "level": spec.level_of(r), "plant": name} for r in PLANTS[name]]
    expected = pd.DataFrame(rows, columns=["loan_id", "patent_id", "rule_id", "level", "plant"])
    expected = expected.astype({"loan_id": "int64", "patent_id": "Int64"})
    return Scenario(as_of=day, stable_tables=stable, stable_portfolio=portfolio,
                    tables=planter.tables, portfolio=planter.portfolio, planted=chosen,
                    expected=expected.sort_values(["loan_id", "rule_id"]).reset_index(drop=True))
