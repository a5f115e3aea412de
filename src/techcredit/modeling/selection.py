"""Variable selection for the WOE scorecard, recording why each feature was dropped.

Steps, in order, each recorded in the ``step`` column of the selection table:

1. ``iv``: information value below ``min_iv`` (or above ``max_iv``, a leak suspect),
   or a WOE that does not vary (one effective bin);
2. ``correlation``: |Pearson r| of WOE above ``max_abs_corr`` with a feature of
   higher IV that was kept;
3. ``vif``: the largest VIF above ``max_vif`` is dropped, repeatedly;
4. ``max_features``: the lowest-IV features beyond ``max_features``;
5. ``sign``: after the logistic regression, a coefficient that is not positive
   (points against risk order) is dropped and the model refitted, one at a time;
6. ``p_value``: the largest Wald p-value above ``max_p_value`` likewise.

Examples
--------
>>> import numpy as np
>>> from techcredit.config.scorecard import RegressionSpec, SelectionSpec
>>> from techcredit.modeling._bins import FeatureBins
>>> rng = np.random.default_rng(3)
>>> y = (rng.random(4_000) < 0.3).astype(float)
>>> strong = y + rng.normal(0, 1, 4_000)
>>> def bins(name):
...     return FeatureBins(name, "numerical", [0.5], [], [], ["lo", "hi", "missing"],
...                        ["regular", "regular", "missing"], [1, 1, 0], [0, 1, 0],
...                        [-1.0, 1.0, 0.0])
>>> woe = {"strong": strong, "copy": strong + rng.normal(0, 0.01, 4_000),
...        "noise": rng.normal(0, 0.01, 4_000)}
>>> res = select_features({k: bins(k) for k in woe}, woe, y, SelectionSpec(min_iv=0),
...                       RegressionSpec())
>>> res.table.set_index("feature").loc["strong", "step"]
'correlation'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from techcredit.config.scorecard import RegressionSpec, SelectionSpec
from techcredit.exceptions import ModelError
from techcredit.modeling._bins import FeatureBins
from techcredit.modeling.logit import LogitFit, fit_logit, vif

__all__ = ["SelectionResult", "select_features"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SelectionResult:
    """Kept features (in IV order), the final fit, their VIF and the selection table."""

    kept: list[str]
    fit: LogitFit
    vif: np.ndarray
    table: pd.DataFrame


def select_features(
    binning: Mapping[str, FeatureBins],
    woe: Mapping[str, np.ndarray],
    y: np.ndarray,
    selection: SelectionSpec,
    regression: RegressionSpec,
) -> SelectionResult:
    """Run the selection steps and the final logistic regression on WOE.

    Raises
    ------
    ModelError
        If no feature survives.
    """
    iv = {name: fb.iv for name, fb in binning.items()}
    dropped: dict[str, tuple[str, str]] = {}
    # 1. information value
    candidates = []
    for name in sorted(binning, key=lambda n: (-iv[n], n)):
        if np.ptp(woe[name]) == 0:
            dropped[name] = ("iv", "WOE constant (one effective bin)")
        elif iv[name] < selection.min_iv:
            dropped[name] = ("iv", f"IV {iv[name]:.4f} < min_iv {selection.min_iv}")
        elif selection.max_iv is not None and iv[name] > selection.max_iv:
            dropped[name] = ("iv", f"IV {iv[name]:.4f} > max_iv {selection.max_iv}")
        else:
            candidates.append(name)
    # 2. pairwise correlation, keeping the higher-IV feature
    kept: list[str] = []
    if candidates:
        corr = np.corrcoef(np.column_stack([woe[n] for n in candidates]), rowvar=False)
        corr = np.atleast_2d(corr)
        for i, name in enumerate(candidates):
            partners = [(abs(corr[i, candidates.index(k)]), k) for k in kept]
            worst = max(partners, default=(0.0, ""))
            if worst[0] > selection.max_abs_corr:
                dropped[name] = ("correlation",
                                 f"|r| {worst[0]:.3f} > {selection.max_abs_corr} with {worst[1]}")
            else:
                kept.append(name)
    # 3. VIF
    while len(kept) > 1:
        factors = vif(np.column_stack([woe[n] for n in kept]))
        j = int(np.argmax(factors))
        if factors[j] <= selection.max_vif:
            break
        dropped[kept[j]] = ("vif", f"VIF {factors[j]:.2f} > max_vif {selection.max_vif}")
        del kept[j]
    # 4. count
    if selection.max_features is not None:
        for name in kept[selection.max_features:]:
            dropped[name] = ("max_features", f"beyond the {selection.max_features} "
                                             "highest-IV features")
        kept = kept[: selection.max_features]
    # 5./6. regression with sign and significance checks
    fit = None
    while kept:
        fit = _fit(kept, woe, y, regression)
        wrong = fit.coef <= 0
        if wrong.any():
            j = int(np.argmin(np.where(wrong, fit.z, np.inf)))
            dropped[kept[j]] = ("sign", f"coefficient {fit.coef[j]:.4f} not positive "
                                        "(points would go against risk order)")
            del kept[j]
            continue
        if selection.max_p_value is not None and fit.p_value.max() > selection.max_p_value:
            j = int(np.argmax(fit.p_value))
            dropped[kept[j]] = ("p_value", f"p-value {fit.p_value[j]:.4f} > max_p_value "
                                           f"{selection.max_p_value}")
            del kept[j]
            continue
        break
    if not kept or fit is None:
        raise ModelError("no feature survived selection; see the reasons in the log")
    factors = vif(np.column_stack([woe[n] for n in kept]))
    if not fit.converged:
        logger.warning("logistic regression did not converge in %d iterations", fit.n_iter)
    rows = []
    for name, fb in binning.items():
        step, reason = dropped.get(name, ("", ""))
        rows.append({"feature": name, "kind": fb.kind, "n_bins": len(fb.labels),
                     "iv": iv[name], "kept": name in kept, "step": step, "reason": reason})
    table = pd.DataFrame(rows)
    for name, (step, reason) in dropped.items():
        logger.info("dropped %s at %s: %s", name, step, reason)
    return SelectionResult(kept=kept, fit=fit, vif=factors, table=table)


def _fit(kept: list[str], woe: Mapping[str, np.ndarray], y: np.ndarray,
         regression: RegressionSpec) -> LogitFit:
    x = np.column_stack([woe[n] for n in kept])
    return fit_logit(x, y, l2_penalty=regression.l2_penalty, max_iter=regression.max_iter,
                     tol=regression.tol)
