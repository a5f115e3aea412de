"""Benchmark: innovation rating and patent valuation, one firm (serving) and 100,000 firms.

Prints, measured in the same run (the machine is shared: medians and ratios):

1. one realistic tech firm (~10 patents, 3 annual reports; features prebuilt, reference
   citation cohorts given): p50 / p99 of the numpy serving path
   :func:`techcredit.rating.serving.rate_prepared`, against the pandas path for the same
   firm (``rate_firms`` + ``value_patents`` + ``portfolio_value`` on its records);
2. 100,000 firms: ``rate_prepared`` on prebuilt features (the feature build is timed
   separately and NOT included), against the pandas path (``rating_inputs`` +
   ``rate_innovation``, then ``value_patents`` + ``portfolio_value``), and a check that
   both give the same tiers and pledge values.

Run: ``python bench/bench_rating.py [n_firms] [single_firm_calls]``.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from techcredit.data import generate
from techcredit.features import FirmArrays
from techcredit.features._query import flag_thresholds
from techcredit.features.build import build_blocks
from techcredit.rating import (
    CitationCohorts,
    portfolio_value,
    rate_firms,
    rate_innovation,
    rating_inputs,
    value_patents,
)
from techcredit.rating.official import default_innovation_spec
from techcredit.rating.serving import rate_prepared


def _quantiles(times: list[float]) -> tuple[float, float]:
    return float(np.median(times)), float(np.percentile(times, 99))


def _one_firm(tables: object, cohorts: CitationCohorts, calls: int) -> None:
    pats = tables.patents.groupby("firm_id").size()  # type: ignore[attr-defined]
    reps = tables.rnd.groupby("firm_id").size()  # type: ignore[attr-defined]
    fid = int(next(f for f in pats.index if 9 <= pats[f] <= 11 and reps.get(f, 0) == 3))
    one = tables.for_firms([fid])  # type: ignore[attr-defined]
    arrays = FirmArrays.from_tables(one)
    ids = np.array([fid], dtype=np.int64)
    day = one.applications["applied_on"].to_numpy()[:1].astype("datetime64[D]").astype(
        np.int64)
    feats = build_blocks(arrays, ids, day, flag_thresholds(None))
    for _ in range(200):  # warm caches (compiled specs, cohort memo)
        rate_prepared(feats, arrays, ids, day, cohorts=cohorts)
    fast = []
    for _ in range(calls):
        start = time.perf_counter()
        rate_prepared(feats, arrays, ids, day, cohorts=cohorts)
        fast.append(time.perf_counter() - start)
    slow = []
    for _ in range(max(calls // 50, 20)):
        start = time.perf_counter()
        rate_firms(one, firm_ids=ids)
        portfolio_value(value_patents(one, firm_ids=ids, cohorts=cohorts), firm_ids=ids)
        slow.append(time.perf_counter() - start)
    p50, p99 = _quantiles(fast)
    b50, b99 = _quantiles(slow)
    print(f"one firm ({int(pats[fid])} patents, 3 reports), features prebuilt:")
    print(f"  rate_prepared            p50 {p50 * 1e6:7.0f} us  p99 {p99 * 1e6:7.0f} us"
          f"  ({calls} calls; target p50 < 150 us)")
    print(f"  pandas path (baseline)   p50 {b50 * 1e6:7.0f} us  p99 {b99 * 1e6:7.0f} us"
          f"  ({len(slow)} calls)")
    print(f"  ratio p50: serving path is {b50 / p50:,.0f}x faster")


def main(n_firms: int = 100_000, calls: int = 5_000) -> None:
    spec = default_innovation_spec()
    start = time.perf_counter()
    tables = generate(n_firms, seed=20261122, invoice_scale=0.05)
    print(f"generated {n_firms:,} firms in {time.perf_counter() - start:.1f} s (not timed)")
    apps = tables.applications.drop_duplicates("firm_id")
    ids = apps["firm_id"].to_numpy(dtype=np.int64)
    days = apps["applied_on"].to_numpy().astype("datetime64[D]").astype(np.int64)

    start = time.perf_counter()
    valued = value_patents(tables, firm_ids=ids)
    port = portfolio_value(valued, firm_ids=ids)
    t_value = time.perf_counter() - start
    cohorts = CitationCohorts.fit(valued["ipc_class"].to_numpy(),
                                  valued["filing_year"].to_numpy(),
                                  valued["citations"].to_numpy(), min_size=20)
    _one_firm(tables, cohorts, calls)

    start = time.perf_counter()
    inputs = rating_inputs(tables, firm_ids=ids, spec=spec)
    t_inputs = time.perf_counter() - start
    start = time.perf_counter()
    rated = rate_innovation(inputs, spec)
    t_rate = time.perf_counter() - start
    t_pandas = t_inputs + t_rate
    print(f"{n_firms:,} firms, pandas path (baseline):")
    print(f"  rating_inputs {t_inputs:5.2f} s + rate_innovation {t_rate:5.2f} s = "
          f"{t_pandas:5.2f} s; value_patents + portfolio_value {t_value:5.2f} s")

    start = time.perf_counter()
    arrays = FirmArrays.from_tables(tables)
    feats = build_blocks(arrays, ids, days, flag_thresholds(None))
    t_feats = time.perf_counter() - start
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        served = rate_prepared(feats, arrays, ids, days, cohorts=cohorts)
        runs.append(time.perf_counter() - start)
    t_served = float(np.median(runs))
    same_tier = bool(np.array_equal(served.tier, rated["tier"].to_numpy()))
    pledge_gap = float(np.max(np.abs(served.pledge_value_cny
                                     - port["pledge_value_cny"].to_numpy())))
    print(f"{n_firms:,} firms, rate_prepared (rating + patent values; features prebuilt, "
          f"NOT timed: FirmArrays + build_blocks took {t_feats:.2f} s):")
    print(f"  median of 3: {t_served:5.2f} s (runs {', '.join(f'{r:.2f}' for r in runs)});"
          f" {t_pandas / t_served:.1f}x the pandas rating alone, "
          f"{(t_pandas + t_value) / t_served:.1f}x rating + valuation")
    print(f"  same tiers as the pandas path: {same_tier}; max |pledge value gap| "
          f"{pledge_gap:.3g} CNY (cohorts here: fitted on the batch, as in value_patents)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 5_000)
