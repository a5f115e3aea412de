"""Read a registered version's record and log files to its training run.

What other packages (the committee report) need from the registry, without reaching
into MLflow themselves: :func:`version_info` collects a version's identity and
tags; :func:`log_run_artifact` adds a file to the run that trained it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from techcredit.config.mlflow import MlflowSettings
from techcredit.exceptions import RegistryError
from techcredit.registry._mlflow import (
    TAG_PROMOTION,
    TAG_SNAPSHOT,
    client,
    registry_errors,
    settings_or_default,
)

__all__ = ["VersionInfo", "log_run_artifact", "version_info"]


@dataclass(frozen=True)
class VersionInfo:
    """A registered version as the registry records it."""

    model_name: str
    version: str
    run_id: str
    """The training run that logged the version."""
    aliases: tuple[str, ...]
    """Aliases pointing at the version, sorted (``champion``, ``challenger``...)."""
    registered_at: str | None
    """UTC time of registration, ISO 8601 to the second."""
    data_snapshot_sha256: str
    """Digest of the training data (the version's tag, set at registration)."""
    promotion: str | None
    """The last promotion decision recorded on the version (JSON text), if any."""


def _registered_at(model_version: Any) -> str | None:
    stamp = getattr(model_version, "creation_timestamp", None)
    if not stamp:
        return None
    return dt.datetime.fromtimestamp(int(stamp) / 1000, dt.UTC).isoformat(timespec="seconds")


def version_info(name: str, version: str, settings: MlflowSettings | None = None
                 ) -> VersionInfo:
    """Read version ``version`` of registered model ``name``.

    Raises
    ------
    RegistryError
        Unknown model or version, or an unreachable store.
    """
    mlflow_client = client(settings_or_default(settings))
    with registry_errors(f"read model version {name}/{version}"):
        model_version = mlflow_client.get_model_version(name, version)
    tags = dict(model_version.tags or {})
    return VersionInfo(
        model_name=name, version=str(version), run_id=model_version.run_id,
        aliases=tuple(sorted(getattr(model_version, "aliases", None) or ())),
        registered_at=_registered_at(model_version),
        data_snapshot_sha256=str(tags.get(TAG_SNAPSHOT, "")),
        promotion=tags.get(TAG_PROMOTION))


def log_run_artifact(run_id: str, path: Path | str, artifact_path: str,
                     settings: MlflowSettings | None = None) -> str:
    """Log file ``path`` to run ``run_id`` under ``artifact_path``; return its artifact URI.

    Raises
    ------
    RegistryError
        If the run is unknown or MLflow refuses.
    """
    if not Path(path).is_file():
        raise RegistryError(f"cannot log {path}: not a file")
    mlflow_client = client(settings_or_default(settings))
    with registry_errors(f"log {Path(path).name} to run {run_id}"):
        mlflow_client.log_artifact(run_id, str(path), artifact_path=artifact_path)
        run = mlflow_client.get_run(run_id)
    return f"{run.info.artifact_uri}/{artifact_path}/{Path(path).name}"
