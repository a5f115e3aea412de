"""Benchmark: training on a large generated set, judged against the known truth.

For each segment and model, prints the out-of-time holdout AUC beside the AUC of the
true PD on the same rows (the generator's known truth: the best any model can do),
their ratio (target >= 0.95), KS, and the largest gap between mean predicted PD and
observed default rate over deciles (target < 1.5 percentage points).

Run: ``python bench/bench_train.py [--n-firms 100000] [--seed 1]``
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from techcredit.data import generate
from techcredit.decision.models import BundleModels
from techcredit.modeling import metrics
from techcredit.pipeline.train import split_out_of_time, train, training_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-firms", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    tables = generate(args.n_firms, seed=args.seed)
    t_gen = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = train(tables, Path(tmp) / "bundle", progress=False)
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
                  f"{'KS':>7}{'cal_err_pp':>11}  champion")
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
                table = metrics.calibration_by_decile(yv, prob)
                cal = float((table["expected_pd"] - table["observed_rate"]).abs().max())
                auc = metrics.auc(yv, prob)
                mark = "*" if seg_models.champion.kind == kind else ""
                print(f"{seg:<13}{kind:<10}{rows.sum():>7}{auc:>7.3f}{truth_auc:>7.3f}"
                      f"{auc / truth_auc:>7.3f}{metrics.ks(yv, prob):>7.3f}{100 * cal:>11.2f}  "
                      f"{mark}")
        print("\nchampion calibration by decile (expected vs observed default rate, %):")
        for seg, seg_models in models.segments.items():
            rows = (scored["segment"].to_numpy() == seg) & (part == "validate")
            table = metrics.calibration_by_decile(
                y[rows], seg_models.champion.prob_default(features[rows]))
            pairs = "  ".join(f"{100 * e:.1f}/{100 * o:.1f}" for e, o in
                              zip(table["expected_pd"], table["observed_rate"], strict=True))
            print(f"  {seg:<13}{pairs}")
        print(f"validation.json champions: "
              f"{ {s: e['champion'] for s, e in result.validation['segments'].items()} }")


if __name__ == "__main__":
    main()
