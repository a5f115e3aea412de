"""Tests of techcredit.modeling.Scorecard: fitting, selection, scoring, state, errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techcredit.config.scorecard import ScorecardSpec, load_scorecard_spec
from techcredit.exceptions import ConfigError, InvalidInputError, ModelError
from techcredit.modeling import Scorecard
from techcredit.modeling.scorecard import STATE_FORMAT

INDUSTRIES = ["software", "biotech", "retail", "manufacturing"]
SPECIAL_CODE = -999.0


def make_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Synthetic applicants with a known logistic truth, missing and special values."""
    rng = np.random.default_rng(seed)
    tax = rng.gamma(2.0, 50_000, n)
    age = rng.uniform(0, 20, n)
    industry = rng.choice(INDUSTRIES, n, p=[0.3, 0.2, 0.3, 0.2])
    logit = (-1.2 - tax / 80_000 - 0.08 * age
             + pd.Series(industry).map({"software": -0.3, "biotech": 0.0, "retail": 0.8,
                                        "manufacturing": 0.2}).to_numpy())
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    frame = pd.DataFrame({
        "tax_paid_sum_12m": tax,
        "tax_paid_sum_12m_copy": tax * 1.01 + rng.normal(0, 40_000, n),
        "firm_age_years": age,
        "industry": industry,
        "noise_index": rng.normal(size=n),
    })
    frame.loc[rng.random(n) < 0.05, "tax_paid_sum_12m"] = np.nan
    frame.loc[rng.random(n) < 0.03, "tax_paid_sum_12m"] = SPECIAL_CODE
    frame.loc[rng.random(n) < 0.02, "industry"] = None
    return frame, y


def spec_with(**sections: dict) -> ScorecardSpec:
    """The YAML spec with some fields of its sections replaced."""
    spec = load_scorecard_spec()
    update = {name: getattr(spec, name).model_copy(update=fields)
              for name, fields in sections.items()}
    return spec.model_copy(update=update)


SPECIALS = {"special_values": {"tax_paid_sum_12m": {"no_filing": [SPECIAL_CODE]}}}
TRENDS = {"tax_paid_sum_12m": -1, "tax_paid_sum_12m_copy": -1, "firm_age_years": -1}


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return make_frame(5_000, seed=11)


@pytest.fixture(scope="module")
def card(data) -> Scorecard:
    feats, y = data
    return Scorecard(spec_with(binning=SPECIALS), monotonic_trend=TRENDS).fit(feats, y)


@pytest.fixture(scope="module")
def card_raise(data) -> Scorecard:
    feats, y = data
    spec = spec_with(binning=SPECIALS, policies={"unseen_category": "raise"})
    return Scorecard(spec, monotonic_trend=TRENDS).fit(feats, y)


# ------------------------------------------------------------------ fitting
def test_fit_returns_self_and_stores_only_params() -> None:
    est = Scorecard(monotonic_trend={"a": 1})
    assert est.monotonic_trend == {"a": 1}
    assert not hasattr(est, "features_")
    with pytest.raises(ModelError, match="not fitted"):
        est.points(pd.DataFrame({"a": [1.0]}))


def test_selection_records_every_feature_and_reason(card) -> None:
    sel = card.selection_.set_index("feature")
    assert set(sel.index) == {"tax_paid_sum_12m", "tax_paid_sum_12m_copy", "firm_age_years",
                              "industry", "noise_index"}
    assert list(card.selection_.columns) == ["feature", "kind", "n_bins", "iv", "kept", "step",
                                             "reason"]
    # the copy and the original are correlated: exactly one of them survives
    pair = sel.loc[["tax_paid_sum_12m", "tax_paid_sum_12m_copy"]]
    assert pair.kept.sum() == 1
    assert set(pair.step) == {"", "correlation"}
    assert "with tax_paid_sum_12m" in " ".join(pair.reason)
    dropped = sel[~sel.kept]
    assert (dropped.reason != "").all()
    assert set(dropped.step) <= {"iv", "correlation", "vif", "sign", "p_value", "max_features"}
    assert sel.loc["industry", "kind"] == "categorical"
    assert {"firm_age_years", "industry"} <= set(card.features_)


def test_noise_feature_dropped_by_iv_threshold(data) -> None:
    feats, y = data
    spec = spec_with(binning=SPECIALS, selection={"min_iv": 0.05})
    fitted = Scorecard(spec, features=["noise_index", "firm_age_years"]).fit(feats, y)
    row = fitted.selection_.set_index("feature").loc["noise_index"]
    assert not row.kept
    assert row.step == "iv"
    assert "< min_iv 0.05" in row.reason


def test_coefficients_positive_and_match_sklearn(card, data) -> None:
    from sklearn.linear_model import LogisticRegression

    feats, y = data
    assert (card.coef_ > 0).all()
    woe = card.contributions(feats)[card.features_].to_numpy() / card.coef_
    l2 = card.spec_.regression.l2_penalty
    ref = LogisticRegression(C=1 / l2 if l2 > 0 else np.inf, tol=1e-12, max_iter=10_000)
    ref.fit(woe, y)
    np.testing.assert_allclose(card.coef_, ref.coef_[0], rtol=1e-4)
    assert card.intercept_ == pytest.approx(ref.intercept_[0], abs=1e-4)
    # Wald standard errors from the Fisher information at the estimate
    design = np.column_stack([np.ones(len(y)), woe])
    p = ref.predict_proba(woe)[:, 1]
    penalty = np.diag([0.0, *[l2] * len(card.coef_)])
    cov = np.linalg.inv((design * (p * (1 - p))[:, None]).T @ design + penalty)
    np.testing.assert_allclose(card.std_err_, np.sqrt(np.diag(cov))[1:], rtol=1e-3)


def test_feature_table_has_coef_pvalue_vif(card) -> None:
    table = card.table("feature")
    assert list(table.feature) == card.features_
    for col in ("coef", "std_err", "p_value", "vif", "iv"):
        assert np.isfinite(table[col]).all(), col
    assert ((table.p_value >= 0) & (table.p_value <= 1)).all()
    assert (table.vif >= 1).all()
    assert (table.vif <= card.spec_.selection.max_vif).all()


def test_wrong_sign_feature_dropped_and_refit() -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    x1 = rng.normal(size=n)
    x2 = x1 + rng.normal(0, 0.6, n)  # univariately risky, partially protective
    y = (rng.random(n) < 1 / (1 + np.exp(-(2.0 * x1 - 1.0 * x2)))).astype(int)
    feats = pd.DataFrame({"x1": x1, "x2": x2})
    spec = spec_with(selection={"max_abs_corr": 1.0, "max_vif": 1e9, "min_iv": 0.0})
    fitted = Scorecard(spec, monotonic_trend={"x1": 1, "x2": 1}).fit(feats, y)
    sel = fitted.selection_.set_index("feature")
    assert sel.loc["x2", "step"] == "sign"
    assert "not positive" in sel.loc["x2", "reason"]
    assert fitted.features_ == ["x1"]
    assert (fitted.coef_ > 0).all()


def test_max_p_value_backward_elimination(data) -> None:
    feats, y = data
    spec = spec_with(binning=SPECIALS, selection={"min_iv": 0.0, "max_p_value": 1e-3})
    fitted = Scorecard(spec, monotonic_trend=TRENDS).fit(feats, y)
    assert (fitted.p_value_ <= 1e-3).all()
    steps = fitted.selection_.step
    assert "noise_index" not in fitted.features_
    assert set(steps) <= {"", "iv", "correlation", "vif", "sign", "p_value"}


@pytest.mark.parametrize(("direction", "trend"), [(1, "ascending"), (-1, "descending")])
def test_monotonic_trend_from_direction(data, direction, trend) -> None:
    feats, y = data
    fitted = Scorecard(features=["firm_age_years", "industry"],
                       monotonic_trend={"firm_age_years": direction}).fit(feats, y)
    bins = fitted.binning_["firm_age_years"]
    woe = np.diff(bins.woe[: bins.n_regular])
    assert (woe >= 0).all() if direction == 1 else (woe <= 0).all()
    assert fitted.trend_["firm_age_years"] == trend
    assert fitted.trend_["industry"] == fitted.spec_.binning.default_monotonic_trend


def test_trend_string_and_bad_trend(data) -> None:
    feats, y = data
    fitted = Scorecard(features=["firm_age_years"],
                       monotonic_trend={"firm_age_years": "descending"}).fit(feats, y)
    assert fitted.trend_["firm_age_years"] == "descending"
    with pytest.raises(InvalidInputError) as err:
        Scorecard(features=["firm_age_years"], monotonic_trend={"firm_age_years": 3}).fit(feats, y)
    assert "monotonic_trend.firm_age_years" in err.value.fields


def test_missing_and_special_bins(card, data) -> None:
    feats, _ = data
    table = card.table()
    rows = table[table.feature == "tax_paid_sum_12m"].set_index("bin")
    assert rows.loc["missing", "count"] == feats.tax_paid_sum_12m.isna().sum()
    assert rows.loc["no_filing", "count"] == (feats.tax_paid_sum_12m == SPECIAL_CODE).sum()
    assert rows.loc["no_filing", "bin_kind"] == "special"
    ind = table[table.feature == "industry"].set_index("bin_kind")
    assert ind.loc["missing", "count"] == feats.industry.isna().sum()
    assert ind.loc["other", "count"] == 0
    assert rows["count"].sum() == len(feats)


def test_user_fixed_cut_points_and_groups(data) -> None:
    feats, y = data
    spec = spec_with(binning={"user_splits": {"firm_age_years": [2.0, 5.0, 10.0]},
                              "user_groups": {"industry": [["software", "biotech"],
                                                           ["retail", "manufacturing"]]}},
                     selection={"min_iv": 0.0})
    fitted = Scorecard(spec, features=["firm_age_years", "industry"]).fit(feats, y)
    age = fitted.binning_["firm_age_years"]
    assert age.splits == [2.0, 5.0, 10.0]
    assert age.labels[:4] == ["(-inf, 2)", "[2, 5)", "[5, 10)", "[10, inf)"]
    assert fitted.binning_["industry"].groups == [["software", "biotech"],
                                                  ["retail", "manufacturing"]]


def test_spec_rejects_bad_values(tmp_path) -> None:
    text = (load_scorecard_spec().model_dump_json())
    data = json.loads(text)
    data["scaling"]["pdo"] = -5
    data["binning"]["user_splits"] = {"x": [3.0, 1.0]}
    import yaml

    (tmp_path / "scorecard.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_scorecard_spec(tmp_path)
    assert "scaling.pdo" in str(err.value)
    assert "user_splits.x" in str(err.value)


# ------------------------------------------------------------------ scoring
def test_points_scaling_follows_pdo_and_base_odds(card, data) -> None:
    feats, _ = data
    s = card.spec_.scaling
    factor = s.pdo / math.log(2)
    logit = card.decision_function(feats)
    expected = s.base_points - factor * math.log(s.base_odds) - factor * logit
    np.testing.assert_allclose(card.points(feats).to_numpy(), expected, rtol=0, atol=1e-9)
    # odds doubling = PDO points: two rows whose logits differ by ln 2
    assert factor * math.log(2) == pytest.approx(s.pdo)


def test_table_columns_and_points_add_up(card, data) -> None:
    feats, _ = data
    table = card.table()
    assert list(table.columns) == ["feature", "bin_index", "bin", "bin_kind", "count",
                                   "count_share", "event", "nonevent", "event_rate", "woe",
                                   "iv", "coef", "contribution", "points"]
    by_feature = card.points(feats, by_feature=True)
    total = np.zeros(len(feats))
    for feature in card.features_:
        pts = table[table.feature == feature].set_index("bin_index").points
        idx, _ = card.binning_[feature].index(
            feats[feature].to_numpy(dtype=object if feature == "industry" else float))
        np.testing.assert_array_equal(pts.to_numpy()[idx], by_feature[feature].to_numpy())
        total += pts.to_numpy()[idx]
    np.testing.assert_array_equal(total, card.points(feats).to_numpy())
    np.testing.assert_array_equal(by_feature["total"].to_numpy(), total)
    iv_sum = table.groupby("feature").iv.sum()
    for feature in card.features_:
        assert iv_sum[feature] == pytest.approx(card.binning_[feature].iv)


def test_riskier_rows_get_fewer_points(card, data) -> None:
    feats, _ = data
    prob = card.predict_proba(feats)[:, 1]
    pts = card.points(feats).to_numpy()
    order = np.argsort(prob)
    assert (np.diff(pts[order]) <= 1e-9).all()
    assert card.predict_proba(feats).shape == (len(feats), 2)
    np.testing.assert_allclose(card.predict_proba(feats).sum(axis=1), 1.0)


def test_contributions_sum_to_logit(card, data) -> None:
    feats, _ = data
    contrib = card.contributions(feats)
    assert list(contrib.columns) == [*card.features_, "bias"]
    logit = card.decision_function(feats)
    running = contrib["bias"].to_numpy().copy()
    for feature in card.features_:
        running += contrib[feature].to_numpy()
    np.testing.assert_array_equal(running, logit)
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), logit, rtol=0, atol=1e-12)
    assert (contrib.index == feats.index).all()


def test_points_decimals_rounds_each_bin(data) -> None:
    feats, y = data
    spec = spec_with(binning=SPECIALS, scaling={"points_decimals": 0})
    fitted = Scorecard(spec, monotonic_trend=TRENDS).fit(feats, y)
    table = fitted.table()
    np.testing.assert_array_equal(table.points, np.round(table.points))
    total = fitted.points(feats)
    np.testing.assert_array_equal(total, np.round(total))


# -------------------------------------------------------------------- state
def test_json_round_trip_identical(card, data) -> None:
    feats, _ = data
    state = json.loads(json.dumps(card.to_dict()))
    assert state["format"] == STATE_FORMAT
    assert state["spec"]["scaling"] == card.spec_.scaling.model_dump()
    assert state["techcredit_version"]
    clone = Scorecard.from_dict(state)
    np.testing.assert_array_equal(clone.predict_proba(feats), card.predict_proba(feats))
    np.testing.assert_array_equal(clone.points(feats), card.points(feats))
    pd.testing.assert_frame_equal(clone.table(), card.table())
    pd.testing.assert_frame_equal(clone.contributions(feats), card.contributions(feats))
    pd.testing.assert_frame_equal(clone.table("feature"), card.table("feature"))
    assert clone.to_sql("t") == card.to_sql("t")
    assert json.dumps(clone.to_dict()) == json.dumps(card.to_dict())


@pytest.mark.parametrize("breakage", ["format", "bins", "coef"])
def test_from_dict_rejects_malformed_state(card, breakage) -> None:
    state = json.loads(json.dumps(card.to_dict()))
    if breakage == "format":
        state["format"] = "pickle"
    elif breakage == "bins":
        state["bins"][0]["woe"] = state["bins"][0]["woe"][:-1]
    else:
        state["coef"] = state["coef"][:-1]
    with pytest.raises(ModelError):
        Scorecard.from_dict(state)


def test_one_row_and_batch_identical(card, data) -> None:
    feats, _ = data
    sample = feats.iloc[:400]
    batch_points = card.points(sample).to_numpy()
    batch_prob = card.predict_proba(sample)[:, 1]
    batch_logit = card.decision_function(sample)
    for i, row in enumerate(sample.to_dict(orient="records")):
        scored = card.score_row(row)
        assert scored.points == batch_points[i]
        assert scored.prob_default == batch_prob[i]
        assert scored.logit == batch_logit[i]
        one = card.points(sample.iloc[[i]]).iloc[0]
        assert one == batch_points[i]


row_values = st.fixed_dictionaries({
    "tax_paid_sum_12m": st.one_of(st.none(), st.just(math.nan), st.just(SPECIAL_CODE),
                                  st.floats(-1e6, 1e7, allow_nan=False),
                                  st.integers(0, 10**6)),
    "tax_paid_sum_12m_copy": st.floats(0, 1e6),
    "firm_age_years": st.one_of(st.none(), st.floats(-5, 40, allow_nan=False)),
    "industry": st.one_of(st.none(), st.just(pd.NA),
                          st.sampled_from([*INDUSTRIES, "space_mining"])),
    "noise_index": st.floats(-3, 3),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row_values, min_size=1, max_size=5))
def test_property_row_path_equals_batch(card, rows) -> None:
    frame = pd.DataFrame(rows)
    frame["industry"] = frame["industry"].astype(object)
    for col in ("tax_paid_sum_12m", "firm_age_years"):
        frame[col] = pd.to_numeric(frame[col], errors="raise").astype(float)
    batch = card.points(frame).to_numpy()
    prob = card.predict_proba(frame)[:, 1]
    for i, row in enumerate(rows):
        scored = card.score_row(row)
        assert scored.points == batch[i]
        assert scored.prob_default == prob[i]


NUMERIC = ["tax_paid_sum_12m", "tax_paid_sum_12m_copy", "firm_age_years", "noise_index"]


@pytest.fixture(scope="module")
def numeric_card(data) -> Scorecard:
    feats, y = data
    card = Scorecard(spec_with(binning=SPECIALS), monotonic_trend=TRENDS,
                     features=NUMERIC).fit(feats, y)
    # the special-code path is exercised
    assert "tax_paid_sum_12m" in card.features_
    assert card.binning_["tax_paid_sum_12m"].special
    return card


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.sampled_from([1, 3, 64, 65]))
def test_contributions_ordered_equals_the_per_feature_lookup(numeric_card, data, n) -> None:
    card = numeric_card
    # values on the cut points themselves (side="right"), special codes, NaN and others
    pools = [st.sampled_from([math.nan, SPECIAL_CODE, *card.binning_[f].splits])
             | st.floats(-1e7, 1e7) for f in card.features_]
    rows = [[data.draw(pool) for pool in pools] for _ in range(n)]
    X = np.array(rows, dtype=np.float64).reshape(n, len(card.features_))  # noqa: N806
    expected = card.contributions_array(dict(zip(card.features_, X.T, strict=True)))
    np.testing.assert_array_equal(card.contributions_ordered(X), expected)


def test_contributions_ordered_names_infinite_features(numeric_card) -> None:
    X = np.zeros((2, len(numeric_card.features_)))  # noqa: N806
    X[1, 2] = np.inf
    with pytest.raises(InvalidInputError, match=numeric_card.features_[2]):
        numeric_card.contributions_ordered(X)
    with pytest.raises(InvalidInputError, match="columns in features_ order"):
        numeric_card.contributions_ordered(X[:, :2])


def test_score_row_is_fast(card, data) -> None:
    feats, _ = data
    row = feats.iloc[3].to_dict()
    card.score_row(row)
    times = []
    for _ in range(2_000):
        t0 = time.perf_counter()
        card.score_row(row)
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 200e-6  # target 50 us; slack for a shared machine


# --------------------------------------------------------- unseen categories
def test_unseen_category_other_policy_scores_and_flags(card, data) -> None:
    feats, _ = data
    frame = feats.iloc[:3].copy()
    frame["industry"] = ["space_mining", "software", None]
    flags = card.unseen_categories(frame)
    assert flags["industry"].tolist() == [True, False, False]
    contrib = card.contributions(frame)["industry"]
    bins = card.binning_["industry"]
    coef = card.coef_[card.features_.index("industry")]
    assert contrib.iloc[0] == coef * bins.woe[bins.other_index]
    assert bins.woe[bins.other_index] == max(bins.woe[: bins.n_regular])  # worst policy
    assert contrib.iloc[0] != contrib.iloc[2]  # not the missing bin
    scored = card.score_row(frame.iloc[0].to_dict())
    assert scored.unseen == ("industry",)
    assert scored.points == card.points(frame).iloc[0]


def test_unseen_category_raise_policy(card_raise, data) -> None:
    feats, _ = data
    frame = feats.iloc[:3].copy()
    frame["industry"] = ["software", "space_mining", None]
    with pytest.raises(InvalidInputError, match="space_mining") as err:
        card_raise.points(frame)
    assert err.value.fields == [f"X[{frame.index[1]}].industry"]
    with pytest.raises(InvalidInputError, match="space_mining"):
        card_raise.score_row(frame.iloc[1].to_dict())
    assert card_raise.points(frame.iloc[[0, 2]]).notna().all()


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda feats, y: (feats.assign(when=pd.Timestamp("2024-01-01")), y), "X.when", "dtype"),
        (lambda feats, y: (feats.assign(empty=np.nan), y), "X.empty", "all values are missing"),
        (lambda feats, y: (feats, np.where(y == 1, 2, 0)), "y[", "must be 0 or 1"),
        (lambda feats, y: (feats, np.zeros_like(y)), "y", "single class"),
        (lambda feats, y: (feats, np.where(np.arange(len(y)) == 7, np.nan, y)), "y[7]", "NaN"),
        (lambda feats, y: (feats, np.where(np.arange(len(y)) == 7, np.inf, y)), "y[7]", "infinite"),
        (lambda feats, y: (feats, y[:-1]), "y", "length"),
        (lambda feats, y: (feats, np.array(["a"] * len(y))), "y", "numeric"),
        (lambda feats, y: (feats.to_numpy(), y), "X", "DataFrame"),
        (lambda feats, y: (feats.assign(firm_age_years=np.inf), y), "X[0].firm_age_years",
         "infinite"),
    ],
)
def test_fit_rejects_bad_input(data, mutate, field, message) -> None:
    feats, y = data
    bad_feats, bad_y = mutate(feats.iloc[:300].reset_index(drop=True), y[:300])
    with pytest.raises(InvalidInputError, match=message) as err:
        Scorecard().fit(bad_feats, bad_y)
    assert any(f.startswith(field) for f in err.value.fields), err.value.fields


def test_fit_names_missing_requested_feature(data) -> None:
    feats, y = data
    with pytest.raises(InvalidInputError) as err:
        Scorecard(features=["firm_age_years", "revenue_cny"]).fit(feats, y)
    assert err.value.fields == ["X.revenue_cny"]


def test_scoring_rejects_bad_input(card, data) -> None:
    feats, _ = data
    with pytest.raises(InvalidInputError) as err:
        card.points(feats.drop(columns=["firm_age_years", "industry"]))
    assert sorted(err.value.fields) == ["X.firm_age_years", "X.industry"]
    wrong = feats.iloc[:5].astype({"firm_age_years": object})
    wrong.loc[wrong.index[2], "firm_age_years"] = "ten"
    with pytest.raises(InvalidInputError, match="expected numbers") as err:
        card.predict_proba(wrong)
    assert err.value.fields == [f"X[{wrong.index[2]}].firm_age_years"]
    text = feats.iloc[:5].assign(firm_age_years="10")
    with pytest.raises(InvalidInputError, match="wrong dtype"):
        card.contributions(text)
    row = feats.iloc[0].to_dict()
    with pytest.raises(InvalidInputError) as err:
        card.score_row({k: v for k, v in row.items() if k != "firm_age_years"})
    assert err.value.fields == ["row.firm_age_years"]
    with pytest.raises(InvalidInputError, match="expected a number"):
        card.score_row({**row, "firm_age_years": "10"})
    with pytest.raises(InvalidInputError, match="infinite"):
        card.score_row({**row, "firm_age_years": math.inf})


def test_numbers_in_object_column_are_accepted(card, data) -> None:
    feats, _ = data
    frame = feats.iloc[:20].astype({"firm_age_years": object})
    np.testing.assert_array_equal(card.points(frame), card.points(feats.iloc[:20]))


# -------------------------------------------------------------- import cost
def test_scoring_path_imports_no_heavy_library(card, tmp_path) -> None:
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card.to_dict()))
    code = f"""
import json, sys
import numpy as np, pandas as pd
import techcredit.modeling
from techcredit.modeling.scorecard import Scorecard
card = Scorecard.from_dict(json.loads(open({str(path)!r}).read()))
row = {{"tax_paid_sum_12m": 1.0e5, "tax_paid_sum_12m_copy": 1.0e5, "firm_age_years": 3.0,
        "industry": "retail", "noise_index": 0.0}}
card.points(pd.DataFrame([row])); card.score_row(row); card.to_sql("t"); card.table()
heavy = sorted(m for m in ("optbinning", "ortools", "matplotlib", "shap", "mlflow", "sklearn",
                           "scipy", "xgboost") if m in sys.modules)
print(",".join(heavy))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == ""


def test_the_few_row_lookup_compiles_once(numeric_card) -> None:
    from techcredit.modeling._lookup import lookup

    k = len(numeric_card.features_)
    for n in (0, 1, 5):
        numeric_card.contributions_ordered(np.zeros((n, k)))
    assert len(lookup.signatures) == 1
