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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from techcredit.explain.reasons import Reason

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Contribution", "ContributionTable", "Decision", "ShadowScore"]

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


class ContributionTable(Sequence[Contribution]):
    """A decision's contributions, read-only: one per feature the champion read, bias last.

    Holds the arrays and makes :class:`Contribution` objects only when read, so a
    decision nobody explains costs no per-feature objects. Equal to any sequence of the
    same contributions.

    Parameters
    ----------
    features : tuple of str
        The champion's features, in its order.
    values : float64 array, one per feature (NaN = missing, read as ``None``)
    contributions : float64 array, one per feature plus the bias last

    Examples
    --------
    >>> table = ContributionTable(("tax_paid_sum_12m",), np.array([np.nan]),
    ...                           np.array([0.25, -2.0]))
    >>> len(table), table[0], table[-1].contribution
    (2, Contribution(feature='tax_paid_sum_12m', value=None, contribution=0.25), -2.0)
    >>> table == (Contribution("tax_paid_sum_12m", None, 0.25), Contribution(None, None, -2.0))
    True
    """

    __slots__ = ("_contribution_array", "_features", "_lists", "_value_array")

    def __init__(self, features: tuple[str, ...], values: np.ndarray,
                 contributions: np.ndarray) -> None:
        if contributions.shape != (len(features) + 1,) or values.shape != (len(features),):
            raise ValueError(f"{len(features)} features need as many values and one more "
                             f"contribution (the bias); got {values.shape} and "
                             f"{contributions.shape}")
        self._features = features
        # copies: the table stays as given whatever the caller does to its arrays
        self._value_array, self._contribution_array = values.copy(), contributions.copy()
        self._lists: tuple[list[float | None], list[float]] | None = None

    def _python(self) -> tuple[list[float | None], list[float]]:
        """The values (``None`` for NaN) and contributions as Python floats, made once
        on first read (idempotent, so concurrent first reads agree)."""
        if self._lists is None:
            self._lists = ([None if v != v else v for v in self._value_array.tolist()],
                           self._contribution_array.tolist())
        return self._lists

    def __len__(self) -> int:
        return len(self._features) + 1

    def _item(self, i: int) -> Contribution:
        values, contributions = self._python()
        if i == len(self._features):
            return Contribution(None, None, contributions[i])
        return Contribution(self._features[i], values[i], contributions[i])

    @overload
    def __getitem__(self, index: int) -> Contribution: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Contribution, ...]: ...
    def __getitem__(self, index: int | slice) -> Contribution | tuple[Contribution, ...]:
        if isinstance(index, slice):
            return tuple(self._item(i) for i in range(len(self))[index])
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"contribution index {index} out of range for {n}")
        return self._item(index % n)

    def __iter__(self) -> Iterator[Contribution]:
        return (self._item(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ContributionTable):
            return self._features == other._features and self._python() == other._python()
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other,
                                                                          strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))  # equal to the tuple it stands for, so hashed alike

    def __repr__(self) -> str:
        return f"ContributionTable({len(self._features)} features + bias)"


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
    contributions: Sequence[Contribution] = field(repr=False)
    """Every feature the champion read with its contribution, bias last
    (a :class:`ContributionTable` from the engine)."""

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
