"""Benchmark: training on a large generated set, judged against the known truth.

For each segment and model, prints the out-of-time holdout AUC beside the AUC of the
true PD on the same rows (the generator's known truth: the best any model can do),
their ratio (target >= 0.95), KS, and calibration by decile of predicted PD (target
< 1.5 percentage points), in percentage points:

* ``obs_max`` / ``obs_mean``: largest and mean gap between mean predicted PD and the
  observed default rate; ``obs_noise``: the largest 1.96 binomial standard error of an
  observed rate, the gap a perfectly calibrated model reaches about one time in twenty;
* ``true_max`` / ``true_mean``: the same gaps against the mean *true* PD of the decile
  (the expectation of the outcome, so without the binomial noise); ``true_noise``: the
  largest 1.96 standard error of a decile's mean of ``predicted - true`` PD (which rows
  land in a decile is still a sample).

A last table asks how close calibration itself can get with this many training rows:
the *true* log-odds, recalibrated exactly as the job calibrates a model (same method,
same rows: the segment's training window), judged the same way on the validation rows.
A perfect ranking still inherits the binomial noise of the outcomes it is calibrated
on, so its ``true_max`` is the part of a model's gap no model can remove.

Run: ``python bench/bench_train.py [--n-firms 100000] [--seed 1] [--models-dir DIR]``
(``--models-dir``: reviewed YAML specifications to try in place of ``models/``).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from techcredit.config import default_models_dir
from techcredit.config.boosting import load_validation_spec
from techcredit.data import generate
from techcredit.decision.models import BundleModels
from techcredit.modeling import metrics
from techcredit.pipeline.train import calibrate, split_out_of_time, train, training_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-firms", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--models-dir", type=Path, default=None,
                        help="the YAML specifications to train with (default: models/)")
    args = parser.parse_args()
    start = time.perf_counter()
    tables = generate(args.n_firms, seed=args.seed)
    t_gen = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = train(tables, Path(tmp) / "bundle", progress=False,
                       models_dir=args.models_dir)
        t_train = time.perf_counter() - start
        models = BundleModels.load(Path(tmp) / "bundle")
        features, y, applied = training_frame(tables)
        part = split_out_of_time(applied, float(result.params["validation_share"]),
                                 float(result.params["calibration_share"]))
        truth = tables.truth.set_index("application_id").loc[features.index, "prob_default"]
        scored = models.predict_features(features)
        print(f"{args.n_firms:,} firms: generate {t_gen:.0f} s, train {t_train:.0f} s, "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.1f} GB")
        header = (f"{'segment':<13}{'model':<10}{'n_val':>7}{'AUC':>7}{'truth':>7}{'ratio':>7}"
                  f"{'KS':>7}{'obs_max':>8}{'obs_mean':>9}{'obs_noise':>10}{'true_max':>9}"
                  f"{'true_mean':>10}{'true_noise':>11}  champion")
        print(header)
        print("-" * len(header))
        for seg, seg_models in models.segments.items():
            rows = (scored["segment"].to_numpy() == seg) & (part == "validate")
            yv = y[rows]
            truth_auc = metrics.auc(yv, truth.to_numpy()[rows])
            for kind in ("scorecard", "xgboost"):
                chosen = seg_models.champion if seg_models.champion.kind == kind else (
                    seg_models.challenger)
                if chosen is None:
                    continue
                prob = chosen.prob_default(features[rows])
                obs = metrics.calibration_summary(yv, prob)
                true = metrics.calibration_against_truth(prob, truth.to_numpy()[rows])
                auc = metrics.auc(yv, prob)
                mark = "*" if seg_models.champion.kind == kind else ""
                print(f"{seg:<13}{kind:<10}{rows.sum():>7}{auc:>7.3f}{truth_auc:>7.3f}"
                      f"{auc / truth_auc:>7.3f}{metrics.ks(yv, prob):>7.3f}"
                      f"{100 * obs['calibration_error']:>8.2f}"
                      f"{100 * obs['calibration_error_mean']:>9.2f}"
                      f"{100 * obs['calibration_noise']:>10.2f}"
                      f"{100 * true['gap'].max():>9.2f}{100 * true['gap'].mean():>10.2f}"
                      f"{100 * true['noise'].max():>11.2f}  {mark}")
        print("\nchampion calibration by decile (predicted / true / observed PD, %):")
        for seg, seg_models in models.segments.items():
            rows = (scored["segment"].to_numpy() == seg) & (part == "validate")
            prob = seg_models.champion.prob_default(features[rows])
            table = metrics.calibration_by_decile(y[rows], prob)
            true = metrics.calibration_against_truth(prob, truth.to_numpy()[rows])
            pairs = "  ".join(f"{100 * e:.1f}/{100 * t:.1f}/{100 * o:.1f}" for e, t, o in
                              zip(table["expected_pd"], true["true_pd"],
                                  table["observed_rate"], strict=True))
            print(f"  {seg:<13}{pairs}")
        spec = load_validation_spec(args.models_dir or default_models_dir())
        calibrated_on = (part != "validate") if spec.calibration.scheme == "cross_fit" else (
            part == "calibrate")
        true_logit = np.log(truth.to_numpy() / (1.0 - truth.to_numpy()))
        print("\nthe true PD recalibrated on each segment's training window "
              f"({spec.calibration.scheme}, {spec.calibration.method}), validation rows:")
        print(f"  {'segment':<13}{'n_cal':>7}{'obs_rate':>9}{'true_rate':>10}"
              f"{'true_max':>9}{'true_mean':>10}")
        for seg in models.segments:
            own = scored["segment"].to_numpy() == seg
            cal, val = own & calibrated_on, own & (part == "validate")
            recal = calibrate(true_logit[cal], y[cal], spec)
            prob = 1.0 / (1.0 + np.exp(-recal.transform(true_logit[val])))
            gaps = metrics.calibration_against_truth(prob, truth.to_numpy()[val])["gap"]
            print(f"  {seg:<13}{cal.sum():>7}{100 * y[cal].mean():>9.2f}"
                  f"{100 * truth.to_numpy()[cal].mean():>10.2f}{100 * gaps.max():>9.2f}"
                  f"{100 * gaps.mean():>10.2f}")
        print(f"calibration scheme: {result.validation['calibration_scheme']}; "
              f"validation.json champions: "
              f"{ {s: e['champion'] for s, e in result.validation['segments'].items()} }")


if __name__ == "__main__":
    main()
