"""``Decision``: what the decision engine returns for one application.

The serving contract's output (DESIGN.md). A decision is immutable and carries
everything an auditor needs to reproduce it: the outcome and offer, the model's PD and
points, the innovation rating and patent values, the reasons with their codes and
texts, every rule that fired, the model identity and a hash of the input.
``to_json()`` is canonical (sorted keys, exact floats), so the same application and
model version give byte-identical JSON in any process.

Examples
--------
>>> d = Decision(application_id=7, outcome="decline", product="tax_loan", segment="micro",
...     model_kind="scorecard", prob_default=0.31, score=532.0, risk_grade="CC",
...     innovation_tier="C", innovation_composite=12.5, innovation_stage="startup",
...     innovation_scores={"technology": 10.0}, patent_value_cny=0.0, pledge_value_cny=0.0,
...     requested_amount_cny=500000.0, limit_cny=0.0, rate_annual=None, term_months=12,
...     reasons=(Reason("KO_RISK_GRADE", "违约风险等级为CCC级及以下",
...                     "Risk grade CCC or worse", None, None),),
...     rules_fired=("KO_RISK_GRADE",), model_name="techcredit", model_version="3",
...     bundle_id="ab12", input_hash="cd34", challenger=None, contributions=())
>>> d.declined, d.reasons[0].code
(True, 'KO_RISK_GRADE')
>>> d.to_json()[:40]
'{"application_id":7,"bundle_id":"ab12","'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from techcredit.explain.reasons import Reason

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Contribution", "Decision", "ShadowScore"]

Outcome = Literal["approve", "decline", "refer"]


@dataclass(frozen=True, slots=True)
class ShadowScore:
    """The challenger's result, recorded and never used to decide."""

    model_kind: str
    prob_default: float


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's value and its calibrated log-odds contribution (bias: ``feature=None``)."""

    feature: str | None
    value: float | None
    contribution: float


@dataclass(frozen=True, slots=True)
class Decision:
    """One application's decision. See the module docstring for the contract."""

    application_id: int | None
    outcome: Outcome
    product: str
    segment: str
    model_kind: str
    """The champion that decided: ``scorecard`` or ``xgboost``."""
    prob_default: float
    score: float
    risk_grade: str
    innovation_tier: str
    innovation_composite: float
    innovation_stage: str
    innovation_scores: dict[str, float]
    """The five dimension sub-scores (0-100)."""
    patent_value_cny: float
    pledge_value_cny: float
    requested_amount_cny: float
    limit_cny: float
    rate_annual: float | None
    """``None`` when declined (no offer)."""
    term_months: int
    reasons: tuple[Reason, ...]
    rules_fired: tuple[str, ...]
    model_name: str
    model_version: str | None
    bundle_id: str
    input_hash: str
    challenger: ShadowScore | None
    contributions: tuple[Contribution, ...] = field(repr=False)

    @property
    def declined(self) -> bool:
        """True when the outcome is ``decline``."""
        return self.outcome == "decline"

    def to_dict(self, *, contributions: bool = False) -> dict[str, Any]:
        """Plain mapping (JSON-ready); the contribution table only if asked."""
        doc: dict[str, Any] = {
            "application_id": self.application_id, "outcome": self.outcome,
            "product": self.product, "segment": self.segment, "model_kind": self.model_kind,
            "prob_default": self.prob_default, "score": self.score,
            "risk_grade": self.risk_grade, "innovation_tier": self.innovation_tier,
            "innovation_composite": self.innovation_composite,
            "innovation_stage": self.innovation_stage,
            "innovation_scores": dict(self.innovation_scores),
            "patent_value_cny": self.patent_value_cny,
            "pledge_value_cny": self.pledge_value_cny,
            "requested_amount_cny": self.requested_amount_cny, "limit_cny": self.limit_cny,
            "rate_annual": self.rate_annual, "term_months": self.term_months,
            "reasons": [r.to_dict() for r in self.reasons],
            "rules_fired": list(self.rules_fired), "model_name": self.model_name,
            "model_version": self.model_version, "bundle_id": self.bundle_id,
            "input_hash": self.input_hash,
            "challenger": (None if self.challenger is None else
                           {"model_kind": self.challenger.model_kind,
                            "prob_default": self.challenger.prob_default}),
        }
        if contributions:
            doc["contributions"] = [{"feature": c.feature, "value": c.value,
                                     "contribution": c.contribution}
                                    for c in self.contributions]
        return doc

    def to_json(self, *, contributions: bool = False) -> str:
        """Canonical JSON: sorted keys, no whitespace, UTF-8 text kept (byte-stable)."""
        return json.dumps(self.to_dict(contributions=contributions), sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    def explain(self) -> pd.DataFrame:
        """The full contribution table: every feature the champion read, riskiest first.

        Columns ``feature, value, contribution, reason_code, text_zh, text_en``; the last
        row is the reference (``bias``: the segment's average log-odds). Contributions
        sum to the logit of ``prob_default``.
        """
        import pandas as pd

        from techcredit.features.catalogue import get

        rows = []
        for c in self.contributions:
            entry = get(c.feature) if c.feature is not None else None
            rows.append({"feature": c.feature or "bias", "value": c.value,
                         "contribution": c.contribution,
                         "reason_code": entry.reason_code if entry else None,
                         "text_zh": entry.reason_zh if entry else None,
                         "text_en": entry.reason_en if entry else None})
        frame = pd.DataFrame(rows, columns=["feature", "value", "contribution", "reason_code",
                                            "text_zh", "text_en"])
        body = frame.iloc[:-1].sort_values("contribution", ascending=False, kind="stable")
        return pd.concat([body, frame.iloc[-1:]], ignore_index=True)
