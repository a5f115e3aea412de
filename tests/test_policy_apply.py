"""apply_policy against a row-by-row oracle written from DOMAIN.md section 5."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techcredit.config.policy import RISK_GRADES, TAX_GRADES, load_policy
from techcredit.config.rating import TIER_NAMES
from techcredit.config.scorecard import load_scorecard_spec
from techcredit.decision.policy import CompiledPolicy, PolicyInputs, apply_policy, policy_features
from techcredit.exceptions import InvalidInputError, ModelError

POLICY = load_policy()
COMPILED = CompiledPolicy.of(POLICY)
SCALING = load_scorecard_spec().scaling
SEGMENTS = ("micro", "tech_startup", "tech_growth")

money = st.floats(0.0, 5e7, allow_nan=False)
maybe = st.one_of(st.just(np.nan), st.floats(-5.0, 60.0, allow_nan=False),
                  st.sampled_from([0.0, 1.0, 2.0, 3.0]))
# a firm no rule stops, then up to four rule inputs drawn anywhere (NaN included)
CLEAN = {**dict.fromkeys(policy_features(POLICY), 0.0), "tax_paid_months_3m": 3.0,
         "tax_history_months_all": 36.0}
row = st.fixed_dictionaries({
    "features": st.dictionaries(st.sampled_from(sorted(CLEAN)), maybe, max_size=4).map(
        lambda changed: {**CLEAN, **changed}),
    "tax_grade": st.one_of(st.just(np.nan),
                           st.integers(1, len(TAX_GRADES)).map(float)),
    "tax_paid": st.one_of(st.floats(2e5, 5e6), money),
    "inv_sales": st.one_of(st.floats(1e6, 3e7), st.floats(-1e6, 5e7)),
    "logit": st.one_of(st.floats(-8.0, -3.0), st.floats(-9.0, 3.0)),
    "product": st.sampled_from(sorted(POLICY.products)),
    "segment": st.sampled_from(SEGMENTS), "tier": st.sampled_from(TIER_NAMES),
    "amount": st.one_of(st.floats(3e5, 1e7), st.floats(1e4, 1e7)),
    "pledge": st.one_of(st.just(0.0), money),
})


def _inputs(rows: list[dict]) -> PolicyInputs:
    feats = {name: np.array([r["features"][name] for r in rows])
             for name in policy_features(POLICY)}
    feats.update(tax_grade_now=np.array([r["tax_grade"] for r in rows]),
                 tax_paid_sum_24m=np.array([r["tax_paid"] for r in rows]),
                 inv_sales_net_12m=np.array([r["inv_sales"] for r in rows]))

    def objects(key: str) -> np.ndarray:
        return np.array([r[key] for r in rows], dtype=object)

    return PolicyInputs(features=feats, segment=objects("segment"),
                        logit=np.array([r["logit"] for r in rows]), product=objects("product"),
                        amount_cny=np.array([r["amount"] for r in rows]),
                        innovation_tier=objects("tier"),
                        pledge_value_cny=np.array([r["pledge"] for r in rows]))


def _oracle(r: dict, knocked_out: bool) -> dict:
    """One row's limit, rate, binding limit term, whether the rate was raised to the risk
    minimum and whether the offer is reduced, by the formulas of DOMAIN.md."""
    lim, rt = POLICY.limit, POLICY.rate
    product = POLICY.products[r["product"]]
    prob = 1.0 / (1.0 + np.exp(-np.float64(r["logit"])))
    rank = min(next((k for k, b in enumerate(POLICY.risk_grades) if prob <= b.pd_max),
                    len(RISK_GRADES) - 1), len(RISK_GRADES) - 1)
    grade = "M" if math.isnan(r["tax_grade"]) else TAX_GRADES[int(r["tax_grade"]) - 1]
    terms = {"LIMIT_PRODUCT_CAP": product.cap_cny,
             "LIMIT_TAX_MULTIPLE": lim.tax_multiple_by_grade[grade] * r["tax_paid"] / 2.0,
             "LIMIT_INVOICE_SALES": lim.invoice_sales_ratio * max(r["inv_sales"], 0.0),
             "LIMIT_RISK_GRADE_CAP": lim.cap_by_risk_grade_cny[RISK_GRADES[rank]]}
    binding = min(terms, key=terms.__getitem__)  # the first smallest
    uplift = r["pledge"] if product.pledge and r["segment"] in lim.pledge_segments else 0.0
    offered = min(terms[binding] + uplift, product.cap_cny, r["amount"])
    limit = math.floor(offered / lim.rounding_cny) * lim.rounding_cny
    discount = (rt.innovation_discount_annual[r["tier"]]
                if r["segment"] in rt.discount_segments else 0.0)
    spread = rt.spread_by_risk_grade_annual[RISK_GRADES[rank]]
    priced = min(max(rt.lpr_1y_annual + spread - discount, product.rate_floor_annual),
                 product.rate_ceiling_annual)
    risk_min = (rt.cost_of_funds_annual + prob * rt.lgd + rt.operating_cost_annual
                + rt.capital_charge_annual)
    step = 10.0 ** rt.decimals
    rate = min(math.ceil(np.round(max(priced, risk_min) * step, 6)) / step,
               product.rate_ceiling_annual)
    best = min(max(rt.lpr_1y_annual + rt.spread_by_risk_grade_annual[RISK_GRADES[0]]
                   - discount, product.rate_floor_annual), product.rate_ceiling_annual)
    above = risk_min > product.rate_ceiling_annual
    out = {"binding": binding, "raised": risk_min > priced and not above,
           "uplift": uplift > 0}
    if knocked_out or limit < product.amount_min_cny or above:
        return {**out, "limit": 0.0, "rate": math.nan, "reduced": False}
    return {**out, "limit": limit, "rate": rate,
            "reduced": limit < r["amount"] or rate > best + 0.5 / step}


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=6))
def test_limit_and_rate_follow_the_formulas_row_by_row(rows: list[dict]) -> None:
    out = apply_policy(COMPILED, _inputs(rows), SCALING)
    for i, r in enumerate(rows):
        knocked = any(rule in out.rules[i] for rule in COMPILED.rule_ids[:COMPILED.knockouts])
        want = _oracle(r, knocked)
        limit, rate = want["limit"], want["rate"]
        assert out.limit_cny[i] == pytest.approx(limit, rel=1e-12, abs=1e-6)
        assert (math.isnan(rate) and math.isnan(out.rate_annual[i])) or \
            out.rate_annual[i] == pytest.approx(rate, abs=1e-12)
        assert (out.outcome[i] == "decline") == math.isnan(rate)
        assert bool(out.reduced[i]) == want["reduced"]
        assert ("RATE_RISK_MINIMUM" in out.rules[i]) == want["raised"]
        assert ("LIMIT_PLEDGE_UPLIFT" in out.rules[i]) == want["uplift"]
        if out.outcome[i] != "decline" and limit < r["amount"]:
            assert want["binding"] in out.rules[i]


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=6))
def test_rules_grouped_by_operator_fire_as_each_condition_does(rows: list[dict]) -> None:
    inputs = _inputs(rows)
    out = apply_policy(COMPILED, inputs, SCALING)
    logit = inputs.logit
    prob = 1.0 / (1.0 + np.exp(-logit))
    columns = {**inputs.features, "prob_default": prob,
               "risk_grade_rank": np.array([RISK_GRADES.index(g) + 1.0
                                            for g in out.risk_grade]),
               "fraud_flag_count": sum((np.asarray(inputs.features[f]) > 0).astype(float)
                                       for f in POLICY.fraud_flags)}
    for rule in [*POLICY.knockouts, *POLICY.refer]:
        holds = np.logical_and.reduce([c.holds(columns) for c in rule.when])
        fired = np.array([rule.id in r for r in out.rules])
        assert (holds == fired).all(), rule.id


@pytest.mark.parametrize(("field", "value", "message"), [
    ("tax_paid_sum_24m", np.nan, "a limit input is NaN"),
    ("inv_sales_net_12m", np.nan, "a limit input is NaN"),
    ("tax_grade_now", 0.0, "tax_grade_now is not a tax grade ordinal"),
    ("tax_grade_now", 2.5, "tax_grade_now is not a tax grade ordinal"),
    ("tax_grade_now", len(TAX_GRADES) + 1.0, "tax_grade_now is not a tax grade ordinal"),
])
def test_an_impossible_limit_input_is_a_model_error(field: str, value: float,
                                                    message: str) -> None:
    base = {"features": CLEAN, "tax_grade": 1.0,
            "tax_paid": 1e5, "inv_sales": 1e6, "logit": -4.0, "product": "tax_loan",
            "segment": "micro", "tier": "C", "amount": 1e6, "pledge": 0.0}
    inputs = _inputs([base, base])
    inputs.features[field][1] = value
    with pytest.raises(ModelError, match=f"row 1: {message}"):
        apply_policy(COMPILED, inputs, SCALING)


def test_missing_policy_features_are_named_in_policy_order() -> None:
    base = {"features": CLEAN, "tax_grade": 1.0, "tax_paid": 1e5, "inv_sales": 1e6,
            "logit": -4.0, "product": "tax_loan", "segment": "micro", "tier": "C",
            "amount": 1e6, "pledge": 0.0}
    inputs = _inputs([base])
    gone = [COMPILED.features[-1], COMPILED.features[0]]
    for name in gone:
        del inputs.features[name]
    with pytest.raises(InvalidInputError) as caught:
        apply_policy(COMPILED, inputs, SCALING)
    assert [p[2] for p in caught.value.problems] == sorted(gone, key=COMPILED.features.index)


def test_warm_up_compiles_the_one_signature_every_call_uses() -> None:
    from techcredit.decision.policy import (
        _grade_and_score,
        _limit_and_rate,
        _pattern_bits,
        _rule_hits,
    )

    kernels = (_limit_and_rate, _rule_hits, _grade_and_score, _pattern_bits)
    COMPILED.warm_up(SCALING)
    assert [len(k.signatures) for k in kernels] == [1, 1, 1, 1]
    base = {"features": CLEAN, "tax_grade": 1.0, "tax_paid": 1e5, "inv_sales": 1e6,
            "logit": -4.0, "product": "tax_loan", "segment": "micro", "tier": "C",
            "amount": 1e6, "pledge": 0.0}
    for n in (1, 3):
        out = apply_policy(COMPILED, _inputs([base] * n), SCALING)
        assert out.outcome.tolist() == ["approve"] * n
    assert [len(k.signatures) for k in kernels] == [1, 1, 1, 1]


@settings(max_examples=100, deadline=None)
@given(logit=st.lists(st.one_of(st.floats(-30, 30), st.just(np.nan), st.just(0.0)),
                      min_size=1, max_size=12))
def test_risk_grade_and_score_equal_numpys_searchsorted_and_round(logit: list[float]) -> None:
    from techcredit.decision.policy import _grade_and_score, score_points

    x = np.array(logit)
    prob = 1.0 / (1.0 + np.exp(-x))
    pd_max = np.r_[COMPILED.pd_max[:-1], np.clip(prob[:1], 0, 1)]  # a bound on a PD too
    pd_max.sort()
    rank, score = np.empty(x.size, dtype=np.intp), np.empty(x.size)
    _grade_and_score(prob, x, pd_max, float(SCALING.offset), float(SCALING.factor), rank,
                     score)
    expected = np.minimum(np.searchsorted(pd_max, prob, side="left"), pd_max.size - 1)
    assert rank.tolist() == expected.tolist()
    np.testing.assert_array_equal(score, score_points(x, SCALING))
