"""Logistic regression by Newton's method (IRLS) with Wald p-values, and VIF.

Plain numpy: the standard errors come from the inverse of the Fisher information
``X' W X`` at the estimate, the p-values from the normal distribution (two-sided).
With a ridge penalty the covariance is the inverse of the penalised Hessian, an
approximation reported as such.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> x = rng.normal(size=(5_000, 2))
>>> y = (rng.random(5_000) < 1 / (1 + np.exp(-(0.5 + x @ [1.0, -2.0])))).astype(float)
>>> fit = fit_logit(x, y)
>>> np.round(fit.coef).tolist(), round(fit.intercept, 1), bool(fit.p_value[0] < 1e-6)
([1.0, -2.0], 0.5, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from techcredit.exceptions import ModelError

__all__ = ["LogitFit", "fit_logit", "vif"]


@dataclass(frozen=True)
class LogitFit:
    """Result of :func:`fit_logit`; arrays are per feature (intercept separate)."""

    intercept: float
    coef: np.ndarray
    std_err: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    intercept_std_err: float
    n_iter: int
    converged: bool


def fit_logit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    l2_penalty: float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> LogitFit:
    """Fit ``logit P(y=1) = b0 + x @ b`` by Newton steps with step halving.

    Parameters
    ----------
    x : ndarray (n, k)
    y : ndarray (n,) of {0, 1}
    l2_penalty : float
        Ridge penalty ``l2/2 * |b|^2`` (the intercept is not penalised).
    max_iter, tol : Newton iterations and the tolerance on the largest step.

    Raises
    ------
    ModelError
        If the Hessian is singular (e.g. perfectly collinear columns).
    """
    n, k = x.shape
    design = np.column_stack([np.ones(n), x])
    beta = np.zeros(k + 1)
    rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    beta[0] = math.log(rate / (1 - rate))
    penalty = np.full(k + 1, l2_penalty)
    penalty[0] = 0.0
    loss = _neg_loglik(design, y, beta, penalty)
    converged = False
    n_iter = 0
    hessian = np.eye(k + 1)
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is reported)
        eta = design @ beta
        prob = _sigmoid(eta)
        weight = prob * (1 - prob)
        grad = design.T @ (y - prob) - penalty * beta
        hessian = (design * weight[:, None]).T @ design + np.diag(penalty)
        try:
            step = np.linalg.solve(hessian, grad)
        except np.linalg.LinAlgError as exc:
            raise ModelError("logistic regression: singular information matrix") from exc
        scale = 1.0
        for _ in range(30):
            candidate = beta + scale * step
            new_loss = _neg_loglik(design, y, candidate, penalty)
            if new_loss <= loss + 1e-12 * abs(loss):
                break
            scale /= 2
        beta, loss = candidate, new_loss
        if np.max(np.abs(scale * step)) < tol:
            converged = True
            break
    prob = _sigmoid(design @ beta)
    weight = prob * (1 - prob)
    hessian = (design * weight[:, None]).T @ design + np.diag(penalty)
    try:
        cov = np.linalg.inv(hessian)
    except np.linalg.LinAlgError as exc:
        raise ModelError("logistic regression: singular information matrix") from exc
    std_err = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = beta / std_err
    p_value = _two_sided_p(z)
    return LogitFit(
        intercept=float(beta[0]),
        coef=beta[1:].copy(),
        std_err=std_err[1:],
        z=z[1:],
        p_value=p_value[1:],
        intercept_std_err=float(std_err[0]),
        n_iter=n_iter,
        converged=converged,
    )


def vif(x: np.ndarray) -> np.ndarray:
    """Variance inflation factor of each column: the diagonal of the inverse correlation.

    Constant columns get ``inf``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(2, 10_000))
    >>> np.round(vif(np.column_stack([a, b])), 2).tolist()
    [1.0, 1.0]
    """
    k = x.shape[1]
    out = np.full(k, np.inf)
    ok = x.std(axis=0) > 0
    n_ok = int(ok.sum())
    if n_ok == 1:
        out[ok] = 1.0
    elif n_ok > 1:
        corr = np.atleast_2d(np.corrcoef(x[:, ok], rowvar=False))
        try:
            out[ok] = np.maximum(np.diag(np.linalg.inv(corr)), 1.0)
        except np.linalg.LinAlgError:
            out[ok] = np.inf
    return out


def _sigmoid(eta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-eta))


def _neg_loglik(design: np.ndarray, y: np.ndarray, beta: np.ndarray,
                penalty: np.ndarray) -> float:
    eta = design @ beta
    # log(1 + exp(eta)) - y * eta, computed stably
    return float(np.sum(np.logaddexp(0.0, eta) - y * eta) + 0.5 * np.sum(penalty * beta**2))


def _two_sided_p(z: np.ndarray) -> np.ndarray:
    from scipy.special import erfc  # scipy ships with scikit-learn; fit time only

    return np.asarray(erfc(np.abs(z) / math.sqrt(2.0)), dtype=np.float64)
