"""The decision engine with XGBoost champions: its compiled trees decide as XGBoost would."""

from __future__ import annotations

import concurrent.futures
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from techcredit.application import Application
from techcredit.data.applications import applications_from_tables
from techcredit.decision.decider import Decider
from techcredit.decision.models import BundleModels
from techcredit.schemas import RawTables

N_APPS = 80


@pytest.fixture(scope="module")
def decider(decision_bundle: Path) -> Decider:
    """The bundle with each segment's XGBoost model as champion, the other in shadow."""
    base = Decider.load(decision_bundle)
    models = BundleModels.load(decision_bundle)
    segments = {}
    for name, seg in models.segments.items():
        if seg.champion.kind != "xgboost":
            if seg.challenger is None or seg.challenger.kind != "xgboost":
                pytest.skip(f"segment {name} has no XGBoost model")
            seg = replace(seg, champion=seg.challenger, challenger=seg.champion)
        segments[name] = seg
    swapped = BundleModels(model_name=models.model_name, manifest=models.manifest,
                           router=models.router, segments=segments,
                           feature_names=models.feature_names)
    return Decider(swapped, policy=base.policy, scaling=base.scaling,
                   innovation_spec=base.innovation_spec, valuation_spec=base.valuation_spec,
                   cohorts=base.cohorts, shadow=True)


@pytest.fixture(scope="module")
def apps(decision_tables: RawTables) -> list[Application]:
    return list(applications_from_tables(decision_tables, limit=N_APPS))


@pytest.fixture(scope="module")
def decisions(decider: Decider, apps: list[Application]):
    return [decider.score(a) for a in apps]


def test_the_pd_is_xgboosts_own_prediction_calibrated(decider: Decider, apps,
                                                      decisions) -> None:
    assert {d.model_kind for d in decisions} == {"xgboost"}
    for d in decisions[:40]:
        champion = decider.models.segments[d.segment].champion
        body = d.contributions[:-1]
        assert [c.feature for c in body] == list(champion.feature_names)
        row = np.array([[np.nan if c.value is None else c.value for c in body]])
        booster = champion.model.booster_
        margin = booster.predict(xgb.DMatrix(row, feature_names=booster.feature_names,
                                             nthread=1), output_margin=True)
        logit = champion.calibrator.transform(margin.astype(np.float64))[0]
        assert d.prob_default == pytest.approx(1.0 / (1.0 + math.exp(-logit)), abs=1e-6)
        assert d.explain()["contribution"].sum() == pytest.approx(
            math.log(d.prob_default / (1.0 - d.prob_default)), abs=1e-9)


def test_score_batch_equals_score_row_for_row(decider: Decider, apps, decisions) -> None:
    batch = decider.score_batch(apps, as_frame=False, chunk_rows=16, threads=2)
    assert [b.to_json(contributions=True) for b in batch] == \
        [d.to_json(contributions=True) for d in decisions]
    assert all(d.challenger is not None and d.challenger.model_kind == "scorecard"
               for d in decisions)


def test_eight_threads_give_the_serial_decisions(decider: Decider, apps, decisions) -> None:
    expected = [d.to_json(contributions=True) for d in decisions]

    def one(i: int) -> tuple[int, str]:
        k = i % len(apps)
        return k, decider.score(apps[k]).to_json(contributions=True)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for k, got in pool.map(one, range(8 * 40)):
            assert got == expected[k]
