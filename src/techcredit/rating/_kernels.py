"""Many score curves or official band tables evaluated in one compiled loop.

The rating evaluates about twenty curves and fourteen band tables per firm. Called one
by one with numpy, the per-call overhead dominates a single firm (hundreds of calls);
here a set of curves (or tables) is a few arrays and one value is scored by a compiled
function (:func:`curve_value`, :func:`band_value`), which the rating's fused kernels
call too. These are the only implementations of a curve and of a band table in
:mod:`techcredit.rating`.

* :class:`CurveSet`: piecewise-linear curves, flat outside their knots, the same
  arithmetic as :func:`numpy.interp` (``slope * (x - x_k) + y_k``), so values agree
  with it bit for bit; a missing (NaN) input scores a stated value.
* :class:`BandSet`: official points tables (see :class:`techcredit.config.rating.Band`):
  the first band reached, linear inside a ``[low, high]`` range up to ``full_at``,
  rounded half-up to the table's step; NaN and below every band score 0.

Examples
--------
>>> from techcredit.config.rating import BandTable, Curve
>>> curves = CurveSet.build([Curve(knots=[(0, 0), (10, 100)])], missing=[50.0])
>>> curves(np.array([[-1.0, 2.5, np.nan, 99.0]])).tolist()
[[0.0, 25.0, 50.0, 100.0]]
>>> table = BandTable(max_points=6, bands=[{"min": 5, "points": [5, 6], "full_at": 10},
...                                        {"min": 0, "exclusive": True, "points": [1, 1]}])
>>> BandSet.build([table], steps=[1.0])(np.array([[0.0, 0.1, 7.0, np.nan]])).tolist()
[[0.0, 1.0, 5.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from techcredit.config.rating import BandTable, Curve
from techcredit.features._jit import kernel, kernel_array, maximum, minimum

__all__ = ["BandSet", "CurveSet", "band_value", "curve_value", "stack"]


def stack(rows: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Stack ``n``-long 1-D arrays into a C-contiguous float64 ``(len(rows), n)`` array.

    Examples
    --------
    >>> stack([np.array([1.0, 2.0]), np.array([True, False])], 2).tolist()
    [[1.0, 2.0], [1.0, 0.0]]
    """
    return np.array(rows, dtype=np.float64).reshape(len(rows), n)


@dataclass(frozen=True, slots=True, eq=False)
class CurveSet:
    """``C`` piecewise-linear curves; evaluate a ``(C, n)`` array of inputs at once."""

    lo: np.ndarray
    """``(C, 1)`` first knot x."""
    hi: np.ndarray
    """``(C, 1)`` last knot x."""
    xs: np.ndarray
    """``(C, K)`` knot x, padded with +inf."""
    xs_flat: np.ndarray
    ys_flat: np.ndarray
    slope_flat: np.ndarray
    """Slope of the segment starting at each knot; 0 at the last knot and the padding."""
    offset: np.ndarray
    """``(C, 1)`` start of each curve in the flat arrays."""
    missing: np.ndarray
    """``(C, 1)`` score of a NaN input."""

    @classmethod
    def build(cls, curves: Sequence[Curve], missing: Sequence[float]) -> CurveSet:
        """Pad the knots of ``curves`` into arrays; ``missing[i]`` scores a NaN input."""
        width = max(len(c.knots) for c in curves)
        xs = np.full((len(curves), width), np.inf)
        ys = np.zeros((len(curves), width))
        slope = np.zeros((len(curves), width))
        for i, curve in enumerate(curves):
            x = np.array([k[0] for k in curve.knots], dtype=np.float64)
            y = np.array([k[1] for k in curve.knots], dtype=np.float64)
            xs[i, :x.size], ys[i, :x.size], ys[i, x.size:] = x, y, y[-1]
            slope[i, :x.size - 1] = (y[1:] - y[:-1]) / (x[1:] - x[:-1])  # finite: Curve
        col = np.array([[c.knots[0][0]] for c in curves], dtype=np.float64)
        top = np.array([[c.knots[-1][0]] for c in curves], dtype=np.float64)
        return cls(lo=col, hi=top, xs=xs, xs_flat=xs.ravel(), ys_flat=ys.ravel(),
                   slope_flat=slope.ravel(),
                   offset=(np.arange(len(curves)) * width)[:, None],
                   missing=np.asarray(missing, dtype=np.float64)[:, None])

    @property
    def packed(self) -> tuple[np.ndarray, ...]:
        """The arrays :func:`curve_value` reads, in its order."""
        return (self.lo, self.hi, self.xs, self.xs_flat, self.ys_flat, self.slope_flat,
                self.offset, self.missing)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Scores of a ``(C, n)`` float64 array of inputs (row ``i`` on curve ``i``)."""
        values = kernel_array(x)
        out = np.empty(values.shape)
        _curves(self.packed, values, out)
        return out


@dataclass(frozen=True, slots=True, eq=False)
class BandSet:
    """``T`` official band tables; evaluate a ``(T, n)`` array of graded values at once."""

    mins: np.ndarray
    """``(T, B)`` smallest value reaching each band (the next float above ``min`` for an
    exclusive band), padded with NaN (never reached)."""
    n_bands: np.ndarray
    """``(T, 1)`` real bands per table (index ``n_bands`` is "no band": 0 points)."""
    offset: np.ndarray
    min_flat: np.ndarray
    span_flat: np.ndarray
    """``full_at - min`` of a ranged band, 1 for a flat band or "no band"."""
    low_flat: np.ndarray
    rise_flat: np.ndarray
    """``high - low`` (0 for a flat band)."""
    step: np.ndarray
    """``(T, 1)`` rounding step."""

    @classmethod
    def build(cls, tables: Sequence[BandTable], steps: Sequence[float]) -> BandSet:
        """Pad ``tables`` (bands listed by descending ``min``) into arrays."""
        width = max(len(t.bands) for t in tables) + 1
        shape = (len(tables), width)
        mins, lows = np.full(shape, np.nan), np.zeros(shape)
        starts, spans, rises = np.zeros(shape), np.ones(shape), np.zeros(shape)
        for i, table in enumerate(tables):
            for j, band in enumerate(table.bands):
                low, high = band.points
                starts[i, j], lows[i, j] = band.min, low
                mins[i, j] = np.nextafter(band.min, np.inf) if band.exclusive else band.min
                if high > low and band.full_at is not None:
                    spans[i, j], rises[i, j] = band.full_at - band.min, high - low
        return cls(mins=mins, n_bands=np.array([[len(t.bands)] for t in tables]),
                   offset=(np.arange(len(tables)) * width)[:, None],
                   min_flat=starts.ravel(), span_flat=spans.ravel(), low_flat=lows.ravel(),
                   rise_flat=rises.ravel(),
                   step=np.asarray(steps, dtype=np.float64)[:, None])

    @property
    def packed(self) -> tuple[np.ndarray, ...]:
        """The arrays :func:`band_value` reads, in its order."""
        return (self.mins, self.n_bands, self.offset, self.min_flat, self.span_flat,
                self.low_flat, self.rise_flat, self.step)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Points of a ``(T, n)`` float64 array of values (row ``i`` on table ``i``)."""
        values = kernel_array(x)
        out = np.empty(values.shape)
        _bands(self.packed, values, out)
        return out


@kernel
def curve_value(curves: tuple[np.ndarray, ...], i: int, x: float) -> float:
    """Score of ``x`` on curve ``i`` of a :attr:`CurveSet.packed`.

    Flat outside the knots, ``slope * (x - x_k) + y_k`` inside (numpy.interp's
    arithmetic), the curve's missing score for NaN.
    """
    lo, hi, xs, xs_flat, ys_flat, slope_flat, offset, missing = curves
    if np.isnan(x):
        return missing[i, 0]
    xc = minimum(maximum(x, lo[i, 0]), hi[i, 0])
    seg = 0
    for k in range(xs.shape[1]):  # knots reached (padding is +inf)
        if xc >= xs[i, k]:
            seg += 1
    at = offset[i, 0] + max(seg - 1, 0)
    return slope_flat[at] * (xc - xs_flat[at]) + ys_flat[at]


@kernel
def band_value(bands: tuple[np.ndarray, ...], t: int, x: float) -> float:
    """Points of ``x`` on table ``t`` of a :attr:`BandSet.packed` (0 for NaN or no band).

    The first band reached (bands descend), linear inside a ranged band, rounded half up
    to the table's step.
    """
    mins, n_bands, offset, min_flat, span_flat, low_flat, rise_flat, step = bands
    v = -np.inf if np.isnan(x) else x
    reached = 0
    for b in range(mins.shape[1]):  # padding is NaN: never reached
        if v >= mins[t, b]:
            reached += 1
    at = n_bands[t, 0] - reached + offset[t, 0]
    frac = minimum(maximum((v - min_flat[at]) / span_flat[at], 0.0), 1.0)
    pts = low_flat[at] + rise_flat[at] * frac
    return np.floor(pts / step[t, 0] + 0.5 + 1e-9) * step[t, 0]


@kernel
def _curves(curves: tuple[np.ndarray, ...], x: np.ndarray, out: np.ndarray) -> None:
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = curve_value(curves, i, x[i, j])


@kernel
def _bands(bands: tuple[np.ndarray, ...], x: np.ndarray, out: np.ndarray) -> None:
    for t in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[t, j] = band_value(bands, t, x[t, j])
