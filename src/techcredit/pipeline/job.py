"""The end-to-end training job: train, write artifacts, log and register in MLflow.

``techcredit train`` runs :func:`run_training_job`; the README's demo runs it, then
promotes and scores.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from techcredit.pipeline.train import TrainResult, split_out_of_time, train, training_frame
from techcredit.schemas import RawTables

__all__ = ["JobResult", "run_training_job"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobResult:
    """A finished training job: the training result and the registered version."""

    train: TrainResult
    version: Any
    """:class:`techcredit.registry.RegisteredVersion`."""


def _write_artifacts(result: TrainResult, tables: RawTables, folder: Path) -> dict[str, Path]:
    from techcredit.decision.models import BundleModels
    from techcredit.reporting.plots import validation_plot

    folder.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, Path] = {}
    for name, frame in result.tables.items():
        path = folder / name
        frame.to_csv(path, index=True)
        artifacts[name] = path
    path = folder / "validation.json"
    path.write_text(json.dumps(result.validation, indent=1, sort_keys=True), encoding="utf-8")
    artifacts["validation.json"] = path
    models = BundleModels.load(result.bundle_dir)
    features, y, applied = training_frame(tables)
    part = split_out_of_time(applied, float(result.params["validation_share"]),
                             float(result.params["calibration_share"]))
    segment = models.predict_features(features)["segment"].to_numpy()
    for seg, seg_models in models.segments.items():
        rows = (segment == seg) & (part == "validate")
        if rows.sum() < 20 or np.unique(y[rows]).size < 2:
            continue
        probs = {m.kind: m.prob_default(features[rows])
                 for m in (seg_models.champion, seg_models.challenger) if m is not None}
        name = f"validation_{seg}.png"
        artifacts[name] = validation_plot(folder / name, f"{seg}: out-of-time validation",
                                          y[rows], probs)
    return artifacts


def run_training_job(tables: RawTables, *, settings: Any = None, models_dir: Path | None = None,
                     progress: bool = True) -> JobResult:
    """Train on ``tables``, log the run and register the bundle as ``challenger``.

    Parameters
    ----------
    tables : RawTables
        Raw records with applications and outcomes.
    settings : MlflowSettings, optional
        ``mlflow.yaml`` when omitted.
    models_dir : path, optional
        The reviewed specifications (``models/`` by default).
    progress : bool
        Progress bars for long steps.
    """
    from techcredit.config.mlflow import load_mlflow_settings
    from techcredit.registry import log_training_run

    settings = settings or load_mlflow_settings()
    with tempfile.TemporaryDirectory(prefix="techcredit-train-") as tmp:
        work = Path(tmp)
        result = train(tables, work / "bundle", model_name=settings.registry.model_name,
                       models_dir=models_dir, progress=progress)
        artifacts = _write_artifacts(result, tables, work / "artifacts")
        version = log_training_run(result.bundle_dir, params=result.params,
                                   metrics=result.metrics(), artifacts=artifacts,
                                   snapshot_sha256=result.snapshot_sha256, settings=settings)
    logger.info("registered %s version %s as challenger", version.model_name, version.version)
    return JobResult(result, version)
