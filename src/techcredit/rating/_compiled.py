"""The YAML specifications turned into arrays once per spec object (cached).

Every number still comes from ``models/innovation_rating.yaml`` and
``models/patent_valuation.yaml``; this module only lays them out for the stacked
kernels of :mod:`techcredit.rating._kernels`. A spec must not be mutated after its first
use (pydantic specs are treated as immutable throughout the package).

Examples
--------
>>> from techcredit.rating.official import default_innovation_spec
>>> c = compile_innovation(default_innovation_spec())
>>> c is compile_innovation(default_innovation_spec()), c.curves.lo.shape[0] == len(c.inputs)
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from techcredit.config._base import PerSpec
from techcredit.config.rating import DIMENSIONS, InnovationSpec, ValuationSpec
from techcredit.features.arrays import KIND_CODES
from techcredit.rating._kernels import BandSet, CurveSet

__all__ = ["CompiledInnovation", "CompiledValuation", "compile_innovation",
           "compile_valuation"]



@dataclass(frozen=True, slots=True, eq=False)
class CompiledInnovation:
    """Arrays of an :class:`InnovationSpec` (official tables, curves, weights, cut-offs)."""

    bands: BandSet
    """The 14 official tables in :data:`techcredit.rating.official.TABLES` order."""
    curves: CurveSet
    """One curve per sub-indicator, dimensions in order."""
    names: tuple[str, ...]
    """Sub-indicator names, aligned with ``curves``."""
    detail_names: tuple[str, ...]
    """``value_<name>``, ``score_<name>`` of each sub-indicator in turn."""
    inputs: tuple[str, ...]
    """Input column of each sub-indicator."""
    weights: np.ndarray
    """``(I, 1)`` weight of each sub-indicator inside its dimension."""
    dim_slices: np.ndarray
    """``(5, 2)`` intp: the sub-indicators ``[start, stop)`` of each dimension."""
    stage_rule: np.ndarray
    """Start-up age below, start-up revenue below, mature age from, mature revenue from."""
    official_constants: np.ndarray
    """Class I weight of the core-support count, high-tech and tech-SME pass scores."""
    stage_weights: np.ndarray
    """``(3, 5)`` dimension weights by stage (STAGES x DIMENSIONS)."""
    cuts: np.ndarray
    """Tier cut-offs, best tier first."""
    management: np.ndarray
    """``(4, 1)`` points of the R&D management items (ledger, institution, incentive,
    talent)."""
    management_inputs: tuple[str, ...]
    """``rnd_<item>_1y``: the feature of each management item."""
    ht_thresholds: np.ndarray
    """``(6, 1)`` minima of the high-tech conditions (row 3, R&D intensity, by sales)."""
    sme_limits: np.ndarray
    """``(3, 1)`` tech-SME maxima: staff, sales, assets."""
    sales_caps: np.ndarray
    """Ascending last-year sales caps of the R&D intensity rule (last is +inf)."""
    intensity_min: np.ndarray
    """Minimum 3-year R&D / sales under each cap, then NaN (unknown sales)."""
    sei_codes: frozenset[str]
    sei_ipc: frozenset[str]
    growth_rates: dict[str, float]
    growth_default: float
    industry_memo: dict[str, tuple[float, float]]
    """Filled as codes are met: ``code -> (is SEI, growth)``."""


@dataclass(frozen=True, slots=True, eq=False)
class CompiledValuation:
    """Arrays of a :class:`ValuationSpec`, kinds indexed by ``KIND_CODES``."""

    curves: CurveSet
    """remaining life (LVD), family (LVD), citation ratio, claims, family (TVD),
    maintenance years, firm revenue (EVD); a NaN input scores the first knot's score."""
    kind_score: np.ndarray
    royalty: np.ndarray
    unpledgeable_kind: np.ndarray
    lvd_weights: np.ndarray
    """``(k, 1)`` weights of the legal sub-scores, in the YAML's order (same for tvd, evd)."""
    tvd_weights: np.ndarray
    evd_weights: np.ndarray
    lvd_index: np.ndarray
    """Position of each ``lvd_keys`` sub-score among kind, remaining life, stability,
    family, licensing (likewise ``tvd_index``: citations, claims, family; ``evd_index``:
    SEI fit, market use, maintenance, revenue)."""
    tvd_index: np.ndarray
    evd_index: np.ndarray
    tier_min_ascending: np.ndarray
    tier_ltv: np.ndarray
    tier_names: np.ndarray
    constants: np.ndarray
    """Cohort smoothing, challenged stability score, licensed score, SEI score, licensed or
    transferred score, non-main-business factor, the three PVD weights, PVD reference,
    revenue attribution share, minimum remaining life to pledge (years)."""




def compile_innovation(spec: InnovationSpec) -> CompiledInnovation:
    """Arrays of ``spec`` (built once per spec object)."""
    return _INNOVATION.of(spec)


def compile_valuation(spec: ValuationSpec) -> CompiledValuation:
    """Arrays of ``spec`` (built once per spec object)."""
    return _VALUATION.of(spec)


def _build_innovation(spec: InnovationSpec) -> CompiledInnovation:
    ht, sme = spec.official.high_tech, spec.official.tech_sme
    ip = ht.ip
    tables = [ip.advancement, ip.core_support, ip.count_class1, ip.count_class2,
              ip.acquisition_own, ip.acquisition_transferred_only, ht.conversions,
              ht.growth.net_assets, ht.growth.sales,
              sme.st_staff, sme.rnd_sales, sme.rnd_cost, sme.ip_class1, sme.ip_class2]
    steps = [ht.round_step] * 9 + [1.0] * 5
    inds = [(name, ind) for dim in spec.dimensions.values()
            for name, ind in dim.indicators.items()]
    slices, start = [], 0
    for dim in spec.dimensions.values():
        slices.append((start, start + len(dim.indicators)))
        start += len(dim.indicators)
    c, el = ht.conditions, sme.eligibility
    rules = c.rnd_intensity_by_sales
    items = ht.management.items
    return CompiledInnovation(
        bands=BandSet.build(tables, steps),
        curves=CurveSet.build([ind.curve for _, ind in inds],
                              [ind.missing_score for _, ind in inds]),
        names=tuple(n for n, _ in inds), inputs=tuple(i.input for _, i in inds),
        detail_names=tuple(f"{kind}_{n}" for n, _ in inds for kind in ("value", "score")),
        weights=np.array([[ind.weight] for _, ind in inds]),
        dim_slices=np.array(slices, dtype=np.intp).reshape(-1, 2),
        stage_rule=np.array([spec.stage_rule.startup_age_years_below,
                             spec.stage_rule.startup_revenue_cny_below,
                             spec.stage_rule.mature_age_years_min,
                             spec.stage_rule.mature_revenue_cny_min]),
        official_constants=np.array([ip.core_support_class1_weight, ht.pass_score,
                                     sme.pass_score]),
        stage_weights=np.array([[w[d] for d in DIMENSIONS]
                                for w in spec.stage_weights.values()]),
        cuts=np.array(list(spec.tiers.values()), dtype=np.float64),
        management=np.array([[float(v)] for v in items.values()]),
        management_inputs=tuple(f"rnd_{item}_1y" for item in items),
        ht_thresholds=np.array([[c.registered_years_min], [c.st_staff_share_min],
                                [c.hightech_revenue_share_min], [-np.inf],
                                [c.domestic_rnd_share_min], [c.core_ip_count_min]],
                               dtype=np.float64),
        sme_limits=np.array([[el.staff_max], [el.sales_cny_max], [el.assets_cny_max]],
                            dtype=np.float64),
        sales_caps=np.array([np.inf if r.sales_cny_max is None else r.sales_cny_max
                             for r in rules]),
        intensity_min=np.array([r.intensity_min for r in rules] + [np.nan]),
        sei_codes=frozenset(spec.industry.sei_industry_codes),
        sei_ipc=frozenset(spec.industry.sei_ipc_classes),
        growth_rates=dict(spec.industry.growth_rate_annual),
        growth_default=spec.industry.growth_rate_default, industry_memo={})


def _build_valuation(spec: ValuationSpec) -> CompiledValuation:
    lg, tc, ec = spec.legal, spec.technical, spec.economic
    curves = [lg.remaining_life_years, lg.family_countries, tc.citation_ratio, tc.claims,
              tc.family_countries, ec.maintenance_years, ec.firm_revenue_cny]
    tiers = spec.pledge.tiers
    return CompiledValuation(
        curves=CurveSet.build(curves, [c.knots[0][1] for c in curves]),
        kind_score=np.array([lg.kind_score[k] for k in KIND_CODES], dtype=np.float64),
        royalty=np.array([spec.money.royalty_rate_annual[k] for k in KIND_CODES],
                         dtype=np.float64),
        unpledgeable_kind=np.array([k not in spec.pledge.pledgeable_kinds for k in KIND_CODES]),
        lvd_weights=np.array([[w] for w in lg.weights.values()]),
        tvd_weights=np.array([[w] for w in tc.weights.values()]),
        evd_weights=np.array([[w] for w in ec.weights.values()]),
        tier_min_ascending=np.array([t.pvd_min for t in tiers][::-1], dtype=np.float64),
        tier_ltv=np.array([t.ltv for t in tiers], dtype=np.float64),
        tier_names=np.array([t.name for t in tiers], dtype=object),
        lvd_index=_positions(lg.weights, ("kind", "remaining_life", "stability", "family",
                                          "licensing")),
        tvd_index=_positions(tc.weights, ("citations", "claims", "family")),
        evd_index=_positions(ec.weights, ("sei_fit", "market_use", "maintenance", "revenue")),
        constants=np.array([
            tc.cohort_smoothing, lg.stability_challenged_score, lg.licensed_score,
            ec.sei_ipc_score, ec.licensed_or_transferred_score, ec.non_main_business_factor,
            spec.pvd_weights.legal, spec.pvd_weights.technical, spec.pvd_weights.economic,
            spec.money.pvd_reference, spec.money.revenue_attribution_share,
            spec.pledge.remaining_life_min_years], dtype=np.float64))


def _positions(weights: dict[str, float], order: tuple[str, ...]) -> np.ndarray:
    """Position in ``order`` of each weighted sub-score, in the weights' order."""
    return np.array([order.index(name) for name in weights], dtype=np.intp)


_INNOVATION: PerSpec[InnovationSpec, CompiledInnovation] = PerSpec(_build_innovation, size=32)
_VALUATION: PerSpec[ValuationSpec, CompiledValuation] = PerSpec(_build_valuation, size=32)
