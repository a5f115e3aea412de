"""Benchmark the decision engine against its floor and the obvious alternative.

Prints, in one run on this machine:

* one realistic application (about 24 months of tax, ~300 invoices, ~10 patents):
  p50 / p99 of ``decider.score()`` warm, from an ``Application`` and from a plain dict;
  the bare model floor (XGBoost ``DMatrix`` + ``pred_contribs`` on the prepared feature
  row, one thread); and the alternative (an MLflow pyfunc ``predict`` on a one-row frame
  plus ``shap.TreeExplainer`` on that row) -- with ratios;
* ``score_batch`` on the generated applications (raw tables) against XGBoost's bare
  ``pred_contribs`` on the same prepared rows, and the decisions per second when every
  champion is a scorecard.

Usage::

    python bench/bench_score.py --firms 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import xgboost as xgb

from techcredit.application import Application
from techcredit.data import generate
from techcredit.data.applications import application_records
from techcredit.decision.decider import Decider
from techcredit.decision.models import BundleModels
from techcredit.features import FirmArrays, build_matrix
from techcredit.pipeline.train import train


def _pct(fn, reps: int) -> tuple[float, float]:
    times = np.empty(reps)
    for i in range(reps):
        start = time.perf_counter_ns()
        fn()
        times[i] = time.perf_counter_ns() - start
    return float(np.median(times)) / 1e3, float(np.percentile(times, 99)) / 1e3


def _pick(tables) -> int:
    inv = tables.invoices.groupby("firm_id").size()
    pat = tables.patents.groupby("firm_id").size()
    tax = tables.tax_filings.groupby("firm_id").size()
    ok = [f for f in inv.index if 250 <= inv[f] <= 350 and pat.get(f, 0) >= 8
          and tax.get(f, 0) >= 24]
    return int(ok[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--train-firms", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=2000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-score-"))
    t0 = time.perf_counter()
    bundle = work / "bundle"
    train(generate(args.train_firms, seed=101), bundle, progress=False)
    print(f"trained on {args.train_firms:,} firms in {time.perf_counter() - t0:.1f} s")
    decider = Decider.load(bundle)
    models = BundleModels.load(bundle)

    t0 = time.perf_counter()
    tables = generate(args.firms, seed=202)
    print(f"generated {args.firms:,} firms ({len(tables.invoices):,} invoices) in "
          f"{time.perf_counter() - t0:.1f} s")

    # ---------------------------------------------------------------- one application
    firm = _pick(tables)
    row = tables.applications[tables.applications["firm_id"] == firm].iloc[0]
    doc = application_records(tables, row)
    app = Application.model_validate(doc)
    decision = decider.score(app)
    seg = decision.segment
    xgb_model = next(m for m in (models.segments[seg].champion, models.segments[seg].challenger)
                     if m is not None and m.kind == "xgboost")
    print(f"\none application: {len(doc['tax_filings'])} filings, {len(doc['invoices'])} "
          f"invoices, {len(doc['patents'])} patents; segment {seg}, champion "
          f"{decision.model_kind}, outcome {decision.outcome}")
    for _ in range(200):
        decider.score(app)
    score_app = _pct(lambda: decider.score(app), args.reps)
    score_dict = _pct(lambda: decider.score(doc), max(args.reps // 4, 200))

    arrays = FirmArrays.from_columns(app.columns())
    ids = np.array([firm])
    asof = np.array([np.datetime64(row["applied_on"], "D").astype(np.int64)])
    matrix = build_matrix(arrays, ids, asof, decider.policy.flags)
    index = {n: j for j, n in enumerate(matrix.names)}
    x_row = np.ascontiguousarray(matrix.values[:, [index[f] for f in xgb_model.feature_names]])
    booster = xgb_model.model.booster_

    def floor() -> None:
        booster.predict(xgb.DMatrix(x_row, nthread=1), pred_contribs=True,
                        validate_features=False)

    floor_t = _pct(floor, args.reps)

    import mlflow
    import pandas as pd
    import shap

    saved = work / "xgb-pyfunc"
    mlflow.xgboost.save_model(booster, str(saved))
    pyfunc = mlflow.pyfunc.load_model(str(saved))
    frame = pd.DataFrame(x_row, columns=xgb_model.feature_names)
    explainer = shap.TreeExplainer(booster)

    def alternative() -> None:
        pyfunc.predict(frame)
        explainer.shap_values(frame)

    alt_t = _pct(alternative, max(args.reps // 10, 100))
    print(f"{'path':44s} {'p50 us':>9s} {'p99 us':>9s}")
    for name, (p50, p99) in [("decider.score(Application)", score_app),
                             ("decider.score(dict)  (validation included)", score_dict),
                             ("floor: DMatrix + pred_contribs, 1 thread", floor_t),
                             ("alternative: mlflow pyfunc + shap", alt_t)]:
        print(f"{name:44s} {p50:9.0f} {p99:9.0f}")
    print(f"score / floor (p50): {score_app[0] / floor_t[0]:.2f}x;  "
          f"alternative / score (p50): {alt_t[0] / score_app[0]:.1f}x")

    # ------------------------------------------------------------------------- batch
    t0 = time.perf_counter()
    out = decider.score_batch(tables, snapshot_id="bench")
    t_batch = time.perf_counter() - t0
    n = len(out)
    xgb_rows = out["model_kind"].to_numpy() == "xgboost"
    full = FirmArrays.from_tables(tables)
    apps = tables.applications
    m = build_matrix(full, apps["firm_id"].to_numpy(np.int64),
                     apps["applied_on"].to_numpy().astype("datetime64[D]").astype(np.int64),
                     decider.policy.flags)
    t_floor = 0.0
    segs = out["segment"].to_numpy()
    for seg_name, seg_models in models.segments.items():
        rows = np.flatnonzero((segs == seg_name) & xgb_rows)
        if rows.size == 0:
            continue
        model = seg_models.champion
        cols = [m.names.index(f) for f in model.feature_names]
        x = np.ascontiguousarray(m.values[np.ix_(rows, cols)])
        b = model.model.booster_.copy()
        b.set_param({"nthread": 2})
        t0 = time.perf_counter()
        b.predict(xgb.DMatrix(x, nthread=2), pred_contribs=True, validate_features=False)
        t_floor += time.perf_counter() - t0
    print(f"\nscore_batch: {n:,} applications in {t_batch:.1f} s = {n / t_batch:,.0f} "
          f"decisions/s ({int(xgb_rows.sum()):,} by XGBoost champions)")
    if xgb_rows.any():
        print(f"bare pred_contribs on the {int(xgb_rows.sum()):,} XGBoost rows: {t_floor:.1f} s "
              f"= {xgb_rows.sum() / t_floor:,.0f} rows/s; score_batch throughput on those rows "
              f"relative to the floor: {t_floor / t_batch:.2f}")

    # scorecard champions everywhere: the same bundle with champion := scorecard
    for seg_models in models.segments.values():
        if seg_models.champion.kind != "scorecard" and seg_models.challenger is not None:
            object.__setattr__(seg_models, "champion", seg_models.challenger)
    card = Decider(models, policy=decider.policy, innovation_spec=decider.innovation_spec,
                   valuation_spec=decider.valuation_spec, cohorts=decider.cohorts)
    t0 = time.perf_counter()
    card.score_batch(tables, snapshot_id="bench")
    t_card = time.perf_counter() - t0
    print(f"score_batch with scorecard champions: {n / t_card:,.0f} decisions/s "
          f"({t_card:.1f} s)")


if __name__ == "__main__":
    main()
