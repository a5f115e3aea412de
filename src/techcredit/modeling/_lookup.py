"""The compiled bin lookup of a numeric scorecard's few-row path (see
:meth:`techcredit.modeling.scorecard.Scorecard.contributions_ordered`)."""

from __future__ import annotations

import numpy as np

from techcredit.features._jit import kernel

__all__ = ["lookup"]


@kernel
def lookup(x: np.ndarray, splits: np.ndarray, special: np.ndarray, special_bin: np.ndarray,
           missing_bin: np.ndarray, offset: np.ndarray, contrib: np.ndarray,
           intercept: float, out: np.ndarray) -> int:
    """Each value's bin: its missing bin when NaN, the highest bin of a special code it
    equals, else how many splits it reaches (splits padded with +inf, codes with NaN)."""
    n, k = x.shape
    for j in range(k):
        for i in range(n):
            if np.isinf(x[i, j]):
                return j
    for i in range(n):
        for j in range(k):
            v = x[i, j]
            if np.isnan(v):
                b = missing_bin[j]
            else:
                b = 0
                for s in range(splits.shape[1]):
                    if v >= splits[j, s]:
                        b += 1
                coded = -1
                for d in range(special.shape[1]):
                    if v == special[j, d] and special_bin[j, d] > coded:
                        coded = special_bin[j, d]
                if coded >= 0:
                    b = coded
            out[i, j] = contrib[b + offset[j]]
        out[i, k] = intercept
    return -1
