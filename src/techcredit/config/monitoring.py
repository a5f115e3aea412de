"""Pydantic model of ``models/monitoring.yaml``: stability bands and post-loan alert rules.

Examples
--------
>>> spec = load_monitoring_spec()
>>> spec.stability.watch_min, spec.stability.shift_min
(0.1, 0.25)
>>> [r.id for r in spec.early_warnings][:2]
['ABNORMAL_TAXPAYER', 'TAX_ARREARS']
>>> spec.level_of("PLEDGE_LAPSED")
'severe'
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from techcredit.config._base import Condition, StrictModel, load_spec

__all__ = [
    "LEVELS",
    "AlertRule",
    "EventRule",
    "ExpiryRule",
    "FeeOverdueRule",
    "MonitoringSpec",
    "PledgeSpec",
    "StabilitySpec",
    "ValueLineRule",
    "WarningCondition",
    "WarningRule",
    "load_monitoring_spec",
]

LEVELS: tuple[str, ...] = ("severe", "warning", "watch", "notice")
"""Alert levels, most serious first (严重警告 / 警告 / 关注 / 提示)."""

Level = Literal["severe", "warning", "watch", "notice"]
RuleId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
Text = Annotated[str, Field(min_length=1)]
Share = Annotated[float, Field(ge=0, le=1)]


class StabilitySpec(StrictModel):
    """PSI bands: below ``watch_min`` stable, above ``shift_min`` shift, watch between."""

    eps: Annotated[float, Field(gt=0, lt=0.01)]
    watch_min: Annotated[float, Field(gt=0)]
    shift_min: Annotated[float, Field(gt=0)]

    @model_validator(mode="after")
    def _ordered(self) -> StabilitySpec:
        if self.shift_min <= self.watch_min:
            raise ValueError("shift_min must exceed watch_min")
        return self


class AlertRule(StrictModel):
    """Identity, level and texts shared by every alert rule."""

    id: RuleId
    level: Level
    zh: Text
    en: Text


class WarningCondition(Condition):
    """``<feature at when> <op> <value>``; never holds on a missing value."""

    at: Literal["now", "booking", "ratio", "change"]


class WarningRule(AlertRule):
    """An early-warning rule on the loan's firm: fires when every condition holds."""

    when: Annotated[list[WarningCondition], Field(min_length=1)]


class EventRule(AlertRule):
    """A patent event of kind ``event`` on a pledged right after booking."""

    event: Literal["annual_fee", "citation", "pledge", "pledge_release", "transfer",
                   "licence", "invalidation_request", "litigation", "lapse"]


class FeeOverdueRule(AlertRule):
    """Annual fee more than ``days_min`` days overdue on a right of a fee-paying kind."""

    days_min: Annotated[int, Field(ge=0, le=366)]
    fee_kinds: Annotated[list[Literal["invention", "utility", "design",
                                      "software_copyright"]], Field(min_length=1)]


class ExpiryRule(AlertRule):
    """The right's legal term ends before maturity plus ``margin_months``."""

    margin_months: Annotated[int, Field(ge=0, le=120)]


class ValueLineRule(AlertRule):
    """Secured amount over the revalued right above ``ltv_max``."""

    ltv_max: Annotated[float, Field(gt=0, le=1)]


class PledgeSpec(StrictModel):
    """Rules on pledged patents."""

    events: list[EventRule]
    fee_overdue: FeeOverdueRule
    expiry_in_term: ExpiryRule
    value_below_line: ValueLineRule

    def rules(self) -> list[AlertRule]:
        """Every pledge rule, event rules first."""
        return [*self.events, self.fee_overdue, self.expiry_in_term, self.value_below_line]


class MonitoringSpec(StrictModel):
    """Schema of ``models/monitoring.yaml``."""

    version: Text
    levels: dict[Level, Text]
    stability: StabilitySpec
    early_warnings: Annotated[list[WarningRule], Field(min_length=1)]
    pledges: PledgeSpec

    @model_validator(mode="after")
    def _consistent(self) -> MonitoringSpec:
        if set(self.levels) != set(LEVELS):
            raise ValueError(f"levels must name exactly {list(LEVELS)}")
        ids = [r.id for r in self.rules()]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate rule ids {dup}")
        return self

    def rules(self) -> list[AlertRule]:
        """Every alert rule: early warnings, then pledge rules."""
        return [*self.early_warnings, *self.pledges.rules()]

    def level_of(self, rule_id: str) -> str:
        """Return the level of a rule id (``KeyError`` if unknown)."""
        return {r.id: r.level for r in self.rules()}[rule_id]


def load_monitoring_spec(models_dir: Path | str | None = None) -> MonitoringSpec:
    """Load and validate ``monitoring.yaml`` (see :func:`techcredit.config.load_spec`)."""
    return load_spec("monitoring", MonitoringSpec, models_dir)
