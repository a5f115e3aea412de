"""Pydantic model of ``models/policy.yaml``: the credit policy a committee reviews.

One top-level :class:`PolicySpec` with one sub-model per section: the fraud and
data-quality flag thresholds (:class:`FlagThresholds`, section ``flags``), the
knock-out and refer rules (:class:`Rule`), the PD-to-risk-grade table, the score scale,
products, the limit and the rate (DOMAIN.md sections 4-5).

Examples
--------
>>> policy = load_policy()
>>> policy.flags.invoice_spike.multiple
5.0
>>> policy.flags.buyer_concentration.top5_max
0.8
>>> [r.id for r in policy.knockouts][:2]
['KO_TAX_GRADE_D', 'KO_ABNORMAL_TAXPAYER']
>>> policy.products["tech_loan"].cap_cny, policy.limit.tax_multiple_by_grade["A"]
(10000000.0, 8.0)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from techcredit.config._base import Condition, StrictModel, load_spec
from techcredit.config.rating import TIER_NAMES
from techcredit.config.segments import Segment
from techcredit.schemas import Product, TaxGrade

__all__ = [
    "RISK_GRADES",
    "BuyerConcentration",
    "Condition",
    "FilingGaps",
    "FlagThresholds",
    "InvoiceSpike",
    "InvoiceTaxGap",
    "LegalRepChange",
    "LimitSpec",
    "NightInvoicing",
    "PolicySpec",
    "ProductSpec",
    "RateSpec",
    "ReasonSpec",
    "RedLetter",
    "RiskGradeBand",
    "Rule",
    "RuleText",
    "StaffPlausibility",
    "TaxVolatility",
    "ZeroFilings",
    "load_policy",
]

Share = Annotated[float, Field(ge=0, le=1)]
Months = Annotated[int, Field(ge=0, le=36)]


class TaxVolatility(StrictModel):
    """Monthly tax deviating by ``deviation`` from its 12-month mean in ``months_min`` months."""

    deviation: Annotated[float, Field(gt=0)]
    months_min: Annotated[int, Field(ge=1, le=12)]


class InvoiceSpike(StrictModel):
    """A month's net invoiced sales at least ``multiple`` x the trailing 12-month median."""

    multiple: Annotated[float, Field(gt=1)]


class RedLetter(StrictModel):
    """Red-letter amount over normal invoiced amount above ``ratio_max`` (12 months)."""

    ratio_max: Share


class BuyerConcentration(StrictModel):
    """Largest buyer above ``top1_max`` or five largest above ``top5_max`` of sales."""

    top1_max: Share
    top5_max: Share


class ZeroFilings(StrictModel):
    """At least ``count_min`` zero filings in the last 12 months."""

    count_min: Annotated[int, Field(ge=1, le=12)]


class InvoiceTaxGap(StrictModel):
    """Invoiced and declared sales differ by more than ``gap_max`` (票税不符)."""

    gap_max: Share


class LegalRepChange(StrictModel):
    """Legal representative changed less than ``months_min`` months ago."""

    months_min: Months


class FilingGaps(StrictModel):
    """More than ``missing_max`` missing monthly filings in the last 24 months."""

    missing_max: Annotated[int, Field(ge=0, le=24)]


class NightInvoicing(StrictModel):
    """Share of invoices issued in ``[start_hour, end_hour)`` (wrapping midnight) above max."""

    start_hour: Annotated[int, Field(ge=0, le=23)]
    end_hour: Annotated[int, Field(ge=0, le=23)]
    share_max: Share


class StaffPlausibility(StrictModel):
    """Tech-SME audit flags: staff at most ``staff_min``; S&T share implausibly high."""

    staff_min: Annotated[int, Field(ge=0)]
    st_share_max: Share
    st_share_staff_min: Annotated[int, Field(ge=0)]


class FlagThresholds(StrictModel):
    """Thresholds of the fraud and data-quality flags (DOMAIN.md section 4)."""

    tax_volatility: TaxVolatility
    invoice_spike: InvoiceSpike
    red_letter: RedLetter
    buyer_concentration: BuyerConcentration
    zero_filings: ZeroFilings
    invoice_tax_gap: InvoiceTaxGap
    legal_rep_change: LegalRepChange
    filing_gaps: FilingGaps
    night_invoicing: NightInvoicing
    staff: StaffPlausibility

    @model_validator(mode="after")
    def _top5_at_least_top1(self) -> FlagThresholds:
        if self.buyer_concentration.top5_max < self.buyer_concentration.top1_max:
            raise ValueError("buyer_concentration.top5_max must be >= top1_max")
        return self


RISK_GRADES: tuple[str, ...] = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")
"""Risk grades, best first; ``risk_grade_rank`` is the 1-based position."""
TAX_GRADES: tuple[str, ...] = get_args(TaxGrade)
LIMIT_TERMS: tuple[str, ...] = ("LIMIT_PRODUCT_CAP", "LIMIT_TAX_MULTIPLE",
                                "LIMIT_INVOICE_SALES", "LIMIT_RISK_GRADE_CAP")
"""The limit rules, in the order of the limit's terms (the smallest binds)."""
OUTCOME_RULES: tuple[str, ...] = (*LIMIT_TERMS, "LIMIT_PLEDGE_UPLIFT", "LIMIT_BELOW_MINIMUM",
                                  "RATE_RISK_MINIMUM", "RATE_RISK_ABOVE_CEILING")
"""The limit and rate rules, recorded after the knock-outs and refers, in this order."""
REASON_RULES: tuple[str, ...] = tuple(r for r in OUTCOME_RULES if r != "LIMIT_PLEDGE_UPLIFT")
"""The limit and rate rules a decision can name as a reason (a pledge uplift costs no one):
each needs its texts."""
Rate = Annotated[float, Field(ge=0, le=1)]
MoneyCny = Annotated[float, Field(ge=0, allow_inf_nan=False)]
RuleId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
DECISION_FIELDS: tuple[str, ...] = ("prob_default", "risk_grade_rank", "fraud_flag_count")
"""Names a rule condition may read besides catalogue features."""


class Rule(StrictModel):
    """A knock-out or refer rule: fires when every condition holds."""

    id: RuleId
    when: Annotated[list[Condition], Field(min_length=1)]
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class RiskGradeBand(StrictModel):
    """A risk grade and the largest PD it holds."""

    grade: Literal[RISK_GRADES]  # type: ignore[valid-type]
    pd_max: Rate


class ProductSpec(StrictModel):
    """One loan product: its cap, minimum amount, rate corridor and whether it takes pledges."""

    cap_cny: Annotated[float, Field(gt=0, le=1e9)]
    amount_min_cny: MoneyCny
    rate_floor_annual: Rate
    rate_ceiling_annual: Rate
    pledge: bool

    @model_validator(mode="after")
    def _corridor(self) -> ProductSpec:
        if self.rate_floor_annual > self.rate_ceiling_annual:
            raise ValueError("rate_floor_annual must not exceed rate_ceiling_annual")
        if self.amount_min_cny > self.cap_cny:
            raise ValueError("amount_min_cny must not exceed cap_cny")
        return self


def _complete(mapping: Mapping[str, object], keys: tuple[str, ...], name: str) -> None:
    if set(mapping) != set(keys):
        raise ValueError(f"{name} needs exactly the keys {list(keys)}")


class LimitSpec(StrictModel):
    """Limit rule of DOMAIN.md section 5."""

    tax_multiple_by_grade: dict[str, Annotated[float, Field(ge=0)]]
    invoice_sales_ratio: Annotated[float, Field(ge=0)]
    cap_by_risk_grade_cny: dict[str, MoneyCny]
    pledge_segments: list[Segment]
    rounding_cny: Annotated[float, Field(gt=0)]

    @model_validator(mode="after")
    def _keys(self) -> LimitSpec:
        _complete(self.tax_multiple_by_grade, TAX_GRADES, "tax_multiple_by_grade")
        _complete(self.cap_by_risk_grade_cny, RISK_GRADES, "cap_by_risk_grade_cny")
        return self


class RateSpec(StrictModel):
    """Rate rule: LPR + spread by risk grade - innovation discount, risk-based minimum."""

    lpr_1y_annual: Rate
    spread_by_risk_grade_annual: dict[str, Rate]
    innovation_discount_annual: dict[str, Rate]
    discount_segments: list[Segment]
    cost_of_funds_annual: Rate
    lgd: Rate
    operating_cost_annual: Rate
    capital_charge_annual: Rate
    decimals: Annotated[int, Field(ge=2, le=8)]

    @model_validator(mode="after")
    def _keys(self) -> RateSpec:
        _complete(self.spread_by_risk_grade_annual, RISK_GRADES, "spread_by_risk_grade_annual")
        _complete(self.innovation_discount_annual, TIER_NAMES, "innovation_discount_annual")
        return self


class RuleText(StrictModel):
    """Chinese and English text of a rule."""

    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class ReasonSpec(StrictModel):
    """How many reasons a decision names, and the texts of the limit and rate rules."""

    max_reasons: Annotated[int, Field(ge=1, le=4)]
    rule_texts: dict[RuleId, RuleText]

    @model_validator(mode="after")
    def _every_reason_rule(self) -> ReasonSpec:
        _complete(self.rule_texts, REASON_RULES, "rule_texts")
        return self


class PolicySpec(StrictModel):
    """Schema of ``models/policy.yaml``."""

    version: Annotated[str, Field(min_length=1)]
    flags: FlagThresholds
    fraud_flags: list[str]
    knockouts: list[Rule]
    refer: list[Rule]
    risk_grades: Annotated[list[RiskGradeBand], Field(min_length=len(RISK_GRADES),
                                                      max_length=len(RISK_GRADES))]
    products: dict[Product, ProductSpec]
    limit: LimitSpec
    rate: RateSpec
    reasons: ReasonSpec

    @model_validator(mode="after")
    def _consistent(self) -> PolicySpec:
        grades = [b.grade for b in self.risk_grades]
        if grades != list(RISK_GRADES):
            raise ValueError(f"risk_grades must list {list(RISK_GRADES)} in this order")
        pds = [b.pd_max for b in self.risk_grades]
        if any(b <= a for a, b in itertools.pairwise(pds)) or pds[-1] != 1.0:
            raise ValueError("risk_grades pd_max must increase strictly and end at 1.0")
        ids = [r.id for r in [*self.knockouts, *self.refer]]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate rule ids {dup}")
        _complete(self.products, get_args(Product), "products")
        for name, product in self.products.items():
            if product.rate_floor_annual > self.rate.lpr_1y_annual + max(
                    self.rate.spread_by_risk_grade_annual.values()):
                raise ValueError(f"products.{name}.rate_floor_annual is above every priced rate")
        return self

    def rule_features(self) -> list[str]:
        """Every name the knock-out and refer rules read (features and decision fields)."""
        names = [c.feature for r in [*self.knockouts, *self.refer] for c in r.when]
        return list(dict.fromkeys([*names, *self.fraud_flags]))


def load_policy(models_dir: Path | str | None = None) -> PolicySpec:
    """Load and validate ``policy.yaml`` (see :func:`techcredit.config.load_spec`)."""
    return load_spec("policy", PolicySpec, models_dir)
