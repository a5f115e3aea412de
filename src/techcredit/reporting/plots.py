"""Validation plots (matplotlib, Agg backend): calibration by decile and ROC.

Only the reporting layer draws; training calls it to log plots as artifacts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["validation_plot"]


def validation_plot(path: Path | str, title: str, y: np.ndarray,
                    probs: dict[str, np.ndarray], deciles: int = 10) -> Path:
    """Write a PNG with a calibration panel and a ROC panel for each model's PDs.

    Parameters
    ----------
    path : path
        Target PNG file.
    title : str
        Figure title (e.g. the segment).
    y : array of 0/1
        Observed outcomes.
    probs : mapping of model name -> predicted PDs
    deciles : int
        Groups for the calibration panel.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    from techcredit.modeling.metrics import auc, calibration_by_decile

    fig, (cal_ax, roc_ax) = plt.subplots(1, 2, figsize=(10, 4.2))
    top = 0.0
    for name, prob in probs.items():
        table = calibration_by_decile(y, prob, n_groups=deciles)
        cal_ax.plot(table["expected_pd"], table["observed_rate"], marker="o", label=name)
        top = max(top, float(table["expected_pd"].max()), float(table["observed_rate"].max()))
        fpr, tpr, _ = roc_curve(y, prob)
        roc_ax.plot(fpr, tpr, label=f"{name} (AUC {auc(y, prob):.3f})")
    cal_ax.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1)
    cal_ax.set(xlabel="mean predicted PD", ylabel="observed default rate",
               title="calibration by decile")
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    for ax in (cal_ax, roc_ax):
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
