"""Tests of techcredit.modeling.metrics: known values, references, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import ks_2samp
from sklearn.metrics import brier_score_loss, roc_auc_score

from techcredit.exceptions import InvalidInputError
from techcredit.modeling import metrics


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3_000)
    score = np.round(y * 0.7 + rng.normal(0, 1, 3_000), 1)  # rounded: many ties
    return y, score


def test_auc_matches_sklearn_with_ties(scored) -> None:
    y, score = scored
    assert metrics.auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert metrics.gini(y, score) == pytest.approx(2 * roc_auc_score(y, score) - 1, abs=1e-12)


def test_auc_known_values() -> None:
    assert metrics.auc([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert metrics.auc([0, 0, 1, 1], [4, 3, 2, 1]) == 0.0
    assert metrics.auc([0, 1], [5, 5]) == 0.5


def test_ks_matches_two_sample_statistic(scored) -> None:
    y, score = scored
    ref = ks_2samp(score[y == 1], score[y == 0]).statistic
    assert metrics.ks(y, score) == pytest.approx(ref, abs=1e-12)


def test_ks_hand_computed() -> None:
    # events at 2 and 5; non-events at 1, 2, 3.  Cumulative shares at the distinct
    # scores 1, 2, 3, 5: events 0, .5, .5, 1; non-events 1/3, 2/3, 1, 1 -> max gap .5
    assert metrics.ks([0, 0, 0, 1, 1], [1, 2, 3, 2, 5]) == 0.5
    assert metrics.ks([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0


def test_brier_matches_sklearn(scored) -> None:
    y, score = scored
    prob = 1 / (1 + np.exp(-score))
    assert metrics.brier(y, prob) == pytest.approx(brier_score_loss(y, prob), abs=1e-15)
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        metrics.brier([0, 1], [0.5, 1.5])


def test_iv_hand_computed() -> None:
    # a: 1 event, 1 non-event; b: 0 events, 2 non-events; smoothing 0.5, 2 bins
    woe_a = np.log((1.5 / 2) / (1.5 / 4))
    woe_b = np.log((0.5 / 2) / (2.5 / 4))
    expected = (1 - 1 / 3) * woe_a + (0 - 2 / 3) * woe_b
    assert metrics.iv(["a", "a", "b", "b"], [1, 0, 0, 0]) == pytest.approx(expected)
    assert metrics.iv(["a", None, "b", None], [1, 0, 0, 1]) >= 0


def test_psi_known_value() -> None:
    expected = ["a"] * 50 + ["b"] * 50
    actual = ["a"] * 80 + ["b"] * 20
    value = 0.3 * np.log(0.8 / 0.5) + (-0.3) * np.log(0.2 / 0.5)
    assert metrics.psi(expected, actual) == pytest.approx(value)


def test_psi_numeric_bins_from_expected_quantiles() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=10_000)
    shifted = base + 0.5
    table = metrics.psi_table(base, shifted, bins=10)
    assert len(table) == 10
    assert table.expected_share.to_numpy() == pytest.approx(np.full(10, 0.1), abs=1e-3)
    assert metrics.psi(base, shifted) > metrics.psi(base, base + 0.1) > 0
    with_missing = np.where(rng.random(10_000) < 0.1, np.nan, base)
    assert "missing" in metrics.psi_table(base, with_missing).index


def test_psi_noise_is_the_null_95th_percentile() -> None:
    # equal distributions: the excess is zero about 95 % of the time, whatever the sizes
    rng = np.random.default_rng(5)
    for n_train, n_val in ((5000, 112), (20_000, 2000)):
        over = [metrics.psi_summary(rng.normal(size=n_train), rng.normal(size=n_val),
                                    draws=400)["psi_excess"] > 0 for _ in range(150)]
        assert 0.005 < np.mean(over) < 0.12
    small = metrics.psi_summary(rng.normal(size=5000), rng.normal(size=112))
    large = metrics.psi_summary(rng.normal(size=5000), rng.normal(size=5000))
    assert small["psi_noise"] > 5 * large["psi_noise"]


def test_psi_excess_keeps_a_real_shift() -> None:
    rng = np.random.default_rng(6)
    base = rng.normal(size=20_000)
    out = metrics.psi_summary(base, rng.normal(loc=0.5, size=5000))
    assert out["psi_excess"] == pytest.approx(out["psi"] - out["psi_noise"])
    assert out["psi_excess"] > 0.8 * out["psi"] > 0.1
    # repeated values: fewer bins, and the noise follows the bins actually used
    coarse = metrics.psi_summary(rng.integers(0, 3, 5000), rng.integers(0, 3, 200))
    assert coarse["psi_bins"] == 3.0
    assert coarse["psi_noise"] < metrics.psi_summary(
        rng.normal(size=5000), rng.normal(size=200))["psi_noise"]
    assert metrics.psi_summary(base, base[:300]) == metrics.psi_summary(base, base[:300])


def test_csi_per_column() -> None:
    rng = np.random.default_rng(2)
    base = pd.DataFrame({"x": rng.normal(size=2_000), "c": rng.choice(["u", "v"], 2_000)})
    drift = base.assign(x=base.x + 1.0)
    out = metrics.csi(base, drift)
    assert list(out.index) == ["x", "c"]
    assert out["c"] == 0.0
    assert out["x"] > 0.25
    with pytest.raises(InvalidInputError, match="missing column"):
        metrics.csi(base, drift[["x"]])


def test_calibration_by_decile_table() -> None:
    rng = np.random.default_rng(3)
    prob = rng.uniform(0.01, 0.5, 10_000)
    y = (rng.random(10_000) < prob).astype(int)
    table = metrics.calibration_by_decile(y, prob)
    assert list(table.index) == list(range(1, 11))
    assert table.n.sum() == 10_000
    assert (table.n == 1_000).all()
    assert table.events.sum() == y.sum()
    assert table.expected_events.sum() == pytest.approx(prob.sum())
    assert table.expected_pd.is_monotonic_increasing
    assert (table.pd_max.to_numpy()[:-1] <= table.pd_min.to_numpy()[1:]).all()
    assert np.abs(table.difference).max() < 0.05


def test_bootstrap_ci_seeded_and_sane(scored) -> None:
    y, score = scored
    first = metrics.auc_ci(y, score, n_boot=200, seed=7)
    again = metrics.auc_ci(y, score, n_boot=200, seed=7)
    other = metrics.auc_ci(y, score, n_boot=200, seed=8)
    assert first == again
    assert first != other
    assert first.lower < first.estimate < first.upper
    assert first.estimate == metrics.auc(y, score)
    assert first.upper - first.lower < 0.06
    ks = metrics.ks_ci(y, score, n_boot=200, seed=7, level=0.9)
    assert ks.lower < ks.estimate < ks.upper
    assert ks.level == 0.9
    with pytest.raises(ValueError, match="metric"):
        metrics.bootstrap_ci(y, score, "gini")


@pytest.mark.parametrize(
    ("y", "score", "message"),
    [
        ([0, 0, 0], [1, 2, 3], "both classes"),
        ([0, 2, 1], [1, 2, 3], "only 0 and 1"),
        ([0, np.nan, 1], [1, 2, 3], "NaN"),
        ([0, 1, 1], [1, np.inf, 3], "NaN or infinite"),
        ([0, 1, 1], [1, 2], "length"),
    ],
)
def test_bad_input_raises(y, score, message) -> None:
    with pytest.raises(InvalidInputError, match=message):
        metrics.auc(y, score)


binary_and_scores = st.integers(2, 60).flatmap(
    lambda n: st.tuples(
        arrays(np.int8, n, elements=st.integers(0, 1)),
        arrays(np.float64, n, elements=st.floats(-1e6, 1e6, allow_nan=False)),
    )
).filter(lambda t: 0 < t[0].sum() < len(t[0]))


@settings(max_examples=200, deadline=None)
@given(binary_and_scores)
def test_property_auc_reversed_is_complement(data) -> None:
    y, score = data
    assert metrics.auc(y, -score) == pytest.approx(1 - metrics.auc(y, score), abs=1e-12)
    assert 0.0 <= metrics.auc(y, score) <= 1.0


@settings(max_examples=200, deadline=None)
@given(binary_and_scores)
def test_property_auc_and_ks_invariant_to_monotone_transform(data) -> None:
    y, score = data
    transformed = np.arctan(score / 1e3) * 7 + 3
    # arctan may merge nearly-equal scores into ties; only compare when it did not
    if len(np.unique(transformed)) == len(np.unique(score)):
        assert metrics.auc(y, transformed) == pytest.approx(metrics.auc(y, score), abs=1e-12)
        assert metrics.ks(y, transformed) == pytest.approx(metrics.ks(y, score), abs=1e-12)
    assert 0.0 <= metrics.ks(y, score) <= 1.0


@settings(max_examples=200, deadline=None)
@given(binary_and_scores)
def test_property_auc_matches_sklearn(data) -> None:
    y, score = data
    assert metrics.auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-9)


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, min_size=1, max_size=200), st.lists(finite, min_size=1, max_size=200))
def test_property_psi_nonnegative_and_zero_on_identity(expected, actual) -> None:
    assert metrics.psi(expected, actual) >= 0.0
    assert metrics.psi(expected, expected) == 0.0
    assert metrics.psi(expected, list(reversed(expected))) == 0.0
