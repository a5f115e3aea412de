"""Benchmark: innovation rating of 100,000 firms (target < 10 s on 2 cores).

Prints the vectorised time for (a) rating from prepared inputs and (b) the whole path
from raw records (point-in-time inputs + official scores + rating), and a baseline
measured in the same run: the same code called once per firm (serving style) on a
few hundred firms, scaled to 100,000. Run: ``python bench/bench_rating.py [n_firms]``.
"""

from __future__ import annotations

import sys
import time

from techcredit.data import generate
from techcredit.rating import rate_firms, rate_innovation, rating_inputs
from techcredit.rating.official import default_innovation_spec


def main(n_firms: int = 100_000, baseline_firms: int = 300) -> None:
    spec = default_innovation_spec()
    start = time.perf_counter()
    tables = generate(n_firms, seed=20261122, invoice_scale=0.05)
    print(f"generated {n_firms:,} firms in {time.perf_counter() - start:.1f} s (not timed)")

    start = time.perf_counter()
    inputs = rating_inputs(tables, spec=spec)
    t_inputs = time.perf_counter() - start
    start = time.perf_counter()
    rated = rate_innovation(inputs, spec)
    t_rate = time.perf_counter() - start
    print(f"inputs (features' IP and R&D blocks + extras): {t_inputs:6.2f} s")
    print(f"rating from inputs (official scores + tiers):  {t_rate:6.2f} s")
    print(f"whole path, {n_firms:,} firms:                   {t_inputs + t_rate:6.2f} s "
          f"(target < 10 s)")

    ids = rated.index[:baseline_firms]
    start = time.perf_counter()
    for fid in ids:  # row by row: one serving call per firm, same code path
        rate_firms(tables.for_firms([fid]), spec=spec)
    per_firm = (time.perf_counter() - start) / len(ids)
    start = time.perf_counter()
    for i in range(len(ids)):  # row by row from prepared inputs
        rate_innovation(inputs.iloc[i:i + 1], spec)
    per_row = (time.perf_counter() - start) / len(ids)
    scaled_rows = per_row * n_firms
    print(f"baseline row-by-row rate_innovation: {per_row * 1e3:.2f} ms/firm -> "
          f"{scaled_rows:,.0f} s for {n_firms:,}; vectorised is {scaled_rows / t_rate:,.0f}x "
          "faster")
    print(f"baseline one-firm rate_firms (incl. tables.for_firms): {per_firm * 1e3:.1f} ms/firm"
          f" -> {per_firm * n_firms:,.0f} s for {n_firms:,}; whole vectorised path is "
          f"{per_firm * n_firms / (t_inputs + t_rate):,.0f}x faster")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
