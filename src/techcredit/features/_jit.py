"""Compiled per-group loops (numba) shared by the feature blocks.

A block's kernel walks the requested groups one at a time, each over its own slice of
a source's sorted records, so one firm (serving) and 100,000 groups (training) run the
same instructions in the same order and give bit-identical features. Kernels are
compiled on first use and cached next to the module (``cache=True``); they release the
GIL (``nogil=True``), so :func:`techcredit.features.build_matrix` builds chunks on
several threads. ``error_model="numpy"`` makes ``x / 0.0`` give ``inf`` or ``nan``
instead of raising, as numpy does.

Sums over a window are written to match numpy's own reductions bit for bit
(:func:`pairwise_sum` is numpy's pairwise summation for a contiguous row), so a
kernel and the numpy expression it replaces agree exactly.

Examples
--------
>>> import numpy as np
>>> x = np.random.default_rng(0).standard_normal(12) * 1e6
>>> bool(pairwise_sum(x) == np.add.reduce(x))
True
>>> float(safe_ratio(1.0, 4.0)), bool(np.isnan(safe_ratio(1.0, 0.0)))
(0.25, True)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["holds", "kernel", "kernel_array", "maximum", "minimum", "month_of_day",
           "month_start_day",
           "output_rows", "pairwise_sum", "safe_ratio", "slope12"]


def kernel(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``fn`` as a cached, GIL-free numba function with numpy's float errors.

    Where numba finds no writable cache directory (a read-only install without a
    writable home; set ``NUMBA_CACHE_DIR`` to choose one), the kernel is compiled in
    each process instead, with a warning: slower to start, same results.
    """
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
    except RuntimeError as exc:  # numba: "cannot cache function ...: no locator available"
        logger.warning("feature kernel %s is not cached (%s); set NUMBA_CACHE_DIR to a "
                       "writable directory", fn.__name__, exc)
        return numba.njit(nogil=True, error_model="numpy")(fn)


def kernel_array(values: Any, dtype: Any = np.float64) -> np.ndarray:
    """``values`` as a writable C-contiguous array, copied only when it is not one.

    numba compiles a separate specialization for a read-only array (a pandas or frame
    view); handing every kernel writable arrays keeps one compile per kernel.

    Examples
    --------
    >>> view = np.arange(3.0)
    >>> view.flags.writeable = False
    >>> kernel_array(view).flags.writeable, kernel_array(np.arange(3.0)).dtype.name
    (True, 'float64')
    """
    a = np.asarray(values, dtype=_DTYPES.get(dtype, dtype))
    flags = a.flags  # a new object on each access: read it once
    return a if flags.c_contiguous and flags.writeable else a.copy()


_DTYPES: dict[Any, np.dtype] = {t: np.dtype(t) for t in (np.float64, np.int64, np.intp, bool,
                                                          np.int8, np.int32)}
"""The dtype object of each type :func:`kernel_array` is usually asked for: numpy resolves
an instance faster than a type, and this runs dozens of times per decision."""


def output_rows(written: tuple[str, ...], names: tuple[str, ...]) -> np.ndarray:
    """Row in ``names`` (a block's catalogue order) of each feature a kernel writes.

    Raises
    ------
    RuntimeError
        Unless the kernel writes every feature of the block exactly once (a catalogue
        edit the kernel does not follow would otherwise leave rows unset).

    Examples
    --------
    >>> output_rows(("b", "a"), ("a", "b")).tolist()
    [1, 0]
    """
    if sorted(written) != sorted(names):
        raise RuntimeError(f"kernel writes {sorted(set(written) ^ set(names))} "
                           "differently from the catalogue")
    return np.array([names.index(name) for name in written], dtype=np.intp)


@kernel
def pairwise_sum(a: np.ndarray) -> float:
    """Sum of a 1-D float64 array in numpy's order (``np.add.reduce`` on a row).

    numpy adds fewer than 8 values left to right; up to 128 values it keeps 8 running
    sums, combines them pairwise and adds the remainder left to right.
    """
    n = a.size
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[0], a[1], a[2], a[3]
    r4, r5, r6, r7 = a[4], a[5], a[6], a[7]
    i = 8
    stop = n - n % 8
    while i < stop:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res


_X12 = np.arange(12, dtype=np.float64) - 5.5  # months of a year, centred
_SXX12 = float(np.sum(_X12 * _X12))


@kernel
def slope12(y: np.ndarray) -> float:
    """Least-squares slope (per month) of 12 monthly values, oldest first.

    Examples
    --------
    >>> slope12(np.arange(12.0) * 3.0)
    3.0
    """
    return pairwise_sum(y * _X12) / _SXX12


@kernel
def minimum(a: float, b: float) -> float:
    """``np.minimum`` of two floats: NaN if either is (Python's ``min`` is not).

    Examples
    --------
    >>> minimum(1.0, 2.0), bool(np.isnan(minimum(1.0, np.nan)))
    (1.0, True)
    """
    return a if a < b or a != a else b


@kernel
def maximum(a: float, b: float) -> float:
    """``np.maximum`` of two floats: NaN if either is."""
    return a if a > b or a != a else b


@kernel
def holds(value: float, op: int, threshold: float) -> bool:
    """``value <op> threshold``, ``op`` the operator's index in
    :data:`techcredit.config._base.COMPARISONS` (``<``, ``<=``, ``>``, ``>=``, ``==``,
    ``!=``); never true on NaN, as :func:`techcredit.config._base.compare`.

    Examples
    --------
    >>> holds(1.0, 3, 1.0), holds(float("nan"), 5, 1.0), holds(2.0, 5, 1.0)
    (True, False, True)
    """
    if np.isnan(value):
        return False
    if op == 0:
        return value < threshold
    if op == 1:
        return value <= threshold
    if op == 2:
        return value > threshold
    if op == 3:
        return value >= threshold
    if op == 4:
        return value == threshold
    return value != threshold


@kernel
def safe_ratio(num: float, den: float) -> float:
    """``num / den``, NaN where ``den`` is not positive (as :func:`._groups.ratio`)."""
    if den > 0.0:
        return num / den
    return np.nan


@kernel
def month_start_day(month: int) -> int:
    """Day number of the first day of a month index (months since 1970-01).

    The proleptic Gregorian calendar by integer arithmetic (Howard Hinnant's
    ``days_from_civil``), equal to numpy's ``datetime64[M]`` to ``datetime64[D]``.
    """
    m = month % 12 + 1
    y = 1970 + month // 12 - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


@kernel
def month_of_day(day: int) -> int:
    """Month index (months since 1970-01) of a day number (``civil_from_days``)."""
    z = day + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (m <= 2)
    return (y - 1970) * 12 + m - 1
