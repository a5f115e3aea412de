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
from dataclasses import dataclass, field

import numpy as np

from techcredit.config._base import COMPARISONS
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
from techcredit.features._jit import holds, kernel, kernel_array, maximum, minimum

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
    if not policy.fraud_flags:
        return np.zeros(n)
    raised = np.array([features[name] for name in policy.fraud_flags],
                      dtype=np.float64).reshape(len(policy.fraud_flags), n) > 0
    return np.add.reduce(raised, axis=0, dtype=np.float64)


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
    feature_set: frozenset[str]
    """``features`` as a set (the missing-feature check)."""
    rule_ids: tuple[str, ...]
    """Knock-outs, then refer rules, in policy order."""
    knockouts: int
    """How many of ``rule_ids`` are knock-outs."""
    rule_starts: np.ndarray
    """Index of each rule's first condition, conditions in policy order."""
    condition_columns: tuple[str, ...]
    """Column of each condition, in policy order."""
    condition_values: np.ndarray
    """Threshold of each condition."""
    condition_ops: np.ndarray
    """Operator of each condition, as its index in the YAML ``Comparison``."""
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
    limit_constants: np.ndarray
    """Invoice-sales ratio, rounding (CNY) and the ordinal of grade M (no grade yet)."""
    rate_constants: np.ndarray
    """LPR, cost of funds, LGD, operating cost, capital charge and ``10 ** decimals``."""
    recorded_ids: tuple[str, ...]
    """Every rule in the order a decision records them: ``rule_ids``, then
    ``OUTCOME_RULES``."""
    rule_orders: tuple[list[int], ...]
    """Indices in ``recorded_ids`` of the rules fired (all, in order), of the rules that
    cost the applicant (knock-outs, the declining limit and rate rules, refers) and of
    the binding limit or rate rule (at most one joins the reasons)."""
    pattern_tuples: dict[int, tuple[tuple[str, ...], ...]] = field(
        default_factory=dict, init=False, repr=False)
    """Memo of :func:`_rule_tuples`: a pattern of fired rules (bits of ``recorded_ids``)
    -> its tuple per order. Decisions share few patterns; at most ``_PATTERN_MEMO`` are
    kept."""

    @classmethod
    def of(cls, policy: PolicySpec | CompiledPolicy) -> CompiledPolicy:
        """Compile ``policy`` (a compiled policy is returned as it is)."""
        if isinstance(policy, CompiledPolicy):
            return policy
        rules = [*policy.knockouts, *policy.refer]
        conditions = [c for r in rules for c in r.when]
        lim, rt = policy.limit, policy.rate
        ids = (*(r.id for r in rules), *OUTCOME_RULES)
        at = {name: k for k, name in enumerate(ids)}
        features = tuple(policy_features(policy))
        return cls(
            spec=policy, features=features, feature_set=frozenset(features),
            rule_ids=tuple(r.id for r in rules), knockouts=len(policy.knockouts),
            rule_starts=np.cumsum([0, *(len(r.when) for r in rules[:-1])]).astype(np.intp),
            condition_columns=tuple(c.feature for c in conditions),
            condition_values=np.array([c.value for c in conditions], dtype=np.float64),
            condition_ops=np.array([COMPARISONS.index(c.op) for c in conditions],
                                   dtype=np.int64),
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
            limit_constants=np.array([lim.invoice_sales_ratio, lim.rounding_cny,
                                      TAX_GRADES.index("M") + 1.0]),
            rate_constants=np.array([rt.lpr_1y_annual, rt.cost_of_funds_annual, rt.lgd,
                                     rt.operating_cost_annual, rt.capital_charge_annual,
                                     10.0 ** rt.decimals]),
            recorded_ids=ids, rule_orders=(
                list(range(len(ids))),
                # the decisive rules first; a pledge uplift costs no one
                [*range(len(policy.knockouts)), at["LIMIT_BELOW_MINIMUM"],
                 at["RATE_RISK_ABOVE_CEILING"], *range(len(policy.knockouts), len(rules))],
                [*(at[name] for name in LIMIT_TERMS), at["RATE_RISK_MINIMUM"]]),
        )

    def warm_up(self, scaling: ScalingSpec) -> None:
        """Compile (or load from numba's cache) the policy's kernel by deciding no rows.

        :class:`~techcredit.decision.Decider` calls it when built, so its first decision
        does not pay the compilation.
        """
        empty = np.empty(0)
        none = np.empty(0, dtype=object)
        apply_policy(self, PolicyInputs(
            features=dict.fromkeys(self.features, empty), segment=none, logit=empty,
            product=none, amount_cny=empty, innovation_tier=none, pledge_value_cny=empty),
            scaling)

    def rule_hits(self, columns: Mapping[str, np.ndarray], n: int,
                  decision_fields: Mapping[str, np.ndarray] | None = None, *,
                  out: np.ndarray | None = None) -> np.ndarray:
        """``(rules, n)`` booleans: where every condition of each rule holds.

        Each condition reads its column from ``decision_fields`` when that mapping has it
        (the :data:`DECISION_FIELDS`: PD, risk grade rank, fraud flag count), else from
        ``columns``. ``out``: a C-contiguous bool ``(rules, n)`` array to write (and
        return) instead of a new one.
        """
        if not self.rule_ids:
            return np.zeros((0, n), dtype=bool) if out is None else out
        extra = decision_fields or {}
        values = np.array([extra[name] if name in extra else columns[name]
                           for name in self.condition_columns],
                          dtype=np.float64).reshape(len(self.condition_columns), n)
        hits = np.empty((len(self.rule_ids), n), dtype=bool) if out is None else out
        _rule_hits(values, self.condition_ops, self.condition_values, self.rule_starts, hits)
        return hits


@kernel
def _grade_and_score(prob: np.ndarray, logit: np.ndarray, pd_max: np.ndarray,
                     offset: float, factor: float, rank: np.ndarray,
                     score: np.ndarray) -> None:
    """Risk grade (index of the first ``pd_max`` at least the PD, the last grade beyond
    them all) and :func:`score_points` of each row."""
    last = pd_max.size - 1
    for i in range(prob.size):
        rank[i] = min(np.searchsorted(pd_max, prob[i]), last)  # side "left", NaN last
        score[i] = np.rint(offset - factor * logit[i])


@kernel
def _rule_hits(values: np.ndarray, ops: np.ndarray, thresholds: np.ndarray,
               rule_starts: np.ndarray, out: np.ndarray) -> None:
    """``out[r, i]``: every condition of rule ``r`` holds on column ``i`` of ``values``
    (one row per condition in policy order; rule ``r``'s start at ``rule_starts[r]``, a
    rule has at least one)."""
    rules = rule_starts.size
    for i in range(values.shape[1]):
        for r in range(rules):
            end = rule_starts[r + 1] if r + 1 < rules else ops.size
            hit = True
            c = rule_starts[r]
            while hit and c < end:
                hit = holds(values[c, i], ops[c], thresholds[c])
                c += 1
            out[r, i] = hit


def _rule_tuples(masks: np.ndarray, ids: tuple[str, ...], orders: tuple[list[int], ...],
                 memo: dict[int, tuple[tuple[str, ...], ...]]
                 ) -> tuple[list[tuple[str, ...]], ...]:
    """Per row and per order: the ids of the masks that hold there, in that order.

    ``masks`` is ``(k, n)``; each order lists mask indices. Rows share few distinct
    patterns: each row's pattern is packed into the bits of one integer, and each
    distinct pattern is turned into its tuples once (and kept in ``memo``, up to
    ``_PATTERN_MEMO`` patterns, for the next call).
    """
    k, n = masks.shape
    if k > 62:  # more than an int64 holds: row by row
        columns = masks.T.tolist()
        return tuple([tuple(ids[j] for j in order if row[j]) for row in columns]
                     for order in orders)
    bits = np.empty(n, dtype=np.int64)
    _pattern_bits(kernel_array(masks, bool), bits)
    if n == 1:
        patterns, inverse = bits, [0]
    else:
        patterns, inverse = np.unique(bits, return_inverse=True)
        inverse = inverse.ravel().tolist()
    per_pattern = []
    for p in patterns.tolist():
        tuples = memo.get(p)
        if tuples is None:
            tuples = tuple(tuple(ids[j] for j in order if p >> j & 1) for order in orders)
            if len(memo) < _PATTERN_MEMO:
                memo[p] = tuples
        per_pattern.append(tuples)
    return tuple([per_pattern[j][o] for j in inverse] for o in range(len(orders)))


@kernel
def _pattern_bits(masks: np.ndarray, out: np.ndarray) -> None:
    """``out[i]``: bit ``j`` set where ``masks[j, i]`` holds (at most 62 masks)."""
    for i in range(masks.shape[1]):
        bits = 0
        for j in range(masks.shape[0]):
            if masks[j, i]:
                bits |= 1 << j
        out[i] = bits


_PATTERN_MEMO = 4096
"""Most fired-rule patterns a compiled policy remembers (each a few short tuples)."""


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
        If a limit or rate input is NaN or the tax grade is not a grade's ordinal (the
        feature builders never produce either).
    """
    c = CompiledPolicy.of(policy)
    spec = c.spec
    n = inputs.logit.size
    feats = inputs.features
    if not feats.keys() >= c.feature_set:  # one C-level check; names only on failure
        raise InvalidInputError([("features", None, f, "needed by the policy")
                                 for f in c.features if f not in feats])
    prob = 1.0 / (1.0 + np.exp(-inputs.logit))
    rank, score = np.empty(n, dtype=np.intp), np.empty(n)
    _grade_and_score(prob, kernel_array(inputs.logit), c.pd_max, float(scaling.offset),
                     float(scaling.factor), rank, score)
    ids = c.recorded_ids
    rules = len(c.rule_ids)
    masks = np.empty((len(ids), n), dtype=bool)  # the policy's rules, then the kernel's
    c.rule_hits(feats, n, {"prob_default": prob, "risk_grade_rank": rank + 1.0,
                           "fraud_flag_count": fraud_flag_count(spec, feats, n)},
                out=masks[:rules])

    # ------------------------------------------------- limit, rate and outcome
    product = np.array([c.products[p] for p in inputs.product]).reshape(n, 5)
    segments = inputs.segment.tolist()
    pledge_ok = (product[:, 2] > 0) & np.array([s in c.pledge_segments for s in segments],
                                               dtype=bool)
    discount = np.array([c.discount_by_tier[t] if s in c.discount_segments else 0.0
                         for s, t in zip(segments, inputs.innovation_tier.tolist(),
                                         strict=True)], dtype=np.float64)
    limit, rate = np.empty(n), np.empty(n)
    outcome_code, reduced = np.empty(n, dtype=np.int8), np.empty(n, dtype=bool)
    problem, row = _limit_and_rate(
        kernel_array(prob), rank, kernel_array(feats["tax_grade_now"]),
        kernel_array(feats["tax_paid_sum_24m"]), kernel_array(feats["inv_sales_net_12m"]),
        product, pledge_ok,
        kernel_array(inputs.pledge_value_cny), kernel_array(inputs.amount_cny), discount,
        c.knockouts, rules, c.k_tax, c.cap_by_risk_grade_cny,
        c.spread_by_risk_grade_annual, c.limit_constants, c.rate_constants,
        limit, rate, outcome_code, reduced, masks)
    if problem:
        raise ModelError(f"row {row}: " + (
            "a limit input is NaN" if problem == 1 else
            f"tax_grade_now is not a tax grade ordinal (1..{len(TAX_GRADES)})")
            + "; the feature builders never give one")
    fired, costly, secondary = _rule_tuples(masks, ids, c.rule_orders, c.pattern_tuples)
    # at most one limit or rate rule among the reasons, leaving room for the features
    costly = [r + s[:1] if s else r for r, s in zip(costly, secondary, strict=True)]
    return PolicyResult(
        outcome=_OUTCOMES[outcome_code], prob_default=prob,
        score=score, risk_grade=_RISK_GRADE_NAMES[rank],
        limit_cny=limit, rate_annual=rate, rules=fired, costly_rules=costly, reduced=reduced)


_OUTCOMES = np.array(["approve", "refer", "decline"], dtype=object)
_RISK_GRADE_NAMES = np.array(RISK_GRADES, dtype=object)
_KERNEL_RULES = ("LIMIT_PRODUCT_CAP", "LIMIT_TAX_MULTIPLE", "LIMIT_INVOICE_SALES",
                 "LIMIT_RISK_GRADE_CAP", "LIMIT_PLEDGE_UPLIFT", "LIMIT_BELOW_MINIMUM",
                 "RATE_RISK_MINIMUM", "RATE_RISK_ABOVE_CEILING")
if OUTCOME_RULES != _KERNEL_RULES:  # the kernel writes its masks in this order
    raise RuntimeError(f"_limit_and_rate writes {_KERNEL_RULES}, the policy records "
                       f"{OUTCOME_RULES}")


@kernel
def _limit_and_rate(prob: np.ndarray, rank: np.ndarray, tax_grade: np.ndarray,
                    tax_paid_24m: np.ndarray, inv_sales_12m: np.ndarray,
                    product: np.ndarray, pledge_ok: np.ndarray, pledge_value: np.ndarray,
                    amount: np.ndarray, discount: np.ndarray, knockouts: int,
                    rules: int, k_tax: np.ndarray, cap_by_rank: np.ndarray,
                    spread_by_rank: np.ndarray, limit_k: np.ndarray, rate_k: np.ndarray,
                    limit: np.ndarray, rate: np.ndarray, outcome: np.ndarray,
                    reduced: np.ndarray, masks: np.ndarray) -> tuple[int, int]:
    """Limit, rate and outcome of each row (module docstring).

    Returns ``(0, -1)``, or ``(problem, row)`` at the first row with a problem: 1 a NaN
    limit term, 2 a tax grade that is not an ordinal of ``k_tax``.

    ``product`` rows: cap, minimum amount, takes a pledge, rate floor, rate ceiling.
    Writes ``limit`` (0 for a decline), ``rate`` (NaN for a decline), ``outcome``
    (index in ``_OUTCOMES``), ``reduced`` (an offer below the amount asked or dearer than
    the best grade's rate) and the masks of the rules of ``_KERNEL_RULES`` (rows
    from ``rules`` on of ``masks``). Rows ``0 .. rules - 1`` of ``masks`` hold the policy's
    rule hits, the first ``knockouts`` of them knock-outs, the others refer rules.
    """
    ratio, rounding, no_grade = limit_k[0], limit_k[1], limit_k[2]
    lpr, funds, lgd, opex, capital, step = (rate_k[0], rate_k[1], rate_k[2], rate_k[3],
                                            rate_k[4], rate_k[5])
    terms = np.empty(4)
    for i in range(prob.size):
        cap, amount_min, floor, ceiling = product[i, 0], product[i, 1], product[i, 3], \
            product[i, 4]
        grade = no_grade if np.isnan(tax_grade[i]) else tax_grade[i]
        g = int(grade) - 1
        if g < 0 or g >= k_tax.size or grade != g + 1:
            return 2, i
        terms[0] = cap
        terms[1] = k_tax[g] * tax_paid_24m[i] / 2.0
        terms[2] = ratio * maximum(inv_sales_12m[i], 0.0)
        terms[3] = cap_by_rank[rank[i]]
        binding = 0
        for j in range(4):
            if np.isnan(terms[j]):
                return 1, i
            if terms[j] < terms[binding]:
                binding = j
        uplift = pledge_value[i] if pledge_ok[i] else 0.0
        offered = minimum(minimum(terms[binding] + uplift, cap), amount[i])
        offer = np.floor(offered / rounding) * rounding
        too_small = offer < amount_min
        priced = minimum(maximum(lpr + spread_by_rank[rank[i]] - discount[i], floor),
                          ceiling)
        risk_min = funds + prob[i] * lgd + opex + capital
        # rounded up to the quoted precision: never below the risk minimum
        quoted = minimum(np.ceil(np.rint(maximum(priced, risk_min) * step * 1e6) / 1e6)
                          / step, ceiling)
        above_ceiling = risk_min > ceiling
        best = minimum(maximum(lpr + spread_by_rank[0] - discount[i], floor), ceiling)
        knocked_out, referred = False, False
        for r in range(rules):
            if masks[r, i]:
                if r < knockouts:
                    knocked_out = True
                else:
                    referred = True
        declined = knocked_out or too_small or above_ceiling
        less = offer < amount[i]
        limit[i] = 0.0 if declined else offer
        rate[i] = np.nan if declined else quoted
        outcome[i] = 2 if declined else (1 if referred else 0)
        reduced[i] = not declined and (less or quoted > best + 0.5 / step)
        for j in range(4):
            masks[rules + j, i] = less and binding == j
        masks[rules + 4, i] = uplift > 0
        masks[rules + 5, i] = too_small
        masks[rules + 6, i] = risk_min > priced and not above_ceiling
        masks[rules + 7, i] = above_ceiling
    return 0, -1
