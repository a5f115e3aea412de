"""The compiled forest predicts what XGBoost predicts: margins, TreeSHAP, routing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techcredit.exceptions import ModelError
from techcredit.modeling import _forest
from techcredit.modeling._forest import CompiledForest


def _booster(depth: int, *, seed: int = 0, rounds: int = 30, features: int = 6,
             objective: str = "binary:logistic") -> tuple[xgb.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(800, features))
    x[rng.random(x.shape) < 0.15] = np.nan  # missing values take the default branch
    x[:, 1] = np.round(x[:, 1], 1)  # ties: many rows exactly on a threshold
    logit = np.nan_to_num(x[:, 0] - x[:, 1] * x[:, 2]) + rng.normal(size=800)
    y = (logit > 0).astype(int)
    booster = xgb.train({"objective": objective, "max_depth": depth, "eta": 0.3,
                         "seed": seed, "nthread": 1},
                        xgb.DMatrix(x, label=y), num_boost_round=rounds)
    return booster, x


def _theirs(booster: xgb.Booster, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    matrix = xgb.DMatrix(x, nthread=1)
    return (booster.predict(matrix, output_margin=True),
            booster.predict(matrix, pred_contribs=True))


@pytest.mark.parametrize("depth", [1, 2, 4, 5, 6])
def test_margins_and_contributions_match_xgboost(depth: int) -> None:
    booster, x = _booster(depth, seed=depth)
    forest = CompiledForest.from_booster(booster)
    margin, phi = _theirs(booster, x)
    ours = forest.contributions(x)
    np.testing.assert_allclose(forest.margin(x), margin, atol=2e-5)
    np.testing.assert_allclose(ours, phi, atol=2e-5)
    np.testing.assert_allclose(ours.sum(axis=1), forest.margin(x), atol=1e-12)
    # up to depth 5 the leaf tables serve; deeper trees walk the paths
    assert (forest.paths is not None) == (forest.max_depth <= _forest._TABLE_MAX_DEPTH)
    assert forest.max_depth == depth


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(depth=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_leaf_tables_equal_the_path_walk(depth: int, seed: int) -> None:
    """Two algorithms, one answer: the tabulated leaves and TreeSHAP's own recursion."""
    booster, x = _booster(depth, seed=seed, rounds=8)
    trees = json.loads(booster.save_raw(raw_format="json"))["learner"][
        "gradient_booster"]["model"]["trees"]
    tabled = _forest.CompiledForest._from_trees(trees, 0.0, x.shape[1])
    walked = _forest.CompiledForest._from_trees(trees, 0.0, x.shape[1], tables=False)
    assert tabled.paths is not None
    assert walked.paths is None
    np.testing.assert_allclose(tabled.contributions(x), walked.contributions(x),
                               rtol=1e-9, atol=1e-12)


def test_rows_route_on_the_float32_threshold_like_xgboost() -> None:
    booster, x = _booster(3, seed=7)
    forest = CompiledForest.from_booster(booster)
    split = forest.feature >= 0
    cuts = forest.threshold[split].astype(np.float64)
    features = forest.feature[split]
    rows = np.full((3 * cuts.size, x.shape[1]), 0.0)
    for k, (f, cut) in enumerate(zip(features, cuts, strict=True)):
        rows[3 * k, f] = cut  # exactly on the threshold: goes right
        rows[3 * k + 1, f] = np.nextafter(cut, -np.inf)  # rounds up to it in float32
        rows[3 * k + 2, f] = np.nextafter(np.float32(cut), np.float32(-np.inf))
    margin, phi = _theirs(booster, rows)
    np.testing.assert_allclose(forest.margin(rows), margin, atol=2e-5)
    np.testing.assert_allclose(forest.contributions(rows), phi, atol=2e-5)


def test_a_model_it_cannot_reproduce_is_refused() -> None:
    booster, x = _booster(2, objective="reg:squarederror")
    with pytest.raises(ModelError, match="binary:logistic"):
        CompiledForest.from_booster(booster)
    rng = np.random.default_rng(1)
    multi = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2},
                      xgb.DMatrix(x, label=rng.integers(0, 3, len(x))), num_boost_round=2)
    with pytest.raises(ModelError):
        CompiledForest.from_booster(multi)


def test_a_forest_that_disagrees_with_its_booster_raises() -> None:
    booster, _ = _booster(3, seed=3)
    other, _ = _booster(3, seed=4)
    forest = CompiledForest.from_booster(booster)
    with pytest.raises(ModelError, match="differs from XGBoost"):
        forest._check_against(other)


def test_wrong_width_names_the_expected_features() -> None:
    booster, x = _booster(2)
    forest = CompiledForest.from_booster(booster)
    with pytest.raises(ModelError, match="6 features"):
        forest.margin(x[:, :5])


def test_each_kernel_compiles_once_for_one_row_and_a_batch() -> None:
    booster, x = _booster(4)
    forest = CompiledForest.from_booster(booster)
    forest.contributions(x)
    forest.contributions(x[:1])
    forest.margin(x[:1])
    assert [len(k.signatures) for k in (_forest._table_contributions, _forest._margins)] \
        == [1, 1]


def test_a_booster_without_trees_is_refused() -> None:
    _, x = _booster(2, rounds=1)
    hollow = xgb.train({"objective": "binary:logistic"},
                       xgb.DMatrix(x, label=np.arange(len(x)) % 2), num_boost_round=0)
    with pytest.raises(ModelError, match="at least one tree"):
        CompiledForest.from_booster(hollow)


def test_a_long_forest_is_accepted_despite_xgboosts_float32_sums() -> None:
    booster, x = _booster(3, seed=9, rounds=1500)
    forest = CompiledForest.from_booster(booster)
    margin, _ = _theirs(booster, x)
    assert forest.roots.size == 1500
    np.testing.assert_allclose(forest.margin(x), margin, atol=1e-3)
