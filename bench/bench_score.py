"""Benchmark the decision engine against its floor and the obvious alternative.

Prints, in one run on this machine:

* one realistic application (about 24 months of tax, ~300 invoices, ~10 patents):
  p50 / p99 of ``decider.score()`` warm, from an ``Application`` (the same object, and a
  new validated object on each call, which also pays its input hash) and from a plain
  dict;
  the bare model floor (XGBoost ``DMatrix`` + ``pred_contribs`` on the prepared feature
  row, one thread), in ``--single-rounds`` short rounds (``--reps / --single-rounds``
  calls each) alternating with ``score()`` with the
  segment's own champion, with XGBoost as champion and on a new Application per call
  (the median of the rounds' ratios is the figure); and the alternative (an MLflow
  pyfunc ``predict`` on a one-row frame plus ``shap.TreeExplainer`` on that row) -- with
  ratios;
* ``score_batch`` on the generated applications (raw tables) with XGBoost champions,
  against XGBoost's bare ``pred_contribs`` on the same prepared rows (the floor), and
  with scorecard champions; plus the time of its first stages measured alone. From
  the prepared batch, ``--batch-rounds`` rounds alternate the engine and the floor (the
  machine is shared: the median of the rounds' ratios is the figure).

Usage::

    python bench/bench_score.py --firms 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import xgboost as xgb

from techcredit.application import Application
from techcredit.data import generate
from techcredit.data.applications import application_records
from techcredit.decision.decider import Decider
from techcredit.decision.models import BundleModels
from techcredit.features import FirmArrays, build_matrix
from techcredit.modeling.segments import route_columns
from techcredit.pipeline.train import train


def _times(fn, reps: int) -> np.ndarray:
    """Microseconds of ``reps`` calls of ``fn``."""
    times = np.empty(reps)
    for i in range(reps):
        start = time.perf_counter_ns()
        fn()
        times[i] = time.perf_counter_ns() - start
    return times / 1e3


def _summary(rounds: list[np.ndarray]) -> tuple[float, float]:
    """``(p50 of the rounds' medians, p99 of every call)`` in microseconds."""
    return (float(np.median([np.median(r) for r in rounds])),
            float(np.percentile(np.concatenate(rounds), 99)))


def _spread(ratios: list[float]) -> str:
    """The quartiles and extremes of per-round ratios, for the printed figure."""
    lo, q1, q3, hi = np.percentile(ratios, [0, 25, 75, 100])
    return f"rounds' quartiles {q1:.2f}-{q3:.2f}, range {lo:.2f}-{hi:.2f}"


def _pct(fn, reps: int) -> tuple[float, float]:
    return _summary([_times(fn, reps)])


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
    parser.add_argument("--single-rounds", type=int, default=20,
                        help="rounds of one application alternating engine and floor "
                             "(short rounds: each pair sees the same load on a shared "
                             "machine)")
    parser.add_argument("--batch-rounds", type=int, default=3,
                        help="rounds of score_batch(prepared) alternating with the floor")
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
    # the same application with XGBoost as its segment's champion: the floor's model
    xgb_engine = _decider(_with_champion(models, "xgboost"), decider)
    for _ in range(200):
        decider.score(app)
        xgb_engine.score(app)
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

    # rounds alternate the engine and the floor, so both see the same (shared) machine;
    # the figure is the median of the rounds' ratios, p99 is over every call
    # a loan system builds a new Application per request: validated outside the timing,
    # each scored once, so its columns are fresh and its input hash is not yet computed
    per_round = max(args.reps // args.single_rounds, 100)
    fresh = iter([Application.model_validate(doc)
                  for _ in range(per_round * args.single_rounds)])
    runs: dict[str, list[np.ndarray]] = {"score": [], "xgb": [], "new": [], "floor": []}
    for _ in range(args.single_rounds):
        for key, fn in (("score", lambda: decider.score(app)),
                        ("xgb", lambda: xgb_engine.score(app)),
                        ("new", lambda: decider.score(next(fresh))), ("floor", floor)):
            runs[key].append(_times(fn, per_round))
    score_app, score_xgb, score_new, floor_t = (_summary(runs[k])
                                                for k in ("score", "xgb", "new", "floor"))
    ratios = {k: [float(np.median(a) / np.median(f)) for a, f in
                  zip(runs[k], runs["floor"], strict=True)] for k in ("score", "xgb", "new")}

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
    print(f"{'path':52s} {'p50 us':>9s} {'p99 us':>9s}")
    for name, (p50, p99) in [(f"decider.score(Application), {decision.model_kind} champion",
                              score_app),
                             ("decider.score(Application), XGBoost champion", score_xgb),
                             ("decider.score(a new Application each call)", score_new),
                             ("decider.score(dict)  (validation included)", score_dict),
                             ("floor: DMatrix + pred_contribs, 1 thread", floor_t),
                             ("alternative: mlflow pyfunc + shap", alt_t)]:
        print(f"{name:52s} {p50:9.0f} {p99:9.0f}")
    print(f"score / floor (p50, median of {args.single_rounds} alternating rounds): "
          f"{np.median(ratios['score']):.2f}x ({decision.model_kind} champion; "
          f"{_spread(ratios['score'])}), {np.median(ratios['xgb']):.2f}x (XGBoost champion; "
          f"{_spread(ratios['xgb'])}), {np.median(ratios['new']):.2f}x (a new Application "
          f"each call; {_spread(ratios['new'])});  alternative / score (p50): "
          f"{alt_t[0] / score_app[0]:.1f}x, {alt_t[0] / score_xgb[0]:.1f}x")
    _single_stages(decider, app, arrays, ids, asof, args.reps)

    # ------------------------------------------------------------------------- batch
    apps = tables.applications
    ids = apps["firm_id"].to_numpy(np.int64)
    days = apps["applied_on"].to_numpy().astype("datetime64[D]").astype(np.int64)
    t0 = time.perf_counter()
    tables.validate()
    t_validate = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = FirmArrays.from_tables(tables)
    t_arrays = time.perf_counter() - t0
    t0 = time.perf_counter()
    prepared = build_matrix(full, ids, days, decider.policy.flags)
    t_build = time.perf_counter() - t0
    n = len(apps)
    print(f"\nscore_batch on {n:,} applications (raw tables); its stages measured alone: "
          f"validate {t_validate:.1f} s, FirmArrays {t_arrays:.1f} s, features {t_build:.1f} s")
    segment = route_columns({f: prepared.values[:, j] for j, f in enumerate(prepared.names)},
                            models.router)
    t0 = time.perf_counter()
    ready = Decider.prepare(tables, snapshot_id="bench")
    t_prepare = time.perf_counter() - t0
    print(f"  Decider.prepare (validate + FirmArrays + request hashes): {t_prepare:.1f} s")
    floor_inputs = []
    for seg_name, seg_models in _with_champion(models, "xgboost").segments.items():
        rows = np.flatnonzero(segment == seg_name)
        model = seg_models.champion
        if rows.size == 0 or model.kind != "xgboost":
            continue
        cols = [prepared.names.index(f) for f in model.feature_names]
        booster = model.model.booster_.copy()
        booster.set_param({"nthread": 2})
        floor_inputs.append((booster, np.ascontiguousarray(prepared.values[np.ix_(rows, cols)])))

    def floor_batch() -> None:
        for booster, x in floor_inputs:
            booster.predict(xgb.DMatrix(x, nthread=2), pred_contribs=True,
                            validate_features=False)

    for kind in ("xgboost", "scorecard"):
        engine = _decider(_with_champion(models, kind), decider)
        # rounds alternate the engine and the floor, so both see the same machine
        raw_s, ready_s, floor_s = [], [], []
        for _ in range(args.batch_rounds):
            raw_s.append(_seconds(lambda e=engine: e.score_batch(tables, snapshot_id="bench")))
            ready_s.append(_seconds(lambda e=engine: e.score_batch(ready)))
            if kind == "xgboost":
                floor_s.append(_seconds(floor_batch))
        t_batch, t_ready = float(np.median(raw_s)), float(np.median(ready_s))
        print(f"  {kind} champions: from raw tables {t_batch:.1f} s = {n / t_batch:,.0f} "
              f"decisions/s; from the prepared batch {t_ready:.1f} s = {n / t_ready:,.0f} "
              f"decisions/s (median of {len(ready_s)} rounds: "
              f"{', '.join(f'{v:.1f}' for v in ready_s)} s)")
        if kind != "xgboost":
            continue
        t_floor = float(np.median(floor_s))
        ratios = [f / r for f, r in zip(floor_s, ready_s, strict=True)]
        raw_ratios = [f / r for f, r in zip(floor_s, raw_s, strict=True)]
        print(f"  floor, bare pred_contribs on the same prepared rows (2 threads): "
              f"{t_floor:.1f} s = {n / t_floor:,.0f} rows/s (rounds: "
              f"{', '.join(f'{v:.1f}' for v in floor_s)} s); score_batch reaches "
              f"{float(np.median(raw_ratios)):.0%} of the floor's throughput from raw tables, "
              f"{float(np.median(ratios)):.0%} from the prepared batch (median of the "
              f"rounds' ratios: {', '.join(f'{v:.0%}' for v in ratios)})")


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _single_stages(decider: Decider, app: Application, arrays: FirmArrays, ids: np.ndarray,
                   asof: np.ndarray, reps: int) -> None:
    """p50 of each stage of one ``score()`` call, each measured alone (they overlap in
    cache, so their sum is a little under the whole)."""
    from techcredit.decision import decider as engine
    from techcredit.decision.policy import PolicyInputs, apply_policy
    from techcredit.rating.serving import rate_prepared

    request = engine._Requests.of([app])
    matrix = build_matrix(arrays, ids, asof, decider.policy.flags)
    feats = {n: matrix.values[:, j] for j, n in enumerate(matrix.names)}
    segment = route_columns(feats, decider.models.router)
    seg = str(segment[0])
    champion = decider.models.segments[seg].champion
    rows = np.array([0])

    other = decider.models.segments[seg].challenger
    columns = {id(m): np.array([matrix.names.index(f) for f in m.feature_names])
               for m in (champion, other) if m is not None}

    def contributions(model=champion) -> np.ndarray:
        return engine._contributions(model, engine._rows(matrix.values, rows,
                                                         columns[id(model)]))

    def rating():
        return rate_prepared(feats, arrays, ids, asof, spec=decider.innovation_spec,
                             valuation_spec=decider.valuation_spec, cohorts=decider.cohorts,
                             loan_term_years=request.term_months / 12.0)

    rated = rating()
    inputs = PolicyInputs(features=feats, segment=segment, logit=contributions().sum(axis=1),
                          product=request.product, amount_cny=request.amount_cny,
                          innovation_tier=rated.tier, pledge_value_cny=rated.pledge_value_cny)
    scored = decider._score(engine.PreparedBatch(arrays, ids, asof, request))
    policy = decider._policy  # the CompiledPolicy the Decider applies
    stages = [
        ("FirmArrays.from_columns", lambda: FirmArrays.from_columns(app.columns())),
        ("build_matrix (features)", lambda: build_matrix(arrays, ids, asof,
                                                         decider.policy.flags)),
        ("route to segment", lambda: route_columns(feats, decider.models.router)),
        (f"champion contributions ({champion.kind})", contributions),
        *([(f"challenger contributions ({other.kind})", lambda: contributions(other))]
          if other is not None else []),
        ("rating (official, tier, patents)", rating),
        ("policy (rules, limit, rate)", lambda: apply_policy(policy, inputs, decider.scaling)),
        ("Decision objects", lambda: decider._decisions(scored)),
    ]
    print("stages of one call (p50 us, each alone):  " + ";  ".join(
        f"{name} {_pct(fn, reps)[0]:.0f}" for name, fn in stages))


def _with_champion(models: BundleModels, kind: str) -> BundleModels:
    """The same bundle with ``kind`` as champion wherever the segment has that model."""
    segments = {name: (seg if seg.champion.kind == kind or seg.challenger is None
                       else replace(seg, champion=seg.challenger, challenger=seg.champion))
                for name, seg in models.segments.items()}
    return BundleModels(model_name=models.model_name, manifest=models.manifest,
                        router=models.router, segments=segments,
                        feature_names=models.feature_names)


def _decider(models: BundleModels, like: Decider) -> Decider:
    return Decider(models, policy=like.policy, scaling=like.scaling,
                   innovation_spec=like.innovation_spec,
                   valuation_spec=like.valuation_spec, cohorts=like.cohorts)


if __name__ == "__main__":
    main()
