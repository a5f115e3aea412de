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

from techcredit.config.policy import (
    DECISION_FIELDS,
    LIMIT_TERMS,
    RISK_GRADES,
    TAX_GRADES,
    PolicySpec,
    Rule,
)
from techcredit.config.rating import TIER_NAMES
from techcredit.config.scorecard import ScalingSpec
from techcredit.exceptions import InvalidInputError, ModelError

__all__ = ["LIMIT_INPUTS", "PolicyInputs", "PolicyResult", "apply_policy", "policy_features",
           "score_points"]

LIMIT_INPUTS: tuple[str, ...] = ("tax_grade_now", "tax_paid_sum_24m", "inv_sales_net_12m")
"""Features the limit rule reads."""


def policy_features(policy: PolicySpec) -> list[str]:
    """Catalogue features the policy reads (rules, fraud flags and the limit)."""
    names = [n for n in policy.rule_features() if n not in DECISION_FIELDS]
    return list(dict.fromkeys([*names, *LIMIT_INPUTS]))


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


def _fires(rule: Rule, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    hit = np.ones(n, dtype=bool)
    for c in rule.when:
        hit &= c.holds(columns)
    return hit


def _per_row(masks: list[tuple[str, np.ndarray]], n: int) -> list[tuple[str, ...]]:
    """Per row, the ids of the masks that hold there, in the order of ``masks``.

    Rows share few distinct patterns: each row's pattern is packed into bits, and each
    distinct pattern is turned into its tuple of ids once.
    """
    if not masks:
        return [()] * n
    if len(masks) > 62:  # more than an int64 holds: row by row
        hits = np.nonzero(np.array([m for _, m in masks]).T)
        rows: list[list[str]] = [[] for _ in range(n)]
        for i, k in zip(hits[0].tolist(), hits[1].tolist(), strict=True):
            rows[i].append(masks[k][0])
        return [tuple(r) for r in rows]
    bits = np.zeros(n, dtype=np.int64)
    for k, (_, mask) in enumerate(masks):
        bits |= np.asarray(mask, dtype=np.int64) << k
    patterns, inverse = np.unique(bits, return_inverse=True)
    ids = [tuple(rule_id for k, (rule_id, _) in enumerate(masks) if p >> k & 1)
           for p in patterns.tolist()]
    return [ids[j] for j in inverse.ravel().tolist()]


def _lookup(table: Mapping[str, float], keys: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    values = np.array([table[k] for k in names])
    index = {k: i for i, k in enumerate(names)}
    return values[np.array([index[k] for k in keys], dtype=np.intp)]


def apply_policy(policy: PolicySpec, inputs: PolicyInputs, scaling: ScalingSpec
                 ) -> PolicyResult:
    """Apply knock-outs, refer rules, limit and rate to a batch.

    ``scaling`` (the scorecard's) turns each logit into its score points.

    Raises
    ------
    InvalidInputError
        If a feature the policy reads is missing.
    ModelError
        If a limit or rate input is NaN (the feature builders never produce one).
    """
    n = inputs.logit.size
    missing = [f for f in policy_features(policy) if f not in inputs.features]
    if missing:
        raise InvalidInputError([("features", None, f, "needed by the policy") for f in missing])
    feats = inputs.features
    prob = 1.0 / (1.0 + np.exp(-inputs.logit))
    bounds = np.array([b.pd_max for b in policy.risk_grades])
    rank = np.minimum(np.searchsorted(bounds, prob, side="left"), len(bounds) - 1)
    grade = np.array(RISK_GRADES, dtype=object)[rank]
    fraud = np.zeros(n)
    for name in policy.fraud_flags:
        fraud += feats[name] > 0
    columns = {**feats, "prob_default": prob, "risk_grade_rank": rank + 1.0,
               "fraud_flag_count": fraud}

    knock = [(r.id, _fires(r, columns, n)) for r in policy.knockouts]
    refer = [(r.id, _fires(r, columns, n)) for r in policy.refer]

    # ------------------------------------------------------------------ limit
    lim = policy.limit
    products = policy.products
    cap = np.array([products[p].cap_cny for p in inputs.product])
    amount_min = np.array([products[p].amount_min_cny for p in inputs.product])
    takes_pledge = np.array([products[p].pledge for p in inputs.product], dtype=bool)
    tax_grade = feats["tax_grade_now"]
    # no grade published yet is the official M grade (new firm)
    grade_idx = np.where(np.isnan(tax_grade), TAX_GRADES.index("M") + 1, tax_grade)
    k_tax = np.array([lim.tax_multiple_by_grade[g] for g in TAX_GRADES])[
        grade_idx.astype(np.intp) - 1]
    terms = np.column_stack([
        cap,
        k_tax * feats["tax_paid_sum_24m"] / 2.0,
        lim.invoice_sales_ratio * np.maximum(feats["inv_sales_net_12m"], 0.0),
        _lookup(lim.cap_by_risk_grade_cny, grade, RISK_GRADES),
    ])
    if np.isnan(terms).any():
        raise ModelError("a limit input is NaN; the feature builders should never give one")
    binding = np.argmin(terms, axis=1)
    base = terms[np.arange(n), binding]
    pledge_ok = takes_pledge & np.isin(inputs.segment, lim.pledge_segments)
    uplift = np.where(pledge_ok, inputs.pledge_value_cny, 0.0)
    total = np.minimum(base + uplift, cap)
    offered = np.minimum(total, inputs.amount_cny)
    limit = np.floor(offered / lim.rounding_cny) * lim.rounding_cny
    too_small = limit < amount_min
    reduced_limit = limit < inputs.amount_cny

    # ------------------------------------------------------------------- rate
    rt = policy.rate
    spread = _lookup(rt.spread_by_risk_grade_annual, grade, RISK_GRADES)
    discount = np.where(np.isin(inputs.segment, rt.discount_segments),
                        _lookup(rt.innovation_discount_annual, inputs.innovation_tier,
                                TIER_NAMES), 0.0)
    floor = np.array([products[p].rate_floor_annual for p in inputs.product])
    ceiling = np.array([products[p].rate_ceiling_annual for p in inputs.product])
    priced = np.clip(rt.lpr_1y_annual + spread - discount, floor, ceiling)
    risk_min = (rt.cost_of_funds_annual + prob * rt.lgd + rt.operating_cost_annual
                + rt.capital_charge_annual)
    step = 10.0 ** rt.decimals
    # round up to the quoted precision, so the rate never falls below the risk minimum
    rate = np.minimum(np.ceil(np.round(np.maximum(priced, risk_min) * step, 6)) / step, ceiling)
    above_ceiling = risk_min > ceiling
    raised = risk_min > priced
    best = np.clip(rt.lpr_1y_annual + rt.spread_by_risk_grade_annual[RISK_GRADES[0]]
                   - discount, floor, ceiling)
    dearer = rate > best + 0.5 / step

    # ---------------------------------------------------------------- outcome
    declined = np.zeros(n, dtype=bool)
    for _, mask in knock:
        declined |= mask
    declined |= too_small | above_ceiling
    referred = np.zeros(n, dtype=bool)
    for _, mask in refer:
        referred |= mask
    outcome = np.where(declined, "decline", np.where(referred, "refer", "approve")).astype(object)

    term_masks = [(name, (binding == j) & reduced_limit) for j, name in enumerate(LIMIT_TERMS)]
    limit_masks = [*term_masks, ("LIMIT_PLEDGE_UPLIFT", uplift > 0),
                   ("LIMIT_BELOW_MINIMUM", too_small)]
    rate_masks = [("RATE_RISK_MINIMUM", raised & ~above_ceiling),
                  ("RATE_RISK_ABOVE_CEILING", above_ceiling)]
    fired = _per_row([*knock, *refer, *limit_masks, *rate_masks], n)
    # reasons: what cost the applicant, the decisive rules first (a pledge uplift does not)
    costly = _per_row([*knock, ("LIMIT_BELOW_MINIMUM", too_small),
                       ("RATE_RISK_ABOVE_CEILING", above_ceiling), *refer], n)
    secondary = _per_row([*term_masks, ("RATE_RISK_MINIMUM", raised & ~above_ceiling)], n)
    # at most one limit or rate rule among the reasons, leaving room for the features
    costly = [c + s[:1] if s else c for c, s in zip(costly, secondary, strict=True)]
    return PolicyResult(
        outcome=outcome, prob_default=prob, score=score_points(inputs.logit, scaling),
        risk_grade=grade, limit_cny=np.where(declined, 0.0, limit),
        rate_annual=np.where(declined, np.nan, rate),
        rules=fired, costly_rules=costly,
        reduced=~declined & (reduced_limit | dearer))
