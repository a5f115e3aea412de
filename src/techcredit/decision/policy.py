"""The credit policy as pure, vectorised functions of features and model outputs.

Every number comes from ``models/policy.yaml`` (:class:`~techcredit.config.policy.PolicySpec`)
and every branch has a rule id that the decision records (DOMAIN.md sections 4-5):

* **knock-outs** decline (grade D, abnormal taxpayer, arrears, filing gaps, fraud
  patterns, risk grade CCC or worse), **refer** rules send the case to a person;
* **limit** = min(product cap, k_tax[grade] x average annual tax paid over 24 months,
  r_inv x 12-month valid invoiced sales, cap by risk grade) + pledge uplift (tech
  segments, products taking a pledge), capped by the product and by the amount asked,
  rounded down; below the product minimum declines (``LIMIT_BELOW_MINIMUM``);
* **rate** = LPR + spread by risk grade - innovation-tier discount (tech segments),
  inside the product's floor and ceiling, raised to the risk-based minimum
  (cost of funds + PD x LGD + operating cost + capital charge), rounded up to the
  quoted precision; a risk-based minimum above the ceiling declines.

One applicant or a hundred thousand go through the same array code.

Examples
--------
>>> import numpy as np
>>> from techcredit.config.policy import load_policy
>>> from techcredit.config.scorecard import load_scorecard_spec
>>> policy = load_policy()
>>> feats = {name: np.array([0.0]) for name in policy_features(policy)}
>>> feats.update(tax_grade_now=np.array([1.0]), tax_history_months_all=np.array([36.0]),
...              tax_paid_months_3m=np.array([3.0]), tax_paid_sum_24m=np.array([400000.0]),
...              inv_sales_net_12m=np.array([9000000.0]))
>>> one = lambda v: np.array([v], dtype=object)
>>> out = apply_policy(policy, PolicyInputs(features=feats, segment=one("micro"),
...     logit=np.array([-4.0]), product=one("tax_loan"),
...     amount_cny=np.array([2000000.0]), innovation_tier=one("C"),
...     pledge_value_cny=np.array([0.0])), load_scorecard_spec().scaling)
>>> out.outcome[0], out.risk_grade[0], float(out.limit_cny[0]), float(out.rate_annual[0])
('approve', 'A', 1350000.0, 0.036)
>>> out.rules[0]
('LIMIT_INVOICE_SALES',)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from techcredit.config._base import compare
from techcredit.config.policy import (
    DECISION_FIELDS,
    LIMIT_TERMS,
    OUTCOME_RULES,
    RISK_GRADES,
    TAX_GRADES,
    PolicySpec,
)
from techcredit.config.rating import TIER_NAMES
from techcredit.config.scorecard import ScalingSpec
from techcredit.exceptions import InvalidInputError, ModelError

__all__ = ["LIMIT_INPUTS", "CompiledPolicy", "PolicyInputs", "PolicyResult", "apply_policy",
           "fraud_flag_count", "policy_features", "score_points"]

LIMIT_INPUTS: tuple[str, ...] = ("tax_grade_now", "tax_paid_sum_24m", "inv_sales_net_12m")
"""Features the limit rule reads."""


def policy_features(policy: PolicySpec) -> list[str]:
    """Catalogue features the policy reads (rules, fraud flags and the limit)."""
    names = [n for n in policy.rule_features() if n not in DECISION_FIELDS]
    return list(dict.fromkeys([*names, *LIMIT_INPUTS]))


def fraud_flag_count(policy: PolicySpec, features: Mapping[str, np.ndarray], n: int
                     ) -> np.ndarray:
    """The decision field ``fraud_flag_count``: how many of ``policy.fraud_flags`` are raised.

    Examples
    --------
    >>> from techcredit.config.policy import load_policy
    >>> policy = load_policy()
    >>> feats = {name: np.array([1.0, 0.0, 0.0]) for name in policy.fraud_flags}
    >>> feats[policy.fraud_flags[0]] = np.array([1.0, 1.0, 0.0])
    >>> fraud_flag_count(policy, feats, 3).tolist()
    [3.0, 1.0, 0.0]
    """
    count = np.zeros(n)
    for name in policy.fraud_flags:
        count += np.asarray(features[name], dtype=np.float64) > 0
    return count


@dataclass(frozen=True)
class PolicyInputs:
    """Arrays of one batch, one entry per application."""

    features: Mapping[str, np.ndarray]
    """At least :func:`policy_features`, float64."""
    segment: np.ndarray
    logit: np.ndarray
    """Calibrated log-odds of default of the champion."""
    product: np.ndarray
    amount_cny: np.ndarray
    innovation_tier: np.ndarray
    pledge_value_cny: np.ndarray


@dataclass(frozen=True)
class PolicyResult:
    """Policy outcome per application (arrays) and the rules fired (tuples per row)."""

    outcome: np.ndarray
    prob_default: np.ndarray
    score: np.ndarray
    risk_grade: np.ndarray
    limit_cny: np.ndarray
    rate_annual: np.ndarray
    """NaN for a decline (no offer)."""
    rules: list[tuple[str, ...]]
    """Every rule that fired, in policy order: knock-outs, refers, limit, rate."""
    costly_rules: list[tuple[str, ...]]
    """The rules that cost the applicant (reasons): knock-outs, refers, binding limit/rate."""
    reduced: np.ndarray
    """Approvals or referrals offered less than asked or a rate above the best grade's."""


def score_points(logit: np.ndarray, scaling: ScalingSpec) -> np.ndarray:
    """Score points on the scorecard's scale (``scorecard.yaml`` ``scaling``), whole points.

    One scale for the scorecard's points and every decision's score, whichever model
    decided.

    Examples
    --------
    >>> from techcredit.config.scorecard import load_scorecard_spec
    >>> scaling = load_scorecard_spec().scaling
    >>> score_points(np.array([-np.log(50.0), -np.log(100.0)]), scaling).tolist()
    [600.0, 620.0]
    """
    return np.round(scaling.offset - scaling.factor * logit)


@dataclass(frozen=True, eq=False)
class CompiledPolicy:
    """A :class:`PolicySpec` turned into the arrays :func:`apply_policy` reads, once.

    A :class:`~techcredit.decision.Decider` holds one, so a single application does not
    re-read the specification; :func:`apply_policy` compiles a plain ``PolicySpec`` on
    each call.

    Examples
    --------
    >>> from techcredit.config.policy import load_policy
    >>> compiled = CompiledPolicy.of(load_policy())
    >>> compiled.rule_ids[:2], int(compiled.rule_starts[0])
    (('KO_TAX_GRADE_D', 'KO_ABNORMAL_TAXPAYER'), 0)
    """

    spec: PolicySpec
    features: tuple[str, ...]
    """:func:`policy_features`: what the policy reads besides the decision fields."""
    rule_ids: tuple[str, ...]
    """Knock-outs, then refer rules, in policy order."""
    knockouts: int
    """How many of ``rule_ids`` are knock-outs."""
    rule_starts: np.ndarray
    """Index of each rule's first condition in the condition arrays."""
    condition_columns: tuple[str, ...]
    condition_ops: tuple[str, ...]
    condition_values: np.ndarray
    pd_max: np.ndarray
    """Upper PD bound of each risk grade, best grade first."""
    k_tax: np.ndarray
    """Tax multiple by tax grade, in ``TAX_GRADES`` order."""
    cap_by_risk_grade_cny: np.ndarray
    spread_by_risk_grade_annual: np.ndarray
    products: dict[str, tuple[float, float, float, float, float]]
    """Per product: cap, minimum amount, takes a pledge (0/1), rate floor, rate ceiling."""
    discount_by_tier: dict[str, float]
    pledge_segments: frozenset[str]
    discount_segments: frozenset[str]

    @classmethod
    def of(cls, policy: PolicySpec | CompiledPolicy) -> CompiledPolicy:
        """Compile ``policy`` (a compiled policy is returned as it is)."""
        if isinstance(policy, CompiledPolicy):
            return policy
        rules = [*policy.knockouts, *policy.refer]
        conditions = [c for r in rules for c in r.when]
        lim, rt = policy.limit, policy.rate
        return cls(
            spec=policy, features=tuple(policy_features(policy)),
            rule_ids=tuple(r.id for r in rules), knockouts=len(policy.knockouts),
            rule_starts=np.cumsum([0, *(len(r.when) for r in rules[:-1])]).astype(np.intp),
            condition_columns=tuple(c.feature for c in conditions),
            condition_ops=tuple(c.op for c in conditions),
            condition_values=np.array([c.value for c in conditions], dtype=np.float64),
            pd_max=np.array([b.pd_max for b in policy.risk_grades]),
            k_tax=np.array([lim.tax_multiple_by_grade[g] for g in TAX_GRADES]),
            cap_by_risk_grade_cny=np.array([lim.cap_by_risk_grade_cny[g]
                                            for g in RISK_GRADES]),
            spread_by_risk_grade_annual=np.array([rt.spread_by_risk_grade_annual[g]
                                                  for g in RISK_GRADES]),
            products={name: (p.cap_cny, p.amount_min_cny, float(p.pledge),
                             p.rate_floor_annual, p.rate_ceiling_annual)
                      for name, p in policy.products.items()},
            discount_by_tier={t: rt.innovation_discount_annual[t] for t in TIER_NAMES},
            pledge_segments=frozenset(lim.pledge_segments),
            discount_segments=frozenset(rt.discount_segments),
        )

    def rule_hits(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """``(rules, n)`` booleans: where every condition of each rule holds."""
        if not self.rule_ids:
            return np.zeros((0, n), dtype=bool)
        hits = np.empty((len(self.condition_ops), n), dtype=bool)
        for k, (name, op) in enumerate(zip(self.condition_columns, self.condition_ops,
                                           strict=True)):
            hits[k] = compare(columns[name], op, self.condition_values[k])
        return np.logical_and.reduceat(hits, self.rule_starts, axis=0)


def _rule_tuples(masks: np.ndarray, ids: tuple[str, ...],
                 orders: tuple[list[int], ...]) -> tuple[list[tuple[str, ...]], ...]:
    """Per row and per order: the ids of the masks that hold there, in that order.

    ``masks`` is ``(k, n)``; each order lists mask indices. Rows share few distinct
    patterns: each row's pattern is packed into the bits of one integer, and each
    distinct pattern is turned into its tuples once.
    """
    k, n = masks.shape
    if k > 62:  # more than an int64 holds: row by row
        columns = masks.T.tolist()
        return tuple([tuple(ids[j] for j in order if row[j]) for row in columns]
                     for order in orders)
    bits = (np.int64(1) << np.arange(k, dtype=np.int64)) @ masks.astype(np.int64)
    if n == 1:
        patterns, inverse = bits, [0]
    else:
        patterns, inverse = np.unique(bits, return_inverse=True)
        inverse = inverse.ravel().tolist()
    out = []
    for order in orders:
        per_pattern = [tuple(ids[j] for j in order if p >> j & 1) for p in patterns.tolist()]
        out.append([per_pattern[j] for j in inverse])
    return tuple(out)


def apply_policy(policy: PolicySpec | CompiledPolicy, inputs: PolicyInputs,
                 scaling: ScalingSpec) -> PolicyResult:
    """Apply knock-outs, refer rules, limit and rate to a batch.

    ``policy`` is a specification or, when applied repeatedly, its
    :class:`CompiledPolicy`; ``scaling`` (the scorecard's) turns each logit into its
    score points.

    Raises
    ------
    InvalidInputError
        If a feature the policy reads is missing.
    ModelError
        If a limit or rate input is NaN (the feature builders never produce one).
    """
    c = CompiledPolicy.of(policy)
    spec = c.spec
    n = inputs.logit.size
    feats = inputs.features
    missing = [f for f in c.features if f not in feats]
    if missing:
        raise InvalidInputError([("features", None, f, "needed by the policy") for f in missing])
    prob = 1.0 / (1.0 + np.exp(-inputs.logit))
    rank = np.minimum(np.searchsorted(c.pd_max, prob, side="left"), len(c.pd_max) - 1)
    grade = np.array(RISK_GRADES, dtype=object)[rank]
    fraud = fraud_flag_count(spec, feats, n)
    columns = {**feats, "prob_default": prob, "risk_grade_rank": rank + 1.0,
               "fraud_flag_count": fraud}
    rule_hits = c.rule_hits(columns, n)
    knock, refer = rule_hits[:c.knockouts], rule_hits[c.knockouts:]

    # ------------------------------------------------------------------ limit
    lim, rt = spec.limit, spec.rate
    product = np.array([c.products[p] for p in inputs.product]).reshape(n, 5)
    cap, amount_min, takes_pledge, floor, ceiling = product.T
    tax_grade = feats["tax_grade_now"]
    # no grade published yet is the official M grade (new firm)
    grade_idx = np.where(np.isnan(tax_grade), TAX_GRADES.index("M") + 1, tax_grade)
    terms = np.empty((n, len(LIMIT_TERMS)))
    terms[:, 0] = cap
    terms[:, 1] = c.k_tax[grade_idx.astype(np.intp) - 1] * feats["tax_paid_sum_24m"] / 2.0
    terms[:, 2] = lim.invoice_sales_ratio * np.maximum(feats["inv_sales_net_12m"], 0.0)
    terms[:, 3] = c.cap_by_risk_grade_cny[rank]
    if np.isnan(terms).any():
        raise ModelError("a limit input is NaN; the feature builders should never give one")
    binding = np.argmin(terms, axis=1)
    base = terms[np.arange(n), binding]
    segments = inputs.segment.tolist()
    pledge_ok = (takes_pledge > 0) & np.array([s in c.pledge_segments for s in segments],
                                              dtype=bool)
    uplift = np.where(pledge_ok, inputs.pledge_value_cny, 0.0)
    total = np.minimum(base + uplift, cap)
    offered = np.minimum(total, inputs.amount_cny)
    limit = np.floor(offered / lim.rounding_cny) * lim.rounding_cny
    too_small = limit < amount_min
    reduced_limit = limit < inputs.amount_cny

    # ------------------------------------------------------------------- rate
    spread = c.spread_by_risk_grade_annual[rank]
    discount = np.array([c.discount_by_tier[t] if s in c.discount_segments else 0.0
                         for s, t in zip(segments, inputs.innovation_tier.tolist(),
                                         strict=True)], dtype=np.float64)
    priced = np.minimum(np.maximum(rt.lpr_1y_annual + spread - discount, floor), ceiling)
    risk_min = (rt.cost_of_funds_annual + prob * rt.lgd + rt.operating_cost_annual
                + rt.capital_charge_annual)
    step = 10.0 ** rt.decimals
    # round up to the quoted precision, so the rate never falls below the risk minimum
    rate = np.minimum(np.ceil(np.round(np.maximum(priced, risk_min) * step, 6)) / step, ceiling)
    above_ceiling = risk_min > ceiling
    raised = risk_min > priced
    best = np.minimum(np.maximum(rt.lpr_1y_annual + c.spread_by_risk_grade_annual[0]
                                 - discount, floor), ceiling)
    dearer = rate > best + 0.5 / step

    # ---------------------------------------------------------------- outcome
    declined = knock.any(axis=0) | too_small | above_ceiling
    referred = refer.any(axis=0)
    outcome = np.where(declined, "decline", np.where(referred, "refer", "approve")).astype(object)

    # every rule mask, in the order rules are recorded: knock-outs, refers, limit, rate
    outcome_masks = {
        **{name: (binding == j) & reduced_limit for j, name in enumerate(LIMIT_TERMS)},
        "LIMIT_PLEDGE_UPLIFT": uplift > 0, "LIMIT_BELOW_MINIMUM": too_small,
        "RATE_RISK_MINIMUM": raised & ~above_ceiling, "RATE_RISK_ABOVE_CEILING": above_ceiling}
    ids = (*c.rule_ids, *OUTCOME_RULES)
    masks = np.empty((len(ids), n), dtype=bool)
    masks[:len(c.rule_ids)] = rule_hits
    for k, name in enumerate(OUTCOME_RULES, start=len(c.rule_ids)):
        masks[k] = outcome_masks[name]
    at = {name: k for k, name in enumerate(ids)}
    knockouts, refers = list(range(c.knockouts)), list(range(c.knockouts, len(c.rule_ids)))
    fired, costly, secondary = _rule_tuples(masks, ids, (
        list(range(len(ids))),
        # reasons: what cost the applicant, the decisive rules first (a pledge uplift does not)
        [*knockouts, at["LIMIT_BELOW_MINIMUM"], at["RATE_RISK_ABOVE_CEILING"], *refers],
        [*(at[name] for name in LIMIT_TERMS), at["RATE_RISK_MINIMUM"]]))
    # at most one limit or rate rule among the reasons, leaving room for the features
    costly = [r + s[:1] if s else r for r, s in zip(costly, secondary, strict=True)]
    return PolicyResult(
        outcome=outcome, prob_default=prob, score=score_points(inputs.logit, scaling),
        risk_grade=grade, limit_cny=np.where(declined, 0.0, limit),
        rate_annual=np.where(declined, np.nan, rate),
        rules=fired, costly_rules=costly,
        reduced=~declined & (reduced_limit | dearer))

