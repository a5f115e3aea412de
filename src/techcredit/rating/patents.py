"""Patent valuation: patent value degree (PVD), money value, pledge value, portfolio.

Per right, as of a date (see ``models/patent_valuation.yaml`` and ``docs/rating.md``):

* ``lvd`` legal value degree (kind, remaining life, stability, family, licensing);
  0 for a right not in force;
* ``tvd`` technical value degree (forward citations normalised within the
  (IPC subclass x filing year) cohort, claims, family size);
* ``evd`` economic value degree (strategic-emerging IPC, licence / transfer,
  maintenance years, revenue of the firm the right supports);
* ``pvd = a*lvd + b*tvd + c*evd`` (0-100) and its tier;
* ``value_cny`` by relief from royalty over the remaining economic life;
* ``pledge_value_cny = ltv(tier) * value_cny``, zero with a named
  ``pledge_exclusion`` for rights not granted, lapsed or expired, challenged
  (invalidation request or litigation), expiring inside the loan term, already pledged
  or of a weak tier.

:func:`portfolio_value` rolls the rights up per firm.

Examples
--------
>>> from techcredit.data import generate
>>> tables = generate(300, seed=5)
>>> valued = value_patents(tables)
>>> bool((valued.loc[~valued["in_force"], "pledge_value_cny"] == 0).all())
True
>>> firms = portfolio_value(valued)
>>> bool((firms["pledge_value_cny"] <= firms["value_cny"]).all())
True
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from techcredit.config.rating import Curve, InnovationSpec, ValuationSpec, load_valuation_spec
from techcredit.rating._inputs import as_of_per_firm, patent_frame, slim_arrays
from techcredit.rating.official import default_innovation_spec
from techcredit.schemas import RawTables

__all__ = [
    "CitationCohorts",
    "annuity_factor",
    "default_valuation_spec",
    "portfolio_value",
    "score_patents",
    "value_patents",
]

logger = logging.getLogger(__name__)

_SPEC: list[ValuationSpec] = []


def default_valuation_spec() -> ValuationSpec:
    """Return ``models/patent_valuation.yaml``, loaded once per process."""
    if not _SPEC:
        _SPEC.append(load_valuation_spec())
    return _SPEC[0]


def _curve(x: np.ndarray, curve: Curve) -> np.ndarray:
    xs, ys = zip(*curve.knots, strict=True)
    return np.interp(np.nan_to_num(np.asarray(x, dtype=np.float64), nan=xs[0]), xs, ys)


def annuity_factor(years: np.ndarray, rate_annual: float) -> np.ndarray:
    """Present value of 1 CNY a year for ``years`` (fractional allowed) at ``rate_annual``.

    Examples
    --------
    >>> annuity_factor(np.array([0.0, 1.0, 10.0]), 0.10).round(4).tolist()
    [0.0, 0.9091, 6.1446]
    """
    t = np.maximum(np.asarray(years, dtype=np.float64), 0.0)
    return (1.0 - (1.0 + rate_annual) ** (-t)) / rate_annual


@dataclass(frozen=True)
class CitationCohorts:
    """Mean forward citations by (IPC subclass, filing year), with fall-backs.

    Fit on a reference population (training); store with :meth:`to_dict` so one
    firm at serving time is normalised against the same cohorts.

    Examples
    --------
    >>> c = CitationCohorts.fit(np.array(["G06F"] * 3), np.array([2018] * 3),
    ...                         np.array([0.0, 2.0, 4.0]), min_size=2)
    >>> c.cohort_mean(np.array(["G06F", "H04L"]), np.array([2018, 2018])).tolist()
    [2.0, 2.0]
    >>> CitationCohorts.from_dict(c.to_dict()) == c
    True
    """

    min_size: int
    cohort: dict[tuple[str, int], tuple[int, float]]
    by_ipc: dict[str, tuple[int, float]]
    by_year: dict[int, tuple[int, float]]
    overall: float

    @classmethod
    def fit(cls, ipc: np.ndarray, year: np.ndarray, citations: np.ndarray, *,
            min_size: int) -> CitationCohorts:
        """Count rights and mean citations per cohort, IPC subclass and filing year."""
        frame = pd.DataFrame({"ipc": np.asarray(ipc, dtype=object),
                              "year": np.asarray(year, dtype=np.int64),
                              "c": np.asarray(citations, dtype=np.float64)})

        def stats(keys: list[str]) -> dict[Any, tuple[int, float]]:
            g = frame.groupby(keys, sort=True)["c"].agg(["size", "mean"])
            return {k: (int(r["size"]), float(r["mean"]))
                    for k, r in g.iterrows()}

        overall = float(frame["c"].mean()) if len(frame) else 0.0
        return cls(min_size=min_size,
                   cohort={(str(k[0]), int(k[1])): v for k, v in stats(["ipc", "year"]).items()},
                   by_ipc={str(k): v for k, v in stats(["ipc"]).items()},
                   by_year={int(k): v for k, v in stats(["year"]).items()},
                   overall=overall)

    def cohort_mean(self, ipc: np.ndarray, year: np.ndarray) -> np.ndarray:
        """Mean citations of each right's cohort; small cohorts fall back as documented."""
        out = np.empty(len(ipc))
        for i, (k, y) in enumerate(zip(ipc, year, strict=True)):
            for table, key in ((self.cohort, (str(k), int(y))), (self.by_ipc, str(k)),
                               (self.by_year, int(y))):
                hit = table.get(key)  # type: ignore[attr-defined]
                if hit is not None and hit[0] >= self.min_size:
                    out[i] = hit[1]
                    break
            else:
                out[i] = self.overall
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (lists, strings and numbers only)."""
        return {
            "min_size": self.min_size,
            "cohort": [[k[0], k[1], v[0], v[1]] for k, v in sorted(self.cohort.items())],
            "by_ipc": [[k, v[0], v[1]] for k, v in sorted(self.by_ipc.items())],
            "by_year": [[k, v[0], v[1]] for k, v in sorted(self.by_year.items())],
            "overall": self.overall,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CitationCohorts:
        """Inverse of :meth:`to_dict`."""
        return cls(min_size=int(data["min_size"]),
                   cohort={(str(r[0]), int(r[1])): (int(r[2]), float(r[3]))
                           for r in data["cohort"]},
                   by_ipc={str(r[0]): (int(r[1]), float(r[2])) for r in data["by_ipc"]},
                   by_year={int(r[0]): (int(r[1]), float(r[2])) for r in data["by_year"]},
                   overall=float(data["overall"]))


def score_patents(patents: pd.DataFrame, *, spec: ValuationSpec | None = None,
                  sei_ipc_classes: Iterable[str] | None = None,
                  cohorts: CitationCohorts | None = None,
                  loan_term_years: float | None = None) -> pd.DataFrame:
    """Value rights from their point-in-time state (the kernel of :func:`value_patents`).

    Parameters
    ----------
    patents : pandas.DataFrame
        One row per right: ``firm_id``, ``kind``, ``granted``, ``in_force``, ``lapsed``,
        ``expired``, ``pledged``, ``challenged``, ``transferred``, ``licensed``,
        ``citations``, ``remaining_life_years``, ``years_since_grant``, ``ipc_class``,
        ``claims``, ``family_countries``, ``main_business``, ``filing_year`` and
        ``firm_revenue_cny`` (last-year revenue of the firm; NaN if unknown).
    spec : ValuationSpec, optional
    sei_ipc_classes : iterable of str, optional
        Strategic-emerging IPC subclasses; default from ``innovation_rating.yaml``.
    cohorts : CitationCohorts, optional
        Reference cohorts; fit on ``patents`` when omitted (batch use).
    loan_term_years : float, optional
        Term of the loan the pledge would secure; default from the YAML.

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``citation_ratio``, every sub-score (``lvd_*``, ``tvd_*``,
        ``evd_*``), ``lvd``, ``tvd``, ``evd``, ``pvd``, ``pvd_tier``, ``royalty_rate_annual``,
        ``attributable_revenue_cny``, ``economic_life_years``, ``value_cny``, ``ltv``,
        ``pledge_exclusion`` ("" if none) and ``pledge_value_cny``.
    """
    spec = spec or default_valuation_spec()
    if sei_ipc_classes is None:
        sei_ipc_classes = default_innovation_spec().industry.sei_ipc_classes
    term = spec.pledge.loan_term_years if loan_term_years is None else float(loan_term_years)
    df = patents.reset_index(drop=True).copy()
    kind = df["kind"].astype(object).to_numpy()
    in_force = df["in_force"].to_numpy(dtype=bool)
    ipc = df["ipc_class"].astype(object).to_numpy()
    year = df["filing_year"].to_numpy(dtype=np.int64)
    cites = df["citations"].to_numpy(dtype=np.float64)
    fam = df["family_countries"].to_numpy(dtype=np.float64)
    main = df["main_business"].to_numpy(dtype=bool)
    life = df["remaining_life_years"].to_numpy(dtype=np.float64)

    lg = spec.legal
    df["lvd_kind"] = pd.Series(kind).map(lg.kind_score).to_numpy(dtype=np.float64)
    df["lvd_remaining_life"] = _curve(life, lg.remaining_life_years)
    df["lvd_stability"] = np.where(df["challenged"].to_numpy(dtype=bool),
                                   lg.stability_challenged_score, 100.0)
    df["lvd_family"] = _curve(fam, lg.family_countries)
    df["lvd_licensing"] = np.where(df["licensed"].to_numpy(dtype=bool), lg.licensed_score, 0.0)
    lvd = sum(w * df[f"lvd_{k}"].to_numpy() for k, w in lg.weights.items())
    df["lvd"] = np.where(in_force, lvd, 0.0)

    tc = spec.technical
    if cohorts is None:
        cohorts = CitationCohorts.fit(ipc, year, cites, min_size=tc.cohort_min_size)
    mean = cohorts.cohort_mean(ipc, year)
    s = tc.cohort_smoothing
    df["citation_ratio"] = (cites + s) / np.maximum(mean + s, 1e-9)
    df["tvd_citations"] = _curve(df["citation_ratio"].to_numpy(), tc.citation_ratio)
    df["tvd_claims"] = _curve(df["claims"].to_numpy(dtype=np.float64), tc.claims)
    df["tvd_family"] = _curve(fam, tc.family_countries)
    df["tvd"] = sum(w * df[f"tvd_{k}"].to_numpy() for k, w in tc.weights.items())

    ec = spec.economic
    revenue = df["firm_revenue_cny"].to_numpy(dtype=np.float64)
    factor = np.where(main, 1.0, ec.non_main_business_factor)
    df["evd_sei_fit"] = np.where(pd.Series(ipc).isin(list(sei_ipc_classes)).to_numpy(),
                                 ec.sei_ipc_score, 0.0)
    used = df["licensed"].to_numpy(dtype=bool) | df["transferred"].to_numpy(dtype=bool)
    df["evd_market_use"] = np.where(used, ec.licensed_or_transferred_score, 0.0)
    df["evd_maintenance"] = _curve(df["years_since_grant"].to_numpy(dtype=np.float64),
                                   ec.maintenance_years)
    df["evd_revenue"] = _curve(revenue, ec.firm_revenue_cny) * factor
    df["evd"] = sum(w * df[f"evd_{k}"].to_numpy() for k, w in ec.weights.items())

    pw = spec.pvd_weights
    pvd = pw.legal * df["lvd"] + pw.technical * df["tvd"] + pw.economic * df["evd"]
    df["pvd"] = pvd.to_numpy()
    tiers = spec.pledge.tiers
    tier_idx = np.full(len(df), len(tiers) - 1)
    for i in reversed(range(len(tiers))):
        tier_idx = np.where(df["pvd"].to_numpy() >= tiers[i].pvd_min, i, tier_idx)
    df["pvd_tier"] = np.array([t.name for t in tiers], dtype=object)[tier_idx]
    ltv = np.array([t.ltv for t in tiers])[tier_idx]

    m = spec.money
    df["royalty_rate_annual"] = (pd.Series(kind).map(m.royalty_rate_annual).to_numpy(
        dtype=np.float64) * df["pvd"].to_numpy() / m.pvd_reference)
    weight = np.where(in_force, df["pvd"].to_numpy() * factor, 0.0)
    firm = df["firm_id"].to_numpy()
    firm_weight = pd.Series(weight).groupby(firm).transform("sum").to_numpy()
    share = np.divide(weight, firm_weight, out=np.zeros(len(df)), where=firm_weight > 0)
    df["attributable_revenue_cny"] = (np.nan_to_num(revenue) * m.revenue_attribution_share
                                      * share)
    df["economic_life_years"] = np.where(in_force, np.minimum(life, m.economic_life_max_years),
                                         0.0)
    df["value_cny"] = (df["royalty_rate_annual"] * df["attributable_revenue_cny"]
                       * annuity_factor(df["economic_life_years"].to_numpy(),
                                        m.discount_rate_annual))

    pl = spec.pledge
    reasons = [
        ("NOT_GRANTED", ~df["granted"].to_numpy(dtype=bool)),
        ("LAPSED", df["lapsed"].to_numpy(dtype=bool)),
        ("EXPIRED", df["expired"].to_numpy(dtype=bool)),
        ("CHALLENGED", df["challenged"].to_numpy(dtype=bool)),
        ("EXPIRES_IN_TERM", life < max(term, pl.remaining_life_min_years)),
        ("ALREADY_PLEDGED", df["pledged"].to_numpy(dtype=bool) & pl.exclude_already_pledged),
        ("KIND_NOT_PLEDGEABLE", ~pd.Series(kind).isin(pl.pledgeable_kinds).to_numpy()),
        ("WEAK_PVD", ltv <= 0),
    ]
    exclusion = np.full(len(df), "", dtype=object)
    for name, hit in reversed(reasons):  # the first applicable reason wins
        exclusion = np.where(hit, name, exclusion)
    df["ltv"] = ltv
    df["pledge_exclusion"] = exclusion
    df["pledge_value_cny"] = np.where(exclusion == "", ltv * df["value_cny"], 0.0)
    return df


def value_patents(tables: RawTables, as_of: object = None,
                  firm_ids: Iterable[int] | np.ndarray | pd.Series | None = None, *,
                  spec: ValuationSpec | None = None,
                  innovation_spec: InnovationSpec | None = None,
                  cohorts: CitationCohorts | None = None,
                  loan_term_years: float | None = None) -> pd.DataFrame:
    """Value every right of the requested firms as of a date (see :func:`score_patents`).

    Parameters
    ----------
    tables : RawTables
    as_of : date-like, one date per firm, or None (each firm's application date)
    firm_ids : sequence of int, optional
    spec, innovation_spec : optional specs (YAML defaults)
    cohorts : CitationCohorts, optional
        Reference citation cohorts; fit on these rights when omitted.
    loan_term_years : float, optional

    Returns
    -------
    pandas.DataFrame
        One row per right filed by ``as_of`` (rights filed later are not known).
    """
    ids, asof = as_of_per_firm(tables, as_of, firm_ids)
    arrays = slim_arrays(tables)
    pats = patent_frame(tables, arrays, ids, asof)
    pats = pats[pats["filed"].to_numpy(dtype=bool)].reset_index(drop=True)
    from techcredit.features.rnd import rnd_features

    uniq = pd.Series(asof, index=ids)
    uniq = uniq[~uniq.index.duplicated()]
    rev = rnd_features(arrays, uniq.to_numpy(dtype=np.int64), uniq.index.to_numpy())
    pats["firm_revenue_cny"] = rev["rnd_revenue_sum_1y"].reindex(pats["firm_id"]).to_numpy()
    sei = (innovation_spec or default_innovation_spec()).industry.sei_ipc_classes
    return score_patents(pats, spec=spec, sei_ipc_classes=sei, cohorts=cohorts,
                         loan_term_years=loan_term_years)


def portfolio_value(valued: pd.DataFrame,
                    firm_ids: Iterable[int] | np.ndarray | None = None, *,
                    spec: ValuationSpec | None = None) -> pd.DataFrame:
    """Roll valued rights up per firm.

    Parameters
    ----------
    valued : pandas.DataFrame
        Output of :func:`value_patents` / :func:`score_patents`.
    firm_ids : sequence of int, optional
        Firms to report (firms without rights get zeros); default the firms in ``valued``.
    spec : ValuationSpec, optional
        Names the PVD tiers (YAML default).

    Returns
    -------
    pandas.DataFrame
        Index ``firm_id``: ``rights_count``, ``inforce_count``, ``pledgeable_count``,
        ``pvd_mean_inforce``, ``pvd_max``, ``value_cny``, ``pledge_value_cny`` and
        ``count_<tier>`` for each PVD tier of the rights in force.
    """
    live = valued["in_force"].to_numpy(dtype=bool)
    g = valued.assign(
        _live=live.astype(np.float64),
        _pledgeable=(valued["pledge_value_cny"] > 0).astype(np.float64),
        _pvd_live=np.where(live, valued["pvd"], np.nan),
    ).groupby("firm_id", sort=True)
    out = pd.DataFrame({
        "rights_count": g.size().astype(np.float64),
        "inforce_count": g["_live"].sum(),
        "pledgeable_count": g["_pledgeable"].sum(),
        "pvd_mean_inforce": g["_pvd_live"].mean(),
        "pvd_max": g["_pvd_live"].max(),
        "value_cny": g["value_cny"].sum(),
        "pledge_value_cny": g["pledge_value_cny"].sum(),
    })
    tiers = pd.crosstab(valued.loc[live, "firm_id"], valued.loc[live, "pvd_tier"])
    for name in [t.name for t in (spec or default_valuation_spec()).pledge.tiers]:
        col = tiers[name] if name in tiers.columns else pd.Series(dtype=np.float64)
        out[f"count_{name}"] = col.reindex(out.index).fillna(0).astype(np.float64)
    if firm_ids is not None:
        ids = np.asarray(list(firm_ids), dtype=np.int64)
        out = out.reindex(ids)
        zero = [c for c in out.columns if not c.startswith("pvd_")]
        out[zero] = out[zero].fillna(0.0)
    out.index.name = "firm_id"
    return out
