"""Benchmark: generating 100,000 firms with invoices (target < 120 s, < 8 GB peak).

Prints wall time, peak resident memory of the generating process, rows per table and,
as a baseline measured in the same run, the time numpy takes merely to draw as many
standard-normal numbers as there are invoice cells (the floor of any generator that
draws once per value), with the ratio.

Run: ``python bench/bench_generate.py [--n-firms 100000] [--repeats 1]``
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np

from techcredit.data import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-firms", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    times = []
    tables = None
    for _ in range(args.repeats):
        start = time.perf_counter()
        tables = generate(args.n_firms, seed=1)
        times.append(time.perf_counter() - start)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    rows = {name: len(frame) for name, frame in tables.items()}
    cells = sum(rows.values())
    width = sum(frame.shape[1] for _, frame in tables.items()) / len(rows)
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    for _ in range(int(width)):
        rng.standard_normal(rows["invoices"])
    floor = time.perf_counter() - start
    median = statistics.median(times)
    print(f"firms generated          {args.n_firms:>12,}")
    for name, count in rows.items():
        print(f"  {name:<22} {count:>12,} rows")
    print(f"generate() median        {median:>10.1f} s   (target < 120 s)")
    print(f"peak resident memory     {peak_gb:>10.2f} GB  (target < 8 GB)")
    print(f"baseline: {int(width)} normal draws per invoice row: {floor:.1f} s; "
          f"generate / baseline = {median / floor:.1f}x  ({cells:,} rows in all)")


if __name__ == "__main__":
    main()
