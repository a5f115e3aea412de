"""The registry side of the report: which version a URI names, and logging the page.

:func:`resolve_model` turns ``models:/<name>@<alias>`` or ``models:/<name>/<version>``
into a verified local bundle folder (:func:`techcredit.registry.resolve_bundle`) and a
:class:`~techcredit.reporting.inputs.ModelIdentity` read from the model version and its
training run. :func:`log_report` logs the HTML file as an artifact of that run under
``committee_report/v<version>/``. MLflow is reached only through
:mod:`techcredit.registry` (its client and error translation); this module imports no
mlflow itself.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from techcredit.config.mlflow import MlflowSettings
from techcredit.exceptions import RegistryError
from techcredit.registry import resolve_bundle, resolve_version_uri
from techcredit.registry._mlflow import (
    TAG_PROMOTION,
    TAG_SNAPSHOT,
    client,
    registry_errors,
    settings_or_default,
)
from techcredit.reporting.inputs import ModelIdentity

__all__ = ["REPORT_ARTIFACT_DIR", "log_report", "report_artifact_path", "resolve_model"]

logger = logging.getLogger(__name__)

#: Folder of the training run's artifacts that holds the committee reports.
REPORT_ARTIFACT_DIR = "committee_report"


def report_artifact_path(version: str) -> str:
    """Artifact folder of a version's report inside its training run.

    Examples
    --------
    >>> report_artifact_path("3")
    'committee_report/v3'
    """
    return f"{REPORT_ARTIFACT_DIR}/v{version}"


def _registered_at(model_version: Any) -> str | None:
    stamp = getattr(model_version, "creation_timestamp", None)
    if not stamp:
        return None
    return dt.datetime.fromtimestamp(int(stamp) / 1000, dt.UTC).isoformat(timespec="seconds")


def resolve_model(uri: str, settings: MlflowSettings | None = None
                  ) -> tuple[Path, ModelIdentity]:
    """Return the verified bundle folder and the registry identity of a ``models:/`` URI.

    Raises
    ------
    RegistryError
        Not a ``models:/`` URI; unknown model, alias or version; unreachable store.
    ModelError
        The bundle fails verification or differs from the hash recorded at registration.
    """
    settings = settings_or_default(settings)
    name, version = resolve_version_uri(uri, settings)
    bundle = resolve_bundle(f"models:/{name}/{version}", settings)
    mlflow_client = client(settings)
    with registry_errors(f"read model version {name}/{version} and its run"):
        model_version = mlflow_client.get_model_version(name, version)
        run = mlflow_client.get_run(model_version.run_id)
    tags = dict(model_version.tags or {})
    identity = ModelIdentity(
        model_name=name, requested=uri, version=str(version), run_id=model_version.run_id,
        aliases=tuple(sorted(getattr(model_version, "aliases", None) or ())),
        data_snapshot_sha256=str(tags.get(TAG_SNAPSHOT, run.data.params.get(TAG_SNAPSHOT, ""))),
        registered_at=_registered_at(model_version), promotion=tags.get(TAG_PROMOTION),
        run_params=dict(run.data.params))
    return bundle, identity


def log_report(path: Path | str, identity: ModelIdentity,
               settings: MlflowSettings | None = None) -> str:
    """Log the report file as an artifact of the version's training run.

    Returns
    -------
    str
        The artifact URI of the logged file.

    Raises
    ------
    RegistryError
        If the identity has no run (a bundle folder) or MLflow refuses.
    """
    if identity.run_id is None or identity.version is None:
        raise RegistryError("the report of an unregistered bundle folder has no run to log to")
    settings = settings_or_default(settings)
    folder = report_artifact_path(identity.version)
    mlflow_client = client(settings)
    with registry_errors(f"log the committee report to run {identity.run_id}"):
        mlflow_client.log_artifact(identity.run_id, str(path), artifact_path=folder)
        run = mlflow_client.get_run(identity.run_id)
    uri = f"{run.info.artifact_uri}/{folder}/{Path(path).name}"
    logger.info("logged the committee report of %s version %s to %s", identity.model_name,
                identity.version, uri)
    return uri
