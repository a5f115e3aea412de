"""The report's figures, drawn with matplotlib (Agg backend) and returned as PNG bytes.

Each function takes plain arrays or frames and returns the bytes of one PNG, so the
HTML can embed it (:func:`techcredit.reporting._html.image_html`). Nothing is drawn on
screen and no file is written.

Examples
--------
>>> import numpy as np
>>> png = score_distribution_png(np.array([0, 0, 1, 1]), np.array([.02, .05, .2, .4]),
...                              "micro")
>>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from techcredit.reporting.stats import wilson_bounds

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "bin_plots_png",
    "calibration_png",
    "patent_value_png",
    "psi_png",
    "reason_codes_png",
    "score_distribution_png",
    "shap_summary_png",
    "tier_png",
]

_DPI = 80
_GOOD, _BAD = "#3d5a80", "#e07a5f"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Figure, *, tight: bool = True) -> bytes:
    plt = _pyplot()
    buffer = io.BytesIO()
    if tight:
        fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=_DPI)
    plt.close(fig)
    return buffer.getvalue()


def calibration_png(table: pd.DataFrame, title: str,
                    challenger: pd.DataFrame | None = None) -> bytes:
    """Observed default rate against mean predicted PD by decile, 95% Wilson bars.

    ``table`` (and ``challenger``) are :func:`techcredit.modeling.metrics.
    calibration_by_decile` frames (``n``, ``events``, ``expected_pd``, ``observed_rate``).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 4.2))
    low, high = wilson_bounds(table["events"].to_numpy(), table["n"].to_numpy())
    observed = table["observed_rate"].to_numpy()
    errors = np.clip([observed - low, high - observed], 0, None)  # rounding at 0 and 1
    ax.errorbar(table["expected_pd"], observed, yerr=errors,
                fmt="o", color=_GOOD, capsize=3, label="champion (95% Wilson interval)")
    top = float(max(table["expected_pd"].max(), high.max()))
    if challenger is not None:
        ax.plot(challenger["expected_pd"], challenger["observed_rate"], "s--", color=_BAD,
                alpha=0.7, markersize=4, label="challenger")
        top = max(top, float(challenger["observed_rate"].max()))
    ax.plot([0, top], [0, top], color="grey", linestyle=":", linewidth=1, label="perfect")
    ax.set(xlabel="mean predicted PD in decile", ylabel="observed default rate", title=title)
    ax.legend(fontsize=8, loc="upper left")
    return _png(fig)


def score_distribution_png(y: np.ndarray, prob: np.ndarray, title: str,
                           bins: int = 30) -> bytes:
    """Histograms (density) of the predicted PD for goods and bads, log-scaled axis."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 4.2))
    p = np.clip(np.asarray(prob, dtype=np.float64), 1e-5, 1 - 1e-5)
    edges = np.geomspace(p.min(), p.max() * 1.0001, bins + 1)
    target = np.asarray(y)
    for label, cls, color in (("good (no default)", 0, _GOOD), ("bad (default)", 1, _BAD)):
        rows = p[target == cls]
        if rows.size:
            ax.hist(rows, bins=edges, density=True, alpha=0.55, color=color,
                    label=f"{label}, n={rows.size:,}")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(_pyplot().NullFormatter())  # labelled minor ticks overlap
    ax.set(xlabel="predicted PD (log scale)", ylabel="density", title=title)
    ax.legend(fontsize=8)
    return _png(fig)


def psi_png(table: pd.DataFrame, title: str) -> bytes:
    """Share of rows per PD bin in training vs validation (a :func:`psi_table` frame)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["expected_share"], width=0.4, color=_GOOD, label="training")
    ax.bar(x + 0.2, table["actual_share"], width=0.4, color=_BAD, label="validation")
    ax.set_xticks(x, [str(i + 1) for i in x])
    ax.set(xlabel="PD bin (training deciles, low to high)", ylabel="share of rows",
           title=title)
    ax.legend(fontsize=8)
    return _png(fig)


def bin_plots_png(table: pd.DataFrame, title: str, columns: int = 4) -> bytes:
    """One panel per scorecard feature: bin counts (bars) and event rate (line).

    ``table`` is :meth:`techcredit.modeling.scorecard.Scorecard.table` (bin level), or
    the rows of the features to draw. Bins are numbered as in the table (0 first).
    """
    plt = _pyplot()
    features = list(dict.fromkeys(table["feature"]))
    rows = max(1, -(-len(features) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.5 * rows + 0.5),
                             squeeze=False)
    for ax in axes.ravel()[len(features):]:
        ax.set_visible(False)
    for ax, feature in zip(axes.ravel(), features, strict=False):
        part = table[table["feature"] == feature]
        x = np.arange(len(part))
        ax.bar(x, part["count"], color=_GOOD, alpha=0.6)
        ax.set_xticks(x, [str(i) for i in x], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        rate = ax.twinx()
        rate.plot(x, part["event_rate"], "o-", color=_BAD, markersize=3)
        rate.tick_params(axis="y", labelsize=7, colors=_BAD)
        ax.set_title(_short(feature, 40), fontsize=8)
    fig.suptitle(title + "  (bars: count; red line: event rate; x: bin number)", fontsize=10)
    # A fixed layout: tight_layout costs seconds on a grid of twin axes.
    fig.subplots_adjust(hspace=0.55, wspace=0.45, left=0.05, right=0.95, bottom=0.06,
                        top=1 - 0.5 / (2.5 * rows + 0.5))
    return _png(fig, tight=False)


def _short(label: str, width: int) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def shap_summary_png(values: np.ndarray, data: pd.DataFrame, base_value: float,
                     title: str, max_display: int = 12) -> bytes:
    """A SHAP beeswarm (``shap.plots.beeswarm``) of log-odds contributions."""
    import shap

    plt = _pyplot()
    explanation = shap.Explanation(values=values, base_values=np.full(len(values), base_value),
                                   data=data.to_numpy(), feature_names=list(data.columns))
    plt.figure(figsize=(6.3, 5.0))
    shap.plots.beeswarm(explanation, max_display=max_display, show=False, plot_size=None)
    fig = plt.gcf()
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def reason_codes_png(codes: Sequence[str], counts: Sequence[int], title: str) -> bytes:
    """Horizontal bars: how often each reason code was given, most frequent on top."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * max(len(codes), 4) + 1.2))
    y = np.arange(len(codes))[::-1]
    ax.barh(y, counts, color=_BAD)
    ax.set_yticks(y, list(codes), fontsize=7)
    ax.set(xlabel="decisions giving the reason", title=title)
    return _png(fig)


def tier_png(tiers: Sequence[str], counts: Sequence[int], default_rate: Sequence[float],
             title: str) -> bytes:
    """Applications per innovation tier (bars) and observed default rate (line)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    x = np.arange(len(tiers))
    ax.bar(x, counts, color=_GOOD, alpha=0.7)
    ax.set_xticks(x, list(tiers))
    ax.set(xlabel="innovation tier (best first)", ylabel="applications", title=title)
    rate = ax.twinx()
    rate.plot(x, default_rate, "o-", color=_BAD)
    rate.set_ylabel("observed default rate", color=_BAD)
    return _png(fig)


def patent_value_png(values_cny: np.ndarray, title: str, bins: int = 30) -> bytes:
    """Histogram of positive patent values (CNY, log scale); zero values are counted apart."""
    plt = _pyplot()
    v = np.asarray(values_cny, dtype=np.float64)
    positive = v[v > 0]
    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    if positive.size:
        edges = np.geomspace(positive.min(), positive.max() * 1.0001, bins + 1)
        ax.hist(positive, bins=edges, color=_GOOD, alpha=0.75)
        ax.set_xscale("log")
    ax.set(xlabel="patent value, CNY (log scale)", ylabel="applications",
           title=f"{title}: {positive.size:,} with value > 0, {int((v <= 0).sum()):,} without")
    return _png(fig)
