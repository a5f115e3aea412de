"""techcredit's Scorecard beside optbinning, scorecardpy and toad, in one run.

Usage::

    /work/venv/bin/python bench/bench_scorecard_peers.py [--rows 200000] [--skip-large]

1. German credit (scorecardpy's copy), one stratified 70/30 split with seed 42:
   holdout AUC, KS and fit time of techcredit's Scorecard (YAML defaults), optbinning's
   Scorecard (defaults), scorecardpy (var_filter + woebin + LR) and toad (select +
   Combiner + WOETransformer + stepwise + LR).
2. A generated frame (default 200,000 rows, 20 numeric features, logistic truth):
   the same fits, fit-time ratios against techcredit.
3. Single-applicant scoring: techcredit ``score_row`` from the JSON state vs
   optbinning ``Scorecard.score`` on a one-row frame (medians).

scorecardpy and toad need pandas < 3 and scikit-learn < 1.7: they run in their own
virtualenv, ``bench/.peers-venv`` (created on first use with pip; gitignored), via
``bench/peers_recipes.py``. They never become dependencies of techcredit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".peers-venv"
PEERS_PYTHON = PEERS_VENV / "bin" / "python"
PEERS_REQUIREMENTS = ["scorecardpy==0.1.9.7", "toad==0.1.7", "pandas==2.3.3",
                      "scikit-learn==1.6.1"]
SEED = 42


def ensure_peers_venv() -> None:
    """Create bench/.peers-venv with the peers' own pinned stack if missing."""
    if PEERS_PYTHON.exists():
        return
    print(f"creating {PEERS_VENV} (one-off) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(PEERS_VENV)],
                   check=True)
    subprocess.run([str(PEERS_PYTHON), "-m", "ensurepip", "--upgrade"], check=True,
                   capture_output=True)
    subprocess.run([str(PEERS_PYTHON), "-m", "pip", "install", "-q", *PEERS_REQUIREMENTS],
                   check=True)


def run_peer(*args: str, timeout_s: float = 1800) -> dict:
    out = subprocess.run([str(PEERS_PYTHON), str(HERE / "peers_recipes.py"), *args],
                         capture_output=True, text=True, timeout=timeout_s, check=False)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def fit_techcredit(train: pd.DataFrame, y: np.ndarray):
    from techcredit.modeling import Scorecard

    start = time.perf_counter()
    card = Scorecard().fit(train, y)
    return card, time.perf_counter() - start


def fit_optbinning(train: pd.DataFrame, y: np.ndarray):
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    categorical = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]
    start = time.perf_counter()
    process = BinningProcess(list(train.columns), categorical_variables=categorical)
    card = Scorecard(binning_process=process, estimator=LogisticRegression(),
                     scaling_method="min_max", scaling_method_params={"min": 300, "max": 850})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        card.fit(train, y)
    return card, time.perf_counter() - start


def compare(name: str, train: pd.DataFrame, test: pd.DataFrame, y_train: np.ndarray,
            y_test: np.ndarray, workdir: Path, repeats: int) -> dict[str, dict]:
    from techcredit.modeling import metrics

    results: dict[str, dict] = {}
    times = []
    for _ in range(repeats):
        card, fit_s = fit_techcredit(train, y_train)
        times.append(fit_s)
    prob = card.predict_proba(test)[:, 1]
    results["techcredit"] = {"fit_s": statistics.median(times), "prob": prob, "model": card}
    times = []
    for _ in range(repeats):
        ob_card, fit_s = fit_optbinning(train, y_train)
        times.append(fit_s)
    results["optbinning"] = {"fit_s": statistics.median(times),
                             "prob": ob_card.predict_proba(test)[:, 1], "model": ob_card}
    train_csv, test_csv = workdir / f"{name}_train.csv", workdir / f"{name}_test.csv"
    train.assign(y=y_train).to_csv(train_csv, index=False)
    test.to_csv(test_csv, index=False)
    for recipe in ("scorecardpy", "toad"):
        peer = run_peer("fit", recipe, str(train_csv), str(test_csv))
        if "error" in peer:
            results[recipe] = {"error": peer["error"]}
        else:
            results[recipe] = {"fit_s": peer["fit_s"], "prob": np.asarray(peer["prob"]),
                               "versions": peer["versions"]}
    for res in results.values():
        if "prob" in res:
            res["auc"] = metrics.auc(y_test, res["prob"])
            res["ks"] = metrics.ks(y_test, res["prob"])
    return results


def print_table(title: str, results: dict[str, dict], n_train: int, n_test: int) -> None:
    base = results["techcredit"]["fit_s"]
    opt = results["optbinning"]["fit_s"]
    print(f"\n== {title}: train {n_train:,} rows, holdout {n_test:,} rows")
    print(f"{'model':<12} {'AUC':>7} {'KS':>7} {'fit s':>8} {'fit / techcredit':>17}"
          f" {'techcredit / it':>16}")
    for name, res in results.items():
        if "error" in res:
            print(f"{name:<12} failed: {res['error']}")
            continue
        print(f"{name:<12} {res['auc']:7.4f} {res['ks']:7.4f} {res['fit_s']:8.3f}"
              f" {res['fit_s'] / base:16.2f}x {base / res['fit_s']:15.2f}x")
    peers = {k: v["auc"] for k, v in results.items() if k != "techcredit" and "auc" in v}
    best = max(peers, key=peers.get)
    tc = results["techcredit"]["auc"]
    print(f"techcredit AUC {tc:.4f} vs best peer {best} {peers[best]:.4f}: "
          f"{'at or above' if tc >= peers[best] else 'BELOW'}; "
          f"fit time {base / opt:.2f}x optbinning's (target <= 2x)")


def synthetic_frame(n_rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """20 numeric features, logistic truth with monotone and U-shaped terms, 5 % missing."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, 20))
    weights = np.concatenate([np.linspace(0.8, 0.1, 10), np.zeros(10)])
    logit = -2.2 + x @ weights + 0.3 * (x[:, 10] ** 2 - 1) - 0.4 * np.tanh(2 * x[:, 11])
    y = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    frame = pd.DataFrame(x * 1_000 + 5_000, columns=[f"x{i:02d}" for i in range(20)])
    for col in frame.columns[::4]:
        frame.loc[rng.random(n_rows) < 0.05, col] = np.nan
    return frame, y


def single_row_timing(results: dict[str, dict], test: pd.DataFrame) -> None:
    from techcredit.modeling.scorecard import Scorecard

    state = json.dumps(results["techcredit"]["model"].to_dict())
    card = Scorecard.from_dict(json.loads(state))
    row = test.iloc[0].to_dict()
    frame = test.iloc[[0]]
    card.score_row(row)

    def median_s(func, n: int) -> float:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            func()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    tc_row = median_s(lambda: card.score_row(row), 20_000)
    tc_frame = median_s(lambda: card.points(frame), 2_000)
    ob = results["optbinning"]["model"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ob_frame = median_s(lambda: ob.score(frame), 300)
    same = card.score_row(row).points == card.points(frame).iloc[0]
    print("\n== single applicant, German credit model loaded from JSON (median per call)")
    print(f"techcredit score_row(dict)       {tc_row * 1e6:10.1f} us   (target < 50 us)")
    print(f"techcredit points(1-row frame)   {tc_frame * 1e6:10.1f} us")
    print(f"optbinning Scorecard.score(1 row){ob_frame * 1e6:10.1f} us")
    print(f"optbinning / techcredit score_row: {ob_frame / tc_row:.0f}x;"
          f" row path equals batch path: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    import optbinning  # warm the import so no fit time includes it
    from sklearn.model_selection import train_test_split

    import techcredit

    ensure_peers_venv()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        info = run_peer("data", str(workdir / "german.csv"))
        german = pd.read_csv(workdir / "german.csv")
        y = german.pop("y").to_numpy()
        x_train, x_test, y_train, y_test = train_test_split(
            german, y, test_size=0.3, stratify=y, random_state=SEED)
        print(f"techcredit {techcredit.__version__} (pandas {pd.__version__}, numpy "
              f"{np.__version__}, optbinning {optbinning.__version__}); German credit "
              f"{info['rows']} rows, {len(german.columns)} features, bad rate {y.mean():.3f}")
        results = compare("german", x_train, x_test, y_train, y_test, workdir, repeats=3)
        versions = {k: v.get("versions") for k, v in results.items() if v.get("versions")}
        print(f"peers venv: {versions}")
        print_table("German credit, stratified 70/30 split, seed 42", results,
                    len(x_train), len(x_test))
        single_row_timing(results, x_test)
        if not args.skip_large:
            frame, y_big = synthetic_frame(args.rows, SEED)
            x_train, x_test, y_train, y_test = train_test_split(
                frame, y_big, test_size=0.3, stratify=y_big, random_state=SEED)
            big = compare("synthetic", x_train, x_test, y_train, y_test, workdir, repeats=1)
            print_table(f"generated frame, {args.rows:,} rows x 20 numeric features", big,
                        len(x_train), len(x_test))


if __name__ == "__main__":
    main()
