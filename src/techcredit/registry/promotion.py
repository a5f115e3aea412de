"""Promotion gates: move the ``champion`` alias only when every gate passes.

A version's bundle carries ``validation.json`` (written by the training job) with, per
segment, the name of the segment's champion model and the validation metrics of every
model. :func:`evaluate_gates` checks each segment's champion metrics against the gates
of ``mlflow.yaml`` (``promotion``): ``min_auc``, ``min_ks``, ``max_psi_excess`` and
``max_calibration_excess``. A metric that is missing or not a finite number fails its
gate. :func:`promote` evaluates the gates of a registered version and moves
``champion`` to it only if all pass.

Examples
--------
>>> from techcredit.config.mlflow import GateLimits, PromotionSettings
>>> validation = {"segments": {"micro": {"champion": "xgboost", "models": {"xgboost": {
...     "auc": 0.81, "ks": 0.45, "psi_excess": 0.0, "calibration_excess": 0.031}}}}}
>>> gates = evaluate_gates(validation, PromotionSettings(default=GateLimits(
...     min_auc=0.7, min_ks=0.3, max_psi_excess=0.1, max_calibration_excess=0.015)))
>>> [(g.gate, g.passed) for g in gates]
[('min_auc', True), ('min_ks', True), ('max_psi_excess', True), ('max_calibration_excess', False)]
>>> print(gates[-1])
micro        xgboost   calibration_excess  0.0310 <= 0.0150  FAIL
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from techcredit.config.mlflow import MlflowSettings, PromotionSettings
from techcredit.decision.bundle import read_json
from techcredit.exceptions import ModelError
from techcredit.registry._mlflow import (
    TAG_PROMOTION,
    ModelRef,
    client,
    registry_errors,
    require_existing_store,
    resolve_version,
    settings_or_default,
)
from techcredit.registry.resolve import resolve_bundle

__all__ = ["GateResult", "PromotionResult", "evaluate_gates", "promote"]

logger = logging.getLogger(__name__)

#: gate name -> (metric key in validation.json, direction)
GATES: dict[str, tuple[str, str]] = {
    "min_auc": ("auc", "min"),
    "min_ks": ("ks", "min"),
    "max_psi_excess": ("psi_excess", "max"),
    "max_calibration_excess": ("calibration_excess", "max"),
}


@dataclass(frozen=True)
class GateResult:
    """One gate on one segment's champion model.

    Attributes
    ----------
    segment, model : str
        Segment and the kind of its champion model (``xgboost``, ``scorecard``).
    gate : str
        ``min_auc``, ``min_ks``, ``max_psi_excess`` or ``max_calibration_excess``.
    metric : str
        Metric key in ``validation.json``.
    value : float or None
        The measured value; ``None`` when ``validation.json`` lacks it.
    limit : float
        The limit from ``mlflow.yaml``.
    passed : bool
    """

    segment: str
    model: str
    gate: str
    metric: str
    value: float | None
    limit: float
    passed: bool

    def __str__(self) -> str:
        op = ">=" if GATES[self.gate][1] == "min" else "<="
        value = "missing" if self.value is None else f"{self.value:.4f}"
        verdict = "pass" if self.passed else "FAIL"
        return (f"{self.segment:<12} {self.model:<9} {self.metric:<17} {value:>7} {op} "
                f"{self.limit:.4f}  {verdict}")


@dataclass(frozen=True)
class PromotionResult:
    """Outcome of :func:`promote`.

    Attributes
    ----------
    model_name, version : str
        The version that was evaluated.
    gates : tuple of GateResult
        Every gate of every segment, in ``validation.json`` segment order.
    promoted : bool
        Whether the ``champion`` alias now points at ``version``.
    previous_champion : str or None
        The version ``champion`` pointed at before (``None`` if there was none).
    """

    model_name: str
    version: str
    gates: tuple[GateResult, ...]
    promoted: bool
    previous_champion: str | None = None
    failed: tuple[GateResult, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failed", tuple(g for g in self.gates if not g.passed))

    def summary(self) -> str:
        """A table of the gates and a one-line verdict naming the failed gates."""
        lines = [str(g) for g in self.gates]
        if self.promoted:
            lines.append(f"promoted {self.model_name} version {self.version} to champion"
                         + (f" (was version {self.previous_champion})"
                            if self.previous_champion else ""))
        else:
            names = ", ".join(f"{g.segment}.{g.gate}" for g in self.failed)
            lines.append(f"not promoted: {self.model_name} version {self.version} failed "
                         f"{names}")
        return "\n".join(lines)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def evaluate_gates(validation: Mapping[str, Any],
                   promotion: PromotionSettings) -> list[GateResult]:
    """Check every segment's champion metrics against the promotion gates.

    Parameters
    ----------
    validation : mapping
        The bundle's ``validation.json``: ``{"segments": {<segment>: {"champion":
        <kind>, "models": {<kind>: {"auc": ..., "ks": ..., "psi_excess": ...,
        "calibration_excess": ...}}}}}``.
    promotion : PromotionSettings
        Gates of ``mlflow.yaml``.

    Returns
    -------
    list of GateResult
        Four per segment. A missing or non-finite metric fails its gate.

    Raises
    ------
    ModelError
        If ``validation.json`` does not have the structure above (the message names the
        bad entry).
    """
    segments = validation.get("segments") if isinstance(validation, Mapping) else None
    if not isinstance(segments, Mapping) or not segments:
        raise ModelError("validation.json: 'segments' must be a non-empty mapping")
    results: list[GateResult] = []
    for segment, entry in segments.items():
        if not isinstance(entry, Mapping):
            raise ModelError(f"validation.json: segments.{segment} must be a mapping")
        champion = entry.get("champion")
        models = entry.get("models")
        if not isinstance(champion, str) or not isinstance(models, Mapping):
            raise ModelError(f"validation.json: segments.{segment} needs 'champion' (a model "
                             "name) and 'models'")
        metrics = models.get(champion)
        if not isinstance(metrics, Mapping):
            raise ModelError(f"validation.json: segments.{segment}.models has no entry for "
                             f"its champion {champion!r}")
        limits = promotion.gates_for(str(segment))
        for gate, (metric, direction) in GATES.items():
            limit = float(getattr(limits, gate))
            value = _number(metrics.get(metric))
            if value is None:
                passed = False
            elif direction == "min":
                passed = value >= limit
            else:
                passed = value <= limit
            results.append(GateResult(segment=str(segment), model=champion, gate=gate,
                                      metric=metric, value=value, limit=limit,
                                      passed=passed))
    for segment in promotion.segments:
        if segment not in segments:
            logger.warning("mlflow.yaml has gates for segment %s, which validation.json "
                           "does not list", segment)
    return results


def promote(version: str | None = None,
            settings: MlflowSettings | None = None) -> PromotionResult:
    """Evaluate the promotion gates of a version and move ``champion`` if all pass.

    Parameters
    ----------
    version : str, optional
        Version number; the version with the ``challenger`` alias when omitted.
    settings : MlflowSettings, optional
        ``mlflow.yaml`` and the environment when omitted.

    Returns
    -------
    PromotionResult
        Every gate with value, limit and verdict; ``promoted`` says whether the
        ``champion`` alias moved. A failed gate never moves it.

    Raises
    ------
    RegistryError
        Unknown version or alias, unreachable store, missing artifact.
    ModelError
        The version's bundle fails verification, or its ``validation.json`` is missing
        or malformed.
    ConfigError
        The settings hold no promotion gates.
    """
    settings = settings_or_default(settings)
    gates_spec = settings.gates()  # before touching the store: nothing to promote against
    require_existing_store(settings)
    registry = settings.registry
    name = registry.model_name
    mlflow_client = client(settings)
    ref = (ModelRef(name=name, alias=registry.challenger_alias) if version is None
           else ModelRef(name=name, version=str(version)))
    number = resolve_version(mlflow_client, ref)
    bundle = resolve_bundle(f"models:/{name}/{number}", settings)
    gates = evaluate_gates(read_json(bundle, "validation.json"), gates_spec)

    previous: str | None = None
    with registry_errors(f"read the {registry.champion_alias} alias of {name!r}"):
        aliases = mlflow_client.get_registered_model(name).aliases or {}
        previous = str(aliases[registry.champion_alias]) if (
            registry.champion_alias in aliases) else None
    passed = all(g.passed for g in gates)
    record = {
        "evaluated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "promoted": passed,
        "failed": [f"{g.segment}.{g.gate}" for g in gates if not g.passed],
    }
    with registry_errors(f"record the promotion decision on {name} version {number}"):
        mlflow_client.set_model_version_tag(name, number, TAG_PROMOTION,
                                            json.dumps(record, sort_keys=True))
        if passed:
            mlflow_client.set_registered_model_alias(name, registry.champion_alias, number)
    result = PromotionResult(model_name=name, version=number, gates=tuple(gates),
                             promoted=passed, previous_champion=previous)
    if passed:
        logger.info("promoted %s version %s to %s (was %s)", name, number,
                    registry.champion_alias, previous)
    else:
        # a refused promotion is an outcome, reported in the result, not a warning
        logger.info("%s version %s not promoted: failed %s", name, number,
                    ", ".join(record["failed"]))  # type: ignore[arg-type]
    return result
