"""Peer scorecard recipes, run inside the peers' own virtualenv (bench/.peers-venv).

scorecardpy and toad need pandas < 3 and scikit-learn < 1.7, so this script runs in a
separate interpreter started by ``bench_scorecard_peers.py``; it never imports
techcredit. Commands (results as JSON on stdout):

``data OUT.csv``
    write scorecardpy's German credit data with a 0/1 target column ``y`` (1 = bad).
``fit RECIPE TRAIN.csv TEST.csv``
    fit ``scorecardpy`` (var_filter + woebin + LR) or ``toad`` (select + Combiner +
    WOETransformer + stepwise + LR) on TRAIN and return the fit time in seconds and
    the default probabilities of TEST.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import pandas as pd
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore")


def german_credit(out_path: str) -> None:
    import scorecardpy as sc

    data = sc.germancredit()
    data["y"] = (data.pop("creditability") == "bad").astype(int)
    for col in data.columns:
        if str(data[col].dtype) == "category":
            data[col] = data[col].astype(str)
    data.to_csv(out_path, index=False)
    print(json.dumps({"rows": len(data), "columns": list(data.columns)}))


def fit_scorecardpy(train: pd.DataFrame, test: pd.DataFrame) -> tuple[float, list[float]]:
    import scorecardpy as sc

    start = time.perf_counter()
    kept = sc.var_filter(train, y="y")  # IV >= 0.02, missing <= 95%, identical <= 95%
    bins = sc.woebin(kept, y="y")
    train_woe = sc.woebin_ply(kept, bins)
    features = [c for c in train_woe.columns if c != "y"]
    model = LogisticRegression(penalty="l1", C=0.9, solver="liblinear")
    model.fit(train_woe[features], train_woe["y"])
    fit_s = time.perf_counter() - start
    test_woe = sc.woebin_ply(test[[c for c in kept.columns if c != "y"]], bins)
    prob = model.predict_proba(test_woe[features])[:, 1]
    return fit_s, prob.tolist()


def fit_toad(train: pd.DataFrame, test: pd.DataFrame) -> tuple[float, list[float]]:
    import toad

    start = time.perf_counter()
    selected = toad.selection.select(train, target="y", empty=0.5, iv=0.02, corr=0.7)
    combiner = toad.transform.Combiner()
    combiner.fit(selected, y="y", method="chi", min_samples=0.05)
    binned = combiner.transform(selected)
    woe = toad.transform.WOETransformer()
    train_woe = woe.fit_transform(binned, binned["y"], exclude=["y"])
    final = toad.selection.stepwise(train_woe, target="y", estimator="ols", direction="both",
                                    criterion="aic")
    features = [c for c in final.columns if c != "y"]
    model = LogisticRegression()
    model.fit(final[features], final["y"])
    fit_s = time.perf_counter() - start
    test_woe = woe.transform(combiner.transform(test[[c for c in selected.columns if c != "y"]]))
    prob = model.predict_proba(test_woe[features])[:, 1]
    return fit_s, prob.tolist()


def main(argv: list[str]) -> None:
    if argv[0] == "data":
        german_credit(argv[1])
        return
    if argv[0] == "fit":
        recipe, train_path, test_path = argv[1:4]
        train = pd.read_csv(train_path)
        test = pd.read_csv(test_path)
        fit = {"scorecardpy": fit_scorecardpy, "toad": fit_toad}[recipe]
        fit_s, prob = fit(train, test)
        versions = {"pandas": pd.__version__}
        mod = __import__(recipe)
        versions[recipe] = getattr(mod, "__version__", "?")
        print(json.dumps({"fit_s": fit_s, "prob": prob, "versions": versions}))
        return
    raise SystemExit(f"unknown command {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
