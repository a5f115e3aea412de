"""Benchmark of the feature builders: many firms (training) and one firm (serving).

Run ``python bench/bench_features.py`` (100,000 firms; ``--firms`` to change). Prints:

* many firms: time to convert the frames to :class:`FirmArrays` and to build every
  feature with one ``as_of`` per application, peak traced memory of that work and
  the process's peak RSS (which also holds the generated input frames);
* a baseline measured in the same run: a naive pandas groupby implementation of five
  of the same features on a subset of firms, our full build on the same subset, the
  per-feature time ratio, and a check that the five features agree;
* one firm (24+ months of tax, ~300 invoices, ~10 patents): p50 / p99 of the
  single-firm build from FirmArrays, and of the frame-returning ``build_features``,
  measured first, before the many-firm build fills the heap.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import timeit
import tracemalloc

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--baseline-firms", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--invoice-scale", type=float, default=0.75,
                        help="generator knob; 0.75 gives ~300 invoices per firm")
    parser.add_argument("--reps", type=int, default=5_000)
    args = parser.parse_args()

    start = time.perf_counter()
    tables = generate(args.firms, seed=args.seed, invoice_scale=args.invoice_scale)
    apps = tables.applications
    print(f"generated {args.firms:,} firms in {time.perf_counter() - start:.1f} s: "
          + ", ".join(f"{name} {len(frame):,}" for name, frame in tables.items()))
    print(f"per firm: {len(tables.tax_filings) / args.firms:.1f} tax months, "
          f"{len(tables.invoices) / args.firms:.0f} invoices, "
          f"{len(tables.patents) / args.firms:.2f} patents "
          f"(patent holders: {tables.patents.groupby('firm_id').size().mean():.1f})")

    # ------------------------------------------------------------- one firm
    fid = _pick_firm(tables)
    one_tables = tables.for_firms([fid])
    one = FirmArrays.from_tables(one_tables)
    one_id = np.array([fid], dtype=np.int64)
    one_asof = as_of_days(apps.set_index("firm_id").loc[fid, "applied_on"], 1)
    thresholds = flag_thresholds(None)
    p50, p99 = _percentiles(lambda: build_matrix(one, one_id, one_asof, thresholds), args.reps)
    f50, f99 = _percentiles(lambda: build_features(one, one_asof, one_id), args.reps // 5)
    c50, c99 = _percentiles(lambda: FirmArrays.from_tables(one_tables), args.reps // 25)
    tiny = np.ones(1)
    op_ns = min(timeit.repeat(lambda: tiny + tiny, number=100_000, repeat=5)) / 100_000 * 1e9
    print(f"\none firm (id {fid}: {len(one_tables.tax_filings)} tax months, "
          f"{len(one_tables.invoices)} invoices, {len(one_tables.patents)} patents, "
          f"{len(one_tables.patent_events)} patent events):")
    print(f"  build_matrix from FirmArrays     p50 {p50:8.0f} us   p99 {p99:8.0f} us"
          "   (target p50 < 300 us)")
    print(f"  build_features -> DataFrame      p50 {f50:8.0f} us   p99 {f99:8.0f} us")
    print(f"  FirmArrays.from_tables (frames)  p50 {c50:8.0f} us   p99 {c99:8.0f} us")
    print(f"  machine reference: one numpy call on a 1-element array (a + a) = {op_ns:.0f} ns; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    # ------------------------------------------------------------- many firms
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    t0 = time.perf_counter()
    arrays = FirmArrays.from_tables(tables)
    t1 = time.perf_counter()
    ids = apps["firm_id"].to_numpy(dtype=np.int64)
    asof = as_of_days(apps["applied_on"], ids.size)
    matrix = build_matrix(arrays, ids, asof, thresholds)
    t2 = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"\nmany firms: {ids.size:,} rows x {len(matrix.names)} features")
    print(f"  frames -> FirmArrays  {t1 - t0:7.2f} s")
    print(f"  build_matrix          {t2 - t1:7.2f} s")
    print(f"  total                 {t2 - t0:7.2f} s   (target < 60 s)")
    print(f"  peak traced memory of conversion + build: {_mb(peak)}   (target < 4 GB)")
    print(f"  process peak RSS: {_mb(rss_before)} before the build (generator and its "
          f"frames), {_mb(rss)} after")

    # ------------------------------------------------------------- baseline
    sub = apps.iloc[: args.baseline_firms]
    sub_tables = tables.for_firms(sub["firm_id"])
    t0 = time.perf_counter()
    naive = naive_baseline(sub_tables, sub)
    t_naive = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = build_features(sub_tables, as_of=sub["applied_on"], firm_ids=sub["firm_id"])
    t_ours = time.perf_counter() - t0
    agree = all(np.allclose(naive[c].to_numpy(), ours[c].to_numpy(), rtol=1e-9,
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
