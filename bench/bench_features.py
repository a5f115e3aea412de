"""Benchmark of the feature builders: one firm (serving) and many firms (training, batch).

Run ``python bench/bench_features.py`` (100,000 firms; ``--firms`` to change). Prints:

* one firm (24+ months of tax, ~300 invoices, ~10 patents, picked from a small
  generated set): p50 / p99 of ``build_matrix`` from FirmArrays, of the frame-returning
  ``build_features``, of ``FirmArrays.from_tables`` and of the serving path
  ``FirmArrays.from_columns`` (the columns ``Application.columns()`` gives) + build;
* many firms: time to convert the frames to :class:`FirmArrays`, to build every feature
  (one ``as_of`` per application) on 1 and on 2 threads, the CPU time of each (the
  machine is shared: CPU time is the steadier figure), and the peak traced memory;
* ``--previous REV``: the same one-firm and many-firm figures of the implementation at
  git revision ``REV``, measured in this run in a subprocess (one-firm rounds
  interleaved with ours; the many-firm run before ours, so the two never hold the data
  at once), and the ratios;
* a naive pandas groupby of five of the same features on a subset of firms, our full
  build on the same subset, and a check that the five features agree.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from techcredit.data import generate
from techcredit.features import FirmArrays, build_features, feature_names
from techcredit.features._groups import as_of_days
from techcredit.features._query import flag_thresholds
from techcredit.features.build import build_matrix
from techcredit.schemas import RawTables

BASELINE_FEATURES = ("tax_paid_sum_12m", "inv_sales_net_12m", "inv_buyers_count_12m",
                     "inv_top1_share_12m", "ip_inforce_count_now")


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MB"


def _ref_month(as_of: pd.Series) -> pd.Series:
    """Reference month as a pandas Period (deadline day 15), the naive way."""
    month = as_of.dt.to_period("M")
    return month - 1 - (as_of.dt.day <= 15).astype(int)


def naive_baseline(tables: RawTables, apps: pd.DataFrame) -> pd.DataFrame:
    """Five features with merges and groupbys, one row per firm (one application each)."""
    as_of = apps.set_index("firm_id")["applied_on"]
    ref = _ref_month(as_of)
    out = pd.DataFrame(index=as_of.index)

    f = tables.tax_filings.merge(ref.rename("ref").reset_index(), on="firm_id")
    f = f[(f["filed_on"] <= f["firm_id"].map(as_of))]
    f["m"] = f["period"].dt.to_period("M")
    f = f[(f["m"] <= f["ref"]) & (f["m"] > f["ref"] - 12)]
    f = f.sort_values(["firm_id", "m", "filed_on"]).drop_duplicates(["firm_id", "m"], keep="last")
    paid = (f["vat_paid_cny"] + f["cit_paid_cny"]).groupby(f["firm_id"]).sum()
    out["tax_paid_sum_12m"] = paid.reindex(out.index, fill_value=0.0)

    v = tables.invoices.merge(ref.rename("ref").reset_index(), on="firm_id")
    v = v[v["issued_at"].dt.normalize() <= v["firm_id"].map(as_of)]
    v["m"] = v["issued_at"].dt.to_period("M")
    v = v[(v["m"] <= v["ref"]) & (v["m"] > v["ref"] - 12) & (v["status"] != "voided")]
    out["inv_sales_net_12m"] = v.groupby("firm_id")["amount_cny"].sum().reindex(
        out.index, fill_value=0.0)
    by_buyer = v.groupby(["firm_id", "buyer_id"])["amount_cny"].sum()
    by_buyer = by_buyer[by_buyer >= 0.005]  # below half a fen is float residue
    out["inv_buyers_count_12m"] = by_buyer.groupby(level=0).size().reindex(
        out.index, fill_value=0).astype(float)
    share = by_buyer.groupby(level=0).max() / by_buyer.groupby(level=0).sum()
    out["inv_top1_share_12m"] = share.reindex(out.index)

    p = tables.patents.copy()
    p["as_of"] = p["firm_id"].map(as_of)
    terms = {"invention": 20, "utility": 10, "design": 15, "software_copyright": 50}
    end = [d + pd.DateOffset(years=terms[k]) for d, k in zip(p["filed_on"], p["kind"],
                                                            strict=True)]
    e = tables.patent_events
    e = e[(e["event"] == "lapse") & (e["event_on"] <= e["firm_id"].map(as_of))]
    live = ((p["granted_on"] <= p["as_of"]) & ~p["patent_id"].isin(e["patent_id"])
            & (p["as_of"] < pd.DatetimeIndex(end)))
    out["ip_inforce_count_now"] = live.groupby(p["firm_id"]).sum().reindex(
        out.index, fill_value=0).astype(float)
    return out


def _percentiles(fn, reps: int) -> tuple[float, float]:
    for _ in range(min(200, reps)):
        fn()
    times = np.empty(reps)
    for i in range(reps):
        start = time.perf_counter_ns()
        fn()
        times[i] = time.perf_counter_ns() - start
    return float(np.percentile(times, 50)) / 1e3, float(np.percentile(times, 99)) / 1e3


def _pick_firm(tables: RawTables) -> int:
    """A firm close to 24 months of tax, 300 invoices and 10 patents."""
    n_tax = tables.tax_filings.groupby("firm_id").size()
    n_inv = tables.invoices.groupby("firm_id").size()
    n_pat = tables.patents.groupby("firm_id").size()
    frame = pd.concat({"tax": n_tax, "inv": n_inv, "pat": n_pat}, axis=1).fillna(0)
    frame = frame[frame["tax"] >= 24]
    score = (frame["inv"] - 300).abs() / 300 + (frame["pat"] - 10).abs() / 10
    return int(score.idxmin())


def _one_firm(args: argparse.Namespace) -> tuple[RawTables, int, np.ndarray]:
    tables = generate(args.one_firm_pool, seed=args.seed, invoice_scale=args.invoice_scale)
    fid = _pick_firm(tables)
    applied = tables.applications.loc[tables.applications["firm_id"] == fid, "applied_on"]
    return tables.for_firms([fid]), fid, as_of_days(applied.max(), 1)


def _time_one_firm(args: argparse.Namespace, *, serving_path: bool) -> dict[str, float]:
    """p50 / p99 (us) of the one-firm calls; the serving path needs the new API."""
    one_tables, fid, one_asof = _one_firm(args)
    one = FirmArrays.from_tables(one_tables)
    one_id = np.array([fid], dtype=np.int64)
    thresholds = flag_thresholds(None)
    out = {}
    out["build"] = _percentiles(lambda: build_matrix(one, one_id, one_asof, thresholds),
                                args.reps)
    out["frame"] = _percentiles(lambda: build_features(one, one_asof, one_id), args.reps // 5)
    out["from_tables"] = _percentiles(lambda: FirmArrays.from_tables(one_tables),
                                      args.reps // 25)
    if serving_path:
        cols = _application_columns(one_tables, one_asof)
        out["from_columns"] = _percentiles(lambda: FirmArrays.from_columns(cols), args.reps)
        out["columns+build"] = _percentiles(
            lambda: build_matrix(FirmArrays.from_columns(cols), one_id, one_asof, thresholds),
            args.reps)
    out["sizes"] = (fid, len(one_tables.tax_filings), len(one_tables.invoices),
                    len(one_tables.patents), len(one_tables.patent_events))
    return out


def _application_columns(tables: RawTables, asof: np.ndarray) -> dict:
    """The firm's records as a validated ``Application`` and its ``columns()``."""
    from techcredit.application import Application  # the serving contract (new API)

    def records(frame: pd.DataFrame) -> list[dict]:
        plain = frame.astype(object).where(frame.notna(), None)
        return plain.to_dict("records")

    applied = str(asof.astype("datetime64[D]")[0])
    app = Application.model_validate({
        "request": {"product": "tax_loan", "amount_cny": 500_000, "term_months": 12,
                    "applied_on": applied},
        "firm": records(tables.firms)[0],
        **{name: records(getattr(tables, name)) for name in (
            "tax_grades", "tax_filings", "invoices", "patents", "patent_events", "rnd")}})
    return app.columns()


def _time_many(tables: RawTables, *, threads: tuple[int, ...]) -> dict[str, float]:
    """Wall and CPU seconds of the conversion and of the build (per thread count)."""
    apps = tables.applications
    out = {}
    wall, cpu = time.perf_counter(), time.process_time()
    arrays = FirmArrays.from_tables(tables)
    out["from_tables"] = (time.perf_counter() - wall, time.process_time() - cpu)
    ids = apps["firm_id"].to_numpy(dtype=np.int64)
    asof = as_of_days(apps["applied_on"], ids.size)
    thresholds = flag_thresholds(None)
    for t in threads:
        kwargs = {"threads": t} if t else {}
        runs = []
        for _ in range(2):
            wall, cpu = time.perf_counter(), time.process_time()
            build_matrix(arrays, ids, asof, thresholds, **kwargs)
            runs.append((time.perf_counter() - wall, time.process_time() - cpu))
        out[f"build_{t}"] = min(runs)
    tracemalloc.start()
    build_matrix(arrays, ids, asof, thresholds, **({"threads": threads[-1]}
                                                    if threads[-1] else {}))
    out["build_peak_bytes"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out["groups"] = ids.size
    return out


def _worker(args: argparse.Namespace) -> None:
    """Run inside the previous revision's tree: print its figures as one JSON line."""
    if args.worker == "one":
        result = _time_one_firm(args, serving_path=False)
    else:
        result = _time_many(generate(args.firms, seed=args.seed), threads=(0,))
    print(json.dumps(result))


def _previous(rev: str, folder: Path) -> dict[str, str]:
    """Export ``rev``'s src and models into ``folder``; the environment to run it."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "src", "models"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    env = dict(os.environ, PYTHONPATH=str(folder / "src"),
               TECHCREDIT_MODELS_DIR=str(folder / "models"))
    return env


def _run_worker(env: dict[str, str], args: argparse.Namespace, mode: str) -> dict:
    cmd = [sys.executable, __file__, "--worker", mode, "--firms", str(args.firms),
           "--seed", str(args.seed), "--invoice-scale", str(args.invoice_scale),
           "--reps", str(args.reps), "--one-firm-pool", str(args.one_firm_pool)]
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median_of(rounds: list[dict], key: str) -> tuple[float, float]:
    return (float(np.median([r[key][0] for r in rounds])),
            float(np.median([r[key][1] for r in rounds])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--baseline-firms", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--invoice-scale", type=float, default=0.75,
                        help="generator knob for the one-firm pool; 0.75 gives ~300 "
                             "invoices per firm")
    parser.add_argument("--one-firm-pool", type=int, default=3_000,
                        help="firms generated to pick the one-firm case from")
    parser.add_argument("--reps", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved one-firm rounds (ours, previous, ours, ...)")
    parser.add_argument("--previous", metavar="REV",
                        help="also measure the implementation at this git revision")
    parser.add_argument("--worker", choices=["one", "many"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return

    with tempfile.TemporaryDirectory() as folder:
        env = _previous(args.previous, Path(folder)) if args.previous else None
        _report(args, env)


def _report(args: argparse.Namespace, env: dict[str, str] | None) -> None:
    # ------------------------------------------------------------- one firm
    ours, theirs = [], []
    for _ in range(args.rounds if env else 1):
        ours.append(_time_one_firm(args, serving_path=True))
        if env:
            theirs.append(_run_worker(env, args, "one"))
    fid, n_tax, n_inv, n_pat, n_ev = ours[0]["sizes"]
    tiny = np.ones(1)
    op_ns = min(timeit.repeat(lambda: tiny + tiny, number=100_000, repeat=5)) / 100_000 * 1e9
    print(f"one firm (id {fid}: {n_tax} tax months, {n_inv} invoices, {n_pat} patents, "
          f"{n_ev} patent events); medians of {len(ours)} round(s) of p50 / p99:")
    rows = [("build", "build_matrix from FirmArrays"), ("frame", "build_features -> DataFrame"),
            ("from_tables", "FirmArrays.from_tables (frames)"),
            ("from_columns", "FirmArrays.from_columns (serving)"),
            ("columns+build", "from_columns + build_matrix")]
    for key, label in rows:
        p50, p99 = _median_of(ours, key)
        line = f"  {label:34s} p50 {p50:7.0f} us  p99 {p99:7.0f} us"
        if theirs and key in theirs[0]:
            q50, q99 = _median_of(theirs, key)
            line += f"   previous p50 {q50:7.0f} us  p99 {q99:7.0f} us  ratio {q50 / p50:4.2f}x"
        print(line + ("   (target p50 < 300 us)" if key == "build" else ""))
    print(f"  machine reference: one numpy call on a 1-element array (a + a) = {op_ns:.0f} ns; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    # ------------------------------------------------------------- many firms
    previous = _run_worker(env, args, "many") if env else None
    start = time.perf_counter()
    tables = generate(args.firms, seed=args.seed)
    print(f"\ngenerated {args.firms:,} firms in {time.perf_counter() - start:.1f} s: "
          + ", ".join(f"{name} {len(frame):,}" for name, frame in tables.items()))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    many = _time_many(tables, threads=(1, 2))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"many firms: {many['groups']:,} groups x {len(feature_names())} features "
          "(wall / CPU seconds, best of 2 builds)")
    lines = [("from_tables", "frames -> FirmArrays"), ("build_1", "build_matrix, 1 thread"),
             ("build_2", "build_matrix, 2 threads")]
    for key, label in lines:
        wall, cpu = many[key]
        line = f"  {label:26s} {wall:6.2f} s wall {cpu:6.2f} s CPU"
        old_key = "build_0" if key.startswith("build") else key
        if previous:
            pw, pc = previous[old_key]
            line += (f"   previous {pw:6.2f} s wall {pc:6.2f} s CPU   ratio wall "
                     f"{pw / wall:4.2f}x CPU {pc / cpu:4.2f}x")
        print(line)
    rate = many["groups"] / many["build_2"][0]
    print(f"  groups/s of the feature step (2 threads): {rate:,.0f}"
          "   (target: 100,000 well under 5 s)")
    peak = f"{_mb(many['build_peak_bytes'])}"
    if previous:
        peak += f"   previous {_mb(previous['build_peak_bytes'])}"
    print(f"  peak traced memory of the build: {peak}   (target < 4 GB)")
    print(f"  process peak RSS: {_mb(rss_before)} before the conversion (generator and its "
          f"frames), {_mb(rss)} after")

    # ------------------------------------------------------------- baseline
    apps = tables.applications
    sub = apps.iloc[: args.baseline_firms]
    sub_tables = tables.for_firms(sub["firm_id"])
    t0 = time.perf_counter()
    naive = naive_baseline(sub_tables, sub)
    t_naive = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours_frame = build_features(sub_tables, as_of=sub["applied_on"], firm_ids=sub["firm_id"])
    t_ours = time.perf_counter() - t0
    agree = all(np.allclose(naive[c].to_numpy(), ours_frame[c].to_numpy(), rtol=1e-9,
                            equal_nan=True) for c in BASELINE_FEATURES)
    per_naive = t_naive / len(BASELINE_FEATURES)
    per_ours = t_ours / len(feature_names())
    print(f"\nbaseline on {len(sub):,} firms (same run):")
    print(f"  naive pandas groupby, {len(BASELINE_FEATURES)} features: {t_naive:7.2f} s")
    print(f"  build_features (frames in), {len(feature_names())} features: {t_ours:7.2f} s")
    print(f"  per-feature speed-up: {per_naive / per_ours:,.0f}x; "
          f"wall-clock ratio naive/ours: {t_naive / t_ours:.1f}x; "
          f"five features agree: {agree}")


if __name__ == "__main__":
    main()
