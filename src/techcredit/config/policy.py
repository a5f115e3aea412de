"""Pydantic model of ``models/policy.yaml``: the credit policy a committee reviews.

One top-level :class:`PolicySpec` with one sub-model per section. Today it holds the
fraud and data-quality flag thresholds (:class:`FlagThresholds`, section ``flags``);
knock-outs, limits and rates are added as further sections of the same model.

Examples
--------
>>> policy = load_policy()
>>> policy.flags.invoice_spike.multiple
5.0
>>> policy.flags.buyer_concentration.top5_max
0.8
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from techcredit.config._base import StrictModel, load_spec

__all__ = [
    "BuyerConcentration",
    "FilingGaps",
    "FlagThresholds",
    "InvoiceSpike",
    "InvoiceTaxGap",
    "LegalRepChange",
    "NightInvoicing",
    "PolicySpec",
    "RedLetter",
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


class PolicySpec(StrictModel):
    """Schema of ``models/policy.yaml``; later sections (knock-outs, limits, rates) join here."""

    version: Annotated[str, Field(min_length=1)]
    flags: FlagThresholds


def load_policy(models_dir: Path | str | None = None) -> PolicySpec:
    """Load and validate ``policy.yaml`` (see :func:`techcredit.config.load_spec`)."""
    return load_spec("policy", PolicySpec, models_dir)
