"""Pydantic models of ``models/innovation_rating.yaml`` and ``models/patent_valuation.yaml``.

Every weight, band, cut-off, royalty rate, discount rate and loan-to-value used by
:mod:`techcredit.rating` lives in those two files and is validated here: weights sum
to 1, tier cut-offs descend, scoring curves rise, official band tables are ordered and
their indicator maxima add up to 100. A bad file raises
:class:`~techcredit.exceptions.ConfigError` naming the file and the field.

Examples
--------
>>> spec = load_innovation_spec()
>>> spec.official.high_tech.pass_score, spec.official.tech_sme.pass_score
(71.0, 60.0)
>>> list(spec.tiers)[:3]
['AAA', 'AA', 'A']
>>> load_valuation_spec().pvd_weights.legal
0.3333
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from techcredit.config._base import StrictModel, load_spec

__all__ = [
    "TIER_NAMES",
    "Band",
    "Curve",
    "DimensionSpec",
    "HighTechSpec",
    "IndicatorSpec",
    "InnovationSpec",
    "OfficialSpec",
    "PledgeSpec",
    "StageRule",
    "TechSmeSpec",
    "ValuationSpec",
    "load_innovation_spec",
    "load_valuation_spec",
]

TIER_NAMES: tuple[str, ...] = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")
"""The nine tiers of the innovation rating, best first."""

DIMENSIONS: tuple[str, ...] = ("technology", "qualifications", "rnd", "growth", "industry")
STAGES: tuple[str, ...] = ("startup", "growth", "mature")
PATENT_KINDS: tuple[str, ...] = ("invention", "utility", "design", "software_copyright")

Share = Annotated[float, Field(ge=0, le=1)]
Points = Annotated[float, Field(ge=0, le=100)]
Positive = Annotated[float, Field(gt=0)]
_SUM_TOL = 1e-6


def _check_weights(weights: dict[str, float], what: str) -> None:
    total = sum(weights.values())
    if abs(total - 1.0) > 1e-3:
        raise ValueError(f"{what} must sum to 1, got {total:.4f}")


# ------------------------------------------------------------------ shared pieces
class Curve(StrictModel):
    """Piecewise-linear score curve: ``x`` ascending, ``score`` non-decreasing in [0, 100].

    Below the first knot the score is the first knot's, above the last the last's.
    """

    knots: list[tuple[float, Points]] = Field(min_length=2)

    @field_validator("knots")
    @classmethod
    def _ascending(cls, knots: list[tuple[float, float]]) -> list[tuple[float, float]]:
        xs = [k[0] for k in knots]
        ys = [k[1] for k in knots]
        if any(not math.isfinite(x) for x in xs):
            raise ValueError("knot x values must be finite")
        if any(b <= a for a, b in itertools.pairwise(xs)):
            raise ValueError("knot x values must be strictly ascending")
        if any(b < a for a, b in itertools.pairwise(ys)):
            raise ValueError("knot scores must be non-decreasing (more is never worse)")
        with np.errstate(over="ignore", divide="ignore"):
            slopes = np.diff(ys) / np.diff(xs)
        if not np.all(np.isfinite(slopes)):
            raise ValueError("knot x values are too close for their scores (infinite slope)")
        return knots


class Band(StrictModel):
    """One row of an official points table: ``value >= min`` (or ``> min``) earns points.

    ``points`` is the official range ``[low, high]``. Where the range is judged by
    experts, the code interpolates linearly from ``low`` at ``min`` to ``high`` at
    ``full_at`` (and keeps ``high`` above it), then rounds to the official step.
    """

    min: float
    exclusive: bool = False
    points: tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]]
    full_at: float | None = None

    @model_validator(mode="after")
    def _range(self) -> Band:
        low, high = self.points
        if high < low:
            raise ValueError("points must be [low, high] with low <= high")
        if high > low and (self.full_at is None or self.full_at <= self.min):
            raise ValueError("a points range needs full_at > min")
        return self


class BandTable(StrictModel):
    """An official points table: bands with descending ``min``; below all of them, 0."""

    max_points: Positive
    bands: list[Band] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> BandTable:
        mins = [b.min for b in self.bands]
        if any(b >= a for a, b in itertools.pairwise(mins)):
            raise ValueError("bands must be listed with strictly descending min")
        for upper, lower in zip(self.bands, self.bands[1:], strict=False):
            if lower.points[1] > upper.points[0]:
                raise ValueError("a lower band must not earn more than the band above it")
        if self.bands[0].points[1] > self.max_points:
            raise ValueError("band points exceed max_points")
        return self


# ------------------------------------------------------------------ official scores
class SalesIntensityRule(StrictModel):
    """Three-year R&D / sales minimum for firms whose last-year sales are at most a cap."""

    sales_cny_max: float | None
    intensity_min: Share


class HighTechConditions(StrictModel):
    """Hard conditions of 高新技术企业认定 (official)."""

    registered_years_min: Annotated[float, Field(ge=0)]
    st_staff_share_min: Share
    hightech_revenue_share_min: Share
    rnd_intensity_by_sales: list[SalesIntensityRule] = Field(min_length=1)
    domestic_rnd_share_min: Share
    core_ip_count_min: Annotated[int, Field(ge=0)]

    @model_validator(mode="after")
    def _caps_ascending(self) -> HighTechConditions:
        caps = [r.sales_cny_max for r in self.rnd_intensity_by_sales]
        if caps[-1] is not None or any(c is None for c in caps[:-1]):
            raise ValueError("rnd_intensity_by_sales: only the last rule may (and must) "
                             "have sales_cny_max null")
        finite = [c for c in caps if c is not None]
        if any(b <= a for a, b in itertools.pairwise(finite)):
            raise ValueError("rnd_intensity_by_sales: sales_cny_max must ascend")
        return self


class HighTechIp(StrictModel):
    """知识产权 (30 points): four items, bands and the proxies the code uses."""

    max_points: Positive
    advancement: BandTable
    core_support: BandTable
    core_support_class1_weight: Positive
    count_class1: BandTable
    count_class2: BandTable
    acquisition_own: BandTable
    acquisition_transferred_only: BandTable

    @model_validator(mode="after")
    def _adds_up(self) -> HighTechIp:
        parts = (self.advancement.max_points + self.core_support.max_points
                 + max(self.count_class1.max_points, self.count_class2.max_points)
                 + max(self.acquisition_own.max_points,
                       self.acquisition_transferred_only.max_points))
        if abs(parts - self.max_points) > _SUM_TOL:
            raise ValueError(f"item maxima add to {parts}, not max_points {self.max_points}")
        return self


class HighTechManagement(StrictModel):
    """研发组织管理 (20 points): points for each of the four items when present."""

    max_points: Positive
    items: dict[Literal["ledger", "institution", "incentive", "talent"], Points]

    @model_validator(mode="after")
    def _adds_up(self) -> HighTechManagement:
        if len(self.items) != 4:
            raise ValueError("items needs ledger, institution, incentive and talent")
        if abs(sum(self.items.values()) - self.max_points) > _SUM_TOL:
            raise ValueError("items must add up to max_points")
        return self


class HighTechGrowth(StrictModel):
    """成长性 (20 points): net-asset growth table + sales growth table."""

    max_points: Positive
    net_assets: BandTable
    sales: BandTable

    @model_validator(mode="after")
    def _adds_up(self) -> HighTechGrowth:
        if abs(self.net_assets.max_points + self.sales.max_points - self.max_points) > _SUM_TOL:
            raise ValueError("net_assets and sales maxima must add up to max_points")
        return self


class HighTechSpec(StrictModel):
    """高新技术企业认定: conditions and the 100-point innovation score (official)."""

    pass_score: Points
    round_step: Positive
    conditions: HighTechConditions
    ip: HighTechIp
    conversions: BandTable
    management: HighTechManagement
    growth: HighTechGrowth

    @model_validator(mode="after")
    def _hundred(self) -> HighTechSpec:
        total = (self.ip.max_points + self.conversions.max_points
                 + self.management.max_points + self.growth.max_points)
        if abs(total - 100) > _SUM_TOL:
            raise ValueError(f"indicator maxima add to {total}, not 100")
        return self


class TechSmeEligibility(StrictModel):
    """科技型中小企业 size limits (official)."""

    staff_max: Annotated[int, Field(ge=1)]
    sales_cny_max: Positive
    assets_cny_max: Positive


class TechSmeSpec(StrictModel):
    """科技型中小企业评价: eligibility, three indicators, direct qualification (official)."""

    pass_score: Points
    eligibility: TechSmeEligibility
    st_staff: BandTable
    rnd_sales: BandTable
    rnd_cost: BandTable
    ip_class1: BandTable
    ip_class2: BandTable
    direct_qualification: list[Literal["high_tech_certificate"]]

    @model_validator(mode="after")
    def _hundred(self) -> TechSmeSpec:
        if abs(self.rnd_sales.max_points - self.rnd_cost.max_points) > _SUM_TOL:
            raise ValueError("rnd_sales and rnd_cost must share max_points")
        total = (self.st_staff.max_points + self.rnd_sales.max_points
                 + max(self.ip_class1.max_points, self.ip_class2.max_points))
        if abs(total - 100) > _SUM_TOL:
            raise ValueError(f"indicator maxima add to {total}, not 100")
        return self


class OfficialSpec(StrictModel):
    """The official tables, copied from the published rules (not committee defaults)."""

    high_tech: HighTechSpec
    tech_sme: TechSmeSpec


# ------------------------------------------------------------------ innovation rating
class IndicatorSpec(StrictModel):
    """A named sub-indicator: input column, weight in its dimension, score curve."""

    input: Annotated[str, Field(min_length=1)]
    weight: Share
    curve: Curve
    missing_score: Points = 0.0


class DimensionSpec(StrictModel):
    """One of the five dimensions: a weighted sum of sub-indicator scores (0-100)."""

    label_zh: str
    label_en: str
    indicators: dict[str, IndicatorSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights(self) -> DimensionSpec:
        _check_weights({k: v.weight for k, v in self.indicators.items()}, "indicator weights")
        return self


class StageRule(StrictModel):
    """Stage by age and size: start-up if young or small, mature if old and large."""

    startup_age_years_below: Positive
    startup_revenue_cny_below: Annotated[float, Field(ge=0)]
    mature_age_years_min: Positive
    mature_revenue_cny_min: Annotated[float, Field(ge=0)]

    @model_validator(mode="after")
    def _ordered(self) -> StageRule:
        if self.mature_age_years_min <= self.startup_age_years_below:
            raise ValueError("mature_age_years_min must exceed startup_age_years_below")
        return self


class IndustrySpec(StrictModel):
    """Strategic emerging industries and industry growth rates (defaults)."""

    sei_industry_codes: list[str]
    sei_ipc_classes: list[str]
    growth_rate_annual: dict[str, float]
    growth_rate_default: float


class InnovationSpec(StrictModel):
    """Schema of ``models/innovation_rating.yaml``."""

    version: Annotated[str, Field(min_length=1)]
    official: OfficialSpec
    dimensions: dict[str, DimensionSpec]
    stage_rule: StageRule
    stage_weights: dict[str, dict[str, Share]]
    industry: IndustrySpec
    tiers: dict[str, Points]
    """Lower bound of the composite for each tier, best first; ``C`` must be 0."""

    @model_validator(mode="after")
    def _consistent(self) -> InnovationSpec:
        if tuple(self.dimensions) != DIMENSIONS:
            raise ValueError(f"dimensions must be {list(DIMENSIONS)} in that order")
        if tuple(self.stage_weights) != STAGES:
            raise ValueError(f"stage_weights must be {list(STAGES)} in that order")
        for stage, weights in self.stage_weights.items():
            if tuple(weights) != DIMENSIONS:
                raise ValueError(f"stage_weights.{stage} must name {list(DIMENSIONS)}")
            _check_weights(weights, f"stage_weights.{stage}")
        if tuple(self.tiers) != TIER_NAMES:
            raise ValueError(f"tiers must be {list(TIER_NAMES)} in that order")
        cuts = list(self.tiers.values())
        if any(b >= a for a, b in itertools.pairwise(cuts)):
            raise ValueError("tiers: cut-offs must be strictly descending")
        if cuts[-1] != 0:
            raise ValueError("tiers: C must have cut-off 0")
        return self


# ------------------------------------------------------------------ patent valuation
class LegalSpec(StrictModel):
    """LVD sub-indicators: kind, remaining life, stability, family, licensing."""

    weights: dict[Literal["kind", "remaining_life", "stability", "family", "licensing"], Share]
    kind_score: dict[str, Points]
    remaining_life_years: Curve
    stability_challenged_score: Points
    family_countries: Curve
    licensed_score: Points

    @model_validator(mode="after")
    def _ok(self) -> LegalSpec:
        _check_weights(dict(self.weights), "legal.weights")
        if set(self.kind_score) != set(PATENT_KINDS):
            raise ValueError(f"kind_score must name {list(PATENT_KINDS)}")
        return self


class TechnicalSpec(StrictModel):
    """TVD sub-indicators: cohort-normalised citations, claims, family size."""

    weights: dict[Literal["citations", "claims", "family"], Share]
    cohort_min_size: Annotated[int, Field(ge=1)]
    cohort_smoothing: Annotated[float, Field(ge=0)]
    citation_ratio: Curve
    claims: Curve
    family_countries: Curve

    @model_validator(mode="after")
    def _ok(self) -> TechnicalSpec:
        _check_weights(dict(self.weights), "technical.weights")
        return self


class EconomicSpec(StrictModel):
    """EVD sub-indicators: SEI fit, market use, maintenance years, revenue supported."""

    weights: dict[Literal["sei_fit", "market_use", "maintenance", "revenue"], Share]
    sei_ipc_score: Points
    licensed_or_transferred_score: Points
    maintenance_years: Curve
    firm_revenue_cny: Curve
    non_main_business_factor: Share

    @model_validator(mode="after")
    def _ok(self) -> EconomicSpec:
        _check_weights(dict(self.weights), "economic.weights")
        return self


class PvdWeights(StrictModel):
    """PVD = legal * LVD + technical * TVD + economic * EVD."""

    legal: Share
    technical: Share
    economic: Share

    @model_validator(mode="after")
    def _sum(self) -> PvdWeights:
        _check_weights({"legal": self.legal, "technical": self.technical,
                        "economic": self.economic}, "pvd_weights")
        return self


class PvdTier(StrictModel):
    """A PVD tier: lower bound of PVD and loan-to-value for pledges."""

    name: Annotated[str, Field(min_length=1)]
    pvd_min: Points
    ltv: Share


class MoneySpec(StrictModel):
    """Relief from royalty over the remaining economic life."""

    royalty_rate_annual: dict[str, Share]
    pvd_reference: Positive
    revenue_attribution_share: Share
    discount_rate_annual: Positive
    economic_life_max_years: Positive

    @model_validator(mode="after")
    def _kinds(self) -> MoneySpec:
        if set(self.royalty_rate_annual) != set(PATENT_KINDS):
            raise ValueError(f"royalty_rate_annual must name {list(PATENT_KINDS)}")
        return self


class PledgeSpec(StrictModel):
    """Pledge eligibility and LTV by PVD tier."""

    loan_term_years: Positive
    remaining_life_min_years: Annotated[float, Field(ge=0)]
    exclude_already_pledged: bool
    pledgeable_kinds: list[Literal["invention", "utility", "design", "software_copyright"]]
    tiers: list[PvdTier] = Field(min_length=1)

    @model_validator(mode="after")
    def _tiers(self) -> PledgeSpec:
        mins = [t.pvd_min for t in self.tiers]
        if any(b >= a for a, b in itertools.pairwise(mins)):
            raise ValueError("tiers: pvd_min must be strictly descending")
        if mins[-1] != 0:
            raise ValueError("tiers: the last tier must have pvd_min 0")
        ltvs = [t.ltv for t in self.tiers]
        if any(b > a for a, b in itertools.pairwise(ltvs)):
            raise ValueError("tiers: ltv must not rise as PVD falls")
        return self


class ValuationSpec(StrictModel):
    """Schema of ``models/patent_valuation.yaml``."""

    version: Annotated[str, Field(min_length=1)]
    pvd_weights: PvdWeights
    legal: LegalSpec
    technical: TechnicalSpec
    economic: EconomicSpec
    money: MoneySpec
    pledge: PledgeSpec


def load_innovation_spec(models_dir: Path | str | None = None) -> InnovationSpec:
    """Load and validate ``innovation_rating.yaml`` (see :func:`techcredit.config.load_spec`)."""
    return load_spec("innovation_rating", InnovationSpec, models_dir)


def load_valuation_spec(models_dir: Path | str | None = None) -> ValuationSpec:
    """Load and validate ``patent_valuation.yaml`` (see :func:`techcredit.config.load_spec`)."""
    return load_spec("patent_valuation", ValuationSpec, models_dir)
