"""Scorecard.to_sql run in SQLite and DuckDB equals the Python points."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from techcredit.config.scorecard import ScorecardSpec, load_scorecard_spec
from techcredit.modeling import Scorecard

duckdb = pytest.importorskip("duckdb")


def make_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    tax = rng.gamma(2.0, 50_000, n)
    age = rng.uniform(0, 20, n)
    industry = rng.choice(["software", "biotech", "retail", "it's quoted"], n)
    logit = -1.0 - tax / 80_000 - 0.1 * age + (industry == "retail") * 0.9
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"tax paid sum": tax, "firm_age_years": age, "industry": industry})
    frame.loc[rng.random(n) < 0.05, "tax paid sum"] = np.nan
    frame.loc[rng.random(n) < 0.03, "tax paid sum"] = -1.0
    frame.loc[rng.random(n) < 0.03, "industry"] = None
    return frame, y


def spec(policy: str, decimals: int | None) -> ScorecardSpec:
    base = load_scorecard_spec()
    return base.model_copy(update={
        "binning": base.binning.model_copy(
            update={"special_values": {"tax paid sum": {"not_filed": [-1.0]}}}),
        "policies": base.policies.model_copy(update={"unseen_category": policy}),
        "scaling": base.scaling.model_copy(update={"points_decimals": decimals}),
    })


@pytest.fixture(scope="module", params=[("other", None), ("raise", 2)])
def fitted(request) -> tuple[Scorecard, pd.DataFrame]:
    frame, y = make_frame(4_000, seed=3)
    card = Scorecard(spec(*request.param),
                     monotonic_trend={"tax paid sum": -1, "firm_age_years": -1}).fit(frame, y)
    assert set(card.features_) == {"tax paid sum", "firm_age_years", "industry"}
    test, _ = make_frame(1_000, seed=4)
    test.loc[test.index[:5], "industry"] = "quantum"  # unseen category
    test.loc[test.index[5:10], "firm_age_years"] = card.binning_["firm_age_years"].splits[0]
    return card, test


def python_points(card: Scorecard, frame: pd.DataFrame) -> np.ndarray:
    if card.spec_.policies.unseen_category == "other":
        return card.points(frame).to_numpy()
    seen = frame.industry != "quantum"
    out = np.full(len(frame), np.nan)
    out[seen.to_numpy()] = card.points(frame[seen]).to_numpy()
    return out


def test_sqlite_equals_python(fitted) -> None:
    card, test = fitted
    con = sqlite3.connect(":memory:")
    test.reset_index().to_sql("applicants", con, index=False)
    sql = card.to_sql("applicants", keep_columns=["index"]) + ' ORDER BY "index"'
    rows = con.execute(sql).fetchall()
    got = np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=float)
    np.testing.assert_array_equal(got, python_points(card, test))


def test_duckdb_equals_python(fitted) -> None:
    card, test = fitted
    con = duckdb.connect()
    frame = test.reset_index()
    con.register("applicants", frame)
    sql = card.to_sql("applicants", keep_columns=["index"]) + ' ORDER BY "index"'
    got = con.execute(sql).df()["score_points"].to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_array_equal(got, python_points(card, test))


def test_expression_only_and_policy_text(fitted) -> None:
    card, _ = fitted
    expr = card.to_sql()
    assert not expr.startswith("SELECT")
    assert expr.count("CASE WHEN") == len(card.features_)
    assert "'it''s quoted'" in expr
    assert '"tax paid sum" IS NULL' in expr
    if card.spec_.policies.unseen_category == "raise":
        assert "ELSE NULL END" in expr
    else:
        assert "ELSE NULL END" not in expr
