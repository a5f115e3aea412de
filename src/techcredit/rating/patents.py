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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from techcredit.config.rating import InnovationSpec, ValuationSpec, load_valuation_spec
from techcredit.exceptions import InvalidInputError
from techcredit.features import PatentState
from techcredit.features._jit import kernel, kernel_array, maximum
from techcredit.features.arrays import KIND_CODES
from techcredit.features.ip import STATE_FLAGS, STATE_YEARS
from techcredit.features.rnd import rnd_features
from techcredit.rating._compiled import compile_innovation, compile_valuation
from techcredit.rating._inputs import (
    Rights,
    as_of_per_firm,
    in_sei_ipc,
    right_pairs,
    sei_count_now,
    slim_arrays,
)
from techcredit.rating._kernels import curve_value, stack
from techcredit.rating.official import default_innovation_spec
from techcredit.schemas import RawTables

__all__ = [
    "CitationCohorts",
    "annuity_factor",
    "default_valuation_spec",
    "portfolio_value",
    "rollup",
    "score_patents",
    "value_patents",
    "value_rights",
    "value_sums",
]

_BOOL_INPUTS = ("granted", "in_force", "lapsed", "expired", "pledged", "challenged",
                "transferred", "licensed", "main_business")
_FLOAT_INPUTS = ("citations", "remaining_life_years", "years_since_grant", "claims",
                 "family_countries", "firm_revenue_cny")
_RIGHT_INPUTS = ("firm_id", "kind", "ipc_class", "filing_year", *_BOOL_INPUTS,
                 *_FLOAT_INPUTS)

logger = logging.getLogger(__name__)

_SPEC: list[ValuationSpec] = []


def default_valuation_spec() -> ValuationSpec:
    """Return ``models/patent_valuation.yaml``, loaded once per process."""
    if not _SPEC:
        _SPEC.append(load_valuation_spec())
    return _SPEC[0]


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
    _resolved: dict[tuple[str, int], float] = field(
        default_factory=dict, init=False, compare=False, repr=False)
    """Memo of :meth:`cohort_mean` per (IPC subclass, filing year) key."""

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
        ipc, year = np.asarray(ipc, dtype=object), np.asarray(year, dtype=np.int64)
        if ipc.size > _FEW_RIGHTS:  # many rights: look each distinct cohort up once
            codes, labels = pd.factorize(ipc)
            span = int(year.max() - year.min()) + 1
            distinct, inverse = np.unique(codes * span + (year - year.min()),
                                          return_inverse=True)
            pairs = zip((labels[distinct // span]).tolist(),
                        (distinct % span + year.min()).tolist(), strict=True)
            return self._means(list(pairs))[inverse.ravel()]
        return self._means(list(zip(ipc.tolist(), year.tolist(), strict=True)))

    def _means(self, keys: list[tuple[str, int]]) -> np.ndarray:
        means = self._resolved
        for key in keys:
            if key not in means:
                means[key] = self._mean(str(key[0]), int(key[1]))
        return np.array([means[key] for key in keys], dtype=np.float64)

    def _mean(self, ipc: str, year: int) -> float:
        for table, key in ((self.cohort, (ipc, year)), (self.by_ipc, ipc),
                           (self.by_year, year)):
            hit = table.get(key)  # type: ignore[attr-defined]
            if hit is not None and hit[0] >= self.min_size:
                return hit[1]
        return self.overall

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


_FEW_RIGHTS = 256
"""Up to this many rights, cohorts are looked up one by one (one firm at serving)."""

_REASONS = np.array(["NOT_GRANTED", "LAPSED", "EXPIRED", "CHALLENGED", "EXPIRES_IN_TERM",
                     "ALREADY_PLEDGED", "KIND_NOT_PLEDGEABLE", "WEAK_PVD", ""], dtype=object)
"""Pledge exclusions in priority order (the first applicable wins), then "" (none)."""


def value_rights(r: Mapping[str, np.ndarray], group: np.ndarray, n_groups: int, *,
                 spec: ValuationSpec | None = None,
                 sei_ipc_classes: Iterable[str] | None = None,
                 cohorts: CitationCohorts | None = None,
                 loan_term_years: float | np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Kernel of the valuation on columns (the one implementation; see :func:`score_patents`).

    Parameters
    ----------
    r : mapping of str to arrays, one entry per right
        ``kind_code`` (``techcredit.features.arrays.KIND_CODES``), the booleans ``granted``,
        ``in_force``, ``lapsed``, ``expired``, ``pledged``, ``challenged``,
        ``transferred``, ``licensed``, ``main_business``; ``citations``,
        ``remaining_life_years``, ``years_since_grant``, ``claims``,
        ``family_countries``, ``firm_revenue_cny`` (float), ``filing_year`` (int) and
        ``ipc_class`` (str objects).
    group : int array
        The firm (or requested row) of each right, ``0 .. n_groups - 1``: the money
        value splits a firm's attributable revenue over its rights in force.
    n_groups : int
    spec, sei_ipc_classes, cohorts
        As in :func:`score_patents`.
    loan_term_years : float or array of ``n_groups`` floats, optional
        Term of the loan each group's pledge would secure (YAML default): a right
        expiring inside it cannot be pledged.

    Returns
    -------
    dict of str to numpy.ndarray
        The columns :func:`score_patents` adds, in its order.
    """
    spec = spec or default_valuation_spec()
    sei = _sei_classes(sei_ipc_classes)
    m = np.shape(r["kind_code"])[0]
    if cohorts is None:
        cohorts = CitationCohorts.fit(r["ipc_class"], r["filing_year"],
                                      np.asarray(r["citations"], dtype=np.float64),
                                      min_size=spec.technical.cohort_min_size)
    # the state's rows; "filed" is not read (a valued right is filed)
    flags = stack([np.ones(m) if name == "filed" else r[name] for name in STATE_FLAGS], m) > 0
    main = np.asarray(r["main_business"], dtype=np.float64) > 0
    x = _kernel_inputs(m, citations=r["citations"],
                       cohort_mean=cohorts.cohort_mean(r["ipc_class"], r["filing_year"]),
                       remaining_life_years=r["remaining_life_years"],
                       family_countries=r["family_countries"], claims=r["claims"],
                       years_since_grant=r["years_since_grant"],
                       firm_revenue_cny=r["firm_revenue_cny"],
                       sei_class=in_sei_ipc(r["ipc_class"], sei))
    return _valued_columns(spec, *_run_value(spec, x, flags, main, r["kind_code"], group,
                                             n_groups, loan_term_years))


def _kernel_inputs(m: int, **rows: np.ndarray) -> np.ndarray:
    """The kernel's float input ``x`` for ``m`` rights: the first ``_X_GIVEN`` rows of
    ``_X_ROWS`` from ``rows`` (by name, cast to float64); :func:`_run_value` writes the
    rest."""
    x = np.empty((len(_X_ROWS), m))
    for i, name in enumerate(_X_ROWS[:_X_GIVEN]):
        x[i] = rows[name]
    return x


def _sei_classes(classes: Iterable[str] | None) -> frozenset[str]:
    if classes is None:
        return compile_innovation(default_innovation_spec()).sei_ipc
    return classes if isinstance(classes, frozenset) else frozenset(classes)


def _run_value(spec: ValuationSpec, x: np.ndarray, flags: np.ndarray, main: np.ndarray,
               kind: np.ndarray, group: np.ndarray, n_groups: int,
               loan_term_years: float | np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run :func:`_value`: ``x`` rows ``_X_ROWS`` (the first ``_X_GIVEN`` filled, the
    economic life and annuity factor written here), ``flags`` rows ``STATE_FLAGS`` (the
    :class:`Rights` rows, read only) and ``main`` whether each right serves the main
    business.

    Returns ``(out, tier, reason)``: rows ``_VALUE_COLUMNS``, the PVD tier index and the
    ``_REASONS`` index of each right.
    """
    k, mn, pl = compile_valuation(spec), spec.money, spec.pledge
    m = x.shape[1]
    life = x[_X_ROWS.index("remaining_life_years")]
    # numpy's power, as annuity_factor everywhere (its SIMD pow may differ from libm's)
    economic_life = x[_X_ROWS.index("economic_life_years")]
    np.minimum(life, mn.economic_life_max_years, out=economic_life)
    economic_life[~flags[_IN_FORCE]] = 0.0
    x[_X_ROWS.index("annuity_factor")] = annuity_factor(economic_life, mn.discount_rate_annual)
    term = np.asarray(pl.loan_term_years if loan_term_years is None else loan_term_years,
                      dtype=np.float64)
    if term.shape != (n_groups,):
        term = np.broadcast_to(term, (n_groups,))
    out = np.empty((len(_VALUE_COLUMNS), m))
    tier, reason = np.empty(m, dtype=np.intp), np.empty(m, dtype=np.intp)
    _value(x, kernel_array(flags, bool), kernel_array(main, bool), pl.exclude_already_pledged,
           kernel_array(kind, np.intp), kernel_array(group, np.intp), kernel_array(term),
           k.curves.packed, k.kind_score, k.royalty, k.unpledgeable_kind, k.lvd_index,
           k.lvd_weights, k.tvd_index, k.tvd_weights, k.evd_index, k.evd_weights,
           k.tier_min_ascending, k.tier_ltv, k.constants, np.zeros(n_groups), out, tier,
           reason)
    return out, tier, reason


def _valued_columns(spec: ValuationSpec, out: np.ndarray, tier: np.ndarray,
                    reason: np.ndarray) -> dict[str, np.ndarray]:
    """The columns :func:`score_patents` adds, from :func:`_run_value`."""
    valued = dict(zip(_VALUE_COLUMNS[:17], out, strict=False))
    valued["pvd_tier"] = compile_valuation(spec).tier_names[tier]
    valued.update(zip(_VALUE_COLUMNS[17:22], out[17:22], strict=True))
    valued["pledge_exclusion"] = _REASONS[reason]
    valued["pledge_value_cny"] = out[-1]  # the last of _VALUE_COLUMNS
    return valued


@dataclass(frozen=True, slots=True, eq=False)
class ValuedRights:
    """Valued rights of requested rows (serving): kernel rows, per-right table on demand.

    :func:`value_pairs` builds it. The decision engine reads :meth:`sums` and
    :meth:`sei_count`; :meth:`table` (explanations, :func:`value_patents`) spells each
    right out as the columns of :func:`value_patents` and is built only when asked for.
    """

    rights: Rights
    revenue_cny: np.ndarray
    """Revenue of each pair's firm (``firm_revenue_cny``)."""
    sei: np.ndarray
    """bool per pair: the right's IPC subclass is strategic-emerging."""
    filing_year: np.ndarray
    spec: ValuationSpec
    out: np.ndarray
    """Rows ``_VALUE_COLUMNS``, one column per pair."""
    tier: np.ndarray
    reason: np.ndarray

    @property
    def group(self) -> np.ndarray:
        """Requested row of each right (rights ordered by row)."""
        return self.rights.group

    def sums(self, n_groups: int) -> dict[str, np.ndarray]:
        """:func:`value_sums` of the rights over ``n_groups`` requested rows."""
        return value_sums({"value_cny": self.out[_VALUE_COLUMNS.index("value_cny")],
                           "pledge_value_cny": self.out[-1]}, self.rights.group, n_groups)

    def sei_count(self, n_groups: int) -> np.ndarray:
        """Rights in force in strategic-emerging IPC classes per row (float64)."""
        return sei_count_now(self.rights, self.sei, n_groups)

    def table(self) -> dict[str, np.ndarray]:
        """Per-right state, inputs and valuation: the columns of :func:`value_patents`
        plus ``kind_code``."""
        r = self.rights
        p, prow, state = r.patents, r.prow, r.state()
        return {
            **{name: getattr(state, name) for name in _STATE_FIELDS},
            "kind_code": p.kind[prow], "ipc_class": p.ipc[prow], "claims": p.claims[prow],
            "family_countries": p.family[prow], "main_business": p.main[prow],
            "filing_year": self.filing_year, "as_of_day": r.as_of,
            "firm_revenue_cny": self.revenue_cny,
            **_valued_columns(self.spec, self.out, self.tier, self.reason),
        }


def value_pairs(rights: Rights, revenue_cny: np.ndarray, n_groups: int, *,
                spec: ValuationSpec | None = None,
                sei_ipc_classes: Iterable[str] | None = None,
                cohorts: CitationCohorts | None = None,
                loan_term_years: float | np.ndarray | None = None) -> ValuedRights:
    """Value the rights of requested rows straight from their :class:`Rights`.

    The same kernel and numbers as :func:`value_rights` on the columns of
    :meth:`ValuedRights.table`, without building that mapping first.

    Parameters
    ----------
    rights : Rights
        :func:`~techcredit.rating._inputs.right_pairs` of the rows.
    revenue_cny : float64 array, one entry per row
        ``rnd_revenue_sum_1y`` of each row.
    n_groups : int
        Number of requested rows.
    spec, sei_ipc_classes, cohorts, loan_term_years
        As in :func:`value_rights`.

    Returns
    -------
    ValuedRights
    """
    spec = spec or default_valuation_spec()
    p, prow, m = rights.patents, rights.prow, len(rights)
    ipc, year = p.ipc[prow], rights.filing_year()
    if cohorts is None:
        cohorts = CitationCohorts.fit(ipc, year, rights.citations.astype(np.float64),
                                      min_size=spec.technical.cohort_min_size)
    revenue = revenue_cny[rights.group]
    sei = rights.in_classes(_sei_classes(sei_ipc_classes))
    x = _kernel_inputs(m, citations=rights.citations, cohort_mean=cohorts.cohort_mean(ipc, year),
                       remaining_life_years=rights.years[_YEAR_ROW["remaining_life_years"]],
                       family_countries=p.family[prow], claims=p.claims[prow],
                       years_since_grant=rights.years[_YEAR_ROW["years_since_grant"]],
                       firm_revenue_cny=revenue, sei_class=sei)
    out, tier, reason = _run_value(spec, x, rights.flags, p.main[prow], p.kind[prow],
                                   rights.group, n_groups, loan_term_years)
    return ValuedRights(rights=rights, revenue_cny=revenue, sei=sei, filing_year=year,
                        spec=spec, out=out, tier=tier, reason=reason)


# the kernel's output rows (value_rights adds pvd_tier after pvd and pledge_exclusion
# before pledge_value_cny); it reads the boolean state by these STATE_FLAGS rows
(_GRANTED, _LAPSED, _EXPIRED, _IN_FORCE, _PLEDGED, _CHALLENGED, _TRANSFERRED, _LICENSED) = (
    STATE_FLAGS.index(name) for name in ("granted", "lapsed", "expired", "in_force",
                                         "pledged", "challenged", "transferred", "licensed"))
_VALUE_COLUMNS = (
    "lvd_kind", "lvd_remaining_life", "lvd_stability", "lvd_family", "lvd_licensing", "lvd",
    "citation_ratio", "tvd_citations", "tvd_claims", "tvd_family", "tvd", "evd_sei_fit",
    "evd_market_use", "evd_maintenance", "evd_revenue", "evd", "pvd",
    "royalty_rate_annual", "attributable_revenue_cny", "economic_life_years", "value_cny",
    "ltv", "pledge_value_cny")
_X_ROWS = ("citations", "cohort_mean", "remaining_life_years", "family_countries", "claims",
           "years_since_grant", "firm_revenue_cny", "sei_class", "economic_life_years",
           "annuity_factor")
"""Rows of the kernel's float input ``x``; callers fill the first ``_X_GIVEN``."""
_X_GIVEN = _X_ROWS.index("economic_life_years")
_YEAR_ROW = {name: i for i, name in enumerate(STATE_YEARS)}
_STATE_FIELDS = tuple(f.name for f in fields(PatentState))


@kernel
def _value(x: np.ndarray, flags: np.ndarray, main_business: np.ndarray,
           exclude_pledged: bool, kind: np.ndarray, group: np.ndarray,
           term_years: np.ndarray, curves: tuple[np.ndarray, ...], kind_score: np.ndarray,
           royalty: np.ndarray, unpledgeable: np.ndarray, lvd_index: np.ndarray,
           lvd_weights: np.ndarray, tvd_index: np.ndarray, tvd_weights: np.ndarray,
           evd_index: np.ndarray, evd_weights: np.ndarray, tier_min_ascending: np.ndarray,
           tier_ltv: np.ndarray, constants: np.ndarray, group_weight: np.ndarray,
           out: np.ndarray, tier: np.ndarray, reason: np.ndarray) -> None:
    """Value each right (column of ``x``; rows: citations, cohort mean, remaining life,
    family, claims, years since grant, firm revenue, SEI class, economic life, annuity
    factor) with its ``STATE_FLAGS`` column of ``flags``; ``out`` rows are
    ``_VALUE_COLUMNS``, ``tier`` the PVD tier and ``reason`` the pledge exclusion of each
    right (an already pledged right is excluded when ``exclude_pledged``). Two passes:
    the money value splits each group's attributable revenue over its rights by PVD
    weight."""
    (smoothing, stability_challenged, licensed_score, sei_score, market_score,
     non_main, w_legal, w_technical, w_economic, pvd_reference, revenue_share,
     life_min) = (constants[0], constants[1], constants[2], constants[3], constants[4],
                  constants[5], constants[6], constants[7], constants[8], constants[9],
                  constants[10], constants[11])
    sub = np.empty(5)
    n_tiers = tier_min_ascending.size
    for j in range(x.shape[1]):
        in_force, licensed = flags[_IN_FORCE, j], flags[_LICENSED, j]
        main = main_business[j]
        family = x[3, j]
        ratio = (x[0, j] + smoothing) / maximum(x[1, j] + smoothing, 1e-9)
        factor = 1.0 if main else non_main
        # legal: kind, remaining life, stability, family, licensing
        sub[0] = kind_score[kind[j]]
        sub[1] = curve_value(curves, 0, x[2, j])
        sub[2] = stability_challenged if flags[_CHALLENGED, j] else 100.0
        sub[3] = curve_value(curves, 1, family)
        sub[4] = licensed * licensed_score
        for r in range(5):
            out[r, j] = sub[r]
        lvd = 0.0
        for i in range(lvd_index.size):
            lvd += sub[lvd_index[i]] * lvd_weights[i, 0]
        out[5, j] = lvd * in_force
        out[6, j] = ratio
        # technical: citations, claims, family
        sub[0] = curve_value(curves, 2, ratio)
        sub[1] = curve_value(curves, 3, x[4, j])
        sub[2] = curve_value(curves, 4, family)
        tvd = 0.0
        for i in range(tvd_index.size):
            tvd += sub[tvd_index[i]] * tvd_weights[i, 0]
        out[7, j], out[8, j], out[9, j], out[10, j] = sub[0], sub[1], sub[2], tvd
        # economic: SEI fit, market use, maintenance, revenue
        sub[0] = x[7, j] * sei_score
        sub[1] = (licensed or flags[_TRANSFERRED, j]) * market_score
        sub[2] = curve_value(curves, 5, x[5, j])
        sub[3] = curve_value(curves, 6, x[6, j]) * factor
        evd = 0.0
        for i in range(evd_index.size):
            evd += sub[evd_index[i]] * evd_weights[i, 0]
        out[11, j], out[12, j], out[13, j], out[14, j], out[15, j] = (sub[0], sub[1],
                                                                      sub[2], sub[3], evd)
        pvd = w_legal * out[5, j] + w_technical * tvd + w_economic * evd
        out[16, j] = pvd
        reached = 0  # tiers descend by pvd_min; none reached is the last tier
        for t in range(n_tiers):
            if tier_min_ascending[t] <= pvd:
                reached += 1
        tier[j] = min(n_tiers - reached, n_tiers - 1)
        out[17, j] = royalty[kind[j]] * pvd / pvd_reference
        weight = pvd * factor * in_force
        out[18, j] = weight  # the share is taken once every group's weight is known
        group_weight[group[j]] += weight
    for j in range(x.shape[1]):
        total = group_weight[group[j]]
        share = out[18, j] / total if total > 0 else 0.0
        revenue = 0.0 if np.isnan(x[6, j]) else x[6, j]
        out[18, j] = revenue * revenue_share * share
        out[19, j] = x[8, j]
        value = out[17, j] * out[18, j] * x[9, j]
        out[20, j] = value
        ltv = tier_ltv[tier[j]]
        out[21, j] = ltv
        excluded = 8  # the first applicable exclusion wins; 8 is none
        for e, hit in enumerate((not flags[_GRANTED, j], flags[_LAPSED, j],
                                 flags[_EXPIRED, j], flags[_CHALLENGED, j],
                                 x[2, j] < maximum(term_years[group[j]], life_min),
                                 flags[_PLEDGED, j] and exclude_pledged,
                                 unpledgeable[kind[j]], ltv <= 0)):
            if hit and excluded == 8:
                excluded = e
        reason[j] = excluded
        out[22, j] = (1.0 if excluded == 8 else 0.0) * (ltv * value)


def value_sums(valued: Mapping[str, np.ndarray], group: np.ndarray,
               n_groups: int) -> dict[str, np.ndarray]:
    """Per-group ``value_cny``, ``pledge_value_cny`` and ``pledgeable_count`` (float64).

    Examples
    --------
    >>> sums = value_sums({"value_cny": np.array([5.0, 3.0, 2.0]),
    ...                    "pledge_value_cny": np.array([2.0, 0.0, 1.0])},
    ...                   np.array([0, 0, 2]), 3)
    >>> [sums[k].tolist() for k in ("value_cny", "pledge_value_cny", "pledgeable_count")]
    [[8.0, 0.0, 2.0], [2.0, 0.0, 1.0], [1.0, 0.0, 1.0]]
    """
    value, pledge, pledgeable = np.zeros((3, n_groups))
    _group_sums(kernel_array(group, np.intp), kernel_array(valued["value_cny"]),
                kernel_array(valued["pledge_value_cny"]), value, pledge, pledgeable)
    return {"value_cny": value, "pledge_value_cny": pledge, "pledgeable_count": pledgeable}


@kernel
def _group_sums(group: np.ndarray, value: np.ndarray, pledge: np.ndarray,
                value_sum: np.ndarray, pledge_sum: np.ndarray, pledgeable: np.ndarray) -> None:
    """Add each right's value, pledge value and "pledgeable" (1 when its pledge value is
    positive) to its group, in row order (as ``np.bincount`` with weights adds)."""
    for i in range(group.size):
        g = group[i]
        value_sum[g] += value[i]
        pledge_sum[g] += pledge[i]
        pledgeable[g] += 1.0 if pledge[i] > 0 else 0.0


def rollup(valued: Mapping[str, np.ndarray], in_force: np.ndarray, group: np.ndarray,
           n_groups: int, n_tiers: int, tier_index: np.ndarray) -> dict[str, np.ndarray]:
    """Per-group sums of valued rights (the kernel of :func:`portfolio_value`).

    Returns ``rights_count``, ``inforce_count``, ``pledgeable_count``,
    ``pvd_mean_inforce`` and ``pvd_max`` (NaN without a right in force), ``value_cny``,
    ``pledge_value_cny`` and ``tier_counts`` (``(n_tiers, n_groups)``, rights in force).
    """
    live = np.asarray(in_force, dtype=bool)
    count = np.bincount(group, minlength=n_groups).astype(np.float64)
    inforce = np.bincount(group, weights=live, minlength=n_groups)
    pvd = valued["pvd"]
    pvd_max = np.full(n_groups, -np.inf)
    np.maximum.at(pvd_max, group[live], pvd[live])
    tiers = np.bincount(tier_index[live] * n_groups + group[live],
                        minlength=n_tiers * n_groups).reshape(n_tiers, n_groups)
    sums = value_sums(valued, group, n_groups)
    return {
        "rights_count": count,
        "inforce_count": inforce,
        "pledgeable_count": sums["pledgeable_count"],
        "pvd_mean_inforce": np.divide(np.bincount(group, weights=np.where(live, pvd, 0.0),
                                                  minlength=n_groups), inforce,
                                      out=np.full(n_groups, np.nan), where=inforce > 0),
        "pvd_max": np.where(inforce > 0, pvd_max, np.nan),
        "value_cny": sums["value_cny"],
        "pledge_value_cny": sums["pledge_value_cny"],
        "tier_counts": tiers.astype(np.float64),
    }


def score_patents(patents: pd.DataFrame, *, spec: ValuationSpec | None = None,
                  sei_ipc_classes: Iterable[str] | None = None,
                  cohorts: CitationCohorts | None = None,
                  loan_term_years: float | None = None) -> pd.DataFrame:
    """Value rights from their point-in-time state (the frame form of :func:`value_rights`).

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

    Raises
    ------
    InvalidInputError
        Naming a missing column or an unknown ``kind``.
    """
    df = patents.reset_index(drop=True).copy()
    missing = [c for c in _RIGHT_INPUTS if c not in df.columns]
    if missing:
        raise InvalidInputError([("patents", None, c, "missing column") for c in missing])
    kind = df["kind"].astype(object).map(KIND_CODES)
    if kind.isna().any():
        bad = np.flatnonzero(kind.isna().to_numpy())[:20]
        raise InvalidInputError([("patents", int(i), "kind", f"must be one of {list(KIND_CODES)}")
                                 for i in bad])
    cols: dict[str, np.ndarray] = {c: df[c].to_numpy(dtype=bool) for c in _BOOL_INPUTS}
    cols.update({c: df[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in _FLOAT_INPUTS})
    cols.update(kind_code=kind.to_numpy(dtype=np.int64),
                ipc_class=df["ipc_class"].astype(object).to_numpy(),
                filing_year=df["filing_year"].to_numpy(dtype=np.int64))
    codes, group = np.unique(df["firm_id"].to_numpy(), return_inverse=True)
    valued = value_rights(cols, group, codes.size, spec=spec, sei_ipc_classes=sei_ipc_classes,
                          cohorts=cohorts, loan_term_years=loan_term_years)
    for name, values in valued.items():
        df[name] = values
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
    first = pd.Series(asof, index=ids)
    first = first[~first.index.duplicated()].sort_index()  # a firm once, at its first as_of
    ids, asof = first.index.to_numpy(dtype=np.int64), first.to_numpy(dtype=np.int64)
    arrays = slim_arrays(tables)
    rights = right_pairs(arrays, ids, asof)
    revenue = rnd_features(arrays, asof, ids)["rnd_revenue_sum_1y"].to_numpy(dtype=np.float64)
    sei = compile_innovation(innovation_spec or default_innovation_spec()).sei_ipc
    table = value_pairs(rights, revenue, ids.size, spec=spec, sei_ipc_classes=sei,
                        cohorts=cohorts, loan_term_years=loan_term_years).table()
    table.pop("kind_code")
    return pd.DataFrame(table)


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
    spec = spec or default_valuation_spec()
    names = [t.name for t in spec.pledge.tiers]
    codes, group = np.unique(valued["firm_id"].to_numpy(dtype=np.int64), return_inverse=True)
    tier = pd.Categorical(valued["pvd_tier"].astype(object), categories=names).codes
    cols = {c: valued[c].to_numpy(dtype=np.float64) for c in ("pvd", "value_cny",
                                                            "pledge_value_cny")}
    live = valued["in_force"].to_numpy(dtype=bool)
    if np.any(live & (tier < 0)):
        raise InvalidInputError([("valued", None, "pvd_tier", f"must be one of {names}")])
    roll = rollup(cols, live, group, codes.size, len(names), tier.astype(np.int64))
    counts = roll.pop("tier_counts")
    out = pd.DataFrame(roll, index=pd.Index(codes, name="firm_id"))
    for i, name in enumerate(names):
        out[f"count_{name}"] = counts[i]
    if firm_ids is not None:
        ids = np.asarray(list(firm_ids), dtype=np.int64)
        out = out.reindex(ids)
        zero = [c for c in out.columns if not c.startswith("pvd_")]
        out[zero] = out[zero].fillna(0.0)
    out.index.name = "firm_id"
    return out
